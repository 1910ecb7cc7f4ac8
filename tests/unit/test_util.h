#pragma once
// Small helpers shared by the unit tests: the Catch2-dependent ones. The
// plain file and directory helpers (TempDir, read_file, write_file,
// mtime_ns) are in tests/common/test_files.h, shared with the e2e tests.
#include <string>

#include <catch2/catch.hpp>

#include "journal_writer.h"
#include "test_files.h"

namespace lineage::test {

// A new journal at `path` with one run begun (boot "b", node "n").
inline JournalWriter open_writer(const std::string& path) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    RunInfo info;
    info.boot_id = "b";
    info.node = "n";
    REQUIRE(w->begin_run(info).ok());
    return std::move(*w);
}

}  // namespace lineage::test
