package aisle

/*
#include <aisle.h>
#include <stdint.h>
#include <stdlib.h>

int aisle_go_progress(void *user, int step, int steps, double loss, double metric, double elapsed);

static int aisle_go_set_progress(aisle_config *cfg, uintptr_t handle) {
    return aisle_config_set_progress(cfg, aisle_go_progress, (void *)handle);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"sort"
	"strconv"
	"sync"
	"unsafe"
)

// Options are option values by name, e.g. Options{"model": "als",
// "factors": 64, "exclude_seen": true}.  Values are passed in text form
// (bools as "true"/"false"), so the library validates them against its
// option table and its errors name the option.
type Options map[string]any

// Config holds options by name (an aisle_config handle).
type Config struct {
	mu       sync.RWMutex
	ptr      *C.aisle_config
	progress ProgressFunc
}

// NewConfig makes a configuration with the given options set (opts may be
// nil: every option at its default).  Options are applied in name order
// and the first bad one fails the call.
func NewConfig(opts Options) (*Config, error) {
	c := &Config{}
	if err := call(func() C.int { return C.aisle_config_new(&c.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(c, (*Config).Close)
	if err := c.SetAll(opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ParseConfig makes a configuration from "key=value key=value" text.
func ParseConfig(text string) (*Config, error) {
	c, err := NewConfig(nil)
	if err != nil {
		return nil, err
	}
	if err := c.Parse(text); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close frees the configuration; later calls do nothing.
func (c *Config) Close() {
	release(&c.mu, &c.ptr, func(p *C.aisle_config) { C.aisle_config_free(p) })
	runtime.SetFinalizer(c, nil)
}

// OptionText is the text form of an option value as Set passes it.
func OptionText(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case int:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case interface{ String() string }:
		return v.String()
	}
	return fmt.Sprint(value)
}

func (c *Config) write(f func(p *C.aisle_config) C.int) error {
	return exclusive(&c.mu, &c.ptr, "config", checked(f))
}

func (c *Config) read(f func(p *C.aisle_config) C.int) error {
	return shared(&c.mu, &c.ptr, "config", checked(f))
}

// Set sets one option from a Go value (see OptionText).
func (c *Config) Set(key string, value any) error {
	k, err := cstring("option name", key)
	if err != nil {
		return err
	}
	defer free(k)
	v, err := cstring("option value", OptionText(value))
	if err != nil {
		return err
	}
	defer free(v)
	return c.write(func(p *C.aisle_config) C.int { return C.aisle_config_set(p, k, v) })
}

// SetAll sets several options, in name order; the first bad one stops it.
func (c *Config) SetAll(opts Options) error {
	for _, k := range sortedKeys(opts) {
		if err := c.Set(k, opts[k]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(opts Options) []string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Parse reads "key=value" pairs; all or nothing.
func (c *Config) Parse(text string) error {
	t, err := cstring("config text", text)
	if err != nil {
		return err
	}
	defer free(t)
	return c.write(func(p *C.aisle_config) C.int { return C.aisle_config_parse(p, t) })
}

// Unset makes an option take its default again.
func (c *Config) Unset(key string) error {
	k, err := cstring("option name", key)
	if err != nil {
		return err
	}
	defer free(k)
	return c.write(func(p *C.aisle_config) C.int { return C.aisle_config_unset(p, k) })
}

// IsSet reports whether the option was set explicitly.
func (c *Config) IsSet(key string) (bool, error) {
	k, err := cstring("option name", key)
	if err != nil {
		return false, err
	}
	defer free(k)
	var out C.int
	err = c.read(func(p *C.aisle_config) C.int { return C.aisle_config_is_set(p, k, &out) })
	return out != 0, err
}

// Get is the option's value (set or default) in text form.
func (c *Config) Get(key string) (string, error) {
	k, err := cstring("option name", key)
	if err != nil {
		return "", err
	}
	defer free(k)
	for size := 64; ; size *= 4 {
		buf := (*C.char)(C.malloc(C.size_t(size)))
		err = c.read(func(p *C.aisle_config) C.int { return C.aisle_config_get_string(p, k, buf, C.size_t(size)) })
		s := C.GoString(buf)
		C.free(unsafe.Pointer(buf))
		if e, ok := err.(*Error); ok && e.Code == CodeRange && size < 1<<24 {
			continue
		}
		return s, err
	}
}

// GetInt is the value of an int or bool option.
func (c *Config) GetInt(key string) (int64, error) {
	k, err := cstring("option name", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.int64_t
	err = c.read(func(p *C.aisle_config) C.int { return C.aisle_config_get_int(p, k, &out) })
	return int64(out), err
}

// GetFloat is the value of a float option.
func (c *Config) GetFloat(key string) (float64, error) {
	k, err := cstring("option name", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.double
	err = c.read(func(p *C.aisle_config) C.int { return C.aisle_config_get_float(p, k, &out) })
	return float64(out), err
}

// String gives every explicitly set option as "key=value" pairs (the text
// Parse reads); "" for a closed config.
func (c *Config) String() string {
	var needed C.size_t
	if err := c.read(func(p *C.aisle_config) C.int { return C.aisle_config_to_string(p, nil, 0, &needed) }); err != nil {
		if e, ok := err.(*Error); !ok || e.Code != CodeRange {
			return ""
		}
	}
	n := needed + 1
	buf := (*C.char)(C.malloc(n))
	defer C.free(unsafe.Pointer(buf))
	if err := c.read(func(p *C.aisle_config) C.int { return C.aisle_config_to_string(p, buf, n, nil) }); err != nil {
		return ""
	}
	return C.GoString(buf)
}

// Copy makes an independent copy (options and progress function).
func (c *Config) Copy() (*Config, error) {
	d := &Config{}
	if err := c.read(func(p *C.aisle_config) C.int { return C.aisle_config_copy(p, &d.ptr) }); err != nil {
		return nil, err
	}
	c.mu.RLock()
	d.progress = c.progress
	c.mu.RUnlock()
	runtime.SetFinalizer(d, (*Config).Close)
	return d, nil
}

// SetProgress installs a progress function for the long calls this config
// is passed to (nil removes it).
func (c *Config) SetProgress(fn ProgressFunc) {
	c.mu.Lock()
	c.progress = fn
	c.mu.Unlock()
}

// withConfig runs f with the C config to pass to a long call.  With a
// progress function set, f gets a private copy of the config carrying a
// per-call callback, so concurrent calls sharing one Config do not share
// callback state.  c may be nil (defaults).
func withConfig(c *Config, f func(p *C.aisle_config) C.int) error {
	if c == nil {
		return call(func() C.int { return f(nil) })
	}
	var cp *C.aisle_config
	var progress ProgressFunc
	err := shared(&c.mu, &c.ptr, "config", func(p *C.aisle_config) error {
		progress = c.progress
		if progress == nil { // the call runs holding the config
			return call(func() C.int { return f(p) })
		}
		// a private copy runs the call: the progress function may close c
		return call(func() C.int { return C.aisle_config_copy(p, &cp) })
	})
	if err != nil || progress == nil {
		return err
	}
	defer C.aisle_config_free(cp)
	pc := &progressCall{fn: progress}
	h := cgo.NewHandle(pc)
	defer h.Delete()
	if err := call(func() C.int { return C.aisle_go_set_progress(cp, C.uintptr_t(h)) }); err != nil {
		return err
	}
	err = call(func() C.int { return f(cp) })
	if pc.panicked {
		panic(pc.pval)
	}
	if e, ok := err.(*Error); ok && e.Code == CodeCancelled && pc.err != nil {
		e.Err = pc.err
	}
	return err
}

// OptionInfo is one entry of the library's option table.
type OptionInfo struct {
	Name, Type, Default, Range, Scope, Help string
}

// OptionTable lists every option the library knows.  A name may appear
// more than once when a model kind narrows a generic option.
func OptionTable() []OptionInfo {
	n := int(C.aisle_option_count())
	out := make([]OptionInfo, 0, n)
	types := map[C.int]string{C.AISLE_OPTION_INT: "int", C.AISLE_OPTION_FLOAT: "float",
		C.AISLE_OPTION_STRING: "string", C.AISLE_OPTION_BOOL: "bool"}
	for i := 0; i < n; i++ {
		var name, def, rng, scope, help *C.char
		var typ C.int
		if C.aisle_option_info(C.int(i), &name, &typ, &def, &rng, &scope, &help) != 0 {
			continue
		}
		out = append(out, OptionInfo{C.GoString(name), types[typ], C.GoString(def), C.GoString(rng),
			C.GoString(scope), C.GoString(help)})
	}
	return out
}
