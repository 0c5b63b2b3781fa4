/* layers.c: forward and backward kernels of every layer, float32 NCHW. Products that mix a batch's
 * samples run through xai_mm (batch-invariant rows); batches are cut into chunks fixed by N alone. */
#include "core/kernels.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ conv2d */

/* Convolution as a product over a group of S samples at once: im2col writes the S
 * column matrices side by side, (K, S*HWo), so one product sees wide rows (and,
 * for the weight gradient's sgemm, a long K) instead of S small ones; layers with
 * large columns use S = 1. The outputs and input gradients come from xai_mm, whose
 * every element is summed alone, so S and a sample's place in its group change no
 * bit; the weight gradient sums over samples anyway. */
int xai_conv2d_group(const xai_layer *l)
{
    /* Keep the group's columns within about 1 MB: cache-resident between im2col
     * and the GEMM's packing, which otherwise both stream from memory. */
    size_t per = (size_t)l->in.c * l->k * l->k * l->out.h * l->out.w;
    size_t g = ((size_t)1 << 18) / (per ? per : 1);
    return g < 1 ? 1 : g > 8 ? 8 : (int)g;
}

/* Columns of a group's (K, ld) matrices: a whole number of the widest vectors, so that every
 * sample's pixels fill vector lanes however many samples share the product. */
static size_t group_ld(int S, int HWo) { return ((size_t)S * HWo + XAI_MM_PAD - 1) / XAI_MM_PAD * XAI_MM_PAD; }

/* Sized for both implementations: which one runs can change at run time. */
size_t xai_conv2d_scratch_floats(const xai_layer *l)
{
    size_t hw = group_ld(xai_conv2d_group(l), l->out.h * l->out.w);
    size_t a = hw * ((size_t)l->in.c * l->k * l->k + l->out.c), b = xai_conv_direct_scratch_floats(l);
    return a > b ? a : b;
}

size_t xai_conv2d_pack_floats(const xai_layer *l) { return xai_conv_direct_pack_floats(l); }

size_t xai_conv2d_gpart_floats(const xai_layer *l)
{
    size_t a = l->nw + l->nb, b = xai_conv_direct_gpart_floats(l);
    return a > b ? a : b;
}

/* col (K, ld) gets sample x's columns at column offset 0; the caller offsets col. */
static void im2col(float *col /* (Ci*k*k, ld) */, size_t ld, const float *x /* (Ci, H, W) */, const xai_layer *l)
{
    const int C = l->in.c, H = l->in.h, W = l->in.w, k = l->k, s = l->stride, p = l->pad;
    const int Ho = l->out.h, Wo = l->out.w;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + ((size_t)(c * k + ky) * k + kx) * ld;
                /* Stride 1: each output row is a contiguous run of an input row with
                 * zero borders, the same columns for every oy. Rows are short (tens
                 * of floats): restrict-qualified inline loops beat memcpy calls. */
                const int ox0 = p - kx > 0 ? p - kx : 0, ox1 = W + p - kx < Wo ? W + p - kx : Wo;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - p + ky;
                    float *restrict r = row + oy * Wo;
                    if (iy < 0 || iy >= H) {
                        for (int ox = 0; ox < Wo; ox++) r[ox] = 0;
                        continue;
                    }
                    const float *xr = x + ((size_t)c * H + iy) * W;
                    if (s == 1) {
                        const float *restrict xs = xr - p + kx;
                        for (int ox = 0; ox < ox0; ox++) r[ox] = 0;
                        for (int ox = ox0; ox < ox1; ox++) r[ox] = xs[ox];
                        for (int ox = ox1 > ox0 ? ox1 : ox0; ox < Wo; ox++) r[ox] = 0;
                    } else {
                        for (int ox = 0; ox < Wo; ox++) {
                            int ix = ox * s - p + kx;
                            r[ox] = ix >= 0 && ix < W ? xr[ix] : 0.0f;
                        }
                    }
                }
            }
}

static void col2im_add(float *x /* (Ci, H, W) */, const float *col /* (Ci*k*k, ld) */, size_t ld, const xai_layer *l)
{
    const int C = l->in.c, H = l->in.h, W = l->in.w, k = l->k, s = l->stride, p = l->pad;
    const int Ho = l->out.h, Wo = l->out.w;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + ((size_t)(c * k + ky) * k + kx) * ld;
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H) continue;
                    float *xr = x + ((size_t)c * H + iy) * W;
                    const float *r = row + oy * Wo;
                    if (s == 1) {
                        int ox0 = p - kx > 0 ? p - kx : 0, ox1 = W + p - kx < Wo ? W + p - kx : Wo;
                        float *xo = xr - p + kx;
                        for (int ox = ox0; ox < ox1; ox++) xo[ox] += r[ox];
                        continue;
                    }
                    for (int ox = 0; ox < Wo; ox++) {
                        int ix = ox * s - p + kx;
                        if (ix >= 0 && ix < W) xr[ix] += r[ox];
                    }
                }
            }
}

