#include "journal_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "pod.h"

namespace lineage {

namespace {

// Encodes one row (every column in schema order, `batch` aside) for the
// chain. insert_row() binds the row's values from this encoding, so what is
// stored and what is hashed cannot drift apart.
class Row {
public:
    Row(RowEncoder& enc, ChainTable table) : enc_(enc) { enc_.begin(table); }
    Row& integer(int64_t v) {
        enc_.integer(v);
        return *this;
    }
    Row& text(std::string_view v) {
        enc_.text(v);
        return *this;
    }
    Row& blob(std::string_view v) {
        enc_.blob(v);
        return *this;
    }

private:
    RowEncoder& enc_;
};

// Binds one encoded row (RowEncoder's format, which this writer made) to
// parameters first, first + 1, ...: the batch, then each column. Text and
// blobs are bound without a copy, from the encoding itself: it must not
// change until the statement has been stepped and reset.
void bind_encoded(Stmt& stmt, int first, int64_t batch, std::string_view row) {
    stmt.bind(first, batch);
    int param = first + 1;
    decode_row(row, [&](const EncodedValue& v) {
        switch (v.type) {
            case RowEncoder::kInteger:
                stmt.bind(param, v.integer);
                break;
            case RowEncoder::kText:
                stmt.bind_static(param, v.bytes);
                break;
            case RowEncoder::kBlob:
                stmt.bind_blob_static(param, v.bytes);
                break;
            case RowEncoder::kReal:  // no journal column is REAL or NULL
                sqlite3_bind_double(stmt.get(), param, v.real);
                break;
            case RowEncoder::kNull:
                sqlite3_bind_null(stmt.get(), param);
                break;
        }
        ++param;
    });
}

// Parameters of one row of t's INSERT: the batch and every chain column.
int params_per_row(ChainTable t) {
    const std::string_view columns = chain_columns(t);
    return 2 + static_cast<int>(std::count(columns.begin(), columns.end(), ','));
}

// "INSERT OR ROLLBACK INTO t (batch, columns...) VALUES (?,...), ..." for
// `rows` rows. OR ROLLBACK: a failed insert gives up the whole batch, as
// the writer does anyway (abort_batch), and SQLite then keeps no statement
// journal. With the default ABORT, a multi-row INSERT copies every page it
// is about to change into one first, and that cost more than the
// multi-row INSERT saved.
std::string insert_sql(ChainTable t, size_t rows) {
    std::string one = "(?";
    for (int i = 1; i < params_per_row(t); ++i) one += ",?";
    one += ")";
    std::string sql = fmt::format("INSERT OR ROLLBACK INTO {} (batch, {}) VALUES ", table_name(t), chain_columns(t));
    for (size_t r = 0; r < rows; ++r) {
        if (r) sql += ",";
        sql += one;
    }
    return sql;
}

}  // namespace

Result<JournalWriter> JournalWriter::open(const std::string& path) {
    bool created = false;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        created = true;
        ::close(fd);
    } else if (errno != EEXIST) {
        return Error{fmt::format("{}: cannot create journal: {}", path, std::strerror(errno))};
    }
    if (!created) {
        if (auto st = check_sqlite_header(path); !st) return st.error();
    }

    auto db = Database::open_write(path);
    if (!db) return Error{fmt::format("{}: cannot open journal: {}", path, db.error().message)};

    JournalWriter w;
    w.path_ = path;
    w.db_ = std::move(*db);

    auto tables = query_int(w.db_, "SELECT count(*) FROM sqlite_schema");
    if (!tables) return Error{fmt::format("{}: cannot read journal: {}", path, tables.error().message)};
    if (*tables == 0) {
        auto app = query_int(w.db_, "PRAGMA application_id");
        if (!app || *app != 0) {
            return Error{fmt::format("{}: not a lineage journal (SQLite database of another application)", path)};
        }
        // A new journal: the schema file, in one transaction, on 4 KiB
        // pages (set before the first table exists; a journal keeps its page
        // size). Every commit writes each page it dirtied to the WAL whole:
        // the tail leaf of each table and index, some interior pages, the
        // header page. At the recorder's 100 ms batches that is most of what
        // a commit writes, so smaller pages cost less: 4 KiB pages took 12 %
        // less recorder CPU per event than 16 KiB ones in a fork+exec storm
        // (2 x 10,000, 4 alternating runs), with queries and verify on a
        // year-long journal no slower. Large batches (a backlog, bench_ingest's
        // 16,384 rows) favour 16 KiB pages by about 20 %, but they are rare.
        // Journals made with other page sizes keep theirs.
        if (auto st = w.db_.exec(fmt::format("PRAGMA page_size = {}; BEGIN;", kJournalPageSize) + journal_schema_sql() +
                                 "\nCOMMIT;");
            !st) {
            return Error{fmt::format("{}: cannot create schema: {}", path, st.error().message)};
        }
    }
    if (auto st = check_journal(w.db_, path); !st) return st.error();
    if (auto version = query_int(w.db_, "PRAGMA user_version"); version && *version < kJournalSchemaVersion) {
        if (auto st = w.upgrade_schema(*version); !st) return st.error();
    }

