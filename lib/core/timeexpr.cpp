#include "timeexpr.h"

#include <fmt/format.h>

#include <ctime>
#include <optional>

#include "escape.h"

namespace lineage {

namespace {

constexpr int64_t ns_per_sec = 1'000'000'000;
constexpr int64_t sec_per_day = 86'400;

// Keeps the error message readable when someone passes a megabyte of junk.
constexpr std::size_t max_quoted_input_bytes = 256;

Error invalid_time(std::string_view text) {
    return Error{
        fmt::format("invalid time '{}': expected RFC 3339 (2026-04-22T09:14:03Z), local time (2026-04-22 09:14), "
                    "epoch (@1745296443), relative (-15m, -2h, -7d) or now",
                    escape_for_terminal(truncate_for_display(text, max_quoted_input_bytes)))};
}

// Howard Hinnant's days_from_civil: proleptic Gregorian date to days since
// 1970-01-01, exact for negative years and without going through time_t.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
    int64_t year;
    unsigned month;
    unsigned day;
};

Civil civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
    return Civil{y, m, d};
}

bool is_leap_year(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && is_leap_year(y)) return 29;
    return days[m - 1];
}

// Floor division so that pre-1970 instants land on the right second/day.
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

class Cursor {
public:
    explicit Cursor(std::string_view s) : s_(s) {}

