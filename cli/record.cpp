// lineage record: the options, checked, and the stop signals; the recording
// itself is a record session (lib/record/record_session.h) over the probe.
#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "events.h"
#include "journal_format.h"
#include "output.h"
#include "probe.h"
#include "record_session.h"
#include "stop_signals.h"
#include "units.h"

namespace lineage::cli {

namespace {

// The options as given; those that need no parsing go straight into the
// session's.
struct RecordArgs {
    RecordOptions options;
    std::string duration;
    std::string argv_cap = "4096";
    std::string ring_size = "8M";
    std::string batch_interval = "100ms";
    std::string anchor_interval = "5m";
    std::string max_size;  // empty: no limit
    std::string retain;    // empty: keep everything
    std::string hash_exec = "on";
    std::string dns = "on";
    std::string hash_max_bytes = "256M";
    std::string hash_rate = "100";
    std::string hash_byte_rate = "64M";
};

int fail(const std::string& message) {
    return cli::fail("record", message);
}

int run_record(const RecordArgs& args) {
    RecordOptions options = args.options;
    auto argv_cap = parse_size(args.argv_cap);
    if (!argv_cap) return fail("--argv-cap: " + argv_cap.error().message);
    if (*argv_cap == 0 || *argv_cap > LINEAGE_ARGV_MAX_CAP) {
        return fail(fmt::format("--argv-cap: {} is out of range (1 to {} bytes)", *argv_cap, LINEAGE_ARGV_MAX_CAP));
    }
    options.argv_cap = static_cast<uint32_t>(*argv_cap);
    auto ring = parse_size(args.ring_size);
    if (!ring) return fail("--ring-size: " + ring.error().message);
    if (*ring < 4096 || (*ring & (*ring - 1)) != 0 || *ring > (1ull << 30)) {
        return fail(fmt::format("--ring-size: {} must be a power of two from 4K to 1G", args.ring_size));
    }
    options.ring_bytes = *ring;
    auto batch_interval = parse_duration(args.batch_interval);
    if (!batch_interval) return fail("--batch-interval: " + batch_interval.error().message);
    options.batch_interval_ns = *batch_interval;
    if (!args.duration.empty()) {
        auto d = parse_duration(args.duration);
        if (!d) return fail("--duration: " + d.error().message);
        options.duration_ns = *d;
    }
    auto anchor_interval = parse_duration(args.anchor_interval);
    if (!anchor_interval) return fail("--anchor-interval: " + anchor_interval.error().message);
    options.anchor_interval_ns = *anchor_interval;
    if (!args.max_size.empty()) {
        auto max_size = parse_size(args.max_size);
        if (!max_size) return fail("--max-size: " + max_size.error().message);
        if (*max_size < (1u << 20)) return fail(fmt::format("--max-size: {} is below the minimum, 1M", args.max_size));
        options.retention.max_bytes = static_cast<int64_t>(*max_size);
        options.max_size = args.max_size;
    }
    if (!args.retain.empty()) {
        auto retain = parse_duration(args.retain);
        if (!retain) return fail("--retain: " + retain.error().message);
        if (*retain < 60'000'000'000) return fail(fmt::format("--retain: {} is below the minimum, 1m", args.retain));
        options.retention.retain_ns = *retain;
    }
    if (args.hash_exec != "on" && args.hash_exec != "off") {
        return fail(fmt::format("--hash-exec: '{}' is neither on nor off", args.hash_exec));
    }
    options.hash_exec = args.hash_exec == "on";
    if (args.dns != "on" && args.dns != "off") return fail(fmt::format("--dns: '{}' is neither on nor off", args.dns));
    options.dns = args.dns == "on";
    auto hash_max = parse_size(args.hash_max_bytes);
    if (!hash_max) return fail("--hash-max-bytes: " + hash_max.error().message);
    options.hash_max_bytes = *hash_max;
    char* end = nullptr;
    const double rate = std::strtod(args.hash_rate.c_str(), &end);
    if (args.hash_rate.empty() || *end != '\0' || !std::isfinite(rate) || rate < 0.01 || rate > 1e6) {
        return fail(
            fmt::format("--hash-rate: '{}' is not a number of files per second from 0.01 to 1000000", args.hash_rate));
    }
    options.hash_rate = rate;
    auto byte_rate = parse_size(args.hash_byte_rate);
    if (!byte_rate) return fail("--hash-byte-rate: " + byte_rate.error().message);
    if (*byte_rate < 4096)
        return fail(fmt::format("--hash-byte-rate: {} is below the minimum, 4K", args.hash_byte_rate));
    options.hash_byte_rate = *byte_rate;

    RecordHooks hooks;
    hooks.start_source = [&](const ProbeCgroups& cgroups, RecordSink sink) -> Result<std::unique_ptr<EventSource>> {
        const CgroupFilter& filter = cgroups.filter;
        ProbeOptions probe_options;
        probe_options.argv_cap = options.argv_cap;
        probe_options.ring_bytes = *ring;
        // Wake the reader only when a quarter of the ring is pending;
        // otherwise the session drains it when a batch is due.
        probe_options.wakeup_bytes = *ring / 4;
        probe_options.filter_cgroups = filter.enabled;
        probe_options.allowed_cgroup_ids = filter.ids;
        if (cgroups.cgroup1) {
            probe_options.cgroup1_controller = cgroups.cgroup1->controller;
            probe_options.cgroup1_hierarchy = cgroups.cgroup1->hierarchy;
        }
        probe_options.cgroup2_mount = cgroups.dns_cgroup2_mount;
        probe_options.verbose = options.verbose;
        // Test-only: a tiny map of connects in progress, to see its
        // overflow counted (tests/e2e). Not an option: nobody else needs it.
        if (const char* n = std::getenv("LINEAGE_TEST_PENDING_CONNECTS")) {
            probe_options.pending_connects = static_cast<uint32_t>(std::strtoul(n, nullptr, 10));
        }
        auto probe = Probe::start(probe_options, std::move(sink));
        if (!probe) return probe.error();
        return std::unique_ptr<EventSource>(std::move(*probe));
    };
    hooks.catch_stop_signals = catch_stop_signals;
    hooks.stop_requested = stop_requested;
    hooks.say = [](const std::string& line) { say(line); };
    auto status = run_record_session(options, hooks);
    if (!status) return fail(status.error().message);
    return *status;
}

}  // namespace

Runner add_record(CLI::App& app) {
    auto args = std::make_shared<RecordArgs>();
    args->options.journal = kDefaultJournal;
    auto* cmd = app.add_subcommand(
        "record",
        "Record fork, exec, exit, TCP connect and listen events and DNS messages to a journal (root, or CAP_BPF and "
        "CAP_PERFMON; DNS also CAP_NET_ADMIN)");
    cmd->add_option("-j,--journal", args->options.journal, "Journal file (created with mode 0600)")
        ->capture_default_str();
    cmd->add_option("-d,--duration", args->duration, "Stop by itself after this long (30s, 5m, 2h)");
    cmd->add_option("--argv-cap", args->argv_cap, "Bytes of argv kept per exec, at most 32K")->capture_default_str();
    cmd->add_option("--ring-size", args->ring_size, "Ring buffer size, a power of two (shrink it to force an overload)")
        ->capture_default_str();
    cmd->add_option("--batch-interval", args->batch_interval,
                    "Commit a batch, and wake up, at least this often: longer costs less CPU, a crash loses more")
        ->capture_default_str();
    cmd->add_option("--batch-rows", args->options.batch_rows, "Commit a batch when this many rows wait")
        ->capture_default_str();
    cmd->add_option("--cgroup", args->options.cgroups,
                    "Record only processes in this cgroup v2 (path below the mount) or below it; repeatable");
    cmd->add_flag("--kube-only", args->options.kube_only, "Record only processes under the kubepods cgroup");
    cmd->add_option("--kube-root", args->options.kube_root,
                    "Root of the node's files for pod and container names (<root>/var/log/pods, runtime bundles, "
                    "<root>/run/containerd and CRI-O's state, <root>/var/log/containers)")
        ->capture_default_str();
    cmd->add_flag("-v,--verbose", args->options.verbose, "Show libbpf's log");
    cmd->add_option("--anchor-log", args->options.anchor_log,
                    "Append the chain head ('lineage-anchor ...' lines, for lineage verify --anchor) to this file "
                    "instead of stderr");
    cmd->add_option("--anchor-interval", args->anchor_interval,
                    "Publish the chain head at start, at stop and this often (0: only at start and stop)")
        ->capture_default_str();
    cmd->add_option("--max-size", args->max_size,
                    "Keep the journal under this size (512M, 2G): the oldest batches are pruned, and the prune is "
                    "recorded in the chain");
    cmd->add_option("--retain", args->retain,
                    "Prune batches older than this (30d, 12h), recording each prune in the chain");
    cmd->add_option("--hash-exec", args->hash_exec,
                    "Record the SHA-256 of every executed file, read off the hot path (on or off)")
        ->capture_default_str();
    cmd->add_option("--dns", args->dns,
                    "Record DNS queries and answers (UDP and TCP port 53) with the process of each, through packet "
                    "hooks on the cgroup v2 root (on or off; off on a node without cgroup v2)")
        ->capture_default_str();
    cmd->add_option("--hash-max-bytes", args->hash_max_bytes, "Larger executed files are not hashed ('too_large')")
        ->capture_default_str();
    cmd->add_option("--hash-rate", args->hash_rate, "Executed files hashed per second, at most ('rate_limited')")
        ->capture_default_str();
    cmd->add_option("--hash-byte-rate", args->hash_byte_rate, "Bytes of executed files read per second, at most")
        ->capture_default_str();
    cmd->footer(
        "Examples:\n"
        "  lineage record\n"
        "  lineage record --journal /tmp/j.db --duration 60s\n"
        "  lineage record --kube-only --argv-cap 16K\n"
        "  lineage record --anchor-log /var/log/lineage-anchors.log --anchor-interval 1m\n"
        "  lineage record --max-size 2G --retain 90d\n"
        "  lineage record --hash-max-bytes 64M --hash-rate 20\n"
        "Prints 'lineage: recording ...' on stderr once the probes are live and /proc is snapshotted.\n"
        "Stops cleanly on SIGINT, SIGTERM or SIGHUP, or after --duration; a second signal stops at once,\n"
        "keeping every committed batch.\n"
        "One recorder per journal: a journal another recorder holds is refused at once, naming it;\n"
        "'lineage status' tells whether a journal is being recorded and how well.\n"
        "Privileges: root, or CAP_BPF and CAP_PERFMON to load the probes (CAP_SYS_ADMIN before Linux 5.8);\n"
        "CAP_SYS_PTRACE to read the executable and namespaces of every process already running; CAP_SYS_ADMIN\n"
        "for the host names of those in other UTS namespaces. Before Linux 5.11, BPF memory counts against\n"
        "RLIMIT_MEMLOCK: raise it (LimitMEMLOCK=infinity) or add CAP_SYS_RESOURCE. A start without one of these\n"
        "says what it lacks.\n"
        "Exit status: 0 clean stop; 1 stopped while the journal could not be written (events were not stored);\n"
        "2 bad arguments, a journal or probes that cannot be opened, a journal another recorder holds,\n"
        "or a journal error.");
    return [args] { return run_record(*args); };
}

}  // namespace lineage::cli
