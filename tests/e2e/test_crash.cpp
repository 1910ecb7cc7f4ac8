// End-to-end tests of `lineage record` dying or being stopped in the middle
// of a fork+exec storm: SIGKILL (nothing of record's own runs after it),
// a restart on the killed run's journal, SIGHUP, and a second SIGINT while
// the first one's stop is under way. What must hold every time: the journal
// verifies (hash chain and SQLite integrity), and what was committed stays.
//
// The storm is two /bin/sh loops, each exec'ing "/bin/true MARKER wN I" with
// I = 0, 1, 2, ...; a worker waits for each child, so its execs happen in
// the order of I, and what a crash may lose is a suffix of each worker's
// sequence, never a hole in the middle.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "argv.h"
#include "helpers.h"

namespace test_crash {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kWorkers = 2;
constexpr int64_t kMs = 1'000'000;

int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// "2026-04-22T09:14:03.123456789Z", as verify prints wall times, to ns
// since the epoch.
int64_t rfc3339_ns(const std::string& s) {
    INFO("time '" << s << "'");
    std::tm tm{};
    int frac_pos = 0;
    REQUIRE(std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min, &tm.tm_sec, &frac_pos) == 6);
    REQUIRE(frac_pos > 0);
    REQUIRE(s.size() == static_cast<size_t>(frac_pos) + 10);  // 9 digits and 'Z'
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000 + std::stoll(s.substr(frac_pos, 9));
}

// `lineage record` with stderr going to a file, for the cases RecordProcess
// does not cover: any signal, any exit, and a wait that reports what
// happened instead of requiring a clean exit. The child is reaped exactly
// once (no signal can reach a recycled PID).
class Recorder {
public:
    Recorder(std::string journal, std::string log) : journal_(std::move(journal)), log_(std::move(log)) {}
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;
    ~Recorder() {
        if (pid_ > 0 && !status_) {
            kill(pid_, SIGKILL);
            (void)wait_for(pid_, 10s);
        }
    }

    void start() {
        int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        pid_ = spawn(lineage_bin(), {lineage_bin(), "record", "--journal", journal_}, {}, -1, -1, fd);
        close(fd);
        auto deadline = Clock::now() + 20s;
        while (!has_line("lineage: recording")) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                status_ = status;
                INFO("lineage record stderr:\n" << log());
                FAIL("lineage record " << describe_status(status) << " before 'lineage: recording'");
            }
            if (Clock::now() > deadline) {
                INFO("lineage record stderr:\n" << log());
                FAIL("lineage record did not print 'lineage: recording' within 20 s");
            }
            std::this_thread::sleep_for(10ms);
        }
    }

    void signal(int sig) {
        REQUIRE(!status_);
        REQUIRE(kill(pid_, sig) == 0);
    }

    // The wait status, or nullopt when it is still running after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        if (!status_) status_ = wait_for(pid_, timeout);
        return status_;
    }

    std::string log() const { return read_file(log_); }
    bool has_line(const std::string& prefix) const {
        std::istringstream in(log());
        for (std::string line; std::getline(in, line);) {
            if (line.rfind(prefix, 0) == 0) return true;
        }
        return false;
    }

private:
    std::string journal_, log_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// kWorkers shell loops exec'ing "/bin/true MARKER wN I" until stopped (or
// 100,000 children each, should the test die without stopping them).
class Storm {
public:
    explicit Storm(const std::string& marker) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        REQUIRE(devnull >= 0);
        for (int w = 0; w < kWorkers; ++w) {
            // spawn() puts each worker in a process group of its own.
            pids_.push_back(spawn(
                "/bin/sh",
                {"/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do /bin/true \"$0\" \"$1\" $i; i=$((i + 1)); done",
                 marker, fmt::format("w{}", w)},
                {}, devnull, devnull, devnull));
        }
        close(devnull);
    }
    Storm(const Storm&) = delete;
    Storm& operator=(const Storm&) = delete;
    ~Storm() { stop(); }

    void stop() {
        for (pid_t pid : pids_) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            (void)wait_for(pid, 10s);
        }
        pids_.clear();
    }

