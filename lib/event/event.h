#pragma once
// Decoded kernel events, as user space works with them. The wire format is
// bpf/events.h; decode_event() is the only place that reads it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "argv.h"
#include "result.h"

namespace lineage {

// A process as one boot's kernel names it: (tgid, group leader start).
struct ProcRef {
    uint32_t tgid = 0;
    uint64_t start_ns = 0;
};

struct ForkEvent {
    uint64_t time_ns = 0;
    ProcRef parent;  // the forker, never a later reaper
    ProcRef child;
    std::string parent_comm;
    // Where the child starts (the probe's record; a fork row of the journal
    // has none of these: its cgroups are in a membership row, if in a pod).
    uint64_t cgroup_id = 0;   // cgroup v2
    uint64_t cgroup1_id = 0;  // the followed cgroup v1 hierarchy; 0 when none
    uint32_t nspid = 0;       // the child's pid inside its pid namespace
};

// Bits of ExecEvent::truncated, as stored in exec.truncated.
inline constexpr uint32_t kArgvTruncated = 0x1;
inline constexpr uint32_t kBinaryTruncated = 0x2;
inline constexpr uint32_t kCgroupTruncated = 0x4;

// Credentials around an exec (schema version 8): uids and gids as the
// initial user namespace sees them, capability sets as 64-bit masks.
struct Credentials {
    uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
    uint64_t cap_permitted = 0, cap_effective = 0;
    bool operator==(const Credentials&) const = default;
};

// Bits of ExecFile::flags, as stored in exec_files.flags (the probe's
// LINEAGE_FILE_* bits, bpf/events.h).
inline constexpr uint32_t kFileMemfd = 0x1;       // a memfd: fileless execution
inline constexpr uint32_t kFileDeleted = 0x2;     // link count 0 at exec
inline constexpr uint32_t kFileUpper = 0x4;       // on an overlayfs upper layer
inline constexpr uint32_t kFileUpperKnown = 0x8;  // kFileUpper is an answer, not "unknown"
inline constexpr uint32_t kFilePathTruncated = 0x10;
inline constexpr uint32_t kFileScript = 0x20;      // a #! script: interpreter is set
inline constexpr uint32_t kFileSecureExec = 0x40;  // the kernel marked the exec AT_SECURE
inline constexpr uint32_t kFileInterpreterTruncated = 0x80;
inline constexpr uint32_t kFileOverlay = 0x100;  // the file is on overlayfs

// The file the kernel really executed (bprm->file; for a script, its
// interpreter), with its identity at exec time (schema version 8, table
// exec_files).
struct ExecFile {
    std::string path;  // from the kernel's walk of dentries and mounts, up to the process's root
    uint64_t dev = 0;  // st_dev as stat(2) gives it (makedev(major, minor))
    uint64_t ino = 0;
    uint32_t nlink = 0;
    uint64_t size = 0;
    uint32_t mode = 0;        // st_mode: type and permission bits (setuid 04000, setgid 02000)
    int64_t mtime_ns = 0;     // ns since the epoch
    uint32_t flags = 0;       // kFile* bits
    std::string interpreter;  // a script's interpreter as the #! line named it (bprm->interp)
    Credentials before;       // the caller's (the credentials the file was opened with)
    Credentials after;        // the process's after the exec
};

// What identifies an executed file's content for hashing: one hash per key.
struct FileKey {
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    auto operator<=>(const FileKey&) const = default;
};

// A file_hashes row (schema version 8): the SHA-256 of an executed file's
// content, computed by the recorder in user space, once per FileKey, and
// written once per (key, path) so that --sha256 finds every path it ran at.
struct FileHashRow {
    int64_t time_ns = 0;  // boot ns when hashed (or given up)
    FileKey key;
    std::string path;     // exec_files.path of an exec of this file
    std::string sha256;   // 64 lower-case hex digits; "" when unavailable
    std::string problem;  // "" when hashed; else why not (see schema/journal.sql)
};

struct ExecEvent {
    uint64_t time_ns = 0;
    ProcRef proc;
    ProcRef parent;  // real_parent at exec time (fallback only)
    uint32_t nspid = 0;
    uint32_t old_tid = 0;
    uint32_t uid = 0, gid = 0, euid = 0;
    uint32_t truncated = 0;
    uint64_t cgroup_id = 0;
    uint64_t cgroup1_id = 0;  // the followed cgroup v1 hierarchy (probe only, not an exec row's)
    uint32_t uts_ns = 0;      // inode of the UTS namespace of nodename (probe only)
    std::string comm;
    std::string parent_comm;
    std::string nodename;
    std::string cgroup_path;  // "/a/b/c", root first
    std::string binary;
    std::string argv;  // NUL separated, as the kernel keeps it
    // The executed file (schema version 8); none for an exec of an older
    // journal, an import, or a fixture that does not say.
    std::optional<ExecFile> file;
};

struct ExitEvent {
    uint64_t time_ns = 0;
    ProcRef proc;
    int code = 0;    // exit code when it exited
    int signal = 0;  // terminating signal when killed
    bool core_dumped = false;
    std::string comm;
};

struct ConnectEvent {
    uint64_t time_ns = 0;     // SYN sent
    uint64_t outcome_ns = 0;  // established or failed
    ProcRef proc;
    int family = 4;  // 4 or 6
    std::string saddr, daddr;
    uint16_t sport = 0, dport = 0;
    bool established = false;
    // False when the source did not say how the connect ended (an imported
    // Tetragon tcp_connect is the SYN): connect.result 'unknown'.
    bool outcome_known = true;
};

// A TCP socket entered LISTEN (schema version 8, table listens).
struct ListenEvent {
    uint64_t time_ns = 0;
    ProcRef proc;
    int family = 4;    // 4 or 6
    std::string addr;  // printable, as connect's addresses
    uint16_t port = 0;
};

// A DNS message (UDP or TCP, port 53) a process's socket sent or received
// (schema version 10, table dns). The bytes are as captured: readers parse
// them (lib/names/dns.h).
struct DnsEvent {
    uint64_t time_ns = 0;
    ProcRef proc;              // tgid 0: the kernel could not tell the process
    bool sent = true;          // false: received
    bool tcp = false;          // else UDP
    int family = 4;            // 4 or 6
    std::string saddr, daddr;  // printable, as connect's addresses
    uint16_t sport = 0, dport = 0;
    uint32_t length = 0;  // the payload's bytes on the wire
    std::string message;  // its first bytes, at most the probe's cap
};

// A cgroup the probes named (a cgroup record): sent once, before the first
// record that names it by id. Not a row of its own: the recorder writes a
// cgroups row when a membership row names it.
struct CgroupEvent {
    uint64_t time_ns = 0;
    uint64_t cgroup_id = 0;
    uint32_t hierarchy = 0;  // 0: cgroup v2; else a cgroup v1 hierarchy id
    std::string path;        // "/a/b", below the hierarchy's root
    bool truncated = false;
};

// A whole process moved to another cgroup.
struct MoveEvent {
    uint64_t time_ns = 0;
    ProcRef proc;   // moved
    ProcRef mover;  // the process that moved it
    uint64_t cgroup_id = 0;
    uint32_t hierarchy = 0;
    uint32_t nspid = 0;
    bool transfer = false;  // cgroup_transfer_tasks (v1 cpuset), not an attach
    std::string comm;
    std::string path;
};

// A process found in /proc when the run started (table snapshot): not a
// kernel event, but the same kind of record, read from /proc by the recorder.
struct SnapshotRow {
    int64_t time_ns = 0;
    uint32_t tgid = 0;
    uint32_t nspid = 0;
    uint32_t ppid = 0;
    uint64_t start_ns = 0;
    uint32_t uid = 0, gid = 0, euid = 0;
    std::string comm, exe, argv, cgroup_path, nodename;
};

// A cgroups row: a cgroup, once per run, that a membership row names.
struct CgroupRow {
    uint32_t hierarchy = 0;  // 0: cgroup v2; else the cgroup v1 hierarchy id
    uint64_t cgroup_id = 0;
    std::string path;
    std::string pod_uid;       // parse_kube_cgroup(path), "" outside pods
    std::string container_id;  // parse_kube_cgroup(path), "" when none
};

// A containers row (schema version 7): what one file on the node said about
// a container when the recorder read it. Every string is the file's bytes.
struct ContainerRow {
    int64_t time_ns = 0;  // boot ns when read
    std::string container_id;
    std::string pod_uid;
    std::string pod_name;
    std::string pod_namespace;
    std::string name;
    std::string image;
    std::string type;     // "container", "sandbox", other as written, or ""
    std::string source;   // "bundle", "containerd-task", "crio-state", "kubelet-log"
    std::string path;     // the file read
    std::string problem;  // "" when read; else why nothing came from it
};

// Whether a containers row's source is the runtime's own annotations
// (a bundle, containerd's or CRI-O's state, or an import of Tetragon, which
// asked the CRI), as opposed to the kubelet's file names.
bool container_source_is_runtime(std::string_view source);

// How a process came to be in a cgroup (memberships.how).
enum class MembershipHow {
    fork,   // created there (its parent's cgroup, or clone3's CLONE_INTO_CGROUP)
    exec,   // exec'd there
    move,   // moved there (cgroup.procs, a runtime, systemd)
    alive,  // the recorder restating that it is still there (see schema/journal.sql)
    unknown,
};
const char* membership_how_text(MembershipHow h);  // "fork", "exec", "move", "alive"; "unknown"
MembershipHow membership_how_from(std::string_view text);

// A memberships row: a process is in a cgroup from time_ns on.
struct MembershipRow {
    int64_t time_ns = 0;
    ProcRef proc;
    uint32_t nspid = 0;  // 0 when not known
    MembershipHow how = MembershipHow::fork;
    uint32_t hierarchy = 0;
    uint64_t cgroup_id = 0;
    std::string pod_uid;  // the cgroup's pod, "" outside pods
    uint32_t uts_ns = 0;  // exec: its UTS namespace; else 0
    ProcRef by;           // fork: the forker; move: the mover; else {0, 0}
    std::string comm;
};

// A carried row (schema version 4): the identity of a process still
// running, written again by retention before it deleted the row that held it.
struct CarriedRow {
    int64_t time_ns = 0;  // of the row it restates
    ProcRef proc;
    uint32_t nspid = 0;
    uint32_t uid = 0, gid = 0, euid = 0;
    ProcRef parent;             // {0, 0} when not known
    std::string parent_source;  // "fork", "exec", "snapshot"; "" when not known
    std::string comm, binary, argv, cgroup_path, pod_uid, nodename;
    std::string source;  // "exec", "fork" or "snapshot"
    int64_t from_batch = 0;
};

// Where the recorder took a pod's name from (pods.source): the kubelet's
// log directory, the container runtime's annotations (schema version 7), or
// the UTS host name of a process in the pod. The journal keeps the text;
// `unknown` is any text this build does not know.
enum class PodNameSource { log_dir, runtime, hostname, unknown };
const char* pod_name_source_text(PodNameSource s);  // "log-dir", "runtime", "hostname", "unknown"
PodNameSource pod_name_source_from(std::string_view text);

using Event =
    std::variant<ForkEvent, ExecEvent, ExitEvent, ConnectEvent, CgroupEvent, MoveEvent, ListenEvent, DnsEvent>;

// Decodes one ring-buffer record. The kernel is trusted to be the writer,
// but sizes are still checked: a short or inconsistent record is an error,
// never a read past the buffer.
Result<Event> decode_event(const void* data, size_t size);

// Turns leaf-first NUL-terminated cgroup names into "/root/.../leaf".
std::string cgroup_path_from_names(std::string_view names);

// The same for the executed file's dentry names; "" when there are none.
std::string file_path_from_names(std::string_view names);

// Splits a wait status into code, signal and core flag.
void decode_wait_status(uint32_t status, int* code, int* signal, bool* core);

}  // namespace lineage
