/* test_search.c - product search: ranking, typo and prefix expansion, CJK,
 * filters, facets, incremental updates, save/load, bad input, semantic
 * fusion, personalization and suggestions. */
#include "util/test_util.h"
#include "util/search_util.h"

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct product {
    const char *key, *title, *desc, *cat, *brand;
    double price;
    const char *color;
} product;

static const product products[] = {
    {"p1", "Wireless Earbuds", "Bluetooth earbuds with charging case", "Electronics > Headphones", "Sonic", 49, "black"},
    {"p2", "Over-Ear Headphones", "Wireless headphones, noise cancelling", "Electronics > Headphones", "Sonic", 129, "white"},
    {"p3", "Charging Cable", "USB-C cable for earbuds and phones", "Electronics > Chargers", "Volt", 9, "black"},
    {"p4", "Running Shoes", "Light red running shoes for road races", "Fashion > Shoes", "Stride", 89, "red"},
    {"p5", "Leather Boots", "Brown leather boots, waterproof", "Fashion > Shoes", "Stride", 149, "brown"},
    {"p6", "Yoga Mat", "Non-slip mat for yoga and pilates", "Sports > Yoga", "Zen", 25, "green"},
    {"p7", "Red Lunch Bag", "Insulated lunch bag, red", "Kitchen > Storage", "Pack", 15, "red"},
    {"p8", "蓝牙耳机 Pro", "无线蓝牙耳机 with charging case", "Electronics > Headphones", "Sonic", 59, "black"},
    {"p9", "Heart Candle Holder", "White hanging heart candle holder", "Home > Decor", "Glow", 12, "white"},
    {"p10", "Lunch Box", "Bento lunch box with two compartments", "Kitchen > Storage", "Pack", 18, "blue"},
};
enum { N_PRODUCTS = sizeof products / sizeof products[0] };

static aisle_catalog *make_catalog(void) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    for (size_t i = 0; i < N_PRODUCTS; i++) {
        const product *p = &products[i];
        assert_ok(aisle_catalog_add_item(cat, p->key, p->title, p->desc, p->cat, p->brand, p->price));
        assert_ok(aisle_catalog_set_attribute(cat, p->key, "color", p->color));
    }
    return cat;
}

static aisle_search_index *make_index(void) {
    aisle_catalog *cat = make_catalog();
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_catalog_free(cat);
    return idx;
}

/* Runs a query; returns the results (caller frees). */
static aisle_search_results *run(const aisle_search_index *idx, const char *q, size_t k, const char *const *f,
                                 size_t nf, const char *opts) {
    return tu_search(idx, q, k, f, nf, opts);
}

static const char *key_at(const aisle_search_results *r, size_t i) {
    const char *k;
    assert_ok(aisle_search_results_hit(r, i, &k, NULL));
    return k;
}

static size_t count_of(const aisle_search_results *r) {
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    return n;
}

static int has_key(const aisle_search_results *r, const char *key) {
    for (size_t i = 0; i < count_of(r); i++)
        if (!strcmp(key_at(r, i), key)) return 1;
    return 0;
}

static void test_title_match_ranks_above_description_match(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    /* "earbuds" is in p1's title and description, in p3's description only */
    aisle_search_results *r = run(idx, "earbuds ", 10, NULL, 0, NULL);
    assert_true(count_of(r) >= 2);
    assert_string_equal(key_at(r, 0), "p1");
    assert_true(has_key(r, "p3"));
    size_t total;
    assert_ok(aisle_search_results_total(r, &total));
    assert_int_equal(total, 2); /* p1 and p3 ("earbuds" nowhere else) */
    const char *m;
    assert_ok(aisle_search_results_matched(r, 0, &m));
    assert_string_equal(m, "earbuds");
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
}

static void test_bm25f_score_matches_the_formula(void **state) {
    (void)state;
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "a", "lamp", "desk lamp bright", "", "", NAN));
    assert_ok(aisle_catalog_add_item(cat, "b", "chair", "office chair", "", "", NAN));
    assert_ok(aisle_catalog_add_item(cat, "c", "table", "wooden table", "", "", NAN));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_search_results *r = run(idx, "lamp.", 3, NULL, 0, "search_proximity=0");
    assert_int_equal(count_of(r), 1);
    double score;
    assert_ok(aisle_search_results_hit(r, 0, NULL, &score));
    /* N=3, df=1; title: tf 1, len 1, avg 1; description: tf 1, len 3, avg 7/3 */
    double k1 = 1.2, b = 0.75, idf = log(1 + (3 - 1 + 0.5) / (1 + 0.5));
    double tf = 3.0 * 1 / (1 - b + b * 1 / 1.0) + 1.0 * 1 / (1 - b + b * 3 / (7.0 / 3));
    double expect = idf * tf * (k1 + 1) / (k1 + tf);
    assert_true(fabs(score - expect) < 1e-4);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

