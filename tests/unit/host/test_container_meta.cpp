#include "container_meta.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "test_files.h"

namespace test_container_meta {

using lineage::ContainerMeta;
using lineage::kMaxMetaField;
using lineage::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string uid = "1b2c3d4e-0000-4a5b-8c9d-0123456789ab";
const std::string uid_ = "1b2c3d4e_0000_4a5b_8c9d_0123456789ab";
const std::string cid = "d78c990c760b4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192";
const std::string cid2 = "9e8d7c6b5a49382716051f2e3d4c5b6a798897a6b5c4d3e2f10213243546576a";
const std::string image = "registry.example.test/ledger/api:1.4.2";

// A config.json as containerd's CRI plugin writes it, with what an OCI
// config also holds around the annotations (which must not matter).
std::string containerd_config(const std::string& type, const std::string& cgroups_path) {
    nlohmann::json config = {
        {"ociVersion", "1.1.0"},
        {"process", {{"args", {"/bin/api", "--port", "8080"}}, {"cwd", "/"}, {"env", {"PATH=/bin"}}}},
        {"root", {{"path", "rootfs"}}},
        {"annotations",
         {{"io.kubernetes.cri.container-type", type},
          {"io.kubernetes.cri.sandbox-id", cid2},
          {"io.kubernetes.cri.sandbox-name", "ledger-api-7b9c8-k2m4p"},
          {"io.kubernetes.cri.sandbox-namespace", "finance"},
          {"io.kubernetes.cri.sandbox-uid", uid},
          {"io.kubernetes.cri.container-name", "api"},
          {"io.kubernetes.cri.image-name", image}}},
        {"linux",
         {{"cgroupsPath", cgroups_path},
          {"namespaces", {{{"type", "pid"}}, {{"type", "mount"}}}},
          {"seccomp", {{"defaultAction", "SCMP_ACT_ERRNO"}, {"syscalls", {{{"names", {"read", "write"}}}}}}}}}};
    return config.dump();
}

// The same facts as CRI-O writes them.
std::string crio_config(const std::string& type, const std::string& cgroups_path) {
    nlohmann::json config = {{"ociVersion", "1.0.2-dev"},
                             {"annotations",
                              {{"io.kubernetes.cri-o.ContainerType", type},
                               {"io.kubernetes.cri-o.ImageName", image},
                               {"io.kubernetes.cri-o.SandboxID", cid2},
                               {"io.kubernetes.pod.name", "ledger-api-7b9c8-k2m4p"},
                               {"io.kubernetes.pod.namespace", "finance"},
                               {"io.kubernetes.pod.uid", uid},
                               {"io.kubernetes.container.name", "api"}}},
                             {"linux", {{"cgroupsPath", cgroups_path}}}};
    return config.dump();
}

ContainerMeta parsed(const std::string& text) {
    auto meta = lineage::parse_oci_config(text);
    INFO(text.substr(0, 200));
    REQUIRE(meta.ok());
    return *meta;
}

std::string parse_error(const std::string& text) {
    auto meta = lineage::parse_oci_config(text);
    REQUIRE_FALSE(meta.ok());
    return meta.error().message;
}

void write_at(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    lineage::test::write_file(path, bytes);
}

}  // namespace

// ---------------------------------------------------------------- parse_oci_config

TEST_CASE("parse_oci_config reads containerd's CRI annotations", "[container_meta]") {
    const std::string path = "kubepods-besteffort-pod" + uid_ + ".slice:cri-containerd:" + cid;
    ContainerMeta m = parsed(containerd_config("container", path));
    CHECK(m.flavour == "containerd");
    CHECK(m.type == "container");
    CHECK(m.pod_name == "ledger-api-7b9c8-k2m4p");
    CHECK(m.pod_namespace == "finance");
    CHECK(m.pod_uid == uid);
    CHECK(m.container_name == "api");
    CHECK(m.image == image);
    CHECK(m.cgroups_path == path);
    CHECK(m.container_id == cid);

    ContainerMeta sandbox = parsed(containerd_config("sandbox", "/kubepods/besteffort/pod" + uid + "/" + cid2));
    CHECK(sandbox.type == "sandbox");
    CHECK(sandbox.flavour == "containerd");
    CHECK(sandbox.container_id == cid2);
}

