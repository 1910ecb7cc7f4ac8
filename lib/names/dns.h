#pragma once
// DNS messages (RFC 1035 section 4) as a process sent or received them
// (issue 21, "Names"). The bytes are the attacker's: any program can build
// its own packets, so the parser trusts nothing in them. It never reads past
// the message, follows compression pointers only backwards and a bounded
// number of times, and keeps at most kDnsMaxQuestions questions and
// kDnsMaxAnswers answers: its time and memory are linear in the message's
// length, whatever the header claims.
//
// What it cannot parse is not dropped: the message says why it stopped
// (`unparsed`) and keeps its length and whatever was parsed before the fault,
// so that a responder still sees the name asked for when the answers are
// garbage.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lineage {

// A name on the wire is at most 255 bytes (RFC 1035 section 2.3.4), labels
// and their length bytes counted, compression pointers not.
inline constexpr size_t kDnsMaxNameWire = 255;
// The longest name in presentation form: every byte of the longest possible
// labels escaped as \DDD, with their dots.
inline constexpr size_t kDnsMaxNameText = 4 * kDnsMaxNameWire;
// Pointers followed while reading one name. Each must point before the
// labels it interrupts, so loops are impossible anyway; the cap bounds a
// long chain of pointers to pointers.
inline constexpr size_t kDnsMaxPointers = 128;
// Resolvers ask one question per message: more than this is refused
// (too_many_questions), since the answers come after all of them.
inline constexpr size_t kDnsMaxQuestions = 64;
// Answers kept; those after are not read (the header's answer_count still
// says how many there were), and neither are the later sections.
inline constexpr size_t kDnsMaxAnswers = 256;

// Why a message was not parsed to the end; `none` when it was.
enum class DnsUnparsed : uint8_t {
    none,
    cut_short,              // the message ends inside the header, a name, a record or an rdata
    count_exceeds_message,  // a section claims more records than the bytes left can hold
    too_many_questions,     // more than kDnsMaxQuestions
    bad_label,              // a label type other than a length or a pointer (0x40, 0x80)
    bad_pointer,            // a pointer past the message, or forward of itself
    pointer_loop,           // a pointer back into the labels it interrupts, or to itself
    too_many_pointers,      // more than kDnsMaxPointers in one name
    name_too_long,          // more than kDnsMaxNameWire bytes on the wire
    bad_rdata,              // an A not 4 bytes, an AAAA not 16, a name not filling its rdata
};

// "ok", "cut_short", "pointer_loop", ...: the one string of each value.
std::string_view dns_unparsed_name(DnsUnparsed unparsed);

struct DnsQuestion {
    std::string name;  // presentation form, see parse_dns
    uint16_t type = 0;
    uint16_t klass = 0;
};

struct DnsAnswer {
    std::string name;
    uint16_t type = 0;
    uint16_t klass = 0;
    uint32_t ttl = 0;
    uint16_t rdata_length = 0;
    // A: dotted quad; AAAA: inet_ntop's form ("2001:db8::1"); CNAME, NS,
    // PTR: a name in presentation form; any other type: "" (type and
    // rdata_length say what it was).
    std::string data;
};

struct DnsMessage {
    uint16_t id = 0;
    bool is_response = false;  // QR
    uint8_t opcode = 0;
    uint8_t rcode = 0;       // the header's 4 bits; an EDNS extended rcode is not read
    bool truncated = false;  // TC: the server cut its answer, the client retries over TCP
    // The header's counts, as claimed (0 when the header itself is cut).
    uint16_t question_count = 0;
    uint16_t answer_count = 0;
    uint16_t authority_count = 0;
    uint16_t additional_count = 0;
    std::vector<DnsQuestion> questions;
    std::vector<DnsAnswer> answers;
    DnsUnparsed unparsed = DnsUnparsed::none;
    size_t length = 0;  // bytes given to the parser

    bool ok() const { return unparsed == DnsUnparsed::none; }
};

// Parses the header, the question section and the answer section; the
// authority and additional sections are not read (only their counts are
// checked against the bytes left). Parsing stops at the first fault, which
// is kept in `unparsed`; everything before it is kept: the header when the
// questions fail, the questions when an answer fails, the answers before
// the one that failed.
//
// Names are in presentation form without the trailing dot, case as sent,
// "." for the root. A '.' or '\' inside a label is written "\." or "\\", and
// a byte outside printable ASCII (0x21..0x7e) as "\DDD" in decimal, as dig
// writes it (RFC 4343): a name is valid UTF-8, has no control character, is
// at most kDnsMaxNameText bytes, and two names differ exactly when their
// labels do.
DnsMessage parse_dns(std::span<const uint8_t> message);

// DNS over TCP (RFC 1035 section 4.2.2): each message is preceded by its
// length, 2 bytes big-endian, and one segment may hold several messages.
struct DnsTcpFrame {
    std::span<const uint8_t> message;          // as much of the first message as is present
    std::span<const uint8_t> rest;             // the bytes after it
    DnsUnparsed unparsed = DnsUnparsed::none;  // cut_short: no prefix, or it claims more than is present
};
DnsTcpFrame split_dns_tcp(std::span<const uint8_t> payload);

// parse_dns of split_dns_tcp's first message. When the frame is cut short,
// what is present is parsed, and the result is cut_short where the bytes
// present parse or claim more records than they hold (both what a cut
// leaves); a fault in the bytes present is reported as itself.
DnsMessage parse_dns_tcp(std::span<const uint8_t> payload);

// "A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "SVCB",
// "HTTPS", "ANY"; any other type as RFC 3597 writes it: "TYPE<n>".
std::string dns_type_name(uint16_t type);

// "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"; any
// other as its decimal number.
std::string dns_rcode_name(uint8_t rcode);

}  // namespace lineage
