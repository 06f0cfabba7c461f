/* options.c - options of the forecast module (docs/FORECAST.md). */
#include "forecast.h"

const option_spec forecast_options[] = {
    {"period", AISLE_OPTION_STRING, 0, 0, "week", "day|week", "forecast",
     "Forecast granularity: day, or week (weeks start on Monday, UTC)."},
    {"horizon", AISLE_OPTION_INT, 1, 1000, "8", NULL, "forecast",
     "Periods the forecast is trained and calibrated for (intervals, global model); later "
     "periods reuse the last horizon's model and widen intervals by sqrt(h / horizon)."},
    {"method", AISLE_OPTION_STRING, 0, 0, "auto", "auto|snaive|ets|croston|tsb|global", "forecast",
     "Forecast model: seasonal naive, exponential smoothing (ETS, chosen per series by AIC among "
     "none/additive/damped trend and none/additive/multiplicative season), Croston (SBA), TSB, the "
     "global gradient-boosted model over every product, or auto: the global model for products "
     "with more than horizon + 1 periods of history, else TSB for intermittent series (average "
     "interval between sales > 1.32 periods) and ETS for the others (and for categories)."},
    {"season_length", AISLE_OPTION_INT, 0, 400, "0", NULL, "forecast",
     "Season length in periods; 0: 7 for period=day, 52 for period=week."},
    {"holidays", AISLE_OPTION_STRING, 0, 0, "", NULL, "forecast",
     "Holiday dates (YYYY-MM-DD, separated by ',' ';' or spaces): a calendar feature of the global "
     "model (whether a forecast period holds a holiday)."},
    {"end_date", AISLE_OPTION_STRING, 0, 0, "", NULL, "forecast",
     "Last day of data used (YYYY-MM-DD, UTC); later events are ignored and counted as future "
     "events. Empty: the day of the last event."},
    {"min_sale_periods", AISLE_OPTION_INT, 1, 1000000, "1", NULL, "forecast",
     "Products with fewer periods with sales than this are left out of the forecast."},
    {"forecast_trees", AISLE_OPTION_INT, 1, 10000, "120", NULL, "forecast",
     "Global model: boosted trees per quantile."},
    {"forecast_depth", AISLE_OPTION_INT, 1, 12, "5", NULL, "forecast", "Global model: tree depth."},
    {"forecast_learning_rate", AISLE_OPTION_FLOAT, 0.001, 1, "0.1", NULL, "forecast",
     "Global model: shrinkage of each tree."},
    {"forecast_max_rows", AISLE_OPTION_INT, 1000, 1e9, "200000", NULL, "forecast",
     "Global model: training rows (series x origin x horizon) sampled at most."},
    {"backtest_origins", AISLE_OPTION_INT, 1, 100, "3", NULL, "forecast",
     "Backtests: rolling forecast origins within the holdout (evenly spaced from its start)."},
    OPTION_END};
