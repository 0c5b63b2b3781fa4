#!/usr/bin/env bash
# reproduce_quick.sh (make test-mpi): `mpirun xai reproduce --quick`, all four datasets, against the
# serial run. Usage: reproduce_quick.sh SERIAL_XAI MPI_XAI (tests/mpi/run.sh).
#  - 2 ranks, the whole quick profile (7 chains: 2 mnist models, 3 fashion-mnist, imagenette,
#    imagewoof): every HDF5 file of every experiment equals the serial run's (h5same.py: every
#    dataset and attribute, except timings and the run's own record) and summary.csv byte for byte.
#    The serial run is $XAI_QUICK_SERIAL when that holds one of this serial build (.ci/run passes
#    results/quick, which it makes anyway), else it is made here (~150 s on 2 idle cores).
#  - 3 ranks on the finished run: every stage up to date.
#  - --shard-stages: imagenette's attributions deleted, 3 ranks with --only imagenette: the one
#    chain left gets a group of all three ranks, which share explain, evaluate and confound
#    (@mpi_ranks = 3). One rank is killed with -9 during the shared explain; the rerun keeps the
#    training and finishes. Each shared stage's file equals `mpirun -n 3 xai <its logged command>`
#    run alone and the serial run's, bit for bit: sharding changes which images share a batch, and
#    an image's values do not depend on that (core/README.md, batch invariance).
source "$(dirname "$0")/common.sh" "$@"
export XAI_MIRROR=${XAI_MIRROR:-/work/shared/mirror}
# The dataset caches of the serial quick run (.ci/run: ./data); fetch fills them where missing.
export XAI_DATA_DIR=${XAI_DATA_DIR:-$src/data}
EXPS="mnist mnist/seed1 fashion-mnist fashion-mnist/seed1 fashion-mnist/seed2 imagenette imagewoof"

rp() { # log launcher... -- reproduce options
    local log=$1 launch=()
    shift
    while [ "$1" != -- ]; do launch+=("$1"); shift; done
    shift
    "${launch[@]}" --quiet reproduce --quick --configs "$src/experiments" "$@" >"$log" 2>&1
}

# The serial run: reused when its records name this build's version.
ref=${XAI_QUICK_SERIAL:+$(realpath "$XAI_QUICK_SERIAL")}
ver=$("$serial" --version | sed 's/^xai //')
if [ -n "$ref" ] && [ -s "$ref/stages/publish.done" ] && grep -qxF "version $ver" "$ref/stages/publish.done"; then
    echo "  serial run: $ref"
else
    [ -n "$ref" ] && echo "  $ref is not a quick run of $ver: running the serial one"
    ref=$tmp/serial
    rp "$tmp/serial.log" "$serial" --threads 2 -- --results "$ref" || { tail -15 "$tmp/serial.log"; bad "serial reproduce"; exit 1; }
fi

