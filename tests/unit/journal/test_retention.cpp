// Retention: pruning by size and by age, a chunk at a time; pruned
// journals verify from the first kept batch, and deleting old batches
// without a prune in the chain is tampering.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "hashchain.h"
#include "journal_format.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "model.h"
#include "retention.h"
#include "sqlite.h"
#include "test_util.h"
#include "verify.h"

namespace test_retention {

using namespace lineage;
using fixture::run_lineage;
using fixture::RunResult;
using fixture::TempDir;
using lineage::test::Copy;
using lineage::test::describe;
using lineage::test::kBoot;
using lineage::test::of_kind;
using lineage::test::run_info;
using lineage::test::Sample;
using lineage::test::verify;
using lineage::test::write_event_batch;
using lineage::test::write_sample;
using nlohmann::json;

namespace {
// SQL that deletes batches 1..through by hand, as someone with write access
// to the file would: their batches rows and the rows of the event tables,
// and with `run_metadata` also those of the tables a prune keeps.
std::string delete_batches_sql(int64_t through, bool run_metadata) {
    std::string sql;
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const ChainTable t = table_at(i);
        if (!table_in_version(t, kJournalSchemaVersion) || (!run_metadata && kept_when_pruned(t))) continue;
        sql += fmt::format("DELETE FROM {} WHERE batch <= {};", table_name(t), through);
    }
    return sql + fmt::format("DELETE FROM batches WHERE batch_id <= {};", through);
}

// write_sample, then prunes through `through` (with the writer that wrote
// it, as `record --max-size` does).
PruneResult prune_sample(const std::string& path, int64_t through) {
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    auto p = w->prune_through(through, "max-size", 2'000'000'000'000);
    INFO((p.ok() ? std::string() : p.error().message));
    REQUIRE(p.ok());
    return *p;
}
}  // namespace

TEST_CASE("a pruned journal verifies whole from its first kept batch", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    Sample s = write_sample(path);
    const int64_t events_before = Copy(path, dir / "before.db").scalar("SELECT count(*) FROM exec");
    PruneResult p = prune_sample(path, 9);  // all of run 1, and run 2's first batch
    CHECK(p.through_batch == 9);
    CHECK(p.batch_id == 14);
    // Run 1: 6 batches of 10 event rows, 3 loss rows, 3 snapshot rows; run 2's
    // first batch: 3 snapshot rows. Pods are kept.
    CHECK(p.rows == 6 * 10 + 3 + 3 + 3);

    JournalVerdict v = verify(path);
    INFO(describe(v));
    CHECK(v.status() == "whole");
    REQUIRE(v.pruned);
    CHECK(v.pruned->through_batch == 9);
    CHECK(v.pruned->prunes == 1);
    CHECK(v.pruned->rows == p.rows);
    CHECK(v.pruned->reason == "max-size");
    CHECK(v.first_batch == 10);
    CHECK(v.last_batch == 14);
    CHECK(describe(v).find("pruned: batches 1-9") != std::string::npos);
    // The metadata stays: both runs, run 1's stop, the pods.
    Copy c(path, dir / "after.db");
    CHECK(c.scalar("SELECT count(*) FROM runs") == 2);
    CHECK(c.scalar("SELECT count(*) FROM run_stops") == 1);
    CHECK(c.scalar("SELECT count(*) FROM pods") == 2);
    CHECK(c.scalar("SELECT count(*) FROM exec") == events_before - 6 * 3);
    CHECK(c.scalar("SELECT count(*) FROM exec WHERE batch <= 9") == 0);
    CHECK(c.scalar("SELECT count(*) FROM batches WHERE batch_id <= 9") == 0);

    SECTION("a second prune is cumulative") {
        PruneResult p2 = prune_sample(path, 11);
        CHECK(p2.batch_id == 15);
        JournalVerdict v2 = verify(path);
        INFO(describe(v2));
        CHECK(v2.status() == "whole");
        REQUIRE(v2.pruned);
        CHECK(v2.pruned->through_batch == 11);
        CHECK(v2.pruned->prunes == 2);
        CHECK(v2.pruned->rows == p.rows + p2.rows);
    }
    SECTION("an anchor of a pruned batch cannot be checked; the last pruned one can") {
        RunResult r = run_lineage(
            {"verify", "--journal", "j.db", "--anchor", format_anchor_line(1, "node-a", kBoot, 8, s.run1_head.hash)},
            dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("anchor pruned: node=node-a batch=8"));
        Hash other{};
        other[0] = 7;
        r = run_lineage({"verify", "--journal", "j.db", "--anchor", format_anchor_line(1, "node-a", kBoot, 9, other)},
                        dir.path());
        INFO(r.out << r.err);
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Catch::Contains("batch 9 of j.db has another hash"));
    }
    SECTION("--format json names the prune and validates") {
        RunResult r = run_lineage({"verify", "--journal", "j.db", "--format", "json"}, dir.path());
        REQUIRE(r.status == 0);
        json doc = json::parse(r.out);
        const json& pr = doc.at("journals").at(0).at("pruned");
        CHECK(pr.at("through_batch") == 9);
        CHECK(pr.at("reason") == "max-size");
        CHECK(pr.at("rows") == p.rows);
    }
}

