#pragma once
// `lineage pods`: the pods a set of journals saw, with what ran in them,
// for a responder who knows only "something in payments, around 09:14".
// Built from the model (every process's pod rows), with the model's one
// rule for a pod's name (Model::pod_name).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model.h"

namespace lineage {

struct PodQuery {
    // Only the processes in the pod during this window count (and only pods
    // with one are listed).
    std::optional<int64_t> since_wall_ns, until_wall_ns;
    std::optional<std::string> namespace_;
    std::optional<std::string> name_glob;  // fnmatch(3) on the name, or on NAMESPACE/NAME when it has a '/'
};

struct PodSummary {
    std::string uid, name, namespace_;
    std::vector<std::string> nodes;  // the nodes whose journals saw it
    int64_t first_wall_ns = 0;       // the first process entering it
    int64_t last_wall_ns = 0;        // the last end of one of its processes (or the journal's end)
    bool running = false;            // a process of it had not exited at the journal's end
    uint64_t processes = 0, execs = 0, connects = 0;
    // A loss, or a gap between runs of a boot, overlaps [first, last]: the
    // pod's numbers may be short.
    bool incomplete = false;
};

// The pods, by first seen; each counts the processes that were in it (by a
// row that put them in its cgroups), their execs and their connects.
std::vector<PodSummary> list_pods(const Model& model, const PodQuery& query);

// Aligned columns, every name escaped for the terminal.
std::string render_pods_text(const std::vector<PodSummary>& pods, bool color);
// One JSON document (schema/pods.schema.json), valid UTF-8.
std::string render_pods_json(const std::vector<PodSummary>& pods);

}  // namespace lineage
