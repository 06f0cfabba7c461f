"""aisle_dataset: behaviour events keyed by the shop's own ids."""
import ctypes

from . import _lib
from ._base import Handle, dec, enc
from .errors import check


class Dataset(Handle):
    """Events (view, cart, purchase, rating or a custom name) of users on
    items.  Keys map to dense indices 0..n-1 in order of first appearance.

        with aisle.Dataset() as ds:
            ds.add("alice", "mug", "purchase")
            ds.add_events([("bob", "tea"), ("bob", "mug", "cart", 2.0, 1700000000)])

    One thread at a time may change a dataset."""

    _free_name = "dataset_free"
    _what = "dataset"

    def __init__(self, events=None):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.dataset_new(ctypes.byref(p)))
        self._adopt(p.value)
        if events is not None:
            self.add_events(events)

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

    def set_event_weight(self, event, weight):
        """Weight of an event type when aggregating implicit events."""
        check(_lib.fn.dataset_set_event_weight(self._h, enc(event, "event"), float(weight)))

    def _count(self, f):
        out = ctypes.c_size_t()
        check(f(self._h, ctypes.byref(out)))
        return out.value

    @property
    def n_users(self):
        return self._count(_lib.fn.dataset_user_count)

    @property
    def n_items(self):
        return self._count(_lib.fn.dataset_item_count)

    @property
    def n_events(self):
        return self._count(_lib.fn.dataset_event_count)

    def user_index(self, key):
        """Dense index of a user key; raises aisle.NotFound."""
        out = ctypes.c_size_t()
        check(_lib.fn.dataset_user_index(self._h, enc(key), ctypes.byref(out)))
        return out.value

    def item_index(self, key):
        out = ctypes.c_size_t()
        check(_lib.fn.dataset_item_index(self._h, enc(key), ctypes.byref(out)))
        return out.value

    def user_key(self, index):
        """Key of a dense user index; raises aisle.OutOfRange."""
        out = ctypes.c_char_p()
        check(_lib.fn.dataset_user_key(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def item_key(self, index):
        out = ctypes.c_char_p()
        check(_lib.fn.dataset_item_key(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def users(self):
        """Every user key, in index order."""
        return [self.user_key(i) for i in range(self.n_users)]

    def items(self):
        """Every item key, in index order."""
        return [self.item_key(i) for i in range(self.n_items)]

    def __repr__(self):
        if self.closed:
            return "<aisle.Dataset closed>"
        return "<aisle.Dataset users=%d items=%d events=%d>" % (self.n_users, self.n_items, self.n_events)
