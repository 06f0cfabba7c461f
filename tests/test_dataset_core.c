/* test_dataset_core.c - the dataset core: keys, aggregation, views,
 * sequences, rollback on failure; and the model handle with the popular
 * kind. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/data.h"
#include "models/models.h"

#include <cblas.h>
#include "util/test_util.h"

static aisle_dataset *small_shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    /* user, item, event, value, time */
    assert_ok(aisle_dataset_add_event(ds, "17850", "85123A", "view", 1, 100));
    assert_ok(aisle_dataset_add_event(ds, "17850", "85123A", "cart", 1, 110));
    assert_ok(aisle_dataset_add_event(ds, "17850", "71053", "purchase", 2, 90));
    assert_ok(aisle_dataset_add_event(ds, "13047", "85123A", "purchase", 1, 200));
    assert_ok(aisle_dataset_add_event(ds, "13047", "22752", "rating", 4, 210));
    assert_ok(aisle_dataset_add_event(ds, "13047", "22752", "rating", 2, 205)); /* older rating: loses */
    assert_ok(aisle_dataset_add_event(ds, "12583", "71053", "wishlist", 1, 50));
    return ds;
}

static void test_keys_map_to_dense_indices_both_ways(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    size_t n, idx;
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, 3);
    assert_ok(aisle_dataset_item_count(ds, &n));
    assert_int_equal(n, 3);
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, 7);
    assert_ok(aisle_dataset_user_index(ds, "13047", &idx));
    assert_int_equal(idx, 1);
    const char *key;
    assert_ok(aisle_dataset_item_key(ds, 2, &key));
    assert_string_equal(key, "22752");
    assert_status_msg(aisle_dataset_user_index(ds, "nobody", &idx), AISLE_ENOTFOUND, "unknown user 'nobody'");
    assert_status_msg(aisle_dataset_item_key(ds, 3, &key), AISLE_ERANGE, "item index 3");
    aisle_dataset_free(ds);
}

static void test_duplicate_pairs_aggregate_weights_and_latest_time(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    const data_csr *bu;
    assert_ok(data_by_user(ds, &bu));
    assert_int_equal(bu->nnz, 5);
    /* user 0 (17850): items 0 (85123A) and 1 (71053), sorted by index */
    assert_int_equal(bu->indptr[1] - bu->indptr[0], 2);
    assert_int_equal(bu->indices[0], 0);
    assert_true(bu->values[0] == 1.0f * 1 + 3.0f * 1); /* view + cart */
    assert_int_equal(bu->last_time[0], 110);
    assert_int_equal(bu->count[0], 2);
    assert_true(bu->values[1] == 5.0f * 2); /* purchase weight 5 x quantity 2 */
    /* user 1 (13047): 85123A purchase and the latest rating of 22752 */
    assert_true(bu->values[bu->indptr[1] + 1] == 4.0f);
    /* custom event weighs 1 */
    assert_true(bu->values[bu->indptr[2]] == 1.0f);
    assert_true(data_is_explicit(ds));
    const data_csr *bi;
    assert_ok(data_by_item(ds, &bi));
    assert_int_equal(bi->nnz, 5);
    assert_int_equal(bi->indptr[1] - bi->indptr[0], 2); /* 85123A: two users */
    aisle_dataset_free(ds);
}

static void test_event_weights_are_configurable(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    assert_ok(aisle_dataset_set_event_weight(ds, "cart", 10));
    assert_ok(aisle_dataset_set_event_weight(ds, "wishlist", 0.5));
    const data_csr *bu;
    assert_ok(data_by_user(ds, &bu)); /* views rebuilt after the change */
    assert_true(bu->values[0] == 11.0f);
    assert_true(bu->values[bu->indptr[2]] == 0.5f);
    assert_status_msg(aisle_dataset_set_event_weight(ds, "view", NAN), AISLE_EINVAL, "not finite");
    aisle_dataset_free(ds);
}

static void test_sequences_are_time_ordered_per_user(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    const data_seq *s;
    assert_ok(data_sequences(ds, &s));
    assert_int_equal(s->users, 3);
    /* user 0: purchase@90 (71053), view@100, cart@110 (85123A) */
    assert_int_equal(s->indptr[1], 3);
    assert_int_equal(s->items[0], 1);
    assert_int_equal(s->times[0], 90);
    assert_int_equal(s->items[1], 0);
    assert_int_equal(s->types[2], DATA_EVENT_CART);
    /* user 1: 200, 205, 210 */
    assert_int_equal(s->times[3], 200);
    assert_int_equal(s->times[4], 205);
    assert_int_equal(s->times[5], 210);
    aisle_dataset_free(ds);
}

