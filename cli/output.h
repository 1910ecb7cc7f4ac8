#pragma once
// Output of the command line. Nothing here throws: a closed stderr or a
// stdout whose reader went away must not turn a message into an abort.
#include <string>
#include <string_view>

namespace lineage::cli {

// Writes `line` and a newline to stderr with write(2), retrying on EINTR;
// a failed write is dropped. Callers escape what came from a journal.
void say(std::string_view line);

// "lineage COMMAND: MESSAGE" on stderr (MESSAGE escaped for the terminal);
// returns 2, the exit code of every error.
int fail(std::string_view command, std::string_view message);

// All of `text` to stdout, then flushed. False when it could not be written.
bool write_stdout(std::string_view text);

// Colour on or off for `mode` (auto, always, never): auto means only on a
// TTY, and never when NO_COLOR is set and not empty (no-color.org), which
// also wins over always.
bool use_color(std::string_view mode);

// A T that lives until the process exits, never destroyed: the exit frees
// its memory at once, where destroying a model or report of 100,000
// processes one allocation at a time costs a tenth of the run. One per type
// (a command runs once per process); LeakSanitizer sees it reachable from
// the static pointer.
template <typename T>
T& kept_until_exit() {
    static T* kept = new T();
    return *kept;
}

}  // namespace lineage::cli
