/* test_first_hour.c - the "first hour" additions of include/aisle.h:
 * events by index arrays, factor matrices, scores and recommendations by
 * index, and the popularity-fallback flag for unknown users. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_util.h"

/* 6 users x 8 items in two taste groups, as index arrays. */
static const uint32_t U[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5};
static const uint32_t I[] = {0, 1, 2, 0, 1, 3, 1, 2, 3, 4, 5, 6, 5, 6, 7, 4, 7, 0};
static const float V[] = {2, 1, 1, 1, 3, 1, 1, 2, 1, 2, 1, 1, 1, 2, 1, 1, 3, 1};
enum { N_EVENTS = sizeof U / sizeof U[0], N_USERS = 7, N_ITEMS = 9 }; /* user 6 and item 8: no events */

static aisle_dataset *indexed_shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_indexed(ds, N_USERS, N_ITEMS, U, I, V, NULL, N_EVENTS, "purchase"));
    return ds;
}

static void test_add_indexed_keys_are_the_indices(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    size_t n;
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, N_USERS);
    assert_ok(aisle_dataset_item_count(ds, &n));
    assert_int_equal(n, N_ITEMS);
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, N_EVENTS);
    for (size_t i = 0; i < N_USERS; i++) {
        char key[16];
        snprintf(key, sizeof key, "%zu", i);
        assert_ok(aisle_dataset_user_index(ds, key, &n));
        assert_int_equal(n, i);
    }
    assert_ok(aisle_dataset_event_type_count(ds, "purchase", &n));
    assert_int_equal(n, N_EVENTS);
    aisle_dataset_free(ds);
}

static void test_add_indexed_rejects_bad_input_and_changes_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    const uint32_t u[] = {0, 12}, i[] = {0, 1};
    const float nan_v[] = {1, NAN};
    assert_status_msg(aisle_dataset_add_indexed(ds, 10, 2, u, i, NULL, NULL, 2, NULL), AISLE_ERANGE, "user index 12");
    assert_status_msg(aisle_dataset_add_indexed(ds, 20, 1, u, i, NULL, NULL, 2, NULL), AISLE_ERANGE, "item index 1");
    assert_status_msg(aisle_dataset_add_indexed(ds, 20, 2, u, i, nan_v, NULL, 2, NULL), AISLE_EINVAL, "not finite");
    assert_status_msg(aisle_dataset_add_indexed(ds, 20, 2, NULL, i, NULL, NULL, 2, NULL), AISLE_EINVAL, "NULL");
    size_t n;
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, N_USERS);
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, N_EVENTS);
    /* allocation failures roll back too */
    for (uint64_t fail = 1; fail < 40; fail++) {
        tu_failalloc_install(fail, 1);
        int rc = aisle_dataset_add_indexed(ds, 30, 30, u, i, NULL, NULL, 2, "custom");
        tu_failalloc_remove();
        if (rc == AISLE_OK) break;
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_ok(aisle_dataset_user_count(ds, &n));
        assert_int_equal(n, N_USERS);
        assert_ok(aisle_dataset_event_count(ds, &n));
        assert_int_equal(n, N_EVENTS);
    }
    aisle_dataset_free(ds);
}

static aisle_model *train(const aisle_dataset *ds, const char *opts) {
    aisle_config *cfg;
    aisle_model *m;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    return m;
}

