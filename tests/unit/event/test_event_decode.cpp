// The decoder is the only reader of the ring-buffer wire format.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "event.h"
#include "events.h"

namespace test_event_decode {

using namespace lineage;

namespace {
// An exec record as the probe writes it; file_names and interpreter go
// between the cgroup names and argv, with the file block's lengths.
std::vector<char> exec_record(const std::string& binary, const std::string& cgroup_names, const std::string& argv,
                              const lineage_exec_file& file = {}, const std::string& file_names = "",
                              const std::string& interpreter = "") {
    std::vector<char> buf(sizeof(lineage_exec_event) + binary.size() + cgroup_names.size() + file_names.size() +
                          interpreter.size() + argv.size());
    lineage_exec_event e{};
    e.hdr.type = LINEAGE_EV_EXEC;
    e.hdr.size = static_cast<__u32>(buf.size());
    e.hdr.time_ns = 5'000'000'123;
    e.proc = {4242, 0, 1'000'123'456'789};
    e.parent = {4200, 0, 999'000'000'000};
    e.nspid = 7;
    e.uid = 1000;
    e.gid = 1001;
    e.euid = 0;
    e.flags = LINEAGE_EXEC_ARGV_TRUNCATED;
    e.binary_len = static_cast<__u16>(binary.size());
    e.cgroup_len = static_cast<__u16>(cgroup_names.size());
    e.argv_len = static_cast<__u16>(argv.size());
    e.file = file;
    e.file.path_len = static_cast<__u16>(file_names.size());
    e.file.interp_len = static_cast<__u16>(interpreter.size());
    std::memcpy(e.comm, "curl", sizeof("curl"));
    std::memcpy(e.parent_comm, "sh", sizeof("sh"));
    std::memcpy(e.nodename, "my-app-6d4f9-xk2p1", sizeof("my-app-6d4f9-xk2p1"));
    std::memcpy(buf.data(), &e, sizeof(e));
    char* tail = buf.data() + sizeof(e);
    for (const std::string* part : {&binary, &cgroup_names, &file_names, &interpreter, &argv}) {
        std::memcpy(tail, part->data(), part->size());
        tail += part->size();
    }
    return buf;
}

lineage_exec_file script_file() {
    lineage_exec_file f{};
    f.dev = (8u << 20) | 1;  // the kernel's encoding of 8:1
    f.ino = 1234567;
    f.size = 125688;
    f.mtime_sec = 1'700'000'000;
    f.mtime_nsec = 123'456'789;
    f.nlink = 1;
    f.mode = 0104755;
    f.flags = LINEAGE_FILE_KNOWN | LINEAGE_FILE_SCRIPT | LINEAGE_FILE_UPPER_KNOWN | LINEAGE_FILE_SECUREEXEC;
    f.before = {1000, 1000, 1000, 1000, 0, 0};
    f.after = {1000, 1000, 0, 1000, 0x1ffffffffffULL, 0x1ffffffffffULL};
    return f;
}

lineage_exec_event& header_of(std::vector<char>& rec) {
    return *reinterpret_cast<lineage_exec_event*>(rec.data());
}
}  // namespace

TEST_CASE("exec records decode every field", "[decode]") {
    std::string names("leaf.scope\0pod.slice\0kubepods.slice\0", 36);
    std::string argv("curl\0-d\0@/etc/passwd\0", 21);
    auto rec = exec_record("/usr/bin/curl", names, argv);
    auto ev = decode_event(rec.data(), rec.size());
    REQUIRE(ev.ok());
    const auto& e = std::get<ExecEvent>(*ev);
    CHECK(e.time_ns == 5'000'000'123u);
    CHECK(e.proc.tgid == 4242);
    CHECK(e.proc.start_ns == 1'000'123'456'789u);
    CHECK(e.parent.tgid == 4200);
    CHECK(e.nspid == 7);
    CHECK(e.uid == 1000);
    CHECK(e.gid == 1001);
    CHECK(e.euid == 0);
    CHECK(e.truncated == kArgvTruncated);
    CHECK(e.comm == "curl");
    CHECK(e.parent_comm == "sh");
    CHECK(e.nodename == "my-app-6d4f9-xk2p1");
    CHECK(e.binary == "/usr/bin/curl");
    CHECK(e.cgroup_path == "/kubepods.slice/pod.slice/leaf.scope");
    CHECK(split_argv(e.argv) == std::vector<std::string>{"curl", "-d", "@/etc/passwd"});
}

TEST_CASE("records whose sizes do not add up are refused, never read past", "[decode]") {
    auto rec = exec_record("/bin/sh", "", std::string("sh\0", 3));
    SECTION("cut short") {
        auto ev = decode_event(rec.data(), rec.size() - 1);
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("only"));
    }
    SECTION("lengths larger than the record") {
        auto* e = reinterpret_cast<lineage_exec_event*>(rec.data());
        e->argv_len = 60000;
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("does not match"));
    }
    SECTION("shorter than a header") {
        auto ev = decode_event(rec.data(), 8);
        REQUIRE_FALSE(ev.ok());
    }
    SECTION("unknown type") {
        auto* e = reinterpret_cast<lineage_exec_event*>(rec.data());
        e->hdr.type = 99;
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("unknown event type 99"));
    }
    SECTION("fork record shorter than its struct") {
        lineage_fork_event f{};
        f.hdr.type = LINEAGE_EV_FORK;
        f.hdr.size = 20;
        auto ev = decode_event(&f, 20);
        REQUIRE_FALSE(ev.ok());
    }
}

