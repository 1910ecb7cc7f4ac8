#pragma once
// Small helpers shared by the unit tests: the Catch2-dependent ones. The
// plain file and directory helpers (TempDir, read_file, write_file,
// mtime_ns) are in tests/common/test_files.h, shared with the e2e tests.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "journal_writer.h"
#include "test_files.h"
#include "verify.h"

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

// ---------------------------------------------------------------- journals to verify
// The verify, retention and hash-chain tests' journal (test_util.cpp).

inline constexpr const char* kBoot = "11111111-2222-3333-4444-555555555555";

// A run of boot kBoot on node-a that started at boot time started_ns, which
// was 2026-04-22T09:00:00Z plus started_ns.
RunInfo run_info(int64_t started_ns);

// Ten event rows: a fork, exec and exit of three processes, and a connect;
// when n is even also a loss record. write_event_batch commits them.
void add_events(JournalWriter& w, uint32_t& pid, uint64_t& t, int n);
void write_event_batch(JournalWriter& w, uint32_t& pid, uint64_t& t, int n);

struct Sample {
    ChainHead run1_head;  // after run 1 stopped
    ChainHead head;       // the last batch
};

// Run 1: batch 1 (run row, clock sample, snapshot, pod), batches 2-7 (events),
// batch 8 (stop row and clock sample). Run 2, never stopped: batch 9 (start),
// 10-11 (events), 12 (a clock sample of its own), 13 (events).
Sample write_sample(const std::string& path);

// A working copy to tamper with, opened read-write: evidence is never touched.
struct Copy {
    std::string path;
    Copy(const std::string& from, const std::string& to);
    void sql(const std::string& statements);
    int64_t scalar(const std::string& query);
};

// verify_journal, which must succeed; its text; its findings of one kind.
JournalVerdict verify(const std::string& path);
std::string describe(const JournalVerdict& v);
std::vector<const Finding*> of_kind(const JournalVerdict& v, FindingKind k);

}  // namespace lineage::test
