package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Forecast is a trained or loaded demand forecast (docs/FORECAST.md).  It
// is immutable: its methods may run from any number of goroutines at
// once.  Close waits for calls in progress.
type Forecast struct {
	mu  sync.RWMutex
	ptr *C.aisle_forecast
}

// Period is one forecast period: its start (00:00 UTC; a Monday for
// weekly periods) and the 10%, 50% and 90% quantiles of its demand.
type Period struct {
	Start         time.Time
	P10, P50, P90 float64
}

// Reorder is an inventory decision: order when the inventory position
// falls to ReorderPoint; order OrderQuantity now (order-up-to policy).
type Reorder struct{ ReorderPoint, OrderQuantity float64 }

func newForecast(p *C.aisle_forecast) *Forecast {
	f := &Forecast{ptr: p}
	runtime.SetFinalizer(f, (*Forecast).Close)
	return f
}

// TrainForecast trains a forecast on ds's purchase events (quantities as
// values) with cfg's options (period, horizon, method, ...; nil:
// defaults); cat (may be nil) adds categories and prices.
func TrainForecast(ds *Dataset, cat *Catalog, cfg *Config) (*Forecast, error) {
	var cp *C.aisle_catalog
	if cat != nil {
		cat.mu.RLock()
		defer cat.mu.RUnlock()
		if cat.ptr == nil {
			return nil, errClosed("catalog")
		}
		cp = cat.ptr
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.ptr == nil {
		return nil, errClosed("dataset")
	}
	var out *C.aisle_forecast
	err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_forecast_train(ds.ptr, cp, c, &out) })
	if err != nil {
		return nil, err
	}
	return newForecast(out), nil
}

// LoadForecast loads a file written by Save.
func LoadForecast(path string, cfg *Config) (*Forecast, error) {
	p, err := cstring("path", path)
	if err != nil {
		return nil, err
	}
	defer free(p)
	var out *C.aisle_forecast
	if err := withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_forecast_load(&out, p, c) }); err != nil {
		return nil, err
	}
	return newForecast(out), nil
}

// LoadForecastBytes loads a forecast from the bytes Bytes returned.
func LoadForecastBytes(data []byte, cfg *Config) (*Forecast, error) {
	var ptr unsafe.Pointer
	if len(data) > 0 {
		ptr = C.CBytes(data)
		defer C.free(ptr)
	}
	var out *C.aisle_forecast
	err := withConfig(cfg, func(c *C.aisle_config) C.int {
		return C.aisle_forecast_load_buffer(&out, ptr, C.size_t(len(data)), c)
	})
	if err != nil {
		return nil, err
	}
	return newForecast(out), nil
}

// Close frees the forecast after the calls in progress return.
func (f *Forecast) Close() {
	release(&f.mu, &f.ptr, func(p *C.aisle_forecast) { C.aisle_forecast_free(p) })
	runtime.SetFinalizer(f, nil)
}

func (f *Forecast) read(fn func(p *C.aisle_forecast) C.int) error {
	return shared(&f.mu, &f.ptr, "forecast", checked(fn))
}

// Save writes the forecast atomically (temporary file, fsync, rename).
func (f *Forecast) Save(path string, cfg *Config) error {
	p, err := cstring("path", path)
	if err != nil {
		return err
	}
	defer free(p)
	return shared(&f.mu, &f.ptr, "forecast", func(fp *C.aisle_forecast) error {
		return withConfig(cfg, func(c *C.aisle_config) C.int { return C.aisle_forecast_save(fp, p, c) })
	})
}

// Bytes is the saved image of the forecast.
func (f *Forecast) Bytes() ([]byte, error) {
	var out []byte
	err := f.read(func(p *C.aisle_forecast) C.int {
		var buf unsafe.Pointer
		var n C.size_t
		rc := C.aisle_forecast_save_buffer(p, nil, &buf, &n)
		if rc == 0 {
			out = C.GoBytes(buf, C.int(n))
			C.aisle_free(buf)
		}
		return rc
	})
	return out, err
}

func (f *Forecast) keys(count func(*C.aisle_forecast, *C.size_t) C.int,
	key func(*C.aisle_forecast, C.size_t, **C.char) C.int) ([]string, error) {
	var out []string
	err := f.read(func(p *C.aisle_forecast) C.int {
		var n C.size_t
		if rc := count(p, &n); rc != 0 {
			return rc
		}
		for i := C.size_t(0); i < n; i++ {
			var s *C.char
			if rc := key(p, i, &s); rc != 0 {
				return rc
			}
			out = append(out, C.GoString(s))
		}
		return 0
	})
	return out, err
}

// Items lists the forecast products' keys.
func (f *Forecast) Items() ([]string, error) {
	return f.keys(func(p *C.aisle_forecast, n *C.size_t) C.int { return C.aisle_forecast_item_count(p, n) },
		func(p *C.aisle_forecast, i C.size_t, s **C.char) C.int { return C.aisle_forecast_item_key(p, i, s) })
}

// Categories lists the catalog categories (none without a catalog).
func (f *Forecast) Categories() ([]string, error) {
	return f.keys(func(p *C.aisle_forecast, n *C.size_t) C.int { return C.aisle_forecast_category_count(p, n) },
		func(p *C.aisle_forecast, i C.size_t, s **C.char) C.int { return C.aisle_forecast_category_key(p, i, s) })
}

