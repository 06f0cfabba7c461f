/* options.c - options of the forecast module (docs/FORECAST.md). */
#include "forecast.h"

const option_spec forecast_options[] = {
    OPTION_CHOICE("period", "week", "day|week", "forecast",
     "Forecast granularity: day, or week (weeks start on Monday, UTC)."),
    OPTION_INT("horizon", 1, 1000, "8", "forecast",
     "Periods the forecast is trained and calibrated for (intervals, global model); later periods reuse "
     "the last horizon's model and widen intervals by sqrt(h / horizon)."),
    OPTION_CHOICE("method", "auto", "auto|snaive|ets|croston|tsb|global", "forecast",
     "Forecast model: seasonal naive, exponential smoothing (ETS, chosen per series by AIC among "
     "none/additive/damped trend and none/additive/multiplicative season), Croston (SBA), TSB, the global "
     "gradient-boosted model over every product, or auto: the global model for products with more than "
     "horizon + 1 periods of history, else TSB for intermittent series (average interval between sales > "
     "1.32 periods) and ETS for the others (and for categories)."),
    OPTION_INT("season_length", 0, 400, "0", "forecast",
     "Season length in periods; 0: 7 for period=day, 52 for period=week."),
    OPTION_STRING("holidays", "", "forecast",
     "Holiday dates (YYYY-MM-DD, separated by ',' ';' or spaces): a calendar feature of the global model "
     "(whether a forecast period holds a holiday)."),
    OPTION_STRING("end_date", "", "forecast",
     "Last day of data used (YYYY-MM-DD, UTC); later events are ignored and counted as future events. "
     "Empty: the day of the last event."),
    OPTION_INT("min_sale_periods", 1, 1000000, "1", "forecast",
     "Products with fewer periods with sales than this are left out of the forecast."),
    OPTION_INT("forecast_trees", 1, 10000, "120", "forecast", "Global model: boosted trees per quantile."),
    OPTION_INT("forecast_depth", 1, 12, "5", "forecast", "Global model: tree depth."),
    OPTION_FLOAT("forecast_learning_rate", 0.001, 1, "0.1", "forecast", "Global model: shrinkage of each tree."),
    OPTION_INT("forecast_max_rows", 1000, 1e9, "200000", "forecast",
     "Global model: training rows (series x origin x horizon) sampled at most."),
    OPTION_INT("backtest_origins", 1, 100, "3", "forecast",
     "Backtests: rolling forecast origins within the holdout (evenly spaced from its start)."),
    OPTION_END};
