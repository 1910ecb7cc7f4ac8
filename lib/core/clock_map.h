#pragma once
// The one conversion between a boot's clock (CLOCK_BOOTTIME ns, the clock
// of every event) and wall-clock time (ns since the epoch, UTC). reconstruct,
// verify and retention all go through it, so that they agree on when
// something happened.
//
// The rule: a boot time maps through the offset (wall - boot) of the
// nearest known sample of that boot, the earlier one on a tie. Samples are
// the journal's clock_samples rows and each run's start (runs.started_ns,
// started_wall_ns). The wall clock may be stepped (NTP, a resume) between
// samples; the nearest offset is the best guess, and the recorder stores a
// new sample whenever the offset moves. A boot without any sample maps
// unchanged.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lineage {

class ClockMap {
public:
    void add_sample(const std::string& boot_id, int64_t boot_ns, int64_t wall_ns);
    int64_t to_wall(const std::string& boot_id, int64_t boot_ns) const;
    // The inverse, through the sample nearest in wall-clock time.
    int64_t to_boot(const std::string& boot_id, int64_t wall_ns) const;
    bool empty() const { return samples_.empty(); }

private:
    using Samples = std::vector<std::pair<int64_t, int64_t>>;  // (boot_ns, wall_ns), sorted
    const Samples* samples_of(const std::string& boot_id) const;

    mutable std::map<std::string, Samples> samples_;
    mutable bool sorted_ = true;
};

}  // namespace lineage
