// Whole pods (schema version 3): processes that enter a pod's cgroup by a
// fork that never execs, by a move, or through a container runtime's init
// stages; the pod's name by one rule for the header and --pod. Golden files
// (testdata/golden/pod_*.{txt,json}) and unit tests of the membership rules
// on models built from the same fixtures.
//
// Rewrite the goldens with: LINEAGE_UPDATE_GOLDEN=1 build/tests/unit_tests "[reconstruct]"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "journal_writer.h"
#include "reconstruct.h"

namespace test_whole_pods {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kPodUid = "3f2b1c0d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const std::string kContainer = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b";
const std::string kOtherContainer = "1111222233334444555566667777888899990000aaaabbbbccccddddeeeeffff";
const std::string kSince = "2026-04-22T09:00:00Z";
const std::string kUntil = "2026-04-22T09:05:00Z";

// The kubelet's cgroupfs driver: /kubepods/<qos>/pod<uid>/<container>.
std::string cgroupfs_path(const std::string& container) {
    return "/kubepods/besteffort/pod" + kPodUid + "/" + container;
}

struct Case {
    TempDir dir;
    std::string journal;

    Case(const FixtureJournal& fx, const std::string& name) : journal(name) { fx.write(dir / name); }

    RunResult run(std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal", journal,   "--since", kSince,
                                   "--until",     kUntil,      "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

void collect(const json& node, std::vector<json>& out) {
    out.push_back(node);
    for (const auto& c : node.at("children")) collect(c, out);
}

std::vector<json> nodes_of(const json& doc) {
    std::vector<json> out;
    for (const auto& t : doc.at("trees")) collect(t, out);
    return out;
}

const json* with_pid(const std::vector<json>& nodes, uint32_t pid) {
    for (const auto& n : nodes)
        if (n.at("pid").get<uint32_t>() == pid) return &n;
    return nullptr;
}

// A Python service in a pod whose children never exec: a fork that
// connects, a bash /dev/tcp subshell over IPv6, a pre-fork server's three
// workers. The pod has no kubelet log directory: its name is its UTS host
// name, stored twice (first as the node's, by a process in the node's UTS
// namespace, as a recorder before schema version 3 would have; then its own).
FixtureJournal fork_only_fixture() {
    FixtureJournal fx;
    const std::string pod = cgroupfs_path(kContainer);
    Proc init =
        fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim = fx.snapshot(4000, 1, at(940, 0), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2", "-id", kContainer.substr(0, 12)},
                            "/system.slice/containerd.service");
    fx.pod(kPodUid, "node-1", "", "hostname");
    fx.pod(kPodUid, "web-7f9c", "", "hostname");

    Proc app = FixtureJournal::proc(4100, at(1000, 100'000'000));
    fx.fork(shim, app, at(1000, 100'000'000), 1);
    fx.exec(app, "/usr/bin/python3", {"python3", "/srv/app.py"}, at(1000, 110'000'000), pod, "web-7f9c", 1);
    // os.fork(): the child connects out and exits, never exec'ing.
    Proc child = FixtureJournal::proc(4101, at(1010, 0));
    fx.fork(app, child, at(1010, 0), 2);
    fx.connect(child, "127.0.0.1", 4444, at(1010, 20'000'000));
    fx.exit(child, at(1010, 30'000'000), 0);
    // bash -c '( exec 3<>/dev/tcp/::1/8443 ... )': the subshell connects.
    Proc bash = FixtureJournal::proc(4102, at(1020, 0));
    fx.fork(app, bash, at(1020, 0), 3);
    fx.exec(bash, "/bin/bash", {"bash", "-c", "( exec 3<>/dev/tcp/::1/8443; echo hi >&3 )"}, at(1020, 1'000'000));
    Proc sub = FixtureJournal::proc(4103, at(1020, 5'000'000));
    fx.fork(bash, sub, at(1020, 5'000'000), 4);
    fx.connect(sub, "::1", 8443, at(1020, 6'000'000), true, "::1", 51234, 6);
    fx.exit(sub, at(1020, 9'000'000), 0);
    fx.exit(bash, at(1020, 10'000'000), 0);
    // A pre-fork server: three workers, each connecting to the database.
    Proc master = FixtureJournal::proc(4110, at(1030, 0));
    fx.fork(app, master, at(1030, 0), 5);
    fx.exec(master, "/usr/bin/gunicorn", {"gunicorn", "-w", "3", "app:wsgi"}, at(1030, 2'000'000));
    for (uint32_t w = 0; w < 3; ++w) {
        Proc worker = FixtureJournal::proc(4111 + w, at(1031, w * 1'000'000));
        fx.fork(master, worker, at(1031, w * 1'000'000), 6 + w);
        fx.connect(worker, "10.96.0.20", 5432, at(1031, 100'000'000 + w * 1'000'000), true, "10.244.1.9",
                   static_cast<uint16_t>(40000 + w));
    }
    // The node's own activity: never part of the pod.
    Proc cron = FixtureJournal::proc(4200, at(1040, 0));
    fx.fork(init, cron, at(1040, 0));
    fx.exec(cron, "/usr/bin/logrotate", {"logrotate", "/etc/logrotate.conf"}, at(1040, 1'000'000),
            "/system.slice/cron.service", "node-1");
    fx.exit(cron, at(1040, 50'000'000), 0);
    return fx;
}

// A process that was running on the host, moved into the pod's cgroup by
// a shell (echo PID > cgroup.procs); the pod has a process of its own.
FixtureJournal moved_fixture() {
    FixtureJournal fx;
    const std::string pod = cgroupfs_path(kContainer);
    Proc init =
        fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim = fx.snapshot(4000, 1, at(940, 0), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, "/system.slice/containerd.service");
    fx.pod(kPodUid, "web-7f9c", "shop", "log-dir");
    Proc app = FixtureJournal::proc(4100, at(1000, 100'000'000));
    fx.fork(shim, app, at(1000, 100'000'000), 1);
    fx.exec(app, "/usr/bin/python3", {"python3", "/srv/app.py"}, at(1000, 110'000'000), pod, "web-7f9c", 1);

    Proc sshd = fx.snapshot(900, 1, at(10, 0), "sshd", "/usr/sbin/sshd", {"sshd: admin"}, "/system.slice/ssh.service");
    Proc shell = FixtureJournal::proc(5000, at(1005, 0));
    fx.fork(sshd, shell, at(1005, 0));
    fx.exec(shell, "/bin/bash", {"-bash"}, at(1005, 1'000'000), "/user.slice/session-4.scope", "node-1");
    Proc miner = FixtureJournal::proc(5001, at(1010, 0));
    fx.fork(shell, miner, at(1010, 0));
    fx.exec(miner, "/tmp/.x/xmrig", {"xmrig", "-o", "pool.example:3333"}, at(1010, 1'000'000));
    // Hidden among the pod's processes.
    fx.move(miner, pod, at(1030, 0), shell);
    fx.connect(miner, "198.51.100.7", 3333, at(1031, 0));
    (void)init;
    return fx;
}

// A container started by runc (cgroupfs driver): `runc init` is exec'd on
// the host, moved into the container's cgroup, and forks its stages without
// exec'ing; the last stage is PID 1 of the new PID namespace and execs the
// entrypoint.
FixtureJournal runtime_fixture() {
    FixtureJournal fx;
    const std::string pod = cgroupfs_path(kContainer);
    const std::string host = "/system.slice/containerd.service";
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim = fx.snapshot(4000, 1, at(940, 0), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, host);
    fx.pod(kPodUid, "web-7f9c", "shop", "log-dir");

    Proc runc = FixtureJournal::proc(6000, at(1000, 0));
    fx.fork(shim, runc, at(1000, 0));
    fx.exec(runc, "/usr/sbin/runc", {"runc", "--root", "/run/containerd/runc/k8s.io", "create", "--bundle", "b"},
            at(1000, 1'000'000));
    Proc init = FixtureJournal::proc(6001, at(1000, 10'000'000));
    fx.fork(runc, init, at(1000, 10'000'000));
    fx.exec(init, "/proc/self/exe", {"runc", "init"}, at(1000, 11'000'000));
    fx.move(init, pod, at(1000, 15'000'000), runc);
    fx.comm(init, "runc:[0:PARENT]");
    Proc child = FixtureJournal::proc(6002, at(1000, 20'000'000));
    fx.fork(init, child, at(1000, 20'000'000));
    fx.comm(child, "runc:[1:CHILD]");
    Proc stage2 = FixtureJournal::proc(6003, at(1000, 25'000'000));
    fx.fork(child, stage2, at(1000, 25'000'000), 1);
    fx.exit(child, at(1000, 26'000'000), 0);
    fx.exit(init, at(1000, 27'000'000), 0);
    fx.exec(stage2, "/bin/sh", {"/bin/sh", "-c", "while :; do wget -q -O- http://10.96.0.1/; sleep 5; done"},
            at(1000, 40'000'000), pod, "web-7f9c", 1);
    Proc wget = FixtureJournal::proc(6004, at(1001, 0));
    fx.fork(stage2, wget, at(1001, 0), 2);
    fx.exec(wget, "/bin/wget", {"wget", "-q", "-O-", "http://10.96.0.1/"}, at(1001, 1'000'000));
    fx.connect(wget, "10.96.0.1", 80, at(1001, 2'000'000));
    fx.exit(wget, at(1001, 5'000'000), 0);
    // runc exits once the container runs: its init stages are gone, the
    // container's PID 1 stays.
    fx.exit(runc, at(1002, 0), 0);
    return fx;
}

}  // namespace

TEST_CASE("a pod's fork-only children: shown as forks of their forker's image, with their connects",
          "[reconstruct][pods]") {
    Case c(fork_only_fixture(), "fork-only.db");
    RunResult text = c.run({"--pod", "web-7f9c"});
    INFO(text.err);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("pod_fork_only.txt", text.out) == "");
    // The story, independent of the golden: one tree, every child under its forker.
    CHECK(text.out.find("pod web-7f9c (uid " + kPodUid) == 0);
    CHECK(text.out.find("[fork of python3]  (PID 4101, 2 in its namespace)") != std::string::npos);
    CHECK(text.out.find("connect 127.0.0.1:4444") != std::string::npos);
    CHECK(text.out.find("[fork of bash]  (PID 4103, 4 in its namespace)") != std::string::npos);
    CHECK(text.out.find("connect [::1]:8443") != std::string::npos);
    for (uint32_t w = 4111; w <= 4113; ++w) {
        CHECK(text.out.find("[fork of gunicorn]  (PID " + std::to_string(w)) != std::string::npos);
    }
    CHECK(text.out.find("logrotate") == std::string::npos);
    CHECK(text.out.find("[container init]") != std::string::npos);

