// lineage status: is the journal being recorded right now, and is its
// recorder keeping up? (lib/status/status.h)
#include <memory>

#include "commands.h"
#include "journal_format.h"
#include "output.h"
#include "status.h"
#include "status_render.h"

namespace lineage::cli {

namespace {

struct StatusArgs {
    std::string journal = kDefaultJournal;
    std::string format = "text";
    bool liveness = false;
};

int run_status(const StatusArgs& args) {
    auto report = journal_status(args.journal, status_context_now());
    if (!report) return fail("status", report.error().message);
    if (args.liveness) report->exit_status = liveness_exit_status(*report);
    const std::string out = args.format == "json" ? render_status_json(*report) : render_status_text(*report);
    if (!write_stdout(out)) return fail("status", "cannot write the output");
    return report->exit_status;
}

}  // namespace

Runner add_status(CLI::App& app) {
    auto args = std::make_shared<StatusArgs>();
    auto* cmd =
        app.add_subcommand("status", "Is the journal being recorded right now, and is its recorder keeping up?");
    cmd->add_option("-j,--journal", args->journal, "Journal file")->capture_default_str();
    cmd->add_option("--format", args->format, "text or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
    cmd->add_flag("--liveness", args->liveness,
                  "Exit 1 only when the recorder is stalled, not when it loses events: for a liveness probe "
                  "that restarts it");
    cmd->footer(
        "Examples:\n"
        "  lineage status\n"
        "  lineage status --journal /tmp/j.db --format json\n"
        "  lineage status >/dev/null; echo $?\n"
        "  lineage status --liveness --journal /var/lib/lineage/journal.db >/dev/null\n"
        "Needs only read access to the journal; never writes, never waits for the recorder.\n"
        "Exit status: 0 recording and healthy; 1 recording, but stalled or losing events in the last minute;\n"
        "2 error; 3 not recording. With --liveness, 1 only when stalled.");
    return [args] { return run_status(*args); };
}

}  // namespace lineage::cli
