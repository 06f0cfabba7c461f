/* test_hybrid.c - the hybrid kind: a taste planted in catalog features is
 * learned and carries to products no event mentions (cold start) with
 * every loss; save/load; option checks; allocation failures; a shared
 * model served from 8 threads. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_util.h"

enum { N_ITEMS = 40, N_USERS = 60, PER_USER = 8 };

/* Even items are mugs (Kitchen > Mugs, brand Potter), odd ones garden
 * tools (Garden > Tools, brand Digger).  Even users only touch mugs, odd
 * users only tools; with ratings they rate their side 5 and, once, the
 * other side 1. */
static aisle_dataset *shop(bool ratings) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[32], it[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        for (int t = 0; t < PER_USER; t++) {
            int item = (2 * ((user * 3 + t * 7) % (N_ITEMS / 2))) + (user & 1);
            snprintf(it, sizeof it, "i%d", item);
            assert_ok(aisle_dataset_add_event(ds, u, it, ratings ? "rating" : "view", ratings ? 5 : 1, 100 + t));
        }
        if (ratings) {
            snprintf(it, sizeof it, "i%d", (2 * (user % (N_ITEMS / 2))) + 1 - (user & 1));
            assert_ok(aisle_dataset_add_event(ds, u, it, "rating", 1, 99));
        }
    }
    return ds;
}

static aisle_catalog *catalog(void) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[16], title[64];
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(key, sizeof key, "i%d", i);
        bool mug = i % 2 == 0;
        snprintf(title, sizeof title, "%s number %d", mug ? "ceramic mug" : "steel spade", i);
        assert_ok(aisle_catalog_add_item(cat, key, title, NULL, mug ? "Kitchen > Mugs" : "Garden > Tools",
                                         mug ? "Potter" : "Digger", mug ? 8.0 : 30.0));
    }
    /* brand-new products: in the catalog, in no event */
    assert_ok(aisle_catalog_add_item(cat, "newmug", "ceramic mug deluxe", NULL, "Kitchen > Mugs", "Potter", 9.0));
    assert_ok(aisle_catalog_add_item(cat, "newspade", "steel spade deluxe", NULL, "Garden > Tools", "Digger", 29.0));
    return cat;
}

static aisle_config *config(const char *extra) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=hybrid factors=8 epochs=30 threads=1 seed=3 learning_rate=0.1"));
    if (extra) assert_ok(aisle_config_parse(cfg, extra));
    return cfg;
}

static float score(const aisle_model *m, const char *user, const char *item) {
    float s;
    assert_ok(aisle_score(m, user, item, &s));
    return s;
}

/* Mug people prefer the new mug to the new spade, spade people the other
 * way round, and the new mug's nearest items are mugs. */
static void check_cold_items(const aisle_model *m) {
    int right = 0;
    char u[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float mug = score(m, u, "newmug"), spade = score(m, u, "newspade");
        right += (user & 1) ? spade > mug : mug > spade;
    }
    assert_true(right >= N_USERS * 9 / 10);
    const char *top[5];
    size_t n;
    assert_ok(aisle_similar_items(m, "newmug", 5, NULL, top, NULL, &n));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        bool mug = !strcmp(top[i], "newmug") || (top[i][0] == 'i' && atoi(top[i] + 1) % 2 == 0);
        if (!mug) fail_msg("similar to newmug: %s", top[i]);
    }
}

