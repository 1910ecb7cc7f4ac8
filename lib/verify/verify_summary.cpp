// What the journal says about itself: its runs, the gaps between them when
// nothing was recorded, and the loss records of what it could not hold.
#include <map>
#include <vector>

#include "clock_map.h"
#include "model.h"
#include "provenance.h"
#include "verifier.h"

namespace lineage::verify_detail {

// Runs, the gaps between them, and the loss records: small tables. Boot
// times become wall-clock times by ClockMap's rule, over the same samples
// reconstruct's model uses (clock_samples and each run's start, by boot),
// so that both tell the same time of the same row.
bool Verifier::summarise() {
    struct Sample {
        int64_t run_id, boot_ns, wall_ns;
    };
    std::vector<Sample> samples;
    bool ok = each("clock_samples", "SELECT run_id, boot_ns, wall_ns FROM clock_samples NOT INDEXED", [&](Stmt& s) {
        samples.push_back(Sample{s.int64(0), s.int64(1), s.int64(2)});
    });
    ClockMap clock;
    // Each run's end by the model's rule (run_end_ns), in boot time: the
    // gaps between runs are reconstruct's not_recorded warnings too.
    std::map<int64_t, RunRecord> ends;
    ok = ok && each("runs",
                    "SELECT run_id, node, boot_id, started_ns, started_wall_ns, filters FROM runs NOT INDEXED ORDER BY "
                    "run_id",
                    [&](Stmt& s) {
                        RunSummary r;
                        r.run_id = s.int64(0);
                        r.node = s.text(1);
                        r.boot_id = s.text(2);
                        r.started_wall_ns = s.int64(4);
                        r.imported = import_provenance(s.text(5));
                        // As Model::add_run: a start of unknown wall time is no sample.
                        if (r.started_wall_ns) clock.add_sample(r.boot_id, s.int64(3), r.started_wall_ns);
                        ends[r.run_id].started_ns = s.int64(3);
                        v_.runs.push_back(r);
                    });
    auto run = [&](int64_t id) -> RunSummary* {
        for (auto& r : v_.runs)
            if (r.run_id == id) return &r;
        return nullptr;
    };
    for (const Sample& s : samples) {
        if (const RunSummary* r = run(s.run_id)) clock.add_sample(r->boot_id, s.boot_ns, s.wall_ns);
    }
    // A row of no run (a loss in a batch that is gone) keeps its boot time.
    auto wall_of = [&](int64_t run_id, int64_t boot_ns) {
        const RunSummary* r = run(run_id);
        return r ? clock.to_wall(r->boot_id, boot_ns) : boot_ns;
    };
    ok = ok && each("run_stops",
                    "SELECT run_id, stopped_wall_ns, reason, events, lost, stopped_ns FROM run_stops NOT INDEXED",
                    [&](Stmt& s) {
                        if (RunSummary* r = run(s.int64(0))) {
                            ends[r->run_id].stopped_ns = s.int64(5);
                            r->stopped_wall_ns = s.int64(1);
                            r->stop_reason = s.text(2);
                            r->events = s.int64(3);
                            r->lost = s.int64(4);
                        }
                    });
    ok = ok && each("batches",
                    "SELECT run_id, min(batch_id), max(batch_id), count(*), max(committed_ns) FROM batches "
                    "NOT INDEXED GROUP BY run_id",
                    [&](Stmt& s) {
                        if (RunSummary* r = run(s.int64(0))) {
                            r->first_batch = s.int64(1);
                            r->last_batch = s.int64(2);
                            r->batches = s.int64(3);
                            r->last_commit_wall_ns = wall_of(r->run_id, s.int64(4));
                            ends[r->run_id].last_batch_ns = s.int64(4);
                        }
                    });
    ok = ok && each("loss",
                    "SELECT batch, coalesce((SELECT run_id FROM batches WHERE batch_id = loss.batch), 0), from_ns, "
                    "to_ns, count, reason FROM loss NOT INDEXED ORDER BY batch, rowid",
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
        g.from_wall_ns = wall_of(a.run_id, run_end_ns(ends[a.run_id]));
        g.to_wall_ns = b.started_wall_ns;
        g.reboot = a.boot_id != b.boot_id;
        v_.gaps.push_back(g);
    }
    return ok;
}

}  // namespace lineage::verify_detail
