/* test_data.c - datasets: statistics, splits, catalog. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/test_util.h"

/* A synthetic log: 40 users with 1..30 events each over 60 items, some
 * repeated pairs, timestamps increasing with noise, a few ratings. */
static aisle_dataset *make_log(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    core_rng r;
    rng_seed(&r, 7);
    int64_t t = 1000;
    for (int u = 0; u < 40; u++) {
        int n = 1 + (int)rng_below(&r, 30);
        for (int k = 0; k < n; k++) {
            char uk[16], ik[16];
            snprintf(uk, sizeof uk, "u%d", u);
            snprintf(ik, sizeof ik, "i%d", (int)rng_below(&r, 60));
            static const char *const ev[] = {"view", "cart", "purchase", "wish"};
            t += (int64_t)rng_below(&r, 5); /* ties happen */
            assert_ok(aisle_dataset_add_event(ds, uk, ik, ev[rng_below(&r, 4)], 1.0 + (double)rng_below(&r, 3),
                                              (int64_t)(t % 977) + 1));
        }
    }
    return ds;
}

static int same_event(const data_event *a, const data_event *b) {
    return a->user == b->user && a->item == b->item && a->type == b->type && a->value == b->value &&
           a->time == b->time;
}

/* Parts keep source order, so walking the source must consume both parts
 * exactly: that proves disjointness and union = source at once. */
static void assert_partition(const aisle_dataset *ds, const aisle_dataset *tr, const aisle_dataset *te) {
    size_t a = 0, b = 0;
    for (size_t e = 0; e < ds->n_events; e++) {
        if (a < tr->n_events && same_event(&ds->events[e], &tr->events[a])) a++;
        else if (b < te->n_events && same_event(&ds->events[e], &te->events[b])) b++;
        else fail_msg("source event %zu is in neither part", e);
    }
    assert_int_equal(a, tr->n_events);
    assert_int_equal(b, te->n_events);
    /* the dictionaries are the source's */
    assert_int_equal(tr->users.n, ds->users.n);
    assert_int_equal(te->items.n, ds->items.n);
    for (size_t i = 0; i < ds->items.n; i++) {
        const char *k1, *k2;
        assert_ok(aisle_dataset_item_key(ds, i, &k1));
        assert_ok(aisle_dataset_item_key(te, i, &k2));
        assert_string_equal(k1, k2);
    }
}

static int same_parts(const aisle_dataset *a, const aisle_dataset *b) {
    if (a->n_events != b->n_events) return 0;
    for (size_t e = 0; e < a->n_events; e++)
        if (!same_event(&a->events[e], &b->events[e])) return 0;
    return 1;
}

static void test_split_random_per_user_pairs(void **state) {
    (void)state;
    aisle_dataset *ds = make_log(), *tr, *te, *tr2, *te2, *tr3, *te3;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "split=random test_fraction=0.25 seed=3"));
    assert_ok(aisle_dataset_split(ds, cfg, &tr, &te));
    assert_partition(ds, tr, te);
    assert_true(te->n_events > 0);
    /* per user: round(0.25 * pairs) test pairs, at most pairs-1; no pair on both sides */
    const data_csr *m, *mtr, *mte;
    assert_ok(data_by_user(ds, &m));
    assert_ok(data_by_user(tr, &mtr));
    assert_ok(data_by_user(te, &mte));
    for (uint32_t u = 0; u < m->rows; u++) {
        size_t d = m->indptr[u + 1] - m->indptr[u];
        size_t want = (size_t)floor(0.25 * (double)d + 0.5);
        if (want > d - 1) want = d - 1;
        assert_int_equal(mte->indptr[u + 1] - mte->indptr[u], want);
        assert_int_equal(mtr->indptr[u + 1] - mtr->indptr[u], d - want);
        for (size_t k = mte->indptr[u]; k < mte->indptr[u + 1]; k++)
            for (size_t j = mtr->indptr[u]; j < mtr->indptr[u + 1]; j++)
                assert_int_not_equal(mte->indices[k], mtr->indices[j]);
    }
    /* deterministic for a seed, different for another */
    assert_ok(aisle_dataset_split(ds, cfg, &tr2, &te2));
    assert_true(same_parts(te, te2) && same_parts(tr, tr2));
    assert_ok(aisle_config_set_int(cfg, "seed", 4));
    assert_ok(aisle_dataset_split(ds, cfg, &tr3, &te3));
    assert_false(same_parts(te, te3));
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_dataset_free(tr2);
    aisle_dataset_free(te2);
    aisle_dataset_free(tr3);
    aisle_dataset_free(te3);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_split_time_global_cutoff(void **state) {
    (void)state;
    aisle_dataset *ds = make_log(), *tr, *te;
    assert_ok(aisle_dataset_split_spec(ds, "time:0.1", 1, &tr, &te));
    assert_partition(ds, tr, te);
    int64_t max_train = INT64_MIN, min_test = INT64_MAX;
    for (size_t e = 0; e < tr->n_events; e++) max_train = CORE_MAX(max_train, tr->events[e].time);
    for (size_t e = 0; e < te->n_events; e++) min_test = CORE_MIN(min_test, te->events[e].time);
    assert_true(max_train < min_test);
    /* at least the requested share (ties at the cutoff go to test) */
    assert_true((double)te->n_events >= floor(0.1 * (double)ds->n_events + 0.5));
    assert_true(te->n_events < ds->n_events / 4);
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    /* data without timestamps cannot be split by time */
    aisle_dataset *flat;
    assert_ok(aisle_dataset_new(&flat));
    assert_ok(aisle_dataset_add_event(flat, "a", "b", NULL, 1, 0));
    assert_status_msg(aisle_dataset_split_spec(flat, "time", 1, &tr, &te), AISLE_EINVAL, "timestamp");
    aisle_dataset_free(flat);
    aisle_dataset_free(ds);
}

