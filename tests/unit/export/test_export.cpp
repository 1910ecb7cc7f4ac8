// lineage export: every row once, batch by batch, with its chain; the
// cursor; the line formats; the command line.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "export.h"
#include "fixture_journal.h"
#include "journal_format.h"
#include "journal_writer.h"
#include "sqlite.h"
#include "v8_rows.h"

extern char** environ;

namespace test_export {

using namespace fixture;
using namespace lineage;
using nlohmann::json;

namespace {

std::vector<json> parse_lines(const std::string& text) {
    std::vector<json> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        REQUIRE(end != std::string::npos);  // every line ends with a newline
        out.push_back(json::parse(text.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

// Exports a journal from `from` through a sink that keeps what it is given,
// and fails (as a killed export would stop) after `fail_after` batches.
struct Collected {
    std::string text;
    std::vector<ExportPosition> positions;
};
Result<ExportStats> export_from(const std::string& path, ExportPosition& from, Collected& c,
                                ExportFormat format = ExportFormat::jsonl, ExportFilter filter = {},
                                int fail_after = -1) {
    auto e = JournalExport::open(path, format, std::move(filter));
    if (!e) return e.error();
    int batches = 0;
    return e->run(from, [&](std::string_view lines, const ExportPosition& after) -> Status {
        if (fail_after >= 0 && batches == fail_after) return Error{"stopped"};
        ++batches;
        c.text += lines;
        c.positions.push_back(after);
        return Ok{};
    });
}

int64_t count_rows(const std::string& path, const std::string& table) {
    auto db = Database::open_read(sqlite_file_uri(path) + "?mode=ro");
    REQUIRE(db.ok());
    auto n = query_int(*db, "SELECT count(*) FROM " + table);
    REQUIRE(n.ok());
    return *n;
}

std::string entity(uint32_t tgid, uint64_t start_ns) {
    return export_entity_id(RunOptions{}.boot_id, tgid, start_ns / 10'000'000);
}

// A journal of many small batches (8 rows each): 1,500 processes forked,
// exec'd and exited under one parent, a third of them in the incident pod.
FixtureJournal many_batches() {
    FixtureJournal fx;
    Proc shim = fx.snapshot(18150, 1, at(940, 800'000'000), "containerd-shim", "/usr/bin/containerd-shim", {"shim"});
    for (uint32_t i = 0; i < 1500; ++i) {
        const uint64_t t = at(1000) + uint64_t{i} * 50'000'000;
        Proc p = FixtureJournal::proc(20000 + i, t + 1'000);
        fx.fork(shim, p, t + 1'000);
        if (i % 3 == 0) {
            fx.exec(p, "/bin/sh", {"sh", "-c", fmt::format("job {}", i)}, t + 2'000'000,
                    pod_cgroup(kIncidentPodUid, kIncidentContainer), kIncidentPodName);
        } else if (i % 3 == 1) {
            fx.exec(p, "/usr/bin/curl", {"curl", "http://example.com/"}, t + 2'000'000);
            fx.connect(p, "93.184.216.34", 80, t + 3'000'000);
        }
        fx.exit(p, t + 20'000'000, static_cast<int>(i % 7));
    }
    fx.pod(kIncidentPodUid, kIncidentPodName, kIncidentNamespace);
    return fx;
}

// Spawns LINEAGE_BIN with args in cwd; returns the PID.
pid_t spawn_lineage(const std::vector<std::string>& args, const std::string& cwd) {
    std::vector<std::string> argv{LINEAGE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, LINEAGE_BIN, &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    return pid;
}

}  // namespace

TEST_CASE("export prints every row once, batch by batch, each batch with its chain link", "[export]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    append_v8_run(path);  // rows of schema version 8's tables

    ExportPosition from;
    Collected c;
    auto stats = export_from(path, from, c);
    REQUIRE(stats.ok());
    const auto lines = parse_lines(c.text);
    std::map<std::string, int64_t> kinds;
    for (const auto& l : lines) ++kinds[l.at("kind").get<std::string>()];

    // One line per row of every table of the schema (a table added later
    // fails here until it is exported), one batch line per batch.
    const std::map<std::string, std::string> kind_of_table{{"runs", "run_start"},
                                                           {"clock_samples", "clock"},
                                                           {"snapshot", "snapshot"},
                                                           {"pods", "pod_name"},
                                                           {"containers", "container"},
                                                           {"fork", "fork"},
                                                           {"exec", "exec"},
                                                           {"exit", "exit"},
                                                           {"connect", "connect"},
                                                           {"loss", "loss"},
                                                           {"run_stops", "run_stop"},
                                                           {"prunes", "prune"},
                                                           {"cgroups", "cgroup"},
                                                           {"memberships", "membership"},
                                                           {"carried", "carried"},
                                                           {"exec_files", "exec_file"},
                                                           {"file_hashes", "file_hash"},
                                                           {"listens", "listen"},
                                                           {"dns", "dns"}};
    for (size_t i = 0; i < kChainTableCount; ++i) {
        const std::string table = table_name(table_at(i));
        INFO(table);
        // Restatements of the other rows for the journal's readers, not
        // events: not exported (and the journal has some).
        if (table_at(i) == ChainTable::unexited || table_at(i) == ChainTable::dns_names) {
            CHECK(count_rows(path, table) > 0);
            continue;
        }
        REQUIRE(kind_of_table.count(table) == 1);
        CHECK(kinds[kind_of_table.at(table)] == count_rows(path, table));
    }
    CHECK(kinds["membership"] > 0);
    CHECK(kinds["cgroup"] > 0);
    CHECK(kinds["exec_file"] == 2);
    CHECK(kinds["file_hash"] == 2);
    CHECK(kinds["listen"] == 2);
    CHECK(kinds["dns"] == 3);
    CHECK(kinds["batch"] == count_rows(path, "batches"));
    CHECK(stats->batches == kinds["batch"]);
    CHECK(stats->lines == static_cast<int64_t>(lines.size()));
    CHECK(from.batch == kinds["batch"]);

    // Batch lines close their batches in order, and chain.
    std::string prev(64, '0');
    int64_t expect = 1;
    for (const auto& l : lines) {
        CHECK(l.at("batch").get<int64_t>() == expect);
        if (l.at("kind") != "batch") continue;
        CHECK(l.at("chain").at("prev_hash") == prev);
        prev = l.at("chain").at("hash").get<std::string>();
        ++expect;
    }
    CHECK(from.hash == prev);

    // Each line stands alone: the exfiltrating curl names its pod, itself
    // and its parent, with entity ids a consumer can join on.
    const Proc payload{18294, at(1042, 900'111'222)};
    const Proc curl{18296, at(1043, 200'000'002)};
    bool seen = false;
    for (const auto& l : lines) {
        if (l.at("kind") != "connect" || l.at("process").at("tgid") != 18296) continue;
        seen = true;
        CHECK(l.at("node") == "node-1");
        CHECK(l.at("process").at("entity_id") == entity(curl.tgid, curl.start_ns));
        CHECK(l.at("parent").at("entity_id") == entity(payload.tgid, payload.start_ns));
        CHECK(l.at("parent").at("tgid") == 18294);
        CHECK(l.at("process").at("binary") == "/usr/bin/curl");
        CHECK(l.at("pod").at("name") == kIncidentPodName);
        CHECK(l.at("pod").at("namespace") == kIncidentNamespace);
        CHECK(l.at("pod").at("container") == kIncidentContainer);
        // What containerd's bundle named it (the fixture's containers row).
        CHECK(l.at("pod").at("container_name") == "my-app");
        CHECK(l.at("pod").at("image") == "registry.example.test/shop/my-app:2.3.1");
        CHECK(l.at("connect").at("daddr") == "93.184.216.34");
        CHECK(l.at("time").get<std::string>().starts_with("2026-04-22T09:0"));
    }
    CHECK(seen);
}

TEST_CASE("a restarted export goes on after the last batch, none skipped or repeated", "[export][cursor]") {
    TempDir dir;
    const std::string path = dir / "many.db";
    many_batches().write(path);

    ExportPosition whole_pos;
    Collected whole;
    REQUIRE(export_from(path, whole_pos, whole).ok());
    REQUIRE(whole.positions.size() > 100);

    // Stopped after 37 batches, then after 50 more, then to the end.
    ExportPosition pos;
    Collected parts;
    CHECK_FALSE(export_from(path, pos, parts, ExportFormat::jsonl, {}, 37).ok());
    CHECK(pos == whole.positions[36]);
    CHECK_FALSE(export_from(path, pos, parts, ExportFormat::jsonl, {}, 50).ok());
    CHECK(pos == whole.positions[86]);
    REQUIRE(export_from(path, pos, parts).ok());
    CHECK(pos == whole_pos);
    // The very same bytes: processes that began before the restart are
    // described as if the export had read their batches itself.
    CHECK(parts.text == whole.text);

    // At the end, nothing more.
    Collected none;
    REQUIRE(export_from(path, pos, none).ok());
    CHECK(none.text.empty());
}

TEST_CASE("an export stopped between batches ends at the last batch it printed, reader thread and all",
          "[export][cursor]") {
    // The rows are read ahead on another thread: stopping, and a stop
    // right at the start, must neither hang nor print a batch too many.
    TempDir dir;
    const std::string path = dir / "many.db";
    many_batches().write(path);
    ExportPosition whole_pos;
    Collected whole;
    REQUIRE(export_from(path, whole_pos, whole).ok());
    REQUIRE(whole.positions.size() > 100);

    for (int stop_after : {0, 1, 60}) {
        auto e = JournalExport::open(path, ExportFormat::jsonl, {});
        REQUIRE(e.ok());
        ExportPosition pos;
        int printed = 0;
        auto stats = e->run(
            pos,
            [&](std::string_view, const ExportPosition&) -> Status {
                ++printed;
                return Ok{};
            },
            [&] { return printed >= stop_after; });
        REQUIRE(stats.ok());
        CHECK(printed == stop_after);
        CHECK(stats->batches == stop_after);
        CHECK(pos == (stop_after == 0 ? ExportPosition{} : whole.positions[static_cast<size_t>(stop_after - 1)]));
    }
}

TEST_CASE("a row out of batch order stops the export with one line, from the reader thread", "[export]") {
    TempDir dir;
    const std::string path = dir / "many.db";
    many_batches().write(path);
    {
        // A fork row moved back into an earlier batch: later in rowid
        // order than that batch's rows (as no writer writes it).
        auto db = Database::open_write(path);
        REQUIRE(db.ok());
        REQUIRE(db->exec("UPDATE fork SET batch = 2 WHERE rowid = (SELECT max(rowid) FROM fork)").ok());
    }
    ExportPosition pos;
    Collected c;
    auto stats = export_from(path, pos, c);
    REQUIRE_FALSE(stats.ok());
    CHECK_THAT(stats.error().message, Catch::Contains("journal rows are out of batch order: fork row"));
    CHECK_THAT(stats.error().message, Catch::Contains(path));
    // What came before the bad row was printed, and the position is after it.
    CHECK(!c.positions.empty());
    CHECK(pos == c.positions.back());
}

TEST_CASE("a cursor that does not belong to the journal is refused", "[export][cursor]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    Collected c;
    ExportPosition wrong{2, std::string(64, 'a')};
    auto r = export_from(path, wrong, c);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("incident.db") && Catch::Contains("another hash"));
    ExportPosition beyond{999, std::string(64, 'a')};
    r = export_from(path, beyond, c);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("ends at batch"));
    CHECK(c.text.empty());
}

TEST_CASE("batches pruned before they were exported are named once", "[export][cursor][retention]") {
    TempDir dir;
    const std::string path = dir / "many.db";
    many_batches().write(path);
    ExportPosition pos;
    Collected first;
    CHECK_FALSE(export_from(path, pos, first, ExportFormat::jsonl, {}, 3).ok());
    REQUIRE(pos.batch == 3);
    {
        auto w = JournalWriter::open(path);
        REQUIRE(w.ok());
        auto p = w->prune_through(10, "max-size", 2'000'000'000'000);
        REQUIRE(p.ok());
    }
    Collected rest;
    auto r = export_from(path, pos, rest);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    const auto lines = parse_lines(rest.text);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines[0].at("kind") == "pruned");
    CHECK(lines[0].at("pruned").at("from_batch") == 4);
    CHECK(lines[0].at("pruned").at("through_batch") == 10);
    CHECK(lines[1].at("batch") == 11);
    int pruned = 0, prune = 0;
    for (const auto& l : lines) {
        pruned += l.at("kind") == "pruned";
        prune += l.at("kind") == "prune";
    }
    CHECK(pruned == 1);
    CHECK(prune == 1);  // the prune's own row, in its batch
}

TEST_CASE("export selectors keep process lines of the selection and every batch line", "[export]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    ExportFilter f;
    f.pod = kIncidentNamespace + "/" + kIncidentPodName;
    ExportPosition pos;
    Collected c;
    REQUIRE(export_from(path, pos, c, ExportFormat::jsonl, f).ok());
    const auto lines = parse_lines(c.text);
    int batch_lines = 0, process_lines = 0;
    for (const auto& l : lines) {
        if (l.at("kind") == "batch") ++batch_lines;
        if (!l.contains("process")) continue;
        ++process_lines;
        CHECK(l.at("pod").at("uid") == kIncidentPodUid);
    }
    CHECK(batch_lines == count_rows(path, "batches"));
    CHECK(process_lines > 5);

    ExportFilter by_pid;
    by_pid.pid = 19000;  // journalctl, on the host
    Collected h;
    ExportPosition pos2;
    REQUIRE(export_from(path, pos2, h, ExportFormat::jsonl, by_pid).ok());
    for (const auto& l : parse_lines(h.text)) {
        if (l.contains("process")) CHECK(l.at("process").at("tgid") == 19000);
    }
}

TEST_CASE("ECS lines carry the documented fields", "[export][ecs]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    ExportPosition pos;
    Collected c;
    REQUIRE(export_from(path, pos, c, ExportFormat::ecs).ok());
    bool exec_seen = false, connect_seen = false, exit_seen = false;
    for (const auto& l : parse_lines(c.text)) {
        CHECK(l.contains("@timestamp"));
        CHECK(l.at("host").at("name") == "node-1");
        CHECK(l.at("event").contains("kind"));
        CHECK(l.at("lineage").contains("batch"));
        const std::string action = l.at("event").at("action");
        if (action == "exec" && l.at("process").at("pid") == 18296) {
            exec_seen = true;
            CHECK(l.at("event").at("category") == json::array({"process"}));
            CHECK(l.at("event").at("type") == json::array({"start"}));
            CHECK(l.at("process").at("entity_id") == entity(18296, at(1043, 200'000'002)));
            CHECK(l.at("process").at("parent").at("entity_id") == entity(18294, at(1042, 900'111'222)));
            CHECK(l.at("process").at("executable") == "/usr/bin/curl");
            CHECK(l.at("process").at("args").size() == 4);
            CHECK(l.at("process").contains("start"));
            CHECK(l.at("orchestrator").at("resource").at("name") == kIncidentPodName);
            CHECK(l.at("container").at("id") == kIncidentContainer);
            CHECK(l.at("container").at("name") == "my-app");
            CHECK(l.at("container").at("image").at("name") == "registry.example.test/shop/my-app:2.3.1");
        }
        if (action == "connect" && l.at("process").at("pid") == 18296) {
            connect_seen = true;
            CHECK(l.at("destination").at("ip") == "93.184.216.34");
            CHECK(l.at("destination").at("port") == 80);
            CHECK(l.at("event").at("category") == json::array({"network"}));
        }
        if (action == "exit" && l.at("process").at("pid") == 18296) {
            exit_seen = true;
            CHECK(l.at("process").at("exit_code") == 0);
            CHECK(l.at("event").at("type") == json::array({"end"}));
        }
    }
    CHECK(exec_seen);
    CHECK(connect_seen);
    CHECK(exit_seen);
}

TEST_CASE("ECS lines of schema version 8: the executed file, its hash, a listen", "[export][ecs]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    append_v8_run(path);
    ExportPosition pos;
    Collected c;
    REQUIRE(export_from(path, pos, c, ExportFormat::ecs).ok());
    int exec_files = 0, hashes = 0, listens = 0;
    for (const auto& l : parse_lines(c.text)) {
        const std::string action = l.at("event").at("action");
        if (action == "exec_file") {
            ++exec_files;
            CHECK(l.at("event").at("category") == json::array({"process", "file"}));
            CHECK(l.at("event").at("type") == json::array({"info"}));
            CHECK(l.at("process").at("entity_id") == entity(kV8Script, kV8ScriptStart));
            const json& file = l.at("file");
            if (l.at("lineage").at("script") == true) {
                // process.executable stays the path given to execve, as on
                // every line of the process; file.* is what the kernel ran.
                CHECK(l.at("process").at("executable") == "/tmp/run.sh");
                CHECK(file.at("path") == "/usr/bin/dash");
                CHECK(file.at("inode") == "1234567");
                CHECK(file.at("device") == "2049");
                CHECK(file.at("mode") == "0755");
                CHECK(file.at("type") == "file");
                CHECK(file.at("size") == 125560);
                CHECK(l.at("process").at("user").at("id") == "1000");
            } else {
                CHECK(file.at("path_b64").get<std::string>().size() > 0);
                CHECK(file.at("mode") == "4755");
                // A setuid exec: ECS's user is the effective one after it.
                CHECK(l.at("process").at("user").at("id") == "0");
                CHECK(l.at("process").at("real_user").at("id") == "1000");
                CHECK(l.at("process").at("group").at("id") == "0");
                CHECK(l.at("lineage").at("before").at("euid") == 1000);
                CHECK(l.at("lineage").at("privilege_change") == true);
            }
            CHECK_FALSE(file.contains("hash"));
        }
        if (action == "file_hash") {
            ++hashes;
            CHECK(l.at("event").at("category") == json::array({"file"}));
            CHECK_FALSE(l.contains("process"));
            if (l.at("lineage").at("problem") == "") {
                CHECK(l.at("event").at("outcome") == "success");
                CHECK(l.at("file").at("hash").at("sha256") == kV8Sha256);
                CHECK(l.at("file").at("path") == "/usr/bin/dash");
            } else {
                CHECK(l.at("event").at("outcome") == "failure");
                CHECK_FALSE(l.at("file").contains("hash"));
            }
        }
        if (action == "listen") {
            ++listens;
            CHECK(l.at("event").at("category") == json::array({"network"}));
            CHECK(l.at("event").at("type") == json::array({"start"}));
            CHECK(l.at("process").at("pid") == kV8Server);
            CHECK(l.at("server").at("port") == 4444);
            CHECK(l.at("network").at("transport") == "tcp");
            const bool v6 = l.at("network").at("type") == "ipv6";
            CHECK(l.at("server").at("ip") == (v6 ? "::" : "0.0.0.0"));
        }
    }
    CHECK(exec_files == 2);
    CHECK(hashes == 2);
    CHECK(listens == 2);
}

TEST_CASE("exec_file, file_hash and listen lines carry every column", "[export]") {
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    append_v8_run(path);
    ExportPosition pos;
    Collected c;
    REQUIRE(export_from(path, pos, c).ok());
    std::vector<json> files, hashes, listens;
    std::map<int64_t, std::vector<std::string>> kinds_of_batch;
    for (const auto& l : parse_lines(c.text)) {
        const std::string kind = l.at("kind");
        kinds_of_batch[l.at("batch").get<int64_t>()].push_back(kind);
        if (kind == "exec_file") files.push_back(l);
        if (kind == "file_hash") hashes.push_back(l);
        if (kind == "listen") listens.push_back(l);
    }
    REQUIRE(files.size() == 2);
    REQUIRE(hashes.size() == 2);
    REQUIRE(listens.size() == 2);

    // A process line like exec's: the process (its latest image at the
    // time), its parent and pod, and the file the exec ran.
    const json& script = files[0];
    CHECK(script.at("time_ns") == at(1301));
    CHECK(script.at("process").at("entity_id") == entity(kV8Script, kV8ScriptStart));
    CHECK(script.at("process").at("binary") == "/tmp/run.sh");
    CHECK(script.at("parent").at("tgid") == 1);
    CHECK(script.at("pod").is_null());
    const json& f1 = script.at("exec_file");
    CHECK(f1.at("path") == "/usr/bin/dash");
    CHECK(f1.at("dev") == 0x801);
    CHECK(f1.at("inode") == 1234567);
    CHECK(f1.at("links") == 1);
    CHECK(f1.at("size") == 125560);
    CHECK(f1.at("mode") == 0100755);
    CHECK(f1.at("mtime_ns") == kWall0 - 86'400'000'000'000 + 17);
    CHECK(f1.at("mtime") == "2026-04-21T09:00:00.000000017Z");
    CHECK(f1.at("flags") == (kFileScript | kFileUpperKnown));
    CHECK(f1.at("script") == true);
    CHECK(f1.at("upper_layer") == false);
    CHECK(f1.at("memfd") == false);
    CHECK(f1.at("overlay") == false);
    CHECK(f1.at("interpreter") == "/bin/sh");
    CHECK(f1.at("privilege_change") == false);
    CHECK(
        f1.at("before") ==
        json{{"uid", 1000}, {"gid", 1000}, {"euid", 1000}, {"egid", 1000}, {"cap_permitted", 0}, {"cap_effective", 0}});

    const json& memfd = files[1];
    CHECK(memfd.at("process").at("binary") == "/proc/self/fd/3");
    const json& f2 = memfd.at("exec_file");
    // Bytes the caller chose: replaced for the text, exact in base64.
    CHECK(f2.at("path").get<std::string>().find("\xff") == std::string::npos);
    CHECK(f2.at("path_b64") == "L21lbWZkOnj/G1sySiAoZGVsZXRlZCk=");
    CHECK(f2.at("links") == 0);
    for (const char* flag :
         {"memfd", "deleted", "upper_layer", "overlay", "secureexec", "path_truncated", "interpreter_truncated"}) {
        INFO(flag);
        CHECK(f2.at(flag) == true);
    }
    CHECK(f2.at("script") == false);
    CHECK(f2.at("interpreter") == "");
    CHECK(f2.at("after").at("euid") == 0);
    CHECK(f2.at("after").at("uid") == 1000);
    CHECK(f2.at("after").at("cap_permitted") == 0x1ffffffffffLL);
    CHECK(f2.at("privilege_change") == true);

    // The exec without a file has no exec_file line; the file came in the
    // exec's batch, after the batch's exec lines.
    CHECK(script.at("batch") == memfd.at("batch"));
    const auto& of_batch = kinds_of_batch[script.at("batch").get<int64_t>()];
    CHECK(std::count(of_batch.begin(), of_batch.end(), "exec") == 3);

    CHECK(hashes[0].at("file_hash") == json{{"dev", 0x801},
                                            {"inode", 1234567},
                                            {"size", 125560},
                                            {"mtime_ns", kWall0 - 86'400'000'000'000 + 17},
                                            {"mtime", "2026-04-21T09:00:00.000000017Z"},
                                            {"path", "/usr/bin/dash"},
                                            {"sha256", kV8Sha256},
                                            {"problem", ""}});
    CHECK_FALSE(hashes[0].contains("process"));
    CHECK(hashes[1].at("file_hash").at("sha256") == "");
    CHECK(hashes[1].at("file_hash").at("problem") == "gone");
    CHECK(hashes[1].at("file_hash").contains("path_b64"));

    CHECK(listens[0].at("process").at("entity_id") == entity(kV8Server, kV8ServerStart));
    CHECK(listens[0].at("process").at("binary") == "/usr/bin/nc");
    CHECK(listens[0].at("listen") == json{{"family", 4}, {"addr", "0.0.0.0"}, {"port", 4444}});
    CHECK(listens[1].at("listen") == json{{"family", 6}, {"addr", "::"}, {"port", 4444}});

    // --pid selects the process lines of the new kinds as it does exec's;
    // file_hash lines are not a process's, and stay.
    ExportFilter by_pid;
    by_pid.pid = kV8Server;
    Collected h;
    ExportPosition pos2;
    REQUIRE(export_from(path, pos2, h, ExportFormat::jsonl, by_pid).ok());
    int listen_lines = 0, exec_file_lines = 0, hash_lines = 0;
    for (const auto& l : parse_lines(h.text)) {
        listen_lines += l.at("kind") == "listen";
        exec_file_lines += l.at("kind") == "exec_file";
        hash_lines += l.at("kind") == "file_hash";
    }
    CHECK(listen_lines == 2);
    CHECK(exec_file_lines == 0);
    CHECK(hash_lines == 2);
}

TEST_CASE("export lines match schema/export.schema.json, and the schema rejects drift", "[export][json_schema]") {
    const std::string python = "/usr/bin/python3";
    INFO("needs /usr/bin/python3 with jsonschema: apt-get install python3-jsonschema");
    REQUIRE(run_process({python, "-c", "import jsonschema"}, "/").status == 0);
    TempDir dir;
    const std::string path = dir / "incident.db";
    incident_fixture().write(path);
    append_v8_run(path);
    ExportPosition pos;
    Collected c;
    REQUIRE(export_from(path, pos, c).ok());
    auto lines = parse_lines(c.text);
    // Bytes that are not UTF-8 come out replaced, with their base64.
    {
        FixtureJournal fx;
        Proc p = FixtureJournal::proc(4242, at(1000, 123'456'789));
        fx.fork(Proc{1, 500'000'000}, p, at(1000, 123'456'789));
        fx.exec(p, "/tmp/\xff\x1b[2J", {"x\xfe", "ok"}, at(1000, 200'000'000));
        fx.write(dir / "hostile.db");
        ExportPosition hp;
        Collected hc;
        REQUIRE(export_from(dir / "hostile.db", hp, hc).ok());
        for (auto& l : parse_lines(hc.text)) {
            if (l.at("kind") == "exec") {
                CHECK(l.at("process").contains("binary_b64"));
                CHECK(l.at("process").contains("args_b64"));
            }
            lines.push_back(l);
        }
    }
    std::vector<std::string> cmd{python, "-m", "jsonschema", "--output", "pretty"};
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string f = dir / fmt::format("line{}.json", i);
        write_file(f, lines[i].dump());
        cmd.push_back("-i");
        cmd.push_back(f);
    }
    cmd.push_back(std::string(LINEAGE_SOURCE_DIR) + "/schema/export.schema.json");
    RunResult ok = run_process(cmd, "/");
    INFO(ok.out + ok.err);
    CHECK(ok.status == 0);
    CHECK((ok.out + ok.err).find("ValidationError") == std::string::npos);

    // Drift the schema must catch.
    json exec_line;
    for (const auto& l : lines)
        if (l.at("kind") == "exec") exec_line = l;
    std::vector<json> bad;
    bad.push_back(exec_line);
    bad.back().erase("parent");
    bad.push_back(exec_line);
    bad.back()["process"]["extra"] = 1;
    bad.push_back(exec_line);
    bad.back()["process"]["entity_id"] = "not-hex";
    bad.push_back(exec_line);
    bad.back()["kind"] = "exit";
    bad.push_back(exec_line);
    bad.back()["time"] = "2026-04-22 09:00";
    json exec_file_line;
    for (const auto& l : lines)
        if (l.at("kind") == "exec_file") exec_file_line = l;
    REQUIRE(exec_file_line.is_object());
    bad.push_back(exec_file_line);
    bad.back()["exec_file"].erase("after");
    bad.push_back(exec_file_line);
    bad.back()["exec_file"]["upper_layer"] = "unknown";
    bad.push_back(exec_file_line);
    bad.back()["exec_file"]["before"]["extra"] = 1;
    bad.push_back(exec_file_line);
    bad.back()["kind"] = "listen";
    for (size_t i = 0; i < bad.size(); ++i) {
        const std::string f = dir / fmt::format("bad{}.json", i);
        write_file(f, bad[i].dump());
        RunResult r = run_process(
            {python, "-m", "jsonschema", "-i", f, std::string(LINEAGE_SOURCE_DIR) + "/schema/export.schema.json"}, "/");
        INFO(i << ": " << bad[i].dump());
        CHECK(r.status != 0);
    }
}

TEST_CASE("export --cursor --output: killed mid-stream and restarted, every batch is written exactly once",
          "[export][cursor][cli]") {
    TempDir dir;
    many_batches().write(dir / "many.db");
    RunResult clean = run_lineage({"export", "--journal", "many.db", "--output", "clean.jsonl"}, dir.path());
    REQUIRE(clean.status == 0);
    const std::string expected = read_file(dir / "clean.jsonl");
    REQUIRE(expected.size() > 100'000);

    // SIGKILL at growing delays until a run gets to the end by itself. The
    // delays grow by half each time: under ASan, where a run's start-up alone
    // takes a fair share of a second, a linear step took minutes.
    int kills = 0;
    for (int delay_us = 2'000;; delay_us += delay_us / 2) {
        REQUIRE(delay_us < 20'000'000);
        pid_t pid = spawn_lineage({"export", "--journal", "many.db", "--cursor", "c.json", "--output", "out.jsonl"},
                                  dir.path());
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (WIFEXITED(status)) {
            REQUIRE(WEXITSTATUS(status) == 0);
            break;
        }
        ++kills;
    }
    INFO(kills << " kills");
    CHECK(kills >= 1);
    const std::string got = read_file(dir / "out.jsonl");
    // Byte for byte what one uninterrupted export writes: every batch once.
    CHECK(got == expected);
    std::set<int64_t> batches;
    for (const auto& l : parse_lines(got)) {
        if (l.at("kind") == "batch") CHECK(batches.insert(l.at("batch").get<int64_t>()).second);
    }
    CHECK(static_cast<int64_t>(batches.size()) == count_rows(dir / "many.db", "batches"));

    // Run again: nothing new, nothing repeated.
    RunResult again =
        run_lineage({"export", "--journal", "many.db", "--cursor", "c.json", "--output", "out.jsonl"}, dir.path());
    CHECK(again.status == 0);
    CHECK(read_file(dir / "out.jsonl") == expected);
}

TEST_CASE("export on stdout with --cursor prints only what is new", "[export][cursor][cli]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    RunResult first = run_lineage({"export", "--journal", "incident.db", "--cursor", "c.json"}, dir.path());
    REQUIRE(first.status == 0);
    CHECK_FALSE(first.out.empty());
    const json cursor = json::parse(read_file(dir / "c.json"));
    CHECK(cursor.at("format") == "lineage-export-cursor-1");
    CHECK(cursor.at("journals").at("incident.db").at("batch") == count_rows(dir / "incident.db", "batches"));
    RunResult second = run_lineage({"export", "--journal", "incident.db", "--cursor", "c.json"}, dir.path());
    CHECK(second.status == 0);
    CHECK(second.out.empty());
}

TEST_CASE("export refuses bad arguments and bad files with one line, changing nothing", "[export][cli]") {
    TempDir dir;
    incident_fixture().write(dir / "incident.db");
    const int64_t mtime = lineage::test::mtime_ns(dir / "incident.db");
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    write_file(dir / "bad-cursor.json", "{\"format\": \"something else\"}");
    write_file(dir / "short.jsonl", "");
    write_file(dir / "ahead.json",
               R"({"format":"lineage-export-cursor-1","journals":{"incident.db":{"batch":0,"hash":""}},)"
               R"("output_bytes":100})");
    const std::vector<Case> cases{
        {{"--format", "xml"}, "--format: 'xml' is not one of jsonl, ecs"},
        {{"--since", "yesterday-ish"}, "--since"},
        {{"--cursor", "bad-cursor.json"}, "bad-cursor.json: not a lineage export cursor"},
        {{"--cursor", "ahead.json", "--output", "short.jsonl"}, "short.jsonl: has 0 bytes"},
        {{"--journal", "missing.db"}, "missing.db"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"export", "--journal", "incident.db"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        RunResult r = run_lineage(args, dir.path());
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains(c.message));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.out.empty());
    }
    CHECK(read_file(dir / "short.jsonl").empty());
    CHECK(lineage::test::mtime_ns(dir / "incident.db") == mtime);
    CHECK_FALSE(std::filesystem::exists(dir / "incident.db-wal"));
}

TEST_CASE("export --follow prints batches as a live writer commits them, and stops cleanly", "[export][follow][cli]") {
    TempDir dir;
    const std::string path = dir / "live.db";
    // A live journal: the writer stays open in WAL mode, as a recorder does.
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    RunInfo info;
    info.boot_id = RunOptions{}.boot_id;
    info.node = "node-live";
    info.started_ns = static_cast<int64_t>(at(1000));
    info.started_wall_ns = kWall0;
    info.version = "test";
    REQUIRE(w->begin_run(info).ok());
    REQUIRE(w->commit(static_cast<int64_t>(at(1000, 1))).ok());
    REQUIRE(std::filesystem::exists(path + "-wal"));

    pid_t pid = spawn_lineage(
        {"export", "--journal", "live.db", "--follow", "--cursor", "c.json", "--output", "out.jsonl"}, dir.path());
    auto batches_out = [&] {
        int64_t n = 0;
        for (const auto& l : parse_lines(read_file(dir / "out.jsonl"))) n += l.at("kind") == "batch";
        return n;
    };
    auto wait_for = [&](int64_t n) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (batches_out() < n && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return batches_out();
    };
    CHECK(wait_for(1) == 1);
    // Three more batches, one at a time: each is out within about a second.
    for (int b = 2; b <= 4; ++b) {
        ExecEvent e;
        e.time_ns = at(1000 + static_cast<uint64_t>(b));
        e.proc = {static_cast<uint32_t>(5000 + b), at(1000 + static_cast<uint64_t>(b))};
        e.binary = "/bin/true";
        e.argv = std::string("true\0", 5);
        REQUIRE(w->add(Event{e}, "").ok());
        REQUIRE(w->commit(static_cast<int64_t>(e.time_ns)).ok());
        const auto committed = std::chrono::steady_clock::now();
        CHECK(wait_for(b) == b);
        CHECK(std::chrono::steady_clock::now() - committed < std::chrono::milliseconds(1500));
    }
    kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const json cursor = json::parse(read_file(dir / "c.json"));
    CHECK(cursor.at("journals").at("live.db").at("batch") == 4);
    CHECK(cursor.at("output_bytes") == static_cast<int64_t>(read_file(dir / "out.jsonl").size()));
    int execs = 0;
    for (const auto& l : parse_lines(read_file(dir / "out.jsonl"))) execs += l.at("kind") == "exec";
    CHECK(execs == 3);
}

TEST_CASE("export --follow --until stops once the journal's batches pass --until", "[export][follow][cli]") {
    TempDir dir;
    const std::string path = dir / "live.db";
    auto w = JournalWriter::open(path);
    REQUIRE(w.ok());
    RunInfo info;
    info.boot_id = RunOptions{}.boot_id;
    info.node = "node-live";
    info.started_ns = static_cast<int64_t>(at(1000));
    // The journal's clock is this machine's: at(1000) is now.
    const int64_t now_wall =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    info.started_wall_ns = now_wall;
    info.version = "test";
    REQUIRE(w->begin_run(info).ok());
    REQUIRE(w->commit(static_cast<int64_t>(at(1000, 1))).ok());
    // --until in 30 s: a batch the journal says was committed 10 s after
    // at(1000) is in, one 60 s after is past, and ends the follow long
    // before this machine's clock passes --until.
    pid_t pid = spawn_lineage({"export", "--journal", "live.db", "--follow", "--until",
                               fmt::format("@{}", now_wall / 1'000'000'000 + 30), "--output", "out.jsonl"},
                              dir.path());
    auto add_batch = [&](uint64_t sec, uint32_t tgid) {
        ExecEvent e;
        e.time_ns = at(sec);
        e.proc = {tgid, at(sec)};
        e.binary = "/bin/true";
        e.argv = std::string("true\0", 5);
        REQUIRE(w->add(Event{e}, "").ok());
        REQUIRE(w->commit(static_cast<int64_t>(e.time_ns)).ok());
    };
    auto exited = [&](std::chrono::milliseconds within, int& status) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    };
    int status = 0;
    add_batch(1010, 5001);
    // Within --until: it keeps following.
    CHECK_FALSE(exited(std::chrono::milliseconds(1500), status));
    add_batch(1060, 5002);
    const bool stopped = exited(std::chrono::milliseconds(5000), status);
    CHECK(stopped);
    if (!stopped) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    std::set<int64_t> tgids;
    int64_t batches = 0;
    for (const auto& l : parse_lines(read_file(dir / "out.jsonl"))) {
        if (l.at("kind") == "exec") tgids.insert(l.at("process").at("tgid").get<int64_t>());
        batches += l.at("kind") == "batch";
    }
    CHECK(tgids == std::set<int64_t>{5001});
    CHECK(batches == 2);
}

TEST_CASE("export --since prints the batches from --since on, each as the whole export prints it", "[export]") {
    TempDir dir;
    const std::string path = dir / "many.db";
    many_batches().write(path);
    // The whole export, batch by batch (the sink gets one batch's lines a call).
    std::vector<std::string> chunks;
    auto e = JournalExport::open(path, ExportFormat::jsonl, {});
    REQUIRE(e.ok());
    ExportPosition all;
    REQUIRE(e->run(all, [&](std::string_view lines, const ExportPosition&) -> Status {
                 chunks.emplace_back(lines);
                 return Ok{};
             }).ok());
    REQUIRE(chunks.size() > 100);
    // A batch's commit time is its batch line's time_ns (boot), on the
    // fixture's one clock sample.
    auto commit_wall = [](const std::string& chunk) {
        const auto lines = parse_lines(chunk);
        REQUIRE(lines.back().at("kind") == "batch");
        return lines.back().at("time_ns").get<int64_t>() - static_cast<int64_t>(kBoot0) + kWall0;
    };
    const int64_t since = commit_wall(chunks[chunks.size() / 2]);
    std::string expected;
    size_t left_out = 0;
    for (const auto& c : chunks) {
        if (commit_wall(c) >= since) {
            expected += c;
        } else {
            ++left_out;
        }
    }
    REQUIRE(left_out > 50);
    ExportFilter f;
    f.since_wall_ns = since;
    ExportPosition pos;
    Collected part;
    REQUIRE(export_from(path, pos, part, ExportFormat::jsonl, f).ok());
    // The batches before --since were read (the processes they fork live on
    // into the window) but print nothing: the rest is the whole export's.
    CHECK(part.text == expected);
    CHECK(pos == all);
}

}  // namespace test_export
