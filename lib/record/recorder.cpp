#include "recorder.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "event.h"
#include "pod.h"

namespace lineage {

namespace {
const std::string kNoPod;

int64_t event_time(const Event& event) {
    return std::visit([](const auto& e) { return static_cast<int64_t>(e.time_ns); }, event);
}

std::string seconds(int64_t ns) {
    return fmt::format("{:.1f} s", static_cast<double>(ns) / 1e9);
}
}  // namespace

Recorder::Recorder(JournalWriter& writer, RecorderOptions options, PodNamer pod_namer, Notifier notify)
    : writer_(writer), options_(options), pod_namer_(std::move(pod_namer)), notify_(std::move(notify)) {}

Status Recorder::on_record(const void* data, size_t size, int64_t now_ns) {
    auto event = decode_event(data, size);
    if (!event) {
        // A record we cannot read is an event we lost: count it, never guess.
        ++stats_.decode_errors;
        ++decode_loss_pending_;
        if (decode_loss_from_ns_ < 0) decode_loss_from_ns_ = now_ns;
        return Ok{};
    }
    // The kernel's time, unless it is later than now (it cannot be, but it
    // comes from outside).
    const int64_t t = std::min(event_time(*event), now_ns);
    if (down_) {
        ++stats_.lost;
        ++stats_.journal_write;
        count_unstored(1, t, t);
        return Ok{};
    }
    // An exec's pod, worked out once: for its row and to name the pod.
    const auto* exec = std::get_if<ExecEvent>(&*event);
    const std::string& pod_uid = exec ? pod_uids_.uid_for(exec->cgroup_path) : kNoPod;
    if (auto st = writer_.add(*event, pod_uid); !st) {
        if (auto handled = on_write_error(st.error(), now_ns); !handled) return handled;
        ++stats_.lost;
        ++stats_.journal_write;
        count_unstored(1, t, t);
        return Ok{};
    }
    ++stats_.stored;
    ++batch_events_;
    if (batch_first_event_ns_ < 0) batch_first_event_ns_ = t;
    if (exec) {
        if (auto st = attribute_pod(pod_uid, exec->nodename); !st) return on_write_error(st.error(), now_ns);
    }
    return Ok{};
}

Status Recorder::attribute_pod(const std::string& uid, const std::string& nodename) {
    if (!pod_namer_) return Ok{};
    if (uid.empty() || pods_named_.count(uid)) return Ok{};
    auto name = pod_namer_(uid, nodename);
    if (!name) return Ok{};
    if (auto st = writer_.add_pod(uid, name->name, name->namespace_, name->source); !st) return st;
    // Named once it is in the batch; a rolled-back batch names it again.
    pods_named_.insert(uid);
    batch_pods_.push_back(uid);
    return Ok{};
}

Status Recorder::add_loss(PendingLoss loss) {
    if (auto st = writer_.add_loss(loss.from_ns, loss.to_ns, loss.count, loss.reason); !st) return st;
    batch_losses_.push_back(std::move(loss));
    return Ok{};
}

void Recorder::count_unstored(uint64_t n, int64_t from_ns, int64_t to_ns) {
    if (n == 0) return;
    if (unstored_ == 0) {
        unstored_from_ns_ = from_ns;
        unstored_to_ns_ = to_ns;
    } else {
        unstored_from_ns_ = std::min(unstored_from_ns_, from_ns);
        unstored_to_ns_ = std::max(unstored_to_ns_, to_ns);
    }
    unstored_ += n;
}

Status Recorder::on_write_error(const Error& error, int64_t now_ns) {
    // Nothing of the batch reaches the journal (the writer gives a batch up
    // when a write fails): what it held is counted again, as lost events
    // and as loss rows that wait.
    writer_.abort_batch();
    stats_.stored -= batch_events_;
    stats_.lost += batch_events_;
    stats_.journal_write += batch_events_;
    count_unstored(batch_events_, batch_first_event_ns_ < 0 ? now_ns : batch_first_event_ns_, now_ns);
    for (const auto& uid : batch_pods_) pods_named_.erase(uid);
    pending_losses_.insert(pending_losses_.begin(), batch_losses_.begin(), batch_losses_.end());
    if (batch_clock_) clock_boot_ns_ = -1;  // take a sample again
    batch_events_ = 0;
    batch_first_event_ns_ = -1;
    batch_pods_.clear();
    batch_losses_.clear();
    batch_clock_ = false;
    // Not the storage's fault (a bug, a damaged journal): recording stops.
    if (!is_storage_error(error)) return error;
    if (!down_) {
        down_ = true;
        down_error_ = error.message;
        down_since_ns_ = now_ns;
        notify(
            fmt::format("cannot write the journal: {}; recording goes on, and the events that cannot be stored "
                        "are counted until it can be written again",
                        error.message));
    }
    retry_at_ns_ = now_ns + options_.retry_interval_ns;
    return Ok{};
}

Status Recorder::try_recover(int64_t now_ns) {
    retry_at_ns_ = now_ns + options_.retry_interval_ns;
    if (writer_.batch_open()) writer_.abort_batch();
    // The losses that waited, then the time the journal could not be
    // written, in one batch: it commits whole or not at all.
    std::vector<PendingLoss> rows = pending_losses_;
    if (decode_loss_pending_ > 0) {
        rows.push_back(PendingLoss{decode_loss_from_ns_, now_ns, static_cast<int64_t>(decode_loss_pending_), "decode"});
    }
    if (unstored_ > 0) {
        rows.push_back(PendingLoss{unstored_from_ns_, std::max(unstored_to_ns_, unstored_from_ns_),
                                   static_cast<int64_t>(unstored_), "journal_write"});
    } else if (rows.empty()) {
        // Nothing was lost (what failed was a clock sample, say), but only a
        // write shows that the journal takes writes again, and the time it
        // did not is worth a row: 0 events, journal_write.
        rows.push_back(PendingLoss{down_since_ns_, std::max(now_ns, down_since_ns_), 0, "journal_write"});
    }
    Status st = Ok{};
    for (const auto& l : rows) {
        st = writer_.add_loss(l.from_ns, l.to_ns, l.count, l.reason);
        if (!st) break;
    }
    if (st) st = writer_.commit(now_ns);
    if (!st) {
        writer_.abort_batch();
        return is_storage_error(st.error()) ? Status(Ok{}) : st;
    }
    if (decode_loss_pending_ > 0) {
        stats_.lost += decode_loss_pending_;
        decode_loss_pending_ = 0;
        decode_loss_from_ns_ = -1;
    }
    notify(
        fmt::format("the journal can be written again: {} events over {} could not be stored and are recorded "
                    "as lost (journal_write)",
                    unstored_, seconds(unstored_to_ns_ - unstored_from_ns_)));
    down_ = false;
    down_error_.clear();
    pending_losses_.clear();
    unstored_ = 0;
    interval_start_ns_ = now_ns;
    return Ok{};
}

Status Recorder::maybe_commit(int64_t now_ns) {
    if (down_) return now_ns >= retry_at_ns_ ? try_recover(now_ns) : Status(Ok{});
    if (writer_.pending_rows() == 0 && pending_losses_.empty() && decode_loss_pending_ == 0) {
        // The caller has just drained the ring: whatever arrives from now on
        // is younger than now.
        interval_start_ns_ = now_ns;
        return Ok{};
    }
    if (interval_start_ns_ < 0) interval_start_ns_ = now_ns;
    if (writer_.pending_rows() >= options_.batch_max_rows ||
        now_ns - interval_start_ns_ >= options_.batch_interval_ns) {
        return commit(now_ns);
    }
    return Ok{};
}

int64_t Recorder::next_commit_ns(int64_t now_ns) const {
    if (down_) return retry_at_ns_;
    if (interval_start_ns_ < 0) return now_ns + options_.batch_interval_ns;
    return interval_start_ns_ + options_.batch_interval_ns;
}

Status Recorder::commit(int64_t now_ns) {
    if (down_) return try_recover(now_ns);
    if (decode_loss_pending_ > 0) {
        pending_losses_.push_back(
            PendingLoss{decode_loss_from_ns_, now_ns, static_cast<int64_t>(decode_loss_pending_), "decode"});
        stats_.lost += decode_loss_pending_;
        decode_loss_pending_ = 0;
        decode_loss_from_ns_ = -1;
    }
    for (size_t i = 0; i < pending_losses_.size(); ++i) {
        if (auto st = add_loss(pending_losses_[i]); !st) {
            pending_losses_.erase(pending_losses_.begin(), pending_losses_.begin() + static_cast<ptrdiff_t>(i));
            return on_write_error(st.error(), now_ns);
        }
    }
    pending_losses_.clear();
    interval_start_ns_ = now_ns;
    if (auto st = writer_.commit(now_ns); !st) return on_write_error(st.error(), now_ns);
    batch_events_ = 0;
    batch_first_event_ns_ = -1;
    batch_pods_.clear();
    batch_losses_.clear();
    batch_clock_ = false;
    return Ok{};
}

Status Recorder::note_clock(int64_t boot_ns, int64_t wall_ns) {
    constexpr int64_t kStep = 1'000'000;               // 1 ms
    constexpr int64_t kKeepalive = 3'600'000'000'000;  // 1 h
    if (down_) return Ok{};                            // sampled again once the journal can be written
    int64_t offset = wall_ns - boot_ns;
    if (clock_boot_ns_ >= 0 && std::llabs(offset - clock_offset_ns_) <= kStep && boot_ns - clock_boot_ns_ < kKeepalive)
        return Ok{};
    const bool joins_batch = writer_.batch_open();
    if (auto st = writer_.add_clock_sample(boot_ns, wall_ns); !st) {
        clock_boot_ns_ = -1;
        return on_write_error(st.error(), boot_ns);
    }
    clock_boot_ns_ = boot_ns;
    clock_offset_ns_ = offset;
    if (joins_batch) batch_clock_ = true;
    return Ok{};
}

Status Recorder::note_drops(uint64_t total_count, uint64_t last_drop_ns, int64_t now_ns) {
    if (total_count > drops_seen_) {
        uint64_t fresh = total_count - drops_seen_;
        // Drops happened after the previous reading and no later than the
        // latest drop time the kernel noted (or now, if it has none).
        int64_t to = last_drop_ns ? static_cast<int64_t>(last_drop_ns) : now_ns;
        PendingLoss loss{drops_checked_ns_, to, static_cast<int64_t>(fresh), "ringbuf_full"};
        stats_.lost += fresh;
        stats_.ringbuf_full += fresh;
        drops_seen_ = total_count;
        if (down_) {
            pending_losses_.push_back(std::move(loss));
        } else if (auto st = add_loss(loss); !st) {
            pending_losses_.push_back(std::move(loss));
            drops_checked_ns_ = now_ns;
            return on_write_error(st.error(), now_ns);
        }
    }
    drops_checked_ns_ = now_ns;
    return Ok{};
}

}  // namespace lineage
