/* test_corruption.c - hostile model files for every model kind: each byte
 * flipped, every truncation, random multi-byte corruption.  Every case must
 * fail with AISLE_EFORMAT (or AISLE_EVERSION when the version field now
 * claims a newer format) and a message, never crash, hang or load
 * garbage.  (test_io.c covers crafted huge lengths and counts.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
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
        } else {
            assert_ok(aisle_model_train(ds, cfg, &m));
        }
        assert_ok(aisle_config_parse(cfg, "compression=6 quantize=int8"));
        void *bytes;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, cfg, &bytes, &len));
        unsigned char *buf = malloc(len);
        size_t cases = 0;
        /* every byte, flipped */
        for (size_t i = 0; i < len; i++, cases++) {
            memcpy(buf, bytes, len);
            buf[i] ^= 0xFF;
            expect_rejected(buf, len, kind, i);
        }
        /* every truncation */
        for (size_t cut = 0; cut < len; cut++, cases++) expect_rejected(bytes, cut, kind, cut);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_rejects_every_corruption),
        cmocka_unit_test(test_transformer_intent_rejects_every_corruption),
    };
    return cmocka_run_group_tests_name("corruption", tests, NULL, NULL);
}
