/* test_search_threads.c - 8 threads search one shared index (text,
 * filters, facets, fusion and personalization with a shared model, the
 * text-encoder scan with a shared encoder: a BERT, or an intent model,
 * suggest) while another thread builds, updates and saves a new index with
 * the encoder (the intent model's on 2 threads); every search
 * must give the results a single thread gets.  Run under ThreadSanitizer
 * by `make check-tsan` (AISLE_STRESS_SECONDS sets the duration). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/search_util.h"

#include "search/search.h"

enum { N_SEARCHERS = 8 };

static const char *const queries[] = {"red lamp ", "wireles chair", "oak desk modern ", "blue", "蓝牙 lamp"};
enum { N_QUERIES = sizeof queries / sizeof queries[0] };

typedef struct shared {
    aisle_search_index *idx;
    aisle_model *model;
    aisle_bert *bert;
    aisle_model *text; /* set: the encoder is this intent model, not bert */
    aisle_config *one; /* threads=1 */
    aisle_config *two; /* threads=2: the builder encodes its catalog on 2 */
    aisle_catalog *cat;
    char expect[N_QUERIES][2][512]; /* keys of the top 10: plain, personal */
    double seconds;
    int failures;
    char path[512];
} shared;

static aisle_catalog *make_catalog(size_t n) {
    static const char *const words[] = {"red", "blue", "lamp", "chair", "oak", "desk", "modern", "wireless", "蓝牙"};
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[24], title[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%zu", i);
        snprintf(title, sizeof title, "%s %s %s", words[i % 9], words[(i / 9) % 9], words[(i * 7 + 3) % 9]);
        assert_ok(aisle_catalog_add_item(cat, key, title, words[(i / 3) % 9], i % 2 ? "Home > Lamps" : "Office",
                                         i % 3 ? "Acme" : "Zed", (double)(i % 50)));
    }
    return cat;
}

