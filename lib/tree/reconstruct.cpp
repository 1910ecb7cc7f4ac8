#include "reconstruct.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "load_plan.h"
#include "pod.h"
#include "timeexpr.h"

namespace lineage {

const char* outside_reason_name(OutsideReason why) {
    switch (why) {
        case OutsideReason::outside_pod:
            return "outside the pod";
        case OutsideReason::not_in_journal:
            return "not in the journal";
    }
    return "not in the journal";
}

const char* warning_kind_name(WarningKind kind) {
    switch (kind) {
        case WarningKind::loss:
            return "loss";
        case WarningKind::unknown_parent:
            return "unknown_parent";
        case WarningKind::not_recorded:
            return "not_recorded";
        case WarningKind::pruned:
            return "pruned";
        case WarningKind::parent_cycle:
            return "parent_cycle";
        case WarningKind::deep_tree:
            return "deep_tree";
        case WarningKind::schema:
            return "schema";
        case WarningKind::imported:
            return "imported";
        case WarningKind::names:
            return "names";
    }
    return "loss";
}

namespace {

// A set of processes by address (they live in the model's map, whose
// elements never move), open addressing in one array: no heap node per
// member. A report's sets hold every shown process (100,000 for a pod of
// health checks), and std::unordered_set allocated, and freed, one node for
// each. Iteration order follows addresses, as the standard set's did:
// whatever must be in a stable order is sorted.
class ProcSet {
public:
    // {p, true} when p was not in the set.
    std::pair<const Process*, bool> insert(const Process* p) {
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        const Process*& slot = slots_[slot_of(slots_, p)];
        if (slot) return {p, false};
        slot = p;
        ++size_;
        return {p, true};
    }
    size_t count(const Process* p) const {
        if (slots_.empty()) return 0;
        return slots_[slot_of(slots_, p)] ? 1 : 0;
    }
    size_t size() const { return size_; }

    class const_iterator {
    public:
        const_iterator(const Process* const* at, const Process* const* end) : at_(at), end_(end) { skip(); }
        const Process* operator*() const { return *at_; }
        const_iterator& operator++() {
            ++at_;
            skip();
            return *this;
        }
        bool operator==(const const_iterator& o) const { return at_ == o.at_; }

    private:
        void skip() {
            while (at_ != end_ && !*at_) ++at_;
        }
        const Process* const* at_;
        const Process* const* end_;
    };
    const_iterator begin() const { return {slots_.data(), slots_.data() + slots_.size()}; }
    const_iterator end() const { return {slots_.data() + slots_.size(), slots_.data() + slots_.size()}; }

private:
    // The slot that holds p, or the empty one where it would go. The
    // table is never full (grow keeps it at most three quarters).
    static size_t slot_of(const std::vector<const Process*>& slots, const Process* p) {
        // Addresses of heap nodes share their low bits: mix them all in.
        uint64_t h = reinterpret_cast<uintptr_t>(p);
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        const size_t mask = slots.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            if (!slots[i] || slots[i] == p) return i;
        }
    }
    void grow() {
        std::vector<const Process*> bigger(slots_.empty() ? 16 : slots_.size() * 2, nullptr);
        for (const Process* p : slots_) {
            if (p) bigger[slot_of(bigger, p)] = p;
        }
        slots_ = std::move(bigger);
    }

