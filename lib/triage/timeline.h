#pragma once
// `lineage timeline`: the processes a query selects (reconstruct's Report:
// its matches and their ancestors), flat and in time order, one event a
// line: fork, exec, exit, dns, connect, listen, move into a pod, and the report's loss,
// not-recorded and pruned markers. Built from the model, so it reads the
// journals exactly as reconstruct does (the loader's LoadPlan).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model.h"
#include "reconstruct.h"
#include "render.h"

namespace lineage {

enum class TimelineKind { snapshot, fork, exec, dns, connect, listen, move, exit, loss, not_recorded, pruned };

// "snapshot", "fork", "exec", "dns", "connect", "listen", "move", "exit", "loss",
// "gap", "pruned": the text's second column and the JSON "event".
const char* timeline_kind_name(TimelineKind kind);

struct TimelineEvent {
    int64_t wall_ns = 0;
    TimelineKind kind = TimelineKind::exec;
    const Process* process = nullptr;  // null for a marker
    const ExecImage* image = nullptr;  // exec
    const ConnectInfo* connect = nullptr;
    const ListenInfo* listen = nullptr;
    const DnsLookup* dns = nullptr;
    const PodEntry* entry = nullptr;  // move
    const Warning* marker = nullptr;  // loss, gap, pruned
    // --new (mark_new on the report): whether the exec's binary or the
    // connect's destination is the first in its pod; unset without --new.
    std::optional<Newness> fresh = std::nullopt;
};

// Every event of the report's processes inside its window (all of them
// without one), and its markers, in time order; events at one instant in the
// order fork, exec, dns, connect, listen, move, exit, then by PID.
std::vector<TimelineEvent> build_timeline(const Model& model, const Report& report);

struct TimelineTextOptions {
    bool relative = false;  // offsets from the window's start (else from the first event)
    bool color = false;
    size_t max_line_bytes = 2048;
};

// One line per event, every byte from the journal escaped; handed to
// `sink` in pieces of about kRenderChunkBytes. False when the sink refused one.
bool render_timeline_text(const Model& model, const Report& report, const std::vector<TimelineEvent>& events,
                          const TimelineTextOptions& options, const OutputSink& sink);
// One JSON object per line (schema/timeline.schema.json), valid UTF-8.
bool render_timeline_jsonl(const Model& model, const std::vector<TimelineEvent>& events, const OutputSink& sink);

}  // namespace lineage
