/* test_search_text_encoder.c - an intent model (architecture transformer or
 * bag) as a search index's text encoder: the pooled vector the model's head
 * reads (src/text, model_text_embed), its fingerprint, and the index paths
 * that take it (build, attach, add, save/load, refusal of another encoder,
 * fusion, explanation).  The models are tiny ones trained on 16 texts
 * (tests/util/search_util.c): the tests check the code paths and the
 * equalities, not retrieval quality (bench_search measures that). */
#include "util/search_util.h"

#include "models/models.h"
#include "nn/nn.h"
#include "search/search.h"
#include "text/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The model's unit vector of a text through the accessor. */
static size_t unit_vector(const aisle_model *m, const char *text, float *out) {
    size_t dim;
    assert_ok(model_text_embed_dim(m, &dim));
    text_doc d;
    text_doc_init(&d);
    assert_ok(model_text_embed(m, text, strlen(text), &d, out));
    text_doc_free(&d);
    tu_unit(out, dim);
    return dim;
}

/* ---- the accessor ---- */

/* The transformer's pooled vector is exactly what its head reads: the
 * head applied to it gives the classifier's logits, bit for bit. */
static void test_pooled_vector_is_what_the_head_reads(void **state) {
    (void)state;
    nn_feat_cfg fc;
    nn_feat_default(&fc);
    fc.buckets = 500;
    fc.max_len = 12;
    for (int pool = NN_POOL_CLS; pool <= NN_POOL_MEAN; pool++) {
        nn_encoder_cfg ec;
        nn_encoder_default(&ec);
        ec.buckets = fc.buckets;
        ec.d = 16;
        ec.ff = 32;
        ec.heads = 2;
        ec.layers = 2;
        ec.max_len = fc.max_len;
        ec.pool = pool;
        nn_textclf m;
        assert_ok(nn_textclf_new(&m, &ec, &fc, 5, false, 11));
        nn_toks t;
        nn_toks_init(&t);
        static const char *const texts[] = {"red lunch bag", "retro spot tea set", "a", "hand warmer union jack"};
        for (size_t i = 0; i < 4; i++) assert_ok(nn_toks_add(&t, &fc, texts[i], strlen(texts[i])));
        float pooled[4 * 16], z[4 * 5], zh[4 * 5];
        assert_ok(nn_textclf_embed(&m, &t, pooled, NULL));
        assert_ok(nn_textclf_logits(&m, &t, z, NULL));
        nn_linear_forward(&m.s, &m.head, pooled, 4, zh);
        assert_memory_equal(z, zh, sizeof z);
        /* texts differ, vectors differ */
        assert_true(memcmp(pooled, pooled + 16, 16 * sizeof *pooled) != 0);
        nn_toks_free(&t);
        nn_textclf_free(&m);
    }
}

static void test_intent_model_gives_vectors_of_its_width(void **state) {
    (void)state;
    aisle_model *tf = tu_text_encoder("transformer", 1), *bag = tu_text_encoder("bag", 1);
    size_t dim;
    assert_ok(model_text_embed_dim(tf, &dim));
    assert_int_equal(dim, 8);
    assert_ok(model_text_embed_dim(bag, &dim));
    assert_int_equal(dim, 8);
    float a[8], b[8], c[8];
    text_doc d;
    text_doc_init(&d);
    assert_ok(model_text_embed(tf, "coffee mug", 10, &d, a));
    assert_ok(model_text_embed(tf, "coffee mug", 10, &d, b));
    assert_memory_equal(a, b, sizeof a); /* deterministic */
    assert_ok(model_text_embed(tf, "garden spade", 12, &d, c));
    assert_true(memcmp(a, c, sizeof a) != 0);
    /* no word: zeros (the transformer would otherwise pool its [CLS] row) */
    assert_ok(model_text_embed(tf, " ,;", 3, &d, a));
    for (int k = 0; k < 8; k++) assert_true(a[k] == 0.0f);
    assert_ok(model_text_embed(bag, "", 0, &d, a));
    for (int k = 0; k < 8; k++) assert_true(a[k] == 0.0f);
    text_doc_free(&d);
    aisle_model_free(tf);
    aisle_model_free(bag);
}

