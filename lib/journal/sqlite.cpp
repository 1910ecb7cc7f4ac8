#include "sqlite.h"

#include <malloc.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "wal_batch_vfs.h"

namespace lineage {

namespace {

std::atomic<int64_t> heap_limit{0};

Result<Database> open_with(const std::string& name, int flags, bool batch_wal = false) {
    // SQLite counts every allocation under a global mutex by default, for
    // sqlite3_memory_used() and heap limits: a cost on every insert (the
    // recorder's cost per event is in bench/results/latest.txt, section 5;
    // bench/README.md says how it is measured). The recorder reads nothing
    // it did not write and needs no heap limit, so it turns accounting off;
    // so does a reader, whose allocator counts instead (limit_sqlite_heap,
    // which comes first: this then changes nothing). It must precede SQLite's initialisation
    // (the first open of the process, normally through here); after it,
    // sqlite3_config() refuses with SQLITE_MISUSE, which is harmless.
    static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)memstatus_off;
    sqlite3* raw = nullptr;
    // After the line above: registering the VFS initialises SQLite.
    const char* vfs = batch_wal ? wal_batch_vfs_name() : nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &raw, flags, vfs);
    Database db(raw);  // owns raw even on failure
    if (rc != SQLITE_OK) {
        return Error{raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)};
    }
    sqlite3_extended_result_codes(raw, 1);
    // Concurrent readers of a live journal wait briefly instead of failing.
    sqlite3_busy_timeout(raw, 5000);
    return db;
}

int64_t coarse_now_ns() {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The coarse clock moves a tick at a time (1 to 10 ms), so two of its
// readings can lie a tick further apart than the time between them. A call
// is therefore stopped once their difference passes the budget by a tick,
// which makes "stopped after 0.2 s" true (CI once saw 0.198 s without it).
int64_t coarse_tick_ns() {
    struct timespec res {};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return 10'000'000;
    return int64_t{res.tv_sec} * 1'000'000'000 + res.tv_nsec;
}

// Called by SQLite every kProgressOps virtual machine instructions: stops
// the call in progress once it has run longer than the budget. A call is
// told apart from the one before by the counter every prepare, exec and
// step bumps, so only the clock is read here.
constexpr int kProgressOps = 1000;
int on_progress(void* arg) {
    auto* w = static_cast<Watchdog*>(arg);
    const int64_t now = coarse_now_ns();
    if (w->calls != w->seen) {
        w->seen = w->calls;
        w->since_ns = now;
        w->tripped = false;
        return 0;
    }
    if (now - w->since_ns <= w->stop_after_ns) return 0;
    w->tripped = true;
    return 1;
}

std::string budget_text(int64_t ns) {
    if (ns % 1'000'000'000 == 0) return fmt::format("{} s", ns / 1'000'000'000);
    return fmt::format("{:.3g} s", static_cast<double>(ns) / 1e9);
}

}  // namespace

namespace {

// A reading process's allocator for SQLite: malloc, with the bytes in use
// counted in one atomic and capped at heap_limit. SQLite's own accounting
// (SQLITE_CONFIG_MEMSTATUS, which its hard heap limit needs) takes one
// global mutex around every allocation and free: loads on several threads
// at once (`lineage pods`' slices) spent more time on that lock than they
// gained.
std::atomic<int64_t> heap_used{0};

int64_t usable(void* p) {
    return static_cast<int64_t>(malloc_usable_size(p));
}

void* counted_malloc(int n) {
    void* p = std::malloc(static_cast<size_t>(n));
    if (!p) return nullptr;
    const int64_t size = usable(p);
    if (heap_used.fetch_add(size, std::memory_order_relaxed) + size > heap_limit.load(std::memory_order_relaxed)) {
        heap_used.fetch_sub(size, std::memory_order_relaxed);
        std::free(p);
        return nullptr;  // SQLITE_NOMEM, as past sqlite3_hard_heap_limit64
    }
    return p;
}

void counted_free(void* p) {
    if (!p) return;
    heap_used.fetch_sub(usable(p), std::memory_order_relaxed);
    std::free(p);
}

void* counted_realloc(void* p, int n) {
    const int64_t before = usable(p);
    // Refused before it is tried: a failed realloc leaves the block as it was.
    if (n > before &&
        heap_used.load(std::memory_order_relaxed) + (n - before) > heap_limit.load(std::memory_order_relaxed))
        return nullptr;
    void* q = std::realloc(p, static_cast<size_t>(n));
    if (!q) return nullptr;
    heap_used.fetch_add(usable(q) - before, std::memory_order_relaxed);
    return q;
}

int counted_size(void* p) {
    return p ? static_cast<int>(usable(p)) : 0;
}
int counted_roundup(int n) {
    return (n + 7) & ~7;
}
int counted_init(void*) {
    return SQLITE_OK;
}
void counted_shutdown(void*) {}

}  // namespace

