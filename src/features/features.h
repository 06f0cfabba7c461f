/*
 * features.h - internal interface of the feature-engineering module:
 * UTF-8 tokenizing (Latin, Greek, Cyrillic case folding; CJK characters as
 * unigrams plus bigrams), word and character n-grams, stable feature
 * hashing, TF-IDF/BM25, encoders and sparse vectors.
 */
#ifndef AISLE_FEATURES_H
#define AISLE_FEATURES_H

#include "core/core.h"

#include <string.h>

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

/* ---- UTF-8 and character classes (utf8.c) ---- */

/* Decodes one strict UTF-8 sequence at s (len > 0 bytes available): returns
 * its length and sets *cp, or returns 0 for an invalid sequence (stray
 * continuation byte, overlong form, surrogate, > U+10FFFF, truncated). */
size_t feat_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Encodes cp (valid scalar value) into out (4 bytes); returns the length. */
size_t feat_utf8_encode(uint32_t cp, char *out);
/* Simple lower-case mapping (Latin, Latin-1, Extended-A, Extended
 * Additional, Greek, Cyrillic, Armenian); other code points unchanged. */
uint32_t feat_lower(uint32_t cp);
/* Full-width ASCII variants -> ASCII. */
uint32_t feat_fold_width(uint32_t cp);
/* CJK ideographs, kana and Hangul: tokens of one character. */
int feat_is_cjk(uint32_t cp);
/* Letters, digits and marks that make up words (not CJK-specific). */
int feat_is_word(uint32_t cp);

/* ---- tokenizer (tokenizer.c) ---- */

/* Tokens longer than this many bytes are cut at the last whole character
 * that fits, so tokenizing never allocates. */
#define FEAT_MAX_TOKEN 255

enum { FEAT_TOK_WORD = 0, FEAT_TOK_CJK = 1, FEAT_TOK_BIGRAM = 2 };

typedef struct feat_tok_cfg {
    bool lowercase;
    bool cjk_bigrams;
    int min_token_len;     /* in characters; applies to words only */
    const core_keys *stop; /* stop words (NULL: none) */
} feat_tok_cfg;

/* Called for every token in order; a non-zero return stops tokenizing and
 * is returned by feat_tokenize.  tok is not NUL-terminated. */
typedef int (*feat_token_fn)(void *ctx, const char *tok, size_t len, int kind);

void feat_tok_default(feat_tok_cfg *c);
int feat_tokenize(const feat_tok_cfg *c, const char *text, size_t len, feat_token_fn fn, void *ctx);
/* Reads the tokenizer options from cfg into c and fills stop (which the
 * caller has initialised with keys_init). */
int feat_tok_configure(feat_tok_cfg *c, core_keys *stop, const aisle_config *cfg);
/* Adds words to a stop list, lower-cased when lowercase is set.  All or
 * nothing. */
int feat_stop_add(core_keys *stop, bool lowercase, const char *const *words, size_t n);

/* Resolves the public length convention (AISLE_NUL_TERMINATED). */
static inline size_t feat_text_len(const char *text, size_t len) {
    return len == AISLE_NUL_TERMINATED ? (text ? strlen(text) : 0) : len;
}

/* Token lists (tokens.c), shared by the n-gram and hashing code. */
int feat_tokens_new(aisle_tokens **out);
int feat_tokens_push(aisle_tokens *t, const char *tok, size_t len, int kind);
const feat_tok_cfg *feat_tokenizer_cfg(const aisle_tokenizer *tok);

/* ---- feature strings: tokens, word n-grams, char n-grams (ngram.c) ---- */

typedef struct feat_gram_cfg {
    int word_ngrams;           /* 1 = unigrams only */
    int char_min, char_max;    /* 0 = no char n-grams */
} feat_gram_cfg;

/* Emits every feature string of text: each token (kind FEAT_TOK_*), word
 * n-grams 2..word_ngrams over words and CJK characters joined by one space
 * (kind FEAT_GRAM_WORD), and char n-grams of each word wrapped in '<' '>'
 * (kind FEAT_GRAM_CHAR). */
enum { FEAT_GRAM_WORD = 3, FEAT_GRAM_CHAR = 4 };
/* Reads word_ngrams, char_ngram_min and char_ngram_max. */
int feat_gram_configure(feat_gram_cfg *g, const aisle_config *cfg);
int feat_features(const feat_tok_cfg *tc, const feat_gram_cfg *gc, const char *text, size_t len,
                  feat_token_fn fn, void *ctx);

/* ---- sparse vectors (sparse.c) ---- */

struct aisle_sparse {
    uint32_t dim;     /* indices are < dim */
    size_t nnz, cap;
    uint32_t *idx;    /* strictly increasing */
    float *val;
};

/* Builds v from (idx, val) pairs in any order: sorts, sums duplicates and
 * drops exact zeros.  Takes ownership of nothing; v must be empty. */
int feat_sparse_build(aisle_sparse *v, const uint32_t *idx, const float *val, size_t n);
void feat_sparse_l2(aisle_sparse *v);
int feat_sparse_alloc(aisle_sparse **out, uint32_t dim);

/* ---- options (options.c) ---- */
extern const option_spec features_options[];

#endif /* AISLE_FEATURES_H */
