#!/usr/bin/env python3
# train_own.py: a model trained outside the suite, as a user brings one: a small PyTorch CNN
# (conv, batch norm, ReLU, pools, linear) trained on synthetic pictures, exported to ONNX.
"""Usage: train_own.py OUT_DIR [--epochs E]

Writes OUT_DIR/net.onnx (the eval-mode net, dynamic batch), OUT_DIR/net.pt (its state_dict),
OUT_DIR/norm.txt ("MEAN,MEAN,MEAN STD,STD,STD", the transform the net was trained behind) and
OUT_DIR/images/<class>_<k>.png, 9 held-out pictures the net has not seen. Three classes of 32x32
RGB pictures: horizontal stripes, vertical stripes, a disc; colours, phases and noise random.
Seeded and single-threaded, so every run writes the same files.
"""
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn

SIZE, CLASSES = 32, ("hstripes", "vstripes", "disc")
IMAGES = 9  # held-out pictures written as PNG files
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's ImageNet transform


def pictures(rng, n):
    """n uint8 (n, 3, SIZE, SIZE) pictures and their labels."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    x = np.empty((n, 3, SIZE, SIZE), np.uint8)
    y = rng.integers(0, len(CLASSES), n)
    for i in range(n):
        period, phase = rng.uniform(4, 10), rng.uniform(0, 2 * np.pi)
        if y[i] == 0:
            mask = np.sin(2 * np.pi * yy / period + phase) > 0
        elif y[i] == 1:
            mask = np.sin(2 * np.pi * xx / period + phase) > 0
        else:
            cy, cx, r = rng.uniform(8, 24, 2).tolist() + [rng.uniform(5, 11)]
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        fg, bg = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        img = np.where(mask, fg[:, None, None], bg[:, None, None]) + rng.normal(0, 12, (3, SIZE, SIZE))
        x[i] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return x, y


def normalise(u8):
    """torchvision's ToTensor + Normalize(MEAN, STD) on uint8 (N, 3, H, W)."""
    m, s = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (torch.from_numpy(u8).float() / 255 - m) / s


def net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Dropout(0.1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, len(CLASSES)))


def write_png(path, rgb):
    """An 8-bit RGB PNG of a (3, H, W) uint8 array (no filter), with zlib only."""
    h, w = rgb.shape[1:]
    raw = b"".join(b"\0" + rgb[:, r, :].T.tobytes() for r in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def train(epochs):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x, y = pictures(rng, 600)
    xt, yt = normalise(x), torch.from_numpy(y)
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        model.train()
        for b in torch.randperm(len(xt)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[b]), yt[b]).backward()
            opt.step()
    model.eval()
    held, hy = pictures(rng, 200)
    with torch.no_grad():
        acc = float((model(normalise(held)).argmax(1).numpy() == hy).mean())
    return model, held[:IMAGES], hy[:IMAGES], acc


def main():
    args = sys.argv[1:]
    epochs = 8
    if "--epochs" in args:
        i = args.index("--epochs")
        epochs = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    model, held, hy, acc = train(epochs)
    torch.save(model.state_dict(), os.path.join(out, "net.pt"))
    torch.onnx.export(model, normalise(held[:1]), os.path.join(out, "net.onnx"), input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}}, opset_version=13)
    for k, (img, c) in enumerate(zip(held, hy)):
        write_png(os.path.join(out, "images", f"{CLASSES[c]}_{k}.png"), img)
    with open(os.path.join(out, "norm.txt"), "w") as f:
        f.write(",".join(map(str, MEAN)) + " " + ",".join(map(str, STD)) + "\n")
    print(f"trained {epochs} epochs; held-out accuracy {acc:.2f} on 200 pictures; wrote {out}")


if __name__ == "__main__":
    main()
