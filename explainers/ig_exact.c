/* ig_exact.c: exact Integrated Gradients for piecewise-linear networks. The straight path from
 * the baseline is cut into the network's linear regions (Sotoudeh & Thakur, NeurIPS 2019). */
#include "explainers/ig_exact.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>

/* How it works. Along x(alpha) = x' + alpha (x - x') every layer's output is a piecewise-linear
 * function of alpha. We keep it as values at vertices alpha_0 < ... < alpha_K: between two
 * vertices nothing changes its pattern, so an affine layer (conv, linear, batch norm in eval,
 * pools that average) maps vertices to vertices, and a relu or max pool only needs new vertices
 * where, inside a segment, a pre-activation crosses zero or a pool window changes its winner.
 * Those points are found from the two end values of the segment (the function is affine there),
 * inserted, and the layer is applied to all vertices as one batch through the engine's kernels.
 * After the last layer the vertices are the region boundaries, and the gradient is constant
 * inside a region: IG = (x - x') * sum_k (alpha_k+1 - alpha_k) grad f(x(mid_k)) exactly.
 *
 * The gradients. The vertices form a tree: each segment at the input of a relu or max pool is
 * cut into the segments after it, and that layer's Jacobian is constant on each of those (its
 * pattern at the segment's midpoint, stored on the way forward). So the weighted sum of the
 * regions' gradients runs backward as one row per segment: w_k e_target per region at the top,
 * each layer's transposed Jacobian applied to all rows at once (the engine's batched backward
 * kernels for the affine layers), and at a relu or max pool the rows of the segments cut from
 * one segment added up. This costs about what the forward walk costs; one forward and backward
 * pass per region (xai_ig_exact_opts.per_region, kept as the reference) costs far more.
 *
 * Precision: vertex values are the engine's floats; crossing points are computed in double from
 * them. Crossings within `tol` (in alpha) of each other or of a vertex are merged into one
 * vertex: a region thinner than tol is dropped, changing the integral by at most tol times the
 * jump of the gradient. Ties (a unit exactly 0 at a vertex, two pool inputs equal at a vertex)
 * need no vertex: the pattern may change only there, and both neighbouring segments are
 * affine. Patterns are taken at segment midpoints in double (a relu unit on when its value
 * there is > 0, a pool's first largest input wins), as the engine decides them. When the
 * vertices of one walk would not fit the buffers, the alpha interval is cut into pieces, each
 * walked from the input again; the backward rows of a layer take no more room than its forward
 * rows did. */

#define EXACT_TOL 1e-9
#define EXACT_BUDGET ((size_t)256 << 20) /* bytes for the two vertex buffers */
#define RELU_BLOCK 1024                  /* units a backward work item sums over (a multiple of 8) */

typedef struct {
    double *v;
    size_t n, cap;
} thread_list;

/* A relu or max pool of the current walk: how it cut the segments before it, and the pattern of
 * each segment after it. */
typedef struct {
    int64_t kin, kout;  /* vertices before / after the crossings were inserted */
    int64_t *first;     /* (kin) new segment where old segment k starts; first[kin - 1] = kout - 1 */
    uint8_t *pat;       /* (kout - 1, pat_bytes): relu a bit a unit; max pool each window's winner */
    size_t pat_bytes, pat_cap;
    int64_t first_cap;
    int32_t *win;       /* max pool: (out, k * k) the input index of each window's inputs inside the image */
    uint8_t *nwin;      /* max pool: (out) how many */
} cut_record;

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

typedef struct {
    xai_model *m;
    const float *x, *xb;   /* (C, H, W) image and baseline */
    int32_t target;
    size_t cap;            /* floats each vertex buffer holds */
    size_t *rowmax;        /* (nlayers) the widest activation from layer i on (its input included) */
    int64_t maxrows;       /* vertices the per-vertex arrays hold */
    float *cur, *next;     /* vertex values (or backward rows) before / after a layer, rows packed */
    double *alpha, *alpha2;/* (maxrows) vertex positions */
    int64_t *count;        /* (maxrows) kept crossings per segment */
    int64_t *start;        /* (maxrows) first kept crossing of each segment in its thread's list */
    int64_t *rowseg;       /* (maxrows) the old segment each new vertex lies in */
    double *scratch;       /* (nthreads, scratch_per) a segment's crossings before merging */
    size_t scratch_per;
    thread_list *lists;    /* (nthreads) kept crossings, appended by each thread */
    int *tid;              /* (maxrows) the thread whose list holds a segment's crossings */
    int nthreads;
    cut_record *cuts;      /* (nlayers) for each relu and max pool */
    double *acc;           /* (nthreads, acc_per) backward sums */
    size_t acc_per;
    double *G;             /* (input) sum of width x gradient over the regions walked so far */
    int64_t nseg;          /* regions walked so far */
    int per_region;        /* keep the regions for one gradient pass each (the reference) */
    double *seg_lo, *seg_hi; /* (seg_cap) the regions, with per_region */
    int64_t seg_cap;
    double tol;
} walker;

