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
 * After the last layer the vertices are the region boundaries; the gradient is constant inside a
 * region, so IG = (x - x') * sum_k (alpha_k+1 - alpha_k) grad f(x(mid_k)) exactly, and the
 * gradients of all regions run through the batched gradient engine like any quadrature.
 *
 * Precision: vertex values are the engine's floats; crossing points are computed in double from
 * them. Crossings within `tol` (in alpha) of each other or of a vertex are merged into one
 * vertex: a region thinner than tol is dropped, changing the integral by at most tol times the
 * jump of the gradient. Ties (a unit exactly 0 at a vertex, two pool inputs equal at a vertex)
 * need no vertex: the pattern may change only there, and both neighbouring segments are
 * affine. When the vertices of one walk would not fit the buffers, the alpha interval is halved
 * and each half is walked from the input again. */

#define EXACT_TOL 1e-9
#define EXACT_BUDGET ((size_t)256 << 20) /* bytes for the two vertex buffers */

typedef struct {
    double *v;
    size_t n, cap;
} thread_list;

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
    int cap;               /* vertices the buffers hold */
    size_t width;          /* floats per vertex row: the widest activation */
    float *cur, *next;     /* (cap, layer size) vertex values before / after a layer, rows packed */
    double *alpha, *alpha2;/* (cap) vertex positions */
    int64_t *count;        /* (cap) crossings per segment */
    int64_t *start;        /* (cap) first kept crossing of each segment in its thread's list */
    int64_t *before;       /* (cap) kept crossings before each segment */
    double *scratch;       /* (nthreads, scratch_per) a segment's crossings before merging */
    size_t scratch_per;
    thread_list *lists;    /* (nthreads) kept crossings, appended by each thread */
    int *tid;              /* (cap) the thread whose list holds a segment's crossings */
    int nthreads;
    double *seg_lo, *seg_hi; /* (seg_cap) the regions found so far */
    int64_t nseg, seg_cap;
    double tol;
} walker;

static int is_piecewise_linear(xai_layer_type t)
{
    return t == XAI_CONV2D || t == XAI_LINEAR || t == XAI_RELU || t == XAI_MAXPOOL2D || t == XAI_AVGPOOL2D ||
           t == XAI_GAP || t == XAI_FLATTEN || t == XAI_BATCHNORM2D || t == XAI_DROPOUT;
}

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
static int64_t window_crossings(const float *za, const float *zb, const int *idx, int nw, double *out)
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

static int64_t pool_crossings(const xai_layer *l, const float *za, const float *zb, double *out)
{
    int idx[64];
    int64_t k = 0;
    const int C = l->in.c, H = l->in.h, W = l->in.w;
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < l->out.h; oy++)
            for (int ox = 0; ox < l->out.w; ox++) {
                int nw = 0;
                for (int ky = 0; ky < l->k; ky++)
                    for (int kx = 0; kx < l->k; kx++) {
                        int y = oy * l->stride + ky - l->pad, x = ox * l->stride + kx - l->pad;
                        if (y >= 0 && y < H && x >= 0 && x < W && nw < 64) idx[nw++] = (c * H + y) * W + x;
                    }
                k += window_crossings(za, zb, idx, nw, out ? out + k : NULL);
            }
    return k;
}

static int64_t crossings(const xai_layer *l, const float *za, const float *zb, double *out)
{
    if (l->type == XAI_RELU) return relu_crossings(za, zb, xai_shape_size(l->in), out);
    return pool_crossings(l, za, zb, out);
}

/* ------------------------------------------------------------ the walk */

static void apply_layer(walker *w, const xai_layer *l, int K)
{
    const xai_model *m = w->m;
    for (int s = 0; s < K; s += m->max_batch) {
        int nb = K - s < m->max_batch ? K - s : m->max_batch;
        xai_layer_forward(l, w->next + (size_t)s * xai_shape_size(l->out), w->cur + (size_t)s * xai_shape_size(l->in),
                          nb, 0, 0);
    }
    float *t = w->cur;
    w->cur = w->next;
    w->next = t;
}

/* Inserts the crossings of layer l between the K vertices in w->cur (its inputs). Returns the
 * new vertex count, or minus the count it would need when that exceeds the buffers. */
