#!/bin/sh
# mpi_scaling.sh - distributed ALS iteration time and traffic at 1, 2 and 4
# ranks, for both factor exchanges (AISLE_DIST_EXCHANGE=allgather and p2p;
# make bench-mpi; docs/SCALING.md).  Each rank runs one thread.  The
# peer is one process of the same CLI (threads=1 and threads=2) in the same
# run.  Iteration time = (T(2 + N epochs) - T(2 epochs)) / N (N = BENCH_EPOCHS,
# default 20: an iteration takes tens of milliseconds), so loading,
# merging and saving cancel out.  Bytes are what rank 0 hands to MPI per
# epoch (the payload of the all-gathers and reductions: on one machine
# OpenMPI moves them through shared memory, so there is no wire to count),
# printed beside the model of docs/SCALING.md:
#     all-gather: (own users + own items) x d x 4 x (P - 1)
#     p2p: (rows of rank 0 that each other rank needs) x d x 4 plus two Gram
#          matrices summed in rank order, 2 x 4 x (d^2 - m + m (P - 1)), m = d^2/P
#     both: the loss sums, 2 doubles all-reduced (2 (P - 1)/P x 16)
# The rows needed are counted here from the events (awk: keys numbered by
# first appearance, blocks as src/dist, every pair's weight positive).
# Data: the SASRec Amazon Video Games log (../shared/data/sasrec/Video.txt,
# 287k events) when present, else a generated store.
set -eu
CLI=${AISLE_MPI_CLI:-build/mpi/bin/aisle}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
DATA=${AISLE_SHARED_DATA:-../shared/data}
[ -d "$DATA" ] || DATA=../../shared/data
D=${BENCH_FACTORS:-32}
N=${BENCH_EPOCHS:-20}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisle-bench-mpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -f "$DATA/sasrec/Video.txt" ]; then
    ev="$DATA/sasrec/Video.txt"; input="--delimiter space --no-header --columns user=1,item=2"; fs=" "; skip=0
    echo "data: $ev"
else
    "$CLI" generate --out "$tmp/store" --set demo_users=20000 --set demo_items=5000 >/dev/null
    ev="$tmp/store/events.csv"; input=""; fs=","; skip=1
    echo "data: generated store ($ev; shared data not found)"
fi
echo "machine: $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
opts="--model als --set factors=$D --quiet --json $input"

# CPU seconds (user + system) of the shell's finished children, from the
# `times` output in file $1: the command and, under mpirun, every rank
# (mpirun waits for them)
cpu() { awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
# "wall cpu" seconds of one run (around the whole command); waiting ranks
# poll (OpenMPI's default), so CPU time counts their waits too.  `times`
# runs in this shell, not in a command substitution (which would count
# only its own children: none)
run() {
    times > "$tmp/t0"
    s=$(date +%s.%N)
    "$@" > "$tmp/out.json"
    e=$(date +%s.%N)
    times > "$tmp/t1"
    echo "$s $e $(cpu "$tmp/t0") $(cpu "$tmp/t1")" | awk '{printf "%.3f %.3f", $2 - $1, $4 - $3}'
}
# per iteration from the runs of 2 and 2 + N epochs: "wall cpu"
per_iter() { echo "$1 $2" | awk -v n=$N '{printf "%.3f %.3f", ($3 - $1) / n, ($4 - $2) / n}'; }
field() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p" "$tmp/out.json"; }
# the model's bytes per epoch sent by rank 0: model MODE P
model() {
    awk -v mode=$1 -v P=$2 -v d=$D -v skip=$skip -v FS="$fs" '
        FNR <= skip { next }
        NR == FNR { if (!($1 in U)) U[$1] = nu++; if (!($2 in I)) I[$2] = ni++; next }
        {   u = U[$1]; i = I[$2]; ou = int(u * P / nu); oi = int(i * P / ni)
            if (ou == 0 && oi != 0 && !((u, oi) in su)) { su[u, oi] = 1; rows++ }
            if (oi == 0 && ou != 0 && !((i, ou) in si)) { si[i, ou] = 1; rows++ } }
        END {
            loss = P > 1 ? 2 * (P - 1) / P * 16 : 0
            if (mode == "allgather") { b = (int((nu + P - 1) / P) + int((ni + P - 1) / P)) * d * 4 * (P - 1) + loss }
            else { g = d * d; m = int(g / P) + (g % P > 0); b = rows * d * 4 + loss; if (P > 1) b += 2 * 4 * (g - m + m * (P - 1)) }
            printf "%.3f", b / 1e6 }' "$ev" "$ev"
}

printf "%-26s %10s %12s %12s %14s %14s\n" "configuration" "s/iter" "CPU s/iter" "vs 1 rank" "MB/epoch r0" "model MB"
base=""
for t in 1 2; do
    a=$(run "$CLI" train --data "$ev" $opts --threads $t --set epochs=2 --out "$tmp/m.aisle")
    b=$(run "$CLI" train --data "$ev" $opts --threads $t --set epochs=$((2 + N)) --out "$tmp/m.aisle")
    set -- $(per_iter "$a" "$b")
    printf "%-26s %10s %12s %12s %14s %14s\n" "one process, $t thread(s)" "$1" "$2" "-" "0" "0"
done
for mode in allgather p2p; do
    export AISLE_DIST_EXCHANGE=$mode
    for np in 1 2 4; do
        a=$(run $MPIRUN -x AISLE_DIST_EXCHANGE -np $np "$CLI" train --distributed --data "$ev" $opts --threads 1 --set epochs=2 --out "$tmp/m.aisle")
        b=$(run $MPIRUN -x AISLE_DIST_EXCHANGE -np $np "$CLI" train --distributed --data "$ev" $opts --threads 1 --set epochs=$((2 + N)) --out "$tmp/m.aisle")
        set -- $(per_iter "$a" "$b")
        it=$1 cpu_it=$2
        [ -n "$base" ] || base=$it
        users=$(field users); items=$(field items); sent=$(field rank0_bytes_sent_per_epoch)
        printf "%-26s %10s %12s %12s %14s %14s\n" "$mode -np $np (1 thread)" "$it" "$cpu_it" \
            "$(echo "$base $it" | awk '{if ($1 > 0 && $2 > 0) printf "%.2fx", $1 / $2; else print "n/a"}')" "$(echo "$sent" | awk '{printf "%.3f", $1/1e6}')" \
            "$(model $mode $np)"
    done
done
echo "users $users, items $items, factors $D; vs 1 rank: wall against all-gather at 1 rank (n/a: the load"
echo "made a difference negative: compare CPU time, or rerun quiet)"
echo "rows the p2p exchange sends, counted and modelled (bench/p2p_rows.sh; docs/SCALING.md):"
sh "$(dirname "$0")/p2p_rows.sh" "$ev" "$skip" "$fs" 2 4
