#pragma once
// Reading processes that already exist when the recorder starts, so that
// ancestry trees built from live events do not begin in mid-air.
//
// Everything under /proc/PID that a process can influence (comm, cmdline,
// cgroup names chosen by a container runtime, hostnames) is attacker-controlled
// bytes: the parsers below take it as opaque data, never assume UTF-8, and
// return an Error (or an empty value) instead of trusting its shape.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "capabilities.h"
#include "result.h"

namespace lineage {

// Marks a uid/gid we could not read. 0 would claim "root", which is the one
// value a forensic record must never invent; (uint32_t)-1 is the kernel's own
// INVALID_UID and cannot belong to a real process.
inline constexpr uint32_t unknown_id = 0xffffffffu;

// PF_KTHREAD in the flags field of /proc/PID/stat.
inline constexpr uint32_t pf_kthread = 0x00200000u;

struct ProcStat {
    int32_t pid = 0;
    std::string comm;
    char state = '?';
    int32_t ppid = 0;
    uint32_t flags = 0;        // field 9
    uint64_t start_ticks = 0;  // field 22 starttime, in clock ticks since boot
};

// Parses the whole contents of /proc/PID/stat.
Result<ProcStat> parse_proc_stat(std::string_view text);

struct ProcStatus {
    uint32_t uid = unknown_id;
    uint32_t euid = unknown_id;
    uint32_t gid = unknown_id;
    uint32_t egid = unknown_id;
    int32_t tgid = 0;
    int32_t ppid = 0;
    // NSpid line: outermost namespace first; the last entry is the pid inside
    // the process's own pid namespace. {tgid} on kernels without NSpid.
    std::vector<int32_t> nspid;
};

// Parses the whole contents of /proc/PID/status. Uid, Gid, Tgid and PPid are
// required; NSpid is optional.
Result<ProcStatus> parse_proc_status(std::string_view text);

struct ProcCgroup {
    std::string unified;  // path from the "0::" line, empty if none
    // (controllers, path) for every other line, in file order, e.g.
    // ("memory", "/kubepods/...") or ("name=systemd", "/...").
    std::vector<std::pair<std::string, std::string>> v1;
};

// Parses /proc/PID/cgroup. Malformed lines are skipped rather than failing
// the whole file, because one odd hierarchy should not hide the others.
ProcCgroup parse_proc_cgroup(std::string_view text);

// The cgroup path used for pod attribution on both v1 and v2 hosts: the
// unified path if it is neither empty nor "/", else the first v1 path
// containing "kubepods", else the v1 "memory" path, else the v1
// "name=systemd" path (each only if not "/"), else the unified path as is.
std::string best_cgroup_path(const ProcCgroup& cgroup);

// <proc_root>/sys/kernel/random/boot_id without the trailing newline; empty
// string if it cannot be read.
std::string read_boot_id(const std::string& proc_root = "/proc");

// Whether process `tgid` that started at clock tick `start_ticks` still
// runs: its /proc entry is there with that start (a reused PID has
// another). True when it cannot tell (/proc unreadable): the caller drops
// only what is surely gone.
bool process_started_at(const std::string& proc_root, uint32_t tgid, uint64_t start_ticks);

// sysconf(_SC_CLK_TCK), the unit of ProcStat::start_ticks. Falls back to 100
// (USER_HZ on every Linux architecture we run on) if sysconf fails, so a
// caller dividing by it never divides by zero or by -1.
long clock_ticks_per_second();

struct SnapshotProcess {
    int32_t tgid = 0;
    int32_t ppid = 0;
    int32_t nspid = 0;  // pid in its own pid namespace; 0 if status was unreadable
    uint64_t start_ticks = 0;
    std::string comm;
    // readlink of /proc/PID/exe; empty when unreadable (kernel threads,
    // permission). May end in " (deleted)" exactly as the kernel reports it.
    std::string exe;
    std::vector<std::string> argv;
    uint32_t uid = unknown_id;
    uint32_t gid = unknown_id;
    uint32_t euid = unknown_id;
    std::string cgroup_path;     // best_cgroup_path(); empty if unreadable
    uint64_t uts_ns_inode = 0;   // st_ino of /proc/PID/ns/uts; 0 if unreadable
    std::string nodename;        // left empty here; filled by the caller's resolver
    bool kernel_thread = false;  // PF_KTHREAD
};

// Reads every numeric directory of proc_root, sorted by tgid. A process whose
// stat cannot be read, or that is reaped (or has its pid reused) while we
// read it, is left out; zombies are kept, with empty argv and exe. Any other unreadable file leaves its fields at their
// defaults. Returns an empty vector if proc_root itself cannot be listed.
std::vector<SnapshotProcess> scan_proc(const std::string& proc_root = "/proc");

// The UTS nodename seen inside pid's UTS namespace, via setns() on a
// short-lived thread (namespace membership is per thread, so the calling
// thread is unaffected). Needs CAP_SYS_ADMIN; empty string on any failure.
std::string uts_nodename_of(int32_t pid, const std::string& proc_root = "/proc");

// The inode of this process's own UTS namespace (the node's, for a
// recorder on the host); 0 when it cannot be read.
uint64_t own_uts_ns_inode();

// What scan_proc() and NodenameResolver cannot read with the capabilities
// `have`, one sentence each (empty with all of them). /proc/PID/exe and
// /proc/PID/ns/* pass the kernel's ptrace access check: another user's
// process, or one with capabilities the reader lacks (any root process, for
// a reader that is not full root), needs CAP_SYS_PTRACE. Entering a UTS
// namespace for its host name needs CAP_SYS_ADMIN.
std::vector<std::string> snapshot_capability_gaps(const CapabilitySet& have);

// Caches nodenames by UTS namespace inode so a snapshot of thousands of
// processes spawns one thread per namespace, not per process. Not
// thread-safe: use one per thread or guard it.
class NodenameResolver {
public:
    explicit NodenameResolver(std::string proc_root = "/proc");

    // Empty string if uts_ns_inode is 0 or the namespace cannot be entered.
    // Failures are not cached: the usual cause is that this pid exited, and
    // the next pid in the same namespace may well succeed.
    std::string nodename_for(int32_t pid, uint64_t uts_ns_inode);

private:
    std::string proc_root_;
    uint64_t own_uts_inode_ = 0;
    std::unordered_map<uint64_t, std::string> cache_;
};

}  // namespace lineage