static int64_t insert_vertices(walker *w, const xai_layer *l, int K)
{
    const size_t in = xai_shape_size(l->in), W = in; /* rows are packed, as the kernels take them */
    /* One pass per segment: its crossings into the thread's scratch, sorted and merged; the kept
     * ones appended to the thread's list, where the segment records where they are. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < K - 1; k++) {
        const int t = thread_id();
        double *c = w->scratch + (size_t)t * w->scratch_per;
        const int64_t nc = crossings(l, w->cur + (size_t)k * W, w->cur + (size_t)(k + 1) * W, c);
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
        if (tl->n + (size_t)kept > tl->cap) { /* rare: lists keep their size from image to image */
            tl->cap = 2 * (tl->n + (size_t)kept);
            tl->v = realloc(tl->v, tl->cap * sizeof *tl->v);
            XAI_CHECK(tl->v);
        }
        if (kept) memcpy(tl->v + tl->n, c, (size_t)kept * sizeof *c); /* tl->v may still be NULL */
        w->tid[k] = t, w->start[k] = (int64_t)tl->n, w->count[k] = kept;
        tl->n += (size_t)kept;
    }
    for (int t = 0; t < w->nthreads; t++) w->lists[t].n = 0;
    /* Row of vertex k in the new list: k plus the kept crossings before it. */
    int64_t nk = K;
    for (int k = 0; k < K - 1; k++) {
        w->before[k] = nk - K;
        nk += w->count[k];
    }
    if (nk > w->cap) return -nk;
    /* New rows: old vertices copied, crossings interpolated (exact: affine inside a segment). */
#pragma omp parallel for schedule(dynamic, 4)
    for (int k = 0; k < K; k++) {
        const int64_t r = k + (k ? w->before[k - 1] + w->count[k - 1] : 0);
        memcpy(w->next + (size_t)r * W, w->cur + (size_t)k * W, in * sizeof(float));
        w->alpha2[r] = w->alpha[k];
        if (k == K - 1) continue;
        const float *za = w->cur + (size_t)k * W, *zb = w->cur + (size_t)(k + 1) * W;
        const double a = w->alpha[k], len = w->alpha[k + 1] - a;
        for (int64_t j = 0; j < w->count[k]; j++) {
            const double t = w->lists[w->tid[k]].v[w->start[k] + j];
            float *row = w->next + (size_t)(r + 1 + j) * W;
            for (size_t u = 0; u < in; u++) row[u] = (float)(za[u] + t * ((double)zb[u] - za[u]));
            w->alpha2[r + 1 + j] = a + t * len;
        }
    }
    float *t = w->cur;
    w->cur = w->next;
    w->next = t;
    double *ta = w->alpha;
    w->alpha = w->alpha2;
    w->alpha2 = ta;
    return nk;
}

static void add_regions(walker *w, int K)
{
    if (w->nseg + K > w->seg_cap) {
        w->seg_cap = 2 * (w->nseg + K);
        w->seg_lo = realloc(w->seg_lo, (size_t)w->seg_cap * sizeof *w->seg_lo);
        w->seg_hi = realloc(w->seg_hi, (size_t)w->seg_cap * sizeof *w->seg_hi);
        XAI_CHECK(w->seg_lo && w->seg_hi);
    }
    for (int k = 0; k + 1 < K; k++) {
        w->seg_lo[w->nseg] = w->alpha[k];
        w->seg_hi[w->nseg++] = w->alpha[k + 1];
    }
}

/* Walks [a, b] through every layer. When the vertices do not fit, [a, b] is cut into enough equal
 * pieces for twice the vertices needed so far (later layers add more), each walked from the
 * input again: one restart instead of a cascade of halvings. */
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
        if (l->type == XAI_RELU || l->type == XAI_MAXPOOL2D) {
            K = insert_vertices(w, l, (int)K);
            if (K < 0) {
                const int64_t need = -K;
                const int pieces = (int)(2 * need / w->cap + 2 < 64 ? 2 * need / w->cap + 2 : 64);
                if (depth > 60 || (b - a) / pieces <= 4 * w->tol)
                    return xai_fail(XAI_ESTATE, "ig:rule=exact: more than %d linear regions in an alpha interval of "
                                                "width %.3g; raise the vertex budget",
                                    w->cap, b - a);
                for (int p = 0; p < pieces; p++)
                    XAI_TRY(walk(w, a + (b - a) * p / pieces, p == pieces - 1 ? b : a + (b - a) * (p + 1) / pieces,
                                 depth + 1));
                return XAI_OK;
            }
        }
        apply_layer(w, l, (int)K);
    }
    add_regions(w, (int)K);
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

