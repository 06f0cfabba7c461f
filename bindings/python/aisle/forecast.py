"""aisle_forecast: demand forecasts per product and category, prediction
intervals, reorder quantities, explanations and backtests
(docs/FORECAST.md)."""
import collections
import ctypes
import datetime
import os

from . import _lib
from ._base import Handle, dec, enc
from .config import make_config
from .errors import check

Period = collections.namedtuple("Period", "start p10 p50 p90")
Period.__doc__ = """One forecast period: start (a datetime.date, a Monday for
weekly periods) and the 10%, 50% and 90% quantiles of its demand."""

Reorder = collections.namedtuple("Reorder", "reorder_point order_quantity")


def _with_config(call, config, options):
    cfg, _ = make_config(config, options)
    try:
        check(call(cfg._h))
    finally:
        cfg.close()


def _date(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).date()


class Forecast(Handle):
    """A trained or loaded demand forecast.  Immutable: its methods may be
    called from many threads at once."""

    _free_name = "forecast_free"
    _what = "forecast"

    def __init__(self, _ptr=None):
        super().__init__()
        if _ptr is None:
            raise TypeError("aisle.Forecast: use Forecast.train(...) or Forecast.load(...)")
        self._adopt(_ptr)

    @classmethod
    def train(cls, dataset, *, catalog=None, config=None, **options):
        """Trains on a Dataset's purchase events (quantities as values).
        Options: period ("week"|"day"), horizon, method ("auto", "snaive",
        "ets", "croston", "tsb", "global"), season_length, holidays,
        end_date, min_sale_periods, forecast_trees, threads, seed, ..."""
        out = ctypes.c_void_p()
        cat = catalog._h if catalog is not None else None
        _with_config(lambda cfg: _lib.fn.forecast_train(dataset._h, cat, cfg, ctypes.byref(out)), config, options)
        return cls(out.value)

    @classmethod
    def load(cls, path, config=None, **options):
        """Loads a file written by save()."""
        p = enc(os.fspath(path), "path")
        out = ctypes.c_void_p()
        _with_config(lambda cfg: _lib.fn.forecast_load(ctypes.byref(out), p, cfg), config, options)
        return cls(out.value)

    @classmethod
    def from_bytes(cls, data, config=None, **options):
        data = bytes(data)
        out = ctypes.c_void_p()
        _with_config(lambda cfg: _lib.fn.forecast_load_buffer(ctypes.byref(out), data, len(data), cfg),
                     config, options)
        return cls(out.value)

    def save(self, path, config=None, **options):
        """Saves atomically (temporary file, fsync, rename)."""
        p = enc(os.fspath(path), "path")
        _with_config(lambda cfg: _lib.fn.forecast_save(self._h, p, cfg), config, options)

    def to_bytes(self, config=None, **options):
        buf, n = ctypes.c_void_p(), ctypes.c_size_t()
        _with_config(lambda cfg: _lib.fn.forecast_save_buffer(self._h, cfg, ctypes.byref(buf), ctypes.byref(n)),
                     config, options)
        try:
            return ctypes.string_at(buf.value, n.value) if n.value else b""
        finally:
            _lib.fn.free(buf)

    def _count(self, f):
        out = ctypes.c_size_t()
        check(f(self._h, ctypes.byref(out)))
        return out.value

    def _keys(self, count, key):
        out = []
        for i in range(self._count(count)):
            s = ctypes.c_char_p()
            check(key(self._h, i, ctypes.byref(s)))
            out.append(dec(s.value))
        return out

    def items(self):
        """Keys of the forecast products."""
        return self._keys(_lib.fn.forecast_item_count, _lib.fn.forecast_item_key)

    def categories(self):
        """Catalog categories (empty without a catalog)."""
        return self._keys(_lib.fn.forecast_category_count, _lib.fn.forecast_category_key)

    def _periods(self, f, key, horizon):
        h = int(horizon)
        if h < 1:
            raise ValueError("aisle: horizon must be >= 1, got %d" % h)
        start = (ctypes.c_int64 * h)()
        q = [(ctypes.c_double * h)() for _ in range(3)]
        check(f(self._h, enc(key, "key"), h, start, q[0], q[1], q[2]))
        return [Period(_date(start[i]), q[0][i], q[1][i], q[2][i]) for i in range(h)]

    def forecast(self, item, horizon=8):
        """The next `horizon` periods of a product as a list of Period."""
        return self._periods(_lib.fn.forecast_item, item, horizon)

    def forecast_category(self, category, horizon=8):
        return self._periods(_lib.fn.forecast_category, category, horizon)

    def mean(self, item, horizon=8):
        """Point forecasts (the model's mean; the median for the global model)."""
        h = int(horizon)
        out = (ctypes.c_double * max(h, 1))()
        check(_lib.fn.forecast_mean(self._h, enc(item, "item key"), h, out))
        return list(out)[:h]

    def method(self, item):
        """The method that forecasts this product ("ets", "tsb", "global", ...)."""
        out = ctypes.c_char_p()
        check(_lib.fn.forecast_method(self._h, enc(item, "item key"), ctypes.byref(out)))
        return dec(out.value)

    def history(self, item):
        """(first period start as a date, demand per period)."""
        n, first = ctypes.c_size_t(), ctypes.c_int64()
        rc = _lib.fn.forecast_history(self._h, enc(item, "item key"), None, 0, ctypes.byref(n), None)
        if rc not in (0, -6):
            check(rc)
        buf = (ctypes.c_double * max(n.value, 1))()
        check(_lib.fn.forecast_history(self._h, enc(item, "item key"), buf, n.value, ctypes.byref(n),
                                       ctypes.byref(first)))
        return _date(first.value), list(buf)[:n.value]

    def reorder(self, item, lead_time, review_period=0.0, service_level=0.95, stock_on_hand=0.0):
        """Reorder point and order quantity (formula in the C header)."""
        rop, qty = ctypes.c_double(), ctypes.c_double()
        check(_lib.fn.forecast_reorder(self._h, enc(item, "item key"), float(lead_time), float(review_period),
                                       float(service_level), float(stock_on_hand), ctypes.byref(rop),
                                       ctypes.byref(qty)))
        return Reorder(rop.value, qty.value)

    def explain(self, item, period=1):
        """{"base", "trend", "season", "recent", "price"} contributions to
        the forecast of period `period` (1 = the next one)."""
        names = (ctypes.c_char_p * 8)()
        values = (ctypes.c_double * 8)()
        n = ctypes.c_size_t()
        check(_lib.fn.forecast_explain(self._h, enc(item, "item key"), int(period), names, values, 8,
                                       ctypes.byref(n)))
        return {dec(names[i]): values[i] for i in range(n.value)}

    def describe(self):
        needed = ctypes.c_size_t()
        rc = _lib.fn.forecast_describe(self._h, None, 0, ctypes.byref(needed))
        if rc not in (0, -6):
            check(rc)
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(_lib.fn.forecast_describe(self._h, buf, needed.value + 1, None))
        return dec(buf.value)


def backtest(dataset, holdout, *, catalog=None, config=None, **options):
    """Rolling-origin backtest over the last `holdout` periods; returns a
    dict of figures (mase, smape, pinball_p10, pinball_p90, coverage_80,
    ...)."""
    out = ctypes.c_void_p()
    cat = catalog._h if catalog is not None else None
    _with_config(lambda cfg: _lib.fn.forecast_backtest(dataset._h, cat, cfg, int(holdout), ctypes.byref(out)),
                 config, options)
    try:
        n = ctypes.c_size_t()
        check(_lib.fn.forecast_report_count(out, ctypes.byref(n)))
        figures = {}
        for i in range(n.value):
            name, value = ctypes.c_char_p(), ctypes.c_double()
            check(_lib.fn.forecast_report_at(out, i, ctypes.byref(name), ctypes.byref(value)))
            figures[dec(name.value)] = value.value
        return figures
    finally:
        _lib.fn.forecast_report_free(out)
