#include "retention.h"

#include <algorithm>

namespace lineage {

Result<std::optional<PruneResult>> Retention::step(JournalWriter& writer, int64_t now_ns, int64_t now_wall_ns,
                                                   const LiveProcesses& live) {
    behind_ = false;
    if (options_.retain_ns > 0) {
        const int64_t cutoff = now_wall_ns - options_.retain_ns;
        if (!over_age_) {
            // Only the oldest batch is read until it is old enough.
            auto oldest = writer.prune_point(1, cutoff - options_.slack_ns());
            if (!oldest) return oldest.error();
            over_age_ = *oldest > 0;
        }
        if (over_age_) {
            auto through = writer.prune_point(options_.chunk_rows, cutoff);
            if (!through) return through.error();
            if (*through == 0) {
                over_age_ = false;  // down to retain_ns
            } else {
                auto pruned = writer.prune_through(*through, "retain", now_ns, live);
                if (!pruned) return pruned.error();
                behind_ = true;  // there may be more that is too old
                return std::optional<PruneResult>(*pruned);
            }
        }
    }
    if (options_.max_bytes > 0) {
        auto used = writer.used_bytes();
        if (!used) return used.error();
        used_bytes_ = *used;
        const auto low = static_cast<int64_t>(static_cast<double>(options_.max_bytes) * options_.low_water);
        if (*used > options_.max_bytes) over_size_ = true;
        if (*used <= low) {
            over_size_ = false;
            cannot_meet_size_ = false;
        }
        if (over_size_) {
            // As many of the oldest rows as make the excess, at the
            // journal's average bytes per row, a chunk at most.
            auto rows = writer.prunable_rows();
            if (!rows) return rows.error();
            int64_t want = options_.chunk_rows;
            if (*rows > 0 && *used > low) {
                const double per_row = static_cast<double>(*used) / static_cast<double>(*rows);
                want = std::min<int64_t>(want, static_cast<int64_t>(static_cast<double>(*used - low) / per_row) + 1);
            }
            auto through = writer.prune_point(want);
            if (!through) return through.error();
            if (*through == 0) {
                cannot_meet_size_ = *used > options_.max_bytes;
                return std::optional<PruneResult>();
            }
            auto pruned = writer.prune_through(*through, "max-size", now_ns, live);
            if (!pruned) return pruned.error();
            behind_ = true;
            return std::optional<PruneResult>(*pruned);
        }
    }
    return std::optional<PruneResult>();
}

}  // namespace lineage
