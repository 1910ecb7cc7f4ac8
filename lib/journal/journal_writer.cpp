#include "journal_writer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dns_lookup.h"
#include "fd.h"
#include "load_plan.h"
#include "pod.h"

namespace lineage {

namespace {

// Binds one encoded row (RowEncoder's format, which this writer made) to
// parameters first, first + 1, ...: the batch, then each column. Text and
// blobs are bound without a copy, from the encoding itself: it must not
// change until the statement has been stepped and reset. Returns SQLITE_OK,
// the code of the first bind SQLite refused, or SQLITE_RANGE when the row
// has not one value for each of its `params` parameters (the batch and the
// columns): the caller fails the insert with it.
int bind_encoded(Stmt& stmt, int first, int params, int64_t batch, std::string_view row) {
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
                stmt.bind_double(param, v.real);
                break;
            case RowEncoder::kNull:
                stmt.bind_null(param);
                break;
        }
        ++param;
    });
    if (stmt.bind_error() != SQLITE_OK) return stmt.bind_error();
    return param == first + params ? SQLITE_OK : SQLITE_RANGE;
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
    JournalWriter w;
    // Nothing can be chained without SHA-256: refuse before the file is touched.
    if (!w.hasher_.ok()) return Error{fmt::format("{}: cannot open journal: {}", path, kNoSha256)};

    bool created = false;
    {
        // Closed before SQLite opens the file: closing a descriptor of it
        // later would drop the POSIX locks SQLite holds on it.
        const UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        created = fd.valid();
        if (!created && errno != EEXIST) {
            return Error{fmt::format("{}: cannot create journal: {}", path, std::strerror(errno))};
        }
    }
    if (!created) {
        if (auto st = check_sqlite_header(path); !st) return st.error();
    }

    auto db = Database::open_write(path);
    if (!db) return Error{fmt::format("{}: cannot open journal: {}", path, db.error().message)};

    w.path_ = path;
    w.db_ = std::move(*db);
    // Until the file is known to be lineage's, closing the connection must
    // not checkpoint a -wal found beside it into it either. (Without one,
    // closing removes the empty -wal and -shm that reading made.)
    struct stat wal {};
    int no_checkpoint = 0;
    if (!created && ::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) {
        sqlite3_db_config(w.db_.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &no_checkpoint);
    }
    if (auto st = w.db_.fence(); !st)
        return Error{fmt::format("{}: cannot open journal: {}", path, st.error().message)};

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
        // a commit writes, so smaller pages cost less recorder CPU per event,
        // with queries and verify on a year-long journal no slower. Large
        // batches (a backlog) favour larger pages, but they are rare. The
        // measurements: bench/results/latest.txt (sections 5, 6 and 7) and
        // bench/README.md. Journals made with other page sizes keep theirs.
        if (auto st = w.db_.exec(fmt::format("PRAGMA page_size = {}; BEGIN;", kJournalPageSize) + journal_schema_sql() +
                                 "\nCOMMIT;");
            !st) {
            return Error{fmt::format("{}: cannot create schema: {}", path, st.error().message)};
        }
    }
    if (auto st = check_journal(w.db_, path); !st) return st.error();
    // Before the first write: a journal edited while no recorder ran (a
    // trigger that would fire on every insert, an index whose expression
    // would run, a view in place of a table) is never appended to.
    auto schema = check_journal_schema(w.db_);
    if (!schema) return Error{fmt::format("{}: cannot read the schema: {}", path, schema.error().message)};
    if (!schema->ok()) {
        return Error{fmt::format("{}: the journal's schema is not lineage's: {}", path, schema->summary()),
                     kSchemaNotLineages};
    }
    sqlite3_db_config(w.db_.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, &no_checkpoint);
    if (auto version = query_int(w.db_, "PRAGMA user_version"); version && *version < kJournalSchemaVersion) {
        if (auto st = w.upgrade_schema(*version); !st) return st.error();
    }

    // WAL: readers (reconstruct on a live node) never block the recorder.
    // synchronous=NORMAL: a crash of the recorder loses nothing committed; a
    // power cut may lose the last batches but never corrupts the file.
    // cache_size: 16 MiB of pages, so that index pages stay in memory while
    // the journal grows (with the default 2 MiB the insert rate falls as it
    // grows).
    // wal_autocheckpoint: 32 MiB of WAL (8192 pages of 4 KiB; fewer of an
    // older journal's 16 KiB ones) instead of 1000 pages. Every
    // checkpoint writes again each page touched since the last one, and the
    // index pages a batch touches are spread over the whole index: small
    // checkpoints write the file several times over and read the WAL back
    // once more. Fewer, larger checkpoints cost less CPU per event, and the
    // slowest commit (with its checkpoint) is no slower, most of it
    // fdatasync (bench/results/latest.txt, section 6; bench/README.md).
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
// the compiled schema itself (journal_schema_objects), so that the upgraded
// journal's sqlite_schema is what `verify` expects; and the indexes a later
// version dropped, dropped. No row changes.
Status JournalWriter::upgrade_schema(int64_t from_version) {
    const auto& objects = journal_schema_objects();
    if (!objects) return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, objects.error().message)};
    // Tables before the indexes on them.
    std::vector<const SchemaObject*> wanted;
    for (const auto& o : *objects)
        if (o.type == "table" && o.retired_in == 0) wanted.push_back(&o);
    for (const auto& o : *objects)
        if (o.type != "table" && o.retired_in == 0) wanted.push_back(&o);
    std::string script = "BEGIN;";
    // Names from the compiled schema, never from the journal.
    for (const auto& o : *objects)
        if (o.type == "index" && o.retired_in != 0) script += fmt::format("DROP INDEX IF EXISTS {};", o.name);
    for (const SchemaObject* o : wanted) {
        auto have = db_.prepare("SELECT count(*) FROM sqlite_schema WHERE name = ?1");
        if (!have) return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, have.error().message)};
        have->bind(1, o->name);
        if (int have_rc = have->step(); have_rc != SQLITE_ROW) {
            return Error{fmt::format("{}: cannot upgrade the journal: {}", path_, sqlite3_errstr(have_rc))};
        }
        if (have->int64(0) == 0) script += o->sql + ";";
    }
    script += fmt::format("PRAGMA user_version = {}; COMMIT;", kJournalSchemaVersion);
    if (auto st = db_.exec(script); !st) {
        (void)db_.exec("ROLLBACK");
        return Error{fmt::format("{}: cannot upgrade the journal from schema version {} to {}: {}", path_, from_version,
                                 kJournalSchemaVersion, st.error().message)};
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

Status JournalWriter::step_insert(Stmt& stmt, const char* table, int bind_rc) {
    const int rc = bind_rc != SQLITE_OK ? bind_rc : stmt.step();
    stmt.reset();
    if (rc != SQLITE_DONE) return db_error(fmt::format("cannot insert into {}", table), rc);
    return Ok{};
}

Status JournalWriter::insert_row() {
    const ChainTable t = enc_.table();
    TableInserts& ti = tables_[table_index(t)];
    if (!inserted_in_groups(t)) {
        const int bound = bind_encoded(ti.one, 1, ti.params, batch_id_, enc_.encoded());
        if (auto st = step_insert(ti.one, table_name(t), bound); !st) {
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
        int bound = SQLITE_OK;
        for (size_t r = 0; r < kRowsPerInsert; ++r) {
            const int rc = bind_encoded(ti.many, 1 + static_cast<int>(r) * ti.params, ti.params, batch_id_, row_at(r));
            if (bound == SQLITE_OK) bound = rc;
        }
        st = step_insert(ti.many, table_name(t), bound);
    } else {
        for (size_t r = 0; r < ti.ends.size() && st; ++r) {
            st = step_insert(ti.one, table_name(t), bind_encoded(ti.one, 1, ti.params, batch_id_, row_at(r)));
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
    if (auto st = start_unexited(info.boot_id, info.clk_tck); !st) {
        abort_batch();
        return st.error();
    }
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
                if (auto st = insert_row(); !st) return st;
                note_named(e.child.tgid, static_cast<int64_t>(e.child.start_ns));
                return Ok{};
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
                if (auto st = insert_row(); !st) return st;
                if (e.file) {
                    if (auto st = add_exec_file(e.time_ns, e.proc, *e.file); !st) return st;
                }
                note_named(e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                return Ok{};
            } else if constexpr (std::is_same_v<T, ExitEvent>) {
                Row(enc_, ChainTable::exit)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.code})
                    .integer(int64_t{e.signal})
                    .integer(int64_t{e.core_dumped ? 1 : 0})
                    .blob(e.comm);
                if (auto st = insert_row(); !st) return st;
                note_ended(e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                return Ok{};
            } else if constexpr (std::is_same_v<T, ConnectEvent>) {
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
                    .text(!e.outcome_known ? "unknown"
                          : e.established  ? "established"
                                           : "failed");
                if (auto st = insert_row(); !st) return st;
                note_named(e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                return Ok{};
            } else if constexpr (std::is_same_v<T, ListenEvent>) {
                Row(enc_, ChainTable::listens)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.family})
                    .text(e.addr)
                    .integer(int64_t{e.port});
                if (auto st = insert_row(); !st) return st;
                note_named(e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                return Ok{};
            } else if constexpr (std::is_same_v<T, DnsEvent>) {
                Row(enc_, ChainTable::dns)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .text(e.sent ? "sent" : "received")
                    .text(e.tcp ? "tcp" : "udp")
                    .integer(int64_t{e.family})
                    .text(e.saddr)
                    .integer(int64_t{e.sport})
                    .text(e.daddr)
                    .integer(int64_t{e.dport})
                    .integer(int64_t{e.length})
                    .blob(e.message);
                if (auto st = insert_row(); !st) return st;
                // A message the kernel could not tell the process of names none.
                if (e.proc.tgid == 0) return Ok{};
                note_named(e.proc.tgid, static_cast<int64_t>(e.proc.start_ns));
                return add_dns_name(e);
            } else {
                static_assert(std::is_same_v<T, CgroupEvent> || std::is_same_v<T, MoveEvent>);
                return Error{fmt::format("{}: a {} record is not a row of its own", path_,
                                         std::is_same_v<T, CgroupEvent> ? "cgroup" : "move")};
            }
        },
        event);
}

Status JournalWriter::add_dns_name(const DnsEvent& e) {
    RowLookups row = looked_up_names(e);
    // A TCP segment with part of a message (split over segments, as any
    // sender may split it; joined only by readers, from all of a process's
    // rows) gives the key "", which no name has: readers check that
    // process's TCP messages joined.
    if (row.partial) row.names.emplace_back();
    for (const std::string& name : row.names) {
        std::string key = name.empty() ? std::string() : dns_name_key(name);
        // Once per process and name in a batch: a program that asks for the
        // same name again and again (and every answer) adds one row a batch.
        std::string seen = fmt::format("{}/{}/{}", e.proc.tgid, e.proc.start_ns, key);
        if (!batch_dns_names_.insert(std::move(seen)).second) continue;
        Row(enc_, ChainTable::dns_names)
            .integer(int64_t{e.proc.tgid})
            .integer(static_cast<int64_t>(e.proc.start_ns))
            .text(key);
        if (auto st = insert_row(); !st) return st;
    }
    return Ok{};
}

Status JournalWriter::add_cgroup(const CgroupRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::cgroups)
        .integer(int64_t{r.hierarchy})
        .integer(static_cast<int64_t>(r.cgroup_id))
        .blob(r.path)
        .text(r.pod_uid)
        .text(r.container_id);
    return insert_row();
}

