/* fuzz_text_predict.c - libFuzzer target: classifying and explaining
 * arbitrary bytes (invalid UTF-8, NUL bytes, huge tokens) with small
 * intent models trained once: a bag, and an architecture-bert model over
 * the tiny checkpoint of tests/bert (run from the source root; skipped
 * with a message when absent).  Every call must succeed with
 * probabilities that sum to 1 and one contribution per token, never
 * crash. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aisle_model *model, *bert_model;
static int ready;

static void setup(void) {
    static const char *const rows[][2] = {
        {"where is my refund", "refund"},   {"money back please", "refund"}, {"track my parcel", "shipping"},
        {"delivery is late", "shipping"},   {"cancel the order", "cancel"},  {"stop my order now", "cancel"},
        {"\xe8\xb4\xa8\xe9\x87\x8f\xe5\xbe\x88\xe5\xa5\xbd", "refund"}};
    aisle_texts *t;
    aisle_config *cfg;
    if (aisle_texts_new(&t) || aisle_config_new(&cfg)) abort();
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        if (aisle_texts_add(t, rows[i][0], AISLE_NUL_TERMINATED, rows[i][1])) abort();
    if (aisle_config_parse(cfg, "threads=1 epochs=3 dim=8 max_tokens=512 unknown_threshold=0.5")) abort();
    if (aisle_text_train(t, cfg, &model)) abort();
    aisle_config_free(cfg);
    /* the bert architecture: WordPiece tokens, leave-one-out explanations */
    aisle_bert *b;
    const char *enc = "build/fuzz/bert-encoder.aisle";
    if (aisle_bert_import(&b, "tests/bert/data/cls", NULL) == AISLE_OK) {
        if (aisle_bert_save(b, enc, NULL) || aisle_config_new(&cfg) ||
            aisle_config_parse(cfg, "architecture=bert encoder=build/fuzz/bert-encoder.aisle head_epochs=2 "
                                    "threads=1 blas_threads=1 max_length=24 unknown_threshold=0.5") ||
            aisle_text_train(t, cfg, &bert_model))
            abort();
        aisle_config_free(cfg);
        aisle_bert_free(b);
    } else {
        fprintf(stderr, "fuzz_text_predict: tests/bert/data/cls not found (run from the source root): bert "
                        "architecture not fuzzed\n");
    }
    aisle_texts_free(t);
    ready = 1;
}

/* max_tokens: the most tokens an explanation may hold for this input */
static void check(const aisle_model *m, const uint8_t *data, size_t size, size_t max_tokens) {
    const char *labels[3];
    float p[3];
    size_t n = 0;
    int unknown = -1;
    if (aisle_text_classify(m, (const char *)data, size, 3, labels, p, &n, &unknown)) abort();
    if (n != 3 || (unknown != 0 && unknown != 1)) abort();
    float s = p[0] + p[1] + p[2];
    if (!(fabsf(s - 1.0f) < 1e-3f) || p[1] > p[0] || p[2] > p[1]) abort();
    aisle_text_explanation *e = NULL;
    if (aisle_text_explain(m, (const char *)data, size, NULL, &e)) abort();
    size_t nt = 0;
    aisle_text_explanation_count(e, &nt);
    if (nt > max_tokens) abort();
    for (size_t i = 0; i < nt; i++) {
        const char *tok;
        float c;
        if (aisle_text_explanation_at(e, i, &tok, &c) || !tok || !isfinite(c)) abort();
    }
    aisle_text_explanation_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ready) setup();
    check(model, data, size, 512);
    /* every WordPiece covers at least one byte of the input */
    if (bert_model) check(bert_model, data, size, size);
    return 0;
}
