#pragma once
// The recorder's bookkeeping, kernel-free: decoded records go into the
// journal in batches, ring-buffer drops become loss rows. cli/record.cpp
// feeds it from the probe; tests and benchmarks feed it synthetic records.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "journal.h"
#include "pod.h"
#include "result.h"

namespace lineage {

struct RecorderOptions {
    int64_t batch_interval_ns = 100'000'000;  // commit at least every 100 ms
    size_t batch_max_rows = 4096;             // or when this many rows wait
};

struct RecorderStats {
    uint64_t stored = 0;         // events inserted (fork, exec, exit, connect)
    uint64_t lost = 0;           // events counted as lost, all reasons
    uint64_t decode_errors = 0;  // records that did not decode
};

// Names a pod from its UID at record time (kubelet log dirs); may be empty.
struct PodName {
    std::string name;
    std::string namespace_;
    std::string source;  // "log-dir" or "hostname"
};
using PodNamer = std::function<std::optional<PodName>(const std::string& pod_uid, const std::string& nodename)>;

class Recorder {
public:
    Recorder(JournalWriter& writer, RecorderOptions options, PodNamer pod_namer = nullptr);

    // One ring-buffer record. Errors only for journal write failures.
    Status on_record(const void* data, size_t size, int64_t now_ns);
    // Commits when the batch is old or large enough.
    Status maybe_commit(int64_t now_ns);
    Status commit(int64_t now_ns);
    // Kernel drop counter (cumulative); a rise becomes a loss row covering
    // the time since the previous reading.
    Status note_drops(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns);

    // Boot-time to wall-clock sample. Stored only when the offset moved by
    // more than a millisecond (a clock step, a resume) or an hour passed:
    // the offset is otherwise constant, and a year of one-minute samples
    // would make every query read half a million rows.
    Status note_clock(int64_t boot_ns, int64_t wall_ns);

    const RecorderStats& stats() const { return stats_; }

private:
    Status attribute_pod(const std::string& cgroup_path, const std::string& nodename);

    JournalWriter& writer_;
    RecorderOptions options_;
    PodNamer pod_namer_;
    RecorderStats stats_;
    int64_t batch_started_ns_ = -1;
    uint64_t drops_seen_ = 0;
    int64_t drops_checked_ns_ = 0;
    int64_t decode_loss_from_ns_ = -1;
    uint64_t decode_loss_pending_ = 0;
    std::set<std::string> pods_named_;
    PodUidCache pod_uids_;
    int64_t clock_boot_ns_ = -1;  // last stored sample
    int64_t clock_offset_ns_ = 0;
};

}  // namespace lineage
