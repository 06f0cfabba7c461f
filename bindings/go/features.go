package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Token kinds (AISLE_TOKEN_*).
const (
	TokenWord      = 0 // a word or number
	TokenCJK       = 1 // one CJK character
	TokenCJKBigram = 2 // two adjacent CJK characters
	TokenWordNgram = 3 // word n-gram, words joined by one space
	TokenCharNgram = 4 // character n-gram of "<word>"
)

// Token is one token or feature string and its kind (Token* constants).
type Token struct {
	Text string
	Kind int
}

// SparseVector has strictly increasing Indices below Dim, with Values.
type SparseVector struct {
	Dim     uint32
	Indices []uint32
	Values  []float32
}

// Dot is the dot product of two vectors of the same dimension (0 when the
// dimensions differ).
func (v SparseVector) Dot(w SparseVector) float64 {
	if v.Dim != w.Dim {
		return 0
	}
	var s float64
	for i, j := 0, 0; i < len(v.Indices) && j < len(w.Indices); {
		switch {
		case v.Indices[i] < w.Indices[j]:
			i++
		case v.Indices[i] > w.Indices[j]:
			j++
		default:
			s += float64(v.Values[i]) * float64(w.Values[j])
			i, j = i+1, j+1
		}
	}
	return s
}

// Hash32 is MurmurHash3 x86_32 of data with seed, as aisle hashes features.
func Hash32(data []byte, seed uint32) uint32 {
	var out C.uint32_t
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	C.aisle_hash32(p, C.size_t(len(data)), C.uint32_t(seed), &out)
	return uint32(out)
}

// featureHandle is the common part of the feature handles: a C pointer,
// a lock (fit/add change the handle; transforms only read it), and Close.
type featureHandle struct {
	mu   sync.RWMutex
	ptr  unsafe.Pointer
	what string
	del  func(unsafe.Pointer)
}

func (h *featureHandle) close() { release(&h.mu, &h.ptr, h.del) }

func (h *featureHandle) read(f func(p unsafe.Pointer) C.int) error {
	return shared(&h.mu, &h.ptr, h.what, checked(f))
}

func (h *featureHandle) write(f func(p unsafe.Pointer) C.int) error {
	return exclusive(&h.mu, &h.ptr, h.what, checked(f))
}

// textArg copies text to C memory (the caller frees it) and gives its
// length, so embedded NUL bytes count as separators, as in C.
func textArg(text string) (*C.char, C.size_t) {
	return C.CString(text), C.size_t(len(text))
}

func takeTokens(t *C.aisle_tokens) []Token {
	defer C.aisle_tokens_free(t)
	var n C.size_t
	C.aisle_tokens_count(t, &n)
	out := make([]Token, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		var s *C.char
		var ln C.size_t
		var kind C.int
		C.aisle_tokens_get(t, i, &s, &ln)
		C.aisle_tokens_kind(t, i, &kind)
		out = append(out, Token{C.GoStringN(s, C.int(ln)), int(kind)})
	}
	return out
}

func takeSparse(v *C.aisle_sparse) SparseVector {
	defer C.aisle_sparse_free(v)
	var idx *C.uint32_t
	var val *C.float
	var n C.size_t
	var dim C.uint32_t
	C.aisle_sparse_data(v, &idx, &val, &n)
	C.aisle_sparse_dim(v, &dim)
	out := SparseVector{Dim: uint32(dim), Indices: make([]uint32, int(n)), Values: make([]float32, int(n))}
	if n > 0 {
		copy(out.Indices, unsafe.Slice((*uint32)(unsafe.Pointer(idx)), int(n)))
		copy(out.Values, unsafe.Slice((*float32)(unsafe.Pointer(val)), int(n)))
	}
	return out
}

