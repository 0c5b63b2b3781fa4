#!/usr/bin/python3
# h5same.py: two HDF5 files hold the same objects, every dataset bit for bit (NaN included) and
# every attribute equal, except the run's own record (timings, command, rank count). Exit 1 on a
# difference, naming it. Usage: h5same.py [--close] [--ignore NAME]... A.h5 B.h5
# --close: every dataset within float rounding instead (rtol 1e-4, atol 1e-4; integers equal), the
# rank statistics under /stats (which a tie broken by 1e-8 can flip) and the attributes left out.
# --ignore NAME: attributes NAME too are the run's record (e.g. batch, where two runs differ in it).
import sys
import h5py
import numpy as np

VOLATILE = {"command", "mpi_ranks", "model_path", "attributions_path", "program_version", "threads", "created_utc",
            "model_sha256", "config_path"}  # the model file's hash covers its training timings
IGNORED = set()  # --ignore


def volatile(name):
    """Timings (seconds, rates) and the run's own record differ run to run, MPI or not."""
    leaf = name.rsplit("/", 1)[-1]
    return leaf in VOLATILE or "seconds" in leaf or "per_s" in leaf or leaf.endswith("_rate")


def table(ds):
    """A table whose @columns names its columns (a model's /train/history): its timing columns dropped."""
    v = ds[()]
    cols = ds.attrs.get("columns")
    if cols is None or v.ndim != 2:
        return v
    names = (cols.decode() if isinstance(cols, bytes) else str(cols)).split(",")
    keep = [i for i, n in enumerate(names) if i < v.shape[1] and not volatile(n)]
    return v[:, keep]


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return a.tobytes() == b.tobytes()
    return np.array_equal(a, b)


def close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-4, atol=1e-4, equal_nan=True))
    return np.array_equal(a, b)


def main(pa, pb, rounding=False):
    bad = []
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        na, nb = [], []
        fa.visit(na.append)
        fb.visit(nb.append)
        if sorted(na) != sorted(nb):
            bad.append("objects differ: only in A %s, only in B %s" % (sorted(set(na) - set(nb))[:5], sorted(set(nb) - set(na))[:5]))
        for name in ["/"] + sorted(set(na) & set(nb)):
            oa, ob = fa[name], fb[name]
            if isinstance(oa, h5py.Dataset) and not any(volatile(p) for p in name.split("/")):
                if rounding and name.startswith("stats/"):
                    continue
                if not (close if rounding else same_value)(table(oa), table(ob)):
                    bad.append("dataset %s differs%s" % (name, " beyond float rounding" if rounding else ""))
            if rounding:
                continue
            ka = {k for k in oa.attrs if not volatile(k) and k not in IGNORED}
            kb = {k for k in ob.attrs if not volatile(k) and k not in IGNORED}
            if ka != kb:
                bad.append("attributes of %s differ: %s vs %s" % (name, sorted(ka - kb), sorted(kb - ka)))
            for k in sorted(ka & kb):
                if not same_value(oa.attrs[k], ob.attrs[k]):
                    bad.append("attribute %s@%s differs" % (name, k))
    for b in bad[:20]:
        print("%s vs %s: %s" % (pa, pb, b))
    return 1 if bad else 0


if __name__ == "__main__":
    args, rounding = [], False
    it = iter(sys.argv[1:])
    for a in it:
        if a == "--close":
            rounding = True
        elif a == "--ignore":
            IGNORED.add(next(it))
        else:
            args.append(a)
    sys.exit(main(args[0], args[1], rounding=rounding))