/* Zeroes columns [used, ld) of the rows of m (rows, ld): the padding lanes compute zeros. */
static void pad_columns(float *m, size_t ld, size_t used, int rows)
{
    if (used < ld)
        for (int r = 0; r < rows; r++) memset(m + (size_t)r * ld + used, 0, (ld - used) * sizeof *m);
}

/* relu_out, when given, gets relu(out) in the same sweep that adds the bias. */
static void conv_forward(float *out /* (N, Co, Ho, Wo) */, float *relu_out /* (N, Co, Ho, Wo) or NULL */,
                         const float *in /* (N, Ci, H, W) */, const xai_layer *l, int n)
{
    if (xai_conv_direct_ok(l)) {
        xai_conv_direct_forward(out, relu_out, NULL, NULL, in, l, n);
        return;
    }
    const int Co = l->out.c, HWo = l->out.h * l->out.w, K = l->in.c * l->k * l->k, G = xai_conv2d_group(l);
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
    const int nch = xai_nchunks(n);
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int c = 0; c < nch; c++) {
        float *col = xai_conv_thread_scratch(l), *y = col + (size_t)K * group_ld(G, HWo); /* (K, ld), (Co, ld) */
        const int hi = xai_chunk_lo(c + 1, n, nch);
        for (int i0 = xai_chunk_lo(c, n, nch); i0 < hi; i0 += G) {
            const int S = hi - i0 < G ? hi - i0 : G;
            const size_t ld = group_ld(S, HWo);
            for (int s = 0; s < S; s++) im2col(col + (size_t)s * HWo, ld, in + (i0 + s) * isz, l);
            pad_columns(col, ld, (size_t)S * HWo, K);
            xai_mm(y, ld, l->w, K, 1, col, ld, Co, K, (int)ld, 0);
            for (int s = 0; s < S; s++)
                for (int o = 0; o < Co; o++) {
                    const float *ys = y + o * ld + (size_t)s * HWo;
                    float *zo = out ? out + (i0 + s) * osz + (size_t)o * HWo : NULL;
                    const float b = l->bias ? l->b[o] : 0.0f;
                    if (relu_out) {
                        float *ro = relu_out + (i0 + s) * osz + (size_t)o * HWo;
                        for (int j = 0; zo && j < HWo; j++) zo[j] = ys[j] + b;
                        for (int j = 0; j < HWo; j++) {
                            float v = ys[j] + b;
                            ro[j] = v > 0 ? v : 0.0f;
                        }
                    } else
                        for (int j = 0; j < HWo; j++) zo[j] = ys[j] + b;
                }
        }
    }
}

void xai_conv2d_forward(float *out, const float *in, const xai_layer *l, int n) { conv_forward(out, NULL, in, l, n); }

void xai_conv2d_relu_forward(float *z, float *relu_out, const float *in, const xai_layer *l, int n)
{
    conv_forward(z, relu_out, in, l, n);
}

/* z, when given, is the conv output feeding a relu and dout the relu output's
 * gradient: the mask is applied while gathering the group's (Co, S*HWo) gradient. */
