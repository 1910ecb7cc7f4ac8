#include "export_json.h"

#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "escape.h"

namespace lineage {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

// Whether any of the 8 bytes in w would stop the plain copy: a byte of
// 0x80 or more (UTF-8 to check), below 0x20 (escaped), '"' or '\'. Exact:
// it never misses one (the bit tricks are the classic "has zero byte" and
// "has byte less than n" tests).
bool has_special(uint64_t w) {
    const uint64_t below_space = (w - kOnes * 0x20) & ~w;
    const uint64_t q = w ^ (kOnes * '"');
    const uint64_t b = w ^ (kOnes * '\\');
    const uint64_t quote = (q - kOnes) & ~q;
    const uint64_t backslash = (b - kOnes) & ~b;
    return ((w | below_space | quote | backslash) & kHighs) != 0;
}

// Appends s, escaped for a JSON string (no quotes), in one pass that also
// checks it is valid UTF-8. False (with part of s appended) at the first
// invalid sequence. The escapes: \" \\ \n \t \r, \u00XX for the other
// bytes below 0x20; everything else as it is.
bool append_escaped_if_valid(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    const char* p = s.data();
    const size_t n = s.size();
    size_t i = 0, run = 0;  // run: start of the bytes not yet copied
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            if (has_special(w)) break;
            i += 8;
        }
        if (i >= n) break;
        const auto c = static_cast<unsigned char>(p[i]);
        if (c >= 0x80) {
            const size_t len = utf8_sequence_length(s, i);
            if (len == 0) return false;
            i += len;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            ++i;
            continue;
        }
        out.append(p + run, i - run);
        switch (c) {
            case '"':
                out.append("\\\"", 2);
                break;
            case '\\':
                out.append("\\\\", 2);
                break;
            case '\n':
                out.append("\\n", 2);
                break;
            case '\t':
                out.append("\\t", 2);
                break;
            case '\r':
                out.append("\\r", 2);
                break;
            default: {
                const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                out.append(u, 6);
            }
        }
        run = ++i;
    }
    out.append(p + run, n - run);
    return true;
}

// RFC 3339 of a day, "YYYY-MM-DDT", remembered for the next calls: a
// line's times (its own, its process's start) fall within days of each
// other far more often than within one second, and the time of day is
// plain arithmetic (UTC has no leap seconds in gmtime's world). A few days,
// not one: the lines of a long-lived process (started days before) and of
// a new one alternate.
struct DayCache {
    int64_t day = 0;
    char text[32] = {};
    size_t size = 0;  // 0: nothing cached
};
struct DayCaches {
    DayCache days[4];
    unsigned next = 0;  // the one replaced next
};

}  // namespace

JsonOut& JsonOut::long_key(std::string_view k, std::string_view tail) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_.append(k);
    out_.append("\":", 2);
    out_.append(tail);
    return *this;
}

void JsonOut::key_b64(std::string_view k) {
    out_ += ',';
    out_ += '"';
    out_.append(k);
    out_.append("_b64\":", 6);
}

bool JsonOut::string_value(std::string_view text) {
    out_ += '"';
    return string_value_open(text);
}

bool JsonOut::string_value_open(std::string_view text) {
    const size_t mark = out_.size() - 1;  // the opening quote
    if (append_escaped_if_valid(out_, text)) {
        out_ += '"';
        return true;
    }
    // Not valid UTF-8 (rare: attacker bytes): invalid bytes become U+FFFD,
    // and the result, valid now, is escaped as any text.
    out_.resize(mark + 1);
    append_escaped_if_valid(out_, utf8_sanitize(text));
    out_ += '"';
    return false;
}

void JsonOut::element_str(std::string_view text) {
    if (!first_) out_ += ',';
    first_ = false;
    string_value(text);
}

void JsonOut::bytes(std::string_view k, std::string_view b) {
    key(k, "\"");
    if (string_value_open(b)) return;
    key_b64(k);
    out_ += '"';
    out_ += base64_encode(b);
    out_ += '"';
}

void JsonOut::argv(std::string_view k, std::string_view raw_argv) {
    // Arguments are the NUL-separated pieces, as split_argv() cuts them (a
    // last NUL ends the last argument). A UTF-8 sequence cannot span a NUL,
    // so the whole argv is valid exactly when every argument is.
    array(k);
    bool valid = true;
    size_t pos = 0;
    while (pos < raw_argv.size()) {
        size_t nul = raw_argv.find('\0', pos);
        if (nul == std::string_view::npos) nul = raw_argv.size();
        if (!first_) out_ += ',';
        first_ = false;
        valid &= string_value(raw_argv.substr(pos, nul - pos));
        pos = nul + 1;
    }
    end_array();
    if (!valid) {
        key_b64(k);
        out_ += '"';
        out_ += base64_encode(raw_argv);
        out_ += '"';
    }
}

void JsonOut::time(std::string_view k, int64_t wall_ns) {
    key(k, "\"");
    append_rfc3339_ns(out_, wall_ns);
    out_ += '"';
}

void append_rfc3339_ns(std::string& out, int64_t wall_ns) {
    thread_local DayCaches caches;
    int64_t sec = wall_ns / 1'000'000'000;
    int64_t ns = wall_ns % 1'000'000'000;
    if (ns < 0) {
        ns += 1'000'000'000;
        sec -= 1;
    }
    int64_t day = sec / 86'400;
    int64_t second_of_day = sec % 86'400;
    if (second_of_day < 0) {
        second_of_day += 86'400;
        day -= 1;
    }
    DayCache* hit = nullptr;
    for (DayCache& c : caches.days) {
        if (c.size != 0 && c.day == day) hit = &c;
    }
    if (!hit) {
        hit = &caches.days[caches.next++ % 4];
        const auto t = static_cast<time_t>(sec);
        struct tm tm {};
        if (!gmtime_r(&t, &tm)) {
            out.append("1970-01-01T00:00:00.000000000Z");
            return;
        }
        const auto r = fmt::format_to_n(hit->text, sizeof hit->text - 1, "{:04}-{:02}-{:02}T", tm.tm_year + 1900,
                                        tm.tm_mon + 1, tm.tm_mday);
        hit->size = r.size;
        hit->day = day;
        if (r.size > sizeof hit->text - 1) {  // a year of many digits: not cached
            hit->size = 0;
            out.append(fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ns));
            return;
        }
    }
    out.append(hit->text, hit->size);
    const auto hms = static_cast<uint32_t>(second_of_day);
    const uint32_t h = hms / 3600, m = hms / 60 % 60, s = hms % 60;
    char digits[19] = {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':',
                       static_cast<char>('0' + m / 10), static_cast<char>('0' + m % 10), ':',
                       static_cast<char>('0' + s / 10), static_cast<char>('0' + s % 10), '.'};
    auto v = static_cast<uint32_t>(ns);
    for (int d = 17; d >= 9; --d) {
        digits[d] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    digits[18] = 'Z';
    out.append(digits, 19);
}

std::string rfc3339_ns(int64_t wall_ns) {
    std::string out;
    append_rfc3339_ns(out, wall_ns);
    return out;
}

}  // namespace lineage
