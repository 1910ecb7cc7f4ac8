// bench_ingest: how fast the user-space half of `lineage record` can store
// events, with no kernel involved.
//
//   bench_ingest --journal PATH [--events N] [--argv-bytes B] [--pods P]
//                [--exec-file FILE [--hash-exec on|off]]
//
// Builds ring-buffer records exactly as bpf/lineage.bpf.c lays them out
// (fork, then exec, then exit of each synthetic process: one third each) and
// feeds them to lineage::Recorder, which decodes them and writes them
// through JournalWriter in batches, as a record session
// (lib/record/record_session.cpp) does: Recorder's default batching (100 ms
// or 16384 rows) and a maybe_commit() after every 64 records, standing in
// for record's poll loop. Exec records carry a kubepods cgroup path (one of
// P pods), so pod attribution runs too.
//
// --exec-file FILE: every exec ran FILE (its identity as stat gives it, as
// the probe's file block would: the fork+exec storm's shape, one binary
// exec'd again and again), so an exec_files row goes with each exec row;
// --hash-exec on (the default with --exec-file) hashes it as record does
// (exe_hasher.h, through the real /proc: the synthetic processes are gone,
// so the file is opened by its path), off does not. The hasher's thread is
// in cpu_s. Adds hashed= (hashes computed) and hash_rows= (file_hashes rows).
//
// Prints one line of key=value pairs:
//   events        records fed (all stored unless decode_errors > 0)
//   elapsed_s     wall time of feeding + committing (the final checkpoint excluded)
//   events_per_s  events / elapsed_s
//   finish_s      end_run(): last commit and the WAL checkpoint into the file
//   file_bytes    journal size after end_run (no -wal left)
//   bytes_per_event file_bytes / events (indexes included)
//   argv_bytes_avg  average argv bytes of an exec record
//   cpu_s         user+system CPU of this process over the feeding
//   maxrss_kib    peak RSS of this process
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "clock.h"
#include "events.h"
#include "journal_writer.h"
#include "recorder.h"
#include "sqlite.h"

namespace lineage::bench {

namespace {

struct IngestOptions {
    std::string journal;
    long events = 300'000;
    int argv_bytes = 60;
    int pods = 200;
    std::string exec_file;
    bool hash_exec = true;
};

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_ingest: {}\n", message);
    std::exit(2);
}

IngestOptions parse_args(int argc, char** argv) {
    IngestOptions o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--journal") {
            o.journal = value();
        } else if (a == "--events") {
            o.events = std::atol(value().c_str());
        } else if (a == "--argv-bytes") {
            o.argv_bytes = std::atoi(value().c_str());
        } else if (a == "--pods") {
            o.pods = std::atoi(value().c_str());
        } else if (a == "--exec-file") {
            o.exec_file = value();
        } else if (a == "--hash-exec") {
            const std::string v = value();
            if (v != "on" && v != "off") die("--hash-exec: on or off");
            o.hash_exec = v == "on";
        } else {
            die("usage: bench_ingest --journal PATH [--events N] [--argv-bytes B] [--pods P] [--exec-file FILE "
                "[--hash-exec on|off]]");
        }
    }
    if (o.journal.empty()) die("--journal is required");
    if (o.events < 3 || o.argv_bytes < 8 || o.pods < 1) die("--events >= 3, --argv-bytes >= 8, --pods >= 1");
    return o;
}

template <size_t N>
void set_fixed(char (&dst)[N], const std::string& s) {
    std::memset(dst, 0, N);
    std::memcpy(dst, s.data(), std::min(s.size(), N - 1));
}

// "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/
// cri-containerd-<id>.scope", sent leaf first as the BPF side does.
std::string cgroup_names_leaf_first(int pod) {
    std::string uid = fmt::format("{:08x}_1b2c_4a5b_8c9d_{:012x}", 0x5eed0000u + static_cast<unsigned>(pod),
                                  0xabcdefull * static_cast<unsigned long long>(pod + 1));
    std::string container =
        fmt::format("{:016x}{:016x}{:016x}{:016x}", 0x1111ull * (pod + 1), 0x2222ull, 0x3333ull, 0x4444ull * (pod + 1));
    std::string names;
    for (const std::string& n : {"cri-containerd-" + container + ".scope", "kubepods-burstable-pod" + uid + ".slice",
                                 std::string("kubepods-burstable.slice"), std::string("kubepods.slice")}) {
        names += n;
        names.push_back('\0');
    }
    return names;
}

