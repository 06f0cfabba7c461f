/* options.c - the intent kind's common options: features, calibration,
 * the unknown threshold and distillation.  Each architecture's own options
 * are in its file (bag.c, ...). */
#include "text.h"

const option_spec text_options[] = {
    {"architecture", AISLE_OPTION_STRING, 0, 0, "bag", NULL, "intent",
     "Text classifier: bag (fastText-style linear model over hashed n-gram buckets; trains in seconds) or "
     "transformer (a BERT-style encoder) where built in."},
    {"word_ngrams", AISLE_OPTION_INT, 1, 3, "2", NULL, "intent",
     "Word n-grams per token: 1 = the token only, 2 = also the bigram ending at it, 3 = also the trigram "
     "(CJK characters count as words)."},
    {"char_ngram_min", AISLE_OPTION_INT, 0, 16, "3", NULL, "intent",
     "Shortest character n-gram of each word (wrapped in '<' '>'); 0 with char_ngram_max 0: none."},
    {"char_ngram_max", AISLE_OPTION_INT, 0, 16, "5", NULL, "intent",
     "Longest character n-gram of each word; 0: none (misspellings then share no buckets)."},
    {"hash_buckets", AISLE_OPTION_INT, 1024, 1073741824.0, "4194304", NULL, "intent",
     "Hash buckets of the token features. Only buckets seen in training take memory and file space."},
    {"lowercase", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "intent", "Fold letters to lower case before hashing."},
    {"cjk_bigrams", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "intent",
     "Chinese, Japanese and Korean text: add each pair of adjacent characters as a token."},
    {"max_tokens", AISLE_OPTION_INT, 1, 1000000, "4096", NULL, "intent",
     "Tokens read from one text; the rest of a longer text is ignored (never an error)."},
    {"calibration_fraction", AISLE_OPTION_FLOAT, 0, 0.5, "0.1", NULL, "intent",
     "Share of the labelled texts (stratified, seeded) held out of training to fit the temperature that "
     "calibrates probabilities; 0: no calibration (temperature 1)."},
    {"unknown_threshold", AISLE_OPTION_FLOAT, 0, 1, "0", NULL, "intent",
     "Classification answers unknown when the top calibrated probability is below this (0: never)."},
    {"teacher", AISLE_OPTION_STRING, 0, 0, "", NULL, "intent",
     "Distillation: an intent model file whose probabilities the new model learns (mixed with the true "
     "labels); its labels must include every training label."},
    {"distill_temperature", AISLE_OPTION_FLOAT, 0.05, 100, "2", NULL, "intent",
     "Distillation: softmax temperature of the teacher's and the student's soft targets."},
    {"distill_alpha", AISLE_OPTION_FLOAT, 0, 1, "0.5", NULL, "intent",
     "Distillation: weight of the soft-target loss (1 - alpha goes to the true labels)."},
    OPTION_END};
