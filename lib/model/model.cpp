#include "model.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

namespace lineage {

std::string ProcessKey::str() const {
    return fmt::format("{}:{}:{}", boot_id, tgid, start_tick);
}

size_t ProcessKeyHash::operator()(const ProcessKey& k) const {
    size_t h = k.boot_id.hash();
    h ^= std::hash<uint64_t>()((uint64_t{k.tgid} << 40) ^ k.start_tick) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

const char* parent_source_name(ParentSource s) {
    switch (s) {
        case ParentSource::fork:
            return "fork";
        case ParentSource::exec:
            return "exec";
        case ParentSource::snapshot:
            return "snapshot";
        case ParentSource::none:
            return "none";
    }
    return "none";
}

const char* pod_entry_name(PodEntryKind kind) {
    switch (kind) {
        case PodEntryKind::exec:
            return "exec";
        case PodEntryKind::fork:
            return "fork";
        case PodEntryKind::move:
            return "move";
        case PodEntryKind::snapshot:
            return "snapshot";
        case PodEntryKind::alive:
            return "alive";
    }
    return "exec";
}

const PodEntry* first_pod_entry(const Process& p, std::string_view uid) {
    const PodEntry* alive = nullptr;
    for (const auto& e : p.pod_entries) {
        if (e.pod.uid.empty() || (!uid.empty() && e.pod.uid != uid)) continue;
        if (e.kind != PodEntryKind::alive) return &e;
        if (!alive) alive = &e;
    }
    return alive;
}

PodNameRecord effective_pod_name(const std::string& uid, const std::vector<PodNameRecord>& records,
                                 const std::vector<std::string>& node_names) {
    const PodNameRecord* runtime = nullptr;
    const PodNameRecord* hostname = nullptr;
    for (const auto& r : records) {
        if (r.name.empty()) continue;
        if (r.source == PodNameSource::log_dir) return r;
        if (r.source == PodNameSource::runtime) {
            if (!runtime) runtime = &r;
            continue;
        }
        // A host name, or a source this build does not know (an import's).
        if (std::find(node_names.begin(), node_names.end(), r.name) != node_names.end()) continue;
        hostname = &r;
    }
    if (runtime) return *runtime;
    if (hostname) return *hostname;
    return PodNameRecord{uid, "", PodNameSource::unknown};
}

const char* pod_name_source_label(PodNameSource s) {
    switch (s) {
        case PodNameSource::log_dir:
            return "kubelet";
        case PodNameSource::runtime:
            return "runtime";
        case PodNameSource::hostname:
            return "uts";
        case PodNameSource::unknown:
            break;
    }
    return "uid";
}

std::vector<std::string> pod_name_disagreements(const std::string& uid, const std::vector<PodNameRecord>& records,
                                                const std::vector<std::string>& node_names) {
    const PodNameRecord shown = effective_pod_name(uid, records, node_names);
    std::vector<std::string> out;
    // Host names change with every exec that sets one and name no pod for
    // sure: only the kubelet's and the runtime's names are compared.
    for (const auto& r : records) {
        if (r.name.empty() || (r.source != PodNameSource::log_dir && r.source != PodNameSource::runtime)) continue;
        if (r.name == shown.name && r.namespace_ == shown.namespace_) continue;
        std::string line = fmt::format("{} says {}", pod_name_source_label(r.source),
                                       r.namespace_.empty() ? r.name : r.namespace_ + "/" + r.name);
        if (std::find(out.begin(), out.end(), line) == out.end()) out.push_back(std::move(line));
    }
    return out;
}

ContainerInfo container_info(const std::vector<ContainerRow>& rows) {
    ContainerInfo info;
    std::string name_from, image_from;
    // Annotations first, in the order stored; the kubelet's name only when
    // no annotation gave one.
    for (int pass = 0; pass < 2; ++pass) {
        for (const auto& r : rows) {
            if (!r.problem.empty() || container_source_is_runtime(r.source) != (pass == 0)) continue;
            if (!r.name.empty() && info.name.empty()) {
                info.name = r.name;
                name_from = r.source;
            }
            if (pass == 0 && !r.image.empty() && info.image.empty()) {
                info.image = r.image;
                image_from = r.source;
            }
            if (pass == 0 && !r.type.empty() && info.type.empty()) info.type = r.type;
        }
    }
    for (const auto& r : rows) {
        std::string note;
        if (!r.problem.empty()) {
            note = fmt::format("{} {}: {}", r.source, r.path, r.problem);
        } else if (!r.name.empty() && r.name != info.name) {
            note = fmt::format("{} names it {}, {} {}", r.source, r.name, name_from, info.name);
        } else if (container_source_is_runtime(r.source) && !r.image.empty() && r.image != info.image) {
            note = fmt::format("{} gives image {}, {} {}", r.source, r.image, image_from, info.image);
        }
        if (!note.empty() && std::find(info.notes.begin(), info.notes.end(), note) == info.notes.end())
            info.notes.push_back(std::move(note));
    }
    return info;
}

void Model::add_run(const RunRecord& run) {
    runs_.push_back(run);
    if (run.started_wall_ns) clock_.add_sample(run.boot_id, run.started_ns, run.started_wall_ns);
    // A tick of at least a nanosecond: a damaged clk_tck must not divide by 0.
    if (run.clk_tck > 0 && run.clk_tck <= 1'000'000'000) ticks_[run.boot_id] = 1'000'000'000 / run.clk_tck;
}

void Model::add_clock_sample(const std::string& boot_id, int64_t boot_ns, int64_t wall_ns) {
    clock_.add_sample(boot_id, boot_ns, wall_ns);
}

int64_t Model::ns_per_tick(const std::string& boot_id) const {
    auto it = ticks_.find(boot_id);
    return it == ticks_.end() ? 10'000'000 : it->second;
}

ProcessKey Model::key_for(const std::string& boot_id, uint32_t tgid, int64_t start_ns) const {
    return ProcessKey{boot_id, tgid, static_cast<uint64_t>(start_ns / ns_per_tick(boot_id))};
}

Process& Model::get(const ProcessKey& key, uint32_t tgid, int64_t start_ns, bool precise) {
    auto [it, inserted] = processes_.try_emplace(key);
    Process& p = it->second;
    if (inserted) {
        p.key = key;
        p.tgid = tgid;
        p.nspid = tgid;
        p.start_ns = start_ns;
        p.start_precise = precise;
    } else if (precise && !p.start_precise) {
        // The kernel's nanoseconds beat the snapshot's clock tick.
        p.start_ns = start_ns;
        p.start_precise = true;
    }
    return p;
}

void Model::add_parent_start(const ProcessKey& key, int64_t start_ns) {
    auto it = processes_.find(key);
    if (it == processes_.end() || it->second.start_precise) return;
    it->second.start_ns = start_ns;
    it->second.start_precise = true;
}

void Model::add_snapshot(const std::string& boot_id, int64_t run_id, const SnapshotRow& row, const PodRef& pod) {
    auto key = key_for(boot_id, row.tgid, static_cast<int64_t>(row.start_ns));
    Process& p = get(key, row.tgid, static_cast<int64_t>(row.start_ns), false);
    snapshot_index_[{boot_id, run_id, row.tgid}] = key;
    if (!pod.uid.empty()) p.pod_entries.push_back(PodEntry{row.time_ns, PodEntryKind::snapshot, pod, std::nullopt});
    if (p.in_snapshot) return;  // an earlier run's snapshot already has it
    p.in_snapshot = true;
    p.nspid = row.nspid ? row.nspid : row.tgid;
    // /proc's ppid may be a reaper: it never overrides a recorded fork or exec.
    if (p.parent_source == ParentSource::none) p.ppid = row.ppid;
    if (p.comm.empty()) p.comm = row.comm;
    ExecImage img;
    img.time_ns = row.time_ns;
    img.from_snapshot = true;
    img.binary = row.exe;
    img.args = Argv(row.argv);
    img.uid = row.uid;
    img.gid = row.gid;
    img.euid = row.euid;
    p.execs.push_back(std::move(img));
    snapshot_parents_.push_back({key, run_id, row.ppid});
}

void Model::add_fork(const std::string& boot_id, const ForkEvent& e) {
    auto key = key_for(boot_id, e.child.tgid, static_cast<int64_t>(e.child.start_ns));
    Process& p = get(key, e.child.tgid, static_cast<int64_t>(e.child.start_ns), true);
    p.parent = key_for(boot_id, e.parent.tgid, static_cast<int64_t>(e.parent.start_ns));
    p.ppid = e.parent.tgid;
    p.parent_comm = e.parent_comm;
    p.parent_source = ParentSource::fork;
    if (p.comm.empty()) p.comm = e.parent_comm;  // a child runs its parent's image until it execs
    p.parent_start_ns = static_cast<int64_t>(e.parent.start_ns);
}

void Model::add_exec(const std::string& boot_id, const ExecEvent& e, const PodRef& pod) {
    auto key = key_for(boot_id, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
    Process& p = get(key, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), true);
    if (!pod.uid.empty()) {
        p.pod_entries.push_back(PodEntry{static_cast<int64_t>(e.time_ns), PodEntryKind::exec, pod, std::nullopt});
    }
    p.nspid = e.nspid;
    p.comm = e.comm;
    if (p.parent_source == ParentSource::none || p.parent_source == ParentSource::snapshot) {
        p.parent = key_for(boot_id, e.parent.tgid, static_cast<int64_t>(e.parent.start_ns));
        p.ppid = e.parent.tgid;
        p.parent_comm = e.parent_comm;
        p.parent_source = ParentSource::exec;
    }
    // The same exec read from two copies of one journal is one exec.
    for (auto& seen : p.execs) {
        if (!seen.from_snapshot && seen.time_ns == static_cast<int64_t>(e.time_ns) && seen.binary == e.binary) {
            if (!seen.file) seen.file = e.file;
            return;
        }
    }
    ExecImage img;
    img.time_ns = static_cast<int64_t>(e.time_ns);
    img.binary = e.binary;
    img.args = Argv(e.argv);
    img.args_truncated = (e.truncated & kArgvTruncated) != 0;
    img.binary_truncated = (e.truncated & kBinaryTruncated) != 0;
    img.uid = e.uid;
    img.gid = e.gid;
    img.euid = e.euid;
    img.file = e.file;
    p.execs.push_back(std::move(img));
}

void Model::add_membership(const std::string& boot_id, const MembershipRow& row, const PodRef& pod) {
    auto key = key_for(boot_id, row.proc.tgid, static_cast<int64_t>(row.proc.start_ns));
    Process& p = get(key, row.proc.tgid, static_cast<int64_t>(row.proc.start_ns), true);
    // The pid inside its namespace and the comm, for a process no exec row
    // describes (a fork that never exec'd, a process moved in).
    if (row.nspid != 0 && p.nspid == p.tgid) p.nspid = row.nspid;
    if (p.comm.empty()) p.comm = row.comm;
    if (pod.uid.empty()) return;  // a move out of pods: nothing to attribute
    PodEntryKind kind = PodEntryKind::alive;
    switch (row.how) {
        case MembershipHow::fork:
            kind = PodEntryKind::fork;
            break;
        case MembershipHow::exec:
            kind = PodEntryKind::exec;
            break;
        case MembershipHow::move:
            kind = PodEntryKind::move;
            break;
        case MembershipHow::alive:
        case MembershipHow::unknown:
            kind = PodEntryKind::alive;
            break;
    }
    std::optional<ProcessKey> by;
    if (row.by.tgid != 0) by = key_for(boot_id, row.by.tgid, static_cast<int64_t>(row.by.start_ns));
    // The same row read from two copies of one journal is one entry.
    for (const auto& seen : p.pod_entries) {
        if (seen.time_ns == row.time_ns && seen.kind == kind && seen.pod.uid == pod.uid) return;
    }
    p.pod_entries.push_back(PodEntry{row.time_ns, kind, pod, by});
}

void Model::add_carried(const std::string& boot_id, const CarriedRow& row, const PodRef& pod) {
    auto key = key_for(boot_id, row.proc.tgid, static_cast<int64_t>(row.proc.start_ns));
    const bool precise = row.source != "snapshot";
    Process& p = get(key, row.proc.tgid, static_cast<int64_t>(row.proc.start_ns), precise);
    const bool has_image = std::any_of(p.execs.begin(), p.execs.end(), [&](const ExecImage& i) {
        return i.time_ns == row.time_ns || !i.from_snapshot;
    });
    const bool has_parent = p.parent_source != ParentSource::none;
    if (row.source != "fork" && !has_image) {
        p.carried_forward = true;
        ExecImage img;
        img.time_ns = row.time_ns;
        img.from_snapshot = row.source == "snapshot";
        img.binary = row.binary;
        img.args = Argv(row.argv);
        img.uid = row.uid;
        img.gid = row.gid;
        img.euid = row.euid;
        p.execs.push_back(std::move(img));
        if (row.nspid != 0) p.nspid = row.nspid;
        p.comm = row.comm;
        if (!pod.uid.empty()) {
            p.pod_entries.push_back(PodEntry{row.time_ns, PodEntryKind::alive, pod, std::nullopt});
        }
    }
    if (!has_parent) {
        p.carried_forward = true;
        if (p.comm.empty()) p.comm = row.comm;
        p.ppid = row.parent.tgid;
        if (row.parent.tgid != 0 && row.parent.start_ns != 0) {
            p.parent = key_for(boot_id, row.parent.tgid, static_cast<int64_t>(row.parent.start_ns));
            p.parent_source = row.parent_source == "fork"   ? ParentSource::fork
                              : row.parent_source == "exec" ? ParentSource::exec
                                                            : ParentSource::snapshot;
            p.parent_start_ns = static_cast<int64_t>(row.parent.start_ns);
        }
    }
}

void Model::add_exit(const std::string& boot_id, const ExitEvent& e) {
    auto key = key_for(boot_id, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
    Process& p = get(key, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), true);
    // A process that never exec'd is known by the name it had last (a
    // process may rename itself).
    if (p.comm.empty() || (p.execs.empty() && !p.in_snapshot && !e.comm.empty())) p.comm = e.comm;
    // Two journals of one boot may both hold the exit; the first one wins.
    if (!p.exit) p.exit = ExitInfo{static_cast<int64_t>(e.time_ns), e.code, e.signal, e.core_dumped};
}

void Model::add_connect(const std::string& boot_id, const ConnectEvent& e) {
    auto key = key_for(boot_id, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
    Process& p = get(key, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), true);
    for (const auto& seen : p.connects) {
        if (seen.time_ns == static_cast<int64_t>(e.time_ns) && seen.dport == e.dport && seen.daddr == e.daddr) return;
    }
    ConnectInfo c;
    c.time_ns = static_cast<int64_t>(e.time_ns);
    c.family = e.family;
    c.saddr = e.saddr;
    c.daddr = e.daddr;
    c.sport = e.sport;
    c.dport = e.dport;
    c.established = e.established;
    c.outcome_known = e.outcome_known;
    p.connects.push_back(std::move(c));
}

void Model::add_listen(const std::string& boot_id, const ListenEvent& e) {
    auto key = key_for(boot_id, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
    Process& p = get(key, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), true);
    for (const auto& seen : p.listens) {
        if (seen.time_ns == static_cast<int64_t>(e.time_ns) && seen.port == e.port && seen.addr == e.addr) return;
    }
    p.listens.push_back(ListenInfo{static_cast<int64_t>(e.time_ns), e.family, e.addr, e.port});
}

void Model::add_dns(const std::string& boot_id, const DnsEvent& e) {
    if (e.proc.tgid == 0) return;
    auto key = key_for(boot_id, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
    // The same row twice (one journal given twice) is left to pair_dns(),
    // which counts the same packet once: a look through every message here
    // would be quadratic in a resolver's millions.
    get(key, e.proc.tgid, static_cast<int64_t>(e.proc.start_ns), true).dns_messages.push_back(e);
}

void Model::add_file_hash(const FileHashRow& row) {
    // A hash that is not one (a damaged or edited journal) is shown as
    // such, never as a hash.
    const bool valid = row.sha256.size() == 64 && std::all_of(row.sha256.begin(), row.sha256.end(), [](char c) {
                           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                       });
    FileHash h = valid ? FileHash{row.sha256, ""} : FileHash{"", row.sha256.empty() ? row.problem : "malformed"};
    auto [it, added] = file_hashes_.try_emplace(row.key, h);
    if (added || !it->second.sha256.empty()) return;
    if (!h.sha256.empty() || !h.problem.empty()) it->second = std::move(h);
}

FileKey file_key(const ExecFile& f) {
    return FileKey{f.dev, f.ino, f.size, f.mtime_ns};
}

bool privileges_changed(const ExecFile& f) {
    return f.before.euid != f.after.euid || f.before.egid != f.after.egid ||
           f.before.cap_permitted != f.after.cap_permitted || f.before.cap_effective != f.after.cap_effective;
}

void Model::add_loss(const LossRecord& loss) {
    for (const auto& seen : losses_) {
        if (seen.boot_id == loss.boot_id && seen.from_ns == loss.from_ns && seen.to_ns == loss.to_ns &&
            seen.count == loss.count && seen.reason == loss.reason)
            return;
    }
    losses_.push_back(loss);
}

void Model::add_pod(const std::string& pod_uid, const PodNameRecord& name) {
    pods_[pod_uid].push_back(name);
}

std::vector<std::string> Model::named_pods() const {
    std::vector<std::string> out;
    out.reserve(pods_.size());
    for (const auto& [uid, records] : pods_) out.push_back(uid);
    return out;
}

PodNameRecord Model::pod_name(const std::string& uid) const {
    std::vector<std::string> nodes;
    for (const auto& r : runs_) nodes.push_back(r.node);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return PodNameRecord{uid, "", PodNameSource::unknown};
    return effective_pod_name(uid, it->second, nodes);
}

std::vector<std::string> Model::pod_name_notes(const std::string& uid) const {
    std::vector<std::string> nodes;
    for (const auto& r : runs_) nodes.push_back(r.node);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return {};
    return pod_name_disagreements(uid, it->second, nodes);
}

void Model::add_container(const ContainerRow& row) {
    if (row.container_id.empty()) return;
    auto& rows = containers_[row.container_id];
    auto same = [&](const ContainerRow& r) {
        return r.time_ns == row.time_ns && r.source == row.source && r.path == row.path && r.name == row.name &&
               r.image == row.image && r.problem == row.problem && r.pod_uid == row.pod_uid;
    };
    if (std::none_of(rows.begin(), rows.end(), same)) rows.push_back(row);
}

ContainerInfo Model::container(const std::string& id) const {
    auto it = containers_.find(id);
    if (it == containers_.end()) return {};
    return container_info(it->second);
}

std::vector<std::string> Model::containers() const {
    std::vector<std::string> out;
    out.reserve(containers_.size());
    for (const auto& [id, rows] : containers_) out.push_back(id);
    return out;
}

void Model::finish() {
    for (const auto& pending : snapshot_parents_) {
        auto child = processes_.find(pending.child);
        if (child == processes_.end() || child->second.parent_source != ParentSource::none) continue;
        auto parent = snapshot_index_.find({pending.child.boot_id, pending.run_id, pending.ppid});
        child->second.ppid = pending.ppid;
        if (parent != snapshot_index_.end()) {
            child->second.parent = parent->second;
            child->second.parent_source = ParentSource::snapshot;
        }
    }
    for (auto& [key, p] : processes_) {
        // A snapshot image that the kernel also saw being exec'd (the exec
        // raced the /proc read) is the same image twice: keep the kernel's.
        bool kernel_exec =
            std::any_of(p.execs.begin(), p.execs.end(), [](const ExecImage& i) { return !i.from_snapshot; });
        if (kernel_exec) {
            auto snap =
                std::find_if(p.execs.begin(), p.execs.end(), [](const ExecImage& i) { return i.from_snapshot; });
            if (snap != p.execs.end()) {
                int64_t snap_time = snap->time_ns;
                bool raced = std::any_of(p.execs.begin(), p.execs.end(), [&](const ExecImage& i) {
                    return !i.from_snapshot && i.time_ns <= snap_time;
                });
                if (raced) p.execs.erase(snap);
            }
        }
        std::stable_sort(p.execs.begin(), p.execs.end(), [](const ExecImage& a, const ExecImage& b) {
            if (a.from_snapshot != b.from_snapshot) return a.from_snapshot;  // the image before any exec seen
            return a.time_ns < b.time_ns;
        });
        std::sort(p.connects.begin(), p.connects.end(),
                  [](const ConnectInfo& a, const ConnectInfo& b) { return a.time_ns < b.time_ns; });
        std::sort(p.listens.begin(), p.listens.end(),
                  [](const ListenInfo& a, const ListenInfo& b) { return a.time_ns < b.time_ns; });
        if (!p.dns_messages.empty()) {
            p.dns = pair_dns(p.dns_messages);
            std::vector<DnsEvent>().swap(p.dns_messages);
            for (ConnectInfo& c : p.connects) c.name = name_for_address(p.dns, c.daddr, c.time_ns);
        }
        for (auto& img : p.execs) {
            if (!img.file) continue;
            auto h = file_hashes_.find(file_key(*img.file));
            if (h != file_hashes_.end()) img.hash = h->second;
        }
        std::stable_sort(p.pod_entries.begin(), p.pod_entries.end(),
                         [](const PodEntry& a, const PodEntry& b) { return a.time_ns < b.time_ns; });
        p.children.clear();
    }
    for (auto& [key, p] : processes_) {
        if (!p.parent) continue;
        auto parent = processes_.find(*p.parent);
        if (parent == processes_.end() || parent->first == key) continue;
        parent->second.children.push_back(key);
        // A fork row carries the parent's start in nanoseconds, which a
        // parent known only from the snapshot lacks.
        if (p.parent_source == ParentSource::fork && !parent->second.start_precise) {
            parent->second.start_ns = p.parent_start_ns;
            parent->second.start_precise = true;
        }
    }
    // Children by start, then PID. Each child's start is looked up once,
    // not per comparison: a process with 100,000 children (a pod's
    // liveness probe over a day) sorts them in n log n comparisons of
    // plain numbers, not hash-table look-ups.
    struct Order {
        int64_t start_ns;
        uint32_t tgid;
        uint32_t index;
    };
    std::vector<Order> order;
    std::vector<ProcessKey> sorted;
    for (auto& [key, p] : processes_) {
        if (p.children.size() < 2) continue;
        order.clear();
        for (uint32_t i = 0; i < p.children.size(); ++i) {
            const ProcessKey& c = p.children[i];
            order.push_back(Order{processes_.find(c)->second.start_ns, c.tgid, i});
        }
        std::sort(order.begin(), order.end(), [](const Order& a, const Order& b) {
            if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
            return a.tgid < b.tgid;
        });
        sorted.clear();
        sorted.reserve(order.size());
        for (const Order& o : order) sorted.push_back(std::move(p.children[o.index]));
        p.children.swap(sorted);
    }
}

const Process* Model::find(const ProcessKey& key) const {
    auto it = processes_.find(key);
    return it == processes_.end() ? nullptr : &it->second;
}

int64_t run_end_ns(const RunRecord& run) {
    int64_t end = std::max(run.last_batch_ns, run.started_ns);
    if (run.stopped_ns) end = std::max(end, *run.stopped_ns);
    return end;
}

int64_t Model::journal_end_ns(const std::string& boot_id) const {
    int64_t end = 0;
    for (const auto& r : runs_) {
        if (r.boot_id == boot_id) end = std::max(end, run_end_ns(r));
    }
    return end;
}

}  // namespace lineage
