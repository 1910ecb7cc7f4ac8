// bench_report: turns the raw measurements bench/run collected into the
// table it prints and the JSON it writes.
//
//   bench_report --results FILE.tsv --json OUT.json
//
// FILE.tsv has one record per line, tab separated:
//   meta    KEY  VALUE      the machine, the options, the build
//   cmd     SECTION  TEXT   a command as it was run, for reproducing it
//   sample  METRIC  NUMBER  one measurement of a repeated figure
//   value   METRIC  VALUE   a figure measured once (number or text)
//   note    SECTION  TEXT   a line to print under a section (query plans, ...)
// Which metrics make up the table, what they mean and their targets is
// declared below, once; a metric with no samples shows as "-" (its
// benchmark was skipped or failed) and its target as "n/a".
//
// With `bench/run --baseline REV`, a metric M of the table may come with
// "baseline.M" (the same figure measured with REV's binaries) and "ab.M"
// (current / baseline, one sample per round, both measured in that round).
// A section with any of them gets a second table: current, baseline, the
// ratio of their medians, and the per-round ratios' median and range.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lineage::bench {

namespace {

using nlohmann::json;

[[noreturn]] void die(const std::string& message) {
    fmt::print(stderr, "bench_report: {}\n", message);
    std::exit(2);
}

struct Results {
    std::vector<std::pair<std::string, std::string>> meta;
    std::map<std::string, std::vector<std::string>> commands;  // section -> commands
    std::map<std::string, std::vector<double>> samples;
    std::map<std::string, std::string> values;
    std::map<std::string, std::vector<std::string>> notes;
};

Results read_results(const std::string& path) {
    std::ifstream in(path);
    if (!in) die(path + ": cannot read");
    Results r;
    for (std::string line; std::getline(in, line);) {
        auto t1 = line.find('\t');
        if (t1 == std::string::npos) continue;
        auto t2 = line.find('\t', t1 + 1);
        std::string kind = line.substr(0, t1);
        std::string key = line.substr(t1 + 1, t2 == std::string::npos ? std::string::npos : t2 - t1 - 1);
        std::string rest = t2 == std::string::npos ? "" : line.substr(t2 + 1);
        if (kind == "meta") {
            r.meta.emplace_back(key, rest);
        } else if (kind == "cmd") {
            r.commands[key].push_back(rest);
        } else if (kind == "sample") {
            try {
                r.samples[key].push_back(std::stod(rest));
            } catch (...) {
                // A sample that is not a number was a failed measurement: skip it.
            }
        } else if (kind == "value") {
            r.values[key] = rest;
        } else if (kind == "note") {
            r.notes[key].push_back(rest);
        }
    }
    return r;
}

// Median, percentiles: linear interpolation between closest ranks.
double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return NAN;
    double pos = q * static_cast<double>(v.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

// What a row's target is checked against.
enum class On { none, median, max, min, p95, ratio, value, exact };

struct RowSpec {
    std::string metric;
    std::string label;
    std::string unit;
    std::string meaning;
    std::string ratio_to;  // metric whose median divides this one's
    On on = On::none;
    char op = ' ';  // '<' (at most), '>' (at least), '=' (exactly: every sample)
    double target = 0;
    std::string exact_metric;  // On::exact: every sample must equal this value metric
    bool show_p95 = false;
};

struct SectionSpec {
    std::string id;
    std::string title;
    std::string what;
    std::vector<RowSpec> rows;
};

// A row of the table, declared as R(metric, label, unit, meaning) with
// optional .vs(), .target(), .exact(), .p95().
RowSpec R(std::string metric, std::string label, std::string unit, std::string meaning) {
    RowSpec r;
    r.metric = std::move(metric);
    r.label = std::move(label);
    r.unit = std::move(unit);
    r.meaning = std::move(meaning);
    return r;
}
RowSpec vs(RowSpec r, std::string ratio_to) {
    r.ratio_to = std::move(ratio_to);
    return r;
}
RowSpec target(RowSpec r, On on, char op, double value) {
    r.on = on;
    r.op = op;
    r.target = value;
    return r;
}
RowSpec exact(RowSpec r, std::string metric) {
    r.on = On::exact;
    r.op = '=';
    r.exact_metric = std::move(metric);
    return r;
}
RowSpec p95(RowSpec r) {
    r.show_p95 = true;
    return r;
}

// Section 11: time (wall and CPU), memory, output and completeness per case.
SectionSpec deep_section() {
    SectionSpec sec{
        "deep",
        "11. Deep chains: reconstruct of a 100,000-generation fork chain",
        "bench_deep_chain writes a journal (through JournalWriter) holding one fork chain of N generations (N = "
        "deep.generations) whose last process forks curl, which connects to 127.0.0.1:4444; a second journal's chain "
        "also execs, for --pod. `lineage reconstruct` of it, in text and JSON, by --descendants-of, --binary and "
        "--pod; wall time and peak RSS (wait4) per run, stdout's size, and bench_deep_chain check-text|check-json: "
        "every process in the JSON once (joined by continues_from) or counted in the text (its own line or a fold "
        "line), the payload at its true depth with its connect.",
        {R("deep.generations", "generations in the chain", "", "processes of the chain; the payload is below them")},
    };
    const std::pair<const char*, const char*> cases[] = {
        {"text", "tree, --descendants-of"},
        {"text_no_fold", "tree --no-fold, --descendants-of"},
        {"json", "json, --descendants-of"},
        {"json_binary", "json, --binary curl"},
        {"text_pod", "tree, --pod (chain that execs)"},
        {"json_pod", "json, --pod (chain that execs)"},
    };
    for (const auto& [id, what] : cases) {
        const std::string m = std::string("deep.") + id + ".", w = std::string(what) + ": ";
        sec.rows.push_back(
            target(R(m + "wall_s", w + "wall time", "s", "target on the slowest run"), On::max, '<', 10));
        sec.rows.push_back(
            R(m + "cpu_s", w + "CPU (user+sys)", "s", "less sensitive than wall time to a busy machine"));
        sec.rows.push_back(target(R(m + "maxrss_mib", w + "peak RSS", "MiB", "wait4 ru_maxrss; target on the largest"),
                                  On::max, '<', 256));
        sec.rows.push_back(target(R(m + "output_mb", w + "output", "MB", "bytes of stdout / 10^6"), On::max, '<', 100));
        sec.rows.push_back(exact(R(m + "complete", w + "nothing left out", "",
                                   "1 = every process there, and the payload at its depth with its connect"),
                                 "one"));
    }
    return sec;
}

// Sections 7b and 7c (issue 23): every selector on the year journal, and on
// the same events generated into one day. `label` is "year" or "day".
SectionSpec selectors_section(const std::string& label) {
    const bool day = label == "day";
    const std::string id = day ? "selectors_day" : "selectors";
    SectionSpec sec{
        id,
        day ? "7c. Every selector on the same events generated into one day (a busy node)"
            : "7b. Every selector on the year journal",
        "`lineage reconstruct --journal J ... --format json` per query of issue 23, warm page cache, up to 5 runs "
        "(fewer when the runs take over 20 s; the bounded --binary sh 3): wall time (median; p95 in its own row), "
        "peak RSS (wait4), processes in the answer (\"pid\" keys of the JSON), exit status; t, the namespace, the "
        "binaries and the PID come from bench_gen_journal --selectors-out (see the notes). Then one more run with "
        "libbench_sqltrace.so preloaded: the query plan of every statement it prepared, a full scan of an event "
        "table marked.",
        {},
    };
    if (day) {
        sec.rows.push_back(R("selectors_day.journal_events", "journal: events", "rows", "fork+exec+exit+connect rows"));
        sec.rows.push_back(R("selectors_day.journal_mib", "journal: size", "MiB", "the file reconstruct reads"));
        sec.rows.push_back(R("selectors_day.gen_s", "journal: generation time", "s", "0 when the cached one was used"));
    }
    struct Q {
        const char* id;
        const char* what;
        double target_ms;  // 0: none
    };
    const Q qs[] = {
        {"bare1m", "--since t --until t+1m (no selector)", 0},
        {"bare10m", "--since t --until t+10m (no selector)", day ? 0.0 : 100.0},
        {"ns10m", "--namespace NS, 10 minutes", 100},
        {"rare_year", "--binary RARE (one exec), no window", 200},
        {"common_day", "--binary COMMON, one day", 500},
        {"sh_year", "--binary sh, no window (bounded)", 0},
        {"pid_day", "--pid P, one day", 0},
        {"desc_day", "--descendants-of P, one day", 0},
        // --dns (schema version 11): issue 21 sets no target; those of the
        // --binary and --namespace queries of the same shape.
        {"dns_rare_year", "--dns RARE (one lookup), no window", 200},
        {"dns_common_day", "--dns COMMON (the most looked up), one day", 500},
        {"dns_suffix10m", "--dns '*.svc.cluster.local', 10 minutes", 100},
    };
    for (const auto& q : qs) {
        const std::string m = id + "." + q.id + ".", w = std::string(q.what) + ": ";
        RowSpec wall = R(m + "wall_ms", w + "wall time", "ms", "median of the runs");
        sec.rows.push_back(q.target_ms > 0 ? target(wall, On::median, '<', q.target_ms) : wall);
        sec.rows.push_back(R(m + "wall_ms_p95", w + "wall time, p95", "ms", "95th percentile of the runs"));
        if (day && std::string(q.id) == "bare10m") {
            sec.rows.push_back(target(R(m + "wall_less_answer_ms", w + "wall time - 2 us per answer process", "ms",
                                        "the one-day target: at most 100 ms plus 2 us per process in the answer"),
                                      On::median, '<', 100));
        }
        sec.rows.push_back(
            target(R(m + "maxrss_mib", w + "peak RSS", "MiB", "target on the largest"), On::max, '<', 64));
        sec.rows.push_back(R(m + "processes", w + "processes in the answer", "", "0 when it did not answer"));
        sec.rows.push_back(R(m + "status", w + "exit status", "", "0 matched, 1 nothing, 3 over --max-processes"));
        if (std::string(q.id) == "sh_year") {
            sec.rows.push_back(exact(R(m + "bounded", w + "bounded", "",
                                       "1 = stopped at --max-processes (exit 3) or answered within 64 MiB"),
                                     "one"));
        }
        sec.rows.push_back(R(m + "full_scans", w + "full scans in its plans", "",
                             "SCAN of an event table without an index, over the statements it prepared"));
    }
    return sec;
}

// Section 7d (issue 15's Speed): pods, timeline, info, and folding.
SectionSpec triage_section() {
    SectionSpec sec{
        "triage",
        "7d. Triage commands on the year journal, and folding",
        "`lineage pods` for the day around t and for the whole journal, `lineage timeline --pod` over the first pod "
        "query's 10 minutes, `lineage info`, 5 runs each, warm page cache: wall time, peak RSS, exit status (3: over "
        "--max-processes, the default 100,000). Then a pod whose app runs 100,000 health checks (bench_deep_chain "
        "gen-checks; one exits 1), reconstructed with --pod and --max-processes 0 as folded text, --no-fold text and "
        "JSON, 3 runs each.",
        {},
    };
    struct C {
        const char* id;
        const char* what;
        double target_ms;
    };
    const C cs[] = {
        {"pods_day", "pods, one day", 200},
        {"pods_year", "pods, whole journal", 0},
        {"timeline_pod", "timeline --pod, 10 minutes", 100},
        {"info", "info", 1000},
    };
    for (const auto& c : cs) {
        const std::string m = std::string("triage.") + c.id + ".", w = std::string(c.what) + ": ";
        RowSpec wall = R(m + "wall_ms", w + "wall time", "ms", "median of the runs");
        sec.rows.push_back(c.target_ms > 0 ? target(wall, On::median, '<', c.target_ms) : wall);
        sec.rows.push_back(R(m + "wall_ms_p95", w + "wall time, p95", "ms", "95th percentile of the runs"));
        sec.rows.push_back(
            target(R(m + "maxrss_mib", w + "peak RSS", "MiB", "target on the largest"), On::max, '<', 64));
        sec.rows.push_back(R(m + "status", w + "exit status", "", "0 listed, 1 none, 3 over --max-processes"));
        sec.rows.push_back(R(m + "lines", w + "lines of output", "", "of the last run"));
    }
    sec.rows.push_back(R("triage.fold.checks", "fold: health checks in the pod", "", "siblings of one shape, one odd"));
    const std::pair<const char*, const char*> fs[] = {
        {"text", "fold: folded text"}, {"no_fold", "fold: --no-fold text"}, {"json", "fold: JSON"}};
    for (const auto& [id, what] : fs) {
        const std::string m = std::string("triage.fold.") + id + ".", w = std::string(what) + ": ";
        RowSpec wall = R(m + "wall_ms", w + "wall time", "ms", "median of the runs");
        sec.rows.push_back(std::string(id) == "text" ? target(wall, On::median, '<', 1000) : wall);
        sec.rows.push_back(R(m + "maxrss_mib", w + "peak RSS", "MiB", "the largest"));
        sec.rows.push_back(R(m + "lines", w + "lines of output", "", ""));
    }
    sec.rows.push_back(R("triage.fold.share_pct", "fold: folded - unfolded, share of folded", "%",
                         "(median folded - median --no-fold) / median folded: what folding adds, the unfolded "
                         "run printing every process"));
    return sec;
}

// Section 17's rows: nothing attached, then for each configuration its
// ns per syscall in both loops (against nothing's) and what it added in the
// same round.
std::vector<RowSpec> syscall_rows() {
    std::vector<RowSpec> rows = {
        R("syscalls.none.rw_ns", "write/read, nothing attached", "ns", "CPU ns per syscall"),
        R("syscalls.none.open_ns", "openat/close, nothing attached", "ns",
          "CPU ns per syscall: half an openat+close pair"),
    };
    const std::pair<const char*, const char*> configs[] = {
        {"lineage", "lineage record (no syscall hook)"},
        {"raw_tp", "raw_tp/sys_enter"},
        {"tp_btf", "tp_btf/sys_enter"},
        {"tp_btf_exit", "tp_btf/sys_enter + sys_exit"},
        {"tracepoint", "tracepoint syscalls/sys_enter_openat"},
    };
    for (const auto& [id, label] : configs) {
        const std::string m = std::string("syscalls.") + id;
        rows.push_back(vs(R(m + ".rw_ns", std::string("write/read, ") + label, "ns", "ratio = median / median(none)"),
                          "syscalls.none.rw_ns"));
        rows.push_back(R(m + ".rw_added", "  added per write/read, same round", "ns",
                         "this round's ns minus none's; median shown"));
        rows.push_back(
            vs(R(m + ".open_ns", std::string("openat/close, ") + label, "ns", "ratio = median / median(none)"),
               "syscalls.none.open_ns"));
        rows.push_back(R(m + ".open_added", "  added per syscall of openat/close, same round", "ns",
                         "this round's ns minus none's, per syscall (x2 per pair); median shown"));
    }
    return rows;
}

std::vector<SectionSpec> spec() {
    return {
        {"storm",
         "1. Storm generator (no tracer)",
         "bench_storm alone, no recorder: the rates the other sections slow down.",
         {
             R("storm.fork_exec.rate", "fork+execve(/bin/true), 2 workers", "/s",
               "children created, exec'd and reaped per second (both workers together)"),
             R("storm.posix_spawn.rate", "posix_spawn(/bin/true), 2 workers", "/s",
               "same with posix_spawn (vfork+exec in glibc)"),
             R("storm.threads.rate", "pthread_create+join, 2 workers", "/s", "threads created and joined per second"),
         }},
        {"ceiling",
         "2. No loss at the ceiling (fork+exec storm under `lineage record`)",
         "Every `record` run of section 3: the storm's rows counted in its journal (children of the storm's "
         "workers by fork rows; execs of /bin/true with the run's marker argv; exits of those children) against "
         "the storm's own count, and the journal's loss rows.",
         {
             R("ceiling.expected", "expected per kind (workers x iterations)", "rows",
               "children the storm started, so fork, exec and exit rows expected of each kind"),
             exact(R("ceiling.forks", "storm fork rows stored", "rows", "fork rows whose parent is a storm worker"),
                   "ceiling.expected"),
             exact(R("ceiling.execs", "storm exec rows stored", "rows", "exec rows of /bin/true with the marker"),
                   "ceiling.expected"),
             exact(R("ceiling.exits", "storm exit rows stored", "rows", "exit rows of the storm's children"),
                   "ceiling.expected"),
             target(R("ceiling.lost", "lost (sum of loss.count in the journal)", "events",
                      "events the recorder counted as lost during the whole run, all processes"),
                    On::max, '<', 0),
             exact(R("ceiling.stored_plus_lost_minus_expected", "(stored + lost) - expected, storm rows", "rows",
                     "0 when every storm event is either stored or counted lost"),
                   "zero"),
             R("ceiling.stored_total", "events stored by the run (all processes)", "events",
               "from `lineage: stopped (...): N events stored`"),
             R("ceiling.bpf_exec_ns_per_exec", "lineage's exec probe run time per exec", "ns",
               "handle_exec run_time_ns / run_cnt (kernel.bpf_stats_enabled) over one more storm run apart from "
               "the timed ones, the executed file's path walk included; the statistics add two clock reads per "
               "run: an upper bound"),
         }},
        {"overhead",
         "3. Overhead on the fork+exec storm",
         "Storm wall time with nothing, with `lineage record`, and with a bpftrace text recorder (printf of "
         "sched_process_fork/exec/exit to a file), interleaved round by round in rotating order.",
         {
             R("overhead.none.seconds", "storm time, no tracer", "s", "wall time of the storm (elapsed_s)"),
             target(vs(R("overhead.lineage.seconds", "storm time, lineage record", "s",
                         "ratio = median(lineage) / median(none): the slowdown"),
                       "overhead.none.seconds"),
                    On::ratio, '<', 1.05),
             vs(R("overhead.bpftrace.seconds", "storm time, bpftrace", "s", "ratio = median(bpftrace) / median(none)"),
                "overhead.none.seconds"),
             R("overhead.lineage.paired", "lineage/none, same round", "x",
               "per-round ratio (robust to drift of a shared machine); median shown"),
             R("overhead.bpftrace.paired", "bpftrace/none, same round", "x", "per-round ratio; median shown"),
             R("overhead.none.cpu", "storm CPU, no tracer", "s",
               "user+sys of the storm and all its children (probes run in their context)"),
             target(vs(R("overhead.lineage.cpu", "storm CPU, lineage record", "s",
                         "ratio = median(lineage) / median(none): the CPU the workload pays"),
                       "overhead.none.cpu"),
                    On::ratio, '<', 1.05),
             vs(R("overhead.bpftrace.cpu", "storm CPU, bpftrace", "s", "ratio = median(bpftrace) / median(none)"),
                "overhead.none.cpu"),
             R("overhead.lineage.cpu_paired", "lineage/none CPU, same round", "x", "per-round ratio; median shown"),
             R("overhead.bpftrace.cpu_paired", "bpftrace/none CPU, same round", "x", "per-round ratio; median shown"),
         }},
        {"threads",
         "4. Thread churn (2 workers creating and joining threads)",
         "lineage drops thread creation in the kernel (no record is sent); the slowdown is the cost of its "
         "probes firing. Interleaved as in section 3.",
         {
             R("threads.none.seconds", "thread storm time, no tracer", "s", "wall time of the thread storm"),
             target(vs(R("threads.lineage.seconds", "thread storm time, lineage record", "s",
                         "ratio = median(lineage) / median(none)"),
                       "threads.none.seconds"),
                    On::ratio, '<', 1.02),
             vs(R("threads.bpftrace.seconds", "thread storm time, bpftrace", "s",
                  "ratio = median(bpftrace) / median(none)"),
                "threads.none.seconds"),
             R("threads.lineage.paired", "lineage/none, same round", "x", "per-round ratio; median shown"),
             R("threads.bpftrace.paired", "bpftrace/none, same round", "x", "per-round ratio; median shown"),
             R("threads.none.cpu", "thread storm CPU, no tracer", "s", "user+sys of the thread storm"),
             target(vs(R("threads.lineage.cpu", "thread storm CPU, lineage record", "s",
                         "ratio = median(lineage) / median(none)"),
                       "threads.none.cpu"),
                    On::ratio, '<', 1.02),
             vs(R("threads.bpftrace.cpu", "thread storm CPU, bpftrace", "s", "ratio = median(bpftrace) / median(none)"),
                "threads.none.cpu"),
             R("threads.lineage.cpu_paired", "lineage/none CPU, same round", "x", "per-round ratio; median shown"),
             R("threads.bpftrace.cpu_paired", "bpftrace/none CPU, same round", "x", "per-round ratio; median shown"),
             R("threads.bpf_ns_per_thread", "lineage probes' run time per thread", "ns",
               "handle_fork + handle_exit run_time_ns (kernel.bpf_stats_enabled) over threads created, in one more "
               "run apart from the timed ones; the statistics add two clock reads per run: an upper bound"),
             R("threads.bpf_share_pct", "that run time, share of the storm's CPU", "%",
               "the slowdown the probes cause, free of the machine's noise (the tracepoint's call into BPF aside)"),
         }},
        {"cost",
         "5. The recorder's own cost (fork+exec storm runs of section 3)",
         "CPU = time on CPU of the recorder's threads (/proc/PID/task/*/schedstat, ns) from its ready line to "
         "just before SIGINT, divided by the events it handled in that time; memory = VmHWM before SIGINT.",
         {
             target(vs(R("cost.lineage.cpu_per_10k", "lineage record CPU per 10,000 events", "s",
                         "events = rows stored (stop line); ratio = lineage / bpftrace"),
                       "cost.bpftrace.cpu_per_10k"),
                    On::ratio, '<', 0.25),
             R("cost.bpftrace.cpu_per_10k", "bpftrace CPU per 10,000 events", "s",
               "events = lines bpftrace printed (fork+exec+exit, threads included)"),
             R("cost.lineage.startup_cpu", "lineage record CPU until ready", "s",
               "loading the probes and the /proc snapshot"),
             R("cost.bpftrace.startup_cpu", "bpftrace CPU until ready", "s", "compiling and loading the script"),
             R("cost.lineage.hwm_mib", "lineage record peak RSS (VmHWM)", "MiB",
               "VmHWM of the recorder just before SIGINT"),
             R("cost.bpftrace.hwm_mib", "bpftrace peak RSS (VmHWM)", "MiB", "VmHWM of bpftrace just before SIGINT"),
             R("cost.bpftrace.lost", "bpftrace lost events (its own 'Lost N events')", "events",
               "events bpftrace reported dropping (perf buffer full)"),
         }},
        {"interval",
         "5b. The batch interval (fork+exec storm of section 3 under record --batch-interval)",
         "record wakes, drains the ring and commits once per --batch-interval; a crash of the recorder loses about "
         "one interval at most. CPU measured as in section 5, the intervals in rotated order over the rounds; ratio = "
         "lineage / bpftrace of section 5.",
         {
             vs(R("interval.100ms.cpu_per_10k", "CPU per 10k events, 100ms (default)", "s",
                  "ratio to bpftrace's CPU per 10,000 events"),
                "cost.bpftrace.cpu_per_10k"),
             vs(R("interval.250ms.cpu_per_10k", "CPU per 10k events, 250ms", "s",
                  "ratio to bpftrace's CPU per 10,000 events"),
                "cost.bpftrace.cpu_per_10k"),
             vs(R("interval.1s.cpu_per_10k", "CPU per 10k events, 1s", "s",
                  "ratio to bpftrace's CPU per 10,000 events"),
                "cost.bpftrace.cpu_per_10k"),
             R("interval.100ms.lost", "lost, 100ms", "events", "sum of the journal's loss rows"),
             R("interval.250ms.lost", "lost, 250ms", "events", "sum of the journal's loss rows"),
             R("interval.1s.lost", "lost, 1s", "events", "sum of the journal's loss rows"),
         }},
        {"ingest",
         "6. Ingest headroom (Recorder + JournalWriter, no kernel)",
         "bench_ingest: synthetic ring-buffer records (fork, exec with a kubepods cgroup and ~60-byte argv, "
         "exit) fed to lineage::Recorder, batches committed as record does (100 ms / 16384 rows), journal in the "
         "work directory.",
         {
             target(R("ingest.events_per_s", "events stored per second (wall)", "/s",
                      "events / wall time of feeding and committing"),
                    On::median, '>', 200000),
             R("ingest.events_per_cpu_s", "events per CPU second", "/s",
               "events / (user+sys CPU): the rate without I/O waits or a busy neighbour"),
             R("ingest.bytes_per_event", "journal bytes per event", "B",
               "file size after the final checkpoint / events (rows, indexes, pages)"),
             R("ingest.argv_bytes", "argv bytes per exec", "B", "average argv length of the synthetic execs"),
             R("ingest.finish_s", "end_run (last commit + WAL checkpoint)", "s", "not included in the rate"),
         }},
        {"queries",
         "7. Queries on a year of one busy node",
         "`lineage reconstruct --journal J --pod NS/NAME --since T --until T+10m --format json` over windows of "
         "different pods, warm page cache; wall time and peak RSS (wait4 ru_maxrss) per query. Then `lineage "
         "verify` of the whole journal.",
         {
             R("queries.journal_events", "journal: events", "rows", "fork+exec+exit+connect rows in the journal"),
             R("queries.journal_mib", "journal: size", "MiB", "the file reconstruct reads"),
             R("queries.gen_s", "journal: generation time", "s", "0 when the cached journal was reused"),
             p95(target(R("queries.wall_ms", "reconstruct wall time per query", "ms", "median; p95 in its own row"),
                        On::median, '<', 100)),
             R("queries.wall_ms_p95", "reconstruct wall time, p95", "ms", "95th percentile over the queries"),
             target(R("queries.maxrss_mib", "reconstruct peak RSS per query", "MiB", "target on the largest"), On::max,
                    '<', 64),
             R("queries.cpu_ms", "reconstruct CPU (user+sys) per query", "ms",
               "less sensitive than wall time to a busy machine"),
             R("queries.output_kib", "JSON output per query", "KiB", "size of reconstruct's stdout"),
             R("queries.run", "queries run", "", "of those asked for (a time budget can stop early)"),
             R("queries.verify_rows", "verify: rows checked", "rows", "rows of every table hashed again, in batches"),
             R("queries.verify_s", "verify: wall time", "s", "`lineage verify --format json` on the whole journal"),
             target(R("queries.verify_rows_per_s", "verify: rows per second", "/s",
                      "rows / wall time; integrity_check runs beside the chain, on the other core"),
                    On::median, '>', 1'000'000),
         }},
        selectors_section("year"),
        selectors_section("day"),
        triage_section(),
        {"startup",
         "8. Startup: `record` start to its `lineage: recording` line",
         "Time from starting `lineage record` to its ready line (probes attached, /proc snapshotted and "
         "committed), on the machine as it is and with 5,000 extra sleep processes.",
         {
             R("startup.sleepers", "extra sleep processes", "", "`sleep 3600` children of bench_storm sleepers"),
             R("startup.idle.seconds", "as is", "s", "the machine with only its own processes"),
             target(R("startup.busy.seconds", "with extra sleeping processes", "s", "target on the median"), On::median,
                    '<', 1.0),
             R("startup.busy.snapshot", "processes in the snapshot (busy)", "", "from the ready line"),
             R("startup.idle.snapshot", "processes in the snapshot (as is)", "", "from the ready line"),
         }},
        {"overload",
         "9. Forced overload: tiny ring buffer",
         "`lineage record --ring-size 4K --cgroup G` under a fork+exec storm (4 workers) run inside cgroup G, so that "
         "every event of the journal is the storm's and the equation can be exact: expected = stored + counted "
         "losses.",
         {
             R("overload.expected", "events the storm caused", "events",
               "a fork and an exit per worker (4), fork + exec + exit per child, the storm's exit"),
             R("overload.stored", "events stored (rows in the journal)", "events",
               "fork + exec + exit + connect rows; all are the storm's (cgroup filter)"),
             R("overload.lost", "events counted lost (sum of loss.count)", "events",
               "loss rows of the run (ring buffer full)"),
             exact(R("overload.stored_plus_lost", "stored + counted lost", "events", "must equal expected"),
                   "overload.expected"),
             R("overload.lost_share", "share lost", "%", "lost / expected"),
             exact(R("overload.warning", "reconstruct warns 'events may be missing between'", "", "1 = yes"), "one"),
         }},
        {"crash",
         "10. Crash: kill -9 of `lineage record` in a fork+exec storm",
         "`lineage record` on a fresh journal, a fork+exec storm (2 workers), SIGKILL of the recorder 1-3 s (1-2 s "
         "with --quick) into "
         "it (kill time read on CLOCK_BOOTTIME just before the signal), then the journal as it was left, WAL and "
         "all: `lineage verify`, `PRAGMA integrity_check`, and how far the last commit is from the kill.",
         {
             target(R("crash.span_ms", "kill time - last commit", "ms",
                      "kill time - the last batch's committed_ns, what the crash cost: events after the last commit "
                      "(one batch interval, 100 ms, plus what "
                      "was still in the ring) are not in the journal; target on the largest"),
                    On::max, '<', 200),
             R("crash.event_span_ms", "kill time - latest event row", "ms",
               "latest time_ns of a fork, exec, exit or connect row (any process)"),
             R("crash.storm_exec_span_ms", "kill time - latest storm exec row", "ms", "the storm's own execs"),
             R("crash.execs_started", "storm children started before the kill", "",
               "from bench_storm --times: fork times before the kill (an exec follows within a fraction of a ms)"),
             R("crash.execs_stored", "storm execs stored", "", "exec rows of /bin/true with the run's marker"),
             R("crash.execs_unstored", "storm execs started before the kill, not stored", "",
               "started - stored: the storm's execs the crash cost (±1 per worker at the boundary)"),
             exact(R("crash.verify_status", "`lineage verify` exit status", "",
                     "0 = whole: a killed run is not tampering (the run shows as not stopped cleanly)"),
                   "zero"),
             exact(R("crash.integrity_ok", "PRAGMA integrity_check ok", "", "1 = ok"), "one"),
             R("crash.delay_s", "kill after", "s", "random, 1-3 s into the storm (1-2 s with --quick)"),
         }},
        deep_section(),
        {"heartbeat",
         "12. The heartbeat and `lineage status`",
         "The record loop writes its heartbeat (a JSON line and its checksum, one pwrite over the file it made at "
         "start) at most twice per batch interval: 10 a second at the default 100 ms. `lineage status` on a recorded "
         "journal reads its header, the "
         "lock, /proc/locks and the heartbeat, never SQLite. In-process figures are means of N calls (bench_util "
         "heartbeat); the command is `lineage status` run as a liveness probe would, on a live recorder's journal.",
         {
             R("heartbeat.write_us", "one heartbeat write, wall", "us", "JSON, checksum, pwrite, fstat of the journal"),
             R("heartbeat.write_cpu_us", "one heartbeat write, CPU", "us", "user + sys per write"),
             R("heartbeat.share_pct", "heartbeats at 1/s, share of one CPU", "%",
               "write CPU x 1 per second: the recorder's cost of being seen alive (one heartbeat a second)"),
             R("heartbeat.bytes", "heartbeat size", "bytes", "the JSON file"),
             R("heartbeat.status_us", "journal_status() in-process, wall", "us",
               "a recorded journal: open, flock probe, header, /proc/locks, heartbeat"),
             R("heartbeat.status_cpu_us", "journal_status() in-process, CPU", "us", "user + sys per call"),
             R("heartbeat.command_ms", "`lineage status` command, wall", "ms",
               "fork + exec + the call above + output, on a live recorder's journal"),
             R("heartbeat.command_cpu_ms", "`lineage status` command, CPU", "ms", "user + sys of the child"),
             R("heartbeat.command_status", "`lineage status` exit status", "",
               "0 = recording and healthy; 1 = a heartbeat older than 200 ms (a turn late on a busy machine)"),
         }},
        {"moves",
         "13. Cgroup moves (workers moving themselves between two cgroups, under `lineage record`)",
         "bench_storm move: 2 workers each write their own PID into cgroup.procs of two new cgroup v2 cgroups, "
         "alternately; nothing else. The cgroup_attach_task probe runs in the mover's context, so its cost shows in "
         "the storm's CPU. None and lineage interleaved round by round as in section 3; each `record` run's journal "
         "is counted: every move of a whole process is a memberships 'move' row or is counted lost.",
         {
             R("moves.none.rate", "moves per second, no tracer", "/s", "both workers together"),
             vs(R("moves.lineage.rate", "moves per second, lineage record", "/s",
                  "ratio = median(lineage) / median(none)"),
                "moves.none.rate"),
             R("moves.none.seconds", "move storm time, no tracer", "s", "wall time of the storm (elapsed_s)"),
             vs(R("moves.lineage.seconds", "move storm time, lineage record", "s",
                  "ratio = median(lineage) / median(none): the slowdown"),
                "moves.none.seconds"),
             R("moves.lineage.paired", "lineage/none, same round", "x",
               "per-round ratio (robust to drift of a shared machine); median shown"),
             R("moves.none.cpu", "move storm CPU, no tracer", "s", "user+sys of the storm and its workers"),
             vs(R("moves.lineage.cpu", "move storm CPU, lineage record", "s",
                  "ratio = median(lineage) / median(none): the CPU the movers pay (the probe)"),
                "moves.none.cpu"),
             R("moves.lineage.cpu_paired", "lineage/none CPU, same round", "x", "per-round ratio; median shown"),
             R("moves.cpu_per_10k", "lineage record CPU per 10,000 moves", "s",
               "the recorder's CPU (as in section 5) over the moves made, whatever else it stored meanwhile"),
             R("moves.hwm_mib", "lineage record peak RSS (VmHWM)", "MiB", "VmHWM of the recorder just before SIGINT"),
             R("moves.bpf_ns_per_move", "lineage move probe's run time per move", "ns",
               "handle_attach run_time_ns (kernel.bpf_stats_enabled) over moves made, in one more run apart from the "
               "timed ones; the statistics add two clock reads per run: an upper bound"),
             R("moves.bpf_share_pct", "that run time, share of the storm's CPU", "%",
               "the rest of the extra CPU above is the kernel's: the tracepoint formats the cgroup's path for every "
               "move once a probe is attached"),
             R("moves.made", "moves made (workers x iterations)", "moves", "writes to cgroup.procs that succeeded"),
             exact(R("moves.stored", "storm move rows stored", "rows",
                     "memberships rows with how 'move' of the storm's workers"),
                   "moves.made"),
             exact(R("moves.cgroups", "cgroups those rows name", "", "the storm's two cgroups"), "two"),
             target(R("moves.lost", "lost (sum of loss.count in the journal)", "events",
                      "events the recorder counted as lost during the whole run, all processes"),
                    On::max, '<', 0),
             exact(R("moves.stored_plus_lost_minus_made", "(stored + lost) - made, storm moves", "rows",
                     "0 when every move is either stored or counted lost"),
                   "zero"),
             R("moves.stored_total", "events stored by the run (all processes)", "events",
               "from `lineage: stopped (...): N events stored`"),
         }},
        {"export",
         "14. `lineage export` of the year journal (section 7's) to /dev/null",
         "The whole generated journal, every batch, `--format jsonl` and `--format ecs`, stdout on /dev/null, warm "
         "cache; each format's runs alternate with the baseline's (each first in every other run). Events: the "
         "journal's fork+exec+exit+connect rows (the generator's count); lines: every line printed, memberships, "
         "clock samples and batch lines included (counted once apart).",
         {
             R("export.journal_events", "journal: events", "rows", "fork+exec+exit+connect rows"),
             R("export.lines", "lines printed (jsonl)", "lines", "one untimed run through wc -l; ecs prints as many"),
             target(R("export.jsonl.events_per_s", "jsonl: events per second", "/s",
                      "journal events / wall time; the issue's target: 500,000"),
                    On::median, '>', 500000),
             R("export.jsonl.events_per_cpu_s", "jsonl: events per CPU-second", "/s",
               "journal events / (user + sys): what a loaded machine cannot blur"),
             R("export.jsonl.lines_per_cpu_s", "jsonl: lines per CPU-second", "/s",
               "every line printed / (user + sys)"),
             R("export.jsonl.wall_s", "jsonl: wall time", "s", ""),
             R("export.jsonl.maxrss_mib", "jsonl: peak RSS", "MiB", "ru_maxrss"),
             target(R("export.ecs.events_per_s", "ecs: events per second", "/s", "as jsonl"), On::median, '>', 500000),
             R("export.ecs.events_per_cpu_s", "ecs: events per CPU-second", "/s", ""),
             R("export.ecs.lines_per_cpu_s", "ecs: lines per CPU-second", "/s", ""),
             R("export.ecs.wall_s", "ecs: wall time", "s", ""),
             R("export.ecs.maxrss_mib", "ecs: peak RSS", "MiB", "ru_maxrss"),
         }},
        {"follow",
         "15. `lineage export --follow` beside a recorder in the fork+exec storm",
         "Section 3's storm under `lineage record`, alone and with `lineage export --follow --journal J > /dev/null` "
         "reading the recorder's live journal, interleaved round by round (each first in every other round). The "
         "recorder's CPU (utime+stime of its process only, from /proc) over the events it stored, per 10,000.",
         {
             R("follow.alone.cpu_per_10k", "record alone: CPU per 10,000 events", "s", "the recorder's"),
             R("follow.follow.cpu_per_10k", "record + export --follow: CPU per 10,000 events", "s", "the recorder's"),
             target(R("follow.ratio", "with --follow / alone, same round", "x",
                      "per-round ratio of the two above; median shown; the issue's target: at most 1.02"),
                    On::median, '<', 1.02),
             R("follow.export_cpu_per_10k", "export --follow's own CPU per 10,000 events", "s",
               "utime+stime of the export process over the recorder's events"),
             R("follow.stored", "events stored (with --follow)", "events", ""),
         }},
        {"containers",
         "16. Container churn: runc containers named by their bundles (issue 22)",
         "`runc run --bundle DIR ID` of busybox's true, one container after the other, each bundle with containerd's "
         "CRI annotations and a pod of its own; the recorder reads DIR/config.json once per container. Six "
         "configurations a round in a rotated order: the churn alone without and with `lineage record`, and section "
         "3's fork+exec storm with nothing and with record, alone and with the churn running beside it. The "
         "recorder's CPU is utime+stime of its process (as in section 5).",
         {
             R("containers.count", "containers per churn", "", "--containers"),
             R("containers.churn.none.ms_per_container", "churn, no tracer: wall per container", "ms",
               "runc run: create, start, exit, delete"),
             R("containers.churn.lineage.ms_per_container", "churn, lineage record: wall per container", "ms", ""),
             R("containers.churn.paired", "churn lineage/none, same round", "x", "per-round ratio; median shown"),
             R("containers.recorder_cpu_ms_per_container", "lineage record CPU per container", "ms",
               "the recorder's CPU over the churn (every event of runc and the container, and the bundle read) / "
               "containers"),
             R("containers.events_per_container", "events stored per container", "events",
               "all the run stored / containers: what a container costs in rows"),
             exact(R("containers.named", "containers named with their name and image", "",
                     "the churn's containers that `lineage pods --format json` lists with the annotated name and "
                     "image"),
                   "containers.count"),
             R("containers.storm.none.seconds", "storm alone, no tracer", "s", "wall time of the storm (elapsed_s)"),
             vs(R("containers.storm.lineage.seconds", "storm alone, lineage record", "s",
                  "ratio = median(lineage) / median(none): the slowdown"),
                "containers.storm.none.seconds"),
             R("containers.storm.paired", "storm alone, lineage/none, same round", "x",
               "per-round ratio; median shown"),
             R("containers.storm_churn.none.seconds", "storm beside the churn, no tracer", "s",
               "the churn competes for the CPU in both"),
             vs(R("containers.storm_churn.lineage.seconds", "storm beside the churn, lineage record", "s",
                  "ratio = median(lineage) / median(none)"),
                "containers.storm_churn.none.seconds"),
             R("containers.storm_churn.paired", "storm beside the churn, lineage/none, same round", "x",
               "per-round ratio; median shown: within noise of the alone ratio above when bundles cost nothing "
               "to the storm"),
             R("containers.storm.none.cpu", "storm CPU alone, no tracer", "s", "user+sys of the storm's workers"),
             R("containers.storm.lineage.cpu", "storm CPU alone, lineage record", "s", ""),
             R("containers.storm_churn.none.cpu", "storm CPU beside the churn, no tracer", "s", ""),
             R("containers.storm_churn.lineage.cpu", "storm CPU beside the churn, lineage record", "s", ""),
             R("containers.storm.lineage.cpu_per_10k", "lineage record CPU per 10,000 events, storm alone", "s", ""),
             R("containers.storm_churn.lineage.cpu_per_10k", "lineage record CPU per 10,000 events, beside the churn",
               "s", "the churn's events and bundles included"),
             R("containers.storm_churn.none.churn_s", "the churn beside the storm, no tracer: wall", "s",
               "through the bundles at least once, and on until the storm is over"),
             R("containers.storm_churn.lineage.churn_s", "the churn beside the storm, lineage record: wall", "s", ""),
             R("containers.storm_churn.none.churn_per_s", "containers per second beside the storm, no tracer", "/s",
               ""),
             R("containers.storm_churn.lineage.churn_per_s", "containers per second beside the storm, lineage record",
               "/s", ""),
         }},
        {"syscalls", "17. What a syscall hook costs every syscall (for the files issue)",
         "A 1-byte write+read loop on a pipe (syscalls no hook watches) and an openat+close loop (the syscall a "
         "files hook would watch), 1 worker, with nothing attached, under `lineage record`, and under each hook "
         "of bpf/syscall_hooks.bpf.c (bench_hooks: a program that compares the syscall number with openat's and "
         "counts), interleaved round by round in rotating order. CPU ns per syscall of the loop's process.",
         syscall_rows()},
    };
}

std::string fmt_num(double v) {
    if (std::isnan(v)) return "-";
    double a = std::fabs(v);
    if (a == 0) return "0";
    if (a < 1e15 && v == std::floor(v)) return fmt::format("{:.0f}", v);
    if (a >= 100000) return fmt::format("{:.0f}", v);
    if (a >= 100) return fmt::format("{:.1f}", v);
    if (a >= 10) return fmt::format("{:.2f}", v);
    if (a >= 1) return fmt::format("{:.3f}", v);
    return fmt::format("{:.4f}", v);
}

std::optional<double> as_number(const std::string& s) {
    try {
        size_t used = 0;
        double v = std::stod(s, &used);
        if (used == s.size()) return v;
    } catch (...) {
    }
    return std::nullopt;
}

// A figure's samples, or its one value; nullopt when it has neither or its
// value is not a number.
struct Figure {
    std::vector<double> samples;  // empty for a value measured once
    double median = NAN, lo = NAN, hi = NAN;
    size_t n = 0;
};

std::optional<Figure> figure_of(const Results& r, const std::string& metric) {
    Figure f;
    if (auto s = r.samples.find(metric); s != r.samples.end() && !s->second.empty()) {
        f.samples = s->second;
        f.median = quantile(f.samples, 0.5);
        f.lo = *std::min_element(f.samples.begin(), f.samples.end());
        f.hi = *std::max_element(f.samples.begin(), f.samples.end());
        f.n = f.samples.size();
        return f;
    }
    if (auto v = r.values.find(metric); v != r.values.end()) {
        if (auto num = as_number(v->second)) {
            f.median = f.lo = f.hi = *num;
            f.n = 1;
            return f;
        }
    }
    return std::nullopt;
}

json figure_json(const Figure& f) {
    if (f.samples.empty()) return {{"value", f.median}};
    return {{"samples", f.samples}, {"median", f.median}, {"min", f.lo}, {"max", f.hi}, {"n", f.n}};
}

// Which way a figure is better, by its unit: +1 higher (rates), -1 lower
// (time, CPU, memory, sizes, slowdowns), 0 neither (counts).
int better_way(const std::string& unit) {
    if (unit == "/s") return 1;
    for (const char* u : {"s", "ms", "ns", "MiB", "KiB", "B", "x", "%"}) {
        if (unit == u) return -1;
    }
    return 0;
}

// What the per-round ratios say: a sign test of current against baseline.
std::string reading(const Figure& per_round, int better) {
    if (per_round.n < 2) return "one round: no range";
    if (per_round.lo <= 1 && per_round.hi >= 1) return "within noise (rounds on both sides of 1)";
    bool higher = per_round.lo > 1;
    std::string text = higher ? "current higher in every round" : "current lower in every round";
    if (better != 0) text += (better > 0) == higher ? " (better)" : " (worse)";
    return text;
}

// The section's comparison with the baseline, printed under its table; adds
// "baseline" to the JSON rows it covers. Nothing when the section has no
// baseline figure.
void print_baseline(const Results& r, const SectionSpec& sec, json& js, const std::string& base_name) {
    bool any = false;
    for (const auto& row : sec.rows) any = any || figure_of(r, "baseline." + row.metric);
    if (!any) return;
    fmt::print(
        "  vs baseline {}: ratio = median(current) / median(baseline); per round = current / baseline in the\n"
        "  same round (median, min-max, n); reading: rounds all above or all below 1, or on both sides\n",
        base_name);
    fmt::print("  {:<48} {:>10} {:>10} {:>8} {:>9} {:>17} {:>4}  {}\n", "figure", "current", "baseline", "ratio",
               "per round", "min-max", "n", "reading");
    for (size_t i = 0; i < sec.rows.size(); ++i) {
        const auto& row = sec.rows[i];
        auto base = figure_of(r, "baseline." + row.metric);
        if (!base) continue;
        auto cur = figure_of(r, row.metric);
        json jb = figure_json(*base);
        std::string ratio_s, round_s, range_s, n_s, reading_s;
        if (cur && base->median != 0 && !std::isnan(cur->median)) {
            double ratio = cur->median / base->median;
            ratio_s = fmt::format("{:.3f}", ratio);
            jb["ratio"] = ratio;
        }
        if (auto per_round = figure_of(r, "ab." + row.metric); per_round && !per_round->samples.empty()) {
            round_s = fmt::format("{:.3f}", per_round->median);
            range_s = fmt::format("{:.3f}-{:.3f}", per_round->lo, per_round->hi);
            n_s = std::to_string(per_round->n);
            reading_s = reading(*per_round, better_way(row.unit));
            jb["per_round"] = figure_json(*per_round);
            jb["reading"] = reading_s;
        }
        js["rows"][i]["baseline"] = jb;
        fmt::print("  {:<48} {:>10} {:>10} {:>8} {:>9} {:>17} {:>4}  {}\n",
                   row.label + (row.unit.empty() ? "" : " (" + row.unit + ")"), cur ? fmt_num(cur->median) : "-",
                   fmt_num(base->median), ratio_s, round_s, range_s, n_s, reading_s);
    }
}

}  // namespace

}  // namespace lineage::bench

