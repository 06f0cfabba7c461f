/* serve_check.h - what the model fuzz targets do with a model that loaded:
 * serve from it as a shop would (recommend, for items, similar, score,
 * explain, explain_features, history, batch with k from 0 to huge,
 * update_user), so a loader
 * that accepts a state it cannot serve from is found; then describe, save
 * and load again to the same description; then serve it from an
 * aisle_server that adds an item and a user, and save and load the grown
 * model.  Included by fuzz_model_load.c
 * and fuzz_model_struct.c. */
#ifndef AISLE_FUZZ_SERVE_CHECK_H
#define AISLE_FUZZ_SERVE_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

/* A status a serving call may return on a loaded model: anything but a
 * crash or an internal error, and every failure explains itself. */
static void served(int rc) {
    if (rc == AISLE_OK) return;
    if (aisle_last_error()[0] == '\0') abort();
    if (rc == AISLE_EINTERNAL) abort(); /* a model that loads must be servable */
}

/* Keys and k are chosen from h (a hash of the input). */
static void serve_all(aisle_model *m, uint32_t h) {
    size_t nu = 0, ni = 0;
    if (aisle_model_user_count(m, &nu) || aisle_model_item_count(m, &ni)) abort();
    const char *user = "fuzz-unknown-user", *item = "fuzz-unknown-item", *item2 = item;
    if (nu && aisle_model_user_key(m, h % nu, &user)) abort();
    if (ni && aisle_model_item_key(m, (h >> 8) % ni, &item)) abort();
    if (ni && aisle_model_item_key(m, (h >> 16) % ni, &item2)) abort();
    size_t cap = ni + 2, n = 0, hist = 0;
    served(aisle_model_user_history(m, user, 0, NULL, NULL, &hist)); /* explain and history write up to this */
    if (hist + 2 > cap) cap = hist + 2;
    const char **items = malloc(2 * cap * sizeof *items);
    float *scores = malloc(2 * cap * sizeof *scores);
    size_t counts[2];
    if (!items || !scores) abort();
    static const size_t huge[] = {(size_t)1 << 61, (size_t)1 << 40, SIZE_MAX};
    size_t k = (h & 3) == 3 ? huge[(h >> 2) % 3] : (h >> 4) % cap;
    served(aisle_recommend(m, user, k, NULL, items, scores, &n));
    served(aisle_recommend(m, "fuzz-unknown-user", k, NULL, items, scores, &n));
    const char *basket[2] = {item, item2};
    float weights[2] = {1.0f, 0.5f};
    served(aisle_recommend_for_items(m, basket, weights, 2, k, NULL, items, scores, &n));
    served(aisle_similar_items(m, item, k, NULL, items, scores, &n));
    float score;
    served(aisle_score(m, user, item, &score));
    served(aisle_explain(m, user, item, k, items, scores, &n));
    served(aisle_explain_features(m, user, item, k, items, scores, &n)); /* hybrid's feature tables */
    served(aisle_model_user_history(m, user, k, items, scores, &n));
    const char *users[2] = {user, "fuzz-unknown-user"};
    served(aisle_recommend_batch(m, users, 1, k, NULL, items, scores, counts));
    served(aisle_recommend_batch(m, users, 2, (h >> 12) % cap, NULL, items, scores, counts));
    served(aisle_update_user(m, user, basket, weights, 2));
    served(aisle_recommend(m, user, k, NULL, items, scores, &n));
    free(items);
    free(scores);
}

/* The factor count of a model whose factors are the fp16 rows of a mapped
 * file (aisle_model_factors has no fp32 matrix to give): from describe. */
static inline bool mapped_fp16_factors(const aisle_model *m, size_t *dim) {
    char text[8192];
    if (aisle_model_describe(m, text, sizeof text, NULL) != AISLE_OK || !strstr(text, "factor_rows: fp16"))
        return false;
    const char *p = strstr(text, "factors: ");
    return p && sscanf(p, "factors: %zu", dim) == 1;
}

