// Table unexited (schema version 5): the writer's restatements of the
// processes its boot's rows name and no exit row ends, which a bare time
// window reads instead of every row of the boot.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "fixture_journal.h"
#include "journal_reader.h"
#include "reconstruct.h"
#include "render.h"
#include "sqlite.h"

namespace test_unexited {

using namespace fixture;
using namespace lineage;

namespace {

const std::string kBootX = "b0000000-0000-4000-8000-0000000000e1";
const std::string kBootY = "b0000000-0000-4000-8000-0000000000e2";

// A run with sets every 4 rows: `fillers` processes forked and exited, and
// the long-lived ones given.
FixtureJournal run_of(const std::string& boot, uint64_t from_s, bool clean, const std::vector<uint32_t>& long_lived,
                      int fillers) {
    RunOptions run;
    run.boot_id = boot;
    run.started_ns = at(from_s);
    run.stopped_ns = at(from_s + 200);
    run.clean_stop = clean;
    run.unexited_every_rows = 4;
    FixtureJournal fx(run);
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    fx.set_reaper(init);
    uint64_t t = at(from_s + 1);
    for (uint32_t pid : long_lived) {
        Proc p = FixtureJournal::proc(pid, t);
        fx.fork(init, p, t);
        fx.exec(p, "/usr/bin/daemon", {"daemon", std::to_string(pid)}, t + 1000);
        t += at(1);
    }
    for (int i = 0; i < fillers; ++i) {
        Proc p = FixtureJournal::proc(static_cast<uint32_t>(300 + i), t);
        fx.fork(init, p, t);
        fx.exec(p, "/bin/true", {"true"}, t + 1000);
        fx.exit(p, t + 2000);
        t += at(1);
    }
    return fx;
}

struct LastSet {
    int64_t batch = 0, from_batch = 0;
    std::set<uint32_t> members;
};

LastSet last_set(const std::string& path) {
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    LastSet set;
    auto header =
        db->prepare("SELECT rowid, batch, from_batch FROM unexited WHERE tgid = 0 ORDER BY rowid DESC LIMIT 1");
    REQUIRE(header.ok());
    REQUIRE(header->step() == SQLITE_ROW);
    const int64_t rowid = header->int64(0);
    set.batch = header->int64(1);
    set.from_batch = header->int64(2);
    auto members = db->prepare("SELECT tgid, batch FROM unexited WHERE rowid > ?1");
    REQUIRE(members.ok());
    members->bind(1, rowid);
    while (members->step() == SQLITE_ROW) {
        CHECK(members->int64(1) == set.batch);  // a set is one batch
        set.members.insert(static_cast<uint32_t>(members->int64(0)));
    }
    return set;
}

int64_t first_batch_of_run(const std::string& path, int64_t run) {
    auto db = Database::open_read("file:" + path + "?mode=ro");
    REQUIRE(db.ok());
    auto s = db->prepare("SELECT min(batch_id) FROM batches WHERE run_id = ?1");
    REQUIRE(s.ok());
    s->bind(1, run);
    REQUIRE(s->step() == SQLITE_ROW);
    return s->int64(0);
}

std::string answer(const std::string& path, const Query& query, const LoadPlan& plan) {
    Model model;
    auto reader = JournalReader::open(path);
    REQUIRE(reader.ok());
    auto st = reader->load_into(model, plan);
    INFO((st ? std::string() : st.error().message));
    REQUIRE(st.ok());
    model.finish();
    Report report = build_report(model, query);
    std::string out;
    REQUIRE(JsonRenderer().render_to(model, report, [&](std::string_view s) {
        out += s;
        return true;
    }));
    return out;
}

// Whether the JSON answer holds a process of this PID.
bool has_pid(const std::string& json, uint32_t pid) {
    const std::string key = "\"pid\": " + std::to_string(pid);
    for (size_t pos = json.find(key); pos != std::string::npos; pos = json.find(key, pos + 1)) {
        const size_t end = pos + key.size();
        if (end == json.size() || json[end] < '0' || json[end] > '9') return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a second run of the same boot carries the first run's unexited set on", "[journal][unexited]") {
    TempDir dir;
    const std::string j = dir / "j.db";
    // Run 1 is killed (no clean stop): its last rows may follow its last set.
    FixtureJournal one = run_of(kBootX, 950, false, {100, 101}, 9);
    one.write(j);
    FixtureJournal two = run_of(kBootX, 1300, true, {200}, 9);
    two.write(j);
    const LastSet set = last_set(j);
    // It accounts for the boot from run 1's first batch, not from run 2's.
    CHECK(set.from_batch == first_batch_of_run(j, 1));
    CHECK(set.members == std::set<uint32_t>{1, 100, 101, 200});

    // A window in run 2 shows run 1's daemons, which never exited, as a full
    // read does.
    Query q;
    q.since_wall_ns = two.wall(at(1400));
    q.until_wall_ns = two.wall(at(1401));
    const std::string planned = answer(j, q, load_plan_for(q));
    CHECK(planned == answer(j, q, LoadPlan{}));
    for (uint32_t pid : {100, 101, 200}) {
        INFO(pid);
        CHECK(has_pid(planned, pid));
    }
    CHECK_FALSE(has_pid(planned, 305));

    // The sets are in the chain like any row.
    RunResult v = run_lineage({"verify", "--journal", j}, dir.path(), {}, 30);
    CHECK(v.status == 0);
}

TEST_CASE("a run of a new boot starts its own unexited set", "[journal][unexited]") {
    TempDir dir;
    const std::string j = dir / "j.db";
    run_of(kBootX, 950, true, {100}, 5).write(j);
    FixtureJournal two = run_of(kBootY, 950, true, {200}, 5);
    two.write(j);
    const LastSet set = last_set(j);
    CHECK(set.from_batch == first_batch_of_run(j, 2));
    CHECK(set.members == std::set<uint32_t>{1, 200});
    // Boot X's process, which never exited either, comes from boot X's own
    // last set.
    Query q;
    q.since_wall_ns = two.wall(at(1100));
    q.until_wall_ns = two.wall(at(1101));
    const std::string planned = answer(j, q, load_plan_for(q));
    CHECK(planned == answer(j, q, LoadPlan{}));
    CHECK(has_pid(planned, 100));
}

}  // namespace test_unexited
