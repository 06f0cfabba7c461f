/* test_forecast.c - demand forecasting: calendar, series building (gaps,
 * returns, future dates, one sale, no time), each method on series whose
 * answer is known, interval calibration, the global model against seasonal
 * naive, categories, reorder, explain, save/load, bad arguments and
 * thread-count independence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/forecast.h"
#include "util/test_util.h"

#define DAY 86400
/* 2024-01-01 was a Monday. */
static const int64_t JAN1_2024 = 1704067200;

static aisle_config *conf(const char *text) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    if (text) assert_ok(aisle_config_parse(cfg, text));
    return cfg;
}

static aisle_forecast *train(const aisle_dataset *ds, const aisle_catalog *cat, const char *options) {
    aisle_config *cfg = conf(options);
    aisle_forecast *fc = NULL;
    assert_ok(aisle_forecast_train(ds, cat, cfg, &fc));
    aisle_config_free(cfg);
    return fc;
}

static void add(aisle_dataset *ds, const char *item, double qty, int64_t t) {
    assert_ok(aisle_dataset_add_event(ds, "u", item, "purchase", qty, t));
}

/* A panel of weekly series: level, trend, yearly-ish season, noise, and
 * some intermittent sellers; deterministic. */
static aisle_dataset *panel(int n_items, int weeks, uint64_t seed) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    core_rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n_items; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        double level = 2 + 30 * rng_double(&r), slope = (rng_double(&r) - 0.5) * 0.2;
        int intermittent = i % 4 == 3;
        for (int w = 0; w < weeks; w++) {
            double mu = level + slope * w + 0.3 * level * sin(2 * M_PI * w / 13.0);
            double v = mu + rng_normal(&r) * sqrt(mu > 1 ? mu : 1);
            if (intermittent) v = rng_double(&r) < 0.25 ? 1 + floor(4 * rng_double(&r)) : 0;
            v = floor(v > 0 ? v : 0);
            if (v > 0) add(ds, key, v, JAN1_2024 + (int64_t)w * 7 * DAY + 3600 * (i % 20));
        }
        /* every series sells in week 0 so all start together */
        add(ds, key, 1, JAN1_2024);
    }
    return ds;
}

static void test_calendar_weeks_start_on_monday(void **state) {
    (void)state;
    int64_t day = JAN1_2024 / DAY; /* Monday */
    assert_int_equal(fc_day_of_week(day), 0);
    for (int k = 0; k < 7; k++) assert_int_equal(fc_period_of_day(FC_PERIOD_WEEK, day + k), fc_period_of_day(FC_PERIOD_WEEK, day));
    assert_int_equal(fc_period_of_day(FC_PERIOD_WEEK, day - 1) + 1, fc_period_of_day(FC_PERIOD_WEEK, day));
    assert_int_equal(fc_period_first_day(FC_PERIOD_WEEK, fc_period_of_day(FC_PERIOD_WEEK, day + 5)), day);
    /* before the epoch too: 1969-12-29 was a Monday */
    assert_int_equal(fc_period_first_day(FC_PERIOD_WEEK, fc_period_of_day(FC_PERIOD_WEEK, -2)), -3);
    assert_int_equal(fc_week_of_year(day), 1);
    assert_int_equal(fc_week_of_year(day - 1), 52); /* 2023-12-31 */
    int y, m, d;
    fc_civil(day + 59, &y, &m, &d); /* 2024 is a leap year */
    assert_true(y == 2024 && m == 2 && d == 29);
}