static int is_piecewise_linear(xai_layer_type t)
{
    return t == XAI_CONV2D || t == XAI_LINEAR || t == XAI_RELU || t == XAI_MAXPOOL2D || t == XAI_AVGPOOL2D ||
           t == XAI_GAP || t == XAI_FLATTEN || t == XAI_BATCHNORM2D || t == XAI_DROPOUT;
}

static int cuts_path(xai_layer_type t) { return t == XAI_RELU || t == XAI_MAXPOOL2D; }

xai_status xai_ig_exact_check(const xai_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (!is_piecewise_linear(m->layers[i].type))
            return xai_fail(XAI_EINVAL,
                            "ig:rule=exact: layer %d (%s) is not piecewise linear; exact IG needs conv, linear, "
                            "relu, max/avg pool, global average pool, flatten, batch norm and dropout only",
                            i + 1, xai_layer_type_name(m->layers[i].type));
        else if (m->layers[i].type == XAI_MAXPOOL2D && m->layers[i].k > 8)
            return xai_fail(XAI_EINVAL, "ig:rule=exact: layer %d (maxpool) has k = %d; exact IG handles windows up to 8x8",
                            i + 1, m->layers[i].k);
    return XAI_OK;
}

/* ------------------------------------------------------------- crossings */

/* Relu: unit u of a segment crosses zero at t = za / (za - zb) when the ends have strict
 * opposite signs. Writes the t in (0, 1) to out (when not NULL); returns how many. */
static int64_t relu_crossings(const float *za, const float *zb, size_t w, double *out)
{
    int64_t k = 0;
    for (size_t u = 0; u < w; u++) {
        double a = za[u], b = zb[u];
        if ((a < 0 && b > 0) || (a > 0 && b < 0)) {
            if (out) out[k] = a / (a - b);
            k++;
        }
    }
    return k;
}

/* Max pool: the upper envelope of the window's lines p_i(t) = a_i + t (b_i - a_i) on (0, 1).
 * Starting from the winner just after t = 0 (largest value, then largest slope), the next
 * winner is the line that overtakes it first. */
static int64_t window_crossings(const float *za, const float *zb, const int32_t *idx, int nw, double *out)
{
    int w = 0;
    for (int i = 1; i < nw; i++) {
        double ai = za[idx[i]], aw = za[idx[w]];
        double si = zb[idx[i]] - ai, sw = zb[idx[w]] - aw;
        if (ai > aw || (ai == aw && si > sw)) w = i;
    }
    int64_t k = 0;
    double t = 0;
    for (int guard = 0; guard < nw; guard++) {
        double aw = za[idx[w]], sw = zb[idx[w]] - aw, best = 2;
        int next = -1;
        for (int i = 0; i < nw; i++) {
            double ai = za[idx[i]], si = zb[idx[i]] - ai;
            if (i == w || si <= sw) continue;
            double ti = (aw - ai) / (si - sw);
            if (ti > t && (ti < best || (ti == best && si > zb[idx[next]] - za[idx[next]]))) best = ti, next = i;
        }
        if (next < 0 || best >= 1) break;
        if (out) out[k] = best;
        k++;
        t = best;
        w = next;
    }
    return k;
}

