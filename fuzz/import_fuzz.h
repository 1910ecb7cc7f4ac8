#pragma once
// What the importer fuzzers share: each input is a file given to `lineage
// import` (its bytes are the attacker's: a log copied from a compromised
// node). The import must end in an Error with nothing left at the journal's
// path, or in a journal that reads back (JournalReader, a full load, a
// report); never a crash, a hang or a leak.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_check.h"
#include "import.h"
#include "journal_reader.h"
#include "model.h"
#include "reconstruct.h"

namespace lineage::fuzz {

// Each input gets a directory of its own, removed before the next: the
// fuzzer may end by _Exit, which runs no destructor, and a directory kept for
// the whole run was left behind in $TMPDIR by every run.
struct TempDir {
    std::string path;
    TempDir() {
        const char* tmp = std::getenv("TMPDIR");
        path = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-fuzz-import.XXXXXX";
        if (!mkdtemp(path.data())) std::abort();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

template <typename Import>
int import_one(const uint8_t* data, size_t size, Import import) {
    const TempDir dir;
    const std::string input = dir.path + "/input", journal = dir.path + "/imported.db";
    {
        std::ofstream out(input, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    std::error_code ec;
    auto report = import({input}, journal);
    if (!report) {
        FUZZ_CHECK(!std::filesystem::exists(journal, ec));
        FUZZ_CHECK(!std::filesystem::exists(journal + ".importing", ec));
        return 0;
    }
    FUZZ_CHECK(report->malformed >= static_cast<int64_t>(report->problems.size()));
    auto reader = JournalReader::open(journal);
    FUZZ_CHECK(static_cast<bool>(reader));
    Model model;
    FUZZ_CHECK(static_cast<bool>(reader->load_into(model)));
    model.finish();
    Report r = build_report(model, Query{});
    // Every run an import writes says that it was imported.
    FUZZ_CHECK(static_cast<int64_t>(r.journal.imported.size()) == report->runs);
    return 0;
}

}  // namespace lineage::fuzz
