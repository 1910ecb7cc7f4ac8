#include "live_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "fd.h"
#include "sqlite.h"

namespace lineage {

namespace {

int64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A file's modification time has the kernel's coarse clock tick: a file
// stamped this close to when its stamp was taken may change again within
// the same tick without its stamp changing.
constexpr int64_t kRacyStampNs = 100'000'000;

Status copy_file(const std::string& from, const std::string& to) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
    if (!in && errno == EPERM) in.reset(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return Error{fmt::format("{}: cannot open: {}", from, std::strerror(errno))};
    const UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!out) return Error{fmt::format("{}: cannot create: {}", to, std::strerror(errno))};
    std::vector<char> buf(1 << 20);
    for (;;) {
        const ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n == 0) return Ok{};
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error{fmt::format("{}: read error: {}", from, std::strerror(errno))};
        }
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(out.get(), buf.data() + done, static_cast<size_t>(n - done));
            if (w < 0) {
                if (errno == EINTR) continue;
                return Error{fmt::format("{}: write error: {}", to, std::strerror(errno))};
            }
            done += w;
        }
    }
}

}  // namespace

LiveCopy::~LiveCopy() {
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

LiveCopy::LiveCopy(LiveCopy&& o) noexcept
    : path_(std::move(o.path_)),
      dir_(std::move(o.dir_)),
      copy_(std::move(o.copy_)),
      have_copy_(o.have_copy_),
      last_db_(o.last_db_),
      last_wal_(o.last_wal_),
      last_taken_ns_(o.last_taken_ns_),
      last_generation_(std::move(o.last_generation_)),
      full_copies_(o.full_copies_),
      unchanged_(o.unchanged_) {
    o.dir_.clear();
}

Result<LiveCopy> LiveCopy::create(const std::string& path) {
    LiveCopy c;
    c.path_ = path;
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-follow.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        return Error{fmt::format("{}: cannot make a temporary directory for a copy: {}", path, std::strerror(errno))};
    }
    c.dir_ = buf.data();
    c.copy_ = c.dir_ + "/journal.db";
    return c;
}

LiveCopy::Stamp LiveCopy::stamp(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {true, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
            static_cast<int64_t>(st.st_ino)};
}

std::string LiveCopy::wal_generation(const std::string& wal) {
    UniqueFd fd(::open(wal.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
    if (!fd && errno == EPERM) fd.reset(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    unsigned char hdr[32];
    if (::pread(fd.get(), hdr, sizeof hdr, 0) != static_cast<ssize_t>(sizeof hdr)) return {};
    // WAL magic: 0x377f0682 or 0x377f0683, big-endian.
    if (hdr[0] != 0x37 || hdr[1] != 0x7f || hdr[2] != 0x06 || (hdr[3] & 0xfe) != 0x82) return {};
    return std::string(reinterpret_cast<const char*>(hdr) + 12, 12);
}

Result<bool> LiveCopy::sync() {
    for (int attempt = 0; attempt < 10; ++attempt) {
        auto r = sync_once();
        if (!r) return r.error();
        if (*r) return !unchanged_;
        usleep(20000);
    }
    return Error{fmt::format("{}: the journal kept changing while it was copied; try again", path_)};
}

// One attempt; false when the journal changed while it was copied.
Result<bool> LiveCopy::sync_once() {
    const std::string wal = path_ + "-wal", copy_wal = copy_ + "-wal";
    const int64_t taken = realtime_ns();
    const Stamp db0 = stamp(path_), wal0 = stamp(wal);
    if (!db0.exists) return Error{fmt::format("{}: cannot open: {}", path_, std::strerror(ENOENT))};
    const std::string generation = wal0.exists ? wal_generation(wal) : std::string();
    // Stamps taken long enough after the files' last change to be trusted.
    const bool settled = taken - last_taken_ns_ >= 0 && last_taken_ns_ - last_db_.mtime_ns > kRacyStampNs &&
                         last_taken_ns_ - last_wal_.mtime_ns > kRacyStampNs;
    const bool db_unchanged = have_copy_ && db0 == last_db_ && settled;
    if (db_unchanged && wal0 == last_wal_) {
        unchanged_ = true;
        return true;
    }
    unchanged_ = false;
    const bool same_generation =
        have_copy_ && !generation.empty() && generation == last_generation_ && db0.ino == last_db_.ino;
    std::error_code ec;
    std::filesystem::remove(copy_wal, ec);
    std::filesystem::remove(copy_ + "-shm", ec);
    if (!same_generation && !db_unchanged) {
        have_copy_ = false;
        std::filesystem::remove(copy_, ec);
        if (auto c = copy_file(path_, copy_); !c) return c.error();
        ++full_copies_;
    }
    if (wal0.exists && wal0.size > 0) {
        if (auto c = copy_file(wal, copy_wal); !c) return c.error();
    }
    if (!(stamp(path_) == db0 && stamp(wal) == wal0 &&
          (wal0.exists ? wal_generation(wal) : std::string()) == generation)) {
        // Changed meanwhile: a torn main file is copied again; the WAL copy
        // alone left the copy as it was.
        if (!same_generation && !db_unchanged) have_copy_ = false;
        std::filesystem::remove(copy_wal, ec);
        return false;
    }
    if (std::filesystem::exists(copy_wal, ec)) {
        // Our private copy: SQLite applies the WAL's committed frames to it
        // and empties the WAL, as it would its own.
        auto db = Database::open_write(copy_);
        if (!db) return Error{fmt::format("{}: cannot apply the copied WAL: {}", path_, db.error().message)};
        // A private temporary copy: no fsync (a crash loses the copy, not
        // the journal), which is most of what a checkpoint would cost.
        if (auto st = db->exec("PRAGMA synchronous=OFF"); !st) {
            return Error{fmt::format("{}: cannot apply the copied WAL: {}", path_, st.error().message)};
        }
        if (auto st = db->exec("PRAGMA wal_checkpoint(TRUNCATE)"); !st) {
            return Error{fmt::format("{}: cannot apply the copied WAL: {}", path_, st.error().message)};
        }
    }
    std::filesystem::remove(copy_wal, ec);
    std::filesystem::remove(copy_ + "-shm", ec);
    have_copy_ = true;
    last_db_ = db0;
    last_wal_ = wal0;
    last_taken_ns_ = taken;
    last_generation_ = generation;
    return true;
}

}  // namespace lineage
