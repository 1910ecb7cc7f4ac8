#include "dns.h"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "escape.h"

namespace test_dns {

using lineage::DnsMessage;
using lineage::DnsUnparsed;
using lineage::parse_dns;

namespace {

// A DNS message written byte by byte, as a resolver or a server would put
// it on the wire. Offsets that compression pointers use are checked with
// REQUIRE(wire.size() == ...) where the message is built, so a mistake in
// a test message shows there and not as a puzzling parse.
struct Wire {
    std::vector<uint8_t> bytes;

    Wire& u8(uint8_t v) {
        bytes.push_back(v);
        return *this;
    }
    Wire& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
    Wire& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
    Wire& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0, uint16_t ar = 0) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    // One label, its bytes as given (dots included), no terminator.
    Wire& label(std::string_view raw) {
        u8(static_cast<uint8_t>(raw.size()));
        bytes.insert(bytes.end(), raw.begin(), raw.end());
        return *this;
    }
    // "www.attacker.com" as labels and the zero byte; "" is the root.
    Wire& name(std::string_view dotted) {
        while (!dotted.empty()) {
            const size_t dot = dotted.find('.');
            label(dotted.substr(0, dot));
            dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
        }
        return u8(0);
    }
    Wire& pointer(uint16_t at) { return u16(static_cast<uint16_t>(0xc000 | at)); }
    Wire& question(uint16_t type) { return u16(type).u16(1); }
    // What follows an owner name: type, class IN, TTL, rdata length.
    Wire& record(uint16_t type, uint32_t ttl, uint16_t rdata_length) {
        return u16(type).u16(1).u32(ttl).u16(rdata_length);
    }
    size_t size() const { return bytes.size(); }
};

DnsMessage parse(const std::vector<uint8_t>& bytes) {
    return parse_dns(bytes);
}

constexpr uint16_t kA = 1, kCname = 5, kSoa = 6, kTxt = 16, kAaaa = 28;
constexpr uint16_t kQuery = 0x0100;     // RD
constexpr uint16_t kResponse = 0x8180;  // QR, RD, RA, NOERROR

// A query for attacker.com A as glibc's resolver sends it, written out in
// full once: python3 -c 'import struct; print((struct.pack(">6H", 0x1a2b,
// 0x0100, 1, 0, 0, 0) + b"\x08attacker\x03com\x00" + struct.pack(">2H", 1,
// 1)).hex())'
const std::vector<uint8_t> attacker_com_query = {
    0x1a, 0x2b, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // header
    0x08, 'a',  't',  't',  'a',  'c',  'k',  'e',  'r',                     // attacker
    0x03, 'c',  'o',  'm',  0x00,                                            // com, root
    0x00, 0x01, 0x00, 0x01,                                                  // A, IN
};

// www.attacker.com A, answered through two CNAMEs with two addresses, every
// name after the question compressed, as a recursive resolver answers.
std::vector<uint8_t> cname_chain_response() {
    Wire w;
    w.header(0x4d2e, kResponse, 1, 4);
    REQUIRE(w.size() == 12);
    w.name("www.attacker.com").question(kA);  // attacker.com at 16
    REQUIRE(w.size() == 34);
    w.pointer(12).record(kCname, 300, 6).label("cdn").pointer(16);  // cdn.attacker.com at 46
    REQUIRE(w.size() == 52);
    w.pointer(46).record(kCname, 60, 18).name("edge.example.net");  // at 64
    REQUIRE(w.size() == 82);
    w.pointer(64).record(kA, 20, 4).u8(93).u8(184).u8(216).u8(34);
    w.pointer(64).record(kA, 20, 4).u8(93).u8(184).u8(216).u8(35);
    return w.bytes;
}

// A response to `name` A whose first answer's owner name is `owner`,
// written by the caller (bad names go there).
template <typename F>
std::vector<uint8_t> response_with_owner(F&& owner) {
    Wire w;
    w.header(7, kResponse, 1, 1);
    w.name("x.test").question(kA);
    owner(w);
    w.record(kA, 60, 4).u32(0x0a000001);
    return w.bytes;
}

void check_prefix_of(const DnsMessage& part, const DnsMessage& whole) {
    REQUIRE(part.questions.size() <= whole.questions.size());
    for (size_t i = 0; i < part.questions.size(); ++i) {
        CHECK(part.questions[i].name == whole.questions[i].name);
        CHECK(part.questions[i].type == whole.questions[i].type);
    }
    REQUIRE(part.answers.size() <= whole.answers.size());
    for (size_t i = 0; i < part.answers.size(); ++i) {
        CHECK(part.answers[i].name == whole.answers[i].name);
        CHECK(part.answers[i].data == whole.answers[i].data);
    }
}

}  // namespace

