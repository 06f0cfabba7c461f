/* test_eval.c - evaluation: metric kernels against cases worked out by
 * hand (ties, NaN, no negatives), aisle_evaluate end to end on tiny shops
 * whose every number is computed in the comments, protocols, determinism
 * across thread counts, and errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "models/models.h"
#include "util/test_util.h"

#define EPS 1e-9

/* ---- kernels ---- */

static void test_ranks_are_pessimistic_and_auc_counts_ties_half(void **state) {
    (void)state;
    float rel[] = {0.5f, 0.9f};
    const float neg[] = {0.8f, 0.5f, 0.1f, 0.95f};
    size_t ranks[2], tmp[6];
    double auc;
    eval_ranks(rel, 2, neg, 4, ranks, &auc, tmp);
    /* 0.9 is beaten by 0.95 -> rank 2; 0.5 comes after 0.9 and after the
     * negatives 0.95, 0.8 and the tied 0.5 -> rank 5. */
    assert_int_equal(ranks[0], 2);
    assert_int_equal(ranks[1], 5);
    /* pairs: 0.9 beats 3 of 4; 0.5 beats 0.1 and ties 0.5 -> 4.5 / 8 */
    assert_float_equal(auc, 0.5625, EPS);
}

static void test_all_tied_scores_rank_last(void **state) {
    (void)state;
    float rel[] = {1, 1};
    const float neg[] = {1, 1, 1};
    size_t ranks[2], tmp[6];
    double auc;
    eval_ranks(rel, 2, neg, 3, ranks, &auc, tmp);
    assert_int_equal(ranks[0], 4);
    assert_int_equal(ranks[1], 5);
    assert_float_equal(auc, 0.5, EPS);
    eval_user_metrics um;
    eval_rank_metrics(ranks, 2, 3, &um);
    assert_float_equal(um.ndcg, 0.0, EPS);
    assert_float_equal(um.hit, 0.0, EPS);
}

static void test_nan_scores_count_as_lowest(void **state) {
    (void)state;
    float rel[] = {NAN};
    const float neg[] = {-1.0f, NAN};
    size_t rank, tmp[4];
    double auc;
    eval_ranks(rel, 1, neg, 2, &rank, &auc, tmp);
    /* -inf relevant: -1 is above it, NaN (-inf) ties it */
    assert_int_equal(rank, 3);
    assert_float_equal(auc, 0.25, EPS);
}

static void test_no_negatives_rank_first(void **state) {
    (void)state;
    float rel[] = {0.2f};
    size_t rank, tmp[4];
    double auc;
    eval_ranks(rel, 1, NULL, 0, &rank, &auc, tmp);
    assert_int_equal(rank, 1);
    assert_float_equal(auc, 1.0, EPS);
}

static void test_rank_metrics_by_hand(void **state) {
    (void)state;
    const size_t ranks[] = {2, 5};
    eval_user_metrics m;
    eval_rank_metrics(ranks, 2, 3, &m);
    assert_float_equal(m.precision, 1.0 / 3, EPS);
    assert_float_equal(m.recall, 0.5, EPS);
    assert_float_equal(m.hit, 1.0, EPS);
    /* dcg = 1/log2(3); idcg = 1 + 1/log2(3) */
    assert_float_equal(m.ndcg, (1 / log2(3)) / (1 + 1 / log2(3)), EPS);
    assert_float_equal(m.map, (1.0 / 2) / 2, EPS);
    assert_float_equal(m.mrr, 0.5, EPS);
    eval_rank_metrics(ranks, 2, 5, &m);
    assert_float_equal(m.precision, 0.4, EPS);
    assert_float_equal(m.recall, 1.0, EPS);
    assert_float_equal(m.ndcg, (1 / log2(3) + 1 / log2(6)) / (1 + 1 / log2(3)), EPS);
    assert_float_equal(m.map, (1.0 / 2 + 2.0 / 5) / 2, EPS);
    /* cut-off below the first hit */
    eval_rank_metrics(ranks, 2, 1, &m);
    assert_float_equal(m.mrr, 0.0, EPS);
    assert_float_equal(m.ndcg, 0.0, EPS);
    assert_float_equal(m.map, 0.0, EPS);
}

