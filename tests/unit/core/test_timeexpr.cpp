#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "timeexpr.h"

namespace test_timeexpr {

using namespace std::string_literals;
using lineage::format_duration_short;
using lineage::format_rfc3339_ns;
using lineage::format_wall_short;
using lineage::parse_time_expr;

namespace {

constexpr int64_t sec = 1'000'000'000;
constexpr int64_t i64_max = std::numeric_limits<int64_t>::max();
constexpr int64_t i64_min = std::numeric_limits<int64_t>::min();

// 2026-04-22T09:14:03Z, cross-checked with `date -u -d ... +%s`.
constexpr int64_t ref_sec = 1776849243;
constexpr int64_t ref = ref_sec * sec;

// Some fixed "now" so relative expressions are deterministic.
constexpr int64_t now = ref + 123'456'789;

const std::string expected_suffix =
    "': expected RFC 3339 (2026-04-22T09:14:03Z), local time (2026-04-22 09:14), epoch (@1745296443), "
    "relative (-15m, -2h, -7d) or now";

// Sets TZ for one test and puts the previous value back, so tests do not
// depend on the machine's zone or on each other.
class ScopedTz {
public:
    explicit ScopedTz(const char* tz) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~ScopedTz() {
        if (old_) {
            setenv("TZ", old_->c_str(), 1);
        } else {
            unsetenv("TZ");
        }
        tzset();
    }
    ScopedTz(const ScopedTz&) = delete;
    ScopedTz& operator=(const ScopedTz&) = delete;

private:
    std::optional<std::string> old_;
};

struct ParseCase {
    std::string text;
    int64_t expected;
};

void check_parses(const std::vector<ParseCase>& cases) {
    for (const auto& c : cases) {
        INFO("input: " << c.text);
        const auto r = parse_time_expr(c.text, now);
        REQUIRE(r.ok());
        CHECK(*r == c.expected);
    }
}

}  // namespace

TEST_CASE("parse_time_expr: RFC 3339", "[timeexpr]") {
    ScopedTz tz("Europe/Paris");  // explicit zones must ignore TZ entirely
    check_parses({
        {"2026-04-22T09:14:03Z", ref},
        {"2026-04-22T09:14:03.123456789Z", ref + 123456789},
        {"2026-04-22T09:14:03.1Z", ref + 100000000},
        {"2026-04-22T09:14:03.000000001Z", ref + 1},
        {"2026-04-22T09:14:03+02:00", ref - 2 * 3600 * sec},
        {"2026-04-22T09:14:03-05:30", ref + (5 * 3600 + 30 * 60) * sec},
        {"2026-04-22T09:14:03+00:00", ref},
        {"2026-04-22T09:14:03-00:00", ref},
        {"2026-04-22t09:14:03z", ref},
        {"2026-04-22 09:14:03Z", ref},
        {"2026-04-22 09:14:03.5+01:00", ref - 3600 * sec + 500000000},
        {"2026-04-22T09:14Z", ref - 3 * sec},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.5Z", -500000000},
        {"1970-01-01T01:00:00+01:00", 0},
        {"2024-02-29T00:00:00Z", int64_t{1709164800} * sec},
        {"2000-02-29T12:00:00Z", int64_t{951825600} * sec},
        {"2016-12-31T23:59:60Z", int64_t{1483228800} * sec},  // leap second folds into the next minute
        {"2262-04-11T23:47:16.854775807Z", i64_max},
        {"1677-09-21T00:12:43.145224192Z", i64_min},
    });
}

TEST_CASE("parse_time_expr: local time in UTC", "[timeexpr]") {
    ScopedTz tz("UTC");
    check_parses({
        {"2026-04-22 09:14", ref - 3 * sec},
        {"2026-04-22 09:14:03", ref},
        {"2026-04-22T09:14:03", ref},
        {"2026-04-22t09:14:03", ref},
        {"2026-04-22T09:14:03.25", ref + 250000000},
        {"2026-04-22", int64_t{1776816000} * sec},
        {"1970-01-01", 0},
        {"1969-12-31 23:59:59", -sec},  // mktime's -1 that is not an error
    });
}

TEST_CASE("parse_time_expr: local time in Europe/Paris", "[timeexpr]") {
    ScopedTz tz("Europe/Paris");
    check_parses({
        {"2026-04-22 09:14:03", ref - 2 * 3600 * sec},    // CEST, UTC+2
        {"2026-04-22", int64_t{1776808800} * sec},        // 2026-04-21T22:00:00Z
        {"2026-01-15 12:00", int64_t{1768474800} * sec},  // CET, UTC+1
        {"2026-04-22T09:14:03Z", ref},
    });
}

TEST_CASE("parse_time_expr: epoch", "[timeexpr]") {
    check_parses({
        {"@1745296443", int64_t{1745296443} * sec},
        {"@1745296443.25", int64_t{1745296443} * sec + 250000000},
        {"@1745296443.123456789", int64_t{1745296443} * sec + 123456789},
        {"@0", 0},
        {"@1.000000001", sec + 1},
        {"@-1.5", -1500000000},
        {"@9223372036.854775807", i64_max},
        {"@-9223372036.854775808", i64_min},
    });
}

TEST_CASE("parse_time_expr: relative and now", "[timeexpr]") {
    check_parses({
        {"now", now},
        {"-15m", now - 15 * 60 * sec},
        {"-2h", now - 2 * 3600 * sec},
        {"-30s", now - 30 * sec},
        {"-7d", now - 7 * 86400 * sec},
        {"-1w", now - 7 * 86400 * sec},
        {"-1h30m", now - 90 * 60 * sec},
        {"-1w2d3h4m5s", now - (9 * 86400 + 3 * 3600 + 4 * 60 + 5) * sec},
        {"+10m", now + 10 * 60 * sec},
        {"-0s", now},
        {"-90m", now - 90 * 60 * sec},
    });

    auto r = parse_time_expr("+1s", i64_max - 1);
    CHECK_FALSE(r.ok());
    r = parse_time_expr("-1s", i64_min + 1);
    CHECK_FALSE(r.ok());
    r = parse_time_expr("-1s", i64_min + sec);
    REQUIRE(r.ok());
    CHECK(*r == i64_min);
}

TEST_CASE("parse_time_expr: rejects malformed input with the fixed message", "[timeexpr]") {
    ScopedTz tz("UTC");
    const std::vector<std::string> bad = {
        "",
        " ",
        "yesterday",
        "NOW",
        "now ",
        " now",
        "now\0"s,
        "today",
        // dates
        "2026-13-01",
        "2026-00-10",
        "2026-02-29",
        "1900-02-29",
        "2026-04-31",
        "2026-04-00",
        "2026-4-22",
        "26-04-22",
        "2026/04/22",
        "20260422",
        "2026-04-22x",
        "2026-04-22 ",
        " 2026-04-22",
        "+2026-04-22",
        // clock
        "2026-04-22T",
        "2026-04-22T09",
        "2026-04-22T9:14",
        "2026-04-22T09:14.5",
        "2026-04-22T24:00:00Z",
        "2026-04-22T09:60:00Z",
        "2026-04-22T09:14:61Z",
        "2026-04-22T09:14:03.Z",
        "2026-04-22T09:14:03.1234567890Z",
        "2026-04-22T09:14:03,5Z",
        "2026-04-22  09:14",
        "2026-04-22_09:14",
        // zones
        "2026-04-22T09:14:03+2:00",
        "2026-04-22T09:14:03+0200",
        "2026-04-22T09:14:03+02",
        "2026-04-22T09:14:03+24:00",
        "2026-04-22T09:14:03+02:60",
        "2026-04-22T09:14:03Zjunk",
        "2026-04-22T09:14:03Z ",
        "2026-04-22T09:14:03ZZ",
        "2026-04-22T09:14:03 UTC",
        // out of int64 range
        "9999-12-31T23:59:59Z",
        "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224191Z",
        "0000-01-01",
        "9999-12-31",
        // epoch
        "@",
        "@abc",
        "@1.",
        "@.5",
        "@1.1234567890",
        "@12x",
        "@ 12",
        "@+12",
        "@99999999999",
        "@9223372036854775808",
        "@9223372036.854775808",
        "@-9223372036.854775809",
        "@1e9",
        "1745296443",
        // relative
        "-",
        "+",
        "-15",
        "-15x",
        "-m",
        "-15m junk",
        "-30m1h",
        "-1m1m",
        "-1h-30m",
        "--15m",
        "-1.5h",
        "-15M",
        "-99999999999w",
        "-9223372036854775808s",
        "- 15m",
    };
    for (const auto& text : bad) {
        INFO("input: " << text);
        const auto r = parse_time_expr(text, now);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find(expected_suffix) != std::string::npos);
    }

