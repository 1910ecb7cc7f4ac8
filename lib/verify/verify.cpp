#include "verify.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "integrity.h"
#include "journal_writer.h"
#include "journal_reader.h"
#include "journal_format.h"
#include "saturate.h"
#include "sqlite.h"
#include "timeexpr.h"

namespace lineage {

const char* finding_kind_name(FindingKind kind) {
    switch (kind) {
        case FindingKind::modified:
            return "modified";
        case FindingKind::added:
            return "added";
        case FindingKind::deleted:
            return "deleted";
        case FindingKind::outside_batch:
            return "outside_batch";
        case FindingKind::batch_modified:
            return "batch_modified";
        case FindingKind::chain_break:
            return "chain_break";
        case FindingKind::batch_missing:
            return "batch_missing";
        case FindingKind::schema:
            return "schema";
        case FindingKind::damaged:
            return "damaged";
    }
    return "?";
}

const char* anchor_status_name(AnchorStatus s) {
    switch (s) {
        case AnchorStatus::found:
            return "found";
        case AnchorStatus::not_in_chain:
            return "not_in_chain";
        case AnchorStatus::mismatch:
            return "mismatch";
        case AnchorStatus::beyond_end:
            return "beyond_end";
        case AnchorStatus::pruned:
            return "pruned";
    }
    return "?";
}

std::string JournalVerdict::status() const {
    bool damage = !opened || !integrity.empty();
    for (const auto& f : findings) damage |= f.kind == FindingKind::damaged;
    if (damage) return "damaged";
    if (!findings.empty() || findings_omitted > 0) return "tampered";
    if (truncated) return "truncated";
    return "whole";
}

bool VerifyReport::whole() const {
    for (const auto& j : journals) {
        if (j.status() != "whole") return false;
    }
    for (const auto& a : anchors) {
        // An anchor of a batch that retention deleted cannot be checked;
        // the prune itself is in the chain, and later anchors check it.
        if (a.status != AnchorStatus::found && a.status != AnchorStatus::pruned) return false;
    }
    return true;
}

namespace {

// SQLite URIs need %, ?, # (and non-printables) percent-encoded.
std::string file_uri(std::string_view path) {
    std::string out = "file:";
    for (unsigned char c : path) {
        if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
            out += fmt::format("%{:02X}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// A read-only connection by URI; an empty Database when it cannot be opened
// (the caller then falls back to the reader's own connection).
Database open_more(const std::string& uri, int extra_flags) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | extra_flags, nullptr);
    Database db(raw);
    if (rc != SQLITE_OK) return Database();
    sqlite3_extended_result_codes(raw, 1);
    return db;
}

struct HashKey {
    size_t operator()(const Hash& h) const {
        size_t v = 0;
        std::memcpy(&v, h.data(), sizeof(v));
        return v;
    }
};

std::optional<Hash> hash_column(sqlite3_stmt* s, int col) {
    if (sqlite3_column_type(s, col) != SQLITE_BLOB || sqlite3_column_bytes(s, col) != static_cast<int>(kHashSize)) {
        return std::nullopt;
    }
    Hash h{};
    std::memcpy(h.data(), sqlite3_column_blob(s, col), kHashSize);
    return h;
}

std::string_view blob_column(sqlite3_stmt* s, int col) {
    const void* p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}

// One table read in (batch, rowid) order: the order the writer hashed it in.
struct TableCursor {
    ChainTable table{};
    Stmt stmt;
    int columns = 0;
    bool has_row = false;
    int64_t rowid = 0, batch = 0;
    // Read in rowid order, batches must not go back (see verify_chain).
    bool in_order = true;

    // False on a read error (the statement's rc is in the connection).
    bool step() {
        int rc = stmt.step();
        has_row = rc == SQLITE_ROW;
        if (has_row) {
            rowid = sqlite3_column_int64(stmt.get(), 0);
            int64_t b = sqlite3_column_int64(stmt.get(), 1);
            in_order &= b >= batch;
            batch = b;
        }
        return rc == SQLITE_ROW || rc == SQLITE_DONE;
    }

    // The row's canonical encoding, from the types SQLite stored.
    void encode(RowEncoder& enc) const { encode_stored_row(stmt.get(), 2, table, enc); }
};

// Reading settings of a connection, not of the file: pages are mapped
// instead of copied, and the integrity check's index look-ups stay cached.
void tune_for_reading(Database& db) {
    (void)db.exec("PRAGMA mmap_size = 2147418112; PRAGMA cache_size = -65536;");
}

// SQLite's integrity (integrity.h) on its own connection, so that it runs
// on another core while the chain is verified.
std::vector<std::string> integrity_check(Database& db) {
    tune_for_reading(db);
    return check_integrity(db);
}

class Verifier {
public:
    // `integrity_db`: a second read-only connection to the same file for the
    // integrity check; without one it runs on `reader`'s, before the chain.
    Verifier(Database& db, Database* integrity_db, JournalVerdict& verdict)
        : db_(db), integrity_db_(integrity_db), v_(verdict) {}

    // False when reading had to stop (a damaged finding says why).
    bool run() {
        tune_for_reading(db_);
        if (!read_header()) return false;
        if (!has_chain()) return false;
        std::thread integrity;
        if (integrity_db_) {
            integrity = std::thread([this] { v_.integrity = integrity_check(*integrity_db_); });
        } else {
            v_.integrity = integrity_check(db_);
        }
        bool ok = check_schema_and_chain();
        if (integrity.joinable()) integrity.join();
        return ok && summarise();
    }

    // Errors that mean "this is no journal with a chain": exit 2, not 1.
    std::optional<Error> fatal;

private:
    void add(Finding f) {
        if (v_.findings.size() < kMaxFindings) {
            v_.findings.push_back(std::move(f));
        } else {
            ++v_.findings_omitted;
        }
    }
    bool read_failed(const std::string& what) {
        add(Finding{FindingKind::damaged, 0, "", std::nullopt, false,
                    fmt::format("cannot read {}: {}", what, db_.errmsg())});
        return false;
    }

    // Runs `sql` and calls fn(stmt) per row.
    template <typename F>
    bool each(const char* what, std::string_view sql, F&& fn) {
        auto stmt = db_.prepare(sql);
        if (!stmt) return read_failed(what);
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) fn(*stmt);
        if (rc != SQLITE_DONE) return read_failed(what);
        return true;
    }

    // A journal written before the chain existed is refused at once, before
    // an integrity check of the whole file would make the user wait.
    bool has_chain() {
        std::vector<std::string> queries = {
            "SELECT batch_id, run_id, committed_ns, row_count, row_marks, "
            "prev_hash, hash FROM batches"};
        for (size_t i = 0; i < kChainTableCount; ++i) {
            if (!table_in_version(table_at(i), v_.user_version)) continue;
            queries.push_back(
                fmt::format("SELECT rowid, batch, {} FROM {}", chain_columns(table_at(i)), table_name(table_at(i))));
        }
        for (const auto& q : queries) {
            if (!db_.prepare(q)) {
                // A schema SQLite cannot read is damage, not an old journal.
                const int rc = sqlite3_errcode(db_.get()) & 0xff;
                if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_IOERR) return read_failed("the schema");
                fatal = Error{fmt::format("{}: journal has no hash chain (written by a lineage without one): {}",
                                          v_.path, db_.errmsg())};
                return false;
            }
        }
        return true;
    }

