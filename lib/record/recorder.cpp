#include "recorder.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "escape.h"
#include "event.h"
#include "pod.h"

namespace lineage {

namespace {
const std::string kNoPod;

int64_t event_time(const Event& event) {
    return std::visit([](const auto& e) { return static_cast<int64_t>(e.time_ns); }, event);
}

std::string seconds(int64_t ns) {
    return fmt::format("{:.1f} s", static_cast<double>(ns) / 1e9);
}
}  // namespace

Recorder::Recorder(JournalWriter& writer, RecorderOptions options, PodNamer pod_namer, Notifier notify)
    : writer_(writer), options_(options), pod_namer_(std::move(pod_namer)), notify_(std::move(notify)) {}

Status Recorder::on_record(const void* data, size_t size, int64_t now_ns) {
    auto event = decode_event(data, size);
    if (!event) {
        // A record we cannot read is an event we lost: count it, never guess.
        ++stats_.decode_errors;
        ++decode_loss_pending_;
        if (decode_loss_from_ns_ < 0) decode_loss_from_ns_ = now_ns;
        return Ok{};
    }
    return on_event(*event, now_ns);
}

Status Recorder::on_event(const Event& event, int64_t now_ns) {
    // A cgroup record is no event: it names a cgroup for the records after
    // it, and is learnt even while the journal cannot be written.
    if (const auto* cg = std::get_if<CgroupEvent>(&event)) {
        learn_cgroup(cg->hierarchy, cg->cgroup_id, cg->path);
        return Ok{};
    }
    // The kernel's time, unless it is later than now (it cannot be, but it
    // comes from outside).
    const int64_t t = std::min(event_time(event), now_ns);
    if (down_) {
        // What the node does goes on: a process that ends is no pod's any more.
        if (const auto* x = std::get_if<ExitEvent>(&event)) {
            forget(ProcKey{x->proc.tgid, x->proc.start_ns});
            note_gone(x->proc.tgid, x->proc.start_ns);
        }
        ++stats_.lost;
        ++stats_.journal_write;
        count_unstored(1, t, t);
        return Ok{};
    }
    now_ns_ = now_ns;
    if (auto st = write_event(event); !st) {
        if (auto handled = on_write_error(st.error(), now_ns); !handled) return handled;
        ++stats_.lost;
        ++stats_.journal_write;
        count_unstored(1, t, t);
        return Ok{};
    }
    ++stats_.stored;
    ++batch_events_;
    if (batch_first_event_ns_ < 0) batch_first_event_ns_ = t;
    return Ok{};
}

// Every row of one event: all of them go into the open batch, or the batch
// is given up (on_write_error), this event with it.
Status Recorder::write_event(const Event& event) {
    return std::visit(
        [&](const auto& e) -> Status {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ForkEvent>) {
                return on_fork(e);
            } else if constexpr (std::is_same_v<T, ExecEvent>) {
                return on_exec(e);
            } else if constexpr (std::is_same_v<T, MoveEvent>) {
                return on_move(e);
            } else if constexpr (std::is_same_v<T, ExitEvent>) {
                forget(ProcKey{e.proc.tgid, e.proc.start_ns});
                note_gone(e.proc.tgid, e.proc.start_ns);
                return writer_.add(event, kNoPod);
            } else {
                return writer_.add(event, kNoPod);
            }
        },
        event);
}

void Recorder::learn_cgroup(uint32_t hierarchy, uint64_t id, const std::string& path) {
    const CgroupKey key{hierarchy, id};
    auto [it, inserted] = cgroups_.try_emplace(key);
    if (!inserted) {
        // A repeat (the probes' map forgot it): ids are not reused within a boot.
        cgroup_use_.splice(cgroup_use_.end(), cgroup_use_, it->second.use);
        return;
    }
    it->second.use = cgroup_use_.insert(cgroup_use_.end(), key);
    if (cgroups_.size() > std::max<size_t>(options_.max_cgroups, 1)) {
        // The least recently used goes. Its cgroups row, if written, stays in
        // the journal; learnt again, it is written again.
        const CgroupKey old = cgroup_use_.front();
        cgroup_use_.pop_front();
        cgroups_.erase(old);
        std::erase(batch_cgroups_, old);
    }
    it->second.path = path;
    if (auto kube = parse_kube_cgroup(path)) {
        it->second.pod_uid = kube->pod_uid;
        it->second.container_id = kube->container_id;
    }
}

