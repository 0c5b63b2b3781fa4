/* idx.c: decoder for the gzip'd IDX files of MNIST and Fashion-MNIST.
 * Every header field is checked against the payload so a truncated or lying file is an error, never a crash. */
#include "datasets/datasets.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Decompressed IDX files of this project are < 50 MB; the cap only stops a
 * hostile gzip from exhausting memory. */
#define IDX_MAX_BYTES ((size_t)1 << 30)

static xai_status gunzip(const void *gz, size_t len, const char *name, uint8_t **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 16 + MAX_WBITS: gzip wrapper only, so a non-gzip file is reported as such. */
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return xai_fail(XAI_ENOMEM, "%s: zlib initialisation failed", name);
    size_t cap = len * 4 + 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        inflateEnd(&z);
        return xai_fail(XAI_ENOMEM, "%s: cannot allocate %zu bytes", name, cap);
    }
    z.next_in = (Bytef *)gz;
    xai_status s = XAI_OK;
    size_t left = len;
    int ended = 0, members = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= IDX_MAX_BYTES) {
                s = xai_fail(XAI_EFORMAT, "%s: decompresses to more than %zu bytes; not an MNIST-style IDX file", name,
                             IDX_MAX_BYTES);
                break;
            }
            cap = cap * 2 > IDX_MAX_BYTES ? IDX_MAX_BYTES : cap * 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                s = xai_fail(XAI_ENOMEM, "%s: cannot allocate %zu bytes", name, cap);
                break;
            }
            buf = nb;
        }
        /* zlib counts in uInt; feed at most 1 GiB at a time. */
        uInt in_now = left > (1u << 30) ? (1u << 30) : (uInt)left;
        uInt out_now = cap - n > (1u << 30) ? (1u << 30) : (uInt)(cap - n);
        z.avail_in = in_now;
        z.next_out = buf + n;
        z.avail_out = out_now;
        int r = inflate(&z, Z_NO_FLUSH);
        left -= in_now - z.avail_in;
        n += out_now - z.avail_out;
        if (r == Z_STREAM_END) {
            members++;
            /* A gzip file may hold several members back to back (RFC 1952). */
            if (left == 0) {
                ended = 1;
                break;
            }
            inflateReset(&z);
            continue;
        }
        if (r == Z_DATA_ERROR) {
            s = xai_fail(XAI_EFORMAT, "%s: %s (%s)", name,
                         members == 0 && z.total_in < 10 ? "not a gzip file (bad gzip header)" : "corrupt gzip data",
                         z.msg ? z.msg : "data error");
            break;
        }
        if (r == Z_MEM_ERROR) {
            s = xai_fail(XAI_ENOMEM, "%s: zlib out of memory", name);
            break;
        }
        if (r == Z_BUF_ERROR && left == 0 && z.avail_out > 0) {
            s = xai_fail(XAI_EFORMAT, "%s: truncated gzip stream (input ends after %zu bytes before the end of the data)",
                         name, len);
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            s = xai_fail(XAI_EFORMAT, "%s: zlib error %d", name, r);
            break;
        }
    }
    inflateEnd(&z);
    if (s == XAI_OK && !ended) s = xai_fail(XAI_EFORMAT, "%s: truncated gzip stream", name);
    if (s != XAI_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    *outlen = n;
    return XAI_OK;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

xai_status xai_idx_decode(xai_idx *out, const void *gz, size_t len, const char *name, char payload_sha256[65])
{
    memset(out, 0, sizeof *out);
    uint8_t *p = NULL;
    size_t n = 0;
    XAI_TRY(gunzip(gz, len, name, &p, &n));
    if (payload_sha256) xai_sha256_hex(p, n, payload_sha256);
    xai_status s = XAI_OK;
    if (n < 4) {
        s = xai_fail(XAI_EFORMAT, "%s: %zu decompressed bytes, too short for an IDX header (at least 8 expected)", name, n);
        goto fail;
    }
    uint32_t magic = be32(p);
    int nd = p[3];
    if (p[0] != 0 || p[1] != 0 || (nd != 1 && nd != 3)) {
        s = xai_fail(XAI_EFORMAT, "%s: not an IDX file: magic number 0x%08x, expected 0x00000801 (labels) or 0x00000803 (images)",
                     name, magic);
        goto fail;
    }
    if (p[2] != 0x08) {
        s = xai_fail(XAI_EFORMAT, "%s: IDX element type 0x%02x, expected 0x08 (unsigned byte)", name, p[2]);
        goto fail;
    }
    size_t hdr = 4 + 4 * (size_t)nd;
    if (n < hdr) {
        s = xai_fail(XAI_EFORMAT, "%s: truncated IDX header: %zu bytes, expected %zu for %d dimensions", name, n, hdr, nd);
        goto fail;
    }
    uint64_t want = 1;
    for (int i = 0; i < nd; i++) {
        uint32_t d = be32(p + 4 + 4 * i);
        if (d == 0 || d > (1u << 30)) {
            s = xai_fail(XAI_EFORMAT, "%s: IDX dimension %d is %u, expected 1..%u", name, i, d, 1u << 30);
            goto fail;
        }
        out->dims[i] = (int)d;
        want *= d;
        if (want > IDX_MAX_BYTES) {
            s = xai_fail(XAI_EFORMAT, "%s: IDX header claims more than %zu bytes of data", name, IDX_MAX_BYTES);
            goto fail;
        }
    }
    out->ndims = nd;
    if (nd == 1) out->dims[1] = out->dims[2] = 1;
    if (n - hdr != want) {
        char dims[64];
        if (nd == 1) snprintf(dims, sizeof dims, "%d", out->dims[0]);
        else snprintf(dims, sizeof dims, "%d x %d x %d", out->dims[0], out->dims[1], out->dims[2]);
        s = xai_fail(XAI_EFORMAT, "%s: IDX header says %s = %llu data bytes but the file holds %zu (%s)", name, dims,
                     (unsigned long long)want, n - hdr, n - hdr < want ? "truncated" : "trailing garbage");
        goto fail;
    }
    memmove(p, p + hdr, want);
    out->data = p;
    out->n = want;
    return XAI_OK;
fail:
    free(p);
    memset(out, 0, sizeof *out);
    return s;
}

xai_status xai_idx_read(xai_idx *out, const char *path, char payload_sha256[65])
{
    char *buf;
    size_t len;
    XAI_TRY(xai_read_file(path, &buf, &len));
    xai_status s = xai_idx_decode(out, buf, len, path, payload_sha256);
    free(buf);
    return s;
}

void xai_idx_free(xai_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}