    bool read_header() {
        auto app = query_int(db_, "PRAGMA application_id");
        auto ver = query_int(db_, "PRAGMA user_version");
        if (!app || !ver) return read_failed("the journal header");
        v_.application_id = *app;
        v_.user_version = *ver;
        return true;
    }

    bool check_schema_and_chain() {
        check_schema();
        if (!load_links()) return false;
        if (!load_prunes()) return false;
        // Rows are appended in batch order, so reading each table in rowid
        // order (a plain scan) gives (batch, rowid) order. A table where a
        // batch goes back was changed: then read everything again, sorted.
        const size_t findings = v_.findings.size(), omitted = v_.findings_omitted;
        if (verify_chain(false)) return true;
        if (!need_sorted_) return false;
        v_.findings.resize(findings);
        v_.findings_omitted = omitted;
        v_.rows = v_.batches = v_.first_batch = v_.last_batch = 0;
        for (auto& l : v_.links) l.verified = false;
        return verify_chain(true);
    }

    void check_schema() {
        auto mem = Database::open_write(":memory:");
        if (!mem || !mem->exec(journal_schema_sql())) return;
        using Objects = std::map<std::string, std::pair<std::string, std::string>>;  // name -> (type, sql)
        auto objects = [](Database& db, Objects& out) {
            auto stmt = db.prepare(
                "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
            if (!stmt) return false;
            int rc;
            while ((rc = stmt->step()) == SQLITE_ROW) {
                out[stmt->text(1)] = {stmt->text(0), normalized_sql(stmt->text(2))};
            }
            return rc == SQLITE_DONE;
        };
        // An older journal lacks what later versions added.
        if (v_.user_version < 2) (void)mem->exec("DROP TABLE prunes");
        Objects want, have;
        if (!objects(*mem, want)) return;
        if (!objects(db_, have)) {
            read_failed("sqlite_schema");
            return;
        }
        for (const auto& [name, def] : want) {
            auto it = have.find(name);
            if (it == have.end()) {
                add(Finding{FindingKind::schema, 0, "", std::nullopt, false,
                            fmt::format("{} {} is missing", def.first, name)});
            } else if (it->second != def) {
                add(Finding{FindingKind::schema, 0, "", std::nullopt, false,
                            fmt::format("{} {} differs from the schema", def.first, name)});
            }
        }
        for (const auto& [name, def] : have) {
            if (!want.count(name)) {
                add(Finding{FindingKind::schema, 0, "", std::nullopt, false,
                            fmt::format("{} {} is not part of the schema", def.first, name)});
            }
        }
    }

    // Every stored link first, so that a chain break can say which batch a
    // misplaced prev_hash belongs to.
    bool load_links() {
        auto stmt = db_.prepare("SELECT batch_id, hash FROM batches ORDER BY batch_id");
        if (!stmt) {
            fatal = Error{fmt::format("{}: journal has no hash chain (written by a lineage without one): {}", v_.path,
                                      db_.errmsg())};
            return false;
        }
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            BatchLink link;
            link.batch_id = stmt->int64(0);
            if (auto h = hash_column(stmt->get(), 1)) {
                link.hash = *h;
                by_hash_.emplace(link.hash, link.batch_id);
            }
            v_.links.push_back(link);
        }
        if (rc != SQLITE_DONE) return read_failed("batches");
        return true;
    }

    // The prunes (retention), in the order they were made. The newest says
    // where the journal now starts; each one's kept_digest chains to the one
    // before (check_kept_rows). Only rows with an integer batch count: any
    // other is outside every batch (outside_batch_rows).
    bool load_prunes() {
        if (!table_in_version(ChainTable::prunes, v_.user_version)) return true;
        bool ok = each("prunes",
                       "SELECT batch, through_batch, through_hash, through_wall_ns, rows, kept_digest, reason "
                       "FROM prunes WHERE typeof(batch) = 'integer' ORDER BY through_batch, rowid",
                       [&](Stmt& st) {
                           PruneRow r;
                           r.batch = st.int64(0);
                           r.through_batch = st.int64(1);
                           if (auto h = hash_column(st.get(), 2)) r.through_hash = *h;
                           r.through_wall_ns = st.int64(3);
                           r.rows = st.int64(4);
                           if (auto h = hash_column(st.get(), 5)) r.kept_digest = *h;
                           r.reason = st.text(6);
                           prunes_.push_back(r);
                       });
        if (!ok || prunes_.empty()) return ok;
        const PruneRow& newest = prunes_.back();
        PruneSummary p;
        p.prunes = static_cast<int64_t>(prunes_.size());
        for (const auto& r : prunes_) p.rows = sat_add(p.rows, r.rows);
        p.batch = newest.batch;
        p.through_batch = newest.through_batch;
        p.through_hash = newest.through_hash;
        p.through_wall_ns = newest.through_wall_ns;
        p.reason = newest.reason;
        v_.pruned = p;
        return true;
    }