static void test_series_gaps_returns_future_and_one_sale(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    add(ds, "A", 5, JAN1_2024);                 /* week 0 */
    add(ds, "A", 2, JAN1_2024 + 6 * DAY);       /* week 0 (Sunday) */
    add(ds, "A", 4, JAN1_2024 + 21 * DAY);      /* week 3: weeks 1-2 are gaps */
    add(ds, "A", -9, JAN1_2024 + 22 * DAY);     /* returns exceed the week's sales */
    add(ds, "A", 3, JAN1_2024 + 28 * DAY);      /* week 4 */
    add(ds, "B", 1, JAN1_2024 + 14 * DAY);      /* one sale */
    add(ds, "C", 10, JAN1_2024 + 400 * DAY);    /* after end_date: ignored */
    aisle_forecast *fc = train(ds, NULL, "period=week end_date=2024-02-01 method=snaive");
    double v[8];
    size_t n;
    int64_t first;
    assert_ok(aisle_forecast_history(fc, "A", v, 8, &n, &first));
    assert_int_equal(n, 5);
    assert_int_equal(first, JAN1_2024);
    assert_true(v[0] == 7 && v[1] == 0 && v[2] == 0 && v[3] == 0 && v[4] == 3);
    assert_ok(aisle_forecast_history(fc, "B", v, 8, &n, &first));
    assert_int_equal(n, 3);
    assert_true(v[0] == 1 && v[1] == 0 && v[2] == 0);
    assert_status_msg(aisle_forecast_history(fc, "C", v, 8, &n, NULL), AISLE_ENOTFOUND, "unknown item 'C'");
    char text[512];
    assert_ok(aisle_forecast_describe(fc, text, sizeof text, NULL));
    assert_non_null(strstr(text, "future events ignored 1"));
    assert_non_null(strstr(text, "clamped to 0 after returns 1"));
    /* forecasts of a one-sale product are defined and ordered */
    int64_t start[3];
    double p10[3], p50[3], p90[3];
    assert_ok(aisle_forecast_item(fc, "B", 3, start, p10, p50, p90));
    for (int h = 0; h < 3; h++) {
        assert_true(p10[h] >= 0 && p10[h] <= p50[h] && p50[h] <= p90[h]);
        assert_int_equal(start[h], JAN1_2024 + (int64_t)(5 + h) * 7 * DAY);
    }
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
}

