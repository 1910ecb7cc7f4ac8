// The decoder is the only reader of the ring-buffer wire format.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "event.h"
#include "events.h"

using namespace lineage;

namespace {
std::vector<char> exec_record(const std::string& binary, const std::string& cgroup_names, const std::string& argv) {
    std::vector<char> buf(sizeof(lineage_exec_event) + binary.size() + cgroup_names.size() + argv.size());
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
    std::memcpy(e.comm, "curl", sizeof("curl"));
    std::memcpy(e.parent_comm, "sh", sizeof("sh"));
    std::memcpy(e.nodename, "my-app-6d4f9-xk2p1", sizeof("my-app-6d4f9-xk2p1"));
    std::memcpy(buf.data(), &e, sizeof(e));
    char* tail = buf.data() + sizeof(e);
    std::memcpy(tail, binary.data(), binary.size());
    std::memcpy(tail + binary.size(), cgroup_names.data(), cgroup_names.size());
    std::memcpy(tail + binary.size() + cgroup_names.size(), argv.data(), argv.size());
    return buf;
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

TEST_CASE("argv and cgroup name splitting", "[decode]") {
    CHECK(split_argv(std::string("a\0\0b\0", 5)) == std::vector<std::string>{"a", "", "b"});
    CHECK(split_argv(std::string("cut-at-ca", 9)) == std::vector<std::string>{"cut-at-ca"});
    CHECK(split_argv("").empty());
    CHECK(cgroup_path_from_names("") == "/");
    CHECK(cgroup_path_from_names(std::string("b\0a\0", 4)) == "/a/b");
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
            h->type = 1 + round % 4;
            h->size = static_cast<__u32>(round % buf.size());
        }
        size_t size = static_cast<size_t>(state % buf.size());
        auto ev = decode_event(buf.data(), size);
        (void)ev;
    }
    SUCCEED("no crash, no sanitizer report");
}
