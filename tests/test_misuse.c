/* test_misuse.c - API misuse must give documented error codes with a
 * message, never undefined behaviour: NULL handles and pointers, zero or
 * huge k, unknown users and items, empty datasets, a model of the wrong
 * kind for a call, NaN/Inf inputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_util.h"

typedef struct fixture {
    aisle_dataset *ds;
    aisle_model *als, *pop, *mf;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=60 demo_items=80 demo_days=10 demo_messages=0 seed=9"));
    assert_ok(aisle_demo_generate(cfg, &f->ds));
    aisle_config_free(cfg);
    f->als = tu_train(f->ds, "model=als factors=4 epochs=2 threads=1");
    f->pop = tu_train(f->ds, "model=popular");
    /* mf needs ratings */
    aisle_dataset *ratings;
    assert_ok(aisle_dataset_new(&ratings));
    const char *users[] = {"a", "b", "c"}, *items[] = {"x", "y", "z"};
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++)
            if ((u + i) % 3) assert_ok(aisle_dataset_add_event(ratings, users[u], items[i], "rating", 1 + u + i, 0));
    f->mf = tu_train(ratings, "model=mf factors=2 epochs=3 threads=1");
    aisle_dataset_free(ratings);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    aisle_model_free(f->als);
    aisle_model_free(f->pop);
    aisle_model_free(f->mf);
    aisle_dataset_free(f->ds);
    free(f);
    return 0;
}

static const char *any_user(const aisle_model *m) {
    const char *u;
    assert_ok(aisle_model_user_key(m, 0, &u));
    return u;
}

