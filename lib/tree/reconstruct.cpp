#include "reconstruct.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

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
    }
    return "loss";
}

namespace {

// Bounds every walk up a parent chain and the depth of every tree (so the
// renderers' recursion too): a damaged journal could hold a cycle.
constexpr int kMaxDepth = 4096;

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool pod_selected(const Query& q) {
    return q.pod || q.namespace_ || q.container;
}

bool pod_matches(const Query& q, const PodAttribution& pod) {
    if (q.pod) {
        if (!pod_selector_matches(*q.pod, pod.uid, pod.name, pod.namespace_)) return false;
    }
    if (q.namespace_ && *q.namespace_ != pod.namespace_) return false;
    if (q.container && (q.container->empty() || !starts_with(pod.container_id, *q.container))) return false;
    return true;
}

// The pod, among those a process was in, that the query selects: nullopt
// when none is. Without a pod selector, the first it was in (or none).
std::optional<PodAttribution> selected_pod(const Model& model, const Query& q, const Process& p) {
    if (!pod_selected(q)) return pod_of(model, p);
    for (const auto& entry : p.pod_entries) {
        if (entry.pod.uid.empty()) continue;
        auto pod = pod_of(model, p, entry.pod.uid);
        if (!pod) continue;
        // Its container: the one this entry names, when the query asks for one.
        if (!entry.pod.container_id.empty()) pod->container_id = entry.pod.container_id;
        if (pod_matches(q, *pod)) return pod;
    }
    return std::nullopt;
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
    }
    return out;
}

// One build_report: the query's selection, its trees, then the warnings
// about what the journals may be missing, in that order.
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
        select();
        add_ancestors();
        build_trees();
        warn_pruned();
        warn_not_recorded();
        warn_losses();
        return std::move(report_);
    }