static void test_typo_is_corrected_with_length_thresholds(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_search_results *r = run(idx, "wireles earbuds.", 5, NULL, 0, NULL);
    assert_true(count_of(r) >= 1);
    assert_string_equal(key_at(r, 0), "p1");
    const char *why, *m;
    assert_ok(aisle_search_results_explain(r, 0, &why));
    assert_non_null(strstr(why, "wireles->wireless (1 edit)"));
    assert_ok(aisle_search_results_matched(r, 0, &m));
    assert_non_null(strstr(m, "wireless"));
    aisle_search_results_free(r);
    /* transposition counts one edit */
    r = run(idx, "lxathxr.", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0); /* 2 edits from leather: 7 characters allow 1 */
    aisle_search_results_free(r);
    r = run(idx, "leathr.", 5, NULL, 0, NULL);
    assert_true(count_of(r) == 1 && !strcmp(key_at(r, 0), "p5"));
    aisle_search_results_free(r);
    r = run(idx, "laether.", 5, NULL, 0, NULL);
    assert_true(count_of(r) == 1 && !strcmp(key_at(r, 0), "p5"));
    aisle_search_results_free(r);
    /* two edits from 9 characters */
    r = run(idx, "compartmnts.", 5, NULL, 0, NULL);
    assert_true(has_key(r, "p10"));
    aisle_search_results_free(r);
    /* words under 5 characters are never corrected */
    r = run(idx, "bot.", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    /* typo tolerance off */
    r = run(idx, "wireles.", 5, NULL, 0, "search_typo=false");
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
}

static void test_edit_distance_is_bounded_osa(void **state) {
    (void)state;
    uint32_t a[16], b[16];
    size_t na = search_codepoints("heart", 5, a, 16), nb = search_codepoints("haert", 5, b, 16);
    assert_int_equal(search_edit_distance(a, na, b, nb, 2), 1);
    nb = search_codepoints("hart", 4, b, 16);
    assert_int_equal(search_edit_distance(a, na, b, nb, 2), 1);
    nb = search_codepoints("earth", 5, b, 16);
    assert_int_equal(search_edit_distance(a, na, b, nb, 2), 2);
    nb = search_codepoints("xyz", 3, b, 16);
    assert_int_equal(search_edit_distance(a, na, b, nb, 2), 3); /* max + 1 */
    na = search_codepoints("耳机", strlen("耳机"), a, 16);
    nb = search_codepoints("耳朵", strlen("耳朵"), b, 16);
    assert_int_equal(search_edit_distance(a, na, b, nb, 2), 1);
}

static void test_prefix_completes_the_last_word_only(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_search_results *r = run(idx, "headph", 5, NULL, 0, NULL);
    assert_true(count_of(r) >= 1);
    assert_string_equal(key_at(r, 0), "p2");
    const char *why;
    assert_ok(aisle_search_results_explain(r, 0, &why));
    assert_non_null(strstr(why, "prefix headph->headphones"));
    aisle_search_results_free(r);
    r = run(idx, "headph ", 5, NULL, 0, NULL); /* finished word: no completion */
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    r = run(idx, "headph", 5, NULL, 0, "search_prefix=false");
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
}

static void test_cjk_and_mixed_queries(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_search_results *r = run(idx, "蓝牙耳机", 5, NULL, 0, NULL);
    assert_true(count_of(r) >= 1);
    assert_string_equal(key_at(r, 0), "p8");
    aisle_search_results_free(r);
    r = run(idx, "耳机 charging", 5, NULL, 0, NULL);
    assert_string_equal(key_at(r, 0), "p8"); /* both words */
    assert_true(has_key(r, "p1"));
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
}

static void test_proximity_prefers_adjacent_words(void **state) {
    (void)state;
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "far", "", "red cotton cloth and a blue lunch box", "", "", NAN));
    assert_ok(aisle_catalog_add_item(cat, "near", "", "blue cotton cloth and a red lunch box", "", "", NAN));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_search_results *r = run(idx, "red lunch.", 2, NULL, 0, NULL);
    assert_int_equal(count_of(r), 2);
    assert_string_equal(key_at(r, 0), "near");
    aisle_search_results_free(r);
    r = run(idx, "red lunch.", 2, NULL, 0, "search_proximity=0");
    double s0, s1;
    assert_ok(aisle_search_results_hit(r, 0, NULL, &s0));
    assert_ok(aisle_search_results_hit(r, 1, NULL, &s1));
    assert_true(s0 == s1);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

