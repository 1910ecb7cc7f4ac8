// The executed files' hashes (exe_hasher.h): a fake /proc whose
// <pid>/exe links to real files, ExecEvents built by hand.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "exe_hasher.h"
#include "journal_writer.h"
#include "recorder.h"
#include "sqlite.h"
#include "test_util.h"

namespace test_exe_hasher {

using namespace lineage;
using lineage::test::open_writer;
using lineage::test::TempDir;
using lineage::test::write_file;

namespace {

constexpr int64_t kTick = 10'000'000;
// sha256 of "hello\n" and of "" (sha256sum).
const std::string kHelloSha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

// A fake /proc: <root>/<pid>/stat with the process's start tick, and
// <root>/<pid>/exe a symlink to `target`.
struct FakeProc {
    TempDir dir;
    std::string root = dir / "proc";
    FakeProc() { ::mkdir(root.c_str(), 0755); }
    void add(uint32_t pid, uint64_t start_ns, const std::string& target) {
        const std::string d = fmt::format("{}/{}", root, pid);
        ::mkdir(d.c_str(), 0755);
        // Field 22 is the start time in ticks.
        write_file(d + "/stat",
                   fmt::format("{} (x) S 1 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n", pid, start_ns / kTick));
        REQUIRE(::symlink(target.c_str(), (d + "/exe").c_str()) == 0);
    }
};

// An exec of `path` by process (pid, start_ns), with the file's identity as
// stat gives it now (or `identity`'s, when given).
ExecEvent exec_of(uint32_t pid, uint64_t start_ns, const std::string& path, const std::string& identity = "") {
    struct stat st {};
    REQUIRE(::stat((identity.empty() ? path : identity).c_str(), &st) == 0);
    ExecEvent e;
    e.time_ns = start_ns + 1000;
    e.proc = {pid, start_ns};
    e.binary = path;
    ExecFile f;
    f.path = path;
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.size = static_cast<uint64_t>(st.st_size);
    f.mode = st.st_mode;
    f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    e.file = f;
    return e;
}

ExeHasherOptions options_for(const FakeProc& proc) {
    ExeHasherOptions o;
    o.proc_root = proc.root;
    o.ns_per_tick = kTick;
    return o;
}

// Every row the hasher gives for `e`, now and once its worker is done.
std::vector<FileHashRow> rows_of(ExeHasher& h, const ExecEvent& e, int64_t now_ns = 1'000'000'000) {
    auto rows = h.on_exec(e, now_ns);
    REQUIRE(h.wait_idle(10'000'000'000));
    for (auto& r : h.take_results()) rows.push_back(std::move(r));
    return rows;
}

}  // namespace

TEST_CASE("exe hasher: a file is hashed through /proc/PID/exe", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog";
    write_file(file, "hello\n");
    proc.add(42, 5 * kTick, file);
    ExeHasher h(options_for(proc));
    auto rows = rows_of(h, exec_of(42, 5 * kTick, file));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].sha256 == kHelloSha);
    CHECK(rows[0].problem.empty());
    CHECK(rows[0].path == file);
    CHECK(h.stats().hashed == 1);
    CHECK(h.stats().bytes == 6);
}

TEST_CASE("exe hasher: one hash per file, one row per path", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog";
    write_file(file, "hello\n");
    proc.add(42, 5 * kTick, file);
    proc.add(43, 6 * kTick, file);
    ExeHasher h(options_for(proc));
    // The same file exec'd at two paths (a hard link, a bind mount), and
    // at the first again: one computation, two rows.
    auto first = exec_of(42, 5 * kTick, file);
    auto second = exec_of(43, 6 * kTick, file);
    second.file->path = "/elsewhere/prog";
    auto rows = h.on_exec(first, 1);
    for (auto& r : h.on_exec(second, 2)) rows.push_back(r);
    for (auto& r : h.on_exec(first, 3)) rows.push_back(r);
    REQUIRE(h.wait_idle(10'000'000'000));
    for (auto& r : h.take_results()) rows.push_back(r);
    for (auto& r : h.on_exec(second, 4)) rows.push_back(r);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].path == file);
    CHECK(rows[1].path == "/elsewhere/prog");
    CHECK(rows[0].sha256 == kHelloSha);
    CHECK(rows[1].sha256 == kHelloSha);
    CHECK(h.stats().hashed == 1);
    CHECK(h.stats().opened == 1);
}

TEST_CASE("exe hasher: a FIFO is not_regular and never blocks", "[record][hash]") {
    FakeProc proc;
    const std::string fifo = proc.dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    proc.add(42, 5 * kTick, fifo);
    ExeHasher h(options_for(proc));
    auto rows = rows_of(h, exec_of(42, 5 * kTick, fifo));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].problem == "not_regular");
    CHECK(rows[0].sha256.empty());
    CHECK(h.stats().opened == 0);
}

