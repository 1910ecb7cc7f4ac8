#include "procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "argv.h"
#include "fd.h"

namespace lineage {

namespace {

// Upper bound on what we read from any single /proc file. Only cmdline can
// legitimately get near it (argv may be several MiB when the stack rlimit is
// large); we keep the first 1 MiB so one hostile process cannot make the
// snapshot allocate without bound. A cut cmdline has no trailing NUL, so its
// last argument is kept, truncated.
constexpr size_t max_read_bytes = size_t{1} << 20;

// dir_fd may be AT_FDCWD, in which case path is an ordinary path.
UniqueFd open_read_only(int dir_fd, const char* path) {
    return UniqueFd(::openat(dir_fd, path, O_RDONLY | O_CLOEXEC));
}

// nullopt on any error: callers only need "got it or not", and a process
// that exits mid-read shows up as ENOENT on open or ESRCH on read.
std::optional<std::string> read_file(int dir_fd, const char* path, size_t max_bytes = max_read_bytes) {
    UniqueFd fd = open_read_only(dir_fd, path);
    if (!fd.valid()) {
        return std::nullopt;
    }
    std::string out;
    char buf[4096];
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return std::nullopt;
        }
        if (n == 0) {
            break;
        }
        out.append(buf, std::min(static_cast<size_t>(n), max_bytes - out.size()));
    }
    return out;
}

std::string read_link(int dir_fd, const char* path) {
    // A symlink target, and the kernel's rendering of /proc/PID/exe, is
    // shorter than PATH_MAX, so a full buffer can only mean something odd.
    char buf[PATH_MAX];
    const ssize_t n = ::readlinkat(dir_fd, path, buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf) {
        return {};
    }
    return std::string(buf, static_cast<size_t>(n));
}

uint64_t inode_of(int dir_fd, const char* path) {
    struct stat st {};
    // Following the link, not lstat: /proc/PID/ns/uts is a magic link and
    // the inode that identifies the namespace is the one it points to.
    if (::fstatat(dir_fd, path, &st, 0) != 0) {
        return 0;
    }
    return static_cast<uint64_t>(st.st_ino);
}

// Whole-token integer parse: "12x", "", "+1" and out-of-range values fail.
template <typename T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty()) {
        return false;
    }
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && ptr == end;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n';
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) {
            ++i;
        }
        const size_t start = i;
        while (i < s.size() && !is_space(s[i])) {
            ++i;
        }
        if (i > start) {
            out.push_back(s.substr(start, i - start));
        }
    }
    return out;
}