static void test_bad_input_gets_clear_errors(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    aisle_config *cfg = conf(NULL);
    aisle_forecast *fc = NULL;
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "no events");
    add(ds, "A", 1, 0);
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "no time");
    aisle_dataset_free(ds);
    assert_ok(aisle_dataset_new(&ds));
    add(ds, "A", 1, JAN1_2024);
    assert_status_msg(aisle_config_set(cfg, "period", "month"), AISLE_EINVAL, "period");
    assert_ok(aisle_config_set(cfg, "holidays", "2024-12-25,Xmas"));
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "'Xmas'");
    assert_ok(aisle_config_set(cfg, "holidays", ""));
    assert_ok(aisle_config_set(cfg, "end_date", "tomorrow"));
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "end_date");
    assert_ok(aisle_config_set(cfg, "end_date", ""));
    assert_ok(aisle_config_set_int(cfg, "min_sale_periods", 2));
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "min_sale_periods");
    assert_ok(aisle_config_set(cfg, "min_sale_periods", "1"));
    assert_ok(aisle_config_set(cfg, "method", "global"));
    assert_status_msg(aisle_forecast_train(ds, NULL, cfg, &fc), AISLE_EINVAL, "too short");
    assert_null(fc);
    assert_ok(aisle_config_set(cfg, "method", "auto")); /* auto falls back to local models */
    assert_ok(aisle_forecast_train(ds, NULL, cfg, &fc));
    double p[2];
    assert_status_msg(aisle_forecast_item(fc, "A", 0, NULL, p, p, p), AISLE_ERANGE, "horizon");
    assert_status_msg(aisle_forecast_item(fc, NULL, 1, NULL, p, p, p), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_forecast_item(NULL, "A", 1, NULL, p, p, p), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_forecast_category(fc, "none", 1, NULL, p, p, p), AISLE_ENOTFOUND, "category");
    assert_status_msg(aisle_forecast_reorder(fc, "A", 0, 1, 0.9, 0, p, p + 1), AISLE_ERANGE, "lead time");
    assert_status_msg(aisle_forecast_reorder(fc, "A", 1, 1, 1.0, 0, p, p + 1), AISLE_ERANGE, "service level");
    assert_status_msg(aisle_forecast_reorder(fc, "A", 1, 1, 0.9, NAN, p, p + 1), AISLE_EINVAL, "stock");
    assert_status_msg(aisle_forecast_explain(fc, "A", 0, NULL, NULL, 0, (size_t[1]){0}), AISLE_ERANGE, "period");
    aisle_forecast_free(fc);
    aisle_forecast_free(NULL);
    aisle_forecast_report_free(NULL);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_all_zero_series_forecasts_zero(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    add(ds, "A", 4, JAN1_2024);
    add(ds, "A", -4, JAN1_2024 + DAY); /* fully returned */
    add(ds, "A", 0, JAN1_2024 + 9 * DAY);
    add(ds, "B", 2, JAN1_2024 + 10 * DAY);
    /* A has no period with sales: min_sale_periods=1 leaves it out */
    aisle_forecast *fc = train(ds, NULL, "period=week");
    double p[2];
    assert_status_msg(aisle_forecast_item(fc, "A", 2, NULL, p, p, p), AISLE_ENOTFOUND, NULL);
    aisle_forecast_free(fc);
    /* a product whose demand is zero at the end still gets defined forecasts */
    aisle_dataset_free(ds);
    assert_ok(aisle_dataset_new(&ds));
    add(ds, "Z", 1, JAN1_2024);
    add(ds, "Z", -1, JAN1_2024 + 1);
    add(ds, "Y", 1, JAN1_2024);
    add(ds, "Y", 1, JAN1_2024 + 20 * DAY);
    fc_series S;
    aisle_config *cfg = conf("period=day");
    assert_ok(fc_series_build(ds, NULL, cfg, &S));
    assert_int_equal(S.n_items, 1); /* Z has no sales left */
    fc_series_free(&S);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_seasonal_naive_repeats_the_season(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    static const double week[7] = {5, 3, 3, 4, 8, 12, 1};
    for (int d = 0; d < 28; d++) add(ds, "A", week[d % 7], JAN1_2024 + (int64_t)d * DAY + 600);
    aisle_forecast *fc = train(ds, NULL, "period=day method=snaive");
    double mean[10], p10[10], p90[10];
    assert_ok(aisle_forecast_mean(fc, "A", 10, mean));
    assert_ok(aisle_forecast_item(fc, "A", 10, NULL, p10, NULL, p90));
    for (int h = 0; h < 10; h++) {
        assert_true(fabs(mean[h] - week[h % 7]) < 1e-9);
        assert_true(p10[h] <= mean[h] + 1e-9 && mean[h] <= p90[h] + 1e-9); /* exact history: zero-width errors */
    }
    const char *method;
    assert_ok(aisle_forecast_method(fc, "A", &method));
    assert_string_equal(method, "snaive");
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
}

static void test_ets_follows_level_trend_and_season(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int w = 0; w < 40; w++) add(ds, "trend", 10 + 2.0 * w, JAN1_2024 + (int64_t)w * 7 * DAY);
    for (int w = 0; w < 40; w++) add(ds, "flat", 7, JAN1_2024 + (int64_t)w * 7 * DAY);
    for (int w = 0; w < 40; w++) add(ds, "season", 20 + 6 * ((w % 4) - 1.5), JAN1_2024 + (int64_t)w * 7 * DAY);
    aisle_forecast *fc = train(ds, NULL, "period=week method=ets season_length=4 horizon=4");
    double mean[6];
    assert_ok(aisle_forecast_mean(fc, "trend", 6, mean));
    for (int h = 0; h < 6; h++) assert_true(fabs(mean[h] - (10 + 2.0 * (40 + h))) < 0.5);
    assert_ok(aisle_forecast_mean(fc, "flat", 6, mean));
    for (int h = 0; h < 6; h++) assert_true(fabs(mean[h] - 7) < 1e-3);
    assert_ok(aisle_forecast_mean(fc, "season", 6, mean));
    for (int h = 0; h < 6; h++) assert_true(fabs(mean[h] - (20 + 6 * (((40 + h) % 4) - 1.5))) < 0.5);
    /* explain: the parts add up to the mean forecast */
    const char *names[5];
    double parts[5];
    size_t n;
    assert_ok(aisle_forecast_explain(fc, "trend", 3, names, parts, 5, &n));
    assert_int_equal(n, 5);
    assert_string_equal(names[1], "trend");
    assert_ok(aisle_forecast_mean(fc, "trend", 3, mean));
    assert_true(fabs(parts[0] + parts[1] + parts[2] + parts[3] + parts[4] - mean[2]) < 1e-3);
    assert_true(fabs(parts[1] - 6) < 0.5); /* three periods of +2 on top of the level */
    assert_ok(aisle_forecast_explain(fc, "season", 1, names, parts, 5, &n));
    assert_true(fabs(parts[2]) > 3); /* the season part drives it */
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
}

