package aisle

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// gridEvents is a deterministic shop large enough for factor models: user
// u buys items (7u + 3j) mod items.
func gridEvents(users, items, perUser int) []Event {
	var ev []Event
	for u := 0; u < users; u++ {
		for j := 0; j < perUser; j++ {
			ev = append(ev, Event{fmt.Sprintf("u%d", u), fmt.Sprintf("i%d", (u*7+j*3)%items), "purchase", 1,
				int64(1700000000 + u*10 + j)})
		}
	}
	return ev
}

func gridDataset(t *testing.T, users int) *Dataset {
	t.Helper()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	if err := ds.AddEvents(gridEvents(users, 20, 5)); err != nil {
		t.Fatal(err)
	}
	return ds
}

func seenItems(u string) map[string]bool {
	s := map[string]bool{}
	for _, e := range gridEvents(30, 20, 5) {
		if e.User == u {
			s[e.Item] = true
		}
	}
	return s
}

func mustRec(t *testing.T, opts Options) *RecOptions {
	t.Helper()
	r, err := NewRecOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func forKinds(t *testing.T, f func(t *testing.T, m *Model)) {
	for _, kind := range []string{"itemknn", "als"} {
		t.Run(kind, func(t *testing.T) {
			m := mustTrain(t, gridDataset(t, 30), Options{"model": kind, "threads": 1, "seed": 3})
			f(t, m)
		})
	}
}

func TestRecommendTopKWithoutSeenItems(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		recs, err := m.Recommend("u1", 5, nil)
		if err != nil || len(recs) != 5 {
			t.Fatal(recs, err)
		}
		seen := seenItems("u1")
		for i, r := range recs {
			if seen[r.Item] {
				t.Fatalf("seen item %s recommended", r.Item)
			}
			if i > 0 && r.Score > recs[i-1].Score {
				t.Fatal("not best first")
			}
		}
		all, _ := m.Recommend("u1", 20, mustRec(t, Options{"exclude_seen": false}))
		found := false
		for _, r := range all {
			found = found || seen[r.Item]
		}
		if !found {
			t.Fatal("exclude_seen=false returned no training item")
		}
	})
}

func TestNegativeKFailsAndHugeKIsBounded(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn"})
	if _, err := m.Recommend("u1", -1, nil); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	if _, err := m.Explain("u1", "i1", -1); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	recs, err := m.Recommend("u1", 1<<40, nil)
	if err != nil || len(recs) != m.NumItems()-len(seenItems("u1")) {
		t.Fatal(len(recs), err)
	}
	if recs, err := m.Recommend("u1", 0, nil); err != nil || len(recs) != 0 {
		t.Fatal(recs, err)
	}
	if b, err := m.RecommendBatch([]string{"u1", "u2"}, 1<<40, nil); err != nil || len(b) != 2 {
		t.Fatal(err)
	}
}

func TestAllowDenyAndFilter(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		allow := mustRec(t, nil)
		if err := allow.Allow([]string{"i0", "i5", "i10", "i15"}); err != nil {
			t.Fatal(err)
		}
		recs, err := m.Recommend("u1", 10, allow)
		if err != nil || len(recs) == 0 {
			t.Fatal(recs, err)
		}
		for _, r := range recs {
			if !map[string]bool{"i0": true, "i5": true, "i10": true, "i15": true}[r.Item] {
				t.Fatalf("%s not allowed", r.Item)
			}
		}
		top, _ := m.Recommend("u1", 3, nil)
		deny := mustRec(t, nil)
		_ = deny.Deny([]string{top[0].Item})
		denied, _ := m.Recommend("u1", 3, deny)
		for _, r := range denied {
			if r.Item == top[0].Item {
				t.Fatal("denied item returned")
			}
		}
		odd := mustRec(t, nil)
		_ = odd.SetFilter(func(key string, idx int) bool { return (key[len(key)-1]-'0')%2 == 1 })
		recs, _ = m.Recommend("u1", 5, odd)
		if len(recs) == 0 {
			t.Fatal("filter dropped everything")
		}
		for _, r := range recs {
			if (r.Item[len(r.Item)-1]-'0')%2 != 1 {
				t.Fatalf("filter let %s through", r.Item)
			}
		}
	})
}

