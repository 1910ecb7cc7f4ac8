#pragma once
// Shared helpers of the end-to-end tests: temporary directories, running
// commands, a `lineage record` child process, and reading a journal.
//
// Everything here runs the real binary (LINEAGE_BIN) as a separate process
// and reads the journal it wrote through lib/sqlite.h, read-only.
//
// Set LINEAGE_E2E_KEEP=1 to keep the temporary directories (and journals) of
// the tests for inspection; their paths are printed.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "sqlite.h"

extern char** environ;

namespace e2e {

using Env = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

inline std::string lineage_bin() { return LINEAGE_BIN; }
inline std::string source_dir() { return LINEAGE_SOURCE_DIR; }

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

// A fresh directory under /tmp, removed again unless LINEAGE_E2E_KEEP=1.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lineage-e2e-XXXXXX";
        char* p = mkdtemp(tmpl);
        REQUIRE(p != nullptr);
        path_ = p;
        const char* keep = std::getenv("LINEAGE_E2E_KEEP");
        keep_ = keep && std::string(keep) == "1";
        if (keep_) std::fprintf(stderr, "e2e: keeping %s\n", path_.c_str());
    }
    ~TempDir() {
        if (keep_) return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
    bool keep_ = false;
};

// ---------------------------------------------------------------------------
// Processes

// fork + execve of `path` with `argv` (argv[0] included) and the test's
// environment plus `env`. The child gets its own process group (so a
// timeout can kill everything it started), default signal dispositions and
// an empty signal mask. -1 in a fd argument keeps the test's own.
inline pid_t spawn(const std::string& path, const std::vector<std::string>& argv, const Env& env, int stdin_fd,
                   int stdout_fd, int stderr_fd) {
    // Everything the child needs is built before fork: after it, only
    // async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string_view kv(*e);
        bool overridden = false;
        for (const auto& [k, v] : env) {
            if (kv.size() > k.size() && kv.substr(0, k.size()) == k && kv[k.size()] == '=') overridden = true;
        }
        if (!overridden) env_strings.emplace_back(kv);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    std::vector<char*> argvp;
    for (auto& s : argv_copy) argvp.push_back(s.data());
    argvp.push_back(nullptr);

    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        if (stdin_fd >= 0) dup2(stdin_fd, 0);
        if (stdout_fd >= 0) dup2(stdout_fd, 1);
        if (stderr_fd >= 0) dup2(stderr_fd, 2);
        execve(path.c_str(), argvp.data(), envp.data());
        _exit(127);
    }
    return pid;
}

// Waits for `pid` up to `timeout`; nullopt when it is still running.
inline std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return std::nullopt;
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

inline std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

struct RunResult {
    int status = -1;     // raw wait status
    int exit_code = -1;  // -1 unless it exited normally
    std::string out;
    std::string err;
    bool timed_out = false;
};

// Runs argv[0] (an absolute path) with argv, collects stdout and stderr until
// both are closed (so every process holding them has ended) and the child is
// reaped. After `timeout` the child's process group is killed.
inline RunResult run_argv(const std::vector<std::string>& argv, const Env& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    int out_pipe[2], err_pipe[2];
    REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(devnull >= 0);
    pid_t pid = spawn(argv.at(0), argv, env, devnull, out_pipe[1], err_pipe[1]);
    close(devnull);
    close(out_pipe[1]);
    close(err_pipe[1]);

    RunResult result;
    auto deadline = Clock::now() + timeout;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_fds = 2;
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            result.timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, 2, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        REQUIRE(n >= 0);
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof(buf));
            if (got > 0) {
                sinks[i]->append(buf, static_cast<size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& f : fds) {
        if (f.fd >= 0) close(f.fd);
    }
    auto status = wait_for(pid, std::chrono::seconds(10));
    if (!status) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        status = wait_for(pid, std::chrono::seconds(5));
        result.timed_out = true;
    }
    REQUIRE(status.has_value());
    result.status = *status;
    if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
    return result;
}

// Runs a shell command line with /bin/sh -c.
inline RunResult run_shell(const std::string& command, const Env& env = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return run_argv({"/bin/sh", "-c", command}, env, timeout);
}