static void test_top_k_orders_ties_by_index_and_skips_flagged_and_nan(void **state) {
    (void)state;
    const float s[] = {0.5f, 0.9f, 0.5f, NAN, 0.9f, 0.7f};
    const uint8_t flags[] = {0, 0, 0, 0, 1, 0};
    uint32_t top[4];
    core_hit heap[10];
    size_t n = eval_top_k(s, flags, 1, 6, 4, heap, top);
    assert_int_equal(n, 4);
    assert_int_equal(top[0], 1);
    assert_int_equal(top[1], 5);
    assert_int_equal(top[2], 0);
    assert_int_equal(top[3], 2);
    uint32_t all[10];
    n = eval_top_k(s, NULL, 1, 6, 10, heap, all);
    /* NaN is never shown (as in serving): 5 of the 6 items */
    assert_int_equal(n, 5);
    assert_int_equal(all[0], 1);
    assert_int_equal(all[1], 4);
    assert_int_equal(all[4], 2);
}

static void test_novelty_is_mean_self_information(void **state) {
    (void)state;
    const uint32_t users[] = {3, 1};
    const uint32_t items[] = {0, 1};
    /* (-log2(4/6) - log2(2/6)) / 2 */
    assert_float_equal(eval_novelty(items, 2, users, 5), (log2(6.0 / 4) + log2(3.0)) / 2, EPS);
    assert_float_equal(eval_novelty(items, 0, users, 5), 0.0, EPS);
}

/* ---- aisle_evaluate on a tiny shop ---- */

static aisle_dataset *make_ds(const char *const (*ev)[2], size_t n) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (size_t i = 0; i < n; i++) assert_ok(aisle_dataset_add_event(ds, ev[i][0], ev[i][1], "view", 1, (int64_t)i));
    return ds;
}

/* Items i1..i5 get indices 0..4; popularity (distinct users) 3,2,1,1,1. */
static aisle_model *train_tiny(void) {
    static const char *const train[][2] = {{"a", "i1"}, {"a", "i2"}, {"b", "i1"}, {"b", "i2"},
                                           {"c", "i1"}, {"c", "i3"}, {"d", "i4"}, {"e", "i5"}};
    aisle_dataset *ds = make_ds(train, 8);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular threads=1"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return m;
}

static aisle_dataset *tiny_test(void) {
    /* a: i3 new, i1 seen; d: i1, i5 new; z unknown user; b: unknown item */
    static const char *const test[][2] = {{"a", "i3"}, {"a", "i1"}, {"d", "i1"},
                                          {"d", "i5"}, {"z", "i1"}, {"b", "zz"}};
    return make_ds(test, 6);
}

static double get(const aisle_eval_result *r, const char *name) {
    double v = NAN;
    assert_ok(aisle_eval_result_get(r, name, &v));
    return v;
}

static void test_full_protocol_by_hand(void **state) {
    (void)state;
    aisle_model *m = train_tiny();
    aisle_dataset *test = tiny_test();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "k=2 threads=1"));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, cfg, &r));
    /* a: candidates i3,i4,i5 all score 1 -> i3 ranks 3 (pessimistic): 0
     *    everywhere, auc 0.5 (two ties).
     * d: candidates i1(3) i2(2) i3(1) i5(1): i1 rank 1, i5 rank 4 (after
     *    i2 and the tied i3).  @2: precision 1/2, recall 1/2, hr 1,
     *    ndcg 1/(1+1/log2 3), map 1/2, mrr 1, auc (2 + 0.5)/4. */
    assert_float_equal(get(r, "precision@2"), 0.25, EPS);
    assert_float_equal(get(r, "recall@2"), 0.25, EPS);
    assert_float_equal(get(r, "hr@2"), 0.5, EPS);
    assert_float_equal(get(r, "ndcg@2"), 0.5 / (1 + 1 / log2(3)), EPS);
    assert_float_equal(get(r, "map@2"), 0.25, EPS);
    assert_float_equal(get(r, "mrr@2"), 0.5, EPS);
    assert_float_equal(get(r, "auc"), (0.5 + 0.625) / 2, EPS);
    /* top-2: a -> i3, i4 (tie by index); d -> i1, i2: 4 of 5 items */
    assert_float_equal(get(r, "coverage"), 0.8, EPS);
    /* novelty: a 2 x log2(3); d -log2(4/6), -log2(3/6) */
    assert_float_equal(get(r, "novelty"), (log2(3) + (log2(1.5) + 1) / 2) / 2, 1e-6);
    assert_float_equal(get(r, "users"), 2, EPS);
    assert_float_equal(get(r, "test_users"), 4, EPS);
    assert_float_equal(get(r, "skipped_users"), 1, EPS);
    assert_float_equal(get(r, "skipped_pairs"), 2, EPS);
    assert_float_equal(get(r, "seen_pairs"), 1, EPS);
    assert_float_equal(get(r, "relevant_pairs"), 3, EPS);
    double v;
    assert_status_msg(aisle_eval_result_get(r, "rmse", &v), AISLE_ENOTFOUND, "ndcg@2");
    aisle_eval_result_free(r);
    aisle_config_free(cfg);
    aisle_dataset_free(test);
    aisle_model_free(m);
}