static void test_split_last_per_user_after_train(void **state) {
    (void)state;
    aisle_dataset *ds = make_log(), *tr, *te;
    assert_ok(aisle_dataset_split_spec(ds, "last:2", 9, &tr, &te));
    assert_partition(ds, tr, te);
    size_t nu = ds->users.n;
    for (uint32_t u = 0; u < nu; u++) {
        size_t n_all = 0, n_te = 0;
        int64_t max_tr = INT64_MIN, min_te = INT64_MAX;
        for (size_t e = 0; e < ds->n_events; e++) n_all += ds->events[e].user == u;
        for (size_t e = 0; e < tr->n_events; e++)
            if (tr->events[e].user == u) max_tr = CORE_MAX(max_tr, tr->events[e].time);
        for (size_t e = 0; e < te->n_events; e++)
            if (te->events[e].user == u) {
                n_te++;
                min_te = CORE_MIN(min_te, te->events[e].time);
            }
        assert_int_equal(n_te, n_all > 2 ? 2 : 0);
        if (n_te) assert_true(max_tr <= min_te);
    }
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_dataset_free(ds);
}

static void test_split_kfold_folds_partition_events(void **state) {
    (void)state;
    aisle_dataset *ds = make_log();
    uint8_t *seen = calloc(ds->n_events, 1);
    size_t total = 0;
    for (int f = 0; f < 4; f++) {
        char spec[32];
        snprintf(spec, sizeof spec, "kfold:4:%d", f);
        aisle_dataset *tr, *te;
        assert_ok(aisle_dataset_split_spec(ds, spec, 5, &tr, &te));
        assert_partition(ds, tr, te);
        /* mark which source events are in this test fold (parts keep order) */
        size_t b = 0;
        for (size_t e = 0; e < ds->n_events && b < te->n_events; e++)
            if (same_event(&ds->events[e], &te->events[b])) {
                /* an event may match the test part's next event only once */
                if (!seen[e]) {
                    seen[e] = 1;
                    b++;
                }
            }
        assert_int_equal(b, te->n_events);
        total += te->n_events;
        aisle_dataset_free(tr);
        aisle_dataset_free(te);
    }
    assert_int_equal(total, ds->n_events);
    for (size_t e = 0; e < ds->n_events; e++) assert_true(seen[e]);
    free(seen);
    aisle_dataset_free(ds);
}

