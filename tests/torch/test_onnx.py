#!/usr/bin/env python3
# test_onnx.py: `xai import` against torch.onnx.export of small nets with every supported op
# (logits agree to 1e-5 relative), the ONNX model zoo's test_data_set check, and clear errors.
# Usage: test_onnx.py XAI LOGITS_HELPER; exits 77 (skip) without torch/onnx/h5py.
import os, shutil, subprocess, sys, tempfile

try:
    import h5py, numpy as np, onnx, torch, torch.nn as nn
    from onnx import helper, numpy_helper, TensorProto
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

TOL = 1e-5
torch.manual_seed(3)
torch.set_num_threads(1)


def nets():
    bn = nn.BatchNorm2d(8)
    bn.running_mean.uniform_(-0.3, 0.3), bn.running_var.uniform_(0.5, 1.5), bn.weight.data.uniform_(0.5, 1.5)
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), bn, nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.ReLU(), nn.AvgPool2d(2),
                        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Dropout(0.3),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    mlp = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(3, stride=1, padding=1), nn.Flatten(),
                        nn.Linear(4 * 6 * 6, 12), nn.ReLU(), nn.Identity(), nn.Linear(12, 3))
    return [("cnn", cnn.eval(), (3, 16, 16)), ("mlp", mlp.eval(), (1, 8, 8))]


def run(args, ok=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)}: {p.stderr}")
    return p


def c_logits(helper_bin, model, x, tmp):
    xin, out = os.path.join(tmp, "x.h5"), os.path.join(tmp, "logits.h5")
    with h5py.File(xin, "w") as f:
        f["x"] = x
    run([helper_bin, "logits", model, xin, out])
    with h5py.File(out, "r") as f:
        return f["logits"][()]


def rel_err(a, b):
    return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))


def check_torch(xai, helper_bin, tmp):
    fails = 0
    for name, net, shape in nets():
        path = os.path.join(tmp, name + ".onnx")
        x = torch.randn(2, *shape)
        torch.onnx.export(net, x[:1], path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
        out = os.path.join(tmp, name + ".h5")
        run([xai, "import", path, "--out", out, "--mean", ",".join(["0.1"] * shape[0]), "--std",
             ",".join(["0.5"] * shape[0])])
        with torch.no_grad():
            t = net(x).numpy()
        e = rel_err(c_logits(helper_bin, out, x.numpy(), tmp), t)
        with h5py.File(out, "r") as f:
            std = f["model"].attrs["normalize_std"]
        ok = e <= TOL and np.allclose(std, 0.5)
        print(f"{'ok' if ok else 'FAIL'} {name}: imported logits vs PyTorch {e:.2e}")
        fails += not ok
    return fails, path, net, shape


def check_test_data(xai, tmp, path, net, shape):
    """The ONNX model zoo layout: test_data_set_0/{input_0,output_0}.pb beside the model."""
    own = os.path.join(tmp, "zoo")  # a folder of its own, as in the model zoo
    d = os.path.join(own, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    path = shutil.copy(path, os.path.join(own, "model.onnx"))
    x = torch.randn(3, *shape)
    with torch.no_grad():
        y = net(x).numpy()
    open(os.path.join(d, "input_0.pb"), "wb").write(numpy_helper.from_array(x.numpy()).SerializeToString())
    open(os.path.join(d, "output_0.pb"), "wb").write(numpy_helper.from_array(y).SerializeToString())
    p = run([xai, "import", path, "--out", os.path.join(tmp, "td.h5")])
    fails = int("checked 1 test data set" not in p.stdout)
    open(os.path.join(d, "output_0.pb"), "wb").write(numpy_helper.from_array(y + 1).SerializeToString())
    p = run([xai, "import", path, "--out", os.path.join(tmp, "td.h5")], ok=False)
    fails += int(p.returncode == 0 or "test data" not in p.stderr)
    print(f"{'ok' if not fails else 'FAIL'} test_data_set check: {p.stderr.strip()}")
    return fails


def graph_model(nodes, inits, in_shape, out_dim):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", out_dim])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def check_matmul(xai, helper_bin, tmp):
    """Reshape (constant shape) + MatMul + Add, as other exporters write a linear layer."""
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["y"], name="bias")]
    inits = [numpy_helper.from_array(np.array([-1, 16], np.int64), "shape"), numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(b, "b")]
    path = os.path.join(tmp, "mm.onnx")
    onnx.save(graph_model(nodes, inits, ["n", 1, 4, 4], 3), path)
    run([xai, "import", path, "--out", os.path.join(tmp, "mm.h5"), "--normalize", "0.5,0.25"])
    x = rng.standard_normal((2, 1, 4, 4)).astype(np.float32)
    e = rel_err(c_logits(helper_bin, os.path.join(tmp, "mm.h5"), x, tmp), x.reshape(2, 16) @ w + b)
    print(f"{'ok' if e <= TOL else 'FAIL'} Reshape+MatMul+Add: {e:.2e}")
    return int(e > TOL)


def check_errors(xai, tmp):
    """An op the engine lacks is an error naming the node and the op type."""
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act"), helper.make_node("Sigmoid", ["r"], ["y"], name="sig")]
    path = os.path.join(tmp, "bad.onnx")
    onnx.save(graph_model(nodes, [], ["n", 3], 3), path)
    p = run([xai, "import", path, "--out", os.path.join(tmp, "bad.h5")], ok=False)
    fails = int(p.returncode == 0 or "'sig'" not in p.stderr or "Sigmoid" not in p.stderr)
    open(os.path.join(tmp, "junk.onnx"), "wb").write(b"\x0a\xff\xff\xff\xff\x0f junk")
    q = run([xai, "import", os.path.join(tmp, "junk.onnx"), "--out", os.path.join(tmp, "j.h5")], ok=False)
    fails += int(q.returncode == 0 or "not an ONNX model" not in q.stderr)
    fails += int(os.path.exists(os.path.join(tmp, "bad.h5")) or os.path.exists(os.path.join(tmp, "j.h5")))
    print(f"{'ok' if not fails else 'FAIL'} errors: {p.stderr.strip()} / {q.stderr.strip()}")
    return fails


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_onnx.py XAI LOGITS_HELPER")
    xai, helper_bin = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        fails, path, net, shape = check_torch(xai, helper_bin, tmp)
        fails += check_test_data(xai, tmp, path, net, shape)
        fails += check_matmul(xai, helper_bin, tmp)
        fails += check_errors(xai, tmp)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
