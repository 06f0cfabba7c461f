/* test_server_grow.c - users and items added while serving
 * (aisle_server_add_user, aisle_server_add_item; src/serve/grow.c): what
 * each kind does with them, the factor rows, Gram matrix and int8 index
 * they change, replay across a swap, misuse and allocation failures.  The
 * concurrent run with readers is test_server.c's stress test. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/server_util.h"
#include "util/test_util.h"

enum { DIM = 8 };

static const float *item_row(const aisle_model *m, const char *item) {
    const model_factors *f = m->state;
    int64_t j = keys_find(&m->items, item, strlen(item));
    assert_true(j >= 0);
    return f->item + (size_t)j * f->dim;
}

static const float *user_row(const aisle_model *m, const char *user) {
    const model_factors *f = m->state;
    int64_t u = keys_find(&m->users, user, strlen(user));
    assert_true(u >= 0);
    return f->user + (size_t)u * f->dim;
}

static void test_added_item_and_user_are_served_like_trained_ones(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    float v[DIM];
    memcpy(v, item_row(m, "p5"), sizeof v);
    assert_ok(aisle_server_add_item(s, "fresh", v, DIM));
    const char *events[] = {"p5", "fresh", "p9"};
    assert_ok(aisle_server_add_user(s, "newbie", events, NULL, 3));
    const char *more[] = {"fresh"};
    assert_ok(aisle_server_add_user(s, "u3", more, NULL, 1)); /* a known user: an update */

    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(a->items.n, TU_SHOP_ITEMS + 1);
    assert_int_equal(a->users.n, TU_SHOP_USERS + 1);
    assert_true(tu_has_pair(a, "newbie", "p5") && tu_has_pair(a, "newbie", "fresh") && tu_has_pair(a, "u3", "fresh"));
    /* the item scores as the item whose vector it copied, for every user */
    float x, y;
    assert_ok(aisle_score(a, "u1", "fresh", &x));
    assert_ok(aisle_score(a, "u1", "p5", &y));
    assert_true(x == y);
    const char *sim[3];
    size_t n;
    assert_ok(aisle_similar_items(a, "fresh", 3, NULL, sim, NULL, &n));
    assert_true(n >= 1 && strcmp(sim[0], "p5") == 0);
    /* the Gram matrix fold-in uses is Q^T Q over every item, the new one too */
    const model_factors *f = a->state;
    float *gram = malloc(DIM * DIM * sizeof *gram);
    assert_non_null(gram);
    model_factors_gram(f->item, a->items.n, DIM, gram);
    for (int k = 0; k < DIM * DIM; k++) assert_float_equal(f->gram[k], gram[k], 1e-3 * (1 + fabsf(gram[k])));
    free(gram);
    /* the new user's vector is the fold-in of its events */
    float fold[DIM];
    model_query q;
    model_user_query(a, (uint32_t)keys_find(&a->users, "newbie", 6), &q);
    assert_int_equal(q.n_items, 3);
    assert_ok(model_factors_fold_in(f, q.items, q.weights, q.n_items, fold, -1, NULL));
    assert_memory_equal(fold, user_row(a, "newbie"), sizeof fold);
    const char *recs[10];
    assert_ok(aisle_recommend(a, "newbie", 10, NULL, recs, NULL, &n));
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) assert_true(strcmp(recs[i], "fresh") && strcmp(recs[i], "p5")); /* seen */
    assert_ok(aisle_server_release(s, a));
    aisle_server_free(s);
    aisle_dataset_free(ds);
}

