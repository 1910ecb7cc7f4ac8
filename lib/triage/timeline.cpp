// lineage timeline: a report's processes as events in time order.
#include "timeline.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dns.h"
#include "escape.h"
#include "timeexpr.h"

namespace lineage {

using nlohmann::json;

const char* timeline_kind_name(TimelineKind kind) {
    switch (kind) {
        case TimelineKind::snapshot:
            return "snapshot";
        case TimelineKind::fork:
            return "fork";
        case TimelineKind::exec:
            return "exec";
        case TimelineKind::connect:
            return "connect";
        case TimelineKind::dns:
            return "dns";
        case TimelineKind::listen:
            return "listen";
        case TimelineKind::move:
            return "move";
        case TimelineKind::exit:
            return "exit";
        case TimelineKind::loss:
            return "loss";
        case TimelineKind::not_recorded:
            return "gap";
        case TimelineKind::pruned:
            return "pruned";
    }
    return "?";
}

namespace {

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// What a process ran at boot ns `t`: its latest image by then, else its
// comm. Raw bytes.
std::string name_at(const Process& p, int64_t t) {
    const ExecImage* image = nullptr;
    for (const auto& img : p.execs) {
        if (img.time_ns <= t || img.from_snapshot) image = &img;
    }
    if (image && !image->binary.empty()) return base_name(image->binary);
    return p.comm.empty() ? std::string("?") : p.comm;
}

std::string exit_words(const ExitInfo& e) {
    if (e.signal) {
        const char* abbrev = sigabbrev_np(e.signal);
        std::string name = abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", e.signal);
        return "killed by " + name + (e.core_dumped ? " (core dumped)" : "");
    }
    return fmt::format("exit {}", e.code);
}

int order_of(TimelineKind k) {
    return static_cast<int>(k);
}

}  // namespace

std::vector<TimelineEvent> build_timeline(const Model& model, const Report& report) {
    std::vector<TimelineEvent> events;
    const int64_t since = report.since_wall_ns.value_or(INT64_MIN);
    const int64_t until = report.until_wall_ns.value_or(INT64_MAX);
    auto add = [&](TimelineEvent e) {
        if (e.wall_ns >= since && e.wall_ns <= until) events.push_back(e);
    };
    for (const auto& tree : report.trees) {
        for (const auto& node : tree.nodes) {
            const Process& p = *node.process;
            const std::string& boot = p.key.boot_id;
            if (p.parent_source == ParentSource::fork) {
                add(TimelineEvent{model.to_wall(boot, p.start_ns), TimelineKind::fork, &p});
            }
            for (size_t i = 0; i < p.execs.size(); ++i) {
                const ExecImage& img = p.execs[i];
                TimelineEvent e{model.to_wall(boot, img.time_ns),
                                img.from_snapshot ? TimelineKind::snapshot : TimelineKind::exec, &p};
                e.image = &img;
                if (i < node.new_images.size()) e.fresh = node.new_images[i];
                add(e);
            }
            for (size_t k = 0; k < p.connects.size(); ++k) {
                const ConnectInfo& c = p.connects[k];
                TimelineEvent e{model.to_wall(boot, c.time_ns), TimelineKind::connect, &p};
                e.connect = &c;
                if (k < node.new_connects.size()) e.fresh = node.new_connects[k];
                add(e);
            }
            for (const DnsLookup& l : p.dns) {
                TimelineEvent e{model.to_wall(boot, l.time_ns), TimelineKind::dns, &p};
                e.dns = &l;
                add(e);
            }
            for (const ListenInfo& l : p.listens) {
                TimelineEvent e{model.to_wall(boot, l.time_ns), TimelineKind::listen, &p};
                e.listen = &l;
                add(e);
            }
            for (const auto& entry : p.pod_entries) {
                if (entry.kind != PodEntryKind::move) continue;
                TimelineEvent e{model.to_wall(boot, entry.time_ns), TimelineKind::move, &p};
                e.entry = &entry;
                add(e);
            }
            if (p.exit) add(TimelineEvent{model.to_wall(boot, p.exit->time_ns), TimelineKind::exit, &p});
        }
    }
    for (const auto& w : report.warnings) {
        TimelineKind kind;
        if (w.kind == WarningKind::loss) {
            kind = TimelineKind::loss;
        } else if (w.kind == WarningKind::not_recorded) {
            kind = TimelineKind::not_recorded;
        } else if (w.kind == WarningKind::pruned) {
            kind = TimelineKind::pruned;
        } else {
            continue;
        }
        // A marker that starts before the window is shown at its start.
        TimelineEvent e{std::max(w.from_wall_ns.value_or(since), since), kind, nullptr};
        if (e.wall_ns == INT64_MIN) e.wall_ns = w.to_wall_ns.value_or(0);
        e.marker = &w;
        events.push_back(e);
    }
    std::stable_sort(events.begin(), events.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
        if (a.wall_ns != b.wall_ns) return a.wall_ns < b.wall_ns;
        if (a.kind != b.kind) return order_of(a.kind) < order_of(b.kind);
        const uint32_t pa = a.process ? a.process->tgid : 0, pb = b.process ? b.process->tgid : 0;
        return pa < pb;
    });
    return events;
}

