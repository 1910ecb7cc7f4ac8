// Hostile journals: copies of a real journal edited the way an attacker with
// root on the node could, each read by reconstruct and verify (the binary,
// timed and measured) and appended to by a record session. Each must give a
// defined result, quickly and in little memory, with the same message from
// all three, and nothing written to the journal.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "hashchain.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "model.h"
#include "precedents.h"
#include "record_session.h"
#include "sqlite.h"
#include "test_files.h"
#include "test_util.h"
#include "verify.h"

namespace test_hostile {

using namespace lineage;
using fixture::RunResult;
using fixture::TempDir;
using lineage::test::Copy;
using nlohmann::json;

namespace {

// Sanitizers slow lineage down and grow its resident set (shadow memory);
// the plain build is held to the figures.
constexpr double kSlowdown = lineage::test::kLineageSanitized ? 4 : 1;
constexpr int64_t kMaxRssKib = (lineage::test::kLineageSanitized ? 256 : 64) * 1024;
constexpr double kMaxSeconds = 2 * kSlowdown;

// Read in pieces: a crafted journal may be a gigabyte.
std::string file_digest(const std::string& path) {
    Sha256 sha;
    sha.begin();
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
        sha.update(buf.data(), static_cast<size_t>(in.gcount()));
    }
    return to_hex(sha.finish());
}

// What must not change while a tool reads a journal: its bytes, its mtime
// and its directory (no -wal, -shm or journal left or made beside it).
struct Evidence {
    std::string digest;
    int64_t mtime = 0;
    std::set<std::string> files;
    static Evidence of(const std::string& path) {
        Evidence e;
        e.digest = file_digest(path);
        e.mtime = lineage::test::mtime_ns(path);
        for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
            e.files.insert(f.path().filename().string());
        }
        return e;
    }
    bool operator==(const Evidence&) const = default;
};

}  // namespace

}  // namespace test_hostile

namespace Catch {
template <>
struct StringMaker<test_hostile::Evidence> {
    static std::string convert(const test_hostile::Evidence& e) {
        std::string files;
        for (const auto& f : e.files) files += " " + f;
        return fmt::format("{{sha256 {}, mtime {}, files{}}}", e.digest.substr(0, 16), e.mtime, files);
    }
};
}  // namespace Catch

