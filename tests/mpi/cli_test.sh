#!/bin/sh
# cli_test.sh - `aisle train --distributed` end to end (run by make test-mpi):
# the model file equals one process's byte for byte at 2 and 3 ranks; a rank
# killed mid-training ends the job within a timeout, naming the rank; the
# rerun resumes from the checkpoint and ends with the same model (als, and
# sasrec and mf: a killed rank, a refused rank count); the intent
# transformer (data parallel over texts; killed and resumed); a bad row
# fails every rank with one message naming rank, file and line.
set -u
CLI=${AISLE_MPI_CLI:-build/mpi/bin/aisle}
MPIRUN=${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}
dir=$(mktemp -d "${TMPDIR:-/tmp}/aisle-mpi-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "cli_test: FAIL: $*" >&2; exit 1; }
opts="--model als --set factors=8 --set epochs=6 --threads 1 --quiet"

"$CLI" generate --out "$dir/store" --set demo_users=600 --set demo_items=300 >/dev/null || fail "generate"
ev="$dir/store/events.csv"
"$CLI" train --data "$ev" $opts --out "$dir/one.aisle" >/dev/null || fail "one-process train"
for np in 2 3; do
    timeout 120 $MPIRUN -np $np "$CLI" train --distributed --data "$ev" $opts --out "$dir/d$np.aisle" \
        > "$dir/d$np.log" 2>&1 || { cat "$dir/d$np.log"; fail "distributed train at $np ranks"; }
    cmp -s "$dir/one.aisle" "$dir/d$np.aisle" || fail "model file at $np ranks differs from one process's"
    grep -q "over $np ranks" "$dir/d$np.log" || fail "summary line missing at $np ranks"
done
echo "cli_test: model files at 2 and 3 ranks equal one process's"

# rank 1 dies at the start of epoch 4 (test hook, src/dist/checkpoint.c); a
# checkpoint was saved after each epoch before that
start=$(date +%s)
AISLE_DIST_KILL=1:4 timeout 60 $MPIRUN -np 3 "$CLI" train --distributed --data "$ev" $opts \
    --checkpoint "$dir/ckpt" --checkpoint-every 1 --out "$dir/killed.aisle" > "$dir/killed.log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] || fail "a killed rank ended the job with status 0"
[ $rc -ne 124 ] || fail "a killed rank left the job hanging (timeout)"
grep -q "rank 1" "$dir/killed.log" || { cat "$dir/killed.log"; fail "the job's end does not name rank 1"; }
grep -qi "signal 9\|killed" "$dir/killed.log" || { cat "$dir/killed.log"; fail "the job's end does not say why"; }
[ ! -e "$dir/killed.aisle" ] || fail "a model file was written by a failed job"
[ -f "$dir/ckpt" ] || fail "no checkpoint was saved before the kill"
echo "cli_test: killed rank ended the job in ${took}s (status $rc), naming rank 1"

timeout 120 $MPIRUN -np 3 "$CLI" train --distributed --data "$ev" $opts --checkpoint "$dir/ckpt" --checkpoint-every 1 \
    --out "$dir/resumed.aisle" > "$dir/resumed.log" 2>&1 || { cat "$dir/resumed.log"; fail "resume"; }
cmp -s "$dir/one.aisle" "$dir/resumed.aisle" || fail "the resumed model differs from the uninterrupted one"
echo "cli_test: resumed from the checkpoint to the same model"

# a bad row in the last shard: one message from rank 0 naming the failing rank
cp "$ev" "$dir/bad.csv"
echo "C1,P1,view,many,1767225707" >> "$dir/bad.csv"
lines=$(wc -l < "$dir/bad.csv")
timeout 60 $MPIRUN -np 3 "$CLI" train --distributed --data "$dir/bad.csv" $opts --out "$dir/bad.aisle" \
    > "$dir/bad.log" 2>&1
rc=$?
[ $rc -eq 1 ] || { cat "$dir/bad.log"; fail "bad row: status $rc, expected 1"; }
n=$(grep -c "aisle: error:" "$dir/bad.log")
[ "$n" -eq 1 ] || { cat "$dir/bad.log"; fail "bad row: $n error lines, expected one"; }
grep -q "rank 2: $dir/bad.csv:$lines:" "$dir/bad.log" || { cat "$dir/bad.log"; fail "bad row: message lacks rank, file and line"; }
echo "cli_test: a bad row fails every rank with one message naming rank 2, file and line $lines"

# eval --distributed prints what one process prints
total=$(wc -l < "$ev")
head -n $((total - 3000)) "$ev" > "$dir/train.csv"
{ head -n 1 "$ev"; tail -n 3000 "$ev"; } > "$dir/test.csv"
"$CLI" train --data "$dir/train.csv" $opts --out "$dir/train.aisle" >/dev/null || fail "train for eval"
"$CLI" eval --model "$dir/train.aisle" --data "$dir/test.csv" --threads 1 > "$dir/eval1.txt" || fail "one-process eval"
timeout 120 $MPIRUN -np 3 "$CLI" eval --distributed --model "$dir/train.aisle" --data "$dir/test.csv" --threads 1 \
    > "$dir/eval3.txt" 2> "$dir/eval3.err" || { cat "$dir/eval3.err"; fail "distributed eval"; }
cmp -s "$dir/eval1.txt" "$dir/eval3.txt" || { diff "$dir/eval1.txt" "$dir/eval3.txt"; fail "eval --distributed differs"; }
grep -q "ndcg@10" "$dir/eval3.txt" || fail "eval --distributed printed no metrics"
echo "cli_test: eval --distributed at 3 ranks prints one process's metrics"

# sasrec: synchronous data parallelism from the same command line; the
# model is an ordinary file that one process evaluates
sopts="--model sasrec --set hidden=16 --set heads=2 --set blocks=1 --set epochs=2 --set batch_size=32 --threads 1 --quiet"
timeout 300 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/train.csv" $sopts --out "$dir/sasrec.aisle" \
    > "$dir/sasrec.log" 2>&1 || { cat "$dir/sasrec.log"; fail "distributed sasrec"; }
grep -q "trained sasrec .* over 2 ranks" "$dir/sasrec.log" || { cat "$dir/sasrec.log"; fail "sasrec summary line"; }
"$CLI" eval --model "$dir/sasrec.aisle" --data "$dir/test.csv" --threads 1 > "$dir/sasrec_eval.txt" || fail "sasrec eval"
grep -q "ndcg@10" "$dir/sasrec_eval.txt" || fail "sasrec eval printed no metrics"
echo "cli_test: distributed sasrec at 2 ranks trains a model one process evaluates"

# sasrec with checkpoints: rank 1 dies at the start of epoch 2 (test hook,
# src/dist/checkpoint.c); the rerun resumes after epoch 1 and ends with the
# uninterrupted model byte for byte (optimizer state and random stream
# restored)
AISLE_DIST_KILL=1:2 timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/train.csv" $sopts \
    --checkpoint "$dir/s.ckpt" --checkpoint-every 1 --out "$dir/sasrec2.aisle" > "$dir/sasrec_kill.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$dir/sasrec_kill.log"; fail "sasrec: a killed rank gave status $rc"; }
grep -q "rank 1" "$dir/sasrec_kill.log" || { cat "$dir/sasrec_kill.log"; fail "sasrec: the end does not name rank 1"; }
[ -f "$dir/s.ckpt" ] && [ ! -e "$dir/sasrec2.aisle" ] || fail "sasrec: checkpoint missing or model written by a failed job"
timeout 300 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/train.csv" $sopts --checkpoint "$dir/s.ckpt" \
    --checkpoint-every 1 --out "$dir/sasrec2.aisle" > "$dir/sasrec_ckpt.log" 2>&1 || { cat "$dir/sasrec_ckpt.log"; fail "sasrec resume"; }
cmp -s "$dir/sasrec.aisle" "$dir/sasrec2.aisle" || fail "sasrec: the resumed model differs from the uninterrupted one"
echo "cli_test: sasrec killed at epoch 2 of 2 ranks resumed to the uninterrupted model"

# mf by DSGD: at one rank the model file is one process's byte for byte; at
# 3 ranks it trains a model the plain CLI reads
awk 'BEGIN { print "user_id,item_id,event,quantity,timestamp"; srand(5);
    for (k = 0; k < 4000; k++) printf "u%d,i%d,rating,%d,%d\n", int(rand() * 300), int(rand() * 120), 1 + int(rand() * 5), 1000 + k }' \
    > "$dir/ratings.csv"
