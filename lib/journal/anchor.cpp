#include "anchor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "timeexpr.h"

namespace lineage {

namespace {
// Anchor fields are space separated key=value words: bytes that would break
// that (space, controls, '%', non-ASCII) are percent-encoded.
std::string anchor_word(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c <= 0x20 || c >= 0x7f || c == '%') {
            out += fmt::format("%{:02X}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out.empty() ? "-" : out;
}

std::string anchor_unword(std::string_view s) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && nibble(s[i + 1]) >= 0 && nibble(s[i + 2]) >= 0) {
            out += static_cast<char>(nibble(s[i + 1]) << 4 | nibble(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}
}  // namespace

std::string format_anchor_line(int64_t wall_ns, std::string_view node, std::string_view boot_id, int64_t batch,
                               const Hash& hash, std::string_view journal, std::string_view refused) {
    std::string line = fmt::format("lineage-anchor {} node={} boot={} batch={} hash={}", format_rfc3339_ns(wall_ns),
                                   anchor_word(node), anchor_word(boot_id), batch, to_hex(hash));
    if (!refused.empty()) line += fmt::format(" journal={} refused={}", anchor_word(journal), anchor_word(refused));
    return line;
}

Result<Anchor> parse_anchor(std::string_view text) {
    Anchor a;
    a.input = std::string(text);
    // Trailing newline or spaces from a copied log line are not part of it.
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    auto bad = [&]() {
        return Error{fmt::format("'{}' is neither a 64-digit hex hash nor a 'lineage-anchor ... hash=HEX' line",
                                 std::string(text.substr(0, 200)))};
    };
    if (auto h = hash_from_hex(text)) {
        a.hash = *h;
        return a;
    }
    if (text.substr(0, 15) != "lineage-anchor ") return bad();
    bool have_hash = false;
    size_t pos = 15;
    bool first = true;
    while (pos < text.size()) {
        size_t end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view word = text.substr(pos, end - pos);
        pos = end + 1;
        if (word.empty()) continue;
        size_t eq = word.find('=');
        if (eq == std::string_view::npos) {
            if (first) a.time = std::string(word);
            first = false;
            continue;
        }
        first = false;
        std::string_view key = word.substr(0, eq), value = word.substr(eq + 1);
        if (key == "hash") {
            auto h = hash_from_hex(value);
            if (!h) return bad();
            a.hash = *h;
            have_hash = true;
        } else if (key == "batch") {
            int64_t n = 0;
            if (value.empty() || value.size() > 18) return bad();
            for (char c : value) {
                if (c < '0' || c > '9') return bad();
                n = n * 10 + (c - '0');
            }
            a.batch = n;
        } else if (key == "node") {
            a.node = anchor_unword(value);
        } else if (key == "boot") {
            a.boot_id = anchor_unword(value);
        } else if (key == "journal") {
            a.journal = anchor_unword(value);
        } else if (key == "refused") {
            a.refused = anchor_unword(value);
        }
    }
    if (!have_hash) return bad();
    return a;
}

Result<AnchorLog> AnchorLog::open(const std::string& path) {
    AnchorLog log;
    log.path_ = path;
    log.fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!log.fd_) return Error{fmt::format("{}: cannot open for appending: {}", path, std::strerror(errno))};
    return log;
}

Status AnchorLog::write(const std::string& line) {
    const std::string text = line + "\n";
    const int fd = fd_ ? fd_.get() : STDERR_FILENO;
    ssize_t n;
    do {
        n = ::write(fd, text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(text.size())) {
        return Error{fmt::format("{}: cannot write anchor: {}", fd_ ? path_ : std::string("stderr"),
                                 n < 0 ? std::strerror(errno) : "short write")};
    }
    return Ok{};
}

}  // namespace lineage
