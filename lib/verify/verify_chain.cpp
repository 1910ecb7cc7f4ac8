// The hash chain: every batch's link to the one before and its own hash,
// recomputed from the rows it holds now (schema/hash-chain.md), and the
// rows that belong to no batch.
#include <algorithm>

#include <fmt/format.h>

#include "saturate.h"
#include "verifier.h"

namespace lineage::verify_detail {

// Every stored link first, so that a chain break can say which batch a
// misplaced prev_hash belongs to.
bool Verifier::load_links() {
    auto stmt = db_.prepare("SELECT batch_id, hash FROM batches NOT INDEXED ORDER BY batch_id");
    if (!stmt) {
        no_chain();
        return false;
    }
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        BatchLink link;
        link.batch_id = stmt->int64(0);
        if (auto h = hash_column(stmt->get(), 1)) {
            link.hash = *h;
            by_hash_.emplace(link.hash, link.batch_id);
        }
        v_.links.push_back(link);
    }
    if (rc != SQLITE_DONE) return read_failed("batches");
    return true;
}

// Rows whose batch is not an integer belong to no batch (SQLite compares
// 7.5 or '7' with 7 in ways the chain must not rely on).
void Verifier::outside_batch_rows() {
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (!table_in_version(t, v_.user_version)) continue;
        each(table_name(t),
             fmt::format("SELECT rowid FROM {} NOT INDEXED WHERE typeof(batch) != 'integer'", table_name(t)),
             [&](Stmt& st) {
                 add(Finding{FindingKind::outside_batch, 0, table_name(t), st.int64(0), false,
                             "its batch is not an integer"});
             });
    }
}

// A row of a pruned batch that pruning keeps.
bool Verifier::kept_from_prune(const TableCursor& c) const {
    return v_.pruned && kept_when_pruned(c.table) && c.batch >= 1 && c.batch <= v_.pruned->through_batch;
}

bool Verifier::open_cursors(bool sorted) {
    for (size_t i = 0; i < kChainTableCount; ++i) {
        ChainTable t = table_at(i);
        auto& c = cursors_[i];
        c = TableCursor{};
        c.table = t;
        if (!table_in_version(t, v_.user_version)) continue;  // no rows: has_row stays false
        // In rowid order, a plain scan: with no ORDER BY, since statistics
        // planted in sqlite_stat1 that call the table tiny make SQLite sort
        // it for an ORDER BY rowid, in a temporary B-tree as large as the
        // table. advance() checks the order the rows come in.
        const std::string sql =
            fmt::format("SELECT rowid, batch, {} FROM {} NOT INDEXED WHERE typeof(batch) = 'integer'{}",
                        chain_columns(t), table_name(t), sorted ? " ORDER BY batch, rowid" : "");
        auto stmt = db_.prepare(sql);
        if (!stmt) {
            no_chain();
            return false;
        }
        c.stmt = std::move(*stmt);
        c.columns = sqlite3_column_count(c.stmt.get());
        if (!advance(c)) return false;
    }
    return true;
}

// Steps a cursor; false on a read error (recorded) or, when reading in
// rowid order, on a batch that goes back or a rowid that does not go up
// (need_sorted_).
bool Verifier::advance(TableCursor& c) {
    if (!c.step()) {
        if ((sqlite3_errcode(db_.get()) & 0xff) == SQLITE_TOOBIG) return oversized(c);
        return read_failed(table_name(c.table));
    }
    if (!c.in_order && !sorted_) {
        need_sorted_ = true;
        return false;
    }
    return true;
}

