/* test_search_oom.c - allocation failure on every search path: build,
 * search (filters, facets, typos, prefix, explanations), semantic fusion and
 * personalization with a model, suggest, incremental add/remove, save and
 * load.  A test allocator fails the n-th allocation for n = 1, 2, ... until
 * the path succeeds: each failure must return AISLE_ENOMEM and leak nothing
 * (under `make check-oom` LeakSanitizer checks too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/search_util.h"

#include "search/search.h"

/* every allocation failing in turn (tu_oom_sweep: stride 1, not sticky),
 * up to this many failure points */
#define MAX_STEPS 200000

/* A file's bytes (malloc'd; the test fails when it cannot be read). */
static void *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(*len ? *len : 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, *len, f), *len);
    fclose(f);
    return data;
}

typedef struct ctx {
    aisle_catalog *cat;
    aisle_search_index *idx;
    aisle_model *model;
    aisle_search_log *log;
    void *image;
    size_t image_len;
    char path[512];
} ctx;

static aisle_catalog *small_catalog(void) {
    static const char *const rows[][5] = {
        {"p1", "Wireless Earbuds", "Bluetooth earbuds, charging case", "Electronics > Headphones", "Sonic"},
        {"p2", "Over-Ear Headphones", "Wireless headphones", "Electronics > Headphones", "Sonic"},
        {"p3", "Red Lunch Bag", "Insulated lunch bag", "Kitchen > Storage", "Pack"},
        {"p4", "蓝牙耳机", "无线蓝牙耳机 case", "Electronics > Headphones", "Sonic"},
        {"p5", "Lunch Box", "Bento lunch box", "Kitchen > Storage", "Pack"},
        {"p6", "Yoga Mat", "Non-slip mat", "Sports > Yoga", "Zen"},
    };
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_ok(aisle_catalog_add_item(cat, rows[i][0], rows[i][1], rows[i][2], rows[i][3], rows[i][4], 5.0 + i));
        assert_ok(aisle_catalog_set_attribute(cat, rows[i][0], "color", i % 2 ? "red" : "black"));
    }
    assert_ok(aisle_catalog_add_item(cat, "p7", "Espresso Machine", "Dual boiler", "Kitchen > Coffee", "Brew", 99));
    return cat;
}

static int step_build(void *p) {
    ctx *c = p;
    aisle_search_index *idx = NULL;
    int rc = aisle_search_index_new(&idx);
    if (!rc) rc = aisle_search_index_build(idx, c->cat, NULL);
    aisle_search_index_free(idx);
    return rc;
}

static int search_once(const aisle_search_index *idx, const char *q, const aisle_model *m, const char *user) {
    aisle_config *cfg = NULL;
    aisle_search_results *r = NULL;
    const char *filters[] = {"category=electronics", "price=..100", "color=red"};
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_set(cfg, "search_facets", "brand,category,color");
    if (!rc) rc = aisle_search(idx, q, AISLE_NUL_TERMINATED, 5, filters, m ? 0 : 2, m, user, NULL, 0, cfg, &r);
    size_t n = 0;
    if (!rc) rc = aisle_search_results_count(r, &n);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *why;
        rc = aisle_search_results_explain(r, i, &why);
    }
    aisle_search_results_free(r);
    aisle_config_free(cfg);
    return rc;
}

static int step_search(void *p) {
    ctx *c = p;
    int rc = search_once(c->idx, "wireles headph", NULL, NULL);
    if (!rc) rc = search_once(c->idx, "蓝牙 case", NULL, NULL);
    return rc;
}

static int step_personal(void *p) {
    ctx *c = p;
    int rc = search_once(c->idx, "lunch", c->model, "u1");
    if (!rc) rc = search_once(c->idx, "earbuds", c->model, NULL);
    return rc;
}

static int step_suggest(void *p) {
    ctx *c = p;
    aisle_search_results *r = NULL;
    int rc = aisle_suggest(c->idx, "lunch b", AISLE_NUL_TERMINATED, 3, NULL, &r);
    aisle_search_results_free(r);
    return rc;
}

static int step_load_update(void *p) {
    ctx *c = p;
    aisle_search_index *idx = NULL;
    int rc = aisle_search_index_load_buffer(&idx, c->image, c->image_len, NULL);
    if (!rc) rc = aisle_search_index_add(idx, c->cat, "p7");
    if (!rc) rc = aisle_search_index_add(idx, c->cat, "p1"); /* replace */
    if (!rc) rc = aisle_search_index_remove(idx, "p2");
    if (!rc) rc = search_once(idx, "espreso machine", NULL, NULL);
    aisle_search_index_free(idx);
    return rc;
}

