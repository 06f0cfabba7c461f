package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Load reads a model file written by Save (any release with the same
// format major version).  cfg may be nil; option max_model_bytes bounds
// what is allocated.  Corrupt or truncated files give ErrFormat naming the
// field, newer formats ErrVersion, a missing file ErrNotFound or ErrIO.
func Load(path string, cfg *Config) (*Model, error) {
	p, err := cstring("path", path)
	if err != nil {
		return nil, err
	}
	defer free(p)
	var out *C.aisle_model
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_model_load(&out, p, c) }); err != nil {
		return nil, err
	}
	return newModel(out), nil
}

// LoadBytes reads a model from a file image in memory.  The slice is
// passed to C without copying and not kept after the call.
func LoadBytes(data []byte, cfg *Config) (*Model, error) {
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	var out *C.aisle_model
	err := withConfig(cfg, func(c *C.aisle_config) C.int {
		return C.aisle_model_load_buffer(&out, ptr, C.size_t(len(data)), c)
	})
	if err != nil {
		return nil, err
	}
	return newModel(out), nil
}

// Save writes the model to path atomically (temporary file, fsync,
// rename).  Options in cfg (may be nil): compression (0..9), quantize
// (none|fp16|int8).  Safe alongside read calls.
func (m *Model) Save(path string, cfg *Config) error {
	p, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(p)
	return m.withRead(func(mp *C.aisle_model) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_model_save(mp, p, c) })
	})
}

// Bytes gives the model file image (same options as Save).
func (m *Model) Bytes(cfg *Config) ([]byte, error) {
	var out []byte
	err := m.withRead(func(mp *C.aisle_model) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int {
			var buf unsafe.Pointer
			var n C.size_t
			rc := C.aisle_model_save_buffer(mp, c, &buf, &n)
			if rc == 0 {
				out = C.GoBytes(buf, C.int(n))
				C.aisle_free(buf)
			}
			return rc
		})
	})
	return out, err
}

// EvalResult is the outcome of Evaluate: metrics ("ndcg@10", "recall@10",
// ...) and counts ("users", "skipped_users", ...), and the library's JSON.
type EvalResult struct {
	Metrics map[string]float64
	Counts  map[string]float64
	JSON    string
}

// Evaluate measures the model on a held-out test dataset.  Options in cfg
// (may be nil): k, protocol (full|sampled), negatives, threads, seed; cfg's
// progress function may cancel.
func (m *Model) Evaluate(test *Dataset, cfg *Config) (*EvalResult, error) {
	var res *EvalResult
	err := m.withRead(func(mp *C.aisle_model) error {
		return test.withLock(func(tp *C.aisle_dataset) error {
			var r *C.aisle_eval_result
			if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_evaluate(mp, tp, c, &r) }); err != nil {
				return err
			}
			defer C.aisle_eval_result_free(r)
			var err error
			res, err = convertEval(r)
			return err
		})
	})
	return res, err
}

func convertEval(r *C.aisle_eval_result) (*EvalResult, error) {
	res := &EvalResult{Metrics: map[string]float64{}, Counts: map[string]float64{}}
	return res, call(func() C.int {
		var n C.size_t
		if rc := C.aisle_eval_result_count(r, &n); rc != 0 {
			return rc
		}
		for i := C.size_t(0); i < n; i++ {
			var name *C.char
			var v C.double
			var isCount C.int
			if rc := C.aisle_eval_result_at(r, i, &name, &v, &isCount); rc != 0 {
				return rc
			}
			if isCount != 0 {
				res.Counts[C.GoString(name)] = float64(v)
			} else {
				res.Metrics[C.GoString(name)] = float64(v)
			}
		}
		var needed C.size_t
		if rc := C.aisle_eval_result_to_json(r, nil, 0, &needed); rc != 0 && rc != C.AISLE_ERANGE {
			return rc
		}
		buf := (*C.char)(C.malloc(needed + 1))
		defer C.free(unsafe.Pointer(buf))
		rc := C.aisle_eval_result_to_json(r, buf, needed+1, nil)
		if rc == 0 {
			res.JSON = C.GoString(buf)
		}
		return rc
	})
}

