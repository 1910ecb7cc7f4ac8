#pragma once
// Pod attribution using only what the node itself keeps: the cgroup path the
// kubelet and the container runtime put a process in, and the kubelet's
// per-pod log directories. There is no API server here on purpose: a forensic
// recording must still name pods on a node that is cut off from its control
// plane, or whose control plane an attacker can lie through.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lineage {

struct KubeCgroup {
    // Always the canonical dashed, lower-case form
    // (1b2c3d4e-0000-4a5b-8c9d-0123456789ab), whichever cgroup driver spelled it.
    std::string pod_uid;
    // Lower-case hex, 12-64 characters. Empty when the path stops at the pod
    // level, or when the level below the pod is not a container cgroup we
    // recognise: the process is then still attributed to the pod.
    std::string container_id;
    // "containerd", "crio", "docker", or "" when the leaf carries no runtime
    // prefix (the cgroupfs driver's bare ids) or there is no container_id.
    std::string runtime;
    // "guaranteed", "burstable" or "besteffort".
    std::string qos;
};

// cgroup_path is the path part of a /proc/PID/cgroup line (v2 "0::<path>" or
// any v1 controller's "N:memory:<path>"). Returns nullopt for anything that is
// not inside a pod, and for anything malformed; it never throws.
std::optional<KubeCgroup> parse_kube_cgroup(std::string_view cgroup_path);

// A pod UID as the API and the CRI's annotations spell it (dashed, either
// case) in the canonical form above; nullopt for anything else.
std::optional<std::string> canonical_pod_uid(std::string_view uid);

// A container ID (12-64 hex digits, either case) in lower case; nullopt for
// anything else.
std::optional<std::string> canonical_container_id(std::string_view id);

struct PodInfo {
    std::string name;
    std::string namespace_;
    std::string uid;
};

// Looks for <kube_root>/var/log/pods/<namespace>_<name>_<pod_uid>/. kube_root
// is "/" on a real node. pod_uid must be the canonical dashed form; anything
// else (including "") finds nothing. Never throws.
std::optional<PodInfo> find_pod_log_dir(const std::string& kube_root, std::string_view pod_uid);

// Caches the log directory scan across lookups. A uid's name and namespace
// never change, so a hit is kept for the resolver's lifetime, even after the
// pod's directory is removed. A miss is re-checked at most once per
// rescan_interval per uid, because pods keep starting while we record.
class PodResolver {
public:
    // At most max_entries pods are kept, found and missed alike (man
    // lineage-record(1), LIMITS): past it, the cache starts again, and a
    // pod asked for again costs one more scan of the directory.
    explicit PodResolver(std::string kube_root, std::chrono::milliseconds rescan_interval = std::chrono::seconds(1),
                         size_t max_entries = 16'384);

    std::optional<PodInfo> resolve(std::string_view pod_uid);
    size_t cached() const { return known_.size() + last_miss_.size(); }

private:
    void rescan(const std::string& wanted);

    std::string kube_root_;
    std::chrono::milliseconds rescan_interval_;
    size_t max_entries_;
    std::unordered_map<std::string, PodInfo> known_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_miss_;
};

// parse_kube_cgroup() for every exec is measurable at thousands of execs a
// second, and a node has few distinct cgroups: remember the answers. The
// recorder works out each exec's pod UID once, here, for both the journal
// row and the pod's name.
class PodUidCache {
public:
    // The pod UID of a cgroup path, or "" outside pods.
    const std::string& uid_for(const std::string& cgroup_path) {
        auto it = cache_.find(cgroup_path);
        if (it != cache_.end()) return it->second;
        if (cache_.size() >= kMaxEntries) cache_.clear();  // bounded; a miss only costs a parse
        auto kube = parse_kube_cgroup(cgroup_path);
        return cache_.emplace(cgroup_path, kube ? kube->pod_uid : std::string()).first->second;
    }

private:
    static constexpr size_t kMaxEntries = 4096;
    std::unordered_map<std::string, std::string> cache_;
};

}  // namespace lineage
