/* fuzz_tokenizer.c - libFuzzer target: UTF-8 tokenizer, n-grams, feature
 * hashing and TF-IDF transform on arbitrary bytes (invalid UTF-8, NULs,
 * overlong sequences).  Tokens must lie inside the buffer's bounds and
 * hashed features inside [0, buckets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    aisle_config *cfg = NULL;
    aisle_tokenizer *tok = NULL;
    aisle_tokens *toks = NULL;
    aisle_hasher *h = NULL;
    aisle_sparse *v = NULL;
    if (aisle_config_new(&cfg)) abort();
    if (aisle_tokenizer_new(&tok, cfg)) abort();
    if (aisle_tokenizer_tokenize(tok, text, size, &toks) == AISLE_OK) {
        size_t n = 0;
        aisle_tokens_count(toks, &n);
        for (size_t i = 0; i < n; i++) {
            const char *t;
            size_t len;
            if (aisle_tokens_get(toks, i, &t, &len) != AISLE_OK || len == 0) abort();
            if (strlen(t) != len) abort(); /* tokens are NUL-terminated copies */
        }
        aisle_tokens_free(toks);
    }
    if (aisle_config_parse(cfg, "char_ngram_min=2 char_ngram_max=4 word_ngrams=2") != AISLE_OK) abort();
    if (aisle_hasher_new(&h, cfg) == AISLE_OK) {
        if (aisle_hasher_transform(h, text, size, &v) == AISLE_OK) {
            const uint32_t *idx;
            const float *val;
            size_t nnz;
            uint32_t dim;
            aisle_sparse_data(v, &idx, &val, &nnz);
            aisle_sparse_dim(v, &dim);
            for (size_t i = 0; i < nnz; i++)
                if (idx[i] >= dim || (i && idx[i] <= idx[i - 1])) abort(); /* sorted, in range */
            aisle_sparse_free(v);
        }
        aisle_hasher_free(h);
    }
    aisle_tokenizer_free(tok);
    aisle_config_free(cfg);
    return 0;
}
