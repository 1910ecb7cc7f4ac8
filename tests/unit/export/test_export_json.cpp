// The export's JSON writer against the writer it replaced (kept here as it
// was): byte for byte the same lines, hostile bytes included.
#include <catch2/catch.hpp>

#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "argv.h"
#include "escape.h"
#include "export_json.h"

namespace test_export_json {

using namespace lineage;

namespace {

// The previous JsonOut's string paths, verbatim: validate, sanitize when
// invalid, then escape byte by byte.
void old_quoted(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}
void old_text(std::string& out, std::string_view text) {
    old_quoted(out, is_valid_utf8(text) ? std::string(text) : utf8_sanitize(text));
}
std::string old_bytes_field(std::string_view k, std::string_view b) {
    std::string out = fmt::format("{{\"{}\":", k);
    old_text(out, b);
    if (!is_valid_utf8(b)) {
        out += fmt::format(",\"{}_b64\":", k);
        old_quoted(out, base64_encode(b));
    }
    return out + "}";
}
std::string old_argv_field(std::string_view k, std::string_view raw) {
    std::string out = fmt::format("{{\"{}\":[", k);
    bool first = true;
    for (const auto& a : split_argv(raw)) {
        if (!first) out += ',';
        first = false;
        old_text(out, a);
    }
    out += ']';
    if (!is_valid_utf8(raw)) {
        out += fmt::format(",\"{}_b64\":", k);
        old_quoted(out, base64_encode(raw));
    }
    return out + "}";
}
std::string old_time(int64_t wall_ns) {
    int64_t sec = wall_ns / 1'000'000'000;
    int64_t ns = wall_ns % 1'000'000'000;
    if (ns < 0) {
        ns += 1'000'000'000;
        sec -= 1;
    }
    const auto t = static_cast<time_t>(sec);
    struct tm tm {};
    if (!gmtime_r(&t, &tm)) return "1970-01-01T00:00:00.000000000Z";
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, ns);
}

template <class F>
std::string line(F&& write) {
    std::string out;
    JsonOut j(out);
    j.begin();
    write(j);
    j.end_object();
    return out;
}

// Hostile strings: every byte value, broken and overlong sequences,
// surrogates, code points past U+10FFFF, and random mixtures of them at
// every alignment of the 8-byte fast path.
std::vector<std::string> hostile_strings() {
    std::vector<std::string> v = {
        "",
        "plain ascii text that is longer than eight bytes",
        "quote\" backslash\\ newline\n tab\t cr\r bell\a del\x7f",
        std::string("nul\0inside", 10),
        "\xc3\xa9t\xc3\xa9 \xe2\x80\xae bidi \xf0\x9f\x98\x80 emoji",
        "\xc0\xaf overlong",
        "\xe0\x80\xaf overlong3",
        "\xed\xa0\x80 surrogate",
        "\xf4\x90\x80\x80 past max",
        "\xf5\x80\x80\x80",
        "truncated \xe2\x82",
        "\xe2\x82",
        "\x80 lone continuation",
        "\xff\xfe",
        "\xc2\x85 C1 NEL",
    };
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    v.push_back(all);
    std::mt19937 rng(1234);
    const std::string pieces[] = {"a",
                                  "bcdefgh",
                                  "\"",
                                  "\\",
                                  "\n",
                                  "\x01",
                                  "\x1f",
                                  " ",
                                  "\xc3\xa9",
                                  "\xe2\x80\xae",
                                  "\xf0\x9f\x98\x80",
                                  "\xc3",
                                  "\x80",
                                  "\xed\xa0\x80",
                                  "\xff",
                                  std::string(1, '\0')};
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 24);
        for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
        v.push_back(s);
    }
    for (int i = 0; i < 2000; ++i) {
        std::string s(rng() % 40, '\0');
        for (auto& c : s) c = static_cast<char>(rng() % 256);
        v.push_back(s);
    }
    // A huge argv: 64 KiB of arguments, one bad byte near the end.
    std::string huge;
    for (int i = 0; i < 4000; ++i) huge += fmt::format("--argument-{}=value\xc3\xa9", i) + std::string(1, '\0');
    v.push_back(huge);
    huge[huge.size() - 5] = '\xff';
    v.push_back(huge);
    return v;
}

}  // namespace

TEST_CASE("the export's JSON writer writes what the previous writer wrote, hostile bytes included", "[export][json]") {
    size_t invalid = 0;
    for (const auto& s : hostile_strings()) {
        INFO("bytes (base64): " << base64_encode(s));
        invalid += !is_valid_utf8(s);
        std::string text_expected = "{\"k\":";
        old_text(text_expected, s);
        CHECK(line([&](JsonOut& j) { j.str("k", s); }) == text_expected + "}");
        CHECK(line([&](JsonOut& j) { j.bytes("comm", s); }) == old_bytes_field("comm", s));
        CHECK(line([&](JsonOut& j) { j.argv("args", s); }) == old_argv_field("args", s));
        // Whatever the bytes, the line is JSON, and its text valid UTF-8.
        const std::string l = line([&](JsonOut& j) {
            j.bytes("b", s);
            j.argv("a", s);
        });
        CHECK(is_valid_utf8(l));
        CHECK_NOTHROW(nlohmann::json::parse(l));
    }
    CHECK(invalid > 1000);  // the random mixtures did exercise the fallback
}

TEST_CASE("the export's numbers and times are the previous writer's", "[export][json]") {
    std::mt19937_64 rng(99);
    std::vector<int64_t> values = {
        0, 1, -1, INT64_MIN, INT64_MAX, 999'999'999, 1'000'000'000, -1'000'000'000, 1'776'848'400'123'456'789};
    for (int i = 0; i < 2000; ++i) values.push_back(static_cast<int64_t>(rng()) >> (rng() % 40));
    for (int64_t v : values) {
        INFO(v);
        CHECK(line([&](JsonOut& j) { j.num("n", v); }) == fmt::format("{{\"n\":{}}}", v));
        CHECK(rfc3339_ns(v) == old_time(v));
        // Twice: the second from the writer's cache of the last second.
        CHECK(rfc3339_ns(v) == old_time(v));
        CHECK(line([&](JsonOut& j) { j.time("t", v); }) == "{\"t\":\"" + old_time(v) + "\"}");
    }
    // Consecutive times within one second and across its end.
    for (int64_t t = 1'776'848'400'999'999'000; t < 1'776'848'401'000'001'000; t += 7)
        CHECK(rfc3339_ns(t) == old_time(t));
}

}  // namespace test_export_json
