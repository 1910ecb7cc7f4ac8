#pragma once
// Containers by name and image, offline: what the container runtime and the
// kubelet already write on the node (issue 22). The runtime's OCI bundle
// carries the CRI's annotations (pod, namespace, container name, image), the
// runtime's state directories keep a copy for containers that predate
// `record`, and the kubelet's /var/log/containers names map a container ID to
// its names. No socket and no API server: a forensic recording must name
// containers on a node cut off from its control plane.
//
// Every byte read here was written by whoever controls the runtime's
// arguments or the bundle: nothing is interpreted beyond the fields below,
// values are kept as bytes (the renderers escape them), files are opened by
// the kernel's own resolution rules (openat2) so that no path leaves the
// bundle or the root, reads are bounded, and nothing throws.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace lineage {

// What a container's OCI config.json (its bundle's, or the runtime's copy
// of it) says about the container, from the CRI annotations.
struct ContainerMeta {
    // Lower-case hex: from linux.cgroupsPath (ids_from_cgroups_path) when it
    // names one, else "" (the caller knows the runtime's ID).
    std::string container_id;
    // Canonical dashed: the annotation (containerd's
    // io.kubernetes.cri.sandbox-uid, CRI-O's io.kubernetes.pod.uid), else
    // from cgroupsPath, else "".
    std::string pod_uid;
    // io.kubernetes.cri.sandbox-name / io.kubernetes.pod.name
    std::string pod_name;
    // io.kubernetes.cri.sandbox-namespace / io.kubernetes.pod.namespace
    std::string pod_namespace;
    // io.kubernetes.cri.container-name / io.kubernetes.container.name
    std::string container_name;
    // io.kubernetes.cri.image-name / io.kubernetes.cri-o.ImageName
    std::string image;
    // "sandbox" (the pause container) or "container"
    // (io.kubernetes.cri.container-type / io.kubernetes.cri-o.ContainerType);
    // any other value kept as written; "" when absent.
    std::string type;
    // linux.cgroupsPath as written, "" when absent.
    std::string cgroups_path;
    // "containerd", "crio", or "" when no CRI annotation is present.
    std::string flavour;
};
// Every string above is at most kMaxMetaField bytes: a longer value is cut
// there and nothing else is changed (the cut may split a UTF-8 sequence:
// bytes are kept as they are, escaping is the renderer's job).
inline constexpr size_t kMaxMetaField = 4096;
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// The parse of one config.json's bytes. An Error (one line, no file name:
// the caller adds it) when it is not JSON (nlohmann's parser also refuses
// invalid UTF-8 and raw control characters inside strings), not an object,
// or cut short. Uses nlohmann::json's exception-free interface and never
// throws; the work is linear in the input and the memory is bounded by the
// fields kept, not by what else the file holds (any nesting depth included).
// Unknown or mistyped fields are ignored (an annotation that is not a
// string is ignored). A pod UID annotation that is not a UID is ignored.
// When both flavours' annotations are present, containerd's are read and
// CRI-O's ignored: one source per container, never a mix.
Result<ContainerMeta> parse_oci_config(std::string_view json);

// The container ID (lower-case hex, 12..64) and the pod UID (canonical
// dashed) that a linux.cgroupsPath names, each "" when none: the cgroupfs
// form "/kubepods/besteffort/pod<uid>/<id>" (through parse_kube_cgroup) and
// the systemd form "<slice>:<prefix>:<id>", as in
// "kubepods-besteffort-pod<uid_underscored>.slice:cri-containerd:<id>"
// (any prefix: cri-containerd, crio, docker, ...).
struct CgroupsPathIds {
    std::string pod_uid;
    std::string container_id;
};
CgroupsPathIds ids_from_cgroups_path(std::string_view cgroups_path);

// An exec of an OCI runtime that creates a container: `runc`, `crun` or
// `runsc` (the base name of binary_path or of argv[0], exactly) with the
// subcommand `create` or `run`. The runtimes' global options before the
// subcommand are skipped, then the subcommand's; `--bundle X`, `-b X`,
// `--bundle=X` and `-b=X` give the bundle, and the last positional argument
// is the container ID. nullopt for anything else (runc start/delete/state,
// no ID, an option missing its value). bundle is "" when no --bundle was
// given: the runtime then uses its cwd, which the caller knows. crun's
// `--config FILE` (a config.json elsewhere) is skipped, not followed.
struct RuntimeInvocation {
    std::string bundle;
    std::string id;
};
std::optional<RuntimeInvocation> parse_runtime_invocation(std::string_view binary_path,
                                                          const std::vector<std::string>& argv);

// Reads and parses <root>/<bundle>/config.json. root is "/" on a real node
// (record --kube-root); a relative `bundle` is taken relative to `cwd`
// (itself under root; "" cwd with a relative bundle is an Error). The
// kernel enforces the rules, not string checks: the bundle directory is
// resolved inside root (openat2 RESOLVE_IN_ROOT: ".." and absolute symlinks
// stop at root), config.json is opened from the bundle's directory with
// RESOLVE_BENEATH (a symlink that leaves the bundle is refused, one inside
// it is fine), magic links are refused, and the open never blocks
// (O_NONBLOCK). It must be a regular file of at most max_bytes. Errors are
// one line and name the file: root joined with the path as given, escaped.
Result<ContainerMeta> read_bundle_config(const std::string& root, const std::string& bundle,
                                         const std::string& cwd = "", size_t max_bytes = kMaxConfigBytes);

// A container that predates `record` (or whose runtime exec was missed): its
// config by ID under root, in containerd's task directories
// <root>/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json
// (any namespace, in name order: k8s.io, moby, default...) and CRI-O's
// <root>/run/containers/storage/overlay-containers/<id>/userdata/config.json,
// containerd's first. Read as read_bundle_config reads. `source` is
// "containerd-task" or "crio-state", `path` the file (raw bytes: escape to
// show). nullopt when no such file exists; `meta` an Error (naming the file)
// when one exists and cannot be read or parsed. container_id must be the
// full directory name, 12-64 lower-case hex, else nullopt (no path is ever
// built from other bytes).
struct RuntimeConfig {
    std::string source;
    std::string path;
    Result<ContainerMeta> meta;
};
std::optional<RuntimeConfig> find_runtime_config(const std::string& root, std::string_view container_id);

// The kubelet's <root>/var/log/containers/<pod>_<namespace>_<container>-<id>.log
// for a container ID of 12-64 lower-case hex (a 12-character short ID
// matches the first 12 of the file's 64): the names in it. Only the entry's
// name counts; the symlink is never followed. nullopt when none matches,
// when the ID is not lower-case hex, or when a short ID matches two
// containers. Pod, namespace and container names never hold '_'.
struct ContainerLogName {
    std::string pod_name, pod_namespace, container_name;
};
std::optional<ContainerLogName> find_container_log(const std::string& root, std::string_view container_id);

}  // namespace lineage