TEST_CASE("deleting old batches without a prune, or editing what a prune kept, is caught", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    write_sample(path);

    SECTION("the first batches deleted by hand: batches missing") {
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, true));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::batch_missing).size() == 1);
        CHECK(of_kind(v, FindingKind::batch_missing)[0]->detail ==
              "the journal starts at batch 5: batches 1-4 are missing");
    }
    SECTION("a forged prune row with a batch that is not an integer") {
        // The digest and hash are what a real prune of batches 1-4 would
        // record; only its batch is not one the chain holds.
        Copy real(path, dir / "real.db");
        prune_sample(real.path, 4);
        const int64_t real_prune_batch = real.scalar("SELECT batch FROM prunes");
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, false) +
              fmt::format("ATTACH '{}' AS r; INSERT INTO prunes SELECT 13.5, through_batch, through_hash, "
                          "through_wall_ns, rows, kept_digest, reason FROM r.prunes WHERE batch = {};",
                          real.path, real_prune_batch));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        CHECK(!of_kind(v, FindingKind::batch_missing).empty());
        // The prune row is outside every batch, and so are the run rows of
        // batches 1-4 that it claimed to keep.
        std::set<std::string> tables;
        for (const Finding* f : of_kind(v, FindingKind::outside_batch)) tables.insert(f->table);
        CHECK(tables.count("prunes") == 1);
        CHECK(tables.count("runs") == 1);
    }
    SECTION("a forged prune row in an existing batch") {
        Copy real(path, dir / "real.db");
        prune_sample(real.path, 4);
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(4, false) +
              fmt::format("ATTACH '{}' AS r; INSERT INTO prunes SELECT 13, through_batch, through_hash, "
                          "through_wall_ns, rows, kept_digest, reason FROM r.prunes;",
                          real.path));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::added).size() >= 1);
        CHECK(of_kind(v, FindingKind::added)[0]->table == "prunes");
    }
    prune_sample(path, 4);
    SECTION("more batches deleted after a prune: batches missing, and the prune is named") {
        Copy c(path, dir / "t.db");
        c.sql(delete_batches_sql(6, false));
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::batch_missing).size() == 1);
        CHECK_THAT(of_kind(v, FindingKind::batch_missing)[0]->detail,
                   Catch::Contains("batches 5-6 are missing (the last prune, in batch 14, deleted batches 1-4 only)"));
    }
    SECTION("a kept row of a pruned batch edited: modified") {
        Copy c(path, dir / "t.db");
        c.sql("UPDATE pods SET name = 'innocent' WHERE batch = 1");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::modified).size() == 1);
        CHECK_THAT(of_kind(v, FindingKind::modified)[0]->detail,
                   Catch::Contains("rows kept from pruned batches up to 4") && Catch::Contains("prune in batch 14"));
    }
    SECTION("a kept row added with a batch that is not an integer: outside a batch") {
        Copy c(path, dir / "t.db");
        c.sql("INSERT INTO pods (batch, pod_uid, name, namespace, source) VALUES (3.5, 'u', 'evil', 'ns', 'log-dir')");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::outside_batch).size() == 1);
        CHECK(of_kind(v, FindingKind::outside_batch)[0]->table == "pods");
    }
    SECTION("an event row left in a pruned batch: outside a batch") {
        Copy c(path, dir / "t.db");
        c.sql(
            "INSERT INTO exit (batch, time_ns, tgid, start_ns, code, signal, core_dumped, comm) "
            "VALUES (3, 1, 2, 3, 0, 0, 0, x'')");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        CHECK(of_kind(v, FindingKind::outside_batch).size() == 1);
    }
    SECTION("the prune row edited: its batch does not verify") {
        Copy c(path, dir / "t.db");
        c.sql("UPDATE prunes SET rows = rows + 1");
        JournalVerdict v = verify(c.path);
        INFO(describe(v));
        CHECK(v.status() == "tampered");
        REQUIRE(of_kind(v, FindingKind::modified).size() == 1);
        CHECK(of_kind(v, FindingKind::modified)[0]->table == "prunes");
    }
}