TEST_CASE("fork, exit and connect records", "[decode]") {
    lineage_fork_event f{};
    f.hdr = {LINEAGE_EV_FORK, sizeof(f), 77};
    f.parent = {10, 0, 100};
    f.child = {11, 0, 200};
    std::memcpy(f.parent_comm, "bash", sizeof("bash"));
    auto fe = decode_event(&f, sizeof(f));
    REQUIRE(fe.ok());
    CHECK(std::get<ForkEvent>(*fe).child.tgid == 11);
    CHECK(std::get<ForkEvent>(*fe).parent.start_ns == 100);
    CHECK(std::get<ForkEvent>(*fe).parent_comm == "bash");

    lineage_exit_event x{};
    x.hdr = {LINEAGE_EV_EXIT, sizeof(x), 88};
    x.proc = {11, 0, 200};
    x.exit_code = 3 << 8;
    auto xe = decode_event(&x, sizeof(x));
    REQUIRE(xe.ok());
    CHECK(std::get<ExitEvent>(*xe).code == 3);
    CHECK(std::get<ExitEvent>(*xe).signal == 0);
    x.exit_code = 9;
    CHECK(std::get<ExitEvent>(*decode_event(&x, sizeof(x))).signal == 9);
    CHECK(std::get<ExitEvent>(*decode_event(&x, sizeof(x))).code == 0);
    x.exit_code = 11 | 0x80;
    CHECK(std::get<ExitEvent>(*decode_event(&x, sizeof(x))).core_dumped);

    lineage_connect_event c{};
    c.hdr = {LINEAGE_EV_CONNECT, sizeof(c), 99};
    c.proc = {11, 0, 200};
    c.syn_time_ns = 95;
    c.family = AF_INET6;
    c.sport = 40000;
    c.dport = 443;
    c.result = LINEAGE_CONNECT_OK;
    inet_pton(AF_INET6, "::1", c.daddr);
    inet_pton(AF_INET6, "fe80::1", c.saddr);
    auto ce = decode_event(&c, sizeof(c));
    REQUIRE(ce.ok());
    const auto& conn = std::get<ConnectEvent>(*ce);
    CHECK(conn.family == 6);
    CHECK(conn.daddr == "::1");
    CHECK(conn.saddr == "fe80::1");
    CHECK(conn.time_ns == 95);
    CHECK(conn.outcome_ns == 99);
    CHECK(conn.established);
    c.family = 77;
    CHECK_FALSE(decode_event(&c, sizeof(c)).ok());
}

