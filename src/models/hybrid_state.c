/* hybrid_state.c - the trained hybrid's feature tables: freeing, saving,
 * loading, describing, and explanations in terms of features.
 *
 * explain_features splits the score exactly.  With user vector
 * p = sum_f a_f P_f and item vector q = sum_g b_g Q_g (rows of factors and
 * bias), the score is p.q + q_b (+ mean + p_b for loss=squared).  Each
 * cross term a_f b_g P_f.Q_g is shared half and half between its two
 * features (the Shapley value of a product of two players), each bias goes
 * to its feature whole: item feature g gets b_g (p.Q_g / 2 + Q_g,b), user
 * feature f gets a_f (P_f.q / 2 + P_f,b).  The contributions and the mean
 * add up to the unclipped score. */
#include "hybrid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Section types relative to IO_SECTION_KIND; +0..+4 are the factor kinds'
 * (factors.c).  All optional: files without them load and serve, without
 * explain_features. */
enum { HY_SEC_SETTINGS = 16, HY_SEC_ITEM = 17, HY_SEC_USER = 20 }; /* side: +0 names, +1 table, +2 rows */

#define HY_NEIGHBOUR_FEATURE UINT32_MAX /* explain's name for the neighbour-mapped part */

static const char *const identity_name[2] = {"the product's own history", "the shopper's own history"};

void hy_free_state(aisle_model *m) {
    hy_state *st = m->state;
    if (!st) return;
    model_factors_free(&st->f);
    core_free(st->cold_vectors);
    core_free(st->cold_factor);
    hy_side_free(&st->item);
    hy_side_free(&st->user);
    core_free(st);
    m->state = NULL;
}

int hy_describe(const aisle_model *m, core_buf *out) {
    const hy_state *st = m->state;
    int rc = model_factors_describe(m, out);
    if (!rc && st->has_features)
        rc = buf_printf(out, "item_features: %u (%u identities)\nuser_features: %u (%u identities)\n",
                        hy_side_features(&st->item), st->item.n_identity, hy_side_features(&st->user),
                        st->user.n_identity);
    return rc;
}

static int put_side(io_writer *w, const hy_side *s, uint32_t type, uint32_t row) {
    core_buf b;
    buf_init(&b);
    const hy_table *t = &s->table;
    int rc = io_put_u64(&b, s->names.n);
    for (size_t i = 0; !rc && i < s->names.n; i++) rc = io_put_str(&b, keys_at(&s->names, (uint32_t)i));
    if (!rc) rc = io_writer_add_section(w, type, 0, &b);
    b.len = 0;
    size_t nnz = t->ptr[t->rows];
    uint64_t *ptr = core_malloc(((size_t)t->rows + 1) * sizeof *ptr);
    if (!rc && !ptr) rc = core_oom("saving hybrid features");
    for (size_t i = 0; !rc && i <= t->rows; i++) ptr[i] = t->ptr[i];
    if (!rc) rc = io_put_u64_array(&b, ptr, (uint64_t)t->rows + 1);
    if (!rc) rc = io_put_u32_array(&b, t->idx, nnz);
    if (!rc) rc = io_put_f32_array(&b, t->w, nnz);
    if (!rc) rc = io_writer_add_section(w, type + 1, 0, &b);
    b.len = 0;
    core_free(ptr);
    if (!rc) rc = io_put_f32_array(&b, s->emb, (uint64_t)hy_side_features(s) * row);
    if (!rc) rc = io_writer_add_section(w, type + 2, 0, &b);
    buf_free(&b);
    return rc;
}

/* Sections +16 (u32 k, u32 item identities, u32 user identities), then per
 * side (items +17.., users +20..): feature names (u64 count, strings),
 * table (u64 row pointers, u32 feature ids, f32 weights), f32 rows. */
int hy_save(const aisle_model *m, io_writer *w) {
    const hy_state *st = m->state;
    int rc = model_factors_save(m, w);
    if (rc || !st->has_features) return rc;
    core_buf b;
    buf_init(&b);
    rc = io_put_u32(&b, st->k);
    if (!rc) rc = io_put_u32(&b, st->item.n_identity);
    if (!rc) rc = io_put_u32(&b, st->user.n_identity);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND + HY_SEC_SETTINGS, 0, &b);
    buf_free(&b);
    if (!rc) rc = put_side(w, &st->item, IO_SECTION_KIND + HY_SEC_ITEM, st->row);
    if (!rc) rc = put_side(w, &st->user, IO_SECTION_KIND + HY_SEC_USER, st->row);
    return rc;
}

