// lineage export: a journal's batches as self-contained JSON lines.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "clock.h"
#include "commands.h"
#include "export.h"
#include "fd.h"
#include "journal_format.h"
#include "live_copy.h"
#include "output.h"
#include "stop_signals.h"
#include "timeexpr.h"

namespace lineage::cli {

namespace {

struct ExportArgs {
    std::vector<std::string> journals;
    std::string pod, namespace_, container, since, until;
    std::optional<uint32_t> pid;
    std::string format = "jsonl";
    std::string cursor, output;
    bool follow = false;
};

// How often --follow looks for new batches. A look at a journal whose files
// changed brings its private copy up to date (LiveCopy: the WAL, and the
// main file only after a checkpoint) and opens it afresh.
constexpr auto kFollowInterval = std::chrono::milliseconds(500);
// --follow gives up on a journal that cannot be opened this many looks in a
// row (a recorder that keeps writing while it is copied can fail one look).
constexpr int kFollowOpenRetries = 20;
// How far past --until this machine's clock must be before a look that
// finds nothing later ends --follow: the recorder's wall clock (its clock
// samples) may lag this one a little.
constexpr std::chrono::nanoseconds kFollowUntilMargin = std::chrono::seconds(2);

constexpr int kOk = 0;
// An error is exit 2, from cli::fail.

int fail(const std::string& message) {
    return cli::fail("export", message);
}

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        text.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

int run_export(ExportArgs args) {
    if (args.journals.empty()) args.journals.push_back(kDefaultJournal);
    ExportFormat format = ExportFormat::jsonl;
    if (args.format == "ecs") {
        format = ExportFormat::ecs;
    } else if (args.format != "jsonl") {
        return fail(fmt::format("--format: '{}' is not one of jsonl, ecs", args.format));
    }
    ExportFilter filter;
    const int64_t now = wall_now_ns();
    if (!args.since.empty()) {
        auto t = parse_time_expr(args.since, now);
        if (!t) return fail("--since: " + t.error().message);
        filter.since_wall_ns = *t;
    }
    if (!args.until.empty()) {
        auto t = parse_time_expr(args.until, now);
        if (!t) return fail("--until: " + t.error().message);
        filter.until_wall_ns = *t;
    }
    if (filter.since_wall_ns && filter.until_wall_ns && *filter.since_wall_ns > *filter.until_wall_ns) {
        return fail(fmt::format("--since {} is after --until {}", args.since, args.until));
    }
    if (!args.pod.empty()) filter.pod = args.pod;
    if (!args.namespace_.empty()) filter.namespace_ = args.namespace_;
    if (!args.container.empty()) filter.container = args.container;
    filter.pid = args.pid;

    ExportCursor cursor;
    if (!args.cursor.empty()) {
        auto c = ExportCursor::load(args.cursor);
        if (!c) return fail(c.error().message);
        cursor = std::move(*c);
    }

    // Every journal is opened and checked before anything is written.
    std::vector<std::optional<JournalExport>> exports;
    for (const auto& path : args.journals) {
        auto e = JournalExport::open(path, format, filter);
        if (!e) return fail(e.error().message);
        exports.emplace_back(std::move(*e));
    }

    // --output: the file is exactly what the cursor accounts for. Bytes
    // after the cursor's count were written by an export that died before
    // it could save the cursor; they go, and are written again.
    UniqueFd out_fd;
    int64_t out_bytes = 0;
    if (!args.output.empty()) {
        out_fd.reset(::open(args.output.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        if (!out_fd) return fail(fmt::format("--output {}: cannot open: {}", args.output, std::strerror(errno)));
        struct stat st {};
        if (fstat(out_fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return fail(fmt::format("--output {}: not a regular file", args.output));
        }
        out_bytes = cursor.output_bytes.value_or(0);
        if (st.st_size < out_bytes) {
            return fail(
                fmt::format("--output {}: has {} bytes, but the cursor {} says {} were written: the output "
                            "was cut or replaced",
                            args.output, st.st_size, args.cursor, out_bytes));
        }
        if (ftruncate(out_fd.get(), out_bytes) != 0 || lseek(out_fd.get(), out_bytes, SEEK_SET) < 0) {
            return fail(fmt::format("--output {}: cannot truncate: {}", args.output, std::strerror(errno)));
        }
    }

    catch_stop_signals();
    auto last_save = std::chrono::steady_clock::now();
    std::vector<int> open_failures(exports.size(), 0);
    // --follow --until: a journal is done once a batch committed after
    // --until was read, or once a look that started past --until (by this
    // clock, with a margin for the recorder's) read it to its end: what it
    // commits afterwards is later still.
    std::vector<bool> done(exports.size(), false);
    std::vector<std::optional<LiveCopy>> live(exports.size());
    for (;;) {
        for (size_t i = 0; i < exports.size(); ++i) {
            const std::string& path = args.journals[i];
            if (done[i]) continue;
            const bool look_after_until =
                filter.until_wall_ns && wall_now_ns() > *filter.until_wall_ns + kFollowUntilMargin.count();
            if (!exports[i]) {
                // --follow: each look reads what is committed now, from a
                // private copy kept up to date (LiveCopy), and only when the
                // journal's files changed.
                if (!live[i]) {
                    auto c = LiveCopy::create(path);
                    if (!c) return fail(c.error().message);
                    live[i].emplace(std::move(*c));
                }
                auto changed = live[i]->sync();
                if (changed.ok() && !*changed) continue;
                Result<JournalExport> e = changed.ok() ? JournalExport::open(live[i]->copy_path(), format, filter, path)
                                                       : Result<JournalExport>(changed.error());
                if (!e) {
                    if (++open_failures[i] >= kFollowOpenRetries) return fail(e.error().message);
                    continue;
                }
                open_failures[i] = 0;
                exports[i].emplace(std::move(*e));
            }
            ExportPosition pos = cursor.journals[path];
            BatchSink sink = [&](std::string_view lines, const ExportPosition& after) -> Status {
                if (out_fd) {
                    if (!write_all(out_fd.get(), lines)) {
                        return Error{fmt::format("--output {}: write error: {}", args.output, std::strerror(errno))};
                    }
                    out_bytes += static_cast<int64_t>(lines.size());
                } else if (!write_stdout(lines)) {
                    return Error{"cannot write the output"};
                }
                if (args.cursor.empty()) return Ok{};
                cursor.journals[path] = after;
                // With --output the cursor may lag: a restart cuts the file back
                // to what the cursor says. On stdout it must not, since what was
                // printed cannot be taken back.
                const auto t = std::chrono::steady_clock::now();
                if (out_fd && t - last_save < std::chrono::milliseconds(500)) return Ok{};
                last_save = t;
                if (out_fd) cursor.output_bytes = out_bytes;
                return cursor.save(args.cursor);
            };
            auto stats = exports[i]->run(pos, sink, [] { return stop_requested(); });
            exports[i].reset();  // closes the journal (and removes a private copy)
            if (!stats) return fail(stats.error().message);
            cursor.journals[path] = pos;
            if (!args.cursor.empty()) {
                if (out_fd) cursor.output_bytes = out_bytes;
                if (auto st = cursor.save(args.cursor); !st) return fail(st.error().message);
            }
            if (stop_requested()) break;
            if (stats->past_until || look_after_until) done[i] = true;
        }
        if (!args.follow || stop_requested()) break;
        if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
        const auto wake = std::chrono::steady_clock::now() + kFollowInterval;
        while (!stop_requested() && std::chrono::steady_clock::now() < wake) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (stop_requested()) break;
    }
    return kOk;
}

}  // namespace

Runner add_export(CLI::App& app) {
    auto args = std::make_shared<ExportArgs>();
    auto* cmd = app.add_subcommand("export", "Write journals' events as self-contained JSON lines, batch by batch");
    cmd->add_option("-j,--journal", args->journals,
                    "Journal file to read (repeatable; exported one after the other). Default: "
                    "/var/lib/lineage/journal.db");
    cmd->add_option("--pod", args->pod, "Only process events of this pod: name, NAMESPACE/NAME or pod UID");
    cmd->add_option("--namespace", args->namespace_, "Only process events of pods in this Kubernetes namespace");
    cmd->add_option("--container", args->container, "Only process events of this container (ID prefix)");
    cmd->add_option("--pid", args->pid, "Only process events of this PID (every incarnation)");
    cmd->add_option("--since", args->since,
                    "Only batches committed at or after this time: RFC 3339, '2026-04-22 09:14' (local), @EPOCH, "
                    "-15m, -2h or now");
    cmd->add_option("--until", args->until, "Only batches committed at or before this time, same forms as --since");
    cmd->add_option("--format", args->format, "jsonl (schema/export.schema.json) or ecs (Elastic Common Schema)")
        ->capture_default_str();
    cmd->add_option("--cursor", args->cursor,
                    "Go on after the last batch this file names, and keep it up to date (written atomically)");
    cmd->add_flag("--follow", args->follow,
                  "Keep going: look for newly committed batches every 0.5 s (read-only, as reconstruct reads a "
                  "live journal) until SIGINT or SIGTERM, or, with --until, until the journal is past --until");
    cmd->add_option("--output", args->output,
                    "Append to this file instead of stdout; with --cursor, a restart after a crash cuts it back to "
                    "the last batch the cursor names, so no batch is written twice");
    cmd->footer(
        "Examples:\n"
        "  lineage export --journal copy.db > events.jsonl\n"
        "  lineage export --journal node1.db --journal node2.db --format ecs --since -1h\n"
        "  lineage export --cursor /var/lib/lineage/export.cursor --output /var/log/lineage/events.jsonl\n"
        "  lineage export --journal copy.db --pod production/my-app-6d4f9-xk2p1 --pid 18294\n"
        "  lineage export --follow --cursor /var/lib/lineage/export.cursor --format ecs\n"
        "Exit status: 0 exported, 2 error.");
    return [args] { return run_export(*args); };
}

}  // namespace lineage::cli
