/* test_corruption.c - hostile model files for every model kind: each byte
 * flipped, every truncation, random multi-byte corruption.  Every case must
 * fail with AISLE_EFORMAT (or AISLE_EVERSION when the version field now
 * claims a newer format) and a message, never crash, hang or load
 * garbage.  (test_io.c covers crafted huge lengths and counts.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "search/search.h"
#include "util/bert_util.h"
#include "util/test_util.h"

static aisle_dataset *shop(void) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=30 demo_items=50 demo_days=5 demo_messages=0 seed=4"));
    aisle_dataset *ds;
    assert_ok(aisle_demo_generate(cfg, &ds));
    aisle_config_free(cfg);
    return ds;
}

/* A tiny intent model (kind intent trains from labelled texts). */
static int train_intent(const aisle_config *cfg, aisle_model **out) {
    static const char *const rows[][2] = {{"where is my refund", "refund"}, {"money back please", "refund"},
                                          {"track my parcel", "shipping"}, {"delivery is late", "shipping"},
                                          {"cancel the order", "cancel"}, {"stop my order now", "cancel"}};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        assert_ok(aisle_texts_add(t, rows[i][0], AISLE_NUL_TERMINATED, rows[i][1]));
    int rc = aisle_text_train(t, cfg, out);
    aisle_texts_free(t);
    return rc;
}

static void expect_rejected(const unsigned char *bytes, size_t len, const char *what, size_t pos) {
    aisle_model *m = NULL;
    aisle_clear_error();
    int rc = aisle_model_load_buffer(&m, bytes, len, NULL);
    if (rc == AISLE_OK) {
        aisle_model_free(m);
        fail_msg("%s at byte %zu: corrupted model loaded", what, pos);
    }
    if (rc != AISLE_EFORMAT && rc != AISLE_EVERSION)
        fail_msg("%s at byte %zu: status %d (%s), expected AISLE_EFORMAT", what, pos, rc, aisle_last_error());
    if (!aisle_last_error()[0]) fail_msg("%s at byte %zu: no message", what, pos);
    assert_null(m);
}

/* Every byte of bytes flipped and every truncation (buf: len bytes of
 * scratch) rejected; returns the number of cases. */
static size_t reject_every_flip_and_cut(const void *bytes, size_t len, unsigned char *buf, const char *kind) {
    size_t cases = 0;
    for (size_t i = 0; i < len; i++, cases++) {
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_rejected(buf, len, kind, i);
    }
    for (size_t cut = 0; cut < len; cut++, cases++) expect_rejected(bytes, cut, kind, cut);
    return cases;
}

/* A file with the mappable key tables and history (store_mappable,
 * sections 6..8): an ordinary load skips them but still refuses every
 * change to them (test_mmap.c checks the mapped open). */
