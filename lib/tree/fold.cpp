#include "fold.h"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace lineage {

namespace {

// Each node's parent index; kNoFold for the root.
std::vector<uint32_t> parents_of(const Tree& tree) {
    std::vector<uint32_t> parent(tree.nodes.size(), kNoFold);
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
        for (uint32_t c : tree.nodes[i].children) parent[c] = static_cast<uint32_t>(i);
    }
    return parent;
}

void append_bytes(std::string& key, std::string_view bytes) {
    // Length first: no choice of argv makes two different lists one key.
    const uint64_t n = bytes.size();
    key.append(reinterpret_cast<const char*>(&n), sizeof n);
    key += bytes;
}

// The shape of every node: equal numbers for nodes of one shape (the rule
// of RepeatFold), kNoFold for a node that is, or has below it, something
// worth seeing. Bottom up over the node array (parents come before their
// children), so each node's key holds its children's shape numbers, not
// their subtrees: linear in the tree's size.
std::vector<uint32_t> shapes_of(const Tree& tree, const std::vector<uint32_t>& parent) {
    const size_t n = tree.nodes.size();
    std::vector<uint32_t> shape(n, kNoFold);
    std::unordered_map<std::string, uint32_t> known;
    std::string key;
    for (size_t i = n; i-- > 0;) {
        const TreeNode& node = tree.nodes[i];
        if (worth_seeing(node, parent[i] == kNoFold ? nullptr : &tree.nodes[parent[i]])) continue;
        bool below_ok = true;
        for (uint32_t c : node.children) below_ok = below_ok && shape[c] != kNoFold;
        if (!below_ok) continue;
        const Process& p = *node.process;
        key.clear();
        key += node.in_window ? 'w' : 'o';
        if (node.pod) {
            append_bytes(key, node.pod->uid);
            append_bytes(key, node.pod->container_id);
        } else {
            append_bytes(key, "");
        }
        if (!p.execs.empty()) {
            key += 'x';
            const uint64_t images = p.execs.size();
            key.append(reinterpret_cast<const char*>(&images), sizeof images);
            for (const auto& img : p.execs) {
                append_bytes(key, img.binary);
                const uint64_t args = img.args.size();
                key.append(reinterpret_cast<const char*>(&args), sizeof args);
                for (const auto& a : img.args) append_bytes(key, a);
                // The same command running another file (or another
                // content) is another shape.
                append_bytes(key, img.file ? img.file->path : "");
                append_bytes(key, img.hash ? img.hash->sha256 : "");
            }
        } else {
            key += 'f';
            append_bytes(key, node.fork_of);
            append_bytes(key, p.comm);
        }
        for (uint32_t c : node.children) key.append(reinterpret_cast<const char*>(&shape[c]), sizeof shape[c]);
        auto [it, added] = known.try_emplace(key, static_cast<uint32_t>(known.size()));
        shape[i] = it->second;
    }
    return shape;
}

}  // namespace

bool worth_seeing(const TreeNode& node, const TreeNode* parent) {
    const Process& p = *node.process;
    if (node.direct_match) return true;
    // --new: a binary or destination the pod never had before is what a
    // responder looks for first.
    if (node.is_new()) return true;
    if (!p.connects.empty() || !p.listens.empty() || !p.dns.empty()) return true;
    if (p.exit && (p.exit->code != 0 || p.exit->signal != 0)) return true;
    for (const auto& img : p.execs) {
        if (img.args_truncated || img.binary_truncated) return true;
        // What the text tree flags of the file it ran (schema version 8):
        // fileless, deleted, written into the container, a privilege change.
        if (img.file) {
            const uint32_t f = img.file->flags;
            if ((f & (kFileMemfd | kFileDeleted)) || ((f & kFileUpperKnown) && (f & kFileUpper))) return true;
            if (privileges_changed(*img.file)) return true;
        }
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
    plan.repeat_at.assign(n, kNoFold);
    plan.hidden.assign(n, false);
    if (!options.fold || n == 0) return plan;

    const std::vector<uint32_t> parent = parents_of(tree);
    const std::vector<uint32_t> shape = shapes_of(tree, parent);
    const uint32_t min_repeats = std::max<uint32_t>(options.min_repeats, 2);
    std::unordered_map<uint32_t, std::vector<uint32_t>> groups;  // shape -> siblings, oldest first
    for (uint32_t i = 0; i < n; ++i) {
        const auto& children = tree.nodes[i].children;
        if (children.size() < min_repeats) continue;
        groups.clear();
        for (uint32_t c : children) {
            if (shape[c] != kNoFold) groups[shape[c]].push_back(c);
        }
        for (uint32_t c : children) {
            if (shape[c] == kNoFold) continue;
            auto it = groups.find(shape[c]);
            if (it == groups.end() || it->second.front() != c || it->second.size() < min_repeats) continue;
            plan.repeat_at[c] = static_cast<uint32_t>(plan.repeats.size());
            for (size_t k = 1; k < it->second.size(); ++k) plan.hidden[it->second[k]] = true;
            plan.repeats.push_back(RepeatFold{std::move(it->second)});
            groups.erase(it);
        }
    }
    // A link of a chain: one shown child, nothing worth seeing, not in a
    // run of siblings; never the root.
    auto link = [&](uint32_t i) {
        const TreeNode& node = tree.nodes[i];
        return parent[i] != kNoFold && node.children.size() == 1 && plan.repeat_at[i] == kNoFold && !plan.hidden[i] &&
               !worth_seeing(node, &tree.nodes[parent[i]]);
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

std::vector<uint32_t> sibling_repeats(const Tree& tree) {
    const size_t n = tree.nodes.size();
    std::vector<uint32_t> repeats(n, 0);
    if (n == 0) return repeats;
    const std::vector<uint32_t> shape = shapes_of(tree, parents_of(tree));
    std::unordered_map<uint32_t, uint32_t> younger;  // shape -> siblings of it seen so far, youngest first
    for (const auto& node : tree.nodes) {
        if (node.children.size() < 2) continue;
        younger.clear();
        for (size_t k = node.children.size(); k-- > 0;) {
            const uint32_t c = node.children[k];
            if (shape[c] == kNoFold) continue;
            repeats[c] = younger[shape[c]]++;
        }
    }
    return repeats;
}

}  // namespace lineage
