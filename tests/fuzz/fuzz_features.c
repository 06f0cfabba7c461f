/* fuzz_features.c - libFuzzer target: tokenizer, n-grams, hashing and
 * TF-IDF on arbitrary bytes.  The first byte picks the options, the rest
 * is the text, passed with its exact length in a buffer of exactly that
 * size (ASan catches any read past it).  Checked: every token is
 * non-empty valid UTF-8; hashed and TF-IDF vectors have strictly
 * increasing indices below their dimension and unit (or zero) norm. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vector(const aisle_sparse *v) {
    const uint32_t *idx;
    const float *val;
    size_t nnz;
    uint32_t dim;
    double norm;
    if (aisle_sparse_data(v, &idx, &val, &nnz) || aisle_sparse_dim(v, &dim) || aisle_sparse_norm(v, &norm)) abort();
    for (size_t i = 0; i < nnz; i++) {
        if (idx[i] >= dim || (i && idx[i] <= idx[i - 1]) || !isfinite(val[i])) abort();
    }
    if (nnz && fabs(norm - 1.0) > 1e-4) abort();
}

static int valid_utf8(const unsigned char *s, size_t len) {
    /* independent of the library's decoder: well-formed UTF-8 per RFC 3629 table */
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (!n || i + n > len) return 0;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[i + 1] < 0xA0) return 0;
        if (c == 0xED && s[i + 1] > 0x9F) return 0;
        if (c == 0xF0 && s[i + 1] < 0x90) return 0;
        if (c == 0xF4 && s[i + 1] > 0x8F) return 0;
        i += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned opt = data[0];
    size_t len = size - 1;
    char *text = malloc(len ? len : 1);
    if (!text) return 0;
    memcpy(text, data + 1, len);
    char options[160];
    snprintf(options, sizeof options,
             "lowercase=%d cjk_bigrams=%d word_ngrams=%u char_ngram_min=%u char_ngram_max=%u signed_hash=%d "
             "hash_buckets=%u stop_words=_english_",
             opt & 1, (opt >> 1) & 1, 1 + ((opt >> 2) & 3), (opt >> 4) & 1 ? 2u : 0u, (opt >> 4) & 1 ? 4u : 0u,
             (opt >> 5) & 1, (opt >> 6) & 1 ? 64u : 1048576u);
    aisle_config *cfg = NULL;
    aisle_tokenizer *tok = NULL;
    aisle_hasher *h = NULL;
    aisle_tfidf *tf = NULL;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, options) || aisle_tokenizer_new(&tok, cfg) ||
        aisle_hasher_new(&h, cfg) || aisle_tfidf_new(&tf, cfg))
        abort();
    aisle_tokens *t;
    if (aisle_tokenizer_tokenize(tok, text, len, &t)) abort();
    size_t n;
    aisle_tokens_count(t, &n);
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t sl;
        if (aisle_tokens_get(t, i, &s, &sl) || sl == 0 || sl > 255 || strlen(s) != sl ||
            !valid_utf8((const unsigned char *)s, sl))
            abort();
    }
    aisle_tokens_free(t);
    aisle_sparse *v;
    if (aisle_hasher_transform(h, text, len, &v)) abort();
    check_vector(v);
    aisle_sparse_free(v);
    /* TF-IDF fitted on the text itself (as a NUL-terminated string) */
    char *z = malloc(len + 1);
    if (z) {
        memcpy(z, text, len);
        z[len] = '\0';
        const char *docs[1] = {z};
        if (aisle_tfidf_fit(tf, docs, 1)) abort();
        if (aisle_tfidf_transform(tf, z, AISLE_NUL_TERMINATED, &v)) abort();
        check_vector(v);
        aisle_sparse_free(v);
        free(z);
    }
    aisle_tfidf_free(tf);
    aisle_hasher_free(h);
    aisle_tokenizer_free(tok);
    aisle_config_free(cfg);
    free(text);
    return 0;
}
