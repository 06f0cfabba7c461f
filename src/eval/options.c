/* options.c - options of evaluation. */
#include "eval.h"

const option_spec eval_options[] = {
    {"k", AISLE_OPTION_INT, 1, 10000, "10", NULL, "eval", "Cut-off K of ranking metrics (precision@K, NDCG@K, ...)."},
    {"protocol", AISLE_OPTION_STRING, 0, 0, "full", "full|sampled", "eval",
     "full ranks every item the user has not interacted with in training; sampled ranks each test "
     "item against `negatives` random items (the SASRec/BERT4Rec protocol)."},
    {"negatives", AISLE_OPTION_INT, 1, 100000, "100", NULL, "eval",
     "Random negatives per test item in the sampled protocol."},
    OPTION_END};