// key=value lines of a workload's stdout; other lines are ignored. A key
// printed twice keeps its last value.
inline std::map<std::string, std::string> parse_facts(const std::string& out) {
    std::map<std::string, std::string> facts;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        facts[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return facts;
}

inline int64_t fact_int(const std::map<std::string, std::string>& facts, const std::string& key) {
    auto it = facts.find(key);
    INFO("workload fact '" << key << "'");
    REQUIRE(it != facts.end());
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(it->second, &used);
    } catch (...) {
        used = 0;
    }
    INFO("value '" << it->second << "'");
    REQUIRE(used == it->second.size());
    REQUIRE(!it->second.empty());
    return v;
}

// /proc/PID/stat field 22 (starttime, clock ticks since boot); nullopt when
// the process is gone.
inline std::optional<uint64_t> proc_start_ticks(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) return std::nullopt;
    std::istringstream in(stat.substr(close_paren + 2));
    std::string field;
    // Field 3 (state) is the first after "comm)"; field 22 is the 20th.
    for (int i = 3; i <= 22; ++i) {
        if (!(in >> field)) return std::nullopt;
    }
    return std::stoull(field);
}

// A TCP listener on an ephemeral port of `address` (IPv4 or IPv6 literal).
// Connections complete in the kernel's backlog; nothing accepts them.
class Listener {
public:
    explicit Listener(const std::string& address) {
        bool v6 = address.find(':') != std::string::npos;
        fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (v6) {
            auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
            sa->sin6_family = AF_INET6;
            REQUIRE(inet_pton(AF_INET6, address.c_str(), &sa->sin6_addr) == 1);
            len = sizeof(*sa);
        } else {
            auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
            sa->sin_family = AF_INET;
            REQUIRE(inet_pton(AF_INET, address.c_str(), &sa->sin_addr) == 1);
            len = sizeof(*sa);
        }
        INFO("listening on " << address);
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0);
        REQUIRE(listen(fd_, 16) == 0);
        len = sizeof(ss);
        REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    ~Listener() {
        if (fd_ >= 0) close(fd_);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

// ---------------------------------------------------------------------------
// `lineage record` as a child process

// Runs `lineage record --journal JOURNAL [extra...]` with stderr piped and read
// by a thread (the pipe never fills). start() returns once it printed
// "lineage: recording"; stop() sends SIGINT and checks a clean exit.
class RecordProcess {
public:
    static constexpr auto kReadyTimeout = std::chrono::seconds(20);
    static constexpr auto kStopTimeout = std::chrono::seconds(20);

    explicit RecordProcess(std::string journal, std::vector<std::string> extra = {})
        : journal_(std::move(journal)), extra_(std::move(extra)) {}
    RecordProcess(const RecordProcess&) = delete;
    RecordProcess& operator=(const RecordProcess&) = delete;

    ~RecordProcess() {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
            (void)wait_for(pid_, std::chrono::seconds(10));
        }
        if (reader_.joinable()) reader_.join();
    }

    void start() {
        int err_pipe[2];
        REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
        std::vector<std::string> argv = {lineage_bin(), "record", "--journal", journal_};
        argv.insert(argv.end(), extra_.begin(), extra_.end());
        pid_ = spawn(argv[0], argv, {}, -1, -1, err_pipe[1]);
        close(err_pipe[1]);
        int fd = err_pipe[0];
        reader_ = std::thread([this, fd] {
            char buf[4096];
            while (true) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR) continue;
                std::lock_guard<std::mutex> lock(mu_);
                if (n <= 0) {
                    eof_ = true;
                    cv_.notify_all();
                    break;
                }
                err_.append(buf, static_cast<size_t>(n));
                cv_.notify_all();
            }
            close(fd);
        });

