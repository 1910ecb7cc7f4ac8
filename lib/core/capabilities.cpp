#include "capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lineage {

const char* capability_name(Capability cap) {
    switch (cap) {
        case Capability::net_admin:
            return "CAP_NET_ADMIN";
        case Capability::sys_ptrace:
            return "CAP_SYS_PTRACE";
        case Capability::sys_admin:
            return "CAP_SYS_ADMIN";
        case Capability::sys_resource:
            return "CAP_SYS_RESOURCE";
        case Capability::perfmon:
            return "CAP_PERFMON";
        case Capability::bpf:
            return "CAP_BPF";
    }
    return "CAP_?";
}

std::string capability_names(const std::vector<Capability>& caps) {
    std::string out;
    for (Capability cap : caps) {
        if (!out.empty()) out += ", ";
        out += capability_name(cap);
    }
    return out;
}

Result<CapabilitySet> effective_capabilities() {
    // The raw system call, not libcap: two 32-bit words of version 3 are
    // all there is to read, and Debian's libcap would be one more dependency.
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;  // the calling thread
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &header, data) != 0) {
        return Error{fmt::format("cannot read this process's capabilities (capget: {})", std::strerror(errno))};
    }
    return CapabilitySet(static_cast<uint64_t>(data[0].effective) | (static_cast<uint64_t>(data[1].effective) << 32));
}

}  // namespace lineage
