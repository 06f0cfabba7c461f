package aisle

import "sync"

// Every handle keeps its C pointer behind a lock: calls that change the
// handle hold it alone; read-only calls share it (a sync.RWMutex) so a
// model serves many goroutines at once; a nil pointer means the handle is
// closed.  These helpers are that rule, once for every handle type; P is
// the handle's C pointer type.
//
// Close never waits for the lock: a Close that comes while calls hold the
// handle (from one of their own callbacks -- a serving filter closing the
// model it filters, a progress function closing the dataset being trained
// on -- or from another goroutine) marks the handle closed at once, and
// the last of those calls frees it as it returns.  Waiting instead would
// deadlock a callback (sync.RWMutex is not reentrant), and freeing at once
// would pull the handle from under the running C call.

type tryLocker interface {
	sync.Locker
	TryLock() bool
}

// pendingClose holds the closes that came while the handle was held,
// keyed by the address of the handle's pointer field.
var pendingClose sync.Map

func closing(key any) bool {
	_, ok := pendingClose.Load(key)
	return ok
}

// finish runs a pending close once nobody holds mu (called after each
// unlock; only one caller gets the lock, and LoadAndDelete runs it once).
func finish(mu tryLocker, key any) {
	if !closing(key) || !mu.TryLock() {
		return
	}
	defer mu.Unlock()
	if del, ok := pendingClose.LoadAndDelete(key); ok {
		del.(func())()
	}
}

// exclusive runs f with the pointer while holding mu alone; ErrState
// (naming what) when the handle is closed.
func exclusive[P comparable](mu tryLocker, ptr *P, what string, f func(P) error) error {
	mu.Lock()
	defer func() {
		mu.Unlock()
		finish(mu, ptr)
	}()
	var closed P
	if *ptr == closed || closing(ptr) {
		return errClosed(what)
	}
	return f(*ptr)
}

// shared runs f with the pointer while holding mu for reading, alongside
// other readers; ErrState (naming what) when the handle is closed.
func shared[P comparable](mu *sync.RWMutex, ptr *P, what string, f func(P) error) error {
	mu.RLock()
	defer func() {
		mu.RUnlock()
		finish(mu, ptr)
	}()
	var closed P
	if *ptr == closed || closing(ptr) {
		return errClosed(what)
	}
	return f(*ptr)
}

// release frees the pointer with del (holding mu alone) and marks the
// handle closed: now when nobody holds it, else when the last call
// holding it returns.  Later calls fail with ErrState; later releases do
// nothing.
func release[P comparable](mu tryLocker, ptr *P, del func(P)) {
	free := func() {
		var closed P
		if *ptr != closed {
			del(*ptr)
			*ptr = closed
		}
	}
	if mu.TryLock() {
		defer mu.Unlock()
		pendingClose.Delete(ptr)
		free()
		return
	}
	pendingClose.LoadOrStore(ptr, free)
	finish(mu, ptr) // the holders may have left meanwhile
}
