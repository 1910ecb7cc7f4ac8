#include "hashchain.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "timeexpr.h"

namespace lineage {

const char* table_name(ChainTable t) {
    switch (t) {
        case ChainTable::runs:
            return "runs";
        case ChainTable::clock_samples:
            return "clock_samples";
        case ChainTable::snapshot:
            return "snapshot";
        case ChainTable::pods:
            return "pods";
        case ChainTable::fork:
            return "fork";
        case ChainTable::exec:
            return "exec";
        case ChainTable::exit:
            return "exit";
        case ChainTable::connect:
            return "connect";
        case ChainTable::loss:
            return "loss";
        case ChainTable::run_stops:
            return "run_stops";
        case ChainTable::prunes:
            return "prunes";
    }
    return "?";
}

const char* chain_columns(ChainTable t) {
    switch (t) {
        case ChainTable::runs:
            return "run_id, boot_id, node, started_ns, started_wall_ns, version, kernel, hooks, filters, argv_cap, "
                   "clk_tck, recorder_pid";
        case ChainTable::clock_samples:
            return "run_id, boot_ns, wall_ns";
        case ChainTable::snapshot:
            return "time_ns, tgid, nspid, ppid, start_ns, uid, gid, euid, comm, exe, argv, cgroup_path, pod_uid, "
                   "nodename";
        case ChainTable::pods:
            return "pod_uid, name, namespace, source";
        case ChainTable::fork:
            return "time_ns, parent_tgid, parent_start_ns, child_tgid, child_start_ns, parent_comm";
        case ChainTable::exec:
            return "time_ns, tgid, start_ns, nspid, old_tid, uid, gid, euid, parent_tgid, parent_start_ns, "
                   "parent_comm, comm, nodename, cgroup_id, cgroup_path, pod_uid, binary, argv, truncated";
        case ChainTable::exit:
            return "time_ns, tgid, start_ns, code, signal, core_dumped, comm";
        case ChainTable::connect:
            return "time_ns, outcome_ns, tgid, start_ns, family, saddr, sport, daddr, dport, result";
        case ChainTable::loss:
            return "from_ns, to_ns, count, reason";
        case ChainTable::run_stops:
            return "run_id, stopped_ns, stopped_wall_ns, reason, events, lost";
        case ChainTable::prunes:
            return "through_batch, through_hash, through_wall_ns, rows, kept_digest, reason";
    }
    return "";
}

bool counts_in_row_count(ChainTable t) {
    return t != ChainTable::runs && t != ChainTable::clock_samples && t != ChainTable::run_stops &&
           t != ChainTable::prunes;
}

bool kept_when_pruned(ChainTable t) {
    return t == ChainTable::runs || t == ChainTable::clock_samples || t == ChainTable::pods ||
           t == ChainTable::run_stops || t == ChainTable::prunes;
}

Sha256::Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    // Without SHA-256 nothing in the chain can work: this is a broken
    // OpenSSL installation, not a condition to recover from.
    if (!md_ || !ctx_) throw std::runtime_error("OpenSSL: SHA-256 is not available");
}

void Sha256::begin() {
    EVP_DigestInit_ex(ctx_.get(), md_.get(), nullptr);
}

Hash Sha256::finish() {
    Hash h{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), h.data(), &n);
    return h;
}

void RowEncoder::real(double v) {
    buf_.push_back(static_cast<char>(kReal));
    uint64_t bits = 0;
    static_assert(sizeof(bits) == sizeof(v));
    std::memcpy(&bits, &v, sizeof(bits));
    put_u64(bits);
}

BatchHasher::BatchHasher() {
    for (auto& d : digests_) d.reserve(256);
}

void BatchHasher::clear() {
    for (auto& d : digests_) d.clear();  // keeps the capacity
}

const Hash& BatchHasher::add_row(ChainTable t, std::string_view encoded) {
    auto& list = digests_[table_index(t)];
    list.push_back(row_sha_.digest(encoded));
    return list.back();
}

namespace {
void put_be(uint8_t* out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v & 0xff);
}
}  // namespace

Hash BatchHasher::link(const Hash& prev, const BatchHeader& header) {
    batch_sha_.begin();
    batch_sha_.update(kChainVersionTag);
    batch_sha_.update(prev.data(), prev.size());
    uint8_t head[32];
    put_be(head, static_cast<uint64_t>(header.batch_id), 8);
    put_be(head + 8, static_cast<uint64_t>(header.run_id), 8);
    put_be(head + 16, static_cast<uint64_t>(header.committed_ns), 8);
    put_be(head + 24, static_cast<uint64_t>(header.row_count), 8);
    batch_sha_.update(head, sizeof(head));
    for (size_t i = 0; i < kChainTableCount; ++i) {
        if (i >= kChainTablesAlwaysLinked && digests_[i].empty()) continue;
        uint8_t t[5];
        t[0] = static_cast<uint8_t>(table_at(i));
        put_be(t + 1, digests_[i].size(), 4);
        batch_sha_.update(t, sizeof(t));
        // Hash is a plain byte array: the vector's storage is the
        // concatenation of the digests.
        static_assert(sizeof(Hash) == kHashSize);
        if (!digests_[i].empty()) batch_sha_.update(digests_[i].data(), digests_[i].size() * kHashSize);
    }
    return batch_sha_.finish();
}

