#include "journal_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace lineage {

namespace {

// An Error whose code is errno, for the callers below that tell a missing
// file from the rest.
Error os_error(const std::string& path, const char* what, int err) {
    return Error{fmt::format("{}: {}: {}", path, what, std::strerror(err)), err};
}

std::string real_path(const std::string& path) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) return path;
    std::string out(real);
    std::free(real);
    return out;
}

}  // namespace

Result<JournalFile> open_journal_file(const std::string& path) {
    // O_PATH opens nothing: a FIFO does not block and a device is never
    // opened (opening some has effects) before we know what the path is.
    const UniqueFd at(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!at) return os_error(path, "cannot open", errno);
    struct stat st {};
    if (fstat(at.get(), &st) != 0) return os_error(path, "cannot stat", errno);
    if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory, not a journal file", path)};
    if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path)};
    // Reopened through /proc, the same inode for certain; the open checks
    // read permission as an open of the path would.
    JournalFile file;
    file.fd.reset(::open(fmt::format("/proc/self/fd/{}", at.get()).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!file.fd && errno == ENOENT) {
        // No /proc: the path again, checked against the inode below.
        file.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    }
    if (!file.fd) return os_error(path, "cannot open", errno);
    struct stat opened {};
    if (fstat(file.fd.get(), &opened) != 0) return os_error(path, "cannot stat", errno);
    if (opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
        return Error{fmt::format("{}: the file changed while it was opened; try again", path)};
    }
    file.dev = st.st_dev;
    file.ino = st.st_ino;
    file.canonical = real_path(path);
    return file;
}

Result<bool> journal_lock_held(int fd) {
    for (;;) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
            flock(fd, LOCK_UN);
            return false;
        }
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) return true;
        return Error{fmt::format("cannot test the journal's lock: {}", std::strerror(errno))};
    }
}

std::optional<pid_t> flock_holder(dev_t dev, ino_t ino, const std::string& proc_root) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:131090 0 EOF"; waiters are
    // listed as "1: -> FLOCK ...".
    std::ifstream in(proc_root + "/locks");
    const std::string exact = fmt::format("{:02x}:{:02x}:{}", major(dev), minor(dev), ino);
    const std::string ino_suffix = fmt::format(":{}", ino);
    std::vector<pid_t> by_ino;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, type, mode, access, where;
        long pid = 0;
        if (!(fields >> id >> type >> mode >> access >> pid >> where)) continue;
        if (type != "FLOCK" || access != "WRITE" || pid <= 0 || pid > INT_MAX) continue;
        if (where == exact) return static_cast<pid_t>(pid);
        // Some file systems (btrfs subvolumes) show another device in stat
        // than in /proc/locks: the inode alone, when only one lock has it.
        if (where.size() > ino_suffix.size() &&
            where.compare(where.size() - ino_suffix.size(), ino_suffix.size(), ino_suffix) == 0) {
            by_ino.push_back(static_cast<pid_t>(pid));
        }
    }
    if (by_ino.size() == 1) return by_ino.front();
    return std::nullopt;
}

Result<JournalLock> JournalLock::take(const std::string& path, bool create, int retry_ms) {
    JournalLock lock;
    // The path may be renamed or replaced between the open and the lock
    // (the lock would then be on a file nobody records to): a few tries.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (create) {
            // Never through a symlink: a root recorder must not create a
            // file wherever a link in a shared directory points.
            const UniqueFd made(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (made) {
                lock.created_ = true;
            } else if (errno != EEXIST) {
                return os_error(path, "cannot create journal", errno);
            }
        }
        auto file = open_journal_file(path);
        if (!file) {
            if (file.error().code == ENOENT && !create) {
                lock.state_ = State::missing;
                return lock;
            }
            return Error{file.error().message};
        }
        lock.file_ = std::move(*file);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(retry_ms);
        bool taken = false;
        for (;;) {
            if (flock(lock.file_.fd.get(), LOCK_EX | LOCK_NB) == 0) {
                taken = true;
                break;
            }
            if (errno == EINTR) continue;
            if (errno != EWOULDBLOCK) return os_error(path, "cannot lock the journal", errno);
            if (std::chrono::steady_clock::now() >= deadline) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (!taken) {
            lock.state_ = State::held;
            return lock;
        }
        struct stat now {};
        if (::stat(path.c_str(), &now) == 0 && now.st_dev == lock.file_.dev && now.st_ino == lock.file_.ino) {
            lock.state_ = State::taken;
            return lock;
        }
        lock.file_ = JournalFile{};  // releases the lock on the file that went away
        lock.created_ = false;
    }
    return Error{fmt::format("{}: the file kept changing while it was locked; try again", path)};
}

}  // namespace lineage
