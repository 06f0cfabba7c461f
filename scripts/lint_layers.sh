#!/bin/sh
# lint_layers.sh [ROOT] - checks that every #include "..." points down.
#
# The library's modules, bottom to top (docs/ARCHITECTURE.md).  A file in
# src/M may include headers of M itself and of modules listed before M;
# a module missing from this list fails the check, so a new module has to
# be given its place here.
LAYERS="core data features io nn text bert models serve eval dist search forecast api"
#
# The faces (src/cli, examples, bench, docs/gen_options.c) may include only
# the public headers "aisle.h" and "aisle_mpi.h" (the MPI build's extra
# calls) and headers next to them (no directory part).
#
# Prints one line per violation (file:line: what) and exits 1 if any.
set -eu
root=${1:-.}
cd "$root"
files=$(find src examples bench docs -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || { echo "lint-layers: no sources under $root" >&2; exit 1; }
# shellcheck disable=SC2086
awk -v layers="$LAYERS" '
BEGIN { n = split(layers, l, " "); for (i = 1; i <= n; i++) rank[l[i]] = i }
FNR == 1 { checked++ }
/^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
    file = FILENAME; dir = file; sub(/\/[^\/]*$/, "", dir)
    where = file ":" FNR ": "
    if (file ~ /^src\/cli\// || file ~ /^(examples|bench|docs)\//) {
        if (inc != "aisle.h" && inc != "aisle_mpi.h" && (inc ~ /\// || system("test -f \"" dir "/" inc "\"") != 0)) {
            print where "a face includes \"" inc "\" (only \"aisle.h\" and its own headers)"; bad++
        }
        next
    }
    if (file !~ /^src\/[^\/]+\//) next
    split(file, p, "/"); from = p[2]
    if (!(from in rank)) { print where "module src/" from " has no layer in scripts/lint_layers.sh"; bad++; next }
    if (inc ~ /\.\./) { print where "\"" inc "\": include by module path, not .."; bad++; next }
    if (inc !~ /\//) next                       # the module'"'"'s own header
    to = inc; sub(/\/.*$/, "", to)
    if (inc == "aisle.h" || inc == "aisle_mpi.h") next
    if (!(to in rank)) { print where "\"" inc "\" is in no known layer"; bad++; next }
    if (rank[to] > rank[from]) { print where "src/" from " includes \"" inc "\" from the layer above it (src/" to ")"; bad++ }
}
END {
    if (bad) { printf "lint-layers: %d include(s) point up or sideways out of a face\n", bad; exit 1 }
    printf "lint-layers: %d files, every include points down\n", checked
}' $files
