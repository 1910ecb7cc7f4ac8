#pragma once
// Thin RAII over sqlite3: a connection and prepared statements, nothing more.
// Statements only ever take bound parameters; no SQL is built from data.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace lineage {

// How long one call into SQLite (a prepare, or a step to the next row) may
// run on a connection that reads a journal before it is stopped: nothing a
// lineage journal holds takes a reader that long, only a journal made to.
inline constexpr int64_t kDefaultReadTimeoutNs = 30'000'000'000;

// The time budget of a reading connection (Database::fence_for_reading):
// SQLite's progress handler stops a call that runs past it. Shared by the
// connection and its statements, which count their calls into it.
struct Watchdog {
    int64_t budget_ns = 0;
    // When a call is stopped: budget_ns and a tick of the coarse clock
    // (sqlite.cpp).
    int64_t stop_after_ns = 0;
    uint64_t calls = 0;  // bumped by every prepare, exec and step
    uint64_t seen = 0;   // `calls` when the handler last looked
    int64_t since_ns = 0;
    bool tripped = false;  // the handler stopped the last call
};

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
    explicit Stmt(sqlite3_stmt* s, std::shared_ptr<Watchdog> watchdog = nullptr)
        : stmt_(s), watchdog_(std::move(watchdog)) {}

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
    int step() {
        if (bind_error_ != SQLITE_OK) return bind_error_;
        if (watchdog_) ++watchdog_->calls;  // each row gets the whole time budget
        return sqlite3_step(stmt_.get());
    }
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
    // The result columns that may hold text or bytes: all but those of a
    // table's INTEGER and REAL columns (by declared type; an expression has
    // none, and counts). What row_bytes() adds up.
    std::vector<int> byte_columns() const {
        std::vector<int> columns;
        for (int i = 0, count = sqlite3_column_count(stmt_.get()); i < count; ++i) {
            const char* declared = sqlite3_column_decltype(stmt_.get(), i);
            const std::string_view t = declared ? declared : "";
            const bool number = t == "INTEGER" || t == "INT" || t == "REAL";
            if (!number) columns.push_back(i);
        }
        return columns;
    }
    // The bytes of the current row's `columns` (byte_columns()): about what
    // the strings decoded from the row hold. One call per column, where
    // asking each column its type first would be two.
    size_t row_bytes(const std::vector<int>& columns) const {
        size_t n = 0;
        for (const int i : columns) n += static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), i));
        return n;
    }
    sqlite3_stmt* get() const { return stmt_.get(); }

private:
    int checked(int rc) {
        if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
        return rc;
    }

    std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
    std::shared_ptr<Watchdog> watchdog_;  // set on a reading connection's statements
    int bind_error_ = SQLITE_OK;
};

// Rows copied out of statements, to be read after the statement has moved
// on, or on another thread: `lineage export` steps SQLite on one thread and
// turns rows into lines on another. A copied column reads as Stmt would
// have read it at that row: int64() as sqlite3_column_int64, text() and
// blob() as the column's bytes (an INTEGER's decimal digits, a REAL's text
// as SQLite formats it, "" for NULL).
class CopiedRows;
class RowCopy {
public:
    int64_t int64(int col) const;
    std::string text(int col) const;
    std::string blob(int col) const { return text(col); }
    int columns() const { return n_; }

private:
    friend class CopiedRows;
    RowCopy(const CopiedRows* rows, size_t first, int n) : rows_(rows), first_(first), n_(n) {}
    const CopiedRows* rows_;
    size_t first_;
    int n_;
};

class CopiedRows {
public:
    // Appends the statement's current row (every column), and returns the
    // bytes it took: what a bounded queue of rows counts.
    size_t add(const Stmt& s);
    // Appends a row of no columns (every column reads as NULL): a place
    // kept for a row read some other way.
    void add_empty() { row_first_.push_back(cols_.size()); }
    size_t size() const { return row_first_.size(); }
    RowCopy row(size_t i) const {
        const size_t first = row_first_[i];
        const size_t end = i + 1 < row_first_.size() ? row_first_[i + 1] : cols_.size();
        return RowCopy(this, first, static_cast<int>(end - first));
    }
    void clear() {
        cols_.clear();
        row_first_.clear();
        bytes_.clear();
    }

private:
    friend class RowCopy;
    struct Col {
        int64_t value;  // sqlite3_column_int64
        size_t offset;  // of the column's bytes in bytes_, when it has some
        uint32_t size;
        bool digits;  // an INTEGER: its bytes are its decimal digits, made on demand
    };
    std::vector<Col> cols_;
    std::vector<size_t> row_first_;
    std::string bytes_;
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
    // SQLite's message for the last error, or what a fence made of it: a
    // call stopped by the time budget, the heap budget spent, a value over
    // the length limit.
    std::string errmsg() const;
    sqlite3* get() const { return db_.get(); }
    explicit operator bool() const { return static_cast<bool>(db_); }

