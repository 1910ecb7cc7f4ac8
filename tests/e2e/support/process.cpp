#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "fd.h"
#include "helpers.h"

extern char** environ;

namespace e2e {

std::string lineage_bin() {
    return LINEAGE_BIN;
}
std::string source_dir() {
    return LINEAGE_SOURCE_DIR;
}

namespace {

bool keep_temp_dirs() {
    const char* keep = std::getenv("LINEAGE_E2E_KEEP");
    return keep && std::string(keep) == "1";
}

}  // namespace

TempDir::TempDir() : lineage::test::TempDir("/tmp", "lineage-e2e-", keep_temp_dirs()) {}

std::string copy_journal(const std::string& journal, const TempDir& dir, const std::string& name) {
    const std::string copy = dir / name;
    std::filesystem::copy_file(journal, copy);
    if (std::filesystem::exists(journal + "-wal")) std::filesystem::copy_file(journal + "-wal", copy + "-wal");
    return copy;
}

pid_t spawn(const std::string& path, const std::vector<std::string>& argv, const Env& env, int stdin_fd, int stdout_fd,
            int stderr_fd) {
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

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
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

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

RunResult run_argv(const std::vector<std::string>& argv, const Env& env, std::chrono::milliseconds timeout) {
    int out_pipe[2], err_pipe[2];
    REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
    lineage::UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
    REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
    lineage::UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    lineage::UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    REQUIRE(devnull.valid());
    pid_t pid = spawn(argv.at(0), argv, env, devnull.get(), out_write.get(), err_write.get());
    devnull.reset();
    out_write.reset();
    err_write.reset();

    RunResult result;
    auto deadline = Clock::now() + timeout;
    lineage::UniqueFd* ends[2] = {&out_read, &err_read};
    std::string* sinks[2] = {&result.out, &result.err};
    while (out_read.valid() || err_read.valid()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            result.timed_out = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        // poll() ignores the entry of an end already closed (fd -1).
        struct pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
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
                ends[i]->reset();
            }
        }
    }
    out_read.reset();
    err_read.reset();
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

RunResult run_shell(const std::string& command, const Env& env, std::chrono::milliseconds timeout) {
    return run_argv({"/bin/sh", "-c", command}, env, timeout);
}

std::map<std::string, std::string> parse_facts(const std::string& out) {
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

int64_t fact_int(const std::map<std::string, std::string>& facts, const std::string& key) {
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

std::optional<uint64_t> proc_start_ticks(pid_t pid) {
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

Listener::Listener(const std::string& address) {
    bool v6 = address.find(':') != std::string::npos;
    fd_.reset(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd_.valid());
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
    REQUIRE(bind(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
    REQUIRE(listen(fd_.get(), 16) == 0);
    len = sizeof(ss);
    REQUIRE(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace e2e
