"""aisle_config as a Python object, and the option table."""
import collections
import ctypes

from . import _lib
from ._base import Handle, ProgressAdapter, dec, enc, option_text
import difflib

from .errors import check, NotFound, UnknownOption, AISLE_ENOTFOUND

OPTION_INT, OPTION_FLOAT, OPTION_STRING, OPTION_BOOL = 1, 2, 3, 4
_TYPE_NAMES = {OPTION_INT: "int", OPTION_FLOAT: "float", OPTION_STRING: "string", OPTION_BOOL: "bool"}

OptionInfo = collections.namedtuple("OptionInfo", "name type default range scope help")
OptionInfo.__doc__ = "One entry of the library's option table (type is 'int', 'float', 'string' or 'bool')."


def options():
    """Every entry of the option table, as OptionInfo tuples.  A name may
    appear more than once when a model kind narrows a generic option."""
    out = []
    for i in range(_lib.fn.option_count()):
        name, default, rng, scope, hlp = (ctypes.c_char_p() for _ in range(5))
        typ = ctypes.c_int()
        check(_lib.fn.option_info(i, ctypes.byref(name), ctypes.byref(typ), ctypes.byref(default),
                                  ctypes.byref(rng), ctypes.byref(scope), ctypes.byref(hlp)))
        out.append(OptionInfo(dec(name.value), _TYPE_NAMES.get(typ.value, str(typ.value)),
                              dec(default.value), dec(rng.value), dec(scope.value), dec(hlp.value)))
    return out


_types = None


def _option_type(key):
    global _types
    if _types is None:
        t = {}
        for o in options():
            t.setdefault(o.name, o.type)
        _types = t
    return _types.get(key)


class Config(Handle):
    """Options by name, validated by the library's option table.

        cfg = aisle.Config(model="als", factors=64, epochs=15)
        cfg = aisle.Config("model=als factors=64")

    Values may be int, float, bool, str (or NumPy scalars); they are passed
    in their text form, so the library checks types and ranges and its
    error names the option.  Not for concurrent use from several threads
    while being changed."""

    _free_name = "config_free"
    _what = "config"

    def __init__(self, text=None, **options):
        super().__init__()
        p = ctypes.c_void_p()
        check(_lib.fn.config_new(ctypes.byref(p)))
        self._adopt(p.value)
        self._progress = None
        if text:
            self.parse(text)
        self.update(options)

    def set(self, key: str, value) -> None:
        """Sets one option from a Python value (see option_text).  An
        unknown name raises aisle.UnknownOption (a TypeError) naming the
        closest known options; aisle.options() lists them all."""
        rc = _lib.fn.config_set(self._h, enc(key, "option name"), enc(option_text(value), "value"))
        if rc == AISLE_ENOTFOUND and _option_type(str(key)) is None:
            raise unknown_option(key)
        check(rc)

    def update(self, options=None, **kw):
        """Sets several options; stops at the first bad one (earlier ones stay set)."""
        for src in (options or {}, kw):
            for k, v in src.items():
                self.set(k, v)

    def parse(self, text):
        """Parses "key=value key=value" text; all or nothing."""
        check(_lib.fn.config_parse(self._h, enc(text, "text")))

    def unset(self, key):
        check(_lib.fn.config_unset(self._h, enc(key, "option name")))

    def is_set(self, key):
        out = ctypes.c_int()
        check(_lib.fn.config_is_set(self._h, enc(key, "option name"), ctypes.byref(out)))
        return bool(out.value)

    def get(self, key):
        """The option's value (set or default), typed by the option table."""
        k = enc(key, "option name")
        typ = _option_type(dec(k))
        if typ is None:
            # let the library produce its "unknown option" message
            self.get_text(key)
            raise NotFound(AISLE_ENOTFOUND, "aisle: unknown option '%s'" % key)
        if typ in ("int", "bool"):
            v = ctypes.c_int64()
            check(_lib.fn.config_get_int(self._h, k, ctypes.byref(v)))
            return bool(v.value) if typ == "bool" else v.value
        if typ == "float":
            v = ctypes.c_double()
            check(_lib.fn.config_get_float(self._h, k, ctypes.byref(v)))
            return v.value
        return self.get_text(key)

    def get_text(self, key):
        """The option's value in text form."""
        k = enc(key, "option name")
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            rc = _lib.fn.config_get_string(self._h, k, buf, size)
            if rc == -6 and size < (1 << 24):  # AISLE_ERANGE: grow and retry
                size *= 4
                continue
            check(rc)
            return dec(buf.value)

    __setitem__ = set
    __getitem__ = get
    __delitem__ = unset

    def __contains__(self, key):
        return self.is_set(key)

    def copy(self):
        """An independent copy (options and progress callback)."""
        c = Config.__new__(Config)
        Handle.__init__(c)
        p = ctypes.c_void_p()
        check(_lib.fn.config_copy(self._h, ctypes.byref(p)))
        c._adopt(p.value)
        c._progress = self._progress
        return c

    def to_string(self):
        """Every explicitly set option as "key=value" pairs (parse() reads it)."""
        needed = ctypes.c_size_t()
        rc = _lib.fn.config_to_string(self._h, None, 0, ctypes.byref(needed))
        if rc not in (0, -6):
            check(rc)
        buf = ctypes.create_string_buffer(needed.value + 1)
        check(_lib.fn.config_to_string(self._h, buf, needed.value + 1, None))
        return dec(buf.value)

    def set_progress(self, callback):
        """Installs a Python progress callable (None removes it); see aisle.Progress."""
        if callback is None:
            check(_lib.fn.config_set_progress(self._h, _lib.PROGRESS_FN(), None))
            self._progress = None
            return None
        adapter = ProgressAdapter(callback)
        check(_lib.fn.config_set_progress(self._h, adapter.cfunc, None))
        self._progress = adapter  # keeps the ctypes function alive
        return adapter

    def __str__(self):
        return self.to_string() if not self.closed else ""

    def __repr__(self):
        return "aisle.Config(%r)" % (str(self),)


def make_config(config=None, options=None, progress=None):
    """A fresh Config for one call: a copy of `config` (or defaults) with
    `options` and `progress` applied.  Returns (config, adapter)."""
    cfg = config.copy() if config is not None else Config()
    try:
        cfg.update(options or {})
        adapter = cfg.set_progress(progress) if progress is not None else cfg._progress
    except BaseException:
        cfg.close()
        raise
    return cfg, adapter


def unknown_option(key):
    """The UnknownOption for a name not in the option table."""
    names = sorted({o.name for o in options()})
    close = difflib.get_close_matches(str(key), names, n=3)
    hint = ("did you mean %s? " % " or ".join("'%s'" % c for c in close)) if close else ""
    return UnknownOption(AISLE_ENOTFOUND, "aisle: unknown option '%s' (%saisle.options() lists every option; "
                                          "from the shell: aisle help options)" % (key, hint))
