// bench_util: the small measuring tools bench/run needs that a shell does
// badly. Every subcommand prints one line of key=value pairs (plan prints
// a readable listing).
//
//   bench_util exec [--stdout F] [--stderr F] -- CMD ARGS...
//       Runs CMD and reports wall_s, user_s, sys_s, maxrss_kib (wait4's
//       ru_maxrss of the child) and status (its exit code, or 128+signal).
//   bench_util proc PID
//       cpu_s, vmhwm_kib and vmrss_kib (from /proc/PID/status) of a running
//       process. cpu_s is the nanoseconds on CPU of its threads
//       (/proc/PID/task/*/schedstat), or utime+stime of /proc/PID/stat
//       (clock ticks, exited threads included) when that is more than two
//       ticks larger, i.e. when threads have exited. Ticks are 10 ms: a
//       quarter second of recorder CPU would be read to within 4 %.
//   bench_util storm-rows --journal J --marker M
//       The rows a `bench_storm fork-exec|posix-spawn --marker M` left in a
//       journal: the storm process is the exec of bench_storm whose argv
//       holds M; its workers are its fork rows; the children are the
//       workers' fork rows; their execs are exec rows of /bin/true whose
//       argv holds M; their exits are exit rows of the children's
//       (tgid, start_ns). Also the journal's totals and its loss rows.
//       With the crash benchmark's figures: last_commit_ns (the last
//       batch's committed_ns), max_event_ns (the latest time_ns of a fork,
//       exec, exit or connect row) and max_storm_exec_ns (of the storm's
//       execs), boot-time ns; 0 when there is none.
//   bench_util move-rows --journal J --marker M
//       The rows a `bench_storm move --marker M` left in a journal: the
//       storm and its workers found as in storm-rows; moves= is the
//       memberships rows with how 'move' of the workers, cgroups= the
//       cgroups those rows name (2: the storm's two). Also the journal's
//       memberships rows and its loss rows.
//   bench_util kill --signal N PID
//       Reads CLOCK_BOOTTIME and CLOCK_REALTIME, then sends signal N to PID
//       at once; prints boot_ns and wall_ns of that moment (the kill time
//       in the clock of the journal's event times).
//   bench_util heartbeat --dir D --writes N
//       The recorder's heartbeat and `status`, in-process, in directory D:
//       write_us, one heartbeat as the record loop writes it (JSON, a new
//       file, rename over the old one), and status_us, one journal_status()
//       of a journal this process holds the lock of (the lock probe, the
//       header, /proc/locks, the heartbeat), each the mean of N, with the
//       CPU (user+sys) per call beside it.
//   bench_util plan --journal J --source FILE
//       EXPLAIN QUERY PLAN of every SELECT/WITH string literal in FILE
//       (adjacent literals joined as the compiler joins them), so the
//       plans shown are those of the reader being benchmarked.
//   bench_util plan --journal J --statements FILE [--seen FILE2]
//       EXPLAIN QUERY PLAN of each distinct SELECT/WITH statement in FILE
//       (NUL separated, as libbench_sqltrace.so writes what a `lineage`
//       run prepared), in the order first prepared. A full scan of an
//       event table (a SCAN line naming fork, exec, exit, connect,
//       snapshot, memberships, moves or pods_alive without an index) is
//       marked "<-- FULL SCAN"; the last line is statements=N full_scans=M
//       shown=K. With --seen, statements already in FILE2 (the same form)
//       are counted but not printed again, and the new ones are added to it:
//       a section's queries share their reads of the journal's small tables.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "clock.h"
#include "heartbeat.h"
#include "journal_lock.h"
#include "sqlite.h"
#include "status.h"

namespace lineage::bench {

namespace {

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_util: {}\n", message);
    std::exit(2);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die(path + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

double tv_seconds(const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

int cmd_exec(int argc, char** argv) {
    std::string out_path = "/dev/null", err_path;
    int i = 0;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "--stdout" && i + 1 < argc) {
            out_path = argv[++i];
        } else if (a == "--stderr" && i + 1 < argc) {
            err_path = argv[++i];
        } else {
            die("usage: bench_util exec [--stdout F] [--stderr F] -- CMD ARGS...");
        }
    }
    if (i >= argc) die("exec: no command");
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) dup2(fd, STDOUT_FILENO);
        if (!err_path.empty()) {
            int efd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (efd >= 0) dup2(efd, STDERR_FILENO);
        }
        execvp(argv[i], argv + i);
        std::fprintf(stderr, "bench_util exec: %s: %s\n", argv[i], std::strerror(errno));
        _exit(127);
    }
    if (pid < 0) die(fmt::format("fork: {}", std::strerror(errno)));
    int status = 0;
    rusage ru{};
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) die(fmt::format("wait4: {}", std::strerror(errno)));
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fmt::print("wall_s={:.4f} user_s={:.3f} sys_s={:.3f} maxrss_kib={} status={}\n", wall, tv_seconds(ru.ru_utime),
               tv_seconds(ru.ru_stime), ru.ru_maxrss, code);
    return 0;
}