TEST_CASE("exe hasher: a file over the limit is too_large, unread", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "big";
    write_file(file, std::string(4096, 'x'));
    proc.add(42, 5 * kTick, file);
    auto o = options_for(proc);
    o.max_bytes = 4095;
    ExeHasher h(o);
    auto rows = rows_of(h, exec_of(42, 5 * kTick, file));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].problem == "too_large");
    CHECK(h.stats().bytes == 0);
    // The file's own problem: its next exec is not tried again, and the
    // same path gets no second row.
    CHECK(rows_of(h, exec_of(42, 5 * kTick, file)).empty());
    CHECK(h.stats().opened == 0);
}

TEST_CASE("exe hasher: a file that changes while read is 'changed', no hash", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog";
    write_file(file, "hello\n");
    proc.add(42, 5 * kTick, file);
    // An old mtime, so that any write moves it (timestamps are coarser than ns).
    const struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), old_times, 0) == 0);
    auto o = options_for(proc);
    // Catch2's checks are not for the worker's thread: the hook only acts.
    SECTION("cut short") {
        o.before_read = [&](int) { (void)::truncate(file.c_str(), 2); };
    }
    SECTION("rewritten in place, same size") {
        o.before_read = [&](int) {
            if (FILE* f = std::fopen(file.c_str(), "r+")) {
                std::fputs("HELLO\n", f);
                std::fclose(f);
            }
        };
    }
    ExeHasher h(o);
    auto rows = rows_of(h, exec_of(42, 5 * kTick, file));
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].problem == "changed");
    CHECK(rows[0].sha256.empty());
    CHECK(h.stats().hashed == 0);
}

TEST_CASE("exe hasher: a process gone, its file gone: 'gone'", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog";
    write_file(file, "hello\n");
    auto e = exec_of(42, 5 * kTick, file);
    ExeHasher h(options_for(proc));
    SECTION("no /proc entry, the file removed") {
        REQUIRE(::unlink(file.c_str()) == 0);
        auto rows = rows_of(h, e);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].problem == "gone");
    }
    SECTION("the PID reused by another process, the file rewritten") {
        proc.add(42, 9 * kTick, file);
        write_file(file, "other!\n");
        auto rows = rows_of(h, e);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].problem == "gone");
    }
    SECTION("no /proc entry, the file unchanged: hashed by its path") {
        auto rows = rows_of(h, e);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].sha256 == kHelloSha);
    }
    SECTION("a memfd has no path to fall back on") {
        e.file->flags |= kFileMemfd;
        auto rows = rows_of(h, e);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].problem == "gone");
    }
}

TEST_CASE("exe hasher: /proc/PID/exe is another file: 'other_file'", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog", other = proc.dir / "other";
    write_file(file, "hello\n");
    write_file(other, "hello, world\n");
    proc.add(42, 5 * kTick, other);
    ExeHasher h(options_for(proc));
    auto e = exec_of(42, 5 * kTick, file);
    auto rows = rows_of(h, e);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].problem == "other_file");
    CHECK(rows[0].sha256.empty());

    SECTION("overlayfs: another inode of the same size and mtime is the file") {
        // What overlayfs may give: the exec's inode is not the one exe shows.
        FakeProc proc2;
        const std::string copy = proc2.dir / "copy";
        write_file(copy, "hello\n");
        proc2.add(7, 5 * kTick, copy);
        auto e2 = exec_of(7, 5 * kTick, copy);
        e2.file->ino += 1;
        ExeHasher h2(options_for(proc2));
        CHECK(rows_of(h2, e2).at(0).problem == "other_file");
        e2.file->flags |= kFileOverlay;
        e2.file->dev += 1;  // another key: tried afresh
        CHECK(rows_of(h2, e2).at(0).sha256 == kHelloSha);
    }
}

