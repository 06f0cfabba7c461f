/* checkpoint.c - the training checkpoint file (kind "train-checkpoint" in
 * the io container, docs/FORMAT.md) that distributed training (src/dist)
 * writes atomically and resumes from: the model kind, the progress counter
 * (epochs completed), a fingerprint as named fields, and the kind's
 * training state as named arrays of 4- or 8-byte values.  Each kind says
 * what its state and fingerprint are (model_ckpt); this file only stores
 * and checks them.  Kept here, beside the model file code, so the plain
 * build can fuzz its reader. */
#include "models.h"

#include <stdio.h>
#include <string.h>

enum { CKPT_META = IO_SECTION_KIND, CKPT_PART0 = IO_SECTION_KIND + 1 };
/* a file may hold up to CKPT_MAX_FIELDS fields; a run checks up to CKPT_MAX_WANT */
enum { CKPT_MAX_FIELDS = 256, CKPT_MAX_PARTS = 64, CKPT_MAX_WANT = MODEL_CKPT_MAX_FIELDS };
#define CKPT_KIND "train-checkpoint"

uint64_t model_ckpt_hash(uint64_t h, const void *p, size_t n) {
    return core_hash_words(h, p, n);
}

uint64_t model_ckpt_max_bytes(const model_ckpt *ck) {
    uint64_t n = 1u << 16;
    for (size_t k = 0; k < ck->n_parts; k++) n += ck->parts[k].count * ck->parts[k].width + 64;
    return n + ck->n_fields * 256;
}

int model_ckpt_write(const char *path, const aisle_config *cfg, const model_ckpt *ck, uint64_t epoch) {
    if (ck->n_fields > CKPT_MAX_WANT || ck->n_parts > CKPT_MAX_PARTS)
        return core_error(AISLE_EINVAL, "checkpoint: too many fields or parts");
    io_writer *w;
    int rc = io_writer_new(&w, CKPT_KIND, cfg);
    if (rc) return rc;
    core_buf b;
    buf_init(&b);
    rc = io_put_str(&b, ck->kind);
    if (!rc) rc = io_put_u64(&b, epoch);
    if (!rc) rc = io_put_u32(&b, (uint32_t)ck->n_fields);
    for (size_t k = 0; !rc && k < ck->n_fields; k++) {
        rc = io_put_str(&b, ck->fields[k].name);
        if (!rc) rc = io_put_u64(&b, ck->fields[k].value);
    }
    if (!rc) rc = io_put_u32(&b, (uint32_t)ck->n_parts);
    for (size_t k = 0; !rc && k < ck->n_parts; k++) {
        rc = io_put_str(&b, ck->parts[k].name);
        if (!rc) rc = io_put_u8(&b, (uint8_t)ck->parts[k].width);
        if (!rc) rc = io_put_u64(&b, ck->parts[k].count);
    }
    if (!rc) rc = io_writer_add_section(w, CKPT_META, IO_FLAG_REQUIRED, &b);
    for (size_t k = 0; !rc && k < ck->n_parts; k++) {
        const model_ckpt_part *p = &ck->parts[k];
        b.len = 0;
        /* as integers, so the bytes are little-endian on any host */
        rc = p->width == 8 ? io_put_u64_array(&b, p->data, p->count) : io_put_u32_array(&b, p->data, p->count);
        if (!rc) rc = io_writer_add_section(w, CKPT_PART0 + (uint32_t)k, IO_FLAG_REQUIRED, &b);
    }
    if (!rc) rc = io_writer_to_file(w, path, UINT64_MAX);
    buf_free(&b);
    io_writer_free(w);
    return rc;
}

/* The meta section against ck: kind, fields (each of ck's by name, same
 * value) and parts (same names, widths and counts, in order).  *refused:
 * the file is sound but another run's. */