/* A max pool's windows as lists of input indices (padding left out), built once. */
static void pool_table(cut_record *r, const xai_layer *l)
{
    const size_t out = xai_shape_size(l->out), kk = (size_t)l->k * l->k;
    r->win = xai_malloc(out * kk * sizeof *r->win);
    r->nwin = xai_malloc(out);
    for (int c = 0; c < l->out.c; c++)
        for (int oy = 0; oy < l->out.h; oy++)
            for (int ox = 0; ox < l->out.w; ox++) {
                const size_t o = ((size_t)c * l->out.h + oy) * l->out.w + ox;
                int nw = 0;
                for (int ky = 0; ky < l->k; ky++)
                    for (int kx = 0; kx < l->k; kx++) {
                        const int y = oy * l->stride + ky - l->pad, x = ox * l->stride + kx - l->pad;
                        if (y >= 0 && y < l->in.h && x >= 0 && x < l->in.w)
                            r->win[o * kk + nw++] = (c * l->in.h + y) * l->in.w + x;
                    }
                r->nwin[o] = (uint8_t)nw;
            }
}

static int64_t pool_crossings(const cut_record *r, const xai_layer *l, const float *za, const float *zb, double *out)
{
    const size_t n = xai_shape_size(l->out), kk = (size_t)l->k * l->k;
    int64_t k = 0;
    for (size_t o = 0; o < n; o++) k += window_crossings(za, zb, r->win + o * kk, r->nwin[o], out ? out + k : NULL);
    return k;
}

static int64_t crossings(const cut_record *r, const xai_layer *l, const float *za, const float *zb, double *out)
{
    if (l->type == XAI_RELU) return relu_crossings(za, zb, xai_shape_size(l->in), out);
    return pool_crossings(r, l, za, zb, out);
}

/* ------------------------------------------------- new vertices, patterns */

/* Relu at t of the segment from za to zb, and its pattern at tm (bit u: unit u on). */
static void relu_row(float *out, uint8_t *pat, const float *za, const float *zb, double t, double tm, size_t n)
{
    for (size_t u0 = 0; u0 < n; u0 += 8) {
        const size_t u1 = u0 + 8 < n ? u0 + 8 : n;
        unsigned bits = 0;
        for (size_t u = u0; u < u1; u++) {
            const double a = za[u], d = (double)zb[u] - a;
            const float v = (float)(a + t * d);
            out[u] = v > 0 ? v : 0.0f;
            bits |= (unsigned)(a + tm * d > 0) << (u - u0);
        }
        if (pat) pat[u0 / 8] = (uint8_t)bits;
    }
}

/* Max pool at t of the segment from za to zb (the max of the interpolated floats, as the engine
 * pools them), and its pattern at tm: each window's first largest input (its place in the list). */
static void pool_row(const cut_record *r, const xai_layer *l, float *out, uint8_t *pat, const float *za,
                     const float *zb, double t, double tm)
{
    const size_t n = xai_shape_size(l->out), kk = (size_t)l->k * l->k;
    for (size_t o = 0; o < n; o++) {
        const int32_t *idx = r->win + o * kk;
        float best = -INFINITY;
        double bm = -INFINITY;
        int win = 0;
        for (int i = 0; i < r->nwin[o]; i++) {
            const double a = za[idx[i]], d = (double)zb[idx[i]] - a, m = a + tm * d;
            const float v = (float)(a + t * d);
            best = v > best ? v : best;
            if (m > bm) bm = m, win = i;
        }
        out[o] = best;
        if (pat) pat[o] = (uint8_t)win;
    }
}

static void grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    *cap = 2 * need;
    *p = realloc(*p, *cap * elem);
    XAI_CHECK(*p);
}

/* Phase 1 of an insertion: each segment's crossings, sorted, merged within tol, kept in the
 * thread's list (one pass per segment); w->count[k] gets how many segment k keeps. */
static void find_crossings(walker *w, const cut_record *r, const xai_layer *l, int64_t K)
{
    const size_t W = xai_shape_size(l->in);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < K - 1; k++) {
        const int t = thread_id();
        double *c = w->scratch + (size_t)t * w->scratch_per;
        const int64_t nc = crossings(r, l, w->cur + (size_t)k * W, w->cur + (size_t)(k + 1) * W, c);
        qsort(c, (size_t)nc, sizeof *c, xai_cmp_double);
        const double a = w->alpha[k], len = w->alpha[k + 1] - a;
        int64_t kept = 0;
        double last = a;
        for (int64_t j = 0; j < nc; j++) {
            double al = a + c[j] * len;
            if (al - last <= w->tol || w->alpha[k + 1] - al <= w->tol) continue;
            c[kept++] = c[j];
            last = al;
        }
        thread_list *tl = &w->lists[t];
        size_t cap = tl->cap;
        grow((void **)&tl->v, &cap, tl->n + (size_t)kept, sizeof *tl->v); /* rare: lists keep their size */
        tl->cap = cap;
        if (kept) memcpy(tl->v + tl->n, c, (size_t)kept * sizeof *c); /* tl->v may still be NULL */
        w->tid[k] = t, w->start[k] = (int64_t)tl->n, w->count[k] = kept;
        tl->n += (size_t)kept;
    }
    for (int t = 0; t < w->nthreads; t++) w->lists[t].n = 0;
}

