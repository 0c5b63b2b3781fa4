/* kernels.h: private to core/ (and core's tests): the layers' workspace, batch chunking, the
 * parallel-region threshold, arena sizing and the direct convolution's entry points. */
#ifndef XAI_KERNELS_H
#define XAI_KERNELS_H

#include "core/base.h"
#include "core/nn.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* A layer's workspace: views into its model's work arena, wired by xai_model_create.
 * Shapes are those of the model's max_batch N. */
typedef struct xai_layer_ws {
    float *bn_mean, *bn_istd; /* batchnorm: (C) statistics used by the last forward */
    float *bn_xhat;           /* batchnorm: (N, C, H, W) normalised input kept for backward (train) */
    uint8_t *mask;            /* dropout: keep mask (N, in) */
    int32_t *argmax;          /* maxpool: flat input index of each output (N, out) */
    float *col;               /* conv: per-thread scratch (scratch_threads, scratch_stride): im2col
                                 columns and the output (gradient) of a group of samples */
    size_t scratch_stride;    /* floats per thread, >= xai_conv2d_scratch_floats(l) */
    int scratch_threads;      /* threads the scratch was sized for */
    float *gpart;             /* conv: per-chunk weight-gradient partials (XAI_CHUNKS, gpart floats) */
    float *lpart;             /* linear: the forward pass's input transposed, one K block (XAI_LINEAR_KB,
                                 N rounded up to 16), then its output transposed (out.c, same N); each
                                 thread's columns a block of their own (a width w: (KB, w), (out.c, w)) */
    float *pack;              /* conv: weights packed for the direct kernels and their index tables */
} xai_layer_ws;

/* The batch is cut into at most XAI_CHUNKS pieces that depend only on N, and
 * partial gradients are reduced in chunk order: results do not depend on the
 * thread count. */
#define XAI_CHUNKS 16

/* Batch invariance: a sample's outputs and gradients do not depend on how many samples share its
 * batch nor on its place in it. Every product that mixes samples' rows (linear layers, the im2col
 * convolution) runs through xai_mm, whose every element is one chain of multiply-adds in a fixed
 * order; OpenBLAS (whose kernels sum a row differently by its position in a tile and by the
 * matrix sizes) computes only weight gradients, which are sums over the batch anyway. */
/* C (M, P) = A (M, K) B (K, P), or C + A B with acc: C[m, p] at c[m * ldc + p], A[m, k] at
 * a[m * lda + k * ak], B[k, p] at b[k * ldb + p]. Each element is a chain of multiply-adds over
 * k = 0, 1, ... in one vector lane, started from 0 (acc: from C), fused where the build has FMA:
 * its bits depend on its own row and column only, not on M, P, where it sits, the thread that
 * computes it or (with FMA) the vector width. Single-threaded; callers split rows or columns. */
void xai_mm(float *c, size_t ldc, const float *a, size_t lda, size_t ak, const float *b, size_t ldb, int M, int K,
            int P, int acc);
/* dst (cols, rows) = src (rows, cols) transposed: dst[c * ldd + r] = src[r * lds + c]. */
void xai_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols);
/* Columns are padded to this multiple (the widest vector) where batches meet in one product. */
#define XAI_MM_PAD 16

/* Samples per product in a conv layer (im2col path), and the arena space a conv
 * layer needs: per-thread scratch, shared packed weights, per-chunk partials. */
int xai_conv2d_group(const xai_layer *l);
size_t xai_conv2d_scratch_floats(const xai_layer *l);
size_t xai_conv2d_pack_floats(const xai_layer *l);
size_t xai_conv2d_gpart_floats(const xai_layer *l);
/* Linear layers' weight gradients (sgemm) are cut along the input dimension into this many
 * pieces, each a thread's. The forward pass goes through xai_mm in K blocks of XAI_LINEAR_KB
 * inputs, each transposed into lpart first (xai_linear_work_floats). */
int xai_linear_kchunks(const xai_layer *l);
#define XAI_LINEAR_KB 256
size_t xai_linear_work_floats(const xai_layer *l, int max_batch);

/* xai_model_create with errors naming `where` (a config file, a model file and object)
 * instead of "model"; "where:line" when a spec carries its source line. */
xai_status xai_model_create_at(xai_model **m, const xai_layer_spec *specs, int nspecs, xai_shape in, int nclasses,
                               int max_batch, const char *where);

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
    XAI_CHECK(t < l->ws->scratch_threads);
    return l->ws->col + (size_t)t * l->ws->scratch_stride;
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