static void test_croston_and_tsb_forecast_the_demand_rate(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int w = 0; w < 60; w++)
        if (w % 4 == 0) add(ds, "slow", 6, JAN1_2024 + (int64_t)w * 7 * DAY);
    const char *methods[] = {"croston", "tsb", "auto"};
    for (int k = 0; k < 3; k++) {
        char opts[64];
        /* auto picks TSB for an intermittent series too short for the global model */
        snprintf(opts, sizeof opts, "period=week method=%s%s", methods[k], k == 2 ? " horizon=60" : "");
        aisle_forecast *fc = train(ds, NULL, opts);
        double mean[3];
        assert_ok(aisle_forecast_mean(fc, "slow", 3, mean));
        for (int h = 0; h < 3; h++)
            if (fabs(mean[h] - 1.5) > 0.45) fail_msg("%s: forecast %g, demand rate 1.5", methods[k], mean[h]);
        const char *m;
        assert_ok(aisle_forecast_method(fc, "slow", &m));
        assert_string_equal(m, k == 0 ? "croston" : "tsb"); 
        aisle_forecast_free(fc);
    }
    aisle_dataset_free(ds);
}

static double backtest_figure(const aisle_dataset *ds, const char *options, size_t holdout, const char *name) {
    aisle_config *cfg = conf(options);
    aisle_forecast_report *rep;
    assert_ok(aisle_forecast_backtest(ds, NULL, cfg, holdout, &rep));
    double v;
    assert_ok(aisle_forecast_report_get(rep, name, &v));
    size_t n;
    assert_ok(aisle_forecast_report_count(rep, &n));
    assert_true(n >= 10);
    assert_status_msg(aisle_forecast_report_get(rep, "nope", &v), AISLE_ENOTFOUND, "nope");
    assert_ok(aisle_forecast_report_get(rep, name, &v));
    aisle_forecast_report_free(rep);
    aisle_config_free(cfg);
    return v;
}

static void test_global_model_beats_seasonal_naive_and_intervals_cover(void **state) {
    (void)state;
    aisle_dataset *ds = panel(160, 70, 7);
    const char *base = "period=week horizon=6 forecast_trees=40 threads=2 backtest_origins=2";
    char opts[256];
    snprintf(opts, sizeof opts, "%s method=snaive", base);
    double snaive = backtest_figure(ds, opts, 6, "mase");
    snprintf(opts, sizeof opts, "%s method=global", base);
    double global = backtest_figure(ds, opts, 6, "mase");
    double cover = backtest_figure(ds, opts, 6, "coverage_80");
    if (!(global < 0.9 * snaive)) fail_msg("global MASE %.3f vs seasonal naive %.3f", global, snaive);
    if (cover < 0.65 || cover > 0.95) fail_msg("global 80%% interval coverage %.3f", cover);
    snprintf(opts, sizeof opts, "%s method=ets", base);
    cover = backtest_figure(ds, opts, 6, "coverage_80");
    if (cover < 0.65 || cover > 0.95) fail_msg("ets 80%% interval coverage %.3f", cover);
    aisle_dataset_free(ds);
}

