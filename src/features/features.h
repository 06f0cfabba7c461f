/*
 * features.h - internal interface of the feature-engineering module:
 * UTF-8 tokenizing (Latin, Greek, Cyrillic case folding; CJK characters as
 * unigrams plus bigrams), word and character n-grams, stable feature
 * hashing, TF-IDF/BM25, encoders and sparse vectors.
 */
#ifndef AISLE_FEATURES_H
#define AISLE_FEATURES_H

#include "core/core.h"

/* Stable 32-bit hash of bytes used for feature hashing (documented in
 * docs/FEATURES.md; the same on every platform). */
uint32_t feat_hash32(const void *data, size_t len, uint32_t seed);

/* Tokenizes text with the default tokenizer (lower-cased words, numbers
 * kept, CJK unigrams + bigrams, no stop words) and hashes each token into
 * [0, buckets).  Writes at most max_out ids to out and the number of tokens
 * found to *n_out (which may exceed max_out).  Used by models that take
 * product titles as side information. */
int feat_hash_tokens(const char *text, size_t len, uint32_t buckets, uint32_t *out, size_t max_out,
                     size_t *n_out);

#endif /* AISLE_FEATURES_H */