static int step_save(void *p) {
    ctx *c = p;
    return aisle_search_index_save(c->idx, c->path, NULL);
}

/* Learning to rank: a short log loaded from a buffer (the reader's fast
 * path, which retries a failed allocation on the slow path, needs 32
 * bytes), the fit with a model (user and popularity signals) on a longer
 * log, a learned search, and the index saved with its weights and loaded
 * back. */
static const char learn_log[] = "query_id,query,user,item,event\n"
                                "s1,lunch,u1,p3,shown\ns1,lunch,u1,p5,purchase\n"
                                "s2,headphones,u2,p1,click\ns2,headphones,u2,p2,shown\ns2,headphones,u2,p4,cart\n";

static int step_log(void *p) {
    (void)p;
    static const char small[] = "qid,q,item,event\nq,a,p,cart\n";
    aisle_search_log *log = NULL;
    int rc = aisle_search_log_load_buffer(&log, small, sizeof small - 1, "log.csv", NULL);
    aisle_search_log_free(log);
    return rc;
}

static int step_learn(void *p) {
    ctx *c = p;
    aisle_search_index *back = NULL;
    int rc = aisle_search_index_learn(c->idx, c->log, c->model, NULL, NULL);
    if (!rc) rc = search_once(c->idx, "lunch", c->model, "u1");
    if (!rc) rc = aisle_search_index_save(c->idx, c->path, NULL);
    if (!rc) rc = aisle_search_index_load(&back, c->path, NULL);
    aisle_search_index_free(back);
    return rc;
}

static void test_search_paths_survive_every_allocation_failure(void **state) {
    (void)state;
    ctx c;
    memset(&c, 0, sizeof c);
    c.cat = small_catalog();
    char dir[256];
    tu_tmpdir(dir, sizeof dir, "search_oom");
    snprintf(c.path, sizeof c.path, "%s/idx.aisle", dir);
    /* the model, the index without p7 and its saved image: real allocator */
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    const char *items[] = {"p1", "p2", "p3", "p5", "p6"};
    char user[16];
    for (int u = 0; u < 12; u++) {
        snprintf(user, sizeof user, "u%d", u);
        for (int j = 0; j < 3; j++) assert_ok(aisle_dataset_add_event(ds, user, items[(u + j) % 5], "purchase", 1, u));
    }
    aisle_config *mc;
    assert_ok(aisle_config_new(&mc));
    assert_ok(aisle_config_parse(mc, "model=als factors=4 epochs=2 threads=1 seed=1"));
    assert_ok(aisle_model_train(ds, mc, &c.model));
    aisle_config_free(mc);
    aisle_dataset_free(ds);
    assert_ok(aisle_search_index_new(&c.idx));
    assert_ok(aisle_search_index_build(c.idx, c.cat, NULL));
    assert_ok(aisle_search_index_remove(c.idx, "p7"));
    assert_ok(aisle_search_index_save(c.idx, c.path, NULL));
    c.image = slurp(c.path, &c.image_len);
    uint64_t pb = tu_oom_sweep("build", step_build, &c, 1, 0, MAX_STEPS);
    uint64_t ps = tu_oom_sweep("search", step_search, &c, 1, 0, MAX_STEPS);
    uint64_t pp = tu_oom_sweep("fusion+personal", step_personal, &c, 1, 0, MAX_STEPS);
    uint64_t pg = tu_oom_sweep("suggest", step_suggest, &c, 1, 0, MAX_STEPS);
    uint64_t pl = tu_oom_sweep("load+update", step_load_update, &c, 1, 0, MAX_STEPS);
    uint64_t pv = tu_oom_sweep("save", step_save, &c, 1, 0, MAX_STEPS);
    assert_ok(aisle_search_log_load_buffer(&c.log, learn_log, sizeof learn_log - 1, "log.csv", NULL));
    uint64_t pr = tu_oom_sweep("learn", step_learn, &c, 1, 0, MAX_STEPS);
    uint64_t plog = tu_oom_sweep("log", step_log, &c, 1, 0, MAX_STEPS);
    print_message("learn failure points: log %llu, learn %llu\n", (unsigned long long)plog, (unsigned long long)pr);
    assert_true(pr > 10 && plog > 5);
    aisle_search_log_free(c.log);
    print_message("search failure points: build %llu, search %llu, fusion+personal %llu, suggest %llu, "
                  "load+update %llu, save %llu\n",
                  (unsigned long long)pb, (unsigned long long)ps, (unsigned long long)pp, (unsigned long long)pg,
                  (unsigned long long)pl, (unsigned long long)pv);
    assert_true(pb > 20 && ps > 10 && pp > 5 && pl > 20);
    /* the index that saw failed saves still loads and searches */
    aisle_search_index *back;
    assert_ok(aisle_search_index_load(&back, c.path, NULL));
    assert_ok(search_once(back, "lunch", NULL, NULL));
    aisle_search_index_free(back);
    free(c.image);
    aisle_model_free(c.model);
    aisle_search_index_free(c.idx);
    aisle_catalog_free(c.cat);
}

