/* container_frame.h - what the fuzz targets of files in the model
 * container format (docs/FORMAT.md) share: little-endian field access and
 * recomputing an image's CRCs, so that mutated inputs also reach the
 * structure checks behind the CRCs; and running a loader on an input as is
 * and on a CRC-fixed copy.  Header-only: each fuzz target is one
 * translation unit. */
#ifndef AISLE_FUZZ_CONTAINER_FRAME_H
#define AISLE_FUZZ_CONTAINER_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Recomputes header and section CRCs of a container image in place (as
 * far as the declared layout fits in the bytes). */
static inline void fix_crcs(uint8_t *p, size_t size) {
    if (size < 24) return;
    uint32_t table = rd32(p + 12), n = rd32(p + 16), entry = rd32(p + 20);
    if (table > 4096 || entry < 32 || entry > 256 || n == 0 || n > 4096) return;
    size_t hl = (size_t)table + (size_t)n * entry + 4;
    if (hl > size) return;
    size_t off = hl;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = p + table + (size_t)i * entry;
        uint64_t raw = rd32(e + 8) | (uint64_t)rd32(e + 12) << 32;
        uint64_t stored = rd32(e + 16) | (uint64_t)rd32(e + 20) << 32;
        if (stored > size - off) break;
        uint32_t c = (uint32_t)crc32(0, p + off, (uInt)stored);
        wr32(e + 28, c);
        if (!(rd32(e + 4) & 2)) {
            wr32(e + 24, c);
        } else if (raw <= (1u << 20)) {
            uLongf got = (uLongf)raw;
            Bytef *buf = malloc(raw ? raw : 1);
            if (buf && uncompress(buf, &got, p + off, (uLong)stored) == Z_OK)
                wr32(e + 24, (uint32_t)crc32(0, buf, (uInt)got));
            free(buf);
        }
        off += stored;
    }
    wr32(p + hl - 4, (uint32_t)crc32(0, p, (uInt)(hl - 4)));
}

/* Calls try(data, size, ctx), then try on a copy with the CRCs recomputed
 * (fix_crcs). */
static inline void fuzz_try_raw_and_fixed(const uint8_t *data, size_t size,
                                          void (*try)(const uint8_t *, size_t, void *), void *ctx) {
    try(data, size, ctx);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    try(copy, size, ctx);
    free(copy);
}

#endif
