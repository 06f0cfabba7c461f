/* fuzz_model_struct.c - libFuzzer target: a structure-aware model file
 * fuzzer.  The input is not a file but a program of edits applied to the
 * sections of a valid model: on first use the target trains a small model
 * of every kind (on implicit views and on explicit ratings, so variants of
 * a kind differ in their sections) and saves each uncompressed; an input
 * picks one, then each edit overwrites bytes of a section's payload, sets
 * a 32- or 64-bit field to an edge value (0, 1, n+1, 2^31, 2^32, -1, ...),
 * truncates or extends a payload, drops a section, or transplants a
 * section from another model of the same kind (an mf trained on views
 * carrying the section only rating models have).  The container is then
 * rebuilt with correct lengths and CRCs, so every input reaches the kind's
 * loader, and whatever loads must serve (serve_check.h).
 *
 * Program: byte 0 picks the model; then edits of 8 bytes: op, section,
 * offset (2 bytes: with the top bit set, the low 6 bits -- the fields
 * that matter most open a section; else the low 15 bits modulo the
 * payload length), and 4 bytes of argument. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "aisle.h"
#include "container_frame.h"
#include "serve_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER = 88, ENTRY = 32, MAX_SECTIONS = 64, MAX_IMAGES = 32, MAX_PAYLOAD = 1 << 22 };

typedef struct section {
    uint32_t type, flags;
    uint8_t *p;
    size_t len;
} section;

typedef struct image {
    char kind[32];
    uint8_t header[HEADER]; /* magic, version, kind, writer: kept as saved */
    section sec[MAX_SECTIONS];
    size_t n;
} image;

static image images[MAX_IMAGES];
static size_t n_images;

static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Splits a saved (compression=0) image into sections. */
static void split_image(const uint8_t *b, size_t len, image *im) {
    if (len < HEADER + 4) abort();
    memcpy(im->header, b, HEADER);
    memcpy(im->kind, b + 24, 32);
    uint32_t n = rd32(b + 16), table = rd32(b + 12), entry = rd32(b + 20);
    if (n > MAX_SECTIONS || table != HEADER || entry != ENTRY) abort();
    size_t off = HEADER + (size_t)n * ENTRY + 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + HEADER + (size_t)i * ENTRY;
        section *s = &im->sec[i];
        s->type = rd32(e);
        s->flags = rd32(e + 4);
        s->len = (size_t)rd64(e + 16);
        if (s->flags & 2 || off + s->len > len) abort(); /* saved uncompressed */
        s->p = malloc(s->len ? s->len : 1);
        if (!s->p) abort();
        memcpy(s->p, b + off, s->len);
        off += s->len;
    }
    im->n = n;
}

static void add_events(aisle_dataset *ds, const char *event, int explicit_r) {
    char u[32], it[32];
    for (int i = 0; i < 240; i++) {
        snprintf(u, sizeof u, "u%d", i % 24);
        snprintf(it, sizeof it, "i%d", (i * 7 + i / 24) % 30);
        if (aisle_dataset_add_event(ds, u, it, event, explicit_r ? 1 + i % 5 : 1, 1700000000 + i)) abort();
    }
}

static void build_images(void) {
    aisle_dataset *views, *ratings;
    if (aisle_dataset_new(&views) || aisle_dataset_new(&ratings)) abort();
    add_events(views, "view", 0);
    add_events(ratings, "rating", 1);
    aisle_config *save;
    if (aisle_config_new(&save) || aisle_config_parse(save, "compression=0")) abort();
    /* option variants that change which sections a kind writes (an option
     * a kind does not know fails its training, and is skipped) */
    static const char *const variants[] = {"", "implicit_feedback=false"};
    for (int k = 0; k < aisle_model_kind_count(); k++) {
        const char *kind;
        aisle_model_kind_info(k, &kind, NULL);
        for (int v = 0; v < 4; v++) {
            char text[256];
            snprintf(text, sizeof text,
                     "model=%s factors=4 epochs=2 hidden=8 maxlen=4 blocks=1 heads=1 batch_size=8 threads=1 %s", kind,
                     variants[v / 2]);
            aisle_config *cfg;
            aisle_model *m;
            if (aisle_config_new(&cfg) || aisle_config_parse(cfg, text)) abort();
            if (aisle_model_train(v % 2 ? ratings : views, cfg, &m) == AISLE_OK) {
                void *img;
                size_t len;
                if (aisle_model_save_buffer(m, save, &img, &len) == AISLE_OK && n_images < MAX_IMAGES) {
                    split_image(img, len, &images[n_images++]);
                    aisle_free(img);
                }
                aisle_model_free(m);
            }
            aisle_config_free(cfg);
        }
    }
    aisle_config_free(save);
    aisle_dataset_free(views);
    aisle_dataset_free(ratings);
    if (!n_images) abort();
}