func newFeature(cfg *Config, what string, del func(unsafe.Pointer),
	create func(out *unsafe.Pointer, c *C.aisle_config) C.int) (*featureHandle, error) {
	h := &featureHandle{what: what, del: del}
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return create(&h.ptr, c) }); err != nil {
		return nil, err
	}
	return h, nil
}

// Tokenizer splits UTF-8 text into words, CJK characters and bigrams.
// Options: lowercase, cjk_bigrams, min_token_len, stop_words.
type Tokenizer struct{ h *featureHandle }

// NewTokenizer makes a tokenizer from cfg (may be nil).
func NewTokenizer(cfg *Config) (*Tokenizer, error) {
	h, err := newFeature(cfg, "tokenizer", func(p unsafe.Pointer) { C.aisle_tokenizer_free((*C.aisle_tokenizer)(p)) },
		func(out *unsafe.Pointer, c *C.aisle_config) C.int {
			return C.aisle_tokenizer_new((**C.aisle_tokenizer)(unsafe.Pointer(out)), c)
		})
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{h}
	runtime.SetFinalizer(t, (*Tokenizer).Close)
	return t, nil
}

// Close frees the tokenizer.
func (t *Tokenizer) Close() { t.h.close() }

// AddStopWords adds stop words (all or nothing).
func (t *Tokenizer) AddStopWords(words []string) error {
	ws, err := newCStrings(words)
	if err != nil {
		return err
	}
	defer ws.free()
	return t.h.write(func(p unsafe.Pointer) C.int {
		return C.aisle_tokenizer_add_stop_words((*C.aisle_tokenizer)(p), ws.ptr(), ws.n())
	})
}

// Tokenize gives the tokens of text in text order.
func (t *Tokenizer) Tokenize(text string) ([]Token, error) {
	s, n := textArg(text)
	defer free(s)
	var out []Token
	err := t.h.read(func(p unsafe.Pointer) C.int {
		var toks *C.aisle_tokens
		rc := C.aisle_tokenizer_tokenize((*C.aisle_tokenizer)(p), s, n, &toks)
		if rc == 0 {
			out = takeTokens(toks)
		}
		return rc
	})
	return out, err
}

// Hasher is a hashing vectorizer (text -> tokens -> features -> buckets).
// Options: tokenizer options, word_ngrams, char_ngram_min/max,
// hash_buckets, hash_seed, signed_hash, l2_normalize.
type Hasher struct{ h *featureHandle }

// NewHasher makes a hashing vectorizer from cfg (may be nil).
func NewHasher(cfg *Config) (*Hasher, error) {
	h, err := newFeature(cfg, "hasher", func(p unsafe.Pointer) { C.aisle_hasher_free((*C.aisle_hasher)(p)) },
		func(out *unsafe.Pointer, c *C.aisle_config) C.int {
			return C.aisle_hasher_new((**C.aisle_hasher)(unsafe.Pointer(out)), c)
		})
	if err != nil {
		return nil, err
	}
	x := &Hasher{h}
	runtime.SetFinalizer(x, (*Hasher).Close)
	return x, nil
}

// Close frees the hasher.
func (x *Hasher) Close() { x.h.close() }

// Transform hashes text into a sparse vector of dimension hash_buckets.
func (x *Hasher) Transform(text string) (SparseVector, error) {
	s, n := textArg(text)
	defer free(s)
	var out SparseVector
	err := x.h.read(func(p unsafe.Pointer) C.int {
		var v *C.aisle_sparse
		rc := C.aisle_hasher_transform((*C.aisle_hasher)(p), s, n, &v)
		if rc == 0 {
			out = takeSparse(v)
		}
		return rc
	})
	return out, err
}

// Features gives the feature strings of text in hashing order.
func (x *Hasher) Features(text string) ([]Token, error) {
	s, n := textArg(text)
	defer free(s)
	var out []Token
	err := x.h.read(func(p unsafe.Pointer) C.int {
		var toks *C.aisle_tokens
		rc := C.aisle_hasher_features((*C.aisle_hasher)(p), s, n, &toks)
		if rc == 0 {
			out = takeTokens(toks)
		}
		return rc
	})
	return out, err
}

