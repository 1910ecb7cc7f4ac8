// End-to-end tests of `lineage record`: the real binary, real probes, a
// scripted workload (tests/e2e/workload.sh), and the journal checked row by
// row.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cgroupfs.h"
#include "helpers.h"

namespace test_record {

using namespace e2e;
using namespace std::chrono_literals;
using Args = std::vector<std::string>;

namespace {

std::string workload_path() {
    return source_dir() + "/tests/e2e/workload.sh";
}

int64_t ns_per_tick() {
    return 1'000'000'000 / sysconf(_SC_CLK_TCK);
}

// Kills and reaps a process the test started, unless the test did.
struct Reaper {
    pid_t pid = -1;
    bool reaped = false;
    ~Reaper() {
        if (pid > 0 && !reaped) {
            kill(pid, SIGKILL);
            (void)wait_for(pid, 5s);
        }
    }
};

std::vector<int64_t> split_ints(const std::string& csv) {
    std::vector<int64_t> out;
    size_t pos = 0;
    while (pos < csv.size()) {
        size_t comma = csv.find(',', pos);
        if (comma == std::string::npos) comma = csv.size();
        out.push_back(std::stoll(csv.substr(pos, comma - pos)));
        pos = comma + 1;
    }
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        if (l == line) return true;
    }
    return false;
}

// The one fork row that created `tgid`.
ForkRow fork_of(Journal& j, int64_t tgid) {
    auto rows = j.forks_of_child(tgid);
    INFO(j.describe(tgid));
    REQUIRE(rows.size() == 1);
    return rows[0];
}

// The one exit row of `tgid`.
ExitRow exit_of(Journal& j, int64_t tgid) {
    auto rows = j.exits_of(tgid);
    INFO(j.describe(tgid));
    REQUIRE(rows.size() == 1);
    return rows[0];
}

// The processes `root` started, their children, and so on, by fork rows.
std::vector<ForkRow> descendants(Journal& j, const Proc& root) {
    std::vector<ForkRow> out;
    std::vector<Proc> todo = {root};
    std::set<Proc> seen = {root};
    while (!todo.empty()) {
        Proc p = todo.back();
        todo.pop_back();
        for (const auto& f : j.forks_by_parent(p)) {
            if (!seen.insert(f.child).second) continue;
            out.push_back(f);
            todo.push_back(f.child);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("record captures the scripted workload", "[record]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    Listener v4("127.0.0.1");
    Listener v6("::1");

    auto rec = start_record(journal);
    auto run =
        run_argv({"/bin/sh", workload_path()},
                 {{"LINEAGE_V4_PORT", std::to_string(v4.port())}, {"LINEAGE_V6_PORT", std::to_string(v6.port())}}, 20s);
    rec->stop();

    INFO("workload stdout:\n" << run.out << "workload stderr:\n" << run.err);
    REQUIRE(!run.timed_out);
    REQUIRE(run.exit_code == 0);
    auto facts = parse_facts(run.out);
    REQUIRE(facts["done"] == "1");

    Journal j(journal);
    const int64_t tick = ns_per_tick();

    // --- the run itself -------------------------------------------------
    {
        CHECK(j.scalar("SELECT count(*) FROM runs") == 1);
        CHECK(j.scalar("SELECT recorder_pid FROM runs") == rec->pid());
        CHECK(j.scalar("SELECT clk_tck FROM runs") == sysconf(_SC_CLK_TCK));
        CHECK(j.scalar("SELECT count(*) FROM run_stops") == 1);
        CHECK(j.texts("SELECT reason FROM run_stops") == Args{"signal"});
        CHECK(j.scalar("SELECT lost FROM run_stops") == 0);
        CHECK(j.scalar("SELECT coalesce(sum(count), 0) FROM loss") == 0);
        // run_stops.events counts exactly the event rows the run stored.
        CHECK(j.scalar("SELECT events FROM run_stops") ==
              j.scalar("SELECT (SELECT count(*) FROM fork) + (SELECT count(*) FROM exec) + "
                       "(SELECT count(*) FROM exit) + (SELECT count(*) FROM connect) + "
                       "(SELECT count(*) FROM memberships WHERE how = 'move')"));
        struct stat st {};
        REQUIRE(stat(journal.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0600);
    }

    // --- the workload shell, started by this test --------------------------
    const int64_t wl = fact_int(facts, "workload");
    Proc workload;
    {
        INFO(j.describe(wl));
        auto f = fork_of(j, wl);
        CHECK(f.parent.tgid == getpid());
        // The test's own identity: its start tick is /proc/self/stat's.
        auto my_ticks = proc_start_ticks(getpid());
        REQUIRE(my_ticks.has_value());
        CHECK(f.parent.start_ns / tick == static_cast<int64_t>(*my_ticks));
        workload = f.child;
        auto ex = j.execs_of(wl);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].proc == workload);
        CHECK(ex[0].binary == "/bin/sh");
        CHECK(ex[0].argv == Args{"/bin/sh", workload_path()});
        CHECK(ex[0].parent == f.parent);
        CHECK(ex[0].uid == 0);
        CHECK(ex[0].euid == 0);
        CHECK(ex[0].truncated == 0);
        auto x = exit_of(j, wl);
        CHECK(x.proc == workload);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
    }

    // --- 1. sh -c running a pipeline ---------------------------------------
    {
        const int64_t pid = fact_int(facts, "pipeline");
        INFO("pipeline sh\n" << j.describe(pid));
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        const Proc sh = f.child;
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].proc == sh);
        CHECK(ex[0].binary == "/bin/sh");
        CHECK(ex[0].argv == Args{"/bin/sh", "-c", "echo pipeline=$$; echo lineage-pipeline | cat | wc -c"});
        CHECK(has_line(run.out, "17"));  // wc -c of "lineage-pipeline\n"

        // dash forks every element of the pipeline: echo (a builtin: a
        // fork, no exec), cat and wc.
        auto children = j.forks_by_parent(sh);
        CHECK(children.size() == 3);
        std::vector<Args> exec_argvs;
        std::vector<std::string> exec_binaries;
        int without_exec = 0;
        for (const auto& c : children) {
            INFO(j.describe(c.child.tgid));
            auto cex = j.execs_of(c.child.tgid);
            CHECK(cex.size() <= 1);
            if (cex.empty()) ++without_exec;
            for (const auto& e : cex) {
                CHECK(e.proc == c.child);
                CHECK(e.parent == sh);
                exec_binaries.push_back(e.binary);
                exec_argvs.push_back(e.argv);
            }
            auto cx = exit_of(j, c.child.tgid);
            CHECK(cx.proc == c.child);
            CHECK(cx.code == 0);
            CHECK(cx.signal == 0);
        }
        std::sort(exec_binaries.begin(), exec_binaries.end());
        std::sort(exec_argvs.begin(), exec_argvs.end());
        CHECK(exec_binaries == Args{"/usr/bin/cat", "/usr/bin/wc"});
        CHECK(exec_argvs == std::vector<Args>{{"cat"}, {"wc", "-c"}});
        CHECK(without_exec == 1);
        auto x = exit_of(j, pid);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
    }

    // --- 2. a background child, waited for ---------------------------------
    {
        const int64_t pid = fact_int(facts, "bg");
        INFO("background child\n" << j.describe(pid));
        CHECK(fact_int(facts, "bg_status") == 0);
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].proc == f.child);
        CHECK(ex[0].binary == "/usr/bin/sleep");
        CHECK(ex[0].argv == Args{"sleep", "0.3"});
        CHECK(ex[0].time_ns >= f.time_ns);
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
        CHECK(x.comm == "sleep");
        // It slept 0.3 s between its exec and its exit.
        CHECK(x.time_ns - ex[0].time_ns >= 290'000'000);
    }

    // --- 3. an exec chain: one PID, three images ----------------------------
    {
        const int64_t pid = fact_int(facts, "chain");
        INFO("exec chain\n" << j.describe(pid));
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 3);
        for (const auto& e : ex) {
            CHECK(e.proc == f.child);
            CHECK(e.parent == workload);
            CHECK(e.time_ns >= f.time_ns);
        }
        CHECK(ex[0].time_ns < ex[1].time_ns);
        CHECK(ex[1].time_ns < ex[2].time_ns);
        CHECK(ex[0].binary == "/bin/sh");
        CHECK(ex[0].argv == Args{"/bin/sh", "-c", "echo chain=$$; exec /bin/sh -c \"exec /bin/sleep 0.1\""});
        CHECK(ex[1].binary == "/bin/sh");
        CHECK(ex[1].argv == Args{"/bin/sh", "-c", "exec /bin/sleep 0.1"});
        CHECK(ex[2].binary == "/bin/sleep");
        CHECK(ex[2].argv == Args{"/bin/sleep", "0.1"});
        CHECK(ex[2].comm == "sleep");
        CHECK(j.forks_by_parent(f.child).empty());
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
        CHECK(x.comm == "sleep");
        CHECK(x.time_ns > ex[2].time_ns);
    }

    // --- 4. a process with four threads -------------------------------------
    {
        const int64_t pid = fact_int(facts, "threads");
        INFO("threaded python\n" << j.describe(pid));
        CHECK(fact_int(facts, "threads_status") == 0);
        // The threads really ran side by side (main + 4).
        CHECK(fact_int(facts, "threads_tasks") == 5);
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].binary == "/usr/bin/python3");
        CHECK(ex[0].proc == f.child);
        // No thread is a fork, whoever's start time it carries.
        CHECK(j.forks("parent_tgid = ?", {pid}).empty());
        REQUIRE(facts.count("threads_tids"));
        auto tids = split_ints(facts["threads_tids"]);
        CHECK(tids.size() == 4);
        for (int64_t tid : tids) {
            INFO("thread " << tid);
            CHECK(tid != pid);
            CHECK(j.forks_of_child(tid).empty());
            CHECK(j.exits_of(tid).empty());
            CHECK(j.execs_of(tid).empty());
        }
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
        CHECK(x.core_dumped == 0);
    }

    // --- 5. killed by SIGKILL; exit code 3 ----------------------------------
    {
        const int64_t pid = fact_int(facts, "killed");
        INFO("killed child\n" << j.describe(pid));
        CHECK(fact_int(facts, "killed_status") == 128 + 9);
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.signal == 9);
        CHECK(x.code == 0);
        CHECK(x.core_dumped == 0);
    }
    {
        const int64_t pid = fact_int(facts, "exit3");
        INFO("exit 3\n" << j.describe(pid));
        CHECK(fact_int(facts, "exit3_status") == 3);
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].argv == Args{"/bin/sh", "-c", "echo exit3=$$; exit 3"});
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.code == 3);
        CHECK(x.signal == 0);
    }

    // --- 6. an orphan: its parent exits before it execs ----------------------
    {
        const int64_t parent_pid = fact_int(facts, "orphanparent");
        const int64_t pid = fact_int(facts, "orphan");
        INFO("orphan\n" << j.describe(pid) << "its parent\n" << j.describe(parent_pid));
        CHECK(fact_int(facts, "orphan_waits") < 250);  // it ended in time
        auto pf = fork_of(j, parent_pid);
        const Proc outer = pf.child;
        auto pex = j.execs_of(parent_pid);
        REQUIRE(pex.size() == 1);
        CHECK(pex[0].binary == "/bin/sh");
        auto px = exit_of(j, parent_pid);
        CHECK(px.proc == outer);
        CHECK(px.code == 0);

        // The fork row names the process that forked, not the reaper.
        auto f = fork_of(j, pid);
        CHECK(f.parent == outer);
        auto ex = j.execs_of(pid);
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].proc == f.child);
        CHECK(ex[0].binary == "/bin/true");
        CHECK(ex[0].argv == Args{"/bin/true", "lineage-orphan"});
        // It exec'd after its parent had exited, as an orphan: real_parent at
        // exec is its reaper by then.
        CHECK(px.time_ns < ex[0].time_ns);
        CHECK(ex[0].parent.tgid != parent_pid);
        // Its own child (sleep 0.3) names it as parent.
        auto kids = j.forks_by_parent(f.child);
        REQUIRE(kids.size() == 1);
        auto kex = j.execs_of(kids[0].child.tgid);
        REQUIRE(kex.size() == 1);
        CHECK(kex[0].argv == Args{"sleep", "0.3"});
        auto x = exit_of(j, pid);
        CHECK(x.proc == f.child);
        CHECK(x.code == 0);
        CHECK(x.signal == 0);
        CHECK(x.time_ns > ex[0].time_ns);
    }

    // --- 7. TCP connects to 127.0.0.1 and ::1 --------------------------------
    {
        const int64_t pid = fact_int(facts, "connector");
        INFO("connector\n" << j.describe(pid));
        CHECK(fact_int(facts, "connector_status") == 0);
        auto f = fork_of(j, pid);
        CHECK(f.parent == workload);
        auto rows = j.connects_of(pid);
        REQUIRE(rows.size() == 2);
        const auto& a = rows[0];
        CHECK(a.proc == f.child);
        CHECK(a.family == 4);
        CHECK(a.saddr == "127.0.0.1");
        CHECK(a.daddr == "127.0.0.1");
        CHECK(a.dport == v4.port());
        CHECK(a.sport != 0);
        CHECK(a.sport == fact_int(facts, "LINEAGE_V4_PORT_sport"));
        CHECK(a.result == "established");
        CHECK(a.time_ns <= a.outcome_ns);
        const auto& b = rows[1];
        CHECK(b.proc == f.child);
        CHECK(b.family == 6);
        CHECK(b.saddr == "::1");
        CHECK(b.daddr == "::1");
        CHECK(b.dport == v6.port());
        CHECK(b.sport != 0);
        CHECK(b.sport == fact_int(facts, "LINEAGE_V6_PORT_sport"));
        CHECK(b.result == "established");
        CHECK(b.time_ns <= b.outcome_ns);
        CHECK(a.outcome_ns <= b.time_ns);
        // Nobody else connected to the test's listeners.
        CHECK(j.scalar("SELECT count(*) FROM connect WHERE dport IN (?, ?)",
                       {int64_t{v4.port()}, int64_t{v6.port()}}) == 2);
    }

    // --- identity: every process of the workload is one (tgid, start_ns) ----
    {
        auto all = descendants(j, workload);
        // The workload starts some 40 processes; the named ones must be there.
        CHECK(all.size() >= 20);
        std::set<int64_t> tgids;
        for (const auto& f : all) tgids.insert(f.child.tgid);
        for (const char* key :
             {"pipeline", "bg", "chain", "threads", "killed", "exit3", "orphanparent", "orphan", "connector"}) {
            INFO(key);
            CHECK(tgids.count(fact_int(facts, key)) == 1);
        }
        for (const auto& d : all) {
            const Proc p = d.child;
            INFO("process " << p << "\n" << j.describe(p.tgid));
            // One fork created it; every row that names its pid names its start.
            CHECK(j.forks_of_child(p.tgid).size() == 1);
            for (const auto& f : j.forks("parent_tgid = ?", {p.tgid})) CHECK(f.parent.start_ns == p.start_ns);
            int64_t last_exec = d.time_ns;
            for (const auto& e : j.execs_of(p.tgid)) {
                CHECK(e.proc.start_ns == p.start_ns);
                CHECK(e.time_ns >= d.time_ns);
                last_exec = std::max(last_exec, e.time_ns);
            }
            for (const auto& c : j.connects_of(p.tgid)) CHECK(c.proc.start_ns == p.start_ns);
            // Every one of them ended, exactly once, after its last exec.
            auto x = j.exits_of(p.tgid);
            CHECK(x.size() == 1);
            for (const auto& e : x) {
                CHECK(e.proc.start_ns == p.start_ns);
                CHECK(e.time_ns >= last_exec);
            }
            // The process started when it was forked (boot-time clock).
            CHECK(p.start_ns <= d.time_ns);
        }
        // Nowhere in the journal does one process exit twice.
        CHECK(j.scalar("SELECT count(*) FROM (SELECT 1 FROM exit GROUP BY tgid, start_ns HAVING count(*) > 1)") == 0);
    }
}