static void test_mappable_file_rejects_every_corruption(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=als factors=3 epochs=1 threads=1"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_ok(aisle_config_parse(cfg, "compression=0 store_int8=true store_mappable=true"));
    void *bytes;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    size_t cases = reject_every_flip_and_cut(bytes, len, buf, "als store_mappable");
    print_message("als store_mappable %zu-byte file: %zu corrupted variants rejected\n", len, cases);
    free(buf);
    aisle_free(bytes);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_every_kind_rejects_every_corruption(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    core_rng r;
    rng_seed(&r, 77);
    size_t total = 0;
    for (int k = 0; k < aisle_model_kind_count(); k++) {
        const char *kind;
        assert_ok(aisle_model_kind_info(k, &kind, NULL));
        char text[200];
        snprintf(text, sizeof text,
                 "model=%s factors=3 epochs=1 hidden=4 maxlen=3 blocks=1 heads=1 batch_size=8 threads=1 "
                 "neighbours=5",
                 kind);
        aisle_config *cfg;
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_parse(cfg, text));
        aisle_model *m;
        if (!strcmp(kind, "intent")) {
            assert_ok(aisle_config_parse(cfg, "dim=2 hash_buckets=1024 char_ngram_min=0 char_ngram_max=0 "
                                              "calibration_fraction=0"));
            assert_ok(train_intent(cfg, &m));
        } else if (!strcmp(kind, "pair")) {
            /* a small text table keeps the file (and its variants) small */
            assert_ok(aisle_config_parse(cfg, "hash_buckets=1024 maxlen=8 id_factors=2 recent_items=2"));
            assert_ok(aisle_model_train(ds, cfg, &m));
        } else {
            assert_ok(aisle_model_train(ds, cfg, &m));
        }
        assert_ok(aisle_config_parse(cfg, "compression=6 quantize=int8"));
        void *bytes;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
        unsigned char *buf = malloc(len);
        size_t cases = reject_every_flip_and_cut(bytes, len, buf, kind);
        /* random multi-byte corruption: 2..8 bytes changed */
        for (int t = 0; t < 500; t++, cases++) {
            memcpy(buf, bytes, len);
            int nbytes = 2 + (int)rng_below(&r, 7);
            for (int b = 0; b < nbytes; b++) buf[rng_below(&r, len)] ^= (unsigned char)(1 + rng_below(&r, 255));
            aisle_model *mm = NULL;
            int rc = aisle_model_load_buffer(&mm, buf, len, NULL);
            /* random changes may cancel out (same byte twice): then the
             * file is intact and must load */
            if (rc == AISLE_OK) {
                if (memcmp(buf, bytes, len) != 0) fail_msg("%s: multi-byte corruption %d loaded", kind, t);
                aisle_model_free(mm);
            } else {
                assert_true(rc == AISLE_EFORMAT || rc == AISLE_EVERSION);
            }
        }
        print_message("%-8s %6zu-byte file: %zu corrupted variants rejected\n", kind, len, cases);
        total += cases;
        free(buf);
        aisle_free(bytes);
        aisle_model_free(m);
        aisle_config_free(cfg);
    }
    print_message("total: %zu corrupted model files rejected\n", total);
    aisle_dataset_free(ds);
}

/* Intent architecture transformer: every flipped byte and every
 * truncation of an int8 file is refused with a message. */
static void test_transformer_intent_rejects_every_corruption(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "architecture=transformer hidden=4 heads=1 ff_hidden=8 blocks=1 maxlen=4 "
                                      "epochs=1 hash_buckets=1024 char_ngram_min=0 char_ngram_max=0 "
                                      "calibration_fraction=0 threads=1"));
    aisle_model *m;
    assert_ok(train_intent(cfg, &m));
    assert_ok(aisle_config_parse(cfg, "compression=6 quantize=int8"));
    void *bytes;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
    unsigned char *buf = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_rejected(buf, len, "intent/transformer", i);
    }
    for (size_t cut = 0; cut < len; cut++) expect_rejected(bytes, cut, "intent/transformer", cut);
    print_message("intent/transformer %zu-byte file: %zu corrupted variants rejected\n", len, 2 * len);
    free(buf);
    aisle_free(bytes);
    aisle_model_free(m);
    aisle_config_free(cfg);
}

/* Intent architecture bag with sqrt pooling and trigrams (section 273 and
 * word_ngrams 3): every flipped byte and every truncation is refused. */
static void test_bag_sqrt_intent_rejects_every_corruption(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "bag_norm=sqrt word_ngrams=3 dim=2 epochs=1 hash_buckets=1024 "
                                      "char_ngram_min=0 char_ngram_max=0 calibration_fraction=0 threads=1"));
    aisle_model *m;
    assert_ok(train_intent(cfg, &m));
    void *bytes;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
    unsigned char *buf = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_rejected(buf, len, "intent/bag sqrt", i);
    }
    for (size_t cut = 0; cut < len; cut++) expect_rejected(bytes, cut, "intent/bag sqrt", cut);
    print_message("intent/bag sqrt %zu-byte file: %zu corrupted variants rejected\n", len, 2 * len);
    free(buf);
    aisle_free(bytes);
    aisle_model_free(m);
    aisle_config_free(cfg);
}

/* ---- search index files ---- */