void BatchHasher::row_marks(std::string& out) const {
    out.clear();
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const auto& list = digests_[i];
        if (list.empty()) continue;
        uint8_t t[5];
        t[0] = static_cast<uint8_t>(table_at(i));
        put_be(t + 1, list.size(), 4);
        out.append(reinterpret_cast<const char*>(t), sizeof(t));
        for (const auto& d : list) out.append(reinterpret_cast<const char*>(d.data()), kRowMarkSize);
    }
}

Result<RowMarks> parse_row_marks(std::string_view blob) {
    RowMarks marks;
    size_t pos = 0;
    int last_tag = 0;
    auto u = [&](size_t at, int bytes) {
        return static_cast<uint32_t>(read_be(blob.data() + at, static_cast<size_t>(bytes)));
    };
    while (pos < blob.size()) {
        if (blob.size() - pos < 5) return Error{"row_marks: truncated table header"};
        int tag = static_cast<uint8_t>(blob[pos]);
        if (tag <= last_tag || tag > static_cast<int>(kChainTableCount)) {
            return Error{fmt::format("row_marks: table tag {} out of order or unknown", tag)};
        }
        last_tag = tag;
        uint32_t n = u(pos + 1, 4);
        pos += 5;
        if ((blob.size() - pos) / kRowMarkSize < n) return Error{"row_marks: fewer marks than its count"};
        auto& list = marks[static_cast<size_t>(tag) - 1];
        list.reserve(n);
        for (uint32_t i = 0; i < n; ++i, pos += kRowMarkSize) list.push_back(u(pos, 4));
    }
    return marks;
}

std::string to_hex(const Hash& h) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(kHashSize * 2, '0');
    for (size_t i = 0; i < kHashSize; ++i) {
        s[2 * i] = digits[h[i] >> 4];
        s[2 * i + 1] = digits[h[i] & 0xf];
    }
    return s;
}

std::optional<Hash> hash_from_hex(std::string_view hex) {
    if (hex.size() != kHashSize * 2) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Hash h{};
    for (size_t i = 0; i < kHashSize; ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        h[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return h;
}

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
                               const Hash& hash) {
    return fmt::format("lineage-anchor {} node={} boot={} batch={} hash={}", format_rfc3339_ns(wall_ns),
                       anchor_word(node), anchor_word(boot_id), batch, to_hex(hash));
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
        }
    }
    if (!have_hash) return bad();
    return a;
}

AnchorLog::~AnchorLog() {
    if (fd_ >= 0) ::close(fd_);
}

Result<AnchorLog> AnchorLog::open(const std::string& path) {
    AnchorLog log;
    log.path_ = path;
    log.fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (log.fd_ < 0) return Error{fmt::format("{}: cannot open for appending: {}", path, std::strerror(errno))};
    return log;
}

Status AnchorLog::write(const std::string& line) {
    const std::string text = line + "\n";
    const int fd = fd_ >= 0 ? fd_ : STDERR_FILENO;
    ssize_t n;
    do {
        n = ::write(fd, text.data(), text.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(text.size())) {
        return Error{fmt::format("{}: cannot write anchor: {}", fd_ >= 0 ? path_ : std::string("stderr"),
                                 n < 0 ? std::strerror(errno) : "short write")};
    }
    return Ok{};
}

KeptDigest::KeptDigest(const Hash& previous) {
    sha_.begin();
    sha_.update(std::string_view("lineage-kept-v1"));
    sha_.update(previous.data(), previous.size());
}

void KeptDigest::begin_table(ChainTable t) {
    const uint8_t tag = static_cast<uint8_t>(t);
    sha_.update(&tag, 1);
}

void KeptDigest::add_row(int64_t batch, std::string_view encoded_row) {
    // 0x01, the batch (8 bytes), the encoding's length (4 bytes), the
    // encoding. Big-endian.
    uint8_t head[13];
    head[0] = 1;
    const auto b = static_cast<uint64_t>(batch);
    for (int i = 0; i < 8; ++i) head[1 + i] = static_cast<uint8_t>(b >> (56 - 8 * i));
    const auto n = static_cast<uint32_t>(encoded_row.size());
    for (int i = 0; i < 4; ++i) head[9 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    sha_.update(head, sizeof(head));
    sha_.update(encoded_row);
}

void KeptDigest::end_table() {
    const uint8_t end = 0;
    sha_.update(&end, 1);
}

}  // namespace lineage
