package aisle

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// Even users buy mugs and live in the UK, odd ones buy spades in Germany;
// newuk and newde are in the user table only.
func tasteShop(t *testing.T) (*Dataset, *Catalog, *Catalog) {
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	for u := 0; u < 40; u++ {
		for j := 0; j < 6; j++ {
			item := 2*((u*3+j*7)%10) + u%2
			if err := ds.AddEvent(fmt.Sprintf("u%d", u), fmt.Sprintf("i%d", item), "purchase", 1, int64(1700000000+j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cat, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p := Product{Key: fmt.Sprintf("i%d", i), Title: "ceramic mug", Category: "Kitchen > Mugs", Brand: "Potter", Price: math.NaN()}
		if i%2 == 1 {
			p.Title, p.Category, p.Brand = "steel spade", "Garden > Tools", "Digger"
		}
		if err := cat.AddItem(p); err != nil {
			t.Fatal(err)
		}
	}
	users, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("user_id,country\n")
	for u := 0; u < 40; u++ {
		country := "UK"
		if u%2 == 1 {
			country = "DE"
		}
		fmt.Fprintf(&b, "u%d,%s\n", u, country)
	}
	b.WriteString("newuk,UK\nnewde,DE\n")
	if err := users.LoadBytes([]byte(b.String()), "users.csv", nil); err != nil {
		t.Fatal(err)
	}
	return ds, cat, users
}

func TestHybridUsersAndExplainFeatures(t *testing.T) {
	ds, cat, users := tasteShop(t)
	defer ds.Close()
	defer cat.Close()
	defer users.Close()
	cfg, err := NewConfig(Options{"model": "hybrid", "factors": 8, "epochs": 30, "threads": 1, "seed": 3, "learning_rate": 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	m, err := TrainWithFeatures(ds, cat, users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.NumUsers() != 42 {
		t.Fatalf("users %d", m.NumUsers())
	}
	recs, err := m.Recommend("newde", 3, nil)
	if err != nil || len(recs) != 3 {
		t.Fatal(recs, err)
	}
	for _, r := range recs {
		var i int
		fmt.Sscanf(r.Item, "i%d", &i)
		if i%2 != 1 {
			t.Fatalf("newde got %s", r.Item)
		}
	}
	feats, err := m.ExplainFeatures("newuk", "i0", 50)
	if err != nil {
		t.Fatal(err)
	}
	sum, country := 0.0, false
	for _, f := range feats {
		sum += float64(f.Score)
		country = country || f.Item == "country: UK"
	}
	s, _ := m.Score("newuk", "i0")
	if !country || math.Abs(sum-float64(s)) > 1e-4 {
		t.Fatalf("features %v sum %g score %g", feats, sum, s)
	}
	if _, err := m.ExplainFeatures("nobody", "i0", 3); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	als, err := NewConfig(Options{"model": "als", "factors": 4})
	if err != nil {
		t.Fatal(err)
	}
	defer als.Close()
	if _, err := TrainWithFeatures(ds, nil, users, als); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
}

// A saved hybrid takes today's products and shoppers from catalogs,
// directly and through a server; other kinds refuse.
func TestHybridAddItemsAndUsers(t *testing.T) {
	ds, cat, users := tasteShop(t)
	defer ds.Close()
	defer cat.Close()
	defer users.Close()
	cfg, err := NewConfig(Options{"model": "hybrid", "factors": 8, "epochs": 30, "threads": 1, "seed": 3, "learning_rate": 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	m, err := TrainWithFeatures(ds, cat, users, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	today, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	defer today.Close()
	for _, p := range []Product{
		{Key: "newmug", Title: "ceramic mug", Category: "Kitchen > Mugs", Brand: "Potter", Price: math.NaN()},
		{Key: "newspade", Title: "steel spade", Category: "Garden > Tools", Brand: "Digger", Price: math.NaN()},
		{Key: "i0", Title: "changed", Price: math.NaN()},
	} {
		if err := today.AddItem(p); err != nil {
			t.Fatal(err)
		}
	}
	n0 := m.NumItems()
	if n, err := m.AddItems(today); err != nil || n != 2 || m.NumItems() != n0+2 {
		t.Fatal(n, err, m.NumItems())
	}
	mug, _ := m.Score("u0", "newmug")
	spade, _ := m.Score("u0", "newspade")
	if mug <= spade {
		t.Fatalf("u0: newmug %g, newspade %g", mug, spade)
	}
	late, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := late.LoadBytes([]byte("user_id,country\nlateuk,UK\n"), "late.csv", nil); err != nil {
		t.Fatal(err)
	}
	if n, err := m.AddUsers(late); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	a, _ := m.Score("lateuk", "i0")
	b, _ := m.Score("newuk", "i0")
	if a != b {
		t.Fatalf("lateuk %g, newuk %g", a, b)
	}
	if _, err := m.AddItems(nil); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	als, err := NewConfig(Options{"model": "als", "factors": 4})
	if err != nil {
		t.Fatal(err)
	}
	defer als.Close()
	am, err := Train(ds, als)
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	if _, err := am.AddItems(today); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
	s, err := NewServer(m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	more, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	defer more.Close()
	if err := more.AddItem(Product{Key: "newcup", Title: "ceramic mug", Category: "Kitchen > Mugs", Brand: "Potter", Price: math.NaN()}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AddItems(more); err != nil || n != 1 {
		t.Fatal(n, err)
	}
}