static void test_added_items_and_users_are_replayed_across_a_swap(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    float v[DIM];
    for (int k = 0; k < DIM; k++) v[k] = 0.1f * (float)(k + 1);
    assert_ok(aisle_server_add_item(s, "fresh", v, DIM));
    const char *events[] = {"fresh", "p2"};
    float w[] = {2.0f, 1.0f};
    assert_ok(aisle_server_add_user(s, "newbie", events, w, 2));
    size_t replayed = 0;
    assert_ok(aisle_server_swap(s, tu_model_copy(buf, len), 0, &replayed));
    assert_int_equal(replayed, 2); /* in the order made: the item exists when the user's event names it */
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_memory_equal(item_row(a, "fresh"), v, sizeof v);
    assert_true(tu_has_pair(a, "newbie", "fresh") && tu_has_pair(a, "newbie", "p2"));
    assert_ok(aisle_server_release(s, a));

    /* a model trained after the item was listed keeps its trained vector;
     * the user's events are still replayed onto it */
    assert_ok(aisle_dataset_add_event(ds, "u1", "fresh", "view", 1, 0));
    aisle_model *retrained = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    float trained[DIM];
    memcpy(trained, item_row(retrained, "fresh"), sizeof trained);
    assert_ok(aisle_server_swap(s, retrained, 0, &replayed));
    assert_int_equal(replayed, 1);
    assert_ok(aisle_server_acquire(s, &a));
    assert_memory_equal(item_row(a, "fresh"), trained, sizeof trained);
    assert_true(tu_has_pair(a, "newbie", "fresh"));
    assert_ok(aisle_server_release(s, a));
    /* a model that already holds everything: the journal forgets it */
    assert_ok(aisle_server_swap(s, tu_model_copy(buf, len), INT64_MAX, &replayed));
    assert_int_equal(replayed, 0);
    assert_ok(aisle_server_swap(s, tu_model_copy(buf, len), 0, &replayed));
    assert_int_equal(replayed, 0);
    assert_ok(aisle_server_acquire(s, &a));
    assert_true(keys_find(&a->items, "fresh", 5) < 0 && keys_find(&a->users, "newbie", 6) < 0);
    assert_ok(aisle_server_release(s, a));
    aisle_server_free(s);
    aisle_free(buf);
    aisle_dataset_free(ds);
}

static void test_add_misuse_changes_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_server *s;
    assert_ok(aisle_server_new(&s, tu_train(ds, "model=als factors=8 epochs=1 threads=1")));
    float v[DIM] = {0};
    const char *ev[] = {"p1"};
    assert_status_msg(aisle_server_add_item(s, "p1", v, DIM), AISLE_EINVAL, "already");
    assert_status_msg(aisle_server_add_item(s, "short", v, DIM - 1), AISLE_EINVAL, "8 factors");
    assert_status_msg(aisle_server_add_item(s, "none", NULL, 0), AISLE_EINVAL, "8 factors");
    v[3] = NAN;
    assert_status_msg(aisle_server_add_item(s, "nan", v, DIM), AISLE_EINVAL, "finite");
    assert_status_msg(aisle_server_add_item(s, "", v, DIM), AISLE_EINVAL, "non-empty");
    assert_status_msg(aisle_server_add_item(NULL, "x", v, DIM), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_server_add_item(s, "x", NULL, DIM), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_server_add_user(s, "", ev, NULL, 1), AISLE_EINVAL, "non-empty");
    assert_status_msg(aisle_server_add_user(s, "x", NULL, NULL, 1), AISLE_EINVAL, NULL);
    float bad = NAN;
    assert_status_msg(aisle_server_add_user(s, "x", ev, &bad, 1), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_server_update_user(s, "ghost", ev, NULL, 1), AISLE_ENOTFOUND, "ghost");
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(a->items.n, TU_SHOP_ITEMS);
    assert_int_equal(a->users.n, TU_SHOP_USERS);
    assert_true(keys_find(&a->users, "x", 1) < 0);
    assert_ok(aisle_server_release(s, a));
    size_t replayed = 1;
    void *buf;
    size_t len;
    assert_ok(aisle_server_acquire(s, &a));
    assert_ok(aisle_model_save_buffer(a, NULL, &buf, &len));
    assert_ok(aisle_server_release(s, a));
    assert_ok(aisle_server_swap(s, tu_model_copy(buf, len), 0, &replayed));
    assert_int_equal(replayed, 0); /* refused changes are not journaled */
    aisle_free(buf);
    aisle_server_free(s);
    aisle_dataset_free(ds);
}

typedef struct kind_case {
    const char *options;
    int user_rc, item_rc; /* expected */
    bool vector;          /* items take a vector of DIM factors */
} kind_case;