// DemoDataset generates the built-in synthetic shop's behaviour events.
// Options in cfg (may be nil): demo_users, demo_items, demo_days, seed; the
// same options give the same store everywhere.  User keys are "C10000"..,
// item keys "P00001"...
func DemoDataset(cfg *Config) (*Dataset, error) {
	d := &Dataset{}
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_demo_generate(c, &d.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(d, (*Dataset).Close)
	return d, nil
}

// DemoCatalog gives the demo store's products (same options as
// DemoDataset): title, description, category path, brand and price.
func DemoCatalog(cfg *Config) (*Catalog, error) {
	c := &Catalog{}
	if err := withConfig(cfg, func(cf *C.aisle_config) C.int { return C.aisle_demo_catalog(cf, &c.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(c, (*Catalog).Close)
	return c, nil
}

// DemoWrite writes the demo store as events.csv, catalog.csv and
// messages.csv into dir (created if missing).
func DemoWrite(dir string, cfg *Config) error {
	p, err := cstring("directory", dir)
	if err != nil {
		return err
	}
	defer free(p)
	return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_demo_write(c, p) })
}

// Load adds the events of a delimited text file (CSV/TSV/"::", plain or
// gzip).  Options in cfg (may be nil): columns, header, delimiter, event,
// time_format, negative, lenient, ... (docs/DATA.md).  Strict by default:
// the first bad row fails with ErrFormat ("file:line:column: ...") and the
// dataset is unchanged.
func (d *Dataset) Load(path string, cfg *Config) error {
	p, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(p)
	return d.withLock(func(dp *C.aisle_dataset) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_dataset_load(dp, p, c) })
	})
}

// LoadBytes is Load from memory; name stands for the file name in messages
// and picks the default delimiter.  data is passed without copying.
func (d *Dataset) LoadBytes(data []byte, name string, cfg *Config) error {
	n, err := cstring("name", name)
	if err != nil {
		return err
	}
	defer free(n)
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	return d.withLock(func(dp *C.aisle_dataset) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int {
			return C.aisle_dataset_load_buffer(dp, ptr, C.size_t(len(data)), n, c)
		})
	})
}

// LoadReport counts the rows of the last successful load and keeps the
// messages about (at most 10) skipped rows.
type LoadReport struct {
	RowsRead, RowsLoaded, RowsSkipped, RowsFiltered int
	Messages                                        []string
}

// LoadReport describes the last successful load into d.
func (d *Dataset) LoadReport() (LoadReport, error) {
	var rep LoadReport
	err := d.do(func(p *C.aisle_dataset) C.int {
		var r, l, s, f C.size_t
		rc := C.aisle_dataset_load_report(p, &r, &l, &s, &f)
		if rc != 0 {
			return rc
		}
		rep = LoadReport{RowsRead: int(r), RowsLoaded: int(l), RowsSkipped: int(s), RowsFiltered: int(f)}
		for i := C.size_t(0); ; i++ {
			var msg *C.char
			if C.aisle_dataset_load_message(p, i, &msg) != 0 {
				break
			}
			rep.Messages = append(rep.Messages, C.GoString(msg))
		}
		return 0
	})
	return rep, err
}

// Split divides the events into new train and test datasets by the
// options in cfg: split (random|time|last|kfold), test_fraction,
// last_n, folds, fold, seed.
func (d *Dataset) Split(cfg *Config) (train, test *Dataset, err error) {
	var tr, te *C.aisle_dataset
	err = d.withLock(func(dp *C.aisle_dataset) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_dataset_split(dp, c, &tr, &te) })
	})
	if err != nil {
		return nil, nil, err
	}
	return wrapDataset(tr), wrapDataset(te), nil
}

// SplitSpec is Split from a compact spec: "random:0.2", "time:0.1",
// "last:1", "kfold:5:0".
func (d *Dataset) SplitSpec(spec string, seed uint64) (train, test *Dataset, err error) {
	s, err := cstring("split spec", spec)
	if err != nil {
		return nil, nil, err
	}
	defer free(s)
	var tr, te *C.aisle_dataset
	err = d.do(func(dp *C.aisle_dataset) C.int {
		return C.aisle_dataset_split_spec(dp, s, C.uint64_t(seed), &tr, &te)
	})
	if err != nil {
		return nil, nil, err
	}
	return wrapDataset(tr), wrapDataset(te), nil
}

func wrapDataset(p *C.aisle_dataset) *Dataset {
	d := &Dataset{ptr: p}
	runtime.SetFinalizer(d, (*Dataset).Close)
	return d
}
