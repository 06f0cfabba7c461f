/* test_hybrid_grow.c - products and shoppers added to a trained or saved
 * hybrid model from a catalog (aisle_model_add_items / _add_users,
 * aisle_server_add_items; src/models/hybrid_grow.c): exactly the vector
 * the training catalog would have given, every serving call, save and
 * reload, the int8 index, bad input, allocation failures, other kinds, and
 * readers serving while a writer adds (run under TSan by make check-tsan). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/grow_util.h"
#include "util/test_shop.h"

#include "models/hybrid.h"

enum { N_ITEMS = 40, N_USERS = 60, PER_USER = 8 };

static const tu_shop spec = {.users = N_USERS, .items = N_ITEMS, .per_user = PER_USER, .stride = 3, .prefix = "i",
                             .event = "view", .dislikes = 1, .title_word = "number", .rich = true};

static aisle_config *config(const char *extra) {
    return tu_shop_config("model=hybrid factors=8 epochs=20 threads=1 seed=5 learning_rate=0.1", extra);
}

/* The shop's catalog without its two new products (what the model knew
 * yesterday). */
static aisle_catalog *old_catalog(const aisle_catalog *full) { return tu_catalog_without(full, "new"); }

static float score(const aisle_model *m, const char *user, const char *item) {
    float s;
    assert_ok(aisle_score(m, user, item, &s));
    return s;
}

static size_t item_count(const aisle_model *m) {
    size_t n;
    assert_ok(aisle_model_item_count(m, &n));
    return n;
}

/* Every user scores `a` and `b` to the same bits (tol 0) or within tol. */
static void check_same_scores(const aisle_model *m, const char *a, const char *b, float tol) {
    char u[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float x = score(m, u, a), y = score(m, u, b);
        if (tol ? !(fabsf(x - y) <= tol) : memcmp(&x, &y, sizeof x) != 0)
            fail_msg("%s: %s %.9g, %s %.9g", u, a, (double)x, b, (double)y);
    }
}

/* Top-10 lists (keys and score bits) of every user, and the products most
 * similar to `item`, agree between two models. */
static void check_same_lists(const aisle_model *a, const aisle_model *b, const char *item) {
    char u[32];
    const char *ka[10], *kb[10];
    float sa[10], sb[10];
    size_t na, nb;
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        assert_ok(aisle_recommend(a, u, 10, NULL, ka, sa, &na));
        assert_ok(aisle_recommend(b, u, 10, NULL, kb, sb, &nb));
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_string_equal(ka[i], kb[i]);
            assert_memory_equal(&sa[i], &sb[i], sizeof sa[i]);
        }
    }
    assert_ok(aisle_similar_items(a, item, 10, NULL, ka, sa, &na));
    assert_ok(aisle_similar_items(b, item, 10, NULL, kb, sb, &nb));
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(ka[i], kb[i]);
        assert_memory_equal(&sa[i], &sb[i], sizeof sa[i]);
    }
}

/* The exactness rule: a product added after training scores to the bit as
 * the same product in the training catalog without events ("newmug"),
 * with every loss and fit=als; a word the model never saw changes nothing;
 * then it is served, explained, saved and reloaded like any product. */
