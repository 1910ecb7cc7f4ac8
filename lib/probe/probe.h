#pragma once
// The only code that touches libbpf: loads bpf/lineage.bpf.c, attaches its
// BTF tracepoints and hands each ring-buffer record to a sink: the event
// source of a record session (event_source.h).
// Order is libbpf's: open, configure rodata and maps, load, attach.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capabilities.h"
#include "event_source.h"
#include "fd.h"
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
    // The cgroup v1 hierarchy to follow besides cgroup v2: its controller
    // ("memory", "cpu" or "pids") and hierarchy id; empty for none.
    std::string cgroup1_controller;
    uint32_t cgroup1_hierarchy = 0;
    // The cgroup2 mount whose root the DNS hooks attach to (every socket
    // of the node is in its hierarchy); "" when there is none (a pure
    // cgroup v1 node): DNS messages are then not recorded.
    std::string cgroup2_mount;
    bool verbose = false;  // libbpf's log to stderr
    // Connects in progress the probes can track at once; 0: the default
    // (bpf/lineage.bpf.c). Tests shrink it to make it overflow.
    uint32_t pending_connects = 0;
};

// The capabilities the probes need that `have` lacks: CAP_BPF (maps,
// programs, BTF) and CAP_PERFMON (tracing programs), for each of which
// CAP_SYS_ADMIN stands in, as it must on kernels before 5.8. Empty when
// the probes can load.
std::vector<Capability> probe_missing_capabilities(const CapabilitySet& have);

class Probe final : public EventSource {
public:
    ~Probe() override = default;
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    static Result<std::unique_ptr<Probe>> start(const ProbeOptions& options, RecordSink sink);

    Result<int> poll(int timeout_ms) override;
    Result<int> drain() override;
    Result<DropCounters> drops() const override;
    const std::string& hooks() const override { return hooks_; }

private:
    struct SkeletonDeleter {
        void operator()(lineage_bpf* skel) const;  // detaches the links, closes the maps and programs
    };
    struct RingBufferDeleter {
        void operator()(ring_buffer* rb) const;
    };

    Probe() = default;
    static int on_record(void* ctx, void* data, size_t size);

    // The DNS hooks' attach point (the cgroup2 root), closed after the
    // skeleton's links to it.
    UniqueFd cgroup2_root_;
    // Declared before the ring buffer, so destroyed after it: the ring
    // buffer reads the skeleton's map.
    std::unique_ptr<lineage_bpf, SkeletonDeleter> skel_;
    std::unique_ptr<ring_buffer, RingBufferDeleter> rb_;
    RecordSink sink_;
    std::string hooks_;
};

}  // namespace lineage
