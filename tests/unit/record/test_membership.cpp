// Whole pods at record time: the recorder fed synthetic ring-buffer records
// (cgroup, fork, exec, move, exit) writes memberships and cgroups rows, names
// pods by the UTS rules, restates a pod's processes in 'alive' rows; and the
// loader finds a pod's processes for a window from the last restatement,
// not from the start of the journal.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "model.h"
#include "recorder.h"
#include "sqlite.h"
#include "test_util.h"

namespace test_membership {

using namespace lineage;
using lineage::test::open_writer;
using lineage::test::TempDir;

namespace {

const std::string kPod = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
const std::string kPodPath = "/kubepods/besteffort/pod" + kPod + "/0123456789abcdef0123456789ab";
constexpr uint64_t kPodCg = 100;   // cgroup v2 id of kPodPath
constexpr uint64_t kHostCg = 101;  // cgroup v2 id of /system.slice/x.service

template <size_t N>
void set_text(char (&field)[N], const std::string& text) {
    std::memset(field, 0, N);
    std::memcpy(field, text.data(), std::min(text.size(), N - 1));
}

// Leaf-first, NUL-terminated names, as the probes send a path.
std::string names_of(const std::string& path) {
    std::string names;
    for (size_t end = path.size(); end > 0;) {
        size_t start = path.rfind('/', end - 1);
        if (end - start > 1) {
            names += path.substr(start + 1, end - start - 1);
            names.push_back('\0');
        }
        end = start;
    }
    return names;
}

struct Feed {
    Recorder& rec;
    int64_t now = 1;

    void bytes(const void* data, size_t size) { REQUIRE(rec.on_record(data, size, now++).ok()); }

