/*
 * forecast.h - internal interface of the forecast module: per-product demand
 * series built from purchase events, local models (seasonal naive, ETS,
 * Croston, TSB), a global gradient-boosted quantile model over lag and
 * rolling-window features of every series, calibrated prediction intervals,
 * backtests, reorder quantities and the model file (docs/FORECAST.md).
 *
 * It sits above src/data (events, catalogs) and src/io (the model
 * container); nothing below includes it.
 */
#ifndef AISLE_FORECAST_H
#define AISLE_FORECAST_H

#include "core/core.h"
#include "data/data.h"

extern const option_spec forecast_options[];

enum { FC_PERIOD_DAY = 0, FC_PERIOD_WEEK = 1 };

/* Methods; FC_AUTO only in options (each series gets a concrete one). */
enum { FC_SNAIVE = 0, FC_ETS = 1, FC_CROSTON = 2, FC_TSB = 3, FC_GLOBAL = 4, FC_ZERO = 5, FC_N_METHODS = 6,
       FC_AUTO = 99 };
const char *fc_method_name(int method);

/* Quantile levels of the output. */
enum { FC_Q10 = 0, FC_Q50 = 1, FC_Q90 = 2, FC_NQ = 3 };
extern const double fc_taus[FC_NQ];

/* ---- calendar (series.c) ---- */
/* Period index of a day number (days since 1970-01-01): the day itself, or
 * the Monday-based week (week 0 starts Monday 1969-12-29). */
int64_t fc_period_of_day(int period, int64_t day);
/* First day (days since the epoch) of a period index. */
int64_t fc_period_first_day(int period, int64_t p);
/* Civil date of a day number. */
void fc_civil(int64_t day, int *y, int *m, int *d);
/* ISO-8601-like week of year (1..53) and day of week (0 = Monday). */
int fc_week_of_year(int64_t day);
int fc_day_of_week(int64_t day);

/* ---- the series set (series.c) ----
 * Every series ends at the same last period `last`; series s covers periods
 * [last - len[s] + 1, last], its values at values[off[s] ..].  Product
 * series come first (item index = position in `items`), category series
 * (sums of their products) after them. */
typedef struct fc_series {
    int period;           /* FC_PERIOD_* */
    int64_t last;         /* period index of the last period */
    uint32_t n, n_items;  /* series; of which products (the rest are categories) */
    uint64_t *off;        /* n + 1 */
    uint32_t *len;        /* n */
    float *values;        /* off[n] */
    float *price;         /* n: catalog price (NaN when unknown) */
    core_keys items, categories;
    uint32_t *category;   /* n_items: category index or UINT32_MAX */
    int64_t *holidays;    /* sorted day numbers */
    size_t n_holidays;
    /* what building saw (describe, docs) */
    uint64_t events_used, events_future, periods_clamped;
} fc_series;

typedef struct fc_build_opts {
    int period;
    int64_t end_day;           /* INT64_MIN: the day of the last event */
    uint32_t min_sale_periods; /* products with fewer periods with sales are left out */
} fc_build_opts;

int fc_series_build(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg, fc_series *out);
void fc_series_free(fc_series *s);
/* A copy of s with every series cut `drop` periods earlier (series that
 * then have no value are kept with length 0).  For backtests. */
int fc_series_truncate(const fc_series *s, uint32_t drop, fc_series *out);
/* Parses the holidays option ("2011-12-25,2011-12-26"). */
int fc_parse_holidays(const char *text, int64_t **days, size_t *n);
int fc_is_holiday(const fc_series *s, int64_t period);

/* ---- local models (local.c) ---- */
typedef struct fc_local {
    uint8_t method;   /* FC_SNAIVE, FC_ETS, FC_CROSTON, FC_TSB, FC_ZERO */
    uint8_t trend;    /* ETS: 0 none, 1 additive, 2 damped additive */
    uint8_t season;   /* ETS: 0 none, 1 additive, 2 multiplicative */
    uint8_t pad;
    uint32_t m;       /* season length used (0 = none) */
    float alpha, beta, gamma, phi;
    float level, slope;  /* ETS level / trend; Croston/TSB size and interval or probability */
    float scale;         /* residual scale of the series (mean |y| of its history, > 0) */
    float *seas;         /* ETS seasonal states: seas[j] belongs to the season of period last+1+j (mod m) */
} fc_local;

/* Fits `method` to y[0..n) (parameters by a bounded Nelder-Mead or a grid
 * on one-step-ahead squared error), using the first n_fit values to fit
 * parameters and all n to filter the state.  seas is allocated for
 * seasonal ETS.  m: season length. */
int fc_local_fit(const float *y, uint32_t n, uint32_t n_fit, int method, uint32_t m, fc_local *out);
/* Point forecasts (means) for h = 1..H after the end of the series; y, n
 * as fitted (seasonal naive reads them). */
