#include "pod.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

namespace test_pod {

using lineage::KubeCgroup;
using lineage::parse_kube_cgroup;

namespace {

// One pod uid in both spellings, and container ids of the lengths real
// runtimes produce.
const std::string uid = "1b2c3d4e-0000-4a5b-8c9d-0123456789ab";
const std::string uid_ = "1b2c3d4e_0000_4a5b_8c9d_0123456789ab";
const std::string cid = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
const std::string cid2 = "9e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f10213243546576a";
const std::string node_cid = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
const std::string short_cid = "3a1f9c2b7d4e";

struct Case {
    std::string path;
    std::string pod_uid;  // "" means nullopt is expected
    std::string container_id;
    std::string runtime;
    std::string qos;
};

std::vector<Case> attributed_cases() {
    return {
        // systemd driver, cgroup v2.
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice/cri-containerd-" + cid +
             ".scope",
         uid, cid, "containerd", "burstable"},
        {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid_ + ".slice/cri-containerd-" + cid +
             ".scope",
         uid, cid, "containerd", "besteffort"},
        {"/kubepods.slice/kubepods-pod" + uid_ + ".slice/cri-containerd-" + cid + ".scope", uid, cid, "containerd",
         "guaranteed"},
        {"/kubepods.slice/kubepods-pod" + uid_ + ".slice/crio-" + cid + ".scope", uid, cid, "crio", "guaranteed"},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice/crio-" + cid + ".scope",
         uid, cid, "crio", "burstable"},
        {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid_ + ".slice/crio-conmon-" + cid +
             ".scope",
         uid, cid, "crio", "besteffort"},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice/docker-" + cid + ".scope",
         uid, cid, "docker", "burstable"},
        {"/kubepods.slice/kubepods-pod" + uid_ + ".slice/docker-" + cid2 + ".scope", uid, cid2, "docker", "guaranteed"},
        // Trailing slash and sub-cgroups below the container scope.
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice/cri-containerd-" + cid +
             ".scope/",
         uid, cid, "containerd", "burstable"},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice/cri-containerd-" + cid +
             ".scope/init",
         uid, cid, "containerd", "burstable"},
        {"/kubepods.slice/kubepods-pod" + uid_ + ".slice/crio-" + cid + ".scope/container/a/b", uid, cid, "crio",
         "guaranteed"},
        // Pod level only: attributed to the pod, no container.
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ + ".slice", uid, "", "", "burstable"},
        // cgroupfs driver (v1 under a controller, or v2).
        {"/kubepods/burstable/pod" + uid + "/" + cid, uid, cid, "", "burstable"},
        {"/kubepods/besteffort/pod" + uid + "/" + cid, uid, cid, "", "besteffort"},
        {"/kubepods/pod" + uid + "/" + cid, uid, cid, "", "guaranteed"},
        {"/kubepods/pod" + uid + "/" + cid + "/", uid, cid, "", "guaranteed"},
        {"/kubepods/besteffort/pod" + uid + "/cri-containerd-" + cid, uid, cid, "containerd", "besteffort"},
        {"/kubepods/burstable/pod" + uid + "/docker-" + cid2, uid, cid2, "docker", "burstable"},
        {"/kubepods/pod" + uid + "/crio-" + cid, uid, cid, "crio", "guaranteed"},
        {"/kubepods/burstable/pod" + uid + "/" + short_cid, uid, short_cid, "", "burstable"},
        {"/kubepods/burstable/pod" + uid, uid, "", "", "burstable"},
        // Prefixes before kubepods: kind nodes, docker-in-docker, containerd without systemd.
        {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
         "kubelet-kubepods-besteffort-pod" +
             uid_ + ".slice/cri-containerd-" + cid + ".scope",
         uid, cid, "containerd", "besteffort"},
        {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + uid_ + ".slice/cri-containerd-" + cid +
             ".scope",
         uid, cid, "containerd", "guaranteed"},
        {"/docker/" + node_cid + "/kubepods/besteffort/pod" + uid + "/" + cid, uid, cid, "", "besteffort"},
        {"/system.slice/containerd.service/kubepods-burstable-pod" + uid_ + ".slice:cri-containerd:" + cid, uid, cid,
         "containerd", "burstable"},
        // A process outside our cgroup namespace shows ".." components.
        {"/../../kubepods.slice/kubepods-pod" + uid_ + ".slice/crio-" + cid + ".scope", uid, cid, "crio", "guaranteed"},
        // A kubelet inside a pod: the node's own (outer) pod is the answer.
        {"/kubepods/burstable/pod" + uid + "/" + cid + "/kubepods/besteffort/pod" +
             "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/" + cid2,
         uid, cid, "", "burstable"},
        // Upper-case hex is folded to the canonical lower case.
        {"/kubepods/pod1B2C3D4E-0000-4A5B-8C9D-0123456789AB/" + std::string("ABCDEF0123456789"), uid,
         "abcdef0123456789", "", "guaranteed"},
        // Leaves we cannot read as a container still belong to the pod.
        {"/kubepods/burstable/pod" + uid + "/kata_" + cid, uid, "", "", "burstable"},
        {"/kubepods/burstable/pod" + uid + "/" + cid.substr(0, 11), uid, "", "", "burstable"},
        {"/kubepods/burstable/pod" + uid + "/" + cid + "0", uid, "", "", "burstable"},
        {"/kubepods.slice/kubepods-pod" + uid_ + ".slice/cri-containerd-" + cid.substr(0, 60) + "zzzz.scope", uid, "",
         "", "guaranteed"},
    };
}

