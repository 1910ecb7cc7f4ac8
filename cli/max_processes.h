#pragma once
// --max-processes, the one bound of reconstruct, timeline and pods: the same
// default, the same check of its value, the same exit code and message.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace lineage::cli {

// The default bound: a query answering more is stopped (exit 3), so that
// memory follows the answer, never the journal.
inline constexpr size_t kDefaultMaxProcesses = 100000;
// The exit code of an answer over the bound (0, 1 and 2 are grep's).
inline constexpr int kTooManyProcessesExit = 3;

// Adds --max-processes to `cmd`, into `value`: a count, 0 or more (0: no
// limit).
CLI::Option* add_max_processes_option(CLI::App* cmd, size_t* value);

// The line reconstruct prints when more than `limit` processes match.
std::string too_many_processes_message(size_t limit);

// Prints "lineage COMMAND: MESSAGE" on stderr and returns kTooManyProcessesExit.
int too_many_processes(std::string_view command, std::string_view message);

}  // namespace lineage::cli
