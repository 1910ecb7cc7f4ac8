#pragma once
// A small JSON line writer for the export: appends to a string, fields in
// the order written, no tree built per line (the export prints hundreds of
// thousands of lines a second). Every string written is valid UTF-8: bytes
// from a journal go through bytes(), which sanitises them and keeps the
// exact bytes in base64 beside them when that changed anything.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lineage {

class JsonOut {
public:
    explicit JsonOut(std::string& out) : out_(out) {}

    void begin() {
        out_ += '{';
        first_ = true;
    }
    void end_line() { out_ += "}\n"; }

    JsonOut& key(std::string_view k);
    void object(std::string_view k) {
        key(k);
        out_ += '{';
        first_ = true;
    }
    void end_object() {
        out_ += '}';
        first_ = false;
    }
    void array(std::string_view k) {
        key(k);
        out_ += '[';
        first_ = true;
    }
    void end_array() {
        out_ += ']';
        first_ = false;
    }
    // Array elements (text, made valid UTF-8 like str()).
    void element_str(std::string_view text);

    // Text: from the journal's TEXT columns too, which a changed journal
    // may fill with any bytes, so invalid UTF-8 still becomes U+FFFD.
    void str(std::string_view k, std::string_view text);
    void num(std::string_view k, int64_t v);
    void boolean(std::string_view k, bool v) {
        key(k);
        out_ += v ? "true" : "false";
    }
    void null(std::string_view k) {
        key(k);
        out_ += "null";
    }
    // Text with a known-valid UTF-8 form, such as a hex digest or a number.
    void raw(std::string_view k, std::string_view json) {
        key(k);
        out_ += json;
    }
    // Bytes from a journal: as k, valid UTF-8 (invalid bytes become U+FFFD),
    // and when that replaced anything also k_b64, the exact bytes.
    void bytes(std::string_view k, std::string_view bytes);
    // argv (NUL separated) as an array of strings k, and k_b64 (the whole
    // raw argv) when an argument was not valid UTF-8.
    void argv(std::string_view k, std::string_view raw_argv);
    // Wall-clock ns since the epoch as RFC 3339 UTC with nanoseconds.
    void time(std::string_view k, int64_t wall_ns);

private:
    // A string value, quoted and escaped, made valid UTF-8 (invalid bytes
    // become U+FFFD); false when the bytes were not valid UTF-8.
    bool string_value(std::string_view text);
    // ,"k_b64": after a field k whose bytes were not valid UTF-8.
    void key_b64(std::string_view k);

    std::string& out_;
    bool first_ = true;
};

// RFC 3339 UTC with nanoseconds: 2026-04-22T09:00:00.123456789Z.
std::string rfc3339_ns(int64_t wall_ns);
void append_rfc3339_ns(std::string& out, int64_t wall_ns);

}  // namespace lineage