static aisle_search_index *small_search_index(void) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_items=60 seed=4"));
    aisle_catalog *cat;
    assert_ok(aisle_demo_catalog(cfg, &cat));
    const char *key;
    assert_ok(aisle_catalog_key(cat, 3, &key));
    assert_ok(aisle_catalog_set_attribute(cat, key, "color", "red"));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
    return idx;
}

static void index_image(const aisle_search_index *idx, void **bytes, size_t *len) {
    io_writer *w;
    assert_ok(search_index_write(idx, NULL, &w));
    assert_ok(io_writer_to_buffer(w, bytes, len));
    io_writer_free(w);
}

static void expect_index_rejected(const void *bytes, size_t len, const char *what, size_t pos, const char *needle) {
    aisle_search_index *idx = NULL;
    aisle_clear_error();
    int rc = aisle_search_index_load_buffer(&idx, bytes, len, NULL);
    if (rc == AISLE_OK) {
        aisle_search_index_free(idx);
        fail_msg("%s at byte %zu: corrupted index loaded", what, pos);
    }
    if (rc != AISLE_EFORMAT && rc != AISLE_EVERSION)
        fail_msg("%s at byte %zu: status %d (%s), expected AISLE_EFORMAT", what, pos, rc, aisle_last_error());
    if (!aisle_last_error()[0]) fail_msg("%s at byte %zu: no message", what, pos);
    if (needle && !strstr(aisle_last_error(), needle))
        fail_msg("%s: message '%s' lacks '%s'", what, aisle_last_error(), needle);
    assert_null(idx);
}

/* A model file embedding the tiny bert checkpoint (~450 KB): every byte of
 * the first and last 8 KB (container header, the kind's own sections, the
 * section table) is flipped and truncated, and elsewhere every 61st byte
 * and every 211th length. */
static void reject_big_file_corruption(const aisle_model *m, const char *what) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "quantize=int8"));
    void *bytes;
    size_t len, n = 0;
    assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
    unsigned char *buf = malloc(len);
    for (size_t i = 0; i < len; i++) {
        if (i >= 8192 && i + 8192 < len && i % 61) continue;
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_rejected(buf, len, what, i);
        n++;
    }
    for (size_t cut = 0; cut < len; cut++) {
        if (cut >= 8192 && cut + 8192 < len && cut % 211) continue;
        expect_rejected(bytes, cut, what, cut);
        n++;
    }
    print_message("%s %zu-byte file: %zu corrupted variants rejected\n", what, len, n);
    free(buf);
    aisle_free(bytes);
    aisle_config_free(cfg);
}

/* Intent architecture bert: the head section and the embedded encoder's
 * three sections. */
static void test_bert_intent_rejects_corruption(void **state) {
    (void)state;
    char enc[600], opts[1200];
    tu_bert_encoder_file(enc, sizeof enc, "corrupt_bert_intent");
    snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\" head_epochs=1 calibration_fraction=0 threads=1",
             enc);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_model *m;
    assert_ok(train_intent(cfg, &m));
    reject_big_file_corruption(m, "intent/bert");
    aisle_model_free(m);
    aisle_config_free(cfg);
}

/* Kind pair read by a bert encoder (format 2): header, raw texts, recent
 * items and the embedded encoder with its head. */
