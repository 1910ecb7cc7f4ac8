// lineage pods, timeline and info on a recorded fake pod, with real probes:
// a pod whose first process runs a liveness loop (a probe and a sleep, a
// dozen times) and then an attack that connects to a listener on loopback.
// Then the three commands as root on the journal, and as `nobody` on a
// read-only copy; and the folded tree.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroupfs.h"
#include "helpers.h"

namespace test_triage_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;
using Args = std::vector<std::string>;

namespace {

namespace fs = std::filesystem;

const Args kAsNobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

void remove_tree(const std::string& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return;
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

struct Cleanup {
    std::string dir;
    ~Cleanup() { remove_tree(dir); }
};

RunResult run_lineage_as(const Args& args, bool as_nobody = false, const Env& env = {}) {
    Args argv;
    if (as_nobody) argv = kAsNobody;
    argv.push_back(lineage_bin());
    argv.insert(argv.end(), args.begin(), args.end());
    return run_argv(argv, env, 60s);
}

}  // namespace

TEST_CASE("pods, timeline and info on a recorded pod with a liveness loop and an attack", "[triage-e2e]") {
    const std::string mount = lineage::find_cgroup2_mount();
    REQUIRE(!mount.empty());
    const std::string top = fmt::format("lineage-e2e-triage-{}", getpid());
    const std::string top_dir = mount + "/" + top;
    Cleanup cleanup{top_dir};
    const std::string pod_uid = fmt::format("7e1a9e00-0000-4000-8000-{:012x}", static_cast<uint64_t>(getpid()));
    const std::string container = fmt::format("{:0>64}", fmt::format("{:x}", getpid()) + "beef");
    const std::string cg = top_dir + "/kubepods/besteffort/pod" + pod_uid + "/" + container;
    REQUIRE(fs::create_directories(cg));
    const std::string name = fmt::format("liveness-{}", getpid());

    TempDir dir;
    Listener attacker("127.0.0.1");
    auto rec = start_record(dir / "journal.db");
    // The pod: its first shell moves itself into the pod's cgroup and
    // becomes PID 1 of new UTS and PID namespaces; it probes a dozen times,
    // then is attacked.
    const std::string script =
        "hostname " + name +
        "\n"
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/sh -c 'test -d /tmp'; /bin/sleep 0.02; done\n"
        "/bin/sh -c \"/usr/bin/python3 -c 'import socket; socket.create_connection((\\\"127.0.0.1\\\", " +
        std::to_string(attacker.port()) + ")).close()'\"\necho done=1\n";
    write_file(dir / "pod.sh", script);
    RunResult run = run_argv(
        {"/bin/sh", "-c",
         "echo $$ > " + cg + "/cgroup.procs && exec /usr/bin/unshare --uts --pid --fork /bin/bash " + (dir / "pod.sh")},
        {}, 30s);
    INFO("pod stdout:\n" << run.out << "stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    REQUIRE(parse_facts(run.out)["done"] == "1");
    rec->stop();
    const std::string journal = dir / "journal.db";

    // A read-only copy that nobody can read: 0444 in a 0555 directory.
    TempDir copies, tmp_nobody;
    REQUIRE(chmod(tmp_nobody.path().c_str(), 01777) == 0);
    REQUIRE(chmod(copies.path().c_str(), 0755) == 0);
    const std::string copy = copies / "journal.db";
    fs::copy_file(journal, copy);
    REQUIRE(chmod(copy.c_str(), 0444) == 0);
    REQUIRE(chmod(copies.path().c_str(), 0555) == 0);
    const auto size_before = fs::file_size(copy);
    const auto mtime_before = fs::last_write_time(copy);

    for (bool nobody : {false, true}) {
        const std::string path = nobody ? copy : journal;
        const Env env = nobody ? Env{{"TMPDIR", tmp_nobody.path()}} : Env{};
        INFO((nobody ? "as nobody on the read-only copy" : "as root on the journal"));

        RunResult pods = run_lineage_as({"pods", "--journal", path, name, "--format", "json"}, nobody, env);
        INFO("pods: " << pods.out << pods.err);
        REQUIRE(pods.exit_code == 0);
        json doc = json::parse(pods.out);
        REQUIRE(doc.at("pods").size() == 1);
        const json& pod = doc.at("pods")[0];
        CHECK(pod.at("uid") == pod_uid);
        CHECK(pod.at("connects") == 1);
        CHECK(pod.at("execs").get<int>() >= 26);  // 12 probes, 12 sleeps, the attack's sh and python3
        RunResult pods_text = run_lineage_as({"pods", "--journal", path, name, "--color", "never"}, nobody, env);
        CHECK(pods_text.exit_code == 0);
        CHECK(pods_text.out.find("\n" + name + "  " + pod_uid + "  ") != std::string::npos);
        CHECK(pods_text.out.find('\x1b') == std::string::npos);

        RunResult tl = run_lineage_as({"timeline", "--journal", path, "--pod", name, "--color", "never"}, nobody, env);
        INFO("timeline: " << tl.out << tl.err);
        REQUIRE(tl.exit_code == 0);
        CHECK(tl.out.find("connect ") != std::string::npos);
        CHECK(tl.out.find("127.0.0.1:" + std::to_string(attacker.port())) != std::string::npos);
        CHECK(tl.out.find("sh -c \"test -d /tmp\"") != std::string::npos);
        RunResult jl = run_lineage_as({"timeline", "--journal", path, "--pod", name, "--format", "jsonl"}, nobody, env);
        REQUIRE(jl.exit_code == 0);
        size_t execs = 0;
        std::istringstream lines(jl.out);
        for (std::string line; std::getline(lines, line);) execs += json::parse(line).at("event") == "exec";
        CHECK(execs >= 26);

        RunResult info = run_lineage_as({"info", "--journal", path, "--format", "json"}, nobody, env);
        INFO("info: " << info.out << info.err);
        REQUIRE(info.exit_code == 0);
        json id = json::parse(info.out);
        CHECK(id.at("journals")[0].at("runs").size() == 1);
        CHECK(id.at("journals")[0].at("rows").at("exec").get<int>() >= 26);

        // The folded tree: the probes on one line, the attack on its own.
        RunResult tree =
            run_lineage_as({"reconstruct", "--journal", path, "--pod", name, "--color", "never"}, nobody, env);
        INFO("tree: " << tree.out);
        CHECK(tree.exit_code == 0);
        CHECK(tree.out.find("sh -c \"test -d /tmp\"  ×12  (") != std::string::npos);
        CHECK(tree.out.find("sleep 0.02  ×12  (") != std::string::npos);
        CHECK(tree.out.find("→ connect 127.0.0.1:" + std::to_string(attacker.port())) != std::string::npos);
    }
    CHECK(fs::file_size(copy) == size_before);
    CHECK(fs::last_write_time(copy) == mtime_before);
    CHECK(!fs::exists(copy + "-wal"));
    CHECK(!fs::exists(copy + "-journal"));
}

}  // namespace test_triage_e2e
