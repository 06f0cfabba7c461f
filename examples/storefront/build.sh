#!/bin/sh
# Builds the storefront through pkg-config (aisle and libmicrohttpd) and
# aisle.h only.  Search and the help chat are compiled in when the aisle.h
# found declares them (aisle_search, aisle_text_classify).
#   build.sh OUT [extra CFLAGS...]     PKG_CONFIG_PATH picks the aisle.pc
set -eu
out=$1; shift
dir=$(dirname "$0")
cc=${CC:-cc}
hdr="$(pkg-config --variable=includedir aisle)/aisle.h"
[ -f "$hdr" ] || { echo "storefront: aisle.h not found through pkg-config (PKG_CONFIG_PATH)" >&2; exit 1; }
pkg-config --exists libmicrohttpd || { echo "storefront: libmicrohttpd not found (apt-get install libmicrohttpd-dev)" >&2; exit 1; }
srcs="main.c store.c http.c text.c pages.c api.c"
flags=""
features=""
if grep -q 'aisle_search(' "$hdr"; then flags="$flags -DSTOREFRONT_HAVE_SEARCH"; srcs="$srcs search.c"; features="$features search"; fi
if grep -q 'aisle_text_classify(' "$hdr"; then flags="$flags -DSTOREFRONT_HAVE_CHAT"; srcs="$srcs chat.c"; features="$features chat"; fi
libdir=$(pkg-config --variable=libdir aisle)
set --  "$@"
files=""
for s in $srcs; do files="$files $dir/$s"; done
# shellcheck disable=SC2086
$cc -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -DSTOREFRONT_TEMPLATES="\"$(cd "$dir" && pwd)/templates\"" $flags "$@" -o "$out" $files \
    $(pkg-config --cflags --libs aisle libmicrohttpd) -Wl,-rpath,"$libdir" -lm -lpthread
echo "storefront: built $out (library features:${features:- none beyond recommendations})"