static void test_each_kind_adds_what_it_can(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    const kind_case cases[] = {
        {"model=popular", AISLE_OK, AISLE_OK, false},
        {"model=itemknn", AISLE_OK, AISLE_OK, false},
        {"model=bpr factors=8 epochs=2 threads=1", AISLE_OK, AISLE_OK, true},
        {"model=mf factors=8 epochs=2 threads=1", AISLE_OK, AISLE_EUNSUPPORTED, true},
        {"model=sasrec hidden=8 maxlen=4 blocks=1 heads=1 epochs=1 batch_size=8 threads=1", AISLE_EUNSUPPORTED,
         AISLE_EUNSUPPORTED, false},
    };
    float v[DIM];
    for (int k = 0; k < DIM; k++) v[k] = 0.05f * (float)k;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const kind_case *kc = &cases[c];
        aisle_model *m = tu_train(ds, kc->options);
        const char *kind = m->ops->name;
        aisle_server *s;
        assert_ok(aisle_server_new(&s, m));
        if (!kc->vector && kc->item_rc == AISLE_OK)
            assert_status_msg(aisle_server_add_item(s, "fresh", v, DIM), AISLE_EINVAL, "no vector");
        int rc = aisle_server_add_item(s, "fresh", kc->vector ? v : NULL, kc->vector ? DIM : 0);
        if (rc != kc->item_rc) fail_msg("%s: add_item -> %d: %s", kind, rc, aisle_last_error());
        if (rc) assert_non_null(strstr(aisle_last_error(), kind));
        const char *ev[] = {"p1", "p2", "fresh"};
        rc = aisle_server_add_user(s, "newbie", ev, NULL, 3);
        if (rc != kc->user_rc) fail_msg("%s: add_user -> %d: %s", kind, rc, aisle_last_error());
        if (rc) assert_non_null(strstr(aisle_last_error(), kind));
        const aisle_model *a;
        assert_ok(aisle_server_acquire(s, &a));
        if (!rc) {
            assert_true(tu_has_pair(a, "newbie", "p1") && tu_has_pair(a, "newbie", "p2"));
            assert_true(tu_has_pair(a, "newbie", "fresh") == (kc->item_rc == AISLE_OK));
            const char *recs[10];
            size_t n = 0;
            assert_ok(aisle_recommend(a, "newbie", 10, NULL, recs, NULL, &n));
            assert_true(n > 0);
            for (size_t i = 0; i < n; i++) assert_true(strcmp(recs[i], "p1") && strcmp(recs[i], "p2")); /* seen */
            /* a grown model saves and loads like a trained one */
            void *buf;
            size_t len;
            assert_ok(aisle_model_save_buffer(a, NULL, &buf, &len));
            aisle_model *back = tu_model_copy(buf, len);
            assert_true(tu_has_pair(back, "newbie", "p1"));
            assert_int_equal(back->items.n, a->items.n);
            const char *again[10];
            size_t n2 = 0;
            assert_ok(aisle_recommend(back, "newbie", 10, NULL, again, NULL, &n2));
            assert_int_equal(n2, n);
            for (size_t i = 0; i < n; i++) assert_string_equal(again[i], recs[i]);
            aisle_model_free(back);
            aisle_free(buf);
        } else {
            assert_true(keys_find(&a->users, "newbie", 6) < 0);
        }
        assert_ok(aisle_server_release(s, a));
        aisle_server_free(s);
    }
    aisle_dataset_free(ds);
}

/* The int8 scan's index gets the item appended: the int8 and fp32 scans
 * still give the same list, led by the new item made to win. */
