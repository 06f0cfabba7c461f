/* bert_util.h - shared set-up of the suites that use a bert model as an
 * intent or pair encoder (test_bert_intent, test_pair, test_oom,
 * test_corruption, fuzz corpus): the tiny random checkpoint of tests/bert/data/cls as a bert
 * model file, and a generated keyword task. */
#ifndef AISLE_TEST_BERT_UTIL_H
#define AISLE_TEST_BERT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "aisle.h"

/* Imports tests/bert/data/cls (2 layers x 64 hidden, vocab 500, random
 * weights) and saves it as <tests/tmp/NAME>/encoder.aisle; path gets the
 * file's name.  Fails the test on error. */
void tu_bert_encoder_file(char *path, size_t len, const char *name);

/* The same checkpoint with its pooler and classifier renamed away (names
 * of equal length in the safetensors header, so every offset holds): a
 * bert model file without a pooler, at <tests/tmp/NAME>/nopool.aisle. */
void tu_bert_encoder_file_no_pooler(char *path, size_t len, const char *name);

/* The options text of a pair model read by the encoder file (threads=1,
 * head-only, a short shopper side), plus `extra`; into out. */
void tu_bert_pair_options(char *out, size_t len, const char *encoder, const char *extra);

/* per_label texts of each of 3 labels (tu_keyword_labels): 2-5 filler
 * words of the checkpoint's vocabulary with the label's keyword somewhere
 * among them; seeded. */
extern const char *const tu_keyword_labels[3];
extern const char *const tu_keyword_words[3];
aisle_texts *tu_keyword_texts(int per_label, uint64_t seed);

/* The options text that trains architecture bert on the encoder file
 * (threads=1, head-only, settings that learn the keyword task), plus
 * `extra`; into out. */
void tu_bert_intent_options(char *out, size_t len, const char *encoder, const char *extra);

#endif
