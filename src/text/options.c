/* options.c - the intent kind's common options: features, calibration,
 * the unknown threshold and distillation.  Each architecture's own options
 * are in its file (bag.c, ...). */
#include "text.h"

const option_spec text_options[] = {
    OPTION_STRING("architecture", "bag", "intent",
     "Text classifier: bag (fastText-style linear model over hashed n-gram buckets; trains in seconds), "
     "transformer (a BERT-style encoder trained here) or bert (a pretrained BERT file as the encoder: option "
     "encoder)."),
    OPTION_INT("word_ngrams", 1, 3, "2", "intent",
     "Word n-grams per token: 1 = the token only, 2 = also the bigram ending at it, 3 = also the trigram "
     "(CJK characters count as words)."),
    OPTION_INT("char_ngram_min", 0, 16, "3", "intent",
     "Shortest character n-gram of each word (wrapped in '<' '>'); 0 with char_ngram_max 0: none."),
    OPTION_INT("char_ngram_max", 0, 16, "5", "intent",
     "Longest character n-gram of each word; 0: none (misspellings then share no buckets)."),
    OPTION_INT("hash_buckets", 1024, 1073741824.0, "4194304", "intent",
     "Hash buckets of the token features. Only buckets seen in training take memory and file space."),
    OPTION_BOOL("lowercase", "true", "intent", "Fold letters to lower case before hashing."),
    OPTION_BOOL("cjk_bigrams", "true", "intent",
     "Chinese, Japanese and Korean text: add each pair of adjacent characters as a token."),
    OPTION_INT("max_tokens", 1, 1000000, "4096", "intent",
     "Tokens read from one text; the rest of a longer text is ignored (never an error)."),
    OPTION_FLOAT("calibration_fraction", 0, 0.5, "0.1", "intent",
     "Share of the labelled texts (stratified, seeded) held out of training to fit the temperature that "
     "calibrates probabilities; 0: no calibration (temperature 1)."),
    OPTION_FLOAT("unknown_threshold", 0, 1, "0", "intent",
     "Classification answers unknown when the top calibrated probability is below this (0: never)."),
    OPTION_STRING("teacher", "", "intent",
     "Distillation: an intent model file, or a bert sequence classifier file with label names, whose "
     "probabilities the new model learns (mixed with the true labels); its labels must include every "
     "training label."),
    OPTION_FLOAT("distill_temperature", 0.05, 100, "2", "intent",
     "Distillation: softmax temperature of the teacher's and the student's soft targets."),
    OPTION_FLOAT("distill_alpha", 0, 1, "0.5", "intent",
     "Distillation: weight of the soft-target loss (1 - alpha goes to the true labels)."),
    OPTION_END};
