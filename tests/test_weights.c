/* test_weights.c - what implicit-feedback kinds make of summed pair weights
 * (src/models/weights.c): pairs netting <= 0 (returns outweighing
 * purchases) are no interaction, weight_scale=log and weight_cap, the
 * counts stored on the model, the rule travelling with a saved model, the
 * evaluation ignoring net returns in the test part, and time:DAYSd splits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

/* Four customers, items A..D.  c0 bought 5 A and returned 10 (net -5), and
 * bought 2 B; c1..c3 bought A, B, C in some mix; D is bought once, 1000
 * units (a wholesale line). */
static aisle_dataset *returns_shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "c0", "A", "purchase", 5, 100));
    assert_ok(aisle_dataset_add_event(ds, "c0", "A", "purchase", -10, 200));
    assert_ok(aisle_dataset_add_event(ds, "c0", "B", "purchase", 2, 150));
    assert_ok(aisle_dataset_add_event(ds, "c1", "A", "purchase", 1, 100));
    assert_ok(aisle_dataset_add_event(ds, "c1", "C", "purchase", 3, 110));
    assert_ok(aisle_dataset_add_event(ds, "c2", "B", "purchase", 1, 120));
    assert_ok(aisle_dataset_add_event(ds, "c2", "C", "purchase", 1, 130));
    assert_ok(aisle_dataset_add_event(ds, "c3", "A", "purchase", 2, 140));
    assert_ok(aisle_dataset_add_event(ds, "c3", "B", "purchase", 4, 140));
    assert_ok(aisle_dataset_add_event(ds, "c3", "D", "purchase", 1000, 140));
    /* purchases weigh 1 per unit here, so sums are the quantities */
    assert_ok(aisle_dataset_set_event_weight(ds, "purchase", 1));
    return ds;
}

static void test_net_returns_are_no_interaction_for_every_implicit_kind(void **state) {
    (void)state;
    aisle_dataset *ds = returns_shop();
    static const char *const kinds[] = {"model=popular", "model=itemknn", "model=als factors=2 epochs=3",
                                        "model=bpr factors=2 epochs=3", "model=sasrec hidden=8 epochs=1 maxlen=4"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        aisle_model *m = tu_train(ds, kinds[k]);
        const char *items[4];
        float w[4];
        size_t n;
        assert_ok(aisle_model_user_history(m, "c0", 4, items, w, &n));
        if (n != 1 || strcmp(items[0], "B") != 0 || w[0] != 2.0f)
            fail_msg("%s: c0's history has %zu items (first %s), expected only B (2 units)", kinds[k], n,
                     n ? items[0] : "-");
        double dropped = 0;
        assert_ok(aisle_model_get_metric(m, "nonpositive_pairs", &dropped));
        assert_float_equal(dropped, 1, 0);
        /* A was returned, so it is not "seen": it may be recommended to c0 */
        assert_ok(aisle_recommend(m, "c0", 4, NULL, items, NULL, &n));
        int has_a = 0;
        for (size_t i = 0; i < n; i++) has_a |= strcmp(items[i], "A") == 0;
        if (!has_a) fail_msg("%s: A (returned) is excluded from c0's recommendations as if bought", kinds[k]);
        aisle_model_free(m);
    }
    /* popularity counts customers who kept the item: A has c1 and c3 */
    aisle_model *p = tu_train(ds, "model=popular");
    float score;
    assert_ok(aisle_score(p, "c1", "A", &score));
    assert_float_equal(score, 2, 0);
    aisle_model_free(p);
    aisle_dataset_free(ds);
}

