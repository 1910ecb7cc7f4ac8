// Table unexited (schema version 5): the writer's restatements of the
// processes that its boot's rows name and no exit row ends. Why: a bare
// time window shows every process alive in it, and a process the journal
// never saw end (it still runs, or its exit was lost) is alive to the end
// of the journal, however long ago it started. Only a pass over every row
// of its boot can find those; with a set, a reader takes the boot's last
// one and reads only the rows after it (schema/journal.sql, "version 5").
//
// The set is kept from the rows as they are committed, not from the
// kernel's view: it restates what the journal says, so that a reader's
// answer is the one a full read gives, exits lost or not.

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "journal_rows.h"
#include "journal_writer.h"

namespace lineage {

JournalWriter::TickKey JournalWriter::tick_key(uint32_t tgid, int64_t start_ns) const {
    // Floor division: an imported journal's start times can be anything.
    int64_t tick = start_ns / ns_per_tick_;
    if (start_ns % ns_per_tick_ < 0) --tick;
    return TickKey{tgid, tick};
}

void JournalWriter::note_named(uint32_t tgid, int64_t start_ns) {
    if (unexited_on_) batch_named_.emplace_back(tick_key(tgid, start_ns), start_ns);
}

void JournalWriter::note_ended(uint32_t tgid, int64_t start_ns) {
    if (unexited_on_) batch_ended_.push_back(tick_key(tgid, start_ns));
}

void JournalWriter::give_up_unexited() {
    unexited_on_ = false;
    unexited_.clear();
    unexited_ = {};
    batch_named_.clear();
    batch_ended_.clear();
}

Status JournalWriter::start_unexited(const std::string& boot_id, int64_t clk_tck) {
    const int64_t tick = clk_tck > 0 && clk_tck <= 1'000'000'000 ? 1'000'000'000 / clk_tck : 10'000'000;
    if (boot_id == unexited_boot_ && tick == ns_per_tick_ && unexited_on_) return Ok{};  // this writer's own set
    give_up_unexited();
    unexited_boot_ = boot_id;
    ns_per_tick_ = tick;
    unexited_on_ = true;
    unexited_rows_since_ = 0;
    unexited_from_batch_ = batch_id_;  // this run's first batch, unless the journal's last set covers more

    // The journal's last set: scanned backwards from the end over its members
    // to its header (no index: a set is read once per run, here, and by
    // readers through rowid ranges).
    int64_t header_rowid = 0, header_batch = 0, from_batch = 0;
    {
        auto last = db_.prepare(
            "SELECT rowid, batch, from_batch FROM unexited NOT INDEXED WHERE tgid = 0 ORDER BY rowid DESC LIMIT 1");
        if (!last) return Error{fmt::format("{}: cannot read unexited: {}", path_, last.error().message)};
        const int rc = last->step();
        if (rc == SQLITE_ROW) {
            header_rowid = last->int64(0);
            header_batch = last->int64(1);
            from_batch = last->int64(2);
        } else if (rc != SQLITE_DONE) {
            return db_error("cannot read unexited", rc);
        }
    }
    if (header_rowid == 0) return Ok{};
    {
        auto boot = db_.prepare(
            "SELECT r.boot_id, r.clk_tck FROM batches b JOIN runs r ON r.run_id = b.run_id WHERE b.batch_id = ?1");
        if (!boot) return Error{fmt::format("{}: cannot read batches: {}", path_, boot.error().message)};
        boot->bind(1, header_batch);
        const int rc = boot->step();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error("cannot read batches", rc);
        // Another boot's set, or a tick of another length: this run starts
        // its own (readers read the boot's rows before from_batch).
        if (rc == SQLITE_DONE || boot->text(0) != boot_id || boot->int64(1) != clk_tck) return Ok{};
    }

    // The set, then the rows after its batch: the previous runs' of this
    // boot (a recorder that stopped, or crashed), in the order a reader
    // reads them. An exit ends what any row of its tick named.
    auto read = [&](const std::string& sql, int64_t from_rowid, auto&& fn) -> Status {
        auto s = db_.prepare(sql);
        if (!s)
            return Error{fmt::format("{}: cannot read the journal's last unexited set: {}", path_, s.error().message)};
        s->bind(1, from_rowid);
        int rc;
        while ((rc = s->step()) == SQLITE_ROW) fn(*s);
        if (rc != SQLITE_DONE) return db_error("cannot read the journal's last unexited set", rc);
        return Ok{};
    };
    auto name = [&](Stmt& s) {
        const TickKey key = tick_key(static_cast<uint32_t>(s.int64(0)), s.int64(1));
        unexited_.try_emplace(key, s.int64(1));
    };
    if (auto st = read("SELECT tgid, start_ns FROM unexited NOT INDEXED WHERE rowid > ?1", header_rowid, name); !st)
        return st;
    struct Named {
        ChainTable table;
        const char* tgid;
        const char* start;
        const char* also;
    };
    const Named named[] = {{ChainTable::snapshot, "tgid", "start_ns", ""},
                           {ChainTable::fork, "child_tgid", "child_start_ns", ""},
                           {ChainTable::exec, "tgid", "start_ns", ""},
                           {ChainTable::connect, "tgid", "start_ns", ""},
                           {ChainTable::memberships, "tgid", "start_ns", " AND how != 'alive'"},
                           {ChainTable::carried, "tgid", "start_ns", ""},
                           {ChainTable::exit, "tgid", "start_ns", ""}};
    for (const Named& n : named) {
        const char* table = table_name(n.table);
        auto through = last_rowid_through(db_, table, header_batch);
        if (!through) return Error{fmt::format("{}: {}", path_, through.error().message)};
        const std::string sql = fmt::format("SELECT {}, {} FROM {} NOT INDEXED WHERE rowid > ?1{} ORDER BY rowid",
                                            n.tgid, n.start, table, n.also);
        Status st =
            n.table == ChainTable::exit
                ? read(sql, *through,
                       [&](Stmt& s) { unexited_.erase(tick_key(static_cast<uint32_t>(s.int64(0)), s.int64(1))); })
                : read(sql, *through, name);
        if (!st) return st;
        if (unexited_.size() > unexited_max_) {
            give_up_unexited();
            return Ok{};
        }
    }
    unexited_from_batch_ = from_batch;
    // Restated in this run's first commit: the rows read here are then
    // behind a set again.
    unexited_rows_since_ = SIZE_MAX / 2;
    return Ok{};
}

Status JournalWriter::restate_unexited(bool force) {
    // One set per batch: end_run's, then commit's check, find it there.
    if (!unexited_on_ || batch_id_ == 0 || unexited_restated_) return Ok{};
    const size_t changes = batch_named_.size() + batch_ended_.size();
    const size_t since = unexited_rows_since_ + changes;
    const bool due = since >= std::max(unexited_every_rows_, 4 * unexited_.size());
    if (!due && !(force && since > 0)) return Ok{};
    std::unordered_set<TickKey, TickKeyHash> ended(batch_ended_.begin(), batch_ended_.end());
    if (unexited_.size() + batch_named_.size() > unexited_max_) {
        // Too many to restate (exits lost on a busy node, or a fork bomb):
        // this run writes no more sets, and readers read the rows after the
        // last one. Memory stays bounded, the answers stay right.
        give_up_unexited();
        return Ok{};
    }
    Row(enc_, ChainTable::unexited).integer(0).integer(0).integer(unexited_from_batch_);
    if (auto st = insert_row(); !st) return st;
    auto member = [&](const TickKey& key, int64_t start_ns) -> Status {
        if (ended.count(key)) return Ok{};
        Row(enc_, ChainTable::unexited).integer(int64_t{key.tgid}).integer(start_ns).integer(0);
        return insert_row();
    };
    for (const auto& [key, start_ns] : unexited_) {
        if (auto st = member(key, start_ns); !st) return st;
    }
    std::unordered_set<TickKey, TickKeyHash> added;
    for (const auto& [key, start_ns] : batch_named_) {
        if (unexited_.count(key) || !added.insert(key).second) continue;
        if (auto st = member(key, start_ns); !st) return st;
    }
    unexited_restated_ = true;
    return Ok{};
}

void JournalWriter::apply_unexited() {
    if (unexited_on_) {
        unexited_rows_since_ += batch_named_.size() + batch_ended_.size();
        for (const auto& [key, start_ns] : batch_named_) unexited_.try_emplace(key, start_ns);
        for (const TickKey& key : batch_ended_) unexited_.erase(key);
        if (unexited_restated_) unexited_rows_since_ = 0;
        if (unexited_.size() > unexited_max_) give_up_unexited();
    }
    batch_named_.clear();
    batch_ended_.clear();
    unexited_restated_ = false;
}

}  // namespace lineage
