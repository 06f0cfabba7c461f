/* test_serve.c - the serving layer: recommend with every filter, unknown
 * users, anonymous visitors (fold-in), user updates, similar items, score,
 * explain, batch, unsupported operations and allocation failures. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

/* Users u0..u5, items i0..i7; two taste groups (i0-i3 and i4-i7). */
static aisle_dataset *shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    static const int ev[][3] = {{0, 0, 2}, {0, 1, 1}, {0, 2, 1}, {1, 0, 1}, {1, 1, 3}, {1, 3, 1}, {2, 1, 1},
                                {2, 2, 2}, {2, 3, 1}, {3, 4, 2}, {3, 5, 1}, {3, 6, 1}, {4, 5, 1}, {4, 6, 2},
                                {4, 7, 1}, {5, 4, 1}, {5, 7, 3}, {5, 0, 1}};
    char u[16], i[16];
    for (size_t k = 0; k < sizeof ev / sizeof ev[0]; k++) {
        snprintf(u, sizeof u, "u%d", ev[k][0]);
        snprintf(i, sizeof i, "i%d", ev[k][1]);
        assert_ok(aisle_dataset_add_event(ds, u, i, "view", ev[k][2], 0));
    }
    return ds;
}

static int has(const char **items, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], key) == 0) return 1;
    return 0;
}

static const char *kinds[] = {"model=popular", "model=als factors=4 epochs=10 threads=1",
                              "model=mf factors=4 epochs=10 threads=1",
                              "model=bpr factors=4 epochs=20 threads=1", "model=itemknn"};

static void test_recommend_excludes_seen_and_orders_best_first(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    for (size_t k = 0; k < CORE_ARRAY_LEN(kinds); k++) {
        aisle_model *m = tu_train(ds, kinds[k]);
        const char *items[8];
        float scores[8];
        size_t n;
        assert_ok(aisle_recommend(m, "u0", 8, NULL, items, scores, &n));
        assert_int_equal(n, 5); /* 8 items, 3 seen */
        assert_false(has(items, n, "i0") || has(items, n, "i1") || has(items, n, "i2"));
        for (size_t i = 1; i < n; i++) assert_true(scores[i - 1] >= scores[i]);
        aisle_rec_options *o;
        assert_ok(aisle_rec_options_new(&o));
        assert_ok(aisle_rec_options_set(o, "exclude_seen", "false"));
        assert_ok(aisle_recommend(m, "u0", 100, o, items, scores, &n));
        assert_int_equal(n, 8);
        aisle_rec_options_free(o);
        aisle_model_free(m);
    }
    aisle_dataset_free(ds);
}

