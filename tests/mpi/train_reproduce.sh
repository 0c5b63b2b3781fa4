#!/usr/bin/env bash
# train_reproduce.sh (make test-mpi): data-parallel `xai train` under mpirun against the serial
# build (`mpirun xai reproduce`: reproduce_quick.sh). Usage: train_reproduce.sh SERIAL_XAI MPI_XAI
# (tests/mpi/run.sh). One rank of the MPI build = the serial build, bit for bit; 2 ranks give the
# same bits at 1 and 2 threads and twice in a row; 2 ranks vs 1 on a net without dropout or
# batchnorm stay within the tolerance trainers/README.md (MPI) documents; the model records
# mpi_ranks. MNIST from $XAI_MIRROR (default /work/shared/mirror).
source "$(dirname "$0")/common.sh" "$@"
py=$PY
export XAI_MIRROR=${XAI_MIRROR:-/work/shared/mirror}
if [ ! -e "$XAI_MIRROR/mnist" ] && [ -z "${XAI_DATA_DIR:-}" ]; then
    echo "SKIP train_reproduce: no MNIST in \$XAI_MIRROR ($XAI_MIRROR) and no \$XAI_DATA_DIR"
    exit 0
fi
export XAI_DATA_DIR=${XAI_DATA_DIR:-$tmp/data}

# Every dataset of two HDF5 files equal (NaN = NaN), those named like a timing excepted.
same_h5() { # a b [group]
    "$py" - "$@" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
root = sys.argv[3] if len(sys.argv) > 3 else "/"
names = []
a[root].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
bad = [n for n in names if not any(w in n for w in ("seconds", "time"))
       and (n not in b[root] or not np.array_equal(a[root][n][()], b[root][n][()], equal_nan=a[root][n].dtype.kind == "f"))]
for n in bad[:10]: print(f"  differs: {root}/{n}")
sys.exit(1 if bad or not names else 0)
EOF
}

# ---- train: mnist's net, 1024 images, one epoch
cfg=$src/experiments/mnist.ini
tr() { # out launcher... -- args
    local out=$1; shift
    "$@" --quiet train --config "$cfg" --limit 1024 --epochs 1 --out "$tmp/$out.h5" >"$tmp/$out.log" 2>&1 ||
        { bad "train $out failed"; tail -5 "$tmp/$out.log"; }
}
tr serial "$serial" --threads 2
tr r1 mpirun -n 1 "$mpi" --threads 2
tr r2t1 mpirun -n 2 "$mpi" --threads 1
tr r2t2 mpirun -n 2 "$mpi" --threads 2
same_h5 "$tmp/serial.h5" "$tmp/r1.h5" /model || bad "1 rank (MPI build) != serial build"
same_h5 "$tmp/r2t1.h5" "$tmp/r2t2.h5" /model || bad "2 ranks: 1 and 2 threads a rank differ"
"$py" -c "import h5py,sys; sys.exit(int(h5py.File('$tmp/r2t1.h5','r')['train'].attrs['mpi_ranks']) != 2)" ||
    bad "/train@mpi_ranks is not 2"
# Without dropout and batchnorm the rank count changes only the rounding of the gradient sums.
sed -e '/dropout/d' -e 's/^augment = crop/augment = none/' "$cfg" >"$tmp/plain.ini"
cfg=$tmp/plain.ini
tr p1 "$serial" --threads 2
tr p2 mpirun -n 2 "$mpi" --threads 1
"$py" - "$tmp/p1.h5" "$tmp/p2.h5" <<'EOF' || bad "2 ranks vs 1 beyond the documented tolerance"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
worst = 0.0
def cmp(n, o):
    global worst
    if isinstance(o, h5py.Dataset):
        x, y = o[()], b["model"][n][()]
        worst = max(worst, float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)))
a["model"].visititems(cmp)
da, db = a["train"].attrs["final_test_acc"], b["train"].attrs["final_test_acc"]
print(f"  1 vs 2 ranks: largest weight difference {worst:.2g} of a layer's largest weight; test acc {da:.4f} / {db:.4f}")
sys.exit(0 if worst < 1e-2 and abs(da - db) <= 0.02 else 1)
EOF

finish train_reproduce
