#pragma once
// `reconstruct --new`: what the answer asks the journals about its binaries
// and destinations (the tree stage builds the question, precedent_query),
// and what they answer (the journal loader, JournalReader::find_precedents).
// Plain data, so that neither stage sees the other.
#include <algorithm>
#include <compare>
#include <cstdint>
#include <map>
#include <string>

namespace lineage {

// A binary as one pod ran it: the exact bytes of the exec's path (or of
// /proc's exe for a snapshot image), in the pod of the exec row; "" is the
// host, every process outside pods.
struct BinaryKey {
    std::string pod_uid;
    std::string binary;
    auto operator<=>(const BinaryKey&) const = default;
};

// A destination one pod connected to. Only pods: the connect table has no
// index that finds the host's connects short of reading them all.
struct DestinationKey {
    std::string pod_uid;  // never ""
    std::string daddr;
    uint16_t dport = 0;
    auto operator<=>(const DestinationKey&) const = default;
};

// Each key, with the wall-clock ns of the answer's earliest exec of it (or
// connect to it): only rows earlier than that can make it not new.
struct PrecedentQuery {
    std::map<BinaryKey, int64_t> binaries;
    std::map<DestinationKey, int64_t> destinations;
    bool empty() const { return binaries.empty() && destinations.empty(); }
};

// The earliest wall-clock ns the journals hold of each key, among the rows
// before the query's time; a key with no such row is absent.
struct Precedents {
    std::map<BinaryKey, int64_t> binaries;
    std::map<DestinationKey, int64_t> destinations;

    // Several journals are read as one: the earliest of them.
    void merge(const Precedents& other) {
        for (const auto& [k, t] : other.binaries) {
            auto [it, fresh] = binaries.try_emplace(k, t);
            if (!fresh) it->second = std::min(it->second, t);
        }
        for (const auto& [k, t] : other.destinations) {
            auto [it, fresh] = destinations.try_emplace(k, t);
            if (!fresh) it->second = std::min(it->second, t);
        }
    }
};

}  // namespace lineage
