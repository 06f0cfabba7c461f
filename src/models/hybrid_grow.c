/* hybrid_grow.c - products and shoppers joining a trained (or loaded)
 * hybrid model from a catalog, scored from their features
 * (aisle_model_add_items / aisle_model_add_users; docs/HYBRID.md).
 *
 * A new row's features come from the rule training uses (hy_row_features:
 * words, category levels, brand, price band, attributes); of them only the
 * names the model has are kept -- at training, the names too few trained
 * entities carry are pruned the same way, so a name the model never saw is
 * simply left out -- weighted 1 / their count and summed by
 * hy_sum_features.  A product added today thus gets bit for bit the vector
 * it would have had in the training catalog without events (fit=als with
 * cold_neighbours: its neighbours' mean vector, as training maps such
 * products, equal up to rounding; see neighbour_rows; with
 * listed_attribute a stale product is scaled as training scales it, see
 * stale_rows).  A row none of
 * whose features the model knows gets none: a zero vector, so it scores 0
 * for implicit losses (the global mean plus the shopper's bias for
 * loss=squared) and is similar to nothing (cosine 0). */
#include "hybrid.h"

#include <math.h>
#include <string.h>

/* The new rows being built, before anything of the model changes. */
typedef struct hy_new {
    size_t n;
    size_t *pos;   /* n: their rows in the catalog */
    size_t *ptr;   /* n + 1 */
    uint32_t *idx; /* feature ids, as in the side's table */
    float *w;
    size_t cap, wcap;
    float *q;      /* n x row: summed rows (factors, then bias) */
    float *fv;     /* n x dim: item rows in the serving layout */
} hy_new;

static void new_free(hy_new *r) {
    core_free(r->pos);
    core_free(r->ptr);
    core_free(r->idx);
    core_free(r->w);
    core_free(r->q);
    core_free(r->fv);
}

/* Features of the catalog rows r->pos[0..n) that side s knows, in the
 * order hy_row_features gives them. */
static int new_features(hy_new *r, const hy_side *s, const aisle_catalog *cat, const char *skip_attribute) {
    core_keys scratch;
    keys_init(&scratch);
    hy_feats f = {.names = &scratch, .skip_attribute = skip_attribute};
    int rc = AISLE_OK;
    r->ptr[0] = 0;
    for (size_t i = 0; i < r->n && !rc; i++) {
        rc = hy_row_features(&f, cat, r->pos[i]);
        size_t at = r->ptr[i], o = at;
        if (!rc) rc = core_grow((void **)&r->idx, &r->cap, at + f.n + 1, sizeof *r->idx);
        if (!rc && r->cap > r->wcap) {
            float *w = core_realloc(r->w, r->cap * sizeof *w);
            if (!w) rc = core_oom("hybrid: new rows' features");
            else r->w = w, r->wcap = r->cap;
        }
        for (size_t j = 0; !rc && j < f.n; j++) {
            const char *name = keys_at(&scratch, f.ids[j]);
            int64_t id = keys_find(&s->names, name, strlen(name));
            if (id >= 0) r->idx[o++] = s->n_identity + (uint32_t)id;
        }
        for (size_t j = at; j < o; j++) r->w[j] = 1.0f / (float)(o - at);
        r->ptr[i + 1] = o;
    }
    keys_clear(&scratch);
    return rc;
}

/* Appends the new rows to side s's table; nothing fails after the
 * reservation (the caller reserves first). */
static int table_reserve(hy_table *t, const hy_new *r) {
    size_t nnz = t->ptr[t->rows] + r->ptr[r->n];
    size_t *ptr = core_reallocarray(t->ptr, (size_t)t->rows + r->n + 1, sizeof *ptr);
    if (!ptr) return core_oom("hybrid: feature table");
    t->ptr = ptr;
    uint32_t *idx = core_reallocarray(t->idx, nnz ? nnz : 1, sizeof *idx);
    if (!idx) return core_oom("hybrid: feature table");
    t->idx = idx;
    float *w = core_reallocarray(t->w, nnz ? nnz : 1, sizeof *w);
    if (!w) return core_oom("hybrid: feature table");
    t->w = w;
    return AISLE_OK;
}