void xai_conv2d_backward_ex(float *din /* (N, Ci, H, W) */, const float *dout /* (N, Co, Ho, Wo) */,
                            const float *z /* (N, Co, Ho, Wo) or NULL */, const float *in /* (N, Ci, H, W) */,
                            const xai_layer *l, int n, int overwrite)
{
    const int Co = l->out.c, HWo = l->out.h * l->out.w, K = l->in.c * l->k * l->k, G = xai_conv2d_group(l);
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
    const size_t np = l->nw + l->nb;
    const int want_w = l->gw != NULL, nch = xai_nchunks(n);
    if (!want_w && !din) return;
    if (xai_conv_direct_ok(l)) {
        xai_conv_direct_backward(din, dout, z, NULL, NULL, NULL, in, l, n, overwrite);
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int c = 0; c < nch; c++) {
        float *col = xai_conv_thread_scratch(l), *dy = col + (size_t)K * group_ld(G, HWo); /* (K, ld), (Co, ld) */
        float *gp = l->ws->gpart + (size_t)c * np;
        int first = 1;
        const int hi = xai_chunk_lo(c + 1, n, nch);
        for (int i0 = xai_chunk_lo(c, n, nch); i0 < hi; i0 += G) {
            const int S = hi - i0 < G ? hi - i0 : G;
            const size_t ld = group_ld(S, HWo), used = (size_t)S * HWo;
            pad_columns(dy, ld, used, Co);
            for (int s = 0; s < S; s++)
                for (int o = 0; o < Co; o++) {
                    const float *d = dout + (i0 + s) * osz + (size_t)o * HWo;
                    float *g = dy + o * ld + (size_t)s * HWo;
                    if (z) {
                        const float *zo = z + (i0 + s) * osz + (size_t)o * HWo;
                        for (int j = 0; j < HWo; j++) {
                            float v = d[j]; /* unconditional load: the loop becomes a vector blend */
                            g[j] = zo[j] > 0 ? v : 0.0f;
                        }
                    } else
                        for (int j = 0; j < HWo; j++) g[j] = d[j];
                }
            if (want_w) {
                for (int s = 0; s < S; s++) im2col(col + (size_t)s * HWo, ld, in + (i0 + s) * isz, l);
                /* dW (Co, K) += dY (Co, S*HWo) * col^T (S*HWo, K): a sum over the batch, so sgemm's
                 * order matters to no sample's values (and chunks fix it for any thread count) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Co, K, (int)used, 1.0f, dy, (int)ld, col,
                            (int)ld, first ? 0.0f : 1.0f, gp, K);
                if (l->bias)
                    for (int o = 0; o < Co; o++) {
                        float acc = 0;
                        const float *g = dy + o * ld;
                        /* The vector order of this sum is fixed at compile time: still deterministic. */
#pragma omp simd reduction(+ : acc)
                        for (size_t j = 0; j < used; j++) acc += g[j];
                        gp[l->nw + o] = first ? acc : gp[l->nw + o] + acc;
                    }
                first = 0;
            }
            if (din) {
                /* dcol (K, S*HWo) = W^T (K, Co) * dY (Co, S*HWo), then scatter-add per sample. */
                xai_mm(col, ld, l->w, 1, K, dy, ld, K, Co, (int)ld, 0);
                for (int s = 0; s < S; s++) {
                    /* Zeroing here, sample by sample, touches memory that col2im is about
                     * to use anyway, instead of a separate pass over the whole batch. */
                    if (overwrite) memset(din + (i0 + s) * isz, 0, isz * sizeof *din);
                    col2im_add(din + (i0 + s) * isz, col + (size_t)s * HWo, ld, l);
                }
            }
        }
    }
    if (!want_w) return;
    /* Reduce chunk partials in chunk order: the same sums whatever the thread count. */
#pragma omp parallel for schedule(static) if (np * nch > XAI_PAR_MIN)
    for (size_t j = 0; j < np; j++) {
        float acc = 0;
        for (int c = 0; c < nch; c++) acc += l->ws->gpart[(size_t)c * np + j];
        if (j < l->nw) l->gw[j] += acc;
        else l->gb[j - l->nw] += acc;
    }
}

void xai_conv2d_backward(float *din, const float *dout, const float *in, const xai_layer *l, int n)
{
    xai_conv2d_backward_ex(din, dout, NULL, in, l, n, 0);
}

void xai_conv2d_relu_backward(float *din, const float *drelu, const float *z, const float *in, const xai_layer *l,
                              int n)
{
    xai_conv2d_backward_ex(din, drelu, z, in, l, n, 0);
}

int xai_conv2d_direct(const xai_layer *conv) { return conv->type == XAI_CONV2D && xai_conv_direct_ok(conv); }

int xai_conv2d_relu_pool_ok(const xai_layer *conv, const xai_layer *pool)
{
    return conv->type == XAI_CONV2D && pool->type == XAI_MAXPOOL2D && pool->k == 2 && pool->stride == 2 &&
           pool->pad == 0 && pool->out.h == conv->out.h / 2 && pool->out.w == conv->out.w / 2 &&
           xai_conv_direct_ok(conv);
}

void xai_conv2d_relu_pool_forward(float *z, float *relu_out, float *pool_out, const float *in, const xai_layer *conv,
                                  const xai_layer *pool, int n)
{
    XAI_CHECK(xai_conv2d_relu_pool_ok(conv, pool));
    xai_conv_direct_forward(z, relu_out, pool_out, pool->ws->argmax, in, conv, n);
}

void xai_conv2d_relu_pool_backward(float *din, const float *dpool, const float *pooled, const float *in,
                                   const xai_layer *conv, const xai_layer *pool, int n, int overwrite)
{
    XAI_CHECK(xai_conv2d_relu_pool_ok(conv, pool));
    xai_conv_direct_backward(din, NULL, NULL, dpool, pooled, pool->ws->argmax, in, conv, n, overwrite);
}

/* -------------------------------------------------------------------- relu */

