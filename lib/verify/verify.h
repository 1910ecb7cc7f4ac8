#pragma once
// `lineage verify`: checks a journal as evidence, without writing anything
// (it reads through JournalReader, under the same rules as reconstruct).
// SQLite integrity, the schema, every batch link of the hash chain
// (schema/hash-chain.md), rows outside any batch, and anchors published by
// the recorder. It also summarises the runs, the gaps between them and the
// loss records, which say what the journal can not contain.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "anchor.h"
#include "hashchain.h"
#include "model.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

enum class FindingKind {
    modified,        // a row differs from the one committed (table + rowid)
    added,           // a row is in a batch but not in its hash (table + rowid)
    deleted,         // a committed row is missing (table; rowid inferred from the gap)
    outside_batch,   // a row names a batch that does not exist (table + rowid)
    batch_modified,  // a batches row differs from what was hashed, rows intact
    chain_break,     // prev_hash is not the hash of the batch before
    batch_missing,   // batch ids are missing from the sequence
    schema,          // tables, indexes or triggers differ from the schema
    damaged,         // SQLite integrity_check failed, or a read failed
};
const char* finding_kind_name(FindingKind kind);

struct Finding {
    FindingKind kind = FindingKind::modified;
    int64_t batch = 0;  // 0: not about one batch
    std::string table;  // empty: about the batch or the file
    std::optional<int64_t> rowid;
    bool rowid_inferred = false;  // deleted rows: the rowid the gap points at
    std::string detail;           // one line for people
};

struct RunSummary {
    int64_t run_id = 0;
    std::string node, boot_id;
    int64_t started_wall_ns = 0;
    std::optional<int64_t> stopped_wall_ns;  // set by a run_stops row: a clean stop
    std::string stop_reason;
    std::optional<int64_t> events, lost;  // from run_stops
    int64_t first_batch = 0, last_batch = 0, batches = 0;
    std::optional<int64_t> last_commit_wall_ns;
    // A run that `lineage import` wrote: a copy of someone else's record,
    // whose chain proves it unchanged since the import, not what a kernel
    // reported.
    std::optional<ImportProvenance> imported;
    bool clean() const { return stopped_wall_ns.has_value(); }
};

// Time between two runs when nothing was recorded.
struct RunGap {
    int64_t after_run = 0, before_run = 0;
    int64_t from_wall_ns = 0, to_wall_ns = 0;
    bool reboot = false;  // the two runs have different boot ids
};

struct LossSummary {
    int64_t batch = 0, run_id = 0;
    int64_t from_wall_ns = 0, to_wall_ns = 0;
    int64_t count = 0;
    std::string reason;
};

// Retention deleted the oldest batches (table prunes).
struct PruneSummary {
    int64_t through_batch = 0;    // batches 1 .. through_batch are gone
    Hash through_hash{};          // the hash the newest prune recorded for it
    int64_t through_wall_ns = 0;  // when that batch was committed
    int64_t batch = 0;            // batch holding the newest prune
    int64_t prunes = 0;           // prune rows
    int64_t rows = 0;             // event rows deleted, all prunes
    std::string reason;           // of the newest prune
};

struct BatchLink {
    int64_t batch_id = 0;
    Hash hash{};            // as stored
    bool verified = false;  // recomputed hash and link both match
};

struct JournalVerdict {
    std::string path;
    bool read_from_copy = false;
    bool opened = true;  // false: SQLite could not read it at all (damaged)
    int64_t application_id = 0, user_version = 0;
    std::vector<std::string> integrity;  // integrity_check messages; empty when ok
    int64_t batches = 0, first_batch = 0, last_batch = 0, rows = 0;
    std::vector<BatchLink> links;  // every batch, in batch_id order
    std::vector<RunSummary> runs;
    std::vector<RunGap> gaps;
    std::vector<LossSummary> losses;
    std::optional<PruneSummary> pruned;
    std::vector<Finding> findings;
    size_t findings_omitted = 0;  // beyond the first kMaxFindings
    bool truncated = false;       // an anchor names a batch beyond the end
    int64_t truncated_after = 0;

    // "whole", "truncated", "tampered" or "damaged".
    std::string status() const;
    const RunSummary* last_run() const { return runs.empty() ? nullptr : &runs.back(); }
};

enum class AnchorStatus { found, not_in_chain, mismatch, beyond_end, pruned };
const char* anchor_status_name(AnchorStatus s);

struct AnchorResult {
    Anchor anchor;
    AnchorStatus status = AnchorStatus::not_in_chain;
    std::string journal;          // where it was found, or the journal it points into
    int64_t batch = 0;            // where it was found, or the batch it names
    bool batch_verified = false;  // found: the batch's hash and link verify
    int64_t journal_last_batch = 0;
};

struct VerifyReport {
    std::vector<JournalVerdict> journals;
    std::vector<AnchorResult> anchors;
    bool whole() const;
};

inline constexpr size_t kMaxFindings = 1000;

struct VerifyOptions {
    // The time budget of every call into SQLite (--timeout); 0: none.
    int64_t timeout_ns = kDefaultReadTimeoutNs;
};

// Verifies one journal. An Error is a file that is no journal to verify:
// missing, unreadable, empty, not SQLite, cut short or damaged so that it
// cannot be opened, not a lineage journal, an unknown schema version, or
// written before the hash chain existed. Damage found in a journal that
// opens is a verdict with a `damaged` finding; a schema that is not
// lineage's, `schema` findings (the chain is then read only when every
// table of the schema is there as lineage made it).
Result<JournalVerdict> verify_journal(const std::string& path, const VerifyOptions& options = {});

// Looks each anchor up in the journals' chains and records the result;
// an anchor that names a batch beyond a journal's end marks it truncated.
void check_anchors(VerifyReport& report, const std::vector<Anchor>& anchors);

// The output: verify_render.h.

}  // namespace lineage
