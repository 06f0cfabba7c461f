/* checkpoint.c - checkpoints of distributed training, for every kind
 * (docs/SCALING.md "Checkpoint and restart").  Rank 0 holds the whole
 * training state after every epoch (als: both factor matrices; bpr, mf,
 * sasrec: their replica, identical on every rank), so it alone writes the
 * file (src/models/checkpoint.c, an io container saved atomically) and
 * alone reads it on resume, then broadcasts the state.  The fingerprint
 * is a list of named fields -- the kind, the rank count where the result
 * depends on it, hashes of the keys and of the training data, and every
 * option of the kind -- so a refused resume names what differs.
 *
 * Test hooks (environment, read by rank-local code only):
 * AISLE_DIST_KILL=R:E makes rank R kill itself (SIGKILL) at the start of
 * epoch E, to check that a dead rank ends the job cleanly. */
#include "dist.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_BASIS 0xcbf29ce484222325ull

void dist_kill_hook(int rank, int epoch) {
    const char *v = getenv("AISLE_DIST_KILL");
    int r, e;
    if (v && sscanf(v, "%d:%d", &r, &e) == 2 && r == rank && e == epoch) raise(SIGKILL);
}

static int ckpt_resume(void *ctx, const model_ckpt_part *parts, size_t n, uint64_t *done) {
    return dist_ckpt_load(ctx, parts, n, done);
}

static int ckpt_save(void *ctx, const model_ckpt_part *parts, size_t n, uint64_t done, bool last) {
    return dist_ckpt_store(ctx, parts, n, done, last);
}

void dist_ckpt_init(dist_ckpt *k, dist_comm *c, const aisle_config *cfg, const char *path, int every,
                    const char *kind, int *agreed) {
    memset(k, 0, sizeof *k);
    k->c = c;
    k->cfg = cfg;
    k->path = path;
    k->every = every;
    k->kind = kind;
    k->agreed = agreed;
    k->max_done = UINT64_MAX;
    k->hook = (model_ckpt_hook){ckpt_resume, ckpt_save, k};
    dist_ckpt_field(k, MODEL_CKPT_HASH_FIELD, MODEL_CKPT_HASH_WORDS);
    dist_ckpt_field(k, "kind", model_ckpt_hash(FNV_BASIS, kind, strlen(kind)));
}

void dist_ckpt_field(dist_ckpt *k, const char *name, uint64_t value) {
    if (k->n_fields < MODEL_CKPT_MAX_FIELDS) k->fields[k->n_fields++] = (model_ckpt_field){name, value};
    else k->overflow = 1;
}

uint64_t dist_ckpt_keys_hash(const core_keys *keys) {
    uint64_t h = FNV_BASIS;
    for (size_t k = 0; k < keys->n; k++) {
        const char *s = keys_at(keys, (uint32_t)k);
        h = model_ckpt_hash(h, s, strlen(s) + 1);
    }
    return h;
}

uint64_t dist_ckpt_csr_hash(const data_csr *m) {
    uint64_t h = model_ckpt_hash(FNV_BASIS, m->indptr, ((size_t)m->rows + 1) * sizeof *m->indptr);
    h = model_ckpt_hash(h, m->indices, m->nnz * sizeof *m->indices);
    return model_ckpt_hash(h, m->values, m->nnz * sizeof *m->values);
}

void dist_ckpt_table(dist_ckpt *k, const option_spec *table, const char *const *skip) {
    for (const option_spec *o = table; o->name; o++) {
        bool skipped = false;
        for (size_t s = 0; skip && skip[s]; s++) skipped |= strcmp(skip[s], o->name) == 0;
        if (skipped) continue;
        uint64_t h = FNV_BASIS;
        if (o->type == AISLE_OPTION_FLOAT) {
            double v = config_float(k->cfg, table, o->name);
            h = model_ckpt_hash(h, &v, sizeof v);
        } else if (o->type == AISLE_OPTION_STRING) {
            const char *v = config_string(k->cfg, table, o->name);
            h = model_ckpt_hash(h, v, strlen(v) + 1);
        } else if (o->type == AISLE_OPTION_BOOL) {
            int64_t v = config_bool(k->cfg, table, o->name);
            h = model_ckpt_hash(h, &v, sizeof v);
        } else {
            int64_t v = config_int(k->cfg, table, o->name);
            h = model_ckpt_hash(h, &v, sizeof v);
        }
        dist_ckpt_field(k, o->name, h);
    }
}

void dist_ckpt_seed(dist_ckpt *k) {
    int64_t seed = config_int(k->cfg, NULL, "seed");
    dist_ckpt_field(k, "seed", model_ckpt_hash(FNV_BASIS, &seed, sizeof seed));
}

