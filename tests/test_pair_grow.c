/* test_pair_grow.c - products and shoppers added to a trained or saved
 * pair model from a catalog (aisle_model_add_items / _add_users,
 * aisle_server_add_items / _add_users; src/models/pair_grow.c): a product
 * added after training scores to the bit as it would have in the training
 * catalog (hashed encoder with and without id embeddings, ratings and
 * purchases, a pretrained BERT), a new shopper reads as a trained one with
 * the same profile, save and reload, bad input, allocation failures, and
 * readers serving while a writer adds (run under TSan by make check-tsan). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bert_util.h"
#include "util/grow_util.h"
#include "util/test_shop.h"

enum { N_ITEMS = 24, N_USERS = 40, PER_USER = 6 };

/* test_pair.c's shop: the titles alone say mug or spade. */
static const tu_shop spec = {.users = N_USERS, .items = N_ITEMS, .per_user = PER_USER, .stride = 5, .prefix = "x",
                             .event = "purchase", .dislikes = 2, .title_word = "model", .rich = false};

static aisle_config *config(const char *extra) {
    return tu_shop_config("model=pair hidden=16 heads=2 ff_hidden=32 blocks=1 epochs=2 threads=1 seed=5 "
                          "learning_rate=0.01 batch_size=16 dropout=0 hash_buckets=4096 recent_items=4 title_tokens=3",
                          extra);
}

/* The served score; a shopper the model does not know (aisle_score
 * refuses one) as aisle_rerank reads it: no profile, no history. */
static float score(const aisle_model *m, const char *user, const char *item) {
    float s;
    if (!strcmp(user, "stranger")) assert_ok(aisle_rerank(m, user, &item, 1, &s, NULL));
    else assert_ok(aisle_score(m, user, item, &s));
    return s;
}

static size_t count(const aisle_model *m, int side) {
    size_t n;
    assert_ok(side ? aisle_model_user_count(m, &n) : aisle_model_item_count(m, &n));
    return n;
}

/* Every user of the shop (and a stranger) scores items[0..n) to the same
 * bits in a (as user `ua`, NULL: the same user) and b. */
static void check_same_bits(const aisle_model *a, const char *ua, const aisle_model *b,
                            const char *const *items, size_t n) {
    char u[32];
    for (int user = -1; user < N_USERS; user++) {
        if (user < 0) snprintf(u, sizeof u, "stranger");
        else snprintf(u, sizeof u, "u%d", user);
        for (size_t i = 0; i < n; i++) {
            float x = score(a, ua ? ua : u, items[i]), y = score(b, u, items[i]);
            if (memcmp(&x, &y, sizeof x) != 0)
                fail_msg("%s, %s: %.9g against %.9g", u, items[i], (double)x, (double)y);
        }
    }
}

/* A model saved and loaded again. */
static aisle_model *reloaded(const aisle_model *m) {
    void *buf;
    size_t len;
    aisle_model *back;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    aisle_free(buf);
    return back;
}

/* The kind's part of two descriptions (texts, tokens, parameters) agree
 * (the generic part holds the training speed). */
static void check_same_description(const aisle_model *a, const aisle_model *b) {
    char da[2048], db[2048];
    assert_ok(aisle_model_describe(a, da, sizeof da, NULL));
    assert_ok(aisle_model_describe(b, db, sizeof db, NULL));
    assert_non_null(strstr(da, "\nobjective: "));
    assert_non_null(strstr(db, "\nobjective: "));
    assert_string_equal(strstr(da, "\nobjective: "), strstr(db, "\nobjective: "));
}

static const char *const probe[] = {"newmug", "newspade", "x3", "x8"};

/* Trains on the shop with the full catalog and with yesterday's (without
 * newmug and newspade), adds today's catalog to the second, and checks
 * the exactness rule: every score to the bit, the same description, the
 * same after a save and reload; adding again adds nothing. */
