// lineage import --from lineage: the round trip of export and import, and
// bad input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export/v8_rows.h"
#include "fixture_journal.h"
#include "hashchain.h"

namespace test_import {

using namespace fixture;
using nlohmann::json;

namespace {

// reconstruct --format json of a journal, with its file name taken out (the
// only thing that may differ between an original and its import).
json trees_of(const TempDir& dir, const std::string& journal, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{
        "reconstruct", "--journal",           journal, "--format", "json", "--since", "2026-04-22T08:00:00Z",
        "--until",     "2026-04-22T10:00:00Z"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_lineage(args, dir.path());
    INFO(r.err);
    REQUIRE(r.status == 0);
    json doc = json::parse(r.out);
    doc.erase("journal");
    // An imported journal says so (checked below); the trees and the other
    // warnings are what must be the same.
    json warnings = json::array();
    for (const auto& w : doc.at("warnings"))
        if (w.at("kind") != "imported") warnings.push_back(w);
    doc["warnings"] = warnings;
    return json::parse(std::regex_replace(doc.dump(), std::regex(journal), "JOURNAL"));
}

std::string sha256_hex_of_file(const std::filesystem::path& file) {
    RunResult r = run_process({"/usr/bin/sha256sum", file.string()}, "/");
    REQUIRE(r.status == 0);
    return r.out.substr(0, 64);
}

}  // namespace

TEST_CASE("export then import gives the same trees as the original journal", "[import][export]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    RunResult exp = run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path());
    REQUIRE(exp.status == 0);
    RunResult imp =
        run_lineage({"import", "--from", "lineage", "events.jsonl", "--journal", "imported.db"}, dir.path());
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    CHECK_THAT(imp.err, Catch::Contains("0 malformed"));
    CHECK(trees_of(dir, "imported.db") == trees_of(dir, "incident.db"));
    CHECK(trees_of(dir, "imported.db", {"--pod", kIncidentPodName}) ==
          trees_of(dir, "incident.db", {"--pod", kIncidentPodName}));
    // The import is a journal like any other: it verifies whole.
    RunResult v = run_lineage({"verify", "--journal", "imported.db"}, dir.path());
    CHECK(v.status == 0);
    // And its runs say where they came from.
    RunResult runs = run_process({"/usr/bin/python3", "-c",
                                  "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select filters "
                                  "from runs').fetchone()[0])",
                                  dir / "imported.db"},
                                 "/");
    REQUIRE(runs.status == 0);
    const json filters = json::parse(runs.out);
    CHECK(filters.at("imported").at("format") == "lineage");
    CHECK(filters.at("imported").at("file") == "events.jsonl");
    CHECK(filters.at("imported").at("sha256").get<std::string>().size() == 64);
}

TEST_CASE("import --from lineage reads a store's rows of lineage.events as JSONEachRow", "[import][export]") {
    // schema/clickhouse.sql keeps each line whole in `line`: a query result
    // of it is {"line": "<the exported line>"} per line.
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    REQUIRE(run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path()).status == 0);
    std::string rows;
    const std::string lines = read_file(dir / "events.jsonl");
    for (size_t at = 0, nl; at < lines.size(); at = nl + 1) {
        nl = lines.find('\n', at);
        rows += json({{"line", lines.substr(at, nl - at)}}).dump() + "\n";
    }
    write_file(dir / "rows.jsonl", rows);
    RunResult imp = run_lineage({"import", "--from", "lineage", "rows.jsonl", "--journal", "imported.db"}, dir.path());
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    CHECK(trees_of(dir, "imported.db") == trees_of(dir, "incident.db"));
}

TEST_CASE("an imported journal says so in verify's and reconstruct's output, text and JSON", "[import][export]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    REQUIRE(run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path()).status == 0);
    REQUIRE(
        run_lineage({"import", "--from", "lineage", "events.jsonl", "--journal", "imported.db"}, dir.path()).status ==
        0);
    const std::string sha = sha256_hex_of_file(dir / "events.jsonl");

    RunResult v = run_lineage({"verify", "--journal", "imported.db"}, dir.path());
    CHECK(v.status == 0);
    CHECK_THAT(v.out, Catch::Contains("imported: 1 of 1 runs were built by lineage import from another record"));
    CHECK_THAT(v.out, Catch::Contains("imported from events.jsonl (lineage, sha256 " + sha + ") by lineage "));
    RunResult vj = run_lineage({"verify", "--journal", "imported.db", "--format", "json"}, dir.path());
    const json vdoc = json::parse(vj.out);
    CHECK(vdoc.at("journals").at(0).at("imported") == true);
    const json& run = vdoc.at("journals").at(0).at("runs").at(0).at("imported");
    CHECK(run.at("format") == "lineage");
    CHECK(run.at("file") == "events.jsonl");
    CHECK(run.at("sha256") == sha);
    // lineage's own record says nothing of the kind.
    RunResult vo = run_lineage({"verify", "--journal", "incident.db", "--format", "json"}, dir.path());
    CHECK(json::parse(vo.out).at("journals").at(0).at("imported") == false);
    CHECK_THAT(run_lineage({"verify", "--journal", "incident.db"}, dir.path()).out, !Catch::Contains("imported"));

    RunResult t = run_lineage({"reconstruct", "--journal", "imported.db"}, dir.path());
    CHECK(t.status == 0);
    CHECK_THAT(t.out, Catch::Contains("warning: run 1 of imported.db was imported from events.jsonl (lineage, sha256 " +
                                      sha + ") by lineage "));
    CHECK_THAT(t.err, Catch::Contains("not lineage's own kernel record"));
    RunResult tj = run_lineage({"reconstruct", "--journal", "imported.db", "--format", "json"}, dir.path());
    const json tdoc = json::parse(tj.out);
    const json& imported = tdoc.at("journal").at("imported");
    REQUIRE(imported.size() == 1);
    CHECK(imported.at(0).at("path") == "imported.db");
    CHECK(imported.at(0).at("format") == "lineage");
    CHECK(imported.at(0).at("sha256") == sha);
    CHECK(tdoc.at("warnings").at(0).at("kind") == "imported");
    RunResult to = run_lineage({"reconstruct", "--journal", "incident.db", "--format", "json"}, dir.path());
    CHECK(json::parse(to.out).at("journal").at("imported").empty());
}

TEST_CASE("export then import keeps whole pods: a fork-only child and a process moved in", "[import][export][pods]") {
    // Schema version 3's rows: the child never exec's, so only its fork's
    // memberships row puts it in the pod; the miner is moved in from a
    // login shell, so only the move's row does.
    FixtureJournal fx;
    const std::string pod = pod_cgroup(kIncidentPodUid, kIncidentContainer);
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim = fx.snapshot(4000, 1, at(940, 0), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, "/system.slice/containerd.service");
    fx.pod(kIncidentPodUid, kIncidentPodName, kIncidentNamespace);
    Proc app = FixtureJournal::proc(4100, at(1000, 100'000'000));
    fx.fork(shim, app, at(1000, 100'000'000), 1);
    fx.exec(app, "/usr/bin/python3", {"python3", "/srv/app.py"}, at(1000, 110'000'000), pod, kIncidentPodName, 1);
    Proc child = FixtureJournal::proc(4101, at(1010, 0));
    fx.fork(app, child, at(1010, 0), 2);
    fx.connect(child, "127.0.0.1", 4444, at(1010, 20'000'000));
    fx.exit(child, at(1010, 30'000'000), 0);
    Proc sshd = fx.snapshot(900, 1, at(10, 0), "sshd", "/usr/sbin/sshd", {"sshd: admin"}, "/system.slice/ssh.service");
    Proc shell = FixtureJournal::proc(5000, at(1005, 0));
    fx.fork(sshd, shell, at(1005, 0));
    fx.exec(shell, "/bin/bash", {"-bash"}, at(1005, 1'000'000), "/user.slice/session-4.scope", "node-1");
    Proc miner = FixtureJournal::proc(5001, at(1010, 500'000'000));
    fx.fork(shell, miner, at(1010, 500'000'000));
    fx.exec(miner, "/tmp/.x/xmrig", {"xmrig", "-o", "pool.example:3333"}, at(1010, 501'000'000));
    fx.move(miner, pod, at(1030, 0), shell);
    fx.connect(miner, "198.51.100.7", 3333, at(1031, 0));

    TempDir dir;
    fx.write(dir / "pods.db");
    RunResult exp = run_lineage({"export", "--journal", "pods.db", "--output", "events.jsonl"}, dir.path());
    REQUIRE(exp.status == 0);
    RunResult imp =
        run_lineage({"import", "--from", "lineage", "events.jsonl", "--journal", "imported.db"}, dir.path());
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    CHECK_THAT(imp.err, Catch::Contains("0 malformed"));

    const json original = trees_of(dir, "pods.db", {"--pod", kIncidentPodName});
    const std::string text = original.dump();
    // The pod's tree has both, as the original journal says (not a
    // comparison of two empty answers).
    CHECK(text.find("\"pid\":4101") != std::string::npos);
    CHECK(text.find("\"pid\":5001") != std::string::npos);
    CHECK(text.find("\"entered\":\"move\"") != std::string::npos);
    CHECK(trees_of(dir, "imported.db", {"--pod", kIncidentPodName}) == original);
    CHECK(trees_of(dir, "imported.db") == trees_of(dir, "pods.db"));
    CHECK(run_lineage({"verify", "--journal", "imported.db"}, dir.path()).status == 0);

    // Every cgroups and memberships row came back, once.
    auto count = [&](const std::string& db, const std::string& table) {
        RunResult r = run_process({"/usr/bin/python3", "-c",
                                   "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) "
                                   "from ' + sys.argv[2]).fetchone()[0])",
                                   dir / db, table},
                                  "/");
        REQUIRE(r.status == 0);
        return std::stoll(r.out);
    };
    CHECK(count("pods.db", "memberships") >= 3);
    CHECK(count("imported.db", "memberships") == count("pods.db", "memberships"));
    CHECK(count("imported.db", "cgroups") == count("pods.db", "cgroups"));
}

TEST_CASE("export then import keeps schema version 8's rows: executed files, their hashes, listens",
          "[import][export]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    append_v8_run(dir / "incident.db");
    RunResult exp = run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path());
    REQUIRE(exp.status == 0);
    RunResult imp =
        run_lineage({"import", "--from", "lineage", "events.jsonl", "--journal", "imported.db"}, dir.path());
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    CHECK_THAT(imp.err, Catch::Contains("0 malformed"));
    CHECK(run_lineage({"verify", "--journal", "imported.db"}, dir.path()).status == 0);