int cmd_proc(int argc, char** argv) {
    if (argc != 1) die("usage: bench_util proc PID");
    std::string pid = argv[0];
    std::string stat = read_file("/proc/" + pid + "/stat");
    // comm may hold spaces and parentheses: fields restart after the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) die("cannot parse /proc/" + pid + "/stat");
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) f.push_back(s);
    // After ')': state is field 3, utime field 14, stime field 15.
    if (f.size() < 13) die("short /proc/" + pid + "/stat");
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double stat_cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    double sched_cpu = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + pid + "/task", ec)) {
        std::istringstream sched(read_file(task.path().string() + "/schedstat"));
        double ns = 0;
        if (sched >> ns) sched_cpu += ns / 1e9;
    }
    const double cpu = stat_cpu - sched_cpu > 2 / ticks ? stat_cpu : sched_cpu;
    long hwm = 0, rss = 0;
    std::istringstream status(read_file("/proc/" + pid + "/status"));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) hwm = std::atol(line.c_str() + 6);
        if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
    }
    fmt::print("cpu_s={:.6f} vmhwm_kib={} vmrss_kib={}\n", cpu, hwm, rss);
    return 0;
}

Database open_journal(const std::string& path) {
    // A closed journal (no -wal left) is opened immutable, so that reading
    // it leaves no -shm or -wal beside it; a live one is read through its WAL.
    struct stat wal {};
    bool live = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
    auto db = Database::open_read("file:" + path + (live ? "?mode=ro" : "?mode=ro&immutable=1"));
    if (!db) die(path + ": " + db.error().message);
    return std::move(*db);
}

int64_t query_count(Database& db, const std::string& sql, const std::string& marker = "") {
    auto stmt = db.prepare(sql);
    if (!stmt) die(fmt::format("cannot prepare '{}': {}", sql, stmt.error().message));
    if (!marker.empty()) {
        stmt->bind_blob(1, marker);
        stmt->bind_blob(2, std::string_view("/bin/true"));
    }
    if (stmt->step() != SQLITE_ROW) die(fmt::format("no row from '{}': {}", sql, db.errmsg()));
    return stmt->int64(0);
}