void fc_local_forecast(const fc_local *f, const float *y, uint32_t n, uint32_t H, double *mean);
/* Forecast decomposition at horizon h: level, trend, season parts. */
void fc_local_parts(const fc_local *f, const float *y, uint32_t n, uint32_t h, double *level, double *trend,
                    double *season);
/* Forecasts for o+1..o+H with f's parameters, its state re-filtered over
 * y[0..o) (calibration at earlier origins without refitting). */
void fc_local_forecast_from(const fc_local *f, const float *y, uint32_t o, uint32_t H, double *mean);
void fc_local_free(fc_local *f);
/* Mean |y| over y[0..n), floored so it is > 0 (interval scale). */
float fc_series_scale(const float *y, uint32_t n);

/* ---- gradient-boosted quantile trees (gbt.c) ---- */
typedef struct fc_gbt_node {
    int32_t feature;   /* -1: leaf */
    uint32_t left;     /* child index (right = left + 1) */
    float threshold;   /* go left when x <= threshold (missing values, NaN, go left) */
    float value;       /* leaf: the leaf output; inner: mean output of its training rows (for explain) */
} fc_gbt_node;

typedef struct fc_gbt {
    uint32_t n_features, n_trees;
    float base;                /* initial prediction (tau-quantile of the targets) */
    uint32_t *tree_off;        /* n_trees + 1: first node of each tree */
    fc_gbt_node *nodes;
    size_t n_nodes;
} fc_gbt;

typedef struct fc_gbt_params {
    uint32_t trees, depth, min_leaf, bins;
    double learning_rate, subsample, tau;
    uint64_t seed;
    int threads;
} fc_gbt_params;

/* Trains on rows x[n x n_features] (row-major, NaN = missing) and targets y. */
int fc_gbt_train(const float *x, const float *y, size_t n, uint32_t n_features, const fc_gbt_params *p,
                 fc_gbt *out);
float fc_gbt_predict(const fc_gbt *g, const float *x);
/* Adds each feature's contribution to contrib[n_features] (path
 * attribution: the change of the node mean along the decision path) and
 * returns the prediction; prediction = base + sum of contributions. */
float fc_gbt_contrib(const fc_gbt *g, const float *x, double *contrib);
void fc_gbt_free(fc_gbt *g);

/* ---- the global model (global.c) ---- */
enum { FC_GLOBAL_FEATURES = 26 };
/* Feature groups for explain. */
enum { FC_PART_BASE = 0, FC_PART_TREND = 1, FC_PART_SEASON = 2, FC_PART_RECENT = 3, FC_PART_PRICE = 4,
       FC_N_PARTS = 5 };
extern const char *const fc_part_names[FC_N_PARTS];
int fc_global_feature_part(uint32_t f);

typedef struct fc_global {
    int trained;
    uint32_t horizon;           /* horizons the model was trained for */
    fc_gbt q[FC_NQ];            /* p10, p50, p90 models of y / scale */
    float *cqr;                 /* horizon: conformal widening of [p10, p90] per horizon (scaled units) */
} fc_global;

typedef struct fc_global_params {
    uint32_t horizon, season, calib;
    uint64_t max_rows;
    fc_gbt_params gbt;
} fc_global_params;

/* The features of series s forecast from the end of its first `len`
 * values for horizon h; scale receives the normaliser. */
void fc_global_features(const fc_series *S, uint32_t s, uint32_t len, uint32_t h, uint32_t season, float *x,
                        float *scale);
int fc_global_train(const fc_series *S, const fc_global_params *p, fc_global *out);
/* Quantiles (p10, p50, p90) of series s for h = 1..H, in demand units. */
void fc_global_predict(const fc_global *g, const fc_series *S, uint32_t s, uint32_t season, uint32_t H,
                       double (*q)[FC_NQ]);
void fc_global_free(fc_global *g);

/* ---- the trained handle (forecast.c) ---- */
typedef struct fc_qtable {
    uint32_t horizon;     /* rows */
    float *q;             /* horizon x FC_NQ scaled residual quantiles */
} fc_qtable;

struct aisle_forecast {
    fc_series S;
    int method_opt;              /* option method (FC_AUTO or one) */
    uint32_t season;             /* season length in periods */
    uint32_t horizon;            /* trained horizon (calibration, global model) */
    uint8_t *method;             /* n: method of each series */
    fc_local *local;             /* n */
    fc_global global;
    fc_qtable qt[FC_N_METHODS];  /* scaled residual quantiles per local method */
    char options[512];           /* training options (describe) */
};

int fc_train_series(fc_series *S, const aisle_config *cfg, aisle_forecast **out); /* takes S over on success */
/* Forecast of series s: period starts (epoch seconds), mean and quantiles. */
int fc_predict_series(const aisle_forecast *fc, uint32_t s, uint32_t H, int64_t *start, double *mean,
                      double (*q)[FC_NQ]);
int fc_resolve_method(const char *name);

/* ---- file (file.c) ---- */
int fc_save_buffer(const aisle_forecast *fc, const aisle_config *cfg, void **out, size_t *len);

#endif /* AISLE_FORECAST_H */