    // Every column of every row, in order (the batch aside: the import
    // numbers its own), as SQLite's quote() spells it (BLOBs in hex).
    auto rows = [&](const std::string& db, lineage::ChainTable t) {
        std::string columns = lineage::chain_columns(t);
        std::string quoted;
        for (size_t at = 0; at < columns.size();) {
            size_t end = columns.find(", ", at);
            if (end == std::string::npos) end = columns.size();
            quoted +=
                (quoted.empty() ? "" : " || ',' || ") + std::string("quote(") + columns.substr(at, end - at) + ")";
            at = end + 2;
        }
        RunResult r =
            run_process({"/usr/bin/python3", "-c",
                         "import sqlite3,sys\n"
                         "for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(row[0])",
                         dir / db, fmt::format("SELECT {} FROM {} ORDER BY rowid", quoted, lineage::table_name(t))},
                        "/");
        INFO(r.err);
        REQUIRE(r.status == 0);
        return r.out;
    };
    for (auto t : {lineage::ChainTable::exec_files, lineage::ChainTable::file_hashes, lineage::ChainTable::listens,
                   lineage::ChainTable::exec}) {
        INFO(lineage::table_name(t));
        const std::string original = rows("incident.db", t);
        CHECK(std::count(original.begin(), original.end(), '\n') >= 2);  // not two empty answers
        CHECK(rows("imported.db", t) == original);
    }

