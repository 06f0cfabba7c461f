"""aisle.Model.train(..., users=...) and Model.explain_features (kind hybrid)."""
import unittest

import aisle


def taste_shop():
    """Even users buy mugs, odd users spades; the user table gives their
    country (UK for even, DE for odd) and two shoppers with no events."""
    ds = aisle.Dataset()
    for u in range(40):
        for j in range(6):
            item = 2 * ((u * 3 + j * 7) % 10) + (u % 2)
            ds.add("u%d" % u, "i%d" % item, "purchase", 1.0, 1700000000 + j)
    cat = aisle.Catalog()
    for i in range(20):
        mug = i % 2 == 0
        cat.add("i%d" % i, title="ceramic mug" if mug else "steel spade",
                category="Kitchen > Mugs" if mug else "Garden > Tools", brand="Potter" if mug else "Digger")
    users = aisle.Catalog()
    users.load_bytes(("user_id,country\n" + "".join("u%d,%s\n" % (u, "DE" if u % 2 else "UK") for u in range(40))
                      + "newuk,UK\nnewde,DE\n").encode(), name="users.csv")
    return ds, cat, users


class TestHybridFeatures(unittest.TestCase):
    def test_cold_shoppers_and_explanations(self):
        ds, cat, users = taste_shop()
        with ds, cat, users, aisle.Model.train(ds, kind="hybrid", catalog=cat, users=users, factors=8, epochs=30,
                                               threads=1, seed=3, learning_rate=0.1) as m:
            top = [k for k, _ in m.recommend("newde", k=3)]
            self.assertTrue(all(int(k[1:]) % 2 == 1 for k in top), top)
            feats = m.explain_features("newuk", "i0", max=50)
            names = [n for n, _ in feats]
            self.assertIn("country: UK", names)
            self.assertNotIn("the shopper's own history", names)
            total = sum(c for _, c in feats)
            self.assertAlmostEqual(total, m.score("newuk", "i0"), places=4)
            back = aisle.Model.from_bytes(m.to_bytes())
            self.assertEqual(back.explain_features("newuk", "i0", max=50), feats)
            with self.assertRaises(aisle.NotFound):
                m.explain_features("nobody", "i0")

    def test_other_kinds_refuse_users_and_feature_explanations(self):
        ds, cat, users = taste_shop()
        with ds, cat, users:
            with self.assertRaises(aisle.Unsupported):
                aisle.Model.train(ds, kind="als", users=users, factors=4)
            with aisle.Model.train(ds, kind="als", factors=4) as m, self.assertRaises(aisle.Unsupported):
                m.explain_features("u0", "i0")

    def test_saved_model_adds_new_products_and_shoppers(self):
        ds, cat, users = taste_shop()
        today = aisle.Catalog()
        today.add("newmug", title="ceramic mug", category="Kitchen > Mugs", brand="Potter")
        today.add("newspade", title="steel spade", category="Garden > Tools", brand="Digger")
        today.add("i0", title="changed")  # known: kept as trained
        late = aisle.Catalog()
        late.load_bytes(b"user_id,country\nlateuk,UK\n", name="late.csv")
        with ds, cat, users, today, late, aisle.Model.train(ds, kind="hybrid", catalog=cat, users=users, factors=8,
                                                            epochs=30, threads=1, seed=3, learning_rate=0.1) as m:
            back = aisle.Model.from_bytes(m.to_bytes())
            n = back.n_items
            self.assertEqual(back.add_items(today), 2)
            self.assertEqual(back.n_items, n + 2)
            # a new product scores as the trained mug with the same features, less its identity
            self.assertGreater(back.score("u0", "newmug"), back.score("u0", "newspade"))
            self.assertIn("newmug", [k for k, _ in back.recommend("u0", k=n + 2)])
            self.assertEqual(back.add_users(late), 1)
            self.assertEqual(back.score("lateuk", "i0"), back.score("newuk", "i0"))
            sim = [k for k, _ in back.similar_items("newmug", k=3)]
            self.assertTrue(all(k == "newmug" or int(k[1:]) % 2 == 0 for k in sim if k.startswith("i")), sim)
            self.assertEqual(back.add_items(today), 0)
            with aisle.Model.train(ds, kind="als", factors=4) as als, self.assertRaises(aisle.Unsupported):
                als.add_items(today)
            with self.assertRaises(TypeError):
                back.add_items(None)
            server = aisle.Server(back)
            more = aisle.Catalog()
            more.add("newcup", title="ceramic mug", category="Kitchen > Mugs", brand="Potter")
            with server, more:
                self.assertEqual(server.add_items(more), 1)
                with server.lease() as leased:
                    self.assertEqual(leased.score("u0", "newcup"), leased.score("u0", "newmug"))


if __name__ == "__main__":
    unittest.main()