static int check_meta(io_cursor *c, const char *name, const model_ckpt *ck, uint64_t *epoch, int *refused) {
    char *kind = NULL, *s = NULL;
    uint32_t n = 0;
    int rc = io_get_str(c, &kind);
    if (!rc) rc = io_get_u64(c, epoch);
    if (!rc) rc = io_get_u32(c, &n);
    if (!rc && n > CKPT_MAX_FIELDS) rc = core_error(AISLE_EFORMAT, "%u fingerprint fields", n);
    if (!rc && strcmp(kind, ck->kind) != 0)
        *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s was written by model '%s', this run trains '%s' (field 'kind'): "
                                      "remove it or give another path", name, kind, ck->kind);
    /* every field of this run must be there with the same value */
    enum { ABSENT, SAME, DIFFERS };
    unsigned char seen[CKPT_MAX_WANT] = {0}; /* field f of ck: ABSENT, SAME or DIFFERS */
    for (uint32_t k = 0; !rc && k < n; k++) {
        uint64_t v = 0;
        rc = io_get_str(c, &s);
        if (!rc) rc = io_get_u64(c, &v);
        for (size_t f = 0; !rc && f < ck->n_fields; f++) {
            if (strcmp(ck->fields[f].name, s) != 0) continue;
            seen[f] = ck->fields[f].value == v ? SAME : DIFFERS;
            break;
        }
        core_free(s);
        s = NULL;
    }
    /* the hash first: a file hashed another way differs in every data
     * field, and "other data" would send the user looking for a change
     * that is not there */
    for (size_t f = 0; !rc && f < ck->n_fields; f++)
        if (seen[f] != SAME && strcmp(ck->fields[f].name, MODEL_CKPT_HASH_FIELD) == 0)
            *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s fingerprints its data with another hash "
                                                         "algorithm (field '%s' %s; written by an older aisle): "
                                                         "checkpoints do not carry over between versions, remove it "
                                                         "or give another path",
                                          name, MODEL_CKPT_HASH_FIELD, seen[f] == ABSENT ? "absent" : "differs");
    for (size_t f = 0; !rc && f < ck->n_fields; f++)
        if (seen[f] == DIFFERS)
            *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s was written for other data or options "
                                                         "(field '%s' differs): remove it or give another path",
                                          name, ck->fields[f].name);
    for (size_t f = 0; !rc && f < ck->n_fields; f++)
        if (seen[f] == ABSENT)
            *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s was written for other data or options (no "
                                                         "field '%s'): remove it or give another path",
                                          name, ck->fields[f].name);
    if (!rc) rc = io_get_u32(c, &n);
    if (!rc && n != ck->n_parts)
        *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s holds %u state arrays, this run has %zu (field 'parts')", name, n,
                        ck->n_parts);
    for (uint32_t k = 0; !rc && k < n; k++) {
        uint8_t width = 0;
        uint64_t count = 0;
        rc = io_get_str(c, &s);
        if (!rc) rc = io_get_u8(c, &width);
        if (!rc) rc = io_get_u64(c, &count);
        const model_ckpt_part *p = &ck->parts[k];
        if (!rc && (strcmp(s, p->name) != 0 || width != p->width || count != p->count))
            *refused = 1, rc = core_error(AISLE_EFORMAT, "checkpoint %s: state array %u is '%s' of %llu values, this run's '%s' has "
                                          "%llu (sizes differ): remove it or give another path", name, k, s,
                            (unsigned long long)count, p->name, (unsigned long long)p->count);
        core_free(s);
        s = NULL;
    }
    if (!rc) rc = io_cursor_done(c);
    core_free(kind);
    return rc;
}

int model_ckpt_peek(const void *data, size_t len, const char *name, uint64_t max_bytes, uint64_t *epoch) {
    *epoch = 0;
    io_reader *r = NULL;
    char *kind = NULL;
    int rc = io_reader_open(&r, data, len, max_bytes);
    if (!rc && strcmp(io_reader_kind(r), CKPT_KIND) != 0)
        rc = core_error(AISLE_EFORMAT, "a '%s' file, not a training checkpoint", io_reader_kind(r));
    io_cursor c;
    if (!rc) rc = io_reader_section(r, CKPT_META, &c);
    if (!rc) rc = io_get_str(&c, &kind);
    if (!rc) rc = io_get_u64(&c, epoch);
    if (rc && rc != AISLE_ENOMEM) {
        char why[256];
        snprintf(why, sizeof why, "%s", aisle_last_error());
        rc = core_error(AISLE_EFORMAT, "checkpoint %s: not a usable aisle training checkpoint (%s)", name, why);
    }
    if (rc) *epoch = 0;
    core_free(kind);
    io_reader_free(r);
    return rc;
}

int model_ckpt_read(const void *data, size_t len, const char *name, const model_ckpt *ck, uint64_t *epoch) {
    *epoch = 0;
    if (ck->n_fields > CKPT_MAX_WANT || ck->n_parts > CKPT_MAX_PARTS)
        return core_error(AISLE_EINVAL, "checkpoint: too many fields or parts");
    io_reader *r = NULL;
    uint64_t got_epoch = 0;
    int refused = 0;
    int rc = io_reader_open(&r, data, len, model_ckpt_max_bytes(ck));
    if (!rc && strcmp(io_reader_kind(r), CKPT_KIND) != 0)
        rc = core_error(AISLE_EFORMAT, "a '%s' file, not a training checkpoint", io_reader_kind(r));
    io_cursor c;
    if (!rc) rc = io_reader_section(r, CKPT_META, &c);
    if (!rc) rc = check_meta(&c, name, ck, &got_epoch, &refused);
    /* read every array before writing any, so a damaged file leaves the
     * caller's state as it was */
    void *got[CKPT_MAX_PARTS] = {0};
    for (size_t k = 0; !rc && k < ck->n_parts; k++) {
        const model_ckpt_part *p = &ck->parts[k];
        uint64_t n = 0;
        rc = io_reader_section(r, CKPT_PART0 + (uint32_t)k, &c);
        if (!rc) rc = p->width == 8 ? io_get_u64_array(&c, (uint64_t **)&got[k], &n, p->count)
                                    : io_get_u32_array(&c, (uint32_t **)&got[k], &n, p->count);
        if (!rc && n != p->count)
            rc = core_error(AISLE_EFORMAT, "state array '%s' holds %llu values, not %llu", p->name,
                            (unsigned long long)n, (unsigned long long)p->count);
        if (!rc) rc = io_cursor_done(&c);
    }
    if (rc && rc != AISLE_ENOMEM && !refused) {
        char why[256];
        snprintf(why, sizeof why, "%s", aisle_last_error());
        rc = core_error(AISLE_EFORMAT, "checkpoint %s: not a usable aisle training checkpoint (%s)", name, why);
    }
    for (size_t k = 0; k < ck->n_parts; k++) {
        if (!rc && ck->parts[k].count) memcpy(ck->parts[k].data, got[k], ck->parts[k].count * ck->parts[k].width);
        core_free(got[k]);
    }
    if (!rc) *epoch = got_epoch;
    io_reader_free(r);
    return rc;
}
