package aisle

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"time"
)

// Progress is what a ProgressFunc receives after each epoch or step.
type Progress struct {
	Step, Steps  int           // 1-based step, planned steps
	Loss, Metric float64       // NaN where none
	Elapsed      time.Duration // since the work started
}

// ProgressFunc observes long work (training, evaluation).  Returning a
// non-nil error cancels it: the call then fails with an *Error of code
// CodeCancelled whose Unwrap gives the returned error.  A panic inside it
// cancels the work and is re-raised in the calling goroutine.
type ProgressFunc func(Progress) error

type progressCall struct {
	fn       ProgressFunc
	err      error
	panicked bool
	pval     any
}

//export aisleGoProgressCall
func aisleGoProgressCall(h C.uintptr_t, step, steps C.int, loss, metric, elapsed C.double) (stop C.int) {
	pc := cgo.Handle(h).Value().(*progressCall)
	defer func() {
		// A panic must not unwind through the C frames of the library.
		if r := recover(); r != nil {
			pc.panicked, pc.pval, stop = true, r, 1
		}
	}()
	err := pc.fn(Progress{Step: int(step), Steps: int(steps), Loss: float64(loss), Metric: float64(metric),
		Elapsed: time.Duration(float64(elapsed) * float64(time.Second))})
	if err != nil {
		pc.err = err
		return 1
	}
	return 0
}

//export aisleGoFilterCall
func aisleGoFilterCall(h C.uintptr_t, key *C.char, index C.size_t) (keep C.int) {
	st := cgo.Handle(h).Value().(*filterState)
	defer func() {
		if r := recover(); r != nil {
			st.mu.Lock()
			if !st.panicked {
				st.panicked, st.pval = true, r
			}
			st.mu.Unlock()
			keep = 0
		}
	}()
	if st.fn(C.GoString(key), int(index)) {
		return 1
	}
	return 0
}
