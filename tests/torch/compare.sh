#!/bin/bash
# compare.sh: interleaved speed comparison of xai and PyTorch on the MNIST net (dev tool).
# Usage: tests/torch/compare.sh [xai binary] [rounds]; needs Debian's python3-torch in /usr/bin/python3.
set -u
cd "$(dirname "$0")/../.."
X=${1:-./build/xai}
R=${2:-2}
T="/usr/bin/python3 tests/torch/bench_torch.py"
pick() { grep -E "$1" | tr '\n' ' '; }
for r in $(seq "$R"); do
  echo "== round $r, $(uptime | sed 's/.*load/load/')"
  echo "xai train:   $($X bench train --batch 128 | pick 'conv_impl|train_img|^gflops|^fraction|conv_gflops|conv_fraction|peak_rss')"
  echo "torch train: $($T train --threads 2 --batch 128 | pick img)"
  echo "xai infer:   $($X bench infer --batch 128 | pick 'infer_img|conv_gflops')"
  echo "torch infer: $($T infer --threads 2 --batch 128 | pick img)"
  # PyTorch's best batching is not known in advance: try several, compare with the best.
  for im in 1 2 4 8; do
    echo "torch ig images=$im: $($T ig --threads 2 --images $im --repeats 3 --iters 1 --warmup 1 | pick ig_attr)"
  done
  echo "xai ig:      $($X bench ig --images 16 --repeats 3 | pick 'ig_attr|^gflops|fraction')"
  echo "torch gxi:   $($T gxi --threads 2 --batch 256 --repeats 5 | pick gxi)"
  echo "xai lrp:     $($X bench lrp --batch 256 --repeats 5 | pick 'attr_per|^gflops|fraction')"
done
