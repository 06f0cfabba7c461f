/* ltr.c - learning to rank from search logs (docs/SEARCH.md "Learning to
 * rank").
 *
 * The learned ranker scores a candidate by a weighted sum of the signals
 * the ranker already computes, each scaled to about [0, 1] within the
 * query's candidates: text (BM25F / max), proximity (its part of the text
 * score / max text), matched and corrected (shares of the query words the
 * product matches, and matches only through a typo correction or prefix
 * completion), semantic and encoder (cosines of the fusion retrievals),
 * user (the model's score for the user or session, min-max over the
 * candidates) and popularity (ln(1 + pop) / ln(1 + max pop)).
 *
 * The weights are fitted from a log (log.c) by pairwise logistic
 * regression (RankNet's loss with a linear scorer, Burges et al., ICML
 * 2005; Joachims, KDD 2002 for clicks as preferences): every product with a
 * higher grade than another in the same search (purchase > cart > click >
 * shown) gives a pair whose feature difference d should score positive;
 * the loss is the mean over searches of the mean over their pairs of
 * ln(1 + exp(-w.d)), plus l2/2 |w|^2.  The problem is small (8 weights) and
 * strictly convex, so Newton's method with a step-halving line search
 * solves it exactly and deterministically; only the subsample of pairs of a
 * search with more than search_learn_max_pairs depends on the seed.
 * Products of a log row that are not among a search's candidates (top
 * search_depth plus fusion) have no features and give no pairs. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const search_ltr_names[SEARCH_LTR_F] = {"text",     "proximity", "matched", "corrected",
                                                    "semantic", "encoder",   "user",    "popularity"};

int search_ltr_active(const aisle_search_index *idx, const search_params *p, bool *out) {
    *out = p->ranker == SEARCH_RANKER_LEARNED || (p->ranker == SEARCH_RANKER_AUTO && idx->has_ranker);
    if (*out && !idx->has_ranker)
        return core_error(AISLE_ESTATE, "search_ranker=learned: the index has no learned ranker "
                                        "(aisle_search_index_learn)");
    return AISLE_OK;
}

static float popularity_of(const aisle_search_index *idx, const aisle_model *m, uint32_t doc, int64_t it) {
    if (m && m->popularity) return it >= 0 ? CORE_MAX(m->popularity[it], 0.0f) : 0.0f;
    return idx->has_popularity ? CORE_MAX(idx->popularity[doc], 0.0f) : 0.0f;
}

void search_ltr_features(const aisle_search_index *idx, const search_query *q, const aisle_model *m,
                         const float *user, search_cand *cands, size_t n, float *x) {
    float maxt = 0, umin = INFINITY, umax = -INFINITY, pmax = 0;
    for (size_t i = 0; i < n; i++) {
        search_cand *c = &cands[i];
        int64_t it = -1;
        if (m) {
            const char *key = keys_at(&idx->keys, idx->key_of_doc[c->doc]);
            it = keys_find(&m->items, key, strlen(key));
        }
        c->user = user && it >= 0 && isfinite(user[it]) ? user[it] : NAN;
        c->pop = popularity_of(idx, m, c->doc, it);
        maxt = CORE_MAX(maxt, c->text);
        pmax = CORE_MAX(pmax, c->pop);
        if (isfinite(c->user)) {
            umin = CORE_MIN(umin, c->user);
            umax = CORE_MAX(umax, c->user);
        }
    }
    double lp = log1p((double)pmax);
    size_t ng = q ? q->n_groups : 0;
    for (size_t i = 0; i < n; i++) {
        search_cand *c = &cands[i];
        float *xi = x + i * SEARCH_LTR_F;
        unsigned matched = 0, corrected = 0;
        for (size_t g = 0; g < ng; g++) {
            if (c->exp[g] == 0xff || c->exp[g] >= q->n_exp) continue;
            matched++;
            corrected += q->exp[c->exp[g]].edits || q->exp[c->exp[g]].prefix;
        }
        xi[SEARCH_LTR_TEXT] = maxt > 0 ? c->text / maxt : 0.0f;
        xi[SEARCH_LTR_PROXIMITY] = maxt > 0 ? c->proximity / maxt : 0.0f;
        xi[SEARCH_LTR_MATCHED] = ng ? (float)matched / (float)ng : 0.0f;
        xi[SEARCH_LTR_CORRECTED] = ng ? (float)corrected / (float)ng : 0.0f;
        xi[SEARCH_LTR_SEMANTIC] = CORE_MAX(c->semantic, 0.0f);
        xi[SEARCH_LTR_ENCODER] = CORE_MAX(c->encoder, 0.0f);
        xi[SEARCH_LTR_USER] = isfinite(c->user) && umax > umin ? (c->user - umin) / (umax - umin) : 0.0f;
        xi[SEARCH_LTR_POPULARITY] = lp > 0 ? (float)(log1p((double)c->pop) / lp) : 0.0f;
        if (!isfinite(c->user)) c->user = 0;
    }
}

/* The candidates and their features for one request: retrieval of the
 * top search_depth, then the fusion retrievals the weights use (all of
 * them when w is NULL, for learning). */
