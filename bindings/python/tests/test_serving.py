"""Serving: recommend, filters, similar items, score, explain, fold-in,
update_user, batch."""
import math
import threading
import unittest

import aisle

from .helpers import grid_events


def has_kind(name):
    return name in [k.name for k in aisle.model_kinds()]


class ServingBase(unittest.TestCase):
    kind = "itemknn"

    @classmethod
    def setUpClass(cls):
        if not has_kind(cls.kind):
            raise unittest.SkipTest("model kind %s not compiled in" % cls.kind)
        with aisle.Dataset(grid_events()) as ds:
            cls.model = aisle.Model.train(ds, kind=cls.kind, threads=1, seed=3)
        cls.seen = {}
        for u, i, *_ in grid_events():
            cls.seen.setdefault(u, set()).add(i)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()


class TestRecommend(ServingBase):
    def test_recommend_returns_k_pairs_best_first_without_seen_items(self):
        recs = self.model.recommend("u1", k=5)
        self.assertEqual(len(recs), 5)
        scores = [s for _, s in recs]
        self.assertEqual(scores, sorted(scores, reverse=True))
        self.assertFalse({i for i, _ in recs} & self.seen["u1"])
        for item, score in recs:
            self.assertIsInstance(item, str)
            self.assertIsInstance(score, float)

    def test_negative_k_is_rejected_and_huge_k_is_bounded_by_the_items(self):
        with self.assertRaises(ValueError):
            self.model.recommend("u1", k=-1)
        with self.assertRaises(ValueError):
            self.model.explain("u1", "i1", max=-2)
        recs = self.model.recommend("u1", k=10 ** 12)
        self.assertEqual(len(recs), self.model.n_items - len(self.seen["u1"]))
        self.assertEqual(self.model.recommend("u1", k=0), [])

    def test_exclude_seen_false_may_return_training_items(self):
        recs = self.model.recommend("u1", k=20, exclude_seen=False)
        self.assertTrue({i for i, _ in recs} & self.seen["u1"])

    def test_allow_and_deny_lists_and_filter(self):
        allowed = ["i0", "i5", "i10", "i15"]
        recs = self.model.recommend("u1", k=10, allow=allowed)
        self.assertTrue(recs)
        self.assertTrue({i for i, _ in recs} <= set(allowed))
        top = self.model.recommend("u1", k=3)
        denied = self.model.recommend("u1", k=3, deny=[top[0][0]])
        self.assertNotIn(top[0][0], [i for i, _ in denied])
        odd = self.model.recommend("u1", k=5, filter=lambda key, idx: int(key[1:]) % 2 == 1)
        self.assertTrue(odd)
        self.assertTrue(all(int(i[1:]) % 2 == 1 for i, _ in odd))

    def test_exception_in_filter_is_reraised(self):
        def bad(key, idx):
            raise KeyError("filter failed")
        with self.assertRaises(KeyError):
            self.model.recommend("u1", k=5, filter=bad)

    def test_reusable_options_object_equals_keywords(self):
        with aisle.RecOptions(deny=["i2"], exclude_seen=False) as opts:
            self.assertEqual(self.model.recommend("u3", k=6, options=opts),
                             self.model.recommend("u3", k=6, deny=["i2"], exclude_seen=False))
            with self.assertRaises(TypeError):
                self.model.recommend("u3", options=opts, deny=["i1"])

    def test_bad_serving_option_names_it(self):
        with self.assertRaises(aisle.AisleError) as cm:
            aisle.RecOptions(unknown_user="maybe")
        self.assertIn("unknown_user", cm.exception.message)

    def test_unknown_user_gets_popular_items_or_not_found(self):
        recs = self.model.recommend("stranger", k=3)
        self.assertEqual(len(recs), 3)
        with self.assertRaises(aisle.NotFound) as cm:
            self.model.recommend("stranger", k=3, unknown_user="error")
        self.assertIn("stranger", cm.exception.message)

    def test_similar_items_leave_the_item_out(self):
        sims = self.model.similar_items("i3", k=4)
        self.assertEqual(len(sims), 4)
        self.assertNotIn("i3", [i for i, _ in sims])
        with self.assertRaises(aisle.NotFound):
            self.model.similar_items("no-such-item")

    def test_score_agrees_with_recommend(self):
        item, s = self.model.recommend("u2", k=1)[0]
        self.assertAlmostEqual(self.model.score("u2", item), s, places=4)
        with self.assertRaises(aisle.NotFound):
            self.model.score("u2", "no-such-item")

    def test_explain_gives_training_items_with_shares(self):
        item = self.model.recommend("u4", k=1)[0][0]
        expl = self.model.explain("u4", item, max=3)
        self.assertTrue(0 < len(expl) <= 3)
        for it, share in expl:
            self.assertIn(it, self.seen["u4"])
            self.assertTrue(-1.0 <= share <= 1.0)

    def test_history_lists_the_training_items(self):
        hist = self.model.history("u4")
        self.assertEqual({i for i, _ in hist}, set(self.seen["u4"]))
        self.assertTrue(all(w > 0 for _, w in hist))
        self.assertEqual(self.model.history("u4", max=1), hist[:1])
        with self.assertRaises(aisle.NotFound):
            self.model.history("no-such-user")

    def test_recommend_for_items_folds_in_a_visitor(self):
        recs = self.model.recommend_for_items(["i1", "i2"], k=4)
        self.assertEqual(len(recs), 4)
        self.assertFalse({"i1", "i2"} & {i for i, _ in recs})
        w = self.model.recommend_for_items(["i1", "i2"], weights=[1.0, 3.0], k=4)
        self.assertEqual(len(w), 4)
        with self.assertRaises(ValueError):
            self.model.recommend_for_items(["i1", "i2"], weights=[1.0])

    def test_batch_equals_single_calls(self):
        users = ["u0", "u5", "stranger", "u9"]
        batch = self.model.recommend_batch(users, k=4, threads=2)
        self.assertEqual(len(batch), 4)
        for u, got in zip(users, batch):
            single = self.model.recommend(u, k=4)
            self.assertEqual([i for i, _ in got], [i for i, _ in single])
            for (_, a), (_, b) in zip(got, single):
                self.assertTrue(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6))

    def test_batch_filter_runs_on_worker_threads_and_agrees_with_single_calls(self):
        users = ["u%d" % i for i in range(30)]
        keep = lambda key, index: index % 3 != 0  # noqa: E731
        batch = self.model.recommend_batch(users, k=4, threads=3, filter=keep)
        for u, got in zip(users, batch):
            self.assertEqual([i for i, _ in got], [i for i, _ in self.model.recommend(u, k=4, filter=keep)])
            self.assertTrue(all(self.model.item_index(i) % 3 != 0 for i, _ in got))

    def test_batch_as_arrays_needs_numpy(self):
        np = aisle._base.numpy()
        if np is None:
            with self.assertRaises(ImportError):
                self.model.recommend_batch(["u0"], k=2, as_arrays=True)
            return
        keys, scores = self.model.recommend_batch(["u0", "u1"], k=3, as_arrays=True)
        self.assertEqual(scores.shape, (2, 3))
        self.assertEqual(keys[0, 0], self.model.recommend("u0", k=1)[0][0])

    def test_threads_get_the_same_results_as_sequential_calls(self):
        users = ["u%d" % i for i in range(30)]
        expect = {u: self.model.recommend(u, k=5) for u in users}
        bad = []

        def work():
            for _ in range(5):
                for u in users:
                    if self.model.recommend(u, k=5) != expect[u]:
                        bad.append(u)
        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])


