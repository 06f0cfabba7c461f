"""aisle_dataset: behaviour events keyed by the shop's own ids."""
import ctypes

from . import _lib
import collections
import os

from ._base import Handle, KeyDictionaries, dec, enc, numpy
from .config import make_config
from .errors import check

LoadReport = collections.namedtuple("LoadReport", "rows_read rows_loaded rows_skipped rows_filtered messages")
LoadReport.__doc__ = """Counts of the last load into a dataset, and messages about (at most
10) skipped rows, "file:line:column: expected X, found Y"."""


class Dataset(KeyDictionaries, Handle):
    """Events (view, cart, purchase, rating or a custom name) of users on
    items.  Keys map to dense indices 0..n-1 in order of first appearance.

        with aisle.Dataset() as ds:
            ds.add("alice", "mug", "purchase")
            ds.add_events([("bob", "tea"), ("bob", "mug", "cart", 2.0, 1700000000)])

    One thread at a time may change a dataset."""
    _keys_prefix = "dataset"


    _free_name = "dataset_free"
    _what = "dataset"

    def __init__(self, events=None):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.dataset_new(ctypes.byref(p)))
        self._adopt(p.value)
        if events is not None:
            self.add_events(events)

    @classmethod
    def _wrap(cls, ptr):
        ds = cls.__new__(cls)
        Handle.__init__(ds)
        ds._adopt(ptr)
        return ds

    @classmethod
    def from_file(cls, path, **options):
        """A new dataset loaded from a CSV/TSV file (plain or gzip); see load()."""
        ds = cls()
        try:
            ds.load(path, **options)
        except BaseException:
            ds.close()
            raise
        return ds

    def load(self, path, config=None, **options):
        """Adds the events of a delimited text file (plain or gzip).
        Options: columns="user=user_id,item=item_id,...", header, delimiter,
        event, time_format, negative, lenient=True, ... (docs/DATA.md).
        Strict by default: the first bad row raises aisle.FormatError with
        "file:line:column: ..." and the dataset is unchanged."""
        p = enc(os.fspath(path), "path")
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.dataset_load(self._h, p, cfg._h))
        finally:
            cfg.close()

    def load_bytes(self, data, name=None, config=None, **options):
        """load() from bytes in memory; name stands for the file name in
        messages and picks the default delimiter by its extension."""
        data = bytes(data)
        cfg, _ = make_config(config, options)
        try:
            check(_lib.fn.dataset_load_buffer(self._h, data, len(data), enc(name, "name"), cfg._h))
        finally:
            cfg.close()

    def load_report(self):
        """A LoadReport for the last successful load (zeros before any)."""
        c = [ctypes.c_size_t() for _ in range(4)]
        check(_lib.fn.dataset_load_report(self._h, *[ctypes.byref(x) for x in c]))
        msgs = []
        while True:
            out = ctypes.c_char_p()
            if _lib.fn.dataset_load_message(self._h, len(msgs), ctypes.byref(out)) != 0:
                break
            msgs.append(dec(out.value))
        return LoadReport(*[x.value for x in c], msgs)

    def split(self, spec=None, seed=42, config=None, **options):
        """(train, test) datasets.  spec is the compact form "random:0.2",
        "time:0.1", "last:1" or "kfold:5:0"; without it, options
        split=..., test_fraction=..., seed=... are used."""
        train, test = ctypes.c_void_p(), ctypes.c_void_p()
        if spec is not None:
            if options or config is not None:
                raise TypeError("aisle: Dataset.split takes a spec or options, not both")
            check(_lib.fn.dataset_split_spec(self._h, enc(spec, "split spec"), int(seed),
                                             ctypes.byref(train), ctypes.byref(test)))
        else:
            options.setdefault("seed", seed)
            cfg, _ = make_config(config, options)
            try:
                check(_lib.fn.dataset_split(self._h, cfg._h, ctypes.byref(train), ctypes.byref(test)))
            finally:
                cfg.close()
        return Dataset._wrap(train.value), Dataset._wrap(test.value)

    def add(self, user, item, event="view", value=1.0, timestamp=0):
        """Adds one event.  value is the quantity or rating; timestamp is
        seconds since the Unix epoch (0 if unknown).  All or nothing."""
        check(_lib.fn.dataset_add_event(self._h, enc(user, "user key"), enc(item, "item key"),
                                        enc(event, "event") if event else None, float(value),
                                        int(timestamp)))

    add_event = add

    def add_events(self, events):
        """Adds (user, item[, event[, value[, timestamp]]]) tuples, or dicts
        with those keys.  Stops at the first bad event, which raises; the
        events before it stay added."""
        for e in events:
            if isinstance(e, dict):
                self.add(**e)
            else:
                self.add(*e)

    def add_arrays(self, users, items, events=None, values=None, timestamps=None):
        """Adds events column-wise from equally long sequences (lists or
        NumPy arrays); events/values/timestamps default to "view", 1, 0."""
        n = len(users)
        for name, col in (("items", items), ("events", events), ("values", values),
                          ("timestamps", timestamps)):
            if col is not None and len(col) != n:
                raise ValueError("aisle: %s has %d entries, users has %d" % (name, len(col), n))
        for i in range(n):
            self.add(users[i], items[i],
                     events[i] if events is not None else "view",
                     values[i] if values is not None else 1.0,
                     timestamps[i] if timestamps is not None else 0)

    # ---- index arrays (NumPy / scipy.sparse) ---------------------------
    def add_indices(self, users, items, values=None, *, timestamps=None, n_users=None, n_items=None,
                    event="view") -> None:
        """Adds events given as equally long arrays of dense indices, in
        one C call (no Python loop with NumPy arrays): user users[e] on
        item items[e] with values[e] (default 1) at timestamps[e] (default
        0).  Index i becomes the key "i"; on an empty dataset the keys
        "0".."n_users-1" / "0".."n_items-1" come first, so a trained
        model's user index i is matrix row i (n_users/n_items default to
        max index + 1).  All or nothing; a bad index raises
        aisle.OutOfRange."""
        u = _index_array(users, "users")
        i = _index_array(items, "items")
        n = len(u)
        if len(i) != n:
            raise ValueError("aisle: items has %d entries, users has %d" % (len(i), n))
        v = _typed_array(values, n, "values", "float32") if values is not None else None
        t = _typed_array(timestamps, n, "timestamps", "int64") if timestamps is not None else None
        nu = int(n_users) if n_users is not None else _max_plus_one(u)
        ni = int(n_items) if n_items is not None else _max_plus_one(i)
        if nu < 0 or ni < 0:
            raise ValueError("aisle: n_users and n_items must be >= 0")
        check(_lib.fn.dataset_add_indexed(self._h, nu, ni, _ptr(u), _ptr(i), _ptr(v), _ptr(t), n,
                                          enc(event, "event") if event else None))

    @classmethod
    def from_indices(cls, users, items, values=None, *, timestamps=None, n_users=None, n_items=None,
                     event="view") -> "Dataset":
        """A new Dataset from index arrays (see add_indices): the shape of
        ``implicit``'s and LightFM's inputs."""
        ds = cls()
        try:
            ds.add_indices(users, items, values, timestamps=timestamps, n_users=n_users, n_items=n_items,
                           event=event)
        except BaseException:
            ds.close()
            raise
        return ds

    @classmethod
    def from_csr(cls, matrix, event="view") -> "Dataset":
        """A new Dataset from a users x items sparse matrix (scipy.sparse
        CSR, or anything with .tocsr()): row u, column i, value w is an
        event of user "u" on item "i" with value w.  Vectorised: the
        matrix's arrays go to C as they are (NumPy expands the row
        pointer).  Explicit zeros are events with value 0."""
        np = numpy()
        if np is None:
            raise ImportError("aisle: Dataset.from_csr needs NumPy (and a scipy.sparse matrix)")
        m = matrix.tocsr() if hasattr(matrix, "tocsr") else matrix
        n_rows, n_cols = m.shape
        indptr = np.asarray(m.indptr)
        users = np.repeat(np.arange(n_rows, dtype=np.uint32), np.diff(indptr))
        return cls.from_indices(users, np.asarray(m.indices), np.asarray(m.data, dtype=np.float32),
                                n_users=n_rows, n_items=n_cols, event=event)

    def set_event_weight(self, event, weight):
        """Weight of an event type when aggregating implicit events."""
        check(_lib.fn.dataset_set_event_weight(self._h, enc(event, "event"), float(weight)))

    @property
    def n_events(self):
        return self._count(_lib.fn.dataset_event_count)

    def __repr__(self):
        if self.closed:
            return "<aisle.Dataset closed>"
        return "<aisle.Dataset users=%d items=%d events=%d>" % (self.n_users, self.n_items, self.n_events)