static int get_names(io_reader *r, uint32_t type, core_keys *k) {
    io_cursor c;
    uint64_t n = 0;
    int rc = io_reader_section(r, type, &c);
    if (!rc) rc = io_get_u64(&c, &n);
    if (rc) return rc;
    if (n > (c.len - c.pos) / 5 || n > UINT32_MAX / 4) /* each name takes at least 5 bytes */
        return core_error(AISLE_EFORMAT, "%s: declares %llu feature names, more than its %zu bytes can hold",
                          c.section, (unsigned long long)n, c.len - c.pos);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t len, idx;
        bool added;
        rc = io_get_u32(&c, &len);
        if (rc) return rc;
        const char *s = (const char *)c.p + c.pos;
        if (len == 0 || len > c.len - c.pos || memchr(s, '\0', len))
            return core_error(AISLE_EFORMAT, "%s: feature name %llu is empty, cut short or contains a NUL byte",
                              c.section, (unsigned long long)i);
        rc = keys_intern(k, s, len, &idx, &added);
        if (rc) return rc;
        if (!added)
            return core_error(AISLE_EFORMAT, "%s: feature name %llu '%.*s' repeats name %u", c.section,
                              (unsigned long long)i, (int)CORE_MIN(len, 64u), s, idx);
        c.pos += len;
    }
    return io_cursor_done(&c);
}

static int get_side(io_reader *r, hy_side *s, uint32_t type, uint32_t rows, uint32_t row) {
    int rc = get_names(r, type, &s->names);
    if (rc) return rc;
    uint32_t nf = hy_side_features(s);
    io_cursor c;
    uint64_t *ptr = NULL, n = 0, nnz = 0, nw = 0;
    hy_table *t = &s->table;
    rc = io_reader_section(r, type + 1, &c);
    if (!rc) rc = io_get_u64_array(&c, &ptr, &n, (uint64_t)rows + 1);
    if (!rc && n != (uint64_t)rows + 1)
        rc = core_error(AISLE_EFORMAT, "%s: %llu row pointers for %u rows", c.section, (unsigned long long)n, rows);
    if (!rc) rc = io_get_u32_array(&c, &t->idx, &nnz, UINT64_MAX);
    if (!rc) rc = io_get_f32_array(&c, &t->w, &nw, nnz);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (nw != nnz || ptr[0] != 0 || ptr[rows] != nnz))
        rc = core_error(AISLE_EFORMAT, "%s: %llu feature ids, %llu weights, row pointers from %llu to %llu disagree",
                        c.section, (unsigned long long)nnz, (unsigned long long)nw, (unsigned long long)ptr[0],
                        (unsigned long long)ptr[rows]);
    if (!rc && !(t->ptr = core_malloc(((size_t)rows + 1) * sizeof *t->ptr))) rc = core_oom("hybrid features");
    for (uint32_t i = 0; !rc && i <= rows; i++) {
        if (i && ptr[i] < ptr[i - 1])
            rc = core_error(AISLE_EFORMAT, "%s: row pointers decrease at row %u", c.section, i);
        t->ptr[i] = (size_t)ptr[i];
    }
    for (uint64_t e = 0; !rc && e < nnz; e++)
        if (t->idx[e] >= nf || !(t->w[e] >= 0 && t->w[e] <= 1))
            rc = core_error(AISLE_EFORMAT, "%s: entry %llu has feature %u of %u, weight %g", c.section,
                            (unsigned long long)e, t->idx[e], nf, t->w[e]);
    core_free(ptr);
    t->rows = rows;
    if (!rc) rc = io_reader_section(r, type + 2, &c);
    if (!rc) rc = io_get_f32_array(&c, &s->emb, &n, (uint64_t)nf * row);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && n != (uint64_t)nf * row)
        rc = core_error(AISLE_EFORMAT, "%s: %llu values for %u features of %u", c.section, (unsigned long long)n, nf,
                        row);
    for (uint64_t e = 0; !rc && e < n; e++)
        if (!isfinite(s->emb[e])) rc = core_error(AISLE_EFORMAT, "%s: value %llu is not finite", c.section,
                                                  (unsigned long long)e);
    return rc;
}

