// Retention's prunes: where the journal now starts, and the rows of pruned
// batches that pruning keeps (runs, clock samples, pods...), which each
// prune committed to with a digest.
#include <algorithm>

#include <fmt/format.h>

#include "saturate.h"
#include "verifier.h"

namespace lineage::verify_detail {

// The prunes (retention), in the order they were made. The newest says
// where the journal now starts; each one's kept_digest chains to the one
// before (check_kept_rows). Only rows with an integer batch count: any
// other is outside every batch (outside_batch_rows).
bool Verifier::load_prunes() {
    if (!table_in_version(ChainTable::prunes, v_.user_version)) return true;
    bool ok = each("prunes",
                   "SELECT batch, through_batch, through_hash, through_wall_ns, rows, kept_digest, reason "
                   "FROM prunes NOT INDEXED WHERE typeof(batch) = 'integer' ORDER BY through_batch, rowid",
                   [&](Stmt& st) {
                       PruneRow r;
                       r.batch = st.int64(0);
                       r.through_batch = st.int64(1);
                       if (auto h = hash_column(st.get(), 2)) r.through_hash = *h;
                       r.through_wall_ns = st.int64(3);
                       r.rows = st.int64(4);
                       if (auto h = hash_column(st.get(), 5)) r.kept_digest = *h;
                       r.reason = st.text(6);
                       prunes_.push_back(r);
                   });
    if (!ok || prunes_.empty()) return ok;
    const PruneRow& newest = prunes_.back();
    PruneSummary p;
    p.prunes = static_cast<int64_t>(prunes_.size());
    for (const auto& r : prunes_) p.rows = sat_add(p.rows, r.rows);
    p.batch = newest.batch;
    p.through_batch = newest.through_batch;
    p.through_hash = newest.through_hash;
    p.through_wall_ns = newest.through_wall_ns;
    p.reason = newest.reason;
    v_.pruned = p;
    return true;
}

// The kept rows of pruned batches are what the prunes committed to, byte
// for byte: each prune's digest is recomputed from the one before it and
// the kept rows in its range, in one pass over each kept table.
void Verifier::check_kept_rows() {
    if (prunes_.empty()) return;
    struct Cursor {
        ChainTable table;
        Stmt stmt;
        bool has_row = false;
    };
    std::vector<Cursor> cursors;
    auto step = [&](Cursor& c) {
        int rc = c.stmt.step();
        c.has_row = rc == SQLITE_ROW;
        return rc == SQLITE_ROW || rc == SQLITE_DONE;
    };
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (!kept_when_pruned(t) || !table_in_version(t, v_.user_version)) continue;
        auto stmt = db_.prepare(fmt::format(
            "SELECT batch, {} FROM {} NOT INDEXED WHERE typeof(batch) = 'integer' AND batch >= 1 ORDER BY batch, rowid",
            chain_columns(t), table_name(t)));
        if (!stmt) {
            read_failed(table_name(t));
            return;
        }
        cursors.push_back(Cursor{t, std::move(*stmt)});
        if (!step(cursors.back())) {
            read_failed(table_name(t));
            return;
        }
    }
    RowEncoder row;
    Hash previous{};
    for (const PruneRow& p : prunes_) {
        KeptDigest kept(previous);
        for (auto& c : cursors) {
            kept.begin_table(c.table);
            while (c.has_row && sqlite3_column_int64(c.stmt.get(), 0) <= p.through_batch) {
                encode_stored_row(c.stmt.get(), 1, c.table, row);
                kept.add_row(sqlite3_column_int64(c.stmt.get(), 0), row.encoded());
                if (!step(c)) {
                    read_failed(table_name(c.table));
                    return;
                }
            }
            kept.end_table();
        }
        const Hash digest = kept.finish();
        // As for the chain: a digest that failed would read as tampering;
        // it is an error of this run instead.
        if (!kept.ok()) {
            fatal =
                Error{fmt::format("{}: SHA-256 failed while the rows kept by prunes were verified (OpenSSL)", v_.path)};
            return;
        }
        if (digest != p.kept_digest) {
            add(Finding{FindingKind::modified, p.batch, "", std::nullopt, false,
                        fmt::format("rows kept from pruned batches up to {} (runs, clock_samples, pods, "
                                    "run_stops, prunes, cgroups) differ from what the prune in batch {} committed to",
                                    p.through_batch, p.batch)});
        }
        // The next prune chains to what this one recorded: one edit is
        // one finding, at the prune that covered it.
        previous = p.kept_digest;
    }
    // The newest prune is in a batch after the ones it pruned, and that
    // batch is here: a prune row in a pruned batch, or in none, is no
    // prune the chain vouches for.
    const PruneRow& newest = prunes_.back();
    const bool present =
        std::any_of(v_.links.begin(), v_.links.end(), [&](const BatchLink& l) { return l.batch_id == newest.batch; });
    if (!present || newest.batch <= newest.through_batch) {
        add(Finding{FindingKind::added, newest.batch, "prunes", std::nullopt, false,
                    fmt::format("the prune of batches up to {} names batch {}, which is not a batch after them",
                                newest.through_batch, newest.batch)});
    }
}

}  // namespace lineage::verify_detail
