/* image.c: JPEG decoding to RGB with libjpeg-turbo and area-averaging resize.
 * Both are called from OpenMP workers, so they report errors into a caller buffer, never the thread message. */
#include "datasets/datasets.h"

#include <jpeglib.h>
#include <jerror.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Larger images than this are not in any of our datasets; refusing them keeps a
 * hostile JPEG header from asking for gigabytes. */
#define JPEG_MAX_PIXELS (64u << 20)

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char *err;
    size_t cap;
    int warned; /* a libjpeg warning was emitted */
} jerr_t;

static void on_error(j_common_ptr c)
{
    jerr_t *e = (jerr_t *)c->err;
    char m[JMSG_LENGTH_MAX];
    c->err->format_message(c, m);
    snprintf(e->err, e->cap, "%s", m);
    longjmp(e->jb, 1);
}

/* libjpeg prints warnings on stderr by default; we keep quiet and remember the first one. Every
 * warning (premature end, extraneous bytes, bad Huffman code, ...) means libjpeg met data it had
 * to guess past, so the picture is not what the file claims: it counts as corrupt. */
static void on_message(j_common_ptr c, int level)
{
    jerr_t *e = (jerr_t *)c->err;
    if (level >= 0) return;
    if (!e->warned) {
        char m[JMSG_LENGTH_MAX];
        c->err->format_message(c, m);
        snprintf(e->err, e->cap, "%s", m);
    }
    e->warned = 1;
    c->err->num_warnings++;
}

