#!/usr/bin/env python3
"""seeds.py: writes the named seed inputs of tests/fuzz/corpus/<target>/ (the defects of issue 12
and a valid baseline per parser). Run from anywhere: python3 tests/fuzz/seeds.py. The HDF5 targets'
inputs are h5mutate.c operation lists (format: tests/fuzz/README.md); inputs found by fuzzing are
added to the corpus directories as they are, under their hash names."""
import gzip, io, os, struct, tarfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# h5mutate.c operations and selectors.
ATTR_INT, ATTR_F64, ATTR_STR, ATTR_VEC, DEL_ATTR, DEL_OBJ, RESHAPE, POKE, RETYPE, ADD_ATTR = range(10)
NAN, INF, NEG_INF = 14, 15, 16  # fz_double table entries

def name(s):
    return b"\xff" + s.encode() + b"\0"

def raw_int(v):
    return b"\xc0" + struct.pack("<q", v)

def raw_double(v):
    return b"\xc0" + struct.pack("<d", v)

def small(n):
    return bytes([32 + n])  # fz_int: selector bytes 32..191 are the counts 0..159

def op(code, *parts):
    return bytes([code]) + b"".join(p if isinstance(p, bytes) else bytes([p]) for p in parts)

# Seeds that still fail because their defect of issue 12 is open: kept in known/<target>/, out of
# the corpus that ctest runs; delete the entry here (and rerun) when the defect is fixed. All of
# issue 12's defects are fixed, so every seed is in the corpus.
KNOWN = set()

def write(target, fname, data):
    d = os.path.join(HERE, "known" if (target, fname) in KNOWN else "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)

def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload

def seeds_idx():
    write("idx", "valid-images", b"\0" + idx(0x803, [2, 3, 3], bytes(range(18))))
    write("idx", "valid-labels", b"\0" + idx(0x801, [4], bytes([0, 1, 2, 9])))
    write("idx", "valid-gzip", b"\1" + gzip.compress(idx(0x801, [2], b"\1\2"), mtime=0))
    # defect 4: dimensions whose product overflows 32 and 64 bits
    write("idx", "d04-dims-overflow", b"\0" + idx(0x803, [0x40000000, 0x40000000, 4], b""))
    write("idx", "d04-dims-max", b"\0" + idx(0x803, [0xffffffff, 0xffffffff, 0xffffffff], b"x"))
    write("idx", "truncated", b"\0" + idx(0x803, [2, 28, 28], bytes(100)))
    write("idx", "two-members", b"\1" + gzip.compress(idx(0x801, [1], b""), mtime=0) + gzip.compress(b"\3", mtime=0))

# A 2x2 greyscale JPEG (libjpeg-turbo 2.1, quality 50) that the decoder takes without a warning.
VALID_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d"
    "283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffc0000b08000200020101"
    "1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103030204030505"
    "04040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a8384858687"
    "88898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2"
    "e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00dad2ff00e41567ff005c13ff004115ffd9"
)

# A 2x2 greyscale JPEG whose scan ends early: libjpeg decodes it with the warning "Corrupt JPEG data:
# premature end of data segment", which the decoder refuses (it was the archive seeds' "valid" member).
PREMATURE_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
    "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080002000201"
    "011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403"
    "050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a1617"
    "18191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83"
    "8485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7"
    "d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")

def tar(members):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for path, data in members:
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

