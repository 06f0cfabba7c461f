/* test_cli_search.c - `aisle index` and `aisle search` run as programs
 * (path in AISLE_CLI, set by `make test`) on the demo store's catalog:
 * outputs, one JSON array per --queries line in order, filters, typos,
 * personalised search with a model, and errors. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "util/cli_util.h"

static int setup(void **state) {
    (void)state;
    char rel[1024];
    tu_tmpdir(rel, sizeof rel, "cli_search");
    if (!realpath(rel, dir)) fail_msg("realpath %s failed", rel);
    if (run("generate --out store --set demo_users=200 --set demo_items=300 --set demo_messages=0 --seed 5") != 0)
        fail_msg("generate failed: %s", err_text);
    return 0;
}

static void test_index_and_search_print_hits(void **state) {
    (void)state;
    assert_run(0, "index --catalog store/catalog.csv --out store.idx");
    assert_contains(err_text, "indexed 300 products");
    assert_run(0, "search --index store.idx --query 'yoga mat' -k 3");
    assert_contains(out_text, "query: yoga mat");
    assert_contains(out_text, "  1  P");
    assert_contains(out_text, "yoga mat");
    /* a typo, explained */
    assert_run(0, "search --index store.idx --query 'wireles earbuds' -k 2 --explain");
    assert_contains(out_text, "typo wireles->wireless (1 edit)");
    /* filters and facets */
    assert_run(0, "search --index store.idx --query 'bag' -k 50 --filter 'category=Fashion' --filter 'price=..1000' "
                  "--facets brand,category");
    assert_contains(out_text, "facet category: Fashion > Bags");
    assert_run(0, "search --index store.idx --query 'bag' -k 5 --filter 'brand=no such brand'");
    assert_contains(out_text, "(0 matching)");
    /* CJK */
    assert_run(0, "search --index store.idx --query '瑜伽垫' -k 1");
    assert_contains(out_text, "  1  P");
}

static void test_queries_file_prints_one_json_array_per_line_in_order(void **state) {
    (void)state;
    assert_run(0, "index --catalog store/catalog.csv --out store.idx --quiet");
    char path[4200];
    snprintf(path, sizeof path, "%s/queries.txt", dir);
    const char q[] = "yoga mat\n\n?!?\nwireles earbuds\ntent\n";
    tu_write_file(path, q, strlen(q));
    assert_run(0, "search --index store.idx --queries queries.txt -k 3 --json");
    char *line = out_text, *next;
    int n = 0;
    for (; *line; line = next, n++) {
        next = strchr(line, '\n');
        if (!next) fail_msg("output line without newline: %s", line);
        *next++ = 0;
        if (!json_valid(line)) fail_msg("line %d is not JSON: %s", n + 1, line);
        if (line[0] != '[') fail_msg("line %d is not an array: %s", n + 1, line);
        if (n == 0 || n == 3 || n == 4) {
            assert_contains(line, "{\"item\":\"P");
            assert_contains(line, "\"score\":");
            assert_contains(line, "\"matched\":[\"");
        }
        if (n == 1 || n == 2) assert_string_equal(line, "[]");
        if (n == 3) assert_contains(line, "\"wireless\"");
    }
    assert_int_equal(n, 5);
    /* with facets each line is an object */
    assert_run(0, "search --index store.idx --query tent -k 2 --json --facets brand");
    assert_true(json_valid(out_text));
    assert_contains(out_text, "\"facets\":{\"brand\":{");
}

static void test_personal_search_and_suggest(void **state) {
    (void)state;
    assert_run(0, "train --data store/events.csv --model als --set factors=8 --set epochs=3 --out als.model");
    assert_run(0, "index --catalog store/catalog.csv --out store.idx --model als.model --quiet");
    char user[64] = "";
    FILE *f;
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/store/events.csv", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    sscanf(line, "%63[^,]", user);
    assert_run(0, "search --index store.idx --query 'shoes' -k 3 --model als.model --user %s --explain --json", user);
    assert_true(json_valid(out_text));
    assert_contains(out_text, "history moved it from rank");
    assert_run(0, "search --index store.idx --query 'shoes' -k 3 --model als.model --user nobody --explain");
    assert_contains(out_text, "user unknown to the model");
    assert_run(0, "search --index store.idx --query 'yog' --suggest -k 3");
    assert_contains(out_text, "yoga");
}

