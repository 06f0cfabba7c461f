"""aisle.Catalog."""
import os
import tempfile
import unittest

import aisle

from .helpers import grid_events


class TestCatalog(unittest.TestCase):
    def test_add_fields_attributes_and_lookups(self):
        with aisle.Catalog() as cat:
            cat.add("P1", title="Blue mug", category="Home > Kitchen", brand="Acme", price=9.5, colour="blue")
            cat.add("P2", title="茶碗")
            self.assertEqual(len(cat), 2)
            self.assertIn("P1", cat)
            self.assertNotIn("P3", cat)
            self.assertEqual(cat.keys(), ["P1", "P2"])
            self.assertEqual(cat.index("P2"), 1)
            self.assertEqual(cat.text("P1", "category"), "Home > Kitchen")
            self.assertEqual(cat.text("P2", "title"), "茶碗")
            self.assertEqual(cat.text("P2", "brand"), "")
            self.assertEqual(cat.price("P1"), 9.5)
            self.assertIsNone(cat.price("P2"))
            self.assertEqual(cat.attributes("P1"), {"colour": "blue"})
            self.assertEqual(cat.text("P1", "colour"), "blue")
            item = cat.item("P1")
            self.assertEqual((item["key"], item["title"], item["price"], item["colour"]),
                             ("P1", "Blue mug", 9.5, "blue"))

    def test_update_replaces_fields_and_keeps_attributes(self):
        with aisle.Catalog() as cat:
            cat.add("P1", title="Old", price=1.0, size="L")
            cat.add("P1", title="New")
            self.assertEqual(len(cat), 1)
            self.assertEqual(cat.text("P1", "title"), "New")
            self.assertIsNone(cat.price("P1"))
            self.assertEqual(cat.attributes("P1"), {"size": "L"})

    def test_errors_name_the_problem(self):
        with aisle.Catalog() as cat:
            with self.assertRaises(aisle.InvalidArgument):
                cat.add("")
            with self.assertRaises(aisle.InvalidArgument):
                cat.add("P1", price=float("inf"))
            self.assertEqual(len(cat), 0)
            with self.assertRaises(aisle.NotFound):
                cat.set_attribute("nope", "a", "b")
            with self.assertRaises(aisle.NotFound):
                cat.price("nope")
            cat.add("P1")
            with self.assertRaises(aisle.NotFound):
                cat.text("P1", "no_such_attribute")

    def test_load_demo_catalog_and_strict_errors(self):
        with tempfile.TemporaryDirectory() as d:
            aisle.demo_write(d, demo_users=60, demo_items=50, demo_days=5, demo_messages=10)
            with aisle.Catalog.from_file(os.path.join(d, "catalog.csv")) as cat:
                self.assertEqual(len(cat), 50)
                self.assertEqual(cat.load_report().rows_loaded, 50)
                first = cat.key(0)
                self.assertTrue(cat.text(first, "title"))
                self.assertIn(">", cat.text(first, "category"))
        with aisle.Catalog() as cat:
            bad = b"item_id,title,price\nP1,Mug,3.5\nP2,Tea,cheap\n"
            with self.assertRaises(aisle.FormatError) as cm:
                cat.load_bytes(bad, name="cat.csv")
            self.assertIn("cat.csv:3", cm.exception.message)
            self.assertEqual(len(cat), 0)
            cat.load_bytes(bad, name="cat.csv", lenient=True)
            rep = cat.load_report()
            self.assertEqual((rep.rows_loaded, rep.rows_skipped), (1, 1))

    def test_demo_catalog_matches_the_demo_events(self):
        opts = dict(demo_users=60, demo_items=50, demo_days=5, seed=2)
        with aisle.demo_catalog(**opts) as cat, aisle.demo_dataset(**opts) as ds:
            self.assertEqual(len(cat), 50)
            for item in ds.items():
                self.assertIn(item, cat)
            self.assertIsNotNone(cat.price(cat.key(0)))
            self.assertIn(" > ", cat.text(cat.key(0), "category"))

    def test_training_accepts_a_catalog(self):
        with aisle.Dataset(grid_events()) as ds, aisle.Catalog() as cat:
            for i in range(20):
                cat.add("i%d" % i, title="item %d" % i)
            with aisle.Model.train(ds, kind="itemknn", catalog=cat, threads=1) as m, \
                    aisle.Model.train(ds, kind="itemknn", threads=1) as plain:
                self.assertEqual(m.n_items, 20)
                self.assertEqual(m.recommend("u1", k=3), plain.recommend("u1", k=3))


if __name__ == "__main__":
    unittest.main()
