#include "record_session.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "anchor.h"
#include "argv.h"
#include "capabilities.h"
#include "cgroupfs.h"
#include "clock.h"
#include "container_sources.h"
#include "escape.h"
#include "hashchain.h"
#include "heartbeat.h"
#include "journal_lock.h"
#include "timeexpr.h"
#include "version.h"

namespace lineage {

Result<CgroupFilter> resolve_cgroup_filter(const std::vector<std::string>& cgroups, bool kube_only,
                                           const std::string& mount) {
    CgroupFilter filter;
    if (cgroups.empty() && !kube_only) return filter;
    if (mount.empty()) return Error{"--cgroup/--kube-only: no cgroup2 filesystem is mounted"};
    nlohmann::json json = nlohmann::json::object();
    std::vector<std::string> wanted = cgroups;
    if (kube_only) {
        bool any = false;
        for (const char* name : {"kubepods.slice", "kubepods"}) {
            std::error_code ec;
            if (std::filesystem::is_directory(mount + "/" + name, ec)) {
                wanted.push_back(std::string("/") + name);
                any = true;
            }
        }
        if (!any) {
            return Error{fmt::format("--kube-only: no kubepods cgroup under {} (is this a Kubernetes node?)", mount)};
        }
        json["kube_only"] = true;
    }
    for (const auto& c : wanted) {
        auto id = cgroup_id_of(c, mount);
        if (!id) return Error{"--cgroup: " + id.error().message};
        // The runs row is JSON, which has no room for other bytes.
        if (!is_valid_utf8(c)) return Error{fmt::format("--cgroup: '{}' is not valid UTF-8", c)};
        filter.ids.push_back(*id);
        json["cgroups"].push_back(c);
        // The same subtree as /proc/PID/cgroup names it: below the mount.
        std::string rel = c.rfind(mount + "/", 0) == 0 ? c.substr(mount.size()) : c;
        if (rel.empty() || rel[0] != '/') rel = "/" + rel;
        while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
        filter.subtrees.push_back(rel);
    }
    filter.enabled = true;
    filter.filters_json = json.dump();
    return filter;
}

bool in_subtrees(const std::string& path, const std::vector<std::string>& subtrees) {
    for (const auto& t : subtrees) {
        if (path == t || (path.size() > t.size() && path.compare(0, t.size(), t) == 0 && path[t.size()] == '/'))
            return true;
    }
    return false;
}

SnapshotRow snapshot_row(const SnapshotProcess& p, int64_t taken_ns, int64_t ns_per_tick) {
    SnapshotRow row;
    row.time_ns = taken_ns;
    row.tgid = static_cast<uint32_t>(p.tgid);
    row.nspid = static_cast<uint32_t>(p.nspid);
    row.ppid = static_cast<uint32_t>(p.ppid);
    row.start_ns = p.start_ticks * static_cast<uint64_t>(ns_per_tick);
    row.uid = p.uid;
    row.gid = p.gid;
    row.euid = p.euid;
    row.comm = p.comm;
    row.exe = p.exe;
    row.argv = join_argv(p.argv);
    row.cgroup_path = p.cgroup_path;
    return row;
}

Result<size_t> write_snapshot(Recorder& recorder, const std::string& proc_root, const CgroupFilter& filter,
                              int64_t ns_per_tick, const std::string& cgroup_root) {
    NodenameResolver nodenames(proc_root);
    const int64_t taken_ns = boot_now_ns();
    size_t count = 0;
    for (auto& p : scan_proc(proc_root)) {
        if (p.kernel_thread) continue;
        // /proc gives cgroup paths relative to the recorder's cgroup
        // namespace; they are written from the hierarchy's root, as the
        // probes report them.
        if (cgroup_root != "/" && !p.cgroup_path.empty()) {
            p.cgroup_path = cgroup_path_from_root(cgroup_root, p.cgroup_path);
        }
        if (filter.enabled && !in_subtrees(p.cgroup_path, filter.subtrees)) continue;
        SnapshotRow row = snapshot_row(p, taken_ns, ns_per_tick);
        row.nodename = nodenames.nodename_for(p.tgid, p.uts_ns_inode);
        if (auto st = recorder.add_snapshot(row, static_cast<uint32_t>(p.uts_ns_inode)); !st) return st.error();
        ++count;
    }
    if (auto st = recorder.end_snapshot(); !st) return st.error();
    return count;
}

std::string hash_exec_filters(const RecordOptions& options, const std::string& filters_json) {
    nlohmann::json json = nlohmann::json::parse(filters_json, nullptr, false);
    if (!json.is_object()) json = nlohmann::json::object();
    if (options.hash_exec) {
        json["hash_exec"] = {{"max_bytes", options.hash_max_bytes},
                             {"files_per_s", options.hash_rate},
                             {"bytes_per_s", options.hash_byte_rate}};
    } else {
        json["hash_exec"] = false;
    }
    return json.dump();
}

std::optional<PodName> name_pod(PodResolver& pods, const std::string& pod_uid) {
    if (auto info = pods.resolve(pod_uid)) return PodName{info->name, info->namespace_, PodNameSource::log_dir};
    return std::nullopt;
}

std::string journal_beside(const std::string& journal, int n) {
    const std::filesystem::path p(journal);
    const std::string stem = p.stem().string(), ext = p.extension().string();
    return (p.parent_path() /
            (ext.empty() ? fmt::format("{}.{}", p.filename().string(), n) : fmt::format("{}.{}{}", stem, n, ext)))
        .string();
}

namespace {

// The default journal lives in a directory only root can read: argv can
// carry secrets.
Status ensure_parent_dir(const std::string& journal) {
    auto parent = std::filesystem::path(journal).parent_path();
    if (parent.empty()) return Ok{};
    std::error_code ec;
    if (std::filesystem::exists(parent, ec)) return Ok{};
    if (!std::filesystem::create_directories(parent, ec)) {
        return Error{fmt::format("{}: cannot create directory: {}", parent.string(), ec.message())};
    }
    chmod(parent.c_str(), 0700);
    return Ok{};
}

// One line for a second recorder: who holds the journal, from its
// heartbeat, or from /proc/locks when there is none to believe.
std::string held_message(const std::string& journal, const JournalLock& lock, const std::string& boot_id) {
    const std::string elsewhere = "; to record elsewhere, give another --journal";
    const auto pid = flock_holder(lock.dev(), lock.ino());
    auto heartbeat = journal_heartbeat(lock.canonical(), lock.dev(), lock.ino(), boot_id);
    // The holder's own heartbeat, not the last word of one that stopped.
    if (heartbeat && heartbeat->phase == "stopped") {
        heartbeat = Error{fmt::format("its heartbeat is of PID {}, which stopped", heartbeat->pid)};
    }
    if (heartbeat && (!pid || *pid == heartbeat->pid)) {
        const std::string since = format_wall_short(heartbeat->started_wall_ns);
        if (heartbeat->run_id > 0) {
            return fmt::format("{}: another recorder holds this journal: PID {}, run {}, recording since {}{}", journal,
                               heartbeat->pid, heartbeat->run_id, since, elsewhere);
        }
        return fmt::format("{}: another recorder holds this journal: PID {}, starting since {}{}", journal,
                           heartbeat->pid, since, elsewhere);
    }
    const std::string why =
        heartbeat ? fmt::format("its heartbeat names PID {}", heartbeat->pid) : heartbeat.error().message;
    if (pid) {
        return fmt::format("{}: another process holds this journal: PID {} (from /proc/locks; {}){}", journal, *pid,
                           why, elsewhere);
    }
    return fmt::format("{}: another process holds this journal's lock ({}){}", journal, why, elsewhere);
}

class Session {
public:
    Session(const RecordOptions& options, const RecordHooks& hooks)
        : options_(options), hooks_(hooks), pods_(options.kube_root), retention_(options.retention) {}