    bool at_end() const { return pos_ == s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    void advance() { ++pos_; }

    bool eat(char c) {
        if (at_end() || s_[pos_] != c) return false;
        ++pos_;
        return true;
    }

    // Exactly n decimal digits.
    bool fixed_digits(int n, unsigned* out) {
        unsigned value = 0;
        for (int k = 0; k < n; ++k) {
            if (!is_digit(peek())) return false;
            value = value * 10 + static_cast<unsigned>(peek() - '0');
            advance();
        }
        *out = value;
        return true;
    }

    // One or more digits; fails on none or on int64 overflow.
    bool number(int64_t* out) {
        if (!is_digit(peek())) return false;
        int64_t value = 0;
        while (is_digit(peek())) {
            if (__builtin_mul_overflow(value, 10, &value)) return false;
            if (__builtin_add_overflow(value, peek() - '0', &value)) return false;
            advance();
        }
        *out = value;
        return true;
    }

    // 1-9 digits of a decimal fraction, scaled to nanoseconds.
    bool fraction_ns(int64_t* out) {
        int64_t value = 0;
        int count = 0;
        while (is_digit(peek())) {
            if (++count > 9) return false;
            value = value * 10 + (peek() - '0');
            advance();
        }
        if (count == 0) return false;
        for (int k = count; k < 9; ++k) value *= 10;
        *out = value;
        return true;
    }

private:
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// seconds * 1e9 + ns (|ns| < 1e9), or nullopt if that leaves the int64
// range. When the signs differ the product alone can overflow even though
// the sum fits (the earliest wall ns is -9223372037 s + 0.145224192 s), so
// borrow one second first.
std::optional<int64_t> to_wall_ns(int64_t seconds, int64_t ns) {
    if (seconds < 0 && ns > 0) {
        ++seconds;
        ns -= ns_per_sec;
    } else if (seconds > 0 && ns < 0) {
        --seconds;
        ns += ns_per_sec;
    }
    int64_t out = 0;
    if (__builtin_mul_overflow(seconds, ns_per_sec, &out)) return std::nullopt;
    if (__builtin_add_overflow(out, ns, &out)) return std::nullopt;
    return out;
}

std::optional<int64_t> parse_epoch(std::string_view text) {
    Cursor c(text);
    const bool negative = c.eat('-');
    int64_t seconds = 0;
    if (!c.number(&seconds)) return std::nullopt;
    int64_t frac = 0;
    if (c.eat('.') && !c.fraction_ns(&frac)) return std::nullopt;
    if (!c.at_end()) return std::nullopt;
    return negative ? to_wall_ns(-seconds, -frac) : to_wall_ns(seconds, frac);
}

int64_t unit_ns(char unit) {
    switch (unit) {
        case 'w':
            return 7 * sec_per_day * ns_per_sec;
        case 'd':
            return sec_per_day * ns_per_sec;
        case 'h':
            return 3600 * ns_per_sec;
        case 'm':
            return 60 * ns_per_sec;
        case 's':
            return ns_per_sec;
        default:
            return 0;
    }
}

// Rank so that "-1h30m" is accepted but "-30m1h" and "-1m1m", which are
// more likely typos than intent, are not.
int unit_rank(char unit) {
    switch (unit) {
        case 'w':
            return 5;
        case 'd':
            return 4;
        case 'h':
            return 3;
        case 'm':
            return 2;
        case 's':
            return 1;
        default:
            return 0;
    }
}

std::optional<int64_t> parse_relative(std::string_view text, int64_t now_wall_ns) {
    Cursor c(text);
    const bool negative = c.peek() == '-';
    c.advance();  // caller guarantees a leading '+' or '-'

    int64_t total = 0;
    int last_rank = 6;
    bool any = false;
    while (!c.at_end()) {
        int64_t count = 0;
        if (!c.number(&count)) return std::nullopt;
        const char unit = c.peek();
        const int rank = unit_rank(unit);
        if (rank == 0 || rank >= last_rank) return std::nullopt;
        c.advance();
        last_rank = rank;

        int64_t part = 0;
        if (__builtin_mul_overflow(count, unit_ns(unit), &part)) return std::nullopt;
        if (__builtin_add_overflow(total, part, &total)) return std::nullopt;
        any = true;
    }
    if (!any) return std::nullopt;

    int64_t out = 0;
    const bool overflow =
        negative ? __builtin_sub_overflow(now_wall_ns, total, &out) : __builtin_add_overflow(now_wall_ns, total, &out);
    if (overflow) return std::nullopt;
    return out;
}

struct Fields {
    unsigned year = 0, month = 0, day = 0;
    unsigned hour = 0, minute = 0, second = 0;
    int64_t frac_ns = 0;
    bool has_zone = false;
    int offset_seconds = 0;  // east of UTC is positive
};

std::optional<Fields> parse_calendar_fields(std::string_view text) {
    Cursor c(text);
    Fields f;
    if (!c.fixed_digits(4, &f.year) || !c.eat('-') || !c.fixed_digits(2, &f.month) || !c.eat('-') ||
        !c.fixed_digits(2, &f.day)) {
        return std::nullopt;
    }
    if (f.month < 1 || f.month > 12) return std::nullopt;
    if (f.day < 1 || f.day > days_in_month(f.year, f.month)) return std::nullopt;
    if (c.at_end()) return f;

    if (!c.eat('T') && !c.eat('t') && !c.eat(' ')) return std::nullopt;
    if (!c.fixed_digits(2, &f.hour) || !c.eat(':') || !c.fixed_digits(2, &f.minute)) return std::nullopt;
    if (c.eat(':')) {
        if (!c.fixed_digits(2, &f.second)) return std::nullopt;
        if (c.eat('.') && !c.fraction_ns(&f.frac_ns)) return std::nullopt;
    }
    // 60 admits a leap second; it normalises to :00 of the next minute.
    if (f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;

    if (c.eat('Z') || c.eat('z')) {
        f.has_zone = true;
    } else if (c.peek() == '+' || c.peek() == '-') {
        const int sign = c.peek() == '-' ? -1 : 1;
        c.advance();
        unsigned oh = 0, om = 0;
        if (!c.fixed_digits(2, &oh) || !c.eat(':') || !c.fixed_digits(2, &om)) return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        f.has_zone = true;
        f.offset_seconds = sign * static_cast<int>(oh * 3600 + om * 60);
    }
    if (!c.at_end()) return std::nullopt;
    return f;
}

std::optional<int64_t> utc_fields_to_wall_ns(const Fields& f) {
    // Four-digit years keep these sums far from int64 limits; only the final
    // scaling to nanoseconds can overflow.
    const int64_t seconds = days_from_civil(f.year, f.month, f.day) * sec_per_day +
                            static_cast<int64_t>(f.hour) * 3600 + static_cast<int64_t>(f.minute) * 60 +
                            static_cast<int64_t>(f.second) - f.offset_seconds;
    return to_wall_ns(seconds, f.frac_ns);
}

// Local time goes through mktime so that the process's TZ rules (DST
// included) apply; tm_isdst = -1 lets the C library decide which offset was
// in force. Times in a DST gap are normalised the way mktime does it.
std::optional<int64_t> local_fields_to_wall_ns(const Fields& f) {
    std::tm tm{};
    tm.tm_year = static_cast<int>(f.year) - 1900;
    tm.tm_mon = static_cast<int>(f.month) - 1;
    tm.tm_mday = static_cast<int>(f.day);
    tm.tm_hour = static_cast<int>(f.hour);
    tm.tm_min = static_cast<int>(f.minute);
    tm.tm_sec = static_cast<int>(f.second);
    tm.tm_isdst = -1;
    // mktime returns -1 both for errors and for 1969-12-31T23:59:59Z; only a
    // successful call fills in tm_wday.
    tm.tm_wday = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) && tm.tm_wday == -1) return std::nullopt;
    return to_wall_ns(static_cast<int64_t>(t), f.frac_ns);
}

}  // namespace

