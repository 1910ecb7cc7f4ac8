#pragma once
// What a record session asks of its event source: lib/probe implements it
// over libbpf's ring buffer, tests with synthetic records. A library of its
// own, headers only, so that the session links no libbpf and the probe no
// journal.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "result.h"

namespace lineage {

// Called for every record; data is valid only during the call.
using RecordSink = std::function<void(const void* data, size_t size)>;

// The kernel's count of records it could not put in the ring (it was full).
struct DropCounters {
    uint64_t count = 0;    // all CPUs, since the source started
    uint64_t last_ns = 0;  // latest drop on any CPU, boot-time ns; 0 if none
    // Events the probes could not track because a map of theirs was full
    // (connects in progress), the same way.
    uint64_t map_full = 0;
    uint64_t map_full_last_ns = 0;
};

class EventSource {
public:
    virtual ~EventSource() = default;

    // Waits up to timeout_ms for a wakeup (a signal ends the wait), then
    // hands everything pending to the sink. Returns the records consumed.
    virtual Result<int> poll(int timeout_ms) = 0;
    // Hands everything pending to the sink without waiting.
    virtual Result<int> drain() = 0;
    // An error is never "no loss": the caller reads again or says so.
    virtual Result<DropCounters> drops() const = 0;
    // What the events come from, for the run row:
    // "tp_btf/sched_process_fork,tp_btf/sched_process_exec,...".
    virtual const std::string& hooks() const = 0;
};

}  // namespace lineage
