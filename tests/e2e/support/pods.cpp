#include "pods.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <catch2/catch.hpp>

namespace e2e {

namespace fs = std::filesystem;
using nlohmann::json;

std::string unique_name(const char* what) {
    static int n = 0;
    return fmt::format("lineage-e2e-{}-{}-{}", what, getpid(), ++n);
}

std::string pod_uid_for(const std::string& unique) {
    const size_t h = std::hash<std::string>()(unique);
    return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", static_cast<uint32_t>(h), getpid() & 0xffff,
                       (h >> 32) & 0xfff, (h >> 44) & 0xfff, static_cast<uint64_t>(getpid()) * 7919);
}

std::string container_id_for(const std::string& tag) {
    // Four hashes, so that the 12-digit short IDs of one run's containers
    // differ, as real ones do.
    std::string id;
    for (int i = 0; i < 4; ++i) {
        id += fmt::format("{:016x}", std::hash<std::string>()(fmt::format("{}-{}-{}", getpid(), tag, i)));
    }
    return id;
}

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
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    }
}

std::string kubelet_cgroup_path(const std::string& top, const std::string& pod_uid, const std::string& container) {
    return "/" + top + "/kubepods/besteffort/pod" + pod_uid + "/" + container;
}

void require_runc() {
    INFO("needs runc and busybox-static (scripts/setup.sh installs them)");
    REQUIRE(fs::exists("/usr/sbin/runc"));
    REQUIRE(fs::exists("/bin/busybox"));
}

RuncBundle::RuncBundle(std::string dir, const std::vector<std::string>& applets) : dir_(std::move(dir)) {
    require_runc();
    fs::create_directories(dir_ + "/rootfs/bin");
    for (const char* d : {"proc", "dev", "sys", "tmp"}) fs::create_directories(dir_ + "/rootfs/" + d);
    fs::copy_file("/bin/busybox", dir_ + "/rootfs/bin/busybox");
    for (const auto& applet : applets) fs::create_symlink("busybox", dir_ + "/rootfs/bin/" + applet);
    RunResult spec = run_argv({"/usr/sbin/runc", "spec", "--bundle", dir_}, {}, std::chrono::seconds(20));
    INFO("runc spec --bundle " << dir_ << ": " << spec.err);
    REQUIRE(spec.exit_code == 0);
    config = json::parse(read_file(config_path()));
    config["process"]["terminal"] = false;
    json namespaces = json::array();
    for (const auto& ns : config["linux"]["namespaces"]) {
        if (ns.at("type") != "network") namespaces.push_back(ns);
    }
    config["linux"]["namespaces"] = namespaces;
}

void RuncBundle::write() const {
    write_file(config_path(), config.dump(2));
}

RunResult runc_run(const std::string& state, const std::string& bundle, const std::string& id,
                   std::chrono::milliseconds timeout) {
    return run_argv({"/usr/sbin/runc", "--root", state, "run", "--bundle", bundle, id}, {}, timeout);
}

void runc_delete(const std::string& state, const std::string& id) {
    run_argv({"/usr/sbin/runc", "--root", state, "delete", "--force", id}, {}, std::chrono::seconds(20));
}

json containerd_annotations(const std::string& pod_namespace, const std::string& pod_name, const std::string& pod_uid,
                            const std::string& container_name, const std::string& image,
                            const std::string& container_type) {
    json a = {
        {"io.kubernetes.cri.container-type", container_type},
        {"io.kubernetes.cri.sandbox-name", pod_name},
        {"io.kubernetes.cri.sandbox-namespace", pod_namespace},
        {"io.kubernetes.cri.sandbox-uid", pod_uid},
    };
    if (!container_name.empty()) a["io.kubernetes.cri.container-name"] = container_name;
    if (!image.empty()) a["io.kubernetes.cri.image-name"] = image;
    return a;
}

json crio_annotations(const std::string& pod_namespace, const std::string& pod_name, const std::string& pod_uid,
                      const std::string& container_name, const std::string& image, const std::string& container_type) {
    return {
        {"io.kubernetes.pod.name", pod_name},     {"io.kubernetes.pod.namespace", pod_namespace},
        {"io.kubernetes.pod.uid", pod_uid},       {"io.kubernetes.container.name", container_name},
        {"io.kubernetes.cri-o.ImageName", image}, {"io.kubernetes.cri-o.ContainerType", container_type},
    };
}

RunResult run_lineage(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{lineage_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, {}, timeout);
}

namespace {

json run_json(const std::vector<std::string>& args) {
    RunResult r = run_lineage(args);
    INFO("lineage " << join_args(args) << "\nexit " << r.exit_code << "\nstderr:\n" << r.err << "\nstdout:\n" << r.out);
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

}  // namespace

json reconstruct_doc(const std::string& journal, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"reconstruct", "--journal", journal, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_json(args);
}

json pods_doc(const std::string& journal, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"pods", "--journal", journal, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_json(args);
}

std::vector<json> nodes_of(const json& doc) {
    std::vector<json> out;
    for (const auto& t : doc.at("trees")) collect(t, out);
    return out;
}

std::vector<json> children_of(const json& node) {
    return node.at("children").get<std::vector<json>>();
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

bool connects_to(const json& node, const std::string& daddr, int dport) {
    for (const auto& c : node.at("connects")) {
        if (c.at("daddr") == daddr && c.at("dport") == dport && c.at("result") == "established") return true;
    }
    return false;
}

void check_json_schema(const std::string& json_text, const std::string& schema, const std::string& scratch) {
    static const bool have_jsonschema =
        run_argv({"/usr/bin/python3", "-c", "import jsonschema"}, {}, std::chrono::seconds(30)).exit_code == 0;
    if (!have_jsonschema) {
        FAIL(
            "python3-jsonschema is missing (apt-get install python3-jsonschema): it is needed to validate the "
            "output against schema/"
            << schema);
    }
    write_file(scratch, json_text);
    const std::string path = source_dir() + "/schema/" + schema;
    RunResult r = run_argv({"/usr/bin/python3", "-m", "jsonschema", "-i", scratch, path}, {}, std::chrono::seconds(30));
    INFO("python3 -m jsonschema -i " << scratch << " " << path << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE(!r.timed_out);
    REQUIRE(r.exit_code == 0);
}

}  // namespace e2e
