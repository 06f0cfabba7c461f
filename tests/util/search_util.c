/* search_util.c - product-search test helpers (search_util.h). */
#include "util/search_util.h"

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

aisle_search_results *tu_search(const aisle_search_index *idx, const char *q, size_t k, const char *const *f,
                                size_t nf, const char *opts) {
    aisle_config *cfg = NULL;
    if (opts) {
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_parse(cfg, opts));
    }
    aisle_search_results *r;
    assert_ok(aisle_search(idx, q, AISLE_NUL_TERMINATED, k, f, nf, NULL, NULL, NULL, 0, cfg, &r));
    aisle_config_free(cfg);
    return r;
}

static size_t tu_count(const aisle_search_results *r) {
    size_t n;
    assert_ok(aisle_search_results_count(r, &n));
    return n;
}

void tu_same_hits(const aisle_search_results *a, const aisle_search_results *b, double tol) {
    size_t n = tu_count(a);
    assert_int_equal(n, tu_count(b));
    for (size_t i = 0; i < n; i++) {
        const char *ka, *kb;
        double sa, sb;
        assert_ok(aisle_search_results_hit(a, i, &ka, &sa));
        assert_ok(aisle_search_results_hit(b, i, &kb, &sb));
        assert_string_equal(ka, kb);
        if (tol == 0)
            assert_memory_equal(&sa, &sb, sizeof sa);
        else
            assert_float_equal(sa, sb, tol);
    }
}

void tu_unit(float *v, size_t dim) {
    double n = 0;
    for (size_t d = 0; d < dim; d++) n += (double)v[d] * v[d];
    n = sqrt(n);
    for (size_t d = 0; d < dim; d++) v[d] = n > 0 ? (float)(v[d] / n) : 0.0f;
}

/* A random catalog whose field lengths, brands, categories and prices vary
 * and whose few word patterns make ties at the best score common (what the
 * bounds-based early stop acts on).  Some products are replaced or removed. */
aisle_catalog *tu_varied_catalog(size_t n, unsigned seed, unsigned vocab_n) {
    static const char *const vocab[] = {"red", "blue", "green", "lamp", "chair", "table", "desk", "oak", "pine",
                                        "steel", "glass", "soft", "round", "square", "small", "large", "wooden",
                                        "modern", "classic", "vintage", "kitchen", "garden", "office", "light"};
    static const char *const brands[] = {"", "Acme", "Nordic Oak", "Lumen"};
    static const char *const cats[] = {"", "Home > Lamps", "Home > Chairs", "Office > Desks"};
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[32], title[512], desc[512];
    unsigned x = seed;
#define NEXT() (x = x * 1103515245u + 12345u, (x >> 16))
    for (size_t i = 0; i < n; i++) {
        size_t o = 0, d = 0;
        unsigned nt = 1 + NEXT() % 5, nd = NEXT() % 9;
        for (unsigned w = 0; w < nt; w++) {
            size_t v = NEXT() % vocab_n;
            v = v * v / vocab_n;
            o += (size_t)snprintf(title + o, sizeof title - o, "%s ", vocab[v]);
        }
        for (unsigned w = 0; w < nd; w++) d += (size_t)snprintf(desc + d, sizeof desc - d, "%s ", vocab[NEXT() % vocab_n]);
        title[o] = desc[d] = 0;
        snprintf(key, sizeof key, "v%zu", i);
        const char *c = cats[NEXT() % 4], *b = brands[NEXT() % 4];
        double price = (double)(NEXT() % 100);
        assert_ok(aisle_catalog_add_item(cat, key, title, desc, c, b, price));
    }
#undef NEXT
    return cat;
}

void tu_same_pruned(const aisle_search_index *idx, const char *opts_exact, const char *opts_pruned, const char *q,
                         size_t k, const char *const *f, size_t nf) {
    aisle_search_results *ra = tu_search(idx, q, k, f, nf, opts_exact), *rb = tu_search(idx, q, k, f, nf, opts_pruned);
    assert_int_equal(tu_count(ra), tu_count(rb));
    for (size_t i = 0; i < tu_count(ra); i++) {
        double sa, sb;
        const char *ka, *kb, *ma, *mb;
        assert_ok(aisle_search_results_hit(ra, i, &ka, &sa));
        assert_ok(aisle_search_results_hit(rb, i, &kb, &sb));
        assert_ok(aisle_search_results_matched(ra, i, &ma));
        assert_ok(aisle_search_results_matched(rb, i, &mb));
        if (strcmp(ka, kb) || sa != sb || strcmp(ma, mb))
            fail_msg("'%s' [%s] k=%zu hit %zu: %s %.9g (%s) exhaustive vs %s %.9g (%s) pruned", q, opts_pruned, k, i,
                     ka, sa, ma, kb, sb, mb);
    }
    aisle_search_results_free(ra);
    aisle_search_results_free(rb);
}