const Recorder::CgroupInfo* Recorder::cgroup(const CgroupKey& key) {
    auto it = cgroups_.find(key);
    if (it == cgroups_.end()) return nullptr;
    cgroup_use_.splice(cgroup_use_.end(), cgroup_use_, it->second.use);
    return &it->second;
}

Recorder::PodNaming& Recorder::naming(const std::string& uid) {
    auto [it, inserted] = names_.try_emplace(uid);
    if (!inserted) {
        name_use_.splice(name_use_.end(), name_use_, it->second.use);
        return it->second.naming;
    }
    it->second.use = name_use_.insert(name_use_.end(), uid);
    if (names_.size() > std::max<size_t>(options_.max_pod_names, 1)) {
        names_.erase(name_use_.front());
        name_use_.pop_front();
    }
    return it->second.naming;
}

Status Recorder::on_fork(const ForkEvent& e) {
    if (auto st = writer_.add(e, kNoPod); !st) return st;
    note_alive(e.child.tgid, e.child.start_ns);
    // The cgroup that puts the child in a pod: v2's, else the followed v1
    // hierarchy's. A cgroup whose record was lost (a full ring) is the
    // forker's, when the forker is in a pod and in that very cgroup.
    std::optional<CgroupKey> where;
    std::string pod;
    for (const CgroupKey key : {CgroupKey{0, e.cgroup_id}, CgroupKey{options_.cgroup1_hierarchy, e.cgroup1_id}}) {
        if (key.id == 0) continue;
        if (const CgroupInfo* info = cgroup(key); info && !info->pod_uid.empty()) {
            where = key;
            pod = info->pod_uid;
            break;
        }
    }
    if (!where) {
        auto forker = members_.find(ProcKey{e.parent.tgid, e.parent.start_ns});
        if (forker == members_.end()) return Ok{};
        const CgroupKey& theirs = forker->second.cgroup;
        const uint64_t mine = theirs.hierarchy == 0 ? e.cgroup_id : e.cgroup1_id;
        if (theirs.id != mine) return Ok{};
        where = theirs;
        pod = forker->second.pod_uid;
    }
    MembershipRow row;
    row.time_ns = static_cast<int64_t>(e.time_ns);
    row.proc = e.child;
    row.nspid = e.nspid;
    row.how = MembershipHow::fork;
    row.hierarchy = where->hierarchy;
    row.cgroup_id = where->id;
    row.pod_uid = pod;
    row.by = e.parent;
    row.comm = e.parent_comm;  // a child runs its parent's image until it execs
    if (auto st = add_membership(row); !st) return st;
    return name_pod(pod, "");
}

Status Recorder::on_exec(const ExecEvent& e) {
    learn_cgroup(0, e.cgroup_id, e.cgroup_path);
    // The exec's pod: its v2 path's, else its v1 cgroup's.
    CgroupKey where{0, e.cgroup_id};
    std::string pod = pod_uids_.uid_for(e.cgroup_path);
    if (pod.empty() && e.cgroup1_id != 0) {
        const CgroupKey v1{options_.cgroup1_hierarchy, e.cgroup1_id};
        if (const CgroupInfo* info = cgroup(v1); info && !info->pod_uid.empty()) {
            where = v1;
            pod = info->pod_uid;
        }
    }
    if (auto st = writer_.add(e, pod); !st) return st;
    note_alive(e.proc.tgid, e.proc.start_ns);
    if (hasher_ && e.file) {
        if (auto st = add_file_hashes(hasher_->on_exec(e, now_ns_)); !st) return st;
    }
    if (container_sources_.bundle) {
        if (auto st = on_runtime_exec(e); !st) return st;
    }
    if (pod.empty()) return Ok{};
    MembershipRow row;
    row.time_ns = static_cast<int64_t>(e.time_ns);
    row.proc = e.proc;
    row.nspid = e.nspid;
    row.how = MembershipHow::exec;
    row.hierarchy = where.hierarchy;
    row.cgroup_id = where.id;
    row.pod_uid = pod;
    row.uts_ns = e.uts_ns;
    row.comm = e.comm;
    if (auto st = add_membership(row); !st) return st;
    return name_pod(pod, pod_hostname(e.nodename, e.uts_ns));
}

