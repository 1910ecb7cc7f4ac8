#pragma once
// The journal writer: one SQLite file, schema in schema/journal.sql.
// JournalWriter is the only code that writes it; it only ever inserts
// (and, for retention, deletes the oldest batches).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clock_map.h"
#include "event.h"
#include "hashchain.h"
#include "journal_format.h"
#include "pod.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

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

// The result of a prune.
struct PruneResult {
    int64_t through_batch = 0;  // batches 1 .. through_batch are gone now
    int64_t rows = 0;           // event rows deleted
    int64_t batch_id = 0;       // batch the prune row was committed in
    int64_t carried = 0;        // carried rows written for processes still running
};

// The processes still running, as the recorder knows them (seen to start,
// not seen to exit): a prune writes their identity again (table carried)
// before it deletes the rows that hold it, so that trees after the prune
// still reach them. Identity is compared at /proc's clock-tick precision,
// as everywhere: a process of the snapshot has only its tick.
struct LiveProcesses {
    int64_t ns_per_tick = 10'000'000;
    std::function<bool(uint32_t tgid, int64_t start_ns)> contains;
};

// The last committed batch: what a recorder publishes as an anchor.
struct ChainHead {
    int64_t batch_id = 0;  // 0: nothing committed yet
    Hash hash{};           // 32 zero bytes before the first batch
};

// Error::code of JournalWriter::open's refusal of a journal whose schema is
// not lineage's: `record` then starts a journal beside it. Not an SQLite
// result code, primary or extended.
inline constexpr int kSchemaNotLineages = 0x5C4E;

// Every row the writer inserts belongs to a batch (one transaction), and
// each batch is hashed into the chain as its rows go in (schema/hash-chain.md):
// nothing is read back. A run's row and first clock sample open its first
// batch; its stop row closes its last one.
class JournalWriter {
public:
    // Creates the journal (mode 0600: argv can hold secrets) or opens an
    // existing one after checking it. A foreign file is refused untouched.
    // So is a lineage journal whose schema is not lineage's for its version
    // (an object added, changed or missing: check_journal_schema), checked
    // before the first write; the Error's code is then kSchemaNotLineages
    // and its message names the object, as reconstruct and verify do.
    // Views and triggers of the file never run on the writer's connection.
    static Result<JournalWriter> open(const std::string& path);

    Result<int64_t> begin_run(const RunInfo& info);
    // A fork, exec, exit or connect row. pod_uid is the exec's pod, for the
    // pod_uid column: PodUidCache::uid_for() of its cgroup path, or of its
    // cgroup v1 path when v2's names no pod; "" outside pods. The caller
    // works it out, since the recorder needs it too (to name the pod), and
    // one parse of the path is enough. Events other than exec have no such
    // column and pass "". Cgroup and move records are not rows of their
    // own (the recorder writes cgroups and memberships rows for them): an
    // Error.
    Status add(const Event& event, std::string_view pod_uid);
    Status add_snapshot(const SnapshotRow& row, std::string_view pod_uid);
    Status add_loss(int64_t from_ns, int64_t to_ns, int64_t count, const std::string& reason);
    Status add_pod(const std::string& pod_uid, const std::string& name, const std::string& ns, PodNameSource source);
    // Schema version 3: a cgroup (once per run, before or with the first
    // membership row naming it), and a process in a cgroup.
    Status add_cgroup(const CgroupRow& row);
    // What a file on the node said about a container (schema version 7).
    Status add_container(const ContainerRow& row);
    // A file_hashes row (schema version 8): an executed file's SHA-256, or
    // why there is none.
    Status add_file_hash(const FileHashRow& row);
    // An exec_files row alone (schema version 8), for import: the recorder's
    // come with their exec row through add(ExecEvent).
    Status add_exec_file(uint64_t time_ns, ProcRef proc, const ExecFile& file);
    Status add_membership(const MembershipRow& row);
    // Schema version 4: a process's identity carried over a prune
    // (prune_through writes them; import copies them).
    Status add_carried(const CarriedRow& row);
    // Joins the open batch, or commits a batch of its own at once: a clock
    // sample never waits in an open transaction for events that may not come.
    Status add_clock_sample(int64_t boot_ns, int64_t wall_ns);
    // Ends the current batch: one transaction, one batches row, one link.
    // On failure the batch is given up (see insert_row), as after any
    // failed add.
    Status commit(int64_t now_ns);
    // Gives the open batch up after a failed write: rolls the transaction
    // back, so that nothing of it is in the journal, and the chain goes on
    // from the last committed batch.
    void abort_batch();
    bool batch_open() const { return batch_id_ != 0; }

