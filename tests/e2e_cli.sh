#!/usr/bin/env bash
# e2e_cli.sh: drives the `xai` binary as a user would: help, errors, bench output format.
# Usage: e2e_cli.sh path/to/xai
set -u
XAI=$1
source "$(dirname "${BASH_SOURCE[0]}")/lib_e2e.sh"

check help 0 "$XAI" --help;                contains help-lists-bench "bench"
check version 0 "$XAI" --version;          contains version "xai "
check unknown-cmd 2 "$XAI" frobnicate;     contains unknown-cmd "unknown command 'frobnicate'"
check bad-threads 2 "$XAI" --threads 0 bench; contains bad-threads "--threads 0: expected a whole number"
check bench-help 0 "$XAI" bench --help;    contains bench-help "usage: xai bench"
check bench-missing 1 "$XAI" bench train --config "$tmp/none.ini"
contains bench-missing "none.ini: cannot open"
[ "$(wc -l <<<"$out")" = 1 ] && pass=$((pass+1)) || { echo "FAIL bench-missing: error is not one line"; fail=$((fail+1)); }

printf '[model]\ninput = 1x8x8\nclasses = 3\nlayer = conv out=4 k=3\nlayer = relu\nlayer = bogus\n' >"$tmp/bad.ini"
check bench-bad-layer 1 "$XAI" bench infer --config "$tmp/bad.ini"
contains bench-bad-layer "bad.ini:6: unknown layer type 'bogus'"

printf '[model]\ninput = 1x8x8\nclasses = 3\nlayer = conv out=4 k=3\nlayer = relu\nlayer = maxpool k=2\nlayer = flatten\nlayer = linear out=3\n' >"$tmp/tiny.ini"
for what in train infer; do
    check bench-$what 0 "$XAI" --threads 2 bench $what --config "$tmp/tiny.ini" --batch 4 --repeats 1 --iters 1 --warmup 0
    contains bench-$what-figure "${what}_img_per_s "
    # without OpenMP the build runs one thread whatever is asked
    grep -q "^threads [12]$" <<<"$out" && pass=$((pass+1)) || { echo "FAIL bench-$what-threads"; fail=$((fail+1)); }
    contains bench-$what-rss "peak_rss_mb "
done

# Issue 18: forward passes a second inside each metric, next to inference at the same batch.
check bench-evaluate 0 "$XAI" bench evaluate --config "$tmp/tiny.ini" --images 2 --batch 4 --repeats 1 --warmup 0
for key in infer_img_per_s pixelflip_forward_per_s pixelflip_vs_infer randomisation_forward_only similarity_per_s; do
    contains bench-evaluate-$key "$key "
done
# IG through the net as xai evaluate runs it, batch norms not folded (the cost model's ig-unfolded)
printf '[model]\ninput = 1x8x8\nclasses = 3\nlayer = conv out=4 k=3\nlayer = bn\nlayer = relu\nlayer = flatten\nlayer = linear out=3\n' >"$tmp/tinybn.ini"
check bench-ig-unfolded 0 "$XAI" bench ig --config "$tmp/tinybn.ini" --unfolded --ig-batch 8 --images 2 --steps 4 --repeats 1 --warmup 0
contains bench-ig-unfolded "ig_attr_per_s "
check bench-ig-unfolded-exact 2 "$XAI" bench ig --config "$tmp/tinybn.ini" --unfolded --rule exact
contains bench-ig-unfolded-exact "--unfolded goes with the quadrature rules"

check bench-evaluate-bad 1 "$XAI" bench evaluate --config "$tmp/tiny.ini" --metric roadd
contains bench-evaluate-bad "--metric roadd: unknown metric (expected one of pixelflip"
check bench-lrp-flops 0 "$XAI" bench lrp --method lrp-zplus --config "$tmp/tiny.ini" --batch 4 --repeats 1 --warmup 0
contains bench-lrp-ratio "lrp_vs_gxi "
contains bench-lrp-bound "flop_bound_vs_gxi "

