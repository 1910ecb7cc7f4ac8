// The hash chain and `lineage verify`: journals written by JournalWriter,
// then tampered with on a copy through SQLite, must be caught and located.
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "hashchain.h"
#include "journal_writer.h"
#include "sqlite.h"
#include "test_util.h"
#include "retention.h"
#include "verify.h"

using namespace lineage;
using fixture::run_lineage;
using fixture::run_process;
using fixture::RunResult;
using fixture::TempDir;
using nlohmann::json;

namespace {

constexpr const char* kBoot = "11111111-2222-3333-4444-555555555555";

RunInfo run_info(int64_t started_ns) {
    RunInfo r;
    r.boot_id = kBoot;
    r.node = "node-a";
    r.started_ns = started_ns;
    r.started_wall_ns = 1'776'848'400'000'000'000 + started_ns;
    r.version = "test";
    r.kernel = "6.1 test";
    r.hooks = "fork,exec,exit,connect";
    r.argv_cap = 4096;
    r.clk_tck = 100;
    r.recorder_pid = 4242;
    return r;
}

std::string nul_join(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += a + std::string(1, '\0');
    return s;
}

// Ten event rows: a fork, exec and exit of three processes, and a connect;
// when n is even also a loss record.
void add_events(JournalWriter& w, uint32_t& pid, uint64_t& t, int n) {
    for (int i = 0; i < 3; ++i, ++pid) {
        ForkEvent f;
        f.time_ns = t += 1'000'000;
        f.parent = {1, 500'000'000};
        f.child = {pid, t};
        f.parent_comm = "bash";
        REQUIRE(w.add(f, "").ok());
        ExecEvent e;
        e.time_ns = t += 1'000'000;
        e.proc = f.child;
        e.parent = f.parent;
        e.comm = "curl";
        e.binary = "/usr/bin/curl";
        e.argv = nul_join({"curl", "http://example.com/" + std::to_string(pid)});
        e.cgroup_path = "/system.slice/x.service";
        REQUIRE(w.add(e, "").ok());
        ExitEvent x;
        x.time_ns = t += 1'000'000;
        x.proc = f.child;
        x.code = i;
        x.comm = "curl";
        REQUIRE(w.add(x, "").ok());
    }
    ConnectEvent c;
    c.time_ns = t += 1'000'000;
    c.outcome_ns = t + 500;
    c.proc = {pid - 1, t};
    c.saddr = "10.0.0.1";
    c.daddr = "93.184.216.34";
    c.sport = 40000;
    c.dport = 80;
    c.established = true;
    REQUIRE(w.add(c, "").ok());
    if (n % 2 == 0) REQUIRE(w.add_loss(static_cast<int64_t>(t) - 500, static_cast<int64_t>(t), 7, "ringbuf_full").ok());
}

// One batch of add_events.
void write_event_batch(JournalWriter& w, uint32_t& pid, uint64_t& t, int n) {
    add_events(w, pid, t, n);
    REQUIRE(w.commit(static_cast<int64_t>(t += 1'000'000)).ok());
}

void write_start_batch(JournalWriter& w, uint64_t t) {
    for (uint32_t p = 1; p <= 3; ++p) {
        SnapshotRow s;
        s.time_ns = static_cast<int64_t>(t);
        s.tgid = p;
        s.ppid = p - 1;
        s.start_ns = p * 10'000'000;
        s.comm = "init";
        s.exe = "/sbin/init";
        s.argv = nul_join({"/sbin/init"});
        s.cgroup_path =
            "/kubepods.slice/kubepods-pod7c9e6679_7425_40de_944b_e07fc1f90ae7.slice/cri-containerd-"
            "4f1a2b3c.scope";
        REQUIRE(w.add_snapshot(s, "7c9e6679-7425-40de-944b-e07fc1f90ae7").ok());
    }
    REQUIRE(w.add_pod("7c9e6679-7425-40de-944b-e07fc1f90ae7", "my-app", "production", lineage::PodNameSource::log_dir).ok());
    REQUIRE(w.commit(static_cast<int64_t>(t + 1)).ok());
}

struct Sample {
    ChainHead run1_head;  // after run 1 stopped
    ChainHead head;       // the last batch
};

// Run 1: batch 1 (run row, clock sample, snapshot, pod), batches 2-7 (events),
// batch 8 (stop row and clock sample). Run 2, never stopped: batch 9 (start),
// 10-11 (events), 12 (a clock sample of its own), 13 (events).
Sample write_sample(const std::string& path) {
    Sample out;
    uint32_t pid = 1000;
    uint64_t t = 1'000'000'000'000;
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
        write_start_batch(*w, t);
        for (int b = 0; b < 6; ++b) write_event_batch(*w, pid, t, b);
        REQUIRE(w->end_run(static_cast<int64_t>(t + 5), 1'776'848'400'000'000'000 + static_cast<int64_t>(t + 5),
                           "signal", 60, 21)
                    .ok());
        out.run1_head = w->head();
        REQUIRE(out.run1_head.batch_id == 8);
    }
    t += 60'000'000'000;
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->head().batch_id == 8);
    REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
    write_start_batch(*w, t);
    write_event_batch(*w, pid, t, 1);
    write_event_batch(*w, pid, t, 2);
    REQUIRE(w->add_clock_sample(static_cast<int64_t>(t), 1'776'848'400'000'000'000 + static_cast<int64_t>(t)).ok());
    write_event_batch(*w, pid, t, 3);
    out.head = w->head();
    REQUIRE(out.head.batch_id == 13);
    return out;
}

// A working copy to tamper with, opened read-write: evidence is never touched.
struct Copy {
    std::string path;
    Copy(const std::string& from, const std::string& to) : path(to) {
        std::filesystem::copy_file(from, to);
        if (std::filesystem::exists(from + "-wal")) std::filesystem::copy_file(from + "-wal", to + "-wal");
    }
    void sql(const std::string& statements) {
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        auto st = db->exec(statements);
        INFO(statements);
        REQUIRE(st.ok());
    }
    int64_t scalar(const std::string& q) {
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        auto v = query_int(*db, q);
        INFO(q);
        REQUIRE(v.ok());
        return *v;
    }
};

JournalVerdict verify(const std::string& path) {
    auto v = verify_journal(path);
    INFO((v.ok() ? std::string() : v.error().message));
    REQUIRE(v.ok());
    return *v;
}

std::string describe(const JournalVerdict& v) {
    VerifyReport r;
    r.journals.push_back(v);
    return render_verify_text(r);
}

std::vector<const Finding*> of_kind(const JournalVerdict& v, FindingKind k) {
    std::vector<const Finding*> out;
    for (const auto& f : v.findings)
        if (f.kind == k) out.push_back(&f);
    return out;
}

