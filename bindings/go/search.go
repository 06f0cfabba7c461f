package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// SearchIndex is a product search index (docs/SEARCH.md).  Search,
// Suggest, Len and Save may run from many goroutines at once; Add, Remove
// and SetPopularity take the index alone (a read-write lock inside).
type SearchIndex struct {
	mu  sync.RWMutex
	ptr *C.aisle_search_index
	enc     *Bert  // the attached text encoder, kept reachable while the index borrows it
	textEnc *Model // or the attached intent model
}

// Hit is one search hit: product key, score and the indexed words it
// matched (empty when found by behaviour similarity only).
type Hit struct {
	Item    string
	Score   float64
	Matched []string
}

// FacetValue is one value of a facet and the matches that have it.
type FacetValue struct {
	Value string
	Count int
}

// SearchResults holds what one search returned.  Total is the number of
// matching products (a lower bound past option search_total_limit).
type SearchResults struct {
	Hits    []Hit
	Total   int
	Facets  map[string][]FacetValue
	explain []string
}

// Explain says why hit i ranks where it does.
func (r *SearchResults) Explain(i int) string {
	if i < 0 || i >= len(r.explain) {
		return ""
	}
	return r.explain[i]
}

// SearchRequest holds the optional parts of a search: filters
// ("category=PATH", "brand=NAME", "price=LO..HI", "NAME=VALUE"), a model
// for behaviour-space fusion and, with User or Session, personalization.
type SearchRequest struct {
	K       int
	Filters []string
	Model   *Model
	User    string
	Session []string
	Config  *Config
}

func newSearchIndex(p *C.aisle_search_index) *SearchIndex {
	s := &SearchIndex{ptr: p}
	runtime.SetFinalizer(s, (*SearchIndex).Close)
	return s
}

// BuildSearchIndex indexes every product of a catalog.
func BuildSearchIndex(c *Catalog, cfg *Config) (*SearchIndex, error) {
	var p *C.aisle_search_index
	if err := call(func() C.int { return C.aisle_search_index_new(&p) }); err != nil {
		return nil, err
	}
	err := c.read(func(cp *C.aisle_catalog) C.int {
		var rc C.int
		_ = withConfig(cfg, func(cc *C.aisle_config) C.int { rc = C.aisle_search_index_build(p, cp, cc); return rc })
		return rc
	})
	if err != nil {
		C.aisle_search_index_free(p)
		return nil, err
	}
	return newSearchIndex(p), nil
}

// LoadSearchIndex reads an index saved by Save.
func LoadSearchIndex(path string, cfg *Config) (*SearchIndex, error) {
	cp, err := cstring("path", path)
	if err != nil {
		return nil, err
	}
	defer free(cp)
	var p *C.aisle_search_index
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_search_index_load(&p, cp, c) }); err != nil {
		return nil, err
	}
	return newSearchIndex(p), nil
}

// Close frees the index; later calls do nothing.
func (s *SearchIndex) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.aisle_search_index_free(s.ptr)
		s.ptr = nil
	}
	runtime.SetFinalizer(s, nil)
}

func (s *SearchIndex) read(f func(p *C.aisle_search_index) C.int) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return errClosed("search index")
	}
	return call(func() C.int { return f(s.ptr) })
}

func (s *SearchIndex) write(f func(p *C.aisle_search_index) C.int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return errClosed("search index")
	}
	return call(func() C.int { return f(s.ptr) })
}

// Save writes the index atomically (removed products are dropped).
func (s *SearchIndex) Save(path string, cfg *Config) error {
	cp, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(cp)
	return s.read(func(p *C.aisle_search_index) C.int {
		var rc C.int
		_ = withConfig(cfg, func(c *C.aisle_config) C.int { rc = C.aisle_search_index_save(p, cp, c); return rc })
		return rc
	})
}

// Len is the number of indexed products.
func (s *SearchIndex) Len() int {
	var n C.size_t
	if s.read(func(p *C.aisle_search_index) C.int { return C.aisle_search_index_count(p, &n) }) != nil {
		return 0
	}
	return int(n)
}

// Add indexes catalog product key, replacing the indexed one.
func (s *SearchIndex) Add(c *Catalog, key string) error {
	k, err := cstring("item key", key)
	if err != nil {
		return err
	}
	defer free(k)
	return c.read(func(cp *C.aisle_catalog) C.int {
		var rc C.int
		_ = s.write(func(p *C.aisle_search_index) C.int { rc = C.aisle_search_index_add(p, cp, k); return rc })
		return rc
	})
}

// Remove drops a product from the index (CodeNotFound when absent).
func (s *SearchIndex) Remove(key string) error {
	k, err := cstring("item key", key)
	if err != nil {
		return err
	}
	defer free(k)
	return s.write(func(p *C.aisle_search_index) C.int { return C.aisle_search_index_remove(p, k) })
}

// SetPopularity stores each product's popularity from a model.
func (s *SearchIndex) SetPopularity(m *Model) error {
	return m.withRead(func(mp *C.aisle_model) error {
		return s.write(func(p *C.aisle_search_index) C.int { return C.aisle_search_index_set_popularity(p, mp) })
	})
}