Status Recorder::on_move(const MoveEvent& e) {
    learn_cgroup(e.hierarchy, e.cgroup_id, e.path);
    const CgroupInfo* info = cgroup(CgroupKey{e.hierarchy, e.cgroup_id});
    MembershipRow row;
    row.time_ns = static_cast<int64_t>(e.time_ns);
    row.proc = e.proc;
    row.nspid = e.nspid;
    row.how = MembershipHow::move;
    row.hierarchy = e.hierarchy;
    row.cgroup_id = e.cgroup_id;
    row.pod_uid = info ? info->pod_uid : std::string();
    row.by = e.mover;
    row.comm = e.comm;
    if (auto st = add_membership(row); !st) return st;
    if (row.pod_uid.empty()) {
        // Out of a pod, in the hierarchy that put it there.
        auto it = members_.find(ProcKey{e.proc.tgid, e.proc.start_ns});
        if (it != members_.end() && it->second.cgroup.hierarchy == e.hierarchy) forget(it->first);
        return Ok{};
    }
    return name_pod(row.pod_uid, "");
}

Status Recorder::ensure_cgroup_row(const CgroupKey& key, int64_t time_ns) {
    auto it = cgroups_.find(key);
    if (it == cgroups_.end() || it->second.written) return Ok{};
    cgroup_use_.splice(cgroup_use_.end(), cgroup_use_, it->second.use);
    CgroupRow row;
    row.hierarchy = key.hierarchy;
    row.cgroup_id = key.id;
    row.path = it->second.path;
    row.pod_uid = it->second.pod_uid;
    row.container_id = it->second.container_id;
    if (auto st = writer_.add_cgroup(row); !st) return st;
    it->second.written = true;
    batch_cgroups_.push_back(key);
    // A process first seen in this container's cgroup: what the node's
    // files say of the container, once.
    return meet_container(row.container_id, time_ns);
}

namespace {

// The OCI runtimes whose create and run the recorder reads the bundle of.
bool is_runtime(std::string_view path) {
    const auto slash = path.rfind('/');
    const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    return base == "runc" || base == "crun" || base == "runsc";
}

}  // namespace

Status Recorder::on_runtime_exec(const ExecEvent& e) {
    // Most execs are not a runtime's: two string compares, no call.
    const std::string_view argv0 = std::string_view(e.argv).substr(0, e.argv.find('\0'));
    if (!is_runtime(e.binary) && !is_runtime(argv0)) return Ok{};
    for (ContainerRow& row : container_sources_.bundle(e)) {
        // Annotated: a later look-up reads only the kubelet's files.
        if (!row.container_id.empty() && row.problem.empty()) {
            auto [it, inserted] = containers_met_.try_emplace(row.container_id, true);
            if (inserted) batch_containers_.push_back(row.container_id);
            it->second = true;
        }
        if (auto st = add_container_row(std::move(row), static_cast<int64_t>(e.time_ns)); !st) return st;
    }
    return Ok{};
}

