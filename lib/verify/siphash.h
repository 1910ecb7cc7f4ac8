#pragma once
// SipHash-2-4 (Aumasson and Bernstein, 2012), for the integrity check's
// keyed multisets (integrity.h).

#include <array>
#include <cstddef>
#include <cstdint>

namespace lineage {

// SipHash-2-4 of `size` bytes under a 128-bit key: a keyed hash that cannot
// be steered without the key.
using SipKey = std::array<uint8_t, 16>;
uint64_t siphash24(const SipKey& key, const void* data, size_t size);

}  // namespace lineage