def seeds_archive():
    a, b = "n01440764", "n02102040"
    ok = [(f"t/train/{a}/0.JPEG", VALID_JPEG), (f"t/train/{b}/1.JPEG", VALID_JPEG), (f"t/val/{a}/2.JPEG", VALID_JPEG)]
    write("archive", "valid-tar", b"\0" + tar(ok))
    write("archive", "valid-tgz", b"\2" + gzip.compress(tar(ok), mtime=0))
    write("archive", "jpeg-valid", b"\3" + VALID_JPEG)
    write("archive", "jpeg-premature-end", b"\3" + PREMATURE_JPEG)
    # defect 10: a JPEG with extraneous bytes inside (libjpeg warns "Corrupt JPEG data") and
    # duplicate archive members
    sos = VALID_JPEG.index(b"\xff\xda")
    write("archive", "d10-jpeg-extraneous", b"\3" + VALID_JPEG[:sos] + b"\x00" * 16 + VALID_JPEG[sos:])
    write("archive", "d10-duplicate-members", b"\0" + tar(ok + [ok[0]]))
    write("archive", "truncated-jpeg", b"\3" + VALID_JPEG[:len(VALID_JPEG) // 2])
    write("archive", "traversal", b"\0" + tar([("../t/train/%s/0.JPEG" % a, VALID_JPEG)]))
    # defect 9 in small: many tiny members (the caps on members and bytes are what is exercised)
    write("archive", "d09-many-members", b"\0" + tar([(f"t/train/{a}/{i}.JPEG", b"\xff\xd8") for i in range(12)]))

def seeds_config():
    base = open(os.path.join(HERE, "..", "..", "experiments", "mnist.ini"), "rb").read()
    write("config", "valid-mnist", base)
    tiny = (b"[experiment]\nname = tiny\ndataset = mnist\n[model]\ninput = 1x8x8\nclasses = 3\n"
            b"layer = conv out=2 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\nlayer = flatten\n"
            b"layer = linear out=3\n[train]\nepochs = 1\n")
    write("config", "valid-tiny", tiny)
    # defect 4: overflowing geometry
    write("config", "d04-conv-pad", tiny.replace(b"k=3 pad=1", b"k=1 pad=30000"))
    write("config", "d04-flatten", tiny.replace(b"1x8x8", b"160000x200x200"))
    write("config", "d04-classes", tiny.replace(b"classes = 3", b"classes = 4294967299"))
    # defect 5: a comment line longer than libinih's buffer hiding a key
    write("config", "d05-long-line", tiny + b"; " + b"x" * 197 + b"epochs = 7\n")
    # defect 6: experiment name escaping results/
    write("config", "d06-name", tiny.replace(b"name = tiny", b"name = ../../../x"))
    # defect 10: unknown key, unknown section, NUL byte, indented continuation
    write("config", "d10-unknown-key", tiny.replace(b"[model]\n", b"[model]\nlayres = 3\n"))
    write("config", "d10-unknown-section", tiny + b"[trian]\nepochs = 2\n")
    write("config", "d10-nul", tiny + b"\0epochs = 9\n")
    write("config", "d10-continuation", tiny.replace(b"layer = relu\n", b"layer = relu\n  layer = relu\n"))

def seeds_model():
    # byte 0: template (0 the fixture's linear model with /train, 1 the conv/batch-norm net)
    write("model", "valid-linear", b"\0")
    write("model", "valid-net", b"\1")
    # defect 4: int64 attributes cast to int (k = 2^32 + 3 ran as k = 3)
    write("model", "d04-kernel-2p32", b"\1" + op(ATTR_INT, name("/model/layers/00@kernel_size"), raw_int(2**32 + 3)))
    write("model", "d04-input-shape", b"\1" + op(ATTR_VEC, name("/model@input_shape"), 3, raw_double(2**31 + 5),
                                                 raw_double(1), raw_double(1)))
    # defect 7: garbage contents
    write("model", "d07-nan-weight", b"\1" + op(POKE, name("/model/layers/00/weight"), 0, 0, NAN, bytes(8)))
    write("model", "d07-inf-weights", b"\0" + op(POKE, name("/model/layers/00/weight"), 1, 0, INF, bytes(8)))
    write("model", "d07-bn-var", b"\1" + op(POKE, name("/model/layers/01/running_var"), 1, 0, 2, bytes(8)))
    write("model", "d07-bn-eps", b"\1" + op(ATTR_F64, name("/model/layers/01@eps"), 2))
    write("model", "d07-no-mean", b"\1" + op(DEL_ATTR, name("/model@normalize_mean")))
    write("model", "d07-mean-length", b"\1" + op(ATTR_VEC, name("/model@normalize_std"), 5, 1, 1, 1, 1, 1))
    write("model", "d07-dropout-p", b"\1" + op(ATTR_F64, name("/model/layers/04@p"), 12))
    # defect 8: kernel_size = 0 (the message must say so once)
    write("model", "d08-kernel-0", b"\1" + op(ATTR_INT, name("/model/layers/00@kernel_size"), 0))
    write("model", "reshape-weight", b"\1" + op(RESHAPE, name("/model/layers/06/weight"), 0, small(27)))
    write("model", "history-huge", b"\0" + op(RESHAPE, name("/train/history"), 1, raw_int(2**32 + 2), small(7)))

def seeds_attrfile():
    # byte 0: rows to read (0: all)
    write("attrfile", "valid", b"\0")
    write("attrfile", "valid-n2", b"\2")
    # defect 2: a dimension above INT_MAX
    write("attrfile", "d02-inputs-2p32", b"\0" + op(RESHAPE, name("/inputs"), 3, 1, 1, raw_int(2**32 + 2), 1))
    write("attrfile", "d02-rows", b"\2" + op(RESHAPE, name("/attributions/ig"), 3, small(6), small(3), raw_int(2**32 + 2), small(1)))
    # defect 14: more rows than /inputs, @steps = 2^32 + 2, a missing @format
    write("attrfile", "d14-more-rows", b"\0" + op(RESHAPE, name("/attributions/gradient"), 3, small(7), small(3), small(4), small(4)))
    write("attrfile", "d14-steps", b"\0" + op(ATTR_INT, name("/attributions/ig@steps"), raw_int(2**32 + 2)))
    write("attrfile", "d14-no-format", b"\0" + op(DEL_ATTR, name("/@format")))
    write("attrfile", "d07-no-mean", b"\0" + op(DEL_ATTR, name("/@normalize_mean")))
    write("attrfile", "retype-labels", b"\0" + op(RETYPE, name("/labels"), 5))
    write("attrfile", "nan-inputs", b"\0" + op(POKE, name("/inputs"), 1, 0, NAN, bytes(8)))

def seeds_metrics():
    write("metrics", "valid", b"")
    write("metrics", "d04-steps-huge", op(RESHAPE, name("/ig_steps/ig/gauss/steps"), 0, raw_int(2**32 + 2)))
    write("metrics", "d04-fraction-huge", op(RESHAPE, name("/steps/fraction"), 0, raw_int(2**31 + 5)))
    write("metrics", "curve-length", op(RESHAPE, name("/methods/ig/morf/logit/mean"), 0, small(40)))
    write("metrics", "d14-no-format", op(DEL_ATTR, name("/@format")))
    write("metrics", "method-name", op(ATTR_STR, name("/methods/ig/morf/logit@aopc_mean"), 3, b"a,\""))
    write("metrics", "nan-scores", op(ATTR_F64, name("/methods/ig/completeness@median"), NAN))

def seeds_dataset_cache():
    # byte 0: --limit (0: all)
    write("dataset_cache", "valid", b"\0")
    write("dataset_cache", "valid-limit", b"\2")
    # defect 4: shapes and counts beyond int (read_strings, image rows)
    write("dataset_cache", "d04-images-rows", b"\0" + op(RESHAPE, name("/train/images"), 3, raw_int(2**31 - 1), small(1), small(4), small(4)))
    write("dataset_cache", "d04-files-huge", b"\0" + op(RESHAPE, name("/train/files"), 0, raw_int(2**32 + 2)))
    write("dataset_cache", "d04-size", b"\0" + op(ATTR_INT, name("/@size"), raw_int(2**32 + 4)))
    write("dataset_cache", "bad-label", b"\0" + op(POKE, name("/train/labels"), 0, 0, 11, bytes(8)))
    write("dataset_cache", "no-classes", b"\0" + op(DEL_OBJ, name("/classes/names")))

def png(w, h, colour_type, depth, rows, interlace=0, crc_ok=True, plte=b""):
    """A PNG of unfiltered rows (bytes each), zlib only."""
    def chunk(t, d, ok=True):
        crc = zlib.crc32(t + d) & 0xFFFFFFFF
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", crc if ok else crc ^ 1)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + (chunk(b"PLTE", plte) if plte else b"") +
            chunk(b"IDAT", zlib.compress(raw, 9), crc_ok) +
            chunk(b"IEND", b""))

def seeds_png():
    # byte 0: bit 0 three channels, bit 1 through a file (PNG/JPEG sniffing), bits 2-3 side 1/3/8/17
    rgb = png(4, 3, 2, 8, [bytes((17 * i + 60 * k) % 256 for k in range(12)) for i in range(3)])
    grey = png(3, 3, 0, 8, [b"\x10\x80\xf0"] * 3)
    write("png", "valid-rgb", b"\x09" + rgb)
    write("png", "valid-rgb-file", b"\x0b" + rgb)
    write("png", "valid-grey-file", b"\x0a" + grey)
    write("png", "colour-for-grey-model", b"\x0a" + rgb)
    write("png", "rgba-16bit", b"\x0d" + png(2, 2, 6, 16, [bytes(range(16)), bytes(range(16, 32))]))
    write("png", "palette", b"\x05" + png(2, 1, 3, 8, [b"\0\1"], plte=b"\xff\0\0\0\xff\0"))
    write("png", "palette-missing", b"\x05" + png(2, 1, 3, 8, [b"\0\1"]))
    write("png", "interlaced-1x1", b"\x01" + png(1, 1, 2, 8, [b"\xff\x00\x80"], interlace=1))
    write("png", "bad-crc", b"\x01" + png(4, 3, 2, 8, [bytes(12)] * 3, crc_ok=False))
    write("png", "truncated", b"\x01" + rgb[:len(rgb) - 20])
    write("png", "huge-dims", b"\x01" + png(100000, 100000, 2, 8, []))
    write("png", "side-17-from-1x1", b"\x0f" + png(1, 1, 2, 8, [b"\x01\x02\x03"]))
    write("png", "jpeg-file", b"\x0b" + VALID_JPEG)
    write("png", "neither-file", b"\x0b" + b"GIF89a\x01\x00\x01\x00")

# fuzz_folder.c's operations: (op % 3: folder, file, link), parent folder, name of NAMES, then a
# content byte (files: PNG, JPEG, raw, empty) or a target byte (links: a folder made, ., .., nothing)
NAMES = ["train", "val", "cat", "dog", ".hidden", "a.png", "b.jpg", "c.JPEG", "d.txt", "e.PNG", ".f.png", "g",
         "h i.png", "\u00e9.jpg", "x.png.txt", "-"]
FOLDER, FILE, LINK = 0, 1, 2
PNG_, JPEG_, RAW, EMPTY = 0, 1, 2, 3

def mk(parent, n):
    return bytes([FOLDER, parent, NAMES.index(n)])

def put(parent, n, kind=PNG_, raw=b""):
    return bytes([FILE, parent, NAMES.index(n), kind]) + (bytes([len(raw)]) + raw if kind == RAW else b"")

def link(parent, n, target, folder=0):
    return bytes([LINK, parent, NAMES.index(n), target]) + (bytes([folder]) if target == 0 else b"")

IMAGES = ["a.png", "b.jpg", "c.JPEG", "e.PNG", "h i.png", "\u00e9.jpg"]

def seeds_folder():
    # byte 0: bit 0 --images instead of the import, bit 1 three channels
    flat = mk(0, "cat") + mk(0, "dog") + b"".join(put(1, n) + put(2, n, JPEG_) for n in IMAGES)
    write("folder", "valid-flat", b"\0" + flat)
    write("folder", "valid-images", b"\3" + flat)
    split = mk(0, "train") + mk(0, "val") + mk(1, "cat") + mk(1, "dog") + mk(2, "cat") + mk(2, "dog")
    split += b"".join(put(3, n) + put(4, n, JPEG_) for n in IMAGES[:3]) + put(5, "a.png") + put(6, "b.jpg")
    write("folder", "valid-train-val", b"\0" + split)
    write("folder", "val-missing-class", b"\0" + split[:-8])
    write("folder", "no-classes", b"\0" + put(0, "a.png"))
    write("folder", "hidden-only", b"\0" + mk(0, ".hidden") + put(1, "a.png") + mk(0, "cat") + put(2, ".f.png"))
    write("folder", "not-an-image", b"\0" + flat + put(1, "g") + put(1, "d.txt", RAW, b"\x89PNG") +
          put(2, "x.png.txt", EMPTY) + put(1, "h i.png", RAW, b"\x89PNG\r\n\x1a\njunk"))
    write("folder", "empty-image", b"\1" + mk(0, "cat") + put(1, "a.png", EMPTY))
    write("folder", "link-loop", b"\0" + flat + link(1, "g", 2) + link(0, "-", 1) + link(2, "e.PNG", 3))
    write("folder", "link-to-folder", b"\3" + flat + link(0, "train", 0, 1))
    write("folder", "one-image", b"\3" + put(0, "a.png"))

if __name__ == "__main__":  # tests/hostile_sweep.sh imports VALID_JPEG
    for f in (seeds_idx, seeds_archive, seeds_config, seeds_model, seeds_attrfile, seeds_metrics, seeds_dataset_cache,
              seeds_png, seeds_folder):
        f()