static void test_filters_inside_retrieval(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    const char *f1[] = {"category=electronics > head"};
    aisle_search_results *r = run(idx, "charging.", 10, f1, 1, NULL);
    assert_int_equal(count_of(r), 2); /* p1, p8; not the cable in Chargers */
    assert_false(has_key(r, "p3"));
    aisle_search_results_free(r);
    const char *f2[] = {"brand=volt"};
    r = run(idx, "charging.", 10, f2, 1, NULL);
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "p3");
    aisle_search_results_free(r);
    const char *f3[] = {"price=40..60"};
    r = run(idx, "charging.", 10, f3, 1, NULL);
    assert_int_equal(count_of(r), 2);
    aisle_search_results_free(r);
    const char *f4[] = {"color=red"};
    r = run(idx, "red.", 10, f4, 1, NULL);
    assert_int_equal(count_of(r), 2);
    aisle_search_results_free(r);
    const char *f5[] = {"color=purple"};
    r = run(idx, "red.", 10, f5, 1, NULL);
    assert_int_equal(count_of(r), 0);
    size_t total;
    assert_ok(aisle_search_results_total(r, &total));
    assert_int_equal(total, 0);
    aisle_search_results_free(r);
    const char *f6[] = {"price=..20", "category=kitchen"};
    r = run(idx, "lunch.", 10, f6, 2, NULL);
    assert_int_equal(count_of(r), 2);
    aisle_search_results_free(r);
    const char *bad1[] = {"price=cheap"}, *bad2[] = {"no equals sign"};
    aisle_search_results *x = NULL;
    assert_status_msg(aisle_search(idx, "red", AISLE_NUL_TERMINATED, 5, bad1, 1, NULL, NULL, NULL, 0, NULL, &x),
                      AISLE_EINVAL, "price");
    assert_status_msg(aisle_search(idx, "red", AISLE_NUL_TERMINATED, 5, bad2, 1, NULL, NULL, NULL, 0, NULL, &x),
                      AISLE_EINVAL, "NAME=VALUE");
    assert_null(x);
    aisle_search_index_free(idx);
}

static void test_facets_count_every_match(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "search_facets", "brand,category,color"));
    aisle_search_results *r;
    assert_ok(aisle_search(idx, "charging case cable.", AISLE_NUL_TERMINATED, 1, NULL, 0, NULL, NULL, NULL, 0, cfg, &r));
    aisle_config_free(cfg);
    size_t nf, nv, c;
    const char *name, *v;
    assert_ok(aisle_search_results_facet_count(r, &nf));
    assert_int_equal(nf, 3);
    assert_ok(aisle_search_results_facet(r, 0, &name, &nv));
    assert_string_equal(name, "brand");
    assert_int_equal(nv, 2);
    assert_ok(aisle_search_results_facet_value(r, 0, 0, &v, &c));
    assert_string_equal(v, "Sonic");
    assert_int_equal(c, 2);
    assert_ok(aisle_search_results_facet_value(r, 0, 1, &v, &c));
    assert_string_equal(v, "Volt");
    assert_int_equal(c, 1);
    assert_ok(aisle_search_results_facet(r, 2, &name, &nv));
    assert_string_equal(name, "color");
    assert_ok(aisle_search_results_facet_value(r, 2, 0, &v, &c));
    assert_string_equal(v, "black");
    assert_int_equal(c, 3);
    assert_int_equal(aisle_search_results_facet_value(r, 2, 5, &v, &c), AISLE_ERANGE);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
}

static void test_incremental_add_replace_remove(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "p11", "Espresso Machine", "Dual boiler espresso", "Kitchen > Coffee",
                                     "Brew", 499));
    assert_ok(aisle_search_index_add(idx, cat, "p11"));
    size_t n;
    assert_ok(aisle_search_index_count(idx, &n));
    assert_int_equal(n, N_PRODUCTS + 1);
    aisle_search_results *r = run(idx, "espreso.", 5, NULL, 0, NULL); /* new term, typo scan of the tail */
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "p11");
    aisle_search_results_free(r);
    /* replace p4's text: old words stop matching */
    assert_ok(aisle_catalog_add_item(cat, "p4", "Trail Sandals", "Open sandals", "Fashion > Shoes", "Stride", 59));
    assert_ok(aisle_search_index_add(idx, cat, "p4"));
    assert_ok(aisle_search_index_count(idx, &n));
    assert_int_equal(n, N_PRODUCTS + 1);
    r = run(idx, "running.", 5, NULL, 0, NULL);
    assert_false(has_key(r, "p4"));
    aisle_search_results_free(r);
    r = run(idx, "sandals.", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "p4");
    aisle_search_results_free(r);
    assert_ok(aisle_search_index_remove(idx, "p1"));
    assert_status_msg(aisle_search_index_remove(idx, "p1"), AISLE_ENOTFOUND, "p1");
    assert_int_equal(aisle_search_index_add(idx, cat, "nope"), AISLE_ENOTFOUND);
    r = run(idx, "earbuds.", 5, NULL, 0, NULL);
    assert_false(has_key(r, "p1"));
    assert_true(has_key(r, "p3"));
    aisle_search_results_free(r);
    /* build refuses a non-empty index */
    assert_int_equal(aisle_search_index_build(idx, cat, NULL), AISLE_ESTATE);
    /* many adds: the helpers re-index new terms on the way */
    char key[32], title[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "n%d", i);
        snprintf(title, sizeof title, "gadget%c%c%c widget", 'a' + i % 26, 'a' + i / 26 % 26, 'a' + i / 676);
        if (i == 2999) snprintf(title, sizeof title, "zebrawood widget");
        assert_ok(aisle_catalog_add_item(cat, key, title, "", "", "", 1));
        assert_ok(aisle_search_index_add(idx, cat, key));
    }
    r = run(idx, "zebrawod.", 5, NULL, 0, NULL); /* a deletion */
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "n2999");
    aisle_search_results_free(r);
    r = run(idx, "gadgetaaa.", 5, NULL, 0, NULL); /* exact, found after the helpers were rebuilt */
    assert_string_equal(key_at(r, 0), "n0");
    aisle_search_results_free(r);
    aisle_catalog_free(cat);
    aisle_search_index_free(idx);
}

