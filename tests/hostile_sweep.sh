#!/usr/bin/env bash
# hostile_sweep.sh: issue 12's hostile-input sweep, as an attacker or a careless user would feed xai:
# IDX files, archives, image folders, checksums, model/attribution/metrics/dataset HDF5 files, INI
# configs, every CLI option, outputs over inputs, kill -9 mid-write. Not in ctest (minutes): run it
# against the sanitizer build and paste the table it prints into tests/HOSTILE.md.
#   make test-asan   # or only its build: cmake --build build-asan
#   tests/hostile_sweep.sh build-asan/xai [TABLE.md] [CASES.tsv]
# Each case is classified: clean (a refusal with a message, or a benign input accepted), crash (a
# signal or a sanitizer report), hang (over SWEEP_TIMEOUT s), silent (a hostile input accepted with
# exit 0), or refused-valid. Needs python3 with h5py (Debian python3-h5py; PY= to choose) and the
# MNIST cache (SWEEP_DATA, default /work/study/data/mnist-28.h5, else XAI_DATA_DIR/mnist-28.h5).
#   tests/hostile_sweep.sh --table TABLE.md CASES.tsv...   the table of earlier runs' cases together
# SWEEP_ONLY="config model ..." runs only those families (config model attributions metrics
# dataset-cache idx archives outputs kill-9 cli cli-values); the fixtures are always made.
# SWEEP_CLI_CMDS="import,export" limits the cli families to those commands.
set -u
PY=${PY:-/usr/bin/python3}
table() { # OUT.md CASES.tsv...: per family, cases, clean, the rest by verdict, three messages
    "$PY" - "$@" <<'EOF'
import sys, collections, re
rows = [l.rstrip("\n").split("\t") for a in sys.argv[2:] for l in open(a) if l.strip()]
for r in rows:  # the run's scratch directory as <tmp>
    r[5] = re.sub(r"/tmp/xai_sweep\.\w+", "<tmp>", r[5])
fams = collections.OrderedDict()
for r in rows:
    fams.setdefault(r[0], []).append(r)
out = ["| family | cases | handled cleanly | not clean | three examples of what the error says |",
       "| --- | --- | --- | --- | --- |"]
tot = [0, 0]
for f, rs in fams.items():
    rs = [r for r in rs if r[4] != "skipped"]
    ok = [r for r in rs if r[4] == "clean"]
    bad = collections.Counter(r[4] for r in rs if r[4] != "clean")
    seen, ex = set(), []
    for r in ok:  # three refusals of different cases (their first word) with different messages
        m = r[5].replace("|", "\\|")
        keys = (m[:60], r[1].split()[0])
        if r[3] in ("1", "2") and m and not seen.intersection(keys) and len(ex) < 3:
            seen.update(keys)
            ex.append("%s: `%s`" % (r[1].replace("|", "\\|"), m[:150]))
    tot[0] += len(rs); tot[1] += len(ok)
    out.append("| %s | %d | %d | %s | %s |" % (f, len(rs), len(ok), ", ".join("%d %s" % (n, k) for k, n in bad.items()) or "0",
                                            "<br>".join(ex)))
out.append("| **all** | **%d** | **%d** | | |" % tuple(tot))
text = "\n".join(out) + "\n"
print(text)
if sys.argv[1]:
    open(sys.argv[1], "w").write(text)
EOF
}
if [ "${1:-}" = --table ]; then shift; table "$@"; exit; fi
fam() { [ -z "${SWEEP_ONLY:-}" ] || [[ " $SWEEP_ONLY " == *" $1 "* ]]; }
XAI=$(realpath "$1")
TABLE=${2:-}
CASES=${3:-}
TMO=${SWEEP_TIMEOUT:-120}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MNIST=${SWEEP_DATA:-/work/study/data/mnist-28.h5}
[ -f "$MNIST" ] || MNIST=${XAI_DATA_DIR:-data}/mnist-28.h5
W=$(mktemp -d /tmp/xai_sweep.XXXXXX)
trap 'rm -rf "$W"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export XAI_MIRROR= XAI_DATA_DIR=$W/nodata XAI_THREADS=1
LOG=$W/cases.tsv
: >"$LOG"

