/* test_hybrid.c - the hybrid kind: a taste planted in catalog features is
 * learned and carries to products no event mentions (cold start) with
 * every loss; save/load; option checks; allocation failures; a shared
 * model served from 8 threads. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_shop.h"

#include "models/hybrid.h"

enum { N_ITEMS = 40, N_USERS = 60, PER_USER = 8 };

/* The shop of tests/util/test_shop.h: even items are mugs (Kitchen >
 * Mugs, brand Potter), odd ones garden tools (Garden > Tools, brand
 * Digger); even users only touch mugs, odd users only tools; with ratings
 * they rate their side 5 and, once, the other side 1. */
static const tu_shop spec = {.users = N_USERS, .items = N_ITEMS, .per_user = PER_USER, .stride = 3, .prefix = "i",
                             .event = "view", .dislikes = 1, .title_word = "number", .rich = true};

static aisle_dataset *shop(bool ratings) { return tu_shop_events(&spec, ratings); }
static aisle_catalog *catalog(void) { return tu_shop_catalog(&spec); }

/* Shoppers: even users (mug people) live in the UK, odd ones (tools) in
 * Germany; two more users of each country appear in the table only. */
static aisle_catalog *shoppers(void) {
    aisle_catalog *users;
    assert_ok(aisle_catalog_new(&users));
    char csv[8192] = "user_id,country,age_band\n";
    size_t len = strlen(csv);
    for (int user = 0; user < N_USERS; user++)
        len += (size_t)snprintf(csv + len, sizeof csv - len, "u%d,%s,%s\n", user, (user & 1) ? "DE" : "UK",
                                user % 3 ? "25-34" : "35-44");
    len += (size_t)snprintf(csv + len, sizeof csv - len, "newuk,UK,25-34\nnewde,DE,35-44\nnewuk2,UK,\n");
    assert_ok(aisle_catalog_load_buffer(users, csv, len, "users.csv", NULL));
    size_t n;
    assert_ok(aisle_catalog_count(users, &n));
    assert_int_equal(n, N_USERS + 3);
    return users;
}

static aisle_config *config(const char *extra) {
    return tu_shop_config("model=hybrid factors=8 epochs=30 threads=1 seed=3 learning_rate=0.1", extra);
}

static float score(const aisle_model *m, const char *user, const char *item) {
    float s;
    assert_ok(aisle_score(m, user, item, &s));
    return s;
}

/* Mug people prefer the new mug to the new spade, spade people the other
 * way round, and the new mug's nearest items are mugs. */
