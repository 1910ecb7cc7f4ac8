#pragma once
// Folding: which parts of a tree the text renderer draws as one line.
// Structure only, no text: the renderer words the lines.
//
// One rule decides what may fold (worth_seeing), and one switch turns all
// folding off (FoldOptions::fold, `reconstruct --no-fold`). Today one kind
// of fold exists, long chains of single children; folds of repeated
// siblings belong here too, under the same rule and switch. JSON never
// folds: scripts count nodes.

#include <cstdint>
#include <vector>

#include "reconstruct.h"

namespace lineage {

struct FoldOptions {
    bool fold = true;  // false: every process on its own line (--no-fold)
    // The shortest run of generations drawn as one line: shorter chains read
    // well as they are, and ordinary trees never fold.
    uint32_t min_generations = 8;
};

// Whether a node must have a line of its own: it connected, ended badly
// (non-zero exit, a signal), was selected by a selector that names it, has
// a flag (argv or binary cut at the cap), enters a pod its parent is not
// in, is its container's first process (container_init) or was moved into
// its pod after it started. `parent` is null for a root. Nothing worth
// seeing is ever folded.
bool worth_seeing(const TreeNode& node, const TreeNode* parent);

// A run of generations drawn as one line: nodes first, its only child, that
// one's only child, and so on down to last, `generations` of them. Each has
// exactly one shown child and nothing worth seeing, and all are in the
// window or all outside it. The child of `last` is drawn below the line.
struct ChainFold {
    uint32_t first = 0;
    uint32_t last = 0;
    uint32_t generations = 0;
};

// The chains to fold in `tree`, by the node they start at: for every node
// index, the index into the returned folds of the run that starts there,
// or kNoFold. Linear in the tree's size. A root never folds (the tree
// starts with it).
inline constexpr uint32_t kNoFold = UINT32_MAX;

struct FoldPlan {
    std::vector<ChainFold> chains;
    std::vector<uint32_t> chain_at;  // node index -> index into chains, or kNoFold
};

FoldPlan plan_folds(const Tree& tree, const FoldOptions& options);

}  // namespace lineage
