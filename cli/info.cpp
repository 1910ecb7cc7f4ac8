// lineage info: what a journal holds, quickly and without verifying
// (lib/triage/info.h).
#include <memory>

#include "commands.h"
#include "info.h"
#include "journal_format.h"
#include "output.h"
#include "units.h"

namespace lineage::cli {

namespace {

struct InfoArgs {
    std::vector<std::string> journals;
    std::string format = "text";
    std::string color = "auto";
    bool force_schema = false;
    std::string timeout = "30s";
};

int run_info(InfoArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    ReadOptions read;
    read.force_schema = args.force_schema;
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail("info", "--timeout: " + timeout.error().message);
    read.timeout_ns = *timeout;
    // Every journal is read before anything is printed: a bad one among
    // several fails the whole command.
    std::vector<JournalInfo> infos;
    for (const auto& path : args.journals) {
        auto info = journal_info(path, read);
        if (!info) return fail("info", info.error().message);
        infos.push_back(std::move(*info));
    }
    std::string out;
    if (args.format == "json") {
        out = render_info_json(infos);
    } else {
        const bool color = use_color(args.color);
        for (size_t i = 0; i < infos.size(); ++i) out += (i ? "\n" : "") + render_info_text(infos[i], color);
    }
    if (!write_stdout(out)) return fail("info", "cannot write the output");
    return 0;
}

}  // namespace

Runner add_info(CLI::App& app) {
    auto args = std::make_shared<InfoArgs>();
    auto* cmd = app.add_subcommand("info", "What a journal holds: runs, span, rows per table, losses, gaps, prunes");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to describe (repeatable). Default: /var/lib/lineage/journal.db");
    cmd->add_option("--format", args->format, "text or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--color", args->color, "auto, always or never (auto: only on a TTY, never with NO_COLOR)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "always", "never"}));
    cmd->add_flag("--force-schema", args->force_schema,
                  "Describe a journal whose schema is not lineage's (objects added, changed or missing), with a "
                  "note; views and triggers still never run");
    cmd->add_option("--timeout", args->timeout,
                    "Stop a journal read that runs this long without a row (a journal made to stall readers); 0: "
                    "never")
        ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  lineage info\n"
        "  lineage info --journal copy.db --format json\n"
        "  lineage info --journal node1.db --journal node2.db\n"
        "Reads the journal's small tables and the ends of its indexes, never its events, and never writes;\n"
        "rows per table are rowid ranges (lineage verify counts and checks every row).\n"
        "Exit status: 0 described, 2 error.");
    return [args] { return run_info(*args); };
}

}  // namespace lineage::cli
