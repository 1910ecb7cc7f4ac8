// verify's SQLite integrity check (lib/verify/integrity.h): quick_check plus the
// index proof by ordered scans and keyed multisets. Indexes are damaged here
// by editing their B-tree pages byte by byte, below SQLite, the way a disk
// or a hand with a hex editor would; every damage must be found, and
// SQLite's own integrity_check must agree that it is damage.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "integrity.h"
#include "journal_writer.h"
#include "siphash.h"
#include "sqlite.h"
#include "test_util.h"

namespace test_integrity {

using namespace lineage;
using lineage::test::TempDir;

namespace {

SipKey reference_key() {
    SipKey k{};
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
    return k;
}

// A small journal: 40 processes forked, exec'd and exited, every other one
// in a pod (so exec_by_pod has entries), committed and checkpointed into
// the main file so that its pages can be edited.
void write_journal(const std::string& path) {
    auto w = lineage::test::open_writer(path);
    lineage::PodUidCache pod_uids;
    for (uint32_t i = 0; i < 40; ++i) {
        const uint64_t t = 1000 + i;
        ForkEvent f;
        f.time_ns = t;
        f.parent = {1, 5};
        f.child = {100 + i, t};
        f.parent_comm = "init";
        REQUIRE(w.add(f, "").ok());
        ExecEvent e;
        e.time_ns = t + 1;
        e.proc = f.child;
        e.parent = f.parent;
        e.comm = "true";
        e.binary = "/bin/true";
        e.argv = std::string("true\0", 5);
        if (i % 2 == 0) {
            e.cgroup_path = fmt::format(
                "/kubepods.slice/kubepods-pod0000{:04d}_aaaa_bbbb_cccc_dddddddddddd.slice/cri-containerd-x.scope", i);
        }
        REQUIRE(w.add(e, pod_uids.uid_for(e.cgroup_path)).ok());
        ExitEvent x;
        x.time_ns = t + 2;
        x.proc = f.child;
        x.comm = "true";
        REQUIRE(w.add(x, "").ok());
    }
    REQUIRE(w.commit(2000).ok());
    REQUIRE(w.end_run(2001, 2001, "signal", 120, 0).ok());
}

struct Page {
    int64_t number = 0;
    int64_t size = 0;
};

Page root_page(const std::string& path, const std::string& index) {
    auto db = Database::open_write(path);
    REQUIRE(db.ok());
    REQUIRE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    auto stmt = db->prepare(fmt::format("SELECT rootpage FROM sqlite_schema WHERE name = '{}'", index));
    REQUIRE(stmt.ok());
    REQUIRE(stmt->step() == SQLITE_ROW);
    Page p{stmt->int64(0), *query_int(*db, "PRAGMA page_size")};
    return p;
}

// Edits one page of the file in place: fn(bytes of the page).
template <typename F>
void edit_page(const std::string& path, const Page& page, F&& fn) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f.good());
    std::string bytes(static_cast<size_t>(page.size), '\0');
    f.seekg((page.number - 1) * page.size);
    f.read(bytes.data(), page.size);
    // A leaf page of an index B-tree: the journal is small enough for the
    // whole index to be its root.
    REQUIRE(static_cast<uint8_t>(bytes[0]) == 0x0a);
    fn(bytes);
    f.seekp((page.number - 1) * page.size);
    f.write(bytes.data(), page.size);
    REQUIRE(f.good());
}

int u16(const std::string& b, size_t at) {
    return static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]);
}

