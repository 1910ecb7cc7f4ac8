// bench_deep_chain: a journal holding one fork chain as deep as asked, with a
// payload at its bottom that connects out; and the checks that a
// reconstruct of it left nothing out.
//
//   bench_deep_chain gen --out PATH --generations N [--exec-each]
//       Writes the journal through JournalWriter, as `lineage record` would:
//       systemd (PID 1) and sh (PID 900) from the /proc snapshot; sh forks
//       deep (PID 10000), which execs /usr/local/bin/deep in a kubepods
//       cgroup of pod staging/deep-5c7f9-q8r2t; deep forks a child, which
//       forks a child, and so on, N processes in all (with --exec-each each
//       of them also execs `deep --child`, so that --pod selects them); the
//       last one forks curl, which execs, connects to 127.0.0.1:4444 and
//       exits 0; then the chain exits bottom up. Prints one key=value line:
//       generations, events, root_pid, payload_pid, file_bytes, gen_s.
//   bench_deep_chain gen-checks --out PATH --checks N
//       The same pod, whose app (PID 10000, /usr/local/bin/app, forked by sh)
//       runs a liveness check every second: N children, each forked, exec'ing
//       `sh -c "test -f /tmp/healthy"` and exiting 0 after 20 ms, but the one
//       in the middle, which exits 1 (folding must leave it on its own line).
//       For the fold benchmark (bench/run triage): the text tree folds the
//       N-1 alike into one line. Prints checks, events, root_pid, odd_pid,
//       file_bytes, gen_s.
//   bench_deep_chain check-text FILE --processes N --payload-pid P --depth D
//       The text tree in FILE accounts for N processes (a line "(PID n" each,
//       or "⋮ K generations" for K of them), shows the payload at depth D
//       (its [depth D] mark, or its indentation) and its connect on the next
//       line. Prints processes, lines, longest_line, payload_depth, ok.
//   bench_deep_chain check-json FILE --processes N --payload-pid P --depth D
//       The JSON document in FILE holds N distinct processes once each,
//       joined across tree entries by continues_from; the payload is at depth
//       D with its connect; no tree entry nests deeper than 256 generations.
//       Prints processes, entries, max_nesting, payload_depth, ok.
// Exit status 0 when ok=1, 1 when a check failed, 2 on bad arguments.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "argv.h"
#include "journal_writer.h"
#include "pod.h"

