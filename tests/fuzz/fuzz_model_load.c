/* fuzz_model_load.c - libFuzzer target: the model file loader.  Any input
 * must either load or fail with a status and a message, without crashing,
 * leaking or allocating more than max_model_bytes allows; a model that
 * loads must serve (serve_check.h: recommend, for items, similar, score,
 * explain, history, batch with k from 0 to huge, update_user), describe
 * itself, save, and load again to the same description.  Each input is tried as is and with its CRCs recomputed
 * (layout in docs/FORMAT.md), so mutations reach the structure checks
 * behind the CRCs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aisle.h"
#include "serve_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Recomputes header and section CRCs of a format 1.x image in place
 * (as far as the declared layout fits in the bytes). */
static void fix_crcs(uint8_t *p, size_t size) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) != AISLE_OK) return 0;
    aisle_config_set_int(cfg, "max_model_bytes", 1 << 24);
    load_and_serve(data, size, cfg, (uint32_t)crc32(0, data, (uInt)size));
    uint8_t *copy = malloc(size ? size : 1);
    if (copy) {
        memcpy(copy, data, size);
        fix_crcs(copy, size);
        load_and_serve(copy, size, cfg, (uint32_t)crc32(0, copy, (uInt)size));
        free(copy);
    }
    aisle_config_free(cfg);
    return 0;
}