    RunResult js = c.run({"--pod", "web-7f9c", "--format", "json"});
    CHECK(js.status == 0);
    CHECK(golden_mismatch("pod_fork_only.json", js.out) == "");
    const auto nodes = nodes_of(json::parse(js.out));
    const json* fork_child = with_pid(nodes, 4101);
    REQUIRE(fork_child);
    CHECK(fork_child->at("fork_of") == "python3");
    CHECK(fork_child->at("nspid") == 2);
    CHECK(fork_child->at("pod").at("entered") == "fork");
    CHECK(fork_child->at("pod").at("container_id") == kContainer);
    const json* app = with_pid(nodes, 4100);
    REQUIRE(app);
    CHECK(app->at("fork_of").is_null());
    CHECK(app->at("pod").at("container_init") == true);
    CHECK(app->at("pod").at("entered") == "exec");

    SECTION("--container and --binary select fork-only processes like any other") {
        RunResult by_container = c.run({"--container", kContainer.substr(0, 12), "--format", "json"});
        CHECK(by_container.status == 0);
        CHECK(with_pid(nodes_of(json::parse(by_container.out)), 4112));
        // A worker never exec'd: it runs gunicorn's image, which --binary matches.
        RunResult by_binary = c.run({"--binary", "gunicorn", "--format", "json"});
        CHECK(by_binary.status == 0);
        const auto b = nodes_of(json::parse(by_binary.out));
        for (uint32_t pid : {4110u, 4111u, 4112u, 4113u}) {
            INFO(pid);
            REQUIRE(with_pid(b, pid));
            CHECK(with_pid(b, pid)->at("matched") == true);
        }
        CHECK(with_pid(b, 4100)->at("matched") == false);  // python3, shown as their ancestor
    }
    SECTION("the name is the pod's own host name: the node's name is never a pod's") {
        CHECK(c.run({"--pod", "node-1"}).status == 1);
        CHECK(c.run({"--pod", kPodUid}).status == 0);
    }
}

TEST_CASE("a process moved into a pod: in the pod from the move, under its parent outside", "[reconstruct][pods]") {
    Case c(moved_fixture(), "moved.db");
    RunResult text = c.run({"--pod", "shop/web-7f9c"});
    INFO(text.err);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("pod_moved.txt", text.out) == "");
    CHECK(text.out.find("parent outside the pod: bash (PID 5000)") != std::string::npos);
    CHECK(text.out.find("xmrig -o pool.example:3333  (PID 5001)") != std::string::npos);
    CHECK(text.out.find("[moved into the pod +30.000s]") != std::string::npos);
    CHECK(text.out.find("connect 198.51.100.7:3333") != std::string::npos);
    // The shell that moved it never was in the pod.
    CHECK(text.out.find("-bash  (PID 5000)") == std::string::npos);

