#pragma once
// Shared helpers of the end-to-end tests: temporary directories, running
// commands, a `lineage record` child process, and reading a journal.
// Built once as the lineage_e2e_helpers library: process.cpp,
// record_process.cpp and journal.cpp define what is declared here.
//
// Everything here runs the real binary (LINEAGE_BIN) as a separate process
// and reads the journal it wrote through sqlite.h, read-only.
//
// Set LINEAGE_E2E_KEEP=1 to keep the temporary directories (and journals) of
// the tests for inspection; their paths are printed.

#include <sys/types.h>

#include <chrono>
#include <compare>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "fd.h"
#include "sqlite.h"
#include "test_files.h"

namespace e2e {

using Env = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

using lineage::test::read_file;
using lineage::test::write_file;

std::string lineage_bin();
std::string source_dir();

// A fresh directory in /tmp itself, not $TMPDIR: some tests make it
// world-writable for a child that runs as nobody, who must be able to reach
// it. Removed again unless LINEAGE_E2E_KEEP=1.
class TempDir : public lineage::test::TempDir {
public:
    TempDir();
};

// Copies `journal` and its -wal (when there is one) to DIR/NAME and returns
// the copy's path. Tests read copies: opening the journal itself with SQLite
// would apply and checkpoint a recorder's WAL into it (and delete the WAL),
// changing the evidence that later checks, `lineage verify` among them, are
// asked about. The copy is consistent only while no recorder writes.
std::string copy_journal(const std::string& journal, const TempDir& dir, const std::string& name);

// ---------------------------------------------------------------------------
// Processes (process.cpp)

// fork + execve of `path` with `argv` (argv[0] included) and the test's
// environment plus `env`. The child gets its own process group (so a
// timeout can kill everything it started), default signal dispositions and
// an empty signal mask. -1 in a fd argument keeps the test's own.
pid_t spawn(const std::string& path, const std::vector<std::string>& argv, const Env& env, int stdin_fd, int stdout_fd,
            int stderr_fd);

// Waits for `pid` up to `timeout`; nullopt when it is still running.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout);

std::string describe_status(int status);

struct RunResult {
    int status = -1;     // raw wait status
    int exit_code = -1;  // -1 unless it exited normally
    std::string out;
    std::string err;
    bool timed_out = false;
};

// Runs argv[0] (an absolute path) with argv, stdin /dev/null, and collects
// stdout and stderr until both are closed (so every process holding them has
// ended) and the child is reaped. After `timeout` the child's process group
// is killed.
RunResult run_argv(const std::vector<std::string>& argv, const Env& env = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Runs a shell command line with /bin/sh -c.
RunResult run_shell(const std::string& command, const Env& env = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// key=value lines of a workload's stdout; other lines are ignored. A key
// printed twice keeps its last value.
std::map<std::string, std::string> parse_facts(const std::string& out);

// The fact `key` as an integer; fails the test when it is missing or not one.
int64_t fact_int(const std::map<std::string, std::string>& facts, const std::string& key);

// /proc/PID/stat field 22 (starttime, clock ticks since boot); nullopt when
// the process is gone.
std::optional<uint64_t> proc_start_ticks(pid_t pid);

// A TCP listener on an ephemeral port of `address` (IPv4 or IPv6 literal).
// Connections complete in the kernel's backlog; nothing accepts them.
class Listener {
public:
    explicit Listener(const std::string& address);
    int port() const { return port_; }

private:
    lineage::UniqueFd fd_;
    int port_ = 0;
};

// ---------------------------------------------------------------------------
// `lineage record` as a child process (record_process.cpp)

// Runs `lineage record --journal JOURNAL [extra...]` with stderr piped and read
// by a thread (the pipe never fills). start() returns once it printed
// "lineage: recording"; stop() sends SIGINT and checks a clean exit.
class RecordProcess {
public:
    static constexpr auto kReadyTimeout = std::chrono::seconds(20);
    static constexpr auto kStopTimeout = std::chrono::seconds(20);

    explicit RecordProcess(std::string journal, std::vector<std::string> extra = {});
    ~RecordProcess();
    RecordProcess(const RecordProcess&) = delete;
    RecordProcess& operator=(const RecordProcess&) = delete;

    void start();
    // SIGINT, wait for the exit, require exit status 0. Returns stderr.
    std::string stop();

    pid_t pid() const { return pid_; }
    const std::string& journal() const { return journal_; }
    std::string stderr_text() const;
    // A complete line of stderr (newline included) starts with `prefix`.
    bool has_line(std::string_view prefix) const;

private:
    bool has_line_locked(std::string_view prefix) const;

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
std::unique_ptr<RecordProcess> start_record(const std::string& journal, std::vector<std::string> extra = {});

// ---------------------------------------------------------------------------
// Reading a journal (journal.cpp)
//
// The row structs below and the SQL that fills them are a second,
// independent reader of the journal's tables, on purpose: a test that read
// the journal through the project's own reader (journal_reader.h) would
// agree with a bug in it. Only the plain SQLite wrapper (sqlite.h) and the
// argv splitter (argv.h) are shared with the code under test.

// "{"a", "b"}": an argv for failure messages.
std::string join_args(const std::vector<std::string>& args);

// A process identity: (tgid, group leader start_boottime in ns).
struct Proc {
    int64_t tgid = 0;
    int64_t start_ns = 0;
    bool operator==(const Proc&) const = default;
    auto operator<=>(const Proc&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Proc& p);

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
    explicit Journal(const std::string& path);

    lineage::Database& db() { return db_; }

    // Prepares `sql`, binds `params` (1-based, in order) and calls `each_row`
    // with the statement for every row.
    void each(std::string_view sql, const std::vector<Param>& params,
              const std::function<void(lineage::Stmt&)>& each_row);
    int64_t scalar(std::string_view sql, const std::vector<Param>& params = {});
    std::vector<std::string> texts(std::string_view sql, const std::vector<Param>& params = {});

    // The rows of a table WHERE `where`, in time order.
    std::vector<ForkRow> forks(const std::string& where, const std::vector<Param>& params);
    std::vector<ExecRow> execs(const std::string& where, const std::vector<Param>& params);
    std::vector<ExitRow> exits(const std::string& where, const std::vector<Param>& params);
    std::vector<ConnectRow> connects(const std::string& where, const std::vector<Param>& params);
    // In rowid order: the order the recorder wrote them.
    std::vector<SnapshotRow> snapshots(const std::string& where, const std::vector<Param>& params);

    std::vector<ForkRow> forks_of_child(int64_t tgid) { return forks("child_tgid = ?", {tgid}); }
    std::vector<ForkRow> forks_by_parent(const Proc& p) {
        return forks("parent_tgid = ? AND parent_start_ns = ?", {p.tgid, p.start_ns});
    }
    std::vector<ExecRow> execs_of(int64_t tgid) { return execs("tgid = ?", {tgid}); }
    std::vector<ExitRow> exits_of(int64_t tgid) { return exits("tgid = ?", {tgid}); }
    std::vector<ConnectRow> connects_of(int64_t tgid) { return connects("tgid = ?", {tgid}); }

    // Every fork, exec, exit and connect row that names `tgid`, as text for
    // failure messages.
    std::string describe(int64_t tgid);

private:
    lineage::Database db_;
};

}  // namespace e2e
