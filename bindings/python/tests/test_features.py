"""Feature engineering: tokenizer, hashing, TF-IDF, encoders."""
import math
import threading
import unittest

import aisle


class TestFeatures(unittest.TestCase):
    def test_hash32_is_murmur3_x86_32(self):
        # Published MurmurHash3_x86_32 vectors.
        self.assertEqual(aisle.hash32(b""), 0)
        self.assertEqual(aisle.hash32(b"", seed=1), 0x514E28B7)
        self.assertEqual(aisle.hash32("hello"), 0x248BFA47)
        self.assertEqual(aisle.hash32("hello"), aisle.hash32(b"hello"))

    def test_tokenizer_words_cjk_and_stop_words(self):
        with aisle.Tokenizer(stop_words="_english_") as tok:
            toks = tok.tokenize("The Bluetooth 蓝牙 headphones")
            self.assertEqual([t.text for t in toks], ["bluetooth", "蓝", "牙", "蓝牙", "headphones"])
            self.assertEqual([t.kind for t in toks][:4], ["word", "cjk", "cjk", "cjk_bigram"])
            tok.add_stop_words(["headphones"])
            self.assertEqual(tok("bluetooth headphones"), ["bluetooth"])
        with aisle.Tokenizer(lowercase=False) as tok:
            self.assertEqual(tok("Mug"), ["Mug"])
        with self.assertRaises(aisle.AisleError):
            aisle.Tokenizer(min_token_len=-1)

    def test_hasher_is_deterministic_normalised_and_explains_buckets(self):
        with aisle.Hasher(hash_buckets=1024, word_ngrams=2) as h:
            v = h.transform("blue bluetooth headphones")
            self.assertEqual(v.dim, 1024)
            self.assertEqual(list(v.indices), sorted(set(int(i) for i in v.indices)))
            self.assertAlmostEqual(math.sqrt(aisle.sparse_dot(v, v)), 1.0, places=5)
            self.assertEqual(h.transform("blue bluetooth headphones"), v)
            feats = h.features("blue tooth")
            self.assertIn(aisle.Token("blue tooth", "word_ngram"), feats)
            idx, sign = h.feature_index("blue")
            self.assertEqual(idx, aisle.hash32("blue") % 1024)
            self.assertEqual(sign, 1.0)

    def test_tfidf_fit_vocabulary_idf_and_transform(self):
        with aisle.TfIdf() as tf:
            with self.assertRaises(aisle.StateError):
                tf.transform("mug")
            tf.fit(["red mug", "blue mug", "blue tea pot"])
            self.assertEqual(tf.vocabulary(), ["blue", "mug", "pot", "red", "tea"])
            term, idf = tf.term(tf.lookup("red"))
            self.assertEqual(term, "red")
            self.assertAlmostEqual(idf, math.log(4 / 2) + 1)  # ln((1+N)/(1+df)) + 1
            v = tf.transform("blue mug mug unknown")
            self.assertEqual(list(v.indices), [0, 1])
            with self.assertRaises(aisle.NotFound):
                tf.lookup("kettle")

    def test_encoders(self):
        with aisle.CategoryEncoder(category_min_count=2) as ce:
            ce.fit(["a", "b", "a", "c", "c"])
            self.assertEqual(len(ce), 3)
            self.assertEqual((ce.transform("a"), ce.transform("c"), ce.transform("b")), (1, 2, 0))
            self.assertEqual(ce.value(2), "c")
        with aisle.NumericEncoder(numeric_transform="quantile", quantile_bins=4) as ne:
            ne.fit(range(100))
            self.assertEqual(ne.edges(), [25.0, 50.0, 75.0])
            self.assertEqual((ne.bin(0), ne.bin(50), ne.bin(99)), (0, 2, 3))
        with aisle.NumericEncoder() as ne:
            ne.fit([1.0, 3.0])
            self.assertEqual(ne.transform(3.0), 1.0)
            with self.assertRaises(aisle.Unsupported):
                ne.bin(1.0)

    def test_fitted_vectorizer_is_shared_by_threads(self):
        with aisle.TfIdf(tfidf_weighting="bm25") as tf:
            tf.fit(["red mug %d" % i for i in range(50)] + ["blue tea"])
            want = tf.transform("red tea")
            bad = []

            def work():
                for _ in range(100):
                    if tf.transform("red tea") != want:
                        bad.append(1)
            ts = [threading.Thread(target=work) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main()
