#pragma once
// `lineage import`: other records of process events into a journal that
// reconstruct, verify and the other commands read like any other: lines of
// `lineage export --format jsonl` (or a store's query result of them, as
// JSONEachRow), Tetragon's JSON events, the bpftrace recorder's log.

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace lineage {

struct ImportReport {
    int64_t lines = 0;     // lines read, blank ones aside
    int64_t imported = 0;  // rows written to the journal
    int64_t skipped = 0;   // valid lines with nothing to import (batch, gap, prune, pruned lines)
    int64_t runs = 0;      // runs written
    int64_t batches = 0;   // batches committed
    // Lines that could not be read, left out: "FILE:LINE: why", at most
    // the first 20 (malformed counts them all).
    std::vector<std::string> problems;
    int64_t malformed = 0;
};

// Imports the files, in order, into a new journal at `journal`, which must
// not exist. The journal is built under a temporary name beside it and
// renamed only once every file is in, so a journal at that path is never
// half an import. A file whose first line is not a lineage export line is
// refused (nothing is written); malformed lines after that are counted,
// reported and left out.
//
// The imported journal's batches are new ones, chained anew: what it can
// show is that it was not changed after the import, not what the original
// recorder committed. Each run says so in runs.filters (provenance.h):
// format, file, SHA-256, importer and the original run.
Result<ImportReport> import_lineage(const std::vector<std::string>& files, const std::string& journal);

// Imports Tetragon's JSON events (one per line, or pretty-printed one after
// another) into a new journal, under the same rules: process_exec,
// process_exit, process_kprobe of tcp_connect and the legacy
// process_connect; other events are valid and skipped. Each node of each
// file is a run, its boot clock Tetragon's ktime (from exec_id, base64 of
// node:ktime:pid); an exec without the "clone" flag in its parent image's
// PID is a further image of that process. A file whose first document is
// not a Tetragon event is refused.
Result<ImportReport> import_tetragon(const std::vector<std::string>& files, const std::string& journal);

// Imports the text log of a bpftrace recorder (the seed article's FORK,
// EXEC and EXIT lines, with or without a leading time, and the compact F, E
// and X lines) into a new journal, under the same rules; each file is a run
// of its own boot. See import_bpftrace.cpp for how processes are told apart.
Result<ImportReport> import_bpftrace(const std::vector<std::string>& files, const std::string& journal);

}  // namespace lineage
