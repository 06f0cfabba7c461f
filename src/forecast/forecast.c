/* forecast.c - training (method per series, local fits, the global model,
 * interval calibration), forecasts, reorder quantities and explanations
 * behind the public aisle_forecast_* functions (docs/FORECAST.md). */
#include "forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double fc_taus[FC_NQ] = {0.1, 0.5, 0.9};

static const char *const method_names[FC_N_METHODS] = {"snaive", "ets", "croston", "tsb", "global", "zero"};

const char *fc_method_name(int method) {
    return method >= 0 && method < FC_N_METHODS ? method_names[method] : "auto";
}

int fc_resolve_method(const char *name) {
    if (!strcmp(name, "auto")) return FC_AUTO;
    for (int m = 0; m < FC_N_METHODS - 1; m++)
        if (!strcmp(name, method_names[m])) return m;
    return -1;
}

/* Syntetos-Boylan-Croston classification: series whose average interval
 * between sales exceeds 1.32 periods are intermittent. */
static int is_intermittent(const float *y, uint32_t n) {
    uint32_t nz = 0;
    for (uint32_t i = 0; i < n; i++) nz += y[i] > 0;
    return nz == 0 || (double)n / nz > 1.32;
}

static void forecast_release(aisle_forecast *fc) {
    if (fc->local)
        for (uint32_t s = 0; s < fc->S.n; s++) fc_local_free(&fc->local[s]);
    core_free(fc->local);
    core_free(fc->method);
    fc_global_free(&fc->global);
    for (int m = 0; m < FC_N_METHODS; m++) core_free(fc->qt[m].q);
    fc_series_free(&fc->S);
}

AISLE_API void aisle_forecast_free(aisle_forecast *fc) {
    if (!fc) return;
    forecast_release(fc);
    core_free(fc);
}

/* ---- training ---- */

/* Interval calibration: each series' model, fitted without its last C
 * values, forecasts C periods from CAL_ORIGINS origins (the first after
 * the fitting window, then C/2 apart going back); errors are kept in
 * units of the series' scale and pooled over series per method and
 * horizon. */
enum { CAL_ORIGINS = 4 };

typedef struct fit_ctx {
    aisle_forecast *fc;
    uint32_t calib;
    float *err; /* n x CAL_ORIGINS x calib scaled calibration errors (NaN: none) */
} fit_ctx;

static int fit_range(void *vctx, size_t begin, size_t end, int tid) {
    fit_ctx *c = vctx;
    aisle_forecast *fc = c->fc;
    const fc_series *S = &fc->S;
    double mean[1000]; /* C <= 1000 (option horizon) */
    for (size_t s = begin; s < end; s++) {
        const float *y = S->values + S->off[s];
        uint32_t n = S->len[s], C = c->calib;
        float *err = c->err + s * C * CAL_ORIGINS;
        for (uint32_t k = 0; k < C * CAL_ORIGINS; k++) err[k] = NAN;
        int method = fc->method[s];
        if (method == FC_GLOBAL) { /* the local slot keeps only the scale (the file format wants one) */
            fc->local[s].method = FC_ZERO;
            fc->local[s].scale = fc_series_scale(y, n);
            continue;
        }
        uint32_t n_fit = n >= C + 4 ? n - C : n;
        int rc = fc_local_fit(y, n, n_fit, method, fc->season, &fc->local[s]);
        if (rc) return rc;
        const fc_local *f = &fc->local[s];
        fc->method[s] = f->method; /* all-zero series become FC_ZERO */
        if (n_fit == n || f->method == FC_ZERO) continue;
        uint32_t step = C / 2 ? C / 2 : 1;
        for (uint32_t j = 0; j < CAL_ORIGINS; j++) {
            if ((uint64_t)j * step + 2 > n_fit) break;
            uint32_t o = n_fit - j * step, H = n - o < C ? n - o : C;
            fc_local_forecast_from(f, y, o, H, mean);
            for (uint32_t h = 0; h < H; h++) err[j * C + h] = (float)((y[o + h] - mean[h]) / f->scale);
        }
    }
    return AISLE_OK;
}

