// schema/reconstruct.schema.json against what `lineage reconstruct --format
// json` really prints: every golden .json file, fresh output of the incident
// fixture (whole journal, --pod, nothing matched), and documents that must
// NOT validate (so the schema is closed and the check can fail).
//
// Validation uses the system Python's jsonschema (Debian package
// python3-jsonschema), through its CLI:
//   /usr/bin/python3 -m jsonschema -i FILE SCHEMA
// run with a higher recursion limit: the validator recurses about ten
// Python frames per level of nesting, and the deep-chain golden nests 256
// generations (two levels each), past Python's default of 1,000 frames.
// Without it this test fails; it never passes silently.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"

namespace test_json_schema {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kPython = "/usr/bin/python3";

std::string schema_path() {
    return std::string(LINEAGE_SOURCE_DIR) + "/schema/reconstruct.schema.json";
}

// Fails the test (REQUIRE) unless /usr/bin/python3 can import jsonschema.
void require_jsonschema() {
    INFO("JSON Schema validation needs /usr/bin/python3 with jsonschema: apt-get install python3-jsonschema");
    REQUIRE(std::filesystem::exists(kPython));
    RunResult r = run_process({kPython, "-c", "import jsonschema"}, "/");
    INFO(r.err);
    REQUIRE(r.status == 0);
}

// Validates every file in one run of the CLI and returns, per file, "" when
// it is valid or the validator's report. The pretty output names each
// instance: "===[SUCCESS]===(FILE)===" or "===[ValidationError]===(FILE)===".
std::vector<std::string> validate(const std::vector<std::string>& files) {
    std::vector<std::string> cmd{kPython, "-c",
                                 "import sys; sys.setrecursionlimit(100000); from jsonschema.cli import main; main()",
                                 "--output", "pretty"};
    for (const auto& f : files) {
        cmd.push_back("-i");
        cmd.push_back(f);
    }
    cmd.push_back(schema_path());
    RunResult r = run_process(cmd, "/");
    const std::string all = r.out + r.err;
    // A schema the validator rejects, or a crash, is never a pass.
    INFO("jsonschema output:\n" << all);
    REQUIRE(all.find("SchemaError") == std::string::npos);
    REQUIRE(all.find("Traceback") == std::string::npos);
    std::vector<std::string> results;
    bool all_ok = true;
    for (const auto& f : files) {
        if (all.find("===[SUCCESS]===(" + f + ")===") != std::string::npos) {
            results.push_back("");
        } else {
            all_ok = false;
            auto at = all.find("(" + f + ")");
            results.push_back(at == std::string::npos ? "no verdict for " + f + " in:\n" + all : all.substr(at, 1500));
        }
    }
    // The exit status agrees with the per-file verdicts.
    CHECK((r.status == 0) == all_ok);
    return results;
}

std::vector<std::string> golden_json_files() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(std::string(LINEAGE_SOURCE_DIR) + "/testdata/golden")) {
        if (e.path().extension() == ".json") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("reconstruct JSON matches schema/reconstruct.schema.json", "[reconstruct][json_schema]") {
    require_jsonschema();
    REQUIRE(std::filesystem::exists(schema_path()));
    // The schema is itself valid JSON and closed at the top.
    json schema = json::parse(read_file(schema_path()));
    CHECK(schema.at("additionalProperties") == false);

    TempDir dir;
    std::vector<std::string> files = golden_json_files();
    // The goldens cover roots with and without outside_parent, snapshot
    // images, exits by signal, IPv6, loss and unknown-parent warnings,
    // raw_b64, a deep chain continued in a second tree entry (continues_from):
    // make sure they are all there.
    REQUIRE(files.size() >= 9);

    // Fresh output, not only what was once written down.
    incident_fixture().write(dir / "incident.db");
    RunResult fresh = run_lineage({"reconstruct", "--journal", "incident.db", "--since", kIncidentSince, "--until",
                                   kIncidentUntil, "--format", "json"},
                                  dir.path());
    REQUIRE(fresh.status == 0);
    write_file(dir / "incident-all.json", fresh.out);
    files.push_back(dir / "incident-all.json");
    RunResult pod = run_lineage({"reconstruct", "--journal", "incident.db", "--since", kIncidentSince, "--until",
                                 kIncidentUntil, "--pod", kIncidentPodName, "--format", "json"},
                                dir.path());
    REQUIRE(pod.status == 0);
    write_file(dir / "incident-pod.json", pod.out);
    files.push_back(dir / "incident-pod.json");
    // Nothing matched: empty trees, still a valid document.
    RunResult none = run_lineage({"reconstruct", "--journal", "incident.db", "--since", kIncidentSince, "--until",
                                  kIncidentUntil, "--pod", "nosuchpod", "--format", "json"},
                                 dir.path());
    REQUIRE(none.status == 1);
    write_file(dir / "nothing.json", none.out);
    files.push_back(dir / "nothing.json");

    auto results = validate(files);
    for (size_t i = 0; i < files.size(); ++i) {
        INFO(files[i]);
        CHECK(results[i] == "");
    }
}

TEST_CASE("the reconstruct schema rejects drift", "[reconstruct][json_schema]") {
    require_jsonschema();
    const json doc = json::parse(read_file(golden_path("incident_pod.json")));
    REQUIRE(doc.at("trees").size() == 1);
    REQUIRE_FALSE(doc.at("trees")[0].at("children").empty());

    TempDir dir;
    struct Bad {
        std::string name;
        json doc;
    };
    std::vector<Bad> bad;
    auto mutate = [&](const std::string& name, auto fn) {
        json d = doc;
        fn(d);
        bad.push_back({dir / (name + ".json"), d});
    };
    mutate("extra_top_level_field", [](json& d) { d["generated_by"] = "someone"; });
    mutate("extra_field_in_child", [](json& d) { d["trees"][0]["children"][0]["cwd"] = "/"; });
    mutate("extra_field_in_exec", [](json& d) { d["trees"][0]["execs"][0]["env"] = json::array(); });
    mutate("missing_required_field", [](json& d) { d["trees"][0].erase("in_window"); });
    mutate("outside_parent_below_root", [](json& d) { d["trees"][0]["children"][0]["outside_parent"] = nullptr; });
    mutate("root_without_outside_parent", [](json& d) { d["trees"][0].erase("outside_parent"); });
    mutate("kernel_exec_without_time", [](json& d) { d["trees"][0]["execs"][0]["time"] = nullptr; });
    mutate("time_not_rfc3339_ns", [](json& d) { d["trees"][0]["start_time"] = "2026-04-22 09:00:00"; });
    mutate("unknown_parent_source", [](json& d) { d["trees"][0]["parent_source"] = "guess"; });
    mutate("unknown_outside_parent_reason", [](json& d) { d["trees"][0]["outside_parent"]["why"] = "not recorded"; });
    mutate("unknown_pod_entry", [](json& d) { d["trees"][0]["pod"]["entered"] = "teleport"; });
    mutate("pod_without_container_init", [](json& d) { d["trees"][0]["pod"].erase("container_init"); });
    mutate("fork_of_not_a_string", [](json& d) { d["trees"][0]["fork_of"] = 3; });
    // Deep trees: continues_from and depth go together, on entry roots only.
    mutate("continues_from_without_depth", [](json& d) { d["trees"][0]["continues_from"] = d["trees"][0]["key"]; });
    mutate("depth_without_continues_from", [](json& d) { d["trees"][0]["depth"] = 256; });
    mutate("continued_entry_with_outside_parent", [](json& d) {
        d["trees"][0]["continues_from"] = d["trees"][0]["key"];
        d["trees"][0]["depth"] = 256;
    });
    mutate("continues_from_below_root", [](json& d) {
        d["trees"][0]["children"][0]["continues_from"] = d["trees"][0]["key"];
        d["trees"][0]["children"][0]["depth"] = 256;
    });
    mutate("children_continued_zero", [](json& d) { d["trees"][0]["children"][0]["children_continued"] = 0; });
    mutate("unknown_warning_kind", [](json& d) {
        d["warnings"].push_back({{"kind", "too_deep"}, {"message", "m"}, {"from", nullptr}, {"to", nullptr}});
    });

    std::vector<std::string> files;
    for (const auto& b : bad) {
        write_file(b.name, b.doc.dump(2));
        files.push_back(b.name);
    }
    // The unmodified document, validated in the same run, passes.
    write_file(dir / "control.json", doc.dump(2));
    files.push_back(dir / "control.json");

    auto results = validate(files);
    for (size_t i = 0; i + 1 < files.size(); ++i) {
        INFO(files[i] << " must not validate");
        CHECK(results[i] != "");
    }
    INFO("the unmodified incident_pod.json");
    CHECK(results.back() == "");
}

namespace {

// The node of process `pid` in a document's trees, to be changed in place.
json* node_of(json& doc, uint32_t pid) {
    std::vector<json*> todo;
    for (auto& t : doc.at("trees")) todo.push_back(&t);
    while (!todo.empty()) {
        json* n = todo.back();
        todo.pop_back();
        if (n->at("pid") == pid) return n;
        for (auto& c : n->at("children")) todo.push_back(&c);
    }
    return nullptr;
}

}  // namespace

TEST_CASE("the reconstruct schema rejects drift in what really ran", "[reconstruct][json_schema][exec_files]") {
    require_jsonschema();
    // tests/unit/tree/test_exec_files.cpp writes it: 18299 ran a deleted file
    // with a hash and listened, 18303 a setuid one, 18305 one without a hash.
    const json doc = json::parse(read_file(golden_path("exec_files.json")));
    {
        json d = doc;
        REQUIRE(node_of(d, 18299));
        REQUIRE(node_of(d, 18299)->contains("listens"));
        REQUIRE(node_of(d, 18303)->at("execs")[0].contains("privileges"));
        REQUIRE(node_of(d, 18305)->at("execs")[0].at("file").at("sha256_problem") == "too_large");
    }

    TempDir dir;
    std::vector<std::string> files;
    auto mutate = [&](const std::string& name, uint32_t pid, auto fn) {
        json d = doc;
        fn(*node_of(d, pid));
        files.push_back(dir / (name + ".json"));
        write_file(files.back(), d.dump(2));
    };
    auto file_of = [](json& n) -> json& { return n.at("execs")[0].at("file"); };
    mutate("file_missing_sha256", 18299, [&](json& n) { file_of(n).erase("sha256"); });
    mutate("file_extra_field", 18299, [&](json& n) { file_of(n)["owner"] = "root"; });
    mutate("upper_layer_a_string", 18299, [&](json& n) { file_of(n)["upper_layer"] = "unknown"; });
    mutate("sha256_not_hex", 18299, [&](json& n) { file_of(n)["sha256"] = std::string(64, 'z'); });
    mutate("sha256_short", 18299, [&](json& n) { file_of(n)["sha256"] = "3f2a"; });
    mutate("sha256_and_problem", 18299, [&](json& n) { file_of(n)["sha256_problem"] = "gone"; });
    mutate("mtime_not_a_time", 18299, [&](json& n) { file_of(n)["mtime"] = 12345; });
    mutate("links_negative", 18299, [&](json& n) { file_of(n)["links"] = -1; });
    mutate("file_without_script", 18299, [&](json& n) { n.at("execs")[0].erase("script"); });
    mutate("interpreter_without_file", 18306, [&](json& n) { n.at("execs")[0]["interpreter"] = nullptr; });
    const json privileges = [&] {
        json d = doc;
        return node_of(d, 18303)->at("execs")[0].at("privileges");
    }();
    mutate("privileges_without_file", 18306, [&](json& n) { n.at("execs")[0]["privileges"] = privileges; });
    mutate("privileges_missing_after", 18303, [&](json& n) { n.at("execs")[0].at("privileges").erase("after"); });
    mutate("credentials_extra_field", 18303,
           [&](json& n) { n.at("execs")[0].at("privileges").at("before")["suid"] = 0; });
    mutate("listens_empty", 18299, [&](json& n) { n["listens"] = json::array(); });
    mutate("listen_bad_family", 18299, [&](json& n) { n.at("listens")[0]["family"] = "unix"; });
    mutate("listen_port_too_large", 18299, [&](json& n) { n.at("listens")[0]["port"] = 65536; });
    mutate("listen_extra_field", 18299, [&](json& n) { n.at("listens")[0]["backlog"] = 128; });
    mutate("raw_b64_file_path_alone", 18299, [&](json& n) {
        n.at("execs")[0]["raw_b64"] = {{"binary", ""}, {"args", json::array()}, {"file_path", ""}};
    });
    // The unmodified document, validated in the same run, passes.
    files.push_back(dir / "control.json");
    write_file(files.back(), doc.dump(2));

    auto results = validate(files);
    for (size_t i = 0; i + 1 < files.size(); ++i) {
        INFO(files[i] << " must not validate");
        CHECK(results[i] != "");
    }
    INFO("the unmodified exec_files.json");
    CHECK(results.back() == "");
}

}  // namespace test_json_schema
