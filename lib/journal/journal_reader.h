#pragma once
// Reading journals as evidence: never a write to the file, its WAL, its
// directory or its modification time.

#include <memory>
#include <optional>
#include <string>

#include "model.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

// What a query needs from a journal. By default everything is loaded; with
// a PID, pod or descendants selector only the processes that can match are
// loaded, through the indexes, with their ancestors: a query on a year of
// journal reads a few thousand rows, not millions.
struct LoadPlan {
    bool everything = true;
    std::optional<uint32_t> pid;             // every incarnation of this PID
    std::optional<std::string> pod;          // name, namespace/name or UID
    std::optional<uint32_t> descendants_of;  // this PID and all below it
    // The window, wall-clock ns: a pod's processes that ended before it or
    // started after it are not loaded (unless they are ancestors).
    std::optional<int64_t> since_wall_ns, until_wall_ns;
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
    // version, damaged.
    static Result<JournalReader> open(const std::string& path);

    // Adds the journal's rows that the plan needs to the model (call
    // model.finish() after the last journal).
    Status load_into(Model& model, const LoadPlan& plan = LoadPlan{});

    const std::string& path() const { return path_; }
    bool read_from_copy() const { return !temp_dir_.empty(); }
    Database& db() { return db_; }

private:
    JournalReader() = default;
    Error damaged(const std::string& what) const;

    std::string path_;
    std::string temp_dir_;  // removed in the destructor
    Database db_;
};

}  // namespace lineage
