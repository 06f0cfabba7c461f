package aisle

import (
	"errors"
	"testing"
	"time"
)

// Issue 15.4: a filter (or progress function) that closes the handle its
// call is using deadlocked (Close waited for the lock the call held).
// Close now marks the handle closed and the call frees it as it returns.

func withinSeconds(t *testing.T, s int, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Duration(s) * time.Second):
		t.Fatalf("%s did not return within %d s (deadlock?)", what, s)
	}
}

func TestFilterClosingItsModelDefersTheFree(t *testing.T) {
	for _, call := range []string{"recommend", "similar", "batch"} {
		m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn", "threads": 1})
		r := mustRec(t, nil)
		_ = r.SetFilter(func(string, int) bool { m.Close(); return true })
		var recs []Scored
		var err error
		withinSeconds(t, 20, call, func() {
			switch call {
			case "recommend":
				recs, err = m.Recommend("u1", 5, r)
			case "similar":
				recs, err = m.SimilarItems("i1", 5, r)
			default:
				var all [][]Scored
				all, err = m.RecommendBatch([]string{"u1", "u2"}, 5, r)
				if err == nil {
					recs = all[0]
				}
			}
		})
		if err != nil || len(recs) != 5 {
			t.Fatalf("%s: %v %v", call, recs, err)
		}
		if _, err := m.Recommend("u1", 3, nil); !errors.Is(err, ErrState) {
			t.Fatalf("%s: after close: %v", call, err)
		}
	}
}

func TestFilterClosingItsOptionsDefersTheFree(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn", "threads": 1})
	r, err := NewRecOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.SetFilter(func(string, int) bool { r.Close(); return true })
	withinSeconds(t, 20, "recommend", func() {
		if recs, err := m.Recommend("u1", 3, r); err != nil || len(recs) != 3 {
			t.Errorf("%v %v", recs, err)
		}
	})
	if _, err := m.Recommend("u1", 3, r); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
}

func TestProgressClosingTheDatasetDefersTheFree(t *testing.T) {
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.AddEvents(gridEvents(30, 20, 5)); err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig(Options{"model": "als", "epochs": 2, "factors": 4, "threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	cfg.SetProgress(func(Progress) error { ds.Close(); cfg.Close(); return nil })
	var m *Model
	withinSeconds(t, 20, "train", func() { m, err = Train(ds, cfg) })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if recs, err := m.Recommend("u1", 3, nil); err != nil || len(recs) != 3 {
		t.Fatal(recs, err)
	}
	if err := ds.AddEvent("a", "b", "view", 1, 0); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
}