int main(int argc, char** argv) {
    using namespace lineage::bench;
    std::string results_path, json_path;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--results" && i + 1 < argc) {
            results_path = argv[++i];
        } else if (a == "--json" && i + 1 < argc) {
            json_path = argv[++i];
        } else {
            die("usage: bench_report --results FILE.tsv --json OUT.json");
        }
    }
    if (results_path.empty() || json_path.empty()) die("--results and --json are required");
    Results r = read_results(results_path);
    r.values.emplace("zero", "0");
    r.values.emplace("one", "1");
    r.values.emplace("two", "2");

    json doc;
    doc["meta"] = json::object();
    std::string base_name;
    for (const auto& [k, v] : r.meta) {
        doc["meta"][k] = v;
        if (k == "baseline") base_name = v.substr(0, v.find(' '));
    }
    doc["sections"] = json::array();
    std::vector<std::string> problems;

    fmt::print("\nlineage benchmarks\n");
    for (const auto& [k, v] : r.meta) fmt::print("  {:<22} {}\n", k, v);

    for (const auto& sec : spec()) {
        bool any = false;
        for (const auto& row : sec.rows) any = any || r.samples.count(row.metric) || r.values.count(row.metric);
        json js = {{"id", sec.id}, {"title", sec.title}, {"what", sec.what}, {"rows", json::array()}};
        if (!any) {
            js["skipped"] = true;
            doc["sections"].push_back(js);
            continue;
        }
        fmt::print("\n== {} ==\n{}\n", sec.title, sec.what);
        fmt::print("  {:<48} {:>10} {:>21} {:>4} {:>8} {:>10}  {}\n", "figure", "median", "min-max", "n", "ratio",
                   "target", "verdict");
        for (const auto& row : sec.rows) {
            json jr = {{"id", row.metric}, {"label", row.label}, {"unit", row.unit}, {"meaning", row.meaning}};
            std::string median_s = "-", range_s = "", n_s = "", ratio_s = "", target_s = "", verdict;
            double median = NAN, lo = NAN, hi = NAN, p95 = NAN;
            auto s = r.samples.find(row.metric);
            auto v = r.values.find(row.metric);
            if (s != r.samples.end() && !s->second.empty()) {
                const auto& xs = s->second;
                median = quantile(xs, 0.5);
                lo = *std::min_element(xs.begin(), xs.end());
                hi = *std::max_element(xs.begin(), xs.end());
                p95 = quantile(xs, 0.95);
                median_s = fmt_num(median);
                range_s = fmt::format("{}-{}", fmt_num(lo), fmt_num(hi));
                n_s = std::to_string(xs.size());
                jr["samples"] = xs;
                jr["median"] = median;
                jr["min"] = lo;
                jr["max"] = hi;
                jr["p95"] = p95;
                jr["n"] = xs.size();
            } else if (v != r.values.end()) {
                auto num = as_number(v->second);
                median_s = num ? fmt_num(*num) : v->second;
                if (num) {
                    median = lo = hi = *num;
                    jr["value"] = *num;
                } else {
                    jr["value"] = v->second;
                }
                n_s = "1";
            }
            std::optional<double> ratio;
            if (!row.ratio_to.empty()) {
                auto d = r.samples.find(row.ratio_to);
                if (d != r.samples.end() && !d->second.empty() && !std::isnan(median)) {
                    double den = quantile(d->second, 0.5);
                    if (den != 0) {
                        ratio = median / den;
                        ratio_s = fmt::format("{:.3f}", *ratio);
                        jr["ratio"] = *ratio;
                        jr["ratio_to"] = row.ratio_to;
                    }
                }
            }
            if (row.on != On::none) {
                std::optional<double> x;
                std::string what;
                switch (row.on) {
                    case On::median:
                        x = std::isnan(median) ? std::nullopt : std::optional<double>(median);
                        what = "median";
                        break;
                    case On::max:
                        x = std::isnan(hi) ? std::nullopt : std::optional<double>(hi);
                        what = "max";
                        break;
                    case On::min:
                        x = std::isnan(lo) ? std::nullopt : std::optional<double>(lo);
                        what = "min";
                        break;
                    case On::p95:
                        x = std::isnan(p95) ? std::nullopt : std::optional<double>(p95);
                        what = "p95";
                        break;
                    case On::ratio:
                        x = ratio;
                        what = "ratio";
                        break;
                    case On::value:
                        x = std::isnan(median) ? std::nullopt : std::optional<double>(median);
                        what = "value";
                        break;
                    case On::exact:
                        break;
                    case On::none:
                        break;
                }
                bool pass = false, known = false;
                if (row.on == On::exact) {
                    auto want = r.values.find(row.exact_metric);
                    auto wn = want == r.values.end() ? std::nullopt : as_number(want->second);
                    target_s = wn ? "= " + fmt_num(*wn) : "=";
                    if (wn && !std::isnan(lo)) {
                        known = true;
                        pass = lo == *wn && hi == *wn;
                    }
                    what = "every sample";
                } else {
                    target_s = fmt::format("{} {}", row.op == '<' ? "<=" : ">=", fmt_num(row.target));
                    if (x) {
                        known = true;
                        pass = row.op == '<' ? *x <= row.target : *x >= row.target;
                    }
                }
                verdict = !known ? "n/a" : pass ? "PASS" : "FAIL";
                jr["target"] = {{"on", what}, {"text", target_s}, {"verdict", verdict}};
                if (known && !pass) {
                    std::string got = row.on == On::exact ? fmt::format("{}..{}", fmt_num(lo), fmt_num(hi))
                                                          : fmt_num(x.value_or(NAN));
                    std::string unit = row.on == On::ratio ? "x" : row.unit;
                    problems.push_back(
                        fmt::format("{}: {} ({}) is {} {}, target {}", sec.id, row.label, what, got, unit, target_s));
                }
            }
            if (row.show_p95 && !std::isnan(p95)) jr["p95"] = p95;
            fmt::print("  {:<48} {:>10} {:>21} {:>4} {:>8} {:>10}  {}\n",
                       row.label + (row.unit.empty() ? "" : " (" + row.unit + ")"), median_s, range_s, n_s, ratio_s,
                       target_s, verdict);
            js["rows"].push_back(jr);
        }
        print_baseline(r, sec, js, base_name);
        fmt::print("  meaning:\n");
        for (const auto& row : sec.rows) {
            if (!row.meaning.empty()) fmt::print("    {}: {}\n", row.label, row.meaning);
        }
        if (auto n = r.notes.find(sec.id); n != r.notes.end()) {
            fmt::print("  notes:\n");
            for (const auto& line : n->second) fmt::print("    {}\n", line);
            js["notes"] = n->second;
        }
        if (auto c = r.commands.find(sec.id); c != r.commands.end()) {
            fmt::print("  commands (as run, one per kind):\n");
            std::vector<std::string> seen;
            for (const auto& cmd : c->second) {
                if (std::find(seen.begin(), seen.end(), cmd) != seen.end()) continue;
                seen.push_back(cmd);
                fmt::print("    $ {}\n", cmd);
            }
            js["commands"] = seen;
        }
        doc["sections"].push_back(js);
    }
    if (auto n = r.notes.find("general"); n != r.notes.end()) {
        fmt::print("\n== notes ==\n");
        for (const auto& line : n->second) fmt::print("  {}\n", line);
        doc["notes"] = n->second;
    }
    fmt::print("\n== targets missed ==\n");
    if (problems.empty()) fmt::print("  none\n");
    for (const auto& p : problems) fmt::print("  {}\n", p);
    doc["targets_missed"] = problems;

    std::ofstream out(json_path);
    out << doc.dump(2) << "\n";
    if (!out) die(json_path + ": cannot write");
    fmt::print("\nJSON: {}\n", json_path);
    return 0;
}
