#!/usr/bin/env bash
# study_net.sh (make test-mpi, from tests/mpi/run.sh): explain and evaluate of a study-shaped net under
# `mpirun -n 2|3` equal the serial build's files value for value. The net is experiments/fashion-mnist.ini's
# (conv-bn-relu-pool twice, linear 3136 -> 128 -> 10), trained one epoch on a synthetic mirror: big
# enough that the engine's products are OpenBLAS-sized, where a sample's values used to depend on how
# many samples shared its batch (a shard of 4 or 5 images is cut differently from one of 9).
# Usage: study_net.sh SERIAL_XAI MPI_XAI
set -u
source "$(dirname "$0")/common.sh" "$@"
export XAI_THREADS=1

"$PY" "$here/../mkidx.py" "$tmp/mirror" fashion-mnist 256 24 || { echo "FAIL: fixture (python3-numpy)"; exit 1; }
dirs=(--data-dir "$tmp/data" --mirror "$tmp/mirror")
"$serial" --quiet train --config "$here/../../experiments/fashion-mnist.ini" --epochs 1 --limit 256 \
    --out "$tmp/m.h5" "${dirs[@]}" >/dev/null 2>&1 || { bad "serial train"; exit 1; }
# Every default method on 9 images; evaluate's metrics, the randomisation cascade and the IG curves
# (their exact-IG reference on 2 images: seconds each).
EXPLAIN=(explain --model "$tmp/m.h5" --dataset fashion-mnist --n 9 --ig-steps 12 --sg-samples 6 --heatmaps none
         "${dirs[@]}")
EVAL=(evaluate --model "$tmp/m.h5" --attributions "$tmp/a.h5" --patch 2 --steps 6 --sanity --sanity-n 5 --ig-curve
      --ig-n 5 --ig-steps 4,8 --ig-exact-n 2)
"$serial" --quiet "${EXPLAIN[@]}" --out "$tmp/a.h5" >/dev/null 2>&1 || bad "serial explain"
"$serial" --quiet "${EVAL[@]}" --out "$tmp/e.h5" >/dev/null 2>&1 || bad "serial evaluate"
for n in 2 3; do
    mpirun -n $n "$mpi" --quiet "${EXPLAIN[@]}" --out "$tmp/a$n.h5" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "explain -n $n"; }
    same "$tmp/a.h5" "$tmp/a$n.h5" "study net: explain -n $n"
    mpirun -n $n "$mpi" --quiet "${EVAL[@]}" --out "$tmp/e$n.h5" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "evaluate -n $n"; }
    same "$tmp/e.h5" "$tmp/e$n.h5" "study net: evaluate -n $n"
done
finish study_net
