"""Binding tests.  `make test` sets AISLE_LIBRARY and PYTHONPATH; when run
by hand from the source tree, the freshly built lib/ is used."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_pkg = os.path.dirname(_here)
_top = os.path.dirname(os.path.dirname(_pkg))
if "AISLE_LIBRARY" not in os.environ:
    _built = os.path.join(_top, "lib", "libaisle.so.1")
    if os.path.exists(_built):
        os.environ["AISLE_LIBRARY"] = _built
if _pkg not in sys.path:
    sys.path.insert(0, _pkg)
