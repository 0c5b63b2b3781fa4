/* perturb.h: the one module for reference images: what a removed pixel becomes (pixel flipping) and
 * where an IG path starts (baselines): black, a constant, the mean, seeded uniform noise, or a blur. */
#ifndef XAI_PERTURB_H
#define XAI_PERTURB_H

#include "core/base.h"
#include "core/nn.h"

#include <stdint.h>

/* Same order as explain.h's xai_baseline_kind, so IG's baselines map one to one (checked in ig.c). */
typedef enum { XAI_REF_BLACK, XAI_REF_CONST, XAI_REF_MEAN, XAI_REF_UNIFORM, XAI_REF_BLUR, XAI_REF_KINDS } xai_ref_kind;

typedef struct {
    xai_ref_kind kind;
    double value;  /* XAI_REF_CONST: pixel value (0 is black, 1 white) */
    double sigma;  /* XAI_REF_BLUR: Gaussian sigma in pixels, > 0 */
    uint64_t seed; /* XAI_REF_UNIFORM: noise stream */
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
 * image_id * C*H*W + pixel); blur: x blurred by sigma. scratch: (C, H, W), used by blur only. */
void xai_ref_image(float *ref /* (C, H, W) */, const float *x /* (C, H, W) */, xai_shape s, const xai_ref_opts *o,
                   const float *mean /* (C) */, const float *std /* (C) */, uint64_t image_id,
                   float *scratch /* (C, H, W) */);

#endif