func TestPanicInFilterIsReraised(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn", "threads": 1})
	r := mustRec(t, nil)
	_ = r.SetFilter(func(string, int) bool { panic("filter boom") })
	func() {
		defer func() {
			if v := recover(); v != "filter boom" {
				t.Fatalf("recovered %v", v)
			}
		}()
		_, _ = m.Recommend("u1", 5, r)
		t.Fatal("no panic")
	}()
	_ = r.SetFilter(nil)
	if recs, err := m.Recommend("u1", 5, r); err != nil || len(recs) != 5 {
		t.Fatal(recs, err)
	}
}

func TestUnknownUserPopularOrNotFound(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn"})
	if recs, err := m.Recommend("stranger", 3, nil); err != nil || len(recs) != 3 {
		t.Fatal(recs, err)
	}
	_, err := m.Recommend("stranger", 3, mustRec(t, Options{"unknown_user": "error"}))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "stranger") {
		t.Fatal(err)
	}
	if _, err := NewRecOptions(Options{"unknown_user": "maybe"}); err == nil ||
		!strings.Contains(err.Error(), "unknown_user") {
		t.Fatal(err)
	}
}

func TestUnknownUserIsFlaggedAsPopularityFallback(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn"})
	recs, fb, err := m.RecommendWithFallback("stranger", 3, nil)
	if err != nil || !fb || len(recs) != 3 {
		t.Fatal(recs, fb, err)
	}
	plain, _ := m.Recommend("stranger", 3, nil)
	if !reflect.DeepEqual(recs, plain) {
		t.Fatal(recs, plain)
	}
	if recs, fb, err = m.RecommendWithFallback("u1", 3, nil); err != nil || fb || len(recs) != 3 {
		t.Fatal(recs, fb, err)
	}
	if _, fb, err = m.RecommendWithFallback("stranger", 3, mustRec(t, Options{"unknown_user": "error"})); fb ||
		!errors.Is(err, ErrNotFound) {
		t.Fatal(fb, err)
	}
}

func TestSimilarScoreExplainFoldIn(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		sims, err := m.SimilarItems("i3", 4, nil)
		if err != nil || len(sims) != 4 {
			t.Fatal(sims, err)
		}
		for _, s := range sims {
			if s.Item == "i3" {
				t.Fatal("item similar to itself")
			}
		}
		if _, err := m.SimilarItems("nope", 4, nil); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		top, _ := m.Recommend("u2", 1, nil)
		s, err := m.Score("u2", top[0].Item)
		if err != nil || math.Abs(float64(s-top[0].Score)) > 1e-4*math.Max(1, math.Abs(float64(s))) {
			t.Fatal(s, top[0].Score, err)
		}
		expl, err := m.Explain("u2", top[0].Item, 3)
		if err != nil || len(expl) == 0 || len(expl) > 3 {
			t.Fatal(expl, err)
		}
		for _, e := range expl {
			if !seenItems("u2")[e.Item] {
				t.Fatalf("explanation item %s not in history", e.Item)
			}
		}
		fold, err := m.RecommendForItems([]string{"i1", "i2"}, []float32{1, 3}, 4, nil)
		if err != nil || len(fold) != 4 {
			t.Fatal(fold, err)
		}
		if _, err := m.RecommendForItems([]string{"i1", "i2"}, []float32{1}, 4, nil); !errors.Is(err, ErrInvalid) {
			t.Fatal(err)
		}
	})
}

func TestHistoryListsTrainingItems(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		hist, err := m.History("u2", 0)
		if err != nil || len(hist) != len(seenItems("u2")) {
			t.Fatal(hist, err)
		}
		for _, h := range hist {
			if !seenItems("u2")[h.Item] || h.Score <= 0 {
				t.Fatalf("history entry %v", h)
			}
		}
		one, err := m.History("u2", 1)
		if err != nil || len(one) != 1 || one[0] != hist[0] {
			t.Fatal(one, err)
		}
		if _, err := m.History("nobody", 0); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}

