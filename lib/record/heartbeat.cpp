#include "heartbeat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lineage {

using nlohmann::json;

EventCounts EventCounts::minus(const EventCounts& e) const {
    // Counts only grow within a run but for `stored`, which a rolled-back
    // batch takes back (its events become journal_write losses).
    auto sub = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
    return {sub(stored, e.stored), sub(ringbuf_full, e.ringbuf_full), sub(journal_write, e.journal_write),
            sub(decode, e.decode), sub(map_full, e.map_full)};
}

void MinuteWindow::add(int64_t now_ns, const EventCounts& totals) {
    if (samples_.empty() || now_ns - samples_.back().ns >= 1'000'000'000) samples_.push_back({now_ns, totals});
    // Keep the newest sample that is at least a minute old, as the start.
    while (samples_.size() >= 2 && samples_[1].ns <= now_ns - kWindowNs) samples_.pop_front();
}

EventCounts MinuteWindow::last_minute(int64_t now_ns, const EventCounts& totals, int64_t* span_ns) const {
    if (samples_.empty()) {
        *span_ns = 0;
        return totals;
    }
    // add() may not have dropped what aged since it was last called.
    size_t first = 0;
    while (first + 1 < samples_.size() && samples_[first + 1].ns <= now_ns - kWindowNs) ++first;
    *span_ns = now_ns - samples_[first].ns;
    return totals.minus(samples_[first].totals);
}

std::string heartbeat_path(const std::string& canonical_journal) {
    return canonical_journal + ".heartbeat";
}

namespace {

json counts_json(const EventCounts& c) {
    return {{"stored", c.stored},
            {"ringbuf_full", c.ringbuf_full},
            {"journal_write", c.journal_write},
            {"decode", c.decode},
            {"map_full", c.map_full}};
}

// Reads the fields of an untrusted document: the first problem is kept and
// every later read returns a default.
class Fields {
public:
    const std::string& error() const { return error_; }

    const json* object(const json& parent, const char* key) {
        const json* v = find(parent, key);
        if (v && !v->is_object()) return fail(key, "an object"), nullptr;
        return v;
    }
    int64_t integer(const json& parent, const char* key) {
        const json* v = find(parent, key);
        if (!v) return 0;
        if (v->is_number_unsigned()) {
            if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return fail(key, "a 64-bit integer"), 0;
            return static_cast<int64_t>(v->get<uint64_t>());
        }
        if (!v->is_number_integer()) return fail(key, "an integer"), 0;
        return v->get<int64_t>();
    }
    uint64_t count(const json& parent, const char* key) {
        const json* v = find(parent, key);
        if (!v) return 0;
        if (!v->is_number_unsigned()) return fail(key, "a count"), 0;
        return v->get<uint64_t>();
    }
    std::string text(const json& parent, const char* key) {
        const json* v = find(parent, key);
        if (!v) return {};
        if (!v->is_string()) return fail(key, "a string"), std::string();
        return v->get<std::string>();
    }
    bool boolean(const json& parent, const char* key) {
        const json* v = find(parent, key);
        if (!v) return false;
        if (!v->is_boolean()) return fail(key, "true or false"), false;
        return v->get<bool>();
    }
    EventCounts counts(const json& parent, const char* key) {
        const json* o = object(parent, key);
        if (!o) return {};
        // map_full came later: a heartbeat without it counted none.
        const uint64_t map_full = o->contains("map_full") ? count(*o, "map_full") : 0;
        return {count(*o, "stored"), count(*o, "ringbuf_full"), count(*o, "journal_write"), count(*o, "decode"),
                map_full};
    }

private:
    const json* find(const json& parent, const char* key) {
        if (!error_.empty()) return nullptr;
        auto it = parent.find(key);
        if (it == parent.end()) {
            error_ = fmt::format("no '{}'", key);
            return nullptr;
        }
        return &*it;
    }
    void fail(const char* key, const char* what) {
        if (error_.empty()) error_ = fmt::format("'{}' is not {}", key, what);
    }

    std::string error_;
};

}  // namespace

std::string heartbeat_json(const Heartbeat& h) {
    json filters = json::parse(h.filters_json, nullptr, false);
    if (filters.is_discarded() || !filters.is_object()) filters = json::object();
    json j = {
        {"format", Heartbeat::kFormat},
        {"phase", h.phase},
        {"pid", h.pid},
        {"boot_id", h.boot_id},
        {"journal", {{"dev", h.journal_dev}, {"ino", h.journal_ino}}},
        {"version", h.version},
        {"node", h.node},
        {"run_id", h.run_id},
        {"started", {{"boot_ns", h.started_boot_ns}, {"wall_ns", h.started_wall_ns}}},
        {"written", {{"boot_ns", h.written_boot_ns}, {"wall_ns", h.written_wall_ns}}},
        {"options",
         {{"batch_interval_ns", h.batch_interval_ns},
          {"filters", filters},
          {"max_size_bytes", h.max_size_bytes},
          {"retain_ns", h.retain_ns},
          {"argv_cap", h.argv_cap},
          {"ring_bytes", h.ring_bytes},
          {"anchor_interval_ns", h.anchor_interval_ns}}},
        {"last_commit",
         {{"batch", h.last_batch}, {"boot_ns", h.last_commit_boot_ns}, {"wall_ns", h.last_commit_wall_ns}}},
        {"run", counts_json(h.run)},
        {"last_minute", {{"span_ns", h.last_minute_span_ns}, {"events", counts_json(h.last_minute)}}},
        {"journal_writable", h.journal_writable},
        {"journal_error", h.journal_error},
        {"anchor", {{"batch", h.anchor_batch}, {"wall_ns", h.anchor_wall_ns}, {"hash", h.anchor_hash}}},
        {"stop_reason", h.stop_reason},
    };
    // Strings the recorder did not choose (a host name, an error message)
    // may hold any bytes: replaced, not thrown on.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Heartbeat> parse_heartbeat(std::string_view text) {
    const json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error{"not a JSON object"};
    Fields f;
    Heartbeat h;
    if (f.integer(j, "format") != Heartbeat::kFormat && f.error().empty()) {
        return Error{fmt::format("heartbeat format {} is not known to this lineage", j.at("format").dump())};
    }
    h.phase = f.text(j, "phase");
    h.pid = f.integer(j, "pid");
    h.boot_id = f.text(j, "boot_id");
    if (const json* o = f.object(j, "journal")) {
        h.journal_dev = f.count(*o, "dev");
        h.journal_ino = f.count(*o, "ino");
    }
    h.version = f.text(j, "version");
    h.node = f.text(j, "node");
    h.run_id = f.integer(j, "run_id");
    if (const json* o = f.object(j, "started")) {
        h.started_boot_ns = f.integer(*o, "boot_ns");
        h.started_wall_ns = f.integer(*o, "wall_ns");
    }
    if (const json* o = f.object(j, "written")) {
        h.written_boot_ns = f.integer(*o, "boot_ns");
        h.written_wall_ns = f.integer(*o, "wall_ns");
    }
    if (const json* o = f.object(j, "options")) {
        h.batch_interval_ns = f.integer(*o, "batch_interval_ns");
        if (const json* filters = f.object(*o, "filters")) h.filters_json = filters->dump();
        h.max_size_bytes = f.integer(*o, "max_size_bytes");
        h.retain_ns = f.integer(*o, "retain_ns");
        h.argv_cap = f.integer(*o, "argv_cap");
        h.ring_bytes = f.integer(*o, "ring_bytes");
        h.anchor_interval_ns = f.integer(*o, "anchor_interval_ns");
    }
    if (const json* o = f.object(j, "last_commit")) {
        h.last_batch = f.integer(*o, "batch");
        h.last_commit_boot_ns = f.integer(*o, "boot_ns");
        h.last_commit_wall_ns = f.integer(*o, "wall_ns");
    }
    h.run = f.counts(j, "run");
    if (const json* o = f.object(j, "last_minute")) {
        h.last_minute_span_ns = f.integer(*o, "span_ns");
        h.last_minute = f.counts(*o, "events");
    }
    h.journal_writable = f.boolean(j, "journal_writable");
    h.journal_error = f.text(j, "journal_error");
    if (const json* o = f.object(j, "anchor")) {
        h.anchor_batch = f.integer(*o, "batch");
        h.anchor_wall_ns = f.integer(*o, "wall_ns");
        h.anchor_hash = f.text(*o, "hash");
    }
    h.stop_reason = f.text(j, "stop_reason");
    if (!f.error().empty()) return Error{f.error()};
    if (h.phase != "starting" && h.phase != "recording" && h.phase != "stopped") {
        return Error{"'phase' is not starting, recording or stopped"};
    }
    if (h.pid <= 0) return Error{"'pid' is not a process id"};
    if (h.batch_interval_ns <= 0) return Error{"'batch_interval_ns' is not a duration"};
    return h;
}

Result<Heartbeat> journal_heartbeat(const std::string& canonical_journal, uint64_t dev, uint64_t ino,
                                    const std::string& boot_id) {
    const std::string path = heartbeat_path(canonical_journal);
    auto heartbeat = read_heartbeat(path);
    if (!heartbeat) {
        if (heartbeat.error().code == ENOENT) return Error{fmt::format("no heartbeat at {}", path), ENOENT};
        return heartbeat.error();
    }
    if (heartbeat->journal_dev != dev || heartbeat->journal_ino != ino) {
        return Error{fmt::format("{} is the heartbeat of another file of that name", path)};
    }
    if (heartbeat->boot_id != boot_id) return Error{fmt::format("{} was written before the node last booted", path)};
    return heartbeat;
}

namespace {

constexpr size_t kPage = 4096;
constexpr std::string_view kChecksum = "fnv1a64 ";

// Tells a torn read from a whole one; not a defence against anyone who can
// write the file.
uint64_t fnv1a64(std::string_view bytes) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

}  // namespace

std::string encode_heartbeat_file(const Heartbeat& heartbeat) {
    std::string text = heartbeat_json(heartbeat);
    text += fmt::format("{}{:016x}\n", kChecksum, fnv1a64(text));
    return text;
}

Result<Heartbeat> decode_heartbeat_file(std::string_view text) {
    const size_t json_end = text.find('\n');
    if (json_end == std::string_view::npos) return Error{"not a JSON line"};
    const std::string_view json = text.substr(0, json_end + 1);
    std::string_view rest = text.substr(json_end + 1);
    const size_t sum_end = rest.find('\n');
    const std::string_view sum = rest.substr(0, sum_end);
    if (sum_end == std::string_view::npos || sum.substr(0, kChecksum.size()) != kChecksum ||
        sum.size() != kChecksum.size() + 16) {
        return Error{"no checksum line"};
    }
    if (sum.substr(kChecksum.size()) != fmt::format("{:016x}", fnv1a64(json))) {
        return Error{"the checksum does not match"};
    }
    if (rest.substr(sum_end).find_first_not_of(" \n") != std::string_view::npos) {
        return Error{"bytes after the checksum line"};
    }
    return parse_heartbeat(json);
}

Result<Heartbeat> read_heartbeat(const std::string& path) {
    constexpr size_t kMaxBytes = 64 * 1024;
    Error last{""};
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        if (!fd) {
            const int err = errno;
            return Error{fmt::format("{}: cannot open: {}", path, std::strerror(err)), err};
        }
        struct stat st {};
        if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return Error{fmt::format("{}: not a regular file", path)};
        }
        if (static_cast<size_t>(st.st_size) > kMaxBytes) {
            return Error{fmt::format("{}: {} bytes, too large for a heartbeat", path, st.st_size)};
        }
        std::string text(kMaxBytes + 1, '\0');
        size_t got = 0;
        while (got < text.size()) {
            const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Error{fmt::format("{}: read error: {}", path, std::strerror(errno))};
            if (n == 0) break;
            got += static_cast<size_t>(n);
        }
        if (got > kMaxBytes) return Error{fmt::format("{}: too large for a heartbeat", path)};
        text.resize(got);
        auto heartbeat = decode_heartbeat_file(text);
        if (heartbeat) return heartbeat;
        // A write under way (or the instant between a new file's rename and
        // its first write) reads as a checksum that does not match, or as
        // no heartbeat at all: read again.
        last = Error{fmt::format("{}: not a lineage heartbeat: {}", path, heartbeat.error().message)};
    }
    return last;
}