static int cmp_f32(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float sorted_quantile(const float *v, size_t n, double tau) {
    double pos = tau * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    double f = pos - (double)i;
    return (float)(i + 1 < n ? v[i] * (1 - f) + v[i + 1] * f : v[n - 1]);
}

/* Scaled residual quantiles per method and horizon from the calibration
 * errors: per horizon when it has >= 30 errors, else pooled over horizons
 * (widened by sqrt(h / mean horizon)), else +-1 series scale. */
static int make_qtables(aisle_forecast *fc, const float *err, uint32_t C) {
    const fc_series *S = &fc->S;
    const uint32_t K = CAL_ORIGINS;
    float *buf = core_malloc(((size_t)S->n * C * K + 1) * sizeof *buf);
    if (!buf) return core_oom("forecast intervals");
    int rc = AISLE_OK;
    for (int m = 0; m < FC_N_METHODS && !rc; m++) {
        if (m == FC_GLOBAL) continue;
        fc_qtable *t = &fc->qt[m];
        t->horizon = C;
        t->q = core_malloc((size_t)C * FC_NQ * sizeof *t->q);
        if (!t->q) {
            rc = core_oom("forecast intervals");
            break;
        }
        size_t np = 0;
        for (uint32_t s = 0; s < S->n; s++)
            if (fc->method[s] == m)
                for (uint32_t k = 0; k < C * K; k++)
                    if (!isnan(err[(size_t)s * C * K + k])) buf[np++] = err[(size_t)s * C * K + k];
        float pooled[FC_NQ] = {-1, 0, 1};
        if (np >= 5) {
            qsort(buf, np, sizeof *buf, cmp_f32);
            for (int k = 0; k < FC_NQ; k++) pooled[k] = sorted_quantile(buf, np, fc_taus[k]);
        }
        for (uint32_t h = 0; h < C; h++) {
            size_t nh = 0;
            for (uint32_t s = 0; s < S->n; s++)
                for (uint32_t j = 0; j < K && fc->method[s] == m; j++)
                    if (!isnan(err[((size_t)s * K + j) * C + h])) buf[nh++] = err[((size_t)s * K + j) * C + h];
            float *q = t->q + (size_t)h * FC_NQ;
            if (nh >= 30) {
                qsort(buf, nh, sizeof *buf, cmp_f32);
                for (int k = 0; k < FC_NQ; k++) q[k] = sorted_quantile(buf, nh, fc_taus[k]);
            } else {
                double w = np >= 5 ? sqrt((h + 1.0) / ((C + 1) / 2.0)) : 1;
                for (int k = 0; k < FC_NQ; k++) q[k] = (float)(pooled[k] * w);
            }
        }
    }
    core_free(buf);
    return rc;
}

int fc_train_series(fc_series *S, const aisle_config *cfg, aisle_forecast **out) {
    const char *mname = config_string(cfg, forecast_options, "method");
    int method = fc_resolve_method(mname);
    if (method < 0) return core_error(AISLE_EINVAL, "option 'method': unknown forecast method '%s'", mname);
    aisle_forecast *fc = core_calloc(1, sizeof *fc);
    if (!fc) return core_oom("forecast");
    fc->S = *S;
    memset(S, 0, sizeof *S);
    fc->method_opt = method;
    uint32_t season = (uint32_t)config_int(cfg, forecast_options, "season_length");
    fc->season = season ? season : fc->S.period == FC_PERIOD_DAY ? 7 : 52;
    fc->horizon = (uint32_t)config_int(cfg, forecast_options, "horizon");
    int threads = core_thread_count(config_int(cfg, core_options, "threads"));
    uint32_t n = fc->S.n, C = fc->horizon;
    fc->method = core_calloc(n, 1);
    fc->local = core_calloc(n, sizeof *fc->local);
    float *err = core_malloc(((size_t)n * C * CAL_ORIGINS + 1) * sizeof *err);
    int rc = fc->method && fc->local && err ? AISLE_OK : core_oom("forecast");
    bool want_global = false;
    for (uint32_t s = 0; !rc && s < n; s++) {
        const float *y = fc->S.values + fc->S.off[s];
        bool product = s < fc->S.n_items;
        int m = method;
        /* auto: the global model wherever it has history to learn from (in the
         * Online Retail backtest it beat TSB on intermittent series too,
         * docs/FORECAST.md); short series: TSB when intermittent, else ETS */
        if (m == FC_AUTO)
            m = product && fc->S.len[s] > C + 1 ? FC_GLOBAL : is_intermittent(y, fc->S.len[s]) ? FC_TSB : FC_ETS;
        if (m == FC_GLOBAL && !product) m = FC_ETS; /* the global model learns products only */
        fc->method[s] = (uint8_t)m;
        want_global |= m == FC_GLOBAL;
    }
    if (!rc && want_global) {
        fc_global_params gp;
        gp.horizon = C;
        gp.season = fc->season;
        gp.calib = C;
        gp.max_rows = (uint64_t)config_int(cfg, forecast_options, "forecast_max_rows");
        gp.gbt.trees = (uint32_t)config_int(cfg, forecast_options, "forecast_trees");
        gp.gbt.depth = (uint32_t)config_int(cfg, forecast_options, "forecast_depth");
        gp.gbt.learning_rate = config_float(cfg, forecast_options, "forecast_learning_rate");
        gp.gbt.min_leaf = 20;
        gp.gbt.bins = 64;
        gp.gbt.subsample = 0.5;
        gp.gbt.seed = (uint64_t)config_int(cfg, core_options, "seed");
        gp.gbt.threads = threads;
        gp.gbt.tau = 0.5;
        rc = fc_global_train(&fc->S, &gp, &fc->global);
        if (rc == AISLE_EINVAL && method == FC_AUTO) { /* too little history: local models instead */
            aisle_clear_error();
            rc = AISLE_OK;
            for (uint32_t s = 0; s < n; s++)
                if (fc->method[s] == FC_GLOBAL) fc->method[s] = FC_ETS;
        }
    }
    fit_ctx fctx = {fc, C, err};
    if (!rc) rc = core_parallel_for(threads, n, 64, fit_range, &fctx);
    if (!rc) rc = make_qtables(fc, err, C);
    core_free(err);
    size_t need;
    if (!rc && aisle_config_to_string(cfg, fc->options, sizeof fc->options, &need) != AISLE_OK) {
        aisle_clear_error();
        fc->options[0] = 0; /* too long to keep: the description goes without it */
    }
    if (rc) {
        aisle_forecast_free(fc);
        return rc;
    }
    *out = fc;
    return AISLE_OK;
}

AISLE_API int aisle_forecast_train(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                                   aisle_forecast **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_forecast_train: NULL argument");
    int rc = config_check(cfg, forecast_options, "forecast");
    if (rc) return rc;
    fc_series S;
    rc = fc_series_build(ds, cat, cfg, &S);
    if (rc) return rc;
    rc = fc_train_series(&S, cfg, out);
    fc_series_free(&S);
    return rc;
}

/* ---- forecasts ---- */

int fc_predict_series(const aisle_forecast *fc, uint32_t s, uint32_t H, int64_t *start, double *mean,
                      double (*q)[FC_NQ]) {
    const fc_series *S = &fc->S;
    for (uint32_t h = 1; h <= H; h++) {
        if (start) start[h - 1] = fc_period_first_day(S->period, S->last + h) * 86400;
        mean[h - 1] = 0;
        for (int k = 0; k < FC_NQ; k++) q[h - 1][k] = 0;
    }
    int m = fc->method[s];
    const float *y = S->values + S->off[s];
    if (m == FC_ZERO) return AISLE_OK;
    if (m == FC_GLOBAL) {
        fc_global_predict(&fc->global, S, s, fc->season, H, q);
        for (uint32_t h = 0; h < H; h++) mean[h] = q[h][FC_Q50];
        return AISLE_OK;
    }
    const fc_local *f = &fc->local[s];
    fc_local_forecast(f, y, S->len[s], H, mean);
    const fc_qtable *t = &fc->qt[m];
    for (uint32_t h = 1; h <= H; h++) {
        uint32_t hh = h <= t->horizon ? h : t->horizon;
        double w = h <= t->horizon ? 1 : sqrt((double)h / t->horizon);
        double v[FC_NQ];
        for (int k = 0; k < FC_NQ; k++) v[k] = mean[h - 1] + t->q[(size_t)(hh - 1) * FC_NQ + k] * w * f->scale;
        for (int k = 0; k < FC_NQ; k++) q[h - 1][k] = v[k] > 0 ? v[k] : 0;
    }
    return AISLE_OK;
}

static int find_series(const aisle_forecast *fc, const char *key, int category, uint32_t *s) {
    if (!fc || !key) return core_error(AISLE_EINVAL, "forecast: NULL argument");
    const core_keys *k = category ? &fc->S.categories : &fc->S.items;
    int64_t i = keys_find(k, key, strlen(key));
    if (i < 0)
        return core_error(AISLE_ENOTFOUND, "forecast: unknown %s '%s'%s", category ? "category" : "item", key,
                          category ? "" : " (no sales in the data, or fewer sale periods than min_sale_periods)");
    *s = (uint32_t)i + (category ? fc->S.n_items : 0);
    return AISLE_OK;
}

static int predict_key(const aisle_forecast *fc, const char *key, int category, size_t horizon, int64_t *period_start,
                       double *mean_out, double *p10, double *p50, double *p90) {
    uint32_t s;
    int rc = find_series(fc, key, category, &s);
    if (rc) return rc;
    if (horizon < 1 || horizon > 100000)
        return core_error(AISLE_ERANGE, "forecast: horizon %zu outside 1..100000", horizon);
    double *mean = core_malloc(horizon * sizeof *mean);
    double(*q)[FC_NQ] = core_malloc(horizon * sizeof *q);
    if (!mean || !q) {
        core_free(mean);
        core_free(q);
        return core_oom("forecast");
    }
    fc_predict_series(fc, s, (uint32_t)horizon, period_start, mean, q);
    for (size_t h = 0; h < horizon; h++) {
        if (mean_out) mean_out[h] = mean[h];
        if (p10) p10[h] = q[h][FC_Q10];
        if (p50) p50[h] = q[h][FC_Q50];
        if (p90) p90[h] = q[h][FC_Q90];
    }
    core_free(mean);
    core_free(q);
    return AISLE_OK;
}

AISLE_API int aisle_forecast_item(const aisle_forecast *fc, const char *item_key, size_t horizon,
                                  int64_t *period_start, double *p10, double *p50, double *p90) {
    return predict_key(fc, item_key, 0, horizon, period_start, NULL, p10, p50, p90);
}

AISLE_API int aisle_forecast_category(const aisle_forecast *fc, const char *category, size_t horizon,
                                      int64_t *period_start, double *p10, double *p50, double *p90) {
    return predict_key(fc, category, 1, horizon, period_start, NULL, p10, p50, p90);
}

AISLE_API int aisle_forecast_mean(const aisle_forecast *fc, const char *item_key, size_t horizon, double *mean) {
    if (!mean) return core_error(AISLE_EINVAL, "aisle_forecast_mean: NULL argument");
    return predict_key(fc, item_key, 0, horizon, NULL, mean, NULL, NULL, NULL);
}

AISLE_API int aisle_forecast_item_count(const aisle_forecast *fc, size_t *out) {
    if (!fc || !out) return core_error(AISLE_EINVAL, "aisle_forecast_item_count: NULL argument");
    *out = fc->S.n_items;
    return AISLE_OK;
}

AISLE_API int aisle_forecast_item_key(const aisle_forecast *fc, size_t index, const char **out) {
    if (!fc || !out) return core_error(AISLE_EINVAL, "aisle_forecast_item_key: NULL argument");
    if (index >= fc->S.n_items) return core_error(AISLE_ERANGE, "item index %zu >= %u", index, fc->S.n_items);
    *out = keys_at(&fc->S.items, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_forecast_category_count(const aisle_forecast *fc, size_t *out) {
    if (!fc || !out) return core_error(AISLE_EINVAL, "aisle_forecast_category_count: NULL argument");
    *out = fc->S.categories.n;
    return AISLE_OK;
}

AISLE_API int aisle_forecast_category_key(const aisle_forecast *fc, size_t index, const char **out) {
    if (!fc || !out) return core_error(AISLE_EINVAL, "aisle_forecast_category_key: NULL argument");
    if (index >= fc->S.categories.n)
        return core_error(AISLE_ERANGE, "category index %zu >= %zu", index, fc->S.categories.n);
    *out = keys_at(&fc->S.categories, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_forecast_method(const aisle_forecast *fc, const char *item_key, const char **out) {
    uint32_t s;
    if (!out) return core_error(AISLE_EINVAL, "aisle_forecast_method: NULL argument");
    int rc = find_series(fc, item_key, 0, &s);
    if (rc) return rc;
    *out = fc_method_name(fc->method[s]);
    return AISLE_OK;
}

AISLE_API int aisle_forecast_history(const aisle_forecast *fc, const char *item_key, double *values, size_t max,
                                     size_t *n, int64_t *first_start) {
    uint32_t s;
    if (!n || (max && !values)) return core_error(AISLE_EINVAL, "aisle_forecast_history: NULL argument");
    int rc = find_series(fc, item_key, 0, &s);
    if (rc) return rc;
    uint32_t len = fc->S.len[s];
    for (size_t i = 0; i < len && i < max; i++) values[i] = fc->S.values[fc->S.off[s] + i];
    *n = len;
    if (first_start) *first_start = fc_period_first_day(fc->S.period, fc->S.last - len + 1) * 86400;
    return max >= len ? AISLE_OK
                      : core_error(AISLE_ERANGE, "aisle_forecast_history: %u values, room for %zu", len, max);
}

AISLE_API int aisle_forecast_describe(const aisle_forecast *fc, char *buf, size_t len, size_t *needed) {
    if (!fc) return core_error(AISLE_EINVAL, "aisle_forecast_describe: NULL argument");
    const fc_series *S = &fc->S;
    size_t count[FC_N_METHODS] = {0};
    for (uint32_t s = 0; s < S->n_items; s++) count[fc->method[s]]++;
    int y, m, d;
    fc_civil(fc_period_first_day(S->period, S->last), &y, &m, &d);
    core_buf b;
    buf_init(&b);
    int rc = buf_printf(&b,
                        "forecast: %u products, %zu categories, period %s (last period starts %04d-%02d-%02d), "
                        "season %u, horizon %u, method %s\nmethods:",
                        S->n_items, S->categories.n, S->period == FC_PERIOD_DAY ? "day" : "week", y, m, d,
                        fc->season, fc->horizon, fc_method_name(fc->method_opt));
    for (int k = 0; !rc && k < FC_N_METHODS; k++)
        if (count[k]) rc = buf_printf(&b, " %s %zu", method_names[k], count[k]);
    if (!rc)
        rc = buf_printf(&b, "\nevents used %llu, future events ignored %llu, periods clamped to 0 after returns %llu\n",
                        (unsigned long long)S->events_used, (unsigned long long)S->events_future,
                        (unsigned long long)S->periods_clamped);
    if (!rc) rc = buf_export(&b, buf, len, needed);
    else rc = core_oom("forecast describe");
    buf_free(&b);
    return rc;
}

/* ---- reorder ---- */

/* Inverse of the standard normal CDF (P. J. Acklam's rational
 * approximation, relative error < 1.2e-9). */
static double norm_ppf(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -norm_ppf(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

AISLE_API int aisle_forecast_reorder(const aisle_forecast *fc, const char *item_key, double lead_time,
                                     double review_period, double service_level, double stock_on_hand,
                                     double *reorder_point, double *order_quantity) {
    if (!reorder_point || !order_quantity) return core_error(AISLE_EINVAL, "aisle_forecast_reorder: NULL argument");
    if (!(lead_time > 0) || !(lead_time <= 1000) || !(review_period >= 0) || !(review_period <= 1000))
        return core_error(AISLE_ERANGE, "aisle_forecast_reorder: lead time must be in (0, 1000] and review period "
                                        "in [0, 1000] periods");
    if (!(service_level >= 0.5) || !(service_level < 1))
        return core_error(AISLE_ERANGE, "aisle_forecast_reorder: service level must be in [0.5, 1)");
    if (!isfinite(stock_on_hand))
        return core_error(AISLE_EINVAL, "aisle_forecast_reorder: stock on hand must be a finite number");
    uint32_t s;
    int rc = find_series(fc, item_key, 0, &s);
    if (rc) return rc;
    double span = lead_time + review_period;
    uint32_t H = (uint32_t)ceil(span);
    double *mean = core_malloc(H * sizeof *mean);
    double(*q)[FC_NQ] = core_malloc(H * sizeof *q);
    if (!mean || !q) {
        core_free(mean);
        core_free(q);
        return core_oom("forecast reorder");
    }
    fc_predict_series(fc, s, H, NULL, mean, q);
    /* demand over [0, t): whole periods plus the covered share of the last */
    double mu_l = 0, var_l = 0, mu_s = 0, var_s = 0;
    for (uint32_t h = 0; h < H; h++) {
        double sd = (q[h][FC_Q90] - q[h][FC_Q10]) / (2 * 1.2815515655446004);
        double wl = fmin(1, fmax(0, lead_time - h)), ws = fmin(1, fmax(0, span - h));
        mu_l += wl * mean[h], var_l += wl * sd * sd;
        mu_s += ws * mean[h], var_s += ws * sd * sd;
    }
    double z = norm_ppf(service_level);
    *reorder_point = mu_l + z * sqrt(var_l);
    double up_to = mu_s + z * sqrt(var_s);
    *order_quantity = up_to > stock_on_hand ? up_to - stock_on_hand : 0;
    core_free(mean);
    core_free(q);
    return AISLE_OK;
}

/* ---- explain ---- */

AISLE_API int aisle_forecast_explain(const aisle_forecast *fc, const char *item_key, size_t period,
                                     const char **names, double *values, size_t max, size_t *n) {
    if (!n || (max && (!names || !values))) return core_error(AISLE_EINVAL, "aisle_forecast_explain: NULL argument");
    uint32_t s;
    int rc = find_series(fc, item_key, 0, &s);
    if (rc) return rc;
    if (period < 1 || period > 100000) return core_error(AISLE_ERANGE, "aisle_forecast_explain: period %zu outside 1..100000", period);
    double part[FC_N_PARTS] = {0};
    const fc_series *S = &fc->S;
    uint32_t len = S->len[s], h = (uint32_t)period;
    const float *y = S->values + S->off[s];
    if (fc->method[s] == FC_GLOBAL) {
        float x[FC_GLOBAL_FEATURES], sc;
        double contrib[FC_GLOBAL_FEATURES] = {0};
        fc_global_features(S, s, len, h, fc->season, x, &sc);
        uint32_t hh = h < fc->global.horizon ? h : fc->global.horizon;
        x[0] = (float)hh;
        double pred = fc_gbt_contrib(&fc->global.q[FC_Q50], x, contrib), sum = 0;
        for (uint32_t f = 0; f < FC_GLOBAL_FEATURES; f++) {
            part[fc_global_feature_part(f)] += contrib[f] * sc;
            sum += contrib[f];
        }
        part[FC_PART_BASE] += (pred - sum) * sc;
    } else if (fc->method[s] == FC_SNAIVE) {
        double l, t, se;
        fc_local_parts(&fc->local[s], y, len, h, &l, &t, &se);
        part[FC_PART_RECENT] = l, part[FC_PART_SEASON] = se;
    } else if (fc->method[s] != FC_ZERO) {
        double l, t, se;
        fc_local_parts(&fc->local[s], y, len, h, &l, &t, &se);
        part[FC_PART_BASE] = l, part[FC_PART_TREND] = t, part[FC_PART_SEASON] = se;
    }
    *n = FC_N_PARTS;
    for (size_t i = 0; i < FC_N_PARTS && i < max; i++) names[i] = fc_part_names[i], values[i] = part[i];
    return max >= FC_N_PARTS ? AISLE_OK
                             : core_error(AISLE_ERANGE, "aisle_forecast_explain: %d parts, room for %zu", FC_N_PARTS, max);
}