TEST_CASE("parse_oci_config reads CRI-O's annotations", "[container_meta]") {
    const std::string path = "kubepods-burstable-pod" + uid_ + ".slice:crio:" + cid;
    ContainerMeta m = parsed(crio_config("container", path));
    CHECK(m.flavour == "crio");
    CHECK(m.type == "container");
    CHECK(m.pod_name == "ledger-api-7b9c8-k2m4p");
    CHECK(m.pod_namespace == "finance");
    CHECK(m.pod_uid == uid);
    CHECK(m.container_name == "api");
    CHECK(m.image == image);
    CHECK(m.container_id == cid);

    ContainerMeta sandbox = parsed(crio_config("sandbox", ""));
    CHECK(sandbox.type == "sandbox");
    CHECK(sandbox.flavour == "crio");
    CHECK(sandbox.container_id.empty());
    CHECK(sandbox.cgroups_path.empty());
}

TEST_CASE("parse_oci_config: pod UIDs are canonical, from the annotation or else the cgroups path",
          "[container_meta]") {
    const std::string path = "/kubepods/pod" + uid + "/" + cid;
    SECTION("upper-case annotation") {
        std::string upper = "1B2C3D4E-0000-4A5B-8C9D-0123456789AB";
        auto text = fmt::format(R"({{"annotations":{{"io.kubernetes.pod.uid":"{}"}}}})", upper);
        CHECK(parsed(text).pod_uid == uid);
    }
    SECTION("no annotation: the cgroups path's") {
        auto text = fmt::format(R"({{"linux":{{"cgroupsPath":"{}"}}}})", path);
        ContainerMeta m = parsed(text);
        CHECK(m.pod_uid == uid);
        CHECK(m.container_id == cid);
        CHECK(m.flavour.empty());
    }
    SECTION("an annotation that is no UID is ignored") {
        auto text = fmt::format(
            R"({{"annotations":{{"io.kubernetes.cri.sandbox-uid":"../../etc"}},"linux":{{"cgroupsPath":"{}"}}}})",
            path);
        CHECK(parsed(text).pod_uid == uid);
    }
    SECTION("the annotation wins over the cgroups path") {
        std::string other = "99999999-0000-4a5b-8c9d-0123456789ab";
        auto text =
            fmt::format(R"({{"annotations":{{"io.kubernetes.cri.sandbox-uid":"{}"}},"linux":{{"cgroupsPath":"{}"}}}})",
                        other, path);
        ContainerMeta m = parsed(text);
        CHECK(m.pod_uid == other);
        CHECK(m.container_id == cid);
    }
}

TEST_CASE("parse_oci_config ignores what it does not read", "[container_meta]") {
    SECTION("no annotations at all") {
        ContainerMeta m = parsed(R"({"ociVersion":"1.0.0","process":{"args":["sh"]}})");
        CHECK(m.flavour.empty());
        CHECK(m.pod_name.empty());
        CHECK(m.image.empty());
        CHECK(m.type.empty());
        CHECK(m.container_id.empty());
    }
    SECTION("an annotation that is not a string, and annotations that are not an object") {
        ContainerMeta m = parsed(
            R"({"annotations":{"io.kubernetes.cri.image-name":42,"io.kubernetes.cri.container-name":{"x":"y"}}})");
        CHECK(m.image.empty());
        CHECK(m.container_name.empty());
        CHECK(m.flavour.empty());  // no string CRI annotation: none present
        CHECK(parsed(R"({"annotations":["io.kubernetes.cri.image-name","x"]})").flavour.empty());
        CHECK(parsed(R"({"annotations":"io.kubernetes.cri.image-name"})").flavour.empty());
        CHECK(parsed(R"({"linux":{"cgroupsPath":7}})").cgroups_path.empty());
    }
    SECTION("annotations nested anywhere but at the top are not the config's") {
        ContainerMeta m = parsed(
            R"({"process":{"annotations":{"io.kubernetes.cri.image-name":"evil"}},)"
            R"("annotations":{"nested":{"io.kubernetes.cri.image-name":"evil"},"io.kubernetes.cri.container-name":"api"},)"
            R"("linux":{"resources":{"cgroupsPath":"/kubepods/pod)" +
            uid + "/" + cid + R"("}}})");
        CHECK(m.image.empty());
        CHECK(m.container_name == "api");
        CHECK(m.container_id.empty());
    }
    SECTION("a container type other than sandbox or container is kept as written") {
        CHECK(parsed(R"({"annotations":{"io.kubernetes.cri-o.ContainerType":"infra"}})").type == "infra");
    }
    SECTION("both flavours' keys: containerd's, never a mix") {
        ContainerMeta m = parsed(
            R"({"annotations":{"io.kubernetes.pod.name":"crio-pod","io.kubernetes.cri-o.ImageName":"crio-image",)"
            R"("io.kubernetes.cri.sandbox-name":"containerd-pod"}})");
        CHECK(m.flavour == "containerd");
        CHECK(m.pod_name == "containerd-pod");
        CHECK(m.image.empty());
    }
}