/* Lists longer than one block (block-max bounds allocated on add and on
 * load): build, load, grow by adds, pruned search. */
typedef struct block_ctx {
    aisle_catalog *cat;
    void *image;
    size_t image_len;
} block_ctx;

static int step_blocks(void *p) {
    block_ctx *c = p;
    aisle_search_index *built = NULL, *idx = NULL;
    aisle_config *cfg = NULL;
    aisle_search_results *r = NULL;
    const char *key;
    int rc = aisle_search_index_new(&built);
    for (size_t i = 0; i < 100 && !rc; i++) {
        rc = aisle_catalog_key(c->cat, i, &key);
        if (!rc) rc = aisle_search_index_add(built, c->cat, key);
    }
    if (!rc) rc = aisle_search_index_load_buffer(&idx, c->image, c->image_len, NULL);
    for (size_t i = 140; i < 200 && !rc; i++) {
        rc = aisle_catalog_key(c->cat, i, &key);
        if (!rc) rc = aisle_search_index_add(idx, c->cat, key);
    }
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_set(cfg, "search_total_limit", "1");
    if (!rc) rc = aisle_search(idx, "red lamp ", AISLE_NUL_TERMINATED, 3, NULL, 0, NULL, NULL, NULL, 0, cfg, &r);
    aisle_search_results_free(r);
    aisle_config_free(cfg);
    aisle_search_index_free(idx);
    aisle_search_index_free(built);
    return rc;
}

static void test_block_bounds_survive_every_allocation_failure(void **state) {
    (void)state;
    block_ctx c;
    assert_ok(aisle_catalog_new(&c.cat));
    char key[16], title[64], desc[64];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "b%d", i);
        snprintf(title, sizeof title, "%s lamp %s", i % 3 ? "red" : "blue", i % 4 ? "" : "desk");
        snprintf(desc, sizeof desc, "lamp%s", i % 5 ? " with a red shade" : "");
        assert_ok(aisle_catalog_add_item(c.cat, key, title, desc, "Home", "Lumen", i));
    }
    /* the first 140 products, saved: the image the step loads */
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    const char *k;
    for (size_t i = 0; i < 140; i++) {
        assert_ok(aisle_catalog_key(c.cat, i, &k));
        assert_ok(aisle_search_index_add(idx, c.cat, k));
    }
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "search_oom_blocks");
    snprintf(path, sizeof path, "%s/idx.aisle", dir);
    assert_ok(aisle_search_index_save(idx, path, NULL));
    aisle_search_index_free(idx);
    c.image = slurp(path, &c.image_len);
    uint64_t n = tu_oom_sweep("blocks", step_blocks, &c, 1, 0, MAX_STEPS);
    print_message("block bounds failure points: %llu\n", (unsigned long long)n);
    assert_true(n > 50);
    free(c.image);
    aisle_catalog_free(c.cat);
}

/* Joint bounds of frequent word pairs: counted and selected by a build,
 * filled from the postings, extended by adds, written and rebuilt by a
 * load, used by a pruned search. */
static int step_pairs(void *p) {
    block_ctx *c = p;
    aisle_search_index *built = NULL, *idx = NULL;
    aisle_config *cfg = NULL;
    aisle_search_results *r = NULL;
    io_writer *w = NULL;
    void *bytes = NULL;
    size_t len = 0;
    const char *key;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_set(cfg, "search_pair_min_docs", "8");
    if (!rc) rc = aisle_search_index_new(&built);
    if (!rc) rc = aisle_search_index_build(built, c->cat, cfg);
    for (size_t i = 0; i < 200 && !rc; i += 9) { /* replacements extend the pairs' blocks */
        rc = aisle_catalog_key(c->cat, i, &key);
        if (!rc) rc = aisle_search_index_add(built, c->cat, key);
    }
    if (!rc) rc = search_index_write(built, NULL, &w);
    if (!rc) rc = io_writer_to_buffer(w, &bytes, &len);
    io_writer_free(w);
    if (!rc) rc = aisle_search_index_load_buffer(&idx, bytes, len, NULL);
    aisle_free(bytes);
    if (!rc) rc = aisle_config_set(cfg, "search_total_limit", "1");
    if (!rc) rc = aisle_search(idx, "sage green ", AISLE_NUL_TERMINATED, 3, NULL, 0, NULL, NULL, NULL, 0, cfg, &r);
    aisle_search_results_free(r);
    aisle_config_free(cfg);
    aisle_search_index_free(idx);
    aisle_search_index_free(built);
    return rc;
}

