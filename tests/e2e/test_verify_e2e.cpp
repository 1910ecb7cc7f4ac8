// End-to-end tests of the hash chain: `lineage record` for real with an
// anchor log, then `lineage verify` on the journal, on a live journal, and
// on a tampered copy.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hashchain.h"
#include "helpers.h"
#include "journal_format.h"

namespace test_verify_e2e {

using namespace e2e;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines_of(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) out.push_back(line);
    }
    return out;
}

// The batch=N field of an anchor line.
int64_t anchor_batch(const std::string& line) {
    auto at = line.find(" batch=");
    REQUIRE(at != std::string::npos);
    return std::stoll(line.substr(at + 7));
}

RunResult verify(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {lineage_bin(), "verify"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, {}, 120s);
}

}  // namespace

TEST_CASE("record publishes anchors, which verify finds, and verify catches a tampered copy", "[verify-e2e]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    const std::string anchor_log = dir / "anchors.log";

    auto rec = start_record(journal, {"--anchor-log", anchor_log, "--anchor-interval", "1s"});
    // The start anchor is written before 'lineage: recording'.
    const std::vector<std::string> at_start = lines_of(read_file(anchor_log), "lineage-anchor ");
    REQUIRE_FALSE(at_start.empty());

    auto work = run_argv({"/bin/sh", "-c", "for i in 1 2 3; do /bin/echo lineage-verify-marker-$i; done"});
    REQUIRE(work.exit_code == 0);
    std::this_thread::sleep_for(2500ms);

    SECTION("a live journal verifies, from a private copy, and holds the start anchor") {
        auto live = verify({"--journal", journal, "--anchor", at_start[0]});
        INFO(live.out << live.err);
        CHECK(live.exit_code == 0);
        CHECK_THAT(live.out, Catch::Contains("anchor found"));
        rec->stop();
    }
    SECTION("a stopped journal") {
        std::string err = rec->stop();
        // Without --anchor-log the lines would be on stderr; with it, none are.
        CHECK(lines_of(err, "lineage-anchor ").empty());

        const std::vector<std::string> anchors = lines_of(read_file(anchor_log), "lineage-anchor ");
        INFO(read_file(anchor_log));
        // Start, at least one periodic, stop.
        REQUIRE(anchors.size() >= 3);
        Journal j(journal);
        const int64_t last = j.scalar("SELECT max(batch_id) FROM batches");
        CHECK(anchor_batch(anchors.back()) == last);
        CHECK_THAT(anchors.back(), Catch::Contains(" hash="));
        CHECK_THAT(anchors.back(), Catch::Contains(" boot=" + j.texts("SELECT boot_id FROM runs")[0]));
        for (size_t i = 1; i < anchors.size(); ++i) CHECK(anchor_batch(anchors[i]) >= anchor_batch(anchors[i - 1]));

        // Whole, with the logged anchors.
        auto ok = verify({"--journal", journal, "--anchor", anchors.back(), "--anchor", anchors.front()});
        INFO(ok.out << ok.err);
        CHECK(ok.exit_code == 0);
        CHECK_THAT(ok.out, Catch::Contains("j.db: whole"));
        CHECK_THAT(ok.out, Catch::Contains(fmt::format("at batch {} of {}", last, journal)));
        CHECK_THAT(ok.out, Catch::Contains("stopped cleanly: signal"));
        CHECK_THAT(ok.out, Catch::Contains("result: whole"));

        // A copy with one argv rewritten: caught, at that row.
        const std::string copy = dir / "copy.db";
        std::filesystem::copy_file(journal, copy);
        const int64_t rowid =
            j.scalar("SELECT rowid FROM exec WHERE instr(argv, CAST('lineage-verify-marker-2' AS BLOB)) > 0 LIMIT 1");
        const int64_t batch = j.scalar("SELECT batch FROM exec WHERE rowid = ?", {rowid});
        {
            auto db = lineage::Database::open_write(copy);
            REQUIRE(db.ok());
            auto st = db->exec(fmt::format(
                "UPDATE exec SET argv = CAST('/bin/echo' || char(0) || 'nothing-to-see' AS BLOB) WHERE rowid = {}",
                rowid));
            REQUIRE(st.ok());
        }
        auto bad = verify({"--journal", copy, "--anchor", anchors.back()});
        INFO(bad.out << bad.err);
        CHECK(bad.exit_code == 1);
        CHECK_THAT(bad.out, Catch::Contains("copy.db: TAMPERED"));
        CHECK_THAT(bad.out, Catch::Contains(fmt::format("batch {}, exec rowid {}: modified", batch, rowid)));
        // The chain head itself is untouched, so the anchor is still found.
        CHECK_THAT(bad.out, Catch::Contains("anchor found"));

        // The same copy, cut after the first batch: the stop anchor proves
        // that it was truncated.
        const std::string cut = dir / "cut.db";
        std::filesystem::copy_file(journal, cut);
        {
            auto db = lineage::Database::open_write(cut);
            REQUIRE(db.ok());
            // Every chain table of the journal's version: rows of a table
            // left out (memberships, when a pod on this machine forked
            // meanwhile) would name batches that are gone.
            std::string del = "DELETE FROM batches WHERE batch_id > 1;";
            for (size_t i = 0; i < lineage::kChainTableCount; ++i) {
                const lineage::ChainTable t = lineage::table_at(i);
                if (!lineage::table_in_version(t, lineage::kJournalSchemaVersion)) continue;
                del += fmt::format("DELETE FROM {} WHERE batch > 1;", lineage::table_name(t));
            }
            REQUIRE(db->exec(del).ok());
        }
        auto ended = verify({"--journal", cut});
        INFO(ended.out);
        CHECK(ended.exit_code == 0);
        CHECK_THAT(ended.out, Catch::Contains("ends at batch 1 (run 1 was not stopped cleanly)"));
        auto truncated = verify({"--journal", cut, "--anchor", anchors.back()});
        INFO(truncated.out);
        CHECK(truncated.exit_code == 1);
        CHECK_THAT(truncated.out, Catch::Contains("anchor not in chain"));
        CHECK_THAT(truncated.out, Catch::Contains("truncated after batch 1"));
    }
}

TEST_CASE("without --anchor-log the anchors go to stderr", "[verify-e2e]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    auto rec = start_record(journal);
    CHECK(rec->has_line("lineage-anchor "));
    std::string err = rec->stop();
    auto anchors = lines_of(err, "lineage-anchor ");
    REQUIRE(anchors.size() >= 2);  // start and stop
    auto ok = verify({"--journal", journal, "--anchor", anchors.back(), "--format", "json"});
    INFO(ok.out << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("\"status\": \"found\""));
}

}  // namespace test_verify_e2e
