/* evaluate.c - aisle_evaluate: a trained model against a held-out test
 * dataset, under the full-ranking or the sampled-negatives protocol, and
 * the result handle.
 *
 * Users are scored in parallel (core_parallel_for) in blocks; each user's
 * metrics land in its own slot and are summed in user order afterwards, so
 * the result does not depend on the thread count.  Sampled negatives come
 * from a per-user stream rng_seed_stream(seed, user). */
#include "eval.h"

#include "data/data.h"
#include "models/models.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { FLAG_CAND = 0, FLAG_SEEN = 1, FLAG_REL = 2 };
/* per-user metric sums: eval_part.sums[0..M_COUNT) (eval.h) */
enum { M_PREC, M_REC, M_NDCG, M_MAP, M_HIT, M_MRR, M_AUC, M_NOV, M_COUNT };
_Static_assert((int)M_COUNT == (int)EVAL_SQ_ERR, "eval_part.sums: metric sums come first");

typedef struct eval_entry {
    char name[32];
    double value;
    int is_count;
} eval_entry;

struct aisle_eval_result {
    char protocol[16];
    size_t k, negatives;
    eval_entry *e;
    size_t n, cap;
};

typedef struct user_out {
    double m[M_COUNT];
    double sq_err, abs_err;
    size_t rating_pairs, seen_pairs, relevant;
    int ranked;
} user_out;

typedef struct thread_scratch {
    float *scores, *rel, *neg;
    uint32_t *rel_items, *cands, *top;
    core_hit *heap;
    size_t *ranks, *tmp;
    uint8_t *flags, *cover;
} thread_scratch;

typedef struct eval_ctx {
    const aisle_model *m;
    const data_csr *test;      /* test by user */
    const uint32_t *item_map;  /* test item -> model item, UINT32_MAX unknown */
    const uint32_t *eu_model;  /* evaluated users: model index */
    const uint32_t *eu_test;   /* ... and test row */
    const uint32_t *item_users;
    user_out *out;
    thread_scratch *ts;
    size_t k, negatives;
    int sampled, ratings;
    uint64_t seed;
    size_t offset; /* first user of the current block */
} eval_ctx;

static void scratch_free(thread_scratch *t) {
    core_free(t->scores);
    core_free(t->rel);
    core_free(t->neg);
    core_free(t->rel_items);
    core_free(t->cands);
    core_free(t->top);
    core_free(t->heap);
    core_free(t->ranks);
    core_free(t->tmp);
    core_free(t->flags);
    core_free(t->cover);
}

static int scratch_alloc(thread_scratch *t, size_t ni, size_t k) {
    size_t n = ni ? ni : 1;
    t->scores = core_malloc(n * sizeof *t->scores);
    t->rel = core_malloc(n * sizeof *t->rel);
    t->neg = core_malloc(n * sizeof *t->neg);
    t->rel_items = core_malloc(n * sizeof *t->rel_items);
    t->cands = core_malloc(n * sizeof *t->cands);
    t->top = core_malloc(k * sizeof *t->top);
    t->heap = core_malloc(k * sizeof *t->heap);
    t->ranks = core_malloc(n * sizeof *t->ranks);
    t->tmp = core_malloc(2 * (n + 1) * sizeof *t->tmp);
    t->flags = core_calloc(n, 1);
    t->cover = core_calloc(n, 1);
    if (!t->scores || !t->rel || !t->neg || !t->rel_items || !t->cands || !t->top || !t->heap || !t->ranks || !t->tmp ||
        !t->flags || !t->cover)
        return core_oom("evaluation scratch");
    return AISLE_OK;
}

/* Ranks each relevant item of the user against `negatives` candidates
 * drawn without replacement, and averages the per-item metrics. */
static void eval_sampled(const eval_ctx *c, thread_scratch *t, uint32_t user, size_t n_rel, size_t n_cand,
                         user_out *o) {
    core_rng rng;
    rng_seed_stream(&rng, c->seed, user);
    size_t n_neg = c->negatives < n_cand ? c->negatives : n_cand;
    double sum[M_COUNT] = {0};
    for (size_t r = 0; r < n_rel; r++) {
        /* Partial Fisher-Yates over the candidate list: its first n_neg
         * entries become a uniform sample. */
        for (size_t i = 0; i < n_neg; i++) {
            size_t j = i + (size_t)rng_below(&rng, n_cand - i);
            uint32_t x = t->cands[i];
            t->cands[i] = t->cands[j];
            t->cands[j] = x;
            t->neg[i] = t->scores[t->cands[i]];
        }
        float rs = t->scores[t->rel_items[r]];
        size_t rank;
        double auc;
        eval_user_metrics um;
        eval_ranks(&rs, 1, t->neg, n_neg, &rank, &auc, t->tmp);
        eval_rank_metrics(&rank, 1, c->k, &um);
        sum[M_PREC] += um.precision, sum[M_REC] += um.recall, sum[M_NDCG] += um.ndcg, sum[M_MAP] += um.map;
        sum[M_HIT] += um.hit, sum[M_MRR] += um.mrr, sum[M_AUC] += auc;
    }
    for (int i = 0; i < M_NOV; i++) o->m[i] = sum[i] / (double)n_rel;
}

