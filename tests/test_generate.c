/* test_generate.c - the demo store: determinism for a seed, sizes, the mix
 * of events, repeat purchases, CSV files, options and errors. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/data.h"
#include "util/test_util.h"

static aisle_config *small_cfg(const char *extra) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=400 demo_items=200 demo_messages=50"));
    if (extra) assert_ok(aisle_config_parse(cfg, extra));
    return cfg;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_same_seed_gives_identical_files(void **state) {
    (void)state;
    char d1[1024], d2[1024], d3[1024], p1[1100], p2[1100];
    tu_tmpdir(d1, sizeof d1, "gen_a");
    tu_tmpdir(d2, sizeof d2, "gen_b");
    tu_tmpdir(d3, sizeof d3, "gen_c");
    aisle_config *cfg = small_cfg("seed=5"), *other = small_cfg("seed=6");
    assert_ok(aisle_demo_write(cfg, d1));
    assert_ok(aisle_demo_write(cfg, d2));
    assert_ok(aisle_demo_write(other, d3));
    static const char *const files[] = {"events.csv", "catalog.csv", "messages.csv"};
    for (int i = 0; i < 3; i++) {
        size_t n1, n2, n3;
        snprintf(p1, sizeof p1, "%s/%s", d1, files[i]);
        snprintf(p2, sizeof p2, "%s/%s", d2, files[i]);
        char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(a, b, n1);
        snprintf(p2, sizeof p2, "%s/%s", d3, files[i]);
        char *c = slurp(p2, &n3);
        assert_true(n1 != n3 || memcmp(a, c, n1) != 0);
        free(a), free(b), free(c);
    }
    aisle_config_free(cfg);
    aisle_config_free(other);
}

static void test_dataset_matches_files_and_sizes(void **state) {
    (void)state;
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "gen_sizes");
    aisle_config *cfg = small_cfg(NULL);
    assert_ok(aisle_demo_write(cfg, dir));
    aisle_dataset *ds, *ds2;
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_demo_generate(cfg, &ds2));
    size_t users, items, events, events2;
    assert_ok(aisle_dataset_user_count(ds, &users));
    assert_ok(aisle_dataset_item_count(ds, &items));
    assert_ok(aisle_dataset_event_count(ds, &events));
    assert_ok(aisle_dataset_event_count(ds2, &events2));
    assert_int_equal(events, events2);
    assert_memory_equal(ds->events, ds2->events, events * sizeof *ds->events);
    assert_int_equal(users, 400); /* every shopper visits at least once */
    assert_true(items <= 200 && items > 150);
    assert_true(events > 400 * 5);
    size_t n;
    snprintf(path, sizeof path, "%s/events.csv", dir);
    char *text = slurp(path, &n);
    assert_int_equal(count_lines(text), events + 1);
    assert_true(strncmp(text, "user_id,item_id,event,quantity,timestamp\n", 41) == 0);
    free(text);
    snprintf(path, sizeof path, "%s/catalog.csv", dir);
    text = slurp(path, &n);
    assert_int_equal(count_lines(text), 200 + 1);
    assert_non_null(strstr(text, " > "));  /* category paths */
    assert_non_null(strstr(text, "\xe7")); /* some CJK (UTF-8 lead byte of U+7xxx) */
    free(text);
    snprintf(path, sizeof path, "%s/messages.csv", dir);
    text = slurp(path, &n);
    assert_int_equal(count_lines(text), 50 + 1);
    assert_non_null(strstr(text, ",order_status,"));
    free(text);
    aisle_dataset_free(ds);
    aisle_dataset_free(ds2);
    aisle_config_free(cfg);
}

