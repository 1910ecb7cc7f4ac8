#pragma once
// The recorder's heartbeat: a small file beside the journal
// (JOURNAL.heartbeat, beside the journal's real path), rewritten at every
// turn of the record loop (at most twice per batch interval) and at start
// and stop. `lineage status` reads it to tell a live, keeping-up recorder
// from a wedged one without touching the journal: the batches of an idle
// recorder are empty and never committed, its heartbeat still moves.
//
// It is a file, not a table: a row per turn would grow the journal and its
// hash chain by a row every 100 ms, and status would need SQLite (and the
// WAL) to read it. Only the holder of the journal's lock writes it
// (journal_lock.h). It has the journal's mode and owner, so whoever can read
// the journal can read its heartbeat. It names the journal's inode, so a
// heartbeat left beside another file of that name is not believed.
//
// The file: one line of JSON, a line "fnv1a64 HEX" (FNV-1a of the JSON
// line, newline included), and spaces to a whole number of 4 KiB, ending in
// a newline. The recorder creates it once per run (a new file renamed into
// place) and then overwrites it in place with one pwrite(2): creating and
// renaming a file at every turn cost several times as much CPU (bench/
// README.md, section 11; bench/results/heartbeat.txt). A reader may see a
// write half done; the checksum tells, and it reads again.
//
// Readers treat it as untrusted input: anything missing or of the wrong type
// is an error, never a guess.

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "fd.h"
#include "result.h"

namespace lineage {

// Events of one run by outcome: stored, or lost by reason (the loss rows'
// reasons: ringbuf_full, journal_write, decode, map_full).
struct EventCounts {
    uint64_t stored = 0;
    uint64_t ringbuf_full = 0;
    uint64_t journal_write = 0;
    uint64_t decode = 0;
    uint64_t map_full = 0;

    uint64_t lost() const { return ringbuf_full + journal_write + decode + map_full; }
    EventCounts minus(const EventCounts& earlier) const;
    bool operator==(const EventCounts&) const = default;
};

// The counts of the last minute, from cumulative counts sampled as the run
// goes: at most one sample a second is kept, and the oldest kept is the
// last one at least a minute old, so the window is 60 s (61 s at most) once
// the run is that old, and the whole run before.
class MinuteWindow {
public:
    static constexpr int64_t kWindowNs = 60'000'000'000;

    void add(int64_t now_ns, const EventCounts& totals);
    // totals minus the oldest sample kept; *span_ns is the time it covers
    // (0 before the first sample).
    EventCounts last_minute(int64_t now_ns, const EventCounts& totals, int64_t* span_ns) const;

private:
    struct Sample {
        int64_t ns;
        EventCounts totals;
    };
    std::deque<Sample> samples_;
};

// How often a recording recorder writes its heartbeat: once a second, or
// twice per batch interval when that is longer. Not once per batch, as
// before: at the default 100 ms interval, encoding and writing the
// heartbeat ten times a second was a tenth of the recorder's CPU.
inline constexpr int64_t kHeartbeatPeriodNs = 1'000'000'000;
inline int64_t heartbeat_period_ns(int64_t batch_interval_ns) {
    return std::max(kHeartbeatPeriodNs, batch_interval_ns / 2);
}
// A heartbeat older than this is a recorder that has neither committed nor
// checked for anything to commit since: twice the longer of the heartbeat
// period and the batch interval (the loop turns once per interval).
inline int64_t heartbeat_stall_after_ns(int64_t batch_interval_ns) {
    return 2 * std::max(kHeartbeatPeriodNs, batch_interval_ns);
}

struct Heartbeat {
    static constexpr int kFormat = 1;

    // "starting" (lock taken; probes, snapshot), "recording", "stopped"
    // (closed its run cleanly; written last).
    std::string phase;
    int64_t pid = 0;
    std::string boot_id;
    uint64_t journal_dev = 0, journal_ino = 0;
    std::string version;  // lineage's
    std::string node;     // host name
    int64_t run_id = 0;   // 0 while starting
    int64_t started_boot_ns = 0, started_wall_ns = 0;
    int64_t written_boot_ns = 0, written_wall_ns = 0;

    // Options.
    int64_t batch_interval_ns = 0;
    std::string filters_json = "{}";  // as in the runs row
    int64_t max_size_bytes = 0;       // 0: no --max-size
    int64_t retain_ns = 0;            // 0: no --retain
    int64_t argv_cap = 0;
    int64_t ring_bytes = 0;
    int64_t anchor_interval_ns = 0;

    // The last committed batch (0: none in this run yet).
    int64_t last_batch = 0;
    int64_t last_commit_boot_ns = 0, last_commit_wall_ns = 0;

    EventCounts run;                  // this run so far
    EventCounts last_minute;          // the last minute of it
    int64_t last_minute_span_ns = 0;  // how long that minute really is

    bool journal_writable = true;  // false while commits fail (disk full)
    std::string journal_error;     // why, while they do

    // The last anchor published (0: none yet).
    int64_t anchor_batch = 0;
    int64_t anchor_wall_ns = 0;
    std::string anchor_hash;  // 64 hex digits

    std::string stop_reason;  // phase "stopped": signal, duration, error
};

// JOURNAL.heartbeat, for the journal's real path.
std::string heartbeat_path(const std::string& canonical_journal);

// The JSON line, newline included.
std::string heartbeat_json(const Heartbeat& heartbeat);
// An Error names what is wrong (not JSON, a field missing or mistyped, an
// unknown format).
Result<Heartbeat> parse_heartbeat(std::string_view json);
// The file's text (JSON line and checksum line, without the padding), and
// back: a checksum that does not match, or anything but spaces and newlines
// after it, is an Error.
std::string encode_heartbeat_file(const Heartbeat& heartbeat);
Result<Heartbeat> decode_heartbeat_file(std::string_view text);
// Reads and decodes the file; an Error names it. A heartbeat is small: a
// larger file is refused unread. A file that does not decode (a write under
// way) is read again, a few times, a millisecond apart.
Result<Heartbeat> read_heartbeat(const std::string& path);

// The heartbeat beside a journal, when it is that journal's: written for
// the file (dev, ino) on this boot. An Error says why not; its code is
// ENOENT when there is no heartbeat at all.
Result<Heartbeat> journal_heartbeat(const std::string& canonical_journal, uint64_t dev, uint64_t ino,
                                    const std::string& boot_id);

// Writes heartbeats for a recorder that holds the journal's lock.
class HeartbeatFile {
public:
    // `journal_fd` is the lock's descriptor: the heartbeat follows the
    // journal's mode and owner, looked at on each write.
    HeartbeatFile(std::string path, int journal_fd) : path_(std::move(path)), journal_fd_(journal_fd) {}

    // The first write (and the first after a failed one) makes a new file:
    // PATH.tmp, made with O_EXCL and O_NOFOLLOW (a link planted in a shared
    // directory is never followed), renamed over PATH. Then each write
    // overwrites that file in place.
    Status write(const Heartbeat& heartbeat);
    const std::string& path() const { return path_; }

private:
    Status create();

    std::string path_;
    int journal_fd_ = -1;
    UniqueFd fd_;
    size_t size_ = 0;  // the file's size: a whole number of 4 KiB
    mode_t mode_ = 0;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

}  // namespace lineage