// TfIdf is a TF-IDF / BM25 vectorizer.  Options: tokenizer and n-gram
// options, min_df, max_features, tfidf_weighting, tfidf_bm25_k1/b,
// l2_normalize.
type TfIdf struct{ h *featureHandle }

// NewTfIdf makes an unfitted vectorizer from cfg (may be nil).
func NewTfIdf(cfg *Config) (*TfIdf, error) {
	h, err := newFeature(cfg, "tf-idf vectorizer", func(p unsafe.Pointer) { C.aisle_tfidf_free((*C.aisle_tfidf)(p)) },
		func(out *unsafe.Pointer, c *C.aisle_config) C.int {
			return C.aisle_tfidf_new((**C.aisle_tfidf)(unsafe.Pointer(out)), c)
		})
	if err != nil {
		return nil, err
	}
	t := &TfIdf{h}
	runtime.SetFinalizer(t, (*TfIdf).Close)
	return t, nil
}

// Close frees the vectorizer.
func (t *TfIdf) Close() { t.h.close() }

// Fit learns the vocabulary and idf from texts.
func (t *TfIdf) Fit(texts []string) error {
	ts, err := newCStrings(texts)
	if err != nil {
		return err
	}
	defer ts.free()
	return t.h.write(func(p unsafe.Pointer) C.int { return C.aisle_tfidf_fit((*C.aisle_tfidf)(p), ts.ptr(), ts.n()) })
}

// Transform gives the weighted term vector of text (ErrState before Fit).
func (t *TfIdf) Transform(text string) (SparseVector, error) {
	s, n := textArg(text)
	defer free(s)
	var out SparseVector
	err := t.h.read(func(p unsafe.Pointer) C.int {
		var v *C.aisle_sparse
		rc := C.aisle_tfidf_transform((*C.aisle_tfidf)(p), s, n, &v)
		if rc == 0 {
			out = takeSparse(v)
		}
		return rc
	})
	return out, err
}

// Vocabulary gives the fitted terms in index order.
func (t *TfIdf) Vocabulary() ([]string, error) {
	var out []string
	err := t.h.read(func(p unsafe.Pointer) C.int {
		var n C.size_t
		if rc := C.aisle_tfidf_vocab_size((*C.aisle_tfidf)(p), &n); rc != 0 {
			return rc
		}
		for i := C.size_t(0); i < n; i++ {
			var term *C.char
			if rc := C.aisle_tfidf_term((*C.aisle_tfidf)(p), i, &term, nil); rc != 0 {
				return rc
			}
			out = append(out, C.GoString(term))
		}
		return 0
	})
	return out, err
}

// Lookup gives a term's index and idf (ErrNotFound if not in the vocabulary).
func (t *TfIdf) Lookup(term string) (int, float64, error) {
	s, err := cstring("term", term)
	if err != nil {
		return 0, 0, err
	}
	defer free(s)
	var idx C.size_t
	var idf C.double
	err = t.h.read(func(p unsafe.Pointer) C.int {
		if rc := C.aisle_tfidf_lookup((*C.aisle_tfidf)(p), s, &idx); rc != 0 {
			return rc
		}
		var term *C.char
		return C.aisle_tfidf_term((*C.aisle_tfidf)(p), idx, &term, &idf)
	})
	return int(idx), float64(idf), err
}

// CategoryEncoder maps category values to 1..Size()-1, 0 for unseen or
// rare values.  Option: category_min_count.
type CategoryEncoder struct{ h *featureHandle }