static void test_sampled_protocol_with_every_candidate_by_hand(void **state) {
    (void)state;
    aisle_model *m = train_tiny();
    aisle_dataset *test = tiny_test();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "k=2 protocol=sampled negatives=50"));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, cfg, &r));
    /* negatives >= candidates: every non-relevant candidate is used.
     * a: i3 vs i4, i5 (tied) -> rank 3.  d: i1 vs i2, i3 -> rank 1; i5 vs
     * i2, i3 -> rank 3.  Per user means: a 0; d hr 1/2, ndcg 1/2. */
    assert_float_equal(get(r, "hr@2"), 0.25, EPS);
    assert_float_equal(get(r, "ndcg@2"), 0.25, EPS);
    assert_float_equal(get(r, "mrr@2"), 0.25, EPS);
    assert_float_equal(get(r, "recall@2"), 0.25, EPS);
    char json[1024];
    assert_ok(aisle_eval_result_to_json(r, json, sizeof json, NULL));
    assert_non_null(strstr(json, "\"protocol\": \"sampled\""));
    assert_non_null(strstr(json, "\"negatives\": 50"));
    aisle_eval_result_free(r);
    aisle_config_free(cfg);
    aisle_dataset_free(test);
    aisle_model_free(m);
}

/* A fake kind that predicts ratings from a fixed table, to check RMSE/MAE. */
static const float fake_table[2][3] = {{4.0f, 2.0f, 5.0f}, {1.0f, 3.0f, 3.5f}};

static int fake_score(const aisle_model *m, const model_query *q, float *scores) {
    (void)m;
    memcpy(scores, fake_table[q->user], sizeof fake_table[0]);
    return AISLE_OK;
}

static const option_spec fake_options[] = {OPTION_END};
static const model_ops fake_ops = {.name = "fake", .summary = "test", .options = fake_options,
                                   .flags = MODEL_PREDICTS_RATINGS, .score_items = fake_score};