static void check_added_products_exact(aisle_config *cfg, bool ratings) {
    aisle_dataset *ds = tu_shop_events(&spec, ratings);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = tu_catalog_without(cat, "new");
    aisle_model *trained, *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &trained));
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
    float s;
    assert_int_equal(aisle_score(m, "u0", "newmug", &s), AISLE_ENOTFOUND);
    size_t added = 99;
    assert_ok(aisle_model_add_items(m, cat, &added));
    assert_int_equal(added, 2);
    assert_int_equal(count(m, 0), count(trained, 0));
    check_same_bits(trained, NULL, m, probe, 4);
    check_same_description(trained, m);
    /* served like a trained product: listed, explained (items and words) */
    const char *top[30], *items[4];
    float sc[30], shares[4];
    size_t n;
    assert_ok(aisle_recommend(m, "u0", 30, NULL, top, sc, &n));
    assert_true(n > 0 && n <= count(m, 0) - PER_USER); /* less what u0 has seen */
    bool listed = false;
    for (size_t k = 0; k < n; k++) listed |= !strcmp(top[k], "newmug");
    assert_true(listed);
    assert_ok(aisle_explain(m, "u0", "newmug", 4, items, shares, &n));
    aisle_text_explanation *e;
    assert_ok(aisle_pair_explain(m, "u0", "newspade", &e));
    aisle_text_explanation_free(e);
    /* saved after adding and loaded again: the same scores and file */
    aisle_model *back = reloaded(m);
    check_same_bits(m, NULL, back, probe, 4);
    check_same_description(trained, back);
    assert_ok(aisle_model_add_items(back, cat, &added));
    assert_int_equal(added, 0);
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_model_free(trained);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

static void test_added_product_scores_exactly_as_in_the_training_catalog(void **state) {
    (void)state;
    const char *variants[] = {"", "id_factors=4", "objective=purchase sampled_negatives=2",
                              "objective=purchase sampled_negatives=1 id_factors=2"};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        aisle_config *cfg = config(variants[v]);
        check_added_products_exact(cfg, !strstr(variants[v], "purchase"));
        aisle_config_free(cfg);
    }
}

static void test_added_product_with_bert_scores_exactly_as_in_the_training_catalog(void **state) {
    (void)state;
    char enc[600], opts[1400];
    tu_bert_encoder_file(enc, sizeof enc, "pair_grow_bert");
    tu_bert_pair_options(opts, sizeof opts, enc, "head_epochs=2");
    aisle_config *cfg = tu_shop_config(opts, NULL);
    check_added_products_exact(cfg, true);
    aisle_config_free(cfg);
}

/* A shopper attribute table: odd users garden, even ones cook. */
static void add_shopper(aisle_catalog *users, const char *key, const char *hobby) {
    assert_ok(aisle_catalog_add_item(users, key, NULL, NULL, NULL, NULL, NAN));
    if (hobby) assert_ok(aisle_catalog_set_attribute(users, key, "hobby", hobby));
    if (hobby) assert_ok(aisle_catalog_set_attribute(users, key, "country", "UK"));
}

static aisle_catalog *shopper_table(void) {
    aisle_catalog *users;
    assert_ok(aisle_catalog_new(&users));
    char key[32];
    for (int user = 0; user < N_USERS; user++) {
        snprintf(key, sizeof key, "u%d", user);
        add_shopper(users, key, user & 1 ? "gardener" : "cook");
    }
    return users;
}

/* m saved and loaded scores every probe, "newbie"'s included, to the bit
 * and describes itself the same. */
static void check_survives_a_save(const aisle_model *m) {
    aisle_model *back = reloaded(m);
    check_same_bits(m, NULL, back, probe, 4);
    for (size_t i = 0; i < 4; i++) {
        float a = score(m, "newbie", probe[i]), b = score(back, "newbie", probe[i]);
        assert_memory_equal(&a, &b, sizeof a);
    }
    check_same_description(m, back);
    aisle_model_free(back);
}