Status JournalWriter::add_file_hash(const FileHashRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::file_hashes)
        .integer(r.time_ns)
        .integer(static_cast<int64_t>(r.key.dev))
        .integer(static_cast<int64_t>(r.key.ino))
        .integer(static_cast<int64_t>(r.key.size))
        .integer(r.key.mtime_ns)
        .blob(r.path)
        .text(r.sha256)
        .text(r.problem);
    return insert_row();
}

Status JournalWriter::add_exec_file(uint64_t time_ns, ProcRef proc, const ExecFile& f) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::exec_files)
        .integer(static_cast<int64_t>(time_ns))
        .integer(int64_t{proc.tgid})
        .integer(static_cast<int64_t>(proc.start_ns))
        .blob(f.path)
        .integer(static_cast<int64_t>(f.dev))
        .integer(static_cast<int64_t>(f.ino))
        .integer(int64_t{f.nlink})
        .integer(static_cast<int64_t>(f.size))
        .integer(int64_t{f.mode})
        .integer(f.mtime_ns)
        .integer(int64_t{f.flags})
        .blob(f.interpreter)
        .integer(int64_t{f.before.uid})
        .integer(int64_t{f.before.gid})
        .integer(int64_t{f.before.euid})
        .integer(int64_t{f.before.egid})
        .integer(static_cast<int64_t>(f.before.cap_permitted))
        .integer(static_cast<int64_t>(f.before.cap_effective))
        .integer(int64_t{f.after.uid})
        .integer(int64_t{f.after.gid})
        .integer(int64_t{f.after.euid})
        .integer(int64_t{f.after.egid})
        .integer(static_cast<int64_t>(f.after.cap_permitted))
        .integer(static_cast<int64_t>(f.after.cap_effective));
    return insert_row();
}