static uint64_t fingerprint(const aisle_model *m, int alg) {
    uint64_t fp;
    assert_ok(model_text_fingerprint(m, alg, &fp));
    return fp;
}

/* Both algorithms (the first one attaches indexes saved with it). */
static void test_fingerprint_changes_when_a_weight_changes(void **state) {
    (void)state;
    char dir[1100], path[1200];
    tu_tmpdir(dir, sizeof dir, "search_text_fp");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    static const char *const archs[] = {"transformer", "bag"};
    for (int a = 0; a < 2; a++) {
        aisle_model *m = tu_text_encoder(archs[a], 1), *same = tu_text_encoder(archs[a], 1),
                    *other = tu_text_encoder(archs[a], 2), *loaded, *half;
        /* saved and loaded exactly: the same encoder; saved in fp16:
         * weights rounded, another encoder */
        assert_ok(aisle_model_save(m, path, NULL));
        assert_ok(aisle_model_load(&loaded, path, NULL));
        assert_ok(tu_model_save_opts(m, path, "quantize=fp16"));
        assert_ok(aisle_model_load(&half, path, NULL));
        for (int alg = TEXT_FP_BYTES; alg <= TEXT_FP_WORDS; alg++) {
            uint64_t fp = fingerprint(m, alg);
            assert_true(fp == fingerprint(same, alg)); /* same data, options and seed: same weights */
            assert_true(fp != fingerprint(other, alg));
            assert_true(fp == fingerprint(loaded, alg));
            assert_true(fp != fingerprint(half, alg));
            assert_true(fp != fingerprint(m, TEXT_FP_BYTES + TEXT_FP_WORDS - alg));
        }
        uint64_t fp;
        assert_int_equal(model_text_fingerprint(m, 0, &fp), AISLE_EINVAL);
        aisle_model_free(m);
        aisle_model_free(same);
        aisle_model_free(other);
        aisle_model_free(loaded);
        aisle_model_free(half);
    }
}

/* Adds delta to value k of the bag's embedding rows in a model file image
 * saved uncompressed in fp32 (docs/FORMAT.md: the section table; section
 * 272: u32 dim, the listed buckets as a u64 count and a u32 each, then the
 * rows tensor after its 17-byte head), and makes the section's and the
 * header's CRCs good again: a file whose one weight changed. */
static void bump_bag_weight(uint8_t *img, size_t k, float delta) {
    uint32_t off, n, size;
    memcpy(&off, img + 12, 4); /* little-endian host, as the tests assume elsewhere */
    memcpy(&n, img + 16, 4);
    memcpy(&size, img + 20, 4);
    size_t hl = off + (size_t)n * size, at = hl + 4; /* the sections follow the header's CRC */
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = img + off + (size_t)i * size;
        uint32_t type, flags;
        uint64_t stored;
        memcpy(&type, e, 4);
        memcpy(&flags, e + 4, 4);
        memcpy(&stored, e + 16, 8);
        if (type != TEXT_SECTION_BAG) {
            at += stored;
            continue;
        }
        assert_int_equal(flags & 2, 0); /* stored uncompressed */
        uint64_t buckets;
        memcpy(&buckets, img + at + 4, 8);
        uint8_t *w = img + at + 4 + 8 + buckets * 4 + 17 + k * 4;
        float v;
        memcpy(&v, w, 4);
        v += delta;
        memcpy(w, &v, 4);
        uint32_t crc = (uint32_t)crc32(0L, img + at, (uInt)stored);
        memcpy(e + 24, &crc, 4);
        memcpy(e + 28, &crc, 4);
        crc = (uint32_t)crc32(0L, img, (uInt)hl);
        memcpy(img + hl, &crc, 4);
        return;
    }
    fail_msg("no bag section");
}

