#pragma once
// Each subcommand registers its options on the CLI11 app and returns the
// function that runs it. main() only dispatches and turns errors into exits.

#include <CLI/CLI.hpp>

#include <functional>

namespace lineage::cli {

using Runner = std::function<int()>;

Runner add_record(CLI::App& app);
Runner add_reconstruct(CLI::App& app);
Runner add_verify(CLI::App& app);
Runner add_export(CLI::App& app);
Runner add_import(CLI::App& app);
Runner add_status(CLI::App& app);
Runner add_info(CLI::App& app);
Runner add_pods(CLI::App& app);
Runner add_timeline(CLI::App& app);

}  // namespace lineage::cli
