#pragma once
// The calling thread's effective capabilities. `record` reads them to say
// what a refused start, or a thinner /proc snapshot, is missing; the kernel
// stays the judge of what is allowed (deploy/README.md has what each one
// was found to be needed for).

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace lineage {

// The capabilities `record` touches, by the kernel's numbers
// (linux/capability.h; CAP_PERFMON and CAP_BPF exist since Linux 5.8).
enum class Capability : int {
    net_admin = 12,
    sys_ptrace = 19,
    sys_admin = 21,
    sys_resource = 24,
    perfmon = 38,
    bpf = 39,
};

// "CAP_BPF", as capabilities(7), systemd and Kubernetes (without "CAP_") name it.
const char* capability_name(Capability cap);

// "CAP_BPF, CAP_PERFMON"
std::string capability_names(const std::vector<Capability>& caps);

class CapabilitySet {
public:
    CapabilitySet() = default;
    explicit CapabilitySet(uint64_t bits) : bits_(bits) {}
    bool has(Capability cap) const { return ((bits_ >> static_cast<int>(cap)) & 1u) != 0; }
    uint64_t bits() const { return bits_; }

private:
    uint64_t bits_ = 0;
};

// capget(2): the effective set of the calling thread.
Result<CapabilitySet> effective_capabilities();

}  // namespace lineage
