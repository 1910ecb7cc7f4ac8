#pragma once
// Time expressions for --since/--until, and the few time formats lineage
// prints. "Wall ns" is int64 nanoseconds since the Unix epoch, UTC; its range
// (1677-09-21 .. 2262-04-11) is the range of everything here, and inputs
// outside it are rejected rather than wrapped.

#include <cstdint>
#include <string>
#include <string_view>

#include "result.h"

namespace lineage {

// Accepts, and nothing else (no surrounding whitespace, no trailing text):
//   RFC 3339     2026-04-22T09:14:03Z, 2026-04-22T09:14:03.123456789+02:00
//                ('t'/'z' in lowercase and a space instead of 'T' also work)
//   local time   2026-04-22 09:14, 2026-04-22 09:14:03, 2026-04-22T09:14:03,
//                2026-04-22 (midnight); interpreted in the process's TZ
//   epoch        @1745296443, @1745296443.25, @-86400
//   relative     -15m, -2h, -30s, -7d, -1w, -1h30m, +10m (units w d h m s,
//                largest first, each at most once)
//   now
// Seconds are optional in the clock part, and a fraction (1-9 digits) is
// only allowed after seconds. Any failure yields one fixed, single-line
// message naming the input (escaped, and shortened if it is huge).
Result<int64_t> parse_time_expr(std::string_view text, int64_t now_wall_ns);

// 2026-04-22T09:14:03.123456789Z: UTC, always nine fraction digits.
std::string format_rfc3339_ns(int64_t wall_ns);

// 2026-04-22 09:14:03Z: UTC, fraction dropped (not rounded).
std::string format_wall_short(int64_t wall_ns);

// Compact signed offset, truncated toward zero at the shown precision:
// +0.000s, +1.250s, +2m05s, +3h02m, +2d04h, -0.500s.
std::string format_duration_short(int64_t ns);

}  // namespace lineage
