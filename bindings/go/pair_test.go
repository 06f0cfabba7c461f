package aisle

import (
	"math"
	"testing"
)

// A shop where even users buy mugs and odd users spades; the keys say
// nothing, the titles do.
func pairShop(t *testing.T) (*Dataset, *Catalog, *Catalog) {
	t.Helper()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	cat, users := newCatalog(t), newCatalog(t)
	for u := 0; u < 16; u++ {
		for j := 0; j < 4; j++ {
			item := 2*((u*5+j*3)%8) + (u & 1)
			if err := ds.AddEvent("u"+itoa(u), "x"+itoa(item), "purchase", 1, int64(1700000000+u*10+j)); err != nil {
				t.Fatal(err)
			}
		}
		hobby := "cooking"
		if u&1 == 1 {
			hobby = "gardening"
		}
		if err := users.AddItem(Product{Key: "u" + itoa(u), Price: math.NaN()}); err != nil {
			t.Fatal(err)
		}
		if err := users.SetAttribute("u"+itoa(u), "hobby", hobby); err != nil {
			t.Fatal(err)
		}
	}
	fillPairCatalog(cat, true)
	return ds, cat, users
}

// The shop's products x0..x15 and, withNew, newmug and newspade.
func fillPairCatalog(cat *Catalog, withNew bool) {
	for i := 0; i < 16; i++ {
		title := "steel spade model " + itoa(i)
		if i%2 == 0 {
			title = "ceramic mug model " + itoa(i)
		}
		_ = cat.AddItem(Product{Key: "x" + itoa(i), Title: title, Price: math.NaN()})
	}
	if withNew {
		_ = cat.AddItem(Product{Key: "newmug", Title: "ceramic mug deluxe", Price: math.NaN()})
		_ = cat.AddItem(Product{Key: "newspade", Title: "steel spade deluxe", Price: math.NaN()})
	}
}

// Products added after training score exactly as in the training catalog;
// shoppers join from an attribute table.
func TestPairAddItemsAndUsers(t *testing.T) {
	ds, cat, users := pairShop(t)
	old := newCatalog(t)
	fillPairCatalog(old, false)
	cfg, err := NewConfig(Options{"model": "pair", "objective": "purchase", "hidden": 16, "heads": 2,
		"ff_hidden": 32, "blocks": 1, "epochs": 2, "threads": 1, "seed": 5, "hash_buckets": 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	trained, err := TrainWithFeatures(ds, cat, users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer trained.Close()
	m, err := TrainWithFeatures(ds, old, users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, err := m.AddItems(cat); err != nil || n != 2 {
		t.Fatalf("AddItems: %d, %v", n, err)
	}
	a, _ := m.Score("u3", "newspade")
	b, _ := trained.Score("u3", "newspade")
	if a != b {
		t.Fatalf("added product %g, in the training catalog %g", a, b)
	}
	people := newCatalog(t)
	if err := people.AddItem(Product{Key: "newbie", Price: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if err := people.SetAttribute("newbie", "hobby", "gardening"); err != nil {
		t.Fatal(err)
	}
	if n, err := m.AddUsers(people); err != nil || n != 1 {
		t.Fatalf("AddUsers: %d, %v", n, err)
	}
	if p, err := m.Score("newbie", "newspade"); err != nil || !(p > 0 && p < 1) {
		t.Fatalf("new shopper: %g, %v", p, err)
	}
}

func TestPairTrainWithFeaturesScoresNewProductsAndReranks(t *testing.T) {
	ds, cat, users := pairShop(t)
	cfg, err := NewConfig(Options{"model": "pair", "objective": "purchase", "hidden": 16, "heads": 2,
		"ff_hidden": 32, "blocks": 1, "epochs": 10, "threads": 1, "seed": 5, "learning_rate": 0.01,
		"batch_size": 16, "dropout": 0, "hash_buckets": 4096, "recent_items": 3, "title_tokens": 3})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	m, err := TrainWithFeatures(ds, cat, users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mug, _ := m.Score("u0", "newmug")
	spade, _ := m.Score("u0", "newspade")
	if !(mug > spade) {
		t.Fatalf("u0: newmug %g, newspade %g", mug, spade)
	}
	cands := []string{"x1", "newspade", "nope", "newmug"}
	scores, order, err := m.Rerank("u0", cands)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(scores[2])) || order[3] != 2 {
		t.Fatalf("unknown candidate: scores %v order %v", scores, order)
	}
	if scores[3] != mug {
		t.Fatalf("rerank score %g, Score %g", scores[3], mug)
	}
	for k := 0; k+2 < len(order); k++ {
		if scores[order[k]] < scores[order[k+1]] {
			t.Fatalf("order %v does not follow scores %v", order, scores)
		}
	}
	words, err := m.ExplainWords("u0", "newmug")
	if err != nil || len(words) < 3 || words[len(words)-1].Token != "product: deluxe" {
		t.Fatalf("ExplainWords: %v %v", words, err)
	}
	if _, _, err := m.Rerank("u0", []string{"x1", "\x00bad"}); err == nil {
		t.Fatal("a key with NUL was accepted")
	}
}
