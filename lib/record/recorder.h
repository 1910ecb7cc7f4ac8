#pragma once
// The recorder's bookkeeping, kernel-free: decoded records go into the
// journal in batches, ring-buffer drops become loss rows. A record session
// (record_session.h) feeds it from the probe; tests and benchmarks feed it
// synthetic records.
//
// When the journal cannot be written (disk full, an I/O error), the batch
// being written is rolled back and the recorder keeps going without it: the
// probe is still drained, every event that arrives is counted, and once a
// retry commits again the uncounted time becomes a loss row ('journal_write')
// beside the loss rows that waited. Nothing half-written is ever committed,
// and the hash chain goes on from the last batch that was.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "exe_hasher.h"
#include "journal_writer.h"
#include "pod.h"
#include "result.h"

namespace lineage {

struct RecorderOptions {
    int64_t batch_interval_ns = 100'000'000;  // commit at least every 100 ms
    // Or when this many rows wait. Only large bursts reach it before the
    // interval. Not lower: every commit writes each index leaf the batch
    // touched to the WAL again, so smaller batches cost more CPU per event
    // (bench_ingest; bench/results).
    size_t batch_max_rows = 16384;
    // While the journal cannot be written (disk full, I/O errors), how often
    // to try again.
    int64_t retry_interval_ns = 1'000'000'000;
    // The recorder's own UTS namespace and the node's host name: a host
    // name read in that namespace, or equal to the node's, is the node's
    // and never names a pod. 0: not known (then no host name names a pod).
    uint32_t host_uts_ns = 0;
    std::string host_node;
    // The cgroup v1 hierarchy the probes follow (0: none): fork and exec
    // records name their cgroups there by id.
    uint32_t cgroup1_hierarchy = 0;
    // A pod's 'alive' rows (every process still in it) are written once it
    // has had this many membership rows since the last ones, or as many as
    // it has processes, whichever is more: a query for a window then reads
    // at most about that many of the pod's rows before the window.
    size_t alive_every_rows = 256;
    // Nanoseconds per /proc clock tick: a process of the snapshot is known
    // by its start tick, the same process's exec by its nanoseconds.
    int64_t ns_per_tick = 10'000'000;
    // Bounds on what the recorder keeps of what it has seen (man
    // lineage-record(1), LIMITS). Cgroups it has met, least recently used
    // going first: more than the probes' own map of reported cgroups holds
    // (16,384, bpf/lineage.bpf.c), so that the probes forget a cgroup (and
    // send it again when it is used) before the recorder does.
    size_t max_cgroups = 65'536;
    // Pods whose name this run wrote, least recently met going first: a pod
    // met again after is named again (one more pods row, the same name).
    size_t max_pod_names = 16'384;
    // Processes in pods tracked for the 'alive' rows; past it the run
    // writes no more of them.
    size_t max_members = 1 << 20;
    // Processes seen to start and not seen to end (retention carries them
    // forward); past it, new ones are not tracked.
    size_t max_live = 1 << 20;
};

struct RecorderStats {
    uint64_t stored = 0;         // events inserted (fork, exec, exit, connect)
    uint64_t lost = 0;           // events counted as lost, all reasons
    uint64_t decode_errors = 0;  // records that did not decode
    // Of the lost: dropped by a full ring buffer, and not stored because the
    // journal could not be written; counted as they happen (`lost` counts
    // undecodable records at the commit that writes their loss row).
    uint64_t ringbuf_full = 0;
    uint64_t journal_write = 0;
    uint64_t map_full = 0;  // not tracked: a map of the probes was full
};

// Names a pod from its UID at record time: the kubelet's log directory.
struct PodName {
    std::string name;
    std::string namespace_;
    PodNameSource source = PodNameSource::unknown;
};
using PodNamer = std::function<std::optional<PodName>(const std::string& pod_uid)>;
// What the node's files say about containers (lib/host/container_meta.h),
// read by the record session under --kube-root; tests give their own. Each
// row's time_ns is the recorder's to set.
struct ContainerSources {
    // An exec of a container runtime (its binary's or argv[0]'s base name
    // is runc, crun or runsc): the rows of the bundle's config.json when it
    // creates a container, nothing otherwise.
    std::function<std::vector<ContainerRow>(const ExecEvent&)> bundle;
    // A container first met in a cgroup (or in /proc at start): what the
    // runtime's state and the kubelet's files say of it. `annotated`: a
    // bundle of this run already gave its annotations, so only the
    // kubelet's files are worth reading.
    std::function<std::vector<ContainerRow>(const std::string& container_id, bool annotated)> lookup;
};

// Where the recorder tells its operator about the journal (one line each,
// without "lineage: " and without a newline).
using Notifier = std::function<void(const std::string& line)>;

// A loss row not committed yet.
struct PendingLoss {
    int64_t from_ns = 0, to_ns = 0;
    int64_t count = 0;
    std::string reason;
};

class Recorder {
public:
    Recorder(JournalWriter& writer, RecorderOptions options, PodNamer pod_namer = nullptr, Notifier notify = nullptr);