TEST_CASE("retention prunes by size and by age, a chunk at a time", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    uint64_t t = 1'000'000'000'000;
    REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
    uint32_t pid = 1000;
    for (int b = 0; b < 400; ++b) write_event_batch(*w, pid, t, b);
    auto used = w->used_bytes();
    REQUIRE(used.ok());

    SECTION("by size: down to the low-water mark, then it stops") {
        RetentionOptions opt;
        opt.max_bytes = *used / 2;
        opt.chunk_rows = 500;
        Retention r(opt);
        int steps = 0;
        for (;; ++steps) {
            REQUIRE(steps < 100);
            auto p = r.step(*w, static_cast<int64_t>(t += 1'000'000), 0);
            REQUIRE(p.ok());
            if (!*p) break;
            CHECK((*p)->rows <= opt.chunk_rows + 10);  // whole batches: at most one batch over
        }
        CHECK(steps > 1);
        auto after = w->used_bytes();
        REQUIRE(after.ok());
        CHECK(*after <= opt.max_bytes * 9 / 10);
        CHECK(!r.cannot_meet_size());
        REQUIRE(w->commit(static_cast<int64_t>(t += 1'000'000)).ok());
        JournalVerdict v = verify(path);
        INFO(describe(v));
        CHECK(v.status() == "whole");
        REQUIRE(v.pruned);
        CHECK(v.pruned->prunes == steps);
        // Freed pages are reused: writing as much again grows the journal
        // little. Its pages as a reader sees them, the WAL's included: the
        // main file alone grows when the WAL is checkpointed into it.
        auto pages = [&](const char* pragma) {
            auto db = Database::open_read("file:" + path + "?mode=ro");
            REQUIRE(db.ok());
            auto n = query_int(*db, pragma);
            REQUIRE(n.ok());
            return *n;
        };
        const int64_t pages_before = pages("PRAGMA page_count"), free_before = pages("PRAGMA freelist_count");
        for (int b = 0; b < 20; ++b) write_event_batch(*w, pid, t, b);
        CHECK(pages("PRAGMA page_count") == pages_before);
        CHECK(pages("PRAGMA freelist_count") < free_before);
    }
    SECTION("by age: batches committed before the cutoff go, the rest stay") {
        RetentionOptions opt;
        opt.retain_ns = 1;
        opt.retain_slack_ns = 1'000'000'000;
        opt.chunk_rows = 1'000'000;
        Retention r(opt);
        // Batch committed_ns is t; its wall time is that plus the run's offset.
        const int64_t offset = 1'776'848'400'000'000'000;
        const int64_t cutoff_wall = offset + 1'000'000'000'000 + 200 * 10'000'000;  // ~ half of the batches
        // Within the slack of the oldest batch: nothing yet.
        auto none = r.step(*w, static_cast<int64_t>(t), offset + 1'000'000'000'000 + opt.retain_ns + 500'000'000);
        REQUIRE(none.ok());
        CHECK(!*none);
        auto p = r.step(*w, static_cast<int64_t>(t), cutoff_wall + opt.retain_ns);
        REQUIRE(p.ok());
        REQUIRE(*p);
        auto db = Database::open_read("file:" + path + "?mode=ro");
        REQUIRE(db.ok());
        CHECK(*query_int(*db, fmt::format("SELECT count(*) FROM batches b WHERE b.committed_ns + {} < {}", offset,
                                          cutoff_wall)) == 0);
        CHECK(*query_int(*db, "SELECT count(*) FROM batches") > 150);
        JournalVerdict v = verify(path);
        INFO(describe(v));
        CHECK(v.status() == "whole");
        REQUIRE(v.pruned);
        CHECK(v.pruned->reason == "retain");
    }
}