static void test_add_event_rejects_bad_input_without_change(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    assert_status_msg(aisle_dataset_add_event(ds, "", "x", "view", 1, 0), AISLE_EINVAL, "empty user key");
    assert_status_msg(aisle_dataset_add_event(ds, "u", NULL, "view", 1, 0), AISLE_EINVAL, "NULL");
    assert_status_msg(aisle_dataset_add_event(ds, "u", "x", "view", INFINITY, 0), AISLE_EINVAL, "not finite");
    assert_status_msg(aisle_dataset_add_event(NULL, "u", "x", "view", 1, 0), AISLE_EINVAL, NULL);
    size_t n;
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, 3);
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, 7);
    aisle_dataset_free(ds);
    aisle_dataset_free(NULL);
}

static void test_add_event_out_of_memory_rolls_back(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    int done = 0;
    for (uint64_t k = 1; k < 100 && !done; k++) {
        tu_failalloc_install(k, 0);
        int rc = aisle_dataset_add_event(ds, "brand-new-user", "brand-new-item", "brand-new-event", 1, 5);
        const data_csr *bu;
        tu_failalloc_remove();
        if (rc == AISLE_OK) {
            done = 1;
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        size_t n;
        assert_ok(aisle_dataset_user_count(ds, &n));
        assert_int_equal(n, 3);
        assert_ok(aisle_dataset_item_count(ds, &n));
        assert_int_equal(n, 3);
        assert_ok(aisle_dataset_event_count(ds, &n));
        assert_int_equal(n, 7);
        size_t idx;
        assert_int_equal(aisle_dataset_user_index(ds, "brand-new-user", &idx), AISLE_ENOTFOUND);
        assert_ok(data_by_user(ds, &bu));
        assert_int_equal(bu->nnz, 5);
    }
    assert_true(done);
    size_t n;
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, 8);
    aisle_dataset_free(ds);
}

/* ---- model handle + popular ---- */

static void test_popular_ranks_by_distinct_users(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    const char *kind;
    assert_ok(aisle_model_kind(m, &kind));
    assert_string_equal(kind, "popular");
    float scores[3];
    model_query q = {-1, NULL, NULL, 0};
    assert_ok(m->ops->score_items(m, &q, scores));
    /* 85123A: 2 users; 71053: 2 users; 22752: 1 user */
    assert_true(scores[0] == 2.0f && scores[1] == 2.0f && scores[2] == 1.0f);
    size_t n;
    assert_ok(aisle_model_item_count(m, &n));
    assert_int_equal(n, 3);
    assert_ok(aisle_model_item_index(m, "22752", &n));
    assert_int_equal(n, 2);
    const char *key;
    assert_ok(aisle_model_user_key(m, 0, &key));
    assert_string_equal(key, "17850");
    aisle_model_free(m);
    /* weight and half-life */
    assert_ok(aisle_config_parse(cfg, "popular_by=weight half_life=0.0001 weight_scale=linear"));
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_ok(m->ops->score_items(m, &q, scores));
    /* half-life 8.64 s, newest event t=210: 22752's rating (4 at t=210) is
     * undecayed; 85123A = 5 (purchase, t=200) + 4 (view+cart, t=110), each
     * decayed by its age; 71053's events are 120+ s old */
    double hl = 0.0001 * 86400.0;
    assert_float_equal(scores[2], 4.0, 1e-6);
    assert_float_equal(scores[0], 5.0 * exp2(-10.0 / hl) + 4.0 * exp2(-100.0 / hl), 1e-5);
    assert_true(scores[1] < 0.01f);
    aisle_model_free(m);
    /* the default weight_scale=log sums ln(1 + w) per pair */
    assert_ok(aisle_config_unset(cfg, "weight_scale"));
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_ok(m->ops->score_items(m, &q, scores));
    assert_float_equal(scores[2], log1p(4.0), 1e-6);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_blas_threads_option_sets_openblas_only_when_asked(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular"));
    int before = openblas_get_num_threads();
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_model_free(m);
    assert_int_equal(openblas_get_num_threads(), before); /* untouched by default */
    assert_ok(aisle_config_parse(cfg, "blas_threads=1"));
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_model_free(m);
    assert_int_equal(openblas_get_num_threads(), 1);
    openblas_set_num_threads(before);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_user_history_most_recent_first(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    const char *items[4];
    float w[4];
    size_t n;
    assert_ok(aisle_model_user_history(m, "17850", 0, NULL, NULL, &n)); /* sizing */
    assert_int_equal(n, 2);
    assert_ok(aisle_model_user_history(m, "17850", 4, items, w, &n));
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "85123A"); /* last touched at 110 */
    assert_true(w[0] == 4.0f);               /* view 1 + cart 3 */
    assert_string_equal(items[1], "71053");  /* purchase at 90 */
    assert_true(w[1] == 10.0f);
    assert_ok(aisle_model_user_history(m, "17850", 1, items, NULL, &n));
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "85123A");
    assert_status_msg(aisle_model_user_history(m, "nobody", 4, items, w, &n), AISLE_ENOTFOUND, "nobody");
    assert_status_msg(aisle_model_user_history(m, "17850", 4, NULL, NULL, &n), AISLE_EINVAL, "no output");
    assert_status_msg(aisle_model_user_history(NULL, "17850", 4, items, w, &n), AISLE_EINVAL, NULL);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_model_describe_and_metrics(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular seed=3"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg); /* the model keeps its own copy */
    assert_ok(aisle_model_set_metric(m, "ndcg@10", 0.25));
    double v;
    assert_ok(aisle_model_get_metric(m, "ndcg@10", &v));
    assert_true(v == 0.25);
    assert_status_msg(aisle_model_get_metric(m, "rmse", &v), AISLE_ENOTFOUND, "rmse");
    assert_status_msg(aisle_model_set_metric(m, "a-name-that-is-much-longer-than-31-bytes", 1), AISLE_EINVAL,
                      "longer");
    char buf[1024];
    size_t need;
    assert_ok(aisle_model_describe(m, buf, sizeof buf, &need));
    assert_int_equal(need, strlen(buf));
    assert_non_null(strstr(buf, "kind: popular"));
    assert_non_null(strstr(buf, "users: 3"));
    assert_non_null(strstr(buf, "options: model=popular seed=3"));
    assert_non_null(strstr(buf, "metric.ndcg@10: 0.25"));
    assert_non_null(strstr(buf, "writer_version: " AISLE_VERSION_STRING));
    char tiny[8];
    assert_int_equal(aisle_model_describe(m, tiny, sizeof tiny, NULL), AISLE_ERANGE);
    aisle_model_free(m);
    aisle_model_free(NULL);
    aisle_dataset_free(ds);
}

static void test_train_rejects_unknown_kind_and_empty_data(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_string(cfg, "model", "popular"));
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_EINVAL, "empty dataset");
    assert_null(m);
    assert_ok(aisle_dataset_add_event(ds, "u", "i", NULL, 1, 0));
    assert_ok(aisle_config_set_string(cfg, "model", "deep-magic"));
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ENOTFOUND, "known: popular");
    assert_status_msg(aisle_model_train(NULL, cfg, &m), AISLE_EINVAL, NULL);
    assert_true(aisle_model_kind_count() >= 1);
    const char *name, *summary;
    assert_ok(aisle_model_kind_info(0, &name, &summary));
    assert_true(strlen(name) > 0 && strlen(summary) > 0);
    assert_int_equal(aisle_model_kind_info(aisle_model_kind_count(), &name, NULL), AISLE_ERANGE);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static int cancel_at_first(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)step, (void)steps, (void)loss, (void)metric, (void)elapsed;
    ++*(int *)user;
    return 1;
}

