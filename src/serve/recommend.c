/* recommend.c - the serving calls: recommend (known user, anonymous
 * visitor), similar items, score, explain and in-place user updates. */
#include "serve.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int unsupported(const aisle_model *m, const char *what) {
    return core_error(AISLE_EUNSUPPORTED, "model kind '%s' does not support %s", m->ops->name, what);
}

/* Scores + selection for one query; popularity when q is NULL. */
static int rank(const aisle_model *m, const serve_sel *sel, const model_query *q, const uint32_t *excl,
                size_t n_excl, int64_t self, size_t k, const char **items_out, float *scores_out, size_t *n_out) {
    uint32_t ni = model_n_items(m);
    size_t kk = CORE_MIN(k, (size_t)ni);
    if (q && serve_factor_kind(m)) { /* no n_items score buffer: quant.c */
        core_hit stack[64];
        core_hit *hits = kk <= 64 ? stack : core_malloc(kk * sizeof *hits);
        if (!hits) return core_oom("recommend");
        size_t n = 0;
        int rc = serve_factor_topk(m, sel, q, excl, n_excl, self, kk, hits, &n);
        if (!rc) {
            serve_output(m, hits, n, items_out, scores_out);
            *n_out = n;
        }
        if (hits != stack) core_free(hits);
        return rc;
    }
    float *scores = q ? core_malloc((size_t)(ni ? ni : 1) * sizeof *scores) : NULL;
    core_hit *heap = core_malloc((kk ? kk : 1) * sizeof *heap);
    int rc = AISLE_OK;
    if ((q && !scores) || !heap) rc = core_oom("recommend");
    if (!rc && q) rc = m->ops->score_items(m, q, scores);
    if (!rc) {
        size_t n = serve_select(sel, q ? scores : m->popularity, excl, n_excl, self, kk, heap);
        serve_output(m, heap, n, items_out, scores_out);
        *n_out = n;
    }
    core_free(scores);
    core_free(heap);
    return rc;
}

AISLE_API int aisle_recommend(const aisle_model *m, const char *user_key, size_t k, const aisle_rec_options *opts,
                              const char **items_out, float *scores_out, size_t *n_out) {
    if (!m || !user_key || !n_out) return core_error(AISLE_EINVAL, "aisle_recommend: NULL model, user_key or n_out");
    serve_sel sel;
    int rc = serve_sel_init(&sel, m, opts);
    if (rc) return rc;
    int64_t u = keys_find(&m->users, user_key, strlen(user_key));
    if (u < 0) {
        if (sel.unknown_error)
            rc = core_error(AISLE_ENOTFOUND, "unknown user '%s' (option unknown_user=error)", user_key);
        else
            rc = rank(m, &sel, NULL, NULL, 0, -1, k, items_out, scores_out, n_out);
    } else {
        model_query q;
        model_user_query(m, (uint32_t)u, &q);
        rc = rank(m, &sel, &q, q.items, sel.exclude_seen ? q.n_items : 0, -1, k, items_out, scores_out, n_out);
    }
    serve_sel_free(&sel);
    return rc;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Event weights come from callers' data: reject NaN/Inf before they reach
 * a solver, where they would surface as an unhelpful numeric failure. */
static int check_weights(const float *w, size_t n, const char *fn) {
    for (size_t i = 0; w && i < n; i++)
        if (!isfinite(w[i])) return core_error(AISLE_EINVAL, "%s: weight %zu (%g) is not finite", fn, i, (double)w[i]);
    return AISLE_OK;
}

AISLE_API int aisle_recommend_for_items(const aisle_model *m, const char *const *item_keys, const float *weights,
                                        size_t n, size_t k, const aisle_rec_options *opts, const char **items_out,
                                        float *scores_out, size_t *n_out) {
    if (!m || !n_out || (n && !item_keys))
        return core_error(AISLE_EINVAL, "aisle_recommend_for_items: NULL model, item_keys or n_out");
    if (check_weights(weights, n, "aisle_recommend_for_items")) return AISLE_EINVAL;
    if (!(m->ops->flags & MODEL_FOLD_IN)) return unsupported(m, "recommendations for anonymous visitors");
    uint32_t *items = core_malloc((n ? n : 1) * 2 * sizeof *items);
    float *w = core_malloc((n ? n : 1) * sizeof *w);
    if (!items || !w) {
        core_free(items);
        core_free(w);
        return core_oom("recommend_for_items");
    }
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (!item_keys[i]) continue;
        int64_t j = keys_find(&m->items, item_keys[i], strlen(item_keys[i]));
        if (j < 0) continue; /* unknown items carry no information */
        items[c] = (uint32_t)j;
        w[c++] = weights ? weights[i] : 1.0f;
    }
    serve_sel sel;
    int rc = serve_sel_init(&sel, m, opts);
    if (!rc) {
        uint32_t *sorted = items + n;
        memcpy(sorted, items, c * sizeof *sorted);
        qsort(sorted, c, sizeof *sorted, cmp_u32);
        model_query q = {-1, items, weights ? w : NULL, c};
        rc = rank(m, &sel, c ? &q : NULL, sorted, sel.exclude_seen ? c : 0, -1, k, items_out, scores_out, n_out);
        serve_sel_free(&sel);
    }
    core_free(items);
    core_free(w);
    return rc;
}