    // A store's query may give an exec_file line before its exec line (they
    // share their time): the same rows still.
    std::vector<std::string> lines;
    const std::string text = read_file(dir / "events.jsonl");
    for (size_t pos = 0; pos < text.size();) {
        const size_t end = text.find('\n', pos);
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    auto first_of = [&](const std::string& kind) {
        for (size_t i = 0; i < lines.size(); ++i)
            if (lines[i].find("\"kind\":\"" + kind + "\"") != std::string::npos) return i;
        FAIL("no " << kind << " line");
        return size_t{0};
    };
    const size_t file_line = first_of("exec_file");
    const std::string moved = lines[file_line];
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(file_line));
    size_t exec_line = lines.size();
    for (size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find("\"kind\":\"exec\"") != std::string::npos &&
            lines[i].find(fmt::format("\"tgid\":{}", kV8Script)) != std::string::npos) {
            exec_line = i;
            break;
        }
    REQUIRE(exec_line < lines.size());
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(exec_line), moved);
    std::string swapped;
    for (const auto& l : lines) swapped += l + "\n";
    write_file(dir / "swapped.jsonl", swapped);
    RunResult imp2 =
        run_lineage({"import", "--from", "lineage", "swapped.jsonl", "--journal", "swapped.db"}, dir.path());
    INFO(imp2.err);
    REQUIRE(imp2.status == 0);
    CHECK(rows("swapped.db", lineage::ChainTable::exec_files) == rows("incident.db", lineage::ChainTable::exec_files));
}

