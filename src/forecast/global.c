/* global.c - one model over every product (the M5 lesson): rows are
 * (series, forecast origin, horizon), features are the series' recent lags,
 * rolling means, intermittency and calendar of the target period, all
 * divided by the series' recent level so one model serves slow and fast
 * sellers; three gradient-boosted quantile models give p10/p50/p90, and the
 * last `calib` periods, held out of training, widen [p10, p90] by split-
 * conformal quantile regression (Romano, Patterson, Candes 2019) so the 80%
 * interval covers about 80%. */
#include "forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const fc_part_names[FC_N_PARTS] = {"base", "trend", "season", "recent", "price"};

int fc_global_feature_part(uint32_t f) {
    if (f == 0 || f == 25) return FC_PART_TREND;
    if (f >= 1 && f <= 16) return FC_PART_RECENT;
    if (f >= 17 && f <= 22) return FC_PART_SEASON;
    if (f == 23) return FC_PART_PRICE;
    return FC_PART_BASE;
}

void fc_global_free(fc_global *g) {
    if (!g) return;
    for (int q = 0; q < FC_NQ; q++) fc_gbt_free(&g->q[q]);
    core_free(g->cqr);
    memset(g, 0, sizeof *g);
}

static double window_mean(const float *y, uint32_t len, uint32_t w) {
    uint32_t k = w < len ? w : len;
    double s = 0;
    for (uint32_t i = len - k; i < len; i++) s += y[i];
    return k ? s / k : 0;
}

void fc_global_features(const fc_series *S, uint32_t s, uint32_t len, uint32_t h, uint32_t season, float *x,
                        float *scale_out) {
    const float *y = S->values + S->off[s];
    double scale = window_mean(y, len, 26);
    if (scale < 0.1) scale = 0.1;
    *scale_out = (float)scale;
    float inv = (float)(1.0 / scale);
    x[0] = (float)h;
    for (uint32_t k = 1; k <= 8; k++) x[k] = k <= len ? y[len - k] * inv : NAN;
    static const uint32_t wins[4] = {4, 8, 13, 26};
    for (int k = 0; k < 4; k++) x[9 + k] = len ? (float)(window_mean(y, len, wins[k]) * inv) : NAN;
    uint32_t w8 = len < 8 ? len : 8;
    double m8 = window_mean(y, len, 8), v = 0;
    for (uint32_t i = len - w8; i < len; i++) v += (y[i] - m8) * (y[i] - m8);
    x[13] = w8 > 1 ? (float)(sqrt(v / (w8 - 1)) * inv) : NAN;
    uint32_t w13 = len < 13 ? len : 13, nz = 0;
    for (uint32_t i = len - w13; i < len; i++) nz += y[i] > 0;
    x[14] = w13 ? (float)nz / (float)w13 : NAN;
    x[15] = NAN;
    for (uint32_t i = len; i-- > 0;)
        if (y[i] > 0) {
            uint32_t since = len - 1 - i;
            x[15] = (float)(since < 104 ? since : 104);
            break;
        }
    x[16] = (float)(len < 104 ? len : 104);
    /* the same period a season earlier, and its neighbours */
    int64_t si = season ? (int64_t)len - 1 + h - season : -1;
    x[17] = si >= 0 && si < len ? y[si] * inv : NAN;
    double sm = 0;
    int sn = 0;
    for (int64_t j = si - 1; season && j <= si + 1; j++)
        if (j >= 0 && j < len) sm += y[j], sn++;
    x[18] = sn ? (float)(sm / sn * inv) : NAN;
    int64_t target = S->last - S->len[s] + len + h; /* period index of the target */
    int64_t day = fc_period_first_day(S->period, target);
    int yy, mm, dd;
    fc_civil(day, &yy, &mm, &dd);
    x[19] = (float)fc_week_of_year(day);
    x[20] = S->period == FC_PERIOD_DAY ? (float)fc_day_of_week(day) : NAN;
    x[21] = (float)fc_is_holiday(S, target);
    x[22] = (float)mm;
    x[23] = isnan(S->price[s]) || S->price[s] < 0 ? NAN : log1pf(S->price[s]);
    x[24] = (float)log(scale);
    /* least-squares slope of the last 13 values, per period, scaled */
    if (w13 >= 3) {
        double mx = (w13 - 1) / 2.0, my = window_mean(y, len, 13), sxy = 0, sxx = 0;
        for (uint32_t i = 0; i < w13; i++) {
            double dx = i - mx;
            sxy += dx * (y[len - w13 + i] - my);
            sxx += dx * dx;
        }
        x[25] = (float)(sxy / sxx * inv);
    } else {
        x[25] = NAN;
    }
}

