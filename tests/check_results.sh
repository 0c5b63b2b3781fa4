#!/usr/bin/env bash
# check_results.sh: checks that a `xai reproduce` results tree is complete and well-formed.
# Usage: check_results.sh RESULTS_DIR [experiment ...]   (default: every experiments/*.ini)
set -u
root=${1:?usage: check_results.sh RESULTS_DIR [experiment ...]}; shift
exps=("$@")
if [ ${#exps[@]} = 0 ]; then for f in experiments/*.ini; do exps+=("$(basename "$f" .ini)"); done; fi
fail=0; pass=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
h5ok() { # file, required object paths...
    local f=$1; shift
    [ -s "$f" ] || { bad "$f missing or empty"; return; }
    h5dump -H "$f" >/dev/null 2>&1 || { bad "$f is not a readable HDF5 file"; return; }
    ok
    for obj in "$@"; do
        h5dump -H -N "$obj" "$f" >/dev/null 2>&1 && ok || bad "$f lacks $obj"
    done
}
png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok || bad "$1 is not a PNG"; }
pdf() { [ -s "$1" ] && [ "$(head -c 5 "$1")" = "%PDF-" ] && ok || bad "$1 is not a PDF"; }

for e in "${exps[@]}"; do
    d=$root/$e
    h5ok "$d/model.h5" /model /train
    h5ok "$d/attributions.h5" /inputs /logits /targets /labels
    h5ok "$d/metrics.h5"
    [ -s "$d/summary.csv" ] && ok || bad "$d/summary.csv missing"
    for fig in heatmaps pixelflip training; do png "$d/figures/$fig.png"; pdf "$d/figures/$fig.pdf"; done
done
for fig in aopc runtime; do png "$root/figures/$fig.png"; pdf "$root/figures/$fig.pdf"; done
for f in report.md report.html provenance.json; do [ -s "$root/$f" ] && ok || bad "$root/$f missing"; done
z=$root/xai-repro-artifact.zip
[ "$(head -c 2 "$z" 2>/dev/null)" = PK ] && ok || bad "$z is not a zip file"
echo "results check: $pass passed, $fail failed"
[ "$fail" = 0 ]