static void test_event_mix_and_repeat_purchases(void **state) {
    (void)state;
    aisle_config *cfg = small_cfg(NULL);
    aisle_dataset *ds;
    assert_ok(aisle_demo_generate(cfg, &ds));
    size_t count[3] = {0}, repeats = 0;
    int64_t prev = INT64_MIN;
    int sorted = 1;
    for (size_t i = 0; i < ds->n_events; i++) {
        const data_event *e = &ds->events[i];
        assert_true(e->type <= DATA_EVENT_PURCHASE);
        count[e->type]++;
        sorted &= e->time >= prev;
        prev = e->time;
    }
    assert_true(sorted);
    /* views dominate; a minority is carted; most carts are bought */
    assert_true(count[0] > 5 * count[1]);
    assert_true(count[1] > count[2] / 2 && count[2] > 0);
    const data_csr *bu;
    assert_ok(data_by_user(ds, &bu));
    /* purchase pairs aggregated from more than one purchase: repeat orders */
    for (size_t i = 0; i < ds->n_events; i++) {
        const data_event *e = &ds->events[i];
        if (e->type != DATA_EVENT_PURCHASE) continue;
        for (size_t j = i + 1; j < ds->n_events && j < i + 20000; j++) {
            const data_event *f = &ds->events[j];
            if (f->type == DATA_EVENT_PURCHASE && f->user == e->user && f->item == e->item) {
                repeats++;
                break;
            }
        }
    }
    assert_true(repeats > 10);
    /* users concentrate on few items: far fewer pairs than events */
    assert_true(bu->nnz < ds->n_events / 2);
    /* timestamps inside [2026-01-01, + demo_days + a margin for sessions] */
    assert_true(ds->events[0].time >= 1767225600);
    assert_true(ds->events[ds->n_events - 1].time < 1767225600 + 91 * 86400);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_popularity_is_skewed(void **state) {
    (void)state;
    aisle_config *cfg = small_cfg(NULL);
    aisle_dataset *ds;
    assert_ok(aisle_demo_generate(cfg, &ds));
    const data_csr *bi;
    assert_ok(data_by_item(ds, &bi));
    /* the top 10% of items draw over 2.5 times their even share of pairs */
    size_t n = bi->rows, *deg = malloc(n * sizeof *deg);
    assert_non_null(deg);
    for (size_t i = 0; i < n; i++) deg[i] = bi->indptr[i + 1] - bi->indptr[i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (deg[j] > deg[i]) {
                size_t t = deg[i];
                deg[i] = deg[j];
                deg[j] = t;
            }
    size_t top = 0, all = 0;
    for (size_t i = 0; i < n; i++) all += deg[i], top += i < n / 10 ? deg[i] : 0;
    assert_true(top * 4 > all); /* uniform would give 10% */
    free(deg);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_catalog_matches_the_csv_file(void **state) {
    (void)state;
    char d[1024], path[1100];
    tu_tmpdir(d, sizeof d, "gen_catalog");
    aisle_config *cfg = small_cfg(NULL);
    assert_ok(aisle_demo_write(cfg, d));
    aisle_dataset *ds;
    aisle_catalog *cat, *loaded;
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_demo_catalog(cfg, &cat));
    size_t n, m;
    assert_ok(aisle_catalog_count(cat, &n));
    assert_int_equal(n, 200);
    snprintf(path, sizeof path, "%s/catalog.csv", d);
    assert_ok(aisle_catalog_new(&loaded));
    assert_ok(aisle_catalog_load(loaded, path, NULL));
    assert_ok(aisle_catalog_count(loaded, &m));
    assert_int_equal(m, n);
    static const char *const fields[] = {"title", "description", "category", "brand"};
    size_t chinese = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key, *a, *b;
        assert_ok(aisle_catalog_key(cat, i, &key));
        for (int f = 0; f < 4; f++) {
            assert_ok(aisle_catalog_item_text(cat, key, fields[f], &a));
            assert_ok(aisle_catalog_item_text(loaded, key, fields[f], &b));
            assert_string_equal(a, b); /* CSV quoting round-trips */
            assert_true(a[0] != '\0');
            if (f == 0) chinese += strstr(a, "\xe7") || strstr(a, "\xe8") || strstr(a, "\xe5") || strstr(a, "\xe6");
        }
        double p1, p2;
        assert_ok(aisle_catalog_item_price(cat, key, &p1));
        assert_ok(aisle_catalog_item_price(loaded, key, &p2));
        assert_float_equal(p1, p2, 1e-9);
        assert_true(p1 > 0);
    }
    /* about 15% of the titles are Chinese */
    assert_true(chinese > n / 20 && chinese < n / 3);
    /* every item of the events is in the catalog */
    size_t items;
    assert_ok(aisle_dataset_item_count(ds, &items));
    for (size_t i = 0; i < items; i++) {
        const char *key;
        size_t idx;
        assert_ok(aisle_dataset_item_key(ds, i, &key));
        assert_ok(aisle_catalog_index(cat, key, &idx));
    }
    aisle_catalog_free(loaded);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

/* The latent tastes are learnable: a collaborative model trained on the
 * first 80% of the time line ranks the last 20% clearly better than
 * popularity does. */
static double ndcg_of(const char *kind, const aisle_dataset *train, const aisle_dataset *test) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "model", kind));
    assert_ok(aisle_config_set(cfg, "threads", "1"));
    aisle_model *m;
    assert_ok(aisle_model_train(train, cfg, &m));
    aisle_eval_result *r;
    assert_ok(aisle_evaluate(m, test, cfg, &r));
    double v;
    assert_ok(aisle_eval_result_get(r, "ndcg@10", &v));
    aisle_eval_result_free(r);
    aisle_model_free(m);
    aisle_config_free(cfg);
    return v;
}

