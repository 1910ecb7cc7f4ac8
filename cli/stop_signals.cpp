#include "stop_signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <ctime>

namespace lineage::cli {

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int64_t> g_stop_signal_ns{0};  // CLOCK_MONOTONIC of the first

// The first signal asks for a clean stop: drain the ring, commit, close the
// run. A second one while that is under way (a journal on a hung disk, say)
// stops at once: _exit leaves the open transaction uncommitted, which SQLite
// discards, and every committed batch stays as it is. Signals within a
// second of the first are the same request (a hung-up terminal sends SIGHUP
// from the kernel and from the shell; systemd sends SIGTERM, then SIGHUP).
void on_stop_signal(int sig) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
    const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    int expected = 0;
    if (g_stop_signal.compare_exchange_strong(expected, sig)) {
        g_stop_signal_ns.store(now);
        return;
    }
    if (now - g_stop_signal_ns.load() < 1'000'000'000) return;
    static const char msg[] =
        "lineage: second signal: stopping now; the batch being written is discarded, "
        "committed batches are kept\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(128 + sig);
}

}  // namespace

void catch_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    // The stop signals do not interrupt each other's handler.
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sa.sa_mask, sig);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    // stderr may be a pipe whose reader went away: a message must never
    // kill the recorder.
    signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() {
    return g_stop_signal.load() != 0;
}

}  // namespace lineage::cli