static void test_training_can_be_cancelled(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_string(cfg, "model", "popular"));
    int calls = 0;
    assert_ok(aisle_config_set_progress(cfg, cancel_at_first, &calls));
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ECANCELLED, "cancelled");
    assert_null(m);
    assert_int_equal(calls, 1);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_train_out_of_memory_is_clean(void **state) {
    (void)state;
    aisle_dataset *ds = small_shop();
    const data_csr *bu;
    assert_ok(data_by_user(ds, &bu)); /* views built outside the loop */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_string(cfg, "model", "popular"));
    int done = 0;
    for (uint64_t k = 1; k < 500 && !done; k++) {
        tu_failalloc_install(k, 0);
        aisle_model *m = NULL;
        int rc = aisle_model_train(ds, cfg, &m);
        aisle_model_free(m);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (rc == AISLE_OK) done = 1;
        else assert_int_equal(rc, AISLE_ENOMEM);
        assert_int_equal(live, 0);
    }
    assert_true(done);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_map_to_dense_indices_both_ways),
        cmocka_unit_test(test_duplicate_pairs_aggregate_weights_and_latest_time),
        cmocka_unit_test(test_event_weights_are_configurable),
        cmocka_unit_test(test_sequences_are_time_ordered_per_user),
        cmocka_unit_test(test_add_event_rejects_bad_input_without_change),
        cmocka_unit_test(test_add_event_out_of_memory_rolls_back),
        cmocka_unit_test(test_popular_ranks_by_distinct_users),
        cmocka_unit_test(test_blas_threads_option_sets_openblas_only_when_asked),
        cmocka_unit_test(test_user_history_most_recent_first),
        cmocka_unit_test(test_model_describe_and_metrics),
        cmocka_unit_test(test_train_rejects_unknown_kind_and_empty_data),
        cmocka_unit_test(test_training_can_be_cancelled),
        cmocka_unit_test(test_train_out_of_memory_is_clean),
    };
    return cmocka_run_group_tests_name("dataset_core", tests, NULL, NULL);
}