/* A new shopper has no history: with recent_items=0 one whose attributes
 * are u1's reads exactly as u1, and one without attributes as a stranger
 * (with recent items too); both survive a save. */
static void test_added_shopper_reads_as_a_trained_one_with_that_profile(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, false);
    aisle_catalog *cat = tu_shop_catalog(&spec), *known = shopper_table(), *today;
    assert_ok(aisle_catalog_new(&today));
    add_shopper(today, "u1", "cook"); /* known: left as trained */
    add_shopper(today, "newbie", "gardener");
    add_shopper(today, "ghost", NULL);
    const char *variants[] = {"objective=purchase recent_items=0", "objective=purchase"};
    for (int v = 0; v < 2; v++) {
        aisle_config *cfg = config(variants[v]);
        aisle_model *m;
        assert_ok(aisle_model_train_with_features(ds, cat, known, cfg, &m));
        size_t added = 0;
        assert_ok(aisle_model_add_users(m, today, &added));
        assert_int_equal(added, 2);
        assert_int_equal(count(m, 1), N_USERS + 2);
        for (size_t i = 0; i < 4; i++) {
            float g = score(m, "ghost", probe[i]), st = score(m, "stranger", probe[i]);
            assert_memory_equal(&g, &st, sizeof g);
            float nb = score(m, "newbie", probe[i]), u1 = score(m, "u1", probe[i]);
            if (v == 0) assert_memory_equal(&nb, &u1, sizeof nb);
        }
        const char *top[4];
        float sc[4];
        size_t n;
        assert_ok(aisle_recommend(m, "newbie", 4, NULL, top, sc, &n));
        assert_int_equal(n, 4);
        check_survives_a_save(m);
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    aisle_catalog_free(today);
    aisle_catalog_free(known);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* With id embeddings a new shopper and a new product have zero id rows:
 * the file holds them as zeros and the scores stay. */
static void test_added_rows_with_id_embeddings_survive_a_save(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, true);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = tu_catalog_without(cat, "new"), *known = shopper_table();
    aisle_catalog *today;
    assert_ok(aisle_catalog_new(&today));
    add_shopper(today, "newbie", "gardener");
    aisle_config *cfg = config("id_factors=3");
    aisle_model *m;
    assert_ok(aisle_model_train_with_features(ds, yesterday, known, cfg, &m));
    assert_ok(aisle_model_add_items(m, cat, NULL));
    assert_ok(aisle_model_add_users(m, today, NULL));
    check_survives_a_save(m);
    /* quantized saves keep the added rows too */
    aisle_config *q;
    assert_ok(aisle_config_new(&q));
    assert_ok(aisle_config_parse(q, "quantize=int8"));
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, q, &buf, &len));
    aisle_model *back;
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    assert_true(fabsf(score(back, "newbie", "newmug") - score(m, "newbie", "newmug")) < 0.25f);
    aisle_free(buf);
    aisle_config_free(q);
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(today);
    aisle_catalog_free(known);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* NULL arguments, an empty catalog, a catalog of known products, a
 * product whose row has no text (scored from its key). */
static void test_add_bad_and_odd_input(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, true);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = tu_catalog_without(cat, "new"), *odd;
    aisle_config *cfg = config(NULL);
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, yesterday, cfg, &m));
    size_t added = 5;
    assert_status_msg(aisle_model_add_items(NULL, cat, &added), AISLE_EINVAL, "NULL");
    assert_int_equal(added, 0);
    assert_status_msg(aisle_model_add_users(m, NULL, NULL), AISLE_EINVAL, "NULL");
    assert_ok(aisle_catalog_new(&odd));
    assert_ok(aisle_model_add_items(m, odd, &added));
    assert_int_equal(added, 0);
    float before = score(m, "u2", "x3");
    assert_ok(aisle_model_add_items(m, yesterday, &added));
    assert_int_equal(added, 0);
    float after = score(m, "u2", "x3");
    assert_memory_equal(&before, &after, sizeof after);
    assert_ok(aisle_catalog_add_item(odd, "blank", "", NULL, NULL, NULL, NAN));
    assert_ok(aisle_model_add_items(m, odd, &added));
    assert_int_equal(added, 1);
    assert_true(isfinite(score(m, "u2", "blank")));
    aisle_text_explanation *e;
    assert_ok(aisle_pair_explain(m, "u2", "blank", &e)); /* its key is its only word */
    size_t n;
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_true(n >= 1);
    aisle_text_explanation_free(e);
    aisle_catalog_free(odd);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