static void same_results(const aisle_search_index *a, const aisle_search_index *b, const char *q) {
    aisle_search_results *ra = run(a, q, 10, NULL, 0, NULL), *rb = run(b, q, 10, NULL, 0, NULL);
    assert_int_equal(count_of(ra), count_of(rb));
    for (size_t i = 0; i < count_of(ra); i++) {
        double sa, sb;
        const char *ka, *kb;
        assert_ok(aisle_search_results_hit(ra, i, &ka, &sa));
        assert_ok(aisle_search_results_hit(rb, i, &kb, &sb));
        assert_string_equal(ka, kb);
        assert_true(fabs(sa - sb) < 1e-6);
    }
    aisle_search_results_free(ra);
    aisle_search_results_free(rb);
}

static void test_save_load_round_trip_and_compaction(void **state) {
    (void)state;
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "search_save");
    snprintf(path, sizeof path, "%s/idx.aisle", dir);
    aisle_search_index *idx = make_index(), *back;
    assert_ok(aisle_search_index_save(idx, path, NULL));
    assert_ok(aisle_search_index_load(&back, path, NULL));
    const char *qs[] = {"earbuds", "wireles charging", "蓝牙", "red lunch bag", "head", "leather boots."};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) same_results(idx, back, qs[i]);
    aisle_search_index_free(back);
    /* removed products are dropped from the file */
    assert_ok(aisle_search_index_remove(idx, "p5"));
    assert_ok(aisle_search_index_save(idx, path, NULL));
    assert_ok(aisle_search_index_load(&back, path, NULL));
    size_t n;
    assert_ok(aisle_search_index_count(back, &n));
    assert_int_equal(n, N_PRODUCTS - 1);
    aisle_search_results *r = run(back, "leather.", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    /* the loaded index takes additions */
    aisle_catalog *cat = make_catalog();
    assert_ok(aisle_search_index_add(back, cat, "p5"));
    r = run(back, "leather.", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 1);
    aisle_search_results_free(r);
    aisle_catalog_free(cat);
    aisle_search_index_free(back);
    /* a model loader refuses it, and it refuses other files */
    aisle_model *m = NULL;
    assert_true(aisle_model_load(&m, path, NULL) != AISLE_OK);
    assert_null(m);
    assert_status_msg(aisle_search_index_load_buffer(&back, "not an index", 12, NULL), AISLE_EFORMAT, NULL);
    snprintf(path, sizeof path, "%s/missing.aisle", dir);
    assert_int_equal(aisle_search_index_load(&back, path, NULL), AISLE_EIO);
    aisle_search_index_free(idx);
}