    // Retention. Bytes of the database's pages in use (free pages left by a
    // prune are reused before the file grows).
    Result<int64_t> used_bytes();
    // Rows of the tables a prune deletes from, from their rowid ranges (they
    // are contiguous: rows are appended, and only a prefix is ever deleted),
    // so O(log n), not a count.
    Result<int64_t> prunable_rows();
    // Where the next prune should end: the oldest batches holding about
    // `max_rows` event rows (at least one batch), stopping before the first
    // batch committed at or after `cutoff_wall_ns` when given (wall-clock
    // time by ClockMap's rule, as reconstruct and verify tell it), and never
    // the last committed batch. 0 when there is nothing to prune.
    Result<int64_t> prune_point(int64_t max_rows, std::optional<int64_t> cutoff_wall_ns = std::nullopt);
    // Deletes the batches up to through_batch and their event rows,
    // and commits a prune row as a batch of its own. No batch may be open.
    // Each process of `live` whose newest identity row (exec, carried,
    // snapshot, or a fork for one that never exec'd) is among the deleted
    // rows gets a carried row in the prune's batch first.
    Result<PruneResult> prune_through(int64_t through_batch, const std::string& reason, int64_t now_ns,
                                      const LiveProcesses& live = {});

    // Schema version 5 (table unexited): the writer restates the processes
    // its boot's rows name and no exit row ends once the rows since the
    // last set reach max(`rows`, 4 x the set's size), and at the end of a
    // run; a set larger than `max_processes` is given up for the rest of
    // the run (readers then read the rows after the last set, slower, and
    // right all the same). Tests make them small.
    void set_unexited_limits(size_t rows, size_t max_processes) {
        unexited_every_rows_ = rows;
        unexited_max_ = max_processes;
    }
    // The set's size now (processes), and whether this run still restates it.
    size_t unexited_size() const { return unexited_.size(); }
    bool restating_unexited() const { return unexited_on_; }

    // For tests: the connection (e.g. to set max_page_count, a disk that is
    // full at a chosen size).
    Database& database_for_tests() { return db_; }
    Status end_run(int64_t stopped_ns, int64_t stopped_wall_ns, const std::string& reason, int64_t events,
                   int64_t lost);

    // Event rows in the open batch (what batches.row_count will say).
    size_t pending_rows() const { return batch_rows_ + waiting_rows_; }
    const ChainHead& head() const { return head_; }
    int64_t run_id() const { return run_id_; }
    const std::string& path() const { return path_; }

private:
    // Encodes one row (every column in schema order, `batch` aside) for the
    // chain. insert_row() binds the row's values from this encoding, so what
    // is stored and what is hashed cannot drift apart.
    class Row {
    public:
        Row(RowEncoder& enc, ChainTable table) : enc_(enc) { enc_.begin(table); }
        Row& integer(int64_t v) {
            enc_.integer(v);
            return *this;
        }
        Row& text(std::string_view v) {
            enc_.text(v);
            return *this;
        }
        Row& blob(std::string_view v) {
            enc_.blob(v);
            return *this;
        }

    private:
        RowEncoder& enc_;
    };

    static constexpr const char* kNoSha256 = "SHA-256 failed in OpenSSL (missing, or a digest call failed)";

    JournalWriter() = default;
    Status prepare_statements();
    Status ensure_batch();
    // Steps an INSERT whose parameters are bound; `bind_rc` is what binding
    // them returned: a refused bind fails the insert like a failed step.
    Status step_insert(Stmt& stmt, const char* table, int bind_rc = SQLITE_OK);
    // Inserts the row just encoded in enc_, or, for a table inserted in
    // groups, queues it until kRowsPerInsert rows wait (or the batch
    // commits). A row joins the batch's hash once it is stored. A batch is
    // stored whole or not at all: when an insert or the commit fails, the
    // writer gives the batch up itself (abort_batch). A failed multi-row
    // INSERT may have stored some of its rows, and OR ROLLBACK may have
    // ended the transaction already; going on with the batch would commit
    // rows the hash does not cover, or a batch with rows missing.
    Status insert_row();
    Status insert_waiting(ChainTable t);
    Status insert_all_waiting();
    void row_stored(ChainTable t, std::string_view encoded);
    // An Error for a failed SQLite call, with its result code.
    Error db_error(const std::string& what, int rc) const;
    Status upgrade_schema(int64_t from_version);
    // The dns_names row of a dns row (schema version 11), once per process
    // and name in the open batch.
    Status add_dns_name(const DnsEvent& e);
    // Brings clock_ up to date with the committed runs and clock_samples
    // rows (journal_prune.cpp).
    Status update_clock();
    // The carried rows of a prune through `through_batch` (journal_prune.cpp).
    Result<int64_t> carry_forward(int64_t through_batch, const LiveProcesses& live);