int cmd_storm_rows(int argc, char** argv) {
    std::string journal, marker;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--journal" && i + 1 < argc) {
            journal = argv[++i];
        } else if (a == "--marker" && i + 1 < argc) {
            marker = argv[++i];
        } else {
            die("usage: bench_util storm-rows --journal J --marker M");
        }
    }
    if (journal.empty() || marker.empty()) die("storm-rows needs --journal and --marker");
    Database db = open_journal(journal);
    // ?1 is the marker, ?2 "/bin/true"; both bound as blobs because the
    // journal keeps argv and binary as blobs (a text never equals a blob).
    const std::string ctes =
        "WITH storm AS (SELECT tgid, start_ns FROM exec WHERE instr(argv, ?1) > 0 AND instr(binary, "
        "CAST('bench_storm' AS BLOB)) > 0), "
        "workers AS (SELECT f.child_tgid AS tgid, f.child_start_ns AS start_ns FROM fork f JOIN storm s "
        "ON f.parent_tgid = s.tgid AND f.parent_start_ns = s.start_ns), "
        "kids AS (SELECT f.child_tgid AS tgid, f.child_start_ns AS start_ns FROM fork f JOIN workers w "
        "ON f.parent_tgid = w.tgid AND f.parent_start_ns = w.start_ns), "
        "true_execs AS (SELECT tgid, start_ns FROM exec WHERE binary = ?2 AND instr(argv, ?1) > 0), "
        "all_kids AS (SELECT tgid, start_ns FROM kids UNION SELECT tgid, start_ns FROM true_execs) ";
    int64_t storms = query_count(db, ctes + "SELECT count(*) FROM storm", marker);
    int64_t workers = query_count(db, ctes + "SELECT count(*) FROM workers", marker);
    int64_t forks = query_count(db, ctes + "SELECT count(*) FROM kids", marker);
    int64_t execs = query_count(db, ctes + "SELECT count(*) FROM true_execs", marker);
    int64_t exits = query_count(
        db, ctes + "SELECT count(*) FROM exit e JOIN all_kids k ON e.tgid = k.tgid AND e.start_ns = k.start_ns",
        marker);
    int64_t total_fork = query_count(db, "SELECT count(*) FROM fork");
    int64_t total_exec = query_count(db, "SELECT count(*) FROM exec");
    int64_t total_exit = query_count(db, "SELECT count(*) FROM exit");
    int64_t total_connect = query_count(db, "SELECT count(*) FROM connect");
    int64_t loss_rows = query_count(db, "SELECT count(*) FROM loss");
    int64_t loss_count = query_count(db, "SELECT coalesce(sum(count), 0) FROM loss");
    int64_t stop_events = query_count(db, "SELECT coalesce(sum(events), -1) FROM run_stops");
    int64_t stop_lost = query_count(db, "SELECT coalesce(sum(lost), -1) FROM run_stops");
    int64_t snapshot = query_count(db, "SELECT count(*) FROM snapshot");
    int64_t last_commit = query_count(db, "SELECT coalesce(max(committed_ns), 0) FROM batches");
    int64_t max_event = query_count(
        db,
        "SELECT max((SELECT coalesce(max(time_ns), 0) FROM fork), (SELECT coalesce(max(time_ns), 0) FROM exec), "
        "(SELECT coalesce(max(time_ns), 0) FROM exit), (SELECT coalesce(max(time_ns), 0) FROM connect))");
    int64_t max_storm_exec = query_count(
        db, ctes + "SELECT coalesce(max(e.time_ns), 0) FROM exec e WHERE e.binary = ?2 AND instr(e.argv, ?1) > 0",
        marker);
    fmt::print(
        "storm_found={} workers={} forks={} execs={} exits={} total_fork={} total_exec={} total_exit={} "
        "total_connect={} total_events={} loss_rows={} loss_count={} stop_events={} stop_lost={} snapshot={} "
        "last_commit_ns={} max_event_ns={} max_storm_exec_ns={}\n",
        storms, workers, forks, execs, exits, total_fork, total_exec, total_exit, total_connect,
        total_fork + total_exec + total_exit + total_connect, loss_rows, loss_count, stop_events, stop_lost, snapshot,
        last_commit, max_event, max_storm_exec);
    return 0;
}

// A count over rows of the move storm: ?1 is the marker, bound as a blob.
int64_t move_count(Database& db, const std::string& sql, const std::string& marker) {
    auto stmt = db.prepare(sql);
    if (!stmt) die(fmt::format("cannot prepare '{}': {}", sql, stmt.error().message));
    stmt->bind_blob(1, marker);
    if (stmt->step() != SQLITE_ROW) die(fmt::format("no row from '{}': {}", sql, db.errmsg()));
    return stmt->int64(0);
}

