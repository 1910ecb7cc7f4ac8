// Retention's side of the writer: how much the journal holds, where a prune
// should end, and the prune itself (JournalWriter::prune_through). Retention
// (retention.h) decides when.
#include <cstring>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "journal_rows.h"
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
        auto n = query_int(db_, rowid_span_sql(table_name(t)));
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

// The highest rowid of `table` whose batch is <= through_batch. Rows are
// appended in batch order, so batch grows with rowid: a binary search over
// rowids (the tables have no index on batch, and need none).
Result<int64_t> last_rowid_through(Database& db, const char* table, int64_t through_batch) {
    // Two subqueries, not min(rowid), max(rowid): that would scan the table.
    auto bounds = db.prepare(fmt::format("SELECT (SELECT min(rowid) FROM {0}), (SELECT max(rowid) FROM {0})", table));
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

namespace {

// What a prune knows of one live process from the rows it is about to
// delete.
struct Identity {
    CarriedRow row;            // the newest image seen so far, as a carried row
    int64_t image_batch = -1;  // its batch; -1: only a fork seen (no image)
    bool precise = false;      // row.proc.start_ns is the kernel's, not a tick
    bool parent_from_fork = false;
    int64_t snapshot_batch = 0;  // the snapshot row's batch, to resolve its ppid
};
}  // namespace

Result<int64_t> JournalWriter::carry_forward(int64_t through_batch, const LiveProcesses& live) {
    const int64_t tick = live.ns_per_tick > 0 ? live.ns_per_tick : 1;
    const ChainTable identity_tables[] = {ChainTable::snapshot, ChainTable::fork, ChainTable::exec,
                                          ChainTable::carried};
    std::map<ChainTable, int64_t> last;
    for (ChainTable t : identity_tables) {
        auto l = last_rowid_through(db_, table_name(t), through_batch);
        if (!l) return l.error();
        last[t] = *l;
    }
    // (tgid, start tick) -> what the deleted rows say. Only the rows about
    // to be deleted are read (a prune's chunk), not the live processes'
    // rows elsewhere: the cost is that of the prune itself.
    std::map<std::pair<uint32_t, int64_t>, Identity> found;
    auto entry = [&](uint32_t tgid, int64_t start_ns, bool precise) -> Identity& {
        Identity& id = found[{tgid, start_ns / tick}];
        if (id.row.proc.tgid == 0 || (precise && !id.precise)) {
            id.row.proc = ProcRef{tgid, static_cast<uint64_t>(start_ns)};
            id.precise = precise;
        }
        return id;
    };
    auto read_error = [&](ChainTable t) {
        return Error{fmt::format("cannot read {}: {}", table_name(t), db_.errmsg()), sqlite3_errcode(db_.get())};
    };
    // Each table's deleted rows in rowid (so batch) order: a later row of a
    // process replaces an earlier one's image.
    auto scan = [&](ChainTable t, int tgid_col, int start_col, auto&& on_row) -> Status {
        if (last[t] == 0) return Ok{};
        auto rows = db_.prepare(
            fmt::format("SELECT {} FROM {} WHERE rowid <= ?1 ORDER BY rowid", select_list(t), table_name(t)));
        if (!rows) return read_error(t);
        rows->bind(1, last[t]);
        int rc;
        while ((rc = rows->step()) == SQLITE_ROW) {
            const auto tgid = static_cast<uint32_t>(rows->int64(tgid_col));
            const int64_t start = rows->int64(start_col);
            if (live.contains(tgid, start)) on_row(*rows, tgid, start);
        }
        if (rc != SQLITE_DONE) return read_error(t);
        return Ok{};
    };
    auto take_image = [](Identity& id, int64_t batch, const char* source) {
        if (batch < id.image_batch) return false;
        id.image_batch = batch;
        id.row.source = source;
        id.row.from_batch = batch;
        return true;
    };
    Status st = scan(ChainTable::snapshot, col<ChainTable::snapshot>("tgid"), col<ChainTable::snapshot>("start_ns"),
                     [&](Stmt& s, uint32_t tgid, int64_t start) {
                         Identity& id = entry(tgid, start, false);
                         const SnapshotRow r = snapshot_row(s);
                         if (!take_image(id, s.int64(0), "snapshot")) return;
                         id.snapshot_batch = s.int64(0);
                         id.row.time_ns = r.time_ns;
                         id.row.nspid = r.nspid;
                         id.row.uid = r.uid;
                         id.row.gid = r.gid;
                         id.row.euid = r.euid;
                         id.row.comm = r.comm;
                         id.row.binary = r.exe;
                         id.row.argv = r.argv;
                         id.row.cgroup_path = r.cgroup_path;
                         id.row.pod_uid = s.text(col<ChainTable::snapshot>("pod_uid"));
                         id.row.nodename = r.nodename;
                         if (!id.parent_from_fork) {
                             id.row.parent = ProcRef{r.ppid, 0};  // its start: below
                             id.row.parent_source = r.ppid != 0 ? "snapshot" : "";
                         }
                     });
    if (!st) return st.error();
    st = scan(ChainTable::fork, col<ChainTable::fork>("child_tgid"), col<ChainTable::fork>("child_start_ns"),
              [&](Stmt& s, uint32_t tgid, int64_t start) {
                  Identity& id = entry(tgid, start, true);
                  const ForkEvent e = fork_row(s);
                  id.row.parent = e.parent;
                  id.row.parent_source = "fork";
                  id.parent_from_fork = true;
                  if (id.image_batch >= 0) return;
                  // A child runs its parent's image until it execs.
                  id.row.source = "fork";
                  id.row.from_batch = s.int64(0);
                  id.row.time_ns = static_cast<int64_t>(e.time_ns);
                  id.row.comm = e.parent_comm;
              });
    if (!st) return st.error();
    auto exec_like = [&](Identity& id, int64_t batch, const char* source, int64_t time_ns, uint32_t nspid, uint32_t uid,
                         uint32_t gid, uint32_t euid, ProcRef parent, std::string parent_source, std::string comm,
                         std::string binary, std::string argv, std::string cgroup_path, std::string pod_uid,
                         std::string nodename) {
        if (!take_image(id, batch, source)) return;
        id.row.time_ns = time_ns;
        id.row.nspid = nspid;
        id.row.uid = uid;
        id.row.gid = gid;
        id.row.euid = euid;
        id.row.comm = std::move(comm);
        id.row.binary = std::move(binary);
        id.row.argv = std::move(argv);
        id.row.cgroup_path = std::move(cgroup_path);
        id.row.pod_uid = std::move(pod_uid);
        id.row.nodename = std::move(nodename);
        if (!id.parent_from_fork) {
            id.row.parent = parent;
            id.row.parent_source = std::move(parent_source);
        }
    };
    st = scan(ChainTable::exec, col<ChainTable::exec>("tgid"), col<ChainTable::exec>("start_ns"),
              [&](Stmt& s, uint32_t tgid, int64_t start) {
                  Identity& id = entry(tgid, start, true);
                  ExecEvent e = exec_row(s);
                  exec_like(id, s.int64(0), "exec", static_cast<int64_t>(e.time_ns), e.nspid, e.uid, e.gid, e.euid,
                            e.parent, "exec", std::move(e.comm), std::move(e.binary), std::move(e.argv),
                            std::move(e.cgroup_path), s.text(col<ChainTable::exec>("pod_uid")), std::move(e.nodename));
              });
    if (!st) return st.error();
    st = scan(ChainTable::carried, col<ChainTable::carried>("tgid"), col<ChainTable::carried>("start_ns"),
              [&](Stmt& s, uint32_t tgid, int64_t start) {
                  CarriedRow c = carried_row(s);
                  // As precise as the row it restated.
                  Identity& id = entry(tgid, start, c.source != "snapshot");
                  if (c.source == "fork" && id.image_batch >= 0) return;
                  if (c.source == "fork") {
                      id.row.parent = c.parent;
                      id.row.parent_source = c.parent_source;
                      id.parent_from_fork = true;
                      id.row.source = "fork";
                      id.row.from_batch = c.from_batch;
                      id.row.time_ns = c.time_ns;
                      id.row.comm = std::move(c.comm);
                      return;
                  }
                  // The restated row keeps its own kind and batch.
                  if (s.int64(0) < id.image_batch) return;
                  if (c.parent_source == "fork") id.parent_from_fork = false;  // the restated one is as good
                  exec_like(id, s.int64(0), "", c.time_ns, c.nspid, c.uid, c.gid, c.euid, c.parent, c.parent_source,
                            std::move(c.comm), std::move(c.binary), std::move(c.argv), std::move(c.cgroup_path),
                            std::move(c.pod_uid), std::move(c.nodename));
                  id.row.source = c.source;
                  id.row.from_batch = c.from_batch;
                  if (c.parent_source == "fork") id.parent_from_fork = true;
              });
    if (!st) return st.error();
    if (found.empty()) return int64_t{0};

    // A process whose identity survives the prune (a later exec, snapshot
    // or carried row) needs no carried row.
    auto survives = db_.prepare(
        "SELECT EXISTS (SELECT 1 FROM exec INDEXED BY exec_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND "
        "start_ns < ?3 AND rowid > ?4) OR EXISTS (SELECT 1 FROM carried INDEXED BY carried_by_proc WHERE tgid = ?1 "
        "AND start_ns >= ?2 AND start_ns < ?3 AND rowid > ?5) OR EXISTS (SELECT 1 FROM snapshot INDEXED BY "
        "snapshot_by_proc WHERE tgid = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND rowid > ?6)");
    // A snapshot's ppid is a PID of the same snapshot (the run's first batch).
    auto snapshot_parent =
        db_.prepare("SELECT start_ns FROM snapshot INDEXED BY snapshot_by_proc WHERE tgid = ?1 AND batch = ?2 LIMIT 1");
    if (!survives || !snapshot_parent) return Error{fmt::format("cannot read the journal: {}", db_.errmsg())};
    int64_t carried = 0;
    for (auto& [key, id] : found) {
        survives->reset();
        survives->bind(1, int64_t{key.first});
        survives->bind(2, key.second * tick);
        survives->bind(3, key.second * tick + tick);
        survives->bind(4, last[ChainTable::exec]);
        survives->bind(5, last[ChainTable::carried]);
        survives->bind(6, last[ChainTable::snapshot]);
        if (survives->step() != SQLITE_ROW) return Error{fmt::format("cannot read the journal: {}", db_.errmsg())};
        if (survives->int64(0) != 0) continue;
        if (id.row.parent_source == "snapshot" && id.row.parent.tgid != 0 && id.row.parent.start_ns == 0) {
            snapshot_parent->reset();
            snapshot_parent->bind(1, int64_t{id.row.parent.tgid});
            snapshot_parent->bind(2, id.snapshot_batch);
            int rc = snapshot_parent->step();
            if (rc == SQLITE_ROW) {
                id.row.parent.start_ns = static_cast<uint64_t>(snapshot_parent->int64(0));
            } else if (rc != SQLITE_DONE) {
                return Error{fmt::format("cannot read snapshot: {}", db_.errmsg())};
            }
        }
        if (auto added = add_carried(id.row); !added) return added.error();
        ++carried;
    }
    return carried;
}

Result<PruneResult> JournalWriter::prune_through(int64_t through_batch, const std::string& reason, int64_t now_ns,
                                                 const LiveProcesses& live) {
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
    // Before anything is deleted: the carried rows read the rows that go.
    if (live.contains) {
        auto carried = carry_forward(through_batch, live);
        if (!carried) return fail(carried.error().message);
        result.carried = *carried;
    }
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
        // Event rows (unexited sets only restate them).
        if (counts_in_row_count(t)) result.rows += sqlite3_changes(db_.get());
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
    // The prune may have deleted the boot's last set (table unexited): the
    // prune's batch restates it, so that readers need not read every kept
    // row of the boot to find the processes it names and never ended.
    if (unexited_on_) unexited_rows_since_ = SIZE_MAX / 2;
    if (auto st = commit(now_ns); !st) {
        abort_batch();
        return st.error();
    }
    return result;
}

}  // namespace lineage