void xai_relu_forward(float *out, const float *in, const xai_layer *l, int n)
{
    const size_t tot = (size_t)n * xai_shape_size(l->in);
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
    for (size_t i = 0; i < tot; i++) out[i] = in[i] > 0 ? in[i] : 0.0f;
}

void xai_relu_backward(float *din, const float *dout, const float *in, const xai_layer *l, int n)
{
    const size_t tot = (size_t)n * xai_shape_size(l->in);
    /* Adding -0 where the unit is off leaves every value's bits as they are (+0 too), and
     * makes a select that vectorises; a branch or a conditional store would not. The -0 is
     * read through a volatile so that the compiler cannot fold the add back into a branch. */
    static volatile float negzero = -0.0f;
    const float off = negzero;
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
    for (size_t i = 0; i < tot; i++) {
        const float d = dout[i];
        din[i] += in[i] > 0 ? d : off;
    }
}

/* ------------------------------------------------------------------- pools */

void xai_maxpool2d_forward(float *out, const float *in, const xai_layer *l, int n)
{
    const int C = l->in.c, H = l->in.h, W = l->in.w, Ho = l->out.h, Wo = l->out.w;
    const int k = l->k, s = l->stride, p = l->pad;
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
    if (k == 2 && s == 2 && p == 0) {
        /* The common 2x2 pool, without bounds checks. Ties go to the first, as below. */
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
        for (int i = 0; i < n; i++)
            for (int c = 0; c < C; c++)
                for (int oy = 0; oy < Ho; oy++) {
                    const int base = (c * H + 2 * oy) * W;
                    const float *r0 = in + i * isz + base, *r1 = r0 + W;
                    float *o = out + i * osz + (c * Ho + oy) * Wo;
                    int32_t *am = l->ws->argmax + i * osz + (c * Ho + oy) * Wo;
                    for (int ox = 0; ox < Wo; ox++) {
                        int j = 2 * ox, bj = j;
                        float b = r0[j];
                        if (r0[j + 1] > b || r0[j + 1] != r0[j + 1]) b = r0[j + 1], bj = j + 1;
                        if (r1[j] > b || r1[j] != r1[j]) b = r1[j], bj = W + j;
                        if (r1[j + 1] > b || r1[j + 1] != r1[j + 1]) b = r1[j + 1], bj = W + j + 1;
                        o[ox] = b;
                        am[ox] = base + bj;
                    }
                }
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    float best = -FLT_MAX;
                    int bi = -1;
                    for (int ky = 0; ky < k; ky++) {
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= H) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int ix = ox * s - p + kx;
                            if (ix < 0 || ix >= W) continue;
                            int idx = (c * H + iy) * W + ix;
                            float v = in[i * isz + idx];
                            /* First maximum wins ties, as in PyTorch. NaN propagates. */
                            if (v > best || bi < 0 || v != v) {
                                best = v;
                                bi = idx;
                            }
                        }
                    }
                    size_t o = i * osz + (c * Ho + oy) * Wo + ox;
                    out[o] = best;
                    l->ws->argmax[o] = bi;
                }
}

void xai_maxpool2d_backward(float *din, const float *dout, const xai_layer *l, int n)
{
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
    for (int i = 0; i < n; i++)
        for (size_t o = 0; o < osz; o++) din[i * isz + l->ws->argmax[i * osz + o]] += dout[i * osz + o];
}

/* Average pooling counts padded zeros in the divisor (PyTorch's default). The
 * global average pool is the same kernel with k = H = W handled by the caller. */
void xai_avgpool2d_forward(float *out, const float *in, const xai_layer *l, int n)
{
    const int C = l->in.c, H = l->in.h, W = l->in.w, Ho = l->out.h, Wo = l->out.w;
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
    if (l->type == XAI_GAP) {
        const float inv = 1.0f / (H * W);
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
        for (int i = 0; i < n; i++)
            for (int c = 0; c < C; c++) {
                float s = 0;
                const float *x = in + i * isz + (size_t)c * H * W;
                for (int j = 0; j < H * W; j++) s += x[j];
                out[i * osz + c] = s * inv;
            }
        return;
    }
    const int k = l->k, s = l->stride, p = l->pad;
    const float inv = 1.0f / (k * k);
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    float sum = 0;
                    for (int ky = 0; ky < k; ky++) {
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= H) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int ix = ox * s - p + kx;
                            if (ix >= 0 && ix < W) sum += in[i * isz + (c * H + iy) * W + ix];
                        }
                    }
                    out[i * osz + (c * Ho + oy) * Wo + ox] = sum * inv;
                }
}

