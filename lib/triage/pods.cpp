// lineage pods: the pods in the journals, from the model's pod rows.
#include "pods.h"

#include <fnmatch.h>
#include <sched.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "load_plan.h"
#include "reconstruct.h"
#include "timeexpr.h"

namespace lineage {

using nlohmann::json;

namespace {

// Two runs of one boot further apart than this left a gap (as in `info`).
constexpr int64_t kGapNs = 1'000'000'000;

bool glob_matches(const std::string& glob, const std::string& name, const std::string& namespace_) {
    const std::string subject = glob.find('/') != std::string::npos ? namespace_ + "/" + name : name;
    return ::fnmatch(glob.c_str(), subject.c_str(), 0) == 0;
}

// What the journals do not hold, in wall-clock ns: losses, and the gaps
// between consecutive runs of one boot.
std::vector<std::pair<int64_t, int64_t>> holes_of(const Model& model) {
    std::vector<std::pair<int64_t, int64_t>> holes;
    for (const auto& l : model.losses())
        holes.emplace_back(model.to_wall(l.boot_id, l.from_ns), model.to_wall(l.boot_id, l.to_ns));
    std::map<std::string, std::vector<const RunRecord*>> by_boot;
    for (const auto& r : model.runs()) by_boot[r.boot_id].push_back(&r);
    for (auto& [boot, runs] : by_boot) {
        std::sort(runs.begin(), runs.end(),
                  [](const RunRecord* a, const RunRecord* b) { return a->started_ns < b->started_ns; });
        for (size_t i = 1; i < runs.size(); ++i) {
            const int64_t end = run_end_ns(*runs[i - 1]);
            if (runs[i]->started_ns - end > kGapNs)
                holes.emplace_back(model.to_wall(boot, end), model.to_wall(boot, runs[i]->started_ns));
        }
    }
    return holes;
}

// Columns, not bytes: what a terminal gives an escaped name.
size_t columns(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

}  // namespace

void tally_pods(const Model& model, const PodQuery& query, const PodSlice& slice, PodTally& tally) {
    std::map<std::string, std::string> node_of_boot;
    for (const auto& r : model.runs()) node_of_boot.emplace(r.boot_id, r.node);
    std::set<std::string> seen;
    for (const auto& [key, p] : model.processes()) {
        seen.clear();
        for (const auto& entry : p.pod_entries) {
            const std::string& uid = entry.pod.uid;
            if (uid.empty() || !seen.insert(uid).second) continue;
            const PodEntry* first = first_pod_entry(p, uid);
            const int64_t from = model.to_wall(p.key.boot_id, first->time_ns);
            // Another slice's process: counted where it entered the pod.
            if ((slice.from_wall_ns && from < *slice.from_wall_ns) ||
                (slice.before_wall_ns && from >= *slice.before_wall_ns))
                continue;
            const int64_t to = process_end_wall(model, p);
            // With a window, the processes in the pod during it: an
            // ancestor loaded to place them is not counted (and a full
            // load's answer is the window plan's).
            if (query.since_wall_ns && to < *query.since_wall_ns) continue;
            if (query.until_wall_ns && from > *query.until_wall_ns) continue;
            auto [it, added] = tally.pods.try_emplace(uid);
            PodSummary& pod = it->second;
            if (added) {
                pod.uid = uid;
                pod.first_wall_ns = from;
                pod.last_wall_ns = to;
            }
            pod.first_wall_ns = std::min(pod.first_wall_ns, from);
            pod.last_wall_ns = std::max(pod.last_wall_ns, to);
            pod.running = pod.running || !p.exit;
            ++pod.processes;
            for (const auto& img : p.execs) pod.execs += !img.from_snapshot;
            pod.connects += p.connects.size();
            pod.listens += p.listens.size();
            const std::string& node = node_of_boot[p.key.boot_id];
            if (std::find(pod.nodes.begin(), pod.nodes.end(), node) == pod.nodes.end()) pod.nodes.push_back(node);
            // Its containers in the pod, named as this slice's model names
            // them (each slice loads the containers rows of its answer).
            for (const auto& e : p.pod_entries) {
                if (e.pod.uid != uid || e.pod.container_id.empty()) continue;
                auto c = std::find_if(pod.containers.begin(), pod.containers.end(),
                                      [&](const PodContainer& k) { return k.id == e.pod.container_id; });
                if (c == pod.containers.end()) {
                    pod.containers.push_back(PodContainer{e.pod.container_id, "", "", ""});
                    c = pod.containers.end() - 1;
                }
                if (c->name.empty() && c->image.empty() && c->type.empty()) {
                    const ContainerInfo info = model.container(c->id);
                    c->name = info.name;
                    c->image = info.image;
                    c->type = info.type;
                }
            }
        }
    }
}

std::vector<PodSummary> finish_pods(const Model& model, const PodQuery& query, PodTally tally) {
    const auto holes = holes_of(model);
    std::vector<PodSummary> out;
    for (auto& [uid, pod] : tally.pods) {
        const PodNameRecord name = model.pod_name(uid);
        pod.name = name.name;
        pod.namespace_ = name.namespace_;
        if (query.since_wall_ns && pod.last_wall_ns < *query.since_wall_ns) continue;
        if (query.until_wall_ns && pod.first_wall_ns > *query.until_wall_ns) continue;
        if (query.namespace_ && *query.namespace_ != pod.namespace_) continue;
        if (query.name_glob && !glob_matches(*query.name_glob, pod.name, pod.namespace_)) continue;
        for (const auto& [from, to] : holes) {
            if (from <= pod.last_wall_ns && to >= pod.first_wall_ns) pod.incomplete = true;
        }
        std::sort(pod.nodes.begin(), pod.nodes.end());
        std::sort(pod.containers.begin(), pod.containers.end(),
                  [](const PodContainer& a, const PodContainer& b) { return a.id < b.id; });
        out.push_back(std::move(pod));
    }
    std::sort(out.begin(), out.end(), [](const PodSummary& a, const PodSummary& b) {
        return std::tie(a.first_wall_ns, a.uid) < std::tie(b.first_wall_ns, b.uid);
    });
    return out;
}

std::vector<PodSummary> list_pods(const Model& model, const PodQuery& query) {
    PodTally tally;
    tally_pods(model, query, PodSlice{}, tally);
    return finish_pods(model, query, std::move(tally));
}

namespace {

// One slice's load: its plan, what counts in it, and the model it fills.
struct SliceLoad {
    LoadPlan plan;
    PodSlice slice;
    Model model;
    Status status = Ok{};
};

// Loads a slice from every journal, through `dbs` (one connection per
// reader; nullptr: the reader's own).
void load_slice(std::vector<JournalReader>& readers, const std::vector<Database*>& dbs, SliceLoad& load) {
    try {
        for (size_t i = 0; i < readers.size(); ++i) {
            load.status = dbs[i] ? readers[i].load_into(load.model, load.plan, *dbs[i])
                                 : readers[i].load_into(load.model, load.plan);
            if (!load.status) return;
        }
        load.model.finish();
    } catch (const std::bad_alloc&) {
        // On a thread of its own, an exception would end the process.
        load.status = Error{"out of memory while loading the journals"};
    } catch (const std::exception& e) {
        load.status = Error{fmt::format("cannot load the journals: {}", e.what())};
    }
}

}  // namespace

Result<std::vector<PodSummary>> load_and_list_pods(std::vector<JournalReader>& readers, const PodQuery& query,
                                                   size_t max_processes, int64_t slice_ns, unsigned threads) {
    // A journal older than version 4 has no window plan: a window reads it
    // whole, so slices would read it once each. One load, then.
    bool sliceable = true;
    for (const auto& reader : readers) sliceable = sliceable && reader.schema().user_version >= 4;
    if (!sliceable) slice_ns = INT64_MAX;
    if (threads == 0) {
        // The cores this process may run on (taskset, a container's
        // cpuset), not the machine's.
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        const int usable = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
        threads = std::clamp(static_cast<unsigned>(usable), 1u, kMostPodThreads);
    }
    // The journals' span, from their runs.
    Model meta;
    LoadPlan none;
    none.processes = false;
    for (auto& reader : readers) {
        if (auto st = reader.load_into(meta, none); !st) return st.error();
    }
    meta.finish();
    if (meta.runs().empty()) return std::vector<PodSummary>{};
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (const auto& r : meta.runs()) {
        first = std::min(first, meta.to_wall(r.boot_id, r.started_ns));
        last = std::max(last, meta.to_wall(r.boot_id, run_end_ns(r)));
    }
    const int64_t from = std::max(first, query.since_wall_ns.value_or(INT64_MIN));
    const int64_t to = std::min(last, query.until_wall_ns.value_or(INT64_MAX));
    // Slices [from + k * slice_ns, from + (k + 1) * slice_ns); the first
    // loads from the query's start (or the beginning), the last up to its
    // end (or the end), so that together they load every process a single
    // load would, and each process counts in the slice where it entered
    // the pod (it was alive then, so that slice loaded it).
    std::vector<std::pair<LoadPlan, PodSlice>> slices;
    for (int64_t at = from;;) {
        const bool first_slice = at == from;
        const bool last_slice = to <= at || to - at <= slice_ns;
        LoadPlan plan;
        plan.everything = false;
        plan.ancestors = false;
        plan.executed_files = false;  // a pod's counts need none
        plan.arguments = false;
        plan.max_processes = max_processes;
        plan.sole_journal = readers.size() == 1;
        plan.since_wall_ns = first_slice ? query.since_wall_ns : std::optional<int64_t>(at);
        plan.until_wall_ns = last_slice ? query.until_wall_ns : std::optional<int64_t>(at + slice_ns);
        // No window at all: every process (one load, as before slicing).
        plan.everything = !plan.since_wall_ns && !plan.until_wall_ns;
        PodSlice slice;
        if (!first_slice) slice.from_wall_ns = at;
        if (!last_slice) slice.before_wall_ns = at + slice_ns;
        slices.emplace_back(plan, slice);
        if (last_slice) break;
        at += slice_ns;
    }
    // Up to `threads` slices at a time, each with its own connections and
    // model; tallied in order once loaded, so that at most that many
    // models are held at once.
    const size_t workers = std::min<size_t>(threads, slices.size());
    std::vector<std::vector<Database>> connections(workers);  // [worker][reader], for workers after the first
    for (size_t w = 1; w < workers; ++w) {
        for (auto& reader : readers) {
            auto db = reader.open_another();
            if (!db) return db.error();
            connections[w].push_back(std::move(*db));
        }
    }
    PodTally tally;
    std::vector<SliceLoad> loads(workers);
    for (size_t next = 0; next < slices.size();) {
        const size_t batch = std::min(workers, slices.size() - next);
        std::vector<std::thread> running;
        for (size_t w = 0; w < batch; ++w) {
            loads[w] = SliceLoad{};
            loads[w].plan = slices[next + w].first;
            loads[w].slice = slices[next + w].second;
        }
        auto run = [&](size_t w) {
            std::vector<Database*> dbs(readers.size(), nullptr);
            if (w > 0)
                for (size_t i = 0; i < readers.size(); ++i) dbs[i] = &connections[w][i];
            load_slice(readers, dbs, loads[w]);
        };
        for (size_t w = 1; w < batch; ++w) {
            try {
                running.emplace_back(run, w);
            } catch (const std::system_error&) {
                break;  // no thread to be had (a process or memory limit): the rest below, in this one
            }
        }
        run(0);
        for (auto& t : running) t.join();
        for (size_t w = running.size() + 1; w < batch; ++w) run(w);
        for (size_t w = 0; w < batch; ++w) {
            if (!loads[w].status) return loads[w].status.error();
            tally_pods(loads[w].model, query, loads[w].slice, tally);
        }
        next += batch;
        // finish_pods reads what every load holds (runs, losses, names)
        // from the last model: keep it.
        if (next == slices.size()) return finish_pods(loads[batch - 1].model, query, std::move(tally));
    }
    return finish_pods(meta, query, std::move(tally));
}

std::string render_pods_text(const std::vector<PodSummary>& pods, bool color) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"POD", "UID", "NODE", "FIRST SEEN", "LAST SEEN", "PROCS", "EXECS", "CONNECTS", "LISTENS",
                    "COMPLETE", "CONTAINERS"});
    for (const auto& p : pods) {
        std::string nodes;
        for (const auto& n : p.nodes) nodes += (nodes.empty() ? "" : ",") + escape_for_terminal(n);
        // "api=registry/x:1.4, 0badc0de0000": each container by name and
        // image when known, else by its short ID.
        std::string containers;
        for (const auto& c : p.containers) {
            std::string one = c.name.empty() ? c.id.substr(0, 12) : c.name;
            if (!c.image.empty()) one += "=" + c.image;
            containers += (containers.empty() ? "" : ", ") + escape_for_terminal(one);
        }
        rows.push_back({escape_for_terminal(pod_display_name(p.name, p.namespace_)), p.uid, nodes,
                        format_wall_short(p.first_wall_ns), p.running ? "running" : format_wall_short(p.last_wall_ns),
                        std::to_string(p.processes), std::to_string(p.execs), std::to_string(p.connects),
                        std::to_string(p.listens), p.incomplete ? "no: loss or gap" : "yes",
                        containers.empty() ? "-" : containers});
    }
    std::vector<size_t> width(rows.front().size(), 0);
    for (const auto& r : rows)
        for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], columns(r[c]));
    // Counts align right, everything else left.
    auto numeric = [](size_t c) { return c >= 5 && c <= 8; };
    std::string out;
    for (size_t i = 0; i < rows.size(); ++i) {
        std::string line;
        for (size_t c = 0; c < rows[i].size(); ++c) {
            const std::string& cell = rows[i][c];
            const std::string pad(width[c] - columns(cell), ' ');
            std::string text = numeric(c) ? pad + cell : cell + (c + 1 < rows[i].size() ? pad : "");
            if (color && i > 0 && c == 9 && pods[i - 1].incomplete) text = "\x1b[33m" + text + "\x1b[0m";
            line += (c ? "  " : "") + text;
        }
        if (color && i == 0) line = "\x1b[1m" + line + "\x1b[0m";
        out += line + "\n";
    }
    return out;
}

std::string render_pods_json(const std::vector<PodSummary>& pods) {
    json list = json::array();
    for (const auto& p : pods) {
        json nodes = json::array();
        for (const auto& n : p.nodes) nodes.push_back(utf8_sanitize(n));
        json containers = json::array();
        for (const auto& c : p.containers) {
            containers.push_back({{"id", c.id},
                                  {"name", utf8_sanitize(c.name)},
                                  {"image", utf8_sanitize(c.image)},
                                  {"type", utf8_sanitize(c.type)}});
        }
        list.push_back({{"uid", p.uid},
                        {"name", utf8_sanitize(p.name)},
                        {"namespace", utf8_sanitize(p.namespace_)},
                        {"nodes", nodes},
                        {"first_seen", format_rfc3339_ns(p.first_wall_ns)},
                        {"last_seen", format_rfc3339_ns(p.last_wall_ns)},
                        {"running", p.running},
                        {"processes", p.processes},
                        {"execs", p.execs},
                        {"connects", p.connects},
                        {"listens", p.listens},
                        {"incomplete", p.incomplete},
                        {"containers", containers}});
    }
    json doc = {{"format_version", 1}, {"pods", list}};
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lineage