    // One ring-buffer record. Errors only for journal failures that are not
    // the storage's (those are handled as above).
    //
    // What puts a process in a pod: its exec, its fork (the cgroups it is
    // created in) or a move, whichever comes first; each writes a
    // memberships row (moves always, forks and execs in a pod's cgroup),
    // with a cgroups row for its cgroup the first time the run names it.
    // A pod is named the first time it is met: from the kubelet's log
    // directory, else from a host name read in a UTS namespace that is not
    // the node's; a later exec with another such host name names it again
    // (the latest counts), until the log directory appears.
    Status on_record(const void* data, size_t size, int64_t now_ns);
    // The same for a record already decoded.
    Status on_event(const Event& event, int64_t now_ns);
    // A process of the /proc snapshot at start, and its UTS namespace's
    // inode (0 when unknown). Errors are the journal's, all of them: the
    // run's first batch must go in whole. After the last one,
    // end_snapshot() names the pods the snapshot met (from the process in
    // each that started last, for a host name).
    Status add_snapshot(const SnapshotRow& row, uint32_t uts_ns);
    Status end_snapshot();
    // Where containers rows come from (none by default).
    void set_container_sources(ContainerSources sources) { container_sources_ = std::move(sources); }
    size_t containers_met() const { return containers_met_.size(); }
    // Hashes executed files (exe_hasher.h; none by default): an exec with a
    // file hands it over, and its rows, and those of the worker's results
    // (taken at every maybe_commit and commit), go into the open batch.
    void set_exe_hasher(std::unique_ptr<ExeHasher> hasher) { hasher_ = std::move(hasher); }
    const ExeHasher* exe_hasher() const { return hasher_.get(); }
    // At stop, before the last commit: lets the hasher's worker finish its
    // queue for at most `timeout_ns`, then stops it. What it had not
    // finished gets no row. Returns how many files it gave up.
    size_t finish_hashing(int64_t timeout_ns);
    // Call after draining the ring. Commits when batch_max_rows wait, or
    // when batch_interval_ns has passed since the previous commit (or since
    // a call that found nothing to commit): events wait at most about one
    // interval, in the ring or in the open batch. While the journal cannot
    // be written, retries every retry_interval_ns instead.
    Status maybe_commit(int64_t now_ns);
    // When maybe_commit() will next have something to do, if no more rows
    // arrive: the caller sleeps on the ring until then. Waking the reader
    // less often is what keeps the recorder cheap (bench/README.md).
    int64_t next_commit_ns(int64_t now_ns) const;
    // Commits now (and retries now, while the journal cannot be written).
    // At stop: an Error if the journal still cannot be written, naming
    // the events that were not stored.
    Status commit(int64_t now_ns);
    // Kernel drop counter (cumulative); a rise becomes a loss row covering
    // the time since the previous reading.
    Status note_drops(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns);
    // The same for the probes' count of events a full map made them miss
    // (loss rows 'map_full').
    Status note_map_full(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns);

    // Boot-time to wall-clock sample. Stored only when the offset moved by
    // more than a millisecond (a clock step, a resume) or an hour passed:
    // the offset is otherwise constant, and a year of one-minute samples
    // would make every query read half a million rows.
    Status note_clock(int64_t boot_ns, int64_t wall_ns);

