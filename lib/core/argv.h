#pragma once
// argv as the kernel keeps it: arguments back to back, each ended by a NUL.
// The exec event, /proc/PID/cmdline and the journal's argv column all use
// this form; these are the one splitter and the one joiner of it.
#include <string>
#include <string_view>
#include <vector>

namespace lineage {

// One trailing NUL ends the last argument; empty arguments elsewhere are
// kept ("a\0\0b\0" -> {"a", "", "b"}). A missing final NUL (argv cut at a
// cap) still yields the partial last argument. Empty input gives no
// arguments (kernel threads, zombies). Bytes are kept as they are.
std::vector<std::string> split_argv(std::string_view raw);

// The inverse: every argument followed by a NUL.
std::string join_argv(const std::vector<std::string>& argv);

}  // namespace lineage
