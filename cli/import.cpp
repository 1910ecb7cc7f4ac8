// lineage import: other records of process events into a journal.
#include <fmt/format.h>

#include "commands.h"
#include "escape.h"
#include "import.h"
#include "output.h"

namespace lineage::cli {

namespace {

struct ImportArgs {
    std::string from;
    std::vector<std::string> files;
    std::string journal;
};

int run_import(const ImportArgs& args) {
    Result<ImportReport> report = Error{""};
    if (args.from == "lineage") {
        report = import_lineage(args.files, args.journal);
    } else if (args.from == "tetragon") {
        report = import_tetragon(args.files, args.journal);
    } else if (args.from == "bpftrace") {
        report = import_bpftrace(args.files, args.journal);
    } else {
        return fail("import",
                    fmt::format("--from: '{}' is not a format this build imports: lineage, tetragon, bpftrace",
                                escape_for_terminal(args.from)));
    }
    if (!report) return fail("import", report.error().message);
    for (const auto& p : report->problems) say("lineage import: skipped " + escape_for_terminal(p));
    if (report->malformed > static_cast<int64_t>(report->problems.size())) {
        say(fmt::format("lineage import: ... and {} more malformed lines",
                        report->malformed - static_cast<int64_t>(report->problems.size())));
    }
    say(fmt::format("lineage import: {}: {} rows in {} batches of {} runs from {} lines ({} malformed, left out)",
                    escape_for_terminal(args.journal), report->imported, report->batches, report->runs, report->lines,
                    report->malformed));
    return report->malformed > 0 ? 1 : 0;
}

}  // namespace

Runner add_import(CLI::App& app) {
    auto args = std::make_shared<ImportArgs>();
    auto* cmd = app.add_subcommand("import", "Build a journal from another record of process events");
    cmd->add_option("--from", args->from,
                    "Format of the files: lineage (the jsonl lines of lineage export), tetragon (Tetragon's JSON "
                    "events), bpftrace (a bpftrace recorder's FORK/EXEC/EXIT log)")
        ->required();
    cmd->add_option("files", args->files, "Files to import, in order")->required();
    cmd->add_option("-j,--journal", args->journal, "The journal to create (must not exist)")->required();
    cmd->footer(
        "Examples:\n"
        "  lineage import --from lineage events.jsonl --journal imported.db\n"
        "  lineage import --from lineage node1.jsonl node2.jsonl --journal fleet.db\n"
        "  lineage import --from lineage query-result.jsonl --journal incident.db\n"
        "  lineage import --from tetragon tetragon.log --journal tetragon.db\n"
        "  lineage import --from bpftrace process-lineage.log --journal bpftrace.db\n"
        "Exit status: 0 imported, 1 imported but some lines were malformed and left out, 2 error (nothing "
        "imported).");
    return [args] { return run_import(*args); };
}

}  // namespace lineage::cli
