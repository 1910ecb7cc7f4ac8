#include "journal_rows.h"

#include <fmt/format.h>

namespace lineage {

std::string select_list(ChainTable t) {
    return fmt::format("batch, {}", chain_columns(t));
}

std::string qualified_select_list(ChainTable t, std::string_view alias) {
    std::string out = fmt::format("{}.batch", alias);
    const std::string_view columns = chain_columns(t);
    for (size_t pos = 0; pos < columns.size();) {
        size_t end = columns.find(',', pos);
        if (end == std::string_view::npos) end = columns.size();
        std::string_view column = columns.substr(pos, end - pos);
        while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
        out += fmt::format(", {}.{}", alias, column);
        pos = end + 1;
    }
    return out;
}

template <class Row>
SnapshotRow snapshot_row(Row& s) {
    constexpr ChainTable T = ChainTable::snapshot;
    SnapshotRow row;
    row.time_ns = s.int64(col<T>("time_ns"));
    row.tgid = static_cast<uint32_t>(s.int64(col<T>("tgid")));
    row.nspid = static_cast<uint32_t>(s.int64(col<T>("nspid")));
    row.ppid = static_cast<uint32_t>(s.int64(col<T>("ppid")));
    row.start_ns = static_cast<uint64_t>(s.int64(col<T>("start_ns")));
    row.uid = static_cast<uint32_t>(s.int64(col<T>("uid")));
    row.gid = static_cast<uint32_t>(s.int64(col<T>("gid")));
    row.euid = static_cast<uint32_t>(s.int64(col<T>("euid")));
    row.comm = s.blob(col<T>("comm"));
    row.exe = s.blob(col<T>("exe"));
    row.argv = s.blob(col<T>("argv"));
    row.cgroup_path = s.blob(col<T>("cgroup_path"));
    row.nodename = s.blob(col<T>("nodename"));
    return row;
}

template <class Row>
ForkEvent fork_row(Row& s) {
    constexpr ChainTable T = ChainTable::fork;
    ForkEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.parent = {static_cast<uint32_t>(s.int64(col<T>("parent_tgid"))),
                static_cast<uint64_t>(s.int64(col<T>("parent_start_ns")))};
    e.child = {static_cast<uint32_t>(s.int64(col<T>("child_tgid"))),
               static_cast<uint64_t>(s.int64(col<T>("child_start_ns")))};
    e.parent_comm = s.blob(col<T>("parent_comm"));
    return e;
}

template <class Row>
ExecEvent exec_row(Row& s) {
    constexpr ChainTable T = ChainTable::exec;
    ExecEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    e.nspid = static_cast<uint32_t>(s.int64(col<T>("nspid")));
    e.old_tid = static_cast<uint32_t>(s.int64(col<T>("old_tid")));
    e.uid = static_cast<uint32_t>(s.int64(col<T>("uid")));
    e.gid = static_cast<uint32_t>(s.int64(col<T>("gid")));
    e.euid = static_cast<uint32_t>(s.int64(col<T>("euid")));
    e.parent = {static_cast<uint32_t>(s.int64(col<T>("parent_tgid"))),
                static_cast<uint64_t>(s.int64(col<T>("parent_start_ns")))};
    e.parent_comm = s.blob(col<T>("parent_comm"));
    e.comm = s.blob(col<T>("comm"));
    e.nodename = s.blob(col<T>("nodename"));
    e.cgroup_id = static_cast<uint64_t>(s.int64(col<T>("cgroup_id")));
    e.cgroup_path = s.blob(col<T>("cgroup_path"));
    e.binary = s.blob(col<T>("binary"));
    e.argv = s.blob(col<T>("argv"));
    e.truncated = static_cast<uint32_t>(s.int64(col<T>("truncated")));
    return e;
}

template <class Row>
ExitEvent exit_row(Row& s) {
    constexpr ChainTable T = ChainTable::exit;
    ExitEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    e.code = static_cast<int>(s.int64(col<T>("code")));
    e.signal = static_cast<int>(s.int64(col<T>("signal")));
    e.core_dumped = s.int64(col<T>("core_dumped")) != 0;
    e.comm = s.blob(col<T>("comm"));
    return e;
}

template <class Row>
ConnectEvent connect_row(Row& s) {
    constexpr ChainTable T = ChainTable::connect;
    ConnectEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.outcome_ns = static_cast<uint64_t>(s.int64(col<T>("outcome_ns")));
    e.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    e.family = static_cast<int>(s.int64(col<T>("family")));
    e.saddr = s.text(col<T>("saddr"));
    e.sport = static_cast<uint16_t>(s.int64(col<T>("sport")));
    e.daddr = s.text(col<T>("daddr"));
    e.dport = static_cast<uint16_t>(s.int64(col<T>("dport")));
    const std::string result = s.text(col<T>("result"));
    e.established = result == "established";
    e.outcome_known = result != "unknown";
    return e;
}

template <class Row>
CgroupRow cgroup_row(Row& s) {
    constexpr ChainTable T = ChainTable::cgroups;
    CgroupRow row;
    row.hierarchy = static_cast<uint32_t>(s.int64(col<T>("hierarchy")));
    row.cgroup_id = static_cast<uint64_t>(s.int64(col<T>("cgroup_id")));
    row.path = s.blob(col<T>("path"));
    row.pod_uid = s.text(col<T>("pod_uid"));
    row.container_id = s.text(col<T>("container_id"));
    return row;
}

template <class Row>
ContainerRow container_row(Row& s) {
    constexpr ChainTable T = ChainTable::containers;
    ContainerRow row;
    row.time_ns = s.int64(col<T>("time_ns"));
    row.container_id = s.text(col<T>("container_id"));
    row.pod_uid = s.text(col<T>("pod_uid"));
    row.pod_name = s.text(col<T>("pod_name"));
    row.pod_namespace = s.text(col<T>("pod_namespace"));
    row.name = s.text(col<T>("name"));
    row.image = s.text(col<T>("image"));
    row.type = s.text(col<T>("type"));
    row.source = s.text(col<T>("source"));
    row.path = s.blob(col<T>("path"));
    row.problem = s.text(col<T>("problem"));
    return row;
}

template <class Row>
MembershipRow membership_row(Row& s) {
    constexpr ChainTable T = ChainTable::memberships;
    MembershipRow row;
    row.time_ns = s.int64(col<T>("time_ns"));
    row.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    row.nspid = static_cast<uint32_t>(s.int64(col<T>("nspid")));
    row.how = membership_how_from(s.text(col<T>("how")));
    row.hierarchy = static_cast<uint32_t>(s.int64(col<T>("hierarchy")));
    row.cgroup_id = static_cast<uint64_t>(s.int64(col<T>("cgroup_id")));
    row.pod_uid = s.text(col<T>("pod_uid"));
    row.uts_ns = static_cast<uint32_t>(s.int64(col<T>("uts_ns")));
    row.by = {static_cast<uint32_t>(s.int64(col<T>("by_tgid"))), static_cast<uint64_t>(s.int64(col<T>("by_start_ns")))};
    row.comm = s.blob(col<T>("comm"));
    return row;
}

template <class Row>
CarriedRow carried_row(Row& s) {
    constexpr ChainTable T = ChainTable::carried;
    CarriedRow row;
    row.time_ns = s.int64(col<T>("time_ns"));
    row.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    row.nspid = static_cast<uint32_t>(s.int64(col<T>("nspid")));
    row.uid = static_cast<uint32_t>(s.int64(col<T>("uid")));
    row.gid = static_cast<uint32_t>(s.int64(col<T>("gid")));
    row.euid = static_cast<uint32_t>(s.int64(col<T>("euid")));
    row.parent = {static_cast<uint32_t>(s.int64(col<T>("parent_tgid"))),
                  static_cast<uint64_t>(s.int64(col<T>("parent_start_ns")))};
    row.parent_source = s.text(col<T>("parent_source"));
    row.comm = s.blob(col<T>("comm"));
    row.binary = s.blob(col<T>("binary"));
    row.argv = s.blob(col<T>("argv"));
    row.cgroup_path = s.blob(col<T>("cgroup_path"));
    row.pod_uid = s.text(col<T>("pod_uid"));
    row.nodename = s.blob(col<T>("nodename"));
    row.source = s.text(col<T>("source"));
    row.from_batch = s.int64(col<T>("from_batch"));
    return row;
}

template <class Row>
ExecFileRow exec_file_row(Row& s) {
    constexpr ChainTable T = ChainTable::exec_files;
    ExecFileRow row;
    row.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    row.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    ExecFile& f = row.file;
    f.path = s.blob(col<T>("path"));
    f.dev = static_cast<uint64_t>(s.int64(col<T>("dev")));
    f.ino = static_cast<uint64_t>(s.int64(col<T>("ino")));
    f.nlink = static_cast<uint32_t>(s.int64(col<T>("nlink")));
    f.size = static_cast<uint64_t>(s.int64(col<T>("size")));
    f.mode = static_cast<uint32_t>(s.int64(col<T>("mode")));
    f.mtime_ns = s.int64(col<T>("mtime_ns"));
    f.flags = static_cast<uint32_t>(s.int64(col<T>("flags")));
    f.interpreter = s.blob(col<T>("interpreter"));
    f.before.uid = static_cast<uint32_t>(s.int64(col<T>("before_uid")));
    f.before.gid = static_cast<uint32_t>(s.int64(col<T>("before_gid")));
    f.before.euid = static_cast<uint32_t>(s.int64(col<T>("before_euid")));
    f.before.egid = static_cast<uint32_t>(s.int64(col<T>("before_egid")));
    f.before.cap_permitted = static_cast<uint64_t>(s.int64(col<T>("before_cap_prm")));
    f.before.cap_effective = static_cast<uint64_t>(s.int64(col<T>("before_cap_eff")));
    f.after.uid = static_cast<uint32_t>(s.int64(col<T>("uid")));
    f.after.gid = static_cast<uint32_t>(s.int64(col<T>("gid")));
    f.after.euid = static_cast<uint32_t>(s.int64(col<T>("euid")));
    f.after.egid = static_cast<uint32_t>(s.int64(col<T>("egid")));
    f.after.cap_permitted = static_cast<uint64_t>(s.int64(col<T>("cap_prm")));
    f.after.cap_effective = static_cast<uint64_t>(s.int64(col<T>("cap_eff")));
    return row;
}

template <class Row>
FileHashRow file_hash_row(Row& s) {
    constexpr ChainTable T = ChainTable::file_hashes;
    FileHashRow row;
    row.time_ns = s.int64(col<T>("time_ns"));
    row.key.dev = static_cast<uint64_t>(s.int64(col<T>("dev")));
    row.key.ino = static_cast<uint64_t>(s.int64(col<T>("ino")));
    row.key.size = static_cast<uint64_t>(s.int64(col<T>("size")));
    row.key.mtime_ns = s.int64(col<T>("mtime_ns"));
    row.path = s.blob(col<T>("path"));
    row.sha256 = s.text(col<T>("sha256"));
    row.problem = s.text(col<T>("problem"));
    return row;
}

template <class Row>
ListenEvent listen_row(Row& s) {
    constexpr ChainTable T = ChainTable::listens;
    ListenEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    e.family = static_cast<int>(s.int64(col<T>("family")));
    e.addr = s.text(col<T>("addr"));
    e.port = static_cast<uint16_t>(s.int64(col<T>("port")));
    return e;
}

template <class Row>
DnsEvent dns_row(Row& s) {
    constexpr ChainTable T = ChainTable::dns;
    DnsEvent e;
    e.time_ns = static_cast<uint64_t>(s.int64(col<T>("time_ns")));
    e.proc = {static_cast<uint32_t>(s.int64(col<T>("tgid"))), static_cast<uint64_t>(s.int64(col<T>("start_ns")))};
    e.sent = s.text(col<T>("direction")) != "received";
    e.tcp = s.text(col<T>("transport")) == "tcp";
    e.family = static_cast<int>(s.int64(col<T>("family")));
    e.saddr = s.text(col<T>("saddr"));
    e.sport = static_cast<uint16_t>(s.int64(col<T>("sport")));
    e.daddr = s.text(col<T>("daddr"));
    e.dport = static_cast<uint16_t>(s.int64(col<T>("dport")));
    e.length = static_cast<uint32_t>(s.int64(col<T>("length")));
    e.message = s.blob(col<T>("message"));
    return e;
}

// Both kinds of row the readers decode: a statement's current row, and a
// copied one (export's reader thread).
template SnapshotRow snapshot_row<Stmt>(Stmt&);
template SnapshotRow snapshot_row<const RowCopy>(const RowCopy&);
template ForkEvent fork_row<Stmt>(Stmt&);
template ForkEvent fork_row<const RowCopy>(const RowCopy&);
template ExecEvent exec_row<Stmt>(Stmt&);
template ExecEvent exec_row<const RowCopy>(const RowCopy&);
template ExitEvent exit_row<Stmt>(Stmt&);
template ExitEvent exit_row<const RowCopy>(const RowCopy&);
template ConnectEvent connect_row<Stmt>(Stmt&);
template ConnectEvent connect_row<const RowCopy>(const RowCopy&);
template CgroupRow cgroup_row<Stmt>(Stmt&);
template CgroupRow cgroup_row<const RowCopy>(const RowCopy&);
template ContainerRow container_row<Stmt>(Stmt&);
template ContainerRow container_row<const RowCopy>(const RowCopy&);
template MembershipRow membership_row<Stmt>(Stmt&);
template MembershipRow membership_row<const RowCopy>(const RowCopy&);
template CarriedRow carried_row<Stmt>(Stmt&);
template CarriedRow carried_row<const RowCopy>(const RowCopy&);
template ExecFileRow exec_file_row<Stmt>(Stmt&);
template ExecFileRow exec_file_row<const RowCopy>(const RowCopy&);
template FileHashRow file_hash_row<Stmt>(Stmt&);
template FileHashRow file_hash_row<const RowCopy>(const RowCopy&);
template ListenEvent listen_row<Stmt>(Stmt&);
template ListenEvent listen_row<const RowCopy>(const RowCopy&);
template DnsEvent dns_row<Stmt>(Stmt&);
template DnsEvent dns_row<const RowCopy>(const RowCopy&);

}  // namespace lineage
