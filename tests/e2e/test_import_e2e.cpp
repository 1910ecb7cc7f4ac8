// lineage import --from bpftrace against lineage's own record of the same
// run: the seed article's bpftrace recorder (its script, verbatim) and
// `lineage record` both watch a scripted workload; the log is imported, and
// both journals must hold the same exec'd processes, by their binaries, with
// the same parents.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "helpers.h"

namespace test_import_e2e {

using namespace e2e;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The seed article's file recorder ("Building Process Lineage Without
// Tetragon"), as it prints it.
constexpr const char* kSeedScript = R"(tracepoint:syscalls:sys_enter_execve {
    printf("%llu EXEC pid=%-6d ppid=%-6d binary=%s\n",
           nsecs, pid, curtask->real_parent->tgid, str(args->filename));
}
tracepoint:sched:sched_process_exit {
    printf("%llu EXIT pid=%-6d comm=%s\n", nsecs, pid, comm);
}
)";

// "parent binaries > child binaries" for every exec'd process below the
// workload's root in reconstruct's JSON, the root's own images first:
// images are joined by " -> ", so an exec chain in one PID is one entry.
std::set<std::string> edges(const json& doc, int64_t root) {
    std::set<std::string> out;
    auto images = [](const json& n) {
        std::string s;
        for (const auto& e : n.at("execs")) s += (s.empty() ? "" : " -> ") + e.at("binary").get<std::string>();
        return s;
    };
    // The trees start above the root (its ancestors are shown): find it.
    std::vector<const json*> todo, below;
    for (const auto& t : doc.at("trees")) todo.push_back(&t);
    while (!todo.empty()) {
        const json* n = todo.back();
        todo.pop_back();
        if (n->at("pid") == root) below.push_back(n);
        for (const auto& c : n->at("children")) todo.push_back(&c);
    }
    REQUIRE(below.size() == 1);
    while (!below.empty()) {
        const json* n = below.back();
        below.pop_back();
        for (const auto& c : n->at("children")) {
            if (!c.at("execs").empty()) out.insert(images(*n) + " > " + images(c));
            below.push_back(&c);
        }
    }
    return out;
}

// Every tree: --descendants-of loads descendants by their fork rows, and
// the seed's recorder has none (parents come from its EXEC lines).
json all_trees(const std::string& journal) {
    auto r = run_argv({lineage_bin(), "reconstruct", "--journal", journal, "--format", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

// bpftrace's tracepoints need tracefs: mounted for the test when it is not,
// and unmounted again.
class Tracefs {
public:
    Tracefs() {
        if (std::filesystem::exists("/sys/kernel/tracing/events/syscalls")) return;
        mounted_ = mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0;
    }
    ~Tracefs() {
        if (mounted_) umount("/sys/kernel/tracing");
    }
    Tracefs(const Tracefs&) = delete;
    Tracefs& operator=(const Tracefs&) = delete;
    bool ok() const { return std::filesystem::exists("/sys/kernel/tracing/events/syscalls/sys_enter_execve"); }

private:
    bool mounted_ = false;
};

}  // namespace

TEST_CASE("a bpftrace log of the seed's recorder, imported, holds what lineage recorded", "[import-e2e]") {
    if (access("/usr/bin/bpftrace", X_OK) != 0) {
        const char* req = std::getenv("LINEAGE_REQUIRE_BPF");
        if (req && std::string(req) == "1") FAIL("bpftrace is not installed (scripts/setup.sh installs it)");
        WARN("SKIPPED: bpftrace is not installed");
        return;
    }
    Tracefs tracefs;
    REQUIRE(tracefs.ok());
    TempDir dir;
    const std::string script = dir / "process-lineage.bt", log = dir / "process-lineage.log";
    write_file(script, kSeedScript);
    lineage::UniqueFd out(open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    lineage::UniqueFd err(open((dir / "bpftrace.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(out.get() >= 0);
    const pid_t bt = spawn("/usr/bin/bpftrace", {"bpftrace", script}, {}, -1, out.get(), err.get());
    // bpftrace prints "Attaching N probes..." once they are attached.
    const auto deadline = Clock::now() + 60s;
    while (read_file(log).find("Attaching") == std::string::npos && Clock::now() < deadline) {
        REQUIRE(!wait_for(bt, 0ms));
        std::this_thread::sleep_for(50ms);
    }
    INFO("bpftrace stderr: " << read_file(dir / "bpftrace.err"));
    REQUIRE(read_file(log).find("Attaching") != std::string::npos);
    // It prints that before the probes are attached: exec a marker until
    // its EXEC line is in the log.
    while (read_file(log).find("binary=/usr/bin/true") == std::string::npos && Clock::now() < deadline) {
        run_argv({"/usr/bin/true"});
        std::this_thread::sleep_for(50ms);
    }
    REQUIRE(read_file(log).find("binary=/usr/bin/true") != std::string::npos);

    const std::string journal = dir / "journal.db";
    auto rec = start_record(journal);
    auto run = run_argv({"/bin/sh", source_dir() + "/tests/e2e/workload_import.sh"}, {{"PATH", "/usr/bin:/bin"}}, 20s);
    rec->stop();
    // bpftrace prints what is in its buffers on SIGINT.
    kill(bt, SIGINT);
    REQUIRE(wait_for(bt, 20s));
    INFO("workload stdout:\n" << run.out << "stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    const auto facts = parse_facts(run.out);
    const int64_t root = fact_int(facts, "root");

    const std::string imported = dir / "imported.db";
    auto imp = run_argv({lineage_bin(), "import", "--from", "bpftrace", log, "--journal", imported});
    INFO("import: " << imp.err);
    REQUIRE(imp.exit_code == 0);

    const std::set<std::string> want{
        "/bin/sh > /usr/bin/sh -> /usr/bin/sleep",
        "/usr/bin/sh -> /usr/bin/sleep > /usr/bin/cat",
        "/bin/sh > /usr/bin/sh",
        "/bin/sh > /usr/bin/env -> /usr/bin/true",
        "/usr/bin/sh > /usr/bin/ls",
        "/usr/bin/sh > /usr/bin/head",
    };
    const json ours = all_trees(journal), theirs = all_trees(imported);
    const std::set<std::string> e_ours = edges(ours, root), e_theirs = edges(theirs, root);
    INFO("lineage:\n" << ours.dump(1) << "\nbpftrace:\n" << theirs.dump(1));
    CHECK(e_theirs == e_ours);
    for (const auto& e : want) CHECK(e_ours.count(e) == 1);
    // The import says what it is, and that its parents may be reapers.
    bool warned = false;
    for (const auto& w : theirs.at("warnings")) {
        if (w.at("kind") == "imported")
            warned = w.at("message").get<std::string>().find("reapers") != std::string::npos;
    }
    CHECK(warned);
}

}  // namespace test_import_e2e