/* One weight changed (through the model file's bytes) changes the
 * fingerprint, by either algorithm. */
static void test_fingerprint_sees_a_single_weight(void **state) {
    (void)state;
    aisle_model *m = tu_text_encoder("bag", 1), *same, *changed;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "compression=0"));
    void *img;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, cfg, &img, &len));
    bump_bag_weight(img, 3, 0.0f); /* the same bytes: the same encoder */
    assert_ok(aisle_model_load_buffer(&same, img, len, NULL));
    bump_bag_weight(img, 3, 0.25f);
    assert_ok(aisle_model_load_buffer(&changed, img, len, NULL));
    for (int alg = TEXT_FP_BYTES; alg <= TEXT_FP_WORDS; alg++) {
        assert_true(fingerprint(same, alg) == fingerprint(m, alg));
        assert_true(fingerprint(changed, alg) != fingerprint(m, alg));
    }
    aisle_free(img);
    aisle_config_free(cfg);
    aisle_model_free(changed);
    aisle_model_free(same);
    aisle_model_free(m);
}

static void test_models_without_vectors_are_refused(void **state) {
    (void)state;
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "u1", "m1", "purchase", 1, 1));
    assert_ok(aisle_dataset_add_event(ds, "u2", "m2", "purchase", 1, 2));
    aisle_model *pop = tu_train(ds, "model=popular");
    assert_int_equal(aisle_search_index_set_text_model(idx, pop, cat, NULL), AISLE_EUNSUPPORTED);
    assert_non_null(strstr(aisle_last_error(), "not an intent model"));
    assert_int_equal(aisle_search_index_set_text_model(NULL, pop, cat, NULL), AISLE_EINVAL);
    size_t dim = 1;
    assert_ok(aisle_search_index_encoder_info(idx, &dim, NULL, NULL));
    assert_int_equal(dim, 0); /* unchanged */
    aisle_model_free(pop);
    aisle_dataset_free(ds);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* ---- the index ---- */

static void test_index_stores_each_products_unit_vector(void **state) {
    (void)state;
    static const char *const archs[] = {"transformer", "bag"};
    for (int a = 0; a < 2; a++) {
        aisle_model *m = tu_text_encoder(archs[a], 1);
        aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
        aisle_search_index *idx = tu_encoded_index(cat, NULL, m);
        size_t dim;
        int attached;
        assert_ok(aisle_search_index_encoder_info(idx, &dim, &attached, NULL));
        assert_int_equal(dim, 8);
        assert_int_equal(attached, 1);
        for (size_t i = 0; i < TU_MUGS_N; i++) {
            char text[200];
            snprintf(text, sizeof text, "%s. %s. %s", tu_mugs[i][1], tu_mugs[i][2], tu_mugs[i][3]);
            float want[8];
            unit_vector(m, text, want);
            const float *got = tu_encoder_vector(idx, tu_mugs[i][0]);
            assert_non_null(got);
            for (int k = 0; k < 8; k++) assert_float_equal(got[k], want[k], 1e-6);
        }
        /* a built index attached afterwards gets the same vectors */
        aisle_search_index *later;
        assert_ok(aisle_search_index_new(&later));
        assert_ok(aisle_search_index_build(later, cat, NULL));
        assert_ok(aisle_search_index_set_text_model(later, m, cat, NULL));
        for (size_t i = 0; i < TU_MUGS_N; i++)
            assert_memory_equal(tu_encoder_vector(later, tu_mugs[i][0]), tu_encoder_vector(idx, tu_mugs[i][0]), 8 * sizeof(float));
        aisle_search_index_free(later);
        aisle_search_index_free(idx);
        aisle_catalog_free(cat);
        aisle_model_free(m);
    }
}

