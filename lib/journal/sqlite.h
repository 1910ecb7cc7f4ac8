#pragma once
// Thin RAII over sqlite3: a connection and prepared statements, nothing more.
// Statements only ever take bound parameters; no SQL is built from data.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "result.h"

namespace lineage {

struct SqliteCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

class Stmt {
public:
    Stmt() = default;
    explicit Stmt(sqlite3_stmt* s) : stmt_(s) {}

    // Bind by 1-based index. Text and blobs are copied by SQLite
    // (SQLITE_TRANSIENT) so callers may reuse their buffers at once.
    //
    // A bind SQLite refuses (an index out of range, a value over its length
    // limit, no memory) leaves the parameter NULL. The first such refusal is
    // kept until reset(), and step() returns its code without running the
    // statement, so a statement never runs with a parameter silently left
    // NULL; callers check step() as they must anyway. Each bind also returns
    // SQLite's code, for callers that want to stop at once.
    int bind(int i, int64_t v) { return checked(sqlite3_bind_int64(stmt_.get(), i, v)); }
    int bind(int i, std::string_view text) {
        return checked(sqlite3_bind_text(stmt_.get(), i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    }
    int bind_blob(int i, std::string_view bytes) {
        // A zero-length blob must still be a blob, not NULL.
        return checked(sqlite3_bind_blob(stmt_.get(), i, bytes.empty() ? "" : bytes.data(),
                                         static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
    }
    int bind_double(int i, double v) { return checked(sqlite3_bind_double(stmt_.get(), i, v)); }
    int bind_null(int i) { return checked(sqlite3_bind_null(stmt_.get(), i)); }

    // Bind without a copy: `bytes` must stay valid and unchanged until the
    // statement is reset. For rows bound and stepped at once from a buffer
    // the caller owns (JournalWriter's row encoder).
    int bind_static(int i, std::string_view text) {
        return checked(sqlite3_bind_text(stmt_.get(), i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
    }
    int bind_blob_static(int i, std::string_view bytes) {
        return checked(sqlite3_bind_blob(stmt_.get(), i, bytes.empty() ? "" : bytes.data(),
                                         static_cast<int>(bytes.size()), SQLITE_STATIC));
    }
    // SQLITE_OK, or the code of the first bind refused since the last reset().
    int bind_error() const { return bind_error_; }

    // SQLITE_ROW, SQLITE_DONE or an error code: a refused bind's, without
    // running the statement, or the step's.
    int step() { return bind_error_ != SQLITE_OK ? bind_error_ : sqlite3_step(stmt_.get()); }
    void reset() {
        sqlite3_reset(stmt_.get());
        sqlite3_clear_bindings(stmt_.get());
        bind_error_ = SQLITE_OK;
    }

    int64_t int64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
    std::string text(int col) const {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string();
    }
    std::string blob(int col) const {
        auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string();
    }
    sqlite3_stmt* get() const { return stmt_.get(); }

private:
    int checked(int rc) {
        if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
        return rc;
    }

    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
    int bind_error_ = SQLITE_OK;
};

class Database {
public:
    Database() = default;
    explicit Database(sqlite3* db) : db_(db) {}

    // Opens (creating if needed) for writing.
    static Result<Database> open_write(const std::string& path);
    // Opens for reading through a URI; never creates or writes the file.
    static Result<Database> open_read(const std::string& uri);

    Result<Stmt> prepare(std::string_view sql);
    Status exec(const std::string& sql);
    std::string errmsg() const { return db_ ? sqlite3_errmsg(db_.get()) : "no database"; }
    sqlite3* get() const { return db_.get(); }
    explicit operator bool() const { return static_cast<bool>(db_); }

private:
    SqliteHandle db_;
};

// A "file:" URI for a path, for Database::open_read: %, ?, # and every byte
// outside printable ASCII percent-encoded. A relative path is made absolute
// first.
std::string sqlite_file_uri(const std::string& path);

// Runs a single-value query such as "PRAGMA user_version".
Result<int64_t> query_int(Database& db, std::string_view sql);

// A write that failed because of the storage (disk full, I/O error, a
// read-only file system, a lock): it may work again later. Other failures
// are bugs or damage.
bool is_storage_error(const Error& error);

// SQLite's (extended) result code says the file is damaged: corrupt, not a
// database, unreadable.
bool is_damage(int rc);

}  // namespace lineage
