#!/usr/bin/env bash
# e2e_reproduce.sh: the whole pipeline on a tiny synthetic MNIST served from a local mirror:
# every stage runs, a rerun does nothing, a config change reruns, a killed training resumes.
# Usage: e2e_reproduce.sh path/to/xai
set -u
XAI=$(readlink -f "$1")
src=${XAI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
fail=0; pass=0
ok() { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
tmp=$(mktemp -d); trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mirror/mnist" "$tmp/configs"

be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
# Image i shows a bright bar on row 2*label+4: learnable, and deterministic.
images() { # file count
    { be32 2051; be32 "$2"; be32 28; be32 28
      for ((i = 0; i < $2; i++)); do
          bar=$((2 * (i % 10) + 4))
          for ((r = 0; r < 28; r++)); do
              if [ $r = $bar ]; then printf '\xf0%.0s' {1..28}; else printf '\x00%.0s' {1..28}; fi
          done
      done; } | gzip -n >"$1"
}
labels() { # file count
    { be32 2049; be32 "$2"; for ((i = 0; i < $2; i++)); do printf "\\x0$((i % 10))"; done; } | gzip -n >"$1"
}
images "$tmp/mirror/mnist/train-images-idx3-ubyte.gz" 120
labels "$tmp/mirror/mnist/train-labels-idx1-ubyte.gz" 120
images "$tmp/mirror/mnist/t10k-images-idx3-ubyte.gz" 40
labels "$tmp/mirror/mnist/t10k-labels-idx1-ubyte.gz" 40
(cd "$tmp/mirror" && sha256sum mnist/* >SHA256SUMS)

cat >"$tmp/configs/tiny.ini" <<'EOF'
[experiment]
name = tiny
dataset = mnist
seed = 3
[model]
input = 1x28x28
classes = 10
layer = conv out=4 k=3
layer = relu
layer = maxpool k=2
layer = flatten
layer = linear out=10
[train]
epochs = 3
batch = 16
optimizer = adam
lr = 0.01
schedule = cosine
val_fraction = 0.1
seeds = 2
[explain]
n = 6
methods = ig,lrp-epsilon,lrp-zplus,gradient,random
ig-steps = 8
[evaluate]
steps = 4
fraction = 0.25
ig-curve = yes
ig-n = 2
ig-steps = 4,8
[confound]
perturb = blur
blur-sigma = 1
EOF

dirs=(--configs "$tmp/configs" --results "$tmp/results" --data-dir "$tmp/data" --mirror "$tmp/mirror")
run() { "$XAI" --quiet reproduce "${dirs[@]}" "$@" >"$tmp/out" 2>&1; }

# The first run as a user starts it (neither --quiet nor --verbose): a line a stage and a few more,
# so that the quick profile's 25 stages fit on one screen.
"$XAI" reproduce "${dirs[@]}" >"$tmp/out" 2>&1 && ok || { bad "first run failed"; tail -20 "$tmp/out"; }
nst=$(sed -n 's|^\[stage 1/\([0-9]*\)\].*|\1|p' "$tmp/out" | head -1)
[ -n "$nst" ] && [ "$(wc -l <"$tmp/out")" -le $((nst + 3)) ] && ok \
    || { bad "the first run printed more than a line a stage and 3 more ($nst stages)"; cat "$tmp/out"; }
(cd "$src" && XAI_CONFIGS="$tmp/configs" bash tests/check_results.sh "$tmp/results" tiny) >"$tmp/check" 2>&1 && ok \
    || { bad "results incomplete"; cat "$tmp/check"; }
# The check itself catches a missing HDF5 object: a readable file without /inputs and /logits (the
# model file in place of the attributions; HDF5 1.10's `h5dump -H -N` once let this pass).
cp -r "$tmp/results" "$tmp/broken" && cp "$tmp/broken/tiny/model.h5" "$tmp/broken/tiny/attributions.h5"
(cd "$src" && XAI_CONFIGS="$tmp/configs" bash tests/check_results.sh "$tmp/broken" tiny) >"$tmp/check" 2>&1
grep -q "tiny/attributions.h5 lacks /logits" "$tmp/check" && ok \
    || { bad "check_results.sh missed an attributions file without /logits"; tail -3 "$tmp/check"; }
rm -rf "$tmp/broken"
# The confound stage: the same evaluation under blur removal, each option once, and the report's
# table ranks the methods under zero, blur and ROAD's imputation side by side.
h5dump -a /perturb "$tmp/results/tiny/metrics-confound.h5" 2>/dev/null | grep -q '"blur"' && ok \
    || bad "metrics-confound.h5 was not evaluated under blur removal"
cl=$(sed -n 's/^\$ //p' "$tmp/results/tiny/logs/confound.log")
echo "$cl" | grep -q -- '--perturb=blur .*--ig-curve=no --sanity=no' && ok || bad "confound stage command: $cl"
for o in $(echo "$cl" | grep -o -- ' --[a-z-]*' | sort | uniq -d); do bad "confound got $o twice: $cl"; done
for c in "AOPC MoRF, zero removal" "AOPC MoRF, blur removal" "ROAD MoRF AUC, imputation"; do
    grep -q "| $c |" "$tmp/results/report.md" && ok || bad "report.md: the confound table lacks '$c'"
done
grep -q '"total_wall_seconds"' "$tmp/results/provenance.json" && ok || bad "provenance lacks stage times"
# seeds = 2: the second model trains with seed + 1000 into tiny/seed1/ and is explained and evaluated.
grep -q -- '--seed=1003' "$tmp/results/tiny/seed1/logs/train.log" && ok || bad "tiny/seed1 was not trained with seed 1003"
[ ! -e "$tmp/results/tiny/seed1/metrics-confound.h5" ] && [ ! -e "$tmp/results/tiny/seed1/plot" ] && ok \
    || bad "tiny/seed1 ran the confound or export stage"

run && ok || bad "second run failed"
[ "$(grep -c '] tiny [a-z]*: up to date' "$tmp/out")" = 5 ] && ok || { bad "second run redid work"; cat "$tmp/out"; }
grep -Eq "^\[stage ([0-9]+)/\1\] figures, report and bundle: up to date" "$tmp/out" && ok || bad "second run republished"
# One line per stage, the stage's own messages in its log (the command first), no empty logs/.
[ "$(wc -l <"$tmp/out")" -le 13 ] && ok || { bad "a run that did nothing printed more than a line a stage"; cat "$tmp/out"; }
head -1 "$tmp/results/tiny/logs/train.log" | grep -q '^\$ .*xai .*train .*--config=' && ok || bad "train.log lacks the command"


# A config change reruns the stages; the ETA comes from the times recorded above. --verbose: the
# commands and messages here, each option once, and no log written.
echo "; changed" >>"$tmp/configs/tiny.ini"
rm -rf "$tmp/results/tiny/logs"
run --verbose && ok || bad "run after a config change failed"
grep -q "] tiny train (eta" "$tmp/out" && ok || { bad "a config change did not retrain (or no ETA from the recorded times)"; cat "$tmp/out"; }
[ ! -e "$tmp/results/tiny/logs" ] && ok || bad "--verbose with one job left a logs/ folder"
grep -q '^\[tiny\] evaluate: .*xai --quiet evaluate' "$tmp/out" && ok || bad "--verbose did not echo the commands"
ev=$(grep '^\[tiny\] evaluate: ' "$tmp/out")
for o in $(echo "$ev" | grep -o -- ' --[a-z-]*' | sort | uniq -d); do bad "evaluate got $o twice: $ev"; done
grep -q '^stage_times' "$tmp/out" && ok || bad "--verbose lacks the stage times"

# Kill during training, mid-epoch 2 (after the first checkpoint), then rerun: it must resume.
# The trainer's test hook pauses at epoch 2, batch 3 and says so through a pipe; the kill
# follows the handshake, so the outcome does not depend on how fast the machine trains.
sed -i 's/^epochs = 3/epochs = 40/' "$tmp/configs/tiny.ini"
mkfifo "$tmp/paused"
exec 3<>"$tmp/paused" # read-write: opening does not block, and the writer never sees EPIPE
XAI_TEST_TRAIN_PAUSE="2:3:$tmp/paused" "$XAI" --quiet reproduce --configs "$tmp/configs" --results "$tmp/results" \
    --data-dir "$tmp/data" --mirror "$tmp/mirror" >"$tmp/out" 2>&1 &
pid=$!
# The guard only turns a hang (the hook never reached) into a failure; a pass never waits on it.
if read -r -t 300 -u 3 msg; then
    kill -KILL $pid # the driver first, as a kill of the whole job would
    kill -KILL "${msg#paused }"
else
    bad "training never reached the pause hook"; tail -20 "$tmp/out"
    pkill -KILL -P $pid; kill -KILL $pid 2>/dev/null
fi
wait $pid 2>/dev/null
exec 3<&-
[ -e "$tmp/results/tiny/model.h5.ckpt.h5" ] && ok || bad "no checkpoint to resume from"
run && ok || { bad "rerun after kill failed"; tail -20 "$tmp/out"; }
grep -q -- "--resume" "$tmp/results/tiny/logs/train.log" && ok || { bad "rerun did not resume training"; cat "$tmp/out"; }

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