// SetEncoder attaches a BERT text encoder (docs/SEARCH.md, "Text
// encoder").  With a catalog it computes every product's text vector
// (option search_encoder_pooling); with c nil the index's saved vectors
// must come from this encoder (CodeInvalid otherwise).  Searches then add
// semantic retrieval from the query's vector (search_encoder_weight).  The
// index keeps b reachable; do not Close b or fine-tune it while attached.
// b nil detaches and drops the vectors.
func (s *SearchIndex) SetEncoder(b *Bert, c *Catalog, cfg *Config) error {
	setEnc := func(p *C.aisle_search_index, bp *C.aisle_bert, cp *C.aisle_catalog) C.int {
		var rc C.int
		_ = withConfig(cfg, func(cc *C.aisle_config) C.int {
			rc = C.aisle_search_index_set_encoder(p, bp, cp, cc)
			return rc
		})
		return rc
	}
	withCatalog := func(bp *C.aisle_bert) error {
		if c == nil {
			return s.write(func(p *C.aisle_search_index) C.int { return setEnc(p, bp, nil) })
		}
		var err error
		if cerr := c.read(func(cp *C.aisle_catalog) C.int {
			err = s.write(func(p *C.aisle_search_index) C.int { return setEnc(p, bp, cp) })
			return 0
		}); cerr != nil {
			return cerr
		}
		return err
	}
	var err error
	if b == nil {
		err = withCatalog(nil)
	} else {
		err = b.read(withCatalog)
	}
	if err == nil {
		s.mu.Lock()
		s.enc, s.textEnc = b, nil
		s.mu.Unlock()
	}
	return err
}

// SetTextModel attaches an intent model (architecture transformer or bag)
// as the text encoder, as SetEncoder does a BERT: with a catalog it
// computes every product's vector (the pooled vector the model's head
// reads); with c nil the index's saved vectors must come from this very
// model (CodeInvalid otherwise).  CodeUnsupported for another kind or an
// architecture without vectors.  The index keeps m reachable; do not Close
// m while attached.  m nil detaches and drops the vectors.
func (s *SearchIndex) SetTextModel(m *Model, c *Catalog, cfg *Config) error {
	set := func(mp *C.aisle_model) error {
		var cerr, err error
		call := func(cp *C.aisle_catalog) C.int {
			err = s.write(func(p *C.aisle_search_index) C.int {
				var rc C.int
				_ = withConfig(cfg, func(cc *C.aisle_config) C.int {
					rc = C.aisle_search_index_set_text_model(p, mp, cp, cc)
					return rc
				})
				return rc
			})
			return 0
		}
		if c == nil {
			call(nil)
		} else {
			cerr = c.read(call)
		}
		if cerr != nil {
			return cerr
		}
		return err
	}
	var err error
	if m == nil {
		err = set(nil)
	} else {
		err = m.withRead(set)
	}
	if err == nil {
		s.mu.Lock()
		s.textEnc, s.enc = m, nil
		s.mu.Unlock()
	}
	return err
}

// EncoderInfo reports the index's encoder vectors: their dimension (0
// without), whether an encoder is attached, and its fingerprint.
func (s *SearchIndex) EncoderInfo() (dim int, attached bool, fingerprint uint64, err error) {
	var d C.size_t
	var a C.int
	var fp C.uint64_t
	err = s.read(func(p *C.aisle_search_index) C.int { return C.aisle_search_index_encoder_info(p, &d, &a, &fp) })
	return int(d), a != 0, uint64(fp), err
}

