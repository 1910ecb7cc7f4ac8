#pragma once
// Everything lineage prints about a process (argv, binary path, cwd) was
// chosen by whoever started that process, possibly an attacker. These helpers
// turn such bytes into output that cannot move the cursor, retitle the
// terminal, reorder text with bidi controls or break a JSON encoder.
//
// UTF-8 validity is strict everywhere (Unicode Table 3-7): overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated
// sequences are invalid, and each byte of such a sequence is handled on its
// own. All functions are single-pass and linear in the input size.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "argv.h"

namespace lineage {

// Printable UTF-8 passes through; backslash, controls, DEL, C1 controls,
// bidi/invisible format characters and invalid bytes become visible escapes
// (\\, \n, \t, \r, \xHH, \u{XXXX}). The result is valid UTF-8 with no byte
// below 0x20 and no 0x7f.
std::string escape_for_terminal(std::string_view bytes);

// Quotes one argv element so that it can be pasted into a POSIX shell and is
// also safe to show on a terminal. Picks the least noisy form that works:
// bare word, "double", 'single', or $'ANSI-C' when escaping is needed.
std::string shell_quote(std::string_view arg);

// shell_quote of every element, separated by single spaces.
std::string format_argv(const Argv& argv);

// Keeps at most max_bytes bytes of s without splitting a valid UTF-8
// sequence, and appends "…" (3 bytes, not counted in max_bytes) if anything
// was dropped. Truncate raw bytes first, then escape: escaping afterwards
// keeps the ellipsis readable and the escapes intact.
std::string truncate_for_display(std::string_view s, std::size_t max_bytes);

// Returns valid UTF-8: every byte that is not part of a well-formed sequence
// becomes U+FFFD. NUL bytes are kept. *replaced (if given) is set to whether
// any replacement happened.
std::string utf8_sanitize(std::string_view bytes, bool* replaced = nullptr);

// RFC 4648 base64, standard alphabet, with '=' padding.
std::string base64_encode(std::string_view bytes);

bool is_valid_utf8(std::string_view bytes);

// The length (1 to 4) of the well-formed UTF-8 sequence at bytes[i]
// (i < bytes.size()), or 0 when none starts there: the one rule the
// functions above apply, for writers that validate as they copy.
std::size_t utf8_sequence_length(std::string_view bytes, std::size_t i);

}  // namespace lineage