void dist_ckpt_options(dist_ckpt *k, const option_spec *table, const char *const *skip) {
    dist_ckpt_table(k, table, skip);
    dist_ckpt_seed(k);
    /* the data options the kinds' weights follow (as set; unset reads
     * the same every time) */
    const char *scale = config_string(k->cfg, NULL, "weight_scale");
    double cap = config_float(k->cfg, NULL, "weight_cap");
    dist_ckpt_field(k, "weight_scale", model_ckpt_hash(FNV_BASIS, scale, strlen(scale) + 1));
    dist_ckpt_field(k, "weight_cap", model_ckpt_hash(FNV_BASIS, &cap, sizeof cap));
}

/* Rank 0: the checkpoint at k->path, up to max bytes, into parts (ck)
 * or, with ck NULL, its progress counter alone (model_ckpt_peek), when
 * there is one. */
static int read_local(dist_ckpt *k, const model_ckpt *ck, uint64_t max, uint64_t *done) {
    *done = 0;
    FILE *f = fopen(k->path, "rb");
    if (!f) return AISLE_OK; /* nothing to resume from */
    fclose(f);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = io_read_file(k->path, max, &data, &len);
    if (rc == AISLE_ERANGE)
        rc = core_error(AISLE_EFORMAT, "checkpoint %s is larger than this run's training state", k->path);
    if (!rc) rc = ck ? model_ckpt_read(data, len, k->path, ck, done) : model_ckpt_peek(data, len, k->path, max, done);
    core_free(data);
    if (!rc && *done > k->max_done)
        rc = core_error(AISLE_EFORMAT, "checkpoint %s has %llu epochs, more than this run's %llu (field 'epochs'): "
                                       "remove it or give another path", k->path, (unsigned long long)*done,
                        (unsigned long long)k->max_done);
    if (rc) *done = 0;
    return rc;
}

static int fail(dist_ckpt *k, int rc) {
    if (rc && k->agreed) *k->agreed = 1;
    return rc;
}

int dist_ckpt_load(dist_ckpt *k, const model_ckpt_part *parts, size_t n, uint64_t *done) {
    dist_comm *c = k->c;
    *done = 0;
    int rc = dist_agree(c, AISLE_OK); /* meets a rank that failed before */
    if (rc || !k->path) return fail(k, rc);
    model_ckpt ck = {k->kind, k->fields, k->n_fields, parts, n};
    if (k->overflow) rc = core_error(AISLE_EINVAL, "checkpoint: more than %d fingerprint fields", MODEL_CKPT_MAX_FIELDS);
    if (!rc && c->rank == 0) rc = read_local(k, &ck, model_ckpt_max_bytes(&ck), done);
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_bcast(c, done, sizeof *done);
    for (size_t p = 0; !rc && *done && !k->root_only && p < n; p++)
        rc = dist_bcast(c, parts[p].data, (size_t)parts[p].count * parts[p].width);
    return fail(k, dist_agree(c, rc));
}

int dist_ckpt_peek(dist_ckpt *k, uint64_t max_bytes, uint64_t *done) {
    dist_comm *c = k->c;
    *done = 0;
    int rc = dist_agree(c, AISLE_OK); /* meets a rank that failed before */
    if (rc || !k->path) return fail(k, rc);
    if (c->rank == 0) rc = read_local(k, NULL, max_bytes, done);
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_bcast(c, done, sizeof *done);
    return fail(k, dist_agree(c, rc));
}

int dist_ckpt_store(dist_ckpt *k, const model_ckpt_part *parts, size_t n, uint64_t done, bool last) {
    dist_comm *c = k->c;
    int rc = dist_agree(c, AISLE_OK);
    if (rc) return fail(k, rc);
    if (k->path && k->every > 0 && (done % (uint64_t)k->every == 0 || last)) {
        model_ckpt ck = {k->kind, k->fields, k->n_fields, parts, n};
        if (c->rank == 0) rc = model_ckpt_write(k->path, k->cfg, &ck, done);
        rc = dist_agree(c, rc);
    }
    /* after the write's agreement, so a rank killed as the next epoch
     * starts leaves this epoch's checkpoint whole (before it, mpirun could
     * end rank 0 mid-write: the previous file stayed, by the rename) */
    if (!rc) dist_kill_hook(c->rank, (int)done + 1);
    return fail(k, rc);
}

void dist_ckpt_replica(dist_ckpt *k, const aisle_model *m, const char *const *skip) {
    /* a replica kind's result depends on how the work is split */
    dist_ckpt_field(k, "ranks", (uint64_t)k->c->size);
    dist_ckpt_field(k, "users", dist_ckpt_keys_hash(&m->users));
    dist_ckpt_field(k, "items", dist_ckpt_keys_hash(&m->items));
    dist_ckpt_field(k, "history", dist_ckpt_csr_hash(&m->history));
    dist_ckpt_options(k, m->ops->options, skip);
}
