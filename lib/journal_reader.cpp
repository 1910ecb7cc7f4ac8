#include "journal_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

namespace lineage {

namespace {

// SQLite URIs need %, ?, # (and non-printables) percent-encoded.
std::string uri_for_path(const std::string& path) {
    std::string abs = path;
    if (abs.empty() || abs[0] != '/') {
        std::error_code ec;
        abs = std::filesystem::absolute(path, ec).string();
    }
    std::string out = "file:";
    for (unsigned char c : abs) {
        if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
            out += fmt::format("%{:02X}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

struct FileStamp {
    bool exists = false;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return {};
    return {true, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Copies a file's bytes with plain reads: no metadata, and the source is
// opened O_RDONLY with O_NOATIME where the kernel allows it.
Status copy_file(const std::string& from, const std::string& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (in < 0 && errno == EPERM) in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return Error{fmt::format("{}: cannot open: {}", from, std::strerror(errno))};
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        ::close(in);
        return Error{fmt::format("{}: cannot create: {}", to, std::strerror(errno))};
    }
    char buf[1 << 16];
    Status st = Ok{};
    for (;;) {
        ssize_t n = ::read(in, buf, sizeof(buf));
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            st = Error{fmt::format("{}: read error: {}", from, std::strerror(errno))};
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(out, buf + done, static_cast<size_t>(n - done));
            if (w < 0) {
                if (errno == EINTR) continue;
                st = Error{fmt::format("{}: write error: {}", to, std::strerror(errno))};
                break;
            }
            done += w;
        }
        if (!st) break;
    }
    ::close(in);
    ::close(out);
    return st;
}

bool is_damage(int rc) {
    int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_IOERR ||
           primary == SQLITE_FORMAT;
}

}  // namespace

JournalReader::~JournalReader() {
    db_ = Database();
    if (!temp_dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(temp_dir_, ec);
    }
}

JournalReader::JournalReader(JournalReader&& other) noexcept
    : path_(std::move(other.path_)), temp_dir_(std::move(other.temp_dir_)), db_(std::move(other.db_)) {
    other.temp_dir_.clear();
}

Error JournalReader::damaged(const std::string& what) const {
    return Error{fmt::format("{}: journal is damaged: {}", path_, what)};
}

Result<JournalReader> JournalReader::open(const std::string& path) {
    JournalReader r;
    r.path_ = path;

    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
    }
    if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory, not a journal file", path)};
    if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path)};
    if (access(path.c_str(), R_OK) != 0) {
        return Error{fmt::format("{}: cannot read: {}", path, std::strerror(errno))};
    }
    if (st.st_size == 0) return Error{fmt::format("{}: empty file, not a lineage journal", path)};
    if (auto hdr = check_sqlite_header(path); !hdr) return hdr.error();

    const std::string wal = path + "-wal";
    FileStamp wal_stamp = stamp(wal);
    std::string open_name;
    if (wal_stamp.exists && wal_stamp.size > 0) {
        // A -wal file holds committed batches not yet in the main file.
        // Reading it in place would touch the -shm and maybe the WAL, so
        // copy the pair and read the copy. A live recorder may checkpoint
        // between the two copies: retry until both are unchanged.
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-read.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) {
            return Error{fmt::format("{}: cannot make a temporary directory for a copy: {}", path,
                                     std::strerror(errno))};
        }
        r.temp_dir_ = buf.data();
        const std::string copy = r.temp_dir_ + "/journal.db";
        bool stable = false;
        for (int attempt = 0; attempt < 10 && !stable; ++attempt) {
            std::error_code ec;
            std::filesystem::remove(copy, ec);
            std::filesystem::remove(copy + "-wal", ec);
            FileStamp db_before = stamp(path), wal_before = stamp(wal);
            if (auto c = copy_file(path, copy); !c) return c.error();
            if (wal_before.exists) {
                if (auto c = copy_file(wal, copy + "-wal"); !c) return c.error();
            }
            stable = db_before == stamp(path) && wal_before == stamp(wal);
            if (!stable) usleep(20000);
        }
        if (!stable) return Error{fmt::format("{}: the journal kept changing while it was copied; try again", path)};
        // Our private copy: opening it read-write lets SQLite apply the WAL.
        auto db = Database::open_write(copy);
        if (!db) return r.damaged(db.error().message);
        r.db_ = std::move(*db);
    } else {
        // No WAL to apply: immutable tells SQLite the file cannot change, so
        // it takes no locks and creates no -shm or -wal beside it.
        open_name = uri_for_path(path) + "?mode=ro&immutable=1";
        auto db = Database::open_read(open_name);
        if (!db) return r.damaged(db.error().message);
        r.db_ = std::move(*db);
    }
    if (auto ok = check_journal(r.db_, path); !ok) {
        int rc = sqlite3_extended_errcode(r.db_.get());
        if (is_damage(rc)) return r.damaged(sqlite3_errstr(rc));
        return ok.error();
    }
    return r;
}

