// The recorder's bookkeeping, fed synthetic ring-buffer records.
#include <catch2/catch.hpp>
#include <cstring>

#include "events.h"
#include "journal.h"
#include "recorder.h"
#include "sqlite.h"
#include "test_util.h"

using namespace lineage;
using lineage::test::TempDir;

namespace {
lineage_fork_event fork_record(uint32_t child, uint64_t t) {
    lineage_fork_event f{};
    f.hdr = {LINEAGE_EV_FORK, sizeof(f), t};
    f.parent = {1, 0, 5};
    f.child = {child, 0, t};
    std::strcpy(f.parent_comm, "init");
    return f;
}

JournalWriter open_writer(const std::string& path) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    RunInfo info;
    info.boot_id = "b";
    info.node = "n";
    REQUIRE(w->begin_run(info).ok());
    return std::move(*w);
}
}  // namespace

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

TEST_CASE("a pod is named once, from the first exec seen in it", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    int calls = 0;
    PodNamer namer = [&](const std::string& uid, const std::string& nodename) -> std::optional<PodName> {
        ++calls;
        CHECK(uid == "4c6a1b2e-8d3f-4e5a-9b7c-1d2e3f4a5b6c");
        return PodName{nodename, "production", "log-dir"};
    };
    Recorder rec(writer, RecorderOptions{}, namer);
    std::string cg = "/kubepods.slice/kubepods-burstable.slice/"
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
        std::strcpy(e.nodename, "my-app-6d4f9-xk2p1");
        std::memcpy(buf.data(), &e, sizeof(e));
        std::memcpy(buf.data() + sizeof(e), names.data(), names.size());
        REQUIRE(rec.on_record(buf.data(), buf.size(), 10).ok());
    }
    REQUIRE(rec.commit(20).ok());
    CHECK(calls == 1);
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    CHECK(*query_int(*db, "SELECT count(*) FROM pods WHERE name = 'my-app-6d4f9-xk2p1' AND namespace = 'production'") == 1);
    auto s = db->prepare("SELECT cgroup_path FROM exec LIMIT 1");
    REQUIRE(s.ok());
    REQUIRE(s->step() == SQLITE_ROW);
    CHECK(s->blob(0) == cg);
}

TEST_CASE("clock samples are stored when the offset moves, or hourly", "[recorder]") {
    TempDir dir;
    auto writer = open_writer(dir / "j.db");
    Recorder rec(writer, RecorderOptions{});
    const int64_t minute = 60'000'000'000, offset = 1'776'848'400'000'000'000;
    // Three hours of one-minute checks with a steady clock, then a 2 s step.
    for (int64_t m = 0; m <= 180; ++m) REQUIRE(rec.note_clock(m * minute, m * minute + offset).ok());
    REQUIRE(rec.note_clock(181 * minute, 181 * minute + offset + 500'000).ok());    // 0.5 ms: kept out
    REQUIRE(rec.note_clock(182 * minute, 182 * minute + offset + 2'000'000'000).ok());  // a step
    REQUIRE(rec.commit(183 * minute).ok());
    auto db = Database::open_read("file:" + (dir / "j.db") + "?mode=ro");
    REQUIRE(db.ok());
    // begin_run's own sample, then 0 h, 1 h, 2 h, 3 h, and the step.
    CHECK(*query_int(*db, "SELECT count(*) FROM clock_samples") == 6);
    CHECK(*query_int(*db, "SELECT max(wall_ns - boot_ns) FROM clock_samples") == offset + 2'000'000'000);
}
