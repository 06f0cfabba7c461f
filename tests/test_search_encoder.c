/* test_search_encoder.c - semantic retrieval from a text encoder: product
 * vectors made once per index (build, set_encoder, add/replace/remove),
 * the query encoded at search time, exact cosine candidates fused with the
 * lexical ones (linear and RRF), the vectors saved with the encoder's
 * fingerprint and another encoder refused.  The encoder is the small random
 * BERT of the bert tests (tests/bert/data/cls): its vectors mean nothing,
 * so the tests check the code path against aisle_bert_embed, not quality. */
#include "util/search_util.h"

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static aisle_bert *encoder_fixture(const char *name) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tests/bert/data/%s", tu_srcdir(), name);
    aisle_bert *m;
    assert_ok(aisle_bert_import(&m, dir, NULL));
    return m;
}

/* The unit mean-pooled vector of one text, through the public call. */
static void unit_embed(const aisle_bert *m, const char *text, float *out, size_t dim) {
    assert_ok(aisle_bert_embed(m, &text, 1, AISLE_BERT_POOL_MEAN, NULL, out));
    tu_unit(out, dim);
}

static void same_vectors(const aisle_search_index *a, const aisle_search_index *b) {
    for (size_t i = 0; i < TU_MUGS_N; i++) {
        const float *x = tu_encoder_vector(a, tu_mugs[i][0]), *y = tu_encoder_vector(b, tu_mugs[i][0]);
        assert_true((x == NULL) == (y == NULL));
        for (size_t d = 0; x && d < 64; d++) assert_float_equal(x[d], y[d], 1e-5);
    }
}

static void test_vectors_are_the_encoders(void **state) {
    (void)state;
    aisle_bert *m = encoder_fixture("cls");
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, m, NULL);
    size_t dim;
    int attached;
    uint64_t fp;
    assert_ok(aisle_search_index_encoder_info(idx, &dim, &attached, &fp));
    assert_int_equal(dim, 64);
    assert_int_equal(attached, 1);
    assert_true(fp != 0);
    float want[64];
    char text[256];
    for (size_t i = 0; i < TU_MUGS_N; i++) {
        snprintf(text, sizeof text, "%s. %s. %s", tu_mugs[i][1], tu_mugs[i][2], tu_mugs[i][3]);
        unit_embed(m, text, want, dim);
        const float *got = tu_encoder_vector(idx, tu_mugs[i][0]);
        assert_non_null(got);
        for (size_t d = 0; d < dim; d++) assert_float_equal(got[d], want[d], 1e-5);
    }
    /* set_encoder on a built index computes the same vectors */
    aisle_search_index *plain;
    assert_ok(aisle_search_index_new(&plain));
    assert_ok(aisle_search_index_build(plain, cat, NULL));
    assert_ok(aisle_search_index_encoder_info(plain, &dim, &attached, NULL));
    assert_int_equal(dim, 0);
    assert_ok(aisle_search_index_set_encoder(plain, m, cat, NULL));
    for (size_t i = 0; i < TU_MUGS_N; i++)
        assert_memory_equal(tu_encoder_vector(plain, tu_mugs[i][0]), tu_encoder_vector(idx, tu_mugs[i][0]), 64 * sizeof(float));
    /* a catalog that lacks an indexed product: refused, index unchanged */
    aisle_catalog *small = tu_mug_catalog(3);
    assert_int_equal(aisle_search_index_set_encoder(plain, m, small, NULL), AISLE_ENOTFOUND);
    assert_non_null(strstr(aisle_last_error(), "m4"));
    assert_non_null(tu_encoder_vector(plain, "m8"));
    /* pooler pooling asks for a pooler; detaching drops the vectors */
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "search_encoder_pooling", "cls"));
    assert_ok(aisle_search_index_set_encoder(plain, m, cat, cfg));
    assert_int_equal(plain->enc_pooling, AISLE_BERT_POOL_CLS);
    assert_int_equal(aisle_config_set(cfg, "search_encoder_pooling", "max"), AISLE_EINVAL);
    assert_ok(aisle_search_index_set_encoder(plain, NULL, NULL, NULL));
    assert_ok(aisle_search_index_encoder_info(plain, &dim, &attached, &fp));
    assert_int_equal(dim + (size_t)attached + (size_t)fp, 0);
    aisle_config_free(cfg);
    aisle_catalog_free(small);
    aisle_search_index_free(plain);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_bert_free(m);
}

/* A query sharing no word with the catalog: the hits are exactly the
 * products with a positive cosine, best first (linear: weight x cosine;
 * RRF: weight / (k + rank)). */
