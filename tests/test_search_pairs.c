/* test_search_pairs.c - joint block bounds of frequent word pairs
 * (src/search/pairs.c, docs/SEARCH.md "Pruning"): which pairs a build
 * keeps, that every block dominates every product holding both words
 * (after build, adds, replaces and a save/load), that pruned retrieval with
 * them is bit-identical to the exhaustive scan on catalogs where words
 * always co-occur, and that files with and without the pairs section load. */
#include "util/test_util.h"
#include "util/search_util.h"

#include "search/search.h"

#include <stdio.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

/* Titles "brand adjective color noun" where the two-word colors always
 * occur together ("sage green", "navy blue"), also in some descriptions,
 * and "green" also occurs without "sage" ("green tea" in titles and
 * descriptions); field lengths vary little, so several products share the
 * best score. */
static aisle_catalog *cooccur_catalog(size_t n, unsigned seed) {
    static const char *const brands[] = {"Northwind", "Fjord Field", "Lumen", "Harbor Co"};
    static const char *const adjs[] = {"classic", "eco", "ultra light", "modern", "pro"};
    static const char *const colors[] = {"sage green", "navy blue", "black", "red", "sand", "oak", "white"};
    static const char *const nouns[] = {"green tea", "mug", "desk lamp", "tea pot", "lunch bag", "tote", "bowl", "vase"};
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    unsigned x = seed;
#define NEXT() (x = x * 1103515245u + 12345u, (x >> 16))
    char key[32], title[256], desc[256];
    for (size_t i = 0; i < n; i++) {
        const char *noun = nouns[NEXT() % 8], *brand = brands[NEXT() % 4], *adj = adjs[NEXT() % 5];
        const char *color = colors[NEXT() % 7], *adj2 = adjs[NEXT() % 5];
        snprintf(title, sizeof title, "%s %s %s %s", brand, adj, color, noun);
        unsigned extra = NEXT() % 16;
        snprintf(desc, sizeof desc, "a %s %s%s%s", adj2, noun, extra == 1 ? " in sage green" : "",
                 extra == 2 ? " with a green tea set" : "");
        snprintf(key, sizeof key, "c%zu", i);
        const char *category = NEXT() % 2 ? "Home > Kitchen" : "Home > Office", *seller = brands[NEXT() % 4];
        double price = (double)(NEXT() % 50);
        assert_ok(aisle_catalog_add_item(cat, key, title, desc, category, seller, price));
    }
#undef NEXT
    return cat;
}

static aisle_config *opts(const char *text) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, text));
    return cfg;
}

static aisle_search_index *build_with(const aisle_catalog *cat, const char *options) {
    aisle_config *cfg = opts(options);
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, cat, cfg));
    aisle_config_free(cfg);
    return idx;
}

static const search_pair *pair_of(const aisle_search_index *idx, const char *a, const char *b) {
    int64_t ta = keys_find(&idx->terms, a, strlen(a)), tb = keys_find(&idx->terms, b, strlen(b));
    if (ta < 0 || tb < 0) return NULL;
    return search_pair_find(idx, (uint32_t)ta, (uint32_t)tb);
}

/* Whether some vector of v has at least the frequencies and at most the
 * lengths of product doc in every field holding either word. */
static int pvec_covers(const search_pvec *v, const uint16_t tf[2][SEARCH_N_FIELDS], const uint16_t *len) {
    for (int i = 0; i < v->n; i++) {
        int ok = 1;
        for (int f = 0; f < SEARCH_N_FIELDS && ok; f++) {
            if (!tf[0][f] && !tf[1][f]) continue;
            ok = v->tf[i][0][f] >= tf[0][f] && v->tf[i][1][f] >= tf[1][f] && v->len[i][f] <= len[f];
        }
        if (ok) return 1;
    }
    return 0;
}

/* The bytes of idx as saved (the caller frees *bytes). */
static void index_bytes(const aisle_search_index *idx, void **bytes, size_t *len) {
    io_writer *w;
    assert_ok(search_index_write(idx, NULL, &w));
    assert_ok(io_writer_to_buffer(w, bytes, len));
    io_writer_free(w);
}

/* One comparison of check_exact: options a and b, filters f[0..nf). */
typedef struct same_case {
    const char *a, *b;
    const char *const *f;
    size_t nf;
} same_case;

/* For each option variant (appended to both options), each query and
 * k = 1, 4, 13, 40 up to kmax: every case's two options give bit-identical
 * results (tu_same_pruned). */