    void cgroup(uint32_t hierarchy, uint64_t id, const std::string& path) {
        lineage_cgroup_event e{};
        const std::string names = names_of(path);
        const size_t head = offsetof(lineage_cgroup_event, names);
        e.hdr = {LINEAGE_EV_CGROUP, static_cast<__u32>(head + names.size()), 1};
        e.cgroup_id = id;
        e.hierarchy = hierarchy;
        e.names_len = static_cast<__u16>(names.size());
        std::memcpy(e.names, names.data(), names.size());
        bytes(&e, head + names.size());
    }
    void fork(ProcRef parent, ProcRef child, uint64_t cg, uint64_t cg1 = 0, uint32_t nspid = 0,
              const std::string& comm = "bash") {
        lineage_fork_event e{};
        e.hdr = {LINEAGE_EV_FORK, sizeof(e), child.start_ns};
        e.parent = {parent.tgid, 0, parent.start_ns};
        e.child = {child.tgid, 0, child.start_ns};
        set_text(e.parent_comm, comm);
        e.cgroup_id = cg;
        e.cgroup1_id = cg1;
        e.nspid = nspid ? nspid : child.tgid;
        bytes(&e, sizeof(e));
    }
    void exec(ProcRef p, uint64_t t, uint64_t cg, const std::string& cg_path, const std::string& nodename, uint32_t uts,
              uint64_t cg1 = 0, const std::string& binary = "/bin/sh") {
        const std::string names = names_of(cg_path);
        std::vector<char> buf(sizeof(lineage_exec_event) + binary.size() + names.size());
        lineage_exec_event e{};
        e.hdr = {LINEAGE_EV_EXEC, static_cast<__u32>(buf.size()), t};
        e.proc = {p.tgid, 0, p.start_ns};
        e.cgroup_id = cg;
        e.cgroup1_id = cg1;
        e.uts_ns = uts;
        e.nspid = p.tgid;
        e.binary_len = static_cast<__u16>(binary.size());
        e.cgroup_len = static_cast<__u16>(names.size());
        set_text(e.comm, binary.substr(binary.rfind('/') + 1));
        set_text(e.nodename, nodename);
        std::memcpy(buf.data(), &e, sizeof(e));
        std::memcpy(buf.data() + sizeof(e), binary.data(), binary.size());
        std::memcpy(buf.data() + sizeof(e) + binary.size(), names.data(), names.size());
        bytes(buf.data(), buf.size());
    }
    void exit(ProcRef p, uint64_t t) {
        lineage_exit_event e{};
        e.hdr = {LINEAGE_EV_EXIT, sizeof(e), t};
        e.proc = {p.tgid, 0, p.start_ns};
        set_text(e.comm, "sh");
        bytes(&e, sizeof(e));
    }
    void move(ProcRef p, ProcRef mover, uint64_t t, uint32_t hierarchy, uint64_t id, const std::string& path) {
        lineage_move_event e{};
        const size_t head = offsetof(lineage_move_event, path);
        e.hdr = {LINEAGE_EV_MOVE, static_cast<__u32>(head + path.size()), t};
        e.proc = {p.tgid, 0, p.start_ns};
        e.mover = {mover.tgid, 0, mover.start_ns};
        e.cgroup_id = id;
        e.hierarchy = hierarchy;
        e.nspid = p.tgid;
        e.path_len = static_cast<__u16>(path.size());
        set_text(e.comm, "sleep");
        std::memcpy(e.path, path.data(), path.size());
        bytes(&e, head + path.size());
    }
};

Database open_ro(const std::string& path) {
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    return std::move(*db);
}

int64_t count(Database& db, const std::string& sql) {
    auto v = query_int(db, sql);
    INFO(sql);
    REQUIRE(v.ok());
    return *v;
}

}  // namespace

TEST_CASE("a fork in a pod's cgroup writes a membership row; a fork elsewhere does not", "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    Feed feed{rec};
    feed.cgroup(0, kPodCg, kPodPath);
    feed.cgroup(0, kHostCg, "/system.slice/x.service");
    const ProcRef sh{500, 1'000};
    feed.exec(sh, 2'000, kPodCg, kPodPath, "web-0", 0);
    feed.fork(sh, {501, 3'000}, kPodCg, 0, 7, "sh");
    feed.fork(sh, {502, 4'000}, kPodCg, 0, 8, "sh");
    feed.fork({1, 10}, {600, 5'000}, kHostCg);
    // A repeated cgroup record (the probes' map forgot it) is no new row.
    feed.cgroup(0, kPodCg, kPodPath);
    REQUIRE(rec.commit(6'000).ok());
    CHECK(rec.stats().stored == 4);

    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM fork") == 3);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'fork'") == 2);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'exec' AND tgid = 500") == 1);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 600") == 0);
    CHECK(count(db, "SELECT nspid FROM memberships WHERE tgid = 502") == 8);
    CHECK(count(db, "SELECT by_tgid FROM memberships WHERE tgid = 502") == 500);
    CHECK(count(db, fmt::format("SELECT count(*) FROM memberships WHERE pod_uid = '{}'", kPod)) == 3);
    // One cgroups row, for the pod's cgroup: the host's is named by no row.
    CHECK(count(db, "SELECT count(*) FROM cgroups") == 1);
    CHECK(count(db, fmt::format("SELECT count(*) FROM cgroups WHERE cgroup_id = {} AND hierarchy = 0 AND "
                                "pod_uid = '{}' AND container_id = '0123456789abcdef0123456789ab' AND "
                                "path = CAST('{}' AS BLOB)",
                                kPodCg, kPod, kPodPath)) == 1);
}

TEST_CASE("a pod named only in the followed cgroup v1 hierarchy", "[recorder][pods]") {
    // A v1 node: cgroup v2 puts everything in its root; the pod's path is
    // in the memory hierarchy (id 4).
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.cgroup1_hierarchy = 4;
    Recorder rec(writer, opt);
    Feed feed{rec};
    feed.cgroup(0, 1, "/");
    feed.cgroup(4, 2000, kPodPath);
    const ProcRef sh{700, 1'000};
    feed.exec(sh, 2'000, 1, "/", "web-0", 0, 2000);
    feed.fork(sh, {701, 3'000}, 1, 2000);
    REQUIRE(rec.commit(4'000).ok());
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, fmt::format("SELECT count(*) FROM exec WHERE pod_uid = '{}'", kPod)) == 1);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE hierarchy = 4 AND cgroup_id = 2000") == 2);
    CHECK(count(db, "SELECT count(*) FROM cgroups WHERE hierarchy = 4") == 1);
}

TEST_CASE("moves: every whole process moved, into a pod and out of it", "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    Feed feed{rec};
    const ProcRef sleeper{800, 1'000}, shell{799, 500};
    feed.move(sleeper, shell, 2'000, 0, kPodCg, kPodPath);
    feed.move(sleeper, shell, 3'000, 0, kHostCg, "/system.slice/x.service");
    REQUIRE(rec.commit(4'000).ok());
    CHECK(rec.stats().stored == 2);
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'move' AND by_tgid = 799") == 2);
    CHECK(count(db, fmt::format("SELECT time_ns FROM memberships WHERE pod_uid = '{}'", kPod)) == 2'000);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE pod_uid = '' AND time_ns = 3000") == 1);
    // Both cgroups are named by a row: both have theirs, from the moves' paths.
    CHECK(count(db, "SELECT count(*) FROM cgroups") == 2);
}

TEST_CASE("a fork whose cgroup record was lost is in its forker's pod when in its forker's cgroup",
          "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    Feed feed{rec};
    // The forker entered the pod by a move (which names its cgroup); the
    // child's fork names cgroup 300 and no record says what that is.
    const ProcRef parent{900, 1'000};
    feed.move(parent, {1, 10}, 2'000, 0, 300, kPodPath);
    feed.fork(parent, {901, 3'000}, 300);
    feed.fork(parent, {902, 4'000}, 301);  // another cgroup, unknown: no pod
    REQUIRE(rec.commit(5'000).ok());
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 901 AND how = 'fork'") == 1);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 902") == 0);
}

TEST_CASE("pod names at record time: log directory first; a host name only from the pod's own UTS namespace",
          "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.host_uts_ns = 4026531838;
    opt.host_node = "node-1";
    bool log_dir = false;
    PodNamer namer = [&](const std::string&) -> std::optional<PodName> {
        if (!log_dir) return std::nullopt;
        return PodName{"web", "shop", PodNameSource::log_dir};
    };
    Recorder rec(writer, opt, namer);
    Feed feed{rec};
    feed.cgroup(0, kPodCg, kPodPath);
    // An exec in the pod's cgroup but in the node's UTS namespace (before the
    // runtime made the pod's): the node's name is no pod's.
    feed.exec({1000, 1'000}, 2'000, kPodCg, kPodPath, "node-1", 4026531838);
    // The same name from another namespace is still the node's.
    feed.exec({1001, 1'100}, 2'100, kPodCg, kPodPath, "node-1", 4026532300);
    // The pod's own namespace: its name, once, and again when it changes.
    feed.exec({1002, 1'200}, 2'200, kPodCg, kPodPath, "web-0", 4026532300);
    feed.exec({1003, 1'300}, 2'300, kPodCg, kPodPath, "web-0", 4026532300);
    feed.exec({1004, 1'400}, 2'400, kPodCg, kPodPath, "web-1", 4026532300);
    // The kubelet's log directory appears: its name, and no host name after it.
    log_dir = true;
    feed.fork({1004, 1'400}, {1005, 2'500}, kPodCg);
    feed.exec({1005, 2'500}, 2'600, kPodCg, kPodPath, "web-2", 4026532300);
    REQUIRE(rec.commit(3'000).ok());
    Database db = open_ro(dir / "j.db");
    auto names = db.prepare("SELECT name, namespace, source FROM pods ORDER BY rowid");
    REQUIRE(names.ok());
    std::vector<std::string> rows;
    while (names->step() == SQLITE_ROW) {
        rows.push_back(fmt::format("{}/{}/{}", names->text(1), names->text(0), names->text(2)));
    }
    CHECK(rows == std::vector<std::string>{"/web-0/hostname", "/web-1/hostname", "shop/web/log-dir"});
    // The UTS namespace of each exec in the pod is kept.
    CHECK(count(db, "SELECT uts_ns FROM memberships WHERE tgid = 1002 AND how = 'exec'") == 4026532300);
}

TEST_CASE("a pod that predates the recorder is named from the /proc snapshot", "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.host_uts_ns = 4026531838;
    opt.host_node = "node-1";
    Recorder rec(writer, opt);
    auto row = [](uint32_t tgid, uint64_t start, const std::string& nodename) {
        SnapshotRow r;
        r.tgid = tgid;
        r.start_ns = start;
        r.comm = "sh";
        r.cgroup_path = kPodPath;
        r.nodename = nodename;
        return r;
    };
    // A process of the pod in the node's namespace, and two in the pod's:
    // the one that started last names it.
    REQUIRE(rec.add_snapshot(row(10, 100, "node-1"), 4026531838).ok());
    REQUIRE(rec.add_snapshot(row(12, 300, "web-new"), 4026532400).ok());
    REQUIRE(rec.add_snapshot(row(11, 200, "web-old"), 4026532400).ok());
    REQUIRE(rec.end_snapshot().ok());
    REQUIRE(rec.commit(1'000).ok());
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM pods") == 1);
    CHECK(count(db, "SELECT count(*) FROM pods WHERE name = 'web-new' AND source = 'hostname'") == 1);
}

TEST_CASE("a pod's processes are restated in 'alive' rows every so many rows", "[recorder][pods]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.alive_every_rows = 4;
    Recorder rec(writer, opt);
    Feed feed{rec};
    feed.cgroup(0, kPodCg, kPodPath);
    const ProcRef sh{500, 1'000};
    feed.exec(sh, 1'500, kPodCg, kPodPath, "", 0);  // row 1
    const ProcRef worker{501, 1'600};
    feed.fork(sh, worker, kPodCg);  // row 2; lives on
    for (uint32_t i = 0; i < 6; ++i) {
        const ProcRef child{static_cast<uint32_t>(600 + i), 2'000 + i * 100};
        feed.fork(sh, child, kPodCg);  // rows 3..8
        feed.exit(child, 2'050 + i * 100);
    }
    REQUIRE(rec.commit(5'000).ok());
    Database db = open_ro(dir / "j.db");
    // Row 4 (child 601's fork) and row 8 (child 605's): each set holds the
    // shell, the worker and the child just forked, nothing that exited.
    CHECK(count(db, "SELECT count(DISTINCT time_ns) FROM memberships WHERE how = 'alive'") == 2);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'alive'") == 6);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'alive' AND tgid IN (500, 501)") == 4);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE how = 'alive' AND tgid IN (601, 605)") == 2);
}

TEST_CASE("a window's pod query reads from the last 'alive' set, and still finds the long-lived", "[journal][pods]") {
    // A health-check loop forks every 10 s for most of a day; a worker
    // forked at the start lives on. A query for 10 minutes late in the day
    // must find the worker, the loop and the window's children, and load
    // only a few of the pod's thousands of processes.
    TempDir dir;
    constexpr uint64_t kSec = 1'000'000'000;
    constexpr uint32_t kChildren = 8000;
    auto write = [&](const std::string& path, size_t alive_every_rows) {
        auto writer = open_writer(path);
        RecorderOptions opt;
        opt.alive_every_rows = alive_every_rows;
        Recorder rec(writer, opt);
        Feed feed{rec};
        feed.cgroup(0, kPodCg, kPodPath);
        const ProcRef loop{500, 1 * kSec};
        feed.exec(loop, 2 * kSec, kPodCg, kPodPath, "", 0);
        feed.fork(loop, {501, 3 * kSec}, kPodCg);  // the worker
        uint32_t pid = 1000;
        for (uint32_t i = 0; i < kChildren; ++i) {
            const uint64_t t = 10 * kSec + i * 10 * kSec;
            pid = pid >= 32000 ? 1000 : pid + 1;
            feed.fork(loop, {pid, t}, kPodCg);
            feed.exit({pid, t}, t + kSec / 2);
            if (i % 512 == 0) REQUIRE(rec.commit(static_cast<int64_t>(t)).ok());
        }
        REQUIRE(rec.commit(static_cast<int64_t>(20 + kChildren * 10) * static_cast<int64_t>(kSec)).ok());
    };
    const std::string path = dir / "j.db";
    write(path, 64);
    // open_writer's run maps boot time to wall time one to one.
    const int64_t since = static_cast<int64_t>(70'000 * kSec), until = since + 600 * static_cast<int64_t>(kSec);
    size_t rows_read = 0;
    auto load = [&](std::optional<int64_t> from, std::optional<int64_t> to, const std::string& journal) {
        auto reader = JournalReader::open(journal);
        REQUIRE(reader.ok());
        LoadPlan plan;
        plan.everything = false;
        plan.pod = kPod;
        plan.since_wall_ns = from;
        plan.until_wall_ns = to;
        Model m;
        REQUIRE(reader->load_into(m, plan).ok());
        m.finish();
        rows_read = reader->rows_read();
        return m;
    };
    Model m = load(since, until, path);
    CHECK(m.find(m.key_for("b", 500, 1 * kSec)) != nullptr);  // the loop
    CHECK(m.find(m.key_for("b", 501, 3 * kSec)) != nullptr);  // the worker, forked 19 hours before
    size_t in_window = 0;
    for (const auto& [key, p] : m.processes()) {
        if (p.start_ns >= since && p.start_ns <= until) ++in_window;
    }
    CHECK(in_window == 61);  // forked at 70000 s, 70010 s, ..., 70600 s
    CHECK(m.processes().size() == 61 + 2);
    // It read the pod's rows from the last set before the window: about a
    // set's interval of them, not the day's 8000 (each one row of the
    // memberships index and its exit, and then every row of the 63
    // processes it loads).
    INFO("rows read: " << rows_read);
    CHECK(rows_read < 2000);
    // Without a window, every process of the pod.
    CHECK(load(std::nullopt, std::nullopt, path).processes().size() == kChildren + 2);

    SECTION("without 'alive' sets the same answer costs the whole day") {
        const std::string unbounded = dir / "no-sets.db";
        write(unbounded, kChildren * 4);
        Model same = load(since, until, unbounded);
        CHECK(same.processes().size() == m.processes().size());
        INFO("rows read: " << rows_read);
        CHECK(rows_read > kChildren);
    }
}

// ---------------------------------------------------------------- bounds
// What the recorder keeps grows with what it has seen only up to a bound
// (man/lineage-record.1, LIMITS): each test fills one past it.

namespace {
std::string pod_uid_n(int n) {
    return fmt::format("5d4c3b2a-1f0e-4d9c-8b7a-{:012x}", n);
}
std::string pod_path_n(int n) {
    return "/kubepods/besteffort/pod" + pod_uid_n(n) + "/0123456789abcdef0123456789ab";
}
}  // namespace

TEST_CASE("the recorder's cgroups are bounded, the least recently used going first", "[recorder][bounds]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.max_cgroups = 4;
    Recorder rec(writer, opt);
    Feed feed{rec};
    for (int i = 1; i <= 10; ++i) {
        feed.cgroup(0, 1000 + i, pod_path_n(i));
        // Cgroup 1001 is in use all along: it stays.
        feed.fork({1, 10}, {static_cast<uint32_t>(100 + i), static_cast<uint64_t>(i) * 1000}, 1001);
    }
    CHECK(rec.cgroups_known() == 4);
    // A fork in the newest cgroup and in the one kept in use are in their
    // pods; one in a cgroup pushed out is not (its path is forgotten; the
    // probes send it again when their own map forgot it too).
    feed.fork({1, 10}, {300, 30'000}, 1010);
    feed.fork({1, 10}, {301, 31'000}, 1001);
    feed.fork({1, 10}, {302, 32'000}, 1002);
    REQUIRE(rec.commit(40'000).ok());
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 300 AND pod_uid = '" + pod_uid_n(10) + "'") == 1);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 301 AND pod_uid = '" + pod_uid_n(1) + "'") == 1);
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 302") == 0);
    // A cgroup sent again after it was pushed out is learnt again.
    feed.cgroup(0, 1002, pod_path_n(2));
    feed.fork({1, 10}, {303, 33'000}, 1002);
    REQUIRE(rec.commit(50'000).ok());
    CHECK(count(db, "SELECT count(*) FROM memberships WHERE tgid = 303 AND pod_uid = '" + pod_uid_n(2) + "'") == 1);
    CHECK(rec.cgroups_known() == 4);
}

TEST_CASE("the recorder's pod names are bounded; a pod met again after is named again", "[recorder][bounds]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.max_pod_names = 3;
    opt.max_cgroups = 3;
    int lookups = 0;
    Recorder rec(writer, opt, [&](const std::string& uid) -> std::optional<PodName> {
        ++lookups;
        return PodName{"name-" + uid.substr(uid.size() - 4), "ns", PodNameSource::log_dir};
    });
    Feed feed{rec};
    for (int i = 1; i <= 5; ++i) {
        feed.exec({static_cast<uint32_t>(200 + i), static_cast<uint64_t>(i) * 1000}, i * 1000 + 1, 2000 + i,
                  pod_path_n(i), "", 0);
    }
    CHECK(rec.pods_named() == 3);
    CHECK(lookups == 5);
    // Pod 5 is still known: no second row. Pod 1 was pushed out: its row
    // is written again, the same name (the reader takes the first log-dir one).
    feed.exec({210, 10'000}, 10'001, 2005, pod_path_n(5), "", 0);
    feed.exec({211, 11'000}, 11'001, 2001, pod_path_n(1), "", 0);
    REQUIRE(rec.commit(20'000).ok());
    Database db = open_ro(dir / "j.db");
    CHECK(count(db, "SELECT count(*) FROM pods WHERE pod_uid = '" + pod_uid_n(5) + "'") == 1);
    CHECK(count(db, "SELECT count(*) FROM pods WHERE pod_uid = '" + pod_uid_n(1) + "'") == 2);
    CHECK(rec.pods_named() == 3);
}

TEST_CASE("a pod's bookkeeping goes with its last process", "[recorder][bounds]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    Feed feed{rec};
    for (int i = 1; i <= 50; ++i) {
        const ProcRef p{static_cast<uint32_t>(400 + i), static_cast<uint64_t>(i) * 1000};
        feed.exec(p, i * 1000 + 1, 3000 + i, pod_path_n(i), "", 0);
        feed.fork(p, {static_cast<uint32_t>(500 + i), static_cast<uint64_t>(i) * 1000 + 2}, 3000 + i);
        feed.exit({static_cast<uint32_t>(500 + i), static_cast<uint64_t>(i) * 1000 + 2}, i * 1000 + 3);
        feed.exit(p, i * 1000 + 4);
    }
    CHECK(rec.pods_tracked() == 0);
    CHECK(rec.live_count() == 0);
}

TEST_CASE("the live set is bounded, and forgets what /proc no longer has", "[recorder][bounds]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    RecorderOptions opt;
    opt.max_live = 5;
    opt.ns_per_tick = 1;
    std::vector<std::string> said;
    Recorder rec(writer, opt, nullptr, [&](const std::string& line) { said.push_back(line); });
    Feed feed{rec};
    for (uint32_t i = 1; i <= 8; ++i) feed.fork({1, 10}, {600 + i, 1000 + i}, kHostCg);
    CHECK(rec.live_count() == 5);
    REQUIRE(said.size() == 1);
    CHECK_THAT(said[0], Catch::Contains("more than 5 running processes"));
    // Exits that were lost (a full ring) leave entries; a sweep against
    // /proc drops those whose process is gone.
    const size_t dropped = rec.drop_exited([](uint32_t tgid, uint64_t) { return tgid % 2 == 0; });
    CHECK(dropped == 3);  // 601, 603, 605
    CHECK(rec.live_count() == 2);
    const LiveProcesses live = rec.live_processes();
    CHECK(live.contains(602, 1002));
    CHECK(!live.contains(601, 1001));
    // Room again: new processes are tracked.
    feed.fork({1, 10}, {700, 2000}, kHostCg);
    CHECK(rec.live_count() == 3);
    CHECK(said.size() == 1);
}

}  // namespace test_membership
