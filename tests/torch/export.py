#!/usr/bin/env python3
# export.py: a PyTorch nn.Sequential written as an xai model file and a model file read back
# into PyTorch (layout: core/README.md). results/README.md shows this code; test_export.py checks it.
"""Usage as a library:

    from export import load, save
    net, mean, std = load("results/mnist/model.h5")        # eval-mode nn.Sequential, normalisation
    save(net, "my.h5", (3, 64, 64), mean=[0.5] * 3, std=[0.25] * 3)

Command line: export.py logits MODEL.h5 INPUTS.npy -> prints the logits of the loaded net.
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn


def _attrs(g):
    # Older files store fixed-length strings, which h5py returns as bytes.
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}


def _module(a):
    t = a["type"]
    i = lambda k: int(a[k])
    make = {
        "conv2d": lambda: nn.Conv2d(i("in_channels"), i("out_channels"), i("kernel_size"), i("stride"),
                                    i("padding"), bias=bool(a.get("bias", 1))),
        "linear": lambda: nn.Linear(i("in_features"), i("out_features"), bias=bool(a.get("bias", 1))),
        "batchnorm2d": lambda: nn.BatchNorm2d(i("num_features"), eps=float(a.get("eps", 1e-5)),
                                              momentum=float(a.get("momentum", 0.1))),
        "maxpool2d": lambda: nn.MaxPool2d(i("kernel_size"), i("stride"), int(a.get("padding", 0))),
        # the engine counts padding in the divisor, as PyTorch's default
        "avgpool2d": lambda: nn.AvgPool2d(i("kernel_size"), i("stride"), int(a.get("padding", 0))),
        "global_avg_pool": lambda: nn.AdaptiveAvgPool2d(1),
        "flatten": nn.Flatten, "relu": nn.ReLU,
        "dropout": lambda: nn.Dropout(float(a.get("p", 0.5))),
    }
    if t not in make:
        raise ValueError(f"unknown layer type '{t}'")
    return make[t]()


def load(path):
    """The net of a model file as an eval-mode nn.Sequential, and its (mean, std) per channel:
    the net sees (pixel / 255 - mean) / std."""
    with h5py.File(path, "r") as f:
        layers, flat = [], False
        for k in sorted(f["model/layers"]):
            g = f["model/layers"][k]
            a = _attrs(g)
            m = _module(a)
            # The engine's linear layer flattens a (C, 1, 1) input itself; PyTorch's does not.
            if a["type"] == "linear" and not flat:
                layers.append(nn.Flatten())
            m.load_state_dict({n: torch.from_numpy(g[n][()]) for n in g}, strict=False)
            layers.append(m)
            flat = a["type"] in ("flatten", "linear") or (flat and a["type"] in ("relu", "dropout"))
        mean = np.asarray(f["model"].attrs["normalize_mean"], dtype=np.float64)
        std = np.asarray(f["model"].attrs["normalize_std"], dtype=np.float64)
    return nn.Sequential(*layers).eval(), mean, std


def _flat_modules(net):
    for m in net.children() if isinstance(net, nn.Sequential) else [net]:
        if isinstance(m, nn.Sequential):
            yield from _flat_modules(m)
        else:
            yield m


def _pair(v, what):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if v[0] != v[1]:
        raise ValueError(f"{what} {v}: the engine has square kernels and equal strides/padding only")
    return int(v[0])


def _layer(m):
    """(attributes, tensors) of one module; None for modules that do nothing in eval mode."""
    if isinstance(m, nn.Conv2d):
        if m.groups != 1 or _pair(m.dilation, "dilation") != 1 or m.padding_mode != "zeros":
            raise ValueError(f"{m}: only groups=1, dilation=1, zero padding")
        a = dict(type="conv2d", in_channels=m.in_channels, out_channels=m.out_channels,
                 kernel_size=_pair(m.kernel_size, "kernel"), stride=_pair(m.stride, "stride"),
                 padding=_pair(m.padding, "padding"), bias=int(m.bias is not None))
        return a, {"weight": m.weight, "bias": m.bias}
    if isinstance(m, nn.Linear):
        a = dict(type="linear", in_features=m.in_features, out_features=m.out_features, bias=int(m.bias is not None))
        return a, {"weight": m.weight, "bias": m.bias}
    if isinstance(m, nn.BatchNorm2d):
        c = m.num_features
        w = m.weight if m.affine else torch.ones(c)
        b = m.bias if m.affine else torch.zeros(c)
        a = dict(type="batchnorm2d", num_features=c, eps=float(m.eps), momentum=float(m.momentum or 0.1))
        return a, {"weight": w, "bias": b, "running_mean": m.running_mean, "running_var": m.running_var}
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        if m.ceil_mode or (isinstance(m, nn.MaxPool2d) and _pair(m.dilation, "dilation") != 1):
            raise ValueError(f"{m}: ceil_mode and dilation are not supported")
        if isinstance(m, nn.AvgPool2d) and (not m.count_include_pad or m.divisor_override):
            raise ValueError(f"{m}: the engine's avgpool counts padding in the divisor")
        k = _pair(m.kernel_size, "kernel")
        a = dict(type="maxpool2d" if isinstance(m, nn.MaxPool2d) else "avgpool2d", kernel_size=k,
                 stride=_pair(m.stride or k, "stride"), padding=_pair(m.padding, "padding"))
        return a, {}
    if isinstance(m, nn.AdaptiveAvgPool2d):
        if _pair(m.output_size, "output_size") != 1:
            raise ValueError(f"{m}: only AdaptiveAvgPool2d(1) (global average pooling)")
        return dict(type="global_avg_pool"), {}
    if isinstance(m, nn.Flatten):
        return dict(type="flatten"), {}
    if isinstance(m, nn.ReLU):
        return dict(type="relu"), {}
    if isinstance(m, nn.Dropout):
        return dict(type="dropout", p=float(m.p)), {}
    if isinstance(m, nn.Identity):
        return None
    raise ValueError(f"{type(m).__name__}: no such layer in the engine (core/nn.h)")


def _spec_line(a):
    # The `layer = ...` syntax of experiment configs (core/README.md), for /model@layers_text.
    t = a["type"]
    if t == "conv2d":
        return f"conv2d out={a['out_channels']} k={a['kernel_size']} stride={a['stride']} pad={a['padding']} bias={a['bias']}"
    if t == "linear":
        return f"linear out={a['out_features']} bias={a['bias']}"
    if t in ("maxpool2d", "avgpool2d"):
        return f"{t} k={a['kernel_size']} stride={a['stride']} pad={a['padding']}"
    if t == "dropout":
        return f"dropout p={a['p']:g}"
    if t == "batchnorm2d":
        return f"batchnorm2d eps={a['eps']:g} momentum={a['momentum']:g}"
    return t


def save(net, path, input_shape, mean=None, std=None):
    """Writes net (an nn.Sequential of the engine's layer types) as a model file for inputs of
    input_shape (C, H, W); mean/std per channel (default 0 and 1) are stored for image inputs."""
    c = int(input_shape[0])
    layers = []
    mods = list(_flat_modules(net))
    for i, m in enumerate(mods):
        if isinstance(m, nn.Flatten) and i > 0 and isinstance(mods[i - 1], nn.AdaptiveAvgPool2d):
            continue  # the engine's global pool already ends in (C, 1, 1), which linear takes
        lay = _layer(m)
        if lay is not None:
            layers.append(lay)
    with torch.no_grad():
        k = net.eval()(torch.zeros(1, *input_shape)).reshape(1, -1).shape[1]
    mean = np.zeros(c) if mean is None else np.broadcast_to(np.asarray(mean, np.float64), (c,))
    std = np.ones(c) if std is None else np.broadcast_to(np.asarray(std, np.float64), (c,))
    tmp = f"{path}.tmp"
    with h5py.File(tmp, "w") as f:
        g = f.create_group("model")
        g.attrs["format"] = "xai-model-1"
        g.attrs["input_shape"] = np.asarray(input_shape, np.int64)
        g.attrs["num_classes"] = np.int64(k)
        g.attrs["num_layers"] = np.int64(len(layers))
        g.attrs["normalize_mean"] = np.asarray(mean, np.float64)
        g.attrs["normalize_std"] = np.asarray(std, np.float64)
        g.attrs["layers_text"] = "".join(_spec_line(a) + "\n" for a, _ in layers)
        g.attrs["program_version"] = "tests/torch/export.py"
        for n, (a, tensors) in enumerate(layers):
            lg = g.create_group(f"layers/{n:02d}")
            for key, v in a.items():
                lg.attrs[key] = v if isinstance(v, (str, float)) else np.int64(v)
            for key, t in tensors.items():
                if t is not None:
                    lg[key] = t.detach().cpu().numpy().astype(np.float32)
    import os
    os.replace(tmp, path)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "logits":
        sys.exit(__doc__)
    net, _, _ = load(sys.argv[2])
    with torch.no_grad():
        print(net(torch.from_numpy(np.load(sys.argv[3]).astype(np.float32))).numpy())