// Calls fn(line) for each '\n'-terminated line; a final unterminated line is
// passed too, so truncated input is still seen.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
    while (!text.empty()) {
        const size_t nl = text.find('\n');
        fn(text.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
}

bool parse_id_pair(std::string_view value, uint32_t& real, uint32_t& effective) {
    // The kernel always prints real, effective, saved and filesystem ids; fewer
    // means the file was cut short.
    const auto fields = split_whitespace(value);
    return fields.size() == 4 && parse_number(fields[0], real) && parse_number(fields[1], effective);
}

bool parse_single_pid(std::string_view value, int32_t& pid) {
    const auto fields = split_whitespace(value);
    return fields.size() == 1 && parse_number(fields[0], pid) && pid >= 0;
}

bool has_controller(std::string_view controllers, std::string_view wanted) {
    while (true) {
        const size_t comma = controllers.find(',');
        if (controllers.substr(0, comma) == wanted) {
            return true;
        }
        if (comma == std::string_view::npos) {
            return false;
        }
        controllers.remove_prefix(comma + 1);
    }
}

std::string host_nodename() {
    struct utsname u {};
    if (::uname(&u) != 0) {
        return {};
    }
    return std::string(u.nodename, ::strnlen(u.nodename, sizeof u.nodename));
}

// Joins ns_fd's UTS namespace on a throwaway thread. UTS membership lives in
// the per-thread nsproxy, so only that thread moves and it dies right after.
std::string nodename_in_namespace(int ns_fd) {
    std::string result;
    try {
        std::thread worker([ns_fd, &result] {
            if (::setns(ns_fd, CLONE_NEWUTS) == 0) {
                result = host_nodename();
            }
        });
        worker.join();
    } catch (const std::system_error&) {
        return {};  // could not create the thread
    }
    return result;
}

std::optional<int32_t> parse_pid_dirname(const char* name) {
    int32_t pid = 0;
    const std::string_view s(name);
    // Only plain digits: from_chars would also accept "-1".
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    if (!parse_number(s, pid) || pid <= 0) {
        return std::nullopt;
    }
    return pid;
}

std::optional<SnapshotProcess> read_process(int proc_root_fd, const char* pid_name, int32_t pid) {
    // Everything is opened relative to this directory fd rather than by
    // path: the fd stays bound to the process it was opened for, so if the
    // pid exits and is reused while we read, openat() fails instead of
    // quietly reading the newcomer and stitching two processes together.
    const UniqueFd dir(::openat(proc_root_fd, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) {
        return std::nullopt;  // exited since readdir, or not a directory
    }

    SnapshotProcess p;
    p.tgid = pid;
    if (auto text = read_file(dir.get(), "status")) {
        if (auto status = parse_proc_status(*text)) {
            p.uid = status->uid;
            p.euid = status->euid;
            p.gid = status->gid;
            p.nspid = status->nspid.back();
        }
    }
    if (auto text = read_file(dir.get(), "cmdline")) {
        p.argv = split_argv(*text);
    }
    if (auto text = read_file(dir.get(), "cgroup")) {
        p.cgroup_path = best_cgroup_path(parse_proc_cgroup(*text));
    }
    p.exe = read_link(dir.get(), "exe");
    p.uts_ns_inode = inode_of(dir.get(), "ns/uts");

    // stat goes last. It is world-readable for every process, even a zombie,
    // so failing here means the process is gone (ENOENT/ESRCH) or this is
    // not a process directory: skip it. Succeeding means the process was
    // still there after all the reads above, so their failures mean
    // "unreadable" (kernel threads have no exe, permissions), not "exited".
    auto text = read_file(dir.get(), "stat");
    if (!text) {
        return std::nullopt;
    }
    auto stat = parse_proc_stat(*text);
    if (!stat) {
        return std::nullopt;
    }
    p.ppid = stat->ppid;
    p.start_ticks = stat->start_ticks;
    p.comm = std::move(stat->comm);
    p.kernel_thread = (stat->flags & pf_kthread) != 0;
    return p;
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view text) {
    // comm may contain anything but NUL, including ") S 1", so it ends at the
    // LAST ')': the fields after it are all numbers and a state letter.
    const size_t open = text.find('(');
    const size_t close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return Error{"/proc stat: no parenthesised comm"};
    }

    ProcStat stat;
    const auto head = split_whitespace(text.substr(0, open));
    if (head.size() != 1 || !parse_number(head[0], stat.pid) || stat.pid <= 0) {
        return Error{"/proc stat: bad pid before comm"};
    }
    stat.comm = std::string(text.substr(open + 1, close - open - 1));

    // fields[0] is field 3 (state), so field N is fields[N - 3].
    const auto fields = split_whitespace(text.substr(close + 1));
    constexpr size_t starttime_index = 22 - 3;
    if (fields.size() <= starttime_index) {
        return Error{
            fmt::format("/proc stat: truncated, {} fields after comm, need {}", fields.size(), starttime_index + 1)};
    }
    if (fields[0].size() != 1) {
        return Error{"/proc stat: bad state field"};
    }
    stat.state = fields[0][0];
    if (!parse_number(fields[4 - 3], stat.ppid) || stat.ppid < 0) {
        return Error{"/proc stat: bad ppid field"};
    }
    if (!parse_number(fields[9 - 3], stat.flags)) {
        return Error{"/proc stat: bad flags field"};
    }
    if (!parse_number(fields[starttime_index], stat.start_ticks)) {
        return Error{"/proc stat: bad starttime field"};
    }
    return stat;
}

Result<ProcStatus> parse_proc_status(std::string_view text) {
    ProcStatus status;
    bool have_uid = false;
    bool have_gid = false;
    bool have_tgid = false;
    bool have_ppid = false;
    bool have_nspid = false;
    std::string problem;

    // The kernel prints each key once; we take the first occurrence so that
    // nothing later in the file can override it. (Name, the only line a
    // process controls, is escaped by the kernel and cannot fake a new line.)
    for_each_line(text, [&](std::string_view line) {
        if (!problem.empty()) {
            return;
        }
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            return;
        }
        const std::string_view key = line.substr(0, colon);
        const std::string_view value = line.substr(colon + 1);
        if (key == "Uid" && !have_uid) {
            have_uid = parse_id_pair(value, status.uid, status.euid);
            if (!have_uid) {
                problem = "bad Uid line";
            }
        } else if (key == "Gid" && !have_gid) {
            have_gid = parse_id_pair(value, status.gid, status.egid);
            if (!have_gid) {
                problem = "bad Gid line";
            }
        } else if (key == "Tgid" && !have_tgid) {
            have_tgid = parse_single_pid(value, status.tgid);
            if (!have_tgid) {
                problem = "bad Tgid line";
            }
        } else if (key == "PPid" && !have_ppid) {
            have_ppid = parse_single_pid(value, status.ppid);
            if (!have_ppid) {
                problem = "bad PPid line";
            }
        } else if (key == "NSpid" && !have_nspid) {
            const auto fields = split_whitespace(value);
            for (const auto field : fields) {
                int32_t pid = 0;
                if (!parse_number(field, pid) || pid <= 0) {
                    problem = "bad NSpid line";
                    return;
                }
                status.nspid.push_back(pid);
            }
            if (status.nspid.empty()) {
                problem = "empty NSpid line";
                return;
            }
            have_nspid = true;
        }
    });

    if (!problem.empty()) {
        return Error{"/proc status: " + problem};
    }
    if (!have_uid || !have_gid || !have_tgid || !have_ppid) {
        return Error{"/proc status: missing Uid, Gid, Tgid or PPid line"};
    }
    if (!have_nspid) {
        // Kernels before 4.1 have no NSpid; such a process can only be seen
        // from its own pid namespace's view, which is the tgid.
        status.nspid = {status.tgid};
    }
    return status;
}