func TestUpdateUserChangesSeenItems(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "itemknn", "threads": 1})
	top, _ := m.Recommend("u1", 1, nil)
	if err := m.UpdateUser("u1", []string{top[0].Item}, []float32{5}); err != nil {
		t.Fatal(err)
	}
	recs, _ := m.Recommend("u1", 5, nil)
	for _, r := range recs {
		if r.Item == top[0].Item {
			t.Fatal("updated item still recommended")
		}
	}
	if err := m.UpdateUser("stranger", []string{"i1"}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestBatchEqualsSingleCalls(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		users := []string{"u0", "u5", "stranger", "u9"}
		batch, err := m.RecommendBatch(users, 4, mustRec(t, Options{"threads": 2}))
		if err != nil || len(batch) != len(users) {
			t.Fatal(batch, err)
		}
		for i, u := range users {
			single, _ := m.Recommend(u, 4, nil)
			if len(single) != len(batch[i]) {
				t.Fatalf("%s: %v vs %v", u, batch[i], single)
			}
			for j := range single {
				if single[j].Item != batch[i][j].Item ||
					math.Abs(float64(single[j].Score-batch[i][j].Score)) > 1e-4 {
					t.Fatalf("%s: %v vs %v", u, batch[i], single)
				}
			}
		}
	})
}

// The filter is called from the library's worker threads (threads=3),
// which are not Go threads; results equal single calls.
func TestBatchFilterOnWorkerThreads(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		opts := mustRec(t, Options{"threads": 3})
		var mu sync.Mutex
		calls := 0
		_ = opts.SetFilter(func(key string, index int) bool {
			mu.Lock()
			calls++
			mu.Unlock()
			return index%3 != 0
		})
		users := make([]string, 30)
		for i := range users {
			users[i] = fmt.Sprintf("u%d", i)
		}
		batch, err := m.RecommendBatch(users, 4, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range users {
			single, _ := m.Recommend(u, 4, opts)
			for j := range single {
				if single[j].Item != batch[i][j].Item {
					t.Fatalf("%s: %v vs %v", u, batch[i], single)
				}
				if idx, _ := m.ItemIndex(single[j].Item); idx%3 == 0 {
					t.Fatalf("filter let %s through", single[j].Item)
				}
			}
		}
		if calls == 0 {
			t.Fatal("filter never called")
		}
	})
}

