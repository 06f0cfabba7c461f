#!/bin/sh
# The Python package installs offline, as docs/BINDINGS.md says:
#   pip install --no-build-isolation ./bindings/python
# (no index, no download: setuptools and wheel come from the system).  The
# install goes to a scratch --target so the system is untouched; the
# installed package then loads lib/libaisle.so.1 and trains a model.
set -eu
top=$(pwd)
py=${PYTHON:-python3}
dest="$top/build/python-install-test"
rm -rf "$dest"
mkdir -p "$dest"
trap 'rm -rf "$dest"' EXIT
# pip builds in a copy of the source tree when it is read-only; the build/
# and *.egg-info it may leave in bindings/python are removed afterwards
"$py" -m pip install --quiet --no-build-isolation --no-index --no-deps --no-cache-dir --target "$dest/site" \
    ./bindings/python > "$dest/pip.log" 2>&1 || {
    cat "$dest/pip.log" >&2; echo "python-install-test: pip install --no-build-isolation failed" >&2; exit 1; }
rm -rf bindings/python/build bindings/python/aisle.egg-info
[ -f "$dest/site/aisle/__init__.py" ] || { echo "python-install-test: aisle not installed in $dest/site" >&2; exit 1; }
(cd "$dest" && PYTHONPATH="$dest/site" AISLE_LIBRARY="$top/lib/libaisle.so.1" "$py" -c '
import aisle, os
assert os.path.dirname(aisle.__file__).startswith(os.environ["PYTHONPATH"]), aisle.__file__
ds = aisle.Dataset([("a", "x"), ("a", "y"), ("b", "x"), ("c", "y"), ("c", "z")])
m = aisle.Model.train(ds, kind="popular")
print("installed aisle", aisle.__version__, "->", m.recommend("b", k=2))
') || { echo "python-install-test: the installed package does not work" >&2; exit 1; }
echo "python-install-test: 1 passed, 0 failed"
