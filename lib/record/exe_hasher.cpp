#include "exe_hasher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "clock.h"
#include "hashchain.h"
#include "procfs.h"

namespace lineage {

namespace {

// Read in chunks, so that a stop gives up a large file within one chunk.
constexpr size_t kChunk = 1 << 20;

int64_t mtime_of(const struct stat& st) {
    return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Problems that belong to the file itself: trying again changes nothing.
bool final_problem(const std::string& problem) {
    return problem == "too_large" || problem == "not_regular";
}

// /proc/PID/stat through the process's directory, small and read whole.
std::string read_small(int dir_fd, const char* name) {
    UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    std::string text;
    char buf[1024];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || text.size() > 8192) break;
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

}  // namespace

ExeHasher::ExeHasher(ExeHasherOptions options) : options_(std::move(options)) {
    thread_ = std::thread([this] { worker(); });
}

ExeHasher::~ExeHasher() {
    stop();
}

ExeHasher::KeyState& ExeHasher::key_state(const FileKey& key, bool* inserted) {
    auto [it, fresh] = keys_.try_emplace(key);
    *inserted = fresh;
    if (!fresh) {
        use_.splice(use_.end(), use_, it->second.use);
        return it->second;
    }
    it->second.use = use_.insert(use_.end(), key);
    // The least recently used go, except keys the worker still has: their
    // results would find no key. At most max_queue + 1 of them are pending.
    auto victim = use_.begin();
    while (keys_.size() > std::max<size_t>(options_.max_keys, 1) && victim != use_.end()) {
        auto k = keys_.find(*victim);
        if (k->second.state == State::pending || k == it) {
            ++victim;
            continue;
        }
        keys_.erase(k);
        victim = use_.erase(victim);
    }
    return it->second;
}

bool ExeHasher::admit(uint64_t size, int64_t now_ns) {
    const double files_cap = std::max(options_.files_per_second, 1.0);
    const auto bytes_cap = static_cast<double>(options_.bytes_per_second);
    if (tokens_at_ns_ < 0) {
        file_tokens_ = files_cap;
        byte_tokens_ = bytes_cap;
        tokens_at_ns_ = now_ns;
    } else if (now_ns > tokens_at_ns_) {
        const double dt = static_cast<double>(now_ns - tokens_at_ns_) / 1e9;
        file_tokens_ = std::min(files_cap, file_tokens_ + dt * options_.files_per_second);
        byte_tokens_ = std::min(bytes_cap, byte_tokens_ + dt * bytes_cap);
        tokens_at_ns_ = now_ns;
    }
    if (file_tokens_ < 1.0 || (byte_tokens_ <= 0 && size > 0)) return false;
    file_tokens_ -= 1.0;
    byte_tokens_ -= static_cast<double>(size);
    return true;
}

std::string ExeHasher::open_file(const ExecEvent& e, UniqueFd* out, uint64_t* size, int64_t* mtime_ns) const {
    const ExecFile& f = *e.file;
    const auto same_size_mtime = [&](const struct stat& st) {
        return static_cast<uint64_t>(st.st_size) == f.size && mtime_of(st) == f.mtime_ns;
    };
    const auto same_inode = [&](const struct stat& st) {
        return static_cast<uint64_t>(st.st_dev) == f.dev && static_cast<uint64_t>(st.st_ino) == f.ino;
    };
    // The process's directory, held open: once the process is reaped, its
    // files cannot be opened through it, so a reused PID's exe is never read.
    const std::string dir = options_.proc_root + "/" + std::to_string(e.proc.tgid);
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    bool alive = false;
    if (dir_fd) {
        auto proc_stat = parse_proc_stat(read_small(dir_fd.get(), "stat"));
        const auto tick = static_cast<uint64_t>(std::max<int64_t>(options_.ns_per_tick, 1));
        alive = proc_stat && proc_stat->start_ticks == e.proc.start_ns / tick;
    }
    if (alive) {
        // O_NONBLOCK: a FIFO (only a fake /proc can name one) must not block.
        UniqueFd fd(::openat(dir_fd.get(), "exe", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
        if (fd) {
            struct stat st {};
            if (::fstat(fd.get(), &st) != 0) return "read_error";
            if (!S_ISREG(st.st_mode)) return "not_regular";
            // overlayfs may give /proc/PID/exe another inode than the exec saw.
            if (!same_size_mtime(st) || (!(f.flags & kFileOverlay) && !same_inode(st))) return "other_file";
            *out = std::move(fd);
            *size = static_cast<uint64_t>(st.st_size);
            *mtime_ns = mtime_of(st);
            return {};
        }
        // Exited (a zombie has no exe) or reaped since: as if gone. Anything
        // else (no CAP_SYS_PTRACE) is a file that could not be read.
        if (errno != ENOENT && errno != ESRCH) return "read_error";
    }
    // The process is gone: its file by the exec's path, only if the whole
    // identity still matches (the same inode, unchanged), and never a
    // device or a FIFO (stat before open: opening a device can act on it).
    // A memfd, or a path in another mount namespace, has nothing to find.
    if ((f.flags & (kFileMemfd | kFilePathTruncated)) || f.path.empty() || f.path[0] != '/') return "gone";
    struct stat before {};
    if (::stat(f.path.c_str(), &before) != 0 || !S_ISREG(before.st_mode) || !same_inode(before) ||
        !same_size_mtime(before))
        return "gone";
    UniqueFd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
    if (!fd) return "gone";
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !same_inode(st) || !same_size_mtime(st)) return "gone";
    *out = std::move(fd);
    *size = static_cast<uint64_t>(st.st_size);
    *mtime_ns = mtime_of(st);
    return {};
}

void ExeHasher::rows_for(const FileKey& key, KeyState& st, const std::vector<std::string>& paths,
                         const std::string& problem, int64_t time_ns, std::vector<FileHashRow>& out) {
    auto& written = problem.empty() ? st.hash_written : st.problem_written;
    for (const auto& path : paths) {
        if (written.count(path) || written.size() >= std::max<size_t>(options_.max_paths_per_key, 1)) continue;
        written.insert(path);
        out.push_back(FileHashRow{time_ns, key, path, problem.empty() ? st.sha256 : std::string(), problem});
        if (!problem.empty()) ++problems_;
    }
}

std::vector<FileHashRow> ExeHasher::on_exec(const ExecEvent& e, int64_t now_ns) {
    std::vector<FileHashRow> out;
    if (!e.file) return out;
    const ExecFile& f = *e.file;
    const FileKey key{f.dev, f.ino, f.size, f.mtime_ns};
    bool inserted = false;
    KeyState& st = key_state(key, &inserted);
    if (!inserted) {
        if (st.state == State::pending) {
            ++cached_;
            if (std::find(st.waiting.begin(), st.waiting.end(), f.path) == st.waiting.end())
                st.waiting.push_back(f.path);
            return out;
        }
        if (st.state == State::hashed || final_problem(st.problem)) {
            ++cached_;
            rows_for(key, st, {f.path}, st.problem, now_ns, out);
            return out;
        }
        // A problem that can pass: this exec tries again.
    }
    std::string problem;
    UniqueFd fd;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    if (f.size > options_.max_bytes) {
        problem = "too_large";
    } else if (!admit(f.size, now_ns)) {
        problem = "rate_limited";
    } else {
        problem = open_file(e, &fd, &size, &mtime_ns);
    }
    if (problem.empty()) {
        std::lock_guard lock(mutex_);
        if (jobs_.size() >= std::max<size_t>(options_.max_queue, 1)) {
            problem = "rate_limited";
        } else {
            jobs_.push_back(Job{key, std::move(fd), size, mtime_ns});
            ++opened_;
        }
    }
    if (!problem.empty()) {
        st.state = State::failed;
        st.problem = problem;
        rows_for(key, st, {f.path}, problem, now_ns, out);
        return out;
    }
    st.state = State::pending;
    st.problem.clear();
    st.waiting.assign(1, f.path);
    wake_.notify_one();
    return out;
}

void ExeHasher::finish(const Outcome& o, std::vector<FileHashRow>& out) {
    auto it = keys_.find(o.key);
    if (it == keys_.end()) return;
    KeyState& st = it->second;
    st.state = o.problem.empty() ? State::hashed : State::failed;
    st.sha256 = o.sha256;
    st.problem = o.problem;
    std::vector<std::string> paths;
    paths.swap(st.waiting);
    rows_for(o.key, st, paths, o.problem, o.time_ns, out);
}

std::vector<FileHashRow> ExeHasher::take_results() {
    std::vector<Outcome> done;
    {
        std::lock_guard lock(mutex_);
        done.swap(done_);
    }
    std::vector<FileHashRow> out;
    for (const auto& o : done) finish(o, out);
    return out;
}

void ExeHasher::unwrite(const FileKey& key, const std::string& path) {
    auto it = keys_.find(key);
    if (it == keys_.end()) return;
    it->second.hash_written.erase(path);
    it->second.problem_written.erase(path);
}

bool ExeHasher::wait_idle(int64_t timeout_ns) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), [&] { return jobs_.empty() && !busy_; });
}