/* Crossing j of segment k as a fraction of the segment (0 and 1 at its ends). */
static double crossing_t(const walker *w, int64_t k, int64_t j)
{
    return j < 0 ? 0 : j >= w->count[k] ? 1 : w->lists[w->tid[k]].v[w->start[k] + j];
}

/* Inserts the crossings of layer i (a relu or max pool) between the K vertices in w->cur (its
 * inputs), writes the layer's output at every vertex and records the cuts and patterns. Returns
 * the new vertex count, or minus what it would need (in floats of buffer) when that exceeds the
 * buffers. */
static int64_t insert_vertices(walker *w, int i, int64_t K)
{
    const xai_layer *l = &w->m->layers[i];
    const size_t W = xai_shape_size(l->in), O = xai_shape_size(l->out);
    cut_record *r = &w->cuts[i];
    find_crossings(w, r, l, K);
    int64_t nk = K;
    for (int64_t k = 0; k < K - 1; k++) nk += w->count[k];
    if ((size_t)nk > w->cap / w->rowmax[i] || nk > w->maxrows) return -nk * (int64_t)w->rowmax[i];
    size_t fcap = (size_t)r->first_cap;
    grow((void **)&r->first, &fcap, (size_t)K, sizeof *r->first);
    r->first_cap = (int64_t)fcap;
    grow((void **)&r->pat, &r->pat_cap, (size_t)(nk - 1) * r->pat_bytes, 1);
    r->kin = K, r->kout = nk;
    for (int64_t k = 0, row = 0; k < K; k++) {
        const int64_t n = k < K - 1 ? 1 + w->count[k] : 1; /* the old vertex and its segment's crossings */
        r->first[k] = row;
        for (int64_t j = 0; j < n; j++) w->rowseg[row + j] = k;
        row += n;
    }
    /* Each new vertex on its own: its values (exact up to rounding: affine inside a segment) and
     * the pattern of the segment it starts. */
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t v = 0; v < nk; v++) {
        const int64_t k = w->rowseg[v], j = v - r->first[k];
        const int last = k == K - 1;
        const float *za = w->cur + (size_t)k * W, *zb = last ? za : za + W;
        const double t = crossing_t(w, k, j - 1), tm = last ? 0 : 0.5 * (t + crossing_t(w, k, j));
        uint8_t *pat = last ? NULL : r->pat + (size_t)v * r->pat_bytes;
        if (l->type == XAI_RELU) relu_row(w->next + (size_t)v * O, pat, za, zb, t, tm, W);
        else pool_row(r, l, w->next + (size_t)v * O, pat, za, zb, t, tm);
        w->alpha2[v] = j ? w->alpha[k] + t * (w->alpha[k + 1] - w->alpha[k]) : w->alpha[k];
    }
    float *t = w->cur;
    w->cur = w->next, w->next = t;
    double *ta = w->alpha;
    w->alpha = w->alpha2, w->alpha2 = ta;
    return nk;
}

/* ------------------------------------------------------------ the walk */

static void apply_layer(walker *w, const xai_layer *l, int64_t K)
{
    const int mb = w->m->max_batch;
    for (int64_t s = 0; s < K; s += mb) {
        const int nb = K - s < mb ? (int)(K - s) : mb;
        xai_layer_forward(l, w->next + (size_t)s * xai_shape_size(l->out), w->cur + (size_t)s * xai_shape_size(l->in),
                          nb, 0, 0);
    }
    float *t = w->cur;
    w->cur = w->next, w->next = t;
}