class TestRecommendAls(TestRecommend):
    kind = "als"


class TestUpdateUser(unittest.TestCase):
    def test_update_user_changes_what_is_seen(self):
        if not has_kind("itemknn"):
            self.skipTest("itemknn not compiled in")
        with aisle.Dataset(grid_events()) as ds, aisle.Model.train(ds, kind="itemknn", threads=1) as m:
            top = m.recommend("u1", k=1)[0][0]
            m.update_user("u1", [top], [5.0])
            self.assertNotIn(top, [i for i, _ in m.recommend("u1", k=5)])
            with self.assertRaises(aisle.NotFound):
                m.update_user("stranger", ["i1"])


if __name__ == "__main__":
    unittest.main()


class TestInt8Scan(unittest.TestCase):
    """scan="int8" gives the fp32 scan's lists (src/serve/quant.c)."""

    def test_int8_scan_equals_fp32_and_reports_its_rescore_rate(self):
        if not has_kind("als"):
            raise unittest.SkipTest("model kind als not compiled in")
        events = [("u%d" % (i % 40), "p%d" % i, "view") for i in range(600)]
        events += [("u%d" % u, "p%d" % ((u * 37 + t * 11) % 600), "view") for u in range(40) for t in range(10)]
        with aisle.Dataset(events) as ds, aisle.Model.train(ds, kind="als", factors=16, epochs=3, threads=1) as m:
            m.prepare()
            int8, fp32 = aisle.RecOptions(scan="int8"), aisle.RecOptions(scan="fp32")
            for u in range(40):
                a = m.recommend("u%d" % u, k=10, options=int8)
                st = aisle.scan_stats()
                self.assertTrue(st.int8)
                self.assertEqual(st.items_scanned, 600)
                self.assertLessEqual(st.items_rescored, 600)
                self.assertEqual(list(a), list(m.recommend("u%d" % u, k=10, options=fp32)))
                self.assertFalse(aisle.scan_stats().int8)
            with self.assertRaises(aisle.AisleError):
                aisle.RecOptions(scan="int4")


