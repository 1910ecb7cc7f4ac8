// lineage record: load the probes, snapshot /proc, append events to the journal.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "clock.h"
#include "commands.h"
#include "journal_format.h"
#include "output.h"
#include "events.h"
#include "anchor.h"
#include "hashchain.h"
#include "journal_writer.h"
#include "pod.h"
#include "probe.h"
#include "procfs.h"
#include "recorder.h"
#include "retention.h"
#include "units.h"
#include "version.h"

namespace lineage::cli {

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int64_t> g_stop_signal_ns{0};  // CLOCK_MONOTONIC of the first

// The first signal asks for a clean stop: drain the ring, commit, close the
// run. A second one while that is under way (a journal on a hung disk, say)
// stops at once: _exit leaves the open transaction uncommitted, which SQLite
// discards, and every committed batch stays as it is. Signals within a
// second of the first are the same request (a hung-up terminal sends SIGHUP
// from the kernel and from the shell; systemd sends SIGTERM, then SIGHUP).
void on_stop_signal(int sig) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
    const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    int expected = 0;
    if (g_stop_signal.compare_exchange_strong(expected, sig)) {
        g_stop_signal_ns.store(now);
        return;
    }
    if (now - g_stop_signal_ns.load() < 1'000'000'000) return;
    static const char msg[] = "lineage: second signal: stopping now; the batch being written is discarded, "
                              "committed batches are kept\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(128 + sig);
}

struct RecordArgs {
    std::string journal = kDefaultJournal;
    std::string duration;
    std::string argv_cap = "4096";
    std::string ring_size = "8M";
    std::string batch_interval = "100ms";
    size_t batch_rows = 16384;
    std::vector<std::string> cgroups;
    bool kube_only = false;
    std::string kube_root = "/";
    bool verbose = false;
    std::string anchor_log;  // empty: anchors go to stderr
    std::string anchor_interval = "5m";
    std::string max_size;  // empty: no limit
    std::string retain;    // empty: keep everything
};

int fail(const std::string& message) { return cli::fail("record", message); }

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

// A cgroup path is in one of the recorded subtrees ("/a" covers "/a/b").
bool in_subtrees(const std::string& path, const std::vector<std::string>& subtrees) {
    for (const auto& t : subtrees) {
        if (path == t || (path.size() > t.size() && path.compare(0, t.size(), t) == 0 && path[t.size()] == '/'))
            return true;
    }
    return false;
}

// Processes running before the probes: without them trees start in mid-air.
// With a cgroup filter, only those the probes would record too.
Status write_snapshot(JournalWriter& writer, int64_t ns_per_tick, const std::vector<std::string>* subtrees,
                      size_t* count) {
    NodenameResolver nodenames;
    int64_t taken_ns = boot_now_ns();
    for (const auto& p : scan_proc("/proc")) {
        if (p.kernel_thread) continue;
        if (subtrees && !in_subtrees(p.cgroup_path, *subtrees)) continue;
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
        row.nodename = nodenames.nodename_for(p.tgid, p.uts_ns_inode);
        if (auto st = writer.add_snapshot(row); !st) return st;
        ++*count;
    }
    return Ok{};
}

int run_record(const RecordArgs& args) {
    auto argv_cap = parse_size(args.argv_cap);
    if (!argv_cap) return fail("--argv-cap: " + argv_cap.error().message);
    if (*argv_cap == 0 || *argv_cap > LINEAGE_ARGV_MAX_CAP) {
        return fail(fmt::format("--argv-cap: {} is out of range (1 to {} bytes)", *argv_cap, LINEAGE_ARGV_MAX_CAP));
    }
    auto ring = parse_size(args.ring_size);
    if (!ring) return fail("--ring-size: " + ring.error().message);
    if (*ring < 4096 || (*ring & (*ring - 1)) != 0 || *ring > (1ull << 30)) {
        return fail(fmt::format("--ring-size: {} must be a power of two from 4K to 1G", args.ring_size));
    }
    auto batch_interval = parse_duration(args.batch_interval);
    if (!batch_interval) return fail("--batch-interval: " + batch_interval.error().message);
    int64_t duration_ns = 0;
    if (!args.duration.empty()) {
        auto d = parse_duration(args.duration);
        if (!d) return fail("--duration: " + d.error().message);
        duration_ns = *d;
    }
    auto anchor_interval = parse_duration(args.anchor_interval);
    if (!anchor_interval) return fail("--anchor-interval: " + anchor_interval.error().message);
    RetentionOptions retention_options;
    if (!args.max_size.empty()) {
        auto max_size = parse_size(args.max_size);
        if (!max_size) return fail("--max-size: " + max_size.error().message);
        if (*max_size < (1u << 20)) return fail(fmt::format("--max-size: {} is below the minimum, 1M", args.max_size));
        retention_options.max_bytes = static_cast<int64_t>(*max_size);
    }
    if (!args.retain.empty()) {
        auto retain = parse_duration(args.retain);
        if (!retain) return fail("--retain: " + retain.error().message);
        if (*retain < 60'000'000'000) return fail(fmt::format("--retain: {} is below the minimum, 1m", args.retain));
        retention_options.retain_ns = *retain;
    }

    ProbeOptions probe_options;
    probe_options.argv_cap = static_cast<uint32_t>(*argv_cap);
    probe_options.ring_bytes = *ring;
    // Wake the reader only when a quarter of the ring is pending; the loop
    // below drains every 10 ms anyway.
    probe_options.wakeup_bytes = *ring / 4;
    probe_options.verbose = args.verbose;

    nlohmann::json filters = nlohmann::json::object();
    std::vector<std::string> snapshot_subtrees;
    if (!args.cgroups.empty() || args.kube_only) {
        std::string mount = find_cgroup2_mount();
        if (mount.empty()) return fail("--cgroup/--kube-only: no cgroup2 filesystem is mounted");
        std::vector<std::string> wanted = args.cgroups;
        if (args.kube_only) {
            bool any = false;
            for (const char* name : {"kubepods.slice", "kubepods"}) {
                if (std::filesystem::is_directory(mount + "/" + name)) {
                    wanted.push_back(std::string("/") + name);
                    any = true;
                }
            }
            if (!any) {
                return fail(fmt::format("--kube-only: no kubepods cgroup under {} (is this a Kubernetes node?)", mount));
            }
            filters["kube_only"] = true;
        }
        for (const auto& c : wanted) {
            auto id = cgroup_id_of(c, mount);
            if (!id) return fail("--cgroup: " + id.error().message);
            probe_options.allowed_cgroup_ids.push_back(*id);
            filters["cgroups"].push_back(c);
            // The same subtree as /proc/PID/cgroup names it: below the mount.
            std::string rel = c.rfind(mount + "/", 0) == 0 ? c.substr(mount.size()) : c;
            if (rel.empty() || rel[0] != '/') rel = "/" + rel;
            while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
            snapshot_subtrees.push_back(rel);
        }
        probe_options.filter_cgroups = true;
    }

    // Probes first: a start that cannot attach (not root, no BTF) must not
    // leave a new, empty journal behind. Records are consumed only in
    // poll()/drain(), after the recorder exists; until then the kernel
    // keeps them in the ring.
    std::optional<Recorder> recorder;
    Status write_status = Ok{};
    auto sink = [&](const void* data, size_t size) {
        if (write_status && recorder) write_status = recorder->on_record(data, size, boot_now_ns());
    };
    auto probe = Probe::start(probe_options, sink);
    if (!probe) return fail(probe.error().message);

    // Before the journal: a bad --anchor-log must not leave a new journal.
    auto anchors = args.anchor_log.empty() ? Result<AnchorLog>(AnchorLog()) : AnchorLog::open(args.anchor_log);
    if (!anchors) return fail("--anchor-log: " + anchors.error().message);
    if (auto st = ensure_parent_dir(args.journal); !st) return fail(st.error().message);
    auto writer = JournalWriter::open(args.journal);
    if (!writer) return fail(writer.error().message);

    PodResolver pods(args.kube_root);
    auto pod_namer = [&pods](const std::string& uid, const std::string& nodename) -> std::optional<PodName> {
        if (auto info = pods.resolve(uid)) return PodName{info->name, info->namespace_, PodNameSource::log_dir};
        if (!nodename.empty()) return PodName{nodename, "", PodNameSource::hostname};
        return std::nullopt;
    };
    RecorderOptions rec_options;
    rec_options.batch_interval_ns = *batch_interval;
    rec_options.batch_max_rows = args.batch_rows;
    auto notify = [](const std::string& line) { say("lineage: " + line); };
    recorder.emplace(*writer, rec_options, pod_namer, notify);
    Retention retention(retention_options);
    say("lineage: attached " + (*probe)->hooks());

    struct utsname uts {};
    uname(&uts);
    RunInfo info;
    info.boot_id = read_boot_id("/proc");
    info.node = uts.nodename;
    info.started_ns = boot_now_ns();
    info.started_wall_ns = wall_now_ns();
    info.version = kVersion;
    info.kernel = fmt::format("{} {}", uts.release, uts.version);
    info.hooks = (*probe)->hooks();
    info.filters_json = filters.dump();
    info.argv_cap = static_cast<int64_t>(*argv_cap);
    info.clk_tck = clock_ticks_per_second();
    info.recorder_pid = getpid();
    if (info.boot_id.empty()) return fail("cannot read /proc/sys/kernel/random/boot_id");
    auto run_id = writer->begin_run(info);
    if (!run_id) return fail(run_id.error().message);

    size_t snapshot_count = 0;
    int64_t ns_per_tick = 1'000'000'000 / info.clk_tck;
    if (auto st = write_snapshot(*writer, ns_per_tick, probe_options.filter_cgroups ? &snapshot_subtrees : nullptr,
                                 &snapshot_count); !st) return fail(st.error().message);
    if (auto st = recorder->note_drops(0, 0, info.started_ns); !st) return fail(st.error().message);
    if (auto st = recorder->commit(boot_now_ns()); !st) return fail(st.error().message);
    // The run's first batch (its runs row and the /proc snapshot) must be
    // in the journal before anything else can name the run: a journal that
    // cannot take it is an error at start, not something to ride out.
    if (recorder->storage_down()) {
        return fail(fmt::format("cannot write the journal: {}", recorder->storage_error()));
    }
    // The chain head, for shipping off the node: at start, every
    // --anchor-interval and at stop. A failed write costs the anchor, not
    // the recording.
    auto publish_anchor = [&] {
        const ChainHead& head = writer->head();
        auto st = anchors->write(format_anchor_line(wall_now_ns(), info.node, info.boot_id, head.batch_id, head.hash));
        if (!st) say("lineage: " + st.error().message);
    };
    publish_anchor();

    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    // The stop signals do not interrupt each other's handler.
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    // stderr may be a pipe whose reader went away: a message must never
    // kill the recorder.
    signal(SIGPIPE, SIG_IGN);

    // One retention step: at most one bounded prune, between two batches.
    int64_t last_retention = 0;
    bool said_size_unmet = false;
    auto retention_step = [&](int64_t now) -> Status {
        // While the journal cannot be written, the recorder's own retries
        // (every second) are the only writes; a prune waits for them.
        if (recorder->storage_down()) return Ok{};
        if (auto st = recorder->commit(now); !st) return st;
        if (recorder->storage_down()) return Ok{};
        auto pruned = retention.step(*writer, now, wall_now_ns());
        if (!pruned) {
            // A prune that fails changes nothing (one transaction); a full
            // disk is the recorder's to ride out, anything else stops.
            if (is_storage_error(pruned.error())) {
                say("lineage: retention: " + pruned.error().message);
                return Ok{};
            }
            return pruned.error();
        }
        if (*pruned && args.verbose) {
            say(fmt::format("lineage: retention: pruned batches through {} ({} event rows) in batch {}",
                            (*pruned)->through_batch, (*pruned)->rows, (*pruned)->batch_id));
        }
        if (retention.cannot_meet_size() && !said_size_unmet) {
            say(fmt::format("lineage: retention: the journal uses {} bytes, over --max-size {}, with nothing left "
                            "to prune",
                            retention.used_bytes(), args.max_size));
        }
        said_size_unmet = retention.cannot_meet_size();
        return Ok{};
    };
    if (retention.enabled()) {
        if (auto st = retention_step(boot_now_ns()); !st) return fail(st.error().message);
        last_retention = boot_now_ns();
    }

    say(fmt::format("lineage: recording to {} (run {}, {} processes from /proc)", args.journal, *run_id,
                    snapshot_count));

    const int64_t started = boot_now_ns();
    int64_t last_drop_check = started;
    int64_t last_clock_sample = started;
    int64_t last_anchor = started;
    std::string stop_reason = "signal";
    while (g_stop_signal.load() == 0) {
        // Sleep on the ring until the next commit is due, then drain it and
        // commit in one go. The probes do not wake the reader (until the ring
        // is a quarter full), so the reader's own wakeups are what it costs:
        // draining every 10 ms into a batch committed every 100 ms took about
        // 1.5 times the CPU per event of this (fork+exec storm, side by
        // side). A signal ends the wait at once. At most a second, so that
        // the kernel drop counter, retention and --duration are looked at
        // at least that often.
        const int64_t wait_ns =
            std::clamp<int64_t>(recorder->next_commit_ns(boot_now_ns()) - boot_now_ns(), 1'000'000, 1'000'000'000);
        auto polled = (*probe)->poll(static_cast<int>((wait_ns + 999'999) / 1'000'000));
        if (!polled) {
            write_status = polled.error();
            break;
        }
        if (!write_status) break;
        int64_t now = boot_now_ns();
        if (now - last_drop_check >= 250'000'000) {
            auto d = (*probe)->drops();
            write_status = recorder->note_drops(d.count, d.last_ns, now);
            last_drop_check = now;
            if (!write_status) break;
        }
        if (now - last_clock_sample >= 60'000'000'000) {
            write_status = recorder->note_clock(now, wall_now_ns());
            last_clock_sample = now;
            if (!write_status) break;
        }
        write_status = recorder->maybe_commit(now);
        if (!write_status) break;
        if (retention.enabled() && !recorder->storage_down() &&
            (retention.behind() || now - last_retention >= 1'000'000'000)) {
            write_status = retention_step(now);
            last_retention = now;
            if (!write_status) break;
        }
        if (*anchor_interval > 0 && now - last_anchor >= *anchor_interval) {
            publish_anchor();
            last_anchor = now;
        }
        if (duration_ns > 0 && now - started >= duration_ns) {
            stop_reason = "duration";
            break;
        }
    }

    // Take what is still in the ring before closing the run.
    if (write_status) {
        auto drained = (*probe)->drain();
        if (!drained) write_status = drained.error();
    }
    int64_t stop_ns = boot_now_ns();
    if (write_status) {
        auto d = (*probe)->drops();
        write_status = recorder->note_drops(d.count, d.last_ns, stop_ns);
    }
    if (write_status) write_status = recorder->commit(stop_ns);
    if (write_status && recorder->storage_down()) {
        // commit() just tried once more. The events are counted, but there
        // is nowhere to write them, nor the run's end.
        say(fmt::format("lineage record: {}: the journal still cannot be written ({}): {} events over {:.1f} s were "
                        "not stored, and the run is not closed",
                        args.journal, recorder->storage_error(), recorder->unstored(),
                        static_cast<double>(recorder->unstored_span_ns()) / 1e9));
        return 1;
    }
    if (!write_status) stop_reason = "error";
    const auto& stats = recorder->stats();
    auto ended = writer->end_run(stop_ns, wall_now_ns(), stop_reason, static_cast<int64_t>(stats.stored),
                                 static_cast<int64_t>(stats.lost));
    if (ended) publish_anchor();
    if (!write_status) return fail(write_status.error().message);
    if (!ended) return fail(ended.error().message);
    say(fmt::format("lineage: stopped ({}): {} events stored, {} lost", stop_reason, stats.stored, stats.lost));
    return 0;
}

}  // namespace

Runner add_record(CLI::App& app) {
    auto args = std::make_shared<RecordArgs>();
    auto* cmd = app.add_subcommand("record", "Record fork, exec, exit and TCP connect events to a journal (root)");
    cmd->add_option("-j,--journal", args->journal, "Journal file (created with mode 0600)")
        ->capture_default_str();
    cmd->add_option("-d,--duration", args->duration, "Stop by itself after this long (30s, 5m, 2h)");
    cmd->add_option("--argv-cap", args->argv_cap, "Bytes of argv kept per exec, at most 32K")->capture_default_str();
    cmd->add_option("--ring-size", args->ring_size,
                    "Ring buffer size, a power of two (shrink it to force an overload)")
        ->capture_default_str();
    cmd->add_option("--batch-interval", args->batch_interval,
                    "Commit a batch, and wake up, at least this often: longer costs less CPU, a crash loses more")
        ->capture_default_str();
    cmd->add_option("--batch-rows", args->batch_rows, "Commit a batch when this many rows wait")
        ->capture_default_str();
    cmd->add_option("--cgroup", args->cgroups,
                    "Record only processes in this cgroup v2 (path below the mount) or below it; repeatable");
    cmd->add_flag("--kube-only", args->kube_only, "Record only processes under the kubepods cgroup");
    cmd->add_option("--kube-root", args->kube_root,
                    "Root of the node's files for pod names (<root>/var/log/pods)")
        ->capture_default_str();
    cmd->add_flag("-v,--verbose", args->verbose, "Show libbpf's log");
    cmd->add_option("--anchor-log", args->anchor_log,
                    "Append the chain head ('lineage-anchor ...' lines, for lineage verify --anchor) to this file "
                    "instead of stderr");
    cmd->add_option("--anchor-interval", args->anchor_interval,
                    "Publish the chain head at start, at stop and this often (0: only at start and stop)")
        ->capture_default_str();
    cmd->add_option("--max-size", args->max_size,
                    "Keep the journal under this size (512M, 2G): the oldest batches are pruned, and the prune is "
                    "recorded in the chain");
    cmd->add_option("--retain", args->retain,
                    "Prune batches older than this (30d, 12h), recording each prune in the chain");
    cmd->footer(
        "Examples:\n"
        "  lineage record\n"
        "  lineage record --journal /tmp/j.db --duration 60s\n"
        "  lineage record --kube-only --argv-cap 16K\n"
        "  lineage record --anchor-log /var/log/lineage-anchors.log --anchor-interval 1m\n"
        "  lineage record --max-size 2G --retain 90d\n"
        "Prints 'lineage: recording ...' on stderr once the probes are live and /proc is snapshotted.\n"
        "Stops cleanly on SIGINT, SIGTERM or SIGHUP, or after --duration; a second signal stops at once,\n"
        "keeping every committed batch.\n"
        "Exit status: 0 clean stop; 1 stopped while the journal could not be written (events were not stored);\n"
        "2 bad arguments, a journal or probes that cannot be opened, or a journal error.");
    return [args] { return run_record(*args); };
}

}  // namespace lineage::cli