static void test_rating_metrics_by_hand(void **state) {
    (void)state;
    aisle_dataset *train;
    assert_ok(aisle_dataset_new(&train));
    assert_ok(aisle_dataset_add_event(train, "u", "x", "rating", 4, 1));
    assert_ok(aisle_dataset_add_event(train, "v", "y", "rating", 2, 2));
    assert_ok(aisle_dataset_add_event(train, "v", "z", "rating", 3, 3));
    aisle_model *m;
    assert_ok(model_alloc(&fake_ops, &m));
    assert_ok(model_init_generic(m, train, NULL));
    aisle_dataset *test;
    assert_ok(aisle_dataset_new(&test));
    /* u,y: predicted 2, true 3 (err -1); u,z: 5 vs 4 (+1); v,x: 1 vs 3
     * (-2); v,z (seen in training) 3.5 vs 3 (+0.5): all count for RMSE */
    assert_ok(aisle_dataset_add_event(test, "u", "y", "rating", 3, 5));
    assert_ok(aisle_dataset_add_event(test, "u", "z", "rating", 4, 6));
    assert_ok(aisle_dataset_add_event(test, "v", "x", "rating", 3, 7));
    assert_ok(aisle_dataset_add_event(test, "v", "z", "rating", 3, 8));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, NULL, &r));
    assert_float_equal(get(r, "rmse"), sqrt((1 + 1 + 4 + 0.25) / 4.0), 1e-6);
    assert_float_equal(get(r, "mae"), (1 + 1 + 2 + 0.5) / 4.0, 1e-6);
    assert_float_equal(get(r, "rating_pairs"), 4, EPS);
    assert_float_equal(get(r, "seen_pairs"), 1, EPS);
    /* metrics come first in the enumeration, then counts */
    const char *name;
    int is_count;
    assert_ok(aisle_eval_result_at(r, 0, &name, NULL, &is_count));
    assert_string_equal(name, "rmse");
    assert_int_equal(is_count, 0);
    size_t n;
    assert_ok(aisle_eval_result_count(r, &n));
    assert_ok(aisle_eval_result_at(r, n - 1, NULL, NULL, &is_count));
    assert_int_equal(is_count, 1);
    assert_status_msg(aisle_eval_result_at(r, n, NULL, NULL, NULL), AISLE_ERANGE, "out of range");
    aisle_eval_result_free(r);
    aisle_dataset_free(test);
    aisle_dataset_free(train);
    aisle_model_free(m);
}

/* ---- evaluation ranks what serving returns ---- */

/* A fake kind whose scores are full of ties, NaN and infinities; users
 * with index 3 mod 4 have fewer than K scored (non-NaN) items. */
static int tie_nan_score(const aisle_model *m, const model_query *q, float *scores) {
    uint32_t u = (uint32_t)q->user;
    for (uint32_t i = 0; i < model_n_items(m); i++) {
        if ((u % 4 == 3 && i >= 3) || (i * 7 + u) % 5 == 0)
            scores[i] = NAN;
        else if ((i + u) % 9 == 0)
            scores[i] = (u % 2) ? INFINITY : -INFINITY;
        else
            scores[i] = (float)((i * 3 + u) % 4); /* four values: many ties */
    }
    return AISLE_OK;
}

static const model_ops tie_nan_ops = {.name = "tie_nan", .summary = "test", .options = fake_options,
                                      .score_items = tie_nan_score};

enum { TN_USERS = 20, TN_ITEMS = 16, TN_K = 5 };

/* 20 users with 3 training items each; the test holds one new item each. */
static aisle_model *train_tie_nan(aisle_dataset **test) {
    aisle_dataset *train;
    assert_ok(aisle_dataset_new(&train));
    assert_ok(aisle_dataset_new(test));
    char u[16], it[16];
    for (int user = 0; user < TN_USERS; user++) {
        snprintf(u, sizeof u, "u%02d", user);
        for (int j = 0; j < 3; j++) {
            snprintf(it, sizeof it, "i%02d", (user * 3 + j) % TN_ITEMS);
            assert_ok(aisle_dataset_add_event(train, u, it, "view", 1, user * 3 + j));
        }
        snprintf(it, sizeof it, "i%02d", (user * 3 + 5) % TN_ITEMS);
        assert_ok(aisle_dataset_add_event(*test, u, it, "view", 1, 1000 + user));
    }
    aisle_model *m;
    assert_ok(model_alloc(&tie_nan_ops, &m));
    assert_ok(model_init_generic(m, train, NULL));
    aisle_dataset_free(train);
    assert_int_equal(model_n_items(m), TN_ITEMS);
    return m;
}

