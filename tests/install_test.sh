#!/bin/sh
# Installs aisle into a scratch prefix, then builds examples/hello.c through
# pkg-config against the shared library and against the static one, runs
# both, and uninstalls, checking that nothing is left behind.
set -eu
top=$(pwd)
stage="$top/.stage"
prefix="$stage/usr"
rm -rf "$stage"
make --no-print-directory -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc=${CC:-cc}
$cc -std=c11 -Wall -Wextra -Werror -o "$stage/hello" examples/hello.c $(pkg-config --cflags --libs aisle)
LD_LIBRARY_PATH="$prefix/lib" "$stage/hello"
# the shared build must use the installed libaisle.so.1
LD_LIBRARY_PATH="$prefix/lib" ldd "$stage/hello" | grep -q "$prefix/lib/libaisle.so.1" || {
    echo "install-test: hello does not load $prefix/lib/libaisle.so.1" >&2; exit 1; }
# static: libaisle.a plus the private requirements pkg-config --static gives
$cc -std=c11 -o "$stage/hello_static" examples/hello.c $(pkg-config --cflags aisle) \
    "$prefix/lib/libaisle.a" $(pkg-config --static --libs aisle | sed 's/-laisle//')
"$stage/hello_static"
if ldd "$stage/hello_static" | grep -q libaisle; then echo "install-test: static build loads libaisle.so" >&2; exit 1; fi
"$prefix/bin/aisle" --version >/dev/null
make --no-print-directory -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f | head -5)
if [ -n "$left" ]; then echo "install-test: uninstall left files behind:" >&2; echo "$left" >&2; exit 1; fi
rm -rf "$stage"
echo "install-test: 4 passed, 0 failed"
