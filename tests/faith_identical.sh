#!/bin/sh
# faith_identical.sh: `xai evaluate` (pixel flipping and every metric of explainers/faith.h) from two
# xai builds on the same attributions, metrics.h5 compared value for value (tests/mpi/h5same.py) and
# summary.csv byte for byte; the new build also at 1 and 2 threads. A change to how perturbed inputs
# are built or batched must not move a float. Needs python3-h5py.
# usage: tests/faith_identical.sh OLD_XAI NEW_XAI MODEL.h5 DATASET [N [evaluate options...]]
set -eu
old=$1 new=$2 model=$3 data=$4 n=${5:-8}
shift 4
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$new" explain --model "$model" --dataset "$data" --methods gradient-x-input,lrp-epsilon,random --n "$n" \
    --out "$tmp/attr.h5" --quiet >/dev/null
# evaluate XAI NAME THREADS [options]: metrics.h5 and summary rows of XAI into $tmp/NAME.*
evaluate() {
    x=$1 name=$2 th=$3
    shift 3
    "$x" evaluate --model "$model" --attributions "$tmp/attr.h5" --out "$tmp/$name.h5" --summary "$tmp/$name.csv" \
        --label faith_identical --sanity no --ig-curve no --metrics all --threads "$th" --quiet "$@" >/dev/null
}
bad=0
evaluate "$old" old 2 "$@"
evaluate "$new" new 2 "$@"
evaluate "$new" new1 1 "$@"
for pair in "old new" "new new1"; do
    set -- $pair
    if /usr/bin/python3 "$here/mpi/h5same.py" "$tmp/$1.h5" "$tmp/$2.h5" && cmp -s "$tmp/$1.csv" "$tmp/$2.csv"; then
        echo "$1 vs $2: identical ($(grep -c . "$tmp/$1.csv") summary lines)"
    else
        echo "$1 vs $2: DIFFERENT"
        diff "$tmp/$1.csv" "$tmp/$2.csv" | head -5 || true
        bad=1
    fi
done
exit $bad
