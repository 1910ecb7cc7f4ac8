#pragma once
// `lineage pods`: the pods a set of journals saw, with what ran in them,
// for a responder who knows only "something in payments, around 09:14".
// Built from the model (every process's pod rows), with the model's one
// rule for a pod's name (Model::pod_name).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "journal_reader.h"
#include "model.h"

namespace lineage {

struct PodQuery {
    // Only the processes in the pod during this window count (and only pods
    // with one are listed).
    std::optional<int64_t> since_wall_ns, until_wall_ns;
    std::optional<std::string> namespace_;
    std::optional<std::string> name_glob;  // fnmatch(3) on the name, or on NAMESPACE/NAME when it has a '/'
};

// One container of a pod, as the journals name it (Model::container).
struct PodContainer {
    std::string id;
    std::string name, image, type;  // "" when not known
};

struct PodSummary {
    std::string uid, name, namespace_;
    std::vector<PodContainer> containers;  // by id
    std::vector<std::string> nodes;        // the nodes whose journals saw it
    int64_t first_wall_ns = 0;             // the first process entering it
    int64_t last_wall_ns = 0;              // the last end of one of its processes (or the journal's end)
    bool running = false;                  // a process of it had not exited at the journal's end
    uint64_t processes = 0, execs = 0, connects = 0, listens = 0;  // listens: TCP sockets put in LISTEN
    // A loss, or a gap between runs of a boot, overlaps [first, last]: the
    // pod's numbers may be short.
    bool incomplete = false;
};

// The pods, by first seen; each counts the processes that were in it (by a
// row that put them in its cgroups), their execs, connects and listens.
std::vector<PodSummary> list_pods(const Model& model, const PodQuery& query);

// list_pods in parts, for models that each hold a slice of time: only the
// processes that entered a pod within the slice count in it (each process
// is counted once, in the slice where it entered; an open end takes in
// everything on that side).
struct PodSlice {
    std::optional<int64_t> from_wall_ns, before_wall_ns;
};
struct PodTally {
    std::map<std::string, PodSummary> pods;  // by UID, names not yet set
};
void tally_pods(const Model& model, const PodQuery& query, const PodSlice& slice, PodTally& tally);
// Names, the query's name and namespace filters, loss and gap flags (from
// `model`'s runs, losses and pod names, which every load holds), order.
std::vector<PodSummary> finish_pods(const Model& model, const PodQuery& query, PodTally tally);

// The slice `lineage pods` loads at a time: memory follows what a slice
// holds, not the journal (a year of journal holds millions of processes).
// Half a day: a day's window is two slices, loaded at once on two cores.
inline constexpr int64_t kPodSliceNs = 43'200'000'000'000;
// The slices loaded at once, at most (one per core up to this): memory
// stays that of a day, on any machine.
inline constexpr unsigned kMostPodThreads = 2;

// `lineage pods` over journals: the query's window (or the journals' whole
// span) loaded one slice of slice_ns at a time, without ancestors, each
// load bound by max_processes (0: none); the list a single load of the
// window gives. Up to `threads` slices load at once (0: one per core the
// process may run on, at most kMostPodThreads), each on a thread and
// through connections of its
// own (JournalReader::open_another). The slices are the same whatever the
// threads, and so are the answer and where --max-processes stops.
Result<std::vector<PodSummary>> load_and_list_pods(std::vector<JournalReader>& readers, const PodQuery& query,
                                                   size_t max_processes, int64_t slice_ns = kPodSliceNs,
                                                   unsigned threads = 0);

// Aligned columns, every name escaped for the terminal.
std::string render_pods_text(const std::vector<PodSummary>& pods, bool color);
// One JSON document (schema/pods.schema.json), valid UTF-8.
std::string render_pods_json(const std::vector<PodSummary>& pods);

}  // namespace lineage
