/* bench_forecast.c - demand forecasting benchmarks (docs/FORECAST.md,
 * docs/BENCHMARKS.md).
 *
 *   1. UCI Online Retail (wall and CPU seconds per backtest), weekly demand of every product with >= 10 weeks
 *      with sales, up to the last complete week (2011-12-04); the last 8
 *      weeks are held out, rolling origin at 3 origins (8, 6 and 4 weeks
 *      before the end, each forecasting to the end): MASE, sMAPE, scaled
 *      pinball loss of p10/p90 and 80% interval coverage of seasonal naive,
 *      ETS, Croston, TSB, the global model and auto.
 *   2. Side by side: statsmodels' ExponentialSmoothing (additive damped
 *      trend, the Debian python3-statsmodels) on exactly the series and
 *      origins of part 1, through bench/forecast_statsmodels.py: MASE and
 *      sMAPE of the point forecasts and fitting seconds, against aisle's ETS
 *      in the same run.
 *   3. 100,000 synthetic weekly series x 3 years (smooth, seasonal and
 *      intermittent): train with method=auto and forecast 8 weeks of every
 *      series with threads=2, wall seconds.
 *
 * Usage: bench_forecast [part ...] with parts retail, statsmodels,
 * synthetic (default: all).  Data: AISLE_SHARED_DATA or ../shared/data;
 * parts needing it are skipped with a message when absent.  Only the
 * public API is used. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_forecast: %s: %s\n", what, aisle_last_error());
    exit(1);
}

static const char *data_dir(void) {
    const char *d = getenv("AISLE_SHARED_DATA");
    if (d && d[0]) return d;
    /* beside the checkout, or beside the folder of worktrees */
    return access("../shared/data", R_OK) == 0 ? "../shared/data" : "../../shared/data";
}

static const char *const retail_options =
    "period=week end_date=2011-12-04 min_sale_periods=10 horizon=8 backtest_origins=3 threads=2";
enum { HOLDOUT = 8, ORIGINS = 3 };

static aisle_dataset *load_retail(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/online-retail/OnlineRetail.csv.gz", data_dir());
    if (access(path, R_OK) != 0) {
        printf("skipped: %s not found (set AISLE_SHARED_DATA)\n", path);
        return NULL;
    }
    aisle_dataset *ds;
    aisle_config *cfg;
    if (aisle_dataset_new(&ds) || aisle_config_new(&cfg)) die("setup");
    /* every sale counts, also those without a customer id: the invoice stands in for the user */
    if (aisle_config_set(cfg, "columns", "user=InvoiceNo,item=StockCode,value=Quantity,time=InvoiceDate") ||
        aisle_config_set(cfg, "event", "purchase"))
        die("options");
    double t = now();
    if (aisle_dataset_load(ds, path, cfg)) die(path);
    size_t n;
    aisle_dataset_event_count(ds, &n);
    printf("loaded %zu events in %.1f s\n", n, now() - t);
    aisle_config_free(cfg);
    return ds;
}

static void part_retail(const aisle_dataset *ds) {
    static const char *const methods[] = {"snaive", "ets", "croston", "tsb", "global", "auto"};
    printf("\n== Online Retail weekly, holdout %d weeks, %d origins (%s)\n", HOLDOUT, ORIGINS, retail_options);
    printf("%-8s %8s %8s %9s %9s %9s %10s %8s %8s %8s\n", "method", "MASE", "sMAPE", "pinb p10", "pinb p90",
           "cover80", "MASE mean", "scored", "wall s", "CPU s");
    double mase_snaive = NAN, mase_global = NAN, cover_global = NAN;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        aisle_config *cfg;
        if (aisle_config_new(&cfg) || aisle_config_parse(cfg, retail_options) ||
            aisle_config_set(cfg, "method", methods[m]))
            die("options");
        aisle_forecast_report *rep;
        double c0 = cpu_now();
        if (aisle_forecast_backtest(ds, NULL, cfg, HOLDOUT, &rep)) die(methods[m]);
        double cpu = cpu_now() - c0;
        double v[9];
        static const char *const names[] = {"mase", "smape", "pinball_p10", "pinball_p90", "coverage_80",
                                            "mase_mean", "scored", "seconds"};
        for (int k = 0; k < 8; k++)
            if (aisle_forecast_report_get(rep, names[k], &v[k])) die(names[k]);
        printf("%-8s %8.4f %8.2f %9.4f %9.4f %9.4f %10.4f %8.0f %8.1f %8.1f\n", methods[m], v[0], v[1], v[2], v[3],
               v[4], v[5], v[6], v[7], cpu);
        if (!strcmp(methods[m], "snaive")) mase_snaive = v[0];
        if (!strcmp(methods[m], "global")) mase_global = v[0], cover_global = v[4];
        aisle_forecast_report_free(rep);
        aisle_config_free(cfg);
    }
    printf("global vs seasonal naive: MASE %.1f%% lower (aim >= 10%%); global 80%% coverage %.1f%% (aim 75-85%%)\n",
           100 * (1 - mase_global / mase_snaive), 100 * cover_global);
}


