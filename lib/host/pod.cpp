#include "pod.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

namespace lineage {

namespace {

// PATH_MAX: the kernel will not hand us a longer cgroup path, so anything
// longer is not from /proc and is refused before we spend time on it.
constexpr std::size_t max_cgroup_path = 4096;

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char to_lower_ascii(char c) {
    return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool consume_prefix(std::string_view& s, std::string_view prefix) {
    if (!s.starts_with(prefix)) return false;
    s.remove_prefix(prefix.size());
    return true;
}

bool consume_suffix(std::string_view& s, std::string_view suffix) {
    if (!s.ends_with(suffix)) return false;
    s.remove_suffix(suffix.size());
    return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t end = s.find(sep, start);
        if (end == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, end - start));
        start = end + 1;
    }
}

// Empty components come from "//" and a trailing "/"; neither means anything.
std::vector<std::string_view> path_components(std::string_view path) {
    std::vector<std::string_view> out;
    for (std::string_view part : split(path, '/')) {
        if (!part.empty()) out.push_back(part);
    }
    return out;
}

// The cgroupfs driver spells the uid with dashes; the systemd driver must use
// underscores because a dash in a slice name means "child of".
std::optional<std::string> canonical_uid(std::string_view s, char sep) {
    if (s.size() != 36) return std::nullopt;
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != sep) return std::nullopt;
            out.push_back('-');
        } else {
            if (!is_hex(s[i])) return std::nullopt;
            out.push_back(to_lower_ascii(s[i]));
        }
    }
    return out;
}

struct Container {
    std::string id;
    std::string runtime;
};

std::optional<Container> parse_container_leaf(std::string_view leaf) {
    consume_suffix(leaf, ".scope");
    struct RuntimePrefix {
        std::string_view prefix;
        std::string_view runtime;
    };
    // crio-conmon- must be tried before crio-, or "conmon-" would end up in the id.
    static constexpr RuntimePrefix prefixes[] = {
        {"cri-containerd-", "containerd"},
        {"crio-conmon-", "crio"},
        {"crio-", "crio"},
        {"docker-", "docker"},
    };
    std::string_view runtime;
    for (const RuntimePrefix& p : prefixes) {
        if (consume_prefix(leaf, p.prefix)) {
            runtime = p.runtime;
            break;
        }
    }
    std::optional<std::string> id = canonical_container_id(leaf);
    if (!id) return std::nullopt;
    return Container{std::move(*id), std::string(runtime)};
}

bool is_qos_class(std::string_view s) {
    return s == "burstable" || s == "besteffort";
}

// A systemd slice at or below kubepods: "kubepods", "kubepods-<qos>" or
// "kubepods[-<qos>]-pod<uid>", possibly with a parent prefix such as kind's
// "kubelet-".
struct KubeSlice {
    std::string_view stem;  // the name without ".slice"
    std::string qos;
    std::string pod_uid;  // empty for the levels above the pods
};

bool slice_mentions_kubepods(std::string_view component) {
    if (!consume_suffix(component, ".slice")) return false;
    std::vector<std::string_view> tokens = split(component, '-');
    return std::find(tokens.begin(), tokens.end(), "kubepods") != tokens.end();
}

std::optional<KubeSlice> parse_kube_slice(std::string_view component) {
    std::string_view stem = component;
    if (!consume_suffix(stem, ".slice")) return std::nullopt;
    std::vector<std::string_view> tokens = split(stem, '-');
    auto it = std::find(tokens.begin(), tokens.end(), "kubepods");
    if (it == tokens.end()) return std::nullopt;
    ++it;

    KubeSlice slice{stem, "", ""};
    if (it != tokens.end() && is_qos_class(*it)) {
        slice.qos = std::string(*it);
        ++it;
    }
    if (it == tokens.end()) return slice;

    std::string_view pod = *it;
    if (std::next(it) != tokens.end() || !consume_prefix(pod, "pod")) return std::nullopt;
    std::optional<std::string> uid = canonical_uid(pod, '_');
    if (!uid) return std::nullopt;
    slice.pod_uid = std::move(*uid);
    // The kubelet gives guaranteed pods no class level of their own.
    if (slice.qos.empty()) slice.qos = "guaranteed";
    return slice;
}