static void test_search_usage_and_file_errors(void **state) {
    (void)state;
    assert_run(2, "index --catalog store/catalog.csv");
    assert_contains(err_text, "--out IDX");
    assert_run(2, "search --index store.idx");
    assert_contains(err_text, "--query TEXT or --queries FILE");
    assert_run(2, "search --index store.idx --query x --user u1");
    assert_contains(err_text, "--model");
    assert_run(2, "search --index store.idx --query x -k lots");
    assert_run(1, "search --index missing.idx --query x");
    assert_contains(err_text, "missing.idx");
    assert_run(1, "search --index store/catalog.csv --query x");
    assert_run(1, "index --catalog missing.csv --out x.idx");
    assert_contains(err_text, "missing.csv");
    assert_run(1, "search --index store.idx --query x --filter nonsense");
    assert_contains(err_text, "NAME=VALUE");
    assert_run(0, "search --help");
    assert_contains(out_text, "usage: aisle search --index IDX");
    assert_run(0, "help index");
    assert_contains(out_text, "usage: aisle index --catalog FILE");
}

/* --encoder on index and search: the product vectors are stored, the
 * query's vector finds products sharing no word with it, another encoder
 * (or an index built without one) is refused. */
/* search-learn: a log whose shopper buys the 5th hit of each query gives
 * weights that the learned index uses; bad logs name file and line. */
static void test_search_learn_writes_a_learned_index(void **state) {
    (void)state;
    assert_run(0, "index --catalog store/catalog.csv --out learn.idx");
    static const char *const queries[] = {"bag", "mat", "mug", "lamp", "shoes"};
    char log[8192] = "query_id,query,user,item,event\n";
    size_t rows = 0;
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        assert_run(0, "search --index learn.idx --query '%s' -k 6 --json", queries[q]);
        const char *p = out_text;
        for (int h = 0; (p = strstr(p, "\"item\":\"")) != NULL; h++) {
            p += 8;
            const char *e = strchr(p, '"');
            snprintf(log + strlen(log), sizeof log - strlen(log), "s%zu,%s,,%.*s,%s\n", q, queries[q], (int)(e - p), p,
                     h == 4 ? "purchase" : "shown");
            rows++;
        }
    }
    assert_true(rows > 10);
    char path[4200];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    tu_write_file(path, log, strlen(log));
    assert_run(0, "search-learn --index learn.idx --log log.csv --out learned.idx --set search_learn_seed=3");
    assert_contains(out_text, "text\t");
    assert_contains(out_text, "popularity\t");
    assert_contains(err_text, "learned from ");
    assert_run(0, "search --index learned.idx --query 'bag' -k 3 --explain");
    assert_contains(out_text, "learned ranker");
    assert_run(0, "search --index learned.idx --query 'bag' -k 3 --set search_ranker=blend --explain");
    if (strstr(out_text, "learned ranker")) fail_msg("search_ranker=blend used the learned weights");
    /* errors: a bad event names file:line:column; a missing argument is usage */
    tu_write_file(path, "query_id,query,user,item,event\ns1,bag,,P1,seen\n", 47);
    assert_run(1, "search-learn --index learn.idx --log log.csv --out bad.idx");
    assert_contains(err_text, "log.csv:2:12: expected an event");
    assert_run(2, "search-learn --index learn.idx --out bad.idx");
    assert_contains(err_text, "--log FILE");
}

