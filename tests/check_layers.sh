#!/usr/bin/env bash
# check_layers.sh: the include graph follows the dependency rule of the root README:
# experiments -> paper -> {explainers, trainers} -> datasets -> core; nothing includes upward or
# sideways, no header include cycles, commands only in experiments/, and raw HDF5 calls only in
# the modules that own a file format. Usage: check_layers.sh [source dir]
set -u
src=${1:-${XAI_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$src" || exit 2
files=$(ls core/*.[ch] core/*.inc datasets/*.[ch] trainers/*.[ch] explainers/*.[ch] paper/*.[ch] experiments/*.[ch] 2>/dev/null)
# "file included" pairs, one grep for the whole tree.
edges=$(grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z]+/[^"]+"' $files | sed -E 's/:.*"([^"]+)".*/ \1/')
fail=0
layer=$(echo "$edges" | awk '
    function rank(d) {
        if (d == "core") return 0
        if (d == "datasets") return 1
        if (d == "explainers" || d == "trainers") return 2
        if (d == "paper") return 3
        if (d == "experiments") return 4
        return -1
    }
    NF == 2 { split($1, a, "/"); split($2, b, "/"); ra = rank(a[1]); rb = rank(b[1]); n++
              if (rb < 0) { print "FAIL: " $1 " includes from unknown folder " b[1] "/"; bad++ }
              else if (rb > ra || (rb == ra && a[1] != b[1])) {
                  print "FAIL: " $1 " includes " b[1] "/ (rule: experiments -> paper -> explainers|trainers -> datasets -> core)"; bad++ } }
    END { print "checked " n " includes"; exit bad > 0 }')
[ $? = 0 ] || fail=$((fail+1))
echo "$layer"
# No include cycles among headers (tsort reports a loop).
loop=$(echo "$edges" | tsort 2>&1 >/dev/null)
[ -z "$loop" ] || { echo "FAIL: include cycle: $loop"; fail=$((fail+1)); }
# Command files live in experiments/ only.
for f in $(ls */cmd_*.c 2>/dev/null | grep -v '^experiments/'); do echo "FAIL: command file outside experiments/: $f"; fail=$((fail+1)); done
# Raw HDF5 calls only in the owners of the file formats (and core's helpers).
owners=" core/h5.c core/h5.h core/model_io.c datasets/cache.c trainers/checkpoint.c explainers/attrfile.c explainers/metricsfile.c "
for f in $(grep -lE 'H5[A-Z]' $files); do
    case "$owners" in *" $f "*) ;; *) echo "FAIL: raw HDF5 calls in $f (owners:$owners)"; fail=$((fail+1));; esac
done
# <hdf5.h> only through core/h5.h, and only the owners include that.
for f in $(grep -lE '#[[:space:]]*include[[:space:]]+("core/h5.h"|<hdf5.h>)' $files); do
    case "$owners" in *" $f "*) ;; *) echo "FAIL: $f includes HDF5 headers (owners:$owners)"; fail=$((fail+1));; esac
done
echo "$fail problems"
[ "$fail" = 0 ]
