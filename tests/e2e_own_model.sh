#!/usr/bin/env bash
# e2e_own_model.sh: your own model and images, as a user would: `xai import` of committed tiny ONNX
# files, `xai explain --images` of PNG/JPEG files and a folder, `xai evaluate` of the result, the
# Python snippet of explainers/METRICS.md on that metrics file (when h5py is installed), and errors.
# Usage: e2e_own_model.sh path/to/xai
set -u
XAI=$1
SRC=$(cd "${XAI_SOURCE_DIR:-$(dirname "$0")/..}" && pwd)
D=$SRC/tests/data
source "$(dirname "${BASH_SOURCE[0]}")/lib_e2e.sh"

check import 0 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/m.h5" --normalize 0.5,0.25
contains import "wrote $tmp/m.h5"
check import-grey 0 "$XAI" import "$D/tiny_grey.onnx" --out "$tmp/g.h5" --mean 0.1 --std 0.3
check import-not-onnx 1 "$XAI" import "$D/images/rgb.png" --out "$tmp/x.h5"
contains import-not-onnx "not an ONNX model"
[ ! -e "$tmp/x.h5" ] && pass=$((pass+1)) || { echo "FAIL import-not-onnx: wrote a file"; fail=$((fail+1)); }
check import-half-norm 2 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/x.h5" --mean 0.1,0.2,0.3
contains import-half-norm "both --mean and --std"
check import-norm-count 1 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/x.h5" --mean 0.1,0.2 --std 1,1
contains import-norm-count "2 means and 2 stds for 3 input channels"
check import-input-mismatch 1 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/x.h5" --input 1x8x8
contains import-input-mismatch "conv"

# Two files and a folder (its three images, by name): five images.
check explain-images 0 "$XAI" explain --model "$tmp/m.h5" --images "$D/images/rgb.png" "$D/images/rgb.jpg" \
    "$D/images" --methods ig,lrp-epsilon,gradient --out "$tmp/a.h5"
contains explain-images "5 images of images, 3 methods"
contains explain-images "15 heatmaps in $tmp/a_heatmaps"
# One PNG per image and method, named after the file (two files named rgb.png get their rows).
[ -s "$tmp/a_heatmaps/rgb-0_ig.png" ] && [ -s "$tmp/a_heatmaps/gray_lrp-epsilon.png" ] && pass=$((pass+1)) ||
    { echo "FAIL explain-images: heatmaps missing: $(ls "$tmp/a_heatmaps" | head -3)"; fail=$((fail+1)); }
check explain-heatmaps-none 0 "$XAI" explain --model "$tmp/m.h5" --images "$D/images/rgb.jpg" --methods gradient \
    --out "$tmp/n.h5" --heatmaps none
[ ! -e "$tmp/n_heatmaps" ] && pass=$((pass+1)) || { echo "FAIL explain-heatmaps-none: wrote PNGs"; fail=$((fail+1)); }
check explain-images-target 0 "$XAI" explain --model "$tmp/m.h5" --images "$D/images/rgb.jpg" --target 2 \
    --methods gradient --out "$tmp/t.h5"
# Class names given at import (a list or a file, one a line) make --target NAME work on image files.
check import-classes 0 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/mc.h5" --normalize 0.5,0.25 --classes cat,dog,cow
check explain-target-name 0 "$XAI" explain --model "$tmp/mc.h5" --images "$D/images/rgb.jpg" --target cow \
    --methods gradient --out "$tmp/tc.h5" --heatmaps none
printf 'cat\r\ndog\r\ncow\r\n' >"$tmp/classes.txt"
check import-classes-file 0 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/mf.h5" --classes "@$tmp/classes.txt"
check explain-target-name-file 0 "$XAI" explain --model "$tmp/mf.h5" --images "$D/images/rgb.jpg" --target dog \
    --methods gradient --out "$tmp/tf.h5" --heatmaps none
check import-classes-count 1 "$XAI" import "$D/tiny_rgb.onnx" --out "$tmp/x.h5" --classes cat,dog
contains import-classes-count "--classes: 2 class names, but the model has 3 classes"
check explain-target-unknown 1 "$XAI" explain --model "$tmp/mc.h5" --images "$D/images/rgb.jpg" --target horse \
    --out "$tmp/tc.h5"
