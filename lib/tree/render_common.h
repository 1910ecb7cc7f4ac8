#pragma once
// What the text and JSON renderers (render_text.cpp, render_json.cpp) share;
// not part of the renderer interface, which is render.h.

#include <string.h>

#include <string>

#include <fmt/format.h>

namespace lineage {

// "SIGKILL" for 9; "signal 64" for numbers without a name.
inline std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev) return std::string("SIG") + abbrev;
    return fmt::format("signal {}", sig);
}

}  // namespace lineage
