#pragma once
// Fake pods for the end-to-end tests (pods.cpp): names unique to a test run,
// cgroups shaped like the kubelet's and their removal, runc bundles with
// busybox-static as the root file system, and reading what `lineage
// reconstruct` and `lineage pods` say of them as JSON.
//
// A test makes its cgroups under a top directory of its own
// (lineage-e2e-WHAT-PID-N) in cgroup v2 and in every cgroup v1 hierarchy
// the runtime touches, and a CgroupCleanup removes them again, killing what
// is still in them (a test that failed half way).

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace e2e {

// lineage-e2e-WHAT-PID-N: a name no other test run uses at the same time.
std::string unique_name(const char* what);

// A pod UID (dashed, lower-case hex) derived from `unique`.
std::string pod_uid_for(const std::string& unique);

// A container ID (64 hex digits) derived from this process's PID and `tag`.
std::string container_id_for(const std::string& tag);

// Every cgroup directory under `top` in every hierarchy below
// /sys/fs/cgroup is emptied (its processes killed) and removed, deepest first.
void remove_cgroup_trees(const std::string& top);

struct CgroupCleanup {
    std::string top;
    ~CgroupCleanup() { remove_cgroup_trees(top); }
};

// The cgroupfs driver's path of a container, below the cgroup root:
// /TOP/kubepods/besteffort/pod<UID>/<CONTAINER>.
std::string kubelet_cgroup_path(const std::string& top, const std::string& pod_uid, const std::string& container);

// Debian's runc and busybox-static, which scripts/setup.sh installs: fails
// the test when either is missing.
void require_runc();

// A runc bundle in DIR: DIR/rootfs holds busybox-static and a symlink to it
// for each of `applets` (in /bin); `config` starts as `runc spec` writes it,
// with no terminal and the host's network namespace (so that a container
// can reach a test's listener), and is written to DIR/config.json by
// write(). A test adds the process, host name, cgroups path and
// annotations it needs.
class RuncBundle {
public:
    RuncBundle(std::string dir, const std::vector<std::string>& applets);

    const std::string& dir() const { return dir_; }
    std::string config_path() const { return dir_ + "/config.json"; }
    void write() const;

    nlohmann::json config;

private:
    std::string dir_;
};

// `runc --root STATE run --bundle BUNDLE ID` in the foreground: the
// container runs to its end; runc removes it and its cgroup.
RunResult runc_run(const std::string& state, const std::string& bundle, const std::string& id,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// `runc --root STATE delete --force ID`, whatever became of it.
void runc_delete(const std::string& state, const std::string& id);

// containerd's CRI annotations of a container (container_type "container")
// or of a pod's sandbox, the pause container (container_type "sandbox":
// containerd gives it no container name, and since 1.7 the pause image).
// An empty container name or image leaves its annotation out.
nlohmann::json containerd_annotations(const std::string& pod_namespace, const std::string& pod_name,
                                      const std::string& pod_uid, const std::string& container_name,
                                      const std::string& image, const std::string& container_type = "container");

// CRI-O's annotations of a container.
nlohmann::json crio_annotations(const std::string& pod_namespace, const std::string& pod_name,
                                const std::string& pod_uid, const std::string& container_name, const std::string& image,
                                const std::string& container_type = "container");

// `lineage ARGS...`, its output and exit status.
RunResult run_lineage(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

// `lineage reconstruct --journal JOURNAL --format json EXTRA...`, which must
// exit 0 (something matched) and print one JSON document.
nlohmann::json reconstruct_doc(const std::string& journal, const std::vector<std::string>& extra);

// `lineage pods --journal JOURNAL --format json EXTRA...`, exit 0, parsed.
nlohmann::json pods_doc(const std::string& journal, const std::vector<std::string>& extra = {});

// Every node of a reconstruct document's trees, depth first.
std::vector<nlohmann::json> nodes_of(const nlohmann::json& doc);
std::vector<nlohmann::json> children_of(const nlohmann::json& node);

// The node exec'd BASE (a base name, or a path ending in /BASE).
bool execs_binary(const nlohmann::json& node, const std::string& base);

// An established TCP connection of the node to DADDR:DPORT.
bool connects_to(const nlohmann::json& node, const std::string& daddr, int dport);

// Validates `json_text` against schema/SCHEMA (e.g. "reconstruct.schema.json")
// with the python3-jsonschema CLI, through the file `scratch`.
void check_json_schema(const std::string& json_text, const std::string& schema, const std::string& scratch);

}  // namespace e2e
