#pragma once
// `lineage status`: is this journal being recorded right now, and is its
// recorder keeping up? Told from the journal's lock (journal_lock.h), the
// recorder's heartbeat beside it (heartbeat.h) and, when nobody records,
// the journal itself. Needs nothing but read access to the journal: no
// root, and never a write or a wait.
//
// While a recorder holds the journal, the journal is not opened with SQLite
// at all (only its header is read): a liveness probe every few seconds must
// cost nothing, whatever the journal's size.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "heartbeat.h"
#include "result.h"

namespace lineage {

// Exit statuses of `lineage status`, for scripts and liveness probes.
inline constexpr int kStatusHealthy = 0;    // recording, and keeping up
inline constexpr int kStatusUnhealthy = 1;  // recording, but stalled or losing events
inline constexpr int kStatusError = 2;      // the journal cannot be read, or is none
inline constexpr int kStatusNotRecording = 3;

// A recorder still starting (probes loading, /proc being read) is not
// stalled until its heartbeat is this old.
inline constexpr int64_t kStartingGraceNs = 30'000'000'000;

// The last run a journal holds, as the journal tells it.
struct LastRun {
    int64_t run_id = 0;
    int64_t pid = 0;
    std::string node, version, boot_id;
    std::string filters_json;
    int64_t started_wall_ns = 0;
    bool stopped = false;  // closed cleanly (a run_stops row)
    std::string stop_reason;
    int64_t stopped_wall_ns = 0;
    int64_t events = 0, lost = 0;           // as its stop row says
    std::map<std::string, int64_t> losses;  // loss rows of the run, by reason
};

// What the journal itself says, read only when nobody records to it.
struct JournalAtRest {
    std::optional<LastRun> last_run;
    int64_t last_batch = 0;  // 0: no batch
    int64_t last_commit_wall_ns = 0;
    std::string head_hash;  // of last_batch, 64 hex digits: an anchor of the journal as it is
};

struct StatusReport {
    std::string journal;    // as given
    std::string canonical;  // its real path
    int64_t now_wall_ns = 0;

    bool recording = false;         // a process holds the journal's lock
    std::optional<pid_t> lock_pid;  // that process, when /proc/locks shows it
    // The recorder's heartbeat, when one belongs to this journal (and, while
    // it is recorded, to its holder); else why not.
    std::optional<Heartbeat> heartbeat;
    std::string heartbeat_problem;
    int64_t heartbeat_age_ns = 0;    // now - written (recording)
    int64_t stall_after_ns = 0;      // when a heartbeat that old means stalled
    int64_t last_commit_age_ns = 0;  // 0 when no commit in this run

    int64_t journal_bytes = 0;
    int64_t wal_bytes = 0;

    // Only when nobody records: what the journal says, or why it could not
    // be read (a WAL only its owner may read, damage).
    std::optional<JournalAtRest> summary;
    std::string summary_problem;

    // Why a recording is not healthy, one line each ("stalled: ...",
    // "losing events: ...").
    std::vector<std::string> problems;
    bool stalled = false;
    bool losing = false;
    int exit_status = kStatusError;
};

// Where status looks, and when it asks (tests set these).
struct StatusContext {
    int64_t now_boot_ns = 0;
    int64_t now_wall_ns = 0;
    std::string boot_id;
    std::string proc_root = "/proc";
};
StatusContext status_context_now();

// 0.05 s, 3.2 s, 2 min 5 s, 3 h 2 min, 2 d 4 h.
std::string human_duration(int64_t ns);

// The status of the journal at `path`. An Error (exit status 2, one line
// naming the file) for a journal that cannot be opened or read, or a file
// that is not a journal.
Result<StatusReport> journal_status(const std::string& path, const StatusContext& context);

// The exit status for a liveness probe (`status --liveness`): 1 only for a
// stalled recorder, the one thing a restart fixes. A recorder that loses
// events keeps them coming in as fast as it can; one that cannot write its
// journal, or whose heartbeat cannot be believed, would not do better
// restarted, and each restart loses the events of its start. 0 for those;
// 3 not recording, as journal_status() says.
int liveness_exit_status(const StatusReport& report);

}  // namespace lineage