    RunResult js = c.run({"--pod", "shop/web-7f9c", "--format", "json"});
    const auto nodes = nodes_of(json::parse(js.out));
    const json* miner = with_pid(nodes, 5001);
    REQUIRE(miner);
    CHECK(miner->at("pod").at("entered") == "move");
    CHECK(miner->at("pod").at("entered_time") == "2026-04-22T09:00:30.000000000Z");
}

TEST_CASE("a runtime's init stages and the container's PID 1 are one tree", "[reconstruct][pods]") {
    Case c(runtime_fixture(), "runtime.db");
    RunResult text = c.run({"--pod", "web-7f9c"});
    INFO(text.err);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("pod_runtime.txt", text.out) == "");
    // One tree: one header, one parent outside the pod, the runtime.
    CHECK(std::count(text.out.begin(), text.out.end(), '\n') > 4);
    size_t headers = 0;
    for (size_t at = text.out.find("\npod "); at != std::string::npos; at = text.out.find("\npod ", at + 1)) ++headers;
    CHECK(headers == 0);  // the only header is the first line
    CHECK(text.out.rfind("pod shop/web-7f9c", 0) == 0);
    CHECK(text.out.find("parent outside the pod: runc (PID 6000)") != std::string::npos);
    CHECK(text.out.find("[fork of runc, comm runc:[1:CHILD]]  (PID 6002)") != std::string::npos);
    CHECK(text.out.find("(PID 6003, 1 in its namespace)") != std::string::npos);
    CHECK(text.out.find("[container init]") != std::string::npos);

    RunResult js = c.run({"--pod", "web-7f9c", "--format", "json"});
    CHECK(golden_mismatch("pod_runtime.json", js.out) == "");
    json doc = json::parse(js.out);
    REQUIRE(doc.at("trees").size() == 1);
    CHECK(doc.at("trees")[0].at("pid") == 6001);
    CHECK(doc.at("trees")[0].at("pod").at("entered") == "move");
    const auto nodes = nodes_of(doc);
    for (const auto& n : nodes) CHECK(n.at("pod").at("container_init") == (n.at("pid") == 6003));
}

