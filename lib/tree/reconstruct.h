#pragma once
// Selecting processes from a Model and shaping them into ancestry trees.
// Pure functions over the model: no SQLite, no output formatting.

#include <cstdint>
#include <memory>
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
    std::optional<std::string> container;    // container id prefix, or container name
    std::optional<std::string> image_glob;   // container image reference (image_matches)
    std::optional<uint32_t> pid;             // every incarnation of this PID
    std::optional<std::string> binary_glob;  // the path given to execve, or the file it ran
    // Every process that ran a file with this SHA-256 (64 lower-case hex
    // digits: the caller checks and folds the case, sha256_selector).
    std::optional<std::string> sha256;
    // Every process that looked up a name this glob matches (dns_name_matches):
    // sent the query, or was sent the answer; a resolver that served it is not.
    std::optional<std::string> dns_glob;
    std::optional<uint32_t> descendants_of;
    std::optional<uint32_t> ancestors_of;
    bool ancestors = false;  // continue the chain past the pod, up to PID 1
};

// Which pod a process ran in: the pod of a row that put it in the pod's
// cgroups (its exec, its fork, a move, the /proc snapshot), named by the
// model's one rule (Model::pod_name: the kubelet's log directory, else the
// latest host name from the pod's own UTS namespace, else the UID). Only
// what names the pod and its container: it is the same for every process
// of one container, so a tree shares one copy between them (TreeNode::pod).
struct PodAttribution {
    std::string name;
    std::string namespace_;
    std::string uid;
    std::string container_id;
    PodNameSource name_source = PodNameSource::unknown;
    // From the containers rows (Model::container): "" when not known.
    std::string container_name{};
    std::string image{};
    std::string container_type{};  // "sandbox" for a pod's pause container
};

// A process's pod and how that process came to be in it: the entry is the
// process's own, never shared.
struct PodMembership {
    PodAttribution pod;
    PodEntryKind entered = PodEntryKind::exec;
    int64_t entered_ns = 0;  // boot ns
};

// The process's pod: `uid`'s when it was ever in that pod, else the first
// pod it was in; nullopt when it was in none (or not in `uid`'s, when given).
std::optional<PodMembership> pod_of(const Model& model, const Process& p, std::string_view uid = {});

// reconstruct --new: whether an image (its binary) or a connect (its
// destination) was seen in its pod before, in the journals' whole span.
enum class Newness : uint8_t {
    not_compared,  // the journals cannot tell: before their oldest row, or a connect outside pods
    seen_before,   // the pod ran the binary, or connected there, earlier
    first,         // nothing earlier in the journals
};

// One process of a Tree. Children are indexes into Tree::nodes, not nested
// values: an attacker chooses how deep a tree is, and nothing that walks,
// copies or destroys a tree may recurse once per generation.
struct TreeNode {
    const Process* process = nullptr;
    bool matched = false;  // selected by the query itself, not only an ancestor
    // Selected by a selector that names it (--pid, --binary, --ancestors-of,
    // or the --descendants-of PID itself), not only by a pod, a namespace or
    // being below a PID: never folded into a run of generations.
    bool direct_match = false;
    bool in_window = false;  // its life overlaps the window
    uint32_t depth = 0;      // generations below the tree's root (the root is 0)
    // Shared by every process shown in one pod and container: a pod of
    // 100,000 processes holds one copy.
    std::shared_ptr<const PodAttribution> pod;
    // How this process came to be in `pod` and when (boot ns): its own, set
    // only with `pod`.
    PodEntryKind entered = PodEntryKind::exec;
    int64_t entered_ns = 0;
    // PID 1 of its own pid namespace in a pod: the container's first
    // process, the one a responder looks for.
    bool container_init = false;
    // The image it runs when it never exec'd: its forker's, by base name
    // ("python3"), else the forker's comm; empty for a process with an image
    // of its own.
    std::string fork_of;
    std::vector<uint32_t> children;  // indexes into Tree::nodes, oldest first
    // --new (mark_new, newness.h): per image of the process (Process::execs)
    // and per connect (Process::connects); empty without --new.
    std::vector<Newness> new_images;
    std::vector<Newness> new_connects;
    // An image or a connect that is the first of its kind in its pod.
    bool is_new() const;
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
    // Every node of the tree, each parent before its children; nodes[0] is
    // the root.
    std::vector<TreeNode> nodes;
    std::optional<OutsideParent> outside_parent;
    uint32_t depth = 0;  // the deepest node's depth

    const TreeNode& root() const { return nodes.front(); }
};

// How deep a tree may be before the renderers change how they draw it; a
// tree deeper than kTextIndentLevels gets a deep_tree warning. Nothing is
// ever left out: the text tree indents at most kTextIndentLevels levels and
// then starts again from the left with a marker line; the JSON document
// nests at most kJsonTreeDepth generations in one tree entry, and writes the
// generation below as tree entries of their own (continues_from).
inline constexpr uint32_t kTextIndentLevels = 64;
inline constexpr uint32_t kJsonTreeDepth = 256;

// Where the journals cannot be complete.
enum class WarningKind {
    loss,            // the recorder lost events
    unknown_parent,  // a root's parent is unknown, or not in the journal
    not_recorded,    // no run recorded then
    pruned,          // retention deleted it
    parent_cycle,    // a damaged journal: a parent chain loops
    deep_tree,       // a tree deeper than kTextIndentLevels
    schema,          // a journal's schema is not lineage's, read anyway (--force-schema)
    imported,        // a run that `lineage import` built from another record
    names,           // a shown pod or container that the node's files named differently, or not at all
};

// "loss", "unknown_parent", "not_recorded", "pruned", "parent_cycle",
// "deep_tree", "schema", "imported", "names": the JSON "kind".
const char* warning_kind_name(WarningKind kind);

struct Warning {
    WarningKind kind = WarningKind::loss;
    // Raw bytes, with names (comm) as the journal holds them: each renderer
    // makes them safe for its output, once.
    std::string message;
    std::optional<int64_t> from_wall_ns, to_wall_ns;
};

// A run of the journals that `lineage import` built from another record.
struct ImportedRun {
    std::string journal;
    int64_t run_id = 0;
    ImportProvenance provenance;
};

struct JournalSummary {
    std::vector<std::string> paths;
    std::vector<std::string> nodes;
    std::vector<std::string> boot_ids;
    std::vector<ImportedRun> imported;  // in journal and run order
};

// What --new compares against: the journals' history from `since_wall_ns`
// on (their oldest run's start, or the latest time retention pruned up to).
struct NewSince {
    int64_t since_wall_ns = 0;
    bool pruned = false;    // retention deleted what came before
    bool imported = false;  // a run holds only what an imported record had
};

struct Report {
    JournalSummary journal;
    std::optional<NewSince> new_since;  // set by mark_new (--new)
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

// Digits grouped by commas (4,200): how the text tree and the warnings
// write counts and depths.
std::string group_thousands(uint64_t n);

// binary_matches (load_plan.h): the --binary rule.

}  // namespace lineage