static int eval_range(void *vctx, size_t begin, size_t end, int tid) {
    const eval_ctx *c = vctx;
    const aisle_model *m = c->m;
    thread_scratch *t = &c->ts[tid];
    uint32_t ni = model_n_items(m);
    for (size_t x = begin; x < end; x++) {
        size_t ui = c->offset + x;
        uint32_t u = c->eu_model[ui], tu = c->eu_test[ui];
        user_out *o = &c->out[ui];
        memset(o, 0, sizeof *o);
        model_query q;
        model_user_query(m, u, &q);
        int rc = m->ops->score_items(m, &q, t->scores);
        if (rc) return rc;
        for (size_t i = 0; i < q.n_items; i++) t->flags[q.items[i]] = FLAG_SEEN;
        size_t n_rel = 0;
        for (size_t p = c->test->indptr[tu]; p < c->test->indptr[tu + 1]; p++) {
            uint32_t it = c->item_map[c->test->indices[p]];
            if (it == UINT32_MAX) continue;
            /* for implicit kinds a pair netting <= 0 in the test part (a
             * return of an earlier purchase) is no interaction */
            if (!c->ratings && !(c->test->values[p] > 0.0f)) continue;
            if (c->ratings) {
                double err = (double)t->scores[it] - (double)c->test->values[p];
                o->sq_err += err * err;
                o->abs_err += fabs(err);
                o->rating_pairs++;
            }
            if (t->flags[it] == FLAG_SEEN) {
                o->seen_pairs++;
                continue;
            }
            t->flags[it] = FLAG_REL;
            t->rel_items[n_rel] = it;
            t->rel[n_rel++] = t->scores[it];
        }
        o->relevant = n_rel;
        if (n_rel > 0) {
            o->ranked = 1;
            size_t n_cand = 0;
            for (uint32_t i = 0; i < ni; i++) {
                if (t->flags[i] != FLAG_CAND) continue;
                if (c->sampled)
                    t->cands[n_cand++] = i;
                else
                    t->neg[n_cand++] = t->scores[i];
            }
            if (c->sampled) {
                eval_sampled(c, t, u, n_rel, n_cand, o);
            } else {
                eval_user_metrics um;
                eval_ranks(t->rel, n_rel, t->neg, n_cand, t->ranks, &um.auc, t->tmp);
                eval_rank_metrics(t->ranks, n_rel, c->k, &um);
                o->m[M_PREC] = um.precision, o->m[M_REC] = um.recall, o->m[M_NDCG] = um.ndcg;
                o->m[M_MAP] = um.map, o->m[M_HIT] = um.hit, o->m[M_MRR] = um.mrr, o->m[M_AUC] = um.auc;
            }
            /* What the user would be shown: the top K of everything not
             * already in their history, selected as aisle_recommend
             * selects it (coverage, novelty). */
            size_t nt = eval_top_k(t->scores, t->flags, FLAG_SEEN, ni, c->k, t->heap, t->top);
            for (size_t i = 0; i < nt; i++) t->cover[t->top[i]] = 1;
            o->m[M_NOV] = eval_novelty(t->top, nt, c->item_users, model_n_users(m));
        }
        for (size_t i = 0; i < q.n_items; i++) t->flags[q.items[i]] = FLAG_CAND;
        for (size_t r = 0; r < n_rel; r++) t->flags[t->rel_items[r]] = FLAG_CAND;
    }
    return AISLE_OK;
}

static int result_add(aisle_eval_result *r, const char *name, double value, int is_count) {
    int rc = core_grow((void **)&r->e, &r->cap, r->n + 1, sizeof *r->e);
    if (rc) return rc;
    snprintf(r->e[r->n].name, sizeof r->e[0].name, "%s", name);
    r->e[r->n].value = value;
    r->e[r->n].is_count = is_count;
    r->n++;
    return AISLE_OK;
}