check bench-ig-exact 0 "$XAI" bench ig --rule exact --config "$tmp/tiny.ini" --images 2 --repeats 1 --warmup 0
contains bench-ig-exact-rate "regions_per_s "
contains bench-ig-exact-median "regions_per_attr_median "
check bench-ig-bad-rule 2 "$XAI" bench ig --rule simpson --config "$tmp/tiny.ini"
contains bench-ig-bad-rule "gauss or exact"
check bench-ig-vs-alone 2 "$XAI" bench ig --vs-steps 50 --config "$tmp/tiny.ini"

# Issue 12: hostile inputs are refused with file:line, and outputs never overwrite inputs.
printf '[experiment]\nname = t\ndataset = mnist\n' >"$tmp/t.ini"; cp "$tmp/t.ini" "$tmp/t.orig"
check train-out-is-config 1 "$XAI" train --config "$tmp/t.ini" --out "$tmp/./t.ini" --data-dir "$tmp/nodata" --mirror "$tmp/nomirror"
contains train-out-is-config "is the same file as --config"
cmp -s "$tmp/t.ini" "$tmp/t.orig" && pass=$((pass+1)) || { echo "FAIL train-out-is-config: config changed"; fail=$((fail+1)); }
check explain-out-is-model 1 "$XAI" explain --model "$tmp/t.ini" --dataset mnist --out "$tmp/t.ini" --data-dir "$tmp/nodata"
contains explain-out-is-model "is the same file as --model"
# ... nor do the default outputs (attributions.h5 beside the model, metrics.h5 beside the attributions).
mkdir -p "$tmp/d"; cp "$tmp/t.ini" "$tmp/d/attributions.h5"; cp "$tmp/t.ini" "$tmp/d/metrics.h5"; cp "$tmp/t.ini" "$tmp/d/a.h5"
check explain-default-is-model 1 "$XAI" explain --model "$tmp/d/attributions.h5" --dataset mnist --data-dir "$tmp/nodata"
contains explain-default-is-model "the default output $tmp/d/attributions.h5 is the same file as --model"
check evaluate-default-is-model 1 "$XAI" evaluate --model "$tmp/d/metrics.h5" --attributions "$tmp/d/a.h5"
contains evaluate-default-is-model "the default output $tmp/d/metrics.h5 is the same file as --model"
check evaluate-summary-is-default 1 "$XAI" evaluate --model "$tmp/t.ini" --attributions "$tmp/d/a.h5" --summary "$tmp/d/./metrics.h5"
contains evaluate-summary-is-default "is the same file as the default output"
check evaluate-summary-is-out 1 "$XAI" evaluate --model "$tmp/t.ini" --attributions "$tmp/d/a.h5" --summary "$tmp/d/new.csv" --out "$tmp/d/../d/new.csv"
contains evaluate-summary-is-out "one output would overwrite the other"
for f in attributions metrics a; do cmp -s "$tmp/d/$f.h5" "$tmp/t.orig" && pass=$((pass+1)) || { echo "FAIL default-outputs: $f.h5 changed"; fail=$((fail+1)); }; done
{ printf '[model]\ninput = 1x8x8\nclasses = 3\n; '; printf 'x%.0s' $(seq 197); printf 'layer = bogus\n'; } >"$tmp/long.ini"
tail -n +2 "$tmp/tiny.ini" >>"$tmp/long.ini"
check config-long-line 1 "$XAI" bench infer --config "$tmp/long.ini" --batch 1 --repeats 1 --iters 1 --warmup 0
contains config-long-line "long.ini:4: line of 212 characters"
{ cat "$tmp/tiny.ini"; printf '[trian]\nepochs = 1\n'; } >"$tmp/typo.ini"
check config-unknown-section 1 "$XAI" bench infer --config "$tmp/typo.ini" --batch 1 --repeats 1 --iters 1 --warmup 0
contains config-unknown-section "typo.ini:9: unknown section [trian]"
{ printf '[experiment]\nname = ../../../x\n'; cat "$tmp/tiny.ini"; } >"$tmp/escape.ini"
check config-name-escapes 1 "$XAI" bench infer --config "$tmp/escape.ini" --batch 1 --repeats 1 --iters 1 --warmup 0
contains config-name-escapes "escape.ini:2: [experiment] name = '../../../x'"
check config-dev-zero 1 timeout 20 "$XAI" bench infer --config /dev/zero
contains config-dev-zero "/dev/zero: larger than 1048576 bytes"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
