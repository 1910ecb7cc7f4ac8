// The recorder's heartbeat: its JSON both ways, what a reader refuses, the
// last minute's counts, and the file replaced whole.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "fd.h"
#include "heartbeat.h"
#include "test_files.h"

namespace test_heartbeat {

using namespace lineage;
using lineage::test::read_file;
using lineage::test::TempDir;
using lineage::test::write_file;
namespace fs = std::filesystem;

namespace {

Heartbeat sample() {
    Heartbeat h;
    h.phase = "recording";
    h.pid = 4242;
    h.boot_id = "b0000000-0000-4000-8000-000000000001";
    h.journal_dev = 2049;
    h.journal_ino = 131090;
    h.version = "0.1.0";
    h.node = "node-1";
    h.run_id = 3;
    h.started_boot_ns = 1'000'000'000'000;
    h.started_wall_ns = 1'776'848'400'000'000'000;
    h.written_boot_ns = 1'060'000'000'000;
    h.written_wall_ns = 1'776'848'460'000'000'000;
    h.batch_interval_ns = 100'000'000;
    h.filters_json = R"({"cgroups":["/kubepods.slice"],"kube_only":true})";
    h.max_size_bytes = int64_t{2} << 30;
    h.retain_ns = 90 * 86'400'000'000'000;
    h.argv_cap = 4096;
    h.ring_bytes = 8 << 20;
    h.anchor_interval_ns = 300'000'000'000;
    h.last_batch = 600;
    h.last_commit_boot_ns = 1'059'950'000'000;
    h.last_commit_wall_ns = 1'776'848'459'950'000'000;
    h.run = {100'000, 28, 3, 1};
    h.last_minute = {6'000, 28, 0, 0};
    h.last_minute_span_ns = 60'500'000'000;
    h.journal_writable = false;
    h.journal_error = "database or disk is full";
    h.anchor_batch = 590;
    h.anchor_wall_ns = 1'776'848'400'100'000'000;
    h.anchor_hash = std::string(64, 'a');
    return h;
}

std::string mutate(const std::string& text, const std::function<void(nlohmann::json&)>& edit) {
    auto j = nlohmann::json::parse(text);
    edit(j);
    return j.dump();
}

}  // namespace

TEST_CASE("heartbeat: written and read back field by field", "[heartbeat]") {
    const Heartbeat h = sample();
    const std::string text = heartbeat_json(h);
    CHECK(text.back() == '\n');
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    auto back = parse_heartbeat(text);
    REQUIRE(back.ok());
    CHECK(heartbeat_json(*back) == text);
    CHECK(back->phase == "recording");
    CHECK(back->pid == 4242);
    CHECK(back->journal_ino == 131090);
    CHECK(back->run == h.run);
    CHECK(back->last_minute == h.last_minute);
    CHECK(back->filters_json == R"({"cgroups":["/kubepods.slice"],"kube_only":true})");
    CHECK_FALSE(back->journal_writable);
    CHECK(back->journal_error == "database or disk is full");
    CHECK(back->anchor_hash == std::string(64, 'a'));
}

TEST_CASE("heartbeat: bytes that are not UTF-8 are replaced, not thrown on", "[heartbeat]") {
    Heartbeat h = sample();
    h.node = "n\xff\xfe";
    const std::string text = heartbeat_json(h);
    auto back = parse_heartbeat(text);
    REQUIRE(back.ok());
    CHECK(back->node == "n\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("heartbeat: what a reader refuses", "[heartbeat]") {
    const std::string good = heartbeat_json(sample());
    struct Case {
        std::string text, error;
    };
    for (const auto& c : {
             Case{"", "not a JSON object"},
             Case{"[1]", "not a JSON object"},
             Case{good.substr(0, good.size() / 2), "not a JSON object"},
             Case{mutate(good, [](auto& j) { j["format"] = 2; }), "heartbeat format 2 is not known to this lineage"},
             Case{mutate(good, [](auto& j) { j.erase("pid"); }), "no 'pid'"},
             Case{mutate(good, [](auto& j) { j["pid"] = "4242"; }), "'pid' is not an integer"},
             Case{mutate(good, [](auto& j) { j["pid"] = 0; }), "'pid' is not a process id"},
             Case{mutate(good, [](auto& j) { j["run"]["stored"] = -1; }), "'stored' is not a count"},
             Case{mutate(good, [](auto& j) { j["written"] = 5; }), "'written' is not an object"},
             Case{mutate(good, [](auto& j) { j["phase"] = "dancing"; }),
                  "'phase' is not starting, recording or stopped"},
             Case{mutate(good, [](auto& j) { j["journal_writable"] = 1; }), "'journal_writable' is not true or false"},
             Case{mutate(good, [](auto& j) { j["options"]["batch_interval_ns"] = 0; }),
                  "'batch_interval_ns' is not a duration"},
             Case{mutate(good, [](auto& j) { j["started"]["wall_ns"] = 1e300; }), "'wall_ns' is not an integer"},
             Case{mutate(good, [](auto& j) { j["started"]["wall_ns"] = UINT64_MAX; }),
                  "'wall_ns' is not a 64-bit integer"},
         }) {
        INFO(c.text);
        auto h = parse_heartbeat(c.text);
        REQUIRE_FALSE(h.ok());
        CHECK(h.error().message == c.error);
    }
}

TEST_CASE("heartbeat: the file, written in place and read", "[heartbeat]") {
    TempDir dir;
    const std::string journal = dir / "j.db";
    write_file(journal, "");
    REQUIRE(chmod(journal.c_str(), 0640) == 0);
    const std::string path = heartbeat_path(journal);
    CHECK(path == journal + ".heartbeat");
    HeartbeatFile file(path, -1);

    SECTION("a reader sees one heartbeat or the next, with the journal's mode") {
        UniqueFd fd(::open(journal.c_str(), O_RDONLY | O_CLOEXEC));
        HeartbeatFile beside(path, fd.get());
        Heartbeat h = sample();
        REQUIRE(beside.write(h).ok());
        h.run_id = 4;
        REQUIRE(beside.write(h).ok());
        auto back = read_heartbeat(path);
        REQUIRE(back.ok());
        CHECK(back->run_id == 4);
        struct stat st {};
        REQUIRE(stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);
        CHECK_FALSE(fs::exists(path + ".tmp"));
    }
    SECTION("a link planted as its temporary file is removed, not followed") {
        write_file(dir / "victim", "keep me\n");
        fs::create_symlink(dir / "victim", path + ".tmp");
        REQUIRE(file.write(sample()).ok());
        CHECK(read_file(dir / "victim") == "keep me\n");
        CHECK(read_heartbeat(path).ok());
    }
    SECTION("refused: missing, too large, not a heartbeat") {
        auto missing = read_heartbeat(path);
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error().code == ENOENT);
        write_file(path, std::string(70 * 1024, ' '));
        CHECK(read_heartbeat(path).error().message == path + ": 71680 bytes, too large for a heartbeat");
        write_file(path, "{}");
        CHECK(read_heartbeat(path).error().message == path + ": not a lineage heartbeat: not a JSON line");
        write_file(path, "{}\n");
        CHECK(read_heartbeat(path).error().message == path + ": not a lineage heartbeat: no checksum line");
        Heartbeat h = sample();
        h.pid = 0;
        write_file(path, encode_heartbeat_file(h));
        CHECK(read_heartbeat(path).error().message == path + ": not a lineage heartbeat: 'pid' is not a process id");
    }
    SECTION("a write caught half done is told by its checksum") {
        REQUIRE(file.write(sample()).ok());
        std::string text = read_file(path);
        CHECK(text.size() == 4096);
        CHECK(text.back() == '\n');
        auto decoded = decode_heartbeat_file(text);
        REQUIRE(decoded.ok());
        // Half of a later heartbeat over this one: its first bytes are new.
        Heartbeat later = sample();
        later.anchor_batch = 591;  // early in the line (keys are sorted)
        later.run_id = 99;         // late in it
        const std::string next = encode_heartbeat_file(later);
        std::string torn = text;
        torn.replace(0, next.size() / 2, next.substr(0, next.size() / 2));
        CHECK(decode_heartbeat_file(torn).error().message == "the checksum does not match");
        write_file(path, torn);
        CHECK(read_heartbeat(path).error().message == path + ": not a lineage heartbeat: the checksum does not match");
        std::string trailing = text;
        trailing[4000] = 'x';
        CHECK(decode_heartbeat_file(trailing).error().message == "bytes after the checksum line");
    }
    SECTION("overwritten in place, in one file, at a whole number of pages") {
        REQUIRE(file.write(sample()).ok());
        struct stat first {};
        REQUIRE(stat(path.c_str(), &first) == 0);
        Heartbeat big = sample();
        big.journal_error = std::string(5000, 'e');
        REQUIRE(file.write(big).ok());
        REQUIRE(file.write(sample()).ok());
        struct stat after {};
        REQUIRE(stat(path.c_str(), &after) == 0);
        CHECK(after.st_ino == first.st_ino);
        CHECK(after.st_size == 8192);  // it grew and stays: no truncation a reader could see
        auto back = read_heartbeat(path);
        REQUIRE(back.ok());
        CHECK(back->journal_error == sample().journal_error);
    }
    SECTION("believed only for its own journal, on this boot") {
        struct stat st {};
        REQUIRE(stat(journal.c_str(), &st) == 0);
        Heartbeat h = sample();
        h.journal_dev = st.st_dev;
        h.journal_ino = st.st_ino;
        REQUIRE(file.write(h).ok());
        CHECK(journal_heartbeat(journal, st.st_dev, st.st_ino, h.boot_id).ok());
        CHECK(journal_heartbeat(journal, st.st_dev, st.st_ino + 1, h.boot_id).error().message ==
              path + " is the heartbeat of another file of that name");
        CHECK(journal_heartbeat(journal, st.st_dev, st.st_ino, "another boot").error().message ==
              path + " was written before the node last booted");
        fs::remove(path);
        auto none = journal_heartbeat(journal, st.st_dev, st.st_ino, h.boot_id);
        CHECK(none.error().message == "no heartbeat at " + path);
        CHECK(none.error().code == ENOENT);
    }
}

TEST_CASE("heartbeat: the last minute's counts", "[heartbeat]") {
    constexpr int64_t kS = 1'000'000'000;
    MinuteWindow window;
    int64_t span = -1;
    EventCounts totals;
    CHECK(window.last_minute(0, totals, &span) == EventCounts{});
    CHECK(span == 0);
    // One event a second for 200 s, and one drop at 130 s; sampled every
    // 100 ms, as the recorder's loop does.
    for (int64_t t = 0; t <= 200 * kS; t += kS / 10) {
        if (t % kS == 0) ++totals.stored;
        if (t == 130 * kS) totals.ringbuf_full = 1;
        window.add(t, totals);
        if (t == 30 * kS) {
            // A young run: all of it.
            CHECK(window.last_minute(t, totals, &span).stored == 30);
            CHECK(span == 30 * kS);
        }
    }
    auto minute = window.last_minute(200 * kS, totals, &span);
    CHECK(span >= 60 * kS);
    CHECK(span <= 61 * kS);
    CHECK(minute.stored == static_cast<uint64_t>(span / kS));
    CHECK(minute.ringbuf_full == 0);  // 130 s is more than a minute before 200 s

    MinuteWindow recent;
    EventCounts t2;
    for (int64_t t = 0; t <= 200 * kS; t += kS / 10) {
        if (t == 170 * kS) t2.ringbuf_full = 3;
        recent.add(t, t2);
    }
    CHECK(recent.last_minute(200 * kS, t2, &span).ringbuf_full == 3);
    // Read later without new samples: what aged out no longer counts.
    CHECK(recent.last_minute(240 * kS, t2, &span).ringbuf_full == 0);
}

}  // namespace test_heartbeat
