#include "container_sources.h"

#include <unistd.h>

#include <utility>

#include <fmt/format.h>

#include "argv.h"
#include "container_meta.h"
#include "pod.h"

namespace lineage {

namespace {

// The annotations of one config.json as a containers row.
void fill(ContainerRow& row, const ContainerMeta& meta) {
    row.pod_uid = meta.pod_uid;
    row.pod_name = meta.pod_name;
    row.pod_namespace = meta.pod_namespace;
    row.name = meta.container_name;
    row.image = meta.image;
    row.type = meta.type;
}

// The working directory of a live process, "" when it is gone.
std::string cwd_of(const std::string& proc_root, uint32_t tgid) {
    char buf[4096];
    const std::string link = fmt::format("{}/{}/cwd", proc_root, tgid);
    const ssize_t n = readlink(link.c_str(), buf, sizeof buf);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return {};
    return std::string(buf, static_cast<size_t>(n));
}

std::string joined(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace

ContainerSources node_container_sources(std::string kube_root, std::string proc_root) {
    ContainerSources sources;
    sources.bundle = [kube_root, proc_root](const ExecEvent& e) {
        std::vector<ContainerRow> rows;
        auto invocation = parse_runtime_invocation(e.binary, split_argv(e.argv));
        if (!invocation) return rows;
        const std::string& bundle = invocation->bundle;
        // Without --bundle, or with a relative one, the runtime reads its
        // working directory: still ours to read while it runs.
        const std::string cwd = bundle.empty() || bundle.front() != '/' ? cwd_of(proc_root, e.proc.tgid) : "";
        const std::string dir = bundle.empty() ? "." : bundle;
        ContainerRow row;
        row.source = "bundle";
        row.path = joined(dir.front() == '/' ? dir : joined(cwd, dir), "config.json");
        // The runtime's ID, when it is one a cgroup path would name (not a
        // name a user gave `runc run`): parse_kube_cgroup's rule.
        if (auto id = canonical_container_id(invocation->id)) row.container_id = *id;
        auto meta = read_bundle_config(kube_root, dir, cwd);
        if (!meta) {
            row.problem = meta.error().message;
        } else {
            fill(row, *meta);
            if (!meta->container_id.empty()) row.container_id = meta->container_id;
        }
        // An ID that no cgroup path can name joins nothing: not worth a row.
        if (!row.container_id.empty()) rows.push_back(std::move(row));
        return rows;
    };
    sources.lookup = [kube_root](const std::string& container_id, bool annotated) {
        std::vector<ContainerRow> rows;
        if (!annotated) {
            if (auto found = find_runtime_config(kube_root, container_id)) {
                ContainerRow row;
                row.container_id = container_id;
                row.source = found->source;
                row.path = found->path;
                if (found->meta) {
                    fill(row, *found->meta);
                } else {
                    row.problem = found->meta.error().message;
                }
                rows.push_back(std::move(row));
            }
        }
        if (auto log = find_container_log(kube_root, container_id)) {
            ContainerRow row;
            row.container_id = container_id;
            row.source = "kubelet-log";
            row.path = "/var/log/containers";
            row.pod_name = log->pod_name;
            row.pod_namespace = log->pod_namespace;
            row.name = log->container_name;
            rows.push_back(std::move(row));
        }
        return rows;
    };
    return sources;
}

}  // namespace lineage