Status JournalWriter::add_container(const ContainerRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::containers)
        .integer(r.time_ns)
        .text(r.container_id)
        .text(r.pod_uid)
        .text(r.pod_name)
        .text(r.pod_namespace)
        .text(r.name)
        .text(r.image)
        .text(r.type)
        .text(r.source)
        .blob(r.path)
        .text(r.problem);
    return insert_row();
}

Status JournalWriter::add_membership(const MembershipRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::memberships)
        .integer(r.time_ns)
        .integer(int64_t{r.proc.tgid})
        .integer(static_cast<int64_t>(r.proc.start_ns))
        .integer(int64_t{r.nspid})
        .text(membership_how_text(r.how))
        .integer(int64_t{r.hierarchy})
        .integer(static_cast<int64_t>(r.cgroup_id))
        .text(r.pod_uid)
        .integer(int64_t{r.uts_ns})
        .integer(int64_t{r.by.tgid})
        .integer(static_cast<int64_t>(r.by.start_ns))
        .blob(r.comm);
    if (auto st = insert_row(); !st) return st;
    // 'alive' rows restate the others (and a set of the pod's).
    if (r.how != MembershipHow::alive) note_named(r.proc.tgid, static_cast<int64_t>(r.proc.start_ns));
    return Ok{};
}

