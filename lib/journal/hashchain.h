#pragma once
// The journal's hash chain: the canonical encoding of rows and batches that
// JournalWriter hashes while it inserts and `lineage verify` recomputes from
// the stored rows. schema/hash-chain.md is the written definition; change
// the two together (and bump kChainVersionTag).

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bytes.h"
#include "result.h"

namespace lineage {

inline constexpr size_t kHashSize = 32;
using Hash = std::array<uint8_t, kHashSize>;

// The first 16 bytes of every batch link; names this encoding.
inline constexpr std::string_view kChainVersionTag = "lineage-chain-v1";
// Bytes of each row digest kept in batches.row_marks.
inline constexpr size_t kRowMarkSize = 4;

// Every table whose rows the chain covers, in chain order; the value is the
// tag byte that starts each row's encoding.
enum class ChainTable : uint8_t {
    runs = 1,
    clock_samples = 2,
    snapshot = 3,
    pods = 4,
    fork = 5,
    exec = 6,
    exit = 7,
    connect = 8,
    loss = 9,
    run_stops = 10,
    prunes = 11,       // schema version 2
    cgroups = 12,      // schema version 3
    memberships = 13,  // schema version 3
    carried = 14,      // schema version 4
    unexited = 15,     // schema version 5
    containers = 16,   // schema version 7
    exec_files = 17,   // schema version 8
    file_hashes = 18,  // schema version 8
    listens = 19,      // schema version 8
    dns = 20,          // schema version 10
    dns_names = 21,    // schema version 11
};
inline constexpr size_t kChainTableCount = 21;
// Tables of the first encoding: a link always names them, with their row
// count even when it is 0. Later tables appear in a link only when the batch
// holds rows of theirs, so a batch without such rows hashes exactly as it did
// before they existed (schema/hash-chain.md, "Tables added later").
inline constexpr size_t kChainTablesAlwaysLinked = 10;
// The same for a prune's digest of the rows it kept (KeptDigest): it names
// every kept table of schema version 2 and before, also when it kept no row
// of theirs; a kept table added later (cgroups) only when it kept rows of
// it, so that a prune made before that table existed recomputes as it was
// made once the journal is upgraded.
inline constexpr size_t kKeptTablesAlwaysDigested = 11;
inline constexpr size_t table_index(ChainTable t) {
    return static_cast<size_t>(t) - 1;
}
inline constexpr ChainTable table_at(size_t index) {
    return static_cast<ChainTable>(index + 1);
}
const char* table_name(ChainTable t);

// The columns a row's encoding covers, in encoding order (schema order,
// without `batch`), as an SQL column list. The only list of them in the
// code: the writer's INSERTs, verify's SELECTs and the loader's SELECTs and
// decoders are built from it, and tests pin it to schema/journal.sql.
constexpr const char* chain_columns(ChainTable t) {
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
        case ChainTable::cgroups:
            return "hierarchy, cgroup_id, path, pod_uid, container_id";
        case ChainTable::memberships:
            return "time_ns, tgid, start_ns, nspid, how, hierarchy, cgroup_id, pod_uid, uts_ns, by_tgid, by_start_ns, "
                   "comm";
        case ChainTable::carried:
            return "time_ns, tgid, start_ns, nspid, uid, gid, euid, parent_tgid, parent_start_ns, parent_source, comm, "
                   "binary, argv, cgroup_path, pod_uid, nodename, source, from_batch";
        case ChainTable::unexited:
            return "tgid, start_ns, from_batch";
        case ChainTable::containers:
            return "time_ns, container_id, pod_uid, pod_name, pod_namespace, name, image, type, source, path, problem";
        case ChainTable::exec_files:
            return "time_ns, tgid, start_ns, path, dev, ino, nlink, size, mode, mtime_ns, flags, interpreter, "
                   "before_uid, before_gid, before_euid, before_egid, before_cap_prm, before_cap_eff, "
                   "uid, gid, euid, egid, cap_prm, cap_eff";
        case ChainTable::file_hashes:
            return "time_ns, dev, ino, size, mtime_ns, path, sha256, problem";
        case ChainTable::listens:
            return "time_ns, tgid, start_ns, family, addr, port";
        case ChainTable::dns:
            return "time_ns, tgid, start_ns, direction, transport, family, saddr, sport, daddr, dport, length, message";
        case ChainTable::dns_names:
            return "tgid, start_ns, name_key";
    }
    return "";
}