/* Rebuilds a container from sections, lengths and CRCs correct. */
static uint8_t *assemble(const image *im, const section *sec, size_t n, size_t *out_len) {
    size_t hl = HEADER + n * ENTRY + 4, total = hl;
    for (size_t i = 0; i < n; i++) total += sec[i].len;
    uint8_t *b = calloc(1, total);
    if (!b) abort();
    memcpy(b, im->header, HEADER);
    wr32(b + 16, (uint32_t)n);
    size_t off = hl;
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = b + HEADER + i * ENTRY;
        uint32_t crc = (uint32_t)crc32(0, sec[i].p, (uInt)sec[i].len);
        wr32(e, sec[i].type);
        wr32(e + 4, sec[i].flags & ~2u);
        wr64(e + 8, sec[i].len);
        wr64(e + 16, sec[i].len);
        wr32(e + 24, crc);
        wr32(e + 28, crc);
        memcpy(b + off, sec[i].p, sec[i].len);
        off += sec[i].len;
    }
    wr32(b + hl - 4, (uint32_t)crc32(0, b, (uInt)(hl - 4)));
    *out_len = total;
    return b;
}

static int resize(section *s, size_t len) {
    if (len > MAX_PAYLOAD) return -1;
    uint8_t *p = realloc(s->p, len ? len : 1);
    if (!p) abort();
    if (len > s->len) memset(p + s->len, 0, len - s->len);
    s->p = p;
    s->len = len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!n_images) build_images();
    if (size < 1) return 0;
    const image *base = &images[data[0] % n_images];
    section sec[MAX_SECTIONS];
    size_t n = base->n;
    for (size_t i = 0; i < n; i++) {
        sec[i] = base->sec[i];
        sec[i].p = malloc(sec[i].len ? sec[i].len : 1);
        if (!sec[i].p) abort();
        memcpy(sec[i].p, base->sec[i].p, sec[i].len);
    }
    static const uint64_t edge[] = {0, 1, 2, 3, 7, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000u,
                                    0xffffffffu, 0x100000000ull, 0x7fffffffffffffffull, ~0ull, 1ull << 40};
    for (size_t at = 1; at + 8 <= size && n; at += 8) {
        const uint8_t *op = data + at;
        section *s = &sec[op[1] % n];
        size_t off = op[3] & 0x80 ? op[2] & 0x3f : (size_t)(op[2] | (op[3] & 0x7f) << 8) % (s->len + 1);
        uint32_t arg = rd32(op + 4);
        switch (op[0] % 8) {
        case 0: /* overwrite 4 bytes */
            if (off + 4 <= s->len) memcpy(s->p + off, op + 4, 4);
            break;
        case 1: /* a 32-bit field to an edge value, or a small delta of it */
            if (off + 4 <= s->len)
                wr32(s->p + off, arg & 0x10 ? rd32(s->p + off) + (uint32_t)(int8_t)(arg >> 8)
                                            : (uint32_t)edge[arg % 16]);
            break;
        case 2: /* a 64-bit field to an edge value */
            if (off + 8 <= s->len) wr64(s->p + off, edge[arg % 16]);
            break;
        case 3: /* truncate */
            if (off < s->len) resize(s, off);
            break;
        case 4: /* extend by up to 255 bytes of arg's low byte */
            if (resize(s, s->len + (arg >> 8 & 0xff)) == 0) memset(s->p + s->len - (arg >> 8 & 0xff), arg & 0xff, arg >> 8 & 0xff);
            break;
        case 5: /* drop the section */
            free(s->p);
            *s = sec[--n];
            break;
        case 6: { /* transplant a section of another model of the same kind */
            const image *other = &images[arg % n_images];
            if (strcmp(other->kind, base->kind) != 0 || !other->n) break;
            const section *src = &other->sec[(arg >> 8) % other->n];
            size_t j = 0;
            while (j < n && sec[j].type != src->type) j++;
            if (j == n) {
                if (n == MAX_SECTIONS) break;
                sec[n++].p = NULL;
            } else {
                free(sec[j].p);
            }
            sec[j] = *src;
            sec[j].p = malloc(src->len ? src->len : 1);
            if (!sec[j].p) abort();
            memcpy(sec[j].p, src->p, src->len);
            break;
        }
        default: { /* a byte (flags, small counts) to 0, 1, 2 or 255, or one bit flipped */
            static const uint8_t b8[] = {0, 1, 2, 255};
            if (off < s->len) s->p[off] = arg & 4 ? s->p[off] ^ (uint8_t)(1u << (arg >> 8 & 7)) : b8[arg & 3];
            break;
        }
        }
    }
    size_t len;
    uint8_t *img = assemble(base, sec, n, &len);
    for (size_t i = 0; i < n; i++) free(sec[i].p);
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) != AISLE_OK) abort();
    aisle_config_set_int(cfg, "max_model_bytes", 1 << 24);
    load_and_serve(img, len, cfg, (uint32_t)crc32(0, data, (uInt)size));
    aisle_config_free(cfg);
    free(img);
    return 0;
}