// A typical probe or tool command line of about `bytes` bytes.
std::string make_argv(long i, int bytes) {
    std::string argv = "/usr/bin/curl";
    argv.push_back('\0');
    argv += "-sS";
    argv.push_back('\0');
    argv += fmt::format("http://10.{}.{}.{}:8080/healthz", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    argv.push_back('\0');
    while (static_cast<int>(argv.size()) < bytes) {
        argv += "--retry";
        argv.push_back('\0');
    }
    argv.resize(static_cast<size_t>(bytes));
    argv.back() = '\0';
    return argv;
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage;
    using namespace lineage::bench;
    IngestOptions o = parse_args(argc, argv);

    ::unlink(o.journal.c_str());
    ::unlink((o.journal + "-wal").c_str());
    ::unlink((o.journal + "-shm").c_str());
    auto writer = JournalWriter::open(o.journal);
    if (!writer) die(writer.error().message);
    RunInfo info;
    info.boot_id = "00000000-0000-4000-8000-00000000be0c";
    info.node = "bench-node";
    info.started_ns = boot_now_ns();
    info.started_wall_ns = wall_now_ns();
    info.version = "bench";
    info.kernel = "bench";
    info.hooks = "fork,exec,exit,connect";
    info.argv_cap = 4096;
    info.clk_tck = 100;
    info.recorder_pid = getpid();
    if (auto run = writer->begin_run(info); !run) die(run.error().message);

    PodNamer namer = [](const std::string& uid) -> std::optional<PodName> {
        return PodName{"pod-" + uid.substr(0, 8), "bench", PodNameSource::log_dir};
    };
    Recorder recorder(*writer, RecorderOptions{}, namer);
    std::optional<ExecFile> exec_file;
    if (!o.exec_file.empty()) {
        struct stat fst {};
        if (::stat(o.exec_file.c_str(), &fst) != 0) die(o.exec_file + ": cannot stat");
        ExecFile f;
        f.path = o.exec_file;
        f.dev = fst.st_dev;
        f.ino = fst.st_ino;
        f.nlink = static_cast<uint32_t>(fst.st_nlink);
        f.size = static_cast<uint64_t>(fst.st_size);
        f.mode = fst.st_mode;
        f.mtime_ns = int64_t{fst.st_mtim.tv_sec} * 1'000'000'000 + fst.st_mtim.tv_nsec;
        exec_file = f;
        if (o.hash_exec) {
            ExeHasherOptions h;
            h.ns_per_tick = 1'000'000'000 / std::max<long>(sysconf(_SC_CLK_TCK), 1);
            recorder.set_exe_hasher(std::make_unique<ExeHasher>(h));
        }
    }

    std::vector<std::string> cgroups;
    for (int p = 0; p < o.pods; ++p) cgroups.push_back(cgroup_names_leaf_first(p));
    const std::string binary = "/usr/bin/curl";
    std::vector<char> exec_buf(sizeof(lineage_exec_event) + LINEAGE_EXEC_DATA_MAX);

    rusage ru0{};
    getrusage(RUSAGE_SELF, &ru0);
    auto t0 = std::chrono::steady_clock::now();
    long fed = 0;
    long argv_total = 0, execs = 0;
    uint32_t pid = 1000;
    const uint64_t base_ns = static_cast<uint64_t>(boot_now_ns());
    for (long proc = 0; fed < o.events; ++proc) {
        pid = pid >= 32767 ? 300 : pid + 1;
        const uint64_t start = base_ns + static_cast<uint64_t>(proc) * 1000;
        const uint32_t parent = 200 + static_cast<uint32_t>(proc % 50);
        for (int kind = 0; kind < 3 && fed < o.events; ++kind, ++fed) {
            int64_t now = boot_now_ns();
            if (kind == 0) {
                lineage_fork_event e{};
                e.hdr = {LINEAGE_EV_FORK, sizeof(e), start};
                e.parent = {parent, 0, 5'000'000'000ull};
                e.child = {pid, 0, start};
                set_fixed(e.parent_comm, "containerd-shim");
                if (auto st = recorder.on_record(&e, sizeof(e), now); !st) die(st.error().message);
            } else if (kind == 1) {
                const std::string& cg = cgroups[static_cast<size_t>(proc % o.pods)];
                std::string args = make_argv(proc, o.argv_bytes);
                auto* e = reinterpret_cast<lineage_exec_event*>(exec_buf.data());
                std::memset(e, 0, sizeof(*e));
                e->proc = {pid, 0, start};
                e->parent = {parent, 0, 5'000'000'000ull};
                e->cgroup_id = 4000 + static_cast<uint64_t>(proc % o.pods);
                e->nspid = pid % 100 + 1;
                e->old_tid = pid;
                e->uid = e->gid = e->euid = 1000;
                e->binary_len = static_cast<uint16_t>(binary.size());
                e->cgroup_len = static_cast<uint16_t>(cg.size());
                e->argv_len = static_cast<uint16_t>(args.size());
                set_fixed(e->comm, "curl");
                set_fixed(e->parent_comm, "sh");
                set_fixed(e->nodename, fmt::format("pod-{}", proc % o.pods));
                char* d = e->data;
                std::memcpy(d, binary.data(), binary.size());
                std::memcpy(d + binary.size(), cg.data(), cg.size());
                std::memcpy(d + binary.size() + cg.size(), args.data(), args.size());
                size_t size = sizeof(*e) + binary.size() + cg.size() + args.size();
                e->hdr = {LINEAGE_EV_EXEC, static_cast<uint32_t>(size), start + 300'000};
                if (exec_file) {
                    // The decoder of this tree may not read the file block
                    // yet: the decoded exec, with its file.
                    auto event = decode_event(e, size);
                    if (!event) die(event.error().message);
                    std::get<ExecEvent>(*event).file = exec_file;
                    if (auto st = recorder.on_event(*event, now); !st) die(st.error().message);
                } else if (auto st = recorder.on_record(e, size, now); !st) {
                    die(st.error().message);
                }
                argv_total += static_cast<long>(args.size());
                ++execs;
            } else {
                lineage_exit_event e{};
                e.hdr = {LINEAGE_EV_EXIT, sizeof(e), start + 2'000'000};
                e.proc = {pid, 0, start};
                e.exit_code = 0;
                set_fixed(e.comm, "curl");
                if (auto st = recorder.on_record(&e, sizeof(e), now); !st) die(st.error().message);
            }
            if ((fed & 63) == 63) {
                if (auto st = recorder.maybe_commit(boot_now_ns()); !st) die(st.error().message);
            }
        }
    }
    recorder.finish_hashing(10'000'000'000);
    if (auto st = recorder.commit(boot_now_ns()); !st) die(st.error().message);
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru1{};
    getrusage(RUSAGE_SELF, &ru1);
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    double cpu = tv(ru1.ru_utime) - tv(ru0.ru_utime) + tv(ru1.ru_stime) - tv(ru0.ru_stime);

    auto t1 = std::chrono::steady_clock::now();
    const auto& stats = recorder.stats();
    if (auto st = writer->end_run(boot_now_ns(), wall_now_ns(), "duration", static_cast<int64_t>(stats.stored),
                                  static_cast<int64_t>(stats.lost));
        !st)
        die(st.error().message);
    double finish = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

    int64_t hash_rows = 0;
    if (auto db = Database::open_read("file:" + o.journal + "?mode=ro")) {
        if (auto n = query_int(*db, "SELECT count(*) FROM file_hashes")) hash_rows = *n;
    }
    struct stat st {};
    if (stat(o.journal.c_str(), &st) != 0) die(o.journal + ": cannot stat");
    struct stat wal {};
    off_t wal_bytes = stat((o.journal + "-wal").c_str(), &wal) == 0 ? wal.st_size : 0;
    fmt::print(
        "events={} stored={} decode_errors={} elapsed_s={:.4f} events_per_s={:.0f} finish_s={:.4f} file_bytes={} "
        "wal_bytes={} bytes_per_event={:.1f} argv_bytes_avg={:.1f} cpu_s={:.3f} maxrss_kib={} hashed={} hash_rows={}\n",
        fed, stats.stored, stats.decode_errors, elapsed, static_cast<double>(fed) / elapsed, finish,
        static_cast<long long>(st.st_size), static_cast<long long>(wal_bytes),
        static_cast<double>(st.st_size + wal_bytes) / static_cast<double>(fed),
        execs ? static_cast<double>(argv_total) / static_cast<double>(execs) : 0.0, cpu, ru1.ru_maxrss,
        recorder.exe_hasher() ? recorder.exe_hasher()->stats().hashed : 0, hash_rows);
    return stats.stored == static_cast<uint64_t>(fed) ? 0 : 1;
}