int hy_load(aisle_model *m, io_reader *r) {
    int rc = model_factors_load(m, r);
    model_factors *f = m->state;
    if (!f) return rc;
    hy_state *st = core_calloc(1, sizeof *st);
    if (!st) {
        model_factors_free(f);
        core_free(f);
        m->state = NULL;
        return rc ? rc : core_oom("hybrid model");
    }
    st->f = *f;
    core_free(f);
    m->state = st;
    keys_init(&st->item.names);
    keys_init(&st->user.names);
    if (rc || !io_reader_has_section(r, IO_SECTION_KIND + HY_SEC_SETTINGS)) return rc;
    io_cursor c;
    rc = io_reader_section(r, IO_SECTION_KIND + HY_SEC_SETTINGS, &c);
    if (!rc) rc = io_get_u32(&c, &st->k);
    if (!rc) rc = io_get_u32(&c, &st->item.n_identity);
    if (!rc) rc = io_get_u32(&c, &st->user.n_identity);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (st->k != (st->f.explicit_r ? st->f.dim : st->f.dim - 1) || st->item.n_identity > model_n_items(m) ||
                st->user.n_identity > model_n_users(m)))
        rc = core_error(AISLE_EFORMAT, "%s: %u factors, %u item and %u user identities do not fit the model", c.section,
                        st->k, st->item.n_identity, st->user.n_identity);
    st->row = st->k + 1;
    if (!rc) rc = get_side(r, &st->item, IO_SECTION_KIND + HY_SEC_ITEM, model_n_items(m), st->row);
    if (!rc) rc = get_side(r, &st->user, IO_SECTION_KIND + HY_SEC_USER, model_n_users(m), st->row);
    st->has_features = rc == AISLE_OK;
    return rc;
}

typedef struct hy_contrib {
    float c;
    int side;
    uint32_t feature;
} hy_contrib;

static int cmp_contrib(const void *a, const void *b) {
    const hy_contrib *x = a, *y = b;
    float ax = fabsf(x->c), ay = fabsf(y->c);
    if (ax != ay) return ax > ay ? -1 : 1;
    if (x->side != y->side) return x->side - y->side;
    return (x->feature > y->feature) - (x->feature < y->feature);
}

int hy_explain_features(const aisle_model *m, uint32_t user, uint32_t item, size_t max, const char **names,
                        float *contrib, size_t *n_out) {
    const hy_state *st = m->state;
    if (!st->has_features)
        return core_error(AISLE_EUNSUPPORTED, "this hybrid model was saved without its feature tables (written "
                                              "by an earlier version); retrain it to explain by features");
    uint32_t k = st->k, row = st->row;
    if (item >= st->item.table.rows || user >= st->user.table.rows)
        return core_error(AISLE_EUNSUPPORTED, "model 'hybrid': user or item added after training has no features");
    const hy_table *ti = &st->item.table, *tu = &st->user.table;
    size_t n_i = ti->ptr[item + 1] - ti->ptr[item], n_u = tu->ptr[user + 1] - tu->ptr[user];
    float *pq = core_malloc((2 * (size_t)row + st->f.dim) * sizeof *pq); /* p, q, a widened fp16 item row */
    hy_contrib *v = core_malloc((n_i + n_u + 1) * sizeof *v);
    if (!pq || !v) {
        core_free(pq);
        core_free(v);
        return core_oom("explain features");
    }
    float *p = pq, *q = pq + row;
    hy_sum(&st->user, row, user, p);
    hy_sum(&st->item, row, item, q);
    size_t n = 0;
    for (size_t e = ti->ptr[item]; e < ti->ptr[item + 1]; e++) {
        const float *Q = st->item.emb + (size_t)ti->idx[e] * row;
        v[n++] = (hy_contrib){ti->w[e] * (0.5f * model_dot(p, Q, k) + Q[k]), 0, ti->idx[e]};
    }
    for (size_t e = tu->ptr[user]; e < tu->ptr[user + 1]; e++) {
        const float *P = st->user.emb + (size_t)tu->idx[e] * row;
        float bias = st->f.explicit_r ? P[k] : 0.0f; /* implicit models have no user bias */
        v[n++] = (hy_contrib){tu->w[e] * (0.5f * model_dot(P, q, k) + bias), 1, tu->idx[e]};
    }
    /* fit=als cold_neighbours: a product without history serves its
     * neighbours' mean vector, not its features' sum; the difference is
     * one more player so the contributions still add up to the score */
    const float *served = model_factors_item_row(&st->f, item, pq + 2 * (size_t)row);
    float extra = 0.0f;
    bool mapped = false;
    for (uint32_t c = 0; c < k; c++) {
        mapped |= served[c] != q[c];
        extra += p[c] * (served[c] - q[c]);
    }
    if (mapped) v[n++] = (hy_contrib){extra, 0, HY_NEIGHBOUR_FEATURE};
    qsort(v, n, sizeof *v, cmp_contrib);
    n = CORE_MIN(n, max);
    for (size_t i = 0; i < n; i++) {
        const hy_side *s = v[i].side ? &st->user : &st->item;
        if (names)
            names[i] = v[i].feature == HY_NEIGHBOUR_FEATURE ? "history of products with similar features"
                       : v[i].feature < s->n_identity       ? identity_name[v[i].side]
                                                            : keys_at(&s->names, v[i].feature - s->n_identity);
        if (contrib) contrib[i] = v[i].c;
    }
    *n_out = n;
    core_free(pq);
    core_free(v);
    return AISLE_OK;
}
