"""The Python data stack (issue 14): training from scipy.sparse CSR and
NumPy index arrays, factor matrices as NumPy views, vectorised scores and
batch recommendations by index, pickling, misspelt keywords, the
popularity-fallback flag, and docstrings / type hints.  The NumPy/SciPy
tests skip without them, except under AISLE_REQUIRE_NUMPY=1 (set by
`make test` for the system python), where their absence fails."""
import os
import pickle
import typing
import unittest

import aisle

try:
    import numpy as np
    import scipy.sparse as sp
except ImportError:  # pragma: no cover - depends on the interpreter
    np = sp = None

REQUIRE = os.environ.get("AISLE_REQUIRE_NUMPY") == "1"


def needs_numpy(test):
    if np is not None:
        return test
    if REQUIRE:
        def fail(self):
            self.fail("AISLE_REQUIRE_NUMPY=1 but numpy/scipy cannot be imported")
        return fail
    return unittest.skip("NumPy/SciPy not installed")(test)


def shop_matrix():
    """40 users x 25 items, two taste groups, deterministic."""
    rows, cols, vals = [], [], []
    for u in range(40):
        base = 0 if u < 20 else 12
        for j in range(6):
            rows.append(u)
            cols.append(base + (u * 3 + j * 5) % 12)
            vals.append(1.0 + (u + j) % 3)
    return rows, cols, vals


class PlainPythonTest(unittest.TestCase):
    """What works without NumPy."""

    def test_indices_from_lists(self):
        rows, cols, vals = shop_matrix()
        with aisle.Dataset.from_indices(rows, cols, vals, n_users=41, n_items=25) as ds:
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (41, 25, len(rows)))
            self.assertEqual(ds.user_index("7"), 7)  # key "i" is index i
            with self.assertRaises(aisle.OutOfRange):
                ds.add_indices([0, 50], [0, 1], n_users=10)
            self.assertEqual(ds.n_events, len(rows))  # all or nothing

    def test_misspelt_keyword_is_a_type_error_naming_what_exists(self):
        ds = aisle.Dataset([("a", "x"), ("b", "y")])
        with self.assertRaises(TypeError) as ctx:
            aisle.Model.train(ds, kind="als", factrs=8)
        msg = str(ctx.exception)
        self.assertIn("'factrs'", msg)
        self.assertIn("'factors'", msg)            # the closest real option
        self.assertIn("aisle.options()", msg)      # a function that exists
        self.assertTrue(callable(aisle.options))
        self.assertIsInstance(ctx.exception, aisle.NotFound)  # still the library's class
        with self.assertRaises(TypeError):
            aisle.Config(epocs=3)

    def test_unknown_user_is_flagged(self):
        ds = aisle.Dataset([("a", "x"), ("a", "y"), ("b", "x"), ("c", "z")])
        with aisle.Model.train(ds, kind="itemknn") as m:
            known = m.recommend("c", k=2)
            self.assertFalse(known.popular_fallback)
            fb = m.recommend("stranger", k=2)
            self.assertTrue(fb.popular_fallback)
            self.assertEqual(fb[0][0], "x")  # the most popular item
            batch = m.recommend_batch(["a", "stranger"], k=2)
            self.assertEqual([r.popular_fallback for r in batch], [False, True])

    def test_pickle_through_the_model_file_format(self):
        ds = aisle.Dataset([("a", "x"), ("a", "y"), ("b", "x"), ("c", "z"), ("c", "y")])
        with aisle.Model.train(ds, kind="itemknn") as m:
            data = pickle.dumps(m)
            self.assertIn(b"AISLE", data[:4096].upper())  # the model file image is inside
            with pickle.loads(data) as m2:
                self.assertEqual(m.recommend("a", k=3), m2.recommend("a", k=3))
                self.assertEqual(m2.kind, "itemknn")

    def test_docstrings_and_type_hints(self):
        for f in (aisle.Model.recommend, aisle.Model.score, aisle.Model.recommend_indices,
                  aisle.Dataset.from_csr, aisle.Dataset.from_indices, aisle.Dataset.add_indices):
            self.assertTrue(f.__doc__ and len(f.__doc__) > 40, f.__name__)
        self.assertIn("popular_fallback", aisle.Model.user_factors.__doc__ + aisle.Recommendations.__doc__)
        hints = typing.get_type_hints(aisle.Model.recommend)
        self.assertIs(hints["return"], aisle.Recommendations)
        self.assertIn("return", typing.get_type_hints(aisle.Dataset.from_csr))