static void test_bad_queries_give_defined_results(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_search_results *r = run(idx, "", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    r = run(idx, "?!... ,,, ---", 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    const char bad_utf8[] = "\xff\xfe red \xc3\x28 lunch \xed\xa0\x80";
    r = run(idx, bad_utf8, 5, NULL, 0, NULL);
    assert_string_equal(key_at(r, 0), "p7");
    aisle_search_results_free(r);
    char *big = malloc(10241);
    assert_non_null(big);
    for (int i = 0; i < 10240; i++) big[i] = "abcdefghij klmnopqrst"[i % 21];
    big[10240] = 0;
    r = run(idx, big, 5, NULL, 0, NULL);
    aisle_search_results_free(r);
    /* 1,000 words: the first 32 distinct ones count */
    char *many = malloc(1000 * 12 + 1);
    assert_non_null(many);
    size_t o = 0;
    for (int i = 0; i < 1000; i++) o += (size_t)sprintf(many + o, "w%d ", i);
    strcpy(many + o, "lunch");
    r = run(idx, many, 5, NULL, 0, NULL);
    assert_int_equal(count_of(r), 0); /* "lunch" is word 1001 */
    aisle_search_results_free(r);
    free(big);
    free(many);
    /* a huge k is bounded by the products */
    r = run(idx, "lunch", (size_t)1 << 40, NULL, 0, NULL);
    assert_int_equal(count_of(r), 2);
    aisle_search_results_free(r);
    /* k = 0 gives the total only */
    r = run(idx, "lunch", 0, NULL, 0, NULL);
    size_t total;
    assert_ok(aisle_search_results_total(r, &total));
    assert_int_equal(count_of(r), 0);
    assert_int_equal(total, 2);
    assert_int_equal(aisle_search_results_hit(r, 0, NULL, NULL), AISLE_ERANGE);
    aisle_search_results_free(r);
    /* argument errors */
    assert_int_equal(aisle_search(NULL, "x", 1, 5, NULL, 0, NULL, NULL, NULL, 0, NULL, &r), AISLE_EINVAL);
    assert_int_equal(aisle_search(idx, "x", 1, 5, NULL, 0, NULL, "u1", NULL, 0, NULL, &r), AISLE_EINVAL);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "search_k1", "3"));
    assert_ok(aisle_search(idx, "x", 1, 5, NULL, 0, NULL, NULL, NULL, 0, cfg, &r));
    aisle_search_results_free(r);
    assert_int_equal(aisle_config_set(cfg, "search_fusion", "magic"), AISLE_EINVAL);
    aisle_config_free(cfg);
    aisle_search_results_free(NULL);
    aisle_search_index_free(NULL);
    aisle_search_index_free(idx);
}

/* Two groups of shoppers: audio buyers and kitchen buyers. */
static aisle_model *train_model(const char *kind) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char user[16];
    const char *audio[] = {"p1", "p2", "p3", "p8"}, *kitchen[] = {"p7", "p10", "p6", "p9"};
    for (int u = 0; u < 40; u++) {
        snprintf(user, sizeof user, "u%d", u);
        const char **g = u % 2 ? audio : kitchen;
        for (int j = 0; j < 4; j++)
            if ((u + j) % 4 != 3) assert_ok(aisle_dataset_add_event(ds, user, g[j], "purchase", 1, u * 10 + j));
    }
    assert_ok(aisle_dataset_add_event(ds, "u99", "p4", "purchase", 1, 1000));
    assert_ok(aisle_dataset_add_event(ds, "u99", "p5", "purchase", 1, 1001));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    char opts[128];
    snprintf(opts, sizeof opts, "model=%s factors=8 epochs=10 seed=3 threads=1", kind);
    assert_ok(aisle_config_parse(cfg, strcmp(kind, "als") ? "model=itemknn threads=1" : opts));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return m;
}

static void test_personalization_moves_the_users_items_up(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_model *m = train_model("als");
    /* "red" matches p4 (running shoes) and p7 (lunch bag) */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "search_fusion=none search_personal_user=3"));
    aisle_search_results *r;
    assert_ok(aisle_search(idx, "red.", AISLE_NUL_TERMINATED, 5, NULL, 0, m, "u0", NULL, 0, cfg, &r));
    assert_string_equal(key_at(r, 0), "p7"); /* u0 buys kitchen things */
    const char *why;
    assert_ok(aisle_search_results_explain(r, 0, &why));
    assert_non_null(strstr(why, "history moved it from rank"));
    aisle_search_results_free(r);
    assert_ok(aisle_search(idx, "red.", AISLE_NUL_TERMINATED, 5, NULL, 0, m, "u99", NULL, 0, cfg, &r));
    assert_string_equal(key_at(r, 0), "p4"); /* u99 buys shoes */
    aisle_search_results_free(r);
    /* a session of kitchen items */
    const char *session[] = {"p10", "p6", "unknown-item"};
    assert_ok(aisle_search(idx, "red.", AISLE_NUL_TERMINATED, 5, NULL, 0, m, NULL, session, 3, cfg, &r));
    assert_string_equal(key_at(r, 0), "p7");
    aisle_search_results_free(r);
    /* unknown user: the text ranking, said so */
    assert_ok(aisle_search(idx, "red.", AISLE_NUL_TERMINATED, 5, NULL, 0, m, "nobody", NULL, 0, cfg, &r));
    assert_int_equal(count_of(r), 2);
    assert_ok(aisle_search_results_explain(r, 0, &why));
    assert_non_null(strstr(why, "user unknown"));
    aisle_search_results_free(r);
    aisle_config_free(cfg);
    aisle_model_free(m);
    aisle_search_index_free(idx);
}