TEST_CASE("dns: a query for attacker.com A", "[dns]") {
    Wire w;
    w.header(0x1a2b, kQuery, 1, 0).name("attacker.com").question(kA);
    REQUIRE(w.bytes == attacker_com_query);

    const DnsMessage m = parse(attacker_com_query);
    CHECK(m.ok());
    CHECK(lineage::dns_unparsed_name(m.unparsed) == "ok");
    CHECK(m.length == attacker_com_query.size());
    CHECK(m.id == 0x1a2b);
    CHECK_FALSE(m.is_response);
    CHECK(m.opcode == 0);
    CHECK_FALSE(m.truncated);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "attacker.com");
    CHECK(m.questions[0].type == kA);
    CHECK(m.questions[0].klass == 1);
    CHECK(m.answers.empty());
}

TEST_CASE("dns: a CNAME chain, then the addresses", "[dns]") {
    const DnsMessage m = parse(cname_chain_response());
    REQUIRE(m.ok());
    CHECK(m.is_response);
    CHECK(m.rcode == 0);
    CHECK(lineage::dns_rcode_name(m.rcode) == "NOERROR");
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "www.attacker.com");
    REQUIRE(m.answers.size() == 4);
    CHECK(m.answers[0].name == "www.attacker.com");
    CHECK(m.answers[0].type == kCname);
    CHECK(m.answers[0].ttl == 300);
    CHECK(m.answers[0].data == "cdn.attacker.com");
    CHECK(m.answers[1].name == "cdn.attacker.com");
    CHECK(m.answers[1].data == "edge.example.net");
    CHECK(m.answers[2].name == "edge.example.net");
    CHECK(m.answers[2].type == kA);
    CHECK(m.answers[2].rdata_length == 4);
    CHECK(m.answers[2].data == "93.184.216.34");
    CHECK(m.answers[3].data == "93.184.216.35");
}

TEST_CASE("dns: AAAA answers in inet_ntop's form", "[dns]") {
    Wire w;
    w.header(9, kResponse, 1, 3).name("attacker.com").question(kAaaa);
    const uint8_t addresses[3][16] = {
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 93, 184, 216, 34},
    };
    for (const auto& address : addresses) {
        w.pointer(12).record(kAaaa, 3600, 16);
        for (uint8_t b : address) w.u8(b);
    }
    const DnsMessage m = parse(w.bytes);
    REQUIRE(m.ok());
    REQUIRE(m.answers.size() == 3);
    CHECK(m.answers[0].name == "attacker.com");
    CHECK(m.answers[0].type == kAaaa);
    CHECK(m.answers[0].data == "2001:db8::1");
    CHECK(m.answers[1].data == "2001:db8::1:0:0:1");
    CHECK(m.answers[2].data == "::ffff:93.184.216.34");
    CHECK(lineage::dns_type_name(m.questions[0].type) == "AAAA");
}

TEST_CASE("dns: NXDOMAIN, with the zone's SOA in the authority section left unread", "[dns]") {
    Wire w;
    w.header(0x0bad, 0x8183, 1, 0, 1, 0).name("nope.attacker.com").question(kA);
    REQUIRE(w.size() == 35);
    w.pointer(17).record(kSoa, 900, 18 + 25 + 5 * 4).name("ns1.attacker.com").name("hostmaster.attacker.com");
    w.u32(2024010101).u32(7200).u32(3600).u32(1209600).u32(300);
    const DnsMessage m = parse(w.bytes);
    CHECK(m.ok());
    CHECK(m.rcode == 3);
    CHECK(lineage::dns_rcode_name(m.rcode) == "NXDOMAIN");
    CHECK(m.authority_count == 1);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == "nope.attacker.com");
    CHECK(m.answers.empty());
}