Status JournalWriter::add_carried(const CarriedRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    Row(enc_, ChainTable::carried)
        .integer(r.time_ns)
        .integer(int64_t{r.proc.tgid})
        .integer(static_cast<int64_t>(r.proc.start_ns))
        .integer(int64_t{r.nspid})
        .integer(int64_t{r.uid})
        .integer(int64_t{r.gid})
        .integer(int64_t{r.euid})
        .integer(int64_t{r.parent.tgid})
        .integer(static_cast<int64_t>(r.parent.start_ns))
        .text(r.parent_source)
        .blob(r.comm)
        .blob(r.binary)
        .blob(r.argv)
        .blob(r.cgroup_path)
        .text(r.pod_uid)
        .blob(r.nodename)
        .text(r.source)
        .integer(r.from_batch);
    if (auto st = insert_row(); !st) return st;
    note_named(r.proc.tgid, static_cast<int64_t>(r.proc.start_ns));
    return Ok{};
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
    if (auto st = insert_row(); !st) return st;
    note_named(r.tgid, static_cast<int64_t>(r.start_ns));
    return Ok{};
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
    Row(enc_, ChainTable::clock_samples).integer(run_id_).integer(boot_ns).integer(wall_ns);
    if (auto st = insert_row(); !st) return st;
    return own_batch ? commit(boot_ns) : Status(Ok{});
}

Status JournalWriter::commit(int64_t now_ns) {
    if (batch_id_ == 0) return Ok{};
    if (auto st = restate_unexited(false); !st) return st;
    if (auto st = insert_all_waiting(); !st) return st;
    BatchHeader header{batch_id_, run_id_, now_ns, static_cast<int64_t>(batch_rows_)};
    Hash hash = hasher_.link(head_.hash, header);
    if (!hasher_.ok()) {
        auto error = Error{fmt::format("{}: cannot commit batch {}: {}", path_, batch_id_, kNoSha256)};
        abort_batch();
        return error;
    }
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
    apply_unexited();
    batch_dns_names_.clear();
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
    batch_named_.clear();
    batch_ended_.clear();
    unexited_restated_ = false;
    batch_dns_names_.clear();
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
    // The run's last set: a reader of a stopped run reads none of its rows
    // to find what it left running.
    if (auto st = restate_unexited(true); !st) return st;
    if (auto st = commit(stopped_ns); !st) return st;
    // Fold the WAL back into the main file so a copied journal is whole.
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    return Ok{};
}

}  // namespace lineage