static void test_added_product_scores_exactly_as_in_the_training_catalog(void **state) {
    (void)state;
    const char *variants[] = {"loss=warp", "loss=bpr", "loss=squared", "fit=als", "fit=als cold_neighbours=0",
                              "identity_dropout=0.5"};
    aisle_dataset *implicit = tu_shop_events(&spec, false), *ratings = tu_shop_events(&spec, true);
    aisle_catalog *cat = tu_shop_catalog(&spec);
    aisle_catalog *today;
    assert_ok(aisle_catalog_new(&today));
    tu_copy_product(today, cat, "newmug", "latemug", "zyzzyva"); /* + a word no product of the shop has */
    tu_copy_product(today, cat, "newspade", "latespade", NULL);
    tu_copy_product(today, cat, "i3", "i3", "changed"); /* known: left as trained */
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        aisle_config *cfg = config(variants[v]);
        aisle_model *m;
        assert_ok(aisle_model_train_with_catalog(strstr(variants[v], "squared") ? ratings : implicit, cat, cfg, &m));
        float i3_before = score(m, "u1", "i3");
        size_t added = 99;
        assert_ok(aisle_model_add_items(m, today, &added));
        assert_int_equal(added, 2);
        assert_int_equal(item_count(m), N_ITEMS + 4);
        /* fit=als maps products without events to their neighbours' mean
         * vector: training over the ALS vectors, adding over the served
         * ones, equal up to rounding; every other path sums the same rows */
        float tol = strstr(variants[v], "fit=als") && !strstr(variants[v], "neighbours=0") ? 1e-6f : 0.0f;
        check_same_scores(m, "latemug", "newmug", tol);
        check_same_scores(m, "latespade", "newspade", tol);
        float i3_after = score(m, "u1", "i3");
        assert_memory_equal(&i3_before, &i3_after, sizeof i3_after);
        /* the late mug is the new mug's twin (cosine 1) */
        const char *sim[3];
        float s[3];
        size_t n;
        assert_ok(aisle_similar_items(m, "newmug", 3, NULL, sim, s, &n));
        assert_int_equal(n, 3);
        assert_string_equal(sim[0], "latemug");
        assert_true(fabsf(s[0] - 1.0f) < 1e-5f);
        /* features explain it, and add up to the score (implicit: no mean) */
        const char *names[16];
        float contrib[16], sum = 0;
        assert_ok(aisle_explain_features(m, "u0", "latemug", 16, names, contrib, &n));
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            assert_null(strstr(names[i], "zyzzyva"));
            assert_null(strstr(names[i], "own history") && strstr(names[i], "product") ? names[i] : NULL);
            sum += contrib[i];
        }
        if (!strstr(variants[v], "squared")) assert_true(fabsf(sum - score(m, "u0", "latemug")) < 1e-4f);
        /* saved after adding and reloaded: the same lists */
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        aisle_model *back;
        assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
        check_same_lists(m, back, "latemug");
        /* adding the same catalog again adds nothing */
        assert_ok(aisle_model_add_items(back, today, &added));
        assert_int_equal(added, 0);
        aisle_free(buf);
        aisle_model_free(back);
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    aisle_catalog_free(today);
    aisle_catalog_free(cat);
    aisle_dataset_free(ratings);
    aisle_dataset_free(implicit);
}

/* fit=als listed_attribute: the events end at time 107 and a product
 * listed more than 86.4 s (0.001 days) before is stale.  Saved and
 * reloaded, the model judges added products by that same reference (with
 * it lost, 0, "latemug" listed at 10 would not be stale): latemug scores
 * as oldmug, the same row listed at 10 in the training catalog, a quarter
 * of the unlisted newmug's score; freshmug, listed at 50, scores as
 * newmug.  A listing time that is no number adds nothing. */
