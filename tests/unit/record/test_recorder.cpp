// The recorder's bookkeeping, fed synthetic ring-buffer records, and the
// record session over synthetic sources.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "event_source.h"
#include "events.h"
#include "journal_writer.h"
#include "record_session.h"
#include "recorder.h"
#include "session_rig.h"
#include "sqlite.h"
#include "test_util.h"
#include "verify.h"

#include <fmt/format.h>

namespace test_recorder {

using namespace lineage;
using lineage::test::FakeSource;
using lineage::test::fork_bytes;
using lineage::test::fork_record;
using lineage::test::open_writer;
using lineage::test::SessionRig;
using lineage::test::TempDir;

TEST_CASE("records are batched by size and by age", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.batch_interval_ns = 100'000'000;
    opt.batch_max_rows = 10;
    Recorder rec(writer, opt);

    for (uint32_t i = 0; i < 25; ++i) {
        auto f = fork_record(100 + i, 1000 + i);
        REQUIRE(rec.on_record(&f, sizeof(f), 1'000).ok());
        REQUIRE(rec.maybe_commit(1'000).ok());
    }
    // 10 + 10 committed by size, 5 waiting for age.
    CHECK(writer.pending_rows() == 5);
    REQUIRE(rec.maybe_commit(1'000 + 50'000'000).ok());
    CHECK(writer.pending_rows() == 5);
    REQUIRE(rec.maybe_commit(1'000 + 100'000'000).ok());
    CHECK(writer.pending_rows() == 0);
    CHECK(rec.stats().stored == 25);

    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM fork") == 25);
    CHECK(*query_int(*db, "SELECT count(*) FROM batches") == 3);
    CHECK(*query_int(*db, "SELECT sum(row_count) FROM batches") == 25);
}

TEST_CASE("the batch interval counts from the last commit or empty drain", "[recorder]") {
    // record's loop sleeps on the ring until next_commit_ns(), drains it and
    // calls maybe_commit(): an event waits about one interval at most, in
    // the ring or in the open batch, and the loop wakes once per interval.
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.batch_interval_ns = 100;
    Recorder rec(writer, opt);

    REQUIRE(rec.maybe_commit(0).ok());  // an empty drain at 0
    CHECK(rec.next_commit_ns(0) == 100);
    auto f1 = fork_record(201, 60);
    REQUIRE(rec.on_record(&f1, sizeof(f1), 60).ok());
    REQUIRE(rec.maybe_commit(60).ok());  // woken early (a full ring, say)
    CHECK(writer.pending_rows() == 1);
    CHECK(rec.next_commit_ns(60) == 100);
    REQUIRE(rec.maybe_commit(100).ok());
    CHECK(writer.pending_rows() == 0);
    CHECK(rec.next_commit_ns(100) == 200);

    // Idle: each empty drain moves the start, since what the ring gets
    // afterwards is younger.
    REQUIRE(rec.maybe_commit(150).ok());
    CHECK(rec.next_commit_ns(150) == 250);
    auto f2 = fork_record(202, 240);
    REQUIRE(rec.on_record(&f2, sizeof(f2), 240).ok());
    REQUIRE(rec.maybe_commit(240).ok());
    CHECK(writer.pending_rows() == 1);
    REQUIRE(rec.maybe_commit(250).ok());
    CHECK(writer.pending_rows() == 0);
    CHECK(rec.stats().stored == 2);
}

TEST_CASE("kernel drops and undecodable records become loss rows", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    REQUIRE(rec.note_drops(0, 0, 1'000).ok());
    REQUIRE(rec.note_drops(7, 1'500, 2'000).ok());
    REQUIRE(rec.note_drops(7, 1'500, 3'000).ok());  // no new drops: no row
    REQUIRE(rec.note_drops(10, 3'500, 4'000).ok());
    char garbage[24] = {};
    garbage[0] = 42;  // unknown type
    garbage[4] = sizeof(garbage);
    REQUIRE(rec.on_record(garbage, sizeof(garbage), 4'100).ok());
    REQUIRE(rec.commit(4'200).ok());
    CHECK(rec.stats().lost == 11);
    CHECK(rec.stats().decode_errors == 1);

    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM loss") == 3);
    CHECK(*query_int(*db, "SELECT sum(count) FROM loss WHERE reason = 'ringbuf_full'") == 10);
    CHECK(*query_int(*db, "SELECT from_ns FROM loss WHERE count = 7") == 1'000);
    CHECK(*query_int(*db, "SELECT to_ns FROM loss WHERE count = 7") == 1'500);
    CHECK(*query_int(*db, "SELECT from_ns FROM loss WHERE count = 3") == 3'000);
    CHECK(*query_int(*db, "SELECT count FROM loss WHERE reason = 'decode'") == 1);
}

TEST_CASE("a pod is named once from its log directory, the first time it is met", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    int calls = 0;
    PodNamer namer = [&](const std::string& uid) -> std::optional<PodName> {
        ++calls;
        CHECK(uid == "4c6a1b2e-8d3f-4e5a-9b7c-1d2e3f4a5b6c");
        return PodName{"my-app-6d4f9-xk2p1", "production", PodNameSource::log_dir};
    };
    Recorder rec(writer, RecorderOptions{}, namer);
    std::string cg =
        "/kubepods.slice/kubepods-burstable.slice/"
        "kubepods-burstable-pod4c6a1b2e_8d3f_4e5a_9b7c_1d2e3f4a5b6c.slice/"
        "cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope";
    // Leaf-first names, as the BPF program sends them.
    std::string names;
    for (size_t end = cg.size(); end > 0;) {
        size_t start = cg.rfind('/', end - 1);
        names += cg.substr(start + 1, end - start - 1);
        names.push_back('\0');
        end = start;
    }
    for (int i = 0; i < 3; ++i) {
        std::vector<char> buf(sizeof(lineage_exec_event) + names.size());
        lineage_exec_event e{};
        e.hdr = {LINEAGE_EV_EXEC, static_cast<__u32>(buf.size()), 10};
        e.proc = {static_cast<__u32>(50 + i), 0, 10};
        e.cgroup_len = static_cast<__u16>(names.size());
        std::memcpy(e.nodename, "my-app-6d4f9-xk2p1", sizeof("my-app-6d4f9-xk2p1"));
        std::memcpy(buf.data(), &e, sizeof(e));
        std::memcpy(buf.data() + sizeof(e), names.data(), names.size());
        REQUIRE(rec.on_record(buf.data(), buf.size(), 10).ok());
    }
    REQUIRE(rec.commit(20).ok());
    CHECK(calls == 1);
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM pods WHERE name = 'my-app-6d4f9-xk2p1' AND namespace = 'production'") ==
          1);
    auto s = db->prepare("SELECT cgroup_path, pod_uid FROM exec LIMIT 1");
    REQUIRE(s.ok());
    REQUIRE(s->step() == SQLITE_ROW);
    CHECK(s->blob(0) == cg);
    // The UID the pod was named by is the exec row's.
    CHECK(s->text(1) == "4c6a1b2e-8d3f-4e5a-9b7c-1d2e3f4a5b6c");
}

TEST_CASE("clock samples are stored when the offset moves, or hourly", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    const int64_t minute = 60'000'000'000, offset = 1'776'848'400'000'000'000;
    // Three hours of one-minute checks with a steady clock, then a 2 s step.
    for (int64_t m = 0; m <= 180; ++m) REQUIRE(rec.note_clock(m * minute, m * minute + offset).ok());
    REQUIRE(rec.note_clock(181 * minute, 181 * minute + offset + 500'000).ok());        // 0.5 ms: kept out
    REQUIRE(rec.note_clock(182 * minute, 182 * minute + offset + 2'000'000'000).ok());  // a step
    REQUIRE(rec.commit(183 * minute).ok());
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    // begin_run's own sample, then 0 h, 1 h, 2 h, 3 h, and the step.
    CHECK(*query_int(*db, "SELECT count(*) FROM clock_samples") == 6);
    CHECK(*query_int(*db, "SELECT max(wall_ns - boot_ns) FROM clock_samples") == offset + 2'000'000'000);
}

// A journal that cannot be written. PRAGMA query_only makes every write
// fail (SQLITE_READONLY, as a file system remounted read-only does), retries
// included; max_page_count makes the journal full at a chosen size, exactly as
// ENOSPC does (SQLITE_FULL), where small commits may still fit. Neither needs
// a file system; tests/e2e/test_disk_full.cpp fills a real tmpfs.
namespace {
void set_writable(Database& db, bool writable) {
    REQUIRE(db.exec(writable ? "PRAGMA query_only = 0" : "PRAGMA query_only = 1").ok());
}
}  // namespace

TEST_CASE("an unwritable journal: nothing half-written, every event counted, the chain goes on",
          "[recorder][disk-full]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto writer = open_writer(path);
    std::vector<std::string> notices;
    RecorderOptions opt;
    opt.batch_max_rows = 50;
    opt.batch_interval_ns = 60'000'000'000;  // batches by size only
    opt.retry_interval_ns = 1'000'000'000;
    Recorder rec(writer, opt, nullptr, [&](const std::string& line) { notices.push_back(line); });
    Database& db = writer.database_for_tests();
    uint32_t child = 1000;
    uint64_t fed = 0;
    int64_t now = 1'000'000'000;
    auto feed = [&](int n) {
        for (int i = 0; i < n; ++i, ++fed) {
            auto f = fork_record(child++, static_cast<uint64_t>(now));
            REQUIRE(rec.on_record(&f, sizeof(f), now).ok());
            REQUIRE(rec.maybe_commit(now).ok());
            now += 1'000'000;
        }
    };
    feed(220);  // 200 committed, 20 in the open batch
    CHECK(writer.pending_rows() == 20);
    const ChainHead head_before = writer.head();

    set_writable(db, false);
    feed(3000);  // three seconds: the open batch fails, then retries fail
    REQUIRE(rec.note_drops(5, static_cast<uint64_t>(now), now).ok());  // the ring overflowed meanwhile
    CHECK(rec.storage_down());
    CHECK(rec.unstored() == 3020);  // the 20 of the rolled-back batch too
    REQUIRE(notices.size() == 1);
    CHECK_THAT(notices[0], Catch::Contains("cannot write the journal") && Catch::Contains("recording goes on"));
    CHECK(rec.stats().stored == 200);
    CHECK(rec.stats().stored + rec.stats().lost == fed + 5);
    // Nothing of it is in the journal, and the chain head did not move.
    CHECK(writer.head().batch_id == head_before.batch_id);
    CHECK(*query_int(db, "SELECT count(*) FROM fork") == 200);
    CHECK(*query_int(db, "SELECT count(*) FROM loss") == 0);

    set_writable(db, true);
    now += 1'000'000'000;
    REQUIRE(rec.maybe_commit(now).ok());  // the retry
    CHECK(!rec.storage_down());
    REQUIRE(notices.size() == 2);
    CHECK_THAT(notices[1], Catch::Contains("can be written again: 3020 events over") &&
                               Catch::Contains("recorded as lost (journal_write)"));
    feed(100);
    REQUIRE(rec.commit(now).ok());

    CHECK(*query_int(db, "SELECT sum(count) FROM loss WHERE reason = 'journal_write'") == 3020);
    CHECK(*query_int(db, "SELECT sum(count) FROM loss WHERE reason = 'ringbuf_full'") == 5);
    // The time it could not store: from the first event of the rolled-back
    // batch to the last one counted.
    CHECK(*query_int(db, "SELECT from_ns FROM loss WHERE reason = 'journal_write'") == 1'000'000'000 + 200'000'000);
    CHECK(*query_int(db, "SELECT to_ns FROM loss WHERE reason = 'journal_write'") == 1'000'000'000 + 3'219'000'000);
    CHECK(*query_int(db, "SELECT count(*) FROM fork") == 300);
    CHECK(rec.stats().stored == 300);
    CHECK(rec.stats().lost == 3025);
    CHECK(*query_int(db, "SELECT max(batch_id) - min(batch_id) + 1 - count(*) FROM batches") == 0);
    auto v = verify_journal(path);
    REQUIRE(v.ok());
    CHECK(v->status() == "whole");
}

TEST_CASE("a journal that fills up now and then: stored + lost is every event, and it verifies",
          "[recorder][disk-full]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto writer = open_writer(path);
    RecorderOptions opt;
    opt.batch_max_rows = 100;
    opt.retry_interval_ns = 100'000'000;
    Recorder rec(writer, opt);
    Database& db = writer.database_for_tests();
    uint64_t fed = 0;
    int64_t now = 1'000'000'000;
    for (int round = 0; round < 5; ++round) {
        // Full at the current size, then room for a bit more.
        const int64_t pages = *query_int(db, "PRAGMA page_count");
        REQUIRE(*query_int(db, fmt::format("PRAGMA max_page_count = {}", pages + round)) >= pages);
        for (int i = 0; i < 2000; ++i, ++fed) {
            auto f = fork_record(static_cast<uint32_t>(1000 + fed), static_cast<uint64_t>(now));
            REQUIRE(rec.on_record(&f, sizeof(f), now).ok());
            REQUIRE(rec.maybe_commit(now).ok());
            now += 1'000'000;
        }
        REQUIRE(*query_int(db, "PRAGMA max_page_count = 1000000") >= 1000000);
        now += 1'000'000'000;
        REQUIRE(rec.commit(now).ok());
        REQUIRE(!rec.storage_down());
    }
    const int64_t stored = *query_int(db, "SELECT count(*) FROM fork");
    const int64_t unstored = *query_int(db, "SELECT coalesce(sum(count), 0) FROM loss WHERE reason = 'journal_write'");
    CHECK(unstored > 0);
    CHECK(stored + unstored == static_cast<int64_t>(fed));
    CHECK(rec.stats().stored == static_cast<uint64_t>(stored));
    CHECK(*query_int(db, "SELECT sum(row_count) FROM batches") ==
          *query_int(db, "SELECT (SELECT count(*) FROM fork) + (SELECT count(*) FROM loss)"));
    auto v = verify_journal(path);
    REQUIRE(v.ok());
    CHECK(v->status() == "whole");
    CHECK(*query_int(db, "PRAGMA integrity_check = 1") == 0);
}

TEST_CASE("an unwritable journal at stop: the recorder says what it could not store", "[recorder][disk-full]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    Database& db = writer.database_for_tests();
    set_writable(db, false);
    for (uint32_t i = 0; i < 2000; ++i) {
        auto f = fork_record(100 + i, 10 + i);
        REQUIRE(rec.on_record(&f, sizeof(f), 10 + i).ok());
    }
    REQUIRE(rec.commit(5000).ok());  // fails, and so does the retry it makes
    CHECK(rec.storage_down());
    CHECK(rec.unstored() == 2000);
    CHECK(rec.unstored_span_ns() == 1999);
    CHECK_THAT(rec.storage_error(),
               Catch::Contains("readonly") || Catch::Contains("read-only") || Catch::Contains("read only"));
    set_writable(db, true);
    CHECK(*query_int(db, "SELECT count(*) FROM fork") == 0);
}

TEST_CASE("a pod named in a batch that was rolled back is named again", "[recorder][disk-full]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    PodNamer namer = [&](const std::string&) -> std::optional<PodName> {
        return PodName{"web", "prod", PodNameSource::log_dir};
    };
    Recorder rec(writer, RecorderOptions{}, namer);
    Database& db = writer.database_for_tests();
    const std::string names = std::string("cri-containerd-ab.scope") + '\0' +
                              "kubepods-pod4c6a1b2e_8d3f_4e5a_9b7c_1d2e3f4a5b6c.slice" + '\0' + "kubepods.slice" + '\0';
    auto exec_record = [&](uint32_t pid) {
        std::vector<char> buf(sizeof(lineage_exec_event) + names.size());
        lineage_exec_event e{};
        e.hdr = {LINEAGE_EV_EXEC, static_cast<__u32>(buf.size()), 10};
        e.proc = {pid, 0, 10};
        e.cgroup_len = static_cast<__u16>(names.size());
        std::memcpy(buf.data(), &e, sizeof(e));
        std::memcpy(buf.data() + sizeof(e), names.data(), names.size());
        return buf;
    };
    auto b1 = exec_record(100);
    REQUIRE(rec.on_record(b1.data(), b1.size(), 10).ok());  // names the pod, in the open batch
    set_writable(db, false);
    REQUIRE(rec.commit(20).ok());
    REQUIRE(rec.storage_down());
    set_writable(db, true);
    REQUIRE(rec.commit(2'000'000'000).ok());
    REQUIRE(!rec.storage_down());
    auto b2 = exec_record(500);
    REQUIRE(rec.on_record(b2.data(), b2.size(), 2'000'000'001).ok());
    REQUIRE(rec.commit(2'000'000'002).ok());
    CHECK(*query_int(db, "SELECT count(*) FROM pods WHERE name = 'web'") == 1);
    CHECK(*query_int(db, "SELECT count(*) FROM exec") == 1);
    CHECK(*query_int(db, "SELECT count FROM loss WHERE reason = 'journal_write'") == 1);
}

// ---------------------------------------------------------------------------
// The record session, over synthetic sources, cgroup mounts and /proc trees.

namespace {

uint64_t inode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

void make_file(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    lineage::test::write_file(path, bytes);
}

// A /proc/PID/stat line with the fields scan_proc reads.
std::string stat_line(int pid, const std::string& comm, int ppid, uint32_t flags, uint64_t start_ticks) {
    return fmt::format(
        "{} ({}) S {} {} {} 0 -1 {} 0 0 0 0 0 0 0 0 20 0 1 0 {} 1000 10 18446744073709551615 0 0 0 0 "
        "0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        pid, comm, ppid, pid, pid, flags, start_ticks);
}

}  // namespace

TEST_CASE("cgroup filter: none without --cgroup and --kube-only", "[record-session]") {
    auto filter = resolve_cgroup_filter({}, false, "");
    REQUIRE(filter.ok());
    CHECK_FALSE(filter->enabled);
    CHECK(filter->ids.empty());
    CHECK(filter->filters_json == "{}");
}

TEST_CASE("cgroup filter: cgroups below a cgroup2 mount", "[record-session]") {
    TempDir mount;
    std::filesystem::create_directories(mount / "system.slice/x.service");
    std::filesystem::create_directories(mount / "user.slice");

    auto filter = resolve_cgroup_filter({"system.slice/x.service/", mount / "user.slice"}, false, mount.path());
    REQUIRE(filter.ok());
    CHECK(filter->enabled);
    CHECK(filter->ids ==
          std::vector<uint64_t>{inode_of(mount / "system.slice/x.service"), inode_of(mount / "user.slice")});
    // As /proc/PID/cgroup names them: below the mount, one leading slash,
    // no trailing one.
    CHECK(filter->subtrees == std::vector<std::string>{"/system.slice/x.service", "/user.slice"});
    CHECK(filter->filters_json ==
          fmt::format(R"({{"cgroups":["system.slice/x.service/","{}"]}})", mount / "user.slice"));

    CHECK(in_subtrees("/user.slice", filter->subtrees));
    CHECK(in_subtrees("/user.slice/user-0.slice/session-1.scope", filter->subtrees));
    CHECK_FALSE(in_subtrees("/user.slice2", filter->subtrees));
    CHECK_FALSE(in_subtrees("/system.slice", filter->subtrees));
    CHECK_FALSE(in_subtrees("/", filter->subtrees));
}

TEST_CASE("cgroup filter: --kube-only finds the kubepods cgroups", "[record-session]") {
    TempDir mount;
    SECTION("none: not a Kubernetes node") {
        auto filter = resolve_cgroup_filter({}, true, mount.path());
        REQUIRE_FALSE(filter.ok());
        CHECK(filter.error().message ==
              "--kube-only: no kubepods cgroup under " + mount.path() + " (is this a Kubernetes node?)");
    }
    SECTION("the systemd driver's, with a --cgroup beside it") {
        std::filesystem::create_directories(mount / "kubepods.slice");
        std::filesystem::create_directories(mount / "init.scope");
        auto filter = resolve_cgroup_filter({"/init.scope"}, true, mount.path());
        REQUIRE(filter.ok());
        CHECK(filter->ids == std::vector<uint64_t>{inode_of(mount / "init.scope"), inode_of(mount / "kubepods.slice")});
        CHECK(filter->subtrees == std::vector<std::string>{"/init.scope", "/kubepods.slice"});
        CHECK(filter->filters_json == R"({"cgroups":["/init.scope","/kubepods.slice"],"kube_only":true})");
    }
    SECTION("the cgroupfs driver's") {
        std::filesystem::create_directories(mount / "kubepods");
        auto filter = resolve_cgroup_filter({}, true, mount.path());
        REQUIRE(filter.ok());
        CHECK(filter->subtrees == std::vector<std::string>{"/kubepods"});
    }
}

TEST_CASE("cgroup filter: what it refuses", "[record-session]") {
    TempDir mount;
    auto unmounted = resolve_cgroup_filter({"/a"}, false, "");
    REQUIRE_FALSE(unmounted.ok());
    CHECK(unmounted.error().message == "--cgroup/--kube-only: no cgroup2 filesystem is mounted");
    auto unmounted_kube = resolve_cgroup_filter({}, true, "");
    REQUIRE_FALSE(unmounted_kube.ok());
    CHECK(unmounted_kube.error().message == "--cgroup/--kube-only: no cgroup2 filesystem is mounted");

    auto missing = resolve_cgroup_filter({"/missing"}, false, mount.path());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message.rfind("--cgroup: cgroup '/missing': ", 0) == 0);

    make_file(mount / "file", "");
    auto file = resolve_cgroup_filter({"/file"}, false, mount.path());
    REQUIRE_FALSE(file.ok());
    CHECK(file.error().message.rfind("--cgroup: cgroup '/file': not a directory", 0) == 0);

    // The runs row is JSON: a name that is not UTF-8 is refused, not stored
    // mangled.
    const std::string bad = "/bad\xff";
    std::filesystem::create_directories(mount.path() + bad);
    auto not_utf8 = resolve_cgroup_filter({bad}, false, mount.path());
    REQUIRE_FALSE(not_utf8.ok());
    CHECK(not_utf8.error().message.rfind("--cgroup: ", 0) == 0);
}

TEST_CASE("snapshot rows: a /proc process as the journal keeps it", "[record-session]") {
    SnapshotProcess p;
    p.tgid = 4242;
    p.ppid = 1;
    p.nspid = 7;
    p.start_ticks = 1234;
    p.comm = "curl";
    p.exe = "/usr/bin/curl";
    p.argv = {"curl", "-s", "http://example.com/"};
    p.uid = 1000;
    p.gid = 1001;
    p.euid = 0;
    p.cgroup_path = "/system.slice/x.service";
    p.nodename = "ignored";
    SnapshotRow row = snapshot_row(p, 5'000'000'000, 10'000'000);
    CHECK(row.time_ns == 5'000'000'000);
    CHECK(row.tgid == 4242);
    CHECK(row.ppid == 1);
    CHECK(row.nspid == 7);
    CHECK(row.start_ns == 12'340'000'000);  // ticks of 10 ms
    CHECK(row.comm == "curl");
    CHECK(row.exe == "/usr/bin/curl");
    CHECK(row.argv == std::string("curl\0-s\0http://example.com/\0", 28));
    CHECK(row.uid == 1000);
    CHECK(row.gid == 1001);
    CHECK(row.euid == 0);
    CHECK(row.cgroup_path == "/system.slice/x.service");
    CHECK(row.nodename.empty());
}

TEST_CASE("write_snapshot: every process but kernel threads, filtered by subtree, with its pod", "[record-session]") {
    TempDir proc;
    const std::string pod_cgroup =
        "/kubepods.slice/kubepods-pod7c9e6679_7425_40de_944b_e07fc1f90ae7.slice/"
        "cri-containerd-4f1a2b3c4d5e.scope";
    make_file(proc / "1/stat", stat_line(1, "systemd", 0, 0x400100, 24));
    make_file(proc / "1/cgroup", "0::/init.scope\n");
    make_file(proc / "2/stat", stat_line(2, "kthreadd", 0, pf_kthread, 24));
    make_file(proc / "2/cgroup", "0::/\n");
    make_file(proc / "300/stat", stat_line(300, "nginx", 1, 0x400000, 500));
    make_file(proc / "300/cmdline", std::string("nginx\0-g\0daemon off;\0", 22));
    make_file(proc / "300/cgroup", "0::" + pod_cgroup + "\n");

    auto count_rows = [](const std::string& journal, const std::string& where) {
        auto db = Database::open_read("file:" + journal + "?mode=ro");
        REQUIRE(db.ok());
        return *query_int(*db, "SELECT count(*) FROM snapshot WHERE " + where);
    };
    SECTION("no filter") {
        TempDir dir;
        auto writer = open_writer(dir / "j.db");
        Recorder recorder(writer, RecorderOptions{});
        auto count = write_snapshot(recorder, proc.path(), CgroupFilter{}, 10'000'000);
        REQUIRE(count.ok());
        CHECK(*count == 2);
        REQUIRE(writer.commit(1).ok());
        CHECK(count_rows(dir / "j.db", "tgid = 1 AND pod_uid = '' AND start_ns = 240000000") == 1);
        CHECK(count_rows(dir / "j.db",
                         "tgid = 300 AND pod_uid = '7c9e6679-7425-40de-944b-e07fc1f90ae7' AND "
                         "ppid = 1 AND comm = CAST('nginx' AS BLOB)") == 1);
        CHECK(count_rows(dir / "j.db", "tgid = 2") == 0);
    }
    SECTION("only the kubepods subtree") {
        TempDir dir;
        auto writer = open_writer(dir / "j.db");
        CgroupFilter filter;
        filter.enabled = true;
        filter.subtrees = {"/kubepods.slice"};
        Recorder recorder(writer, RecorderOptions{});
        auto count = write_snapshot(recorder, proc.path(), filter, 10'000'000);
        REQUIRE(count.ok());
        CHECK(*count == 1);
        REQUIRE(writer.commit(1).ok());
        CHECK(count_rows(dir / "j.db", "tgid = 300") == 1);
    }
}

TEST_CASE("pod names from the kubelet's log directory", "[record-session]") {
    TempDir root;
    const std::string uid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    std::filesystem::create_directories(root / ("var/log/pods/production_my-app-6d4f9-xk2p1_" + uid));
    PodResolver pods(root.path());

    auto from_dir = name_pod(pods, uid);
    REQUIRE(from_dir);
    CHECK(from_dir->name == "my-app-6d4f9-xk2p1");
    CHECK(from_dir->namespace_ == "production");
    CHECK(from_dir->source == PodNameSource::log_dir);
    // No directory: the recorder falls back on a host name, if it has one.
    CHECK_FALSE(name_pod(pods, "11111111-2222-3333-4444-555555555555"));
}

TEST_CASE("a session: start, events, a clean stop", "[record-session]") {
    SessionRig rig;
    int turns = 0;
    rig.turn = [&](FakeSource& source) {
        if (++turns == 1) {
            for (uint32_t i = 0; i < 5; ++i) source.records.push_back(fork_bytes(100 + i, 1000 + i));
        }
        // Left in the ring at stop: drained before the run is closed.
        if (turns == 3) source.records.push_back(fork_bytes(200, 2000));
        return turns >= 3;
    };
    auto status = rig.run();
    REQUIRE(status.ok());
    CHECK(*status == 0);
    CHECK(rig.signals_caught);
    REQUIRE(rig.lines.size() == 3);
    CHECK(rig.lines[0] == "lineage: attached fake/fork,fake/exec");
    CHECK(rig.lines[1].rfind("lineage: recording to " + rig.options.journal + " (run 1, ", 0) == 0);
    CHECK(rig.lines[2] == "lineage: stopped (signal): 6 events stored, 0 lost");

    CHECK(rig.stop_reason() == "signal");
    auto db = rig.db();
    CHECK(*query_int(db, "SELECT count(*) FROM fork") == 6);
    // No filter; hashing on, with its default bounds.
    CHECK(*query_int(db,
                     "SELECT count(*) FROM runs WHERE hooks = 'fake/fork,fake/exec' AND "
                     "json_extract(filters, '$.hash_exec.max_bytes') = 268435456 AND "
                     "json_extract(filters, '$.hash_exec.files_per_s') = 100 AND "
                     "json_extract(filters, '$.hash_exec.bytes_per_s') = 67108864 AND "
                     "json_extract(filters, '$.cgroups') IS NULL") == 1);
    CHECK(*query_int(db, "SELECT count(*) FROM snapshot") > 0);  // this machine's /proc
    // At start and at stop.
    auto anchors = lineage::test::read_file(rig.options.anchor_log);
    CHECK(std::count(anchors.begin(), anchors.end(), '\n') == 2);
}

TEST_CASE("a session stops by itself after --duration", "[record-session]") {
    SessionRig rig;
    rig.options.duration_ns = 50'000'000;
    rig.turn = [](FakeSource&) { return false; };
    auto status = rig.run();
    REQUIRE(status.ok());
    CHECK(*status == 0);
    CHECK(rig.said("lineage: stopped (duration): 0 events stored, 0 lost") == 1);
    CHECK(rig.stop_reason() == "duration");
}

TEST_CASE("a session whose source cannot start leaves no journal", "[record-session]") {
    SessionRig rig;
    rig.hooks.start_source = [](const ProbeCgroups&, RecordSink) -> Result<std::unique_ptr<EventSource>> {
        return Error{"cannot load BPF programs: no"};
    };
    auto status = rig.run();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message == "cannot load BPF programs: no");
    CHECK_FALSE(std::filesystem::exists(rig.options.journal));
    CHECK(rig.lines.empty());
}

TEST_CASE("a session: a bad --anchor-log leaves no journal", "[record-session]") {
    SessionRig rig;
    rig.options.anchor_log = rig.dir / "missing/anchors.log";
    auto status = rig.run();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.rfind("--anchor-log: ", 0) == 0);
    CHECK_FALSE(std::filesystem::exists(rig.options.journal));
}

TEST_CASE("a session: drop counters that cannot be read are said once and read again", "[record-session]") {
    SessionRig rig;
    const auto start = std::chrono::steady_clock::now();
    rig.turn = [&](FakeSource& source) {
        // The loop reads the counters every 250 ms: failing for the first
        // two readings, then 5 drops.
        source.fail_drops = source.drop_reads < 2;
        source.counters = {5, 0};
        return source.drop_reads >= 3 || std::chrono::steady_clock::now() - start > std::chrono::seconds(10);
    };
    auto status = rig.run();
    REQUIRE(status.ok());
    CHECK(*status == 0);
    CHECK(rig.said("lineage: cannot read the ring buffer's drop counters: fake; trying again") == 1);
    CHECK(rig.said("lineage: stopped (signal): 0 events stored, 5 lost") == 1);
    auto db = rig.db();
    CHECK(*query_int(db, "SELECT count FROM loss WHERE reason = 'ringbuf_full'") == 5);
}

TEST_CASE("a session: drop counters that cannot be read at stop end the run in error", "[record-session]") {
    SessionRig rig;
    rig.turn = [](FakeSource& source) {
        source.fail_drops = true;
        return true;
    };
    auto status = rig.run();
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message == "cannot read the ring buffer's drop counters: fake");
    CHECK(rig.said("lineage: stopped") == 0);
    // Closed, but not as a run that lost nothing.
    CHECK(rig.stop_reason() == "error");
}

namespace {

// An exec record: binary, cgroup path (sent leaf first, as the probes send
// it) and argv.
std::vector<char> exec_bytes(uint32_t tgid, uint64_t t, const std::string& binary, const std::string& cgroup,
                             const std::vector<std::string>& argv) {
    std::string names;
    for (size_t end = cgroup.size(); end > 0;) {
        size_t start = cgroup.rfind('/', end - 1);
        names += cgroup.substr(start + 1, end - start - 1);
        names.push_back('\0');
        end = start;
    }
    std::string args;
    for (const auto& a : argv) args += a + std::string(1, '\0');
    std::vector<char> buf(sizeof(lineage_exec_event) + binary.size() + names.size() + args.size());
    lineage_exec_event e{};
    e.hdr = {LINEAGE_EV_EXEC, static_cast<__u32>(buf.size()), t};
    e.proc = {tgid, 0, t};
    // The cgroup's id: its directory's inode, one per path.
    e.cgroup_id = std::hash<std::string>()(cgroup) | 1;
    e.binary_len = static_cast<__u16>(binary.size());
    e.cgroup_len = static_cast<__u16>(names.size());
    e.argv_len = static_cast<__u16>(args.size());
    std::memcpy(buf.data(), &e, sizeof(e));
    std::memcpy(buf.data() + sizeof(e), binary.data(), binary.size());
    std::memcpy(buf.data() + sizeof(e) + binary.size(), names.data(), names.size());
    std::memcpy(buf.data() + sizeof(e) + binary.size() + names.size(), args.data(), args.size());
    return buf;
}

const std::string kMetaPod = "4c6a1b2e-8d3f-4e5a-9b7c-1d2e3f4a5b6c";
const std::string kMetaContainer = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::string container_cgroup(const std::string& id) {
    return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod4c6a1b2e_8d3f_4e5a_9b7c_1d2e3f4a5b6c.slice/"
           "cri-containerd-" +
           id + ".scope";
}

}  // namespace

TEST_CASE("containers: a runtime's bundle once per creation, a container looked up once, named in the journal",
          "[recorder][containers]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    std::vector<std::string> bundles, lookups;
    ContainerSources sources;
    sources.bundle = [&](const ExecEvent& e) {
        bundles.push_back(e.binary);
        ContainerRow row;
        row.container_id = kMetaContainer;
        row.pod_uid = kMetaPod;
        row.pod_name = "ledger-api-7b9c8-k2m4p";
        row.pod_namespace = "finance";
        row.name = "api";
        row.image = "registry.example.test/ledger/api:1.4.2";
        row.type = "container";
        row.source = "bundle";
        row.path = "/run/bundle/config.json";
        return std::vector<ContainerRow>{row};
    };
    sources.lookup = [&](const std::string& id, bool annotated) {
        lookups.push_back(id + (annotated ? " annotated" : ""));
        ContainerRow row;
        row.container_id = id;
        row.name = "from-kubelet";
        row.source = "kubelet-log";
        row.path = "/var/log/containers";
        return std::vector<ContainerRow>{row};
    };
    rec.set_container_sources(sources);

    // Not a runtime: no call. runc by path, then crun by argv[0] through a
    // descriptor (a runtime that re-execs itself).
    auto sh = exec_bytes(40, 100, "/bin/sh", "/user.slice", {"sh", "-c", "runc"});
    REQUIRE(rec.on_record(sh.data(), sh.size(), 100).ok());
    CHECK(bundles.empty());
    auto runc = exec_bytes(41, 200, "/usr/sbin/runc", "/system.slice/containerd.service",
                           {"runc", "create", "--bundle", "/run/bundle", kMetaContainer});
    REQUIRE(rec.on_record(runc.data(), runc.size(), 200).ok());
    auto crun = exec_bytes(42, 250, "/proc/self/fd/3", "/system.slice/containerd.service", {"crun", "start", "x"});
    REQUIRE(rec.on_record(crun.data(), crun.size(), 250).ok());
    CHECK(bundles == std::vector<std::string>{"/usr/sbin/runc", "/proc/self/fd/3"});

    // The container's processes: the annotated container is looked up once,
    // for the kubelet's link only; another container once, in full.
    for (uint32_t pid = 50; pid < 53; ++pid) {
        auto app = exec_bytes(pid, 300 + pid, "/usr/bin/api", container_cgroup(kMetaContainer), {"api"});
        REQUIRE(rec.on_record(app.data(), app.size(), 300 + pid).ok());
    }
    const std::string other = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    for (uint32_t pid = 60; pid < 62; ++pid) {
        auto side = exec_bytes(pid, 400 + pid, "/usr/bin/side", container_cgroup(other), {"side"});
        REQUIRE(rec.on_record(side.data(), side.size(), 400 + pid).ok());
    }
    REQUIRE(rec.commit(1000).ok());
    CHECK(lookups == std::vector<std::string>{kMetaContainer + " annotated", other});

    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    // Two bundle rows (one per runtime exec), one link row per container.
    CHECK(*query_int(*db, "SELECT count(*) FROM containers WHERE source = 'bundle'") == 2);
    CHECK(*query_int(*db, "SELECT count(*) FROM containers WHERE source = 'kubelet-log'") == 2);
    CHECK(*query_int(*db, "SELECT time_ns FROM containers WHERE source = 'bundle' ORDER BY rowid LIMIT 1") == 200);
    // The annotations name the pod, once.
    CHECK(*query_int(*db, "SELECT count(*) FROM pods WHERE source = 'runtime' AND pod_uid = '" + kMetaPod +
                              "' AND name = 'ledger-api-7b9c8-k2m4p' AND namespace = 'finance'") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM containers WHERE problem != ''") == 0);
    auto verdict = verify_journal(dir / "j.db");
    REQUIRE(verdict.ok());
    CHECK(verdict->status() == "whole");
}

TEST_CASE("containers: a bundle that names nothing is a row with its problem and one line to the operator",
          "[recorder][containers]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    std::vector<std::string> said;
    Recorder rec(writer, RecorderOptions{}, nullptr, [&](const std::string& line) { said.push_back(line); });
    ContainerSources sources;
    sources.bundle = [&](const ExecEvent&) {
        ContainerRow row;
        row.container_id = kMetaContainer;
        row.source = "bundle";
        row.path = "/run/b\x1b[2J/config.json";  // attacker's bytes, escaped for the terminal
        row.problem = "larger than 1 MiB";
        return std::vector<ContainerRow>{row};
    };
    rec.set_container_sources(sources);
    auto runc = exec_bytes(41, 200, "/usr/sbin/runc", "/system.slice/containerd.service",
                           {"runc", "create", "--bundle", "/run/b", kMetaContainer});
    REQUIRE(rec.on_record(runc.data(), runc.size(), 200).ok());
    REQUIRE(rec.commit(1000).ok());
    REQUIRE(said.size() == 1);
    CHECK(said[0] == "container 0123456789ab: bundle /run/b\\x1b[2J/config.json: larger than 1 MiB; no name from it");
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM containers WHERE problem = 'larger than 1 MiB' AND name = ''") == 1);
    CHECK(*query_int(*db, "SELECT count(*) FROM pods") == 0);
}

}  // namespace test_recorder
