/* local.c - per-series models: seasonal naive, exponential smoothing (ETS
 * with additive errors: none/additive/damped trend x none/additive/
 * multiplicative season, Hyndman et al., "Forecasting with Exponential
 * Smoothing", 2008, ch. 2), Croston with the Syntetos-Boylan bias
 * correction (SBA) and TSB (Teunter, Syntetos, Babai 2011). */
#include "forecast.h"

#include <math.h>
#include <string.h>

float fc_series_scale(const float *y, uint32_t n) {
    double s = 0;
    for (uint32_t i = 0; i < n; i++) s += fabs(y[i]);
    s = n ? s / n : 0;
    return (float)(s > 1e-3 ? s : 1e-3);
}

void fc_local_free(fc_local *f) {
    if (!f) return;
    core_free(f->seas);
    f->seas = NULL;
}

/* ---- ETS ---- */

enum { ETS_MAX_SEASON = 400 };

typedef struct ets_spec {
    const float *y;
    uint32_t n_fit, m;
    int trend, season; /* 0/1/2 as in fc_local */
} ets_spec;

/* Maps the optimiser's box [0,1]^k to (alpha, beta, gamma, phi): beta is
 * a share of alpha and gamma of 1 - alpha, the usual admissible region. */
static void ets_unpack(const ets_spec *e, const double *u, double *a, double *b, double *g, double *phi) {
    int k = 0;
    *a = 0.001 + 0.998 * u[k++];
    *b = e->trend ? *a * (0.001 + 0.998 * u[k++]) : 0;
    *g = e->season ? (1 - *a) * (0.001 + 0.998 * u[k++]) : 0;
    *phi = e->trend == 2 ? 0.8 + 0.18 * u[k++] : 1.0;
}

static int ets_nparams(const ets_spec *e) { return 1 + (e->trend != 0) + (e->season != 0) + (e->trend == 2); }

/* Initial states: level from the first season (or first values), no
 * trend, seasonal indices from the first season's deviations. */
static void ets_init(const ets_spec *e, const float *y, uint32_t n, double *l, double *b, double *s) {
    uint32_t w = e->season ? e->m : (n < 4 ? n : 4);
    double sum = 0;
    for (uint32_t i = 0; i < w && i < n; i++) sum += y[i];
    *l = w ? sum / w : 0;
    *b = 0;
    if (e->season)
        for (uint32_t j = 0; j < e->m; j++)
            s[j] = e->season == 1 ? y[j] - *l : (*l > 0 ? y[j] / *l : 1.0);
}

/* Runs the filter over y[0..n) (SSE over the first n_sse steps); leaves the
 * final state in l, b, s[] (indexed by t mod m). */
static double ets_filter(const ets_spec *e, const float *y, uint32_t n, uint32_t n_sse, double a, double bt, double g,
                         double phi, double *l, double *b, double *s) {
    ets_init(e, y, n, l, b, s);
    double L = *l, B = *b, sse = 0;
    uint32_t j = 0;
    for (uint32_t t = 0; t < n; t++) {
        double base = L + phi * B;
        double yhat = base, si = 0;
        if (e->season == 1) yhat += (si = s[j]);
        else if (e->season == 2) yhat *= (si = s[j]);
        double err = y[t] - yhat;
        if (t < n_sse) sse += err * err;
        if (e->season == 2) {
            double sd = si > 1e-6 ? si : 1e-6;
            L = base + a * err / sd;
            B = phi * B + bt * err / sd;
            s[j] = si + g * err / (fabs(base) > 1e-6 ? base : 1e-6);
        } else {
            L = base + a * err;
            B = phi * B + bt * err;
            if (e->season == 1) s[j] = si + g * err;
        }
        if (++j == e->m) j = 0;
        if (!isfinite(L) || fabs(L) > 1e15) return HUGE_VAL;
    }
    *l = L;
    *b = B;
    return sse;
}

static double ets_cost(const ets_spec *e, const double *u, double *sbuf) {
    double a, b, g, phi, l, tr;
    ets_unpack(e, u, &a, &b, &g, &phi);
    return ets_filter(e, e->y, e->n_fit, e->n_fit, a, b, g, phi, &l, &tr, sbuf);
}