ProcCgroup parse_proc_cgroup(std::string_view text) {
    // The kernel refuses '\n' in cgroup names, so one line is one hierarchy;
    // ':' however is allowed, hence only the first two colons split.
    ProcCgroup cgroup;
    bool have_unified = false;
    for_each_line(text, [&](std::string_view line) {
        const size_t first = line.find(':');
        if (first == std::string_view::npos) {
            return;
        }
        const size_t second = line.find(':', first + 1);
        if (second == std::string_view::npos) {
            return;
        }
        const std::string_view id = line.substr(0, first);
        const std::string_view controllers = line.substr(first + 1, second - first - 1);
        const std::string_view path = line.substr(second + 1);
        uint32_t id_number = 0;
        if (!parse_number(id, id_number)) {
            return;
        }
        if (id_number == 0 && controllers.empty()) {
            if (!have_unified) {
                cgroup.unified = std::string(path);
                have_unified = true;
            }
            return;
        }
        cgroup.v1.emplace_back(std::string(controllers), std::string(path));
    });
    return cgroup;
}

std::string best_cgroup_path(const ProcCgroup& cgroup) {
    if (!cgroup.unified.empty() && cgroup.unified != "/") {
        return cgroup.unified;
    }
    for (const auto& [controllers, path] : cgroup.v1) {
        if (path.find("kubepods") != std::string::npos) {
            return path;
        }
    }
    // memory first: container runtimes always place it, while name=systemd is
    // often left at the session or service of whoever started the runtime.
    for (const std::string_view wanted : {"memory", "name=systemd"}) {
        for (const auto& [controllers, path] : cgroup.v1) {
            if (has_controller(controllers, wanted) && !path.empty() && path != "/") {
                return path;
            }
        }
    }
    return cgroup.unified;
}

