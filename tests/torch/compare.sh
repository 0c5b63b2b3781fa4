#!/bin/bash
# compare.sh: interleaved speed comparison of xai and PyTorch on the MNIST net (dev tool): training,
# inference, IG, every LRP composite against gradient x input (xai's and PyTorch's), the metrics
# against inference. Ratios are taken inside one round, so a shared, loaded machine still gives
# comparable figures; the CPU and the load are printed with them.
# Usage: [THREADS=2] [REPEATS=3] [ROUNDS=1] [PARTS="train infer ig lrp evaluate"] [BATCH=256]
#        tests/torch/compare.sh [xai binary]; needs Debian's python3-torch in /usr/bin/python3.
set -u
cd "$(dirname "$0")/../.."
X=${1:-./build/xai}
TH=${THREADS:-2} REP=${REPEATS:-3} R=${ROUNDS:-1} B=${BATCH:-256}
PARTS=${PARTS:-train infer ig lrp evaluate}
T="/usr/bin/python3 tests/torch/bench_torch.py"
XT="$X --threads $TH"
COMPOSITES="lrp-0 lrp-epsilon lrp-gamma lrp-zplus lrp-alpha1beta0 lrp-alpha2beta1 lrp-flat lrp-wsquare lrp-zbox
            lrp-epsilon-plus-flat lrp-epsilon-gamma-box lrp-preset-a lrp-preset-b"
pick() { grep -E "$1" | tr '\n' ' '; }
val() { sed -n "s/^$1 //p" | head -1; } # the value of one `key value` line
want() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, $(lscpu | grep -o 'avx512f' | head -1 || true)"
echo "threads $TH, repeats $REP, batch $B, xai $($X --version 2>/dev/null | head -1)"
for r in $(seq "$R"); do
  echo "== round $r, $(uptime | sed 's/.*load/load/')"
  if want train; then
    echo "xai train:   $($XT bench train --batch 128 | pick 'conv_impl|train_img|^gflops|^fraction|conv_gflops|conv_fraction')"
    echo "torch train: $($T train --threads "$TH" --batch 128 | pick img)"
  fi
  if want infer; then
    echo "xai infer:   $($XT bench infer --batch 128 | pick 'infer_img|^gflops|fraction_of_isa')"
    echo "torch infer: $($T infer --threads "$TH" --batch 128 | pick img)"
  fi
  if want ig; then
    # PyTorch's best batching is not known in advance: try several, compare with the best.
    for im in 1 2 4 8; do
      echo "torch ig images=$im: $($T ig --threads "$TH" --images $im --repeats "$REP" --iters 1 --warmup 1 | pick ig_attr)"
    done
    echo "xai ig:      $($XT bench ig --images 16 --repeats "$REP" | pick 'ig_attr|^gflops|fraction_of_isa')"
  fi
  if want lrp; then
    # PyTorch's gradient x input before and after the composites: their mean is the reference.
    t0=$($T gxi --threads "$TH" --batch "$B" --repeats "$REP" | val gxi_attr_per_s)
    out=""
    for c in $COMPOSITES; do
      out="$out$c $($XT bench lrp --method "$c" --batch "$B" --repeats "$REP" | tr '\n' ' ')
"
    done
    t1=$($T gxi --threads "$TH" --batch "$B" --repeats "$REP" | val gxi_attr_per_s)
    echo "torch gxi: $t0 / $t1 attr/s"
    printf '%-24s %9s %9s %8s %8s %9s %8s\n' composite lrp/s xai_gxi/s vs_gxi bound vs_torch gflops
    echo "$out" | awk -v t0="$t0" -v t1="$t1" 'NF {
      for (i = 2; i < NF; i += 2) v[$i] = $(i + 1)
      printf "%-24s %9.1f %9.1f %8.3f %8.3f %9.2f %8.2f\n", $1, v["lrp_attr_per_s"], v["gxi_attr_per_s"],
             v["lrp_vs_gxi"], v["flop_bound_vs_gxi"], v["lrp_attr_per_s"] / ((t0 + t1) / 2), v["gflops"] }'
  fi
  if want evaluate; then
    echo "xai evaluate: $($XT bench evaluate --repeats "$REP" 2>/dev/null | pick '^infer_img|_forward_per_s|_vs_infer|^[a-z]+_gflops ')"
  fi
done
echo "load at the end: $(uptime | sed 's/.*load average: //')"
