// --max-processes (max_processes.h).
#include "max_processes.h"

#include <fmt/format.h>

#include "escape.h"
#include "output.h"
#include "reconstruct.h"

namespace lineage::cli {

CLI::Option* add_max_processes_option(CLI::App* cmd, size_t* value) {
    return cmd
        ->add_option("--max-processes", *value,
                     "Stop with exit status 3 when more processes than this match (0: no limit): memory follows the "
                     "answer, never the journal")
        // A size_t would take "-1" as 2^64 - 1, i.e. no limit at all.
        ->check(CLI::Validator(
            [](const std::string& v) {
                return v.find_first_not_of("0123456789") == std::string::npos && !v.empty()
                           ? std::string()
                           : "expected a count, 0 or more, got '" + v + "'";
            },
            "COUNT"))
        ->capture_default_str();
}

std::string too_many_processes_message(size_t limit) {
    return fmt::format(
        "more than {} processes match; narrow the window (--since/--until) or add a selector, or raise "
        "--max-processes",
        group_thousands(limit));
}

int too_many_processes(std::string_view command, std::string_view message) {
    say(fmt::format("lineage {}: {}", command, escape_for_terminal(message)));
    return kTooManyProcessesExit;
}

}  // namespace lineage::cli
