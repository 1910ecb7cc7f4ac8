#pragma once
// Big-endian integers, as every byte format of lineage writes them (the
// hash chain's encodings, batches.row_marks, the integrity proof's keys).
#include <cstddef>
#include <cstdint>
#include <string>

namespace lineage {

// Writes the low `n` bytes of `v` (n at most 8), most significant first.
inline void put_be(uint8_t* out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
}

// Appends the low `n` bytes of `v` to `out`, most significant first.
inline void append_be(std::string& out, uint64_t v, size_t n) {
    uint8_t b[8];
    put_be(b, v, n);
    out.append(reinterpret_cast<const char*>(b), n);
}

// Reads an unsigned big-endian integer of `n` bytes (at most 8).
inline uint64_t read_be(const char* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
    return v;
}

}  // namespace lineage