static void test_als_never_reads_a_negative_confidence(void **state) {
    (void)state;
    aisle_dataset *ds = returns_shop();
    aisle_model *m = tu_train(ds, "model=als factors=2 epochs=5 threads=1");
    const model_factors *f = m->state;
    /* a visitor's net return folds in like no interaction at all */
    const char *with[] = {"A", "B"}, *without[] = {"B"};
    const float wa[] = {-5, 2}, wb[] = {2};
    float xa[2], xb[2];
    uint32_t ia[2], ib[1];
    size_t idx;
    assert_ok(aisle_model_item_index(m, "A", &idx));
    ia[0] = (uint32_t)idx;
    assert_ok(aisle_model_item_index(m, "B", &idx));
    ia[1] = ib[0] = (uint32_t)idx;
    assert_ok(model_factors_fold_in(f, ia, wa, 2, xa, -1, NULL));
    assert_ok(model_factors_fold_in(f, ib, wb, 1, xb, -1, NULL));
    assert_memory_equal(xa, xb, sizeof xa);
    /* through the public call: C and D score the same either way */
    const char *ra[4], *rb[4];
    float sa[4], sb[4];
    size_t na, nb;
    assert_ok(aisle_recommend_for_items(m, with, wa, 2, 4, NULL, ra, sa, &na));
    assert_ok(aisle_recommend_for_items(m, without, wb, 1, 4, NULL, rb, sb, &nb));
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(ra[i], rb[j]) == 0) assert_float_equal(sa[i], sb[j], 1e-6);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_log_scale_and_cap_with_counts(void **state) {
    (void)state;
    aisle_dataset *ds = returns_shop();
    aisle_model *m = tu_train(ds, "model=popular popular_by=weight weight_scale=linear");
    float s;
    assert_ok(aisle_score(m, "c1", "D", &s));
    assert_float_equal(s, 1000, 0);
    double capped;
    assert_status_msg(aisle_model_get_metric(m, "capped_pairs", &capped), AISLE_ENOTFOUND, "capped_pairs");
    aisle_model_free(m);
    m = tu_train(ds, "model=popular popular_by=weight"); /* default: log */
    assert_ok(aisle_score(m, "c1", "D", &s));
    assert_float_equal(s, log1p(1000.0), 1e-5);
    assert_ok(aisle_score(m, "c1", "B", &s)); /* c0 2, c2 1, c3 4 */
    assert_float_equal(s, log1p(2.0) + log1p(1.0) + log1p(4.0), 1e-5);
    aisle_model_free(m);
    m = tu_train(ds, "model=popular popular_by=weight weight_cap=1.5");
    assert_ok(aisle_score(m, "c1", "D", &s));
    assert_float_equal(s, 1.5, 0);
    assert_ok(aisle_score(m, "c1", "B", &s)); /* ln 3 = 1.10, ln 2 = 0.69, ln 5 = 1.61 -> 1.5 */
    assert_float_equal(s, log1p(2.0) + log1p(1.0) + 1.5, 1e-5);
    assert_ok(aisle_model_get_metric(m, "capped_pairs", &capped));
    assert_float_equal(capped, 2, 0); /* c3's B (ln 5) and D (ln 1001) */
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

/* A saved model reads session weights with the rule it was trained with;
 * a file without the option (written before it existed) reads linear. */
static void test_weight_rule_travels_with_the_model(void **state) {
    (void)state;
    aisle_dataset *ds = returns_shop();
    static const char *const opts[] = {"model=itemknn weight_scale=linear", "model=itemknn",
                                       "model=als factors=2 epochs=3 weight_cap=2"};
    const char *sess[] = {"B", "C"};
    const float w[] = {7, 3};
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
        aisle_model *m = tu_train(ds, opts[k]), *l;
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        assert_ok(aisle_model_load_buffer(&l, buf, len, NULL));
        aisle_free(buf);
        assert_int_equal(l->weight_rule.log, m->weight_rule.log);
        assert_float_equal(l->weight_rule.cap, m->weight_rule.cap, 0);
        const char *a[4], *b[4];
        float sa[4], sb[4];
        size_t na, nb;
        assert_ok(aisle_recommend_for_items(m, sess, w, 2, 4, NULL, a, sa, &na));
        assert_ok(aisle_recommend_for_items(l, sess, w, 2, 4, NULL, b, sb, &nb));
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) assert_float_equal(sa[i], sb[i], 1e-6);
        aisle_model_free(l);
        /* as an older file: the option absent */
        assert_ok(aisle_config_unset(m->config, "weight_scale"));
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        assert_ok(aisle_model_load_buffer(&l, buf, len, NULL));
        aisle_free(buf);
        assert_false(l->weight_rule.log);
        aisle_model_free(l);
        aisle_model_free(m);
    }
    aisle_dataset_free(ds);
}

/* A test-part pair that nets <= 0 (returning an earlier purchase) is not
 * a relevant item for implicit kinds. */
static void test_eval_ignores_net_returns_in_the_test_part(void **state) {
    (void)state;
    aisle_dataset *train = returns_shop(), *test;
    assert_ok(aisle_dataset_new(&test));
    assert_ok(aisle_dataset_add_event(test, "c1", "B", "purchase", 1, 300));
    assert_ok(aisle_dataset_add_event(test, "c2", "A", "purchase", -1, 300)); /* a return only */
    aisle_model *m = tu_train(train, "model=popular");
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, NULL, &r));
    double rel, users;
    assert_ok(aisle_eval_result_get(r, "relevant_pairs", &rel));
    assert_ok(aisle_eval_result_get(r, "users", &users));
    assert_float_equal(rel, 1, 0);
    assert_float_equal(users, 1, 0);
    aisle_eval_result_free(r);
    aisle_model_free(m);
    aisle_dataset_free(test);
    aisle_dataset_free(train);
}

static void test_time_split_by_days(void **state) {
    (void)state;
    aisle_dataset *ds, *tr, *te;
    assert_ok(aisle_dataset_new(&ds));
    char u[16];
    for (int d = 0; d <= 40; d++) {
        snprintf(u, sizeof u, "u%d", d % 5);
        assert_ok(aisle_dataset_add_event(ds, u, "i", "view", 1, 1000000 + (int64_t)d * 86400));
    }
    assert_ok(aisle_dataset_split_spec(ds, "time:30d", 1, &tr, &te));
    size_t ntr, nte;
    assert_ok(aisle_dataset_event_count(tr, &ntr));
    assert_ok(aisle_dataset_event_count(te, &nte));
    assert_int_equal(nte, 31); /* days 10..40: at or after newest - 30 days */
    assert_int_equal(ntr, 10);
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    assert_ok(aisle_dataset_split_spec(ds, "time:0.5d", 1, &tr, &te));
    assert_ok(aisle_dataset_event_count(te, &nte));
    assert_int_equal(nte, 1);
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    assert_status_msg(aisle_dataset_split_spec(ds, "time:xd", 1, &tr, &te), AISLE_EINVAL, "number of days");
    assert_status_msg(aisle_dataset_split_spec(ds, "time:0d", 1, &tr, &te), AISLE_ERANGE, "number of days");
    assert_status_msg(aisle_dataset_split_spec(ds, "time:30d:1", 1, &tr, &te), AISLE_EINVAL, "end of spec");
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_returns_are_no_interaction_for_every_implicit_kind),
        cmocka_unit_test(test_als_never_reads_a_negative_confidence),
        cmocka_unit_test(test_log_scale_and_cap_with_counts),
        cmocka_unit_test(test_weight_rule_travels_with_the_model),
        cmocka_unit_test(test_eval_ignores_net_returns_in_the_test_part),
        cmocka_unit_test(test_time_split_by_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
