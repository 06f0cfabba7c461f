#!/usr/bin/env python3
"""aisle quickstart: train on the built-in demo store, recommend, explain,
evaluate, save and reload.

    make && AISLE_LIBRARY=lib/libaisle.so.1 PYTHONPATH=bindings/python \
        python3 examples/python/quickstart.py
"""
import os
import tempfile

import aisle


def main():
    print("aisle", aisle.version())
    # A small synthetic shop: shoppers C10000.., products P00001..
    demo = dict(demo_users=1000, demo_items=300, demo_days=30, seed=7)
    catalog = aisle.demo_catalog(**demo)  # the same store's products: titles, prices
    with aisle.demo_dataset(**demo) as events:
        print("demo store: %d users, %d items, %d events" % (events.n_users, events.n_items, events.n_events))
        train, test = events.split("last:1", seed=7)
    with train, test, catalog:
        def progress(p):
            print("  epoch %d/%d loss %.4g" % (p.step, p.steps, p.loss))

        with aisle.Model.train(train, kind="als", factors=32, epochs=8, threads=2, seed=7,
                               progress=progress) as model:
            user = train.user_key(0)
            print("\ntop 5 for %s:" % user)
            for item, score in model.recommend(user, k=5):
                print("  %-8s %.4f  %s" % (item, score, catalog.text(item, "title")))

            best = model.recommend(user, k=1)[0][0]
            print("\nwhy %s? because of" % best)
            for item, share in model.explain(user, best, max=3):
                print("  %-8s %+.2f" % (item, share))

            print("\nsimilar to %s:" % best, [i for i, _ in model.similar_items(best, k=5)])

            # an anonymous visitor who looked at that product
            print("visitor with %s:" % best, [i for i, _ in model.recommend_for_items([best], k=5)])

            res = model.evaluate(test, k=10)
            print("\nheld-out last item: ndcg@10 %.4f  recall@10 %.4f  (%d users)"
                  % (res["ndcg@10"], res["recall@10"], res.counts["users"]))

            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "model.aisle")
                try:
                    model.save(path)
                except aisle.Unsupported as e:
                    print("save: %s" % e)
                else:
                    with aisle.Model.load(path) as again:
                        same = again.recommend(user, k=5) == model.recommend(user, k=5)
                        print("saved %d bytes; reloaded model agrees: %s" % (os.path.getsize(path), same))


if __name__ == "__main__":
    main()
