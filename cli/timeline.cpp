// lineage timeline: reconstruct's selection, flat and in time order
// (lib/triage/timeline.h).
#include <memory>

#include <fmt/format.h>

#include "clock.h"
#include "commands.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "max_processes.h"
#include "newness.h"
#include "output.h"
#include "reconstruct.h"
#include "timeexpr.h"
#include "timeline.h"
#include "units.h"

namespace lineage::cli {

namespace {

struct TimelineArgs {
    std::vector<std::string> journals;
    std::string pod, namespace_, container, image, binary, since, until;
    std::optional<uint32_t> pid, descendants_of, ancestors_of;
    std::optional<std::string> dns;
    std::string format = "text";
    bool relative = false;
    bool mark_new = false;
    std::string color = "auto";
    bool force_schema = false;
    std::string timeout = "30s";
    size_t max_processes = kDefaultMaxProcesses;
};

// Exit codes, as grep has them (and reconstruct; 3 for an answer over
// --max-processes).
constexpr int kMatched = 0;
constexpr int kNothing = 1;

int fail(const std::string& message) {
    return cli::fail("timeline", message);
}

int run_timeline(TimelineArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    Query query;
    const int64_t now = wall_now_ns();
    if (!args.since.empty()) {
        auto t = parse_time_expr(args.since, now);
        if (!t) return fail("--since: " + t.error().message);
        query.since_wall_ns = *t;
    }
    if (!args.until.empty()) {
        auto t = parse_time_expr(args.until, now);
        if (!t) return fail("--until: " + t.error().message);
        query.until_wall_ns = *t;
    }
    if (query.since_wall_ns && query.until_wall_ns && *query.since_wall_ns > *query.until_wall_ns) {
        return fail(fmt::format("--since {} is after --until {}", args.since, args.until));
    }
    if (!args.pod.empty()) query.pod = args.pod;
    if (!args.namespace_.empty()) query.namespace_ = args.namespace_;
    if (!args.container.empty()) query.container = args.container;
    if (!args.image.empty()) query.image_glob = args.image;
    if (!args.binary.empty()) query.binary_glob = args.binary;
    if (args.dns) {
        if (args.dns->empty()) return fail("--dns: the glob is empty");
        query.dns_glob = args.dns;
    }
    query.pid = args.pid;
    query.descendants_of = args.descendants_of;
    query.ancestors_of = args.ancestors_of;
    ReadOptions read;
    read.force_schema = args.force_schema;
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail("--timeout: " + timeout.error().message);
    read.timeout_ns = *timeout;

    LoadPlan plan = load_plan_for(query);
    plan.max_processes = args.max_processes;
    plan.sole_journal = args.journals.size() == 1;
    Model model;
    std::vector<Warning> journal_warnings;
    std::vector<JournalReader> readers;  // kept for --new
    for (const auto& path : args.journals) {
        auto reader = JournalReader::open(path, read);
        if (!reader) return fail(reader.error().message);
        for (auto& w : reader->warnings()) journal_warnings.push_back(Warning{WarningKind::schema, w, {}, {}});
        if (auto st = reader->load_into(model, plan); !st) {
            if (st.error().code == kTooManyProcesses) return too_many_processes("timeline", st.error().message);
            return fail(st.error().message);
        }
        if (args.mark_new) readers.push_back(std::move(*reader));
    }
    model.finish();
    Report report = build_report(model, query);
    if (args.max_processes != 0 && report.matched > args.max_processes) {
        return too_many_processes("timeline", too_many_processes_message(args.max_processes));
    }
    if (args.mark_new) {
        // As reconstruct --new marks its tree (newness.h).
        const PrecedentQuery asked = precedent_query(model, report);
        Precedents found;
        for (auto& reader : readers) {
            if (auto st = reader.find_precedents(model, asked, found); !st) return fail(st.error().message);
        }
        mark_new(model, found, report);
    }
    report.warnings.insert(report.warnings.begin(), journal_warnings.begin(), journal_warnings.end());
    const std::vector<TimelineEvent> events = build_timeline(model, report);
    // Warnings go to stderr as well (loss, gap and prune markers are lines
    // of the timeline too).
    if (std::string warnings = render_warnings_for_stderr(report); !warnings.empty()) {
        warnings.pop_back();
        say(warnings);
    }
    // JSON lines are events only: what NEW is measured against goes to
    // stderr (the text has it as its first line).
    if (report.new_since && args.format == "jsonl") {
        say(fmt::format("lineage timeline: new: first in its pod since {}{}",
                        format_rfc3339_ns(report.new_since->since_wall_ns),
                        report.new_since->pruned ? " (retention pruned what came before)" : ""));
    }
    bool ok;
    if (args.format == "jsonl") {
        ok = render_timeline_jsonl(model, events, write_stdout);
    } else {
        TimelineTextOptions options;
        options.relative = args.relative;
        options.color = use_color(args.color);
        ok = render_timeline_text(model, report, events, options, write_stdout);
    }
    if (!ok) return fail("cannot write the output");
    return report.matched > 0 ? kMatched : kNothing;
}

}  // namespace

Runner add_timeline(CLI::App& app) {
    auto args = std::make_shared<TimelineArgs>();
    auto* cmd = app.add_subcommand(
        "timeline",
        "What reconstruct selects, flat and in time order: one line per fork, exec, exit, connect, listen, move");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to read (repeatable; read as one). Default: /var/lib/lineage/journal.db");
    cmd->add_option("--pod", args->pod, "Pod name, NAMESPACE/NAME or pod UID");
    cmd->add_option("--namespace", args->namespace_, "Kubernetes namespace");
    cmd->add_option("--container", args->container, "Container name, or container ID (prefix)");
    cmd->add_option("--image", args->image,
                    "Container image glob, matched against the whole reference ('*' also matches '/')");
    cmd->add_option("--pid", args->pid, "Every incarnation of this PID in the window");
    cmd->add_option("--binary", args->binary,
                    "Binary glob: with '/' the whole path, else the base name, of the path given to execve or of the "
                    "file it ran");
    cmd->add_option(
        "--dns", args->dns,
        "Every process that looked up a name this glob matches (the whole name, either case, '*' also matches '.'): "
        "it sent the query or was sent the answer (a resolver that served it is not); in the window, it "
        "looked the name up at any time of its life");
    cmd->add_option("--descendants-of", args->descendants_of, "This PID and every process below it");
    cmd->add_option("--ancestors-of", args->ancestors_of, "This PID and its whole ancestry, up to PID 1");
    cmd->add_option("--since", args->since,
                    "Window start: RFC 3339, '2026-04-22 09:14' (local), @EPOCH, -15m, -2h or now");
    cmd->add_option("--until", args->until, "Window end, same forms as --since");
    cmd->add_option("--format", args->format, "text or jsonl (one JSON object per line)")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "jsonl"}));
    cmd->add_flag("--relative", args->relative,
                  "Offsets from the window start (or the first event) instead of RFC 3339 times");
    cmd->add_flag("--new", args->mark_new,
                  "Mark NEW each exec of a binary, and each connect to a destination, that its pod (for a binary "
                  "outside pods, the host) never had before in the journals' whole span, as reconstruct --new does");
    cmd->add_option("--color", args->color, "auto, always or never (auto: only on a TTY, never with NO_COLOR)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->add_flag("--force-schema", args->force_schema,
                  "Read a journal whose schema is not lineage's (objects added, changed or missing), with a warning; "
                  "views and triggers still never run");
    cmd->add_option("--timeout", args->timeout,
                    "Stop a journal read that runs this long without a row (a journal made to stall readers); 0: "
                    "never")
        ->capture_default_str();
    add_max_processes_option(cmd, &args->max_processes);
    cmd->footer(
        "Examples:\n"
        "  lineage timeline --pod payments/api-7d9f8-abcde --since '2026-04-22 09:10' --until '2026-04-22 09:20'\n"
        "  lineage timeline --descendants-of 18201 --relative\n"
        "  lineage timeline --pod payments/api-7d9f8-abcde --since -1h --new\n"
        "  lineage timeline --journal copy.db --binary curl --format jsonl | jq -r .daddr\n"
        "Exit status: 0 something matched, 1 nothing matched, 2 error, 3 more processes than --max-processes.");
    return [args] { return run_timeline(*args); };
}

}  // namespace lineage::cli