static void table_append(hy_table *t, const hy_new *r) {
    size_t at = t->ptr[t->rows];
    memcpy(t->idx + at, r->idx, r->ptr[r->n] * sizeof *t->idx);
    memcpy(t->w + at, r->w, r->ptr[r->n] * sizeof *t->w);
    for (size_t i = 1; i <= r->n; i++) t->ptr[t->rows + i] = at + r->ptr[i];
    t->rows += (uint32_t)r->n;
}

/* fit=als with cold_neighbours (the options the model was trained with):
 * as training maps the catalog's products without events, a new product
 * serves the similarity-weighted mean vector of its most similar products
 * of the events (hy_neighbour_vectors, here over their served vectors,
 * which are the ALS vectors training used up to rounding); its bias stays
 * its features'. */
static int neighbour_rows(const aisle_model *m, hy_new *r) {
    const hy_state *st = m->state;
    const option_spec *o = m->ops->options;
    if (strcmp(config_string(m->config, o, "fit"), "als") != 0) return AISLE_OK;
    uint32_t nb = (uint32_t)config_int(m->config, o, "cold_neighbours"), k = st->k;
    if (!nb) return AISLE_OK;
    float *nv = core_malloc(r->n * k * sizeof *nv);
    if (!nv) return core_oom("hybrid cold_neighbours");
    int rc = hy_neighbour_vectors(st, NULL, 0, nb, (float)config_float(m->config, o, "cold_scale"),
                                  r->ptr, r->idx, (uint32_t)r->n, nv);
    for (size_t i = 0; !rc && i < r->n; i++)
        if (!isnan(nv[i * k])) memcpy(r->q + i * st->row, nv + i * k, (size_t)k * sizeof *nv);
    core_free(nv);
    return rc;
}

/* fit=als with listed_attribute: a stale product's vector scaled as
 * training scales it (hy_listed_factor, against the cold_reference_time
 * training wrote into the options). */
static int stale_rows(const aisle_model *m, const aisle_catalog *cat, hy_new *r) {
    const hy_state *st = m->state;
    if (strcmp(config_string(m->config, m->ops->options, "fit"), "als") != 0) return AISLE_OK;
    for (size_t i = 0; i < r->n; i++) {
        float factor;
        int rc = hy_listed_factor(m, cat, r->pos[i], &factor);
        if (rc) return rc;
        if (factor != 1.0f)
            for (uint32_t c = 0; c < st->k; c++) r->q[i * st->row + c] *= factor;
    }
    return AISLE_OK;
}

static int unsupported(const hy_state *st, int side) {
    if (!st->has_features)
        return core_error(AISLE_EUNSUPPORTED, "model 'hybrid': this file was saved without its feature tables (by "
                                              "an earlier version), so it cannot score new %s from features; "
                                              "retrain it",
                          side ? "shoppers" : "products");
    if (side)
        return core_error(AISLE_EUNSUPPORTED, "model 'hybrid' was trained without a shopper attribute table "
                                              "(aisle_model_train_with_features, aisle train --users): it has no "
                                              "user features to score new shoppers from");
    return core_error(AISLE_EUNSUPPORTED, "model 'hybrid' was trained without a catalog (or kept none of its "
                                          "features): it has no item features to score new products from");
}

