#include "sqlite.h"

#include <filesystem>

#include <fmt/format.h>

namespace lineage {

namespace {
Result<Database> open_with(const std::string& name, int flags) {
    // SQLite counts every allocation under a global mutex by default, for
    // sqlite3_memory_used() and heap limits, which lineage never uses: a
    // cost on every insert (the recorder's cost per event is in
    // bench/results/latest.txt, section 5; bench/README.md says how it is
    // measured), and a lock the two threads of verify would share. This must
    // precede SQLite's initialisation (the first open of the process,
    // normally through here); after it, sqlite3_config() refuses with
    // SQLITE_MISUSE and changes nothing, which is harmless.
    static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)memstatus_off;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
    Database db(raw);  // owns raw even on failure
    if (rc != SQLITE_OK) {
        return Error{raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)};
    }
    sqlite3_extended_result_codes(raw, 1);
    // Concurrent readers of a live journal wait briefly instead of failing.
    sqlite3_busy_timeout(raw, 5000);
    return db;
}
}  // namespace

Result<Database> Database::open_write(const std::string& path) {
    // NOMUTEX: a connection is only ever used by one thread; no lock per call.
    return open_with(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX);
}

Result<Database> Database::open_read(const std::string& uri) {
    // NOMUTEX, as above.
    return open_with(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX);
}

Result<Stmt> Database::prepare(std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    Stmt stmt(raw);
    if (rc != SQLITE_OK) {
        return Error{errmsg()};
    }
    return stmt;
}

Status Database::exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return Error{msg};
    }
    return Ok{};
}

Result<int64_t> query_int(Database& db, std::string_view sql) {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    int rc = stmt->step();
    if (rc == SQLITE_ROW) return stmt->int64(0);
    if (rc == SQLITE_DONE) return Error{fmt::format("no result from '{}'", sql)};
    return Error{db.errmsg()};
}

bool is_storage_error(const Error& error) {
    switch (error.code & 0xff) {
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_CANTOPEN:
        case SQLITE_NOMEM:
        case SQLITE_PROTOCOL:
            return true;
        default:
            return false;
    }
}

bool is_damage(int rc) {
    const int primary = rc & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB || primary == SQLITE_IOERR || primary == SQLITE_FORMAT;
}

std::string sqlite_file_uri(const std::string& path) {
    std::string abs = path;
    if (abs.empty() || abs[0] != '/') {
        std::error_code ec;
        abs = std::filesystem::absolute(path, ec).string();
    }
    std::string out = "file:";
    for (unsigned char c : abs) {
        if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
            out += fmt::format("%{:02X}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace lineage
