/* hybrid_als.c - hybrid's fit=als: behaviour from implicit ALS, content
 * fitted to it.
 *
 * The shopper and product vectors of the training events are those of an
 * als model trained on the same events (Hu, Koren & Volinsky 2008); the
 * catalog features are then fitted to what ALS learned: the feature
 * embeddings E solve the ridge regression
 *
 *     min_E  sum_i || V_i - x_i E ||^2 + lambda || E ||^2
 *
 * over the products of the events, x_i being product i's catalog feature
 * weights as a product without identity has them (summing to 1), V_i its
 * ALS vector (content_reg = lambda; conjugate gradients on the normal
 * equations, one factor column at a time).  Each identity keeps the
 * residual, (V_i - sum_f w_f E_f) / w_id, so a product of the events
 * scores exactly as in ALS and a new product, known only by its catalog
 * row, gets x E: the ALS vector its words and price predict.  A shopper's
 * identity carries its ALS vector; shopper attributes get zero rows (a
 * shopper known only by attributes has a zero vector), biases are zero.
 * It is LightFM's model with ALS's optimum for the identities, so explain
 * by features, save/load and serving are unchanged. */
#include "hybrid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { HY_CG_MAX_STEPS = 200 };

/* An als config from the hybrid one: the hybrid-only options unset
 * (factors kept), the others (threads, seed, event weights) as given. */
static int als_config(const aisle_config *cfg, const option_spec *hybrid_options, aisle_config **out) {
    aisle_config *c = NULL;
    int rc = aisle_config_copy(cfg, &c);
    for (const option_spec *o = hybrid_options; !rc && o->name; o++)
        if (strcmp(o->name, "factors")) rc = aisle_config_unset(c, o->name);
    if (!rc) rc = aisle_config_set(c, "model", "als");
    if (rc) {
        aisle_config_free(c);
        return rc;
    }
    *out = c;
    return AISLE_OK;
}

/* The content rows of the first n items: their named features (the
 * identity skipped) with weights rescaled to sum to 1. */
typedef struct content_rows {
    uint32_t n, n_named, n_identity;
    const hy_table *t;
} content_rows;

static void row_span(const content_rows *x, uint32_t i, size_t *from, float *scale) {
    const hy_table *t = x->t;
    *from = t->ptr[i];
    *scale = 1.0f;
    if (*from < t->ptr[i + 1] && t->idx[*from] < x->n_identity) {
        float w = t->w[*from];
        (*from)++;
        *scale = w < 1.0f ? 1.0f / (1.0f - w) : 0.0f;
    }
}

/* out = (X^T X + lambda I) e, with tmp n floats. */
static void normal_apply(const content_rows *x, float lambda, const double *e, double *out, double *tmp) {
    const hy_table *t = x->t;
    for (uint32_t f = 0; f < x->n_named; f++) out[f] = lambda * e[f];
    for (uint32_t i = 0; i < x->n; i++) {
        size_t from;
        float s;
        row_span(x, i, &from, &s);
        double d = 0;
        for (size_t j = from; j < t->ptr[i + 1]; j++) d += (double)(s * t->w[j]) * e[t->idx[j] - x->n_identity];
        tmp[i] = d;
        for (size_t j = from; j < t->ptr[i + 1]; j++) out[t->idx[j] - x->n_identity] += (double)(s * t->w[j]) * d;
    }
}

/* Solves column c of E by conjugate gradients; e (n_named) starts at 0. */
static void solve_column(const content_rows *x, float lambda, const float *v, uint32_t dim, uint32_t c, double *e,
                         double *r, double *p, double *ap, double *tmp) {
    const hy_table *t = x->t;
    uint32_t nf = x->n_named;
    memset(e, 0, nf * sizeof *e);
    memset(r, 0, nf * sizeof *r);
    for (uint32_t i = 0; i < x->n; i++) { /* r = X^T v (e = 0) */
        size_t from;
        float s;
        row_span(x, i, &from, &s);
        for (size_t j = from; j < t->ptr[i + 1]; j++)
            r[t->idx[j] - x->n_identity] += (double)(s * t->w[j]) * v[(size_t)i * dim + c];
    }
    double rr = 0;
    for (uint32_t f = 0; f < nf; f++) p[f] = r[f], rr += r[f] * r[f];
    double stop = rr * 1e-12;
    for (int step = 0; step < HY_CG_MAX_STEPS && rr > stop && rr > 0; step++) {
        normal_apply(x, lambda, p, ap, tmp);
        double pap = 0;
        for (uint32_t f = 0; f < nf; f++) pap += p[f] * ap[f];
        if (!(pap > 0)) break;
        double alpha = rr / pap, rr_new = 0;
        for (uint32_t f = 0; f < nf; f++) {
            e[f] += alpha * p[f];
            r[f] -= alpha * ap[f];
            rr_new += r[f] * r[f];
        }
        for (uint32_t f = 0; f < nf; f++) p[f] = r[f] + rr_new / rr * p[f];
        rr = rr_new;
    }
}