/* 200 lamps whose titles repeat "sage green" and "navy blue". */
static aisle_catalog *lamp_catalog(void) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[16], title[64], desc[64];
    static const char *const colors[] = {"sage green", "navy blue", "oak"};
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "q%d", i);
        snprintf(title, sizeof title, "%s %s lamp", colors[i % 3], i % 4 ? "desk" : "floor");
        snprintf(desc, sizeof desc, "lamp%s", i % 5 ? "" : " with a sage green shade");
        assert_ok(aisle_catalog_add_item(cat, key, title, desc, "Home", "Lumen", i));
    }
    return cat;
}

static void test_pair_bounds_survive_every_allocation_failure(void **state) {
    (void)state;
    block_ctx c = {0};
    c.cat = lamp_catalog();
    aisle_config *cfg; /* the build keeps pairs ("sage green", "navy blue") */
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "search_pair_min_docs", "8"));
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(aisle_search_index_build(idx, c.cat, cfg));
    assert_true(idx->n_pairs >= 2);
    aisle_search_index_free(idx);
    aisle_config_free(cfg);
    uint64_t n = tu_oom_sweep("pairs", step_pairs, &c, 1, 0, MAX_STEPS);
    print_message("pair bounds failure points: %llu\n", (unsigned long long)n);
    assert_true(n > 50);
    aisle_catalog_free(c.cat);
}

/* An index grown by adds from empty chooses its pairs again each time it
 * doubles (search_pair_min_docs 8: before the 17th, 33rd and 65th add).
 * An add whose choice fails fails with nothing changed: the same
 * products, the same pairs (still exact) and the same next doubling; a run
 * that succeeds ends with the clean run's pairs. */
typedef struct choice_ctx {
    aisle_catalog *cat;
    size_t n_pairs; /* the clean run's */
} choice_ctx;

static int step_pair_choice(void *p) {
    choice_ctx *c = p;
    aisle_search_index *idx;
    int rc = aisle_search_index_new(&idx);
    if (rc) return rc;
    idx->pair_min = 8;
    const char *key;
    for (size_t i = 0; i < 70 && !rc; i++) {
        const search_pair *pairs = idx->pairs;
        size_t n_pairs = idx->n_pairs, n_docs = idx->n_docs, next = idx->pair_next;
        assert_ok(aisle_catalog_key(c->cat, i, &key));
        rc = aisle_search_index_add(idx, c->cat, key);
        if (rc) {
            assert_ptr_equal(idx->pairs, pairs);
            assert_int_equal(idx->n_pairs, n_pairs);
            assert_int_equal(idx->n_docs, n_docs);
            assert_int_equal(idx->pair_next, next);
        }
    }
    if (!rc) {
        assert_int_equal(idx->pair_next, 128); /* chosen at 16, 32 and 64 products */
        if (!c->n_pairs) c->n_pairs = idx->n_pairs;
        assert_true(idx->n_pairs >= 1);
        assert_int_equal(idx->n_pairs, c->n_pairs);
    }
    aisle_search_index_free(idx);
    return rc;
}

static void test_adds_that_choose_pairs_fail_cleanly(void **state) {
    (void)state;
    choice_ctx c = {lamp_catalog(), 0};
    tu_failalloc_install(0, 0); /* counts the allocations of a clean run */
    assert_ok(step_pair_choice(&c));
    uint64_t allocations = tu_failalloc_count(), failed = 0;
    tu_failalloc_remove();
    /* not tu_oom_sweep: it stops at the first success, and a choice's
     * shrink-to-fit may fail harmlessly (the larger array stays) */
    for (uint64_t n = 1; n <= allocations; n++) {
        tu_failalloc_install(n, 0);
        int rc = step_pair_choice(&c);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
        if (rc) assert_int_equal(rc, AISLE_ENOMEM);
        failed += rc != AISLE_OK;
    }
    print_message("pair choice: %llu of %llu allocation failures fail their add\n", (unsigned long long)failed,
                  (unsigned long long)allocations);
    assert_int_equal(failed, allocations - 3); /* all but the three choices' shrinks */
    aisle_catalog_free(c.cat);
}

