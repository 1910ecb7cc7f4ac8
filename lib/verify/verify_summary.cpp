// What the journal says about itself: its runs, the gaps between them when
// nothing was recorded, and the loss records of what it could not hold.
#include <algorithm>
#include <climits>
#include <map>
#include <vector>

#include "verifier.h"

namespace lineage::verify_detail {

// Runs, the gaps between them, and the loss records: small tables.
bool Verifier::summarise() {
    std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> samples;  // run -> (boot, wall)
    bool ok = each("clock_samples", "SELECT run_id, boot_ns, wall_ns FROM clock_samples ORDER BY run_id, boot_ns",
                   [&](Stmt& s) { samples[s.int64(0)].emplace_back(s.int64(1), s.int64(2)); });
    std::map<int64_t, int64_t> start_offset;  // run -> wall - boot at start
    auto wall_of = [&](int64_t run, int64_t boot_ns) -> int64_t {
        auto it = samples.find(run);
        if (it == samples.end() || it->second.empty()) {
            auto o = start_offset.find(run);
            return boot_ns + (o == start_offset.end() ? 0 : o->second);
        }
        const auto& v = it->second;
        auto pos = std::lower_bound(v.begin(), v.end(), std::make_pair(boot_ns, INT64_MIN));
        if (pos == v.end()) --pos;
        if (pos != v.begin() && boot_ns - std::prev(pos)->first < pos->first - boot_ns) --pos;
        return boot_ns + (pos->second - pos->first);
    };
    ok = ok && each("runs", "SELECT run_id, node, boot_id, started_ns, started_wall_ns FROM runs ORDER BY run_id",
                    [&](Stmt& s) {
                        RunSummary r;
                        r.run_id = s.int64(0);
                        r.node = s.text(1);
                        r.boot_id = s.text(2);
                        r.started_wall_ns = s.int64(4);
                        start_offset[r.run_id] = s.int64(4) - s.int64(3);
                        v_.runs.push_back(r);
                    });
    auto run = [&](int64_t id) -> RunSummary* {
        for (auto& r : v_.runs)
            if (r.run_id == id) return &r;
        return nullptr;
    };
    ok = ok &&
         each("run_stops", "SELECT run_id, stopped_wall_ns, reason, events, lost FROM run_stops", [&](Stmt& s) {
             if (RunSummary* r = run(s.int64(0))) {
                 r->stopped_wall_ns = s.int64(1);
                 r->stop_reason = s.text(2);
                 r->events = s.int64(3);
                 r->lost = s.int64(4);
             }
         });
    ok = ok && each("batches",
                    "SELECT run_id, min(batch_id), max(batch_id), count(*), max(committed_ns) FROM batches "
                    "GROUP BY run_id",
                    [&](Stmt& s) {
                        if (RunSummary* r = run(s.int64(0))) {
                            r->first_batch = s.int64(1);
                            r->last_batch = s.int64(2);
                            r->batches = s.int64(3);
                            r->last_commit_wall_ns = wall_of(r->run_id, s.int64(4));
                        }
                    });
    ok = ok && each("loss",
                    "SELECT l.batch, coalesce(b.run_id, 0), l.from_ns, l.to_ns, l.count, l.reason FROM loss l "
                    "LEFT JOIN batches b ON b.batch_id = l.batch ORDER BY l.batch, l.rowid",
                    [&](Stmt& s) {
                        LossSummary l;
                        l.batch = s.int64(0);
                        l.run_id = s.int64(1);
                        l.from_wall_ns = wall_of(l.run_id, s.int64(2));
                        l.to_wall_ns = wall_of(l.run_id, s.int64(3));
                        l.count = s.int64(4);
                        l.reason = s.text(5);
                        v_.losses.push_back(l);
                    });
    for (size_t i = 1; i < v_.runs.size(); ++i) {
        const RunSummary& a = v_.runs[i - 1];
        const RunSummary& b = v_.runs[i];
        RunGap g;
        g.after_run = a.run_id;
        g.before_run = b.run_id;
        g.from_wall_ns = a.stopped_wall_ns.value_or(a.last_commit_wall_ns.value_or(a.started_wall_ns));
        g.to_wall_ns = b.started_wall_ns;
        g.reboot = a.boot_id != b.boot_id;
        v_.gaps.push_back(g);
    }
    return ok;
}

}  // namespace lineage::verify_detail