    // The kept rows of pruned batches are what the prunes committed to, byte
    // for byte: each prune's digest is recomputed from the one before it and
    // the kept rows in its range, in one pass over each kept table.
    void check_kept_rows() {
        if (prunes_.empty()) return;
        struct Cursor {
            ChainTable table;
            Stmt stmt;
            bool has_row = false;
        };
        std::vector<Cursor> cursors;
        auto step = [&](Cursor& c) {
            int rc = c.stmt.step();
            c.has_row = rc == SQLITE_ROW;
            return rc == SQLITE_ROW || rc == SQLITE_DONE;
        };
        for (size_t i = 0; i < kChainTableCount; ++i) {
            const ChainTable t = table_at(i);
            if (!kept_when_pruned(t) || !table_in_version(t, v_.user_version)) continue;
            auto stmt = db_.prepare(fmt::format(
                "SELECT batch, {} FROM {} WHERE typeof(batch) = 'integer' AND batch >= 1 ORDER BY batch, rowid",
                chain_columns(t), table_name(t)));
            if (!stmt) {
                read_failed(table_name(t));
                return;
            }
            cursors.push_back(Cursor{t, std::move(*stmt)});
            if (!step(cursors.back())) {
                read_failed(table_name(t));
                return;
            }
        }
        RowEncoder row;
        Hash previous{};
        for (const PruneRow& p : prunes_) {
            KeptDigest kept(previous);
            for (auto& c : cursors) {
                kept.begin_table(c.table);
                while (c.has_row && sqlite3_column_int64(c.stmt.get(), 0) <= p.through_batch) {
                    encode_stored_row(c.stmt.get(), 1, c.table, row);
                    kept.add_row(sqlite3_column_int64(c.stmt.get(), 0), row.encoded());
                    if (!step(c)) {
                        read_failed(table_name(c.table));
                        return;
                    }
                }
                kept.end_table();
            }
            if (kept.finish() != p.kept_digest) {
                add(Finding{FindingKind::modified, p.batch, "", std::nullopt, false,
                            fmt::format("rows kept from pruned batches up to {} (runs, clock_samples, pods, "
                                        "run_stops, prunes) differ from what the prune in batch {} committed to",
                                        p.through_batch, p.batch)});
            }
            // The next prune chains to what this one recorded: one edit is
            // one finding, at the prune that covered it.
            previous = p.kept_digest;
        }
        // The newest prune is in a batch after the ones it pruned, and that
        // batch is here: a prune row in a pruned batch, or in none, is no
        // prune the chain vouches for.
        const PruneRow& newest = prunes_.back();
        const bool present = std::any_of(v_.links.begin(), v_.links.end(),
                                         [&](const BatchLink& l) { return l.batch_id == newest.batch; });
        if (!present || newest.batch <= newest.through_batch) {
            add(Finding{FindingKind::added, newest.batch, "prunes", std::nullopt, false,
                        fmt::format("the prune of batches up to {} names batch {}, which is not a batch after them",
                                    newest.through_batch, newest.batch)});
        }
    }

    // Rows whose batch is not an integer belong to no batch (SQLite compares
    // 7.5 or '7' with 7 in ways the chain must not rely on).
    void outside_batch_rows() {
        for (size_t i = 0; i < kChainTableCount; ++i) {
            const ChainTable t = table_at(i);
            if (!table_in_version(t, v_.user_version)) continue;
            each(table_name(t),
                 fmt::format("SELECT rowid FROM {} WHERE typeof(batch) != 'integer' ORDER BY rowid", table_name(t)),
                 [&](Stmt& st) {
                     add(Finding{FindingKind::outside_batch, 0, table_name(t), st.int64(0), false,
                                 "its batch is not an integer"});
                 });
        }
    }

    // A row of a pruned batch that pruning keeps.
    bool kept_from_prune(const TableCursor& c) const {
        return v_.pruned && kept_when_pruned(c.table) && c.batch >= 1 && c.batch <= v_.pruned->through_batch;
    }

    bool open_cursors(bool sorted) {
        for (size_t i = 0; i < kChainTableCount; ++i) {
            ChainTable t = table_at(i);
            auto& c = cursors_[i];
            c = TableCursor{};
            c.table = t;
            if (!table_in_version(t, v_.user_version)) continue;  // no rows: has_row stays false
            const std::string sql =
                fmt::format("SELECT rowid, batch, {} FROM {} WHERE typeof(batch) = 'integer' ORDER BY {}",
                            chain_columns(t), table_name(t), sorted ? "batch, rowid" : "rowid");
            auto stmt = db_.prepare(sql);
            if (!stmt) {
                fatal = Error{fmt::format("{}: journal has no hash chain (written by a lineage without one): {}",
                                          v_.path, db_.errmsg())};
                return false;
            }
            c.stmt = std::move(*stmt);
            c.columns = sqlite3_column_count(c.stmt.get());
            if (!advance(c)) return false;
        }
        return true;
    }

    // Steps a cursor; false on a read error (recorded) or, when reading in
    // rowid order, on a batch that goes back (need_sorted_).
    bool advance(TableCursor& c) {
        if (!c.step()) return read_failed(table_name(c.table));
        if (!c.in_order && !sorted_) {
            need_sorted_ = true;
            return false;
        }
        return true;
    }

    void outside_batch(const TableCursor& c) {
        add(Finding{FindingKind::outside_batch, 0, table_name(c.table), c.rowid, false,
                    fmt::format("names batch {}, which does not exist", c.batch)});
    }

    // Lines up the marks the batch committed with the rows it holds now and
    // reports each difference at its row. Rows are appended in rowid order,
    // so a missing row's rowid is the one its neighbours leave out.
    void diff_table(int64_t batch, ChainTable t, const std::vector<uint32_t>& expected,
                    const std::vector<Hash>& digests, const std::vector<int64_t>& rowids, int64_t rowid_before) {
        const size_t n = expected.size(), m = digests.size();
        constexpr size_t kWindow = 64;
        const char* name = table_name(t);
        size_t i = 0, j = 0;
        int64_t deleted_here = 0;  // consecutive deletions before row j
        auto deleted = [&]() {
            int64_t before = j > 0 ? rowids[j - 1] : rowid_before;
            add(Finding{FindingKind::deleted, batch, name, before + 1 + deleted_here, true,
                        fmt::format("a committed {} row is missing (the batch committed {} {} rows, {} present)", name,
                                    n, name, m)});
            ++deleted_here;
            ++i;
        };
        auto added = [&]() {
            add(Finding{
                FindingKind::added, batch, name, rowids[j], false,
                fmt::format("not in the batch's hash (the batch committed {} {} rows, {} present)", n, name, m)});
            ++j;
            deleted_here = 0;
        };
        while (i < n || j < m) {
            if (i < n && j < m && expected[i] == mark_of(digests[j])) {
                ++i;
                ++j;
                deleted_here = 0;
                continue;
            }
            if (j >= m) {
                deleted();
                continue;
            }
            if (i >= n) {
                added();
                continue;
            }
            // The nearest resynchronisation wins: rows added before the
            // expected one, or expected rows missing before the actual one.
            size_t skip_actual = 0, skip_expected = 0;
            for (size_t k = j + 1; k < m && k <= j + kWindow; ++k) {
                if (mark_of(digests[k]) == expected[i]) {
                    skip_actual = k - j;
                    break;
                }
            }
            for (size_t k = i + 1; k < n && k <= i + kWindow; ++k) {
                if (expected[k] == mark_of(digests[j])) {
                    skip_expected = k - i;
                    break;
                }
            }
            if (skip_actual && (!skip_expected || skip_actual <= skip_expected)) {
                for (size_t k = 0; k < skip_actual; ++k) added();
            } else if (skip_expected) {
                for (size_t k = 0; k < skip_expected; ++k) deleted();
            } else {
                add(Finding{FindingKind::modified, batch, name, rowids[j], false,
                            "differs from the row that was committed"});
                ++i;
                ++j;
                deleted_here = 0;
            }
        }
    }

