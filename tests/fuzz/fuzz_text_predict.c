/* fuzz_text_predict.c - libFuzzer target: classifying and explaining
 * arbitrary bytes (invalid UTF-8, NUL bytes, huge tokens) with a small
 * intent model trained once.  Every call must succeed with probabilities
 * that sum to 1 and one contribution per token, never crash. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aisle_model *model;

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
    aisle_texts_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model) setup();
    const char *labels[3];
    float p[3];
    size_t n = 0;
    int unknown = -1;
    if (aisle_text_classify(model, (const char *)data, size, 3, labels, p, &n, &unknown)) abort();
    if (n != 3 || (unknown != 0 && unknown != 1)) abort();
    float s = p[0] + p[1] + p[2];
    if (!(fabsf(s - 1.0f) < 1e-3f) || p[1] > p[0] || p[2] > p[1]) abort();
    aisle_text_explanation *e = NULL;
    if (aisle_text_explain(model, (const char *)data, size, NULL, &e)) abort();
    size_t nt = 0;
    aisle_text_explanation_count(e, &nt);
    if (nt > 512) abort();
    for (size_t i = 0; i < nt; i++) {
        const char *tok;
        float c;
        if (aisle_text_explanation_at(e, i, &tok, &c) || !tok || !isfinite(c)) abort();
    }
    aisle_text_explanation_free(e);
    return 0;
}
