#include "output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "escape.h"

namespace lineage::cli {

namespace {
bool write_fd(int fd, std::string_view text) {
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        left -= static_cast<size_t>(n);
    }
    return true;
}
}  // namespace

void say(std::string_view line) {
    std::string text(line);
    text.push_back('\n');
    (void)write_fd(STDERR_FILENO, text);
}

int fail(std::string_view command, std::string_view message) {
    say(std::string("lineage ") + std::string(command) + ": " + escape_for_terminal(message));
    return 2;
}

bool write_stdout(std::string_view text) {
    // Anything printed through stdio before must go first.
    if (std::fflush(stdout) != 0) return false;
    return write_fd(STDOUT_FILENO, text);
}

bool use_color(std::string_view mode) {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color && *no_color) return false;
    if (mode == "always") return true;
    return mode == "auto" && isatty(STDOUT_FILENO) != 0;
}

}  // namespace lineage::cli
