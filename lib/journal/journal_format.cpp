#include "journal_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fd.h"
#include "journal_schema.h"

namespace lineage {

namespace {

constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

}  // namespace

int64_t version_added(ChainTable t) {
    switch (t) {
        case ChainTable::prunes:
            return 2;
        case ChainTable::cgroups:
        case ChainTable::memberships:
            return 3;
        case ChainTable::carried:
            return 4;
        case ChainTable::unexited:
            return 5;
        case ChainTable::containers:
            return 7;
        case ChainTable::exec_files:
        case ChainTable::file_hashes:
        case ChainTable::listens:
            return 8;
        case ChainTable::dns:
            return 10;
        case ChainTable::dns_names:
            return 11;
        default:
            return 1;
    }
}

int64_t version_added(std::string_view name) {
    for (size_t i = 0; i < kChainTableCount; ++i) {
        if (name == table_name(table_at(i))) return version_added(table_at(i));
    }
    return 1;
}

const char* journal_schema_sql() {
    return kJournalSchemaSql;
}

namespace {

// Indexes that schema/journal.sql had and a later version dropped, with the
// version that dropped them: a journal of an older version still has them,
// and verify and the readers compare it with what its version wrote. Their
// SQL exactly as the version that made them had it (sqlite_schema keeps it).
struct RetiredObject {
    const char* name;
    int64_t retired_in;
    const char* sql;
};
constexpr RetiredObject kRetiredSchema[] = {
    // --binary's base names of version 4 and 5, replaced in version 6 by
    // exec_by_binary: the expression cost the writer a third of its ingest
    // rate (bench/results/writer.txt).
    {"exec_by_base", 6,
     "CREATE INDEX exec_by_base ON exec (substr(binary, length(CAST(rtrim(binary, replace(binary, '/', '')) AS "
     "BLOB)) + 1))"},
};

Error schema_error(const std::string& why) {
    return Error{"the compiled-in schema cannot be loaded: " + why};
}

Result<std::vector<SchemaObject>> load_schema_objects() {
    auto mem = Database::open_write(":memory:");
    if (!mem) return schema_error("cannot open an in-memory database: " + mem.error().message);
    if (auto st = mem->exec(journal_schema_sql()); !st) return schema_error("SQLite refuses it: " + st.error().message);
    for (const RetiredObject& r : kRetiredSchema) {
        if (auto st = mem->exec(r.sql); !st)
            return schema_error("SQLite refuses " + std::string(r.name) + ": " + st.error().message);
    }
    auto stmt = mem->prepare(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema "
        "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    if (!stmt) return schema_error("cannot read sqlite_schema: " + stmt.error().message);
    std::vector<SchemaObject> objects;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        objects.push_back(SchemaObject{stmt->text(0), stmt->text(1), stmt->text(2), stmt->text(3), {}});
    }
    if (rc != SQLITE_DONE) return schema_error("cannot read sqlite_schema: " + mem->errmsg());
    for (auto& o : objects) {
        for (const RetiredObject& r : kRetiredSchema)
            if (o.name == r.name) o.retired_in = r.retired_in;
    }
    for (auto& o : objects) {
        if (o.type != "index") continue;
        auto cols = mem->prepare("SELECT coalesce(name, '') FROM pragma_index_info(?1) ORDER BY seqno");
        if (!cols) return schema_error("cannot read the columns of index " + o.name + ": " + cols.error().message);
        cols->bind(1, std::string_view(o.name));
        while ((rc = cols->step()) == SQLITE_ROW) o.columns.push_back(cols->text(0));
        if (rc != SQLITE_DONE) return schema_error("cannot read the columns of index " + o.name + ": " + mem->errmsg());
    }
    return objects;
}

}  // namespace

const Result<std::vector<SchemaObject>>& journal_schema_objects() {
    static const Result<std::vector<SchemaObject>> objects = load_schema_objects();
    return objects;
}

int64_t index_version_added(std::string_view name) {
    if (name == "exit_by_life" || name == "exec_by_base" || name == "snapshot_by_base") return 4;
    if (name == "memberships_moves_by_pod") return 5;
    if (name == "exec_by_binary") return 6;
    for (std::string_view by_start : {"fork_by_start", "exec_by_start", "exit_by_start", "connect_by_start",
                                      "memberships_by_start", "exec_files_by_start", "listens_by_start"}) {
        if (name == by_start) return 9;
    }
    return 0;
}

int64_t first_schema_version(const SchemaObject& object) {
    if (object.type == "index") {
        if (int64_t v = index_version_added(object.name)) return v;
    }
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (object.table != table_name(t)) continue;
        for (int64_t v = kOldestJournalSchemaVersion; v <= kJournalSchemaVersion; ++v) {
            if (table_in_version(t, v)) return v;
        }
    }
    return kOldestJournalSchemaVersion;
}