static void test_split_spec_errors_and_options(void **state) {
    (void)state;
    aisle_dataset *ds = make_log(), *tr = NULL, *te = NULL;
    assert_status_msg(aisle_dataset_split_spec(ds, "shuffle:0.2", 1, &tr, &te), AISLE_EINVAL, "found 'shuffle'");
    assert_status_msg(aisle_dataset_split_spec(ds, "random:abc", 1, &tr, &te), AISLE_EINVAL, "found 'abc'");
    assert_status_msg(aisle_dataset_split_spec(ds, "random:1.5", 1, &tr, &te), AISLE_ERANGE, "test fraction");
    assert_status_msg(aisle_dataset_split_spec(ds, "last:1.5", 1, &tr, &te), AISLE_EINVAL, "integer");
    assert_status_msg(aisle_dataset_split_spec(ds, "kfold:3:3", 1, &tr, &te), AISLE_ERANGE, "below folds=3");
    assert_status_msg(aisle_dataset_split_spec(ds, "kfold:3:1:2", 1, &tr, &te), AISLE_EINVAL, "end of spec");
    assert_status_msg(aisle_dataset_split(NULL, NULL, &tr, &te), AISLE_EINVAL, "NULL");
    assert_null(tr);
    assert_null(te);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_set(cfg, "split", "shuffle"), AISLE_EINVAL, "random|time|last|kfold");
    assert_ok(aisle_config_parse(cfg, "split=kfold folds=3 fold=2 seed=5"));
    assert_ok(aisle_dataset_split(ds, cfg, &tr, &te));
    aisle_dataset *tr2, *te2;
    assert_ok(aisle_dataset_split_spec(ds, "kfold:3:2", 5, &tr2, &te2));
    assert_true(same_parts(te, te2));
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_dataset_free(tr2);
    aisle_dataset_free(te2);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_split_survives_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds = make_log();
    const data_csr *m;
    assert_ok(data_by_user(ds, &m)); /* views cached outside the failing window */
    for (uint64_t n = 1;; n++) {
        aisle_dataset *tr = NULL, *te = NULL;
        tu_failalloc_install(n, 0);
        int rc = aisle_dataset_split_spec(ds, n % 2 ? "random:0.3" : "last:1", 2, &tr, &te);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (rc == AISLE_OK) {
            aisle_dataset_free(tr);
            aisle_dataset_free(te);
            if (n > 20) break;
            continue;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_null(tr);
        assert_null(te);
        assert_int_equal(live, 0); /* nothing leaked */
        assert_true(n < 200);
    }
    aisle_dataset_free(ds);
}

/* ---- catalog ---- */

static void test_catalog_add_update_and_getters(void **state) {
    (void)state;
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "A1", "Desk lamp", "LED, warm white", "Home > Lighting", "Lumo", 24.5));
    assert_ok(aisle_catalog_add_item(cat, "B2", "Mug", NULL, NULL, NULL, NAN));
    assert_ok(aisle_catalog_set_attribute(cat, "A1", "color", "black"));
    assert_ok(aisle_catalog_set_attribute(cat, "A1", "watts", "6"));
    assert_ok(aisle_catalog_set_attribute(cat, "A1", "color", "white")); /* replaces */
    size_t n, idx;
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_catalog_index(cat, "B2", &idx));
    assert_int_equal(idx, 1);
    const char *t, *name;
    assert_ok(aisle_catalog_key(cat, 0, &t));
    assert_string_equal(t, "A1");
    assert_ok(aisle_catalog_item_text(cat, "A1", "category", &t));
    assert_string_equal(t, "Home > Lighting");
    assert_ok(aisle_catalog_item_text(cat, "A1", "color", &t));
    assert_string_equal(t, "white");
    assert_ok(aisle_catalog_item_text(cat, "B2", "brand", &t));
    assert_string_equal(t, "");
    double price;
    assert_ok(aisle_catalog_item_price(cat, "A1", &price));
    assert_true(price == 24.5);
    assert_ok(aisle_catalog_item_price(cat, "B2", &price));
    assert_true(isnan(price));
    assert_ok(aisle_catalog_item_attribute_count(cat, "A1", &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_catalog_item_attribute(cat, "A1", 1, &name, &t));
    assert_string_equal(name, "watts");
    assert_string_equal(t, "6");
    /* an update replaces fields and keeps attributes */
    assert_ok(aisle_catalog_add_item(cat, "A1", "Desk lamp II", NULL, "Home > Lighting", "Lumo", 19.0));
    assert_ok(aisle_catalog_item_text(cat, "A1", "title", &t));
    assert_string_equal(t, "Desk lamp II");
    assert_ok(aisle_catalog_item_text(cat, "A1", "color", &t));
    assert_string_equal(t, "white");
    /* internal accessors used by models */
    assert_int_equal(data_catalog_size(cat), 2);
    assert_int_equal(data_catalog_find(cat, "B2", 2), 1);
    assert_int_equal(data_catalog_find(cat, "nope", 4), -1);
    assert_string_equal(data_catalog_field(cat, 0, DATA_FIELD_BRAND), "Lumo");
    assert_string_equal(data_catalog_field(cat, 9, DATA_FIELD_BRAND), "");
    assert_true(data_catalog_price(cat, 0) == 19.0);
    assert_string_equal(data_catalog_key(cat, 1), "B2");
    /* errors */
    assert_status_msg(aisle_catalog_item_text(cat, "Z", "title", &t), AISLE_ENOTFOUND, "no item 'Z'");
    assert_status_msg(aisle_catalog_item_text(cat, "B2", "color", &t), AISLE_ENOTFOUND, "'color'");
    assert_status_msg(aisle_catalog_set_attribute(cat, "Z", "a", "b"), AISLE_ENOTFOUND, "'Z'");
    assert_status_msg(aisle_catalog_add_item(cat, "", NULL, NULL, NULL, NULL, 1), AISLE_EINVAL, "empty key");
    assert_status_msg(aisle_catalog_add_item(cat, "C", "bad \xff", NULL, NULL, NULL, 1), AISLE_EINVAL, "UTF-8");
    assert_status_msg(aisle_catalog_item_attribute(cat, "A1", 2, &name, &t), AISLE_ERANGE, "out of range");
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 2);
    aisle_catalog_free(cat);
    aisle_catalog_free(NULL);
}

