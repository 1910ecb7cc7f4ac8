// The journal the verify, retention and hash-chain tests share (test_util.h).
#include <filesystem>

#include "argv.h"
#include "sqlite.h"
#include "test_util.h"
#include "verify_render.h"

namespace lineage::test {

namespace {

void write_start_batch(JournalWriter& w, uint64_t t) {
    for (uint32_t p = 1; p <= 3; ++p) {
        SnapshotRow s;
        s.time_ns = static_cast<int64_t>(t);
        s.tgid = p;
        s.ppid = p - 1;
        s.start_ns = p * 10'000'000;
        s.comm = "init";
        s.exe = "/sbin/init";
        s.argv = join_argv({"/sbin/init"});
        s.cgroup_path =
            "/kubepods.slice/kubepods-pod7c9e6679_7425_40de_944b_e07fc1f90ae7.slice/cri-containerd-"
            "4f1a2b3c.scope";
        REQUIRE(w.add_snapshot(s, "7c9e6679-7425-40de-944b-e07fc1f90ae7").ok());
    }
    REQUIRE(w.add_pod("7c9e6679-7425-40de-944b-e07fc1f90ae7", "my-app", "production", lineage::PodNameSource::log_dir)
                .ok());
    REQUIRE(w.commit(static_cast<int64_t>(t + 1)).ok());
}

}  // namespace

RunInfo run_info(int64_t started_ns) {
    RunInfo r;
    r.boot_id = kBoot;
    r.node = "node-a";
    r.started_ns = started_ns;
    r.started_wall_ns = 1'776'848'400'000'000'000 + started_ns;
    r.version = "test";
    r.kernel = "6.1 test";
    r.hooks = "fork,exec,exit,connect";
    r.argv_cap = 4096;
    r.clk_tck = 100;
    r.recorder_pid = 4242;
    return r;
}

void add_events(JournalWriter& w, uint32_t& pid, uint64_t& t, int n) {
    for (int i = 0; i < 3; ++i, ++pid) {
        ForkEvent f;
        f.time_ns = t += 1'000'000;
        f.parent = {1, 500'000'000};
        f.child = {pid, t};
        f.parent_comm = "bash";
        REQUIRE(w.add(f, "").ok());
        ExecEvent e;
        e.time_ns = t += 1'000'000;
        e.proc = f.child;
        e.parent = f.parent;
        e.comm = "curl";
        e.binary = "/usr/bin/curl";
        e.argv = join_argv({"curl", "http://example.com/" + std::to_string(pid)});
        e.cgroup_path = "/system.slice/x.service";
        REQUIRE(w.add(e, "").ok());
        ExitEvent x;
        x.time_ns = t += 1'000'000;
        x.proc = f.child;
        x.code = i;
        x.comm = "curl";
        REQUIRE(w.add(x, "").ok());
    }
    ConnectEvent c;
    c.time_ns = t += 1'000'000;
    c.outcome_ns = t + 500;
    c.proc = {pid - 1, t};
    c.saddr = "10.0.0.1";
    c.daddr = "93.184.216.34";
    c.sport = 40000;
    c.dport = 80;
    c.established = true;
    REQUIRE(w.add(c, "").ok());
    if (n % 2 == 0) REQUIRE(w.add_loss(static_cast<int64_t>(t) - 500, static_cast<int64_t>(t), 7, "ringbuf_full").ok());
}

void write_event_batch(JournalWriter& w, uint32_t& pid, uint64_t& t, int n) {
    add_events(w, pid, t, n);
    REQUIRE(w.commit(static_cast<int64_t>(t += 1'000'000)).ok());
}

Sample write_sample(const std::string& path) {
    Sample out;
    uint32_t pid = 1000;
    uint64_t t = 1'000'000'000'000;
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
        write_start_batch(*w, t);
        for (int b = 0; b < 6; ++b) write_event_batch(*w, pid, t, b);
        REQUIRE(w->end_run(static_cast<int64_t>(t + 5), 1'776'848'400'000'000'000 + static_cast<int64_t>(t + 5),
                           "signal", 60, 21)
                    .ok());
        out.run1_head = w->head();
        REQUIRE(out.run1_head.batch_id == 8);
    }
    t += 60'000'000'000;
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    REQUIRE(w->head().batch_id == 8);
    REQUIRE(w->begin_run(run_info(static_cast<int64_t>(t))).ok());
    write_start_batch(*w, t);
    write_event_batch(*w, pid, t, 1);
    write_event_batch(*w, pid, t, 2);
    REQUIRE(w->add_clock_sample(static_cast<int64_t>(t), 1'776'848'400'000'000'000 + static_cast<int64_t>(t)).ok());
    write_event_batch(*w, pid, t, 3);
    out.head = w->head();
    REQUIRE(out.head.batch_id == 13);
    return out;
}

Copy::Copy(const std::string& from, const std::string& to) : path(to) {
    std::filesystem::copy_file(from, to);
    if (std::filesystem::exists(from + "-wal")) std::filesystem::copy_file(from + "-wal", to + "-wal");
}

void Copy::sql(const std::string& statements) {
    auto db = Database::open_write(path);
    REQUIRE(db.ok());
    auto st = db->exec(statements);
    INFO(statements);
    REQUIRE(st.ok());
}

int64_t Copy::scalar(const std::string& query) {
    auto db = Database::open_write(path);
    REQUIRE(db.ok());
    auto v = query_int(*db, query);
    INFO(query);
    REQUIRE(v.ok());
    return *v;
}

JournalVerdict verify(const std::string& path) {
    auto v = verify_journal(path);
    INFO((v.ok() ? std::string() : v.error().message));
    REQUIRE(v.ok());
    return *v;
}

std::string describe(const JournalVerdict& v) {
    VerifyReport r;
    r.journals.push_back(v);
    return VerifyTextRenderer().render(r);
}

std::vector<const Finding*> of_kind(const JournalVerdict& v, FindingKind k) {
    std::vector<const Finding*> out;
    for (const auto& f : v.findings)
        if (f.kind == k) out.push_back(&f);
    return out;
}

}  // namespace lineage::test
