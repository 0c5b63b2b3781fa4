#!/usr/bin/env bash
# e2e_batch_invariance.sh: issue 16's promise end to end: the study's MNIST net (experiments/mnist.ini),
# trained one epoch by `xai train` on a synthetic mirror, explained at --batch 3 and at --batch 64 gives
# the same attributions.h5, every method, bit for bit (tests/mpi/h5same.py); evaluate likewise.
# Usage: e2e_batch_invariance.sh path/to/xai
set -u
XAI=$(readlink -f "$1")
src=${XAI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
PY=/usr/bin/python3
"$PY" -c "import h5py, numpy" 2>/dev/null || { echo "skipped: needs python3-h5py and python3-numpy"; exit 77; }
source "$src/tests/lib_e2e.sh"

# 256 training and 24 test images with structure, as MNIST's files.
"$PY" "$src/tests/mkidx.py" "$tmp/mirror" mnist 256 24 || { echo "FAIL: fixture"; exit 1; }
dirs=(--data-dir "$tmp/data" --mirror "$tmp/mirror")

check train 0 "$XAI" --quiet train --config "$src/experiments/mnist.ini" --epochs 1 --limit 256 --out "$tmp/m.h5" "${dirs[@]}"
# Every default method; IG's 12 rows an image and SmoothGrad's 6 cross the batches of 3 and 64 rows.
EXPLAIN=(explain --model "$tmp/m.h5" --dataset mnist --n 10 --ig-steps 12 --sg-samples 6 --heatmaps none "${dirs[@]}")
for b in 3 64; do
    check explain-batch-$b 0 "$XAI" --quiet "${EXPLAIN[@]}" --batch $b --out "$tmp/a$b.h5"
done
check explain-batch-invariant 0 "$PY" "$src/tests/mpi/h5same.py" "$tmp/a3.h5" "$tmp/a64.h5"
# evaluate's forward passes (pixel flipping and the other metrics, the randomisation cascade, IG
# curves) at --batch 3 and 64, on the same attributions; without exact IG (seconds an image).
EVAL=(evaluate --model "$tmp/m.h5" --attributions "$tmp/a64.h5" --patch 2 --steps 6 --sanity --sanity-n 3 --ig-curve
      --ig-n 3 --ig-steps 4,8 --ig-exact-n 0)
for b in 3 64; do
    check evaluate-batch-$b 0 "$XAI" --quiet "${EVAL[@]}" --batch $b --out "$tmp/e$b.h5"
done
check evaluate-batch-invariant 0 "$PY" "$src/tests/mpi/h5same.py" --ignore batch "$tmp/e3.h5" "$tmp/e64.h5"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