TEST_CASE("import rejects malformed exec_file, file_hash and listen lines by number", "[import]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    append_v8_run(dir / "incident.db");
    REQUIRE(run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path()).status == 0);
    std::vector<json> lines;
    const std::string text = read_file(dir / "events.jsonl");
    for (size_t pos = 0; pos < text.size();) {
        const size_t end = text.find('\n', pos);
        lines.push_back(json::parse(text.substr(pos, end - pos)));
        pos = end + 1;
    }
    // Each kind's first line, broken one way each; the line numbers of the
    // broken ones must be named, and no other.
    std::map<size_t, std::string> broken;  // line index -> how
    std::set<std::string> done;
    for (size_t i = 0; i < lines.size(); ++i) {
        json& l = lines[i];
        const std::string kind = l.at("kind");
        if (done.count(kind)) continue;
        if (kind == "exec_file") {
            l["exec_file"]["after"].erase("euid");
            broken[i] = "after without euid";
        } else if (kind == "file_hash") {
            l["file_hash"]["sha256"] = "not-a-hash";
            l["file_hash"]["problem"] = "";
            broken[i] = "a sha256 that is not one";
        } else if (kind == "listen") {
            l["listen"]["port"] = 70000;
            broken[i] = "a port past 65535";
        } else {
            continue;
        }
        done.insert(kind);
    }
    // One more of each way: a mode of the wrong type, a path_b64 that is
    // not base64, a family that is not 4 or 6.
    for (size_t i = lines.size(); i-- > 0;) {
        json& l = lines[i];
        if (broken.count(i)) continue;
        const std::string kind = l.at("kind");
        if (kind == "exec_file" && !done.count("exec_file2")) {
            l["exec_file"]["mode"] = "0755";
            broken[i] = "mode as text";
            done.insert("exec_file2");
        } else if (kind == "file_hash" && !done.count("file_hash2")) {
            l["file_hash"]["path_b64"] = "%%%";
            broken[i] = "path_b64 not base64";
            done.insert("file_hash2");
        } else if (kind == "listen" && !done.count("listen2")) {
            l["listen"]["family"] = 5;
            broken[i] = "family 5";
            done.insert("listen2");
        }
    }
    REQUIRE(broken.size() == 6);
    std::string out;
    for (const auto& l : lines) out += l.dump() + "\n";
    write_file(dir / "broken.jsonl", out);
    RunResult r = run_lineage({"import", "--from", "lineage", "broken.jsonl", "--journal", "b.db"}, dir.path());
    INFO(r.err);
    CHECK(r.status == 1);
    for (const auto& [i, how] : broken) {
        INFO(how);
        CHECK_THAT(r.err, Catch::Contains(fmt::format("broken.jsonl:{}:", i + 1)));
    }
    CHECK_THAT(r.err, Catch::Contains("6 malformed"));
    // The other lines went in, the broken ones did not.
    CHECK(run_lineage({"verify", "--journal", "b.db"}, dir.path()).status == 0);
}