static void check_exact(const aisle_search_index *idx, const char *const *variants, size_t nv,
                        const char *const *qs, size_t nq, size_t kmax, const same_case *cases, size_t nc) {
    char a[240], b[240];
    for (size_t v = 0; v < nv; v++) {
        const char *sep = *variants[v] ? ";" : "";
        for (size_t i = 0; i < nq; i++)
            for (size_t k = 1; k <= kmax; k = k * 3 + 1)
                for (size_t c = 0; c < nc; c++) {
                    snprintf(a, sizeof a, "%s%s%s", cases[c].a, sep, variants[v]);
                    snprintf(b, sizeof b, "%s%s%s", cases[c].b, sep, variants[v]);
                    tu_same_pruned(idx, a, b, qs[i], k, cases[c].f, cases[c].nf);
                }
    }
}

#define EXACT "search_total_limit=0"
#define DEFLT "search_total_limit=1"
#define FORCED "search_total_limit=1;search_block_max_groups=32"
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
static const char *const no_variant[] = {""};

/* Every product whose postings hold both words of every pair lies in one of
 * the pair's blocks (ordered, at most SEARCH_SKIP products each, none
 * between them) and is dominated by a vector of its block and of `all`. */
static void check_pair_blocks(const aisle_search_index *idx) {
    for (size_t k = 0; k < idx->n_pairs; k++) {
        const search_pair *p = &idx->pairs[k];
        assert_true(p->term[0] < p->term[1]);
        if (k) assert_true(idx->pairs[k - 1].term[0] < p->term[0] ||
                           (idx->pairs[k - 1].term[0] == p->term[0] && idx->pairs[k - 1].term[1] < p->term[1]));
        for (uint32_t b = 0; b < p->n_blk; b++) {
            assert_true(p->blk[b].first <= p->blk[b].last);
            assert_true(p->blk[b].count >= 1 && p->blk[b].count <= SEARCH_SKIP);
            if (b) assert_true(p->blk[b - 1].last < p->blk[b].first);
        }
        /* the products with both words, from the postings */
        const search_postings *pa = &idx->post[p->term[0]], *pb = &idx->post[p->term[1]];
        uint32_t oa = 0, ob = 0, blk = 0, seen = 0;
        search_entry ea, eb;
        ea.doc = eb.doc = 0;
        int has_b = 0;
        if (ob < pb->len) {
            assert_ok(search_decode_entry(pb->data, pb->len, &ob, 0, &eb));
            has_b = 1;
        }
        while (oa < pa->len) {
            assert_ok(search_decode_entry(pa->data, pa->len, &oa, ea.doc, &ea));
            while (has_b && eb.doc < ea.doc) {
                if (ob < pb->len) assert_ok(search_decode_entry(pb->data, pb->len, &ob, eb.doc, &eb));
                else has_b = 0;
            }
            if (!has_b || eb.doc != ea.doc) continue;
            uint16_t tf[2][SEARCH_N_FIELDS];
            memcpy(tf[0], ea.tf, sizeof tf[0]);
            memcpy(tf[1], eb.tf, sizeof tf[1]);
            const uint16_t *len = idx->flen + (size_t)ea.doc * SEARCH_N_FIELDS;
            while (blk < p->n_blk && p->blk[blk].last < ea.doc) blk++;
            if (blk == p->n_blk || p->blk[blk].first > ea.doc)
                fail_msg("pair %s %s: product %u holding both is in no block", keys_at(&idx->terms, p->term[0]),
                         keys_at(&idx->terms, p->term[1]), ea.doc);
            if (!pvec_covers(&p->blk[blk].v, (const uint16_t(*)[SEARCH_N_FIELDS])tf, len) ||
                !pvec_covers(&p->all, (const uint16_t(*)[SEARCH_N_FIELDS])tf, len))
                fail_msg("pair %s %s: product %u not dominated", keys_at(&idx->terms, p->term[0]),
                         keys_at(&idx->terms, p->term[1]), ea.doc);
            seen++;
        }
        uint32_t counted = 0; /* a saved block keeps its count when removed products leave it */
        for (uint32_t b = 0; b < p->n_blk; b++) counted += p->blk[b].count;
        assert_true(counted >= seen);
    }
}