TEST_CASE("record refuses a file that is not a journal", "[record]") {
    TempDir dir;
    const std::string path = dir / "notes.db";
    std::string content;

    SECTION("a text file") {
        content = "these are notes, not a journal\nsecond line\n";
        write_file(path, content);
    }
    SECTION("an SQLite database of another application") {
        {
            auto db = lineage::Database::open_write(path);
            REQUIRE(db);
            REQUIRE(db->exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello');"));
        }
        content = read_file(path);
        REQUIRE(content.size() > 100);
    }

    struct stat before {};
    REQUIRE(stat(path.c_str(), &before) == 0);

    auto r = run_argv({lineage_bin(), "record", "--journal", path, "--duration", "2s"}, {}, 20s);
    INFO("stderr:\n" << r.err << "stdout:\n" << r.out);
    CHECK(!r.timed_out);
    CHECK(r.exit_code > 0);
    // One line, naming the file.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(!r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(r.err.find(path) != std::string::npos);
    CHECK(r.err.find("lineage: recording") == std::string::npos);

    // Untouched: same bytes, same mode, no WAL or rollback files beside it.
    CHECK(read_file(path) == content);
    struct stat after {};
    REQUIRE(stat(path.c_str(), &after) == 0);
    CHECK(after.st_mode == before.st_mode);
    CHECK(after.st_size == before.st_size);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
    CHECK(names == Args{"notes.db"});
}

TEST_CASE("record on an existing journal appends a second run", "[record]") {
    TempDir dir;
    const std::string journal = dir / "j.db";

    std::vector<pid_t> recorders;
    for (int run = 1; run <= 2; ++run) {
        INFO("run " << run);
        auto rec = start_record(journal);
        CHECK(rec->has_line("lineage: recording to " + journal + " (run " + std::to_string(run) + ","));
        recorders.push_back(rec->pid());
        // A marker exec, to see which run stored it (unique to this test
        // process: other work on the machine may run /bin/true too).
        auto t = run_argv({"/bin/true", "lineage-run-" + std::to_string(run) + "-" + std::to_string(getpid())});
        CHECK(t.exit_code == 0);
        rec->stop();
    }

    Journal j(journal);
    CHECK(j.scalar("SELECT count(*) FROM runs") == 2);
    CHECK(j.texts("SELECT run_id FROM runs ORDER BY run_id") == Args{"1", "2"});
    CHECK(j.texts("SELECT recorder_pid FROM runs ORDER BY run_id") ==
          Args{std::to_string(recorders[0]), std::to_string(recorders[1])});
    CHECK(j.texts("SELECT run_id || ':' || reason FROM run_stops ORDER BY run_id") == Args{"1:signal", "2:signal"});
    CHECK(j.scalar("SELECT count(DISTINCT boot_id) FROM runs") == 1);
    // Run 2 started after run 1 stopped, and its batches follow run 1's.
    CHECK(j.scalar("SELECT started_ns FROM runs WHERE run_id = 2") >
          j.scalar("SELECT stopped_ns FROM run_stops WHERE run_id = 1"));
    CHECK(j.scalar("SELECT min(batch_id) FROM batches WHERE run_id = 2") >
          j.scalar("SELECT max(batch_id) FROM batches WHERE run_id = 1"));
    for (int64_t run = 1; run <= 2; ++run) {
        INFO("run " << run);
        // Each run snapshotted /proc ...
        CHECK(j.scalar("SELECT count(*) FROM snapshot WHERE batch IN (SELECT batch_id FROM batches WHERE run_id = ?)",
                       {run}) > 0);
        // ... and stored its own marker exec, and only that one.
        const std::string marker = "lineage-run-" + std::to_string(run) + "-" + std::to_string(getpid());
        auto ex = j.execs("CAST(binary AS TEXT) = '/bin/true' AND instr(argv, CAST('" + marker +
                              "' AS BLOB)) > 0 AND batch IN (SELECT batch_id FROM batches WHERE run_id = ?)",
                          {run});
        REQUIRE(ex.size() == 1);
        CHECK(ex[0].argv == Args{"/bin/true", marker});
        // The other run's marker is not in this run's batches.
        const std::string other = "lineage-run-" + std::to_string(3 - run) + "-" + std::to_string(getpid());
        CHECK(j.execs("instr(argv, CAST('" + other +
                          "' AS BLOB)) > 0 AND batch IN (SELECT batch_id FROM batches "
                          "WHERE run_id = ?)",
                      {run})
                  .empty());
    }
    struct stat st {};
    REQUIRE(stat(journal.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("record never appends to a journal edited while it was down: it records beside it", "[record]") {
    TempDir dir;
    const std::string journal = dir / "journal.db";
    const std::string beside = dir / "journal.2.db";
    start_record(journal)->stop();
    // Edited while no recorder ran: a trigger that would empty exec on the
    // next insert.
    {
        auto db = lineage::Database::open_write(journal);
        REQUIRE(db);
        REQUIRE(db->exec("CREATE TRIGGER wipe AFTER INSERT ON exec BEGIN DELETE FROM exec; END"));
    }
    const std::string content = read_file(journal);
    for (int run = 1; run <= 2; ++run) {
        INFO("run " << run << " beside it");
        auto rec = start_record(journal);
        const std::string err = rec->stop();
        INFO(err);
        CHECK(err.find("lineage: " + journal +
                       ": the journal's schema is not lineage's: trigger wipe is not part of the schema; it is "
                       "left as it is, never appended to\n") != std::string::npos);
        CHECK(err.find("lineage: this run records to " + beside + ", beside " + journal) != std::string::npos);
        CHECK(err.find("lineage: recording to " + beside + " (run " + std::to_string(run) + ",") != std::string::npos);
        // Every anchor of the run says where it recorded, and what it refused.
        size_t anchors = 0;
        for (size_t at = err.find("lineage-anchor "); at != std::string::npos;
             at = err.find("lineage-anchor ", at + 1)) {
            ++anchors;
            const std::string line = err.substr(at, err.find('\n', at) - at);
            CHECK(line.find(" journal=" + beside + " refused=" + journal) != std::string::npos);
        }
        CHECK(anchors >= 2);
        CHECK(read_file(journal) == content);
    }
    Journal j(beside);
    CHECK(j.scalar("SELECT count(*) FROM runs") == 2);
    auto verify = run_argv({lineage_bin(), "verify", "--journal", beside}, {}, 60s);
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    auto refused = run_argv({lineage_bin(), "verify", "--journal", journal}, {}, 60s);
    INFO(refused.out << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(refused.out.find("schema: trigger wipe is not part of the schema") != std::string::npos);
}

TEST_CASE("record snapshots processes that were already running", "[record]") {
    TempDir dir;
    const std::string journal = dir / "j.db";

    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    REQUIRE(devnull >= 0);
    Reaper sleeper;
    sleeper.pid = spawn("/bin/sleep", {"sleep", "30"}, {}, devnull, devnull, devnull);
    close(devnull);
    // Wait until it is sleep (exec done), not the forked test image.
    const std::string want_cmdline(
        "sleep\0"
        "30\0",
        9);
    auto deadline = Clock::now() + 5s;
    while (read_file("/proc/" + std::to_string(sleeper.pid) + "/cmdline") != want_cmdline) {
        REQUIRE(Clock::now() < deadline);
        std::this_thread::sleep_for(2ms);
    }
    auto ticks = proc_start_ticks(sleeper.pid);
    REQUIRE(ticks.has_value());

    auto rec = start_record(journal);
    REQUIRE(kill(sleeper.pid, SIGKILL) == 0);
    auto status = wait_for(sleeper.pid, 5s);
    REQUIRE(status.has_value());
    sleeper.reaped = true;
    CHECK(WIFSIGNALED(*status));
    rec->stop();

    Journal j(journal);
    INFO(j.describe(sleeper.pid));
    const int64_t clk_tck = j.scalar("SELECT clk_tck FROM runs");
    REQUIRE(clk_tck == sysconf(_SC_CLK_TCK));
    const int64_t tick = 1'000'000'000 / clk_tck;

    auto snaps = j.snapshots("tgid = ?", {int64_t{sleeper.pid}});
    REQUIRE(snaps.size() == 1);
    const auto& s = snaps[0];
    CHECK(s.argv == Args{"sleep", "30"});
    CHECK(s.comm == "sleep");
    CHECK(s.exe == std::filesystem::canonical("/bin/sleep").string());
    CHECK(s.ppid == getpid());
    CHECK(s.uid == 0);
    CHECK(s.start_ns % tick == 0);
    CHECK(s.start_ns / tick == static_cast<int64_t>(*ticks));

    // The kernel's exit names the same process: its exact start falls into
    // the snapshot's tick.
    auto x = exit_of(j, sleeper.pid);
    CHECK(x.signal == 9);
    CHECK(x.code == 0);
    CHECK(x.comm == "sleep");
    CHECK(x.proc.start_ns / tick == static_cast<int64_t>(*ticks));
    CHECK(x.proc.start_ns >= s.start_ns);
    CHECK(x.proc.start_ns < s.start_ns + tick);
    CHECK(x.time_ns > s.time_ns);
    // Started before the run: no fork or exec of it in the journal.
    CHECK(j.forks_of_child(sleeper.pid).empty());
    CHECK(j.execs_of(sleeper.pid).empty());
}

TEST_CASE("record without privileges names what is missing and creates nothing", "[record]") {
    TempDir dir;
    REQUIRE(chmod(dir.path().c_str(), 0777) == 0);
    const std::string path = dir / "j.db";
    auto r = run_argv({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", lineage_bin(), "record",
                       "--journal", path, "--duration", "1s"},
                      {}, 20s);
    INFO("stderr:\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find("needs root") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("record --cgroup keeps only that cgroup's subtree, filtered in the kernel", "[record]") {
    const std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    const std::string name = "lineage-e2e-" + std::to_string(getpid());
    const std::string cg = mount + "/" + name;
    REQUIRE(mkdir(cg.c_str(), 0755) == 0);
    REQUIRE(mkdir((cg + "/child").c_str(), 0755) == 0);
    struct Cleanup {
        std::string cg;
        ~Cleanup() {
            rmdir((cg + "/child").c_str());
            rmdir(cg.c_str());
        }
    } cleanup{cg};

    TempDir dir;
    const std::string journal = dir / "j.db";
    auto rec = start_record(journal, {"--cgroup", "/" + name});
    const std::string in_marker = "lineage-in-cgroup-" + std::to_string(getpid());
    const std::string out_marker = "lineage-outside-" + std::to_string(getpid());
    // One process joins the nested cgroup before it execs; one stays out.
    auto in = run_argv({"/bin/sh", "-c", "echo $$ > " + cg + "/child/cgroup.procs && exec /bin/true " + in_marker});
    auto out = run_argv({"/bin/true", out_marker});
    CHECK(in.exit_code == 0);
    CHECK(out.exit_code == 0);
    rec->stop();

    Journal j(journal);
    auto in_rows = j.execs("instr(argv, CAST('" + in_marker + "' AS BLOB)) > 0", {});
    REQUIRE(in_rows.size() == 1);
    CHECK(in_rows[0].argv == Args{"/bin/true", in_marker});
    CHECK(j.execs("instr(argv, CAST('" + out_marker + "' AS BLOB)) > 0", {}).empty());
    // Nothing outside the subtree at all: every exec row is inside it, and
    // the filter is in the run's record.
    CHECK(j.scalar("SELECT count(*) FROM exec WHERE CAST(cgroup_path AS TEXT) NOT LIKE '/" + name + "%'") == 0);
    CHECK(j.texts("SELECT json_extract(filters, '$.cgroups') FROM runs") == Args{"[\"/" + name + "\"]"});
}

}  // namespace test_record
