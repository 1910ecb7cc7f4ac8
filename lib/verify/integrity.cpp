#include "integrity.h"

#include <sqlite3.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "bytes.h"
#include "journal_format.h"
#include "siphash.h"

namespace lineage {

namespace {

constexpr size_t kMaxProblems = 100;
// Out-of-order entries reported per index: one is enough to condemn it.
constexpr int kMaxOrderProblemsPerIndex = 5;

// An index of schema/journal.sql, as this build knows it.
struct IndexSpec {
    std::string name, table;
    std::vector<std::string> columns;  // key columns, in order
    std::string where;                 // a partial index's condition; empty when total
};

// The schema compiled into this binary: its tables' and indexes' SQL, and
// its indexes. From journal_schema_objects(), never from the journal, whose
// SQL is the attacker's: these names and conditions are the only text the
// checks below put into SQL.
struct CompiledSchema {
    std::map<std::string, std::string> objects;  // name -> normalized SQL
    std::vector<IndexSpec> indexes;              // empty: the proof does not apply
    // Indexes on expressions (schema version 4's exit_by_life, exec_by_base,
    // snapshot_by_base): this proof cannot compute their keys, so it leaves
    // them to SQLite's integrity_check (the complete check).
    std::set<std::string> expression_indexes;
};

CompiledSchema compiled_schema() {
    const auto& loaded = journal_schema_objects();
    if (!loaded) return {};  // verify's schema check reports it
    CompiledSchema schema;
    for (const SchemaObject& o : *loaded) {
        const std::string sql = normalized_sql(o.sql);
        schema.objects[o.name] = sql;
        if (o.type != "index") continue;
        IndexSpec s{o.name, o.table, o.columns, ""};
        if (auto at = sql.find(" WHERE "); at != std::string::npos) s.where = sql.substr(at + 7);
        if (s.columns.empty()) return {};
        if (std::count(s.columns.begin(), s.columns.end(), "")) {
            schema.expression_indexes.insert(o.name);
            continue;
        }
        schema.indexes.push_back(std::move(s));
    }
    return schema;
}

// True when the proof below means for this journal what it says: UTF-8 text
// (it compares text as UTF-8 bytes; a UTF-16 journal's are converted), every
// table and index exactly as compiled (a column collation or a column named
// rowid would change what its SQL means), and SQLite's dbstat table, which
// it reads the indexes' sizes from. An older journal may lack later tables.
bool proof_applies(Database& db, const CompiledSchema& schema) {
    if (schema.indexes.empty()) return false;
    auto enc = db.prepare("PRAGMA encoding");
    if (!enc || enc->step() != SQLITE_ROW || enc->text(0) != "UTF-8") return false;
    auto stmt = db.prepare("SELECT type, name, sql FROM sqlite_schema");
    if (!stmt) return false;
    size_t indexes = 0;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        const std::string type = stmt->text(0), name = stmt->text(1);
        if (type != "table" && type != "index") return false;                  // a view or a trigger
        if (sqlite3_column_type(stmt->get(), 2) != SQLITE_TEXT) return false;  // an automatic index
        auto it = schema.objects.find(name);
        if (it == schema.objects.end() || it->second != normalized_sql(stmt->text(2))) return false;
        if (type == "index" && !schema.expression_indexes.count(name)) ++indexes;
    }
    if (rc != SQLITE_DONE || indexes != schema.indexes.size()) return false;
    return db.prepare("SELECT ncell, payload FROM dbstat WHERE name = ?1 AND aggregate = TRUE").ok();
}

// A key of the run's own, from the kernel's random source.
std::optional<SipKey> run_key() {
    SipKey key{};
    if (getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) return std::nullopt;
    return key;
}

uint64_t varint_size(uint64_t v) {
    uint64_t n = 1;
    while (v > 0x7f && n < 9) {
        v >>= 7;
        ++n;
    }
    return n;
}

// An index entry's size in SQLite's record format (file format 4, the
// default): the header (its own size, then each value's serial type) and
// the values, each as small as SQLite writes it. dbstat's payload of an
// index is the sum of these over its entries, byte for byte.
class RecordSize {
public:
    void add(sqlite3_value* v) {
        uint64_t type = 0, size = 0;
        switch (sqlite3_value_type(v)) {
            case SQLITE_INTEGER: {
                const int64_t i = sqlite3_value_int64(v);
                const uint64_t u = i < 0 ? ~static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
                if (i == 0 || i == 1) {
                    type = 8 + static_cast<uint64_t>(i);
                } else if (u <= 127) {
                    type = 1, size = 1;
                } else if (u <= 32767) {
                    type = 2, size = 2;
                } else if (u <= 8388607) {
                    type = 3, size = 3;
                } else if (u <= 2147483647) {
                    type = 4, size = 4;
                } else if (u <= 0x00007fffffffffffULL) {
                    type = 5, size = 6;
                } else {
                    type = 6, size = 8;
                }
                break;
            }
            case SQLITE_FLOAT:
                type = 7, size = 8;
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                size = static_cast<uint64_t>(sqlite3_value_bytes(v));
                type = size * 2 + (sqlite3_value_type(v) == SQLITE_TEXT ? 13 : 12);
                break;
            }
            default:
                break;
        }
        header_ += varint_size(type);
        body_ += size;
    }
    uint64_t total() const {
        // The header's own size counts itself (as sqlite3VdbeExec's
        // OP_MakeRecord works it out).
        uint64_t header = header_;
        if (header <= 126) {
            header += 1;
        } else {
            const uint64_t n = varint_size(header);
            header += n;
            if (n < varint_size(header)) ++header;
        }
        return header + body_;
    }

private:
    uint64_t header_ = 0, body_ = 0;
};

