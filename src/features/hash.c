/* hash.c - MurmurHash3 x86_32 (Austin Appleby, public domain reference
 * MurmurHash3.cpp, SMHasher), written from its definition.
 *
 * Blocks are read byte by byte as little-endian 32-bit words, so the result
 * does not depend on the host's endianness, alignment or pointer size; the
 * value equals the reference implementation's on a little-endian machine.
 * The exact definition and test vectors are in docs/FEATURES.md. */
#include "features.h"

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t feat_hash32(const void *data, size_t len, uint32_t seed) {
    const unsigned char *p = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t nblocks = len / 4;
    for (size_t i = 0; i < nblocks; i++, p += 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    uint32_t k = 0;
    switch (len & 3) {
    case 3: k ^= (uint32_t)p[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)p[1] << 8;  /* fall through */
    case 1:
        k ^= p[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    /* The reference mixes in the length as a 32-bit int. */
    h ^= (uint32_t)len;
    return fmix32(h);
}

AISLE_API int aisle_hash32(const void *data, size_t len, uint32_t seed, uint32_t *out) {
    if ((!data && len) || !out) return core_error(AISLE_EINVAL, "aisle_hash32: NULL %s", out ? "data" : "out");
    *out = feat_hash32(data ? data : "", len, seed);
    return AISLE_OK;
}