    const auto r = parse_time_expr("yesterday", now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "invalid time 'yesterday" + expected_suffix);
}

TEST_CASE("parse_time_expr: hostile input cannot garble the error message", "[timeexpr]") {
    auto r = parse_time_expr("\x1b]0;pwned\x07\n\xe2\x80\xae", now);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "invalid time '\\x1b]0;pwned\\x07\\n\\u{202E}" + expected_suffix);

    // A megabyte of junk is shortened rather than echoed back in full.
    const std::string huge(1 << 20, '\x1b');
    r = parse_time_expr(huge, now);
    REQUIRE_FALSE(r.ok());
    const std::string& msg = r.error().message;
    CHECK(msg.size() < 2000);
    CHECK(msg.find("\\x1b\\x1b") != std::string::npos);
    CHECK(msg.find("\xe2\x80\xa6") != std::string::npos);
    bool has_control = false;
    for (unsigned char c : msg) has_control = has_control || c < 0x20 || c == 0x7f;
    CHECK_FALSE(has_control);
}

TEST_CASE("format_rfc3339_ns", "[timeexpr]") {
    struct Case {
        int64_t ns;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {0, "1970-01-01T00:00:00.000000000Z"},
        {1, "1970-01-01T00:00:00.000000001Z"},
        {-1, "1969-12-31T23:59:59.999999999Z"},
        {-86400 * sec, "1969-12-31T00:00:00.000000000Z"},
        {ref + 123456789, "2026-04-22T09:14:03.123456789Z"},
        {int64_t{951825600} * sec, "2000-02-29T12:00:00.000000000Z"},
        {int64_t{1709164800} * sec - 1, "2024-02-28T23:59:59.999999999Z"},
        {i64_max, "2262-04-11T23:47:16.854775807Z"},
        {i64_min, "1677-09-21T00:12:43.145224192Z"},
    };
    for (const auto& c : cases) {
        INFO("ns: " << c.ns);
        CHECK(format_rfc3339_ns(c.ns) == c.expected);
    }
}