static void test_null_handles_and_pointers_are_einval(void **state) {
    fixture *f = *state;
    const char *items[4];
    float scores[4];
    size_t n;
    assert_status_msg(aisle_recommend(NULL, "u", 4, NULL, items, scores, &n), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_recommend(f->als, NULL, 4, NULL, items, scores, &n), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_recommend(f->als, any_user(f->als), 4, NULL, items, scores, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_similar_items(NULL, "x", 4, NULL, items, scores, &n), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_score(f->als, NULL, "x", scores), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_explain(f->als, "u", NULL, 3, items, scores, &n), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_model_describe(NULL, NULL, 0, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_model_save(NULL, "x.aisle", NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_model_save(f->pop, NULL, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_model_load(NULL, "x.aisle", NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_model_load_buffer(NULL, "x", 1, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_dataset_load(NULL, "x.csv", NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_evaluate(NULL, f->ds, NULL, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_demo_generate(NULL, NULL), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_rec_options_set(NULL, "exclude_seen", "true"), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_catalog_add_item(NULL, "k", "t", NULL, NULL, NULL, 1.0), AISLE_EINVAL, NULL);
    /* every _free takes NULL */
    aisle_model_free(NULL);
    aisle_dataset_free(NULL);
    aisle_config_free(NULL);
    aisle_catalog_free(NULL);
    aisle_rec_options_free(NULL);
    aisle_eval_result_free(NULL);
    aisle_tokenizer_free(NULL);
    aisle_tokens_free(NULL);
    aisle_sparse_free(NULL);
    aisle_hasher_free(NULL);
    aisle_tfidf_free(NULL);
    aisle_category_encoder_free(NULL);
    aisle_numeric_encoder_free(NULL);
    aisle_free(NULL);
}

static void test_zero_and_huge_k(void **state) {
    fixture *f = *state;
    const char *items[8];
    float scores[8];
    size_t n = 99;
    /* k = 0: nothing to do, not an error */
    int rc = aisle_recommend(f->als, any_user(f->als), 0, NULL, items, scores, &n);
    assert_true(rc == AISLE_OK || rc == AISLE_EINVAL);
    if (rc == AISLE_OK) assert_int_equal(n, 0);
    /* huge k with NULL outputs: counts only, capped by the catalogue */
    size_t n_items;
    assert_ok(aisle_model_item_count(f->als, &n_items));
    rc = aisle_recommend(f->als, any_user(f->als), SIZE_MAX / 2, NULL, NULL, NULL, &n);
    if (rc == AISLE_OK) assert_true(n <= n_items);
    else assert_true(rc == AISLE_ERANGE || rc == AISLE_EINVAL || rc == AISLE_ENOMEM);
    assert_true(aisle_last_error()[0] != '\0' || rc == AISLE_OK);
}

static void test_unknown_users_and_items(void **state) {
    fixture *f = *state;
    const char *items[4];
    float scores[4], s;
    size_t n;
    aisle_rec_options *opts;
    assert_ok(aisle_rec_options_new(&opts));
    assert_ok(aisle_recommend(f->als, "no-such-user", 4, opts, items, scores, &n)); /* popularity fallback */
    assert_int_equal(n, 4);
    assert_ok(aisle_rec_options_set(opts, "unknown_user", "error"));
    assert_status_msg(aisle_recommend(f->als, "no-such-user", 4, opts, items, scores, &n), AISLE_ENOTFOUND,
                      "no-such-user");
    assert_status_msg(aisle_similar_items(f->als, "no-such-item", 4, NULL, items, scores, &n), AISLE_ENOTFOUND,
                      "no-such-item");
    assert_status_msg(aisle_score(f->als, any_user(f->als), "no-such-item", &s), AISLE_ENOTFOUND, "no-such-item");
    assert_status_msg(aisle_score(f->als, "ghost", "P00001", &s), AISLE_ENOTFOUND, "ghost");
    assert_status_msg(aisle_update_user(f->als, "ghost", NULL, NULL, 0), AISLE_ENOTFOUND, NULL);
    assert_status_msg(aisle_rec_options_set(opts, "no_such_option", "1"), AISLE_ENOTFOUND, "no_such_option");
    assert_status_msg(aisle_rec_options_set(opts, "exclude_seen", "perhaps"), AISLE_EINVAL, "exclude_seen");
    aisle_rec_options_free(opts);
}

static void test_wrong_kind_for_a_call_is_unsupported(void **state) {
    fixture *f = *state;
    const char *items[4];
    float shares[4];
    size_t n;
    assert_status_msg(aisle_explain(f->pop, any_user(f->pop), "P00001", 4, items, shares, &n), AISLE_EUNSUPPORTED,
                      "popular");
    assert_status_msg(aisle_similar_items(f->pop, "P00001", 4, NULL, items, shares, &n), AISLE_EUNSUPPORTED,
                      "popular");
}

static void test_empty_datasets_are_rejected(void **state) {
    (void)state;
    aisle_dataset *empty;
    assert_ok(aisle_dataset_new(&empty));
    for (int k = 0; k < aisle_model_kind_count(); k++) {
        const char *kind;
        assert_ok(aisle_model_kind_info(k, &kind, NULL));
        aisle_config *cfg;
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_set_string(cfg, "model", kind));
        aisle_model *m = NULL;
        assert_status_msg(aisle_model_train(empty, cfg, &m), AISLE_EINVAL, "empty");
        assert_null(m);
        aisle_config_free(cfg);
    }
    aisle_dataset *train = NULL, *test = NULL;
    int rc = aisle_dataset_split_spec(empty, "random:0.2", 1, &train, &test);
    if (rc == AISLE_OK) {
        aisle_dataset_free(train);
        aisle_dataset_free(test);
    } else {
        assert_true(aisle_last_error()[0] != '\0');
    }
    aisle_dataset_free(empty);
}

static void test_nan_and_inf_inputs_are_rejected(void **state) {
    fixture *f = *state;
    assert_status_msg(aisle_dataset_add_event(f->ds, "u", "i", "rating", NAN, 0), AISLE_EINVAL, "finite");
    assert_status_msg(aisle_dataset_add_event(f->ds, "u", "i", "view", -INFINITY, 0), AISLE_EINVAL, "finite");
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_set_float(cfg, "learning_rate", NAN), AISLE_EINVAL, "finite");
    assert_status_msg(aisle_config_set(cfg, "learning_rate", "inf"), AISLE_EINVAL, "finite");
    aisle_config_free(cfg);
    const char *session[] = {"P00001", "P00002"};
    float weights[] = {NAN, 1.0f};
    const char *items[4];
    size_t n;
    int rc = aisle_recommend_for_items(f->als, session, weights, 2, 4, NULL, items, NULL, &n);
    assert_int_equal(rc, AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "finite"));
    float bad[] = {INFINITY};
    assert_int_equal(aisle_update_user(f->als, any_user(f->als), session, bad, 1), AISLE_EINVAL);
    aisle_numeric_encoder *enc;
    assert_ok(aisle_numeric_encoder_new(&enc, NULL));
    double vals[] = {1.0, NAN, 3.0};
    rc = aisle_numeric_encoder_fit(enc, vals, 3);
    assert_int_equal(rc, AISLE_EINVAL);
    aisle_numeric_encoder_free(enc);
}

static void test_model_file_errors_name_the_file(void **state) {
    fixture *f = *state;
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_load(&m, "/nonexistent/dir/shop.aisle", NULL), AISLE_EIO, "/nonexistent/dir/shop.aisle");
    assert_status_msg(aisle_model_save(f->pop, "/nonexistent/dir/shop.aisle", NULL), AISLE_EIO, "/nonexistent/dir");
    assert_status_msg(aisle_model_load_buffer(&m, "not a model at all", 18, NULL), AISLE_EFORMAT, NULL);
    assert_null(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_handles_and_pointers_are_einval),
        cmocka_unit_test(test_zero_and_huge_k),
        cmocka_unit_test(test_unknown_users_and_items),
        cmocka_unit_test(test_wrong_kind_for_a_call_is_unsupported),
        cmocka_unit_test(test_empty_datasets_are_rejected),
        cmocka_unit_test(test_nan_and_inf_inputs_are_rejected),
        cmocka_unit_test(test_model_file_errors_name_the_file),
    };
    return cmocka_run_group_tests_name("misuse", tests, setup, teardown);
}