namespace lineage::bench {

namespace {

using nlohmann::json;

const std::string kBoot = "d0000000-0000-4000-8000-00000000dee9";
const std::string kPodUid = "3b8e1f0a-6c2d-4e9f-8a7b-5d4c3b2a1f0e";
const std::string kPodName = "deep-5c7f9-q8r2t";
const std::string kNamespace = "staging";
const std::string kContainer = "8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e";
constexpr uint32_t kRootPid = 10000;
constexpr int64_t kSecond = 1'000'000'000;
// Boot 1000 s is 2026-04-22T09:00:00Z.
constexpr int64_t kWallAt1000 = 1776848400LL * kSecond;

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_deep_chain: {}\n", message);
    std::exit(2);
}

template <typename T>
void check(const Result<T>& r, const char* what) {
    if (!r) die(fmt::format("{}: {}", what, r.error().message));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die(path + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The pod UID the writer stores with a row, from its cgroup path, as the
// record session works it out.
std::string pod_uid_of(const std::string& cgroup_path) {
    auto kube = parse_kube_cgroup(cgroup_path);
    return kube ? kube->pod_uid : std::string();
}

std::string pod_cgroup() {
    std::string uid = kPodUid;
    std::replace(uid.begin(), uid.end(), '-', '_');
    return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice/cri-containerd-" +
           kContainer + ".scope";
}

int cmd_gen(int argc, char** argv) {
    std::string out;
    long generations = 0;
    bool exec_each = false;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--out" && i + 1 < argc)
            out = argv[++i];
        else if (a == "--generations" && i + 1 < argc)
            generations = std::atol(argv[++i]);
        else if (a == "--exec-each")
            exec_each = true;
        else
            die("usage: bench_deep_chain gen --out PATH --generations N [--exec-each]");
    }
    if (out.empty() || generations < 1 || generations > 1'000'000) die("gen: --out and --generations 1..1000000");
    const auto t_start = std::chrono::steady_clock::now();

    auto w = JournalWriter::open(out);
    check(w, "open");
    RunInfo info;
    info.boot_id = kBoot;
    info.node = "node-deep";
    info.started_ns = 950 * kSecond;
    info.started_wall_ns = kWallAt1000 - 50 * kSecond;
    info.version = "bench";
    info.kernel = "bench";
    info.hooks = "fork,exec,exit,connect";
    info.argv_cap = 4096;
    check(w->begin_run(info), "begin_run");
    auto snapshot = [&](uint32_t tgid, uint32_t ppid, int64_t start_ns, const std::string& comm, const std::string& exe,
                        const std::string& cgroup) {
        SnapshotRow row;
        row.time_ns = 950 * kSecond + 1'000'000;
        row.tgid = row.nspid = tgid;
        row.ppid = ppid;
        row.start_ns = static_cast<uint64_t>(start_ns / 10'000'000 * 10'000'000);
        row.comm = comm;
        row.exe = exe;
        row.argv = join_argv({exe});
        row.cgroup_path = cgroup;
        row.nodename = "node-deep";
        check(w->add_snapshot(row, pod_uid_of(row.cgroup_path)), "snapshot");
        return ProcRef{tgid, row.start_ns};
    };
    snapshot(1, 0, 500'000'000, "systemd", "/usr/lib/systemd/systemd", "/init.scope");
    const ProcRef sh = snapshot(900, 1, 930 * kSecond, "sh", "/bin/sh", "/system.slice/ssh.service");
    check(w->add_pod(kPodUid, kPodName, kNamespace, PodNameSource::log_dir), "pod");
    check(w->commit(950 * kSecond + 1'000'000), "commit");

    long events = 0;
    int64_t now = 0;
    auto add = [&](const Event& e, int64_t t) {
        const auto* x = std::get_if<ExecEvent>(&e);
        check(w->add(e, x ? pod_uid_of(x->cgroup_path) : std::string()), "event");
        now = std::max(now, t);
        if (++events % 4096 == 0) check(w->commit(now), "commit");
    };
    const std::string cgroup = pod_cgroup();
    auto exec = [&](ProcRef p, ProcRef parent, int64_t t, const std::string& binary,
                    const std::vector<std::string>& args, const std::string& parent_comm) {
        ExecEvent e;
        e.time_ns = static_cast<uint64_t>(t);
        e.proc = p;
        e.parent = parent;
        e.nspid = p.tgid == kRootPid ? 1 : p.tgid;
        e.old_tid = p.tgid;
        e.cgroup_id = 4242;
        e.comm = binary.substr(binary.rfind('/') + 1).substr(0, 15);
        e.parent_comm = parent_comm;
        e.nodename = kPodName;
        e.cgroup_path = cgroup;
        e.binary = binary;
        e.argv = join_argv(args);
        add(e, t);
    };
    const int64_t t0 = 1000 * kSecond + 100'000'000;
    const int64_t step = 500'000;  // 0.5 ms a generation
    std::vector<ProcRef> chain;
    chain.reserve(static_cast<size_t>(generations));
    ProcRef parent = sh;
    std::string parent_comm = "sh";
    for (long i = 0; i < generations; ++i) {
        const int64_t t = t0 + i * step;
        ProcRef p{static_cast<uint32_t>(kRootPid + i), static_cast<uint64_t>(t)};
        add(ForkEvent{static_cast<uint64_t>(t), parent, p, parent_comm}, t);
        if (i == 0)
            exec(p, parent, t + 100'000, "/usr/local/bin/deep", {"deep", std::to_string(generations)}, "sh");
        else if (exec_each)
            exec(p, parent, t + 100'000, "/usr/local/bin/deep", {"deep", "--child"}, "deep");
        chain.push_back(p);
        parent = p;
        parent_comm = "deep";
    }
    const int64_t tp = t0 + generations * step;
    const ProcRef payload{static_cast<uint32_t>(kRootPid + generations), static_cast<uint64_t>(tp)};
    add(ForkEvent{static_cast<uint64_t>(tp), parent, payload, "deep"}, tp);
    exec(payload, parent, tp + 200'000, "/usr/bin/curl", {"curl", "-s", "http://127.0.0.1:4444/stage2"}, "deep");
    ConnectEvent c;
    c.time_ns = static_cast<uint64_t>(tp + 300'000);
    c.outcome_ns = c.time_ns + 100'000;
    c.proc = payload;
    c.saddr = "10.244.1.17";
    c.daddr = "127.0.0.1";
    c.sport = 43512;
    c.dport = 4444;
    c.established = true;
    add(c, tp + 300'000);
    add(ExitEvent{static_cast<uint64_t>(tp + 400'000), payload, 0, 0, false, "curl"}, tp + 400'000);
    const int64_t te = tp + kSecond;
    for (long i = generations; i-- > 0;) {
        const int64_t t = te + (generations - i) * 100'000;
        add(ExitEvent{static_cast<uint64_t>(t), chain[static_cast<size_t>(i)], 0, 0, false, "deep"}, t);
    }
    check(w->commit(now), "commit");
    const int64_t stop = now + kSecond;
    check(w->end_run(stop, kWallAt1000 + (stop - 1000 * kSecond), "signal", events, 0), "end_run");
    struct stat st {};
    stat(out.c_str(), &st);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    fmt::print("generations={} events={} root_pid={} payload_pid={} file_bytes={} gen_s={:.3f}\n", generations, events,
               kRootPid, payload.tgid, static_cast<long long>(st.st_size), secs);
    return 0;
}

int cmd_gen_checks(int argc, char** argv) {
    std::string out;
    long checks = 0;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--out" && i + 1 < argc)
            out = argv[++i];
        else if (a == "--checks" && i + 1 < argc)
            checks = std::atol(argv[++i]);
        else
            die("usage: bench_deep_chain gen-checks --out PATH --checks N");
    }
    if (out.empty() || checks < 1 || checks > 1'000'000) die("gen-checks: --out and --checks 1..1000000");
    const auto t_start = std::chrono::steady_clock::now();
    auto w = JournalWriter::open(out);
    check(w, "open");
    RunInfo info;
    info.boot_id = kBoot;
    info.node = "node-deep";
    info.started_ns = 950 * kSecond;
    info.started_wall_ns = kWallAt1000 - 50 * kSecond;
    info.version = "bench";
    info.kernel = "bench";
    info.hooks = "fork,exec,exit,connect";
    info.argv_cap = 4096;
    check(w->begin_run(info), "begin_run");
    SnapshotRow row;
    row.time_ns = 950 * kSecond + 1'000'000;
    row.tgid = row.nspid = 900;
    row.ppid = 1;
    row.start_ns = 930 * kSecond;
    row.comm = "sh";
    row.exe = "/bin/sh";
    row.argv = join_argv({"/bin/sh"});
    row.cgroup_path = "/system.slice/containerd.service";
    row.nodename = "node-deep";
    check(w->add_snapshot(row, ""), "snapshot");
    const ProcRef sh{900, row.start_ns};
    check(w->add_pod(kPodUid, kPodName, kNamespace, PodNameSource::log_dir), "pod");
    check(w->commit(950 * kSecond + 1'000'000), "commit");

    long events = 0;
    int64_t now = 0;
    auto add = [&](const Event& e, int64_t t) {
        const auto* x = std::get_if<ExecEvent>(&e);
        check(w->add(e, x ? pod_uid_of(x->cgroup_path) : std::string()), "event");
        now = std::max(now, t);
        if (++events % 4096 == 0) check(w->commit(now), "commit");
    };
    const std::string cgroup = pod_cgroup();
    auto exec = [&](ProcRef p, ProcRef parent, int64_t t, const std::string& binary,
                    const std::vector<std::string>& args, const std::string& parent_comm) {
        ExecEvent e;
        e.time_ns = static_cast<uint64_t>(t);
        e.proc = p;
        e.parent = parent;
        e.nspid = p.tgid;
        e.old_tid = p.tgid;
        e.cgroup_id = 4242;
        e.comm = binary.substr(binary.rfind('/') + 1).substr(0, 15);
        e.parent_comm = parent_comm;
        e.nodename = kPodName;
        e.cgroup_path = cgroup;
        e.binary = binary;
        e.argv = join_argv(args);
        add(e, t);
    };
    const int64_t t0 = 1000 * kSecond;
    const ProcRef app{kRootPid, static_cast<uint64_t>(t0)};
    add(ForkEvent{static_cast<uint64_t>(t0), sh, app, "sh"}, t0);
    exec(app, sh, t0 + 100'000, "/usr/local/bin/app", {"app", "--serve"}, "sh");
    const uint32_t odd = kRootPid + 1 + static_cast<uint32_t>(checks / 2);
    for (long i = 0; i < checks; ++i) {
        const int64_t t = t0 + (i + 1) * kSecond;
        const ProcRef p{kRootPid + 1 + static_cast<uint32_t>(i), static_cast<uint64_t>(t)};
        add(ForkEvent{static_cast<uint64_t>(t), app, p, "app"}, t);
        exec(p, app, t + 200'000, "/bin/sh", {"sh", "-c", "test -f /tmp/healthy"}, "app");
        const int64_t te = t + 20'000'000;
        add(ExitEvent{static_cast<uint64_t>(te), p, p.tgid == odd ? 1 : 0, 0, false, "sh"}, te);
    }
    check(w->commit(now), "commit");
    const int64_t stop = now + kSecond;
    check(w->end_run(stop, kWallAt1000 + (stop - 1000 * kSecond), "signal", events, 0), "end_run");
    struct stat st {};
    stat(out.c_str(), &st);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    fmt::print("checks={} events={} root_pid={} odd_pid={} file_bytes={} gen_s={:.3f}\n", checks, events, kRootPid, odd,
               static_cast<long long>(st.st_size), secs);
    return 0;
}

struct Expect {
    std::string file;
    size_t processes = 0;
    uint32_t payload_pid = 0;
    size_t depth = 0;
};

Expect parse_expect(int argc, char** argv, const char* cmd) {
    Expect e;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--processes" && i + 1 < argc)
            e.processes = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--payload-pid" && i + 1 < argc)
            e.payload_pid = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
        else if (a == "--depth" && i + 1 < argc)
            e.depth = std::strtoul(argv[++i], nullptr, 10);
        else if (e.file.empty() && a.rfind("--", 0) != 0)
            e.file = a;
        else
            die(fmt::format("usage: bench_deep_chain {} FILE --processes N --payload-pid P --depth D", cmd));
    }
    if (e.file.empty() || !e.processes || !e.payload_pid) die(fmt::format("{}: FILE, --processes, --payload-pid", cmd));
    return e;
}

size_t number_at(const std::string& s, size_t at) {
    size_t n = 0;
    for (; at < s.size() && (std::isdigit(static_cast<unsigned char>(s[at])) || s[at] == ','); ++at) {
        if (s[at] != ',') n = n * 10 + static_cast<size_t>(s[at] - '0');
    }
    return n;
}

int cmd_check_text(int argc, char** argv) {
    const Expect e = parse_expect(argc, argv, "check-text");
    const std::string text = read_file(e.file);
    std::istringstream in(text);
    size_t processes = 0, lines = 0, longest = 0, payload_depth = SIZE_MAX;
    bool connect_after = false, want_connect = false;
    const std::string payload_tag = fmt::format("  (PID {})", e.payload_pid);
    for (std::string line; std::getline(in, line);) {
        ++lines;
        longest = std::max(longest, line.size());
        if (want_connect) connect_after = line.find("connect 127.0.0.1:4444") != std::string::npos;
        want_connect = false;
        if (auto at = line.find(" generations of "); at != std::string::npos) {
            auto fold = line.rfind(' ', at - 1);
            processes += number_at(line, fold + 1);
        } else if (line.find("  (PID ") != std::string::npos) {
            ++processes;
        }
        if (line.find(payload_tag) != std::string::npos) {
            want_connect = true;
            if (auto at = line.find("[depth "); at != std::string::npos) {
                payload_depth = number_at(line, at + 7);
            } else {
                // No mark: indented to its depth, 6 columns a level after the first 2.
                size_t columns = 0;
                for (size_t i = 0; i < line.size();) {
                    if (line[i] == ' ') {
                        ++columns;
                        ++i;
                    } else if (line.compare(i, 3, "└") == 0 || line.compare(i, 3, "├") == 0 ||
                               line.compare(i, 3, "│") == 0 || line.compare(i, 3, "─") == 0) {
                        ++columns;
                        i += 3;
                    } else
                        break;
                }
                payload_depth = columns / 6;
            }
        }
    }
    const bool ok = processes == e.processes && payload_depth == e.depth && connect_after;
    fmt::print("processes={} lines={} longest_line={} payload_depth={} connect={} ok={}\n", processes, lines, longest,
               payload_depth == SIZE_MAX ? -1L : static_cast<long>(payload_depth), connect_after ? 1 : 0, ok ? 1 : 0);
    return ok ? 0 : 1;
}

int cmd_check_json(int argc, char** argv) {
    const Expect e = parse_expect(argc, argv, "check-json");
    json doc = json::parse(read_file(e.file));
    std::unordered_map<std::string, size_t> depth;
    std::unordered_map<std::string, const json*> node;
    size_t entries = 0, max_nesting = 0, payload_depth = SIZE_MAX, payload_connects = 0;
    bool ok = true;
    for (const auto& entry : doc.at("trees")) {
        ++entries;
        size_t base = 0;
        if (entry.contains("continues_from")) {
            const std::string parent = entry.at("continues_from").get<std::string>();
            if (!depth.count(parent)) ok = false;
            base = entry.at("depth").get<size_t>();
        }
        std::vector<std::pair<const json*, size_t>> todo{{&entry, 0}};
        while (!todo.empty()) {
            auto [n, level] = todo.back();
            todo.pop_back();
            max_nesting = std::max(max_nesting, level + 1);
            const std::string key = n->at("key").get<std::string>();
            if (!depth.emplace(key, base + level).second) ok = false;  // written twice
            node[key] = n;
            if (n->at("pid").get<uint32_t>() == e.payload_pid) {
                payload_depth = base + level;
                payload_connects = n->at("connects").size();
            }
            for (const auto& c : n->at("children")) todo.push_back({&c, level + 1});
        }
    }
    ok = ok && depth.size() == e.processes && payload_depth == e.depth && payload_connects == 1 && max_nesting <= 256;
    fmt::print("processes={} entries={} max_nesting={} payload_depth={} ok={}\n", depth.size(), entries, max_nesting,
               payload_depth == SIZE_MAX ? -1L : static_cast<long>(payload_depth), ok ? 1 : 0);
    return ok ? 0 : 1;
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage::bench;
    if (argc < 2) die("usage: bench_deep_chain gen|gen-checks|check-text|check-json ...");
    const std::string cmd = argv[1];
    if (cmd == "gen") return cmd_gen(argc - 2, argv + 2);
    if (cmd == "gen-checks") return cmd_gen_checks(argc - 2, argv + 2);
    if (cmd == "check-text") return cmd_check_text(argc - 2, argv + 2);
    if (cmd == "check-json") return cmd_check_json(argc - 2, argv + 2);
    die("unknown command " + cmd);
}