static void test_query_vector_scan_and_fusion(void **state) {
    (void)state;
    aisle_bert *m = encoder_fixture("cls");
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, m, NULL);
    const char *q = "zebra quartz ";
    float qv[64];
    unit_embed(m, q, qv, 64);
    double cos[TU_MUGS_N];
    size_t positive = 0;
    for (size_t i = 0; i < TU_MUGS_N; i++) {
        const float *v = tu_encoder_vector(idx, tu_mugs[i][0]);
        cos[i] = 0;
        for (size_t d = 0; d < 64; d++) cos[i] += (double)qv[d] * v[d];
        positive += cos[i] > 0;
    }
    assert_true(positive > 0);
    aisle_search_results *r = tu_search(idx, q, 20, NULL, 0, NULL);
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, positive);
    double prev = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const char *key, *why;
        double s;
        assert_ok(aisle_search_results_hit(r, i, &key, &s));
        size_t p = 0;
        while (strcmp(tu_mugs[p][0], key)) p++;
        assert_float_equal(s, 0.3 * cos[p], 1e-4);
        assert_true(s <= prev);
        prev = s;
        assert_ok(aisle_search_results_explain(r, i, &why));
        assert_non_null(strstr(why, "found by the text encoder only"));
    }
    aisle_search_results_free(r);
    r = tu_search(idx, q, 20, NULL, 0, "search_fusion=rrf search_encoder_weight=2");
    assert_ok(aisle_search_results_count(r, &n));
    for (size_t i = 0; i < n; i++) {
        double s;
        assert_ok(aisle_search_results_hit(r, i, NULL, &s));
        assert_float_equal(s, 2.0 / (60 + (double)i + 1), 1e-6);
    }
    aisle_search_results_free(r);
    /* off: no encoder candidates */
    r = tu_search(idx, q, 20, NULL, 0, "search_encoder_weight=0");
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, 0);
    aisle_search_results_free(r);
    r = tu_search(idx, q, 20, NULL, 0, "search_fusion=none");
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, 0);
    aisle_search_results_free(r);
    /* a lexical query keeps its text hit first under the default blend */
    r = tu_search(idx, "garden spade ", 3, NULL, 0, NULL);
    const char *key, *why;
    assert_ok(aisle_search_results_hit(r, 0, &key, NULL));
    assert_string_equal(key, "m3");
    assert_ok(aisle_search_results_explain(r, 0, &why));
    assert_non_null(strstr(why, "encoder rank"));
    aisle_search_results_free(r);
    /* filters hold for encoder candidates too */
    const char *f[] = {"category=Garden"};
    assert_ok(aisle_search(idx, q, AISLE_NUL_TERMINATED, 20, f, 1, NULL, NULL, NULL, 0, NULL, &r));
    assert_ok(aisle_search_results_count(r, &n));
    for (size_t i = 0; i < n; i++) {
        assert_ok(aisle_search_results_hit(r, i, &key, NULL));
        assert_true(!strcmp(key, "m3") || !strcmp(key, "m4"));
    }
    aisle_search_results_free(r);
    /* empty, punctuation-only and invalid UTF-8 queries are defined */
    static const char *const odd[] = {"", "!!! ??", "\xff\xfe caf\xc3", "   "};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        aisle_search_results_free(tu_search(idx, odd[i], 5, NULL, 0, NULL));
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_bert_free(m);
}

/* add, replace and remove keep the vectors those of a fresh build, and
 * the results identical to it. */
static void test_incremental_matches_rebuild(void **state) {
    (void)state;
    aisle_bert *m = encoder_fixture("cls");
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_catalog *first = tu_mug_catalog(5);
    aisle_search_index *idx = tu_encoded_index(first, m, NULL);
    for (size_t i = 5; i < TU_MUGS_N; i++) assert_ok(aisle_search_index_add(idx, cat, tu_mugs[i][0]));
    assert_ok(aisle_catalog_add_item(cat, "m2", "Blue Travel Mug", "Steel mug, blue", "Kitchen > Mugs", "", NAN));
    assert_ok(aisle_search_index_add(idx, cat, "m2")); /* replace */
    assert_ok(aisle_search_index_remove(idx, "m5"));
    aisle_search_index *fresh = tu_encoded_index(cat, m, NULL);
    assert_ok(aisle_search_index_remove(fresh, "m5"));
    same_vectors(idx, fresh);
    /* queries no product has a word of: encoder hits only (text statistics
     * count the replaced and removed products until a save compacts) */
    static const char *const qs[] = {"zebra quartz ", "xylophone ", "qqq www "};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        aisle_search_results *ra = tu_search(idx, qs[i], 10, NULL, 0, NULL);
        aisle_search_results *rb = tu_search(fresh, qs[i], 10, NULL, 0, NULL);
        tu_same_hits(ra, rb, 1e-5);
        aisle_search_results_free(ra);
        aisle_search_results_free(rb);
    }
    aisle_search_index_free(fresh);
    aisle_search_index_free(idx);
    aisle_catalog_free(first);
    aisle_catalog_free(cat);
    aisle_bert_free(m);
}

