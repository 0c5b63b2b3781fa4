#!/usr/bin/python3
# mkidx.py: a synthetic dataset in MNIST's file format (idx, gzipped) with its SHA256SUMS, as a mirror
# for `xai fetch|train|explain --mirror DIR`: each image a class's bar and stroke on seeded noise.
# Usage: mkidx.py MIRROR DATASET TRAIN TEST (DATASET: mnist or fashion-mnist; the file names are the same)
import gzip, hashlib, os, struct, sys
import numpy as np

mirror, dataset, ntrain, ntest = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(os.path.join(mirror, dataset), exist_ok=True)
rng = np.random.default_rng(16)
sums = []
for split, n in (("train", ntrain), ("t10k", ntest)):
    labels = np.arange(n) % 10
    img = rng.integers(0, 60, (n, 28, 28))
    for i, c in enumerate(labels):
        img[i, 3 + 2 * c: 6 + 2 * c, 4:24] += 180
        img[i, 4:24, 5 + c: 8 + c] += 90
    files = {"images-idx3": struct.pack(">IIII", 2051, n, 28, 28) + np.clip(img, 0, 255).astype(np.uint8).tobytes(),
             "labels-idx1": struct.pack(">II", 2049, n) + labels.astype(np.uint8).tobytes()}
    for kind, data in files.items():
        name = f"{dataset}/{split}-{kind}-ubyte.gz"
        with open(os.path.join(mirror, name), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            f.write(data)
        with open(os.path.join(mirror, name), "rb") as f:
            sums.append(f"{hashlib.sha256(f.read()).hexdigest()}  {name}\n")
with open(os.path.join(mirror, "SHA256SUMS"), "a") as f:
    f.writelines(sums)
