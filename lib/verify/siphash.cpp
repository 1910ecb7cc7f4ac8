#include "siphash.h"

namespace lineage {

namespace {
uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}
uint64_t rotl(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}
}  // namespace

uint64_t siphash24(const SipKey& key, const void* data, size_t size) {
    const uint64_t k0 = load_le64(key.data()), k1 = load_le64(key.data() + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    auto round = [&]() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    };
    const auto* p = static_cast<const uint8_t*>(data);
    const uint8_t* end = p + (size & ~size_t{7});
    for (; p != end; p += 8) {
        const uint64_t m = load_le64(p);
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
    uint64_t last = static_cast<uint64_t>(size) << 56;
    for (size_t i = 0; i < (size & 7); ++i) last |= static_cast<uint64_t>(p[i]) << (8 * i);
    v3 ^= last;
    round();
    round();
    v0 ^= last;
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace lineage
