/* bench_retail.c - every model kind with its defaults against `popular` on
 * a real shop export: UCI Online Retail (order lines, Quantity as the
 * value, returns as negative rows), split by time with the last 30 days
 * as the test part (the protocol of ../shared/data/README.md).
 *
 * Prints, per kind: NDCG@10, HR@10, coverage, NDCG@10 relative to popular,
 * training CPU seconds, and the model's weight counts (pairs netting <= 0,
 * pairs clipped).  Then the weight rules side by side for als, itemknn and
 * bpr (weight_scale=linear against the default log).
 *
 * Usage: bench_retail [kinds...] (default: every kind; sasrec then runs
 * 3 epochs instead of its default 30, which take tens of minutes on this
 * export: name it, `bench_retail sasrec`, for its defaults).  Data:
 * AISLE_SHARED_DATA or ../shared/data; skipped with a message when absent.
 * Only the public API is used. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_retail: %s: %s\n", what, aisle_last_error());
    exit(1);
}

typedef struct row {
    double ndcg, hr, coverage, cpu, nonpositive, capped;
    char error[256]; /* training refused (mf on quantities): the message */
} row;

/* Trains `kind` with the defaults plus `extra` and evaluates on test. */
static row run(const aisle_dataset *train, const aisle_dataset *test, const char *kind, const char *extra) {
    aisle_config *cfg;
    if (aisle_config_new(&cfg)) die("config");
    if (aisle_config_set(cfg, "model", kind)) die("model kind");
    if (extra && aisle_config_parse(cfg, extra)) die("options");
    row r = {0};
    double t0 = cpu_now();
    aisle_model *m;
    if (aisle_model_train(train, cfg, &m)) {
        snprintf(r.error, sizeof r.error, "%s", aisle_last_error());
        aisle_config_free(cfg);
        return r;
    }
    r.cpu = cpu_now() - t0;
    if (aisle_model_get_metric(m, "nonpositive_pairs", &r.nonpositive)) r.nonpositive = 0;
    if (aisle_model_get_metric(m, "capped_pairs", &r.capped)) r.capped = 0;
    aisle_eval_result *res;
    if (aisle_evaluate(m, test, cfg, &res)) die("evaluate");
    if (aisle_eval_result_get(res, "ndcg@10", &r.ndcg) || aisle_eval_result_get(res, "hr@10", &r.hr) ||
        aisle_eval_result_get(res, "coverage", &r.coverage))
        die("metrics");
    aisle_eval_result_free(res);
    aisle_model_free(m);
    aisle_config_free(cfg);
    return r;
}

int main(int argc, char **argv) {
    const char *root = getenv("AISLE_SHARED_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/online-retail/OnlineRetail.csv.gz", root ? root : "../shared/data");
    if (access(path, R_OK) != 0) {
        printf("bench_retail: skipped: %s not found (set AISLE_SHARED_DATA)\n", path);
        return 0;
    }
    aisle_config *load;
    if (aisle_config_new(&load) || aisle_config_set(load, "lenient", "true")) die("config");
    aisle_dataset *ds, *train, *test;
    if (aisle_dataset_new(&ds) || aisle_dataset_load(ds, path, load)) die(path);
    if (aisle_dataset_split_spec(ds, "time:30d", 42, &train, &test)) die("split");
    size_t ntr, nte;
    aisle_dataset_event_count(train, &ntr);
    aisle_dataset_event_count(test, &nte);
    printf("Online Retail, time split time:30d: %zu train events, %zu test events; defaults; metrics @10\n", ntr,
           nte);

    int n_kinds = aisle_model_kind_count();
    row pop = run(train, test, "popular", NULL);
    printf("%-10s %-22s %8s %8s %8s %9s %8s %11s %7s\n", "kind", "options", "NDCG", "HR", "coverage", "vs pop",
           "CPU s", "nonpositive", "capped");
    for (int k = 0; k < n_kinds; k++) {
        const char *kind;
        aisle_model_kind_info(k, &kind, NULL);
        bool chosen = argc < 2;
        for (int a = 1; a < argc; a++) chosen |= strcmp(argv[a], kind) == 0;
        if (!chosen) continue;
        /* keep the default run to minutes */
        const char *extra = argc < 2 && strcmp(kind, "sasrec") == 0 ? "epochs=3" : NULL;
        row r = strcmp(kind, "popular") == 0 ? pop : run(train, test, kind, extra);
        if (r.error[0]) {
            printf("%-10s %-22s refused: %.200s\n", kind, extra ? extra : "(defaults)", r.error);
            continue;
        }
        printf("%-10s %-22s %8.4f %8.4f %8.4f %8.2fx %8.2f %11.0f %7.0f\n", kind, extra ? extra : "(defaults)", r.ndcg, r.hr,
               r.coverage, pop.ndcg > 0 ? r.ndcg / pop.ndcg : 0, r.cpu, r.nonpositive, r.capped);
    }
    /* the weight rules: linear quantities against the default log scale */
    static const char *const rule_kinds[] = {"als", "itemknn", "bpr"};
    for (size_t k = 0; k < sizeof rule_kinds / sizeof *rule_kinds; k++) {
        bool chosen = argc < 2;
        for (int a = 1; a < argc; a++) chosen |= strcmp(argv[a], rule_kinds[k]) == 0;
        if (!chosen) continue;
        row r = run(train, test, rule_kinds[k], "weight_scale=linear");
        printf("%-10s %-22s %8.4f %8.4f %8.4f %8.2fx %8.2f %11.0f %7.0f\n", rule_kinds[k], "weight_scale=linear",
               r.ndcg, r.hr, r.coverage, pop.ndcg > 0 ? r.ndcg / pop.ndcg : 0, r.cpu, r.nonpositive, r.capped);
    }
    aisle_dataset_free(train);
    aisle_dataset_free(test);
    aisle_dataset_free(ds);
    aisle_config_free(load);
    return 0;
}
