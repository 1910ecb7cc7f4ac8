#pragma once
// `lineage info`: what a journal holds, told from its small tables and the
// ends of its indexes, without verifying and without reading its events.
//
// Row counts are rowid ranges (max(rowid) - min(rowid) + 1 per table, two
// seeks of the table's b-tree): rows are appended and only retention deletes
// them, oldest first, so the range is the count of a journal as lineage
// wrote it. A journal edited afterwards can hold fewer; `lineage verify`
// counts and checks every row.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "journal_reader.h"
#include "result.h"

namespace lineage {

struct InfoRun {
    int64_t run_id = 0;
    std::string boot_id, node, version, kernel, hooks;
    int64_t started_wall_ns = 0;
    // A clean stop (run_stops); else the run was killed or crashed, and
    // ended_wall_ns is its last committed batch (through the run's start
    // clock sample), or its start when it committed none that is kept.
    bool stopped = false;
    std::string stop_reason;
    int64_t ended_wall_ns = 0;
    std::optional<int64_t> events, lost;      // a clean stop's counts
    int64_t first_batch = 0, last_batch = 0;  // 0: none kept
};

// No run recorded between two runs: from the earlier's end to the later's
// start (a gap of a second or less is a restart, not a gap).
struct InfoGap {
    int64_t from_wall_ns = 0, to_wall_ns = 0;
    int64_t after_run = 0, before_run = 0;
};

struct InfoPrune {
    int64_t through_batch = 0;
    int64_t through_wall_ns = 0;
    int64_t rows = 0;
    std::string reason;
};

struct InfoLoss {
    std::string reason;
    int64_t records = 0, events = 0;
};

struct InfoTable {
    std::string name;
    int64_t rows = 0;  // by rowid range (see above)
};

struct JournalInfo {
    std::string path;
    int64_t file_bytes = 0;
    int64_t wal_bytes = 0;  // its -wal file, 0 when there is none
    int64_t schema_version = 0;
    bool schema_ok = true;
    std::string schema_problem;  // SchemaCheck::summary(), raw bytes
    bool read_from_copy = false;
    std::vector<std::string> nodes, boot_ids;  // in order of first run
    std::vector<InfoRun> runs;
    std::vector<InfoGap> gaps;
    std::vector<InfoPrune> prunes;
    std::vector<InfoLoss> losses;  // by reason
    std::vector<InfoTable> tables;
    int64_t pods = 0;  // distinct pod UIDs named in the pods table
    // What the journal covers: from the later of its first run's start and
    // its latest prune, to its last run's end. 0 when it has no run.
    int64_t from_wall_ns = 0, to_wall_ns = 0;
};

// Reads `path` with JournalReader (read-only, immutable, or a private copy
// when a -wal file is there; its schema checked first). Errors are one line
// naming the file.
Result<JournalInfo> journal_info(const std::string& path, const ReadOptions& options = {});

// Aligned text, names escaped for the terminal; bold headings when `color`.
std::string render_info_text(const JournalInfo& info, bool color);
// One JSON document (schema/info.schema.json), valid UTF-8.
std::string render_info_json(const std::vector<JournalInfo>& infos);

}  // namespace lineage