aisle_model *tu_text_encoder(const char *arch, unsigned seed) {
    static const char *const texts[][2] = {
        {"white ceramic coffee mug", "kitchen"}, {"steel travel mug for tea", "kitchen"},
        {"glass tea pot with infuser", "kitchen"}, {"espresso machine and milk jug", "kitchen"},
        {"garden spade of steel", "garden"},      {"green watering can", "garden"},
        {"rubber boots for the garden", "garden"}, {"seed tray and plant pots", "garden"},
        {"light running shoes", "fashion"},        {"rain boots and a coat", "fashion"},
        {"wool scarf in red", "fashion"},          {"leather belt, brown", "fashion"},
        {"pink paper lantern", "home"},            {"scented candle in a jar", "home"},
        {"cotton cushion cover", "home"},          {"photo frame for the wall", "home"},
    };
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_ok(aisle_texts_add(t, texts[i][0], AISLE_NUL_TERMINATED, texts[i][1]));
    char opts[400];
    if (!strcmp(arch, "bag"))
        snprintf(opts, sizeof opts, "architecture=bag dim=8 epochs=3 hash_buckets=4096 calibration_fraction=0 "
                                    "threads=1 seed=%u", seed);
    else
        snprintf(opts, sizeof opts, "architecture=%s hidden=8 blocks=1 heads=2 ff_hidden=16 maxlen=16 epochs=2 "
                                    "batch_size=8 hash_buckets=4096 calibration_fraction=0 threads=1 seed=%u",
                 arch, seed);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_model *m;
    assert_ok(aisle_text_train(t, cfg, &m));
    aisle_config_free(cfg);
    aisle_texts_free(t);
    return m;
}

const char *const tu_mugs[TU_MUGS_N][4] = {
    {"m1", "Ceramic Coffee Mug", "A white mug for coffee and tea", "Kitchen > Mugs"},
    {"m2", "Travel Mug", "Steel travel mug keeps coffee hot", "Kitchen > Mugs"},
    {"m3", "Garden Spade", "Steel spade for the garden", "Garden > Tools"},
    {"m4", "Watering Can", "Green watering can, 5 litres", "Garden > Tools"},
    {"m5", "Tea Pot", "Glass tea pot with infuser", "Kitchen > Tea"},
    {"m6", "Rain Boots", "Rubber boots for rain and garden work", "Fashion > Shoes"},
    {"m7", "Running Shoes", "Light shoes for road running", "Fashion > Shoes"},
    {"m8", "Pink Paper Lantern", "Paper lantern for the party", "Home > Lights"},
};

aisle_catalog *tu_mug_catalog(size_t n) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    for (size_t i = 0; i < n; i++)
        assert_ok(aisle_catalog_add_item(cat, tu_mugs[i][0], tu_mugs[i][1], tu_mugs[i][2], tu_mugs[i][3], "", NAN));
    return cat;
}

const float *tu_encoder_vector(const aisle_search_index *idx, const char *key) {
    int64_t k = keys_find(&idx->keys, key, strlen(key));
    if (k < 0 || idx->doc_of_key[k] == SEARCH_NONE) return NULL;
    return idx->enc_vec + (size_t)idx->doc_of_key[k] * idx->enc_dim;
}

aisle_search_index *tu_encoded_index(const aisle_catalog *cat, const aisle_bert *bert, const aisle_model *text) {
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    if (bert) /* empty: the build encodes */
        assert_ok(aisle_search_index_set_encoder(idx, bert, cat, NULL));
    else
        assert_ok(aisle_search_index_set_text_model(idx, text, cat, NULL));
    assert_ok(aisle_search_index_build(idx, cat, NULL));
    return idx;
}
