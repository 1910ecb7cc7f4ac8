#pragma once
// A process's DNS lookups (issue 21, "Names"), from the dns rows of the
// messages its sockets sent and received (schema version 10): each query
// paired with its answer, both parsed (lib/names/dns.h), and its connects
// named by the lookups whose answers gave their addresses.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event.h"

namespace lineage {

// A query the process sent and the answer its socket received; either may be
// missing (no answer came, or the query was not seen: recording started
// after it, or the ring buffer dropped it).
struct DnsLookup {
    int64_t time_ns = 0;  // the query's; the answer's when there was no query
    std::string name;     // the question, presentation form without the trailing dot ("" when unparsed)
    uint16_t type = 0;    // the question's type (1 A, 28 AAAA, ...)
    // What the answer section gave, in its order: A and AAAA as addresses,
    // CNAME, NS and PTR as names; other types are not listed.
    std::vector<std::string> answers;
    std::string server;  // the address the query went to (the answer's source when no query was seen)
    uint16_t server_port = 0;
    // The process answered the query instead of asking it (a resolver, a
    // cache, a DNS server): client is who asked.
    bool served = false;
    std::string client;
    uint16_t client_port = 0;
    bool tcp = false;
    bool has_query = false;
    bool answered = false;
    uint8_t rcode = 0;  // the answer's
    // The answer's header counts no record in its answer section and it was
    // not truncated (TC): the name has no record of the type asked for.
    // (`answers` lists only the types above: an MX answer lists none.)
    bool no_records = false;
    // Why a message did not parse to its end (dns_unparsed_name), with its
    // length: "answer cut_short (40 bytes)". Empty when both parsed.
    std::string unparsed;
};

// The lookups of one process's dns rows, in time order. DNS over TCP is
// taken as the messages its segments carry (joined, a retransmission once).
// A received answer
// belongs to the latest earlier query of the process with the same DNS id
// from the port the answer came back to (addresses are not compared: a
// service address is rewritten on the way, and the answer comes from the
// server behind it). The same message seen twice (by two hooks, or on two
// devices) counts once. `packets` is consumed (sorted, its UDP messages
// moved out).
std::vector<DnsLookup> pair_dns(std::vector<DnsEvent>& packets);

// The names one dns row shows its process looking up, for the journal's
// dns_names index (--dns): the question of a query the process sent, or of
// an answer its socket received (not a query a resolver was sent, nor an
// answer it gave); of a TCP segment, of every message it holds whole.
// `partial`: a TCP segment holds a message it does not hold whole, or
// something that is not one (the rest of a message split over segments,
// a length prefix sent on its own): only the flow's segments joined tell
// what it asked, as pair_dns joins them for the tree. A segment the probe's
// copy cut is never joined: its first message is its name, not partial. pair_dns, on all of a
// process's rows, is what a reader shows and matches.
struct RowLookups {
    std::vector<std::string> names;
    bool partial = false;
};
RowLookups looked_up_names(const DnsEvent& e);

// The name a connect to `daddr` at `time_ns` was resolved by: the question of
// the latest lookup before it whose answers hold that address; "" when none.
std::string name_for_address(const std::vector<DnsLookup>& lookups, const std::string& daddr, int64_t time_ns);

}  // namespace lineage