std::string sha256_file(const std::string& path) {
    Sha256 sha;
    return to_hex(sha.digest(lineage::test::read_file(path)));
}

std::set<std::string> listing(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

// Big-endian helpers for the independent encoder below.
void be(std::string& out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_int(std::string& out, int64_t v) {
    out.push_back('\x01');
    be(out, static_cast<uint64_t>(v), 8);
}
void put_bytes(std::string& out, char type, const std::string& s) {
    out.push_back(type);
    be(out, s.size(), 4);
    out += s;
}
std::string sha256_raw(const std::string& bytes) {
    unsigned char md[32];
    unsigned int n = 0;
    REQUIRE(EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace

TEST_CASE("a journal as JournalWriter writes it verifies whole", "[verify]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    JournalVerdict v = verify(path);
    INFO(describe(v));
    CHECK(v.status() == "whole");
    CHECK(v.findings.empty());
    CHECK(v.integrity.empty());
    CHECK(v.user_version == kJournalSchemaVersion);
    CHECK(v.application_id == kJournalApplicationId);
    CHECK(v.batches == 13);
    CHECK(v.first_batch == 1);
    CHECK(v.last_batch == 13);
    REQUIRE(v.links.size() == 13);
    for (const auto& l : v.links) CHECK(l.verified);
    CHECK(v.links.back().hash == s.head.hash);

    Copy c(path, dir / "count.db");
    int64_t rows = 0;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        rows += c.scalar(std::string("SELECT count(*) FROM ") + table_name(table_at(i)));
    }
    CHECK(v.rows == rows);

    REQUIRE(v.runs.size() == 2);
    CHECK(v.runs[0].clean());
    CHECK(v.runs[0].stop_reason == "signal");
    CHECK(v.runs[0].first_batch == 1);
    CHECK(v.runs[0].last_batch == 8);
    CHECK(v.runs[0].events == 60);
    CHECK_FALSE(v.runs[1].clean());
    CHECK(v.runs[1].first_batch == 9);
    CHECK(v.runs[1].last_batch == 13);
    REQUIRE(v.gaps.size() == 1);
    CHECK(v.gaps[0].to_wall_ns > v.gaps[0].from_wall_ns);
    CHECK_FALSE(v.gaps[0].reboot);
    // Batches 2, 4, 6 of run 1 (n = 0, 2, 4) and 11 of run 2 (n = 2).
    CHECK(v.losses.size() == 4);
    for (const auto& l : v.losses) {
        CHECK(l.count == 7);
        CHECK(l.reason == "ringbuf_full");
        CHECK(l.to_wall_ns - l.from_wall_ns == 500);
    }
    std::string text = describe(v);
    CHECK_THAT(text, Catch::Contains("ends at batch 13 (run 2 was not stopped cleanly)"));
    CHECK_THAT(text, Catch::Contains("loss records: 4 (28 events)"));
    CHECK_THAT(text, Catch::Contains("13 of 13 links verify"));
}

TEST_CASE("each batch chains to the one before, across runs", "[verify][journal]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    auto stmt = db->prepare("SELECT batch_id, prev_hash, hash, length(row_marks) FROM batches ORDER BY batch_id");
    REQUIRE(stmt.ok());
    std::string prev(32, '\0');
    int64_t expect = 1;
    while (stmt->step() == SQLITE_ROW) {
        INFO("batch " << stmt->int64(0));
        CHECK(stmt->int64(0) == expect++);
        CHECK(stmt->blob(1) == prev);  // batch 1 chains to 32 zero bytes
        CHECK(stmt->blob(2).size() == 32);
        CHECK(stmt->blob(2) != prev);
        prev = stmt->blob(2);
    }
    CHECK(expect == 14);
    // Run 2's first batch (9) chains to run 1's stop batch (8): one chain.
    CHECK(std::string(reinterpret_cast<const char*>(s.run1_head.hash.data()), 32) != std::string(32, '\0'));
    CHECK(*query_int(*db, "SELECT count(*) FROM runs WHERE batch = 1") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM runs WHERE batch = 9") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM run_stops WHERE batch = 8") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM clock_samples WHERE batch = 12") == 1);
    CHECK(*query_int(*db, "SELECT row_count FROM batches WHERE batch_id = 12") == 0);
    // No row of any table sits outside a batch.
    for (size_t i = 0; i < kChainTableCount; ++i) {
        std::string t = table_name(table_at(i));
        INFO(t);
        CHECK(*query_int(*db, "SELECT count(*) FROM " + t + " WHERE batch NOT IN (SELECT batch_id FROM batches)") == 0);
    }
}

TEST_CASE("the batch link is the documented encoding", "[verify][hash-chain]") {
    // schema/hash-chain.md, implemented again here with nothing but OpenSSL:
    // one batch holding a run row, its clock sample and one exit row.
    TempDir dir;
    const std::string path = dir / "j.db";
    RunInfo info = run_info(5'000);
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(info).ok());
        ExitEvent x;
        x.time_ns = 6'000;
        x.proc = {77, 5'500};
        x.code = 3;
        x.signal = 0;
        x.comm = std::string("a\0b", 3);
        REQUIRE(w->add(x, "").ok());
        REQUIRE(w->commit(7'000).ok());
    }
    std::string run_row = "\x01";
    put_int(run_row, 1);
    put_bytes(run_row, '\x03', info.boot_id);
    put_bytes(run_row, '\x03', info.node);
    put_int(run_row, info.started_ns);
    put_int(run_row, info.started_wall_ns);
    put_bytes(run_row, '\x03', info.version);
    put_bytes(run_row, '\x03', info.kernel);
    put_bytes(run_row, '\x03', info.hooks);
    put_bytes(run_row, '\x03', info.filters_json);
    put_int(run_row, info.argv_cap);
    put_int(run_row, info.clk_tck);
    put_int(run_row, info.recorder_pid);
    std::string clock_row = "\x02";
    put_int(clock_row, 1);
    put_int(clock_row, info.started_ns);
    put_int(clock_row, info.started_wall_ns);
    std::string exit_row = "\x07";
    put_int(exit_row, 6'000);
    put_int(exit_row, 77);
    put_int(exit_row, 5'500);
    put_int(exit_row, 3);
    put_int(exit_row, 0);
    put_int(exit_row, 0);
    put_bytes(exit_row, '\x04', std::string("a\0b", 3));

    std::string link = "lineage-chain-v1" + std::string(32, '\0');
    be(link, 1, 8);      // batch_id
    be(link, 1, 8);      // run_id
    be(link, 7'000, 8);  // committed_ns
    be(link, 1, 8);      // row_count: the exit row only
    std::string marks;
    for (int tag = 1; tag <= 10; ++tag) {
        const std::string* row = tag == 1 ? &run_row : tag == 2 ? &clock_row : tag == 7 ? &exit_row : nullptr;
        link.push_back(static_cast<char>(tag));
        be(link, row ? 1 : 0, 4);
        if (row) {
            std::string d = sha256_raw(*row);
            link += d;
            marks.push_back(static_cast<char>(tag));
            be(marks, 1, 4);
            marks += d.substr(0, 4);
        }
    }
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    auto stmt = db->prepare("SELECT hash, prev_hash, row_marks FROM batches WHERE batch_id = 1");
    REQUIRE(stmt.ok());
    REQUIRE(stmt->step() == SQLITE_ROW);
    CHECK(stmt->blob(0) == sha256_raw(link));
    CHECK(stmt->blob(1) == std::string(32, '\0'));
    CHECK(stmt->blob(2) == marks);
}

TEST_CASE("the chain covers every column of every table", "[verify][hash-chain]") {
    // A column added to the schema but not to the encoding would be
    // unprotected: this fails until schema/hash-chain.md and
    // chain_columns() list it.
    TempDir dir;
    const std::string path = dir / "j.db";
    { REQUIRE(JournalWriter::open(path).ok()); }
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    std::set<std::string> tables;
    auto t = db->prepare("SELECT name FROM sqlite_schema WHERE type = 'table'");
    REQUIRE(t.ok());
    while (t->step() == SQLITE_ROW) tables.insert(t->text(0));
    std::set<std::string> chained = {"batches"};
    for (size_t i = 0; i < kChainTableCount; ++i) chained.insert(table_name(table_at(i)));
    CHECK(tables == chained);
    for (size_t i = 0; i < kChainTableCount; ++i) {
        std::string name = table_name(table_at(i));
        INFO(name);
        auto cols = db->prepare("SELECT name FROM pragma_table_info(?) ORDER BY cid");
        REQUIRE(cols.ok());
        cols->bind(1, name);
        std::string list;
        bool has_batch = false;
        while (cols->step() == SQLITE_ROW) {
            if (cols->text(0) == "batch") {
                has_batch = true;
                continue;
            }
            list += (list.empty() ? "" : ", ") + cols->text(0);
        }
        CHECK(has_batch);
        CHECK(list == chain_columns(table_at(i)));
        // And the document says the same.
        CHECK_THAT(lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/schema/hash-chain.md"),
                   Catch::Contains("| `" + name + "`") && Catch::Contains(chain_columns(table_at(i))));
    }
}

TEST_CASE("tampering is detected and located", "[verify][tamper]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_sample(path);
    Copy c(path, dir / "copy.db");

    SECTION("an edited argv") {
        int64_t batch = c.scalar("SELECT batch FROM exec WHERE rowid = 5");
        c.sql("UPDATE exec SET argv = CAST('curl' || char(0) || 'http://innocent.example/' AS BLOB) WHERE rowid = 5");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(v.findings.size() == 1);
        const Finding& f = v.findings[0];
        CHECK(f.kind == FindingKind::modified);
        CHECK(f.batch == batch);
        CHECK(f.table == "exec");
        CHECK(f.rowid == 5);
        CHECK_FALSE(f.rowid_inferred);
        CHECK_THAT(describe(v), Catch::Contains(fmt::format("batch {}, exec rowid 5: modified", batch)));
    }
    SECTION("a deleted exit row") {
        int64_t batch = c.scalar("SELECT batch FROM exit WHERE rowid = 8");
        c.sql("DELETE FROM exit WHERE rowid = 8");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(v.findings.size() == 1);
        const Finding& f = v.findings[0];
        CHECK(f.kind == FindingKind::deleted);
        CHECK(f.batch == batch);
        CHECK(f.table == "exit");
        CHECK(f.rowid == 8);
        CHECK(f.rowid_inferred);
    }
    SECTION("a fake process inserted into an existing batch") {
        c.sql(
            "INSERT INTO exec (batch, time_ns, tgid, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, "
            "parent_start_ns, parent_comm, comm, nodename, cgroup_id, cgroup_path, pod_uid, binary, argv, truncated) "
            "SELECT batch, time_ns + 1, 31337, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, parent_start_ns, "
            "parent_comm, comm, nodename, cgroup_id, cgroup_path, pod_uid, binary, argv, truncated "
            "FROM exec WHERE batch = 3 LIMIT 1");
        int64_t rowid = c.scalar("SELECT rowid FROM exec WHERE tgid = 31337");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(v.findings.size() == 1);
        const Finding& f = v.findings[0];
        CHECK(f.kind == FindingKind::added);
        CHECK(f.batch == 3);
        CHECK(f.table == "exec");
        CHECK(f.rowid == rowid);
    }
    SECTION("two batches reordered") {
        // Swap batches 4 and 5 whole: their headers and every row.
        std::string swap =
            "UPDATE batches SET batch_id = -1 WHERE batch_id = 4;"
            "UPDATE batches SET batch_id = 4 WHERE batch_id = 5;"
            "UPDATE batches SET batch_id = 5 WHERE batch_id = -1;";
        for (size_t i = 0; i < kChainTableCount; ++i) {
            std::string t = table_name(table_at(i));
            swap += "UPDATE " + t + " SET batch = CASE batch WHEN 4 THEN 5 ELSE 4 END WHERE batch IN (4, 5);";
        }
        c.sql(swap);
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        auto breaks = of_kind(v, FindingKind::chain_break);
        REQUIRE_FALSE(breaks.empty());
        CHECK(breaks[0]->batch == 4);  // the exact batch where the order breaks
        CHECK_THAT(breaks[0]->detail, Catch::Contains("prev_hash is the hash of batch 5"));
        CHECK_THAT(breaks[0]->detail, Catch::Contains("reordered"));
        // The rows travelled with their batch: none is reported as changed.
        CHECK(of_kind(v, FindingKind::modified).empty());
        CHECK(of_kind(v, FindingKind::added).empty());
        CHECK(of_kind(v, FindingKind::deleted).empty());
        CHECK(v.links[2].verified);  // batch 3 still verifies
        CHECK_FALSE(v.links[3].verified);
    }
    SECTION("run metadata edited") {
        c.sql("UPDATE runs SET node = 'elsewhere' WHERE run_id = 1");
        c.sql("DELETE FROM run_stops WHERE run_id = 1");
        int64_t clock_batch = c.scalar("SELECT batch FROM clock_samples WHERE rowid = 3");
        c.sql("UPDATE clock_samples SET wall_ns = wall_ns + 3600000000000 WHERE rowid = 3");
        c.sql("UPDATE pods SET name = 'other-app' WHERE batch = 9");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        std::set<std::tuple<std::string, int64_t, std::string>> got;
        for (const auto& f : v.findings) got.insert({finding_kind_name(f.kind), f.batch, f.table});
        CHECK(got == std::set<std::tuple<std::string, int64_t, std::string>>{
                         {"modified", 1, "runs"},
                         {"deleted", 8, "run_stops"},
                         {"modified", clock_batch, "clock_samples"},
                         {"modified", 9, "pods"},
                     });
    }
    SECTION("a batch header edited") {
        c.sql("UPDATE batches SET committed_ns = committed_ns + 1 WHERE batch_id = 6");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::batch_modified);
        CHECK(v.findings[0].batch == 6);
    }
    SECTION("row_count raised to hide nothing") {
        c.sql("UPDATE batches SET row_count = row_count + 1 WHERE batch_id = 6");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::batch_modified);
        CHECK_THAT(v.findings[0].detail, Catch::Contains("row_count says 12"));
    }
    SECTION("a value's storage class changed, bytes kept") {
        c.sql("UPDATE exit SET comm = CAST(comm AS TEXT) WHERE rowid = 2");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::modified);
        CHECK(v.findings[0].table == "exit");
        CHECK(v.findings[0].rowid == 2);
    }
    SECTION("the schema changed: a trigger added, an index dropped") {
        c.sql("CREATE TRIGGER quiet AFTER INSERT ON exec BEGIN SELECT 1; END; DROP INDEX exec_by_proc;");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        std::set<std::string> details;
        for (const auto* f : of_kind(v, FindingKind::schema)) details.insert(f->detail);
        CHECK(details ==
              std::set<std::string>{"index exec_by_proc is missing", "trigger quiet is not part of the schema"});
        CHECK(v.findings.size() == 2);
    }
    SECTION("a row outside any batch") {
        c.sql(
            "INSERT INTO fork (batch, time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, "
            "parent_comm) VALUES (99, 1, 1, 1, 2, 2, CAST('x' AS BLOB))");
        int64_t rowid = c.scalar("SELECT max(rowid) FROM fork");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::outside_batch);
        CHECK(v.findings[0].table == "fork");
        CHECK(v.findings[0].rowid == rowid);
        CHECK_THAT(v.findings[0].detail, Catch::Contains("batch 99"));
    }
    SECTION("a batch removed from the middle with its rows") {
        std::string del = "DELETE FROM batches WHERE batch_id = 6;";
        for (size_t i = 0; i < kChainTableCount; ++i) {
            del += std::string("DELETE FROM ") + table_name(table_at(i)) + " WHERE batch = 6;";
        }
        c.sql(del);
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::batch_missing);
        CHECK(v.findings[0].batch == 6);
    }
    SECTION("a batch edited and re-hashed breaks the next link") {
        // What an attacker with the encoding would do: change a row and
        // recompute that batch's hash. The link to the next batch breaks.
        c.sql("UPDATE exec SET argv = CAST('x' AS BLOB) WHERE batch = 5");
        {
            // Re-hash batch 5 as the writer would have.
            auto db = Database::open_write(c.path);
            REQUIRE(db.ok());
            BatchHasher hasher;
            RowEncoder enc;
            for (size_t i = 0; i < kChainTableCount; ++i) {
                ChainTable t = table_at(i);
                auto s = db->prepare(
                    fmt::format("SELECT {} FROM {} WHERE batch = 5 ORDER BY rowid", chain_columns(t), table_name(t)));
                REQUIRE(s.ok());
                while (s->step() == SQLITE_ROW) {
                    enc.begin(t);
                    for (int col = 0; col < sqlite3_column_count(s->get()); ++col) {
                        if (sqlite3_column_type(s->get(), col) == SQLITE_INTEGER)
                            enc.integer(s->int64(col));
                        else if (sqlite3_column_type(s->get(), col) == SQLITE_TEXT)
                            enc.text(s->text(col));
                        else
                            enc.blob(s->blob(col));
                    }
                    hasher.add_row(enc);
                }
            }
            auto h = db->prepare("SELECT run_id, committed_ns, row_count, prev_hash FROM batches WHERE batch_id = 5");
            REQUIRE(h.ok());
            REQUIRE(h->step() == SQLITE_ROW);
            Hash prev{};
            std::memcpy(prev.data(), h->blob(3).data(), 32);
            Hash link = hasher.link(prev, BatchHeader{5, h->int64(0), h->int64(1), h->int64(2)});
            std::string marks;
            hasher.row_marks(marks);
            auto u = db->prepare("UPDATE batches SET hash = ?, row_marks = ? WHERE batch_id = 5");
            REQUIRE(u.ok());
            u->bind_blob(1, std::string_view(reinterpret_cast<const char*>(link.data()), 32));
            u->bind_blob(2, marks);
            REQUIRE(u->step() == SQLITE_DONE);
        }
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        REQUIRE(v.findings.size() == 1);
        CHECK(v.findings[0].kind == FindingKind::chain_break);
        CHECK(v.findings[0].batch == 6);
        CHECK_THAT(v.findings[0].detail, Catch::Contains("not the hash of batch 5"));
    }
}

TEST_CASE("a journal cut at a batch boundary ends there and only an anchor shows it was truncated", "[verify][anchor]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    const std::string head_line =
        format_anchor_line(1'776'848'500'000'000'000, "node-a", kBoot, s.head.batch_id, s.head.hash);
    auto cut = [&](const std::string& name, int64_t after) {
        Copy c(path, dir / name);
        std::string del = fmt::format("DELETE FROM batches WHERE batch_id > {};", after);
        for (size_t i = 0; i < kChainTableCount; ++i) {
            del += fmt::format("DELETE FROM {} WHERE batch > {};", table_name(table_at(i)), after);
        }
        c.sql(del);
        return c.path;
    };

    SECTION("without an anchor: the journal ends, nothing is tampered") {
        std::string p = cut("cut10.db", 10);
        JournalVerdict v = verify(p);
        std::string text = describe(v);
        INFO(text);
        CHECK(v.status() == "whole");
        CHECK(v.findings.empty());
        CHECK_THAT(text, Catch::Contains("ends at batch 10 (run 2 was not stopped cleanly)"));
        RunResult r = run_lineage({"verify", "--journal", p}, dir.path());
        CHECK(r.status == 0);
        // Cut inside run 1, before its stop row: run 1 now looks killed.
        std::string p5 = cut("cut5.db", 5);
        JournalVerdict v5 = verify(p5);
        CHECK(v5.status() == "whole");
        CHECK(v5.runs.size() == 1);
        CHECK_THAT(describe(v5), Catch::Contains("ends at batch 5 (run 1 was not stopped cleanly)"));
    }
    SECTION("with a later anchor: truncated after batch N, not tampered") {
        std::string p = cut("cut10.db", 10);
        VerifyReport report;
        report.journals.push_back(verify(p));
        auto a = parse_anchor(head_line);
        REQUIRE(a.ok());
        check_anchors(report, {*a});
        std::string text = render_verify_text(report);
        INFO(text);
        CHECK(report.journals[0].status() == "truncated");
        CHECK(report.journals[0].findings.empty());
        REQUIRE(report.anchors.size() == 1);
        CHECK(report.anchors[0].status == AnchorStatus::beyond_end);
        CHECK_FALSE(report.whole());
        CHECK_THAT(text, Catch::Contains("anchor not in chain"));
        CHECK_THAT(text, Catch::Contains("truncated after batch 10"));
        RunResult r = run_lineage({"verify", "--journal", p, "--anchor", head_line}, dir.path());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Catch::Contains("truncated after batch 10"));
        // An anchor of a batch that is still there is found.
        const std::string early = format_anchor_line(1, "node-a", kBoot, s.run1_head.batch_id, s.run1_head.hash);
        RunResult ok = run_lineage({"verify", "--journal", p, "--anchor", early}, dir.path());
        INFO(ok.out);
        CHECK(ok.status == 0);
    }
}

TEST_CASE("anchors are found, or reported not in the chain", "[verify][anchor]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    const std::string hex = to_hex(s.head.hash);
    const std::string line = format_anchor_line(1'776'848'500'000'000'000, "node-a", kBoot, 13, s.head.hash);

    SECTION("as a hash and as a whole anchor line") {
        RunResult r = run_lineage({"verify", "--journal", "j.db", "--anchor", hex, "--anchor", line + "\n", "--anchor",
                                   to_hex(s.run1_head.hash)},
                                  dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("anchor found: hash=" + hex + " at batch 13 of j.db"));
        CHECK_THAT(r.out, Catch::Contains("anchor found: node=node-a batch=13 hash=" + hex));
        CHECK_THAT(r.out, Catch::Contains("at batch 8 of j.db"));
    }
    SECTION("a hash the chain does not hold") {
        std::string other(64, 'a');
        RunResult r = run_lineage({"verify", "--journal", "j.db", "--anchor", other}, dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Catch::Contains("anchor not in chain: hash=" + other));
        CHECK_THAT(r.out, Catch::Contains("result: NOT whole"));
    }
    SECTION("a rewritten chain: the anchor's batch has another hash") {
        Hash other{};
        other[0] = 1;
        RunResult r = run_lineage(
            {"verify", "--journal", "j.db", "--anchor", format_anchor_line(1, "node-a", kBoot, 7, other)}, dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Catch::Contains("anchor not in chain"));
        CHECK_THAT(r.out, Catch::Contains("batch 7 of j.db has another hash"));
    }
    SECTION("something that is no anchor is a usage error") {
        RunResult r = run_lineage({"verify", "--journal", "j.db", "--anchor", "deadbeef"}, dir.path());
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::StartsWith("lineage verify: --anchor: 'deadbeef' is neither"));
    }
    SECTION("anchor lines round-trip") {
        auto a = parse_anchor(format_anchor_line(0, "my node%", "boot", 42, s.head.hash));
        REQUIRE(a.ok());
        CHECK(a->node == "my node%");
        CHECK(a->boot_id == "boot");
        CHECK(a->batch == 42);
        CHECK(a->hash == s.head.hash);
        CHECK(a->time == "1970-01-01T00:00:00.000000000Z");
    }
}

TEST_CASE("verify leaves the journal byte for byte as it was", "[verify][evidence]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_sample(path);
    // A live-looking copy too: main file plus -wal, as a recorder leaves it.
    std::filesystem::create_directory(dir / "live");
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(2'000'000'000'000)).ok());
        uint32_t pid = 5000;
        uint64_t t = 2'000'000'000'000;
        write_event_batch(*w, pid, t, 1);
        std::filesystem::copy_file(path, dir / "live/j.db");
        std::filesystem::copy_file(path + "-wal", dir / "live/j.db-wal");
    }
    for (const std::string& p : {path, dir / "live/j.db"}) {
        INFO(p);
        const std::string parent = std::filesystem::path(p).parent_path().string();
        const std::string sum = sha256_file(p);
        const int64_t mtime = lineage::test::mtime_ns(p);
        const bool has_wal = std::filesystem::exists(p + "-wal");
        const std::string wal_sum = has_wal ? sha256_file(p + "-wal") : "";
        const auto files = listing(parent);
        chmod(parent.c_str(), 0555);
        RunResult r = run_lineage({"verify", "--journal", p}, "/");
        chmod(parent.c_str(), 0755);
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK(sha256_file(p) == sum);
        CHECK(lineage::test::mtime_ns(p) == mtime);
        if (has_wal) CHECK(sha256_file(p + "-wal") == wal_sum);
        CHECK(listing(parent) == files);
        if (has_wal) CHECK_THAT(r.out, Catch::Contains("read with its -wal file"));
    }
}

