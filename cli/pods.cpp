// lineage pods: the pods in the journals (lib/triage/pods.h).
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "clock.h"
#include "commands.h"
#include "escape.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "max_processes.h"
#include "output.h"
#include "pods.h"
#include "timeexpr.h"
#include "units.h"

namespace lineage::cli {

namespace {

struct PodsArgs {
    std::vector<std::string> journals;
    std::string namespace_, since, until, glob;
    std::string format = "text";
    std::string color = "auto";
    bool force_schema = false;
    std::string timeout = "30s";
    size_t max_processes = kDefaultMaxProcesses;
};

// Exit codes, as grep has them (and reconstruct; 3 for a window holding more
// processes than --max-processes).
constexpr int kListed = 0;
constexpr int kNone = 1;

int fail(const std::string& message) {
    return cli::fail("pods", message);
}

int run_pods(PodsArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    PodQuery query;
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
    if (!args.namespace_.empty()) query.namespace_ = args.namespace_;
    if (!args.glob.empty()) query.name_glob = args.glob;
    ReadOptions read;
    read.force_schema = args.force_schema;
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail("--timeout: " + timeout.error().message);
    read.timeout_ns = *timeout;

    // The window (or the journals' whole span) goes to the loader half a
    // day at a time, two at once on two cores, as reconstruct's window
    // does: each load holds the processes alive in its half day, not the
    // journal, and not their ancestors (list_pods counts only the former).
    // The same bound as reconstruct's holds for each load.
    std::vector<JournalReader> readers;
    for (const auto& path : args.journals) {
        auto reader = JournalReader::open(path, read);
        if (!reader) return fail(reader.error().message);
        for (const auto& w : reader->warnings()) say("lineage: warning: " + escape_for_terminal(w));
        readers.push_back(std::move(*reader));
    }
    auto listed = load_and_list_pods(readers, query, args.max_processes);
    if (!listed) {
        if (listed.error().code == kTooManyProcesses) return too_many_processes("pods", listed.error().message);
        return fail(listed.error().message);
    }
    const std::vector<PodSummary>& pods = *listed;
    const std::string out =
        args.format == "json" ? render_pods_json(pods) : render_pods_text(pods, use_color(args.color));
    if (!write_stdout(out)) return fail("cannot write the output");
    return pods.empty() ? kNone : kListed;
}

}  // namespace

Runner add_pods(CLI::App& app) {
    auto args = std::make_shared<PodsArgs>();
    auto* cmd = app.add_subcommand("pods", "The pods in the journals: when they ran, where, and what ran in them");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to read (repeatable; read as one). Default: /var/lib/lineage/journal.db")
        ->allow_extra_args(false);
    cmd->add_option("name", args->glob,
                    "Pod name glob (fnmatch; with '/' it matches NAMESPACE/NAME), e.g. 'api-*' or 'payments/*'");
    cmd->add_option("--namespace", args->namespace_, "Kubernetes namespace");
    cmd->add_option("--since", args->since,
                    "Pods with a process in them after this (the columns then count those processes): RFC 3339, "
                    "'2026-04-22 09:14' (local), @EPOCH, -15m, -2h or now");
    cmd->add_option("--until", args->until, "Pods alive before this, same forms as --since");
    cmd->add_option("--format", args->format, "text or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
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
        "  lineage pods --namespace payments --since '2026-04-22 09:00' --until '2026-04-22 09:30'\n"
        "  lineage pods 'api-*' --since -1h\n"
        "  lineage pods --journal copy.db --format json | jq -r '.pods[].name'\n"
        "Exit status: 0 pods listed, 1 none, 2 error, 3 more processes in the window than --max-processes.");
    return [args] { return run_pods(*args); };
}

}  // namespace lineage::cli
