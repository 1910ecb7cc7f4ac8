#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "escape.h"

namespace test_escape {

using namespace std::string_literals;
using lineage::base64_encode;
using lineage::escape_for_terminal;
using lineage::format_argv;
using lineage::is_valid_utf8;
using lineage::shell_quote;
using lineage::truncate_for_display;
using lineage::utf8_sanitize;

namespace {

struct Case {
    std::string input;
    std::string expected;
};

// UTF-8 encodings of the characters that must never reach a terminal raw.
std::vector<std::string> forbidden_encodings() {
    std::vector<std::string> out;
    for (int b = 0x80; b <= 0x9f; ++b) out.push_back("\xc2"s + static_cast<char>(b));  // C1
    const std::vector<unsigned> invisible = {0x061c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b,
                                             0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0xfeff};
    for (unsigned cp : invisible) {
        std::string s;
        if (cp < 0x800) {
            s += static_cast<char>(0xc0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            s += static_cast<char>(0xe0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
        out.push_back(s);
    }
    return out;
}

bool has_raw_control(const std::string& s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

// One REQUIRE per property rather than per byte: these run on megabytes.
void require_terminal_safe(const std::string& out) {
    static const std::vector<std::string> forbidden = forbidden_encodings();
    INFO("output (escaped again): " << escape_for_terminal(out.substr(0, 200)));
    REQUIRE_FALSE(has_raw_control(out));
    REQUIRE(is_valid_utf8(out));
    bool has_forbidden = false;
    for (const auto& bad : forbidden) has_forbidden = has_forbidden || out.find(bad) != std::string::npos;
    REQUIRE_FALSE(has_forbidden);
}

// Hostile strings built from fragments that exercise every branch, rather
// than uniform random bytes which almost never form bidi controls.
std::string random_hostile(std::mt19937& rng) {
    static const std::vector<std::string> fragments = {
        "a",
        "Z",
        " ",
        "'",
        "\"",
        "\\",
        "$",
        "`",
        "!",
        "\n",
        "\t",
        "\r",
        "\x1b",
        "\x7f",
        "\0"s,
        "\x1b]0;pwned\x07",
        "\x1b[2J",
        "\xc2\x85",
        "\xc2\x9b",
        "\xc2\xa0",
        "\xe2\x80\xae",
        "\xe2\x81\xa6",
        "\xef\xbb\xbf",
        "\xe2\x80\x8b",
        "\xd8\x9c",
        "\xc3\xa9",
        "\xe6\x97\xa5",
        "\xf0\x9f\x98\x80",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe6\x97",
        "\xf0\x9f",
        "\x80",
        "\xff",
        "\xfe",
    };
    std::uniform_int_distribution<std::size_t> count_dist(0, 12);
    std::uniform_int_distribution<std::size_t> frag_dist(0, fragments.size());
    std::uniform_int_distribution<int> byte_dist(0, 255);
    std::string s;
    const std::size_t n = count_dist(rng);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = frag_dist(rng);
        if (k == fragments.size()) {
            s += static_cast<char>(byte_dist(rng));  // a raw random byte now and then
        } else {
            s += fragments[k];
        }
    }
    return s;
}

}  // namespace

TEST_CASE("escape_for_terminal: table", "[escape]") {
    const std::vector<Case> cases = {
        {"", ""},
        {"hello world", "hello world"},
        {"/usr/bin/curl -fsSL", "/usr/bin/curl -fsSL"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},                            // é
        {"\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"},  // 日本
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},                  // emoji, 4 bytes
        {"\xc2\xa0", "\xc2\xa0"},                                  // NBSP is printable, just after C1
        {"\xe2\x80\x90", "\xe2\x80\x90"},                          // U+2010, just after U+200F
        {"\xe2\x80\xaf", "\xe2\x80\xaf"},                          // U+202F, just after U+202E
        {"a\\b", "a\\\\b"},
        {"\n\t\r", "\\n\\t\\r"},
        {"\0"s, "\\x00"},
        {"a\0b"s, "a\\x00b"},
        {"\x01\x1f", "\\x01\\x1f"},
        {"\x7f", "\\x7f"},
        {"\x1b[31mred", "\\x1b[31mred"},
        {"\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"},
        {"\x1b"
         "b",
         "\\x1bb"},
        {"\xc0\xaf", "\\xc0\\xaf"},           // overlong '/'
        {"\xc1\xbf", "\\xc1\\xbf"},           // overlong
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},  // overlong 3-byte
        {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},           // surrogate U+D800
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},           // surrogate U+DFFF
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},  // U+110000
        {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},
        {"\xff\xfe", "\\xff\\xfe"},
        {"\x80", "\\x80"},               // lone continuation byte
        {"ok\xe6\x97", "ok\\xe6\\x97"},  // truncated at end
        {"ok\xf0\x9f\x98", "ok\\xf0\\x9f\\x98"},
        {"\xc3"
         "A",
         "\\xc3A"},  // lead byte followed by ASCII
        {"\xe2\x28\xa1", "\\xe2(\\xa1"},
        {"\xc2\x80", "\\u{0080}"},
        {"\xc2\x85", "\\u{0085}"},  // NEL
        {"\xc2\x9b"
         "2J",
         "\\u{009B}2J"},  // 8-bit CSI
        {"\xc2\x9f", "\\u{009F}"},
        {"\xe2\x80\x8b", "\\u{200B}"},
        {"\xe2\x80\x8f", "\\u{200F}"},
        {"\xe2\x80\xaa", "\\u{202A}"},
        {"invoice\xe2\x80\xaetxt.exe", "invoice\\u{202E}txt.exe"},
        {"\xe2\x81\xa6", "\\u{2066}"},
        {"\xe2\x81\xa9", "\\u{2069}"},
        {"\xef\xbb\xbf", "\\u{FEFF}"},
        {"\xd8\x9c", "\\u{061C}"},
    };
    for (const auto& c : cases) {
        INFO("input: " << escape_for_terminal(c.input));
        CHECK(escape_for_terminal(c.input) == c.expected);
    }
}