    // The processes this run saw start (snapshot, fork, exec) and not yet
    // exit: retention writes their identity again before it deletes it
    // (JournalWriter::prune_through). Valid while the recorder lives.
    LiveProcesses live_processes() const;
    size_t live_count() const { return live_.size(); }
    // Drops the processes of the live set that `running` (tgid, start tick)
    // says are gone: their exits were lost (a full ring buffer, a journal
    // that could not be written). Returns how many it dropped.
    size_t drop_exited(const std::function<bool(uint32_t tgid, uint64_t start_tick)>& running);
    // Sizes of what the recorder keeps, for the bounds' tests.
    size_t cgroups_known() const { return cgroups_.size(); }
    size_t pods_named() const { return names_.size(); }
    size_t pods_tracked() const { return pods_.size(); }

    const RecorderStats& stats() const { return stats_; }
    // True while the journal cannot be written.
    bool storage_down() const { return down_; }
    // Events counted while it could not, not yet in a loss row, the time
    // they span, and the error that started it.
    uint64_t unstored() const { return unstored_; }
    int64_t unstored_span_ns() const { return unstored_ ? unstored_to_ns_ - unstored_from_ns_ : 0; }
    const std::string& storage_error() const { return down_error_; }

private:
    struct CgroupKey {
        uint32_t hierarchy = 0;
        uint64_t id = 0;
        bool operator==(const CgroupKey&) const = default;
    };
    struct CgroupKeyHash {
        size_t operator()(const CgroupKey& k) const { return std::hash<uint64_t>()(k.id * 31 + k.hierarchy); }
    };
    struct CgroupInfo {
        std::string path;
        std::string pod_uid;
        std::string container_id;
        bool written = false;                // its cgroups row is in the journal (or the open batch)
        std::list<CgroupKey>::iterator use;  // its place in cgroup_use_
    };
    struct ProcKey {
        uint32_t tgid = 0;
        uint64_t start_ns = 0;
        bool operator==(const ProcKey&) const = default;
    };
    struct ProcKeyHash {
        size_t operator()(const ProcKey& k) const {
            return std::hash<uint64_t>()(k.start_ns ^ (uint64_t{k.tgid} << 44));
        }
    };
    // A process in a pod's cgroup, as far as this run has seen.
    struct Member {
        std::string pod_uid;
        CgroupKey cgroup;
        uint32_t nspid = 0;
        std::string comm;
    };
    struct PodState {
        std::unordered_set<ProcKey, ProcKeyHash> members;
        size_t rows_since_alive = 0;
    };
    // What this run wrote of a pod's name.
    struct PodNaming {
        bool log_dir = false;
        std::string runtime;  // the name the runtime's annotations gave ("NS/NAME")
        std::string hostname;
    };
    struct PodNamingEntry {
        PodNaming naming;
        std::list<std::string>::iterator use;  // its place in name_use_
    };

    Status write_event(const Event& event);
    Status on_fork(const ForkEvent& e);
    Status on_exec(const ExecEvent& e);
    Status on_move(const MoveEvent& e);
    void learn_cgroup(uint32_t hierarchy, uint64_t id, const std::string& path);
    // The cgroup, now its most recently used; nullptr when not known.
    const CgroupInfo* cgroup(const CgroupKey& key);
    // The pod's naming, created when new (the least recently met pushed out
    // past max_pod_names), now its most recently met.
    PodNaming& naming(const std::string& uid);
    // Writes the cgroups row of `key` if this run has not yet.
    Status ensure_cgroup_row(const CgroupKey& key, int64_t time_ns);
    // A memberships row, its cgroup's row first; then the pod's 'alive'
    // rows when due.
    Status add_membership(const MembershipRow& row);
    Status write_alive(const std::string& pod_uid, int64_t time_ns);
    void track(const ProcKey& key, Member member);
    // The live set, keyed by start tick.
    void note_alive(uint32_t tgid, uint64_t start_ns);
    void note_gone(uint32_t tgid, uint64_t start_ns);
    void forget(const ProcKey& key);
    // The host name an exec or a /proc entry saw, when it can name a pod.
    std::string pod_hostname(const std::string& nodename, uint32_t uts_ns) const;
    Status name_pod(const std::string& pod_uid, const std::string& hostname);
    Status add_pod_row(const std::string& pod_uid, const std::string& name, const std::string& ns,
                       PodNameSource source);
    Status add_loss(PendingLoss loss);
    // file_hashes rows, in the open batch.
    Status add_file_hashes(const std::vector<FileHashRow>& rows);
    // The hasher's results since the last call, as rows.
    Status take_hashes(int64_t now_ns);
    // The containers rows of a runtime's exec, when it is one.
    Status on_runtime_exec(const ExecEvent& e);
    // A container this run has not looked up: its rows (ContainerSources::lookup).
    Status meet_container(const std::string& container_id, int64_t time_ns);
    Status add_container_row(ContainerRow row, int64_t time_ns);
    // A write failed: an error to stop on, or the storage's, to ride out.
    Status on_write_error(const Error& error, int64_t now_ns);
    void count_unstored(uint64_t n, int64_t from_ns, int64_t to_ns);
    Status try_recover(int64_t now_ns);
    void notify(const std::string& line) const {
        if (notify_) notify_(line);
    }