// How many columns chain_columns(t) lists.
constexpr size_t chain_column_count(ChainTable t) {
    size_t n = 1;
    for (const char* c = chain_columns(t); *c; ++c) n += *c == ',';
    return n;
}

// Never defined: chain_column_index() calls it for a name that is not a
// column of the table, which makes that call fail to compile.
void not_a_chain_column();

// The position (from 0) of column `name` in chain_columns(t). Evaluated at
// compile time only, so a misspelt or dropped column does not build.
consteval int chain_column_index(ChainTable t, std::string_view name) {
    const std::string_view columns = chain_columns(t);
    int index = 0;
    for (size_t pos = 0; pos < columns.size(); ++index) {
        size_t end = columns.find(',', pos);
        if (end == std::string_view::npos) end = columns.size();
        std::string_view column = columns.substr(pos, end - pos);
        while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
        if (column == name) return index;
        pos = end + 1;
    }
    not_a_chain_column();
    return -1;
}

// Tables whose rows batches.row_count counts (the others are run metadata).
bool counts_in_row_count(ChainTable t);
// Tables whose rows outlive a prune (`record --max-size/--retain`): the run
// metadata that later batches still need. A prune deletes the rows of the
// other tables and the batches headers; these rows stay, and the prune row
// holds a digest of them (prunes.kept_digest, see KeptDigest) so that they
// remain evidence.
bool kept_when_pruned(ChainTable t);

struct EvpMdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EvpMdFree {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};

// SHA-256 through OpenSSL's EVP interface, with one context reused for
// every digest: no allocation per row. Constructing one cannot fail from the
// caller's view: when OpenSSL has no SHA-256 (a broken installation) or a
// digest call fails, ok() turns false for good and every digest from then on
// is 32 zero bytes. Whoever stores a hash checks ok() first (the writer does
// at open and before every commit).
class Sha256 {
public:
    Sha256();
    bool ok() const { return ok_; }
    void begin();
    void update(const void* data, size_t size) {
        if (ok_ && EVP_DigestUpdate(ctx_.get(), data, size) != 1) ok_ = false;
    }
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    Hash finish();
    // One-shot digest of `bytes`.
    Hash digest(std::string_view bytes) {
        begin();
        update(bytes);
        return finish();
    }

private:
    std::unique_ptr<EVP_MD, EvpMdFree> md_;
    std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree> ctx_;
    bool ok_ = false;
};

// Encodes one row canonically into a buffer that is reused row after row:
// the table tag, then every column but `batch` in schema order, each as a
// type byte and its value (integers 8 bytes big-endian, text and blobs a
// 4-byte big-endian length and the bytes).
class RowEncoder {
public:
    enum Type : uint8_t { kNull = 0, kInteger = 1, kReal = 2, kText = 3, kBlob = 4 };

    RowEncoder() { buf_.reserve(1024); }
    void begin(ChainTable t) {
        buf_.clear();
        buf_.push_back(static_cast<char>(t));
    }
    void null() { buf_.push_back(static_cast<char>(kNull)); }
    void integer(int64_t v) {
        buf_.push_back(static_cast<char>(kInteger));
        append_be(buf_, static_cast<uint64_t>(v), 8);
    }
    void real(double v);
    void text(std::string_view s) { bytes(kText, s); }
    void blob(std::string_view b) { bytes(kBlob, b); }
    ChainTable table() const { return static_cast<ChainTable>(buf_.at(0)); }
    // The journal writer binds a row's values from here (bind_encoded in
    // journal_writer.cpp), so SQLite stores the very bytes that were hashed.
    std::string_view encoded() const { return buf_; }

private:
    void bytes(Type type, std::string_view s) {
        buf_.push_back(static_cast<char>(type));
        append_be(buf_, static_cast<uint32_t>(s.size()), 4);
        buf_.append(s.data(), s.size());
    }

    std::string buf_;
};

// One value of a row as RowEncoder encoded it; `bytes` points into the
// encoding (text and blobs).
struct EncodedValue {
    RowEncoder::Type type = RowEncoder::kNull;
    int64_t integer = 0;
    double real = 0;
    std::string_view bytes;
};

