#!/usr/bin/env bash
# run.sh: `make test-mpi`: the MPI build against the serial one. core/mpi.h's self-test at 1, 2 and 3
# ranks; explain and evaluate under `mpirun -n 1|2|3` give the serial files value for value; a rank
# killed with -9 during explain leaves no file and a rerun matches; then every other tests/mpi/*.sh
# with the same arguments. Usage: run.sh SERIAL_XAI MPI_XAI
set -o pipefail
source "$(dirname "$0")/common.sh" "$@"
export XAI_THREADS=1 # one thread a rank

selftest=$(dirname "$mpi")/xai_mpi_selftest
for n in 1 2 3; do mpirun -n $n "$selftest" $n || bad "mpi selftest at $n ranks"; done

# 13 distinct images (shards of 13, 7+6, 5+4+4) through the committed tiny ONNX net.
$PY "$here/mkimages.py" "$tmp/img" 13
"$serial" import "$here/../data/tiny_rgb.onnx" --out "$tmp/m.h5" --normalize 0.5,0.25 >/dev/null || bad import
# explain: every default method, and exact IG; evaluate: every metric, the sanity cascade, IG curves.
EXPLAIN=(explain --model "$tmp/m.h5" --images "$tmp/img")
EVAL=(evaluate --model "$tmp/m.h5" --patch 2 --steps 4 --sanity --ig-curve --ig-steps 4,16,64 --ig-n 13)
"$serial" --quiet "${EXPLAIN[@]}" --out "$tmp/a.h5" >/dev/null 2>&1 || bad "serial explain"
"$serial" --quiet "${EXPLAIN[@]}" --methods ig:rule=exact,ig --out "$tmp/x.h5" >/dev/null 2>&1 || bad "serial exact"
"$serial" --quiet "${EVAL[@]}" --attributions "$tmp/a.h5" --out "$tmp/e.h5" >/dev/null 2>&1 || bad "serial evaluate"
"$serial" --quiet "${EVAL[@]}" --metrics none --attributions "$tmp/x.h5" --out "$tmp/ex.h5" >/dev/null 2>&1 || bad "serial evaluate x"
for n in 1 2 3; do
    mpirun -n $n "$mpi" "${EXPLAIN[@]}" --out "$tmp/a$n.h5" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "explain -n $n"; }
    same "$tmp/a.h5" "$tmp/a$n.h5" "explain -n $n"
    # Only rank 0 prints: one line per method.
    [ "$(grep -c '^ig ' "$tmp/out")" = 1 ] || bad "explain -n $n: output not from rank 0 alone"
    # Rank 0 alone writes the heatmaps and says so (every rank once wrote the same files at once).
    [ "$(grep -c 'heatmaps in' "$tmp/out")" = 1 ] || bad "explain -n $n: heatmaps written by more than rank 0"
    mpirun -n $n "$mpi" "${EXPLAIN[@]}" --methods ig:rule=exact,ig --out "$tmp/x$n.h5" >/dev/null 2>&1 || bad "exact -n $n"
    same "$tmp/x.h5" "$tmp/x$n.h5" "exact IG -n $n"
    # evaluate reads the serial file: its own comparison does not depend on explain's.
    mpirun -n $n "$mpi" "${EVAL[@]}" --attributions "$tmp/a.h5" --out "$tmp/e$n.h5" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "evaluate -n $n"; }
    same "$tmp/e.h5" "$tmp/e$n.h5" "evaluate -n $n"
    mpirun -n $n "$mpi" "${EVAL[@]}" --metrics none --attributions "$tmp/x.h5" --out "$tmp/ex$n.h5" >/dev/null 2>&1 || bad "evaluate x -n $n"
    same "$tmp/ex.h5" "$tmp/ex$n.h5" "evaluate of exact IG -n $n"
    h5dump -a mpi_ranks "$tmp/e$n.h5" | grep -q "(0): $n" || bad "evaluate -n $n: @mpi_ranks is not $n"
done

# An error on every rank: each says which it is, and all leave (no rank waits for the others).
out=$(timeout 120 mpirun -n 2 "$mpi" "${EXPLAIN[@]}" --out "$tmp/none/a.h5" 2>&1) && bad "explain into a missing folder succeeded"
grep -q "^rank 1: xai: .*cannot create" <<<"$out" || { echo "$out"; bad "explain error without 'rank 1:'"; }

# kill -9 of one rank mid-run: mpirun ends the others, nothing is renamed into place; a rerun
# clears the orphaned temporary file and writes what the serial run writes.
LONG=("${EXPLAIN[@]}" --methods smoothgrad --sg-samples 20000)
"$serial" --quiet "${LONG[@]}" --out "$tmp/ks.h5" >/dev/null 2>&1 || bad "serial long explain"
mpirun -n 2 "$mpi" "${LONG[@]}" --out "$tmp/k.h5" >/dev/null 2>&1 &
runner=$!
for _ in $(seq 100); do ls "$tmp"/k.h5.tmp.* >/dev/null 2>&1 && break; sleep 0.1; done
victim=$(pgrep -P $runner | tail -1)
if [ -n "$victim" ] && kill -0 $runner 2>/dev/null; then
    kill -9 "$victim"
    wait $runner && bad "mpirun succeeded although rank pid $victim was killed"
    [ -e "$tmp/k.h5" ] && bad "a killed explain left $tmp/k.h5"
    # mpirun may return before its other rank has finished dying; a live writer keeps its file.
    for f in "$tmp"/k.h5.tmp.*; do
        p=${f##*.tmp.}
        for _ in $(seq 300); do
            st=$(ps -o stat= -p "$p" 2>/dev/null) || break
            case $st in Z*|X*) break ;; esac
            sleep 0.1
        done
    done
    mpirun -n 2 "$mpi" "${LONG[@]}" --out "$tmp/k.h5" >/dev/null 2>&1 || bad "explain rerun after kill -9"
    same "$tmp/ks.h5" "$tmp/k.h5" "explain rerun after kill -9"
    ls "$tmp"/k.h5.tmp.* >/dev/null 2>&1 && bad "the rerun left a temporary file: $(ls "$tmp"/k.h5.tmp.*)"
else
    wait $runner; bad "kill -9: the explain run ended before a rank could be killed (make it longer)"
fi

for t in "$here"/*.sh; do
    case $(basename "$t") in run.sh|common.sh) continue ;; esac
    echo "== $(basename "$t")"
    bash "$t" "$serial" "$mpi" || bad "$(basename "$t")"
done
finish test-mpi