    Result<int> run();

private:
    Status open();
    // Takes the journal's lock; an Error when another process holds it.
    // Nothing happens for a missing journal unless `create`.
    Status take_lock(bool create);
    void start_heartbeat();
    // Writes the heartbeat: always when `force`, else at most once per
    // heartbeat_period_ns(). A failure is said once, until a write works
    // again.
    void beat(const char* phase, bool force);
    // Keeps the time of the last commit for the next heartbeat, which may
    // be several turns later.
    void note_commit(int64_t now_ns);
    Status begin_run();
    void record();
    Result<int> end_run();

    void on_record(const void* data, size_t size);
    // In the loop: a failed reading is said once and read again next time
    // (the kernel's counter is cumulative, so nothing is missed).
    Status check_drops(int64_t now_ns);
    Status retention_step(int64_t now_ns);
    void publish_anchor();
    void say(const std::string& line) const {
        if (hooks_.say) hooks_.say(line);
    }

    const RecordOptions& options_;
    const RecordHooks& hooks_;
    // Declared first, so released last: closing a descriptor of the journal
    // while SQLite has it open would drop SQLite's own locks.
    std::optional<JournalLock> lock_;
    std::optional<HeartbeatFile> heartbeat_file_;
    Heartbeat heartbeat_;
    MinuteWindow minute_;
    int64_t last_beat_ns_ = 0;
    bool heartbeat_failing_ = false;
    std::string dns_note_;  // why DNS is not recorded, said once the probes are attached
    CgroupFilter filter_;
    std::optional<Cgroup1Hierarchy> cgroup1_;
    // Declared before the journal, so destroyed after it: the journal is
    // closed before the probes go.
    std::unique_ptr<EventSource> source_;
    std::optional<AnchorLog> anchors_;
    std::optional<JournalWriter> writer_;
    PodResolver pods_;
    std::optional<Recorder> recorder_;
    Retention retention_;
    RunInfo info_;
    std::string journal_;  // the journal written: options_.journal, or one beside it
    std::string refused_;  // the last journal refused for its schema, if any
    int64_t run_id_ = 0;
    size_t snapshot_count_ = 0;