static xai_status walker_init(walker *w, xai_model *m, double tol, size_t budget)
{
    memset(w, 0, sizeof *w);
    w->m = m;
    w->tol = tol > 0 ? tol : EXACT_TOL;
    w->width = xai_shape_size(m->in);
    for (int i = 0; i < m->nlayers; i++) {
        size_t o = xai_shape_size(m->layers[i].out);
        if (o > w->width) w->width = o;
    }
    size_t rows = (budget ? budget : EXACT_BUDGET) / (2 * w->width * sizeof(float));
    if (rows < 4) return xai_fail(XAI_EINVAL, "ig:rule=exact: a vertex budget of %zu bytes holds fewer than 4 vertices", budget);
    w->cap = rows > (1u << 30) ? 1 << 30 : (int)rows;
    w->cur = xai_malloc((size_t)w->cap * w->width * sizeof(float));
    w->next = xai_malloc((size_t)w->cap * w->width * sizeof(float));
    w->alpha = xai_malloc((size_t)w->cap * sizeof(double));
    w->alpha2 = xai_malloc((size_t)w->cap * sizeof(double));
    w->count = xai_malloc((size_t)w->cap * sizeof(int64_t));
    w->start = xai_malloc((size_t)w->cap * sizeof(int64_t));
    w->before = xai_malloc((size_t)w->cap * sizeof(int64_t));
    w->tid = xai_malloc((size_t)w->cap * sizeof(int));
    /* A segment has at most one crossing per relu unit, and per max-pool window fewer than
     * its inputs (each line overtakes the winner at most once). */
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        size_t c = l->type == XAI_RELU ? xai_shape_size(l->in)
                   : l->type == XAI_MAXPOOL2D ? xai_shape_size(l->out) * (size_t)l->k * l->k : 0;
        if (c > w->scratch_per) w->scratch_per = c;
    }
#ifdef _OPENMP
    w->nthreads = omp_get_max_threads();
#else
    w->nthreads = 1;
#endif
    w->scratch = xai_malloc((w->nthreads * w->scratch_per + 1) * sizeof *w->scratch);
    w->lists = xai_calloc((size_t)w->nthreads, sizeof *w->lists);
    return XAI_OK;
}

static void walker_free(walker *w)
{
    free(w->cur), free(w->next), free(w->alpha), free(w->alpha2), free(w->count), free(w->scratch);
    free(w->start), free(w->before), free(w->tid);
    for (int t = 0; t < w->nthreads && w->lists; t++) free(w->lists[t].v);
    free(w->lists);
    free(w->seg_lo), free(w->seg_hi);
}

/* One image: regions, then their gradients weighted by their widths. */
static xai_status exact_one(walker *w, const float *x, const float *xb, int32_t target, float *attr, double *G,
                            xai_ig_exact_stats *st)
{
    const size_t isz = xai_shape_size(w->m->in);
    w->x = x, w->xb = xb, w->nseg = 0;
    XAI_TRY(walk(w, 0, 1, 0));
    double *mid = xai_malloc((size_t)w->nseg * sizeof *mid), *width = xai_malloc((size_t)w->nseg * sizeof *width);
    for (int64_t k = 0; k < w->nseg; k++) {
        mid[k] = 0.5 * (w->seg_lo[k] + w->seg_hi[k]);
        width[k] = w->seg_hi[k] - w->seg_lo[k];
    }
    path_rows p = {x, xb, mid, isz};
    xai_status s = w->nseg > INT32_MAX ? xai_fail(XAI_ESTATE, "ig:rule=exact: %lld regions", (long long)w->nseg)
                                       : xai_grad_accumulate(w->m, 1, (int)w->nseg, width, &target, fill_path_row, &p,
                                                             G, NULL);
    free(mid);
    free(width);
    if (s != XAI_OK) return s;
    double sum = 0;
    for (size_t j = 0; j < isz; j++) {
        attr[j] = (float)(((double)x[j] - xb[j]) * G[j]);
        sum += ((double)x[j] - xb[j]) * G[j];
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
    XAI_TRY(walker_init(&w, m, o ? o->tol : 0, o ? o->budget_bytes : 0));
    double *G = xai_malloc(isz * sizeof *G);
    xai_status s = XAI_OK;
    for (int i = 0; i < n && s == XAI_OK; i++) {
        const double t0 = xai_now();
        const float *xi = x + (size_t)i * isz, *bi = xb + (size_t)i * isz;
        xai_ig_exact_stats one = {0};
        s = exact_one(&w, xi, bi, target[i], attr + (size_t)i * isz, G, &one);
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
    free(G);
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