bool is_kubepods_anchor(std::string_view component) {
    if (component == "kubepods") return true;
    // containerd run without systemd writes its systemd-style cgroup spec
    // "<slice>:<prefix>:<id>" literally as one directory name.
    return slice_mentions_kubepods(component.substr(0, component.find(':')));
}

void attach_container(KubeCgroup& out, std::string_view leaf) {
    if (std::optional<Container> c = parse_container_leaf(leaf)) {
        out.container_id = std::move(c->id);
        out.runtime = std::move(c->runtime);
    }
}

std::optional<KubeCgroup> parse_systemd_layout(const std::vector<std::string_view>& parts, std::size_t anchor) {
    std::string_view parent_stem;
    for (std::size_t i = anchor; i < parts.size(); ++i) {
        std::string_view component = parts[i];
        std::optional<std::string> inline_leaf;
        if (std::size_t colon = component.find(':'); colon != std::string_view::npos) {
            // "<prefix>:<id>" becomes "<prefix>-<id>", the spelling the leaf parser knows.
            std::string rest(component.substr(colon + 1));
            std::replace(rest.begin(), rest.end(), ':', '-');
            inline_leaf = std::move(rest);
            component = component.substr(0, colon);
        }

        std::optional<KubeSlice> slice = parse_kube_slice(component);
        if (!slice) return std::nullopt;
        // systemd names a child slice by extending its parent's name, so a
        // chain that does not is not one the kubelet made.
        if (!parent_stem.empty()) {
            std::string_view stem = slice->stem;
            if (!consume_prefix(stem, parent_stem) || !consume_prefix(stem, "-")) {
                return std::nullopt;
            }
        }
        parent_stem = slice->stem;

        if (slice->pod_uid.empty()) {
            if (inline_leaf) return std::nullopt;
            continue;
        }

        KubeCgroup out{std::move(slice->pod_uid), "", "", std::move(slice->qos)};
        if (inline_leaf) {
            attach_container(out, *inline_leaf);
        } else if (i + 1 < parts.size()) {
            attach_container(out, parts[i + 1]);
        }
        return out;
    }
    // Ran out at kubepods or a QoS class level: those hold no pod's processes.
    return std::nullopt;
}

std::optional<KubeCgroup> parse_cgroupfs_layout(const std::vector<std::string_view>& parts, std::size_t anchor) {
    std::size_t i = anchor + 1;
    std::string qos = "guaranteed";
    if (i < parts.size() && is_qos_class(parts[i])) {
        qos = std::string(parts[i]);
        ++i;
    }
    if (i >= parts.size()) return std::nullopt;

    std::string_view pod = parts[i];
    if (!consume_prefix(pod, "pod")) return std::nullopt;
    std::optional<std::string> uid = canonical_uid(pod, '-');
    if (!uid) return std::nullopt;

    KubeCgroup out{std::move(*uid), "", "", std::move(qos)};
    if (i + 1 < parts.size()) attach_container(out, parts[i + 1]);
    return out;
}

// "<namespace>_<name>_<uid>". Namespaces and pod names cannot contain '_',
// so the first underscore ends the namespace.
std::optional<PodInfo> parse_log_dir_name(std::string_view dir_name, std::string_view uid) {
    std::string_view rest = dir_name;
    if (!consume_suffix(rest, uid) || !consume_suffix(rest, "_")) return std::nullopt;
    std::size_t sep = rest.find('_');
    if (sep == std::string_view::npos || sep == 0 || sep + 1 == rest.size()) return std::nullopt;
    return PodInfo{std::string(rest.substr(sep + 1)), std::string(rest.substr(0, sep)), std::string(uid)};
}

std::filesystem::path pod_log_root(const std::string& kube_root) {
    return std::filesystem::path(kube_root) / "var" / "log" / "pods";
}

