#!/usr/bin/env python3
"""hostile_sweep_mut.py: the HDF5 mutations of tests/hostile_sweep.sh, applied in place in order.
  hostile_sweep_mut.py FILE list                 dataset paths, one a line
  hostile_sweep_mut.py FILE OP ARGS [OP ARGS]... with OP one of
    attr OBJ NAME JSON    set an attribute (int -> int64, float -> float64, str, list -> vector;
                          "nan"/"inf" in a list are those floats)
    delattr OBJ NAME      delete an attribute          del OBJ      delete a group or dataset
    group OBJ             create an empty group        fill OBJ V   every element := V
    reshape OBJ D1,D2..   same type, new shape (old values repeated when small; else chunked, unwritten)
    retype OBJ T          convert the element type (f8, f4, i4, i8, u1, str)"""
import json, sys
import h5py
import numpy as np


def value(s):
    v = json.loads(s)
    if isinstance(v, list):
        v = [float(x) if isinstance(x, str) else x for x in v]
        return np.array(v, dtype=np.int64 if all(isinstance(x, int) for x in v) else np.float64)
    if isinstance(v, bool) or isinstance(v, int):
        return np.int64(v)
    if isinstance(v, float):
        return np.float64(v)
    return v


def main():
    path, ops = sys.argv[1], sys.argv[2:]
    with h5py.File(path, "r+" if ops[:1] != ["list"] else "r") as f:
        if ops[:1] == ["list"]:
            f.visititems(lambda n, o: print("/" + n) if isinstance(o, h5py.Dataset) else None)
            return
        i = 0
        while i < len(ops):
            op = ops[i]
            if op == "attr":
                obj, name, v = ops[i + 1:i + 4]
                if name in f[obj].attrs:
                    del f[obj].attrs[name]
                f[obj].attrs[name] = value(v)
                i += 4
            elif op == "delattr":
                del f[ops[i + 1]].attrs[ops[i + 2]]
                i += 3
            elif op == "del":
                del f[ops[i + 1]]
                i += 2
            elif op == "group":
                f.create_group(ops[i + 1])
                i += 2
            elif op == "fill":
                ds, v = f[ops[i + 1]], float(ops[i + 2])
                ds[...] = v if ds.dtype.kind == "f" else np.array(v).astype(np.int64)
                i += 3
            elif op == "reshape":
                old = f[ops[i + 1]]
                vals = old[...].ravel() if old.size <= 1 << 22 else None
                shape = tuple(int(x) for x in ops[i + 2].split(","))
                dtype, attrs = old.dtype, dict(old.attrs)
                del f[ops[i + 1]]
                n = int(np.prod(shape, dtype=object))
                if n <= 1 << 20:
                    ds = f.create_dataset(ops[i + 1], shape=shape, dtype=dtype)
                    if vals is not None and n and vals.size:
                        ds[...] = np.resize(vals, shape)
                else:
                    ds = f.create_dataset(ops[i + 1], shape=shape, dtype=dtype, chunks=tuple(1 for _ in shape))
                for k, v in attrs.items():
                    ds.attrs[k] = v
                i += 3
            elif op == "retype":
                old = f[ops[i + 1]]
                data, attrs, t = old[...], dict(old.attrs), ops[i + 2]
                del f[ops[i + 1]]
                if t == "str":
                    data = np.array([str(x).encode() for x in np.ravel(data)], dtype="S16")
                else:
                    data = data.astype(t)
                ds = f.create_dataset(ops[i + 1], data=data)
                for k, v in attrs.items():
                    ds.attrs[k] = v
                i += 3
            else:
                sys.exit("unknown op " + op)


if __name__ == "__main__":
    main()