    // WAL: readers (reconstruct on a live node) never block the recorder.
    // synchronous=NORMAL: a crash of the recorder loses nothing committed; a
    // power cut may lose the last batches but never corrupts the file.
    // cache_size: 16 MiB of pages, so that index pages stay in memory while
    // the journal grows (the default 2 MiB halves the insert rate).
    // wal_autocheckpoint: 32 MiB of WAL (8192 pages of 4 KiB; fewer of an
    // older journal's 16 KiB ones) instead of 1000 pages. Every
    // checkpoint writes again each page touched since the last one, and the
    // index pages a batch touches are spread over the whole index: with
    // 4 MiB checkpoints the file was written 2.4 times over and the WAL read
    // back once more. Fewer, larger checkpoints cost 13 % less CPU per event
    // (bench_ingest, 1 M events). The slowest commit (with its checkpoint)
    // was no slower: 80-140 ms either way, most of it fdatasync.
    auto page_size = query_int(w.db_, "PRAGMA page_size");
    if (!page_size || *page_size <= 0) return Error{fmt::format("{}: cannot read the page size", path)};
    if (auto st = w.db_.exec(fmt::format("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                         "PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint={};",
                                         (32 << 20) / *page_size));
        !st) {
        return Error{fmt::format("{}: cannot set WAL mode: {}", path, st.error().message)};
    }
    if (auto st = w.prepare_statements(); !st) {
        return Error{fmt::format("{}: {}", path, st.error().message)};
    }
    // A new run continues the chain from the last committed batch.
    auto last = w.db_.prepare("SELECT batch_id, hash FROM batches ORDER BY batch_id DESC LIMIT 1");
    if (!last) return Error{fmt::format("{}: {}", path, last.error().message)};
    int rc = last->step();
    if (rc == SQLITE_ROW) {
        std::string hash = last->blob(1);
        if (hash.size() != kHashSize) {
            return Error{
                fmt::format("{}: batch {} has no valid hash; the chain cannot be continued", path, last->int64(0))};
        }
        w.head_.batch_id = last->int64(0);
        std::memcpy(w.head_.hash.data(), hash.data(), kHashSize);
    } else if (rc != SQLITE_DONE) {
        return Error{fmt::format("{}: cannot read batches: {}", path, w.db_.errmsg())};
    }
    w.next_batch_id_ = w.head_.batch_id + 1;
    return w;
}

// What a newer schema adds to an older journal: the tables and indexes of
// schema/journal.sql that the journal lacks, created from the statements of
// the schema itself (read back from an in-memory copy), so that the upgraded
// journal's sqlite_schema is what `verify` expects. Nothing existing changes.
Status JournalWriter::upgrade_schema(int64_t from_version) {
    auto mem = Database::open_write(":memory:");
    if (!mem) return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, mem.error().message)};
    if (auto st = mem->exec(journal_schema_sql()); !st) {
        return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, st.error().message)};
    }
    auto wanted = mem->prepare(
        "SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type = 'index', rowid");
    if (!wanted) return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, wanted.error().message)};
    std::string script = "BEGIN;";
    while (wanted->step() == SQLITE_ROW) {
        auto have = db_.prepare("SELECT count(*) FROM sqlite_schema WHERE name = ?1");
        if (!have) return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, have.error().message)};
        have->bind(1, wanted->text(0));
        if (have->step() == SQLITE_ROW && have->int64(0) == 0) script += wanted->text(1) + ";";
    }
    script += fmt::format("PRAGMA user_version = {}; COMMIT;", kJournalSchemaVersion);
    if (auto st = db_.exec(script); !st) {
        (void)db_.exec("ROLLBACK");
        return Error{fmt::format("{}: cannot upgrade the journal from schema version {} to {}: {}", path_,
                                 from_version, kJournalSchemaVersion, st.error().message)};
    }
    return Ok{};
}