static void test_catalog_load_header_attributes_and_rollback(void **state) {
    (void)state;
    const char *csv = "item_id,title,category,price,color,stock\n"
                      "A1,Desk lamp,Home > Lighting,24.50,black,3\n"
                      "B2,\"Mug, large\",Kitchen,,\"\",\n"
                      "A1,,Home > Lighting,19,white,\n";
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_load_buffer(cat, csv, strlen(csv), "cat.csv", NULL));
    size_t n, read, loaded, skipped;
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_catalog_load_report(cat, &read, &loaded, &skipped));
    assert_int_equal(read, 3);
    assert_int_equal(loaded, 3);
    const char *t;
    assert_ok(aisle_catalog_item_text(cat, "A1", "title", &t));
    assert_string_equal(t, "Desk lamp"); /* the empty title of the update kept it */
    assert_ok(aisle_catalog_item_text(cat, "A1", "color", &t));
    assert_string_equal(t, "white");
    assert_ok(aisle_catalog_item_text(cat, "A1", "stock", &t));
    assert_string_equal(t, "3");
    assert_ok(aisle_catalog_item_text(cat, "B2", "title", &t));
    assert_string_equal(t, "Mug, large");
    assert_status_msg(aisle_catalog_item_text(cat, "B2", "color", &t), AISLE_ENOTFOUND, "color");
    double price;
    assert_ok(aisle_catalog_item_price(cat, "A1", &price));
    assert_true(price == 19.0);
    assert_ok(aisle_catalog_item_price(cat, "B2", &price));
    assert_true(isnan(price));
    /* a bad row in strict mode: nothing of the file is applied, not even updates */
    const char *bad = "item_id,title,price\nA1,Renamed,1\nC3,New,abc\n";
    assert_status_msg(aisle_catalog_load_buffer(cat, bad, strlen(bad), "bad.csv", NULL), AISLE_EFORMAT,
                      "bad.csv:3:8: expected a price (a number or empty) in column 'price', found 'abc'");
    assert_ok(aisle_catalog_item_text(cat, "A1", "title", &t));
    assert_string_equal(t, "Desk lamp");
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_catalog_load_report(cat, &read, NULL, NULL));
    assert_int_equal(read, 3); /* the report of the last successful load */
    /* lenient: the bad row is skipped and reported */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "lenient", "true"));
    assert_ok(aisle_catalog_load_buffer(cat, bad, strlen(bad), "bad.csv", cfg));
    assert_ok(aisle_catalog_load_report(cat, &read, &loaded, &skipped));
    assert_int_equal(loaded, 1);
    assert_int_equal(skipped, 1);
    const char *msg;
    assert_ok(aisle_catalog_load_message(cat, 0, &msg));
    assert_string_equal(msg, "bad.csv:3:8: expected a price (a number or empty) in column 'price', found 'abc'");
    assert_ok(aisle_catalog_item_text(cat, "A1", "title", &t));
    assert_string_equal(t, "Renamed");
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
}

static void test_catalog_load_latin1_pipe_without_header(void **state) {
    (void)state;
    const char *item = "1|Toy Story (1995)|01-Jan-1995||http://x|0|1\n543|Mis\xe9rables, Les (1995)|01-Jan-1995||http://y|1|0\n";
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_status_msg(aisle_catalog_load_buffer(cat, item, strlen(item), "u.item", NULL), AISLE_EFORMAT,
                      "u.item:2:5: expected UTF-8 text in column 'title', found byte 0xe9 at byte 4 of the field "
                      "(option encoding=latin1?)");
    size_t n;
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 0);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "encoding", "latin1"));
    assert_ok(aisle_catalog_load_buffer(cat, item, strlen(item), "u.item", cfg));
    const char *t;
    assert_ok(aisle_catalog_item_text(cat, "543", "title", &t));
    assert_string_equal(t, "Mis\xc3\xa9rables, Les (1995)");
    size_t na;
    assert_ok(aisle_catalog_item_attribute_count(cat, "1", &na));
    assert_int_equal(na, 0); /* without a header other columns are ignored */
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
}

