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

// Texts is a list of (text, label) pairs for training and evaluating
// intent models (docs/TEXT.md).  Safe for use from several goroutines.
type Texts struct {
	mu  sync.RWMutex
	ptr *C.aisle_texts
}

// NewTexts makes an empty list.
func NewTexts() (*Texts, error) {
	t := &Texts{}
	if err := call(func() C.int { return C.aisle_texts_new(&t.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(t, (*Texts).Close)
	return t, nil
}

func wrapTexts(p *C.aisle_texts) *Texts {
	t := &Texts{ptr: p}
	runtime.SetFinalizer(t, (*Texts).Close)
	return t
}

// Close frees the list; later calls do nothing.
func (t *Texts) Close() {
	release(&t.mu, &t.ptr, func(p *C.aisle_texts) { C.aisle_texts_free(p) })
	runtime.SetFinalizer(t, nil)
}

func (t *Texts) withWrite(f func(p *C.aisle_texts) error) error {
	return exclusive(&t.mu, &t.ptr, "texts", f)
}

func (t *Texts) withRead(f func(p *C.aisle_texts) error) error {
	return shared(&t.mu, &t.ptr, "texts", f)
}

// bytesArg passes a Go string's bytes with their length (NUL bytes and
// invalid UTF-8 included); the pointer is valid during the call.
func bytesArg(s string) (*C.char, C.size_t, func()) {
	if len(s) == 0 {
		return nil, 0, func() {}
	}
	p := C.CBytes([]byte(s))
	return (*C.char)(p), C.size_t(len(s)), func() { C.free(p) }
}

// Add appends a text with its label (text: valid UTF-8 without NUL bytes).
func (t *Texts) Add(text, label string) error {
	l, err := cstring("label", label)
	if err != nil {
		return err
	}
	defer free(l)
	p, n, release := bytesArg(text)
	defer release()
	return t.withWrite(func(h *C.aisle_texts) error {
		return call(func() C.int { return C.aisle_texts_add(h, p, n, l) })
	})
}

// Load appends the rows of a delimited file (plain or gzip); options in
// cfg: columns ("text=utterance,label=intent"), delimiter, header, lenient,
// encoding.  All or nothing.
func (t *Texts) Load(path string, cfg *Config) error {
	p, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(p)
	return t.withWrite(func(h *C.aisle_texts) error {
		return withConfig(cfg, func(cf *C.aisle_config) C.int { return C.aisle_texts_load(h, p, cf) })
	})
}

// LoadBytes is Load from memory; name is used in messages.
func (t *Texts) LoadBytes(data []byte, name string, cfg *Config) error {
	n, err := cstring("name", name)
	if err != nil {
		return err
	}
	defer free(n)
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = C.CBytes(data)
		defer C.free(ptr)
	}
	return t.withWrite(func(h *C.aisle_texts) error {
		return withConfig(cfg, func(cf *C.aisle_config) C.int {
			return C.aisle_texts_load_buffer(h, ptr, C.size_t(len(data)), n, cf)
		})
	})
}

// Len is the number of texts (0 when closed).
func (t *Texts) Len() int {
	var n C.size_t
	_ = t.withRead(func(h *C.aisle_texts) error { return call(func() C.int { return C.aisle_texts_count(h, &n) }) })
	return int(n)
}

// LabelCount is the number of distinct labels.
func (t *Texts) LabelCount() int {
	var n C.size_t
	_ = t.withRead(func(h *C.aisle_texts) error {
		return call(func() C.int { return C.aisle_texts_label_count(h, &n) })
	})
	return int(n)
}

// At returns text i and its label.
func (t *Texts) At(i int) (text, label string, err error) {
	err = t.withRead(func(h *C.aisle_texts) error {
		var tx, lb *C.char
		return call(func() C.int {
			rc := C.aisle_texts_at(h, C.size_t(i), &tx, &lb)
			if rc == 0 {
				text, label = C.GoString(tx), C.GoString(lb)
			}
			return rc
		})
	})
	return
}

// Split is the seeded stratified split into train and test lists.
func (t *Texts) Split(testFraction float64, seed uint64) (train, test *Texts, err error) {
	err = t.withRead(func(h *C.aisle_texts) error {
		var a, b *C.aisle_texts
		if err := call(func() C.int { return C.aisle_texts_split(h, C.double(testFraction), C.uint64_t(seed), &a, &b) }); err != nil {
			return err
		}
		train, test = wrapTexts(a), wrapTexts(b)
		return nil
	})
	return
}

// TrainText trains an intent model on t with the options in cfg
// (architecture, dim, epochs, calibration_fraction, unknown_threshold,
// teacher, threads, seed, ...; nil: defaults).
func TrainText(t *Texts, cfg *Config) (*Model, error) {
	var out *C.aisle_model
	err := t.withRead(func(h *C.aisle_texts) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_text_train(h, c, &out) })
	})
	if err != nil {
		return nil, err
	}
	return newModel(out), nil
}

// TrainTextWith is TrainText with options given as a map.
func TrainTextWith(t *Texts, opts Options) (*Model, error) {
	cfg, err := NewConfig(opts)
	if err != nil {
		return nil, err
	}
	defer cfg.Close()
	return TrainText(t, cfg)
}

