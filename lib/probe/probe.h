#pragma once
// The only code that touches libbpf: loads bpf/lineage.bpf.c, attaches its
// BTF tracepoints and hands each ring-buffer record to a sink.
// Order is libbpf's: open, configure rodata and maps, load, attach.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "capabilities.h"
#include "result.h"

struct lineage_bpf;  // the generated skeleton
struct ring_buffer;  // libbpf

namespace lineage {

struct ProbeOptions {
    uint32_t argv_cap = 4096;
    uint64_t ring_bytes = 8u << 20;  // power of two, at least a page
    // Wake the reader only when this many bytes are pending; the reader
    // drains on its own timer otherwise. 0 = wake on every event.
    uint64_t wakeup_bytes = 0;
    bool filter_cgroups = false;
    std::vector<uint64_t> allowed_cgroup_ids;
    bool verbose = false;  // libbpf's log to stderr
};

// The capabilities the probes need that `have` lacks: CAP_BPF (maps,
// programs, BTF) and CAP_PERFMON (tracing programs), for each of which
// CAP_SYS_ADMIN stands in, as it must on kernels before 5.8. Empty when
// the probes can load.
std::vector<Capability> probe_missing_capabilities(const CapabilitySet& have);

// Called for every record; data is valid only during the call.
using RecordSink = std::function<void(const void* data, size_t size)>;

struct DropCounters {
    uint64_t count = 0;    // all CPUs
    uint64_t last_ns = 0;  // latest drop on any CPU, boot-time ns
};

class Probe {
public:
    ~Probe();
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    static Result<std::unique_ptr<Probe>> start(const ProbeOptions& options, RecordSink sink);

    // Waits up to timeout_ms for a wakeup, then consumes everything pending.
    // Returns records consumed or an error.
    Result<int> poll(int timeout_ms);
    // Consumes everything pending without waiting.
    Result<int> drain();
    DropCounters drops() const;
    // "tp_btf/sched_process_fork,tp_btf/sched_process_exec,..."
    const std::string& hooks() const { return hooks_; }

private:
    Probe() = default;
    static int on_record(void* ctx, void* data, size_t size);

    struct lineage_bpf* skel_ = nullptr;
    struct ring_buffer* rb_ = nullptr;
    RecordSink sink_;
    std::string hooks_;
};

}  // namespace lineage