def _index_array(values, what):
    """A C-contiguous uint32 array (NumPy when installed, else ctypes) of
    non-negative indices."""
    np = numpy()
    if np is not None:
        a = np.asarray(values)
        if a.size and not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.equal(np.mod(a, 1), 0)):
                raise ValueError("aisle: %s must hold integer indices" % what)
        if a.size and (a.min() < 0 or a.max() > 0xFFFFFFFE):
            raise ValueError("aisle: %s holds an index outside [0, 2^32-2]" % what)
        return np.ascontiguousarray(a, dtype=np.uint32).reshape(-1)
    seq = [int(x) for x in values]
    if any(x < 0 or x > 0xFFFFFFFE for x in seq):
        raise ValueError("aisle: %s holds an index outside [0, 2^32-2]" % what)
    return (ctypes.c_uint32 * len(seq))(*seq)


def _max_plus_one(a):
    if len(a) == 0:
        return 0
    return int(a.max() if hasattr(a, "max") else max(a)) + 1


def _typed_array(values, n, what, dtype):
    np = numpy()
    if np is not None:
        a = np.ascontiguousarray(values, dtype=dtype).reshape(-1)
    else:
        ctype = ctypes.c_float if dtype == "float32" else ctypes.c_int64
        conv = float if dtype == "float32" else int
        seq = [conv(x) for x in values]
        a = (ctype * len(seq))(*seq)
    if len(a) != n:
        raise ValueError("aisle: %s has %d entries for %d events" % (what, len(a), n))
    return a


def _ptr(a):
    """The data pointer of a NumPy or ctypes array (None for None)."""
    if a is None:
        return None
    if hasattr(a, "ctypes"):
        return a.ctypes.data_as(ctypes.c_void_p)
    return ctypes.cast(a, ctypes.c_void_p)