contains explain-target-unknown "a class in 0..2 or a class name of the model"
check explain-target-no-names 1 "$XAI" explain --model "$tmp/m.h5" --images "$D/images/rgb.jpg" --target cow \
    --out "$tmp/tc.h5"
contains explain-target-no-names "xai import --classes gives them"
check explain-images-label 1 "$XAI" explain --model "$tmp/m.h5" --images "$D/images/rgb.jpg" --target label \
    --out "$tmp/t.h5"
contains explain-images-label "image files have no labels"
check explain-grey 0 "$XAI" explain --model "$tmp/g.h5" --images "$D/images/gray.png" --methods ig --out "$tmp/ga.h5"
check explain-colour-to-grey 1 "$XAI" explain --model "$tmp/g.h5" --images "$D/images/rgb.png" --out "$tmp/ga.h5"
contains explain-colour-to-grey "rgb.png: a colour image, but the model takes 1 channel (1x8x8)"
check explain-not-image 1 "$XAI" explain --model "$tmp/m.h5" --images "$D/tiny_rgb.onnx" --out "$tmp/t.h5"
contains explain-not-image "tiny_rgb.onnx: neither PNG nor JPEG"
check explain-both 2 "$XAI" explain --model "$tmp/m.h5" --dataset mnist --images "$D/images/rgb.png"
check explain-stray-arg 2 "$XAI" explain --model "$tmp/m.h5" --dataset mnist "$D/images/rgb.png"

check evaluate 0 "$XAI" evaluate --model "$tmp/m.h5" --attributions "$tmp/a.h5" --out "$tmp/metrics.h5" --patch 2 --steps 4
# The snippet of METRICS.md, on this file (no --ig-curve: it must not need /ig_steps).
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    sed -n '/^```python/,/^```/p' "$SRC/explainers/METRICS.md" | sed '1d;$d' |
        sed "s#results/mnist/metrics.h5#$tmp/metrics.h5#" >"$tmp/snippet.py"
    check metrics-snippet 0 /usr/bin/python3 "$tmp/snippet.py"
    contains metrics-snippet "lrp-epsilon"
    check attrs-are-str 0 /usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1]); \
assert isinstance(f['model'].attrs['format'], str) and isinstance(f['model'].attrs['layers_text'], str)" "$tmp/m.h5"
    check class-names-attr 0 /usr/bin/python3 -c "import h5py, sys; f = h5py.File(sys.argv[1]); \
assert f['model'].attrs['class_names'].split() == ['cat', 'dog', 'cow']; \
assert list(h5py.File(sys.argv[2])['targets'][()]) == [2]" "$tmp/mf.h5" "$tmp/tc.h5"
else
    echo "skip metrics-snippet: no python3-h5py"
fi

# An ImageFolder tree (root/<class>/<images>) becomes a dataset that train, explain, evaluate and
# reproduce take by name.
for c in cat dog; do mkdir -p "$tmp/root/$c"; done
for i in 1 2 3 4 5; do cp "$D/images/rgb.png" "$tmp/root/cat/c$i.png"; cp "$D/images/rgb.jpg" "$tmp/root/dog/d$i.jpg"; done
check folder-fetch 0 "$XAI" fetch --image-folder "$tmp/root" --name pets --size 8 --data-dir "$tmp/data"
contains folder-fetch "2 classes, 8 train and 2 test images"
check folder-import 0 "$XAI" datasets import pets2 "$tmp/root" --size 8 --data-dir "$tmp/data"
contains folder-import "wrote $tmp/data/pets2-8.h5"
check folder-info 0 "$XAI" datasets info pets --data-dir "$tmp/data"
contains folder-info "images:      train 8, test 2"
check folder-check 0 "$XAI" datasets check pets --data-dir "$tmp/data"
check folder-list 0 "$XAI" datasets list --data-dir "$tmp/data"
contains folder-list "pets-8.h5 (folder dataset)"
contains folder-list "pets2-8.h5 (folder dataset)"
check folder-bad-name 1 "$XAI" fetch --image-folder "$tmp/root" --name mnist --data-dir "$tmp/data"
contains folder-bad-name "not a built-in dataset"
check folder-missing 1 "$XAI" fetch nosuchset --data-dir "$tmp/data"
contains folder-missing "xai fetch --image-folder DIR --name nosuchset"
mkdir -p "$tmp/cfg"
printf '[experiment]\nname = pets\ndataset = pets\n[model]\ninput = 3x8x8\nclasses = 2\nlayer = conv out=4 k=3 pad=1\n''layer = relu\nlayer = gap\nlayer = linear out=2\n[train]\nepochs = 1\nbatch = 4\n[explain]\nn = 2\nmethods = ig,gradient\n''[evaluate]\npatch = 2\nsteps = 4\n' >"$tmp/cfg/pets.ini"
check folder-reproduce 0 "$XAI" --quiet reproduce --configs "$tmp/cfg" --data-dir "$tmp/data" --results "$tmp/res"
[ -s "$tmp/res/pets/metrics.h5" ] && pass=$((pass+1)) || { echo "FAIL folder-reproduce: no metrics.h5"; fail=$((fail+1)); }
# --target by a class name of the dataset
check folder-target-name 0 "$XAI" explain --model "$tmp/res/pets/model.h5" --dataset pets --data-dir "$tmp/data" \
    --target dog --methods gradient --out "$tmp/dog.h5"