static void test_ties_break_by_lower_item_index(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    const char *items[] = {"c", "a", "d", "b"};
    for (int i = 0; i < 4; i++) assert_ok(aisle_dataset_add_event(ds, "u", items[i], "view", 1, 0));
    assert_ok(aisle_dataset_add_event(ds, "v", "d", "view", 1, 0));
    aisle_model *m = tu_train(ds, "model=popular");
    const char *out[4];
    size_t n;
    assert_ok(aisle_recommend(m, "nobody", 4, NULL, out, NULL, &n));
    assert_int_equal(n, 4);
    assert_string_equal(out[0], "d"); /* 2 users */
    assert_string_equal(out[1], "c"); /* then first-seen order = index order */
    assert_string_equal(out[2], "a");
    assert_string_equal(out[3], "b");
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static int drop_i5(void *user, const char *key, size_t index) {
    (*(int *)user)++;
    (void)index;
    return strcmp(key, "i5") != 0;
}

static void test_allow_deny_and_filter_callback(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=4 epochs=10 threads=1");
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    const char *allow[] = {"i3", "i5", "i6", "no-such-item", "i0"};
    assert_ok(aisle_rec_options_allow(o, allow, 5));
    const char *items[8];
    size_t n;
    assert_ok(aisle_recommend(m, "u0", 8, o, items, NULL, &n));
    assert_int_equal(n, 3); /* i0 is seen */
    assert_true(has(items, n, "i3") && has(items, n, "i5") && has(items, n, "i6"));
    const char *deny[] = {"i6"};
    assert_ok(aisle_rec_options_deny(o, deny, 1));
    int calls = 0;
    assert_ok(aisle_rec_options_set_filter(o, drop_i5, &calls));
    assert_ok(aisle_recommend(m, "u0", 8, o, items, NULL, &n));
    assert_int_equal(n, 1);
    assert_string_equal(items[0], "i3");
    assert_true(calls >= 2);
    /* clearing the allow-list restores every candidate */
    assert_ok(aisle_rec_options_allow(o, NULL, 0));
    assert_ok(aisle_recommend(m, "u0", 8, o, items, NULL, &n));
    assert_int_equal(n, 3); /* 8 - 3 seen - i5 - i6 */
    assert_status_msg(aisle_rec_options_set(o, "factors", "3"), AISLE_ENOTFOUND, "not a serving option");
    assert_status_msg(aisle_rec_options_set(o, "unknown_user", "maybe"), AISLE_EINVAL, "unknown_user");
    aisle_rec_options_free(o);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_unknown_user_falls_back_or_fails(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=4 epochs=5 threads=1");
    const char *items[3];
    float scores[3];
    size_t n;
    assert_ok(aisle_recommend(m, "stranger", 3, NULL, items, scores, &n));
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "i0"); /* 3 users, the lowest index among them */
    assert_float_equal(scores[0], 3, 0);
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "unknown_user", "error"));
    assert_status_msg(aisle_recommend(m, "stranger", 3, o, items, scores, &n), AISLE_ENOTFOUND, "stranger");
    aisle_rec_options_free(o);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_fold_in_matches_trained_user_for_als(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=100 solver=cholesky threads=1");
    const char *hist[] = {"i0", "i1", "i2", "unknown-item"};
    const float w[] = {2, 1, 1, 5};
    const char *a[8], *b[8];
    float sa[8], sb[8];
    size_t na, nb;
    assert_ok(aisle_recommend(m, "u0", 8, NULL, a, sa, &na));
    assert_ok(aisle_recommend_for_items(m, hist, w, 4, 8, NULL, b, sb, &nb));
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i], b[i]);
        assert_float_equal(sa[i], sb[i], 1e-3);
    }
    /* nothing known: popularity */
    const char *unk[] = {"x", "y"};
    assert_ok(aisle_recommend_for_items(m, unk, NULL, 2, 1, NULL, b, sb, &nb));
    assert_int_equal(nb, 1);
    assert_string_equal(b[0], "i0");
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_update_user_adds_history_and_refits(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=20 threads=1");
    const char *items[8];
    size_t n;
    const char *add[] = {"i3", "i0", "nope"};
    const float w[] = {4, 1, 1};
    size_t nnz = model_history_nnz(m);
    assert_ok(aisle_update_user(m, "u0", add, w, 3));
    assert_int_equal(model_history_nnz(m), nnz + 1); /* i3 new, i0 added to */
    assert_ok(aisle_recommend(m, "u0", 8, NULL, items, NULL, &n));
    assert_int_equal(n, 4);
    assert_false(has(items, n, "i3"));
    size_t u;
    assert_ok(aisle_model_user_index(m, "u0", &u));
    assert_float_equal(model_history_row(m, (uint32_t)u).values[0], 3, 0); /* i0: 2 + 1 */
    /* the user's vector is the closed-form fold-in of the new history */
    const model_factors *f = m->state;
    float x[3];
    model_query q;
    model_user_query(m, (uint32_t)u, &q);
    assert_ok(model_factors_fold_in(f, q.items, q.weights, q.n_items, x, -1, NULL));
    assert_memory_equal(x, f->user + u * 3, sizeof x);
    /* other users' rows intact */
    size_t u5;
    assert_ok(aisle_model_user_index(m, "u5", &u5));
    assert_int_equal(model_history_row(m, (uint32_t)u5).n, 3);
    assert_status_msg(aisle_update_user(m, "ghost", add, w, 1), AISLE_ENOTFOUND, "ghost");
    /* popular records the events (seen set) and keeps its trained ranking */
    aisle_model *p = tu_train(ds, "model=popular");
    const char *rank_before[5], *rank_after[5];
    size_t nb, na;
    assert_ok(aisle_recommend(p, "u1", 5, NULL, rank_before, NULL, &nb));
    assert_ok(aisle_update_user(p, "u0", add, w, 1));
    assert_ok(aisle_recommend(p, "u1", 5, NULL, rank_after, NULL, &na));
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) assert_string_equal(rank_before[i], rank_after[i]);
    size_t u0;
    assert_ok(aisle_model_user_index(p, "u0", &u0));
    int64_t j = keys_find(&p->items, add[0], strlen(add[0]));
    bool seen = false;
    model_row r0 = model_history_row(p, (uint32_t)u0);
    for (size_t k = 0; k < r0.n; k++) seen |= r0.items[k] == j;
    assert_true(seen);
    aisle_model_free(p);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_similar_items_and_score(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=20 threads=1");
    const char *items[7];
    float s[7];
    size_t n;
    assert_ok(aisle_similar_items(m, "i4", 7, NULL, items, s, &n));
    assert_int_equal(n, 7);
    assert_false(has(items, n, "i4"));
    for (size_t i = 0; i < n; i++) assert_true(s[i] <= 1.0001f && s[i] >= -1.0001f);
    assert_status_msg(aisle_similar_items(m, "zzz", 3, NULL, items, s, &n), AISLE_ENOTFOUND, "zzz");
    float sc, best;
    const char *top[1];
    assert_ok(aisle_recommend(m, "u3", 1, NULL, top, &best, &n));
    assert_ok(aisle_score(m, "u3", top[0], &sc));
    assert_float_equal(sc, best, 1e-5);
    assert_status_msg(aisle_score(m, "u3", "zzz", &sc), AISLE_ENOTFOUND, "zzz");
    aisle_model *p = tu_train(ds, "model=popular");
    assert_status_msg(aisle_similar_items(p, "i4", 3, NULL, items, s, &n), AISLE_EUNSUPPORTED, "'popular'");
    aisle_model_free(p);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_explain_shares_reconstruct_the_score(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    /* converged Cholesky ALS: the trained user vector is the HKV solve, so
     * the contributions add up to the score exactly */
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=200 solver=cholesky threads=1");
    size_t u;
    assert_ok(aisle_model_user_index(m, "u1", &u));
    model_query q;
    model_user_query(m, (uint32_t)u, &q);
    float c[8], score;
    assert_ok(m->ops->explain(m, &q, 2, c));
    double sum = 0, abs_sum = 0;
    for (size_t i = 0; i < q.n_items; i++) sum += c[i], abs_sum += fabs(c[i]);
    assert_ok(aisle_score(m, "u1", "i2", &score));
    assert_float_equal(sum, score, 1e-3);
    const char *items[8];
    float shares[8];
    size_t n;
    assert_ok(aisle_explain(m, "u1", "i2", 8, items, shares, &n));
    assert_int_equal(n, q.n_items);
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        tot += fabs(shares[i]);
        if (i) assert_true(fabsf(shares[i - 1]) >= fabsf(shares[i]));
    }
    assert_float_equal(tot, 1.0, 1e-5);
    assert_ok(aisle_explain(m, "u1", "i2", 1, items, shares, &n));
    assert_int_equal(n, 1);
    aisle_model *p = tu_train(ds, "model=popular");
    assert_status_msg(aisle_explain(p, "u1", "i2", 3, items, shares, &n), AISLE_EUNSUPPORTED, "popular");
    aisle_model_free(p);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_batch_equals_single_calls(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    const char *users[] = {"u0", "u1", "stranger", "u2", "u3", "u4", "u5"};
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "threads", "2"));
    for (size_t k = 0; k < CORE_ARRAY_LEN(kinds); k++) {
        aisle_model *m = tu_train(ds, kinds[k]);
        const char *bi[7 * 3];
        float bs[7 * 3];
        size_t bn[7];
        assert_ok(aisle_recommend_batch(m, users, 7, 3, o, bi, bs, bn));
        for (size_t u = 0; u < 7; u++) {
            const char *items[3];
            float s[3];
            size_t n;
            assert_ok(aisle_recommend(m, users[u], 3, NULL, items, s, &n));
            assert_int_equal(bn[u], n);
            for (size_t i = 0; i < n; i++) assert_float_equal(bs[u * 3 + i], s[i], 1e-4);
        }
        aisle_model_free(m);
    }
    assert_ok(aisle_rec_options_set(o, "unknown_user", "error"));
    aisle_model *m = tu_train(ds, "model=popular");
    size_t bn[7];
    assert_status_msg(aisle_recommend_batch(m, users, 7, 3, o, NULL, NULL, bn), AISLE_ENOTFOUND, "stranger");
    aisle_model_free(m);
    aisle_rec_options_free(o);
    aisle_dataset_free(ds);
}