AISLE_API void aisle_eval_result_free(aisle_eval_result *res) {
    if (!res) return;
    core_free(res->e);
    core_free(res);
}

static int build_result(const eval_part *p, aisle_eval_result **out) {
    aisle_eval_result *r = core_calloc(1, sizeof *r);
    if (!r) return core_oom("evaluation result");
    snprintf(r->protocol, sizeof r->protocol, "%s", p->sampled ? "sampled" : "full");
    r->k = p->k;
    r->negatives = p->negatives;
    const double *m = p->sums;
    size_t ranked = (size_t)p->counts[EVAL_RANKED], rating_pairs = (size_t)p->counts[EVAL_RATING_PAIRS];
    int rc = AISLE_OK;
    char name[32];
    if (p->ratings && rating_pairs) {
        rc = result_add(r, "rmse", sqrt(p->sums[EVAL_SQ_ERR] / (double)rating_pairs), 0);
        if (!rc) rc = result_add(r, "mae", p->sums[EVAL_ABS_ERR] / (double)rating_pairs, 0);
    }
    if (!rc && ranked) {
        static const char *const names[] = {"precision", "recall", "ndcg", "map", "hr", "mrr"};
        for (int i = 0; !rc && i < 6; i++) {
            snprintf(name, sizeof name, "%s@%zu", names[i], p->k);
            rc = result_add(r, name, m[i] / (double)ranked, 0);
        }
        if (!rc) rc = result_add(r, "auc", m[M_AUC] / (double)ranked, 0);
        if (!rc) rc = result_add(r, "coverage", p->n_items ? (double)p->counts[EVAL_COVERED] / (double)p->n_items : 0.0, 0);
        if (!rc) rc = result_add(r, "novelty", m[M_NOV] / (double)ranked, 0);
    }
    if (!rc) rc = result_add(r, "users", (double)ranked, 1);
    if (!rc) rc = result_add(r, "test_users", (double)p->counts[EVAL_TEST_USERS], 1);
    if (!rc) rc = result_add(r, "skipped_users", (double)p->counts[EVAL_SKIPPED_USERS], 1);
    if (!rc) rc = result_add(r, "skipped_pairs", (double)p->counts[EVAL_SKIPPED_PAIRS], 1);
    if (!rc) rc = result_add(r, "seen_pairs", (double)p->counts[EVAL_SEEN_PAIRS], 1);
    if (!rc) rc = result_add(r, "relevant_pairs", (double)p->counts[EVAL_RELEVANT], 1);
    if (!rc && p->ratings) rc = result_add(r, "rating_pairs", (double)rating_pairs, 1);
    if (rc) {
        aisle_eval_result_free(r);
        return rc;
    }
    *out = r;
    return AISLE_OK;
}