int cmd_move_rows(int argc, char** argv) {
    std::string journal, marker;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--journal" && i + 1 < argc) {
            journal = argv[++i];
        } else if (a == "--marker" && i + 1 < argc) {
            marker = argv[++i];
        } else {
            die("usage: bench_util move-rows --journal J --marker M");
        }
    }
    if (journal.empty() || marker.empty()) die("move-rows needs --journal and --marker");
    Database db = open_journal(journal);
    if (query_count(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'memberships'") == 0)
        die(journal + ": no memberships table (a journal of schema version 1 or 2)");
    const std::string ctes =
        "WITH storm AS (SELECT tgid, start_ns FROM exec WHERE instr(argv, ?1) > 0 AND instr(binary, "
        "CAST('bench_storm' AS BLOB)) > 0), "
        "workers AS (SELECT f.child_tgid AS tgid, f.child_start_ns AS start_ns FROM fork f JOIN storm s "
        "ON f.parent_tgid = s.tgid AND f.parent_start_ns = s.start_ns), "
        "moves AS (SELECT m.hierarchy, m.cgroup_id FROM memberships m JOIN workers w ON m.tgid = w.tgid AND "
        "m.start_ns = w.start_ns WHERE m.how = 'move') ";
    int64_t storms = move_count(db, ctes + "SELECT count(*) FROM storm", marker);
    int64_t workers = move_count(db, ctes + "SELECT count(*) FROM workers", marker);
    int64_t moves = move_count(db, ctes + "SELECT count(*) FROM moves", marker);
    int64_t cgroups =
        move_count(db, ctes + "SELECT count(*) FROM (SELECT DISTINCT hierarchy, cgroup_id FROM moves)", marker);
    int64_t memberships = query_count(db, "SELECT count(*) FROM memberships");
    int64_t all_moves = query_count(db, "SELECT count(*) FROM memberships WHERE how = 'move'");
    int64_t loss_rows = query_count(db, "SELECT count(*) FROM loss");
    int64_t loss_count = query_count(db, "SELECT coalesce(sum(count), 0) FROM loss");
    fmt::print(
        "storm_found={} workers={} moves={} cgroups={} total_memberships={} total_moves={} loss_rows={} "
        "loss_count={}\n",
        storms, workers, moves, cgroups, memberships, all_moves, loss_rows, loss_count);
    return 0;
}

int cmd_kill(int argc, char** argv) {
    if (argc != 3 || std::string(argv[0]) != "--signal") die("usage: bench_util kill --signal N PID");
    char* end = nullptr;
    long sig = std::strtol(argv[1], &end, 10);
    if (*end != '\0' || sig <= 0) die(fmt::format("kill: '{}' is not a signal number", argv[1]));
    long pid = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || pid <= 0) die(fmt::format("kill: '{}' is not a PID", argv[2]));
    timespec boot{}, wall{};
    clock_gettime(CLOCK_BOOTTIME, &boot);
    clock_gettime(CLOCK_REALTIME, &wall);
    if (::kill(static_cast<pid_t>(pid), static_cast<int>(sig)) != 0)
        die(fmt::format("kill {}: {}", pid, std::strerror(errno)));
    fmt::print("boot_ns={} wall_ns={} signal={} pid={}\n", boot.tv_sec * 1'000'000'000LL + boot.tv_nsec,
               wall.tv_sec * 1'000'000'000LL + wall.tv_nsec, sig, pid);
    return 0;
}

double cpu_now_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return tv_seconds(ru.ru_utime) + tv_seconds(ru.ru_stime);
}

int cmd_heartbeat(int argc, char** argv) {
    std::string dir;
    long writes = 0;
    for (int i = 0; i + 1 < argc; i += 2) {
        std::string opt = argv[i];
        if (opt == "--dir") {
            dir = argv[i + 1];
        } else if (opt == "--writes") {
            writes = std::strtol(argv[i + 1], nullptr, 10);
        } else {
            die("usage: bench_util heartbeat --dir D --writes N");
        }
    }
    if (dir.empty() || writes <= 0) die("usage: bench_util heartbeat --dir D --writes N");
    const std::string journal = dir + "/heartbeat-bench.db";
    auto lock = JournalLock::take(journal, true);
    if (!lock || lock->state() != JournalLock::State::taken) die(journal + ": cannot take the lock");
    Heartbeat h;
    h.phase = "recording";
    h.pid = getpid();
    h.boot_id = status_context_now().boot_id;
    h.journal_dev = lock->dev();
    h.journal_ino = lock->ino();
    h.version = "bench";
    h.node = "bench";
    h.run_id = 1;
    h.batch_interval_ns = 100'000'000;
    h.filters_json = R"({"kube_only":true})";
    h.anchor_hash = std::string(64, 'a');
    HeartbeatFile file(heartbeat_path(lock->canonical()), lock->fd());

    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_now_s();
    for (long i = 0; i < writes; ++i) {
        // What the loop changes every turn.
        h.written_boot_ns = boot_now_ns();
        h.written_wall_ns = wall_now_ns();
        h.run.stored += 1000;
        if (auto st = file.write(h); !st) die(st.error().message);
    }
    const double write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double write_cpu = cpu_now_s() - c0;

    // What a probe sees: recording, healthy (the heartbeat is fresh).
    h.written_boot_ns = boot_now_ns();
    if (auto st = file.write(h); !st) die(st.error().message);
    t0 = std::chrono::steady_clock::now();
    c0 = cpu_now_s();
    for (long i = 0; i < writes; ++i) {
        auto r = journal_status(journal, status_context_now());
        if (!r) die(r.error().message);
        if (!r->recording || !r->heartbeat) die("status did not see the lock or the heartbeat");
    }
    const double status_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double status_cpu = cpu_now_s() - c0;
    const double n = static_cast<double>(writes);
    fmt::print("writes={} write_us={:.2f} write_cpu_us={:.2f} status_us={:.2f} status_cpu_us={:.2f} bytes={}\n", writes,
               write_s / n * 1e6, write_cpu / n * 1e6, status_s / n * 1e6, status_cpu / n * 1e6,
               heartbeat_json(h).size());
    std::filesystem::remove(journal);
    std::filesystem::remove(heartbeat_path(lock->canonical()));
    return 0;
}

