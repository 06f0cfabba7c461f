/* text_encoder_fixture.h - the small intent transformer that made the
 * search_index_load seed demo-text-encoder.aidx (make_corpus.c) and that
 * fuzz_search_index_load.c attaches to loaded indexes: trained the same way
 * in both (deterministic for the same data, options and seed; a build
 * whose floating point differs gets other weights, and its attach is then
 * refused with a message, which the target accepts). */
#ifndef AISLE_FUZZ_TEXT_ENCODER_FIXTURE_H
#define AISLE_FUZZ_TEXT_ENCODER_FIXTURE_H

#include "aisle.h"

static aisle_model *fuzz_train_text_encoder(void) {
    static const char *const texts[][2] = {
        {"red lunch bag", "bags"},      {"jumbo bag pink polkadot", "bags"}, {"white hanging heart", "home"},
        {"sage green candle", "home"},  {"wireless earbuds", "tech"},        {"phone charging cable", "tech"},
    };
    aisle_texts *t = NULL;
    aisle_config *cfg = NULL;
    aisle_model *m = NULL;
    int rc = aisle_texts_new(&t);
    for (size_t i = 0; !rc && i < sizeof texts / sizeof texts[0]; i++)
        rc = aisle_texts_add(t, texts[i][0], AISLE_NUL_TERMINATED, texts[i][1]);
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc)
        rc = aisle_config_parse(cfg, "architecture=transformer hidden=8 blocks=1 heads=2 ff_hidden=16 maxlen=8 "
                                     "epochs=1 batch_size=4 hash_buckets=4096 calibration_fraction=0 threads=1 "
                                     "seed=3");
    if (!rc) rc = aisle_text_train(t, cfg, &m);
    aisle_config_free(cfg);
    aisle_texts_free(t);
    return rc ? NULL : m;
}

#endif