    std::string where_hash_points(const Hash& h) const {
        auto it = by_hash_.find(h);
        return it == by_hash_.end() ? std::string() : std::to_string(it->second);
    }

    bool verify_chain(bool sorted) {
        sorted_ = sorted;
        if (!open_cursors(sorted)) return false;
        auto batches = db_.prepare(
            "SELECT batch_id, run_id, committed_ns, row_count, row_marks, prev_hash, hash FROM batches "
            "ORDER BY batch_id");
        if (!batches) {
            fatal = Error{fmt::format("{}: journal has no hash chain (written by a lineage without one): {}", v_.path,
                                      db_.errmsg())};
            return false;
        }
        BatchHasher hasher;
        std::array<std::vector<int64_t>, kChainTableCount> rowids;
        std::array<int64_t, kChainTableCount> last_rowid{};
        std::string marks;
        bool have_prev = false;
        int64_t prev_id = 0;
        Hash prev_stored{};
        size_t link_index = 0;
        int rc;
        while ((rc = batches->step()) == SQLITE_ROW) {
            sqlite3_stmt* b = batches->get();
            BatchHeader header{sqlite3_column_int64(b, 0), sqlite3_column_int64(b, 1), sqlite3_column_int64(b, 2),
                               sqlite3_column_int64(b, 3)};
            const int64_t id = header.batch_id;
            std::string_view stored_marks = blob_column(b, 4);
            auto stored_prev = hash_column(b, 5);
            auto stored_hash = hash_column(b, 6);

            hasher.clear();
            for (auto& r : rowids) r.clear();
            RowEncoder& enc = enc_;
            for (size_t i = 0; i < kChainTableCount; ++i) {
                TableCursor& c = cursors_[i];
                while (c.has_row && c.batch < id) {
                    if (!kept_from_prune(c)) outside_batch(c);
                    if (!advance(c)) return false;
                }
                while (c.has_row && c.batch == id) {
                    c.encode(enc);
                    hasher.add_row(enc);
                    rowids[i].push_back(c.rowid);
                    if (!advance(c)) return false;
                }
            }
            for (size_t i = 0; i < kChainTableCount; ++i) v_.rows += static_cast<int64_t>(rowids[i].size());

            // The link to the batch before.
            bool link_ok = false;
            if (!stored_prev) {
                add(Finding{FindingKind::batch_modified, id, "batches", id, false, "prev_hash is not 32 bytes"});
            } else if (!have_prev) {
                if (id != 1 && v_.pruned && v_.pruned->through_batch == sat_sub(id, 1)) {
                    // Pruned by retention: the chain goes on from the hash
                    // the prune recorded for the last batch it deleted.
                    if (*stored_prev == v_.pruned->through_hash) {
                        link_ok = true;
                    } else {
                        add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                                    fmt::format("prev_hash is not the hash the prune in batch {} recorded for batch {}, "
                                                "the last one it deleted",
                                                v_.pruned->batch, sat_sub(id, 1))});
                    }
                } else if (v_.pruned && id <= v_.pruned->through_batch) {
                    add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                                fmt::format("the prune in batch {} says batches 1-{} were deleted, but batch {} is here",
                                            v_.pruned->batch, v_.pruned->through_batch, id)});
                } else if (id != 1) {
                    add(Finding{FindingKind::batch_missing, 1, "", std::nullopt, false,
                                v_.pruned ? fmt::format("the journal starts at batch {}: batches {}-{} are missing (the "
                                                        "last prune, in batch {}, deleted batches 1-{} only)",
                                                        id, sat_add(v_.pruned->through_batch, 1), sat_sub(id, 1), v_.pruned->batch,
                                                        v_.pruned->through_batch)
                                          : fmt::format("the journal starts at batch {}: batches 1-{} are missing", id,
                                                        sat_sub(id, 1))});
                } else if (v_.pruned) {
                    add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                                fmt::format("the prune in batch {} says batches 1-{} were deleted, but batch 1 is here",
                                            v_.pruned->batch, v_.pruned->through_batch)});
                } else if (*stored_prev != zero_hash()) {
                    std::string k = where_hash_points(*stored_prev);
                    add(Finding{FindingKind::chain_break, id, "", std::nullopt, false,
                                k.empty() ? "batch 1 must chain to 32 zero bytes"
                                          : fmt::format("batch 1 must chain to 32 zero bytes; its prev_hash is the "
                                                        "hash of batch {} (batches reordered)",
                                                        k)});
                } else {
                    link_ok = true;
                }
            } else if (id != sat_add(prev_id, 1)) {
                add(Finding{FindingKind::batch_missing, sat_add(prev_id, 1), "", std::nullopt, false,
                            id == sat_add(prev_id, 2) ? fmt::format("batch {} is missing", sat_add(prev_id, 1))
                                              : fmt::format("batches {}-{} are missing", sat_add(prev_id, 1), sat_sub(id, 1))});
            } else if (*stored_prev != prev_stored) {
                std::string k = where_hash_points(*stored_prev);
                std::string why;
                if (*stored_prev == zero_hash()) {
                    why = "prev_hash is 32 zero bytes: a second chain starts here";
                } else if (!k.empty()) {
                    why = fmt::format(
                        "prev_hash is the hash of batch {}, not of batch {}: batches were reordered or "
                        "renumbered",
                        k, prev_id);
                } else {
                    why = fmt::format(
                        "prev_hash is not the hash of batch {}: batch {} was changed and re-hashed, or "
                        "replaced",
                        prev_id, prev_id);
                }
                add(Finding{FindingKind::chain_break, id, "", std::nullopt, false, why});
            } else {
                link_ok = true;
            }

            // The batch's own hash.
            Hash computed = hasher.link(stored_prev ? *stored_prev : zero_hash(), header);
            bool hash_ok = stored_hash && computed == *stored_hash;
            if (hash_ok) {
                hasher.row_marks(marks);
                if (marks != stored_marks) {
                    add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                                "row_marks differ from the batch's rows (its hash verifies)"});
                }
            } else if (!stored_hash) {
                add(Finding{FindingKind::batch_modified, id, "batches", id, false, "hash is not 32 bytes"});
            } else {
                locate(header, stored_marks, hasher, rowids, last_rowid);
            }
            for (size_t i = 0; i < kChainTableCount; ++i) {
                if (!rowids[i].empty()) last_rowid[i] = std::max(last_rowid[i], rowids[i].back());
            }
            if (link_index < v_.links.size() && v_.links[link_index].batch_id == id) {
                v_.links[link_index].verified = hash_ok && link_ok;
            }
            ++link_index;
            ++v_.batches;
            if (v_.first_batch == 0) v_.first_batch = id;
            v_.last_batch = id;
            have_prev = true;
            prev_id = id;
            prev_stored = stored_hash ? *stored_hash : zero_hash();
        }
        if (rc != SQLITE_DONE) return read_failed("batches");
        for (auto& c : cursors_) {
            while (c.has_row) {
                if (!kept_from_prune(c)) outside_batch(c);
                if (!advance(c)) return false;
            }
        }
        check_kept_rows();
        outside_batch_rows();
        return true;
    }

    // A batch whose hash does not verify: which rows, or else the header.
    void locate(const BatchHeader& header, std::string_view stored_marks, const BatchHasher& hasher,
                const std::array<std::vector<int64_t>, kChainTableCount>& rowids,
                const std::array<int64_t, kChainTableCount>& last_rowid) {
        const int64_t id = header.batch_id;
        auto marks = parse_row_marks(stored_marks);
        if (!marks) {
            add(Finding{
                FindingKind::batch_modified, id, "batches", id, false,
                fmt::format("hash does not verify and {}: the changed rows cannot be located", marks.error().message)});
            return;
        }
        const size_t before = v_.findings.size() + v_.findings_omitted;
        for (size_t i = 0; i < kChainTableCount; ++i) {
            diff_table(id, table_at(i), (*marks)[i], hasher.digests(table_at(i)), rowids[i], last_rowid[i]);
        }
        if (v_.findings.size() + v_.findings_omitted != before) return;
        int64_t event_rows = 0;
        for (size_t i = 0; i < kChainTableCount; ++i) {
            if (counts_in_row_count(table_at(i))) event_rows += static_cast<int64_t>(rowids[i].size());
        }
        if (header.row_count != event_rows) {
            add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                        fmt::format("row_count says {}, the batch holds {} event rows", header.row_count, event_rows)});
        } else {
            add(Finding{FindingKind::batch_modified, id, "batches", id, false,
                        "batch_id, run_id, committed_ns or prev_hash differs from what was hashed; the rows are "
                        "intact"});
        }
    }

    // Runs, the gaps between them, and the loss records: small tables.
    bool summarise() {
        std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> samples;  // run -> (boot, wall)
        bool ok = each("clock_samples", "SELECT run_id, boot_ns, wall_ns FROM clock_samples ORDER BY run_id, boot_ns",
                       [&](Stmt& s) { samples[s.int64(0)].emplace_back(s.int64(1), s.int64(2)); });
        std::map<int64_t, int64_t> start_offset;  // run -> wall - boot at start
        auto wall_of = [&](int64_t run, int64_t boot_ns) -> int64_t {
            auto it = samples.find(run);
            if (it == samples.end() || it->second.empty()) {
                auto o = start_offset.find(run);
                return boot_ns + (o == start_offset.end() ? 0 : o->second);
            }
            const auto& v = it->second;
            auto pos = std::lower_bound(v.begin(), v.end(), std::make_pair(boot_ns, INT64_MIN));
            if (pos == v.end()) --pos;
            if (pos != v.begin() && boot_ns - std::prev(pos)->first < pos->first - boot_ns) --pos;
            return boot_ns + (pos->second - pos->first);
        };
        ok = ok && each("runs", "SELECT run_id, node, boot_id, started_ns, started_wall_ns FROM runs ORDER BY run_id",
                        [&](Stmt& s) {
                            RunSummary r;
                            r.run_id = s.int64(0);
                            r.node = s.text(1);
                            r.boot_id = s.text(2);
                            r.started_wall_ns = s.int64(4);
                            start_offset[r.run_id] = s.int64(4) - s.int64(3);
                            v_.runs.push_back(r);
                        });
        auto run = [&](int64_t id) -> RunSummary* {
            for (auto& r : v_.runs)
                if (r.run_id == id) return &r;
            return nullptr;
        };
        ok = ok &&
             each("run_stops", "SELECT run_id, stopped_wall_ns, reason, events, lost FROM run_stops", [&](Stmt& s) {
                 if (RunSummary* r = run(s.int64(0))) {
                     r->stopped_wall_ns = s.int64(1);
                     r->stop_reason = s.text(2);
                     r->events = s.int64(3);
                     r->lost = s.int64(4);
                 }
             });
        ok = ok && each("batches",
                        "SELECT run_id, min(batch_id), max(batch_id), count(*), max(committed_ns) FROM batches "
                        "GROUP BY run_id",
                        [&](Stmt& s) {
                            if (RunSummary* r = run(s.int64(0))) {
                                r->first_batch = s.int64(1);
                                r->last_batch = s.int64(2);
                                r->batches = s.int64(3);
                                r->last_commit_wall_ns = wall_of(r->run_id, s.int64(4));
                            }
                        });
        ok = ok && each("loss",
                        "SELECT l.batch, coalesce(b.run_id, 0), l.from_ns, l.to_ns, l.count, l.reason FROM loss l "
                        "LEFT JOIN batches b ON b.batch_id = l.batch ORDER BY l.batch, l.rowid",
                        [&](Stmt& s) {
                            LossSummary l;
                            l.batch = s.int64(0);
                            l.run_id = s.int64(1);
                            l.from_wall_ns = wall_of(l.run_id, s.int64(2));
                            l.to_wall_ns = wall_of(l.run_id, s.int64(3));
                            l.count = s.int64(4);
                            l.reason = s.text(5);
                            v_.losses.push_back(l);
                        });
        for (size_t i = 1; i < v_.runs.size(); ++i) {
            const RunSummary& a = v_.runs[i - 1];
            const RunSummary& b = v_.runs[i];
            RunGap g;
            g.after_run = a.run_id;
            g.before_run = b.run_id;
            g.from_wall_ns = a.stopped_wall_ns.value_or(a.last_commit_wall_ns.value_or(a.started_wall_ns));
            g.to_wall_ns = b.started_wall_ns;
            g.reboot = a.boot_id != b.boot_id;
            v_.gaps.push_back(g);
        }
        return ok;
    }

    Database& db_;
    Database* integrity_db_;
    JournalVerdict& v_;
    bool sorted_ = false;
    bool need_sorted_ = false;
    std::array<TableCursor, kChainTableCount> cursors_;
    std::unordered_map<Hash, int64_t, HashKey> by_hash_;
    RowEncoder enc_;
    struct PruneRow {
        int64_t batch = 0, through_batch = 0, through_wall_ns = 0, rows = 0;
        Hash through_hash{}, kept_digest{};
        std::string reason;
    };
    std::vector<PruneRow> prunes_;  // by through_batch
};

}  // namespace

