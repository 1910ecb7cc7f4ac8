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
#include "pods.h"

namespace test_pods_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace fs = std::filesystem;

TEST_CASE("a fake pod: fork-only children, an IPv6 subshell, pre-fork workers and a moved process", "[pods]") {
    const std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    const std::string top = unique_name("pods");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string container = container_id_for("c0ffee");
    const std::string pod_path = kubelet_cgroup_path(top, pod_uid, container);
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
        const json doc = reconstruct_doc(journal, {"--pod", name});
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
    require_runc();
    const std::string top = unique_name("runc");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string container = container_id_for("a11ce");
    const std::string name = fmt::format("runcpod-{}", getpid());

    // The bundle: busybox-static as the root file system, the container in
    // the host's network namespace (to reach the test's listener), in a
    // cgroup shaped like the kubelet's cgroupfs driver's.
    TempDir dir;
    RuncBundle bundle(dir / "bundle", {"sh", "nc", "timeout", "true"});
    Listener v4("127.0.0.1");
    bundle.config["process"]["args"] = {"/bin/sh", "-c",
                                        // Nothing answers the listener: nc is stopped after 1 s.
                                        fmt::format("timeout 1 nc 127.0.0.1 {} </dev/null; (true); exit 0", v4.port())};
    bundle.config["hostname"] = name;
    bundle.config["linux"]["cgroupsPath"] = kubelet_cgroup_path(top, pod_uid, container);
    bundle.write();

    auto rec = start_record(dir / "j.db");
    const std::string id = top;
    RunResult run = runc_run(dir / "runc-state", bundle.dir(), id);
    INFO("runc stdout:\n" << run.out << "stderr:\n" << run.err);
    CHECK(!run.timed_out);
    CHECK(run.exit_code == 0);
    rec->stop();
    runc_delete(dir / "runc-state", id);

    const json doc = reconstruct_doc(dir / "j.db", {"--pod", name});
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

}  // namespace test_pods_e2e