Result<int64_t> parse_time_expr(std::string_view text, int64_t now_wall_ns) {
    if (text.empty()) return invalid_time(text);

    std::optional<int64_t> parsed;
    if (text == "now") {
        parsed = now_wall_ns;
    } else if (text.front() == '@') {
        parsed = parse_epoch(text.substr(1));
    } else if (text.front() == '-' || text.front() == '+') {
        parsed = parse_relative(text, now_wall_ns);
    } else if (const auto fields = parse_calendar_fields(text)) {
        parsed = fields->has_zone ? utc_fields_to_wall_ns(*fields) : local_fields_to_wall_ns(*fields);
    }

    if (!parsed) return invalid_time(text);
    return *parsed;
}

namespace {

struct Split {
    Civil date;
    unsigned hour, minute, second;
    int64_t ns;
};

Split split_wall_ns(int64_t wall_ns) {
    const int64_t seconds = floor_div(wall_ns, ns_per_sec);
    // Not wall_ns - seconds * 1e9: that product overflows near INT64_MIN.
    int64_t ns = wall_ns % ns_per_sec;
    if (ns < 0) ns += ns_per_sec;
    const int64_t days = floor_div(seconds, sec_per_day);
    const auto sod = static_cast<unsigned>(seconds - days * sec_per_day);
    return Split{civil_from_days(days), sod / 3600, sod / 60 % 60, sod % 60, ns};
}

}  // namespace

std::string format_rfc3339_ns(int64_t wall_ns) {
    const Split s = split_wall_ns(wall_ns);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", s.date.year, s.date.month, s.date.day, s.hour,
                       s.minute, s.second, s.ns);
}

std::string format_wall_short(int64_t wall_ns) {
    const Split s = split_wall_ns(wall_ns);
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z", s.date.year, s.date.month, s.date.day, s.hour, s.minute,
                       s.second);
}

std::string format_duration_short(int64_t ns) {
    const char sign = ns < 0 ? '-' : '+';
    // Unsigned magnitude so that INT64_MIN does not overflow on negation.
    const uint64_t mag = ns < 0 ? uint64_t{0} - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
    const uint64_t total_sec = mag / ns_per_sec;

    if (total_sec < 60) {
        return fmt::format("{}{}.{:03}s", sign, total_sec, mag % ns_per_sec / 1'000'000);
    }
    if (total_sec < 3600) {
        return fmt::format("{}{}m{:02}s", sign, total_sec / 60, total_sec % 60);
    }
    if (total_sec < static_cast<uint64_t>(sec_per_day)) {
        return fmt::format("{}{}h{:02}m", sign, total_sec / 3600, total_sec % 3600 / 60);
    }
    return fmt::format("{}{}d{:02}h", sign, total_sec / sec_per_day, total_sec % sec_per_day / 3600);
}

}  // namespace lineage