static void test_recommend_survives_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=5 threads=1");
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    const char *deny[] = {"i4"};
    assert_ok(aisle_rec_options_deny(o, deny, 1));
    const char *items[4];
    size_t n;
    const char *hist[] = {"i1"};
    int ok = 0;
    for (uint64_t at = 1; at < 100 && !ok; at++) {
        tu_failalloc_install(at, 1);
        int rc = aisle_recommend(m, "u0", 4, o, items, NULL, &n);
        int rc2 = aisle_recommend_for_items(m, hist, NULL, 1, 4, o, items, NULL, &n);
        int rc3 = aisle_update_user(m, "u1", hist, NULL, 1);
        tu_failalloc_remove();
        assert_true(rc == AISLE_OK || rc == AISLE_ENOMEM);
        assert_true(rc2 == AISLE_OK || rc2 == AISLE_ENOMEM);
        assert_true(rc3 == AISLE_OK || rc3 == AISLE_ENOMEM);
        ok = rc == AISLE_OK && rc2 == AISLE_OK && rc3 == AISLE_OK;
    }
    assert_true(ok);
    aisle_rec_options_free(o);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static float popularity_of(const aisle_model *m, const char *item) {
    int64_t j = keys_find(&m->items, item, strlen(item));
    assert_true(j >= 0);
    return m->popularity[j];
}

