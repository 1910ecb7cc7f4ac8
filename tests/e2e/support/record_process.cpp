#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <catch2/catch.hpp>

#include "fd.h"
#include "helpers.h"

namespace e2e {

RecordProcess::RecordProcess(std::string journal, std::vector<std::string> extra)
    : journal_(std::move(journal)), extra_(std::move(extra)) {}

RecordProcess::~RecordProcess() {
    if (pid_ > 0 && !reaped_) {
        kill(pid_, SIGKILL);
        (void)wait_for(pid_, std::chrono::seconds(10));
    }
    if (reader_.joinable()) reader_.join();
}

void RecordProcess::start() {
    int err_pipe[2];
    REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
    lineage::UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    std::vector<std::string> argv = {lineage_bin(), "record", "--journal", journal_};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    pid_ = spawn(argv[0], argv, {}, -1, -1, err_write.get());
    err_write.reset();
    reader_ = std::thread([this, fd = std::move(err_read)] {
        char buf[4096];
        while (true) {
            ssize_t n = read(fd.get(), buf, sizeof(buf));
            if (n < 0 && errno == EINTR) continue;
            std::lock_guard<std::mutex> lock(mu_);
            if (n <= 0) {
                eof_ = true;
                cv_.notify_all();
                break;
            }
            err_.append(buf, static_cast<size_t>(n));
            cv_.notify_all();
        }
    });

    bool ready = false;
    bool died = false;
    {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, kReadyTimeout, [this] { return has_line_locked("lineage: recording") || eof_; });
        ready = has_line_locked("lineage: recording");
        died = eof_;
    }
    if (!ready) {
        // Died or hung: kill it and show what it said.
        kill(pid_, SIGKILL);
        auto status = wait_for(pid_, std::chrono::seconds(10));
        reaped_ = status.has_value();
        if (reader_.joinable()) reader_.join();
        INFO("lineage record stderr:\n" << stderr_text());
        INFO("lineage record " << (status ? describe_status(*status) : std::string("did not exit")));
        FAIL("lineage record did not print 'lineage: recording' " << (died ? "before it exited" : "within 20 s"));
    }
}

std::string RecordProcess::stop() {
    REQUIRE(pid_ > 0);
    REQUIRE(!reaped_);
    REQUIRE(kill(pid_, SIGINT) == 0);
    auto status = wait_for(pid_, kStopTimeout);
    if (!status) {
        kill(pid_, SIGKILL);
        status = wait_for(pid_, std::chrono::seconds(10));
        reaped_ = status.has_value();
        if (reader_.joinable()) reader_.join();
        INFO("lineage record stderr:\n" << stderr_text());
        FAIL("lineage record did not stop within 20 s of SIGINT");
    }
    reaped_ = true;
    if (reader_.joinable()) reader_.join();
    std::string err = stderr_text();
    INFO("lineage record stderr:\n" << err);
    INFO("lineage record " << describe_status(*status));
    REQUIRE(WIFEXITED(*status));
    REQUIRE(WEXITSTATUS(*status) == 0);
    REQUIRE(has_line("lineage: stopped"));
    return err;
}

std::string RecordProcess::stderr_text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
}

bool RecordProcess::has_line(std::string_view prefix) const {
    std::lock_guard<std::mutex> lock(mu_);
    return has_line_locked(prefix);
}

bool RecordProcess::has_line_locked(std::string_view prefix) const {
    size_t pos = 0;
    while (pos < err_.size()) {
        size_t nl = err_.find('\n', pos);
        if (nl == std::string::npos) return false;
        if (std::string_view(err_).substr(pos, nl - pos).substr(0, prefix.size()) == prefix) return true;
        pos = nl + 1;
    }
    return false;
}

std::unique_ptr<RecordProcess> start_record(const std::string& journal, std::vector<std::string> extra) {
    auto rec = std::make_unique<RecordProcess>(journal, std::move(extra));
    rec->start();
    return rec;
}

}  // namespace e2e
