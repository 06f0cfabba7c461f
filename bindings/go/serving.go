package aisle

/*
#include <aisle.h>
#include <stdint.h>
#include <stdlib.h>

int aisle_go_filter(void *user, const char *item_key, size_t item_index);

static int aisle_go_set_filter(aisle_rec_options *opts, uintptr_t handle) {
    return aisle_rec_options_set_filter(opts, aisle_go_filter, (void *)handle);
}

// recommend and its scan statistics in one cgo call: the statistics are
// per OS thread, and a goroutine may change threads between two calls.
static int aisle_go_recommend_stats(const aisle_model *m, const char *user, size_t k, const aisle_rec_options *o,
                                    const char **items, float *scores, size_t *n, size_t *scanned, size_t *rescored,
                                    int *int8) {
    int rc = aisle_recommend(m, user, k, o, items, scores, n);
    aisle_recommend_scan_stats(scanned, rescored, int8);
    return rc;
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Scored is one result of a ranking call: an item key and its score (or
// similarity, or share in an explanation).
type Scored struct {
	Item  string
	Score float32
}

// FilterFunc decides whether an item may be returned (true keeps it).  It
// may be called from several threads at once (RecommendBatch), so it must
// be safe for concurrent use.
type FilterFunc func(itemKey string, itemIndex int) bool

// RecOptions are reusable serving options: named options (exclude_seen,
// unknown_user, threads), an allow-list, a deny-list and a filter.  Build
// them once, then share them between goroutines for reading.
type RecOptions struct {
	mu     sync.RWMutex
	ptr    *C.aisle_rec_options
	filter *filterState
}

type filterState struct {
	fn       FilterFunc
	h        cgo.Handle
	mu       sync.Mutex
	panicked bool
	pval     any
}

// NewRecOptions makes serving options with the given named options set,
// e.g. Options{"exclude_seen": false, "unknown_user": "error"}.
func NewRecOptions(opts Options) (*RecOptions, error) {
	r := &RecOptions{}
	if err := call(func() C.int { return C.aisle_rec_options_new(&r.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(r, (*RecOptions).Close)
	for _, k := range sortedKeys(opts) {
		if err := r.Set(k, opts[k]); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Close frees the options after the calls using them return (at once
// when there are none; a filter may call it); later calls do nothing.
func (r *RecOptions) Close() {
	release(&r.mu, &r.ptr, func(p *C.aisle_rec_options) {
		C.aisle_rec_options_free(p)
		if r.filter != nil {
			r.filter.h.Delete()
			r.filter = nil
		}
	})
	runtime.SetFinalizer(r, nil)
}

func (r *RecOptions) write(f func(p *C.aisle_rec_options) C.int) error {
	return exclusive(&r.mu, &r.ptr, "serving options", checked(f))
}

// Set sets one serving option from a Go value (see OptionText).
func (r *RecOptions) Set(key string, value any) error {
	k, err := cstring("option name", key)
	if err != nil {
		return err
	}
	defer free(k)
	v, err := cstring("option value", OptionText(value))
	if err != nil {
		return err
	}
	defer free(v)
	return r.write(func(p *C.aisle_rec_options) C.int { return C.aisle_rec_options_set(p, k, v) })
}

// Allow restricts results to these item keys (empty: no restriction).
func (r *RecOptions) Allow(itemKeys []string) error {
	ks, err := newCStrings(itemKeys)
	if err != nil {
		return err
	}
	defer ks.free()
	return r.write(func(p *C.aisle_rec_options) C.int { return C.aisle_rec_options_allow(p, ks.ptr(), ks.n()) })
}

// Deny never returns these item keys (empty: clears the list).
func (r *RecOptions) Deny(itemKeys []string) error {
	ks, err := newCStrings(itemKeys)
	if err != nil {
		return err
	}
	defer ks.free()
	return r.write(func(p *C.aisle_rec_options) C.int { return C.aisle_rec_options_deny(p, ks.ptr(), ks.n()) })
}

// SetFilter installs a filter function (nil removes it).  A panic inside
// it drops the item and is re-raised by the serving call.
func (r *RecOptions) SetFilter(fn FilterFunc) error {
	return exclusive(&r.mu, &r.ptr, "serving options", func(p *C.aisle_rec_options) error {
		var st *filterState
		var err error
		if fn == nil {
			err = call(func() C.int { return C.aisle_rec_options_set_filter(p, nil, nil) })
		} else {
			st = &filterState{fn: fn}
			st.h = cgo.NewHandle(st)
			err = call(func() C.int { return C.aisle_go_set_filter(p, C.uintptr_t(st.h)) })
			if err != nil {
				st.h.Delete()
				return err
			}
		}
		if r.filter != nil {
			r.filter.h.Delete()
		}
		r.filter = st
		return err
	})
}

// serve runs a serving call with opts (nil: library defaults), holding
// the options for reading, and re-raises a filter's panic.
func (r *RecOptions) serve(f func(p *C.aisle_rec_options) error) error {
	if r == nil {
		return f(nil)
	}
	var panicked bool
	var pval any
	err := shared(&r.mu, &r.ptr, "serving options", func(p *C.aisle_rec_options) error {
		err := f(p)
		if st := r.filter; st != nil {
			st.mu.Lock()
			panicked, pval = st.panicked, st.pval
			st.panicked, st.pval = false, nil
			st.mu.Unlock()
		}
		return err
	})
	if panicked { // re-raised once the options are released
		panic(pval)
	}
	return err
}

// cStrings is an array of C strings in C memory, for const char *const *
// parameters.
type cStrings struct {
	arr  **C.char
	keys []*C.char
}

func newCStrings(keys []string) (*cStrings, error) {
	cs := &cStrings{}
	if len(keys) == 0 {
		return cs, nil
	}
	cs.arr = (**C.char)(C.calloc(C.size_t(len(keys)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	cs.keys = unsafe.Slice(cs.arr, len(keys))
	for i, k := range keys {
		p, err := cstring("key", k)
		if err != nil {
			cs.free()
			return nil, err
		}
		cs.keys[i] = p
	}
	return cs, nil
}

func (cs *cStrings) ptr() **C.char { return cs.arr }
func (cs *cStrings) n() C.size_t   { return C.size_t(len(cs.keys)) }

func (cs *cStrings) free() {
	for _, p := range cs.keys {
		free(p)
	}
	if cs.arr != nil {
		C.free(unsafe.Pointer(cs.arr))
	}
	cs.arr, cs.keys = nil, nil
}

// results holds the caller arrays of one ranking call.  Scores are written
// by C straight into the Go slice (float32 has the layout of C float);
// item key pointers go to C memory because they are C pointers.
type results struct {
	items  **C.char
	scores []float32
	k      int
}

func newResults(k int) *results {
	n := k
	if n < 1 {
		n = 1
	}
	return &results{
		items:  (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil))))),
		scores: make([]float32, n),
		k:      k,
	}
}

func (r *results) scorePtr() *C.float { return (*C.float)(unsafe.Pointer(&r.scores[0])) }

// take converts the first n results (keys copied while the model is held).
func (r *results) take(n int, offset int) []Scored {
	keys := unsafe.Slice(r.items, offset+n)
	out := make([]Scored, n)
	for i := 0; i < n; i++ {
		out[i] = Scored{C.GoString(keys[offset+i]), r.scores[offset+i]}
	}
	return out
}

func (r *results) free() { C.free(unsafe.Pointer(r.items)) }

// ranked runs one call that fills a result list of at most k entries: with
// opts held for reading (nil: library defaults) and the model held for
// reading; f makes the C call into res and sets *n.
func (m *Model) ranked(k int, opts *RecOptions,
	f func(p *C.aisle_model, o *C.aisle_rec_options, res *results, n *C.size_t) C.int) ([]Scored, error) {
	res := newResults(k)
	defer res.free()
	var out []Scored
	err := opts.serve(func(o *C.aisle_rec_options) error {
		return m.read(func(p *C.aisle_model) C.int {
			var n C.size_t
			rc := f(p, o, res, &n)
			if rc == 0 {
				out = res.take(int(n), 0)
			}
			return rc
		})
	})
	return out, err
}

// withKeys runs f with C copies of keys, given as (what, key) pairs (what
// names the key in an error), freed when f returns.
func withKeys(f func(c []*C.char) error, whatKey ...string) error {
	c := make([]*C.char, 0, len(whatKey)/2)
	defer func() { freeAll(c) }()
	for i := 0; i+1 < len(whatKey); i += 2 {
		p, err := cstring(whatKey[i], whatKey[i+1])
		if err != nil {
			return err
		}
		c = append(c, p)
	}
	return f(c)
}

// withEvents runs f with itemKeys as a C array and weights (nil: all 1;
// otherwise one per key, passed to C without copying).
func withEvents(itemKeys []string, weights []float32, f func(ks *cStrings, w *C.float) error) error {
	if weights != nil && len(weights) != len(itemKeys) {
		return &Error{Code: CodeInvalid, Message: "aisle: weights and item keys differ in length"}
	}
	ks, err := newCStrings(itemKeys)
	if err != nil {
		return err
	}
	defer ks.free()
	var w *C.float
	if len(weights) > 0 {
		w = (*C.float)(unsafe.Pointer(&weights[0]))
	}
	return f(ks, w)
}

// rankedBy is ranked for one key (a user or an item, named by what in
// errors): k bounded by clampK, the key converted for f.
func (m *Model) rankedBy(what, key string, k int, opts *RecOptions,
	f func(p *C.aisle_model, o *C.aisle_rec_options, key *C.char, k C.size_t, res *results, n *C.size_t) C.int) (
	[]Scored, error) {
	k, err := m.clampK(k, "k")
	if err != nil {
		return nil, err
	}
	var out []Scored
	err = withKeys(func(c []*C.char) error {
		var rerr error
		out, rerr = m.ranked(k, opts, func(p *C.aisle_model, o *C.aisle_rec_options, res *results, n *C.size_t) C.int {
			return f(p, o, c[0], C.size_t(k), res, n)
		})
		return rerr
	}, what, key)
	return out, err
}

// explained runs an explanation call for (user, item) with at most max
// entries (no serving options).
func (m *Model) explained(user, item string, max int,
	f func(p *C.aisle_model, u, it *C.char, max C.size_t, res *results, n *C.size_t) C.int) ([]Scored, error) {
	max, err := m.clampK(max, "max")
	if err != nil {
		return nil, err
	}
	var out []Scored
	err = withKeys(func(c []*C.char) error {
		var rerr error
		out, rerr = m.ranked(max, nil, func(p *C.aisle_model, _ *C.aisle_rec_options, res *results, n *C.size_t) C.int {
			return f(p, c[0], c[1], C.size_t(max), res, n)
		})
		return rerr
	}, "user key", user, "item key", item)
	return out, err
}

// Recommend gives the top-k items for a known user, best first, without
// the user's training items (unless exclude_seen=false) and through opts'
// allow/deny lists and filter (opts may be nil).  An unknown user gets the
// most popular items, or ErrNotFound with unknown_user=error.
func (m *Model) Recommend(user string, k int, opts *RecOptions) ([]Scored, error) {
	return m.rankedBy("user key", user, k, opts,
		func(p *C.aisle_model, o *C.aisle_rec_options, u *C.char, k C.size_t, res *results, n *C.size_t) C.int {
			return C.aisle_recommend(p, u, k, o, res.items, res.scorePtr(), n)
		})
}

// ScanStats says how a Recommend on an als, bpr or hybrid model scanned
// the items: with the int8 scan (option scan "auto" or "int8"),
// ItemsRescored of ItemsScanned items were scored again in fp32 to keep
// the list identical to the fp32 scan's.
type ScanStats struct {
	ItemsScanned, ItemsRescored int
	Int8                        bool
}

// RecommendWithScanStats is Recommend that also returns how the items
// were scanned (zero ScanStats for kinds without factors).
func (m *Model) RecommendWithScanStats(user string, k int, opts *RecOptions) ([]Scored, ScanStats, error) {
	var st ScanStats
	recs, err := m.rankedBy("user key", user, k, opts,
		func(p *C.aisle_model, o *C.aisle_rec_options, u *C.char, k C.size_t, res *results, n *C.size_t) C.int {
			var scanned, rescored C.size_t
			var int8 C.int
			rc := C.aisle_go_recommend_stats(p, u, k, o, res.items, res.scorePtr(), n, &scanned, &rescored, &int8)
			st = ScanStats{int(scanned), int(rescored), int8 != 0}
			return rc
		})
	return recs, st, err
}

// Prepare builds now what serving builds on first use (the int8 item
// index of als, bpr and hybrid models), so the first request is as fast
// as the rest.  Safe while other goroutines read the model.
func (m *Model) Prepare() error {
	return m.read(func(p *C.aisle_model) C.int { return C.aisle_model_prepare(p) })
}

// MappedBytes is the size of the file the model serves from a mapping
// (loaded with option mmap=true), 0 for a model in memory.
func (m *Model) MappedBytes() (int, error) {
	var n C.size_t
	err := m.read(func(p *C.aisle_model) C.int { return C.aisle_model_mapped_bytes(p, &n) })
	return int(n), err
}

// RecommendWithFallback is Recommend that also says whether the list is
// the popularity fallback: popularFallback is true when the user is
// unknown to the model (the scores are then popularity masses, not the
// model's scores).
func (m *Model) RecommendWithFallback(user string, k int, opts *RecOptions) (recs []Scored, popularFallback bool,
	err error) {
	var fb C.int
	recs, err = m.rankedBy("user key", user, k, opts,
		func(p *C.aisle_model, o *C.aisle_rec_options, u *C.char, k C.size_t, res *results, n *C.size_t) C.int {
			return C.aisle_recommend_v2(p, u, k, o, res.items, res.scorePtr(), n, &fb)
		})
	return recs, err == nil && fb != 0, err
}

// RecommendForItems gives the top-k items for an anonymous visitor who
// interacted with itemKeys (weights may be nil: all 1; otherwise one per
// key, passed to C without copying).
func (m *Model) RecommendForItems(itemKeys []string, weights []float32, k int, opts *RecOptions) ([]Scored, error) {
	k, err := m.clampK(k, "k")
	if err != nil {
		return nil, err
	}
	var out []Scored
	err = withEvents(itemKeys, weights, func(ks *cStrings, w *C.float) error {
		var rerr error
		out, rerr = m.ranked(k, opts, func(p *C.aisle_model, o *C.aisle_rec_options, res *results, n *C.size_t) C.int {
			return C.aisle_recommend_for_items(p, ks.ptr(), w, ks.n(), C.size_t(k), o, res.items, res.scorePtr(), n)
		})
		return rerr
	})
	return out, err
}

// SimilarItems gives the k items most similar to item (not itself).
func (m *Model) SimilarItems(item string, k int, opts *RecOptions) ([]Scored, error) {
	return m.rankedBy("item key", item, k, opts,
		func(p *C.aisle_model, o *C.aisle_rec_options, it *C.char, k C.size_t, res *results, n *C.size_t) C.int {
			return C.aisle_similar_items(p, it, k, o, res.items, res.scorePtr(), n)
		})
}

// Score is the model's score of one (user, item) pair.
func (m *Model) Score(user, item string) (float32, error) {
	var s C.float
	err := withKeys(func(c []*C.char) error {
		return m.read(func(p *C.aisle_model) C.int { return C.aisle_score(p, c[0], c[1], &s) })
	}, "user key", user, "item key", item)
	return float32(s), err
}

// Explain gives the user's training items contributing most to the score
// of item (at most max), with their signed shares.
func (m *Model) Explain(user, item string, max int) ([]Scored, error) {
	return m.explained(user, item, max,
		func(p *C.aisle_model, u, it *C.char, max C.size_t, res *results, n *C.size_t) C.int {
			return C.aisle_explain(p, u, it, max, res.items, res.scorePtr(), n)
		})
}

// ExplainFeatures gives the features that drove the score of (user, item),
// at most max, largest absolute contribution first: each Scored's Item is
// the feature's name ("brand: Acme", "country: UK", "the product's own
// history") and its Score the signed contribution; over all features they
// add up to the score (plus the mean for ratings).  Kind hybrid; others
// give ErrUnsupported.
func (m *Model) ExplainFeatures(user, item string, max int) ([]Scored, error) {
	return m.explained(user, item, max,
		func(p *C.aisle_model, u, it *C.char, max C.size_t, res *results, n *C.size_t) C.int {
			return C.aisle_explain_features(p, u, it, max, res.items, res.scorePtr(), n)
		})
}

// History returns the user's training items with their aggregated
// weights, most recent first; at most max of them (max <= 0: all).
func (m *Model) History(user string, max int) ([]Scored, error) {
	var out []Scored
	err := withKeys(func(c []*C.char) error {
		return m.read(func(p *C.aisle_model) C.int {
			u := c[0]
			var total C.size_t
			rc := C.aisle_model_user_history(p, u, 0, nil, nil, &total)
			if rc != 0 {
				return rc
			}
			want := int(total)
			if max > 0 && max < want {
				want = max
			}
			res := newResults(want)
			defer res.free()
			var n C.size_t
			rc = C.aisle_model_user_history(p, u, C.size_t(want), res.items, res.scorePtr(), &n)
			if rc == 0 {
				out = res.take(want, 0)
			}
			return rc
		})
	}, "user key", user)
	return out, err
}

// UpdateUser adds a known user's new events and re-fits the user in
// place.  It waits for read calls in progress and blocks new ones while it
// runs (the C call is not thread-safe).
func (m *Model) UpdateUser(user string, itemKeys []string, weights []float32) error {
	return withUserEvents(user, itemKeys, weights, func(u *C.char, ks *cStrings, w *C.float) error {
		return m.write(func(p *C.aisle_model) C.int { return C.aisle_update_user(p, u, ks.ptr(), w, ks.n()) })
	})
}

// withUserEvents is withEvents with the user key converted as well.
func withUserEvents(user string, itemKeys []string, weights []float32,
	f func(u *C.char, ks *cStrings, w *C.float) error) error {
	return withKeys(func(c []*C.char) error {
		return withEvents(itemKeys, weights, func(ks *cStrings, w *C.float) error { return f(c[0], ks, w) })
	}, "user key", user)
}

// RecommendBatch is Recommend for many users at once (parallel in C; set
// "threads" in opts).  Result i belongs to users[i].
func (m *Model) RecommendBatch(users []string, k int, opts *RecOptions) ([][]Scored, error) {
	k, err := m.clampK(k, "k")
	if err != nil {
		return nil, err
	}
	ks, err := newCStrings(users)
	if err != nil {
		return nil, err
	}
	defer ks.free()
	res := newResults(len(users) * k)
	defer res.free()
	counts := make([]C.size_t, len(users)+1)
	var out [][]Scored
	err = opts.serve(func(o *C.aisle_rec_options) error {
		return m.read(func(p *C.aisle_model) C.int {
			rc := C.aisle_recommend_batch(p, ks.ptr(), ks.n(), C.size_t(k), o, res.items, res.scorePtr(), &counts[0])
			if rc == 0 {
				out = make([][]Scored, len(users))
				for i := range users {
					out[i] = res.take(int(counts[i]), i*k)
				}
			}
			return rc
		})
	})
	return out, err
}

// clampK bounds a result count: never negative (C takes size_t) and no
// larger than the item count, which bounds every result list, so a huge k
// does not allocate a huge buffer.
func (m *Model) clampK(k int, what string) (int, error) {
	if k < 0 {
		return 0, &Error{Code: CodeRange, Message: "aisle: negative " + what}
	}
	if n := m.NumItems(); k > n {
		k = n
	}
	return k, nil
}