/* A return (negative weight) that cancels a purchase takes the pair out
 * of the history, as training drops pairs netting <= 0: no longer seen
 * (recommendable again) nor counted in popularity; a new pair netting
 * <= 0 never enters. */
static void test_update_user_return_leaves_seen_set_and_popularity(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=4 epochs=10 threads=1");
    float pop_i0 = popularity_of(m, "i0"), pop_i5 = popularity_of(m, "i5");
    size_t nnz = model_history_nnz(m);
    const char *ret[] = {"i0", "i5"};
    float w[] = {-2, -1}; /* u0 had i0 with weight 2; i5 is new */
    assert_ok(aisle_update_user(m, "u0", ret, w, 2));
    assert_int_equal(model_history_nnz(m), nnz - 1);
    assert_float_equal(popularity_of(m, "i0"), pop_i0 - 1, 0);
    assert_float_equal(popularity_of(m, "i5"), pop_i5, 0);
    const char *items[8];
    size_t n;
    assert_ok(aisle_recommend(m, "u0", 8, NULL, items, NULL, &n));
    assert_int_equal(n, 6); /* 8 items, 2 still seen (i1, i2) */
    assert_true(has(items, n, "i0"));
    /* a partial return keeps the pair */
    const char *part[] = {"i1"};
    float half[] = {-0.5f};
    assert_ok(aisle_update_user(m, "u0", part, half, 1));
    assert_int_equal(model_history_nnz(m), nnz - 1);
    assert_ok(aisle_recommend(m, "u0", 8, NULL, items, NULL, &n));
    assert_false(has(items, n, "i1"));
    /* buying it again brings the pair back */
    const char *again[] = {"i0"};
    assert_ok(aisle_update_user(m, "u0", again, NULL, 1));
    assert_int_equal(model_history_nnz(m), nnz);
    assert_float_equal(popularity_of(m, "i0"), pop_i0, 0);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

typedef struct reader {
    const aisle_model *m;
    int ok;
} reader;

static void *read_many(void *arg) {
    reader *r = arg;
    r->ok = 1;
    for (int rep = 0; rep < 200 && r->ok; rep++) {
        const char *users[] = {"u0", "u3", "u5"};
        const char *a[4];
        float s[4];
        size_t n;
        const char *hist[] = {"i4", "i7"};
        if (aisle_recommend(r->m, users[rep % 3], 4, NULL, a, s, &n) || n != 4) r->ok = 0;
        if (aisle_recommend_for_items(r->m, hist, NULL, 2, 4, NULL, a, s, &n) || n != 4) r->ok = 0;
        if (aisle_explain(r->m, "u1", "i2", 4, a, s, &n)) r->ok = 0;
        if (aisle_similar_items(r->m, "i1", 3, NULL, a, s, &n) || n != 3) r->ok = 0;
    }
    return NULL;
}

/* Trained models are read-only in serving: many threads at once (run under
 * `make check-tsan` for races). */
static void test_concurrent_readers(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=5 threads=1");
    pthread_t t[4];
    reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i].m = m;
        assert_int_equal(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(r[i].ok);
    }
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recommend_excludes_seen_and_orders_best_first),
        cmocka_unit_test(test_ties_break_by_lower_item_index),
        cmocka_unit_test(test_allow_deny_and_filter_callback),
        cmocka_unit_test(test_unknown_user_falls_back_or_fails),
        cmocka_unit_test(test_fold_in_matches_trained_user_for_als),
        cmocka_unit_test(test_update_user_adds_history_and_refits),
        cmocka_unit_test(test_update_user_return_leaves_seen_set_and_popularity),
        cmocka_unit_test(test_similar_items_and_score),
        cmocka_unit_test(test_explain_shares_reconstruct_the_score),
        cmocka_unit_test(test_batch_equals_single_calls),
        cmocka_unit_test(test_recommend_survives_allocation_failures),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