static void test_build_keeps_the_frequent_adjacent_pairs(void **state) {
    (void)state;
    aisle_catalog *cat = cooccur_catalog(600, 1);
    aisle_search_index *idx = build_with(cat, "search_pair_min_docs=20");
    assert_true(idx->n_pairs > 0);
    assert_non_null(pair_of(idx, "sage", "green"));
    assert_non_null(pair_of(idx, "green", "sage")); /* either order */
    assert_non_null(pair_of(idx, "navy", "blue"));
    assert_null(pair_of(idx, "navy", "sage"));      /* never adjacent */
    check_pair_blocks(idx);
    aisle_search_index_free(idx);
    idx = build_with(cat, "search_pair_min_docs=0");
    assert_int_equal(idx->n_pairs, 0);
    aisle_search_index_free(idx);
    idx = build_with(cat, "search_pair_min_docs=100000");
    assert_int_equal(idx->n_pairs, 0);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* Pairs persist by name through compaction (terms and documents
 * renumbered: the saved blocks keep bounding every product), and both an index saved without pairs and one saved
 * with them load; a pairs section out of order is refused. */
static void test_pairs_survive_save_load_and_old_files(void **state) {
    (void)state;
    aisle_catalog *cat = cooccur_catalog(500, 2);
    aisle_search_index *idx = build_with(cat, "search_pair_min_docs=10");
    size_t n = idx->n_pairs;
    assert_true(n > 2);
    const char *key;
    for (size_t i = 0; i < 500; i += 3) { /* removals: compaction renumbers documents and may drop terms */
        assert_ok(aisle_catalog_key(cat, i, &key));
        assert_ok(aisle_search_index_remove(idx, key));
    }
    void *bytes;
    size_t len;
    index_bytes(idx, &bytes, &len);
    aisle_search_index *back;
    assert_ok(aisle_search_index_load_buffer(&back, bytes, len, NULL));
    assert_int_equal(back->n_pairs, n);
    for (size_t k = 0; k < n; k++)
        assert_non_null(pair_of(back, keys_at(&idx->terms, idx->pairs[k].term[0]),
                                keys_at(&idx->terms, idx->pairs[k].term[1])));
    check_pair_blocks(back);
    static const char *const qs[] = {"sage green ", "green tea ", "navy blue ", "ultra light sage green "};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        tu_same_pruned(idx, "search_total_limit=0", "search_total_limit=1", qs[i], 7, NULL, 0);
        tu_same_pruned(back, "search_total_limit=0", "search_total_limit=1", qs[i], 7, NULL, 0);
    }
    aisle_search_index_free(back);
    aisle_free(bytes);
    /* an index without pairs writes no section 262 and loads as before */
    aisle_search_index *plain = build_with(cat, "search_pair_min_docs=0");
    index_bytes(plain, &bytes, &len);
    assert_ok(aisle_search_index_load_buffer(&back, bytes, len, NULL));
    assert_int_equal(back->n_pairs, 0);
    aisle_search_index_free(back);
    aisle_free(bytes);
    aisle_search_index_free(plain);
    /* a section whose pairs are not in order: refused */
    idx->pairs[1].term[0] = idx->pairs[0].term[0];
    idx->pairs[1].term[1] = idx->pairs[0].term[1];
    index_bytes(idx, &bytes, &len);
    back = NULL;
    assert_status_msg(aisle_search_index_load_buffer(&back, bytes, len, NULL), AISLE_EFORMAT, "pair");
    assert_null(back);
    aisle_free(bytes);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* Whether two vector sets hold the same vectors (slots past n are unused). */
static void assert_same_pvec(const search_pvec *a, const search_pvec *b) {
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_memory_equal(a->tf[i], b->tf[i], sizeof a->tf[i]);
        assert_memory_equal(a->len[i], b->len[i], sizeof a->len[i]);
    }
}

/* Renames section `from` of a container image to `to` (header CRC
 * recomputed): what a reader that never knew section `from` sees. */
static void rename_section(uint8_t *img, uint32_t from, uint32_t to) {
    uint32_t off = 0, n = 0, size = 0;
    memcpy(&off, img + 12, 4); /* little-endian host, as the tests assume elsewhere */
    memcpy(&n, img + 16, 4);
    memcpy(&size, img + 20, 4);
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = img + off + (size_t)i * size;
        uint32_t type;
        memcpy(&type, e, 4);
        if (type == from) memcpy(e, &to, 4), found = 1;
    }
    assert_true(found);
    size_t hl = off + (size_t)n * size;
    uint32_t crc = (uint32_t)crc32(0L, img, (uInt)hl);
    memcpy(img + hl, &crc, 4);
}

