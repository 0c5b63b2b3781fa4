#!/usr/bin/env bash
# check_layers.sh: the include graph follows the dependency rule of the root README:
# experiments -> paper -> {explainers, trainers} -> datasets -> core; nothing includes upward or
# sideways, and raw HDF5 calls stay in the modules that own a file format.
# Usage: check_layers.sh [source dir]
set -u
src=${1:-${XAI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$src" || exit 2
rank() { case "$1" in core) echo 0;; datasets) echo 1;; explainers|trainers) echo 2;; paper) echo 3;; experiments) echo 4;; *) echo -1;; esac; }
fail=0; pass=0
files=$(ls core/*.[ch] core/*.inc datasets/*.[ch] trainers/*.[ch] explainers/*.[ch] paper/*.[ch] experiments/*.[ch] 2>/dev/null)
for f in $files; do
    a=${f%%/*}; ra=$(rank "$a")
    for inc in $(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z]+/[^"]+"' "$f" | sed -E 's/.*"([a-z]+)\/.*/\1/'); do
        rb=$(rank "$inc")
        if [ "$rb" -lt 0 ]; then echo "FAIL: $f includes from unknown folder $inc/"; fail=$((fail+1))
        elif [ "$rb" -gt "$ra" ] || { [ "$rb" -eq "$ra" ] && [ "$inc" != "$a" ]; }; then
            echo "FAIL: $f includes $inc/ (rule: experiments -> paper -> explainers|trainers -> datasets -> core)"
            fail=$((fail+1))
        else pass=$((pass+1)); fi
    done
done
# No include cycles among headers (tsort reports a loop).
edges=$(for f in $files; do for inc in $(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z]+/[^"]+"' "$f" | sed -E 's/.*"([^"]+)".*/\1/'); do echo "$f $inc"; done; done)
if loop=$(echo "$edges" | tsort 2>&1 >/dev/null) && [ -z "$loop" ]; then pass=$((pass+1)); else echo "FAIL: include cycle: $loop"; fail=$((fail+1)); fi
# Command files live in experiments/ only.
for f in $(ls */cmd_*.c 2>/dev/null | grep -v '^experiments/'); do echo "FAIL: command file outside experiments/: $f"; fail=$((fail+1)); done
# Raw HDF5 calls only in the owners of the file formats (and core's helpers).
owners=${XAI_H5_OWNERS:-"core/h5.c core/h5.h core/model_io.c datasets/cache.c trainers/checkpoint.c explainers/attrfile.c explainers/metricsfile.c"}
for f in $(grep -lE 'H5[A-Z]' $files); do
    case " $owners " in *" $f "*) pass=$((pass+1));; *) echo "FAIL: raw HDF5 calls in $f (owners: $owners)"; fail=$((fail+1));; esac
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