Status Recorder::meet_container(const std::string& container_id, int64_t time_ns) {
    if (container_id.empty() || !container_sources_.lookup) return Ok{};
    if (containers_met_.size() >= kMaxContainersMet) containers_met_.clear();
    auto [it, inserted] = containers_met_.try_emplace(container_id, false);
    if (!inserted && it->second) {
        // Annotated by a bundle: the kubelet's link, once.
        it->second = false;
    } else if (!inserted) {
        return Ok{};
    }
    const bool annotated = !inserted;
    batch_containers_.push_back(container_id);
    for (ContainerRow& row : container_sources_.lookup(container_id, annotated)) {
        if (auto st = add_container_row(std::move(row), time_ns); !st) return st;
    }
    return Ok{};
}

Status Recorder::add_container_row(ContainerRow row, int64_t time_ns) {
    row.time_ns = time_ns;
    if (auto st = writer_.add_container(row); !st) return st;
    // The operator hears of a file that names nothing (a hostile or broken
    // bundle), once per container: its row says the same in the journal.
    if (!row.problem.empty()) {
        notify(escape_for_terminal(fmt::format("container {}: {} {}: {}; no name from it",
                                               row.container_id.substr(0, 12), row.source, row.path, row.problem)));
    }
    // The runtime's annotations name the pod: a pods row, once per name
    // (readers put the kubelet's log directory first, effective_pod_name).
    if (!container_source_is_runtime(row.source) || row.pod_uid.empty() || row.pod_name.empty() || !row.problem.empty())
        return Ok{};
    const PodNaming known = naming(row.pod_uid);
    if (known.runtime == row.pod_namespace + "/" + row.pod_name) return Ok{};
    return add_pod_row(row.pod_uid, row.pod_name, row.pod_namespace, PodNameSource::runtime);
}

Status Recorder::add_membership(const MembershipRow& row) {
    const CgroupKey key{row.hierarchy, row.cgroup_id};
    if (auto st = ensure_cgroup_row(key, row.time_ns); !st) return st;
    if (auto st = writer_.add_membership(row); !st) return st;
    if (row.pod_uid.empty()) return Ok{};
    track(ProcKey{row.proc.tgid, row.proc.start_ns}, Member{row.pod_uid, key, row.nspid, row.comm});
    if (alive_given_up_) return Ok{};
    PodState& pod = pods_[row.pod_uid];
    if (++pod.rows_since_alive < std::max(options_.alive_every_rows, pod.members.size())) return Ok{};
    return write_alive(row.pod_uid, row.time_ns);
}

// Every process still in the pod, restated at one time: a query for a
// window after it need not read the pod's rows before it (schema/journal.sql,
// memberships). All of them go into one batch, as they must: a set is
// complete or absent.
Status Recorder::write_alive(const std::string& pod_uid, int64_t time_ns) {
    PodState& pod = pods_[pod_uid];
    pod.rows_since_alive = 0;
    for (const ProcKey& key : pod.members) {
        const Member& m = members_.at(key);
        MembershipRow row;
        row.time_ns = time_ns;
        row.proc = ProcRef{key.tgid, key.start_ns};
        row.nspid = m.nspid;
        row.how = MembershipHow::alive;
        row.hierarchy = m.cgroup.hierarchy;
        row.cgroup_id = m.cgroup.id;
        row.pod_uid = pod_uid;
        row.comm = m.comm;
        if (auto st = writer_.add_membership(row); !st) return st;
    }
    return Ok{};
}

void Recorder::track(const ProcKey& key, Member member) {
    if (alive_given_up_) return;
    auto it = members_.find(key);
    if (it != members_.end()) {
        if (it->second.pod_uid != member.pod_uid) pods_[it->second.pod_uid].members.erase(key);
        it->second = std::move(member);
    } else {
        if (members_.size() >= options_.max_members) {
            alive_given_up_ = true;
            members_.clear();
            pods_.clear();
            notify(fmt::format(
                "more than {} processes in pods are tracked (exits lost?): this run writes no more 'alive' rows, "
                "and queries of its pods read all of their rows",
                options_.max_members));
            return;
        }
        it = members_.emplace(key, std::move(member)).first;
    }
    pods_[it->second.pod_uid].members.insert(key);
}

