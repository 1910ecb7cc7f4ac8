// One recorder per journal: the lock on the journal's inode, whatever path
// names it, and the record session that takes it before it writes anything.
// flock locks of two open file descriptions conflict even within one
// process, so a second lock here stands for a second recorder.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "heartbeat.h"
#include "journal_lock.h"
#include "procfs.h"
#include "session_rig.h"

namespace test_journal_lock {

using namespace lineage;
using lineage::test::FakeSource;
using lineage::test::fork_bytes;
using lineage::test::read_file;
using lineage::test::SessionRig;
using lineage::test::TempDir;
using lineage::test::write_file;
namespace fs = std::filesystem;

namespace {

JournalLock take(const std::string& path, bool create = false) {
    auto lock = JournalLock::take(path, create, 0);
    INFO(path << ": " << (lock ? "" : lock.error().message));
    REQUIRE(lock.ok());
    return std::move(*lock);
}

std::string tree_listing(const std::string& dir) {
    std::string out;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out += n + "\n";
    return out;
}

}  // namespace

TEST_CASE("journal lock: taken once, refused to every other open of the same file", "[journal-lock]") {
    TempDir dir;
    const std::string journal = dir / "j.db";

    SECTION("a missing journal is not created unless asked") {
        auto lock = take(journal);
        CHECK(lock.state() == JournalLock::State::missing);
        CHECK_FALSE(fs::exists(journal));
    }

    auto first = take(journal, true);
    REQUIRE(first.state() == JournalLock::State::taken);
    CHECK(first.created());
    struct stat st {};
    REQUIRE(stat(journal.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(first.canonical() == fs::canonical(journal).string());

    fs::create_directory(dir / "sub");
    fs::create_symlink(journal, dir / "link.db");
    fs::create_hard_link(journal, dir / "sub/hard.db");
    for (const std::string& other :
         {journal, dir / "link.db", dir / "sub/hard.db", dir / "sub/../j.db", dir / "./sub/../sub/hard.db"}) {
        INFO(other);
        auto second = take(other);
        CHECK(second.state() == JournalLock::State::held);
        CHECK(second.ino() == first.ino());
        auto held = journal_lock_held(second.fd());
        REQUIRE(held.ok());
        CHECK(*held);
    }
    // The lock's descriptor is what holds it: gone with it (as with the
    // process that held it, killed or not).
    { JournalLock gone = std::move(first); }
    auto next = take(dir / "sub/hard.db");
    CHECK(next.state() == JournalLock::State::taken);
    CHECK_FALSE(next.created());
}

TEST_CASE("journal lock: a status probe does not keep a recorder out", "[journal-lock]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    write_file(journal, "");
    auto file = open_journal_file(journal);
    REQUIRE(file.ok());
    auto held = journal_lock_held(file->fd.get());
    REQUIRE(held.ok());
    CHECK_FALSE(*held);
    // The probe's shared lock is dropped at once...
    auto lock = take(journal);
    CHECK(lock.state() == JournalLock::State::taken);
    held = journal_lock_held(file->fd.get());
    REQUIRE(held.ok());
    CHECK(*held);

    // ...and a recorder that finds a shared lock tries again for a while.
    UniqueFd prober(::open(journal.c_str(), O_RDONLY | O_CLOEXEC));
    { JournalLock gone = std::move(lock); }
    REQUIRE(flock(prober.get(), LOCK_SH) == 0);
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        flock(prober.get(), LOCK_UN);
    });
    auto patient = JournalLock::take(journal, false, 2000);
    release.join();
    REQUIRE(patient.ok());
    CHECK(patient->state() == JournalLock::State::taken);
}

TEST_CASE("journal lock: what is not a journal file is never opened", "[journal-lock]") {
    TempDir dir;
    SECTION("a FIFO: refused without blocking") {
        REQUIRE(mkfifo((dir / "fifo").c_str(), 0600) == 0);
        auto lock = JournalLock::take(dir / "fifo", true, 0);
        REQUIRE_FALSE(lock.ok());
        CHECK(lock.error().message == dir / "fifo" + ": not a regular file");
    }
    SECTION("a directory") {
        auto lock = JournalLock::take(dir.path(), false, 0);
        REQUIRE_FALSE(lock.ok());
        CHECK(lock.error().message == dir.path() + ": is a directory, not a journal file");
    }
    SECTION("a dangling symlink is not created through") {
        fs::create_symlink(dir / "target.db", dir / "link.db");
        auto lock = JournalLock::take(dir / "link.db", true, 0);
        REQUIRE_FALSE(lock.ok());
        CHECK_FALSE(fs::exists(dir / "target.db"));
    }
    SECTION("a directory that does not exist") {
        auto lock = JournalLock::take(dir / "no/j.db", true, 0);
        REQUIRE_FALSE(lock.ok());
        CHECK(lock.error().message == dir / "no/j.db" + ": cannot create journal: No such file or directory");
    }
}

TEST_CASE("journal lock: /proc/locks names the holder", "[journal-lock]") {
    TempDir dir;
    auto lock = take(dir / "j.db", true);
    REQUIRE(lock.state() == JournalLock::State::taken);
    auto pid = flock_holder(lock.dev(), lock.ino());
    REQUIRE(pid);
    CHECK(*pid == getpid());

    SECTION("read as the kernel writes it") {
        // Another inode, a POSIX lock, a reader and a waiter are not it.
        fs::create_directory(dir / "proc");
        write_file(dir / "proc/locks",
                   "1: POSIX  ADVISORY  WRITE 111 08:01:42 1073741824 1073741824\n"
                   "2: FLOCK  ADVISORY  READ 222 08:01:42 0 EOF\n"
                   "3: FLOCK  ADVISORY  WRITE 333 08:01:43 0 EOF\n"
                   "4: FLOCK  ADVISORY  WRITE 444 08:01:42 0 EOF\n"
                   "4: -> FLOCK  ADVISORY  WRITE 555 08:01:42 0 EOF\n");
        CHECK(flock_holder(makedev(8, 1), 42, dir / "proc") == 444);
        CHECK(flock_holder(makedev(8, 2), 43, dir / "proc") == 333);  // the inode alone, when unique
        CHECK_FALSE(flock_holder(makedev(8, 1), 44, dir / "proc"));
        CHECK_FALSE(flock_holder(makedev(8, 1), 42, dir / "nothing"));
    }
}

// ---------------------------------------------------------------------------
// The record session takes the lock.

namespace {

// The journal's bytes and every name in its directory.
struct Snapshot {
    std::string journal, wal, listing, heartbeat;
    bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot_of(const SessionRig& rig) {
    const std::string& j = rig.options.journal;
    return {read_file(j), read_file(j + "-wal"), tree_listing(rig.dir.path()), read_file(j + ".heartbeat")};
}

}  // namespace

TEST_CASE("a second session on a recorded journal stops at once and writes nothing", "[record-session][journal-lock]") {
    SessionRig first;
    first.options.batch_interval_ns = 10'000'000;
    const std::string journal = first.options.journal;
    const std::string dir = first.dir.path();
    int turns = 0;
    std::vector<std::pair<std::string, std::string>> refusals;  // path, message
    first.turn = [&](FakeSource& source) {
        ++turns;
        source.records.push_back(fork_bytes(static_cast<uint32_t>(100 + turns), static_cast<uint64_t>(1000 + turns)));
        if (turns != 3) return turns >= 6;
        fs::create_directory(dir + "/sub");
        fs::create_symlink(journal, dir + "/link.db");
        fs::create_hard_link(journal, dir + "/sub/hard.db");
        for (const std::string& path : {journal, dir + "/link.db", dir + "/sub/hard.db", dir + "/sub/../j.db"}) {
            INFO(path);
            const Snapshot before = snapshot_of(first);
            SessionRig second;
            second.options.journal = path;
            bool started = false;
            second.hooks.start_source = [&](const ProbeCgroups&, RecordSink) -> Result<std::unique_ptr<EventSource>> {
                started = true;
                return Error{"the probes must not load"};
            };
            auto status = second.run();
            REQUIRE_FALSE(status.ok());
            refusals.emplace_back(path, status.error().message);
            CHECK_FALSE(started);
            CHECK(second.lines.empty());
            CHECK_FALSE(fs::exists(second.options.anchor_log));
            CHECK(snapshot_of(first) == before);
        }
        return false;
    };
    auto status = first.run();
    REQUIRE(status.ok());
    CHECK(*status == 0);

    const std::string recording =
        fmt::format("another recorder holds this journal: PID {}, run 1, recording since ", getpid());
    const std::string elsewhere = "; to record elsewhere, give another --journal";
    REQUIRE(refusals.size() == 4);
    for (const auto& [path, message] : refusals) {
        INFO(message);
        CHECK(message.find('\n') == std::string::npos);
        CHECK(message.rfind(path + ": ", 0) == 0);
        CHECK(message.size() > elsewhere.size());
        CHECK(message.substr(message.size() - elsewhere.size()) == elsewhere);
        if (path.find("hard.db") != std::string::npos) {
            // The heartbeat is beside the name the recorder was given.
            CHECK_THAT(message, Catch::Contains(fmt::format("another process holds this journal: PID {} (from "
                                                            "/proc/locks; no heartbeat at {}/sub/hard.db.heartbeat)",
                                                            getpid(), dir)));
        } else {
            CHECK_THAT(message, Catch::Contains(recording));
        }
    }
    // The first went on to the end: every event, one run, a whole chain.
    auto db = first.db();
    CHECK(*query_int(db, "SELECT count(*) FROM fork") == 6);
    CHECK(*query_int(db, "SELECT count(*) FROM runs") == 1);
    CHECK(first.stop_reason() == "signal");
    CHECK(lineage::test::verify(journal).status() == "whole");
}

TEST_CASE("a refusal names the holder from /proc/locks when no heartbeat is the holder's",
          "[record-session][journal-lock]") {
    SessionRig rig;
    write_file(rig.options.journal, "");
    auto holder = take(rig.options.journal);
    REQUIRE(holder.state() == JournalLock::State::taken);
    const std::string prefix = rig.options.journal + ": another process holds this journal: PID " +
                               std::to_string(getpid()) + " (from /proc/locks; ";
    const std::string elsewhere = "); to record elsewhere, give another --journal";
    SECTION("no heartbeat") {
        auto status = rig.run();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().message == prefix + "no heartbeat at " + rig.options.journal + ".heartbeat" + elsewhere);
    }
    SECTION("the last word of a recorder that stopped") {
        Heartbeat h;
        h.phase = "stopped";
        h.pid = 1;
        h.boot_id = read_boot_id();
        h.journal_dev = holder.dev();
        h.journal_ino = holder.ino();
        h.run_id = 7;
        h.batch_interval_ns = 100'000'000;
        REQUIRE(HeartbeatFile(rig.options.journal + ".heartbeat", -1).write(h).ok());
        auto status = rig.run();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().message == prefix + "its heartbeat is of PID 1, which stopped" + elsewhere);
        h.phase = "recording";  // another PID's
        REQUIRE(HeartbeatFile(rig.options.journal + ".heartbeat", -1).write(h).ok());
        status = rig.run();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().message == prefix + "its heartbeat names PID 1" + elsewhere);
    }
    CHECK(read_file(rig.options.journal).empty());
}