/* Backward through an affine layer: rows of dL/dout in cur become rows of dL/din. No parameter
 * gradients are wanted, so the forward tensors are not needed (NULL). */
static void back_affine(walker *w, const xai_layer *l, int64_t nr)
{
    xai_layer lc = *l;
    lc.gw = lc.gb = NULL;
    const size_t in = xai_shape_size(l->in), out = xai_shape_size(l->out);
    const int mb = w->m->max_batch;
    for (int64_t s = 0; s < nr; s += mb) {
        const int nb = nr - s < mb ? (int)(nr - s) : mb;
        float *din = w->next + (size_t)s * in;
        const float *dout = w->cur + (size_t)s * out;
        if (l->type == XAI_CONV2D) {
            xai_conv2d_backward_ex(din, dout, NULL, NULL, &lc, nb, 1);
            continue;
        }
        memset(din, 0, (size_t)nb * in * sizeof *din);
        xai_layer_backward(&lc, din, dout, NULL, NULL, nb, 0);
    }
    float *t = w->cur;
    w->cur = w->next, w->next = t;
}

/* Backward through a relu: the row of each segment before it is the sum over the segments cut
 * from it of their rows masked by their patterns. Sums in double, in a fixed order. */
static void back_relu(walker *w, const cut_record *r, size_t n)
{
    const int64_t np = r->kin - 1, nb = (int64_t)((n + RELU_BLOCK - 1) / RELU_BLOCK);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t it = 0; it < np * nb; it++) {
        const int64_t p = it / nb;
        const size_t u0 = (size_t)(it % nb) * RELU_BLOCK, u1 = u0 + RELU_BLOCK < n ? u0 + RELU_BLOCK : n;
        double *acc = w->acc + (size_t)thread_id() * w->acc_per;
        memset(acc, 0, (u1 - u0) * sizeof *acc);
        for (int64_t c = r->first[p]; c < r->first[p + 1]; c++) {
            const float *d = w->cur + (size_t)c * n;
            const uint8_t *pat = r->pat + (size_t)c * r->pat_bytes;
            for (size_t u = u0; u < u1; u++) acc[u - u0] += (pat[u >> 3] >> (u & 7) & 1) ? d[u] : 0.0f;
        }
        float *o = w->next + (size_t)p * n;
        for (size_t u = u0; u < u1; u++) o[u] = (float)acc[u - u0];
    }
    float *t = w->cur;
    w->cur = w->next, w->next = t;
}

/* Backward through a max pool: each window's gradient to its winner, summed as in back_relu; one
 * work item per (segment, channel), whose windows touch only that channel. */
static void back_pool(walker *w, const cut_record *r, const xai_layer *l)
{
    const int64_t np = r->kin - 1, C = l->in.c;
    const size_t plane = (size_t)l->in.h * l->in.w, in = xai_shape_size(l->in), out = xai_shape_size(l->out);
    const size_t oplane = (size_t)l->out.h * l->out.w, kk = (size_t)l->k * l->k;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t it = 0; it < np * C; it++) {
        const int64_t p = it / C;
        const size_t c = (size_t)(it % C);
        double *acc = w->acc + (size_t)thread_id() * w->acc_per;
        const int32_t base = (int32_t)(c * plane); /* the window lists index the whole input */
        memset(acc, 0, plane * sizeof *acc);
        for (int64_t s = r->first[p]; s < r->first[p + 1]; s++) {
            const float *d = w->cur + (size_t)s * out;
            const uint8_t *pat = r->pat + (size_t)s * r->pat_bytes;
            for (size_t o = c * oplane; o < (c + 1) * oplane; o++) acc[r->win[o * kk + pat[o]] - base] += d[o];
        }
        float *o = w->next + (size_t)p * in + c * plane;
        for (size_t u = 0; u < plane; u++) o[u] = (float)acc[u];
    }
    float *t = w->cur;
    w->cur = w->next, w->next = t;
}

/* The K vertices in w->alpha are the regions of the last walk: w->G += sum over them of
 * width x gradient of the target logit, backward through the layers as one row per segment. */
