package aisle

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func searchCatalog(t *testing.T) *Catalog {
	c := newCatalog(t)
	for _, p := range []Product{
		{Key: "p1", Title: "Wireless Earbuds", Description: "Bluetooth earbuds, charging case", Category: "Electronics > Headphones", Brand: "Sonic", Price: 49},
		{Key: "p2", Title: "Red Lunch Bag", Description: "Insulated lunch bag", Category: "Kitchen > Storage", Brand: "Pack", Price: 15},
		{Key: "p3", Title: "蓝牙耳机", Description: "无线蓝牙耳机 charging case", Category: "Electronics > Headphones", Brand: "Sonic", Price: 59},
		{Key: "p4", Title: "Lunch Box", Description: "Bento lunch box", Category: "Kitchen > Storage", Brand: "Pack", Price: 18},
	} {
		if err := c.AddItem(p); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestSearchTyposFiltersFacetsSaveLoad(t *testing.T) {
	c := searchCatalog(t)
	idx, err := BuildSearchIndex(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if idx.Len() != 4 {
		t.Fatalf("len %d", idx.Len())
	}
	r, err := idx.Search("wireles earbuds", SearchRequest{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Hits[0].Item != "p1" || strings.Join(r.Hits[0].Matched, " ") != "wireless earbuds" ||
		!strings.Contains(r.Explain(0), "wireles->wireless (1 edit)") {
		t.Fatalf("hits %+v explain %q", r.Hits, r.Explain(0))
	}
	cfg, _ := NewConfig(Options{"search_facets": "brand"})
	defer cfg.Close()
	r, err = idx.Search("lunch ", SearchRequest{K: 5, Filters: []string{"price=..16"}, Config: cfg})
	if err != nil || len(r.Hits) != 1 || r.Hits[0].Item != "p2" || r.Facets["brand"][0] != (FacetValue{"Pack", 1}) {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := idx.Search("x", SearchRequest{Filters: []string{"nonsense"}}); !errors.Is(err, &Error{Code: CodeInvalid}) {
		t.Fatalf("want invalid, got %v", err)
	}
	if err := c.AddItem(Product{Key: "p5", Title: "Espresso Machine", Price: 99}); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(c, "p5"); err != nil {
		t.Fatal(err)
	}
	if err := idx.Remove("p1"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shop.idx")
	if err := idx.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadSearchIndex(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	r, err = back.Search("espreso", SearchRequest{K: 1})
	if err != nil || back.Len() != 4 || r.Hits[0].Item != "p5" {
		t.Fatalf("%+v %v", r, err)
	}
	s, err := back.Suggest("lun", 3)
	if err != nil || len(s) == 0 || s[0].Item != "lunch" {
		t.Fatalf("suggest %+v %v", s, err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if r, err := back.Search("lunch", SearchRequest{K: 2}); err != nil || len(r.Hits) != 2 {
					t.Error(r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSearchLearnFromLog(t *testing.T) {
	c := searchCatalog(t)
	idx, err := BuildSearchIndex(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if w, err := idx.Ranker(); err != nil || len(w) != 0 {
		t.Fatalf("ranker before learning: %v %v", w, err)
	}
	log := "query_id,query,user,item,event\ns1,lunch,,p2,shown\ns1,lunch,,p4,purchase\n"
	pairs, err := idx.Learn([]byte(log), "log.csv", nil, nil)
	if err != nil || pairs != 1 {
		t.Fatalf("learn: %d pairs, %v", pairs, err)
	}
	w, err := idx.Ranker()
	if _, ok := w["popularity"]; err != nil || len(w) != 8 || !ok {
		t.Fatalf("ranker %v %v", w, err)
	}
	r, err := idx.Search("lunch", SearchRequest{K: 2})
	if err != nil || !strings.Contains(r.Explain(0), "learned ranker") {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = idx.Learn([]byte("query_id,query,user,item,event\ns1,lunch,,p2,seen\n"), "log.csv", nil, nil)
	if !errors.Is(err, &Error{Code: CodeFormat}) || !strings.Contains(err.Error(), "log.csv:2:") {
		t.Fatalf("bad log: %v", err)
	}
}

func TestSearchPersonalWithModel(t *testing.T) {
	c := searchCatalog(t)
	idx, err := BuildSearchIndex(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for u := 0; u < 20; u++ {
		items := []string{"p1", "p3"}
		if u%2 == 1 {
			items = []string{"p2", "p4"}
		}
		for _, it := range items {
			if err := ds.AddEvent("u"+string(rune('a'+u)), it, "purchase", 1, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	m, err := TrainWith(ds, Options{"model": "als", "factors": 4, "epochs": 3, "seed": 1, "threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r, err := idx.Search("case", SearchRequest{K: 3, Model: m, User: "ua"})
	if err != nil || !strings.Contains(r.Explain(0), "history moved it from rank") {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = idx.Search("case", SearchRequest{K: 3, Model: m, User: "nobody"})
	if err != nil || !strings.Contains(r.Explain(0), "user unknown") {
		t.Fatalf("%+v %v", r, err)
	}
}

// encodedIndex builds an index of searchCatalog, attaches an encoder by
// attach and checks it holds vectors of width dim under a fingerprint; the
// index is closed when the test ends.
func encodedIndex(t *testing.T, dim int, attach func(*SearchIndex, *Catalog) error) (*SearchIndex, uint64) {
	t.Helper()
	c := searchCatalog(t)
	idx, err := BuildSearchIndex(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idx.Close)
	if err := attach(idx, c); err != nil {
		t.Fatal(err)
	}
	got, attached, fp, err := idx.EncoderInfo()
	if err != nil || got != dim || !attached || fp == 0 {
		t.Fatalf("encoder info %d %v %x %v", got, attached, fp, err)
	}
	return idx, fp
}

// savedAndLoaded saves idx to a file and loads it back; the copy is
// closed when the test ends.
func savedAndLoaded(t *testing.T, idx *SearchIndex) *SearchIndex {
	t.Helper()
	path := filepath.Join(t.TempDir(), "encoded.idx")
	if err := idx.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadSearchIndex(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(back.Close)
	return back
}

func TestSearchEncoderSavedAndAttached(t *testing.T) {
	b, err := ImportBert(bertCheckpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	idx, fp := encodedIndex(t, 64, func(idx *SearchIndex, c *Catalog) error { return idx.SetEncoder(b, c, nil) })
	r, err := idx.Search("zebra quartz ", SearchRequest{K: 4})
	if err != nil || len(r.Hits) == 0 {
		t.Fatalf("encoder search: %v %v", r, err)
	}
	back := savedAndLoaded(t, idx)
	if _, attached, fp2, _ := back.EncoderInfo(); attached || fp2 != fp {
		t.Fatalf("loaded: attached %v fingerprint %x, want %x", attached, fp2, fp)
	}
	if err := back.SetEncoder(b, nil, nil); err != nil {
		t.Fatal(err)
	}
	r2, err := back.Search("zebra quartz ", SearchRequest{K: 4})
	if err != nil || len(r2.Hits) != len(r.Hits) || r2.Hits[0].Item != r.Hits[0].Item {
		t.Fatalf("after load: %v %v", r2, err)
	}
}

func TestSearchTextModelEncoder(t *testing.T) {
	tx, err := NewTexts()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for i, s := range []string{"leather phone case", "phone charger cable", "garden hose reel", "garden spade"} {
		if err := tx.Add(s, []string{"phone", "phone", "garden", "garden"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := TrainTextWith(tx, Options{"architecture": "transformer", "hidden": "8", "blocks": "1", "heads": "2",
		"ff_hidden": "16", "epochs": "1", "hash_buckets": "4096", "calibration_fraction": "0", "threads": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	idx, fp := encodedIndex(t, 8, func(idx *SearchIndex, c *Catalog) error { return idx.SetTextModel(m, c, nil) })
	back := savedAndLoaded(t, idx)
	if err := back.SetTextModel(m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, attached, fp2, _ := back.EncoderInfo(); !attached || fp2 != fp {
		t.Fatalf("loaded: attached %v fingerprint %x, want %x", attached, fp2, fp)
	}
	if err := back.SetTextModel(nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if dim, _, _, _ := back.EncoderInfo(); dim != 0 {
		t.Fatalf("detached: dim %d", dim)
	}
}