static void format_day(int64_t t, char *out, size_t len) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

typedef struct acc {
    double mase, smape;
    size_t series, points;
} acc;

/* MASE (scale: mean absolute one-step change of the training part) and
 * sMAPE of point forecasts f of actual values y[L..L+h), as the library's
 * backtest defines them. */
static void score(acc *a, const double *y, size_t L, const double *f, size_t h) {
    double scale = 0, ae = 0;
    for (size_t t = 1; t < L; t++) scale += fabs(y[t] - y[t - 1]);
    scale /= (double)(L - 1);
    for (size_t k = 0; k < h; k++) {
        double act = y[L + k], den = fabs(act) + fabs(f[k]);
        a->smape += den > 0 ? 200.0 * fabs(act - f[k]) / den : 0;
        a->points++;
        ae += fabs(act - f[k]);
    }
    a->mase += ae / (double)h / scale;
    a->series++;
}

/* Part 2: statsmodels vs aisle ETS on the same series and origins. */
static void part_statsmodels(const aisle_dataset *ds) {
    printf("\n== statsmodels ExponentialSmoothing vs aisle ETS, same series, origins %d/%d/%d weeks before the end\n",
           HOLDOUT, HOLDOUT - HOLDOUT / ORIGINS, HOLDOUT - 2 * (HOLDOUT / ORIGINS));
    if (system("/usr/bin/python3 -c 'import statsmodels' 2>/dev/null") != 0) {
        printf("skipped: /usr/bin/python3 with statsmodels not found (apt-get install python3-statsmodels)\n");
        return;
    }
    const char *script = "bench/forecast_statsmodels.py";
    if (access(script, R_OK) != 0) {
        printf("skipped: %s not found (run from the source tree)\n", script);
        return;
    }
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, retail_options) || aisle_config_set(cfg, "method", "snaive"))
        die("options");
    aisle_forecast *full;
    if (aisle_forecast_train(ds, NULL, cfg, &full)) die("train");
    aisle_config_free(cfg);
    size_t n_items;
    aisle_forecast_item_count(full, &n_items);
    const char *key0;
    int64_t next;
    aisle_forecast_item_key(full, 0, &key0);
    if (aisle_forecast_item(full, key0, 1, &next, NULL, NULL, NULL)) die("item");
    double **hist = calloc(n_items, sizeof *hist);
    size_t *len = calloc(n_items, sizeof *len);
    char in_path[] = "/tmp/aisle_bench_forecast_XXXXXX";
    int fd = mkstemp(in_path);
    if (!hist || !len || fd < 0) die("memory or temp file");
    FILE *in = fdopen(fd, "w");
    for (size_t i = 0; i < n_items; i++) {
        const char *key;
        aisle_forecast_item_key(full, i, &key);
        hist[i] = malloc(200 * sizeof **hist);
        if (aisle_forecast_history(full, key, hist[i], 200, &len[i], NULL)) die("history");
    }
    /* our ETS at each origin: trained on the data up to it (one thread, CPU seconds) */
    double ours_cpu = 0;
    acc ours = {0}, peer = {0};
    double *f = malloc(HOLDOUT * sizeof *f);
    double **ours_f = calloc(n_items * ORIGINS, sizeof *ours_f);
    size_t fits = 0;
    for (int o = 0; o < ORIGINS; o++) {
        int drop = HOLDOUT - o * (HOLDOUT / ORIGINS);
        char end[16], text[64];
        format_day(next - (int64_t)(drop + 1) * 7 * 86400 + 6 * 86400, end, sizeof end); /* the Sunday ending the origin's week */
        aisle_forecast *fc;
        if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "period=week horizon=8 threads=1 method=ets")) die("options");
        snprintf(text, sizeof text, "end_date=%s", end);
        if (aisle_config_parse(cfg, text)) die(text);
        double c0 = cpu_now();
        if (aisle_forecast_train(ds, NULL, cfg, &fc)) die("ets train");
        ours_cpu += cpu_now() - c0;
        for (size_t i = 0; i < n_items; i++) {
            const char *key;
            aisle_forecast_item_key(full, i, &key);
            if (len[i] < (size_t)drop + 2) continue;
            size_t L = len[i] - (size_t)drop;
            double scale = 0;
            for (size_t t = 1; t < L; t++) scale += fabs(hist[i][t] - hist[i][t - 1]);
            if (scale <= 0) continue;
            double *mine = malloc((size_t)drop * sizeof *mine);
            c0 = cpu_now();
            if (aisle_forecast_mean(fc, key, (size_t)drop, mine)) die(key);
            ours_cpu += cpu_now() - c0;
            ours_f[i * ORIGINS + o] = mine;
            score(&ours, hist[i], L, mine, (size_t)drop);
            fprintf(in, "%zu:%d %d", i, o, drop);
            for (size_t t = 0; t < L; t++) fprintf(in, " %g", hist[i][t]);
            fputc('\n', in);
            fits++;
        }
        aisle_forecast_free(fc);
        aisle_config_free(cfg);
    }
    fclose(in);
    char out_path[64], cmd[512];
    snprintf(out_path, sizeof out_path, "%s.out", in_path);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", script, in_path, out_path);
    double w0 = now();
    if (system(cmd) != 0) die("statsmodels script failed");
    double peer_wall = now() - w0, peer_cpu = NAN;
    FILE *out = fopen(out_path, "r");
    if (!out) die(out_path);
    char line[8192];
    while (fgets(line, sizeof line, out)) {
        if (!strncmp(line, "seconds ", 8)) {
            peer_cpu = atof(line + 8);
            continue;
        }
        size_t i;
        int o;
        char *p = line;
        i = strtoul(p, &p, 10);
        o = (int)strtol(p + 1, &p, 10);
        int drop = HOLDOUT - o * (HOLDOUT / ORIGINS);
        for (int k = 0; k < drop; k++) f[k] = strtod(p, &p);
        score(&peer, hist[i], len[i] - (size_t)drop, f, (size_t)drop);
    }
    fclose(out);
    remove(in_path);
    remove(out_path);
    printf("%-34s %8s %8s %10s %12s\n", "", "MASE", "sMAPE", "CPU s", "fits/s");
    printf("%-34s %8.4f %8.2f %10.2f %12.0f\n", "aisle ETS (AIC over N/A/Ad trend)", ours.mase / ours.series,
           ours.smape / ours.points, ours_cpu, fits / ours_cpu);
    printf("%-34s %8.4f %8.2f %10.2f %12.0f  (wall %.1f s with start-up)\n", "statsmodels ETS (damped trend)",
           peer.mase / peer.series, peer.smape / peer.points, peer_cpu, fits / peer_cpu, peer_wall);
    printf("%zu series-origins each; aisle's seconds include fitting every product at each origin, interval "
           "calibration and forecasting; aisle %.1fx faster, MASE %+.1f%%\n",
           fits, peer_cpu / ours_cpu, 100 * (ours.mase / ours.series / (peer.mase / peer.series) - 1));
    for (size_t i = 0; i < n_items * ORIGINS; i++) free(ours_f[i]);
    for (size_t i = 0; i < n_items; i++) free(hist[i]);
    free(ours_f);
    free(hist);
    free(len);
    free(f);
    aisle_forecast_free(full);
}