static int candidates(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                      const search_filter *f, const double *w, search_cand **cands, size_t *n, size_t *cap,
                      float **x, search_rerank_info *info) {
    bool sem = !w || w[SEARCH_LTR_SEMANTIC] != 0, enc = !w || w[SEARCH_LTR_ENCODER] != 0;
    int rc = search_rerank_gather(idx, p, rq, f, sem, enc, cands, n, cap, info);
    float *user = NULL;
    if (!rc && rq->model && (rq->user || rq->n_items) && (!w || w[SEARCH_LTR_USER] != 0))
        rc = search_user_scores(rq, &user, info);
    if (!rc && !(*x = core_malloc((*n ? *n : 1) * SEARCH_LTR_F * sizeof **x))) rc = core_oom("ranking features");
    if (!rc) search_ltr_features(idx, rq->query, rq->model, user, *cands, *n, *x);
    core_free(user);
    return rc;
}

int search_ltr_rank(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                    const search_filter *f, search_cand **cands, size_t *n, size_t *cap, search_rerank_info *info) {
    float *x = NULL;
    int rc = candidates(idx, p, rq, f, idx->rank_w, cands, n, cap, &x, info);
    for (size_t i = 0; i < *n && !rc; i++) {
        double s = 0;
        for (int k = 0; k < SEARCH_LTR_F; k++) s += idx->rank_w[k] * x[i * SEARCH_LTR_F + k];
        (*cands)[i].score = (float)s;
        (*cands)[i].rank_before_user = (int32_t)i + 1;
    }
    if (!rc) {
        search_cands_sort(*cands, *n);
        info->learned_used = true;
    }
    core_free(x);
    return rc;
}

/* ---- learning ---- */

typedef struct ltr_pairs {
    float *d;      /* n x SEARCH_LTR_F feature differences */
    double *wt;    /* n: 1 / pairs of its search */
    size_t n, cap, d_cap; /* d_cap in floats */
} ltr_pairs;

/* Pairs of one search: candidates' features x, the log's events matched to
 * candidate positions (pos, SIZE_MAX none). */
static int group_pairs(const aisle_search_log *log, size_t g, const size_t *pos, const float *x, int max_pairs,
                       core_rng *rng, ltr_pairs *P) {
    uint32_t a0 = log->first[g], a1 = log->first[g + 1];
    size_t start = P->n, seen = 0;
    for (uint32_t a = a0; a < a1; a++) {
        if (pos[a - a0] == SIZE_MAX) continue;
        for (uint32_t b = a0; b < a1; b++) {
            if (pos[b - a0] == SIZE_MAX || log->ev[a].grade <= log->ev[b].grade) continue;
            /* reservoir sampling keeps max_pairs of them, uniformly */
            size_t slot = start + seen;
            if (seen >= (size_t)max_pairs) {
                uint64_t r = rng_below(rng, seen + 1);
                seen++;
                if (r >= (uint64_t)max_pairs) continue;
                slot = start + r;
            } else {
                seen++;
                int rc = core_grow((void **)&P->d, &P->d_cap, (P->n + 1) * SEARCH_LTR_F, sizeof *P->d);
                if (!rc) rc = core_grow((void **)&P->wt, &P->cap, P->n + 1, sizeof *P->wt);
                if (rc) return rc;
                P->n++;
            }
            const float *xa = x + pos[a - a0] * SEARCH_LTR_F, *xb = x + pos[b - a0] * SEARCH_LTR_F;
            for (int k = 0; k < SEARCH_LTR_F; k++) P->d[slot * SEARCH_LTR_F + k] = xa[k] - xb[k];
        }
    }
    for (size_t i = start; i < P->n; i++) P->wt[i] = 1.0 / (double)(P->n - start);
    return AISLE_OK;
}