/* Every allocation of adding products and shoppers (hashed encoder with id
 * embeddings, and BERT), and of saving the grown model, fails in turn:
 * AISLE_ENOMEM, nothing leaked, the model unchanged. */
typedef struct save_ctx {
    const void *buf;
    size_t len;
    const aisle_catalog *items, *users;
} save_ctx;

static int save_step(void *vc) {
    const save_ctx *c = vc;
    aisle_model *m;
    int rc = aisle_model_load_buffer(&m, c->buf, c->len, NULL);
    if (rc) return rc;
    void *out = NULL;
    size_t len;
    rc = aisle_model_add_items(m, c->items, NULL);
    if (!rc) rc = aisle_model_add_users(m, c->users, NULL);
    if (!rc) rc = aisle_model_save_buffer(m, NULL, &out, &len);
    aisle_free(out);
    aisle_model_free(m);
    return rc;
}

static void add_sweeps(const char *options, int rows, uint64_t limit) {
    aisle_dataset *ds = tu_shop_events(&spec, true);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = tu_catalog_without(cat, "new"), *known = shopper_table();
    aisle_catalog *big, *users;
    assert_ok(aisle_catalog_new(&big));
    assert_ok(aisle_catalog_new(&users));
    char key[32], title[64];
    for (int i = 0; i < rows; i++) {
        snprintf(key, sizeof key, "big%d", i);
        snprintf(title, sizeof title, "%s %d w%d", i % 2 ? "steel spade" : "ceramic mug", i, i % 97);
        assert_ok(aisle_catalog_add_item(big, key, title, NULL, NULL, NULL, NAN));
        snprintf(key, sizeof key, "shopper%d", i);
        add_shopper(users, key, i % 2 ? "gardener" : "cook");
    }
    aisle_config *cfg = tu_shop_config(options, NULL);
    aisle_model *m;
    assert_ok(aisle_model_train_with_features(ds, yesterday, known, cfg, &m));
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    aisle_model_free(m);
    tu_add_ctx items = {buf, len, big, 0, "u1", "x1", "u0", "big2", (size_t)rows},
               shoppers = {buf, len, users, 1, "u1", "x1", "shopper3", "x0", (size_t)rows};
    save_ctx saves = {buf, len, big, users};
    uint64_t a = tu_oom_sweep("pair add_items", tu_add_step, &items, 1, 0, limit);
    uint64_t b = tu_oom_sweep("pair add_users", tu_add_step, &shoppers, 1, 0, limit);
    uint64_t c = tu_oom_sweep("pair add and save", save_step, &saves, 1, 0, 2 * limit);
    print_message("pair add failure points: items %llu, users %llu, add and save %llu\n", (unsigned long long)a,
                  (unsigned long long)b, (unsigned long long)c);
    assert_true(a > 20 && b > 20 && c > a);
    aisle_free(buf);
    aisle_config_free(cfg);
    aisle_catalog_free(users);
    aisle_catalog_free(big);
    aisle_catalog_free(known);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

static void test_add_allocation_failures_change_nothing(void **state) {
    (void)state;
    add_sweeps("model=pair hidden=8 heads=2 ff_hidden=16 blocks=1 epochs=1 threads=1 seed=5 hash_buckets=1024 "
               "recent_items=2 title_tokens=3 id_factors=2",
               200, 5000);
}

static void test_add_allocation_failures_change_nothing_with_bert(void **state) {
    (void)state;
    char enc[600], opts[1400];
    tu_bert_encoder_file(enc, sizeof enc, "pair_grow_oom");
    tu_bert_pair_options(opts, sizeof opts, enc, "head_epochs=1");
    add_sweeps(opts, 20, 5000);
}

/* One batch of test_server_adds_to_pair_while_readers_serve: 3 new
 * products and 3 new shoppers added to the server. */
typedef struct server_batch {
    aisle_server *s;
    const aisle_catalog *cat;
} server_batch;

static void add_batch(void *ctx, int b) {
    server_batch *c = ctx;
    aisle_catalog *day, *people;
    assert_ok(aisle_catalog_new(&day));
    assert_ok(aisle_catalog_new(&people));
    tu_late_products(day, c->cat, b * 3, 3);
    char key[32];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "shopper%d", b * 3 + i);
        add_shopper(people, key, i % 2 ? "gardener" : "cook");
    }
    size_t added;
    assert_ok(aisle_server_add_items(c->s, day, &added));
    assert_int_equal(added, 3);
    assert_ok(aisle_server_add_users(c->s, people, &added));
    assert_int_equal(added, 3);
    aisle_catalog_free(day);
    aisle_catalog_free(people);
}

