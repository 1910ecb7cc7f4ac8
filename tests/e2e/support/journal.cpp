#include <sstream>

#include <catch2/catch.hpp>

#include "argv.h"
#include "helpers.h"

namespace e2e {

namespace {

constexpr const char* kForkCols = "time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, parent_comm";
constexpr const char* kExecCols =
    "time_ns, tgid, start_ns, parent_tgid, parent_start_ns, uid, gid, euid, truncated, comm, binary, argv";
constexpr const char* kExitCols = "time_ns, tgid, start_ns, code, signal, core_dumped, comm";
constexpr const char* kConnectCols = "time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, dport, result";
constexpr const char* kSnapshotCols = "time_ns, tgid, ppid, start_ns, uid, comm, exe, argv";

}  // namespace

std::string join_args(const std::vector<std::string>& args) {
    std::string s = "{";
    for (size_t i = 0; i < args.size(); ++i) s += (i ? ", \"" : "\"") + args[i] + "\"";
    return s + "}";
}

std::ostream& operator<<(std::ostream& os, const Proc& p) {
    return os << "(" << p.tgid << ", " << p.start_ns << ")";
}

Journal::Journal(const std::string& path) {
    auto db = lineage::Database::open_read(lineage::sqlite_file_uri(path) + "?mode=ro");
    INFO("opening journal " << path);
    if (!db) FAIL(db.error().message);
    db_ = std::move(*db);
}

void Journal::each(std::string_view sql, const std::vector<Param>& params,
                   const std::function<void(lineage::Stmt&)>& each_row) {
    auto stmt = db_.prepare(sql);
    INFO("SQL: " << sql);
    if (!stmt) FAIL(stmt.error().message);
    for (size_t i = 0; i < params.size(); ++i) {
        int idx = static_cast<int>(i + 1);
        if (auto* v = std::get_if<int64_t>(&params[i])) {
            stmt->bind(idx, *v);
        } else {
            stmt->bind(idx, std::string_view(std::get<std::string>(params[i])));
        }
    }
    while (true) {
        int rc = stmt->step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) FAIL("step failed: " << db_.errmsg());
        each_row(*stmt);
    }
}

int64_t Journal::scalar(std::string_view sql, const std::vector<Param>& params) {
    std::optional<int64_t> v;
    each(sql, params, [&](lineage::Stmt& s) { v = s.int64(0); });
    INFO("SQL: " << sql);
    REQUIRE(v.has_value());
    return *v;
}

std::vector<std::string> Journal::texts(std::string_view sql, const std::vector<Param>& params) {
    std::vector<std::string> out;
    each(sql, params, [&](lineage::Stmt& s) { out.push_back(s.text(0)); });
    return out;
}

std::vector<ForkRow> Journal::forks(const std::string& where, const std::vector<Param>& params) {
    std::vector<ForkRow> out;
    each(std::string("SELECT ") + kForkCols + " FROM fork WHERE " + where + " ORDER BY time_ns, rowid", params,
         [&](lineage::Stmt& s) {
             out.push_back(ForkRow{s.int64(0), {s.int64(1), s.int64(2)}, {s.int64(3), s.int64(4)}, s.blob(5)});
         });
    return out;
}

std::vector<ExecRow> Journal::execs(const std::string& where, const std::vector<Param>& params) {
    std::vector<ExecRow> out;
    each(std::string("SELECT ") + kExecCols + " FROM exec WHERE " + where + " ORDER BY time_ns, rowid", params,
         [&](lineage::Stmt& s) {
             ExecRow r;
             r.time_ns = s.int64(0);
             r.proc = {s.int64(1), s.int64(2)};
             r.parent = {s.int64(3), s.int64(4)};
             r.uid = s.int64(5);
             r.gid = s.int64(6);
             r.euid = s.int64(7);
             r.truncated = s.int64(8);
             r.comm = s.blob(9);
             r.binary = s.blob(10);
             r.argv = lineage::split_argv(s.blob(11));
             out.push_back(std::move(r));
         });
    return out;
}

std::vector<ExitRow> Journal::exits(const std::string& where, const std::vector<Param>& params) {
    std::vector<ExitRow> out;
    each(
        std::string("SELECT ") + kExitCols + " FROM exit WHERE " + where + " ORDER BY time_ns, rowid", params,
        [&](lineage::Stmt& s) {
            out.push_back(ExitRow{s.int64(0), {s.int64(1), s.int64(2)}, s.int64(3), s.int64(4), s.int64(5), s.blob(6)});
        });
    return out;
}

std::vector<ConnectRow> Journal::connects(const std::string& where, const std::vector<Param>& params) {
    std::vector<ConnectRow> out;
    each(std::string("SELECT ") + kConnectCols + " FROM connect WHERE " + where + " ORDER BY time_ns, rowid", params,
         [&](lineage::Stmt& s) {
             ConnectRow r;
             r.time_ns = s.int64(0);
             r.outcome_ns = s.int64(1);
             r.proc = {s.int64(2), s.int64(3)};
             r.family = s.int64(4);
             r.saddr = s.text(5);
             r.sport = s.int64(6);
             r.daddr = s.text(7);
             r.dport = s.int64(8);
             r.result = s.text(9);
             out.push_back(std::move(r));
         });
    return out;
}

std::vector<SnapshotRow> Journal::snapshots(const std::string& where, const std::vector<Param>& params) {
    std::vector<SnapshotRow> out;
    each(std::string("SELECT ") + kSnapshotCols + " FROM snapshot WHERE " + where + " ORDER BY rowid", params,
         [&](lineage::Stmt& s) {
             SnapshotRow r;
             r.time_ns = s.int64(0);
             r.tgid = s.int64(1);
             r.ppid = s.int64(2);
             r.start_ns = s.int64(3);
             r.uid = s.int64(4);
             r.comm = s.blob(5);
             r.exe = s.blob(6);
             r.argv = lineage::split_argv(s.blob(7));
             out.push_back(std::move(r));
         });
    return out;
}

std::string Journal::describe(int64_t tgid) {
    std::ostringstream os;
    os << "journal rows naming pid " << tgid << ":\n";
    for (const auto& f : forks("child_tgid = ?1 OR parent_tgid = ?1", {tgid})) {
        os << "  fork t=" << f.time_ns << " parent=" << f.parent << " child=" << f.child
           << " parent_comm=" << f.parent_comm << "\n";
    }
    for (const auto& e : execs_of(tgid)) {
        os << "  exec t=" << e.time_ns << " proc=" << e.proc << " parent=" << e.parent << " binary=" << e.binary
           << " argv=" << join_args(e.argv) << " truncated=" << e.truncated << "\n";
    }
    for (const auto& x : exits_of(tgid)) {
        os << "  exit t=" << x.time_ns << " proc=" << x.proc << " code=" << x.code << " signal=" << x.signal
           << " core=" << x.core_dumped << " comm=" << x.comm << "\n";
    }
    for (const auto& c : connects_of(tgid)) {
        os << "  connect t=" << c.time_ns << " proc=" << c.proc << " family=" << c.family << " " << c.saddr << ":"
           << c.sport << " -> " << c.daddr << ":" << c.dport << " " << c.result << "\n";
    }
    return os.str();
}

}  // namespace e2e