static void test_encoder_index_and_search(void **state) {
    (void)state;
    char cls[PATH_MAX], reg[PATH_MAX], rel[2200];
    snprintf(rel, sizeof rel, "%s/tests/bert/data/cls", tu_srcdir());
    if (!realpath(rel, cls)) fail_msg("realpath %s failed", rel);
    snprintf(rel, sizeof rel, "%s/tests/bert/data/reg", tu_srcdir());
    if (!realpath(rel, reg)) fail_msg("realpath %s failed", rel);
    assert_run(0, "index --catalog store/catalog.csv --out enc.idx --encoder %s --set threads=1", cls);
    assert_contains(err_text, "indexed 300 products");
    assert_run(0, "search --index enc.idx --encoder %s --query 'zebra quartz' -k 3 --explain", cls);
    assert_contains(out_text, "found by the text encoder only");
    assert_run(0, "search --index enc.idx --encoder %s --query 'yoga mat' -k 3 --json", cls);
    assert_true(json_valid(out_text));
    assert_contains(out_text, "\"matched\":[\"yoga\"");
    /* without --encoder the stored vectors wait: words only */
    assert_run(0, "search --index enc.idx --query 'zebra quartz' -k 3");
    assert_contains(out_text, "(0 matching)");
    assert_run(1, "search --index enc.idx --encoder %s --query 'yoga' -k 3", reg);
    assert_contains(err_text, "another encoder");
    assert_run(0, "index --catalog store/catalog.csv --out plain.idx --quiet");
    assert_run(1, "search --index plain.idx --encoder %s --query 'yoga' -k 3", cls);
    assert_contains(err_text, "no encoder vectors");
    assert_run(1, "search --index enc.idx --encoder missing-dir --query 'yoga'");
    assert_contains(err_text, "missing-dir");
}

/* --encoder with an intent model file (architecture transformer): index
 * stores its vectors, search attaches it by fingerprint; a model of
 * another kind is refused with a message naming it. */
static void test_intent_model_encoder_index_and_search(void **state) {
    (void)state;
    static const char *const texts[4][2] = {{"yoga mat for the gym", "sport"},
                                            {"running shoes light", "sport"},
                                            {"coffee mug ceramic", "kitchen"},
                                            {"tea pot glass", "kitchen"}};
    char csv[600] = "text,label\n";
    for (int i = 0; i < 16; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%s %d,%s\n", texts[i % 4][0], i, texts[i % 4][1]);
    char p[4200];
    snprintf(p, sizeof p, "%s/shop_texts.csv", dir);
    tu_write_file(p, csv, strlen(csv));
    assert_run(0, "train --model intent --data shop_texts.csv --out enc_intent.aisle --threads 1 --quiet "
                  "--set architecture=transformer --set hidden=8 --set blocks=1 --set heads=2 --set ff_hidden=16 "
                  "--set epochs=1 --set hash_buckets=4096 --set calibration_fraction=0");
    assert_run(0, "index --catalog store/catalog.csv --out enc_intent.idx --encoder enc_intent.aisle --set threads=1");
    assert_contains(err_text, "indexed 300 products");
    assert_run(0, "search --index enc_intent.idx --encoder enc_intent.aisle --query 'zebra quartz' -k 3 --explain");
    assert_contains(out_text, "found by the text encoder only");
    assert_run(0, "search --index enc_intent.idx --query 'zebra quartz' -k 3");
    assert_contains(out_text, "(0 matching)");
    assert_run(0, "train --model popular --data store/events.csv --out pop.aisle --quiet");
    assert_run(1, "search --index enc_intent.idx --encoder pop.aisle --query 'yoga' -k 3");
    assert_contains(err_text, "not an intent model");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_and_search_print_hits),
        cmocka_unit_test(test_queries_file_prints_one_json_array_per_line_in_order),
        cmocka_unit_test(test_personal_search_and_suggest),
        cmocka_unit_test(test_search_usage_and_file_errors),
        cmocka_unit_test(test_encoder_index_and_search),
        cmocka_unit_test(test_intent_model_encoder_index_and_search),
        cmocka_unit_test(test_search_learn_writes_a_learned_index),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