static void test_evaluation_lists_equal_served_lists_with_ties_and_nan(void **state) {
    (void)state;
    aisle_dataset *test;
    aisle_model *m = train_tie_nan(&test);
    uint32_t ni = model_n_items(m);
    float scores[TN_ITEMS];
    uint8_t flags[TN_ITEMS];
    core_hit heap[TN_K];
    uint32_t top[TN_K];
    uint32_t item_users[TN_ITEMS] = {0};
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        model_row h = model_history_row(m, u);
        for (size_t p = 0; p < h.n; p++) item_users[h.items[p]]++;
    }
    uint8_t covered[TN_ITEMS] = {0};
    double novelty = 0;
    size_t short_lists = 0, tied_pairs = 0;
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        /* what aisle_recommend shows (default options: exclude_seen) */
        const char *items[TN_K];
        float served[TN_K];
        size_t n;
        assert_ok(aisle_recommend(m, keys_at(&m->users, u), TN_K, NULL, items, served, &n));
        /* the list evaluation scores for the same user */
        model_query q;
        model_user_query(m, u, &q);
        assert_ok(m->ops->score_items(m, &q, scores));
        memset(flags, 0, sizeof flags);
        for (size_t i = 0; i < q.n_items; i++) flags[q.items[i]] = 1;
        size_t nt = eval_top_k(scores, flags, 1, ni, TN_K, heap, top);
        assert_int_equal(nt, n);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(keys_at(&m->items, top[i]), items[i]);
            assert_false(isnan(served[i]));
            assert_true(served[i] == scores[top[i]]);
            if (i > 0 && served[i] == served[i - 1]) {
                tied_pairs++;
                assert_true(top[i] > top[i - 1]); /* ties: lower index first */
            }
            covered[top[i]] = 1;
        }
        short_lists += n < TN_K;
        novelty += eval_novelty(top, nt, item_users, model_n_users(m));
    }
    /* the scores really exercise both rules */
    assert_true(short_lists > 0);
    assert_true(tied_pairs > 0);
    /* aisle_evaluate's coverage and novelty are those of the served lists
     * (every user has one relevant test item, so every user is ranked) */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "k=5 threads=2"));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, cfg, &r));
    assert_float_equal(get(r, "users"), TN_USERS, EPS);
    size_t n_cov = 0;
    for (uint32_t i = 0; i < ni; i++) n_cov += covered[i];
    assert_float_equal(get(r, "coverage"), (double)n_cov / ni, EPS);
    assert_float_equal(get(r, "novelty"), novelty / TN_USERS, EPS);
    aisle_eval_result_free(r);
    aisle_config_free(cfg);
    aisle_dataset_free(test);
    aisle_model_free(m);
}

/* ---- determinism, options, errors ---- */

static void random_shop(aisle_dataset **train, aisle_dataset **test) {
    core_rng rng;
    rng_seed(&rng, 7);
    assert_ok(aisle_dataset_new(train));
    assert_ok(aisle_dataset_new(test));
    char u[16], it[16];
    for (int e = 0; e < 6000; e++) {
        int user = (int)rng_below(&rng, 300);
        /* skewed items so popularity has ties and structure */
        int item = (int)(rng_below(&rng, 200) * rng_below(&rng, 200) / 200);
        snprintf(u, sizeof u, "u%d", user);
        snprintf(it, sizeof it, "i%d", item);
        assert_ok(aisle_dataset_add_event(rng_below(&rng, 5) ? *train : *test, u, it, "view", 1, e));
    }
}

static void eval_json(const aisle_model *m, const aisle_dataset *test, const char *opts, char *json, size_t len) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, cfg, &r));
    assert_ok(aisle_eval_result_to_json(r, json, len, NULL));
    aisle_eval_result_free(r);
    aisle_config_free(cfg);
}

static void test_results_do_not_depend_on_thread_count(void **state) {
    (void)state;
    aisle_dataset *train, *test;
    random_shop(&train, &test);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular"));
    aisle_model *m;
    assert_ok(aisle_model_train(train, cfg, &m));
    char a[2048], b[2048], c[2048];
    eval_json(m, test, "threads=1 protocol=sampled negatives=20 seed=3", a, sizeof a);
    eval_json(m, test, "threads=3 protocol=sampled negatives=20 seed=3", b, sizeof b);
    assert_string_equal(a, b);
    eval_json(m, test, "threads=1 protocol=sampled negatives=20 seed=4", c, sizeof c);
    assert_string_not_equal(a, c); /* the seed matters */
    eval_json(m, test, "threads=1", a, sizeof a);
    eval_json(m, test, "threads=4", b, sizeof b);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"ndcg@10\": "));
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(train);
    aisle_dataset_free(test);
}

static int cancel_at_first(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)step, (void)steps, (void)loss, (void)metric, (void)elapsed;
    (*(int *)user)++;
    return 1;
}

