#pragma once
// Folding: which parts of a tree the text renderer draws as one line.
// Structure only, no text: the renderer words the lines.
//
// One rule decides what may fold (worth_seeing), and one switch turns all
// folding off (FoldOptions::fold, `reconstruct --no-fold`). Two kinds of
// fold exist: long chains of single children, and runs of siblings of the
// same shape (a liveness probe every 10 s). JSON never folds, since scripts
// count nodes; it says per node how many siblings of its shape follow
// (sibling_repeats), so that a script can fold the same way.

#include <cstdint>
#include <vector>

#include "reconstruct.h"

namespace lineage {

struct FoldOptions {
    bool fold = true;  // false: every process on its own line (--no-fold)
    // The shortest run of generations drawn as one line: shorter chains read
    // well as they are, and ordinary trees never fold.
    uint32_t min_generations = 8;
    // The fewest siblings of one shape drawn as one line: two read well as
    // they are.
    uint32_t min_repeats = 3;
};

// Whether a node must have a line of its own: it connected or listened,
// ended badly (non-zero exit, a signal), was selected by a selector that
// names it, has a flag (argv or binary cut at the cap; an executed file
// that is a memfd, deleted or written into its container, or an exec that
// changed its privileges), enters a pod its parent is not
// in, is its container's first process (container_init), was moved into
// its pod after it started, or (with --new) ran a binary or connected to a
// destination its pod never had before. `parent` is null for a root. Nothing worth
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

// Siblings of one shape drawn as one line, at the place of the oldest:
// the same image chain and argv (or the same forker's image and comm), the
// same pod and container, all in the window or all outside it, and the same
// shape below them, recursively. No member, nor anything below one, is
// worth seeing. The siblings need not be adjacent (a loop's probe and its
// `sleep` alternate): an odd one among them keeps its own line, next to the
// fold line. The oldest member's subtree is drawn below the line, as the
// shape of them all.
struct RepeatFold {
    std::vector<uint32_t> members;  // node indexes, oldest first; members[0] is drawn
};

struct FoldPlan {
    std::vector<ChainFold> chains;
    std::vector<uint32_t> chain_at;  // node index -> index into chains, or kNoFold
    std::vector<RepeatFold> repeats;
    std::vector<uint32_t> repeat_at;  // node index of a members[0] -> index into repeats, or kNoFold
    std::vector<bool> hidden;         // counted in the fold line of an older sibling
};

FoldPlan plan_folds(const Tree& tree, const FoldOptions& options);

// For every node, how many of its younger siblings have its shape (the
// rule of RepeatFold); 0 for a node that is worth seeing or has something
// worth seeing below it. Whatever the options: the JSON "repeats".
std::vector<uint32_t> sibling_repeats(const Tree& tree);

}  // namespace lineage
