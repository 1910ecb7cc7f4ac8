#pragma once
// Where cgroup v2 is mounted, and the id the kernel gives a cgroup.
#include <cstdint>
#include <string>

#include "result.h"

namespace lineage {

// Mount point of the cgroup2 filesystem ("/sys/fs/cgroup" on a pure v2
// host, "/sys/fs/cgroup/unified" on a hybrid one), from mountinfo text.
std::string find_cgroup2_mount(const std::string& mountinfo_text);
std::string find_cgroup2_mount();

// A cgroup v2 id is the inode number of its directory: it is what
// bpf_get_current_cgroup_id() returns. `path` may be a filesystem path
// below the mount or a cgroup path ("/kubepods.slice") relative to it.
Result<uint64_t> cgroup_id_of(const std::string& path, const std::string& mount);

}  // namespace lineage