xai_status xai_jpeg_decode_rgb(const void *buf, size_t len, uint8_t **rgb, int *w, int *h, char *err, size_t cap)
{
    struct jpeg_decompress_struct ci;
    jerr_t je;
    uint8_t *volatile out = NULL;
    uint8_t *volatile row = NULL;
    *rgb = NULL;
    if (cap) err[0] = 0;
    if (len < 4 || ((const uint8_t *)buf)[0] != 0xFF || ((const uint8_t *)buf)[1] != 0xD8) {
        snprintf(err, cap, "not a JPEG file (no SOI marker, %zu bytes)", len);
        return XAI_EFORMAT;
    }
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = on_error;
    je.pub.emit_message = on_message;
    je.err = err;
    je.cap = cap;
    je.warned = 0;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(out);
        free(row);
        return XAI_EFORMAT;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, (const unsigned char *)buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    /* libjpeg-turbo converts greyscale and YCbCr to RGB itself; CMYK it cannot. */
    ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    if ((uint64_t)ci.image_width * ci.image_height > JPEG_MAX_PIXELS) {
        snprintf(err, cap, "image of %ux%u pixels is larger than the %u-pixel limit", ci.image_width, ci.image_height,
                 JPEG_MAX_PIXELS);
        jpeg_destroy_decompress(&ci);
        return XAI_EFORMAT;
    }
    jpeg_start_decompress(&ci);
    int W = (int)ci.output_width, H = (int)ci.output_height, nc = ci.output_components;
    if (nc != (cmyk ? 4 : 3)) {
        snprintf(err, cap, "unexpected %d output components", nc);
        jpeg_destroy_decompress(&ci);
        return XAI_EFORMAT;
    }
    out = malloc((size_t)W * H * 3);
    row = malloc((size_t)W * nc);
    if (!out || !row) {
        snprintf(err, cap, "out of memory for a %dx%d image", W, H);
        jpeg_destroy_decompress(&ci);
        free(out);
        free(row);
        return XAI_ENOMEM;
    }
    /* Adobe's CMYK JPEGs (Photoshop) store inverted ink values; plain CMYK ones do not. */
    int inverted = ci.saw_Adobe_marker;
    while (ci.output_scanline < ci.output_height) {
        int y = (int)ci.output_scanline;
        uint8_t *dst = out + (size_t)y * W * 3;
        JSAMPROW r = cmyk ? row : dst;
        if (jpeg_read_scanlines(&ci, &r, 1) != 1) break;
        if (cmyk)
            for (int x = 0; x < W; x++) {
                const uint8_t *s = row + 4 * x;
                int k = inverted ? s[3] : 255 - s[3];
                for (int c = 0; c < 3; c++) {
                    int v = inverted ? s[c] : 255 - s[c];
                    dst[3 * x + c] = (uint8_t)((v * k + 127) / 255);
                }
            }
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    free(row);
    if (je.warned) {
        /* err already holds libjpeg's warning text */
        free(out);
        return XAI_EFORMAT;
    }
    *rgb = out;
    *w = W;
    *h = H;
    return XAI_OK;
}

/* Weights of one axis: destination pixel o averages source pixels
 * [start[o], start[o] + cnt[o]) with weights w[o * stride + k], which sum to 1.
 * The source interval of o is [o * s / d, (o + 1) * s / d). */
typedef struct {
    int *start, *cnt;
    float *w;
    int stride;
} axis_t;

static void axis_init(axis_t *a, int s, int d)
{
    double scale = (double)s / d;
    a->stride = (int)ceil(scale) + 2;
    a->start = malloc(sizeof(int) * d);
    a->cnt = malloc(sizeof(int) * d);
    a->w = calloc((size_t)d * a->stride, sizeof(float));
    XAI_CHECK(a->start && a->cnt && a->w);
    for (int o = 0; o < d; o++) {
        double lo = o * scale, hi = (o + 1) * scale;
        int i0 = (int)floor(lo), i1 = (int)ceil(hi);
        if (i1 > s) i1 = s;
        if (i0 >= i1) i0 = i1 - 1;
        a->start[o] = i0;
        a->cnt[o] = i1 - i0;
        XAI_CHECK(a->cnt[o] <= a->stride);
        for (int i = i0; i < i1; i++) {
            double cover = fmin(hi, i + 1.0) - fmax(lo, (double)i);
            a->w[(size_t)o * a->stride + (i - i0)] = (float)(cover / scale);
        }
    }
}

static void axis_free(axis_t *a)
{
    free(a->start);
    free(a->cnt);
    free(a->w);
}

/* Resizes one plane whose pixels sit `ps` bytes apart and rows `rs` bytes apart. */
static void resize_plane(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, size_t ps, size_t rs,
                         const axis_t *ax, const axis_t *ay, float *tmp /* (SH, DW) */)
{
    for (int y = 0; y < sh; y++) {
        const uint8_t *r = src + (size_t)y * rs;
        for (int o = 0; o < dw; o++) {
            const float *w = ax->w + (size_t)o * ax->stride;
            const uint8_t *p = r + (size_t)ax->start[o] * ps;
            float acc = 0;
            for (int k = 0; k < ax->cnt[o]; k++) acc += w[k] * p[k * ps];
            tmp[(size_t)y * dw + o] = acc;
        }
    }
    for (int o = 0; o < dh; o++) {
        const float *w = ay->w + (size_t)o * ay->stride;
        for (int x = 0; x < dw; x++) {
            float acc = 0;
            for (int k = 0; k < ay->cnt[o]; k++) acc += w[k] * tmp[(size_t)(ay->start[o] + k) * dw + x];
            float v = floorf(acc + 0.5f);
            dst[(size_t)o * dw + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

void xai_resize_area(uint8_t *dst, int dh, int dw, const uint8_t *src, int sh, int sw, int c)
{
    axis_t ax, ay;
    axis_init(&ax, sw, dw);
    axis_init(&ay, sh, dh);
    float *tmp = malloc(sizeof(float) * (size_t)sh * dw);
    XAI_CHECK(tmp);
    for (int k = 0; k < c; k++)
        resize_plane(dst + (size_t)k * dh * dw, dh, dw, src + (size_t)k * sh * sw, sh, 1, (size_t)sw, &ax, &ay, tmp);
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
}

void xai_rgb_to_square(uint8_t *dst, int size, const uint8_t *rgb, int h, int w)
{
    int side = h < w ? h : w;
    int y0 = (h - side) / 2, x0 = (w - side) / 2;
    axis_t a;
    axis_init(&a, side, size);
    float *tmp = malloc(sizeof(float) * (size_t)side * size);
    XAI_CHECK(tmp);
    const uint8_t *base = rgb + ((size_t)y0 * w + x0) * 3;
    for (int k = 0; k < 3; k++)
        resize_plane(dst + (size_t)k * size * size, size, size, base + k, side, 3, (size_t)w * 3, &a, &a, tmp);
    free(tmp);
    axis_free(&a);
}
