// The journal writer and the evidence-handling reader.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "journal_writer.h"
#include "journal_reader.h"
#include "sqlite.h"
#include "test_util.h"
#include "verify.h"

using namespace lineage;
using lineage::test::TempDir;

namespace {

RunInfo run_info() {
    RunInfo r;
    r.boot_id = "11111111-2222-3333-4444-555555555555";
    r.node = "node-a";
    r.started_ns = 1'000'000'000'000;
    r.started_wall_ns = 1'776'848'400'000'000'000;  // 2026-04-22T09:00:00Z
    r.version = "test";
    r.kernel = "6.1 test";
    r.hooks = "tp_btf/sched_process_fork";
    r.argv_cap = 4096;
    r.clk_tck = 100;
    r.recorder_pid = 1;
    return r;
}

// A small journal: one run, a fork, an exec, an exit, a connect, a loss.
void write_sample(const std::string& path) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->begin_run(run_info()).ok());
    ForkEvent f;
    f.time_ns = 1'000'500'000'000;
    f.parent = {100, 900'000'000'000};
    f.child = {101, 1'000'500'000'000};
    f.parent_comm = "bash";
    REQUIRE(w->add(f, "").ok());
    ExecEvent e;
    e.time_ns = 1'000'600'000'000;
    e.proc = f.child;
    e.parent = f.parent;
    e.binary = "/usr/bin/curl";
    e.argv = std::string("curl\0http://x\0", 14);
    REQUIRE(w->add(e, "").ok());
    ExitEvent x;
    x.time_ns = 1'000'700'000'000;
    x.proc = f.child;
    x.code = 3;
    REQUIRE(w->add(x, "").ok());
    REQUIRE(w->commit(1'000'700'000'001).ok());
    REQUIRE(w->add_loss(1'000'650'000'000, 1'000'660'000'000, 5, "ringbuf_full").ok());
    REQUIRE(w->end_run(1'000'800'000'000, 1'776'848'400'800'000'000, "signal", 3, 5).ok());
}

}  // namespace

TEST_CASE("a new journal is created 0600 with the schema version", "[journal]") {
    TempDir dir;
    std::string path = dir / "j.db";
    write_sample(path);
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "PRAGMA user_version") == kJournalSchemaVersion);
    CHECK(*query_int(*db, "PRAGMA application_id") == kJournalApplicationId);
    CHECK(*query_int(*db, "SELECT count(*) FROM batches") == 2);
    CHECK(*query_int(*db, "SELECT row_count FROM batches WHERE batch_id = 1") == 3);
    CHECK(*query_int(*db, "SELECT count(*) FROM exec WHERE batch = 1") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM loss WHERE batch = 2") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM run_stops") == 1);
}

TEST_CASE("the schema file and the code agree on the version", "[journal]") {
    std::string sql = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/schema/journal.sql");
    CHECK_THAT(sql, Catch::Contains("PRAGMA user_version = " + std::to_string(kJournalSchemaVersion) + ";"));
}

TEST_CASE("a second writer appends a second run", "[journal]") {
    TempDir dir;
    std::string path = dir / "j.db";
    write_sample(path);
    write_sample(path);
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM runs") == 2);
    CHECK(*query_int(*db, "SELECT max(batch_id) FROM batches") == 4);
    CHECK(*query_int(*db, "SELECT count(DISTINCT batch) FROM exec") == 2);
}

TEST_CASE("the writer refuses files that are not journals and leaves them untouched", "[journal]") {
    TempDir dir;
    SECTION("a text file") {
        std::string path = dir / "notes.txt";
        lineage::test::write_file(path, "not a journal\n");
        auto w = JournalWriter::open(path);
        REQUIRE_FALSE(w.ok());
        CHECK_THAT(w.error().message, Catch::StartsWith(path + ": not a lineage journal"));
        CHECK(lineage::test::read_file(path) == "not a journal\n");
    }
    SECTION("another application's SQLite database") {
        std::string path = dir / "other.db";
        {
            auto db = Database::open_write(path);
            REQUIRE(db.ok());
            REQUIRE(db->exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);").ok());
        }
        std::string before = lineage::test::read_file(path);
        auto w = JournalWriter::open(path);
        REQUIRE_FALSE(w.ok());
        CHECK_THAT(w.error().message, Catch::Contains("not a lineage journal"));
        CHECK(lineage::test::read_file(path) == before);
    }
    SECTION("a journal of an unknown schema version") {
        std::string path = dir / "future.db";
        write_sample(path);
        {
            auto db = Database::open_write(path);
            REQUIRE(db.ok());
            REQUIRE(db->exec("PRAGMA user_version = 99").ok());
        }
        std::string before = lineage::test::read_file(path);
        auto w = JournalWriter::open(path);
        REQUIRE_FALSE(w.ok());
        CHECK_THAT(w.error().message, Catch::Contains("schema version 99 is not supported"));
        CHECK(lineage::test::read_file(path) == before);
    }
}

