/* test_search_learn.c - learning to rank from search logs: the log loader
 * (groups, grades, file:line:column errors), the pairwise fit on a
 * generated shop whose purchases follow a known weight vector (weight
 * ordering recovered, held-out NDCG above the default ranking,
 * determinism), the ranker option and accessor, and the weights kept by a
 * saved index (old readers skip the optional section; corrupt ones are
 * refused). */
#include "util/search_util.h"

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static aisle_config *cfg_of(const char *text) {
    aisle_config *c;
    assert_ok(aisle_config_new(&c));
    if (text) assert_ok(aisle_config_parse(c, text));
    return c;
}

static int load_text(aisle_search_log **out, const char *text) {
    return aisle_search_log_load_buffer(out, text, strlen(text), "log.csv", NULL);
}

static void test_log_groups_events_and_keeps_the_best_grade(void **state) {
    (void)state;
    aisle_search_log *log;
    assert_ok(load_text(&log, "query_id,query,user,item,event\n"
                              "s1,red mug,u1,m1,shown\n"
                              "s1,red mug,u1,m2,shown\n"
                              "s2,lantern,,l1,click\n"
                              "s1,red mug,u1,m2,purchase\n"
                              "s1,red mug,u1,m2,click\n"));
    size_t searches, events;
    assert_ok(aisle_search_log_count(log, &searches, &events));
    assert_int_equal(searches, 2);
    assert_int_equal(events, 3);
    /* s1: m1 shown, m2 purchase (the highest of its events) */
    assert_int_equal(log->first[1] - log->first[0], 2);
    for (uint32_t e = log->first[0]; e < log->first[1]; e++) {
        const char *item = keys_at(&log->items, log->ev[e].item);
        assert_int_equal(log->ev[e].grade, !strcmp(item, "m2") ? 3 : 0);
    }
    assert_int_equal(log->user[1], SEARCH_NONE);
    aisle_search_log_free(log);
    aisle_search_log_free(NULL);
    /* columns in another order, user column absent, tab-separated */
    assert_ok(aisle_search_log_load_buffer(&log, "event\titem\tquery\tquery_id\nclick\tm1\tmug\tq\n", 41, "log.tsv",
                                           NULL));
    assert_ok(aisle_search_log_count(log, &searches, NULL));
    assert_int_equal(searches, 1);
    aisle_search_log_free(log);
}

static void expect_error(const char *text, const char *where) {
    aisle_search_log *log = NULL;
    assert_int_equal(load_text(&log, text), AISLE_EFORMAT);
    assert_null(log);
    if (!strstr(aisle_last_error(), where)) fail_msg("message '%s' lacks '%s'", aisle_last_error(), where);
}

static void test_log_bad_rows_name_file_line_and_column(void **state) {
    (void)state;
    expect_error("", "log.csv:1:1");
    expect_error("query,user,item,event\nmug,u,m1,click\n", "log.csv:1:1: expected a header naming column query_id");
    expect_error("query_id,query,user,item,event\ns1,mug,u1,m1,shown\ns1,mug,u1,m2,bought\n",
                 "log.csv:3:14: expected an event");
    expect_error("query_id,query,user,item,event\ns1,mug,u1,m1,shown\ns1,cup,u1,m2,click\n",
                 "log.csv:3:4: expected the query of the earlier rows");
    expect_error("query_id,query,user,item,event\ns1,mug,u1,m1,shown\ns1,mug,u2,m2,click\n",
                 "log.csv:3:8: expected the user of the earlier rows");
    expect_error("query_id,query,user,item,event\ns1,mug,u1,,shown\n", "log.csv:2:11: expected a product key");
    expect_error("query_id,query,user,item,event\ns1,mug,u1\n", "log.csv:2:");
    expect_error("query_id,query,user,item,event\ns1,m\xff,u1,m1,shown\n", "log.csv:2:4: expected UTF-8 text");
    aisle_search_log *log = NULL;
    assert_int_equal(aisle_search_log_load(&log, "/nonexistent/log.csv", NULL), AISLE_ENOTFOUND);
    assert_int_equal(aisle_search_log_load(NULL, "x", NULL), AISLE_EINVAL);
    assert_int_equal(aisle_search_log_count(NULL, NULL, NULL), AISLE_EINVAL);
}

