#pragma once
// The processes a set of journals describes, with identities resolved:
// what reconstruct builds its trees from. Kernel-free and SQLite-free, so
// tests build models from synthetic rows.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "argv.h"
#include "boxed.h"
#include "clock_map.h"
#include "dns_lookup.h"
#include "event.h"
#include "symbol.h"

namespace lineage {

// (boot id, tgid, start tick): the identity of a process. Start times are
// compared at clock-tick precision because /proc gives no more, and a
// process first seen in a snapshot must be the same one the kernel later
// reports with nanoseconds.
struct ProcessKey {
    Symbol boot_id;  // interned: every process of a boot shares one copy
    uint32_t tgid = 0;
    uint64_t start_tick = 0;

    std::string str() const;  // "boot_id:tgid:start_tick", the JSON "key"
    bool operator==(const ProcessKey&) const = default;
    auto operator<=>(const ProcessKey&) const = default;
};

struct ProcessKeyHash {
    size_t operator()(const ProcessKey& k) const;
};

// What the journals say of an executed file's content (file_hashes rows,
// schema version 8): its SHA-256, or why the recorder has none.
struct FileHash {
    std::string sha256;   // 64 lower-case hex digits; "" when unavailable
    std::string problem;  // "" when hashed; else 'gone', 'too_large', ... (schema/journal.sql)
};

// One image of a process: an exec the kernel saw, or what /proc showed
// for a process that was already running when recording started.
struct ExecImage {
    int64_t time_ns = 0;  // boot ns; for a snapshot image, when /proc was read
    bool from_snapshot = false;
    std::string binary;
    Argv args;
    bool args_truncated = false;
    bool binary_truncated = false;
    uint32_t uid = 0, gid = 0, euid = 0;
    // The file the kernel really ran (exec_files, schema version 8): none
    // for an exec of an older journal, an import or a snapshot image.
    Boxed<ExecFile> file;
    // Its content's hash (Model::finish(), from the file_hashes rows of its
    // FileKey); none when no row names the file.
    Boxed<FileHash> hash;
};

// The file's identity for hashing.
FileKey file_key(const ExecFile& f);
// Whether an exec changed the effective uid, gid or capabilities (a setuid
// or setgid file, file capabilities): before != after on euid, egid,
// cap_permitted or cap_effective.
bool privileges_changed(const ExecFile& f);

struct ExitInfo {
    int64_t time_ns = 0;
    int code = 0;
    int signal = 0;
    bool core_dumped = false;
};

struct ConnectInfo {
    int64_t time_ns = 0;
    int family = 4;
    std::string saddr, daddr;
    uint16_t sport = 0, dport = 0;
    bool established = false;
    bool outcome_known = true;  // false: the source did not say (an imported SYN)
    // The name the process resolved to daddr before it connected
    // (name_for_address, Model::finish()); "" when none of its lookups did.
    std::string name;
};

// A TCP socket the process put in LISTEN (listens, schema version 8).
struct ListenInfo {
    int64_t time_ns = 0;
    int family = 4;
    std::string addr;
    uint16_t port = 0;
};

// How the parent of a process is known, best first.
enum class ParentSource {
    fork,      // a fork row: the process that really forked it
    exec,      // real_parent at exec (the fork was not recorded)
    snapshot,  // ppid in /proc when recording started (may be a reaper)
    none,
};

const char* parent_source_name(ParentSource s);

// A pod's cgroup a process was in, as a row of the journal says.
struct PodRef {
    Symbol uid;           // "" outside pods; interned, as ProcessKey::boot_id
    Symbol container_id;  // "" when the cgroup names none (or is not known)
};

// What put a process in a pod's cgroup (JSON "entered").
enum class PodEntryKind {
    exec,      // it exec'd there: all an exec row says
    fork,      // created there (a memberships row)
    move,      // moved there after it started (a memberships row)
    snapshot,  // there when recording started (/proc)
    alive,     // the recorder's restatement that it was still there (the row that said how was pruned)
};

// "exec", "fork", "move", "snapshot", "alive".
const char* pod_entry_name(PodEntryKind kind);

struct PodEntry {
    int64_t time_ns = 0;  // boot ns; a snapshot's is when /proc was read
    PodEntryKind kind = PodEntryKind::exec;
    PodRef pod;
    std::optional<ProcessKey> by;  // fork: the forker; move: the mover
};

struct Process {
    ProcessKey key;
    uint32_t tgid = 0;
    uint32_t nspid = 0;
    int64_t start_ns = 0;        // boot ns, nanosecond precision when the kernel gave it
    bool start_precise = false;  // false: only the snapshot's clock tick is known
    std::optional<ProcessKey> parent;
    uint32_t ppid = 0;
    int64_t parent_start_ns = 0;  // the parent's start as the fork row gave it
    std::string parent_comm;      // from the fork or exec row, even if the parent is unknown
    ParentSource parent_source = ParentSource::none;
    std::string comm;
    std::vector<ExecImage> execs;  // in time order
    std::optional<ExitInfo> exit;
    std::vector<ConnectInfo> connects;
    std::vector<ListenInfo> listens;  // in time order
    // Its DNS messages as loaded (dns rows, schema version 10), then by
    // Model::finish() its lookups, in time order (the messages are let go).
    std::vector<DnsEvent> dns_messages;
    std::vector<DnsLookup> dns;
    bool in_snapshot = false;
    // Known only from a carried row: retention deleted the rows that said
    // how it started, while it still ran (schema/journal.sql, carried).
    bool carried_forward = false;
    // Every row that puts it in a pod's cgroup, in time order (Model::finish()).
    std::vector<PodEntry> pod_entries;
    std::vector<ProcessKey> children;  // filled by Model::finish()
};

// The first row that puts the process in pod `uid`, or in any pod when uid
// is empty; nullptr when none does. An 'alive' row counts only when no
// other does.
const PodEntry* first_pod_entry(const Process& p, std::string_view uid = {});

// What a run that `lineage import` wrote says of its source (runs.filters,
// lib/journal/provenance.h): the run is a faithful copy of someone else's
// record, not lineage's own kernel record.
struct ImportProvenance {
    std::string format;    // "tetragon", "bpftrace" or "lineage"
    std::string file;      // the imported file, as named to `lineage import`
    std::string sha256;    // of the whole file, 64 hex digits
    std::string importer;  // "lineage 0.1.0"
    std::string source;    // what of the file the run holds (a node, a journal's run)
    std::string note;      // what the format cannot tell; empty when nothing
};

struct RunRecord {
    std::string journal;  // path given by the user
    int64_t run_id = 0;
    std::string boot_id;
    std::string node;
    int64_t started_ns = 0;
    int64_t started_wall_ns = 0;  // 0: not known (then not a clock sample)
    std::optional<int64_t> stopped_ns;
    std::string stop_reason;
    int64_t last_batch_ns = 0;  // latest committed batch: the run's end if it was killed
    int64_t clk_tck = 100;
    std::string hooks;
    std::string filters;
    std::optional<ImportProvenance> imported;  // a run `lineage import` wrote
};

// Boot ns of the last moment a run recorded: its stop, or its last committed
// batch when that is later (or the run was killed), and never before its
// start (a run whose batches retention deleted ended, as far as anyone can
// tell, where it started).
int64_t run_end_ns(const RunRecord& run);

struct LossRecord {
    std::string journal;
    std::string boot_id;
    int64_t from_ns = 0, to_ns = 0;
    int64_t count = 0;
    std::string reason;
};

// Retention deleted a journal's oldest batches (table prunes, the newest).
struct PruneRecord {
    std::string journal;
    int64_t through_wall_ns = 0;  // everything committed up to then is gone
    int64_t rows = 0;             // event rows deleted, all prunes
    std::string reason;
};

struct PodNameRecord {
    std::string name;
    std::string namespace_;
    PodNameSource source = PodNameSource::unknown;
};

// The one rule for a pod's name, for the tree's header and --pod alike
// (pod_selector_matches): the name from the kubelet's log directory (the
// first one stored); else the container runtime's annotations (the first
// stored); else the latest host name stored, unless it is the name of a
// node that recorded (a pod in the node's UTS namespace, or a recorder
// before schema version 3 that took the node's name); else the UID, with
// no namespace.
PodNameRecord effective_pod_name(const std::string& uid, const std::vector<PodNameRecord>& records,
                                 const std::vector<std::string>& node_names);

// "kubelet", "runtime", "uts" or "uid": which source named a pod (the JSON
// pod object's name_source).
const char* pod_name_source_label(PodNameSource s);

// Every name the pod's rows give that differs from the one shown (a
// runtime's annotation that a log directory overrides, ...), as one line
// each: "runtime says NS/NAME". Empty when they agree.
std::vector<std::string> pod_name_disagreements(const std::string& uid, const std::vector<PodNameRecord>& records,
                                                const std::vector<std::string>& node_names);

// A container as the journals name it (containers rows, schema version 7):
// its name from the runtime's annotations (the bundle's config.json or the
// runtime's copy of it), else from the kubelet's /var/log/containers; its
// image from the annotations alone. Every string is the file's bytes.
struct ContainerInfo {
    std::string name;
    std::string image;
    std::string type;  // "container", "sandbox", another value as written, or ""
    // What a reader should hear about: a file that could not be read
    // ("bundle /run/x/config.json: larger than 1 MiB"), and a name or image
    // that another source gives differently.
    std::vector<std::string> notes;
};
ContainerInfo container_info(const std::vector<ContainerRow>& rows);

class Model {
public:
    // Loading, in any order; finish() resolves parents and children.
    void add_run(const RunRecord& run);
    void add_clock_sample(const std::string& boot_id, int64_t boot_ns, int64_t wall_ns);
    // `pod` is the row's pod, as the journal (or its cgroup path) says.
    void add_snapshot(const std::string& boot_id, int64_t run_id, const SnapshotRow& row, const PodRef& pod = {});
    void add_fork(const std::string& boot_id, const ForkEvent& e);
    // A process's start in nanoseconds, from a fork row that names it as
    // the parent: what finish() takes from a loaded child, for a loader
    // that did not load the children (a snapshot process's start is only
    // in clock ticks). Nothing when the process is unknown or precise.
    void add_parent_start(const ProcessKey& key, int64_t start_ns);
    void add_exec(const std::string& boot_id, const ExecEvent& e, const PodRef& pod = {});
    // A memberships row; `pod` is its pod, with the container of its
    // cgroup's row (empty when that row is missing).
    void add_membership(const std::string& boot_id, const MembershipRow& row, const PodRef& pod);
    void add_exit(const std::string& boot_id, const ExitEvent& e);
    // A carried row: the process's image and parent as a row that retention
    // deleted said. Load it after the process's other rows: it counts only
    // when they do not say as much (a copy of the journal from before the
    // prune), and only then marks the process carried_forward.
    void add_carried(const std::string& boot_id, const CarriedRow& row, const PodRef& pod = {});
    void add_connect(const std::string& boot_id, const ConnectEvent& e);
    void add_listen(const std::string& boot_id, const ListenEvent& e);
    // A dns row of a known process (one whose tgid is 0 names none).
    void add_dns(const std::string& boot_id, const DnsEvent& e);
    // A file_hashes row: a hash beats a problem; of problems, the one added
    // last counts (the loader adds a journal's rows in the order written).
    void add_file_hash(const FileHashRow& row);
    void add_loss(const LossRecord& loss);
    void add_prune(const PruneRecord& prune) { prunes_.push_back(prune); }
    // In the order the journal stored them: the latest host name counts.
    void add_pod(const std::string& pod_uid, const PodNameRecord& name);
    void finish();

