"""aisle_model: training, key dictionaries, metrics (serving comes with the
serving API)."""
import collections
import ctypes

from . import _lib
from ._base import Handle, dec, enc
from .config import make_config
from .errors import check

ModelKind = collections.namedtuple("ModelKind", "name summary")


def model_kinds():
    """The model kinds compiled into the library, as (name, summary)."""
    out = []
    for i in range(_lib.fn.model_kind_count()):
        name, summary = ctypes.c_char_p(), ctypes.c_char_p()
        check(_lib.fn.model_kind_info(i, ctypes.byref(name), ctypes.byref(summary)))
        out.append(ModelKind(dec(name.value), dec(summary.value)))
    return out


def _run_with_config(call, config, options, progress):
    """Runs call(cfg_ptr) -> status with a temporary config; re-raises an
    exception from the progress callback in preference to ECANCELLED."""
    cfg, adapter = make_config(config, options, progress)
    try:
        rc = call(cfg._h)
        if adapter is not None:
            adapter.reraise()
        check(rc)
    finally:
        cfg.close()


class Model(Handle):
    """A trained or loaded model.  Immutable once built: its read-only
    methods may be called from many threads at once (ctypes releases the
    GIL during C calls).  Do not close() it while other threads use it."""

    _free_name = "model_free"
    _what = "model"

    def __init__(self, _ptr=None):
        super().__init__()
        if _ptr is None:
            raise TypeError("aisle.Model: use Model.train(...) or Model.load(...)")
        self._adopt(_ptr)

    @classmethod
    def train(cls, dataset, kind=None, *, catalog=None, config=None, progress=None, **options):
        """Trains a model of `kind` ("als", "popular", ... see model_kinds())
        on a Dataset.  Keyword arguments are options (factors=64, epochs=15,
        threads=1, seed=7, ...), applied over a copy of `config`.
        progress(p) is called after each epoch with an aisle.Progress; it
        cancels by returning False (aisle.Cancelled) or by raising (the
        exception is re-raised here)."""
        if kind is not None:
            options["model"] = kind
        out = ctypes.c_void_p()
        cat = catalog._h if catalog is not None else None
        _run_with_config(lambda cfg: _lib.fn.model_train_with_catalog(dataset._h, cat, cfg, ctypes.byref(out)),
                         config, options, progress)
        return cls(out.value)

    @property
    def kind(self):
        out = ctypes.c_char_p()
        check(_lib.fn.model_kind(self._h, ctypes.byref(out)))
        return dec(out.value)

    def describe(self):
        """"key: value" lines: kind, version, sizes, options, metrics."""
        needed = ctypes.c_size_t()
        rc = _lib.fn.model_describe(self._h, None, 0, ctypes.byref(needed))
        if rc not in (0, -6):
            check(rc)
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(_lib.fn.model_describe(self._h, buf, needed.value + 1, None))
        return dec(buf.value)

    def _count(self, f):
        out = ctypes.c_size_t()
        check(f(self._h, ctypes.byref(out)))
        return out.value

    @property
    def n_users(self):
        return self._count(_lib.fn.model_user_count)

    @property
    def n_items(self):
        return self._count(_lib.fn.model_item_count)

    def user_index(self, key):
        out = ctypes.c_size_t()
        check(_lib.fn.model_user_index(self._h, enc(key), ctypes.byref(out)))
        return out.value

    def item_index(self, key):
        out = ctypes.c_size_t()
        check(_lib.fn.model_item_index(self._h, enc(key), ctypes.byref(out)))
        return out.value

    def user_key(self, index):
        out = ctypes.c_char_p()
        check(_lib.fn.model_user_key(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def item_key(self, index):
        out = ctypes.c_char_p()
        check(_lib.fn.model_item_key(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def users(self):
        return [self.user_key(i) for i in range(self.n_users)]

    def items(self):
        return [self.item_key(i) for i in range(self.n_items)]

    def set_metric(self, name, value):
        """Stores a metric with the model (not thread-safe)."""
        check(_lib.fn.model_set_metric(self._h, enc(name, "metric name"), float(value)))

    def get_metric(self, name):
        """A stored metric; raises aisle.NotFound if absent."""
        out = ctypes.c_double()
        check(_lib.fn.model_get_metric(self._h, enc(name, "metric name"), ctypes.byref(out)))
        return out.value

    def __repr__(self):
        if self.closed:
            return "<aisle.Model closed>"
        return "<aisle.Model kind=%s users=%d items=%d>" % (self.kind, self.n_users, self.n_items)