/* Hands m to a server, adds an item (a vector of the model's factor count
 * for factor kinds, none otherwise) and a user who bought it, serves the
 * grown model and saves and loads it: growing must keep a loaded model
 * servable and its file well formed.  Frees m. */
static void grow_and_serve(aisle_model *m, const aisle_config *cfg, uint32_t h) {
    aisle_server *s = NULL;
    if (aisle_server_new(&s, m) != AISLE_OK) abort();
    const float *data;
    size_t rows = 0, dim = 0;
    float v[64];
    bool factors = (aisle_model_factors(m, AISLE_FACTORS_ITEMS, &data, &rows, &dim) == AISLE_OK ||
                    mapped_fp16_factors(m, &dim)) &&
                   dim <= 64;
    for (size_t k = 0; k < 64; k++) v[k] = (float)((h >> (k % 24)) & 15) / 8.0f - 1.0f;
    served(aisle_server_add_item(s, "fuzz-new-item", factors ? v : NULL, factors ? dim : 0));
    const char *basket[2] = {"fuzz-new-item", "fuzz-unknown-item"};
    served(aisle_server_add_user(s, "fuzz-new-user", basket, NULL, 2));
    const aisle_model *g;
    if (aisle_server_acquire(s, &g) != AISLE_OK) abort();
    const char *items[8];
    float scores[8];
    size_t n;
    served(aisle_recommend(g, "fuzz-new-user", 8, NULL, items, scores, &n));
    served(aisle_similar_items(g, "fuzz-new-item", 8, NULL, items, scores, &n));
    void *img = NULL;
    size_t len = 0;
    /* a key table mapped without verification (mmap=true mmap_verify=none)
     * may hold empty or repeated keys, which saving refuses (EFORMAT, with
     * a message) instead of writing a file that cannot be loaded */
    char mapped[8] = "", verify[8] = "";
    bool unverified = aisle_config_get_string(cfg, "mmap", mapped, sizeof mapped) == AISLE_OK &&
                      strcmp(mapped, "true") == 0 &&
                      aisle_config_get_string(cfg, "mmap_verify", verify, sizeof verify) == AISLE_OK &&
                      strcmp(verify, "none") == 0;
    int rc = aisle_model_save_buffer(g, cfg, &img, &len);
    if (rc != AISLE_OK && !(unverified && rc == AISLE_EFORMAT && aisle_last_error()[0])) abort();
    aisle_model *again = NULL;
    if (!rc && aisle_model_load_buffer(&again, img, len, cfg) != AISLE_OK) abort(); /* the grown model's file loads */
    aisle_model_free(again);
    aisle_free(img);
    if (aisle_server_release(s, g) != AISLE_OK) abort();
    aisle_server_free(s);
}

/* Loads an image; a model that loads must serve, and (loaded afresh)
 * describe itself, save, and load again to the same description. */
static inline void load_and_serve(const uint8_t *data, size_t size, const aisle_config *cfg, uint32_t h) {
    aisle_model *m = NULL;
    int rc = aisle_model_load_buffer(&m, data, size, cfg);
    if (rc != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || m) abort(); /* every failure explains itself */
        return;
    }
    serve_all(m, h);
    aisle_model_free(m);
    m = NULL;
    if (aisle_model_load_buffer(&m, data, size, cfg) != AISLE_OK) abort(); /* loads again, unchanged */
    static char d1[1 << 16], d2[1 << 16];
    if (aisle_model_describe(m, d1, sizeof d1, NULL) == AISLE_OK) {
        void *img = NULL;
        size_t len = 0;
        if (aisle_model_save_buffer(m, cfg, &img, &len) != AISLE_OK) abort();
        aisle_model *again = NULL;
        if (aisle_model_load_buffer(&again, img, len, cfg) != AISLE_OK) abort(); /* our own output loads */
        if (aisle_model_describe(again, d2, sizeof d2, NULL) != AISLE_OK || strcmp(d1, d2) != 0) abort();
        aisle_model_free(again);
        aisle_free(img);
    }
    grow_and_serve(m, cfg, h);
}

#endif
