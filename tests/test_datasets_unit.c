/* test_datasets_unit.c: unit tests of the datasets building blocks: hashes, IDX decoding, JPEG decoding, resize.
 * Fixtures are made in memory at test time; nothing touches the network or the mirror. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "datasets/datasets.h"

#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tests/test_jpeg_fixture.h"

/* ------------------------------------------------------------------ hashes */

static void test_sha256_vectors(void **state)
{
    (void)state;
    char h[65];
    xai_sha256_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    xai_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    xai_sha256_hex(m, strlen(m), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in odd-sized pieces to exercise buffering */
    xai_sha256_ctx c;
    xai_sha256_init(&c);
    char a[997];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    while (left) {
        size_t k = left < sizeof a ? left : (left % 7) + 53;
        if (k > left) k = left;
        xai_sha256_update(&c, a, k);
        left -= k;
    }
    xai_sha256_final(&c, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* 55, 56 and 64 bytes: the padding edge cases */
    xai_sha256_hex(a, 55, h);
    assert_string_equal(h, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    xai_sha256_hex(a, 56, h);
    assert_string_equal(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    xai_sha256_hex(a, 64, h);
    assert_string_equal(h, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_md5_vectors(void **state)
{
    (void)state;
    char h[33];
    xai_md5_hex("", 0, h);
    assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
    xai_md5_hex("abc", 3, h);
    assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
    xai_md5_hex("message digest", 14, h);
    assert_string_equal(h, "f96b697d7cb7938d525a2f31aaf161d0");
    const char *m = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
    xai_md5_hex(m, strlen(m), h);
    assert_string_equal(h, "57edf4a22be3c955ac49da2e2107b67a");
    xai_md5_ctx c;
    xai_md5_init(&c);
    for (size_t i = 0; i < strlen(m); i += 3) xai_md5_update(&c, m + i, strlen(m) - i < 3 ? strlen(m) - i : 3);
    xai_md5_final(&c, h);
    assert_string_equal(h, "57edf4a22be3c955ac49da2e2107b67a");
}

/* --------------------------------------------------------------------- IDX */

static uint8_t *gzip_mem(const void *data, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* An IDX payload: magic, dims (big-endian), then `ndata` bytes of data. */
static uint8_t *idx_payload(uint32_t magic, int nd, const uint32_t *dims, size_t ndata, size_t *len)
{
    *len = 4 + 4 * (size_t)nd + ndata;
    uint8_t *p = malloc(*len);
    uint32_t v[4] = {magic, nd > 0 ? dims[0] : 0, nd > 1 ? dims[1] : 0, nd > 2 ? dims[2] : 0};
    for (int i = 0; i <= nd; i++)
        for (int b = 0; b < 4; b++) p[4 * i + b] = (uint8_t)(v[i] >> (24 - 8 * b));
    for (size_t i = 0; i < ndata; i++) p[4 + 4 * nd + i] = (uint8_t)(i * 7);
    return p;
}

static xai_status decode_payload(const uint8_t *p, size_t len, xai_idx *x)
{
    size_t gl;
    uint8_t *gz = gzip_mem(p, len, &gl);
    xai_status s = xai_idx_decode(x, gz, gl, "fixture.gz", NULL);
    free(gz);
    return s;
}

static void test_idx_valid(void **state)
{
    (void)state;
    uint32_t d[3] = {5, 28, 28};
    size_t len;
    uint8_t *p = idx_payload(0x803, 3, d, 5 * 28 * 28, &len);
    size_t gl;
    uint8_t *gz = gzip_mem(p, len, &gl);
    xai_idx x;
    char sha[65], want[65];
    assert_int_equal(xai_idx_decode(&x, gz, gl, "valid.gz", sha), XAI_OK);
    xai_sha256_hex(p, len, want);
    assert_string_equal(sha, want); /* payload hash is of the decompressed bytes */
    assert_int_equal(x.ndims, 3);
    assert_int_equal(x.dims[0], 5);
    assert_int_equal(x.dims[1], 28);
    assert_int_equal(x.n, 5 * 28 * 28);
    assert_memory_equal(x.data, p + 16, x.n);
    xai_idx_free(&x);
    /* labels */
    uint32_t dl[1] = {9};
    free(p);
    p = idx_payload(0x801, 1, dl, 9, &len);
    assert_int_equal(decode_payload(p, len, &x), XAI_OK);
    assert_int_equal(x.ndims, 1);
    assert_int_equal(x.dims[0], 9);
    xai_idx_free(&x);
    free(p);
    free(gz);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    uint32_t d[3] = {5, 28, 28};
    size_t len, gl;
    uint8_t *p = idx_payload(0x803, 3, d, 5 * 28 * 28, &len);
    xai_idx x;
    /* the gzip stream itself cut short */
    uint8_t *gz = gzip_mem(p, len, &gl);
    assert_int_equal(xai_idx_decode(&x, gz, gl / 2, "cut.gz", NULL), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "cut.gz"));
    assert_non_null(strstr(xai_errmsg(), "truncated gzip"));
    assert_null(x.data);
    free(gz);
    /* a complete gzip of a payload shorter than its header says */
    assert_int_equal(decode_payload(p, len - 100, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "header says 5 x 28 x 28 = 3920"));
    assert_non_null(strstr(xai_errmsg(), "truncated"));
    /* header itself cut */
    assert_int_equal(decode_payload(p, 10, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "truncated IDX header"));
    free(p);
}

static void test_idx_wrong_magic(void **state)
{
    (void)state;
    uint32_t d[3] = {2, 28, 28};
    size_t len;
    uint8_t *p = idx_payload(0x12345678, 3, d, 2 * 28 * 28, &len);
    xai_idx x;
    assert_int_equal(decode_payload(p, len, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "magic number 0x12345678"));
    assert_non_null(strstr(xai_errmsg(), "0x00000803"));
    free(p);
    p = idx_payload(0x0d03, 3, d, 2 * 28 * 28, &len); /* float elements */
    assert_int_equal(decode_payload(p, len, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "element type 0x0d"));
    free(p);
    /* not gzip at all */
    assert_int_equal(xai_idx_decode(&x, "plain text, not gzip", 20, "text.gz", NULL), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "not a gzip file"));
}

static void test_idx_lying_header(void **state)
{
    (void)state;
    uint32_t d[3] = {60000, 28, 28}; /* claims 60000 images, holds 3 */
    size_t len;
    uint8_t *p = idx_payload(0x803, 3, d, 3 * 28 * 28, &len);
    xai_idx x;
    assert_int_equal(decode_payload(p, len, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "header says 60000 x 28 x 28 = 47040000 data bytes but the file holds 2352"));
    free(p);
    uint32_t big[3] = {0xffffffffu, 0xffffffffu, 2};
    p = idx_payload(0x803, 3, big, 16, &len);
    assert_int_equal(decode_payload(p, len, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "dimension 0"));
    free(p);
    uint32_t few[1] = {2}; /* extra bytes after the data */
    p = idx_payload(0x801, 1, few, 5, &len);
    assert_int_equal(decode_payload(p, len, &x), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "trailing garbage"));
    free(p);
}

/* ------------------------------------------------------------------- JPEG */


static void assert_near(int a, int b, int tol)
{
    if (abs(a - b) > tol) fail_msg("%d and %d differ by more than %d", a, b, tol);
}

static void test_jpeg_colour_spaces(void **state)
{
    (void)state;
    char err[256];
    uint8_t *rgb;
    int w, h;
    size_t n;
    /* RGB */
    uint8_t c3[3] = {200, 40, 90};
    uint8_t *px = solid(24, 16, 3, c3);
    uint8_t *j = jpeg_encode(px, 24, 16, 3, JCS_RGB, &n);
    assert_int_equal(xai_jpeg_decode_rgb(j, n, &rgb, &w, &h, err, sizeof err), XAI_OK);
    assert_int_equal(w, 24);
    assert_int_equal(h, 16);
    for (int k = 0; k < 3; k++) assert_near(rgb[3 * 100 + k], c3[k], 4);
    free(rgb), free(j), free(px);
    /* greyscale becomes R = G = B */
    uint8_t g = 77;
    px = solid(8, 8, 1, &g);
    j = jpeg_encode(px, 8, 8, 1, JCS_GRAYSCALE, &n);
    assert_int_equal(xai_jpeg_decode_rgb(j, n, &rgb, &w, &h, err, sizeof err), XAI_OK);
    assert_int_equal(rgb[30], rgb[31]);
    assert_int_equal(rgb[31], rgb[32]);
    assert_near(rgb[30], 77, 2);
    free(rgb), free(j), free(px);
    /* CMYK as Photoshop writes it (inverted, Adobe marker): C=0 M=160 Y=160 K=55
     * inks, i.e. RGB ~ (200, 74, 74). */
    uint8_t inv[4] = {255 - 0, 255 - 160, 255 - 160, 255 - 55};
    px = solid(16, 16, 4, inv);
    j = jpeg_encode(px, 16, 16, 4, JCS_CMYK, &n);
    assert_int_equal(xai_jpeg_decode_rgb(j, n, &rgb, &w, &h, err, sizeof err), XAI_OK);
    assert_near(rgb[0], 200, 4);
    assert_near(rgb[1], (95 * 200 + 127) / 255, 4);
    assert_near(rgb[2], (95 * 200 + 127) / 255, 4);
    free(rgb), free(j), free(px);
}

static void test_jpeg_corrupt(void **state)
{
    (void)state;
    char err[256];
    uint8_t *rgb = (uint8_t *)1;
    int w, h;
    assert_int_equal(xai_jpeg_decode_rgb("GIF89a....", 10, &rgb, &w, &h, err, sizeof err), XAI_EFORMAT);
    assert_null(rgb);
    assert_non_null(strstr(err, "not a JPEG"));
    /* a real JPEG cut in half */
    uint8_t *px = malloc(64 * 64 * 3);
    for (int i = 0; i < 64 * 64 * 3; i++) px[i] = (uint8_t)(i * 31 + i / 7);
    size_t n;
    uint8_t *j = jpeg_encode(px, 64, 64, 3, JCS_RGB, &n);
    assert_int_equal(xai_jpeg_decode_rgb(j, n / 2, &rgb, &w, &h, err, sizeof err), XAI_EFORMAT);
    assert_null(rgb);
    assert_true(strlen(err) > 0);
    /* garbage after a valid SOI marker */
    uint8_t bad[64] = {0xFF, 0xD8, 0xFF, 0x01, 0x02};
    assert_int_equal(xai_jpeg_decode_rgb(bad, sizeof bad, &rgb, &w, &h, err, sizeof err), XAI_EFORMAT);
    /* extraneous bytes before the EOI marker: a libjpeg warning other than premature end
     * (issue 12, defect 10), which decoded with rc 0 before */
    uint8_t *x = malloc(n + 3);
    memcpy(x, j, n - 2);
    memcpy(x + n - 2, "\x12\x34\x56\xFF\xD9", 5);
    assert_int_equal(xai_jpeg_decode_rgb(x, n + 3, &rgb, &w, &h, err, sizeof err), XAI_EFORMAT);
    assert_null(rgb);
    assert_non_null(strstr(err, "extraneous bytes"));
    free(x);
    free(j);
    free(px);
}

/* ----------------------------------------------------------------- resize */

static void test_resize_constant(void **state)
{
    (void)state;
    int sizes[][4] = {{37, 23, 16, 16}, {160, 213, 64, 64}, {10, 10, 27, 31}, {5, 7, 5, 7}, {128, 128, 3, 3}};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int sh = sizes[t][0], sw = sizes[t][1], dh = sizes[t][2], dw = sizes[t][3];
        for (int v = 0; v < 256; v += 51) {
            uint8_t *src = malloc((size_t)2 * sh * sw), *dst = malloc((size_t)2 * dh * dw);
            memset(src, v, (size_t)sh * sw);
            memset(src + (size_t)sh * sw, 255 - v, (size_t)sh * sw);
            xai_resize_area(dst, dh, dw, src, sh, sw, 2);
            for (int i = 0; i < dh * dw; i++) {
                assert_int_equal(dst[i], v);
                assert_int_equal(dst[dh * dw + i], 255 - v);
            }
            free(src), free(dst);
        }
    }
}

static void test_resize_2x_exact(void **state)
{
    (void)state;
    enum { H = 34, W = 50, C = 3 };
    uint8_t src[C * H * W], dst[C * (H / 2) * (W / 2)];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof src; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        src[i] = (uint8_t)(x >> 56);
    }
    xai_resize_area(dst, H / 2, W / 2, src, H, W, C);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H / 2; y++)
            for (int xx = 0; xx < W / 2; xx++) {
                const uint8_t *s = src + (size_t)c * H * W;
                int sum = s[(2 * y) * W + 2 * xx] + s[(2 * y) * W + 2 * xx + 1] + s[(2 * y + 1) * W + 2 * xx] +
                          s[(2 * y + 1) * W + 2 * xx + 1];
                /* the mean of 4 pixels, rounded half up */
                assert_int_equal(dst[(size_t)c * (H / 2) * (W / 2) + y * (W / 2) + xx], (sum + 2) / 4);
            }
}

static void test_square_crop(void **state)
{
    (void)state;
    /* 4 rows x 8 columns: left and right quarters white, centre square black.
     * The centre crop keeps only the black 4x4. */
    uint8_t rgb[4 * 8 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++) rgb[(y * 8 + x) * 3 + c] = (x < 2 || x >= 6) ? 255 : (uint8_t)(10 * c);
    uint8_t out[3 * 2 * 2];
    xai_rgb_to_square(out, 2, rgb, 4, 8);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 4; i++) assert_int_equal(out[c * 4 + i], 10 * c);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),   cmocka_unit_test(test_md5_vectors),
        cmocka_unit_test(test_idx_valid),        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_wrong_magic),  cmocka_unit_test(test_idx_lying_header),
        cmocka_unit_test(test_jpeg_colour_spaces), cmocka_unit_test(test_jpeg_corrupt),
        cmocka_unit_test(test_resize_constant),  cmocka_unit_test(test_resize_2x_exact),
        cmocka_unit_test(test_square_crop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
