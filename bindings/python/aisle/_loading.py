"""The loader wrapper shared by handles that read delimited files
(Catalog, Texts): load a file or bytes through a per-call Config, build
from a file, and read back the load report.  The C functions are found by
the handle's `_load_prefix` ("catalog" -> catalog_load, catalog_load_buffer,
catalog_load_report, catalog_load_message)."""
import ctypes
import os

from . import _lib
from ._base import dec, enc
from .config import make_config
from .dataset import LoadReport
from .errors import check


class Loadable:
    """Mixin for a Handle whose C type has NAME_load, NAME_load_buffer,
    NAME_load_report (three counts) and NAME_load_message."""

    _load_prefix = None

    def _load_fn(self, suffix):
        return getattr(_lib.fn, "%s_%s" % (self._load_prefix, suffix))

    @classmethod
    def from_file(cls, path, config=None, **options):
        """A new handle loaded from a delimited file; see load()."""
        h = cls()
        try:
            h.load(path, config, **options)
        except BaseException:
            h.close()
            raise
        return h

    def load(self, path, config=None, **options):
        """Adds the rows of a delimited file (plain or gzip); all or nothing."""
        p = enc(os.fspath(path), "path")
        cfg, _ = make_config(config, options)
        try:
            check(self._load_fn("load")(self._h, p, cfg._h))
        finally:
            cfg.close()

    def load_bytes(self, data, name=None, config=None, **options):
        """As load(), from bytes in memory; `name` is used in messages."""
        data = bytes(data)
        cfg, _ = make_config(config, options)
        try:
            check(self._load_fn("load_buffer")(self._h, data, len(data), enc(name, "name"), cfg._h))
        finally:
            cfg.close()

    def load_report(self):
        """A LoadReport of the last successful load (rows_filtered is 0)."""
        c = [ctypes.c_size_t() for _ in range(3)]
        check(self._load_fn("load_report")(self._h, *[ctypes.byref(x) for x in c]))
        msgs = []
        message = self._load_fn("load_message")
        while True:
            out = ctypes.c_char_p()
            if message(self._h, len(msgs), ctypes.byref(out)) != 0:
                break
            msgs.append(dec(out.value))
        return LoadReport(c[0].value, c[1].value, c[2].value, 0, msgs)
