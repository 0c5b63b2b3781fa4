/* perturb.h: the one module for reference images: what a removed pixel becomes (pixel flipping) and
 * where an IG path starts (baselines): black, a constant, the mean, seeded uniform noise, or a blur. */
#ifndef XAI_PERTURB_H
#define XAI_PERTURB_H

#include "core/base.h"
#include "core/nn.h"

#include <math.h>
#include <stdint.h>

/* Same order as explain.h's xai_baseline_kind, so IG's baselines map one to one (checked in ig.c). */
typedef enum { XAI_REF_BLACK, XAI_REF_CONST, XAI_REF_MEAN, XAI_REF_UNIFORM, XAI_REF_BLUR, XAI_REF_KINDS } xai_ref_kind;

/* Every seeded uniform field of the explainers draws xai_hash_uniform(xai_noise_seed(seed, use),
 * image_id * C*H*W + pixel). Without a per-use salt the random method's map, IG's uniform baseline
 * and the noise removal reference would be one and the same field for equal seeds (1 by default):
 * the random control would then be "brightest replacement first" under --perturb noise, and IG with
 * a uniform baseline would be scored against its own baseline. The removal reference keeps the
 * unsalted seed (its numbers are those of earlier runs); the other uses mix their salt in through
 * one splitmix64 step, so their streams are unrelated to it and to each other. */
typedef enum {
    XAI_NOISE_REMOVAL = 0,
    XAI_NOISE_IG_BASELINE = 1,
    XAI_NOISE_RANDOM_MAP = 2,
    /* The metrics of explainers/faith.h, one stream each. */
    XAI_NOISE_ROAD = 3,       /* ROAD's imputation noise */
    XAI_NOISE_FAITHCORR = 4,  /* faithfulness correlation's subsets */
    XAI_NOISE_SENSN = 5,      /* sensitivity-n's subsets */
    XAI_NOISE_INFIDELITY = 6, /* infidelity's Gaussian perturbations */
    XAI_NOISE_MAXSENS = 7,    /* max-sensitivity's input perturbations */
    XAI_NOISE_RANDLOGIT = 8,  /* the random-logit test's other class */
} xai_noise_use;

static inline uint64_t xai_noise_seed(uint64_t seed, xai_noise_use use)
{
    if (use == XAI_NOISE_REMOVAL) return seed;
    uint64_t z = seed ^ ((uint64_t)use * 0xA0761D6478BD642Full);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A standard normal number from two counter-hash uniforms (Box-Muller), same answer on any thread:
 * draw k of a stream uses counters 2k and 2k + 1. */
static inline float xai_hash_normal(uint64_t seed, uint64_t k)
{
    const double u1 = xai_hash_uniform(seed, 2 * k), u2 = xai_hash_uniform(seed, 2 * k + 1);
    return (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
}

/* A per-image generator of one use's stream (shuffles, subsets, classes). */
static inline void xai_noise_rng(xai_rng *r, uint64_t seed, xai_noise_use use, uint64_t image_id, uint64_t tag)
{
    xai_rng_seed(r, xai_noise_seed(seed, use) ^ (0x9E3779B97F4A7C15ull * (image_id + 1)) ^
                        (0xC2B2AE3D27D4EB4Full * (tag + 1)));
}

typedef struct {
    xai_ref_kind kind;
    double value;  /* XAI_REF_CONST: pixel value (0 is black, 1 white) */
    double sigma;  /* XAI_REF_BLUR: Gaussian sigma in pixels, > 0 */
    uint64_t seed; /* XAI_REF_UNIFORM: noise stream, already salted by the caller (xai_noise_seed) */
} xai_ref_opts;

/* Separable Gaussian blur per channel with radius ceil(3 sigma); taps that fall outside the image
 * are dropped and the remaining weights renormalised, so a constant image stays constant and the
 * border is neither darkened nor mirrored. The kernel is computed in float (as pixel flipping
 * always did), sums in double. scratch: (C, H, W). */
void xai_ref_blur(float *dst /* (C, H, W) */, const float *src /* (C, H, W) */, xai_shape s, double sigma,
                  float *scratch /* (C, H, W) */);

/* The reference image of x in the network's input space (pixels normalised as (p - mean) / std;
 * channels beyond 4 are taken as unnormalised): black: pixel 0; const: pixel `value`; mean: the
 * dataset mean, i.e. 0; uniform: pixels uniform in [0, 1) from a counter hash of (seed,
 * image_id * C*H*W + pixel), the seed as given (pixel flipping passes its own, IG a salted one);
 * blur: x blurred by sigma. scratch: (C, H, W), used by blur only. */
void xai_ref_image(float *ref /* (C, H, W) */, const float *x /* (C, H, W) */, xai_shape s, const xai_ref_opts *o,
                   const float *mean /* (C) */, const float *std /* (C) */, uint64_t image_id,
                   float *scratch /* (C, H, W) */);

#endif