void xai_avgpool2d_backward(float *din, const float *dout, const xai_layer *l, int n)
{
    const int C = l->in.c, H = l->in.h, W = l->in.w, Ho = l->out.h, Wo = l->out.w;
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out);
    if (l->type == XAI_GAP) {
        const float inv = 1.0f / (H * W);
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
        for (int i = 0; i < n; i++)
            for (int c = 0; c < C; c++) {
                float g = dout[i * osz + c] * inv;
                float *x = din + i * isz + (size_t)c * H * W;
                for (int j = 0; j < H * W; j++) x[j] += g;
            }
        return;
    }
    const int k = l->k, s = l->stride, p = l->pad;
    const float inv = 1.0f / (k * k);
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    float g = dout[i * osz + (c * Ho + oy) * Wo + ox] * inv;
                    for (int ky = 0; ky < k; ky++) {
                        int iy = oy * s - p + ky;
                        if (iy < 0 || iy >= H) continue;
                        for (int kx = 0; kx < k; kx++) {
                            int ix = ox * s - p + kx;
                            if (ix >= 0 && ix < W) din[i * isz + (c * H + iy) * W + ix] += g;
                        }
                    }
                }
}

/* ------------------------------------------------------------------ linear */

/* The weight gradient is cut along the long input dimension, never along the
 * batch: a batch split would have every piece pack all of W for sgemm, which on
 * a 9216x128 layer costs as much as the products. The cuts depend only on the
 * layer, so results do not depend on the thread count. */
int xai_linear_kchunks(const xai_layer *l)
{
    int k = l->in.c / 512;
    return k < 1 ? 1 : k > XAI_CHUNKS ? XAI_CHUNKS : k;
}

static int pad16(int n) { return (n + XAI_MM_PAD - 1) / XAI_MM_PAD * XAI_MM_PAD; }

size_t xai_linear_work_floats(const xai_layer *l, int max_batch)
{
    return (size_t)pad16(max_batch) * (XAI_LINEAR_KB + (size_t)l->out.c);
}

/* The forward pass as out^T (O, N) = W (O, I) X^T (I, N): the batch runs along vector lanes, each
 * sample in its own (N rounded up to whole vectors, the padding zero), and W is read in place,
 * row by row. X^T is built one block of XAI_LINEAR_KB inputs at a time (a cache-sized slice of
 * the batch's inputs, transposed in registers); threads take whole vectors of samples, each its
 * own columns of the blocks.
 * A sample's logit is the chain over i = 0..I-1 of xai_mm, plus the bias: the same bits in a
 * batch of 1 or 256, at any place, on any thread. */
void xai_linear_forward(float *out /* (N, O) */, const float *in /* (N, I) */, const xai_layer *l, int n)
{
    const int NI = l->in.c, NO = l->out.c, np = pad16(n);
    float *xt = l->ws->lpart, *ct = xt + (size_t)XAI_LINEAR_KB * np; /* (KB, np), (NO, np) */
    const int groups = np / XAI_MM_PAD;
#pragma omp parallel if ((size_t)n * NI * NO > 8 * XAI_PAR_MIN && groups > 1)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(), nt = omp_get_num_threads();
#endif
        const int c0 = XAI_MM_PAD * (int)((long)groups * t / nt), c1 = XAI_MM_PAD * (int)((long)groups * (t + 1) / nt);
        const int r1 = c1 < n ? c1 : n, w = c1 - c0;
        /* the thread's own blocks, apart from the other threads': interleaved rows of X^T shared
         * cache lines (and the adjacent lines the L2 prefetcher pairs) and halved the throughput */
        float *xw = xt + (size_t)XAI_LINEAR_KB * c0, *cw = ct + (size_t)NO * c0; /* (KB, w), (NO, w) */
        for (int k0 = 0; w > 0 && k0 < NI; k0 += XAI_LINEAR_KB) {
            const int kn = NI - k0 < XAI_LINEAR_KB ? NI - k0 : XAI_LINEAR_KB;
            xai_transpose(xw, w, in + (size_t)c0 * NI + k0, NI, r1 - c0, kn); /* r1 > c0: c0 < n */
            if (r1 < c1) /* the padding samples: zero, so the products' lanes stay finite */
                for (int k = 0; k < kn; k++) memset(xw + (size_t)k * w + (r1 - c0), 0, (size_t)(c1 - r1) * sizeof *xw);
            xai_mm(cw, w, l->w + k0, NI, 1, xw, w, NO, kn, w, k0 > 0);
        }
        for (int r = c0; r < r1; r++)
            for (int o = 0; o < NO; o++) out[(size_t)r * NO + o] = cw[(size_t)o * w + r - c0] + (l->bias ? l->b[o] : 0.0f);
    }
}