/* Saved with the vectors (compacted) and the fingerprint: the same encoder
 * attaches without recomputing, another is refused; without an encoder the
 * loaded index searches by words and refuses adds. */
static void test_saved_vectors_and_fingerprint(void **state) {
    (void)state;
    aisle_bert *m = encoder_fixture("cls"), *other = encoder_fixture("reg"), *tweaked = encoder_fixture("cls");
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, m, NULL);
    assert_ok(aisle_search_index_remove(idx, "m2"));
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "search_encoder");
    snprintf(path, sizeof path, "%s/shop.aidx", dir);
    assert_ok(aisle_search_index_save(idx, path, NULL));
    aisle_search_index *back;
    assert_ok(aisle_search_index_load(&back, path, NULL));
    size_t dim;
    int attached;
    uint64_t fp, fp0;
    assert_ok(aisle_search_index_encoder_info(back, &dim, &attached, &fp));
    assert_ok(aisle_search_index_encoder_info(idx, NULL, NULL, &fp0));
    assert_int_equal(dim, 64);
    assert_int_equal(attached, 0);
    assert_true(fp == fp0);
    for (size_t i = 0; i < TU_MUGS_N; i++) { /* saved as they were (fp32) */
        const float *a = tu_encoder_vector(idx, tu_mugs[i][0]), *b = tu_encoder_vector(back, tu_mugs[i][0]);
        assert_true((a == NULL) == (b == NULL));
        if (a) assert_memory_equal(a, b, 64 * sizeof(float));
    }
    /* quantized on save (fp16, int8): close to the fp32 vectors */
    static const char *const quant[] = {"quantize=fp16", "quantize=int8"};
    for (size_t q = 0; q < 2; q++) {
        aisle_config *qc;
        assert_ok(aisle_config_new(&qc));
        assert_ok(aisle_config_parse(qc, quant[q]));
        assert_ok(aisle_search_index_save(idx, path, qc));
        aisle_config_free(qc);
        aisle_search_index *qi;
        assert_ok(aisle_search_index_load(&qi, path, NULL));
        for (size_t i = 0; i < TU_MUGS_N; i++) {
            const float *a = tu_encoder_vector(idx, tu_mugs[i][0]), *b = tu_encoder_vector(qi, tu_mugs[i][0]);
            for (size_t d = 0; a && d < 64; d++) assert_float_equal(a[d], b[d], q ? 0.01 : 1e-3);
        }
        aisle_search_index_free(qi);
    }
    /* not attached: words only, adds refused */
    aisle_search_results *r = tu_search(back, "zebra quartz ", 10, NULL, 0, NULL);
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, 0);
    aisle_search_results_free(r);
    assert_int_equal(aisle_search_index_add(back, cat, "m2"), AISLE_ESTATE);
    /* other encoders: another model, and one changed weight */
    assert_int_equal(aisle_search_index_set_encoder(back, other, NULL, NULL), AISLE_EINVAL);
    tweaked->layer[1].ln2_b[7] += 0.5f;
    assert_int_equal(aisle_search_index_set_encoder(back, tweaked, NULL, NULL), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "another encoder"));
    /* the right one: same results as before saving */
    assert_ok(aisle_search_index_set_encoder(back, m, NULL, NULL));
    static const char *const qs[] = {"zebra quartz ", "coffee ", "steel "};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        aisle_search_results *ra = tu_search(idx, qs[i], 10, NULL, 0, NULL);
        aisle_search_results *rb = tu_search(back, qs[i], 10, NULL, 0, NULL);
        tu_same_hits(ra, rb, 0);
        aisle_search_results_free(ra);
        aisle_search_results_free(rb);
    }
    assert_ok(aisle_search_index_add(back, cat, "m2"));
    aisle_search_index *fresh = tu_encoded_index(cat, m, NULL);
    for (size_t d = 0; d < 64; d++) assert_float_equal(tu_encoder_vector(back, "m2")[d], tu_encoder_vector(fresh, "m2")[d], 1e-5);
    aisle_search_index_free(fresh);
    /* a plain index has no vectors to attach to */
    aisle_search_index *plain;
    assert_ok(aisle_search_index_new(&plain));
    assert_ok(aisle_search_index_build(plain, cat, NULL));
    assert_int_equal(aisle_search_index_set_encoder(plain, m, NULL, NULL), AISLE_ESTATE);
    aisle_search_index_free(plain);
    aisle_search_index_free(back);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_bert_free(m);
    aisle_bert_free(other);
    aisle_bert_free(tweaked);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_are_the_encoders),
        cmocka_unit_test(test_query_vector_scan_and_fusion),
        cmocka_unit_test(test_incremental_matches_rebuild),
        cmocka_unit_test(test_saved_vectors_and_fingerprint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