TEST_CASE("two nodes' exports import into one journal with both trees", "[import][export]") {
    TempDir dir;
    incident_fixture().write(dir / "node1.db");
    RunOptions other;
    other.boot_id = "b0000000-0000-4000-8000-000000000002";
    other.node = "node-2";
    FixtureJournal fx2(other);
    Proc init = fx2.snapshot(1, 0, at(0, 10'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc sh = FixtureJournal::proc(777, at(1000, 123'456'789));
    fx2.fork(init, sh, at(1000, 123'456'789));
    fx2.exec(sh, "/usr/bin/curl", {"curl", "http://93.184.216.34/"}, at(1000, 200'000'000));
    fx2.connect(sh, "93.184.216.34", 80, at(1001));
    fx2.exit(sh, at(1002), 0);
    fx2.write(dir / "node2.db");
    REQUIRE(run_lineage({"export", "--journal", "node1.db", "--output", "n1.jsonl"}, dir.path()).status == 0);
    REQUIRE(run_lineage({"export", "--journal", "node2.db", "--output", "n2.jsonl"}, dir.path()).status == 0);
    RunResult imp =
        run_lineage({"import", "--from", "lineage", "n1.jsonl", "n2.jsonl", "--journal", "fleet.db"}, dir.path());
    INFO(imp.err);
    REQUIRE(imp.status == 0);
    RunResult fleet = run_lineage({"reconstruct", "--journal", "fleet.db", "--since", "2026-04-22T08:00:00Z", "--until",
                                   "2026-04-22T10:00:00Z", "--binary", "curl"},
                                  dir.path());
    REQUIRE(fleet.status == 0);
    CHECK_THAT(fleet.out, Catch::Contains("PID 777") && Catch::Contains("PID 18296"));
}

TEST_CASE("import reports malformed lines by number, refuses other formats, never leaves half a journal", "[import]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    REQUIRE(run_lineage({"export", "--journal", "incident.db", "--output", "events.jsonl"}, dir.path()).status == 0);
    std::string text = read_file(dir / "events.jsonl");
    // Line 3 cut in half, line 5 with a process without its tgid.
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    REQUIRE(lines.size() > 10);
    size_t exec_line = 0;
    for (size_t i = 0; i < lines.size(); ++i)
        if (exec_line == 0 && lines[i].find("\"kind\":\"exec\"") != std::string::npos) exec_line = i;
    REQUIRE(exec_line > 2);
    lines[2] = lines[2].substr(0, lines[2].size() / 2);
    lines[exec_line] = std::regex_replace(lines[exec_line], std::regex("\"tgid\":"),
                                          "\"tgid_gone\":", std::regex_constants::format_first_only);
    std::string broken;
    for (const auto& l : lines) broken += l + "\n";
    write_file(dir / "broken.jsonl", broken);
    RunResult r = run_lineage({"import", "--from", "lineage", "broken.jsonl", "--journal", "b.db"}, dir.path());
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("broken.jsonl:3:"));
    CHECK_THAT(r.err, Catch::Contains(fmt::format("broken.jsonl:{}:", exec_line + 1)));
    CHECK_THAT(r.err, Catch::Contains("2 malformed"));
    CHECK(std::filesystem::exists(dir / "b.db"));

    // Not the format named: refused, nothing created.
    write_file(dir / "tetragon.json", "{\"process_exec\": {\"process\": {}}}\n");
    RunResult t = run_lineage({"import", "--from", "lineage", "tetragon.json", "--journal", "t.db"}, dir.path());
    CHECK(t.status == 2);
    CHECK_THAT(t.err, Catch::Contains("tetragon.json:1: not a line of lineage export"));
    CHECK_FALSE(std::filesystem::exists(dir / "t.db"));
    CHECK_FALSE(std::filesystem::exists(dir / "t.db.importing"));
    // An existing journal is never written over.
    const std::string before = read_file(dir / "incident.db");
    RunResult e = run_lineage({"import", "--from", "lineage", "events.jsonl", "--journal", "incident.db"}, dir.path());
    CHECK(e.status == 2);
    CHECK_THAT(e.err, Catch::Contains("incident.db: exists"));
    CHECK(read_file(dir / "incident.db") == before);
    RunResult f = run_lineage({"import", "--from", "sysdig", "events.jsonl", "--journal", "x.db"}, dir.path());
    CHECK(f.status == 2);
    CHECK_THAT(f.err,
               Catch::Contains("--from: 'sysdig' is not a format this build imports: lineage, tetragon, bpftrace"));
    // Another format named for lineage's own lines: refused, nothing written.
    RunResult g = run_lineage({"import", "--from", "tetragon", "events.jsonl", "--journal", "x.db"}, dir.path());
    CHECK(g.status == 2);
    CHECK_THAT(g.err, Catch::Contains("events.jsonl:1: not a Tetragon JSON event"));
    CHECK(!std::filesystem::exists(dir / "x.db"));
}

}  // namespace test_import
