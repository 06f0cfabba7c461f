#!/bin/sh
# scaling_calibrate.sh - the compute rates of docs/SCALING.md's prediction:
# one process, one thread, factors=64, CPU seconds (user + system) of 12
# minus 2 epochs on two logs of different pairs per row (the Video log and
# a generated store), solved for a row-term and a pair-term rate; then
# prints the prediction (bench/scaling_model.py).  About a minute quiet.
set -eu
CLI=${AISLE_CLI:-build/release/bin/aisle}
[ -x "$CLI" ] || CLI=build/mpi/bin/aisle
DATA=${AISLE_SHARED_DATA:-../shared/data}
[ -d "$DATA" ] || DATA=../../shared/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aisle-calib.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -f "$DATA/sasrec/Video.txt" ] || { echo "scaling_calibrate: $DATA/sasrec/Video.txt not found (skipped)"; exit 0; }
"$CLI" generate --out "$tmp/store" --set demo_users=20000 --set demo_items=2000 >/dev/null
echo "load: $(uptime | sed 's/.*load average: //')"
cpu() { # CPU seconds of one training run: DATA EPOCHS INPUT-OPTIONS...
    ev=$1 e=$2; shift 2
    /usr/bin/time -f "%U %S" -o "$tmp/t" "$CLI" train --data "$ev" "$@" --model als --set factors=64 --threads 1 \
        --set epochs=$e --quiet --out "$tmp/m.aisle" >/dev/null
    awk '{print $1 + $2}' "$tmp/t"
}
shape() { # users items pairs of a log: awk on its distinct pairs
    awk -v skip=$2 -v FS="$3" 'FNR > skip && !s[$1 FS $2]++ { n++; if (!u[$1]++) nu++; if (!i[$2]++) ni++ }
        END { print nu, ni, n }' "$1"
}
vid="--delimiter space --no-header --columns user=1,item=2"
v=$(echo "$(cpu "$DATA/sasrec/Video.txt" 2 $vid) $(cpu "$DATA/sasrec/Video.txt" 12 $vid)" | awk '{print ($2 - $1) / 10}')
g=$(echo "$(cpu "$tmp/store/events.csv" 2) $(cpu "$tmp/store/events.csv" 12)" | awk '{print ($2 - $1) / 10}')
rates=$(echo "$v $(shape "$DATA/sasrec/Video.txt" 0 ' ') $g $(shape "$tmp/store/events.csv" 1 ,)" | awk '{
    d = 64; s = 3
    r1 = ($2 + $3) * d * d * (s + 1) + $2 * d * d; p1 = $4 * d * (4 * (s + 1) + 2)
    r2 = ($6 + $7) * d * d * (s + 1) + $6 * d * d; p2 = $8 * d * (4 * (s + 1) + 2)
    det = r1 * p2 - r2 * p1          # t = r / R + p / Q: solve for 1/R, 1/Q
    x = ($1 * p2 - $5 * p1) / det; y = (r1 * $5 - r2 * $1) / det
    printf "%.4g %.4g", 1 / x, 1 / y }')
echo "CPU s per iteration: Video $v, generated store $g"
echo "rates (multiply-adds per CPU second): row term ${rates% *}, pair term ${rates#* }"
echo "load: $(uptime | sed 's/.*load average: //')"
python3 "$(dirname "$0")/scaling_model.py" $rates