TEST_CASE("exe hasher: over the rate, 'rate_limited', tried again later", "[record][hash]") {
    FakeProc proc;
    std::vector<ExecEvent> execs;
    for (uint32_t i = 0; i < 3; ++i) {
        const std::string file = proc.dir / fmt::format("prog{}", i);
        write_file(file, "hello\n");
        proc.add(40 + i, 5 * kTick, file);
        execs.push_back(exec_of(40 + i, 5 * kTick, file));
    }
    auto o = options_for(proc);
    o.files_per_second = 2;
    ExeHasher h(o);
    const int64_t t0 = 1'000'000'000;
    CHECK(rows_of(h, execs[0], t0).at(0).sha256 == kHelloSha);
    CHECK(rows_of(h, execs[1], t0).at(0).sha256 == kHelloSha);
    auto limited = rows_of(h, execs[2], t0);
    REQUIRE(limited.size() == 1);
    CHECK(limited[0].problem == "rate_limited");
    // Half a second later the bucket has a file again: the same key is
    // tried again, and its hash gets a row beside the problem's.
    auto later = rows_of(h, execs[2], t0 + 500'000'000);
    REQUIRE(later.size() == 1);
    CHECK(later[0].sha256 == kHelloSha);
    CHECK(h.stats().hashed == 3);

    SECTION("bytes per second") {
        FakeProc p;
        const std::string a = p.dir / "a", b = p.dir / "b";
        write_file(a, std::string(6000, 'a'));
        write_file(b, std::string(10, 'b'));
        p.add(1, kTick, a);
        p.add(2, kTick, b);
        auto ob = options_for(p);
        ob.bytes_per_second = 4096;
        ExeHasher hb(ob);
        // A file over a second's bytes passes when the bucket is full, and
        // leaves it in debt.
        CHECK(rows_of(hb, exec_of(1, kTick, a), t0).at(0).problem.empty());
        CHECK(rows_of(hb, exec_of(2, kTick, b), t0).at(0).problem == "rate_limited");
    }
}

TEST_CASE("exe hasher: a full queue is 'rate_limited'; a stop drops what waits", "[record][hash]") {
    FakeProc proc;
    std::vector<ExecEvent> execs;
    for (uint32_t i = 0; i < 3; ++i) {
        const std::string file = proc.dir / fmt::format("prog{}", i);
        write_file(file, "hello\n");
        proc.add(40 + i, 5 * kTick, file);
        execs.push_back(exec_of(40 + i, 5 * kTick, file));
    }
    auto o = options_for(proc);
    o.max_queue = 1;
    // The worker holds the first file until the hasher is stopping.
    std::atomic<bool> reading{false};
    ExeHasher* hasher = nullptr;
    o.before_read = [&](int) {
        reading = true;
        while (!hasher->stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    ExeHasher h(o);
    hasher = &h;
    CHECK(h.on_exec(execs[0], 1).empty());
    while (!reading) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(h.on_exec(execs[1], 2).empty());  // queued
    auto full = h.on_exec(execs[2], 3);
    REQUIRE(full.size() == 1);
    CHECK(full[0].problem == "rate_limited");
    CHECK_FALSE(h.wait_idle(1'000'000));
    // The file being read is given up at its next chunk, the queued one at once.
    CHECK(h.stop() == 2);
    CHECK(h.take_results().empty());
    CHECK(h.stats().hashed == 0);
}

TEST_CASE("recorder: file_hashes rows land in the journal, once per file and path", "[record][hash]") {
    FakeProc proc;
    const std::string file = proc.dir / "prog";
    write_file(file, "hello\n");
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    rec.set_exe_hasher(std::make_unique<ExeHasher>(options_for(proc)));
    // The storm's shape: one file, many execs.
    for (uint32_t i = 0; i < 50; ++i) {
        proc.add(100 + i, (10 + i) * kTick, file);
        REQUIRE(rec.on_event(exec_of(100 + i, (10 + i) * kTick, file), 1'000'000'000 + i).ok());
    }
    auto moved = exec_of(200, 99 * kTick, file);
    moved.file->path = "/usr/local/bin/prog";
    REQUIRE(rec.on_event(moved, 1'000'000'100).ok());
    REQUIRE(rec.finish_hashing(10'000'000'000) == 0);
    REQUIRE(rec.commit(2'000'000'000).ok());
    CHECK(rec.exe_hasher()->stats().hashed == 1);

    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM exec") == 51);
    CHECK(*query_int(*db, "SELECT count(*) FROM exec_files") == 51);
    CHECK(*query_int(*db, "SELECT count(*) FROM file_hashes") == 2);
    CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM file_hashes WHERE sha256 = '{}' AND problem = ''",
                                      kHelloSha)) == 2);
    CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM file_hashes WHERE CAST(path AS TEXT) IN ('{}', "
                                      "'/usr/local/bin/prog')",
                                      file)) == 2);
}

}  // namespace test_exe_hasher