// No row lineage writes has a value over the reader's length limit
// (ReadLimits), so such a row was put there, and SQLite refuses to read it
// (before allocating it: a 900 MB argv costs a reader nothing). It cannot
// be hashed either: the finding names it, and verify reads no further.
// Rows are looked at in rowid order after the last one the cursor read (in
// rowid order) or from the first (sorted: the sort reads every row first).
// One scan and a look-up by rowid per row: plans no statistics change (a
// range of rowids, or NOT INDEXED on a look-up, would let planted ones
// make either a scan and a sort).
bool Verifier::oversized(const TableCursor& c) {
    const char* name = table_name(c.table);
    auto next = db_.prepare(fmt::format("SELECT rowid, batch FROM {} NOT INDEXED", name));
    auto row = db_.prepare(fmt::format("SELECT {} FROM {} WHERE rowid = ?1", chain_columns(c.table), name));
    if (!next || !row) return read_failed(name);
    const bool after = !sorted_;
    const int64_t last = c.rowid;
    for (;;) {
        if (next->step() != SQLITE_ROW) return read_failed(name);
        const int64_t rowid = next->int64(0);
        if (after && rowid <= last) continue;
        const int64_t batch = next->int64(1);
        row->reset();
        row->bind(1, rowid);
        const int rc = row->step();
        if (rc == SQLITE_ROW) continue;
        if ((rc & 0xff) != SQLITE_TOOBIG) return read_failed(name);
        oversized_ = true;
        add(Finding{FindingKind::modified, batch, name, rowid, false,
                    fmt::format("{}; no row lineage writes has one, and the row cannot be hashed: nothing after it "
                                "was verified",
                                db_.errmsg())});
        return false;
    }
}

void Verifier::outside_batch(const TableCursor& c) {
    add(Finding{FindingKind::outside_batch, 0, table_name(c.table), c.rowid, false,
                fmt::format("names batch {}, which does not exist", c.batch)});
}

