package aisle

import (
	"math"
	"path/filepath"
	"testing"
)

func bertCheckpoint() string { return filepath.Join("..", "..", "tests", "bert", "data", "cls") }

func TestBertImportEmbedClassifySave(t *testing.T) {
	b, err := ImportBert(bertCheckpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	info, err := b.Info()
	if err != nil || info.Dim != 64 || info.NumLabels != 3 || info.Regression {
		t.Fatalf("info %+v, %v", info, err)
	}
	vecs, err := b.Embed([]string{"running shoes", "中文"}, PoolMean, nil)
	if err != nil || len(vecs) != 2 || len(vecs[0]) != 64 {
		t.Fatalf("embed: %v", err)
	}
	probs, err := b.Classify([]string{"running shoes"}, []string{"a jacket"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, p := range probs[0] {
		s += float64(p)
	}
	if math.Abs(s-1) > 1e-5 {
		t.Fatalf("probabilities sum to %g", s)
	}
	path := filepath.Join(t.TempDir(), "b.aisle")
	if err := b.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	l, err := LoadBert(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	again, err := l.Embed([]string{"running shoes", "中文"}, PoolMean, nil)
	if err != nil || again[1][5] != vecs[1][5] {
		t.Fatalf("reloaded model differs: %v", err)
	}
	loss, err := l.FinetuneHead([]string{"red shoes", "a jacket"}, nil, []float32{1, 0}, 2, nil)
	if err != nil || math.IsNaN(loss) {
		t.Fatalf("finetune: %g %v", loss, err)
	}
	if err := l.SetLabels([]string{"other", "shoes"}); err != nil {
		t.Fatalf("set labels: %v", err)
	}
	if err := l.SetLabels([]string{"one"}); err == nil {
		t.Fatal("one name for a 2-label head was accepted")
	} else if e, ok := err.(*Error); !ok || e.Code != CodeRange {
		t.Fatalf("unexpected error %v", err)
	}
	if _, err := ImportBert(t.TempDir(), nil); err == nil {
		t.Fatal("importing an empty directory succeeded")
	} else if e, ok := err.(*Error); !ok || e.Code != CodeNotFound {
		t.Fatalf("unexpected error %v", err)
	}
	b.Close()
	if _, err := b.Embed([]string{"x"}, PoolCLS, nil); err == nil {
		t.Fatal("embed on a closed model succeeded")
	}
}
