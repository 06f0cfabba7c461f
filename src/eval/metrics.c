/* metrics.c - per-user metric kernels: pessimistic ranks and AUC, ranking
 * metrics at K, novelty and the top-K list a user is shown (core's topk,
 * the one serving uses).  Pure functions over arrays,
 * so the tests check them against cases worked out by hand. */
#include "eval.h"

#include <math.h>
#include <stdlib.h>

static inline float finite_or_low(float s) { return isnan(s) ? -INFINITY : s; }

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* First index p of the descending array rel[0..n) with rel[p] <= s
 * (strict: rel[p] < s). */
static size_t first_at_most(const float *rel, size_t n, float s, int strict) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? rel[mid] < s : rel[mid] <= s)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void eval_ranks(float *rel, size_t n_rel, const float *neg, size_t n_neg, size_t *ranks, double *auc,
                size_t *scratch) {
    for (size_t j = 0; j < n_rel; j++) rel[j] = finite_or_low(rel[j]);
    if (n_rel > 1) qsort(rel, n_rel, sizeof *rel, cmp_desc);
    /* A negative with score s outranks (>=) every relevant item from
     * position first_at_most(s) on: count it there once, then prefix-sum,
     * which makes the whole pass O(n_neg log n_rel). */
    size_t *ge = scratch, *gt = scratch + n_rel + 1;
    for (size_t j = 0; j <= n_rel; j++) ge[j] = gt[j] = 0;
    for (size_t i = 0; i < n_neg; i++) {
        float s = finite_or_low(neg[i]);
        ge[first_at_most(rel, n_rel, s, 0)]++;
        gt[first_at_most(rel, n_rel, s, 1)]++;
    }
    size_t cge = 0, cgt = 0;
    double correct = 0;
    for (size_t j = 0; j < n_rel; j++) {
        cge += ge[j];
        cgt += gt[j];
        ranks[j] = 1 + j + cge;
        correct += (double)(n_neg - cge) + 0.5 * (double)(cge - cgt);
    }
    if (auc) *auc = n_neg == 0 || n_rel == 0 ? 1.0 : correct / ((double)n_neg * (double)n_rel);
}

void eval_rank_metrics(const size_t *ranks, size_t n_rel, size_t k, eval_user_metrics *out) {
    size_t hits = 0;
    double dcg = 0, idcg = 0, ap = 0;
    for (size_t j = 0; j < n_rel && ranks[j] <= k; j++) {
        hits++;
        dcg += 1.0 / log2((double)ranks[j] + 1.0);
        ap += (double)(j + 1) / (double)ranks[j];
    }
    size_t ideal = n_rel < k ? n_rel : k;
    for (size_t i = 1; i <= ideal; i++) idcg += 1.0 / log2((double)i + 1.0);
    out->precision = (double)hits / (double)k;
    out->recall = n_rel ? (double)hits / (double)n_rel : 0.0;
    out->hit = hits > 0;
    out->ndcg = idcg > 0 ? dcg / idcg : 0.0;
    out->map = ideal ? ap / (double)ideal : 0.0;
    out->mrr = n_rel && ranks[0] <= k ? 1.0 / (double)ranks[0] : 0.0;
}

double eval_novelty(const uint32_t *items, size_t n, const uint32_t *item_users, size_t n_users) {
    if (n == 0) return 0.0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum -= log2(((double)item_users[items[i]] + 1.0) / ((double)n_users + 1.0));
    return sum / (double)n;
}

size_t eval_top_k(const float *scores, const uint8_t *flags, uint8_t skip_flag, uint32_t n, size_t k,
                  core_hit *heap, uint32_t *top) {
    core_topk t;
    topk_init(&t, heap, k);
    for (uint32_t i = 0; i < n; i++) {
        if (flags && flags[i] == skip_flag) continue;
        if (topk_admits(&t, scores[i], i)) topk_push(&t, scores[i], i);
    }
    size_t m = topk_finish(&t);
    for (size_t i = 0; i < m; i++) top[i] = heap[i].item;
    return m;
}
