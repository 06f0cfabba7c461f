/* fuzz_transformer_classify.c - libFuzzer target: classifying and
 * explaining arbitrary bytes with an intent model of architecture
 * transformer (trained once, at start-up, on a small fixed corpus).  The
 * first byte picks k and the explained label; the rest is the text, in a
 * buffer of exactly its size (ASan catches any read past it).  Checked:
 * every call succeeds (any bytes are a text: invalid UTF-8 is skipped, NUL
 * separates, long texts are cut), k labels come back with finite
 * probabilities in [0, 1] summing to at most 1, best first, and every
 * token's contribution is finite. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aisle_model *model;
static const char *const labels[] = {"refund", "cancel", "track", "invoice"};

static aisle_model *build(void) {
    static const char *const fill[] = {"please", "my", "order", "now", "help", "质量", "很好", "straße"};
    aisle_texts *t;
    aisle_config *cfg;
    aisle_model *m;
    char buf[128];
    if (aisle_texts_new(&t) || aisle_config_new(&cfg)) abort();
    for (int i = 0; i < 64; i++) {
        snprintf(buf, sizeof buf, "%s %s %s", fill[i % 8], labels[i % 4], fill[(i / 4) % 8]);
        if (aisle_texts_add(t, buf, AISLE_NUL_TERMINATED, labels[i % 4])) abort();
    }
    if (aisle_config_parse(cfg, "architecture=transformer hidden=8 heads=2 ff_hidden=16 blocks=1 epochs=1 maxlen=16 "
                                "hash_buckets=4096 threads=1") ||
        aisle_text_train(t, cfg, &m))
        abort();
    aisle_texts_free(t);
    aisle_config_free(cfg);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!model) model = build();
    if (size < 1) return 0;
    size_t k = 1 + data[0] % 5, len = size - 1;
    char *text = malloc(len ? len : 1);
    if (!text) abort();
    memcpy(text, data + 1, len);
    const char *out[5];
    float probs[5];
    size_t n;
    int unknown;
    if (aisle_text_classify(model, text, len, k, out, probs, &n, &unknown)) abort();
    if (n != (k < 4 ? k : 4)) abort();
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(probs[i]) || probs[i] < 0 || probs[i] > 1 || (i && probs[i] > probs[i - 1])) abort();
        sum += probs[i];
    }
    if (sum > 1.0001) abort();
    aisle_text_explanation *e;
    const char *target = data[0] & 0x80 ? NULL : labels[(data[0] >> 3) % 4];
    if (aisle_text_explain(model, text, len, target, &e)) abort();
    size_t nt;
    if (aisle_text_explanation_count(e, &nt)) abort();
    for (size_t i = 0; i < nt; i++) {
        const char *tok;
        float c;
        if (aisle_text_explanation_at(e, i, &tok, &c) || !tok || !isfinite(c)) abort();
    }
    aisle_text_explanation_free(e);
    free(text);
    return 0;
}
