"""aisle.Forecast: training, forecasts with Monday weeks, intervals, reorder,
explain, categories, save/load, backtest and errors."""
import datetime
import os
import tempfile
import threading
import unittest

import aisle

MONDAY = 1704067200  # 2024-01-01


def weekly_sales(weeks=30):
    events = []
    for w in range(weeks):
        t = MONDAY + w * 7 * 86400 + 3600
        events.append(("u", "mug", "purchase", 10.0 + (w % 4), t))
        events.append(("u", "tea", "purchase", 5.0, t + 86400))
        if w % 5 == 0:
            events.append(("u", "kettle", "purchase", 2.0, t))
    return events


class TestForecast(unittest.TestCase):
    def setUp(self):
        self.ds = aisle.Dataset(weekly_sales())

    def tearDown(self):
        self.ds.close()

    def test_weekly_forecast_starts_on_mondays_with_ordered_quantiles(self):
        with aisle.Forecast.train(self.ds, period="week", horizon=4, method="ets", threads=1) as fc:
            self.assertEqual(sorted(fc.items()), ["kettle", "mug", "tea"])
            periods = fc.forecast("tea", 4)
            self.assertEqual(len(periods), 4)
            self.assertEqual(periods[0].start, datetime.date(2024, 7, 29))
            for p in periods:
                self.assertEqual(p.start.weekday(), 0)
                self.assertTrue(0 <= p.p10 <= p.p50 <= p.p90)
                self.assertAlmostEqual(p.p50, 5.0, places=3)
            self.assertEqual(fc.method("tea"), "ets")
            first, values = fc.history("mug")
            self.assertEqual(first, datetime.date(2024, 1, 1))
            self.assertEqual(values[:4], [10.0, 11.0, 12.0, 13.0])
            self.assertIn("3 products", fc.describe())

    def test_reorder_explain_and_mean(self):
        with aisle.Forecast.train(self.ds, method="snaive", season_length=1) as fc:
            r = fc.reorder("tea", lead_time=2, review_period=1, service_level=0.95, stock_on_hand=4)
            # mean demand 5 a week; safety stock from the pooled errors on top
            self.assertGreaterEqual(r.reorder_point, 10.0)
            self.assertGreaterEqual(r.order_quantity, 11.0)
            self.assertLess(r.reorder_point, 20.0)
            parts = fc.explain("tea", 1)
            self.assertEqual(set(parts), {"base", "trend", "season", "recent", "price"})
            self.assertAlmostEqual(sum(parts.values()), fc.mean("tea", 1)[0], places=6)

    def test_categories_from_a_catalog(self):
        cat = aisle.Catalog()
        cat.add("mug", "Mug", category="Kitchen", price=4.5)
        cat.add("tea", "Tea", category="Kitchen", price=3.0)
        with aisle.Forecast.train(self.ds, catalog=cat, method="snaive") as fc:
            self.assertEqual(fc.categories(), ["Kitchen"])
            k = fc.forecast_category("Kitchen", 2)
            self.assertAlmostEqual(k[0].p50, fc.forecast("mug", 1)[0].p50 + fc.forecast("tea", 1)[0].p50,
                                   places=3)
        cat.close()

    def test_save_load_and_bytes_give_the_same_forecasts(self):
        with aisle.Forecast.train(self.ds, horizon=3, forecast_trees=5) as fc:
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "f.aisle")
                fc.save(path)
                with aisle.Forecast.load(path) as again:
                    self.assertEqual(again.forecast("mug", 3), fc.forecast("mug", 3))
            with aisle.Forecast.from_bytes(fc.to_bytes()) as again:
                self.assertEqual(again.forecast("kettle", 2), fc.forecast("kettle", 2))

    def test_threads_share_one_forecast(self):
        with aisle.Forecast.train(self.ds, method="tsb") as fc:
            want = fc.forecast("kettle", 5)
            bad = []

            def work():
                for _ in range(50):
                    if fc.forecast("kettle", 5) != want:
                        bad.append(1)

            ts = [threading.Thread(target=work) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(bad, [])

    def test_backtest_reports_figures(self):
        figures = aisle.backtest(self.ds, 4, method="ets", backtest_origins=2)
        for name in ("mase", "smape", "pinball_p10", "pinball_p90", "coverage_80"):
            self.assertIn(name, figures)
        self.assertEqual(figures["origins"], 2)

    def test_errors(self):
        with aisle.Forecast.train(self.ds) as fc:
            with self.assertRaises(aisle.NotFound):
                fc.forecast("nothing")
            with self.assertRaises(ValueError):
                fc.forecast("mug", 0)
            with self.assertRaises(aisle.OutOfRange):
                fc.reorder("mug", lead_time=0)
        with self.assertRaises(aisle.InvalidArgument):
            aisle.Forecast.train(self.ds, period="month")
        with aisle.Dataset([("u", "x", "purchase", 1.0, 0)]) as no_time:
            with self.assertRaises(aisle.InvalidArgument) as cm:
                aisle.Forecast.train(no_time)
            self.assertIn("no time", str(cm.exception))
        with self.assertRaises(aisle.FormatError):
            aisle.Forecast.from_bytes(b"not a forecast")
        with self.assertRaises(TypeError):
            aisle.Forecast()


if __name__ == "__main__":
    unittest.main()