private:
    std::vector<pid_t> pids_;
};

// Opens a copy read-write, so that SQLite applies its WAL.
lineage::Database open_copy(const std::string& copy) {
    auto db = lineage::Database::open_write(copy);
    INFO("opening " << copy);
    if (!db) FAIL(db.error().message);
    return std::move(*db);
}

std::string integrity_check(lineage::Database& db) {
    auto stmt = db.prepare("PRAGMA integrity_check");
    if (!stmt) FAIL(stmt.error().message);
    std::string out;
    while (stmt->step() == SQLITE_ROW) {
        if (!out.empty()) out += '\n';
        out += stmt->text(0);
    }
    return out;
}

int64_t scalar(lineage::Database& db, const std::string& sql) {
    auto stmt = db.prepare(sql);
    INFO("SQL: " << sql);
    if (!stmt) FAIL(stmt.error().message);
    REQUIRE(stmt->step() == SQLITE_ROW);
    return stmt->int64(0);
}

// The storm's exec rows: per worker, the sequence numbers and exec times.
struct StormExec {
    int64_t seq = 0;
    int64_t time_ns = 0;
};
using StormExecs = std::map<std::string, std::vector<StormExec>>;

StormExecs storm_execs(lineage::Database& db, const std::string& marker) {
    // argv and binary are blobs: bind blobs (a text never equals a blob).
    auto stmt = db.prepare(
        "SELECT time_ns, argv FROM exec WHERE binary = CAST('/bin/true' AS BLOB) AND instr(argv, ?1) > 0 "
        "ORDER BY time_ns, rowid");
    if (!stmt) FAIL(stmt.error().message);
    stmt->bind_blob(1, marker);
    StormExecs out;
    while (stmt->step() == SQLITE_ROW) {
        auto argv = lineage::split_argv(stmt->blob(1));
        INFO("argv " << join_args(argv));
        REQUIRE(argv.size() == 4);
        if (argv[1] != marker) continue;
        out[argv[2]].push_back({std::stoll(argv[3]), stmt->int64(0)});
    }
    return out;
}

size_t count(const StormExecs& execs) {
    size_t n = 0;
    for (const auto& [worker, list] : execs) n += list.size();
    return n;
}

struct Verified {
    RunResult run;
    json doc;
    json journal;  // doc["journals"][0]
};

Verified verify_json(const std::string& journal) {
    Verified v;
    v.run = run_argv({lineage_bin(), "verify", "--journal", journal, "--format", "json"}, {}, 120s);
    INFO("lineage verify: " << describe_status(v.run.status) << "\n" << v.run.out << v.run.err);
    v.doc = json::parse(v.run.out, nullptr, /*allow_exceptions=*/false);
    REQUIRE(!v.doc.is_discarded());
    REQUIRE(v.doc["journals"].size() == 1);
    v.journal = v.doc["journals"][0];
    return v;
}

// What crash_during_storm saw.
struct Crash {
    int64_t kill_boot_ns = 0;  // CLOCK_BOOTTIME just before SIGKILL
    int64_t kill_wall_ns = 0;  // CLOCK_REALTIME, same moment
    size_t storm_execs = 0;    // the storm's exec rows in the killed journal
};