// String literals of a C++ file, adjacent ones joined. Comments, character
// literals and raw strings are understood well enough for ordinary code.
std::vector<std::string> string_literals(const std::string& src) {
    std::vector<std::string> out;
    std::string current;
    bool open = false;  // a literal sequence is being joined
    size_t i = 0;
    auto flush = [&] {
        if (open) out.push_back(current);
        current.clear();
        open = false;
    };
    while (i < src.size()) {
        char c = src[i];
        if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
            i = src.find('\n', i);
            if (i == std::string::npos) break;
            continue;
        }
        if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
            i = src.find("*/", i + 2);
            if (i == std::string::npos) break;
            i += 2;
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
            continue;
        }
        if (c == '\'') {
            flush();
            ++i;
            while (i < src.size() && src[i] != '\'') i += src[i] == '\\' ? 2 : 1;
            ++i;
            continue;
        }
        if (c == 'R' && i + 1 < src.size() && src[i + 1] == '"') {
            size_t paren = src.find('(', i + 2);
            if (paren == std::string::npos) break;
            // Built piecewise: GCC 12 warns (-Wrestrict) on ")" + substr + "\"".
            std::string delim(1, ')');
            delim.append(src, i + 2, paren - i - 2);
            delim.push_back('"');
            size_t end = src.find(delim, paren + 1);
            if (end == std::string::npos) break;
            current += src.substr(paren + 1, end - paren - 1);
            open = true;
            i = end + delim.size();
            continue;
        }
        if (c == '"') {
            ++i;
            while (i < src.size() && src[i] != '"') {
                if (src[i] == '\\' && i + 1 < src.size()) {
                    char e = src[i + 1];
                    current.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
                    i += 2;
                } else {
                    current.push_back(src[i++]);
                }
            }
            ++i;
            open = true;
            continue;
        }
        flush();
        ++i;
    }
    flush();
    return out;
}

// The tables whose rows grow with the events: a SCAN of one without an
// index reads the journal whole.
bool is_event_table(const std::string& name) {
    for (const char* t : {"fork", "exec", "exit", "connect", "snapshot", "memberships", "moves", "pods_alive"}) {
        if (name == t) return true;
    }
    return false;
}

// Prints the rows of an EXPLAIN QUERY PLAN statement, indented by depth
// (unless !print); returns how many are full scans of an event table.
int print_plan(Stmt& stmt, bool print = true) {
    int scans = 0;
    // Rows are (id, parent, notused, detail).
    std::vector<std::pair<int64_t, int>> depth;  // id -> depth
    while (stmt.step() == SQLITE_ROW) {
        int64_t id = stmt.int64(0), parent = stmt.int64(1);
        int d = 0;
        for (const auto& [pid, pd] : depth) {
            if (pid == parent) d = pd + 1;
        }
        depth.emplace_back(id, d);
        const std::string detail = stmt.text(3);
        bool full = false;
        if (detail.rfind("SCAN ", 0) == 0) {
            std::string table = detail.substr(5, detail.find(' ', 5) - 5);
            full = is_event_table(table) && detail.find(" USING ") == std::string::npos;
        }
        scans += full ? 1 : 0;
        if (print) fmt::print("  {:>{}}{}{}\n", "", d * 2, detail, full ? "  <-- FULL SCAN" : "");
    }
    return scans;
}