TEST_CASE("escape_for_terminal: every single byte", "[escape]") {
    for (int b = 0; b <= 0xff; ++b) {
        const std::string in(1, static_cast<char>(b));
        std::string expected;
        if (b == '\\') {
            expected = "\\\\";
        } else if (b == '\n') {
            expected = "\\n";
        } else if (b == '\t') {
            expected = "\\t";
        } else if (b == '\r') {
            expected = "\\r";
        } else if (b >= 0x20 && b < 0x7f) {
            expected = in;
        } else {
            // Controls, DEL, and every byte >= 0x80 (never valid UTF-8 alone).
            expected = fmt::format("\\x{:02x}", b);
        }
        INFO("byte " << b);
        REQUIRE(escape_for_terminal(in) == expected);
        require_terminal_safe(escape_for_terminal(in));
    }
}

TEST_CASE("escape_for_terminal and shell_quote: output is always terminal safe", "[escape]") {
    std::mt19937 rng(12345);
    for (int i = 0; i < 5000; ++i) {
        const std::string s = random_hostile(rng);
        require_terminal_safe(escape_for_terminal(s));
        require_terminal_safe(shell_quote(s));
        // Valid input without anything to escape is returned byte for byte.
        if (is_valid_utf8(s) && s.find_first_of("\\\n\t\r"s) == std::string::npos) {
            bool clean = !has_raw_control(s);
            for (const auto& bad : forbidden_encodings()) clean = clean && s.find(bad) == std::string::npos;
            if (clean) REQUIRE(escape_for_terminal(s) == s);
        }
    }
}