namespace {

// The words after the PID: what the process did, in a few words. Raw bytes
// except where marked; the caller escapes.
std::string what_text(const Model& model, const TimelineEvent& e, size_t budget) {
    if (e.marker) return escape_for_terminal(e.marker->message);
    const Process& p = *e.process;
    const Process* parent = p.parent ? model.find(*p.parent) : nullptr;
    auto parent_words = [&](int64_t t) {
        if (parent) return fmt::format("   parent {} {}", parent->tgid, escape_for_terminal(name_at(*parent, t)));
        if (p.ppid) return fmt::format("   parent {} {}", p.ppid, escape_for_terminal(p.parent_comm));
        return std::string();
    };
    switch (e.kind) {
        case TimelineKind::fork:
            return fmt::format("[fork of {}]{}",
                               escape_for_terminal(parent ? name_at(*parent, p.start_ns) : p.parent_comm),
                               parent_words(p.start_ns));
        case TimelineKind::exec:
        case TimelineKind::snapshot: {
            std::string argv =
                e.image->args.empty() ? escape_for_terminal(e.image->binary) : format_argv(e.image->args);
            argv = truncate_for_display(argv, budget);
            if (e.image->args_truncated) argv += " [argv cut at cap]";
            return argv + parent_words(e.image->time_ns);
        }
        case TimelineKind::connect:
            return fmt::format(
                "{} → {}{}{}", escape_for_terminal(name_at(p, e.connect->time_ns)),
                escape_for_terminal(address_with_port(e.connect->daddr, e.connect->dport, e.connect->family)),
                e.connect->name.empty() ? "" : " (" + escape_for_terminal(e.connect->name) + ")",
                e.connect->established ? "" : " (failed)");
        case TimelineKind::dns: {
            const DnsLookup& l = *e.dns;
            std::string text = fmt::format("{} {} {} {}", escape_for_terminal(name_at(p, l.time_ns)),
                                           l.served ? "answered" : "resolves",
                                           l.name.empty() ? "?" : escape_for_terminal(l.name), dns_type_name(l.type));
            if (!l.answered) {
                text += " (no answer)";
            } else if (l.rcode != 0) {
                text += " " + dns_rcode_name(l.rcode);
            } else if (l.no_records) {
                text += " (no records)";
            }
            for (size_t i = 0; i < l.answers.size(); ++i)
                text += (i ? ", " : " → ") + escape_for_terminal(l.answers[i]);
            return text;
        }
        case TimelineKind::listen:
            return fmt::format(
                "{} listens on {}", escape_for_terminal(name_at(p, e.listen->time_ns)),
                escape_for_terminal(address_with_port(e.listen->addr, e.listen->port, e.listen->family)));
        case TimelineKind::move: {
            const PodNameRecord name = model.pod_name(e.entry->pod.uid);
            std::string by;
            if (e.entry->by) by = fmt::format(" by PID {}", e.entry->by->tgid);
            return fmt::format("{} moved into pod {}{}", escape_for_terminal(name_at(p, e.entry->time_ns)),
                               escape_for_terminal(pod_display_name(name.name, name.namespace_)), by);
        }
        case TimelineKind::exit:
            return fmt::format("{} {}", escape_for_terminal(name_at(p, p.exit->time_ns)), exit_words(*p.exit));
        default:
            break;
    }
    return {};
}

// RFC 3339 to the millisecond: 2026-04-22T09:14:03.412Z.
std::string time_ms(int64_t wall_ns) {
    std::string t = format_rfc3339_ns(wall_ns);
    // ...T09:14:03.123456789Z -> ...T09:14:03.123Z
    if (t.size() > 7 && t.back() == 'Z') t.erase(t.size() - 7, 6);
    return t;
}

}  // namespace

