#pragma once
// Selecting processes from a Model and shaping them into ancestry trees.
// Pure functions over the model: no SQLite, no output formatting.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "load_plan.h"
#include "model.h"

namespace lineage {

struct Query {
    std::optional<int64_t> since_wall_ns;  // window start, wall-clock ns
    std::optional<int64_t> until_wall_ns;  // window end
    std::optional<std::string> pod;        // name, namespace/name or pod UID
    std::optional<std::string> namespace_;
    std::optional<std::string> container;  // container id prefix
    std::optional<uint32_t> pid;           // every incarnation of this PID
    std::optional<std::string> binary_glob;
    std::optional<uint32_t> descendants_of;
    std::optional<uint32_t> ancestors_of;
    bool ancestors = false;  // continue the chain past the pod, up to PID 1
};

// Which pod a process ran in: the pod of a row that put it in the pod's
// cgroups (its exec, its fork, a move, the /proc snapshot), named by the
// model's one rule (Model::pod_name: the kubelet's log directory, else the
// latest host name from the pod's own UTS namespace, else the UID).
struct PodAttribution {
    std::string name;
    std::string namespace_;
    std::string uid;
    std::string container_id;
    PodEntryKind entered = PodEntryKind::exec;  // how it came to be in the pod
    int64_t entered_ns = 0;                     // boot ns
};

// The process's pod: `uid`'s when it was ever in that pod, else the first
// pod it was in; nullopt when it was in none (or not in `uid`'s, when given).
std::optional<PodAttribution> pod_of(const Model& model, const Process& p, std::string_view uid = {});

// The image a process that never exec'd runs: its forker's at the fork (the
// last image its nearest ancestor with one exec'd before then), by base
// name ("python3"), else the forker's comm. Empty for a process with an
// image of its own.
std::string forked_image(const Model& model, const Process& p);
// That image itself, when its forker's is known (nullptr otherwise): what
// --binary matches a process that never exec'd by.
const ExecImage* forked_image_of(const Model& model, const Process& p);

struct TreeNode {
    const Process* process = nullptr;
    bool matched = false;    // selected by the query itself, not only an ancestor
    bool in_window = false;  // its life overlaps the window
    std::optional<PodAttribution> pod;
    // PID 1 of its own pid namespace in a pod: the container's first
    // process, the one a responder looks for.
    bool container_init = false;
    std::string fork_of;  // forked_image(): set for a process that never exec'd
    std::vector<TreeNode> children;
};

// Why the parent of a tree's root is known but not shown.
enum class OutsideReason {
    outside_pod,     // a pod is selected and the parent is not in it
    not_in_journal,  // known only from the fork or exec row that named it
};

// "outside the pod", "not in the journal": the JSON "why", and the text
// renderer's "parent outside the pod: ..." line.
const char* outside_reason_name(OutsideReason why);

// The parent of a tree's root, when it is known but not shown.
struct OutsideParent {
    uint32_t pid = 0;
    std::string comm;
    std::optional<ProcessKey> key;
    OutsideReason why = OutsideReason::not_in_journal;
};

struct Tree {
    TreeNode root;
    std::optional<OutsideParent> outside_parent;
};

// Where the journals cannot be complete.
enum class WarningKind {
    loss,            // the recorder lost events
    unknown_parent,  // a root's parent is unknown, or not in the journal
    not_recorded,    // no run recorded then
    pruned,          // retention deleted it
};

// "loss", "unknown_parent", "not_recorded", "pruned": the JSON "kind".
const char* warning_kind_name(WarningKind kind);

struct Warning {
    WarningKind kind = WarningKind::loss;
    // Raw bytes, with names (comm) as the journal holds them: each renderer
    // makes them safe for its output, once.
    std::string message;
    std::optional<int64_t> from_wall_ns, to_wall_ns;
};

struct JournalSummary {
    std::vector<std::string> paths;
    std::vector<std::string> nodes;
    std::vector<std::string> boot_ids;
};

struct Report {
    JournalSummary journal;
    std::optional<int64_t> since_wall_ns, until_wall_ns;
    std::vector<Warning> warnings;
    std::vector<Tree> trees;
    size_t matched = 0;  // processes selected by the query
};

Report build_report(const Model& model, const Query& query);

// What the journals must load for `query`: everything, or only what its
// PID, pod or descendants selector can match (and their ancestors).
LoadPlan load_plan_for(const Query& query);

// Start and end of a process's life in wall-clock ns; the end of a process
// that never exited is the end of its journal.
int64_t process_start_wall(const Model& model, const Process& p);
int64_t process_end_wall(const Model& model, const Process& p);

// Glob against a binary path: a pattern with '/' matches the whole path,
// one without matches the base name.
bool binary_matches(const std::string& glob, const std::string& binary);

}  // namespace lineage
