// Retention's side of the writer: how much the journal holds, where a prune
// should end, and the prune itself (JournalWriter::prune_through). Retention
// (retention.h) decides when.
#include <cstring>

#include <fmt/format.h>

#include "journal_writer.h"

namespace lineage {

Result<int64_t> JournalWriter::used_bytes() {
    auto pages = query_int(db_, "PRAGMA page_count");
    auto free_pages = query_int(db_, "PRAGMA freelist_count");
    auto page_size = query_int(db_, "PRAGMA page_size");
    if (!pages || !free_pages || !page_size) {
        return db_error("cannot read the journal's size", sqlite3_errcode(db_.get()));
    }
    return (*pages - *free_pages) * *page_size;
}

Result<int64_t> JournalWriter::prunable_rows() {
    int64_t rows = 0;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (kept_when_pruned(t)) continue;
        auto n = query_int(db_, fmt::format("SELECT coalesce(max(rowid) - min(rowid) + 1, 0) FROM {}", table_name(t)));
        if (!n) return db_error(fmt::format("cannot read {}", table_name(t)), sqlite3_errcode(db_.get()));
        rows += *n;
    }
    return rows;
}

// Retention's wall clock is ClockMap's rule, the one the model (and so
// reconstruct and verify) applies: a batch is as old as reconstruct says it
// is. runs and clock_samples are never changed, and a prune keeps them, so
// each row is read once: the rows after the last one read, of committed
// batches only (the open batch may still be given up). They are few (a
// row per recorder start, a sample per hour or clock step).
Status JournalWriter::update_clock() {
    auto runs = db_.prepare(
        "SELECT rowid, run_id, boot_id, started_ns, started_wall_ns FROM runs "
        "WHERE rowid > ?1 AND batch <= ?2 ORDER BY rowid");
    if (!runs) return db_error("cannot read runs", sqlite3_errcode(db_.get()));
    runs->bind(1, clock_runs_read_);
    runs->bind(2, head_.batch_id);
    int rc;
    while ((rc = runs->step()) == SQLITE_ROW) {
        clock_runs_read_ = runs->int64(0);
        const std::string boot_id = runs->text(2);
        run_boots_[runs->int64(1)] = boot_id;
        // As Model::add_run: a start without a wall-clock time is no sample.
        if (runs->int64(4) != 0) clock_.add_sample(boot_id, runs->int64(3), runs->int64(4));
    }
    if (rc != SQLITE_DONE) return db_error("cannot read runs", rc);

    auto samples = db_.prepare(
        "SELECT rowid, run_id, boot_ns, wall_ns FROM clock_samples WHERE rowid > ?1 AND batch <= ?2 ORDER BY rowid");
    if (!samples) return db_error("cannot read clock_samples", sqlite3_errcode(db_.get()));
    samples->bind(1, clock_samples_read_);
    samples->bind(2, head_.batch_id);
    while ((rc = samples->step()) == SQLITE_ROW) {
        clock_samples_read_ = samples->int64(0);
        // As the loader: a sample of a run the journal does not name counts for no boot.
        auto run = run_boots_.find(samples->int64(1));
        if (run != run_boots_.end()) clock_.add_sample(run->second, samples->int64(2), samples->int64(3));
    }
    if (rc != SQLITE_DONE) return db_error("cannot read clock_samples", rc);
    return Ok{};
}

Result<int64_t> JournalWriter::prune_point(int64_t max_rows, std::optional<int64_t> cutoff_wall_ns) {
    if (auto st = update_clock(); !st) return st.error();
    // Oldest first, and only as far as needed: a prune reads the batches it
    // deletes and one more, not the whole table.
    auto stmt = db_.prepare(
        "SELECT batch_id, row_count, run_id, committed_ns FROM batches WHERE batch_id < ?1 ORDER BY batch_id");
    if (!stmt) return db_error("cannot read batches", sqlite3_errcode(db_.get()));
    stmt->bind(1, head_.batch_id);  // never the last committed batch
    int64_t through = 0, rows = 0;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        // A batch of a run the journal does not name has no time: it is
        // neither a prune point nor counted (it goes with the batches
        // around it).
        const auto run = run_boots_.find(stmt->int64(2));
        if (run == run_boots_.end()) continue;
        if (cutoff_wall_ns && clock_.to_wall(run->second, stmt->int64(3)) >= *cutoff_wall_ns) break;
        through = stmt->int64(0);
        rows += stmt->int64(1);
        if (rows >= max_rows) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error("cannot read batches", rc);
    return through;
}

namespace {
// The highest rowid of `table` whose batch is <= through_batch. Rows are
// appended in batch order, so batch grows with rowid: a binary search over
// rowids (the tables have no index on batch, and need none).
Result<int64_t> last_rowid_through(Database& db, const char* table, int64_t through_batch) {
    auto bounds = db.prepare(fmt::format("SELECT min(rowid), max(rowid) FROM {}", table));
    auto at = db.prepare(fmt::format("SELECT rowid, batch FROM {} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1", table));
    if (!bounds || !at) return Error{fmt::format("cannot read {}: {}", table, db.errmsg())};
    if (bounds->step() != SQLITE_ROW) return Error{fmt::format("cannot read {}: {}", table, db.errmsg())};
    if (sqlite3_column_type(bounds->get(), 0) == SQLITE_NULL) return int64_t{0};
    int64_t lo = bounds->int64(0), hi = bounds->int64(1);
    // The batch of the first row at or after `rowid` (and that row's rowid
    // in *found); nullopt when there is none. A read error is an error: a
    // prune that guessed would delete batches and leave their rows.
    bool failed = false;
    auto batch_at = [&](int64_t rowid, int64_t* found) -> std::optional<int64_t> {
        at->reset();
        at->bind(1, rowid);
        int rc = at->step();
        if (rc == SQLITE_ROW) {
            *found = at->int64(0);
            return at->int64(1);
        }
        if (rc != SQLITE_DONE) failed = true;
        return std::nullopt;
    };
    auto read_error = [&] { return Error{fmt::format("cannot read {}: {}", table, db.errmsg())}; };
    int64_t found = 0;
    auto first = batch_at(lo, &found);
    if (failed) return read_error();
    if (!first || *first > through_batch) return int64_t{0};
    auto last = batch_at(hi, &found);
    if (failed) return read_error();
    if (last && *last <= through_batch) return hi;
    // lo: a rowid whose batch is <= through_batch; every rowid >= hi is
    // beyond it.
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        auto b = batch_at(mid, &found);
        if (failed) return read_error();
        if (!b || found >= hi || *b > through_batch) {
            hi = mid;
        } else {
            lo = found;
        }
    }
    return lo;
}
}  // namespace

