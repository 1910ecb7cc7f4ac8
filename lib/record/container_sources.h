#pragma once
// The record session's ContainerSources: what the container runtime and the
// kubelet wrote on the node about a container, read under --kube-root with
// lib/host/container_meta.h's bounded readers, as containers rows.

#include <string>

#include "recorder.h"

namespace lineage {

// kube_root is "/" on a real node; proc_root is where /proc is (a runtime
// exec'd without --bundle uses its working directory, /proc/PID/cwd).
ContainerSources node_container_sources(std::string kube_root, std::string proc_root);

}  // namespace lineage