TEST_CASE("an exec record's file block: path, identity, flags, interpreter, credentials", "[decode]") {
    std::string names("dash\0bin\0usr\0", 14);
    std::string argv("script.sh\0", 10);
    auto rec = exec_record("/tmp/script.sh", std::string("leaf\0", 5), argv, script_file(), names, "/bin/sh");
    auto ev = decode_event(rec.data(), rec.size());
    REQUIRE(ev.ok());
    const auto& e = std::get<ExecEvent>(*ev);
    CHECK(e.binary == "/tmp/script.sh");
    CHECK(e.cgroup_path == "/leaf");
    CHECK(split_argv(e.argv) == std::vector<std::string>{"script.sh"});
    REQUIRE(e.file);
    const ExecFile& f = *e.file;
    CHECK(f.path == "/usr/bin/dash");
    CHECK(f.interpreter == "/bin/sh");
    CHECK(f.dev == makedev(8, 1));
    CHECK(f.ino == 1234567);
    CHECK(f.size == 125688);
    CHECK(f.nlink == 1);
    CHECK(f.mode == 0104755);
    CHECK(f.mtime_ns == 1'700'000'000'123'456'789);
    // The kFile* bits as the probe set them; KNOWN is the optional itself.
    CHECK(f.flags == (kFileScript | kFileUpperKnown | kFileSecureExec));
    CHECK(f.before == Credentials{1000, 1000, 1000, 1000, 0, 0});
    CHECK(f.after.euid == 0);
    CHECK(f.after.cap_effective == 0x1ffffffffffULL);
}

TEST_CASE("an exec record's file block: edge values", "[decode]") {
    SECTION("a large device number converts with makedev") {
        lineage_exec_file f = script_file();
        f.dev = (259u << 20) | 0xfffff;
        auto rec = exec_record("/x", "", "", f, std::string("x\0", 2));
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE(ev.ok());
        CHECK(std::get<ExecEvent>(*ev).file->dev == makedev(259, 0xfffff));
    }
    SECTION("an mtime past 2262 saturates instead of overflowing") {
        lineage_exec_file f = script_file();
        f.mtime_sec = INT64_MAX / 2;
        auto rec = exec_record("/x", "", "", f, std::string("x\0", 2));
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE(ev.ok());
        CHECK(std::get<ExecEvent>(*ev).file->mtime_ns == INT64_MAX);
    }
    SECTION("a memfd's one name") {
        lineage_exec_file f = script_file();
        f.flags = LINEAGE_FILE_KNOWN | LINEAGE_FILE_MEMFD | LINEAGE_FILE_DELETED | LINEAGE_FILE_UPPER_KNOWN;
        auto rec = exec_record("/proc/self/fd/3", "", "", f, std::string("memfd:payload\0", 14));
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE(ev.ok());
        CHECK(std::get<ExecEvent>(*ev).file->path == "/memfd:payload");
        CHECK(std::get<ExecEvent>(*ev).file->flags == (kFileMemfd | kFileDeleted | kFileUpperKnown));
        CHECK(std::get<ExecEvent>(*ev).file->interpreter.empty());
    }
    SECTION("no names: an empty path, not the root") {
        lineage_exec_file f = script_file();
        f.flags = LINEAGE_FILE_KNOWN | LINEAGE_FILE_PATH_TRUNCATED;
        auto rec = exec_record("/x", "", "", f);
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE(ev.ok());
        CHECK(std::get<ExecEvent>(*ev).file->path.empty());
        CHECK(std::get<ExecEvent>(*ev).file->flags == kFilePathTruncated);
    }
    SECTION("a record without LINEAGE_FILE_KNOWN says nothing of its file") {
        auto rec = exec_record("/x", "", std::string("x\0", 2));
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE(ev.ok());
        CHECK_FALSE(std::get<ExecEvent>(*ev).file.has_value());
    }
}

