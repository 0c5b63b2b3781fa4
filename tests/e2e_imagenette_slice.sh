#!/usr/bin/env bash
# e2e_imagenette_slice.sh: issue 15's folder dataset from real photographs: a slice of the mirror's
# Imagenette (3 classes, 20 train + 6 val images each, in torchvision's ImageFolder layout) becomes
# a dataset by `xai fetch --image-folder`, and `xai reproduce` trains, explains and evaluates it
# from a config naming it. Needs $XAI_MIRROR with imagenette/imagenette2-160.tgz; skipped (77) without.
# Usage: e2e_imagenette_slice.sh path/to/xai
set -u
XAI=$1
TGZ=${XAI_MIRROR:-}/imagenette/imagenette2-160.tgz
if [ -z "${XAI_MIRROR:-}" ] || [ ! -r "$TGZ" ] || ! command -v python3 >/dev/null; then
    echo "skip: no \$XAI_MIRROR/imagenette/imagenette2-160.tgz"; exit 77
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib_e2e.sh"

# The first images of three classes from each split, read from the archive as it streams by.
check slice 0 python3 - "$TGZ" "$tmp/slice" <<'PY'
import os, sys, tarfile
want = {"train": 20, "val": 6}
classes = ("n01440764", "n02102040", "n02979186")  # tench, English springer, cassette player
taken = {}
with tarfile.open(sys.argv[1], "r|gz") as t:
    for m in t:
        parts = m.name.split("/")
        if len(parts) != 4 or parts[1] not in want or parts[2] not in classes or not m.isfile():
            continue
        key = (parts[1], parts[2])
        if taken.get(key, 0) >= want[parts[1]]:
            continue
        taken[key] = taken.get(key, 0) + 1
        d = os.path.join(sys.argv[2], parts[1], parts[2])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, parts[3]), "wb") as f:
            f.write(t.extractfile(m).read())
        if len(taken) == 6 and all(taken[k] >= want[k[0]] for k in taken):
            break
print(sum(taken.values()), "images")
PY
contains slice "78 images"
check fetch 0 "$XAI" fetch --image-folder "$tmp/slice" --name nette-slice --size 32 --data-dir "$tmp/data"
contains fetch "3 classes, 60 train and 18 test images"
check info 0 "$XAI" datasets info nette-slice --data-dir "$tmp/data"
contains info "n02979186"
mkdir -p "$tmp/cfg"
cat >"$tmp/cfg/nette-slice.ini" <<'INI'
[experiment]
name = nette-slice
dataset = nette-slice
[model]
input = 3x32x32
classes = 3
layer = conv out=8 k=3 pad=1
layer = bn
layer = relu
layer = maxpool k=2
layer = conv out=16 k=3 pad=1
layer = relu
layer = gap
layer = linear out=3
[train]
epochs = 2
batch = 16
[explain]
n = 6
methods = ig,lrp-epsilon,gradient
[evaluate]
patch = 4
steps = 4
INI
check reproduce 0 "$XAI" --quiet reproduce --configs "$tmp/cfg" --data-dir "$tmp/data" --results "$tmp/res"
for f in model.h5 attributions.h5 metrics.h5; do
    [ -s "$tmp/res/nette-slice/$f" ] && pass=$((pass+1)) || { echo "FAIL reproduce: no $f"; fail=$((fail+1)); }
done
# The class names reach explain: --target by name.
check target-name 0 "$XAI" explain --model "$tmp/res/nette-slice/model.h5" --dataset nette-slice --data-dir "$tmp/data" \
    --target n02102040 --n 2 --methods gradient --out "$tmp/t.h5"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
