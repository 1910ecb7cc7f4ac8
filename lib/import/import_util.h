#pragma once
// What every importer shares: the file's SHA-256, base64, the report of
// malformed records, and building a journal under a temporary name.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import.h"
#include "journal_writer.h"
#include "result.h"

namespace lineage::import_detail {

std::optional<std::string> base64_decode(std::string_view in);

// Hex SHA-256 of the whole file; an Error naming it when it cannot be read.
Result<std::string> sha256_of_file(const std::string& path);

// A record that could not be read: counted, and the first ones named by
// file and line.
void malformed(ImportReport& report, const std::string& file, int64_t line, const std::string& why);

// Builds a new journal at `journal`, which must not exist, from `files`
// (each must be a regular file): `build` writes into a journal under a
// temporary name beside it, which is renamed to `journal` only when `build`
// succeeded, so a journal at that path is never half an import. On an
// Error nothing is left behind.
Result<ImportReport> build_journal(const std::vector<std::string>& files, const std::string& journal,
                                   const std::function<Status(JournalWriter&, ImportReport&)>& build);

// Commits the writer's open batch every this many rows: an import's batches
// are the size of the recorder's largest.
inline constexpr int64_t kImportBatchRows = 16384;

}  // namespace lineage::import_detail