mopts="--model mf --set factors=8 --set epochs=5 --threads 1 --quiet"
"$CLI" train --data "$dir/ratings.csv" $mopts --out "$dir/mf1.aisle" >/dev/null || fail "one-process mf"
timeout 120 $MPIRUN -np 1 "$CLI" train --distributed --data "$dir/ratings.csv" $mopts --out "$dir/mfd1.aisle" \
    > "$dir/mf.log" 2>&1 || { cat "$dir/mf.log"; fail "distributed mf at 1 rank"; }
cmp -s "$dir/mf1.aisle" "$dir/mfd1.aisle" || fail "mf at 1 rank differs from one process"
timeout 120 $MPIRUN -np 3 "$CLI" train --distributed --data "$dir/ratings.csv" $mopts --out "$dir/mfd3.aisle" \
    > "$dir/mf.log" 2>&1 || { cat "$dir/mf.log"; fail "distributed mf at 3 ranks"; }
grep -q "trained mf .* over 3 ranks" "$dir/mf.log" || { cat "$dir/mf.log"; fail "mf summary line"; }
"$CLI" info --model "$dir/mfd3.aisle" | grep -q "implicit_feedback: true" || fail "mf at 3 ranks: info"
echo "cli_test: distributed mf equals one process at 1 rank and trains at 3"

