#include "status.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "bytes.h"
#include "clock.h"
#include "clock_map.h"
#include "journal_format.h"
#include "journal_lock.h"
#include "journal_reader.h"
#include "procfs.h"
#include "timeexpr.h"

namespace lineage {

namespace {

// The SQLite header of the journal, read through the descriptor status
// already has: a lineage journal of a version this build reads. SQLite is
// not asked, so nothing of a live journal's WAL or -shm is touched. An
// empty file passes (a recorder that is creating it).
Status check_header(int fd, const std::string& path, int64_t size) {
    if (size == 0) return Ok{};
    char head[100] = {};
    ssize_t n = 0;
    do {
        n = pread(fd, head, sizeof(head), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Error{fmt::format("{}: read error: {}", path, std::strerror(errno))};
    constexpr char kMagic[] = "SQLite format 3";  // and its NUL: 16 bytes
    if (n != static_cast<ssize_t>(sizeof(head)) || std::memcmp(head, kMagic, sizeof(kMagic)) != 0) {
        return Error{fmt::format("{}: not a lineage journal (not an SQLite database)", path)};
    }
    // The database header: user_version at offset 60, application_id at 68.
    const auto version = static_cast<int64_t>(read_be(head + 60, 4));
    const auto app = static_cast<int64_t>(read_be(head + 68, 4));
    if (app != kJournalApplicationId) {
        return Error{fmt::format("{}: not a lineage journal (SQLite database of another application)", path)};
    }
    if (version < kOldestJournalSchemaVersion || version > kJournalSchemaVersion) {
        return Error{
            fmt::format("{}: journal schema version {} is not supported (this lineage reads versions {} to {})", path,
                        version, kOldestJournalSchemaVersion, kJournalSchemaVersion)};
    }
    return Ok{};
}

Error read_error(const std::string& path, const std::string& what, Database& db) {
    return Error{fmt::format("{}: cannot read {}: {}", path, what, db.errmsg())};
}

// The last run, its last batch and its losses: a few rows through indexes
// (and the loss and clock_samples tables, which stay small).
Result<JournalAtRest> summarize(const std::string& path) {
    auto reader = JournalReader::open(path);
    if (!reader) return reader.error();
    Database& db = reader->db();
    JournalAtRest summary;

    int64_t first_batch = 0;
    int64_t started_ns = 0;
    {
        auto s = db.prepare(
            "SELECT run_id, batch, boot_id, node, started_ns, started_wall_ns, version, filters, recorder_pid "
            "FROM runs ORDER BY run_id DESC LIMIT 1");
        if (!s) return read_error(path, "runs", db);
        const int rc = s->step();
        if (rc == SQLITE_ROW) {
            LastRun run;
            run.run_id = s->int64(0);
            first_batch = s->int64(1);
            run.boot_id = s->text(2);
            run.node = s->text(3);
            started_ns = s->int64(4);
            run.started_wall_ns = s->int64(5);
            run.version = s->text(6);
            run.filters_json = s->text(7);
            run.pid = s->int64(8);
            summary.last_run = std::move(run);
        } else if (rc != SQLITE_DONE) {
            return read_error(path, "runs", db);
        }
    }
    ClockMap clock;
    if (summary.last_run) {
        LastRun& run = *summary.last_run;
        clock.add_sample(run.boot_id, started_ns, run.started_wall_ns);
        auto stop = db.prepare(
            "SELECT stopped_wall_ns, reason, events, lost FROM run_stops WHERE run_id = ?1 ORDER BY rowid DESC "
            "LIMIT 1");
        if (!stop) return read_error(path, "run_stops", db);
        stop->bind(1, run.run_id);
        int rc = stop->step();
        if (rc == SQLITE_ROW) {
            run.stopped = true;
            run.stopped_wall_ns = stop->int64(0);
            run.stop_reason = stop->text(1);
            run.events = stop->int64(2);
            run.lost = stop->int64(3);
        } else if (rc != SQLITE_DONE) {
            return read_error(path, "run_stops", db);
        }
        auto samples = db.prepare("SELECT boot_ns, wall_ns FROM clock_samples WHERE run_id = ?1");
        if (!samples) return read_error(path, "clock_samples", db);
        samples->bind(1, run.run_id);
        while ((rc = samples->step()) == SQLITE_ROW)
            clock.add_sample(run.boot_id, samples->int64(0), samples->int64(1));
        if (rc != SQLITE_DONE) return read_error(path, "clock_samples", db);
        // Loss rows are appended in batch order: the run's are those from
        // its first batch on.
        auto losses = db.prepare("SELECT reason, sum(count) FROM loss WHERE batch >= ?1 GROUP BY reason");
        if (!losses) return read_error(path, "loss", db);
        losses->bind(1, first_batch);
        while ((rc = losses->step()) == SQLITE_ROW) run.losses[losses->text(0)] = losses->int64(1);
        if (rc != SQLITE_DONE) return read_error(path, "loss", db);
    }
    auto batch = db.prepare("SELECT batch_id, run_id, committed_ns, hash FROM batches ORDER BY batch_id DESC LIMIT 1");
    if (!batch) return read_error(path, "batches", db);
    const int rc = batch->step();
    if (rc == SQLITE_ROW) {
        summary.last_batch = batch->int64(0);
        const std::string hash = batch->blob(3);
        if (hash.size() == kHashSize) {
            Hash h{};
            std::memcpy(h.data(), hash.data(), kHashSize);
            summary.head_hash = to_hex(h);
        }
        // The clock of the run that committed it; an earlier run's batch
        // (the last run committed nothing) maps through its own start.
        if (summary.last_run && batch->int64(1) == summary.last_run->run_id) {
            summary.last_commit_wall_ns = clock.to_wall(summary.last_run->boot_id, batch->int64(2));
        } else {
            auto run = db.prepare("SELECT boot_id, started_ns, started_wall_ns FROM runs WHERE run_id = ?1");
            if (!run) return read_error(path, "runs", db);
            run->bind(1, batch->int64(1));
            if (run->step() == SQLITE_ROW) {
                ClockMap of_run;
                of_run.add_sample(run->text(0), run->int64(1), run->int64(2));
                summary.last_commit_wall_ns = of_run.to_wall(run->text(0), batch->int64(2));
            }
        }
    } else if (rc != SQLITE_DONE) {
        return read_error(path, "batches", db);
    }
    return summary;
}

int64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

std::string lost_by_reason(const EventCounts& c) {
    std::string out;
    auto add = [&](const char* reason, uint64_t n) {
        if (n == 0) return;
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", reason, n);
    };
    add("ringbuf_full", c.ringbuf_full);
    add("journal_write", c.journal_write);
    add("decode", c.decode);
    add("map_full", c.map_full);
    return out;
}

// Health of a recorder from its heartbeat.
void judge(StatusReport& r, const StatusContext& context) {
    if (!r.heartbeat) {
        r.problems.push_back("cannot tell whether it keeps up: " + r.heartbeat_problem);
        return;
    }
    const Heartbeat& h = *r.heartbeat;
    r.heartbeat_age_ns = context.now_boot_ns - h.written_boot_ns;
    if (h.last_commit_boot_ns > 0) r.last_commit_age_ns = context.now_boot_ns - h.last_commit_boot_ns;
    // A recorder's loop turns once per batch interval, busy or idle, and
    // writes its heartbeat after a turn's commit once per heartbeat period
    // (a second, or half the interval when that is longer): a heartbeat
    // older than twice the longer of the two is a recorder that has
    // committed nothing, and checked nothing, for that long.
    r.stall_after_ns = h.phase == "starting" ? kStartingGraceNs : heartbeat_stall_after_ns(h.batch_interval_ns);
    if (r.heartbeat_age_ns > r.stall_after_ns) {
        r.stalled = true;
        r.problems.push_back(fmt::format("stalled: no heartbeat for {} (more than {}{})",
                                         human_duration(r.heartbeat_age_ns), human_duration(r.stall_after_ns),
                                         h.phase == "starting"                      ? ", while starting"
                                         : h.batch_interval_ns > kHeartbeatPeriodNs ? ", twice the batch interval"
                                                                                    : ", twice the heartbeat period"));
    }
    if (h.last_minute.lost() > 0) {
        r.losing = true;
        r.problems.push_back(fmt::format("losing events: {} lost in the last {} ({})", h.last_minute.lost(),
                                         human_duration(h.last_minute_span_ns), lost_by_reason(h.last_minute)));
    }
    if (!h.journal_writable) {
        r.losing = true;
        r.problems.push_back("the journal cannot be written: " + h.journal_error);
    }
}

}  // namespace

std::string human_duration(int64_t ns) {
    if (ns < 0) ns = 0;
    const int64_t s = ns / 1'000'000'000;
    if (s < 1) return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
    if (s < 60) return fmt::format("{:.1f} s", static_cast<double>(ns) / 1e9);
    if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
    if (s < 86400) return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
    return fmt::format("{} d {} h", s / 86400, s % 86400 / 3600);
}

StatusContext status_context_now() {
    StatusContext c;
    c.now_boot_ns = boot_now_ns();
    c.now_wall_ns = wall_now_ns();
    c.boot_id = read_boot_id(c.proc_root);
    return c;
}

Result<StatusReport> journal_status(const std::string& path, const StatusContext& context) {
    StatusReport r;
    r.journal = path;
    r.now_wall_ns = context.now_wall_ns;
    auto file = open_journal_file(path);
    if (!file) return Error{file.error().message};
    r.canonical = file->canonical;
    struct stat st {};
    if (fstat(file->fd.get(), &st) != 0) return Error{fmt::format("{}: cannot stat: {}", path, std::strerror(errno))};
    r.journal_bytes = st.st_size;
    r.wal_bytes = file_size(r.canonical + "-wal");
    if (auto ok = check_header(file->fd.get(), path, r.journal_bytes); !ok) return ok.error();

    auto held = journal_lock_held(file->fd.get());
    if (!held) return Error{fmt::format("{}: {}", path, held.error().message)};
    r.recording = *held;
    if (r.recording) r.lock_pid = flock_holder(file->dev, file->ino, context.proc_root);

    auto heartbeat = journal_heartbeat(r.canonical, file->dev, file->ino, context.boot_id);
    if (heartbeat && r.recording) {
        // Believed only as the holder's own: the last word of a recorder
        // that stopped, or the heartbeat of another PID, is not.
        if (r.lock_pid && *r.lock_pid != heartbeat->pid) {
            heartbeat = Error{fmt::format("its heartbeat is of PID {}, not of the lock's holder", heartbeat->pid)};
        } else if (heartbeat->phase == "stopped") {
            heartbeat = Error{fmt::format("its heartbeat is of PID {}, which stopped", heartbeat->pid)};
        }
    }
    if (heartbeat) {
        r.heartbeat = std::move(*heartbeat);
    } else {
        r.heartbeat_problem = heartbeat.error().message;
    }

    if (r.recording) {
        judge(r, context);
        r.exit_status = r.problems.empty() ? kStatusHealthy : kStatusUnhealthy;
        return r;
    }
    if (r.journal_bytes == 0) return Error{fmt::format("{}: empty file, not a lineage journal", path)};
    auto summary = summarize(r.canonical);
    if (!summary) {
        // A recorder may have taken the journal meanwhile.
        auto again = journal_lock_held(file->fd.get());
        if (again && *again) return journal_status(path, context);
        // Nobody records it, whatever else cannot be read (a WAL only its
        // owner may read, damage): that is still the answer.
        r.summary_problem = summary.error().message;
    } else {
        r.summary = std::move(*summary);
    }
    if (!r.heartbeat && r.summary && r.summary->last_run) {
        // A copy of the journal and its heartbeat has another inode, and may
        // be read after a reboot or on another machine: the heartbeat is
        // still its last recorder's when it names the journal's last run.
        const LastRun& run = *r.summary->last_run;
        auto other = read_heartbeat(heartbeat_path(r.canonical));
        if (other && other->run_id == run.run_id && other->pid == run.pid && other->boot_id == run.boot_id) {
            r.heartbeat = std::move(*other);
            r.heartbeat_problem.clear();
        }
    }
    r.exit_status = kStatusNotRecording;
    return r;
}

int liveness_exit_status(const StatusReport& report) {
    if (report.exit_status != kStatusUnhealthy) return report.exit_status;
    return report.stalled ? kStatusUnhealthy : kStatusHealthy;
}

}  // namespace lineage