TEST_CASE("dns: a record of another type keeps its type and rdata length", "[dns]") {
    Wire w;
    w.header(1, kResponse, 1, 1).name("attacker.com").question(kTxt);
    w.pointer(12).record(kTxt, 60, 6).label("hello");
    const DnsMessage m = parse(w.bytes);
    REQUIRE(m.ok());
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].type == kTxt);
    CHECK(m.answers[0].rdata_length == 6);
    CHECK(m.answers[0].data.empty());
}

TEST_CASE("dns: the root name, the TC bit and the opcode", "[dns]") {
    Wire w;
    w.header(2, 0x8000 | 0x2000 | 0x0200, 1, 0).name("").question(2);  // opcode 4 (NOTIFY), TC
    const DnsMessage m = parse(w.bytes);
    REQUIRE(m.ok());
    CHECK(m.opcode == 4);
    CHECK(m.truncated);
    REQUIRE(m.questions.size() == 1);
    CHECK(m.questions[0].name == ".");
}

TEST_CASE("dns: over TCP, the length prefix split off", "[dns]") {
    const std::vector<uint8_t> response = cname_chain_response();
    std::vector<uint8_t> segment = {static_cast<uint8_t>(response.size() >> 8), static_cast<uint8_t>(response.size())};
    segment.insert(segment.end(), response.begin(), response.end());

    SECTION("one message") {
        const lineage::DnsTcpFrame frame = lineage::split_dns_tcp(segment);
        CHECK(frame.unparsed == DnsUnparsed::none);
        CHECK(frame.message.size() == response.size());
        CHECK(frame.rest.empty());
        const DnsMessage m = lineage::parse_dns_tcp(segment);
        REQUIRE(m.ok());
        REQUIRE(m.answers.size() == 4);
        CHECK(m.answers[3].data == "93.184.216.35");
    }
    SECTION("two messages in one segment") {
        std::vector<uint8_t> two = segment;
        two.push_back(0);
        two.push_back(static_cast<uint8_t>(attacker_com_query.size()));
        two.insert(two.end(), attacker_com_query.begin(), attacker_com_query.end());
        const lineage::DnsTcpFrame first = lineage::split_dns_tcp(two);
        REQUIRE(first.unparsed == DnsUnparsed::none);
        CHECK(parse_dns(first.message).answers.size() == 4);
        const DnsMessage second = lineage::parse_dns_tcp(first.rest);
        REQUIRE(second.ok());
        CHECK(second.questions[0].name == "attacker.com");
    }
    SECTION("a prefix claiming more than is present: what is there is parsed, and cut_short") {
        segment.resize(2 + 40);
        const lineage::DnsTcpFrame frame = lineage::split_dns_tcp(segment);
        CHECK(frame.unparsed == DnsUnparsed::cut_short);
        CHECK(frame.message.size() == 40);
        const DnsMessage m = lineage::parse_dns_tcp(segment);
        CHECK(m.unparsed == DnsUnparsed::cut_short);
        REQUIRE(m.questions.size() == 1);
        CHECK(m.questions[0].name == "www.attacker.com");
    }
    SECTION("a frame cut short whose bytes parse is still cut_short") {
        std::vector<uint8_t> framed = {0x01, 0x00};  // claims 256
        framed.insert(framed.end(), attacker_com_query.begin(), attacker_com_query.end());
        CHECK(lineage::parse_dns_tcp(framed).unparsed == DnsUnparsed::cut_short);
    }
    SECTION("no prefix at all") {
        const std::vector<uint8_t> one = {0x00};
        CHECK(lineage::split_dns_tcp(one).unparsed == DnsUnparsed::cut_short);
        CHECK(lineage::parse_dns_tcp(one).unparsed == DnsUnparsed::cut_short);
        CHECK(lineage::parse_dns_tcp({}).length == 0);
    }
}

