// Containers by name and image (issue 22), with the real probes: what the
// recorder reads from what the runtime and the kubelet wrote on the node,
// checked through `lineage reconstruct`, `lineage pods` and `lineage verify`.
//
// - runc containers whose bundles carry containerd's or CRI-O's CRI
//   annotations: the recorder sees `runc run --bundle DIR ID` exec'd and
//   reads DIR/config.json. The bundles live in /tmp and the recorder runs
//   with the default --kube-root (/), under which it reads the bundle path
//   runc was given.
// - processes that were in a container's cgroup before `record` started,
//   known from a containerd task directory or the kubelet's
//   /var/log/containers under a fake --kube-root (a temporary directory).
// - hostile bundles: control characters, a config.json of more than 1 MiB,
//   invalid UTF-8, a config.json that is a symlink out of the bundle.
//
// Every recorder records the whole node (it must see runc's exec), so its
// journal may hold other test runs' pods too: pods are named after this
// process's PID, and selections are checked to hold this test's processes
// and nothing that does not match, not to hold only them.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "helpers.h"
#include "pods.h"

namespace test_containers_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

constexpr const char* kImage = "registry.example.test/ledger/api:1.4.2";
constexpr const char* kPauseImage = "registry.example.test/pause:3.9";

// What the recorder must have learnt of a container.
struct Expect {
    std::string pod_uid;
    std::string pod_namespace;
    std::string pod_name;
    std::string container_id;
    std::string container_name;  // "" unknown
    std::string image;           // "" unknown
    std::string name_source;     // kubelet, runtime, uts, uid
};

// A bundle for one container of a fake pod: busybox's sh as its PID 1, which
// forks a subshell and forks and execs /bin/true, in the kubelet-shaped
// cgroup `cgroup_path`, in a UTS namespace named `hostname`.
RuncBundle pod_bundle(const std::string& dir, const std::string& cgroup_path, const std::string& hostname,
                      const json& annotations) {
    RuncBundle b(dir, {"sh", "true"});
    b.config["process"]["args"] = {"/bin/sh", "-c", "(true); /bin/true; exit 0"};
    b.config["hostname"] = hostname;
    b.config["linux"]["cgroupsPath"] = cgroup_path;
    if (!annotations.is_null()) b.config["annotations"] = annotations;
    return b;
}

// `runc run` of the bundle, its ID the container's 64-digit ID as containerd
// and CRI-O give it: what ties a bundle the recorder could not read to the
// container's cgroup.
void run_container(const std::string& state, const std::string& bundle_dir, const std::string& id) {
    RunResult run = runc_run(state, bundle_dir, id);
    INFO("runc run --bundle " << bundle_dir << " " << id << "\nstdout:\n" << run.out << "\nstderr:\n" << run.err);
    runc_delete(state, id);
    REQUIRE(!run.timed_out);
    REQUIRE(run.exit_code == 0);
}

// The nodes of `doc` that are this test's container's processes.
std::vector<json> nodes_in_container(const json& doc, const std::string& container_id) {
    std::vector<json> out;
    for (const auto& n : nodes_of(doc)) {
        if (n.at("pod").is_object() && n.at("pod").at("container_id") == container_id) out.push_back(n);
    }
    return out;
}

// What of the node's pod object differs from `e`, one line a field ("" when
// nothing does): one CHECK a node, not one a field, keeps a failure short.
std::string pod_mismatches(const json& node, const Expect& e) {
    const json& pod = node.at("pod");
    if (!pod.is_object()) return "no pod object";
    std::string out;
    const std::pair<const char*, const std::string*> fields[] = {
        {"uid", &e.pod_uid},
        {"namespace", &e.pod_namespace},
        {"name", &e.pod_name},
        {"container_id", &e.container_id},
        {"container_name", &e.container_name},
        {"image", &e.image},
        {"name_source", &e.name_source},
    };
    for (const auto& [field, want] : fields) {
        const json got = pod.value(field, json());
        if (got != json(*want)) out += fmt::format("  {}: {} (expected {})\n", field, got.dump(), json(*want).dump());
    }
    return out;
}

