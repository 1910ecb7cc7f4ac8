#pragma once
// What a query needs loaded from the journals: the tree stage derives it
// from its Query (load_plan_for), the journal loader follows it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lineage {

// What a query needs from a journal. By default everything is loaded; with
// a PID, pod or descendants selector only the processes that can match are
// loaded, through the indexes, with their ancestors: a query on a year of
// journal reads a few thousand rows, not millions.
struct LoadPlan {
    bool everything = true;
    std::optional<uint32_t> pid;             // every incarnation of this PID
    std::optional<std::string> pod;          // name, namespace/name or UID
    std::optional<uint32_t> descendants_of;  // this PID and all below it
    // The window, wall-clock ns: a pod's processes that ended before it or
    // started after it are not loaded (unless they are ancestors).
    std::optional<int64_t> since_wall_ns, until_wall_ns;
};

// The one rule for a pod selector (--pod, and the loader's look-up of the
// pods it can mean): the pod's UID, its name, or NAMESPACE/NAME.
bool pod_selector_matches(std::string_view selector, std::string_view uid, std::string_view name,
                          std::string_view namespace_);

// How a pod is shown: NAMESPACE/NAME, or NAME when the namespace is not
// known. The selector above accepts exactly what this shows.
std::string pod_display_name(std::string_view name, std::string_view namespace_);

}  // namespace lineage