int eval_part_run(const aisle_model *m, const aisle_dataset *test, const aisle_config *cfg, eval_part *part) {
    int rc = config_check(cfg, eval_options, "evaluation");
    if (rc) return rc;
    eval_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.k = (size_t)config_int(cfg, eval_options, "k");
    c.negatives = (size_t)config_int(cfg, eval_options, "negatives");
    c.sampled = strcmp(config_string(cfg, eval_options, "protocol"), "sampled") == 0;
    /* hybrid with loss=squared predicts ratings too: its factors say so */
    c.ratings = (m->ops->flags & MODEL_PREDICTS_RATINGS) != 0 ||
                ((m->ops->flags & MODEL_FACTORS) && ((const model_factors *)m->state)->explicit_r);
    c.seed = (uint64_t)config_int(cfg, NULL, "seed");
    int threads = core_thread_count(config_int(cfg, NULL, "threads"));
    uint32_t ni = model_n_items(m);
    part->k = c.k;
    part->negatives = c.negatives;
    part->sampled = c.sampled;
    part->ratings = c.ratings;
    part->n_items = ni;
    memset(part->sums, 0, sizeof part->sums);
    memset(part->counts, 0, sizeof part->counts);
    rc = data_by_user(test, &c.test);
    if (rc) return rc;
    if (c.test->nnz == 0) return core_error(AISLE_EINVAL, "aisle_evaluate: the test dataset has no events");

    uint32_t n_test_items = data_n_items(test), n_test_users = data_n_users(test);
    uint32_t *item_map = core_malloc(((size_t)n_test_items + 1) * sizeof *item_map);
    uint32_t *eu = core_malloc(((size_t)n_test_users + 1) * 2 * sizeof *eu);
    uint32_t *item_users = core_calloc((size_t)ni + 1, sizeof *item_users);
    user_out *uo = core_malloc(((size_t)n_test_users + 1) * sizeof *uo);
    c.ts = core_calloc((size_t)threads, sizeof *c.ts);
    if (!item_map || !eu || !item_users || !uo || !c.ts) {
        rc = core_oom("evaluation");
        goto done;
    }
    for (int t = 0; !rc && t < threads; t++) rc = scratch_alloc(&c.ts[t], ni, c.k);
    if (rc) goto done;
    for (uint32_t i = 0; i < n_test_items; i++) {
        const char *key = keys_at(&test->items, i);
        int64_t mi = keys_find(&m->items, key, strlen(key));
        item_map[i] = mi < 0 ? UINT32_MAX : (uint32_t)mi;
    }
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        model_row h = model_history_row(m, u);
        for (size_t p = 0; p < h.n; p++) item_users[h.items[p]]++;
    }

    /* Map test users to the model's; unknown users and items are skipped
     * and counted.  A part evaluates the known users with index % count
     * == its index and counts the unknown ones in part 0. */
    size_t n_eu = 0, test_users = 0, skipped_users = 0, skipped_pairs = 0;
    for (uint32_t tu = 0; tu < n_test_users; tu++) {
        size_t b = c.test->indptr[tu], e = c.test->indptr[tu + 1];
        if (b == e) continue;
        const char *key = keys_at(&test->users, tu);
        int64_t mu = keys_find(&m->users, key, strlen(key));
        if ((mu < 0 ? 0 : (int)((uint64_t)mu % (uint64_t)part->count)) != part->index) continue;
        test_users++;
        if (mu < 0) {
            skipped_users++;
            skipped_pairs += e - b;
            continue;
        }
        for (size_t p = b; p < e; p++) skipped_pairs += item_map[c.test->indices[p]] == UINT32_MAX;
        eu[n_eu] = (uint32_t)mu;
        eu[n_test_users + 1 + n_eu] = tu;
        n_eu++;
    }
    c.item_map = item_map;
    c.eu_model = eu;
    c.eu_test = eu + n_test_users + 1;
    c.item_users = item_users;
    c.out = uo;

    /* Blocks keep progress reports (and cancellation) in the caller's
     * thread, as the callback contract requires. */
    core_progress prog;
    core_progress_init(&prog, cfg);
    size_t block = 256 * (size_t)threads;
    int steps = (int)((n_eu + block - 1) / block);
    for (size_t b = 0, step = 1; !rc && b < n_eu; b += block, step++) {
        c.offset = b;
        size_t len = n_eu - b < block ? n_eu - b : block;
        rc = core_parallel_for(threads, len, 16, eval_range, &c);
        if (!rc) rc = core_progress_report(&prog, (int)step, steps, NAN, NAN);
    }
    if (rc) goto done;

    for (size_t i = 0; i < n_eu; i++) {
        const user_out *o = &uo[i];
        part->sums[EVAL_SQ_ERR] += o->sq_err;
        part->sums[EVAL_ABS_ERR] += o->abs_err;
        part->counts[EVAL_RATING_PAIRS] += o->rating_pairs;
        part->counts[EVAL_SEEN_PAIRS] += o->seen_pairs;
        part->counts[EVAL_RELEVANT] += o->relevant;
        if (!o->ranked) continue;
        part->counts[EVAL_RANKED]++;
        for (int j = 0; j < M_COUNT; j++) part->sums[j] += o->m[j];
    }
    for (uint32_t i = 0; i < ni; i++) {
        for (int t = 0; t < threads; t++) {
            if (c.ts[t].cover[i]) {
                part->cover[i] = 1;
                break;
            }
        }
    }
    part->counts[EVAL_TEST_USERS] = test_users;
    part->counts[EVAL_SKIPPED_USERS] = skipped_users;
    part->counts[EVAL_SKIPPED_PAIRS] = skipped_pairs;
done:
    for (int t = 0; c.ts && t < threads; t++) scratch_free(&c.ts[t]);
    core_free(c.ts);
    core_free(item_map);
    core_free(eu);
    core_free(item_users);
    core_free(uo);
    return rc;
}

