package aisle

/*
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"sync"
)

// Dataset holds behaviour events (view, cart, purchase, rating or custom
// names) of users on items, keyed by the shop's own ids.  Keys map to dense
// indices 0..n-1 in order of first appearance.  Safe for use from several
// goroutines (calls are serialised).
type Dataset struct {
	mu  sync.Mutex
	ptr *C.aisle_dataset
}

// Event is one behaviour event for AddEvents.  Type "" means "view";
// Value is the quantity or rating (use 1 for a plain event); Time is Unix
// seconds (0 if unknown).
type Event struct {
	User, Item, Type string
	Value            float64
	Time             int64
}

// NewDataset makes an empty dataset.
func NewDataset() (*Dataset, error) {
	d := &Dataset{}
	if err := call(func() C.int { return C.aisle_dataset_new(&d.ptr) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(d, (*Dataset).Close)
	return d, nil
}

// Close frees the dataset; later calls do nothing.  Models trained on it
// keep working: they carry their own copies of what they need.
func (d *Dataset) Close() {
	release(&d.mu, &d.ptr, func(p *C.aisle_dataset) { C.aisle_dataset_free(p) })
	runtime.SetFinalizer(d, nil)
}

func (d *Dataset) do(f func(p *C.aisle_dataset) C.int) error {
	return exclusive(&d.mu, &d.ptr, "dataset", checked(f))
}

// withLock gives f the C dataset with the dataset's lock held.
func (d *Dataset) withLock(f func(p *C.aisle_dataset) error) error {
	return exclusive(&d.mu, &d.ptr, "dataset", f)
}

// AddEvent adds one event; on failure the dataset is unchanged.
func (d *Dataset) AddEvent(user, item, event string, value float64, timestamp int64) error {
	u, err := cstring("user key", user)
	if err != nil {
		return err
	}
	defer free(u)
	i, err := cstring("item key", item)
	if err != nil {
		return err
	}
	defer free(i)
	var e *C.char
	if event != "" {
		if e, err = cstring("event", event); err != nil {
			return err
		}
		defer free(e)
	}
	return d.do(func(p *C.aisle_dataset) C.int {
		return C.aisle_dataset_add_event(p, u, i, e, C.double(value), C.int64_t(timestamp))
	})
}

// AddEvents adds events in order and stops at the first bad one (returning
// its error, with the events before it added).
func (d *Dataset) AddEvents(events []Event) error {
	for _, e := range events {
		if err := d.AddEvent(e.User, e.Item, e.Type, e.Value, e.Time); err != nil {
			return err
		}
	}
	return nil
}

// SetEventWeight sets the weight of an event type for aggregation.
func (d *Dataset) SetEventWeight(event string, weight float64) error {
	e, err := cstring("event", event)
	if err != nil {
		return err
	}
	defer free(e)
	return d.do(func(p *C.aisle_dataset) C.int { return C.aisle_dataset_set_event_weight(p, e, C.double(weight)) })
}

func (d *Dataset) count(f func(p *C.aisle_dataset, out *C.size_t) C.int) int {
	var out C.size_t
	if d.do(func(p *C.aisle_dataset) C.int { return f(p, &out) }) != nil {
		return 0
	}
	return int(out)
}

// NumUsers is the number of distinct users (0 for a closed dataset).
func (d *Dataset) NumUsers() int {
	return d.count(func(p *C.aisle_dataset, o *C.size_t) C.int { return C.aisle_dataset_user_count(p, o) })
}

// NumItems is the number of distinct items.
func (d *Dataset) NumItems() int {
	return d.count(func(p *C.aisle_dataset, o *C.size_t) C.int { return C.aisle_dataset_item_count(p, o) })
}

// NumEvents is the number of raw events added.
func (d *Dataset) NumEvents() int {
	return d.count(func(p *C.aisle_dataset, o *C.size_t) C.int { return C.aisle_dataset_event_count(p, o) })
}

// UserIndex is the dense index of a user key (ErrNotFound if unknown).
func (d *Dataset) UserIndex(key string) (int, error) {
	k, err := cstring("user key", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.size_t
	err = d.do(func(p *C.aisle_dataset) C.int { return C.aisle_dataset_user_index(p, k, &out) })
	return int(out), err
}

// ItemIndex is the dense index of an item key (ErrNotFound if unknown).
func (d *Dataset) ItemIndex(key string) (int, error) {
	k, err := cstring("item key", key)
	if err != nil {
		return 0, err
	}
	defer free(k)
	var out C.size_t
	err = d.do(func(p *C.aisle_dataset) C.int { return C.aisle_dataset_item_index(p, k, &out) })
	return int(out), err
}

// UserKey is the key of a dense user index (ErrRange if out of range).
func (d *Dataset) UserKey(index int) (string, error) {
	return d.key(index, "user", func(p *C.aisle_dataset, i C.size_t, o **C.char) C.int {
		return C.aisle_dataset_user_key(p, i, o)
	})
}

// ItemKey is the key of a dense item index (ErrRange if out of range).
func (d *Dataset) ItemKey(index int) (string, error) {
	return d.key(index, "item", func(p *C.aisle_dataset, i C.size_t, o **C.char) C.int {
		return C.aisle_dataset_item_key(p, i, o)
	})
}

func (d *Dataset) key(index int, what string, f func(*C.aisle_dataset, C.size_t, **C.char) C.int) (string, error) {
	if index < 0 {
		return "", &Error{Code: CodeRange, Message: "aisle: negative " + what + " index"}
	}
	var s string
	err := d.do(func(p *C.aisle_dataset) C.int {
		var out *C.char
		rc := f(p, C.size_t(index), &out)
		if rc == 0 {
			s = C.GoString(out) // copied while the dataset cannot be freed
		}
		return rc
	})
	return s, err
}

// Users lists every user key in index order.
func (d *Dataset) Users() []string {
	n := d.NumUsers()
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if k, err := d.UserKey(i); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// Items lists every item key in index order.
func (d *Dataset) Items() []string {
	n := d.NumItems()
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if k, err := d.ItemKey(i); err == nil {
			out = append(out, k)
		}
	}
	return out
}
