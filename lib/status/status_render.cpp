#include "status_render.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "timeexpr.h"

namespace lineage {

using nlohmann::json;

std::string format_size_option(int64_t bytes) {
    for (auto [unit, size] : {std::pair{"G", int64_t{1} << 30}, {"M", int64_t{1} << 20}, {"K", int64_t{1} << 10}}) {
        if (bytes >= size && bytes % size == 0) return fmt::format("{}{}", bytes / size, unit);
    }
    return fmt::format("{}", bytes);
}

std::string format_duration_option(int64_t ns) {
    constexpr int64_t kMs = 1'000'000, kS = 1000 * kMs, kM = 60 * kS, kH = 60 * kM, kD = 24 * kH;
    for (auto [unit, size] : {std::pair{"d", kD}, {"h", kH}, {"m", kM}, {"s", kS}, {"ms", kMs}}) {
        if (ns >= size && ns % size == 0) return fmt::format("{}{}", ns / size, unit);
    }
    return fmt::format("{}ms", static_cast<double>(ns) / kMs);
}

namespace {

constexpr const char* kReasons[] = {"ringbuf_full", "journal_write", "decode", "map_full"};

uint64_t of_reason(const EventCounts& c, std::string_view reason) {
    if (reason == "ringbuf_full") return c.ringbuf_full;
    if (reason == "journal_write") return c.journal_write;
    if (reason == "map_full") return c.map_full;
    return c.decode;
}

std::string human_size(int64_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:.1f} {}", v, units[u]);
}

double seconds_value(int64_t ns) {
    return static_cast<double>(ns) / 1e9;
}

std::string esc(std::string_view s) {
    return escape_for_terminal(s);
}

std::string lost_text(const EventCounts& c) {
    if (c.lost() == 0) return "none";
    std::string out = fmt::format("{} (", c.lost());
    bool first = true;
    for (const char* reason : kReasons) {
        if (of_reason(c, reason) == 0) continue;
        out += fmt::format("{}{} {}", first ? "" : ", ", reason, of_reason(c, reason));
        first = false;
    }
    return out + ")";
}

// The filters of a runs row or heartbeat, as record's options; shell_quote
// makes each cgroup safe to paste, and to show.
std::string filters_text(const std::string& filters_json) {
    const json f = json::parse(filters_json, nullptr, false);
    std::string out;
    if (f.is_object()) {
        if (auto k = f.find("kube_only"); k != f.end() && k->is_boolean() && k->get<bool>()) out += " --kube-only";
        if (auto c = f.find("cgroups"); c != f.end() && c->is_array()) {
            for (const auto& g : *c) {
                if (g.is_string()) out += " --cgroup " + shell_quote(g.get<std::string>());
            }
        }
    }
    return out.empty() ? "no filter" : out.substr(1);
}

std::string options_text(const Heartbeat& h) {
    std::string out = fmt::format("--batch-interval {}", format_duration_option(h.batch_interval_ns));
    if (h.ring_bytes > 0) out += " --ring-size " + format_size_option(h.ring_bytes);
    out += " --argv-cap " + format_size_option(h.argv_cap);
    if (h.max_size_bytes > 0) out += " --max-size " + format_size_option(h.max_size_bytes);
    if (h.retain_ns > 0) out += " --retain " + format_duration_option(h.retain_ns);
    out += h.anchor_interval_ns > 0 ? " --anchor-interval " + format_duration_option(h.anchor_interval_ns)
                                    : std::string(" --anchor-interval 0");
    return out + "; " + filters_text(h.filters_json);
}

std::string size_text(const StatusReport& r, int64_t max_size) {
    std::string out = fmt::format("{}, WAL {}", human_size(r.journal_bytes), human_size(r.wal_bytes));
    if (max_size > 0) {
        out += fmt::format(", {:.0f} % of --max-size {}",
                           100.0 * static_cast<double>(r.journal_bytes + r.wal_bytes) / static_cast<double>(max_size),
                           format_size_option(max_size));
    }
    return out;
}

void line(std::string& out, const char* name, const std::string& value) {
    out += fmt::format("{:<16}{}\n", name, value);
}

void recording_text(std::string& out, const StatusReport& r) {
    if (!r.heartbeat) {
        line(out, "recorder", r.lock_pid ? fmt::format("PID {} (from /proc/locks)", *r.lock_pid) : "unknown");
        line(out, "journal", size_text(r, 0));
        return;
    }
    const Heartbeat& h = *r.heartbeat;
    const int64_t age_since_start = r.now_wall_ns - h.started_wall_ns;
    if (h.phase == "starting") {
        line(
            out, "recorder",
            fmt::format("PID {}, starting since {} ({}), lineage {} on {}", h.pid, format_wall_short(h.started_wall_ns),
                        human_duration(age_since_start), esc(h.version), esc(h.node)));
    } else {
        line(out, "recorder",
             fmt::format("PID {}, run {}, since {} ({}), lineage {} on {}", h.pid, h.run_id,
                         format_wall_short(h.started_wall_ns), human_duration(age_since_start), esc(h.version),
                         esc(h.node)));
    }
    line(out, "options", options_text(h));
    line(
        out, "heartbeat",
        fmt::format("{} ago (stalled after {})", human_duration(r.heartbeat_age_ns), human_duration(r.stall_after_ns)));
    if (h.last_commit_boot_ns > 0) {
        line(out, "last commit",
             fmt::format("batch {} at {}, {} ago", h.last_batch, format_wall_short(h.last_commit_wall_ns),
                         human_duration(r.last_commit_age_ns)));
    } else {
        line(out, "last commit", "none in this run yet");
    }
    const std::string window = human_duration(h.last_minute_span_ns);
    const double rate = h.last_minute_span_ns > 0
                            ? static_cast<double>(h.last_minute.stored) / seconds_value(h.last_minute_span_ns)
                            : 0.0;
    line(out, "events", fmt::format("{:.1f}/s over the last {}; {} stored in this run", rate, window, h.run.stored));
    line(out, "lost",
         fmt::format("{} in the last {}; {} in this run", lost_text(h.last_minute), window, lost_text(h.run)));
    if (!h.journal_writable) line(out, "journal error", esc(h.journal_error));
    line(out, "journal", size_text(r, h.max_size_bytes));
    if (h.anchor_batch > 0) {
        line(
            out, "last anchor",
            fmt::format("batch {} at {}: {}", h.anchor_batch, format_wall_short(h.anchor_wall_ns), esc(h.anchor_hash)));
    } else {
        line(out, "last anchor", "none yet");
    }
}

void not_recording_text(std::string& out, const StatusReport& r) {
    const JournalAtRest s = r.summary.value_or(JournalAtRest{});
    if (!r.summary) {
        line(out, "journal error", esc(r.summary_problem));
    } else if (s.last_run) {
        const LastRun& run = *s.last_run;
        std::string text = fmt::format("run {}, PID {} on {}, lineage {}, started {}", run.run_id, run.pid,
                                       esc(run.node), esc(run.version), format_wall_short(run.started_wall_ns));
        if (run.stopped) {
            text += fmt::format(", stopped {} ({}): {} events stored, {} lost", format_wall_short(run.stopped_wall_ns),
                                esc(run.stop_reason), run.events, run.lost);
        } else {
            text += ", never stopped: its recorder was killed or crashed";
        }
        line(out, "last run", text);
        line(out, "filters", filters_text(run.filters_json));
        std::string losses;
        for (const auto& [reason, count] : run.losses) {
            losses += fmt::format("{}{} {}", losses.empty() ? "" : ", ", esc(reason), count);
        }
        line(out, "losses",
             losses.empty() ? fmt::format("none in run {}", run.run_id)
                            : fmt::format("in run {}: {}", run.run_id, losses));
    } else {
        line(out, "last run", "none: nothing was ever recorded to this journal");
    }
    if (s.last_batch > 0) {
        line(out, "last commit", fmt::format("batch {} at {}", s.last_batch, format_wall_short(s.last_commit_wall_ns)));
        line(out, "chain head", fmt::format("batch {}: {}", s.last_batch, s.head_hash));
    }
    if (r.heartbeat) {
        const Heartbeat& h = *r.heartbeat;
        std::string text = fmt::format("PID {}, {}, at {}", h.pid,
                                       h.run_id > 0 ? fmt::format("run {}", h.run_id) : std::string("no run yet"),
                                       format_wall_short(h.written_wall_ns));
        if (h.phase == "stopped") {
            text += fmt::format(", stopped ({})", esc(h.stop_reason));
        } else {
            text +=
                fmt::format(", still {}: it ended without stopping (killed, crashed, or the node went down)", h.phase);
        }
        line(out, "last heartbeat", text);
    }
    line(out, "journal", size_text(r, 0) + (r.wal_bytes > 0 ? " (a WAL left by a recorder that did not stop)" : ""));
}

json counts_object(const EventCounts& c) {
    json by_reason = json::object();
    for (const char* reason : kReasons) by_reason[reason] = of_reason(c, reason);
    return {{"stored", c.stored}, {"lost", c.lost()}, {"lost_by_reason", by_reason}};
}

json filters_object(const std::string& filters_json) {
    json f = json::parse(filters_json, nullptr, false);
    if (f.is_discarded() || !f.is_object()) return json::object();
    // Strings in it that are not UTF-8 are replaced when the document is
    // dumped (error_handler_t::replace).
    return f;
}

json recorder_json(const StatusReport& r) {
    json rec = {{"pid", r.lock_pid ? json(*r.lock_pid) : json(nullptr)},
                {"heartbeat_problem", r.heartbeat ? json(nullptr) : json(utf8_sanitize(r.heartbeat_problem))},
                {"stalled", r.stalled},
                {"losing", r.losing}};
    if (!r.heartbeat) return rec;
    const Heartbeat& h = *r.heartbeat;
    rec["pid"] = h.pid;
    rec["phase"] = h.phase;
    rec["run_id"] = h.run_id > 0 ? json(h.run_id) : json(nullptr);
    rec["started"] = format_rfc3339_ns(h.started_wall_ns);
    rec["version"] = utf8_sanitize(h.version);
    rec["node"] = utf8_sanitize(h.node);
    rec["options"] = {{"batch_interval_ns", h.batch_interval_ns},
                      {"ring_bytes", h.ring_bytes},
                      {"argv_cap", h.argv_cap},
                      {"max_size_bytes", h.max_size_bytes > 0 ? json(h.max_size_bytes) : json(nullptr)},
                      {"retain_ns", h.retain_ns > 0 ? json(h.retain_ns) : json(nullptr)},
                      {"anchor_interval_ns", h.anchor_interval_ns},
                      {"filters", filters_object(h.filters_json)}};
    rec["heartbeat"] = {{"at", format_rfc3339_ns(h.written_wall_ns)},
                        {"age_seconds", seconds_value(r.heartbeat_age_ns)},
                        {"stalled_after_seconds", seconds_value(r.stall_after_ns)}};
    rec["last_commit"] = h.last_commit_boot_ns > 0 ? json{{"batch", h.last_batch},
                                                          {"at", format_rfc3339_ns(h.last_commit_wall_ns)},
                                                          {"age_seconds", seconds_value(r.last_commit_age_ns)}}
                                                   : json(nullptr);
    json minute = counts_object(h.last_minute);
    minute["seconds"] = seconds_value(h.last_minute_span_ns);
    minute["events_per_second"] = h.last_minute_span_ns > 0
                                      ? static_cast<double>(h.last_minute.stored) / seconds_value(h.last_minute_span_ns)
                                      : 0.0;
    rec["last_minute"] = minute;
    rec["run"] = counts_object(h.run);
    rec["journal_writable"] = h.journal_writable;
    rec["journal_error"] = h.journal_writable ? json(nullptr) : json(utf8_sanitize(h.journal_error));
    rec["last_anchor"] = h.anchor_batch > 0 ? json{{"batch", h.anchor_batch},
                                                   {"at", format_rfc3339_ns(h.anchor_wall_ns)},
                                                   {"hash", utf8_sanitize(h.anchor_hash)}}
                                            : json(nullptr);
    return rec;
}

json last_run_json(const LastRun& run) {
    json losses = json::object();
    for (const auto& [reason, count] : run.losses) losses[utf8_sanitize(reason)] = count;
    return {{"run_id", run.run_id},
            {"pid", run.pid},
            {"node", utf8_sanitize(run.node)},
            {"version", utf8_sanitize(run.version)},
            {"started", format_rfc3339_ns(run.started_wall_ns)},
            {"filters", filters_object(run.filters_json)},
            {"stopped", run.stopped},
            {"stop_reason", run.stopped ? json(utf8_sanitize(run.stop_reason)) : json(nullptr)},
            {"stopped_at", run.stopped ? json(format_rfc3339_ns(run.stopped_wall_ns)) : json(nullptr)},
            {"events", run.stopped ? json(run.events) : json(nullptr)},
            {"lost", run.stopped ? json(run.lost) : json(nullptr)},
            {"lost_by_reason", losses}};
}

}  // namespace

