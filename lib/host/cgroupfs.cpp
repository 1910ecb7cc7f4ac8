#include "cgroupfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "procfs.h"

namespace lineage {

std::string find_cgroup2_mount(const std::string& mountinfo_text) {
    // Fields: id parent major:minor root mountpoint options ... - fstype source superopts
    std::istringstream in(mountinfo_text);
    std::string line;
    while (std::getline(in, line)) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        std::istringstream tail(line.substr(dash + 3));
        std::string fstype;
        tail >> fstype;
        if (fstype != "cgroup2") continue;
        std::istringstream head(line.substr(0, dash));
        std::string field;
        std::vector<std::string> fields;
        while (head >> field) fields.push_back(field);
        if (fields.size() >= 5) return fields[4];
    }
    return {};
}

std::string find_cgroup2_mount() {
    std::ifstream f("/proc/self/mountinfo");
    std::stringstream ss;
    ss << f.rdbuf();
    return find_cgroup2_mount(ss.str());
}

std::optional<Cgroup1Hierarchy> followed_cgroup1(const std::string& text) {
    // "#subsys_name hierarchy num_cgroups enabled", one line per controller.
    std::istringstream in(text);
    std::string line;
    std::optional<Cgroup1Hierarchy> best;
    int best_rank = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string name;
        long long hierarchy = 0, cgroups = 0, enabled = 0;
        if (!(fields >> name >> hierarchy >> cgroups >> enabled)) continue;
        int rank = name == "memory" ? 3 : name == "cpu" ? 2 : name == "pids" ? 1 : 0;
        if (rank == 0 || hierarchy <= 0 || hierarchy > UINT32_MAX || enabled != 1 || rank <= best_rank) continue;
        best = Cgroup1Hierarchy{name, static_cast<uint32_t>(hierarchy)};
        best_rank = rank;
    }
    return best;
}

std::optional<Cgroup1Hierarchy> followed_cgroup1() {
    std::ifstream f("/proc/cgroups");
    std::stringstream ss;
    ss << f.rdbuf();
    return followed_cgroup1(ss.str());
}

Result<uint64_t> cgroup_id_of(const std::string& path, const std::string& mount) {
    std::string full = path;
    if (!mount.empty() && path.rfind(mount + "/", 0) != 0 && path != mount) {
        full = mount + (path.empty() || path[0] != '/' ? "/" : "") + path;
    }
    struct stat st {};
    if (stat(full.c_str(), &st) != 0) {
        return Error{fmt::format("cgroup '{}': {} ({})", path, std::strerror(errno), full)};
    }
    if (!S_ISDIR(st.st_mode)) return Error{fmt::format("cgroup '{}': not a directory ({})", path, full)};
    return static_cast<uint64_t>(st.st_ino);
}

namespace {

// Does the cgroup.procs file of directory `dir` list `pid`?
bool lists_pid(const std::filesystem::path& dir, int32_t pid) {
    std::ifstream f(dir / "cgroup.procs");
    std::string line;
    while (std::getline(f, line)) {
        int32_t value = 0;
        auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
        if (ec == std::errc() && ptr == line.data() + line.size() && value == pid) return true;
    }
    return false;
}

}  // namespace

std::string cgroup_path_from_root(const std::string& ns_root, const std::string& relative) {
    std::vector<std::string_view> parts;
    auto add = [&parts](std::string_view path) {
        while (!path.empty()) {
            const size_t slash = path.find('/');
            const std::string_view part = path.substr(0, slash);
            path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
            if (part.empty() || part == ".") continue;
            if (part == "..") {
                if (!parts.empty()) parts.pop_back();
                continue;
            }
            parts.push_back(part);
        }
    };
    add(ns_root);
    add(relative);
    std::string out;
    for (auto part : parts) {
        out += '/';
        out += part;
    }
    return out.empty() ? "/" : out;
}

Result<std::string> cgroup_namespace_root(const std::string& mount, const std::string& self_path, int32_t pid) {
    namespace fs = std::filesystem;
    const std::string self = cgroup_path_from_root("/", self_path);
    // The host's namespace, or a mount that shows only ours: where /proc
    // says we are is where we are.
    if (lists_pid(fs::path(mount + self), pid)) return std::string("/");
    // A namespace of our own, and the host's hierarchy mounted: find
    // ourselves in it. Once, at start; a node has thousands of cgroups at most.
    std::error_code ec;
    fs::recursive_directory_iterator it(mount, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (!it->is_directory(type_ec) || it->is_symlink(type_ec)) continue;
        if (!lists_pid(it->path(), pid)) continue;
        const std::string found = "/" + fs::relative(it->path(), mount, type_ec).generic_string();
        // found = root + self; self is "/" for a container's main process.
        if (self == "/") return found;
        if (found.size() > self.size() && found.compare(found.size() - self.size(), self.size(), self) == 0) {
            return cgroup_path_from_root("/", found.substr(0, found.size() - self.size()));
        }
        return Error{
            fmt::format("cgroup namespace: this process is in {} of {}, which does not end in {}, its "
                        "path in /proc/self/cgroup",
                        found, mount, self)};
    }
    return Error{fmt::format("cgroup namespace: no cgroup under {} lists this process (PID {})", mount, pid)};
}

Result<std::string> own_cgroup_namespace_root() {
    const std::string mount = find_cgroup2_mount();
    if (mount.empty()) return std::string("/");
    std::ifstream f("/proc/self/cgroup");
    std::stringstream text;
    text << f.rdbuf();
    const ProcCgroup own = parse_proc_cgroup(text.str());
    return cgroup_namespace_root(mount, own.unified.empty() ? "/" : own.unified, static_cast<int32_t>(getpid()));
}

}  // namespace lineage
