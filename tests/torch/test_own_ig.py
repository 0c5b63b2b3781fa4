#!/usr/bin/env python3
# test_own_ig.py: issue 15's path for a model trained outside the suite: train_own.py (PyTorch)
# -> ONNX -> `xai import` -> `xai explain --images` -> `xai evaluate`, checked against PyTorch.
"""Usage: test_own_ig.py XAI; exits 77 (skip) without torch/onnx/h5py.

Checks: the network inputs xai decoded from the PNG files are torchvision's transform of the same
pixels; the logits agree to 1e-5 relative; the explained class is PyTorch's prediction; the IG
quadrature is Gauss-Legendre's (numpy's nodes); each image's IG map agrees with PyTorch autograd
IG over the same nodes to 1e-4 relative L2; evaluate writes its metrics file.
The PyTorch reference runs in float64 on the float32 weights, so its own rounding is out of the
comparison. A quadrature node may meet a kink of the net (a ReLU input near 0, a max-pool near-tie)
within float32 rounding, where float32 may take either side: those steps are told apart and shown
(core/README.md, "Importing ONNX models", has the measurements).
"""
import os
import subprocess
import sys
import tempfile
import zlib

try:
    import h5py
    import numpy as np
    import torch
    import torch.nn as nn
    import onnx  # noqa: F401  (torch.onnx.export needs it)
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_own  # noqa: E402

TOL_LOGITS, TOL_IG = 1e-5, 1e-4
TAU = 1e-6  # a kink this near (relative to its layer's largest value) is within float32 rounding
MAX_FLIPS = 3


def run(args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)}: {p.stdout}{p.stderr}")
    return p.stdout


def read_png(path):
    """The (3, H, W) pixels of an unfiltered 8-bit RGB PNG as train_own.write_png writes it."""
    data = open(path, "rb").read()
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    pos, idat = 8, b""
    while pos < len(data):
        n, t = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        idat += data[pos + 8:pos + 8 + n] if t == b"IDAT" else b""
        pos += 12 + n
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any(), "filtered PNG rows"
    return rows[:, 1:].reshape(h, w, 3).transpose(2, 0, 1).copy()


def torch_ig(net64, x, base, target, alphas, weights):
    """(x - x') sum_k w_k grad f_target(x' + alpha_k (x - x')), in float64."""
    path = base + torch.from_numpy(alphas).view(-1, 1, 1, 1) * (x - base)
    path.requires_grad_(True)
    out = net64(path)[:, target]
    (g,) = torch.autograd.grad(out, path, torch.from_numpy(weights))
    return ((x - base) * g.sum(0)).numpy()