// A rolled-back batch leaves the set as it is: the process started (or
// ended) all the same, and a prune asks only about rows that were committed.
void Recorder::note_alive(uint32_t tgid, uint64_t start_ns) {
    const ProcKey key{tgid, start_ns / static_cast<uint64_t>(std::max<int64_t>(options_.ns_per_tick, 1))};
    if (live_.size() >= options_.max_live && !live_.count(key)) {
        if (!live_full_said_) {
            live_full_said_ = true;
            notify(fmt::format(
                "more than {} running processes are tracked (exits lost?): retention does not carry the newer ones "
                "forward until /proc shows some gone",
                options_.max_live));
        }
        return;
    }
    live_.insert(key);
}

size_t Recorder::drop_exited(const std::function<bool(uint32_t tgid, uint64_t start_tick)>& running) {
    return std::erase_if(live_, [&](const ProcKey& k) { return !running(k.tgid, k.start_ns); });
}

void Recorder::note_gone(uint32_t tgid, uint64_t start_ns) {
    live_.erase(ProcKey{tgid, start_ns / static_cast<uint64_t>(std::max<int64_t>(options_.ns_per_tick, 1))});
}

LiveProcesses Recorder::live_processes() const {
    LiveProcesses live;
    live.ns_per_tick = std::max<int64_t>(options_.ns_per_tick, 1);
    live.contains = [this, tick = live.ns_per_tick](uint32_t tgid, int64_t start_ns) {
        if (start_ns < 0) return false;
        return live_.count(ProcKey{tgid, static_cast<uint64_t>(start_ns / tick)}) != 0;
    };
    return live;
}

void Recorder::forget(const ProcKey& key) {
    auto it = members_.find(key);
    if (it == members_.end()) return;
    auto pod = pods_.find(it->second.pod_uid);
    if (pod != pods_.end()) {
        pod->second.members.erase(key);
        // Its count of rows since the last 'alive' set goes too: a pod whose
        // last process ended is met again, if ever, as a new one.
        if (pod->second.members.empty()) pods_.erase(pod);
    }
    members_.erase(it);
}

std::string Recorder::pod_hostname(const std::string& nodename, uint32_t uts_ns) const {
    if (nodename.empty() || uts_ns == 0 || options_.host_uts_ns == 0) return {};
    if (uts_ns == options_.host_uts_ns || nodename == options_.host_node) return {};
    return nodename;
}

Status Recorder::name_pod(const std::string& uid, const std::string& hostname) {
    if (uid.empty()) return Ok{};
    const PodNaming known = naming(uid);
    if (known.log_dir) return Ok{};
    // The log directory, looked up when the pod is first met and again
    // later (the resolver rescans at most once a second per pod): the
    // kubelet may make it after the pod's first process.
    if (pod_namer_) {
        if (auto name = pod_namer_(uid)) return add_pod_row(uid, name->name, name->namespace_, PodNameSource::log_dir);
    }
    if (hostname.empty() || known.hostname == hostname) return Ok{};
    return add_pod_row(uid, hostname, "", PodNameSource::hostname);
}

Status Recorder::add_pod_row(const std::string& uid, const std::string& name, const std::string& ns,
                             PodNameSource source) {
    if (auto st = writer_.add_pod(uid, name, ns, source); !st) return st;
    // Named once it is in the batch; a rolled-back batch takes it back.
    PodNaming& n = naming(uid);
    batch_names_.emplace_back(uid, n);
    if (source == PodNameSource::log_dir) {
        n.log_dir = true;
    } else if (source == PodNameSource::runtime) {
        n.runtime = ns + "/" + name;
    } else {
        n.hostname = name;
    }
    return Ok{};
}