static void test_added_stale_product_scores_as_in_the_training_catalog(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *src = tu_shop_catalog(&spec), *today;
    tu_copy_product(cat, src, "newmug", "oldmug", NULL); /* not from cat itself: adding may move its text */
    assert_ok(aisle_catalog_set_attribute(cat, "oldmug", "listed", "10"));
    assert_ok(aisle_catalog_new(&today));
    tu_copy_product(today, cat, "oldmug", "latemug", NULL);
    tu_copy_product(today, cat, "newmug", "freshmug", NULL);
    assert_ok(aisle_catalog_set_attribute(today, "freshmug", "listed", "50"));
    aisle_config *cfg = config("fit=als listed_attribute=listed cold_stale_days=0.001 cold_stale_factor=0.25");
    aisle_model *m, *back;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    void *buf;
    size_t len, added;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    assert_ok(aisle_model_add_items(back, today, &added));
    assert_int_equal(added, 2);
    check_same_scores(back, "latemug", "oldmug", 1e-6f);
    check_same_scores(back, "freshmug", "newmug", 1e-6f);
    float stale = score(back, "u0", "oldmug"), fresh = score(back, "u0", "newmug");
    assert_true(fresh > 0.01f);
    assert_float_equal(stale, 0.25f * fresh, 1e-6);
    aisle_catalog *bad;
    assert_ok(aisle_catalog_new(&bad));
    tu_copy_product(bad, cat, "newmug", "badmug", NULL);
    assert_ok(aisle_catalog_set_attribute(bad, "badmug", "listed", "soon"));
    assert_status_msg(aisle_model_add_items(back, bad, &added), AISLE_EFORMAT, "badmug");
    assert_int_equal(added, 0);
    assert_int_equal(item_count(back), N_ITEMS + 5);
    aisle_catalog_free(bad);
    aisle_free(buf);
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(today);
    aisle_catalog_free(src);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Yesterday's model, saved before the new products were listed, loads
 * and takes them from today's full catalog: the mug people prefer the new
 * mug, and the new mug's neighbours are mugs. */
static void test_saved_model_learns_todays_products(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *full = tu_shop_catalog(&spec), *yesterday = old_catalog(full);
    aisle_config *cfg = config(NULL);
    aisle_model *m, *back;
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
    assert_int_equal(item_count(m), N_ITEMS);
    void *buf;
    size_t len, added;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    assert_int_equal(aisle_score(back, "u0", "newmug", &(float){0}), AISLE_ENOTFOUND);
    assert_ok(aisle_model_add_items(back, full, &added));
    assert_int_equal(added, 2);
    assert_true(tu_shop_cold_preference(back, &spec) >= 0.9);
    const char *top[5];
    size_t n;
    assert_ok(aisle_similar_items(back, "newmug", 5, NULL, top, NULL, &n));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        if (!tu_shop_is_mug(&spec, top[i])) fail_msg("similar to newmug: %s", top[i]);
    /* the in-memory model adds them to the same bits */
    assert_ok(aisle_model_add_items(m, full, &added));
    check_same_lists(m, back, "newmug");
    aisle_free(buf);
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(full);
    aisle_dataset_free(ds);
}

/* A mapped fp16 model takes products from a catalog into its overlay
 * (docs/SERVING.md, "A write to a mapped fp16 model"): with the default
 * fit and with fit=als (cold_neighbours reading the rows it uses) it
 * serves exactly what the fp32 load of the same file serves after the same
 * additions. */
static void test_products_added_to_a_mapped_fp16_model(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *full = tu_shop_catalog(&spec), *yesterday = old_catalog(full);
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "hybrid_grow_f16");
    snprintf(path, sizeof path, "%s/f16.aisle", dir);
    const char *fits[2] = {NULL, "fit=als"};
    for (int v = 0; v < 2; v++) {
        aisle_config *cfg = config(fits[v]);
        aisle_model *m, *ref, *mm;
        assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
        assert_ok(tu_model_save_opts(m, path, "compression=0 quantize=fp16 store_int8=true store_mappable=true"));
        assert_ok(aisle_model_load(&ref, path, NULL));
        assert_ok(tu_model_load_opts(&mm, path, "mmap=true"));
        size_t added_ref, added_mm;
        assert_ok(aisle_model_add_items(ref, full, &added_ref));
        assert_ok(aisle_model_add_items(mm, full, &added_mm));
        assert_int_equal(added_ref, 2);
        assert_int_equal(added_mm, 2);
        check_same_lists(ref, mm, "newmug");
        check_same_lists(ref, mm, "newspade");
        for (int user = 0; user < N_USERS; user++) { /* one row at a time: the score path */
            char u[32];
            snprintf(u, sizeof u, "u%d", user);
            float a = score(ref, u, "newspade"), b = score(mm, u, "newspade");
            assert_memory_equal(&a, &b, sizeof a);
        }
        aisle_model_free(mm);
        aisle_model_free(ref);
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    aisle_catalog_free(yesterday);
    aisle_catalog_free(full);
    aisle_dataset_free(ds);
}

/* The int8 index serving builds (and a stored one, and a mapped model's)
 * gets the new rows: the int8 scan and the fp32 scan give the same lists,
 * new products in them; a mapped model grows as an in-memory one. */
static void test_added_products_join_the_int8_index(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *full = tu_shop_catalog(&spec), *yesterday = old_catalog(full);
    aisle_config *cfg = config(NULL), *save;
    save = tu_shop_config("store_int8=true compression=0", NULL);
    aisle_rec_options *o8, *o32;
    assert_ok(aisle_rec_options_new(&o8));
    assert_ok(aisle_rec_options_new(&o32));
    assert_ok(aisle_rec_options_set(o8, "scan", "int8"));
    assert_ok(aisle_rec_options_set(o32, "scan", "fp32"));
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
    void *buf;
    size_t len, added;
    assert_ok(aisle_model_save_buffer(m, save, &buf, &len));
    aisle_model *stored, *mapped;
    assert_ok(aisle_model_load_buffer(&stored, buf, len, NULL));
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "hybrid_grow");
    snprintf(path, sizeof path, "%s/mapped.aisle", dir);
    assert_ok(tu_model_save_opts(m, path, "compression=0 store_int8=true store_mappable=true"));
    assert_ok(tu_model_load_opts(&mapped, path, "mmap=true")); /* factors, index, keys, history in the file */
    assert_ok(aisle_model_prepare(m)); /* the index built on first use */
    assert_ok(aisle_model_add_items(m, full, &added));
    assert_ok(aisle_model_add_items(stored, full, &added));
    assert_ok(aisle_model_add_items(mapped, full, &added));
    assert_int_equal(added, 2);
    check_same_lists(m, mapped, "newmug");
    aisle_model *models[3] = {m, stored, mapped};
    for (int k = 0; k < 3; k++) {
        int newmug_seen = 0;
        char u[32];
        for (int user = 0; user < N_USERS; user += 2) {
            const char *a[N_ITEMS + 2], *b[N_ITEMS + 2];
            float sa[N_ITEMS + 2], sb[N_ITEMS + 2];
            size_t na, nb;
            snprintf(u, sizeof u, "u%d", user);
            assert_ok(aisle_recommend(models[k], u, N_ITEMS + 2, o8, a, sa, &na));
            assert_ok(aisle_recommend(models[k], u, N_ITEMS + 2, o32, b, sb, &nb));
            assert_int_equal(na, nb);
            for (size_t i = 0; i < na; i++) {
                assert_string_equal(a[i], b[i]);
                assert_memory_equal(&sa[i], &sb[i], sizeof sa[i]);
                newmug_seen += strcmp(a[i], "newmug") == 0;
            }
        }
        assert_int_equal(newmug_seen, N_USERS / 2);
    }
    aisle_free(buf);
    aisle_model_free(mapped);
    aisle_model_free(stored);
    aisle_model_free(m);
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    aisle_config_free(save);
    aisle_config_free(cfg);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(full);
    aisle_dataset_free(ds);
}

