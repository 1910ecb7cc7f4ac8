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
#include <optional>
#include <set>
#include <string>
#include <vector>

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
};

// Names a pod from its UID at record time (kubelet log dirs); may be empty.
struct PodName {
    std::string name;
    std::string namespace_;
    PodNameSource source = PodNameSource::unknown;
};
using PodNamer = std::function<std::optional<PodName>(const std::string& pod_uid, const std::string& nodename)>;
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
    Status on_record(const void* data, size_t size, int64_t now_ns);
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

    // Boot-time to wall-clock sample. Stored only when the offset moved by
    // more than a millisecond (a clock step, a resume) or an hour passed:
    // the offset is otherwise constant, and a year of one-minute samples
    // would make every query read half a million rows.
    Status note_clock(int64_t boot_ns, int64_t wall_ns);

    const RecorderStats& stats() const { return stats_; }
    // True while the journal cannot be written.
    bool storage_down() const { return down_; }
    // Events counted while it could not, not yet in a loss row, the time
    // they span, and the error that started it.
    uint64_t unstored() const { return unstored_; }
    int64_t unstored_span_ns() const { return unstored_ ? unstored_to_ns_ - unstored_from_ns_ : 0; }
    const std::string& storage_error() const { return down_error_; }

private:
    Status attribute_pod(const std::string& pod_uid, const std::string& nodename);
    Status add_loss(PendingLoss loss);
    // A write failed: an error to stop on, or the storage's, to ride out.
    Status on_write_error(const Error& error, int64_t now_ns);
    void count_unstored(uint64_t n, int64_t from_ns, int64_t to_ns);
    Status try_recover(int64_t now_ns);
    void notify(const std::string& line) const {
        if (notify_) notify_(line);
    }

    JournalWriter& writer_;
    RecorderOptions options_;
    PodNamer pod_namer_;
    RecorderStats stats_;
    int64_t interval_start_ns_ = -1;  // see maybe_commit()
    uint64_t drops_seen_ = 0;
    int64_t drops_checked_ns_ = 0;
    int64_t decode_loss_from_ns_ = -1;
    uint64_t decode_loss_pending_ = 0;
    std::set<std::string> pods_named_;
    PodUidCache pod_uids_;        // the one pod UID per exec, for its row and its pod's name
    int64_t clock_boot_ns_ = -1;  // last stored sample
    int64_t clock_offset_ns_ = 0;
    Notifier notify_;

    // The open batch, as far as a rollback must undo it.
    uint64_t batch_events_ = 0;
    int64_t batch_first_event_ns_ = -1;
    std::vector<std::string> batch_pods_;
    std::vector<PendingLoss> batch_losses_;
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
