/* als_checkpoint.c - the ALS training checkpoint file (kind
 * "als-checkpoint" in the io container, docs/FORMAT.md): the epoch reached,
 * the sizes, a fingerprint of the data and options it belongs to, and both
 * factor matrices in fp32.  Written atomically by distributed training
 * (src/dist) and read back to resume; kept here, beside the model file
 * code, so the plain build can fuzz its reader. */
#include "models.h"

#include <stdio.h>
#include <string.h>

enum { CKPT_META = IO_SECTION_KIND, CKPT_USERS = IO_SECTION_KIND + 1, CKPT_ITEMS = IO_SECTION_KIND + 2 };
#define CKPT_KIND "als-checkpoint"

int model_als_checkpoint_write(const char *path, const aisle_config *cfg, const model_als_checkpoint *meta,
                               const float *user, const float *item) {
    io_writer *w;
    int rc = io_writer_new(&w, CKPT_KIND, cfg);
    if (rc) return rc;
    core_buf b;
    buf_init(&b);
    rc = io_put_u64(&b, meta->epoch);
    if (!rc) rc = io_put_u64(&b, meta->users);
    if (!rc) rc = io_put_u64(&b, meta->items);
    if (!rc) rc = io_put_u64(&b, meta->dim);
    if (!rc) rc = io_put_u64(&b, meta->fingerprint);
    if (!rc) rc = io_writer_add_section(w, CKPT_META, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_tensor(&b, user, meta->users, meta->dim, IO_QUANT_NONE);
    if (!rc) rc = io_writer_add_section(w, CKPT_USERS, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_tensor(&b, item, meta->items, meta->dim, IO_QUANT_NONE);
    if (!rc) rc = io_writer_add_section(w, CKPT_ITEMS, IO_FLAG_REQUIRED, &b);
    if (!rc) rc = io_writer_to_file(w, path, UINT64_MAX);
    buf_free(&b);
    io_writer_free(w);
    return rc;
}

int model_als_checkpoint_read(const void *data, size_t len, const char *name, const model_als_checkpoint *want,
                              float *user, float *item, uint64_t *epoch) {
    *epoch = 0;
    io_reader *r = NULL;
    /* bounded by what the factors take, plus room for the header */
    uint64_t max = (want->users + want->items) * want->dim * sizeof(float) + (1u << 16);
    int rc = io_reader_open(&r, data, len, max);
    if (!rc && strcmp(io_reader_kind(r), CKPT_KIND) != 0)
        rc = core_error(AISLE_EFORMAT, "a '%s' file, not a checkpoint", io_reader_kind(r));
    io_cursor c;
    model_als_checkpoint got = {0};
    if (!rc) rc = io_reader_section(r, CKPT_META, &c);
    if (!rc) rc = io_get_u64(&c, &got.epoch);
    if (!rc) rc = io_get_u64(&c, &got.users);
    if (!rc) rc = io_get_u64(&c, &got.items);
    if (!rc) rc = io_get_u64(&c, &got.dim);
    if (!rc) rc = io_get_u64(&c, &got.fingerprint);
    if (!rc) rc = io_cursor_done(&c);
    if (rc && rc != AISLE_ENOMEM) {
        char why[256];
        snprintf(why, sizeof why, "%s", aisle_last_error());
        rc = core_error(AISLE_EFORMAT, "checkpoint %s: not an aisle ALS checkpoint (%s)", name, why);
    }
    if (!rc && (got.users != want->users || got.items != want->items || got.dim != want->dim ||
                got.fingerprint != want->fingerprint))
        rc = core_error(AISLE_EFORMAT,
                        "checkpoint %s was written for other data or options (%llu users, %llu items, %llu factors; "
                        "this run: %llu, %llu, %llu): remove it or give another path",
                        name, (unsigned long long)got.users, (unsigned long long)got.items,
                        (unsigned long long)got.dim, (unsigned long long)want->users,
                        (unsigned long long)want->items, (unsigned long long)want->dim);
    float *t[2] = {NULL, NULL};
    for (int s = 0; s < 2 && !rc; s++) {
        uint64_t rows = 0, cols = 0, n = s ? want->items : want->users;
        rc = io_reader_section(r, s ? CKPT_ITEMS : CKPT_USERS, &c);
        if (!rc) rc = io_get_tensor(&c, &t[s], &rows, &cols, n, want->dim);
        if (!rc) rc = io_cursor_done(&c);
        if (!rc) memcpy(s ? item : user, t[s], n * want->dim * sizeof(float));
    }
    core_free(t[0]);
    core_free(t[1]);
    if (!rc) *epoch = got.epoch;
    io_reader_free(r);
    return rc;
}