// Starts record on `journal`, runs the storm for ~2 s, SIGKILLs the
// recorder in the middle of it, and checks what must hold of the journal
// it left. Used by the restart case too, so that each CTest test stands
// alone.
Crash crash_during_storm(const TempDir& dir, const std::string& journal, const std::string& marker) {
    Crash crash;
    Recorder rec(journal, dir / "record-killed.log");
    rec.start();
    {
        Storm storm(marker);
        std::this_thread::sleep_for(2s);
        crash.kill_boot_ns = clock_ns(CLOCK_BOOTTIME);
        crash.kill_wall_ns = clock_ns(CLOCK_REALTIME);
        rec.signal(SIGKILL);
        auto status = rec.wait(10s);
        REQUIRE(status.has_value());
        INFO("lineage record " << describe_status(*status) << "; stderr:\n" << rec.log());
        REQUIRE(WIFSIGNALED(*status));
        REQUIRE(WTERMSIG(*status) == SIGKILL);
        // The storm goes on a little without a recorder; none of that can
        // be in the journal.
        std::this_thread::sleep_for(200ms);
    }
    INFO("lineage record stderr:\n" << rec.log());
    CHECK_FALSE(rec.has_line("lineage: stopped"));

    // Order matters. verify first, on the journal as the killed recorder
    // left it (with its -wal): verify reads a WAL journal through a private
    // copy, so it changes nothing. Then our own checks, on a copy.
    Verified v = verify_json(journal);
    INFO(v.run.out << v.run.err);
    CHECK(v.run.exit_code == 0);
    CHECK(v.doc["whole"] == true);
    CHECK(v.journal["status"] == "whole");
    CHECK(v.journal["read_from_copy"] == true);  // the WAL was still there: a real crash
    CHECK(v.journal["integrity"]["ok"] == true);
    CHECK(v.journal["chain"]["verified_links"] == v.journal["chain"]["batches"]);
    REQUIRE(v.journal["runs"].size() == 1);
    const json& run = v.journal["runs"][0];
    CHECK(run["clean"] == false);
    CHECK(run["stopped"].is_null());
    CHECK(run["stop_reason"].is_null());
    CHECK(v.journal["end"]["clean"] == false);
    CHECK(v.journal["end"]["truncated"] == false);
    CHECK(v.journal["end"]["text"] == fmt::format("ends at batch {} (run 1 was not stopped cleanly)",
                                                  v.journal["chain"]["last_batch"].get<int64_t>()));

    const std::string copy = copy_journal(journal, dir, "killed-copy.db");
    lineage::Database db = open_copy(copy);
    CHECK(integrity_check(db) == "ok");

    // The last commit came shortly before the kill: the recorder commits
    // every 100 ms while the storm runs, so what a SIGKILL costs is the
    // events of the last batch interval (and what was still in the ring).
    // 1 s leaves room for a busy machine.
    const int64_t last_commit = scalar(db, "SELECT max(committed_ns) FROM batches");
    INFO("kill at " << crash.kill_boot_ns << " ns (boot time), last commit at " << last_commit << ", "
                    << (crash.kill_boot_ns - last_commit) / kMs << " ms before");
    CHECK(last_commit < crash.kill_boot_ns);
    CHECK(crash.kill_boot_ns - last_commit < 1000 * kMs);

    // The storm's execs that were stored are a prefix of each worker's
    // sequence: 0, 1, ..., k-1, all before the last commit. A hole would be
    // a lost batch in the middle.
    StormExecs execs = storm_execs(db, marker);
    crash.storm_execs = count(execs);
    REQUIRE(execs.size() == static_cast<size_t>(kWorkers));
    int64_t last_exec = 0;
    for (const auto& [worker, list] : execs) {
        INFO("worker " << worker << ": " << list.size() << " execs stored");
        CHECK(list.size() >= 50);  // the storm was running
        for (size_t i = 0; i < list.size(); ++i) {
            INFO("exec #" << i);
            REQUIRE(list[i].seq == static_cast<int64_t>(i));
        }
        for (const auto& e : list) {
            CHECK(e.time_ns <= last_commit);
            last_exec = std::max(last_exec, e.time_ns);
        }
    }
    // ...and the storm was still going when the recorder was killed.
    INFO("last stored storm exec " << (crash.kill_boot_ns - last_exec) / kMs << " ms before the kill");
    CHECK(crash.kill_boot_ns - last_exec < 1000 * kMs);
    return crash;
}

}  // namespace