std::string render_status_text(const StatusReport& r) {
    std::string out;
    if (!r.recording) {
        out += fmt::format("{}: not recording\n", esc(r.journal));
        not_recording_text(out, r);
        return out;
    }
    const bool starting = r.heartbeat && r.heartbeat->phase == "starting";
    out += fmt::format("{}: recording{}{}\n", esc(r.journal), starting ? " (starting)" : "",
                       r.problems.empty() ? "" : ", not healthy");
    for (const auto& p : r.problems) line(out, "problem", esc(p));
    recording_text(out, r);
    return out;
}

std::string render_status_json(const StatusReport& r) {
    json problems = json::array();
    for (const auto& p : r.problems) problems.push_back(utf8_sanitize(p));
    json doc = {
        {"format_version", 1},
        {"journal", utf8_sanitize(r.journal)},
        {"now", format_rfc3339_ns(r.now_wall_ns)},
        {"state", r.recording ? "recording" : "not_recording"},
        {"healthy", r.recording && r.problems.empty()},
        {"exit_status", r.exit_status},
        {"problems", problems},
        {"size",
         {{"journal_bytes", r.journal_bytes},
          {"wal_bytes", r.wal_bytes},
          {"max_size_bytes",
           r.heartbeat && r.heartbeat->max_size_bytes > 0 ? json(r.heartbeat->max_size_bytes) : json(nullptr)}}},
        {"recorder", r.recording ? recorder_json(r) : json(nullptr)},
        {"last_run", nullptr},
        {"journal_head", nullptr},
        {"last_heartbeat", nullptr},
        {"journal_problem", r.summary_problem.empty() ? json(nullptr) : json(utf8_sanitize(r.summary_problem))},
    };
    if (!r.recording) {
        if (r.summary && r.summary->last_run) doc["last_run"] = last_run_json(*r.summary->last_run);
        if (r.summary && r.summary->last_batch > 0) {
            const JournalAtRest& s = *r.summary;
            doc["journal_head"] = {{"batch", s.last_batch},
                                   {"committed", format_rfc3339_ns(s.last_commit_wall_ns)},
                                   {"hash", s.head_hash}};
        }
        if (r.heartbeat) {
            const Heartbeat& h = *r.heartbeat;
            doc["last_heartbeat"] = {
                {"pid", h.pid},
                {"run_id", h.run_id > 0 ? json(h.run_id) : json(nullptr)},
                {"phase", h.phase},
                {"at", format_rfc3339_ns(h.written_wall_ns)},
                {"stop_reason", h.phase == "stopped" ? json(utf8_sanitize(h.stop_reason)) : json(nullptr)}};
        }
    }
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lineage
