#!/bin/sh
# mpi_text.sh - the intent transformer's data-parallel step time and
# traffic at 1 and 2 ranks (docs/SCALING.md, "Text encoder"), each rank one
# thread, beside one process of the same CLI in the same run.  Step time =
# (T(1 + N epochs) - T(1 epoch)) / (N x steps per epoch), so loading,
# featurizing, calibration and saving cancel out; CPU is user + system of
# every process (/usr/bin/time around mpirun counts the ranks).  Bytes are
# what rank 0 hands to MPI per step (the JSON summary's total, differenced
# the same way), beside the dense sum's: 2 (P - 1)/P x 4 x n (the ordered
# gradient sum of the store's n floats: the parameters plus the spare
# bucket row) + 2 (P - 1)/P x (bucket rows + 4) (the touched flags, or-ed)
# + 8 (P - 1) (the loss).  The steps sum only the touched bucket rows
# (dense + touched rows x d floats in place of n); the row "-np 2 dense"
# forces the whole table's sum (AISLE_DIST_DENSE_SUM=1), what a step sent
# before.  Data: bitext-cs (../shared/data), the whole corpus, no
# calibration split (steps = ceil(texts / batch_size)).
#   sh bench/mpi_text.sh            (BENCH_EPOCHS=N, default 2; about a minute when quiet)
set -eu
CLI=${AISLE_MPI_CLI:-build/mpi/bin/aisle}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
DATA=${AISLE_SHARED_DATA:-../shared/data}
[ -d "$DATA" ] || DATA=../../shared/data
N=${BENCH_EPOCHS:-2}
csv=$(ls "$DATA"/bitext-cs/*.csv 2>/dev/null | head -n 1 || true)
[ -n "$csv" ] || { echo "mpi_text: bitext-cs not found under $DATA: skipped"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisle-bench-mpitext.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
opts="--model intent --columns text=utterance,label=intent --set architecture=transformer --set calibration_fraction=0 \
    --threads 1 --set blas_threads=1 --quiet --json"
# run LABEL EPOCHS CMD...: prints "wall cpu bytes texts params" of one run
run() {
    e=$1; shift
    /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$@" --data "$csv" $opts --set epochs="$e" --out "$tmp/m.aisle" \
        > "$tmp/out.json"
    bytes=$(sed -n 's/.*"rank0_bytes_sent": \([0-9.e+]*\).*/\1/p' "$tmp/out.json")
    texts=$(sed -n 's/.*"texts": \([0-9]*\).*/\1/p' "$tmp/out.json")
    "$CLI" info --model "$tmp/m.aisle" > "$tmp/info"
    params=$(sed -n 's/^parameters: //p' "$tmp/info")
    hidden=$(sed -n 's/^transformer_hidden: //p' "$tmp/info")
    rows=$(sed -n 's/^transformer_rows: //p' "$tmp/info")
    awk -v b="${bytes:-0}" -v t="$texts" -v n="$((params + hidden))" -v r="$((rows + 4))" \
        '{ printf "%s %.3f %s %s %s %s\n", $1, $2 + $3, b, t, n, r }' "$tmp/time"
}
echo "# mpi_text: $csv, $N + 1 vs 1 epochs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-14s %10s %10s %12s %12s\n" config "s/step" "CPU s/step" "B/step" "model B/step"
for p in 0 1 2 2d; do
    dense=0
    case $p in 2d) p=2; dense=1 ;; esac
    if [ $p -eq 0 ]; then cmd="$CLI train"; name="one process"; else cmd="$MPIRUN -np $p $CLI train --distributed"; name="-np $p"; fi
    [ $dense -eq 1 ] && name="-np $p dense"
    export AISLE_DIST_DENSE_SUM=$dense
    # shellcheck disable=SC2086
    a=$(run 1 $cmd); b=$(run $((N + 1)) $cmd)
    echo "$a $b" | awk -v n="$N" -v p="$p" -v name="$name" '{
        steps = int(($4 + 31) / 32) * n; q = p < 1 ? 1 : p
        model = (q > 1) ? 2 * (q - 1) / q * (4 * $5 + $6) + 8 * (q - 1) : 0
        printf "%-14s %10.4f %10.4f %12.0f %12.0f\n", name, ($7 - $1) / steps, ($8 - $2) / steps, ($9 - $3) / steps, model }'
done