static void test_semantic_fusion_adds_behaviour_neighbours(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    const char *kinds[] = {"als", "itemknn"};
    for (int k = 0; k < 2; k++) {
        aisle_model *m = train_model(kinds[k]);
        aisle_config *cfg;
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_parse(cfg, "search_semantic_weight=1"));
        aisle_search_results *r;
        /* "bento" only matches p10; its behaviour neighbours are kitchen items */
        assert_ok(aisle_search(idx, "bento.", AISLE_NUL_TERMINATED, 5, NULL, 0, m, NULL, NULL, 0, cfg, &r));
        assert_true(count_of(r) > 1);
        assert_string_equal(key_at(r, 0), "p10");
        int kitchen = 0;
        for (size_t i = 1; i < count_of(r); i++) {
            const char *k2 = key_at(r, i), *why, *mt;
            kitchen += !strcmp(k2, "p7") || !strcmp(k2, "p6") || !strcmp(k2, "p9");
            assert_ok(aisle_search_results_explain(r, i, &why));
            assert_non_null(strstr(why, "semantic rank"));
            assert_ok(aisle_search_results_matched(r, i, &mt));
            assert_string_equal(mt, "");
        }
        assert_true(kitchen >= 1);
        aisle_search_results_free(r);
        /* filters also hold for behaviour-only candidates */
        const char *f[] = {"brand=Pack"};
        assert_ok(aisle_search(idx, "bento.", AISLE_NUL_TERMINATED, 5, f, 1, m, NULL, NULL, 0, cfg, &r));
        for (size_t i = 0; i < count_of(r); i++)
            assert_true(!strcmp(key_at(r, i), "p10") || !strcmp(key_at(r, i), "p7"));
        aisle_search_results_free(r);
        aisle_config_free(cfg);
        aisle_model_free(m);
    }
    aisle_search_index_free(idx);
}

static void test_suggest_completes_by_popularity(void **state) {
    (void)state;
    aisle_search_index *idx = make_index();
    aisle_search_results *r;
    assert_ok(aisle_suggest(idx, "lu", AISLE_NUL_TERMINATED, 5, NULL, &r));
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "lunch");
    aisle_search_results_free(r);
    assert_ok(aisle_suggest(idx, "red lu", AISLE_NUL_TERMINATED, 5, NULL, &r));
    assert_int_equal(count_of(r), 1);
    assert_string_equal(key_at(r, 0), "red lunch");
    aisle_search_results_free(r);
    /* "c": charging (3 products) before cable/case... by product count */
    assert_ok(aisle_suggest(idx, "ch", AISLE_NUL_TERMINATED, 5, NULL, &r));
    assert_string_equal(key_at(r, 0), "charging");
    double s0;
    assert_ok(aisle_search_results_hit(r, 0, NULL, &s0));
    assert_true(s0 == 3);
    aisle_search_results_free(r);
    assert_ok(aisle_suggest(idx, "red ", AISLE_NUL_TERMINATED, 5, NULL, &r));
    assert_int_equal(count_of(r), 0);
    aisle_search_results_free(r);
    /* popularity from a model reorders completions */
    aisle_model *m = train_model("als");
    assert_ok(aisle_search_index_set_popularity(idx, m));
    assert_ok(aisle_suggest(idx, "l", AISLE_NUL_TERMINATED, 5, NULL, &r));
    assert_true(count_of(r) >= 2);
    assert_string_equal(key_at(r, 0), "lunch"); /* p7, p10 bought; leather boots once */
    aisle_search_results_free(r);
    aisle_model_free(m);
    aisle_search_index_free(idx);
}

/* A random catalog of many products over a small Zipf-like vocabulary. */
static aisle_catalog *random_catalog(size_t n, unsigned seed) {
    static const char *const vocab[] = {"red", "blue", "green", "lamp", "chair", "table", "desk", "oak", "pine",
                                        "steel", "glass", "soft", "round", "square", "small", "large", "wooden",
                                        "modern", "classic", "vintage", "kitchen", "garden", "office", "light"};
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[32], title[256], desc[256];
    unsigned x = seed;
    for (size_t i = 0; i < n; i++) {
        size_t o = 0, d = 0;
        for (int w = 0; w < 4; w++) {
            x = x * 1103515245u + 12345u;
            size_t v = (x >> 16) % 24;
            v = v * v / 24; /* favour the first words */
            o += (size_t)snprintf(title + o, sizeof title - o, "%s ", vocab[v]);
        }
        for (int w = 0; w < 6; w++) {
            x = x * 1103515245u + 12345u;
            d += (size_t)snprintf(desc + d, sizeof desc - d, "%s ", vocab[(x >> 16) % 24]);
        }
        snprintf(key, sizeof key, "r%zu", i);
        assert_ok(aisle_catalog_add_item(cat, key, title, desc, "", "", 1));
    }
    return cat;
}

static void same_top(const aisle_search_index *a, const char *oa, const aisle_search_index *b, const char *ob,
                     const char *q, size_t k) {
    aisle_search_results *ra = run(a, q, k, NULL, 0, oa), *rb = run(b, q, k, NULL, 0, ob);
    assert_int_equal(count_of(ra), count_of(rb));
    for (size_t i = 0; i < count_of(ra); i++) {
        double sa, sb;
        const char *ka, *kb;
        assert_ok(aisle_search_results_hit(ra, i, &ka, &sa));
        assert_ok(aisle_search_results_hit(rb, i, &kb, &sb));
        if (strcmp(ka, kb) || fabs(sa - sb) > 1e-5) fail_msg("query '%s' hit %zu: %s %f vs %s %f", q, i, ka, sa, kb, sb);
    }
    aisle_search_results_free(ra);
    aisle_search_results_free(rb);
}