std::vector<std::string> rejected_paths() {
    return {
        "",
        "/",
        "/init.scope",
        "/system.slice/sshd.service",
        "/user.slice/user-0.slice/session-1.scope",
        "/system.slice/docker-" + cid + ".scope",
        "/system.slice/containerd.service",
        "/system.slice/kubepods.service",
        "/kubelet.slice",
        // kubepods itself and the QoS levels hold no pod.
        "/kubepods.slice",
        "/kubepods.slice/kubepods-burstable.slice",
        "/kubepods",
        "/kubepods/besteffort",
        "/kubepods/besteffort/" + cid,
        // Malformed uids.
        "/kubepods/pod/" + cid,
        "/kubepods/burstable/pod" + uid.substr(0, 35) + "/" + cid,
        "/kubepods/burstable/pod" + uid + "0/" + cid,
        "/kubepods/burstable/pod1b2c3d4e-0000-4a5b-8c9d-0123456789ag/" + cid,
        "/kubepods/burstable/pod1b2c3d4e00004a5b8c9d0123456789ab/" + cid,
        "/kubepods/burstable/pod" + uid_ + "/" + cid,                            // cgroupfs never uses underscores
        "/kubepods.slice/kubepods-pod" + uid + ".slice/crio-" + cid + ".scope",  // nor systemd dashes
        "/kubepods/burstable/burstable/pod" + uid + "/" + cid,
        "/kubepods/guaranteed/pod" + uid + "/" + cid,
        // Slices that do not chain the way systemd names them.
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" + uid_ + ".slice/crio-" + cid + ".scope",
        "/kubepods.slice/other.slice/kubepods-pod" + uid_ + ".slice/crio-" + cid + ".scope",
        "/kubepods.slice/kubepods-burstable-besteffort-pod" + uid_ + ".slice",
        "/kubepods.slice/kubepods--pod" + uid_ + ".slice",
        "/kubepods.slice/crio-" + cid + ".scope",
    };
}

// Removes the tree on every exit path, including a failed REQUIRE.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("lineage_test_pod_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace

TEST_CASE("parse_kube_cgroup attributes pod cgroups", "[pod]") {
    const std::vector<Case> cases = attributed_cases();
    REQUIRE(cases.size() >= 20);
    for (const Case& c : cases) {
        INFO("path: " << c.path);
        std::optional<KubeCgroup> got = parse_kube_cgroup(c.path);
        REQUIRE(got.has_value());
        CHECK(got->pod_uid == c.pod_uid);
        CHECK(got->container_id == c.container_id);
        CHECK(got->runtime == c.runtime);
        CHECK(got->qos == c.qos);
    }
}

TEST_CASE("parse_kube_cgroup rejects non-pod and malformed paths", "[pod]") {
    for (const std::string& path : rejected_paths()) {
        INFO("path: " << path);
        CHECK_FALSE(parse_kube_cgroup(path).has_value());
    }
}