static void backward(walker *w, int64_t K)
{
    const xai_model *m = w->m;
    int64_t nr = K - 1;
    const size_t ncls = (size_t)m->nclasses, isz = xai_shape_size(m->in);
    memset(w->cur, 0, (size_t)nr * ncls * sizeof *w->cur);
    for (int64_t k = 0; k < nr; k++) w->cur[(size_t)k * ncls + (size_t)w->target] = (float)(w->alpha[k + 1] - w->alpha[k]);
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const xai_layer *l = &m->layers[i];
        const cut_record *r = &w->cuts[i];
        if (l->type == XAI_FLATTEN || l->type == XAI_DROPOUT) continue; /* identity in eval mode */
        if (cuts_path(l->type)) {
            XAI_CHECK(r->kout - 1 == nr);
            if (l->type == XAI_RELU) back_relu(w, r, xai_shape_size(l->in));
            else back_pool(w, r, l);
            nr = r->kin - 1;
        } else
            back_affine(w, l, nr);
    }
    XAI_CHECK(nr == 1);
    for (size_t j = 0; j < isz; j++) w->G[j] += w->cur[j];
}

static void add_regions(walker *w, int64_t K)
{
    size_t cap = (size_t)w->seg_cap;
    grow((void **)&w->seg_lo, &cap, (size_t)(w->nseg + K), sizeof *w->seg_lo);
    cap = (size_t)w->seg_cap;
    grow((void **)&w->seg_hi, &cap, (size_t)(w->nseg + K), sizeof *w->seg_hi);
    w->seg_cap = (int64_t)cap;
    for (int64_t k = 0; k + 1 < K; k++) {
        w->seg_lo[w->nseg + k] = w->alpha[k];
        w->seg_hi[w->nseg + k] = w->alpha[k + 1];
    }
}

/* Walks [a, b] through every layer, then back. When the vertices do not fit, [a, b] is cut into
 * enough equal pieces for twice the room needed so far (later layers add more), each walked
 * from the input again: one restart instead of a cascade of halvings. */
static xai_status walk(walker *w, double a, double b, int depth)
{
    const size_t isz = xai_shape_size(w->m->in);
    int64_t K = 2;
    w->alpha[0] = a, w->alpha[1] = b;
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < isz; j++)
            w->cur[(size_t)k * isz + j] = (float)(w->xb[j] + w->alpha[k] * ((double)w->x[j] - w->xb[j]));
    for (int i = 0; i < w->m->nlayers; i++) {
        const xai_layer *l = &w->m->layers[i];
        if (l->type == XAI_FLATTEN || l->type == XAI_DROPOUT) continue; /* identity in eval mode */
        if (cuts_path(l->type)) {
            const int64_t nk = insert_vertices(w, i, K);
            if (nk < 0) {
                const double need = (double)-nk;
                const int pieces = (int)(2 * need / (double)w->cap + 2 < 64 ? 2 * need / (double)w->cap + 2 : 64);
                if (depth > 60 || (b - a) / pieces <= 4 * w->tol)
                    return xai_fail(XAI_ESTATE, "ig:rule=exact: layer %d needs %.3g floats of vertex buffer in an "
                                                "alpha interval of width %.3g, more than the %zu it has; raise the "
                                                "vertex budget", i + 1, need, b - a, w->cap);
                for (int p = 0; p < pieces; p++)
                    XAI_TRY(walk(w, a + (b - a) * p / pieces, p == pieces - 1 ? b : a + (b - a) * (p + 1) / pieces,
                                 depth + 1));
                return XAI_OK;
            }
            K = nk;
        } else
            apply_layer(w, l, K);
    }
    if (w->per_region) add_regions(w, K);
    else backward(w, K);
    w->nseg += K - 1;
    return XAI_OK;
}

/* -------------------------------------------------------- the gradients */

typedef struct {
    const float *x, *xb;
    const double *mid;
    size_t isz;
} path_rows;

static void fill_path_row(void *ctx, float *xrow, int image, int k)
{
    (void)image;
    const path_rows *p = ctx;
    const double al = p->mid[k];
    for (size_t j = 0; j < p->isz; j++) xrow[j] = (float)(p->xb[j] + al * ((double)p->x[j] - p->xb[j]));
}

/* The reference: w->G = sum over the walked regions of width x the gradient at the midpoint,
 * one forward and backward pass through the engine each. */