TEST_CASE("a session takes over the journal of a recorder that is gone", "[record-session][journal-lock]") {
    SessionRig rig;
    REQUIRE(rig.run().ok());
    SessionRig next;
    next.options.journal = rig.options.journal;
    auto status = next.run();
    REQUIRE(status.ok());
    CHECK(*status == 0);
    auto db = rig.db();
    CHECK(*query_int(db, "SELECT count(*) FROM runs") == 2);
    CHECK(next.lines.at(1).rfind("lineage: recording to " + rig.options.journal + " (run 2, ", 0) == 0);
}

TEST_CASE("a session refuses a symlinked journal, and a file that is no journal, untouched", "[record-session]") {
    SessionRig rig;
    const std::string target = rig.dir / "real.db";
    bool started = false;
    rig.hooks.start_source = [&](const ProbeCgroups&, RecordSink sink) -> Result<std::unique_ptr<EventSource>> {
        started = true;
        return std::unique_ptr<EventSource>(std::make_unique<FakeSource>(std::move(sink)));
    };
    SECTION("a symlink") {
        write_file(target, "");
        fs::create_symlink(target, rig.options.journal);
        const std::string before = tree_listing(rig.dir.path());
        auto status = rig.run();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().message == rig.options.journal +
                                            ": is a symbolic link; record writes only to the file itself: --journal " +
                                            fs::canonical(target).string());
        CHECK_FALSE(started);
        CHECK(tree_listing(rig.dir.path()) == before);
    }
    SECTION("not a journal") {
        write_file(rig.options.journal, "these are not the bytes of a journal\n");
        const std::string before = tree_listing(rig.dir.path());
        auto status = rig.run();
        REQUIRE_FALSE(status.ok());
        CHECK(status.error().message == rig.options.journal + ": not a lineage journal (not an SQLite database)");
        // Nothing beside it: no heartbeat for a file that is not a journal.
        fs::remove(rig.options.anchor_log);
        CHECK(tree_listing(rig.dir.path()) == before);
        CHECK(read_file(rig.options.journal) == "these are not the bytes of a journal\n");
    }
}