    // Table unexited (journal_unexited.cpp). A process by tgid and start
    // clock tick: a snapshot row has only the tick, and an exit row ends the
    // process that any row of the same tick names, as readers match them.
    struct TickKey {
        uint32_t tgid = 0;
        int64_t tick = 0;
        bool operator==(const TickKey&) const = default;
    };
    struct TickKeyHash {
        // Unsigned: an imported journal's start times can be anything.
        size_t operator()(const TickKey& k) const noexcept {
            return std::hash<uint64_t>()(static_cast<uint64_t>(k.tick) * 0x9E3779B97F4A7C15ULL ^ k.tgid);
        }
    };
    TickKey tick_key(uint32_t tgid, int64_t start_ns) const;
    // A row of the open batch names a process, or ends it (exit).
    void note_named(uint32_t tgid, int64_t start_ns);
    void note_ended(uint32_t tgid, int64_t start_ns);
    // At a run's start: the set of its boot, as this writer has it, else
    // from the journal's last set when that is of the same boot (the rows
    // after it read once), else empty from this run's first batch.
    Status start_unexited(const std::string& boot_id, int64_t clk_tck);
    // Before a commit: the set, with the open batch's rows, into the batch
    // when it is due (or `force`d and anything changed).
    Status restate_unexited(bool force);
    // After a commit: the batch's rows into the set.
    void apply_unexited();
    void give_up_unexited();

    std::unordered_map<TickKey, int64_t, TickKeyHash> unexited_;  // -> start_ns as first named
    std::vector<std::pair<TickKey, int64_t>> batch_named_;        // the open batch's, in order
    std::vector<TickKey> batch_ended_;
    std::string unexited_boot_;
    int64_t unexited_from_batch_ = 0;
    int64_t ns_per_tick_ = 10'000'000;
    size_t unexited_rows_since_ = 0;  // rows named or ended since the last set
    bool unexited_on_ = false;        // restating in this run
    bool unexited_restated_ = false;  // the open batch holds a set
    // A set costs a reader at most about this many rows read after it (the
    // rows of a boot since its last set), and the writer one row per process
    // in it every max(rows, 4 x size) rows: at most a quarter more rows, of
    // 3 small columns (bench/results: section 6's journal size).
    size_t unexited_every_rows_ = 4096;
    // About 40 bytes each: at most 10 MiB of the recorder's memory.
    size_t unexited_max_ = 262'144;

    std::unordered_set<std::string> batch_dns_names_;  // the open batch's dns_names rows: tgid/start_ns/key

    std::string path_;
    Database db_;
    // The tables that take many rows per batch are inserted into in groups
    // of kRowsPerInsert rows, one multi-row INSERT each: SQLite opens the
    // table's and its indexes' cursors once per statement, not once per
    // row, which costs the recorder less CPU per event (bench/results/
    // latest.txt, section 5; bench/README.md). Until its group is full (or
    // the batch commits), a row waits, encoded, in `rows`.
    static constexpr size_t kRowsPerInsert = 16;
    static constexpr bool inserted_in_groups(ChainTable t) {
        return t == ChainTable::snapshot || t == ChainTable::fork || t == ChainTable::exec || t == ChainTable::exit ||
               t == ChainTable::connect || t == ChainTable::memberships || t == ChainTable::carried ||
               t == ChainTable::unexited || t == ChainTable::exec_files;
    }
    struct TableInserts {
        Stmt one;                  // INSERT of one row
        Stmt many;                 // INSERT of kRowsPerInsert rows (tables inserted in groups)
        int params = 0;            // parameters per row: batch and the columns
        std::string rows;          // encoded rows waiting, back to back
        std::vector<size_t> ends;  // where each waiting row ends in `rows`
    };
    Stmt ins_batch_;
    std::array<TableInserts, kChainTableCount> tables_;
    size_t waiting_rows_ = 0;  // rows waiting in tables_ that batches.row_count counts
    int64_t run_id_ = 0;
    int64_t batch_id_ = 0;  // batch being filled, 0 when none is open
    int64_t next_batch_id_ = 1;
    size_t batch_rows_ = 0;
    RowEncoder enc_;
    BatchHasher hasher_;
    std::string marks_;
    ChainHead head_;  // the last committed batch; the next one chains to it

    // Retention's boot-to-wall clock: ClockMap over every run start and
    // clock sample, each row read once (update_clock).
    ClockMap clock_;
    std::map<int64_t, std::string> run_boots_;  // run_id -> boot_id
    int64_t clock_runs_read_ = 0;               // rowid of the last runs row in clock_
    int64_t clock_samples_read_ = 0;            // rowid of the last clock_samples row in clock_
};

}  // namespace lineage