Result<JournalVerdict> verify_journal(const std::string& path) {
    JournalVerdict verdict;
    verdict.path = path;
    auto reader = JournalReader::open(path);
    // A file that cannot even be opened as a journal (empty, cut short,
    // not SQLite, ...) is an error, one line naming it, as in reconstruct;
    // damage found in a journal that opens is a finding.
    if (!reader) return reader.error();
    verdict.read_from_copy = reader->read_from_copy();
    // JournalReader decided how this file may be read: in place, read-only
    // and immutable, or through its private copy. Two more connections the
    // same way: one for the chain and one for the integrity check, on
    // another thread. Each is used by one thread only, so neither takes
    // SQLite's per-call mutex.
    Database chain_db, integrity_db;
    if (const char* file = sqlite3_db_filename(reader->db().get(), "main"); file && *file) {
        const std::string uri = file_uri(file) + (reader->read_from_copy() ? "?mode=ro" : "?mode=ro&immutable=1");
        chain_db = open_more(uri, SQLITE_OPEN_NOMUTEX);
        integrity_db = open_more(uri, SQLITE_OPEN_NOMUTEX);
    }
    Verifier verifier(chain_db ? chain_db : reader->db(), integrity_db ? &integrity_db : nullptr, verdict);
    verifier.run();
    if (verifier.fatal) return *verifier.fatal;
    return verdict;
}