bool render_timeline_text(const Model& model, const Report& report, const std::vector<TimelineEvent>& events,
                          const TimelineTextOptions& options, const OutputSink& sink) {
    std::string out;
    if (report.new_since) {
        // What NEW is measured against, as reconstruct says it.
        const NewSince& s = *report.new_since;
        std::string why = s.pruned ? "retention pruned what came before" : "the journals' oldest run";
        if (s.imported) why += "; imported runs hold only what their source recorded";
        out += fmt::format("new: first in its pod since {} ({})\n", format_rfc3339_ns(s.since_wall_ns), why);
    }
    int64_t base = report.since_wall_ns.value_or(events.empty() ? 0 : events.front().wall_ns);
    for (const auto& e : events) {
        const std::string when = options.relative ? format_duration_short(e.wall_ns - base) : time_ms(e.wall_ns);
        std::string kind = fmt::format("{:<8}", timeline_kind_name(e.kind));
        if (options.color && (e.kind == TimelineKind::connect || e.kind == TimelineKind::listen ||
                              e.kind == TimelineKind::dns || e.marker))
            kind = fmt::format("\x1b[{}m{}\x1b[0m", e.marker ? "33" : "36", kind);
        const std::string pid = e.process ? std::to_string(e.process->tgid) : std::string("-");
        std::string mark;
        if (e.fresh == Newness::first) mark = options.color ? "\x1b[1;35mNEW\x1b[0m " : "NEW ";
        out += fmt::format("{}  {} {:>7}  {}{}\n", when, kind, pid, mark, what_text(model, e, options.max_line_bytes));
        if (out.size() >= kRenderChunkBytes) {
            if (!sink(out)) return false;
            out.clear();
        }
    }
    return out.empty() || sink(out);
}

namespace {

json str(std::string_view bytes) {
    return json(utf8_sanitize(bytes));
}

}  // namespace

bool render_timeline_jsonl(const Model& model, const std::vector<TimelineEvent>& events, const OutputSink& sink) {
    std::string out;
    for (const auto& e : events) {
        json j = {{"time", format_rfc3339_ns(e.wall_ns)}, {"event", timeline_kind_name(e.kind)}};
        if (e.marker) {
            j["pid"] = nullptr;
            j["message"] = str(e.marker->message);
            j["from"] = e.marker->from_wall_ns ? json(format_rfc3339_ns(*e.marker->from_wall_ns)) : json(nullptr);
            j["to"] = e.marker->to_wall_ns ? json(format_rfc3339_ns(*e.marker->to_wall_ns)) : json(nullptr);
        } else {
            const Process& p = *e.process;
            j["pid"] = p.tgid;
            j["key"] = p.key.str();
            j["ppid"] = p.ppid;
            j["parent_key"] = p.parent ? json(p.parent->str()) : json(nullptr);
            j["comm"] = str(p.comm);
            const PodEntry* entry = first_pod_entry(p);
            if (entry) {
                const PodNameRecord name = model.pod_name(entry->pod.uid);
                j["pod"] = {{"uid", entry->pod.uid}, {"name", str(name.name)}, {"namespace", str(name.namespace_)}};
            } else {
                j["pod"] = nullptr;
            }
            switch (e.kind) {
                case TimelineKind::exec:
                case TimelineKind::snapshot: {
                    json args = json::array();
                    for (const auto& a : e.image->args) args.push_back(str(a));
                    j["binary"] = str(e.image->binary);
                    j["args"] = args;
                    j["args_truncated"] = e.image->args_truncated;
                    break;
                }
                case TimelineKind::connect:
                    j["family"] = e.connect->family == 6 ? "ipv6" : "ipv4";
                    j["daddr"] = str(e.connect->daddr);
                    j["dport"] = e.connect->dport;
                    j["result"] = e.connect->established ? "established" : "failed";
                    if (!e.connect->name.empty()) j["name"] = str(e.connect->name);
                    break;
                case TimelineKind::dns:
                    j["name"] = e.dns->name.empty() ? json(nullptr) : json(str(e.dns->name));
                    j["type"] = dns_type_name(e.dns->type);
                    j["answers"] = json::array();
                    for (const std::string& a : e.dns->answers) j["answers"].push_back(str(a));
                    j["rcode"] = e.dns->answered ? json(dns_rcode_name(e.dns->rcode)) : json(nullptr);
                    j["server"] = str(e.dns->server);
                    j["served"] = e.dns->served;
                    break;
                case TimelineKind::listen:
                    j["family"] = e.listen->family == 6 ? "ipv6" : "ipv4";
                    j["addr"] = str(e.listen->addr);
                    j["port"] = e.listen->port;
                    break;
                case TimelineKind::move:
                    j["into_pod"] = e.entry->pod.uid;
                    j["by_pid"] = e.entry->by ? json(e.entry->by->tgid) : json(nullptr);
                    break;
                case TimelineKind::exit: {
                    j["code"] = p.exit->code;
                    j["signal"] = p.exit->signal;
                    break;
                }
                default:
                    break;
            }
        }
        if (e.fresh) j["new"] = *e.fresh == Newness::not_compared ? json(nullptr) : json(*e.fresh == Newness::first);
        out += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        if (out.size() >= kRenderChunkBytes) {
            if (!sink(out)) return false;
            out.clear();
        }
    }
    return out.empty() || sink(out);
}

}  // namespace lineage
