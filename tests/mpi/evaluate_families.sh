#!/usr/bin/env bash
# evaluate_families.sh (make test-mpi, from tests/mpi/run.sh): the evaluate families that explain
# again or run on the first images only, sharded over ranks: max-sensitivity, random-logit, the
# randomisation cascade and the IG step curves with their exact-IG reference and midpoint check.
# Under `mpirun -n 1|2|3` each family's objects in metrics.h5 equal the serial build's bit for bit,
# with as many images as ranks and more, and with fewer (a rank with none). An MNIST-size net (1x28x28,
# two conv layers, made here with python3-onnx) and 7 seeded images; smoothgrad's noise names each
# image by its /indices entry, so a rank that numbered its images from 0 would differ.
# Usage: evaluate_families.sh SERIAL_XAI MPI_XAI
set -u
source "$(dirname "$0")/common.sh" "$@"
export XAI_THREADS=1

"$PY" - "$tmp" 7 <<'EOF' || { echo "FAIL: fixture (python3-onnx, numpy)"; exit 1; }
import os, struct, sys, zlib
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
os.makedirs(out + "/img")
def png(path, img):  # 8-bit grey PNG, written by hand
    raw = b"".join(b"\x00" + bytes(r) for r in img.tolist())
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for k in range(n):  # a bar and a stroke on noise: distinct images with structure
    img = rng.integers(0, 40, (28, 28))
    img[4 + 2 * k: 8 + 2 * k, 3:25] += 200
    img[:, 6 + k: 9 + k] += 150
    png("%s/img/img%02d.png" % (out, k), np.clip(img, 0, 255).astype(np.uint8))
W = lambda *s: (rng.standard_normal(s) * (2.0 / np.prod(s[1:])) ** 0.5).astype(np.float32)
inits = [numpy_helper.from_array(a, name) for name, a in
         [("w1", W(4, 1, 3, 3)), ("b1", np.full(4, 0.01, np.float32)), ("w2", W(8, 4, 3, 3)),
          ("b2", np.full(8, 0.01, np.float32)), ("w3", W(10, 392)), ("b3", np.zeros(10, np.float32))]]
node = helper.make_node
nodes = [node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), node("Relu", ["c1"], ["r1"]),
         node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
         node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), node("Relu", ["c2"], ["r2"]),
         node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]), node("Flatten", ["p2"], ["f"]),
         node("Gemm", ["f", "w3", "b3"], ["y"], transB=1)]
g = helper.make_graph(nodes, "mnist_size", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 28, 28])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10])], inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), out + "/net.onnx")
EOF
"$serial" import "$tmp/net.onnx" --out "$tmp/m.h5" --mean 0.13 --std 0.31 >/dev/null || bad import
"$serial" --quiet explain --model "$tmp/m.h5" --images "$tmp/img" --methods ig,smoothgrad,lrp-epsilon,gradient \
    --heatmaps none --out "$tmp/a.h5" >/dev/null 2>&1 || bad "serial explain"

# Each family's objects of metrics file B equal A's (tests/mpi/h5same.py's rules); A has every
# object named in the remaining arguments, so that a family that did not run cannot pass.
same_families() { # A B object...
    "$PY" - "$here" "$@" <<'EOF'
import sys, h5py
sys.path.insert(0, sys.argv[1])
from h5same import same_value, volatile
FAMILY = {"sanity", "max_sensitivity", "maxsens", "random_logit", "random_logit_ssim", "randlogit", "ig_steps",
          "ig_exact"}
pa, pb, need = sys.argv[2], sys.argv[3], sys.argv[4:]
bad = []
with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
    bad += ["%s lacks %s" % (pa, n) for n in need if n not in fa]
    na, nb = [], []
    fa.visit(na.append), fb.visit(nb.append)
    na = {n for n in na if FAMILY & set(n.split("/"))}
    nb = {n for n in nb if FAMILY & set(n.split("/"))}
    if na != nb:
        bad.append("objects differ: only in A %s, only in B %s" % (sorted(na - nb)[:5], sorted(nb - na)[:5]))
    for name in sorted(na & nb):
        oa, ob = fa[name], fb[name]
        if isinstance(oa, h5py.Dataset) and not any(volatile(p) for p in name.split("/")) \
                and not same_value(oa[()], ob[()]):
            bad.append("dataset %s differs" % name)
        for k in sorted(k for k in oa.attrs if not volatile(k)):
            if k not in ob.attrs or not same_value(oa.attrs[k], ob.attrs[k]):
                bad.append("attribute %s@%s differs" % (name, k))
for b in bad[:20]:
    print("%s vs %s: %s" % (pa, pb, b))
sys.exit(1 if bad else 0)
EOF
}

# all: 7 images in every family (shards 4+3, 3+2+2); the exact reference on the first 5 only, so
# its shards differ from the curve's; the midpoint check's 4096-step run on those 5.
ALL=(--metrics maxsens,randlogit --sanity --ig-curve --ig-steps 4,16,64 --ig-n 7 --ig-exact-n 5)
NEED_ALL=(methods/smoothgrad/sanity/ssim methods/ig/max_sensitivity/values methods/smoothgrad/random_logit/ssim/values
          metric_info/randlogit/class ig_steps/ig/midpoint/map_error ig_exact/ig/regions)
# few: 1 or 2 images a family: ranks without images at 2 and 3 ranks.
FEW=(--metrics maxsens,randlogit --maxsens-n 2 --randlogit-n 1 --sanity --sanity-n 2 --ig-curve --ig-steps 4,16 --ig-n 2)
NEED_FEW=(methods/smoothgrad/sanity/spearman methods/gradient/max_sensitivity/values metric_info/maxsens
          ig_exact/ig/sum)
for run in all few; do
    if [ $run = all ]; then opts=("${ALL[@]}") need=("${NEED_ALL[@]}"); else opts=("${FEW[@]}") need=("${NEED_FEW[@]}"); fi
    EVAL=(evaluate --model "$tmp/m.h5" --attributions "$tmp/a.h5" --steps 4 "${opts[@]}")
    "$serial" --quiet "${EVAL[@]}" --out "$tmp/$run.h5" >"$tmp/out" 2>&1 || { cat "$tmp/out"; bad "serial evaluate $run"; }
    [ $run = all ] && { h5dump -a ig_exact/ig/check_run "$tmp/all.h5" | grep -q "(0): 1" || bad "all: no midpoint check"; }
    for n in 1 2 3; do
        mpirun -n $n "$mpi" --quiet "${EVAL[@]}" --out "$tmp/$run$n.h5" >"$tmp/out" 2>&1 ||
            { cat "$tmp/out"; bad "evaluate $run -n $n"; }
        same_families "$tmp/$run.h5" "$tmp/$run$n.h5" "${need[@]}" || bad "evaluate $run -n $n: a family differs"
    done
done
finish evaluate_families