static void test_pruned_retrieval_returns_the_exact_top_k(void **state) {
    (void)state;
    aisle_catalog *cat = random_catalog(4000, 7);
    aisle_search_index *built, *grown;
    assert_ok(aisle_search_index_new(&built));
    assert_ok(aisle_search_index_build(built, cat, NULL));
    /* the same products added one by one (skip tables grown incrementally) */
    assert_ok(aisle_search_index_new(&grown));
    const char *key;
    for (size_t i = 0; i < 4000; i++) {
        assert_ok(aisle_catalog_key(cat, i, &key));
        assert_ok(aisle_search_index_add(grown, cat, key));
    }
    const char *qs[] = {"red lamp ", "oak table modern ", "blue ", "vintage garden light ", "red blue green ",
                        "square wooden desk office ", "classic ", "steel glass "};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        for (size_t k = 1; k <= 50; k *= 7) {
            same_top(built, "search_total_limit=0", built, "search_total_limit=1", qs[i], k);
            same_top(built, "search_total_limit=0", grown, "search_total_limit=1", qs[i], k);
        }
    /* totals: exact without pruning, a lower bound with it */
    aisle_search_results *r = run(built, "red ", 5, NULL, 0, "search_total_limit=0");
    size_t exact, bound;
    assert_ok(aisle_search_results_total(r, &exact));
    aisle_search_results_free(r);
    r = run(built, "red ", 5, NULL, 0, "search_total_limit=100");
    assert_ok(aisle_search_results_total(r, &bound));
    aisle_search_results_free(r);
    assert_true(bound >= 100 && bound <= exact);
    aisle_search_index_free(built);
    aisle_search_index_free(grown);
    aisle_catalog_free(cat);
}

/* Every pruning path (MaxScore, required-term leapfrog, per-document
 * bounds, the early stop) gives bit-identical hits, scores and matched
 * terms to the exhaustive scan, with typos, prefixes, filters, proximity
 * and option variants, on built and incrementally changed indexes. */
static void test_pruned_retrieval_is_exact_on_random_catalogs(void **state) {
    (void)state;
    static const char *const qs[] = {"red lamp ", "oak table modern ", "blue", "vintage garden light ",
                                     "red blue green ", "square wooden desk office ", "clasic chiar ", "stel glas",
                                     "lamp red ", "wooden wooden chair ", "green gardn ", "modern ligh"};
    static const char *const variants[] = {"", "search_proximity=0", "search_proximity=3;search_coordination=2",
                                           "search_k1=0.3;search_b=1", "search_b=0;search_weight_title=1",
                                           "search_coordination=0;search_weight_description=4",
                                           "search_block_max=false"};
    static const char *const f1[] = {"brand=Acme"}, *const f2[] = {"price=10..60", "category=Home"};
    for (unsigned seed = 1; seed <= 4; seed++) {
        aisle_catalog *cat = tu_varied_catalog(2500, seed, seed == 2 ? 8 : 24);
        aisle_search_index *idx;
        assert_ok(aisle_search_index_new(&idx));
        if (seed >= 3) { /* grown one by one, some replaced, some removed */
            const char *key;
            for (size_t i = 0; i < 2500; i++) {
                assert_ok(aisle_catalog_key(cat, i, &key));
                assert_ok(aisle_search_index_add(idx, cat, key));
            }
            for (size_t i = 0; i < 2500; i += 7) {
                assert_ok(aisle_catalog_key(cat, i, &key));
                if (i % 2) assert_ok(aisle_search_index_remove(idx, key));
                else assert_ok(aisle_search_index_add(idx, cat, key));
            }
        } else {
            assert_ok(aisle_search_index_build(idx, cat, NULL));
        }
        if (seed == 4) { /* saved (compacted) and loaded: block bounds rebuilt from the file */
            char dir[256], path[300];
            tu_tmpdir(dir, sizeof dir, "search_pruned");
            snprintf(path, sizeof path, "%s/idx.aisle", dir);
            aisle_search_index *back;
            assert_ok(aisle_search_index_save(idx, path, NULL));
            assert_ok(aisle_search_index_load(&back, path, NULL));
            aisle_search_index_free(idx);
            idx = back;
        }
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            char exact[160], pruned[160];
            snprintf(exact, sizeof exact, "search_total_limit=0%s%s", *variants[v] ? ";" : "", variants[v]);
            snprintf(pruned, sizeof pruned, "search_total_limit=1%s%s", *variants[v] ? ";" : "", variants[v]);
            for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
                for (size_t k = 1; k <= 60; k = k * 4 + 1) {
                    tu_same_pruned(idx, exact, pruned, qs[i], k, NULL, 0);
                    tu_same_pruned(idx, exact, pruned, qs[i], k, f1, 1);
                    tu_same_pruned(idx, exact, pruned, qs[i], k, f2, 2);
                }
        }
        aisle_search_index_free(idx);
        aisle_catalog_free(cat);
    }
}