TEST_CASE("dns: cut short at every byte, a partial parse and never ok", "[dns][bad input]") {
    const std::vector<uint8_t> whole_bytes = cname_chain_response();
    const DnsMessage whole = parse(whole_bytes);
    REQUIRE(whole.ok());
    for (size_t n = 0; n < whole_bytes.size(); ++n) {
        INFO("cut at " << n);
        // A copy of exactly n bytes, so that ASan sees a read past them.
        const std::vector<uint8_t> cut(whole_bytes.begin(), whole_bytes.begin() + static_cast<std::ptrdiff_t>(n));
        const DnsMessage m = parse(cut);
        CHECK_FALSE(m.ok());
        CHECK(m.length == n);
        if (n < 12) CHECK(m.unparsed == DnsUnparsed::cut_short);
        check_prefix_of(m, whole);
        // The question is whole from byte 34 on, whatever the answers lack.
        if (n >= 34) CHECK(m.questions.size() == 1);
    }
}

TEST_CASE("dns: compression pointers that would loop or point ahead", "[dns][bad input]") {
    SECTION("a pointer to itself") {
        const DnsMessage m = parse(response_with_owner([](Wire& w) { w.pointer(static_cast<uint16_t>(w.size())); }));
        CHECK(m.unparsed == DnsUnparsed::pointer_loop);
        CHECK(m.questions.size() == 1);  // kept: the answers are what failed
        CHECK(m.answers.empty());
    }
    SECTION("a pointer back into the labels it ends") {
        const DnsMessage m = parse(response_with_owner([](Wire& w) {
            const auto at = static_cast<uint16_t>(w.size());
            w.label("a").label("b").pointer(at);
        }));
        CHECK(m.unparsed == DnsUnparsed::pointer_loop);
    }
    SECTION("a forward pointer") {
        const DnsMessage m = parse(response_with_owner([](Wire& w) {
            w.pointer(static_cast<uint16_t>(w.size() + 2));  // at a name written after it
            w.name("ahead");
        }));
        CHECK(m.unparsed == DnsUnparsed::bad_pointer);
    }
    SECTION("a pointer past the message") {
        const DnsMessage m = parse(response_with_owner([](Wire& w) { w.pointer(0x3fff); }));
        CHECK(m.unparsed == DnsUnparsed::bad_pointer);
    }
    SECTION("two pointers pointing at each other") {
        // The ID's bytes are a pointer to the question's name, which is a
        // pointer back to the ID.
        Wire w;
        w.header(0xc000 | 12, kQuery, 1, 0).pointer(0).question(kA);
        const DnsMessage m = parse(w.bytes);
        CHECK(m.unparsed == DnsUnparsed::bad_pointer);
        CHECK(m.questions.empty());
    }
    SECTION("a chain of backward pointers: kDnsMaxPointers followed, one more refused") {
        for (size_t chain : {lineage::kDnsMaxPointers, lineage::kDnsMaxPointers + 1}) {
            // A TXT answer's rdata holds the root, then pointers each to the
            // one before; the next answer's owner name enters at the last.
            Wire w;
            w.header(3, kResponse, 1, 2).name("x.test").question(kA);
            w.pointer(12).record(kTxt, 60, static_cast<uint16_t>(1 + 2 * (chain - 1)));
            auto previous = static_cast<uint16_t>(w.size());
            w.u8(0);
            for (size_t i = 1; i < chain; ++i) {
                const auto at = static_cast<uint16_t>(w.size());
                w.pointer(previous);
                previous = at;
            }
            w.pointer(previous).record(kA, 60, 4).u32(0x7f000001);
            const DnsMessage m = parse(w.bytes);
            INFO("chain of " << chain);
            if (chain == lineage::kDnsMaxPointers) {
                REQUIRE(m.ok());
                CHECK(m.answers[1].name == ".");
            } else {
                CHECK(m.unparsed == DnsUnparsed::too_many_pointers);
                CHECK(m.answers.size() == 1);
            }
        }
    }
}

