// bench_storm: the process-churn workload of the benchmarks.
//
//   bench_storm fork-exec   --workers N --iterations M [--marker S] [--cgroup DIR] [--times FILE]
//   bench_storm posix-spawn --workers N --iterations M [--marker S] [--cgroup DIR] [--times FILE]
//   bench_storm threads     --workers N --iterations M
//   bench_storm move        --workers N --iterations M --cgroup-a DIR --cgroup-b DIR [--marker S]
//   bench_storm syscalls    --workers N --iterations M
//   bench_storm opens       --workers N --iterations M
//   bench_storm sleepers    --count N
//
// fork-exec and posix-spawn: the main process forks N worker processes; each
// worker starts M children of "/bin/true <marker>" one after the other and
// waits for each. Every child is thus a fork row whose parent is a worker,
// an exec row of /bin/true whose argv holds the marker, and an exit row; the
// workers themselves are fork rows whose parent is the main process. The
// exec of /bin/true is as cheap as an exec gets, so the storm is the worst
// case for a recorder: nearly all of its time is process creation.
//
// threads: N worker threads, each creating and joining M threads that do
// nothing. No process is created: a recorder should not see any of it.
//
// move: the main process forks N worker processes; each writes its own PID
// into DIR_A/cgroup.procs, then DIR_B/cgroup.procs, alternately, M times in
// all: M moves of a whole (single-threaded) process between two cgroups of
// cgroup v2, and nothing else. The first move takes the worker from the
// storm's own cgroup into DIR_A, so every write is a real move. The workers
// end in DIR_A or DIR_B; the caller removes the two cgroups once the storm
// has returned (its workers are reaped by then).
//
// syscalls: N worker threads, each writing one byte into a pipe and reading
// it back, M times: 2M of the cheapest syscalls there are, none of them an
// open. opens: the same with openat of /etc/hostname and close. With a
// syscall hook attached (bench_hooks), the first shows what the hook costs
// every syscall it does not watch, the second what it costs one it watches.
// They print syscalls= (2 x N x M) and ns_per_syscall= (CPU ns per syscall,
// the whole process).
//
// sleepers: N children of "sleep 3600" in a new process group, for measuring
// the start of a recorder on a busy host; prints "sleepers: ready PGID" and
// waits to be killed (kill -- -PGID takes the whole group).
//
// --times FILE: worker W writes FILE.W at its end, one line per child: the
// CLOCK_BOOTTIME ns just before the child was started (fork or
// posix_spawn), the clock event times of a journal are in. The crash
// benchmark counts the children started before it killed the recorder.
// Kept in memory until the worker ends, so the storm itself does no I/O.
//
// --cgroup DIR moves the storm into cgroup DIR first (writes 0 to
// DIR/cgroup.procs), so that a recorder filtered on that cgroup sees the
// storm and nothing else.
//
// Output: one line of key=value pairs on stdout, e.g.
//   mode=fork-exec workers=2 iterations=10000 total=20000 elapsed_s=7.912 rate_per_s=2527.8
//   user_s=0.412 sys_s=9.871 cpu_s=10.283 pid=4242 marker=...
// elapsed_s runs from before the first worker starts to after the last one
// is reaped. cpu_s is the CPU time of the whole storm (this process, its
// threads, its workers and their children, all reaped): probes attached to
// fork, exec and exit run in the storm's own context, so their cost shows
// here, and CPU time moves much less than wall time with busy neighbours.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace lineage::bench {

namespace {

struct StormOptions {
    std::string mode;
    int workers = 2;
    long iterations = 1000;
    long count = 1000;  // sleepers
    std::string marker = "lineage-bench-storm";
    std::string cgroup;
    std::string times;
    std::string cgroup_a;  // move
    std::string cgroup_b;
};

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_storm: {}\n", message);
    std::exit(2);
}

void usage() {
    fmt::print(stderr,
               "usage: bench_storm fork-exec|posix-spawn|threads --workers N --iterations M [--marker S] "
               "[--cgroup DIR] [--times FILE]\n"
               "       bench_storm move --workers N --iterations M --cgroup-a DIR --cgroup-b DIR [--marker S]\n"
               "       bench_storm syscalls|opens --workers N --iterations M\n"
               "       bench_storm sleepers --count N\n");
    std::exit(2);
}

long parse_long(const char* flag, const char* text) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v <= 0)
        die(fmt::format("{}: '{}' is not a positive number", flag, text));
    return v;
}

StormOptions parse_args(int argc, char** argv) {
    if (argc < 2) usage();
    StormOptions o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--workers") {
            o.workers = static_cast<int>(parse_long("--workers", value()));
        } else if (a == "--iterations") {
            o.iterations = parse_long("--iterations", value());
        } else if (a == "--count") {
            o.count = parse_long("--count", value());
        } else if (a == "--marker") {
            o.marker = value();
        } else if (a == "--cgroup") {
            o.cgroup = value();
        } else if (a == "--times") {
            o.times = value();
        } else if (a == "--cgroup-a") {
            o.cgroup_a = value();
        } else if (a == "--cgroup-b") {
            o.cgroup_b = value();
        } else {
            usage();
        }
    }
    if (o.mode != "fork-exec" && o.mode != "posix-spawn" && o.mode != "threads" && o.mode != "sleepers" &&
        o.mode != "move" && o.mode != "syscalls" && o.mode != "opens")
        usage();
    if (o.mode == "move" && (o.cgroup_a.empty() || o.cgroup_b.empty())) die("move needs --cgroup-a and --cgroup-b");
    return o;
}

