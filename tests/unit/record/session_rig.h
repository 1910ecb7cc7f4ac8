#pragma once
// Synthetic ring-buffer records and a record session over a fake event
// source, in a temporary directory: shared by the recorder's tests and the
// journal lock's.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "event_source.h"
#include "events.h"
#include "record_session.h"
#include "sqlite.h"
#include "test_util.h"

namespace lineage::test {

inline lineage_fork_event fork_record(uint32_t child, uint64_t t) {
    lineage_fork_event f{};
    f.hdr = {LINEAGE_EV_FORK, sizeof(f), t};
    f.parent = {1, 0, 5};
    f.child = {child, 0, t};
    std::memcpy(f.parent_comm, "init", sizeof("init"));
    return f;
}

// Every record it has is handed over at the next poll or drain; drops()
// fails while fail_drops is set.
class FakeSource : public EventSource {
public:
    explicit FakeSource(RecordSink sink) : sink_(std::move(sink)) {}
    Result<int> poll(int timeout_ms) override {
        ++polls;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeout_ms, 5)));
        return drain();
    }
    Result<int> drain() override {
        int n = 0;
        for (const auto& r : records) {
            sink_(r.data(), r.size());
            ++n;
        }
        records.clear();
        return n;
    }
    Result<DropCounters> drops() const override {
        ++drop_reads;
        if (fail_drops) return Error{"cannot read the ring buffer's drop counters: fake"};
        return counters;
    }
    const std::string& hooks() const override { return hooks_; }

    std::vector<std::vector<char>> records;
    DropCounters counters;
    bool fail_drops = false;
    int polls = 0;
    mutable int drop_reads = 0;

private:
    RecordSink sink_;
    std::string hooks_ = "fake/fork,fake/exec";
};

inline std::vector<char> fork_bytes(uint32_t child, uint64_t t) {
    auto f = fork_record(child, t);
    std::vector<char> bytes(sizeof(f));
    std::memcpy(bytes.data(), &f, sizeof(f));
    return bytes;
}

// A session over a FakeSource, in a temporary directory, saying into `lines`.
struct SessionRig {
    TempDir dir;
    RecordOptions options;
    RecordHooks hooks;
    FakeSource* source = nullptr;
    std::vector<std::string> lines;
    bool signals_caught = false;
    // Called at every turn of the loop; returns true to stop.
    std::function<bool(FakeSource&)> turn = [](FakeSource&) { return true; };

    SessionRig() {
        options.journal = dir / "j.db";
        options.anchor_log = dir / "anchors.log";
        hooks.start_source = [this](const ProbeCgroups&, RecordSink sink) -> Result<std::unique_ptr<EventSource>> {
            auto fake = std::make_unique<FakeSource>(std::move(sink));
            source = fake.get();
            return std::unique_ptr<EventSource>(std::move(fake));
        };
        hooks.catch_stop_signals = [this] { signals_caught = true; };
        hooks.stop_requested = [this] { return turn(*source); };
        hooks.say = [this](const std::string& line) { lines.push_back(line); };
    }
    Result<int> run() { return run_record_session(options, hooks); }
    size_t said(const std::string& prefix) const {
        return static_cast<size_t>(
            std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
    }
    Database db() {
        auto db = Database::open_read("file:" + options.journal + "?mode=ro");
        REQUIRE(db.ok());
        return std::move(*db);
    }
    std::string stop_reason() {
        auto d = db();
        auto s = d.prepare("SELECT reason FROM run_stops");
        REQUIRE(s.ok());
        REQUIRE(s->step() == SQLITE_ROW);
        return s->text(0);
    }
};

}  // namespace lineage::test