TEST_CASE("crash: kill -9 of record during a storm leaves a journal that verifies", "[crash]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    crash_during_storm(dir, journal, fmt::format("lineage-crash-{}-kill", getpid()));
}

TEST_CASE("crash: record started again after kill -9 appends a new run and lists the gap", "[crash]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    const std::string marker = fmt::format("lineage-crash-{}-restart", getpid());
    const Crash crash = crash_during_storm(dir, journal, marker);

    // Restart on the killed journal: SQLite recovers the WAL it left, and
    // the new run continues the chain.
    const int64_t restart_wall = clock_ns(CLOCK_REALTIME);
    auto rec = start_record(journal);
    const int64_t ready_wall = clock_ns(CLOCK_REALTIME);
    const std::string after = marker + "-after";
    auto work = run_argv({"/bin/sh", "-c", "for i in 1 2 3; do /bin/true \"$0\" w0 $i; done", after});
    REQUIRE(work.exit_code == 0);
    std::this_thread::sleep_for(300ms);
    rec->stop();

    Verified v = verify_json(journal);
    INFO(v.run.out << v.run.err);
    CHECK(v.run.exit_code == 0);
    CHECK(v.journal["status"] == "whole");
    CHECK(v.journal["chain"]["verified_links"] == v.journal["chain"]["batches"]);
    REQUIRE(v.journal["runs"].size() == 2);
    const json& run1 = v.journal["runs"][0];
    const json& run2 = v.journal["runs"][1];
    CHECK(run1["clean"] == false);
    CHECK(run2["clean"] == true);
    CHECK(run2["stop_reason"] == "signal");
    CHECK(run2["first_batch"].get<int64_t>() == run1["last_batch"].get<int64_t>() + 1);
    CHECK(v.journal["end"]["clean"] == true);

    REQUIRE(v.journal["gaps"].size() == 1);
    const json& gap = v.journal["gaps"][0];
    CHECK(gap["after_run"] == 1);
    CHECK(gap["before_run"] == 2);
    CHECK(gap["reboot"] == false);
    // The gap runs from run 1's last commit (it has no stop) to run 2's
    // start: it must bracket the kill and the restart. Wall times in the
    // journal are boot times mapped through clock samples, so allow a few
    // ms of mapping error.
    const int64_t from = rfc3339_ns(gap["from"].get<std::string>());
    const int64_t to = rfc3339_ns(gap["to"].get<std::string>());
    const int64_t slack = 20 * kMs;
    INFO("gap " << gap.dump() << "; kill at wall " << crash.kill_wall_ns << ", restart between " << restart_wall
                << " and " << ready_wall);
    CHECK(from <= crash.kill_wall_ns + slack);
    CHECK(crash.kill_wall_ns - from < 1000 * kMs);
    CHECK(to >= restart_wall - slack);
    CHECK(to <= ready_wall + slack);
    CHECK(gap["seconds"].get<double>() > 0);

    // Run 1's rows are all still there, and run 2's workload is recorded.
    const std::string copy = copy_journal(journal, dir, "restarted-copy.db");
    lineage::Database db = open_copy(copy);
    CHECK(integrity_check(db) == "ok");
    CHECK(count(storm_execs(db, marker)) == crash.storm_execs);
    CHECK(count(storm_execs(db, after)) == 3);

    // reconstruct over a window that spans the restart says what it lacks.
    RunResult rc = run_argv(
        {lineage_bin(), "reconstruct", "--journal", journal, "--since", "-10m", "--binary", "true", "--format", "json"},
        {}, 60s);
    INFO("lineage reconstruct: " << describe_status(rc.status) << "\n" << rc.err);
    REQUIRE(rc.exit_code == 0);
    json out = json::parse(rc.out, nullptr, false);
    REQUIRE(!out.is_discarded());
    bool gap_warned = false;
    for (const auto& w : out["warnings"]) {
        if (w["kind"] == "not_recorded" && !w["from"].is_null()) {
            gap_warned = true;
            // verify and reconstruct map boot time to wall time each
            // through a nearby clock sample: equal within the slack.
            CHECK(std::llabs(rfc3339_ns(w["from"].get<std::string>()) - from) <= slack);
            CHECK(std::llabs(rfc3339_ns(w["to"].get<std::string>()) - to) <= slack);
            CHECK_THAT(w["message"].get<std::string>(),
                       Catch::Contains("from the end of run 1 (not stopped cleanly) to the start of run 2"));
        }
    }
    CHECK(gap_warned);
}