/* ---- a generated shop whose purchases follow utility = 1 x text + 3 x popularity ---- */

enum { N_WORDS = 16, N_PRODUCTS = 240, N_TRAIN_WORDS = 10 };
static const double TRUE_TEXT = 1.0, TRUE_POP = 3.0;
static const char *const words[N_WORDS] = {"mug",   "lamp",  "scarf", "candle", "basket", "wallet", "poster", "pillow",
                                           "teapot", "clock", "vase",  "apron",  "bottle", "frame",  "rug",    "tray"};

typedef struct shop {
    aisle_catalog *cat;
    aisle_model *popular;
    aisle_search_index *idx;
    int count[N_PRODUCTS]; /* purchases of each product (its popularity) */
} shop;

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void shop_build(shop *s) {
    static const char *const filler[4] = {"with", "style", "classic", "edition"};
    uint64_t r = 7;
    assert_ok(aisle_catalog_new(&s->cat));
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int i = 0; i < N_PRODUCTS; i++) {
        char key[16], title[128], desc[256] = "";
        snprintf(key, sizeof key, "p%03d", i);
        /* the product's word in the title, the description or both, with
         * fillers of random length: text scores vary within a word's
         * products */
        const char *w = words[i % N_WORDS];
        int where = (int)(lcg(&r) % 3);
        snprintf(title, sizeof title, "%s %s", filler[lcg(&r) % 4], where != 1 ? w : filler[lcg(&r) % 4]);
        if (where != 0) strcat(desc, w);
        for (int k = (int)(lcg(&r) % 8); k > 0; k--) {
            strcat(desc, " ");
            strcat(desc, filler[lcg(&r) % 4]);
        }
        assert_ok(aisle_catalog_add_item(s->cat, key, title, desc, "Home", "", NAN));
        s->count[i] = 1 + (int)(lcg(&r) % 40);
        char user[16];
        for (int k = 0; k < s->count[i]; k++) {
            snprintf(user, sizeof user, "u%d", k);
            assert_ok(aisle_dataset_add_event(ds, user, key, "purchase", 1, k));
        }
    }
    aisle_config *mc = cfg_of("model=popular");
    assert_ok(aisle_model_train(ds, mc, &s->popular));
    aisle_config_free(mc);
    aisle_dataset_free(ds);
    assert_ok(aisle_search_index_new(&s->idx));
    assert_ok(aisle_search_index_build(s->idx, s->cat, NULL));
    assert_ok(aisle_search_index_set_popularity(s->idx, s->popular));
}

static void shop_free(shop *s) {
    aisle_search_index_free(s->idx);
    aisle_model_free(s->popular);
    aisle_catalog_free(s->cat);
}

static const char *word_of(int w) { return words[w]; }

/* The default (blend) hits of a word with the true utility of each, best
 * utility first in order[]; returns the hit count. */