TEST_CASE("dns: label bytes that need escaping", "[dns][bad input]") {
    const DnsMessage m = parse(response_with_owner(
        [](Wire& w) { w.label(std::string("a.b\\c\x01 \x7f\xff\"\0", 11)).label("Attacker").label("COM").u8(0); }));
    REQUIRE(m.ok());
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].name == R"(a\.b\\c\001\032\127\255"\000.Attacker.COM)");
    CHECK(lineage::is_valid_utf8(m.answers[0].name));
    // A dot inside a label and one between labels stay apart.
    const DnsMessage two = parse(response_with_owner([](Wire& w) { w.label("a").label("b").u8(0); }));
    const DnsMessage one = parse(response_with_owner([](Wire& w) { w.label("a.b").u8(0); }));
    CHECK(two.answers.at(0).name == "a.b");
    CHECK(one.answers.at(0).name == R"(a\.b)");
}

TEST_CASE("dns: a name longer than 255 bytes on the wire", "[dns][bad input]") {
    const std::string l63(63, 'a');
    SECTION("255 bytes: the longest name") {
        const DnsMessage m = parse(response_with_owner(
            [&](Wire& w) { w.label(l63).label(l63).label(l63).label(std::string(61, 'b')).u8(0); }));
        REQUIRE(m.ok());
        CHECK(m.answers.at(0).name.size() == 3 * 64 + 61);
    }
    SECTION("256 bytes") {
        const DnsMessage m = parse(response_with_owner(
            [&](Wire& w) { w.label(l63).label(l63).label(l63).label(std::string(62, 'b')).u8(0); }));
        CHECK(m.unparsed == DnsUnparsed::name_too_long);
    }
    SECTION("about 300 bytes, through a pointer to the question") {
        Wire w;
        w.header(4, kQuery, 2, 0).name(l63 + "." + l63 + "." + l63).question(kA);
        w.label(l63).label(std::string(40, 'c')).pointer(12).question(kA);
        const DnsMessage m = parse(w.bytes);
        CHECK(m.unparsed == DnsUnparsed::name_too_long);
        CHECK(m.questions.size() == 1);
    }
    SECTION("a label longer than the message") {
        const DnsMessage m = parse(response_with_owner([](Wire& w) { w.u8(60).label("short"); }));
        CHECK(m.unparsed == DnsUnparsed::cut_short);
    }
    SECTION("the label types 0x40 and 0x80") {
        for (uint8_t type : {uint8_t{0x41}, uint8_t{0x80}}) {
            const DnsMessage m = parse(response_with_owner([&](Wire& w) { w.u8(type).u8(0); }));
            CHECK(m.unparsed == DnsUnparsed::bad_label);
        }
    }
}

TEST_CASE("dns: counts the message cannot hold", "[dns][bad input]") {
    SECTION("65535 answers claimed in a 40-byte message") {
        Wire w;
        w.header(5, kResponse, 1, 65535).name("attacker.com").question(kA);
        w.pointer(12).u16(kA);
        while (w.size() < 40) w.u8(0);
        const DnsMessage m = parse(w.bytes);
        CHECK(m.unparsed == DnsUnparsed::count_exceeds_message);
        CHECK(m.length == 40);
        CHECK(m.answer_count == 65535);
        REQUIRE(m.questions.size() == 1);
        CHECK(m.questions[0].name == "attacker.com");
        CHECK(m.answers.empty());
    }
    SECTION("65535 questions") {
        Wire w;
        w.header(5, kQuery, 65535, 0).name("attacker.com").question(kA);
        CHECK(parse(w.bytes).unparsed == DnsUnparsed::count_exceeds_message);
    }
    SECTION("additional records claimed and absent") {
        Wire w;
        w.header(5, kQuery, 1, 0, 0, 3).name("attacker.com").question(kA);
        const DnsMessage m = parse(w.bytes);
        CHECK(m.unparsed == DnsUnparsed::count_exceeds_message);
        CHECK(m.questions.size() == 1);
    }
    SECTION("more questions than kept, all present") {
        Wire w;
        w.header(6, kQuery, lineage::kDnsMaxQuestions + 1, 0);
        for (size_t i = 0; i <= lineage::kDnsMaxQuestions; ++i) w.name("").question(kA);
        CHECK(parse(w.bytes).unparsed == DnsUnparsed::too_many_questions);
    }
    SECTION("more answers than kept: the first kDnsMaxAnswers, and ok") {
        Wire w;
        w.header(6, kResponse, 0, 300);
        for (uint32_t i = 0; i < 300; ++i) w.name("").record(kA, 1, 4).u32(0x0a000000 + i);
        const DnsMessage m = parse(w.bytes);
        CHECK(m.ok());
        CHECK(m.answer_count == 300);
        REQUIRE(m.answers.size() == lineage::kDnsMaxAnswers);
        CHECK(m.answers.back().data == "10.0.0.255");
    }
}