int hy_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added) {
    hy_state *st = m->state;
    model_factors *f = &st->f;
    hy_side *s = side ? &st->user : &st->item;
    *added = 0;
    if (!st->has_features || s->names.n == 0) return unsupported(st, side);
    core_keys *dict = side ? &m->users : &m->items;
    uint32_t old = (uint32_t)dict->n, nu = model_n_users(m), ni = model_n_items(m), k = st->k, row = st->row;
    if (s->table.rows != old)
        return core_error(AISLE_EUNSUPPORTED, "model 'hybrid': %s were added without features (%u of %u have "
                                              "them); add them from a catalog instead",
                          side ? "users" : "items", s->table.rows, old);
    size_t rows = data_catalog_size(cat);
    hy_new r;
    memset(&r, 0, sizeof r);
    r.pos = core_malloc((rows ? rows : 1) * sizeof *r.pos);
    if (!r.pos) return core_oom("hybrid: new rows");
    for (size_t p = 0; p < rows; p++) {
        const char *key = data_catalog_key(cat, p);
        if (keys_find(dict, key, strlen(key)) < 0) r.pos[r.n++] = p; /* rows the model has stay as trained */
    }
    int rc = AISLE_OK;
    if (r.n > UINT32_MAX / 2 - old)
        rc = core_error(AISLE_ERANGE, "model 'hybrid': %u %s and %zu new ones are more than supported", old,
                        side ? "users" : "items", r.n);
    if (!rc && r.n == 0) {
        new_free(&r);
        return AISLE_OK;
    }
    if (!rc && !(r.ptr = core_malloc((r.n + 1) * sizeof *r.ptr))) rc = core_oom("hybrid: new rows");
    if (!rc) rc = new_features(&r, s, cat, side ? NULL : hy_listed_attribute(m));
    if (!rc && !(r.q = core_malloc(r.n * row * sizeof *r.q))) rc = core_oom("hybrid: new rows");
    for (size_t i = 0; !rc && i < r.n; i++)
        hy_sum_features(s, row, r.idx + r.ptr[i], r.w + r.ptr[i], r.ptr[i + 1] - r.ptr[i], r.q + i * row);
    /* fp16 rows of a mapped file: the neighbours read the rows they use,
     * model_factors_grow puts the new ones in the side's overlay */
    if (!rc && !side) rc = neighbour_rows(m, &r);
    if (!rc && !side) rc = stale_rows(m, cat, &r);
    if (!rc && !side) { /* model_factors_grow takes the item rows in serving layout */
        uint32_t dim = f->dim;
        r.fv = core_malloc(r.n * dim * sizeof *r.fv);
        if (!r.fv) rc = core_oom("hybrid: new rows");
        for (size_t i = 0; !rc && i < r.n; i++) {
            memcpy(r.fv + i * dim, r.q + i * row, (size_t)k * sizeof *r.fv);
            if (dim > k) r.fv[i * dim + k] = r.q[i * row + k];
        }
    }
    /* every array the new rows need first (a bigger array holding the same
     * rows is the same model), then the keys, then the factors */
    if (!rc) rc = table_reserve(&s->table, &r);
    if (!rc && !side) {
        float *pop = core_reallocarray(m->popularity, (size_t)ni + r.n, sizeof *pop);
        if (!pop) rc = core_oom("hybrid: new products");
        else m->popularity = pop;
    }
    for (size_t i = 0; !rc && i < r.n; i++) {
        const char *key = data_catalog_key(cat, r.pos[i]);
        uint32_t idx;
        rc = keys_intern(dict, key, strlen(key), &idx, NULL);
    }
    /* a stored int8 copy (store_int8) is appended to once the biases are
     * in (model_factors_grow would append rows with bias 0) */
    struct model_int8 *stored = side ? NULL : f->int8;
    f->int8 = NULL;
    if (!rc) rc = model_factors_grow(m, nu, ni, r.fv, f->dim);
    if (rc) {
        f->int8 = stored;
        keys_truncate(dict, old);
        new_free(&r);
        return rc;
    }
    for (size_t i = 0; i < r.n; i++) hy_put_vector(f, side, old + (uint32_t)i, k, r.q + i * row);
    table_append(&s->table, &r);
    /* new shoppers have no history: users past history.rows read as empty
     * rows (model_history_row), so the CSR is not touched */
    if (!side) {
        memset(m->popularity + ni, 0, r.n * sizeof *m->popularity);
        m->history.cols = ni + (uint32_t)r.n;
        for (uint32_t j = ni; stored && j < ni + r.n; j++)
            if (stored->n != j || model_int8_append(stored, f, j) != AISLE_OK) {
                model_int8_free(stored); /* serving builds one again on demand */
                stored = NULL;
            }
        f->int8 = stored;
    }
    *added = r.n;
    new_free(&r);
    return AISLE_OK;
}
