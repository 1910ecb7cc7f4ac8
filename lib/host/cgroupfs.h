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

// Where this process's cgroup namespace is rooted, as a path below the
// cgroup2 mount `mount`: "/" when it shares the host's, else the cgroup its
// container runtime gave it (containerd and CRI-O give every unprivileged
// container a cgroup namespace of its own on cgroup v2, and Kubernetes has no
// way to ask for the host's). /proc/PID/cgroup paths are relative to that
// root ("/../../kubepods.slice/..." for a process outside it), while the
// probes report paths from the hierarchy's root. `self_path` is this
// process's own path as its /proc/self/cgroup gives it, `pid` its PID as
// cgroup.procs lists it. Found as the directory of `mount` whose
// cgroup.procs lists `pid`: when `mount` is the host's hierarchy (a hostPath
// mount of /sys/fs/cgroup) that is the namespace root followed by
// `self_path`. A mount that shows only the namespace's own subtree gives "/",
// and paths from /proc stay relative.
Result<std::string> cgroup_namespace_root(const std::string& mount, const std::string& self_path, int32_t pid);

// cgroup_namespace_root() of the calling process, from its /proc/self/cgroup
// and the cgroup2 mount of its mountinfo; "/" without a cgroup2 mount.
Result<std::string> own_cgroup_namespace_root();

// `relative`, a /proc/PID/cgroup path, from the hierarchy's root: appended
// to `ns_root` with its "." and ".." resolved (none goes above the root).
std::string cgroup_path_from_root(const std::string& ns_root, const std::string& relative);

}  // namespace lineage