# try FAMILY NAME WANT CMD...: WANT is refuse (hostile: exit 1/2 with a message), accept (benign: exit 0)
# or any (either, never a crash). One TSV row per case: family, name, want, rc, verdict, message.
try() {
    local fam=$1 name=$2 want=$3 v
    shift 3
    timeout -s KILL "$TMO" "$@" >"$W/out" 2>"$W/err" </dev/null
    local rc=$?
    local msg
    msg=$(grep -v '^\s*$' "$W/err" | grep -v '^\s*#\|^==\|^    #\|^SUMMARY\|^Shadow\|^  ' | tail -1 | tr '\t' ' ' | cut -c1-220)
    if grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$W/err"; then
        v=crash
        msg=$(grep -m1 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error:' "$W/err" | cut -c1-220)
    elif [ $rc -eq 137 ]; then v=hang
    elif [ $rc -gt 128 ]; then v=crash msg="signal $((rc - 128))"
    elif [ $rc -eq 0 ]; then
        if [ "$want" = refuse ]; then v=silent; else v=clean; fi
    elif [ -z "$msg" ]; then v=crash msg="exit $rc without a message"
    elif [ "$want" = accept ]; then v=refused-valid
    else v=clean
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$fam" "$name" "$want" "$rc" "$v" "$msg" >>"$LOG"
    [ "$v" = clean ] || printf '%-10s %-34s %s (rc %s): %s\n' "$fam" "$name" "$v" "$rc" "$msg" >&2
}

# h5mut FILE OP...: mutates an HDF5 file in place (ops: tests/hostile_sweep_mut.py).
h5mut() { "$PY" "$SRC/tests/hostile_sweep_mut.py" "$@"; }
# bytes FILE PYEXPR: writes the bytes a Python expression makes (os, gzip, struct, io, tarfile imported).
bytes() { "$PY" -c "import os,gzip,struct,io,tarfile,sys; sys.stdout.buffer.write($2)" >"$1"; }
big() { head -c "$1" /dev/zero | tr '\0' "${2:-x}"; }
mnist_mirror() { # DIR: a mirror of a 2-image MNIST (IDX files and their SHA256SUMS)
    local f
    mkdir -p "$1/mnist"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        case $f in
            *images*) bytes "$1/mnist/$f.gz" "gzip.compress(struct.pack('>IIII',0x803,2,28,28)+bytes(1568),mtime=0)" ;;
            *) bytes "$1/mnist/$f.gz" "gzip.compress(struct.pack('>II',0x801,2)+bytes([1,2]),mtime=0)" ;;
        esac
    done
    (cd "$1" && sha256sum mnist/*.gz >SHA256SUMS)
}

mkdir -p "$W/data" "$W/nodata"
cp "$MNIST" "$W/data/mnist-28.h5"
TINY=$W/tiny.ini
printf '[experiment]\nname = tiny\ndataset = mnist\nseed = 1\n[model]\ninput = 1x28x28\nclasses = 10\n' >"$TINY"
printf 'layer = conv out=4 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\nlayer = flatten\nlayer = linear out=10\n' >>"$TINY"
printf '[train]\nepochs = 1\nbatch = 16\nlr = 0.05\n' >>"$TINY"
DATA=(--data-dir "$W/data" --mirror "$W/nomirror")
# The commands whose options the cli families try (SWEEP_CLI_CMDS: a comma-separated subset).
IFS=, read -ra CMDS <<<"${SWEEP_CLI_CMDS:-bench train,bench infer,bench ig,bench lrp,bench evaluate,fetch,datasets info,datasets check,datasets list,train,explain,evaluate,import,export,report,reproduce}"
NX=$W/none # a path that does not exist
FAST=(--repeats 1 --iters 1 --warmup 0 --batch 2)

# ------------------------------------------------------------------ fixtures: model, attributions, metrics
echo "fixtures: a tiny model, its attributions and metrics" >&2
"$XAI" train --config "$TINY" --out "$W/model.h5" --limit 64 "${DATA[@]}" >/dev/null 2>"$W/fx.err" ||
    { echo "fixture train failed:"; cat "$W/fx.err"; exit 1; }
"$XAI" explain --model "$W/model.h5" --dataset mnist "${DATA[@]}" --n 4 --methods gradient,ig,lrp-epsilon \
    --ig-steps 4 --out "$W/attr.h5" >/dev/null 2>"$W/fx.err" || { echo "fixture explain failed:"; cat "$W/fx.err"; exit 1; }
"$XAI" evaluate --model "$W/model.h5" --attributions "$W/attr.h5" --out "$W/metrics.h5" --steps 4 --metrics none \
    --sanity no --ig-curve no >/dev/null 2>"$W/fx.err" || { echo "fixture evaluate failed:"; cat "$W/fx.err"; exit 1; }
EXPLAIN=(explain --dataset mnist "${DATA[@]}" --n 2 --methods gradient,lrp-epsilon --out "$W/a-out.h5")
EVAL=(evaluate --model "$W/model.h5" --out "$W/m-out.h5" --n 2 --steps 4 --metrics none --sanity no --ig-curve no)

# ------------------------------------------------------------------ INI configs
if fam config; then
echo "family config" >&2
cfgt() { # name want sed-args... : the tiny config with sed expressions applied, trained (8 images)
    local name=$1 want=$2 f=$W/c.ini
    shift 2
    sed "$@" "$TINY" >"$f"
    try config "$name (train)" "$want" "$XAI" train --config "$f" --out "$W/c-model.h5" --limit 8 "${DATA[@]}"
}
cfg() { # the same, also read by bench infer (which reads [model] only)
    cfgt "$@"
    try config "$1 (bench)" "$2" "$XAI" bench infer --config "$W/c.ini" "${FAST[@]}"
}
cfg valid accept -e ''
cfg "crlf line ends" any -e 's/$/\r/'
for v in 0 -1 2147483648 4294967299 1e9 nan abc ""; do cfg "classes = $v" refuse -e "s/^classes = .*/classes = $v/"; done
for v in 0x28x28 1x0x28 1x28 1x28x28x28 160000x200x200 2147483648x1x1 -1x28x28 1x28x28junk; do
    cfg "input = $v" refuse -e "s/^input = .*/input = $v/"
done
for p in "k=0" "k=-1" "k=100" "k=2147483648" "pad=30000" "pad=-1" "stride=0" "stride=-2" "out=0" "out=2147483648" \
         "out=1e9" "k=3.5" "dilation=2" "k="; do
    cfg "conv $p" refuse -e "s/^layer = conv .*/layer = conv out=4 k=3 pad=1 $p/"
done
for l in "linear out=0" "linear out=-3" "linear out=4294967306" "maxpool k=0" "maxpool k=1000" "dropout p=5" \
         "dropout p=nan" "dropout p=-0.1" "batchnorm eps=-1" "batchnorm momentum=2" "bogus" "relu extra=1" "avgpool k=0"; do
    cfg "layer $l" refuse -e "s/^layer = relu$/layer = $l/"
done
for kv in "epochs = 0" "epochs = -1" "epochs = 4294967297" "epochs = 1 2" "batch = 0" "batch = 2147483648" "lr = nan" \
          "lr = -1" "lr = inf" "lr = abc"; do
    cfgt "[train] $kv" refuse -e "s/^${kv%% *} = .*/$kv/"
done
for kv in "momentum = 2" "weight_decay = -1" "optimizer = sgdd" "schedule = bogus" "warmup_epochs = -1" "min_lr = nan"; do
    cfgt "[train] $kv" refuse -e "/^lr = /a $kv"
done
for kv in "seed = abc" "seed = -1" "seed = 18446744073709551616"; do cfgt "[experiment] $kv" refuse -e "s/^seed = 1/$kv/"; done
cfgt "name = ../../x" refuse -e 's/^name = tiny/name = ..\/..\/x/'
cfgt "name = a/b" refuse -e 's/^name = tiny/name = a\/b/'
cfgt "name empty" refuse -e 's/^name = tiny/name =/'
cfgt "dataset unknown" refuse -e 's/^dataset = mnist/dataset = nosuch/'
cfgt "unknown key" refuse -e 's/^seed = 1/seed = 1\nfoo = 2/'
cfg "unknown section" refuse -e 's/^\[train\]/[trian]/'
cfg "key outside section" refuse -e '1i epochs = 3'
cfg "indented continuation" refuse -e 's/^epochs = 1$/epochs = 1\n  7/'
cfgt "duplicate key" any -e 's/^epochs = 1$/epochs = 1\nepochs = 2/'
cfg "long comment hiding a key" refuse -e "s/^epochs = 1$/; $(big 197 x)epochs = 7/"
cfg "long value line" refuse -e "s/^lr = 0.05$/lr = 0.05$(big 400 0)/"
cfg "section without ]" refuse -e 's/^\[train\]/[train/'
cfg "no [model]" refuse -e '/^\[model\]/,/^layer = linear/d'
cfg "no layers" refuse -e '/^layer/d'
cfg "shape mismatch flatten->linear" any -e 's/^layer = flatten/layer = flatten\nlayer = linear out=7\nlayer = linear out=3/'
printf '[experiment]\nname = t\0evil\ndataset = mnist\n' >"$W/nul.ini"
try config "NUL byte in value" refuse "$XAI" train --config "$W/nul.ini" --out "$W/c-model.h5" "${DATA[@]}"
printf '\xef\xbb\xbf' | cat - "$TINY" >"$W/bom.ini"
try config "UTF-8 BOM" any "$XAI" bench infer --config "$W/bom.ini" "${FAST[@]}"
for f in /dev/zero /dev/null /dev/urandom "$W" "$NX.ini" /etc/shadow; do
    try config "config = $f" refuse "$XAI" bench infer --config "$f" "${FAST[@]}"
done
big 3000000 ';' >"$W/huge.ini"
try config "3 MB config" refuse "$XAI" bench infer --config "$W/huge.ini" "${FAST[@]}"
head -c 4096 /dev/urandom >"$W/rand.ini"
try config "random bytes" refuse "$XAI" bench infer --config "$W/rand.ini" "${FAST[@]}"

fi

# ------------------------------------------------------------------ model HDF5 files
if fam model; then
echo "family model" >&2
mdl() { # name want ops... : a mutated copy of the model, explained
    local name=$1 want=$2
    shift 2
    cp "$W/model.h5" "$W/m.h5"
    h5mut "$W/m.h5" "$@" || { printf 'model\t%s\t-\t-\tskipped\tmutation failed\n' "$name" >>"$LOG"; return; }
    try model "$name" "$want" "$XAI" "${EXPLAIN[@]}" --model "$W/m.h5"
}
mdl "unchanged" accept
for v in "[1,28]" "[1,28,28,1]" "[0,28,28]" "[1,-28,28]" "[1,2147483653,28]" "[1e300,28,28]" "[\"nan\",28,28]" \
         "[1,28.5,28]" "[3,28,28]"; do
    mdl "input_shape = $v" refuse attr /model input_shape "$v"
done
for v in 0 -1 3 2147483648 4294967306 '"ten"'; do mdl "num_classes = $v" refuse attr /model num_classes "$v"; done
for v in 0 -1 4 100 2147483648; do mdl "num_layers = $v" refuse attr /model num_layers "$v"; done
mdl "no normalize_mean" refuse delattr /model normalize_mean
mdl "normalize_mean of 3" refuse attr /model normalize_mean "[0.1,0.2,0.3]"
mdl "normalize_std = 0" refuse attr /model normalize_std "[0.0]"
mdl "normalize_std = -1" refuse attr /model normalize_std "[-1.0]"
mdl "normalize_std = nan" refuse attr /model normalize_std '["nan"]'
mdl "no /model" refuse del /model
mdl "no layer 00" refuse del /model/layers/00
mdl "no conv weight" refuse del /model/layers/00/weight
for k in kernel_size padding stride out_channels in_channels; do
    for v in 0 -1 4294967299 30000 '"3"'; do mdl "conv $k = $v" refuse attr /model/layers/00 "$k" "$v"; done
done
mdl "conv type = bogus" refuse attr /model/layers/00 type '"bogus"'
mdl "conv type missing" refuse delattr /model/layers/00 type
mdl "layer 01 type = conv" refuse attr /model/layers/01 type '"conv"'
for v in 0 -1 9999 2147483648; do mdl "linear out_features = $v" refuse attr /model/layers/04 out_features "$v"; done
mdl "conv weight NaN" refuse fill /model/layers/00/weight nan
mdl "conv weight Inf" refuse fill /model/layers/00/weight inf
mdl "conv weight 1e300 (float64)" refuse retype /model/layers/00/weight f8 fill /model/layers/00/weight 1e300
mdl "linear bias NaN" refuse fill /model/layers/04/bias nan
mdl "conv weight shape (4,1,3)" refuse reshape /model/layers/00/weight 4,1,3
mdl "conv weight shape (4,1,3,4)" refuse reshape /model/layers/00/weight 4,1,3,4
mdl "conv weight shape huge" refuse reshape /model/layers/00/weight 4294967298,1,3,3
mdl "linear weight shape huge" refuse reshape /model/layers/04/weight 10,4294967298
mdl "conv weight int32" any retype /model/layers/00/weight i4
mdl "conv weight string" refuse retype /model/layers/00/weight str
mdl "weight is a group" refuse del /model/layers/00/weight group /model/layers/00/weight
cp "$W/model.h5" "$W/m.h5"
for n in 0 100 1000 4096 20000; do
    head -c "$n" "$W/model.h5" >"$W/m.h5"
    try model "truncated at $n bytes" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/m.h5"
done
head -c 20000 /dev/urandom >"$W/m.h5"
try model "random bytes" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/m.h5"
try model "a directory" refuse "$XAI" "${EXPLAIN[@]}" --model "$W"
try model "/dev/zero" refuse "$XAI" "${EXPLAIN[@]}" --model /dev/zero
try model "a config file" refuse "$XAI" "${EXPLAIN[@]}" --model "$TINY"
try model "missing file" refuse "$XAI" "${EXPLAIN[@]}" --model "$NX.h5"

fi

# ------------------------------------------------------------------ attribution files
if fam attributions; then
echo "family attributions" >&2
att() {
    local name=$1 want=$2
    shift 2
    cp "$W/attr.h5" "$W/a.h5"
    h5mut "$W/a.h5" "$@" || { printf 'attributions\t%s\t-\t-\tskipped\tmutation failed\n' "$name" >>"$LOG"; return; }
    try attributions "$name" "$want" "$XAI" "${EVAL[@]}" --attributions "$W/a.h5"
}
att "unchanged" accept
att "inputs (1,1,2^32+2,1)" refuse reshape /inputs 1,1,4294967298,1
att "inputs (4,1,28)" refuse reshape /inputs 4,1,28
att "inputs (2^31+5,1,28,28)" refuse reshape /inputs 2147483653,1,28,28
att "inputs 3 rows" refuse reshape /inputs 3,1,28,28
att "labels 9 rows" refuse reshape /labels 9
att "labels out of range" refuse fill /labels 99
att "labels -1 (an image file's unknown label: valid)" accept fill /labels -1
att "logits (4,3)" refuse reshape /logits 4,3
att "logits NaN" any fill /logits nan
att "no /inputs" refuse del /inputs
att "no /labels" refuse del /labels
att "no /attributions" refuse del /attributions
att "method more rows" refuse reshape /attributions/gradient 9,1,28,28
att "method fewer rows" refuse reshape /attributions/gradient 2,1,28,28
att "method wrong H" refuse reshape /attributions/gradient 4,1,27,28
att "method huge rows" refuse reshape /attributions/gradient 4294967298,1,28,28
att "method NaN" any fill /attributions/gradient nan
att "method as string" refuse retype /attributions/gradient str
att "method is a group" refuse del /attributions/gradient group /attributions/gradient
for v in 0 -1 4294967298 '"x"'; do att "ig @steps = $v" refuse attr /attributions/ig steps "$v"; done
att "no @format" refuse delattr / format
att "@format = other" refuse attr / format '"other/1"'
att "@format = int" refuse attr / format 7
att "normalize_mean of 9" any attr / normalize_mean "[1,2,3,4,5,6,7,8,9]"
att "indices huge" any fill /indices 4294967298
for n in 0 1000 8000; do
    head -c "$n" "$W/attr.h5" >"$W/a.h5"
    try attributions "truncated at $n bytes" refuse "$XAI" "${EVAL[@]}" --attributions "$W/a.h5"
done
try attributions "the model as attributions" refuse "$XAI" "${EVAL[@]}" --attributions "$W/model.h5"
try attributions "missing" refuse "$XAI" "${EVAL[@]}" --attributions "$NX.h5"

fi

# ------------------------------------------------------------------ metrics files (read by export)
if fam metrics; then
echo "family metrics" >&2
mkdir -p "$W/exp"
met() {
    local name=$1 want=$2
    shift 2
    cp "$W/model.h5" "$W/exp/model.h5"
    cp "$W/attr.h5" "$W/exp/attributions.h5"
    cp "$W/metrics.h5" "$W/exp/metrics.h5"
    h5mut "$W/exp/metrics.h5" "$@" || { printf 'metrics\t%s\t-\t-\tskipped\tmutation failed\n' "$name" >>"$LOG"; return; }
    try metrics "$name" "$want" "$XAI" export --results "$W/exp" --out "$W/plot"
}
met "unchanged" accept
mpaths=$("$PY" "$SRC/tests/hostile_sweep_mut.py" "$W/metrics.h5" list | head -14)
for p in $mpaths; do
    met "$p huge" any reshape "$p" 4294967298
    met "$p NaN" any fill "$p" nan
    met "no $p" any del "$p"
done
met "no @format" refuse delattr / format
# Every reader of metrics.h5 and attributions.h5 refuses a file without its @format, naming the file
# and the attribute (export, report; evaluate reads attributions in the attributions family).
fmt_case() { # file name ops...
    local file=$1 name=$2 reader
    shift 2
    for reader in export report; do
        cp "$W/model.h5" "$W/exp/model.h5"
        cp "$W/attr.h5" "$W/exp/attributions.h5"
        cp "$W/metrics.h5" "$W/exp/metrics.h5"
        h5mut "$W/exp/$file" "$@" || { printf 'metrics\t%s\t-\t-\tskipped\tmutation failed\n' "$name" >>"$LOG"; return; }
        if [ $reader = export ]; then
            try metrics "$file $name ($reader)" refuse "$XAI" export --results "$W/exp" --out "$W/plot"
        else
            try metrics "$file $name ($reader)" refuse "$XAI" report --results "$W" --exp exp --no-bundle
        fi
    done
}
for f in metrics.h5 attributions.h5; do
    fmt_case $f "no @format" delattr / format
    fmt_case $f "@format = xai-model-1" attr / format '"xai-model-1"'
    fmt_case $f "@format = 7" attr / format 7
done
head -c 3000 "$W/metrics.h5" >"$W/trunc.h5"
cp "$W/attr.h5" "$W/exp/attributions.h5"
cp "$W/trunc.h5" "$W/exp/metrics.h5"
try metrics "truncated" refuse "$XAI" export --results "$W/exp" --out "$W/plot"

fi

# ------------------------------------------------------------------ dataset caches
if fam dataset-cache; then
# A mutated copy of the MNIST cache, read by `datasets check` (every image, the channel statistics)
# and by explain (the test split). A cache that lies about itself is refused; one that lacks only
# what a reader does not need may be read by that reader.
echo "family dataset-cache" >&2
mkdir -p "$W/dc"
dsc() { # name want-check want-explain ops...
    local name=$1 wc=$2 we=$3
    shift 3
    cp "$W/data/mnist-28.h5" "$W/dc/mnist-28.h5"
    h5mut "$W/dc/mnist-28.h5" "$@" || { printf 'dataset-cache\t%s\t-\t-\tskipped\tmutation failed\n' "$name" >>"$LOG"; return; }
    dsc_run "$name" "$wc" "$we"
}
dsc_run() {
    try dataset-cache "$1 (check)" "$2" "$XAI" datasets check mnist --data-dir "$W/dc" --mirror "$NX"
    try dataset-cache "$1 (explain)" "$3" "$XAI" explain --model "$W/model.h5" --dataset mnist --data-dir "$W/dc" \
        --mirror "$NX" --n 2 --methods gradient --out "$W/dc-a.h5"
}
dsc "unchanged" accept accept
for s in train test; do
    ex=any # explain reads the test split only
    [ $s = test ] && ex=refuse
    for d in images labels; do
        dsc "/$s/$d rows 2^32+2" refuse "$ex" reshape "/$s/$d" 4294967298
        dsc "/$s/$d one row less" refuse "$ex" reshape "/$s/$d" 9999
        dsc "no /$s/$d" refuse "$ex" del "/$s/$d"
        dsc "/$s/$d as strings" refuse "$ex" retype "/$s/$d" str
    done
    dsc "/$s/labels = 10" refuse "$ex" fill "/$s/labels" 10
    dsc "/$s/labels = -1" refuse "$ex" fill "/$s/labels" -1
    dsc "/$s/images (N,1,28)" refuse "$ex" reshape "/$s/images" 10000,1,28
    dsc "/$s/images (N,3,28,28)" refuse "$ex" reshape "/$s/images" 10000,3,28,28
    dsc "/$s/images float32" any any retype "/$s/images" f4
done
dsc "/classes/names 2^32+2" refuse any reshape /classes/names 4294967298
dsc "no /classes/names" any any del /classes/names
dsc "no /sources/sha256" any any del /sources/sha256
for a in size nclasses channels; do
    for v in 0 -1 4294967297 '"x"'; do dsc "@$a = $v" refuse refuse attr / "$a" "$v"; done
done
dsc "@size = 27" refuse refuse attr / size 27
dsc "@nclasses = 3 (labels up to 9)" refuse refuse attr / nclasses 3
dsc "@channels = 3" refuse refuse attr / channels 3
for v in 0 -1 99; do dsc "@format_version = $v" refuse refuse attr / format_version "$v"; done
dsc "no @format" refuse refuse delattr / format
dsc "@format = xai-metrics-1" refuse refuse attr / format '"xai-metrics-1"'
dsc "@dataset = fashion-mnist" refuse refuse attr / dataset '"fashion-mnist"'
dsc "no @mean" refuse refuse delattr / mean
dsc "@mean of 3" refuse refuse attr / mean "[0.1,0.2,0.3]"
dsc "@mean = nan" refuse refuse attr / mean '["nan"]'
dsc "@std = 0" refuse refuse attr / std "[0.0]"
dsc "@std = -1" refuse refuse attr / std "[-1.0]"
dsc "@std = inf" refuse refuse attr / std '["inf"]'
for n in 0 2000 100000; do
    head -c "$n" "$W/data/mnist-28.h5" >"$W/dc/mnist-28.h5"
    dsc_run "truncated at $n bytes" refuse refuse
done
head -c 100000 /dev/urandom >"$W/dc/mnist-28.h5"; dsc_run "random bytes" refuse refuse
cp "$W/model.h5" "$W/dc/mnist-28.h5"; dsc_run "a model file" refuse refuse
rm -f "$W/dc/mnist-28.h5"; mkdir "$W/dc/mnist-28.h5"; dsc_run "a directory" refuse refuse
rmdir "$W/dc/mnist-28.h5"; ln -s /dev/zero "$W/dc/mnist-28.h5"; dsc_run "symlink to /dev/zero" refuse refuse
rm -f "$W/dc/mnist-28.h5"

fi

# ------------------------------------------------------------------ IDX files and checksums (via a mirror)
if fam idx; then
echo "family idx, checksums" >&2
mnist_mirror "$W/mir"
sums() { (cd "$W/mir" && sha256sum mnist/*.gz >SHA256SUMS); }
idx() { # name want pyexpr : train-images replaced (gzip'd by the expression itself)
    local name=$1 want=$2 keep=$W/keep.gz
    cp "$W/mir/mnist/train-images-idx3-ubyte.gz" "$keep"
    bytes "$W/mir/mnist/train-images-idx3-ubyte.gz" "$3"
    sums
    rm -rf "$W/dd"
    try idx "$name" "$want" "$XAI" fetch mnist --mirror "$W/mir" --data-dir "$W/dd"
    mv "$keep" "$W/mir/mnist/train-images-idx3-ubyte.gz"
    sums
}
H='struct.pack(">IIII",0x803,%s)'
idx "valid (2 images)" any "gzip.compress($(printf "$H" '2,28,28')+bytes(1568),mtime=0)"
idx "dims overflow 2^30 x 2^30 x 4" refuse "gzip.compress($(printf "$H" '0x40000000,0x40000000,4'),mtime=0)"
idx "dims max" refuse "gzip.compress($(printf "$H" '0xffffffff,0xffffffff,0xffffffff')+b'x',mtime=0)"
idx "count 0" refuse "gzip.compress($(printf "$H" '0,28,28'),mtime=0)"
idx "truncated payload" refuse "gzip.compress($(printf "$H" '2,28,28')+bytes(100),mtime=0)"
idx "trailing bytes" refuse "gzip.compress($(printf "$H" '2,28,28')+bytes(1600),mtime=0)"
idx "wrong magic" refuse "gzip.compress(struct.pack('>IIII',0x1234,2,28,28)+bytes(1568),mtime=0)"
idx "labels magic in images" refuse "gzip.compress(struct.pack('>II',0x801,2)+bytes(2),mtime=0)"
idx "float element type" refuse "gzip.compress(struct.pack('>IIII',0xD03,2,28,28)+bytes(6272),mtime=0)"
idx "rank 4" refuse "gzip.compress(struct.pack('>IIIII',0x804,2,1,28,28)+bytes(1568),mtime=0)"
idx "H = 27" refuse "gzip.compress($(printf "$H" '2,27,28')+bytes(1512),mtime=0)"
idx "not gzip" refuse "$(printf "$H" '2,28,28')+bytes(1568)"
idx "empty file" refuse "b''"
idx "gzip of nothing" refuse "gzip.compress(b'',mtime=0)"
idx "truncated gzip" refuse "gzip.compress($(printf "$H" '2,28,28')+bytes(1568),mtime=0)[:40]"
idx "gzip bad CRC" refuse "(lambda b: b[:-8]+bytes(8))(gzip.compress($(printf "$H" '2,28,28')+bytes(1568),mtime=0))"
idx "gzip bomb 64 MB" refuse "gzip.compress($(printf "$H" '2,28,28')+bytes(64<<20),mtime=0)"
idx "two gzip members" any "gzip.compress($(printf "$H" '2,28,28'),mtime=0)+gzip.compress(bytes(1568),mtime=0)"
idx "gzip then junk" refuse "gzip.compress($(printf "$H" '2,28,28')+bytes(1568),mtime=0)+b'junk'"
# labels: out of range, count mismatch
cp "$W/mir/mnist/train-labels-idx1-ubyte.gz" "$W/keepl.gz"
for c in "bytes([1,12])" "bytes([1])" "bytes([1,2,3])"; do
    bytes "$W/mir/mnist/train-labels-idx1-ubyte.gz" "gzip.compress(struct.pack('>II',0x801,len($c))+$c,mtime=0)"
    sums; rm -rf "$W/dd"
    try idx "labels $c" refuse "$XAI" fetch mnist --mirror "$W/mir" --data-dir "$W/dd"
done
cp "$W/keepl.gz" "$W/mir/mnist/train-labels-idx1-ubyte.gz"; sums
# checksums
ck() { rm -rf "$W/dd"; try checksums "$1" "${2:-refuse}" "$XAI" fetch mnist --mirror "$W/mir" --data-dir "$W/dd"; sums; }
printf 'x' >>"$W/mir/mnist/train-images-idx3-ubyte.gz"; ck "file changed after listing"
truncate -s -1 "$W/mir/mnist/train-images-idx3-ubyte.gz"
sed -i '1s/^./0/;1s/^0/1/' "$W/mir/SHA256SUMS"; ck "hash altered"
rm "$W/mir/SHA256SUMS"; ck "no SHA256SUMS"
sums; sed -i '1d' "$W/mir/SHA256SUMS"; ck "file not listed"
sums; sed -i '1s/^\(.\{10\}\)/\1zz/' "$W/mir/SHA256SUMS"; ck "malformed hash"
sums; printf '%s  ../../etc/passwd\n' "$(sha256sum /etc/passwd | cut -c1-64)" >>"$W/mir/SHA256SUMS"; ck "traversal entry (not ours)" any
sums; : >"$W/mir/SHA256SUMS"; ck "empty SHA256SUMS"
sums; big 17000000 a >"$W/mir/SHA256SUMS"; ck "17 MB SHA256SUMS"
sums; mv "$W/mir/mnist/t10k-labels-idx1-ubyte.gz" "$W/keepl.gz"; ck "listed file missing"
mv "$W/keepl.gz" "$W/mir/mnist/t10k-labels-idx1-ubyte.gz"
ln -sf /etc/passwd "$W/mir/mnist/x"; sums; ck "symlink listed (not ours)" any; rm -f "$W/mir/mnist/x"; sums
rm -rf "$W/dd"; try checksums "mirror is a file" refuse "$XAI" fetch mnist --mirror "$TINY" --data-dir "$W/dd"
rm -rf "$W/dd"; try checksums "mirror missing" refuse "$XAI" fetch mnist --mirror "$NX" --data-dir "$W/dd"

fi

# ------------------------------------------------------------------ archives and image folders
if fam archives; then
echo "family archives" >&2
mkdir -p "$W/mir/imagenette"
# seeds.py's VALID_JPEG (2x2 grey, decoded without a warning) as a Python expression
JPG=$("$PY" -B -c "import sys; sys.path.insert(0, sys.argv[1]); import seeds; print('bytes.fromhex(\"%s\")' % seeds.VALID_JPEG.hex())" "$SRC/tests/fuzz")
TARF='(lambda ms: (lambda b: ([b.addfile(m[0], io.BytesIO(m[1]) if m[1] is not None else None) for m in ms], b.close()))(tarfile.open(fileobj=bio, mode="w")) and bio.getvalue())'
mem() { # path data [type] [linkname] -> a python (TarInfo, data) expression
    printf '(lambda t: (setattr(t,"size",len(%s) if %s is not None else 0), setattr(t,"type",%s), setattr(t,"linkname","%s"), (t,%s))[-1])(tarfile.TarInfo("%s"))' \
        "$2" "$2" "${3:-tarfile.REGTYPE}" "${4:-}" "$2" "$1"
}
arch() { # name want python-list-of-members [raw]
    local name=$1 want=$2
    "$PY" -c "import io,tarfile,gzip,sys
bio=io.BytesIO()
ms=[$3]
t=tarfile.open(fileobj=bio,mode='w',format=tarfile.GNU_FORMAT)
for ti,d in ms: t.addfile(ti, io.BytesIO(d) if d is not None and ti.type==tarfile.REGTYPE else None)
t.close()
sys.stdout.buffer.write(gzip.compress(bio.getvalue(),mtime=0) if '${4:-}'!='raw' else bio.getvalue())" \
        >"$W/mir/imagenette/imagenette2-160.tgz" 2>"$W/py.err" ||
        { printf 'archives\t%s\t-\t-\tskipped\tgenerator failed\n' "$name" >>"$LOG"; return; }
    (cd "$W/mir" && sha256sum imagenette/imagenette2-160.tgz >SHA256SUMS)
    rm -rf "$W/dd"
    try archives "$name" "$want" "$XAI" fetch imagenette --size 16 --mirror "$W/mir" --data-dir "$W/dd"
}
A=imagenette2-160/train/n01440764 B=imagenette2-160/val/n01440764
arch "valid 2 images" accept "$(mem $A/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")"
arch "traversal ../" refuse "$(mem ../$A/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")"
arch "absolute path" refuse "$(mem /tmp/$A/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")"
arch "symlink member" refuse "$(mem $A/a.JPEG None tarfile.SYMTYPE /etc/passwd),$(mem $B/b.JPEG "$JPG")"
arch "hardlink member" refuse "$(mem $A/a.JPEG None tarfile.LNKTYPE /etc/passwd),$(mem $B/b.JPEG "$JPG")"
arch "char device" refuse "$(mem $A/a.JPEG None tarfile.CHRTYPE),$(mem $B/b.JPEG "$JPG")"
arch "fifo" refuse "$(mem $A/a.JPEG None tarfile.FIFOTYPE),$(mem $B/b.JPEG "$JPG")"
arch "duplicate member" refuse "$(mem $A/a.JPEG "$JPG"),$(mem $A/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")"
arch "not a JPEG" refuse "$(mem $A/a.JPEG "b'hello'"),$(mem $B/b.JPEG "$JPG")"
arch "empty JPEG" refuse "$(mem $A/a.JPEG "b''"),$(mem $B/b.JPEG "$JPG")"
arch "truncated JPEG" refuse "$(mem $A/a.JPEG "$JPG[:200]"),$(mem $B/b.JPEG "$JPG")"
arch "JPEG extraneous bytes" refuse "$(mem $A/a.JPEG "$JPG[:-2]+b'xxxx'+$JPG[-2:]"),$(mem $B/b.JPEG "$JPG")"
arch "JPEG 65500x65500 header" refuse "$(mem $A/a.JPEG "$JPG.replace(bytes.fromhex('ffc0000b080002000201'),bytes.fromhex('ffc0000b08ffdcffdc01'))"),$(mem $B/b.JPEG "$JPG")"
arch "unknown class" refuse "$(mem imagenette2-160/train/n99999999/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")"
arch "no val split" refuse "$(mem $A/a.JPEG "$JPG")"
arch "empty archive" refuse ""
arch "20000 members" refuse "*[$(mem "$A/{i}.JPEG" "b'x'" | sed 's/TarInfo("\(.*\)")/TarInfo(f"\1")/') for i in range(20000)]"
arch "member 1 GB sparse size" refuse "(lambda t:(setattr(t,'size',1<<30),(t,b''))[-1])(tarfile.TarInfo('$A/a.JPEG'))"
# A plain tar under the .tgz name: its SHA-256 is the listed one and libarchive tells the format by
# its bytes, so it is read (refused only while the sweep's JPEG was invalid).
arch "not gzip" any "$(mem $A/a.JPEG "$JPG"),$(mem $B/b.JPEG "$JPG")" raw
printf 'garbage' >"$W/mir/imagenette/imagenette2-160.tgz"; (cd "$W/mir" && sha256sum imagenette/*.tgz >SHA256SUMS)
rm -rf "$W/dd"; try archives "garbage .tgz" refuse "$XAI" fetch imagenette --size 16 --mirror "$W/mir" --data-dir "$W/dd"
"$PY" -c "import gzip,sys; sys.stdout.buffer.write(gzip.compress(bytes(300<<20),mtime=0))" >"$W/mir/imagenette/imagenette2-160.tgz"
(cd "$W/mir" && sha256sum imagenette/*.tgz >SHA256SUMS)
rm -rf "$W/dd"; try archives "gzip bomb 300 MB of zeros" refuse "$XAI" fetch imagenette --size 16 --mirror "$W/mir" --data-dir "$W/dd"
# image folders (xai fetch --image-folder)
folder() { # name want setup-commands (run in a fresh folder F with classes a/ and b/)
    local name=$1 want=$2 F=$W/F
    rm -rf "$F" "$W/df"; mkdir -p "$F/a" "$F/b"
    for i in 1 2 3 4 5 6; do bytes "$F/a/$i.jpg" "$JPG"; bytes "$F/b/$i.jpg" "$JPG"; done
    (cd "$F" && eval "$3")
    try image-folder "$name" "$want" "$XAI" fetch --image-folder "$F" --name hostile --size 8 --data-dir "$W/df"
}
folder "valid" accept ":"
folder "text file as .jpg" refuse "echo hi >a/7.jpg"
folder "empty .png" refuse ": >a/7.png"
folder "truncated PNG" refuse "printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >a/7.png"
folder "PNG 2^31 wide header" refuse "$PY -c \"import struct,zlib,sys; ih=struct.pack('>IIBBBBB',0x7fffffff,1,8,0,0,0,0); sys.stdout.buffer.write(b'\x89PNG\r\n\x1a\n'+struct.pack('>I',13)+b'IHDR'+ih+struct.pack('>I',zlib.crc32(b'IHDR'+ih)))\" >a/7.png"
folder "symlink to /etc/passwd" refuse "ln -s /etc/passwd a/7.jpg"
folder "symlink loop" refuse "ln -s loop a/loop.jpg"
# Followed, as torchvision's ImageFolder does: / holds no image files, so class c is empty (as below).
folder "class dir symlink to /" any "ln -s / c"
folder "fifo" refuse "mkfifo a/7.jpg"
# One class imports, as a config's classes = 1 is valid.
folder "one class only" any "rm -r b"
folder "empty class" any "rm b/*.jpg"
folder "no images" refuse "rm a/*.jpg b/*.jpg"
folder "class name with newline" any "mkdir \"\$(printf 'x\ny')\" && cp a/1.jpg \"\$(printf 'x\ny')\"/"
folder "unreadable file" any "cp a/1.jpg a/7.jpg && chmod 000 a/7.jpg"
try image-folder "name ../x" refuse "$XAI" fetch --image-folder "$W/F" --name ../x --data-dir "$W/df"
try image-folder "name empty" refuse "$XAI" fetch --image-folder "$W/F" --name "" --data-dir "$W/df"
try image-folder "folder missing" refuse "$XAI" fetch --image-folder "$NX" --name x --data-dir "$W/df"
try image-folder "folder is a file" refuse "$XAI" fetch --image-folder "$TINY" --name x --data-dir "$W/df"

fi

# ------------------------------------------------------------------ outputs over inputs
if fam outputs; then
echo "family outputs" >&2
cp "$W/model.h5" "$W/o-model.h5"; cp "$W/attr.h5" "$W/o-attr.h5"; cp "$TINY" "$W/o.ini"
sums_o() { sha256sum "$W/o-model.h5" "$W/o-attr.h5" "$W/o.ini" | cut -c1-64 | tr -d '\n'; }
before=$(sums_o)
out_case() { try outputs "$1" refuse "${@:2}"; [ "$(sums_o)" = "$before" ] || printf 'outputs\t%s (input intact)\trefuse\t-\tdestroyed\tan input changed\n' "$1" >>"$LOG"; }
out_case "explain --out = --model" "$XAI" explain --model "$W/o-model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W/o-model.h5"
out_case "explain --out = model via ./" "$XAI" explain --model "$W/o-model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W/./o-model.h5"
ln -sf "$W/o-model.h5" "$W/o-link.h5"
out_case "explain --out = symlink to model" "$XAI" explain --model "$W/o-model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W/o-link.h5"
ln -f "$W/o-model.h5" "$W/o-hard.h5"
out_case "explain --out = hard link to model" "$XAI" explain --model "$W/o-model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W/o-hard.h5"
out_case "evaluate --out = --attributions" "$XAI" evaluate --model "$W/o-model.h5" --attributions "$W/o-attr.h5" --out "$W/o-attr.h5" --steps 4 --metrics none --sanity no --ig-curve no
out_case "evaluate --out = --model" "$XAI" evaluate --model "$W/o-model.h5" --attributions "$W/o-attr.h5" --out "$W/o-model.h5" --steps 4 --metrics none --sanity no --ig-curve no
out_case "evaluate --summary = --attributions" "$XAI" evaluate --model "$W/o-model.h5" --attributions "$W/o-attr.h5" --out "$W/o-m.h5" --summary "$W/o-attr.h5" --steps 4 --metrics none --sanity no --ig-curve no
out_case "evaluate --summary = --out" "$XAI" evaluate --model "$W/o-model.h5" --attributions "$W/o-attr.h5" --out "$W/o-m.h5" --summary "$W/o-m.h5" --steps 4 --metrics none --sanity no --ig-curve no
out_case "train --out = --config" "$XAI" train --config "$W/o.ini" --out "$W/o.ini" --limit 8 "${DATA[@]}"
out_case "import --out = the onnx file" "$XAI" import "$W/o-model.h5" --out "$W/o-model.h5"
# export replaces its --out directory whole: never the experiment, the results root or a link's target
mkdir -p "$W/o-res/exp"; cp "$W/model.h5" "$W/o-res/exp/model.h5"; echo notes >"$W/o-res/notes.txt"
ln -sfn "$W/o-res/exp" "$W/o-res-link"
res_sum() { cat "$W/o-res/exp/model.h5" "$W/o-res/notes.txt" | sha256sum; }
rbefore=$(res_sum)
for o in "$W/o-res/exp" "$W/o-res" "$W/o-res-link" "$W/o-res/exp/model.h5" "$W/o-res/./exp/"; do
    name="export --out = ${o#"$W"/}"
    try outputs "$name" refuse "$XAI" export --results "$W/o-res/exp" --out "$o"
    [ "$(res_sum)" = "$rbefore" ] || printf 'outputs\t%s (input intact)\trefuse\t-\tdestroyed\tan input changed\n' "$name" >>"$LOG"
done
mkdir -p "$W/ro"; chmod 555 "$W/ro"
try outputs "explain --out in a read-only dir" any "$XAI" explain --model "$W/model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W/ro/a.h5"
try outputs "explain --out is a directory" refuse "$XAI" explain --model "$W/model.h5" --dataset mnist "${DATA[@]}" --n 2 --methods gradient --out "$W"

fi

# ------------------------------------------------------------------ kill -9 mid-write
if fam kill-9; then
# The final file is either absent or complete (a reader accepts it), and the next run of the same
# command removes the killed run's temporaries.
echo "family kill-9" >&2
kill_case() { # name final-file reader... -- command...
    local name=$1 final=$2 i reader=() cmd=()
    shift 2
    while [ "$1" != -- ]; do reader+=("$1"); shift; done
    shift; cmd=("$@")
    for delay in 0.3 1 2 4; do
        rm -f "$final" "$final".tmp.*
        "${cmd[@]}" >/dev/null 2>&1 &
        local pid=$!
        sleep "$delay"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
        local v=clean msg="final file absent"
        if [ -e "$final" ]; then
            if "${reader[@]}" >/dev/null 2>&1; then msg="final file complete"; else v=truncated msg="final file unreadable"; fi
        fi
        printf 'kill-9\t%s at %ss\trefuse\t137\t%s\t%s\n' "$name" "$delay" "$v" "$msg" >>"$LOG"
    done
    # The next run removes the temporaries of the killed one.
    timeout -s KILL "$TMO" "${cmd[@]}" >/dev/null 2>&1
    if ls "$final".tmp.* >/dev/null 2>&1; then
        printf 'kill-9\t%s: stale temporaries\trefuse\t0\tsilent\t%s\n' "$name" "$(ls "$final".tmp.* | head -1)" >>"$LOG"
    else
        printf 'kill-9\t%s: stale temporaries\trefuse\t0\tclean\tremoved by the next run\n' "$name" >>"$LOG"
    fi
}
kill_case train "$W/k-model.h5" "$XAI" explain --model "$W/k-model.h5" --dataset mnist "${DATA[@]}" --n 1 --methods gradient --out "$W/k-chk.h5" \
    -- "$XAI" train --config "$TINY" --out "$W/k-model.h5" --limit 512 --epochs 2 "${DATA[@]}"
kill_case explain "$W/k-attr.h5" "$XAI" "${EVAL[@]}" --attributions "$W/k-attr.h5" --out "$W/k-chk.h5" \
    -- "$XAI" explain --model "$W/model.h5" --dataset mnist "${DATA[@]}" --n 64 --methods gradient,ig,lrp-epsilon --out "$W/k-attr.h5"
kill_case evaluate "$W/k-met.h5" "$PY" -c "import h5py,sys; h5py.File(sys.argv[1],'r')" "$W/k-met.h5" \
    -- "$XAI" evaluate --model "$W/model.h5" --attributions "$W/attr.h5" --out "$W/k-met.h5" --steps 8 --metrics all
kill_case fetch "$W/dk/mnist-28.h5" "$XAI" datasets info mnist --data-dir "$W/dk" --mirror "$NX" \
    -- "$XAI" fetch mnist --mirror "$W/mir" --data-dir "$W/dk"

fi

# ------------------------------------------------------------------ every CLI option
if fam cli; then
# Each command's options are read from its --help; every option taking a value gets each hostile
# value (negative, past 2^32, NaN, 5000 digits) and none, with base arguments that make an accepted value fail cheaply afterwards (a missing file).
echo "family cli" >&2
VALUES=(-1 4294967297 nan "$(big 5000 9)")
cli_cmd() { # command words... : the base arguments of that command
    case "$*" in
        "bench "*) echo "--config $NX.ini" ;;
        fetch) echo "--mirror $NX --data-dir $NX nosuchdataset" ;;
        "datasets "*) echo "--data-dir $NX" ;;
        train) echo "--config $NX.ini --out $W/cli-model.h5" ;;
        explain) echo "--model $NX.h5 --dataset mnist --data-dir $NX --out $W/cli-a.h5" ;;
        evaluate) echo "--model $NX.h5 --attributions $NX-a.h5 --out $W/cli-m.h5" ;;
        import) echo "$NX.onnx --out $W/cli-i.h5" ;;
        export) echo "--results $NX --out $W/cli-plot" ;;
        report) echo "--results $NX --repo $NX --no-bundle" ;;
        reproduce) echo "--configs $NX --results $W/cli-results --data-dir $NX --mirror $NX" ;;
    esac
}
for cmd in "${CMDS[@]}"; do
    # shellcheck disable=SC2086
    opts=$("$XAI" $cmd --help 2>&1 | sed -n 's/^ *\(--[a-z0-9-]*\) \([A-Z][A-Za-z0-9,|.x]*\).*/\1/p' | sort -u)
    for o in $opts; do
        for i in "${!VALUES[@]}"; do
            # shellcheck disable=SC2046,SC2086
            try cli "$cmd $o #$i" any "$XAI" $cmd $(cli_cmd $cmd) "$o" "${VALUES[$i]}"
        done
    done
    # shellcheck disable=SC2086
    try cli "$cmd --bogus" refuse "$XAI" $cmd --bogus
    for o in $opts; do try cli "$cmd $o (no value)" refuse "$XAI" $cmd "$o"; done
done
for v in 0 -1 9999 2147483648 abc ""; do try cli "--threads $v" any "$XAI" --threads "$v" bench infer --config "$NX.ini"; done
try cli "--threads 9999 (refused)" refuse "$XAI" --threads 9999 bench infer --config "$TINY" "${FAST[@]}"
# Sizes that reach allocations: options whose product or size is checked before use.
try cli "bench ig --images 2^31-1" refuse "$XAI" bench ig --config "$TINY" --images 2147483647 "${FAST[@]}"
try cli "bench ig --images x --steps" refuse "$XAI" bench ig --config "$TINY" --images 100000000 --steps 1000000 "${FAST[@]}"
try cli "bench ig --steps 2^31-1" refuse "$XAI" bench ig --config "$TINY" --steps 2147483647 "${FAST[@]}"
try cli "bench evaluate --images 2^31-1" refuse "$XAI" bench evaluate --config "$TINY" --images 2147483647 "${FAST[@]}"
try cli "explain --ig-batch 1000000000" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/model.h5" --ig-batch 1000000000
try cli "explain --n 4294967297" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/model.h5" --n 4294967297
try cli "explain --start past the end" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/model.h5" --start 10000
try cli "explain --ig-steps 2^31-1" refuse "$XAI" "${EXPLAIN[@]}" --model "$W/model.h5" --methods ig --ig-steps 2147483647
try cli "evaluate --n 4294967297" refuse "$XAI" "${EVAL[@]}" --attributions "$W/attr.h5" --n 4294967297
try cli "evaluate --steps 2^31-1" any "$XAI" "${EVAL[@]}" --attributions "$W/attr.h5" --steps 2147483647
try cli "evaluate --patch 100000" refuse "$XAI" "${EVAL[@]}" --attributions "$W/attr.h5" --patch 100000
try cli "evaluate --ig-steps 2^31-1" refuse "$XAI" "${EVAL[@]}" --attributions "$W/attr.h5" --ig-curve --ig-steps 2147483647
try cli "train --epochs 2^31-1 --limit 0" refuse "$XAI" train --config "$TINY" --out "$W/t.h5" --limit 0 "${DATA[@]}"
try cli "fetch --size 5000" refuse "$XAI" fetch imagenette --size 5000 --data-dir "$NX" --mirror "$NX"

fi

# ------------------------------------------------------------------ every option's value, with valid arguments
if fam cli-values; then
# Each command gets valid, cheap arguments (a tiny model, its attributions and metrics, a 2-image
# mirror); each option in turn gets a hostile value in place of its own. What no option takes (an
# empty value, a word, a number with junk after it) must be refused, 0 may be refused or run; an
# option naming a file gets a directory, a missing path and an unreadable file (run as nobody when
# root), one naming a directory gets a file; the same option twice must not crash.
echo "family cli-values" >&2
O=$W/o
mnist_mirror "$W/cmir"
mkdir -p "$W/cres/cexp" "$W/adir"
echo keep >"$W/adir/keep.txt"
cp "$W/model.h5" "$W/cres/cexp/model.h5"
cp "$W/attr.h5" "$W/cres/cexp/attributions.h5"
cp "$W/metrics.h5" "$W/cres/cexp/metrics.h5"
cp "$W/model.h5" "$W/unread.h5"
chmod 000 "$W/unread.h5"
cp "$SRC/tests/data/tiny_grey.onnx" "$W/grey.onnx"
declare -A IN1=([explain]=$W/model.h5 [evaluate]=$W/attr.h5 [train]=$TINY [import]=$W/grey.onnx) # an input of each
chmod 755 "$W" # nobody reaches the fixtures
BF="--config $TINY --repeats 1 --iters 1 --warmup 0"
declare -A CB=(
    ["bench train"]="$BF --batch 2" ["bench infer"]="$BF --batch 2" ["bench ig"]="$BF --images 2 --steps 4"
    ["bench lrp"]="$BF --batch 2" ["bench evaluate"]="$BF --images 2 --batch 2 --metric insdel"
    [fetch]="mnist --mirror $W/cmir --data-dir $O/dd"
    ["datasets info"]="mnist --data-dir $W/data" ["datasets check"]="mnist --data-dir $W/data"
    ["datasets list"]="--data-dir $W/data"
    [train]="--config $TINY --out $O/m.h5 --limit 8 --data-dir $W/data --mirror $NX"
    [explain]="--model $W/model.h5 --dataset mnist --data-dir $W/data --mirror $NX --n 2 --methods gradient --out $O/a.h5"
    [evaluate]="--model $W/model.h5 --attributions $W/attr.h5 --out $O/m.h5 --n 2 --steps 4 --metrics none --sanity no --ig-curve no"
    [import]="$W/grey.onnx --out $O/i.h5"
    [export]="--results $W/cres/cexp --out $O/plot --data-dir $W/data"
    [report]="--results $W/cres --exp cexp --no-bundle --data-dir $W/data"
)
without() { # "ARGS" OPT: the words of ARGS without OPT and its value
    local out=() skip=0 a
    for a in $1; do
        if [ $skip = 1 ]; then skip=0; elif [ "$a" = "$2" ]; then skip=1; else out+=("$a"); fi
    done
    echo "${out[*]}"
}
cv() { # want label command option value [nobody]: the command's arguments with option = value
    local want=$1 label=$2 cmd=$3 o=$4 v=$5 as=()
    rm -rf "$O"
    mkdir -m 1777 "$O"
    [ "${6:-}" = nobody ] && [ "$(id -u)" = 0 ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    # shellcheck disable=SC2046,SC2086
    try cli-values "$cmd $o $label" "$want" "${as[@]}" "$XAI" $cmd $(without "${CB[$cmd]}" "$o") "$o" "$v"
    [ -f "$W/adir/keep.txt" ] || { printf 'cli-values\t%s (adir intact)\trefuse\t-\tdestroyed\tkeep.txt deleted\n' \
        "$cmd $o $label" >>"$LOG"; echo keep >"$W/adir/keep.txt"; }
}
kind() { # command option metavar: how the option is tried
    case "$2" in --threads | --help | --quiet) echo skip; return ;; esac
    case "$1 $2" in
        "fetch --image-folder" | "fetch --name") echo skip ;; # the image-folder family's
        "explain --out" | "evaluate --out" | "evaluate --summary" | "train --out" | "import --out") echo file-out ;;
        "export --out" | "explain --heatmaps" | "fetch --data-dir") echo dir-out ;;
        "export --results" | "report --results" | "train --data-dir" | "explain --data-dir" | "datasets info --data-dir" | \
            "datasets check --data-dir") echo dir-used ;;
        *" --data-dir" | *" --mirror" | *" --repo" | *" --paper") echo dir ;;
        "evaluate --label") echo free ;;
        *) case "$3" in "") echo skip ;; FILE | M.h5 | A.h5 | CSV) echo file-in ;; *) echo value ;; esac ;;
    esac
}
for cmd in "${CMDS[@]}"; do
    [ "$cmd" = reproduce ] && continue # the whole study: its options are the cli family's
    # shellcheck disable=SC2086
    try cli-values "$cmd (valid arguments)" accept "$XAI" $cmd ${CB[$cmd]}
    # shellcheck disable=SC2086
    "$XAI" $cmd --help 2>&1 | sed -n 's/^ *\(--[a-z0-9-]*\) \([^ ]*\).*/\1 \2/p' | sort -u >"$W/opts"
    while read -r o meta; do
        case $(kind "$cmd" "$o" "$meta") in
            value)
                cv refuse "empty" "$cmd" "$o" ""
                cv refuse "word" "$cmd" "$o" "abc"
                cv refuse "junk after a number" "$cmd" "$o" "3x"
                cv any "0" "$cmd" "$o" 0 ;;
            free) cv any "empty" "$cmd" "$o" ""; cv accept "word" "$cmd" "$o" "a,b \"c\"" ;;
            file-in)
                cv refuse "empty" "$cmd" "$o" ""
                cv refuse "a directory" "$cmd" "$o" "$W/adir"
                cv refuse "missing" "$cmd" "$o" "$NX/x.h5"
                cv refuse "unreadable" "$cmd" "$o" "$W/unread.h5" nobody ;;
            file-out)
                cv refuse "empty" "$cmd" "$o" ""
                cv refuse "a directory" "$cmd" "$o" "$W/adir"
                cv any "in a missing directory" "$cmd" "$o" "$O/new/sub/x.out"
                cv refuse "over an input" "$cmd" "$o" "${IN1[$cmd]}" ;;
            dir-out)
                cv refuse "empty" "$cmd" "$o" ""
                cv refuse "a file" "$cmd" "$o" "$TINY"
                cv any "a directory of other files" "$cmd" "$o" "$W/adir" ;;
            dir-used)
                cv refuse "empty" "$cmd" "$o" ""
                cv refuse "a file" "$cmd" "$o" "$TINY"
                cv refuse "missing" "$cmd" "$o" "$NX" ;;
            dir)
                cv any "empty" "$cmd" "$o" ""
                cv any "a file" "$cmd" "$o" "$TINY"
                cv any "missing" "$cmd" "$o" "$NX" ;;
        esac
    done <"$W/opts"