TEST_CASE("parse_oci_config refuses what is not a JSON object, in one line", "[container_meta]") {
    CHECK_THAT(parse_error(""), Catch::Contains("empty"));
    CHECK_THAT(parse_error(" \n"), Catch::Contains("empty"));
    CHECK_THAT(parse_error("[]"), Catch::Contains("not a JSON object"));
    CHECK_THAT(parse_error(R"(["annotations"])"), Catch::Contains("not a JSON object"));
    CHECK_THAT(parse_error("42"), Catch::Contains("not a JSON object"));
    CHECK_THAT(parse_error("null"), Catch::Contains("not a JSON object"));
    CHECK_THAT(parse_error("{} {}"), Catch::Contains("not JSON"));
    CHECK_THAT(parse_error("config: yes"), Catch::Contains("not JSON"));

    std::string whole = containerd_config("container", "");
    for (size_t keep : {size_t{1}, size_t{10}, whole.size() / 2, whole.size() - 1}) {
        INFO(keep);
        CHECK_THAT(parse_error(whole.substr(0, keep)), Catch::Contains("cut short"));
    }
    for (const std::string& text : {std::string(""), std::string("[]"), whole.substr(0, 10), std::string("{x}")}) {
        CHECK(parse_error(text).find('\n') == std::string::npos);
    }
}