TEST_CASE("files that are no journal are errors naming the file", "[verify]") {
    TempDir dir;
    write_sample(dir / "good.db");
    lineage::test::write_file(dir / "text.db", "not a journal at all, not even SQLite\n");
    {
        auto db = Database::open_write(dir / "other.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec("CREATE TABLE t (x)").ok());
    }
    std::filesystem::copy_file(dir / "good.db", dir / "v7.db");
    {
        auto db = Database::open_write(dir / "v7.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec("PRAGMA user_version = 7").ok());
    }
    struct Case {
        std::string file, expect;
    };
    for (const Case& c :
         {Case{"missing.db", "No such file or directory"}, Case{"text.db", "not a lineage journal"},
          Case{"other.db", "not a lineage journal"}, Case{"v7.db", "schema version 7 is not supported"}}) {
        INFO(c.file);
        RunResult r = run_lineage({"verify", "--journal", "good.db", "--journal", c.file}, dir.path());
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::StartsWith("lineage verify: " + c.file + ": "));
        CHECK_THAT(r.err, Catch::Contains(c.expect));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    // A file whose pages are damaged is a finding (exit 1), not an error.
    std::string bytes = lineage::test::read_file(dir / "good.db");
    // Page 3 (the header's page size is big-endian at offset 16).
    const size_t page = static_cast<size_t>(static_cast<uint8_t>(bytes[16])) << 8 | static_cast<uint8_t>(bytes[17]);
    REQUIRE(bytes.size() >= 3 * page);
    for (size_t i = page * 2; i < page * 3; ++i) bytes[i] = static_cast<char>(0xA5);
    lineage::test::write_file(dir / "broken.db", bytes);
    RunResult r = run_lineage({"verify", "--journal", "broken.db"}, dir.path());
    INFO(r.out << r.err);
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Catch::Contains("broken.db: DAMAGED"));
    // The schema page itself damaged: still a finding, not "no hash chain".
    bytes = lineage::test::read_file(dir / "good.db");
    for (size_t i = 100; i < page; ++i) bytes[i] = static_cast<char>(0xA5);
    lineage::test::write_file(dir / "broken1.db", bytes);
    r = run_lineage({"verify", "--journal", "broken1.db"}, dir.path());
    INFO(r.out << r.err);
    CHECK(r.status != 0);
    CHECK(r.err.find("no hash chain") == std::string::npos);
}

TEST_CASE("verify --format json", "[verify][json]") {
    TempDir dir;
    write_sample(dir / "j.db");
    Copy c(dir / "j.db", dir / "bad.db");
    c.sql("UPDATE exec SET argv = CAST('x' AS BLOB) WHERE rowid = 4");
    int64_t batch = c.scalar("SELECT batch FROM exec WHERE rowid = 4");

    RunResult r = run_lineage(
        {"verify", "--journal", "j.db", "--journal", "bad.db", "--anchor", std::string(64, 'b'), "--format", "json"},
        dir.path());
    INFO(r.out << r.err);
    CHECK(r.status == 1);
    json doc = json::parse(r.out);
    CHECK(doc.at("whole") == false);
    REQUIRE(doc.at("journals").size() == 2);
    const json& good = doc["journals"][0];
    CHECK(good.at("path") == "j.db");
    CHECK(good.at("status") == "whole");
    CHECK(good.at("chain").at("batches") == 13);
    CHECK(good.at("chain").at("verified_links") == 13);
    CHECK(good.at("chain").at("head").at("batch") == 13);
    CHECK(good.at("end").at("clean") == false);
    CHECK(good.at("end").at("run") == 2);
    CHECK(good.at("runs").size() == 2);
    CHECK(good.at("runs")[0].at("clean") == true);
    CHECK(good.at("gaps").size() == 1);
    CHECK(good.at("losses").at("records") == 4);
    CHECK(good.at("losses").at("events") == 28);
    CHECK(good.at("findings").empty());
    const json& bad = doc["journals"][1];
    CHECK(bad.at("status") == "tampered");
    REQUIRE(bad.at("findings").size() == 1);
    CHECK(bad["findings"][0].at("kind") == "modified");
    CHECK(bad["findings"][0].at("batch") == batch);
    CHECK(bad["findings"][0].at("table") == "exec");
    CHECK(bad["findings"][0].at("rowid") == 4);
    REQUIRE(doc.at("anchors").size() == 1);
    CHECK(doc["anchors"][0].at("status") == "not_in_chain");

    SECTION("and it matches schema/verify.schema.json") {
        const std::string py = "/usr/bin/python3";
        INFO("needs /usr/bin/python3 with jsonschema: apt-get install python3-jsonschema");
        REQUIRE(run_process({py, "-c", "import jsonschema"}, "/").status == 0);
        const std::string schema = std::string(LINEAGE_SOURCE_DIR) + "/schema/verify.schema.json";
        lineage::test::write_file(dir / "out.json", r.out);
        RunResult ok = run_lineage({"verify", "--journal", "j.db", "--format", "json"}, dir.path());
        lineage::test::write_file(dir / "ok.json", ok.out);
        for (const std::string f : {"out.json", "ok.json"}) {
            RunResult v = run_process({py, "-m", "jsonschema", "-i", dir / f, schema}, "/");
            INFO(f << ": " << v.out << v.err);
            CHECK(v.status == 0);
        }
        // The schema is closed: an unknown field fails.
        json drift = json::parse(ok.out);
        drift["journals"][0]["extra"] = 1;
        lineage::test::write_file(dir / "drift.json", drift.dump());
        CHECK(run_process({py, "-m", "jsonschema", "-i", dir / "drift.json", schema}, "/").status != 0);
    }
}

TEST_CASE("verify --help and the man page agree", "[verify][docs]") {
    TempDir dir;
    RunResult help = run_lineage({"verify", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    std::string man = lineage::test::read_file(std::string(LINEAGE_SOURCE_DIR) + "/man/lineage-verify.1");
    REQUIRE_FALSE(man.empty());
    for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXIT STATUS",
                                ".SH EXAMPLES", ".SH FILES", ".SH SEE ALSO", ".SH JSON OUTPUT"}) {
        CHECK_THAT(man, Catch::Contains(section));
    }
    // troff escapes its dashes.
    std::string plain = std::regex_replace(man, std::regex(R"(\\-)"), "-");
    plain = std::regex_replace(plain, std::regex(R"(\\f[BIRP])"), "");
    // Every long option of --help is documented, and every one documented exists.
    std::set<std::string> in_help, in_man;
    const std::regex long_option(R"(--[a-z][a-z-]+)");
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), long_option); it != std::sregex_iterator();
         ++it) {
        in_help.insert(it->str());
    }
    const auto opts_at = plain.find(".SH OPTIONS"), opts_end = plain.find(".SH", opts_at + 4);
    std::istringstream opt_lines(plain.substr(opts_at, opts_end - opts_at));
    for (std::string l; std::getline(opt_lines, l);) {
        if (l.rfind(".B", 0) != 0) continue;  // the option lines of .TP entries
        for (auto it = std::sregex_iterator(l.begin(), l.end(), long_option); it != std::sregex_iterator(); ++it) {
            in_man.insert(it->str());
        }
    }
    in_help.erase("--help");
    in_man.erase("--help");
    CHECK(in_help == in_man);
    // Every example of --help is in the man page's EXAMPLES.
    std::istringstream lines(help.out.substr(help.out.find("Examples:")));
    std::string line;
    int examples = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("  lineage verify", 0) != 0) continue;
        ++examples;
        CHECK_THAT(plain, Catch::Contains(line.substr(2)));
    }
    CHECK(examples >= 3);
    // The exit statuses are the code's.
    CHECK_THAT(help.out, Catch::Contains("0 whole, 1 tampering, damage or a missing anchor found, 2 error"));
}

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

