/* fuzz_search_index_load.c - libFuzzer target: the search index file
 * loader.  Any input must load or fail with a status and a message without
 * crashing or leaking; an index that loads must answer queries (its
 * postings were checked at load), through the text-encoder scan when its
 * vectors were made by the small BERT fixture or the small intent
 * transformer (text_encoder_fixture.h).  Each input is tried as is and with its
 * CRCs recomputed (layout in docs/FORMAT.md), so mutations reach the
 * structure checks behind them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"
#include "container_frame.h"
#include "text_encoder_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bert tests' small model (run from the source root), which made the
 * encoder seed's vectors: an index whose vectors it made is searched through
 * the encoder scan (NULL when the fixture is absent). */
static aisle_bert *encoder(void) {
    static aisle_bert *bert;
    static int tried;
    if (!tried) {
        tried = 1;
        if (aisle_bert_import(&bert, "tests/bert/data/cls", NULL) != AISLE_OK) bert = NULL;
    }
    return bert;
}

static aisle_model *text_encoder(void) {
    static aisle_model *m;
    static int tried;
    if (!tried) {
        tried = 1;
        m = fuzz_train_text_encoder();
    }
    return m;
}

static void try_load(const uint8_t *data, size_t size, void *vcfg) {
    const aisle_config *cfg = vcfg;
    aisle_search_index *idx = NULL;
    int rc = aisle_search_index_load_buffer(&idx, data, size, cfg);
    if (rc != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || idx) abort();
        return;
    }
    size_t dim = 0;
    if (aisle_search_index_encoder_info(idx, &dim, NULL, NULL)) abort();
    /* another encoder's vectors are refused with a message; ours attach */
    if (dim && encoder() && aisle_search_index_set_encoder(idx, encoder(), NULL, cfg) != AISLE_OK &&
        aisle_last_error()[0] == '\0')
        abort();
    if (dim && text_encoder() && aisle_search_index_set_text_model(idx, text_encoder(), NULL, cfg) != AISLE_OK &&
        aisle_last_error()[0] == '\0')
        abort();
    static const char *const queries[] = {"red", "lunch bag", "wireles", "he", "蓝牙", "a b c d e"};
    const char *filters[] = {"color=red", "price=0..100"};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        aisle_search_results *r = NULL;
        if (aisle_search(idx, queries[q], AISLE_NUL_TERMINATED, 5, filters, q % 3, NULL, NULL, NULL, 0, cfg, &r))
            abort();
        aisle_search_results_free(r);
        if (aisle_suggest(idx, queries[q], AISLE_NUL_TERMINATED, 3, NULL, &r)) abort();
        aisle_search_results_free(r);
    }
    aisle_search_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg) != AISLE_OK) return 0;
    aisle_config_set_int(cfg, "search_max_bytes", 1 << 24);
    aisle_config_set_int(cfg, "threads", 1);
    aisle_config_set(cfg, "search_facets", "brand,color");
    fuzz_try_raw_and_fixed(data, size, try_load, cfg);
    aisle_config_free(cfg);
    return 0;
}
