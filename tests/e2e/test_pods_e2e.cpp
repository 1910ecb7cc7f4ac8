// Whole pods with the real probes: processes that enter a pod's cgroup by a
// fork that never execs, by a move, and through a real container runtime
// (Debian's runc, busybox-static as the root file system), checked through
// `lineage reconstruct --pod NAME --format json`.
//
// Each test makes cgroups of its own, under a name unique to the test run
// (lineage-e2e-pods-PID-N) in cgroup v2 and in every cgroup v1 hierarchy
// the runtime touches, shaped like the kubelet's (cgroupfs driver:
// .../kubepods/besteffort/pod<UID>/<container>), and removes them again.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "helpers.h"

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

// A name no other test run uses at the same time.
std::string unique_name(const char* what) {
    static int n = 0;
    return fmt::format("lineage-e2e-{}-{}-{}", what, getpid(), ++n);
}

std::string pod_uid_for(const std::string& unique) {
    const size_t h = std::hash<std::string>()(unique);
    return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", static_cast<uint32_t>(h), getpid() & 0xffff,
                       (h >> 32) & 0xfff, (h >> 44) & 0xfff, static_cast<uint64_t>(getpid()) * 7919);
}

// Every cgroup directory under `top` in every hierarchy (cgroup v2 and v1)
// is emptied and removed, deepest first: what the test and the runtime
// made. Processes still in them (a test that failed half way) are killed.
void remove_cgroup_trees(const std::string& top) {
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup")) {
        const fs::path root = hierarchy.path() / top;
        std::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        std::vector<fs::path> dirs{root};
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory(ec)) dirs.push_back(it->path());
        }
        std::sort(dirs.begin(), dirs.end(),
                  [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
        for (const auto& d : dirs) {
            for (int attempt = 0; attempt < 50 && rmdir(d.c_str()) != 0; ++attempt) {
                std::ifstream procs(d / "cgroup.procs");
                for (pid_t pid; procs >> pid;) kill(pid, SIGKILL);
                std::this_thread::sleep_for(20ms);
            }
        }
    }
}

struct CgroupCleanup {
    std::string top;
    ~CgroupCleanup() { remove_cgroup_trees(top); }
};

json reconstruct(const std::string& journal, const Args& extra) {
    Args argv{LINEAGE_BIN, "reconstruct", "--journal", journal, "--format", "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    RunResult r = run_argv(argv, {}, 60s);
    INFO("lineage reconstruct " << join_args(extra) << "\nstderr:\n" << r.err << "\nstdout:\n" << r.out);
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == 0);
    json doc;
    REQUIRE_NOTHROW(doc = json::parse(r.out));
    return doc;
}

void collect(const json& node, std::vector<json>& out) {
    out.push_back(node);
    for (const auto& c : node.at("children")) collect(c, out);
}

std::vector<json> nodes_of(const json& doc) {
    std::vector<json> out;
    for (const auto& t : doc.at("trees")) collect(t, out);
    return out;
}

std::vector<json> children_of(const json& node) {
    return node.at("children").get<std::vector<json>>();
}

bool connects_to(const json& node, const std::string& daddr, int dport) {
    for (const auto& c : node.at("connects")) {
        if (c.at("daddr") == daddr && c.at("dport") == dport && c.at("result") == "established") return true;
    }
    return false;
}