// ---------------------------------------------------------------------------
// Retention: pruned journals verify from the first kept batch; deleting old
// batches without a prune in the chain is tampering.

namespace {
// SQL that deletes batches 1..through by hand, as someone with write access
// to the file would: their batches rows and the rows of the event tables,
// and with `run_metadata` also those of the tables a prune keeps.
std::string delete_batches_sql(int64_t through, bool run_metadata) {
    std::string sql;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (!table_in_version(t, kJournalSchemaVersion) || (!run_metadata && kept_when_pruned(t))) continue;
        sql += fmt::format("DELETE FROM {} WHERE batch <= {};", table_name(t), through);
    }
    return sql + fmt::format("DELETE FROM batches WHERE batch_id <= {};", through);
}

// write_sample, then prunes through `through` (with the writer that wrote
// it, as `record --max-size` does).
PruneResult prune_sample(const std::string& path, int64_t through) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    auto p = w->prune_through(through, "max-size", 2'000'000'000'000);
    INFO((p.ok() ? std::string() : p.error().message));
    REQUIRE(p.ok());
    return *p;
}
}  // namespace

TEST_CASE("a pruned journal verifies whole from its first kept batch", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    const int64_t events_before = Copy(path, dir / "before.db").scalar("SELECT count(*) FROM exec");
    PruneResult p = prune_sample(path, 9);  // all of run 1, and run 2's first batch
    CHECK(p.through_batch == 9);
    CHECK(p.batch_id == 14);
    // Run 1: 6 batches of 10 event rows, 3 loss rows, 3 snapshot rows; run 2's
    // first batch: 3 snapshot rows. Pods are kept.
    CHECK(p.rows == 6 * 10 + 3 + 3 + 3);

    JournalVerdict v = verify(path);
    INFO(describe(v));
    CHECK(v.status() == "whole");
    REQUIRE(v.pruned);
    CHECK(v.pruned->through_batch == 9);
    CHECK(v.pruned->prunes == 1);
    CHECK(v.pruned->rows == p.rows);
    CHECK(v.pruned->reason == "max-size");
    CHECK(v.first_batch == 10);
    CHECK(v.last_batch == 14);
    CHECK(describe(v).find("pruned: batches 1-9") != std::string::npos);
    // The metadata stays: both runs, run 1's stop, the pods.
    Copy c(path, dir / "after.db");
    CHECK(c.scalar("SELECT count(*) FROM runs") == 2);
    CHECK(c.scalar("SELECT count(*) FROM run_stops") == 1);
    CHECK(c.scalar("SELECT count(*) FROM pods") == 2);
    CHECK(c.scalar("SELECT count(*) FROM exec") == events_before - 6 * 3);
    CHECK(c.scalar("SELECT count(*) FROM exec WHERE batch <= 9") == 0);
    CHECK(c.scalar("SELECT count(*) FROM batches WHERE batch_id <= 9") == 0);

    SECTION("a second prune is cumulative") {
        PruneResult p2 = prune_sample(path, 11);
        CHECK(p2.batch_id == 15);
        JournalVerdict v2 = verify(path);
        INFO(describe(v2));
        CHECK(v2.status() == "whole");
        REQUIRE(v2.pruned);
        CHECK(v2.pruned->through_batch == 11);
        CHECK(v2.pruned->prunes == 2);
        CHECK(v2.pruned->rows == p.rows + p2.rows);
    }
    SECTION("an anchor of a pruned batch cannot be checked; the last pruned one can") {
        RunResult r = run_lineage(
            {"verify", "--journal", "j.db", "--anchor", format_anchor_line(1, "node-a", kBoot, 8, s.run1_head.hash)},
            dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("anchor pruned: node=node-a batch=8"));
        Hash other{};
        other[0] = 7;
        r = run_lineage({"verify", "--journal", "j.db", "--anchor", format_anchor_line(1, "node-a", kBoot, 9, other)},
                        dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Catch::Contains("batch 9 of j.db has another hash"));
    }
    SECTION("--format json names the prune and validates") {
        RunResult r = run_lineage({"verify", "--journal", "j.db", "--format", "json"}, dir.path());
        REQUIRE(r.status == 0);
        json doc = json::parse(r.out);
        const json& pr = doc.at("journals").at(0).at("pruned");
        CHECK(pr.at("through_batch") == 9);
        CHECK(pr.at("reason") == "max-size");
        CHECK(pr.at("rows") == p.rows);
    }
}