size_t ExeHasher::stop() {
    size_t given_up = 0;
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) return 0;
        stopping_ = true;
        stop_flag_ = true;
        given_up = jobs_.size() + (busy_ ? 1 : 0);
        jobs_.clear();
    }
    wake_.notify_all();
    thread_.join();
    return given_up;
}

ExeHasherStats ExeHasher::stats() const {
    std::lock_guard lock(mutex_);
    return ExeHasherStats{opened_, hashed_, bytes_, problems_, cached_};
}

void ExeHasher::worker() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (stopping_) {
                busy_ = false;
                idle_.notify_all();
                return;
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
            busy_ = true;
        }
        bool abandoned = false;
        Outcome o = hash_job(job, &abandoned);
        job.fd.reset();
        std::lock_guard lock(mutex_);
        busy_ = false;
        if (!abandoned) {
            if (o.problem.empty()) ++hashed_;
            done_.push_back(std::move(o));
        }
        idle_.notify_all();
    }
}

ExeHasher::Outcome ExeHasher::hash_job(Job& job, bool* abandoned) {
    Outcome o;
    o.key = job.key;
    if (options_.before_read) options_.before_read(job.fd.get());
    Sha256 sha;
    sha.begin();
    std::vector<char> buf(std::min<uint64_t>(kChunk, std::max<uint64_t>(job.size, 1)));
    uint64_t offset = 0;
    while (offset < job.size) {
        if (stop_flag_) {
            *abandoned = true;
            return o;
        }
        const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), job.size - offset));
        const ssize_t n = ::pread(job.fd.get(), buf.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            o.problem = "read_error";
            break;
        }
        if (n == 0) {
            o.problem = "changed";  // shorter than at open
            break;
        }
        sha.update(buf.data(), static_cast<size_t>(n));
        offset += static_cast<uint64_t>(n);
        std::lock_guard lock(mutex_);
        bytes_ += static_cast<uint64_t>(n);
    }
    if (o.problem.empty()) {
        struct stat st {};
        if (::fstat(job.fd.get(), &st) != 0) {
            o.problem = "read_error";
        } else if (static_cast<uint64_t>(st.st_size) != job.size || mtime_of(st) != job.mtime_ns) {
            o.problem = "changed";
        }
    }
    if (o.problem.empty()) {
        const Hash h = sha.finish();
        // A digest OpenSSL could not give is no hash.
        if (sha.ok()) {
            o.sha256 = to_hex(h);
        } else {
            o.problem = "read_error";
        }
    }
    o.time_ns = boot_now_ns();
    return o;
}

}  // namespace lineage
