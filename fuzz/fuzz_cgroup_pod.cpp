// parse_kube_cgroup on arbitrary cgroup paths: container runtimes name the
// leaves, and a pod spec can influence them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "pod.h"

namespace {

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// 1b2c3d4e-0000-4a5b-8c9d-0123456789ab
bool is_canonical_uid(const std::string& uid) {
    if (uid.size() != 36) return false;
    for (size_t i = 0; i < uid.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? uid[i] != '-' : !is_lower_hex(uid[i])) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view path(reinterpret_cast<const char*>(data), size);
    auto kube = lineage::parse_kube_cgroup(path);
    if (!kube) return 0;
    // The contract pod.h states for every result.
    FUZZ_CHECK(is_canonical_uid(kube->pod_uid));
    const std::string& id = kube->container_id;
    FUZZ_CHECK(id.empty() || (id.size() >= 12 && id.size() <= 64 && std::all_of(id.begin(), id.end(), is_lower_hex)));
    FUZZ_CHECK(kube->runtime.empty() || kube->runtime == "containerd" || kube->runtime == "crio" ||
               kube->runtime == "docker");
    FUZZ_CHECK(id.empty() ? kube->runtime.empty() : true);
    FUZZ_CHECK(kube->qos == "guaranteed" || kube->qos == "burstable" || kube->qos == "besteffort");
    return 0;
}