void xai_linear_backward(float *din /* (N, I) */, const float *dout /* (N, O) */, const float *in /* (N, I) */,
                         const xai_layer *l, int n)
{
    const int NI = l->in.c, NO = l->out.c, nk = xai_linear_kchunks(l);
    if (l->bias && l->gb)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < NO; o++) l->gb[o] += dout[(size_t)i * NO + o];
    /* Column block c of dW (O, I) += dY^T (O, N) X[:, c]: sums over the batch. */
    if (l->gw) {
#pragma omp parallel for schedule(static) if ((size_t)n * NI * NO > 8 * XAI_PAR_MIN)
        for (int c = 0; c < nk; c++) {
            const int lo = xai_chunk_lo(c, NI, nk), m = xai_chunk_lo(c + 1, NI, nk) - lo;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, m, n, 1.0f, dout, NO, in + lo, NI, 1.0f,
                        l->gw + lo, NI);
        }
    }
    if (!din) return;
    /* dX (N, I) += dY (N, O) W (O, I), through xai_mm: each sample's row a chain over the outputs
     * on its own, whatever the batch. Threads take column blocks of whole vectors. */
    const int groups = pad16(NI) / XAI_MM_PAD;
#pragma omp parallel if ((size_t)n * NI * NO > 8 * XAI_PAR_MIN && groups > 1)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(), nt = omp_get_num_threads();
#endif
        int c0 = XAI_MM_PAD * (int)((long)groups * t / nt), c1 = XAI_MM_PAD * (int)((long)groups * (t + 1) / nt);
        c1 = c1 < NI ? c1 : NI;
        if (c0 < c1) xai_mm(din + c0, NI, dout, NO, 1, l->w + c0, NI, n, NO, c1 - c0, 1);
    }
}

/* --------------------------------------------------------------- batchnorm */

/* Batch statistics in double, BN_G channels side by side: each channel's sums keep their order
 * (images, then pixels), so the bits do not depend on the grouping or the threads, while the G
 * independent chains hide the latency of the double adds that one chain waits on. */
#define BN_G 8

/* s[k] = sum of x, channel c0 + k (k < g), over the batch. */
static void bn_sum(double *s, const float *in, size_t isz, int HW, int n, int c0, int g)
{
    double a[BN_G] = {0};
    for (int i = 0; i < n; i++) {
        const float *x = in + i * isz + (size_t)c0 * HW;
        if (g == BN_G)
            for (int j = 0; j < HW; j++)
                for (int k = 0; k < BN_G; k++) a[k] += x[(size_t)k * HW + j];
        else
            for (int k = 0; k < g; k++)
                for (int j = 0; j < HW; j++) a[k] += x[(size_t)k * HW + j];
    }
    for (int k = 0; k < g; k++) s[k] = a[k];
}

/* s[k] = sum of (x - mu[k])^2, channel c0 + k, over the batch. */
static void bn_sumsq(double *s, const double *mu, const float *in, size_t isz, int HW, int n, int c0, int g)
{
    double a[BN_G] = {0};
    for (int i = 0; i < n; i++) {
        const float *x = in + i * isz + (size_t)c0 * HW;
        if (g == BN_G)
            for (int j = 0; j < HW; j++)
                for (int k = 0; k < BN_G; k++) a[k] += (x[(size_t)k * HW + j] - mu[k]) * (x[(size_t)k * HW + j] - mu[k]);
        else
            for (int k = 0; k < g; k++)
                for (int j = 0; j < HW; j++) a[k] += (x[(size_t)k * HW + j] - mu[k]) * (x[(size_t)k * HW + j] - mu[k]);
    }
    for (int k = 0; k < g; k++) s[k] = a[k];
}

/* sdy[k] = sum of dy and sdyx[k] = sum of dy * xhat, channel c0 + k, over the batch. */
static void bn_dsum(double *sdy, double *sdyx, const float *dout, const float *xhat, size_t isz, int HW, int n,
                    int c0, int g)
{
    double a[BN_G] = {0}, b[BN_G] = {0};
    for (int i = 0; i < n; i++) {
        const size_t o = i * isz + (size_t)c0 * HW;
        const float *dy = dout + o, *xh = xhat + o;
        if (g == BN_G)
            for (int j = 0; j < HW; j++)
                for (int k = 0; k < BN_G; k++) {
                    a[k] += dy[(size_t)k * HW + j];
                    b[k] += (double)dy[(size_t)k * HW + j] * xh[(size_t)k * HW + j];
                }
        else
            for (int k = 0; k < g; k++)
                for (int j = 0; j < HW; j++) {
                    a[k] += dy[(size_t)k * HW + j];
                    b[k] += (double)dy[(size_t)k * HW + j] * xh[(size_t)k * HW + j];
                }
    }
    for (int k = 0; k < g; k++) sdy[k] = a[k], sdyx[k] = b[k];
}