static void test_results_do_not_depend_on_threads_and_survive_save_load(void **state) {
    (void)state;
    aisle_dataset *ds = panel(60, 40, 11);
    aisle_forecast *a = train(ds, NULL, "period=week horizon=4 forecast_trees=20 threads=1");
    aisle_forecast *b = train(ds, NULL, "period=week horizon=4 forecast_trees=20 threads=2");
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "forecast");
    snprintf(path, sizeof path, "%s/f.aisle", dir);
    assert_ok(aisle_forecast_save(a, path, NULL));
    aisle_forecast *c;
    assert_ok(aisle_forecast_load(&c, path, NULL));
    void *img;
    size_t len;
    assert_ok(aisle_forecast_save_buffer(c, NULL, &img, &len));
    aisle_forecast *d;
    assert_ok(aisle_forecast_load_buffer(&d, img, len, NULL));
    aisle_free(img);
    size_t n;
    assert_ok(aisle_forecast_item_count(a, &n));
    assert_int_equal(n, 60);
    aisle_forecast *all[4] = {a, b, c, d};
    for (size_t i = 0; i < n; i++) {
        const char *key;
        assert_ok(aisle_forecast_item_key(a, i, &key));
        double q[4][3][6];
        int64_t st[4][6];
        for (int k = 0; k < 4; k++) assert_ok(aisle_forecast_item(all[k], key, 6, st[k], q[k][0], q[k][1], q[k][2]));
        for (int k = 1; k < 4; k++) {
            assert_memory_equal(q[0], q[k], sizeof q[0]);
            assert_memory_equal(st[0], st[k], sizeof st[0]);
        }
        const char *m1, *m2;
        assert_ok(aisle_forecast_method(a, key, &m1));
        assert_ok(aisle_forecast_method(d, key, &m2));
        assert_string_equal(m1, m2);
    }
    /* a recommender file is not a forecast, and vice versa */
    aisle_model *rec = tu_train(ds, "model=popular");
    assert_ok(aisle_model_save(rec, path, NULL));
    aisle_forecast *e = NULL;
    assert_status_msg(aisle_forecast_load(&e, path, NULL), AISLE_EINVAL, "not a forecast");
    assert_null(e);
    aisle_model_free(rec);
    for (int k = 0; k < 4; k++) aisle_forecast_free(all[k]);
    aisle_dataset_free(ds);
}

static void test_global_explain_adds_up_to_the_median(void **state) {
    (void)state;
    aisle_dataset *ds = panel(80, 50, 3);
    aisle_forecast *fc = train(ds, NULL, "period=week horizon=4 forecast_trees=30 method=global");
    const char *names[5];
    double parts[5], p50[2];
    size_t n;
    int checked = 0;
    for (int i = 0; i < 80; i += 7) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        assert_ok(aisle_forecast_item(fc, key, 2, NULL, NULL, p50, NULL));
        assert_ok(aisle_forecast_explain(fc, key, 2, names, parts, 5, &n));
        double sum = parts[0] + parts[1] + parts[2] + parts[3] + parts[4];
        if (p50[1] > 0.5) { /* not clipped at 0 and not reordered */
            if (fabs(sum - p50[1]) > 1e-3 * (1 + p50[1])) fail_msg("%s: parts %g, median %g", key, sum, p50[1]);
            checked++;
        }
    }
    assert_true(checked > 3);
    assert_string_equal(names[4], "price");
    assert_true(parts[4] == 0); /* no catalog, no price */
    assert_status_msg(aisle_forecast_explain(fc, "p1", 1, names, parts, 2, &n), AISLE_ERANGE, NULL);
    assert_int_equal(n, 5);
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
}

