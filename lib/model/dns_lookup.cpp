#include "dns_lookup.h"

#include <algorithm>
#include <map>
#include <span>
#include <tuple>

#include <fmt/format.h>

#include "dns.h"

namespace lineage {

namespace {

// The same packet seen twice (egress and ingress of one device, both ends
// of a veth pair) arrives within microseconds; a resolver's retry of a
// query that got no answer comes a second or more later, and is kept.
constexpr int64_t kDuplicateWithinNs = 200'000'000;
// An answer later than this after its query is not paired with it
// (resolvers give up after a few seconds, and DNS ids repeat).
constexpr int64_t kAnswerWithinNs = 60'000'000'000;

DnsMessage parse(const DnsEvent& e) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(e.message.data());
    const std::span<const uint8_t> span(bytes, e.message.size());
    // A message longer than the probe's cap ends where the copy did: the
    // parser says cut_short, and unparsed_text() how much was captured.
    return e.tcp ? parse_dns_tcp(span) : parse_dns(span);
}

std::string unparsed_text(const char* which, const DnsMessage& m, const DnsEvent& e) {
    if (m.ok()) return {};
    std::string text = fmt::format("{} {} ({} bytes", which, dns_unparsed_name(m.unparsed), e.length);
    if (e.message.size() < e.length) text += fmt::format(", {} captured", e.message.size());
    return text + ")";
}

void add_answers(DnsLookup& l, const DnsMessage& m) {
    l.answered = true;
    l.rcode = m.rcode;
    l.no_records = m.answer_count == 0 && !m.truncated;
    for (const DnsAnswer& a : m.answers) {
        if (!a.data.empty()) l.answers.push_back(a.data);
    }
}

// DNS over TCP as the messages its segments carry: the segments of a flow
// (one direction of a connection) joined in time order, a retransmitted
// segment once, and cut where each message's 2-byte length prefix says
// (RFC 1035 section 4.2.2); a message split over segments is whole again,
// and a segment with several messages gives each. Each message keeps its
// prefix (the bytes parse_dns_tcp reads) and the time of its first segment.
// A segment the probe cut (fewer bytes than it carried) ends what can be
// joined: the bytes before it are given as they are, and it on its own.
// UDP messages are given as they are (moved out of `packets`).
std::vector<DnsEvent> messages_of(std::vector<DnsEvent>& packets) {
    std::vector<DnsEvent> out;
    // One direction of one connection: its segments, in time order.
    using FlowKey = std::tuple<bool, std::string, uint16_t, std::string, uint16_t>;
    std::map<FlowKey, std::vector<const DnsEvent*>> flows;
    for (DnsEvent& e : packets) {
        if (!e.tcp) {
            out.push_back(std::move(e));  // the flows point at TCP packets only
            continue;
        }
        flows[FlowKey{e.sent, e.saddr, e.sport, e.daddr, e.dport}].push_back(&e);
    }
    for (const auto& [key, segments] : flows) {
        const DnsEvent& first = *segments.front();
        std::string stream;
        uint64_t stream_ns = 0;
        auto emit = [&](const std::string& bytes, uint64_t time_ns, uint32_t length) {
            DnsEvent m = first;
            m.time_ns = time_ns;
            m.message = bytes;
            m.length = length;
            out.push_back(std::move(m));
        };
        auto take_messages = [&] {
            while (stream.size() >= 2) {
                const size_t claimed = (static_cast<uint8_t>(stream[0]) << 8) | static_cast<uint8_t>(stream[1]);
                if (stream.size() - 2 < claimed) break;
                emit(stream.substr(0, 2 + claimed), stream_ns, static_cast<uint32_t>(2 + claimed));
                stream.erase(0, 2 + claimed);
            }
        };
        for (size_t i = 0; i < segments.size(); ++i) {
            const DnsEvent* seg = segments[i];
            // A retransmission: the same bytes again, shortly after.
            bool repeat = false;
            for (size_t k = i; k-- > 0;) {
                if (seg->time_ns - segments[k]->time_ns > static_cast<uint64_t>(kAnswerWithinNs)) break;
                if (segments[k]->message == seg->message) {
                    repeat = true;
                    break;
                }
            }
            if (repeat) continue;
            if (seg->message.size() < seg->length) {
                if (!stream.empty()) emit(stream, stream_ns, static_cast<uint32_t>(stream.size()));
                stream.clear();
                out.push_back(*seg);
                continue;
            }
            if (stream.empty()) stream_ns = seg->time_ns;
            stream += seg->message;
            take_messages();
        }
        if (!stream.empty()) emit(stream, stream_ns, static_cast<uint32_t>(stream.size()));
    }
    return out;
}

// A lookup of message `m` (`e` as recorded), a request (a query) or a
// reply without its request: the question, and who served it.
DnsLookup lookup_of(const DnsEvent& e, const DnsMessage& m, bool request) {
    DnsLookup l;
    l.time_ns = static_cast<int64_t>(e.time_ns);
    l.tcp = e.tcp;
    l.has_query = request;
    // The process served it when it received the request, or sent the reply.
    l.served = request != e.sent;
    // The server: a request's destination, a reply's source.
    l.server = request ? e.daddr : e.saddr;
    l.server_port = request ? e.dport : e.sport;
    if (l.served) {
        l.client = request ? e.saddr : e.daddr;
        l.client_port = request ? e.sport : e.dport;
    }
    if (!m.questions.empty()) {
        l.name = m.questions.front().name;
        l.type = m.questions.front().type;
    }
    l.unparsed = unparsed_text(request ? "query" : "answer", m, e);
    return l;
}

struct Parsed {
    const DnsEvent* event;
    DnsMessage message;
    bool used = false;
};

}  // namespace

