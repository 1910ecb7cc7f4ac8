#include "recorder.h"

#include <cstdlib>

#include "event.h"
#include "pod.h"

namespace lineage {

Recorder::Recorder(JournalWriter& writer, RecorderOptions options, PodNamer pod_namer)
    : writer_(writer), options_(options), pod_namer_(std::move(pod_namer)) {}

Status Recorder::on_record(const void* data, size_t size, int64_t now_ns) {
    auto event = decode_event(data, size);
    if (!event) {
        // A record we cannot read is an event we lost: count it, never guess.
        ++stats_.decode_errors;
        ++decode_loss_pending_;
        if (decode_loss_from_ns_ < 0) decode_loss_from_ns_ = now_ns;
        return Ok{};
    }
    if (batch_started_ns_ < 0) batch_started_ns_ = now_ns;
    if (auto st = writer_.add(*event); !st) return st;
    ++stats_.stored;
    if (const auto* exec = std::get_if<ExecEvent>(&*event)) {
        return attribute_pod(exec->cgroup_path, exec->nodename);
    }
    return Ok{};
}

Status Recorder::attribute_pod(const std::string& cgroup_path, const std::string& nodename) {
    if (!pod_namer_) return Ok{};
    const std::string& uid = pod_uids_.uid_for(cgroup_path);
    if (uid.empty() || pods_named_.count(uid)) return Ok{};
    auto name = pod_namer_(uid, nodename);
    if (!name) return Ok{};
    pods_named_.insert(uid);
    return writer_.add_pod(uid, name->name, name->namespace_, name->source);
}

Status Recorder::maybe_commit(int64_t now_ns) {
    if (writer_.pending_rows() == 0) return Ok{};
    if (batch_started_ns_ < 0) batch_started_ns_ = now_ns;
    if (writer_.pending_rows() >= options_.batch_max_rows ||
        now_ns - batch_started_ns_ >= options_.batch_interval_ns) {
        return commit(now_ns);
    }
    return Ok{};
}

Status Recorder::commit(int64_t now_ns) {
    if (decode_loss_pending_ > 0) {
        if (auto st = writer_.add_loss(decode_loss_from_ns_, now_ns, static_cast<int64_t>(decode_loss_pending_),
                                       "decode");
            !st)
            return st;
        stats_.lost += decode_loss_pending_;
        decode_loss_pending_ = 0;
        decode_loss_from_ns_ = -1;
    }
    batch_started_ns_ = -1;
    return writer_.commit(now_ns);
}

Status Recorder::note_clock(int64_t boot_ns, int64_t wall_ns) {
    constexpr int64_t kStep = 1'000'000;                 // 1 ms
    constexpr int64_t kKeepalive = 3'600'000'000'000;    // 1 h
    int64_t offset = wall_ns - boot_ns;
    if (clock_boot_ns_ >= 0 && std::llabs(offset - clock_offset_ns_) <= kStep &&
        boot_ns - clock_boot_ns_ < kKeepalive)
        return Ok{};
    clock_boot_ns_ = boot_ns;
    clock_offset_ns_ = offset;
    return writer_.add_clock_sample(boot_ns, wall_ns);
}

Status Recorder::note_drops(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns) {
    if (total_count > drops_seen_) {
        uint64_t fresh = total_count - drops_seen_;
        // Drops happened after the previous reading and no later than the
        // latest drop time the kernel noted (or now, if it has none).
        int64_t to = last_drop_ns ? static_cast<int64_t>(last_drop_ns) : now_ns;
        if (auto st = writer_.add_loss(drops_checked_ns_, to, static_cast<int64_t>(fresh), "ringbuf_full"); !st)
            return st;
        stats_.lost += fresh;
        drops_seen_ = total_count;
    }
    drops_checked_ns_ = now_ns;
    return Ok{};
}

}  // namespace lineage
