#pragma once
// `lineage export`: a journal's committed batches as a stream of
// self-contained lines (schema/export.schema.json), for fleet pipelines.
//
// The unit of export is the batch: every row of a batch is turned into a
// line (or left out by the filter), then one `batch` line closes it with
// the batch's chain hash. A position (the last batch exported and its hash)
// is all a restarted export needs to go on with the next batch, neither
// skipping one nor repeating one. The journal is read through JournalReader,
// under the same evidence rules as reconstruct: never a write to it.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "result.h"

namespace lineage {

enum class ExportFormat { jsonl, ecs };

// Which lines of a batch are printed. Process lines (snapshot, fork, exec,
// exit, connect) must match every selector given; the other lines (runs,
// clock samples, pods, losses, gaps, prunes, batches) are always printed,
// so that the receiver sees the whole chain. The time window selects whole
// batches by the wall-clock time they were committed at.
struct ExportFilter {
    std::optional<std::string> pod;  // name, NAMESPACE/NAME or UID
    std::optional<std::string> namespace_;
    std::optional<std::string> container;  // ID prefix
    std::optional<uint32_t> pid;           // tgid
    std::optional<int64_t> since_wall_ns, until_wall_ns;
};

// Where an export of one journal stands: the last batch it printed. batch 0:
// nothing yet.
struct ExportPosition {
    int64_t batch = 0;
    std::string hash;  // hex, "" when batch is 0
    bool operator==(const ExportPosition&) const = default;
};

// The cursor file (--cursor): a position per journal (by the path as given),
// and, with --output, how many bytes of the output file those positions
// account for.
struct ExportCursor {
    std::map<std::string, ExportPosition> journals;
    std::optional<int64_t> output_bytes;

    // A missing file is an empty cursor; anything unreadable is an error
    // naming the file.
    static Result<ExportCursor> load(const std::string& path);
    // Written to a temporary file beside `path` and renamed over it: a crash
    // leaves the old cursor or the new one, never a mix.
    Status save(const std::string& path) const;
};

struct ExportStats {
    int64_t batches = 0;  // batches exported (each ends with its batch line)
    int64_t lines = 0;    // lines printed, batch lines included
    int64_t rows = 0;     // journal rows read
    // A batch committed after the filter's until_wall_ns was reached: no
    // later batch of this journal can be in the window (--follow stops).
    bool past_until = false;
};

// Called after each batch with its lines (the batch line last) and the
// position after it. An error stops the export; the position is then the
// one before that batch.
using BatchSink = std::function<Status(std::string_view lines, const ExportPosition& after)>;

class JournalExport {
public:
    ~JournalExport();
    JournalExport(JournalExport&&) noexcept;
    JournalExport& operator=(JournalExport&&) = delete;

    // Opens a journal for export (JournalReader::open: a copy when it has a
    // WAL). `label`, when given, names it in messages instead of `path`
    // (--follow reads a LiveCopy of the journal the user named).
    static Result<JournalExport> open(const std::string& path, ExportFormat format, ExportFilter filter,
                                      const std::string& label = {});

    // Exports every committed batch after `from`, in batch order, through
    // `sink`, and advances `from` batch by batch. A position that names a
    // batch whose hash differs is refused (another journal, or a rewritten
    // one); a position in batches pruned since is reported by a `pruned`
    // line before the first batch. `stop` is polled between batches.
    Result<ExportStats> run(ExportPosition& from, const BatchSink& sink, const std::function<bool()>& stop = nullptr);

private:
    struct Impl;
    explicit JournalExport(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The stable identifier of a process, as exported in `entity_id`: the first
// 16 bytes of SHA-256 of "lineage-entity-v1:BOOT_ID:TGID:START_TICK", in hex
// (START_TICK: the start time in /proc clock ticks since boot, the precision
// of process identity). Exposed for tests and for consumers' documentation.
std::string export_entity_id(std::string_view boot_id, uint32_t tgid, uint64_t start_tick);

}  // namespace lineage