static size_t true_utility(const shop *s, const char *query, char keys[][16], double *u, size_t *order) {
    aisle_config *c = cfg_of("search_ranker=blend");
    aisle_search_results *res;
    assert_ok(aisle_search(s->idx, query, strlen(query), 100, NULL, 0, NULL, NULL, NULL, 0, c, &res));
    size_t n;
    assert_ok(aisle_search_results_count(res, &n));
    double maxt = 0, maxp = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        double score;
        assert_ok(aisle_search_results_hit(res, i, &key, &score));
        snprintf(keys[i], 16, "%s", key);
        maxt = fmax(maxt, score);
        maxp = fmax(maxp, s->count[atoi(key + 1)]);
    }
    for (size_t i = 0; i < n; i++) {
        const char *key;
        double score;
        assert_ok(aisle_search_results_hit(res, i, &key, &score));
        u[i] = TRUE_TEXT * score / maxt + TRUE_POP * log1p(s->count[atoi(key + 1)]) / log1p(maxp);
        order[i] = i;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort by utility, best first */
        for (size_t j = i; j > 0 && u[order[j]] > u[order[j - 1]]; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    aisle_search_results_free(res);
    aisle_config_free(c);
    return n;
}

/* A log: per search of a training word, the shopper sees the default top
 * SHOWN, buys the one of best utility plus Gumbel noise and clicks the
 * next (a choice among what was shown, so the pairs are not biased by the
 * default ranking that chose them). */
enum { SHOWN = 12 };
static char *make_log(const shop *s, int searches, uint64_t seed) {
    core_buf b;
    buf_init(&b);
    assert_ok(buf_printf(&b, "query_id,query,user,item,event\n"));
    uint64_t r = seed;
    for (int q = 0; q < searches; q++) {
        const char *w = word_of(q % N_TRAIN_WORDS);
        char keys[100][16];
        double u[100];
        size_t order[100];
        size_t n = CORE_MIN(true_utility(s, w, keys, u, order), (size_t)SHOWN);
        double noisy[100];
        /* Gumbel noise: the choice is a multinomial logit in the utility */
        for (size_t i = 0; i < n; i++) noisy[i] = u[i] - 0.5 * log(-log(((double)(lcg(&r) % 100000) + 0.5) / 1e5));
        size_t best = 0, second = n > 1 ? 1 : 0;
        for (size_t i = 0; i < n; i++)
            if (noisy[i] > noisy[best]) best = i;
        for (size_t i = 0; i < n; i++)
            if (i != best && (second == best || noisy[i] > noisy[second])) second = i;
        for (size_t i = 0; i < n; i++) assert_ok(buf_printf(&b, "q%d,%s,,%s,shown\n", q, w, keys[i]));
        assert_ok(buf_printf(&b, "q%d,%s,,%s,purchase\n", q, w, keys[best]));
        if (second != best) assert_ok(buf_printf(&b, "q%d,%s,,%s,click\n", q, w, keys[second]));
    }
    assert_ok(buf_append(&b, "", 1));
    return b.data;
}

/* Mean NDCG@10 over the held-out words: gains 3, 2, 1 for the three
 * products of highest true utility. */
static double heldout_ndcg(const shop *s, const char *options) {
    aisle_config *c = cfg_of(options);
    double sum = 0;
    for (int w = N_TRAIN_WORDS; w < N_WORDS; w++) {
        char keys[100][16];
        double u[100];
        size_t order[100];
        true_utility(s, word_of(w), keys, u, order);
        aisle_search_results *res;
        assert_ok(aisle_search(s->idx, word_of(w), strlen(word_of(w)), 10, NULL, 0, NULL, NULL, NULL, 0, c, &res));
        size_t n;
        assert_ok(aisle_search_results_count(res, &n));
        double dcg = 0, ideal = 3 + 2 / log2(3) + 1 / log2(4);
        for (size_t i = 0; i < n; i++) {
            const char *key;
            double score;
            assert_ok(aisle_search_results_hit(res, i, &key, &score));
            for (int g = 0; g < 3; g++)
                if (!strcmp(key, keys[order[g]])) dcg += (3 - g) / log2((double)i + 2);
        }
        sum += dcg / ideal;
        aisle_search_results_free(res);
    }
    aisle_config_free(c);
    return sum / (N_WORDS - N_TRAIN_WORDS);
}

static void test_learner_recovers_weight_order_and_beats_defaults(void **state) {
    (void)state;
    shop s;
    shop_build(&s);
    char *text = make_log(&s, 60, 11);
    aisle_search_log *log;
    assert_ok(load_text(&log, text));
    const char *name;
    double w[SEARCH_LTR_F];
    assert_int_equal(aisle_search_index_ranker(s.idx, 0, &name, &w[0]), AISLE_ENOTFOUND);
    aisle_config *c = cfg_of("search_ranker=learned");
    aisle_search_results *res = NULL;
    assert_int_equal(aisle_search(s.idx, "mug", 3, 5, NULL, 0, NULL, NULL, NULL, 0, c, &res), AISLE_ESTATE);
    size_t pairs = 0;
    assert_ok(aisle_search_index_learn(s.idx, log, NULL, NULL, &pairs));
    assert_true(pairs > 60);
    for (size_t i = 0; i < SEARCH_LTR_F; i++) {
        assert_ok(aisle_search_index_ranker(s.idx, i, &name, &w[i]));
        assert_string_equal(name, search_ltr_names[i]);
    }
    assert_int_equal(aisle_search_index_ranker(s.idx, SEARCH_LTR_F, &name, &w[0]), AISLE_ERANGE);
    print_message("learned: text %.3f proximity %.3f matched %.3f corrected %.3f popularity %.3f\n",
                  w[SEARCH_LTR_TEXT], w[SEARCH_LTR_PROXIMITY], w[SEARCH_LTR_MATCHED], w[SEARCH_LTR_CORRECTED],
                  w[SEARCH_LTR_POPULARITY]);
    /* the true order: popularity (3) > text (1) > every signal the
     * purchases do not depend on */
    assert_true(w[SEARCH_LTR_POPULARITY] > w[SEARCH_LTR_TEXT]);
    assert_true(w[SEARCH_LTR_TEXT] > 0);
    for (int k = 0; k < SEARCH_LTR_F; k++)
        if (k != SEARCH_LTR_TEXT && k != SEARCH_LTR_POPULARITY) assert_true(fabs(w[k]) < w[SEARCH_LTR_TEXT]);
    double ratio = w[SEARCH_LTR_POPULARITY] / w[SEARCH_LTR_TEXT];
    assert_true(ratio > 1.5 && ratio < 6);
    /* held-out words: learned beats the default text ranking */
    double def = heldout_ndcg(&s, "search_ranker=blend"), learned = heldout_ndcg(&s, NULL);
    print_message("held-out NDCG@10: default %.4f learned %.4f\n", def, learned);
    assert_true(learned > def + 0.1);
    assert_true(learned > 0.8);
    /* explanations name the learned ranker */
    assert_ok(aisle_search(s.idx, "mug", 3, 3, NULL, 0, NULL, NULL, NULL, 0, NULL, &res));
    const char *ex;
    assert_ok(aisle_search_results_explain(res, 0, &ex));
    assert_non_null(strstr(ex, "learned ranker"));
    aisle_search_results_free(res);
    /* deterministic: a second fit on a fresh index gives the same weights */
    aisle_search_index *again;
    assert_ok(aisle_search_index_new(&again));
    assert_ok(aisle_search_index_build(again, s.cat, NULL));
    assert_ok(aisle_search_index_set_popularity(again, s.popular));
    assert_ok(aisle_search_index_learn(again, log, NULL, NULL, NULL));
    for (size_t i = 0; i < SEARCH_LTR_F; i++) {
        double v;
        assert_ok(aisle_search_index_ranker(again, i, &name, &v));
        assert_true(v == w[i]);
    }
    aisle_search_index_free(again);
    /* a smaller pair sample still recovers the order */
    aisle_config *small = cfg_of("search_learn_max_pairs=3 search_learn_seed=5 search_learn_l2=0.01");
    assert_ok(aisle_search_index_learn(s.idx, log, s.popular, small, &pairs));
    assert_true(pairs <= 3 * 60);
    assert_ok(aisle_search_index_ranker(s.idx, SEARCH_LTR_POPULARITY, &name, &w[SEARCH_LTR_POPULARITY]));
    assert_ok(aisle_search_index_ranker(s.idx, SEARCH_LTR_TEXT, &name, &w[SEARCH_LTR_TEXT]));
    assert_true(w[SEARCH_LTR_POPULARITY] > w[SEARCH_LTR_TEXT] && w[SEARCH_LTR_TEXT] > 0);
    aisle_config_free(small);
    aisle_config_free(c);
    aisle_search_log_free(log);
    free(text);
    shop_free(&s);
}

static void test_learn_refuses_logs_without_pairs(void **state) {
    (void)state;
    shop s;
    shop_build(&s);
    aisle_search_log *log;
    /* one product per search, or products the index does not have */
    assert_ok(load_text(&log, "query_id,query,user,item,event\ns1,mug,,p000,purchase\ns2,lamp,,zz,purchase\n"
                              "s2,lamp,,p001,shown\n"));
    assert_int_equal(aisle_search_index_learn(s.idx, log, NULL, NULL, NULL), AISLE_EINVAL);
    const char *name;
    double v;
    assert_int_equal(aisle_search_index_ranker(s.idx, 0, &name, &v), AISLE_ENOTFOUND);
    assert_int_equal(aisle_search_index_learn(NULL, log, NULL, NULL, NULL), AISLE_EINVAL);
    aisle_search_log_free(log);
    shop_free(&s);
}

static void test_saved_index_keeps_the_learned_weights(void **state) {
    (void)state;
    shop s;
    shop_build(&s);
    char *text = make_log(&s, 30, 3);
    aisle_search_log *log;
    assert_ok(load_text(&log, text));
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "search_learn");
    snprintf(path, sizeof path, "%s/idx.aisle", dir);
    assert_ok(aisle_search_index_save(s.idx, path, NULL));
    size_t plain_len = 0;
    {
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        plain_len = (size_t)ftell(f);
        fclose(f);
    }
    assert_ok(aisle_search_index_learn(s.idx, log, NULL, NULL, NULL));
    assert_ok(aisle_search_index_save(s.idx, path, NULL));
    aisle_search_index *back;
    assert_ok(aisle_search_index_load(&back, path, NULL));
    for (size_t i = 0; i < SEARCH_LTR_F; i++) {
        const char *n1, *n2;
        double a, b;
        assert_ok(aisle_search_index_ranker(s.idx, i, &n1, &a));
        assert_ok(aisle_search_index_ranker(back, i, &n2, &b));
        assert_true(a == b);
    }
    /* the same ranking from the loaded index */
    aisle_search_results *r1, *r2;
    assert_ok(aisle_search(s.idx, "candle", 6, 10, NULL, 0, NULL, NULL, NULL, 0, NULL, &r1));
    assert_ok(aisle_search(back, "candle", 6, 10, NULL, 0, NULL, NULL, NULL, 0, NULL, &r2));
    tu_same_hits(r1, r2, 1e-5);
    aisle_search_results_free(r1);
    aisle_search_results_free(r2);
    aisle_search_index_free(back);
    /* the section is optional: a reader that skips it (the index before
     * learning) is the same size less the section */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *img = malloc(len);
    assert_non_null(img);
    assert_int_equal(fread(img, 1, len, f), len);
    fclose(f);
    assert_true(len > plain_len);
    /* every single-byte corruption of the saved file is refused or loads a
     * usable index, never crashes */
    for (size_t at = len > 400 ? len - 400 : 0; at < len; at += 3) {
        img[at] ^= 0x5a;
        aisle_search_index *x = NULL;
        int rc = aisle_search_index_load_buffer(&x, img, len, NULL);
        if (rc == AISLE_OK) {
            aisle_search_results *r;
            assert_ok(aisle_search(x, "mug", 3, 5, NULL, 0, NULL, NULL, NULL, 0, NULL, &r));
            aisle_search_results_free(r);
        } else {
            assert_true(aisle_last_error()[0] != '\0');
        }
        aisle_search_index_free(x);
        img[at] ^= 0x5a;
    }
    free(img);
    aisle_search_log_free(log);
    free(text);
    shop_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_groups_events_and_keeps_the_best_grade),
        cmocka_unit_test(test_log_bad_rows_name_file_line_and_column),
        cmocka_unit_test(test_learner_recovers_weight_order_and_beats_defaults),
        cmocka_unit_test(test_learn_refuses_logs_without_pairs),
        cmocka_unit_test(test_saved_index_keeps_the_learned_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