bool Verifier::verify_chain(bool sorted) {
    sorted_ = sorted;
    if (!open_cursors(sorted)) return false;
    auto batches = db_.prepare(
        "SELECT batch_id, run_id, committed_ns, row_count, row_marks, prev_hash, hash FROM batches NOT INDEXED "
        "ORDER BY batch_id");
    if (!batches) {
        no_chain();
        return false;
    }
    BatchHasher hasher;
    std::array<std::vector<int64_t>, kChainTableCount> rowids;
    std::array<int64_t, kChainTableCount> last_rowid{};
    std::string marks;
    bool have_prev = false;
    int64_t prev_id = 0;
    Hash prev_stored{};
    size_t link_index = 0;
    int rc;
    while ((rc = batches->step()) == SQLITE_ROW) {
        sqlite3_stmt* b = batches->get();
        BatchHeader header{sqlite3_column_int64(b, 0), sqlite3_column_int64(b, 1), sqlite3_column_int64(b, 2),
                           sqlite3_column_int64(b, 3)};
        const int64_t id = header.batch_id;
        std::string_view stored_marks = blob_column(b, 4);
        auto stored_prev = hash_column(b, 5);
        auto stored_hash = hash_column(b, 6);

        hasher.clear();
        for (auto& r : rowids) r.clear();
        RowEncoder& enc = enc_;
        for (size_t i = 0; i < kChainTableCount; ++i) {
            TableCursor& c = cursors_[i];
            while (c.has_row && c.batch < id) {
                if (!kept_from_prune(c)) outside_batch(c);
                if (!advance(c)) return false;
            }
            while (c.has_row && c.batch == id) {
                c.encode(enc);
                hasher.add_row(enc);
                rowids[i].push_back(c.rowid);
                if (!advance(c)) return false;
            }
        }
        for (size_t i = 0; i < kChainTableCount; ++i) v_.rows += static_cast<int64_t>(rowids[i].size());

        // The link to the batch before.
        bool link_ok = false;
        if (!stored_prev) {
            add(Finding{FindingKind::batch_modified, id, "batches", id, false, "prev_hash is not 32 bytes"});
        } else if (!have_prev) {
            if (id != 1 && v_.pruned && v_.pruned->through_batch == sat_sub(id, 1)) {
                // Pruned by retention: the chain goes on from the hash
                // the prune recorded for the last batch it deleted.
                if (*stored_prev == v_.pruned->through_hash) {
                    link_ok = true;
                } else {
                    add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                                fmt::format("prev_hash is not the hash the prune in batch {} recorded for batch {}, "
                                            "the last one it deleted",
                                            v_.pruned->batch, sat_sub(id, 1))});
                }
            } else if (v_.pruned && id <= v_.pruned->through_batch) {
                add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                            fmt::format("the prune in batch {} says batches 1-{} were deleted, but batch {} is here",
                                        v_.pruned->batch, v_.pruned->through_batch, id)});
            } else if (id != 1) {
                add(Finding{FindingKind::batch_missing, 1, "", std::nullopt, false,
                            v_.pruned ? fmt::format("the journal starts at batch {}: batches {}-{} are missing (the "
                                                    "last prune, in batch {}, deleted batches 1-{} only)",
                                                    id, sat_add(v_.pruned->through_batch, 1), sat_sub(id, 1),
                                                    v_.pruned->batch, v_.pruned->through_batch)
                                      : fmt::format("the journal starts at batch {}: batches 1-{} are missing", id,
                                                    sat_sub(id, 1))});
            } else if (v_.pruned) {
                add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                            fmt::format("the prune in batch {} says batches 1-{} were deleted, but batch 1 is here",
                                        v_.pruned->batch, v_.pruned->through_batch)});
            } else if (*stored_prev != zero_hash()) {
                std::string k = where_hash_points(*stored_prev);
                add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                            k.empty() ? "batch 1 must chain to 32 zero bytes"
                                      : fmt::format("batch 1 must chain to 32 zero bytes; its prev_hash is the "
                                                    "hash of batch {} (batches reordered)",
                                                    k)});
            } else {
                link_ok = true;
            }
        } else if (id != sat_add(prev_id, 1)) {
            add(Finding{FindingKind::batch_missing, sat_add(prev_id, 1), "", std::nullopt, false,
                        id == sat_add(prev_id, 2)
                            ? fmt::format("batch {} is missing", sat_add(prev_id, 1))
                            : fmt::format("batches {}-{} are missing", sat_add(prev_id, 1), sat_sub(id, 1))});
        } else if (*stored_prev != prev_stored) {
            std::string k = where_hash_points(*stored_prev);
            std::string why;
            if (*stored_prev == zero_hash()) {
                why = "prev_hash is 32 zero bytes: a second chain starts here";
            } else if (!k.empty()) {
                why = fmt::format(
                    "prev_hash is the hash of batch {}, not of batch {}: batches were reordered or "
                    "renumbered",
                    k, prev_id);
            } else {
                why = fmt::format(
                    "prev_hash is not the hash of batch {}: batch {} was changed and re-hashed, or "
                    "replaced",
                    prev_id, prev_id);
            }
            add(Finding{FindingKind::chain_break, id, "", std::nullopt, false, why});
        } else {
            link_ok = true;
        }

        // The batch's own hash.
        Hash computed = hasher.link(stored_prev ? *stored_prev : zero_hash(), header);
        bool hash_ok = stored_hash && computed == *stored_hash;
        if (hash_ok) {
            hasher.row_marks(marks);
            if (marks != stored_marks) {
                add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                            "row_marks differ from the batch's rows (its hash verifies)"});
            }
        } else if (!stored_hash) {
            add(Finding{FindingKind::batch_modified, id, "batches", id, false, "hash is not 32 bytes"});
        } else {
            locate(header, stored_marks, hasher, rowids, last_rowid);
        }
        for (size_t i = 0; i < kChainTableCount; ++i) {
            if (!rowids[i].empty()) last_rowid[i] = std::max(last_rowid[i], rowids[i].back());
        }
        if (link_index < v_.links.size() && v_.links[link_index].batch_id == id) {
            v_.links[link_index].verified = hash_ok && link_ok;
        }
        ++link_index;
        ++v_.batches;
        if (v_.first_batch == 0) v_.first_batch = id;
        v_.last_batch = id;
        have_prev = true;
        prev_id = id;
        prev_stored = stored_hash ? *stored_hash : zero_hash();
    }
    if (rc != SQLITE_DONE) return read_failed("batches");
    for (auto& c : cursors_) {
        while (c.has_row) {
            if (!kept_from_prune(c)) outside_batch(c);
            if (!advance(c)) return false;
        }
    }
    // A digest that failed (OpenSSL gone wrong mid-run) would show as
    // tampering everywhere; it is an error of this run instead.
    if (!hasher.ok()) {
        fatal = Error{fmt::format("{}: SHA-256 failed while the chain was verified (OpenSSL)", v_.path)};
        return false;
    }
    check_kept_rows();
    outside_batch_rows();
    return true;
}

}  // namespace lineage::verify_detail