TEST_CASE("parse_oci_config on hostile values", "[container_meta]") {
    SECTION("escaped control characters and NUL are kept as the bytes they stand for") {
        ContainerMeta m = parsed(R"({"annotations":{"io.kubernetes.cri.container-name":"api\u001b]0;owned\u0007\r\n",)"
                                 R"("io.kubernetes.cri.image-name":"a\u0000b"}})");
        CHECK(m.container_name == "api\x1b]0;owned\x07\r\n");
        CHECK(m.image == std::string("a\0b", 3));
    }
    SECTION("a raw control character in a string is not JSON") {
        std::string text = "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"UTF-8 a\x01\x1b[31m\"}}";
        std::string error = parse_error(text);
        CHECK(error == fmt::format("not JSON: a raw control character in a string at byte {}", text.find('\x01') + 1));
        CHECK(error.find('\x1b') == std::string::npos);
    }
    SECTION("invalid UTF-8 is not JSON (the parser refuses it, so no such value ever reaches a renderer)") {
        for (std::string bad :
             {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("caf\xc3")}) {
            std::string text = "{\"annotations\":{\"io.kubernetes.cri.image-name\":\"" + bad + "\"}}";
            std::string error = parse_error(text);
            CHECK_THAT(error, Catch::Contains("UTF-8"));
            CHECK(lineage::parse_oci_config("{\"x\":\"" + bad + "\"}").ok() == false);
        }
    }
    SECTION("a value of 5000 bytes is cut to 4096, the bytes kept") {
        std::string long_name(5000, 'n');
        long_name[4095] = 'L';
        std::string long_path = "/kubepods/pod" + uid + "/" + std::string(4990, 'p');
        nlohmann::json config = {{"annotations",
                                  {{"io.kubernetes.cri.container-name", long_name},
                                   {"io.kubernetes.cri.image-name", "\xc3\xa9" + std::string(4095, 'i')}}},
                                 {"linux", {{"cgroupsPath", long_path}}}};
        ContainerMeta m = parsed(config.dump());
        CHECK(m.container_name.size() == kMaxMetaField);
        CHECK(m.container_name == long_name.substr(0, kMaxMetaField));
        CHECK(m.container_name.back() == 'L');
        // Cut at the byte, not at a character: escaping is the renderer's.
        CHECK(m.image.size() == kMaxMetaField);
        CHECK(m.cgroups_path == long_path.substr(0, kMaxMetaField));
        CHECK(m.container_id.empty());
    }
    SECTION("100,000 unclosed '[' are an Error, not a crash") {
        CHECK_THAT(parse_error(std::string(100'000, '[')), Catch::Contains("cut short"));
        CHECK_THAT(parse_error(std::string(100'000, '{')), Catch::Contains("not JSON"));
    }
    SECTION("100,000 nested arrays, closed, are not an object") {
        CHECK_THAT(parse_error(std::string(100'000, '[') + std::string(100'000, ']')),
                   Catch::Contains("not a JSON object"));
    }
    SECTION("deep nesting beside the annotations costs nothing and hides nothing") {
        std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
        std::string text = R"({"process":)" + deep + R"(,"annotations":{"junk":)" + deep +
                           R"(,"io.kubernetes.cri.image-name":"img"}})";
        ContainerMeta m = parsed(text);
        CHECK(m.image == "img");
        CHECK(m.flavour == "containerd");
    }
}

// ---------------------------------------------------------------- ids_from_cgroups_path

TEST_CASE("ids_from_cgroups_path reads both cgroup drivers' forms", "[container_meta]") {
    struct Case {
        std::string path, pod_uid, container_id;
    };
    const std::string upper_cid = "D78C990C760B4F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192";
    const std::vector<Case> cases = {
        // cgroupfs driver: a path, through parse_kube_cgroup.
        {"/kubepods/besteffort/pod" + uid + "/" + cid, uid, cid},
        {"/kubepods/pod" + uid + "/" + cid, uid, cid},
        {"/kubepods/burstable/pod" + uid, uid, ""},
        // systemd driver: "slice:prefix:name".
        {"kubepods-besteffort-pod" + uid_ + ".slice:cri-containerd:" + cid, uid, cid},
        {"kubepods-burstable-pod" + uid_ + ".slice:crio:" + cid, uid, cid},
        {"kubepods-pod" + uid_ + ".slice:docker:" + upper_cid, uid, cid},
        {"kubepods-pod" + uid_ + ".slice:anything:" + cid, uid, cid},
        {"kubepods-pod" + uid_ + ".slice:runc:not-an-id", uid, ""},
        {"system.slice:runc:" + cid, "", cid},
        {"system.slice:runc:434234", "", ""},
        // Neither.
        {"", "", ""},
        {"/user.slice/user-1000.slice", "", ""},
        {"/docker/" + cid, "", ""},
        {"a:b:c:" + cid, "", ""},
        {std::string(5000, ':'), "", ""},
    };
    for (const Case& c : cases) {
        INFO(c.path);
        lineage::CgroupsPathIds ids = lineage::ids_from_cgroups_path(c.path);
        CHECK(ids.pod_uid == c.pod_uid);
        CHECK(ids.container_id == c.container_id);
    }
}

// ---------------------------------------------------------------- parse_runtime_invocation

TEST_CASE("parse_runtime_invocation finds the bundle and the ID of a container's creation", "[container_meta]") {
    struct Case {
        std::string binary;
        std::vector<std::string> argv;
        std::string bundle, id;
    };
    const std::vector<Case> cases = {
        {"/usr/sbin/runc", {"runc", "create", "--bundle", "/b", "id1"}, "/b", "id1"},
        {"/usr/sbin/runc", {"runc", "run", "-b", "/b", "id1"}, "/b", "id1"},
        {"/usr/sbin/runc", {"runc", "create", "--bundle=/b", "id1"}, "/b", "id1"},
        {"/usr/sbin/runc", {"runc", "create", "-b=/b", "id1"}, "/b", "id1"},
        {"/usr/sbin/runc", {"runc", "create", "-bundle", "/b", "id1"}, "/b", "id1"},
        // No --bundle: runc uses its cwd.
        {"/usr/sbin/runc", {"runc", "create", "id1"}, "", "id1"},
        {"/usr/sbin/runc", {"runc", "run", "-d", "--keep", "id1"}, "", "id1"},
        // What containerd's shim passes (go-runc): global options, then create's.
        {"/usr/sbin/runc",
         {"runc", "--root", "/run/containerd/runc/k8s.io", "--log", "/run/containerd/t/log.json", "--log-format",
          "json", "--systemd-cgroup", "create", "--bundle", "/run/containerd/t/" + cid, "--pid-file",
          "/run/containerd/t/init.pid", "--console-socket", "/tmp/pty.sock", "--no-pivot", "--preserve-fds", "2", cid},
         "/run/containerd/t/" + cid,
         cid},
        {"/usr/sbin/runc",
         {"runc", "--debug", "--root=/r", "--criu", "/usr/sbin/criu", "--rootless", "false", "create", "id1", "-b",
          "/b"},
         "/b",
         "id1"},
        // After "--" everything is positional.
        {"/usr/sbin/runc", {"runc", "create", "-b", "/b", "--", "-odd-id"}, "/b", "-odd-id"},
        // crun and runsc, by binary or by argv[0].
        {"/usr/bin/crun",
         {"crun", "--cgroup-manager", "systemd", "create", "--config", "/c.json", "--bundle", "/b", "id1"},
         "/b",
         "id1"},
        {"/usr/bin/runsc",
         {"runsc", "--root=/run/runsc", "--platform=systrap", "create", "-bundle=/b", "id1"},
         "/b",
         "id1"},
        {"/usr/local/bin/wrapper", {"/usr/bin/runc", "create", "-b", "/b", "id1"}, "/b", "id1"},
        {"/usr/sbin/runc", {"not-runc", "create", "-b", "/b", "id1"}, "/b", "id1"},
    };
    for (const Case& c : cases) {
        INFO(fmt::format("{} [{}]", c.binary, fmt::join(c.argv, " ")));
        auto inv = lineage::parse_runtime_invocation(c.binary, c.argv);
        REQUIRE(inv);
        CHECK(inv->bundle == c.bundle);
        CHECK(inv->id == c.id);
    }
}

TEST_CASE("parse_runtime_invocation refuses what creates no container", "[container_meta]") {
    struct Case {
        std::string binary;
        std::vector<std::string> argv;
    };
    const std::vector<Case> cases = {
        {"/usr/sbin/runc", {"runc", "start", "id1"}},
        {"/usr/sbin/runc", {"runc", "delete", "--force", "id1"}},
        {"/usr/sbin/runc", {"runc", "state", "id1"}},
        {"/usr/sbin/runc", {"runc", "--root", "/r", "exec", "id1", "create"}},
        {"/usr/sbin/runc", {"runc", "create"}},
        {"/usr/sbin/runc", {"runc", "create", "--bundle", "/b"}},
        {"/usr/sbin/runc", {"runc", "create", "id1", "--bundle"}},
        {"/usr/sbin/runc", {"runc", "create", ""}},
        {"/usr/sbin/runc", {"runc", "--root"}},
        {"/usr/sbin/runc", {"runc"}},
        {"/usr/sbin/runc", {}},
        // An unknown global option with a value: a miss, never a wrong bundle.
        {"/usr/sbin/runc", {"runc", "--unknown", "/x", "create", "-b", "/b", "id1"}},
        // Not a runtime: the names are exact.
        {"/usr/bin/runc-wrapper", {"runc-wrapper", "create", "-b", "/b", "id1"}},
        {"/usr/bin/containerd", {"containerd", "create", "-b", "/b", "id1"}},
        {"/usr/bin/docker", {"docker", "run", "busybox"}},
    };
    for (const Case& c : cases) {
        INFO(fmt::format("{} [{}]", c.binary, fmt::join(c.argv, " ")));
        CHECK_FALSE(lineage::parse_runtime_invocation(c.binary, c.argv));
    }
}

// ---------------------------------------------------------------- read_bundle_config

TEST_CASE("read_bundle_config reads a bundle's config.json under the root", "[container_meta]") {
    TempDir root;
    const std::string config = containerd_config("container", "kubepods-pod" + uid_ + ".slice:cri-containerd:" + cid);
    write_at(root / "run/bundles/c1/config.json", config);

    SECTION("an absolute bundle") {
        auto m = lineage::read_bundle_config(root.path(), "/run/bundles/c1");
        REQUIRE(m.ok());
        CHECK(m->container_name == "api");
        CHECK(m->image == image);
        CHECK(m->container_id == cid);
    }
    SECTION("a relative bundle, from the cwd") {
        auto m = lineage::read_bundle_config(root.path(), "c1", "/run/bundles");
        REQUIRE(m.ok());
        CHECK(m->container_name == "api");
        auto dot = lineage::read_bundle_config(root.path(), ".", "/run/bundles/c1");
        REQUIRE(dot.ok());
        auto none = lineage::read_bundle_config(root.path(), "", "/run/bundles/c1");
        REQUIRE(none.ok());
    }
    SECTION("a relative bundle and no cwd is an Error") {
        auto m = lineage::read_bundle_config(root.path(), "c1");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("c1") && Catch::Contains("relative"));
    }
    SECTION("a symlink inside the bundle is followed") {
        write_at(root / "run/bundles/c2/real/config.json", config);
        fs::create_symlink("real/config.json", root / "run/bundles/c2/config.json");
        auto m = lineage::read_bundle_config(root.path(), "/run/bundles/c2");
        REQUIRE(m.ok());
        CHECK(m->image == image);
    }
    SECTION("a file of exactly max_bytes is read, one byte more is not") {
        auto m = lineage::read_bundle_config(root.path(), "/run/bundles/c1", "", config.size());
        CHECK(m.ok());
        auto smaller = lineage::read_bundle_config(root.path(), "/run/bundles/c1", "", config.size() - 1);
        REQUIRE_FALSE(smaller.ok());
        CHECK_THAT(smaller.error().message, Catch::Contains(fmt::format("larger than {} bytes", config.size() - 1)) &&
                                                Catch::Contains(root / "run/bundles/c1/config.json"));
    }
}

TEST_CASE("read_bundle_config never leaves the root or the bundle", "[container_meta]") {
    TempDir root;
    TempDir outside;
    write_at(outside / "config.json", containerd_config("container", ""));
    write_at(root / "etc/config.json", R"({"annotations":{"io.kubernetes.cri.image-name":"inside-root"}})");
    write_at(root / "run/outside.json", containerd_config("container", ""));
    fs::create_directories(root / "run/b");

    SECTION("config.json as a symlink to /etc/passwd") {
        fs::create_symlink("/etc/passwd", root / "run/b/config.json");
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message,
                   Catch::Contains(root / "run/b/config.json") && Catch::Contains("leaves the bundle"));
    }
    SECTION("config.json as a symlink to ../outside.json, inside the root") {
        fs::create_symlink("../outside.json", root / "run/b/config.json");
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("leaves the bundle"));
    }
    SECTION("config.json as a symlink to a file outside the root") {
        fs::create_symlink(outside / "config.json", root / "run/b/config.json");
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("leaves the bundle"));
    }
    SECTION("a bundle path with .. stays inside the root") {
        auto m = lineage::read_bundle_config(root.path(), "/../../../../../etc");
        REQUIRE(m.ok());
        CHECK(m->image == "inside-root");
        auto relative = lineage::read_bundle_config(root.path(), "../../../../etc", "/run/b");
        REQUIRE(relative.ok());
        CHECK(relative->image == "inside-root");
    }
    SECTION("a bundle that is a symlink to an absolute path is taken inside the root") {
        fs::create_symlink("/etc", root / "run/link");
        auto m = lineage::read_bundle_config(root.path(), "/run/link");
        REQUIRE(m.ok());
        CHECK(m->image == "inside-root");
        fs::create_symlink(outside.path(), root / "run/out");
        auto out = lineage::read_bundle_config(root.path(), "/run/out");
        REQUIRE_FALSE(out.ok());  // outside.path() does not exist under the root
        CHECK_THAT(out.error().message, Catch::Contains("bundle directory"));
    }
    SECTION("a /proc magic link is refused") {
        // Only resolved, never read: the real root is the one with a /proc.
        auto m = lineage::read_bundle_config("/", "/proc/self/root" + root.path() + "/etc");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("magic link"));
    }
}

TEST_CASE("read_bundle_config refuses what is no config, naming the file", "[container_meta]") {
    TempDir root;
    const std::string file = root / "run/b/config.json";

    SECTION("missing") {
        auto m = lineage::read_bundle_config(root.path(), "/run/nope");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains(root / "run/nope/config.json"));
        fs::create_directories(root / "run/b");
        auto no_file = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(no_file.ok());
        CHECK_THAT(no_file.error().message, Catch::Contains(file) && Catch::Contains("No such file"));
    }
    SECTION("a 10 MB annotation value") {
        std::string huge = R"({"annotations":{"io.kubernetes.cri.image-name":")" + std::string(10 << 20, 'x') + "\"}}";
        write_at(file, huge);
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains(file) && Catch::Contains("larger than 1 MiB"));
    }
    SECTION("truncated JSON") {
        std::string whole = containerd_config("container", "");
        write_at(file, whole.substr(0, whole.size() / 2));
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains(file) && Catch::Contains("cut short"));
    }
    SECTION("a JSON array") {
        write_at(file, "[1,2,3]");
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains(file) && Catch::Contains("not a JSON object"));
    }
    SECTION("a directory named config.json") {
        fs::create_directories(file);
        auto m = lineage::read_bundle_config(root.path(), "/run/b");
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("not a regular file"));
    }
    SECTION("a FIFO named config.json returns at once") {
        fs::create_directories(root / "run/b");
        REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
        auto pending =
            std::async(std::launch::async, [&] { return lineage::read_bundle_config(root.path(), "/run/b"); });
        if (pending.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
            // Blocked in open or read: a writer's open and close lets it
            // finish, so that the test fails instead of hanging.
            int writer = ::open(file.c_str(), O_WRONLY | O_NONBLOCK);
            if (writer >= 0) ::close(writer);
            FAIL("read_bundle_config blocked on a FIFO");
        }
        auto m = pending.get();
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains(file) && Catch::Contains("not a regular file"));
    }
    SECTION("a name with control characters is escaped in the error") {
        std::string bundle = "/run/evil\x1b[2J\n";
        write_at(root.path() + bundle + "/config.json", "nope");
        auto m = lineage::read_bundle_config(root.path(), bundle);
        REQUIRE_FALSE(m.ok());
        const std::string& message = m.error().message;
        CHECK(message.find('\x1b') == std::string::npos);
        CHECK(message.find('\n') == std::string::npos);
        CHECK_THAT(message, Catch::Contains("evil\\x1b[2J\\n/config.json") && Catch::Contains("not JSON"));
    }
    SECTION("a NUL in the bundle path") {
        auto m = lineage::read_bundle_config(root.path(), std::string("/run/b\0/x", 9));
        REQUIRE_FALSE(m.ok());
        CHECK_THAT(m.error().message, Catch::Contains("NUL"));
    }
}

