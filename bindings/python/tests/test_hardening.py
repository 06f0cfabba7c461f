"""Hostile use of the binding (issue 15): callbacks that close the handles
their call is using, and integers that do not fit the C types."""
import unittest

import aisle

from .helpers import grid_events


class TestCloseDuringCall(unittest.TestCase):
    def setUp(self):
        self.ds = aisle.Dataset(grid_events())

    def tearDown(self):
        self.ds.close()

    def model(self):
        return aisle.Model.train(self.ds, kind="itemknn", threads=1)

    def test_filter_closing_its_model_defers_the_free(self):
        for call in ("recommend", "similar_items", "recommend_batch"):
            m = self.model()

            def keep(key, index, m=m):
                m.close()  # used to free the model under the running C call
                return True
            if call == "recommend":
                recs = m.recommend("u1", k=5, filter=keep)
            elif call == "similar_items":
                recs = m.similar_items("i1", k=5, filter=keep)
            else:
                recs = m.recommend_batch(["u1", "u2"], k=5, filter=keep, threads=1)[0]
            self.assertEqual(len(recs), 5, call)
            self.assertTrue(all(isinstance(k, str) and k.startswith("i") for k, _ in recs), call)
            self.assertTrue(m.closed, call)
            with self.assertRaises(aisle.StateError):
                m.recommend("u1")
            m.close()  # idempotent

    def test_filter_closing_its_options_defers_the_free(self):
        m = self.model()
        opts = aisle.RecOptions()
        opts.set_filter(lambda key, index: opts.close() or True)
        self.assertEqual(len(m.recommend("u1", k=3, options=opts)), 3)
        self.assertTrue(opts.closed)
        with self.assertRaises(aisle.StateError):
            m.recommend("u1", k=3, options=opts)
        m.close()

    def test_progress_closing_the_dataset_defers_the_free(self):
        ds = aisle.Dataset(grid_events())
        m = aisle.Model.train(ds, kind="als", epochs=2, factors=4, threads=1,
                              progress=lambda p: ds.close())
        self.assertTrue(ds.closed)
        self.assertEqual(len(m.recommend("u1", k=3)), 3)
        m.close()


class TestIntegerRanges(unittest.TestCase):
    def test_out_of_range_integers_raise_overflow_error(self):
        with aisle.Dataset(grid_events()) as ds:
            for bad in (2 ** 64, -1):
                with self.assertRaises(OverflowError):
                    ds.user_key(bad)  # 2**64 used to wrap to index 0
            with self.assertRaises(OverflowError):
                ds.add("u1", "i1", timestamp=2 ** 63)
            with self.assertRaises(OverflowError):
                ds.add("u1", "i1", timestamp=-2 ** 63 - 1)
            ds.add("u1", "i1", timestamp=2 ** 63 - 1)  # the largest that fits
            with aisle.Model.train(ds, kind="popular") as m:
                with self.assertRaises(OverflowError):
                    m.item_key(2 ** 64)


if __name__ == "__main__":
    unittest.main()
