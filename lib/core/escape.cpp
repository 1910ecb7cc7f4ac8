#include "escape.h"

#include <fmt/format.h>

#include <cstdint>

namespace lineage {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 if
// s[i] does not start one. Follows Unicode Table 3-7 exactly, so overlongs,
// surrogates and values above U+10FFFF are rejected by the second-byte ranges
// rather than by decoding first and checking afterwards.
std::size_t utf8_sequence_at(std::string_view s, std::size_t i, char32_t* cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }

    std::size_t len = 0;
    unsigned char lo = 0x80;  // allowed range of the second byte
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        len = 2;
    } else if (b0 == 0xe0) {
        len = 3;
        lo = 0xa0;
    } else if (b0 >= 0xe1 && b0 <= 0xec) {
        len = 3;
    } else if (b0 == 0xed) {
        len = 3;
        hi = 0x9f;
    } else if (b0 >= 0xee && b0 <= 0xef) {
        len = 3;
    } else if (b0 == 0xf0) {
        len = 4;
        lo = 0x90;
    } else if (b0 >= 0xf1 && b0 <= 0xf3) {
        len = 4;
    } else if (b0 == 0xf4) {
        len = 4;
        hi = 0x8f;
    } else {
        return 0;
    }

    if (s.size() - i < len) return 0;
    const unsigned char b1 = byte(i + 1);
    if (b1 < lo || b1 > hi) return 0;
    for (std::size_t k = 2; k < len; ++k) {
        const unsigned char b = byte(i + k);
        if (b < 0x80 || b > 0xbf) return 0;
    }

    char32_t value = b0 & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (std::size_t k = 1; k < len; ++k) value = (value << 6) | (byte(i + k) & 0x3f);
    *cp = value;
    return len;
}

bool is_c1_control(char32_t cp) {
    return cp >= 0x80 && cp <= 0x9f;
}

// Characters that are invisible or reorder the text around them, which is
// how "Trojan Source"-style tricks make a command line read differently from
// what runs. U+061C (ARABIC LETTER MARK) is a bidi mark like U+200E/U+200F.
bool is_bidi_or_invisible(char32_t cp) {
    return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

bool needs_escape(char32_t cp) {
    return cp < 0x20 || cp == 0x7f || is_c1_control(cp) || is_bidi_or_invisible(cp);
}

void append_hex_byte(std::string& out, unsigned char b) {
    static constexpr char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[b >> 4];
    out += digits[b & 0x0f];
}

enum class EscapeStyle {
    terminal,
    // Inside bash/zsh/ksh $'...': additionally escapes the quote, and writes
    // C1/bidi characters as their raw bytes (\xHH) because \uXXXX is only
    // decoded in a UTF-8 locale and \u{...} is not shell syntax at all.
    ansi_c_quote,
};

void append_escaped(std::string& out, std::string_view bytes, EscapeStyle style) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        char32_t cp = 0;
        const std::size_t len = utf8_sequence_at(bytes, i, &cp);
        if (len == 0) {
            append_hex_byte(out, static_cast<unsigned char>(bytes[i]));
            ++i;
            continue;
        }

        if (cp == '\\') {
            out += "\\\\";
        } else if (cp == '\'' && style == EscapeStyle::ansi_c_quote) {
            out += "\\'";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp < 0x20 || cp == 0x7f) {
            append_hex_byte(out, static_cast<unsigned char>(cp));
        } else if (is_c1_control(cp) || is_bidi_or_invisible(cp)) {
            if (style == EscapeStyle::terminal) {
                out += fmt::format("\\u{{{:04X}}}", static_cast<std::uint32_t>(cp));
            } else {
                for (std::size_t k = 0; k < len; ++k) {
                    append_hex_byte(out, static_cast<unsigned char>(bytes[i + k]));
                }
            }
        } else {
            out.append(bytes.substr(i, len));
        }
        i += len;
    }
}