class NumpyInteropTest(unittest.TestCase):

    @needs_numpy
    def test_csr_training_factors_scores_and_batches(self):
        rows, cols, vals = shop_matrix()
        csr = sp.csr_matrix((np.array(vals, np.float32), (np.array(rows), np.array(cols))), shape=(40, 25))
        with aisle.Dataset.from_csr(csr) as ds, \
                aisle.Dataset.from_indices(np.array(rows), np.array(cols), np.array(vals),
                                           n_users=40, n_items=25) as ds2:
            self.assertEqual((ds.n_users, ds.n_items, ds.n_events), (40, 25, csr.nnz))
            m = aisle.Model.train(ds, kind="als", factors=4, epochs=4, threads=1)
            m2 = aisle.Model.train(ds2, kind="als", factors=4, epochs=4, threads=1)
        with m, m2:
            uf, itf = m.user_factors, m.item_factors
            self.assertEqual(uf.shape, (40, 4))
            self.assertEqual(itf.shape, (25, 4))
            self.assertEqual(uf.dtype, np.float32)
            self.assertFalse(uf.flags.writeable)
            self.assertTrue(np.shares_memory(uf, m.user_factors))   # zero-copy views
            self.assertFalse(np.shares_memory(m.factors("users"), uf))
            np.testing.assert_array_equal(uf, m2.user_factors)       # CSR == index arrays
            users = np.array([0, 5, 39, 5], dtype=np.int64)
            items = np.array([3, 24, 0, 3])
            s = m.score(users, items)
            self.assertEqual(s.dtype, np.float32)
            want = [m.score(str(u), str(i)) for u, i in zip(users, items)]
            np.testing.assert_allclose(s, want, rtol=1e-6)
            np.testing.assert_allclose(s, np.sum(uf[users] * itf[items], axis=1), rtol=1e-4, atol=1e-6)
            idx, sc = m.recommend_indices(np.arange(40), k=5)
            self.assertEqual(idx.shape, (40, 5))
            keys, ksc = m.recommend_batch([str(u) for u in range(40)], k=5, as_arrays=True)
            self.assertEqual(idx.tolist(), [[int(x) for x in row] for row in keys])
            np.testing.assert_array_equal(sc, ksc)
            seen = set(csr[7].indices)
            self.assertFalse(seen & set(idx[7].tolist()))          # seen items excluded
            with self.assertRaises(aisle.OutOfRange):
                m.score(np.array([40]), np.array([0]))
        with self.assertRaises(aisle.Unsupported):
            with aisle.Dataset.from_csr(csr) as ds:
                with aisle.Model.train(ds, kind="popular") as p:
                    p.user_factors

    @needs_numpy
    def test_padding_and_pickle_of_a_factor_model(self):
        rows, cols, vals = shop_matrix()
        with aisle.Dataset.from_indices(np.array(rows), np.array(cols), n_items=30) as ds:
            with aisle.Model.train(ds, kind="bpr", factors=4, epochs=3, threads=1) as m:
                idx, sc = m.recommend_indices([0, 1], k=30, allow=["0", "1", "2"])
                self.assertTrue((idx[:, 3:] == -1).all())
                self.assertTrue(np.isnan(sc[:, 3:]).all())
                with pickle.loads(pickle.dumps(m)) as m2:
                    np.testing.assert_array_equal(m.item_factors, m2.item_factors)


if __name__ == "__main__":
    unittest.main()
