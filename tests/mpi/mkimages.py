#!/usr/bin/python3
# mkimages.py: N distinct 8x8 RGB PNG files of seeded noise (img00.png ...), the images of
# tests/mpi/run.sh; the PNG is written by hand so that nothing beyond Python is needed. Usage: mkimages.py DIR N
import struct, zlib, sys, os
def png(path, w, h, rows):
    raw = b''.join(b'\x00' + bytes(r) for r in rows)
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
x = 12345
for k in range(n):
    rows = []
    for y in range(8):
        r = []
        for i in range(24):
            x = (x * 1103515245 + 12345) % 2**31
            r.append((x >> 16) & 255)
        rows.append(r)
    png(os.path.join(out, 'img%02d.png' % k), 8, 8, rows)