void join_cgroup(const std::string& dir) {
    std::string procs = dir + "/cgroup.procs";
    int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) die(fmt::format("{}: cannot open: {}", procs, std::strerror(errno)));
    if (::write(fd, "0", 1) != 1) die(fmt::format("{}: cannot join: {}", procs, std::strerror(errno)));
    ::close(fd);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double tv_seconds(const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// "user_s=.. sys_s=.. cpu_s=..": this process and every reaped descendant.
std::string cpu_fields() {
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    double user = tv_seconds(self.ru_utime) + tv_seconds(children.ru_utime);
    double sys = tv_seconds(self.ru_stime) + tv_seconds(children.ru_stime);
    return fmt::format("user_s={:.3f} sys_s={:.3f} cpu_s={:.3f}", user, sys, user + sys);
}

int64_t boottime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// --times: FILE.W, one start time per line.
bool write_times(const std::string& path, const std::vector<int64_t>& times) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) {
        fmt::print(stderr, "bench_storm: {}: {}\n", path, std::strerror(errno));
        return false;
    }
    for (int64_t t : times) fmt::print(f, "{}\n", t);
    return std::fclose(f) == 0;
}

// One worker of fork-exec or posix-spawn; runs in its own process.
int run_spawn_worker(const StormOptions& o, int worker) {
    static const char kTrue[] = "/bin/true";
    std::string marker = o.marker;
    char* child_argv[] = {const_cast<char*>(kTrue), marker.data(), nullptr};
    std::vector<int64_t> times;
    if (!o.times.empty()) times.reserve(static_cast<size_t>(o.iterations));
    for (long i = 0; i < o.iterations; ++i) {
        if (!o.times.empty()) times.push_back(boottime_ns());
        pid_t pid = -1;
        if (o.mode == "fork-exec") {
            pid = fork();
            if (pid == 0) {
                execve(kTrue, child_argv, environ);
                _exit(127);
            }
            if (pid < 0) {
                fmt::print(stderr, "bench_storm: fork: {}\n", std::strerror(errno));
                return 1;
            }
        } else {
            int rc = posix_spawn(&pid, kTrue, nullptr, nullptr, child_argv, environ);
            if (rc != 0) {
                fmt::print(stderr, "bench_storm: posix_spawn: {}\n", std::strerror(rc));
                return 1;
            }
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fmt::print(stderr, "bench_storm: /bin/true failed (status {:#x})\n", status);
            return 1;
        }
    }
    if (!o.times.empty() && !write_times(fmt::format("{}.{}", o.times, worker), times)) return 1;
    return 0;
}

int run_spawn_storm(const StormOptions& o) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<pid_t> workers;
    for (int w = 0; w < o.workers; ++w) {
        pid_t pid = fork();
        if (pid == 0) {
            std::fflush(stdout);
            _exit(run_spawn_worker(o, w));
        }
        if (pid < 0) die(fmt::format("fork: {}", std::strerror(errno)));
        workers.push_back(pid);
    }
    bool ok = true;
    for (pid_t pid : workers) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) die(fmt::format("waitpid: {}", std::strerror(errno)));
        }
        ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    double elapsed = seconds_since(t0);
    long total = o.workers * o.iterations;
    fmt::print("mode={} workers={} iterations={} total={} elapsed_s={:.4f} rate_per_s={:.1f} {} pid={} marker={}\n",
               o.mode, o.workers, o.iterations, total, elapsed, static_cast<double>(total) / elapsed, cpu_fields(),
               getpid(), o.marker);
    return ok ? 0 : 1;
}