# Every HDF5 file and summary.csv of the given experiments, the same in both runs.
same_as_serial() { # results experiments...
    local res=$1; shift
    for e in "$@"; do
        [ -s "$ref/$e/summary.csv" ] || { bad "$e: the serial run has no summary.csv"; continue; }
        cmp -s "$ref/$e/summary.csv" "$res/$e/summary.csv" || bad "$e: summary.csv differs"
        for f in "$ref/$e"/*.h5; do
            /usr/bin/python3 "$here/h5same.py" "$f" "$res/$e/$(basename "$f")" || bad "$e: $(basename "$f") differs"
        done
        local n=$(ls "$ref/$e"/*.h5 | wc -l) m=$(ls "$res/$e"/*.h5 | wc -l)
        [ "$n" -ge 3 ] && [ "$n" = "$m" ] || bad "$e: $n HDF5 files in the serial run, $m here"
    done
}

# ---- 2 ranks, the whole quick profile
r=$tmp/r
rp "$tmp/r2.log" mpirun -n 2 "$mpi" -- --results "$r" || { tail -20 "$tmp/r2.log"; bad "2-rank reproduce --quick"; }
same_as_serial "$r" $EXPS
grep -q '^\[rank 1\] ' "$tmp/r2.log" || bad "rank 1 ran no stage"
[ -s "$r/report.html" ] && [ -s "$r/xai-repro-artifact.zip" ] || bad "the 2-rank run wrote no report or bundle"

# ---- 3 ranks on the finished run: nothing to redo
rp "$tmp/r3.log" mpirun -n 3 "$mpi" -- --results "$r" || { tail -20 "$tmp/r3.log"; bad "3-rank rerun"; }
redone=$(grep '\[stage ' "$tmp/r3.log" | grep -v -e 'up to date' -e ' fetch')
[ -z "$redone" ] || bad "3-rank rerun redid stages: $redone"

# ---- --shard-stages: a group of 3 ranks shares imagenette's explain; kill -9 of one rank, rerun
rm -f "$r/imagenette/attributions.h5"
SH=(--results "$r" --only imagenette --shard-stages)
mpirun -n 3 "$mpi" --quiet reproduce --quick --configs "$src/experiments" "${SH[@]}" >"$tmp/k.log" 2>&1 &
runner=$!
for _ in $(seq 1200); do
    ls "$r"/imagenette/attributions.h5.tmp.* >/dev/null 2>&1 && break
    kill -0 $runner 2>/dev/null || break
    sleep 0.05
done
victim=$(pgrep -P $runner | tail -1)
if [ -n "$victim" ] && ls "$r"/imagenette/attributions.h5.tmp.* >/dev/null 2>&1; then
    kill -9 "$victim"
    wait $runner && bad "mpirun succeeded although rank pid $victim was killed"
    [ -e "$r/imagenette/attributions.h5" ] && bad "the killed run left attributions.h5"
    # mpirun may return before its other ranks have died; a live writer keeps its temporary file.
    for f in "$r"/imagenette/attributions.h5.tmp.*; do
        p=${f##*.tmp.}
        for _ in $(seq 300); do
            st=$(ps -o stat= -p "$p" 2>/dev/null) || break
            case $st in Z* | X*) break ;; esac
            sleep 0.1
        done
    done
else
    wait $runner
    bad "kill -9: imagenette's explain ended before a rank could be killed"
    cat "$tmp/k.log"
fi
grep -q '^\[ranks 0-2\] .*imagenette explain' "$tmp/k.log" || bad "no group of ranks 0-2 ran imagenette's explain"
rp "$tmp/k2.log" mpirun -n 3 "$mpi" -- "${SH[@]}" || { tail -20 "$tmp/k2.log"; bad "rerun after kill -9"; }
grep -q 'imagenette train: up to date' "$tmp/k2.log" || bad "the rerun after kill -9 retrained imagenette"
for s in explain evaluate confound; do
    grep -q "^\[ranks 0-2\] .*imagenette $s" "$tmp/k2.log" || bad "the group of ranks 0-2 did not run imagenette's $s"
done
ls "$r"/imagenette/*.tmp.* >/dev/null 2>&1 && bad "a temporary file is left: $(ls "$r"/imagenette/*.tmp.*)"
# A shared stage is `mpirun -n 3 xai <its command>`, bit for bit: its logged command line, alone.
for s in explain evaluate confound; do
    log=$r/imagenette/logs/$s.log
    out=$(sed -n '1s/^\$ .* --out=\([^ ]*\).*/\1/p' "$log")
    h5dump -a mpi_ranks "$out" 2>/dev/null | grep -q "(0): 3" || bad "imagenette $s: @mpi_ranks of $out is not 3"
    read -ra cmd <<<"$(sed -n '1s/^\$ //p' "$log" | sed -e "s|--out=[^ ]*|--out=$tmp/alone.h5|" \
        -e "s|--summary=[^ ]*|--summary=$tmp/alone.csv|")"
    mpirun -n 3 "${cmd[@]}" >"$tmp/alone.log" 2>&1 || { tail -5 "$tmp/alone.log"; bad "mpirun -n 3 of imagenette's $s"; }
    /usr/bin/python3 "$here/h5same.py" "$out" "$tmp/alone.h5" || bad "imagenette $s in a group != mpirun -n 3 alone"
    # And the serial run's, bit for bit: a shard cuts the serial batches, but an image's values do
    # not depend on its batch (core/README.md, batch invariance).
    /usr/bin/python3 "$here/h5same.py" "$ref/imagenette/$(basename "$out")" "$out" ||
        bad "imagenette $s: differs from the serial run"
done

finish reproduce_quick
