#include "journal_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

Error schema_error(const std::string& why) {
    return Error{"the compiled-in schema cannot be loaded: " + why};
}

Result<std::vector<SchemaObject>> load_schema_objects() {
    auto mem = Database::open_write(":memory:");
    if (!mem) return schema_error("cannot open an in-memory database: " + mem.error().message);
    if (auto st = mem->exec(journal_schema_sql()); !st) return schema_error("SQLite refuses it: " + st.error().message);
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
