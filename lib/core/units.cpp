#include "units.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace lineage {

namespace {
// Leading decimal digits of text; the rest is the unit.
bool split_number(std::string_view text, uint64_t* number, std::string_view* unit) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *number);
    if (ec != std::errc() || end == text.data()) return false;
    *unit = text.substr(static_cast<size_t>(end - text.data()));
    return true;
}
}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
    uint64_t n = 0;
    std::string_view unit;
    auto bad = Error{fmt::format("invalid size '{}': expected a number of bytes with an optional K, M or G", text)};
    if (!split_number(text, &n, &unit)) return bad;
    uint64_t mult = 1;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (unit == "K" || unit == "KiB" || unit == "k")
        mult = 1ull << 10;
    else if (unit == "M" || unit == "MiB")
        mult = 1ull << 20;
    else if (unit == "G" || unit == "GiB")
        mult = 1ull << 30;
    else
        return bad;
    if (n > std::numeric_limits<uint64_t>::max() / mult) return bad;
    return n * mult;
}

Result<int64_t> parse_duration(std::string_view text) {
    uint64_t n = 0;
    std::string_view unit;
    auto bad = Error{fmt::format("invalid duration '{}': expected a number with ms, s, m, h or d (30s, 5m, 2h)", text)};
    if (!split_number(text, &n, &unit)) return bad;
    int64_t mult = 1'000'000'000;
    if (unit.empty() || unit == "s")
        mult = 1'000'000'000;
    else if (unit == "ms")
        mult = 1'000'000;
    else if (unit == "m")
        mult = 60'000'000'000;
    else if (unit == "h")
        mult = 3'600'000'000'000;
    else if (unit == "d")
        mult = 86'400'000'000'000;
    else
        return bad;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / mult)) return bad;
    return static_cast<int64_t>(n) * mult;
}

}  // namespace lineage
