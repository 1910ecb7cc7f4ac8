#pragma once
// export --follow's private copy of a live journal, kept between looks.
//
// A journal with a -wal is read through a private copy of the pair (the
// evidence rules: nothing of the recorder's files is written, not even the
// -shm). Copying the whole file at every look costs the size of the journal
// each time; this copy is brought up to date instead. Within one WAL
// generation (the WAL header's salts and checkpoint count unchanged) frames
// are only appended, and the main file changes only by checkpoints of those
// frames, so copying the WAL and applying it to the copy brings the copy to
// what the journal has committed. The main file is copied again only when
// the WAL started a new generation and the main file changed: once per
// checkpoint of the recorder (journal_writer.cpp: every 32 MiB of WAL).

#include <cstdint>
#include <string>

#include "result.h"

namespace lineage {

class LiveCopy {
public:
    ~LiveCopy();
    LiveCopy(LiveCopy&&) noexcept;
    LiveCopy& operator=(LiveCopy&&) = delete;
    LiveCopy(const LiveCopy&) = delete;

    // A temporary directory for the copy (TMPDIR, else /tmp); nothing copied yet.
    static Result<LiveCopy> create(const std::string& path);

    // Brings the copy up to what the journal has committed now. False when
    // the journal's files are as they were at the last sync (nothing new to
    // read). The copy then has no -wal: it opens read-only and immutable.
    Result<bool> sync();

    const std::string& copy_path() const { return copy_; }
    // Times the main file was copied whole (the first sync included).
    int64_t full_copies() const { return full_copies_; }

private:
    LiveCopy() = default;
    struct Stamp {
        bool exists = false;
        int64_t size = 0, mtime_ns = 0, ino = 0;
        bool operator==(const Stamp&) const = default;
    };
    static Stamp stamp(const std::string& path);
    // The WAL header's checkpoint count and salts (bytes 12 to 23), "" when
    // there is no WAL header.
    static std::string wal_generation(const std::string& wal);
    Result<bool> sync_once();

    std::string path_, dir_, copy_;
    bool have_copy_ = false;
    Stamp last_db_, last_wal_;
    int64_t last_taken_ns_ = 0;  // wall clock when last_db_ and last_wal_ were taken
    std::string last_generation_;
    int64_t full_copies_ = 0;
    bool unchanged_ = false;  // the last sync found the files as they were
};

}  // namespace lineage
