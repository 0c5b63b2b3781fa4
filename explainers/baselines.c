/* baselines.c: the comparison methods: gradient (saliency), gradient x input, SmoothGrad and a
 * seeded random attribution; all batched through the same input-gradient engine as IG. */
#include "explainers/explain.h"
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const float *x;
    size_t isz;
} copy_rows;

static void copy_fill(void *ctx, float *row, int i, int k)
{
    const copy_rows *c = ctx;
    (void)k;
    memcpy(row, c->x + (size_t)i * c->isz, c->isz * sizeof *row);
}

xai_status xai_gradient(xai_model *m, const float *x, const int32_t *target, int n, float *grad)
{
    const size_t isz = xai_shape_size(m->in);
    if (n <= 0) return n < 0 ? xai_fail(XAI_EINVAL, "gradient: image count %d is negative", n) : XAI_OK;
    double *G = xai_malloc((size_t)n * isz * sizeof *G), one = 1;
    copy_rows c = {x, isz};
    xai_status s = xai_grad_accumulate(m, n, 1, &one, target, copy_fill, &c, G, NULL);
    if (s == XAI_OK)
        for (size_t j = 0; j < (size_t)n * isz; j++) grad[j] = (float)G[j];
    free(G);
    return s;
}

xai_status xai_saliency(xai_model *m, const float *x, const int32_t *target, int n, float *attr)
{
    XAI_TRY(xai_gradient(m, x, target, n, attr));
    const size_t tot = (size_t)n * xai_shape_size(m->in);
    for (size_t j = 0; j < tot; j++) attr[j] = fabsf(attr[j]);
    return XAI_OK;
}

xai_status xai_gradient_x_input(xai_model *m, const float *x, const int32_t *target, int n, float *attr)
{
    XAI_TRY(xai_gradient(m, x, target, n, attr));
    const size_t tot = (size_t)n * xai_shape_size(m->in);
    for (size_t j = 0; j < tot; j++) attr[j] *= x[j];
    return XAI_OK;
}

/* ---------------------------------------------------------------- SmoothGrad */

void xai_smoothgrad_defaults(xai_smoothgrad_opts *o)
{
    o->samples = 50;
    o->noise = 0.15;
    o->seed = 1;
}

typedef struct {
    const float *x;
    const float *sigma; /* (N) */
    const int64_t *ids;
    size_t isz;
    int samples;
    uint64_t seed;
} noise_rows;

/* A standard normal from two counter-hash uniforms (Box-Muller): the same value for the same
 * (seed, image, sample, pixel) whichever thread or batch asks. */
static inline float hash_normal(uint64_t seed, uint64_t counter)
{
    double u1 = xai_hash_uniform(seed, 2 * counter), u2 = xai_hash_uniform(seed, 2 * counter + 1);
    return (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(2 * M_PI * u2));
}

static void noise_fill(void *ctx, float *row, int i, int k)
{
    const noise_rows *c = ctx;
    const float *x = c->x + (size_t)i * c->isz;
    const uint64_t id = c->ids ? (uint64_t)c->ids[i] : (uint64_t)i;
    const uint64_t base = (id * (uint64_t)c->samples + (uint64_t)k) * c->isz;
    const float sd = c->sigma[i];
    for (size_t j = 0; j < c->isz; j++) row[j] = x[j] + (sd > 0 ? sd * hash_normal(c->seed, base + j) : 0.0f);
}

xai_status xai_smoothgrad(xai_model *m, const xai_smoothgrad_opts *o, const float *x, const int32_t *target,
                          const int64_t *ids, int n, float *attr)
{
    if (o->samples < 1 || o->samples > 1000000)
        return xai_fail(XAI_EINVAL, "SmoothGrad: samples=%d must be in [1, 1000000]", o->samples);
    if (!(o->noise >= 0 && o->noise <= 10))
        return xai_fail(XAI_EINVAL, "SmoothGrad: noise=%g must be in [0, 10] (sigma relative to the input range)",
                        o->noise);
    if (n <= 0) return n < 0 ? xai_fail(XAI_EINVAL, "SmoothGrad: image count %d is negative", n) : XAI_OK;
    const size_t isz = xai_shape_size(m->in);
    float *sigma = xai_malloc((size_t)n * sizeof *sigma);
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * isz;
        float lo = xi[0], hi = xi[0];
        for (size_t j = 1; j < isz; j++) lo = xi[j] < lo ? xi[j] : lo, hi = xi[j] > hi ? xi[j] : hi;
        sigma[i] = (float)(o->noise * (hi - lo));
    }
    double *w = xai_malloc((size_t)o->samples * sizeof *w);
    for (int k = 0; k < o->samples; k++) w[k] = 1.0 / o->samples;
    double *G = xai_malloc((size_t)n * isz * sizeof *G);
    noise_rows c = {x, sigma, ids, isz, o->samples, o->seed};
    xai_status s = xai_grad_accumulate(m, n, o->samples, w, target, noise_fill, &c, G, NULL);
    if (s == XAI_OK)
        for (size_t j = 0; j < (size_t)n * isz; j++) attr[j] = (float)G[j];
    free(G);
    free(w);
    free(sigma);
    return s;
}

/* ------------------------------------------------------------------- random */

void xai_random_attribution(float *attr, size_t size, int n, const int64_t *ids, uint64_t seed)
{
    seed = xai_noise_seed(seed, XAI_NOISE_RANDOM_MAP); /* not the noise removal's or IG's field */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        uint64_t id = ids ? (uint64_t)ids[i] : (uint64_t)i;
        float *a = attr + (size_t)i * size;
        for (size_t j = 0; j < size; j++) a[j] = 2.0f * xai_hash_uniform(seed, id * size + j) - 1.0f;
    }
}