// ---------------------------------------------------------------- the rules, on models

TEST_CASE("pod names: the log directory, else the latest host name that is not a node's, else the UID",
          "[reconstruct][pods]") {
    using lineage::PodNameRecord;
    using lineage::PodNameSource;
    const std::vector<std::string> nodes{"node-1"};
    auto name = [&](std::vector<PodNameRecord> records) {
        return lineage::effective_pod_name(kPodUid, records, nodes);
    };
    CHECK(name({}).name == kPodUid);
    CHECK(name({{"node-1", "", PodNameSource::hostname}}).name == kPodUid);
    CHECK(name({{"web-0", "", PodNameSource::hostname}, {"web-1", "", PodNameSource::hostname}}).name == "web-1");
    CHECK(name({{"web-0", "", PodNameSource::hostname}, {"node-1", "", PodNameSource::hostname}}).name == "web-0");
    const auto dir = name({{"web-0", "", PodNameSource::hostname},
                           {"web", "shop", PodNameSource::log_dir},
                           {"web-1", "", PodNameSource::hostname}});
    CHECK(dir.name == "web");
    CHECK(dir.namespace_ == "shop");
    CHECK(name({{"", "", PodNameSource::hostname}}).name == kPodUid);

    // The header and --pod: one rule. A pod with nothing stored is its UID.
    FixtureJournal fx = fork_only_fixture();
    lineage::Model m = fx.build_model();
    CHECK(m.pod_name(kPodUid).name == "web-7f9c");
    CHECK(m.pod_name("00000000-0000-4000-8000-000000000000").name == "00000000-0000-4000-8000-000000000000");
    lineage::Query q;
    q.pod = "web-7f9c";
    lineage::Report r = lineage::build_report(m, q);
    REQUIRE(r.trees.size() == 1);
    REQUIRE(r.trees[0].root().pod);
    CHECK(r.trees[0].root().pod->name == "web-7f9c");
    q.pod = "node-1";
    CHECK(lineage::build_report(m, q).matched == 0);
}