RowLookups looked_up_names(const DnsEvent& e) {
    RowLookups out;
    // sent and a query, or received and an answer: the process asked.
    auto add = [&](const DnsMessage& m) {
        if (!m.questions.empty() && e.sent != m.is_response) out.names.push_back(m.questions.front().name);
    };
    const auto* bytes = reinterpret_cast<const uint8_t*>(e.message.data());
    std::span<const uint8_t> rest(bytes, e.message.size());
    if (!e.tcp) {
        add(parse_dns(rest));
        return out;
    }
    // A segment cut by the probe's copy is never joined (messages_of): it is
    // read on its own, as one message from its first byte.
    if (e.message.size() < e.length) {
        add(parse_dns_tcp(rest));
        return out;
    }
    while (!rest.empty()) {
        const DnsTcpFrame frame = split_dns_tcp(rest);
        const DnsMessage m = parse_dns(frame.message);
        if (frame.unparsed != DnsUnparsed::none || m.questions.empty()) {
            out.partial = true;
            break;
        }
        add(m);
        rest = frame.rest;
    }
    return out;
}

std::vector<DnsLookup> pair_dns(std::vector<DnsEvent>& packets) {
    std::stable_sort(packets.begin(), packets.end(),
                     [](const DnsEvent& a, const DnsEvent& b) { return a.time_ns < b.time_ns; });
    std::vector<DnsEvent> messages = messages_of(packets);
    std::stable_sort(messages.begin(), messages.end(),
                     [](const DnsEvent& a, const DnsEvent& b) { return a.time_ns < b.time_ns; });
    std::vector<Parsed> parsed;
    parsed.reserve(messages.size());
    for (const DnsEvent& e : messages) {
        bool duplicate = false;
        for (auto it = parsed.rbegin(); it != parsed.rend(); ++it) {
            const DnsEvent& o = *it->event;
            if (e.time_ns - o.time_ns > static_cast<uint64_t>(kDuplicateWithinNs)) break;
            if (o.sent == e.sent && o.tcp == e.tcp && o.sport == e.sport && o.dport == e.dport &&
                o.message == e.message) {
                duplicate = true;
                break;
            }
        }
        if (duplicate) continue;
        parsed.push_back(Parsed{&e, parse(e)});
    }
    // The replies by what pairs them with their request (transport,
    // direction, the ports as the reply has them, DNS id), in time order: a
    // look-up per request, not a walk of every message after it. A UDP
    // datagram never answers a query sent over TCP, nor the other way: the
    // TCP messages of a process pair the same with or without its UDP ones
    // (what the loader's --dns check of them relies on).
    using ReplyKey = std::tuple<bool, bool, uint16_t, uint16_t, uint16_t>;
    std::map<ReplyKey, std::vector<size_t>> replies;
    for (size_t j = 0; j < parsed.size(); ++j) {
        const Parsed& r = parsed[j];
        if (r.message.length < 12 || !r.message.is_response) continue;
        replies[ReplyKey{r.event->tcp, r.event->sent, r.event->sport, r.event->dport, r.message.id}].push_back(j);
    }

    std::vector<DnsLookup> out;
    // Requests first (a query a process sent, or one a server received),
    // each with the reply that went the other way between the same ports
    // under the same id.
    for (size_t i = 0; i < parsed.size(); ++i) {
        Parsed& q = parsed[i];
        const DnsMessage& m = q.message;
        if (m.length >= 12 && m.is_response) continue;  // a reply: below
        q.used = true;
        const DnsEvent& e = *q.event;
        DnsLookup l = lookup_of(e, m, true);
        // The first reply after it, unused, within the window.
        auto candidates =
            m.length >= 12 ? replies.find(ReplyKey{e.tcp, !e.sent, e.dport, e.sport, m.id}) : replies.end();
        if (candidates != replies.end()) {
            for (size_t j : candidates->second) {
                Parsed& r = parsed[j];
                const DnsEvent& re = *r.event;
                if (j < i || r.used) continue;
                if (static_cast<int64_t>(re.time_ns - e.time_ns) > kAnswerWithinNs) break;
                r.used = true;
                add_answers(l, r.message);
                const std::string why = unparsed_text("answer", r.message, re);
                if (!why.empty()) l.unparsed += (l.unparsed.empty() ? "" : "; ") + why;
                break;
            }
        }
        out.push_back(std::move(l));
    }
    // Replies without their request: the query was not recorded.
    for (Parsed& r : parsed) {
        if (r.used) continue;
        DnsLookup l = lookup_of(*r.event, r.message, false);
        add_answers(l, r.message);
        out.push_back(std::move(l));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const DnsLookup& a, const DnsLookup& b) { return a.time_ns < b.time_ns; });
    return out;
}

std::string name_for_address(const std::vector<DnsLookup>& lookups, const std::string& daddr, int64_t time_ns) {
    for (auto it = lookups.rbegin(); it != lookups.rend(); ++it) {
        if (it->time_ns > time_ns || it->served || it->name.empty()) continue;
        if (std::find(it->answers.begin(), it->answers.end(), daddr) != it->answers.end()) return it->name;
    }
    return {};
}

}  // namespace lineage