static void test_catalog_survives_allocation_failures(void **state) {
    (void)state;
    const char *csv = "sku,name,brand,price,size\nA,Lamp,Lumo,3,L\nB,Mug,Cupco,,M\n";
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "A", "Old", NULL, NULL, NULL, 1));
    int ok = 0;
    for (uint64_t n = 1; n < 500 && !ok; n++) {
        tu_failalloc_install(n, 0);
        int rc = aisle_catalog_load_buffer(cat, csv, strlen(csv), "c.csv", NULL);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (rc == AISLE_OK) {
            ok = 1;
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_int_equal(live, 0);
        const char *t;
        assert_ok(aisle_catalog_item_text(cat, "A", "title", &t));
        assert_string_equal(t, "Old");
    }
    assert_true(ok);
    const char *t;
    assert_ok(aisle_catalog_item_text(cat, "B", "brand", &t));
    assert_string_equal(t, "Cupco");
    assert_ok(aisle_catalog_item_text(cat, "A", "size", &t));
    assert_string_equal(t, "L");
    aisle_catalog_free(cat);
}

/* ---- statistics ---- */

static void test_describe_and_statistics(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "u1", "i1", "view", 1, 1291191960));
    assert_ok(aisle_dataset_add_event(ds, "u1", "i1", "purchase", 2, 1291191990));
    assert_ok(aisle_dataset_add_event(ds, "u2", "i2", "wish", 1, 0));
    assert_ok(aisle_dataset_add_event(ds, "u2", "i1", "view", 1, 1291278360));
    size_t n;
    double d;
    assert_ok(aisle_dataset_pair_count(ds, &n));
    assert_int_equal(n, 3);
    assert_ok(aisle_dataset_density(ds, &d));
    assert_true(d == 0.75);
    assert_ok(aisle_dataset_event_type_count(ds, "view", &n));
    assert_int_equal(n, 2);
    assert_ok(aisle_dataset_event_type_count(ds, "cart", &n));
    assert_int_equal(n, 0);
    assert_status_msg(aisle_dataset_event_type_count(ds, "like", &n), AISLE_ENOTFOUND, "'like'");
    int64_t first, last;
    assert_ok(aisle_dataset_time_range(ds, &first, &last));
    assert_int_equal(first, 1291191960); /* timestamp 0 (unknown) does not count */
    assert_int_equal(last, 1291278360);
    char text[1024];
    size_t need;
    assert_ok(aisle_dataset_describe(ds, text, sizeof text, &need));
    assert_int_equal(need, strlen(text));
    assert_string_equal(text,
                        "users: 2\nitems: 2\nevents: 4\npairs: 3\ndensity: 0.75\nexplicit ratings: no\n"
                        "time range: 2010-12-01 08:26:00 .. 2010-12-02 08:26:00 UTC\n"
                        "events view: 2 (weight 1)\nevents cart: 0 (weight 3)\nevents purchase: 1 (weight 5)\n"
                        "events rating: 0 (weight 1)\nevents wish: 1 (weight 1)\n");
    assert_status_msg(aisle_dataset_describe(ds, text, 10, &need), AISLE_ERANGE, NULL);
    aisle_dataset *empty;
    assert_ok(aisle_dataset_new(&empty));
    assert_ok(aisle_dataset_density(empty, &d));
    assert_true(d == 0.0);
    assert_ok(aisle_dataset_describe(empty, text, sizeof text, NULL));
    assert_non_null(strstr(text, "time range: none"));
    aisle_dataset_free(empty);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_random_per_user_pairs),
        cmocka_unit_test(test_split_time_global_cutoff),
        cmocka_unit_test(test_split_last_per_user_after_train),
        cmocka_unit_test(test_split_kfold_folds_partition_events),
        cmocka_unit_test(test_split_spec_errors_and_options),
        cmocka_unit_test(test_split_survives_allocation_failures),
        cmocka_unit_test(test_describe_and_statistics),
        cmocka_unit_test(test_catalog_add_update_and_getters),
        cmocka_unit_test(test_catalog_load_header_attributes_and_rollback),
        cmocka_unit_test(test_catalog_load_latin1_pipe_without_header),
        cmocka_unit_test(test_catalog_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