// NUL-separated statements, as libbench_sqltrace.so writes them.
std::vector<std::string> split_statements(const std::string& all) {
    std::vector<std::string> out;
    for (size_t at = 0; at < all.size();) {
        size_t end = all.find('\0', at);
        if (end == std::string::npos) end = all.size();
        out.push_back(all.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

int plan_statements(const std::string& journal, const std::string& path, const std::string& seen_path) {
    Database db = open_journal(journal);
    std::vector<std::string> shown_before;
    if (!seen_path.empty() && std::filesystem::exists(seen_path)) shown_before = split_statements(read_file(seen_path));
    std::vector<std::string> seen;
    int scans = 0, shown = 0;
    for (const std::string& sql : split_statements(read_file(path))) {
        const size_t start = sql.find_first_not_of(" \t\n");
        if (start == std::string::npos) continue;
        std::string head = sql.substr(start, 6);
        for (char& ch : head) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (head.rfind("SELECT", 0) != 0 && head.rfind("WITH", 0) != 0) continue;
        if (std::find(seen.begin(), seen.end(), sql) != seen.end()) continue;
        seen.push_back(sql);
        auto stmt = db.prepare("EXPLAIN QUERY PLAN " + sql);
        std::string one_line;
        for (char ch : sql) one_line.push_back(ch == '\n' ? ' ' : ch);
        const bool quiet = std::find(shown_before.begin(), shown_before.end(), sql) != shown_before.end();
        if (!stmt) {
            if (!quiet) fmt::print("statement {}: {}\n  (no plan: {})\n", seen.size(), one_line, stmt.error().message);
            continue;
        }
        if (quiet) {
            scans += print_plan(*stmt, false);  // counted; its plan is shown above
            continue;
        }
        ++shown;
        fmt::print("statement {}: {}\n", seen.size(), one_line);
        scans += print_plan(*stmt);
        if (!seen_path.empty()) {
            std::ofstream append(seen_path, std::ios::app | std::ios::binary);
            append << sql << '\0';
        }
    }
    fmt::print("statements={} full_scans={} shown={}\n", seen.size(), scans, shown);
    return 0;
}

int cmd_plan(int argc, char** argv) {
    std::string journal, source, statements, seen;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--journal" && i + 1 < argc) {
            journal = argv[++i];
        } else if (a == "--source" && i + 1 < argc) {
            source = argv[++i];
        } else if (a == "--statements" && i + 1 < argc) {
            statements = argv[++i];
        } else if (a == "--seen" && i + 1 < argc) {
            seen = argv[++i];
        } else {
            die("usage: bench_util plan --journal J --source FILE | --statements FILE [--seen FILE]");
        }
    }
    if (!statements.empty()) return plan_statements(journal, statements, seen);
    Database db = open_journal(journal);
    int n = 0;
    for (const std::string& lit : string_literals(read_file(source))) {
        size_t start = lit.find_first_not_of(" \t\n");
        if (start == std::string::npos) continue;
        std::string head = lit.substr(start, 6);
        for (char& ch : head) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (head.rfind("SELECT", 0) != 0 && head.rfind("WITH", 0) != 0) continue;
        // fmt::format("SELECT {} FROM t ...", columns): the columns are
        // filled in at run time; "*" reads the same rows.
        std::string sql;
        for (size_t i = start; i < lit.size(); ++i) {
            if (lit.compare(i, 2, "{}") == 0) {
                sql.push_back('*');
                ++i;
            } else {
                sql.push_back(lit[i]);
            }
        }
        auto stmt = db.prepare("EXPLAIN QUERY PLAN " + sql);
        if (!stmt) continue;  // not a whole statement (a fragment, or its table is a parameter)
        ++n;
        fmt::print("query {}: {}\n", n, sql);
        print_plan(*stmt);
        // A statement without parameters runs the same on every query:
        // time it whole, every column read.
        if (sql.find('?') == std::string::npos) {
            auto run = db.prepare(sql);
            if (!run) continue;
            auto t0 = std::chrono::steady_clock::now();
            int64_t rows = 0;
            int cols = sqlite3_column_count(run->get());
            while (run->step() == SQLITE_ROW) {
                ++rows;
                for (int c = 0; c < cols; ++c) sqlite3_column_int64(run->get(), c);
            }
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            fmt::print("  runs whole on every query: {} rows in {:.1f} ms\n", rows, ms);
        }
    }
    if (n == 0) fmt::print("no SELECT statements found in {}\n", source);
    return 0;
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage::bench;
    if (argc < 2) die("usage: bench_util exec|proc|storm-rows|move-rows|kill|heartbeat|plan ...");
    std::string cmd = argv[1];
    if (cmd == "exec") return cmd_exec(argc - 2, argv + 2);
    if (cmd == "proc") return cmd_proc(argc - 2, argv + 2);
    if (cmd == "storm-rows") return cmd_storm_rows(argc - 2, argv + 2);
    if (cmd == "move-rows") return cmd_move_rows(argc - 2, argv + 2);
    if (cmd == "plan") return cmd_plan(argc - 2, argv + 2);
    if (cmd == "kill") return cmd_kill(argc - 2, argv + 2);
    if (cmd == "heartbeat") return cmd_heartbeat(argc - 2, argv + 2);
    die("unknown subcommand " + cmd);
}