func cstrings(what string, v []string) ([]*C.char, error) {
	out := make([]*C.char, len(v))
	for i, s := range v {
		c, err := cstring(what, s)
		if err != nil {
			freeAll(out)
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func freeAll(v []*C.char) {
	for _, c := range v {
		free(c)
	}
}

// carray copies C string pointers into a C array, so no Go memory is
// passed to C as a pointer-holding argument; free with C.free.
func carray(v []*C.char) **C.char {
	if len(v) == 0 {
		return nil
	}
	a := (**C.char)(C.malloc(C.size_t(len(v)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	copy(unsafe.Slice(a, len(v)), v)
	return a
}

func collect(r *C.aisle_search_results, withExplain bool) *SearchResults {
	var n, total, nf C.size_t
	C.aisle_search_results_count(r, &n)
	C.aisle_search_results_total(r, &total)
	C.aisle_search_results_facet_count(r, &nf)
	out := &SearchResults{Total: int(total), Facets: map[string][]FacetValue{}}
	for i := C.size_t(0); i < n; i++ {
		var key, matched, why *C.char
		var score C.double
		C.aisle_search_results_hit(r, i, &key, &score)
		C.aisle_search_results_matched(r, i, &matched)
		h := Hit{Item: C.GoString(key), Score: float64(score)}
		if m := C.GoString(matched); m != "" {
			h.Matched = strings.Split(m, " ")
		}
		out.Hits = append(out.Hits, h)
		if withExplain && C.aisle_search_results_explain(r, i, &why) == 0 {
			out.explain = append(out.explain, C.GoString(why))
		}
	}
	for f := C.size_t(0); f < nf; f++ {
		var name *C.char
		var nv C.size_t
		C.aisle_search_results_facet(r, f, &name, &nv)
		var vals []FacetValue
		for v := C.size_t(0); v < nv; v++ {
			var val *C.char
			var cnt C.size_t
			C.aisle_search_results_facet_value(r, f, v, &val, &cnt)
			vals = append(vals, FacetValue{C.GoString(val), int(cnt)})
		}
		out.Facets[C.GoString(name)] = vals
	}
	return out
}

// Search returns the req.K (10 when 0) best products for query, with
// explanations.
func (s *SearchIndex) Search(query string, req SearchRequest) (*SearchResults, error) {
	k := req.K
	if k <= 0 {
		k = 10
	}
	q := C.CBytes([]byte(query))
	defer C.free(q)
	fl, err := cstrings("filter", req.Filters)
	if err != nil {
		return nil, err
	}
	defer freeAll(fl)
	items, err := cstrings("item key", req.Session)
	if err != nil {
		return nil, err
	}
	defer freeAll(items)
	fa, ia := carray(fl), carray(items)
	defer C.free(unsafe.Pointer(fa))
	defer C.free(unsafe.Pointer(ia))
	var user *C.char
	if req.User != "" {
		if user, err = cstring("user key", req.User); err != nil {
			return nil, err
		}
		defer free(user)
	}
	var res *SearchResults
	run := func(mp *C.aisle_model) error {
		return s.read(func(p *C.aisle_search_index) C.int {
			var rc C.int
			_ = withConfig(req.Config, func(c *C.aisle_config) C.int {
				var r *C.aisle_search_results
				rc = C.aisle_search(p, (*C.char)(q), C.size_t(len(query)), C.size_t(k), fa, C.size_t(len(fl)), mp,
					user, ia, C.size_t(len(items)), c, &r)
				if rc == 0 {
					res = collect(r, true)
					C.aisle_search_results_free(r)
				}
				return rc
			})
			return rc
		})
	}
	if req.Model != nil {
		err = req.Model.withRead(run)
	} else {
		err = run(nil)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Suggest returns up to k completions of what was typed so far.
func (s *SearchIndex) Suggest(prefix string, k int) ([]Hit, error) {
	q := C.CBytes([]byte(prefix))
	defer C.free(q)
	var res *SearchResults
	err := s.read(func(p *C.aisle_search_index) C.int {
		var r *C.aisle_search_results
		rc := C.aisle_suggest(p, (*C.char)(q), C.size_t(len(prefix)), C.size_t(k), nil, &r)
		if rc == 0 {
			res = collect(r, false)
			C.aisle_search_results_free(r)
		}
		return rc
	})
	if err != nil {
		return nil, err
	}
	return res.Hits, nil
}

// Learn fits the index's ranking weights from a search log (docs/SEARCH.md,
// "Learning to rank"): the log's text (a CSV with the header
// query_id,query,user,item,event; event shown, click, cart or purchase),
// named name in error messages.  m (may be nil) is the model whose signals
// (fusion, user score, popularity) searches will use; cfg: the search_*
// options, search_learn_l2, search_learn_max_pairs, search_learn_seed.  It
// returns the preference pairs used; the weights (Ranker) stay in the
// index and its saved file.
func (s *SearchIndex) Learn(log []byte, name string, m *Model, cfg *Config) (int, error) {
	n, err := cstring("name", name)
	if err != nil {
		return 0, err
	}
	defer free(n)
	var ptr unsafe.Pointer
	if len(log) > 0 {
		ptr = unsafe.Pointer(&log[0])
	}
	var lh *C.aisle_search_log
	if err := call(func() C.int { return C.aisle_search_log_load_buffer(&lh, ptr, C.size_t(len(log)), n, nil) }); err != nil {
		return 0, err
	}
	defer C.aisle_search_log_free(lh)
	var pairs C.size_t
	learn := func(mp *C.aisle_model) error {
		return s.write(func(p *C.aisle_search_index) C.int {
			var rc C.int
			_ = withConfig(cfg, func(c *C.aisle_config) C.int {
				rc = C.aisle_search_index_learn(p, lh, mp, c, &pairs)
				return rc
			})
			return rc
		})
	}
	if m == nil {
		err = learn(nil)
	} else {
		err = m.withRead(learn)
	}
	return int(pairs), err
}

// Ranker returns the learned ranking weights by signal name (empty when
// the index has none).
func (s *SearchIndex) Ranker() (map[string]float64, error) {
	out := map[string]float64{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, errClosed("search index")
	}
	for i := 0; ; i++ {
		var name *C.char
		var w C.double
		if C.aisle_search_index_ranker(s.ptr, C.size_t(i), &name, &w) != 0 {
			return out, nil
		}
		out[C.GoString(name)] = float64(w)
	}
}
