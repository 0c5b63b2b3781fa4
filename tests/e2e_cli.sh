#!/usr/bin/env bash
# e2e_cli.sh: drives the `xai` binary as a user would: help, errors, bench output format.
# Usage: e2e_cli.sh path/to/xai
set -u
XAI=$1
fail=0; pass=0
check() { # name, expected exit code, command...
    local name=$1 want=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then echo "FAIL $name: exit $rc, wanted $want"; echo "$out" | head -5; fail=$((fail+1)); else pass=$((pass+1)); fi
}
contains() { # name, needle (in $out)
    if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2'"; echo "$out" | head -5; fail=$((fail+1)); else pass=$((pass+1)); fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

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

check bench-ig-exact 0 "$XAI" bench ig --rule exact --config "$tmp/tiny.ini" --images 2 --repeats 1 --warmup 0
contains bench-ig-exact-rate "regions_per_s "
contains bench-ig-exact-median "regions_per_attr_median "
check bench-ig-bad-rule 2 "$XAI" bench ig --rule simpson --config "$tmp/tiny.ini"
contains bench-ig-bad-rule "gauss or exact"
check bench-ig-vs-alone 2 "$XAI" bench ig --vs-steps 50 --config "$tmp/tiny.ini"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
