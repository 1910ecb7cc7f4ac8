#pragma once
// One recorder per journal. `record` holds flock(2) LOCK_EX on the journal
// file itself for its whole run; a second recorder finds it held and stops
// before it writes anything. The lock is on the inode, not the path: a
// symlink, a hard link, a `..` path or a bind mount naming the same file
// reaches the same lock. The kernel drops it with the last descriptor of its
// open file description, so a recorder killed with -9 leaves none behind.
//
// flock locks and the POSIX (fcntl) locks SQLite takes on the same file do
// not conflict on Linux, and closing a descriptor drops only the POSIX locks
// of the process, never a flock lock. The reverse matters: closing *any*
// descriptor of the journal drops SQLite's POSIX locks, so the lock's
// descriptor must stay open until the writer's connection is closed (the
// record session declares it first, so it is destroyed last). On NFS, where
// Linux emulates flock with POSIX locks, this does not hold; the journal is
// a node-local file.
//
// Readers (reconstruct, verify) never look at the lock. `status` only asks
// whether it is held: a shared flock tried without waiting and dropped at
// once, on a read-only descriptor (flock needs no write access). A recorder
// that starts in that instant finds the lock busy; it tries again for a
// moment before it believes another recorder holds it.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "fd.h"
#include "result.h"

namespace lineage {

// A journal file opened read-only, through whatever path names it.
struct JournalFile {
    UniqueFd fd;
    std::string canonical;  // realpath: symlinks and `..` resolved
    dev_t dev = 0;
    ino_t ino = 0;
};

// Opens `path` read-only, following symlinks, and only if it is a regular
// file: a FIFO or a device is never opened (the inode is checked through an
// O_PATH descriptor first). Errors name the path; a missing file is an Error
// with code ENOENT.
Result<JournalFile> open_journal_file(const std::string& path);

// Whether another open file description holds a flock lock on `fd`'s file:
// a shared lock tried without waiting, and dropped at once if it was got.
Result<bool> journal_lock_held(int fd);

// The PID that /proc/locks shows holding an exclusive flock lock on the file
// (dev, ino), when it shows one. The kernel shows PIDs of the reader's PID
// namespace; a holder outside it, or no /proc, gives nothing.
std::optional<pid_t> flock_holder(dev_t dev, ino_t ino, const std::string& proc_root = "/proc");

class JournalLock {
public:
    enum class State {
        taken,    // this process holds the journal
        held,     // another process does
        missing,  // no such file, and `create` was false
    };

    JournalLock(JournalLock&&) noexcept = default;
    JournalLock& operator=(JournalLock&&) noexcept = default;

    // Opens the journal and tries to take its lock, for a recorder. With
    // `create`, a missing journal is created empty (mode 0600, never through
    // a symlink) first. A lock found busy is tried again for up to
    // `retry_ms` (a status probe holds it for microseconds). Errors only for
    // files that cannot be opened or locked at all.
    static Result<JournalLock> take(const std::string& path, bool create, int retry_ms = 100);

    State state() const { return state_; }
    // Whether take() created the file.
    bool created() const { return created_; }
    // The file's real path, dev and inode (not for `missing`).
    const std::string& canonical() const { return file_.canonical; }
    dev_t dev() const { return file_.dev; }
    ino_t ino() const { return file_.ino; }
    int fd() const { return file_.fd.get(); }

private:
    JournalLock() = default;

    JournalFile file_;
    State state_ = State::missing;
    bool created_ = false;
};

}  // namespace lineage