TEST_CASE("parse_kube_cgroup survives hostile input", "[pod]") {
    const std::string valid = "/kubepods/burstable/pod" + uid + "/" + cid;
    REQUIRE(parse_kube_cgroup(valid).has_value());

    SECTION("embedded NUL") {
        std::string s = valid;
        s[10] = '\0';
        CHECK_FALSE(parse_kube_cgroup(s).has_value());
        CHECK_FALSE(parse_kube_cgroup(valid + std::string(1, '\0')).has_value());
    }
    SECTION("huge strings") {
        CHECK_FALSE(parse_kube_cgroup(std::string(1 << 20, 'a')).has_value());
        CHECK_FALSE(parse_kube_cgroup(std::string(1 << 20, '/')).has_value());
        std::string many;
        while (many.size() < (1 << 20)) many += "/kubepods";
        CHECK_FALSE(parse_kube_cgroup(many).has_value());
        // Valid, but longer than any path the kernel can report.
        CHECK_FALSE(parse_kube_cgroup(valid + "/" + std::string(5000, 'x')).has_value());
    }
    SECTION("every prefix and single-byte mutation of every valid path") {
        std::mt19937 rng(12345);
        for (const Case& c : attributed_cases()) {
            for (std::size_t n = 0; n <= c.path.size(); ++n) {
                std::optional<KubeCgroup> got = parse_kube_cgroup(c.path.substr(0, n));
                if (got) CHECK(got->pod_uid.size() == 36);
            }
            for (int k = 0; k < 200; ++k) {
                std::string s = c.path;
                s[rng() % s.size()] = static_cast<char>(rng() % 256);
                std::optional<KubeCgroup> got = parse_kube_cgroup(s);
                if (got) {
                    CHECK(got->pod_uid.size() == 36);
                    CHECK(got->container_id.size() <= 64);
                }
            }
        }
    }
}