static void test_progress_callback_can_cancel(void **state) {
    (void)state;
    aisle_model *m = train_tiny();
    aisle_dataset *test = tiny_test();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    int calls = 0;
    assert_ok(aisle_config_set_progress(cfg, cancel_at_first, &calls));
    aisle_eval_result *r = NULL;
    assert_status_msg(aisle_evaluate(m, test, cfg, &r), AISLE_ECANCELLED, "cancelled");
    assert_null(r);
    assert_int_equal(calls, 1);
    aisle_config_free(cfg);
    aisle_dataset_free(test);
    aisle_model_free(m);
}

static void test_errors_name_the_problem(void **state) {
    (void)state;
    aisle_model *m = train_tiny();
    aisle_dataset *test = tiny_test(), *empty, *strangers;
    aisle_eval_result *r = NULL;
    assert_status_msg(aisle_evaluate(NULL, test, NULL, &r), AISLE_EINVAL, "NULL");
    assert_status_msg(aisle_evaluate(m, test, NULL, NULL), AISLE_EINVAL, "NULL");
    assert_ok(aisle_dataset_new(&empty));
    assert_status_msg(aisle_evaluate(m, empty, NULL, &r), AISLE_EINVAL, "no events");
    static const char *const s[][2] = {{"x", "i1"}, {"a", "i2"}};
    strangers = make_ds(s, 2);
    assert_status_msg(aisle_evaluate(m, strangers, NULL, &r), AISLE_EINVAL, "1 are unknown");
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_set_int(cfg, "k", 0), AISLE_ERANGE, "'k'");
    assert_status_msg(aisle_config_set(cfg, "protocol", "loo"), AISLE_EINVAL, "full|sampled");
    assert_null(r);
    assert_ok(aisle_evaluate(m, test, NULL, &r));
    char small[8];
    size_t need = 0;
    assert_status_msg(aisle_eval_result_to_json(r, small, sizeof small, &need), AISLE_ERANGE, NULL);
    assert_true(need > sizeof small);
    aisle_eval_result_free(r);
    aisle_eval_result_free(NULL);
    aisle_config_free(cfg);
    aisle_dataset_free(strangers);
    aisle_dataset_free(empty);
    aisle_dataset_free(test);
    aisle_model_free(m);
}

static void test_allocation_failures_are_reported_without_leaks(void **state) {
    (void)state;
    aisle_model *m = train_tiny();
    aisle_dataset *test = tiny_test();
    /* views built before counting so only evaluate's own allocations fail */
    aisle_eval_result *r = NULL;
    assert_ok(aisle_evaluate(m, test, NULL, &r));
    aisle_eval_result_free(r);
    for (uint64_t n = 1;; n++) {
        tu_failalloc_install(n, 0);
        r = NULL;
        int rc = aisle_evaluate(m, test, NULL, &r);
        uint64_t count = tu_failalloc_count();
        aisle_eval_result_free(r);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
        if (rc == AISLE_OK) {
            assert_true(count < n); /* succeeded only when no allocation failed */
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
    }
    aisle_dataset_free(test);
    aisle_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranks_are_pessimistic_and_auc_counts_ties_half),
        cmocka_unit_test(test_evaluation_lists_equal_served_lists_with_ties_and_nan),
        cmocka_unit_test(test_all_tied_scores_rank_last),
        cmocka_unit_test(test_nan_scores_count_as_lowest),
        cmocka_unit_test(test_no_negatives_rank_first),
        cmocka_unit_test(test_rank_metrics_by_hand),
        cmocka_unit_test(test_top_k_orders_ties_by_index_and_skips_flagged_and_nan),
        cmocka_unit_test(test_novelty_is_mean_self_information),
        cmocka_unit_test(test_full_protocol_by_hand),
        cmocka_unit_test(test_sampled_protocol_with_every_candidate_by_hand),
        cmocka_unit_test(test_rating_metrics_by_hand),
        cmocka_unit_test(test_results_do_not_depend_on_thread_count),
        cmocka_unit_test(test_progress_callback_can_cancel),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_allocation_failures_are_reported_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
