// lineage: what ran on this node, who spawned it, and where did it connect.
#include <exception>
#include <map>
#include <new>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "escape.h"
#include "huge_heap.h"
#include "output.h"
#include "version.h"

namespace {

int run(int argc, char** argv) {
    CLI::App app{"lineage: record process lineage with eBPF and reconstruct ancestry trees", "lineage"};
    app.set_version_flag("--version", std::string("lineage ") + lineage::kVersion);
    app.require_subcommand(1);

    std::map<CLI::App*, lineage::cli::Runner> runners;
    auto add = [&](lineage::cli::Runner (*fn)(CLI::App&)) {
        size_t before = app.get_subcommands({}).size();
        auto runner = fn(app);
        runners[app.get_subcommands({}).at(before)] = runner;
    };
    add(&lineage::cli::add_record);
    add(&lineage::cli::add_reconstruct);
    add(&lineage::cli::add_verify);
    add(&lineage::cli::add_status);
    add(&lineage::cli::add_info);
    add(&lineage::cli::add_pods);
    add(&lineage::cli::add_timeline);
    add(&lineage::cli::add_export);
    add(&lineage::cli::add_import);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version print and exit 0.
        if (e.get_exit_code() == 0) return app.exit(e);
        // A usage error is one line naming the command and the argument
        // (CLI11's own message, which quotes what was typed: escaped), and
        // exit 2, like grep.
        std::string who = "lineage";
        for (const auto* sub : app.get_subcommands()) who += " " + sub->get_name();
        lineage::cli::say(fmt::format("{}: {} (see --help)", who, lineage::escape_for_terminal(e.what())));
        return 2;
    }
    for (auto* sub : app.get_subcommands()) {
        auto it = runners.find(sub);
        if (it == runners.end()) continue;
        // The commands whose memory is their answer (huge_heap.h). Not
        // record, a long-lived process whose heap must be given back.
        const std::string& name = sub->get_name();
        if (name == "reconstruct" || name == "pods" || name == "timeline") lineage::prefer_huge_heap();
        return it->second();
    }
    return 2;
}

}  // namespace

// Errors are values inside lib/; anything that still escapes (an allocation
// that fails, a thread that cannot start) becomes one line and exit 2, never
// an abort with a core dump in the responder's terminal.
int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::bad_alloc&) {
        lineage::cli::say("lineage: out of memory");
    } catch (const std::exception& e) {
        lineage::cli::say("lineage: internal error: " + lineage::escape_for_terminal(e.what()));
    } catch (...) {
        lineage::cli::say("lineage: internal error");
    }
    return 2;
}
