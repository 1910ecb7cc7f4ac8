#pragma once
// `lineage import --from lineage`: lines of `lineage export --format jsonl`
// (or a store's query result of them, as JSONEachRow) back into a journal
// that reconstruct, verify and the other commands read like any other.

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
// recorder committed. Each run says so in runs.filters, as a JSON object
// {"imported": {"format", "file", "sha256", "importer"}, "recorded_filters"}.
Result<ImportReport> import_lineage(const std::vector<std::string>& files, const std::string& journal);

}  // namespace lineage
