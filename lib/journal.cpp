#include "journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "journal_schema.h"
#include "pod.h"

namespace lineage {

namespace {

constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

// Binds one row's values (batch first, then every column in schema order)
// and encodes them for the chain in the same pass, so what is stored and
// what is hashed cannot drift apart.
class RowBinder {
public:
    RowBinder(Stmt& stmt, RowEncoder& enc, ChainTable table, int64_t batch) : stmt_(stmt), enc_(enc) {
        enc_.begin(table);
        stmt_.bind(1, batch);
    }
    RowBinder& integer(int64_t v) {
        stmt_.bind(next_++, v);
        enc_.integer(v);
        return *this;
    }
    RowBinder& text(std::string_view v) {
        stmt_.bind(next_++, v);
        enc_.text(v);
        return *this;
    }
    RowBinder& blob(std::string_view v) {
        stmt_.bind_blob(next_++, v);
        enc_.blob(v);
        return *this;
    }

private:
    Stmt& stmt_;
    RowEncoder& enc_;
    int next_ = 2;
};
}  // namespace

Status check_sqlite_header(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return Error{fmt::format("{}: not a regular file", path)};
    }
    char head[16] = {};
    ssize_t n = ::read(fd, head, sizeof(head));
    ::close(fd);
    if (n == 0) return Ok{};
    if (n != static_cast<ssize_t>(sizeof(head)) || std::memcmp(head, kSqliteMagic, sizeof(head)) != 0) {
        return Error{fmt::format("{}: not a lineage journal (not an SQLite database)", path)};
    }
    return Ok{};
}

