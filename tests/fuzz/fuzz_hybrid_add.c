/* fuzz_hybrid_add.c - libFuzzer target: products (and shoppers) of an
 * arbitrary catalog file added to a trained hybrid or pair model
 * (aisle_model_add_items / _add_users, src/models/hybrid_grow.c,
 * src/models/pair_grow.c): bit 0 of the first byte picks items or users,
 * the rest of it modulo 3 the model (an SGD hybrid, a fit=als hybrid with
 * listing times, a pair model); the other bytes are the catalog CSV.  The
 * add must succeed or fail with a message and leave the counts as they
 * were; every added product or shopper is then scored, listed, explained
 * and saved like a trained one, never a crash. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aisle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *saved[3];
static size_t saved_len[3];

/* Three small models over mugs and spades with a shopper table, trained
 * once (SGD hybrid; fit=als hybrid with listing times; pair); each input
 * gets a fresh copy loaded from its bytes. */
static void train_once(void) {
    if (saved[0]) return;
    aisle_dataset *ds;
    aisle_catalog *cat, *users;
    aisle_config *cfg;
    if (aisle_dataset_new(&ds) || aisle_catalog_new(&cat) || aisle_catalog_new(&users) || aisle_config_new(&cfg))
        abort();
    char u[16], i[16];
    for (int user = 0; user < 20; user++) {
        snprintf(u, sizeof u, "u%d", user);
        for (int t = 0; t < 4; t++) {
            snprintf(i, sizeof i, "i%d", 2 * ((user + 3 * t) % 8) + user % 2);
            if (aisle_dataset_add_event(ds, u, i, "purchase", 1, 1700000000 + t)) abort();
        }
        if (aisle_catalog_add_item(users, u, NULL, NULL, NULL, NULL, 0.0 / 0.0) ||
            aisle_catalog_set_attribute(users, u, "country", user % 2 ? "DE" : "UK"))
            abort();
    }
    for (int k = 0; k < 16; k++) {
        snprintf(i, sizeof i, "i%d", k);
        if (aisle_catalog_add_item(cat, i, k % 2 ? "steel spade" : "ceramic mug", "a fine one",
                                   k % 2 ? "Garden > Tools" : "Kitchen > Mugs", k % 2 ? "Digger" : "Potter",
                                   k % 2 ? 30.0 : 8.0) ||
            aisle_catalog_set_attribute(cat, i, "listed", k < 12 ? "1600000000" : "1700000000"))
            abort();
    }
    static const char *const options[3] = {
        "model=hybrid factors=4 epochs=2 threads=1 seed=1",
        "model=hybrid fit=als factors=4 threads=1 seed=1 listed_attribute=listed cold_stale_factor=0.5",
        ("model=pair hidden=8 heads=2 ff_hidden=16 blocks=1 epochs=1 threads=1 seed=1 hash_buckets=1024 recent_items=2 "
         "id_factors=2")};
    for (int v = 0; v < 3; v++) {
        aisle_model *m;
        if (aisle_config_parse(cfg, options[v]) || aisle_model_train_with_features(ds, cat, users, cfg, &m) ||
            aisle_model_save_buffer(m, NULL, &saved[v], &saved_len[v]))
            abort();
        aisle_model_free(m);
    }
    aisle_config_free(cfg);
    aisle_catalog_free(users);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    train_once();
    bool users_side = data[0] & 1;
    int v = (data[0] >> 1) % 3;
    bool pair = v == 2;
    aisle_catalog *cat;
    if (aisle_catalog_new(&cat)) abort();
    if (aisle_catalog_load_buffer(cat, data + 1, size - 1, "fuzz-new.csv", NULL) != AISLE_OK) {
        aisle_catalog_free(cat);
        return 0;
    }
    aisle_model *m;
    if (aisle_model_load_buffer(&m, saved[v], saved_len[v], NULL)) abort();
    size_t ni0, nu0, ni, nu, added = 0, rows;
    aisle_model_item_count(m, &ni0);
    aisle_model_user_count(m, &nu0);
    aisle_catalog_count(cat, &rows);
    int rc = users_side ? aisle_model_add_users(m, cat, &added) : aisle_model_add_items(m, cat, &added);
    aisle_model_item_count(m, &ni);
    aisle_model_user_count(m, &nu);
    if (rc != AISLE_OK) {
        if (aisle_last_error()[0] == '\0' || ni != ni0 || nu != nu0 || added != 0) abort();
    } else {
        if (added > rows || (users_side ? nu != nu0 + added || ni != ni0 : ni != ni0 + added || nu != nu0)) abort();
        /* pair scores every product with one encoder pass: a few rows */
        for (size_t r = 0; r < rows && (!pair || r < 4); r++) {
            const char *key, *top[4], *names[8];
            float s, sc[4];
            size_t n;
            if (aisle_catalog_key(cat, r, &key)) abort();
            const char *user = users_side ? key : "u1", *item = users_side ? "i2" : key;
            if (aisle_score(m, user, item, &s) != AISLE_OK) abort();
            if (aisle_recommend(m, user, 4, NULL, top, sc, &n) != AISLE_OK) abort();
            if (pair) {
                aisle_text_explanation *e;
                if (aisle_explain(m, user, item, 4, top, sc, &n) != AISLE_OK) abort();
                if (aisle_pair_explain(m, user, item, &e) != AISLE_OK) abort();
                aisle_text_explanation_free(e);
                continue;
            }
            if (aisle_explain_features(m, user, item, 8, names, NULL, &n) != AISLE_OK) abort();
            if (!users_side && aisle_similar_items(m, item, 4, NULL, top, sc, &n) != AISLE_OK) abort();
        }
        void *buf;
        size_t len;
        aisle_model *back;
        if (aisle_model_save_buffer(m, NULL, &buf, &len) || aisle_model_load_buffer(&back, buf, len, NULL)) abort();
        aisle_model_free(back);
        aisle_free(buf);
    }
    aisle_model_free(m);
    aisle_catalog_free(cat);
    return 0;
}
