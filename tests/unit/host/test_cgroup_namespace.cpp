// The cgroup namespace root of a recorder in a container, and /proc's
// paths taken from there (cgroupfs.h). tests/e2e/test_cgroup_namespace.cpp
// runs record in a real cgroup namespace.
#include <catch2/catch.hpp>

#include <filesystem>

#include "cgroupfs.h"
#include "test_files.h"

namespace test_cgroup_namespace {

using lineage::test::TempDir;
using lineage::test::write_file;

TEST_CASE("the cgroup namespace root is found in the hierarchy by cgroup.procs", "[cgroupfs]") {
    // Plain directories stand in for a hierarchy: every branch, no root.
    TempDir dir;
    const std::string root = dir / "cg";
    for (const char* d : {"", "/kubepods.slice", "/kubepods.slice/pod-a", "/kubepods.slice/pod-a/ctr",
                          "/kubepods.slice/pod-a/ctr/sub", "/system.slice"}) {
        std::filesystem::create_directories(root + d);
        write_file(root + d + "/cgroup.procs", "1\n2\n");
    }
    write_file(root + "/kubepods.slice/pod-a/ctr/cgroup.procs", "77\n4242\n");
    write_file(root + "/kubepods.slice/pod-a/ctr/sub/cgroup.procs", "5151\n");
    // The host's namespace: /proc's path is the hierarchy's.
    auto host = lineage::cgroup_namespace_root(root, "/kubepods.slice/pod-a/ctr", 4242);
    REQUIRE(host.ok());
    CHECK(*host == "/");
    // A container's main process, at the root of its namespace.
    auto main = lineage::cgroup_namespace_root(root, "/", 4242);
    REQUIRE(main.ok());
    CHECK(*main == "/kubepods.slice/pod-a/ctr");
    // A process below it.
    auto below = lineage::cgroup_namespace_root(root, "/sub", 5151);
    REQUIRE(below.ok());
    CHECK(*below == "/kubepods.slice/pod-a/ctr");
    // Listed nowhere: an error that names the mount.
    auto missing = lineage::cgroup_namespace_root(root, "/", 999);
    REQUIRE(!missing.ok());
    CHECK(missing.error().message.find(root) != std::string::npos);
    // A path that does not end where /proc says: an error, not a guess.
    auto odd = lineage::cgroup_namespace_root(root, "/elsewhere", 5151);
    CHECK(!odd.ok());

    CHECK(lineage::cgroup_path_from_root("/kubepods.slice/pod-a/ctr", "/") == "/kubepods.slice/pod-a/ctr");
    CHECK(lineage::cgroup_path_from_root("/kubepods.slice/pod-a/ctr", "/../../pod-b/c") == "/kubepods.slice/pod-b/c");
    CHECK(lineage::cgroup_path_from_root("/a", "/../../../x") == "/x");  // never above the root
    CHECK(lineage::cgroup_path_from_root("/", "/a/./b//c/") == "/a/b/c");
    CHECK(lineage::cgroup_path_from_root("/", "/") == "/");
}

}  // namespace test_cgroup_namespace
