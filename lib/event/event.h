#pragma once
// Decoded kernel events, as user space works with them. The wire format is
// bpf/events.h; decode_event() is the only place that reads it.

#include <cstdint>
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
};

// Bits of ExecEvent::truncated, as stored in exec.truncated.
inline constexpr uint32_t kArgvTruncated = 0x1;
inline constexpr uint32_t kBinaryTruncated = 0x2;
inline constexpr uint32_t kCgroupTruncated = 0x4;

struct ExecEvent {
    uint64_t time_ns = 0;
    ProcRef proc;
    ProcRef parent;  // real_parent at exec time (fallback only)
    uint32_t nspid = 0;
    uint32_t old_tid = 0;
    uint32_t uid = 0, gid = 0, euid = 0;
    uint32_t truncated = 0;
    uint64_t cgroup_id = 0;
    std::string comm;
    std::string parent_comm;
    std::string nodename;
    std::string cgroup_path;  // "/a/b/c", root first
    std::string binary;
    std::string argv;  // NUL separated, as the kernel keeps it
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

// Where the recorder took a pod's name from (pods.source): the kubelet's
// log directory, or the UTS host name of a process in the pod. The journal
// keeps the text; `unknown` is any text this build does not know.
enum class PodNameSource { log_dir, hostname, unknown };
const char* pod_name_source_text(PodNameSource s);  // "log-dir", "hostname", "unknown"
PodNameSource pod_name_source_from(std::string_view text);

using Event = std::variant<ForkEvent, ExecEvent, ExitEvent, ConnectEvent>;

// Decodes one ring-buffer record. The kernel is trusted to be the writer,
// but sizes are still checked: a short or inconsistent record is an error,
// never a read past the buffer.
Result<Event> decode_event(const void* data, size_t size);

// Turns leaf-first NUL-terminated cgroup names into "/root/.../leaf".
std::string cgroup_path_from_names(std::string_view names);

// Splits a wait status into code, signal and core flag.
void decode_wait_status(uint32_t status, int* code, int* signal, bool* core);

}  // namespace lineage