/* Runs one logged search and appends its pairs. */
static int log_group(const aisle_search_index *idx, const search_params *p, const aisle_search_log *log, size_t g,
                     const aisle_model *m, core_rng *rng, ltr_pairs *P, size_t **pos, size_t *pos_cap) {
    const char *text = log->text.data + log->query_off[g];
    search_request rq;
    memset(&rq, 0, sizeof rq);
    rq.text = text;
    rq.len = strlen(text);
    rq.model = m;
    rq.user = m && log->user[g] != SEARCH_NONE ? keys_at(&log->users, log->user[g]) : NULL;
    search_query q;
    search_filter f;
    memset(&f, 0, sizeof f);
    search_cand *pool = NULL;
    float *x = NULL;
    size_t cap = CORE_MIN(p->depth, idx->n_docs), n = 0, total = 0;
    search_rerank_info info = {0};
    int rc = search_query_parse(idx, p, rq.text, rq.len, &q);
    rq.query = &q;
    if (!rc && !(pool = core_malloc((cap ? cap : 1) * sizeof *pool))) rc = core_oom("ranking candidates");
    if (!rc) rc = search_retrieve(idx, p, &q, &f, cap, pool, &n, &total, NULL, 0);
    if (!rc) rc = candidates(idx, p, &rq, &f, NULL, &pool, &n, &cap, &x, &info);
    uint32_t ne = log->first[g + 1] - log->first[g];
    if (!rc && ne > *pos_cap) rc = core_grow((void **)pos, pos_cap, ne, sizeof **pos);
    for (uint32_t e = 0; e < ne && !rc; e++) {
        const char *key = keys_at(&log->items, log->ev[log->first[g] + e].item);
        int64_t ki = keys_find(&idx->keys, key, strlen(key));
        uint32_t doc = ki >= 0 ? idx->doc_of_key[ki] : SEARCH_NONE;
        (*pos)[e] = SIZE_MAX;
        for (size_t i = 0; doc != SEARCH_NONE && i < n; i++)
            if (pool[i].doc == doc) (*pos)[e] = i;
    }
    if (!rc) rc = group_pairs(log, g, *pos, x, p->learn_max_pairs, rng, P);
    core_free(x);
    core_free(pool);
    search_query_release(&q);
    return rc;
}

/* Loss, gradient and Hessian of the pairwise objective at w. */
static double objective(const ltr_pairs *P, double groups, double l2, const double *w, double *grad,
                        double *hess) {
    double loss = 0;
    if (grad) memset(grad, 0, SEARCH_LTR_F * sizeof *grad);
    if (hess) memset(hess, 0, SEARCH_LTR_F * SEARCH_LTR_F * sizeof *hess);
    for (size_t i = 0; i < P->n; i++) {
        const float *d = P->d + i * SEARCH_LTR_F;
        double z = 0;
        for (int k = 0; k < SEARCH_LTR_F; k++) z += w[k] * d[k];
        /* ln(1 + exp(-z)) without overflow; s = sigma(-z) */
        double wt = P->wt[i] / groups, s = 1.0 / (1.0 + exp(z));
        loss += wt * (z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z)));
        if (grad)
            for (int k = 0; k < SEARCH_LTR_F; k++) grad[k] -= wt * s * d[k];
        if (hess)
            for (int a = 0; a < SEARCH_LTR_F; a++)
                for (int b = 0; b < SEARCH_LTR_F; b++) hess[a * SEARCH_LTR_F + b] += wt * s * (1 - s) * d[a] * d[b];
    }
    for (int k = 0; k < SEARCH_LTR_F; k++) {
        loss += 0.5 * l2 * w[k] * w[k];
        if (grad) grad[k] += l2 * w[k];
        if (hess) hess[k * SEARCH_LTR_F + k] += l2;
    }
    return loss;
}

/* Solves H s = g in place (g becomes s) by Cholesky; H is positive
 * definite (l2 > 0). */
static void cholesky_solve(double *H, double *g) {
    enum { F = SEARCH_LTR_F };
    for (int j = 0; j < F; j++) {
        double s = H[j * F + j];
        for (int k = 0; k < j; k++) s -= H[j * F + k] * H[j * F + k];
        H[j * F + j] = sqrt(s > 1e-300 ? s : 1e-300);
        for (int i = j + 1; i < F; i++) {
            double t = H[i * F + j];
            for (int k = 0; k < j; k++) t -= H[i * F + k] * H[j * F + k];
            H[i * F + j] = t / H[j * F + j];
        }
    }
    for (int i = 0; i < F; i++) {
        for (int k = 0; k < i; k++) g[i] -= H[i * F + k] * g[k];
        g[i] /= H[i * F + i];
    }
    for (int i = F - 1; i >= 0; i--) {
        for (int k = i + 1; k < F; k++) g[i] -= H[k * F + i] * g[k];
        g[i] /= H[i * F + i];
    }
}

