/* ig_exact.h: exact Integrated Gradients for networks made of piecewise-linear layers, by walking
 * the straight path through the network's linear regions (ig_exact.c explains how). */
#ifndef XAI_IG_EXACT_H
#define XAI_IG_EXACT_H

#include "explainers/explain.h"

typedef struct {
    double tol;          /* crossings closer than this in alpha are merged (<= 0: 1e-9) */
    size_t budget_bytes; /* memory for the two vertex buffers (0: 256 MB); more regions split the walk.
                            Each relu and max pool adds its patterns: at most 1/64 (relu), 1/8 (pool) of it */
    int per_region;      /* 1: each region's gradient by a forward and backward pass of its own (the slower
                            reference); 0: all at once, backward through the walk's segments */
} xai_ig_exact_opts;

/* XAI_EINVAL naming the first layer that is not piecewise linear (or a max pool wider than 8x8). */
xai_status xai_ig_exact_check(const xai_model *m);

/* attr_i = (x_i - xb_i) * integral_0^1 grad f_target(x_i)(xb_i + a (x_i - xb_i)) da, exactly up to
 * float rounding. m runs in eval mode (dropout off, batch norm with running statistics); o may be
 * NULL for the defaults; st (N) may be NULL. */
xai_status xai_ig_exact(xai_model *m, const xai_ig_exact_opts *o, const float *x /* (N, C, H, W) */,
                        const float *xb /* (N, C, H, W) */, const int32_t *target /* (N) */, int n,
                        float *attr /* (N, C, H, W) */, xai_ig_exact_stats *st /* (N) or NULL */);

/* As xai_ig with o->exact: the baselines built from o (ids name the images for the seeded
 * baseline; NULL: 0..n-1), delta[i] = sum(attr_i) - (f(x_i) - f(x'_i)), fbase[i] = f(x'_i);
 * delta, fbase and st may be NULL. */
xai_status xai_ig_exact_run(xai_model *m, const xai_ig_opts *o, const float *x /* (N, C, H, W) */,
                            const int32_t *target /* (N) */, const int64_t *ids /* (N) or NULL */, int n,
                            float *attr /* (N, C, H, W) */, double *delta /* (N) or NULL */,
                            double *fbase /* (N) or NULL */, xai_ig_exact_stats *st /* (N) or NULL */);

#endif