static void test_factor_matrices_line_up_with_indices_and_scores(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    aisle_model *m = train(ds, "model=als factors=3 epochs=5 threads=1");
    const float *uf, *itf;
    size_t nu, ni, d, d2;
    assert_ok(aisle_model_factors(m, AISLE_FACTORS_USERS, &uf, &nu, &d));
    assert_ok(aisle_model_factors(m, AISLE_FACTORS_ITEMS, &itf, &ni, &d2));
    assert_int_equal(nu, N_USERS);
    assert_int_equal(ni, N_ITEMS);
    assert_int_equal(d, 3);
    assert_int_equal(d2, 3);
    /* user "4" is row 4; its score of item "6" is the dot product */
    float s;
    assert_ok(aisle_score(m, "4", "6", &s));
    double dot = 0;
    for (size_t k = 0; k < d; k++) dot += (double)uf[4 * d + k] * itf[6 * d + k];
    assert_float_equal(s, dot, 1e-5);
    assert_status_msg(aisle_model_factors(m, 2, &uf, &nu, &d), AISLE_EINVAL, "side 2");
    aisle_model *p = train(ds, "model=popular");
    assert_status_msg(aisle_model_factors(p, AISLE_FACTORS_USERS, &uf, &nu, &d), AISLE_EUNSUPPORTED, "popular");
    aisle_model_free(p);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_score_and_recommend_by_index_match_the_key_calls(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    static const char *const kinds[] = {"model=als factors=3 epochs=5 threads=1", "model=itemknn",
                                        "model=popular", "model=bpr factors=3 epochs=5 threads=1"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        aisle_model *m = train(ds, kinds[k]);
        uint32_t pu[N_USERS * N_ITEMS], pi[N_USERS * N_ITEMS];
        float got[N_USERS * N_ITEMS];
        size_t n = 0;
        for (uint32_t u = 0; u < N_USERS; u++)
            for (uint32_t i = 0; i < N_ITEMS; i++) pu[n] = u, pi[n++] = i;
        assert_ok(aisle_score_indexed(m, pu, pi, n, got));
        for (size_t p = 0; p < n; p++) {
            char uk[16], ik[16];
            float want;
            snprintf(uk, sizeof uk, "%u", pu[p]);
            snprintf(ik, sizeof ik, "%u", pi[p]);
            assert_ok(aisle_score(m, uk, ik, &want));
            if (!(got[p] == want || (isnan(got[p]) && isnan(want))))
                fail_msg("%s: score(%s, %s) %g by index, %g by key", kinds[k], uk, ik, got[p], want);
        }
        const uint32_t users[] = {5, 0, 6, 2};
        const char *keys[] = {"5", "0", "6", "2"};
        uint32_t idx[4 * 3];
        float sc[4 * 3], sk[4 * 3];
        const char *items[4 * 3];
        size_t cnt[4], cntk[4];
        assert_ok(aisle_recommend_indexed(m, users, 4, 3, NULL, idx, sc, cnt));
        assert_ok(aisle_recommend_batch(m, keys, 4, 3, NULL, items, sk, cntk));
        for (size_t r = 0; r < 4; r++) {
            assert_int_equal(cnt[r], cntk[r]);
            for (size_t j = 0; j < cnt[r]; j++) {
                char ik[16];
                snprintf(ik, sizeof ik, "%u", idx[r * 3 + j]);
                assert_string_equal(ik, items[r * 3 + j]);
                assert_true(sc[r * 3 + j] == sk[r * 3 + j]);
            }
        }
        const uint32_t bad[] = {N_USERS};
        assert_status_msg(aisle_score_indexed(m, bad, pi, 1, got), AISLE_ERANGE, "user index 7");
        assert_status_msg(aisle_recommend_indexed(m, bad, 1, 3, NULL, idx, sc, cnt), AISLE_ERANGE, "user index 7");
        aisle_model_free(m);
    }
    aisle_dataset_free(ds);
}

static void test_unknown_user_is_flagged_as_popularity_fallback(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    aisle_model *m = train(ds, "model=als factors=3 epochs=5 threads=1");
    const char *items[4], *pop[4];
    float scores[4], pscores[4];
    size_t n, np;
    int fallback = -1;
    assert_ok(aisle_recommend_v2(m, "0", 4, NULL, items, scores, &n, &fallback));
    assert_int_equal(fallback, 0);
    assert_ok(aisle_recommend_v2(m, "stranger", 4, NULL, items, scores, &n, &fallback));
    assert_int_equal(fallback, 1);
    /* the same list aisle_recommend gives, which is the popularity order */
    assert_ok(aisle_recommend(m, "stranger", 4, NULL, pop, pscores, &np));
    assert_int_equal(n, np);
    for (size_t i = 0; i < n; i++) assert_string_equal(items[i], pop[i]);
    assert_ok(aisle_recommend_v2(m, "0", 4, NULL, items, scores, &n, NULL)); /* flag optional */
    const char *users[] = {"1", "nobody", "3"};
    int flags[3] = {-1, -1, -1};
    const char *bi[3 * 2];
    size_t cnt[3];
    assert_ok(aisle_recommend_batch_v2(m, users, 3, 2, NULL, bi, NULL, cnt, flags));
    assert_int_equal(flags[0], 0);
    assert_int_equal(flags[1], 1);
    assert_int_equal(flags[2], 0);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

/* Every allocation of the index calls fails in turn: an error, never a
 * crash or a leak (LeakSanitizer under make check). */
static void test_index_calls_survive_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds = indexed_shop();
    static const char *const kinds[] = {"model=als factors=2 epochs=2 threads=2", "model=itemknn threads=2"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        aisle_model *m = train(ds, kinds[k]);
        const uint32_t users[] = {0, 3, 5}, items[] = {1, 2, 8};
        uint32_t idx[3 * 4];
        float sc[3 * 4], s3[3];
        size_t cnt[3], n;
        const char *keys[] = {"0", "x"}, *out[2 * 4];
        int flags[2], fb;
        for (uint64_t fail = 1; fail < 200; fail++) {
            int done = 0;
            for (int call = 0; call < 4; call++) {
                tu_failalloc_install(fail, 0);
                int rc = call == 0   ? aisle_score_indexed(m, users, items, 3, s3)
                         : call == 1 ? aisle_recommend_indexed(m, users, 3, 4, NULL, idx, sc, cnt)
                         : call == 2 ? aisle_recommend_batch_v2(m, keys, 2, 4, NULL, out, sc, cnt, flags)
                                     : aisle_recommend_v2(m, "x", 4, NULL, out, sc, &n, &fb);
                uint64_t used = tu_failalloc_count();
                tu_failalloc_remove();
                if (rc != AISLE_OK) assert_int_equal(rc, AISLE_ENOMEM);
                done += used < fail; /* the call made fewer allocations than the failing one */
            }
            if (done == 4) break;
        }
        aisle_model_free(m);
    }
    aisle_dataset_free(ds);
}

/* mf on summed implicit events (the demo store's views, carts, purchases:
 * values 1..hundreds) used to train to NaN and recommend nothing; now it
 * refuses, saying what to use instead. */
static void test_mf_on_implicit_events_refuses_clearly(void **state) {
    (void)state;
    aisle_config *cfg;
    aisle_dataset *ds;
    aisle_model *m = NULL;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=300 demo_items=100 seed=1"));
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_config_parse(cfg, "model=mf threads=1"));
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ERANGE, "mf predicts ratings");
    assert_null(m);
    assert_true(strstr(aisle_last_error(), "als") != NULL);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_indexed_keys_are_the_indices),
        cmocka_unit_test(test_add_indexed_rejects_bad_input_and_changes_nothing),
        cmocka_unit_test(test_factor_matrices_line_up_with_indices_and_scores),
        cmocka_unit_test(test_score_and_recommend_by_index_match_the_key_calls),
        cmocka_unit_test(test_unknown_user_is_flagged_as_popularity_fallback),
        cmocka_unit_test(test_mf_on_implicit_events_refuses_clearly),
        cmocka_unit_test(test_index_calls_survive_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