Status JournalWriter::prepare_statements() {
    auto batch = db_.prepare(
        "INSERT INTO batches (batch_id, run_id, committed_ns, row_count, row_marks, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?)");
    if (!batch) return Error{fmt::format("cannot prepare statement: {}", batch.error().message)};
    ins_batch_ = std::move(*batch);
    // Every INSERT of a chain table binds batch first, then the columns in
    // chain_columns() order: the order the row is encoded in.
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        TableInserts& ti = tables_[i];
        ti = TableInserts{};
        ti.params = params_per_row(t);
        auto one = db_.prepare(insert_sql(t, 1));
        if (!one) return Error{fmt::format("cannot prepare statement: {}", one.error().message)};
        ti.one = std::move(*one);
        if (inserted_in_groups(t)) {
            auto many = db_.prepare(insert_sql(t, kRowsPerInsert));
            if (!many) return Error{fmt::format("cannot prepare statement: {}", many.error().message)};
            ti.many = std::move(*many);
        }
    }
    return Ok{};
}

Error JournalWriter::db_error(const std::string& what, int rc) const {
    return Error{fmt::format("{}: {}: {}", path_, what, sqlite3_errstr(rc)), rc};
}

Status JournalWriter::step_insert(Stmt& stmt, const char* table) {
    int rc = stmt.step();
    stmt.reset();
    if (rc != SQLITE_DONE) return db_error(fmt::format("cannot insert into {}", table), rc);
    return Ok{};
}

Status JournalWriter::insert_row() {
    const ChainTable t = enc_.table();
    TableInserts& ti = tables_[table_index(t)];
    if (!inserted_in_groups(t)) {
        bind_encoded(ti.one, 1, batch_id_, enc_.encoded());
        if (auto st = step_insert(ti.one, table_name(t)); !st) {
            abort_batch();
            return st;
        }
        row_stored(t, enc_.encoded());
        return Ok{};
    }
    ti.rows.append(enc_.encoded());
    ti.ends.push_back(ti.rows.size());
    if (counts_in_row_count(t)) ++waiting_rows_;
    return ti.ends.size() == kRowsPerInsert ? insert_waiting(t) : Status(Ok{});
}

Status JournalWriter::insert_waiting(ChainTable t) {
    TableInserts& ti = tables_[table_index(t)];
    if (ti.ends.empty()) return Ok{};
    auto row_at = [&](size_t r) {
        const size_t begin = r == 0 ? 0 : ti.ends[r - 1];
        return std::string_view(ti.rows).substr(begin, ti.ends[r] - begin);
    };
    Status st = Ok{};
    if (ti.ends.size() == kRowsPerInsert) {
        for (size_t r = 0; r < kRowsPerInsert; ++r) {
            bind_encoded(ti.many, 1 + static_cast<int>(r) * ti.params, batch_id_, row_at(r));
        }
        st = step_insert(ti.many, table_name(t));
    } else {
        for (size_t r = 0; r < ti.ends.size() && st; ++r) {
            bind_encoded(ti.one, 1, batch_id_, row_at(r));
            st = step_insert(ti.one, table_name(t));
        }
    }
    if (!st) {
        abort_batch();
        return st;
    }
    for (size_t r = 0; r < ti.ends.size(); ++r) row_stored(t, row_at(r));
    if (counts_in_row_count(t)) waiting_rows_ -= ti.ends.size();
    ti.rows.clear();
    ti.ends.clear();
    return Ok{};
}

Status JournalWriter::insert_all_waiting() {
    for (size_t i = 0; i < kChainTableCount; ++i) {
        if (auto st = insert_waiting(table_at(i)); !st) return st;
    }
    return Ok{};
}

void JournalWriter::row_stored(ChainTable t, std::string_view encoded) {
    hasher_.add_row(t, encoded);
    if (counts_in_row_count(t)) ++batch_rows_;
}