void check_anchors(VerifyReport& report, const std::vector<Anchor>& anchors) {
    for (const auto& a : anchors) {
        AnchorResult r;
        r.anchor = a;
        for (const auto& j : report.journals) {
            for (const auto& link : j.links) {
                if (link.hash == a.hash) {
                    r.status = AnchorStatus::found;
                    r.journal = j.path;
                    r.batch = link.batch_id;
                    r.batch_verified = link.verified;
                    break;
                }
            }
            if (r.status == AnchorStatus::found) break;
        }
        if (r.status != AnchorStatus::found && a.batch) {
            // Which journal the anchor is about: the one of its node, if the
            // line names one that a journal recorded.
            std::vector<JournalVerdict*> candidates;
            for (auto& j : report.journals) {
                bool node_match = a.node.empty();
                for (const auto& run : j.runs) node_match |= run.node == a.node;
                if (node_match) candidates.push_back(&j);
            }
            if (candidates.empty()) {
                for (auto& j : report.journals) candidates.push_back(&j);
            }
            for (JournalVerdict* j : candidates) {
                if (!j->opened) continue;
                if (j->pruned && *a.batch <= j->pruned->through_batch) {
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    if (*a.batch == j->pruned->through_batch) {
                        // The prune recorded this batch's hash.
                        r.status = a.hash == j->pruned->through_hash ? AnchorStatus::pruned : AnchorStatus::mismatch;
                        r.batch_verified = r.status == AnchorStatus::pruned;
                    } else {
                        r.status = AnchorStatus::pruned;
                    }
                    break;
                }
                if (*a.batch > j->last_batch) {
                    r.status = AnchorStatus::beyond_end;
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    j->truncated = true;
                    j->truncated_after = j->last_batch;
                    break;
                }
                bool has_batch = std::any_of(j->links.begin(), j->links.end(),
                                             [&](const BatchLink& l) { return l.batch_id == *a.batch; });
                if (has_batch) {
                    r.status = AnchorStatus::mismatch;
                    r.journal = j->path;
                    r.batch = *a.batch;
                    r.journal_last_batch = j->last_batch;
                    break;
                }
            }
        }
        report.anchors.push_back(r);
    }
}

// ---------------------------------------------------------------- output

