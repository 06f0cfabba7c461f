#!/bin/sh
# p2p_rows.sh - the rows distributed ALS's point-to-point exchange sends
# per iteration (user rows once, item rows once), counted exactly on an
# event file and predicted by the
# model of docs/SCALING.md (make bench-mpi runs it on the bench data).
#   usage: sh bench/p2p_rows.sh EVENTS [SKIP_LINES] [FS] [P ...]
# Keys are numbered by first appearance and cut into the blocks of
# src/dist (rank of row r of n: floor(r P / n)); every distinct (user,
# item) pair counts (their weights are positive in the bench data).
# Counted: user rows sent = sum over users of the other ranks owning one of
# its items; item rows sent = sum over items of the other ranks owning one
# of its users.  Model (owners independent of the pairs): a row with k
# distinct partners is sent to (P - 1)(1 - (1 - 1/P)^k) other ranks, summed
# over the rows with their actual k.  The all-gather sends (U + I)(P - 1).
set -eu
ev=$1; skip=${2:-0}; fs=${3:- }
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] || set -- 2 4 8 16 64
printf "%6s %12s %12s %12s %12s %12s %10s\n" P "user rows" "model" "item rows" "model" "all-gather" "p2p/ag"
for P in "$@"; do
    awk -v P=$P -v skip=$skip -v FS="$fs" '
        FNR <= skip { next }
        NR == FNR { if (!($1 in U)) U[$1] = nu++; if (!($2 in I)) I[$2] = ni++; next }
        {   u = U[$1]; i = I[$2]
            if ((u, i) in seen) next
            seen[u, i] = 1; ku[u]++; ki[i]++
            ou = int(u * P / nu); oi = int(i * P / ni)
            if (oi != ou && !((u, oi) in su)) { su[u, oi] = 1; ur++ }
            if (ou != oi && !((i, ou) in si)) { si[i, ou] = 1; ir++ } }
        END {
            q = 1 - 1 / P
            for (u in ku) mu += (P - 1) * (1 - q ^ ku[u])
            for (i in ki) mi += (P - 1) * (1 - q ^ ki[i])
            ag = (nu + ni) * (P - 1)
            printf "%6d %12d %12.0f %12d %12.0f %12d %10.3f\n", P, ur, mu, ir, mi, ag, (ur + ir) / ag }' "$ev" "$ev"
done