// 8 goroutines x 200 Recommend calls on one model give exactly the
// sequential results (the model is shared read-only).
func TestConcurrentRecommendEqualsSequential(t *testing.T) {
	forKinds(t, func(t *testing.T, m *Model) {
		users := make([]string, 30)
		want := map[string][]Scored{}
		for i := range users {
			users[i] = fmt.Sprintf("u%d", i)
			want[users[i]], _ = m.Recommend(users[i], 5, nil)
		}
		deny := mustRec(t, nil)
		_ = deny.Deny([]string{"i0"})
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					u := users[(g*31+i)%len(users)]
					got, err := m.Recommend(u, 5, nil)
					if err != nil || !reflect.DeepEqual(got, want[u]) {
						errs <- fmt.Sprintf("goroutine %d call %d user %s: %v %v", g, i, u, got, err)
						return
					}
					if _, err := m.Recommend(u, 5, deny); err != nil {
						errs <- err.Error()
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}

func TestCloseWaitsAndLaterCallsFail(t *testing.T) {
	ds := gridDataset(t, 30)
	m, err := TrainWith(ds, Options{"model": "itemknn"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := m.Recommend("u1", 3, nil); err != nil && !errors.Is(err, ErrState) {
					t.Error(err)
					return
				}
			}
		}()
	}
	m.Close()
	wg.Wait()
	if _, err := m.Recommend("u1", 3, nil); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "popular", "seed": 5})
	path := filepath.Join(t.TempDir(), "m.aisle")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for _, u := range []string{"u0", "u7", "stranger"} {
		a, _ := m.Recommend(u, 5, nil)
		b, _ := again.Recommend(u, 5, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %v vs %v", u, a, b)
		}
	}
	data, err := m.Bytes(nil)
	if err != nil || len(data) == 0 {
		t.Fatal(err)
	}
	fromBytes, err := LoadBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes.Close()
	if _, err := LoadBytes(data[:len(data)/2], nil); !errors.Is(err, ErrFormat) {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.aisle"), nil); err == nil ||
		!strings.Contains(err.Error(), "missing.aisle") {
		t.Fatal(err)
	}
	bad, _ := NewConfig(nil)
	defer bad.Close()
	if err := bad.Set("quantize", "int3"); err == nil {
		t.Fatal("quantize=int3 accepted")
	}
}

func TestEveryKindRoundTripsOrSaysItCannotBeSaved(t *testing.T) {
	ds := gridDataset(t, 30)
	for _, k := range ModelKinds() {
		if k.Name == "intent" { // trains from texts: text_test.go
			continue
		}
		opts := Options{"model": k.Name, "threads": 1}
		for _, o := range OptionTable() {
			if (o.Name == "epochs" || o.Name == "factors") && strings.Contains(","+o.Scope+",", ","+k.Name+",") {
				opts[o.Name] = 2
			}
		}
		m, err := TrainWith(ds, opts)
		if err != nil {
			t.Fatal(k.Name, err)
		}
		data, err := m.Bytes(nil)
		if errors.Is(err, ErrUnsupported) {
			if !strings.Contains(err.Error(), k.Name) {
				t.Fatal(err)
			}
			m.Close()
			continue
		}
		again, err := LoadBytes(data, nil)
		if err != nil {
			t.Fatal(k.Name, err)
		}
		a, _ := m.Recommend("u2", 5, nil)
		b, _ := again.Recommend("u2", 5, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %v vs %v", k.Name, a, b)
		}
		again.Close()
		m.Close()
	}
}

func TestEvaluateGivesMetricsAndCounts(t *testing.T) {
	ds := gridDataset(t, 40)
	train, test, err := ds.SplitSpec("last:1", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer train.Close()
	defer test.Close()
	if train.NumEvents()+test.NumEvents() != ds.NumEvents() {
		t.Fatal("split lost events")
	}
	m := mustTrain(t, train, Options{"model": "itemknn", "threads": 1})
	cfg, _ := NewConfig(Options{"k": 5})
	defer cfg.Close()
	steps := 0
	cfg.SetProgress(func(Progress) error { steps++; return nil })
	res, err := m.Evaluate(test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := res.Metrics["ndcg@5"]; !ok || v < 0 || v > 1 {
		t.Fatal(res.Metrics)
	}
	if res.Counts["users"] <= 0 || !strings.Contains(res.JSON, `"ndcg@5"`) {
		t.Fatal(res.Counts, res.JSON)
	}
	empty, _ := NewDataset()
	defer empty.Close()
	if _, err := m.Evaluate(empty, nil); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestDemoStoreAndLoaders(t *testing.T) {
	cfg, _ := NewConfig(Options{"demo_users": 200, "demo_items": 100, "demo_days": 20, "seed": 3})
	defer cfg.Close()
	a, err := DemoDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := DemoDataset(cfg)
	defer b.Close()
	if a.NumEvents() == 0 || a.NumEvents() != b.NumEvents() || a.NumUsers() != b.NumUsers() {
		t.Fatal("demo store not deterministic")
	}
	dir := t.TempDir()
	small, _ := NewConfig(Options{"demo_users": 60, "demo_items": 50, "demo_days": 5, "demo_messages": 10})
	defer small.Close()
	if err := DemoWrite(dir, small); err != nil {
		t.Fatal(err)
	}
	ds, _ := NewDataset()
	defer ds.Close()
	lc, _ := NewConfig(Options{"columns": "user=user_id,item=item_id,event=event,value=quantity,time=timestamp"})
	defer lc.Close()
	if err := ds.Load(filepath.Join(dir, "events.csv"), lc); err != nil {
		t.Fatal(err)
	}
	rep, err := ds.LoadReport()
	if err != nil || rep.RowsLoaded != ds.NumEvents() || rep.RowsLoaded == 0 {
		t.Fatal(rep, err)
	}
	if err := ds.Load(filepath.Join(dir, "nope.csv"), nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestLoadBytesStrictAndLenient(t *testing.T) {
	ds, _ := NewDataset()
	defer ds.Close()
	if err := ds.LoadBytes([]byte("user,item,value\nalice,mug,1\nbob,tea,2\n"), "good.csv", nil); err != nil {
		t.Fatal(err)
	}
	bad := []byte("user,item,value\ncarol,mug,1\ndave,tea,abc\n")
	err := ds.LoadBytes(bad, "bad.csv", nil)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "bad.csv:3") || ds.NumEvents() != 2 {
		t.Fatal(err, ds.NumEvents())
	}
	lenient, _ := NewConfig(Options{"lenient": true})
	defer lenient.Close()
	if err := ds.LoadBytes(bad, "bad.csv", lenient); err != nil {
		t.Fatal(err)
	}
	rep, _ := ds.LoadReport()
	if rep.RowsRead != 2 || rep.RowsLoaded != 1 || rep.RowsSkipped != 1 || len(rep.Messages) != 1 {
		t.Fatalf("%+v", rep)
	}
	sc, _ := NewConfig(Options{"split": "random", "test_fraction": 0.5, "seed": 4})
	defer sc.Close()
	tr, te, err := gridDataset(t, 30).Split(sc)
	if err != nil || tr.NumEvents()+te.NumEvents() != 150 || te.NumEvents() == 0 {
		t.Fatal(err)
	}
	tr.Close()
	te.Close()
	if _, _, err := ds.SplitSpec("sideways:3", 1); err == nil {
		t.Fatal("bad spec accepted")
	}
}

func TestMovieLensWhenSharedDataIsPresent(t *testing.T) {
	var path string
	for _, root := range []string{os.Getenv("AISLE_SHARED_DATA"), "../../../shared/data", "../../../../shared/data"} {
		if p := filepath.Join(root, "ml-100k", "u.data"); root != "" && path == "" {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path == "" {
		t.Skip("shared ml-100k not found (AISLE_SHARED_DATA)")
	}
	ds, _ := NewDataset()
	defer ds.Close()
	cfg, _ := NewConfig(Options{"columns": "user=1,item=2,value=3,time=4", "event": "rating"})
	defer cfg.Close()
	if err := ds.Load(path, cfg); err != nil {
		t.Fatal(err)
	}
	if ds.NumUsers() != 943 || ds.NumItems() != 1682 || ds.NumEvents() != 100000 {
		t.Fatal(ds.NumUsers(), ds.NumItems(), ds.NumEvents())
	}
}

func TestInt8ScanEqualsFP32AndReportsRescores(t *testing.T) {
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if err := ds.AddEvents(gridEvents(60, 600, 12)); err != nil {
		t.Fatal(err)
	}
	m, err := TrainWith(ds, Options{"model": "als", "factors": 16, "epochs": 3, "threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Prepare(); err != nil {
		t.Fatal(err)
	}
	int8, fp32 := mustRec(t, Options{"scan": "int8"}), mustRec(t, Options{"scan": "fp32"})
	for u := 0; u < 60; u++ {
		user := fmt.Sprintf("u%d", u)
		a, st, err := m.RecommendWithScanStats(user, 10, int8)
		if err != nil || !st.Int8 || st.ItemsRescored > st.ItemsScanned || st.ItemsScanned == 0 {
			t.Fatal(st, err)
		}
		b, st32, err := m.RecommendWithScanStats(user, 10, fp32)
		if err != nil || st32.Int8 || st32.ItemsRescored != st32.ItemsScanned {
			t.Fatal(st32, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: int8 %v != fp32 %v", user, a, b)
		}
	}
	if _, err := NewRecOptions(Options{"scan": "int4"}); err == nil {
		t.Fatal("scan=int4 accepted")
	}
}

func TestServerLeasesSwapsAndReplaysUpdates(t *testing.T) {
	s, m, data := gridServer(t, 8)
	defer s.Close()
	if _, err := m.Recommend("u1", 3, nil); err == nil {
		t.Fatal("the model handed to the server is still open")
	}
	seen := func(item string) bool {
		found := false
		if err := s.Lease(func(lm *Model) error {
			recs, err := lm.Recommend("u3", 200, nil)
			for _, r := range recs {
				found = found || r.Item == item
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return !found
	}
	stop := leaseReaders(t, s, 4, "u1")
	item := "i199"
	if seen(item) {
		t.Fatal("u3 already has", item)
	}
	if err := s.UpdateUser("u3", []string{item}, nil); err != nil || !seen(item) {
		t.Fatal("update not visible", err)
	}
	fresh, err := LoadBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Swap(fresh, 0); err != nil || n != 1 || !seen(item) {
		t.Fatal("update not replayed", n, err)
	}
	stop()
	if err := s.UpdateUser("ghost", []string{item}, nil); err == nil {
		t.Fatal("unknown user accepted")
	}
}

func TestServerAddsUsersAndItemsWhileReading(t *testing.T) {
	s, _, data := gridServer(t, 4)
	defer s.Close()
	stop := leaseReaders(t, s, 4, "newbie")
	if err := s.AddItem("fresh", []float32{0.5, -0.5, 0.25, 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddItem("short", []float32{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Fatal("a vector of 2 factors for a 4-factor model:", err)
	}
	if err := s.AddUser("newbie", []string{"fresh", "i2"}, []float32{2, 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser("newbie", []string{"i3"}, []float32{1, 2}); !errors.Is(err, ErrInvalid) {
		t.Fatal("weights of another length accepted:", err)
	}
	history := func() map[string]bool {
		got := map[string]bool{}
		if err := s.Lease(func(lm *Model) error {
			h, err := lm.History("newbie", 0)
			for _, e := range h {
				got[e.Item] = true
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if h := history(); !h["fresh"] || !h["i2"] || len(h) != 2 {
		t.Fatal("new user's history", h)
	}
	fresh, err := LoadBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Swap(fresh, 0); err != nil || n != 2 {
		t.Fatal("adds not replayed", n, err)
	}
	stop()
	if h := history(); !h["fresh"] || !h["i2"] {
		t.Fatal("new user lost by the swap", h)
	}
	ds := grid200Dataset(t)
	mf, err := TrainWith(ds, Options{"model": "mf", "factors": 4, "epochs": 2, "threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewServer(mf)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.AddItem("fresh", []float32{0, 0, 0, 0}); !errors.Is(err, ErrUnsupported) {
		t.Fatal("mf added an item:", err)
	}
}

// grid200Dataset: the 30 x 200 grid shop's events (closed when the test ends).
func grid200Dataset(t *testing.T) *Dataset {
	t.Helper()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	if err := ds.AddEvents(gridEvents(30, 200, 8)); err != nil {
		t.Fatal(err)
	}
	return ds
}

// gridServer: a server over an als model of the 30 x 200 grid shop, the
// model handed to it, and the model's bytes (for swapping in a fresh copy).
func gridServer(t *testing.T, factors int) (*Server, *Model, []byte) {
	t.Helper()
	ds := grid200Dataset(t)
	m, err := TrainWith(ds, Options{"model": "als", "factors": factors, "epochs": 2, "threads": 1})
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Bytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(m)
	if err != nil {
		t.Fatal(err)
	}
	return s, m, data
}

// leaseReaders starts n goroutines recommending for user through s until
// the returned stop function is called (it waits for them).
func leaseReaders(t *testing.T, s *Server, n int, user string) (stop func()) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := s.Lease(func(lm *Model) error { _, err := lm.Recommend(user, 5, nil); return err }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// Load with mmap=true serves from the mapping: MappedBytes is the file
// size, lists equal an ordinary load's before and after an update, and a
// compressed file is refused with ErrUnsupported.
func TestMappedModelServesLikeALoadedOne(t *testing.T) {
	m := mustTrain(t, gridDataset(t, 30), Options{"model": "als", "threads": 1, "seed": 3, "factors": 8})
	path := filepath.Join(t.TempDir(), "m.aisle")
	save, err := NewConfig(Options{"compression": 0, "store_int8": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(path, save); err != nil {
		t.Fatal(err)
	}
	mapCfg, err := NewConfig(Options{"mmap": true})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	mapped, err := Load(path, mapCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mapped.Close()
	st, _ := os.Stat(path)
	if n, err := mapped.MappedBytes(); err != nil || n != int(st.Size()) {
		t.Fatal(n, err)
	}
	if n, err := plain.MappedBytes(); err != nil || n != 0 {
		t.Fatal(n, err)
	}
	same := func(u string) {
		a, err1 := plain.Recommend(u, 5, nil)
		b, err2 := mapped.Recommend(u, 5, nil)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: %v %v vs %v %v", u, a, err1, b, err2)
		}
	}
	for u := 0; u < 30; u++ {
		same(fmt.Sprintf("u%d", u))
	}
	for _, mm := range []*Model{plain, mapped} {
		if err := mm.UpdateUser("u3", []string{"i1", "i2"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	same("u3")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, mapCfg); !errors.Is(err, ErrUnsupported) {
		t.Fatal("compressed file mapped:", err)
	}
}
