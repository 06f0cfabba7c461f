package aisle

/*
#include <aisle.h>
*/
import "C"

import "fmt"

// Code is a C status code: 0 or one of the negative AISLE_E* values.
type Code int

// The status codes of include/aisle.h.  New ones may appear in later
// releases; treat any unknown negative value as a failure.
const (
	CodeOK          Code = 0
	CodeInvalid     Code = -1  // AISLE_EINVAL: bad argument or value
	CodeNoMemory    Code = -2  // AISLE_ENOMEM: an allocation failed
	CodeIO          Code = -3  // AISLE_EIO: reading or writing a file failed
	CodeFormat      Code = -4  // AISLE_EFORMAT: malformed input
	CodeNotFound    Code = -5  // AISLE_ENOTFOUND: unknown user, item, option, file or kind
	CodeRange       Code = -6  // AISLE_ERANGE: value or index out of range
	CodeUnsupported Code = -7  // AISLE_EUNSUPPORTED: not supported (e.g. by this model kind)
	CodeCancelled   Code = -8  // AISLE_ECANCELLED: a progress callback asked to stop
	CodeState       Code = -9  // AISLE_ESTATE: the handle's state does not allow the call
	CodeVersion     Code = -10 // AISLE_EVERSION: file from an incompatible version
	CodeInternal    Code = -11 // AISLE_EINTERNAL: a bug in aisle
)

// String is the library's static description of the code ("not found").
func (c Code) String() string { return C.GoString(C.aisle_strerror(C.int(c))) }

// Error is a failure reported by libaisle (or detected by the binding
// before calling it).  Message is aisle_last_error() of the failing call,
// naming the file, line, option or key involved.  Err, when set, is the
// error a progress callback returned to cancel the work.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func newError(code int, msg string) *Error { return &Error{Code: Code(code), Message: msg} }

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("aisle: %s", e.Code)
	}
	return fmt.Sprintf("aisle: %s (%s)", e.Message, e.Code)
}

// Is makes errors.Is(err, aisle.ErrNotFound) true for every error of that
// code, whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Err == nil && t.Code == e.Code
}

// Unwrap gives the progress callback's error, if that is what cancelled.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel values for errors.Is, one per code.
var (
	ErrInvalid     = &Error{Code: CodeInvalid}
	ErrNoMemory    = &Error{Code: CodeNoMemory}
	ErrIO          = &Error{Code: CodeIO}
	ErrFormat      = &Error{Code: CodeFormat}
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrRange       = &Error{Code: CodeRange}
	ErrUnsupported = &Error{Code: CodeUnsupported}
	ErrCancelled   = &Error{Code: CodeCancelled}
	ErrState       = &Error{Code: CodeState}
	ErrVersion     = &Error{Code: CodeVersion}
	ErrInternal    = &Error{Code: CodeInternal}
)
