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

// Model is a trained or loaded model.  It is immutable once built (except
// through the documented update calls): its read-only methods may run from
// any number of goroutines at once.  Close waits for calls in progress.
type Model struct {
	mu  sync.RWMutex
	ptr *C.aisle_model
}

// ModelKind names a model kind compiled into the library.
type ModelKind struct{ Name, Summary string }

// ModelKinds lists the model kinds compiled into the library.
func ModelKinds() []ModelKind {
	n := int(C.aisle_model_kind_count())
	out := make([]ModelKind, 0, n)
	for i := 0; i < n; i++ {
		var name, summary *C.char
		if C.aisle_model_kind_info(C.int(i), &name, &summary) == 0 {
			out = append(out, ModelKind{C.GoString(name), C.GoString(summary)})
		}
	}
	return out
}

func newModel(p *C.aisle_model) *Model {
	m := &Model{ptr: p}
	runtime.SetFinalizer(m, (*Model).Close)
	return m
}

// Train trains a model of the kind named by option "model" (default "als")
// on ds with the options in cfg (nil: defaults).  cfg's progress function,
// if any, is called after each epoch and may cancel.  The model keeps its
// own copy of what it needs: ds may be closed afterwards.
func Train(ds *Dataset, cfg *Config) (*Model, error) { return train(ds, nil, nil, cfg) }

func train(ds *Dataset, cat, users *C.aisle_catalog, cfg *Config) (*Model, error) {
	var out *C.aisle_model
	// training reads (and lazily indexes) the dataset: held alone
	err := exclusive(&ds.mu, &ds.ptr, "dataset", func(p *C.aisle_dataset) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int {
			return C.aisle_model_train_with_features(p, cat, users, c, &out)
		})
	})
	if err != nil {
		return nil, err
	}
	return newModel(out), nil
}

// TrainWith is Train with options given as a map, e.g.
// TrainWith(ds, aisle.Options{"model": "als", "factors": 32}).
func TrainWith(ds *Dataset, opts Options) (*Model, error) {
	cfg, err := NewConfig(opts)
	if err != nil {
		return nil, err
	}
	defer cfg.Close()
	return Train(ds, cfg)
}

// Close frees the model after the calls in progress return (at once when
// there are none; it never waits, so a filter or progress function may
// call it); later calls fail with ErrState, later Close calls do nothing.
func (m *Model) Close() {
	release(&m.mu, &m.ptr, func(p *C.aisle_model) { C.aisle_model_free(p) })
	runtime.SetFinalizer(m, nil)
}

// read runs a read-only call; many may run at once.
func (m *Model) read(f func(p *C.aisle_model) C.int) error { return m.withRead(checked(f)) }

// withRead gives f the C model, held for reading (not closed meanwhile).
func (m *Model) withRead(f func(p *C.aisle_model) error) error {
	return shared(&m.mu, &m.ptr, "model", f)
}

// write runs a call that changes the model, alone.
func (m *Model) write(f func(p *C.aisle_model) C.int) error {
	return exclusive(&m.mu, &m.ptr, "model", checked(f))
}

// Kind is the model's kind name ("als"); "" for a closed model.
func (m *Model) Kind() string {
	var s string
	_ = m.read(func(p *C.aisle_model) C.int {
		var out *C.char
		rc := C.aisle_model_kind(p, &out)
		if rc == 0 {
			s = C.GoString(out)
		}
		return rc
	})
	return s
}

// Describe gives "key: value" lines: kind, version, sizes, options, metrics.
func (m *Model) Describe() (string, error) {
	var s string
	err := m.read(func(p *C.aisle_model) C.int {
		var needed C.size_t
		rc := C.aisle_model_describe(p, nil, 0, &needed)
		if rc != 0 && rc != C.AISLE_ERANGE {
			return rc
		}
		buf := (*C.char)(C.malloc(needed + 1))
		defer C.free(unsafe.Pointer(buf))
		rc = C.aisle_model_describe(p, buf, needed+1, nil)
		if rc == 0 {
			s = C.GoString(buf)
		}
		return rc
	})
	return s, err
}

func (m *Model) count(f func(*C.aisle_model, *C.size_t) C.int) int {
	var out C.size_t
	if m.read(func(p *C.aisle_model) C.int { return f(p, &out) }) != nil {
		return 0
	}
	return int(out)
}

// NumUsers is the number of users the model knows.
func (m *Model) NumUsers() int {
	return m.count(func(p *C.aisle_model, o *C.size_t) C.int { return C.aisle_model_user_count(p, o) })
}

// NumItems is the number of items the model knows.
func (m *Model) NumItems() int {
	return m.count(func(p *C.aisle_model, o *C.size_t) C.int { return C.aisle_model_item_count(p, o) })
}

func (m *Model) index(key, what string, f func(*C.aisle_model, *C.char, *C.size_t) C.int) (int, error) {
	k, err := cstring(what+" key", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.size_t
	err = m.read(func(p *C.aisle_model) C.int { return f(p, k, &out) })
	return int(out), err
}

// UserIndex is the dense index of a user key (ErrNotFound if unknown).
func (m *Model) UserIndex(key string) (int, error) {
	return m.index(key, "user", func(p *C.aisle_model, k *C.char, o *C.size_t) C.int {
		return C.aisle_model_user_index(p, k, o)
	})
}

// ItemIndex is the dense index of an item key (ErrNotFound if unknown).
func (m *Model) ItemIndex(key string) (int, error) {
	return m.index(key, "item", func(p *C.aisle_model, k *C.char, o *C.size_t) C.int {
		return C.aisle_model_item_index(p, k, o)
	})
}

func (m *Model) key(index int, what string, f func(*C.aisle_model, C.size_t, **C.char) C.int) (string, error) {
	if index < 0 {
		return "", &Error{Code: CodeRange, Message: "aisle: negative " + what + " index"}
	}
	var s string
	err := m.read(func(p *C.aisle_model) C.int {
		var out *C.char
		rc := f(p, C.size_t(index), &out)
		if rc == 0 {
			s = C.GoString(out)
		}
		return rc
	})
	return s, err
}

// UserKey is the key of a dense user index (ErrRange if out of range).
func (m *Model) UserKey(index int) (string, error) {
	return m.key(index, "user", func(p *C.aisle_model, i C.size_t, o **C.char) C.int {
		return C.aisle_model_user_key(p, i, o)
	})
}

// ItemKey is the key of a dense item index (ErrRange if out of range).
func (m *Model) ItemKey(index int) (string, error) {
	return m.key(index, "item", func(p *C.aisle_model, i C.size_t, o **C.char) C.int {
		return C.aisle_model_item_key(p, i, o)
	})
}

// SetMetric stores a metric with the model (runs alone, not alongside reads).
func (m *Model) SetMetric(name string, value float64) error {
	n, err := cstring("metric name", name)
	if err != nil {
		return err
	}
	defer free(n)
	return m.write(func(p *C.aisle_model) C.int { return C.aisle_model_set_metric(p, n, C.double(value)) })
}

// Metric is a stored metric (ErrNotFound if absent).
func (m *Model) Metric(name string) (float64, error) {
	n, err := cstring("metric name", name)
	if err != nil {
		return 0, err
	}
	defer free(n)
	var out C.double
	err = m.read(func(p *C.aisle_model) C.int { return C.aisle_model_get_metric(p, n, &out) })
	return float64(out), err
}