namespace {

std::string term(std::string_view s) {
    return escape_for_terminal(s);
}

std::string wall(int64_t ns) {
    return format_rfc3339_ns(ns);
}

std::string duration_words(int64_t ns) {
    if (ns < 0) return "overlaps (" + format_duration_short(ns) + ")";
    std::string s = format_duration_short(ns);
    return s.substr(1);  // no '+'
}

// `rows` > 1: the finding stands for that many consecutive rowids.
std::string finding_line(const Finding& f, int64_t rows = 1) {
    std::string where;
    if (f.batch != 0) where = fmt::format("batch {}", f.batch);
    if (!f.table.empty() && f.table != "batches") {
        if (!where.empty()) where += ", ";
        where += f.table;
        if (f.rowid && rows > 1) {
            where +=
                fmt::format(" rowids {}-{}{}", *f.rowid, *f.rowid + rows - 1, f.rowid_inferred ? " (inferred)" : "");
        } else if (f.rowid) {
            where += fmt::format(" rowid {}{}", *f.rowid, f.rowid_inferred ? " (inferred)" : "");
        }
    }
    std::string kind = finding_kind_name(f.kind);
    std::replace(kind.begin(), kind.end(), '_', ' ');
    return where.empty() ? fmt::format("{}: {}", kind, term(f.detail))
                         : fmt::format("{}: {}: {}", where, kind, term(f.detail));
}

std::string anchor_label(const Anchor& a) {
    std::string s = "hash=" + to_hex(a.hash);
    if (a.batch) s = fmt::format("batch={} {}", *a.batch, s);
    if (!a.node.empty()) s = fmt::format("node={} {}", term(a.node), s);
    return s;
}

std::string anchor_line(const AnchorResult& r) {
    switch (r.status) {
        case AnchorStatus::found:
            return fmt::format("anchor found: {} at batch {} of {}{}", anchor_label(r.anchor), r.batch, term(r.journal),
                               r.batch_verified ? "" : " (but that batch does not verify: see above)");
        case AnchorStatus::beyond_end:
            return fmt::format(
                "anchor not in chain: {}: {} ends at batch {}: truncated after batch {} (the batches after it, "
                "which existed when the anchor was taken, are missing)",
                anchor_label(r.anchor), term(r.journal), r.journal_last_batch, r.journal_last_batch);
        case AnchorStatus::mismatch:
            return fmt::format(
                "anchor not in chain: {}: batch {} of {} has another hash: the chain was rewritten up to there",
                anchor_label(r.anchor), r.batch, term(r.journal));
        case AnchorStatus::not_in_chain:
            return fmt::format("anchor not in chain: {}: no batch of {} has this hash{}", anchor_label(r.anchor),
                               r.anchor.batch ? "the journal" : "any journal",
                               r.anchor.batch ? "" : " (give the whole anchor line, with batch=N, to check an anchor "
                                                     "of a pruned journal)");
        case AnchorStatus::pruned:
            return r.batch_verified
                       ? fmt::format("anchor pruned: {}: batch {} of {} was deleted by retention; its hash is the one "
                                     "the prune recorded",
                                     anchor_label(r.anchor), r.batch, term(r.journal))
                       : fmt::format("anchor pruned: {}: batch {} of {} was deleted by retention; it cannot be checked",
                                     anchor_label(r.anchor), r.batch, term(r.journal));
    }
    return "";
}

std::string end_line(const JournalVerdict& v) {
    if (v.batches == 0) return "holds no batches";
    const RunSummary* last = v.last_run();
    if (v.truncated) return fmt::format("truncated after batch {}", v.truncated_after);
    if (!last) return fmt::format("ends at batch {}", v.last_batch);
    if (last->clean()) {
        return fmt::format("ends at batch {} (run {} stopped cleanly: {})", v.last_batch, last->run_id,
                           term(last->stop_reason));
    }
    return fmt::format("ends at batch {} (run {} was not stopped cleanly)", v.last_batch, last->run_id);
}

}  // namespace

std::string render_verify_text(const VerifyReport& report) {
    std::string out;
    for (const auto& v : report.journals) {
        std::string status = v.status();
        out += fmt::format(
            "{}: {}\n", term(v.path), status == "whole" ? status : [&] {
                std::string up = status;
                for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                return up;
            }());
        if (!v.opened) {
            for (const auto& f : v.findings) out += fmt::format("  {}\n", finding_line(f));
            continue;
        }
        if (v.read_from_copy) out += "  read with its -wal file, from a private copy\n";
        out += fmt::format("  schema: application_id 0x{:08X}, version {}\n", static_cast<uint32_t>(v.application_id),
                           v.user_version);
        if (v.integrity.empty()) {
            out += "  integrity: ok\n";
        } else {
            out += fmt::format("  integrity: {} problem(s)\n", v.integrity.size());
            for (const auto& line : v.integrity) out += fmt::format("    {}\n", term(line));
        }
        size_t verified = std::count_if(v.links.begin(), v.links.end(), [](const BatchLink& l) { return l.verified; });
        if (v.batches == 0) {
            out += "  chain: no batches\n";
        } else {
            out += fmt::format("  chain: {} batches ({}-{}), {} rows; {} of {} links verify\n", v.batches,
                               v.first_batch, v.last_batch, v.rows, verified, v.links.size());
            out += fmt::format("  head: batch {} hash {}\n", v.links.back().batch_id, to_hex(v.links.back().hash));
        }
        if (v.pruned) {
            const PruneSummary& p = *v.pruned;
            out += fmt::format(
                "  pruned: batches 1-{} (committed up to {}) deleted by retention ({}), {} event rows in {} prune(s); "
                "the chain verifies from batch {}\n",
                p.through_batch, wall(p.through_wall_ns), term(p.reason), p.rows, p.prunes, sat_add(p.through_batch, 1));
        }
        if (!v.findings.empty()) {
            out += fmt::format("  findings: {}\n", v.findings.size() + v.findings_omitted);
            // Consecutive rows with the same finding share a line.
            for (size_t i = 0; i < v.findings.size();) {
                const Finding& f = v.findings[i];
                size_t n = 1;
                while (f.rowid && i + n < v.findings.size()) {
                    const Finding& g = v.findings[i + n];
                    if (g.kind != f.kind || g.batch != f.batch || g.table != f.table || g.detail != f.detail ||
                        g.rowid_inferred != f.rowid_inferred || g.rowid != *f.rowid + static_cast<int64_t>(n)) {
                        break;
                    }
                    ++n;
                }
                out += fmt::format("    {}\n", finding_line(f, static_cast<int64_t>(n)));
                i += n;
            }
            if (v.findings_omitted) out += fmt::format("    ... and {} more\n", v.findings_omitted);
        }
        out += fmt::format("  runs: {}\n", v.runs.size());
        for (size_t i = 0; i < v.runs.size(); ++i) {
            const RunSummary& r = v.runs[i];
            std::string end = r.clean() ? fmt::format("stopped {} ({})", wall(*r.stopped_wall_ns), term(r.stop_reason))
                              : r.last_commit_wall_ns
                                  ? fmt::format("not stopped cleanly, last batch {}", wall(*r.last_commit_wall_ns))
                                  : std::string("not stopped cleanly");
            const std::string batches = r.first_batch ? fmt::format("batches {}-{}", r.first_batch, r.last_batch)
                                                      : std::string(v.pruned ? "all its batches pruned" : "no batches");
            out += fmt::format("    run {}: node {} boot {}: started {}, {}; {}\n", r.run_id, term(r.node),
                               term(r.boot_id), wall(r.started_wall_ns), end, batches);
            if (r.events) out += fmt::format("      {} events stored, {} lost\n", *r.events, r.lost.value_or(0));
            if (i < v.gaps.size()) {
                const RunGap& g = v.gaps[i];
                out += fmt::format("    gap: {} not recorded between run {} and run {} ({} to {}){}\n",
                                   duration_words(g.to_wall_ns - g.from_wall_ns), g.after_run, g.before_run,
                                   wall(g.from_wall_ns), wall(g.to_wall_ns), g.reboot ? ", across a reboot" : "");
            }
        }
        int64_t lost = 0;
        for (const auto& l : v.losses) lost += l.count;
        out += fmt::format("  loss records: {} ({} events)\n", v.losses.size(), lost);
        for (const auto& l : v.losses) {
            out += fmt::format("    {} events {}: {} to {} (batch {})\n", l.count, term(l.reason), wall(l.from_wall_ns),
                               wall(l.to_wall_ns), l.batch);
        }
        out += fmt::format("  {}\n", end_line(v));
    }
    for (const auto& a : report.anchors) out += anchor_line(a) + "\n";
    out += report.whole() ? "result: whole\n" : "result: NOT whole\n";
    return out;
}