done
# The same option twice (the last one counts, or the pair is refused).
rep() { rm -rf "$O"; mkdir -m 1777 "$O"; try cli-values "$1 (twice)" any "$XAI" "${@:2}"; }
# shellcheck disable=SC2086
{
rep "explain --n" explain $(without "${CB[explain]}" --n) --n 2 --n 3
rep "explain --out" explain ${CB[explain]} --out "$O/b.h5"
rep "explain --methods" explain ${CB[explain]} --methods lrp-epsilon
rep "explain --model" explain ${CB[explain]} --model "$NX.h5"
rep "evaluate --steps" evaluate ${CB[evaluate]} --steps 5
rep "evaluate --attributions" evaluate ${CB[evaluate]} --attributions "$W/model.h5"
rep "train --config" train ${CB[train]} --config "$NX.ini"
rep "train --epochs" train ${CB[train]} --epochs 1 --epochs 2
rep "export --out" export ${CB[export]} --out "$O/plot2"
rep "import positional" import ${CB[import]} "$W/grey.onnx"
rep "fetch dataset" fetch ${CB[fetch]} fashion-mnist
rep "bench --batch" bench infer ${CB[bench infer]} --batch 3
}
chmod 700 "$W"

fi

# ------------------------------------------------------------------ the table
table "$TABLE" "$LOG"
[ -n "$CASES" ] && cp "$LOG" "$CASES"
grep -vc "	clean	" "$LOG" | { read -r n; echo "not clean: $n case(s)"; [ "$n" = 0 ]; }