class TestMappedModel(unittest.TestCase):
    """Model.load(path, mmap=True): served from the mapping, same lists."""

    def test_mapped_model_serves_like_a_loaded_one_and_updates(self):
        if not has_kind("als"):
            raise unittest.SkipTest("model kind als not compiled in")
        import os
        import tempfile
        events = [("u%d" % (i % 30), "p%d" % i, "view") for i in range(300)]
        events += [("u%d" % u, "p%d" % ((u * 31 + t * 7) % 300), "view") for u in range(30) for t in range(8)]
        with tempfile.TemporaryDirectory() as d, aisle.Dataset(events) as ds, \
                aisle.Model.train(ds, kind="als", factors=8, epochs=2, threads=1) as m:
            path = os.path.join(d, "m.aisle")
            m.save(path, compression=0, store_int8=True)
            with aisle.Model.load(path) as plain, aisle.Model.load(path, mmap=True) as mapped:
                self.assertEqual(plain.mapped_bytes(), 0)
                self.assertEqual(mapped.mapped_bytes(), os.path.getsize(path))
                for u in range(30):
                    for scan in ("int8", "fp32"):
                        o = aisle.RecOptions(scan=scan)
                        self.assertEqual(list(plain.recommend("u%d" % u, k=5, options=o)),
                                         list(mapped.recommend("u%d" % u, k=5, options=o)))
                plain.update_user("u3", ["p1", "p2"])
                mapped.update_user("u3", ["p1", "p2"])
                self.assertEqual(list(plain.recommend("u3", k=5)), list(mapped.recommend("u3", k=5)))
            m.save(path)  # compressed: cannot be mapped
            with self.assertRaises(aisle.Unsupported):
                aisle.Model.load(path, mmap=True)


class TestServer(unittest.TestCase):
    """aisle.Server: leases across a swap, journaled updates replayed."""

    def test_lease_swap_update_and_replay_under_reader_threads(self):
        if not has_kind("als"):
            raise unittest.SkipTest("model kind als not compiled in")
        events = [("u%d" % (i % 30), "p%d" % i, "view") for i in range(200)]
        with aisle.Dataset(events) as ds:
            model = aisle.Model.train(ds, kind="als", factors=8, epochs=2, threads=1)
            data = model.to_bytes()
        with aisle.Server(model) as server:
            self.assertTrue(model.closed)  # the server owns it
            stop, errors = threading.Event(), []

            def read():
                while not stop.is_set():
                    try:
                        with server.lease() as m:
                            self.assertLessEqual(len(m.recommend("u3", k=5)), 5)
                    except Exception as e:  # reported below
                        errors.append(e)
                        return

            readers = [threading.Thread(target=read) for _ in range(4)]
            for t in readers:
                t.start()
            server.update_user("u3", ["p150"])
            with server.lease() as m:
                self.assertNotIn("p150", [i for i, _ in m.recommend("u3", k=200)])  # seen now
            self.assertEqual(server.swap(aisle.Model.from_bytes(data), replay_since=0), 1)
            with server.lease() as m:
                self.assertNotIn("p150", [i for i, _ in m.recommend("u3", k=200)])  # replayed
            self.assertEqual(server.swap(aisle.Model.from_bytes(data), replay_since=2**62), 0)
            with server.lease() as m:
                self.assertIn("p150", [i for i, _ in m.recommend("u3", k=200)])
            stop.set()
            for t in readers:
                t.join()
            self.assertEqual(errors, [])
            with self.assertRaises(aisle.NotFound):
                server.update_user("ghost", ["p1"])
            with self.assertRaises(TypeError):
                aisle.Server("not a model")

    def test_add_user_and_item_while_reading_and_replay(self):
        if not has_kind("als"):
            raise unittest.SkipTest("model kind als not compiled in")
        events = [("u%d" % (i % 30), "p%d" % i, "view") for i in range(200)]
        with aisle.Dataset(events) as ds:
            model = aisle.Model.train(ds, kind="als", factors=4, epochs=2, threads=1)
            data = model.to_bytes()
        with aisle.Server(model) as server:
            stop, errors = threading.Event(), []

            def read():
                while not stop.is_set():
                    try:
                        with server.lease() as m:
                            m.recommend("newbie", k=5)
                    except Exception as e:  # reported below
                        errors.append(e)
                        return

            readers = [threading.Thread(target=read) for _ in range(4)]
            for t in readers:
                t.start()
            server.add_item("fresh", [0.5, -0.5, 0.25, 1.0])
            with self.assertRaises(ValueError):
                server.add_item("short", [1.0, 2.0, 3.0])  # not the model's 4 factors
            with self.assertRaises(aisle.InvalidArgument):
                server.add_item("fresh", [0.0] * 4)  # known now
            server.add_user("newbie", ["fresh", "p2"], weights=[2.0, 1.0])
            with server.lease() as m:
                self.assertEqual(m.n_items, 201)
                self.assertEqual(sorted(i for i, _ in m.history("newbie")), ["fresh", "p2"])
            self.assertEqual(server.swap(aisle.Model.from_bytes(data), replay_since=0), 2)
            with server.lease() as m:
                self.assertEqual(sorted(i for i, _ in m.history("newbie")), ["fresh", "p2"])
            stop.set()
            for t in readers:
                t.join()
            self.assertEqual(errors, [])
        with aisle.Dataset(events) as ds:
            mf = aisle.Model.train(ds, kind="mf", factors=4, epochs=2, threads=1)
        with aisle.Server(mf) as server:
            with self.assertRaises(aisle.Unsupported):
                server.add_item("fresh", [0.0] * 4)
            server.add_user("newbie", ["p1"])