/* Shoppers from an attribute table: a late UK shopper scores every product
 * to the bits of the UK shopper of the training table without events. */
static void test_added_shopper_scores_exactly_as_in_the_training_table(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *users, *today;
    assert_ok(aisle_catalog_new(&users));
    assert_ok(aisle_catalog_new(&today));
    char key[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(key, sizeof key, "u%d", user);
        assert_ok(aisle_catalog_add_item(users, key, NULL, NULL, NULL, NULL, NAN));
        assert_ok(aisle_catalog_set_attribute(users, key, "country", (user & 1) ? "DE" : "UK"));
    }
    assert_ok(aisle_catalog_add_item(users, "newuk", NULL, NULL, NULL, NULL, NAN));
    assert_ok(aisle_catalog_set_attribute(users, "newuk", "country", "UK"));
    assert_ok(aisle_catalog_add_item(today, "lateuk", NULL, NULL, NULL, NULL, NAN));
    assert_ok(aisle_catalog_set_attribute(today, "lateuk", "country", "UK"));
    assert_ok(aisle_catalog_set_attribute(today, "lateuk", "planet", "Mars")); /* unknown attribute */
    assert_ok(aisle_catalog_add_item(today, "nobody", NULL, NULL, NULL, NULL, NAN));
    aisle_config *cfg = config(NULL);
    aisle_model *m, *plain;
    assert_ok(aisle_model_train_with_features(ds, cat, users, cfg, &m));
    size_t added, nu;
    assert_ok(aisle_model_add_users(m, today, &added));
    assert_int_equal(added, 2);
    assert_ok(aisle_model_user_count(m, &nu));
    assert_int_equal(nu, N_USERS + 3);
    const char *items[] = {"i0", "i1", "newmug", "newspade"};
    for (size_t i = 0; i < 4; i++) {
        float a = score(m, "lateuk", items[i]), b = score(m, "newuk", items[i]);
        assert_memory_equal(&a, &b, sizeof a);
        /* no known attribute: a zero vector, which meets the item bias */
        const hy_state *st = m->state;
        int64_t j = keys_find(&m->items, items[i], strlen(items[i]));
        assert_true(score(m, "nobody", items[i]) == st->f.item[(size_t)j * st->f.dim + st->k]);
    }
    const char *ka[5], *kb[5];
    size_t na, nb;
    assert_ok(aisle_recommend(m, "lateuk", 5, NULL, ka, NULL, &na));
    assert_ok(aisle_recommend(m, "newuk", 5, NULL, kb, NULL, &nb));
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) assert_string_equal(ka[i], kb[i]);
    /* shoppers need a model trained with an attribute table */
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &plain));
    assert_int_equal(aisle_model_add_users(plain, today, &added), AISLE_EUNSUPPORTED);
    assert_non_null(strstr(aisle_last_error(), "attribute table"));
    aisle_model_free(plain);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(today);
    aisle_catalog_free(users);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Bad input: a row without text, a row whose every feature is unknown,
 * keys repeated in the file, other kinds, a model without catalog or
 * without feature tables, NULL arguments; failures change nothing. */