TEST_CASE("deleting old batches without a prune, or editing what a prune kept, is caught", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_sample(path);

    SECTION("the first batches deleted by hand: batches missing") {
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, true));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::batch_missing).size() == 1);
        CHECK(of_kind(v, FindingKind::batch_missing)[0]->detail == "the journal starts at batch 5: batches 1-4 are missing");
    }
    SECTION("a forged prune row with a batch that is not an integer") {
        // The digest and hash are what a real prune of batches 1-4 would
        // record; only its batch is not one the chain holds.
        Copy real(path, dir / "real.db");
        prune_sample(real.path, 4);
        const int64_t real_prune_batch = real.scalar("SELECT batch FROM prunes");
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, false) +
              fmt::format("ATTACH '{}' AS r; INSERT INTO prunes SELECT 13.5, through_batch, through_hash, "
                          "through_wall_ns, rows, kept_digest, reason FROM r.prunes WHERE batch = {};",
                          real.path, real_prune_batch));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        CHECK(!of_kind(v, FindingKind::batch_missing).empty());
        // The prune row is outside every batch, and so are the run rows of
        // batches 1-4 that it claimed to keep.
        std::set<std::string> tables;
        for (const Finding* f : of_kind(v, FindingKind::outside_batch)) tables.insert(f->table);
        CHECK(tables.count("prunes") == 1);
        CHECK(tables.count("runs") == 1);
    }
    SECTION("a forged prune row in an existing batch") {
        Copy real(path, dir / "real.db");
        prune_sample(real.path, 4);
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, false) +
              fmt::format("ATTACH '{}' AS r; INSERT INTO prunes SELECT 13, through_batch, through_hash, "
                          "through_wall_ns, rows, kept_digest, reason FROM r.prunes;",
                          real.path));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::added).size() >= 1);
        CHECK(of_kind(v, FindingKind::added)[0]->table == "prunes");
    }
    prune_sample(path, 4);
    SECTION("more batches deleted after a prune: batches missing, and the prune is named") {
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(6, false));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::batch_missing).size() == 1);
        CHECK_THAT(of_kind(v, FindingKind::batch_missing)[0]->detail,
                   Catch::Contains("batches 5-6 are missing (the last prune, in batch 14, deleted batches 1-4 only)"));
    }
    SECTION("a kept row of a pruned batch edited: modified") {
        Copy c(path, dir / "t.db");
        c.sql("UPDATE pods SET name = 'innocent' WHERE batch = 1");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::modified).size() == 1);
        CHECK_THAT(of_kind(v, FindingKind::modified)[0]->detail,
                   Catch::Contains("rows kept from pruned batches up to 4") && Catch::Contains("prune in batch 14"));
    }
    SECTION("a kept row added with a batch that is not an integer: outside a batch") {
        Copy c(path, dir / "t.db");
        c.sql("INSERT INTO pods (batch, pod_uid, name, namespace, source) VALUES (3.5, 'u', 'evil', 'ns', 'log-dir')");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::outside_batch).size() == 1);
        CHECK(of_kind(v, FindingKind::outside_batch)[0]->table == "pods");
    }
    SECTION("an event row left in a pruned batch: outside a batch") {
        Copy c(path, dir / "t.db");
        c.sql("INSERT INTO exit (batch, time_ns, tgid, start_ns, code, signal, core_dumped, comm) "
              "VALUES (3, 1, 2, 3, 0, 0, 0, x'')");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        CHECK(of_kind(v, FindingKind::outside_batch).size() == 1);
    }
    SECTION("the prune row edited: its batch does not verify") {
        Copy c(path, dir / "t.db");
        c.sql("UPDATE prunes SET rows = rows + 1");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::modified).size() == 1);
        CHECK(of_kind(v, FindingKind::modified)[0]->table == "prunes");
    }
}