static void test_latent_taste_is_learnable(void **state) {
    (void)state;
    aisle_config *cfg = small_cfg(NULL);
    aisle_dataset *ds, *train, *test;
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_dataset_split_spec(ds, "time:0.2", 1, &train, &test));
    double pop = ndcg_of("popular", train, test), knn = ndcg_of("itemknn", train, test);
    print_message("ndcg@10 popular %.4f itemknn %.4f\n", pop, knn);
    assert_true(pop > 0.01);
    assert_true(knn > 1.3 * pop);
    aisle_dataset_free(train);
    aisle_dataset_free(test);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_options_and_errors(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_set_int(cfg, "demo_users", 1), AISLE_ERANGE, "demo_users");
    assert_status_msg(aisle_demo_generate(cfg, NULL), AISLE_EINVAL, "NULL");
    assert_status_msg(aisle_demo_catalog(cfg, NULL), AISLE_EINVAL, "NULL");
    assert_status_msg(aisle_demo_write(cfg, ""), AISLE_EINVAL, "directory");
    assert_status_msg(aisle_demo_write(cfg, "/proc/no/such/dir"), AISLE_EIO, "/proc/no/such/dir");
    int64_t v;
    assert_ok(aisle_config_get_int(cfg, "demo_items", &v));
    assert_int_equal(v, 2000);
    aisle_config_free(cfg);
}

/* A write that fails half-way (here: the file-size limit) leaves the files
 * that were there before untouched and no temporary file behind. */
static void test_failed_write_keeps_the_old_files(void **state) {
    (void)state;
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "gen_atomic");
    aisle_config *cfg = small_cfg("seed=3");
    assert_ok(aisle_demo_write(cfg, dir));
    snprintf(path, sizeof path, "%s/events.csv", dir);
    size_t n_before, n_after;
    char *before = slurp(path, &n_before);
    assert_true(n_before > 8192);
    aisle_config *bigger = small_cfg("seed=4 demo_users=800");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &lim);
        _exit(aisle_demo_write(bigger, dir) == AISLE_EIO ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *after = slurp(path, &n_after);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before);
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) fail_msg("temporary file left behind: %s", e->d_name);
    closedir(d);
    free(before), free(after);
    aisle_config_free(cfg);
    aisle_config_free(bigger);
}

static void test_allocation_failures_leave_nothing_behind(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=10 demo_items=50 demo_messages=5 demo_days=3"));
    for (uint64_t n = 1; n < 100000; n++) {
        tu_failalloc_install(n, 0);
        aisle_dataset *ds = NULL;
        aisle_catalog *cat = NULL;
        int rc = aisle_demo_generate(cfg, &ds);
        if (!rc) {
            rc = aisle_demo_catalog(cfg, &cat);
            if (rc) {
                aisle_dataset_free(ds);
                ds = NULL;
            }
        }
        uint64_t count = tu_failalloc_count();
        aisle_dataset_free(ds);
        aisle_catalog_free(cat);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
        if (rc == AISLE_OK) {
            assert_true(count < n);
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_null(ds);
        assert_null(cat);
        /* beyond the first few hundred the pattern repeats: sample */
        if (n > 300) n += 97;
    }
    aisle_config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_gives_identical_files),
        cmocka_unit_test(test_dataset_matches_files_and_sizes),
        cmocka_unit_test(test_event_mix_and_repeat_purchases),
        cmocka_unit_test(test_popularity_is_skewed),
        cmocka_unit_test(test_catalog_matches_the_csv_file),
        cmocka_unit_test(test_latent_taste_is_learnable),
        cmocka_unit_test(test_options_and_errors),
        cmocka_unit_test(test_failed_write_keeps_the_old_files),
        cmocka_unit_test(test_allocation_failures_leave_nothing_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