    ProcessKey key_for(const std::string& boot_id, uint32_t tgid, int64_t start_ns) const;
    // Nanoseconds per /proc clock tick of a boot: the precision of identity.
    int64_t tick_ns(const std::string& boot_id) const { return ns_per_tick(boot_id); }
    const Process* find(const ProcessKey& key) const;
    const std::unordered_map<ProcessKey, Process, ProcessKeyHash>& processes() const { return processes_; }
    const std::vector<RunRecord>& runs() const { return runs_; }
    const std::vector<LossRecord>& losses() const { return losses_; }
    const std::vector<PruneRecord>& prunes() const { return prunes_; }
    // Every pod with a stored name, and the name it is shown by
    // (effective_pod_name); a pod with none is its UID.
    std::vector<std::string> named_pods() const;
    PodNameRecord pod_name(const std::string& uid) const;
    std::vector<std::string> pod_name_notes(const std::string& uid) const;
    // A containers row (an identical row from another journal is kept once).
    void add_container(const ContainerRow& row);
    // What the loaded containers rows say of container `id` (all empty when
    // none was loaded). Rows are loaded for the containers of the answer.
    ContainerInfo container(const std::string& id) const;
    // Every container id with a loaded row.
    std::vector<std::string> containers() const;

    // Boot-time ns of a boot to wall-clock ns, and back: ClockMap's rule,
    // over the journals' clock samples and run starts.
    int64_t to_wall(const std::string& boot_id, int64_t boot_ns) const { return clock_.to_wall(boot_id, boot_ns); }
    int64_t to_boot(const std::string& boot_id, int64_t wall_ns) const { return clock_.to_boot(boot_id, wall_ns); }
    // Last moment the journals saw of a boot: a process without an exit
    // was still running then.
    int64_t journal_end_ns(const std::string& boot_id) const;

private:
    Process& get(const ProcessKey& key, uint32_t tgid, int64_t start_ns, bool precise);
    int64_t ns_per_tick(const std::string& boot_id) const;

    std::unordered_map<ProcessKey, Process, ProcessKeyHash> processes_;
    std::vector<RunRecord> runs_;
    std::vector<LossRecord> losses_;
    std::vector<PruneRecord> prunes_;
    std::map<std::string, std::vector<PodNameRecord>> pods_;
    std::map<std::string, std::vector<ContainerRow>> containers_;  // by container id
    std::map<FileKey, FileHash> file_hashes_;
    ClockMap clock_;
    std::map<std::string, int64_t> ticks_;  // boot -> ns per tick
    // Snapshot parents are resolved by ppid within the same snapshot.
    struct PendingSnapshotParent {
        ProcessKey child;
        int64_t run_id;
        uint32_t ppid;
    };
    std::vector<PendingSnapshotParent> snapshot_parents_;
    std::map<std::tuple<std::string, int64_t, uint32_t>, ProcessKey> snapshot_index_;  // (boot, run, tgid)
};

}  // namespace lineage