// One worker of move; runs in its own process. Both cgroup.procs files are
// opened once, so the loop is the moves alone: one write(2) each.
int run_move_worker(const StormOptions& o) {
    const std::string procs[2] = {o.cgroup_a + "/cgroup.procs", o.cgroup_b + "/cgroup.procs"};
    int fds[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
        fds[i] = ::open(procs[i].c_str(), O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            fmt::print(stderr, "bench_storm: {}: cannot open: {}\n", procs[i], std::strerror(errno));
            return 1;
        }
    }
    const std::string pid = std::to_string(getpid());
    for (long i = 0; i < o.iterations; ++i) {
        int which = static_cast<int>(i % 2);
        // cgroup.procs takes one PID per write(2), at offset 0 or not.
        if (::write(fds[which], pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
            fmt::print(stderr, "bench_storm: {}: cannot move {} (move {}): {}\n", procs[which], pid, i + 1,
                       std::strerror(errno));
            return 1;
        }
    }
    ::close(fds[0]);
    ::close(fds[1]);
    return 0;
}

int run_move_storm(const StormOptions& o) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<pid_t> workers;
    for (int w = 0; w < o.workers; ++w) {
        pid_t pid = fork();
        if (pid == 0) {
            std::fflush(stdout);
            _exit(run_move_worker(o));
        }
        if (pid < 0) die(fmt::format("fork: {}", std::strerror(errno)));
        workers.push_back(pid);
    }
    bool ok = true;
    for (pid_t pid : workers) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) die(fmt::format("waitpid: {}", std::strerror(errno)));
        }
        ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    double elapsed = seconds_since(t0);
    long total = o.workers * o.iterations;
    fmt::print("mode=move workers={} iterations={} total={} elapsed_s={:.4f} rate_per_s={:.1f} {} pid={} marker={}\n",
               o.workers, o.iterations, total, elapsed, static_cast<double>(total) / elapsed, cpu_fields(), getpid(),
               o.marker);
    return ok ? 0 : 1;
}

void* nothing(void*) {
    return nullptr;
}

int run_thread_storm(const StormOptions& o) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    std::vector<int> failures(static_cast<size_t>(o.workers), 0);
    for (int w = 0; w < o.workers; ++w) {
        workers.emplace_back([&o, &failures, w] {
            for (long i = 0; i < o.iterations; ++i) {
                pthread_t t;
                if (pthread_create(&t, nullptr, nothing, nullptr) != 0 || pthread_join(t, nullptr) != 0) {
                    failures[static_cast<size_t>(w)]++;
                    return;
                }
            }
        });
    }
    for (auto& t : workers) t.join();
    double elapsed = seconds_since(t0);
    long total = o.workers * o.iterations;
    fmt::print("mode=threads workers={} iterations={} total={} elapsed_s={:.4f} rate_per_s={:.1f} {} pid={}\n",
               o.workers, o.iterations, total, elapsed, static_cast<double>(total) / elapsed, cpu_fields(), getpid());
    for (int f : failures) {
        if (f) return 1;
    }
    return 0;
}

int run_syscall_storm(const StormOptions& o) {
    const bool opens = o.mode == "opens";
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    std::vector<int> failures(static_cast<size_t>(o.workers), 0);
    for (int w = 0; w < o.workers; ++w) {
        workers.emplace_back([&o, &failures, opens, w] {
            int& failed = failures[static_cast<size_t>(w)];
            int p[2] = {-1, -1};
            if (!opens && pipe2(p, O_CLOEXEC) != 0) {
                failed = 1;
                return;
            }
            char c = 'x';
            for (long i = 0; i < o.iterations && !failed; ++i) {
                if (opens) {
                    int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
                    failed = fd < 0 || ::close(fd) != 0;
                } else {
                    failed = ::write(p[1], &c, 1) != 1 || ::read(p[0], &c, 1) != 1;
                }
            }
            if (!opens) {
                ::close(p[0]);
                ::close(p[1]);
            }
        });
    }
    for (auto& t : workers) t.join();
    double elapsed = seconds_since(t0);
    long syscalls = 2 * o.workers * o.iterations;
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    double cpu = tv_seconds(self.ru_utime) + tv_seconds(self.ru_stime);
    fmt::print("mode={} workers={} iterations={} syscalls={} elapsed_s={:.4f} ns_per_syscall={:.1f} {} pid={}\n",
               o.mode, o.workers, o.iterations, syscalls, elapsed, cpu * 1e9 / static_cast<double>(syscalls),
               cpu_fields(), getpid());
    for (int f : failures) {
        if (f) return 1;
    }
    return 0;
}

int run_sleepers(const StormOptions& o) {
    if (setpgid(0, 0) != 0) die(fmt::format("setpgid: {}", std::strerror(errno)));
    static const char kSleep[] = "/bin/sleep";
    char arg[] = "3600";
    char* child_argv[] = {const_cast<char*>(kSleep), arg, nullptr};
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < o.count; ++i) {
        pid_t pid = -1;
        int rc = posix_spawn(&pid, kSleep, nullptr, nullptr, child_argv, environ);
        if (rc != 0) die(fmt::format("posix_spawn sleep ({} started): {}", i, std::strerror(rc)));
    }
    fmt::print("sleepers: ready {} count={} elapsed_s={:.3f}\n", getpgrp(), o.count, seconds_since(t0));
    std::fflush(stdout);
    // Reap nothing and wait: the group is killed from outside.
    for (;;) pause();
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage::bench;
    StormOptions o = parse_args(argc, argv);
    if (!o.cgroup.empty()) join_cgroup(o.cgroup);
    if (o.mode == "threads") return run_thread_storm(o);
    if (o.mode == "syscalls" || o.mode == "opens") return run_syscall_storm(o);
    if (o.mode == "sleepers") return run_sleepers(o);
    if (o.mode == "move") return run_move_storm(o);
    return run_spawn_storm(o);
}
