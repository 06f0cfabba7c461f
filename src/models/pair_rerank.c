/* pair_rerank.c - aisle_rerank: another model's candidates re-scored and
 * re-ordered by one model's scores (a `pair` cross-encoder is the usual
 * re-ranker: too slow to score a whole catalogue, precise on a short list).
 * A pair model scores the n candidates as one batch of pairs; other kinds
 * through score_one (or one score_items call). */
#include "pair.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ranked {
    float score;
    size_t index;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    bool nx = isnan(x->score), ny = isnan(y->score);
    if (nx != ny) return nx ? 1 : -1;
    if (!nx && x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Scores of the known candidates (idx[k] >= 0) for query q. */
static int score_candidates(const aisle_model *m, const model_query *q, const int64_t *idx, size_t n, float *scores) {
    int rc = AISLE_OK;
    if (m->ops == &model_pair_ops) {
        const pair_state *s = m->state;
        uint32_t *items = core_malloc(((size_t)s->recent + 1) * sizeof *items);
        float *vals = core_malloc(((size_t)s->recent + 1) * sizeof *vals);
        pair_job *jobs = core_malloc((n ? n : 1) * sizeof *jobs);
        float *raw = core_malloc((n ? n : 1) * sizeof *raw);
        pair_side side;
        size_t nj = 0;
        rc = !items || !vals || !jobs || !raw ? core_oom("rerank") : pair_side_of(s, q, &side, items, vals);
        for (size_t k = 0; !rc && k < n; k++)
            if (idx[k] >= 0) jobs[nj++] = (pair_job){&side, q->user, (uint32_t)idx[k], SIZE_MAX};
        if (!rc) rc = pair_raw(s, jobs, nj, raw);
        for (size_t k = 0, j = 0; !rc && k < n; k++) scores[k] = idx[k] >= 0 ? pair_output(s, raw[j++]) : NAN;
        core_free(items);
        core_free(vals);
        core_free(jobs);
        core_free(raw);
        return rc;
    }
    if (m->ops->score_one) {
        for (size_t k = 0; !rc && k < n; k++) {
            scores[k] = NAN;
            if (idx[k] >= 0) rc = m->ops->score_one(m, q, (uint32_t)idx[k], &scores[k]);
        }
        return rc;
    }
    float *all = core_malloc(((size_t)model_n_items(m) ? model_n_items(m) : 1) * sizeof *all);
    if (!all) return core_oom("rerank");
    rc = m->ops->score_items(m, q, all);
    for (size_t k = 0; !rc && k < n; k++) scores[k] = idx[k] >= 0 ? all[idx[k]] : NAN;
    core_free(all);
    return rc;
}

AISLE_API int aisle_rerank(const aisle_model *m, const char *user_key, const char *const *item_keys, size_t n,
                           float *scores, size_t *order) {
    if (!m || !user_key || (n && (!item_keys || !scores))) return core_error(AISLE_EINVAL, "aisle_rerank: NULL argument");
    for (size_t k = 0; k < n; k++)
        if (!item_keys[k]) return core_error(AISLE_EINVAL, "aisle_rerank: candidate %zu is NULL", k);
    model_query q = {.user = -1};
    int64_t u = keys_find(&m->users, user_key, strlen(user_key));
    if (u >= 0) model_user_query(m, (uint32_t)u, &q);
    else if (!(m->ops->flags & MODEL_FOLD_IN))
        return core_error(AISLE_ENOTFOUND, "unknown user '%s' (model kind '%s' cannot score a shopper without "
                          "history)", user_key, m->ops->name);
    if (!n) return AISLE_OK;
    int64_t *idx = core_malloc(n * sizeof *idx);
    ranked *r = order ? core_malloc(n * sizeof *r) : NULL;
    if (!idx || (order && !r)) {
        core_free(idx);
        core_free(r);
        return core_oom("rerank");
    }
    for (size_t k = 0; k < n; k++) idx[k] = keys_find(&m->items, item_keys[k], strlen(item_keys[k]));
    int rc = score_candidates(m, &q, idx, n, scores);
    if (!rc && order) {
        for (size_t k = 0; k < n; k++) r[k] = (ranked){scores[k], k};
        qsort(r, n, sizeof *r, cmp_ranked);
        for (size_t k = 0; k < n; k++) order[k] = r[k].index;
    }
    core_free(idx);
    core_free(r);
    return rc;
}
