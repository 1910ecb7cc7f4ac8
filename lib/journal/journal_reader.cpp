#include "journal_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "fd.h"
#include "journal_format.h"

namespace lineage {

namespace {

struct FileStamp {
    bool exists = false;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return {};
    return {true, st.st_size, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Copies a file's bytes with plain reads: no metadata, and the source is
// opened O_RDONLY with O_NOATIME where the kernel allows it.
Status copy_file(const std::string& from, const std::string& to) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
    if (!in && errno == EPERM) in.reset(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return Error{fmt::format("{}: cannot open: {}", from, std::strerror(errno))};
    const UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return Error{fmt::format("{}: cannot create: {}", to, std::strerror(errno))};
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(in.get(), buf, sizeof(buf));
        if (n == 0) return Ok{};
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error{fmt::format("{}: read error: {}", from, std::strerror(errno))};
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
            if (w < 0) {
                if (errno == EINTR) continue;
                return Error{fmt::format("{}: write error: {}", to, std::strerror(errno))};
            }
            done += w;
        }
    }
}

}  // namespace

JournalReader::~JournalReader() {
    db_ = Database();
    if (!temp_dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(temp_dir_, ec);
    }
}

JournalReader::JournalReader(JournalReader&& other) noexcept
    : path_(std::move(other.path_)),
      temp_dir_(std::move(other.temp_dir_)),
      uri_(std::move(other.uri_)),
      options_(other.options_),
      schema_(std::move(other.schema_)),
      db_(std::move(other.db_)),
      rows_read_(other.rows_read_.load(std::memory_order_relaxed)) {
    other.temp_dir_.clear();
}

std::vector<std::string> JournalReader::warnings() const {
    if (schema_.ok()) return {};
    return {
        fmt::format("{}: the journal's schema is not lineage's: {}; read anyway (--force-schema), through its "
                    "tables only: run `lineage verify` on it",
                    path_, schema_.summary())};
}

Result<Database> JournalReader::open_another() const {
    auto db = Database::open_read(uri_);
    if (!db) return damaged(db.error().message);
    if (auto st = db->fence_for_reading(options_.timeout_ns); !st) return damaged(st.error().message);
    return db;
}

Error JournalReader::damaged(const std::string& what) const {
    return Error{fmt::format("{}: journal is damaged: {}", path_, what)};
}

Result<JournalReader> JournalReader::open(const std::string& path, const ReadOptions& options) {
    // Before the process's first connection, or never (sqlite.h).
    static const bool heap_limited = limit_sqlite_heap(kReaderHeapBytes);
    (void)heap_limited;
    JournalReader r;
    r.path_ = path;
    r.options_ = options;

    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
    }
    if (S_ISDIR(st.st_mode)) return Error{fmt::format("{}: is a directory, not a journal file", path)};
    if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path)};
    if (access(path.c_str(), R_OK) != 0) {
        return Error{fmt::format("{}: cannot read: {}", path, std::strerror(errno))};
    }
    if (st.st_size == 0) return Error{fmt::format("{}: empty file, not a lineage journal", path)};
    if (auto hdr = check_sqlite_header(path); !hdr) return hdr.error();

    const std::string wal = path + "-wal";
    FileStamp wal_stamp = stamp(wal);
    std::string open_name;
    if (wal_stamp.exists && wal_stamp.size > 0) {
        // A -wal file holds committed batches not yet in the main file.
        // Reading it in place would touch the -shm and maybe the WAL, so
        // copy the pair and read the copy. A live recorder may checkpoint
        // between the two copies: retry until both are unchanged.
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lineage-read.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) {
            return Error{
                fmt::format("{}: cannot make a temporary directory for a copy: {}", path, std::strerror(errno))};
        }
        r.temp_dir_ = buf.data();
        const std::string copy = r.temp_dir_ + "/journal.db";
        bool stable = false;
        for (int attempt = 0; attempt < 10 && !stable; ++attempt) {
            std::error_code ec;
            std::filesystem::remove(copy, ec);
            std::filesystem::remove(copy + "-wal", ec);
            FileStamp db_before = stamp(path), wal_before = stamp(wal);
            if (auto c = copy_file(path, copy); !c) return c.error();
            if (wal_before.exists) {
                if (auto c = copy_file(wal, copy + "-wal"); !c) return c.error();
            }
            stable = db_before == stamp(path) && wal_before == stamp(wal);
            if (!stable) usleep(20000);
        }
        if (!stable) return Error{fmt::format("{}: the journal kept changing while it was copied; try again", path)};
        // Our private copy: opening it read-write lets SQLite apply the WAL
        // (its frames are committed transactions, part of the journal as
        // SQLite sees it); fence_for_reading keeps it from writing anything.
        auto db = Database::open_write(copy);
        if (!db) return r.damaged(db.error().message);
        r.db_ = std::move(*db);
        r.uri_ = sqlite_file_uri(copy) + "?mode=ro";
    } else {
        // No WAL to apply: immutable tells SQLite the file cannot change, so
        // it takes no locks and creates no -shm or -wal beside it.
        open_name = sqlite_file_uri(path) + "?mode=ro&immutable=1";
        auto db = Database::open_read(open_name);
        if (!db) return r.damaged(db.error().message);
        r.db_ = std::move(*db);
        r.uri_ = open_name;
    }
    // Fenced before its first statement, which loads the file's schema.
    auto failed = [&](const Error& e) {
        int rc = sqlite3_extended_errcode(r.db_.get());
        if (is_damage(rc)) return r.damaged(r.db_.errmsg());
        return Error{fmt::format("{}: cannot read journal: {}", path, e.message)};
    };
    if (auto st = r.db_.fence_for_reading(options.timeout_ns); !st) return failed(st.error());
    if (auto ok = check_journal(r.db_, path); !ok) {
        int rc = sqlite3_extended_errcode(r.db_.get());
        if (is_damage(rc)) return r.damaged(sqlite3_errstr(rc));
        return ok.error();
    }
    auto schema = check_journal_schema(r.db_);
    if (!schema) return failed(schema.error());
    r.schema_ = std::move(*schema);
    if (!r.schema_.ok() && !options.force_schema) {
        return Error{
            fmt::format("{}: the journal's schema is not lineage's: {}; run `lineage verify` on it to see "
                        "what changed (--force-schema reads it anyway)",
                        path, r.schema_.summary())};
    }
    return r;
}

}  // namespace lineage
