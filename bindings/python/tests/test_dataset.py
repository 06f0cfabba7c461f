"""aisle.Dataset."""
import unittest

import aisle

from .helpers import small_events


class TestDataset(unittest.TestCase):
    def test_events_give_counts_and_dense_indices_in_first_appearance_order(self):
        with aisle.Dataset(small_events()) as ds:
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (4, 5, 8))
            self.assertEqual(ds.users(), ["alice", "bob", "carol", "dave"])
            self.assertEqual(ds.items(), ["mug", "tea", "kettle", "spoon", "cup"])
            self.assertEqual(ds.user_index("carol"), 2)
            self.assertEqual(ds.item_key(ds.item_index("kettle")), "kettle")

    def test_add_accepts_defaults_dicts_and_columns(self):
        with aisle.Dataset() as ds:
            ds.add("u1", "i1")
            ds.add_events([{"user": "u2", "item": "i1", "event": "purchase"}])
            ds.add_arrays(["u3", "u3"], ["i2", "i3"], values=[2.0, 1.0], timestamps=[5, 6])
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (3, 3, 4))

    def test_non_string_keys_use_their_text_form(self):
        with aisle.Dataset() as ds:
            ds.add(42, 7)
            self.assertEqual(ds.user_key(0), "42")
            self.assertEqual(ds.item_index("7"), 0)

    def test_unicode_keys_round_trip(self):
        with aisle.Dataset() as ds:
            ds.add("jürgen", "茶碗")
            self.assertEqual(ds.users(), ["jürgen"])
            self.assertEqual(ds.items(), ["茶碗"])

    def test_empty_key_is_invalid_and_leaves_the_dataset_unchanged(self):
        with aisle.Dataset([("a", "b")]) as ds:
            with self.assertRaises(aisle.InvalidArgument) as cm:
                ds.add("", "x")
            self.assertTrue(cm.exception.message)
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (1, 1, 1))

    def test_non_finite_value_is_rejected(self):
        with aisle.Dataset() as ds:
            with self.assertRaises(aisle.InvalidArgument):
                ds.add("a", "b", "view", float("nan"))
            self.assertEqual(ds.n_events, 0)

    def test_nul_in_a_key_is_rejected_before_reaching_c(self):
        with aisle.Dataset() as ds:
            with self.assertRaises(ValueError):
                ds.add("a\0b", "x")

    def test_unknown_key_raises_not_found_and_bad_index_out_of_range(self):
        with aisle.Dataset(small_events()) as ds:
            with self.assertRaises(aisle.NotFound):
                ds.user_index("zoe")
            with self.assertRaises(aisle.OutOfRange):
                ds.item_key(99)

    def test_mismatched_columns_are_rejected(self):
        with aisle.Dataset() as ds:
            with self.assertRaises(ValueError):
                ds.add_arrays(["a", "b"], ["x"])

    def test_event_weight_accepts_custom_events(self):
        with aisle.Dataset() as ds:
            ds.set_event_weight("wishlist", 2.5)
            ds.add("a", "x", "wishlist")
            self.assertEqual(ds.n_events, 1)

    def test_closed_dataset_raises_state_error(self):
        ds = aisle.Dataset()
        ds.close()
        with self.assertRaises(aisle.StateError):
            ds.add("a", "b")
        self.assertIn("closed", repr(ds))

    def test_numpy_columns_when_numpy_is_installed(self):
        np = aisle._base.numpy()
        if np is None:
            self.skipTest("numpy not installed")
        with aisle.Dataset() as ds:
            ds.add_arrays(np.array([1, 2, 2]), np.array(["x", "y", "x"]), values=np.array([1.0, 2.0, 3.0]),
                          timestamps=np.array([1, 2, 3], dtype=np.int64))
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (2, 2, 3))
            self.assertEqual(ds.users(), ["1", "2"])


if __name__ == "__main__":
    unittest.main()