namespace {
constexpr int64_t kTick = 10'000'000;  // run_info's clk_tck is 100

SnapshotRow snapshot_of(uint32_t tgid, uint32_t ppid, uint64_t start_ns, const std::string& exe) {
    SnapshotRow r;
    r.time_ns = 1'000'000'000'000;
    r.tgid = tgid;
    r.nspid = tgid;
    r.ppid = ppid;
    r.start_ns = start_ns;
    r.comm = exe.substr(exe.rfind('/') + 1);
    r.exe = exe;
    r.argv = r.comm + std::string(1, '\0');
    return r;
}

ExecEvent exec_of(uint32_t tgid, uint64_t start_ns, ProcRef parent, uint64_t t, const std::string& binary) {
    ExecEvent e;
    e.time_ns = t;
    e.proc = {tgid, start_ns};
    e.nspid = tgid;
    e.old_tid = tgid;
    e.parent = parent;
    e.comm = binary.substr(binary.rfind('/') + 1);
    e.binary = binary;
    e.argv = e.comm + std::string(1, '\0');
    return e;
}

ForkEvent fork_of(ProcRef parent, ProcRef child, uint64_t t, const std::string& parent_comm) {
    ForkEvent f;
    f.time_ns = t;
    f.parent = parent;
    f.child = child;
    f.parent_comm = parent_comm;
    return f;
}

LiveProcesses live_set(std::set<std::pair<uint32_t, int64_t>>* live) {
    LiveProcesses l;
    l.ns_per_tick = kTick;
    l.contains = [live](uint32_t tgid, int64_t start_ns) { return live->count({tgid, start_ns / kTick}) != 0; };
    return l;
}

std::unique_ptr<Model> load_model(const std::string& path, const LoadPlan& plan = LoadPlan{}) {
    auto r = JournalReader::open(path);
    REQUIRE(r.ok());
    auto m = std::make_unique<Model>();
    REQUIRE(r->load_into(*m, plan).ok());
    m->finish();
    return m;
}
}  // namespace