static void test_bert_pair_rejects_corruption(void **state) {
    (void)state;
    char enc[600], opts[1400];
    tu_bert_encoder_file(enc, sizeof enc, "corrupt_bert_pair");
    tu_bert_pair_options(opts, sizeof opts, enc, "head_epochs=1 objective=purchase");
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_dataset *ds = shop();
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    reject_big_file_corruption(m, "pair/bert");
    aisle_model_free(m);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void flip_and_cut_index(aisle_search_index *idx);

static void test_search_index_rejects_every_corruption(void **state) {
    (void)state;
    aisle_search_index *idx = small_search_index();
    flip_and_cut_index(idx);
    aisle_search_index_free(idx);
}

/* The same with the optional text-encoder vectors section (docs/FORMAT.md
 * section 261), made by the bert tests' small model: a flipped vector
 * byte fails the CRC, a flipped section flag or type too. */
static void test_search_index_with_vectors_rejects_every_corruption(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_items=50 seed=4 threads=1"));
    aisle_catalog *cat;
    assert_ok(aisle_demo_catalog(cfg, &cat));
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tests/bert/data/cls", tu_srcdir());
    aisle_bert *bert;
    assert_ok(aisle_bert_import(&bert, dir, NULL));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_set_encoder(idx, bert, cat, cfg));
    assert_ok(aisle_search_index_build(idx, cat, cfg));
    assert_int_equal(idx->enc_dim, 64);
    flip_and_cut_index(idx);
    /* valid CRCs, impossible vectors */
    void *bytes;
    size_t len;
    float v = idx->enc_vec[70];
    idx->enc_vec[70] = NAN;
    index_image(idx, &bytes, &len);
    idx->enc_vec[70] = v;
    expect_index_rejected(bytes, len, "vector", 0, "search index vectors: value 70");
    aisle_free(bytes);
    aisle_search_index_free(idx);
    aisle_bert_free(bert);
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
}

/* The same with the optional pairs sections (docs/FORMAT.md sections 262
 * and 264); with valid CRCs, pairs out of order (a repeated pair) and a
 * pair block past the last product are refused. */
static void test_search_index_with_pairs_rejects_every_corruption(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_items=60 seed=4 search_pair_min_docs=2"));
    aisle_catalog *cat;
    assert_ok(aisle_demo_catalog(cfg, &cat));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, cfg));
    assert_true(idx->n_pairs > 1);
    flip_and_cut_index(idx);
    void *bytes;
    size_t len;
    search_pair last = idx->pairs[idx->n_pairs - 1];
    idx->pairs[idx->n_pairs - 1].term[0] = idx->pairs[0].term[0];
    idx->pairs[idx->n_pairs - 1].term[1] = idx->pairs[0].term[1];
    index_image(idx, &bytes, &len);
    idx->pairs[idx->n_pairs - 1] = last;
    expect_index_rejected(bytes, len, "pair", 0, "pair");
    aisle_free(bytes);
    /* a pair block past the last product (section 264, valid CRCs) */
    search_pblock *blk = &idx->pairs[0].blk[idx->pairs[0].n_blk - 1];
    uint32_t saved_last = blk->last;
    blk->last = (uint32_t)idx->n_docs + 3;
    index_image(idx, &bytes, &len);
    blk->last = saved_last;
    expect_index_rejected(bytes, len, "pair block", 0, "out of range");
    aisle_free(bytes);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
}

static void flip_and_cut_index(aisle_search_index *idx) {
    void *bytes;
    size_t len, cases = 0;
    index_image(idx, &bytes, &len);
    aisle_search_index *ok = NULL;
    assert_ok(aisle_search_index_load_buffer(&ok, bytes, len, NULL));
    aisle_search_index_free(ok);
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++, cases++) {
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_index_rejected(buf, len, "flip", i, NULL);
    }
    for (size_t cut = 0; cut < len; cut++, cases++) expect_index_rejected(bytes, cut, "truncation", cut, NULL);
    print_message("search index %zu-byte file: %zu corrupted variants rejected\n", len, cases);
    free(buf);
    aisle_free(bytes);
}

/* Structurally wrong indexes with valid CRCs: each must be refused by the
 * checks behind the CRCs, naming what is wrong. */