static void test_hybrid_learns_features_and_scores_cold_items(void **state) {
    (void)state;
    const char *losses[] = {"loss=warp", "loss=bpr"};
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    for (size_t l = 0; l < 2; l++) {
        aisle_config *cfg = config(losses[l]);
        aisle_model *m;
        assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
        size_t count;
        assert_ok(aisle_model_item_count(m, &count));
        assert_int_equal(count, N_ITEMS + 2);
        check_cold_items(m);
        /* recommendations for a mug person are mugs, the new one included
         * or not, but never a seen item */
        const char *top[5];
        size_t n;
        assert_ok(aisle_recommend(m, "u0", 5, NULL, top, NULL, &n));
        for (size_t i = 0; i < n; i++)
            assert_true(!strcmp(top[i], "newmug") || (top[i][0] == 'i' && atoi(top[i] + 1) % 2 == 0));
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

static void test_hybrid_squared_loss_predicts_ratings_of_cold_items(void **state) {
    (void)state;
    aisle_dataset *ds = shop(true);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("loss=squared epochs=60");
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    check_cold_items(m);
    /* a rating-scale prediction within the observed range */
    float s = score(m, "u0", "newmug");
    assert_true(s >= 1.0f && s <= 5.0f);
    assert_true(s > 3.0f);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Without a catalog it is plain factorisation with identities: it still
 * learns the two tastes from co-occurrence. */
static void test_hybrid_without_catalog_learns_identities(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_config *cfg = config(NULL);
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    const char *top[3];
    size_t n;
    assert_ok(aisle_recommend(m, "u1", 3, NULL, top, NULL, &n));
    for (size_t i = 0; i < n; i++)
        if (atoi(top[i] + 1) % 2 != 1) fail_msg("u1 got %s", top[i]);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_hybrid_save_load_gives_identical_scores_and_same_seed_same_model(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("epochs=5");
    aisle_model *m, *again, *back;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &again));
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    const char *items[] = {"i0", "i1", "i17", "newmug", "newspade"};
    for (int user = 0; user < N_USERS; user += 7) {
        char u[32];
        snprintf(u, sizeof u, "u%d", user);
        for (size_t i = 0; i < 5; i++) {
            float a = score(m, u, items[i]), b = score(back, u, items[i]), c = score(again, u, items[i]);
            assert_memory_equal(&a, &b, sizeof a);
            assert_memory_equal(&a, &c, sizeof a);
        }
    }
    const char *e_items[3];
    float shares[3];
    size_t n;
    assert_ok(aisle_explain(back, "u0", "newmug", 3, e_items, shares, &n));
    assert_true(n > 0);
    aisle_free(buf);
    aisle_model_free(back);
    aisle_model_free(again);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

static void test_hybrid_rejects_bad_options(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_model *m = NULL;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_parse(cfg, "model=hybrid loss=hinge"), AISLE_EINVAL, "loss");
    /* sasrec's losses are not hybrid's */
    assert_ok(aisle_config_parse(cfg, "model=hybrid loss=bce"));
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_EINVAL, "hybrid");
    aisle_config_free(cfg);
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=hybrid factors=1024"));
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ERANGE, "factors");
    aisle_config_free(cfg);
    cfg = config("item_identity=false");
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_EINVAL, "catalog");
    assert_null(m);
    /* a catalog that lacks half the products: those keep their identity,
     * and products with no text at all still train */
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "i0", "", NULL, NULL, NULL, NAN));
    assert_ok(aisle_catalog_add_item(cat, "lonely", "one off", NULL, "Odd", NULL, NAN));
    aisle_config_free(cfg);
    cfg = config("epochs=2");
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    float s;
    assert_ok(aisle_score(m, "u0", "lonely", &s));
    assert_true(isfinite(s));
    assert_status_msg(aisle_score(m, "u0", "nothing", &s), AISLE_ENOTFOUND, "nothing");
    aisle_model_free(m);
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_hybrid_allocation_failures_leak_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("epochs=1 threads=2");
    aisle_model *m = NULL;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m)); /* warms the dataset's lazy views */
    aisle_model_free(m);
    int failures = 0;
    for (uint64_t k = 1; k < 300; k++) {
        m = NULL;
        tu_failalloc_install(k, 1);
        int rc = aisle_model_train_with_catalog(ds, cat, cfg, &m);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (rc == AISLE_OK) {
            aisle_model_free(m);
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_null(m);
        assert_int_equal(live, 0);
        failures++;
    }
    assert_true(failures > 10);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

typedef struct shared {
    const aisle_model *m;
    float expect[N_USERS];
    int bad;
} shared;

static void *serve_thread(void *arg) {
    shared *sh = arg;
    for (int rep = 0; rep < 20; rep++)
        for (int user = 0; user < N_USERS; user++) {
            char u[32];
            float s;
            const char *top[4];
            size_t n;
            snprintf(u, sizeof u, "u%d", user);
            if (aisle_score(sh->m, u, "newmug", &s) != AISLE_OK || s != sh->expect[user]) __atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
            if (aisle_recommend(sh->m, u, 4, NULL, top, NULL, &n) != AISLE_OK || n != 4)
                __atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
        }
    return NULL;
}

static void test_hybrid_model_is_shared_by_8_threads(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("epochs=3");
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    shared sh = {.m = m};
    for (int user = 0; user < N_USERS; user++) {
        char u[32];
        snprintf(u, sizeof u, "u%d", user);
        sh.expect[user] = score(m, u, "newmug");
    }
    pthread_t th[8];
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&th[i], NULL, serve_thread, &sh), 0);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    assert_int_equal(sh.bad, 0);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hybrid_learns_features_and_scores_cold_items),
        cmocka_unit_test(test_hybrid_squared_loss_predicts_ratings_of_cold_items),
        cmocka_unit_test(test_hybrid_without_catalog_learns_identities),
        cmocka_unit_test(test_hybrid_save_load_gives_identical_scores_and_same_seed_same_model),
        cmocka_unit_test(test_hybrid_rejects_bad_options),
        cmocka_unit_test(test_hybrid_allocation_failures_leak_nothing),
        cmocka_unit_test(test_hybrid_model_is_shared_by_8_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