static void test_add_items_bad_input(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *odd;
    assert_ok(aisle_catalog_new(&odd));
    const char csv[] = "item_id,title,category,brand\n"
                       "bare,,,\n"
                       "alien,quux frobnitz,Space > Ships,Nobody\n"
                       "twice,ceramic mug,,\n"
                       "twice,,Kitchen > Mugs,Potter\n";
    assert_ok(aisle_catalog_load_buffer(odd, csv, sizeof csv - 1, "odd.csv", NULL));
    aisle_config *cfg = config(NULL);
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    size_t added;
    assert_ok(aisle_model_add_items(m, odd, &added));
    assert_int_equal(added, 3);
    char u[32];
    for (int user = 0; user < N_USERS; user++) { /* no known feature: a zero vector, score 0 */
        snprintf(u, sizeof u, "u%d", user);
        assert_true(score(m, u, "bare") == 0.0f && score(m, u, "alien") == 0.0f);
    }
    const char *names[4];
    size_t n = 9;
    assert_ok(aisle_explain_features(m, "u0", "alien", 4, names, NULL, &n));
    assert_int_equal(n, 1); /* the shopper's own history, with the zero product: contributes 0 */
    float sims[3];
    assert_ok(aisle_similar_items(m, "alien", 3, NULL, names, sims, &n));
    for (size_t i = 0; i < n; i++) assert_true(sims[i] == 0.0f);
    /* the repeated key is one product with the fields of both rows: a mug */
    assert_ok(aisle_similar_items(m, "twice", 3, NULL, names, NULL, &n));
    assert_true(n == 3 && tu_shop_is_mug(&spec, names[0]));
    /* NULL arguments */
    assert_int_equal(aisle_model_add_items(NULL, odd, &added), AISLE_EINVAL);
    assert_int_equal(aisle_model_add_items(m, NULL, &added), AISLE_EINVAL);
    assert_int_equal(aisle_model_add_users(NULL, odd, NULL), AISLE_EINVAL);
    /* a model saved without feature tables (an earlier version's file) */
    hy_state *st = m->state;
    st->has_features = false;
    size_t before = item_count(m);
    assert_int_equal(aisle_model_add_items(m, cat, NULL), AISLE_EUNSUPPORTED);
    assert_non_null(strstr(aisle_last_error(), "feature tables"));
    assert_int_equal(item_count(m), before);
    st->has_features = true;
    aisle_model_free(m);
    /* a hybrid without catalog has no item features */
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_int_equal(aisle_model_add_items(m, cat, &added), AISLE_EUNSUPPORTED);
    assert_non_null(strstr(aisle_last_error(), "without a catalog"));
    assert_int_equal(item_count(m), N_ITEMS);
    aisle_model_free(m);
    /* other kinds: the message names the kind */
    const char *kinds[] = {"als", "popular", "itemknn"};
    for (size_t k = 0; k < 3; k++) {
        char opts[64];
        snprintf(opts, sizeof opts, "model=%s factors=4 epochs=2", kinds[k]);
        aisle_config *kc = tu_shop_config(opts, NULL);
        assert_ok(aisle_model_train(ds, kc, &m));
        assert_int_equal(aisle_model_add_items(m, cat, &added), AISLE_EUNSUPPORTED);
        assert_non_null(strstr(aisle_last_error(), kinds[k]));
        assert_int_equal(aisle_model_add_users(m, cat, &added), AISLE_EUNSUPPORTED);
        aisle_model_free(m);
        aisle_config_free(kc);
    }
    aisle_config_free(cfg);
    aisle_catalog_free(odd);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Every allocation of adding a large catalog (products and shoppers) to a
 * loaded model fails in turn (tu_oom_sweep): AISLE_ENOMEM, nothing
 * leaked, the model as it was (counts, a score), and the sweep ends with
 * every row added. */
static void test_add_allocation_failures_change_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = old_catalog(cat), *big, *users, *known;
    assert_ok(aisle_catalog_new(&big));
    assert_ok(aisle_catalog_new(&users));
    assert_ok(aisle_catalog_new(&known)); /* the attribute table of training: half the shoppers, in the UK */
    char key[32], title[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "big%d", i);
        snprintf(title, sizeof title, "%s %d w%d", i % 2 ? "steel spade" : "ceramic mug", i, i % 97);
        assert_ok(aisle_catalog_add_item(big, key, title, NULL, i % 2 ? "Garden > Tools" : "Kitchen > Mugs", NULL,
                                         1.0 + i % 50));
        snprintf(key, sizeof key, "shopper%d", i);
        assert_ok(aisle_catalog_add_item(users, key, NULL, NULL, NULL, NULL, NAN));
        assert_ok(aisle_catalog_set_attribute(users, key, "country", i % 2 ? "DE" : "UK"));
    }
    for (int user = 0; user < N_USERS; user += 2) {
        snprintf(key, sizeof key, "u%d", user);
        assert_ok(aisle_catalog_add_item(known, key, NULL, NULL, NULL, NULL, NAN));
        assert_ok(aisle_catalog_set_attribute(known, key, "country", "UK"));
    }
    aisle_config *cfg = config("epochs=2");
    aisle_model *m;
    assert_ok(aisle_model_train_with_features(ds, yesterday, known, cfg, &m));
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    aisle_model_free(m);
    tu_add_ctx items = {buf, len, big, 0, "u1", "i1", "u0", "big2", 3000},
               shoppers = {buf, len, users, 1, "u1", "i1", "shopper4", "i0", 3000};
    assert_true(tu_oom_sweep("aisle_model_add_items", tu_add_step, &items, 1, 0, 5000) > 20);
    assert_true(tu_oom_sweep("aisle_model_add_users", tu_add_step, &shoppers, 1, 0, 5000) > 20);
    aisle_free(buf);
    aisle_config_free(cfg);
    aisle_catalog_free(known);
    aisle_catalog_free(users);
    aisle_catalog_free(big);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* One batch of test_server_adds_products_while_readers_serve: 5 new
 * products added to the server. */