TEST_CASE("retention prunes by size and by age, a chunk at a time", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    uint64_t t = 1'000'000'000'000;
    REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
    uint32_t pid = 1000;
    for (int b = 0; b < 400; ++b) write_event_batch(*w, pid, t, b);
    auto used = w->used_bytes();
    REQUIRE(used.ok());

    SECTION("by size: down to the low-water mark, then it stops") {
        RetentionOptions opt;
        opt.max_bytes = *used / 2;
        opt.chunk_rows = 500;
        Retention r(opt);
        int steps = 0;
        for (;; ++steps) {
            REQUIRE(steps < 100);
            auto p = r.step(*w, static_cast<int64_t>(t += 1'000'000), 0);
            REQUIRE(p.ok());
            if (!*p) break;
            CHECK((*p)->rows <= opt.chunk_rows + 10);  // whole batches: at most one batch over
        }
        CHECK(steps > 1);
        auto after = w->used_bytes();
        REQUIRE(after.ok());
        CHECK(*after <= opt.max_bytes * 9 / 10);
        CHECK(!r.cannot_meet_size());
        REQUIRE(w->commit(static_cast<int64_t>(t += 1'000'000)).ok());
        JournalVerdict v = verify(path);
        INFO(describe(v));
        CHECK(v.status() == "whole");
        REQUIRE(v.pruned);
        CHECK(v.pruned->prunes == steps);
        // Freed pages are reused: writing as much again grows the file little.
        const auto size_before = std::filesystem::file_size(path);
        for (int b = 0; b < 20; ++b) write_event_batch(*w, pid, t, b);
        CHECK(std::filesystem::file_size(path) <= size_before + 64 * 1024);
    }
    SECTION("by age: batches committed before the cutoff go, the rest stay") {
        RetentionOptions opt;
        opt.retain_ns = 1;
        opt.retain_slack_ns = 1'000'000'000;
        opt.chunk_rows = 1'000'000;
        Retention r(opt);
        // Batch committed_ns is t; its wall time is that plus the run's offset.
        const int64_t offset = 1'776'848'400'000'000'000;
        const int64_t cutoff_wall = offset + 1'000'000'000'000 + 200 * 10'000'000;  // ~ half of the batches
        // Within the slack of the oldest batch: nothing yet.
        auto none = r.step(*w, static_cast<int64_t>(t), offset + 1'000'000'000'000 + opt.retain_ns + 500'000'000);
        REQUIRE(none.ok());
        CHECK(!*none);
        auto p = r.step(*w, static_cast<int64_t>(t), cutoff_wall + opt.retain_ns);
        REQUIRE(p.ok());
        REQUIRE(*p);
        auto db = Database::open_read("file:" + path + "?mode=ro");
        REQUIRE(db.ok());
        CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM batches b WHERE b.committed_ns + {} < {}", offset,
                                          cutoff_wall)) == 0);
        CHECK(*query_int(*db, "SELECT count(*) FROM batches") > 150);
        JournalVerdict v = verify(path);
        INFO(describe(v));
        CHECK(v.status() == "whole");
        REQUIRE(v.pruned);
        CHECK(v.pruned->reason == "retain");
    }
}

