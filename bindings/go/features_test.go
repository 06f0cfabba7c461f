package aisle

import (
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
)

func TestHash32IsMurmur3(t *testing.T) {
	if Hash32(nil, 0) != 0 || Hash32(nil, 1) != 0x514E28B7 || Hash32([]byte("hello"), 0) != 0x248BFA47 {
		t.Fatal(Hash32(nil, 1), Hash32([]byte("hello"), 0))
	}
}

func TestTokenizerWordsCJKAndStopWords(t *testing.T) {
	cfg, _ := NewConfig(Options{"stop_words": "_english_"})
	defer cfg.Close()
	tok, err := NewTokenizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	toks, err := tok.Tokenize("The Bluetooth 蓝牙 headphones")
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{{"bluetooth", TokenWord}, {"蓝", TokenCJK}, {"牙", TokenCJK}, {"蓝牙", TokenCJKBigram},
		{"headphones", TokenWord}}
	if !reflect.DeepEqual(toks, want) {
		t.Fatal(toks)
	}
	if err := tok.AddStopWords([]string{"headphones"}); err != nil {
		t.Fatal(err)
	}
	if toks, _ := tok.Tokenize("bluetooth headphones"); len(toks) != 1 {
		t.Fatal(toks)
	}
	tok.Close()
	if _, err := tok.Tokenize("x"); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
}

func TestHasherAndTfIdf(t *testing.T) {
	hc, _ := NewConfig(Options{"hash_buckets": 1024, "word_ngrams": 2})
	defer hc.Close()
	h, err := NewHasher(hc)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	v, err := h.Transform("blue bluetooth headphones")
	if err != nil || v.Dim != 1024 || math.Abs(v.Dot(v)-1) > 1e-5 {
		t.Fatal(v, err)
	}
	feats, _ := h.Features("blue tooth")
	found := false
	for _, f := range feats {
		found = found || (f == Token{"blue tooth", TokenWordNgram})
	}
	if !found {
		t.Fatal(feats)
	}
	tf, err := NewTfIdf(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	if _, err := tf.Transform("mug"); !errors.Is(err, ErrState) {
		t.Fatal(err)
	}
	if err := tf.Fit([]string{"red mug", "blue mug", "blue tea pot"}); err != nil {
		t.Fatal(err)
	}
	vocab, _ := tf.Vocabulary()
	if !reflect.DeepEqual(vocab, []string{"blue", "mug", "pot", "red", "tea"}) {
		t.Fatal(vocab)
	}
	i, idf, err := tf.Lookup("red")
	if err != nil || i != 3 || math.Abs(idf-(math.Log(2)+1)) > 1e-12 {
		t.Fatal(i, idf, err)
	}
	if _, _, err := tf.Lookup("kettle"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	// a fitted vectorizer is shared by goroutines
	want, _ := tf.Transform("blue mug mug")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100; k++ {
				if got, err := tf.Transform("blue mug mug"); err != nil || !reflect.DeepEqual(got, want) {
					t.Error(got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestEncoders(t *testing.T) {
	cc, _ := NewConfig(Options{"category_min_count": 2})
	defer cc.Close()
	ce, err := NewCategoryEncoder(cc)
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	_ = ce.Fit([]string{"a", "b", "a", "c", "c"})
	a, _ := ce.Transform("a")
	b, _ := ce.Transform("b")
	n, _ := ce.Size()
	if a != 1 || b != 0 || n != 3 {
		t.Fatal(a, b, n)
	}
	qc, _ := NewConfig(Options{"numeric_transform": "quantile", "quantile_bins": 4})
	defer qc.Close()
	ne, err := NewNumericEncoder(qc)
	if err != nil {
		t.Fatal(err)
	}
	defer ne.Close()
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64(i)
	}
	_ = ne.Fit(vals)
	if b, _ := ne.Bin(50); b != 2 {
		t.Fatal(b)
	}
	std, _ := NewNumericEncoder(nil)
	defer std.Close()
	_ = std.Fit([]float64{1, 3})
	if x, _ := std.Transform(3); x != 1 {
		t.Fatal(x)
	}
	if _, err := std.Bin(1); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
}
