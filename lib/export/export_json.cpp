#include "export_json.h"

#include <ctime>

#include <fmt/format.h>

#include "argv.h"
#include "escape.h"

namespace lineage {

JsonOut& JsonOut::key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += k;  // keys are ours: plain ASCII
    out_ += "\":";
    return *this;
}

void JsonOut::element_str(std::string_view text) {
    if (!first_) out_ += ',';
    first_ = false;
    if (is_valid_utf8(text)) {
        quoted(text);
    } else {
        quoted(utf8_sanitize(text));
    }
}

void JsonOut::str(std::string_view k, std::string_view text) {
    key(k);
    if (is_valid_utf8(text)) {
        quoted(text);
    } else {
        quoted(utf8_sanitize(text));
    }
}

void JsonOut::num(std::string_view k, int64_t v) {
    key(k);
    fmt::format_to(std::back_inserter(out_), "{}", v);
}

void JsonOut::quoted(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    size_t run = 0;  // start of the bytes not yet copied
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out_.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\t':
                out_ += "\\t";
                break;
            case '\r':
                out_ += "\\r";
                break;
            default:
                out_ += "\\u00";
                out_ += hex[c >> 4];
                out_ += hex[c & 0xf];
        }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
}

void JsonOut::bytes(std::string_view k, std::string_view b) {
    str(k, b);
    if (is_valid_utf8(b)) return;
    key(std::string(k) + "_b64");
    quoted(base64_encode(b));
}

void JsonOut::argv(std::string_view k, std::string_view raw_argv) {
    const bool valid = is_valid_utf8(raw_argv);
    array(k);
    for (const auto& a : split_argv(raw_argv)) {
        element_str(a);
    }
    end_array();
    if (!valid) {
        key(std::string(k) + "_b64");
        quoted(base64_encode(raw_argv));
    }
}

void JsonOut::time(std::string_view k, int64_t wall_ns) {
    key(k);
    out_ += '"';
    out_ += rfc3339_ns(wall_ns);
    out_ += '"';
}

std::string rfc3339_ns(int64_t wall_ns) {
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

}  // namespace lineage