TEST_CASE("the reader loads what the writer wrote", "[journal]") {
    TempDir dir;
    std::string path = dir / "j.db";
    write_sample(path);
    auto r = JournalReader::open(path);
    REQUIRE(r.ok());
    Model m;
    REQUIRE(r->load_into(m).ok());
    m.finish();
    auto key = m.key_for("11111111-2222-3333-4444-555555555555", 101, 1'000'500'000'000);
    const Process* p = m.find(key);
    REQUIRE(p);
    CHECK(p->parent_source == ParentSource::fork);
    CHECK(p->ppid == 100);
    REQUIRE(p->execs.size() == 1);
    CHECK(p->execs[0].binary == "/usr/bin/curl");
    CHECK(p->execs[0].args == std::vector<std::string>{"curl", "http://x"});
    REQUIRE(p->exit);
    CHECK(p->exit->code == 3);
    REQUIRE(m.losses().size() == 1);
    CHECK(m.losses()[0].count == 5);
    // Wall time: boot ns + the offset sampled at start.
    CHECK(m.to_wall(p->key.boot_id, 1'000'000'000'000) == 1'776'848'400'000'000'000);
}

TEST_CASE("bad journal inputs get one line naming the file, and nothing changes", "[journal][evidence]") {
    TempDir dir;
    std::string good = dir / "good.db";
    write_sample(good);

    struct Case {
        std::string name;
        std::string path;
        std::string expect;
    };
    std::vector<Case> cases;

    std::string empty = dir / "empty.db";
    lineage::test::write_file(empty, "");
    cases.push_back({"empty file", empty, "empty file"});

    std::string text = dir / "text.db";
    lineage::test::write_file(text, "hello, world, this is not SQLite at all");
    cases.push_back({"not SQLite", text, "not a lineage journal"});

    std::string truncated = dir / "truncated.db";
    std::string bytes = lineage::test::read_file(good);
    lineage::test::write_file(truncated, bytes.substr(0, 1024 + 512));
    cases.push_back({"truncated journal", truncated, "damaged"});

    std::string version = dir / "version.db";
    lineage::test::write_file(version, bytes);
    {
        auto db = Database::open_write(version);
        REQUIRE(db.ok());
        REQUIRE(db->exec("PRAGMA user_version = 7").ok());
    }
    cases.push_back({"unknown version", version, "schema version 7 is not supported"});

    cases.push_back({"directory", dir.path(), "is a directory"});
    cases.push_back({"missing", dir / "missing.db", "No such file or directory"});

    std::string fifo = dir / "fifo";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    cases.push_back({"FIFO", fifo, "not a regular file"});

    for (const auto& c : cases) {
        INFO(c.name);
        std::string before = c.name == "directory" || c.name == "missing" || c.name == "FIFO"
                                 ? std::string()
                                 : lineage::test::read_file(c.path);
        auto r = JournalReader::open(c.path);
        Status st = Ok{};
        if (r.ok()) {
            Model m;
            st = r->load_into(m);
        } else {
            st = r.error();
        }
        REQUIRE_FALSE(st.ok());
        CHECK_THAT(st.error().message, Catch::StartsWith(c.path + ": "));
        CHECK_THAT(st.error().message, Catch::Contains(c.expect));
        CHECK(st.error().message.find('\n') == std::string::npos);
        if (!before.empty()) CHECK(lineage::test::read_file(c.path) == before);
    }
}

