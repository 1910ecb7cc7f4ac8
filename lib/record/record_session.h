#pragma once
// One run of `lineage record`, kernel-free: the cgroup filter, the event
// source (the probe, which cli starts), the journal and the run's first
// batch (its runs row and the /proc snapshot), then batches, retention and
// anchors until asked to stop, and the run's end. cli/record.cpp parses and
// validates the options and owns the signals; tests run sessions over
// synthetic sources.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroupfs.h"
#include "event.h"
#include "event_source.h"
#include "journal_writer.h"
#include "pod.h"
#include "procfs.h"
#include "recorder.h"
#include "result.h"
#include "retention.h"

namespace lineage {

// The options of `lineage record`, parsed and checked.
struct RecordOptions {
    std::string journal;
    uint32_t argv_cap = 4096;  // for the runs row; the source applies it
    uint64_t ring_bytes = 0;   // for the heartbeat; the source applies it
    int64_t batch_interval_ns = 100'000'000;
    size_t batch_rows = 16384;
    std::vector<std::string> cgroups;  // --cgroup, as given
    bool kube_only = false;
    std::string kube_root = "/";
    bool verbose = false;
    std::string anchor_log;          // empty: anchors go to stderr
    int64_t anchor_interval_ns = 0;  // 0: only at start and stop
    int64_t duration_ns = 0;         // 0: until asked to stop
    RetentionOptions retention;
    std::string max_size;  // --max-size as given, for its message
    // Where the processes running at start are read from, and the files
    // of execs hashed through (/proc/PID/exe).
    std::string proc_root = "/proc";
    // --hash-exec and its bounds (exe_hasher.h): the SHA-256 of executed
    // files. Recorded in the runs row's filters as "hash_exec".
    bool hash_exec = true;
    uint64_t hash_max_bytes = 256ull << 20;
    double hash_rate = 100;                 // files per second
    uint64_t hash_byte_rate = 64ull << 20;  // bytes per second
    // --dns: DNS messages and the process of each (dns rows), through
    // packet hooks on the cgroup2 root. The runs row's hooks say whether
    // they were attached.
    bool dns = true;
};

// What the runs row's filters say of --hash-exec: false, or its bounds.
std::string hash_exec_filters(const RecordOptions& options, const std::string& filters_json);

// What --cgroup and --kube-only come to.
struct CgroupFilter {
    bool enabled = false;       // record only what is in the cgroups below
    std::vector<uint64_t> ids;  // for the probe
    // The same cgroups as /proc/PID/cgroup names them, below the mount:
    // which processes of the snapshot are kept.
    std::vector<std::string> subtrees;
    std::string filters_json = "{}";  // for the runs row
};

// What the probes are told about cgroups: the filter, and the cgroup v1
// hierarchy they follow besides cgroup v2 (none on a v2-only node).
struct ProbeCgroups {
    CgroupFilter filter;
    std::optional<Cgroup1Hierarchy> cgroup1;
    // Where the DNS hooks attach: the cgroup2 mount, "" when there is none
    // or --dns is off.
    std::string dns_cgroup2_mount;
};

// `cgroups` are paths below the cgroup2 mount or filesystem paths under it;
// kube_only adds the kubepods cgroups found under it. `mount` is the
// cgroup2 mount point, "" when none is mounted. Without cgroups and
// kube_only there is no filter, and mount is not looked at.
Result<CgroupFilter> resolve_cgroup_filter(const std::vector<std::string>& cgroups, bool kube_only,
                                           const std::string& mount);

// Whether a cgroup path is in one of the subtrees ("/a" covers "/a/b").
bool in_subtrees(const std::string& cgroup_path, const std::vector<std::string>& subtrees);

// A process found in /proc as a snapshot row (without its nodename, which
// needs its UTS namespace).
SnapshotRow snapshot_row(const SnapshotProcess& process, int64_t taken_ns, int64_t ns_per_tick);

// Processes running before the probes: without them trees start in mid-air.
// With a filter, only those the probes would record too. Kernel threads are
// left out. The recorder writes them and names the pods they are in.
// Returns how many rows were added.
Result<size_t> write_snapshot(Recorder& recorder, const std::string& proc_root, const CgroupFilter& filter,
                              int64_t ns_per_tick, const std::string& cgroup_root = "/");

// A pod's name from the kubelet's log directory, with its namespace; the
// recorder falls back on a host name read in the pod's own UTS namespace.
std::optional<PodName> name_pod(PodResolver& pods, const std::string& pod_uid);

// Starts the event source, filtered by `cgroups.filter` and following
// `cgroups.cgroup1`, handing every record to `sink`.
using SourceStarter = std::function<Result<std::unique_ptr<EventSource>>(const ProbeCgroups& cgroups, RecordSink sink)>;

// The command line's part of a session.
struct RecordHooks {
    // Called before the journal is opened: a source that cannot start (not
    // root, no BTF) must not leave a new, empty journal behind.
    SourceStarter start_source;
    // Called once the run is in the journal. From then on a stop signal
    // asks for a clean stop; before, there is no run to close.
    std::function<void()> catch_stop_signals;
    // Asked at every wakeup of the loop; a signal ends the source's wait.
    std::function<bool()> stop_requested;
    // One line for the operator, complete with its "lineage: ".
    std::function<void(const std::string& line)> say;
};

// The journal a run records to when `journal`'s schema is not lineage's
// (JournalWriter::open refuses it with kSchemaNotLineages): the file beside
// it numbered n, from 2, before its extension: /var/lib/lineage/journal.db
// gives journal.2.db, journal.3.db, ...; a name without an extension gets
// ".n". The first of them that is new, or a journal lineage may append to,
// is used; up to kMaxJournalsBeside.
std::string journal_beside(const std::string& journal, int n);
inline constexpr int kMaxJournalsBeside = 99;

// Runs a recording to its end. Returns 0 after a clean stop, 1 after a stop
// while the journal could not be written (events were not stored; said
// through hooks.say), or an Error for everything that is exit status 2 (bad
// filter, a source or journal that cannot be opened, a journal another
// recorder holds, a journal error).
//
// The journal's lock (journal_lock.h) is taken before anything is written
// and held to the end; a journal that exists is asked first, before the
// source starts, so a second recorder stops at once. While it records, the
// session keeps the journal's heartbeat (heartbeat.h) up to date.
Result<int> run_record_session(const RecordOptions& options, const RecordHooks& hooks);

}  // namespace lineage