static void test_added_item_joins_the_int8_index(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    aisle_rec_options *o8, *o32;
    assert_ok(aisle_rec_options_new(&o8));
    assert_ok(aisle_rec_options_set(o8, "scan", "int8"));
    assert_ok(aisle_rec_options_new(&o32));
    assert_ok(aisle_rec_options_set(o32, "scan", "fp32"));
    const char *before[10];
    size_t n;
    assert_ok(aisle_recommend(m, "u1", 10, o8, before, NULL, &n)); /* builds the index */
    assert_non_null(atomic_load(&m->serve_cache));
    float v[DIM];
    const float *u = user_row(m, "u1");
    for (int k = 0; k < DIM; k++) v[k] = 4.0f * u[k]; /* far above every item for u1 */
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    assert_ok(aisle_server_add_item(s, "star", v, DIM));
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    const char *i8[10], *f32[10];
    float s8[10], s32[10];
    size_t n8, n32;
    assert_ok(aisle_recommend(a, "u1", 10, o8, i8, s8, &n8));
    assert_ok(aisle_recommend(a, "u1", 10, o32, f32, s32, &n32));
    assert_int_equal(n8, n32);
    assert_string_equal(i8[0], "star");
    for (size_t i = 0; i < n8; i++) {
        assert_string_equal(i8[i], f32[i]);
        assert_true(s8[i] == s32[i]);
    }
    assert_ok(aisle_server_release(s, a));
    aisle_server_free(s);
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    aisle_dataset_free(ds);
}

/* Items added one by one are appended to the int8 index in place
 * (model_int8_append), whether the index was built on first use, stored
 * in the file (store_int8) or stored and mapped: the index is never
 * rebuilt, covers every item, and the int8 scan still returns exactly the
 * fp32 scan's lists for every user -- with rows that tie trained ones, a
 * zero row, rows of one large and many small values (large quantization
 * error per scale) and random rows. */
static void test_items_appended_to_the_int8_index_keep_the_scan_exact(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    aisle_model *m = tu_train(ds, "model=als factors=8 epochs=3 threads=1");
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "grow_int8");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    assert_ok(tu_model_save_opts(m, path, "compression=0 store_int8=true"));
    aisle_rec_options *o8, *o32;
    assert_ok(aisle_rec_options_new(&o8));
    assert_ok(aisle_rec_options_set(o8, "scan", "int8"));
    assert_ok(aisle_rec_options_new(&o32));
    assert_ok(aisle_rec_options_set(o32, "scan", "fp32"));
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    for (int variant = 0; variant < 3; variant++) {
        aisle_model *v = NULL;
        if (variant == 0) assert_ok(aisle_model_load(&v, path, NULL)); /* stored, in memory */
        if (variant == 1) assert_ok(tu_model_load_opts(&v, path, "mmap=true")); /* stored, mapped */
        if (variant == 2) { /* built on first use */
            assert_ok(tu_model_load_opts(&v, path, "mmap=false"));
            model_factors *f = v->state;
            model_int8_free(f->int8);
            f->int8 = NULL;
            assert_ok(aisle_model_prepare(v));
        }
        model_cache *cache = atomic_load(&v->serve_cache);
        assert_true((variant == 2) == (cache != NULL));
        aisle_server *s;
        assert_ok(aisle_server_new(&s, v));
        for (int added = 0; added < 120; added++) {
            const aisle_model *a;
            assert_ok(aisle_server_acquire(s, &a));
            const model_factors *f = a->state;
            float row[DIM];
            const float *twin = f->item + (size_t)(added * 7 % TU_SHOP_ITEMS) * DIM;
            for (int k = 0; k < DIM; k++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                float r = (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5);
                switch (added % 4) {
                case 0: row[k] = twin[k]; break;                        /* ties a trained item */
                case 1: row[k] = added == 1 ? 0.0f : 2 * r; break;      /* one zero row, then random */
                case 2: row[k] = k == added % DIM ? 40 * r : r / 100; break; /* one large value */
                default: row[k] = r * twin[k] * 8; break;
                }
            }
            assert_ok(aisle_server_release(s, a));
            char key[32];
            snprintf(key, sizeof key, "new%d", added);
            assert_ok(aisle_server_add_item(s, key, row, DIM));
            if (added % 30 != 29) continue;
            assert_ok(aisle_server_acquire(s, &a));
            f = a->state;
            if (variant < 2) assert_true(f->int8 && f->int8->n == a->items.n); /* appended, not dropped */
            else assert_ptr_equal(atomic_load(&((aisle_model *)a)->serve_cache), cache); /* never rebuilt */
            for (uint32_t u = 0; u < a->users.n; u++) {
                const char *user = keys_at(&a->users, u), *i8[10], *i32[10];
                float s8[10], s32[10];
                size_t n8, n32;
                assert_ok(aisle_recommend(a, user, 10, o8, i8, s8, &n8));
                assert_ok(aisle_recommend(a, user, 10, o32, i32, s32, &n32));
                assert_int_equal(n8, n32);
                for (size_t i = 0; i < n8; i++) {
                    if (strcmp(i8[i], i32[i]) != 0 || memcmp(&s8[i], &s32[i], sizeof *s8) != 0)
                        fail_msg("variant %d, %d added, %s rank %zu: int8 %s %.9g, fp32 %s %.9g", variant,
                                 added + 1, user, i, i8[i], (double)s8[i], i32[i], (double)s32[i]);
                }
            }
            assert_ok(aisle_server_release(s, a));
        }
        aisle_server_free(s);
    }
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