bool limit_sqlite_heap(int64_t hard_bytes) {
    // Before SQLite initialises (it refuses afterwards). Its accounting
    // stays off: the allocator above counts and limits instead. With no
    // soft limit, each connection's page cache is bounded by its
    // cache_size (SQLite's default, 2 MiB), not by the heap.
    static const sqlite3_mem_methods counted = {counted_malloc,  counted_free, counted_realloc,  counted_size,
                                                counted_roundup, counted_init, counted_shutdown, nullptr};
    heap_limit = hard_bytes;
    const bool in_time = sqlite3_config(SQLITE_CONFIG_MALLOC, &counted) == SQLITE_OK &&
                         sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    sqlite3_initialize();
    if (!in_time) heap_limit = 0;
    return in_time;
}

std::string Database::errmsg() const {
    if (!db_) return "no database";
    const int rc = sqlite3_errcode(db_.get());
    if (rc == SQLITE_INTERRUPT && watchdog_ && watchdog_->tripped) {
        return fmt::format(
            "stopped after {} without a row, its time budget (--timeout): a lineage journal never takes that long, "
            "a journal made to can",
            budget_text(watchdog_->budget_ns));
    }
    if (rc == SQLITE_NOMEM && heap_limit > 0) {
        return fmt::format("out of memory: SQLite would need more than its heap budget of {} MiB", heap_limit >> 20);
    }
    if (rc == SQLITE_TOOBIG && limited_) {
        return fmt::format("a value or row is larger than any lineage writes (over {} MiB)", ReadLimits::kLength >> 20);
    }
    return sqlite3_errmsg(db_.get());
}

Status Database::fence() {
    sqlite3* db = db_.get();
    struct Flag {
        int op, value;
        const char* name;
    };
    for (const Flag& f :
         {Flag{SQLITE_DBCONFIG_DEFENSIVE, 1, "defensive"}, Flag{SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, "trusted_schema"},
          Flag{SQLITE_DBCONFIG_ENABLE_VIEW, 0, "enable_view"},
          Flag{SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, "enable_trigger"},
          Flag{SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "enable_load_extension"},
          Flag{SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, "enable_fts3_tokenizer"}}) {
        int now = -1;
        if (sqlite3_db_config(db, f.op, f.value, &now) != SQLITE_OK || now != f.value) {
            return Error{fmt::format("SQLite refuses to set {} (SQLite {} is too old)", f.name, sqlite3_libversion())};
        }
    }
    // The first statement loads the schema: leniently (see sqlite.h), and
    // never again so.
    int on = 0;
    sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 1, &on);
    auto load = prepare("SELECT 1 FROM sqlite_schema LIMIT 0");
    sqlite3_db_config(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0, &on);
    if (!load) return load.error();
    if (on != 0) return Error{"SQLite refuses to turn writable_schema off"};
    return exec("PRAGMA ignore_check_constraints = ON; PRAGMA automatic_index = OFF;");
}

