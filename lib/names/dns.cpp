#include "dns.h"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include <fmt/format.h>

namespace lineage {

namespace {

constexpr size_t kHeaderBytes = 12;
// The smallest question is the root name (1 byte), type and class; the
// smallest record adds a TTL and an rdata length.
constexpr size_t kMinQuestionBytes = 1 + 4;
constexpr size_t kMinRecordBytes = 1 + 10;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kTypeAaaa = 28;

uint16_t read_u16(std::span<const uint8_t> m, size_t at) {
    return static_cast<uint16_t>(m[at] << 8 | m[at + 1]);
}

uint32_t read_u32(std::span<const uint8_t> m, size_t at) {
    return static_cast<uint32_t>(read_u16(m, at)) << 16 | read_u16(m, at + 2);
}

// Presentation form of one label: '.' and '\' escaped so that label
// boundaries stay unambiguous, everything outside printable ASCII as \DDD so
// that the name is valid UTF-8 and safe on a terminal whatever was sent.
void append_label(std::string& out, std::span<const uint8_t> label) {
    for (uint8_t c : label) {
        if (c == '.' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x21 && c <= 0x7e) {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("\\{:03d}", c);
        }
    }
}

// Reads the name at `at` into `out`. `end` is set to the offset after the
// name as it sits there: after its zero byte, or after its first pointer.
//
// A pointer must land before the labels it interrupts (`run_start`, which
// then moves to the target): the targets strictly decrease, so no input can
// loop. Every compressor points back at a suffix it already wrote, so real
// messages always satisfy this.
DnsUnparsed read_name(std::span<const uint8_t> m, size_t at, std::string& out, size_t& end) {
    out.clear();
    size_t pos = at;
    size_t run_start = at;
    size_t wire = 1;  // the zero byte that ends every name
    size_t pointers = 0;
    bool jumped = false;
    while (true) {
        if (pos >= m.size()) return DnsUnparsed::cut_short;
        const uint8_t length = m[pos];
        if ((length & 0xc0) == 0xc0) {
            if (pos + 1 >= m.size()) return DnsUnparsed::cut_short;
            const size_t target = static_cast<size_t>(length & 0x3f) << 8 | m[pos + 1];
            if (target > pos) return DnsUnparsed::bad_pointer;
            if (target >= run_start) return DnsUnparsed::pointer_loop;
            if (++pointers > kDnsMaxPointers) return DnsUnparsed::too_many_pointers;
            if (!jumped) end = pos + 2;
            jumped = true;
            pos = run_start = target;
            continue;
        }
        // 0x40 (the extended label types RFC 6891 retired) and 0x80 (never
        // assigned): no server sends them, and their lengths are unknown.
        if ((length & 0xc0) != 0) return DnsUnparsed::bad_label;
        if (length == 0) {
            if (!jumped) end = pos + 1;
            break;
        }
        wire += 1 + length;
        if (wire > kDnsMaxNameWire) return DnsUnparsed::name_too_long;
        if (length > m.size() - pos - 1) return DnsUnparsed::cut_short;
        if (!out.empty()) out += '.';
        append_label(out, m.subspan(pos + 1, length));
        pos += 1 + length;
    }
    if (out.empty()) out = ".";
    return DnsUnparsed::none;
}

// A name that is the whole rdata (CNAME, NS, PTR). It is read within the
// rdata, so that a name running past its record is bad_rdata rather than
// the start of the next record taken for labels.
DnsUnparsed read_rdata_name(std::span<const uint8_t> m, size_t at, size_t rdata_end, std::string& out) {
    size_t end = 0;
    const DnsUnparsed fault = read_name(m.first(rdata_end), at, out, end);
    if (fault == DnsUnparsed::cut_short) return DnsUnparsed::bad_rdata;
    if (fault != DnsUnparsed::none) return fault;
    return end == rdata_end ? DnsUnparsed::none : DnsUnparsed::bad_rdata;
}

DnsUnparsed read_rdata(std::span<const uint8_t> m, size_t at, DnsAnswer& answer) {
    const size_t rdata_end = at + answer.rdata_length;
    switch (answer.type) {
        case kTypeA:
            if (answer.rdata_length != 4) return DnsUnparsed::bad_rdata;
            answer.data = fmt::format("{}.{}.{}.{}", m[at], m[at + 1], m[at + 2], m[at + 3]);
            return DnsUnparsed::none;
        case kTypeAaaa: {
            if (answer.rdata_length != 16) return DnsUnparsed::bad_rdata;
            char text[INET6_ADDRSTRLEN];
            if (inet_ntop(AF_INET6, m.data() + at, text, sizeof(text)) == nullptr) return DnsUnparsed::bad_rdata;
            answer.data = text;
            return DnsUnparsed::none;
        }
        case kTypeCname:
        case kTypeNs:
        case kTypePtr:
            return read_rdata_name(m, at, rdata_end, answer.data);
        default:
            return DnsUnparsed::none;
    }
}

// Whether `count` records of at least `each` bytes fit in what is left
// after `at`: checked before each section so that a header's claim costs
// nothing to refuse.
bool counts_fit(std::span<const uint8_t> m, size_t at, size_t count, size_t each) {
    return count * each <= m.size() - at;
}

// Reads the sections into `msg` (its header already read) and returns
// where it stopped, keeping everything read before.
DnsUnparsed parse_sections(std::span<const uint8_t> m, DnsMessage& msg) {
    size_t pos = kHeaderBytes;
    if (!counts_fit(m, pos, msg.question_count, kMinQuestionBytes)) return DnsUnparsed::count_exceeds_message;
    if (msg.question_count > kDnsMaxQuestions) return DnsUnparsed::too_many_questions;
    msg.questions.reserve(msg.question_count);
    for (size_t i = 0; i < msg.question_count; ++i) {
        DnsQuestion q;
        size_t end = 0;
        if (const DnsUnparsed fault = read_name(m, pos, q.name, end); fault != DnsUnparsed::none) return fault;
        if (m.size() - end < 4) return DnsUnparsed::cut_short;
        q.type = read_u16(m, end);
        q.klass = read_u16(m, end + 2);
        pos = end + 4;
        msg.questions.push_back(std::move(q));
    }

    if (!counts_fit(m, pos, msg.answer_count, kMinRecordBytes)) return DnsUnparsed::count_exceeds_message;
    const size_t answers = std::min<size_t>(msg.answer_count, kDnsMaxAnswers);
    msg.answers.reserve(answers);
    for (size_t i = 0; i < answers; ++i) {
        DnsAnswer a;
        size_t end = 0;
        if (const DnsUnparsed fault = read_name(m, pos, a.name, end); fault != DnsUnparsed::none) return fault;
        if (m.size() - end < 10) return DnsUnparsed::cut_short;
        a.type = read_u16(m, end);
        a.klass = read_u16(m, end + 2);
        a.ttl = read_u32(m, end + 4);
        a.rdata_length = read_u16(m, end + 8);
        const size_t rdata = end + 10;
        if (m.size() - rdata < a.rdata_length) return DnsUnparsed::cut_short;
        if (const DnsUnparsed fault = read_rdata(m, rdata, a); fault != DnsUnparsed::none) return fault;
        pos = rdata + a.rdata_length;
        msg.answers.push_back(std::move(a));
    }
    if (answers < msg.answer_count) return DnsUnparsed::none;

    // The later sections are not read, but a header that claims more of
    // them than the message holds is not a message any server sent whole.
    const size_t later = size_t{msg.authority_count} + msg.additional_count;
    if (!counts_fit(m, pos, later, kMinRecordBytes)) return DnsUnparsed::count_exceeds_message;
    return DnsUnparsed::none;
}

}  // namespace

std::string_view dns_unparsed_name(DnsUnparsed unparsed) {
    switch (unparsed) {
        case DnsUnparsed::none:
            return "ok";
        case DnsUnparsed::cut_short:
            return "cut_short";
        case DnsUnparsed::count_exceeds_message:
            return "count_exceeds_message";
        case DnsUnparsed::too_many_questions:
            return "too_many_questions";
        case DnsUnparsed::bad_label:
            return "bad_label";
        case DnsUnparsed::bad_pointer:
            return "bad_pointer";
        case DnsUnparsed::pointer_loop:
            return "pointer_loop";
        case DnsUnparsed::too_many_pointers:
            return "too_many_pointers";
        case DnsUnparsed::name_too_long:
            return "name_too_long";
        case DnsUnparsed::bad_rdata:
            return "bad_rdata";
    }
    return "unknown";
}

DnsMessage parse_dns(std::span<const uint8_t> m) {
    DnsMessage msg;
    msg.length = m.size();
    if (m.size() < kHeaderBytes) {
        msg.unparsed = DnsUnparsed::cut_short;
        return msg;
    }
    msg.id = read_u16(m, 0);
    const uint16_t flags = read_u16(m, 2);
    msg.is_response = (flags & 0x8000) != 0;
    msg.opcode = static_cast<uint8_t>(flags >> 11 & 0xf);
    msg.truncated = (flags & 0x0200) != 0;
    msg.rcode = static_cast<uint8_t>(flags & 0xf);
    msg.question_count = read_u16(m, 4);
    msg.answer_count = read_u16(m, 6);
    msg.authority_count = read_u16(m, 8);
    msg.additional_count = read_u16(m, 10);
    msg.unparsed = parse_sections(m, msg);
    return msg;
}

DnsTcpFrame split_dns_tcp(std::span<const uint8_t> payload) {
    DnsTcpFrame frame;
    if (payload.size() < 2) {
        frame.unparsed = DnsUnparsed::cut_short;
        return frame;
    }
    const size_t claimed = read_u16(payload, 0);
    const std::span<const uint8_t> after = payload.subspan(2);
    if (claimed > after.size()) {
        frame.message = after;
        frame.unparsed = DnsUnparsed::cut_short;
        return frame;
    }
    frame.message = after.first(claimed);
    frame.rest = after.subspan(claimed);
    return frame;
}

DnsMessage parse_dns_tcp(std::span<const uint8_t> payload) {
    const DnsTcpFrame frame = split_dns_tcp(payload);
    DnsMessage msg = parse_dns(frame.message);
    // A cut frame also leaves counts that the bytes present cannot hold:
    // the cut is the cause, and the one reported.
    if (frame.unparsed != DnsUnparsed::none && (msg.ok() || msg.unparsed == DnsUnparsed::count_exceeds_message)) {
        msg.unparsed = frame.unparsed;
    }
    return msg;
}

std::string dns_type_name(uint16_t type) {
    struct Named {
        uint16_t type;
        std::string_view name;
    };
    static constexpr Named kNames[] = {{1, "A"},    {2, "NS"},    {5, "CNAME"},  {6, "SOA"},
                                       {12, "PTR"}, {15, "MX"},   {16, "TXT"},   {28, "AAAA"},
                                       {33, "SRV"}, {64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"}};
    for (const Named& n : kNames) {
        if (n.type == type) return std::string(n.name);
    }
    return fmt::format("TYPE{}", type);
}

std::string dns_rcode_name(uint8_t rcode) {
    static constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
    if (rcode < std::size(kNames)) return std::string(kNames[rcode]);
    return fmt::format("{}", rcode);
}

}  // namespace lineage