bool process_started_at(const std::string& proc_root, uint32_t tgid, uint64_t start_ticks) {
    const std::string dir = proc_root + "/" + std::to_string(tgid);
    if (::access(dir.c_str(), F_OK) != 0) return errno != ENOENT;
    auto text = read_file(AT_FDCWD, (dir + "/stat").c_str(), 4096);
    if (!text) return ::access(dir.c_str(), F_OK) == 0 || errno != ENOENT;
    auto stat = parse_proc_stat(*text);
    return !stat || stat->start_ticks == start_ticks;
}

std::string read_boot_id(const std::string& proc_root) {
    const std::string path = proc_root + "/sys/kernel/random/boot_id";
    auto text = read_file(AT_FDCWD, path.c_str(), 4096);
    if (!text) {
        return {};
    }
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) {
        text->pop_back();
    }
    return std::move(*text);
}

long clock_ticks_per_second() {
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return ticks > 0 ? ticks : 100;
}

std::vector<SnapshotProcess> scan_proc(const std::string& proc_root) {
    std::vector<SnapshotProcess> processes;
    std::unique_ptr<DIR, DirCloser> dir(::opendir(proc_root.c_str()));
    if (!dir) {
        return processes;
    }
    while (const dirent* entry = ::readdir(dir.get())) {
        const auto pid = parse_pid_dirname(entry->d_name);
        if (!pid) {
            continue;
        }
        if (auto process = read_process(::dirfd(dir.get()), entry->d_name, *pid)) {
            processes.push_back(std::move(*process));
        }
    }
    std::sort(processes.begin(), processes.end(),
              [](const SnapshotProcess& a, const SnapshotProcess& b) { return a.tgid < b.tgid; });
    return processes;
}

std::vector<std::string> snapshot_capability_gaps(const CapabilitySet& have) {
    std::vector<std::string> gaps;
    if (!have.has(Capability::sys_ptrace)) {
        gaps.push_back(
            "without CAP_SYS_PTRACE, processes already running that belong to other users or hold "
            "capabilities this one lacks are in the /proc snapshot without their executable path and "
            "host name (their argv, uids and cgroup are read)");
    }
    if (!have.has(Capability::sys_admin)) {
        gaps.push_back(
            "without CAP_SYS_ADMIN, processes already running in other UTS namespaces are in the /proc "
            "snapshot without their host name (events from the probes carry it; pods are named from "
            "the kubelet's /var/log/pods)");
    }
    return gaps;
}

std::string uts_nodename_of(int32_t pid, const std::string& proc_root) {
    const std::string path = proc_root + "/" + std::to_string(pid) + "/ns/uts";
    const UniqueFd fd = open_read_only(AT_FDCWD, path.c_str());
    if (!fd.valid()) {
        return {};
    }
    return nodename_in_namespace(fd.get());
}

uint64_t own_uts_ns_inode() {
    return inode_of(AT_FDCWD, "/proc/self/ns/uts");
}

NodenameResolver::NodenameResolver(std::string proc_root)
    // Our own namespace is always looked up in the real /proc: proc_root may
    // be a fake tree or the host's /proc mounted elsewhere, but nsfs inode
    // numbers are the same through every procfs mount.
    : proc_root_(std::move(proc_root)), own_uts_inode_(own_uts_ns_inode()) {}

std::string NodenameResolver::nodename_for(int32_t pid, uint64_t uts_ns_inode) {
    if (uts_ns_inode == 0) {
        return {};
    }
    if (uts_ns_inode == own_uts_inode_) {
        return host_nodename();
    }
    if (const auto it = cache_.find(uts_ns_inode); it != cache_.end()) {
        return it->second;
    }

    const std::string path = proc_root_ + "/" + std::to_string(pid) + "/ns/uts";
    const UniqueFd fd = open_read_only(AT_FDCWD, path.c_str());
    if (!fd.valid()) {
        return {};
    }
    // The pid may have exited and been reused since the caller read the
    // inode; caching another namespace's name under this inode would
    // mislabel every later process in it.
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_ino) != uts_ns_inode) {
        return {};
    }
    std::string nodename = nodename_in_namespace(fd.get());
    if (!nodename.empty()) {
        cache_.emplace(uts_ns_inode, nodename);
    }
    return nodename;
}

}  // namespace lineage
