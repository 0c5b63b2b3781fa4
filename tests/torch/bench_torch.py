#!/usr/bin/env python3
# bench_torch.py: the PyTorch side of the speed comparisons (dev tool, not part of the product).
# Same net, batch and thread count as `xai bench`; prints the same `key value` lines.
import argparse, statistics, time
import torch, torch.nn as nn

def mnist_net():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(128, 10))

def timeit(fn, warmup, repeats, iters):
    for _ in range(warmup): fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters): fn()
        ts.append((time.perf_counter() - t0) / iters)
    return statistics.median(ts)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["train", "infer", "ig", "gxi"])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--images", type=int, default=4, help="images per batched IG call")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = mnist_net()
    print("threads", torch.get_num_threads())
    if a.what == "train":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=1e-4)
        x = torch.randn(a.batch, 1, 28, 28); y = torch.arange(a.batch) % 10
        lossf = nn.CrossEntropyLoss()
        def step():
            opt.zero_grad(set_to_none=True)
            lossf(net(x), y).backward()
            opt.step()
        t = timeit(step, a.warmup, a.repeats, a.iters)
        print("train_img_per_s %.1f" % (a.batch / t))
    elif a.what == "infer":
        net.eval()
        x = torch.randn(a.batch, 1, 28, 28)
        def step():
            with torch.inference_mode(): net(x)
        t = timeit(step, a.warmup, a.repeats, a.iters)
        print("infer_img_per_s %.1f" % (a.batch / t))
    elif a.what == "ig":
        # Best batched autograd IG: all steps of several images in one batch.
        net.eval()
        x = torch.randn(a.images, 1, 28, 28)
        alphas = (torch.arange(a.steps, dtype=torch.float32) + 0.5) / a.steps
        def step():
            xs = (alphas.view(1, -1, 1, 1, 1) * x.unsqueeze(1)).reshape(-1, 1, 28, 28).requires_grad_(True)
            out = net(xs)
            tgt = out.detach().view(a.images, a.steps, 10)[:, -1].argmax(1).repeat_interleave(a.steps)
            g, = torch.autograd.grad(out.gather(1, tgt[:, None]).sum(), xs)
            return (g.view(a.images, a.steps, 1, 28, 28).mean(1) * x)
        t = timeit(step, a.warmup, a.repeats, a.iters)
        print("ig_attr_per_s %.1f" % (a.images / t))
    else:
        net.eval()
        x = torch.randn(a.batch, 1, 28, 28)
        def step():
            xs = x.clone().requires_grad_(True)
            out = net(xs)
            g, = torch.autograd.grad(out.gather(1, out.argmax(1, keepdim=True)).sum(), xs)
            return g * xs
        t = timeit(step, a.warmup, a.repeats, a.iters)
        print("gxi_attr_per_s %.1f" % (a.batch / t))

if __name__ == "__main__":
    main()