private:
    using KeySet = std::unordered_set<ProcessKey, ProcessKeyHash>;

    bool overlaps(const Process& p) const {
        return process_start_wall(model_, p) <= until_ && process_end_wall(model_, p) >= since_;
    }

    const Process* parent_of(const Process& p) const { return p.parent ? model_.find(*p.parent) : nullptr; }

    bool has_ancestor_pid(const Process& p, uint32_t pid) const {
        const Process* cur = &p;
        for (int depth = 0; cur && depth < kMaxDepth; ++depth) {
            if (cur->tgid == pid) return true;
            cur = parent_of(*cur);
        }
        return false;
    }

    // The pod a process is shown in: the one the query selected it by, the
    // pod of the process whose ancestor it is shown as, else its first.
    const std::optional<PodAttribution>& pod_for(const Process& p) {
        auto it = pods_.find(p.key);
        if (it == pods_.end()) it = pods_.emplace(p.key, pod_of(model_, p)).first;
        return it->second;
    }

    // 1. The processes the query selects.
    void select() {
        for (const auto& [key, p] : model_.processes()) {
            if (!overlaps(p)) continue;
            if (q_.pid && p.tgid != *q_.pid) continue;
            if (q_.ancestors_of && p.tgid != *q_.ancestors_of) continue;
            if (q_.binary_glob) {
                bool any = std::any_of(p.execs.begin(), p.execs.end(),
                                       [&](const ExecImage& e) { return binary_matches(*q_.binary_glob, e.binary); });
                // A process that never exec'd runs its forker's image.
                const ExecImage* forked = any ? nullptr : forked_image_of(model_, p);
                if (forked && binary_matches(*q_.binary_glob, forked->binary)) any = true;
                if (!any) continue;
            }
            if (q_.descendants_of && !has_ancestor_pid(p, *q_.descendants_of)) continue;
            if (pod_selected(q_)) {
                auto pod = selected_pod(model_, q_, p);
                if (!pod) continue;
                pods_[key] = std::move(pod);
            }
            matched_.insert(key);
        }
        report_.matched = matched_.size();
    }

    // 2. Their ancestors: up to the topmost one that was ever in the same
    // pod's cgroups when a pod is selected (a runtime's init stages and the
    // container's first process are one tree), or to the top of what is
    // known otherwise.
    void add_ancestors() {
        const bool stop_at_pod = pod_selected(q_) && !q_.ancestors && !q_.ancestors_of;
        shown_ = matched_;
        for (const auto& key : matched_) {
            const Process* cur = model_.find(key);
            for (int depth = 0; cur && depth < kMaxDepth; ++depth) {
                const Process* up = parent_of(*cur);
                if (!up) break;
                if (stop_at_pod) {
                    const auto& mine = pod_for(*cur);
                    if (!mine || !first_pod_entry(*up, mine->uid)) {
                        outside_[cur->key] = OutsideParent{up->tgid, up->comm, up->key, OutsideReason::outside_pod};
                        break;
                    }
                    // Shown in the same pod as the process below it.
                    if (!pods_.count(up->key)) pods_[up->key] = pod_of(model_, *up, mine->uid);
                }
                if (!shown_.insert(up->key).second) break;  // the rest of the chain is already in
                cur = up;
            }
        }
    }

    TreeNode build_node(const Process& p, int depth) {
        placed_.insert(p.key);
        TreeNode node;
        node.process = &p;
        node.matched = matched_.count(p.key) > 0;
        node.in_window = overlaps(p);
        node.pod = pod_for(p);
        node.container_init = node.pod && p.nspid == 1 && p.tgid != 1;
        node.fork_of = forked_image(model_, p);
        if (depth < kMaxDepth) {
            for (const auto& child_key : p.children) {
                if (!shown_.count(child_key) || placed_.count(child_key)) continue;
                if (const Process* c = model_.find(child_key)) node.children.push_back(build_node(*c, depth + 1));
            }
        }
        return node;
    }

    // 3. Trees: every shown process whose parent is not shown is a root.
    void build_trees() {
        std::vector<const Process*> roots;
        for (const auto& key : shown_) {
            const Process* p = model_.find(key);
            const Process* up = parent_of(*p);
            if (!up || !shown_.count(up->key)) roots.push_back(p);
        }
        std::sort(roots.begin(), roots.end(), [&](const Process* a, const Process* b) {
            int64_t sa = process_start_wall(model_, *a), sb = process_start_wall(model_, *b);
            if (sa != sb) return sa < sb;
            return a->key < b->key;
        });
        for (const Process* root : roots) {
            Tree tree;
            tree.root = build_node(*root, 0);
            auto out = outside_.find(root->key);
            if (out != outside_.end()) {
                tree.outside_parent = out->second;
            } else if (root->parent && !model_.find(*root->parent)) {
                // Known only by the fork or exec row that named it.
                tree.outside_parent =
                    OutsideParent{root->ppid, root->parent_comm, root->parent, OutsideReason::not_in_journal};
            }
            warn_unknown_parent(*root, tree);
            report_.trees.push_back(std::move(tree));
        }
        // A damaged journal can make parents a cycle, which has no root:
        // each cycle is shown from its oldest process, with a warning.
        std::vector<const Process*> left;
        for (const auto& key : shown_) {
            if (!placed_.count(key)) left.push_back(model_.find(key));
        }
        std::sort(left.begin(), left.end(), [&](const Process* a, const Process* b) {
            if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns;
            return a->key < b->key;
        });
        for (const Process* p : left) {
            if (placed_.count(p->key)) continue;
            Tree tree;
            tree.root = build_node(*p, 0);
            warn(WarningKind::unknown_parent,
                 fmt::format("parent of {} is in a cycle of parents (the journal is damaged): shown as a root",
                             describe(*p)));
            report_.trees.push_back(std::move(tree));
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
    KeySet matched_;  // selected by the query
    KeySet shown_;    // matched, and the ancestors shown with them
    KeySet placed_;   // in a tree already
    std::unordered_map<ProcessKey, OutsideParent, ProcessKeyHash> outside_;  // shown process -> its parent not shown
    std::unordered_map<ProcessKey, std::optional<PodAttribution>, ProcessKeyHash> pods_;
};

}  // namespace