Result<int64_t> JournalWriter::begin_run(const RunInfo& info) {
    if (auto st = ensure_batch(); !st) return st.error();
    // The run id is chosen here, not by SQLite, so that the row can be
    // hashed from the values in hand.
    auto next = query_int(db_, "SELECT coalesce(max(run_id), 0) + 1 FROM runs");
    if (!next) return Error{fmt::format("{}: cannot read runs: {}", path_, next.error().message)};
    Row(enc_, ChainTable::runs)
        .integer(*next)
        .text(info.boot_id)
        .text(info.node)
        .integer(info.started_ns)
        .integer(info.started_wall_ns)
        .text(info.version)
        .text(info.kernel)
        .text(info.hooks)
        .text(info.filters_json)
        .integer(info.argv_cap)
        .integer(info.clk_tck)
        .integer(info.recorder_pid);
    if (auto st = insert_row(); !st) return st.error();
    run_id_ = *next;
    if (auto st = add_clock_sample(info.started_ns, info.started_wall_ns); !st) return st.error();
    return run_id_;
}

Status JournalWriter::ensure_batch() {
    if (batch_id_ != 0) return Ok{};
    if (auto st = db_.exec("BEGIN"); !st) return db_error("cannot begin a batch", sqlite3_errcode(db_.get()));
    batch_id_ = next_batch_id_;
    batch_rows_ = 0;
    hasher_.clear();
    return Ok{};
}

Status JournalWriter::add(const Event& event, std::string_view pod_uid) {
    if (auto st = ensure_batch(); !st) return st;
    return std::visit(
        [&](const auto& e) -> Status {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ForkEvent>) {
                Row(enc_, ChainTable::fork)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.parent.tgid})
                    .integer(static_cast<int64_t>(e.parent.start_ns))
                    .integer(int64_t{e.child.tgid})
                    .integer(static_cast<int64_t>(e.child.start_ns))
                    .blob(e.parent_comm);
                return insert_row();
            } else if constexpr (std::is_same_v<T, ExecEvent>) {
                Row(enc_, ChainTable::exec)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.nspid})
                    .integer(int64_t{e.old_tid})
                    .integer(int64_t{e.uid})
                    .integer(int64_t{e.gid})
                    .integer(int64_t{e.euid})
                    .integer(int64_t{e.parent.tgid})
                    .integer(static_cast<int64_t>(e.parent.start_ns))
                    .blob(e.parent_comm)
                    .blob(e.comm)
                    .blob(e.nodename)
                    .integer(static_cast<int64_t>(e.cgroup_id))
                    .blob(e.cgroup_path)
                    .text(pod_uid)
                    .blob(e.binary)
                    .blob(e.argv)
                    .integer(int64_t{e.truncated});
                return insert_row();
            } else if constexpr (std::is_same_v<T, ExitEvent>) {
                Row(enc_, ChainTable::exit)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.code})
                    .integer(int64_t{e.signal})
                    .integer(int64_t{e.core_dumped ? 1 : 0})
                    .blob(e.comm);
                return insert_row();
            } else {
                Row(enc_, ChainTable::connect)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(static_cast<int64_t>(e.outcome_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.family})
                    .text(e.saddr)
                    .integer(int64_t{e.sport})
                    .text(e.daddr)
                    .integer(int64_t{e.dport})
                    .text(e.established ? "established" : "failed");
                return insert_row();
            }
        },
        event);
}

Status JournalWriter::add_snapshot(const SnapshotRow& r, std::string_view pod_uid) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::snapshot)
        .integer(r.time_ns)
        .integer(int64_t{r.tgid})
        .integer(int64_t{r.nspid})
        .integer(int64_t{r.ppid})
        .integer(static_cast<int64_t>(r.start_ns))
        .integer(int64_t{r.uid})
        .integer(int64_t{r.gid})
        .integer(int64_t{r.euid})
        .blob(r.comm)
        .blob(r.exe)
        .blob(r.argv)
        .blob(r.cgroup_path)
        .text(pod_uid)
        .blob(r.nodename);
    return insert_row();
}

Status JournalWriter::add_loss(int64_t from_ns, int64_t to_ns, int64_t count, const std::string& reason) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::loss).integer(from_ns).integer(to_ns).integer(count).text(reason);
    return insert_row();
}

Status JournalWriter::add_pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
                              PodNameSource source) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::pods).text(pod_uid).text(name).text(ns).text(pod_name_source_text(source));
    return insert_row();
}

Status JournalWriter::add_clock_sample(int64_t boot_ns, int64_t wall_ns) {
    const bool own_batch = batch_id_ == 0;
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::clock_samples)
        .integer(run_id_)
        .integer(boot_ns)
        .integer(wall_ns);
    if (auto st = insert_row(); !st) return st;
    return own_batch ? commit(boot_ns) : Status(Ok{});
}

