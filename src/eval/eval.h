/*
 * eval.h - internal interface of the evaluation module: the per-user metric
 * kernels (pure functions, tested against hand-computed cases) that
 * aisle_evaluate() runs over every test user.
 *
 * Conventions (docs/EVALUATION.md):
 *  - Relevance is binary: every test item of a user that is a candidate
 *    (not in the user's training history) is relevant.
 *  - Ties are broken against the relevant items (pessimistic): a relevant
 *    item ranks after every negative with an equal score, so a model that
 *    scores everything alike earns nothing.  NaN scores count as -infinity
 *    when ranking the relevant items.
 *  - The list a user is shown (coverage, novelty) is what aisle_recommend
 *    would return with exclude_seen: core's topk, where NaN scores are
 *    never selected.
 *  - AUC counts a tied (relevant, negative) pair as half correct.
 */
#ifndef AISLE_EVAL_H
#define AISLE_EVAL_H

#include "core/core.h"

/* The option table of the module (k, protocol, negatives). */
extern const option_spec eval_options[];

/* Ranking metrics of one user (or one sampled test item), each in [0, 1]. */
typedef struct eval_user_metrics {
    double precision, recall, ndcg, map, hit, mrr, auc;
} eval_user_metrics;

/* Pessimistic 1-based ranks of n_rel relevant scores among themselves and
 * n_neg negative scores.  rel is sorted in place (descending; NaN first
 * turned into -inf); ranks[j] receives the rank of the j-th best relevant
 * item: 1 + j + #{negatives with score >= rel[j]}, so ranks ascend.
 * *auc (may be NULL) receives the fraction of (relevant, negative) pairs
 * ordered correctly, ties counting 1/2 (1 when n_neg is 0).  neg is not
 * changed (its NaNs are read as -inf).  scratch holds 2 * (n_rel + 1)
 * size_t. */
void eval_ranks(float *rel, size_t n_rel, const float *neg, size_t n_neg, size_t *ranks, double *auc,
                size_t *scratch);

/* Metrics at cut-off k from the ascending ranks of n_rel >= 1 relevant
 * items:
 *   precision@k = hits / k;  recall@k = hits / n_rel;  hit@k = hits > 0;
 *   ndcg@k = sum_{rank<=k} 1/log2(rank+1) / sum_{i=1..min(n_rel,k)} 1/log2(i+1);
 *   map@k  = sum_{j: rank_j<=k} (j / rank_j) / min(n_rel, k)   (j 1-based);
 *   mrr@k  = 1 / rank_1 if rank_1 <= k, else 0.
 * auc is left untouched. */
void eval_rank_metrics(const size_t *ranks, size_t n_rel, size_t k, eval_user_metrics *out);

/* Mean self-information (novelty, Zhou et al. 2010) of a list of items:
 * mean of -log2((users_of_item + 1) / (n_users + 1)); 0 for an empty list. */
double eval_novelty(const uint32_t *items, size_t n, const uint32_t *item_users, size_t n_users);

/* The list a user is shown: indices of the k best items among the n items
 * whose flags[i] != skip_flag (flags may be NULL: every item), selected by
 * core's topk exactly as serving selects them (score descending, ties by
 * lower index, NaN scores never selected), written to top in rank order;
 * returns how many (<= k, fewer when fewer non-NaN items remain).  heap is
 * scratch for k hits. */
size_t eval_top_k(const float *scores, const uint8_t *flags, uint8_t skip_flag, uint32_t n, size_t k,
                  core_hit *heap, uint32_t *top);

/* ---- evaluation in parts (evaluate.c), for src/dist ----
 * aisle_evaluate is one part of one: the sums of every part added (and
 * the cover flags or-ed) give the whole result.  A part evaluates the
 * known test users whose model index % count == index; unknown users are
 * counted in part 0. */
enum { EVAL_SQ_ERR = 8, EVAL_ABS_ERR = 9, EVAL_SUMS = 10 };   /* sums[0..8): metric sums per user */
enum {
    EVAL_RANKED, EVAL_RATING_PAIRS, EVAL_SEEN_PAIRS, EVAL_RELEVANT, EVAL_TEST_USERS, EVAL_SKIPPED_USERS,
    EVAL_SKIPPED_PAIRS, EVAL_COVERED, EVAL_COUNTS
};
typedef struct eval_part {
    int index, count;            /* in */
    uint8_t *cover;              /* in: n_items zeroed bytes; out: 1 where some user's top k held the item */
    double sums[EVAL_SUMS];      /* out */
    uint64_t counts[EVAL_COUNTS];/* out (EVAL_COVERED is set by eval_part_result) */
    size_t k, negatives;         /* out: the protocol, for the result */
    int sampled, ratings;
    uint32_t n_items;
} eval_part;
/* Evaluates one part.  Statuses as aisle_evaluate's. */
int eval_part_run(const aisle_model *m, const aisle_dataset *test, const aisle_config *cfg, eval_part *p);
/* The result from (summed) parts; AISLE_EINVAL when nothing was
 * evaluated, AISLE_ENOMEM. */
int eval_part_result(eval_part *p, aisle_eval_result **out);

#endif /* AISLE_EVAL_H */