Status Recorder::add_snapshot(const SnapshotRow& row, uint32_t uts_ns) {
    const std::string& pod = pod_uids_.uid_for(row.cgroup_path);
    if (auto st = writer_.add_snapshot(row, pod); !st) return st;
    note_alive(row.tgid, row.start_ns);
    if (pod.empty()) return Ok{};
    if (container_sources_.lookup) {
        // A container already running: only the runtime's state names it.
        if (auto kube = parse_kube_cgroup(row.cgroup_path)) {
            if (auto st = meet_container(kube->container_id, row.time_ns); !st) return st;
        }
    }
    auto [it, inserted] = snapshot_hostnames_.try_emplace(pod, row.start_ns, std::string());
    const std::string hostname = pod_hostname(row.nodename, uts_ns);
    if (!hostname.empty() && (it->second.second.empty() || row.start_ns >= it->second.first)) {
        it->second = {row.start_ns, hostname};
    }
    return Ok{};
}

Status Recorder::end_snapshot() {
    // In UID order, so that the same /proc gives the same rows.
    std::vector<std::string> pods;
    for (const auto& [uid, hostname] : snapshot_hostnames_) pods.push_back(uid);
    std::sort(pods.begin(), pods.end());
    for (const auto& uid : pods) {
        if (auto st = name_pod(uid, snapshot_hostnames_[uid].second); !st) return st;
    }
    snapshot_hostnames_.clear();
    return Ok{};
}

Status Recorder::add_file_hashes(const std::vector<FileHashRow>& rows) {
    for (size_t i = 0; i < rows.size(); ++i) {
        if (auto st = writer_.add_file_hash(rows[i]); !st) {
            // Not in the journal: a later exec of the file writes them.
            for (size_t j = i; j < rows.size(); ++j) hasher_->unwrite(rows[j].key, rows[j].path);
            return st;
        }
        batch_hashes_.emplace_back(rows[i].key, rows[i].path);
    }
    return Ok{};
}

Status Recorder::take_hashes(int64_t now_ns) {
    if (!hasher_ || down_) return Ok{};
    if (auto st = add_file_hashes(hasher_->take_results()); !st) return on_write_error(st.error(), now_ns);
    return Ok{};
}

size_t Recorder::finish_hashing(int64_t timeout_ns) {
    if (!hasher_) return 0;
    hasher_->wait_idle(timeout_ns);
    return hasher_->stop();
}

Status Recorder::add_loss(PendingLoss loss) {
    if (auto st = writer_.add_loss(loss.from_ns, loss.to_ns, loss.count, loss.reason); !st) return st;
    batch_losses_.push_back(std::move(loss));
    return Ok{};
}

void Recorder::count_unstored(uint64_t n, int64_t from_ns, int64_t to_ns) {
    if (n == 0) return;
    if (unstored_ == 0) {
        unstored_from_ns_ = from_ns;
        unstored_to_ns_ = to_ns;
    } else {
        unstored_from_ns_ = std::min(unstored_from_ns_, from_ns);
        unstored_to_ns_ = std::max(unstored_to_ns_, to_ns);
    }
    unstored_ += n;
}