static void test_query_vector_ranks_encoder_candidates(void **state) {
    (void)state;
    aisle_model *m = tu_text_encoder("transformer", 1);
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, NULL, m);
    /* no product has these words: every hit comes from the encoder, ranked by cosine */
    aisle_search_results *r = tu_search(idx, "kettle", 8, NULL, 0, "search_encoder_weight=1");
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    assert_true(n > 0);
    float q[8];
    unit_vector(m, "kettle", q);
    float prev = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        double score;
        assert_ok(aisle_search_results_hit(r, i, &key, &score));
        float cos = model_dot(q, tu_encoder_vector(idx, key), 8);
        (void)score;
        assert_true(cos > 0);
        assert_float_equal(score, cos, 1e-5); /* linear fusion, no text: weight 1 x cosine */
        assert_true(cos <= prev + 1e-6f);
        prev = cos;
    }
    const char *x = NULL;
    assert_ok(aisle_search_results_explain(r, 0, &x));
    assert_non_null(strstr(x, "text encoder only"));
    aisle_search_results_free(r);
    /* a query without a word encodes to zeros: nothing */
    r = tu_search(idx, "!!", 8, NULL, 0, NULL);
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, 0);
    aisle_search_results_free(r);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_model_free(m);
}

static void test_saved_index_attaches_only_its_own_encoder_and_searches_identically(void **state) {
    (void)state;
    char dir[1100], path[1200];
    tu_tmpdir(dir, sizeof dir, "search_text_save");
    snprintf(path, sizeof path, "%s/idx.aidx", dir);
    aisle_model *m = tu_text_encoder("transformer", 1), *other = tu_text_encoder("transformer", 2),
                *bag = tu_text_encoder("bag", 1);
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, NULL, m);
    assert_ok(aisle_search_index_save(idx, path, NULL));
    aisle_search_index *loaded;
    assert_ok(aisle_search_index_load(&loaded, path, NULL));
    size_t dim;
    int attached;
    uint64_t fp, fp_loaded;
    assert_ok(aisle_search_index_encoder_info(idx, NULL, NULL, &fp));
    assert_ok(aisle_search_index_encoder_info(loaded, &dim, &attached, &fp_loaded));
    assert_int_equal(dim, 8);
    assert_int_equal(attached, 0);
    assert_true(fp == fp_loaded);
    uint64_t want;
    want = fingerprint(m, TEXT_FP_WORDS);
    assert_true(fp == want);
    /* not attached: a query of unknown words finds nothing */
    aisle_search_results *r = tu_search(loaded, "kettle", 8, NULL, 0, NULL);
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    assert_int_equal(n, 0);
    aisle_search_results_free(r);
    /* another intent model, another architecture, a BERT: refused, unchanged */
    assert_int_equal(aisle_search_index_set_text_model(loaded, other, NULL, NULL), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "another encoder"));
    assert_int_equal(aisle_search_index_set_text_model(loaded, bag, NULL, NULL), AISLE_EINVAL);
    char bdir[1100];
    snprintf(bdir, sizeof bdir, "%s/tests/bert/data/cls", tu_srcdir());
    aisle_bert *bert;
    assert_ok(aisle_bert_import(&bert, bdir, NULL));
    assert_int_equal(aisle_search_index_set_encoder(loaded, bert, NULL, NULL), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "intent model"));
    assert_ok(aisle_search_index_encoder_info(loaded, NULL, &attached, NULL));
    assert_int_equal(attached, 0);
    /* its own: attached by fingerprint, searches as the original did */
    assert_ok(aisle_search_index_set_text_model(loaded, m, NULL, NULL));
    static const char *const qs[] = {"coffee mug", "kettle", "garden boots", "lantern", "runing shoes"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        for (int rrf = 0; rrf < 2; rrf++) {
            const char *opts = rrf ? "search_fusion=rrf search_encoder_weight=2" : "search_encoder_weight=0.7";
            aisle_search_results *a = tu_search(idx, qs[i], 8, NULL, 0, opts);
            aisle_search_results *b = tu_search(loaded, qs[i], 8, NULL, 0, opts);
            tu_same_hits(a, b, 0);
            aisle_search_results_free(a);
            aisle_search_results_free(b);
        }
    }
    /* an index of BERT vectors refuses an intent model */
    aisle_search_index *bidx;
    assert_ok(aisle_search_index_new(&bidx));
    assert_ok(aisle_search_index_set_encoder(bidx, bert, cat, NULL));
    assert_ok(aisle_search_index_build(bidx, cat, NULL));
    assert_ok(aisle_search_index_save(bidx, path, NULL));
    aisle_search_index_free(bidx);
    assert_ok(aisle_search_index_load(&bidx, path, NULL));
    assert_int_equal(aisle_search_index_set_text_model(bidx, m, NULL, NULL), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "bert"));
    /* with the catalog, any encoder recomputes */
    assert_ok(aisle_search_index_set_text_model(bidx, other, cat, NULL));
    assert_ok(aisle_search_index_encoder_info(bidx, &dim, &attached, &fp));
    want = fingerprint(other, TEXT_FP_WORDS);
    assert_true(fp == want);
    assert_int_equal(dim, 8);
    aisle_search_index_free(bidx);
    aisle_bert_free(bert);
    aisle_search_index_free(loaded);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_model_free(m);
    aisle_model_free(other);
    aisle_model_free(bag);
}

