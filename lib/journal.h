#pragma once
// The journal: one SQLite file, schema in schema/journal.sql.
// JournalWriter is the only code that writes it; it only ever inserts.

#include <cstdint>
#include <string>
#include <vector>

#include "event.h"
#include "pod.h"
#include "hashchain.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

inline constexpr int64_t kJournalSchemaVersion = 1;
inline constexpr int64_t kJournalApplicationId = 0x4C494E45;  // "LINE"

// What a run of `lineage record` says about itself (table runs).
struct RunInfo {
    std::string boot_id;
    std::string node;
    int64_t started_ns = 0;
    int64_t started_wall_ns = 0;
    std::string version;
    std::string kernel;
    std::string hooks;
    std::string filters_json = "{}";
    int64_t argv_cap = 0;
    int64_t clk_tck = 100;
    int64_t recorder_pid = 0;
};

// A process found in /proc when the run started (table snapshot).
struct SnapshotRow {
    int64_t time_ns = 0;
    uint32_t tgid = 0;
    uint32_t nspid = 0;
    uint32_t ppid = 0;
    uint64_t start_ns = 0;
    uint32_t uid = 0, gid = 0, euid = 0;
    std::string comm, exe, argv, cgroup_path, nodename;
};

// Checks that an open database is a lineage journal of a version this build
// reads. `path` only names the file in the message.
Status check_journal(Database& db, const std::string& path);

// Checks the first bytes of a file without SQLite: a non-SQLite file gets a
// precise message and is never handed to SQLite at all. An empty file is OK.
Status check_sqlite_header(const std::string& path);

// The last committed batch: what a recorder publishes as an anchor.
struct ChainHead {
    int64_t batch_id = 0;  // 0: nothing committed yet
    Hash hash{};           // 32 zero bytes before the first batch
};

// Every row the writer inserts belongs to a batch (one transaction), and
// each batch is hashed into the chain as its rows go in (schema/hash-chain.md):
// nothing is read back. A run's row and first clock sample open its first
// batch; its stop row closes its last one.
class JournalWriter {
public:
    // Creates the journal (mode 0600: argv can hold secrets) or opens an
    // existing one after checking it. A foreign file is refused untouched.
    static Result<JournalWriter> open(const std::string& path);

    Result<int64_t> begin_run(const RunInfo& info);
    Status add(const Event& event);
    Status add_snapshot(const SnapshotRow& row);
    Status add_loss(int64_t from_ns, int64_t to_ns, int64_t count, const std::string& reason);
    Status add_pod(const std::string& pod_uid, const std::string& name, const std::string& ns,
                   const std::string& source);
    // Joins the open batch, or commits a batch of its own at once: a clock
    // sample never waits in an open transaction for events that may not come.
    Status add_clock_sample(int64_t boot_ns, int64_t wall_ns);
    // Ends the current batch: one transaction, one batches row, one link.
    Status commit(int64_t now_ns);
    Status end_run(int64_t stopped_ns, int64_t stopped_wall_ns, const std::string& reason, int64_t events,
                   int64_t lost);

    // Event rows in the open batch (what batches.row_count will say).
    size_t pending_rows() const { return batch_rows_; }
    const ChainHead& head() const { return head_; }
    int64_t run_id() const { return run_id_; }
    const std::string& path() const { return path_; }

private:
    JournalWriter() = default;
    Status prepare_statements();
    Status ensure_batch();
    Status step_insert(Stmt& stmt, const char* table);
    // step_insert, then the row (encoded in enc_ while it was bound) joins
    // the batch's hash.
    Status insert_row(Stmt& stmt, const char* table);

    std::string path_;
    Database db_;
    Stmt ins_batch_, ins_fork_, ins_exec_, ins_exit_, ins_connect_, ins_snapshot_, ins_loss_, ins_pod_, ins_clock_,
        ins_run_, ins_run_stop_;
    int64_t run_id_ = 0;
    int64_t batch_id_ = 0;  // batch being filled, 0 when none is open
    int64_t next_batch_id_ = 1;
    size_t batch_rows_ = 0;
    PodUidCache pod_uids_;  // the pod_uid column, derived from cgroup_path
    RowEncoder enc_;
    BatchHasher hasher_;
    std::string marks_;
    ChainHead head_;  // the last committed batch; the next one chains to it
};

}  // namespace lineage