namespace test_hostile {

namespace {

// An event source with nothing to say: the session opens its journal,
// writes its first batch and stops at the first turn of its loop.
class QuietSource : public EventSource {
public:
    Result<int> poll(int) override { return 0; }
    Result<int> drain() override { return 0; }
    Result<DropCounters> drops() const override { return DropCounters{}; }
    const std::string& hooks() const override { return hooks_; }

private:
    std::string hooks_ = "quiet";
};

struct RecordOutcome {
    Result<int> status = Error{"not run"};
    std::vector<std::string> said;
    std::string anchors;
    double seconds = 0;
};

RecordOutcome record_to(const std::string& journal, const std::string& anchor_log) {
    RecordOptions options;
    options.journal = journal;
    options.anchor_log = anchor_log;
    RecordHooks hooks;
    RecordOutcome out;
    hooks.start_source = [](const ProbeCgroups&, RecordSink) -> Result<std::unique_ptr<EventSource>> {
        return std::unique_ptr<EventSource>(std::make_unique<QuietSource>());
    };
    hooks.catch_stop_signals = [] {};
    hooks.stop_requested = [] { return true; };
    hooks.say = [&](const std::string& line) { out.said.push_back(line); };
    const auto t0 = std::chrono::steady_clock::now();
    out.status = run_record_session(options, hooks);
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (std::filesystem::exists(anchor_log)) out.anchors = lineage::test::read_file(anchor_log);
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// The incident journal (fixture_journal.h): a pod with a tree to show.
const std::string& base_journal() {
    static TempDir dir;
    static const std::string path = [] {
        const std::string p = dir / "base.db";
        fixture::incident_fixture().write(p);
        return p;
    }();
    return path;
}

std::vector<std::string> reconstruct_args(const std::string& journal) {
    return {"reconstruct",
            "--journal",
            journal,
            "--pod",
            fixture::kIncidentPodName,
            "--since",
            fixture::kIncidentSince,
            "--until",
            fixture::kIncidentUntil,
            "--format",
            "json"};
}

// How the three tools must end on a crafted journal.
enum class Expect {
    refused,      // a schema that is not lineage's: reconstruct 2, verify 1 (schema findings), record beside it
    not_journal,  // the header says no lineage journal this build reads: exit 2 from all three, record too
    oversized,    // a value over the length limit: reconstruct 2, verify 1 (the row), record appends
    rewritten,    // committed rows changed (through the WAL): reconstruct shows them, verify 1, record appends
};

struct Crafted {
    std::string name;
    std::function<void(Copy&)> craft;
    Expect expect;
    std::string message;  // what each tool says about it
};

// sqlite_schema rows edited in place, as `sqlite3` with writable_schema
// (or a hex editor) can.
std::string schema_edit(const std::string& statements) {
    return "PRAGMA writable_schema = ON; " + statements + "; PRAGMA writable_schema = OFF;";
}

constexpr const char* kEndless =
    "WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT n FROM forever";

std::vector<Crafted> crafted_journals() {
    std::vector<Crafted> cases;
    const auto& compiled = journal_schema_objects();
    REQUIRE(compiled.ok());
    // A view over an endless recursive query in place of each table.
    for (const SchemaObject& o : *compiled) {
        if (o.type != "table") continue;
        cases.push_back(Crafted{"a view in place of table " + o.name,
                                [name = o.name](Copy& c) {
                                    c.sql(fmt::format("ALTER TABLE {0} RENAME TO {0}_gone; CREATE VIEW {0} AS {1}",
                                                      name, kEndless));
                                },
                                Expect::refused, fmt::format("view {0} replaces table {0}", o.name)});
    }
    cases.push_back(
        Crafted{"an extra trigger",
                [](Copy& c) { c.sql("CREATE TRIGGER wipe AFTER INSERT ON exec BEGIN DELETE FROM exec; END"); },
                Expect::refused, "trigger wipe is not part of the schema"});
    cases.push_back(Crafted{"an extra view", [](Copy& c) { c.sql(fmt::format("CREATE VIEW endless AS {}", kEndless)); },
                            Expect::refused, "view endless is not part of the schema"});
    cases.push_back(Crafted{"an extra table", [](Copy& c) { c.sql("CREATE TABLE notes (x)"); }, Expect::refused,
                            "table notes is not part of the schema"});
    cases.push_back(Crafted{"an extra index", [](Copy& c) { c.sql("CREATE INDEX exec_by_argv ON exec (argv)"); },
                            Expect::refused, "index exec_by_argv is not part of the schema"});
    cases.push_back(Crafted{"an object SQLite cannot parse",
                            [](Copy& c) {
                                c.sql(
                                    schema_edit("INSERT INTO sqlite_schema VALUES ('table', 'junk', 'junk', 0, "
                                                "'CREATE TABLE junk (')"));
                            },
                            Expect::refused, "table junk is not part of the schema"});
    // Statistics claiming that every index matches every row, so that
    // SQLite's planner would rather scan: the writer never runs ANALYZE.
    cases.push_back(Crafted{"a lying sqlite_stat1",
                            [](Copy& c) {
                                c.sql(
                                    "ANALYZE; DELETE FROM sqlite_stat1; INSERT INTO sqlite_stat1 "
                                    "SELECT tbl_name, name, '100000000 100000000 100000000' FROM sqlite_schema "
                                    "WHERE type = 'index'; INSERT INTO sqlite_stat1 VALUES ('exec', NULL, '10')");
                            },
                            Expect::refused, "table sqlite_stat1 is not part of the schema"});
    cases.push_back(Crafted{"a lying sqlite_stat4",
                            [](Copy& c) {
                                c.sql(schema_edit(
                                    "CREATE TABLE sqlite_stat4 (tbl, idx, neq, nlt, ndlt, sample); INSERT INTO "
                                    "sqlite_stat4 SELECT tbl_name, name, '100000000 1', '0 0', '0 0', x'00' FROM "
                                    "sqlite_schema WHERE type = 'index'"));
                            },
                            Expect::refused, "table sqlite_stat4 is not part of the schema"});
    // An index whose expression a reader would have to evaluate (the writer
    // on every insert, integrity_check on every row): a function no
    // reader has. Made with a known function, then edited.
    cases.push_back(Crafted{"an expression index",
                            [](Copy& c) {
                                c.sql("CREATE INDEX exec_by_fn ON exec (abs(tgid))");
                                c.sql(
                                    schema_edit("UPDATE sqlite_schema SET sql = 'CREATE INDEX exec_by_fn ON exec "
                                                "(attacker_function(argv))' WHERE name = 'exec_by_fn'"));
                            },
                            Expect::refused, "index exec_by_fn is not part of the schema"});
    // user_version claiming a version older than the tables: what the
    // newest version added is then one object too many.
    if (kJournalSchemaVersion > kOldestJournalSchemaVersion) {
        // A table, or an index when the newest version added indexes only:
        // the first that schema/journal.sql creates, as the check names it.
        std::string newest;
        const std::string_view sql = journal_schema_sql();
        size_t first_at = std::string_view::npos;
        for (const std::string type : {"table", "index"}) {
            for (const SchemaObject& o : *compiled) {
                if (!newest.empty() && newest.rfind("table", 0) == 0) break;
                if (o.type != type || first_schema_version(o) != kJournalSchemaVersion) continue;
                const size_t at = sql.find(" " + o.name + " ");
                if (newest.empty() || at < first_at) {
                    newest = o.type + " " + o.name;
                    first_at = at;
                }
            }
        }
        REQUIRE(!newest.empty());
        cases.push_back(
            Crafted{"user_version older than the tables",
                    [](Copy& c) { c.sql(fmt::format("PRAGMA user_version = {}", kJournalSchemaVersion - 1)); },
                    Expect::refused, fmt::format("{} is not part of the schema", newest)});
    }
    cases.push_back(Crafted{"user_version newer than this lineage",
                            [](Copy& c) { c.sql(fmt::format("PRAGMA user_version = {}", kJournalSchemaVersion + 1)); },
                            Expect::not_journal,
                            fmt::format("journal schema version {} is not supported", kJournalSchemaVersion + 1)});
    cases.push_back(Crafted{"another application_id", [](Copy& c) { c.sql("PRAGMA application_id = 305419896"); },
                            Expect::not_journal, "not a lineage journal (SQLite database of another application)"});
    // 900 MB of argv in a row of the pod: a zeroblob is written as it is
    // stored, without 900 MB in this process.
    cases.push_back(Crafted{"a 900 MB argv",
                            [](Copy& c) {
                                c.sql(
                                    "PRAGMA journal_mode = DELETE; UPDATE exec SET argv = zeroblob(943718400), "
                                    "truncated = 0 WHERE rowid = (SELECT min(rowid) FROM exec WHERE tgid = 18296)");
                            },
                            Expect::oversized, "larger than any lineage writes"});
    // A -wal beside the journal whose frames rewrite a committed row: to
    // SQLite, and so to every reader, part of the journal.
    cases.push_back(Crafted{"a WAL rewriting committed rows",
                            [](Copy& c) {
                                auto db = Database::open_write(c.path);
                                REQUIRE(db.ok());
                                int off = 0;
                                sqlite3_db_config(db->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &off);
                                REQUIRE(db->exec("PRAGMA wal_autocheckpoint = 0; UPDATE exec SET argv = "
                                                 "CAST('curl' || x'00' || 'http://example.com/harmless' AS BLOB) "
                                                 "WHERE tgid = 18296")
                                            .ok());
                            },
                            Expect::rewritten, "the rows of batch"});
    return cases;
}

}  // namespace

TEST_CASE("hostile journals: a defined result from reconstruct, verify and record, fast, small, untouched",
          "[hostile][journal]") {
    for (const Crafted& c : crafted_journals()) {
        DYNAMIC_SECTION(c.name) {
            TempDir dir;
            Copy copy(base_journal(), dir / "j.db");
            c.craft(copy);
            const std::string j = copy.path;
            const Evidence before = Evidence::of(j);

            // reconstruct: a one-line refusal naming the object, or the tree.
            RunResult r = fixture::run_lineage(reconstruct_args(j), dir.path(), {}, 30);
            INFO("reconstruct: status " << r.status << ", " << r.wall_s << " s, " << r.maxrss_kib << " KiB\n"
                                        << r.err << r.out.substr(0, 2000));
            CHECK_FALSE(r.killed);
            CHECK(r.wall_s < kMaxSeconds);
            CHECK(r.maxrss_kib < kMaxRssKib);
            CHECK(Evidence::of(j) == before);
            switch (c.expect) {
                case Expect::refused:
                    CHECK(r.status == 2);
                    CHECK_THAT(r.err, Catch::StartsWith("lineage reconstruct: " + j +
                                                        ": the journal's schema is "
                                                        "not lineage's: " +
                                                        c.message));
                    CHECK_THAT(r.err, Catch::Contains("lineage verify"));
                    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
                    CHECK(r.out.empty());
                    break;
                case Expect::not_journal:
                case Expect::oversized:
                    CHECK(r.status == 2);
                    CHECK_THAT(r.err, Catch::Contains(c.message));
                    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
                    break;
                case Expect::rewritten:
                    CHECK(r.status == 0);
                    CHECK_THAT(r.out, Catch::Contains("http://example.com/harmless"));
                    break;
            }

            // verify: a finding (exit 1), or the same error as reconstruct.
            RunResult v = fixture::run_lineage({"verify", "--journal", j, "--format", "json"}, dir.path(), {}, 30);
            INFO("verify: status " << v.status << ", " << v.wall_s << " s, " << v.maxrss_kib << " KiB\n"
                                   << v.err << v.out.substr(0, 4000));
            CHECK_FALSE(v.killed);
            CHECK(v.wall_s < kMaxSeconds);
            CHECK(v.maxrss_kib < kMaxRssKib);
            CHECK(Evidence::of(j) == before);
            if (c.expect == Expect::not_journal) {
                CHECK(v.status == 2);
                CHECK_THAT(v.err, Catch::Contains(c.message));
            } else {
                CHECK(v.status == 1);
                json doc = json::parse(v.out);
                const json& verdict = doc.at("journals").at(0);
                std::set<std::string> kinds, details;
                for (const auto& f : verdict.at("findings")) {
                    kinds.insert(f.at("kind").get<std::string>());
                    details.insert(f.at("detail").get<std::string>());
                }
                const std::string all = joined(std::vector<std::string>(details.begin(), details.end()));
                INFO(all);
                switch (c.expect) {
                    case Expect::refused:
                        CHECK(verdict.at("status") == "tampered");
                        CHECK(kinds.count("schema"));
                        CHECK(std::any_of(details.begin(), details.end(),
                                          [&](const std::string& d) { return d.rfind(c.message, 0) == 0; }));
                        break;
                    case Expect::oversized:
                        CHECK(verdict.at("status") == "tampered");
                        CHECK(kinds.count("modified"));
                        CHECK_THAT(all, Catch::Contains(c.message));
                        break;
                    case Expect::rewritten:
                        CHECK(verdict.at("status") == "tampered");
                        CHECK(kinds.count("modified"));
                        CHECK(verdict.at("read_from_copy") == true);
                        break;
                    case Expect::not_journal:
                        break;
                }
            }

            // record: a journal it must not append to is left as it is.
            TempDir elsewhere;
            const std::string anchors = elsewhere / "anchors.log";
            RecordOutcome rec = record_to(j, anchors);
            const std::string said = joined(rec.said);
            INFO("record: " << (rec.status ? fmt::format("status {}", *rec.status) : rec.status.error().message) << ", "
                            << rec.seconds << " s\n"
                            << said << rec.anchors);
            CHECK(rec.seconds < kMaxSeconds);
            const std::string beside = journal_beside(j, 2);
            switch (c.expect) {
                case Expect::refused: {
                    REQUIRE(rec.status.ok());
                    CHECK(*rec.status == 0);
                    CHECK_THAT(said, Catch::Contains(j + ": the journal's schema is not lineage's: " + c.message));
                    CHECK_THAT(said, Catch::Contains("this run records to " + beside));
                    CHECK_THAT(rec.anchors, Catch::Contains(" journal=" + beside + " refused=" + j));
                    Evidence after = Evidence::of(j);
                    after.files.erase(std::filesystem::path(beside).filename().string());
                    // The run's heartbeat is beside the journal it was given
                    // (its lock is there too), not beside the one it wrote.
                    after.files.erase(std::filesystem::path(j).filename().string() + ".heartbeat");
                    CHECK(after == before);
                    auto verdict = verify_journal(beside);
                    REQUIRE(verdict.ok());
                    CHECK(verdict->status() == "whole");
                    break;
                }
                case Expect::not_journal:
                    REQUIRE_FALSE(rec.status.ok());
                    CHECK_THAT(rec.status.error().message, Catch::Contains(c.message));
                    CHECK(Evidence::of(j) == before);
                    break;
                case Expect::oversized:
                case Expect::rewritten:
                    // The schema is lineage's: record appends, as after any
                    // restart. The edit is the chain's to show, and still does.
                    REQUIRE(rec.status.ok());
                    CHECK(*rec.status == 0);
                    CHECK_FALSE(std::filesystem::exists(beside));
                    auto verdict = verify_journal(j);
                    REQUIRE(verdict.ok());
                    CHECK(verdict->status() == "tampered");
                    CHECK(verdict->runs.size() == 2);
                    break;
            }
        }
    }
}

TEST_CASE("read anyway with --force-schema: a journal with objects added, with a warning, never through a view",
          "[hostile][journal]") {
    TempDir dir;
    {
        Copy c(base_journal(), dir / "extra.db");
        c.sql(fmt::format("CREATE INDEX exec_by_argv ON exec (argv); CREATE VIEW endless AS {}", kEndless));
    }
    RunResult clean = fixture::run_lineage(reconstruct_args(base_journal()), dir.path());
    REQUIRE(clean.status == 0);
    std::vector<std::string> args = reconstruct_args(dir / "extra.db");
    args.push_back("--force-schema");
    RunResult r = fixture::run_lineage(args, dir.path(), {}, 30);
    INFO(r.err << r.out);
    REQUIRE(r.status == 0);
    json doc = json::parse(r.out);
    const json& w = doc.at("warnings").at(0);
    CHECK(w.at("kind") == "schema");
    CHECK_THAT(w.at("message").get<std::string>(),
               Catch::Contains("index exec_by_argv is not part of the schema (and 1 more)"));
    CHECK_THAT(w.at("message").get<std::string>(), Catch::Contains("--force-schema"));
    CHECK_THAT(r.err, Catch::Contains("lineage: warning: " + (dir / "extra.db")));
    // The same trees as from the journal it was copied from.
    CHECK(doc.at("trees") == json::parse(clean.out).at("trees"));

    // Views never run, forced or not: exec replaced by an endless one is
    // an error at once.
    {
        Copy c(base_journal(), dir / "view.db");
        c.sql(fmt::format("ALTER TABLE exec RENAME TO exec_gone; CREATE VIEW exec AS {}", kEndless));
    }
    args = reconstruct_args(dir / "view.db");
    args.push_back("--force-schema");
    r = fixture::run_lineage(args, dir.path(), {}, 30);
    INFO(r.err);
    CHECK_FALSE(r.killed);
    CHECK(r.wall_s < kMaxSeconds);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::StartsWith("lineage reconstruct: " + (dir / "view.db") + ": cannot read exec"));
}

namespace {

// The plan of every statement the loader runs for `args` on `journal`.
std::map<std::string, std::string> loader_plans(const std::string& journal, const LoadPlan& plan) {
    ReadOptions options;
    options.force_schema = true;
    auto reader = JournalReader::open(journal, options);
    REQUIRE(reader.ok());
    std::set<std::string> statements;
    sqlite3_trace_v2(
        reader->db().get(), SQLITE_TRACE_STMT,
        [](unsigned, void* ctx, void* p, void*) {
            static_cast<std::set<std::string>*>(ctx)->insert(sqlite3_sql(static_cast<sqlite3_stmt*>(p)));
            return 0;
        },
        &statements);
    Model model;
    REQUIRE(reader->load_into(model, plan).ok());
    sqlite3_trace_v2(reader->db().get(), 0, nullptr, nullptr);
    std::map<std::string, std::string> plans;
    for (const auto& sql : statements) {
        if (sql.rfind("SELECT", 0) != 0) continue;
        auto stmt = reader->db().prepare("EXPLAIN QUERY PLAN " + sql);
        REQUIRE(stmt.ok());
        std::string text;
        while (stmt->step() == SQLITE_ROW) text += stmt->text(3) + "\n";
        plans[sql] = text;
    }
    return plans;
}

// The plan of every statement `reconstruct --new` runs on `journal` for
// the incident pod's curl, the host's journalctl and the exfil destination
// (JournalReader::find_precedents), each searched up to far after them.
std::map<std::string, std::string> precedent_plans(const std::string& journal) {
    ReadOptions options;
    options.force_schema = true;
    auto reader = JournalReader::open(journal, options);
    REQUIRE(reader.ok());
    Model model;
    REQUIRE(reader->load_into(model, LoadPlan{}).ok());
    model.finish();
    PrecedentQuery query;
    const int64_t later = fixture::kWall0 + 86'400'000'000'000;
    query.binaries[BinaryKey{fixture::kIncidentPodUid, "/usr/bin/curl"}] = later;
    query.binaries[BinaryKey{"", "/bin/journalctl"}] = later;
    query.destinations[DestinationKey{fixture::kIncidentPodUid, "10.0.0.1", 80}] = later;
    std::set<std::string> statements;
    sqlite3_trace_v2(
        reader->db().get(), SQLITE_TRACE_STMT,
        [](unsigned, void* ctx, void* p, void*) {
            static_cast<std::set<std::string>*>(ctx)->insert(sqlite3_sql(static_cast<sqlite3_stmt*>(p)));
            return 0;
        },
        &statements);
    Precedents found;
    REQUIRE(reader->find_precedents(model, query, found).ok());
    sqlite3_trace_v2(reader->db().get(), 0, nullptr, nullptr);
    // The incident pod's curl was exec'd, so its first exec is found.
    CHECK(found.binaries.count(BinaryKey{fixture::kIncidentPodUid, "/usr/bin/curl"}) == 1);
    std::map<std::string, std::string> plans;
    for (const auto& sql : statements) {
        if (sql.rfind("SELECT", 0) != 0) continue;
        auto stmt = reader->db().prepare("EXPLAIN QUERY PLAN " + sql);
        REQUIRE(stmt.ok());
        std::string text;
        while (stmt->step() == SQLITE_ROW) text += stmt->text(3) + "\n";
        plans[sql] = text;
    }
    return plans;
}

}  // namespace

TEST_CASE("planted statistics and indexes change no plan of --new's look-ups", "[hostile][journal][new]") {
    TempDir dir;
    {
        Copy c(base_journal(), dir / "planted.db");
        c.sql(
            "ANALYZE; DELETE FROM sqlite_stat1; INSERT INTO sqlite_stat1 SELECT tbl_name, name, "
            "'100000000 100000000 100000000' FROM sqlite_schema WHERE type = 'index'; INSERT INTO sqlite_stat1 "
            "SELECT name, NULL, '1' FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'; "
            "CREATE INDEX connect_everything ON connect (daddr, dport, tgid, start_ns, batch);");
    }
    auto clean = precedent_plans(base_journal());
    auto planted = precedent_plans(dir / "planted.db");
    CHECK(planted.size() == clean.size());
    // Every look-up of an event table is a SEARCH through the index it
    // names: never a read of the whole exec or connect table.
    const std::regex event_scan("SCAN (fork|exec|exit|connect|snapshot|memberships)\\b");
    size_t event_lookups = 0;
    for (const auto& [sql, text] : clean) {
        INFO(sql << "\n" << text);
        CHECK_FALSE(std::regex_search(text, event_scan));
        CHECK(planted[sql] == text);
        CHECK(text.find("connect_everything") == std::string::npos);
        if (sql.find("INDEXED BY") != std::string::npos) ++event_lookups;
    }
    CHECK(event_lookups >= 5);  // exec by base and by pod, snapshot, memberships, connect
}

TEST_CASE("planted statistics and indexes change no plan of the loader", "[hostile][journal]") {
    TempDir dir;
    {
        Copy c(base_journal(), dir / "planted.db");
        // Every index said to match every row, every table said to be tiny,
        // stat4 samples beside, and an index that would cover the pod query.
        c.sql(
            "ANALYZE; DELETE FROM sqlite_stat1; INSERT INTO sqlite_stat1 SELECT tbl_name, name, "
            "'100000000 100000000 100000000' FROM sqlite_schema WHERE type = 'index'; INSERT INTO sqlite_stat1 "
            "SELECT name, NULL, '1' FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'; "
            "CREATE INDEX exec_everything ON exec (pod_uid, tgid, start_ns, batch);");
        c.sql(schema_edit(
            "CREATE TABLE sqlite_stat4 (tbl, idx, neq, nlt, ndlt, sample); INSERT INTO sqlite_stat4 SELECT tbl_name, "
            "name, '100000000 1', '0 0', '0 0', x'00' FROM sqlite_schema WHERE type = 'index'"));
    }
    std::vector<std::pair<std::string, LoadPlan>> plans;
    // The targeted plans' own statements: in a journal this small, most of
    // them would rather read the tables whole (LoadPlan::whole_rows_per_process),
    // as the plan "everything" below does.
    LoadPlan targeted;
    targeted.everything = false;
    targeted.whole_rows_per_process = 0;
    LoadPlan pod = targeted;
    pod.pod = fixture::kIncidentPodName;
    plans.push_back({"pod", pod});
    LoadPlan pid = targeted;
    pid.pid = 18294;
    plans.push_back({"pid", pid});
    LoadPlan descendants = targeted;
    descendants.descendants_of = 18201;
    plans.push_back({"descendants", descendants});
    // The pod's processes and ancestors read as clusters of start times,
    // each of its own (LoadPlan::cluster_seeds).
    LoadPlan clusters = pod;
    clusters.cluster_seeds = 1;
    clusters.cluster_spread = INT64_MAX;
    plans.push_back({"pod, as clusters", clusters});
    // Issue 23's plans: a window alone, a binary, a namespace, a container.
    LoadPlan window = targeted;
    window.since_wall_ns = fixture::kWall0;
    window.until_wall_ns = fixture::kWall0 + 300'000'000'000;
    plans.push_back({"window", window});
    LoadPlan binary = window;
    binary.binary_glob = "curl";
    plans.push_back({"binary", binary});
    LoadPlan ns = window;
    ns.namespace_ = fixture::kIncidentNamespace;
    plans.push_back({"namespace", ns});
    LoadPlan container = window;
    container.container = fixture::kIncidentContainer.substr(0, 12);
    plans.push_back({"container", container});
    plans.push_back({"everything", LoadPlan{}});
    // The window again, free to read the tables whole: it counts their rows
    // first, at the two ends of each b-tree, whatever the statistics say.
    LoadPlan whole = window;
    whole.whole_rows_per_process = LoadPlan{}.whole_rows_per_process;
    plans.push_back({"window, read whole", whole});
    // No plan but everything's reads an event table whole: each of its
    // statements on one is a look-up (SEARCH), never a SCAN, whatever the
    // statistics say.
    const std::regex event_scan("SCAN (fork|exec|exit|connect|snapshot|memberships)\\b");
    for (const auto& [name, plan] : plans) {
        INFO(name);
        auto clean = loader_plans(base_journal(), plan);
        auto planted = loader_plans(dir / "planted.db", plan);
        REQUIRE(clean.size() > 3);
        CHECK(planted.size() == clean.size());
        // A statement named the index, and SQLite searched it as `how`.
        auto searched = [&](const char* index, const char* how) {
            INFO(index);
            CHECK(std::any_of(clean.begin(), clean.end(), [&](const auto& e) {
                return e.first.find(std::string("INDEXED BY ") + index) != e.first.npos &&
                       e.second.find(std::string(how) + index) != e.second.npos;
            }));
        };
        if (name == "window") {
            // Its processes started in the window, table by table through
            // the *_by_start indexes (schema version 9).
            for (const char* index : {"exec_by_start", "exit_by_start", "memberships_by_start"})
                searched(index, "USING INDEX ");
        }
        if (name == "pod, as clusters") {
            // Counted and picked from the *_by_start indexes' entries alone.
            for (const char* index : {"fork_by_start", "exec_by_start", "exit_by_start"})
                searched(index, "USING COVERING INDEX ");
        }
        if (plan.whole_rows_per_process && !plan.everything) {
            // It did count, and then did read the tables whole.
            CHECK(std::any_of(clean.begin(), clean.end(),
                              [](const auto& e) { return e.first == rowid_span_sql("exec"); }));
            CHECK(std::any_of(clean.begin(), clean.end(),
                              [](const auto& e) { return e.first.find("FROM exec NOT INDEXED") != e.first.npos; }));
        }
        // The window's pass over a boot's rows by rowid range (and its
        // search back for the boot's last unexited set) is the one look-up
        // that planted statistics calling a table tiny turn into a scan
        // (there is no index to name for a rowid range): on a clean
        // journal it is a SEARCH; on a planted one the reading fences
        // (--timeout) bound it, and verify reports sqlite_stat1.
        auto rowid_range = [](const std::string& sql) {
            return sql.find("WHERE rowid >= ?1") != sql.npos || sql.find("WHERE rowid < ?1") != sql.npos;
        };
        for (const auto& [sql, text] : clean) {
            INFO(sql << "\n" << text);
            if (!plan.everything && !plan.whole_rows_per_process) CHECK_FALSE(std::regex_search(text, event_scan));
            if (!rowid_range(sql)) CHECK(planted[sql] == text);
        }
        for (const auto& [sql, text] : planted) {
            INFO(sql << "\n" << text);
            CHECK(text.find("exec_everything") == std::string::npos);
            if (rowid_range(sql)) continue;
            if (!plan.everything && !plan.whole_rows_per_process) CHECK_FALSE(std::regex_search(text, event_scan));
            // A look-up by process or pod stays a look-up (a whole-table
            // read says so: NOT INDEXED, even with a WHERE on its rows).
            if (sql.find("WHERE") != std::string::npos && sql.find("batches") == std::string::npos &&
                sql.find("LIMIT") == std::string::npos && sql.find("NOT INDEXED") == std::string::npos) {
                CHECK(text.find("SCAN") == std::string::npos);
            }
        }
    }
}

TEST_CASE("a reading connection's fences: time budget, length limit, no views, no triggers, nothing written",
          "[hostile][journal]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    std::filesystem::copy_file(base_journal(), path);
    auto db = Database::open_read(sqlite_file_uri(path) + "?mode=ro&immutable=1");
    REQUIRE(db.ok());
    REQUIRE(db->fence_for_reading(200'000'000).ok());

    // A statement that runs on without a row is stopped past the budget,
    // and says so.
    auto endless = db->prepare(
        "WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever");
    REQUIRE(endless.ok());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(endless->step() == SQLITE_INTERRUPT);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(took >= 0.2);
    CHECK(took < 2 * kSlowdown);
    CHECK_THAT(db->errmsg(), Catch::StartsWith("stopped after 0.2 s without a row, its time budget (--timeout)"));
    // Each row gets the whole budget: a slow reader of rows is not stopped.
    auto rows = db->prepare("SELECT rowid FROM exec");
    REQUIRE(rows.ok());
    int n = 0;
    while (rows->step() == SQLITE_ROW) {
        if (n++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    CHECK(n > 1);
    CHECK(sqlite3_errcode(db->get()) == SQLITE_DONE);

    // Values past the length limit are refused before they are allocated.
    auto big = db->prepare("SELECT zeroblob(?1)");
    REQUIRE(big.ok());
    big->bind(1, int64_t{ReadLimits::kLength} + 1);
    CHECK(big->step() == SQLITE_TOOBIG);
    CHECK_THAT(db->errmsg(), Catch::Contains("larger than any lineage writes"));
    // Nothing attached, no long SQL, no writes.
    CHECK_FALSE(db->exec("ATTACH ':memory:' AS other").ok());
    CHECK_FALSE(db->prepare(std::string(ReadLimits::kSqlLength + 1, ' ') + "SELECT 1").ok());

    // A private copy (a journal with a -wal is read through one) is opened
    // read-write so that SQLite applies the WAL; fenced, it writes nothing.
    auto rw = Database::open_write(path);
    REQUIRE(rw.ok());
    REQUIRE(rw->fence_for_reading(kDefaultReadTimeoutNs).ok());
    CHECK_FALSE(rw->exec("DELETE FROM exec").ok());
    CHECK_FALSE(rw->exec("CREATE VIEW v AS SELECT 1").ok());
    // Views and triggers never run, even those made on this connection.
    auto plain = Database::open_write(dir / "scratch.db");
    REQUIRE(plain.ok());
    REQUIRE(plain
                ->exec("CREATE TABLE t (x); CREATE VIEW v AS SELECT x FROM t; CREATE TABLE log (x); CREATE TRIGGER "
                       "tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); END;")
                .ok());
    plain = Database();
    auto fenced = Database::open_write(dir / "scratch.db");
    REQUIRE(fenced.ok());
    REQUIRE(fenced->fence().ok());
    CHECK_FALSE(fenced->prepare("SELECT * FROM v").ok());
    REQUIRE(fenced->exec("INSERT INTO t VALUES (1)").ok());
    CHECK(*query_int(*fenced, "SELECT count(*) FROM log") == 0);
}

TEST_CASE("the reader refuses a journal whose schema is not lineage's before reading a row", "[hostile][journal]") {
    TempDir dir;
    Copy c(base_journal(), dir / "j.db");
    c.sql("CREATE TRIGGER quiet AFTER INSERT ON exec BEGIN SELECT 1; END; DROP INDEX exec_by_pod");
    auto refused = JournalReader::open(c.path);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message ==
          c.path +
              ": the journal's schema is not lineage's: trigger quiet is not part of the schema (and 1 more); run "
              "`lineage verify` on it to see what changed (--force-schema reads it anyway)");
    ReadOptions force;
    force.force_schema = true;
    auto forced = JournalReader::open(c.path, force);
    REQUIRE(forced.ok());
    CHECK_FALSE(forced->schema().ok());
    CHECK(forced->schema().tables_readable());
    REQUIRE(forced->schema().mismatches.size() == 2);
    CHECK(forced->schema().mismatches[1].message == "index exec_by_pod is missing");
    REQUIRE(forced->warnings().size() == 1);
    CHECK_THAT(forced->warnings()[0], Catch::Contains("read anyway (--force-schema)"));
    // A journal as lineage writes it has nothing to say.
    auto clean = JournalReader::open(base_journal());
    REQUIRE(clean.ok());
    CHECK(clean->schema().ok());
    CHECK(clean->warnings().empty());
}

TEST_CASE("schema mismatches: every object by type, name, table and SQL, names cut, the summary leads with tables",
          "[hostile][journal]") {
    const auto& compiled = journal_schema_objects();
    REQUIRE(compiled.ok());
    auto rows_of = [&](auto edit) {
        std::vector<SchemaRow> rows;
        for (const SchemaObject& o : *compiled) rows.push_back(SchemaRow{o.type, o.name, o.table, o.sql});
        edit(rows);
        SchemaComparer cmp(*compiled);
        for (const auto& r : rows) cmp.add(r);
        SchemaCheck check;
        check.mismatches = cmp.finish();
        check.omitted = cmp.omitted();
        return check;
    };
    CHECK(rows_of([](auto&) {}).ok());
    // Comments and white space are not the schema; anything else is.
    CHECK(rows_of([](auto& rows) { rows[0].sql = "  " + rows[0].sql + "\n-- a comment\n"; }).ok());
    auto find = [&](std::vector<SchemaRow>& rows, const std::string& name) -> SchemaRow& {
        for (auto& r : rows)
            if (r.name == name) return r;
        FAIL("no " << name);
        return rows[0];
    };
    auto one = [](const SchemaCheck& c) { return c.mismatches.size() == 1 ? c.mismatches[0].message : c.summary(); };
    CHECK(one(rows_of([&](auto& rows) { find(rows, "exec").sql += " "; })) == "");  // trailing space: the same
    CHECK(one(rows_of([&](auto& rows) {
              auto& e = find(rows, "exec");
              e.sql.replace(e.sql.find("argv"), 4, "argw");
          })) == "table exec differs from the schema");
    CHECK(one(rows_of([&](auto& rows) { find(rows, "exec_by_pod").table = "fork"; })) ==
          "index exec_by_pod differs from the schema");
    CHECK(one(rows_of([&](auto& rows) { find(rows, "exec_by_pod").sql_null = true; })) ==
          "index exec_by_pod differs from the schema");
    // A -- inside a quoted name is no comment: the name differs.
    CHECK(one(rows_of([&](auto& rows) {
              auto& e = find(rows, "exec");
              e.sql.replace(e.sql.find("argv"), 4, "\"argv -- \"");
          })) == "table exec differs from the schema");
    // Case: SQLite's names are case-insensitive, so EXEC would stand in for exec.
    auto shadow = rows_of([&](auto& rows) {
        find(rows, "exec").name = "exec_old";
        rows.push_back(SchemaRow{"view", "EXEC", "EXEC", "CREATE VIEW EXEC AS SELECT 1"});
    });
    CHECK_FALSE(shadow.tables_readable());
    CHECK(shadow.mismatches.front().on_table);
    // Doubled: a second row of a name, whichever SQLite takes.
    auto doubled = rows_of([&](auto& rows) { rows.push_back(find(rows, "exec")); });
    CHECK(one(doubled) == "a second table exec is not part of the schema");
    CHECK_FALSE(doubled.tables_readable());
    // An attacker's name is cut in the message, and so are many objects.
    auto long_name = rows_of([&](auto& rows) { rows.push_back(SchemaRow{"view", std::string(5000, 'v'), "", ""}); });
    CHECK(one(long_name) == "view " + std::string(64, 'v') + "... (5000 bytes) is not part of the schema");
    auto many = rows_of([&](auto& rows) {
        for (int i = 0; i < 500; ++i) rows.push_back(SchemaRow{"view", fmt::format("v{}", i), "", ""});
    });
    CHECK(many.mismatches.size() == kMaxSchemaMismatches);
    CHECK(many.omitted == 500 - kMaxSchemaMismatches);
    CHECK(many.summary() == "view v0 is not part of the schema (and 499 more)");
    // The summary names a replaced table first, whatever sqlite_schema's order.
    auto replaced = rows_of([&](auto& rows) {
        rows.insert(rows.begin(), SchemaRow{"trigger", "t", "exec", "CREATE TRIGGER t ..."});
        find(rows, "fork").type = "view";
    });
    CHECK(replaced.summary() == "view fork replaces table fork (and 1 more)");
}

}  // namespace test_hostile