TEST_CASE("shell_quote: table", "[escape]") {
    const std::vector<Case> cases = {
        {"", "''"},
        {"ls", "ls"},
        {"-la", "-la"},
        {"/usr/bin/curl", "/usr/bin/curl"},
        {"a_b@c%d+e=f:g,h.i/j-k", "a_b@c%d+e=f:g,h.i/j-k"},
        {"curl http://x | sh", "\"curl http://x | sh\""},
        {"it's", "\"it's\""},
        {"a b", "\"a b\""},
        {"*", "\"*\""},
        {"~root", "\"~root\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        {"$HOME", "'$HOME'"},
        {"`id`", "'`id`'"},
        {"echo hi!", "'echo hi!'"},
        {"say \"hi\"", "'say \"hi\"'"},
        {"C:\\temp", "'C:\\temp'"},
        {"it's $x", "'it'\\''s $x'"},
        {"''", "\"''\""},
        {"a\x1b"
         "b",
         "$'a\\x1bb'"},
        {"line1\nline2", "$'line1\\nline2'"},
        {"it's\n", "$'it\\'s\\n'"},
        {"a\\b\t", "$'a\\\\b\\t'"},
        {"$x\n", "$'$x\\n'"},
        {"\x1b]0;pwned\x07", "$'\\x1b]0;pwned\\x07'"},
        {"\xff", "$'\\xff'"},
        {"\xc0\xaf", "$'\\xc0\\xaf'"},
        {"\xc2\x85", "$'\\xc2\\x85'"},
        // Raw bytes rather than \u202E: bash decodes \u only in UTF-8 locales.
        {"invoice\xe2\x80\xaetxt.exe", "$'invoice\\xe2\\x80\\xaetxt.exe'"},
        {"caf\xc3\xa9\x07", "$'caf\xc3\xa9\\x07'"},
    };
    for (const auto& c : cases) {
        INFO("input: " << escape_for_terminal(c.input));
        CHECK(shell_quote(c.input) == c.expected);
    }
}

TEST_CASE("format_argv", "[escape]") {
    CHECK(format_argv({}) == "");
    CHECK(format_argv({""}) == "''");
    CHECK(format_argv({"ls", "-la", "/tmp/a b"}) == "ls -la \"/tmp/a b\"");
    CHECK(format_argv({"sh", "-c", "curl http://x | sh"}) == "sh -c \"curl http://x | sh\"");
    CHECK(format_argv({"echo", "$HOME", "", "a\nb"}) == "echo '$HOME' '' $'a\\nb'");
}

TEST_CASE("shell_quote: bash reads back the exact bytes", "[escape][shell]") {
    if (access("/bin/bash", X_OK) != 0) {
        WARN("no /bin/bash, skipping");
        return;
    }
    std::vector<std::string> args = {
        "",
        "plain",
        "a b",
        "it's",
        "$HOME",
        "`id`",
        "hi!",
        "a\\b",
        "say \"hi\"",
        "it's $x \\ \" `",
        "a\x1b"
        "b",
        "\x1b]0;pwned\x07",
        "line1\nline2\r\t",
        "\xff\xfe",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "caf\xc3\xa9",
        "invoice\xe2\x80\xaetxt.exe",
        "\xc2\x85",
        "\x7f",
        "\x01\\x01'\"",
    };
    std::mt19937 rng(777);
    for (int i = 0; i < 200; ++i) {
        std::string s = random_hostile(rng);
        // argv elements cannot contain NUL; bash would cut there too.
        std::erase(s, '\0');
        args.push_back(s);
    }

    char path[] = "/tmp/lineage_test_quote_XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string script = "printf '%s\\0' " + format_argv(lineage::Argv(args)) + "\n";
    REQUIRE(write(fd, script.data(), script.size()) == static_cast<ssize_t>(script.size()));
    close(fd);

    // C locale on purpose: the quoting must not depend on the reader's locale.
    FILE* p = popen(fmt::format("LC_ALL=C /bin/bash {}", path).c_str(), "r");
    REQUIRE(p != nullptr);
    std::string output;
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
    REQUIRE(pclose(p) == 0);
    unlink(path);

    std::vector<std::string> got;
    std::size_t start = 0;
    for (std::size_t i = 0; i < output.size(); ++i) {
        if (output[i] == '\0') {
            got.push_back(output.substr(start, i - start));
            start = i + 1;
        }
    }
    REQUIRE(got.size() == args.size());
    for (std::size_t i = 0; i < args.size(); ++i) {
        INFO("arg " << i << ": " << shell_quote(args[i]));
        CHECK(got[i] == args[i]);
    }
}

TEST_CASE("truncate_for_display", "[escape]") {
    const std::string ell = "\xe2\x80\xa6";
    CHECK(truncate_for_display("hello", 10) == "hello");
    CHECK(truncate_for_display("hello", 5) == "hello");
    CHECK(truncate_for_display("hello", 4) == "hell" + ell);
    CHECK(truncate_for_display("hello", 0) == ell);
    CHECK(truncate_for_display("", 0) == "");
    CHECK(truncate_for_display("h\xc3\xa9llo", 1) == "h" + ell);
    CHECK(truncate_for_display("h\xc3\xa9llo", 2) == "h" + ell);  // never half of é
    CHECK(truncate_for_display("h\xc3\xa9llo", 3) == "h\xc3\xa9" + ell);
    CHECK(truncate_for_display("\xe6\x97\xa5\xe6\x9c\xac", 4) == "\xe6\x97\xa5" + ell);
    CHECK(truncate_for_display("\xe6\x97\xa5\xe6\x9c\xac", 5) == "\xe6\x97\xa5" + ell);
    CHECK(truncate_for_display("\xf0\x9f\x98\x80!", 3) == ell);
    // Invalid bytes are single units and may be cut between.
    CHECK(truncate_for_display("\xff\xfe\xfd", 2) == "\xff\xfe" + ell);
    CHECK(truncate_for_display("a\xe6\x97"
                               "b",
                               2) == "a\xe6" + ell);

    const std::string big(1 << 20, 'a');
    const std::string cut = truncate_for_display(big, 100);
    CHECK(cut == std::string(100, 'a') + ell);

    std::mt19937 rng(99);
    std::uniform_int_distribution<std::size_t> max_dist(0, 40);
    for (int i = 0; i < 3000; ++i) {
        const std::string s = random_hostile(rng);
        const std::size_t max = max_dist(rng);
        const std::string out = truncate_for_display(s, max);
        if (s.size() <= max) {
            REQUIRE(out == s);
            continue;
        }
        REQUIRE(out.size() >= 3);
        REQUIRE(out.compare(out.size() - 3, 3, ell) == 0);
        const std::string kept = out.substr(0, out.size() - 3);
        REQUIRE(kept.size() <= max);
        REQUIRE(s.compare(0, kept.size(), kept) == 0);
        if (is_valid_utf8(s)) REQUIRE(is_valid_utf8(out));
    }
}

TEST_CASE("utf8_sanitize", "[escape]") {
    const std::string fffd = "\xef\xbf\xbd";
    struct SanCase {
        std::string input;
        std::string expected;
        bool replaced;
    };
    const std::vector<SanCase> cases = {
        {"", "", false},
        {"abc", "abc", false},
        {"a\0b"s, "a\0b"s, false},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80", false},
        {"\x1b[0m", "\x1b[0m", false},  // controls are valid UTF-8; escaping is a separate step
        {"\xc0\xaf", fffd + fffd, true},
        {"\xed\xa0\x80", fffd + fffd + fffd, true},
        {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd, true},
        {"a\xe6\x97", "a" + fffd + fffd, true},
        {"\xff"
         "x",
         fffd + "x", true},
        {"\xe2\x28\xa1", fffd + "(" + fffd, true},
    };
    for (const auto& c : cases) {
        INFO("input: " << escape_for_terminal(c.input));
        bool replaced = !c.replaced;
        CHECK(utf8_sanitize(c.input, &replaced) == c.expected);
        CHECK(replaced == c.replaced);
        CHECK(utf8_sanitize(c.input) == c.expected);  // null flag pointer is fine
    }

    std::mt19937 rng(4242);
    for (int i = 0; i < 5000; ++i) {
        const std::string s = random_hostile(rng);
        bool replaced = false;
        const std::string out = utf8_sanitize(s, &replaced);
        REQUIRE(is_valid_utf8(out));
        REQUIRE(replaced == !is_valid_utf8(s));
        if (!replaced) REQUIRE(out == s);
    }
}

TEST_CASE("is_valid_utf8: boundaries of Unicode table 3-7", "[escape]") {
    const std::vector<std::string> valid = {
        "",
        "\0"s,
        "\x7f",
        "\xc2\x80",
        "\xdf\xbf",
        "\xe0\xa0\x80",
        "\xe0\xbf\xbf",
        "\xe1\x80\x80",
        "\xec\xbf\xbf",
        "\xed\x80\x80",
        "\xed\x9f\xbf",
        "\xee\x80\x80",
        "\xef\xbf\xbf",
        "\xf0\x90\x80\x80",
        "\xf0\xbf\xbf\xbf",
        "\xf1\x80\x80\x80",
        "\xf3\xbf\xbf\xbf",
        "\xf4\x80\x80\x80",
        "\xf4\x8f\xbf\xbf",
    };
    const std::vector<std::string> invalid = {
        "\x80",
        "\xbf",
        "\xc0\x80",
        "\xc1\xbf",
        "\xc2",
        "\xc2\x7f",
        "\xc2\xc0",
        "\xe0\x9f\xbf",
        "\xe0\xa0",
        "\xed\xa0\x80",
        "\xed\xbf\xbf",
        "\xf0\x8f\xbf\xbf",
        "\xf0\x90\x80",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xfe",
        "\xff",
        "ok\xc3",
    };
    for (const auto& s : valid) {
        INFO(escape_for_terminal(s));
        CHECK(is_valid_utf8(s));
    }
    for (const auto& s : invalid) {
        INFO(escape_for_terminal(s));
        CHECK_FALSE(is_valid_utf8(s));
    }
}

TEST_CASE("base64_encode: RFC 4648 vectors", "[escape]") {
    const std::vector<Case> cases = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\0"s, "AA=="},
        {"\xff\xfe\xfd", "//79"},
        {"\xfb\xff", "+/8="},
        {"\x1b]0;pwned\x07", "G10wO3B3bmVkBw=="},
    };
    for (const auto& c : cases) {
        INFO("input: " << escape_for_terminal(c.input));
        CHECK(base64_encode(c.input) == c.expected);
    }
}