// ---------------------------------------------------------------- find_runtime_config

TEST_CASE("find_runtime_config finds a container's config in the runtimes' state", "[container_meta]") {
    TempDir root;
    const std::string tasks = root / "run/containerd/io.containerd.runtime.v2.task";

    SECTION("containerd's task directory, any namespace") {
        const std::string path = tasks + "/k8s.io/" + cid + "/config.json";
        write_at(path, containerd_config("container", ""));
        fs::create_directories(tasks + "/moby");
        write_at(tasks + "/moby/" + cid2 + "/config.json", R"({"annotations":{}})");
        auto found = lineage::find_runtime_config(root.path(), cid);
        REQUIRE(found);
        CHECK(found->source == "containerd-task");
        CHECK(found->path == path);
        REQUIRE(found->meta.ok());
        CHECK(found->meta->container_name == "api");
        auto moby = lineage::find_runtime_config(root.path(), cid2);
        REQUIRE(moby);
        CHECK(moby->path == tasks + "/moby/" + cid2 + "/config.json");
    }
    SECTION("CRI-O's state directory") {
        const std::string path = root / ("run/containers/storage/overlay-containers/" + cid + "/userdata/config.json");
        write_at(path, crio_config("sandbox", ""));
        auto found = lineage::find_runtime_config(root.path(), cid);
        REQUIRE(found);
        CHECK(found->source == "crio-state");
        CHECK(found->path == path);
        REQUIRE(found->meta.ok());
        CHECK(found->meta->flavour == "crio");
        CHECK(found->meta->type == "sandbox");
    }
    SECTION("none") {
        CHECK_FALSE(lineage::find_runtime_config(root.path(), cid));
        fs::create_directories(tasks + "/k8s.io/" + cid);  // a task directory without its config
        CHECK_FALSE(lineage::find_runtime_config(root.path(), cid));
    }
    SECTION("one that cannot be read is an Error naming it") {
        const std::string path = tasks + "/k8s.io/" + cid + "/config.json";
        write_at(path, "{\"annotations\":");
        auto found = lineage::find_runtime_config(root.path(), cid);
        REQUIRE(found);
        REQUIRE_FALSE(found->meta.ok());
        CHECK_THAT(found->meta.error().message, Catch::Contains(path) && Catch::Contains("cut short"));
        fs::remove(path);
        fs::create_symlink("/etc/passwd", path);
        auto link = lineage::find_runtime_config(root.path(), cid);
        REQUIRE(link);
        REQUIRE_FALSE(link->meta.ok());
        CHECK_THAT(link->meta.error().message, Catch::Contains("leaves the bundle"));
    }
    SECTION("an ID that is not 12-64 lower-case hex builds no path") {
        const std::string upper = "D78C990C760B";
        write_at(tasks + "/k8s.io/" + upper + "/config.json", containerd_config("container", ""));
        write_at(tasks + "/k8s.io/config.json", containerd_config("container", ""));
        for (std::string bad : {upper, std::string(".."), std::string(""), cid.substr(0, 11), cid + "0",
                                std::string("../k8s.io/x"), std::string("d78c990c760b/../..")}) {
            INFO(bad);
            CHECK_FALSE(lineage::find_runtime_config(root.path(), bad));
        }
    }
}

