package aisle

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"
)

func weeklySales(t *testing.T) *Dataset {
	t.Helper()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	const monday = 1704067200 // 2024-01-01
	for w := int64(0); w < 30; w++ {
		ts := monday + w*7*86400 + 3600
		if err := ds.AddEvent("u", "mug", "purchase", float64(10+w%4), ts); err != nil {
			t.Fatal(err)
		}
		if err := ds.AddEvent("u", "tea", "purchase", 5, ts+86400); err != nil {
			t.Fatal(err)
		}
		if w%5 == 0 {
			if err := ds.AddEvent("u", "kettle", "purchase", 2, ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ds
}

func trainForecast(t *testing.T, ds *Dataset, opts Options) *Forecast {
	t.Helper()
	cfg, err := NewConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	f, err := TrainForecast(ds, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestForecastMondayWeeksAndQuantiles(t *testing.T) {
	f := trainForecast(t, weeklySales(t), Options{"period": "week", "horizon": 4, "method": "ets"})
	items, err := f.Items()
	if err != nil || len(items) != 3 {
		t.Fatalf("items %v, %v", items, err)
	}
	ps, err := f.Item("tea", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !ps[0].Start.Equal(time.Date(2024, 7, 29, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("first period %v", ps[0].Start)
	}
	for _, p := range ps {
		if p.Start.Weekday() != time.Monday || !(p.P10 >= 0 && p.P10 <= p.P50 && p.P50 <= p.P90) ||
			math.Abs(p.P50-5) > 1e-3 {
			t.Fatalf("period %+v", p)
		}
	}
	if m, _ := f.Method("tea"); m != "ets" {
		t.Fatalf("method %q", m)
	}
}

func TestForecastReorderExplainSaveLoad(t *testing.T) {
	f := trainForecast(t, weeklySales(t), Options{"horizon": 3, "forecast_trees": 5})
	r, err := f.Reorder("tea", 2, 1, 0.95, 4)
	if err != nil || r.ReorderPoint < 9 || r.OrderQuantity < r.ReorderPoint-4 {
		t.Fatalf("reorder %+v, %v", r, err)
	}
	parts, err := f.Explain("mug", 1)
	if err != nil || len(parts) != 5 {
		t.Fatalf("explain %v, %v", parts, err)
	}
	if _, ok := parts["season"]; !ok {
		t.Fatal("no season part")
	}
	img, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadForecastBytes(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	a, _ := f.Item("mug", 3)
	b, _ := g.Item("mug", 3)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("after load %+v != %+v", b[i], a[i])
		}
	}
	path := t.TempDir() + "/f.aisle"
	if err := f.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	h, err := LoadForecast(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, err := h.Item("mug", 1); !errors.Is(err, ErrState) {
		t.Fatalf("closed forecast: %v", err)
	}
}

func TestForecastConcurrentReadsAndErrors(t *testing.T) {
	ds := weeklySales(t)
	f := trainForecast(t, ds, Options{"method": "tsb"})
	want, _ := f.Item("kettle", 5)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := f.Item("kettle", 5)
				if err != nil || got[4] != want[4] {
					t.Errorf("concurrent forecast %v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := f.Item("nothing", 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown item: %v", err)
	}
	if _, err := f.Reorder("mug", 0, 1, 0.9, 0); !errors.Is(err, ErrRange) {
		t.Fatalf("lead time 0: %v", err)
	}
	if _, err := LoadForecastBytes([]byte("nope"), nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("garbage: %v", err)
	}
	cfg, _ := NewConfig(Options{"method": "ets", "backtest_origins": 2})
	defer cfg.Close()
	figs, err := Backtest(ds, nil, cfg, 4)
	if err != nil || figs["origins"] != 2 {
		t.Fatalf("backtest %v, %v", figs, err)
	}
	for _, k := range []string{"mase", "smape", "pinball_p10", "pinball_p90", "coverage_80"} {
		if _, ok := figs[k]; !ok {
			t.Fatalf("no %s", k)
		}
	}
}