/* An index saved before the fingerprint's second algorithm (pooling 3,
 * TEXT_FP_BYTES: tests/search/data/intent_fp1, README there) still
 * attaches its encoder, refuses another and searches as an index made now;
 * saved again it keeps its pooling; given the catalog, its vectors are
 * made again under the word-at-a-time fingerprint. */
static void test_index_saved_with_the_first_fingerprint_attaches(void **state) {
    (void)state;
    char path[1200], dir[1100];
    snprintf(path, sizeof path, "%s/tests/search/data/intent_fp1/model.aisle", tu_srcdir());
    aisle_model *m, *other = tu_text_encoder("transformer", 2);
    assert_ok(aisle_model_load(&m, path, NULL));
    snprintf(path, sizeof path, "%s/tests/search/data/intent_fp1/index.aisle", tu_srcdir());
    aisle_search_index *old, *again;
    assert_ok(aisle_search_index_load(&old, path, NULL));
    assert_int_equal(old->enc_pooling, SEARCH_ENC_POOL_TEXT_FNV);
    uint64_t fp;
    assert_ok(aisle_search_index_encoder_info(old, NULL, NULL, &fp));
    assert_true(fp == fingerprint(m, TEXT_FP_BYTES));
    assert_int_equal(aisle_search_index_set_text_model(old, other, NULL, NULL), AISLE_EINVAL);
    assert_ok(aisle_search_index_set_text_model(old, m, NULL, NULL));
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *now = tu_encoded_index(cat, NULL, m);
    assert_int_equal(now->enc_pooling, SEARCH_ENC_POOL_TEXT_MODEL);
    assert_ok(aisle_search_index_encoder_info(now, NULL, NULL, &fp));
    assert_true(fp == fingerprint(m, TEXT_FP_WORDS));
    static const char *const qs[] = {"coffee mug", "kettle", "garden boots", "lantern"};
    for (size_t q = 0; q < 4; q++) {
        aisle_search_results *a = tu_search(old, qs[q], 8, NULL, 0, NULL), *b = tu_search(now, qs[q], 8, NULL, 0, NULL);
        tu_same_hits(a, b, 0);
        aisle_search_results_free(a);
        aisle_search_results_free(b);
    }
    tu_tmpdir(dir, sizeof dir, "search_text_fp1");
    snprintf(path, sizeof path, "%s/idx.aidx", dir);
    assert_ok(aisle_search_index_save(old, path, NULL));
    assert_ok(aisle_search_index_load(&again, path, NULL));
    assert_int_equal(again->enc_pooling, SEARCH_ENC_POOL_TEXT_FNV);
    assert_ok(aisle_search_index_set_text_model(again, m, NULL, NULL));
    assert_ok(aisle_search_index_set_text_model(again, m, cat, NULL)); /* made again */
    assert_int_equal(again->enc_pooling, SEARCH_ENC_POOL_TEXT_MODEL);
    assert_ok(aisle_search_index_encoder_info(again, NULL, NULL, &fp));
    assert_true(fp == fingerprint(m, TEXT_FP_WORDS));
    aisle_search_index_free(again);
    aisle_search_index_free(now);
    aisle_search_index_free(old);
    aisle_catalog_free(cat);
    aisle_model_free(other);
    aisle_model_free(m);
}

