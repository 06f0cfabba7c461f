"""A serving handle (aisle_server): readers lease the current model while
a new one is swapped in and users are updated (docs/SERVING.md)."""
import contextlib
import ctypes

from . import _lib
from ._base import Handle, _busy_lock, add_from_catalog, enc
from .errors import AISLE_ESTATE, StateError, check
from .model import Model
from .serving import float_array, key_array


class _LeasedModel(Model):
    """The model of a lease: usable for reading until the lease ends; it
    never frees the C model (the server owns it)."""

    def close(self):
        self._ptr = None


def _take(model):
    """The C pointer of a Model that is handed to the server (the Python
    object is closed afterwards, as the server owns the model)."""
    if not isinstance(model, Model) or isinstance(model, _LeasedModel):
        raise TypeError("aisle.Server: expected a Model (not a leased one)")
    with _busy_lock:
        if not model._ptr or model._closing or model._busy:
            raise StateError(AISLE_ESTATE, "aisle: the model is closed or in use")
        return model._ptr


class Server(Handle):
    """Serves a model to many threads while it is replaced and updated.

        server = aisle.Server(model)          # the server owns the model now
        with server.lease() as m:             # any thread
            m.recommend("C10001", k=10)
        server.update_user("C10001", ["P00042"])
        server.swap(new_model, replay_since=t)  # t: end of new_model's data

    A lease ends with its `with` block (in the thread that took it; one
    lease per thread at a time); results are valid inside it."""

    _free_name = "server_free"
    _what = "server"

    def __init__(self, model):
        super().__init__()
        ptr = _take(model)
        p = ctypes.c_void_p()
        check(_lib.fn.server_new(ctypes.byref(p), ptr))
        model._ptr = None
        self._adopt(p.value)

    @contextlib.contextmanager
    def lease(self):
        """The current model, for reading, until the block ends."""
        h = self._acquire()
        try:
            p = ctypes.c_void_p()
            check(_lib.fn.server_acquire(h, ctypes.byref(p)))
            leased = _LeasedModel(p.value)
            try:
                yield leased
            finally:
                leased._ptr = None
                check(_lib.fn.server_release(h, p))
        finally:
            self._release()

    def _write(self, fn, *args):
        """A change fn(server, *args) to the current model, while others read."""
        h = self._acquire()
        try:
            check(fn(h, *args))
        finally:
            self._release()

    def update_user(self, user, item_keys, weights=None):
        """Model.update_user on the current model, safe while others read;
        journaled so that swap() can replay it onto a newer model."""
        keys, nk = key_array(item_keys)
        self._write(_lib.fn.server_update_user, enc(user, "user key"), keys, float_array(weights, nk), nk)

    def add_user(self, user, item_keys=(), weights=None):
        """update_user that also takes a user the current model does not
        know: the user is added, then fitted to the events (als, bpr, mf
        fold in; itemknn scores from them; popular records them).  Readers
        see all of it or nothing; swap() replays it.  Kinds that cannot add
        users raise aisle.Unsupported."""
        keys, nk = key_array(item_keys)
        self._write(_lib.fn.server_add_user, enc(user, "user key"), keys, float_array(weights, nk), nk)

    def add_item(self, item, vector=None):
        """Adds an item the current model does not know: als and bpr take
        its factor vector (a sequence of the model's `factors` floats),
        itemknn and popular take None (no neighbours, ranked last, until
        retraining).  Readers see all of it or nothing; swap() replays it
        unless the new model has the item.  mf and kinds without it raise
        aisle.Unsupported."""
        vec = None if vector is None else list(vector)
        n = 0 if vec is None else len(vec)
        self._write(_lib.fn.server_add_item, enc(item, "item key"), float_array(vec, n, "vector"), n)

    def add_items(self, catalog):
        """Model.add_items on the current model while others read (kinds
        hybrid and pair: the catalog's new products, scored from their
        features or text);
        readers see all of it or nothing, and swap() replays it onto the
        next model.  Returns how many products were added."""
        return self._add(_lib.fn.server_add_items, catalog)

    def add_users(self, users):
        """add_items for shoppers (an attribute table, aisle.Catalog)."""
        return self._add(_lib.fn.server_add_users, users)

    def _add(self, fn, catalog):
        return add_from_catalog(self, fn, catalog)

    def swap(self, model, replay_since=0):
        """Makes `model` current (the server owns it afterwards) after
        replaying the updates (and added users and items) made at or after
        replay_since (seconds since the epoch: when the model's training
        data ends); returns how many it took.  Leases of the old model go on until they end."""
        ptr = _take(model)
        n = ctypes.c_size_t()
        h = self._acquire()
        try:
            check(_lib.fn.server_swap(h, ptr, int(replay_since), ctypes.byref(n)))
            model._ptr = None
        finally:
            self._release()
        return n.value