/* Text-encoder vectors: building with an encoder, attaching one to a built
 * index, loading vectors and attaching by fingerprint, adds and replaces
 * encoded, searches through the encoder scan, saving the vectors; with a
 * BERT and with an intent model (transformer) as the encoder. */
typedef struct enc_ctx {
    aisle_catalog *cat;
    aisle_bert *bert;
    aisle_model *text; /* set: the intent model is the encoder */
    aisle_config *cfg; /* threads=1 */
    void *image;       /* an index with vectors, without p7 */
    size_t image_len;
    char path[1200];
} enc_ctx;

static int set_enc(aisle_search_index *idx, const enc_ctx *c, const aisle_catalog *cat) {
    return c->text ? aisle_search_index_set_text_model(idx, c->text, cat, c->cfg)
                   : aisle_search_index_set_encoder(idx, c->bert, cat, c->cfg);
}

static int step_encoder(void *p) {
    enc_ctx *c = p;
    aisle_search_index *built = NULL, *plain = NULL, *idx = NULL;
    int rc = aisle_search_index_new(&built);
    if (!rc) rc = set_enc(built, c, c->cat);
    if (!rc) rc = aisle_search_index_build(built, c->cat, c->cfg);
    if (!rc) rc = aisle_search_index_new(&plain);
    if (!rc) rc = aisle_search_index_build(plain, c->cat, NULL);
    if (!rc) rc = set_enc(plain, c, c->cat);
    if (!rc) rc = aisle_search_index_load_buffer(&idx, c->image, c->image_len, NULL);
    if (!rc) rc = set_enc(idx, c, NULL);
    if (!rc) rc = aisle_search_index_add(idx, c->cat, "p7");
    if (!rc) rc = aisle_search_index_add(idx, c->cat, "p1"); /* replace */
    if (!rc) rc = search_once(idx, "espreso machine", NULL, NULL);
    if (!rc) rc = search_once(idx, "zebra quartz", NULL, NULL); /* encoder hits only */
    if (!rc) rc = aisle_search_index_save(built, c->path, NULL);
    aisle_search_index_free(idx);
    aisle_search_index_free(plain);
    aisle_search_index_free(built);
    return rc;
}

static void encoder_sweep(aisle_bert *bert, aisle_model *text, const char *what) {
    enc_ctx c;
    memset(&c, 0, sizeof c);
    c.cat = small_catalog();
    c.bert = bert;
    c.text = text;
    char dir[1100];
    assert_ok(aisle_config_new(&c.cfg));
    assert_ok(aisle_config_set(c.cfg, "threads", "1"));
    tu_tmpdir(dir, sizeof dir, "search_oom_encoder");
    snprintf(c.path, sizeof c.path, "%s/idx.aisle", dir);
    aisle_search_index *idx;
    assert_ok(aisle_search_index_new(&idx));
    assert_ok(set_enc(idx, &c, c.cat));
    assert_ok(aisle_search_index_build(idx, c.cat, c.cfg));
    assert_ok(aisle_search_index_remove(idx, "p7"));
    assert_ok(aisle_search_index_save(idx, c.path, NULL));
    aisle_search_index_free(idx);
    c.image = slurp(c.path, &c.image_len);
    uint64_t n = tu_oom_sweep(what, step_encoder, &c, 1, 0, MAX_STEPS);
    print_message("%s failure points: %llu\n", what, (unsigned long long)n);
    assert_true(n > 100);
    free(c.image);
    aisle_config_free(c.cfg);
    aisle_catalog_free(c.cat);
}

static void test_encoder_paths_survive_every_allocation_failure(void **state) {
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tests/bert/data/cls", tu_srcdir());
    aisle_bert *bert;
    assert_ok(aisle_bert_import(&bert, dir, NULL));
    encoder_sweep(bert, NULL, "encoder (bert)");
    aisle_bert_free(bert);
}

static void test_intent_encoder_paths_survive_every_allocation_failure(void **state) {
    (void)state;
    aisle_model *tf = tu_text_encoder("transformer", 1);
    encoder_sweep(NULL, tf, "encoder (intent transformer)");
    aisle_model_free(tf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_paths_survive_every_allocation_failure),
        cmocka_unit_test(test_block_bounds_survive_every_allocation_failure),
        cmocka_unit_test(test_pair_bounds_survive_every_allocation_failure),
        cmocka_unit_test(test_adds_that_choose_pairs_fail_cleanly),
        cmocka_unit_test(test_encoder_paths_survive_every_allocation_failure),
        cmocka_unit_test(test_intent_encoder_paths_survive_every_allocation_failure),
    };
    tu_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
