"""aisle.SearchIndex."""
import os
import tempfile
import threading
import unittest

import aisle


def catalog():
    cat = aisle.Catalog()
    cat.add("p1", title="Wireless Earbuds", description="Bluetooth earbuds, charging case",
            category="Electronics > Headphones", brand="Sonic", price=49, color="black")
    cat.add("p2", title="Red Lunch Bag", description="Insulated lunch bag", category="Kitchen > Storage",
            brand="Pack", price=15, color="red")
    cat.add("p3", title="蓝牙耳机", description="无线蓝牙耳机 charging case", category="Electronics > Headphones",
            brand="Sonic", price=59, color="black")
    cat.add("p4", title="Lunch Box", description="Bento lunch box", category="Kitchen > Storage", brand="Pack",
            price=18, color="blue")
    return cat


class TestSearch(unittest.TestCase):
    def setUp(self):
        self.cat = catalog()
        self.idx = aisle.SearchIndex.build(self.cat)

    def tearDown(self):
        self.idx.close()
        self.cat.close()

    def test_search_typos_filters_facets_explain(self):
        self.assertEqual(len(self.idx), 4)
        r = self.idx.search("wireles earbuds", k=3)
        self.assertEqual(r[0].item, "p1")
        self.assertEqual(r[0].matched, ["wireless", "earbuds"])
        self.assertIn("wireles->wireless (1 edit)", r.explain(0))
        r = self.idx.search("lunch ", k=5, filters=["price=..16"], search_facets="brand,color")
        self.assertEqual([h.item for h in r], ["p2"])
        self.assertEqual(r.facets["brand"], [("Pack", 1)])
        self.assertEqual(r.total, 1)
        self.assertEqual(self.idx.search("蓝牙", k=1)[0].item, "p3")
        self.assertEqual(len(self.idx.search("", k=3)), 0)
        with self.assertRaises(aisle.InvalidArgument):
            self.idx.search("x", filters=["nonsense"])

    def test_learn_from_a_log_and_keep_the_weights(self):
        self.assertEqual(self.idx.ranker(), {})
        log = (b"query_id,query,user,item,event\n"
               b"s1,lunch,,p2,shown\ns1,lunch,,p4,purchase\n"
               b"s2,case,,p1,shown\ns2,case,,p3,click\n")
        self.assertGreater(self.idx.learn(log, search_learn_seed=2), 0)
        w = self.idx.ranker()
        self.assertEqual(list(w)[:2], ["text", "proximity"])
        self.assertIn("popularity", w)
        self.assertIn("learned ranker", self.idx.search("lunch", k=2).explain(0))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "idx.aidx")
            self.idx.save(path)
            with aisle.SearchIndex.load(path) as back:
                self.assertEqual(back.ranker(), w)
            bad = os.path.join(d, "log.csv")
            with open(bad, "w") as f:
                f.write("query_id,query,user,item,event\ns1,lunch,,p2,seen\n")
            with self.assertRaises(aisle.FormatError) as e:
                self.idx.learn(bad)
            self.assertIn("log.csv:2:", str(e.exception))

    def test_add_remove_save_load_suggest(self):
        self.cat.add("p5", title="Espresso Machine", price=99)
        self.idx.add(self.cat, "p5")
        self.assertEqual(self.idx.search("espreso", k=1)[0].item, "p5")
        self.idx.remove("p1")
        with self.assertRaises(aisle.NotFound):
            self.idx.remove("p1")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "shop.idx")
            self.idx.save(path)
            with aisle.SearchIndex.load(path) as back:
                self.assertEqual(len(back), 4)
                self.assertEqual([h.item for h in back.search("lunch ")], [h.item for h in self.idx.search("lunch ")])
        self.assertEqual(self.idx.suggest("lun")[0][0], "lunch")

    def test_personal_search_with_a_model_and_threads(self):
        ds = aisle.Dataset()
        for u in range(20):
            for item in (["p2", "p4"] if u % 2 else ["p1", "p3"]):
                ds.add_event("u%d" % u, item, "purchase")
        model = aisle.Model.train(ds, model="als", factors=4, epochs=3, seed=1, threads=1)
        r = self.idx.search("case", k=3, model=model, user="u0", search_fusion="none")
        self.assertIn("history moved it from rank", r.explain(0))
        r = self.idx.search("case", k=3, model=model, user="nobody")
        self.assertIn("user unknown", r.explain(0))
        expect = [h.item for h in self.idx.search("lunch charging", k=4)]
        got = []

        def worker():
            for _ in range(50):
                got.append([h.item for h in self.idx.search("lunch charging", k=4)])

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(g == expect for g in got))
        model.close()
        ds.close()

CKPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "bert", "data", "cls")


class TestSearchEncoder(unittest.TestCase):
    def test_encoder_vectors_saved_and_attached(self):
        with aisle.Bert.import_checkpoint(CKPT) as bert:
            cat = catalog()
            idx = aisle.SearchIndex.build(cat)
            idx.set_encoder(bert, cat, threads=1)
            dim, attached, fp = idx.encoder_info()
            self.assertEqual((dim, attached), (64, True))
            r = idx.search("zebra quartz ", k=4)
            self.assertTrue(len(r) > 0)
            self.assertIn("found by the text encoder only", r.explain(0))
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "enc.idx")
                idx.save(path)
                with aisle.SearchIndex.load(path) as back:
                    self.assertEqual(back.encoder_info(), (64, False, fp))
                    self.assertEqual(len(back.search("zebra quartz ", k=4)), 0)
                    back.set_encoder(bert)
                    self.assertEqual([h.item for h in back.search("zebra quartz ", k=4)], [h.item for h in r])
                    back.set_encoder(None)
                    self.assertEqual(back.encoder_info(), (0, False, 0))
            idx.close()
            cat.close()

    def test_intent_model_as_encoder(self):
        texts = aisle.Texts()
        for text, label in [("leather phone case", "phone"), ("phone charger cable", "phone"),
                            ("garden hose reel", "garden"), ("garden spade", "garden")]:
            texts.add(text, label)
        model = aisle.train_text(texts, architecture="transformer", hidden=8, blocks=1, heads=2, ff_hidden=16,
                                 epochs=1, hash_buckets=4096, calibration_fraction=0, threads=1)
        cat = catalog()
        idx = aisle.SearchIndex.build(cat)
        idx.set_text_model(model, cat, threads=1)
        dim, attached, fp = idx.encoder_info()
        self.assertEqual((dim, attached), (8, True))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "text.idx")
            idx.save(path)
            with aisle.SearchIndex.load(path) as back:
                self.assertEqual(back.encoder_info(), (8, False, fp))
                back.set_text_model(model)
                self.assertEqual(back.encoder_info(), (8, True, fp))
                q = "phone cable "
                self.assertEqual([h.item for h in back.search(q, k=4)], [h.item for h in idx.search(q, k=4)])
                back.set_text_model(None)
                self.assertEqual(back.encoder_info(), (0, False, 0))
        idx.close()
        cat.close()
        model.close()
        texts.close()


if __name__ == "__main__":
    unittest.main()
