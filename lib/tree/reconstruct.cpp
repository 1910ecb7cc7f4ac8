#include "reconstruct.h"

#include <fnmatch.h>

#include <algorithm>
#include <functional>
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
    case OutsideReason::outside_pod: return "outside the pod";
    case OutsideReason::not_in_journal: return "not in the journal";
    }
    return "not in the journal";
}

const char* warning_kind_name(WarningKind kind) {
    switch (kind) {
    case WarningKind::loss: return "loss";
    case WarningKind::unknown_parent: return "unknown_parent";
    case WarningKind::not_recorded: return "not_recorded";
    case WarningKind::pruned: return "pruned";
    }
    return "loss";
}

namespace {

// Guards every walk up a parent chain: a damaged journal could hold a cycle.
constexpr int kMaxDepth = 4096;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool pod_selected(const Query& q) { return q.pod || q.namespace_ || q.container; }

bool pod_matches(const Query& q, const std::optional<PodAttribution>& pod) {
    if (!pod_selected(q)) return true;
    if (!pod) return false;
    if (q.pod) {
        if (!pod_selector_matches(*q.pod, pod->uid, pod->name, pod->namespace_)) return false;
    }
    if (q.namespace_ && *q.namespace_ != pod->namespace_) return false;
    if (q.container && (q.container->empty() || !starts_with(pod->container_id, *q.container))) return false;
    return true;
}

// "comm (PID n)" for a warning: raw bytes, the renderers escape them.
std::string describe(const Process& p) { return fmt::format("{} (PID {})", p.comm.empty() ? "?" : p.comm, p.tgid); }

}  // namespace

bool binary_matches(const std::string& glob, const std::string& binary) {
    // FNM_PATHNAME: '*' stops at '/', as in a shell.
    if (glob.find('/') != std::string::npos) return fnmatch(glob.c_str(), binary.c_str(), FNM_PATHNAME) == 0;
    auto slash = binary.rfind('/');
    std::string base = slash == std::string::npos ? binary : binary.substr(slash + 1);
    return fnmatch(glob.c_str(), base.c_str(), 0) == 0;
}

