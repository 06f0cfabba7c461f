"""Shared helpers: text encoding, handle lifetime, progress callbacks."""
import collections
import ctypes
import threading

from . import _lib
from .errors import AISLE_ESTATE, StateError, check

try:  # NumPy is optional: used for array results when installed.
    import numpy as _np
except ImportError:  # pragma: no cover - depends on the environment
    _np = None


def numpy():
    """The numpy module, or None when it is not installed."""
    return _np


def enc(value, what="key"):
    """A key or text argument as NUL-terminated UTF-8 bytes.

    str is encoded; bytes pass through; anything else (int ids, NumPy
    scalars) goes through str()."""
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, str):
        b = value.encode("utf-8")
    elif value is None:
        return None
    else:
        b = str(value).encode("utf-8")
    if b"\0" in b:
        raise ValueError("aisle: %s %r contains a NUL character" % (what, value))
    return b


def dec(b):
    return b.decode("utf-8", "replace") if b is not None else None


def option_text(value):
    """The text form aisle_config_set expects for a Python value."""
    if _np is not None and isinstance(value, _np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form
    return str(value)


# Guards the busy counts of every handle (held for a few instructions).
_busy_lock = threading.Lock()


class Handle:
    """Owns one C handle; close() frees it (idempotent), as do `with` and
    garbage collection.

    A call that runs Python code while C uses the handle (a serving filter,
    a progress callback) or that another thread runs meanwhile holds the
    handle with in_use(): close() during such a call only marks it closed,
    and the last call to finish frees it, so a callback that closes the
    model it filters cannot make C read freed memory."""

    _free_name = None
    _what = "handle"
    _busy = 0          # calls holding the handle (in_use)
    _closing = False   # close() came while busy: freed by the last one

    def __init__(self):
        self._ptr = None

    def _adopt(self, ptr):
        self._ptr = ptr

    @property
    def _h(self):
        if not self._ptr or self._closing:
            raise StateError(AISLE_ESTATE, "aisle: the %s is closed" % self._what)
        return self._ptr

    @property
    def closed(self):
        return not self._ptr or self._closing

    def _acquire(self):
        with _busy_lock:
            if not self._ptr or self._closing:
                raise StateError(AISLE_ESTATE, "aisle: the %s is closed" % self._what)
            self._busy += 1
            return self._ptr

    def _release(self):
        ptr = None
        with _busy_lock:
            self._busy -= 1
            if self._busy == 0 and self._closing:
                ptr, self._ptr, self._closing = self._ptr, None, False
        if ptr:
            getattr(_lib.fn, self._free_name)(ptr)

    def close(self):
        """Frees the C handle.  Calling it again does nothing.  Called
        while a call uses the handle (from a callback or another thread),
        it marks the handle closed and the call frees it when it ends."""
        with _busy_lock:
            if self._busy:
                if self._ptr:
                    self._closing = True
                return
            ptr, self._ptr = self._ptr, None
        if ptr:
            getattr(_lib.fn, self._free_name)(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may be gone
            pass


class in_use:
    """with in_use(a, b, ...) as ptrs: holds the handles (None skipped) for
    the duration of a C call and the reading of its results; ptrs is the
    list of their C pointers (the single pointer for one handle)."""
    __slots__ = ("handles",)

    def __init__(self, *handles):
        self.handles = [h for h in handles if h is not None]

    def __enter__(self):
        got = []
        try:
            for h in self.handles:
                got.append(h._acquire())
        except BaseException:
            for h in self.handles[:len(got)]:
                h._release()
            raise
        return got[0] if len(got) == 1 else got

    def __exit__(self, *exc):
        for h in reversed(self.handles):
            h._release()
        return False


Progress = collections.namedtuple("Progress", "step steps loss metric elapsed")
Progress.__doc__ = """What a progress callback receives after each epoch or step:
step (1-based), steps planned, training loss and validation metric (NaN where
none) and seconds elapsed.  Return False to cancel; raise to cancel and have
the exception re-raised by the training call."""


class KeyDictionaries:
    """User and item key dictionaries of a handle whose C functions are named
    aisle_<_keys_prefix>_{user,item}_{count,index,key} (datasets and models
    share this shape)."""
    _keys_prefix = None

    def _keys_fn(self, what):
        return getattr(_lib.fn, "%s_%s" % (self._keys_prefix, what))

    def _count(self, f):
        out = ctypes.c_size_t()
        check(f(self._h, ctypes.byref(out)))
        return out.value

    @property
    def n_users(self):
        return self._count(self._keys_fn("user_count"))

    @property
    def n_items(self):
        return self._count(self._keys_fn("item_count"))

    def _index(self, what, key):
        out = ctypes.c_size_t()
        check(self._keys_fn(what)(self._h, enc(key), ctypes.byref(out)))
        return out.value

    def _key(self, what, index):
        out = ctypes.c_char_p()
        check(self._keys_fn(what)(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def user_index(self, key):
        """Dense index of a user key; raises aisle.NotFound."""
        return self._index("user_index", key)

    def item_index(self, key):
        """Dense index of an item key; raises aisle.NotFound."""
        return self._index("item_index", key)

    def user_key(self, index):
        """Key of a dense user index; raises aisle.OutOfRange."""
        return self._key("user_key", index)

    def item_key(self, index):
        """Key of a dense item index; raises aisle.OutOfRange."""
        return self._key("item_key", index)

    def users(self):
        """Every user key, in index order."""
        return [self.user_key(i) for i in range(self.n_users)]

    def items(self):
        """Every item key, in index order."""
        return [self.item_key(i) for i in range(self.n_items)]


class ProgressAdapter:
    """Turns a Python callable into an aisle_progress_fn.

    The ctypes function object is kept alive by this adapter, which the
    caller holds for the duration of the C call.  An exception inside the
    callable cancels the work and is stored, to be re-raised afterwards."""

    def __init__(self, callback):
        self.callback = callback
        self.error = None
        self.cfunc = _lib.PROGRESS_FN(self._call)

    def _call(self, user, step, steps, loss, metric, elapsed):
        try:
            r = self.callback(Progress(step, steps, loss, metric, elapsed))
        except BaseException as exc:  # noqa: B902 - re-raised after the C call
            self.error = exc
            return 1
        return 1 if r is False else 0

    def reraise(self):
        if self.error is not None:
            exc, self.error = self.error, None
            raise exc


def out_ptr():
    return ctypes.c_void_p()


def add_from_catalog(owner, fn, catalog):
    """Model.add_items / add_users and Server's: fn(owner's handle,
    catalog's handle, size_t *added) on both held in use; returns how many
    rows were added."""
    if catalog is None:
        raise TypeError("aisle: expected an aisle.Catalog, got None")
    n = ctypes.c_size_t()
    with in_use(owner, catalog) as (h, c):
        check(fn(h, c, ctypes.byref(n)))
    return n.value