std::vector<std::string> problems_of(const std::string& path, bool full) {
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    return full ? full_integrity_check(*db) : check_integrity(*db);
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

// A fresh journal whose `index` root page is edited by fn(bytes): what
// check_integrity() finds, one line each. SQLite's own integrity_check must
// find damage too, or the edit proves nothing.
template <typename F>
std::string damage(const std::string& index, F&& fn) {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_journal(path);
    edit_page(path, root_page(path, index), fn);
    CHECK_FALSE(joined(problems_of(path, true)).empty());
    return joined(problems_of(path, false));
}

// Rebuilds `index` from `real_sql`, then writes the schema's own SQL for it
// back into sqlite_schema: the file claims the schema's index and holds
// another, as a hand with writable_schema (or a hex editor) can make it.
void disguise_index(const std::string& path, const std::string& index, const std::string& real_sql) {
    auto db = Database::open_write(path);
    REQUIRE(db.ok());
    auto sql = db->prepare(fmt::format("SELECT sql FROM sqlite_schema WHERE name = '{}'", index));
    REQUIRE(sql.ok());
    REQUIRE(sql->step() == SQLITE_ROW);
    const std::string claimed = sql->text(0);
    sql = Stmt();
    REQUIRE(db->exec(fmt::format("DROP INDEX {}; {};", index, real_sql)).ok());
    REQUIRE(db->exec("PRAGMA writable_schema = ON").ok());
    auto upd = db->prepare("UPDATE sqlite_schema SET sql = ?1 WHERE name = ?2");
    REQUIRE(upd.ok());
    upd->bind(1, std::string_view(claimed));
    upd->bind(2, std::string_view(index));
    REQUIRE(upd->step() == SQLITE_DONE);
}

// A copy of the journal at `from` with its text in UTF-16: the same tables,
// rows and indexes. (ATTACH needs one encoding, so row by row.)
void copy_as_utf16(const std::string& from, const std::string& to) {
    auto src = Database::open_read("file:" + from + "?mode=ro");
    REQUIRE(src.ok());
    auto db = Database::open_write(to);
    REQUIRE(db.ok());
    REQUIRE(db->exec("PRAGMA encoding = 'UTF-16le'").ok());
    auto objects =
        src->prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type = 'index', rowid");
    REQUIRE(objects.ok());
    REQUIRE(db->exec("BEGIN").ok());
    while (objects->step() == SQLITE_ROW) {
        const std::string type = objects->text(0), name = objects->text(1);
        REQUIRE(db->exec(objects->text(2)).ok());
        if (type != "table") continue;
        auto rows = src->prepare(fmt::format("SELECT * FROM {}", name));
        REQUIRE(rows.ok());
        const int n = sqlite3_column_count(rows->get());
        std::string marks;
        for (int i = 0; i < n; ++i) marks += i ? ",?" : "?";
        auto ins = db->prepare(fmt::format("INSERT INTO {} VALUES ({})", name, marks));
        REQUIRE(ins.ok());
        while (rows->step() == SQLITE_ROW) {
            for (int i = 0; i < n; ++i) sqlite3_bind_value(ins->get(), i + 1, sqlite3_column_value(rows->get(), i));
            REQUIRE(ins->step() == SQLITE_DONE);
            ins->reset();
        }
    }
    REQUIRE(db->exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}; COMMIT",
                                 *query_int(*src, "PRAGMA application_id"), *query_int(*src, "PRAGMA user_version")))
                .ok());
    REQUIRE(*query_int(*db, "SELECT count(*) FROM pragma_encoding WHERE encoding = 'UTF-16le'") == 1);
}
}  // namespace

