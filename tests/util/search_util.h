/* search_util.h - product-search test helpers shared by the test_search*
 * suites: a random catalog whose few word patterns make ties common, and
 * the check that a pruned retrieval equals the exhaustive one. */
#ifndef AISLE_TEST_SEARCH_UTIL_H
#define AISLE_TEST_SEARCH_UTIL_H

#include "util/test_util.h"

/* Runs query q (k hits, filters f[0..nf), options text opts or NULL);
 * returns the results (caller frees); fails the test on error. */
aisle_search_results *tu_search(const aisle_search_index *idx, const char *q, size_t k, const char *const *f,
                                size_t nf, const char *opts);
/* n products over the first vocab_n (<= 24) words of a small vocabulary:
 * varied field lengths, brands, categories and prices; titles favour the
 * first words. */
aisle_catalog *tu_varied_catalog(size_t n, unsigned seed, unsigned vocab_n);
/* Fails unless q gives bit-identical hits, scores and matched terms under
 * options opts_exact and opts_pruned. */
void tu_same_pruned(const aisle_search_index *idx, const char *opts_exact, const char *opts_pruned, const char *q,
                    size_t k, const char *const *f, size_t nf);
/* A small intent model trained on a few shop texts (16 texts, 4
 * labels; architecture "transformer" or "bag", tiny dimensions, one
 * thread): a text encoder for the search tests, fast to train.  Different
 * seeds give different weights. */
aisle_model *tu_text_encoder(const char *arch, unsigned seed);

/* Fails unless a and b hold the same hits in the same order with scores
 * within tol; tol 0: the same scores bit for bit. */
void tu_same_hits(const aisle_search_results *a, const aisle_search_results *b, double tol);
/* Scales v[0..dim) to unit length (a zero vector stays zero), in double
 * as the index does. */
void tu_unit(float *v, size_t dim);

/* Eight products (key, title, description, category path) of a small
 * shop for the text-encoder tests, and a catalog of the first n. */
enum { TU_MUGS_N = 8 };
extern const char *const tu_mugs[TU_MUGS_N][4];
aisle_catalog *tu_mug_catalog(size_t n);
/* An index of cat built with an encoder attached first (the BERT bert,
 * else the intent model text): the build encodes every product. */
aisle_search_index *tu_encoded_index(const aisle_catalog *cat, const aisle_bert *bert, const aisle_model *text);
/* The encoder vector the index stores for product key (NULL when not
 * indexed). */
const float *tu_encoder_vector(const aisle_search_index *idx, const char *key);

#endif