Result<PruneResult> JournalWriter::prune_through(int64_t through_batch, const std::string& reason, int64_t now_ns) {
    if (batch_id_ != 0) return Error{fmt::format("{}: cannot prune with a batch open", path_)};
    auto fail = [&](const std::string& what) -> Error {
        int rc = sqlite3_errcode(db_.get());
        abort_batch();
        return Error{fmt::format("{}: cannot prune: {}", path_, what), rc};
    };
    if (auto st = update_clock(); !st) return st.error();
    auto through = db_.prepare("SELECT hash, run_id, committed_ns FROM batches WHERE batch_id = ?1");
    if (!through) return fail(through.error().message);
    through->bind(1, through_batch);
    const int found = through->step();
    if (found != SQLITE_ROW && found != SQLITE_DONE) {
        return db_error("cannot read batches", sqlite3_errcode(db_.get()));
    }
    const auto run = found == SQLITE_ROW ? run_boots_.find(through->int64(1)) : run_boots_.end();
    if (run == run_boots_.end()) {
        return Error{fmt::format("{}: cannot prune through batch {}: no such batch", path_, through_batch)};
    }
    const std::string through_hash = through->blob(0);
    const int64_t through_wall_ns = clock_.to_wall(run->second, through->int64(2));
    through = Stmt();

    if (auto st = ensure_batch(); !st) return st.error();
    PruneResult result;
    result.through_batch = through_batch;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (kept_when_pruned(t)) continue;
        auto last = last_rowid_through(db_, table_name(t), through_batch);
        if (!last) return fail(last.error().message);
        if (*last == 0) continue;
        auto del = db_.prepare(fmt::format("DELETE FROM {} WHERE rowid <= ?1", table_name(t)));
        if (!del) return fail(del.error().message);
        del->bind(1, *last);
        if (del->step() != SQLITE_DONE)
            return fail(fmt::format("cannot delete from {}: {}", table_name(t), db_.errmsg()));
        result.rows += sqlite3_changes(db_.get());
    }
    {
        auto del = db_.prepare("DELETE FROM batches WHERE batch_id <= ?1");
        if (!del) return fail(del.error().message);
        del->bind(1, through_batch);
        if (del->step() != SQLITE_DONE) return fail(fmt::format("cannot delete from batches: {}", db_.errmsg()));
    }
    // The kept rows new since the previous prune, in rowid order (which
    // is (batch, rowid) order in a journal this writer appended to).
    Hash previous{};
    int64_t previous_through = 0;
    {
        auto prev = db_.prepare("SELECT through_batch, kept_digest FROM prunes ORDER BY through_batch DESC LIMIT 1");
        if (!prev) return fail(prev.error().message);
        int rc = prev->step();
        if (rc == SQLITE_ROW) {
            previous_through = prev->int64(0);
            const std::string d = prev->blob(1);
            if (d.size() == kHashSize) std::memcpy(previous.data(), d.data(), kHashSize);
        } else if (rc != SQLITE_DONE) {
            return fail(fmt::format("cannot read prunes: {}", db_.errmsg()));
        }
    }
    KeptDigest kept(previous);
    RowEncoder row;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (!kept_when_pruned(t)) continue;
        auto from = last_rowid_through(db_, table_name(t), previous_through);
        auto to = last_rowid_through(db_, table_name(t), through_batch);
        if (!from) return fail(from.error().message);
        if (!to) return fail(to.error().message);
        auto rows = db_.prepare(fmt::format("SELECT batch, {} FROM {} WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid",
                                            chain_columns(t), table_name(t)));
        if (!rows) return fail(rows.error().message);
        rows->bind(1, *from);
        rows->bind(2, *to);
        kept.begin_table(t);
        int rc;
        while ((rc = rows->step()) == SQLITE_ROW) {
            encode_stored_row(rows->get(), 1, t, row);
            kept.add_row(rows->int64(0), row.encoded());
        }
        if (rc != SQLITE_DONE) return fail(fmt::format("cannot read {}: {}", table_name(t), db_.errmsg()));
        kept.end_table();
    }
    const Hash digest = kept.finish();
    if (!kept.ok()) {
        abort_batch();
        return Error{fmt::format("{}: cannot prune: {}", path_, kNoSha256)};
    }
    Row(enc_, ChainTable::prunes)
        .integer(through_batch)
        .blob(through_hash)
        .integer(through_wall_ns)
        .integer(result.rows)
        .blob(std::string_view(reinterpret_cast<const char*>(digest.data()), kHashSize))
        .text(reason);
    if (auto st = insert_row(); !st) {
        abort_batch();
        return st.error();
    }
    result.batch_id = batch_id_;
    if (auto st = commit(now_ns); !st) {
        abort_batch();
        return st.error();
    }
    return result;
}

}  // namespace lineage
