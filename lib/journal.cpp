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
// Stored beside the cgroup path so that queries find a pod's processes
// through an index instead of parsing every path.
std::string pod_uid_of(const std::string& cgroup_path) {
    auto kube = parse_kube_cgroup(cgroup_path);
    return kube ? kube->pod_uid : std::string();
}

constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
}

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
        return Error{fmt::format("{}: journal schema version {} is not supported (this lineage reads version {})",
                                 path, *version, kJournalSchemaVersion)};
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
    if (auto st = w.db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !st) {
        return Error{fmt::format("{}: cannot set WAL mode: {}", path, st.error().message)};
    }
    if (auto st = w.prepare_statements(); !st) {
        return Error{fmt::format("{}: {}", path, st.error().message)};
    }
    auto last = query_int(w.db_, "SELECT coalesce(max(batch_id), 0) FROM batches");
    if (!last) return Error{fmt::format("{}: {}", path, last.error().message)};
    w.next_batch_id_ = *last + 1;
    return w;
}

Status JournalWriter::prepare_statements() {
    struct {
        Stmt* stmt;
        const char* sql;
    } const all[] = {
        {&ins_batch_, "INSERT INTO batches (batch_id, run_id, committed_ns, row_count) VALUES (?,?,?,?)"},
        {&ins_fork_,
         "INSERT INTO fork (batch, time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, "
         "parent_comm) VALUES (?,?,?,?,?,?,?)"},
        {&ins_exec_,
         "INSERT INTO exec (batch, time_ns, tgid, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, "
         "parent_start_ns, parent_comm, comm, nodename, cgroup_id, cgroup_path, binary, argv, truncated, pod_uid) "
         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_exit_,
         "INSERT INTO exit (batch, time_ns, tgid, start_ns, code, signal, core_dumped, comm) "
         "VALUES (?,?,?,?,?,?,?,?)"},
        {&ins_connect_,
         "INSERT INTO connect (batch, time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, "
         "dport, result) VALUES (?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_snapshot_,
         "INSERT INTO snapshot (batch, time_ns, tgid, nspid, ppid, start_ns, uid, gid, euid, comm, exe, argv, "
         "cgroup_path, nodename, pod_uid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&ins_loss_, "INSERT INTO loss (batch, from_ns, to_ns, count, reason) VALUES (?,?,?,?,?)"},
        {&ins_pod_, "INSERT INTO pods (batch, pod_uid, name, namespace, source) VALUES (?,?,?,?,?)"},
        {&ins_clock_, "INSERT INTO clock_samples (run_id, boot_ns, wall_ns) VALUES (?,?,?)"},
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

Result<int64_t> JournalWriter::begin_run(const RunInfo& info) {
    auto stmt = db_.prepare(
        "INSERT INTO runs (boot_id, node, started_ns, started_wall_ns, version, kernel, hooks, filters, "
        "argv_cap, clk_tck, recorder_pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt) return stmt.error();
    stmt->bind(1, info.boot_id);
    stmt->bind(2, info.node);
    stmt->bind(3, info.started_ns);
    stmt->bind(4, info.started_wall_ns);
    stmt->bind(5, info.version);
    stmt->bind(6, info.kernel);
    stmt->bind(7, info.hooks);
    stmt->bind(8, info.filters_json);
    stmt->bind(9, info.argv_cap);
    stmt->bind(10, info.clk_tck);
    stmt->bind(11, info.recorder_pid);
    if (auto st = step_insert(*stmt, "runs"); !st) return st.error();
    run_id_ = sqlite3_last_insert_rowid(db_.get());
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
    return Ok{};
}

Status JournalWriter::add(const Event& event) {
    if (auto st = ensure_batch(); !st) return st;
    ++batch_rows_;
    return std::visit(
        [&](const auto& e) -> Status {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, ForkEvent>) {
                Stmt& s = ins_fork_;
                s.bind(1, batch_id_);
                s.bind(2, static_cast<int64_t>(e.time_ns));
                s.bind(3, int64_t{e.parent.tgid});
                s.bind(4, static_cast<int64_t>(e.parent.start_ns));
                s.bind(5, int64_t{e.child.tgid});
                s.bind(6, static_cast<int64_t>(e.child.start_ns));
                s.bind_blob(7, e.parent_comm);
                return step_insert(s, "fork");
            } else if constexpr (std::is_same_v<T, ExecEvent>) {
                Stmt& s = ins_exec_;
                s.bind(1, batch_id_);
                s.bind(2, static_cast<int64_t>(e.time_ns));
                s.bind(3, int64_t{e.proc.tgid});
                s.bind(4, static_cast<int64_t>(e.proc.start_ns));
                s.bind(5, int64_t{e.nspid});
                s.bind(6, int64_t{e.old_tid});
                s.bind(7, int64_t{e.uid});
                s.bind(8, int64_t{e.gid});
                s.bind(9, int64_t{e.euid});
                s.bind(10, int64_t{e.parent.tgid});
                s.bind(11, static_cast<int64_t>(e.parent.start_ns));
                s.bind_blob(12, e.parent_comm);
                s.bind_blob(13, e.comm);
                s.bind_blob(14, e.nodename);
                s.bind(15, static_cast<int64_t>(e.cgroup_id));
                s.bind_blob(16, e.cgroup_path);
                s.bind_blob(17, e.binary);
                s.bind_blob(18, e.argv);
                s.bind(19, int64_t{e.truncated});
                s.bind(20, pod_uid_of(e.cgroup_path));
                return step_insert(s, "exec");
            } else if constexpr (std::is_same_v<T, ExitEvent>) {
                Stmt& s = ins_exit_;
                s.bind(1, batch_id_);
                s.bind(2, static_cast<int64_t>(e.time_ns));
                s.bind(3, int64_t{e.proc.tgid});
                s.bind(4, static_cast<int64_t>(e.proc.start_ns));
                s.bind(5, int64_t{e.code});
                s.bind(6, int64_t{e.signal});
                s.bind(7, int64_t{e.core_dumped ? 1 : 0});
                s.bind_blob(8, e.comm);
                return step_insert(s, "exit");
            } else {
                Stmt& s = ins_connect_;
                s.bind(1, batch_id_);
                s.bind(2, static_cast<int64_t>(e.time_ns));
                s.bind(3, static_cast<int64_t>(e.outcome_ns));
                s.bind(4, int64_t{e.proc.tgid});
                s.bind(5, static_cast<int64_t>(e.proc.start_ns));
                s.bind(6, int64_t{e.family});
                s.bind(7, e.saddr);
                s.bind(8, int64_t{e.sport});
                s.bind(9, e.daddr);
                s.bind(10, int64_t{e.dport});
                s.bind(11, std::string_view(e.established ? "established" : "failed"));
                return step_insert(s, "connect");
            }
        },
        event);
}

Status JournalWriter::add_snapshot(const SnapshotRow& r) {
    if (auto st = ensure_batch(); !st) return st;
    ++batch_rows_;
    Stmt& s = ins_snapshot_;
    s.bind(1, batch_id_);
    s.bind(2, r.time_ns);
    s.bind(3, int64_t{r.tgid});
    s.bind(4, int64_t{r.nspid});
    s.bind(5, int64_t{r.ppid});
    s.bind(6, static_cast<int64_t>(r.start_ns));
    s.bind(7, int64_t{r.uid});
    s.bind(8, int64_t{r.gid});
    s.bind(9, int64_t{r.euid});
    s.bind_blob(10, r.comm);
    s.bind_blob(11, r.exe);
    s.bind_blob(12, r.argv);
    s.bind_blob(13, r.cgroup_path);
    s.bind_blob(14, r.nodename);
    s.bind(15, pod_uid_of(r.cgroup_path));
    return step_insert(s, "snapshot");
}

Status JournalWriter::add_loss(int64_t from_ns, int64_t to_ns, int64_t count, const std::string& reason) {
    if (auto st = ensure_batch(); !st) return st;
    ++batch_rows_;
    Stmt& s = ins_loss_;
    s.bind(1, batch_id_);
    s.bind(2, from_ns);
    s.bind(3, to_ns);
    s.bind(4, count);
    s.bind(5, reason);
    return step_insert(s, "loss");
}

Status JournalWriter::add_pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
                              const std::string& source) {
    if (auto st = ensure_batch(); !st) return st;
    ++batch_rows_;
    Stmt& s = ins_pod_;
    s.bind(1, batch_id_);
    s.bind(2, pod_uid);
    s.bind(3, name);
    s.bind(4, ns);
    s.bind(5, source);
    return step_insert(s, "pods");
}

Status JournalWriter::add_clock_sample(int64_t boot_ns, int64_t wall_ns) {
    Stmt& s = ins_clock_;
    s.bind(1, run_id_);
    s.bind(2, boot_ns);
    s.bind(3, wall_ns);
    return step_insert(s, "clock_samples");
}

Status JournalWriter::commit(int64_t now_ns) {
    if (batch_id_ == 0) return Ok{};
    Stmt& s = ins_batch_;
    s.bind(1, batch_id_);
    s.bind(2, run_id_);
    s.bind(3, now_ns);
    s.bind(4, static_cast<int64_t>(batch_rows_));
    if (auto st = step_insert(s, "batches"); !st) return st;
    if (auto st = db_.exec("COMMIT"); !st) {
        return Error{fmt::format("{}: cannot commit batch {}: {}", path_, batch_id_, st.error().message)};
    }
    ++next_batch_id_;
    batch_id_ = 0;
    batch_rows_ = 0;
    return Ok{};
}

Status JournalWriter::end_run(int64_t stopped_ns, int64_t stopped_wall_ns, const std::string& reason,
                              int64_t events, int64_t lost) {
    if (auto st = commit(stopped_ns); !st) return st;
    auto stmt = db_.prepare(
        "INSERT INTO run_stops (run_id, stopped_ns, stopped_wall_ns, reason, events, lost) VALUES (?,?,?,?,?,?)");
    if (!stmt) return stmt.error();
    stmt->bind(1, run_id_);
    stmt->bind(2, stopped_ns);
    stmt->bind(3, stopped_wall_ns);
    stmt->bind(4, reason);
    stmt->bind(5, events);
    stmt->bind(6, lost);
    if (auto st = step_insert(*stmt, "run_stops"); !st) return st;
    if (auto st = add_clock_sample(stopped_ns, stopped_wall_ns); !st) return st;
    // Fold the WAL back into the main file so a copied journal is whole.
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    return Ok{};
}

}  // namespace lineage
