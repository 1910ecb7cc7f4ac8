// lineage import --from tetragon: Tetragon's own samples (testdata/import/
// tetragon, with their sources) into journals, their trees against golden
// files, and bad input.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"

namespace test_import_tetragon {

using namespace fixture;
using nlohmann::json;

namespace {

std::string sample(const std::string& name) {
    return std::string(LINEAGE_SOURCE_DIR) + "/testdata/import/tetragon/" + name;
}

RunResult import(const TempDir& dir, const std::vector<std::string>& files, const std::string& journal = "t.db") {
    std::vector<std::string> args{"import", "--from", "tetragon"};
    for (const auto& f : files) args.push_back(f);
    args.insert(args.end(), {"--journal", journal});
    return run_lineage(args, dir.path());
}

// The tree as text, with the sample's path (which depends on the checkout)
// taken out of the imported warning.
std::string tree_text(const TempDir& dir, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"reconstruct", "--journal", "t.db", "--times"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_lineage(args, dir.path());
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::string out = r.out;
    const std::string prefix = std::string(LINEAGE_SOURCE_DIR) + "/";
    for (size_t at; (at = out.find(prefix)) != std::string::npos;) out.erase(at, prefix.size());
    return out;
}

json tree_json(const TempDir& dir) {
    RunResult r = run_lineage({"reconstruct", "--journal", "t.db", "--format", "json"}, dir.path());
    REQUIRE(r.status == 0);
    return json::parse(r.out);
}

}  // namespace

TEST_CASE("tetragon: an exec chain in one PID is one process with two images", "[import][tetragon]") {
    TempDir dir;
    RunResult r = import(dir, {sample("docs_events_md_exec_chain_process_exec.json")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(golden_mismatch("import_tetragon_exec_chain.txt", tree_text(dir)) == "");
    const json doc = tree_json(dir);
    // bash's parent (52689) is known only by exec_id: the root is the
    // process of pid 52699, bash then curl.
    REQUIRE(doc.at("trees").size() == 1);
    const json& root = doc.at("trees").at(0);
    CHECK(root.at("pid") == 52699);
    REQUIRE(root.at("execs").size() == 2);
    CHECK(root.at("execs").at(0).at("binary") == "/bin/bash");
    CHECK(root.at("execs").at(1).at("binary") == "/usr/bin/curl");
    CHECK(root.at("execs").at(1).at("args") == json({"/usr/bin/curl", "https://ebpf.io/applications/#tetragon"}));
    CHECK(root.at("execs").at(0).at("args") ==
          json({"/bin/bash", "-c", "curl https://ebpf.io/applications/#tetragon"}));
    CHECK(root.at("pod").at("name") == "xwing");
    CHECK(root.at("pod").at("namespace") == "default");
    CHECK(root.at("pod").at("container_id") == "551e161c47d8ff0eb665438a7bcd5b4e3ef5a297282b40a92b7c77d6bd168eb3");
    CHECK(doc.at("journal").at("imported").at(0).at("format") == "tetragon");
    CHECK(doc.at("journal").at("nodes") == json({"gke-john-632-default-pool-7041cac0-9s95"}));
}

TEST_CASE("tetragon: exec, exit, tcp_connect and the legacy process_connect of one process", "[import][tetragon]") {
    TempDir dir;
    RunResult r = import(dir, {sample("nc_process_connect_legacy.json"), sample("nc_tcp_connect_kprobe.json"),
                               sample("nc_process_exit.json")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(golden_mismatch("import_tetragon_nc.txt", tree_text(dir)) == "");
    const json doc = tree_json(dir);
    // Three files of one node: three runs, and one process across them,
    // with its parent sh from the events' parent objects.
    CHECK(doc.at("journal").at("imported").size() == 3);
    REQUIRE(doc.at("trees").size() == 1);
    const json& sh = doc.at("trees").at(0);
    CHECK(sh.at("pid") == 38312);
    REQUIRE(sh.at("children").size() == 1);
    const json& nc = sh.at("children").at(0);
    CHECK(nc.at("pid") == 38314);
    CHECK(nc.at("execs").at(0).at("binary") == "/usr/bin/nc");
    CHECK(nc.at("exit").at("code") == 0);
    REQUIRE(nc.at("connects").size() == 2);
    for (const auto& c : nc.at("connects")) {
        CHECK(c.at("daddr") == "64.225.45.153");
        CHECK(c.at("dport") == 443);
        CHECK(c.at("result") == "unknown");
    }
    CHECK(run_lineage({"verify", "--journal", "t.db"}, dir.path()).status == 0);
}

TEST_CASE("tetragon: the GKE samples, one JSON object per line", "[import][tetragon]") {
    TempDir dir;
    RunResult r = import(dir, {sample("testdata_events.jsonl")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.err, Catch::Contains("0 malformed"));
    CHECK(golden_mismatch("import_tetragon_events.txt", tree_text(dir)) == "");
    CHECK(golden_mismatch("import_tetragon_events_pod.txt", tree_text(dir, {"--pod", "default/tiefighter"})) == "");
    // Tetragon's pod.container.name and .image.name, as record's runtime
    // annotations: --container by name and --image select by them.
    CHECK(tree_text(dir, {"--container", "spaceship"}) == tree_text(dir, {"--pod", "default/tiefighter"}));
    const std::string deathstar = tree_text(dir, {"--image", "docker.io/cilium/starwars:*"});
    CHECK(deathstar.find("container deathstar  image docker.io/cilium/starwars:latest") != std::string::npos);
    CHECK(deathstar.find("spaceship") == std::string::npos);
}

TEST_CASE("tetragon: malformed events are counted and named, the rest imported", "[import][tetragon]") {
    TempDir dir;
    std::string good = read_file(sample("testdata_events.jsonl"));
    std::vector<std::string> lines;
    for (size_t at = 0, nl; at < good.size(); at = nl + 1) {
        nl = good.find('\n', at);
        if (nl == std::string::npos) nl = good.size();
        lines.push_back(good.substr(at, nl - at));
    }
    REQUIRE(lines.size() == 3);
    // Line 2: not JSON; line 3: an exec_id that is not base64; line 5: a
    // time that is not RFC 3339.
    std::string bad_time = lines[2];
    const size_t t = bad_time.find("\"time\":\"");
    REQUIRE(t != std::string::npos);
    bad_time.replace(t + 8, 4, "yyyy");
    std::string bad_id = lines[1];
    const size_t id = bad_id.find("\"exec_id\":\"");
    REQUIRE(id != std::string::npos);
    bad_id.replace(id + 11, 2, "!!");
    // Line 6: a time whose nanoseconds would overflow (the fuzzer's find).
    std::string far_time = lines[2];
    far_time.replace(t + 8, 4, "9865");
    write_file(dir / "mixed.jsonl", lines[0] + "\n{\"process_exec\": \n" + bad_id + "\n" + lines[1] + "\n" + bad_time +
                                        "\n" + far_time + "\n");
    RunResult r = import(dir, {"mixed.jsonl"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("mixed.jsonl:6: a time is out of range"));
    CHECK_THAT(r.err, Catch::Contains("mixed.jsonl:2: not a JSON object"));
    CHECK_THAT(r.err, Catch::Contains("mixed.jsonl:3: exec_id is not base64"));
    CHECK_THAT(r.err, Catch::Contains("mixed.jsonl:5: a time is not RFC 3339"));
    CHECK_THAT(r.err, Catch::Contains("4 malformed"));
    // Lines 1 and 4 are in.
    const json doc = tree_json(dir);
    std::set<int> pids;
    for (const auto& tree : doc.at("trees")) {
        std::vector<const json*> todo{&tree};
        while (!todo.empty()) {
            const json* n = todo.back();
            todo.pop_back();
            pids.insert(n->at("pid").get<int>());
            for (const auto& c : n->at("children")) todo.push_back(&c);
        }
    }
    CHECK(pids.count(68790) == 1);
    CHECK(pids.count(68862) == 1);
}

TEST_CASE("tetragon: a file that is not Tetragon's is refused, and nothing is written", "[import][tetragon]") {
    TempDir dir;
    write_file(dir / "other.jsonl", "{\"schema\":\"lineage-export-1\",\"kind\":\"batch\"}\n");
    RunResult r = import(dir, {"other.jsonl"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("other.jsonl:1: not a Tetragon JSON event"));
    CHECK(!std::filesystem::exists(dir / "t.db"));
    CHECK(!std::filesystem::exists(dir / "t.db.importing"));
    // A good file followed by a bad one: the whole import is refused.
    RunResult r2 = import(dir, {sample("testdata_events.jsonl"), "other.jsonl"});
    CHECK(r2.status == 2);
    CHECK(!std::filesystem::exists(dir / "t.db"));
    // An empty file holds no Tetragon event (found by fuzz_import_tetragon).
    write_file(dir / "empty.json", "\n \n");
    RunResult e = import(dir, {"empty.json"});
    CHECK(e.status == 2);
    CHECK_THAT(e.err, Catch::Contains("empty.json: no Tetragon JSON event; refused"));
    CHECK(!std::filesystem::exists(dir / "t.db"));
    write_file(dir / "text.log", "FORK parent=1 child=2 parent_comm=init\n");
    CHECK(import(dir, {"text.log"}).status == 2);
    CHECK(!std::filesystem::exists(dir / "t.db"));
}

}  // namespace test_import_tetragon