TEST_CASE("siphash24 gives the reference vectors", "[integrity]") {
    // From the SipHash paper's reference code: key 00..0f, messages 00..(n-1).
    const SipKey key = reference_key();
    uint8_t msg[64];
    for (size_t i = 0; i < sizeof(msg); ++i) msg[i] = static_cast<uint8_t>(i);
    CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    CHECK(siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
    CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

TEST_CASE("a whole journal passes both checks", "[integrity]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_journal(path);
    (void)root_page(path, "exit_by_proc");  // checkpointed like the damaged ones
    CHECK(joined(problems_of(path, false)).empty());
    CHECK(joined(problems_of(path, true)).empty());
}

TEST_CASE("index entries out of order are found", "[integrity]") {
    // Swap two cell pointers: the same entries, two of them in the wrong
    // order, so that a look-up can walk past a row that is there.
    const auto problems = damage("exit_by_proc", [](std::string& b) {
        REQUIRE(u16(b, 3) == 40);
        std::swap_ranges(b.begin() + 8 + 2 * 10, b.begin() + 8 + 2 * 11, b.begin() + 8 + 2 * 30);
    });
    INFO(problems);
    CHECK(problems.find("index exit_by_proc: entry") != std::string::npos);
    CHECK(problems.find("out of order") != std::string::npos);
}

TEST_CASE("an index entry that points at another row is found", "[integrity]") {
    // The last byte of the last entry is the low byte of its rowid (40):
    // make it 41, a rowid that does not exist. The order still holds.
    const auto problems = damage("fork_by_child", [](std::string& b) {
        const int n = u16(b, 3);
        REQUIRE(n == 40);
        const int cell = u16(b, 8 + 2 * static_cast<size_t>(n - 1));
        const int payload = static_cast<uint8_t>(b[static_cast<size_t>(cell)]);
        REQUIRE(payload < 128);  // a one-byte varint
        char& low = b[static_cast<size_t>(cell + payload)];
        REQUIRE(low == 40);
        low = 41;
    });
    INFO(problems);
    CHECK(problems.find("index fork_by_child does not match table fork") != std::string::npos);
}

TEST_CASE("a changed key in a partial index is found", "[integrity]") {
    // One byte of the last entry's pod UID (its text ends 'dddd', then the
    // rowid): 'd' -> 'e' keeps it last in order but names no row's pod.
    const auto problems = damage("exec_by_pod", [](std::string& b) {
        const int n = u16(b, 3);
        REQUIRE(n == 20);
        const int cell = u16(b, 8 + 2 * static_cast<size_t>(n - 1));
        const int payload = static_cast<uint8_t>(b[static_cast<size_t>(cell)]);
        REQUIRE(payload < 128);
        char& c = b[static_cast<size_t>(cell + payload - 1)];
        REQUIRE(c == 'd');
        c = 'e';
    });
    INFO(problems);
    CHECK(problems.find("index exec_by_pod does not match table exec") != std::string::npos);
}

TEST_CASE("an index entry dropped from its page is found", "[integrity]") {
    const auto problems = damage("exit_by_proc", [](std::string& b) {
        const int n = u16(b, 3);
        REQUIRE(n == 40);
        b[4] = static_cast<char>(n - 1);  // the cell count
    });
    INFO(problems);
    CHECK(problems.find("index exit_by_proc has 39 entries; table exit has 40 rows that need one") !=
          std::string::npos);
}

TEST_CASE("a journal with indexes of its own gets the full integrity_check", "[integrity]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_journal(path);
    {
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("CREATE INDEX exit_by_code ON exit (code)").ok());
    }
    const Page page = root_page(path, "exit_by_code");
    // Damage the index the schema does not know: only integrity_check can
    // tell, and it must be the one that runs.
    edit_page(path, page, [](std::string& b) {
        const int n = u16(b, 3);
        REQUIRE(n == 40);
        b[4] = static_cast<char>(n - 1);
    });
    const auto problems = problems_of(path, false);
    CHECK(problems == problems_of(path, true));
    CHECK_FALSE(problems.empty());
}

TEST_CASE("an index entry with a field more than its key is found", "[integrity]") {
    // exec_by_proc is (tgid, start_ns) in sqlite_schema but its entries are
    // (tgid, start_ns, nspid, rowid): a scan of the key columns and rowid
    // sees nothing wrong, the index's size does.
    TempDir dir;
    const std::string path = dir / "j.db";
    write_journal(path);
    disguise_index(path, "exec_by_proc", "CREATE INDEX exec_by_proc ON exec (tgid, start_ns, nspid)");
    CHECK_FALSE(joined(problems_of(path, true)).empty());
    const auto problems = joined(problems_of(path, false));
    INFO(problems);
    CHECK(problems.find("index exec_by_proc: its entries take") != std::string::npos);
}

TEST_CASE("a partial index holding rows its condition excludes is found", "[integrity]") {
    // exec_by_pod claims WHERE pod_uid != '' but indexes every exec row.
    TempDir dir;
    const std::string path = dir / "j.db";
    write_journal(path);
    disguise_index(path, "exec_by_pod", "CREATE INDEX exec_by_pod ON exec (pod_uid)");
    CHECK_FALSE(joined(problems_of(path, true)).empty());
    const auto problems = joined(problems_of(path, false));
    INFO(problems);
    CHECK(problems.find("index exec_by_pod") != std::string::npos);
}

TEST_CASE("a UTF-16 journal gets the full integrity_check", "[integrity]") {
    // The proof compares text as UTF-8; SQLite converts UTF-16 text on the
    // way out, and what it drops in doing so (an odd byte) would go unseen.
    TempDir dir;
    write_journal(dir / "j.db");
    const std::string path = dir / "j16.db";
    copy_as_utf16(dir / "j.db", path);
    CHECK(problems_of(path, false).empty());
    edit_page(path, root_page(path, "fork_by_child"), [](std::string& b) {
        const int n = u16(b, 3);
        REQUIRE(n == 40);
        const int cell = u16(b, 8 + 2 * static_cast<size_t>(n - 1));
        const int payload = static_cast<uint8_t>(b[static_cast<size_t>(cell)]);
        char& low = b[static_cast<size_t>(cell + payload)];
        REQUIRE(low == 40);
        low = 41;
    });
    const auto problems = problems_of(path, false);
    CHECK_FALSE(problems.empty());
    CHECK(problems == problems_of(path, true));  // integrity_check's own words
}

}  // namespace test_integrity