/* Nelder-Mead on the unit box (points are clamped into it), at most
 * max_eval cost evaluations. */
static double nelder_mead(const ets_spec *e, int k, double *best, int max_eval, double *sbuf) {
    double p[5][4], f[5];
    for (int i = 0; i <= k; i++) {
        for (int d = 0; d < k; d++) p[i][d] = best[d];
        if (i) p[i][i - 1] = best[i - 1] > 0.5 ? best[i - 1] - 0.25 : best[i - 1] + 0.25;
        f[i] = ets_cost(e, p[i], sbuf);
    }
    int evals = k + 1;
    while (evals < max_eval) {
        /* order: worst index hi, second worst nh, best lo */
        int lo = 0, hi = 0;
        for (int i = 1; i <= k; i++) {
            if (f[i] < f[lo]) lo = i;
            if (f[i] > f[hi]) hi = i;
        }
        int nh = lo;
        for (int i = 0; i <= k; i++)
            if (i != hi && f[i] > f[nh]) nh = i;
        if (f[hi] - f[lo] <= 1e-10 * (fabs(f[lo]) + 1e-12)) break;
        double c[4] = {0}, xr[4], xe[4];
        for (int i = 0; i <= k; i++)
            if (i != hi)
                for (int d = 0; d < k; d++) c[d] += p[i][d] / k;
        for (int d = 0; d < k; d++) xr[d] = fmin(1, fmax(0, 2 * c[d] - p[hi][d]));
        double fr = ets_cost(e, xr, sbuf);
        evals++;
        if (fr < f[lo]) {
            for (int d = 0; d < k; d++) xe[d] = fmin(1, fmax(0, 3 * c[d] - 2 * p[hi][d]));
            double fe = ets_cost(e, xe, sbuf);
            evals++;
            if (fe < fr) memcpy(p[hi], xe, sizeof xe), f[hi] = fe;
            else memcpy(p[hi], xr, sizeof xr), f[hi] = fr;
        } else if (fr < f[nh]) {
            memcpy(p[hi], xr, sizeof xr), f[hi] = fr;
        } else {
            double xc[4];
            for (int d = 0; d < k; d++) xc[d] = 0.5 * (c[d] + p[hi][d]);
            double fc = ets_cost(e, xc, sbuf);
            evals++;
            if (fc < f[hi]) {
                memcpy(p[hi], xc, sizeof xc), f[hi] = fc;
            } else { /* shrink towards the best */
                for (int i = 0; i <= k; i++) {
                    if (i == lo) continue;
                    for (int d = 0; d < k; d++) p[i][d] = 0.5 * (p[i][d] + p[lo][d]);
                    f[i] = ets_cost(e, p[i], sbuf);
                    evals++;
                }
            }
        }
    }
    int lo = 0;
    for (int i = 1; i <= k; i++)
        if (f[i] < f[lo]) lo = i;
    memcpy(best, p[lo], (size_t)k * sizeof *best);
    return f[lo];
}