static int find_item(const aisle_model *m, const char *key, uint32_t *out) {
    int64_t j = keys_find(&m->items, key, strlen(key));
    if (j < 0) return core_error(AISLE_ENOTFOUND, "unknown item '%s'", key);
    *out = (uint32_t)j;
    return AISLE_OK;
}

static int find_user(const aisle_model *m, const char *key, uint32_t *out) {
    int64_t j = keys_find(&m->users, key, strlen(key));
    if (j < 0) return core_error(AISLE_ENOTFOUND, "unknown user '%s'", key);
    *out = (uint32_t)j;
    return AISLE_OK;
}

AISLE_API int aisle_similar_items(const aisle_model *m, const char *item_key, size_t k, const aisle_rec_options *opts,
                                  const char **items_out, float *scores_out, size_t *n_out) {
    if (!m || !item_key || !n_out) return core_error(AISLE_EINVAL, "aisle_similar_items: NULL argument");
    if (!m->ops->similar_items) return unsupported(m, "similar items");
    uint32_t item = 0;
    int rc = find_item(m, item_key, &item);
    if (rc) return rc;
    uint32_t ni = model_n_items(m);
    size_t kk = CORE_MIN(k, (size_t)ni);
    float *scores = core_malloc((size_t)ni * sizeof *scores);
    core_hit *heap = core_malloc((kk ? kk : 1) * sizeof *heap);
    serve_sel sel;
    rc = (!scores || !heap) ? core_oom("similar items") : serve_sel_init(&sel, m, opts);
    if (!rc) {
        rc = m->ops->similar_items(m, item, scores);
        if (!rc) {
            size_t nh = serve_select(&sel, scores, NULL, 0, item, kk, heap);
            serve_output(m, heap, nh, items_out, scores_out);
            *n_out = nh;
        }
        serve_sel_free(&sel);
    }
    core_free(scores);
    core_free(heap);
    return rc;
}

AISLE_API int aisle_score(const aisle_model *m, const char *user_key, const char *item_key, float *score_out) {
    if (!m || !user_key || !item_key || !score_out) return core_error(AISLE_EINVAL, "aisle_score: NULL argument");
    uint32_t u = 0, item = 0;
    int rc = find_user(m, user_key, &u);
    if (!rc) rc = find_item(m, item_key, &item);
    if (rc) return rc;
    model_query q;
    model_user_query(m, u, &q);
    if (m->ops->score_one) return m->ops->score_one(m, &q, item, score_out);
    float *scores = core_malloc((size_t)model_n_items(m) * sizeof *scores);
    if (!scores) return core_oom("score");
    rc = m->ops->score_items(m, &q, scores);
    if (!rc) *score_out = scores[item];
    core_free(scores);
    return rc;
}

typedef struct contrib {
    float c;
    uint32_t item;
} contrib;

