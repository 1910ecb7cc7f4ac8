#include "newness.h"

#include <algorithm>

namespace lineage {

namespace {

// The pod a connect is counted in: the pod the tree shows the process in.
std::string connect_pod(const TreeNode& node) {
    return node.pod ? node.pod->uid : std::string();
}

void keep_earliest(std::map<BinaryKey, int64_t>& m, BinaryKey key, int64_t t) {
    auto [it, fresh] = m.try_emplace(std::move(key), t);
    if (!fresh) it->second = std::min(it->second, t);
}
void keep_earliest(std::map<DestinationKey, int64_t>& m, DestinationKey key, int64_t t) {
    auto [it, fresh] = m.try_emplace(std::move(key), t);
    if (!fresh) it->second = std::min(it->second, t);
}

// The oldest time the journals still hold: their first run's start, or
// the latest time retention pruned up to.
NewSince new_since(const Model& model) {
    NewSince since;
    since.since_wall_ns = INT64_MAX;
    for (const auto& r : model.runs()) {
        const int64_t start = r.started_wall_ns ? r.started_wall_ns : model.to_wall(r.boot_id, r.started_ns);
        since.since_wall_ns = std::min(since.since_wall_ns, start);
        if (r.imported) since.imported = true;
    }
    if (since.since_wall_ns == INT64_MAX) since.since_wall_ns = 0;
    for (const auto& p : model.prunes()) {
        if (p.through_wall_ns > since.since_wall_ns) since.since_wall_ns = p.through_wall_ns;
        since.pruned = true;
    }
    return since;
}

}  // namespace

std::string image_pod(const Process& p, const ExecImage& img) {
    const PodEntryKind kind = img.from_snapshot ? PodEntryKind::snapshot : PodEntryKind::exec;
    for (const auto& e : p.pod_entries) {
        if (e.kind == kind && e.time_ns == img.time_ns) return e.pod.uid;
    }
    return "";
}

PrecedentQuery precedent_query(const Model& model, const Report& report) {
    PrecedentQuery q;
    for (const auto& tree : report.trees) {
        for (const auto& node : tree.nodes) {
            const Process& p = *node.process;
            for (const auto& img : p.execs) {
                // /proc's exe can be unreadable: no binary to compare.
                if (img.binary.empty()) continue;
                keep_earliest(q.binaries, BinaryKey{image_pod(p, img), img.binary},
                              model.to_wall(p.key.boot_id, img.time_ns));
            }
            const std::string pod = connect_pod(node);
            if (pod.empty()) continue;
            for (const auto& c : p.connects) {
                keep_earliest(q.destinations, DestinationKey{pod, c.daddr, c.dport},
                              model.to_wall(p.key.boot_id, c.time_ns));
            }
        }
    }
    return q;
}

void mark_new(const Model& model, const Precedents& found, Report& report) {
    const NewSince since = new_since(model);
    report.new_since = since;
    // The earliest of each key: what the journals found before the
    // answer's earliest, else the answer's earliest itself. An image or a
    // connect is the first when nothing is earlier (two at the same
    // nanosecond both are).
    Precedents earliest;
    const PrecedentQuery asked = precedent_query(model, report);
    earliest.binaries = asked.binaries;
    earliest.destinations = asked.destinations;
    earliest.merge(found);
    auto judge = [&](int64_t wall, const auto& map, const auto& key) {
        if (wall < since.since_wall_ns) return Newness::not_compared;
        auto it = map.find(key);
        return it != map.end() && it->second < wall ? Newness::seen_before : Newness::first;
    };
    for (auto& tree : report.trees) {
        for (auto& node : tree.nodes) {
            const Process& p = *node.process;
            node.new_images.clear();
            for (const auto& img : p.execs) {
                if (img.binary.empty()) {
                    node.new_images.push_back(Newness::not_compared);
                    continue;
                }
                node.new_images.push_back(judge(model.to_wall(p.key.boot_id, img.time_ns), earliest.binaries,
                                                BinaryKey{image_pod(p, img), img.binary}));
            }
            node.new_connects.clear();
            const std::string pod = connect_pod(node);
            for (const auto& c : p.connects) {
                node.new_connects.push_back(pod.empty()
                                                ? Newness::not_compared
                                                : judge(model.to_wall(p.key.boot_id, c.time_ns), earliest.destinations,
                                                        DestinationKey{pod, c.daddr, c.dport}));
            }
        }
    }
}

bool TreeNode::is_new() const {
    return std::find(new_images.begin(), new_images.end(), Newness::first) != new_images.end() ||
           std::find(new_connects.begin(), new_connects.end(), Newness::first) != new_connects.end();
}

}  // namespace lineage
