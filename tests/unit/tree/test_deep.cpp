// Deep chains: a fork chain as deep as an attacker likes, with a payload at
// the bottom that connects somewhere. Nothing may be cut: every process is
// in the JSON (joined across tree entries by continues_from) or counted in a
// text fold line, the payload shows with its connect and its true depth,
// and the output grows linearly with the chain.
//
// Chains of 10, 4,097 (one past the old cut at depth 4,096), 4,200 and
// 100,000 generations, built through FixtureJournal and the real Model, and
// selected by --descendants-of, --binary and --pod. Goldens: a folded chain,
// a chain broken by one process worth seeing, the indentation's restart,
// and the JSON continuation.
//
// These tests check sizes and correctness, never time: the figures for a
// 100,000-generation chain through the real binary are bench/run's `deep`
// section.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
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
#include "test_files.h"

namespace test_deep {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kDeepPodUid = "3b8e1f0a-6c2d-4e9f-8a7b-5d4c3b2a1f0e";
const std::string kDeepPodName = "deep-5c7f9-q8r2t";
const std::string kDeepNamespace = "staging";
const std::string kDeepContainer = "8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e";
const std::string kPayloadBinary = "/usr/bin/curl";
const std::string kPayloadUrl = "http://127.0.0.1:4444/stage2";
constexpr uint32_t kRootPid = 10000;

// systemd (1) -> sh (900, on the host) -> deep (10000, exec'd in a pod)
//   -> [fork of deep] -> [fork of deep] -> ... (fork only, `generations`
//   processes with the
//   first) -> curl (exec'd, connects to 127.0.0.1:4444, exits 0).
// Each process forks its child and waits, so they exit bottom up. `odd`
// makes the chain process of that index (0 is deep itself) exit 1.
//
// Every generation is in deep's pod from its fork (a memberships row), so
// --pod selects the chain that only forks too. With `exec_each`, every
// generation also execs `deep --child`: the chain --pod selects in
// deep_chain_for, so that the pod is found through the execs as well.
struct DeepChain {
    FixtureJournal fx;
    uint32_t generations = 0;
    Proc sh, root, payload;
    std::vector<Proc> chain;
};

DeepChain deep_chain(uint32_t generations, std::optional<uint32_t> odd = std::nullopt, bool exec_each = false) {
    DeepChain d;
    d.generations = generations;
    FixtureJournal& fx = d.fx;
    const std::string pod_cg = pod_cgroup(kDeepPodUid, kDeepContainer);
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    d.sh = fx.snapshot(900, 1, at(930, 0), "sh", "/bin/sh", {"sh"}, "/system.slice/ssh.service");
    (void)init;
    fx.pod(kDeepPodUid, kDeepPodName, kDeepNamespace);

    const uint64_t t0 = at(1000, 100'000'000);
    constexpr uint64_t kStep = 500'000;  // 0.5 ms between generations
    d.root = FixtureJournal::proc(kRootPid, t0);
    fx.fork(d.sh, d.root, t0);
    fx.exec(d.root, "/usr/local/bin/deep", {"deep", std::to_string(generations)}, t0 + 100'000, pod_cg, kDeepPodName,
            1);
    d.chain.push_back(d.root);
    for (uint32_t i = 1; i < generations; ++i) {
        Proc p = FixtureJournal::proc(kRootPid + i, t0 + i * kStep);
        fx.fork(d.chain.back(), p, t0 + i * kStep);
        if (exec_each) fx.exec(p, "/usr/local/bin/deep", {"deep", "--child"}, t0 + i * kStep + 100'000);
        d.chain.push_back(p);
    }
    const uint64_t tp = t0 + generations * kStep;
    d.payload = FixtureJournal::proc(kRootPid + generations, tp);
    fx.fork(d.chain.back(), d.payload, tp);
    fx.exec(d.payload, kPayloadBinary, {"curl", "-s", kPayloadUrl}, tp + 200'000);
    fx.connect(d.payload, "127.0.0.1", 4444, tp + 300'000);
    fx.exit(d.payload, tp + 400'000, 0);
    // Bottom up, 0.1 ms apart.
    const uint64_t te = at(1100);
    for (uint32_t i = generations; i-- > 0;) {
        fx.exit(d.chain[i], te + (generations - i) * 100'000, odd && *odd == i ? 1 : 0);
    }
    return d;
}

enum class Selector { descendants_of, binary, pod };

DeepChain deep_chain_for(Selector s, uint32_t generations) {
    return deep_chain(generations, std::nullopt, s == Selector::pod);
}

// How a fold line names the chain's processes.
std::string chain_image(Selector s) {
    return s == Selector::pod ? "deep --child" : "[fork of deep]";
}

const char* selector_name(Selector s) {
    switch (s) {
        case Selector::descendants_of:
            return "--descendants-of";
        case Selector::binary:
            return "--binary";
        case Selector::pod:
            return "--pod";
    }
    return "?";
}

lineage::Query query_for(Selector s) {
    lineage::Query q;
    q.since_wall_ns = kWall0;
    q.until_wall_ns = kWall0 + 300LL * 1'000'000'000;
    switch (s) {
        case Selector::descendants_of:
            q.descendants_of = kRootPid;
            break;
        case Selector::binary:
            q.binary_glob = "curl";
            break;
        case Selector::pod:
            q.pod = kDeepNamespace + "/" + kDeepPodName;
            break;
    }
    return q;
}

std::vector<std::string> cli_args_for(Selector s) {
    switch (s) {
        case Selector::descendants_of:
            return {"--descendants-of", std::to_string(kRootPid)};
        case Selector::binary:
            return {"--binary", "curl"};
        case Selector::pod:
            return {"--pod", kDeepNamespace + "/" + kDeepPodName};
    }
    return {};
}

// Where the payload sits: with a pod selected the tree starts at deep
// (sh is outside the pod); otherwise at systemd, two generations higher.
uint32_t payload_depth(const DeepChain& d, Selector s) {
    return s == Selector::pod ? d.generations : d.generations + 2;
}
size_t shown_processes(const DeepChain& d, Selector s) {
    return s == Selector::pod ? d.generations + 1 : d.generations + 3;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Counts the processes a text tree accounts for: one per process line
// ("(PID n"), and N per fold line ("⋮ N generations").
size_t processes_in_text(const std::string& text) {
    static const std::regex fold(R"((⋮|:) ([0-9,]+) generations of )");
    size_t n = 0;
    for (const auto& line : lines_of(text)) {
        std::smatch m;
        if (line.find(" generations of ") != std::string::npos && std::regex_search(line, m, fold)) {
            std::string digits = m[2].str();
            digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
            n += std::stoul(digits);
        } else if (line.find("  (PID ") != std::string::npos) {
            ++n;
        }
    }
    return n;
}

// The depth the text gives a process line: its [depth N] mark, or else its
// indentation (the root is 0, every level is 6 columns after the first 2).
std::optional<uint32_t> text_depth(const std::string& line) {
    static const std::regex mark(R"(\[depth ([0-9,]+)\])");
    std::smatch m;
    if (line.find("[depth ") != std::string::npos && std::regex_search(line, m, mark)) {
        std::string digits = m[1].str();
        digits.erase(std::remove(digits.begin(), digits.end(), ','), digits.end());
        return static_cast<uint32_t>(std::stoul(digits));
    }
    // Columns, not bytes: box-drawing characters are 3 bytes of UTF-8.
    size_t columns = 0, i = 0;
    while (i < line.size()) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == ' ' || c == '|' || c == '`' || c == '-') {
            ++columns;
            ++i;
        } else if (line.compare(i, 3, "│") == 0 || line.compare(i, 3, "├") == 0 || line.compare(i, 3, "└") == 0 ||
                   line.compare(i, 3, "─") == 0) {
            ++columns;
            i += 3;
        } else {
            break;
        }
    }
    if (columns == 0) return 0u;
    if (columns < 6) return std::nullopt;
    return static_cast<uint32_t>((columns - 6) / 6 + 1);
}

// The payload's line and the line after it (its connect).
void check_payload_in_text(const std::string& text, uint32_t depth) {
    auto lines = lines_of(text);
    size_t at = lines.size();
    for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].find("curl -s " + kPayloadUrl) != std::string::npos) {
            INFO("a second payload line: " << lines[i]);
            REQUIRE(at == lines.size());
            at = i;
        }
    }
    INFO("no payload line in:\n" << text.substr(0, 6000));
    REQUIRE(at < lines.size());
    INFO("payload line: " << lines[at]);
    CHECK(text_depth(lines[at]) == depth);
    REQUIRE(at + 1 < lines.size());
    CHECK(lines[at + 1].find("→ connect 127.0.0.1:4444") != std::string::npos);
}

// Brackets open at once, outside strings: what a recursive parser must hold.
size_t json_nesting(const std::string& text) {
    size_t depth = 0, most = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            most = std::max(most, ++depth);
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return most;
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

// A parsed document's processes joined across tree entries: each key's
// depth in its whole tree, and the node.
struct Joined {
    std::map<std::string, uint32_t> depth;
    std::map<std::string, const json*> node;
    size_t entries = 0, continued = 0;
};

Joined join_trees(const json& doc) {
    Joined j;
    for (const auto& entry : doc.at("trees")) {
        ++j.entries;
        uint32_t base = 0;
        if (entry.contains("continues_from")) {
            ++j.continued;
            const std::string parent = entry.at("continues_from").get<std::string>();
            INFO("continues_from " << parent << " names no node written before it");
            REQUIRE(j.depth.count(parent));
            // The parent said its children continue elsewhere.
            REQUIRE(j.node[parent]->contains("children_continued"));
            base = entry.at("depth").get<uint32_t>();
            CHECK(base == j.depth[parent] + 1);
            CHECK(entry.at("outside_parent").is_null());
        }
        std::vector<std::pair<const json*, uint32_t>> todo{{&entry, base}};
        while (!todo.empty()) {
            auto [n, d] = todo.back();
            todo.pop_back();
            const std::string key = n->at("key").get<std::string>();
            INFO("key " << key << " written twice");
            REQUIRE(j.depth.emplace(key, d).second);
            j.node[key] = n;
            for (const auto& c : n->at("children")) todo.push_back({&c, d + 1});
        }
    }
    return j;
}

std::string key_of(const DeepChain& d, Proc p) {
    return d.fx.run().boot_id + ":" + std::to_string(p.tgid) + ":" + std::to_string(p.start_ns / 10'000'000);
}

struct Rendered {
    lineage::Report report;
    std::string text, text_no_fold, json;
};

Rendered render_all(const lineage::Model& model, Selector s) {
    Rendered r;
    r.report = lineage::build_report(model, query_for(s));
    lineage::TextOptions options;
    r.text = lineage::TextRenderer(options).render(model, r.report);
    options.fold.fold = false;
    r.text_no_fold = lineage::TextRenderer(options).render(model, r.report);
    r.json = lineage::JsonRenderer().render(model, r.report);
    return r;
}

size_t longest_line(const std::string& text) {
    size_t most = 0;
    for (const auto& l : lines_of(text)) most = std::max(most, l.size());
    return most;
}

// Every check that holds for a chain of any depth, on the renderers'
// output for one selector. Returns the figures the caller compares across
// depths.
struct Sizes {
    size_t text = 0, text_no_fold = 0, json = 0, longest_no_fold = 0;
};

Sizes check_chain(const DeepChain& d, const lineage::Model& model, Selector s, bool parse_json) {
    INFO(d.generations << " generations, " << selector_name(s));
    Rendered r = render_all(model, s);
    const uint32_t depth = payload_depth(d, s);
    const size_t shown = shown_processes(d, s);

    // The report: one tree, every process in it, the payload at its depth.
    REQUIRE(r.report.trees.size() == 1);
    const lineage::Tree& tree = r.report.trees[0];
    CHECK(tree.nodes.size() == shown);
    CHECK(tree.depth == depth);
    const lineage::TreeNode* payload = nullptr;
    for (const auto& n : tree.nodes) {
        if (n.process->tgid == d.payload.tgid) payload = &n;
    }
    REQUIRE(payload);
    CHECK(payload->depth == depth);
    CHECK(payload->matched);
    REQUIRE(payload->process->connects.size() == 1);
    const bool deep = depth > lineage::kTextIndentLevels;
    CHECK((r.text.find("warning: the tree of ") != std::string::npos) == deep);
    if (s == Selector::pod) {
        // One attribution for the whole container, shared by every node;
        // how each process came to be in the pod is its own: deep by its
        // exec, every other one by its fork.
        REQUIRE(tree.root().pod);
        size_t shared = 0, by_fork = 0;
        for (const auto& n : tree.nodes) {
            shared += n.pod == tree.root().pod;
            by_fork += n.entered == lineage::PodEntryKind::fork;
        }
        CHECK(shared == shown);
        CHECK(tree.root().entered == lineage::PodEntryKind::exec);
        CHECK(by_fork == shown - 1);
    }

    // Text: the payload with its connect and its depth; every process on a
    // line of its own or counted in a fold line; folded, a few lines.
    check_payload_in_text(r.text, depth);
    CHECK(processes_in_text(r.text) == shown);
    check_payload_in_text(r.text_no_fold, depth);
    CHECK(processes_in_text(r.text_no_fold) == shown);
    CHECK(count_of(r.text_no_fold, "  (PID ") == shown);
    CHECK(lines_of(r.text).size() < 20);
    // No line grows with the depth: at most 64 levels of indentation.
    CHECK(longest_line(r.text_no_fold) < 1024);

    // JSON: every process once, the payload and its connect, nesting that
    // Python's json module loads (about 1,000 levels), entries of at most
    // 256 generations.
    CHECK(count_of(r.json, "\"key\": \"" + key_of(d, d.payload) + "\"") +
              count_of(r.json, "\"key\":\"" + key_of(d, d.payload) + "\"") ==
          1);
    CHECK(count_of(r.json, "\"daddr\": \"127.0.0.1\"") + count_of(r.json, "\"daddr\":\"127.0.0.1\"") == 1);
    const size_t entries = (depth + lineage::kJsonTreeDepth) / lineage::kJsonTreeDepth;
    CHECK(count_of(r.json, "\"continues_from\"") == entries - 1);
    CHECK(json_nesting(r.json) <= 2 * lineage::kJsonTreeDepth + 8);
    if (parse_json) {
        json doc = json::parse(r.json);
        CHECK(doc.at("matched") == r.report.matched);
        Joined j = join_trees(doc);
        CHECK(j.entries == entries);
        CHECK(j.depth.size() == shown);
        for (const auto& p : d.chain) CHECK(j.depth.count(key_of(d, p)) == 1);
        const std::string pk = key_of(d, d.payload);
        REQUIRE(j.depth.count(pk));
        CHECK(j.depth[pk] == depth);
        CHECK(j.node[pk]->at("connects").size() == 1);
        CHECK(j.node[pk]->at("connects")[0].at("dport") == 4444);
        CHECK(j.node[pk]->at("matched") == true);
    }
    return Sizes{r.text.size(), r.text_no_fold.size(), r.json.size(), longest_line(r.text_no_fold)};
}

}  // namespace

TEST_CASE("deep chains: every generation is there, the payload at its true depth", "[reconstruct][deep]") {
    const Selector selectors[] = {Selector::descendants_of, Selector::binary, Selector::pod};
    std::map<uint32_t, Sizes> sizes;
    for (uint32_t generations : {10u, 4097u, 4200u}) {
        for (Selector s : selectors) {
            DeepChain d = deep_chain_for(s, generations);
            lineage::Model model = d.fx.build_model();
            Sizes got = check_chain(d, model, s, /*parse_json=*/true);
            if (s == Selector::descendants_of) sizes[generations] = got;
        }
        // --pod on the chain that only forks: each generation is in the pod
        // from its fork, and the fold line names what it runs.
        DeepChain d = deep_chain(generations);
        lineage::Model model = d.fx.build_model();
        check_chain(d, model, Selector::pod, /*parse_json=*/true);
    }
    // Linear: the same bytes per generation at 4,097 and 4,200 as the chain
    // grows, the folded text the same size whatever the depth.
    const double json_a = double(sizes[4097].json) / 4097, json_b = double(sizes[4200].json) / 4200;
    CHECK(json_b < json_a * 1.05);
    CHECK(json_b < 1200);
    const double text_a = double(sizes[4097].text_no_fold) / 4097, text_b = double(sizes[4200].text_no_fold) / 4200;
    CHECK(text_b < text_a * 1.05);
    CHECK(sizes[4200].text < sizes[4097].text + 16);  // the digits of a few numbers
    CHECK(sizes[4200].text < 2048);
    CHECK(sizes[4200].longest_no_fold == sizes[4097].longest_no_fold);
}

// 100,000 generations, the issue's size. Under AddressSanitizer (the
// second build of scripts/test.sh) 20,000: still five times the old cut at
// 4,096 and as deep for the sanitizer's purpose, while 100,000 there would
// take minutes, most of them in the sanitizer's bookkeeping of JSON objects.
constexpr uint32_t kLongChain = lineage::test::kLineageSanitized ? 20'000 : 100'000;

TEST_CASE("a chain of 100,000 generations: linear output, nothing left out", "[reconstruct][deep]") {
    constexpr uint32_t kGenerations = kLongChain;
    std::map<int, Sizes> sizes;
    {
        DeepChain d = deep_chain(kGenerations);
        lineage::Model model = d.fx.build_model();
        for (Selector s : {Selector::descendants_of, Selector::binary, Selector::pod}) {
            sizes[int(s)] = check_chain(d, model, s, /*parse_json=*/false);
        }
    }
    {
        // --pod again, on a chain that execs at every generation.
        DeepChain d = deep_chain_for(Selector::pod, kGenerations);
        lineage::Model model = d.fx.build_model();
        check_chain(d, model, Selector::pod, /*parse_json=*/false);
    }
    const Sizes& got = sizes[int(Selector::descendants_of)];
    // Within the issue's bound of 100 MB, and per generation no more than a
    // 4,200-deep chain needs (see the test above).
    CHECK(got.json < 100'000'000);
    CHECK(got.json / kGenerations < 1200);
    CHECK(got.text_no_fold / kGenerations < 700);
    CHECK(got.text < 4096);
}

TEST_CASE("folding never hides what is worth seeing", "[reconstruct][deep]") {
    // Generation 30 of 60 exits 1: it breaks the run, and shows at its depth.
    DeepChain d = deep_chain(60, 30);
    lineage::Model model = d.fx.build_model();
    Rendered r = render_all(model, Selector::descendants_of);
    auto lines = lines_of(r.text);
    size_t folds = 0;
    bool odd_seen = false;
    for (const auto& line : lines) {
        if (line.find("generations of [fork of deep]") != std::string::npos) ++folds;
        if (line.find("(PID " + std::to_string(kRootPid + 30) + ")") != std::string::npos) {
            odd_seen = true;
            CHECK(line.find("exit 1") != std::string::npos);
            CHECK(text_depth(line) == 32u);
        }
    }
    CHECK(folds == 2);
    CHECK(odd_seen);
    CHECK(processes_in_text(r.text) == 63);

    SECTION("a direct match is never folded") {
        lineage::Query q = query_for(Selector::descendants_of);
        q.pid = kRootPid + 20;  // with --descendants-of: only this one matches
        lineage::Report report = lineage::build_report(model, q);
        std::string text = lineage::TextRenderer(lineage::TextOptions{}).render(model, report);
        CHECK(text.find("(PID " + std::to_string(kRootPid + 20) + ")") != std::string::npos);
        CHECK(processes_in_text(text) == 20 + 3);  // systemd, sh, the chain down to it
    }
    SECTION("--no-fold: one line per process") {
        CHECK(count_of(r.text_no_fold, "  (PID ") == 63);
        CHECK(r.text_no_fold.find("generations of") == std::string::npos);
    }
    SECTION("a chain shorter than 8 generations never folds") {
        DeepChain small = deep_chain(7);
        lineage::Model m = small.fx.build_model();
        Rendered s = render_all(m, Selector::descendants_of);
        CHECK(s.text == s.text_no_fold);
    }
}

TEST_CASE("folding keeps what the pod marks: a container's first process, a process moved into the pod",
          "[reconstruct][deep][pods]") {
    // A link of a chain by every other rule: same pod as its parent, no
    // connect, exit 0.
    lineage::Process parent_proc, proc;
    proc.exit = lineage::ExitInfo{};
    auto pod = std::make_shared<const lineage::PodAttribution>(
        lineage::PodAttribution{kDeepPodName, kDeepNamespace, kDeepPodUid, kDeepContainer});
    lineage::TreeNode parent, node;
    parent.process = &parent_proc;
    parent.pod = pod;
    node.process = &proc;
    node.pod = pod;
    node.entered = lineage::PodEntryKind::fork;
    CHECK_FALSE(lineage::worth_seeing(node, &parent));
    node.container_init = true;
    CHECK(lineage::worth_seeing(node, &parent));
    node.container_init = false;
    node.entered = lineage::PodEntryKind::move;
    CHECK(lineage::worth_seeing(node, &parent));
}

TEST_CASE("a fold line at the indentation's limit: what follows starts again from the left", "[reconstruct][deep]") {
    // Generations 1-61 connect (worth seeing, depths 3-63), so the run of
    // generations 62-99 starts at depth 64, the last indented level.
    DeepChain d = deep_chain(100);
    for (uint32_t i = 1; i <= 61; ++i) d.fx.connect(d.chain[i], "10.0.0.9", 80, d.chain[i].start_ns + 50'000);
    lineage::Model model = d.fx.build_model();
    Rendered r = render_all(model, Selector::descendants_of);
    INFO(r.text);
    CHECK(r.text.find("⋮ 38 generations of [fork of deep] (PIDs 10062–10099, ") != std::string::npos);
    CHECK(r.text.find("\n↳ depth 102 onwards, below PID 10099:\n") != std::string::npos);
    check_payload_in_text(r.text, 102);
    CHECK(processes_in_text(r.text) == 103);
    CHECK(count_of(r.text, "→ connect 10.0.0.9:80") == 61);
    CHECK(longest_line(r.text) < 1024);
}

TEST_CASE("a parent chain that loops is shown, cut where it loops, with a warning", "[reconstruct][deep]") {
    // Only an edited journal can say that A forked B and B forked A.
    FixtureJournal fx;
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc a = FixtureJournal::proc(7001, at(1001, 0));
    Proc b = FixtureJournal::proc(7002, at(1002, 0));
    Proc c = FixtureJournal::proc(7003, at(1003, 0));
    fx.fork(b, a, at(1001, 0));
    fx.fork(a, b, at(1002, 0));
    fx.fork(b, c, at(1003, 0));
    fx.exec(c, "/usr/bin/curl", {"curl", kPayloadUrl}, at(1003, 1'000'000));
    fx.connect(c, "127.0.0.1", 4444, at(1003, 2'000'000));
    lineage::Model model = fx.build_model();

    for (const auto& [name, q] : std::vector<std::pair<std::string, lineage::Query>>{
             {"everything", query_for(Selector::binary)}, {"--descendants-of", [] {
                                                               lineage::Query q = query_for(Selector::descendants_of);
                                                               q.descendants_of = 7001;
                                                               return q;
                                                           }()}}) {
        INFO(name);
        lineage::Query query = q;
        if (name == "everything") query.binary_glob.reset();
        lineage::Report report = lineage::build_report(model, query);
        std::set<uint32_t> shown;
        for (const auto& t : report.trees)
            for (const auto& n : t.nodes) shown.insert(n.process->tgid);
        CHECK(shown.count(7001));
        CHECK(shown.count(7002));
        CHECK(shown.count(7003));
        size_t cycles = 0;
        for (const auto& w : report.warnings) cycles += w.kind == lineage::WarningKind::parent_cycle;
        CHECK(cycles == 1);
        std::string text = lineage::TextRenderer(lineage::TextOptions{}).render(model, report);
        CHECK(text.find("warning: the parent chain of ") != std::string::npos);
        CHECK(text.find("→ connect 127.0.0.1:4444") != std::string::npos);
        json doc = json::parse(lineage::JsonRenderer().render(model, report));
        CHECK(join_trees(doc).depth.size() == shown.size());
    }
}

// ---------------------------------------------------------------- goldens

namespace {

struct DeepCase {
    TempDir dir;
    DeepCase(const DeepChain& d, const std::string& name) { d.fx.write(dir / name); }

    RunResult run(const std::string& journal, std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal",    journal,   "--since", kIncidentSince,
                                   "--until",     kIncidentUntil, "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

}  // namespace

TEST_CASE("deep chain goldens: folded, broken by one process, restarted indentation, JSON continued",
          "[reconstruct][deep]") {
    SECTION("a folded chain") {
        DeepChain d = deep_chain(40);
        DeepCase c(d, "deep.db");
        RunResult r = c.run("deep.db", {"--descendants-of", std::to_string(kRootPid)});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("deep_chain_folded.txt", r.out) == "");
        CHECK(r.out.find("⋮ 39 generations of [fork of deep] (PIDs 10001–10039, ") != std::string::npos);
        check_payload_in_text(r.out, 42);
        RunResult ascii = c.run("deep.db", {"--descendants-of", std::to_string(kRootPid), "--ascii"});
        CHECK(ascii.out.find(": 39 generations of [fork of deep] (PIDs 10001-10039, ") != std::string::npos);
        for (unsigned char ch : ascii.out) {
            INFO("--ascii output has a non-ASCII byte");
            REQUIRE(ch < 0x80);
        }
    }
    SECTION("a chain broken by one process worth seeing") {
        DeepChain d = deep_chain(40, 20);
        DeepCase c(d, "deep.db");
        RunResult r = c.run("deep.db", {"--binary", "curl"});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("deep_chain_broken.txt", r.out) == "");
        CHECK(r.out.find("[fork of deep]  (PID 10020)") != std::string::npos);
        check_payload_in_text(r.out, 42);
    }
    SECTION("--no-fold past 64 levels: the indentation starts again, with the depth") {
        DeepChain d = deep_chain_for(Selector::pod, 70);
        DeepCase c(d, "deep.db");
        RunResult r = c.run("deep.db", {"--pod", kDeepPodName, "--no-fold"});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("deep_chain_no_fold.txt", r.out) == "");
        CHECK(r.out.find("↳ depth 65 onwards, below PID 10064:") != std::string::npos);
        CHECK(r.err.find("lineage: warning: the tree of deep (PID 10000) reaches depth 70") != std::string::npos);
        check_payload_in_text(r.out, 70);
    }
    SECTION("JSON past 256 generations: tree entries joined by continues_from") {
        DeepChain d = deep_chain(256);
        DeepCase c(d, "deep.db");
        RunResult r = c.run("deep.db", {"--descendants-of", std::to_string(kRootPid), "--format", "json"});
        CHECK(r.status == 0);
        CHECK(golden_mismatch("deep_chain_continued.json", r.out) == "");
        json doc = json::parse(r.out);
        REQUIRE(doc.at("trees").size() == 2);
        // systemd, sh, then deep at depth 2: chain[254] is the first at 256.
        const json& second = doc.at("trees")[1];
        CHECK(second.at("continues_from") == key_of(d, d.chain[253]));
        CHECK(second.at("depth") == 256);
        CHECK(second.at("pid") == kRootPid + 254);
        Joined j = join_trees(doc);
        CHECK(j.depth.size() == 259);
        CHECK(j.depth[key_of(d, d.payload)] == 258);
        // Python's json module (recursion limit 1,000) loads it.
        write_file(c.dir / "deep.json", r.out);
        RunResult py = run_process(
            {"/usr/bin/python3", "-c", "import json, sys; d = json.load(open(sys.argv[1])); print(len(d['trees']))",
             c.dir / "deep.json"},
            "/");
        INFO(py.err);
        CHECK(py.status == 0);
        CHECK(py.out == "2\n");
    }
}

TEST_CASE("a 4,200-deep chain through the binary: Python loads the JSON, the text folds", "[reconstruct][deep]") {
    for (Selector s : {Selector::descendants_of, Selector::binary, Selector::pod}) {
        INFO(selector_name(s));
        DeepChain d = deep_chain_for(s, 4200);
        DeepCase c(d, "deep.db");
        RunResult text = c.run("deep.db", cli_args_for(s));
        CHECK(text.status == 0);
        check_payload_in_text(text.out, payload_depth(d, s));
        CHECK(processes_in_text(text.out) == shown_processes(d, s));
        CHECK(text.out.find("⋮ 4,199 generations of " + chain_image(s) + " (PIDs 10001–14199, ") != std::string::npos);
        CHECK(text.err.find("lineage: warning: the tree of ") != std::string::npos);
        std::vector<std::string> args = cli_args_for(s);
        args.insert(args.end(), {"--format", "json"});
        RunResult j = c.run("deep.db", args);
        CHECK(j.status == 0);
        write_file(c.dir / "deep.json", j.out);
        RunResult py = run_process(
            {"/usr/bin/python3", "-c", "import json, sys; d = json.load(open(sys.argv[1])); print(len(d['trees']))",
             c.dir / "deep.json"},
            "/");
        INFO(py.err.substr(0, 2000));
        CHECK(py.status == 0);
        // Depths 0 to the payload's, in entries of 256 generations.
        CHECK(py.out == std::to_string(payload_depth(d, s) / lineage::kJsonTreeDepth + 1) + "\n");
    }
}

}  // namespace test_deep
