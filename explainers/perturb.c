/* perturb.c: reference images shared by pixel flipping (removed features) and IG (baselines).
 * One Gaussian blur and one seeded noise generator (a salted stream per use, see perturb.h). */
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One 1-D pass along rows (step 1) or columns (step W) of one channel. */
static void blur_pass(float *dst, const float *src, const float *k, int r, int len, int other, size_t step,
                      size_t ostep)
{
    for (int o = 0; o < other; o++) {
        const float *s = src + o * ostep;
        float *d = dst + o * ostep;
        for (int i = 0; i < len; i++) {
            double acc = 0, wsum = 0;
            for (int t = -r; t <= r; t++) {
                int q = i + t;
                if (q < 0 || q >= len) continue;
                acc += (double)k[t + r] * s[q * step];
                wsum += k[t + r];
            }
            d[i * step] = (float)(acc / wsum);
        }
    }
}

void xai_ref_blur(float *dst, const float *src, xai_shape s, double sigma, float *scratch)
{
    const float sg = (float)sigma;
    int r = (int)ceilf(3 * sg);
    /* Taps beyond the longest side never land in the image. */
    int maxr = (s.h > s.w ? s.h : s.w) - 1;
    if (r > maxr) r = maxr;
    if (r < 0) r = 0;
    float *k = xai_malloc((2 * (size_t)r + 1) * sizeof *k);
    for (int i = -r; i <= r; i++) k[i + r] = expf(-0.5f * (float)(i * i) / (sg * sg));
    const size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        blur_pass(scratch + c * plane, src + c * plane, k, r, s.w, s.h, 1, s.w); /* along x */
        blur_pass(dst + c * plane, scratch + c * plane, k, r, s.h, s.w, s.w, 1); /* along y */
    }
    free(k);
}

void xai_ref_image(float *ref, const float *x, xai_shape s, const xai_ref_opts *o, const float *mean,
                   const float *std, uint64_t image_id, float *scratch)
{
    if (o->kind == XAI_REF_BLUR) {
        xai_ref_blur(ref, x, s, o->sigma, scratch);
        return;
    }
    const size_t plane = (size_t)s.h * s.w, size = xai_shape_size(s);
    for (int c = 0; c < s.c; c++) {
        const float mu = c < 4 ? mean[c] : 0.0f, sd = c < 4 ? std[c] : 1.0f;
        float *b = ref + c * plane;
        switch (o->kind) {
        case XAI_REF_BLACK:
            for (size_t p = 0; p < plane; p++) b[p] = (0.0f - mu) / sd;
            break;
        case XAI_REF_CONST:
            for (size_t p = 0; p < plane; p++) b[p] = ((float)o->value - mu) / sd;
            break;
        case XAI_REF_MEAN: memset(b, 0, plane * sizeof *b); break;
        case XAI_REF_UNIFORM:
            for (size_t p = 0; p < plane; p++)
                b[p] = (xai_hash_uniform(o->seed, image_id * (uint64_t)size + c * plane + p) - mu) / sd;
            break;
        default: XAI_CHECK(0);
        }
    }
}