Status JournalReader::load_into(Model& model) {
    auto fail = [&](const char* what) -> Error {
        int rc = sqlite3_extended_errcode(db_.get());
        if (is_damage(rc)) return damaged(fmt::format("{} ({})", sqlite3_errmsg(db_.get()), what));
        return Error{fmt::format("{}: cannot read {}: {}", path_, what, sqlite3_errmsg(db_.get()))};
    };
    // Runs a query and calls fn(stmt) per row; any error stops with a message.
    auto each = [&](const char* table, const char* sql, auto&& fn) -> Status {
        auto stmt = db_.prepare(sql);
        if (!stmt) return fail(table);
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) fn(*stmt);
        if (rc != SQLITE_DONE) return fail(table);
        return Ok{};
    };

    std::unordered_map<int64_t, std::string> run_boot;   // run_id -> boot id
    std::unordered_map<int64_t, int64_t> batch_run;      // batch -> run_id
    std::vector<RunRecord> runs;
    Status st = each("runs",
                     "SELECT run_id, boot_id, node, started_ns, clk_tck, hooks, filters FROM runs ORDER BY run_id",
                     [&](Stmt& s) {
                         RunRecord r;
                         r.journal = path_;
                         r.run_id = s.int64(0);
                         r.boot_id = s.text(1);
                         r.node = s.text(2);
                         r.started_ns = s.int64(3);
                         r.clk_tck = s.int64(4);
                         r.hooks = s.text(5);
                         r.filters = s.text(6);
                         r.last_batch_ns = r.started_ns;
                         run_boot[r.run_id] = r.boot_id;
                         runs.push_back(r);
                     });
    if (!st) return st;
    auto run_index = [&](int64_t run_id) -> RunRecord* {
        for (auto& r : runs)
            if (r.run_id == run_id) return &r;
        return nullptr;
    };
    st = each("run_stops", "SELECT run_id, stopped_ns, reason FROM run_stops", [&](Stmt& s) {
        if (auto* r = run_index(s.int64(0))) {
            r->stopped_ns = s.int64(1);
            r->stop_reason = s.text(2);
        }
    });
    if (!st) return st;
    st = each("batches", "SELECT batch_id, run_id, committed_ns FROM batches", [&](Stmt& s) {
        batch_run[s.int64(0)] = s.int64(1);
        if (auto* r = run_index(s.int64(1))) r->last_batch_ns = std::max(r->last_batch_ns, s.int64(2));
    });
    if (!st) return st;
    for (const auto& r : runs) model.add_run(r);

    st = each("clock_samples", "SELECT run_id, boot_ns, wall_ns FROM clock_samples", [&](Stmt& s) {
        auto it = run_boot.find(s.int64(0));
        if (it != run_boot.end()) model.add_clock_sample(it->second, s.int64(1), s.int64(2));
    });
    if (!st) return st;

    // Every event row names its batch; a batch names its run; a run its boot.
    auto boot_of_batch = [&](int64_t batch, int64_t* run_id) -> const std::string* {
        auto b = batch_run.find(batch);
        if (b == batch_run.end()) return nullptr;
        auto r = run_boot.find(b->second);
        if (run_id) *run_id = b->second;
        return r == run_boot.end() ? nullptr : &r->second;
    };
    size_t orphan_rows = 0;

    st = each("snapshot",
              "SELECT batch, time_ns, tgid, nspid, ppid, start_ns, uid, gid, euid, comm, exe, argv, cgroup_path, "
              "nodename FROM snapshot",
              [&](Stmt& s) {
                  int64_t run_id = 0;
                  const std::string* boot = boot_of_batch(s.int64(0), &run_id);
                  if (!boot) {
                      ++orphan_rows;
                      return;
                  }
                  SnapshotRow row;
                  row.time_ns = s.int64(1);
                  row.tgid = static_cast<uint32_t>(s.int64(2));
                  row.nspid = static_cast<uint32_t>(s.int64(3));
                  row.ppid = static_cast<uint32_t>(s.int64(4));
                  row.start_ns = static_cast<uint64_t>(s.int64(5));
                  row.uid = static_cast<uint32_t>(s.int64(6));
                  row.gid = static_cast<uint32_t>(s.int64(7));
                  row.euid = static_cast<uint32_t>(s.int64(8));
                  row.comm = s.blob(9);
                  row.exe = s.blob(10);
                  row.argv = s.blob(11);
                  row.cgroup_path = s.blob(12);
                  row.nodename = s.blob(13);
                  model.add_snapshot(*boot, run_id, row);
              });
    if (!st) return st;

    st = each("fork",
              "SELECT batch, time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, parent_comm FROM fork",
              [&](Stmt& s) {
                  const std::string* boot = boot_of_batch(s.int64(0), nullptr);
                  if (!boot) {
                      ++orphan_rows;
                      return;
                  }
                  ForkEvent e;
                  e.time_ns = static_cast<uint64_t>(s.int64(1));
                  e.parent = {static_cast<uint32_t>(s.int64(2)), static_cast<uint64_t>(s.int64(3))};
                  e.child = {static_cast<uint32_t>(s.int64(4)), static_cast<uint64_t>(s.int64(5))};
                  e.parent_comm = s.blob(6);
                  model.add_fork(*boot, e);
              });
    if (!st) return st;

    st = each("exec",
              "SELECT batch, time_ns, tgid, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, parent_start_ns, "
              "parent_comm, comm, nodename, cgroup_id, cgroup_path, binary, argv, truncated FROM exec",
              [&](Stmt& s) {
                  const std::string* boot = boot_of_batch(s.int64(0), nullptr);
                  if (!boot) {
                      ++orphan_rows;
                      return;
                  }
                  ExecEvent e;
                  e.time_ns = static_cast<uint64_t>(s.int64(1));
                  e.proc = {static_cast<uint32_t>(s.int64(2)), static_cast<uint64_t>(s.int64(3))};
                  e.nspid = static_cast<uint32_t>(s.int64(4));
                  e.old_tid = static_cast<uint32_t>(s.int64(5));
                  e.uid = static_cast<uint32_t>(s.int64(6));
                  e.gid = static_cast<uint32_t>(s.int64(7));
                  e.euid = static_cast<uint32_t>(s.int64(8));
                  e.parent = {static_cast<uint32_t>(s.int64(9)), static_cast<uint64_t>(s.int64(10))};
                  e.parent_comm = s.blob(11);
                  e.comm = s.blob(12);
                  e.nodename = s.blob(13);
                  e.cgroup_id = static_cast<uint64_t>(s.int64(14));
                  e.cgroup_path = s.blob(15);
                  e.binary = s.blob(16);
                  e.argv = s.blob(17);
                  e.truncated = static_cast<uint32_t>(s.int64(18));
                  model.add_exec(*boot, e);
              });
    if (!st) return st;

    st = each("exit", "SELECT batch, time_ns, tgid, start_ns, code, signal, core_dumped, comm FROM exit",
              [&](Stmt& s) {
                  const std::string* boot = boot_of_batch(s.int64(0), nullptr);
                  if (!boot) {
                      ++orphan_rows;
                      return;
                  }
                  ExitEvent e;
                  e.time_ns = static_cast<uint64_t>(s.int64(1));
                  e.proc = {static_cast<uint32_t>(s.int64(2)), static_cast<uint64_t>(s.int64(3))};
                  e.code = static_cast<int>(s.int64(4));
                  e.signal = static_cast<int>(s.int64(5));
                  e.core_dumped = s.int64(6) != 0;
                  e.comm = s.blob(7);
                  model.add_exit(*boot, e);
              });
    if (!st) return st;

    st = each("connect",
              "SELECT batch, time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, dport, result "
              "FROM connect",
              [&](Stmt& s) {
                  const std::string* boot = boot_of_batch(s.int64(0), nullptr);
                  if (!boot) {
                      ++orphan_rows;
                      return;
                  }
                  ConnectEvent e;
                  e.time_ns = static_cast<uint64_t>(s.int64(1));
                  e.outcome_ns = static_cast<uint64_t>(s.int64(2));
                  e.proc = {static_cast<uint32_t>(s.int64(3)), static_cast<uint64_t>(s.int64(4))};
                  e.family = static_cast<int>(s.int64(5));
                  e.saddr = s.text(6);
                  e.sport = static_cast<uint16_t>(s.int64(7));
                  e.daddr = s.text(8);
                  e.dport = static_cast<uint16_t>(s.int64(9));
                  e.established = s.text(10) == "established";
                  model.add_connect(*boot, e);
              });
    if (!st) return st;

    st = each("loss", "SELECT batch, from_ns, to_ns, count, reason FROM loss", [&](Stmt& s) {
        const std::string* boot = boot_of_batch(s.int64(0), nullptr);
        if (!boot) {
            ++orphan_rows;
            return;
        }
        model.add_loss(LossRecord{path_, *boot, s.int64(1), s.int64(2), s.int64(3), s.text(4)});
    });
    if (!st) return st;

    st = each("pods", "SELECT pod_uid, name, namespace, source FROM pods", [&](Stmt& s) {
        model.add_pod(s.text(0), PodNameRecord{s.text(1), s.text(2), s.text(3)});
    });
    if (!st) return st;

    if (orphan_rows > 0) {
        return damaged(fmt::format("{} event rows name a batch that does not exist", orphan_rows));
    }
    return Ok{};
}

}  // namespace lineage
