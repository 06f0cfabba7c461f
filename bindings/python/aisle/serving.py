"""Serving: per-call options (aisle_rec_options) and result conversion."""
import collections
import ctypes

from . import _lib
from ._base import Handle, dec, enc, in_use, option_text
from .errors import check


class RecOptions(Handle):
    """Reusable serving options: exclude_seen, unknown_user ("popular" or
    "error"), threads, an allow-list, a deny-list and a filter callable
    filter(item_key, item_index) -> bool (True keeps the item).

        opts = aisle.RecOptions(exclude_seen=False, deny=["P00001"])
        model.recommend("C10001", k=5, options=opts)

    Build once, then share between threads for reading.  The filter may be
    called from several threads at once (recommend_batch); an exception in
    it drops the item and is re-raised by the serving call."""

    _free_name = "rec_options_free"
    _what = "serving options"

    def __init__(self, allow=None, deny=None, filter=None, **options):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.rec_options_new(ctypes.byref(p)))
        self._adopt(p.value)
        self._filter = None
        self._filter_error = None
        for k, v in options.items():
            if v is not None:
                self.set(k, v)
        if allow is not None:
            self.allow(allow)
        if deny is not None:
            self.deny(deny)
        if filter is not None:
            self.set_filter(filter)

    def set(self, key, value):
        check(_lib.fn.rec_options_set(self._h, enc(key, "option name"), enc(option_text(value), "value")))

    def allow(self, item_keys):
        """Restricts results to these item keys (empty: no restriction)."""
        arr, n = key_array(item_keys)
        check(_lib.fn.rec_options_allow(self._h, arr, n))

    def deny(self, item_keys):
        """Never returns these item keys (empty: clears the list)."""
        arr, n = key_array(item_keys)
        check(_lib.fn.rec_options_deny(self._h, arr, n))

    def set_filter(self, fn):
        """Installs filter(item_key, item_index) -> bool (None removes it)."""
        if fn is None:
            check(_lib.fn.rec_options_set_filter(self._h, _lib.FILTER_FN(), None))
            self._filter = None
            return

        def c_filter(user, key, index):
            try:
                return 1 if fn(dec(key), index) else 0
            except BaseException as exc:  # re-raised by the serving call
                if self._filter_error is None:
                    self._filter_error = exc
                return 0
        cf = _lib.FILTER_FN(c_filter)
        check(_lib.fn.rec_options_set_filter(self._h, cf, None))
        self._filter = cf  # kept alive with the options

    def _reraise(self):
        if self._filter_error is not None:
            exc, self._filter_error = self._filter_error, None
            raise exc


ScanStats = collections.namedtuple("ScanStats", "items_scanned items_rescored int8")


def scan_stats():
    """What this thread's last recommend / recommend_for_items on an als,
    bpr or hybrid model did: ScanStats(items_scanned, items_rescored, int8).
    With the int8 scan (option scan="auto"/"int8") items_rescored /
    items_scanned is the share of items scored again in fp32."""
    a, b, c = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_int()
    check(_lib.fn.recommend_scan_stats(ctypes.byref(a), ctypes.byref(b), ctypes.byref(c)))
    return ScanStats(a.value, b.value, bool(c.value))


def key_array(keys):
    """A (const char *const *, n) pair for a sequence of keys; the encoded
    bytes stay referenced by the returned array object."""
    if isinstance(keys, (str, bytes)):
        keys = [keys]
    encoded = [enc(k) for k in keys]
    arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
    return arr, len(encoded)


def float_array(values, n, what="weights"):
    if values is None:
        return None
    values = list(values)
    if len(values) != n:
        raise ValueError("aisle: %s has %d entries for %d items" % (what, len(values), n))
    return (ctypes.c_float * max(n, 1))(*[float(v) for v in values])


def make_options(options, kw):
    """(RecOptions or None, temporary?) for a serving call: an explicit
    options object, or a temporary one from keyword arguments, or None
    (library defaults) when nothing is asked for."""
    # exclude_seen=True is the library default: asking for it asks nothing
    kw = {k: v for k, v in kw.items() if v is not None and not (k == "exclude_seen" and v is True)}
    if options is not None:
        if kw:
            raise TypeError("aisle: pass either options= or serving keyword arguments, not both")
        return options, False
    if not kw:
        return None, False
    return RecOptions(**kw), True


def serve(options, kw, call):
    """Runs call(opts_ptr) with the options for one serving call and
    re-raises a filter's exception."""
    opts, temporary = make_options(options, kw)
    try:
        with in_use(opts) as o:
            rc = call(o if opts is not None else None)
        if opts is not None:
            opts._reraise()
        check(rc)
    finally:
        if temporary:
            opts.close()


def results(items, scores, n):
    return [(dec(items[i]), float(scores[i])) for i in range(n)]


class ResultList:
    """The caller arrays of one C call that returns at most k (key, value)
    pairs and their count; read them (take) while the model is held."""

    def __init__(self, k):
        self.items = (ctypes.c_char_p * max(k, 1))()
        self.values = (ctypes.c_float * max(k, 1))()
        self.n = ctypes.c_size_t()

    def args(self):
        """items, values, &n: the last three arguments of the C call."""
        return self.items, self.values, ctypes.byref(self.n)

    def take(self, count=None):
        return results(self.items, self.values, self.n.value if count is None else count)
