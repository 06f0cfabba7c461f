"""aisle_catalog: products with title, description, category, brand, price
and free attributes, joined with datasets and models by item key."""
import ctypes
import math

from . import _lib
from ._base import Handle, dec, enc
from ._loading import Loadable
from .errors import check

_FIELDS = ("title", "description", "category", "brand")


class Catalog(Loadable, Handle):
    """A product catalog.

        with aisle.Catalog() as cat:
            cat.add("P1", title="Blue mug", category="Home > Kitchen", price=9.5, colour="blue")
            cat.text("P1", "title"), cat.price("P1"), cat.attributes("P1")

    Catalog.from_file(path, **options) and load(path, **options) read a
    delimited file (plain or gzip) with options catalog_columns=
    "key=item_id,title=name,...", delimiter, encoding, lenient, ... (see
    aisle.Dataset.load); load_bytes reads one from memory; load_report()
    describes the last load.

    Keys are the item keys of datasets.  One thread at a time may change a
    catalog; reading it from several threads is safe."""

    _free_name = "catalog_free"
    _what = "catalog"
    _load_prefix = "catalog"  # load, load_bytes, load_report, from_file: see _loading.py

    def __init__(self):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.catalog_new(ctypes.byref(p)))
        self._adopt(p.value)

    @classmethod
    def _wrap(cls, ptr):
        cat = cls.__new__(cls)
        Handle.__init__(cat)
        cat._adopt(ptr)
        return cat

    def add(self, key, title=None, description=None, category=None, brand=None, price=None, **attributes):
        """Adds a product or updates the one with this key (fields replaced,
        attributes kept); keyword arguments beyond the fields become
        attributes.  price None means unknown."""
        k = enc(key, "item key")
        check(_lib.fn.catalog_add_item(self._h, k, enc(title, "title"), enc(description, "description"),
                                       enc(category, "category"), enc(brand, "brand"),
                                       float("nan") if price is None else float(price)))
        for name, value in attributes.items():
            self.set_attribute(key, name, value)

    def set_attribute(self, key, name, value):
        check(_lib.fn.catalog_set_attribute(self._h, enc(key, "item key"), enc(name, "attribute name"),
                                            enc(value, "attribute value")))

    def __len__(self):
        out = ctypes.c_size_t()
        check(_lib.fn.catalog_count(self._h, ctypes.byref(out)))
        return out.value

    def __contains__(self, key):
        out = ctypes.c_size_t()
        return _lib.fn.catalog_index(self._h, enc(key, "item key"), ctypes.byref(out)) == 0

    def index(self, key):
        out = ctypes.c_size_t()
        check(_lib.fn.catalog_index(self._h, enc(key, "item key"), ctypes.byref(out)))
        return out.value

    def key(self, index):
        out = ctypes.c_char_p()
        check(_lib.fn.catalog_key(self._h, index, ctypes.byref(out)))
        return dec(out.value)

    def keys(self):
        return [self.key(i) for i in range(len(self))]

    def text(self, key, field):
        """"title", "description", "category", "brand" or an attribute."""
        out = ctypes.c_char_p()
        check(_lib.fn.catalog_item_text(self._h, enc(key, "item key"), enc(field, "field"), ctypes.byref(out)))
        return dec(out.value)

    def price(self, key):
        """The price, or None when unknown."""
        out = ctypes.c_double()
        check(_lib.fn.catalog_item_price(self._h, enc(key, "item key"), ctypes.byref(out)))
        return None if math.isnan(out.value) else out.value

    def attributes(self, key):
        """The product's attributes, in the order first set."""
        k = enc(key, "item key")
        n = ctypes.c_size_t()
        check(_lib.fn.catalog_item_attribute_count(self._h, k, ctypes.byref(n)))
        out = {}
        for i in range(n.value):
            name, value = ctypes.c_char_p(), ctypes.c_char_p()
            check(_lib.fn.catalog_item_attribute(self._h, k, i, ctypes.byref(name), ctypes.byref(value)))
            out[dec(name.value)] = dec(value.value)
        return out

    def item(self, key):
        """Every field of a product as a dict (attributes included)."""
        d = {f: self.text(key, f) for f in _FIELDS}
        d["price"] = self.price(key)
        d.update(self.attributes(key))
        d["key"] = dec(enc(key))
        return d

    def __repr__(self):
        return "<aisle.Catalog closed>" if self.closed else "<aisle.Catalog items=%d>" % len(self)
