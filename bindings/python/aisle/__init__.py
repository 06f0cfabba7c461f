"""aisle: machine-learning personalization for online shops (Python binding).

A pure-Python ctypes binding of libaisle.so.1; no compile step, standard
library only.  NumPy arrays are accepted, and returned where noted, when
NumPy is installed.  The library is found through AISLE_LIBRARY, a copy next
to this package, or the system loader (see aisle._lib).

    import aisle
    with aisle.Dataset() as ds:
        ds.add("alice", "mug", "purchase")
        ...
        with aisle.Model.train(ds, kind="als", factors=64) as model:
            print(model.recommend("alice", k=10))
"""
from . import _lib
from ._base import Progress
from .config import Config, OptionInfo, options
from .dataset import Dataset
from .errors import (AisleError, InvalidArgument, OutOfMemory, AisleIOError, FormatError, NotFound,
                     OutOfRange, Unsupported, Cancelled, StateError, VersionError, InternalError,
                     strerror, last_error)
from .model import Model, ModelKind, model_kinds

# aisle.IOError reads naturally next to the other classes; it is not in
# __all__ so that `from aisle import *` never shadows the built-in.
IOError = AisleIOError

__version__ = "0.1.0"
library_path = _lib.path


def version():
    """Version string of the loaded libaisle ("0.1.0")."""
    return _lib.fn.version().decode()


def version_number():
    """major*10000 + minor*100 + patch of the loaded libaisle."""
    return _lib.fn.version_number()


__all__ = [
    "AisleError", "InvalidArgument", "OutOfMemory", "AisleIOError", "FormatError", "NotFound",
    "OutOfRange", "Unsupported", "Cancelled", "StateError", "VersionError", "InternalError",
    "Config", "OptionInfo", "options", "Dataset", "Model", "ModelKind", "model_kinds", "Progress",
    "strerror", "last_error", "version", "version_number", "library_path",
]