bool binary_matches(const std::string& glob, const std::string& binary) {
    // FNM_PATHNAME: '*' stops at '/', as in a shell.
    if (glob.find('/') != std::string::npos) return fnmatch(glob.c_str(), binary.c_str(), FNM_PATHNAME) == 0;
    auto slash = binary.rfind('/');
    std::string base = slash == std::string::npos ? binary : binary.substr(slash + 1);
    return fnmatch(glob.c_str(), base.c_str(), 0) == 0;
}

std::optional<PodAttribution> pod_of(const Model& model, const Process& p, std::string_view uid) {
    const PodEntry* entry = first_pod_entry(p, uid);
    if (!entry) return std::nullopt;
    PodAttribution pod;
    pod.uid = entry->pod.uid;
    // The container: the first entry in this pod that names one.
    for (const auto& e : p.pod_entries) {
        if (e.pod.uid == pod.uid && !e.pod.container_id.empty()) {
            pod.container_id = e.pod.container_id;
            break;
        }
    }
    const PodNameRecord name = model.pod_name(pod.uid);
    pod.name = name.name;
    pod.namespace_ = name.namespace_;
    pod.entered = entry->kind;
    pod.entered_ns = entry->time_ns;
    return pod;
}

namespace {

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
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
    if (through_fd && !img.args.empty() && !img.args[0].empty()) return base_name(img.args[0]);
    return base_name(b);
}

}  // namespace

const ExecImage* forked_image_of(const Model& model, const Process& p) {
    if (!p.execs.empty() || p.parent_source != ParentSource::fork) return nullptr;
    // Up through forkers that never exec'd either (a runtime's init stages).
    const Process* cur = &p;
    for (int depth = 0; depth < kMaxDepth && cur->parent_source == ParentSource::fork; ++depth) {
        const Process* forker = cur->parent ? model.find(*cur->parent) : nullptr;
        if (!forker) return nullptr;
        const ExecImage* image = nullptr;
        for (const auto& img : forker->execs) {
            if (img.time_ns <= cur->start_ns || img.from_snapshot) image = &img;
        }
        if (image) return image->binary.empty() ? nullptr : image;
        if (!forker->execs.empty()) return nullptr;
        cur = forker;
    }
    return nullptr;
}

std::string forked_image(const Model& model, const Process& p) {
    if (!p.execs.empty() || p.parent_source != ParentSource::fork) return {};
    if (const ExecImage* image = forked_image_of(model, p)) return image_name(*image);
    return p.parent_comm.empty() ? std::string("?") : p.parent_comm;
}

int64_t process_start_wall(const Model& model, const Process& p) {
    return model.to_wall(p.key.boot_id, p.start_ns);
}

int64_t process_end_wall(const Model& model, const Process& p) {
    if (p.exit) return model.to_wall(p.key.boot_id, p.exit->time_ns);
    return model.to_wall(p.key.boot_id, std::max(model.journal_end_ns(p.key.boot_id), p.start_ns));
}

LoadPlan load_plan_for(const Query& query) {
    // PID, pod and descendants selectors load only what can match, through
    // the journal's indexes; the others need every row.
    LoadPlan plan;
    if (!(query.pid || query.ancestors_of || query.pod || query.descendants_of)) return plan;
    plan.everything = false;
    // --pid and --ancestors-of both select by PID; loading one of them is a
    // superset of what can match both (nothing, if they differ).
    plan.pid = query.pid ? query.pid : query.ancestors_of;
    plan.pod = query.pod;
    plan.descendants_of = query.descendants_of;
    plan.since_wall_ns = query.since_wall_ns;
    plan.until_wall_ns = query.until_wall_ns;
    // One targeted selector is enough to bound the load: build_report
    // applies all of them anyway.
    if (plan.pid) {
        plan.pod.reset();
        plan.descendants_of.reset();
    } else if (plan.pod) {
        plan.descendants_of.reset();
    }
    return plan;
}

Report build_report(const Model& model, const Query& query) {
    return ReportBuilder(model, query).build();
}

}  // namespace lineage