int eval_part_result(eval_part *p, aisle_eval_result **out) {
    p->counts[EVAL_COVERED] = 0;
    for (uint32_t i = 0; i < p->n_items; i++) p->counts[EVAL_COVERED] += p->cover[i] != 0;
    if (p->counts[EVAL_RANKED] == 0 && !(p->ratings && p->counts[EVAL_RATING_PAIRS]))
        return core_error(AISLE_EINVAL,
                          "aisle_evaluate: nothing to evaluate: of %llu test users, %llu are unknown to the model "
                          "and the rest have no test item outside their training history (%llu seen pairs, %llu "
                          "pairs with unknown items)",
                          (unsigned long long)p->counts[EVAL_TEST_USERS],
                          (unsigned long long)p->counts[EVAL_SKIPPED_USERS],
                          (unsigned long long)p->counts[EVAL_SEEN_PAIRS],
                          (unsigned long long)p->counts[EVAL_SKIPPED_PAIRS]);
    return build_result(p, out);
}

AISLE_API int aisle_evaluate(const aisle_model *m, const aisle_dataset *test, const aisle_config *cfg,
                             aisle_eval_result **out) {
    if (!m || !test || !out) return core_error(AISLE_EINVAL, "aisle_evaluate: NULL model, test dataset or out");
    eval_part p;
    memset(&p, 0, sizeof p);
    p.index = 0;
    p.count = 1;
    p.cover = core_calloc((size_t)model_n_items(m) + 1, 1);
    if (!p.cover) return core_oom("evaluation");
    int rc = eval_part_run(m, test, cfg, &p);
    if (!rc) rc = eval_part_result(&p, out);
    core_free(p.cover);
    return rc;
}

AISLE_API int aisle_eval_result_count(const aisle_eval_result *res, size_t *out) {
    if (!res || !out) return core_error(AISLE_EINVAL, "aisle_eval_result_count: NULL argument");
    *out = res->n;
    return AISLE_OK;
}

AISLE_API int aisle_eval_result_at(const aisle_eval_result *res, size_t index, const char **name, double *value,
                                   int *is_count) {
    if (!res) return core_error(AISLE_EINVAL, "aisle_eval_result_at: result is NULL");
    if (index >= res->n)
        return core_error(AISLE_ERANGE, "evaluation result index %zu out of range [0, %zu)", index, res->n);
    if (name) *name = res->e[index].name;
    if (value) *value = res->e[index].value;
    if (is_count) *is_count = res->e[index].is_count;
    return AISLE_OK;
}

AISLE_API int aisle_eval_result_get(const aisle_eval_result *res, const char *name, double *out) {
    if (!res || !name || !out) return core_error(AISLE_EINVAL, "aisle_eval_result_get: NULL argument");
    for (size_t i = 0; i < res->n; i++) {
        if (strcmp(res->e[i].name, name) == 0) {
            *out = res->e[i].value;
            return AISLE_OK;
        }
    }
    core_buf b;
    buf_init(&b);
    for (size_t i = 0; i < res->n; i++) buf_printf(&b, "%s%s", i ? ", " : "", res->e[i].name);
    int rc = core_error(AISLE_ENOTFOUND, "evaluation result has no metric '%s' (has: %s)", name,
                        b.data ? b.data : "none");
    buf_free(&b);
    return rc;
}

static int json_number(core_buf *b, double v, int is_count) {
    if (!isfinite(v)) return buf_printf(b, "null");
    if (is_count) return buf_printf(b, "%.0f", v);
    return buf_printf(b, "%.10g", v);
}

AISLE_API int aisle_eval_result_to_json(const aisle_eval_result *res, char *buf, size_t len, size_t *needed) {
    if (!res) return core_error(AISLE_EINVAL, "aisle_eval_result_to_json: result is NULL");
    core_buf b;
    buf_init(&b);
    int rc = buf_printf(&b, "{\"protocol\": \"%s\", \"k\": %zu", res->protocol, res->k);
    if (!rc && strcmp(res->protocol, "sampled") == 0) rc = buf_printf(&b, ", \"negatives\": %zu", res->negatives);
    for (int pass = 0; !rc && pass < 2; pass++) {
        rc = buf_printf(&b, ", \"%s\": {", pass ? "counts" : "metrics");
        int first = 1;
        for (size_t i = 0; !rc && i < res->n; i++) {
            if (res->e[i].is_count != pass) continue;
            /* metric names are ours: [a-z@0-9_], nothing to escape */
            rc = buf_printf(&b, "%s\"%s\": ", first ? "" : ", ", res->e[i].name);
            if (!rc) rc = json_number(&b, res->e[i].value, res->e[i].is_count);
            first = 0;
        }
        if (!rc) rc = buf_printf(&b, "}");
    }
    if (!rc) rc = buf_printf(&b, "}");
    if (!rc) rc = buf_export(&b, buf, len, needed);
    buf_free(&b);
    return rc;
}
