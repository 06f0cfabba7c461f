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

// Embedding poolings of Bert.Embed (AISLE_BERT_POOL_*).
const (
	PoolCLS    = 0 // final hidden state of [CLS]
	PoolMean   = 1 // mean of the final hidden states
	PoolPooler = 2 // BERT's tanh pooler output
)

// Bert is a pretrained BERT encoder with its optional classification or
// regression head (docs/BERT.md).  Embed, Classify and Tokenize may run
// from many goroutines at once; FinetuneHead takes the handle exclusively.
type Bert struct {
	mu  sync.RWMutex
	ptr *C.aisle_bert
}

// BertInfo describes a model: embedding width, head labels (0 without a
// head), whether the head is a regression, and the longest input.
type BertInfo struct {
	Dim, NumLabels, MaxLength int
	Regression                bool
}

func newBert(p *C.aisle_bert) *Bert {
	b := &Bert{ptr: p}
	runtime.SetFinalizer(b, (*Bert).Close)
	return b
}

// ImportBert imports a checkpoint directory (config.json, vocab.txt,
// model.safetensors).  cfg may be nil.
func ImportBert(dir string, cfg *Config) (*Bert, error) {
	d, err := cstring("path", dir)
	if err != nil {
		return nil, err
	}
	defer free(d)
	var p *C.aisle_bert
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_bert_import(&p, d, c) }); err != nil {
		return nil, err
	}
	return newBert(p), nil
}

// LoadBert loads a model file written by Save.
func LoadBert(path string, cfg *Config) (*Bert, error) {
	cp, err := cstring("path", path)
	if err != nil {
		return nil, err
	}
	defer free(cp)
	var p *C.aisle_bert
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_bert_load(&p, cp, c) }); err != nil {
		return nil, err
	}
	return newBert(p), nil
}

// Close frees the model; calling it again does nothing.
func (b *Bert) Close() {
	release(&b.mu, &b.ptr, func(p *C.aisle_bert) { C.aisle_bert_free(p) })
}

func (b *Bert) read(f func(p *C.aisle_bert) error) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ptr == nil {
		return errClosed("bert model")
	}
	return f(b.ptr)
}

// Save writes the model atomically (cfg's quantize: none, fp16, int8).
func (b *Bert) Save(path string, cfg *Config) error {
	cp, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(cp)
	return b.read(func(p *C.aisle_bert) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_bert_save(p, cp, c) })
	})
}

// Info describes the model.
func (b *Bert) Info() (BertInfo, error) {
	var info BertInfo
	err := b.read(func(p *C.aisle_bert) error {
		var dim, labels, ml C.size_t
		var reg C.int
		if err := call(func() C.int { return C.aisle_bert_info(p, &dim, &labels, &reg, &ml) }); err != nil {
			return err
		}
		info = BertInfo{Dim: int(dim), NumLabels: int(labels), MaxLength: int(ml), Regression: reg != 0}
		return nil
	})
	return info, err
}

// cTextArray is a C array of C strings (nil for a nil slice).
type cTextArray struct {
	arr  **C.char
	strs []*C.char
}

func newCTextArray(texts []string) (*cTextArray, error) {
	cs := &cTextArray{}
	if texts == nil {
		return cs, nil
	}
	n := len(texts)
	if n == 0 {
		n = 1
	}
	cs.arr = (**C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	view := unsafe.Slice(cs.arr, n)
	for i, t := range texts {
		s, err := cstring("text", t)
		if err != nil {
			cs.free()
			return nil, err
		}
		cs.strs = append(cs.strs, s)
		view[i] = s
	}
	return cs, nil
}

func (cs *cTextArray) free() {
	for _, s := range cs.strs {
		free(s)
	}
	if cs.arr != nil {
		C.free(unsafe.Pointer(cs.arr))
	}
}

func rows(out []float32, n, width int) [][]float32 {
	r := make([][]float32, n)
	for i := range r {
		r[i] = out[i*width : (i+1)*width : (i+1)*width]
	}
	return r
}

// Embed returns one vector per text with the given pooling (Pool*).
func (b *Bert) Embed(texts []string, pooling int, cfg *Config) ([][]float32, error) {
	info, err := b.Info()
	if err != nil {
		return nil, err
	}
	cs, err := newCTextArray(texts)
	if err != nil {
		return nil, err
	}
	defer cs.free()
	out := make([]float32, len(texts)*info.Dim+1)
	err = b.read(func(p *C.aisle_bert) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int {
			return C.aisle_bert_embed(p, cs.arr, C.size_t(len(texts)), C.int(pooling), c, (*C.float)(&out[0]))
		})
	})
	if err != nil {
		return nil, err
	}
	return rows(out, len(texts), info.Dim), nil
}

// Classify runs the head on texts, or on pairs when textsB is not nil:
// probabilities per label, or the regression value (rows of one).
func (b *Bert) Classify(textsA, textsB []string, cfg *Config) ([][]float32, error) {
	if textsB != nil && len(textsB) != len(textsA) {
		return nil, &Error{Code: CodeInvalid, Message: "aisle: textsA and textsB differ in length"}
	}
	info, err := b.Info()
	if err != nil {
		return nil, err
	}
	ca, err := newCTextArray(textsA)
	if err != nil {
		return nil, err
	}
	defer ca.free()
	cb, err := newCTextArray(textsB)
	if err != nil {
		return nil, err
	}
	defer cb.free()
	out := make([]float32, len(textsA)*info.NumLabels+1)
	err = b.read(func(p *C.aisle_bert) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int {
			return C.aisle_bert_classify(p, ca.arr, cb.arr, C.size_t(len(textsA)), c, (*C.float)(&out[0]))
		})
	})
	if err != nil {
		return nil, err
	}
	return rows(out, len(textsA), info.NumLabels), nil
}

// FinetuneHead trains the head on labelled texts or pairs (textsB may be
// nil): class indices, or targets with numLabels 1; numLabels 0 keeps the
// existing head.  Returns the last epoch's mean loss.
func (b *Bert) FinetuneHead(textsA, textsB []string, labels []float32, numLabels int, cfg *Config) (float64, error) {
	if len(labels) != len(textsA) || (textsB != nil && len(textsB) != len(textsA)) {
		return 0, &Error{Code: CodeInvalid, Message: "aisle: texts and labels differ in length"}
	}
	ca, err := newCTextArray(textsA)
	if err != nil {
		return 0, err
	}
	defer ca.free()
	cb, err := newCTextArray(textsB)
	if err != nil {
		return 0, err
	}
	defer cb.free()
	lab := append([]float32(nil), labels...)
	lab = append(lab, 0)
	var loss C.double
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return 0, errClosed("bert model")
	}
	err = withConfig(cfg, func(c *C.aisle_config) C.int {
		return C.aisle_bert_finetune_head(b.ptr, ca.arr, cb.arr, (*C.float)(&lab[0]), C.size_t(len(textsA)),
			C.size_t(numLabels), c, &loss)
	})
	return float64(loss), err
}

// SetLabels names the classification head's classes (names[i] for class
// i; nil removes the names).  They are saved with the model and learned
// by a student distilled from it (the text option teacher).
func (b *Bert) SetLabels(names []string) error {
	cn, err := newCTextArray(names)
	if err != nil {
		return err
	}
	defer cn.free()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return errClosed("bert model")
	}
	return call(func() C.int { return C.aisle_bert_set_labels(b.ptr, cn.arr, C.size_t(len(names))) })
}