TEST_CASE("dns: rdata that does not fit its type", "[dns][bad input]") {
    auto answer = [](uint16_t type, auto&& rdata) {
        Wire w;
        w.header(8, kResponse, 1, 1).name("attacker.com").question(type);
        w.pointer(12);
        rdata(w);
        return parse(w.bytes);
    };
    CHECK(answer(kA, [](Wire& w) { w.record(kA, 1, 5).u32(1).u8(2); }).unparsed == DnsUnparsed::bad_rdata);
    CHECK(answer(kAaaa, [](Wire& w) { w.record(kAaaa, 1, 4).u32(1); }).unparsed == DnsUnparsed::bad_rdata);
    // A CNAME's name that ends before its rdata does, and one that runs on.
    CHECK(answer(kCname, [](Wire& w) { w.record(kCname, 1, 4).name("a").u8(0); }).unparsed == DnsUnparsed::bad_rdata);
    CHECK(answer(kCname, [](Wire& w) { w.record(kCname, 1, 2).name("abc"); }).unparsed == DnsUnparsed::bad_rdata);
    // The rdata length runs past the message.
    CHECK(answer(kA, [](Wire& w) { w.record(kA, 1, 400).u32(1); }).unparsed == DnsUnparsed::cut_short);
    // A CNAME's name compressed to the question is fine.
    const DnsMessage m = answer(kCname, [](Wire& w) { w.record(kCname, 1, 6).label("cdn").pointer(12); });
    REQUIRE(m.ok());
    CHECK(m.answers.at(0).data == "cdn.attacker.com");
}

TEST_CASE("dns: type, rcode and fault names", "[dns]") {
    using lineage::dns_rcode_name;
    using lineage::dns_type_name;
    CHECK(dns_type_name(1) == "A");
    CHECK(dns_type_name(2) == "NS");
    CHECK(dns_type_name(5) == "CNAME");
    CHECK(dns_type_name(6) == "SOA");
    CHECK(dns_type_name(12) == "PTR");
    CHECK(dns_type_name(15) == "MX");
    CHECK(dns_type_name(16) == "TXT");
    CHECK(dns_type_name(28) == "AAAA");
    CHECK(dns_type_name(33) == "SRV");
    CHECK(dns_type_name(64) == "SVCB");
    CHECK(dns_type_name(65) == "HTTPS");
    CHECK(dns_type_name(255) == "ANY");
    CHECK(dns_type_name(0) == "TYPE0");
    CHECK(dns_type_name(65535) == "TYPE65535");
    CHECK(dns_rcode_name(0) == "NOERROR");
    CHECK(dns_rcode_name(1) == "FORMERR");
    CHECK(dns_rcode_name(2) == "SERVFAIL");
    CHECK(dns_rcode_name(3) == "NXDOMAIN");
    CHECK(dns_rcode_name(4) == "NOTIMP");
    CHECK(dns_rcode_name(5) == "REFUSED");
    CHECK(dns_rcode_name(9) == "9");
    CHECK(lineage::dns_unparsed_name(DnsUnparsed::pointer_loop) == "pointer_loop");
    CHECK(lineage::dns_unparsed_name(DnsUnparsed::count_exceeds_message) == "count_exceeds_message");
}

}  // namespace test_dns
