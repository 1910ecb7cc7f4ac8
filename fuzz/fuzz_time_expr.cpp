// parse_time_expr (--since/--until come from a user, and from runbooks that
// paste in text from alerts) and the formatters on whatever it returns.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <time.h>

#include "fuzz_check.h"
#include "timeexpr.h"

namespace {

// 2026-04-22T09:14:03.123456789Z: a fixed "now" keeps runs reproducible.
constexpr int64_t kNow = 1776849243123456789LL;

void check_formatters(int64_t ns) {
    std::string rfc = lineage::format_rfc3339_ns(ns);
    std::string wall = lineage::format_wall_short(ns);
    std::string dur = lineage::format_duration_short(ns);
    FUZZ_CHECK(!rfc.empty() && !wall.empty() && !dur.empty());
    FUZZ_CHECK(dur[0] == '+' || dur[0] == '-');
    // Every wall-clock value is in range, so its RFC 3339 form must parse
    // back to exactly the same nanosecond.
    auto back = lineage::parse_time_expr(rfc, kNow);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(*back == ns);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Local-time forms depend on TZ; pin one with a DST rule so both offsets
    // and the gaps between them are exercised.
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto t = lineage::parse_time_expr(text, kNow);
    if (t) {
        check_formatters(*t);
        int64_t diff = 0;
        if (!__builtin_sub_overflow(*t, kNow, &diff)) (void)lineage::format_duration_short(diff);
    } else {
        const std::string& msg = t.error().message;
        FUZZ_CHECK(!msg.empty());
        FUZZ_CHECK(msg.find('\n') == std::string::npos);
        FUZZ_CHECK(msg.size() < 2048);  // the input is quoted shortened
    }
    // The formatters on raw values as well, extremes included.
    if (size >= sizeof(int64_t)) {
        int64_t raw;
        std::memcpy(&raw, data, sizeof(raw));
        check_formatters(raw);
    }
    return 0;
}