// One value of an index entry, typed as SQLite stored it: a type byte, then
// 8 bytes for numbers, or a 4-byte length and the bytes.
void append_value(std::string& out, sqlite3_value* v) {
    const int type = sqlite3_value_type(v);
    out.push_back(static_cast<char>(type));
    switch (type) {
        case SQLITE_INTEGER:
            append_be(out, static_cast<uint64_t>(sqlite3_value_int64(v)), 8);
            break;
        case SQLITE_FLOAT: {
            double d = sqlite3_value_double(v);
            uint64_t bits = 0;
            std::memcpy(&bits, &d, sizeof(bits));
            append_be(out, bits, 8);
            break;
        }
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const void* p =
                type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(v)) : sqlite3_value_blob(v);
            const auto n = static_cast<uint32_t>(sqlite3_value_bytes(v));
            append_be(out, n, 4);
            if (p && n) out.append(static_cast<const char*>(p), n);
            break;
        }
        default:
            break;
    }
}

// A key value held for comparing with the next entry's.
struct KeyValue {
    int type = SQLITE_NULL;
    int64_t i = 0;
    double r = 0;
    std::string bytes;

    void set(sqlite3_value* v) {
        type = sqlite3_value_type(v);
        if (type == SQLITE_INTEGER) i = sqlite3_value_int64(v);
        if (type == SQLITE_FLOAT) r = sqlite3_value_double(v);
        if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void* p =
                type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(v)) : sqlite3_value_blob(v);
            bytes.assign(p ? static_cast<const char*>(p) : "", static_cast<size_t>(sqlite3_value_bytes(v)));
        }
    }
};

// SQLite's order of values in an index with the BINARY collation: NULL,
// then numbers by value, then text, then blobs, both by their bytes.
int type_class(int type) {
    switch (type) {
        case SQLITE_NULL:
            return 0;
        case SQLITE_INTEGER:
        case SQLITE_FLOAT:
            return 1;
        case SQLITE_TEXT:
            return 2;
        default:
            return 3;
    }
}