std::vector<SchemaObject> schema_objects_of_version(const std::vector<SchemaObject>& compiled, int64_t version) {
    std::vector<SchemaObject> out;
    for (const SchemaObject& o : compiled) {
        if (first_schema_version(o) <= version && (o.retired_in == 0 || version < o.retired_in)) out.push_back(o);
    }
    return out;
}

std::string normalized_sql(std::string_view sql) {
    std::string out;
    bool quoted = false, space = false;
    for (size_t i = 0; i < sql.size(); ++i) {
        char c = sql[i];
        if (!quoted && c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            while (i < sql.size() && sql[i] != '\n') ++i;
            space = true;
            continue;
        }
        if (c == '\'') quoted = !quoted;
        if (!quoted && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

namespace {

// A name from the journal, for a message: the attacker chooses its length.
std::string short_name(const std::string& name) {
    constexpr size_t kMax = 64;
    if (name.size() <= kMax) return name;
    return name.substr(0, kMax) + fmt::format("... ({} bytes)", name.size());
}

}  // namespace

SchemaComparer::SchemaComparer(const std::vector<SchemaObject>& want) : want_(want), seen_(want.size(), false) {}

void SchemaComparer::mismatch(SchemaMismatch m) {
    if (out_.size() < kMaxSchemaMismatches) {
        out_.push_back(std::move(m));
    } else {
        ++omitted_;
    }
}

void SchemaComparer::add(const SchemaRow& row) {
    const std::string name = short_name(row.name), type = short_name(row.type);
    size_t i = 0;
    while (i < want_.size() && want_[i].name != row.name) ++i;
    if (i == want_.size()) {
        std::string why = fmt::format("{} {} is not part of the schema", type, name);
        if (row.name.rfind("sqlite_stat", 0) == 0) why += " (planted statistics: lineage never runs ANALYZE)";
        // A table or view of a schema table's name, in any case: SQLite's
        // names are case-insensitive, so it could stand in for it.
        bool on_table = false;
        for (const SchemaObject& w : want_) {
            on_table |= w.type == "table" && strcasecmp(w.name.c_str(), row.name.c_str()) == 0;
        }
        mismatch(SchemaMismatch{SchemaMismatch::Kind::added, row.type, row.name, on_table, std::move(why)});
        return;
    }
    const SchemaObject& w = want_[i];
    const bool on_table = w.type == "table";
    if (seen_[i]) {
        mismatch(SchemaMismatch{SchemaMismatch::Kind::added, row.type, row.name, on_table,
                                fmt::format("a second {} {} is not part of the schema", type, name)});
        return;
    }
    seen_[i] = true;
    if (row.type != w.type) {
        mismatch(SchemaMismatch{SchemaMismatch::Kind::replaced, row.type, row.name, on_table || row.type == "table",
                                fmt::format("{} {} replaces {} {}", type, name, w.type, w.name)});
    } else if (row.sql_null || row.table != w.table || normalized_sql(row.sql) != normalized_sql(w.sql)) {
        mismatch(SchemaMismatch{SchemaMismatch::Kind::differs, row.type, row.name, on_table,
                                fmt::format("{} {} differs from the schema", type, name)});
    }
}

std::vector<SchemaMismatch> SchemaComparer::finish() {
    for (size_t i = 0; i < want_.size(); ++i) {
        if (!seen_[i]) {
            mismatch(SchemaMismatch{SchemaMismatch::Kind::missing, want_[i].type, want_[i].name,
                                    want_[i].type == "table",
                                    fmt::format("{} {} is missing", want_[i].type, want_[i].name)});
        }
    }
    // What the one-line summary names first: a table replaced, gone or
    // shadowed, then a table changed, then the rest, each in
    // sqlite_schema's order.
    auto rank = [](const SchemaMismatch& m) {
        if (!m.on_table) return 2;
        return m.kind == SchemaMismatch::Kind::differs ? 1 : 0;
    };
    std::stable_sort(out_.begin(), out_.end(),
                     [&](const SchemaMismatch& a, const SchemaMismatch& b) { return rank(a) < rank(b); });
    return std::move(out_);
}

bool SchemaCheck::tables_readable() const {
    for (const auto& m : mismatches) {
        if (m.on_table) return false;
    }
    return true;
}

std::string SchemaCheck::summary() const {
    if (mismatches.empty()) return "";
    const size_t more = mismatches.size() - 1 + omitted;
    if (more == 0) return mismatches.front().message;
    return fmt::format("{} (and {} more)", mismatches.front().message, more);
}

Result<SchemaCheck> check_journal_schema(Database& db) {
    const auto& compiled = journal_schema_objects();
    if (!compiled) return compiled.error();
    SchemaCheck check;
    auto version = query_int(db, "PRAGMA user_version");
    if (!version) return version.error();
    check.user_version = *version;
    SchemaComparer comparer(schema_objects_of_version(*compiled, check.user_version));
    // The rows as stored: no object is looked at through SQLite's parse of
    // it, and nothing but sqlite_schema is read.
    auto stmt = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid");
    if (!stmt) return stmt.error();
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
        comparer.add(SchemaRow{stmt->text(0), stmt->text(1), stmt->text(2), stmt->text(3),
                               sqlite3_column_type(stmt->get(), 3) == SQLITE_NULL});
    }
    if (rc != SQLITE_DONE) return Error{db.errmsg()};
    check.mismatches = comparer.finish();
    check.omitted = comparer.omitted();
    return check;
}

Status check_sqlite_header(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Error{fmt::format("{}: not a regular file", path)};
    }
    char head[16] = {};
    const ssize_t n = ::read(fd.get(), head, sizeof(head));
    if (n == 0) return Ok{};
    if (n != static_cast<ssize_t>(sizeof(head)) || std::memcmp(head, kSqliteMagic, sizeof(head)) != 0) {
        return Error{fmt::format("{}: not a lineage journal (not an SQLite database)", path)};
    }
    return Ok{};
}

Status check_journal(Database& db, const std::string& path) {
    auto app = query_int(db, "PRAGMA application_id");
    if (!app) return Error{fmt::format("{}: cannot read journal: {}", path, app.error().message)};
    auto version = query_int(db, "PRAGMA user_version");
    if (!version) return Error{fmt::format("{}: cannot read journal: {}", path, version.error().message)};
    if (*app != kJournalApplicationId) {
        return Error{fmt::format("{}: not a lineage journal (SQLite database of another application)", path)};
    }
    if (*version < kOldestJournalSchemaVersion || *version > kJournalSchemaVersion) {
        return Error{
            fmt::format("{}: journal schema version {} is not supported (this lineage reads versions {} to {})", path,
                        *version, kOldestJournalSchemaVersion, kJournalSchemaVersion)};
    }
    return Ok{};
}

void encode_stored_row(sqlite3_stmt* s, int first_col, ChainTable table, RowEncoder& enc) {
    // One sqlite3_column_value per column: each sqlite3_column_* call takes
    // the connection's mutex, the sqlite3_value_* calls do not.
    enc.begin(table);
    const int columns = sqlite3_column_count(s);
    for (int c = first_col; c < columns; ++c) {
        sqlite3_value* v = sqlite3_column_value(s, c);
        switch (sqlite3_value_type(v)) {
            case SQLITE_INTEGER:
                enc.integer(sqlite3_value_int64(v));
                break;
            case SQLITE_FLOAT:
                enc.real(sqlite3_value_double(v));
                break;
            case SQLITE_TEXT: {
                const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
                enc.text(std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(v))));
                break;
            }
            case SQLITE_BLOB: {
                const void* p = sqlite3_value_blob(v);
                const auto n = static_cast<size_t>(sqlite3_value_bytes(v));
                enc.blob(p ? std::string_view(static_cast<const char*>(p), n) : std::string_view());
                break;
            }
            default:
                enc.null();
                break;
        }
    }
}

}  // namespace lineage
