#include "cgroupfs.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

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

}  // namespace lineage
