// Command quickstart trains a model on aisle's built-in demo store and
// prints recommendations, an explanation, similar items and an evaluation.
//
//	make
//	cd examples/go && PKG_CONFIG_PATH=$PWD/../../build/pkgconfig \
//	    LD_LIBRARY_PATH=$PWD/../../lib go run ./quickstart
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	aisle "github.com/aisle-project/aisle/bindings/go"
)

func main() {
	fmt.Println("aisle", aisle.Version())

	// A small synthetic shop: shoppers C10000.., products P00001..
	demo, err := aisle.NewConfig(aisle.Options{"demo_users": 1000, "demo_items": 300, "demo_days": 30, "seed": 7})
	check(err)
	defer demo.Close()
	events, err := aisle.DemoDataset(demo)
	check(err)
	defer events.Close()
	catalog, err := aisle.DemoCatalog(demo) // the same store's products: titles, prices
	check(err)
	defer catalog.Close()
	fmt.Printf("demo store: %d users, %d items, %d events\n", events.NumUsers(), events.NumItems(), events.NumEvents())

	train, test, err := events.SplitSpec("last:1", 7)
	check(err)
	defer train.Close()
	defer test.Close()

	cfg, err := aisle.NewConfig(aisle.Options{"model": "als", "factors": 32, "epochs": 8, "threads": 2, "seed": 7})
	check(err)
	defer cfg.Close()
	cfg.SetProgress(func(p aisle.Progress) error {
		fmt.Printf("  epoch %d/%d loss %.4g\n", p.Step, p.Steps, p.Loss)
		return nil
	})
	model, err := aisle.Train(train, cfg)
	check(err)
	defer model.Close()

	user, _ := train.UserKey(0)
	recs, err := model.Recommend(user, 5, nil)
	check(err)
	fmt.Printf("\ntop 5 for %s:\n", user)
	for _, r := range recs {
		title, _ := catalog.Text(r.Item, "title")
		fmt.Printf("  %-8s %.4f  %s\n", r.Item, r.Score, title)
	}

	why, err := model.Explain(user, recs[0].Item, 3)
	check(err)
	fmt.Printf("\nwhy %s? because of\n", recs[0].Item)
	for _, w := range why {
		fmt.Printf("  %-8s %+.2f\n", w.Item, w.Score)
	}

	sims, err := model.SimilarItems(recs[0].Item, 5, nil)
	check(err)
	fmt.Printf("\nsimilar to %s: %v\n", recs[0].Item, items(sims))

	ecfg, err := aisle.NewConfig(aisle.Options{"k": 10})
	check(err)
	defer ecfg.Close()
	res, err := model.Evaluate(test, ecfg)
	check(err)
	fmt.Printf("\nheld-out last item: ndcg@10 %.4f  recall@10 %.4f  (%.0f users)\n",
		res.Metrics["ndcg@10"], res.Metrics["recall@10"], res.Counts["users"])

	dir, err := os.MkdirTemp("", "aisle-quickstart")
	check(err)
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.aisle")
	switch err := model.Save(path, nil); {
	case errors.Is(err, aisle.ErrUnsupported):
		fmt.Println("save:", err)
	case err != nil:
		log.Fatal(err)
	default:
		again, err := aisle.Load(path, nil)
		check(err)
		defer again.Close()
		fmt.Println("saved and reloaded", path)
	}
}

func items(rs []aisle.Scored) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Item
	}
	return out
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
