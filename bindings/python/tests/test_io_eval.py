"""Model files, evaluation, the demo store, file loaders and splits."""
import os
import tempfile
import unittest

import aisle

from .helpers import grid_events, shared_file


class TestSaveLoad(unittest.TestCase):
    # popular can always be saved; other kinds gain save support over time,
    # so the round trip is checked for every kind that supports it.
    @classmethod
    def setUpClass(cls):
        with aisle.Dataset(grid_events()) as ds:
            cls.model = aisle.Model.train(ds, kind="popular", threads=1, seed=5)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def test_save_then_load_serves_the_same_recommendations(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.aisle")
            self.model.save(path)
            with aisle.Model.load(path) as again:
                self.assertEqual(again.kind, "popular")
                self.assertIn("seed=5", again.describe())
                for u in ("u0", "u7", "stranger"):
                    self.assertEqual(again.recommend(u, k=5), self.model.recommend(u, k=5))

    def test_every_kind_round_trips_or_says_it_cannot_be_saved(self):
        small = {"factors": 4, "epochs": 2}
        with aisle.Dataset(grid_events()) as ds:
            for kind in [k.name for k in aisle.model_kinds()]:
                if kind == "intent":  # trains from texts: tests/test_text.py
                    continue
                with self.subTest(kind=kind):
                    opts = {k: v for k, v in small.items() if _has_option_for(kind, k)}
                    with aisle.Model.train(ds, kind=kind, threads=1, **opts) as m:
                        try:
                            data = m.to_bytes()
                        except aisle.Unsupported as e:
                            self.assertIn(kind, e.message)
                            continue
                        with aisle.Model.from_bytes(data) as again:
                            self.assertEqual(again.recommend("u2", k=5), m.recommend("u2", k=5))

    def test_bytes_round_trip_and_save_options(self):
        data = self.model.to_bytes()
        self.assertIsInstance(data, bytes)
        with aisle.Model.from_bytes(data) as again:
            self.assertEqual(again.recommend("u3", k=4), self.model.recommend("u3", k=4))
        raw = self.model.to_bytes(compression=0)
        self.assertNotEqual(raw, data)
        with aisle.Model.from_bytes(raw) as again:
            self.assertEqual(again.n_items, self.model.n_items)

    def test_corrupt_and_truncated_bytes_raise_format_error(self):
        data = self.model.to_bytes()
        with self.assertRaises(aisle.FormatError) as cm:
            aisle.Model.from_bytes(data[: len(data) // 2])
        self.assertTrue(cm.exception.message)
        with self.assertRaises(aisle.FormatError):
            aisle.Model.from_bytes(b"not a model file at all, just text")

    def test_missing_file_names_the_path(self):
        with self.assertRaises(aisle.AisleError) as cm:
            aisle.Model.load("/nonexistent/dir/m.aisle")
        self.assertIn("/nonexistent/dir/m.aisle", cm.exception.message)

    def test_bad_save_option_is_rejected(self):
        with self.assertRaises(aisle.AisleError) as cm:
            self.model.to_bytes(quantize="int3")
        self.assertIn("quantize", cm.exception.message)


def _has_option_for(kind, name):
    return any(o.name == name and kind in o.scope.split(",") for o in aisle.options())


class TestEvaluate(unittest.TestCase):
    def test_evaluate_gives_metrics_counts_and_json(self):
        with aisle.Dataset(grid_events(users=40)) as ds:
            train, test = ds.split("last:1", seed=1)
            with train, test, aisle.Model.train(train, kind="itemknn", threads=1) as m:
                seen = []
                res = m.evaluate(test, k=5, progress=seen.append)
        self.assertIn("ndcg@5", res.metrics)
        self.assertTrue(0.0 <= res["ndcg@5"] <= 1.0)
        self.assertTrue(0.0 <= res["recall@5"] <= 1.0)
        self.assertGreater(res.counts["users"], 0)
        self.assertIn('"ndcg@5"', res.json)
        self.assertIn("ndcg@5", repr(res))

    def test_evaluate_rejects_an_empty_test_set(self):
        with aisle.Dataset(grid_events()) as ds, aisle.Model.train(ds, kind="popular") as m, \
                aisle.Dataset() as empty:
            with self.assertRaises(aisle.InvalidArgument):
                m.evaluate(empty)


class TestDemoAndLoaders(unittest.TestCase):
    def test_demo_store_is_deterministic_and_trains(self):
        with aisle.demo_dataset(demo_users=200, demo_items=100, demo_days=20, seed=3) as a, \
                aisle.demo_dataset(demo_users=200, demo_items=100, demo_days=20, seed=3) as b:
            self.assertEqual((a.n_users, a.n_items, a.n_events), (b.n_users, b.n_items, b.n_events))
            self.assertGreater(a.n_events, 0)
            self.assertTrue(a.user_key(0).startswith("C"))
            with aisle.Model.train(a, kind="popular") as m:
                self.assertTrue(m.recommend(a.user_key(0), k=3))

    def test_demo_write_then_load_events_csv(self):
        with tempfile.TemporaryDirectory() as d:
            aisle.demo_write(d, demo_users=60, demo_items=50, demo_days=5, demo_messages=10)
            for f in ("events.csv", "catalog.csv", "messages.csv"):
                self.assertTrue(os.path.exists(os.path.join(d, f)))
            with aisle.Dataset.from_file(os.path.join(d, "events.csv"),
                                         columns="user=user_id,item=item_id,event=event,value=quantity,"
                                                 "time=timestamp") as ds:
                self.assertGreater(ds.n_events, 0)
                rep = ds.load_report()
                self.assertEqual(rep.rows_loaded, ds.n_events)

    def test_load_bytes_strict_error_names_line_and_leaves_dataset_unchanged(self):
        good = b"user,item,value\nalice,mug,1\nbob,tea,2\n"
        bad = b"user,item,value\ncarol,mug,1\ndave,tea,abc\n"
        with aisle.Dataset() as ds:
            ds.load_bytes(good, name="good.csv")
            self.assertEqual(ds.n_events, 2)
            with self.assertRaises(aisle.FormatError) as cm:
                ds.load_bytes(bad, name="bad.csv")
            self.assertIn("bad.csv:3", cm.exception.message)
            self.assertEqual((ds.n_events, ds.n_users), (2, 2))

    def test_lenient_load_reports_skipped_rows(self):
        bad = b"user,item,value\ncarol,mug,1\ndave,tea,abc\n"
        with aisle.Dataset() as ds:
            ds.load_bytes(bad, name="bad.csv", lenient=True)
            rep = ds.load_report()
            self.assertEqual((rep.rows_read, rep.rows_loaded, rep.rows_skipped), (2, 1, 1))
            self.assertEqual(len(rep.messages), 1)
            self.assertIn("bad.csv:3", rep.messages[0])

    def test_missing_file_is_not_found(self):
        with aisle.Dataset() as ds:
            with self.assertRaises(aisle.NotFound):
                ds.load("/nonexistent/events.csv")

    def test_split_by_options_and_spec_partition_the_events(self):
        with aisle.Dataset(grid_events()) as ds:
            tr, te = ds.split(split="random", test_fraction=0.2, seed=4)
            with tr, te:
                self.assertEqual(tr.n_events + te.n_events, ds.n_events)
                self.assertGreater(te.n_events, 0)
            tr, te = ds.split("kfold:5:1")
            with tr, te:
                self.assertGreater(tr.n_events, te.n_events)
            with self.assertRaises(aisle.AisleError):
                ds.split("sideways:3")

    def test_movielens_100k_when_shared_data_is_present(self):
        path = shared_file("ml-100k/u.data")
        if path is None:
            self.skipTest("shared ml-100k not found (AISLE_SHARED_DATA)")
        with aisle.Dataset.from_file(path, columns="user=1,item=2,value=3,time=4", event="rating") as ds:
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (943, 1682, 100000))



class TestQuickstart(unittest.TestCase):
    def test_quickstart_example_runs_and_prints_recommendations(self):
        import subprocess
        import sys
        from .helpers import TOP
        path = os.path.join(TOP, "examples", "python", "quickstart.py")
        if not os.path.exists(path):
            self.skipTest("not in the source tree")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(aisle.__file__)))
        r = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("top 5 for C", r.stdout)
        self.assertIn("ndcg@10", r.stdout)


if __name__ == "__main__":
    unittest.main()
