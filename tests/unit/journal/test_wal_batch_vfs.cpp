// The VFS that writes a commit's WAL frames in one write (wal_batch_vfs.h):
// what a commit returns is in the file, whatever the size of the
// transaction, and a write that fails is the commit's failure.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "sqlite.h"
#include "test_util.h"
#include "wal_batch_vfs.h"

namespace test_wal_batch_vfs {

using namespace lineage;
using lineage::test::TempDir;

namespace {

Database open_writer(const std::string& path) {
    auto db = Database::open_write(path);
    REQUIRE(db);
    REQUIRE(db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"));
    return std::move(*db);
}

// A connection of its own, through the default VFS, as a reader of a live
// journal (reconstruct, export --follow) is.
Database open_reader(const std::string& path) {
    auto db = Database::open_read(sqlite_file_uri(path));
    REQUIRE(db);
    return std::move(*db);
}

int64_t scalar(Database& db, const std::string& sql) {
    auto v = query_int(db, sql);
    REQUIRE(v);
    return *v;
}

// Inserts `rows` rows of `bytes` random bytes each into t.
std::string insert_sql(int rows, int bytes) {
    return fmt::format(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
        "INSERT INTO t (v) SELECT randomblob({}) FROM n",
        rows, bytes);
}

// insert_sql's rows in one transaction.
void insert(Database& db, int rows, int bytes) {
    REQUIRE(db.exec("BEGIN"));
    REQUIRE(db.exec(insert_sql(rows, bytes)));
    REQUIRE(db.exec("COMMIT"));
}

int64_t integrity_errors(Database& db) {
    return scalar(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'");
}

}  // namespace

TEST_CASE("the WAL batching VFS is the one journals are written through", "[journal][vfs]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Database db = open_writer(path);
    REQUIRE(wal_batch_vfs_name() != nullptr);
    sqlite3_vfs* vfs = nullptr;
    REQUIRE(sqlite3_file_control(db.get(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs) == SQLITE_OK);
    REQUIRE(vfs != nullptr);
    CHECK(std::string(vfs->zName) == wal_batch_vfs_name());
}

TEST_CASE("every commit through the WAL batching VFS is in the file when it returns", "[journal][vfs]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Database writer = open_writer(path);
    REQUIRE(writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"));
    Database reader = open_reader(path);

    int64_t rows = 0;
    int64_t bytes = 0;
    auto commit = [&](int n, int size) {
        insert(writer, n, size);
        rows += n;
        bytes += int64_t{n} * size;
        // The reader reads the WAL through its own descriptor: nothing of
        // the commit may still be in the writer's buffer.
        CHECK(scalar(reader, "SELECT count(*) FROM t") == rows);
        CHECK(scalar(reader, "SELECT coalesce(sum(length(v)), 0) FROM t") == bytes);
    };
    SECTION("small and large transactions, past the 128 KiB a unix VFS write takes and the 4 MiB buffer") {
        commit(1, 10);         // a frame or two
        commit(100, 300);      // about ten
        commit(40, 4000);      // over 128 KiB of frames
        commit(10, 700'000);   // over the buffer: overflow pages written out on the way
        commit(2000, 50);      // many index-free rows
        commit(1, 5'000'000);  // one value larger than the buffer
    }
    SECTION("a transaction that spills to the WAL, rolled back, then one committed over its frames") {
        REQUIRE(writer.exec("PRAGMA cache_size=10"));
        REQUIRE(writer.exec("BEGIN"));
        REQUIRE(
            writer.exec("INSERT INTO t (v) SELECT randomblob(3000) FROM (SELECT 1 UNION ALL SELECT 2), "
                        "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3), "
                        "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5)"));
        REQUIRE(writer.exec("ROLLBACK"));
        CHECK(scalar(reader, "SELECT count(*) FROM t") == 0);
        commit(30, 3000);
        commit(1, 1);
    }
    SECTION("checkpoints and a WAL started again from its beginning") {
        commit(50, 1000);
        REQUIRE(writer.exec("PRAGMA wal_checkpoint(TRUNCATE)"));
        commit(50, 1000);  // the WAL's header is written again at offset 0
        REQUIRE(writer.exec("PRAGMA wal_checkpoint(RESTART)"));
        commit(5, 100);
    }
    CHECK(integrity_errors(reader) == 0);
}

TEST_CASE("a spilled transaction that changes its spilled pages again commits whole, and so does the next one",
          "[journal][vfs]") {
    // SQLite overwrites such pages' frames in place and writes their
    // checksums again (walRewriteChecksums), the commit frame's header
    // last: none of that may wait in the buffer once the commit is
    // published, and the one-frame commit after it must be seen whole.
    TempDir dir;
    const std::string path = dir / "j.db";
    Database writer = open_writer(path);
    REQUIRE(
        writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE t2 (id INTEGER PRIMARY KEY, "
                    "v INTEGER); INSERT INTO t2 VALUES (1, 0)"));
    REQUIRE(writer.exec("PRAGMA cache_size=20"));
    REQUIRE(writer.exec("BEGIN"));
    REQUIRE(writer.exec(insert_sql(400, 1000)));
    REQUIRE(writer.exec("UPDATE t SET v = randomblob(1000) WHERE id % 7 = 0"));
    REQUIRE(writer.exec("UPDATE t2 SET v = v + 1"));
    REQUIRE(writer.exec("COMMIT"));
    // A crash now: the files as they are, without the WAL index, as a
    // recovery after kill -9 reads them.
    const std::filesystem::path copy = std::filesystem::path(dir.path()) / "copy";
    std::filesystem::create_directory(copy);
    std::filesystem::copy_file(path, copy / "j.db");
    std::filesystem::copy_file(path + "-wal", copy / "j.db-wal");
    {
        auto recovered = Database::open_write((copy / "j.db").string());
        REQUIRE(recovered);
        CHECK(scalar(*recovered, "SELECT count(*) FROM t") == 400);
        CHECK(scalar(*recovered, "SELECT v FROM t2") == 1);
    }
    REQUIRE(writer.exec("UPDATE t2 SET v = v + 1"));  // one frame
    Database reader = open_reader(path);
    CHECK(scalar(reader, "SELECT v FROM t2") == 2);
    CHECK(scalar(reader, "SELECT count(*) FROM t") == 400);
    CHECK(integrity_errors(reader) == 0);
}

TEST_CASE("a WAL write that fails through the batching VFS fails its commit, and the file keeps the last one",
          "[journal][vfs]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    {
        Database writer = open_writer(path);
        REQUIRE(writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"));
        insert(writer, 10, 100);
    }
    struct stat st {};
    const std::string wal = path + "-wal";
    // A child whose files cannot grow by more than a few pages: the commit
    // of 200 KiB is buffered, and its one write to the WAL fails (EFBIG, as
    // a full disk would fail it with ENOSPC).
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);
        auto db = Database::open_write(path);
        if (!db) _exit(10);
        if (!db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0")) _exit(11);
        if (stat(wal.c_str(), &st) != 0) st.st_size = 0;
        const rlim_t limit = static_cast<rlim_t>(st.st_size) + 16 * 4096;
        const struct rlimit rl { limit, limit };
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(12);
        if (!db->exec("BEGIN")) _exit(13);
        if (!db->exec(insert_sql(256, 1000))) _exit(14);
        const bool committed = static_cast<bool>(db->exec("COMMIT"));
        _exit(committed ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);  // the commit failed, and said so
    Database reader = open_reader(path);
    CHECK(scalar(reader, "SELECT count(*) FROM t") == 10);
    CHECK(integrity_errors(reader) == 0);
}

}  // namespace test_wal_batch_vfs