TEST_CASE("a prune carries the identity of running processes forward", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->begin_run(run_info(1'000'000'000'000)).ok());
    // Batch 1, the snapshot: init and a shim that runs all along.
    const uint64_t shim_start = 500 * kTick;
    REQUIRE(w->add_snapshot(snapshot_of(1, 0, kTick, "/sbin/init"), "").ok());
    REQUIRE(w->add_snapshot(snapshot_of(50, 1, shim_start, "/usr/bin/containerd-shim"), "").ok());
    REQUIRE(w->commit(1'000'100'000'000).ok());
    // Batch 2: the shim forks a shell that runs all along, which execs, and
    // a short-lived child that is gone before the prune.
    const ProcRef shim{50, shim_start + 3'000'000};  // the kernel's nanoseconds, in the same tick
    const ProcRef shell{60, 1'000'200'000'000}, gone{61, 1'000'300'000'000}, worker{62, 1'000'310'000'000};
    REQUIRE(w->add(Event{fork_of(shim, shell, 1'000'200'000'000, "containerd-shim")}, "").ok());
    REQUIRE(w->add(Event{exec_of(shell.tgid, shell.start_ns, shim, 1'000'201'000'000, "/bin/sh")}, "").ok());
    REQUIRE(w->add(Event{fork_of(shell, gone, 1'000'300'000'000, "sh")}, "").ok());
    REQUIRE(w->add(Event{exec_of(gone.tgid, gone.start_ns, shell, 1'000'301'000'000, "/bin/true")}, "").ok());
    // A worker forked by the shell that never execs, and still runs.
    REQUIRE(w->add(Event{fork_of(shell, worker, 1'000'310'000'000, "sh")}, "").ok());
    REQUIRE(w->commit(1'000'400'000'000).ok());
    // Batch 3: the shell's new child, after the prune point.
    const ProcRef child{70, 1'000'500'000'000};
    REQUIRE(w->add(Event{fork_of(shell, child, 1'000'500'000'000, "sh")}, "").ok());
    REQUIRE(w->add(Event{exec_of(child.tgid, child.start_ns, shell, 1'000'501'000'000, "/usr/bin/curl")}, "").ok());
    REQUIRE(w->commit(1'000'600'000'000).ok());

    std::set<std::pair<uint32_t, int64_t>> live = {{1, 1},
                                                   {50, 500},
                                                   {60, static_cast<int64_t>(shell.start_ns) / kTick},
                                                   {62, static_cast<int64_t>(worker.start_ns) / kTick},
                                                   {70, static_cast<int64_t>(child.start_ns) / kTick}};
    auto p = w->prune_through(2, "max-size", 1'000'700'000'000, live_set(&live));
    INFO((p.ok() ? std::string() : p.error().message));
    REQUIRE(p.ok());
    // init, the shim, the shell and the worker; the child's exec survives,
    // and the short-lived process is no one's concern.
    CHECK(p->carried == 4);
    {
        Copy c(path, dir / "c1.db");
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE batch = 4") == 4);
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE tgid = 61 OR tgid = 70") == 0);
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE tgid = 50 AND source = 'snapshot' AND parent_tgid = 1 AND "
                       "parent_start_ns = 10000000 AND from_batch = 1") == 1);
        // The shell's image is its exec, its parent the forker (nanoseconds).
        CHECK(c.scalar(fmt::format("SELECT count(*) FROM carried WHERE tgid = 60 AND source = 'exec' AND binary = "
                                   "CAST('/bin/sh' AS BLOB) AND parent_tgid = 50 AND parent_start_ns = {}",
                                   shim.start_ns)) == 1);
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE tgid = 62 AND source = 'fork' AND parent_tgid = 60") == 1);
        CHECK(c.scalar("SELECT row_count FROM batches WHERE batch_id = 4") == 4);
    }
    JournalVerdict v = verify(path);
    INFO(describe(v));
    CHECK(v.status() == "whole");

    auto check_tree = [&](const std::string& at, ProcRef child) {
        auto m = load_model(at);
        const Process* c = m->find(m->key_for(kBoot, child.tgid, static_cast<int64_t>(child.start_ns)));
        REQUIRE(c);
        REQUIRE(c->parent);
        const Process* sh = m->find(*c->parent);
        REQUIRE(sh);
        CHECK(sh->carried_forward);
        REQUIRE(sh->execs.size() == 1);
        CHECK(sh->execs[0].binary == "/bin/sh");
        CHECK(sh->parent_source == ParentSource::fork);
        REQUIRE(sh->parent);
        const Process* s = m->find(*sh->parent);
        REQUIRE(s);
        CHECK(s->carried_forward);
        REQUIRE(s->execs.size() == 1);
        CHECK(s->execs[0].binary == "/usr/bin/containerd-shim");
        REQUIRE(s->parent);
        CHECK(s->parent->tgid == 1);
        const Process* init = m->find(*s->parent);
        REQUIRE(init);
        CHECK(init->carried_forward);
        CHECK(!c->carried_forward);
        const Process* wk = m->find(m->key_for(kBoot, worker.tgid, static_cast<int64_t>(worker.start_ns)));
        REQUIRE(wk);
        CHECK(wk->carried_forward);
        REQUIRE(wk->parent);
        CHECK(*wk->parent == sh->key);
        // The child's ancestry alone, each process read as a cluster of
        // start times of its own (LoadPlan::cluster_seeds): the carried
        // rows are looked up in the same way.
        LoadPlan plan;
        plan.everything = false;
        plan.whole_rows_per_process = 0;
        plan.pid = child.tgid;
        plan.cluster_seeds = 1;
        plan.cluster_spread = INT64_MAX;
        auto t = load_model(at, plan);
        const Process* tc = t->find(c->key);
        REQUIRE(tc);
        REQUIRE(tc->parent);
        CHECK(*tc->parent == sh->key);
        for (const Process* p : {sh, s, init}) {
            const Process* tp = t->find(p->key);
            REQUIRE(tp);
            CHECK(tp->carried_forward);
            CHECK(tp->execs.size() == p->execs.size());
            CHECK(tp->parent == p->parent);
        }
    };
    check_tree(path, child);

    RunResult r = run_lineage({"reconstruct", "--journal", "j.db", "--pid", "70"}, dir.path());
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("sh  (PID 60)"));
    CHECK_THAT(r.out, Catch::Contains("containerd-shim  (PID 50)"));
    CHECK_THAT(r.out, Catch::Contains("[carried forward from before a prune]"));
    CHECK_THAT(r.out, !Catch::Contains("not in the journal"));

    SECTION("a later prune carries the carried rows forward again, and verify proves it whole") {
        // Batch 5: the shell's child exits, and it starts another.
        ExitEvent x;
        x.time_ns = 1'000'800'000'000;
        x.proc = child;
        REQUIRE(w->add(Event{x}, "").ok());
        const ProcRef next{71, 1'000'800'000'000};
        REQUIRE(w->add(Event{fork_of(shell, next, 1'000'800'000'000, "sh")}, "").ok());
        REQUIRE(w->add(Event{exec_of(next.tgid, next.start_ns, shell, 1'000'801'000'000, "/bin/ls")}, "").ok());
        REQUIRE(w->commit(1'000'800'000'000).ok());
        live.erase({70, static_cast<int64_t>(child.start_ns) / kTick});
        auto p2 = w->prune_through(4, "max-size", 1'000'900'000'000, live_set(&live));
        REQUIRE(p2.ok());
        CHECK(p2->carried == 4);
        Copy c(path, dir / "c2.db");
        CHECK(c.scalar("SELECT count(*) FROM carried") == 4);
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE batch = 6") == 4);
        // Each keeps the kind and batch of the row it restates.
        CHECK(c.scalar("SELECT count(*) FROM carried WHERE tgid = 60 AND source = 'exec' AND from_batch = 2") == 1);
        JournalVerdict v2 = verify(path);
        INFO(describe(v2));
        CHECK(v2.status() == "whole");
        check_tree(path, next);
    }
    SECTION("without the live set, a prune cuts the tree at the root") {
        // The same journal pruned by a writer that knows no live process: the
        // shell is not in the journal any more (what this table fixes).
        TempDir other;
        const std::string copy = other / "j.db";
        {
            Copy c(path, copy);
            c.sql("DELETE FROM carried");
        }
        auto m = load_model(copy);
        const Process* c = m->find(m->key_for(kBoot, child.tgid, static_cast<int64_t>(child.start_ns)));
        REQUIRE(c);
        REQUIRE(c->parent);
        CHECK(m->find(*c->parent) == nullptr);
    }
}

