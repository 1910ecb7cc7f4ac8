#pragma once
// Retention for `lineage record --max-size/--retain`: deletes the oldest
// batches of the journal, a bounded chunk at a time, each prune recorded in
// the chain (JournalWriter::prune_through, schema/hash-chain.md). Kernel-free:
// the recorder's loop calls step(), tests call it on synthetic journals.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "journal_writer.h"
#include "result.h"

namespace lineage {

struct RetentionOptions {
    int64_t max_bytes = 0;  // 0: no size limit. Pages in use, not the file's size.
    int64_t retain_ns = 0;  // 0: no age limit. Batches older than this go.
    // Event rows one prune deletes at most: a prune holds the journal for
    // its transaction while the ring buffer fills, so it must stay short; a
    // journal far over its limit is brought under it over several steps.
    int64_t chunk_rows = 20'000;
    // Pruning by size starts above max_bytes and goes on down to this share
    // of it, so that it does not run at every commit.
    double low_water = 0.9;
    // Pruning by age starts when the oldest batch is this much older than
    // retain_ns, then goes down to retain_ns: a prune a day on a 90-day
    // journal, not one a second. -1: a minute, or 1 % of retain_ns if more.
    int64_t retain_slack_ns = -1;
    int64_t slack_ns() const {
        return retain_slack_ns >= 0 ? retain_slack_ns : std::max<int64_t>(60'000'000'000, retain_ns / 100);
    }
};

class Retention {
public:
    explicit Retention(RetentionOptions options) : options_(options) {}
    bool enabled() const { return options_.max_bytes > 0 || options_.retain_ns > 0; }

    // At most one prune. Call with no batch open. Returns what was pruned,
    // or nothing. `behind()` says whether another step is due at once.
    // The processes of `live` keep their identity (JournalWriter::prune_through).
    Result<std::optional<PruneResult>> step(JournalWriter& writer, int64_t now_ns, int64_t now_wall_ns,
                                            const LiveProcesses& live = {});
    bool behind() const { return behind_; }
    // Set when the size limit cannot be met by pruning (everything but the
    // last batch is gone): the caller says so once.
    bool cannot_meet_size() const { return cannot_meet_size_; }
    // The last measured size, for messages.
    int64_t used_bytes() const { return used_bytes_; }

private:
    RetentionOptions options_;
    bool over_size_ = false;
    bool over_age_ = false;
    bool behind_ = false;
    bool cannot_meet_size_ = false;
    int64_t used_bytes_ = 0;
};

}  // namespace lineage