int compare(const KeyValue& a, const KeyValue& b) {
    const int ca = type_class(a.type), cb = type_class(b.type);
    if (ca != cb) return ca < cb ? -1 : 1;
    if (ca == 1) {
        if (a.type == SQLITE_INTEGER && b.type == SQLITE_INTEGER) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
        const long double x = a.type == SQLITE_INTEGER ? static_cast<long double>(a.i) : a.r;
        const long double y = b.type == SQLITE_INTEGER ? static_cast<long double>(b.i) : b.r;
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (ca >= 2) {
        const int c = a.bytes.compare(b.bytes);
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    return 0;
}

// What one side (a table's rows, or an index's entries) says an index holds.
struct Multiset {
    int64_t count = 0;
    uint64_t sum = 0;      // of siphash24(entry), modulo 2^64
    uint64_t payload = 0;  // record bytes the entries take (index side only)
};

class IndexChecker {
public:
    IndexChecker(Database& db, const SipKey& key, std::vector<std::string>& problems)
        : db_(db), problems_(problems), key_(key) {}

    void run(const std::vector<IndexSpec>& specs) {
        std::map<std::string, std::vector<const IndexSpec*>> by_table;
        for (const auto& s : specs) by_table[s.table].push_back(&s);
        for (const auto& [table, indexes] : by_table) {
            std::vector<Multiset> from_rows(indexes.size());
            if (!scan_table(table, indexes, from_rows)) continue;
            for (size_t i = 0; i < indexes.size(); ++i) {
                Multiset from_index;
                if (!scan_index(*indexes[i], from_index)) continue;
                compare_sides(*indexes[i], from_rows[i], from_index);
            }
        }
    }

private:
    void problem(std::string line) {
        if (problems_.size() < kMaxProblems) problems_.push_back(std::move(line));
    }

    void add_entry(Multiset& m) {
        ++m.count;
        m.sum += siphash24(key_, entry_.data(), entry_.size());
    }

    // The entries each index of `table` should hold, from one scan of it.
    bool scan_table(const std::string& table, const std::vector<const IndexSpec*>& indexes,
                    std::vector<Multiset>& out) {
        // rowid, every key column once, then each partial index's condition
        // as SQLite decides it for a WHERE.
        std::vector<std::string> columns;
        std::vector<std::vector<int>> positions(indexes.size());
        std::vector<int> condition(indexes.size(), -1);
        for (size_t i = 0; i < indexes.size(); ++i) {
            for (const auto& c : indexes[i]->columns) {
                auto it = std::find(columns.begin(), columns.end(), c);
                if (it == columns.end()) it = columns.insert(columns.end(), c);
                positions[i].push_back(1 + static_cast<int>(it - columns.begin()));
            }
        }
        std::string sql = "SELECT rowid";
        for (const auto& c : columns) sql += ", " + c;
        int next = 1 + static_cast<int>(columns.size());
        for (size_t i = 0; i < indexes.size(); ++i) {
            if (indexes[i]->where.empty()) continue;
            sql += fmt::format(", CASE WHEN ({}) THEN 1 ELSE 0 END", indexes[i]->where);
            condition[i] = next++;
        }
        sql += fmt::format(" FROM {} NOT INDEXED", table);
        auto stmt = db_.prepare(sql);
        if (!stmt) {
            problem(fmt::format("cannot read table {} to check its indexes: {}", table, db_.errmsg()));
            return false;
        }
        sqlite3_stmt* s = stmt->get();
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            sqlite3_value* rowid = sqlite3_column_value(s, 0);
            for (size_t i = 0; i < indexes.size(); ++i) {
                if (condition[i] >= 0 && sqlite3_column_int64(s, condition[i]) == 0) continue;
                entry_.clear();
                for (int p : positions[i]) append_value(entry_, sqlite3_column_value(s, p));
                append_value(entry_, rowid);
                add_entry(out[i]);
            }
        }
        if (rc != SQLITE_DONE) {
            problem(fmt::format("cannot read table {} to check its indexes: {}", table, db_.errmsg()));
            return false;
        }
        return true;
    }

    // The entries the index holds, in its own order, which must be strictly
    // increasing (key columns, then rowid).
    bool scan_index(const IndexSpec& index, Multiset& out) {
        std::string sql = "SELECT ";
        for (const auto& c : index.columns) sql += c + ", ";
        sql += fmt::format("rowid FROM {} INDEXED BY {}", index.table, index.name);
        // A partial index can only be named for a query its condition
        // covers. SQLite takes the condition as true of every entry and
        // does not test it; whether it does or not, the entry count of
        // dbstat below sees every entry.
        if (!index.where.empty()) sql += " WHERE " + index.where;
        auto stmt = db_.prepare(sql);
        if (!stmt) {
            problem(fmt::format("cannot read index {}: {}", index.name, db_.errmsg()));
            return false;
        }
        sqlite3_stmt* s = stmt->get();
        const int n = static_cast<int>(index.columns.size()) + 1;  // with the rowid
        std::vector<KeyValue> prev(static_cast<size_t>(n)), cur(static_cast<size_t>(n));
        int out_of_order = 0;
        int rc;
        while ((rc = stmt->step()) == SQLITE_ROW) {
            entry_.clear();
            RecordSize record;
            for (int c = 0; c < n; ++c) {
                sqlite3_value* v = sqlite3_column_value(s, c);
                append_value(entry_, v);
                record.add(v);
                cur[static_cast<size_t>(c)].set(v);
            }
            out.payload += record.total();
            if (out.count > 0) {
                int cmp = 0;
                for (size_t c = 0; c < cur.size() && cmp == 0; ++c) cmp = compare(prev[c], cur[c]);
                if (cmp >= 0 && out_of_order++ < kMaxOrderProblemsPerIndex) {
                    problem(
                        fmt::format("index {}: entry {} (rowid {}) is out of order: look-ups through the index "
                                    "can miss rows",
                                    index.name, out.count + 1, cur.back().i));
                }
            }
            std::swap(prev, cur);
            add_entry(out);
        }
        if (rc != SQLITE_DONE) {
            problem(fmt::format("cannot read index {}: {}", index.name, db_.errmsg()));
            return false;
        }
        return check_size(index, out);
    }

    // The scan sees each entry's key columns and rowid, nothing else: an
    // entry with a field more, or a scan that skipped entries, shows in the
    // index's pages, as counted by dbstat.
    bool check_size(const IndexSpec& index, const Multiset& scanned) {
        auto stmt = db_.prepare("SELECT ncell, payload FROM dbstat WHERE name = ?1 AND aggregate = TRUE");
        if (!stmt) {
            problem(fmt::format("cannot read the size of index {}: {}", index.name, db_.errmsg()));
            return false;
        }
        stmt->bind(1, std::string_view(index.name));
        if (stmt->step() != SQLITE_ROW) {
            problem(fmt::format("cannot read the size of index {}: {}", index.name, db_.errmsg()));
            return false;
        }
        const int64_t cells = stmt->int64(0);
        const auto payload = static_cast<uint64_t>(stmt->int64(1));
        if (cells != scanned.count) {
            problem(fmt::format("index {}: its pages hold {} entries, a scan through it reads {}", index.name, cells,
                                scanned.count));
        } else if (payload != scanned.payload) {
            problem(
                fmt::format("index {}: its entries take {} bytes, {} more than their keys and rowids need: they "
                            "hold what no query reads",
                            index.name, payload, static_cast<int64_t>(payload - scanned.payload)));
        }
        return true;
    }

    void compare_sides(const IndexSpec& index, const Multiset& rows, const Multiset& entries) {
        if (rows.count != entries.count) {
            problem(fmt::format("index {} has {} entries; table {} has {} rows that need one", index.name,
                                entries.count, index.table, rows.count));
        } else if (rows.sum != entries.sum) {
            problem(
                fmt::format("index {} does not match table {}: entries are missing, extra or point at the "
                            "wrong rows",
                            index.name, index.table));
        }
    }

    Database& db_;
    std::vector<std::string>& problems_;
    const SipKey key_;
    std::string entry_;
};

}  // namespace