TEST_CASE("1 MiB hostile inputs", "[escape]") {
    const std::size_t mib = 1 << 20;

    const std::string escs(mib, '\x1b');
    const std::string escaped = escape_for_terminal(escs);
    REQUIRE(escaped.size() == 4 * mib);
    REQUIRE(escaped.compare(0, 8, "\\x1b\\x1b") == 0);

    const std::string quoted = shell_quote(escs);
    REQUIRE(quoted.size() == 4 * mib + 3);

    std::string bidi;
    while (bidi.size() < mib) bidi += "\xe2\x80\xae";
    REQUIRE(escape_for_terminal(bidi).size() == bidi.size() / 3 * 8);

    std::mt19937 rng(1);
    std::uniform_int_distribution<int> byte_dist(0, 255);
    std::string noise(mib, '\0');
    for (auto& c : noise) c = static_cast<char>(byte_dist(rng));
    require_terminal_safe(escape_for_terminal(noise));
    REQUIRE(is_valid_utf8(utf8_sanitize(noise)));
    REQUIRE(base64_encode(noise).size() == (mib + 2) / 3 * 4);
    REQUIRE(truncate_for_display(noise, 4096).size() <= 4096 + 3);

    std::string all_truncated;
    while (all_truncated.size() < mib) all_truncated += "\xf0\x9f\x98";
    REQUIRE_FALSE(is_valid_utf8(all_truncated));
    REQUIRE(utf8_sanitize(all_truncated).size() == all_truncated.size() * 3);
}

}  // namespace test_escape