static void top_keys(const aisle_search_index *idx, const aisle_model *m, const char *q, int personal, char *out,
                     size_t cap) {
    aisle_config *cfg = NULL;
    aisle_search_results *r = NULL;
    const char *filters[] = {"price=..40"};
    out[0] = 0;
    if (aisle_config_new(&cfg) || aisle_config_set(cfg, "search_facets", "brand,category")) return;
    if (aisle_search(idx, q, AISLE_NUL_TERMINATED, 10, filters, 1, m, personal ? "u3" : NULL, NULL, 0, cfg, &r)) {
        aisle_config_free(cfg);
        snprintf(out, cap, "error: %s", aisle_last_error());
        return;
    }
    size_t n = 0, o = 0;
    aisle_search_results_count(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *k, *why;
        aisle_search_results_hit(r, i, &k, NULL);
        aisle_search_results_explain(r, i, &why);
        o += (size_t)snprintf(out + o, cap - o, "%s ", k);
    }
    aisle_search_results_free(r);
    r = NULL;
    /* pruned (no facets, no total): block-max and the pairs' joint bounds */
    if (!aisle_config_set(cfg, "search_facets", "") && !aisle_config_set(cfg, "search_total_limit", "1") &&
        !aisle_search(idx, q, AISLE_NUL_TERMINATED, 3, NULL, 0, NULL, NULL, NULL, 0, cfg, &r)) {
        aisle_search_results_count(r, &n);
        o += (size_t)snprintf(out + o, cap - o, "|");
        for (size_t i = 0; i < n; i++) {
            const char *k;
            aisle_search_results_hit(r, i, &k, NULL);
            o += (size_t)snprintf(out + o, cap - o, " %s", k);
        }
        aisle_search_results_free(r);
        r = NULL;
    }
    if (!aisle_suggest(idx, q, AISLE_NUL_TERMINATED, 3, NULL, &r)) aisle_search_results_free(r);
    aisle_config_free(cfg);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void *searcher(void *p) {
    shared *s = p;
    double end = now() + s->seconds;
    char got[512];
    for (int it = 0; now() < end || it < 3; it++) {
        int q = it % N_QUERIES, personal = (it / N_QUERIES) % 2;
        top_keys(s->idx, s->model, queries[q], personal, got, sizeof got);
        if (strcmp(got, s->expect[q][personal])) {
            pthread_mutex_lock(&fail_lock);
            if (!s->failures++) print_message("query '%s': '%s' != '%s'\n", queries[q], got, s->expect[q][personal]);
            pthread_mutex_unlock(&fail_lock);
        }
    }
    return NULL;
}

static void *builder(void *p) {
    shared *s = p;
    double end = now() + s->seconds;
    for (int it = 0; now() < end || it < 2; it++) {
        aisle_search_index *idx = NULL;
        int rc = aisle_search_index_new(&idx);
        if (!rc)
            rc = s->text ? aisle_search_index_set_text_model(idx, s->text, s->cat, s->two)
                         : aisle_search_index_set_encoder(idx, s->bert, s->cat, s->one);
        if (!rc) rc = aisle_search_index_build(idx, s->cat, s->one);
        if (!rc) rc = aisle_search_index_remove(idx, "k1");
        if (!rc) rc = aisle_search_index_add(idx, s->cat, "k1");
        if (!rc) rc = aisle_search_index_set_popularity(idx, s->model);
        if (!rc) rc = aisle_search_index_save(idx, s->path, NULL);
        aisle_search_index_free(idx);
        if (rc) {
            pthread_mutex_lock(&fail_lock);
            if (!s->failures++) print_message("builder: %s\n", aisle_last_error());
            pthread_mutex_unlock(&fail_lock);
        }
    }
    return NULL;
}

static void stress(bool intent_encoder) {
    shared s;
    memset(&s, 0, sizeof s);
    const char *sec = getenv("AISLE_STRESS_SECONDS");
    s.seconds = sec ? atof(sec) : 0.5;
    s.cat = make_catalog(600);
    char dir[256];
    tu_tmpdir(dir, sizeof dir, "search_threads");
    snprintf(s.path, sizeof s.path, "%s/idx.aisle", dir);
    assert_ok(aisle_config_new(&s.one));
    assert_ok(aisle_config_parse(s.one, "threads=1 search_pair_min_docs=8"));
    assert_ok(aisle_config_new(&s.two));
    assert_ok(aisle_config_parse(s.two, "threads=2 search_pair_min_docs=8"));
    assert_ok(aisle_search_index_new(&s.idx));
    assert_ok(aisle_search_index_build(s.idx, s.cat, s.one));
    assert_true(s.idx->n_pairs > 0);
    char bert_dir[1100];
    snprintf(bert_dir, sizeof bert_dir, "%s/tests/bert/data/cls", tu_srcdir());
    if (intent_encoder) {
        s.text = tu_text_encoder("transformer", 1);
        assert_ok(aisle_search_index_set_text_model(s.idx, s.text, s.cat, s.one));
    } else {
        assert_ok(aisle_bert_import(&s.bert, bert_dir, NULL));
        assert_ok(aisle_search_index_set_encoder(s.idx, s.bert, s.cat, s.one));
    }
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char user[16], item[24];
    for (int u = 0; u < 30; u++)
        for (int j = 0; j < 5; j++) {
            snprintf(user, sizeof user, "u%d", u);
            snprintf(item, sizeof item, "k%d", (u * 17 + j * 5) % 600);
            assert_ok(aisle_dataset_add_event(ds, user, item, "purchase", 1, j));
        }
    aisle_config *mc;
    assert_ok(aisle_config_new(&mc));
    assert_ok(aisle_config_parse(mc, "model=als factors=4 epochs=2 threads=1 seed=1"));
    assert_ok(aisle_model_train(ds, mc, &s.model));
    aisle_config_free(mc);
    aisle_dataset_free(ds);
    for (int q = 0; q < N_QUERIES; q++)
        for (int p = 0; p < 2; p++) {
            top_keys(s.idx, s.model, queries[q], p, s.expect[q][p], sizeof s.expect[q][p]);
            assert_true(strncmp(s.expect[q][p], "error", 5) != 0);
        }
    pthread_t th[N_SEARCHERS + 1];
    for (int i = 0; i < N_SEARCHERS; i++) assert_int_equal(pthread_create(&th[i], NULL, searcher, &s), 0);
    assert_int_equal(pthread_create(&th[N_SEARCHERS], NULL, builder, &s), 0);
    for (int i = 0; i <= N_SEARCHERS; i++) pthread_join(th[i], NULL);
    assert_int_equal(s.failures, 0);
    aisle_model_free(s.model);
    aisle_search_index_free(s.idx);
    aisle_bert_free(s.bert);
    aisle_model_free(s.text);
    aisle_config_free(s.one);
    aisle_config_free(s.two);
    aisle_catalog_free(s.cat);
}

static void test_eight_searchers_and_a_builder(void **state) {
    (void)state;
    stress(false);
}

static void test_eight_searchers_share_an_intent_encoder(void **state) {
    (void)state;
    stress(true);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_searchers_and_a_builder),
        cmocka_unit_test(test_eight_searchers_share_an_intent_encoder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