TEST_CASE("format_wall_short", "[timeexpr]") {
    CHECK(format_wall_short(ref) == "2026-04-22 09:14:03Z");
    CHECK(format_wall_short(ref + 999999999) == "2026-04-22 09:14:03Z");
    CHECK(format_wall_short(-1) == "1969-12-31 23:59:59Z");
    CHECK(format_wall_short(0) == "1970-01-01 00:00:00Z");
}

TEST_CASE("civil conversion agrees with gmtime_r across the whole range", "[timeexpr]") {
    std::mt19937_64 rng(2026);
    // Whole seconds representable as wall ns.
    std::uniform_int_distribution<int64_t> dist(i64_min / sec + 1, i64_max / sec);
    for (int i = 0; i < 20000; ++i) {
        const int64_t s = dist(rng);
        const std::time_t t = static_cast<std::time_t>(s);
        std::tm tm{};
        REQUIRE(gmtime_r(&t, &tm) != nullptr);
        char buf[64];
        REQUIRE(std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm) > 0);
        INFO("seconds: " << s);
        REQUIRE(format_wall_short(s * sec) == buf);
    }
}

TEST_CASE("RFC 3339 round trip", "[timeexpr]") {
    std::vector<int64_t> values = {0,       1,           -1,          ref,  ref + 123456789, i64_max,
                                   i64_min, i64_max - 1, i64_min + 1, -sec, sec - 1,         int64_t{951825600} * sec};
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int64_t> dist(i64_min, i64_max);
    for (int i = 0; i < 20000; ++i) values.push_back(dist(rng));

    for (int64_t v : values) {
        const std::string text = format_rfc3339_ns(v);
        INFO("text: " << text);
        const auto r = parse_time_expr(text, now);
        REQUIRE(r.ok());
        REQUIRE(*r == v);
    }
}

TEST_CASE("format_duration_short", "[timeexpr]") {
    struct Case {
        int64_t ns;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {0, "+0.000s"},
        {999999, "+0.000s"},
        {1000000, "+0.001s"},
        {1250000000, "+1.250s"},
        {59999999999, "+59.999s"},
        {60 * sec, "+1m00s"},
        {125 * sec, "+2m05s"},
        {3599 * sec + 999999999, "+59m59s"},
        {3600 * sec, "+1h00m"},
        {(3 * 3600 + 2 * 60) * sec + 59 * sec, "+3h02m"},
        {86399 * sec, "+23h59m"},
        {86400 * sec, "+1d00h"},
        {(2 * 86400 + 4 * 3600 + 59 * 60) * sec, "+2d04h"},
        {-1250000000, "-1.250s"},
        {-125 * sec, "-2m05s"},
        {-(2 * 86400 + 4 * 3600) * sec, "-2d04h"},
        {i64_max, "+106751d23h"},
        {i64_min, "-106751d23h"},
    };
    for (const auto& c : cases) {
        INFO("ns: " << c.ns);
        CHECK(format_duration_short(c.ns) == c.expected);
    }
}

}  // namespace test_timeexpr
