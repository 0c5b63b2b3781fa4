/* hash.c: SHA-256 (FIPS 180-4) and MD5 (RFC 1321) for verifying downloaded files.
 * Our own small implementations so that verification needs no crypto library; speed is secondary. */
#include "datasets/datasets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void to_hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* ------------------------------------------------------------------ SHA-256 */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

/* Buffers input into 64-byte blocks for a Merkle-Damgard hash (SHA-256 and MD5 alike). */
static void feed(uint32_t *h, uint8_t buf[64], size_t *nbuf, const void *data, size_t n,
                 void (*block)(uint32_t *, const uint8_t *))
{
    const uint8_t *p = data;
    if (*nbuf) {
        size_t k = 64 - *nbuf < n ? 64 - *nbuf : n;
        memcpy(buf + *nbuf, p, k);
        *nbuf += k;
        p += k;
        n -= k;
        if (*nbuf < 64) return;
        block(h, buf);
        *nbuf = 0;
    }
    for (; n >= 64; p += 64, n -= 64) block(h, p);
    memcpy(buf, p, n);
    *nbuf = n;
}

void xai_sha256_init(xai_sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->nbuf = 0;
}

void xai_sha256_update(xai_sha256_ctx *c, const void *data, size_t n)
{
    c->len += n;
    feed(c->h, c->buf, &c->nbuf, data, n, sha256_block);
}

void xai_sha256_final(xai_sha256_ctx *c, char hex[65])
{
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t np = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++) pad[np + i] = (uint8_t)(bits >> (56 - 8 * i));
    xai_sha256_update(c, pad, np + 8);
    uint8_t out[32];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(c->h[i] >> (24 - 8 * j));
    to_hex(hex, out, 32);
}

void xai_sha256_hex(const void *data, size_t n, char hex[65])
{
    xai_sha256_ctx c;
    xai_sha256_init(&c);
    xai_sha256_update(&c, data, n);
    xai_sha256_final(&c, hex);
}

/* ---------------------------------------------------------------------- MD5 */

static const uint32_t KMD5[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const uint8_t RMD5[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

static inline uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g, round = i / 16;
        if (round == 0) f = (b & c) | (~b & d), g = i;
        else if (round == 1) f = (d & b) | (~d & c), g = (5 * i + 1) & 15;
        else if (round == 2) f = b ^ c ^ d, g = (3 * i + 5) & 15;
        else f = c ^ (b | ~d), g = (7 * i) & 15;
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rol(a + f + KMD5[i] + m[g], RMD5[round * 4 + (i & 3)]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void xai_md5_init(xai_md5_ctx *c)
{
    c->h[0] = 0x67452301;
    c->h[1] = 0xefcdab89;
    c->h[2] = 0x98badcfe;
    c->h[3] = 0x10325476;
    c->len = 0;
    c->nbuf = 0;
}

void xai_md5_update(xai_md5_ctx *c, const void *data, size_t n)
{
    c->len += n;
    feed(c->h, c->buf, &c->nbuf, data, n, md5_block);
}

void xai_md5_final(xai_md5_ctx *c, char hex[33])
{
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t np = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++) pad[np + i] = (uint8_t)(bits >> (8 * i)); /* MD5 is little-endian */
    xai_md5_update(c, pad, np + 8);
    uint8_t out[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(c->h[i] >> (8 * j));
    to_hex(hex, out, 16);
}

void xai_md5_hex(const void *data, size_t n, char hex[33])
{
    xai_md5_ctx c;
    xai_md5_init(&c);
    xai_md5_update(&c, data, n);
    xai_md5_final(&c, hex);
}

xai_status xai_hash_file(const char *path, char sha256[65], char md5[33])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", path, strerror(errno));
    xai_status s = xai_hash_fd(fd, path, sha256, md5);
    close(fd);
    return s;
}

xai_status xai_hash_fd(int fd, const char *name, char sha256[65], char md5[33])
{
    xai_sha256_ctx s;
    xai_md5_ctx m;
    xai_sha256_init(&s);
    if (md5) xai_md5_init(&m);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = xai_malloc(CHUNK);
    xai_status st = XAI_OK;
    /* pread from 0: the caller decodes the same descriptor afterwards, whatever its offset. */
    for (off_t off = 0;;) {
        ssize_t r = pread(fd, buf, CHUNK, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = xai_fail(XAI_EIO, "%s: read error while hashing: %s", name, strerror(errno));
            break;
        }
        if (r == 0) break;
        xai_sha256_update(&s, buf, (size_t)r);
        if (md5) xai_md5_update(&m, buf, (size_t)r);
        off += r;
    }
    free(buf);
    if (st != XAI_OK) return st;
    xai_sha256_final(&s, sha256);
    if (md5) xai_md5_final(&m, md5);
    return XAI_OK;
}