        bool ready = false;
        bool died = false;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait_for(lock, kReadyTimeout, [this] { return has_line_locked("lineage: recording") || eof_; });
            ready = has_line_locked("lineage: recording");
            died = eof_;
        }
        if (!ready) {
            // Died or hung: kill it and show what it said.
            kill(pid_, SIGKILL);
            auto status = wait_for(pid_, std::chrono::seconds(10));
            reaped_ = status.has_value();
            if (reader_.joinable()) reader_.join();
            INFO("lineage record stderr:\n" << stderr_text());
            INFO("lineage record " << (status ? describe_status(*status) : std::string("did not exit")));
            FAIL("lineage record did not print 'lineage: recording' "
                 << (died ? "before it exited" : "within 20 s"));
        }
    }

    // SIGINT, wait for the exit, require exit status 0. Returns stderr.
    std::string stop() {
        REQUIRE(pid_ > 0);
        REQUIRE(!reaped_);
        REQUIRE(kill(pid_, SIGINT) == 0);
        auto status = wait_for(pid_, kStopTimeout);
        if (!status) {
            kill(pid_, SIGKILL);
            status = wait_for(pid_, std::chrono::seconds(10));
            reaped_ = status.has_value();
            if (reader_.joinable()) reader_.join();
            INFO("lineage record stderr:\n" << stderr_text());
            FAIL("lineage record did not stop within 20 s of SIGINT");
        }
        reaped_ = true;
        if (reader_.joinable()) reader_.join();
        std::string err = stderr_text();
        INFO("lineage record stderr:\n" << err);
        INFO("lineage record " << describe_status(*status));
        REQUIRE(WIFEXITED(*status));
        REQUIRE(WEXITSTATUS(*status) == 0);
        REQUIRE(has_line("lineage: stopped"));
        return err;
    }

    pid_t pid() const { return pid_; }
    const std::string& journal() const { return journal_; }
    std::string stderr_text() const {
        std::lock_guard<std::mutex> lock(mu_);
        return err_;
    }
    bool has_line(std::string_view prefix) const {
        std::lock_guard<std::mutex> lock(mu_);
        return has_line_locked(prefix);
    }

private:
    // A complete line (newline included) that starts with `prefix`.
    bool has_line_locked(std::string_view prefix) const {
        size_t pos = 0;
        while (pos < err_.size()) {
            size_t nl = err_.find('\n', pos);
            if (nl == std::string::npos) return false;
            if (std::string_view(err_).substr(pos, nl - pos).substr(0, prefix.size()) == prefix) return true;
            pos = nl + 1;
        }
        return false;
    }

    std::string journal_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::thread reader_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string err_;
    bool eof_ = false;
};

// Starts a recorder on `journal` and waits until it records.
inline std::unique_ptr<RecordProcess> start_record(const std::string& journal, std::vector<std::string> extra = {}) {
    auto rec = std::make_unique<RecordProcess>(journal, std::move(extra));
    rec->start();
    return rec;
}

// ---------------------------------------------------------------------------
// Reading a journal

// Splits a NUL-separated argv blob: one trailing NUL ends the last argument.
inline std::vector<std::string> split_nul(const std::string& raw) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < raw.size()) {
        size_t nul = raw.find('\0', pos);
        if (nul == std::string::npos) {
            out.push_back(raw.substr(pos));
            break;
        }
        out.push_back(raw.substr(pos, nul - pos));
        pos = nul + 1;
    }
    return out;
}

inline std::string join_args(const std::vector<std::string>& args) {
    std::string s = "{";
    for (size_t i = 0; i < args.size(); ++i) s += (i ? ", \"" : "\"") + args[i] + "\"";
    return s + "}";
}

// A process identity: (tgid, group leader start_boottime in ns).
struct Proc {
    int64_t tgid = 0;
    int64_t start_ns = 0;
    bool operator==(const Proc&) const = default;
    auto operator<=>(const Proc&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Proc& p) {
    return os << "(" << p.tgid << ", " << p.start_ns << ")";
}

struct ForkRow {
    int64_t time_ns = 0;
    Proc parent, child;
    std::string parent_comm;
};
struct ExecRow {
    int64_t time_ns = 0;
    Proc proc, parent;
    int64_t uid = 0, gid = 0, euid = 0, truncated = 0;
    std::string comm, binary;
    std::vector<std::string> argv;
};
struct ExitRow {
    int64_t time_ns = 0;
    Proc proc;
    int64_t code = 0, signal = 0, core_dumped = 0;
    std::string comm;
};
struct ConnectRow {
    int64_t time_ns = 0, outcome_ns = 0;
    Proc proc;
    int64_t family = 0, sport = 0, dport = 0;
    std::string saddr, daddr, result;
};
struct SnapshotRow {
    int64_t time_ns = 0, tgid = 0, ppid = 0, start_ns = 0, uid = 0;
    std::string comm, exe;
    std::vector<std::string> argv;
};

using Param = std::variant<int64_t, std::string>;

// A journal opened read-only (file:PATH?mode=ro).
class Journal {
public:
    explicit Journal(const std::string& path) : path_(path) {
        auto db = lineage::Database::open_read(uri_for(path));
        INFO("opening journal " << path);
        if (!db) FAIL(db.error().message);
        db_ = std::move(*db);
    }