    std::vector<const Process*> slots_;  // a power of two of them; nullptr: empty
    size_t size_ = 0;
};

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool pod_selected(const Query& q) {
    return q.pod || q.namespace_ || q.container || q.image_glob;
}

// The container of `p` in pod `uid`: the first of its rows in that pod that
// names one, else "".
const std::string& container_in(const Process& p, const std::string& uid) {
    static const std::string none;
    for (const auto& e : p.pod_entries) {
        if (e.pod.uid == uid && !e.pod.container_id.empty()) return e.pod.container_id;
    }
    return none;
}

// Pod `uid` with container `container_id`, named by the model's one rule.
PodAttribution attribution(const Model& model, const std::string& uid, const std::string& container_id) {
    const PodNameRecord name = model.pod_name(uid);
    const ContainerInfo container = container_id.empty() ? ContainerInfo{} : model.container(container_id);
    return PodAttribution{name.name,      name.namespace_, uid,           container_id, name.source,
                          container.name, container.image, container.type};
}

// The pod a process is shown in: the attribution, shared, and how this
// process came to be in it, its own. No pod: pod is null.
struct ShownPod {
    std::shared_ptr<const PodAttribution> pod;
    PodEntryKind entered = PodEntryKind::exec;
    int64_t entered_ns = 0;
};

std::string base_name(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// An image's name: its binary's base name, unless the binary was exec'd
// through a descriptor (runc re-execs itself from /proc/self/exe and a
// memfd, fexecve goes through /proc/self/fd or /dev/fd), whose name says
// nothing; then argv[0]'s.
std::string image_name(const ExecImage& img) {
    const std::string& b = img.binary;
    const bool in_proc = b.rfind("/proc/", 0) == 0;
    const bool through_fd = b.rfind("/dev/fd/", 0) == 0 || b.rfind("/memfd:", 0) == 0 ||
                            (in_proc && b.find("/fd/") != std::string::npos) ||
                            (in_proc && b.size() > 4 && b.compare(b.size() - 4, 4, "/exe") == 0);
    if (through_fd && !img.args.front().empty()) return base_name(img.args.front());
    return base_name(b);
}

bool pod_matches(const Query& q, const PodAttribution& pod) {
    if (q.pod) {
        if (!pod_selector_matches(*q.pod, pod.uid, pod.name, pod.namespace_)) return false;
    }
    if (q.namespace_ && *q.namespace_ != pod.namespace_) return false;
    if (q.container &&
        (q.container->empty() || (!starts_with(pod.container_id, *q.container) && pod.container_name != *q.container)))
        return false;
    if (q.image_glob && !image_matches(*q.image_glob, pod.image)) return false;
    return true;
}

// "comm (PID n)" for a warning: raw bytes, the renderers escape them.
std::string describe(const Process& p) {
    return fmt::format("{} (PID {})", p.comm.empty() ? "?" : p.comm, p.tgid);
}

JournalSummary summarize(const Model& model) {
    JournalSummary out;
    std::set<std::string> paths, nodes, boots;
    for (const auto& r : model.runs()) {
        if (paths.insert(r.journal).second) out.paths.push_back(r.journal);
        if (nodes.insert(r.node).second) out.nodes.push_back(r.node);
        if (boots.insert(r.boot_id).second) out.boot_ids.push_back(r.boot_id);
        if (r.imported) out.imported.push_back(ImportedRun{r.journal, r.run_id, *r.imported});
    }
    return out;
}

// One build_report: the query's selection, its trees, then the warnings
// about what the journals may be missing, in that order.
//
// The shape of the trees is the attacker's choice (a fork chain 100,000
// generations deep costs a second), so every walk here is a loop with its
// own stack or queue, never a recursion, and costs time linear in the
// processes it visits. A damaged journal can hold a parent chain that loops;
// every walk up stops at a process it has already seen.
class ReportBuilder {
public:
    ReportBuilder(const Model& model, const Query& q)
        : model_(model),
          q_(q),
          since_(q.since_wall_ns.value_or(INT64_MIN)),
          until_(q.until_wall_ns.value_or(INT64_MAX)) {}

    Report build() {
        report_.journal = summarize(model_);
        report_.since_wall_ns = q_.since_wall_ns;
        report_.until_wall_ns = q_.until_wall_ns;
        warn_imported();
        select();
        add_ancestors();
        build_trees();
        warn_names();
        warn_pruned();
        warn_not_recorded();
        warn_losses();
        return std::move(report_);
    }

private:
    bool overlaps(const Process& p) const {
        return process_start_wall(model_, p) <= until_ && process_end_wall(model_, p) >= since_;
    }

    const Process* parent_of(const Process& p) const { return p.parent ? model_.find(*p.parent) : nullptr; }

    // Start, then key: the order of trees and of cycle members.
    bool earlier(const Process* a, const Process* b) const {
        int64_t sa = process_start_wall(model_, *a), sb = process_start_wall(model_, *b);
        if (sa != sb) return sa < sb;
        return a->key < b->key;
    }

    // The attribution of pod `uid` with container `container_id`: one per
    // pair (its name follows from the UID), shared by every process shown
    // with it. How each process came to be in the pod is not in it.
    std::shared_ptr<const PodAttribution> shared_pod(const std::string& uid, const std::string& container_id) {
        std::string key = uid + '\0' + container_id;
        auto it = shared_pods_.find(key);
        if (it == shared_pods_.end()) {
            auto pod = std::make_shared<const PodAttribution>(attribution(model_, uid, container_id));
            it = shared_pods_.emplace(std::move(key), std::move(pod)).first;
        }
        return it->second;
    }

    // `p` shown in pod `uid` (its first pod when empty): the pod, shared, and
    // the row that put `p` in it, its own. No pod when it was in none.
    ShownPod shown_in(const Process& p, std::string_view uid) {
        const PodEntry* entry = first_pod_entry(p, uid);
        if (!entry) return {};
        return ShownPod{shared_pod(entry->pod.uid, container_in(p, entry->pod.uid)), entry->kind, entry->time_ns};
    }

    // The pod a process is shown in: the one the query selected it by, the
    // pod of the process whose ancestor it is shown as, else its first.
    const ShownPod& pod_for(const Process& p) {
        auto it = pods_.find(&p);
        if (it == pods_.end()) it = pods_.emplace(&p, shown_in(p, {})).first;
        return it->second;
    }

    // The pod, among those `p` was in, that the query selects (the first of
    // its rows whose pod and container match); nullopt when none does.
    std::optional<ShownPod> selected_pod(const Process& p) {
        for (const auto& entry : p.pod_entries) {
            if (entry.pod.uid.empty()) continue;
            // Its container: the one this row names, when the query asks for one.
            auto pod = shared_pod(entry.pod.uid, entry.pod.container_id.empty() ? container_in(p, entry.pod.uid)
                                                                                : entry.pod.container_id.str());
            if (!pod_matches(q_, *pod)) continue;
            const PodEntry* first = first_pod_entry(p, entry.pod.uid.str());
            return ShownPod{std::move(pod), first->kind, first->time_ns};
        }
        return std::nullopt;
    }

    // The image a process that never exec'd runs (its forker's at the fork,
    // up through forkers that never exec'd either, as a runtime's init
    // stages do), or nullptr when that is not known. Remembered for every
    // process a walk passes: in a chain of such processes each runs what its
    // forker runs, so a chain of N costs N steps in all, not N squared (an
    // attacker picks N). A walk that comes back to itself (a damaged
    // journal's loop of parents) finds nothing.
    const ExecImage* forked_image_of(const Process& p) {
        if (!p.execs.empty() || p.parent_source != ParentSource::fork) return nullptr;
        std::vector<const Process*> path;
        const ExecImage* found = nullptr;
        for (const Process* cur = &p;;) {
            auto [it, fresh] = forked_.emplace(cur, nullptr);
            if (!fresh) {
                found = it->second;  // known already, or a loop back into this walk
                break;
            }
            path.push_back(cur);
            const Process* forker = parent_of(*cur);
            if (!forker) break;
            const ExecImage* image = nullptr;
            for (const auto& img : forker->execs) {
                if (img.time_ns <= cur->start_ns || img.from_snapshot) image = &img;
            }
            if (image) {
                found = image->binary.empty() ? nullptr : image;
                break;
            }
            if (!forker->execs.empty() || forker->parent_source != ParentSource::fork) break;
            cur = forker;
        }
        for (const Process* on : path) forked_[on] = found;
        return found;
    }

    // TreeNode::fork_of: the forked image's name, else the forker's comm.
    std::string forked_image(const Process& p) {
        if (!p.execs.empty() || p.parent_source != ParentSource::fork) return {};
        if (const ExecImage* image = forked_image_of(p)) return image_name(*image);
        return p.parent_comm.empty() ? std::string("?") : p.parent_comm;
    }

    // Every process with this PID and everything below them, by the model's
    // children lists: one pass, however deep.
    ProcSet descendants_of_pid(uint32_t pid) const {
        ProcSet out;
        std::vector<const Process*> todo;
        for (const auto& [key, p] : model_.processes()) {
            if (p.tgid == pid && out.insert(&p).second) todo.push_back(&p);
        }
        while (!todo.empty()) {
            const Process* p = todo.back();
            todo.pop_back();
            for (const auto& child_key : p->children) {
                const Process* c = model_.find(child_key);
                if (c && out.insert(c).second) todo.push_back(c);
            }
        }
        return out;
    }

    // 1. The processes the query selects.
    void select() {
        std::optional<ProcSet> below;
        if (q_.descendants_of) below = descendants_of_pid(*q_.descendants_of);
        for (const auto& [key, p] : model_.processes()) {
            if (!overlaps(p)) continue;
            if (q_.pid && p.tgid != *q_.pid) continue;
            if (q_.ancestors_of && p.tgid != *q_.ancestors_of) continue;
            if (q_.binary_glob) {
                // The path given, or the file it ran (/proc/self/exe ran
                // busybox).
                bool any = std::any_of(p.execs.begin(), p.execs.end(), [&](const ExecImage& e) {
                    return binary_matches(*q_.binary_glob, e.binary) ||
                           (e.file && binary_matches(*q_.binary_glob, e.file->path));
                });
                // A process that never exec'd runs its forker's image.
                const ExecImage* forked = any ? nullptr : forked_image_of(p);
                if (forked && (binary_matches(*q_.binary_glob, forked->binary) ||
                               (forked->file && binary_matches(*q_.binary_glob, forked->file->path))))
                    any = true;
                if (!any) continue;
            }
            if (q_.sha256) {
                auto ran = [&](const ExecImage& e) { return e.hash && e.hash->sha256 == *q_.sha256; };
                bool any = std::any_of(p.execs.begin(), p.execs.end(), ran);
                // A process that never exec'd runs its forker's file.
                const ExecImage* forked = any ? nullptr : forked_image_of(p);
                if (!any && !(forked && ran(*forked))) continue;
            }
            if (q_.dns_glob && std::none_of(p.dns.begin(), p.dns.end(), [&](const DnsLookup& l) {
                    return !l.served && dns_name_matches(*q_.dns_glob, l.name);
                }))
                continue;
            if (below && !below->count(&p)) continue;
            if (pod_selected(q_)) {
                auto pod = selected_pod(p);
                if (!pod) continue;
                pods_[&p] = std::move(*pod);
            }
            matched_.insert(&p);
        }
        report_.matched = matched_.size();
    }

    // Matched by a selector that names the process itself.
    bool direct_match(const Process& p) const {
        if (!matched_.count(&p)) return false;
        return q_.pid || q_.binary_glob || q_.sha256 || q_.dns_glob || q_.ancestors_of ||
               (q_.descendants_of && p.tgid == *q_.descendants_of);
    }

    // 2. Their ancestors: up to the topmost one that was ever in the same
    // pod's cgroups when a pod is selected (a runtime's init stages and the
    // container's first process are one tree), or to the top of what is
    // known otherwise. Each walk stops at the first process already shown,
    // so all walks together visit each process once, and a loop ends where
    // it closes.
    void add_ancestors() {
        const bool stop_at_pod = pod_selected(q_) && !q_.ancestors && !q_.ancestors_of;
        shown_ = matched_;
        // In start order, not the set's: an ancestor of processes shown in
        // different pods is shown in the pod of the first walk to reach it,
        // and the set's order follows addresses, which differ from one load
        // of the same rows to the next.
        // Each start converted to wall-clock time once, not per comparison.
        std::vector<std::pair<int64_t, const Process*>> by_start;
        by_start.reserve(matched_.size());
        for (const Process* p : matched_) by_start.emplace_back(process_start_wall(model_, *p), p);
        std::sort(by_start.begin(), by_start.end(), [](const auto& a, const auto& b) {
            if (a.first != b.first) return a.first < b.first;
            return a.second->key < b.second->key;
        });
        std::vector<const Process*> starts;
        starts.reserve(by_start.size());
        for (const auto& [start, p] : by_start) starts.push_back(p);
        for (const Process* start : starts) {
            const Process* cur = start;
            while (const Process* up = parent_of(*cur)) {
                if (stop_at_pod) {
                    const auto& mine = pod_for(*cur);
                    if (!mine.pod || !first_pod_entry(*up, mine.pod->uid)) {
                        outside_[cur] = OutsideParent{up->tgid, up->comm, up->key, OutsideReason::outside_pod};
                        break;
                    }
                    // Shown in the same pod as the process below it.
                    if (!pods_.count(up)) pods_.emplace(up, shown_in(*up, mine.pod->uid));
                }
                if (!shown_.insert(up).second) break;  // the rest of the chain is already in
                cur = up;
            }
        }
    }

    TreeNode make_node(const Process& p, uint32_t depth) {
        TreeNode node;
        node.process = &p;
        node.matched = matched_.count(&p) > 0;
        node.direct_match = direct_match(p);
        node.in_window = overlaps(p);
        node.depth = depth;
        const ShownPod& pod = pod_for(p);
        node.pod = pod.pod;
        if (node.pod) {
            node.entered = pod.entered;
            node.entered_ns = pod.entered_ns;
        }
        node.container_init = node.pod && p.nspid == 1 && p.tgid != 1;
        node.fork_of = forked_image(p);
        return node;
    }

    // The tree below `root`: its shown descendants not in another tree yet,
    // breadth first, each parent before its children.
    Tree build_tree(const Process& root) {
        // Who is in the tree, first, as small slots; then each node (large:
        // strings, vectors, a shared pointer) is made once, in a vector of
        // its exact size. Grown node by node, the vector moved every node
        // at each doubling: 7 % of the time of a 100,000-process tree.
        struct Slot {
            const Process* process;
            uint32_t parent;  // index into slots; the root's is its own
            uint32_t depth;
        };
        std::vector<Slot> slots = {{&root, 0, 0}};
        placed_.insert(&root);
        for (size_t i = 0; i < slots.size(); ++i) {
            const Process& p = *slots[i].process;
            const uint32_t depth = slots[i].depth + 1;
            for (const auto& child_key : p.children) {
                const Process* c = model_.find(child_key);
                if (!c || !shown_.count(c) || !placed_.insert(c).second) continue;
                slots.push_back({c, static_cast<uint32_t>(i), depth});
            }
        }
        Tree tree;
        tree.nodes.reserve(slots.size());
        for (size_t i = 0; i < slots.size(); ++i) {
            tree.nodes.push_back(make_node(*slots[i].process, slots[i].depth));
            if (i > 0) tree.nodes[slots[i].parent].children.push_back(static_cast<uint32_t>(i));
            tree.depth = std::max(tree.depth, slots[i].depth);
        }
        return tree;
    }

    // A shown process that no tree reached hangs below a parent chain that
    // loops (A's parent is B, B's parent is A), which only a damaged or
    // edited journal holds. The loop's earliest member becomes a root.
    const Process* loop_root(const Process& start) const {
        std::unordered_map<const Process*, size_t> seen;
        std::vector<const Process*> path;
        const Process* cur = &start;
        while (cur && shown_.count(cur) && !seen.count(cur)) {
            seen.emplace(cur, path.size());
            path.push_back(cur);
            cur = parent_of(*cur);
        }
        // Not reached by any tree, so the walk cannot end at a root.
        if (!cur || !seen.count(cur)) return &start;
        const Process* best = cur;
        for (size_t i = seen[cur]; i < path.size(); ++i) {
            if (earlier(path[i], best)) best = path[i];
        }
        return best;
    }

    // 3. Trees: every shown process whose parent is not shown is a root;
    // then the loops of a damaged journal, each cut at one member, so that
    // no shown process is left out.
    void build_trees() {
        std::vector<const Process*> roots;
        for (const Process* p : shown_) {
            const Process* up = parent_of(*p);
            if (!up || !shown_.count(up)) roots.push_back(p);
        }
        struct Built {
            Tree tree;
            bool loop = false;
        };
        std::vector<Built> built;
        for (const Process* root : roots) built.push_back({build_tree(*root), false});
        if (placed_.size() < shown_.size()) {
            std::vector<const Process*> left;
            for (const Process* p : shown_) {
                if (!placed_.count(p)) left.push_back(p);
            }
            std::sort(left.begin(), left.end(), [&](const Process* a, const Process* b) { return earlier(a, b); });
            for (const Process* p : left) {
                if (placed_.count(p)) continue;
                built.push_back({build_tree(*loop_root(*p)), true});
            }
        }
        std::sort(built.begin(), built.end(), [&](const Built& a, const Built& b) {
            return earlier(a.tree.root().process, b.tree.root().process);
        });
        for (auto& [tree, loop] : built) {
            const Process& root = *tree.root().process;
            auto out = outside_.find(&root);
            if (out != outside_.end()) {
                tree.outside_parent = out->second;
            } else if (!loop && root.parent && !model_.find(*root.parent)) {
                // Known only by the fork or exec row that named it.
                tree.outside_parent =
                    OutsideParent{root.ppid, root.parent_comm, root.parent, OutsideReason::not_in_journal};
            }
            if (loop) {
                warn(WarningKind::parent_cycle,
                     fmt::format("the parent chain of {} loops back to it, which a recorded journal cannot hold (a "
                                 "damaged or edited journal): its tree starts at it and the loop is cut there",
                                 describe(root)));
            } else {
                warn_unknown_parent(root, tree);
            }
            warn_deep(root, tree);
            report_.trees.push_back(std::move(tree));
        }
    }

    // A tree deeper than the text tree's indentation: nothing is cut, but
    // the reader should know that the drawing changes, and a chain this deep
    // is itself worth a look.
    void warn_deep(const Process& root, const Tree& tree) {
        if (tree.depth <= kTextIndentLevels) return;
        std::string message = fmt::format(
            "the tree of {} reaches depth {}: the text tree indents at most {} levels and then starts again from "
            "the left",
            describe(root), group_thousands(tree.depth), kTextIndentLevels);
        if (tree.depth >= kJsonTreeDepth) {
            message += fmt::format(
                ", and JSON nests at most {} generations in a tree entry, then continues in tree "
                "entries of their own (continues_from)",
                kJsonTreeDepth);
        }
        warn(WarningKind::deep_tree, std::move(message));
    }

    // The pods and containers shown whose sources disagree, or whose file
    // could not be read: the name shown is the one that takes precedence
    // (effective_pod_name, container_info), and the analyst hears of the
    // others.
    void warn_names() {
        std::set<std::string> uids, containers;
        for (const auto& [key, pod] : shared_pods_) {
            uids.insert(pod->uid);
            if (!pod->container_id.empty()) containers.insert(pod->container_id);
        }
        for (const auto& uid : uids) {
            const auto notes = model_.pod_name_notes(uid);
            if (notes.empty()) continue;
            const PodNameRecord shown = model_.pod_name(uid);
            warn(WarningKind::names,
                 fmt::format("pod {} is shown as {} ({}); {}", uid, pod_display_name(shown.name, shown.namespace_),
                             pod_name_source_label(shown.source), fmt::join(notes, "; ")));
        }
        for (const auto& id : containers) {
            const ContainerInfo info = model_.container(id);
            if (info.notes.empty()) continue;
            warn(WarningKind::names,
                 fmt::format("container {}{}: {}", id.substr(0, 12), info.name.empty() ? "" : " (" + info.name + ")",
                             fmt::join(info.notes, "; ")));
        }
    }

    void warn(WarningKind kind, std::string message, std::optional<int64_t> from = std::nullopt,
              std::optional<int64_t> to = std::nullopt) {
        report_.warnings.push_back(Warning{kind, std::move(message), from, to});
    }

    void warn_unknown_parent(const Process& root, const Tree& tree) {
        bool top = root.tgid == 1 || (root.parent_source == ParentSource::none && root.ppid == 0 && root.in_snapshot);
        if (!root.parent && !top && root.in_snapshot && root.ppid != 0) {
            warn(WarningKind::unknown_parent,
                 fmt::format("parent of {} is unknown: its parent PID {} was not in the /proc snapshot", describe(root),
                             root.ppid));
        } else if (!root.parent && !top) {
            warn(WarningKind::unknown_parent,
                 fmt::format("parent of {} is unknown: it started before the journal and is not in the /proc snapshot",
                             describe(root)));
        } else if (tree.outside_parent && tree.outside_parent->why == OutsideReason::not_in_journal) {
            warn(WarningKind::unknown_parent,
                 fmt::format("parent of {} is {} (PID {}), which is not in the journal", describe(root),
                             root.parent_comm.empty() ? "?" : root.parent_comm, root.ppid));
        }
    }

    // What the trees are built from: a run that `lineage import` wrote is a
    // copy of another tool's record, with that tool's limits (its note).
    void warn_imported() {
        for (const auto& run : report_.journal.imported) {
            const ImportProvenance& p = run.provenance;
            std::string message = fmt::format(
                "run {} of {} was imported from {} ({}, sha256 {}) by {}: a copy of another record, not lineage's "
                "own kernel record",
                run.run_id, run.journal, p.file, p.format, p.sha256, p.importer);
            if (!p.note.empty()) message += "; " + p.note;
            warn(WarningKind::imported, std::move(message));
        }
    }

    // 4. Time the journals did not record: pruned by retention, before the
    // first run, between two runs of one journal.
    void warn_pruned() {
        for (const auto& prune : model_.prunes()) {
            if (since_ > prune.through_wall_ns) continue;
            warn(WarningKind::pruned,
                 fmt::format("events up to {} were deleted by retention ({}, {} rows) in {}; the window starts before "
                             "that",
                             format_rfc3339_ns(prune.through_wall_ns), prune.reason, prune.rows, prune.journal),
                 std::nullopt, prune.through_wall_ns);
        }
    }

    void warn_not_recorded() {
        std::map<std::string, std::vector<const RunRecord*>> runs_by_journal;
        for (const auto& r : model_.runs()) runs_by_journal[r.journal].push_back(&r);
        for (auto& [journal, runs] : runs_by_journal) {
            std::sort(runs.begin(), runs.end(),
                      [](const RunRecord* a, const RunRecord* b) { return a->run_id < b->run_id; });
            const int64_t first_start = model_.to_wall(runs.front()->boot_id, runs.front()->started_ns);
            if (q_.since_wall_ns && *q_.since_wall_ns < first_start) {
                warn(WarningKind::not_recorded,
                     fmt::format("nothing was recorded before {}, when {} starts; the window starts before that",
                                 format_rfc3339_ns(first_start), journal),
                     std::nullopt, first_start);
            }
            for (size_t i = 1; i < runs.size(); ++i) warn_gap(journal, *runs[i - 1], *runs[i]);
        }
    }

    // The time between run a and the next run b of one journal.
    void warn_gap(const std::string& journal, const RunRecord& a, const RunRecord& b) {
        const int64_t from = model_.to_wall(a.boot_id, run_end_ns(a));
        const int64_t to = model_.to_wall(b.boot_id, b.started_ns);
        if (to <= from || to < since_ || from > until_) return;
        // A run whose batches retention deleted looks as if it ended at its
        // start; the pruned warning covers that time.
        for (const auto& prune : model_.prunes()) {
            if (prune.journal == journal && from <= prune.through_wall_ns) return;
        }
        warn(WarningKind::not_recorded,
             fmt::format("nothing was recorded between {} and {}, from the end of run {} ({}) to the start of run "
                         "{}{}, in {}",
                         format_rfc3339_ns(from), format_rfc3339_ns(to), a.run_id,
                         a.stopped_ns ? "stopped" : "not stopped cleanly", b.run_id,
                         a.boot_id != b.boot_id ? " after a reboot" : "", journal),
             from, to);
    }

    // 5. Losses that overlap the window: events may be missing there.
    void warn_losses() {
        for (const auto& loss : model_.losses()) {
            if (loss.count <= 0) continue;
            int64_t from = model_.to_wall(loss.boot_id, loss.from_ns);
            int64_t to = model_.to_wall(loss.boot_id, loss.to_ns);
            if (to < since_ || from > until_) continue;
            warn(WarningKind::loss,
                 fmt::format("events may be missing between {} and {}: {} events lost ({}) in {}",
                             format_rfc3339_ns(from), format_rfc3339_ns(to), loss.count, loss.reason, loss.journal),
                 from, to);
        }
    }

    const Model& model_;
    const Query& q_;
    const int64_t since_, until_;
    Report report_;
    ProcSet matched_;                                            // selected by the query
    ProcSet shown_;                                              // matched, and the ancestors shown with them
    ProcSet placed_;                                             // shown, and in a tree already
    std::unordered_map<const Process*, OutsideParent> outside_;  // shown process -> its parent not shown
    std::unordered_map<const Process*, ShownPod> pods_;          // shown process -> the pod it is shown in
    // uid '\0' container id -> its one attribution (shared_pod)
    std::unordered_map<std::string, std::shared_ptr<const PodAttribution>> shared_pods_;
    std::unordered_map<const Process*, const ExecImage*> forked_;  // forked_image_of, remembered
};

}  // namespace

std::string group_thousands(uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::optional<PodMembership> pod_of(const Model& model, const Process& p, std::string_view uid) {
    const PodEntry* entry = first_pod_entry(p, uid);
    if (!entry) return std::nullopt;
    return PodMembership{attribution(model, entry->pod.uid, container_in(p, entry->pod.uid)), entry->kind,
                         entry->time_ns};
}

int64_t process_start_wall(const Model& model, const Process& p) {
    return model.to_wall(p.key.boot_id, p.start_ns);
}

int64_t process_end_wall(const Model& model, const Process& p) {
    if (p.exit) return model.to_wall(p.key.boot_id, p.exit->time_ns);
    return model.to_wall(p.key.boot_id, std::max(model.journal_end_ns(p.key.boot_id), p.start_ns));
}

LoadPlan load_plan_for(const Query& query) {
    // Every selector loads only what can match, through the journal's
    // indexes, and so does a window alone; a query with neither reads
    // everything, as it asks.
    LoadPlan plan;
    plan.since_wall_ns = query.since_wall_ns;
    plan.until_wall_ns = query.until_wall_ns;
    if (!(query.pid || query.ancestors_of || query.pod || query.binary_glob || query.sha256 || query.dns_glob ||
          query.namespace_ || query.container || query.image_glob || query.descendants_of || query.since_wall_ns ||
          query.until_wall_ns))
        return plan;
    plan.everything = false;
    // One selector is enough to bound the load (build_report applies all of
    // them), the most selective first: a PID (--pid and --ancestors-of both
    // select by PID; loading one of them is a superset of what can match
    // both), a pod, a binary, a namespace or container, the processes below
    // a PID, and the window alone last.
    if ((plan.pid = query.pid ? query.pid : query.ancestors_of)) return plan;
    if ((plan.pod = query.pod)) return plan;
    // A hash names few files, each run by few processes: before a glob.
    if ((plan.sha256 = query.sha256)) return plan;
    // A name, looked up by the few processes that talk to it.
    if ((plan.dns_glob = query.dns_glob)) return plan;
    if ((plan.binary_glob = query.binary_glob)) return plan;
    plan.namespace_ = query.namespace_;
    plan.container = query.container;
    plan.image = query.image_glob;
    if (plan.namespace_ || plan.container || plan.image) return plan;
    plan.descendants_of = query.descendants_of;
    return plan;
}

Report build_report(const Model& model, const Query& query) {
    return ReportBuilder(model, query).build();
}

}  // namespace lineage