static int fit_ets(const float *y, uint32_t n, uint32_t n_fit, uint32_t m, fc_local *out) {
    bool seasonal = m >= 2 && m <= ETS_MAX_SEASON && n_fit >= 2 * m;
    bool positive = true;
    for (uint32_t i = 0; i < n_fit && positive; i++) positive = y[i] > 0;
    double sbuf[ETS_MAX_SEASON], best_s[ETS_MAX_SEASON];
    double best_aic = HUGE_VAL, best_u[4] = {0};
    ets_spec best_e = {y, n_fit, seasonal ? m : 0, 0, 0};
    for (int season = 0; season <= (seasonal ? 2 : 0); season++) {
        if (season == 2 && !positive) continue;
        for (int trend = 0; trend <= 2; trend++) {
            if (n_fit < 4 && trend) continue;
            ets_spec e = {y, n_fit, season ? m : 0, trend, season};
            int k = ets_nparams(&e);
            double u[4] = {0.15, 0.1, 0.1, 0.8};
            double sse = nelder_mead(&e, k, u, 30 * k + 20, sbuf);
            if (!isfinite(sse)) continue;
            double nn = n_fit, mse = sse / nn > 1e-12 ? sse / nn : 1e-12;
            /* AIC of the Gaussian likelihood; initial level (and season) count as parameters */
            double aic = nn * log(mse) + 2.0 * (k + 1 + (season ? m - 1 : 0));
            if (aic < best_aic) {
                best_aic = aic;
                best_e = e;
                memcpy(best_u, u, sizeof u);
            }
        }
    }
    double a, b, g, phi, l, tr;
    ets_unpack(&best_e, best_u, &a, &b, &g, &phi);
    ets_filter(&best_e, y, n, 0, a, b, g, phi, &l, &tr, best_s);
    memset(out, 0, sizeof *out);
    out->method = FC_ETS;
    out->trend = (uint8_t)best_e.trend;
    out->season = (uint8_t)best_e.season;
    out->alpha = (float)a, out->beta = (float)b, out->gamma = (float)g, out->phi = (float)phi;
    out->level = (float)l, out->slope = (float)tr;
    if (best_e.season) {
        out->m = m;
        out->seas = core_malloc((size_t)m * sizeof *out->seas);
        if (!out->seas) return core_oom("forecast ets seasons");
        for (uint32_t j = 0; j < m; j++) out->seas[j] = (float)best_s[(n + j) % m];
    }
    return AISLE_OK;
}

/* ---- Croston (SBA) and TSB ---- */

static double croston_run(const float *y, uint32_t n, uint32_t n_sse, double a, double *z_out, double *x_out) {
    double z = 0, x = 1, sse = 0;
    uint32_t q = 1;
    bool started = false;
    for (uint32_t t = 0; t < n; t++) {
        double f = started ? (1 - a / 2) * z / x : 0;
        if (t < n_sse && started) sse += (y[t] - f) * (y[t] - f);
        if (y[t] > 0) {
            if (!started) z = y[t], x = q, started = true;
            else z += a * (y[t] - z), x += a * (q - x);
            q = 1;
        } else {
            q++;
        }
    }
    *z_out = z, *x_out = x;
    return sse;
}

static double tsb_run(const float *y, uint32_t n, uint32_t n_sse, double a, double b, double *z_out, double *p_out) {
    uint32_t nz = 0, w = n_sse ? n_sse : n;
    double sum = 0;
    for (uint32_t t = 0; t < w && t < n; t++)
        if (y[t] > 0) nz++, sum += y[t];
    double p = w ? (double)nz / w : 0, z = nz ? sum / nz : 0, sse = 0;
    for (uint32_t t = 0; t < n; t++) {
        double f = p * z;
        if (t < n_sse) sse += (y[t] - f) * (y[t] - f);
        if (y[t] > 0) {
            p += b * (1 - p);
            z += a * (y[t] - z);
        } else {
            p -= b * p;
        }
    }
    *z_out = z, *p_out = p;
    return sse;
}

int fc_local_fit(const float *y, uint32_t n, uint32_t n_fit, int method, uint32_t m, fc_local *out) {
    memset(out, 0, sizeof *out);
    if (n_fit > n) n_fit = n;
    out->scale = fc_series_scale(y, n_fit ? n_fit : n);
    bool any = false;
    for (uint32_t i = 0; i < n && !any; i++) any = y[i] > 0;
    if (!any) {
        out->method = FC_ZERO;
        return AISLE_OK;
    }
    if (method == FC_SNAIVE) {
        out->method = FC_SNAIVE;
        out->m = m;
        return AISLE_OK;
    }
    if (n_fit < 2) n_fit = n; /* too short to hold values back: fit on everything */
    float scale = out->scale;
    if (method == FC_ETS) {
        int rc = fit_ets(y, n, n_fit, m, out);
        out->scale = scale;
        return rc;
    }
    static const double grid_a[] = {0.05, 0.1, 0.2, 0.3};
    static const double grid_b[] = {0.02, 0.05, 0.1, 0.2, 0.3};
    double best = HUGE_VAL, z, x;
    out->method = (uint8_t)method;
    for (size_t i = 0; i < CORE_ARRAY_LEN(grid_a); i++) {
        if (method == FC_CROSTON) {
            double sse = croston_run(y, n_fit, n_fit, grid_a[i], &z, &x);
            if (sse < best) best = sse, out->alpha = (float)grid_a[i];
            continue;
        }
        for (size_t j = 0; j < CORE_ARRAY_LEN(grid_b); j++) {
            double sse = tsb_run(y, n_fit, n_fit, grid_a[i], grid_b[j], &z, &x);
            if (sse < best) best = sse, out->alpha = (float)grid_a[i], out->beta = (float)grid_b[j];
        }
    }
    if (method == FC_CROSTON) croston_run(y, n, 0, out->alpha, &z, &x);
    else tsb_run(y, n, n_fit, out->alpha, out->beta, &z, &x);
    out->level = (float)z;
    out->slope = (float)x;
    return AISLE_OK;
}