    static std::string uri_for(const std::string& path) {
        std::string uri = "file:";
        for (char c : path) {
            if (c == '%' || c == '?' || c == '#') {
                char buf[4];
                std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(c));
                uri += buf;
            } else {
                uri += c;
            }
        }
        return uri + "?mode=ro";
    }

    lineage::Database& db() { return db_; }

    // Prepares `sql`, binds `params` (1-based, in order) and calls `each`
    // with the statement for every row.
    template <typename F>
    void each(std::string_view sql, const std::vector<Param>& params, F&& each_row) {
        auto stmt = db_.prepare(sql);
        INFO("SQL: " << sql);
        if (!stmt) FAIL(stmt.error().message);
        for (size_t i = 0; i < params.size(); ++i) {
            int idx = static_cast<int>(i + 1);
            if (auto* v = std::get_if<int64_t>(&params[i])) {
                stmt->bind(idx, *v);
            } else {
                stmt->bind(idx, std::string_view(std::get<std::string>(params[i])));
            }
        }
        while (true) {
            int rc = stmt->step();
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) FAIL("step failed: " << db_.errmsg());
            each_row(*stmt);
        }
    }

    int64_t scalar(std::string_view sql, const std::vector<Param>& params = {}) {
        std::optional<int64_t> v;
        each(sql, params, [&](lineage::Stmt& s) { v = s.int64(0); });
        INFO("SQL: " << sql);
        REQUIRE(v.has_value());
        return *v;
    }

    std::vector<std::string> texts(std::string_view sql, const std::vector<Param>& params = {}) {
        std::vector<std::string> out;
        each(sql, params, [&](lineage::Stmt& s) { out.push_back(s.text(0)); });
        return out;
    }

    static constexpr const char* kForkCols =
        "time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, parent_comm";
    static constexpr const char* kExecCols =
        "time_ns, tgid, start_ns, parent_tgid, parent_start_ns, uid, gid, euid, truncated, comm, binary, argv";
    static constexpr const char* kExitCols = "time_ns, tgid, start_ns, code, signal, core_dumped, comm";
    static constexpr const char* kConnectCols =
        "time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, dport, result";

    std::vector<ForkRow> forks(const std::string& where, const std::vector<Param>& params) {
        std::vector<ForkRow> out;
        each(std::string("SELECT ") + kForkCols + " FROM fork WHERE " + where + " ORDER BY time_ns, rowid", params,
             [&](lineage::Stmt& s) {
                 out.push_back(ForkRow{s.int64(0), {s.int64(1), s.int64(2)}, {s.int64(3), s.int64(4)}, s.blob(5)});
             });
        return out;
    }
    std::vector<ExecRow> execs(const std::string& where, const std::vector<Param>& params) {
        std::vector<ExecRow> out;
        each(std::string("SELECT ") + kExecCols + " FROM exec WHERE " + where + " ORDER BY time_ns, rowid", params,
             [&](lineage::Stmt& s) {
                 ExecRow r;
                 r.time_ns = s.int64(0);
                 r.proc = {s.int64(1), s.int64(2)};
                 r.parent = {s.int64(3), s.int64(4)};
                 r.uid = s.int64(5);
                 r.gid = s.int64(6);
                 r.euid = s.int64(7);
                 r.truncated = s.int64(8);
                 r.comm = s.blob(9);
                 r.binary = s.blob(10);
                 r.argv = split_nul(s.blob(11));
                 out.push_back(std::move(r));
             });
        return out;
    }
    std::vector<ExitRow> exits(const std::string& where, const std::vector<Param>& params) {
        std::vector<ExitRow> out;
        each(std::string("SELECT ") + kExitCols + " FROM exit WHERE " + where + " ORDER BY time_ns, rowid", params,
             [&](lineage::Stmt& s) {
                 out.push_back(ExitRow{s.int64(0), {s.int64(1), s.int64(2)}, s.int64(3), s.int64(4), s.int64(5),
                                       s.blob(6)});
             });
        return out;
    }
    std::vector<ConnectRow> connects(const std::string& where, const std::vector<Param>& params) {
        std::vector<ConnectRow> out;
        each(std::string("SELECT ") + kConnectCols + " FROM connect WHERE " + where + " ORDER BY time_ns, rowid",
             params, [&](lineage::Stmt& s) {
                 ConnectRow r;
                 r.time_ns = s.int64(0);
                 r.outcome_ns = s.int64(1);
                 r.proc = {s.int64(2), s.int64(3)};
                 r.family = s.int64(4);
                 r.saddr = s.text(5);
                 r.sport = s.int64(6);
                 r.daddr = s.text(7);
                 r.dport = s.int64(8);
                 r.result = s.text(9);
                 out.push_back(std::move(r));
             });
        return out;
    }
    std::vector<SnapshotRow> snapshots(const std::string& where, const std::vector<Param>& params) {
        std::vector<SnapshotRow> out;
        each("SELECT time_ns, tgid, ppid, start_ns, uid, comm, exe, argv FROM snapshot WHERE " + where +
                 " ORDER BY rowid",
             params, [&](lineage::Stmt& s) {
                 SnapshotRow r;
                 r.time_ns = s.int64(0);
                 r.tgid = s.int64(1);
                 r.ppid = s.int64(2);
                 r.start_ns = s.int64(3);
                 r.uid = s.int64(4);
                 r.comm = s.blob(5);
                 r.exe = s.blob(6);
                 r.argv = split_nul(s.blob(7));
                 out.push_back(std::move(r));
             });
        return out;
    }

    std::vector<ForkRow> forks_of_child(int64_t tgid) { return forks("child_tgid = ?", {tgid}); }
    std::vector<ForkRow> forks_by_parent(const Proc& p) {
        return forks("parent_tgid = ? AND parent_start_ns = ?", {p.tgid, p.start_ns});
    }
    std::vector<ExecRow> execs_of(int64_t tgid) { return execs("tgid = ?", {tgid}); }
    std::vector<ExitRow> exits_of(int64_t tgid) { return exits("tgid = ?", {tgid}); }
    std::vector<ConnectRow> connects_of(int64_t tgid) { return connects("tgid = ?", {tgid}); }

    // Every fork, exec, exit and connect row that names `tgid`, as text for
    // failure messages.
    std::string describe(int64_t tgid) {
        std::ostringstream os;
        os << "journal rows naming pid " << tgid << ":\n";
        for (const auto& f : forks("child_tgid = ?1 OR parent_tgid = ?1", {tgid})) {
            os << "  fork t=" << f.time_ns << " parent=" << f.parent << " child=" << f.child << " parent_comm="
               << f.parent_comm << "\n";
        }
        for (const auto& e : execs_of(tgid)) {
            os << "  exec t=" << e.time_ns << " proc=" << e.proc << " parent=" << e.parent << " binary=" << e.binary
               << " argv=" << join_args(e.argv) << " truncated=" << e.truncated << "\n";
        }
        for (const auto& x : exits_of(tgid)) {
            os << "  exit t=" << x.time_ns << " proc=" << x.proc << " code=" << x.code << " signal=" << x.signal
               << " core=" << x.core_dumped << " comm=" << x.comm << "\n";
        }
        for (const auto& c : connects_of(tgid)) {
            os << "  connect t=" << c.time_ns << " proc=" << c.proc << " family=" << c.family << " " << c.saddr
               << ":" << c.sport << " -> " << c.daddr << ":" << c.dport << " " << c.result << "\n";
        }
        return os.str();
    }

private:
    std::string path_;
    lineage::Database db_;
};

}  // namespace e2e
