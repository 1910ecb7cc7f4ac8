#include "fold.h"

#include <algorithm>

namespace lineage {

bool worth_seeing(const TreeNode& node, const TreeNode* parent) {
    const Process& p = *node.process;
    if (node.direct_match) return true;
    if (!p.connects.empty()) return true;
    if (p.exit && (p.exit->code != 0 || p.exit->signal != 0)) return true;
    for (const auto& img : p.execs) {
        if (img.args_truncated || img.binary_truncated) return true;
    }
    // The text tree marks a process that enters another pod ("[pod X]"),
    // the container's first process ("[container init]") and one moved into
    // its pod after it started ("[moved into the pod T]").
    if (parent && node.pod && (!parent->pod || parent->pod->uid != node.pod->uid)) return true;
    if (node.container_init) return true;
    if (node.pod && node.entered == PodEntryKind::move) return true;
    return false;
}

FoldPlan plan_folds(const Tree& tree, const FoldOptions& options) {
    FoldPlan plan;
    const size_t n = tree.nodes.size();
    plan.chain_at.assign(n, kNoFold);
    if (!options.fold || n == 0) return plan;

    std::vector<uint32_t> parent(n, kNoFold);
    for (size_t i = 0; i < n; ++i) {
        for (uint32_t c : tree.nodes[i].children) parent[c] = static_cast<uint32_t>(i);
    }
    // A link of a chain: one shown child, nothing worth seeing; never the root.
    auto link = [&](uint32_t i) {
        const TreeNode& node = tree.nodes[i];
        return parent[i] != kNoFold && node.children.size() == 1 && !worth_seeing(node, &tree.nodes[parent[i]]);
    };
    for (uint32_t i = 0; i < n; ++i) {
        if (!link(i)) continue;
        const bool in_window = tree.nodes[i].in_window;
        const uint32_t up = parent[i];
        // Not the start of a run when it continues its parent's.
        if (link(up) && tree.nodes[up].in_window == in_window) continue;
        ChainFold run{i, i, 1};
        for (uint32_t next = tree.nodes[i].children[0]; link(next) && tree.nodes[next].in_window == in_window;
             next = tree.nodes[next].children[0]) {
            run.last = next;
            ++run.generations;
        }
        if (run.generations >= std::max<uint32_t>(options.min_generations, 2)) {
            plan.chain_at[i] = static_cast<uint32_t>(plan.chains.size());
            plan.chains.push_back(run);
        }
    }
    return plan;
}

}  // namespace lineage