void fc_local_parts(const fc_local *f, const float *y, uint32_t n, uint32_t h, double *level, double *trend,
                    double *season) {
    *level = *trend = *season = 0;
    switch (f->method) {
    case FC_SNAIVE: {
        double last = n ? y[n - 1] : 0;
        *level = last;
        if (f->m >= 1 && n >= f->m) *season = y[n - f->m + (h - 1) % f->m] - last;
        break;
    }
    case FC_ETS: {
        double damp = 0, pw = 1;
        for (uint32_t i = 1; i <= h; i++) pw *= f->phi, damp += f->trend == 2 ? pw : 1;
        *level = f->level;
        *trend = f->trend ? damp * f->slope : 0;
        if (f->season == 1) *season = f->seas[(h - 1) % f->m];
        else if (f->season == 2) *season = (*level + *trend) * (f->seas[(h - 1) % f->m] - 1);
        break;
    }
    case FC_CROSTON:
        *level = f->slope > 0 ? (1 - f->alpha / 2) * f->level / f->slope : 0;
        break;
    case FC_TSB:
        *level = f->level * f->slope;
        break;
    default:
        break;
    }
}

void fc_local_forecast(const fc_local *f, const float *y, uint32_t n, uint32_t H, double *mean) {
    for (uint32_t h = 1; h <= H; h++) {
        double l, t, s;
        fc_local_parts(f, y, n, h, &l, &t, &s);
        double v = l + t + s;
        mean[h - 1] = v > 0 ? v : 0; /* demand is never negative */
    }
}

void fc_local_forecast_from(const fc_local *f, const float *y, uint32_t o, uint32_t H, double *mean) {
    for (uint32_t h = 0; h < H; h++) mean[h] = 0;
    if (!o) return;
    double l = 0, b = 0, s[ETS_MAX_SEASON];
    switch (f->method) {
    case FC_SNAIVE:
        for (uint32_t h = 1; h <= H; h++) mean[h - 1] = f->m >= 1 && o >= f->m ? y[o - f->m + (h - 1) % f->m] : y[o - 1];
        return;
    case FC_ETS: {
        ets_spec e = {y, o, f->season ? f->m : 0, f->trend, f->season};
        if (f->season && o < f->m) return;
        double phi = f->trend == 2 ? f->phi : 1.0;
        ets_filter(&e, y, o, 0, f->alpha, f->beta, f->gamma, phi, &l, &b, s);
        for (uint32_t h = 1; h <= H; h++) {
            double damp = 0, pw = 1;
            for (uint32_t i = 1; i <= h; i++) pw *= phi, damp += f->trend == 2 ? pw : 1;
            double v = l + (f->trend ? damp * b : 0);
            if (f->season == 1) v += s[(o + h - 1) % f->m];
            else if (f->season == 2) v *= s[(o + h - 1) % f->m];
            mean[h - 1] = v > 0 ? v : 0;
        }
        return;
    }
    case FC_CROSTON: {
        double z, x;
        croston_run(y, o, 0, f->alpha, &z, &x);
        for (uint32_t h = 0; h < H; h++) mean[h] = x > 0 ? (1 - f->alpha / 2) * z / x : 0;
        return;
    }
    case FC_TSB: {
        double z, p;
        tsb_run(y, o, o, f->alpha, f->beta, &z, &p);
        for (uint32_t h = 0; h < H; h++) mean[h] = p * z;
        return;
    }
    default:
        return;
    }
}
