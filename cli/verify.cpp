// lineage verify: is a journal whole? The hash chain, SQLite's integrity,
// anchors, and what the journal says it missed.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "escape.h"
#include "hashchain.h"
#include "journal_format.h"
#include "output.h"
#include "units.h"
#include "verify.h"
#include "verify_render.h"

namespace lineage::cli {

namespace {

struct VerifyArgs {
    std::vector<std::string> journals;
    std::vector<std::string> anchors;
    std::string format = "text";
    std::string timeout = "30s";
};

constexpr int kWhole = 0;
constexpr int kNotWhole = 1;
// An error is exit 2, from cli::fail.

int fail(const std::string& message) {
    return cli::fail("verify", message);
}

int run_verify(VerifyArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    std::vector<Anchor> anchors;
    for (const auto& text : args.anchors) {
        auto a = parse_anchor(text);
        if (!a) return fail("--anchor: " + a.error().message);
        anchors.push_back(*a);
    }
    VerifyOptions options;
    auto timeout = parse_duration(args.timeout);
    if (!timeout) return fail("--timeout: " + timeout.error().message);
    options.timeout_ns = *timeout;
    // Every journal is checked before anything is printed: a file that is
    // no journal fails the whole command, like reconstruct.
    VerifyReport report;
    for (const auto& path : args.journals) {
        auto verdict = verify_journal(path, options);
        if (!verdict) return fail(verdict.error().message);
        report.journals.push_back(std::move(*verdict));
    }
    check_anchors(report, anchors);
    std::unique_ptr<VerifyRenderer> renderer;
    if (args.format == "json") {
        renderer = std::make_unique<VerifyJsonRenderer>();
    } else {
        renderer = std::make_unique<VerifyTextRenderer>();
    }
    const std::string out = renderer->render(report);
    if (!write_stdout(out)) return fail("cannot write the output");
    return report.whole() ? kWhole : kNotWhole;
}

}  // namespace

Runner add_verify(CLI::App& app) {
    auto args = std::make_shared<VerifyArgs>();
    auto* cmd = app.add_subcommand("verify", "Check that journals are whole: hash chain, integrity, anchors");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to check (repeatable). Default: /var/lib/lineage/journal.db");
    cmd->add_option("--anchor", args->anchors,
                    "A chain head the recorder published: 64 hex digits, or a whole 'lineage-anchor ...' line "
                    "(repeatable); each must be in the chain");
    cmd->add_option("--format", args->format, "text or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--timeout", args->timeout,
                    "Stop a journal read that runs this long without a row (a journal made to stall readers; a "
                    "finding); 0: never")
        ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  lineage verify\n"
        "  lineage verify --journal copy.db --anchor \"$(tail -n 1 /var/log/lineage-anchors.log)\"\n"
        "  lineage verify --journal node1.db --journal node2.db --anchor HASH --format json\n"
        "Nothing is written: not the journal, its WAL, its directory or its mtime.\n"
        "Exit status: 0 whole, 1 tampering, damage or a missing anchor found, 2 error.");
    return [args] { return run_verify(*args); };
}

}  // namespace lineage::cli