TEST_CASE("crash: SIGHUP and a second SIGINT during stop keep committed data", "[crash]") {
    TempDir dir;
    const std::string journal = dir / "j.db";

    // Run 1: SIGHUP in a storm is a clean stop, like SIGINT and SIGTERM.
    {
        Recorder rec(journal, dir / "record-hup.log");
        rec.start();
        Storm storm(fmt::format("lineage-crash-{}-hup", getpid()));
        std::this_thread::sleep_for(1500ms);
        rec.signal(SIGHUP);
        auto status = rec.wait(20s);
        INFO("lineage record stderr:\n" << rec.log());
        REQUIRE(status.has_value());
        INFO("lineage record " << describe_status(*status));
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 0);
        CHECK(rec.has_line("lineage: stopped (signal): "));
    }
    {
        Verified v = verify_json(journal);
        INFO(v.run.out << v.run.err);
        CHECK(v.run.exit_code == 0);
        CHECK(v.journal["status"] == "whole");
        REQUIRE(v.journal["runs"].size() == 1);
        CHECK(v.journal["runs"][0]["clean"] == true);
        CHECK(v.journal["runs"][0]["stop_reason"] == "signal");
    }

    // Run 2: SIGINT twice in quick succession during a storm. Today the
    // second signal only sets the stop flag again (record exits 0 after a
    // normal stop); a second signal may also be made to exit at once. Either
    // way, what was committed before the signals must stay and the journal
    // must verify; nothing is asserted about the exit status.
    const std::string marker = fmt::format("lineage-crash-{}-int2", getpid());
    size_t before = 0;
    {
        Recorder rec(journal, dir / "record-int2.log");
        rec.start();
        Storm storm(marker);
        std::this_thread::sleep_for(1500ms);
        {
            // A read-only reader of the live journal, like any other: it sees
            // the committed batches through the WAL and cannot checkpoint.
            // Closed before the signals.
            Journal live(journal);
            before = count(storm_execs(live.db(), marker));
        }
        REQUIRE(before > 0);
        rec.signal(SIGINT);
        std::this_thread::sleep_for(1ms);
        rec.signal(SIGINT);
        auto status = rec.wait(20s);
        INFO("lineage record stderr:\n" << rec.log());
        REQUIRE(status.has_value());  // it ended within 20 s
        // Shown on failure: what record did with two signals.
        INFO("lineage record after two SIGINTs: " << describe_status(*status));
        storm.stop();

        Verified v = verify_json(journal);
        INFO(v.run.out << v.run.err);
        CHECK(v.run.exit_code == 0);
        CHECK(v.journal["status"] == "whole");
        CHECK(v.journal["integrity"]["ok"] == true);
        REQUIRE(v.journal["runs"].size() == 2);
        CHECK(v.journal["runs"][0]["clean"] == true);

        const std::string copy = copy_journal(journal, dir, "int2-copy.db");
        lineage::Database db = open_copy(copy);
        CHECK(integrity_check(db) == "ok");
        const size_t after = count(storm_execs(db, marker));
        INFO(before << " storm execs committed before the signals, " << after << " after");
        CHECK(after >= before);
    }
}

}  // namespace test_crash
