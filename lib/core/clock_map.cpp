#include "clock_map.h"

#include <algorithm>
#include <climits>

#include "saturate.h"

namespace lineage {

void ClockMap::add_sample(const std::string& boot_id, int64_t boot_ns, int64_t wall_ns) {
    samples_[boot_id].emplace_back(boot_ns, wall_ns);
    sorted_ = false;
}

const ClockMap::Samples* ClockMap::samples_of(const std::string& boot_id) const {
    if (!sorted_) {
        for (auto& [boot, samples] : samples_) {
            std::sort(samples.begin(), samples.end());
            samples.erase(std::unique(samples.begin(), samples.end()), samples.end());
        }
        sorted_ = true;
    }
    auto it = samples_.find(boot_id);
    return it == samples_.end() || it->second.empty() ? nullptr : &it->second;
}

int64_t ClockMap::to_wall(const std::string& boot_id, int64_t boot_ns) const {
    const Samples* samples = samples_of(boot_id);
    if (!samples) return boot_ns;
    auto pos = std::lower_bound(samples->begin(), samples->end(), std::make_pair(boot_ns, INT64_MIN));
    const std::pair<int64_t, int64_t>* best = pos != samples->end() ? &*pos : nullptr;
    if (pos != samples->begin()) {
        const auto& prev = *(pos - 1);
        if (!best || distance(boot_ns, prev.first) <= distance(best->first, boot_ns)) best = &prev;
    }
    return sat_add(boot_ns, sat_sub(best->second, best->first));
}

int64_t ClockMap::to_boot(const std::string& boot_id, int64_t wall_ns) const {
    const Samples* samples = samples_of(boot_id);
    if (!samples) return wall_ns;
    // Samples are in boot-time order, and wall time follows it but for
    // clock steps: search by wall time, then look at both neighbours.
    auto pos = std::lower_bound(samples->begin(), samples->end(), wall_ns,
                                [](const std::pair<int64_t, int64_t>& s, int64_t w) { return s.second < w; });
    const std::pair<int64_t, int64_t>* best = pos != samples->end() ? &*pos : nullptr;
    if (pos != samples->begin() && (!best || distance((pos - 1)->second, wall_ns) <= distance(best->second, wall_ns)))
        best = &*(pos - 1);
    return sat_sub(wall_ns, sat_sub(best->second, best->first));
}

}  // namespace lineage
