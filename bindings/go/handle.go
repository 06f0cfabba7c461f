package aisle

import "sync"

// Every handle keeps its C pointer behind a lock: calls that change the
// handle, and Close, hold it alone; read-only calls share it (a
// sync.RWMutex) so a model serves many goroutines at once; a nil pointer
// means the handle is closed.  These helpers are that rule, once for every
// handle type; P is the handle's C pointer type.

// exclusive runs f with the pointer while holding mu alone; ErrState
// (naming what) when the handle is closed.
func exclusive[P comparable](mu sync.Locker, ptr *P, what string, f func(P) error) error {
	mu.Lock()
	defer mu.Unlock()
	var closed P
	if *ptr == closed {
		return errClosed(what)
	}
	return f(*ptr)
}

// shared runs f with the pointer while holding mu for reading, alongside
// other readers; ErrState (naming what) when the handle is closed.
func shared[P comparable](mu *sync.RWMutex, ptr *P, what string, f func(P) error) error {
	mu.RLock()
	defer mu.RUnlock()
	var closed P
	if *ptr == closed {
		return errClosed(what)
	}
	return f(*ptr)
}

// release frees the pointer with del after the calls in progress return,
// and marks the handle closed; later calls do nothing.
func release[P comparable](mu sync.Locker, ptr *P, del func(P)) {
	mu.Lock()
	defer mu.Unlock()
	var closed P
	if *ptr != closed {
		del(*ptr)
		*ptr = closed
	}
}
