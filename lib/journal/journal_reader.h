#pragma once
// Reading journals as evidence: never a write to the file, its WAL, its
// directory or its modification time.

#include <memory>
#include <optional>
#include <string>

#include "load_plan.h"
#include "model.h"
#include "result.h"
#include "sqlite.h"

namespace lineage {

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
    // Rows the loads read so far, all tables: what a query cost (the tests
    // bound it; bench/run prints it).
    size_t rows_read() const { return rows_read_; }
    bool read_from_copy() const { return !temp_dir_.empty(); }
    Database& db() { return db_; }

private:
    JournalReader() = default;
    Error damaged(const std::string& what) const;

    std::string path_;
    std::string temp_dir_;  // removed in the destructor
    Database db_;
    size_t rows_read_ = 0;

    friend class JournalLoader;
};

}  // namespace lineage