/* Part 3: 100,000 synthetic weekly series x 3 years. */
typedef struct syn_ctx {
    const aisle_forecast *fc;
    size_t begin, end;
    int failed;
} syn_ctx;

static void *syn_forecast(void *arg) {
    syn_ctx *c = arg;
    double q[3][8];
    for (size_t i = c->begin; i < c->end; i++) {
        const char *key;
        if (aisle_forecast_item_key(c->fc, i, &key) || aisle_forecast_item(c->fc, key, 8, NULL, q[0], q[1], q[2]))
            c->failed = 1;
    }
    return NULL;
}

static void part_synthetic(size_t n_series) {
    enum { WEEKS = 156 };
    printf("\n== %zu synthetic weekly series x 3 years (%d weeks): method=auto, threads=2, then 8-week forecasts of "
           "every series on 2 threads\n", n_series, WEEKS);
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) die("dataset");
    uint64_t x = 88172645463325252ull;
    const int64_t start = 1609718400; /* Monday 2021-01-04 */
    size_t events = 0;
    double t0 = now();
    for (size_t i = 0; i < n_series; i++) {
        char key[32];
        snprintf(key, sizeof key, "s%zu", i);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double level = 0.5 + (double)(x % 4000) / 100.0, slope = ((double)(x >> 20 & 1023) - 512) / 51200.0;
        int intermittent = (x >> 40) % 2 == 0;
        for (int w = 0; w < WEEKS; w++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            double u = (double)(x >> 11) * 0x1.0p-53;
            double mu = level * (1 + slope * w) * (1 + 0.3 * sin(2 * M_PI * w / 52.0));
            double v = intermittent ? (u < 0.2 ? 1 + floor(4 * u / 0.2) : 0) : floor(mu * (0.6 + 0.8 * u));
            if (w == 0 && v <= 0) v = 1; /* every series starts in week 0 */
            if (v <= 0) continue;
            if (aisle_dataset_add_event(ds, "u", key, "purchase", v, start + (int64_t)w * 7 * 86400 + 3600)) die("event");
            events++;
        }
    }
    printf("generated %zu events in %.1f s\n", events, now() - t0);
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "period=week horizon=8 method=auto threads=2")) die("options");
    t0 = now();
    double c0 = cpu_now();
    aisle_forecast *fc;
    if (aisle_forecast_train(ds, NULL, cfg, &fc)) die("train");
    double train_s = now() - t0;
    size_t n;
    aisle_forecast_item_count(fc, &n);
    pthread_t th[2];
    syn_ctx ctx[2] = {{fc, 0, n / 2, 0}, {fc, n / 2, n, 0}};
    double t1 = now();
    for (int k = 0; k < 2; k++)
        if (pthread_create(&th[k], NULL, syn_forecast, &ctx[k])) die("thread");
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    if (ctx[0].failed || ctx[1].failed) die("forecast");
    double fc_s = now() - t1, total = now() - t0, cpu = cpu_now() - c0;
    char desc[1024];
    aisle_forecast_describe(fc, desc, sizeof desc, NULL);
    printf("%s", desc);
    printf("train %.1f s + forecast %.1f s = %.1f s wall (%.1f CPU s) for %zu series (aim: under 60 s on 2 cores)\n",
           train_s, fc_s, total, cpu, n);
    aisle_forecast_free(fc);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(int argc, char **argv) {
    int all = argc < 2;
    int want_retail = all, want_sm = all, want_syn = all;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "retail")) want_retail = 1;
        else if (!strcmp(argv[i], "statsmodels")) want_sm = 1;
        else if (!strcmp(argv[i], "synthetic")) want_syn = 1;
        else {
            fprintf(stderr, "usage: bench_forecast [retail] [statsmodels] [synthetic]\n");
            return 2;
        }
    }
    if (want_retail || want_sm) {
        aisle_dataset *ds = load_retail();
        if (ds && want_retail) part_retail(ds);
        if (ds && want_sm) part_statsmodels(ds);
        aisle_dataset_free(ds);
    }
    if (want_syn) {
        const char *n = getenv("AISLE_BENCH_SERIES");
        part_synthetic(n && atol(n) > 0 ? (size_t)atol(n) : 100000);
    }
    fflush(stdout);
    return 0;
}
