/* common.c: the shared part of the libFuzzer targets: setup, per-input checks, scratch files,
 * gzip and the input reader with its tables of hostile values. */
#include "tests/fuzz/common.h"
#include "core/h5.h"
#include "core/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void fz_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    xai_quiet = 1;
    xai_set_threads(1);
    xai_h5_init();
}

xai_status fz_check_status(xai_status st, const char *what)
{
    if (st != XAI_OK && st != XAI_ENOTFOUND && !xai_errmsg()[0]) {
        fprintf(stderr, "fuzz: %s returned '%s' without an error message\n", what, xai_status_name(st));
        abort();
    }
    return st;
}

void fz_end(void)
{
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open > 0) {
        fprintf(stderr, "fuzz: %zd HDF5 objects left open after the input\n", open);
        abort();
    }
}

static char slot[4][512];
static const char *tags[4];

static void remove_scratch(void)
{
    for (int i = 0; i < 4 && tags[i]; i++) unlink(slot[i]);
}

const char *fz_path(const char *tag)
{
    for (int i = 0; i < 4; i++) {
        if (tags[i] && strcmp(tags[i], tag) == 0) return slot[i];
        if (tags[i]) continue;
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(slot[i], sizeof slot[i], "%s/xai-fuzz-%d-%s", dir, (int)getpid(), tag);
        tags[i] = tag;
        if (i == 0) atexit(remove_scratch);
        return slot[i];
    }
    abort(); /* more than 4 tags: a harness bug */
}

void fz_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

uint8_t *fz_gzip(const void *data, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 16 + MAX_WBITS: a gzip wrapper, as the dataset files have. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = xai_malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

uint8_t fz_u8(fz_in *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

uint64_t fz_u64(fz_in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)fz_u8(in) << (8 * i);
    return v;
}

int64_t fz_int(fz_in *in)
{
    static const int64_t tab[] = {0, 1, -1, 2, 3, 4, 5, 7, 8, 10, 16, 28, 64, 255, 256, 1000, 4096, 4097, 65535,
                                  65536, 1 << 24, INT32_MAX, (int64_t)INT32_MAX + 1, (int64_t)INT32_MAX + 5,
                                  INT32_MIN, UINT32_MAX, (int64_t)UINT32_MAX + 3, (int64_t)UINT32_MAX + 4, /* 2^32 + 2, + 3 */
                                  INT64_MAX, INT64_MIN, -2, 30000};
    uint8_t k = fz_u8(in);
    size_t nt = sizeof tab / sizeof *tab;
    if (k < nt) return tab[k];
    if (k < 0xc0) return k - (int)nt; /* small counts */
    return (int64_t)fz_u64(in);
}

double fz_double(fz_in *in)
{
    static const double tab[] = {0, 1, -1, 0.5, 2, 1e-12, -1e-12, 1e300, -1e300, 1e38, 3.5e38, 255, 5, 0.25};
    uint8_t k = fz_u8(in);
    size_t nt = sizeof tab / sizeof *tab;
    if (k < nt) return tab[k];
    if (k == nt) return NAN;
    if (k == nt + 1) return INFINITY;
    if (k == nt + 2) return -INFINITY;
    if (k < 0xc0) return (k - (int)nt) / 16.0;
    uint64_t b = fz_u64(in);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}
