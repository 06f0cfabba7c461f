/* backtest.c - rolling-origin evaluation: the last `holdout` periods are
 * hidden, models are trained at several origins inside them on the data
 * before each origin only, and their forecasts up to the end of the data
 * are scored (MASE, sMAPE, scaled pinball loss, 80% interval coverage;
 * definitions in docs/FORECAST.md). */
#include "forecast.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { REPORT_MAX = 16 };

struct aisle_forecast_report {
    size_t n;
    char names[REPORT_MAX][32];
    double values[REPORT_MAX];
};

static void report_add(aisle_forecast_report *r, const char *name, double v) {
    if (r->n >= REPORT_MAX) return;
    snprintf(r->names[r->n], sizeof r->names[0], "%s", name);
    r->values[r->n++] = v;
}

static double pinball(double y, double q, double tau) { return y >= q ? tau * (y - q) : (1 - tau) * (q - y); }

AISLE_API int aisle_forecast_backtest(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                                      size_t holdout, aisle_forecast_report **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_forecast_backtest: NULL argument");
    if (holdout < 1 || holdout > 1000) return core_error(AISLE_ERANGE, "aisle_forecast_backtest: holdout %zu outside 1..1000", holdout);
    int rc = config_check(cfg, forecast_options, "forecast");
    if (rc) return rc;
    double t0 = core_now();
    fc_series full;
    rc = fc_series_build(ds, cat, cfg, &full);
    if (rc) return rc;
    uint32_t origins = (uint32_t)config_int(cfg, forecast_options, "backtest_origins");
    if (origins > holdout) origins = (uint32_t)holdout;
    uint32_t step = (uint32_t)holdout / origins;
    aisle_forecast_report *rep = core_calloc(1, sizeof *rep);
    double *mean = core_malloc(holdout * sizeof *mean);
    double(*q)[FC_NQ] = core_malloc(holdout * sizeof *q);
    if (!rep || !mean || !q) rc = core_oom("forecast backtest");
    double sum_mase = 0, sum_mase_mean = 0, sum_smape = 0, sum_smape_mean = 0, sum_pin[FC_NQ] = {0}, covered = 0;
    size_t n_series = 0, n_points = 0, n_scaled_points = 0;
    for (uint32_t o = 0; !rc && o < origins; o++) {
        uint32_t drop = (uint32_t)holdout - o * step;
        fc_series cut;
        rc = fc_series_truncate(&full, drop, &cut);
        if (rc) break;
        aisle_forecast *fc;
        rc = fc_train_series(&cut, cfg, &fc);
        fc_series_free(&cut);
        if (rc) break;
        for (uint32_t s = 0; s < full.n_items; s++) {
            uint32_t L = fc->S.len[s];
            if (L < 2) continue; /* no in-sample naive error to scale by */
            const float *y = full.values + full.off[s];
            double scale = 0;
            for (uint32_t t = 1; t < L; t++) scale += fabs(y[t] - y[t - 1]);
            scale /= L - 1;
            fc_predict_series(fc, s, drop, NULL, mean, q);
            double ae = 0, ae_mean = 0;
            for (uint32_t h = 0; h < drop; h++) {
                double a = y[L + h], f = q[h][FC_Q50];
                double den = fabs(a) + fabs(f);
                sum_smape += den > 0 ? 200.0 * fabs(a - f) / den : 0;
                den = fabs(a) + fabs(mean[h]);
                sum_smape_mean += den > 0 ? 200.0 * fabs(a - mean[h]) / den : 0;
                covered += a >= q[h][FC_Q10] && a <= q[h][FC_Q90];
                n_points++;
                ae += fabs(a - f);
                ae_mean += fabs(a - mean[h]);
                if (scale > 0) {
                    for (int k = 0; k < FC_NQ; k++) sum_pin[k] += pinball(a, q[h][k], fc_taus[k]) / scale;
                    n_scaled_points++;
                }
            }
            if (scale > 0) {
                sum_mase += ae / drop / scale;
                sum_mase_mean += ae_mean / drop / scale;
                n_series++;
            }
        }
        aisle_forecast_free(fc);
    }
    if (!rc && !n_points) rc = core_error(AISLE_EINVAL, "forecast backtest: no series to score (too short for holdout %zu)", holdout);
    if (!rc) {
        report_add(rep, "mase", n_series ? sum_mase / n_series : NAN);
        report_add(rep, "mase_mean", n_series ? sum_mase_mean / n_series : NAN);
        report_add(rep, "smape", sum_smape / n_points);
        report_add(rep, "smape_mean", sum_smape_mean / n_points);
        report_add(rep, "pinball_p10", n_scaled_points ? sum_pin[FC_Q10] / n_scaled_points : NAN);
        report_add(rep, "pinball_p50", n_scaled_points ? sum_pin[FC_Q50] / n_scaled_points : NAN);
        report_add(rep, "pinball_p90", n_scaled_points ? sum_pin[FC_Q90] / n_scaled_points : NAN);
        report_add(rep, "coverage_80", covered / n_points);
        report_add(rep, "series", (double)full.n_items);
        report_add(rep, "scored", (double)n_series);
        report_add(rep, "origins", (double)origins);
        report_add(rep, "points", (double)n_points);
        report_add(rep, "seconds", core_now() - t0);
    }
    core_free(mean);
    core_free(q);
    fc_series_free(&full);
    if (rc) {
        core_free(rep);
        return rc;
    }
    *out = rep;
    return AISLE_OK;
}

AISLE_API void aisle_forecast_report_free(aisle_forecast_report *rep) { core_free(rep); }

AISLE_API int aisle_forecast_report_get(const aisle_forecast_report *rep, const char *name, double *out) {
    if (!rep || !name || !out) return core_error(AISLE_EINVAL, "aisle_forecast_report_get: NULL argument");
    for (size_t i = 0; i < rep->n; i++)
        if (!strcmp(rep->names[i], name)) {
            *out = rep->values[i];
            return AISLE_OK;
        }
    return core_error(AISLE_ENOTFOUND, "forecast report: no figure '%s'", name);
}

AISLE_API int aisle_forecast_report_count(const aisle_forecast_report *rep, size_t *out) {
    if (!rep || !out) return core_error(AISLE_EINVAL, "aisle_forecast_report_count: NULL argument");
    *out = rep->n;
    return AISLE_OK;
}

AISLE_API int aisle_forecast_report_at(const aisle_forecast_report *rep, size_t index, const char **name,
                                       double *value) {
    if (!rep || !name || !value) return core_error(AISLE_EINVAL, "aisle_forecast_report_at: NULL argument");
    if (index >= rep->n) return core_error(AISLE_ERANGE, "forecast report: index %zu >= %zu", index, rep->n);
    *name = rep->names[index];
    *value = rep->values[index];
    return AISLE_OK;
}
