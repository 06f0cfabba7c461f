"""Kind pair from Python: training with a catalog and shopper attributes,
scores for products without events, and re-ranking of candidates."""
import math
import unittest

import aisle


def shop():
    """Even users buy mugs, odd users spades; keys say nothing."""
    events = []
    for u in range(16):
        for j in range(4):
            item = 2 * ((u * 5 + j * 3) % 8) + (u & 1)
            events.append(("u%d" % u, "x%d" % item, "purchase", 1.0, 1700000000 + u * 10 + j))
    return events


def catalog(new=True):
    cat = aisle.Catalog()
    for i in range(16):
        cat.add("x%d" % i, title="%s model %d" % ("ceramic mug" if i % 2 == 0 else "steel spade", i))
    if new:
        cat.add("newmug", title="ceramic mug deluxe")
        cat.add("newspade", title="steel spade deluxe")
    return cat


OPTS = dict(objective="purchase", hidden=16, heads=2, ff_hidden=32, blocks=1, epochs=10, threads=1, seed=5,
            learning_rate=0.01, batch_size=16, dropout=0, hash_buckets=4096, recent_items=3, title_tokens=3)


class PairTest(unittest.TestCase):
    def test_pair_scores_new_products_and_reranks(self):
        with aisle.Dataset(shop()) as ds, catalog() as cat, aisle.Catalog() as users:
            for u in range(16):
                users.add("u%d" % u, hobby="gardening" if u & 1 else "cooking")
            with aisle.Model.train(ds, kind="pair", catalog=cat, users=users, **OPTS) as m:
                self.assertGreater(m.score("u0", "newmug"), m.score("u0", "newspade"))
                self.assertGreater(m.score("u1", "newspade"), m.score("u1", "newmug"))
                cands = ["x1", "newspade", "nope", "newmug", "x2"]
                scores, order = m.rerank("u0", cands)
                self.assertTrue(math.isnan(scores[2]))
                self.assertEqual(order[-1], 2)
                self.assertAlmostEqual(scores[3], m.score("u0", "newmug"), places=6)
                ranked = [scores[i] for i in order[:-1]]
                self.assertEqual(ranked, sorted(ranked, reverse=True))
                words = m.explain_words("u0", "newmug")
                self.assertIn("product: mug", [w for w, _ in words])
                self.assertTrue(all(w.startswith(("shopper: ", "product: ")) for w, _ in words))

    def test_pair_takes_new_products_and_shoppers(self):
        """Products added after training score exactly as in the training
        catalog; a shopper added from an attribute table is served."""
        opts = dict(OPTS, epochs=2)
        with aisle.Dataset(shop()) as ds, catalog() as full, catalog(new=False) as old, \
                aisle.Model.train(ds, kind="pair", catalog=full, **opts) as trained, \
                aisle.Model.train(ds, kind="pair", catalog=old, **opts) as m, aisle.Catalog() as people:
            self.assertEqual(m.add_items(full), 2)
            self.assertEqual(m.add_items(full), 0)
            for u in ("u0", "u5"):
                self.assertEqual(m.score(u, "newmug"), trained.score(u, "newmug"))
            people.add("newbie", hobby="gardening")
            self.assertEqual(m.add_users(people), 1)
            self.assertTrue(0.0 < m.score("newbie", "newspade") < 1.0)
            server = aisle.Server(aisle.Model.from_bytes(m.to_bytes()))  # the server owns its model
            with server:
                people.add("later", hobby="cooking")
                self.assertEqual(server.add_users(people), 1)
                with server.lease() as leased:
                    self.assertEqual(leased.score("u0", "newmug"), trained.score("u0", "newmug"))

    def test_train_without_users_still_works(self):
        with aisle.Dataset(shop()) as ds, catalog() as cat:
            with aisle.Model.train(ds, kind="pair", catalog=cat, **dict(OPTS, epochs=1)) as m:
                p = m.score("u3", "newspade")
                self.assertTrue(0.0 < p < 1.0)


if __name__ == "__main__":
    unittest.main()