# an mf checkpoint written at 3 ranks: refused at 2 (the DSGD strata depend
# on the rank count), and at 3 it resumes the finished run to the same file
timeout 120 $MPIRUN -np 3 "$CLI" train --distributed --data "$dir/ratings.csv" $mopts --checkpoint "$dir/m.ckpt" \
    --checkpoint-every 2 --out "$dir/mfc3.aisle" > "$dir/mf.log" 2>&1 || { cat "$dir/mf.log"; fail "mf with checkpoints"; }
cmp -s "$dir/mfd3.aisle" "$dir/mfc3.aisle" || fail "mf: checkpoints changed the model"
timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/ratings.csv" $mopts --checkpoint "$dir/m.ckpt" \
    --checkpoint-every 2 --out "$dir/mfc2.aisle" > "$dir/mf.log" 2>&1
[ $? -eq 1 ] || { cat "$dir/mf.log"; fail "mf: a 3-rank checkpoint at 2 ranks was not refused"; }
grep -q "field 'ranks'" "$dir/mf.log" || { cat "$dir/mf.log"; fail "mf: the refusal does not name the field"; }
timeout 120 $MPIRUN -np 3 "$CLI" train --distributed --data "$dir/ratings.csv" $mopts --checkpoint "$dir/m.ckpt" \
    --checkpoint-every 2 --out "$dir/mfc3b.aisle" > "$dir/mf.log" 2>&1 || { cat "$dir/mf.log"; fail "mf resume"; }
cmp -s "$dir/mfd3.aisle" "$dir/mfc3b.aisle" || fail "mf: resuming a finished run changed the model"
echo "cli_test: an mf checkpoint of 3 ranks is refused at 2 (field 'ranks') and resumes at 3"

# the intent transformer: every rank loads the whole corpus and the ranks
# split each step's batch of texts; at one rank the file is one process's
# byte for byte, at 2 it classifies like it; a killed rank (rank 1 at the
# start of epoch 2) ends the job naming the rank
awk 'BEGIN { print "text,label"; srand(3); split("refund money back return", a); split("where parcel track delivery", b);
    for (k = 0; k < 240; k++) { l = k % 2; s = ""; n = 2 + int(rand() * 6);
        for (w = 0; w < n; w++) s = s (w ? " " : "") (l ? b[1 + int(rand() * 4)] : a[1 + int(rand() * 4)]);
        printf "%s,%s\n", s, l ? "track" : "refund" } }' > "$dir/texts.csv"
topts="--model intent --set architecture=transformer --set hidden=16 --set heads=2 --set blocks=1 --set ff_hidden=32 \
    --set epochs=3 --set pretrain_epochs=1 --set mlm_buckets=64 --threads 1 --quiet"
"$CLI" train --data "$dir/texts.csv" $topts --out "$dir/t1.aisle" >/dev/null || fail "one-process intent"
timeout 120 $MPIRUN -np 1 "$CLI" train --distributed --data "$dir/texts.csv" $topts --out "$dir/td1.aisle" \
    > "$dir/t.log" 2>&1 || { cat "$dir/t.log"; fail "distributed intent at 1 rank"; }