Status check_journal(Database& db, const std::string& path) {
    auto app = query_int(db, "PRAGMA application_id");
    if (!app) return Error{fmt::format("{}: cannot read journal: {}", path, app.error().message)};
    auto version = query_int(db, "PRAGMA user_version");
    if (!version) return Error{fmt::format("{}: cannot read journal: {}", path, version.error().message)};
    if (*app != kJournalApplicationId) {
        return Error{fmt::format("{}: not a lineage journal (SQLite database of another application)", path)};
    }
    if (*version != kJournalSchemaVersion) {
        return Error{fmt::format("{}: journal schema version {} is not supported (this lineage reads version {})", path,
                                 *version, kJournalSchemaVersion)};
    }
    return Ok{};
}

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
        // A new journal: the schema file, in one transaction.
        if (auto st = w.db_.exec(std::string("BEGIN;") + kJournalSchemaSql + "\nCOMMIT;"); !st) {
            return Error{fmt::format("{}: cannot create schema: {}", path, st.error().message)};
        }
    }
    if (auto st = check_journal(w.db_, path); !st) return st.error();

    // WAL: readers (reconstruct on a live node) never block the recorder.
    // synchronous=NORMAL: a crash of the recorder loses nothing committed; a
    // power cut may lose the last batches but never corrupts the file.
    // cache_size: 16 MiB of pages, so that index pages stay in memory while
    // the journal grows (the default 2 MiB halves the insert rate).
    if (auto st = w.db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;"); !st) {
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

Status JournalWriter::prepare_statements() {
    // Every INSERT binds batch first, then the columns in schema order: the
    // order RowBinder encodes them in.
    struct {
        Stmt* stmt;
        const char* sql;
    } const all[] = {
        {&ins_batch_,
         "INSERT INTO batches (batch_id, run_id, committed_ns, row_count, row_marks, prev_hash, hash) "
         "VALUES (?,?,?,?,?,?,?)"},
        {&ins_run_,
         "INSERT INTO runs (batch, run_id, boot_id, node, started_ns, started_wall_ns, version, kernel, hooks, "
         "filters, argv_cap, clk_tck, recorder_pid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_run_stop_,
         "INSERT INTO run_stops (batch, run_id, stopped_ns, stopped_wall_ns, reason, events, lost) "
         "VALUES (?,?,?,?,?,?,?)"},
        {&ins_fork_,
         "INSERT INTO fork (batch, time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, "
         "parent_comm) VALUES (?,?,?,?,?,?,?)"},
        {&ins_exec_,
         "INSERT INTO exec (batch, time_ns, tgid, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, "
         "parent_start_ns, parent_comm, comm, nodename, cgroup_id, cgroup_path, pod_uid, binary, argv, truncated) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_exit_,
         "INSERT INTO exit (batch, time_ns, tgid, start_ns, code, signal, core_dumped, comm) "
         "VALUES (?,?,?,?,?,?,?,?)"},
        {&ins_connect_,
         "INSERT INTO connect (batch, time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, "
         "dport, result) VALUES (?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_snapshot_,
         "INSERT INTO snapshot (batch, time_ns, tgid, nspid, ppid, start_ns, uid, gid, euid, comm, exe, argv, "
         "cgroup_path, pod_uid, nodename) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_loss_, "INSERT INTO loss (batch, from_ns, to_ns, count, reason) VALUES (?,?,?,?,?)"},
        {&ins_pod_, "INSERT INTO pods (batch, pod_uid, name, namespace, source) VALUES (?,?,?,?,?)"},
        {&ins_clock_, "INSERT INTO clock_samples (batch, run_id, boot_ns, wall_ns) VALUES (?,?,?,?)"},
    };
    for (const auto& s : all) {
        auto stmt = db_.prepare(s.sql);
        if (!stmt) return Error{fmt::format("cannot prepare statement: {}", stmt.error().message)};
        *s.stmt = std::move(*stmt);
    }
    return Ok{};
}

Status JournalWriter::step_insert(Stmt& stmt, const char* table) {
    int rc = stmt.step();
    stmt.reset();
    if (rc != SQLITE_DONE) {
        return Error{fmt::format("{}: cannot insert into {}: {}", path_, table, sqlite3_errstr(rc))};
    }
    return Ok{};
}

Status JournalWriter::insert_row(Stmt& stmt, const char* table) {
    if (auto st = step_insert(stmt, table); !st) return st;
    // Counted only once stored, so that row_count and the hash agree even
    // when an insert fails halfway through a batch.
    hasher_.add_row(enc_);
    if (counts_in_row_count(enc_.table())) ++batch_rows_;
    return Ok{};
}

Result<int64_t> JournalWriter::begin_run(const RunInfo& info) {
    if (auto st = ensure_batch(); !st) return st.error();
    // The run id is chosen here, not by SQLite, so that the row can be
    // hashed from the values in hand.
    auto next = query_int(db_, "SELECT coalesce(max(run_id), 0) + 1 FROM runs");
    if (!next) return Error{fmt::format("{}: cannot read runs: {}", path_, next.error().message)};
    RowBinder(ins_run_, enc_, ChainTable::runs, batch_id_)
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
    if (auto st = insert_row(ins_run_, "runs"); !st) return st.error();
    run_id_ = *next;
    if (auto st = add_clock_sample(info.started_ns, info.started_wall_ns); !st) return st.error();
    return run_id_;
}

Status JournalWriter::ensure_batch() {
    if (batch_id_ != 0) return Ok{};
    if (auto st = db_.exec("BEGIN"); !st) {
        return Error{fmt::format("{}: cannot begin batch: {}", path_, st.error().message)};
    }
    batch_id_ = next_batch_id_;
    batch_rows_ = 0;
    hasher_.clear();
    return Ok{};
}

Status JournalWriter::add(const Event& event) {
    if (auto st = ensure_batch(); !st) return st;
    return std::visit(
        [&](const auto& e) -> Status {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ForkEvent>) {
                RowBinder(ins_fork_, enc_, ChainTable::fork, batch_id_)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.parent.tgid})
                    .integer(static_cast<int64_t>(e.parent.start_ns))
                    .integer(int64_t{e.child.tgid})
                    .integer(static_cast<int64_t>(e.child.start_ns))
                    .blob(e.parent_comm);
                return insert_row(ins_fork_, "fork");
            } else if constexpr (std::is_same_v<T, ExecEvent>) {
                RowBinder(ins_exec_, enc_, ChainTable::exec, batch_id_)
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
                    .text(pod_uids_.uid_for(e.cgroup_path))
                    .blob(e.binary)
                    .blob(e.argv)
                    .integer(int64_t{e.truncated});
                return insert_row(ins_exec_, "exec");
            } else if constexpr (std::is_same_v<T, ExitEvent>) {
                RowBinder(ins_exit_, enc_, ChainTable::exit, batch_id_)
                    .integer(static_cast<int64_t>(e.time_ns))
                    .integer(int64_t{e.proc.tgid})
                    .integer(static_cast<int64_t>(e.proc.start_ns))
                    .integer(int64_t{e.code})
                    .integer(int64_t{e.signal})
                    .integer(int64_t{e.core_dumped ? 1 : 0})
                    .blob(e.comm);
                return insert_row(ins_exit_, "exit");
            } else {
                RowBinder(ins_connect_, enc_, ChainTable::connect, batch_id_)
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
                return insert_row(ins_connect_, "connect");
            }
        },
        event);
}

