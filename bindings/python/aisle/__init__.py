"""aisle: machine-learning personalization for online shops (Python binding).

A pure-Python ctypes binding of libaisle.so.1; no compile step, standard
library only.  NumPy arrays are accepted, and returned where noted, when
NumPy is installed; with NumPy (and SciPy for sparse matrices) a model
trains from index arrays or a CSR matrix (Dataset.from_indices,
Dataset.from_csr), exposes user_factors / item_factors as arrays, scores
and recommends for arrays of indices, and pickles (through to_bytes).  The library is found through AISLE_LIBRARY, a copy next
to this package, or the system loader (see aisle._lib).

    import aisle
    with aisle.Dataset() as ds:
        ds.add("alice", "mug", "purchase")
        ...
        with aisle.Model.train(ds, kind="als", factors=64) as model:
            print(model.recommend("alice", k=10))
"""
import ctypes
import os

from . import _lib
from ._base import Progress, enc
from .config import Config, OptionInfo, make_config, options
from .bert import Bert
from .catalog import Catalog
from .dataset import Dataset, LoadReport
from .errors import (AisleError, InvalidArgument, OutOfMemory, AisleIOError, FormatError, NotFound,
                     UnknownOption, OutOfRange, Unsupported, Cancelled, StateError, VersionError, InternalError,
                     check, strerror, last_error)
from .features import (Tokenizer, Hasher, TfIdf, CategoryEncoder, NumericEncoder, SparseVector,
                       Token, hash32, sparse_dot)
from .model import Model, ModelKind, EvalResult, Recommendations, model_kinds
from .serving import RecOptions, ScanStats, scan_stats
from .server import Server
from .text import Texts, TextEval, Classification, train_text
from .search import SearchIndex, SearchResults, Hit
from .forecast import Forecast, Period, Reorder, backtest

# aisle.IOError reads naturally next to the other classes; it is not in
# __all__ so that `from aisle import *` never shadows the built-in.
IOError = AisleIOError

__version__ = "0.1.0"
library_path = _lib.path


def demo_dataset(config=None, **options):
    """The built-in synthetic shop's behaviour events as a new Dataset.
    Options: demo_users (5000), demo_items (2000), demo_days (90), seed;
    the same options give the same store everywhere.  User keys are
    "C10000".., item keys "P00001".."""
    p = ctypes.c_void_p()
    cfg, _ = make_config(config, options)
    try:
        check(_lib.fn.demo_generate(cfg._h, ctypes.byref(p)))
    finally:
        cfg.close()
    return Dataset._wrap(p.value)


def demo_catalog(config=None, **options):
    """The demo store's products (same options as demo_dataset) as a new
    Catalog: title, description, category path, brand and price."""
    p = ctypes.c_void_p()
    cfg, _ = make_config(config, options)
    try:
        check(_lib.fn.demo_catalog(cfg._h, ctypes.byref(p)))
    finally:
        cfg.close()
    return Catalog._wrap(p.value)


def demo_write(directory, config=None, **options):
    """Writes the demo store as events.csv, catalog.csv and messages.csv
    into directory (created if missing)."""
    cfg, _ = make_config(config, options)
    try:
        check(_lib.fn.demo_write(cfg._h, enc(os.fspath(directory), "directory")))
    finally:
        cfg.close()


def version():
    """Version string of the loaded libaisle ("0.1.0")."""
    return _lib.fn.version().decode()


def version_number():
    """major*10000 + minor*100 + patch of the loaded libaisle."""
    return _lib.fn.version_number()


__all__ = [
    "AisleError", "InvalidArgument", "OutOfMemory", "AisleIOError", "FormatError", "NotFound", "UnknownOption",
    "Recommendations",
    "OutOfRange", "Unsupported", "Cancelled", "StateError", "VersionError", "InternalError",
    "Config", "RecOptions", "ScanStats", "scan_stats", "Server", "OptionInfo", "options", "Dataset", "LoadReport", "Catalog", "Tokenizer", "Hasher", "TfIdf",
    "CategoryEncoder", "NumericEncoder", "SparseVector", "Token", "hash32", "sparse_dot", "Model", "ModelKind",
    "EvalResult", "model_kinds", "Progress", "Bert", "demo_dataset", "demo_catalog", "demo_write",
    "strerror", "last_error", "version", "version_number", "library_path", "SearchIndex", "SearchResults", "Hit",
    "Forecast", "Period", "Reorder", "backtest",
]