namespace {
// The lines of an integrity pragma other than "ok".
void pragma_problems(Database& db, const char* pragma, std::vector<std::string>& problems) {
    auto stmt = db.prepare(fmt::format("PRAGMA {}({})", pragma, kMaxProblems));
    if (!stmt) {
        problems.push_back(fmt::format("cannot run {}: {}", pragma, db.errmsg()));
        return;
    }
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        std::string line = stmt->text(0);
        if (line != "ok") problems.push_back(line);
    }
    if (rc != SQLITE_DONE && problems.size() < kMaxProblems) {
        problems.push_back(fmt::format("{} stopped: {}", pragma, db.errmsg()));
    }
}
}  // namespace

std::vector<std::string> full_integrity_check(Database& db) {
    std::vector<std::string> problems;
    pragma_problems(db, "integrity_check", problems);
    return problems;
}

std::vector<std::string> check_integrity(Database& db, bool schema_is_lineages) {
    std::vector<std::string> problems;
    if (!schema_is_lineages) {
        pragma_problems(db, "quick_check", problems);
        return problems;
    }
    const CompiledSchema schema = compiled_schema();
    const auto key = run_key();
    if (!key || !proof_applies(db, schema)) return full_integrity_check(db);
    pragma_problems(db, "quick_check", problems);
    IndexChecker(db, *key, problems).run(schema.indexes);
    return problems;
}

}  // namespace lineage
