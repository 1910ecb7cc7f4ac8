#include "hashchain.h"

#include <cstring>

#include <fmt/format.h>

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
        case ChainTable::cgroups:
            return "cgroups";
        case ChainTable::memberships:
            return "memberships";
        case ChainTable::carried:
            return "carried";
        case ChainTable::unexited:
            return "unexited";
        case ChainTable::containers:
            return "containers";
        case ChainTable::exec_files:
            return "exec_files";
        case ChainTable::file_hashes:
            return "file_hashes";
        case ChainTable::listens:
            return "listens";
        case ChainTable::dns:
            return "dns";
        case ChainTable::dns_names:
            return "dns_names";
    }
    return "?";
}

bool counts_in_row_count(ChainTable t) {
    return t != ChainTable::runs && t != ChainTable::clock_samples && t != ChainTable::run_stops &&
           t != ChainTable::prunes && t != ChainTable::cgroups && t != ChainTable::unexited &&
           t != ChainTable::containers && t != ChainTable::file_hashes && t != ChainTable::dns_names;
}

bool kept_when_pruned(ChainTable t) {
    return t == ChainTable::runs || t == ChainTable::clock_samples || t == ChainTable::pods ||
           t == ChainTable::run_stops || t == ChainTable::prunes || t == ChainTable::cgroups ||
           t == ChainTable::containers || t == ChainTable::file_hashes;
}

Sha256::Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    ok_ = md_ && ctx_;
}

void Sha256::begin() {
    if (ok_ && EVP_DigestInit_ex(ctx_.get(), md_.get(), nullptr) != 1) ok_ = false;
}

Hash Sha256::finish() {
    Hash h{};
    unsigned int n = 0;
    if (ok_ && (EVP_DigestFinal_ex(ctx_.get(), h.data(), &n) != 1 || n != kHashSize)) ok_ = false;
    if (!ok_) h = Hash{};
    return h;
}

void RowEncoder::real(double v) {
    buf_.push_back(static_cast<char>(kReal));
    uint64_t bits = 0;
    static_assert(sizeof(bits) == sizeof(v));
    std::memcpy(&bits, &v, sizeof(bits));
    append_be(buf_, bits, 8);
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

KeptDigest::KeptDigest(const Hash& previous) {
    sha_.begin();
    sha_.update(std::string_view("lineage-kept-v1"));
    sha_.update(previous.data(), previous.size());
}

void KeptDigest::begin_table(ChainTable t) {
    table_ = t;
    table_open_ = false;
    if (table_index(t) < kKeptTablesAlwaysDigested) open_table();
}

void KeptDigest::open_table() {
    const uint8_t tag = static_cast<uint8_t>(table_);
    sha_.update(&tag, 1);
    table_open_ = true;
}

void KeptDigest::add_row(int64_t batch, std::string_view encoded_row) {
    if (!table_open_) open_table();
    // 0x01, the batch (8 bytes), the encoding's length (4 bytes), the
    // encoding. Big-endian.
    uint8_t head[13];
    head[0] = 1;
    put_be(head + 1, static_cast<uint64_t>(batch), 8);
    put_be(head + 9, static_cast<uint32_t>(encoded_row.size()), 4);
    sha_.update(head, sizeof(head));
    sha_.update(encoded_row);
}

void KeptDigest::end_table() {
    if (!table_open_) return;
    const uint8_t end = 0;
    sha_.update(&end, 1);
    table_open_ = false;
}

}  // namespace lineage
