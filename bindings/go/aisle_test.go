package aisle

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

func smallEvents() []Event {
	return []Event{
		{"alice", "mug", "purchase", 1, 1700000000},
		{"alice", "tea", "view", 1, 1700000100},
		{"bob", "mug", "cart", 1, 1700000200},
		{"bob", "kettle", "purchase", 1, 1700000300},
		{"carol", "mug", "view", 1, 1700000400},
		{"carol", "tea", "purchase", 1, 1700000500},
		{"dave", "spoon", "view", 1, 1700000600},
		{"dave", "cup", "view", 1, 1700000700},
	}
}

func smallDataset(t *testing.T) *Dataset {
	t.Helper()
	ds, err := NewDataset()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ds.Close)
	if err := ds.AddEvents(smallEvents()); err != nil {
		t.Fatal(err)
	}
	return ds
}

func mustTrain(t *testing.T, ds *Dataset, opts Options) *Model {
	t.Helper()
	m, err := TrainWith(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestVersionMatchesVersionNumber(t *testing.T) {
	n := VersionNumber()
	want := strings.Join([]string{itoa(n / 10000), itoa(n / 100 % 100), itoa(n % 100)}, ".")
	if Version() != want {
		t.Fatalf("Version() = %q, VersionNumber() = %d", Version(), n)
	}
}

func itoa(i int) string { return OptionText(i) }

func TestUnknownOptionIsNotFoundNamingTheOption(t *testing.T) {
	_, err := NewConfig(Options{"no_such_option": 1})
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeNotFound || !strings.Contains(e.Message, "no_such_option") {
		t.Fatalf("err = %#v", err)
	}
}

func TestBadValuesGiveInvalidAndRange(t *testing.T) {
	if _, err := NewConfig(Options{"threads": "many"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("threads=many: %v", err)
	}
	if _, err := NewConfig(Options{"threads": 100000}); !errors.Is(err, ErrRange) ||
		!strings.Contains(err.Error(), "threads") {
		t.Fatalf("threads=100000: %v", err)
	}
}

func TestCodeStringsComeFromTheLibrary(t *testing.T) {
	if CodeNoMemory.String() != "out of memory" {
		t.Fatalf("%q", CodeNoMemory.String())
	}
	if !strings.Contains((&Error{Code: CodeIO, Message: "f.csv: gone"}).Error(), "f.csv: gone") {
		t.Fatal("message missing from Error()")
	}
}

func TestConfigTypedGettersAndRoundTrip(t *testing.T) {
	cfg, err := NewConfig(Options{"threads": 3, "seed": 7, "model": "popular"})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if v, err := cfg.GetInt("threads"); err != nil || v != 3 {
		t.Fatalf("threads = %d, %v", v, err)
	}
	if v, err := cfg.Get("model"); err != nil || v != "popular" {
		t.Fatalf("model = %q, %v", v, err)
	}
	set, err := cfg.IsSet("seed")
	if err != nil || !set {
		t.Fatal("seed not set")
	}
	again, err := ParseConfig(cfg.String())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.String() != cfg.String() {
		t.Fatalf("%q != %q", again.String(), cfg.String())
	}
	if err := cfg.Unset("seed"); err != nil {
		t.Fatal(err)
	}
	if set, _ := cfg.IsSet("seed"); set {
		t.Fatal("seed still set after Unset")
	}
}

func TestParseIsAllOrNothing(t *testing.T) {
	cfg, _ := NewConfig(Options{"threads": 1})
	defer cfg.Close()
	if err := cfg.Parse("threads=4 bogus=1"); err == nil {
		t.Fatal("bad pair accepted")
	}
	if v, _ := cfg.GetInt("threads"); v != 1 {
		t.Fatalf("threads = %d after failed parse", v)
	}
}

func TestBoolOptionsPassAsTrueFalse(t *testing.T) {
	var name string
	for _, o := range OptionTable() {
		if o.Type == "bool" {
			name = o.Name
			break
		}
	}
	if name == "" {
		t.Skip("no bool option in this library")
	}
	cfg, err := NewConfig(Options{name: false})
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	if !strings.Contains(cfg.String(), name+"=false") {
		t.Fatalf("%q", cfg.String())
	}
	if v, _ := cfg.GetInt(name); v != 0 {
		t.Fatal("false read back as true")
	}
}

func TestOptionTableHasCoreOptions(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range OptionTable() {
		seen[o.Name] = true
		if o.Help == "" || o.Type == "" {
			t.Fatalf("incomplete entry %+v", o)
		}
	}
	for _, n := range []string{"threads", "seed", "model"} {
		if !seen[n] {
			t.Fatalf("option %s missing", n)
		}
	}
}

func TestClosedHandlesFailWithErrStateAndCloseTwice(t *testing.T) {
	cfg, _ := NewConfig(nil)
	cfg.Close()
	cfg.Close()
	if err := cfg.Set("seed", 1); !errors.Is(err, ErrState) {
		t.Fatalf("%v", err)
	}
	ds, _ := NewDataset()
	ds.Close()
	if err := ds.AddEvent("a", "b", "", 1, 0); !errors.Is(err, ErrState) {
		t.Fatalf("%v", err)
	}
	if _, err := Train(ds, nil); !errors.Is(err, ErrState) {
		t.Fatalf("%v", err)
	}
}

func TestDatasetCountsAndDenseIndices(t *testing.T) {
	ds := smallDataset(t)
	if ds.NumUsers() != 4 || ds.NumItems() != 5 || ds.NumEvents() != 8 {
		t.Fatalf("%d %d %d", ds.NumUsers(), ds.NumItems(), ds.NumEvents())
	}
	if got := strings.Join(ds.Items(), ","); got != "mug,tea,kettle,spoon,cup" {
		t.Fatal(got)
	}
	if i, err := ds.UserIndex("carol"); err != nil || i != 2 {
		t.Fatal(i, err)
	}
	if k, err := ds.ItemKey(2); err != nil || k != "kettle" {
		t.Fatal(k, err)
	}
	if _, err := ds.UserIndex("zoe"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := ds.ItemKey(99); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
}

func TestDatasetRejectsBadEventsUnchanged(t *testing.T) {
	ds := smallDataset(t)
	if err := ds.AddEvent("", "x", "view", 1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := ds.AddEvent("a", "x", "view", math.NaN(), 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := ds.AddEvent("a\x00b", "x", "view", 1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if ds.NumEvents() != 8 || ds.NumUsers() != 4 {
		t.Fatal("dataset changed by failed adds")
	}
	if err := ds.SetEventWeight("wishlist", 2.5); err != nil {
		t.Fatal(err)
	}
}

func TestUnicodeKeysRoundTrip(t *testing.T) {
	ds, _ := NewDataset()
	defer ds.Close()
	if err := ds.AddEvent("jürgen", "茶碗", "", 1, 0); err != nil {
		t.Fatal(err)
	}
	if k, _ := ds.ItemKey(0); k != "茶碗" {
		t.Fatal(k)
	}
}

func TestTrainPopularKeepsItsOwnDictionaries(t *testing.T) {
	ds := smallDataset(t)
	m := mustTrain(t, ds, Options{"model": "popular", "threads": 1})
	ds.Close()
	if m.Kind() != "popular" || m.NumUsers() != 4 || m.NumItems() != 5 {
		t.Fatalf("%s %d %d", m.Kind(), m.NumUsers(), m.NumItems())
	}
	if i, err := m.ItemIndex("mug"); err != nil || i != 0 {
		t.Fatal(i, err)
	}
	if k, err := m.UserKey(3); err != nil || k != "dave" {
		t.Fatal(k, err)
	}
	d, err := m.Describe()
	if err != nil || !strings.Contains(d, "kind: popular") || !strings.Contains(d, "threads=1") {
		t.Fatalf("%q %v", d, err)
	}
}

func TestUnknownKindListsKnownKinds(t *testing.T) {
	ds := smallDataset(t)
	_, err := TrainWith(ds, Options{"model": "no_such_kind"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "popular") {
		t.Fatal(err)
	}
	found := false
	for _, k := range ModelKinds() {
		found = found || (k.Name == "popular" && k.Summary != "")
	}
	if !found {
		t.Fatal("popular not in ModelKinds")
	}
}

func TestEmptyDatasetIsInvalid(t *testing.T) {
	ds, _ := NewDataset()
	defer ds.Close()
	if _, err := TrainWith(ds, Options{"model": "popular"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

func TestProgressSeesStepsAndErrorCancels(t *testing.T) {
	ds := smallDataset(t)
	cfg, _ := NewConfig(Options{"model": "popular"})
	defer cfg.Close()
	var seen []Progress
	cfg.SetProgress(func(p Progress) error { seen = append(seen, p); return nil })
	m, err := Train(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if len(seen) == 0 || seen[len(seen)-1].Step != seen[len(seen)-1].Steps || seen[0].Elapsed < 0 {
		t.Fatalf("%+v", seen)
	}
	stop := errors.New("enough")
	cfg.SetProgress(func(Progress) error { return stop })
	_, err = Train(ds, cfg)
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, stop) {
		t.Fatalf("%v", err)
	}
}

func TestPanicInProgressIsReraisedAndBindingStillWorks(t *testing.T) {
	ds := smallDataset(t)
	cfg, _ := NewConfig(Options{"model": "popular"})
	defer cfg.Close()
	cfg.SetProgress(func(Progress) error { panic("boom") })
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		_, _ = Train(ds, cfg)
		t.Fatal("no panic")
	}()
	cfg.SetProgress(nil)
	m, err := Train(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

func TestMetricsStoredAndMissing(t *testing.T) {
	m := mustTrain(t, smallDataset(t), Options{"model": "popular"})
	if err := m.SetMetric("ndcg@10", 0.25); err != nil {
		t.Fatal(err)
	}
	if v, err := m.Metric("ndcg@10"); err != nil || v != 0.25 {
		t.Fatal(v, err)
	}
	if _, err := m.Metric("recall@10"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	m.Close()
	m.Close()
	if _, err := m.Describe(); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
}

// Errors are thread-local in C; goroutines hop between OS threads, so the
// binding must read each message on the failing thread.
func TestErrorMessagesStayWithTheirCallsAcrossGoroutines(t *testing.T) {
	m := mustTrain(t, smallDataset(t), Options{"model": "popular"})
	var wg sync.WaitGroup
	fail := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				key := "ghost-" + itoa(g) + "-" + itoa(i)
				_, err := m.UserIndex(key)
				if err == nil || !strings.Contains(err.Error(), key) {
					fail <- key + ": " + OptionText(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(fail)
	for f := range fail {
		t.Error(f)
	}
}