// ---------------------------------------------------------------- find_container_log

TEST_CASE("find_container_log names a container from the kubelet's /var/log/containers", "[container_meta]") {
    TempDir root;
    const std::string dir = root / "var/log/containers";
    fs::create_directories(dir);
    auto link = [&](const std::string& name) {
        // The kubelet's links point at /var/log/pods/...; dangling here, as never followed.
        fs::create_symlink("/var/log/pods/finance_x_" + uid + "/api/0.log", dir + "/" + name);
    };
    link("ledger-api-7b9c8-k2m4p_finance_api-server-" + cid + ".log");

    SECTION("long and short IDs") {
        for (const std::string& id : {cid, cid.substr(0, 12), cid.substr(0, 20)}) {
            INFO(id);
            auto names = lineage::find_container_log(root.path(), id);
            REQUIRE(names);
            CHECK(names->pod_name == "ledger-api-7b9c8-k2m4p");
            CHECK(names->pod_namespace == "finance");
            CHECK(names->container_name == "api-server");
        }
        CHECK_FALSE(lineage::find_container_log(root.path(), cid2));
        CHECK_FALSE(lineage::find_container_log(root.path(), cid2.substr(0, 12)));
    }
    SECTION("junk entries are no match") {
        const std::string upper = "D78C990C760B4F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192";
        for (const std::string& junk : std::vector<std::string>{
                 "README", "x.log", "a_b-" + cid2 + ".log", "a_b_c_d-" + cid2 + ".log", "a_b_c-" + cid2 + ".log.1",
                 "_b_c-" + cid2 + ".log", "a__c-" + cid2 + ".log", "a_b_-" + cid2 + ".log", "a_b_c" + cid2 + ".log",
                 "a_b_c-" + cid2.substr(0, 63) + ".log", "a_b_c-" + upper + ".log"}) {
            link(junk);
        }
        CHECK_FALSE(lineage::find_container_log(root.path(), cid2));
        CHECK_FALSE(lineage::find_container_log(root.path(), cid2.substr(0, 12)));
        CHECK(lineage::find_container_log(root.path(), cid));
    }
    SECTION("a short ID two containers share names neither") {
        std::string twin = cid.substr(0, 12) + std::string(52, '0');
        link("other_finance_worker-" + twin + ".log");
        CHECK_FALSE(lineage::find_container_log(root.path(), cid.substr(0, 12)));
        CHECK(lineage::find_container_log(root.path(), cid)->container_name == "api-server");
        CHECK(lineage::find_container_log(root.path(), twin)->container_name == "worker");
    }
    SECTION("an ID that is not 12-64 lower-case hex, or no directory") {
        for (std::string bad :
             {std::string(""), cid.substr(0, 11), cid + "0", std::string("D78C990C760B"), std::string("..")}) {
            INFO(bad);
            CHECK_FALSE(lineage::find_container_log(root.path(), bad));
        }
        TempDir empty;
        CHECK_FALSE(lineage::find_container_log(empty.path(), cid));
    }
}

}  // namespace test_container_meta