TEST_CASE("reading never writes the journal, its WAL or its mtime", "[journal][evidence]") {
    TempDir dir;
    std::string path = dir / "j.db";
    write_sample(path);
    // A journal copied while the recorder was writing: main file plus -wal.
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        // Keep the WAL: write, commit, and copy before the writer's
        // checkpoint at close could fold it in.
        REQUIRE(w->begin_run(run_info()).ok());
        ExecEvent e;
        e.time_ns = 1'000'900'000'000;
        e.proc = {202, 1'000'850'000'000};
        e.binary = "/bin/in-the-wal";
        e.argv = std::string("in-the-wal\0", 11);
        REQUIRE(w->add(e, "").ok());
        REQUIRE(w->commit(1'000'900'000'001).ok());
        std::filesystem::create_directory(dir / "copy");
        std::filesystem::copy_file(path, dir / "copy/j.db");
        std::filesystem::copy_file(path + "-wal", dir / "copy/j.db-wal");
    }
    std::string copy = dir / "copy/j.db";
    std::string db_before = lineage::test::read_file(copy);
    std::string wal_before = lineage::test::read_file(copy + "-wal");
    int64_t mtime_before = lineage::test::mtime_ns(copy);
    REQUIRE(!wal_before.empty());
    // Read-only directory, like a mounted evidence copy.
    chmod((dir / "copy").c_str(), 0555);

    auto r = JournalReader::open(copy);
    REQUIRE(r.ok());
    CHECK(r->read_from_copy());
    Model m;
    REQUIRE(r->load_into(m).ok());
    m.finish();
    bool saw_wal_row = false;
    for (const auto& [k, p] : m.processes())
        for (const auto& e : p.execs) saw_wal_row |= e.binary == "/bin/in-the-wal";
    CHECK(saw_wal_row);

    CHECK(lineage::test::read_file(copy) == db_before);
    CHECK(lineage::test::read_file(copy + "-wal") == wal_before);
    CHECK(lineage::test::mtime_ns(copy) == mtime_before);
    CHECK_FALSE(std::filesystem::exists(copy + "-shm"));
    chmod((dir / "copy").c_str(), 0755);

    SECTION("without a WAL the file is opened immutable, in place") {
        std::string plain = dir / "j.db";
        std::error_code ec;
        std::filesystem::remove(plain + "-wal", ec);
        std::filesystem::remove(plain + "-shm", ec);
        std::string before = lineage::test::read_file(plain);
        int64_t mt = lineage::test::mtime_ns(plain);
        auto r2 = JournalReader::open(plain);
        REQUIRE(r2.ok());
        CHECK_FALSE(r2->read_from_copy());
        Model m2;
        REQUIRE(r2->load_into(m2).ok());
        CHECK(lineage::test::read_file(plain) == before);
        CHECK(lineage::test::mtime_ns(plain) == mt);
        CHECK_FALSE(std::filesystem::exists(plain + "-wal"));
        CHECK_FALSE(std::filesystem::exists(plain + "-shm"));
    }
}