bool execs_binary(const json& node, const std::string& base) {
    for (const auto& e : node.at("execs")) {
        const std::string b = e.at("binary");
        if (b == base ||
            (b.size() > base.size() && b.compare(b.size() - base.size() - 1, std::string::npos, "/" + base) == 0))
            return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a fake pod: fork-only children, an IPv6 subshell, pre-fork workers and a moved process", "[pods]") {
    const std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    const std::string top = unique_name("pods");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string container = fmt::format("{:0>64}", fmt::format("{:x}", getpid()) + "c0ffee");
    const std::string pod_path = "/" + top + "/kubepods/besteffort/pod" + pod_uid + "/" + container;
    const std::string cg = mount + pod_path;
    REQUIRE(fs::create_directories(cg));
    const std::string name = fmt::format("fakepod-{}", getpid());

    TempDir dir;
    Listener v4("127.0.0.1");
    Listener v6("::1");
    // One recorder of the whole node, one filtered to the test's cgroups in the kernel.
    auto all = start_record(dir / "all.db");
    auto filtered = start_record(dir / "filtered.db", {"--cgroup", "/" + top});

    // A process that runs on the host first and is moved into the pod; once
    // moved it connects (it waits for a file the test makes).
    const std::string go = dir / "go";
    const std::string marker = "lineage-moved-" + std::to_string(getpid());
    const pid_t moved = spawn("/usr/bin/python3",
                              {"/usr/bin/python3", "-c",
                               "import os, socket, sys, time\n"
                               "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
                               "socket.create_connection(('127.0.0.1', int(sys.argv[2]))).close()\n",
                               go, std::to_string(v4.port()), marker},
                              {}, -1, -1, -1);
    REQUIRE(moved > 0);
    std::this_thread::sleep_for(200ms);
    write_file(cg + "/cgroup.procs", std::to_string(moved));
    write_file(go, "");
    const auto moved_status = wait_for(moved, 20s);
    REQUIRE(moved_status);
    CHECK(describe_status(*moved_status) == "exit 0");

    // The pod: sh moves itself into the pod's cgroup and becomes unshare,
    // whose child is the pod's PID 1 in new UTS and PID namespaces.
    RunResult run = run_argv({"/bin/sh", "-c",
                              "echo $$ > " + cg +
                                  "/cgroup.procs && exec /usr/bin/unshare --uts --pid --fork "
                                  "/bin/bash " +
                                  source_dir() + "/tests/e2e/workload_pod.sh " + name + " " +
                                  std::to_string(v4.port()) + " " + std::to_string(v6.port())},
                             {}, 30s);
    INFO("workload stdout:\n" << run.out << "stderr:\n" << run.err);
    REQUIRE(!run.timed_out);
    REQUIRE(run.exit_code == 0);
    REQUIRE(parse_facts(run.out)["done"] == "1");
    all->stop();
    filtered->stop();

    for (const std::string& journal : {dir / "all.db", dir / "filtered.db"}) {
        INFO("journal " << journal);
        const json doc = reconstruct(journal, {"--pod", name});
        const auto nodes = nodes_of(doc);
        REQUIRE(!nodes.empty());
        // The pod's name is its UTS host name (no kubelet log directory
        // here), never the node's; nothing from the host leaks in.
        for (const auto& n : nodes) {
            INFO(n.dump());
            CHECK(n.at("pod").at("uid") == pod_uid);
            CHECK(n.at("pod").at("name") == name);
            CHECK(n.at("pod").at("container_id") == container);
        }
        // The moved process: in the pod from the move, with its connect.
        bool found_moved = false;
        for (const auto& n : nodes) {
            if (n.at("pid") != moved) continue;
            found_moved = true;
            CHECK(n.at("pod").at("entered") == "move");
            CHECK(connects_to(n, "127.0.0.1", v4.port()));
        }
        CHECK(found_moved);
        // The Python fork child, under its forker.
        const json* python = nullptr;
        for (const auto& n : nodes) {
            if (!execs_binary(n, "python3") || n.at("pid") == moved) continue;
            for (const auto& c : children_of(n)) {
                if (c.at("fork_of") == "python3" && children_of(n).size() == 1) python = &n;
            }
        }
        REQUIRE(python);
        const json child = children_of(*python)[0];
        CHECK(child.at("pod").at("entered") == "fork");
        CHECK(child.at("execs").empty());
        CHECK(child.at("exit").at("code") == 0);
        CHECK(connects_to(child, "127.0.0.1", v4.port()));
        CHECK(child.at("nspid") != child.at("pid"));  // its own PID namespace's number
        // The subshell, a fork of bash, connected over IPv6.
        size_t subshells = 0;
        for (const auto& n : nodes) {
            if (n.at("fork_of") == "bash" && connects_to(n, "::1", v6.port())) {
                ++subshells;
                CHECK(n.at("connects")[0].at("family") == "ipv6");
            }
        }
        CHECK(subshells == 1);
        // The pre-fork parent and its three workers, each with its connect.
        size_t prefork = 0;
        for (const auto& n : nodes) {
            if (!execs_binary(n, "python3") || children_of(n).size() != 3) continue;
            ++prefork;
            for (const auto& w : children_of(n)) {
                CHECK(w.at("fork_of") == "python3");
                CHECK(connects_to(w, "127.0.0.1", v4.port()));
            }
        }
        CHECK(prefork == 1);
        // The pod's PID 1, marked; it exec'd bash.
        size_t inits = 0;
        for (const auto& n : nodes) {
            if (n.at("pod").at("container_init") == true) {
                ++inits;
                CHECK(n.at("nspid") == 1);
                CHECK(execs_binary(n, "bash"));
            }
        }
        CHECK(inits == 1);
    }
    // The node's name never names the pod.
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    RunResult by_node = run_argv({LINEAGE_BIN, "reconstruct", "--journal", dir / "all.db", "--pod", host}, {}, 30s);
    CHECK(by_node.exit_code == 1);
}

TEST_CASE("a container started by runc: one tree from runc init down, its PID 1 marked", "[pods]") {
    INFO("needs runc and busybox-static (scripts/setup.sh installs them)");
    REQUIRE(fs::exists("/usr/sbin/runc"));
    REQUIRE(fs::exists("/bin/busybox"));
    const std::string top = unique_name("runc");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string container = fmt::format("{:0>64}", fmt::format("{:x}", getpid()) + "a11ce");
    const std::string name = fmt::format("runcpod-{}", getpid());

    // The bundle: busybox-static as the root file system, the container in
    // the host's network namespace (to reach the test's listener), in a
    // cgroup shaped like the kubelet's cgroupfs driver's.
    TempDir dir;
    const std::string bundle = dir / "bundle";
    fs::create_directories(bundle + "/rootfs/bin");
    for (const char* d : {"proc", "dev", "sys", "tmp"}) fs::create_directories(bundle + "/rootfs/" + d);
    fs::copy_file("/bin/busybox", bundle + "/rootfs/bin/busybox");
    for (const char* applet : {"sh", "nc", "timeout", "true"}) {
        fs::create_symlink("busybox", bundle + "/rootfs/bin/" + applet);
    }
    RunResult spec = run_argv({"/usr/sbin/runc", "spec", "--bundle", bundle}, {}, 20s);
    REQUIRE(spec.exit_code == 0);
    Listener v4("127.0.0.1");
    json config = json::parse(read_file(bundle + "/config.json"));
    config["process"]["terminal"] = false;
    config["process"]["args"] = {"/bin/sh", "-c",
                                 // Nothing answers the listener: nc is stopped after 1 s.
                                 fmt::format("timeout 1 nc 127.0.0.1 {} </dev/null; (true); exit 0", v4.port())};
    config["hostname"] = name;
    config["linux"]["cgroupsPath"] = "/" + top + "/kubepods/besteffort/pod" + pod_uid + "/" + container;
    json namespaces = json::array();
    for (const auto& ns : config["linux"]["namespaces"]) {
        if (ns.at("type") != "network") namespaces.push_back(ns);
    }
    config["linux"]["namespaces"] = namespaces;
    write_file(bundle + "/config.json", config.dump(2));

    auto rec = start_record(dir / "j.db");
    const std::string id = top;
    RunResult run = run_argv({"/usr/sbin/runc", "--root", dir / "runc-state", "run", "--bundle", bundle, id}, {}, 60s);
    INFO("runc stdout:\n" << run.out << "stderr:\n" << run.err);
    CHECK(!run.timed_out);
    CHECK(run.exit_code == 0);
    rec->stop();
    run_argv({"/usr/sbin/runc", "--root", dir / "runc-state", "delete", "--force", id}, {}, 20s);

    const json doc = reconstruct(dir / "j.db", {"--pod", name});
    // One tree for the pod, from runc init: the runtime's stages and the
    // container's PID 1 together, the runtime itself named as its parent.
    REQUIRE(doc.at("trees").size() == 1);
    const json& root = doc.at("trees")[0];
    INFO(root.dump(2));
    CHECK(root.at("outside_parent").at("comm") == "runc");
    CHECK(root.at("outside_parent").at("why") == "outside the pod");
    CHECK(root.at("pod").at("entered") == "move");
    REQUIRE(!root.at("execs").empty());
    const json& args = root.at("execs")[0].at("args");
    REQUIRE(args.size() == 2);
    CHECK(fs::path(args[0].get<std::string>()).filename() == "runc");
    CHECK(args[1] == "init");
    const auto nodes = nodes_of(doc);
    size_t stages = 0, inits = 0;
    for (const auto& n : nodes) {
        CHECK(n.at("pod").at("uid") == pod_uid);
        CHECK(n.at("pod").at("name") == name);
        if (n.at("fork_of") == "runc") ++stages;
        if (n.at("pod").at("container_init") == true) {
            ++inits;
            CHECK(n.at("nspid") == 1);
            CHECK(execs_binary(n, "sh"));
            // Its children: nc's connect, the subshell.
            bool nc = false;
            for (const auto& c : children_of(n)) nc = nc || connects_to(c, "127.0.0.1", v4.port());
            CHECK(nc);
        }
    }
    CHECK(stages >= 1);  // runc:[1:CHILD], which never execs
    CHECK(inits == 1);
}