    // The first error of the recording, from the sink, the source or the
    // journal: the loop ends on it.
    Status status_ = Ok{};
    std::string stop_reason_ = "signal";
    bool drops_unreadable_ = false;
    int64_t last_retention_ns_ = 0;
    // How often the live set is checked against /proc (Recorder::drop_exited).
    static constexpr int64_t kLiveSweepNs = 600'000'000'000;
    int64_t last_live_sweep_ns_ = 0;
    bool said_size_unmet_ = false;
    // At stop, how long the hasher may finish its queue: a stop is not held
    // up by a slow disk or a large file (a chunk of it is read at most after).
    static constexpr int64_t kHashStopNs = 2'000'000'000;
};

Result<int> Session::run() {
    Status started = open();
    if (started) started = begin_run();
    if (!started) {
        heartbeat_.stop_reason = "error";
        beat("stopped", true);
        return started.error();
    }
    record();
    auto ended = end_run();
    heartbeat_.stop_reason = stop_reason_;
    beat("stopped", true);
    return ended;
}

Status Session::take_lock(bool create) {
    auto lock = JournalLock::take(options_.journal, create);
    if (!lock) return lock.error();
    switch (lock->state()) {
        case JournalLock::State::held:
            return Error{held_message(options_.journal, *lock, read_boot_id(options_.proc_root))};
        case JournalLock::State::missing:
            return Ok{};
        case JournalLock::State::taken:
            break;
    }
    // The writer never follows a symlink (a link in a shared directory
    // must not send root's writes elsewhere): said now, plainly.
    struct stat st {};
    if (lstat(options_.journal.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        return Error{fmt::format("{}: is a symbolic link; record writes only to the file itself: --journal {}",
                                 options_.journal, lock->canonical())};
    }
    lock_.emplace(std::move(*lock));
    return Ok{};
}

void Session::start_heartbeat() {
    Heartbeat& h = heartbeat_;
    struct utsname uts {};
    uname(&uts);
    h.pid = getpid();
    h.boot_id = read_boot_id(options_.proc_root);
    h.journal_dev = lock_->dev();
    h.journal_ino = lock_->ino();
    h.version = kVersion;
    h.node = uts.nodename;
    h.started_boot_ns = boot_now_ns();
    h.started_wall_ns = wall_now_ns();
    h.batch_interval_ns = options_.batch_interval_ns;
    h.filters_json = filter_.filters_json;
    h.max_size_bytes = options_.retention.max_bytes;
    h.retain_ns = options_.retention.retain_ns;
    h.argv_cap = options_.argv_cap;
    h.ring_bytes = static_cast<int64_t>(options_.ring_bytes);
    h.anchor_interval_ns = options_.anchor_interval_ns;
    heartbeat_file_.emplace(heartbeat_path(lock_->canonical()), lock_->fd());
    beat("starting", true);
}

void Session::note_commit(int64_t now_ns) {
    Heartbeat& h = heartbeat_;
    if (writer_ && writer_->head().batch_id != h.last_batch) {
        // Committed in this turn: when exactly is within the turn.
        h.last_batch = writer_->head().batch_id;
        h.last_commit_boot_ns = now_ns;
        h.last_commit_wall_ns = wall_now_ns();
    }
}

void Session::beat(const char* phase, bool force) {
    if (!heartbeat_file_) return;
    const int64_t now = boot_now_ns();
    if (!force && now - last_beat_ns_ < heartbeat_period_ns(options_.batch_interval_ns)) return;
    last_beat_ns_ = now;
    Heartbeat& h = heartbeat_;
    h.phase = phase;
    h.run_id = run_id_;
    h.written_boot_ns = now;
    h.written_wall_ns = wall_now_ns();
    note_commit(now);
    if (recorder_) {
        const RecorderStats& s = recorder_->stats();
        const EventCounts totals{s.stored, s.ringbuf_full, s.journal_write, s.decode_errors, s.map_full};
        minute_.add(now, totals);
        h.run = totals;
        h.last_minute = minute_.last_minute(now, totals, &h.last_minute_span_ns);
        h.journal_writable = !recorder_->storage_down();
        h.journal_error = recorder_->storage_error();
    }
    auto st = heartbeat_file_->write(h);
    if (!st && !heartbeat_failing_) {
        say("lineage: " + st.error().message +
            "; lineage status reports this recorder as stalled until its heartbeat can be written");
    }
    if (st && heartbeat_failing_) say("lineage: the heartbeat is written again");
    heartbeat_failing_ = !st;
}

Status Session::open() {
    auto filter = resolve_cgroup_filter(options_.cgroups, options_.kube_only,
                                        options_.cgroups.empty() && !options_.kube_only ? "" : find_cgroup2_mount());
    if (!filter) return filter.error();
    filter_ = std::move(*filter);
    cgroup1_ = followed_cgroup1();

    // A journal that exists may be another recorder's: asked before the
    // probes load, so that a second recorder stops at once.
    if (auto st = take_lock(false); !st) return st;

    // The source first: a start that cannot attach (not root, no BTF) must
    // not leave a new, empty journal behind. Records are consumed only in
    // poll()/drain(), after the recorder exists; until then the kernel
    // keeps them in the ring.
    if (!hooks_.start_source) return Error{"no event source"};
    // The DNS hooks (cgroup_skb programs) load only with CAP_NET_ADMIN, and
    // attach to a cgroup2 hierarchy's root: without either, everything else
    // is recorded, and the reason said.
    std::string dns_mount;
    if (options_.dns) {
        auto caps = effective_capabilities();
        const bool may = caps && (caps->has(Capability::net_admin) || caps->has(Capability::sys_admin));
        dns_mount = may ? find_cgroup2_mount() : "";
        // Said once the probes are attached: a start that fails says only why.
        if (!may) {
            dns_note_ =
                "lineage: DNS messages are not recorded: the packet hooks need CAP_NET_ADMIN (or CAP_SYS_ADMIN)";
        } else if (dns_mount.empty()) {
            dns_note_ =
                "lineage: DNS messages are not recorded: no cgroup v2 hierarchy is mounted for the packet hooks";
        }
    }
    auto source = hooks_.start_source(ProbeCgroups{filter_, cgroup1_, dns_mount},
                                      [this](const void* data, size_t size) { on_record(data, size); });
    if (!source) return source.error();
    source_ = std::move(*source);

    // Before the journal: a bad --anchor-log must not leave a new journal.
    auto anchors = options_.anchor_log.empty() ? Result<AnchorLog>(AnchorLog()) : AnchorLog::open(options_.anchor_log);
    if (!anchors) return Error{"--anchor-log: " + anchors.error().message};
    anchors_.emplace(std::move(*anchors));
    if (auto st = ensure_parent_dir(options_.journal); !st) return st;
    if (!lock_) {
        if (auto st = take_lock(true); !st) return st;
    }
    // The lock and the heartbeat stay on the journal named by --journal,
    // even when the run records beside it (below): a second recorder given
    // the same name is refused all the same.
    // A journal whose schema is not lineage's (edited while no recorder
    // ran) is left as it is and never appended to: the run goes to a
    // journal beside it, said here and in every anchor of the run.
    journal_ = options_.journal;
    for (int n = 2;; ++n) {
        auto writer = JournalWriter::open(journal_);
        if (writer) {
            writer_.emplace(std::move(*writer));
            break;
        }
        if (writer.error().code != kSchemaNotLineages) return writer.error();
        say("lineage: " + escape_for_terminal(writer.error().message) + "; it is left as it is, never appended to");
        refused_ = journal_;
        if (n > kMaxJournalsBeside) {
            return Error{fmt::format("{}: no journal to record to: {} to {} are all refused", options_.journal,
                                     journal_beside(options_.journal, 2), journal_)};
        }
        journal_ = journal_beside(options_.journal, n);
    }
    if (!refused_.empty()) {
        say(fmt::format("lineage: this run records to {}, beside {} (run `lineage verify` on both)", journal_,
                        refused_));
    }
    // Commits of earlier runs are not this run's.
    heartbeat_.last_batch = writer_->head().batch_id;
    start_heartbeat();

    RecorderOptions recorder_options;
    recorder_options.batch_interval_ns = options_.batch_interval_ns;
    recorder_options.batch_max_rows = options_.batch_rows;
    recorder_options.host_uts_ns = static_cast<uint32_t>(own_uts_ns_inode());
    struct utsname uts {};
    uname(&uts);
    recorder_options.host_node = uts.nodename;
    recorder_options.cgroup1_hierarchy = cgroup1_ ? cgroup1_->hierarchy : 0;
    recorder_options.ns_per_tick = 1'000'000'000 / std::max<long>(clock_ticks_per_second(), 1);
    auto namer = [this](const std::string& uid) { return name_pod(pods_, uid); };
    auto notify = [this](const std::string& line) { say("lineage: " + line); };
    recorder_.emplace(*writer_, recorder_options, namer, notify);
    // Containers by name and image: what the runtime and the kubelet wrote
    // under --kube-root (schema/journal.sql, containers).
    recorder_->set_container_sources(node_container_sources(options_.kube_root, options_.proc_root));
    if (options_.hash_exec) {
        ExeHasherOptions hash;
        hash.proc_root = options_.proc_root;
        hash.ns_per_tick = recorder_options.ns_per_tick;
        hash.max_bytes = options_.hash_max_bytes;
        hash.files_per_second = options_.hash_rate;
        hash.bytes_per_second = options_.hash_byte_rate;
        recorder_->set_exe_hasher(std::make_unique<ExeHasher>(std::move(hash)));
    }
    say("lineage: attached " + source_->hooks());
    if (!dns_note_.empty()) say(dns_note_);
    // What the /proc snapshot will lack with the capabilities at hand (the
    // systemd unit and the DaemonSet leave out CAP_SYS_ADMIN on purpose).
    if (auto caps = effective_capabilities()) {
        for (const auto& gap : snapshot_capability_gaps(*caps)) say("lineage: " + gap);
    }
    return Ok{};
}

Status Session::begin_run() {
    struct utsname uts {};
    uname(&uts);
    info_.boot_id = read_boot_id(options_.proc_root);
    info_.node = uts.nodename;
    info_.started_ns = boot_now_ns();
    info_.started_wall_ns = wall_now_ns();
    info_.version = kVersion;
    info_.kernel = fmt::format("{} {}", uts.release, uts.version);
    info_.hooks = source_->hooks();
    info_.filters_json = hash_exec_filters(options_, filter_.filters_json);
    info_.argv_cap = static_cast<int64_t>(options_.argv_cap);
    info_.clk_tck = clock_ticks_per_second();
    info_.recorder_pid = getpid();
    if (info_.boot_id.empty()) return Error{"cannot read /proc/sys/kernel/random/boot_id"};
    auto run_id = writer_->begin_run(info_);
    if (!run_id) return run_id.error();
    run_id_ = *run_id;

    // In a container's own cgroup namespace, with the host's hierarchy
    // mounted (deploy/kubernetes), the snapshot's cgroup paths are taken
    // from where that namespace is rooted.
    std::string cgroup_root = "/";
    if (options_.proc_root != "/proc") {
        // A /proc tree of a test: its paths are taken as they are.
    } else if (auto root = own_cgroup_namespace_root()) {
        cgroup_root = *root;
        if (cgroup_root != "/") say("lineage: in a cgroup namespace rooted at " + escape_for_terminal(cgroup_root));
    } else {
        say("lineage: " + escape_for_terminal(root.error().message) +
            ": cgroup paths from /proc are kept as it gives them");
    }
    auto count = write_snapshot(*recorder_, options_.proc_root, filter_, 1'000'000'000 / info_.clk_tck, cgroup_root);
    if (!count) return count.error();
    snapshot_count_ = *count;
    if (auto st = recorder_->note_drops(0, 0, info_.started_ns); !st) return st;
    if (auto st = recorder_->commit(boot_now_ns()); !st) return st;
    // The run's first batch (its runs row and the /proc snapshot) must be
    // in the journal before anything else can name the run: a journal that
    // cannot take it is an error at start, not something to ride out.
    if (recorder_->storage_down()) {
        return Error{fmt::format("cannot write the journal: {}", recorder_->storage_error())};
    }
    publish_anchor();

    if (hooks_.catch_stop_signals) hooks_.catch_stop_signals();
    if (retention_.enabled()) {
        if (auto st = retention_step(boot_now_ns()); !st) return st;
        last_retention_ns_ = boot_now_ns();
    }
    beat("recording", true);
    say(fmt::format("lineage: recording to {} (run {}, {} processes from /proc)", journal_, run_id_, snapshot_count_));
    return Ok{};
}

void Session::record() {
    const int64_t started = boot_now_ns();
    int64_t last_drop_check = started;
    int64_t last_clock_sample = started;
    int64_t last_anchor = started;
    while (!(hooks_.stop_requested && hooks_.stop_requested())) {
        // Sleep on the ring until the next commit is due, then drain it and
        // commit in one go. The probes do not wake the reader (until the ring
        // is a quarter full), so the reader's own wakeups are what it costs,
        // and one per batch is fewer than a drain on a shorter timer
        // (bench/results: the recorder's cost, the batch interval). A signal
        // ends the wait at once. At most a second, so that the kernel drop
        // counter, retention and --duration are looked at at least that
        // often.
        const int64_t wait_ns =
            std::clamp<int64_t>(recorder_->next_commit_ns(boot_now_ns()) - boot_now_ns(), 1'000'000, 1'000'000'000);
        auto polled = source_->poll(static_cast<int>((wait_ns + 999'999) / 1'000'000));
        if (!polled) {
            status_ = polled.error();
            break;
        }
        if (!status_) break;
        int64_t now = boot_now_ns();
        if (now - last_drop_check >= 250'000'000) {
            status_ = check_drops(now);
            last_drop_check = now;
            if (!status_) break;
        }
        if (now - last_clock_sample >= 60'000'000'000) {
            status_ = recorder_->note_clock(now, wall_now_ns());
            last_clock_sample = now;
            if (!status_) break;
        }
        status_ = recorder_->maybe_commit(now);
        if (!status_) break;
        note_commit(now);
        if (now - last_live_sweep_ns_ >= kLiveSweepNs) {
            // The live set forgets the processes whose exits were lost.
            recorder_->drop_exited([this](uint32_t tgid, uint64_t start_tick) {
                return process_started_at(options_.proc_root, tgid, start_tick);
            });
            last_live_sweep_ns_ = now;
        }
        if (retention_.enabled() && !recorder_->storage_down() &&
            (retention_.behind() || now - last_retention_ns_ >= 1'000'000'000)) {
            status_ = retention_step(now);
            last_retention_ns_ = now;
            if (!status_) break;
        }
        if (options_.anchor_interval_ns > 0 && now - last_anchor >= options_.anchor_interval_ns) {
            publish_anchor();
            last_anchor = now;
        }
        beat("recording", false);
        if (options_.duration_ns > 0 && now - started >= options_.duration_ns) {
            stop_reason_ = "duration";
            break;
        }
    }
}

Result<int> Session::end_run() {
    // Take what is still in the ring before closing the run.
    if (status_) {
        auto drained = source_->drain();
        if (!drained) status_ = drained.error();
    }
    // The hasher's queue gets a bounded time; what it leaves gets no row.
    if (const size_t given_up = recorder_->finish_hashing(kHashStopNs); given_up > 0) {
        say(fmt::format("lineage: {} executed files were not hashed before the stop", given_up));
    }
    int64_t stop_ns = boot_now_ns();
    if (status_) {
        // The last reading has no next time: a failure is the run's error,
        // not a run that claims no loss.
        auto drops = source_->drops();
        status_ = drops ? recorder_->note_drops(drops->count, drops->last_ns, stop_ns) : Status(drops.error());
    }
    if (status_) status_ = recorder_->commit(stop_ns);
    if (status_ && recorder_->storage_down()) {
        // commit() just tried once more. The events are counted, but there
        // is nowhere to write them, nor the run's end.
        say(
            fmt::format("lineage record: {}: the journal still cannot be written ({}): {} events over {:.1f} s were "
                        "not stored, and the run is not closed",
                        journal_, recorder_->storage_error(), recorder_->unstored(),
                        static_cast<double>(recorder_->unstored_span_ns()) / 1e9));
        return 1;
    }
    if (!status_) stop_reason_ = "error";
    const auto& stats = recorder_->stats();
    auto ended = writer_->end_run(stop_ns, wall_now_ns(), stop_reason_, static_cast<int64_t>(stats.stored),
                                  static_cast<int64_t>(stats.lost));
    if (ended) publish_anchor();
    if (!status_) return status_.error();
    if (!ended) return ended.error();
    say(fmt::format("lineage: stopped ({}): {} events stored, {} lost", stop_reason_, stats.stored, stats.lost));
    return 0;
}

void Session::on_record(const void* data, size_t size) {
    if (status_ && recorder_) status_ = recorder_->on_record(data, size, boot_now_ns());
}

Status Session::check_drops(int64_t now_ns) {
    auto drops = source_->drops();
    if (!drops) {
        if (!drops_unreadable_) say("lineage: " + drops.error().message + "; trying again");
        drops_unreadable_ = true;
        return Ok{};
    }
    drops_unreadable_ = false;
    if (auto st = recorder_->note_drops(drops->count, drops->last_ns, now_ns); !st) return st;
    return recorder_->note_map_full(drops->map_full, drops->map_full_last_ns, now_ns);
}

// At most one bounded prune, between two batches.
Status Session::retention_step(int64_t now_ns) {
    // While the journal cannot be written, the recorder's own retries
    // (every second) are the only writes; a prune waits for them.
    if (recorder_->storage_down()) return Ok{};
    if (auto st = recorder_->commit(now_ns); !st) return st;
    if (recorder_->storage_down()) return Ok{};
    auto pruned = retention_.step(*writer_, now_ns, wall_now_ns(), recorder_->live_processes());
    if (!pruned) {
        // A prune that fails changes nothing (one transaction); a full
        // disk is the recorder's to ride out, anything else stops.
        if (is_storage_error(pruned.error())) {
            say("lineage: retention: " + pruned.error().message);
            return Ok{};
        }
        return pruned.error();
    }
    if (*pruned && options_.verbose) {
        say(fmt::format(
            "lineage: retention: pruned batches through {} ({} event rows) in batch {}, {} running processes "
            "carried forward",
            (*pruned)->through_batch, (*pruned)->rows, (*pruned)->batch_id, (*pruned)->carried));
    }
    if (retention_.cannot_meet_size() && !said_size_unmet_) {
        say(
            fmt::format("lineage: retention: the journal uses {} bytes, over --max-size {}, with nothing left "
                        "to prune",
                        retention_.used_bytes(), options_.max_size));
    }
    said_size_unmet_ = retention_.cannot_meet_size();
    return Ok{};
}

// The chain head, for shipping off the node: at start, every
// --anchor-interval and at stop. A failed write costs the anchor, not the
// recording.
void Session::publish_anchor() {
    const ChainHead& head = writer_->head();
    const int64_t wall = wall_now_ns();
    auto st = anchors_->write(format_anchor_line(wall, info_.node, info_.boot_id, head.batch_id, head.hash,
                                                 refused_.empty() ? "" : journal_, refused_));
    if (!st) {
        say("lineage: " + st.error().message);
        return;
    }
    heartbeat_.anchor_batch = head.batch_id;
    heartbeat_.anchor_wall_ns = wall;
    heartbeat_.anchor_hash = to_hex(head.hash);
}

}  // namespace

Result<int> run_record_session(const RecordOptions& options, const RecordHooks& hooks) {
    Session session(options, hooks);
    return session.run();
}

}  // namespace lineage
