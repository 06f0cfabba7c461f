// Package aisle is the Go binding of libaisle, an embeddable machine-learning
// personalization library for online shops (recommendations, similar items,
// explanations, evaluation).
//
// It uses cgo and finds the C library through pkg-config (package "aisle"):
// after `make install`, or with PKG_CONFIG_PATH pointing at a build tree's
// build/pkgconfig and LD_LIBRARY_PATH at its lib/.
//
// Handles (Config, Dataset, Model, ...) own C memory: call Close when done.
// A finalizer frees a handle that was dropped without Close, but only when
// the garbage collector gets to it, so do not rely on it for large models.
//
// Errors are *Error values carrying the C status Code and the library's
// message; compare with errors.Is(err, aisle.ErrNotFound) and friends.
//
// Concurrency: every handle is safe to use from several goroutines (the
// binding serialises calls that change a handle); a trained or loaded Model
// serves its read-only calls (Recommend, Score, Describe, ...) from many
// goroutines in parallel.
package aisle

/*
#cgo pkg-config: aisle
#include <aisle.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"strings"
	"unsafe"
)

// Version is the version string of the loaded C library ("0.1.0").
func Version() string { return C.GoString(C.aisle_version()) }

// VersionNumber is major*10000 + minor*100 + patch of the loaded C library.
func VersionNumber() int { return int(C.aisle_version_number()) }

// call runs one C call and turns a failure status into an *Error.  The OS
// thread is locked so that aisle_last_error(), which is thread-local in C,
// is read on the thread that failed: a goroutine may otherwise move to
// another thread between two cgo calls.
func call(f func() C.int) error {
	runtime.LockOSThread()
	rc := f()
	var err error
	if rc != 0 {
		err = newError(int(rc), C.GoString(C.aisle_last_error()))
	}
	runtime.UnlockOSThread()
	return err
}

// checked turns a C call on a handle into a func returning its *Error, for
// exclusive and shared.
func checked[P any](f func(P) C.int) func(P) error {
	return func(p P) error { return call(func() C.int { return f(p) }) }
}

// cstring converts a Go string to a C string the caller frees with
// C.free.  Strings holding a NUL byte cannot cross to C unchanged.
func cstring(what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: CodeInvalid, Message: "aisle: " + what + " " + quote(s) + " contains a NUL byte"}
	}
	return C.CString(s), nil
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func quote(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return "'" + strings.ReplaceAll(s, "\x00", `\0`) + "'"
}

func errClosed(what string) error {
	return &Error{Code: CodeState, Message: "aisle: the " + what + " is closed"}
}