/* Neighbour-mapped vectors (cold_neighbours): product c without history
 * gets sum_j s_cj V_j / sum_j s_cj over the n_nb products j of the events
 * most similar to it, s_cj the cosine of the two products' named features
 * weighted by idf, ln(1 + n / df) over the n products of the events (a word
 * every product has says little about which ones are alike).  It is kernel
 * regression beside the ridge's linear map: a new mug takes the vectors of
 * the mugs shoppers bought, not the average effect of the word "mug" over
 * the catalog.  A product sharing no feature with a product of the events
 * keeps its ridge vector (its cold_vectors row starts with NaN). */
int hy_neighbour_vectors(const hy_state *st, const float *v, size_t v_stride, uint32_t n_nb, float scale,
                         const size_t *rows_ptr, const uint32_t *rows_idx, uint32_t n_cold, float *out_vectors) {
    const hy_table *t = &st->item.table;
    uint32_t k = st->k, nk = st->item.n_identity, nf = (uint32_t)st->item.names.n;
    if (!n_cold) return AISLE_OK;
    if (!n_nb || !nk) { /* no neighbours: every product keeps its features' vector */
        for (uint32_t c = 0; c < n_cold; c++) out_vectors[(size_t)c * k] = NAN;
        return AISLE_OK;
    }
    size_t *post_at = core_calloc((size_t)nf + 1, sizeof *post_at);
    float *idf = core_malloc(((size_t)nf + 1) * sizeof *idf), *norm = core_calloc(nk, sizeof *norm);
    float *sim = core_calloc(nk, sizeof *sim);
    uint32_t *touched = core_malloc((size_t)nk * sizeof *touched), *best = core_malloc((size_t)n_nb * sizeof *best);
    uint32_t *post = NULL;
    float *wide = v ? NULL : core_malloc((size_t)st->f.dim * sizeof *wide);
    int rc = AISLE_OK;
    if (!post_at || !idf || !norm || !sim || !touched || !best || (!v && !wide)) rc = core_oom("hybrid cold_neighbours");
    /* postings: feature -> products of the events that have it (CSR) */
    for (uint32_t i = 0; !rc && i < nk; i++)
        for (size_t j = t->ptr[i]; j < t->ptr[i + 1]; j++)
            if (t->idx[j] >= nk) post_at[t->idx[j] - nk + 1]++;
    for (uint32_t f = 0; !rc && f < nf; f++) {
        idf[f] = post_at[f + 1] ? logf(1.0f + (float)nk / (float)post_at[f + 1]) : 0.0f;
        post_at[f + 1] += post_at[f];
    }
    if (!rc && !(post = core_malloc((post_at[nf] ? post_at[nf] : 1) * sizeof *post)))
        rc = core_oom("hybrid cold_neighbours");
    for (uint32_t i = 0; !rc && i < nk; i++)
        for (size_t j = t->ptr[i]; j < t->ptr[i + 1]; j++)
            if (t->idx[j] >= nk) {
                uint32_t f = t->idx[j] - nk;
                post[post_at[f]++] = i;
                norm[i] += idf[f] * idf[f];
            }
    for (uint32_t f = nf; !rc && f > 0; f--) post_at[f] = post_at[f - 1]; /* the fill moved each start to the next's */
    if (!rc) post_at[0] = 0;
    for (uint32_t i = 0; !rc && i < nk; i++) norm[i] = norm[i] > 0 ? 1.0f / sqrtf(norm[i]) : 0.0f;
    for (uint32_t c = 0; !rc && c < n_cold; c++) {
        uint32_t n_touched = 0, n_best = 0;
        float *out = out_vectors + (size_t)c * k;
        for (size_t j = rows_ptr[c]; j < rows_ptr[c + 1]; j++) {
            if (rows_idx[j] < nk) continue;
            uint32_t f = rows_idx[j] - nk;
            for (size_t e = post_at[f]; e < post_at[f + 1]; e++) {
                uint32_t i = post[e];
                if (sim[i] == 0.0f) touched[n_touched++] = i;
                sim[i] += idf[f] * idf[f] * norm[i];
            }
        }
        /* the n_nb largest, kept sorted by insertion (n_nb is small) */
        for (uint32_t e = 0; e < n_touched; e++) {
            uint32_t i = touched[e], at = n_best < n_nb ? n_best++ : n_nb;
            if (at == n_nb && !(sim[i] > sim[best[n_nb - 1]])) continue;
            if (at == n_nb) at = n_nb - 1;
            while (at > 0 && (sim[best[at - 1]] < sim[i] || (sim[best[at - 1]] == sim[i] && best[at - 1] > i))) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        double total = 0;
        for (uint32_t b = 0; b < n_best; b++) total += sim[best[b]];
        memset(out, 0, k * sizeof *out);
        if (total > 0)
            for (uint32_t b = 0; b < n_best; b++)
                model_axpy(out, (float)(scale * sim[best[b]] / total),
                           v ? v + (size_t)best[b] * v_stride : model_factors_item_row(&st->f, best[b], wide), k);
        else
            out[0] = NAN;
        for (uint32_t e = 0; e < n_touched; e++) sim[touched[e]] = 0.0f;
    }
    core_free(post_at);
    core_free(post);
    core_free(idf);
    core_free(norm);
    core_free(sim);
    core_free(touched);
    core_free(best);
    core_free(wide);
    return rc;
}

int hy_fit_als(aisle_model *m, hy_state *st, const aisle_dataset *ds, const aisle_config *cfg,
               const option_spec *hybrid_options, const hy_als_settings *set) {
    if (!ds) return core_error(AISLE_EINVAL, "model 'hybrid': fit=als needs the training events");
    if (!st->item.n_identity || !st->user.n_identity)
        return core_error(AISLE_EINVAL, "model 'hybrid': fit=als needs item_identity=true and user_identity=true "
                                        "(the identities carry the ALS vectors)");
    aisle_config *acfg;
    int rc = als_config(cfg, hybrid_options, &acfg);
    if (rc) return rc;
    aisle_model *als = NULL;
    rc = aisle_model_train(ds, acfg, &als);
    aisle_config_free(acfg);
    if (rc) return rc;
    const model_factors *af = als->state; /* MODEL_FACTORS: factors first */
    uint32_t k = st->k, row = st->row, n_items = st->item.n_identity, n_users = st->user.n_identity;
    uint32_t nf = (uint32_t)st->item.names.n;
    float *v = core_calloc((size_t)n_items * k, sizeof *v);
    double *work = core_malloc(((size_t)nf * 4 + n_items + 1) * sizeof *work);
    if (!v || !work) rc = core_oom("hybrid fit=als");
    /* the ALS vectors in this model's order (both index the events' keys) */
    for (uint32_t i = 0; !rc && i < n_items; i++) {
        const char *key = keys_at(&m->items, i);
        int64_t a = keys_find(&als->items, key, strlen(key));
        if (a >= 0) memcpy(v + (size_t)i * k, af->item + (size_t)a * af->dim, k * sizeof *v);
    }
    memset(st->item.emb, 0, (size_t)hy_side_features(&st->item) * row * sizeof *st->item.emb);
    memset(st->user.emb, 0, (size_t)(hy_side_features(&st->user) ? hy_side_features(&st->user) : 1) * row *
                                 sizeof *st->user.emb);
    content_rows x = {.n = n_items, .n_named = nf, .n_identity = st->item.n_identity, .t = &st->item.table};
    for (uint32_t c = 0; !rc && c < k && nf; c++) {
        double *e = work, *r = e + nf, *p = r + nf, *ap = p + nf, *tmp = ap + nf;
        solve_column(&x, set->lambda, v, k, c, e, r, p, ap, tmp);
        for (uint32_t f = 0; f < nf; f++)
            st->item.emb[(size_t)(x.n_identity + f) * row + c] = (float)(set->cold_scale * e[f]);
    }
    /* identities: the residual of each product, the ALS vector of each shopper */
    const hy_table *it = &st->item.table, *ut = &st->user.table;
    float *q = core_malloc((size_t)row * sizeof *q);
    if (!rc && !q) rc = core_oom("hybrid fit=als");
    for (uint32_t i = 0; !rc && i < n_items; i++) {
        size_t first = it->ptr[i];
        if (first == it->ptr[i + 1] || it->idx[first] != i) continue;
        hy_sum(&st->item, row, i, q); /* the named features' part: the identity row is still 0 */
        float w = it->w[first];
        for (uint32_t c = 0; c < k; c++) st->item.emb[(size_t)i * row + c] = (v[(size_t)i * k + c] - q[c]) / w;
    }
    for (uint32_t u = 0; !rc && u < n_users; u++) {
        size_t first = ut->ptr[u];
        if (first == ut->ptr[u + 1] || ut->idx[first] != u) continue;
        const char *key = keys_at(&m->users, u);
        int64_t a = keys_find(&als->users, key, strlen(key));
        if (a < 0) continue;
        for (uint32_t c = 0; c < k; c++)
            st->user.emb[(size_t)u * row + c] = af->user[(size_t)a * af->dim + c] / ut->w[first];
    }
    /* the products of the catalog without events: rows n_items.. of the table */
    uint32_t n_cold = it->rows - n_items;
    if (!rc && n_cold && set->neighbours &&
        !(st->cold_vectors = core_malloc((size_t)n_cold * k * sizeof *st->cold_vectors)))
        rc = core_oom("hybrid cold_neighbours");
    if (!rc && st->cold_vectors)
        rc = hy_neighbour_vectors(st, v, k, set->neighbours, set->cold_scale, it->ptr + n_items, it->idx, n_cold,
                                  st->cold_vectors);
    core_free(q);
    core_free(v);
    core_free(work);
    aisle_model_free(als);
    return rc;
}

/* Stale products (listed_attribute): the neighbour map gives a product
 * without events the vectors of products shoppers bought, whether it is
 * new or has sat in the catalog for months unbought.  A long listing
 * without an identified purchase is evidence of low demand, a listing of
 * the last days is not; the listing time tells the two apart, and a stale
 * product's vector is scaled by cold_stale_factor (0: it scores 0, below
 * the products the shopper's vector points at). */
const char *hy_listed_attribute(const aisle_model *m) {
    const char *name = config_string(m->config, m->ops->options, "listed_attribute");
    return name && name[0] ? name : NULL;
}

int hy_listed_factor(const aisle_model *m, const aisle_catalog *cat, size_t p, float *factor) {
    const option_spec *o = m->ops->options;
    const char *attr = hy_listed_attribute(m);
    *factor = 1.0f;
    if (!attr) return AISLE_OK;
    for (uint32_t e = cat->attr_head[p]; e; e = cat->attrs[e - 1].next) {
        if (strcmp(keys_at(&cat->attr_names, cat->attrs[e - 1].name), attr)) continue;
        const char *value = cat->text.data + cat->attrs[e - 1].value;
        if (!value[0]) return AISLE_OK; /* an empty cell: no listing time, as without the attribute */
        char *end;
        double listed = strtod(value, &end);
        while (*end == ' ') end++;
        if (end == value || *end || !isfinite(listed))
            return core_error(AISLE_EFORMAT, "catalog product '%s': attribute '%s' (listed_attribute) is '%.40s', "
                                             "not a time in seconds since the epoch",
                              data_catalog_key(cat, p), attr, value);
        double reference = (double)config_int(m->config, o, "cold_reference_time");
        if (listed < reference - config_float(m->config, o, "cold_stale_days") * 86400.0)
            *factor = (float)config_float(m->config, o, "cold_stale_factor");
        return AISLE_OK;
    }
    return AISLE_OK; /* no listing time: taken for new */
}

int hy_stale_factors(aisle_model *m, hy_state *st, const aisle_dataset *ds, const aisle_catalog *cat) {
    if (!hy_listed_attribute(m) || !cat) return AISLE_OK;
    if (config_int(m->config, m->ops->options, "cold_reference_time") == 0) {
        int64_t newest = 0;
        for (size_t e = 0; ds && e < ds->n_events; e++) newest = CORE_MAX(newest, ds->events[e].time);
        int rc = aisle_config_set_int(m->config, "cold_reference_time", newest);
        if (rc) return rc;
    }
    uint32_t n_items = model_n_items(m), first = st->item.n_identity;
    if (n_items == first) return AISLE_OK;
    st->cold_factor = core_malloc((size_t)(n_items - first) * sizeof *st->cold_factor);
    if (!st->cold_factor) return core_oom("hybrid listed_attribute");
    for (uint32_t i = first; i < n_items; i++) {
        const char *key = keys_at(&m->items, i);
        int64_t p = data_catalog_find(cat, key, strlen(key));
        st->cold_factor[i - first] = 1.0f;
        int rc = p >= 0 ? hy_listed_factor(m, cat, (size_t)p, &st->cold_factor[i - first]) : AISLE_OK;
        if (rc) return rc; /* the caller frees the state */
    }
    return AISLE_OK;
}