void check_pod_object(const json& node, const Expect& e) {
    INFO("process " << node.at("pid") << " " << node.at("args").dump());
    CHECK(pod_mismatches(node, e) == "");
}

// Every node of `doc` in the expected pod and container, and the
// container's processes all there: sh as PID 1, its subshell, /bin/true.
void check_container_nodes(const json& doc, const Expect& e) {
    const auto nodes = nodes_in_container(doc, e.container_id);
    INFO("container " << e.container_id << " has " << nodes.size() << " processes in the answer");
    REQUIRE(!nodes.empty());
    size_t inits = 0, trues = 0, subshells = 0;
    for (const auto& n : nodes) {
        check_pod_object(n, e);
        if (n.at("pod").at("container_init") == true) {
            ++inits;
            CHECK(n.at("nspid") == 1);
            CHECK(execs_binary(n, "sh"));
        }
        if (execs_binary(n, "true")) ++trues;
        if (n.at("fork_of") == "sh" && n.at("execs").empty()) ++subshells;
    }
    CHECK(inits == 1);
    CHECK(trues == 1);
    CHECK(subshells == 1);
}

// `lineage reconstruct --journal J ARGS...` as text, which must succeed.
std::string reconstruct_text(const std::string& journal, const Args& extra) {
    Args args{"reconstruct", "--journal", journal};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_lineage(args);
    INFO("lineage " << join_args(args) << "\nexit " << r.exit_code << "\nstderr:\n" << r.err);
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == 0);
    return r.out;
}

