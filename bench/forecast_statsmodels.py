#!/usr/bin/python3
"""Peer for bench_forecast: statsmodels' ExponentialSmoothing (Holt's
additive damped trend, parameters and initial states estimated by
maximum likelihood) on the series bench_forecast writes.

Input (argv[1]): one series per line, "id horizon v1 v2 ... vn".
Output (argv[2]): "id f1 ... f_horizon" point forecasts per line; the
last line is "seconds S" (fitting and forecasting time, this process).
Short series (fewer than 4 values) and fits that fail use a level-only
model, then the last value."""
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

warnings.filterwarnings("ignore")


def forecast(y, h):
    if len(y) >= 4:
        try:
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True,
                                       initialization_method="estimated").fit()
            f = fit.forecast(h)
            if np.all(np.isfinite(f)):
                return f
        except Exception:
            pass
    try:
        fit = ExponentialSmoothing(y, initialization_method="estimated").fit()
        f = fit.forecast(h)
        if np.all(np.isfinite(f)):
            return f
    except Exception:
        pass
    return np.repeat(y[-1], h)


def main():
    rows = []
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.split()
            rows.append((p[0], int(p[1]), np.array([float(v) for v in p[2:]])))
    t0 = time.process_time()
    out = []
    for sid, h, y in rows:
        f = np.maximum(forecast(y, h), 0.0)  # demand is never negative, as in aisle
        out.append(sid + " " + " ".join("%.6g" % v for v in f))
    secs = time.process_time() - t0
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
        f.write("seconds %.3f\n" % secs)


if __name__ == "__main__":
    main()
