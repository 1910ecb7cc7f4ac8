// export --follow's private copy of a live journal: after every sync it
// holds what the journal has committed, and the main file is copied again
// only when the WAL started a new generation.
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "fixture_journal.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "live_copy.h"
#include "sqlite.h"

namespace test_live_copy {

using namespace fixture;
using namespace lineage;

namespace {

// What a journal has committed, as a reader of it sees it: the batches, and
// the exec rows (a million times their count, plus their argv bytes, plus
// where an 'x' is first in each: that reads the argv itself).
std::pair<int64_t, int64_t> committed(const std::string& path) {
    auto r = JournalReader::open(path);
    REQUIRE(r.ok());
    auto batches = query_int(r->db(), "SELECT count(*) FROM batches");
    auto execs =
        query_int(r->db(), "SELECT count(*) * 1000000 + sum(length(argv)) + sum(instr(argv, x'78')) FROM exec");
    REQUIRE(batches.ok());
    REQUIRE(execs.ok());
    return {*batches, *execs};
}

}  // namespace

TEST_CASE("a live copy follows a live journal's commits and checkpoints", "[export][follow]") {
    TempDir dir;
    const std::string path = dir / "live.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    RunInfo info;
    info.boot_id = RunOptions{}.boot_id;
    info.node = "node-live";
    info.started_ns = static_cast<int64_t>(at(1000));
    info.started_wall_ns = kWall0;
    info.version = "test";
    REQUIRE(w->begin_run(info).ok());
    REQUIRE(w->commit(static_cast<int64_t>(at(1000, 1))).ok());
    uint32_t tgid = 5000;
    auto add_batch = [&](size_t argv_bytes = 5) {
        ExecEvent e;
        e.time_ns = at(1000 + tgid - 4999);
        e.proc = {tgid++, e.time_ns};
        e.binary = "/bin/true";
        e.argv = std::string("true\0", 5) + std::string(argv_bytes - 5, 'x');
        REQUIRE(w->add(Event{e}, "").ok());
        REQUIRE(w->commit(static_cast<int64_t>(e.time_ns)).ok());
    };
    auto live = LiveCopy::create(path);
    REQUIRE(live.ok());
    auto changed = live->sync();
    REQUIRE(changed.ok());
    CHECK(*changed);
    CHECK(live->full_copies() == 1);
    CHECK(committed(live->copy_path()) == committed(path));
    CHECK_FALSE(std::filesystem::exists(live->copy_path() + "-wal"));

    // Commits in the same WAL generation: only the WAL is copied.
    for (int i = 0; i < 5; ++i) {
        add_batch();
        changed = live->sync();
        REQUIRE(changed.ok());
        CHECK(*changed);
        CHECK(committed(live->copy_path()) == committed(path));
    }
    CHECK(live->full_copies() == 1);

    // The recorder checkpoints: the main file changes, the WAL keeps its
    // generation until the next commit. Still only the WAL is copied.
    {
        auto other = Database::open_write(path);
        REQUIRE(other.ok());
        REQUIRE(other->exec("PRAGMA wal_checkpoint(PASSIVE)").ok());
    }
    changed = live->sync();
    REQUIRE(changed.ok());
    CHECK(*changed);
    CHECK(committed(live->copy_path()) == committed(path));
    CHECK(live->full_copies() == 1);

    // The next commit restarts the WAL (the checkpoint was complete): the
    // main file holds frames the WAL no longer has, and is copied again.
    add_batch();
    changed = live->sync();
    REQUIRE(changed.ok());
    CHECK(committed(live->copy_path()) == committed(path));
    CHECK(live->full_copies() == 2);
    add_batch();
    changed = live->sync();
    REQUIRE(changed.ok());
    CHECK(committed(live->copy_path()) == committed(path));
    CHECK(live->full_copies() == 2);

    // A commit the copy never sees in the WAL: checkpointed into the main
    // file, the WAL emptied, then two commits. Its long argv fills overflow
    // pages that no later commit writes again.
    add_batch(64 * 1024);
    {
        auto other = Database::open_write(path);
        REQUIRE(other.ok());
        REQUIRE(other->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    }
    add_batch();
    add_batch();
    changed = live->sync();
    REQUIRE(changed.ok());
    CHECK(committed(live->copy_path()) == committed(path));
    CHECK(live->full_copies() == 3);
    CHECK(committed(path).second == 10 * 1000000 + 9 * 5 + 64 * 1024 + 6);

    // Nothing new (and the files' stamps old enough to trust): no copy.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    changed = live->sync();
    REQUIRE(changed.ok());
    changed = live->sync();
    REQUIRE(changed.ok());
    CHECK_FALSE(*changed);
    CHECK(live->full_copies() == 3);

    // The copy's directory goes with it.
    const std::string copy_dir = std::filesystem::path(live->copy_path()).parent_path();
    { LiveCopy gone = std::move(*live); }
    CHECK_FALSE(std::filesystem::exists(copy_dir));
}

}  // namespace test_live_copy
