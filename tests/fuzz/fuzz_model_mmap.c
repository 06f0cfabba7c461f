/* fuzz_model_mmap.c - libFuzzer target: opening a model file with option
 * mmap=true (the views into the mapping, the stored int8 copy, the
 * padding sections, fp16 factor tensors served as stored).  The input is written to a file and opened mapped,
 * once with mmap_verify=open and once with none, as is and with its CRCs
 * recomputed (container_frame.h), so mutations reach the structure checks behind
 * the CRCs.  Any input must open or fail with a status and a message; a
 * model that opens must serve (serve_check.h, update_user included: it
 * writes copy-on-write pages of the mapping; an item and a user added
 * through a server copy the grown matrices out of it), and a file that opens
 * mapped with verification must also load the ordinary way. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "aisle.h"
#include "container_frame.h"
#include "serve_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void open_mapped(const uint8_t *img, size_t size, aisle_config *cfg, int verify) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(img, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    aisle_config_set(cfg, "mmap", "true");
    aisle_config_set(cfg, "mmap_verify", verify ? "open" : "none");
    aisle_model *m = NULL;
    int rc = aisle_model_load(&m, path, cfg);
    if (rc != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || m) abort(); /* every failure explains itself */
        return;
    }
    size_t mapped = 0;
    if (aisle_model_mapped_bytes(m, &mapped) != AISLE_OK || mapped != size) abort();
    uint32_t h = (uint32_t)crc32(0, img, (uInt)size);
    serve_all(m, h);
    grow_and_serve(m, cfg, h); /* new rows are copied out of the mapping; frees m */
    if (verify) { /* what opens mapped loads the ordinary way too */
        aisle_config_set(cfg, "mmap", "false");
        if (aisle_model_load_buffer(&m, img, size, cfg) != AISLE_OK) abort();
        aisle_model_free(m);
    }
}

typedef struct try_ctx {
    aisle_config *cfg;
    int verify;
} try_ctx;

static void try_open(const uint8_t *img, size_t size, void *p) {
    try_ctx *c = p;
    open_mapped(img, size, c->cfg, c->verify);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof path, "/tmp/aisle-fuzz-mmap.%ld", (long)getpid());
    try_ctx c = {NULL, 0};
    if (aisle_config_new(&c.cfg) != AISLE_OK) return 0;
    aisle_config_set_int(c.cfg, "max_model_bytes", 1 << 24);
    for (c.verify = 0; c.verify < 2; c.verify++) fuzz_try_raw_and_fixed(data, size, try_open, &c);
    aisle_config_free(c.cfg);
    unlink(path);
    return 0;
}