    // SQLite's defences against a database file someone else may have
    // written ("Defense against the dark arts", sqlite.org/security.html),
    // for every connection to a journal, the writer's too: defensive mode
    // (no writable_schema, no journal_mode=OFF, no writes to shadow
    // tables), no function of the file's schema run outside a top-level
    // statement (trusted_schema off), views and triggers never run, CHECK
    // constraints never evaluated (lineage's schema has none), no automatic
    // indexes. Then SQLite's copy of the schema is loaded at once with
    // writable_schema on for that moment only, so that an object SQLite
    // cannot parse is left out instead of making every statement fail:
    // check_journal_schema() reports it from sqlite_schema's own rows.
    Status fence();
    // fence(), and what a reader adds: every limit at what lineage's own
    // journals need (kReadLimits), nothing written (query_only, no
    // checkpoint at close), and a time budget per call into SQLite
    // (timeout_ns; 0: none). Call it right after opening, before any
    // statement: the first one loads the file's schema.
    Status fence_for_reading(int64_t timeout_ns);

private:
    SqliteHandle db_;
    std::shared_ptr<Watchdog> watchdog_;  // set by fence_for_reading with a budget
    bool limited_ = false;                // fence_for_reading set the limits
};

// SQLite's limits on a reading connection, each set to what lineage's own
// journals need and no more, so that a journal made to exhaust a reader
// fails fast with SQLITE_TOOBIG instead:
struct ReadLimits {
    // The largest value or row: a snapshot row holds up to 1 MiB of argv
    // and 1 MiB of cgroup path (procfs reads no more); an exec's argv is at
    // most 32 KiB, a path 4 KiB. The largest of all is a batch's row_marks,
    // 4 bytes a row: a /proc snapshot of pid_max's ceiling (4,194,304
    // processes) in one batch, with as many pods rows, is 32 MiB; the
    // recorder's own batches are at most --batch-rows (16,384 by default)
    // rows. Reading a value over it fails before any memory is allocated
    // for it.
    static constexpr int kLength = 32 << 20;
    // lineage's longest statement is about 2 KiB, and so is its longest
    // CREATE in sqlite_schema; the limit applies to both.
    static constexpr int kSqlLength = 64 << 10;
    static constexpr int kColumns = 64;        // exec has 21
    static constexpr int kExprDepth = 64;      // lineage's deepest is below 10
    static constexpr int kCompoundSelect = 2;  // lineage uses none
    static constexpr int kVdbeOps = 100'000;   // lineage's largest statement is a few hundred
    static constexpr int kFunctionArgs = 8;    // lineage passes at most 3
    static constexpr int kAttached = 0;        // lineage attaches none
    static constexpr int kLikePattern = 64;    // lineage's is 9 bytes
    static constexpr int kVariables = 64;      // a reader binds at most 3
    static constexpr int kTriggerDepth = 1;    // triggers never run anyway
};

// SQLite's heap, all connections of the process together: past the limit
// an allocation fails (SQLITE_NOMEM) instead of taking the machine's
// memory. Each connection's page cache is bounded by its cache_size. Must
// precede the process's first connection: it gives SQLite an allocator
// that counts the bytes in use in one atomic (SQLite's own accounting
// locks a global mutex on every allocation, which loads on several threads
// contend for). The recorder, which reads nothing it did not write, never
// calls it and keeps SQLite's allocator (see open_with in sqlite.cpp).
// Returns false when it came too late.
bool limit_sqlite_heap(int64_t hard_bytes);

// A "file:" URI for a path, for Database::open_read: %, ?, # and every byte
// outside printable ASCII percent-encoded. A relative path is made absolute
// first.
std::string sqlite_file_uri(const std::string& path);

// Runs a single-value query such as "PRAGMA user_version".
Result<int64_t> query_int(Database& db, std::string_view sql);

// A query for a rowid table's row count from the two ends of its rowids:
// never less than the real count, however the file was edited (rowids are
// unique), and 0 for an empty table. min and max each in a subquery of its
// own: SQLite reads one end of the b-tree for a lone min() or max(), but
// scans the whole table for both in one SELECT.
std::string rowid_span_sql(std::string_view table);

// A write that failed because of the storage (disk full, I/O error, a
// read-only file system, a lock): it may work again later. Other failures
// are bugs or damage.
bool is_storage_error(const Error& error);

// SQLite's (extended) result code says the file is damaged: corrupt, not a
// database, unreadable.
bool is_damage(int rc);

}  // namespace lineage
