#pragma once
// The SHA-256 of every executed file (file_hashes rows, schema/journal.sql),
// off the recorder's hot path.
//
// The recorder thread only opens: /proc/<tgid>/exe of the exec's process
// (so that a memfd or a deleted file is hashed too), checked to be the same
// process (its start tick) and the same file (fstat against the exec's
// identity); when the process is already gone, the exec's path, checked
// against the whole identity (dev, ino, size, mtime). A worker thread reads
// and hashes the opened file; its results come back through a queue that
// the recorder drains into the open batch. A file that cannot be hashed is
// a row with its problem and no hash: a hash is never invented.
//
// One hash per FileKey; one row per (key, path). A key whose attempt
// failed for a reason that can pass (the process was gone, the rate limit,
// a file that changed, an I/O error) is tried again at its next exec; its
// problem row is written once per path, and a later hash gets its own row:
// readers take the row with a hash over rows with a problem.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "event.h"
#include "fd.h"

namespace lineage {

struct ExeHasherOptions {
    // Where /proc/<tgid>/{stat,exe} are read (a fake tree in tests).
    std::string proc_root = "/proc";
    // Nanoseconds per /proc clock tick: a process is its exec's when its
    // start tick is the exec's start_ns / ns_per_tick.
    int64_t ns_per_tick = 10'000'000;
    // Files larger are 'too_large', not read.
    uint64_t max_bytes = 256ull << 20;
    // Token buckets: files and bytes per second (a burst of one second's
    // worth). A file over either is 'rate_limited'. The bytes bucket may go
    // into debt by one file, so that a file larger than a second's bytes
    // (and within max_bytes) is hashed when the bucket is full.
    double files_per_second = 100;
    uint64_t bytes_per_second = 64ull << 20;
    // Files opened and waiting for the worker; past it, 'rate_limited'.
    size_t max_queue = 256;
    // Keys remembered (hashes known, paths written), least recently used
    // going first. A key forgotten and exec'd again is hashed again.
    size_t max_keys = 65'536;
    // Paths written per key: past it, a new path of the key gets no row.
    size_t max_paths_per_key = 64;
    // Test hook: called by the worker with the opened fd, before it reads.
    std::function<void(int fd)> before_read;
};

struct ExeHasherStats {
    uint64_t opened = 0;    // files handed to the worker
    uint64_t hashed = 0;    // hashes computed
    uint64_t bytes = 0;     // bytes read by the worker
    uint64_t problems = 0;  // problem rows
    uint64_t cached = 0;    // execs whose key was known (hashed or in progress)
};

class ExeHasher {
public:
    explicit ExeHasher(ExeHasherOptions options);
    ~ExeHasher();
    ExeHasher(const ExeHasher&) = delete;
    ExeHasher& operator=(const ExeHasher&) = delete;

    // An exec with a file (nothing for one without). Returns the rows to
    // write now: a known hash at a path new to its key, or a problem found
    // on the spot. `now_ns` (boot ns) times the rows and the rate limit.
    std::vector<FileHashRow> on_exec(const ExecEvent& e, int64_t now_ns);
    // Rows of the hashes (and problems) the worker finished since the last call.
    std::vector<FileHashRow> take_results();
    // The recorder's batch that held these rows was rolled back: a later
    // exec writes them again.
    void unwrite(const FileKey& key, const std::string& path);
    // Waits until the worker's queue is empty, or until `timeout_ns`
    // passed; true when empty.
    bool wait_idle(int64_t timeout_ns);
    // Stops the worker: the file it reads is given up at its next chunk,
    // and the files waiting are dropped; none of them gets a row (their
    // execs keep no hash, which readers show as unavailable). Returns how
    // many were given up.
    size_t stop();
    // True once stop() began (for tests that hold the worker).
    bool stopping() const { return stop_flag_; }

    ExeHasherStats stats() const;

private:
    enum class State { pending, hashed, failed };
    struct KeyState {
        State state = State::pending;
        std::string sha256;
        std::string problem;                    // the last attempt's, when failed
        std::set<std::string> hash_written;     // paths with a hash row of this key
        std::set<std::string> problem_written;  // paths with a problem row of this key
        std::vector<std::string> waiting;       // paths of execs while pending
        std::list<FileKey>::iterator use;       // place in use_
    };
    struct Job {
        FileKey key;
        UniqueFd fd;
        uint64_t size = 0;
        int64_t mtime_ns = 0;
    };
    struct Outcome {
        FileKey key;
        std::string sha256;
        std::string problem;
        int64_t time_ns = 0;
    };

    KeyState& key_state(const FileKey& key, bool* inserted);
    // Opens the exec's file as the checks above say; a problem word when it cannot.
    std::string open_file(const ExecEvent& e, UniqueFd* fd, uint64_t* size, int64_t* mtime_ns) const;
    // Takes the rate limit's tokens for one file of `size` bytes; false when over.
    bool admit(uint64_t size, int64_t now_ns);
    // Rows for a failed or hashed key at `paths` not yet written.
    void rows_for(const FileKey& key, KeyState& st, const std::vector<std::string>& paths, const std::string& problem,
                  int64_t time_ns, std::vector<FileHashRow>& out);
    void finish(const Outcome& o, std::vector<FileHashRow>& out);
    void worker();
    Outcome hash_job(Job& job, bool* abandoned);

    ExeHasherOptions options_;
    // The recorder thread's alone.
    std::map<FileKey, KeyState> keys_;
    std::list<FileKey> use_;  // least recently used first
    double file_tokens_ = 0;
    double byte_tokens_ = 0;
    int64_t tokens_at_ns_ = -1;
    uint64_t problems_ = 0;
    uint64_t cached_ = 0;

    // Shared with the worker.
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<Job> jobs_;
    std::vector<Outcome> done_;
    bool busy_ = false;
    bool stopping_ = false;
    std::atomic<bool> stop_flag_{false};  // read by the worker between chunks
    uint64_t opened_ = 0, hashed_ = 0, bytes_ = 0;
    std::thread thread_;
};

}  // namespace lineage