/* The scan stops early only when the pool's worst equals the best score
 * any document could still have: here a late product with a slightly
 * shorter description (a score less than 0.5% higher) must still win. */
static void test_pruning_stops_only_when_nothing_can_beat_the_pool(void **state) {
    (void)state;
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[32], desc[512];
    for (int i = 0; i < 300; i++) {
        int n = i == 250 ? 29 : 30, o = snprintf(desc, sizeof desc, "red");
        for (int w = 0; w < n; w++) o += snprintf(desc + o, sizeof desc - (size_t)o, " filler%d", w);
        snprintf(key, sizeof key, "d%d", i);
        assert_ok(aisle_catalog_add_item(cat, key, "red lamp", desc, "", "", 1));
    }
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_search_results *r = run(idx, "red lamp ", 5, NULL, 0, "search_total_limit=1");
    double s0, s1;
    assert_string_equal(key_at(r, 0), "d250");
    assert_ok(aisle_search_results_hit(r, 0, NULL, &s0));
    assert_ok(aisle_search_results_hit(r, 1, NULL, &s1));
    assert_true(s0 > s1 && s0 < s1 * 1.005);
    aisle_search_results_free(r);
    tu_same_pruned(idx, "search_total_limit=0", "search_total_limit=1", "red lamp ", 5, NULL, 0);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* Every entry added to a block's bounds is dominated by one of its vectors
 * (tf at least and length at most the entry's in each of its fields), also
 * once the set is full and entries are merged. */
static void test_block_bounds_dominate_every_entry(void **state) {
    (void)state;
    unsigned x = 11;
#define NEXT() (x = x * 1103515245u + 12345u, (x >> 16))
    for (int round = 0; round < 200; round++) {
        search_bmax b = {.n = 0};
        uint16_t tf[SEARCH_SKIP][SEARCH_N_FIELDS], len[SEARCH_SKIP][SEARCH_N_FIELDS];
        for (int e = 0; e < SEARCH_SKIP; e++) {
            unsigned mask = 1 + NEXT() % 31;
            for (int f = 0; f < SEARCH_N_FIELDS; f++) {
                tf[e][f] = (uint16_t)(mask >> f & 1 ? 1 + NEXT() % 3 : 0);
                len[e][f] = (uint16_t)(1 + NEXT() % 20);
            }
            search_bmax_add(&b, tf[e], len[e]);
            assert_true(b.n >= 1 && b.n <= SEARCH_BMAX);
            for (int k = 0; k <= e; k++) {
                bool dominated = false;
                for (int i = 0; i < b.n && !dominated; i++) {
                    bool all = true;
                    for (int f = 0; f < SEARCH_N_FIELDS; f++)
                        if (tf[k][f] && (b.tf[i][f] < tf[k][f] || b.len[i][f] > len[k][f])) all = false;
                    dominated = all;
                }
                if (!dominated) fail_msg("round %d: entry %d not dominated after %d adds", round, k, e + 1);
            }
        }
    }
#undef NEXT
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_title_match_ranks_above_description_match),
        cmocka_unit_test(test_bm25f_score_matches_the_formula),
        cmocka_unit_test(test_typo_is_corrected_with_length_thresholds),
        cmocka_unit_test(test_edit_distance_is_bounded_osa),
        cmocka_unit_test(test_prefix_completes_the_last_word_only),
        cmocka_unit_test(test_cjk_and_mixed_queries),
        cmocka_unit_test(test_proximity_prefers_adjacent_words),
        cmocka_unit_test(test_filters_inside_retrieval),
        cmocka_unit_test(test_facets_count_every_match),
        cmocka_unit_test(test_incremental_add_replace_remove),
        cmocka_unit_test(test_save_load_round_trip_and_compaction),
        cmocka_unit_test(test_bad_queries_give_defined_results),
        cmocka_unit_test(test_personalization_moves_the_users_items_up),
        cmocka_unit_test(test_semantic_fusion_adds_behaviour_neighbours),
        cmocka_unit_test(test_suggest_completes_by_popularity),
        cmocka_unit_test(test_pruned_retrieval_returns_the_exact_top_k),
        cmocka_unit_test(test_pruned_retrieval_is_exact_on_random_catalogs),
        cmocka_unit_test(test_pruning_stops_only_when_nothing_can_beat_the_pool),
        cmocka_unit_test(test_block_bounds_dominate_every_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