// `lineage reconstruct ... --format json` of a selection that matches
// nothing: exit 1, as for any empty answer, and a document with no trees.
void check_nothing_matches(const std::string& journal, const Args& extra) {
    Args args{"reconstruct", "--journal", journal, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = run_lineage(args);
    INFO("lineage " << join_args(args) << "\nexit " << r.exit_code << "\nstderr:\n" << r.err << "\nstdout:\n" << r.out);
    REQUIRE(!r.timed_out);
    CHECK(r.exit_code == 1);
    json doc;
    REQUIRE_NOTHROW(doc = json::parse(r.out));
    CHECK(doc.at("trees").empty());
}

// A `names` warning of `doc` about the container `id`: two of its sources
// disagreed, or one of its files could not be read.
bool warns_of_names(const json& doc, const std::string& id) {
    for (const auto& w : doc.at("warnings")) {
        if (w.at("kind") == "names" && w.at("message").get<std::string>().find(id.substr(0, 12)) != std::string::npos)
            return true;
    }
    return false;
}

void check_verify(const std::string& journal) {
    RunResult v = run_lineage({"verify", "--journal", journal});
    INFO("lineage verify --journal " << journal << "\nexit " << v.exit_code << "\nstdout:\n"
                                     << v.out << "\nstderr:\n"
                                     << v.err);
    CHECK(!v.timed_out);
    CHECK(v.exit_code == 0);
}

// The pod of `lineage pods --format json` with this UID.
json pod_listed(const json& pods, const std::string& uid) {
    INFO(pods.dump(2));
    for (const auto& p : pods.at("pods")) {
        if (p.at("uid") == uid) return p;
    }
    FAIL("lineage pods does not list pod " << uid);
    return {};
}

// The container `id` of a pod of `lineage pods --format json`.
json container_listed(const json& pod, const std::string& id) {
    INFO(pod.dump(2));
    for (const auto& c : pod.at("containers")) {
        if (c.at("id") == id) return c;
    }
    FAIL("lineage pods lists no container " << id << " in pod " << pod.at("uid"));
    return {};
}

enum class Runtime { containerd, crio };

// One runc container with `runtime`'s annotations and a host name that is
// not the pod's name, recorded; then everything the responder can ask.
void check_annotated_container(Runtime runtime) {
    const bool crio = runtime == Runtime::crio;
    const std::string top = unique_name(crio ? "crio" : "containerd");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string id = container_id_for(crio ? "c410" : "c0d");
    const std::string ns = "finance";
    const std::string name = fmt::format("ledger-api-{}-k2m4p", getpid());
    const std::string hostname = fmt::format("not-the-pod-name-{}", getpid());
    // CRI-O names its cgroupfs leaf crio-<ID>.
    const std::string cgroup = kubelet_cgroup_path(top, pod_uid, crio ? "crio-" + id : id);
    const json annotations = crio ? crio_annotations(ns, name, pod_uid, "api", kImage)
                                  : containerd_annotations(ns, name, pod_uid, "api", kImage);

    TempDir dir;
    const RuncBundle bundle = pod_bundle(dir / "bundle", cgroup, hostname, annotations);
    bundle.write();
    auto rec = start_record(dir / "j.db");
    run_container(dir / "runc-state", bundle.dir(), id);
    rec->stop();
    const std::string journal = dir / "j.db";
    const Expect e{pod_uid, ns, name, id, "api", kImage, "runtime"};

    // By the pod's annotated name: one tree, every process named.
    const json by_pod = reconstruct_doc(journal, {"--pod", ns + "/" + name});
    CHECK(by_pod.at("trees").size() == 1);
    check_container_nodes(by_pod, e);
    CHECK(nodes_in_container(by_pod, id).size() == nodes_of(by_pod).size());
    check_json_schema(by_pod.dump(), "reconstruct.schema.json", dir / "by_pod.json");
    // The host name no longer names the pod.
    check_nothing_matches(journal, {"--pod", hostname});

    // By the container's name, and by its ID as before: ours is there, and
    // everything there is a container of that name.
    const json by_name = reconstruct_doc(journal, {"--container", "api"});
    check_container_nodes(by_name, e);
    for (const auto& n : nodes_of(by_name)) {
        if (n.at("matched") == true) CHECK(n.at("pod").at("container_name") == "api");
    }
    const json by_id = reconstruct_doc(journal, {"--container", id.substr(0, 12)});
    check_container_nodes(by_id, e);

    // By image: a glob that matches it, and one that matches nothing.
    const json by_image = reconstruct_doc(journal, {"--image", "registry.example.test/ledger/*"});
    check_container_nodes(by_image, e);
    for (const auto& n : nodes_of(by_image)) {
        if (n.at("matched") != true) continue;
        const std::string image = n.at("pod").at("image");
        CHECK(image.rfind("registry.example.test/ledger/", 0) == 0);
    }
    check_nothing_matches(journal, {"--image", "nomatch*"});
    check_nothing_matches(journal, {"--image", "registry.example.test/ledger/api:9.9.9"});

    // The text header names the pod, the container and its image.
    const std::string text = reconstruct_text(journal, {"--pod", ns + "/" + name});
    INFO(text);
    CHECK(text.find(fmt::format("pod {}/{}  container api  image {}  ({})", ns, name, kImage, id.substr(0, 12))) !=
          std::string::npos);

    // `lineage pods` lists the container with its name and image.
    const json pods = pods_doc(journal);
    check_json_schema(pods.dump(), "pods.schema.json", dir / "pods.json");
    const json pod = pod_listed(pods, pod_uid);
    CHECK(pod.at("name") == name);
    CHECK(pod.at("namespace") == ns);
    CHECK(pod.at("containers").size() == 1);
    const json container = container_listed(pod, id);
    CHECK(container.at("name") == "api");
    CHECK(container.at("image") == kImage);

    check_verify(journal);
}

}  // namespace

TEST_CASE("containers: a runc container with containerd's annotations, named by them", "[containers]") {
    check_annotated_container(Runtime::containerd);
}

TEST_CASE("containers: a runc container with CRI-O's annotations, named by them", "[containers]") {
    check_annotated_container(Runtime::crio);
}

