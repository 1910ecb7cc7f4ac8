// The journal writer and the evidence-handling reader.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "journal_reader.h"
#include "journal_writer.h"
#include "pod.h"
#include "retention.h"
#include "sqlite.h"
#include "test_util.h"
#include "verify.h"

namespace test_journal {

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
        REQUIRE(db->exec(fmt::format("PRAGMA user_version = {}", kJournalSchemaVersion + 1)).ok());
    }
    cases.push_back(
        {"unknown version", version, fmt::format("schema version {} is not supported", kJournalSchemaVersion + 1)});

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
    CHECK(execs->text(0) ==
          "1000,1002,1004,1006,1008,1010,1012,1014,1016,1018,1020,1022,1024,1026,1028,1030,1032,"
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
    // group, in the rows inserted at commit, and a bind SQLite refuses
    // (which must fail the insert, not leave the parameter NULL).
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
                         Case{"a bind refused", 16, 15, true, false}}) {
        SECTION(c.name) {
            TempDir dir;
            std::string path = dir / "j.db";
            auto w = JournalWriter::open(path);
            REQUIRE(w.ok());
            REQUIRE(w->begin_run(run_info()).ok());
            REQUIRE(w->add(exec_of(999, 5), "").ok());
            REQUIRE(w->commit(t0).ok());
            sqlite3* db = w->database_for_tests().get();
            // "a bind refused": a value over the limit is refused when it is
            // bound, not when the row is stored.
            const int limit = std::string_view(c.name) == "a bind refused" ? 64 : 300;
            const int old = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, limit);
            Status st = Ok{};
            if (c.loss_row) st = w->add_loss(t0, t0 + 1, 1, "ringbuf_full");
            for (int i = 0; i < c.rows && st; ++i)
                st = w->add(exec_of(1000 + static_cast<uint32_t>(i), i == c.big_row ? 200 : 5), "");
            if (st && c.commit) st = w->commit(t0 + 100);
            sqlite3_limit(db, SQLITE_LIMIT_LENGTH, old);
            REQUIRE_FALSE(st.ok());
            CHECK(st.error().code == SQLITE_TOOBIG);
            CHECK_THAT(st.error().message, Catch::Contains("cannot insert into exec"));
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

TEST_CASE("a bind SQLite refuses fails the step, and the statement does not run", "[journal]") {
    auto db = Database::open_write(":memory:");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t (a INTEGER, b TEXT)").ok());
    auto ins = db->prepare("INSERT INTO t (a, b) VALUES (?1, ?2)");
    REQUIRE(ins.ok());
    auto rows = [&] { return *query_int(*db, "SELECT count(*) FROM t"); };

    CHECK(ins->bind(1, int64_t{1}) == SQLITE_OK);
    CHECK(ins->bind(3, std::string_view("x")) == SQLITE_RANGE);
    CHECK(ins->bind(2, std::string_view("y")) == SQLITE_OK);
    CHECK(ins->bind_error() == SQLITE_RANGE);  // the first refusal is kept
    CHECK(ins->step() == SQLITE_RANGE);
    CHECK(rows() == 0);

    ins->reset();
    CHECK(ins->bind_error() == SQLITE_OK);
    ins->bind(1, int64_t{2});
    ins->bind(2, std::string_view("z"));
    CHECK(ins->step() == SQLITE_DONE);
    CHECK(rows() == 1);

    // A value over SQLite's length limit: refused at the bind, and the
    // statement never runs with b left NULL.
    ins->reset();
    sqlite3_limit(db->get(), SQLITE_LIMIT_LENGTH, 10);
    ins->bind(1, int64_t{3});
    CHECK(ins->bind_blob(2, std::string(100, 'x')) == SQLITE_TOOBIG);
    CHECK(ins->step() == SQLITE_TOOBIG);
    ins->reset();
    CHECK(rows() == 1);
}

namespace {

// One row of every chain table, each value different from the others, so
// that a value stored under the wrong column, or read into the wrong field,
// shows.
struct EveryTable {
    RunInfo run;
    int64_t sample_boot_ns = 0, sample_wall_ns = 0;
    SnapshotRow snapshot;
    ForkEvent fork;
    ExecEvent exec;
    ExitEvent exit;
    ConnectEvent connect;
    CgroupRow cgroup;
    MembershipRow membership;
    CarriedRow carried;
    ContainerRow container;
    ListenEvent listen;
    DnsEvent dns;
    FileHashRow file_hash;
    int64_t loss_from = 0, loss_to = 0, loss_count = 0;
    int64_t stopped_ns = 0, stopped_wall_ns = 0, stop_events = 0, stop_lost = 0;
};

EveryTable every_table() {
    EveryTable e;
    e.container = ContainerRow{987'654'321,
                               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                               "1b2c3d4e-0000-4a5b-8c9d-0123456789ab",
                               "ledger-api-7b9c8-k2m4p",
                               "finance",
                               "api",
                               "registry.example.test/ledger/api:1.4.2",
                               "container",
                               "bundle",
                               "/run/bundle/config.json",
                               "a problem"};
    e.run = run_info();
    e.run.filters_json = R"({"pid":7})";
    e.run.argv_cap = 4097;
    e.run.clk_tck = 100;
    e.run.recorder_pid = 4242;
    const int64_t t0 = e.run.started_ns;
    e.sample_boot_ns = t0 + 5'000;
    e.sample_wall_ns = e.run.started_wall_ns + 5'001;

    SnapshotRow& s = e.snapshot;
    s.time_ns = t0 + 1;
    s.tgid = 6001;
    s.nspid = 61;
    s.ppid = 62;
    s.start_ns = 500'000'000'000;
    s.uid = 63;
    s.gid = 64;
    s.euid = 65;
    s.comm = "comm-snap";
    s.exe = "/bin/snap-exe";
    s.argv = std::string("s1\0s2", 5);
    s.cgroup_path = "/cg-snap";
    s.nodename = "node-snap";

    ForkEvent& f = e.fork;
    f.time_ns = t0 + 2;
    f.parent = {5002, 600'000'000'000};
    f.child = {5001, 700'000'000'000};
    f.parent_comm = "pcomm-fork";

    ExecEvent& x = e.exec;
    x.time_ns = t0 + 3;
    x.proc = {4001, 800'000'000'000};
    x.nspid = 14;
    x.old_tid = 15;
    x.uid = 11;
    x.gid = 12;
    x.euid = 13;
    x.parent = {4002, 810'000'000'000};
    x.parent_comm = "pcomm-exec";
    x.comm = "comm-exec";
    x.nodename = "node-exec";
    x.cgroup_id = 16;
    x.cgroup_path = "/cg-exec";
    x.binary = "/bin/exec-bin";
    x.argv = std::string("a1\0a2", 5);
    x.truncated = kArgvTruncated | kBinaryTruncated;
    // Every value distinct, so a column swapped in the writer shows.
    ExecFile xf;
    xf.path = "/usr/bin/exec-real";
    xf.dev = 2049;
    xf.ino = 101;
    xf.nlink = 102;
    xf.size = 103;
    xf.mode = 0104755;
    xf.mtime_ns = 1'776'000'000'000'000'104;
    xf.flags = kFileUpper | kFileUpperKnown | kFileOverlay | kFileSecureExec;
    xf.interpreter = "/bin/interp";
    xf.before = Credentials{111, 112, 113, 114, 0x115, 0x116};
    xf.after = Credentials{121, 122, 0, 124, 0x1ffffffffff, 0x1fffffffffe};
    x.file = xf;

    ListenEvent& l = e.listen;
    l.time_ns = t0 + 12;
    l.proc = x.proc;
    l.family = 6;
    l.addr = "::1";
    l.port = 4444;

    DnsEvent& d = e.dns;
    d.time_ns = t0 + 14;
    d.proc = x.proc;
    d.sent = false;
    d.tcp = true;
    d.family = 6;
    d.saddr = "fd00::53";
    d.sport = 53;
    d.daddr = "fd00::17";
    d.dport = 40123;
    d.length = 700;
    // An answer cut after its question (the probe keeps the first bytes):
    // the 2-byte TCP length prefix, the header (id 0x1234, QR, 1 question,
    // 1 answer) and the question Every.Table.example A IN. A segment the
    // copy cut is read on its own: the answer the socket received names
    // the process's lookup (dns_names).
    d.message = std::string("\x02\xba\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00", 14) +
                "\x05"
                "Every\x05"
                "Table\x07"
                "example" +
                std::string("\x00\x00\x01\x00\x01", 5);

    FileHashRow& h = e.file_hash;
    h.time_ns = t0 + 13;
    h.key = FileKey{xf.dev, xf.ino, xf.size, xf.mtime_ns};
    h.path = xf.path;
    h.sha256 = std::string(64, 'a');
    h.problem = "";

    ExitEvent& q = e.exit;
    q.time_ns = t0 + 4;
    q.proc = x.proc;
    q.code = 21;
    q.signal = 22;
    q.core_dumped = true;
    q.comm = "comm-exit";

    ConnectEvent& c = e.connect;
    c.time_ns = t0 + 5;
    c.outcome_ns = t0 + 6;
    c.proc = x.proc;
    c.family = 6;
    c.saddr = "::1";
    c.sport = 31;
    c.daddr = "::2";
    c.dport = 32;
    c.established = true;

    CgroupRow& g = e.cgroup;
    g.hierarchy = 71;
    g.cgroup_id = 72;
    g.path = "/kubepods/besteffort/pod7c9e6679-7425-40de-944b-e07fc1f90ae7/0123456789ab";
    g.pod_uid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    g.container_id = "0123456789ab";

    MembershipRow& m = e.membership;
    m.time_ns = t0 + 10;
    m.proc = {3001, 900'000'000'000};
    m.nspid = 81;
    m.how = MembershipHow::move;
    m.hierarchy = g.hierarchy;
    m.cgroup_id = g.cgroup_id;
    m.pod_uid = g.pod_uid;
    m.uts_ns = 82;
    m.by = {3002, 910'000'000'000};
    m.comm = "comm-member";

    CarriedRow& k = e.carried;
    k.time_ns = t0 + 11;
    k.proc = {2001, 950'000'000'000};
    k.nspid = 91;
    k.uid = 92;
    k.gid = 93;
    k.euid = 94;
    k.parent = {2002, 960'000'000'000};
    k.parent_source = "fork";
    k.comm = "comm-carried";
    k.binary = "/bin/carried";
    k.argv = std::string("c1\0c2", 5);
    k.cgroup_path = "/cg-carried";
    k.pod_uid = "";
    k.nodename = "node-carried";
    k.source = "exec";
    k.from_batch = 95;

    e.loss_from = t0 + 7;
    e.loss_to = t0 + 8;
    e.loss_count = 41;
    e.stopped_ns = t0 + 9'000;
    e.stopped_wall_ns = e.run.started_wall_ns + 9'001;
    e.stop_events = 51;
    e.stop_lost = 52;
    return e;
}

// Batch 1: the run and its first sample; batch 2: a row of every event
// table and a sample; batch 3: a prune of batch 1 (which deletes no event
// row); batch 4: the stop.
void write_every_table(const std::string& path, const EveryTable& e) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->begin_run(e.run).ok());
    REQUIRE(w->commit(e.run.started_ns).ok());
    // The pod UID the recorder would hand over (lib/record computes it).
    auto pod_uid = [](const std::string& cgroup_path) {
        auto kube = parse_kube_cgroup(cgroup_path);
        return kube ? kube->pod_uid : std::string();
    };
    REQUIRE(w->add_snapshot(e.snapshot, pod_uid(e.snapshot.cgroup_path)).ok());
    REQUIRE(w->add(e.fork, "").ok());
    REQUIRE(w->add(e.exec, pod_uid(e.exec.cgroup_path)).ok());
    REQUIRE(w->add(e.exit, "").ok());
    REQUIRE(w->add(e.connect, "").ok());
    REQUIRE(w->add(e.listen, "").ok());
    REQUIRE(w->add(e.dns, "").ok());
    REQUIRE(w->add_file_hash(e.file_hash).ok());
    REQUIRE(w->add_loss(e.loss_from, e.loss_to, e.loss_count, "ringbuf_full").ok());
    REQUIRE(w->add_cgroup(e.cgroup).ok());
    REQUIRE(w->add_membership(e.membership).ok());
    REQUIRE(w->add_carried(e.carried).ok());
    REQUIRE(w->add_container(e.container).ok());
    REQUIRE(w->add_pod("pod-uid-1", "pod-name", "pod-ns", PodNameSource::hostname).ok());
    REQUIRE(w->add_clock_sample(e.sample_boot_ns, e.sample_wall_ns).ok());
    REQUIRE(w->commit(e.run.started_ns + 6'000).ok());
    REQUIRE(w->prune_through(1, "max-size", e.run.started_ns + 7'000).ok());
    REQUIRE(w->end_run(e.stopped_ns, e.stopped_wall_ns, "signal", e.stop_events, e.stop_lost).ok());
}

std::vector<std::string> split_columns(std::string_view list) {
    std::vector<std::string> out;
    for (size_t pos = 0; pos < list.size();) {
        size_t end = std::min(list.find(',', pos), list.size());
        std::string_view name = list.substr(pos, end - pos);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        out.emplace_back(name);
        pos = end + 1;
    }
    return out;
}

}  // namespace

// The column order is written four times: schema/journal.sql,
// chain_columns(), the writer's row builders and the loader's decoders. The
// loader derives its SELECTs and column positions from chain_columns()
// (journal_rows.h), and test_verify pins chain_columns() to the schema
// (PRAGMA table_info of a new journal) and to schema/hash-chain.md; these two
// tests pin the rest: the writer's builders by what lands in each column, by
// name and type, and the loader's decoders by what reaches the model.
TEST_CASE("the writer's rows, chain_columns() and the schema agree by name and type", "[journal]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    const EveryTable e = every_table();
    write_every_table(path, e);
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());

    // Every column but batch, in order, with its declared type: the one each
    // value the writer stored has.
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        const std::string table = table_name(t);
        INFO(table);
        auto info =
            db->prepare(fmt::format("SELECT name, lower(type) FROM pragma_table_info('{}') ORDER BY cid", table));
        REQUIRE(info.ok());
        std::vector<std::string> names;
        std::vector<std::string> types;
        while (info->step() == SQLITE_ROW) {
            if (info->text(0) == "batch") continue;
            names.push_back(info->text(0));
            types.push_back(info->text(1));
        }
        CHECK(names == split_columns(chain_columns(t)));
        CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM {}", table)) >= 1);
        for (size_t c = 0; c < names.size(); ++c) {
            INFO(names[c] << " " << types[c]);
            CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM {} WHERE typeof({}) != '{}'", table, names[c],
                                              types[c])) == 0);
        }
    }

    // Every value, read back by column name. (pod_uid is the writer's own,
    // derived from cgroup_path; its type is checked above.)
    auto n = [](int64_t v) { return std::to_string(v); };
    const std::vector<std::array<std::string, 3>> expected = {
        {"runs", "run_id", "1"},
        {"runs", "boot_id", e.run.boot_id},
        {"runs", "node", e.run.node},
        {"runs", "started_ns", n(e.run.started_ns)},
        {"runs", "started_wall_ns", n(e.run.started_wall_ns)},
        {"runs", "version", e.run.version},
        {"runs", "kernel", e.run.kernel},
        {"runs", "hooks", e.run.hooks},
        {"runs", "filters", e.run.filters_json},
        {"runs", "argv_cap", n(e.run.argv_cap)},
        {"runs", "clk_tck", n(e.run.clk_tck)},
        {"runs", "recorder_pid", n(e.run.recorder_pid)},
        {"clock_samples", "run_id", "1"},
        {"clock_samples", "boot_ns", n(e.sample_boot_ns)},
        {"clock_samples", "wall_ns", n(e.sample_wall_ns)},
        {"snapshot", "time_ns", n(e.snapshot.time_ns)},
        {"snapshot", "tgid", n(e.snapshot.tgid)},
        {"snapshot", "nspid", n(e.snapshot.nspid)},
        {"snapshot", "ppid", n(e.snapshot.ppid)},
        {"snapshot", "start_ns", n(static_cast<int64_t>(e.snapshot.start_ns))},
        {"snapshot", "uid", n(e.snapshot.uid)},
        {"snapshot", "gid", n(e.snapshot.gid)},
        {"snapshot", "euid", n(e.snapshot.euid)},
        {"snapshot", "comm", e.snapshot.comm},
        {"snapshot", "exe", e.snapshot.exe},
        {"snapshot", "argv", e.snapshot.argv},
        {"snapshot", "cgroup_path", e.snapshot.cgroup_path},
        {"snapshot", "nodename", e.snapshot.nodename},
        {"pods", "pod_uid", "pod-uid-1"},
        {"pods", "name", "pod-name"},
        {"pods", "namespace", "pod-ns"},
        {"pods", "source", "hostname"},
        {"fork", "time_ns", n(static_cast<int64_t>(e.fork.time_ns))},
        {"fork", "parent_tgid", n(e.fork.parent.tgid)},
        {"fork", "parent_start_ns", n(static_cast<int64_t>(e.fork.parent.start_ns))},
        {"fork", "child_tgid", n(e.fork.child.tgid)},
        {"fork", "child_start_ns", n(static_cast<int64_t>(e.fork.child.start_ns))},
        {"fork", "parent_comm", e.fork.parent_comm},
        {"exec", "time_ns", n(static_cast<int64_t>(e.exec.time_ns))},
        {"exec", "tgid", n(e.exec.proc.tgid)},
        {"exec", "start_ns", n(static_cast<int64_t>(e.exec.proc.start_ns))},
        {"exec", "nspid", n(e.exec.nspid)},
        {"exec", "old_tid", n(e.exec.old_tid)},
        {"exec", "uid", n(e.exec.uid)},
        {"exec", "gid", n(e.exec.gid)},
        {"exec", "euid", n(e.exec.euid)},
        {"exec", "parent_tgid", n(e.exec.parent.tgid)},
        {"exec", "parent_start_ns", n(static_cast<int64_t>(e.exec.parent.start_ns))},
        {"exec", "parent_comm", e.exec.parent_comm},
        {"exec", "comm", e.exec.comm},
        {"exec", "nodename", e.exec.nodename},
        {"exec", "cgroup_id", n(static_cast<int64_t>(e.exec.cgroup_id))},
        {"exec", "cgroup_path", e.exec.cgroup_path},
        {"exec", "binary", e.exec.binary},
        {"exec", "argv", e.exec.argv},
        {"exec", "truncated", n(e.exec.truncated)},
        {"exit", "time_ns", n(static_cast<int64_t>(e.exit.time_ns))},
        {"exit", "tgid", n(e.exit.proc.tgid)},
        {"exit", "start_ns", n(static_cast<int64_t>(e.exit.proc.start_ns))},
        {"exit", "code", n(e.exit.code)},
        {"exit", "signal", n(e.exit.signal)},
        {"exit", "core_dumped", "1"},
        {"exit", "comm", e.exit.comm},
        {"connect", "time_ns", n(static_cast<int64_t>(e.connect.time_ns))},
        {"connect", "outcome_ns", n(static_cast<int64_t>(e.connect.outcome_ns))},
        {"connect", "tgid", n(e.connect.proc.tgid)},
        {"connect", "start_ns", n(static_cast<int64_t>(e.connect.proc.start_ns))},
        {"connect", "family", n(e.connect.family)},
        {"connect", "saddr", e.connect.saddr},
        {"connect", "sport", n(e.connect.sport)},
        {"connect", "daddr", e.connect.daddr},
        {"connect", "dport", n(e.connect.dport)},
        {"connect", "result", "established"},
        {"loss", "from_ns", n(e.loss_from)},
        {"loss", "to_ns", n(e.loss_to)},
        {"loss", "count", n(e.loss_count)},
        {"loss", "reason", "ringbuf_full"},
        {"run_stops", "run_id", "1"},
        {"run_stops", "stopped_ns", n(e.stopped_ns)},
        {"run_stops", "stopped_wall_ns", n(e.stopped_wall_ns)},
        {"run_stops", "reason", "signal"},
        {"run_stops", "events", n(e.stop_events)},
        {"run_stops", "lost", n(e.stop_lost)},
        {"prunes", "through_batch", "1"},
        {"prunes", "rows", "0"},
        {"prunes", "reason", "max-size"},
        {"cgroups", "hierarchy", n(e.cgroup.hierarchy)},
        {"cgroups", "cgroup_id", n(static_cast<int64_t>(e.cgroup.cgroup_id))},
        {"cgroups", "path", e.cgroup.path},
        {"cgroups", "pod_uid", e.cgroup.pod_uid},
        {"cgroups", "container_id", e.cgroup.container_id},
        {"containers", "time_ns", n(e.container.time_ns)},
        {"containers", "container_id", e.container.container_id},
        {"containers", "pod_uid", e.container.pod_uid},
        {"containers", "pod_name", e.container.pod_name},
        {"containers", "pod_namespace", e.container.pod_namespace},
        {"containers", "name", e.container.name},
        {"containers", "image", e.container.image},
        {"containers", "type", e.container.type},
        {"containers", "source", e.container.source},
        {"containers", "path", e.container.path},
        {"containers", "problem", e.container.problem},
        {"memberships", "time_ns", n(e.membership.time_ns)},
        {"memberships", "tgid", n(e.membership.proc.tgid)},
        {"memberships", "start_ns", n(static_cast<int64_t>(e.membership.proc.start_ns))},
        {"memberships", "nspid", n(e.membership.nspid)},
        {"memberships", "how", "move"},
        {"memberships", "hierarchy", n(e.membership.hierarchy)},
        {"memberships", "cgroup_id", n(static_cast<int64_t>(e.membership.cgroup_id))},
        {"memberships", "pod_uid", e.membership.pod_uid},
        {"memberships", "uts_ns", n(e.membership.uts_ns)},
        {"memberships", "by_tgid", n(e.membership.by.tgid)},
        {"memberships", "by_start_ns", n(static_cast<int64_t>(e.membership.by.start_ns))},
        {"memberships", "comm", e.membership.comm},
        {"carried", "time_ns", n(e.carried.time_ns)},
        {"carried", "tgid", n(e.carried.proc.tgid)},
        {"carried", "start_ns", n(static_cast<int64_t>(e.carried.proc.start_ns))},
        {"carried", "nspid", n(e.carried.nspid)},
        {"carried", "uid", n(e.carried.uid)},
        {"carried", "gid", n(e.carried.gid)},
        {"carried", "euid", n(e.carried.euid)},
        {"carried", "parent_tgid", n(e.carried.parent.tgid)},
        {"carried", "parent_start_ns", n(static_cast<int64_t>(e.carried.parent.start_ns))},
        {"carried", "parent_source", e.carried.parent_source},
        {"carried", "comm", e.carried.comm},
        {"carried", "binary", e.carried.binary},
        {"carried", "argv", e.carried.argv},
        {"carried", "cgroup_path", e.carried.cgroup_path},
        {"carried", "pod_uid", e.carried.pod_uid},
        {"carried", "nodename", e.carried.nodename},
        {"carried", "source", e.carried.source},
        {"carried", "from_batch", n(e.carried.from_batch)},
        {"dns", "time_ns", n(static_cast<int64_t>(e.dns.time_ns))},
        {"dns", "tgid", n(e.dns.proc.tgid)},
        {"dns", "start_ns", n(static_cast<int64_t>(e.dns.proc.start_ns))},
        {"dns", "direction", "received"},
        {"dns", "transport", "tcp"},
        {"dns", "family", "6"},
        {"dns", "saddr", "fd00::53"},
        {"dns", "sport", "53"},
        {"dns", "daddr", "fd00::17"},
        {"dns", "dport", "40123"},
        {"dns", "length", "700"},
        {"dns", "hex(message)", "02BA123481800001000100000000054576657279055461626C65076578616D706C650000010001"},
        {"dns_names", "tgid", n(e.dns.proc.tgid)},
        {"dns_names", "start_ns", n(static_cast<int64_t>(e.dns.proc.start_ns))},
        {"dns_names", "name_key", "elpmaxe.elbat.yreve"},
    };
    for (const auto& [table, column, value] : expected) {
        INFO(table << "." << column);
        // Batch 1 and the stop's batch hold clock samples of their own.
        const char* where = table == "clock_samples" ? "WHERE batch = 2" : "";
        auto q = db->prepare(fmt::format("SELECT CAST({} AS TEXT) FROM {} {}", column, table, where));
        REQUIRE(q.ok());
        REQUIRE(q->step() == SQLITE_ROW);
        CHECK(q->text(0) == value);
    }
}

TEST_CASE("the loader reads every event column into its field", "[journal]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    const EveryTable e = every_table();
    write_every_table(path, e);
    const std::string& boot = e.run.boot_id;

    // Whole tables, and the indexed look-ups of one PID each.
    std::vector<LoadPlan> plans(1);
    for (uint32_t pid : {e.snapshot.tgid, e.fork.child.tgid, e.exec.proc.tgid, e.membership.proc.tgid}) {
        LoadPlan plan;
        plan.everything = false;
        plan.pid = pid;
        plans.push_back(plan);
    }
    for (const LoadPlan& plan : plans) {
        INFO("pid " << (plan.pid ? std::to_string(*plan.pid) : "all"));
        auto r = JournalReader::open(path);
        REQUIRE(r.ok());
        Model m;
        REQUIRE(r->load_into(m, plan).ok());
        m.finish();

        if (!plan.pid || *plan.pid == e.snapshot.tgid) {
            const SnapshotRow& s = e.snapshot;
            const Process* p = m.find(m.key_for(boot, s.tgid, static_cast<int64_t>(s.start_ns)));
            REQUIRE(p);
            CHECK(p->in_snapshot);
            CHECK(p->start_ns == static_cast<int64_t>(s.start_ns));
            CHECK(p->nspid == s.nspid);
            CHECK(p->ppid == s.ppid);
            CHECK(p->comm == s.comm);
            REQUIRE(p->execs.size() == 1);
            CHECK(p->execs[0].from_snapshot);
            CHECK(p->execs[0].time_ns == s.time_ns);
            CHECK(p->execs[0].binary == s.exe);
            CHECK(p->execs[0].args == std::vector<std::string>{"s1", "s2"});
            CHECK(p->execs[0].uid == s.uid);
            CHECK(p->execs[0].gid == s.gid);
            CHECK(p->execs[0].euid == s.euid);
        }
        if (!plan.pid || *plan.pid == e.fork.child.tgid) {
            const ForkEvent& f = e.fork;
            const Process* p = m.find(m.key_for(boot, f.child.tgid, static_cast<int64_t>(f.child.start_ns)));
            REQUIRE(p);
            CHECK(p->parent_source == ParentSource::fork);
            CHECK(p->start_ns == static_cast<int64_t>(f.child.start_ns));
            CHECK(p->ppid == f.parent.tgid);
            CHECK(p->parent_start_ns == static_cast<int64_t>(f.parent.start_ns));
            CHECK(p->parent_comm == f.parent_comm);
        }
        if (!plan.pid || *plan.pid == e.exec.proc.tgid) {
            const ExecEvent& x = e.exec;
            const Process* p = m.find(m.key_for(boot, x.proc.tgid, static_cast<int64_t>(x.proc.start_ns)));
            REQUIRE(p);
            CHECK(p->start_ns == static_cast<int64_t>(x.proc.start_ns));
            CHECK(p->parent_source == ParentSource::exec);
            CHECK(p->ppid == x.parent.tgid);
            CHECK(p->parent == m.key_for(boot, x.parent.tgid, static_cast<int64_t>(x.parent.start_ns)));
            CHECK(p->parent_comm == x.parent_comm);
            CHECK(p->nspid == x.nspid);
            CHECK(p->comm == x.comm);
            REQUIRE(p->execs.size() == 1);
            const ExecImage& img = p->execs[0];
            CHECK(img.time_ns == static_cast<int64_t>(x.time_ns));
            CHECK(img.binary == x.binary);
            CHECK(img.args == std::vector<std::string>{"a1", "a2"});
            CHECK(img.args_truncated);
            CHECK(img.binary_truncated);
            CHECK(img.uid == x.uid);
            CHECK(img.gid == x.gid);
            CHECK(img.euid == x.euid);
            REQUIRE(p->exit);
            CHECK(p->exit->time_ns == static_cast<int64_t>(e.exit.time_ns));
            CHECK(p->exit->code == e.exit.code);
            CHECK(p->exit->signal == e.exit.signal);
            CHECK(p->exit->core_dumped);
            REQUIRE(p->connects.size() == 1);
            const ConnectInfo& c = p->connects[0];
            CHECK(c.time_ns == static_cast<int64_t>(e.connect.time_ns));
            CHECK(c.family == e.connect.family);
            CHECK(c.saddr == e.connect.saddr);
            CHECK(c.sport == e.connect.sport);
            CHECK(c.daddr == e.connect.daddr);
            CHECK(c.dport == e.connect.dport);
            CHECK(c.established);
            // The dns row: an answer cut short, which the lookup says, with
            // the row's length and transport, and the question it holds.
            REQUIRE(p->dns.size() == 1);
            CHECK(p->dns[0].time_ns == static_cast<int64_t>(e.dns.time_ns));
            CHECK(p->dns[0].tcp);
            CHECK(p->dns[0].name == "Every.Table.example");
            CHECK(p->dns[0].unparsed.find("(700 bytes, 39 captured)") != std::string::npos);
        }
        if (!plan.pid || *plan.pid == e.membership.proc.tgid) {
            const MembershipRow& r = e.membership;
            const Process* p = m.find(m.key_for(boot, r.proc.tgid, static_cast<int64_t>(r.proc.start_ns)));
            REQUIRE(p);
            CHECK(p->start_ns == static_cast<int64_t>(r.proc.start_ns));
            CHECK(p->nspid == r.nspid);
            CHECK(p->comm == r.comm);
            REQUIRE(p->pod_entries.size() == 1);
            const PodEntry& entry = p->pod_entries[0];
            CHECK(entry.time_ns == r.time_ns);
            CHECK(entry.kind == PodEntryKind::move);
            CHECK(entry.pod.uid == r.pod_uid);
            // The container comes from the cgroups row the membership names.
            CHECK(entry.pod.container_id == e.cgroup.container_id);
            CHECK(entry.by == m.key_for(boot, r.by.tgid, static_cast<int64_t>(r.by.start_ns)));
        }
    }
}

TEST_CASE("retention's --retain cutoff and the model's wall clock agree across a clock step", "[journal][retention]") {
    // The run starts at boot time S, wall time W. Batches are committed at
    // S+100 s and S+200 s; at S+250 s the wall clock has been stepped an hour
    // forward, and a sample says so; more batches follow. By the nearest
    // sample, the batch at S+200 s is already on the stepped clock.
    constexpr int64_t kSec = 1'000'000'000;
    const RunInfo info = run_info();
    const int64_t S = info.started_ns, W = info.started_wall_ns;
    auto write = [&](const std::string& path) {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(info).ok());
        auto batch_at = [&](int64_t at, uint32_t child) {
            ForkEvent f;
            f.time_ns = static_cast<uint64_t>(at - 1);
            f.parent = {100, 900'000'000'000};
            f.child = {child, static_cast<uint64_t>(at - 1)};
            REQUIRE(w->add(f, "").ok());
            REQUIRE(w->commit(at).ok());
        };
        batch_at(S + 100 * kSec, 101);                                       // batch 1
        batch_at(S + 200 * kSec, 102);                                       // batch 2
        REQUIRE(w->add_clock_sample(S + 250 * kSec, W + 3850 * kSec).ok());  // batch 3
        batch_at(S + 260 * kSec, 103);                                       // batch 4
        batch_at(S + 300 * kSec, 104);                                       // batch 5
        batch_at(S + 400 * kSec, 105);                                       // batch 6, never pruned
        return std::move(*w);
    };

    TempDir dir;
    const std::string model_path = dir / "model.db";
    { auto w = write(model_path); }
    Model m;
    {
        auto r = JournalReader::open(model_path);
        REQUIRE(r.ok());
        REQUIRE(r->load_into(m).ok());
        m.finish();
    }
    std::vector<int64_t> wall(7);  // batch -> its wall time by the model
    {
        auto db = Database::open_read("file:" + model_path + "?mode=ro");
        REQUIRE(db.ok());
        auto q = db->prepare("SELECT batch_id, committed_ns FROM batches");
        REQUIRE(q.ok());
        while (q->step() == SQLITE_ROW)
            wall.at(static_cast<size_t>(q->int64(0))) = m.to_wall(info.boot_id, q->int64(1));
    }
    REQUIRE(wall[1] == W + 100 * kSec);
    REQUIRE(wall[2] == W + 3800 * kSec);  // the S+250 s sample is nearer than the run's start

    struct Case {
        const char* name;
        int64_t cutoff;
        int64_t through;  // 0: nothing pruned
    };
    for (const Case c : {Case{"at batch 1", wall[1], 0}, Case{"just after batch 1", wall[1] + 1, 1},
                         Case{"at batch 2", wall[2], 1}, Case{"just after batch 2", wall[2] + 1, 2},
                         Case{"just after batch 4", wall[4] + 1, 4}, Case{"at batch 5", wall[5], 4}}) {
        SECTION(c.name) {
            const std::string path = dir / "j.db";
            auto w = write(path);
            RetentionOptions options;
            options.retain_ns = 24 * 3600 * kSec;
            options.retain_slack_ns = 0;
            Retention retention(options);
            auto pruned = retention.step(w, S + 500 * kSec, c.cutoff + options.retain_ns);
            REQUIRE(pruned.ok());
            const auto through = static_cast<size_t>(c.through);
            // The batches pruned are older than the cutoff by the model's
            // clock, and the first one kept is not.
            CHECK(wall[through + 1] >= c.cutoff);
            if (through == 0) {
                CHECK_FALSE(pruned->has_value());
            } else {
                REQUIRE(pruned->has_value());
                CHECK((*pruned)->through_batch == c.through);
                CHECK(wall[through] < c.cutoff);
                auto through_wall = query_int(w.database_for_tests(), "SELECT through_wall_ns FROM prunes");
                REQUIRE(through_wall.ok());
                CHECK(*through_wall == wall[through]);
            }
        }
    }
}

// Run by the test below in a process of its own, whose OpenSSL has no
// provider with SHA-256.
TEST_CASE("without SHA-256 the writer refuses with an error (child)", "[.][openssl-child]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().message ==
          path + ": cannot open journal: SHA-256 failed in OpenSSL (missing, or a digest call failed)");
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("without SHA-256 the writer refuses with an error, and nothing throws", "[journal]") {
    TempDir dir;
    // An OpenSSL configuration that loads only the null provider: no
    // algorithm at all, as on a broken installation.
    const std::string conf = dir / "openssl.cnf";
    lineage::test::write_file(conf,
                              "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                              "[provider_sect]\nnull = null_sect\n[null_sect]\nactivate = 1\n");
    char self[4096] = {};
    REQUIRE(readlink("/proc/self/exe", self, sizeof(self) - 1) > 0);
    const int status = std::system(
        fmt::format("OPENSSL_CONF='{}' '{}' '[openssl-child]' >'{}' 2>&1", conf, self, dir / "out.txt").c_str());
    INFO(lineage::test::read_file(dir / "out.txt"));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_THAT(lineage::test::read_file(dir / "out.txt"), Catch::Contains("All tests passed"));
}

TEST_CASE("row_bytes counts the bytes of the columns that can hold them", "[journal][sqlite]") {
    // export bounds its queue of decoded rows by these bytes: a column the
    // schema declares INTEGER or REAL is left out (decoding reads a number
    // from it), any other counts, whatever a damaged row put in it.
    auto db = Database::open_write(":memory:");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE t (n INTEGER, r REAL, s TEXT, b BLOB, u)").ok());
    REQUIRE(db->exec("INSERT INTO t VALUES (123456, 1.5, 'text', x'00ff41', 'untyped'), "
                     "(1, 2.0, NULL, x'', 99), ('a string in an integer column', 3, 'é', NULL, NULL)")
                .ok());
    auto st = db->prepare("SELECT n, r, s, b, u, length(s) FROM t ORDER BY rowid");
    REQUIRE(st.ok());
    const std::vector<int> columns = st->byte_columns();
    CHECK(columns == std::vector<int>{2, 3, 4, 5});  // s, b, u and the expression
    std::vector<size_t> bytes;
    while (st->step() == SQLITE_ROW) bytes.push_back(st->row_bytes(columns));
    // 'text' 4, x'00ff41' 3, 'untyped' 7, length 4 as text 1; then NULL 0,
    // x'' 0, 99 as text 2, NULL 0; then 'é' 2 (UTF-8), NULL, NULL, 1.
    CHECK(bytes == std::vector<size_t>{4 + 3 + 7 + 1, 0 + 0 + 2 + 0, 2 + 0 + 0 + 1});
}

TEST_CASE("a copied row reads as its statement read it, every type and conversion", "[journal][sqlite]") {
    // export decodes rows copied on another thread (CopiedRows): what a
    // decoder gets must not depend on which of the two it reads, even in
    // a journal whose columns hold what the writer never puts there.
    auto db = Database::open_read(":memory:");
    REQUIRE(db.ok());
    auto st = db->prepare(
        "SELECT 42, -9223372036854775808, 'text', x'00ff41', NULL, 1.5, '17abc', '', x'', 1e300, ' 12 ' "
        "UNION ALL SELECT 0, 7, x'41', 'b', 3, NULL, NULL, 'zz', 2, -0.25, '9'");
    REQUIRE(st.ok());
    CopiedRows rows;
    std::vector<std::vector<std::pair<int64_t, std::string>>> seen;  // what the statement itself read
    while (st->step() == SQLITE_ROW) {
        const int n = sqlite3_column_count(st->get());
        // Copy first: reading the statement's columns converts them.
        CHECK(rows.add(*st) > 0);
        std::vector<std::pair<int64_t, std::string>> row;
        for (int i = 0; i < n; ++i) {
            const int64_t v = st->int64(i);
            row.emplace_back(v, st->blob(i));
        }
        seen.push_back(row);
    }
    REQUIRE(rows.size() == 2);
    REQUIRE(seen.size() == 2);
    for (size_t r = 0; r < 2; ++r) {
        const RowCopy copy = rows.row(r);
        REQUIRE(copy.columns() == 11);
        for (int i = 0; i < copy.columns(); ++i) {
            INFO("row " << r << " column " << i);
            CHECK(copy.int64(i) == seen[r][static_cast<size_t>(i)].first);
            CHECK(copy.text(i) == seen[r][static_cast<size_t>(i)].second);
            CHECK(copy.blob(i) == seen[r][static_cast<size_t>(i)].second);
        }
        // Past the last column: as SQLite answers, nothing.
        CHECK(copy.int64(11) == 0);
        CHECK(copy.text(-1).empty());
    }
    CHECK(rows.row(0).text(1) == "-9223372036854775808");
    CHECK(rows.row(0).text(3) == std::string("\0\xff"
                                             "A",
                                             3));
    CHECK(rows.row(0).int64(6) == 17);
    // A place kept for a row read another way: no columns, between two
    // copies whose columns stay theirs.
    rows.add_empty();
    st->reset();
    REQUIRE(st->step() == SQLITE_ROW);
    rows.add(*st);
    REQUIRE(rows.size() == 4);
    CHECK(rows.row(2).columns() == 0);
    CHECK(rows.row(2).int64(0) == 0);
    CHECK(rows.row(2).text(0).empty());
    CHECK(rows.row(3).columns() == 11);
    CHECK(rows.row(3).text(2) == "text");
    CHECK(rows.row(1).text(7) == "zz");
    rows.clear();
    CHECK(rows.size() == 0);
}

}  // namespace test_journal