def kinks(net64, p, target):
    """The gradient changes of f_target at the point p (1, C, H, W) had a kink within float32
    rounding (TAU of its layer's largest value) gone the other way: a ReLU input that near 0, a
    max-pool window whose two largest inputs are that near. [(what, relative gap, change)]."""
    p = p[None].clone().requires_grad_(True)
    ins, outs, h = [], [], p
    for mod in net64:
        ins.append(h)
        h = mod(h)
        outs.append(h)
    found = []
    for j, mod in enumerate(net64):
        z, scale = ins[j].detach()[0], float(ins[j].detach().abs().max())
        if isinstance(mod, nn.ReLU):
            for u in torch.nonzero(z.abs().flatten() <= TAU * scale).flatten().tolist():
                found.append((f"relu {j} unit {u}", abs(float(z.flatten()[u])) / scale, j, [u], -np.sign(z.flatten()[u])))
        elif isinstance(mod, nn.MaxPool2d) and mod.kernel_size == mod.stride and not mod.padding:
            k = mod.kernel_size
            win = z.unfold(1, k, k).unfold(2, k, k)
            c_, hh, ww = win.shape[:3]
            top = torch.topk(win.reshape(c_, hh, ww, k * k), 2, dim=-1)
            gap = top.values[..., 0] - top.values[..., 1]
            for c, y, x in torch.nonzero((gap <= TAU * scale) & (top.values[..., 0] > 0)).tolist():
                a, b = (top.indices[c, y, x, r].item() for r in (0, 1))
                flat = lambda i: (c * z.shape[1] + k * y + i // k) * z.shape[2] + k * x + i % k
                found.append((f"maxpool {j} window {c},{y},{x}", float(gap[c, y, x]) / scale, j,
                              [flat(b), flat(a)], (c * hh + y) * ww + x))
    changes = []
    for what, gap, j, units, how in found:
        gout = torch.autograd.grad(h[0, target], outs[j], retain_graph=True)[0].flatten()
        dz = [torch.autograd.grad(ins[j].flatten()[u], p, retain_graph=True)[0] for u in units]
        if len(units) == 1:  # the ReLU's derivative flips from 1 to 0 (sign -1) or 0 to 1
            d = how * gout[units[0]] * dz[0]
        else:  # the window's gradient goes to the runner-up
            d = gout[how] * (dz[0] - dz[1])
        if float(d.abs().max()) > 0:
            changes.append((what, gap, d[0]))
    return changes


def check_ig(net64, x, base, target, alphas, weights, a):
    """The relative L2 error of xai's map a against PyTorch's IG; where that is above TOL_IG, the
    PyTorch map with kinks within float32 rounding taken the other way, one at a time while that
    halves the error (at most MAX_FLIPS): both sides of such a kink are right to float32."""
    ref = torch_ig(net64, x, base, target, alphas, weights)
    e0 = e = rel(a, ref)
    used = []
    if e <= TOL_IG:
        return e0, e, used
    cands = []
    for k, al in enumerate(alphas):
        for what, gap, d in kinks(net64, base + al * (x - base), target):
            cands.append((f"node {k} (alpha {al:.5f}) {what}, gap {gap:.1e}", ((x - base) * weights[k] * d).numpy()))
    while e > TOL_IG and len(used) < MAX_FLIPS and cands:
        errs = [rel(a, ref + d) for _, d in cands]
        best = int(np.argmin(errs))
        if errs[best] > e / 2:
            break
        e, ref = errs[best], ref + cands[best][1]
        used.append(cands.pop(best)[0])
    return e0, e, used


def rel(a, b):
    return float(np.linalg.norm((a - b).ravel()) / max(np.linalg.norm(b.ravel()), 1e-30))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    xai = sys.argv[1]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, train_own.__file__, tmp])
        mean, std = open(os.path.join(tmp, "norm.txt")).read().split()
        model, attr, metrics = (os.path.join(tmp, f) for f in ("net.h5", "attr.h5", "metrics.h5"))
        run([xai, "import", os.path.join(tmp, "net.onnx"), "--out", model, "--mean", mean, "--std", std])
        imgdir = os.path.join(tmp, "images")
        run([xai, "explain", "--model", model, "--images", imgdir, "--methods", "ig,lrp-epsilon", "--out", attr])
        run([xai, "evaluate", "--model", model, "--attributions", attr, "--out", metrics, "--patch", "4",
             "--steps", "8"])
        files = sorted(os.listdir(imgdir))
        u8 = np.stack([read_png(os.path.join(imgdir, f)) for f in files])

        net = train_own.net()
        net.load_state_dict(torch.load(os.path.join(tmp, "net.pt")))
        net.eval()
        x32 = train_own.normalise(u8)
        with torch.no_grad():
            logits = net(x32).numpy()
        net64 = net.double()
        m64 = torch.tensor(train_own.MEAN, dtype=torch.float64).view(1, 3, 1, 1)
        s64 = torch.tensor(train_own.STD, dtype=torch.float64).view(1, 3, 1, 1)
        x64 = (torch.from_numpy(u8).double() / 255 - m64) / s64
        base64 = (0 - m64[0]) / s64[0]  # the black baseline: pixel 0 through the transform

        fails = 0
        with h5py.File(attr, "r") as f:
            inputs, xlogits, targets = f["inputs"][()], f["logits"][()], f["targets"][()]
            ig = f["attributions/ig"]
            alphas, weights, a = ig.attrs["alphas"], ig.attrs["weights"], ig[()]
        e_in = float(np.abs(inputs - x32.numpy()).max())
        e_log = float(np.abs(xlogits - logits).max() / np.abs(logits).max())
        nodes, w = np.polynomial.legendre.leggauss(len(alphas))
        e_nodes = max(np.abs(alphas - (nodes + 1) / 2).max(), np.abs(weights - w / 2).max())
        print(f"inputs vs torchvision transform: max abs {e_in:.2e}; logits: max rel {e_log:.2e}; "
              f"{len(alphas)} Gauss-Legendre nodes vs numpy: {e_nodes:.1e}")
        fails += e_in > 1e-6 or e_log > TOL_LOGITS or e_nodes > 1e-12
        if not np.array_equal(targets, logits.argmax(1)):
            print(f"FAIL targets {targets} vs PyTorch's predictions {logits.argmax(1)}")
            fails += 1
        worst = 0.0
        for i, name in enumerate(files):
            e0, e, used = check_ig(net64, x64[i], base64, int(targets[i]), alphas, weights, a[i].astype(np.float64))
            worst = max(worst, e)
            print(f"{'ok' if e <= TOL_IG else 'FAIL'} {name}: IG relative L2 {e:.2e}" +
                  "".join(f"\n    (was {e0:.2e} before this kink within float32 rounding went the other way: {u})"
                          for u in used))
            fails += e > TOL_IG
        with h5py.File(metrics, "r") as f:
            fails += "stats" not in f
        print(f"{'ok' if not fails else 'FAIL'}: logits {e_log:.2e} (<= {TOL_LOGITS}), IG worst {worst:.2e} "
              f"(<= {TOL_IG}) over {len(files)} images")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