static void test_search_index_rejects_inconsistent_structure(void **state) {
    (void)state;
    void *bytes;
    size_t len;
    aisle_search_index *idx = small_search_index();
    uint32_t brand = idx->brand[0];
    idx->brand[0] = 100000;
    index_image(idx, &bytes, &len);
    idx->brand[0] = brand;
    expect_index_rejected(bytes, len, "brand", 0, "brand id");
    aisle_free(bytes);
    uint32_t cat = idx->category[2];
    idx->category[2] = 77777;
    index_image(idx, &bytes, &len);
    idx->category[2] = cat;
    expect_index_rejected(bytes, len, "category", 0, "category id");
    aisle_free(bytes);
    uint32_t key = idx->key_of_doc[1];
    idx->key_of_doc[1] = idx->key_of_doc[0];
    index_image(idx, &bytes, &len);
    idx->key_of_doc[1] = key;
    expect_index_rejected(bytes, len, "key", 0, "duplicate product key");
    aisle_free(bytes);
    assert_true(idx->n_attrs > 0);
    uint32_t attr = idx->attrs[0];
    idx->attrs[0] = 5555;
    index_image(idx, &bytes, &len);
    idx->attrs[0] = attr;
    expect_index_rejected(bytes, len, "attribute", 0, "attribute id");
    aisle_free(bytes);
    /* a model file is not an index, an index is not a model */
    index_image(idx, &bytes, &len);
    aisle_model *m = NULL;
    assert_int_equal(aisle_model_load_buffer(&m, bytes, len, NULL), AISLE_ENOTFOUND);
    aisle_free(bytes);
    aisle_search_index_free(idx);
}

/* The same for forecast files (every section type 1024..1029, with a
 * global model, local models and holidays). */
static void expect_forecast_rejected(const unsigned char *bytes, size_t len, size_t pos) {
    aisle_forecast *fc = NULL;
    aisle_clear_error();
    int rc = aisle_forecast_load_buffer(&fc, bytes, len, NULL);
    if (rc == AISLE_OK) {
        aisle_forecast_free(fc);
        fail_msg("forecast at byte %zu: corrupted file loaded", pos);
    }
    if (rc != AISLE_EFORMAT && rc != AISLE_EVERSION)
        fail_msg("forecast at byte %zu: status %d (%s), expected AISLE_EFORMAT", pos, rc, aisle_last_error());
    if (!aisle_last_error()[0]) fail_msg("forecast at byte %zu: no message", pos);
    assert_null(fc);
}

static void test_forecast_rejects_every_corruption(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int d = 0; d < 40; d++)
        for (int i = 0; i < 4; i++) {
            char key[16];
            snprintf(key, sizeof key, "p%d", i);
            if (i < 2 || d % 3 == 0)
                assert_ok(aisle_dataset_add_event(ds, "u", key, "purchase", 1 + (d + i) % 4,
                                                  1767225600 + (int64_t)d * 86400));
        }
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "period=day horizon=3 forecast_trees=2 forecast_depth=2 holidays=2026-01-06 "
                                      "threads=1 compression=6"));
    aisle_forecast *fc;
    assert_ok(aisle_forecast_train(ds, NULL, cfg, &fc));
    void *bytes;
    size_t len;
    assert_ok(aisle_forecast_save_buffer(fc, cfg, &bytes, &len));
    unsigned char *buf = malloc(len);
    size_t cases = 0;
    for (size_t i = 0; i < len; i++, cases++) {
        memcpy(buf, bytes, len);
        buf[i] ^= 0xFF;
        expect_forecast_rejected(buf, len, i);
    }
    for (size_t cut = 0; cut < len; cut++, cases++) expect_forecast_rejected(bytes, cut, cut);
    print_message("forecast %6zu-byte file: %zu corrupted variants rejected\n", len, cases);
    free(buf);
    aisle_free(bytes);
    aisle_forecast_free(fc);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_rejects_every_corruption),
        cmocka_unit_test(test_mappable_file_rejects_every_corruption),
        cmocka_unit_test(test_transformer_intent_rejects_every_corruption),
        cmocka_unit_test(test_bag_sqrt_intent_rejects_every_corruption),
        cmocka_unit_test(test_bert_intent_rejects_corruption),
        cmocka_unit_test(test_bert_pair_rejects_corruption),
        cmocka_unit_test(test_search_index_rejects_every_corruption),
        cmocka_unit_test(test_search_index_with_vectors_rejects_every_corruption),
        cmocka_unit_test(test_search_index_with_pairs_rejects_every_corruption),
        cmocka_unit_test(test_search_index_rejects_inconsistent_structure),
        cmocka_unit_test(test_forecast_rejects_every_corruption),
    };
    return cmocka_run_group_tests_name("corruption", tests, NULL, NULL);
}