// NewCategoryEncoder makes an unfitted encoder from cfg (may be nil).
func NewCategoryEncoder(cfg *Config) (*CategoryEncoder, error) {
	h, err := newFeature(cfg, "category encoder",
		func(p unsafe.Pointer) { C.aisle_category_encoder_free((*C.aisle_category_encoder)(p)) },
		func(out *unsafe.Pointer, c *C.aisle_config) C.int {
			return C.aisle_category_encoder_new((**C.aisle_category_encoder)(unsafe.Pointer(out)), c)
		})
	if err != nil {
		return nil, err
	}
	e := &CategoryEncoder{h}
	runtime.SetFinalizer(e, (*CategoryEncoder).Close)
	return e, nil
}

// Close frees the encoder.
func (e *CategoryEncoder) Close() { e.h.close() }

// Fit learns the values.
func (e *CategoryEncoder) Fit(values []string) error {
	vs, err := newCStrings(values)
	if err != nil {
		return err
	}
	defer vs.free()
	return e.h.write(func(p unsafe.Pointer) C.int {
		return C.aisle_category_encoder_fit((*C.aisle_category_encoder)(p), vs.ptr(), vs.n())
	})
}

// Transform gives a value's index (0: out of vocabulary).
func (e *CategoryEncoder) Transform(value string) (int, error) {
	v, err := cstring("value", value)
	if err != nil {
		return 0, err
	}
	defer free(v)
	var out C.size_t
	err = e.h.read(func(p unsafe.Pointer) C.int {
		return C.aisle_category_encoder_transform((*C.aisle_category_encoder)(p), v, &out)
	})
	return int(out), err
}

// Size is the number of indices including the out-of-vocabulary 0.
func (e *CategoryEncoder) Size() (int, error) {
	var out C.size_t
	err := e.h.read(func(p unsafe.Pointer) C.int {
		return C.aisle_category_encoder_size((*C.aisle_category_encoder)(p), &out)
	})
	return int(out), err
}

// NumericEncoder transforms numbers (standardize, minmax, log1p or
// quantile bins).  Options: numeric_transform, quantile_bins.
type NumericEncoder struct{ h *featureHandle }

// NewNumericEncoder makes an unfitted encoder from cfg (may be nil).
func NewNumericEncoder(cfg *Config) (*NumericEncoder, error) {
	h, err := newFeature(cfg, "numeric encoder",
		func(p unsafe.Pointer) { C.aisle_numeric_encoder_free((*C.aisle_numeric_encoder)(p)) },
		func(out *unsafe.Pointer, c *C.aisle_config) C.int {
			return C.aisle_numeric_encoder_new((**C.aisle_numeric_encoder)(unsafe.Pointer(out)), c)
		})
	if err != nil {
		return nil, err
	}
	e := &NumericEncoder{h}
	runtime.SetFinalizer(e, (*NumericEncoder).Close)
	return e, nil
}

// Close frees the encoder.
func (e *NumericEncoder) Close() { e.h.close() }

// Fit learns the statistics of values (passed to C without copying).
func (e *NumericEncoder) Fit(values []float64) error {
	var p0 *C.double
	if len(values) > 0 {
		p0 = (*C.double)(unsafe.Pointer(&values[0]))
	}
	return e.h.write(func(p unsafe.Pointer) C.int {
		return C.aisle_numeric_encoder_fit((*C.aisle_numeric_encoder)(p), p0, C.size_t(len(values)))
	})
}

// Transform encodes x.
func (e *NumericEncoder) Transform(x float64) (float64, error) {
	var out C.double
	err := e.h.read(func(p unsafe.Pointer) C.int {
		return C.aisle_numeric_encoder_transform((*C.aisle_numeric_encoder)(p), C.double(x), &out)
	})
	return float64(out), err
}

// Bin is the quantile bin of x (ErrUnsupported unless numeric_transform=quantile).
func (e *NumericEncoder) Bin(x float64) (int, error) {
	var out C.size_t
	err := e.h.read(func(p unsafe.Pointer) C.int {
		return C.aisle_numeric_encoder_bin((*C.aisle_numeric_encoder)(p), C.double(x), &out)
	})
	return int(out), err
}