typedef struct server_batch {
    aisle_server *s;
    const aisle_catalog *cat;
    size_t total;
} server_batch;

static void add_batch(void *ctx, int b) {
    server_batch *c = ctx;
    aisle_catalog *day;
    assert_ok(aisle_catalog_new(&day));
    tu_late_products(day, c->cat, b * 5, 5);
    size_t added;
    assert_ok(aisle_server_add_items(c->s, day, &added));
    assert_int_equal(added, 5);
    c->total += added;
    aisle_catalog_free(day);
}

/* A server: 4 readers recommend and score while one writer adds products
 * in batches from catalogs; then a swap to a model trained without them
 * replays the additions.  Under TSan (make check-tsan) this is the race
 * check of the add path. */
static void test_server_adds_products_while_readers_serve(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = old_catalog(cat);
    aisle_config *cfg = config("epochs=3");
    aisle_model *m, *next;
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &next));
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    enum { BATCHES = 6 };
    server_batch sb = {s, cat, 0};
    assert_true(tu_serve_while_adding(s, 4, N_USERS, "late3", BATCHES, add_batch, &sb) > BATCHES);
    size_t total = sb.total;
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(item_count(a), N_ITEMS + total);
    float x = score(a, "u0", "late2"), y = score(a, "u0", "late0");
    assert_memory_equal(&x, &y, sizeof x);
    assert_ok(aisle_server_release(s, a));
    /* the swapped-in model gets the journaled products */
    size_t replayed;
    assert_ok(aisle_server_swap(s, next, 0, &replayed));
    assert_int_equal(replayed, BATCHES);
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(item_count(a), N_ITEMS + total);
    assert_ok(aisle_server_release(s, a));
    /* a kind without catalog features: refused, nothing journaled */
    aisle_catalog *one;
    assert_ok(aisle_catalog_new(&one));
    tu_copy_product(one, cat, "newmug", "later", NULL);
    aisle_config *als = tu_shop_config("model=als factors=4 epochs=2", NULL);
    aisle_model *am;
    assert_ok(aisle_model_train(ds, als, &am));
    assert_ok(aisle_server_swap(s, am, INT64_MAX, NULL));
    assert_int_equal(aisle_server_add_items(s, one, NULL), AISLE_EUNSUPPORTED);
    assert_int_equal(aisle_server_add_items(NULL, one, NULL), AISLE_EINVAL);
    assert_int_equal(aisle_server_add_users(s, NULL, NULL), AISLE_EINVAL);
    aisle_catalog_free(one);
    aisle_config_free(als);
    aisle_server_free(s);
    aisle_config_free(cfg);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_product_scores_exactly_as_in_the_training_catalog),
        cmocka_unit_test(test_added_stale_product_scores_as_in_the_training_catalog),
        cmocka_unit_test(test_saved_model_learns_todays_products),
        cmocka_unit_test(test_added_products_join_the_int8_index),
        cmocka_unit_test(test_products_added_to_a_mapped_fp16_model),
        cmocka_unit_test(test_added_shopper_scores_exactly_as_in_the_training_table),
        cmocka_unit_test(test_add_items_bad_input),
        cmocka_unit_test(test_add_allocation_failures_change_nothing),
        cmocka_unit_test(test_server_adds_products_while_readers_serve),
    };
    tu_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
