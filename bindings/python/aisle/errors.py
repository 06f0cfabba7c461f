"""aisle status codes as Python exceptions.

Every failing C call raises a subclass of AisleError carrying `.code` (the
negative AISLE_E* value) and `.message` (aisle_last_error() of the calling
thread, which names the file, line, option or key involved).  The classes
also derive from the closest built-in exception, so `except ValueError` or
`except OSError` catch them too.
"""
from . import _lib

AISLE_OK = 0
AISLE_EINVAL = -1
AISLE_ENOMEM = -2
AISLE_EIO = -3
AISLE_EFORMAT = -4
AISLE_ENOTFOUND = -5
AISLE_ERANGE = -6
AISLE_EUNSUPPORTED = -7
AISLE_ECANCELLED = -8
AISLE_ESTATE = -9
AISLE_EVERSION = -10
AISLE_EINTERNAL = -11


class AisleError(Exception):
    """A failure reported by libaisle."""

    code = None

    def __init__(self, code, message=""):
        self.code = code
        self.message = message
        self.strerror = strerror(code)
        super().__init__(code, message)

    def __str__(self):
        if self.message:
            return "%s (%s)" % (self.message, self.strerror)
        return self.strerror

    def __reduce__(self):
        return (type(self), (self.code, self.message))


class InvalidArgument(AisleError, ValueError):
    """AISLE_EINVAL: NULL/empty argument, wrong type or bad value."""


class OutOfMemory(AisleError, MemoryError):
    """AISLE_ENOMEM: an allocation failed; nothing was changed."""


class AisleIOError(AisleError, OSError):
    """AISLE_EIO: reading or writing a file failed."""

    def __init__(self, code, message=""):
        AisleError.__init__(self, code, message)

    def __str__(self):
        return AisleError.__str__(self)


class FormatError(AisleError, ValueError):
    """AISLE_EFORMAT: malformed data file, model file or option text."""


class NotFound(AisleError, LookupError):
    """AISLE_ENOTFOUND: unknown user, item, option, file or model kind."""


class UnknownOption(NotFound, TypeError):
    """An option name the library does not know, e.g. a misspelt keyword
    argument (``Model.train(ds, factrs=64)``): a TypeError, as Python raises
    for an unexpected keyword, and a NotFound.  The message suggests the
    closest known names; ``aisle.options()`` lists every option."""


class OutOfRange(AisleError, ValueError):
    """AISLE_ERANGE: a value or index outside its allowed range."""


class Unsupported(AisleError, NotImplementedError):
    """AISLE_EUNSUPPORTED: the operation is not supported (e.g. by this kind)."""


class Cancelled(AisleError):
    """AISLE_ECANCELLED: a progress callback asked to stop."""


class StateError(AisleError, RuntimeError):
    """AISLE_ESTATE: the handle is not in a state that allows the call
    (also raised by the binding for a closed handle)."""


class VersionError(AisleError):
    """AISLE_EVERSION: a file written by an incompatible (newer) version."""


class InternalError(AisleError, RuntimeError):
    """AISLE_EINTERNAL: a bug in aisle; please report it with the message."""


_BY_CODE = {
    AISLE_EINVAL: InvalidArgument,
    AISLE_ENOMEM: OutOfMemory,
    AISLE_EIO: AisleIOError,
    AISLE_EFORMAT: FormatError,
    AISLE_ENOTFOUND: NotFound,
    AISLE_ERANGE: OutOfRange,
    AISLE_EUNSUPPORTED: Unsupported,
    AISLE_ECANCELLED: Cancelled,
    AISLE_ESTATE: StateError,
    AISLE_EVERSION: VersionError,
    AISLE_EINTERNAL: InternalError,
}


def strerror(code):
    """The library's static English description of a status code."""
    s = _lib.fn.strerror(int(code))
    return s.decode("utf-8", "replace") if s else "unknown error"


def last_error():
    """aisle_last_error() of the calling thread ("" if none)."""
    s = _lib.fn.last_error()
    return s.decode("utf-8", "replace") if s else ""


def error_for(code, message=None):
    """The exception for a status code (message defaults to last_error())."""
    if message is None:
        message = last_error()
    return _BY_CODE.get(code, AisleError)(code, message)


def check(rc):
    """Raises the matching AisleError if rc is a failure status."""
    if rc != AISLE_OK:
        raise error_for(rc)
    return rc