Status HeartbeatFile::create() {
    const std::string tmp = path_ + ".tmp";
    // Left by a recorder that died mid-write, or planted: removed, never
    // followed (unlink removes a symlink itself).
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
        return Error{fmt::format("{}: cannot remove: {}", tmp, std::strerror(errno))};
    }
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return Error{fmt::format("{}: cannot create: {}", tmp, std::strerror(errno))};
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Error{fmt::format("{}: cannot replace: {}", path_, std::strerror(err))};
    }
    fd_ = std::move(fd);
    size_ = 0;
    mode_ = 0600;
    uid_ = geteuid();
    gid_ = getegid();
    return Ok{};
}

Status HeartbeatFile::write(const Heartbeat& heartbeat) {
    if (!fd_) {
        if (auto st = create(); !st) return st;
    }
    std::string text = encode_heartbeat_file(heartbeat);
    // Spaces to a whole page, and the same size as before unless it no
    // longer fits: one write, and no truncation a reader could see.
    const size_t size = std::max(size_, (text.size() + kPage) / kPage * kPage);
    text.resize(size - 1, ' ');
    text.push_back('\n');
    for (size_t done = 0; done < text.size();) {
        const ssize_t n = ::pwrite(fd_.get(), text.data() + done, text.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            fd_.reset();  // a new file next time
            return Error{fmt::format("{}: cannot write: {}", path_, std::strerror(err))};
        }
        done += static_cast<size_t>(n);
    }
    size_ = size;
    // Readable by whoever can read the journal, and by nobody else. The
    // owner first: fchown may clear mode bits.
    struct stat journal {};
    if (journal_fd_ >= 0 && fstat(journal_fd_, &journal) == 0) {
        if (geteuid() == 0 && (journal.st_uid != uid_ || journal.st_gid != gid_)) {
            if (fchown(fd_.get(), journal.st_uid, journal.st_gid) == 0) {
                uid_ = journal.st_uid;
                gid_ = journal.st_gid;
                mode_ = 0;  // set again
            }
        }
        if ((journal.st_mode & 0666) != mode_ && fchmod(fd_.get(), journal.st_mode & 0666) == 0) {
            mode_ = journal.st_mode & 0666;
        }
    }
    return Ok{};
}

}  // namespace lineage
