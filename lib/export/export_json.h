#pragma once
// A small JSON line writer for the export: appends to a string, fields in
// the order written, no tree built per line (the export prints hundreds of
// thousands of lines a second). Every string written is valid UTF-8: bytes
// from a journal go through bytes(), which sanitises them and keeps the
// exact bytes in base64 beside them when that changed anything.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace lineage {

class JsonOut {
public:
    explicit JsonOut(std::string& out) : out_(out) {}

    void begin() {
        out_ += '{';
        first_ = true;
    }
    void end_line() { out_ += "}\n"; }

    // Keys are ours (plain ASCII, short, mostly literals): inline, so that
    // a literal's length is known where it is written, and one append for
    // the separator, the key, its colon and `tail`, the first bytes of its
    // value (a number, a '{', an opening quote).
    JsonOut& key(std::string_view k, std::string_view tail = {}) {
        char buf[96];
        if (k.size() + tail.size() + 4 > sizeof buf) return long_key(k, tail);
        size_t n = 0;
        if (!first_) buf[n++] = ',';
        first_ = false;
        buf[n++] = '"';
        std::memcpy(buf + n, k.data(), k.size());
        n += k.size();
        buf[n++] = '"';
        buf[n++] = ':';
        // No memcpy from an empty view: its data() may be null.
        if (!tail.empty()) std::memcpy(buf + n, tail.data(), tail.size());
        n += tail.size();
        out_.append(buf, n);
        return *this;
    }
    // Fields written once and kept (`"a":1,"b":"x"`, as this writer wrote
    // them into another string): the part every line of a run repeats.
    void fields(std::string_view json) {
        if (!first_) out_ += ',';
        first_ = false;
        out_.append(json);
    }
    void object(std::string_view k) {
        key(k, "{");
        first_ = true;
    }
    void end_object() {
        out_ += '}';
        first_ = false;
    }
    void array(std::string_view k) {
        key(k, "[");
        first_ = true;
    }
    void end_array() {
        out_ += ']';
        first_ = false;
    }
    // An object as an array element; end it with end_object().
    void element_object() {
        out_ += first_ ? "{" : ",{";
        first_ = true;
    }
    // Array elements (text, made valid UTF-8 like str()).
    void element_str(std::string_view text);
    // An array element that is one of our own constants, as lit().
    void element_lit(std::string_view text) {
        char buf[64];
        if (text.size() + 3 > sizeof buf) return element_str(text);
        buf[0] = ',';
        const size_t sep = first_ ? 0 : 1;
        first_ = false;
        out_.append(buf, sep + quoted(buf + sep, text));
    }

    // Text: from the journal's TEXT columns too, which a changed journal
    // may fill with any bytes, so invalid UTF-8 still becomes U+FFFD.
    void str(std::string_view k, std::string_view text) {
        key(k, "\"");
        string_value_open(text);
    }
    // Text that is one of our own constants (plain ASCII with nothing to
    // escape: a kind, an ECS category): written as it is.
    void lit(std::string_view k, std::string_view text) {
        char buf[64];
        if (text.size() + 2 > sizeof buf) return str(k, text);
        key(k, std::string_view(buf, quoted(buf, text)));
    }
    void num(std::string_view k, int64_t v) {
        const fmt::format_int f(v);
        key(k, std::string_view(f.data(), f.size()));
    }
    void boolean(std::string_view k, bool v) { key(k, v ? "true" : "false"); }
    void null(std::string_view k) { key(k, "null"); }
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
    // "text" into buf (room for text.size() + 2 bytes); its length.
    static size_t quoted(char* buf, std::string_view text) {
        buf[0] = '"';
        std::memcpy(buf + 1, text.data(), text.size());
        buf[text.size() + 1] = '"';
        return text.size() + 2;
    }
    JsonOut& long_key(std::string_view k, std::string_view tail);
    // A string value, quoted and escaped, made valid UTF-8 (invalid bytes
    // become U+FFFD); false when the bytes were not valid UTF-8.
    bool string_value(std::string_view text);
    // The same after its opening quote, written already.
    bool string_value_open(std::string_view text);
    // ,"k_b64": after a field k whose bytes were not valid UTF-8.
    void key_b64(std::string_view k);

    std::string& out_;
    bool first_ = true;
};

// RFC 3339 UTC with nanoseconds: 2026-04-22T09:00:00.123456789Z.
std::string rfc3339_ns(int64_t wall_ns);
void append_rfc3339_ns(std::string& out, int64_t wall_ns);

}  // namespace lineage
