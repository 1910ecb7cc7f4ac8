#pragma once
// Parsing of the sizes and durations users type on the command line.
#include <cstdint>
#include <string_view>

#include "result.h"

namespace lineage {

// "4096", "64K", "8M", "1G" (powers of 1024). Errors name the text.
Result<uint64_t> parse_size(std::string_view text);
// "30" (seconds), "30s", "5m", "2h", "1d", "250ms". Returns nanoseconds.
Result<int64_t> parse_duration(std::string_view text);

}  // namespace lineage
