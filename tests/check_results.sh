#!/usr/bin/env bash
# check_results.sh: checks that a `xai reproduce` results tree is complete and well-formed.
# Usage: check_results.sh RESULTS_DIR [experiment ...]   (default: every experiments/*.ini)
# XAI_CONFIGS: where the experiments' configs are (default experiments; `reproduce --configs`).
set -u
configs=${XAI_CONFIGS:-experiments}
root=${1:?usage: check_results.sh RESULTS_DIR [experiment ...]}; shift
exps=("$@")
if [ ${#exps[@]} = 0 ]; then for f in "$configs"/*.ini; do exps+=("$(basename "$f" .ini)"); done; fi
fail=0; pass=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
h5ok() { # file, required object paths...
    local f=$1; shift
    [ -s "$f" ] || { bad "$f missing or empty"; return; }
    h5dump -H "$f" >/dev/null 2>&1 || { bad "$f is not a readable HDF5 file"; return; }
    ok
    for obj in "$@"; do
        # h5ls FILE/OBJ: HDF5 1.10's `h5dump -H -N` exits 0 for an object it does not find.
        h5ls "$f$obj" >/dev/null 2>&1 && ok || bad "$f lacks $obj"
    done
}
png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok || bad "$1 is not a PNG"; }
# Fonts embedded: pdffonts (poppler-utils) when there, else every font descriptor names its font file.
have_pdffonts=1
command -v pdffonts >/dev/null || { have_pdffonts=0
    echo "note: pdffonts not found (apt-get install poppler-utils): its font check is skipped, PDF fonts checked by their descriptors only"; }
pdf() {
    [ -s "$1" ] && [ "$(head -c 5 "$1")" = "%PDF-" ] || { bad "$1 is not a PDF"; return; }
    if [ $have_pdffonts = 1 ]; then
        [ -z "$(pdffonts "$1" 2>/dev/null | awk 'NR > 2 && $(NF - 4) != "yes"')" ] && ok || bad "$1 has fonts not embedded"
    else
        [ "$(grep -a -o '/Type /FontDescriptor' "$1" | wc -l)" = "$(grep -a -o '/FontFile[23]* [0-9]' "$1" | wc -l)" ] \
            && ok || bad "$1 has fonts not embedded"
    fi
}

# The ranking agreement between the K models of experiment $1 (results $2): the report's table has
# a row per metric of /stats, with K(K - 1)/2 model pairs for pixel flipping (every model runs it),
# tau-b in [-1, 1] with min <= mean (dashes only with no pair), 1 <= winners <= methods (0 when no
# model has the metric over the images they share).
seed_agreement() {
    local e=$1 d=$2 K=$3 sec metrics m row
    sec=$(sed -n '/^## Between-model spread/,/^## /p' "$root/report.md" 2>/dev/null \
          | awk -v h="### $e" '$0 == h { on = 1; next } on && /^##/ { exit } on')
    echo "$sec" | grep -q "^$K models;" && ok || bad "$root/report.md: between-model table of $e does not say $K models"
    metrics=$(h5dump -w 0 -a /stats/metrics "$d/metrics.h5" 2>/dev/null | grep -o '(0): "[^"]*"' \
              | sed 's/^(0): "//; s/"$//' | tr , ' ')
    [ -n "$metrics" ] && ok || bad "$d/metrics.h5 has no /stats/metrics"
    for m in $metrics; do
        row=$(echo "$sec" | grep -F "| ${m//_/\\_} |" | tail -1)
        echo "$row" | awk -F'|' -v K="$K" -v m="$m" '
            function t(s) { gsub(/^ +| +$/, "", s); return s }
            { n = t($3) + 0; p = t($4) + 0; mean = t($5); min = t($6); w = t($7) + 0
              if (NF != 8 || p < 0 || p > K * (K - 1) / 2 || w > n || (n > 0 && w < 1)) exit 1
              if (n < 2 && p > 0) exit 1
              if (m == "pf_aopc_morf" && p != K * (K - 1) / 2) exit 1
              if (p == 0) exit !(mean == "–" && min == "–")
              exit !(min + 0 >= -1 && min + 0 <= mean + 0 && mean + 0 <= 1) }
            END { if (NR != 1) exit 1 }' && ok \
            || bad "$root/report.md: ranking agreement of $e, metric $m: no row, or not a valid one: '$row'"
    done
}

for e in "${exps[@]}"; do
    d=$root/$e
    h5ok "$d/model.h5" /model /train
    h5ok "$d/attributions.h5" /inputs /logits /targets /labels
    h5ok "$d/metrics.h5" /stats /stats/kendall_tau
    # The statistics of every metric (h5ls: h5dump -N also matches attributes named like them).
    for v in mean ci_lo ci_hi rank p_holm r_rb; do
        h5ls "$d/metrics.h5/stats/pf_aopc_morf/$v" >/dev/null 2>&1 && ok || bad "$d/metrics.h5 lacks /stats/pf_aopc_morf/$v"
    done
    [ -s "$d/summary.csv" ] && ok || bad "$d/summary.csv missing"
    # The confound: the evaluation again under the [confound] section's removal reference.
    if grep -q '^\[confound\]' "$configs/$e.ini" 2>/dev/null; then
        h5ok "$d/metrics-confound.h5" /stats /stats/kendall_tau
        grep -q "^Confound: the same attributions" "$root/report.md" && ok || bad "$root/report.md lacks the confound table"
    fi
    for fig in heatmaps pixelflip insdel road sensn training agreement; do png "$d/figures/$fig.png"; pdf "$d/figures/$fig.pdf"; done
    # The randomisation cascade figure, when the evaluation ran it.
    if h5ls -r "$d/metrics.h5/methods" 2>/dev/null | grep -q "/sanity "; then
        png "$d/figures/sanity.png"; pdf "$d/figures/sanity.pdf"
    fi
    # IG step curves: the figure and, with an exact-IG reference (else a stated reason), the map error.
    for m in $(h5ls "$d/metrics.h5/ig_steps" 2>/dev/null | grep -v "NOT FOUND" | awk '{print $1}'); do
        png "$d/figures/ig_completeness.png"; pdf "$d/figures/ig_completeness.pdf"
        [ -s "$d/plot/ig_completeness.dat" ] && ok || bad "$d/plot/ig_completeness.dat missing"
        # h5ls, not h5dump -H -N: HDF5 1.10's h5dump exits 0 for a name it does not find.
        if h5ls "$d/metrics.h5/ig_exact/$m" >/dev/null 2>&1; then
            h5ok "$d/metrics.h5" "/ig_exact/$m/regions" "/ig_exact/$m/residual"
            # h5dump -N also matches the root attribute @seconds (and then fails): h5ls for this one.
            h5ls "$d/metrics.h5/ig_exact/$m/seconds" >/dev/null 2>&1 && ok || bad "$d/metrics.h5 lacks /ig_exact/$m/seconds"
            for r in $(h5ls "$d/metrics.h5/ig_steps/$m" | awk '{print $1}'); do
                h5ok "$d/metrics.h5" "/ig_steps/$m/$r/map_error" "/ig_steps/$m/$r/map_median"
            done
            for f in ig_map_error.dat ig_convergence.tsv; do [ -s "$d/plot/$f" ] && ok || bad "$d/plot/$f missing"; done
        else
            h5dump -a "/ig_steps/$m/exact_note" "$d/metrics.h5" >/dev/null 2>&1 && ok \
                || bad "$d/metrics.h5: /ig_steps/$m has neither /ig_exact/$m nor @exact_note"
        fi
    done
    # The further models of [train] seeds (the run record names them <experiment>/seed<k>): each
    # trained, explained and evaluated, and the report's between-model table for the experiment.
    seeds=$(grep -o "\"name\": \"$e/seed[0-9]*\"" "$root/provenance.json" 2>/dev/null | sed 's/.*\/seed//; s/"$//')
    for k in $seeds; do
        h5ok "$d/seed$k/model.h5" /model /train
        h5ok "$d/seed$k/attributions.h5" /inputs /targets
        h5ok "$d/seed$k/metrics.h5" /stats
        [ "$(h5dump -a /train/seed "$d/seed$k/model.h5" 2>/dev/null | grep -o '(0): [0-9]*')" != \
          "$(h5dump -a /train/seed "$d/model.h5" 2>/dev/null | grep -o '(0): [0-9]*')" ] && ok \
            || bad "$d/seed$k/model.h5 was trained with the first model's seed"
    done
    if [ -n "$seeds" ]; then
        sed -n '/^## Between-model spread/,/^## /p' "$root/report.md" 2>/dev/null | grep -q -x "### $e" && ok \
            || bad "$root/report.md has no between-model table for $e"
        seed_agreement "$e" "$d" $(( $(echo $seeds | wc -w) + 1 ))
    fi
done
for fig in aopc runtime; do png "$root/figures/$fig.png"; pdf "$root/figures/$fig.pdf"; done
for f in report.md report.html provenance.json; do [ -s "$root/$f" ] && ok || bad "$root/$f missing"; done
grep -q "most faithful: statistics" "$root/report.md" && ok || bad "$root/report.md lacks the statistics section"
# The report: results first (accuracy, scores, figures), then setup, architectures and provenance;
# every figure it references exists.
prev=0
for h in "## Accuracy" "## Attribution quality" "## Figures" "## Setup" "### Architectures" "### Provenance"; do
    at=$(grep -n -m1 -x -F "$h" "$root/report.md" 2>/dev/null | cut -d: -f1)
    if [ -z "$at" ]; then bad "$root/report.md has no section '$h'"
    elif [ "$at" -le "$prev" ]; then bad "$root/report.md: section '$h' (line $at) is out of order"
    else ok; prev=$at; fi
done
refs=$( { grep -o '](\([^)]*\))' "$root/report.md" 2>/dev/null | sed 's/^](//; s/)$//'
          grep -o 'src="[^"]*"' "$root/report.html" 2>/dev/null | sed 's/^src="//; s/"$//'; } | sort -u)
[ -n "$refs" ] && ok || bad "$root/report.md and report.html reference no figure"
for r in $refs; do [ -s "$root/$r" ] && ok || bad "$root/report: figure $r does not exist"; done
z=$root/xai-repro-artifact.zip
[ "$(head -c 2 "$z" 2>/dev/null)" = PK ] && ok || bad "$z is not a zip file"
echo "results check: $pass passed, $fail failed"
[ "$fail" = 0 ]