// Calls visit(dir_name) for each directory under var/log/pods until it
// returns true. Unreadable or missing directories simply yield nothing.
template <typename Visit>
void for_each_pod_log_dir(const std::string& kube_root, Visit visit) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator it(pod_log_root(kube_root), ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (!it->is_directory(type_ec) || type_ec) continue;
        if (visit(it->path().filename().string())) return;
    }
}

}  // namespace

std::optional<KubeCgroup> parse_kube_cgroup(std::string_view cgroup_path) {
    if (cgroup_path.size() > max_cgroup_path) return std::nullopt;
    if (cgroup_path.find('\0') != std::string_view::npos) return std::nullopt;

    std::vector<std::string_view> parts = path_components(cgroup_path);
    // The first kubepods level wins: anything that looks like kubepods further
    // down sits inside a container of this pod (a nested kubelet, say), and
    // belongs to this node's pod.
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (!is_kubepods_anchor(parts[i])) continue;
        if (parts[i] == "kubepods") return parse_cgroupfs_layout(parts, i);
        return parse_systemd_layout(parts, i);
    }
    return std::nullopt;
}

std::optional<std::string> canonical_pod_uid(std::string_view uid) {
    return canonical_uid(uid, '-');
}

// 64 is a full containerd/CRI-O/docker id; docker also shows 12-character
// short ids in some setups.
std::optional<std::string> canonical_container_id(std::string_view s) {
    if (s.size() < 12 || s.size() > 64) return std::nullopt;
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (!is_hex(c)) return std::nullopt;
        out.push_back(to_lower_ascii(c));
    }
    return out;
}

std::optional<PodInfo> find_pod_log_dir(const std::string& kube_root, std::string_view pod_uid) {
    // Validating first matters: an empty uid would match every "..._" entry.
    std::optional<std::string> uid = canonical_uid(pod_uid, '-');
    if (!uid) return std::nullopt;

    std::optional<PodInfo> found;
    for_each_pod_log_dir(kube_root, [&](const std::string& dir_name) {
        found = parse_log_dir_name(dir_name, *uid);
        return found.has_value();
    });
    return found;
}

PodResolver::PodResolver(std::string kube_root, std::chrono::milliseconds rescan_interval, size_t max_entries)
    : kube_root_(std::move(kube_root)),
      rescan_interval_(rescan_interval),
      max_entries_(std::max<size_t>(max_entries, 1)) {}

std::optional<PodInfo> PodResolver::resolve(std::string_view pod_uid) {
    std::optional<std::string> uid = canonical_uid(pod_uid, '-');
    if (!uid) return std::nullopt;

    if (auto hit = known_.find(*uid); hit != known_.end()) return hit->second;

    auto now = std::chrono::steady_clock::now();
    if (auto miss = last_miss_.find(*uid); miss != last_miss_.end()) {
        if (now - miss->second < rescan_interval_) return std::nullopt;
    }

    rescan(*uid);
    if (auto hit = known_.find(*uid); hit != known_.end()) {
        last_miss_.erase(*uid);
        return hit->second;
    }
    if (cached() >= max_entries_) last_miss_.clear();
    last_miss_[*uid] = now;
    return std::nullopt;
}

// One scan learns every pod on the node, so the other uids we are about to
// be asked for are usually already known.
void PodResolver::rescan(const std::string& wanted) {
    if (cached() >= max_entries_) {
        known_.clear();
        last_miss_.clear();
    }
    for_each_pod_log_dir(kube_root_, [&](const std::string& dir_name) {
        std::size_t sep = dir_name.rfind('_');
        if (sep == std::string::npos) return false;
        std::string_view uid_part = std::string_view(dir_name).substr(sep + 1);
        // Only canonical uids: the cache is keyed by exactly what resolve() looks up.
        std::optional<std::string> canonical = canonical_uid(uid_part, '-');
        if (!canonical || *canonical != uid_part) return false;
        // Up to the bound, and the pod asked for whatever the bound.
        if (cached() + 1 >= max_entries_ && uid_part != wanted) return false;
        if (std::optional<PodInfo> info = parse_log_dir_name(dir_name, uid_part)) {
            known_.try_emplace(info->uid, std::move(*info));
        }
        return false;
    });
}

}  // namespace lineage