static void check_cold_items(const aisle_model *m) {
    assert_true(tu_shop_cold_preference(m, &spec) >= 0.9);
    const char *top[5];
    size_t n;
    assert_ok(aisle_similar_items(m, "newmug", 5, NULL, top, NULL, &n));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        if (!tu_shop_is_mug(&spec, top[i])) fail_msg("similar to newmug: %s", top[i]);
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
            assert_true(tu_shop_is_mug(&spec, top[i]));
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

/* identity_dropout: trained with the items' identities left out half the
 * time, the title, category and brand features must rank products on
 * their own, so a new product climbs its side's lists (it has only
 * those); the same seed without dropout leaves it lower. */
static void test_hybrid_identity_dropout_lifts_new_products(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *plain = config("epochs=10"), *dropped = config("epochs=10 identity_dropout=0.5");
    aisle_model *a, *b;
    assert_ok(aisle_model_train_with_catalog(ds, cat, plain, &a));
    assert_ok(aisle_model_train_with_catalog(ds, cat, dropped, &b));
    double rank_plain = tu_shop_cold_rank(a, &spec), rank_dropped = tu_shop_cold_rank(b, &spec);
    print_message("new product's rank: %.2f without identity dropout, %.2f with 0.5\n", rank_plain, rank_dropped);
    assert_true(rank_dropped < rank_plain);
    assert_true(tu_shop_cold_preference(b, &spec) >= 0.9);
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_config_free(plain);
    aisle_config_free(dropped);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* fit=als: the products and shoppers of the events score exactly as in
 * an als model of the same factors and seed, and the new products, scored
 * from the catalog features fitted to the ALS vectors, go to their side's
 * shoppers.  Squared loss and missing identities are refused. */
static void test_hybrid_fit_als_keeps_als_scores_and_scores_new_products(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("fit=als content_reg=0.01");
    aisle_config *acfg = tu_shop_config("model=als factors=8 threads=1 seed=3", NULL);
    aisle_model *m, *als;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    assert_ok(aisle_model_train(ds, acfg, &als));
    char u[32], it[32];
    for (int user = 0; user < N_USERS; user += 5) {
        snprintf(u, sizeof u, "u%d", user);
        for (int item = 0; item < N_ITEMS; item += 3) {
            snprintf(it, sizeof it, "i%d", item);
            float a = score(als, u, it), h = score(m, u, it);
            if (fabsf(a - h) > 1e-4f * (1.0f + fabsf(a))) fail_msg("%s %s: als %g, hybrid fit=als %g", u, it, a, h);
        }
    }
    check_cold_items(m);
    aisle_model_free(m);
    aisle_model_free(als);
    aisle_config_free(acfg);
    aisle_config_free(cfg);
    cfg = config("fit=als loss=squared");
    assert_status_msg(aisle_model_train_with_catalog(ds, cat, cfg, &m), AISLE_EINVAL, "fit=als");
    aisle_config_free(cfg);
    cfg = config("fit=als item_identity=false");
    assert_status_msg(aisle_model_train_with_catalog(ds, cat, cfg, &m), AISLE_EINVAL, "identity");
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* fit=als cold_neighbours and cold_scale: "twin7", a new product with
 * i7's catalog row word for word (its number 7 names no other product),
 * has i7 as its one nearest neighbour, so it scores cold_scale times i7's
 * ALS score for every shopper; without neighbours it gets the ridge map
 * (another score), and cold_scale multiplies that exactly too.  The
 * products of the events keep their ALS scores; explain names the
 * neighbours' part and still adds up to the score. */
static void test_hybrid_fit_als_cold_neighbours_and_cold_scale(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    assert_ok(aisle_catalog_add_item(cat, "twin7", "steel spade number 7", NULL, "Garden > Tools", "Digger", 30.0));
    aisle_config *nb = config("fit=als cold_neighbours=1 cold_scale=1.5");
    aisle_config *ridge = config("fit=als cold_neighbours=0 cold_scale=1");
    aisle_config *ridge2 = config("fit=als cold_neighbours=0 cold_scale=2");
    aisle_model *m, *r1, *r2;
    assert_ok(aisle_model_train_with_catalog(ds, cat, nb, &m));
    assert_ok(aisle_model_train_with_catalog(ds, cat, ridge, &r1));
    assert_ok(aisle_model_train_with_catalog(ds, cat, ridge2, &r2));
    char u[32];
    int moved = 0;
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float twin = score(m, u, "twin7"), i7 = score(m, u, "i7");
        assert_float_equal(twin, 1.5f * i7, 1e-5 + 1e-5 * fabsf(i7));
        assert_float_equal(score(r1, u, "i7"), i7, 1e-5 + 1e-5 * fabsf(i7));
        float plain = score(r1, u, "twin7"), twice = score(r2, u, "twin7");
        assert_float_equal(twice, 2.0f * plain, 1e-5 + 1e-5 * fabsf(plain));
        moved += (user & 1) && fabsf(plain - twin) > 0.05f; /* mug people score spades about 0 either way */
    }
    assert_int_equal(moved, N_USERS / 2);
    const char *names[64];
    float c[64];
    size_t n;
    assert_ok(aisle_explain_features(m, "u1", "twin7", 64, names, c, &n));
    double sum = 0;
    bool neighbours = false;
    for (size_t i = 0; i < n; i++) {
        sum += c[i];
        neighbours |= !strcmp(names[i], "history of products with similar features");
    }
    assert_true(neighbours);
    assert_float_equal(sum, score(m, "u1", "twin7"), 1e-4);
    assert_ok(aisle_explain_features(r1, "u1", "twin7", 64, names, c, &n));
    for (size_t i = 0; i < n; i++) assert_string_not_equal(names[i], "history of products with similar features");
    aisle_model_free(m);
    aisle_model_free(r1);
    aisle_model_free(r2);
    aisle_config_free(nb);
    aisle_config_free(ridge);
    aisle_config_free(ridge2);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* listed_attribute: the shop's events happen at times 100..107, so the
 * reference is 107.  "old7" (i7's row, listed long before) is stale and
 * scores cold_stale_factor * cold_scale times i7's ALS score; "fresh9"
 * (i9's row, listed at 100) and newmug (no listing time) are not stale and
 * score as with cold_stale_factor=1 (to the bit), as do the products of
 * the events.  The listing time is no feature even where a trained product
 * shares it; a value that is no number is refused naming the product. */
static void test_hybrid_fit_als_listed_attribute_scales_stale_products(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    assert_ok(aisle_catalog_add_item(cat, "old7", "steel spade number 7", NULL, "Garden > Tools", "Digger", 30.0));
    assert_ok(aisle_catalog_add_item(cat, "fresh9", "steel spade number 9", NULL, "Garden > Tools", "Digger", 30.0));
    assert_ok(aisle_catalog_set_attribute(cat, "old7", "listed", "-200000"));
    assert_ok(aisle_catalog_set_attribute(cat, "fresh9", "listed", "100"));
    assert_ok(aisle_catalog_set_attribute(cat, "newspade", "listed", "")); /* empty: not stale */
    assert_ok(aisle_catalog_set_attribute(cat, "i9", "listed", "100")); /* would be a shared feature */
    aisle_config *plain = config("fit=als cold_neighbours=1 cold_scale=1.5");
    aisle_config *one = config("fit=als cold_neighbours=1 cold_scale=1.5 listed_attribute=listed cold_stale_days=1 "
                                                     "cold_stale_factor=1");
    aisle_config *stale = config("fit=als cold_neighbours=1 cold_scale=1.5 listed_attribute=listed "
                                 "cold_stale_days=1 cold_stale_factor=0.25");
    aisle_model *p, *q, *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, plain, &p));
    assert_ok(aisle_model_train_with_catalog(ds, cat, one, &q));
    assert_ok(aisle_model_train_with_catalog(ds, cat, stale, &m));
    char u[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float i7 = score(m, u, "i7"), i9 = score(m, u, "i9");
        assert_float_equal(score(m, u, "old7"), 0.25f * 1.5f * i7, 1e-5 + 1e-5 * fabsf(i7));
        assert_float_equal(score(m, u, "fresh9"), 1.5f * i9, 1e-5 + 1e-5 * fabsf(i9));
        assert_float_equal(score(q, u, "old7"), 1.5f * i7, 1e-5 + 1e-5 * fabsf(i7));
        const char *same[] = {"newmug", "newspade", "fresh9", "i7", "i9"};
        for (size_t s = 0; s < sizeof same / sizeof *same; s++) {
            float a = score(q, u, same[s]), b = score(m, u, same[s]);
            assert_memory_equal(&a, &b, sizeof a);
        }
    }
    const char *names[64];
    float c[64];
    size_t n;
    assert_ok(aisle_explain_features(m, "u1", "fresh9", 64, names, c, &n));
    for (size_t i = 0; i < n; i++) assert_null(strstr(names[i], "listed"));
    assert_ok(aisle_explain_features(p, "u1", "fresh9", 64, names, c, &n)); /* without the option: a feature */
    bool listed = false;
    for (size_t i = 0; i < n; i++) listed |= strstr(names[i], "listed: 100") != NULL;
    assert_true(listed);
    /* an explicit reference time 11.6 days on: fresh9 is stale too */
    aisle_model *r;
    aisle_config *ref = config("fit=als cold_neighbours=1 cold_scale=1.5 listed_attribute=listed cold_stale_days=1 "
                               "cold_stale_factor=0.25 cold_reference_time=1000000");
    assert_ok(aisle_model_train_with_catalog(ds, cat, ref, &r));
    float i9 = score(r, "u1", "i9");
    assert_float_equal(score(r, "u1", "fresh9"), 0.25f * 1.5f * i9, 1e-5 + 1e-5 * fabsf(i9));
    aisle_model_free(r);
    /* every allocation of the path can fail, leaving nothing behind */
    assert_true(tu_shop_train_failures(ds, cat, NULL, stale, 400) > 10);
    /* bad values */
    assert_ok(aisle_catalog_set_attribute(cat, "fresh9", "listed", "last tuesday"));
    r = NULL;
    assert_status_msg(aisle_model_train_with_catalog(ds, cat, stale, &r), AISLE_EFORMAT, "fresh9");
    assert_status_msg(aisle_model_train_with_catalog(ds, cat, stale, &r), AISLE_EFORMAT, "'listed'");
    assert_null(r);
    aisle_config *bad;
    assert_ok(aisle_config_new(&bad));
    assert_status_msg(aisle_config_parse(bad, "model=hybrid cold_stale_factor=11"), AISLE_ERANGE, "cold_stale_factor");
    assert_status_msg(aisle_config_parse(bad, "model=hybrid cold_stale_days=-1"), AISLE_ERANGE, "cold_stale_days");
    assert_status_msg(aisle_config_parse(bad, "model=hybrid cold_reference_time=-5"), AISLE_ERANGE,
                      "cold_reference_time");
    aisle_config_free(bad);
    aisle_model_free(p);
    aisle_model_free(q);
    aisle_model_free(m);
    aisle_config_free(one);
    aisle_config_free(plain);
    aisle_config_free(stale);
    aisle_config_free(ref);
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
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_parse(cfg, "model=hybrid identity_dropout=1"), AISLE_ERANGE, "identity_dropout");
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
    assert_true(tu_shop_train_failures(ds, cat, NULL, cfg, 300) > 10);
    aisle_config *als_fit = config("fit=als");
    assert_true(tu_shop_train_failures(ds, cat, NULL, als_fit, 600) > 10);
    aisle_config_free(als_fit);
    /* with shopper attributes, then explaining and loading */
    aisle_catalog *users = shoppers();
    assert_true(tu_shop_train_failures(ds, cat, users, cfg, 1000) > 10);
    void *buf = NULL;
    size_t len = 0;
    for (int step = 1; step < 3; step++) {
        int failures = 0;
        aisle_model *keep = NULL;
        assert_ok(aisle_model_train_with_features(ds, cat, users, cfg, &keep));
        if (step == 2) assert_ok(aisle_model_save_buffer(keep, NULL, &buf, &len));
        for (uint64_t k = 1; k < 1000; k++) {
            m = NULL;
            const char *names[4];
            size_t n = 0;
            tu_failalloc_install(k, 1);
            int rc = step == 1 ? aisle_explain_features(keep, "newuk", "newmug", 4, names, NULL, &n)
                               : aisle_model_load_buffer(&m, buf, len, NULL);
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
        assert_true(failures > (step == 1 ? 0 : 10));
        aisle_model_free(keep);
    }
    aisle_free(buf);
    aisle_catalog_free(users);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Mean score of the mugs minus that of the spades for a user. */
static float mug_margin(const aisle_model *m, const char *user) {
    float d = 0;
    char it[16];
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(it, sizeof it, "i%d", i);
        d += (i % 2 ? -1.0f : 1.0f) * score(m, user, it);
    }
    return d / N_ITEMS;
}

static void test_hybrid_user_attributes_score_cold_shoppers(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog(), *users = shoppers();
    const char *extra[] = {"loss=warp", "loss=bpr optimizer=adam learning_rate=0.02", "loss=warp user_identity=false"};
    for (size_t v = 0; v < CORE_ARRAY_LEN(extra); v++) {
        aisle_config *cfg = config(extra[v]);
        aisle_model *m;
        assert_ok(aisle_model_train_with_features(ds, cat, users, cfg, &m));
        size_t count;
        assert_ok(aisle_model_user_count(m, &count));
        assert_int_equal(count, N_USERS + 3);
        /* never seen in an event, known only by country */
        if (!(mug_margin(m, "newuk") > 0 && mug_margin(m, "newde") < 0 && mug_margin(m, "newuk2") > 0))
            fail_msg("%s: margins uk %g de %g uk2 %g", extra[v], mug_margin(m, "newuk"), mug_margin(m, "newde"),
                     mug_margin(m, "newuk2"));
        const char *top[5];
        size_t n;
        assert_ok(aisle_recommend(m, "newde", 5, NULL, top, NULL, &n));
        assert_int_equal(n, 5);
        for (size_t i = 0; i < n; i++)
            if (strcmp(top[i], "newspade") && atoi(top[i] + 1) % 2 != 1) fail_msg("newde got %s", top[i]);
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    /* without an attribute table, user_identity=false has nothing to learn */
    aisle_config *cfg = config("user_identity=false");
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_train_with_catalog(ds, cat, cfg, &m), AISLE_EINVAL, "user attribute table");
    assert_null(m);
    aisle_config_free(cfg);
    /* other kinds do not take attributes */
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=als factors=4"));
    assert_status_msg(aisle_model_train_with_features(ds, cat, users, cfg, &m), AISLE_EUNSUPPORTED, "als");
    assert_null(m);
    assert_ok(aisle_model_train_with_features(ds, cat, NULL, cfg, &m));
    size_t n;
    assert_status_msg(aisle_explain_features(m, "u0", "i0", 3, NULL, NULL, &n), AISLE_EUNSUPPORTED, "als");
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(users);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Every feature's contribution, summed, is the score (plus the mean for
 * ratings); the strongest ones for a mug person and a mug are mug
 * features; the names survive save/load. */
static void check_explanations(const aisle_model *m, const aisle_model *back, bool ratings) {
    const char *names[600], *again[600];
    float c[600], c2[600];
    size_t n, n2;
    const char *pairs[][2] = {{"u0", "i0"}, {"u1", "i0"}, {"newuk", "newmug"}, {"u3", "newspade"}, {"newde", "i7"}};
    float mean_seen = NAN;
    int inside = 0;
    for (size_t p = 0; p < CORE_ARRAY_LEN(pairs); p++) {
        assert_ok(aisle_explain_features(m, pairs[p][0], pairs[p][1], 600, names, c, &n));
        assert_true(n > 1);
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            sum += c[i];
            if (i) assert_true(fabsf(c[i]) <= fabsf(c[i - 1]));
        }
        float s = score(m, pairs[p][0], pairs[p][1]);
        if (ratings) {
            /* the rating model's score is clipped to 1..5: compare inside;
             * score - sum is the global mean, the same for every pair */
            if (s > 1.0f && s < 5.0f) {
                float diff = s - (float)sum;
                if (isnan(mean_seen)) mean_seen = diff;
                assert_float_equal(diff, mean_seen, 1e-3);
                assert_true(diff > 1.0f && diff < 5.0f);
                inside++;
            }
        } else {
            assert_float_equal(sum, s, 1e-4 + 1e-4 * fabs(s));
        }
        assert_ok(aisle_explain_features(back, pairs[p][0], pairs[p][1], 600, again, c2, &n2));
        assert_int_equal(n, n2);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(names[i], again[i]);
            assert_memory_equal(&c[i], &c2[i], sizeof c[i]);
        }
    }
    assert_true(!ratings || inside >= 2);
    /* a cold UK shopper and the new mug: only its own features and the
     * country are there to explain it, and the country is named */
    assert_ok(aisle_explain_features(m, "newuk", "newmug", 600, names, c, &n));
    bool country = false, history = false;
    for (size_t i = 0; i < n; i++) {
        country |= !strcmp(names[i], "country: UK");
        history |= !strcmp(names[i], "the product's own history") || !strcmp(names[i], "the shopper's own history");
    }
    assert_true(country);
    assert_false(history);
    /* "deluxe" names only the new products: no trained product has it, so
     * it is no feature (min_feature_support=1) */
    for (size_t i = 0; i < n; i++) assert_null(strstr(names[i], "deluxe"));
    assert_true(n >= 5); /* word: ceramic, word: mug, two category levels, brand, price */
    assert_ok(aisle_explain_features(m, "u0", "newmug", 2, names, c, &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_explain_features(m, "u0", "newmug", 0, NULL, NULL, &n));
    assert_int_equal(n, 0);
    assert_status_msg(aisle_explain_features(m, "nobody", "newmug", 2, names, c, &n), AISLE_ENOTFOUND, "nobody");
    assert_status_msg(aisle_explain_features(m, "u0", "nothing", 2, names, c, &n), AISLE_ENOTFOUND, "nothing");
    assert_status_msg(aisle_explain_features(NULL, "u0", "i0", 2, names, c, &n), AISLE_EINVAL, "NULL");
}

static void test_hybrid_explain_features_adds_up_to_the_score_and_survives_save_load(void **state) {
    (void)state;
    for (int ratings = 0; ratings < 2; ratings++) {
        aisle_dataset *ds = shop(ratings);
        aisle_catalog *cat = catalog(), *users = shoppers();
        aisle_config *cfg = config(ratings ? "loss=squared epochs=20" : "epochs=10");
        aisle_model *m, *back;
        assert_ok(aisle_model_train_with_features(ds, cat, users, cfg, &m));
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
        check_explanations(m, back, ratings);
        /* the strongest reason a mug person likes the new mug is a mug
         * feature (or the shopper), never a spade's */
        const char *names[3];
        float c[3];
        size_t n;
        assert_ok(aisle_explain_features(back, "u0", "newmug", 3, names, c, &n));
        for (size_t i = 0; i < n; i++)
            if (strstr(names[i], "spade") || strstr(names[i], "Digger") || strstr(names[i], "Garden"))
                fail_msg("u0/newmug explained by %s", names[i]);
        aisle_free(buf);
        aisle_model_free(back);
        aisle_model_free(m);
        aisle_config_free(cfg);
        aisle_catalog_free(users);
        aisle_catalog_free(cat);
        aisle_dataset_free(ds);
    }
}

/* Finite differences against hy_sample_grad for each loss, and through the
 * feature sums (a feature row's gradient is its weight times the vector's). */
static void test_hybrid_gradients_match_finite_differences(void **state) {
    (void)state;
    enum { K = 5, R = K + 1 };
    float p[R], qi[R], qj[R], gp[R], gi[R], gj[R];
    uint64_t x = 12345;
    for (int c = 0; c < R; c++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[c] = (float)((x >> 40) % 1000) / 1000.0f - 0.5f;
        qi[c] = (float)((x >> 20) % 1000) / 1000.0f - 0.5f;
        qj[c] = (float)((x >> 10) % 1000) / 1000.0f - 0.4f;
    }
    const int losses[] = {HY_SQUARED, HY_BPR, HY_WARP};
    for (size_t l = 0; l < 3; l++) {
        int loss = losses[l];
        hy_sample_grad(loss, p, qi, qj, K, 3.5f, 4.0f, 1.7f, gp, gi, gj);
        float *vec[3] = {p, qi, qj}, *grad[3] = {gp, gi, gj};
        for (int v = 0; v < (loss == HY_SQUARED ? 2 : 3); v++)
            for (int c = 0; c < R; c++) {
                if (loss != HY_SQUARED && v == 0 && c == K) continue; /* no user bias in implicit losses */
                float keep = vec[v][c], h = 1e-2f, tmp[3][R];
                vec[v][c] = keep + h;
                double up = hy_sample_grad(loss, p, qi, qj, K, 3.5f, 4.0f, 1.7f, tmp[0], tmp[1], tmp[2]);
                vec[v][c] = keep - h;
                double down = hy_sample_grad(loss, p, qi, qj, K, 3.5f, 4.0f, 1.7f, tmp[0], tmp[1], tmp[2]);
                vec[v][c] = keep;
                double fd = (up - down) / (2 * h);
                if (fabs(fd - grad[v][c]) > 2e-3 * (1 + fabs(fd)))
                    fail_msg("loss %d vector %d coordinate %d: analytic %g, numeric %g", loss, v, c, grad[v][c], fd);
            }
    }
    /* through a feature sum: item = 0.25 f0 + 0.75 f1 */
    float emb[2 * R];
    for (int c = 0; c < 2 * R; c++) emb[c] = 0.1f * (float)(c % 7) - 0.3f;
    size_t ptr[2] = {0, 2};
    uint32_t idx[2] = {0, 1};
    float w[2] = {0.25f, 0.75f};
    hy_side side = {.n_identity = 2, .table = {.rows = 1, .ptr = ptr, .idx = idx, .w = w}, .emb = emb};
    float q[R], tq[R], tmp[3][R];
    hy_sum(&side, R, 0, q);
    hy_sample_grad(HY_BPR, p, q, qj, K, 0, 0, 0, gp, gi, gj);
    for (int f = 0; f < 2; f++)
        for (int c = 0; c < R; c++) {
            float keep = emb[f * R + c], h = 1e-2f;
            emb[f * R + c] = keep + h;
            hy_sum(&side, R, 0, tq);
            double up = hy_sample_grad(HY_BPR, p, tq, qj, K, 0, 0, 0, tmp[0], tmp[1], tmp[2]);
            emb[f * R + c] = keep - h;
            hy_sum(&side, R, 0, tq);
            double down = hy_sample_grad(HY_BPR, p, tq, qj, K, 0, 0, 0, tmp[0], tmp[1], tmp[2]);
            emb[f * R + c] = keep;
            assert_float_equal((up - down) / (2 * h), w[f] * gi[c], 2e-3);
        }
}

/* The attribute table goes through the catalog loader: its errors name
 * file, line and column; a value-less attribute is no feature; a table
 * naming only unknown users adds them as cold users. */
static void test_hybrid_user_table_bad_input(void **state) {
    (void)state;
    aisle_catalog *users;
    assert_ok(aisle_catalog_new(&users));
    const char bad[] = "user_id,country\nu1,UK\nu2,\xff\xfe\n";
    assert_status_msg(aisle_catalog_load_buffer(users, bad, sizeof bad - 1, "users.csv", NULL), AISLE_EFORMAT,
                      "users.csv:3:4");
    size_t n;
    assert_ok(aisle_catalog_count(users, &n));
    assert_int_equal(n, 0); /* all or nothing */
    const char odd[] = "customer_id,country,segment\nstranger,,\nu0,UK,\n";
    assert_ok(aisle_catalog_load_buffer(users, odd, sizeof odd - 1, "users.csv", NULL));
    aisle_dataset *ds = shop(false);
    aisle_config *cfg = config("epochs=2");
    aisle_model *m;
    assert_ok(aisle_model_train_with_features(ds, NULL, users, cfg, &m));
    const char *names[8];
    float c[8];
    assert_ok(aisle_explain_features(m, "stranger", "i0", 8, names, c, &n));
    assert_int_equal(n, 1); /* no features of its own: only the item's identity */
    assert_string_equal(names[0], "the product's own history");
    float s;
    assert_ok(aisle_score(m, "stranger", "i0", &s));
    assert_true(isfinite(s));
    assert_ok(aisle_explain_features(m, "u0", "i0", 8, names, c, &n));
    assert_int_equal(n, 3); /* identity, country, item identity */
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(users);
    aisle_dataset_free(ds);
}

static void test_hybrid_model_is_shared_by_8_threads(void **state) {
    (void)state;
    aisle_dataset *ds = shop(false);
    aisle_catalog *cat = catalog();
    aisle_config *cfg = config("epochs=3");
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    tu_shop_serve_from_8_threads(m, &spec, 20);
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
        cmocka_unit_test(test_hybrid_identity_dropout_lifts_new_products),
        cmocka_unit_test(test_hybrid_fit_als_keeps_als_scores_and_scores_new_products),
        cmocka_unit_test(test_hybrid_fit_als_cold_neighbours_and_cold_scale),
        cmocka_unit_test(test_hybrid_fit_als_listed_attribute_scales_stale_products),
        cmocka_unit_test(test_hybrid_rejects_bad_options),
        cmocka_unit_test(test_hybrid_allocation_failures_leak_nothing),
        cmocka_unit_test(test_hybrid_user_attributes_score_cold_shoppers),
        cmocka_unit_test(test_hybrid_explain_features_adds_up_to_the_score_and_survives_save_load),
        cmocka_unit_test(test_hybrid_gradients_match_finite_differences),
        cmocka_unit_test(test_hybrid_user_table_bad_input),
        cmocka_unit_test(test_hybrid_model_is_shared_by_8_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