// True if escape_for_terminal would change anything other than a backslash;
// such strings cannot be shown safely inside plain shell quotes.
bool has_unprintable(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        char32_t cp = 0;
        const std::size_t len = utf8_sequence_at(bytes, i, &cp);
        if (len == 0 || needs_escape(cp)) return true;
        i += len;
    }
    return false;
}

bool is_shell_safe_char(char c) {
    if (c >= 'a' && c <= 'z') return true;
    if (c >= 'A' && c <= 'Z') return true;
    if (c >= '0' && c <= '9') return true;
    switch (c) {
        case '_':
        case '@':
        case '%':
        case '+':
        case '=':
        case ':':
        case ',':
        case '.':
        case '/':
        case '-':
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string escape_for_terminal(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    append_escaped(out, bytes, EscapeStyle::terminal);
    return out;
}

std::string shell_quote(std::string_view arg) {
    if (arg.empty()) return "''";

    bool all_safe = true;
    for (char c : arg) {
        if (!is_shell_safe_char(c)) {
            all_safe = false;
            break;
        }
    }
    if (all_safe) return std::string(arg);

    std::string out;
    out.reserve(arg.size() + 3);

    if (has_unprintable(arg)) {
        out += "$'";
        append_escaped(out, arg, EscapeStyle::ansi_c_quote);
        out += '\'';
        return out;
    }

    // '!' is excluded because interactive bash expands history inside "...".
    if (arg.find_first_of("\"$`\\!") == std::string_view::npos) {
        out += '"';
        out.append(arg);
        out += '"';
        return out;
    }

    out += '\'';
    for (char c : arg) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string format_argv(const Argv& argv) {
    std::string out;
    bool first = true;
    for (std::string_view a : argv) {
        if (!first) out += ' ';
        first = false;
        out += shell_quote(a);
    }
    return out;
}

std::string truncate_for_display(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) return std::string(s);

    // Walk forward by whole sequences so that a valid character straddling
    // the limit is dropped entirely; invalid bytes count as one unit each.
    std::size_t cut = 0;
    while (cut < s.size()) {
        char32_t cp = 0;
        std::size_t len = utf8_sequence_at(s, cut, &cp);
        if (len == 0) len = 1;
        if (cut + len > max_bytes) break;
        cut += len;
    }

    std::string out;
    out.reserve(cut + 3);
    out.append(s.substr(0, cut));
    out += "\xe2\x80\xa6";  // U+2026 HORIZONTAL ELLIPSIS
    return out;
}

std::string utf8_sanitize(std::string_view bytes, bool* replaced) {
    std::string out;
    out.reserve(bytes.size());
    bool any = false;
    std::size_t i = 0;
    while (i < bytes.size()) {
        char32_t cp = 0;
        const std::size_t len = utf8_sequence_at(bytes, i, &cp);
        if (len == 0) {
            out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
            any = true;
            ++i;
            continue;
        }
        out.append(bytes.substr(i, len));
        i += len;
    }
    if (replaced != nullptr) *replaced = any;
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out += alphabet[(v >> 18) & 0x3f];
        out += alphabet[(v >> 12) & 0x3f];
        out += alphabet[(v >> 6) & 0x3f];
        out += alphabet[v & 0x3f];
    }

    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        out += alphabet[(v >> 18) & 0x3f];
        out += alphabet[(v >> 12) & 0x3f];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8);
        out += alphabet[(v >> 18) & 0x3f];
        out += alphabet[(v >> 12) & 0x3f];
        out += alphabet[(v >> 6) & 0x3f];
        out += '=';
    }
    return out;
}

bool is_valid_utf8(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size()) {
        char32_t cp = 0;
        const std::size_t len = utf8_sequence_at(bytes, i, &cp);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::size_t utf8_sequence_length(std::string_view bytes, std::size_t i) {
    char32_t cp = 0;
    return utf8_sequence_at(bytes, i, &cp);
}

}  // namespace lineage
