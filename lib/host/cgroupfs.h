#pragma once
// Where cgroup v2 is mounted, which cgroup v1 hierarchy to follow, and the
// id the kernel gives a cgroup.
#include <cstdint>
#include <optional>
#include <string>

#include "result.h"

namespace lineage {

// Mount point of the cgroup2 filesystem ("/sys/fs/cgroup" on a pure v2
// host, "/sys/fs/cgroup/unified" on a hybrid one), from mountinfo text.
std::string find_cgroup2_mount(const std::string& mountinfo_text);
std::string find_cgroup2_mount();

// The cgroup v1 hierarchy followed besides cgroup v2: on a v1 or hybrid
// node a pod's cgroup path may be there alone (a v1-only node puts every
// process in v2's root). One hierarchy is enough, since the kubelet and the
// runtimes create a pod's cgroups in every one: the first of the memory, cpu
// and pids controllers that is enabled and bound to a v1 hierarchy.
struct Cgroup1Hierarchy {
    std::string controller;  // "memory", "cpu" or "pids"
    uint32_t hierarchy = 0;  // its id: the first field of /proc/PID/cgroup's line
};

// From the text of /proc/cgroups; nullopt when none is on cgroup v1.
std::optional<Cgroup1Hierarchy> followed_cgroup1(const std::string& proc_cgroups_text);
std::optional<Cgroup1Hierarchy> followed_cgroup1();

// A cgroup v2 id is the inode number of its directory: it is what
// bpf_get_current_cgroup_id() returns. `path` may be a filesystem path
// below the mount or a cgroup path ("/kubepods.slice") relative to it.
Result<uint64_t> cgroup_id_of(const std::string& path, const std::string& mount);

}  // namespace lineage