static void newton(const ltr_pairs *P, double groups, double l2, int iterations, double *w) {
    double g[SEARCH_LTR_F], H[SEARCH_LTR_F * SEARCH_LTR_F], trial[SEARCH_LTR_F];
    double f = objective(P, groups, l2, w, g, H);
    for (int it = 0; it < iterations; it++) {
        cholesky_solve(H, g);
        double step = 1, ft = f;
        for (int half = 0; half < 30; half++, step *= 0.5) {
            for (int k = 0; k < SEARCH_LTR_F; k++) trial[k] = w[k] - step * g[k];
            if ((ft = objective(P, groups, l2, trial, NULL, NULL)) <= f) break;
        }
        double moved = 0;
        for (int k = 0; k < SEARCH_LTR_F; k++) moved = CORE_MAX(moved, fabs(trial[k] - w[k]));
        if (ft > f) break; /* no descent left: at the minimum to rounding */
        memcpy(w, trial, sizeof trial);
        f = objective(P, groups, l2, w, g, H);
        if (moved < 1e-10) break;
    }
}

int search_ltr_learn(aisle_search_index *idx, const aisle_search_log *log, const aisle_model *m,
                     const aisle_config *cfg, size_t *pairs) {
    search_params p;
    int rc = search_params_read(&p, cfg, &idx->defaults);
    if (rc) return rc;
    core_rng rng;
    rng_seed(&rng, p.learn_seed);
    ltr_pairs P = {NULL, NULL, 0, 0, 0};
    size_t *pos = NULL, pos_cap = 0, groups = 0;
    for (size_t g = 0; g < log->n_groups && !rc; g++) {
        size_t before = P.n;
        rc = log_group(idx, &p, log, g, m, &rng, &P, &pos, &pos_cap);
        groups += P.n > before;
    }
    if (!rc && !P.n)
        rc = core_error(AISLE_EINVAL, "aisle_search_index_learn: the log gives no preference pairs (no search has "
                                      "two of its products among the candidates with different events)");
    if (!rc) {
        double w[SEARCH_LTR_F] = {0};
        newton(&P, (double)groups, p.learn_l2, p.learn_iterations, w);
        for (int k = 0; k < SEARCH_LTR_F && !rc; k++)
            if (!isfinite(w[k])) rc = core_error(AISLE_EINTERNAL, "aisle_search_index_learn: weight %s diverged",
                                                 search_ltr_names[k]);
        if (!rc) {
            memcpy(idx->rank_w, w, sizeof w);
            idx->has_ranker = true;
            if (pairs) *pairs = P.n;
        }
    }
    core_free(pos);
    core_free(P.d);
    core_free(P.wt);
    return rc;
}

/* ---- the optional ranker section: u32 count, then (name, f64 weight) ---- */

int search_ltr_write(const aisle_search_index *idx, io_writer *w) {
    if (!idx->has_ranker) return AISLE_OK;
    core_buf b;
    buf_init(&b);
    int rc = io_put_u32(&b, SEARCH_LTR_F);
    for (int k = 0; k < SEARCH_LTR_F && !rc; k++) {
        rc = io_put_str(&b, search_ltr_names[k]);
        if (!rc) rc = io_put_f64(&b, idx->rank_w[k]);
    }
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_RANKER, 0, &b);
    buf_free(&b);
    return rc;
}

int search_ltr_read(aisle_search_index *idx, io_reader *r) {
    if (!io_reader_has_section(r, SEARCH_SECTION_RANKER)) return AISLE_OK;
    io_cursor c;
    uint32_t n = 0;
    double w[SEARCH_LTR_F] = {0};
    bool seen[SEARCH_LTR_F] = {false};
    int rc = io_reader_section(r, SEARCH_SECTION_RANKER, &c);
    if (!rc) rc = io_get_u32(&c, &n);
    if (!rc && (n == 0 || n > 64)) rc = core_error(AISLE_EFORMAT, "search index ranker: %u features", n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        char *name = NULL;
        double v = 0;
        int k = -1;
        rc = io_get_str(&c, &name);
        if (!rc) rc = io_get_f64(&c, &v);
        for (int j = 0; !rc && j < SEARCH_LTR_F; j++)
            if (!strcmp(name, search_ltr_names[j])) k = j;
        if (!rc && (k < 0 || seen[k]))
            rc = core_error(AISLE_EFORMAT, "search index ranker: feature '%.40s' %s", name,
                            k < 0 ? "unknown to this library" : "repeated");
        if (!rc && !isfinite(v)) rc = core_error(AISLE_EFORMAT, "search index ranker: weight of %s", name);
        if (!rc) {
            seen[k] = true;
            w[k] = v;
        }
        core_free(name);
    }
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) {
        memcpy(idx->rank_w, w, sizeof w);
        idx->has_ranker = true;
    }
    return rc;
}
