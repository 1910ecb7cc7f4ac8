// The DNS parser on arbitrary bytes: any program can send its own packets,
// and a server answers whatever it likes. One input is parsed as a UDP
// message, as its own first half (what was parsed of a cut message must be
// what the whole message gives), and as a TCP segment with its length
// prefix.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "dns.h"
#include "escape.h"
#include "fuzz_check.h"

namespace {

// Presentation form: printable ASCII only (every other byte is \DDD), so
// valid UTF-8 with no control character, and within the wire limit's
// escaped size.
void check_name(const std::string& name) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(name.size() <= lineage::kDnsMaxNameText);
    FUZZ_CHECK(lineage::is_valid_utf8(name));
    FUZZ_CHECK(std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x21 && c <= 0x7e; }));
    FUZZ_CHECK(name == "." || name.front() != '.');
}

void check_answer(const lineage::DnsAnswer& a) {
    check_name(a.name);
    switch (a.type) {
        case 1:
            FUZZ_CHECK(a.rdata_length == 4);
            FUZZ_CHECK(a.data.size() >= 7 && a.data.size() <= 15);
            FUZZ_CHECK(std::count(a.data.begin(), a.data.end(), '.') == 3);
            break;
        case 28:
            FUZZ_CHECK(a.rdata_length == 16);
            FUZZ_CHECK(a.data.size() >= 2 && a.data.find(':') != std::string::npos);
            break;
        case 2:
        case 5:
        case 12:
            check_name(a.data);
            break;
        default:
            FUZZ_CHECK(a.data.empty());
    }
}

void check_message(const lineage::DnsMessage& m, size_t size) {
    FUZZ_CHECK(m.length == size);
    FUZZ_CHECK(!lineage::dns_unparsed_name(m.unparsed).empty());
    FUZZ_CHECK(m.questions.size() <= lineage::kDnsMaxQuestions);
    FUZZ_CHECK(m.questions.size() <= m.question_count);
    FUZZ_CHECK(m.answers.size() <= lineage::kDnsMaxAnswers);
    FUZZ_CHECK(m.answers.size() <= m.answer_count);
    // No answer is read before every question is.
    FUZZ_CHECK(m.answers.empty() || m.questions.size() == m.question_count);
    if (m.ok()) {
        FUZZ_CHECK(m.questions.size() == m.question_count);
        FUZZ_CHECK(m.answers.size() == std::min<size_t>(m.answer_count, lineage::kDnsMaxAnswers));
    }
    for (const auto& q : m.questions) check_name(q.name);
    for (const auto& a : m.answers) check_answer(a);
    FUZZ_CHECK(!lineage::dns_rcode_name(m.rcode).empty());
}

void check_prefix(const lineage::DnsMessage& part, const lineage::DnsMessage& whole) {
    FUZZ_CHECK(part.questions.size() <= whole.questions.size());
    for (size_t i = 0; i < part.questions.size(); ++i) {
        FUZZ_CHECK(part.questions[i].name == whole.questions[i].name);
        FUZZ_CHECK(part.questions[i].type == whole.questions[i].type);
    }
    FUZZ_CHECK(part.answers.size() <= whole.answers.size());
    for (size_t i = 0; i < part.answers.size(); ++i) {
        FUZZ_CHECK(part.answers[i].name == whole.answers[i].name);
        FUZZ_CHECK(part.answers[i].data == whole.answers[i].data);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> input(data, size);
    const lineage::DnsMessage whole = lineage::parse_dns(input);
    check_message(whole, size);

    const lineage::DnsMessage half = lineage::parse_dns(input.first(size / 2));
    check_message(half, size / 2);
    check_prefix(half, whole);

    const lineage::DnsTcpFrame frame = lineage::split_dns_tcp(input);
    if (frame.unparsed == lineage::DnsUnparsed::none) {
        FUZZ_CHECK(2 + frame.message.size() + frame.rest.size() == size);
        FUZZ_CHECK(frame.message.data() == data + 2);
    } else {
        FUZZ_CHECK(frame.unparsed == lineage::DnsUnparsed::cut_short);
        FUZZ_CHECK(frame.rest.empty());
    }
    const lineage::DnsMessage tcp = lineage::parse_dns_tcp(input);
    check_message(tcp, frame.message.size());
    FUZZ_CHECK(frame.unparsed == lineage::DnsUnparsed::none || !tcp.ok());

    FUZZ_CHECK(!lineage::dns_type_name(static_cast<uint16_t>(size)).empty());
    return 0;
}
