// lineage reconstruct: ancestry trees for a pod and a time window.
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
#include "render.h"
#include "timeexpr.h"
#include "units.h"

namespace lineage::cli {

namespace {

struct ReconstructArgs {
    std::vector<std::string> journals;
    std::string pod, namespace_, container, image, binary, since, until;
    std::optional<std::string> sha256;
    std::optional<std::string> dns;
    std::optional<uint32_t> pid, descendants_of, ancestors_of;
    std::string format = "tree";
    bool ascii = false;
    bool ancestors = false;
    bool times = false;
    bool no_fold = false;
    bool mark_new = false;
    std::string color = "auto";
    bool force_schema = false;
    std::string timeout = "30s";
    size_t max_processes = kDefaultMaxProcesses;
};

// Exit codes, as grep has them (and kTooManyProcessesExit, 3, for an answer
// over --max-processes).
constexpr int kMatched = 0;
constexpr int kNothing = 1;

int fail(const std::string& message) {
    return cli::fail("reconstruct", message);
}

int run_reconstruct(ReconstructArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    if (args.format != "tree" && args.format != "json") {
        return fail(fmt::format("--format: '{}' is not one of tree, json", args.format));
    }

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
    if (args.sha256) {
        query.sha256 = sha256_selector(*args.sha256);
        if (!query.sha256) return fail("--sha256: '" + *args.sha256 + "' is not 64 hex digits");
    }
    query.pid = args.pid;
    query.descendants_of = args.descendants_of;
    query.ancestors_of = args.ancestors_of;
    query.ancestors = args.ancestors;
    ReadOptions read;
    read.force_schema = args.force_schema;
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail("--timeout: " + timeout.error().message);
    read.timeout_ns = *timeout;

    // Every journal is opened and checked before anything is printed: a bad
    // one among several fails the whole command.
    LoadPlan plan = load_plan_for(query);
    plan.max_processes = args.max_processes;
    plan.sole_journal = args.journals.size() == 1;
    Model& model = kept_until_exit<Model>();
    std::vector<Warning> journal_warnings;
    // Kept open for --new, which asks them again once the answer is known.
    std::vector<JournalReader> readers;
    for (const auto& path : args.journals) {
        auto reader = JournalReader::open(path, read);
        if (!reader) return fail(reader.error().message);
        for (auto& w : reader->warnings()) journal_warnings.push_back(Warning{WarningKind::schema, w, {}, {}});
        if (auto st = reader->load_into(model, plan); !st) {
            if (st.error().code == kTooManyProcesses) return too_many_processes("reconstruct", st.error().message);
            return fail(st.error().message);
        }
        if (args.mark_new) readers.push_back(std::move(*reader));
    }
    model.finish();

    Report& report = kept_until_exit<Report>();
    report = build_report(model, query);
    if (args.max_processes != 0 && report.matched > args.max_processes) {
        return too_many_processes("reconstruct", too_many_processes_message(args.max_processes));
    }
    if (args.mark_new) {
        const PrecedentQuery asked = precedent_query(model, report);
        Precedents found;
        for (auto& reader : readers) {
            if (auto st = reader.find_precedents(model, asked, found); !st) return fail(st.error().message);
        }
        mark_new(model, found, report);
    }
    report.warnings.insert(report.warnings.begin(), journal_warnings.begin(), journal_warnings.end());
    std::unique_ptr<Renderer> renderer;
    if (args.format == "json") {
        renderer = std::make_unique<JsonRenderer>();
    } else {
        TextOptions options;
        options.ascii = args.ascii;
        options.absolute_times = args.times;
        options.color = use_color(args.color);
        options.fold.fold = !args.no_fold;
        renderer = std::make_unique<TextRenderer>(options);
    }
    // Warnings also go to stderr, so a script reading stdout still sees them.
    if (std::string warnings = render_warnings_for_stderr(report); !warnings.empty()) {
        warnings.pop_back();  // say() adds the newline
        say(warnings);
    }
    // Written as it is rendered: the output of a deep tree is large.
    if (!renderer->render_to(model, report, write_stdout)) return fail("cannot write the output");
    return report.matched > 0 ? kMatched : kNothing;
}

}  // namespace

Runner add_reconstruct(CLI::App& app) {
    auto args = std::make_shared<ReconstructArgs>();
    auto* cmd = app.add_subcommand("reconstruct", "Rebuild ancestry trees for a pod and a time window from journals");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to read (repeatable; read as one). Default: /var/lib/lineage/journal.db");
    cmd->add_option(
        "--pod", args->pod,
        "Pod name, NAMESPACE/NAME or pod UID: processes that were in the pod's cgroups, by exec, fork, move or "
        "snapshot");
    cmd->add_option("--namespace", args->namespace_, "Kubernetes namespace");
    cmd->add_option("--container", args->container, "Container name, or container ID (prefix)");
    cmd->add_option("--image", args->image,
                    "Container image glob, matched against the whole reference ('*' also matches '/')");
    cmd->add_option("--pid", args->pid, "Every incarnation of this PID in the window");
    cmd->add_option("--binary", args->binary,
                    "Binary glob: with '/' the whole path, else the base name, of the path given to execve or of the "
                    "file it ran (a process that never exec'd: its forker's)");
    cmd->add_option("--sha256", args->sha256,
                    "Every process that ran a file with this SHA-256 (64 hex digits, either case), as the recorder "
                    "hashed it (a process that never exec'd: its forker's)");
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
    cmd->add_option("--format", args->format,
                    "tree or json (JSON: a tree deeper than 256 generations continues in tree entries of their own, "
                    "joined by continues_from)")
        ->capture_default_str();
    cmd->add_flag("--ascii", args->ascii, "Draw the tree with |-- and `-- instead of box-drawing characters");
    cmd->add_flag("--ancestors", args->ancestors, "Continue the chain past the pod up to PID 1");
    cmd->add_flag("--times", args->times, "Absolute start times instead of offsets from the window start");
    cmd->add_flag("--no-fold", args->no_fold,
                  "Every process on its own line: no run of 8 or more generations, nor 3 or more siblings of one "
                  "shape, folded into one line (tree only; JSON never folds, it counts 'repeats')");
    cmd->add_flag("--new", args->mark_new,
                  "Mark NEW each binary a process ran, and each destination it connected to, that its pod (or, for "
                  "a binary outside pods, the host) never had before in the journals' whole span, in wall-clock "
                  "time across runs and boots");
    cmd->add_option("--color", args->color, "auto, always or never (auto: only on a TTY, never with NO_COLOR)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->add_flag("--force-schema", args->force_schema,
                  "Read a journal whose schema is not lineage's (objects added, changed or missing), with a warning; "
                  "views and triggers still never run");
    add_max_processes_option(cmd, &args->max_processes);
    cmd->add_option("--timeout", args->timeout,
                    "Stop a journal read that runs this long without a row (a journal made to stall readers); 0: "
                    "never")
        ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  lineage reconstruct --pod my-app-6d4f9-xk2p1 --since -1h\n"
        "  lineage reconstruct --journal copy.db --pod production/my-app-6d4f9-xk2p1 --format json\n"
        "  lineage reconstruct --journal node1.db --journal node2.db --binary curl --since '2026-04-22 09:00'\n"
        "  lineage reconstruct --pid 18294 --ancestors --times\n"
        "  lineage reconstruct --sha256 3f2a9c1d5b7e8f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3e1 --since -7d\n"
        "  lineage reconstruct --dns '*.attacker.com' --since -24h\n"
        "  lineage reconstruct --descendants-of 5740 --no-fold\n"
        "  lineage reconstruct --pod my-app-6d4f9-xk2p1 --since -1h --new\n"
        "Exit status: 0 something matched, 1 nothing matched, 2 error, 3 more processes than --max-processes.\n"
        "Journals of schema version 3 or older (read-only: they cannot get version 4's indexes) answer a window\n"
        "alone and --binary (and, before version 3, --namespace and --container) by reading the whole journal:\n"
        "correct, and slow on a large one. `lineage record` adds the indexes when it appends to one; `lineage\n"
        "export` and `lineage import --from lineage` give a copy the current layout. A --binary glob that starts\n"
        "with a wildcard reads the whole journal of versions 4 and 5. A window alone on a version 4 journal (no\n"
        "`unexited` sets) reads every row of each boot: bounded in memory, slower. Before version 9 (no\n"
        "*_by_start indexes) a window alone looks its processes up one by one: the same answer, slower. Before\n"
        "version 11 (no dns_names) --dns parses every DNS message: the same answer, slower.");
    return [args] { return run_reconstruct(*args); };
}

}  // namespace lineage::cli
