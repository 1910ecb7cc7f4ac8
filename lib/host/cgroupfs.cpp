#include "cgroupfs.h"

#include <sys/stat.h>

#include <cerrno>
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