TEST_CASE("find_pod_log_dir and PodResolver read the kubelet's log dirs", "[pod]") {
    namespace fs = std::filesystem;
    TempDir root;
    const fs::path pods = root.path / "var" / "log" / "pods";
    const std::string uid_web = uid;
    const std::string uid_dns = "5f6e7d8c-1111-4b2a-9c3d-abcdefabcdef";
    const std::string uid_file = "00000000-2222-4333-8444-555555555555";
    const std::string uid_late = "77777777-8888-4999-8aaa-bbbbbbbbbbbb";
    fs::create_directories(pods / ("default_web-7d9f8c6b5-x2k4q_" + uid_web) / "nginx");
    fs::create_directories(pods / ("kube-system_coredns-5d78c9869d-abcde_" + uid_dns));
    const std::string uid_odd = "12345678-9abc-4def-8123-456789abcdef";
    const std::string uid_no_ns = "fedcba98-7654-4321-8fed-cba987654321";
    // Names the kubelet never writes, to pin down the edges of the split.
    fs::create_directories(pods / ("ns_a_b_" + uid_odd));
    fs::create_directories(pods / ("_orphan_" + uid_no_ns));
    fs::create_directories(pods / "junk");
    fs::create_directories(pods / "_");
    fs::create_directories(pods / "default_trailing_");
    // A plain file with a pod-like name is not a pod's log directory.
    std::ofstream(pods / ("default_imposter_" + uid_file)) << "x";

    const std::string kube_root = root.path.string();

    SECTION("finds a pod and splits namespace from name at the first underscore") {
        std::optional<lineage::PodInfo> web = lineage::find_pod_log_dir(kube_root, uid_web);
        REQUIRE(web.has_value());
        CHECK(web->namespace_ == "default");
        CHECK(web->name == "web-7d9f8c6b5-x2k4q");
        CHECK(web->uid == uid_web);

        std::optional<lineage::PodInfo> dns = lineage::find_pod_log_dir(kube_root, uid_dns);
        REQUIRE(dns.has_value());
        CHECK(dns->namespace_ == "kube-system");
        CHECK(dns->name == "coredns-5d78c9869d-abcde");
        CHECK(dns->uid == uid_dns);

        std::optional<lineage::PodInfo> odd = lineage::find_pod_log_dir(kube_root, uid_odd);
        REQUIRE(odd.has_value());
        CHECK(odd->namespace_ == "ns");
        CHECK(odd->name == "a_b");
    }
    SECTION("missing uid, non-directory, invalid uid and missing root find nothing") {
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, uid_late).has_value());
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, uid_file).has_value());
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, uid_no_ns).has_value());
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, "").has_value());
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, "x2k4q").has_value());
        CHECK_FALSE(lineage::find_pod_log_dir(kube_root, uid_).has_value());
        CHECK_FALSE(lineage::find_pod_log_dir((root.path / "no-such-root").string(), uid_web).has_value());
    }
    SECTION("a uid parsed from a cgroup path resolves end to end") {
        std::optional<KubeCgroup> cg =
            parse_kube_cgroup("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_ +
                              ".slice/cri-containerd-" + cid + ".scope");
        REQUIRE(cg.has_value());
        lineage::PodResolver resolver(kube_root);
        std::optional<lineage::PodInfo> pod = resolver.resolve(cg->pod_uid);
        REQUIRE(pod.has_value());
        CHECK(pod->name == "web-7d9f8c6b5-x2k4q");
    }
    SECTION("resolver caches hits, even after the directory goes away") {
        lineage::PodResolver resolver(kube_root);
        REQUIRE(resolver.resolve(uid_web).has_value());
        fs::remove_all(pods);
        std::optional<lineage::PodInfo> dns = resolver.resolve(uid_dns);  // learnt by the first scan
        REQUIRE(dns.has_value());
        CHECK(dns->namespace_ == "kube-system");
        CHECK(resolver.resolve(uid_web)->name == "web-7d9f8c6b5-x2k4q");
        CHECK_FALSE(resolver.resolve("").has_value());
        CHECK_FALSE(resolver.resolve(uid_no_ns).has_value());
    }
    SECTION("resolver throttles rescans for an unknown uid") {
        lineage::PodResolver resolver(kube_root);  // default: once per second
        CHECK_FALSE(resolver.resolve(uid_late).has_value());
        fs::create_directories(pods / ("late_job-1_" + uid_late));
        // The pod exists now, but the previous miss was under a second ago.
        CHECK_FALSE(resolver.resolve(uid_late).has_value());
    }
    SECTION("resolver finds a pod that appears after a miss once the interval passes") {
        lineage::PodResolver resolver(kube_root, std::chrono::milliseconds(50));
        CHECK_FALSE(resolver.resolve(uid_late).has_value());
        fs::create_directories(pods / ("late_job-1_" + uid_late));
        std::this_thread::sleep_for(std::chrono::milliseconds(80));
        std::optional<lineage::PodInfo> late = resolver.resolve(uid_late);
        REQUIRE(late.has_value());
        CHECK(late->namespace_ == "late");
        CHECK(late->name == "job-1");
    }
    SECTION("resolver with a missing root finds nothing and does not throw") {
        lineage::PodResolver resolver((root.path / "no-such-root").string());
        CHECK_FALSE(resolver.resolve(uid_web).has_value());
    }
}

TEST_CASE("PodResolver keeps at most its bound of pods, and still resolves past it", "[pod][bounds]") {
    namespace fs = std::filesystem;
    TempDir root;
    const fs::path pods = root.path / "var" / "log" / "pods";
    auto uid_n = [](int n) { return fmt::format("5d4c3b2a-1f0e-4d9c-8b7a-{:012x}", n); };
    for (int i = 0; i < 10; ++i) fs::create_directories(pods / fmt::format("ns_pod-{}_{}", i, uid_n(i)));
    lineage::PodResolver resolver(root.path.string(), std::chrono::milliseconds(0), 4);
    for (int i = 0; i < 10; ++i) {
        std::optional<lineage::PodInfo> pod = resolver.resolve(uid_n(i));
        REQUIRE(pod.has_value());
        CHECK(pod->name == fmt::format("pod-{}", i));
        CHECK(resolver.cached() <= 4);
    }
    // Misses are bounded the same way.
    for (int i = 100; i < 110; ++i) {
        CHECK_FALSE(resolver.resolve(uid_n(i)).has_value());
        CHECK(resolver.cached() <= 4);
    }
}

}  // namespace test_pod
