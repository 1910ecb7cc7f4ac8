// verify's throughput, hidden from the default run (tag [.bench]).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "fixture_journal.h"
#include "journal_writer.h"
#include "test_util.h"
#include "verify.h"

namespace test_verify_bench {

using namespace lineage;
using fixture::TempDir;
using lineage::test::add_events;
using lineage::test::run_info;
using lineage::test::verify;

TEST_CASE("verify throughput on a synthetic journal", "[.bench]") {
    // Not run by default: LINEAGE_BENCH_ROWS=1000000 unit_tests "[.bench]"
    const char* env = std::getenv("LINEAGE_BENCH_ROWS");
    const int64_t target = env ? std::atoll(env) : 1'000'000;
    TempDir dir;
    const std::string path = dir / "bench.db";
    uint32_t pid = 100000;
    uint64_t t = 1'000'000'000'000;
    auto t0 = std::chrono::steady_clock::now();
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
        // Batches of ~4100 rows, as a busy recorder writes them.
        int64_t rows = 0;
        while (rows < target) {
            for (int k = 0; k < 410; ++k, rows += 10) add_events(*w, pid, t, 1);
            REQUIRE(w->commit(static_cast<int64_t>(t)).ok());
        }
        REQUIRE(w->end_run(static_cast<int64_t>(t), 1, "signal", rows, 0).ok());
    }
    auto t1 = std::chrono::steady_clock::now();
    JournalVerdict v = verify(path);
    auto t2 = std::chrono::steady_clock::now();
    REQUIRE(v.status() == "whole");
    double write_s = std::chrono::duration<double>(t1 - t0).count();
    double verify_s = std::chrono::duration<double>(t2 - t1).count();
    WARN(fmt::format(
        "{} rows in {} batches, {} bytes; write {:.2f} s ({:.0f} rows/s); verify {:.2f} s "
        "({:.0f} rows/s)",
        v.rows, v.batches, std::filesystem::file_size(path), write_s, v.rows / write_s, verify_s, v.rows / verify_s));
}

}  // namespace test_verify_bench