/* Batch mean and inverse std of channels [c0, c0 + g); updates the running statistics. */
static void bn_batch_stats(const float *in, const xai_layer *l, int n, int c0, int g)
{
    const int HW = l->in.h * l->in.w;
    const size_t isz = xai_shape_size(l->in);
    const double M = (double)n * HW;
    double s[BN_G], mu[BN_G], ss[BN_G];
    bn_sum(s, in, isz, HW, n, c0, g);
    for (int k = 0; k < g; k++) mu[k] = s[k] / M;
    bn_sumsq(ss, mu, in, isz, HW, n, c0, g);
    for (int k = 0; k < g; k++) {
        const int c = c0 + k;
        const double var = ss[k] / M;
        l->ws->bn_mean[c] = (float)mu[k];
        l->ws->bn_istd[c] = (float)(1.0 / sqrt(var + l->eps));
        l->rmean[c] = (1 - l->momentum) * l->rmean[c] + l->momentum * (float)mu[k];
        l->rvar[c] = (1 - l->momentum) * l->rvar[c] + l->momentum * (float)(M > 1 ? ss[k] / (M - 1) : var);
    }
}

void xai_batchnorm2d_forward(float *out, const float *in, const xai_layer *l, int n, int train)
{
    const int C = l->in.c, HW = l->in.h * l->in.w, groups = (C + BN_G - 1) / BN_G;
    const size_t isz = xai_shape_size(l->in);
    const int par = (size_t)n * isz > XAI_PAR_MIN;
    if (train) {
#pragma omp parallel for schedule(static) if (par)
        for (int q = 0; q < groups; q++)
            bn_batch_stats(in, l, n, q * BN_G, C - q * BN_G < BN_G ? C - q * BN_G : BN_G);
    } else {
        for (int c = 0; c < C; c++) {
            l->ws->bn_mean[c] = l->rmean[c];
            l->ws->bn_istd[c] = 1.0f / sqrtf(l->rvar[c] + l->eps);
        }
    }
#pragma omp parallel for schedule(static) if (par)
    for (int c = 0; c < C; c++) {
        const float mean = l->ws->bn_mean[c], istd = l->ws->bn_istd[c], g = l->w[c], b = l->b[c];
        for (int i = 0; i < n; i++) {
            const float *x = in + i * isz + (size_t)c * HW;
            float *xh = l->ws->bn_xhat + i * isz + (size_t)c * HW, *y = out + i * isz + (size_t)c * HW;
            for (int j = 0; j < HW; j++) {
                xh[j] = (x[j] - mean) * istd;
                y[j] = g * xh[j] + b;
            }
        }
    }
}

void xai_batchnorm2d_backward(float *din, const float *dout, const xai_layer *l, int n, int train)
{
    const int C = l->in.c, HW = l->in.h * l->in.w, groups = (C + BN_G - 1) / BN_G;
    const size_t isz = xai_shape_size(l->in);
    const double M = (double)n * HW;
#pragma omp parallel for schedule(static) if ((size_t)n * isz > XAI_PAR_MIN)
    for (int q = 0; q < groups; q++) {
        const int c0 = q * BN_G, g = C - c0 < BN_G ? C - c0 : BN_G;
        double sdy[BN_G], sdyx[BN_G];
        bn_dsum(sdy, sdyx, dout, l->ws->bn_xhat, isz, HW, n, c0, g);
        for (int k = 0; k < g; k++) {
            const int c = c0 + k;
            if (l->gw) {
                l->gw[c] += (float)sdyx[k];
                l->gb[c] += (float)sdy[k];
            }
            if (!din) continue;
            const float gi = l->w[c] * l->ws->bn_istd[c];
            /* In train mode the statistics depend on the input, hence the two mean terms. */
            const float a = train ? (float)(sdy[k] / M) : 0.0f, bq = train ? (float)(sdyx[k] / M) : 0.0f;
            for (int i = 0; i < n; i++) {
                const float *dy = dout + i * isz + (size_t)c * HW, *xh = l->ws->bn_xhat + i * isz + (size_t)c * HW;
                float *dx = din + i * isz + (size_t)c * HW;
                for (int j = 0; j < HW; j++) dx[j] += gi * (dy[j] - a - xh[j] * bq);
            }
        }
    }
}

/* ----------------------------------------------------------------- dropout */

void xai_dropout_forward(float *out, const float *in, const xai_layer *l, int n, int train, uint64_t seed)
{
    const size_t tot = (size_t)n * xai_shape_size(l->in);
    if (!train || l->p <= 0) {
        if (out != in) memcpy(out, in, tot * sizeof *out); /* the model runs it in place */
        return;
    }
    const float scale = 1.0f / (1.0f - l->p), p = l->p;
    uint8_t *mask = l->ws->mask; /* (N, in) */
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
    for (size_t i = 0; i < tot; i++) {
        /* Counter-based mask: the same bits whatever thread draws them. */
        uint8_t keep = xai_hash_uniform(seed, i) >= p;
        mask[i] = keep;
        out[i] = keep ? in[i] * scale : 0.0f;
    }
}