Status Recorder::on_write_error(const Error& error, int64_t now_ns) {
    // Nothing of the batch reaches the journal (the writer gives a batch up
    // when a write fails): what it held is counted again, as lost events
    // and as loss rows that wait.
    writer_.abort_batch();
    stats_.stored -= batch_events_;
    stats_.lost += batch_events_;
    stats_.journal_write += batch_events_;
    count_unstored(batch_events_, batch_first_event_ns_ < 0 ? now_ns : batch_first_event_ns_, now_ns);
    // Undone newest first, so each pod ends as it was before the batch.
    for (auto it = batch_names_.rbegin(); it != batch_names_.rend(); ++it) naming(it->first) = it->second;
    for (const auto& key : batch_cgroups_) {
        if (auto c = cgroups_.find(key); c != cgroups_.end()) c->second.written = false;
    }
    // Looked up again when met again.
    for (const auto& id : batch_containers_) containers_met_.erase(id);
    if (hasher_) {
        for (const auto& [key, path] : batch_hashes_) hasher_->unwrite(key, path);
    }
    batch_hashes_.clear();
    batch_containers_.clear();
    pending_losses_.insert(pending_losses_.begin(), batch_losses_.begin(), batch_losses_.end());
    if (batch_clock_) clock_boot_ns_ = -1;  // take a sample again
    batch_events_ = 0;
    batch_first_event_ns_ = -1;
    batch_names_.clear();
    batch_cgroups_.clear();
    batch_losses_.clear();
    batch_clock_ = false;
    // Not the storage's fault (a bug, a damaged journal): recording stops.
    if (!is_storage_error(error)) return error;
    if (!down_) {
        down_ = true;
        down_error_ = error.message;
        down_since_ns_ = now_ns;
        notify(
            fmt::format("cannot write the journal: {}; recording goes on, and the events that cannot be stored "
                        "are counted until it can be written again",
                        error.message));
    }
    retry_at_ns_ = now_ns + options_.retry_interval_ns;
    return Ok{};
}

Status Recorder::try_recover(int64_t now_ns) {
    retry_at_ns_ = now_ns + options_.retry_interval_ns;
    if (writer_.batch_open()) writer_.abort_batch();
    // The losses that waited, then the time the journal could not be
    // written, in one batch: it commits whole or not at all.
    std::vector<PendingLoss> rows = pending_losses_;
    if (decode_loss_pending_ > 0) {
        rows.push_back(PendingLoss{decode_loss_from_ns_, now_ns, static_cast<int64_t>(decode_loss_pending_), "decode"});
    }
    if (unstored_ > 0) {
        rows.push_back(PendingLoss{unstored_from_ns_, std::max(unstored_to_ns_, unstored_from_ns_),
                                   static_cast<int64_t>(unstored_), "journal_write"});
    } else if (rows.empty()) {
        // Nothing was lost (what failed was a clock sample, say), but only a
        // write shows that the journal takes writes again, and the time it
        // did not is worth a row: 0 events, journal_write.
        rows.push_back(PendingLoss{down_since_ns_, std::max(now_ns, down_since_ns_), 0, "journal_write"});
    }
    Status st = Ok{};
    for (const auto& l : rows) {
        st = writer_.add_loss(l.from_ns, l.to_ns, l.count, l.reason);
        if (!st) break;
    }
    if (st) st = writer_.commit(now_ns);
    if (!st) {
        writer_.abort_batch();
        return is_storage_error(st.error()) ? Status(Ok{}) : st;
    }
    if (decode_loss_pending_ > 0) {
        stats_.lost += decode_loss_pending_;
        decode_loss_pending_ = 0;
        decode_loss_from_ns_ = -1;
    }
    notify(
        fmt::format("the journal can be written again: {} events over {} could not be stored and are recorded "
                    "as lost (journal_write)",
                    unstored_, seconds(unstored_to_ns_ - unstored_from_ns_)));
    down_ = false;
    down_error_.clear();
    pending_losses_.clear();
    unstored_ = 0;
    interval_start_ns_ = now_ns;
    return Ok{};
}

Status Recorder::maybe_commit(int64_t now_ns) {
    if (down_) return now_ns >= retry_at_ns_ ? try_recover(now_ns) : Status(Ok{});
    if (auto st = take_hashes(now_ns); !st || down_) return st;
    if (writer_.pending_rows() == 0 && pending_losses_.empty() && decode_loss_pending_ == 0) {
        // The caller has just drained the ring: whatever arrives from now on
        // is younger than now.
        interval_start_ns_ = now_ns;
        return Ok{};
    }
    if (interval_start_ns_ < 0) interval_start_ns_ = now_ns;
    if (writer_.pending_rows() >= options_.batch_max_rows ||
        now_ns - interval_start_ns_ >= options_.batch_interval_ns) {
        return commit(now_ns);
    }
    return Ok{};
}