Status JournalWriter::add_snapshot(const SnapshotRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    RowBinder(ins_snapshot_, enc_, ChainTable::snapshot, batch_id_)
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
        .text(pod_uids_.uid_for(r.cgroup_path))
        .blob(r.nodename);
    return insert_row(ins_snapshot_, "snapshot");
}

Status JournalWriter::add_loss(int64_t from_ns, int64_t to_ns, int64_t count, const std::string& reason) {
    if (auto st = ensure_batch(); !st) return st;
    RowBinder(ins_loss_, enc_, ChainTable::loss, batch_id_).integer(from_ns).integer(to_ns).integer(count).text(reason);
    return insert_row(ins_loss_, "loss");
}

Status JournalWriter::add_pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
                              const std::string& source) {
    if (auto st = ensure_batch(); !st) return st;
    RowBinder(ins_pod_, enc_, ChainTable::pods, batch_id_).text(pod_uid).text(name).text(ns).text(source);
    return insert_row(ins_pod_, "pods");
}

Status JournalWriter::add_clock_sample(int64_t boot_ns, int64_t wall_ns) {
    const bool own_batch = batch_id_ == 0;
    if (auto st = ensure_batch(); !st) return st;
    RowBinder(ins_clock_, enc_, ChainTable::clock_samples, batch_id_)
        .integer(run_id_)
        .integer(boot_ns)
        .integer(wall_ns);
    if (auto st = insert_row(ins_clock_, "clock_samples"); !st) return st;
    return own_batch ? commit(boot_ns) : Status(Ok{});
}

Status JournalWriter::commit(int64_t now_ns) {
    if (batch_id_ == 0) return Ok{};
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
    if (auto st = step_insert(s, "batches"); !st) return st;
    if (auto st = db_.exec("COMMIT"); !st) {
        return Error{fmt::format("{}: cannot commit batch {}: {}", path_, batch_id_, st.error().message)};
    }
    head_ = ChainHead{batch_id_, hash};
    ++next_batch_id_;
    batch_id_ = 0;
    batch_rows_ = 0;
    return Ok{};
}

Status JournalWriter::end_run(int64_t stopped_ns, int64_t stopped_wall_ns, const std::string& reason, int64_t events,
                              int64_t lost) {
    // The stop row and the last clock sample go into the run's last batch.
    if (auto st = ensure_batch(); !st) return st;
    RowBinder(ins_run_stop_, enc_, ChainTable::run_stops, batch_id_)
        .integer(run_id_)
        .integer(stopped_ns)
        .integer(stopped_wall_ns)
        .text(reason)
        .integer(events)
        .integer(lost);
    if (auto st = insert_row(ins_run_stop_, "run_stops"); !st) return st;
    if (auto st = add_clock_sample(stopped_ns, stopped_wall_ns); !st) return st;
    if (auto st = commit(stopped_ns); !st) return st;
    // Fold the WAL back into the main file so a copied journal is whole.
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    return Ok{};
}

}  // namespace lineage