static void test_categories_sum_their_products(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int d = 0; d < 21; d++) {
        add(ds, "a", 1 + d % 7, JAN1_2024 + (int64_t)d * DAY);
        add(ds, "b", 2, JAN1_2024 + (int64_t)d * DAY);
        add(ds, "c", 5, JAN1_2024 + (int64_t)d * DAY);
    }
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    assert_ok(aisle_catalog_add_item(cat, "a", "A", NULL, "Toys", NULL, 9.5));
    assert_ok(aisle_catalog_add_item(cat, "b", "B", NULL, "Toys", NULL, 3));
    assert_ok(aisle_catalog_add_item(cat, "c", "C", NULL, "Garden", NULL, 1));
    aisle_forecast *fc = train(ds, cat, "period=day method=snaive");
    size_t n;
    assert_ok(aisle_forecast_category_count(fc, &n));
    assert_int_equal(n, 2);
    const char *key;
    assert_ok(aisle_forecast_category_key(fc, 0, &key));
    assert_string_equal(key, "Toys");
    double a[9], b[9], t[9];
    assert_ok(aisle_forecast_item(fc, "a", 9, NULL, NULL, a, NULL));
    assert_ok(aisle_forecast_item(fc, "b", 9, NULL, NULL, b, NULL));
    assert_ok(aisle_forecast_category(fc, "Toys", 9, NULL, NULL, t, NULL));
    for (int h = 0; h < 9; h++) assert_true(fabs(t[h] - a[h] - b[h]) < 1e-4); /* seasonal naive is linear */
    aisle_forecast_free(fc);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

static void test_reorder_point_and_quantity(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int w = 0; w < 30; w++) add(ds, "steady", 10, JAN1_2024 + (int64_t)w * 7 * DAY);
    aisle_forecast *fc = train(ds, NULL, "period=week method=snaive");
    double rop, qty;
    /* constant demand: no uncertainty, so the formula reduces to the means */
    assert_ok(aisle_forecast_reorder(fc, "steady", 2, 1, 0.95, 12, &rop, &qty));
    assert_true(fabs(rop - 20) < 1e-6);
    assert_true(fabs(qty - (30 - 12)) < 1e-6);
    assert_ok(aisle_forecast_reorder(fc, "steady", 1.5, 0, 0.95, 100, &rop, &qty));
    assert_true(fabs(rop - 15) < 1e-6);
    assert_true(qty == 0);
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
    /* with uncertainty a higher service level asks for more stock */
    ds = panel(40, 40, 5);
    fc = train(ds, NULL, "period=week method=ets");
    double r90, r99, q90, q99;
    assert_ok(aisle_forecast_reorder(fc, "p1", 2, 1, 0.90, 0, &r90, &q90));
    assert_ok(aisle_forecast_reorder(fc, "p1", 2, 1, 0.99, 0, &r99, &q99));
    assert_true(r99 > r90 && q99 > q90 && q90 > r90);
    aisle_forecast_free(fc);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_weeks_start_on_monday),
        cmocka_unit_test(test_series_gaps_returns_future_and_one_sale),
        cmocka_unit_test(test_bad_input_gets_clear_errors),
        cmocka_unit_test(test_all_zero_series_forecasts_zero),
        cmocka_unit_test(test_seasonal_naive_repeats_the_season),
        cmocka_unit_test(test_ets_follows_level_trend_and_season),
        cmocka_unit_test(test_croston_and_tsb_forecast_the_demand_rate),
        cmocka_unit_test(test_global_model_beats_seasonal_naive_and_intervals_cover),
        cmocka_unit_test(test_results_do_not_depend_on_threads_and_survive_save_load),
        cmocka_unit_test(test_global_explain_adds_up_to_the_median),
        cmocka_unit_test(test_categories_sum_their_products),
        cmocka_unit_test(test_reorder_point_and_quantity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