TEST_CASE("hostile exec file blocks are refused, never read past", "[decode]") {
    std::string names("true\0bin\0", 9);
    auto rec = exec_record("/bin/true", "", std::string("true\0", 5), script_file(), names, "/bin/sh");
    SECTION("a path length past the record") {
        header_of(rec).file.path_len = 60000;
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("does not match"));
    }
    SECTION("an interpreter length past the record") {
        header_of(rec).file.interp_len = 1;
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("does not match"));
    }
    SECTION("lengths that add up but move a name's NUL out of the names") {
        // One byte more of names, one less of interpreter: the names end with '/'.
        header_of(rec).file.path_len = static_cast<__u16>(names.size() + 1);
        header_of(rec).file.interp_len = 6;
        auto ev = decode_event(rec.data(), rec.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("do not end with a NUL"));
    }
    SECTION("names without any NUL") {
        auto bare = exec_record("/bin/true", "", "", script_file(), "truebin");
        auto ev = decode_event(bare.data(), bare.size());
        REQUIRE_FALSE(ev.ok());
        CHECK_THAT(ev.error().message, Catch::Contains("do not end with a NUL"));
    }
    SECTION("a record cut inside the file block") {
        auto ev = decode_event(rec.data(), offsetof(lineage_exec_event, file) + 8);
        REQUIRE_FALSE(ev.ok());
    }
    SECTION("empty names between NULs are skipped, bytes kept as they are") {
        auto odd = exec_record("/x", "", "", script_file(), std::string("\xff\n\0\0a\0", 6));
        auto ev = decode_event(odd.data(), odd.size());
        REQUIRE(ev.ok());
        CHECK(std::get<ExecEvent>(*ev).file->path == "/a/\xff\n");
    }
}

TEST_CASE("listen records", "[decode]") {
    lineage_listen_event l{};
    l.hdr = {LINEAGE_EV_LISTEN, sizeof(l), 123};
    l.proc = {31337, 0, 555};
    l.family = AF_INET;
    l.port = 4444;
    inet_pton(AF_INET, "127.0.0.1", l.addr);
    auto le = decode_event(&l, sizeof(l));
    REQUIRE(le.ok());
    const auto& v4 = std::get<ListenEvent>(*le);
    CHECK(v4.time_ns == 123);
    CHECK(v4.proc.tgid == 31337);
    CHECK(v4.proc.start_ns == 555);
    CHECK(v4.family == 4);
    CHECK(v4.addr == "127.0.0.1");
    CHECK(v4.port == 4444);

    l.family = AF_INET6;
    std::memset(l.addr, 0, sizeof(l.addr));
    auto le6 = decode_event(&l, sizeof(l));
    REQUIRE(le6.ok());
    CHECK(std::get<ListenEvent>(*le6).family == 6);
    CHECK(std::get<ListenEvent>(*le6).addr == "::");

    l.family = 77;
    CHECK_FALSE(decode_event(&l, sizeof(l)).ok());
    l.family = AF_INET;
    l.hdr.size = sizeof(l) - 1;
    CHECK_FALSE(decode_event(&l, sizeof(l) - 1).ok());
}

TEST_CASE("argv and cgroup name splitting", "[decode]") {
    CHECK(split_argv(std::string("a\0\0b\0", 5)) == std::vector<std::string>{"a", "", "b"});
    CHECK(split_argv(std::string("cut-at-ca", 9)) == std::vector<std::string>{"cut-at-ca"});
    CHECK(split_argv("").empty());
    CHECK(cgroup_path_from_names("") == "/");
    CHECK(cgroup_path_from_names(std::string("b\0a\0", 4)) == "/a/b");
    CHECK(file_path_from_names("") == "");
    CHECK(file_path_from_names(std::string("b\0a\0", 4)) == "/a/b");
}

TEST_CASE("random bytes never crash the decoder", "[decode]") {
    uint64_t state = 0x1234567;
    std::vector<char> buf(512);
    for (int round = 0; round < 20000; ++round) {
        for (auto& c : buf) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            c = static_cast<char>(state >> 56);
        }
        // Make the header plausible half the time, so deeper paths are hit.
        if (round % 2) {
            auto* h = reinterpret_cast<lineage_hdr*>(buf.data());
            h->type = 1 + round % 7;
            h->size = static_cast<__u32>(round % buf.size());
        }
        size_t size = static_cast<size_t>(state % buf.size());
        auto ev = decode_event(buf.data(), size);
        (void)ev;
    }
    SUCCEED("no crash, no sanitizer report");
}

}  // namespace test_event_decode
