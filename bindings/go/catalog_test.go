package aisle

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func newCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCatalogFieldsAttributesAndLookups(t *testing.T) {
	c := newCatalog(t)
	if err := c.AddItem(Product{Key: "P1", Title: "Blue mug", Category: "Home > Kitchen", Brand: "Acme", Price: 9.5}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddItem(Product{Key: "P2", Title: "茶碗", Price: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAttribute("P1", "colour", "blue"); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 {
		t.Fatal(c.Len())
	}
	if i, err := c.Index("P2"); err != nil || i != 1 {
		t.Fatal(i, err)
	}
	if k, _ := c.Key(0); k != "P1" {
		t.Fatal(k)
	}
	if s, _ := c.Text("P1", "category"); s != "Home > Kitchen" {
		t.Fatal(s)
	}
	if s, _ := c.Text("P2", "title"); s != "茶碗" {
		t.Fatal(s)
	}
	if p, _ := c.Price("P2"); !math.IsNaN(p) {
		t.Fatal(p)
	}
	attrs, err := c.Attributes("P1")
	if err != nil || !reflect.DeepEqual(attrs, []Attribute{{"colour", "blue"}}) {
		t.Fatal(attrs, err)
	}
	if _, err := c.Price("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := c.SetAttribute("nope", "a", "b"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := c.AddItem(Product{Key: ""}); !errors.Is(err, ErrInvalid) || c.Len() != 2 {
		t.Fatal(err)
	}
}

func TestCatalogLoadDemoAndStrictErrors(t *testing.T) {
	dir := t.TempDir()
	small, _ := NewConfig(Options{"demo_users": 60, "demo_items": 50, "demo_days": 5, "demo_messages": 10})
	defer small.Close()
	if err := DemoWrite(dir, small); err != nil {
		t.Fatal(err)
	}
	c := newCatalog(t)
	if err := c.Load(filepath.Join(dir, "catalog.csv"), nil); err != nil {
		t.Fatal(err)
	}
	if rep, _ := c.LoadReport(); c.Len() != 50 || rep.RowsLoaded != 50 {
		t.Fatal(c.Len(), rep)
	}
	k, _ := c.Key(0)
	if cat, _ := c.Text(k, "category"); !strings.Contains(cat, ">") {
		t.Fatal(cat)
	}
	b := newCatalog(t)
	bad := []byte("item_id,title,price\nP1,Mug,3.5\nP2,Tea,cheap\n")
	if err := b.LoadBytes(bad, "cat.csv", nil); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "cat.csv:3") || b.Len() != 0 {
		t.Fatal(err)
	}
}

func TestDemoCatalogMatchesTheDemoEvents(t *testing.T) {
	cfg, _ := NewConfig(Options{"demo_users": 60, "demo_items": 50, "demo_days": 5, "seed": 2})
	defer cfg.Close()
	c, err := DemoCatalog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds, _ := DemoDataset(cfg)
	defer ds.Close()
	if c.Len() != 50 {
		t.Fatal(c.Len())
	}
	for _, item := range ds.Items() {
		if _, err := c.Index(item); err != nil {
			t.Fatal(item, err)
		}
	}
	k, _ := c.Key(0)
	if p, _ := c.Price(k); math.IsNaN(p) {
		t.Fatal("demo product without price")
	}
}

func TestTrainWithCatalog(t *testing.T) {
	ds := gridDataset(t, 30)
	c := newCatalog(t)
	for i := 0; i < 20; i++ {
		_ = c.AddItem(Product{Key: "i" + itoa(i), Title: "item " + itoa(i), Price: math.NaN()})
	}
	cfg, _ := NewConfig(Options{"model": "itemknn", "threads": 1})
	defer cfg.Close()
	m, err := TrainWithCatalog(ds, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	plain := mustTrain(t, ds, Options{"model": "itemknn", "threads": 1})
	a, _ := m.Recommend("u1", 3, nil)
	b, _ := plain.Recommend("u1", 3, nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal(a, b)
	}
}