TEST_CASE("membership: a process is in every pod a row puts it in, from that row on", "[reconstruct][pods]") {
    lineage::Model m = moved_fixture().build_model();
    const lineage::Process* miner = m.find(m.key_for("b0000000-0000-4000-8000-000000000001", 5001, at(1010)));
    REQUIRE(miner);
    REQUIRE(miner->pod_entries.size() == 1);
    CHECK(miner->pod_entries[0].kind == lineage::PodEntryKind::move);
    CHECK(miner->pod_entries[0].pod.container_id == kContainer);
    REQUIRE(miner->pod_entries[0].by);
    CHECK(miner->pod_entries[0].by->tgid == 5000);
    const auto pod = lineage::pod_of(m, *miner);
    REQUIRE(pod);
    CHECK(pod->entered == lineage::PodEntryKind::move);
    CHECK(!lineage::pod_of(m, *miner, "00000000-0000-4000-8000-000000000000"));
    // The shell that moved it is in no pod.
    const lineage::Process* shell = m.find(m.key_for("b0000000-0000-4000-8000-000000000001", 5000, at(1005)));
    REQUIRE(shell);
    CHECK(!lineage::pod_of(m, *shell));

    SECTION("--container matches the container of the row that put it there") {
        lineage::Query q;
        q.container = kContainer.substr(0, 12);
        CHECK(lineage::build_report(m, q).matched == 2);  // the app and the moved process
        q.container = kOtherContainer.substr(0, 12);
        CHECK(lineage::build_report(m, q).matched == 0);
    }
}

TEST_CASE("membership: a row whose cgroup is not in the journal still names the pod", "[reconstruct][pods]") {
    // A damaged journal: the cgroups rows are gone. The pod comes from the
    // membership row itself; only its container is unknown.
    FixtureJournal fx = moved_fixture();
    TempDir dir;
    fx.write(dir / "j.db");
    {
        auto db = lineage::Database::open_write(dir / "j.db");
        REQUIRE(db.ok());
        REQUIRE(db->exec("DELETE FROM cgroups").ok());
    }
    RunResult r =
        run_lineage({"reconstruct", "--journal", "j.db", "--pod", "web-7f9c", "--format", "json"}, dir.path());
    INFO(r.err);
    CHECK(r.status == 0);
    const auto nodes = nodes_of(json::parse(r.out));
    const json* miner = with_pid(nodes, 5001);
    REQUIRE(miner);
    CHECK(miner->at("pod").at("uid") == kPodUid);
    CHECK(miner->at("pod").at("container_id") == "");
}

