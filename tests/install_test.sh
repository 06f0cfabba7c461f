#!/bin/sh
# Installs aisle into a scratch prefix, then builds examples/hello.c through
# pkg-config against the shared library and against the static one, runs
# both, builds examples/hello.cpp (C++) with the documented rpath and runs it
# with an EMPTY environment, checks when `make install` runs ldconfig, and
# uninstalls, checking that nothing is left behind.  With
# AISLE_TEST_SYSTEM_INSTALL=1 (as root; CI sets it on its throw-away machine)
# it also installs into /usr/local and runs a C++ program linked without
# rpath and without LD_LIBRARY_PATH (found through ldconfig's cache).
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
# C++ against the installed prefix, the rpath from pkg-config's libdir: runs
# with no environment variable at all
cxx=${CXX:-c++}
$cxx -std=c++11 -Wall -Wextra -Werror -o "$stage/hello_cpp" examples/hello.cpp $(pkg-config --cflags --libs aisle) \
    -Wl,-rpath,"$(pkg-config --variable=libdir aisle)"
env -i "$stage/hello_cpp" | grep -q "from C++: 2 recommendation" || {
    echo "install-test: the C++ program built with rpath did not run without environment" >&2; exit 1; }
env -i ldd "$stage/hello_cpp" | grep -q "$prefix/lib/libaisle.so.1" || {
    echo "install-test: hello_cpp does not load $prefix/lib/libaisle.so.1 through its rpath" >&2; exit 1; }
# ldconfig: run by install as root into a loader directory, never for a
# scratch prefix or a staged (DESTDIR) install
if [ "$(id -u)" = 0 ]; then want=yes; else want=no; fi
[ "$(make --no-print-directory -s print-ldconfig PREFIX=/usr/local)" = $want ] || {
    echo "install-test: make install PREFIX=/usr/local would not run ldconfig as uid $(id -u)" >&2; exit 1; }
[ "$(make --no-print-directory -s print-ldconfig PREFIX="$prefix")" = no ] || {
    echo "install-test: make install would run ldconfig for the scratch prefix" >&2; exit 1; }
[ "$(make --no-print-directory -s print-ldconfig PREFIX=/usr/local DESTDIR="$stage/dest")" = no ] || {
    echo "install-test: make install would run ldconfig for a DESTDIR install" >&2; exit 1; }
make --no-print-directory -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f | head -5)
if [ -n "$left" ]; then echo "install-test: uninstall left files behind:" >&2; echo "$left" >&2; exit 1; fi
checks=7
if [ "${AISLE_TEST_SYSTEM_INSTALL:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
    make --no-print-directory -s install PREFIX=/usr/local >/dev/null
    $cxx -std=c++11 -o "$stage/hello_sys" examples/hello.cpp -I/usr/local/include -L/usr/local/lib -laisle
    status=0
    env -i "$stage/hello_sys" | grep -q "from C++" || status=1
    make --no-print-directory -s uninstall PREFIX=/usr/local >/dev/null
    ldconfig
    [ $status = 0 ] || { echo "install-test: after make install into /usr/local a program cannot find libaisle.so.1" >&2; exit 1; }
    checks=$((checks + 1))
fi
rm -rf "$stage"
echo "install-test: $checks passed, 0 failed"
