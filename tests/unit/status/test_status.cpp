// `lineage status` without a kernel: the journal's lock held by this test
// (a second open file description conflicts as a second process would),
// heartbeats written by hand, and the clock given.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "fixture_journal.h"
#include "heartbeat.h"
#include "journal_lock.h"
#include "status.h"
#include "status_render.h"
#include "test_util.h"

namespace test_status {

using namespace lineage;
using fixture::run_lineage;
using fixture::run_process;
using fixture::RunResult;
using lineage::test::read_file;
using lineage::test::TempDir;
using lineage::test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;
constexpr const char* kBootId = "b0000000-0000-4000-8000-000000000001";

// The status of a journal at a given moment of a given boot.
struct Rig {
    TempDir dir;
    std::string journal = dir / "j.db";
    StatusContext context;
    std::optional<JournalLock> lock;

    Rig() {
        context.now_boot_ns = 5000 * kS;
        context.now_wall_ns = 1'776'848'400'000'000'000 + 5000 * kS;
        context.boot_id = kBootId;
    }
    // A journal with two runs, the last never stopped (test_util.h).
    lineage::test::Sample write_journal() { return lineage::test::write_sample(journal); }
    // A recorder holds it: this test, through another open of the file.
    void hold() {
        auto l = JournalLock::take(journal, false, 0);
        REQUIRE(l.ok());
        REQUIRE(l->state() == JournalLock::State::taken);
        lock.emplace(std::move(*l));
    }
    // A heartbeat of this process's recorder, written `age_ns` ago.
    Heartbeat heartbeat(int64_t age_ns, const std::string& phase = "recording") {
        struct stat st {};
        REQUIRE(stat(journal.c_str(), &st) == 0);
        Heartbeat h;
        h.phase = phase;
        h.pid = getpid();
        h.boot_id = kBootId;
        h.journal_dev = st.st_dev;
        h.journal_ino = st.st_ino;
        h.version = "0.1.0";
        h.node = "node-1";
        h.run_id = phase == "starting" ? 0 : 3;
        h.started_boot_ns = context.now_boot_ns - 3600 * kS;
        h.started_wall_ns = context.now_wall_ns - 3600 * kS;
        h.written_boot_ns = context.now_boot_ns - age_ns;
        h.written_wall_ns = context.now_wall_ns - age_ns;
        h.batch_interval_ns = 100 * kMs;
        h.argv_cap = 4096;
        h.ring_bytes = 8 << 20;
        h.anchor_interval_ns = 300 * kS;
        h.max_size_bytes = int64_t{2} << 30;
        h.last_batch = 600;
        h.last_commit_boot_ns = h.written_boot_ns - 30 * kMs;
        h.last_commit_wall_ns = h.written_wall_ns - 30 * kMs;
        h.run = {1'000'000, 0, 0, 0};
        h.last_minute = {6'000, 0, 0, 0};
        h.last_minute_span_ns = 60 * kS;
        h.anchor_batch = 590;
        h.anchor_wall_ns = h.written_wall_ns - 100 * kS;
        h.anchor_hash = std::string(64, 'c');
        return h;
    }
    void write(const Heartbeat& h) { REQUIRE(HeartbeatFile(journal + ".heartbeat", -1).write(h).ok()); }
    StatusReport status() {
        auto r = journal_status(journal, context);
        INFO((r ? "" : r.error().message));
        REQUIRE(r.ok());
        return std::move(*r);
    }
    std::string error() {
        auto r = journal_status(journal, context);
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    }
};

// Validates documents against schema/status.schema.json with the system
// Python's jsonschema; "" when valid, else the validator's words.
std::string schema_errors(const std::string& document) {
    TempDir dir;
    write_file(dir / "doc.json", document);
    RunResult r = run_process({"/usr/bin/python3", "-m", "jsonschema", "-i", dir / "doc.json",
                               std::string(LINEAGE_SOURCE_DIR) + "/schema/status.schema.json"},
                              "/");
    INFO("needs /usr/bin/python3 with jsonschema: apt-get install python3-jsonschema");
    REQUIRE(r.err.find("No module named") == std::string::npos);
    REQUIRE(r.err.find("SchemaError") == std::string::npos);
    return r.status == 0 ? "" : r.out + r.err;
}

void check_schema(const StatusReport& report) {
    const std::string doc = render_status_json(report);
    INFO(doc);
    CHECK(schema_errors(doc).empty());
}

}  // namespace

TEST_CASE("status: a journal nobody records", "[status]") {
    Rig rig;
    auto sample = rig.write_journal();
    auto r = rig.status();
    CHECK_FALSE(r.recording);
    CHECK(r.exit_status == kStatusNotRecording);
    CHECK(r.problems.empty());
    REQUIRE(r.summary);
    REQUIRE(r.summary->last_run);
    const LastRun& run = *r.summary->last_run;
    CHECK(run.run_id == 2);
    CHECK(run.pid == 4242);
    CHECK(run.node == "node-a");
    CHECK_FALSE(run.stopped);
    CHECK(run.started_wall_ns / kS == 1'776'848'400 + 1'060);  // 09:17:40Z, and the events before it
    // Its losses, and only its: run 1 lost 21 before.
    CHECK(run.losses == std::map<std::string, int64_t>{{"ringbuf_full", 7}});
    CHECK(r.summary->last_batch == 13);
    CHECK(r.summary->head_hash == to_hex(sample.head.hash));
    CHECK(r.summary->last_commit_wall_ns > run.started_wall_ns);
    CHECK(r.journal_bytes == static_cast<int64_t>(fs::file_size(rig.journal)));

    const std::string text = render_status_text(r);
    INFO(text);
    CHECK(text.rfind(rig.journal + ": not recording\n", 0) == 0);
    CHECK_THAT(text, Catch::Contains("last run        run 2, PID 4242 on node-a, lineage test, started "
                                     "2026-04-22 09:17:40Z, never stopped: its recorder was killed or crashed\n"));
    CHECK_THAT(text, Catch::Contains("losses          in run 2: ringbuf_full 7\n"));
    CHECK_THAT(text, Catch::Contains("chain head      batch 13: " + to_hex(sample.head.hash) + "\n"));
    check_schema(r);

    SECTION("its last recorder's heartbeat says how it ended") {
        Heartbeat h = rig.heartbeat(10 * kS);
        rig.write(h);
        auto again = rig.status();
        REQUIRE(again.heartbeat);
        CHECK_THAT(render_status_text(again),
                   Catch::Contains(fmt::format("last heartbeat  PID {}, run 3, at 2026-04-22 10:23:10Z, still "
                                               "recording: it ended without stopping",
                                               getpid())));
        h.phase = "stopped";
        h.stop_reason = "signal";
        rig.write(h);
        CHECK_THAT(render_status_text(rig.status()), Catch::Contains(", stopped (signal)\n"));
        check_schema(rig.status());
    }
    SECTION("a copy's heartbeat: believed when it names the journal's last run") {
        Heartbeat h = rig.heartbeat(10 * kS);
        h.journal_ino += 1;  // the original's inode
        h.boot_id = lineage::test::kBoot;
        h.run_id = 2;
        h.pid = 4242;
        rig.write(h);
        CHECK(rig.status().heartbeat);
        h.run_id = 1;  // an earlier run's: not this journal's last word
        rig.write(h);
        CHECK_FALSE(rig.status().heartbeat);
        h.run_id = 2;
        h.pid = 4243;
        rig.write(h);
        CHECK_FALSE(rig.status().heartbeat);
    }
    SECTION("a run that stopped") {
        lineage::test::Copy copy(rig.journal, rig.dir / "copy.db");
        copy.sql("INSERT INTO run_stops VALUES (13, 2, 1, 1776849460000000000, 'duration', 33, 7)");
        rig.journal = copy.path;
        auto stopped = rig.status();
        REQUIRE(stopped.summary->last_run);
        CHECK(stopped.summary->last_run->stopped);
        CHECK(stopped.summary->last_run->stop_reason == "duration");
        CHECK_THAT(render_status_text(stopped),
                   Catch::Contains(", stopped 2026-04-22 09:17:40Z (duration): 33 events stored, 7 lost\n"));
    }
    SECTION("a journal it cannot read is still not recorded") {
        // The header says journal; the rest is gone.
        std::string bytes = read_file(rig.journal);
        write_file(rig.journal, bytes.substr(0, 4096));
        auto damaged = rig.status();
        CHECK(damaged.exit_status == kStatusNotRecording);
        CHECK_FALSE(damaged.summary);
        CHECK_THAT(damaged.summary_problem, Catch::Contains("journal is damaged"));
        CHECK_THAT(render_status_text(damaged), Catch::Contains("journal error   "));
        check_schema(damaged);
    }
}

TEST_CASE("status: a recorder that keeps up", "[status]") {
    Rig rig;
    rig.write_journal();
    rig.hold();
    rig.write(rig.heartbeat(50 * kMs));
    auto r = rig.status();
    CHECK(r.recording);
    CHECK(r.lock_pid == getpid());
    CHECK(r.problems.empty());
    CHECK(r.exit_status == kStatusHealthy);
    CHECK(r.heartbeat_age_ns == 50 * kMs);
    CHECK(r.stall_after_ns == 2 * kS);
    CHECK(r.last_commit_age_ns == 80 * kMs);
    CHECK_FALSE(r.summary);  // the journal is not read while recorded
    const std::string text = render_status_text(r);
    INFO(text);
    CHECK(text.rfind(rig.journal + ": recording\n", 0) == 0);
    for (const std::string& l : {
             fmt::format("recorder        PID {}, run 3, since 2026-04-22 09:23:20Z (1 h 0 min), lineage 0.1.0 on "
                         "node-1\n",
                         getpid()),
             std::string("options         --batch-interval 100ms --ring-size 8M --argv-cap 4K --max-size 2G "
                         "--anchor-interval 5m; no filter\n"),
             std::string("heartbeat       0.05 s ago (stalled after 2.0 s)\n"),
             std::string("last commit     batch 600 at 2026-04-22 10:23:19Z, 0.08 s ago\n"),
             std::string("events          100.0/s over the last 1 min 0 s; 1000000 stored in this run\n"),
             std::string("lost            none in the last 1 min 0 s; none in this run\n"),
             std::string("last anchor     batch 590 at 2026-04-22 10:21:39Z: " + std::string(64, 'c') + "\n"),
         }) {
        CHECK_THAT(text, Catch::Contains(l));
    }
    CHECK_THAT(text, Catch::Contains("% of --max-size 2G\n"));
    check_schema(r);
    auto doc = json::parse(render_status_json(r));
    CHECK(doc["state"] == "recording");
    CHECK(doc["healthy"] == true);
    CHECK(doc["exit_status"] == 0);
    CHECK(doc["recorder"]["run_id"] == 3);
    CHECK(doc["recorder"]["last_minute"]["events_per_second"] == 100.0);
    CHECK(doc["size"]["max_size_bytes"] == int64_t{2} << 30);
}

TEST_CASE("status: a recorder that does not keep up", "[status]") {
    Rig rig;
    rig.write_journal();
    rig.hold();
    Heartbeat h = rig.heartbeat(50 * kMs);
    std::vector<std::string> problems;

    SECTION("stalled: no heartbeat for more than two heartbeat periods (a second each)") {
        h = rig.heartbeat(2001 * kMs);
        problems = {"stalled: no heartbeat for 2.0 s (more than 2.0 s, twice the heartbeat period)"};
    }
    SECTION("at two heartbeat periods exactly, not yet") {
        h = rig.heartbeat(2 * kS);
    }
    SECTION("many batch intervals without a heartbeat are not a stall: it is written once a second") {
        h = rig.heartbeat(1500 * kMs);
    }
    SECTION("a batch interval longer than the heartbeat period: two intervals") {
        h = rig.heartbeat(10001 * kMs);
        h.batch_interval_ns = 5 * kS;
        problems = {"stalled: no heartbeat for 10.0 s (more than 10.0 s, twice the batch interval)"};
    }
    SECTION("starting: a while is allowed") {
        h = rig.heartbeat(5 * kS, "starting");
    }
    SECTION("starting for too long") {
        h = rig.heartbeat(31 * kS, "starting");
        problems = {"stalled: no heartbeat for 31.0 s (more than 30.0 s, while starting)"};
    }
    SECTION("losing events in the last minute") {
        h.last_minute = {5'000, 28, 2, 1};
        h.run = {900'000, 128, 2, 1};
        problems = {"losing events: 31 lost in the last 1 min 0 s (ringbuf_full 28, journal_write 2, decode 1)"};
    }
    SECTION("losses of the run long ago are not a problem now") {
        h.run = {900'000, 128, 0, 0};
    }
    SECTION("a journal it cannot write") {
        h.journal_writable = false;
        h.journal_error = "database or disk is full";
        problems = {"the journal cannot be written: database or disk is full"};
    }
    SECTION("a heartbeat that is not the holder's") {
        h.pid = 1;
        problems = {"cannot tell whether it keeps up: its heartbeat is of PID 1, not of the lock's holder"};
    }
    SECTION("the last heartbeat of a recorder that stopped") {
        h.phase = "stopped";
        problems = {
            fmt::format("cannot tell whether it keeps up: its heartbeat is of PID {}, which stopped", getpid())};
    }
    SECTION("a heartbeat of another file of that name") {
        h.journal_ino += 1;
        problems = {"cannot tell whether it keeps up: " + rig.journal +
                    ".heartbeat is the heartbeat of another file of that name"};
    }
    SECTION("no heartbeat at all") {
        h.pid = 0;  // not written
        problems = {"cannot tell whether it keeps up: no heartbeat at " + rig.journal + ".heartbeat"};
    }
    if (h.pid != 0) rig.write(h);
    auto r = rig.status();
    CHECK(r.recording);
    CHECK(r.problems == problems);
    CHECK(r.exit_status == (problems.empty() ? kStatusHealthy : kStatusUnhealthy));
    CHECK(r.stalled == (!problems.empty() && problems[0].rfind("stalled", 0) == 0));
    // A liveness probe restarts only a stalled recorder.
    CHECK(liveness_exit_status(r) == (r.stalled ? kStatusUnhealthy : kStatusHealthy));
    const std::string text = render_status_text(r);
    INFO(text);
    if (!problems.empty()) {
        CHECK(text.rfind(rig.journal + ": recording" + (h.phase == "starting" ? " (starting)" : "") +
                             ", not healthy\nproblem         " + problems[0] + "\n",
                         0) == 0);
    }
    check_schema(r);
}

TEST_CASE("status: a recorder creating its journal", "[status]") {
    Rig rig;
    write_file(rig.journal, "");
    rig.hold();
    rig.write(rig.heartbeat(10 * kMs, "starting"));
    auto r = rig.status();
    CHECK(r.exit_status == kStatusHealthy);
    CHECK(render_status_text(r).rfind(rig.journal + ": recording (starting)\n", 0) == 0);
    check_schema(r);
    // Nobody holds an empty file: it is no journal.
    rig.lock.reset();
    CHECK(rig.error() == rig.journal + ": empty file, not a lineage journal");
}

TEST_CASE("status: what is not a journal is an error naming the file", "[status]") {
    Rig rig;
    SECTION("missing") {
        CHECK(rig.error() == rig.journal + ": cannot open: No such file or directory");
    }
    SECTION("a directory") {
        rig.journal = rig.dir.path();
        CHECK(rig.error() == rig.dir.path() + ": is a directory, not a journal file");
    }
    SECTION("not SQLite") {
        write_file(rig.journal, std::string(200, 'x'));
        CHECK(rig.error() == rig.journal + ": not a lineage journal (not an SQLite database)");
    }
    SECTION("SQLite of another application, or of another version") {
        rig.write_journal();
        auto db = Database::open_write(rig.journal);
        REQUIRE(db.ok());
        SECTION("another application") {
            REQUIRE(db->exec("PRAGMA application_id = 7").ok());
            db = Database();
            // Recorded or not, it is not a journal.
            rig.hold();
            CHECK(rig.error() == rig.journal + ": not a lineage journal (SQLite database of another application)");
        }
        SECTION("a newer version") {
            REQUIRE(db->exec("PRAGMA user_version = 99").ok());
            db = Database();
            CHECK(rig.error() == rig.journal + fmt::format(": journal schema version 99 is not supported (this "
                                                           "lineage reads versions {} to {})",
                                                           kOldestJournalSchemaVersion, kJournalSchemaVersion));
        }
    }
}

TEST_CASE("status: bytes from the journal, its heartbeat and its path are escaped", "[status]") {
    Rig rig;
    fs::create_directory(rig.dir / "a\x1b[2Jb\nc");
    rig.journal = rig.dir / "a\x1b[2Jb\nc/j.db";
    rig.write_journal();
    rig.hold();
    Heartbeat h = rig.heartbeat(10 * kMs);
    h.node = "evil\x1b]0;pwned\x07";
    h.journal_writable = false;
    h.journal_error = "disk \xff full\r\n";
    h.filters_json = R"({"cgroups":["/x\u001b[31m"]})";
    rig.write(h);
    auto r = rig.status();
    const std::string text = render_status_text(r);
    INFO(text);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 11);  // one fact a line
    CHECK_THAT(text, Catch::Contains("a\\x1b[2Jb\\nc/j.db: recording, not healthy\n"));
    CHECK_THAT(text, Catch::Contains("on evil\\x1b]0;pwned\\x07\n"));
    CHECK_THAT(text, Catch::Contains("--cgroup $'/x\\x1b[31m'"));
    const std::string doc = render_status_json(r);
    CHECK(is_valid_utf8(doc));
    CHECK(json::parse(doc)["recorder"]["journal_error"] == "disk \xef\xbf\xbd full\r\n");
    check_schema(r);
}

TEST_CASE("status: the schema is closed", "[status]") {
    Rig rig;
    rig.write_journal();
    auto doc = json::parse(render_status_json(rig.status()));
    REQUIRE(schema_errors(doc.dump()).empty());
    for (const auto& edit : std::vector<std::function<void(json&)>>{
             [](json& d) { d["extra"] = 1; },
             [](json& d) { d["state"] = "dancing"; },
             [](json& d) { d.erase("exit_status"); },
             [](json& d) { d["last_run"]["pid"] = "4242"; },
         }) {
        json bad = doc;
        edit(bad);
        CHECK_FALSE(schema_errors(bad.dump()).empty());
    }
}

TEST_CASE("status: options as record takes them", "[status]") {
    CHECK(format_size_option(int64_t{2} << 30) == "2G");
    CHECK(format_size_option(512 << 20) == "512M");
    CHECK(format_size_option(4096) == "4K");
    CHECK(format_size_option(1000) == "1000");
    CHECK(format_size_option(1536 << 20) == "1536M");
    CHECK(format_duration_option(90 * 86'400 * kS) == "90d");
    CHECK(format_duration_option(300 * kS) == "5m");
    CHECK(format_duration_option(100 * kMs) == "100ms");
    CHECK(format_duration_option(1500 * kMs) == "1500ms");
    CHECK(format_duration_option(36 * 3600 * kS) == "36h");
    CHECK(human_duration(50 * kMs) == "0.05 s");
    CHECK(human_duration(3200 * kMs) == "3.2 s");
    CHECK(human_duration(125 * kS) == "2 min 5 s");
    CHECK(human_duration(3 * 3600 * kS + 120 * kS) == "3 h 2 min");
    CHECK(human_duration(2 * 86400 * kS + 4 * 3600 * kS) == "2 d 4 h");
}

TEST_CASE("status: the command prints to stdout, errors to stderr, and exits as documented", "[status]") {
    TempDir dir;
    RunResult help = run_lineage({"status", "--help"}, dir.path());
    REQUIRE(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("Exit status: 0 recording and healthy; 1 recording, but stalled or losing "
                                         "events in the last minute;\n2 error; 3 not recording. With --liveness, 1 "
                                         "only when stalled."));
    RunResult missing = run_lineage({"status", "--journal", dir / "none.db"}, dir.path());
    CHECK(missing.status == 2);
    CHECK(missing.out.empty());
    CHECK(missing.err == "lineage status: " + dir / "none.db" + ": cannot open: No such file or directory\n");
    lineage::test::write_sample(dir / "j.db");
    RunResult idle = run_lineage({"status", "--journal", dir / "j.db", "--format", "json"}, dir.path());
    CHECK(idle.status == 3);
    CHECK(json::parse(idle.out)["state"] == "not_recording");
    CHECK(run_lineage({"status", "--liveness", "--journal", dir / "j.db"}, dir.path()).status == 3);
}

TEST_CASE("status --liveness fails only for a stalled recorder", "[status]") {
    // The command reads the real clock and boot: the heartbeat is written in
    // their terms, by this process, which holds the lock.
    Rig rig;
    rig.context = status_context_now();
    rig.write_journal();
    rig.hold();
    Heartbeat h = rig.heartbeat(0);
    int plain = 0, liveness = 0;
    SECTION("healthy") {
        plain = 0, liveness = 0;
    }
    SECTION("losing events") {
        h.last_minute = {5'000, 28, 0, 0};
        plain = 1, liveness = 0;
    }
    SECTION("the journal cannot be written") {
        h.journal_writable = false;
        h.journal_error = "database or disk is full";
        plain = 1, liveness = 0;
    }
    SECTION("stalled, and losing") {
        h = rig.heartbeat(600 * kS);
        h.last_minute = {5'000, 28, 0, 0};
        plain = 1, liveness = 1;
    }
    // Stalled after 2 min: a slow start of the command (under ASan, on a
    // busy machine) does not make a fresh heartbeat stale.
    h.batch_interval_ns = 60 * kS;
    h.boot_id = rig.context.boot_id;
    rig.write(h);
    RunResult a = run_lineage({"status", "--journal", rig.journal, "--format", "json"}, rig.dir.path());
    RunResult b = run_lineage({"status", "--liveness", "--journal", rig.journal, "--format", "json"}, rig.dir.path());
    INFO(a.out << a.err << b.out << b.err);
    CHECK(a.status == plain);
    CHECK(b.status == liveness);
    // The same report; its exit_status is the one the command exits with.
    json ja = json::parse(a.out), jb = json::parse(b.out);
    CHECK(ja["exit_status"] == plain);
    CHECK(jb["exit_status"] == liveness);
    // The same problems; the heartbeat's age in them is read by each run
    // at its own second, and two runs may straddle one (ASan, a busy CI).
    auto problems = [](const json& j) {
        std::vector<std::string> out;
        for (const auto& p : j["problems"]) {
            out.push_back(std::regex_replace(p.get<std::string>(), std::regex("no heartbeat for [^(]*\\("),
                                             "no heartbeat for N ("));
        }
        return out;
    };
    CHECK(problems(ja) == problems(jb));
    CHECK(jb["healthy"] == (plain == 0));
    CHECK(schema_errors(b.out).empty());
}

}  // namespace test_status