// Labels lists an intent model's labels in index order.
func (m *Model) Labels() ([]string, error) {
	var out []string
	err := m.read(func(p *C.aisle_model) C.int {
		var n C.size_t
		if rc := C.aisle_model_label_count(p, &n); rc != 0 {
			return rc
		}
		for i := C.size_t(0); i < n; i++ {
			var s *C.char
			if rc := C.aisle_model_label(p, i, &s); rc != 0 {
				return rc
			}
			out = append(out, C.GoString(s))
		}
		return 0
	})
	return out, err
}

// Classification is the answer for one text: the top labels (best first)
// with calibrated probabilities, and whether the top probability is below
// the model's unknown_threshold.
type Classification struct {
	Labels        []string
	Probabilities []float32
	Unknown       bool
}

// Classify gives the k most probable labels of text (any bytes).
func (m *Model) Classify(text string, k int) (Classification, error) {
	var res Classification
	if k < 1 {
		return res, &Error{Code: CodeInvalid, Message: "aisle: k must be >= 1"}
	}
	p, n, release := bytesArg(text)
	defer release()
	labels := (**C.char)(C.malloc(C.size_t(k) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	probs := (*C.float)(C.malloc(C.size_t(k) * C.size_t(unsafe.Sizeof(C.float(0)))))
	defer C.free(unsafe.Pointer(labels))
	defer C.free(unsafe.Pointer(probs))
	err := m.read(func(h *C.aisle_model) C.int {
		var got C.size_t
		var unknown C.int
		rc := C.aisle_text_classify(h, p, n, C.size_t(k), labels, probs, &got, &unknown)
		if rc == 0 {
			ls := unsafe.Slice(labels, k)
			ps := unsafe.Slice(probs, k)
			for i := 0; i < int(got); i++ {
				res.Labels = append(res.Labels, C.GoString(ls[i]))
				res.Probabilities = append(res.Probabilities, float32(ps[i]))
			}
			res.Unknown = unknown != 0
		}
		return rc
	})
	return res, err
}

// TokenContribution is one token of an explanation.
type TokenContribution struct {
	Token        string
	Contribution float32
}

// ExplainText gives each token's contribution towards label ("" : the top
// label) and the label explained.
func (m *Model) ExplainText(text, label string) (string, []TokenContribution, error) {
	var lab *C.char
	if label != "" {
		var err error
		if lab, err = cstring("label", label); err != nil {
			return "", nil, err
		}
		defer free(lab)
	}
	p, n, release := bytesArg(text)
	defer release()
	var out []TokenContribution
	var explained string
	err := m.read(func(h *C.aisle_model) C.int {
		var e *C.aisle_text_explanation
		if rc := C.aisle_text_explain(h, p, n, lab, &e); rc != 0 {
			return rc
		}
		defer C.aisle_text_explanation_free(e)
		var cnt C.size_t
		C.aisle_text_explanation_count(e, &cnt)
		for i := C.size_t(0); i < cnt; i++ {
			var tok *C.char
			var c C.float
			if rc := C.aisle_text_explanation_at(e, i, &tok, &c); rc != 0 {
				return rc
			}
			out = append(out, TokenContribution{C.GoString(tok), float32(c)})
		}
		var l *C.char
		C.aisle_text_explanation_label(e, &l)
		explained = C.GoString(l)
		return 0
	})
	return explained, out, err
}

// TextEval is the quality of an intent model on labelled texts.
type TextEval struct {
	Metrics   map[string]float64 // accuracy, macro_f1, ece, unknown_rate, texts, labels, unseen_labels
	Labels    []string
	Confusion [][]int // [true][predicted]
	JSON      string
}

// EvaluateTexts classifies every text of test (option threads in cfg).
func (m *Model) EvaluateTexts(test *Texts, cfg *Config) (*TextEval, error) {
	res := &TextEval{Metrics: map[string]float64{}}
	err := test.withRead(func(th *C.aisle_texts) error {
		return m.withRead(func(mh *C.aisle_model) error {
			var e *C.aisle_text_eval
			if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_text_evaluate(mh, th, c, &e) }); err != nil {
				return err
			}
			defer C.aisle_text_eval_free(e)
			for _, name := range []string{"accuracy", "macro_f1", "ece", "unknown_rate", "texts", "labels", "unseen_labels"} {
				cn := C.CString(name)
				var v C.double
				C.aisle_text_eval_metric(e, cn, &v)
				C.free(unsafe.Pointer(cn))
				res.Metrics[name] = float64(v)
			}
			var L C.size_t
			C.aisle_text_eval_label_count(e, &L)
			for i := C.size_t(0); i < L; i++ {
				var s *C.char
				C.aisle_text_eval_label(e, i, &s)
				res.Labels = append(res.Labels, C.GoString(s))
				row := make([]int, int(L))
				for j := C.size_t(0); j < L; j++ {
					var c C.size_t
					C.aisle_text_eval_confusion(e, i, j, &c)
					row[j] = int(c)
				}
				res.Confusion = append(res.Confusion, row)
			}
			var need C.size_t
			C.aisle_text_eval_to_json(e, nil, 0, &need)
			buf := (*C.char)(C.malloc(need + 1))
			defer C.free(unsafe.Pointer(buf))
			if err := call(func() C.int { return C.aisle_text_eval_to_json(e, buf, need+1, nil) }); err != nil {
				return err
			}
			res.JSON = C.GoString(buf)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
