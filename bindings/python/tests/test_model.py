"""aisle.Model: training, options, progress callbacks, dictionaries."""
import math
import threading
import unittest

import aisle

from .helpers import small_events


class TestModel(unittest.TestCase):
    def setUp(self):
        self.ds = aisle.Dataset(small_events())

    def tearDown(self):
        self.ds.close()

    def test_model_kinds_are_listed_with_summaries(self):
        kinds = aisle.model_kinds()
        self.assertIn("popular", [k.name for k in kinds])
        self.assertTrue(all(k.summary for k in kinds))

    def test_train_popular_keeps_its_own_dictionaries(self):
        model = aisle.Model.train(self.ds, kind="popular", threads=1)
        self.ds.close()  # the model does not need the dataset any more
        with model:
            self.assertEqual(model.kind, "popular")
            self.assertEqual((model.n_users, model.n_items), (4, 5))
            self.assertEqual(model.users(), ["alice", "bob", "carol", "dave"])
            self.assertEqual(model.item_index("mug"), 0)
            self.assertEqual(model.user_key(3), "dave")
            self.assertIn("kind: popular", model.describe())
            self.assertIn("most_popular: mug", model.describe())

    def test_keyword_options_reach_the_model(self):
        with aisle.Model.train(self.ds, kind="popular", threads=1, seed=11, popular_by="weight") as m:
            d = m.describe()
            self.assertIn("seed=11", d)
            self.assertIn("popular_by=weight", d)

    def test_config_object_is_copied_not_changed(self):
        with aisle.Config(model="popular", seed=5) as cfg:
            with aisle.Model.train(self.ds, config=cfg, threads=1) as m:
                self.assertIn("seed=5", m.describe())
                self.assertIn("threads=1", m.describe())
            self.assertFalse(cfg.is_set("threads"))

    def test_unknown_kind_raises_not_found_listing_known_kinds(self):
        with self.assertRaises(aisle.NotFound) as cm:
            aisle.Model.train(self.ds, kind="no_such_kind")
        self.assertIn("no_such_kind", cm.exception.message)
        self.assertIn("popular", cm.exception.message)

    def test_empty_dataset_is_invalid(self):
        with aisle.Dataset() as empty:
            with self.assertRaises(aisle.InvalidArgument):
                aisle.Model.train(empty, kind="popular")

    def test_progress_callback_sees_steps(self):
        seen = []
        with aisle.Model.train(self.ds, kind="popular", progress=seen.append) as m:
            self.assertEqual(m.kind, "popular")
        self.assertTrue(seen)
        p = seen[-1]
        self.assertIsInstance(p, aisle.Progress)
        self.assertEqual(p.step, p.steps)
        self.assertTrue(math.isnan(p.loss) or p.loss >= 0)
        self.assertGreaterEqual(p.elapsed, 0.0)

    def test_progress_returning_false_cancels(self):
        with self.assertRaises(aisle.Cancelled) as cm:
            aisle.Model.train(self.ds, kind="popular", progress=lambda p: False)
        self.assertEqual(cm.exception.code, -8)

    def test_exception_in_progress_cancels_and_is_reraised(self):
        class Stop(Exception):
            pass

        def boom(p):
            raise Stop("from callback")
        with self.assertRaises(Stop):
            aisle.Model.train(self.ds, kind="popular", progress=boom)
        # the binding keeps working afterwards
        with aisle.Model.train(self.ds, kind="popular") as m:
            self.assertEqual(m.n_items, 5)

    def test_progress_set_on_a_config_is_used(self):
        seen = []
        with aisle.Config(model="popular") as cfg:
            cfg.set_progress(seen.append)
            aisle.Model.train(self.ds, config=cfg).close()
        self.assertTrue(seen)

    def test_metrics_are_stored_and_missing_ones_not_found(self):
        with aisle.Model.train(self.ds, kind="popular") as m:
            m.set_metric("ndcg@10", 0.25)
            self.assertEqual(m.get_metric("ndcg@10"), 0.25)
            with self.assertRaises(aisle.NotFound):
                m.get_metric("recall@10")

    def test_model_cannot_be_built_directly_and_close_is_idempotent(self):
        with self.assertRaises(TypeError):
            aisle.Model()
        m = aisle.Model.train(self.ds, kind="popular")
        m.close()
        m.close()
        with self.assertRaises(aisle.StateError):
            m.kind

    def test_read_only_calls_from_threads_agree(self):
        with aisle.Model.train(self.ds, kind="popular") as m:
            expect = m.describe()
            errors = []

            def work():
                for _ in range(50):
                    if m.describe() != expect or m.item_index("tea") != 1:
                        errors.append("mismatch")
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])

    def test_errors_are_per_thread(self):
        # A failure in one thread must not change another's message.
        with self.assertRaises(aisle.NotFound) as cm:
            self.ds.user_index("ghost-main")
        other = []

        def work():
            try:
                self.ds.item_index("ghost-thread")
            except aisle.NotFound as e:
                other.append(e.message)
        t = threading.Thread(target=work)
        t.start()
        t.join()
        self.assertIn("ghost-main", cm.exception.message)
        self.assertIn("ghost-main", aisle.last_error())
        self.assertTrue(other and "ghost-thread" in other[0])


if __name__ == "__main__":
    unittest.main()