TEST_CASE("a pruned journal: a cgroup named in a deleted batch still names the container of later rows",
          "[reconstruct][pods][retention]") {
    // A run names each cgroup once; retention keeps that cgroups row when
    // it deletes its batch, and the run's later rows still refer to it.
    FixtureJournal fx = fork_only_fixture();
    TempDir dir;
    fx.write(dir / "j.db");
    const std::vector<std::string> query{"reconstruct", "--journal", "j.db", "--pod",    "web-7f9c", "--since",
                                         kSince,        "--until",   kUntil, "--format", "json"};
    RunResult before = run_lineage(query, dir.path());
    REQUIRE(before.status == 0);
    const auto nodes_before = nodes_of(json::parse(before.out));
    const json* worker_before = with_pid(nodes_before, 4113);
    REQUIRE(worker_before);
    const std::string container = worker_before->at("pod").at("container_id");
    CHECK_FALSE(container.empty());
    int64_t named_in = 0;
    {
        auto db = lineage::Database::open_write(dir / "j.db");
        REQUIRE(db.ok());
        auto first = db->prepare("SELECT min(batch) FROM cgroups");
        REQUIRE(first.ok());
        REQUIRE(first->step() == SQLITE_ROW);
        named_in = first->int64(0);
        // The worker's fork comes after the batch that named its cgroup.
        auto later = db->prepare("SELECT count(*) FROM memberships WHERE batch > ?1 AND tgid = 4113");
        REQUIRE(later.ok());
        later->bind(1, named_in);
        REQUIRE(later->step() == SQLITE_ROW);
        REQUIRE(later->int64(0) == 1);
    }
    {
        auto w = lineage::JournalWriter::open(dir / "j.db");
        REQUIRE(w.ok());
        auto pruned = w->prune_through(named_in, "max-size", static_cast<int64_t>(at(1300)));
        INFO((pruned.ok() ? std::string() : pruned.error().message));
        REQUIRE(pruned.ok());
    }
    RunResult after = run_lineage(query, dir.path());
    INFO(after.err);
    CHECK(after.status == 0);
    const json doc = json::parse(after.out, nullptr, false);
    REQUIRE(doc.is_object());
    const auto nodes = nodes_of(doc);
    const json* worker = with_pid(nodes, 4113);
    REQUIRE(worker);
    CHECK(worker->at("pod").at("uid") == kPodUid);
    CHECK(worker->at("pod").at("container_id") == container);
    // The whole journal too (every cgroups row read at once).
    RunResult all = run_lineage({"reconstruct", "--journal", "j.db", "--since", kSince, "--until", kUntil}, dir.path());
    INFO(all.err);
    CHECK(all.status == 0);
}

TEST_CASE("a parent cycle in a damaged journal: every process is shown, with a warning", "[reconstruct][pods]") {
    // 7001 forked 7002 and 7002 forked 7001: impossible, but a journal can say it.
    FixtureJournal fx;
    const std::string pod = cgroupfs_path(kContainer);
    fx.pod(kPodUid, "web-7f9c", "shop", "log-dir");
    Proc a = FixtureJournal::proc(7001, at(1000, 0));
    Proc b = FixtureJournal::proc(7002, at(1001, 0));
    fx.exec(a, "/bin/sh", {"sh"}, at(1000, 1'000'000), pod, "web-7f9c");
    fx.exec(b, "/bin/sh", {"sh"}, at(1001, 1'000'000), pod, "web-7f9c");
    fx.fork(a, b, at(1001, 0));
    fx.fork(b, a, at(1000, 0));
    lineage::Model m = fx.build_model();
    lineage::Query q;
    q.pod = "web-7f9c";
    lineage::Report r = lineage::build_report(m, q);
    CHECK(r.matched == 2);
    size_t shown = 0;
    for (const auto& t : r.trees) shown += t.nodes.size();
    CHECK(shown == 2);
    const bool warned = std::any_of(r.warnings.begin(), r.warnings.end(), [](const lineage::Warning& w) {
        return w.kind == lineage::WarningKind::parent_cycle && w.message.find("loops") != std::string::npos;
    });
    CHECK(warned);
}

}  // namespace test_whole_pods
