/* augment.c: turns uint8 images into the net's normalised float inputs, optionally with
 * random crops (padded or random-resized) and horizontal flips drawn from a seeded RNG. */
#include "trainers/trainers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void xai_normalizer_init(xai_normalizer *nz, int c, const float *mean, const float *std)
{
    XAI_CHECK(c >= 1 && c <= 4);
    memset(nz, 0, sizeof *nz);
    nz->c = c;
    uint8_t ramp[256];
    for (int v = 0; v < 256; v++) ramp[v] = (uint8_t)v;
    for (int k = 0; k < c; k++) {
        nz->mean[k] = mean[k];
        nz->std[k] = std[k];
        /* Every pixel value through the one normalisation the explainers use too. */
        xai_normalize_u8(nz->lut[k], ramp, (xai_shape){1, 1, 256}, &mean[k], &std[k]);
    }
}

void xai_normalize_batch(float *out, const uint8_t *const *imgs, int n, xai_shape s, const xai_normalizer *nz)
{
    const size_t hw = (size_t)s.h * s.w, isz = xai_shape_size(s);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < s.c; c++) {
            const uint8_t *src = imgs[i] + c * hw;
            float *dst = out + i * isz + c * hw;
            const float *lut = nz->lut[c];
            for (size_t j = 0; j < hw; j++) dst[j] = lut[src[j]];
        }
}

/* One sample's random choices, drawn before any pixel is touched. */
typedef struct {
    int x0, y0, w, h; /* crop window in source pixels (crop: offset into the padded image) */
    int flip;
} aug_params;

static void draw_params(aug_params *p, const xai_aug_cfg *a, xai_shape s, xai_rng *r)
{
    p->x0 = p->y0 = 0;
    p->w = s.w;
    p->h = s.h;
    if (a->type == XAI_AUG_CROP && a->pad > 0) {
        p->y0 = (int)xai_rng_below(r, 2 * a->pad + 1);
        p->x0 = (int)xai_rng_below(r, 2 * a->pad + 1);
    } else if (a->type == XAI_AUG_RRC) {
        /* torchvision's RandomResizedCrop: area in [min_scale, 1], aspect log-uniform in [3/4, 4/3],
         * ten tries, then the whole image. */
        const double area = (double)s.h * s.w, lo = log(3.0 / 4.0), hi = log(4.0 / 3.0);
        for (int t = 0; t < 10; t++) {
            double target = area * (a->min_scale + (1 - a->min_scale) * xai_rng_uniform(r));
            double ar = exp(lo + (hi - lo) * xai_rng_uniform(r));
            int w = (int)lround(sqrt(target * ar)), h = (int)lround(sqrt(target / ar));
            if (w > 0 && h > 0 && w <= s.w && h <= s.h) {
                p->w = w;
                p->h = h;
                p->y0 = (int)xai_rng_below(r, (uint32_t)(s.h - h + 1));
                p->x0 = (int)xai_rng_below(r, (uint32_t)(s.w - w + 1));
                break;
            }
        }
    }
    p->flip = a->flip ? (int)(xai_rng_u64(r) >> 63) : 0;
}

/* Padded crop: output (y, x) reads padded pixel (y + y0, x + x0), i.e. source (y + y0 - pad, x + x0 - pad). */
static void crop_one(float *dst /* (C, H, W) */, const uint8_t *src /* (C, H, W) */, xai_shape s, int pad,
                     const aug_params *p, const xai_normalizer *nz)
{
    const int H = s.h, W = s.w;
    for (int c = 0; c < s.c; c++) {
        const float *lut = nz->lut[c];
        const uint8_t *sc = src + (size_t)c * H * W;
        float *dc = dst + (size_t)c * H * W;
        for (int y = 0; y < H; y++) {
            int sy = y + p->y0 - pad;
            float *row = dc + (size_t)y * W;
            if (sy < 0 || sy >= H) {
                for (int x = 0; x < W; x++) row[x] = lut[0];
                continue;
            }
            const uint8_t *sr = sc + (size_t)sy * W;
            for (int x = 0; x < W; x++) {
                int ox = p->flip ? W - 1 - x : x;
                int sx = ox + p->x0 - pad;
                row[x] = sx >= 0 && sx < W ? lut[sr[sx]] : lut[0];
            }
        }
    }
}

/* Bilinear resampling of the window (x0, y0, w, h) to the full H x W, pixel centres aligned
 * (align_corners = False), then normalisation (linear, so it commutes with interpolation). */
static void rrc_one(float *dst, const uint8_t *src, xai_shape s, const aug_params *p, const xai_normalizer *nz)
{
    const int H = s.h, W = s.w;
    const float sy_scale = (float)p->h / H, sx_scale = (float)p->w / W;
    for (int c = 0; c < s.c; c++) {
        const uint8_t *sc = src + (size_t)c * H * W;
        float *dc = dst + (size_t)c * H * W;
        const float inv = 1.0f / (255.0f * nz->std[c]), off = nz->mean[c] / nz->std[c];
        for (int y = 0; y < H; y++) {
            float fy = p->y0 + (y + 0.5f) * sy_scale - 0.5f;
            if (fy < p->y0) fy = (float)p->y0;
            if (fy > p->y0 + p->h - 1) fy = (float)(p->y0 + p->h - 1);
            int y0 = (int)fy, y1 = y0 + 1 < H ? y0 + 1 : y0;
            float wy = fy - y0;
            for (int x = 0; x < W; x++) {
                int ox = p->flip ? W - 1 - x : x;
                float fx = p->x0 + (ox + 0.5f) * sx_scale - 0.5f;
                if (fx < p->x0) fx = (float)p->x0;
                if (fx > p->x0 + p->w - 1) fx = (float)(p->x0 + p->w - 1);
                int x0 = (int)fx, x1 = x0 + 1 < W ? x0 + 1 : x0;
                float wx = fx - x0;
                float top = sc[y0 * W + x0] + wx * (sc[y0 * W + x1] - sc[y0 * W + x0]);
                float bot = sc[y1 * W + x0] + wx * (sc[y1 * W + x1] - sc[y1 * W + x0]);
                dc[(size_t)y * W + x] = (top + wy * (bot - top)) * inv - off;
            }
        }
    }
}

void xai_augment_batch(float *out, const uint8_t *const *imgs, int n, xai_shape s, const xai_normalizer *nz,
                       const xai_aug_cfg *a, xai_rng *r)
{
    if (a->type == XAI_AUG_NONE && !a->flip) {
        xai_normalize_batch(out, imgs, n, s, nz);
        return;
    }
    aug_params stack[256], *p = n <= 256 ? stack : xai_malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) draw_params(&p[i], a, s, r);
    const size_t isz = xai_shape_size(s);
    const int pad = a->type == XAI_AUG_CROP ? a->pad : 0;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        if (a->type == XAI_AUG_RRC) rrc_one(out + i * isz, imgs[i], s, &p[i], nz);
        else crop_one(out + i * isz, imgs[i], s, pad, &p[i], nz);
    }
    if (p != stack) free(p);
}
