// Containers by name and image (schema version 7, table containers): what
// the runtime's config.json and the kubelet's files said of a container,
// read back by reconstruct through the journal: the pod's name by the
// runtime's annotations when the kubelet's log directory is missing,
// --container by name, --image, the header, and the warnings when the
// sources disagree or a file could not be read.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "escape.h"
#include "fixture_journal.h"

namespace test_containers {

using namespace fixture;
using nlohmann::json;

namespace {

const std::string kPodUid = "1b2c3d4e-0000-4a5b-8c9d-0123456789ab";
const std::string kApp = "d78c990c760b5f1e2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091";
const std::string kPause = "0badc0de00000000111122223333444455556666777788889999aaaabbbbcccc";
const std::string kSince = "2026-04-22T09:00:00Z";
const std::string kUntil = "2026-04-22T09:05:00Z";
const std::string kImage = "registry.example.test/ledger/api:1.4.2";

lineage::ContainerRow annotated(const std::string& id, const std::string& name, const std::string& image,
                                const std::string& type = "container", const std::string& source = "bundle") {
    lineage::ContainerRow row;
    row.time_ns = static_cast<int64_t>(at(1000));
    row.container_id = id;
    row.pod_uid = kPodUid;
    row.pod_name = "ledger-api-7b9c8-k2m4p";
    row.pod_namespace = "finance";
    row.name = name;
    row.image = image;
    row.type = type;
    row.source = source;
    row.path = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + id + "/config.json";
    return row;
}

// A pod of two containers (a pause container and the app), whose only
// names are the UTS host name and the runtime's annotations: no kubelet log
// directory, as on a node whose /var/log/pods was not readable.
FixtureJournal two_containers(std::vector<lineage::ContainerRow> rows, const std::string& pod_source = "runtime") {
    FixtureJournal fx;
    Proc shim = fx.snapshot(900, 1, at(900), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2"}, "/system.slice/containerd.service");
    fx.pod(kPodUid, "not-the-pod-name", "", "hostname");
    if (pod_source == "runtime") fx.pod(kPodUid, "ledger-api-7b9c8-k2m4p", "finance", "runtime");
    for (auto& r : rows) fx.container(r);

    Proc pause = FixtureJournal::proc(1001, at(1001));
    fx.fork(shim, pause, at(1001));
    fx.exec(pause, "/pause", {"/pause"}, at(1001, 1000), pod_cgroup(kPodUid, kPause), "not-the-pod-name", 1);
    Proc api = FixtureJournal::proc(1002, at(1002));
    fx.fork(shim, api, at(1002));
    fx.exec(api, "/usr/bin/api", {"/usr/bin/api", "--listen", ":8080"}, at(1002, 1000), pod_cgroup(kPodUid, kApp),
            "not-the-pod-name", 1);
    return fx;
}

struct Case {
    TempDir dir;
    Case(const FixtureJournal& fx) { fx.write(dir / "j.db"); }
    RunResult run(std::vector<std::string> extra) const {
        std::vector<std::string> a{"reconstruct", "--journal", "j.db",    "--since", kSince,
                                   "--until",     kUntil,      "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    }
};

void collect(const json& node, std::vector<json>& out) {
    out.push_back(node);
    for (const auto& c : node.at("children")) collect(c, out);
}

std::vector<json> nodes_of(const json& doc) {
    std::vector<json> out;
    for (const auto& t : doc.at("trees")) collect(t, out);
    return out;
}

std::vector<json> warnings_of(const json& doc, const std::string& kind) {
    std::vector<json> out;
    for (const auto& w : doc.at("warnings"))
        if (w.at("kind") == kind) out.push_back(w);
    return out;
}

}  // namespace

TEST_CASE("the runtime's annotations name the pod and its containers", "[reconstruct][containers]") {
    Case c(two_containers(
        {annotated(kPause, "POD", "registry.k8s.io/pause:3.9", "sandbox"), annotated(kApp, "api", kImage)}));

    RunResult js = c.run({"--pod", "finance/ledger-api-7b9c8-k2m4p", "--format", "json"});
    REQUIRE(js.status == 0);
    const json doc = json::parse(js.out);
    const auto nodes = nodes_of(doc);
    REQUIRE(nodes.size() == 2);
    for (const auto& n : nodes) {
        const json& pod = n.at("pod");
        CHECK(pod.at("name") == "ledger-api-7b9c8-k2m4p");
        CHECK(pod.at("namespace") == "finance");
        CHECK(pod.at("name_source") == "runtime");
        if (pod.at("container_id") == kApp) {
            CHECK(pod.at("container_name") == "api");
            CHECK(pod.at("image") == kImage);
        } else {
            CHECK(pod.at("container_id") == kPause);
            CHECK(pod.at("container_name") == "POD");
        }
    }
    CHECK(warnings_of(doc, "names").empty());

    // The header names each container, then its image and ID; never the
    // host name.
    RunResult text = c.run({"--pod", "finance/ledger-api-7b9c8-k2m4p"});
    REQUIRE(text.status == 0);
    CHECK(text.out.find("pod finance/ledger-api-7b9c8-k2m4p  container POD  image registry.k8s.io/pause:3.9  "
                        "(0badc0de0000)  container api  image " +
                        kImage + "  (d78c990c760b)  (uid " + kPodUid + ", 2 trees)\n") == 0);
    CHECK(text.out.find("not-the-pod-name") == std::string::npos);

    SECTION("--container takes a name as well as an ID prefix") {
        for (const std::string& sel : {std::string("api"), kApp.substr(0, 12)}) {
            INFO(sel);
            RunResult r = c.run({"--container", sel, "--format", "json"});
            REQUIRE(r.status == 0);
            const auto shown = nodes_of(json::parse(r.out));
            REQUIRE(shown.size() == 1);
            CHECK(shown[0].at("pod").at("container_id") == kApp);
        }
        CHECK(c.run({"--container", "no-such-container"}).status == 1);
    }

    SECTION("--image matches the whole reference") {
        RunResult r = c.run({"--image", "registry.example.test/ledger/*", "--format", "json"});
        REQUIRE(r.status == 0);
        const auto shown = nodes_of(json::parse(r.out));
        REQUIRE(shown.size() == 1);
        CHECK(shown[0].at("pod").at("image") == kImage);
        CHECK(c.run({"--image", "*pause*"}).out.find("container POD") != std::string::npos);
        // Not the base name alone, as --binary would: the whole reference.
        RunResult none = c.run({"--image", "api:1.4.2"});
        CHECK(none.status == 1);
        CHECK(none.out.find("/usr/bin/api") == std::string::npos);
        // Both selectors: a container that is named api and has the image.
        CHECK(c.run({"--container", "api", "--image", "*pause*"}).status == 1);
        CHECK(c.run({"--container", "api", "--image", "*/ledger/*"}).status == 0);
    }
}

TEST_CASE("the kubelet's names come first, and a disagreement is a warning", "[reconstruct][containers]") {
    // The log directory names the pod one way, the annotations another; the
    // kubelet's /var/log/containers names the app's container differently.
    auto rows = std::vector<lineage::ContainerRow>{annotated(kApp, "api", kImage)};
    lineage::ContainerRow link;
    link.time_ns = static_cast<int64_t>(at(1003));
    link.container_id = kApp;
    link.pod_name = "ledger-api-7b9c8-k2m4p";
    link.pod_namespace = "finance";
    link.name = "api-renamed";
    link.source = "kubelet-log";
    link.path = "/var/log/containers";
    rows.push_back(link);
    FixtureJournal fx = two_containers(rows);
    fx.pod(kPodUid, "ledger-api-from-kubelet", "finance", "log-dir");
    Case c(fx);

    RunResult js = c.run({"--pod", kPodUid, "--format", "json"});
    REQUIRE(js.status == 0);
    const json doc = json::parse(js.out);
    for (const auto& n : nodes_of(doc)) {
        CHECK(n.at("pod").at("name") == "ledger-api-from-kubelet");
        CHECK(n.at("pod").at("name_source") == "kubelet");
        if (n.at("pod").at("container_id") == kApp) CHECK(n.at("pod").at("container_name") == "api");
    }
    const auto names = warnings_of(doc, "names");
    REQUIRE(names.size() == 2);
    CHECK(names[0].at("message").get<std::string>().find("runtime says finance/ledger-api-7b9c8-k2m4p") !=
          std::string::npos);
    CHECK(names[1].at("message").get<std::string>().find("kubelet-log names it api-renamed, bundle api") !=
          std::string::npos);
    // The annotations' pod name still selects nothing: one rule, the shown name.
    CHECK(c.run({"--pod", "finance/ledger-api-7b9c8-k2m4p"}).status == 1);
}

TEST_CASE("a container known only from the kubelet's link, and a file that could not be read",
          "[reconstruct][containers]") {
    lineage::ContainerRow link;
    link.time_ns = static_cast<int64_t>(at(1003));
    link.container_id = kApp;
    link.pod_name = "ledger-api-7b9c8-k2m4p";
    link.pod_namespace = "finance";
    link.name = "api";
    link.source = "kubelet-log";
    link.path = "/var/log/containers";
    lineage::ContainerRow bad = annotated(kApp, "", "");
    bad.pod_uid = bad.pod_name = bad.pod_namespace = bad.type = "";
    bad.problem = "larger than 1 MiB";
    Case c(two_containers({bad, link}, "hostname"));

    RunResult js = c.run({"--container", "api", "--format", "json"});
    REQUIRE(js.status == 0);
    const json doc = json::parse(js.out);
    const auto shown = nodes_of(doc);
    REQUIRE(shown.size() == 1);
    CHECK(shown[0].at("pod").at("container_name") == "api");
    CHECK(shown[0].at("pod").at("image") == "");
    // The pod is named by its host name: the link names no UID.
    CHECK(shown[0].at("pod").at("name_source") == "uts");
    const auto names = warnings_of(doc, "names");
    REQUIRE(names.size() == 1);
    CHECK(names[0].at("message").get<std::string>().find("config.json: larger than 1 MiB") != std::string::npos);
}

TEST_CASE("hostile annotations are escaped in text and valid in JSON", "[reconstruct][containers]") {
    const std::string evil_name = "api\x1b[2J\x07\xff\xfe";
    const std::string evil_image = std::string("registry/\x1b]0;owned\x07:1\n") + std::string(5000, 'x');
    Case c(two_containers({annotated(kApp, evil_name, evil_image)}));

    RunResult text = c.run({"--pod", kPodUid});
    REQUIRE(text.status == 0);
    for (char ch : text.out) {
        const auto u = static_cast<unsigned char>(ch);
        INFO(lineage::escape_for_terminal(text.out.substr(0, 400)));
        REQUIRE(((u >= 0x20 && u != 0x7f) || u == '\n'));
    }
    CHECK(text.out.find(lineage::escape_for_terminal(evil_name)) != std::string::npos);

    RunResult js = c.run({"--pod", kPodUid, "--format", "json"});
    REQUIRE(js.status == 0);
    const json doc = json::parse(js.out);  // throws on invalid UTF-8
    bool found = false;
    for (const auto& n : nodes_of(doc)) {
        if (n.at("pod").at("container_id") != kApp) continue;
        found = true;
        CHECK(n.at("pod").at("container_name").get<std::string>().rfind("api\x1b[2J\x07", 0) == 0);
    }
    CHECK(found);
}

}  // namespace test_containers
