#!/bin/sh
# lrp_identical.sh: attributions of every LRP composite from two xai builds, compared value by
# value (a change to the LRP pass must not move a single float). Needs python3-h5py.
# usage: tests/lrp_identical.sh OLD NEW_XAI MODEL.h5 DATASET [N]
# OLD is the old build's xai, or attributions it wrote already (FILE.h5, same model, data and N).
set -eu
old=$1 new=$2 model=$3 data=$4 n=${5:-64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
methods=lrp-0,lrp-epsilon,lrp-gamma,lrp-zplus,lrp-alpha1beta0,lrp-alpha2beta1,lrp-flat,lrp-wsquare,lrp-zbox
methods=$methods,lrp-epsilon-plus-flat,lrp-epsilon-gamma-box,lrp-preset-a,lrp-preset-b
case $old in
*.h5) cp "$old" "$tmp/old.h5" ;;
*) "$old" explain --model "$model" --dataset "$data" --methods "$methods" --n "$n" --out "$tmp/old.h5" >/dev/null ;;
esac
"$new" explain --model "$model" --dataset "$data" --methods "$methods" --n "$n" --out "$tmp/new.h5" >/dev/null
/usr/bin/python3 - "$tmp/old.h5" "$tmp/new.h5" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r")["attributions"], h5py.File(sys.argv[2], "r")["attributions"]
bad = 0
for k in sorted(a):
    x, y = a[k][()], b[k][()]
    same = x.shape == y.shape and np.array_equal(x, y)  # value by value; -0 == +0
    bits = same and x.tobytes() == y.tobytes()
    print(f"{k:24s} {'identical' if same else 'DIFFERENT'}{'' if bits or not same else ' (signs of zeros differ)'}"
          + ("" if same else f" max |diff| {np.nanmax(np.abs(x - y)):.3g}"))
    bad += not same
sys.exit(1 if bad else 0)
PY