    ContainerSources container_sources_;
    std::unique_ptr<ExeHasher> hasher_;
    int64_t now_ns_ = 0;  // of the record at hand: the hasher's clock
    // Containers looked up (or annotated by a bundle) by this run; cleared
    // past kMaxContainersMet, when a container met again costs one more
    // look-up. Those of the open batch, taken back if it rolls back.
    static constexpr size_t kMaxContainersMet = 65'536;
    std::unordered_map<std::string, bool> containers_met_;  // id -> annotated by a bundle
    std::vector<std::string> batch_containers_;
    JournalWriter& writer_;
    RecorderOptions options_;
    PodNamer pod_namer_;
    RecorderStats stats_;
    int64_t interval_start_ns_ = -1;  // see maybe_commit()
    uint64_t drops_seen_ = 0;
    int64_t drops_checked_ns_ = 0;
    uint64_t map_full_seen_ = 0;
    int64_t map_full_checked_ns_ = 0;
    // A rise of a kernel counter (note_drops, note_map_full) as a loss row.
    Status note_kernel_loss(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns, uint64_t& seen,
                            int64_t& checked_ns, uint64_t& stat, const char* reason);
    int64_t decode_loss_from_ns_ = -1;
    uint64_t decode_loss_pending_ = 0;
    PodUidCache pod_uids_;  // the one pod UID per exec, for its row and its pod's name
    std::unordered_map<CgroupKey, CgroupInfo, CgroupKeyHash> cgroups_;
    std::list<CgroupKey> cgroup_use_;  // least recently used first
    std::unordered_map<ProcKey, Member, ProcKeyHash> members_;
    std::unordered_map<std::string, PodState> pods_;
    std::unordered_map<std::string, PodNamingEntry> names_;
    std::list<std::string> name_use_;  // least recently met first
    // Processes in pods are tracked for the 'alive' rows. A run that loses
    // exits keeps some that are gone; past max_members, it gives the rows up.
    bool alive_given_up_ = false;
    bool live_full_said_ = false;
    // Processes started and not exited, as (tgid, start tick).
    std::unordered_set<ProcKey, ProcKeyHash> live_;
    // The snapshot's host name per pod: (start of the process, name).
    std::unordered_map<std::string, std::pair<uint64_t, std::string>> snapshot_hostnames_;
    int64_t clock_boot_ns_ = -1;  // last stored sample
    int64_t clock_offset_ns_ = 0;
    Notifier notify_;

    // The open batch, as far as a rollback must undo it.
    uint64_t batch_events_ = 0;
    int64_t batch_first_event_ns_ = -1;
    std::vector<std::pair<std::string, PodNaming>> batch_names_;  // (pod, its naming before the batch)
    std::vector<CgroupKey> batch_cgroups_;                        // cgroups rows in the batch
    std::vector<PendingLoss> batch_losses_;
    std::vector<std::pair<FileKey, std::string>> batch_hashes_;  // file_hashes rows in the batch
    bool batch_clock_ = false;

    // The journal cannot be written.
    bool down_ = false;
    std::string down_error_;
    int64_t down_since_ns_ = 0;
    int64_t retry_at_ns_ = 0;
    std::vector<PendingLoss> pending_losses_;  // loss rows that await a commit
    uint64_t unstored_ = 0;                    // events not stored since down
    int64_t unstored_from_ns_ = 0, unstored_to_ns_ = 0;
};

}  // namespace lineage