std::string render_verify_json(const VerifyReport& report) {
    // In the order the man page documents, not sorted.
    using json = nlohmann::ordered_json;
    auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
    auto opt_wall = [](const std::optional<int64_t>& v) { return v ? json(wall(*v)) : json(nullptr); };
    json doc = json::object();
    doc["format_version"] = 1;
    doc["whole"] = report.whole();
    doc["journals"] = json::array();
    for (const auto& v : report.journals) {
        json j = json::object();
        j["path"] = v.path;
        j["status"] = v.status();
        j["read_from_copy"] = v.read_from_copy;
        j["opened"] = v.opened;
        j["schema"] = {{"application_id", v.application_id}, {"user_version", v.user_version}};
        j["integrity"] = {{"ok", v.integrity.empty() && v.opened}, {"messages", v.integrity}};
        size_t verified = std::count_if(v.links.begin(), v.links.end(), [](const BatchLink& l) { return l.verified; });
        json head = nullptr;
        if (!v.links.empty()) head = {{"batch", v.links.back().batch_id}, {"hash", to_hex(v.links.back().hash)}};
        j["chain"] = {{"batches", v.batches}, {"first_batch", v.first_batch}, {"last_batch", v.last_batch},
                      {"rows", v.rows},       {"verified_links", verified},   {"head", head}};
        json pruned = nullptr;
        if (v.pruned) {
            pruned = {{"through_batch", v.pruned->through_batch},
                      {"through", wall(v.pruned->through_wall_ns)},
                      {"through_hash", to_hex(v.pruned->through_hash)},
                      {"prunes", v.pruned->prunes},
                      {"rows", v.pruned->rows},
                      {"reason", v.pruned->reason},
                      {"batch", v.pruned->batch}};
        }
        j["pruned"] = pruned;
        const RunSummary* last = v.last_run();
        j["end"] = {{"batch", v.last_batch},
                    {"run", last ? json(last->run_id) : json(nullptr)},
                    {"clean", last ? last->clean() : false},
                    {"truncated", v.truncated},
                    {"text", end_line(v)}};
        j["runs"] = json::array();
        for (const auto& r : v.runs) {
            j["runs"].push_back({{"run_id", r.run_id},
                                 {"node", r.node},
                                 {"boot_id", r.boot_id},
                                 {"started", wall(r.started_wall_ns)},
                                 {"stopped", opt_wall(r.stopped_wall_ns)},
                                 {"clean", r.clean()},
                                 {"stop_reason", r.clean() ? json(r.stop_reason) : json(nullptr)},
                                 {"events", opt(r.events)},
                                 {"lost", opt(r.lost)},
                                 {"first_batch", r.first_batch},
                                 {"last_batch", r.last_batch},
                                 {"batches", r.batches},
                                 {"last_commit", opt_wall(r.last_commit_wall_ns)}});
        }
        j["gaps"] = json::array();
        for (const auto& g : v.gaps) {
            j["gaps"].push_back({{"after_run", g.after_run},
                                 {"before_run", g.before_run},
                                 {"from", wall(g.from_wall_ns)},
                                 {"to", wall(g.to_wall_ns)},
                                 {"seconds", static_cast<double>(g.to_wall_ns - g.from_wall_ns) / 1e9},
                                 {"reboot", g.reboot}});
        }
        int64_t lost = 0;
        json items = json::array();
        for (const auto& l : v.losses) {
            lost += l.count;
            items.push_back({{"batch", l.batch},
                             {"run_id", l.run_id},
                             {"from", wall(l.from_wall_ns)},
                             {"to", wall(l.to_wall_ns)},
                             {"count", l.count},
                             {"reason", l.reason}});
        }
        j["losses"] = {{"records", v.losses.size()}, {"events", lost}, {"items", items}};
        j["findings"] = json::array();
        for (const auto& f : v.findings) {
            j["findings"].push_back({{"kind", finding_kind_name(f.kind)},
                                     {"batch", f.batch ? json(f.batch) : json(nullptr)},
                                     {"table", f.table.empty() ? json(nullptr) : json(f.table)},
                                     {"rowid", opt(f.rowid)},
                                     {"rowid_inferred", f.rowid_inferred},
                                     {"detail", f.detail}});
        }
        j["findings_omitted"] = v.findings_omitted;
        doc["journals"].push_back(j);
    }
    doc["anchors"] = json::array();
    for (const auto& a : report.anchors) {
        doc["anchors"].push_back({{"input", a.anchor.input},
                                  {"hash", to_hex(a.anchor.hash)},
                                  {"anchor_batch", a.anchor.batch ? json(*a.anchor.batch) : json(nullptr)},
                                  {"status", anchor_status_name(a.status)},
                                  {"journal", a.journal.empty() ? json(nullptr) : json(a.journal)},
                                  {"batch", a.batch ? json(a.batch) : json(nullptr)},
                                  {"batch_verified", a.batch_verified},
                                  {"text", anchor_line(a)}});
    }
    // Strings from the journal are bytes anyone could have written: never
    // let one abort the output.
    return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lineage