std::optional<PodAttribution> pod_of(const Model& model, const Process& p) {
    auto kube = parse_kube_cgroup(p.cgroup_path);
    if (!kube) return std::nullopt;
    PodAttribution pod;
    pod.uid = kube->pod_uid;
    pod.container_id = kube->container_id;
    auto it = model.pods().find(kube->pod_uid);
    if (it != model.pods().end()) {
        pod.name = it->second.name;
        pod.namespace_ = it->second.namespace_;
    } else {
        // Without a stored name the UTS host name is the pod's name, unless
        // the pod uses host networking.
        pod.name = p.nodename;
    }
    return pod;
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

Report build_report(const Model& model, const Query& q) {
    Report report;
    report.since_wall_ns = q.since_wall_ns;
    report.until_wall_ns = q.until_wall_ns;
    {
        std::set<std::string> paths, nodes, boots;
        for (const auto& r : model.runs()) {
            if (paths.insert(r.journal).second) report.journal.paths.push_back(r.journal);
            if (nodes.insert(r.node).second) report.journal.nodes.push_back(r.node);
            if (boots.insert(r.boot_id).second) report.journal.boot_ids.push_back(r.boot_id);
        }
    }
    const int64_t since = q.since_wall_ns.value_or(INT64_MIN);
    const int64_t until = q.until_wall_ns.value_or(INT64_MAX);
    auto overlaps = [&](const Process& p) {
        return process_start_wall(model, p) <= until && process_end_wall(model, p) >= since;
    };
    auto parent_of = [&](const Process& p) -> const Process* { return p.parent ? model.find(*p.parent) : nullptr; };
    auto has_ancestor_pid = [&](const Process& p, uint32_t pid) {
        const Process* cur = &p;
        for (int depth = 0; cur && depth < kMaxDepth; ++depth) {
            if (cur->tgid == pid) return true;
            cur = parent_of(*cur);
        }
        return false;
    };

    std::unordered_map<ProcessKey, std::optional<PodAttribution>, ProcessKeyHash> pods;
    auto pod_for = [&](const Process& p) -> const std::optional<PodAttribution>& {
        auto it = pods.find(p.key);
        if (it == pods.end()) it = pods.emplace(p.key, pod_of(model, p)).first;
        return it->second;
    };

    // 1. The processes the query selects.
    std::unordered_set<ProcessKey, ProcessKeyHash> matched;
    for (const auto& [key, p] : model.processes()) {
        if (!overlaps(p)) continue;
        if (q.pid && p.tgid != *q.pid) continue;
        if (q.ancestors_of && p.tgid != *q.ancestors_of) continue;
        if (q.binary_glob) {
            bool any = std::any_of(p.execs.begin(), p.execs.end(),
                                   [&](const ExecImage& e) { return binary_matches(*q.binary_glob, e.binary); });
            if (!any) continue;
        }
        if (q.descendants_of && !has_ancestor_pid(p, *q.descendants_of)) continue;
        if (!pod_matches(q, pod_for(p))) continue;
        matched.insert(key);
    }
    report.matched = matched.size();

    // 2. Their ancestors: up to the topmost one in the same pod when a pod
    // is selected, or to the top of what is known otherwise.
    const bool stop_at_pod = pod_selected(q) && !q.ancestors && !q.ancestors_of;
    std::unordered_set<ProcessKey, ProcessKeyHash> shown = matched;
    std::unordered_map<ProcessKey, OutsideParent, ProcessKeyHash> outside;
    for (const auto& key : matched) {
        const Process* cur = model.find(key);
        for (int depth = 0; cur && depth < kMaxDepth; ++depth) {
            const Process* up = parent_of(*cur);
            if (!up) break;
            if (stop_at_pod) {
                const auto& mine = pod_for(*cur);
                const auto& theirs = pod_for(*up);
                if (!theirs || !mine || theirs->uid != mine->uid) {
                    outside[cur->key] = OutsideParent{up->tgid, up->comm, up->key, OutsideReason::outside_pod};
                    break;
                }
            }
            if (!shown.insert(up->key).second) break;  // the rest of the chain is already in
            cur = up;
        }
    }

    // 3. Trees: every shown process whose parent is not shown is a root.
    std::function<TreeNode(const Process&, int)> build = [&](const Process& p, int depth) {
        TreeNode node;
        node.process = &p;
        node.matched = matched.count(p.key) > 0;
        node.in_window = overlaps(p);
        node.pod = pod_for(p);
        if (depth < kMaxDepth) {
            for (const auto& child_key : p.children) {
                if (!shown.count(child_key)) continue;
                if (const Process* c = model.find(child_key)) node.children.push_back(build(*c, depth + 1));
            }
        }
        return node;
    };
    std::vector<const Process*> roots;
    for (const auto& key : shown) {
        const Process* p = model.find(key);
        const Process* up = parent_of(*p);
        if (!up || !shown.count(up->key)) roots.push_back(p);
    }
    std::sort(roots.begin(), roots.end(), [&](const Process* a, const Process* b) {
        int64_t sa = process_start_wall(model, *a), sb = process_start_wall(model, *b);
        if (sa != sb) return sa < sb;
        return a->key < b->key;
    });
    for (const Process* root : roots) {
        Tree tree;
        tree.root = build(*root, 0);
        auto out = outside.find(root->key);
        if (out != outside.end()) {
            tree.outside_parent = out->second;
        } else if (root->parent && !model.find(*root->parent)) {
            // Known only by the fork or exec row that named it.
            tree.outside_parent =
                OutsideParent{root->ppid, root->parent_comm, root->parent, OutsideReason::not_in_journal};
        }
        bool top = root->tgid == 1 || (root->parent_source == ParentSource::none && root->ppid == 0 && root->in_snapshot);
        if (!root->parent && !top && root->in_snapshot && root->ppid != 0) {
            report.warnings.push_back(Warning{
                WarningKind::unknown_parent,
                fmt::format("parent of {} is unknown: its parent PID {} was not in the /proc snapshot",
                            describe(*root), root->ppid),
                std::nullopt, std::nullopt});
        } else if (!root->parent && !top) {
            report.warnings.push_back(Warning{
                WarningKind::unknown_parent,
                fmt::format("parent of {} is unknown: it started before the journal and is not in the /proc snapshot",
                            describe(*root)),
                std::nullopt, std::nullopt});
        } else if (tree.outside_parent && tree.outside_parent->why == OutsideReason::not_in_journal) {
            report.warnings.push_back(Warning{
                WarningKind::unknown_parent,
                fmt::format("parent of {} is {} (PID {}), which is not in the journal", describe(*root),
                            root->parent_comm.empty() ? "?" : root->parent_comm, root->ppid),
                std::nullopt, std::nullopt});
        }
        report.trees.push_back(std::move(tree));
    }

    // 4. Time the journals did not record: pruned by retention, before
    // the first run, between two runs of one journal.
    for (const auto& prune : model.prunes()) {
        if (since > prune.through_wall_ns) continue;
        report.warnings.push_back(Warning{
            WarningKind::pruned,
            fmt::format("events up to {} were deleted by retention ({}, {} rows) in {}; the window starts before that",
                        format_rfc3339_ns(prune.through_wall_ns), prune.reason, prune.rows, prune.journal),
            std::nullopt, prune.through_wall_ns});
    }
    std::map<std::string, std::vector<const RunRecord*>> runs_by_journal;
    for (const auto& r : model.runs()) runs_by_journal[r.journal].push_back(&r);
    for (auto& [journal, runs] : runs_by_journal) {
        std::sort(runs.begin(), runs.end(), [](const RunRecord* a, const RunRecord* b) { return a->run_id < b->run_id; });
        const int64_t first_start = model.to_wall(runs.front()->boot_id, runs.front()->started_ns);
        if (q.since_wall_ns && *q.since_wall_ns < first_start) {
            report.warnings.push_back(Warning{
                WarningKind::not_recorded,
                fmt::format("nothing was recorded before {}, when {} starts; the window starts before that",
                            format_rfc3339_ns(first_start), journal),
                std::nullopt, first_start});
        }
        for (size_t i = 1; i < runs.size(); ++i) {
            const RunRecord& a = *runs[i - 1];
            const RunRecord& b = *runs[i];
            const int64_t from = model.to_wall(a.boot_id, run_end_ns(a));
            const int64_t to = model.to_wall(b.boot_id, b.started_ns);
            if (to <= from || to < since || from > until) continue;
            // A run whose batches retention deleted looks as if it ended at
            // its start; the pruned warning covers that time.
            bool pruned = false;
            for (const auto& prune : model.prunes()) pruned |= prune.journal == journal && from <= prune.through_wall_ns;
            if (pruned) continue;
            report.warnings.push_back(Warning{
                WarningKind::not_recorded,
                fmt::format("nothing was recorded between {} and {}, from the end of run {} ({}) to the start of "
                            "run {}{}, in {}",
                            format_rfc3339_ns(from), format_rfc3339_ns(to), a.run_id,
                            a.stopped_ns ? "stopped" : "not stopped cleanly", b.run_id,
                            a.boot_id != b.boot_id ? " after a reboot" : "", journal),
                from, to});
        }
    }

    // 5. Losses that overlap the window: events may be missing there.
    for (const auto& loss : model.losses()) {
        if (loss.count <= 0) continue;
        int64_t from = model.to_wall(loss.boot_id, loss.from_ns);
        int64_t to = model.to_wall(loss.boot_id, loss.to_ns);
        if (to < since || from > until) continue;
        report.warnings.push_back(Warning{
            WarningKind::loss,
            fmt::format("events may be missing between {} and {}: {} events lost ({}) in {}", format_rfc3339_ns(from),
                        format_rfc3339_ns(to), loss.count, loss.reason, loss.journal),
            from, to});
    }
    return report;
}

}  // namespace lineage