// Calls f(const EncodedValue&) for each value of a row RowEncoder encoded,
// in order, the table tag skipped. For encodings this process made (the
// journal writer binds its rows from them): it does not check lengths.
template <class F>
void decode_row(std::string_view row, F&& f) {
    size_t pos = 1;  // after the table tag
    while (pos < row.size()) {
        EncodedValue v;
        v.type = static_cast<RowEncoder::Type>(row[pos++]);
        switch (v.type) {
            case RowEncoder::kInteger:
                v.integer = static_cast<int64_t>(read_be(row.data() + pos, 8));
                pos += 8;
                break;
            case RowEncoder::kReal: {
                const uint64_t bits = read_be(row.data() + pos, 8);
                static_assert(sizeof bits == sizeof v.real);
                std::memcpy(&v.real, &bits, sizeof bits);
                pos += 8;
                break;
            }
            case RowEncoder::kText:
            case RowEncoder::kBlob: {
                const auto size = static_cast<size_t>(read_be(row.data() + pos, 4));
                v.bytes = row.substr(pos + 4, size);
                pos += 4 + size;
                break;
            }
            case RowEncoder::kNull:
                break;
        }
        f(v);
    }
}

// The fields of a batches row that its hash covers besides the rows.
struct BatchHeader {
    int64_t batch_id = 0;
    int64_t run_id = 0;
    int64_t committed_ns = 0;
    int64_t row_count = 0;
};

// Collects the row digests of one batch, table by table in insertion
// (= rowid) order, and computes the batch's link. Reused batch after batch.
class BatchHasher {
public:
    BatchHasher();
    // False once SHA-256 failed (see Sha256): the digests are then worthless.
    bool ok() const { return row_sha_.ok() && batch_sha_.ok(); }
    void clear();
    // Digests the row just encoded and files it under its table.
    const Hash& add_row(const RowEncoder& row) { return add_row(row.table(), row.encoded()); }
    // The same for a row encoded earlier (RowEncoder::encoded() of table t).
    const Hash& add_row(ChainTable t, std::string_view encoded);
    const std::vector<Hash>& digests(ChainTable t) const { return digests_[table_index(t)]; }
    // The link: SHA-256 of the version tag, prev, the header and every
    // table's tag, row count and row digests.
    Hash link(const Hash& prev, const BatchHeader& header);
    // batches.row_marks for the rows collected so far.
    void row_marks(std::string& out) const;

private:
    Sha256 row_sha_, batch_sha_;
    std::array<std::vector<Hash>, kChainTableCount> digests_;
};

// batches.row_marks decoded: per table, the marks of its rows in order.
using RowMarks = std::array<std::vector<uint32_t>, kChainTableCount>;
Result<RowMarks> parse_row_marks(std::string_view blob);
inline uint32_t mark_of(const Hash& digest) {
    return static_cast<uint32_t>(read_be(reinterpret_cast<const char*>(digest.data()), kRowMarkSize));
}

std::string to_hex(const Hash& h);
std::optional<Hash> hash_from_hex(std::string_view hex);
inline Hash zero_hash() {
    return Hash{};
}

// The digest a prune commits to (prunes.kept_digest), one link of a chain
// of its own: SHA-256 of "lineage-kept-v1", the previous prune's digest (32
// zero bytes for the first prune) and the rows of the tables kept by pruning
// (kept_when_pruned) that the previous prune did not cover, table by table
// in chain order, each table's rows by (batch, rowid). Exact bytes in
// schema/hash-chain.md, "Pruned journals". Each prune hashes only what is
// new since the last one, so a prune costs the same in year one and year ten.
class KeptDigest {
public:
    explicit KeptDigest(const Hash& previous);
    // False once SHA-256 failed (see Sha256).
    bool ok() const { return sha_.ok(); }
    // A table's rows, in (batch, rowid) order, between begin_table and
    // end_table; tables in chain order. A table after
    // kKeptTablesAlwaysDigested is named only when it has rows.
    void begin_table(ChainTable t);
    void add_row(int64_t batch, std::string_view encoded_row);
    void end_table();
    Hash finish() { return sha_.finish(); }

private:
    void open_table();

    Sha256 sha_;
    ChainTable table_ = ChainTable::runs;
    bool table_open_ = false;  // its tag is in the digest
};

}  // namespace lineage