func (f *Forecast) periods(key string, horizon int, category bool) ([]Period, error) {
	if horizon < 1 {
		return nil, &Error{Code: CodeRange, Message: "aisle: horizon must be >= 1"}
	}
	k, err := cstring("key", key)
	if err != nil {
		return nil, err
	}
	defer free(k)
	start := make([]C.int64_t, horizon)
	q := make([]C.double, 3*horizon)
	err = f.read(func(p *C.aisle_forecast) C.int {
		h := C.size_t(horizon)
		if category {
			return C.aisle_forecast_category(p, k, h, &start[0], &q[0], &q[horizon], &q[2*horizon])
		}
		return C.aisle_forecast_item(p, k, h, &start[0], &q[0], &q[horizon], &q[2*horizon])
	})
	if err != nil {
		return nil, err
	}
	out := make([]Period, horizon)
	for i := range out {
		out[i] = Period{time.Unix(int64(start[i]), 0).UTC(), float64(q[i]), float64(q[horizon+i]),
			float64(q[2*horizon+i])}
	}
	return out, nil
}

// Item forecasts a product's next horizon periods.
func (f *Forecast) Item(key string, horizon int) ([]Period, error) {
	return f.periods(key, horizon, false)
}

// Category forecasts a catalog category's next horizon periods.
func (f *Forecast) Category(name string, horizon int) ([]Period, error) {
	return f.periods(name, horizon, true)
}

// Method is the method forecasting a product ("ets", "tsb", "global", ...).
func (f *Forecast) Method(key string) (string, error) {
	k, err := cstring("key", key)
	if err != nil {
		return "", err
	}
	defer free(k)
	var s string
	err = f.read(func(p *C.aisle_forecast) C.int {
		var out *C.char
		rc := C.aisle_forecast_method(p, k, &out)
		if rc == 0 {
			s = C.GoString(out)
		}
		return rc
	})
	return s, err
}

// Reorder gives the reorder point and order quantity for a product
// (lead time and review period in periods; formula in aisle.h).
func (f *Forecast) Reorder(key string, leadTime, reviewPeriod, serviceLevel, stockOnHand float64) (Reorder, error) {
	k, err := cstring("key", key)
	if err != nil {
		return Reorder{}, err
	}
	defer free(k)
	var rop, qty C.double
	err = f.read(func(p *C.aisle_forecast) C.int {
		return C.aisle_forecast_reorder(p, k, C.double(leadTime), C.double(reviewPeriod), C.double(serviceLevel),
			C.double(stockOnHand), &rop, &qty)
	})
	return Reorder{float64(rop), float64(qty)}, err
}

// Explain gives the parts (base, trend, season, recent, price) of a
// product's forecast for period (1 = the next one).
func (f *Forecast) Explain(key string, period int) (map[string]float64, error) {
	k, err := cstring("key", key)
	if err != nil {
		return nil, err
	}
	defer free(k)
	if period < 1 {
		return nil, &Error{Code: CodeRange, Message: "aisle: period must be >= 1"}
	}
	names := (*[8]*C.char)(C.malloc(C.size_t(8 * unsafe.Sizeof((*C.char)(nil)))))
	defer C.free(unsafe.Pointer(names))
	var values [8]C.double
	var n C.size_t
	err = f.read(func(p *C.aisle_forecast) C.int {
		return C.aisle_forecast_explain(p, k, C.size_t(period), &names[0], &values[0], 8, &n)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, int(n))
	for i := 0; i < int(n); i++ {
		out[C.GoString(names[i])] = float64(values[i])
	}
	return out, nil
}

// Backtest hides the last holdout periods of ds and scores forecasts of
// them from rolling origins; it returns the figures by name (mase, smape,
// pinball_p10, pinball_p90, coverage_80, ...).
func Backtest(ds *Dataset, cat *Catalog, cfg *Config, holdout int) (map[string]float64, error) {
	if holdout < 1 {
		return nil, &Error{Code: CodeRange, Message: "aisle: holdout must be >= 1"}
	}
	var cp *C.aisle_catalog
	if cat != nil {
		cat.mu.RLock()
		defer cat.mu.RUnlock()
		if cat.ptr == nil {
			return nil, errClosed("catalog")
		}
		cp = cat.ptr
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.ptr == nil {
		return nil, errClosed("dataset")
	}
	var rep *C.aisle_forecast_report
	err := withConfig(cfg, func(c *C.aisle_config) C.int {
		return C.aisle_forecast_backtest(ds.ptr, cp, c, C.size_t(holdout), &rep)
	})
	if err != nil {
		return nil, err
	}
	defer C.aisle_forecast_report_free(rep)
	var n C.size_t
	C.aisle_forecast_report_count(rep, &n)
	out := make(map[string]float64, int(n))
	for i := C.size_t(0); i < n; i++ {
		var name *C.char
		var v C.double
		if C.aisle_forecast_report_at(rep, i, &name, &v) == 0 {
			out[C.GoString(name)] = float64(v)
		}
	}
	return out, nil
}