/* Every allocation in add_user / add_item failing in turn: the call says
 * ENOMEM and the model is as before, or it succeeded and the change is
 * there and survives a swap. */
static void test_add_allocation_failures_change_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop();
    size_t len;
    void *buf = tu_model_bytes(ds, "model=als factors=4 epochs=1 threads=1", &len);
    const float v[4] = {0.5f, -0.25f, 0.125f, 1.0f};
    const char *ev[] = {"p1", "fresh"};
    int done = 0;
    for (uint64_t at = 1; at < 1000 && !done; at++) {
        aisle_server *s;
        assert_ok(aisle_server_new(&s, tu_model_copy(buf, len)));
        aisle_model *next = tu_model_copy(buf, len);
        tu_failalloc_install(at, 1);
        int rc1 = aisle_server_add_item(s, "fresh", v, 4);
        int rc2 = rc1 ? rc1 : aisle_server_add_user(s, "newbie", ev, NULL, 2);
        int rc3 = rc2 ? rc2 : aisle_server_swap(s, next, 0, NULL);
        tu_failalloc_remove();
        assert_true(rc1 == AISLE_OK || rc1 == AISLE_ENOMEM);
        assert_true(rc2 == AISLE_OK || rc2 == AISLE_ENOMEM);
        assert_true(rc3 == AISLE_OK || rc3 == AISLE_ENOMEM);
        if (rc3) aisle_model_free(next);
        const aisle_model *a;
        assert_ok(aisle_server_acquire(s, &a));
        assert_true((keys_find(&a->items, "fresh", 5) >= 0) == (rc1 == AISLE_OK));
        assert_int_equal(a->items.n, TU_SHOP_ITEMS + (rc1 == AISLE_OK));
        assert_true((keys_find(&a->users, "newbie", 6) >= 0) == (rc2 == AISLE_OK));
        assert_int_equal(a->users.n, TU_SHOP_USERS + (rc2 == AISLE_OK));
        /* a failed addition leaves no row behind for the next user */
        assert_true(a->history.rows <= a->users.n);
        assert_null(model_overlay_row(&a->overlay, (uint32_t)a->users.n));
        if (!rc2) assert_true(tu_has_pair(a, "newbie", "fresh"));
        if (!rc1) assert_memory_equal(item_row(a, "fresh"), v, sizeof v);
        assert_ok(aisle_server_release(s, a));
        aisle_server_free(s);
        done = rc3 == AISLE_OK;
    }
    assert_true(done);
    aisle_free(buf);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_item_and_user_are_served_like_trained_ones),
        cmocka_unit_test(test_added_items_and_users_are_replayed_across_a_swap),
        cmocka_unit_test(test_add_misuse_changes_nothing),
        cmocka_unit_test(test_each_kind_adds_what_it_can),
        cmocka_unit_test(test_added_item_joins_the_int8_index),
        cmocka_unit_test(test_items_appended_to_the_int8_index_keep_the_scan_exact),
        cmocka_unit_test(test_add_allocation_failures_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
