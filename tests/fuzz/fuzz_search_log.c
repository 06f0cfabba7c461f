/* fuzz_search_log.c - libFuzzer target: the search-log loader
 * (aisle_search_log_load_buffer) and, for logs that load, learning on a
 * small fixed index.  Any input must load or fail with a message, never
 * crash; learning must succeed or fail with a message and leave the index
 * searchable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aisle_search_index *fixed_index(void) {
    static const char *const rows[][3] = {
        {"m1", "red mug", "ceramic mug"}, {"m2", "blue mug", "travel mug"}, {"l1", "paper lantern", "party"},
        {"b1", "lunch bag", "red bag"},   {"b2", "tote bag", "canvas"},
    };
    aisle_catalog *cat = NULL;
    aisle_search_index *idx = NULL;
    if (aisle_catalog_new(&cat) || aisle_search_index_new(&idx)) abort();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (aisle_catalog_add_item(cat, rows[i][0], rows[i][1], rows[i][2], "Home", "", 1.0)) abort();
    if (aisle_search_index_build(idx, cat, NULL)) abort();
    aisle_catalog_free(cat);
    return idx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static aisle_search_index *idx;
    if (!idx) idx = fixed_index();
    aisle_search_log *log = NULL;
    int rc = aisle_search_log_load_buffer(&log, data, size, "fuzz-log.csv", NULL);
    if (rc != AISLE_OK) {
        if (log || aisle_last_error()[0] == '\0') abort();
        return 0;
    }
    size_t searches = 0, events = 0;
    if (aisle_search_log_count(log, &searches, &events)) abort();
    if (searches > events + 1 && events) abort(); /* every search has at least one event */
    rc = aisle_search_index_learn(idx, log, NULL, NULL, NULL);
    if (rc != AISLE_OK && aisle_last_error()[0] == '\0') abort();
    aisle_search_results *r = NULL;
    if (aisle_search(idx, "red mug", 7, 3, NULL, 0, NULL, NULL, NULL, 0, NULL, &r)) abort();
    aisle_search_results_free(r);
    aisle_search_log_free(log);
    return 0;
}
