/* test_data_real.c - loaders on the real shared datasets (skipped when
 * absent): MovieLens 100k and UCI Online Retail.  The expected counts were
 * computed independently (Python's csv module over the same files) and are
 * stated in docs/DATA.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/test_util.h"

static void test_real_movielens_100k_ratings(void **state) {
    (void)state;
    char path[1024];
    if (!tu_shared_file(path, sizeof path, "ml-100k/u.data")) skip();
    aisle_dataset *ds;
    aisle_config *cfg;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "event", "rating"));
    assert_ok(aisle_dataset_load(ds, path, cfg)); /* tab, no header: by extension .data */
    size_t n;
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, 100000);
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, 943);
    assert_ok(aisle_dataset_item_count(ds, &n));
    assert_int_equal(n, 1682);
    assert_ok(aisle_dataset_pair_count(ds, &n));
    assert_int_equal(n, 100000); /* each user rated each movie once */
    assert_ok(aisle_dataset_event_type_count(ds, "rating", &n));
    assert_int_equal(n, 100000);
    int64_t first, last;
    assert_ok(aisle_dataset_time_range(ds, &first, &last));
    assert_int_equal(first, 874724710);
    assert_int_equal(last, 893286638);
    /* leave-last-one-out gives one test event per user (all have >= 20) */
    aisle_dataset *tr, *te;
    assert_ok(aisle_dataset_split_spec(ds, "last:1", 1, &tr, &te));
    assert_ok(aisle_dataset_event_count(te, &n));
    assert_int_equal(n, 943);
    aisle_dataset_free(tr);
    aisle_dataset_free(te);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_real_movielens_items_latin1_catalog(void **state) {
    (void)state;
    char path[1024];
    if (!tu_shared_file(path, sizeof path, "ml-100k/u.item")) skip();
    aisle_catalog *cat;
    aisle_config *cfg;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_config_new(&cfg));
    /* 12 bytes of the file are latin-1 (e.g. "Misérables"): UTF-8 mode names the first */
    assert_status_msg(aisle_catalog_load(cat, path, cfg), AISLE_EFORMAT, "expected UTF-8 text in column 'title'");
    assert_ok(aisle_config_set(cfg, "encoding", "latin1"));
    assert_ok(aisle_catalog_load(cat, path, cfg)); /* '|' is sniffed */
    size_t n;
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 1682);
    const char *t;
    assert_ok(aisle_catalog_item_text(cat, "1", "title", &t));
    assert_string_equal(t, "Toy Story (1995)");
    assert_ok(aisle_catalog_item_text(cat, "543", "title", &t));
    assert_string_equal(t, "Mis\xc3\xa9rables, Les (1995)");
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
}

static void test_real_online_retail(void **state) {
    (void)state;
    char path[1024];
    if (!tu_shared_file(path, sizeof path, "online-retail/OnlineRetail.csv.gz")) skip();
    aisle_dataset *ds;
    aisle_config *cfg;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_config_new(&cfg));
    /* strict: the first row without a CustomerID stops the load, nothing is kept */
    assert_status_msg(aisle_dataset_load(ds, path, cfg), AISLE_EFORMAT,
                      "OnlineRetail.csv.gz:624:40: expected a user key in column 'CustomerID', found an empty field");
    size_t n, read, loaded, skipped, filtered;
    assert_ok(aisle_dataset_event_count(ds, &n));
    assert_int_equal(n, 0);
    /* lenient: header names are recognised (CustomerID, StockCode, Quantity, InvoiceDate) */
    assert_ok(aisle_config_set(cfg, "lenient", "true"));
    assert_ok(aisle_dataset_load(ds, path, cfg));
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered));
    assert_int_equal(read, 541909);
    assert_int_equal(skipped, 135080); /* empty CustomerID */
    assert_int_equal(loaded, 406829);
    assert_int_equal(filtered, 0);
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, 4372);
    assert_ok(aisle_dataset_item_count(ds, &n));
    assert_int_equal(n, 3684);
    int64_t first, last;
    assert_ok(aisle_dataset_time_range(ds, &first, &last));
    assert_int_equal(first, 1291191960); /* 2010-12-01 08:26:00 */
    assert_int_equal(last, 1323435000);  /* 2011-12-09 12:50:00 */
    aisle_dataset_free(ds);
    /* returns dropped: rows with a negative quantity are filtered (before the user check) */
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_config_set(cfg, "negative", "skip"));
    assert_ok(aisle_dataset_load(ds, path, cfg));
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered));
    assert_int_equal(loaded, 397924);
    assert_int_equal(filtered, 10624);
    assert_int_equal(skipped, 133361);
    assert_ok(aisle_dataset_user_count(ds, &n));
    assert_int_equal(n, 4339);
    assert_ok(aisle_dataset_item_count(ds, &n));
    assert_int_equal(n, 3665);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_movielens_100k_ratings),
        cmocka_unit_test(test_real_movielens_items_latin1_catalog),
        cmocka_unit_test(test_real_online_retail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
