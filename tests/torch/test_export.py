#!/usr/bin/env python3
# test_export.py: export.py against the C engine, both ways, for every experiment's architecture
# (random-initialised) and any trained model files given: logits agree to 1e-5 relative.
# Usage: test_export.py LOGITS_HELPER SOURCE_DIR [model.h5 ...]; exits 77 (skip) without torch/h5py.
import glob, os, subprocess, sys, tempfile

try:
    import h5py, numpy as np, torch
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import load, save  # noqa: E402

TOL = 1e-5


def c_logits(helper, model, x, tmp):
    xin, out = os.path.join(tmp, "x.h5"), os.path.join(tmp, "logits.h5")
    with h5py.File(xin, "w") as f:
        f["x"] = x
    subprocess.run([helper, "logits", model, xin, out], check=True)
    with h5py.File(out, "r") as f:
        return f["logits"][()]


def rel_err(a, b):
    return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))


def check(helper, model, tmp, name):
    net, mean, std = load(model)
    with h5py.File(model, "r") as f:
        shape = tuple(int(v) for v in f["model"].attrs["input_shape"])
    x = np.random.default_rng(5).standard_normal((3, *shape)).astype(np.float32)
    with torch.no_grad():
        t = net(torch.from_numpy(x)).numpy()
    e1 = rel_err(t, c_logits(helper, model, x, tmp))
    back = os.path.join(tmp, "back.h5")
    save(net, back, shape, mean, std)
    e2 = rel_err(c_logits(helper, back, x, tmp), t)
    _, mean2, std2 = load(back)
    ok = e1 <= TOL and e2 <= TOL and np.allclose(mean, mean2) and np.allclose(std, std2)
    print(f"{'ok' if ok else 'FAIL'} {name}: file->torch {e1:.2e}, torch->file {e2:.2e} (logits {t.shape})")
    return ok


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__ or "usage: test_export.py LOGITS_HELPER SOURCE_DIR [model.h5 ...]")
    helper, src = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for ini in sorted(glob.glob(os.path.join(src, "experiments", "*.ini"))):
            model = os.path.join(tmp, "init.h5")
            subprocess.run([helper, "init", ini, model], check=True)
            fails += not check(helper, model, tmp, os.path.basename(ini) + " (random init)")
        for model in sys.argv[3:]:
            fails += not check(helper, model, tmp, model)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