int64_t Recorder::next_commit_ns(int64_t now_ns) const {
    if (down_) return retry_at_ns_;
    if (interval_start_ns_ < 0) return now_ns + options_.batch_interval_ns;
    return interval_start_ns_ + options_.batch_interval_ns;
}

Status Recorder::commit(int64_t now_ns) {
    if (down_) return try_recover(now_ns);
    if (auto st = take_hashes(now_ns); !st || down_) return st;
    if (decode_loss_pending_ > 0) {
        pending_losses_.push_back(
            PendingLoss{decode_loss_from_ns_, now_ns, static_cast<int64_t>(decode_loss_pending_), "decode"});
        stats_.lost += decode_loss_pending_;
        decode_loss_pending_ = 0;
        decode_loss_from_ns_ = -1;
    }
    for (size_t i = 0; i < pending_losses_.size(); ++i) {
        if (auto st = add_loss(pending_losses_[i]); !st) {
            pending_losses_.erase(pending_losses_.begin(), pending_losses_.begin() + static_cast<ptrdiff_t>(i));
            return on_write_error(st.error(), now_ns);
        }
    }
    pending_losses_.clear();
    interval_start_ns_ = now_ns;
    if (auto st = writer_.commit(now_ns); !st) return on_write_error(st.error(), now_ns);
    batch_events_ = 0;
    batch_first_event_ns_ = -1;
    batch_names_.clear();
    batch_cgroups_.clear();
    batch_containers_.clear();
    batch_losses_.clear();
    batch_hashes_.clear();
    batch_clock_ = false;
    return Ok{};
}

Status Recorder::note_clock(int64_t boot_ns, int64_t wall_ns) {
    constexpr int64_t kStep = 1'000'000;               // 1 ms
    constexpr int64_t kKeepalive = 3'600'000'000'000;  // 1 h
    if (down_) return Ok{};                            // sampled again once the journal can be written
    int64_t offset = wall_ns - boot_ns;
    if (clock_boot_ns_ >= 0 && std::llabs(offset - clock_offset_ns_) <= kStep && boot_ns - clock_boot_ns_ < kKeepalive)
        return Ok{};
    const bool joins_batch = writer_.batch_open();
    if (auto st = writer_.add_clock_sample(boot_ns, wall_ns); !st) {
        clock_boot_ns_ = -1;
        return on_write_error(st.error(), boot_ns);
    }
    clock_boot_ns_ = boot_ns;
    clock_offset_ns_ = offset;
    if (joins_batch) batch_clock_ = true;
    return Ok{};
}

Status Recorder::note_drops(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns) {
    return note_kernel_loss(total_count, last_drop_ns, now_ns, drops_seen_, drops_checked_ns_, stats_.ringbuf_full,
                            "ringbuf_full");
}

Status Recorder::note_map_full(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns) {
    return note_kernel_loss(total_count, last_drop_ns, now_ns, map_full_seen_, map_full_checked_ns_, stats_.map_full,
                            "map_full");
}

Status Recorder::note_kernel_loss(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns, uint64_t& seen,
                                  int64_t& checked_ns, uint64_t& stat, const char* reason) {
    if (total_count > seen) {
        uint64_t fresh = total_count - seen;
        // Drops happened after the previous reading and no later than the
        // latest drop time the kernel noted (or now, if it has none).
        int64_t to = last_drop_ns ? static_cast<int64_t>(last_drop_ns) : now_ns;
        PendingLoss loss{checked_ns, to, static_cast<int64_t>(fresh), reason};
        stats_.lost += fresh;
        stat += fresh;
        seen = total_count;
        if (down_) {
            pending_losses_.push_back(std::move(loss));
        } else if (auto st = add_loss(loss); !st) {
            pending_losses_.push_back(std::move(loss));
            checked_ns = now_ns;
            return on_write_error(st.error(), now_ns);
        }
    }
    checked_ns = now_ns;
    return Ok{};
}

}  // namespace lineage