Status JournalWriter::commit(int64_t now_ns) {
    if (batch_id_ == 0) return Ok{};
    if (auto st = insert_all_waiting(); !st) return st;
    BatchHeader header{batch_id_, run_id_, now_ns, static_cast<int64_t>(batch_rows_)};
    Hash hash = hasher_.link(head_.hash, header);
    hasher_.row_marks(marks_);
    Stmt& s = ins_batch_;
    s.bind(1, header.batch_id);
    s.bind(2, header.run_id);
    s.bind(3, header.committed_ns);
    s.bind(4, header.row_count);
    s.bind_blob(5, marks_);
    s.bind_blob(6, std::string_view(reinterpret_cast<const char*>(head_.hash.data()), kHashSize));
    s.bind_blob(7, std::string_view(reinterpret_cast<const char*>(hash.data()), kHashSize));
    if (auto st = step_insert(s, "batches"); !st) {
        abort_batch();
        return st;
    }
    if (auto st = db_.exec("COMMIT"); !st) {
        auto error = db_error(fmt::format("cannot commit batch {}", batch_id_), sqlite3_errcode(db_.get()));
        abort_batch();
        return error;
    }
    head_ = ChainHead{batch_id_, hash};
    ++next_batch_id_;
    batch_id_ = 0;
    batch_rows_ = 0;
    return Ok{};
}

void JournalWriter::abort_batch() {
    // SQLite may already have rolled back by itself (it does on some
    // SQLITE_FULL and SQLITE_IOERR failures); a ROLLBACK then would fail.
    if (!sqlite3_get_autocommit(db_.get())) (void)db_.exec("ROLLBACK");
    batch_id_ = 0;
    batch_rows_ = 0;
    waiting_rows_ = 0;
    for (auto& ti : tables_) {
        ti.rows.clear();
        ti.ends.clear();
    }
    hasher_.clear();
}

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

Result<int64_t> JournalWriter::prune_point(int64_t max_rows, std::optional<int64_t> cutoff_wall_ns) {
    // Oldest first, and only as far as needed: a prune reads the batches it
    // deletes and one more, not the whole table.
    auto stmt = db_.prepare(
        "SELECT b.batch_id, b.row_count, b.committed_ns + (r.started_wall_ns - r.started_ns) "
        "FROM batches b JOIN runs r ON r.run_id = b.run_id WHERE b.batch_id < ?1 ORDER BY b.batch_id");
    if (!stmt) return db_error("cannot read batches", sqlite3_errcode(db_.get()));
    stmt->bind(1, head_.batch_id);  // never the last committed batch
    int64_t through = 0, rows = 0;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        if (cutoff_wall_ns && stmt->int64(2) >= *cutoff_wall_ns) break;
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
    auto through = db_.prepare(
        "SELECT b.hash, b.committed_ns + (r.started_wall_ns - r.started_ns) FROM batches b "
        "JOIN runs r ON r.run_id = b.run_id WHERE b.batch_id = ?1");
    if (!through) return fail(through.error().message);
    through->bind(1, through_batch);
    if (int rc = through->step(); rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE) return db_error("cannot read batches", sqlite3_errcode(db_.get()));
        return Error{fmt::format("{}: cannot prune through batch {}: no such batch", path_, through_batch)};
    }
    const std::string through_hash = through->blob(0);
    const int64_t through_wall_ns = through->int64(1);
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
        if (del->step() != SQLITE_DONE) return fail(fmt::format("cannot delete from {}: {}", table_name(t), db_.errmsg()));
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

Status JournalWriter::end_run(int64_t stopped_ns, int64_t stopped_wall_ns, const std::string& reason, int64_t events,
                              int64_t lost) {
    // The stop row and the last clock sample go into the run's last batch.
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::run_stops)
        .integer(run_id_)
        .integer(stopped_ns)
        .integer(stopped_wall_ns)
        .text(reason)
        .integer(events)
        .integer(lost);
    if (auto st = insert_row(); !st) return st;
    if (auto st = add_clock_sample(stopped_ns, stopped_wall_ns); !st) return st;
    if (auto st = commit(stopped_ns); !st) return st;
    // Fold the WAL back into the main file so a copied journal is whole.
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    return Ok{};
}

}  // namespace lineage
