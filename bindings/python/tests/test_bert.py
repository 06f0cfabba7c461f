"""Pretrained BERT checkpoints: import, embed, classify, fine-tune, errors."""
import math
import os
import tempfile
import unittest

import aisle

CKPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "bert", "data", "cls")


class TestBert(unittest.TestCase):
    def test_import_embed_classify_save_load(self):
        with aisle.Bert.import_checkpoint(CKPT) as bert:
            info = bert.info
            self.assertEqual(info["dim"], 64)
            self.assertEqual(info["num_labels"], 3)
            self.assertFalse(info["regression"])
            ids, types = bert.tokenize("running shoes", "a jacket")
            self.assertEqual(len(ids), len(types))
            self.assertEqual(types[0], 0)
            self.assertEqual(types[-1], 1)
            vec = bert.embed(["running shoes", "中文"], pooling="mean")
            self.assertEqual(len(vec), 2)
            self.assertEqual(len(vec[0]), 64)
            probs = bert.classify(["running shoes"], ["a jacket"])
            self.assertAlmostEqual(float(sum(probs[0])), 1.0, places=5)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "b.aisle")
                bert.save(path, quantize="int8")
                with aisle.Bert.load(path) as small:
                    self.assertLess(small.memory_bytes, bert.memory_bytes)
                    v8 = small.embed(["running shoes"], pooling="mean")
                    diff = max(abs(float(a) - float(b)) for a, b in zip(v8[0], vec[0]))
                    self.assertLess(diff, 0.1)
            with self.assertRaises(ValueError):
                bert.embed(["x"], pooling="max")
            with self.assertRaises(aisle.OutOfRange):
                bert.embed(["x"], max_length=100000)

    def test_finetune_head(self):
        texts = ["red shoes", "blue shoes", "a jacket", "the world"]
        with aisle.Bert.import_checkpoint(CKPT) as bert:
            loss = bert.finetune_head(texts, [1, 1, 0, 0], num_labels=2, head_epochs=300,
                                      head_learning_rate=0.05)
            self.assertLess(loss, 0.2)
            probs = bert.classify(texts)
            self.assertTrue(all(float(probs[i][lab]) > 0.5 for i, lab in enumerate([1, 1, 0, 0])))
            bert.set_labels(["other", "shoes"])
            with self.assertRaises(aisle.OutOfRange):
                bert.set_labels(["one"])
            with self.assertRaises(aisle.InvalidArgument):
                bert.set_labels(["same", "same"])

    def test_bad_checkpoint_names_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(aisle.NotFound) as cm:
                aisle.Bert.import_checkpoint(d)
            self.assertIn("config.json", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