cmp -s "$dir/t1.aisle" "$dir/td1.aisle" || fail "intent at 1 rank differs from one process"
timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/texts.csv" $topts --out "$dir/td2.aisle" \
    > "$dir/t.log" 2>&1 || { cat "$dir/t.log"; fail "distributed intent at 2 ranks"; }
grep -q "trained intent on 240 texts (2 labels) over 2 ranks" "$dir/t.log" || { cat "$dir/t.log"; fail "intent summary line"; }
"$CLI" classify --model "$dir/td2.aisle" --text "where is my parcel" | grep -q track || fail "intent at 2 ranks: classify"
AISLE_DIST_KILL=1:2 timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/texts.csv" $topts \
    --out "$dir/tk.aisle" > "$dir/tk.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$dir/tk.log"; fail "intent: a killed rank gave status $rc"; }
grep -q "rank 1" "$dir/tk.log" || { cat "$dir/tk.log"; fail "intent: the end does not name rank 1"; }
[ ! -e "$dir/tk.aisle" ] || fail "intent: a model file was written by a failed job"
# with checkpoints: rank 1 dies at the start of epoch 3 (in fine-tuning,
# after the pre-training epoch and one of fine-tuning); the rerun resumes
# there and ends with the uninterrupted 2-rank model byte for byte; at 3
# ranks the checkpoint is refused (the gradient's rounding depends on the
# rank count)
AISLE_DIST_KILL=1:3 timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/texts.csv" $topts \
    --checkpoint "$dir/t.ckpt" --checkpoint-every 1 --out "$dir/tc.aisle" > "$dir/tc.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$dir/tc.log"; fail "intent: a killed checkpointed rank gave status $rc"; }
grep -q "rank 1" "$dir/tc.log" || { cat "$dir/tc.log"; fail "intent: the end does not name rank 1"; }
[ -f "$dir/t.ckpt" ] && [ ! -e "$dir/tc.aisle" ] || fail "intent: checkpoint missing or model written by a failed job"
timeout 120 $MPIRUN -np 3 "$CLI" train --distributed --data "$dir/texts.csv" $topts --checkpoint "$dir/t.ckpt" \
    --checkpoint-every 1 --out "$dir/tc.aisle" > "$dir/tc.log" 2>&1
[ $? -eq 1 ] && grep -q "field 'ranks'" "$dir/tc.log" || { cat "$dir/tc.log"; fail "intent: a 2-rank checkpoint at 3 ranks"; }
timeout 120 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/texts.csv" $topts --checkpoint "$dir/t.ckpt" \
    --checkpoint-every 1 --out "$dir/tc.aisle" > "$dir/tc.log" 2>&1 || { cat "$dir/tc.log"; fail "intent resume"; }
cmp -s "$dir/td2.aisle" "$dir/tc.aisle" || fail "intent: the resumed model differs from the uninterrupted one"
timeout 60 $MPIRUN -np 2 "$CLI" train --distributed --data "$dir/missing.csv" $topts --out "$dir/tm.aisle" \
    > "$dir/tm.log" 2>&1
[ $? -eq 1 ] || { cat "$dir/tm.log"; fail "intent: a missing corpus gave another status"; }
[ "$(grep -c "aisle: error:" "$dir/tm.log")" -eq 1 ] || { cat "$dir/tm.log"; fail "intent: a missing corpus: not one message"; }
echo "cli_test: distributed intent equals one process at 1 rank, trains at 2; a killed rank ends the job; killed at epoch 3 with checkpoints, it resumes to the uninterrupted model"

# the MPI library's own calls carry their own version node
lib="$(dirname "$CLI")/../lib/libaisle_mpi.so"
if command -v objdump >/dev/null && [ -f "$lib" ]; then
    n=$(objdump -T "$lib" | grep -c ' AISLE_MPI_1.0 *aisle_dist_')
    [ "$n" -eq 11 ] || { objdump -T "$lib" | grep aisle_dist_; fail "aisle_dist_* in AISLE_MPI_1.0: $n of 11"; }
    ! objdump -T "$lib" | grep ' AISLE_1\.[01] *aisle_dist_' || fail "an aisle_dist_* symbol in a libaisle node"
    echo "cli_test: the 11 aisle_dist_* symbols are versioned AISLE_MPI_1.0"
fi

# --checkpoint without --distributed is a usage error
"$CLI" train --data "$ev" $opts --checkpoint "$dir/x" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--checkpoint without --distributed is not a usage error"
echo "cli_test: all passed"