TEST_CASE("a session keeps its heartbeat beside the journal", "[record-session][heartbeat]") {
    SessionRig rig;
    rig.options.batch_interval_ns = 20'000'000;
    rig.options.retention.max_bytes = 64 << 20;
    rig.options.ring_bytes = 1 << 20;
    const std::string path = rig.options.journal + ".heartbeat";
    const std::string boot = read_boot_id();
    int turns = 0;
    std::optional<Heartbeat> seen_recording, seen_counts;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    rig.turn = [&](FakeSource& source) {
        ++turns;
        auto read = read_heartbeat(path);
        REQUIRE(read.ok());
        if (turns == 1) {
            seen_recording = *read;
            for (uint32_t i = 0; i < 5; ++i) source.records.push_back(fork_bytes(100 + i, 1000 + i));
            source.counters = {7, 0};
        } else if (read->run.stored == 5 && read->run.ringbuf_full == 7 && read->last_batch > 0) {
            seen_counts = *read;
            return true;
        }
        return std::chrono::steady_clock::now() > deadline;
    };
    auto status = rig.run();
    REQUIRE(status.ok());
    REQUIRE(seen_recording);
    const Heartbeat& r = *seen_recording;
    struct stat st {};
    REQUIRE(stat(rig.options.journal.c_str(), &st) == 0);
    CHECK(r.phase == "recording");
    CHECK(r.pid == getpid());
    CHECK(r.run_id == 1);
    CHECK(r.boot_id == boot);
    CHECK(r.journal_ino == st.st_ino);
    CHECK(r.journal_dev == st.st_dev);
    CHECK(r.batch_interval_ns == 20'000'000);
    CHECK(r.max_size_bytes == 64 << 20);
    CHECK(r.ring_bytes == 1 << 20);
    CHECK(r.anchor_batch == 1);  // published at start
    CHECK(r.anchor_hash.size() == 64);
    REQUIRE(seen_counts);
    CHECK(seen_counts->last_minute.stored == 5);
    CHECK(seen_counts->last_minute.ringbuf_full == 7);
    CHECK(seen_counts->last_commit_wall_ns > 0);
    CHECK(seen_counts->journal_writable);
    // Its last word: stopped, and why.
    auto last = read_heartbeat(path);
    REQUIRE(last.ok());
    CHECK(last->phase == "stopped");
    CHECK(last->stop_reason == "signal");
    CHECK(last->anchor_batch == last->last_batch);  // the anchor at stop
    // As readable as the journal, no more.
    struct stat hb {};
    REQUIRE(stat(path.c_str(), &hb) == 0);
    CHECK((hb.st_mode & 0777) == (st.st_mode & 0666));
    CHECK_FALSE(fs::exists(path + ".tmp"));
}

}  // namespace test_journal_lock