/* The pairs' blocks are saved (section 264) and loaded as they were, adds
 * included; a file without that section (written before it existed) loads
 * and refills them from the postings, with the same search results. */
static void test_pair_blocks_are_saved_and_old_files_refill(void **state) {
    (void)state;
    aisle_catalog *cat = cooccur_catalog(900, 21);
    aisle_catalog *half = cooccur_catalog(600, 21);
    aisle_search_index *idx = build_with(half, "search_pair_min_docs=16");
    aisle_catalog_free(half);
    const char *key;
    for (size_t i = 600; i < 900; i++) { /* grown by adds: the blocks extended */
        assert_ok(aisle_catalog_key(cat, i, &key));
        assert_ok(aisle_search_index_add(idx, cat, key));
    }
    assert_true(idx->n_pairs > 2);
    void *bytes;
    size_t len;
    index_bytes(idx, &bytes, &len);
    aisle_search_index *back, *old;
    assert_ok(aisle_search_index_load_buffer(&back, bytes, len, NULL));
    assert_int_equal(back->n_pairs, idx->n_pairs);
    for (size_t k = 0; k < idx->n_pairs; k++) { /* no removal: the same documents, the same blocks */
        const search_pair *a = &idx->pairs[k], *b = &back->pairs[k];
        assert_int_equal(a->n_blk, b->n_blk);
        assert_same_pvec(&a->all, &b->all);
        for (uint32_t j = 0; j < a->n_blk; j++) {
            assert_int_equal(a->blk[j].first, b->blk[j].first);
            assert_int_equal(a->blk[j].last, b->blk[j].last);
            assert_int_equal(a->blk[j].count, b->blk[j].count);
            assert_same_pvec(&a->blk[j].v, &b->blk[j].v);
        }
    }
    check_pair_blocks(back);
    rename_section(bytes, SEARCH_SECTION_PAIR_BLOCKS, 0x7F00);
    assert_ok(aisle_search_index_load_buffer(&old, bytes, len, NULL));
    assert_int_equal(old->n_pairs, idx->n_pairs);
    check_pair_blocks(old);
    static const char *const qs[] = {"sage green ", "navy blue ", "green tea ", "sage gr"};
    static const same_case cases[] = {{EXACT, DEFLT, NULL, 0}};
    check_exact(back, no_variant, 1, qs, COUNT(qs), 13, cases, 1);
    check_exact(old, no_variant, 1, qs, COUNT(qs), 13, cases, 1);
    /* the pair list without its blocks' section is fine; blocks without the
     * pair list are refused */
    rename_section(bytes, 0x7F00, SEARCH_SECTION_PAIR_BLOCKS);
    rename_section(bytes, SEARCH_SECTION_PAIRS, 0x7F01);
    aisle_search_index *none = NULL;
    assert_status_msg(aisle_search_index_load_buffer(&none, bytes, len, NULL), AISLE_EFORMAT, "without pairs");
    assert_null(none);
    aisle_free(bytes);
    aisle_search_index_free(old);
    aisle_search_index_free(back);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* The exhaustive scan (search_total_limit=0), pruning with the defaults,
 * pruning with block-max and pair bounds on queries of every length
 * (search_block_max_groups=32) and pruning without pair bounds give
 * bit-identical hits, scores and matched words: always co-occurring pairs,
 * ties, typos, prefixes, filters, option variants, on a built index, one
 * grown by adds with replacements and removals, and a loaded one. */
static void test_pair_bounds_are_exact(void **state) {
    (void)state;
    static const char *const qs[] = {"sage green ", "green sage ", "navy blue ", "green tea ", "sage gren ",
                                     "sage gr", "classic sage green ", "green ", "blue navy mug ", "tea green ",
                                     "lumen sage green tea ", "ultra light "};
    static const char *const variants[] = {"", "search_proximity=0", "search_coordination=0",
                                           "search_k1=0.4;search_b=1;search_weight_description=3",
                                           "search_b=0;search_proximity=2"};
    static const char *const f1[] = {"category=Home > Office"}, *const f2[] = {"price=5..30", "brand=Lumen"};
    static const same_case cases[] = {
        {EXACT, FORCED, NULL, 0},
        {EXACT, DEFLT, NULL, 0},
        {"search_total_limit=1;search_pair_bounds=false;search_block_max_groups=32", FORCED, NULL, 0},
        {EXACT, FORCED, f1, 1},
        {EXACT, FORCED, f2, 2},
    };
    for (int round = 0; round < 4; round++) {
        aisle_catalog *cat = round < 3 ? cooccur_catalog(1500, 10 + (unsigned)round) : tu_varied_catalog(1500, 7, 8);
        aisle_search_index *idx;
        const char *key;
        if (round == 1) { /* half built, half added one by one, some replaced and removed */
            aisle_catalog *half = cooccur_catalog(750, 11);
            idx = build_with(half, "search_pair_min_docs=16");
            aisle_catalog_free(half);
            for (size_t i = 0; i < 1500; i++) {
                assert_ok(aisle_catalog_key(cat, i, &key));
                assert_ok(aisle_search_index_add(idx, cat, key)); /* c0..c749 replace the built ones */
            }
            for (size_t i = 0; i < 1500; i += 11) {
                assert_ok(aisle_catalog_key(cat, i, &key));
                if (i % 2) assert_ok(aisle_search_index_remove(idx, key));
                else assert_ok(aisle_search_index_add(idx, cat, key));
            }
        } else {
            idx = build_with(cat, round == 3 ? "search_pair_min_docs=4" : "search_pair_min_docs=16");
        }
        if (round == 2) { /* saved (compacted) and loaded: blocks rebuilt from the file */
            void *bytes;
            size_t len;
            index_bytes(idx, &bytes, &len);
            aisle_search_index_free(idx);
            assert_ok(aisle_search_index_load_buffer(&idx, bytes, len, NULL));
            aisle_free(bytes);
        }
        assert_true(idx->n_pairs > 0);
        check_pair_blocks(idx);
        check_exact(idx, variants, COUNT(variants), qs, COUNT(qs), 40, cases, COUNT(cases));
        aisle_search_index_free(idx);
        aisle_catalog_free(cat);
    }
}

/* Products added after the build extend the pairs' blocks: a later product
 * holding both words with a better score than every built one (a shorter
 * title) must be found by the pruned scan. */
static void test_added_products_extend_the_pair_blocks(void **state) {
    (void)state;
    aisle_catalog *cat = cooccur_catalog(800, 5);
    aisle_search_index *idx = build_with(cat, "search_pair_min_docs=16");
    const search_pair *p = pair_of(idx, "sage", "green");
    assert_non_null(p);
    uint32_t before = p->n_blk ? p->blk[p->n_blk - 1].last : 0;
    assert_ok(aisle_catalog_add_item(cat, "late", "sage green", "sage green", "Home > Kitchen", "Lumen", 3));
    assert_ok(aisle_search_index_add(idx, cat, "late"));
    p = pair_of(idx, "sage", "green");
    assert_true(p->blk[p->n_blk - 1].last > before);
    check_pair_blocks(idx);
    aisle_search_results *r = tu_search(idx, "sage green ", 1, NULL, 0, "search_total_limit=1");
    const char *key;
    assert_ok(aisle_search_results_hit(r, 0, &key, NULL));
    assert_string_equal(key, "late");
    aisle_search_results_free(r);
    tu_same_pruned(idx, "search_total_limit=0", "search_total_limit=1", "sage green ", 10, NULL, 0);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* An index created empty and grown only by adds counts the adjacent pairs
 * as it goes and selects them once it has doubled past twice
 * search_pair_min_docs (128) products: the pairs are then the build's,
 * their blocks exact, and a saved copy keeps them. */
static void test_an_index_grown_by_adds_gets_pair_bounds(void **state) {
    (void)state;
    aisle_catalog *cat = cooccur_catalog(2100, 31);
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    const char *key;
    for (size_t i = 0; i < 2100; i++) {
        assert_ok(aisle_catalog_key(cat, i, &key));
        assert_ok(aisle_search_index_add(idx, cat, key));
        if (i + 1 == 200) assert_int_equal(idx->n_pairs, 0); /* too few products yet */
    }
    assert_true(idx->n_pairs > 0);
    assert_non_null(pair_of(idx, "sage", "green"));
    check_pair_blocks(idx);
    aisle_search_index *built = build_with(cat, "search_pair_min_docs=128");
    assert_non_null(pair_of(built, "sage", "green"));
    aisle_search_index_free(built);
    static const char *const qs[] = {"sage green ", "navy blue ", "green tea ", "lumen sage green tea "};
    static const same_case cases[] = {{EXACT, FORCED, NULL, 0}};
    check_exact(idx, no_variant, 1, qs, COUNT(qs), 13, cases, 1);
    void *bytes;
    size_t len;
    index_bytes(idx, &bytes, &len);
    aisle_search_index *back;
    assert_ok(aisle_search_index_load_buffer(&back, bytes, len, NULL));
    assert_int_equal(back->n_pairs, idx->n_pairs);
    check_pair_blocks(back);
    aisle_free(bytes);
    aisle_search_index_free(back);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

/* Chinese titles (brand + adjective + color + noun written together) whose
 * characters and bigrams overlap across products ("咖啡豆" and "意式咖啡豆",
 * "色" in every color), some repeated in the descriptions: queries of 10-20
 * character and bigram groups where many products tie on most groups. */
static aisle_catalog *chinese_catalog(size_t n, unsigned seed) {
    static const char *const brands[] = {"Lumen", "Pawsome", "Ironbark", "Lane"};
    static const char *const adjs[] = {"环保", "便携", "经典", "复古", "高级"};
    static const char *const colors[] = {"黑色", "白色", "原木色", "藏青色", "绿色", "红色"};
    static const char *const nouns[] = {"咖啡豆", "意式咖啡豆", "刀具套装", "平底锅", "头戴式耳机", "咖啡杯", "自行车灯"};
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    unsigned x = seed;
#define NEXT() (x = x * 1103515245u + 12345u, (x >> 16))
    char key[32], title[256], desc[256];
    for (size_t i = 0; i < n; i++) {
        const char *brand = brands[NEXT() % 4], *adj = adjs[NEXT() % 5], *color = colors[NEXT() % 6];
        const char *noun = nouns[NEXT() % 7], *noun2 = nouns[NEXT() % 7];
        unsigned extra = NEXT() % 8;
        snprintf(title, sizeof title, "%s %s%s%s", brand, adj, color, noun);
        snprintf(desc, sizeof desc, "%s%s%s", extra < 3 ? noun : "", extra == 1 ? color : "", extra == 2 ? noun2 : "");
        snprintf(key, sizeof key, "z%zu", i);
        const char *category = NEXT() % 2 ? "Home > Kitchen" : "Home > Audio";
        double price = (double)(NEXT() % 50);
        assert_ok(aisle_catalog_add_item(cat, key, title, desc, category, brand, price));
    }
#undef NEXT
    return cat;
}

/* Long Chinese queries, which the defaults run without block-max, give the
 * exhaustive scan's hits whether block-max and pair bounds are used
 * (forced) or not, also while the last word is typed and with filters. */
static void test_chinese_queries_are_exact_with_and_without_block_max(void **state) {
    (void)state;
    static const char *const qs[] = {"lumen 环保藏青色意式咖啡豆 ", "pawsome 高级原木色意式咖啡豆 ", "经典黑色刀具套装 ",
                                     "复古原木色咖啡杯 ", "咖啡豆 ", "lane 便携绿色头戴式耳机", "意式咖啡 黑色 ",
                                     "藏青色 平底锅 环保 ", "ironbark 复古红色自行车灯 咖啡豆 "};
    static const char *const variants[] = {"", "search_proximity=0", "search_coordination=0;search_b=1"};
    static const char *const f1[] = {"category=Home > Audio"};
    static const same_case cases[] = {
        {EXACT, DEFLT, NULL, 0},
        {EXACT, FORCED, NULL, 0},
        {EXACT, "search_total_limit=1;search_block_max=false", NULL, 0},
        {EXACT, FORCED, f1, 1},
    };
    aisle_catalog *cat = chinese_catalog(2000, 3);
    aisle_search_index *idx = build_with(cat, "search_pair_min_docs=16");
    assert_true(idx->n_pairs > 0);
    check_exact(idx, variants, COUNT(variants), qs, COUNT(qs), 40, cases, COUNT(cases));
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_keeps_the_frequent_adjacent_pairs),
        cmocka_unit_test(test_pairs_survive_save_load_and_old_files),
        cmocka_unit_test(test_pair_blocks_are_saved_and_old_files_refill),
        cmocka_unit_test(test_pair_bounds_are_exact),
        cmocka_unit_test(test_added_products_extend_the_pair_blocks),
        cmocka_unit_test(test_chinese_queries_are_exact_with_and_without_block_max),
        cmocka_unit_test(test_an_index_grown_by_adds_gets_pair_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