namespace {

// A process that waits for the file `go`, then forks and execs /bin/true
// and forks a child that never execs; killed at the end of the test if it
// is still there.
class Waiter {
public:
    explicit Waiter(const std::string& go) {
        pid_ = spawn("/usr/bin/python3",
                     {"/usr/bin/python3", "-c",
                      "import os, sys, time\n"
                      "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
                      "pid = os.fork()\n"
                      "if pid == 0: os.execv('/bin/true', ['true'])\n"
                      "os.waitpid(pid, 0)\n"
                      "pid = os.fork()\n"
                      "if pid == 0: os._exit(0)\n"
                      "os.waitpid(pid, 0)\n",
                      go},
                     {}, -1, -1, -1);
        REQUIRE(pid_ > 0);
    }
    ~Waiter() {
        if (!reaped_) {
            kill(pid_, SIGKILL);
            (void)wait_for(pid_, 10s);
        }
    }
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;

    pid_t pid() const { return pid_; }
    void move_to(const std::string& cgroup_dir) const {
        write_file(cgroup_dir + "/cgroup.procs", std::to_string(pid_));
    }
    void wait_exit() {
        const auto status = wait_for(pid_, 20s);
        REQUIRE(status);
        reaped_ = true;
        CHECK(describe_status(*status) == "exit 0");
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
};

// The waiter's processes in `doc`: the waiter itself, its child that exec'd
// true and its child that never exec'd, all in the expected pod.
void check_waiter_nodes(const json& doc, const Waiter& waiter, const Expect& e, const char* entered) {
    INFO("the waiter is pid " << waiter.pid());
    const json* w = nullptr;
    const auto nodes = nodes_of(doc);
    for (const auto& n : nodes) {
        if (n.at("pid") == waiter.pid()) w = &n;
    }
    REQUIRE(w);
    check_pod_object(*w, e);
    CHECK(w->at("pod").at("entered") == entered);
    const auto children = children_of(*w);
    REQUIRE(children.size() == 2);
    for (const auto& c : children) {
        check_pod_object(c, e);
        CHECK(c.at("pod").at("entered") == "fork");
    }
    CHECK(execs_binary(children[0], "true"));
    CHECK(children[1].at("execs").empty());
}

// Writes `path`, its directories made first.
void write_new_file(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    write_file(path, text);
}

// A config.json as a runtime leaves it in its state directories: enough of
// the OCI spec to name the container and tie it to its cgroup.
std::string state_config(const json& annotations, const std::string& cgroup_path) {
    return json{{"ociVersion", "1.0.2"},
                {"annotations", annotations},
                {"linux", {{"cgroupsPath", cgroup_path}}},
                {"process", {{"args", {"/app"}}}}}
        .dump(2);
}

}  // namespace

TEST_CASE("containers: processes of containers started before record, or first seen later, named from the node",
          "[containers]") {
    const std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    const std::string top = unique_name("state");
    CgroupCleanup cleanup{top};
    TempDir dir;
    const std::string root = dir / "kube";  // the fake node's --kube-root
    const std::string ns = "batch";
    char host[256] = {};
    gethostname(host, sizeof host - 1);

    // A: in its container's cgroup before record starts (the /proc
    // snapshot), known from a containerd task directory.
    const std::string uid_a = pod_uid_for(top + "a"), id_a = container_id_for("aaa");
    const std::string name_a = fmt::format("report-{}-x7k2q", getpid());
    const std::string cg_a = kubelet_cgroup_path(top, uid_a, id_a);
    write_new_file(root + "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + id_a + "/config.json",
                   state_config(containerd_annotations(ns, name_a, uid_a, "worker", kImage), cg_a));
    // B: moved into its cgroup after record started, known from CRI-O's
    // state and from /var/log/containers, which names it otherwise: the
    // annotations name the container.
    const std::string uid_b = pod_uid_for(top + "b"), id_b = container_id_for("bbb");
    const std::string name_b = fmt::format("ingest-{}-p9w4z", getpid());
    const std::string cg_b = kubelet_cgroup_path(top, uid_b, "crio-" + id_b);
    write_new_file(root + "/run/containers/storage/overlay-containers/" + id_b + "/userdata/config.json",
                   state_config(crio_annotations(ns, name_b, uid_b, "sidecar", kImage), cg_b));
    write_new_file(root + "/var/log/containers/" + name_b + "_" + ns + "_from-log-" + id_b + ".log", "");
    // C: moved after record started, known only from the kubelet's files:
    // the pod from its log directory, the container from /var/log/containers.
    const std::string uid_c = pod_uid_for(top + "c"), id_c = container_id_for("ccc");
    const std::string name_c = fmt::format("cron-{}-m3n8v", getpid());
    const std::string cg_c = kubelet_cgroup_path(top, uid_c, id_c);
    fs::create_directories(root + "/var/log/pods/" + ns + "_" + name_c + "_" + uid_c + "/tick");
    write_file(root + "/var/log/containers/" + name_c + "_" + ns + "_tick-" + id_c + ".log", "");
    for (const auto& cg : {cg_a, cg_b, cg_c}) REQUIRE(fs::create_directories(mount + cg));

    const std::string go = dir / "go";
    Waiter a(go), b(go), c(go);
    a.move_to(mount + cg_a);
    auto rec = start_record(dir / "j.db", {"--kube-root", root});
    b.move_to(mount + cg_b);
    c.move_to(mount + cg_c);
    std::this_thread::sleep_for(200ms);
    write_file(go, "");
    a.wait_exit();
    b.wait_exit();
    c.wait_exit();
    rec->stop();
    const std::string journal = dir / "j.db";

    const json doc_a = reconstruct_doc(journal, {"--pod", ns + "/" + name_a});
    check_waiter_nodes(doc_a, a, {uid_a, ns, name_a, id_a, "worker", kImage, "runtime"}, "snapshot");
    const json doc_b = reconstruct_doc(journal, {"--pod", ns + "/" + name_b});
    check_waiter_nodes(doc_b, b, {uid_b, ns, name_b, id_b, "sidecar", kImage, "runtime"}, "move");
    {
        // Its two names for the container disagree: the analyst hears of it.
        INFO(doc_b.at("warnings").dump());
        CHECK(warns_of_names(doc_b, id_b));
    }
    const json doc_c = reconstruct_doc(journal, {"--pod", ns + "/" + name_c});
    check_waiter_nodes(doc_c, c, {uid_c, ns, name_c, id_c, "tick", "", "kubelet"}, "move");
    for (const json* doc : {&doc_a, &doc_b, &doc_c}) {
        for (const auto& n : nodes_of(*doc)) CHECK(n.at("pod").at("name") != host);
    }
    // Never named after the node, whose processes share its UTS namespace.
    check_nothing_matches(journal, {"--pod", host});

    const json pods = pods_doc(journal);
    CHECK(container_listed(pod_listed(pods, uid_a), id_a).at("name") == "worker");
    CHECK(container_listed(pod_listed(pods, uid_b), id_b).at("name") == "sidecar");
    CHECK(container_listed(pod_listed(pods, uid_c), id_c).at("name") == "tick");
    CHECK(container_listed(pod_listed(pods, uid_c), id_c).at("image") == "");
    check_verify(journal);
}

TEST_CASE("containers: a pod's pause container and its app container: one pod, two containers", "[containers]") {
    const std::string top = unique_name("sandbox");
    CgroupCleanup cleanup{top};
    const std::string pod_uid = pod_uid_for(top);
    const std::string ns = "finance";
    const std::string name = fmt::format("ledger-web-{}-q8r2t", getpid());
    const std::string hostname = fmt::format("web-host-{}", getpid());
    const std::string pause_id = container_id_for("9a05e"), app_id = container_id_for("a99");

    TempDir dir;
    const RuncBundle pause = pod_bundle(dir / "pause", kubelet_cgroup_path(top, pod_uid, pause_id), hostname,
                                        containerd_annotations(ns, name, pod_uid, "", kPauseImage, "sandbox"));
    pause.write();
    const RuncBundle app = pod_bundle(dir / "app", kubelet_cgroup_path(top, pod_uid, app_id), hostname,
                                      containerd_annotations(ns, name, pod_uid, "api", kImage));
    app.write();
    auto rec = start_record(dir / "j.db");
    run_container(dir / "runc-state", pause.dir(), pause_id);
    run_container(dir / "runc-state", app.dir(), app_id);
    rec->stop();
    const std::string journal = dir / "j.db";

    // One pod: both containers' processes, each under its own name.
    const json doc = reconstruct_doc(journal, {"--pod", ns + "/" + name});
    check_json_schema(doc.dump(), "reconstruct.schema.json", dir / "doc.json");
    check_container_nodes(doc, {pod_uid, ns, name, app_id, "api", kImage, "runtime"});
    std::set<std::string> ids;
    for (const auto& n : nodes_of(doc)) ids.insert(n.at("pod").at("container_id"));
    CHECK(ids == std::set<std::string>{pause_id, app_id});
    const auto pause_nodes = nodes_in_container(doc, pause_id);
    REQUIRE(!pause_nodes.empty());
    for (const auto& n : pause_nodes) {
        INFO(n.at("pod").dump());
        CHECK(n.at("pod").at("uid") == pod_uid);
        CHECK(n.at("pod").at("name") == name);
        CHECK(n.at("pod").at("name_source") == "runtime");
        CHECK(n.at("pod").at("container_name") != "api");
        CHECK(n.at("pod").at("image") == kPauseImage);
    }
    const std::string text = reconstruct_text(journal, {"--pod", ns + "/" + name});
    INFO(text);
    // Both containers in the pod's header, the pause container (no name)
    // as the sandbox.
    CHECK(text.find(fmt::format("pod {}/{}  sandbox  image {}  ({})  container api  image {}  ({})", ns, name,
                                kPauseImage, pause_id.substr(0, 12), kImage, app_id.substr(0, 12))) !=
          std::string::npos);

    const json pod = pod_listed(pods_doc(journal), pod_uid);
    CHECK(pod.at("name") == name);
    REQUIRE(pod.at("containers").size() == 2);
    CHECK(container_listed(pod, app_id).at("name") == "api");
    CHECK(container_listed(pod, app_id).at("image") == kImage);
    CHECK(container_listed(pod, app_id).at("type") == "container");
    CHECK(container_listed(pod, pause_id).at("image") == kPauseImage);
    CHECK(container_listed(pod, pause_id).at("type") == "sandbox");
    check_verify(journal);
}

TEST_CASE("containers: hostile bundles never stop the recorder, and give no name", "[containers]") {
    const std::string top = unique_name("hostile");
    CgroupCleanup cleanup{top};
    TempDir dir;
    const std::string state = dir / "runc-state";
    struct Case {
        std::string what, tag;
        Expect expect;
        std::string hostname;
        bool unreadable = true;  // its config.json is refused: a names warning
    };
    std::vector<Case> cases;
    auto add = [&](const std::string& what, const std::string& tag) -> Case& {
        const std::string uid = pod_uid_for(top + tag);
        const std::string hostname = fmt::format("hostile-{}-{}", tag, getpid());
        // Unless a case says otherwise: named after its host name alone.
        cases.push_back({what, tag, {uid, "", hostname, container_id_for(tag), "", "", "uts"}, hostname, true});
        return cases.back();
    };
    auto cgroup_of = [&](const Case& c) { return kubelet_cgroup_path(top, c.expect.pod_uid, c.expect.container_id); };

    // Control characters in every name: taken (they are valid JSON
    // strings), kept as they are in JSON, escaped in text.
    {
        Case& c = add("control characters", "c7");
        c.expect.pod_namespace = "ns\x1b[31m";
        c.expect.pod_name = fmt::format("evil-\x1b]0;pwned\x07-{}", getpid());
        c.expect.container_name = "api\x1b[2J";
        c.expect.image = "registry.example.test/\x1b[8m/img:1";
        c.expect.name_source = "runtime";
        c.unreadable = false;
        const Expect& e = c.expect;
        pod_bundle(dir / c.tag, cgroup_of(c), c.hostname,
                   containerd_annotations(e.pod_namespace, e.pod_name, e.pod_uid, e.container_name, e.image))
            .write();
    }
    // A 10 MB container name: the file is over the 1 MiB the recorder reads.
    {
        Case& c = add("a config.json of more than 1 MiB", "b16");
        pod_bundle(dir / c.tag, cgroup_of(c), c.hostname,
                   containerd_annotations("big", fmt::format("big-{}", getpid()), c.expect.pod_uid,
                                          std::string(10 << 20, 'a'), kImage))
            .write();
    }
    // Invalid UTF-8 in the pod's name: not JSON, although runc takes it.
    {
        Case& c = add("invalid UTF-8", "f00f");
        const RuncBundle b = pod_bundle(dir / c.tag, cgroup_of(c), c.hostname,
                                        containerd_annotations("utf", "PLACEHOLDER", c.expect.pod_uid, "api", kImage));
        std::string text = b.config.dump(2);
        const size_t at = text.find("PLACEHOLDER");
        REQUIRE(at != std::string::npos);
        text.replace(at, 11, fmt::format("bad-\xff\xfe\xc0\xaf-{}", getpid()));
        write_file(b.config_path(), text);
    }
    // config.json a symlink to a file outside the bundle, which runc follows.
    {
        Case& c = add("a config.json symlink out of the bundle", "5e1f");
        RuncBundle b = pod_bundle(
            dir / c.tag, cgroup_of(c), c.hostname,
            containerd_annotations("outside", fmt::format("symlinked-{}", getpid()), c.expect.pod_uid, "api", kImage));
        fs::create_directories(dir / "outside");
        write_file(dir / "outside/config.json", b.config.dump(2));
        fs::remove(b.config_path());  // runc spec's
        fs::create_symlink(dir / "outside/config.json", b.config_path());
    }

    auto rec = start_record(dir / "j.db");
    for (const auto& c : cases) run_container(state, dir / c.tag, c.expect.container_id);
    const std::string record_err = rec->stop();
    const std::string journal = dir / "j.db";
    INFO("lineage record stderr:\n" << record_err);

    for (const auto& c : cases) {
        INFO("bundle with " << c.what);
        // Its processes are in the journal, under the name they should have.
        const json doc = reconstruct_doc(journal, {"--pod", c.expect.pod_uid});
        check_container_nodes(doc, c.expect);
        check_json_schema(doc.dump(), "reconstruct.schema.json", dir / ("doc-" + c.tag + ".json"));
        {
            // A file it could not read is named in a warning.
            INFO(doc.at("warnings").dump());
            CHECK(warns_of_names(doc, c.expect.container_id) == c.unreadable);
        }
        // Text: nothing raw that a terminal would act on.
        const std::string text = reconstruct_text(journal, {"--pod", c.expect.pod_uid});
        INFO(text);
        CHECK(text.find('\x1b') == std::string::npos);
        CHECK(text.find('\x07') == std::string::npos);
        if (c.expect.name_source == "runtime") {
            CHECK(text.find("\\x1b") != std::string::npos);
        } else {
            CHECK(text.find("pod " + c.hostname) != std::string::npos);
        }
    }

    const json pods = pods_doc(journal);
    check_json_schema(pods.dump(), "pods.schema.json", dir / "pods.json");
    for (const auto& c : cases) {
        INFO("bundle with " << c.what);
        const json listed = container_listed(pod_listed(pods, c.expect.pod_uid), c.expect.container_id);
        CHECK(listed.at("name") == c.expect.container_name);
        CHECK(listed.at("image") == c.expect.image);
    }
    RunResult pods_text = run_lineage({"pods", "--journal", journal});
    INFO(pods_text.out);
    CHECK(pods_text.exit_code == 0);
    CHECK(pods_text.out.find('\x1b') == std::string::npos);
    CHECK(pods_text.out.find('\x07') == std::string::npos);
    check_verify(journal);
}

}  // namespace test_containers_e2e