static void test_added_and_replaced_products_are_encoded(void **state) {
    (void)state;
    aisle_model *m = tu_text_encoder("bag", 3);
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N - 1), *full = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, NULL, m);
    assert_null(tu_encoder_vector(idx, "m8"));
    assert_ok(aisle_search_index_add(idx, full, "m8"));
    float want[8];
    unit_vector(m, "Pink Paper Lantern. Paper lantern for the party. Home > Lights", want);
    const float *got = tu_encoder_vector(idx, "m8");
    assert_non_null(got);
    for (int k = 0; k < 8; k++) assert_float_equal(got[k], want[k], 1e-6);
    /* replaced with a new text */
    aisle_catalog *changed;
    assert_ok(aisle_catalog_new(&changed));
    assert_ok(aisle_catalog_add_item(changed, "m1", "Wool Scarf", "red wool scarf", "", "", NAN));
    assert_ok(aisle_search_index_add(idx, changed, "m1"));
    unit_vector(m, "Wool Scarf. red wool scarf", want);
    got = tu_encoder_vector(idx, "m1");
    for (int k = 0; k < 8; k++) assert_float_equal(got[k], want[k], 1e-6);
    /* detached: no encoder to encode a new product with */
    aisle_catalog_free(changed);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_catalog_free(full);
    aisle_model_free(m);
}

static void test_detaching_drops_the_vectors(void **state) {
    (void)state;
    aisle_model *m = tu_text_encoder("transformer", 1);
    aisle_catalog *cat = tu_mug_catalog(TU_MUGS_N);
    aisle_search_index *idx = tu_encoded_index(cat, NULL, m);
    assert_ok(aisle_search_index_set_text_model(idx, NULL, NULL, NULL));
    size_t dim = 1;
    int attached = 1;
    assert_ok(aisle_search_index_encoder_info(idx, &dim, &attached, NULL));
    assert_int_equal(dim, 0);
    assert_int_equal(attached, 0);
    assert_int_equal(aisle_search_index_set_text_model(idx, m, NULL, NULL), AISLE_ESTATE);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_model_free(m);
}

int main(void) {
    tu_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pooled_vector_is_what_the_head_reads),
        cmocka_unit_test(test_intent_model_gives_vectors_of_its_width),
        cmocka_unit_test(test_fingerprint_changes_when_a_weight_changes),
        cmocka_unit_test(test_fingerprint_sees_a_single_weight),
        cmocka_unit_test(test_models_without_vectors_are_refused),
        cmocka_unit_test(test_index_stores_each_products_unit_vector),
        cmocka_unit_test(test_query_vector_ranks_encoder_candidates),
        cmocka_unit_test(test_saved_index_attaches_only_its_own_encoder_and_searches_identically),
        cmocka_unit_test(test_index_saved_with_the_first_fingerprint_attaches),
        cmocka_unit_test(test_added_and_replaced_products_are_encoded),
        cmocka_unit_test(test_detaching_drops_the_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