/* A server: 4 readers recommend and score while one writer adds products
 * and shoppers in batches; then a swap to a model trained without them
 * replays the additions.  Under TSan (make check-tsan) this is the race
 * check of pair's add path. */
static void test_server_adds_to_pair_while_readers_serve(void **state) {
    (void)state;
    aisle_dataset *ds = tu_shop_events(&spec, true);
    aisle_catalog *cat = tu_shop_catalog(&spec), *yesterday = tu_catalog_without(cat, "new"), *known = shopper_table();
    aisle_config *cfg = config("epochs=1");
    aisle_model *m, *next;
    assert_ok(aisle_model_train_with_features(ds, yesterday, known, cfg, &m));
    assert_ok(aisle_model_train_with_features(ds, yesterday, known, cfg, &next));
    aisle_server *s;
    assert_ok(aisle_server_new(&s, m));
    enum { BATCHES = 4 };
    server_batch sb = {s, cat};
    tu_serve_while_adding(s, 4, N_USERS, "late3", BATCHES, add_batch, &sb);
    const aisle_model *a;
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(count(a, 0), N_ITEMS + 3 * BATCHES);
    assert_int_equal(count(a, 1), N_USERS + 3 * BATCHES);
    float x = score(a, "u0", "late2"), y = score(a, "u0", "late0"); /* two copies of newmug */
    assert_memory_equal(&x, &y, sizeof x);
    assert_ok(aisle_server_release(s, a));
    size_t replayed;
    assert_ok(aisle_server_swap(s, next, 0, &replayed));
    assert_int_equal(replayed, 2 * BATCHES);
    assert_ok(aisle_server_acquire(s, &a));
    assert_int_equal(count(a, 0), N_ITEMS + 3 * BATCHES);
    assert_int_equal(count(a, 1), N_USERS + 3 * BATCHES);
    assert_ok(aisle_server_release(s, a));
    aisle_server_free(s);
    aisle_config_free(cfg);
    aisle_catalog_free(known);
    aisle_catalog_free(yesterday);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_product_scores_exactly_as_in_the_training_catalog),
        cmocka_unit_test(test_added_product_with_bert_scores_exactly_as_in_the_training_catalog),
        cmocka_unit_test(test_added_shopper_reads_as_a_trained_one_with_that_profile),
        cmocka_unit_test(test_added_rows_with_id_embeddings_survive_a_save),
        cmocka_unit_test(test_add_bad_and_odd_input),
        cmocka_unit_test(test_add_allocation_failures_change_nothing),
        cmocka_unit_test(test_add_allocation_failures_change_nothing_with_bert),
        cmocka_unit_test(test_server_adds_to_pair_while_readers_serve),
    };
    tu_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
