package aisle

/*
#include <aisle.h>
#include <stdint.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Server serves a model to many goroutines while a newer model is swapped
// in and users are updated (aisle_server; docs/SERVING.md).  All its
// methods may run concurrently; Close waits for calls in progress.
type Server struct {
	mu  sync.RWMutex
	ptr *C.aisle_server
}

// takeModel hands m's C model to f; when f succeeds the C side owns it and
// m is closed.
func takeModel(m *Model, f func(p *C.aisle_model) C.int) error {
	return exclusive(&m.mu, &m.ptr, "model", func(p *C.aisle_model) error {
		err := call(func() C.int { return f(p) })
		if err == nil {
			m.ptr = nil
			runtime.SetFinalizer(m, nil)
		}
		return err
	})
}

// NewServer makes a server whose current model is m; the server owns m
// from now on (m is closed).
func NewServer(m *Model) (*Server, error) {
	s := &Server{}
	if err := takeModel(m, func(p *C.aisle_model) C.int { return C.aisle_server_new(&s.ptr, p) }); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, (*Server).Close)
	return s, nil
}

// Close frees the server and its model(s).  No Lease may be in progress.
func (s *Server) Close() {
	release(&s.mu, &s.ptr, func(p *C.aisle_server) { C.aisle_server_free(p) })
	runtime.SetFinalizer(s, nil)
}

// Lease runs f with the current model, for reading: a swap meanwhile does
// not affect it, an update waits for it.  The model and the results of its
// calls are valid only inside f; f must not call Lease again.
func (s *Server) Lease(f func(m *Model) error) error {
	return shared(&s.mu, &s.ptr, "server", func(p *C.aisle_server) error {
		// the C lease is a read lock: released by the thread that took it
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var mp *C.aisle_model
		if err := call(func() C.int { return C.aisle_server_acquire(p, &mp) }); err != nil {
			return err
		}
		leased := &Model{ptr: mp}
		ferr := f(leased)
		leased.mu.Lock()
		leased.ptr = nil
		leased.mu.Unlock()
		if err := call(func() C.int { return C.aisle_server_release(p, mp) }); err != nil && ferr == nil {
			ferr = err
		}
		return ferr
	})
}

// write runs a change on the current model (f's C call) while others read.
func (s *Server) write(f func(p *C.aisle_server) C.int) error {
	return shared(&s.mu, &s.ptr, "server", checked(f))
}

// UpdateUser is Model.UpdateUser on the current model, safe while others
// read; it is journaled, so Swap can replay it onto a newer model.
func (s *Server) UpdateUser(user string, itemKeys []string, weights []float32) error {
	return withUserEvents(user, itemKeys, weights, func(u *C.char, ks *cStrings, w *C.float) error {
		return s.write(func(p *C.aisle_server) C.int { return C.aisle_server_update_user(p, u, ks.ptr(), w, ks.n()) })
	})
}

// AddUser is UpdateUser that also takes a user the current model does not
// know: the user is added, then fitted to the events (als, bpr, mf fold
// in; itemknn scores from them; popular records them).  Readers see all of
// it or nothing; Swap replays it.  Kinds that cannot add users give
// ErrUnsupported.
func (s *Server) AddUser(user string, itemKeys []string, weights []float32) error {
	return withUserEvents(user, itemKeys, weights, func(u *C.char, ks *cStrings, w *C.float) error {
		return s.write(func(p *C.aisle_server) C.int { return C.aisle_server_add_user(p, u, ks.ptr(), w, ks.n()) })
	})
}

// AddItem adds an item the current model does not know: als and bpr take
// its factor vector (the model's factors count), itemknn and popular take
// nil (no neighbours, ranked last, until retraining).  Readers see all of
// it or nothing; Swap replays it unless the new model has the item.  mf and
// kinds without it give ErrUnsupported.
func (s *Server) AddItem(item string, vector []float32) error {
	var v *C.float
	if len(vector) > 0 {
		v = (*C.float)(unsafe.Pointer(&vector[0]))
	}
	return withKeys(func(c []*C.char) error {
		return s.write(func(p *C.aisle_server) C.int {
			return C.aisle_server_add_item(p, c[0], v, C.size_t(len(vector)))
		})
	}, "item key", item)
}

// Swap makes m the current model (the server owns it afterwards; m is
// closed) after replaying the updates (and added users and items) made at
// or after replaySince (seconds since the epoch: the end of m's training
// data; 0 replays all kept).  It returns how many were replayed.  Leases of the old
// model go on until they end.
func (s *Server) Swap(m *Model, replaySince int64) (int, error) {
	var n C.size_t
	err := shared(&s.mu, &s.ptr, "server", func(sp *C.aisle_server) error {
		return takeModel(m, func(p *C.aisle_model) C.int {
			return C.aisle_server_swap(sp, p, C.int64_t(replaySince), &n)
		})
	})
	return int(n), err
}
