// libbench_sqltrace.so: LD_PRELOAD'ed into `lineage` by bench/run, it
// appends the text of every statement the process prepares to the file
// named by LINEAGE_BENCH_SQL_TRACE, each followed by a NUL byte. `bench_util
// plan --statements FILE` then shows the query plan of each: the plans of
// the statements a query really ran, whatever the loader's source builds
// them from. lineage links the system's libsqlite3 dynamically, so its
// calls go through these definitions, which call SQLite's own (RTLD_NEXT).
#include <dlfcn.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void note(sqlite3_stmt* stmt) {
    const char* path = std::getenv("LINEAGE_BENCH_SQL_TRACE");
    if (path == nullptr || stmt == nullptr) return;
    const char* sql = sqlite3_sql(stmt);
    if (sql == nullptr) return;
    // Opened per statement: a query prepares tens, not millions, of them.
    std::FILE* f = std::fopen(path, "ae");
    if (f == nullptr) return;
    std::fwrite(sql, 1, std::strlen(sql) + 1, f);
    std::fclose(f);
}

template <typename Fn>
Fn next(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int sqlite3_prepare_v2(sqlite3* db, const char* sql, int n, sqlite3_stmt** stmt, const char** tail) {
    using Fn = int (*)(sqlite3*, const char*, int, sqlite3_stmt**, const char**);
    static const Fn real = next<Fn>("sqlite3_prepare_v2");
    const int rc = real(db, sql, n, stmt, tail);
    if (rc == SQLITE_OK) note(*stmt);
    return rc;
}

int sqlite3_prepare_v3(sqlite3* db, const char* sql, int n, unsigned int flags, sqlite3_stmt** stmt,
                       const char** tail) {
    using Fn = int (*)(sqlite3*, const char*, int, unsigned int, sqlite3_stmt**, const char**);
    static const Fn real = next<Fn>("sqlite3_prepare_v3");
    const int rc = real(db, sql, n, flags, stmt, tail);
    if (rc == SQLITE_OK) note(*stmt);
    return rc;
}

}  // extern "C"