static xai_status region_gradients(walker *w)
{
    if (w->nseg > INT32_MAX) return xai_fail(XAI_ESTATE, "ig:rule=exact: %lld regions", (long long)w->nseg);
    double *mid = xai_malloc((size_t)w->nseg * sizeof *mid), *width = xai_malloc((size_t)w->nseg * sizeof *width);
    for (int64_t k = 0; k < w->nseg; k++) {
        mid[k] = 0.5 * (w->seg_lo[k] + w->seg_hi[k]);
        width[k] = w->seg_hi[k] - w->seg_lo[k];
    }
    path_rows p = {w->x, w->xb, mid, xai_shape_size(w->m->in)};
    xai_status s = xai_grad_accumulate(w->m, 1, (int)w->nseg, width, &w->target, fill_path_row, &p, w->G, NULL);
    free(mid);
    free(width);
    return s;
}

/* Buffers of budget bytes; rows sized by the widest activation from each layer on. */
static xai_status walker_init(walker *w, xai_model *m, const xai_ig_exact_opts *o)
{
    const size_t budget = o && o->budget_bytes ? o->budget_bytes : EXACT_BUDGET;
    memset(w, 0, sizeof *w);
    w->m = m;
    w->tol = o && o->tol > 0 ? o->tol : EXACT_TOL;
    w->per_region = o && o->per_region;
    w->cap = budget / (2 * sizeof(float));
    w->rowmax = xai_calloc((size_t)m->nlayers + 1, sizeof *w->rowmax);
    w->cuts = xai_calloc((size_t)m->nlayers, sizeof *w->cuts);
    w->rowmax[m->nlayers] = xai_shape_size(m->layers[m->nlayers - 1].out);
    size_t narrow = w->rowmax[m->nlayers]; /* the smallest rowmax at a relu or max pool */
    for (int i = m->nlayers - 1; i >= 0; i--) {
        const xai_layer *l = &m->layers[i];
        const size_t in = xai_shape_size(l->in), out = xai_shape_size(l->out);
        w->rowmax[i] = in > w->rowmax[i + 1] ? in : w->rowmax[i + 1];
        if (cuts_path(l->type)) narrow = w->rowmax[i];
        /* A segment has at most one crossing per relu unit, and per max-pool window fewer than
         * its inputs (each line overtakes the winner at most once). */
        const size_t c = l->type == XAI_RELU ? in : l->type == XAI_MAXPOOL2D ? out * (size_t)l->k * l->k : 0;
        if (c > w->scratch_per) w->scratch_per = c;
        w->cuts[i].pat_bytes = l->type == XAI_RELU ? (in + 7) / 8 : out;
        if (l->type == XAI_MAXPOOL2D) pool_table(&w->cuts[i], l);
        const size_t acc = l->type == XAI_MAXPOOL2D ? (size_t)l->in.h * l->in.w : RELU_BLOCK;
        if (acc > w->acc_per) w->acc_per = acc;
    }
    if (w->cap / w->rowmax[0] < 4)
        return xai_fail(XAI_EINVAL, "ig:rule=exact: a vertex budget of %zu bytes holds fewer than 4 vertices of %zu "
                                    "floats", budget, w->rowmax[0]);
    w->maxrows = (int64_t)(w->cap / narrow);
    w->cur = xai_malloc(w->cap * sizeof(float));
    w->next = xai_malloc(w->cap * sizeof(float));
    w->alpha = xai_malloc((size_t)w->maxrows * sizeof(double));
    w->alpha2 = xai_malloc((size_t)w->maxrows * sizeof(double));
    w->count = xai_malloc((size_t)w->maxrows * sizeof(int64_t));
    w->start = xai_malloc((size_t)w->maxrows * sizeof(int64_t));
    w->rowseg = xai_malloc((size_t)w->maxrows * sizeof(int64_t));
    w->tid = xai_malloc((size_t)w->maxrows * sizeof(int));
#ifdef _OPENMP
    w->nthreads = omp_get_max_threads();
#else
    w->nthreads = 1;
#endif
    w->scratch = xai_malloc((w->nthreads * w->scratch_per + 1) * sizeof *w->scratch);
    w->acc = xai_malloc((size_t)w->nthreads * w->acc_per * sizeof *w->acc);
    w->lists = xai_calloc((size_t)w->nthreads, sizeof *w->lists);
    w->G = xai_malloc(xai_shape_size(m->in) * sizeof *w->G);
    return XAI_OK;
}

