package aisle

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

var textIntents = map[string][]string{
	"refund":   {"where is my refund", "i want my money back", "refund please", "reimburse me"},
	"shipping": {"track my parcel", "where is the delivery", "package is late", "courier lost it"},
	"cancel":   {"cancel my order", "stop the order", "i want to cancel", "revoke the purchase"},
}

func textCorpus(t *testing.T) *Texts {
	t.Helper()
	tx, err := NewTexts()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Close)
	for r := 0; r < 15; r++ {
		for _, label := range []string{"refund", "shipping", "cancel"} {
			for _, s := range textIntents[label] {
				if err := tx.Add(s, label); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return tx
}

func TestTextsAddLoadSplit(t *testing.T) {
	tx := textCorpus(t)
	if tx.Len() != 180 || tx.LabelCount() != 3 {
		t.Fatal(tx.Len(), tx.LabelCount())
	}
	if s, l, err := tx.At(0); err != nil || s != "where is my refund" || l != "refund" {
		t.Fatal(s, l, err)
	}
	if err := tx.Add("nul\x00byte", "x"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	tr, te, err := tx.Split(0.2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	defer te.Close()
	if tr.Len()+te.Len() != 180 || te.Len() != 36 {
		t.Fatal(tr.Len(), te.Len())
	}
	cfg, _ := NewConfig(Options{"columns": "text=message,label=intent"})
	defer cfg.Close()
	l, _ := NewTexts()
	defer l.Close()
	if err := l.LoadBytes([]byte("id,message,intent\n1,\"hi, there\",greet\n2,bye,leave\n"), "m.csv", cfg); err != nil {
		t.Fatal(err)
	}
	if err := l.LoadBytes([]byte("id,message,intent\n1,bad \xff,greet\n"), "bad.csv", cfg); err == nil ||
		!strings.Contains(err.Error(), "bad.csv:2:") {
		t.Fatal(err)
	}
	if l.Len() != 2 {
		t.Fatal(l.Len())
	}
}

func TestTextTrainClassifyExplainEvaluate(t *testing.T) {
	tx := textCorpus(t)
	m, err := TrainTextWith(tx, Options{"epochs": 10, "threads": 1, "unknown_threshold": 0.6})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Kind() != "intent" {
		t.Fatal(m.Kind())
	}
	if labels, err := m.Labels(); err != nil || len(labels) != 3 {
		t.Fatal(labels, err)
	}
	c, err := m.Classify("where is my money back", 3)
	if err != nil || c.Labels[0] != "refund" || c.Unknown || len(c.Probabilities) != 3 {
		t.Fatal(c, err)
	}
	if c, _ := m.Classify("zzz qqq", 1); !c.Unknown {
		t.Fatal("expected unknown", c)
	}
	if c, err := m.Classify("refund\xff\x00money", 1); err != nil || c.Labels[0] != "refund" {
		t.Fatal(c, err)
	}
	label, toks, err := m.ExplainText("Please refund me", "")
	if err != nil || label != "refund" || len(toks) != 3 || toks[1].Token != "refund" || toks[1].Contribution <= 0 {
		t.Fatal(label, toks, err)
	}
	res, err := m.EvaluateTexts(tx, nil)
	if err != nil || res.Metrics["accuracy"] < 0.95 || len(res.Confusion) != 3 || !strings.Contains(res.JSON, "macro_f1") {
		t.Fatal(res, err)
	}
	path := filepath.Join(t.TempDir(), "intent.aisle")
	save, _ := NewConfig(Options{"quantize": "int8"})
	defer save.Close()
	if err := m.Save(path, save); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if c, err := m2.Classify("track my parcel", 1); err != nil || c.Labels[0] != "shipping" {
		t.Fatal(c, err)
	}
}

func TestTextErrors(t *testing.T) {
	tx, _ := NewTexts()
	defer tx.Close()
	tx.Add("only", "one")
	tx.Add("label", "one")
	if _, err := TrainText(tx, nil); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	ds := gridDataset(t, 10)
	pop := mustTrain(t, ds, Options{"model": "popular"})
	if _, err := pop.Classify("hello", 1); !errors.Is(err, ErrUnsupported) {
		t.Fatal(err)
	}
}
