// End to end, issue 25's attack with real processes: a fork chain 1,000
// generations deep (tests/e2e/deep_chain.c), each process forking one
// child and waiting, and at the bottom an exec that connects to a loopback
// listener. `lineage record` records it; `lineage reconstruct` must fold the
// chain into one line and show the payload, its connect and its true depth
// (the old tree stopped at depth 4,096 without a word), and its JSON must
// hold every process and load in Python.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace test_deep_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kDepth = 1000;

RunResult reconstruct(const std::vector<std::string>& args) {
    std::vector<std::string> argv{lineage_bin(), "reconstruct"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, {}, 60s);
}

std::string describe(const RunResult& r) {
    auto cut = [](const std::string& s) { return s.size() <= 6000 ? s : s.substr(0, 6000) + "\n[...]"; };
    return (r.timed_out ? "TIMED OUT, " : "") + describe_status(r.status) + "\n--- stderr:\n" + cut(r.err) +
           "\n--- stdout:\n" + cut(r.out);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

size_t number_at(const std::string& s, size_t at) {
    size_t n = 0;
    for (; at < s.size() && (std::isdigit(static_cast<unsigned char>(s[at])) || s[at] == ','); ++at) {
        if (s[at] != ',') n = n * 10 + static_cast<size_t>(s[at] - '0');
    }
    return n;
}

// The depth a text line gives its process: its "[depth N]" mark, or else its
// indentation (6 columns a level; box-drawing characters are one column).
size_t line_depth(const std::string& line) {
    if (auto at = line.find("[depth "); at != std::string::npos) return number_at(line, at + 7);
    size_t columns = 0;
    for (size_t i = 0; i < line.size();) {
        if (line[i] == ' ') {
            ++columns;
            ++i;
        } else if (line.compare(i, 3, "└") == 0 || line.compare(i, 3, "├") == 0 || line.compare(i, 3, "│") == 0 ||
                   line.compare(i, 3, "─") == 0) {
            ++columns;
            i += 3;
        } else {
            break;
        }
    }
    return columns / 6;
}

}  // namespace

TEST_CASE("a fork chain 1,000 deep: folded into one line, the payload and its connect at their depth", "[deep-e2e]") {
    TempDir dir;
    const std::string journal = dir / "journal.db";
    Listener listener("127.0.0.1");
    const std::string port = std::to_string(listener.port());

    auto rec = start_record(journal);
    auto run = run_argv({LINEAGE_DEEP_CHAIN_BIN, std::to_string(kDepth), "127.0.0.1", port}, {}, 120s);
    rec->stop();
    INFO("deep_chain:\n" << describe(run));
    REQUIRE(!run.timed_out);
    REQUIRE(run.exit_code == 0);
    auto facts = parse_facts(run.out);
    const int64_t root = fact_int(facts, "root");
    const int64_t payload = fact_int(facts, "payload");
    const std::string root_tag = "(PID " + std::to_string(root) + ")";
    // The chain's processes never exec: each shows as [fork of NAME], the
    // helper's file name, which is also their comm (15 bytes at most).
    std::string comm = LINEAGE_DEEP_CHAIN_BIN;
    comm = comm.substr(comm.rfind('/') + 1).substr(0, 15);
    const std::string payload_tag = "(PID " + std::to_string(payload) + ")";

    // ---- text: a handful of lines, the chain in one of them --------------
    auto text = reconstruct({"--journal", journal, "--descendants-of", std::to_string(root), "--color", "never"});
    INFO("reconstruct --descendants-of " << root << "\n" << describe(text));
    REQUIRE(text.exit_code == 0);
    auto lines = lines_of(text.out);
    CHECK(lines.size() < 60);
    std::optional<size_t> root_depth, payload_at;
    size_t folds = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (l.find(root_tag) != std::string::npos) root_depth = line_depth(l);
        if (l.find(" generations of [fork of " + comm + "] (PIDs ") != std::string::npos) {
            ++folds;
            // Every process between the root and the payload.
            CHECK(l.find("⋮ " + std::to_string(kDepth - 1) + " generations") != std::string::npos);
            CHECK(l.find("all exit 0") != std::string::npos);
        }
        if (l.find(payload_tag) != std::string::npos) payload_at = i;
    }
    CHECK(folds == 1);
    REQUIRE(root_depth);
    REQUIRE(payload_at);
    const std::string& payload_line = lines[*payload_at];
    INFO("payload line: " << payload_line);
    CHECK(payload_line.find(" --connect 127.0.0.1 " + port) != std::string::npos);
    CHECK(payload_line.find("exit 0") != std::string::npos);
    CHECK(line_depth(payload_line) == *root_depth + kDepth);
    REQUIRE(*payload_at + 1 < lines.size());
    CHECK(lines[*payload_at + 1].find("→ connect 127.0.0.1:" + port) != std::string::npos);
    CHECK(text.err.find("lineage: warning: the tree of ") != std::string::npos);

    // ---- JSON: every process, joined across tree entries ------------------
    auto out = reconstruct({"--journal", journal, "--descendants-of", std::to_string(root), "--format", "json"});
    INFO("reconstruct --format json: " << describe(out).substr(0, 3000));
    REQUIRE(out.exit_code == 0);
    json doc = json::parse(out.out);
    CHECK(doc.at("matched") == kDepth + 1);  // the root, the chain below it, the payload
    std::map<std::string, size_t> depth;
    std::optional<size_t> json_root_depth, json_payload_depth;
    size_t matched = 0;
    for (const auto& entry : doc.at("trees")) {
        size_t base = 0;
        if (entry.contains("continues_from")) {
            REQUIRE(depth.count(entry.at("continues_from").get<std::string>()));
            base = entry.at("depth").get<size_t>();
        }
        std::vector<std::pair<const json*, size_t>> todo{{&entry, base}};
        while (!todo.empty()) {
            auto [n, d] = todo.back();
            todo.pop_back();
            REQUIRE(depth.emplace(n->at("key").get<std::string>(), d).second);
            matched += n->at("matched").get<bool>();
            if (n->at("pid") == root) json_root_depth = d;
            if (n->at("pid") == payload) {
                json_payload_depth = d;
                REQUIRE(n->at("connects").size() == 1);
                CHECK(n->at("connects")[0].at("daddr") == "127.0.0.1");
                CHECK(n->at("connects")[0].at("dport") == listener.port());
            }
            for (const auto& c : n->at("children")) todo.push_back({&c, d + 1});
        }
    }
    CHECK(matched == kDepth + 1);
    REQUIRE(json_root_depth);
    REQUIRE(json_payload_depth);
    CHECK(*json_payload_depth == *json_root_depth + kDepth);
    CHECK(*json_root_depth == *root_depth);

    // Python's json module, recursion limit 1,000, loads it.
    write_file(dir / "deep.json", out.out);
    auto py = run_argv(
        {"/usr/bin/python3", "-c", "import json, sys; json.load(open(sys.argv[1])); print('ok')", dir / "deep.json"},
        {}, 60s);
    INFO("python3 json.load:\n" << describe(py));
    CHECK(py.exit_code == 0);
    CHECK(py.out == "ok\n");
}

}  // namespace test_deep_e2e