static void walker_free(walker *w)
{
    free(w->cur), free(w->next), free(w->alpha), free(w->alpha2), free(w->count), free(w->scratch);
    free(w->start), free(w->rowseg), free(w->tid), free(w->acc), free(w->G), free(w->rowmax);
    for (int t = 0; t < w->nthreads && w->lists; t++) free(w->lists[t].v);
    free(w->lists);
    for (int i = 0; i < w->m->nlayers && w->cuts; i++) free(w->cuts[i].first), free(w->cuts[i].pat), free(w->cuts[i].win), free(w->cuts[i].nwin);
    free(w->cuts);
    free(w->seg_lo), free(w->seg_hi);
}

/* One image: its regions and their width-weighted gradients. */
static xai_status exact_one(walker *w, const float *x, const float *xb, int32_t target, float *attr,
                            xai_ig_exact_stats *st)
{
    const size_t isz = xai_shape_size(w->m->in);
    w->x = x, w->xb = xb, w->target = target, w->nseg = 0;
    memset(w->G, 0, isz * sizeof *w->G);
    XAI_TRY(walk(w, 0, 1, 0));
    if (w->per_region) XAI_TRY(region_gradients(w));
    double sum = 0;
    for (size_t j = 0; j < isz; j++) {
        attr[j] = (float)(((double)x[j] - xb[j]) * w->G[j]);
        sum += ((double)x[j] - xb[j]) * w->G[j];
    }
    if (st) {
        st->regions = w->nseg;
        st->sum = sum;
    }
    return XAI_OK;
}

xai_status xai_ig_exact(xai_model *m, const xai_ig_exact_opts *o, const float *x, const float *xb,
                        const int32_t *target, int n, float *attr, xai_ig_exact_stats *st)
{
    XAI_TRY(xai_ig_exact_check(m));
    for (int i = 0; i < n; i++)
        if (target[i] < 0 || target[i] >= m->nclasses)
            return xai_fail(XAI_EINVAL, "ig:rule=exact: target %d of image %d is not a class of the model (0..%d)",
                            (int)target[i], i, m->nclasses - 1);
    const size_t isz = xai_shape_size(m->in);
    walker w;
    xai_status s = walker_init(&w, m, o);
    for (int i = 0; i < n && s == XAI_OK; i++) {
        const double t0 = xai_now();
        const float *xi = x + (size_t)i * isz, *bi = xb + (size_t)i * isz;
        xai_ig_exact_stats one = {0};
        s = exact_one(&w, xi, bi, target[i], attr + (size_t)i * isz, &one);
        if (s != XAI_OK || !st) continue;
        float f[2];
        xai_model_target_logits(m, xi, &target[i], 1, &f[0]);
        xai_model_target_logits(m, bi, &target[i], 1, &f[1]);
        one.fx = f[0], one.fbase = f[1];
        const double df = f[0] - f[1];
        one.residual = fabs(one.sum - df) / (fabs(df) > 0 ? fabs(df) : 1);
        one.seconds = xai_now() - t0;
        st[i] = one;
    }
    walker_free(&w);
    return s;
}

xai_status xai_ig_exact_run(xai_model *m, const xai_ig_opts *o, const float *x, const int32_t *target,
                            const int64_t *ids, int n, float *attr, double *delta, double *fbase,
                            xai_ig_exact_stats *st)
{
    if (n <= 0) return XAI_OK;
    const size_t isz = xai_shape_size(m->in);
    float *xb = xai_malloc(2 * (size_t)n * isz * sizeof *xb), *scratch = xb + (size_t)n * isz;
    xai_ig_exact_stats *own = st ? NULL : xai_calloc((size_t)n, sizeof *own);
    if (!st) st = own;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        xai_ig_baseline(xb + (size_t)i * isz, x + (size_t)i * isz, m->in, o, m->mean, m->std,
                        ids ? (uint64_t)ids[i] : (uint64_t)i, scratch + (size_t)i * isz);
    xai_status s = xai_ig_exact(m, NULL, x, xb, target, n, attr, st);
    for (int i = 0; i < n && s == XAI_OK; i++) {
        if (delta) delta[i] = st[i].sum - (st[i].fx - st[i].fbase);
        if (fbase) fbase[i] = st[i].fbase;
    }
    free(own);
    free(xb);
    return s;
}
