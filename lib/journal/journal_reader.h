#pragma once
// Reading journals as evidence: never a write to the file, its WAL, its
// directory or its modification time.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "journal_format.h"
#include "load_plan.h"
#include "model.h"
#include "precedents.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

// SQLite's heap budget in a process that reads journals (limit_sqlite_heap):
// twice the largest value a journal may hold (ReadLimits::kLength), for
// that value, a copy of it, the schema and the page caches.
inline constexpr int64_t kReaderHeapBytes = int64_t{ReadLimits::kLength} * 2;

struct ReadOptions {
    // Read a journal whose schema is not lineage's (--force-schema): with a
    // warning, and still through the tables only.
    bool force_schema = false;
    // The time budget of every call into SQLite (--timeout); 0: none.
    int64_t timeout_ns = kDefaultReadTimeoutNs;
};

// A journal opened for reading. When the journal has a live -wal file
// (copied from, or still being written by, a recorder), the pair is copied
// into a private temporary directory and the copy is read; otherwise the
// file itself is opened read-only and immutable.
class JournalReader {
public:
    ~JournalReader();
    JournalReader(JournalReader&&) noexcept;
    JournalReader& operator=(JournalReader&&) = delete;
    JournalReader(const JournalReader&) = delete;

    // Errors are one line naming the file: missing, not a regular file,
    // unreadable, empty, not SQLite, not a lineage journal, unknown schema
    // version, damaged, or (without options.force_schema) a schema that is
    // not lineage's, naming the object and pointing to `lineage verify`.
    // Nothing of the file but its header and sqlite_schema is read before
    // the schema is known to be lineage's. The first open of a process
    // limits SQLite's heap to kReaderHeapBytes.
    static Result<JournalReader> open(const std::string& path, const ReadOptions& options = {});

    // The journal's schema against lineage's (never an Error: open fails).
    const SchemaCheck& schema() const { return schema_; }
    // What the output must say about this journal: its schema, when it was
    // read anyway. Raw bytes: renderers escape them.
    std::vector<std::string> warnings() const;

    // One more connection to what this reader reads (the file in place, or
    // its private copy), opened and fenced the same way: verify's threads.
    Result<Database> open_another() const;

    // Adds the journal's rows that the plan needs to the model (call
    // model.finish() after the last journal).
    Status load_into(Model& model, const LoadPlan& plan = LoadPlan{});
    // The same through `db`, a connection of open_another(): loads on
    // several threads at once, each with a connection and a model of its
    // own (`lineage pods`' slices).
    Status load_into(Model& model, const LoadPlan& plan, Database& db);

    // `reconstruct --new`: the earliest rows this journal holds of the
    // query's binaries and destinations, merged into `out` (lib/model/
    // precedents.h). Through the indexes, bounded by the answer's keys and
    // times, never a read of a whole table. `model` is the one the journals
    // were loaded into: its clock maps each boot's rows to wall-clock time.
    Status find_precedents(const Model& model, const PrecedentQuery& query, Precedents& out);

    const std::string& path() const { return path_; }
    // Rows the loads read so far, all tables: what a query cost (the tests
    // bound it; bench/run prints it).
    size_t rows_read() const { return rows_read_.load(std::memory_order_relaxed); }
    bool read_from_copy() const { return !temp_dir_.empty(); }
    Database& db() { return db_; }

private:
    JournalReader() = default;
    Error damaged(const std::string& what) const;

    std::string path_;
    std::string temp_dir_;  // removed in the destructor
    std::string uri_;       // what open_another() opens
    ReadOptions options_;
    SchemaCheck schema_;
    Database db_;
    std::atomic<size_t> rows_read_{0};  // loads on several threads add to it

    friend class JournalLoader;
};

}  // namespace lineage