/* Up to two training sets (calibration, refit) x three quantiles: six
 * independent tree ensembles, trained in parallel. */
typedef struct train_ctx {
    const float *x[2], *y[2];
    size_t n[2];
    const fc_global_params *p;
    fc_gbt *out[2]; /* FC_NQ models each */
} train_ctx;

static int train_one(void *vctx, size_t begin, size_t end, int tid) {
    train_ctx *c = vctx;
    for (size_t t = begin; t < end; t++) {
        size_t set = t / FC_NQ, q = t % FC_NQ;
        fc_gbt_params gp = c->p->gbt;
        gp.tau = fc_taus[q];
        gp.seed = c->p->gbt.seed + t;
        int rc = fc_gbt_train(c->x[set], c->y[set], c->n[set], FC_GLOBAL_FEATURES, &gp, &c->out[set][q]);
        if (rc) return rc;
    }
    return AISLE_OK;
}

static int cmp_f32(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Conformal offset: the ceil((n+1)(1-a))-th smallest score (a = 0.2). */
static float conformal(float *e, size_t n) {
    if (!n) return 0;
    qsort(e, n, sizeof *e, cmp_f32);
    size_t k = (size_t)ceil((double)(n + 1) * 0.8);
    return e[(k > n ? n : k) - 1];
}

/* Training rows: every product's origins o (values seen) and horizons h
 * whose target lies before the last `excl` periods, sampled down to at
 * most max_rows (Bernoulli, deterministic by seed).  *x and *y are
 * allocated. */
static int collect_rows(const fc_series *S, const fc_global_params *p, uint32_t excl, float **xo, float **yo,
                        size_t *no) {
    uint32_t H = p->horizon;
    uint64_t total = 0;
    for (uint32_t s = 0; s < S->n_items; s++) {
        uint32_t L = S->len[s];
        if (L <= excl + 1) continue;
        uint32_t lim = L - excl;
        for (uint32_t o = 1; o < lim; o++) total += (lim - o < H ? lim - o : H);
    }
    if (!total)
        return core_error(AISLE_EINVAL, "forecast: the series are too short for the global model "
                                        "(need more than %u periods)", excl + 2);
    uint64_t want = total < p->max_rows ? total : p->max_rows;
    double keep = (double)want / (double)total;
    size_t cap = (size_t)(want + want / 8 + 64);
    float *x = core_malloc(cap * FC_GLOBAL_FEATURES * sizeof *x);
    float *y = core_malloc(cap * sizeof *y);
    if (!x || !y) {
        core_free(x);
        core_free(y);
        return core_oom("forecast global rows");
    }
    core_rng rng;
    rng_seed(&rng, p->gbt.seed ^ 0x5eed);
    size_t n = 0;
    for (uint32_t s = 0; s < S->n_items; s++) {
        uint32_t L = S->len[s];
        if (L <= excl + 1) continue;
        const float *ys = S->values + S->off[s];
        uint32_t lim = L - excl;
        for (uint32_t o = 1; o < lim && n < cap; o++)
            for (uint32_t h = 1; h <= H && o + h <= lim && n < cap; h++) {
                if (keep < 1 && rng_double(&rng) >= keep) continue;
                float sc;
                fc_global_features(S, s, o, h, p->season, x + n * FC_GLOBAL_FEATURES, &sc);
                y[n++] = ys[o + h - 1] / sc;
            }
    }
    *xo = x, *yo = y, *no = n;
    return AISLE_OK;
}

int fc_global_train(const fc_series *S, const fc_global_params *p, fc_global *out) {
    memset(out, 0, sizeof *out);
    uint32_t H = p->horizon, C = p->calib;
    float *x = NULL, *y = NULL;
    size_t n = 0, n_cal = 0, nc = 0;
    int rc = collect_rows(S, p, C, &x, &y, &n);
    if (rc) return rc;
    for (uint32_t s = 0; s < S->n_items; s++) n_cal += S->len[s] > C + 1 ? C : 0;
    float *cx = core_malloc((n_cal ? n_cal : 1) * FC_GLOBAL_FEATURES * sizeof *cx);
    float *cy = core_malloc((n_cal ? n_cal : 1) * sizeof *cy);
    uint32_t *ch = core_malloc((n_cal ? n_cal : 1) * sizeof *ch);
    float *e = core_malloc((n_cal ? n_cal : 1) * sizeof *e);
    if (!cx || !cy || !ch || !e) rc = core_oom("forecast global rows");
    for (uint32_t s = 0; !rc && s < S->n_items; s++) {
        uint32_t L = S->len[s];
        if (L <= C + 1) continue;
        const float *ys = S->values + S->off[s];
        uint32_t lim = L - C;
        for (uint32_t h = 1; h <= C; h++) {
            float sc;
            fc_global_features(S, s, lim, h < H ? h : H, p->season, cx + nc * FC_GLOBAL_FEATURES, &sc);
            cx[nc * FC_GLOBAL_FEATURES] = (float)(h < H ? h : H);
            cy[nc] = ys[lim + h - 1] / sc;
            ch[nc++] = h;
        }
    }
    if (!rc && !n) rc = core_error(AISLE_EINVAL, "forecast: no training rows for the global model");
    /* The offsets come from models that never saw the last C periods; the
     * models kept are fitted on everything, so the newest demand counts. */
    float *xa = NULL, *ya = NULL;
    size_t na = 0;
    if (!rc && nc) rc = collect_rows(S, p, 0, &xa, &ya, &na);
    fc_gbt cal[FC_NQ];
    memset(cal, 0, sizeof cal);
    train_ctx tc = {{xa, x}, {ya, y}, {na, n}, p, {out->q, cal}};
    if (!rc) {
        if (!nc) { /* no calibration window: the models of all rows only */
            tc.x[0] = x, tc.y[0] = y, tc.n[0] = n;
        }
        rc = core_parallel_for(p->gbt.threads, nc ? 2 * FC_NQ : FC_NQ, 1, train_one, &tc);
    }
    core_free(xa);
    core_free(ya);
    if (!rc) {
        out->horizon = H;
        out->cqr = core_calloc(H, sizeof *out->cqr);
        if (!out->cqr) rc = core_oom("forecast global");
    }
    if (!rc && nc) {
        /* conformity scores per horizon; horizons with few rows use all rows */
        for (size_t i = 0; i < nc; i++) {
            float lo = fc_gbt_predict(&cal[FC_Q10], cx + i * FC_GLOBAL_FEATURES);
            float hi = fc_gbt_predict(&cal[FC_Q90], cx + i * FC_GLOBAL_FEATURES);
            e[i] = fmaxf(lo - cy[i], cy[i] - hi);
        }
        float *eh = core_malloc(nc * sizeof *eh);
        if (!eh) rc = core_oom("forecast global");
        float pooled = 0;
        if (!rc) {
            memcpy(eh, e, nc * sizeof *eh);
            pooled = conformal(eh, nc);
        }
        for (uint32_t h = 1; !rc && h <= H; h++) {
            size_t m = 0;
            for (size_t i = 0; i < nc; i++)
                if (ch[i] == h) eh[m++] = e[i];
            out->cqr[h - 1] = m >= 30 ? conformal(eh, m) : pooled;
        }
        core_free(eh);
    }
    for (int q = 0; q < FC_NQ; q++) fc_gbt_free(&cal[q]);
    out->trained = !rc;
    core_free(x);
    core_free(y);
    core_free(cx);
    core_free(cy);
    core_free(ch);
    core_free(e);
    if (rc) fc_global_free(out);
    return rc;
}

void fc_global_predict(const fc_global *g, const fc_series *S, uint32_t s, uint32_t season, uint32_t H,
                       double (*q)[FC_NQ]) {
    float x[FC_GLOBAL_FEATURES], sc;
    for (uint32_t h = 1; h <= H; h++) {
        uint32_t hh = h < g->horizon ? h : g->horizon;
        fc_global_features(S, s, S->len[s], h, season, x, &sc);
        x[0] = (float)hh;
        double v[FC_NQ];
        for (int k = 0; k < FC_NQ; k++) v[k] = fc_gbt_predict(&g->q[k], x);
        double off = g->cqr ? g->cqr[hh - 1] : 0;
        v[FC_Q10] -= off;
        v[FC_Q90] += off;
        /* quantile models are trained apart: restore their order */
        if (v[0] > v[1]) { double t = v[0]; v[0] = v[1]; v[1] = t; }
        if (v[1] > v[2]) { double t = v[1]; v[1] = v[2]; v[2] = t; }
        if (v[0] > v[1]) { double t = v[0]; v[0] = v[1]; v[1] = t; }
        for (int k = 0; k < FC_NQ; k++) q[h - 1][k] = v[k] > 0 ? v[k] * sc : 0;
    }
}