TEST_CASE("a version 1 journal verifies and reads as it is, and record upgrades it to append", "[verify][journal]") {
    TempDir dir;
    // A journal written by lineage 0.1 (schema version 1), kept as it was.
    const std::string v1 = std::string(LINEAGE_SOURCE_DIR) + "/testdata/journals/v1-incident.journal";
    {
        JournalVerdict v = verify(v1);
        INFO(describe(v));
        CHECK(v.user_version == 1);
        CHECK(v.status() == "whole");
        RunResult r = run_lineage({"reconstruct", "--journal", v1, "--format", "json"}, dir.path());
        INFO(r.err);
        CHECK(r.status == 0);
        CHECK(json::parse(r.out).at("trees").size() > 0);
    }
    std::filesystem::copy_file(v1, dir / "j.db");
    std::filesystem::permissions(dir / "j.db", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    {
        auto w = JournalWriter::open(dir / "j.db");
        REQUIRE(w.ok());
        CHECK(w->head().batch_id == 5);
        RunInfo info = run_info(5'000'000'000'000);
        info.boot_id = "b0000000-0000-4000-8000-000000000001";
        REQUIRE(w->begin_run(info).ok());
        uint32_t pid = 9000;
        uint64_t t = 5'000'000'000'000;
        write_event_batch(*w, pid, t, 1);
    }
    JournalVerdict v = verify(dir / "j.db");
    INFO(describe(v));
    CHECK(v.user_version == 2);
    CHECK(v.status() == "whole");
    CHECK(v.runs.size() == 2);
}

TEST_CASE("decode_row gives back every value RowEncoder encoded", "[hash-chain]") {
    // The journal writer binds each row from its encoding, so a value the
    // decoder misreads would be stored other than hashed.
    RowEncoder enc;
    enc.begin(ChainTable::exec);
    enc.integer(-1);
    enc.integer(INT64_MAX);
    enc.text("pod");
    enc.blob(std::string("a\0b", 3));
    enc.blob("");
    enc.real(2.5);
    enc.null();
    std::vector<EncodedValue> got;
    decode_row(enc.encoded(), [&](const EncodedValue& v) { got.push_back(v); });
    REQUIRE(got.size() == 7);
    CHECK((got[0].type == RowEncoder::kInteger && got[0].integer == -1));
    CHECK((got[1].type == RowEncoder::kInteger && got[1].integer == INT64_MAX));
    CHECK((got[2].type == RowEncoder::kText && got[2].bytes == "pod"));
    CHECK((got[3].type == RowEncoder::kBlob && got[3].bytes == std::string_view("a\0b", 3)));
    CHECK((got[4].type == RowEncoder::kBlob && got[4].bytes.empty()));
    CHECK((got[5].type == RowEncoder::kReal && got[5].real == 2.5));
    CHECK(got[6].type == RowEncoder::kNull);
}