void xai_dropout_backward_inplace(float *d, const xai_layer *l, int n)
{
    const size_t tot = (size_t)n * xai_shape_size(l->in);
    if (l->p <= 0) return;
    const float scale = 1.0f / (1.0f - l->p);
    const uint8_t *mask = l->ws->mask;
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
    for (size_t i = 0; i < tot; i++) d[i] = mask[i] ? d[i] * scale : 0.0f; /* +0 where dropped, as before */
}

void xai_dropout_backward(float *din, const float *dout, const xai_layer *l, int n, int train)
{
    const size_t tot = (size_t)n * xai_shape_size(l->in);
    if (!train || l->p <= 0) {
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
        for (size_t i = 0; i < tot; i++) din[i] += dout[i];
        return;
    }
    const float scale = 1.0f / (1.0f - l->p);
    const uint8_t *mask = l->ws->mask;
#pragma omp parallel for schedule(static) if (tot > XAI_PAR_MIN)
    for (size_t i = 0; i < tot; i++) din[i] += dout[i] * (scale * mask[i]); /* branch-free: vectorises */
}

/* ---------------------------------------------------------------- dispatch */

void xai_layer_forward(const xai_layer *l, float *out, const float *in, int n, int train, uint64_t seed)
{
    switch (l->type) {
    case XAI_CONV2D: xai_conv2d_forward(out, in, l, n); break;
    case XAI_RELU: xai_relu_forward(out, in, l, n); break;
    case XAI_MAXPOOL2D: xai_maxpool2d_forward(out, in, l, n); break;
    case XAI_AVGPOOL2D:
    case XAI_GAP: xai_avgpool2d_forward(out, in, l, n); break;
    case XAI_FLATTEN: memcpy(out, in, (size_t)n * xai_shape_size(l->in) * sizeof *out); break;
    case XAI_LINEAR: xai_linear_forward(out, in, l, n); break;
    case XAI_BATCHNORM2D: xai_batchnorm2d_forward(out, in, l, n, train); break;
    case XAI_DROPOUT: xai_dropout_forward(out, in, l, n, train, seed); break;
    default: XAI_CHECK(!"unknown layer type");
    }
}

void xai_layer_backward(const xai_layer *l, float *din, const float *dout, const float *in, const float *out, int n,
                        int train)
{
    (void)out;
    switch (l->type) {
    case XAI_CONV2D: xai_conv2d_backward(din, dout, in, l, n); return;
    case XAI_LINEAR: xai_linear_backward(din, dout, in, l, n); return;
    case XAI_BATCHNORM2D: xai_batchnorm2d_backward(din, dout, l, n, train); return;
    default: break;
    }
    if (!din) return;
    switch (l->type) {
    case XAI_RELU: xai_relu_backward(din, dout, in, l, n); break;
    case XAI_MAXPOOL2D: xai_maxpool2d_backward(din, dout, l, n); break;
    case XAI_AVGPOOL2D:
    case XAI_GAP: xai_avgpool2d_backward(din, dout, l, n); break;
    case XAI_FLATTEN: {
        const size_t tot = (size_t)n * xai_shape_size(l->in);
        for (size_t i = 0; i < tot; i++) din[i] += dout[i];
        break;
    }
    case XAI_DROPOUT: xai_dropout_backward(din, dout, l, n, train); break;
    default: XAI_CHECK(!"unknown layer type");
    }
}

/* -------------------------------------------------------------------- loss */

void xai_softmax(float *p, const float *logits, int n, int k)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        float mx = z[0];
        for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        double s = 0;
        for (int j = 0; j < k; j++) s += exp((double)z[j] - mx);
        for (int j = 0; j < k; j++) p[(size_t)i * k + j] = (float)(exp((double)z[j] - mx) / s);
    }
}

double xai_softmax_xent(const float *logits, const int32_t *labels, int n, int k, float *dlogits, int *ncorrect)
{
    double loss = 0;
    int correct = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int am = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[am]) am = j;
        correct += am == labels[i];
        float mx = z[am];
        double s = 0;
        for (int j = 0; j < k; j++) s += exp((double)z[j] - mx);
        double lse = mx + log(s);
        loss += lse - z[labels[i]];
        if (dlogits)
            for (int j = 0; j < k; j++)
                dlogits[(size_t)i * k + j] = (float)((exp(z[j] - lse) - (j == labels[i])) / n);
    }
    if (ncorrect) *ncorrect = correct;
    return loss / n;
}
