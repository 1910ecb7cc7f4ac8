// DNS lookups (issue 21, "Names"; schema version 10): the dns rows of a
// process paired into lookups, its connects named by them, and both shown
// by reconstruct in text and JSON, from a journal written by the writer.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dns_lookup.h"
#include "fixture_journal.h"
#include "test_util.h"

namespace test_dns_lookups {

using namespace fixture;
using lineage::DnsEvent;
using lineage::DnsLookup;
using nlohmann::json;

namespace {

constexpr uint16_t kA = 1, kCname = 5, kAaaa = 28;

// A DNS message as bytes: a header, one question, and answers of type A
// (dotted quad), AAAA (16 bytes given) or CNAME (a name), each owned by the
// question's name through a compression pointer to offset 12.
struct Msg {
    std::string bytes;
    Msg& u8(uint8_t v) {
        bytes.push_back(static_cast<char>(v));
        return *this;
    }
    Msg& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
    Msg& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
    Msg& name(std::string_view dotted) {
        while (!dotted.empty()) {
            const size_t dot = dotted.find('.');
            const std::string_view label = dotted.substr(0, dot);
            u8(static_cast<uint8_t>(label.size()));
            bytes.append(label);
            dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
        }
        return u8(0);
    }
};

std::string query(uint16_t id, std::string_view qname, uint16_t type = kA) {
    Msg m;
    m.u16(id).u16(0x0100).u16(1).u16(0).u16(0).u16(0).name(qname).u16(type).u16(1);
    return m.bytes;
}

struct Answer {
    uint16_t type;
    std::string data;  // A: "a.b.c.d"; CNAME: a name
};

std::string response(uint16_t id, std::string_view qname, const std::vector<Answer>& answers, uint8_t rcode = 0,
                     uint16_t type = kA) {
    Msg m;
    m.u16(id).u16(static_cast<uint16_t>(0x8180 | rcode)).u16(1).u16(static_cast<uint16_t>(answers.size()));
    m.u16(0).u16(0).name(qname).u16(type).u16(1);
    for (const Answer& a : answers) {
        m.u16(0xc00c).u16(a.type).u16(1).u32(300);
        if (a.type == kA) {
            unsigned b[4];
            REQUIRE(std::sscanf(a.data.c_str(), "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4);
            m.u16(4);
            for (unsigned v : b) m.u8(static_cast<uint8_t>(v));
        } else {
            Msg rdata;
            rdata.name(a.data);
            m.u16(static_cast<uint16_t>(rdata.bytes.size()));
            m.bytes += rdata.bytes;
        }
    }
    return m.bytes;
}

// What the probe writes for a message a process's socket sent (to the
// cluster's DNS service) or received (from it).
DnsEvent sent(Proc p, uint64_t t, const std::string& message, uint16_t sport = 40001,
              const std::string& server = "10.96.0.10") {
    DnsEvent e;
    e.time_ns = t;
    e.proc = p;
    e.sent = true;
    e.saddr = "10.244.1.17";
    e.sport = sport;
    e.daddr = server;
    e.dport = 53;
    e.length = static_cast<uint32_t>(message.size());
    e.message = message;
    return e;
}

DnsEvent received(Proc p, uint64_t t, const std::string& message, uint16_t dport = 40001,
                  const std::string& server = "10.96.0.10") {
    DnsEvent e = sent(p, t, message, dport, server);
    e.sent = false;
    std::swap(e.saddr, e.daddr);
    std::swap(e.sport, e.dport);
    return e;
}

const Proc kCurl{18296, at(1043, 200'000'002)};

bool has(const std::string& out, const std::string& what) {
    return out.find(what) != std::string::npos;
}

json node_of(const json& doc, uint32_t pid) {
    std::vector<json> todo{doc.at("trees").begin(), doc.at("trees").end()};
    while (!todo.empty()) {
        json n = todo.back();
        todo.pop_back();
        if (n.at("pid") == pid) return n;
        for (const auto& c : n.at("children")) todo.push_back(c);
    }
    FAIL("no process " << pid);
    return {};
}

// The seed incident, with curl's lookup of attacker.com before its connect
// to the address the answer gave, the query seen twice (two hooks see one
// packet), and a lookup the server refused; and the app's lookup of its
// database's name, answered through a CNAME, before its connect.
FixtureJournal dns_fixture() {
    FixtureJournal fx = incident_fixture();
    fx.dns(sent(kCurl, at(1043, 300'000'000), query(0x1a2b, "attacker.com")));
    fx.dns(sent(kCurl, at(1043, 300'000'500), query(0x1a2b, "attacker.com")));
    fx.dns(received(kCurl, at(1043, 302'000'000), response(0x1a2b, "attacker.com", {{kA, "93.184.216.34"}})));
    fx.dns(sent(kCurl, at(1043, 303'000'000), query(0x1a2c, "attacker.com", kAaaa), 40002));
    fx.dns(received(kCurl, at(1043, 304'000'000), response(0x1a2c, "attacker.com", {}, 5, kAaaa), 40002));
    return fx;
}

}  // namespace

TEST_CASE("pair_dns: each query with its answer, by id and ports", "[dns][model]") {
    std::vector<DnsEvent> m = {
        received(kCurl, 30, response(7, "a.example", {{kA, "192.0.2.1"}})),
        sent(kCurl, 10, query(7, "a.example")),
        // Another query under the same id from another port: its own answer.
        sent(kCurl, 11, query(7, "b.example"), 40009),
        received(kCurl, 31, response(7, "b.example", {{kCname, "c.example"}, {kA, "192.0.2.2"}}), 40009),
        // No answer came.
        sent(kCurl, 50, query(8, "silent.example")),
        // An answer whose query was not recorded.
        received(kCurl, 60, response(9, "late.example", {{kA, "192.0.2.3"}}), 40010),
    };
    const std::vector<DnsLookup> l = lineage::pair_dns(m);
    REQUIRE(l.size() == 4);
    CHECK(l[0].name == "a.example");
    CHECK(l[0].time_ns == 10);
    CHECK(l[0].answered);
    CHECK(l[0].answers == std::vector<std::string>{"192.0.2.1"});
    CHECK(l[0].server == "10.96.0.10");
    CHECK(l[0].server_port == 53);
    CHECK(l[1].name == "b.example");
    CHECK(l[1].answers == std::vector<std::string>{"c.example", "192.0.2.2"});
    CHECK(l[2].name == "silent.example");
    CHECK_FALSE(l[2].answered);
    CHECK(l[2].has_query);
    CHECK(l[3].name == "late.example");
    CHECK_FALSE(l[3].has_query);
    CHECK(l[3].answers == std::vector<std::string>{"192.0.2.3"});

    CHECK(lineage::name_for_address(l, "192.0.2.2", 40) == "b.example");
    CHECK(lineage::name_for_address(l, "192.0.2.2", 5) == "");  // resolved after the connect
    CHECK(lineage::name_for_address(l, "198.51.100.7", 100) == "");
}

TEST_CASE("pair_dns: the same packet twice is one message, a retry later is another", "[dns][model]") {
    std::vector<DnsEvent> m = {sent(kCurl, 10, query(7, "a.example")), sent(kCurl, 11, query(7, "a.example")),
                               sent(kCurl, 10 + 5'000'000'000, query(7, "a.example"))};
    CHECK(lineage::pair_dns(m).size() == 2);
}

TEST_CASE("pair_dns: DNS over TCP, split over segments, retransmitted, two in one", "[dns][model]") {
    auto framed = [](const std::string& m) {
        return std::string{static_cast<char>(m.size() >> 8), static_cast<char>(m.size() & 0xff)} + m;
    };
    auto tcp = [](DnsEvent e) {
        e.tcp = true;
        return e;
    };
    const std::string q1 = framed(query(7, "a.example")), q2 = framed(query(8, "b.example"));
    const std::string r1 = framed(response(7, "a.example", {{kA, "192.0.2.1"}}));
    const std::string r2 = framed(response(8, "b.example", {{kA, "192.0.2.2"}}));
    std::vector<DnsEvent> m = {
        // The first query in two segments, the second one retransmitted.
        tcp(sent(kCurl, 10, q1.substr(0, 9))),
        tcp(sent(kCurl, 11, q1.substr(9))),
        tcp(sent(kCurl, 500'000'000, q1.substr(9))),
        tcp(sent(kCurl, 600'000'000, q2)),
        // Both answers in one segment.
        tcp(received(kCurl, 700'000'000, r1 + r2)),
    };
    const std::vector<DnsLookup> l = lineage::pair_dns(m);
    REQUIRE(l.size() == 2);
    CHECK(l[0].name == "a.example");
    CHECK(l[0].time_ns == 10);
    CHECK(l[0].tcp);
    CHECK(l[0].unparsed == "");
    CHECK(l[0].answers == std::vector<std::string>{"192.0.2.1"});
    CHECK(l[1].name == "b.example");
    CHECK(l[1].answers == std::vector<std::string>{"192.0.2.2"});
}

TEST_CASE("pair_dns: what does not parse is kept and says why", "[dns][model]") {
    std::string cut = query(7, "attacker.com");
    cut.resize(20);
    DnsEvent e = sent(kCurl, 10, cut);
    e.length = 30;  // the probe copied less than the packet held
    std::vector<DnsEvent> m = {e, sent(kCurl, 20, "\x01")};
    const std::vector<DnsLookup> l = lineage::pair_dns(m);
    REQUIRE(l.size() == 2);
    CHECK(l[0].unparsed == "query cut_short (30 bytes, 20 captured)");
    CHECK(l[1].unparsed == "query cut_short (1 bytes)");
}

TEST_CASE("pair_dns: a server's side is served lookups, the asker as client", "[dns][model]") {
    DnsEvent q = received(kCurl, 10, query(7, "a.example"), 53, "10.244.1.50");
    q.sport = 51000;  // the asker's port, to this process's port 53
    q.dport = 53;
    DnsEvent r = sent(kCurl, 11, response(7, "a.example", {{kA, "192.0.2.1"}}), 53, "10.244.1.50");
    r.dport = 51000;
    std::vector<DnsEvent> m = {q, r};
    const std::vector<DnsLookup> l = lineage::pair_dns(m);
    REQUIRE(l.size() == 1);
    CHECK(l[0].served);
    CHECK(l[0].client == "10.244.1.50");
    CHECK(l[0].client_port == 51000);
    CHECK(l[0].answers == std::vector<std::string>{"192.0.2.1"});
    // A served lookup names no connect of the server's.
    CHECK(lineage::name_for_address(l, "192.0.2.1", 100) == "");
}

TEST_CASE("reconstruct shows a process's lookups and names its connects", "[dns][reconstruct]") {
    TempDir dir;
    dns_fixture().write(dir / "j.db");
    auto run = [&](std::vector<std::string> extra) {
        std::vector<std::string> a{"reconstruct", "--journal",    "j.db",    "--since", kIncidentSince,
                                   "--until",     kIncidentUntil, "--color", "never"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_lineage(a, dir.path());
    };
    RunResult text = run({"--pod", kIncidentPodName});
    REQUIRE(text.status == 0);
    CHECK(golden_mismatch("dns.txt", text.out) == "");
    CHECK(has(text.out, "→ dns attacker.com A 93.184.216.34  "));
    CHECK(has(text.out, "→ dns attacker.com AAAA REFUSED  "));
    CHECK(has(text.out, "→ connect 93.184.216.34:80 (attacker.com)  "));
    // Seen twice, shown once.
    CHECK(text.out.find("→ dns attacker.com A ") == text.out.rfind("→ dns attacker.com A "));

    RunResult js = run({"--pod", kIncidentPodName, "--format", "json"});
    REQUIRE(js.status == 0);
    // The golden is checked against schema/reconstruct.schema.json too
    // (test_json_schema.cpp validates every golden JSON file).
    CHECK(golden_mismatch("dns.json", js.out) == "");
    const json curl = node_of(json::parse(js.out), 18296);
    REQUIRE(curl.at("dns").size() == 2);
    const json& a = curl.at("dns").at(0);
    CHECK(a.at("name") == "attacker.com");
    CHECK(a.at("type") == "A");
    CHECK(a.at("answers") == json::array({"93.184.216.34"}));
    CHECK(a.at("answered") == true);
    CHECK(a.at("rcode") == "NOERROR");
    CHECK(a.at("server") == "10.96.0.10");
    CHECK(a.at("server_port") == 53);
    CHECK(a.at("served") == false);
    CHECK(a.at("transport") == "udp");
    CHECK(a.at("unparsed").is_null());
    CHECK(a.at("time") == "2026-04-22T09:00:43.300000000Z");
    CHECK(curl.at("dns").at(1).at("rcode") == "REFUSED");
    CHECK(curl.at("connects").at(0).at("name") == "attacker.com");
    // A process without lookups has no "dns" key, as in an older journal.
    CHECK_FALSE(node_of(json::parse(js.out), 18295).contains("dns"));

    SECTION("a targeted load (--pid) finds the same rows") {
        RunResult one = run({"--pid", "18296", "--format", "json"});
        REQUIRE(one.status == 0);
        CHECK(node_of(json::parse(one.out), 18296).at("dns") == curl.at("dns"));
    }
}

TEST_CASE("a name the attacker chose is escaped in text and valid in JSON", "[dns][reconstruct]") {
    TempDir dir;
    FixtureJournal fx = incident_fixture();
    // A label with a newline, an escape and bytes that are not UTF-8: the
    // parser writes them as \DDD, and the renderers keep them so.
    const std::string evil = std::string("x\n\x1b[31m\xff\xfe") + ".attacker.com";
    fx.dns(sent(kCurl, at(1043, 300'000'000), query(0x77, evil)));
    fx.write(dir / "j.db");
    RunResult text = run_lineage({"reconstruct", "--journal", "j.db", "--pid", "18296"}, dir.path());
    REQUIRE(text.status == 0);
    INFO(text.out);
    CHECK(has(text.out, "→ dns x\\010\\027[31m\\255\\254.attacker.com A (no answer)"));
    CHECK_FALSE(has(text.out, "\x1b[31m"));
    RunResult js = run_lineage({"reconstruct", "--journal", "j.db", "--pid", "18296", "--format", "json"}, dir.path());
    REQUIRE(js.status == 0);
    CHECK(node_of(json::parse(js.out), 18296).at("dns").at(0).at("name") == "x\\010\\027[31m\\255\\254.attacker.com");
}

TEST_CASE("timeline shows each lookup, and the name of a connect, in text and JSON lines", "[dns][timeline]") {
    TempDir dir;
    dns_fixture().write(dir / "j.db");
    RunResult text = run_lineage({"timeline", "--journal", "j.db", "--pod", kIncidentPodName}, dir.path());
    INFO(text.out << text.err);
    REQUIRE(text.status == 0);
    CHECK(has(text.out, "  dns        18296  curl resolves attacker.com A → 93.184.216.34\n"));
    CHECK(has(text.out, "  dns        18296  curl resolves attacker.com AAAA REFUSED\n"));
    CHECK(has(text.out, "  connect    18296  curl → 93.184.216.34:80 (attacker.com)\n"));

    RunResult jl =
        run_lineage({"timeline", "--journal", "j.db", "--pod", kIncidentPodName, "--format", "jsonl"}, dir.path());
    REQUIRE(jl.status == 0);
    std::vector<std::string> files;
    std::vector<json> dns;
    std::istringstream lines(jl.out);
    for (std::string line; std::getline(lines, line);) {
        json obj = json::parse(line);
        if (obj.at("event") != "dns" && obj.at("event") != "connect") continue;
        if (obj.at("event") == "dns") dns.push_back(obj);
        files.push_back(dir / ("event" + std::to_string(files.size()) + ".json"));
        write_file(files.back(), line);
    }
    REQUIRE(dns.size() == 2);
    CHECK(schema_errors("timeline.schema.json", files) == "");
    CHECK(dns[0].at("name") == "attacker.com");
    CHECK(dns[0].at("answers") == json::array({"93.184.216.34"}));
    CHECK(dns[0].at("rcode") == "NOERROR");
    CHECK(dns[1].at("rcode") == "REFUSED");
}

}  // namespace test_dns_lookups
