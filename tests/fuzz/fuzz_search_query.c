/* fuzz_search_query.c - libFuzzer target: search queries, filters and
 * suggestions on a fixed small index.  Input: byte 0 = option bits (typo,
 * prefix, proximity, facets, pruning), then lines: the query, then up to 4
 * filters.  Any input must give a defined result: hits (at most k, scores
 * non-increasing, every accessor working) or a status with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static aisle_search_index *shared_index(void) {
    static aisle_search_index *idx;
    if (idx) return idx;
    aisle_catalog *cat;
    if (aisle_catalog_new(&cat)) abort();
    static const char *const rows[][5] = {
        {"a1", "Wireless Earbuds", "Bluetooth earbuds with charging case", "Electronics > Headphones", "Sonic"},
        {"a2", "Red Lunch Bag", "Insulated lunch bag, red", "Kitchen > Storage", "Pack"},
        {"a3", "蓝牙耳机 Pro", "无线蓝牙耳机 charging case", "Electronics > Headphones", "Sonic"},
        {"a4", "Heart Candle Holder", "White hanging heart t-light holder", "Home > Decor", "Glow"},
        {"a5", "Größe Äpfel Öl", "Беспроводные НАУШНИКИ", "Home", ""},
        {"a6", "Yoga Mat", "non-slip yoga mat", "Sports > Yoga", "Zen"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (aisle_catalog_add_item(cat, rows[i][0], rows[i][1], rows[i][2], rows[i][3], rows[i][4], 10.0 * i))
            abort();
        if (aisle_catalog_set_attribute(cat, rows[i][0], "color", i % 2 ? "red" : "black")) abort();
    }
    /* enough filler for skip tables and pruning */
    char key[16], title[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "f%d", i);
        snprintf(title, sizeof title, "%s %s filler", i % 3 ? "red" : "blue", i % 5 ? "lamp" : "chair");
        if (aisle_catalog_add_item(cat, key, title, "", "", "", 1)) abort();
    }
    if (aisle_search_index_new(&idx) || aisle_search_index_build(idx, cat, NULL)) abort();
    aisle_catalog_free(cat);
    return idx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    aisle_search_index *idx = shared_index();
    uint8_t bits = data[0];
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    size_t qlen = strcspn(text, "\n");
    const char *filters[4];
    size_t nf = 0;
    for (char *p = text + qlen; *p && nf < 4;) {
        *p++ = 0;
        filters[nf++] = p;
        p += strcspn(p, "\n");
    }
    aisle_config *cfg = NULL;
    if (aisle_config_new(&cfg)) abort();
    aisle_config_set(cfg, "search_typo", bits & 1 ? "false" : "true");
    aisle_config_set(cfg, "search_prefix", bits & 2 ? "false" : "true");
    aisle_config_set(cfg, "search_proximity", bits & 4 ? "0" : "0.5");
    if (bits & 8) aisle_config_set(cfg, "search_facets", "brand,category,color");
    aisle_config_set(cfg, "search_total_limit", bits & 16 ? "1" : "0");
    size_t k = (size_t)(bits >> 5) * 3;
    aisle_search_results *r = NULL;
    int rc = aisle_search(idx, text, qlen, k, filters, nf, NULL, NULL, NULL, 0, cfg, &r);
    if (rc) {
        if (r || !aisle_last_error()[0]) abort();
    } else {
        size_t n, total, nfac;
        if (aisle_search_results_count(r, &n) || aisle_search_results_total(r, &total) || n > k) abort();
        double prev = 1e300;
        for (size_t i = 0; i < n; i++) {
            const char *key, *m, *why;
            double s;
            if (aisle_search_results_hit(r, i, &key, &s) || aisle_search_results_matched(r, i, &m) ||
                aisle_search_results_explain(r, i, &why) || s > prev || !key[0])
                abort();
            prev = s;
        }
        if (aisle_search_results_facet_count(r, &nfac)) abort();
        for (size_t f = 0; f < nfac; f++) {
            size_t nv;
            if (aisle_search_results_facet(r, f, NULL, &nv)) abort();
            for (size_t v = 0; v < nv; v++)
                if (aisle_search_results_facet_value(r, f, v, NULL, NULL)) abort();
        }
        aisle_search_results_free(r);
    }
    r = NULL;
    if (aisle_suggest(idx, text, qlen, 5, NULL, &r) == AISLE_OK) {
        size_t n;
        if (aisle_search_results_count(r, &n) || n > 5) abort();
        aisle_search_results_free(r);
    }
    aisle_config_free(cfg);
    free(text);
    return 0;
}
