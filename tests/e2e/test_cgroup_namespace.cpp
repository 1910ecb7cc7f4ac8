// `lineage record` in a cgroup namespace of its own, as in a Kubernetes pod
// (containerd and CRI-O give every unprivileged container one on cgroup v2)
// with the host's hierarchy mounted (deploy/kubernetes): the /proc snapshot's
// cgroup paths, which /proc gives relative to that namespace, are written
// from the hierarchy's root, as the probes report them.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cgroupfs.h"
#include "helpers.h"

namespace test_cgroup_namespace {

using namespace e2e;
using namespace std::chrono_literals;

namespace {

// This test's cgroups, by its own name, removed at the end (children first).
struct TestCgroups {
    std::string mount;
    std::string name;
    std::vector<std::string> made;
    std::string make(const std::string& rel) {
        const std::string dir = mount + "/" + name + rel;
        REQUIRE(mkdir(dir.c_str(), 0755) == 0);
        made.push_back(dir);
        return dir;
    }
    ~TestCgroups() {
        for (auto it = made.rbegin(); it != made.rend(); ++it) rmdir(it->c_str());
    }
};

}  // namespace

TEST_CASE("record in a cgroup namespace of its own writes the snapshot's cgroup paths from the root",
          "[record][cgroupns]") {
    TestCgroups cg{lineage::find_cgroup2_mount(), "lineage-e2e-cgns-" + std::to_string(getpid()), {}};
    REQUIRE(!cg.mount.empty());
    cg.make("");
    const std::string rec = cg.make("/rec");
    const std::string other = cg.make("/other");

    // A process of another "pod", running before the recorder starts.
    const std::string marker = cg.name + "-sleeper";
    pid_t sleeper =
        spawn("/bin/bash", {"bash", "-c", "echo $$ > " + other + "/cgroup.procs && exec -a " + marker + " sleep 60"},
              {}, -1, -1, -1);
    struct Kill {
        pid_t pid;
        ~Kill() {
            kill(pid, SIGKILL);
            (void)wait_for(pid, 5s);
        }
    } kill_sleeper{sleeper};
    for (int i = 0; i < 100 && read_file(other + "/cgroup.procs").empty(); ++i) std::this_thread::sleep_for(20ms);
    REQUIRE(!read_file(other + "/cgroup.procs").empty());

    // The recorder joins its own cgroup, then a new cgroup namespace rooted
    // there: from inside, /proc/PID/cgroup of the sleeper reads "/../other".
    TempDir dir;
    const std::string journal = dir / "j.db";
    RunResult r = run_shell("echo $$ > " + rec + "/cgroup.procs && exec unshare --cgroup " + lineage_bin() +
                                " record --journal " + journal + " --duration 1s --cgroup /" + cg.name + "/other",
                            {}, 30s);
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("lineage: in a cgroup namespace rooted at /" + cg.name + "/rec\n") != std::string::npos);

    Journal j(copy_journal(journal, dir, "copy.db"));
    // The --cgroup filter, given from the root, kept the sleeper: its path
    // from /proc was resolved before it was compared.
    auto paths = j.texts("SELECT CAST(cgroup_path AS TEXT) FROM snapshot WHERE tgid = ?", {int64_t{sleeper}});
    REQUIRE(paths.size() == 1);
    CHECK(paths[0] == "/" + cg.name + "/other");
    CHECK(j.scalar("SELECT count(*) FROM snapshot WHERE CAST(cgroup_path AS TEXT) LIKE '/..%'") == 0);
}

}  // namespace test_cgroup_namespace
