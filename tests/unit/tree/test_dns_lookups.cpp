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

#include <map>
#include <set>

#include "dns_lookup.h"
#include "fixture_journal.h"
#include "journal_reader.h"
#include "journal_writer.h"
#include "load_plan.h"
#include "reconstruct.h"
#include "render.h"
#include "sqlite.h"
#include "test_util.h"

namespace test_dns_lookups {

using namespace fixture;
using lineage::DnsEvent;
using lineage::DnsLookup;
using nlohmann::json;

namespace {

constexpr uint16_t kA = 1, kCname = 5, kMx = 15, kAaaa = 28;

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

TEST_CASE("pair_dns: a UDP datagram never answers a query sent over TCP", "[dns][model]") {
    // One local port for a TCP connection and a UDP socket (legal): the
    // query went over TCP, a UDP datagram with its id comes first, then the
    // TCP answer. Each answer pairs within its own transport.
    const std::string q = query(7, "decoy.example");
    const std::string tcp_answer = response(7, "decoy.example", {{kA, "192.0.2.7"}});
    DnsEvent sent_tcp = sent(kCurl, 1000, std::string{'\0', static_cast<char>(q.size())} + q, 40000);
    sent_tcp.tcp = true;
    DnsEvent udp = received(kCurl, 2000, response(7, "evil.attacker.com", {{kA, "192.0.2.66"}}), 40000);
    DnsEvent got_tcp =
        received(kCurl, 3000, std::string{'\0', static_cast<char>(tcp_answer.size())} + tcp_answer, 40000);
    got_tcp.tcp = true;
    std::vector<DnsEvent> packets{sent_tcp, udp, got_tcp};
    const std::vector<DnsLookup> lookups = lineage::pair_dns(packets);
    REQUIRE(lookups.size() == 2);
    CHECK(lookups[0].name == "decoy.example");
    CHECK(lookups[0].tcp);
    CHECK(lookups[0].answers == std::vector<std::string>{"192.0.2.7"});
    CHECK(lookups[1].name == "evil.attacker.com");
    CHECK_FALSE(lookups[1].has_query);
    // The TCP rows alone pair the same (the loader's check of them).
    std::vector<DnsEvent> tcp_only{sent_tcp, got_tcp};
    const std::vector<DnsLookup> alone = lineage::pair_dns(tcp_only);
    REQUIRE(alone.size() == 1);
    CHECK(alone[0].answers == lookups[0].answers);
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

// ---------------------------------------------------------------- --dns GLOB

TEST_CASE("dns selector: the rule of a name glob, and its key in the journal's index", "[dns][selector]") {
    using lineage::dns_glob_key_prefix;
    using lineage::dns_name_key;
    using lineage::dns_name_matches;
    using lineage::dns_name_of_key;
    CHECK(dns_name_matches("attacker.com", "attacker.com"));
    CHECK(dns_name_matches("ATTACKER.com", "Attacker.COM"));        // DNS folds ASCII letters
    CHECK(dns_name_matches("*.attacker.com", "x.y.attacker.com"));  // '*' crosses dots
    CHECK_FALSE(dns_name_matches("*.attacker.com", "attacker.com"));
    CHECK_FALSE(dns_name_matches("attacker.com", "attacker.com.evil"));  // the whole name
    CHECK_FALSE(dns_name_matches("attacker.com", "www.attacker.com"));
    CHECK(dns_name_matches("a?tacker.[a-c]om", "aXtacker.com"));
    CHECK_FALSE(dns_name_matches("*", ""));  // a question that did not parse names nothing
    // As the tree shows a name: a backslash is part of it, not an escape.
    CHECK(dns_name_matches("a\\.b.com", "a\\.b.com"));
    CHECK(dns_name_matches("x\\200y.*", "x\\200y.com"));
    CHECK_FALSE(dns_name_matches("a\\.b.com", "a.b.com"));
    CHECK(dns_name_matches("[*].x.com", "*.x.com"));
    // The key: lower case, reversed, so that a glob's fixed end is a prefix.
    CHECK(dns_name_key("WWW.Attacker.com") == "moc.rekcatta.www");
    CHECK(dns_name_of_key(dns_name_key("WWW.Attacker.com")) == "www.attacker.com");
    CHECK(dns_glob_key_prefix("*.Attacker.com") == "moc.rekcatta.");
    CHECK(dns_glob_key_prefix("attacker.com") == "moc.rekcatta");
    CHECK(dns_glob_key_prefix("[ab]ttacker.co?") == "");
    CHECK(dns_glob_key_prefix("x[.]com") == "moc");
    CHECK(dns_glob_key_prefix("attacker.*") == "");
    // Every name a glob matches has the glob's key prefix.
    for (const auto& [glob, name] : std::vector<std::pair<std::string, std::string>>{
             {"*.attacker.com", "a.attacker.com"}, {"*ATTACKER.COM", "evilattacker.com"}, {"x[.]com", "x.com"}}) {
        INFO(glob << " " << name);
        REQUIRE(dns_name_matches(glob, name));
        CHECK(dns_name_key(name).rfind(dns_glob_key_prefix(glob), 0) == 0);
    }
}

namespace {

const Proc kApp{18201, at(1000, 123'456'789)};
const Proc kShell{18293, at(1042, 500'012'345)};
const Proc kPayload{18294, at(1042, 900'111'222)};
const Proc kCat{18295, at(1043, 100'000'001)};
const Proc kJournalctl{19000, at(1050, 250'000'000)};

// The incident with lookups of every kind: curl's query and answer
// (attacker.com) and a query of another name in another case; cat's answer
// without its query (www.attacker.com: the query was lost); my-app's own
// lookup (api.github.com); the payload shell acting as a resolver (a query
// for attacker.com sent to it, and its answer: served, not looked up); a
// query the kernel could not tell the process of; and journalctl, outside
// the pod, looking up evil.attacker.com over TCP, its length prefix sent on
// its own before the message; the first shell, sending a query over TCP cut
// in the middle of its question, never answered; my-app sending two queries
// in one TCP segment (pipelined: decoy.example first); and curl's MX lookup,
// whose answer has records the tree does not list.
FixtureJournal selector_fixture() {
    FixtureJournal fx = incident_fixture();
    fx.dns(sent(kApp, at(1001, 0), query(0x0101, "api.github.com")));
    fx.dns(received(kApp, at(1001, 2'000'000), response(0x0101, "api.github.com", {{kA, "140.82.121.6"}})));
    fx.dns(received(kPayload, at(1042, 950'000'000), query(0x0202, "attacker.com"), 53, "10.244.1.99"));
    fx.dns(sent(kPayload, at(1042, 951'000'000), response(0x0202, "attacker.com", {{kA, "93.184.216.34"}}), 53,
                "10.244.1.99"));
    fx.dns(received(kCat, at(1043, 150'000'000), response(0x0303, "www.attacker.com", {{kA, "93.184.216.35"}})));
    fx.dns(sent(kCurl, at(1043, 300'000'000), query(0x1a2b, "attacker.com")));
    fx.dns(received(kCurl, at(1043, 302'000'000), response(0x1a2b, "attacker.com", {{kA, "93.184.216.34"}})));
    fx.dns(sent(kCurl, at(1043, 303'000'000), query(0x1a2c, "CDN.Example.NET", kAaaa), 40002));
    fx.dns(received(kCurl, at(1043, 304'000'000), response(0x1a2c, "CDN.Example.NET", {}, 0, kAaaa), 40002));
    fx.dns(sent(Proc{0, 0}, at(1043, 400'000'000), query(0x0404, "unowned.attacker.com")));
    const std::string tcp_query = query(0x0505, "evil.attacker.com");
    DnsEvent prefix = sent(kJournalctl, at(1050, 300'000'000), std::string{'\0', static_cast<char>(tcp_query.size())});
    prefix.tcp = true;
    DnsEvent body = sent(kJournalctl, at(1050, 300'000'100), tcp_query);
    body.tcp = true;
    fx.dns(prefix);
    fx.dns(body);
    const std::string split_query = query(0x0606, "split.attacker.com");
    const std::string framed = std::string{'\0', static_cast<char>(split_query.size())} + split_query;
    for (size_t from : {size_t{0}, size_t{16}}) {
        DnsEvent part =
            sent(kShell, at(1042, 600'000'000 + from), framed.substr(from, from == 0 ? 16 : std::string::npos), 40100);
        part.tcp = true;
        fx.dns(part);
    }
    const std::string decoy = query(0x0707, "decoy.example");
    const std::string evil = query(0x0708, "pipelined.attacker.com");
    DnsEvent pipelined = sent(kApp, at(1001, 500'000'000),
                              std::string{'\0', static_cast<char>(decoy.size())} + decoy +
                                  std::string{'\0', static_cast<char>(evil.size())} + evil,
                              40200);
    pipelined.tcp = true;
    fx.dns(pipelined);
    fx.dns(sent(kCurl, at(1043, 305'000'000), query(0x1a2d, "mail.example.org", kMx), 40003));
    fx.dns(received(kCurl, at(1043, 306'000'000),
                    response(0x1a2d, "mail.example.org", {{kMx, "mx1.example.org"}}, 0, kMx), 40003));
    return fx;
}

// What reconstruct answers: the JSON of `query` over the journal loaded as
// its plan says (targeted: through dns_names) or whole, and the PIDs it
// matched.
struct Selected {
    std::string json;
    std::set<uint32_t> matched;
};

// `by_window`: a window's processes are checked instead of the index walk
// at its first name (LoadPlan::dns_pairs_before_window 0).
Selected answer(const std::string& path, const lineage::Query& query, bool targeted, bool by_window = false) {
    lineage::LoadPlan plan = targeted ? lineage::load_plan_for(query) : lineage::LoadPlan{};
    plan.whole_rows_per_process = 0;  // never the whole journal instead
    if (by_window) plan.dns_pairs_before_window = 0;
    plan.sole_journal = true;
    lineage::Model model;
    auto reader = lineage::JournalReader::open(path);
    REQUIRE(reader.ok());
    auto st = reader->load_into(model, plan);
    INFO((st ? std::string() : st.error().message));
    REQUIRE(st.ok());
    model.finish();
    const lineage::Report report = lineage::build_report(model, query);
    Selected a;
    REQUIRE(lineage::JsonRenderer().render_to(model, report, [&](std::string_view s) {
        a.json += s;
        return true;
    }));
    for (const auto& tree : report.trees) {
        for (const auto& node : tree.nodes) {
            if (node.matched) a.matched.insert(node.process->tgid);
        }
    }
    return a;
}

lineage::Query dns_query(const std::string& glob, std::optional<int64_t> since = {},
                         std::optional<int64_t> until = {}) {
    lineage::Query q;
    q.dns_glob = glob;
    q.since_wall_ns = since;
    q.until_wall_ns = until;
    return q;
}

// Every glob and window below, through the index and whole: the same JSON;
// and the processes each glob matches over the whole journal.
void check_selector(const std::string& path, const FixtureJournal& fx) {
    const std::map<std::string, std::set<uint32_t>> expected = {
        {"attacker.com", {18296}},
        {"ATTACKER.COM", {18296}},
        {"*.attacker.com", {18201, 18293, 18295, 19000}},
        {"*attacker.com", {18201, 18293, 18295, 18296, 19000}},
        {"*attack*", {18201, 18293, 18295, 18296, 19000}},
        {"pipelined.attacker.com", {18201}},
        {"decoy.example", {18201}},
        {"*.example.org", {18296}},
        {"split.attacker.com", {18293}},
        {"attacker.*", {18296}},
        {"a?tacker.[a-c]om", {18296}},
        {"cdn.example.net", {18296}},
        {"*.github.com", {18201}},
        {"*", {18201, 18293, 18295, 18296, 19000}},
        {"nothing.example", {}},
        {"unowned.attacker.com", {}},
    };
    // The window: curl's life alone (it starts at 1043.2), then before it.
    const int64_t curl_start = fx.wall(at(1043, 200'000'002));
    for (const auto& [glob, pids] : expected) {
        INFO(glob);
        const Selected whole = answer(path, dns_query(glob), false);
        const Selected targeted = answer(path, dns_query(glob), true);
        CHECK(whole.matched == pids);
        CHECK(targeted.json == whole.json);
        const auto later = dns_query(glob, curl_start, curl_start + 1'000'000);
        const Selected later_whole = answer(path, later, false);
        CHECK(answer(path, later, true).json == later_whole.json);
        CHECK(answer(path, later, true, true).json == later_whole.json);
        const auto all_day = dns_query(glob, fx.wall(at(0, 0)), fx.wall(at(3000, 0)));
        const Selected all_day_whole = answer(path, all_day, false);
        CHECK(all_day_whole.matched == pids);
        CHECK(answer(path, all_day, true, true).json == all_day_whole.json);
        const auto before = dns_query(glob, curl_start - 3'000'000'000, curl_start - 2'000'000'000);
        const Selected before_whole = answer(path, before, false);
        CHECK(answer(path, before, true).json == before_whole.json);
        CHECK_FALSE(before_whole.matched.count(18296));
    }
}

}  // namespace

TEST_CASE("dns selector: processes that looked a name up, through the journal's index of names", "[dns][selector]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    const FixtureJournal fx = selector_fixture();
    fx.write(path);
    // One index row per process and name it looked up (a batch): not the
    // served query, not the message without a process; "" for a process
    // whose TCP segments held no question to read.
    {
        auto db = lineage::Database::open_read("file:" + path + "?mode=ro");
        REQUIRE(db.ok());
        std::set<std::string> keys;
        auto q = db->prepare("SELECT tgid || ' ' || name_key FROM dns_names");
        REQUIRE(q.ok());
        while (q->step() == SQLITE_ROW) keys.insert(q->text(0));
        // journalctl's length prefix alone, then its message alone: "" (only
        // the two joined are a message); my-app's two pipelined queries both.
        CHECK(keys == std::set<std::string>{"18201 moc.buhtig.ipa", "18201 elpmaxe.yoced",
                                            "18201 moc.rekcatta.denilepip", "18293 ", "18295 moc.rekcatta.www",
                                            "18296 moc.rekcatta", "18296 ten.elpmaxe.ndc", "18296 gro.elpmaxe.liam",
                                            "19000 "});
    }
    check_selector(path, fx);

    SECTION("the tree and the CLI") {
        RunResult text = run_lineage(
            {"reconstruct", "--journal", "j.db", "--dns", "*.attacker.com", "--color", "never"}, dir.path());
        INFO(text.out << text.err);
        REQUIRE(text.status == 0);
        CHECK(has(text.out, "cat /etc/passwd"));
        CHECK(has(text.out, "journalctl"));
        CHECK(has(text.out, "→ dns www.attacker.com A 93.184.216.35"));
        // NOERROR without records of the type asked for says so.
        RunResult cdn = run_lineage({"reconstruct", "--journal", "j.db", "--dns", "cdn.example.net"}, dir.path());
        REQUIRE(cdn.status == 0);
        CHECK(has(cdn.out, "→ dns CDN.Example.NET AAAA (no records)  "));
        // An MX answer has records the tree does not list: not "no records".
        CHECK(has(cdn.out, "→ dns mail.example.org MX  "));
        CHECK_FALSE(has(cdn.out, "cat /etc/passwd"));
        RunResult none = run_lineage({"reconstruct", "--journal", "j.db", "--dns", "nothing.example"}, dir.path());
        CHECK(none.status == 1);
        RunResult timeline = run_lineage({"timeline", "--journal", "j.db", "--dns", "attacker.com"}, dir.path());
        REQUIRE(timeline.status == 0);
        CHECK(has(timeline.out, "18296  curl resolves attacker.com A"));
        CHECK(has(timeline.out, "18296  curl resolves CDN.Example.NET AAAA (no records)\n"));
        CHECK_FALSE(has(timeline.out, "19000"));
        RunResult empty = run_lineage({"reconstruct", "--journal", "j.db", "--dns", ""}, dir.path());
        CHECK(empty.status == 2);
        CHECK(empty.err == "lineage reconstruct: --dns: the glob is empty\n");
    }
}

TEST_CASE("dns selector on a version 10 journal, and on one `record` upgraded from it", "[dns][selector]") {
    TempDir dir;
    const std::string path = dir / "j.db";
    const FixtureJournal fx = selector_fixture();
    fx.write(path);
    auto db = lineage::Database::open_write(path);
    REQUIRE(db.ok());

    SECTION("version 10: no index, every dns row parsed") {
        REQUIRE(db->exec("DROP TABLE dns_names; PRAGMA user_version = 10").ok());
        check_selector(path, fx);
    }
    SECTION("the index begins after the first dns rows (an upgraded journal's)") {
        // The rows a version 10 recorder wrote have no index rows: those
        // of the first batches with dns rows are taken away.
        REQUIRE(db->exec("DELETE FROM dns_names WHERE batch <= (SELECT batch FROM dns WHERE tgid = 18295)").ok());
        REQUIRE(db->prepare("SELECT count(*) FROM dns_names WHERE tgid IN (18201, 18295)")->step() == SQLITE_ROW);
        check_selector(path, fx);
    }
    SECTION("record upgrades it, and indexes what it appends") {
        REQUIRE(db->exec("DROP TABLE dns_names; PRAGMA user_version = 10").ok());
        db = lineage::Database{};
        auto w = lineage::JournalWriter::open(path);
        INFO((w ? std::string() : w.error().message));
        REQUIRE(w.ok());
        const lineage::RunInfo run = fx.run_info(at(2000, 0));
        REQUIRE(w->begin_run(run).ok());
        const Proc late = FixtureJournal::proc(19100, at(1060, 0));
        REQUIRE(w->add(sent(late, at(2000, 5'000'000), query(0x0606, "late.attacker.com")), "").ok());
        REQUIRE(w->commit(static_cast<int64_t>(at(2000, 10'000'000))).ok());
        w = lineage::Error{"closed"};
        auto check = lineage::Database::open_read("file:" + path + "?mode=ro");
        REQUIRE(check.ok());
        auto names = check->prepare("SELECT tgid, name_key FROM dns_names");
        REQUIRE(names.ok());
        REQUIRE(names->step() == SQLITE_ROW);
        CHECK(names->int64(0) == 19100);
        CHECK(names->text(1) == "moc.rekcatta.etal");
        CHECK(names->step() == SQLITE_DONE);
        // Found through the index; the older processes by their parsed rows.
        const Selected both = answer(path, dns_query("*.attacker.com"), true);
        CHECK(both.json == answer(path, dns_query("*.attacker.com"), false).json);
        CHECK(both.matched.count(18295));
        CHECK(both.matched.count(19000));
    }
}

}  // namespace test_dns_lookups