static int cmp_contrib(const void *a, const void *b) {
    const contrib *x = a, *y = b;
    float ax = fabsf(x->c), ay = fabsf(y->c);
    if (ax != ay) return ax > ay ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

AISLE_API int aisle_explain(const aisle_model *m, const char *user_key, const char *item_key, size_t max,
                            const char **items_out, float *shares_out, size_t *n_out) {
    if (!m || !user_key || !item_key || !n_out) return core_error(AISLE_EINVAL, "aisle_explain: NULL argument");
    if (!m->ops->explain) return unsupported(m, "explanations");
    uint32_t u = 0, item = 0;
    int rc = find_user(m, user_key, &u);
    if (!rc) rc = find_item(m, item_key, &item);
    if (rc) return rc;
    model_query q;
    model_user_query(m, u, &q);
    if (q.n_items == 0) {
        *n_out = 0;
        return AISLE_OK;
    }
    float *c = core_malloc(q.n_items * sizeof *c);
    contrib *v = core_malloc(q.n_items * sizeof *v);
    if (!c || !v) rc = core_oom("explain");
    if (!rc) rc = m->ops->explain(m, &q, item, c);
    if (!rc) {
        double total = 0;
        for (size_t i = 0; i < q.n_items; i++) total += fabs((double)c[i]);
        size_t n = 0;
        if (total > 0 && isfinite(total)) {
            for (size_t i = 0; i < q.n_items; i++)
                if (c[i] != 0) v[n++] = (contrib){(float)(c[i] / total), q.items[i]};
            qsort(v, n, sizeof *v, cmp_contrib);
        }
        n = CORE_MIN(n, max);
        for (size_t i = 0; i < n; i++) {
            if (items_out) items_out[i] = keys_at(&m->items, v[i].item);
            if (shares_out) shares_out[i] = v[i].c;
        }
        *n_out = n;
    }
    core_free(c);
    core_free(v);
    return rc;
}

typedef struct upd {
    uint32_t item;
    float w;
    size_t ord; /* position in the call, so equal items keep call order */
} upd;

static int upd_cmp(const void *a, const void *b) {
    const upd *x = a, *y = b;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Merges user row r with the sorted, distinct events e[0..d) into out
 * (NULL: only counts) and returns the merged length.  replace: a rating
 * replaces the old one (rating kinds); else weights add, and a pair whose
 * weight nets <= 0 (a return cancelling a purchase) leaves the history,
 * as training drops it (model_implicit_history), so it is no longer
 * "seen" nor counted in popularity. */
static size_t merge_row(const model_row *r, const upd *e, size_t d, bool replace, model_own_row *out) {
    size_t len = 0, p = 0, i = 0;
    while (p < r->n || i < d) {
        uint32_t item;
        float v;
        int64_t t = 0;
        uint32_t cnt = 1;
        if (i >= d || (p < r->n && r->items[p] < e[i].item)) {
            item = r->items[p], v = r->values[p], t = r->last_time[p], cnt = r->count[p];
            p++;
        } else if (p < r->n && r->items[p] == e[i].item) {
            item = r->items[p], v = replace ? e[i].w : r->values[p] + e[i].w;
            t = r->last_time[p], cnt = r->count[p] + 1;
            p++, i++;
        } else {
            item = e[i].item, v = e[i].w;
            i++;
        }
        if (!replace && !(v > 0.0f)) continue;
        if (out) out->items[len] = item, out->values[len] = v, out->last_time[len] = t, out->count[len] = cnt;
        len++;
    }
    return len;
}

/* Popularity counts distinct users: pairs in the new row only add one,
 * pairs only in the old row (netted <= 0) take one away. */
static void popularity_diff(float *pop, const model_row *old, const model_own_row *now) {
    size_t k = 0, q = 0;
    while (k < now->n || q < old->n) {
        if (q >= old->n || (k < now->n && now->items[k] < old->items[q])) pop[now->items[k++]] += 1.0f;
        else if (k >= now->n || old->items[q] < now->items[k]) pop[old->items[q++]] -= 1.0f;
        else k++, q++;
    }
}

/* Replaces user u's history row by the merge of the old row and the new
 * events.  The new row is a separate allocation put in the overlay
 * (models.h, model_overlay): O(the row + the events), never a copy of
 * the other users' rows.  Everything that can fail comes before the first
 * change, and a failing refit puts the old row back. */
AISLE_API int aisle_update_user(aisle_model *m, const char *user_key, const char *const *item_keys,
                                const float *weights, size_t n) {
    if (!m || !user_key || (n && !item_keys)) return core_error(AISLE_EINVAL, "aisle_update_user: NULL argument");
    if (check_weights(weights, n, "aisle_update_user")) return AISLE_EINVAL;
    if (!m->ops->update_user) return unsupported(m, "in-place user updates");
    uint32_t u = 0;
    int rc = find_user(m, user_key, &u);
    /* a mapped model's user rows become copy-on-write: the file never changes */
    if (!rc) rc = model_unshare_users(m);
    if (!rc) rc = model_overlay_reserve(m, u);
    if (rc) return rc;
    bool replace = (m->ops->flags & MODEL_PREDICTS_RATINGS) != 0;
    upd *e = core_calloc(n ? n : 1, sizeof *e);
    if (!e) return core_oom("update_user");
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t j = item_keys[i] ? keys_find(&m->items, item_keys[i], strlen(item_keys[i])) : -1;
        if (j >= 0) e[c] = (upd){(uint32_t)j, weights ? weights[i] : 1.0f, c}, c++;
    }
    /* O(n log n) (an insertion sort took 9 s for 200k keys); duplicates
     * stay in call order, so they merge as the caller listed them */
    qsort(e, c, sizeof *e, upd_cmp);
    size_t d = 0;
    for (size_t i = 0; i < c; i++) {
        if (d && e[d - 1].item == e[i].item)
            e[d - 1].w = replace ? e[i].w : e[d - 1].w + e[i].w;
        else
            e[d++] = e[i];
    }
    model_row old = model_history_row(m, u);
    model_own_row *row = model_own_row_new(merge_row(&old, e, d, replace, NULL));
    if (!row) {
        core_free(e);
        return AISLE_ENOMEM;
    }
    merge_row(&old, e, d, replace, row);
    core_free(e);
    /* `old` stays readable: the row it points at (the CSR's, or the
     * previous overlay row) is freed only after the refit */
    model_own_row *prev = model_overlay_swap(m, u, row);
    rc = m->ops->update_user(m, u);
    if (rc) {
        model_overlay_swap(m, u, prev);
        core_free(row);
        return rc;
    }
    popularity_diff(m->popularity, &old, row);
    core_free(prev);
    return AISLE_OK;
}