Status Database::fence_for_reading(int64_t timeout_ns) {
    sqlite3* db = db_.get();
    // Before anything else runs: the first statement loads the schema.
    if (timeout_ns > 0) {
        watchdog_ = std::make_shared<Watchdog>();
        watchdog_->budget_ns = timeout_ns;
        watchdog_->stop_after_ns = timeout_ns + coarse_tick_ns();
        sqlite3_progress_handler(db, kProgressOps, on_progress, watchdog_.get());
    }
    limited_ = true;
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, ReadLimits::kLength);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, ReadLimits::kSqlLength);
    sqlite3_limit(db, SQLITE_LIMIT_COLUMN, ReadLimits::kColumns);
    sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, ReadLimits::kExprDepth);
    sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, ReadLimits::kCompoundSelect);
    sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, ReadLimits::kVdbeOps);
    sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, ReadLimits::kFunctionArgs);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, ReadLimits::kAttached);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, ReadLimits::kLikePattern);
    sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, ReadLimits::kVariables);
    sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, ReadLimits::kTriggerDepth);
    sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
    // A reader's private copy is opened read-write so that SQLite applies
    // its WAL: still nothing is written to it, not even at close.
    int off = 0;
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &off);
    if (auto st = fence(); !st) return st;
    return exec("PRAGMA query_only = ON; PRAGMA cell_size_check = ON;");
}

Result<Database> Database::open_write(const std::string& path) {
    // NOMUTEX: a connection is only ever used by one thread; no lock per call.
    // A commit's WAL frames go to the file in one write (wal_batch_vfs.h).
    return open_with(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
                     true);
}

Result<Database> Database::open_read(const std::string& uri) {
    // NOMUTEX, as above.
    return open_with(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX);
}

Result<Stmt> Database::prepare(std::string_view sql) {
    if (watchdog_) ++watchdog_->calls;
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    Stmt stmt(raw, watchdog_);
    if (rc != SQLITE_OK) {
        return Error{errmsg()};
    }
    return stmt;
}

Status Database::exec(const std::string& sql) {
    if (watchdog_) ++watchdog_->calls;
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        if (rc == SQLITE_INTERRUPT || rc == SQLITE_NOMEM || rc == SQLITE_TOOBIG) msg = errmsg();
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

std::string rowid_span_sql(std::string_view table) {
    return fmt::format("SELECT coalesce((SELECT max(rowid) FROM {0}) - (SELECT min(rowid) FROM {0}) + 1, 0)", table);
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

size_t CopiedRows::add(const Stmt& s) {
    sqlite3_stmt* st = s.get();
    const int n = sqlite3_column_count(st);
    row_first_.push_back(cols_.size());
    const size_t bytes_before = bytes_.size();
    for (int i = 0; i < n; ++i) {
        Col c{0, 0, 0, false};
        switch (sqlite3_column_type(st, i)) {
            case SQLITE_NULL:
                break;
            case SQLITE_INTEGER:
                // Its text is its digits (SQLite's "%lld"): made only if read.
                c.value = sqlite3_column_int64(st, i);
                c.digits = true;
                break;
            default: {
                // TEXT, BLOB and REAL: the bytes as column_text gives them
                // (a REAL as SQLite formats it), and the integer SQLite
                // would convert them to. The value first: converting the
                // value to text after would change the type of a REAL.
                c.value = sqlite3_column_int64(st, i);
                const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
                const int size = sqlite3_column_bytes(st, i);
                c.offset = bytes_.size();
                c.size = static_cast<uint32_t>(size);
                if (p && size > 0) bytes_.append(p, static_cast<size_t>(size));
                break;
            }
        }
        cols_.push_back(c);
    }
    return bytes_.size() - bytes_before + static_cast<size_t>(n) * sizeof(Col);
}

int64_t RowCopy::int64(int col) const {
    if (col < 0 || col >= n_) return 0;
    return rows_->cols_[first_ + static_cast<size_t>(col)].value;
}

std::string RowCopy::text(int col) const {
    if (col < 0 || col >= n_) return {};
    const auto& c = rows_->cols_[first_ + static_cast<size_t>(col)];
    if (c.digits) return fmt::format_int(c.value).str();
    return rows_->bytes_.substr(c.offset, c.size);
}

}  // namespace lineage