TEST_CASE("rows go in grouped, in the order they were added, and an aborted batch leaves none", "[journal]") {
    // fork, exec and exit rows wait until a group of them can go in one
    // INSERT (or the batch commits); loss rows go in at once. Counts that
    // are not multiples of the group size leave rows for the commit.
    TempDir dir;
    std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->begin_run(run_info()).ok());
    const uint64_t t0 = 1'000'500'000'000;
    auto fork_of = [&](uint32_t child) {
        ForkEvent f;
        f.time_ns = t0 + child;
        f.parent = {100, 900'000'000'000};
        f.child = {child, t0 + child};
        f.parent_comm = "bash";
        return f;
    };
    size_t rows = 0;
    for (uint32_t i = 0; i < 37; ++i) {
        REQUIRE(w->add(fork_of(1000 + i), "").ok());
        ++rows;
        if (i % 2 == 0) {
            ExecEvent e;
            e.time_ns = t0 + 1000 + i;
            e.proc = {1000 + i, t0 + 1000 + i};
            e.binary = "/bin/true";
            e.argv = fmt::format("true {}", i);
            REQUIRE(w->add(e, "").ok());
            ++rows;
        }
        if (i == 20) {
            REQUIRE(w->add_loss(t0, t0 + 1, 2, "ringbuf_full").ok());
            ++rows;
        }
    }
    CHECK(w->pending_rows() == rows);
    REQUIRE(w->commit(t0 + 10'000).ok());
    CHECK(w->pending_rows() == 0);

    // A batch given up: none of its rows, waiting or already in, stay.
    for (uint32_t i = 0; i < 20; ++i) REQUIRE(w->add(fork_of(5000 + i), "").ok());
    CHECK(w->pending_rows() == 20);
    w->abort_batch();
    CHECK(w->pending_rows() == 0);
    ExitEvent x;
    x.time_ns = t0 + 20'000;
    x.proc = {1000, t0 + 1000};
    REQUIRE(w->add(x, "").ok());
    REQUIRE(w->commit(t0 + 20'001).ok());
    REQUIRE(w->end_run(t0 + 30'000, 1'776'848'400'800'000'000, "signal", static_cast<int64_t>(rows) + 1, 2).ok());

    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    auto forks = db->prepare("SELECT child_tgid, batch FROM fork ORDER BY rowid");
    REQUIRE(forks.ok());
    std::vector<int64_t> children;
    while (forks->step() == SQLITE_ROW) {
        children.push_back(forks->int64(0));
        CHECK(forks->int64(1) == 1);
    }
    std::vector<int64_t> expected;
    for (int64_t i = 0; i < 37; ++i) expected.push_back(1000 + i);
    CHECK(children == expected);
    auto execs = db->prepare("SELECT group_concat(tgid) FROM (SELECT tgid FROM exec ORDER BY rowid)");
    REQUIRE(execs.ok());
    REQUIRE(execs->step() == SQLITE_ROW);
    CHECK(execs->text(0) == "1000,1002,1004,1006,1008,1010,1012,1014,1016,1018,1020,1022,1024,1026,1028,1030,1032,"
                            "1034,1036");
    auto counts = db->prepare(
        "SELECT (SELECT count(*) FROM exit), (SELECT count(*) FROM loss), (SELECT row_count FROM batches "
        "WHERE batch_id = (SELECT batch FROM fork LIMIT 1))");
    REQUIRE(counts.ok());
    REQUIRE(counts->step() == SQLITE_ROW);
    CHECK(counts->int64(0) == 1);
    CHECK(counts->int64(1) == 1);
    CHECK(counts->int64(2) == static_cast<int64_t>(rows));

    // Every row hashed as stored: the chain verifies.
    auto v = verify_journal(path);
    REQUIRE(v.ok());
    CHECK(v->status() == "whole");
    CHECK(v->findings.empty());
}

TEST_CASE("a failed insert gives the whole batch up, and the journal still verifies", "[journal][evidence]") {
    // A value over SQLite's length limit fails its INSERT with an error that
    // is not the storage's. Such a failure inside a 16-row INSERT can leave
    // some of its rows stored, and under OR ROLLBACK the transaction may be
    // gone already; the writer must give the batch up rather than commit
    // rows its hash does not cover. Three places it can fail: inside a full
    // group, in the rows inserted at commit, and a row bound as NULL.
    const uint64_t t0 = 1'000'500'000'000;
    auto exec_of = [&](uint32_t i, size_t len) {
        ExecEvent e;
        e.time_ns = t0 + i;
        e.proc = {1000 + i, t0 + i};
        e.binary = std::string(len, 'b');
        e.argv = std::string(len, 'a');
        e.cgroup_path = std::string(len, 'c');
        return e;
    };
    struct Case {
        const char* name;
        int rows;       // exec rows added to the batch
        int big_row;    // the one over the limit
        bool loss_row;  // a loss row (inserted at once) before them
        bool commit;    // the failure comes at commit
    };
    for (const Case c : {Case{"in a group", 16, 9, true, false}, Case{"at commit", 3, 2, false, true},
                         Case{"bound as NULL", 16, 15, true, false}}) {
        SECTION(c.name) {
            TempDir dir;
            std::string path = dir / "j.db";
            auto w = JournalWriter::open(path);
            REQUIRE(w.ok());
            REQUIRE(w->begin_run(run_info()).ok());
            REQUIRE(w->add(exec_of(999, 5), "").ok());
            REQUIRE(w->commit(t0).ok());
            sqlite3* db = w->database_for_tests().get();
            // "bound as NULL": a bind over the limit leaves the parameter NULL,
            // and the NOT NULL constraint fails the statement instead.
            const int limit = std::string_view(c.name) == "bound as NULL" ? 64 : 300;
            const int old = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, limit);
            Status st = Ok{};
            if (c.loss_row) st = w->add_loss(t0, t0 + 1, 1, "ringbuf_full");
            for (int i = 0; i < c.rows && st; ++i) st = w->add(exec_of(1000 + static_cast<uint32_t>(i), i == c.big_row ? 200 : 5), "");
            if (st && c.commit) st = w->commit(t0 + 100);
            sqlite3_limit(db, SQLITE_LIMIT_LENGTH, old);
            REQUIRE_FALSE(st.ok());
            CHECK_FALSE(w->batch_open());
            CHECK(w->pending_rows() == 0);
            CHECK(sqlite3_get_autocommit(db) == 1);
            // What record does next: the stop row, in a batch of its own.
            REQUIRE(w->end_run(t0 + 30'000, 1'776'848'400'800'000'000, "error", 1, 0).ok());

            auto v = verify_journal(path);
            REQUIRE(v.ok());
            CHECK(v->status() == "whole");
            CHECK(v->findings.empty());
            auto rdb = Database::open_read("file:" + path + "?mode=ro");
            REQUIRE(rdb.ok());
            CHECK(*query_int(*rdb, "SELECT count(*) FROM exec") == 1);  // the first batch's only
            CHECK(*query_int(*rdb, "SELECT count(*) FROM loss") == 0);
            CHECK(*query_int(*rdb, "SELECT count(*) FROM run_stops") == 1);
        }
    }
}