check folder-target-bad-name 1 "$XAI" explain --model "$tmp/res/pets/model.h5" --dataset pets --data-dir "$tmp/data" \
    --target cow --methods gradient --out "$tmp/dog.h5"
contains folder-target-bad-name "--target cow: expected pred, label, a class in 0..1 or a class name of the dataset"
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    /usr/bin/python3 -c "import h5py, numpy as np, sys; f = h5py.File(sys.argv[1], 'w'); \
f['test/images'] = np.zeros((2, 3, 8, 8), np.uint8); f['test/labels'] = np.zeros(2, np.int32)" "$tmp/hand.h5"
    check hand-made-cache 1 "$XAI" explain --model "$tmp/m.h5" --dataset "$tmp/hand.h5" --out "$tmp/h.h5"
    contains hand-made-cache "it lacks @format, @format_version, @dataset"
    # The recipe of datasets/README.md writes a cache that explain takes.
    sed -n '/^```python/,/^```/p' "$SRC/datasets/README.md" | sed '1d;$d' >"$tmp/recipe.py"
    cat >>"$tmp/recipe.py" <<'PY'
import sys
rng = np.random.default_rng(0)
write(sys.argv[1], "recipe", rng.integers(0, 255, (6, 3, 8, 8), dtype=np.uint8), np.arange(6) % 3,
      rng.integers(0, 255, (4, 3, 8, 8), dtype=np.uint8), np.arange(4) % 3, ["a", "b", "c"])
PY
    check cache-recipe 0 /usr/bin/python3 "$tmp/recipe.py" "$tmp/recipe.h5"
    check cache-recipe-explain 0 "$XAI" explain --model "$tmp/m.h5" --dataset "$tmp/recipe.h5" --methods gradient \
        --n 4 --out "$tmp/r.h5"
fi

# The root README's "Your own model" section, pasted as it stands into a folder that has build/xai
# and tests/ (what a user has after `make`): every line must work. At most 15 lines.
sed -n '/^## Your own model/,/^## /p' "$SRC/README.md" | sed '$d' >"$tmp/section.md"
lines=$(sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$tmp/section.md" | wc -l)
[ "$lines" -le 15 ] && pass=$((pass+1)) || { echo "FAIL readme-section: $lines lines (at most 15)"; fail=$((fail+1)); }
if /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
    mkdir -p "$tmp/paste/build"
    ln -s "$(cd "$(dirname "$XAI")" && pwd)/$(basename "$XAI")" "$tmp/paste/build/xai"
    ln -s "$SRC/tests" "$tmp/paste/tests"
    sed -n '/^```sh/,/^```/p' "$tmp/section.md" | sed '1d;$d' >"$tmp/paste.sh"
    check readme-paste 0 env -u XAI_DATA_DIR bash -c "cd '$tmp/paste' && set -e && source '$tmp/paste.sh'"
    [ -s "$tmp/paste/own_heatmaps/gray_ig.png" ] && [ -s "$tmp/paste/mine.h5" ] && pass=$((pass+1)) ||
        { echo "FAIL readme-paste: no heatmaps or mine.h5"; fail=$((fail+1)); }
else
    echo "skip readme-paste: no python3-torch/python3-onnx"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
