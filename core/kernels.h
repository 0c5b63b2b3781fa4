/* kernels.h: private helpers shared by the layer kernels (layers.c, conv_direct.c).
 * Batch chunking, the parallel-region threshold and the direct convolution's entry points. */
#ifndef XAI_KERNELS_H
#define XAI_KERNELS_H

#include "core/base.h"
#include "core/nn.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Chunk c of n samples covers [chunk_lo(c), chunk_lo(c + 1)). */
static inline int xai_nchunks(int n) { return n < XAI_CHUNKS ? n : XAI_CHUNKS; }
static inline int xai_chunk_lo(int c, int n, int nch) { return (int)((long)c * n / nch); }

/* Parallel regions cost microseconds, and far more when cores are shared:
 * below this many floats touched a loop runs on the calling thread. */
#define XAI_PAR_MIN 32768

/* This thread's slice of a conv layer's scratch. */
static inline float *xai_conv_thread_scratch(const xai_layer *l)
{
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    XAI_CHECK(t < l->scratch_threads);
    return l->col + (size_t)t * l->scratch_stride;
}

/* Direct convolution (conv_direct.c): stride 1 and planes of at least one pixel
 * tile. The sizes are what the model's arenas must hold for it. */
int xai_conv_direct_ok(const xai_layer *l);
size_t xai_conv_direct_scratch_floats(const xai_layer *l); /* per thread */
size_t xai_conv_direct_pack_floats(const xai_layer *l);    /* shared: packed weights, index tables */
size_t xai_conv_direct_gpart_floats(const xai_layer *l);   /* per chunk */
/* z, relu_out, pool_out: each NULL when not wanted; pool_out with argmax is a
 * 2x2 stride-2 max pool of relu(z), as xai_maxpool2d_forward computes it. */
void xai_conv_direct_forward(float *z /* (N, Co, Ho, Wo) */, float *relu_out /* (N, Co, Ho, Wo) */,
                             float *pool_out /* (N, Co, Ho/2, Wo/2) */, int32_t *argmax /* (N, Co, Ho/2, Wo/2) */,
                             const float *in /* (N, Ci, H, W) */, const xai_layer *l, int n);
/* The output gradient is dout, masked by z > 0 when z is given; or, when dpool
 * is given, the gradient of that pool (pooled, argmax from the forward pass)
 * through the relu. */
void xai_conv_direct_backward(float *din /* (N, Ci, H, W) or NULL */, const float *dout /* (N, Co, Ho, Wo) */,
                              const float *z /* (N, Co, Ho, Wo) or NULL */,
                              const float *dpool /* (N, Co, Ho/2, Wo/2) or NULL */, const float *pooled,
                              const int32_t *argmax, const float *in /* (N, Ci, H, W) */, const xai_layer *l, int n,
                              int overwrite);

#endif