TEST_CASE("a prune carries nothing for a process whose identity survives or that has ended", "[verify][retention]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->begin_run(run_info(1'000'000'000'000)).ok());
    const ProcRef a{80, 1'000'100'000'000};
    REQUIRE(w->add(Event{exec_of(a.tgid, a.start_ns, {1, kTick}, 1'000'100'000'000, "/bin/a")}, "").ok());
    REQUIRE(w->commit(1'000'150'000'000).ok());
    // A second exec of the same process, in a batch the prune keeps.
    REQUIRE(w->add(Event{exec_of(a.tgid, a.start_ns, {1, kTick}, 1'000'200'000'000, "/bin/b")}, "").ok());
    REQUIRE(w->commit(1'000'250'000'000).ok());
    std::set<std::pair<uint32_t, int64_t>> live = {{80, static_cast<int64_t>(a.start_ns) / kTick}};
    auto p = w->prune_through(1, "retain", 1'000'300'000'000, live_set(&live));
    REQUIRE(p.ok());
    CHECK(p->carried == 0);
    // Without a live set (an older caller), nothing is carried either.
    auto p2 = w->prune_through(2, "retain", 1'000'400'000'000);
    REQUIRE(p2.ok());
    CHECK(p2->carried == 0);
    CHECK(verify(path).status() == "whole");
}

}  // namespace test_retention
