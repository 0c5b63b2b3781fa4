/* conv_direct.c: stride-1 convolution without im2col, sample by sample: forward, input and weight gradients
 * as register-blocked kernels (conv_kernels.inc) over shifted input planes; picks their and xai_mm's vectors. */
#include "core/kernels.h"

#include <stdlib.h>
#include <string.h>

/* Planes are read in a "wide" layout: output pixel (y, x) sits at y * Wp + x,
 * where Wp is the (padded) input row pitch, so row k = (ci, ky, kx) of the
 * im2col matrix is the input plane ci shifted by ky * Wp + kx. The k - 1
 * columns past each output row are computed and thrown away. The input
 * gradient is the same kernel run on the output gradient padded by k - 1,
 * with the weights flipped and transposed. */

typedef void (*fwd_fn)(float *out, size_t ldo, const float *in, const int *shift, int K, const float *wp, int M,
                       int P);
typedef void (*wgrad_fn)(float *dwt, size_t ldc, int C, const float *dzt, const float *in, const int *shift, int K,
                         const int *pix, int np);
typedef void (*dzt_fn)(float *dzt, size_t ldc, float *gb, const float *d, const float *z, int co, int hwo);
typedef void (*mm_fn)(float *c, size_t ldc, const float *a, size_t lda, size_t ak, const float *b, size_t ldb, int M,
                      int K, int P, int acc);
typedef void (*tr_fn)(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols);
typedef int (*ratio_fn)(float *s, const float *R, const float *z, float bo, const float *zc, float e, float scale,
                        size_t len);

#define DECL(sfx)                                                                                                  \
    void xai_cd_fwd_##sfx(float *, size_t, const float *, const int *, int, const float *, int, int);             \
    void xai_cd_wgrad_##sfx(float *, size_t, int, const float *, const float *, const int *, int, const int *, int); \
    void xai_cd_dzt_##sfx(float *, size_t, float *, const float *, const float *, int, int);                      \
    void xai_mm_##sfx(float *, size_t, const float *, size_t, size_t, const float *, size_t, int, int, int, int);   \
    void xai_transpose_##sfx(float *, size_t, const float *, size_t, int, int);                                   \
    int xai_stab_ratio_##sfx(float *, const float *, const float *, float, const float *, float, float, size_t);  \
    extern const int xai_cd_mr_##sfx;
DECL(generic)
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define X86_KERNELS 1
#else
#define X86_KERNELS 0
#endif
#if X86_KERNELS
DECL(avx2)
DECL(avx512)
#endif

typedef struct {
    const char *name;
    int vl;        /* floats per vector */
    const int *mr; /* rows per forward block, as the kernels were built */
    fwd_fn fwd;
    wgrad_fn wgrad;
    dzt_fn dzt;
    mm_fn mm;      /* the fixed-order product (mm_kernels.inc) */
    tr_fn tr;      /* its operands' transposes */
    ratio_fn ratio; /* LRP's stabilised ratios */
} kernels;

static const kernels k_generic = {"generic", 4, &xai_cd_mr_generic, xai_cd_fwd_generic, xai_cd_wgrad_generic,
                                  xai_cd_dzt_generic, xai_mm_generic, xai_transpose_generic, xai_stab_ratio_generic};
#if X86_KERNELS
static const kernels k_avx2 = {"avx2", 8, &xai_cd_mr_avx2, xai_cd_fwd_avx2, xai_cd_wgrad_avx2, xai_cd_dzt_avx2,
                               xai_mm_avx2, xai_transpose_avx2, xai_stab_ratio_avx2};
static const kernels k_avx512 = {"avx512", 16, &xai_cd_mr_avx512, xai_cd_fwd_avx512, xai_cd_wgrad_avx512,
                                 xai_cd_dzt_avx512, xai_mm_avx512, xai_transpose_avx512, xai_stab_ratio_avx512};
#endif

/* The largest pixel tile of any kernel set (AVX-512's single-row tile): planes
 * smaller than this use im2col, on every CPU alike. */
#define TILE_MAX 64
#define MR_MAX 8
#define LDC_ALIGN 16 /* channel padding of the weight gradient, a multiple of every VL */
#define K_ALIGN 48   /* row padding of the weight gradient, a multiple of every row block */

static const kernels *active; /* also under im2col: its products and the linear layers' run on these */
static int use_im2col, chosen;

static int cpu_has(const char *isa)
{
#if X86_KERNELS
    __builtin_cpu_init();
    if (!strcmp(isa, "avx512")) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return !strcmp(isa, "generic");
}

xai_status xai_conv_impl_set(const char *name)
{
    const char *auto_pick = cpu_has("avx512") ? "avx512" : cpu_has("avx2") ? "avx2" : "generic";
    if (!name || !*name || !strcmp(name, "auto")) name = auto_pick;
    const int im2col = !strcmp(name, "im2col");
    if (im2col) name = auto_pick; /* the vector width of the fixed-order products */
    if (strcmp(name, "avx512") && strcmp(name, "avx2") && strcmp(name, "generic"))
        return xai_fail(XAI_EINVAL, "convolution: unknown implementation '%s' (expected auto, im2col, avx512, avx2 "
                                    "or generic)", name);
    if (!cpu_has(name))
        return xai_fail(XAI_EINVAL, "convolution: this CPU cannot run the '%s' kernels (it runs '%s')", name,
                        auto_pick);
#if X86_KERNELS
    active = !strcmp(name, "avx512") ? &k_avx512 : !strcmp(name, "avx2") ? &k_avx2 : &k_generic;
#else
    active = &k_generic;
#endif
    use_im2col = im2col;
    __atomic_store_n(&chosen, 1, __ATOMIC_RELEASE);
    return XAI_OK;
}

/* XAI_CONV in the environment picks the implementation; a bad value falls
 * back to auto with a warning rather than stopping a long run. Once, also when
 * the first call comes from threads at once (xai_mm runs inside parallel loops). */
static void choose(void)
{
    if (__atomic_load_n(&chosen, __ATOMIC_ACQUIRE)) return;
#pragma omp critical(xai_conv_choose)
    if (!__atomic_load_n(&chosen, __ATOMIC_ACQUIRE)) {
        const char *e = getenv("XAI_CONV");
        if (xai_conv_impl_set(e) != XAI_OK) {
            fprintf(stderr, "xai: warning: XAI_CONV: %s; using auto\n", xai_errmsg());
            xai_conv_impl_set("auto");
        }
    }
}

const char *xai_conv_impl_name(void)
{
    choose();
    return use_im2col ? "im2col" : active->name;
}

int xai_conv_vector_width(void)
{
    choose();
    return active->vl; /* im2col's products run on the widest vectors this CPU has */
}

void xai_mm(float *c, size_t ldc, const float *a, size_t lda, size_t ak, const float *b, size_t ldb, int M, int K,
            int P, int acc)
{
    choose();
    active->mm(c, ldc, a, lda, ak, b, ldb, M, K, P, acc);
}

void xai_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols)
{
    choose();
    active->tr(dst, ldd, src, lds, rows, cols);
}

int xai_stab_ratio(float *s, const float *R, const float *z, float bo, const float *zc, float e, float scale, size_t len)
{
    choose();
    return active->ratio(s, R, z, bo, zc, e, scale, len);
}

/* ---------------------------------------------------------------- geometry */

typedef struct {
    int ci, co, k, p, h, w, hp, wp, ho, wo;
    int kf, pf, ldo;   /* forward: K = ci*k*k, wide pixels, row pitch of the wide output */
    int hq, wq, kb, pb, ldob; /* input gradient: padded output gradient, K = co*k*k, wide pixels, pitch */
    int kp, ldc;       /* weight gradient: rows and channels, padded */
} geom;

static size_t up(size_t x, size_t a) { return (x + a - 1) / a * a; }

static void geom_of(const xai_layer *l, geom *g)
{
    g->ci = l->in.c, g->co = l->out.c, g->k = l->k, g->p = l->pad, g->h = l->in.h, g->w = l->in.w;
    g->hp = g->h + 2 * g->p, g->wp = g->w + 2 * g->p;
    g->ho = g->hp - g->k + 1, g->wo = g->wp - g->k + 1;
    g->kf = g->ci * g->k * g->k;
    g->pf = (g->ho - 1) * g->wp + g->wo;
    g->ldo = (int)up(g->pf, 16);
    g->hq = g->ho + 2 * (g->k - 1), g->wq = g->wo + 2 * (g->k - 1);
    g->kb = g->co * g->k * g->k;
    g->pb = (g->hp - 1) * g->wq + g->wp;
    g->ldob = (int)up(g->pb, 16);
    g->kp = (int)up(g->kf, K_ALIGN);
    g->ldc = (int)up(g->co, LDC_ALIGN);
}

int xai_conv_direct_ok(const xai_layer *l)
{
    choose();
    if (use_im2col || l->stride != 1 || l->out.h != l->in.h + 2 * l->pad - l->k + 1) return 0;
    geom g;
    geom_of(l, &g);
    return g.pf >= TILE_MAX && g.pb >= TILE_MAX;
}

/* Pieces are kept on their own cache lines. */
static size_t padsz(const geom *g) { return g->p ? up((size_t)g->ci * g->hp * g->wp, 16) : 0; }

size_t xai_conv_direct_scratch_floats(const xai_layer *l)
{
    geom g;
    geom_of(l, &g);
    size_t hwo = (size_t)g.ho * g.wo;
    size_t f = padsz(&g) + (size_t)(g.co + MR_MAX) * g.ldo;
    size_t b = padsz(&g) + up(hwo * g.ldc, 16) + up((size_t)g.co * g.hq * g.wq, 16) + (size_t)(g.ci + MR_MAX) * g.ldob +
               up((size_t)g.co * hwo, 16);
    return f > b ? f : b;
}

static size_t pack_w_floats(const geom *g)
{
    size_t f = (size_t)(g->co + MR_MAX) * g->kf, b = (size_t)(g->ci + MR_MAX) * g->kb;
    return up(f > b ? f : b, 16);
}

size_t xai_conv_direct_pack_floats(const xai_layer *l)
{
    geom g;
    geom_of(l, &g);
    /* then int tables: forward shifts, backward shifts, weight-gradient shifts, pixels */
    return pack_w_floats(&g) + (size_t)g.kf + g.kb + g.kp + (size_t)g.ho * g.wo;
}

size_t xai_conv_direct_gpart_floats(const xai_layer *l)
{
    geom g;
    geom_of(l, &g);
    return (size_t)(g.kp + 1) * g.ldc;
}

/* --------------------------------------------------------------- packing */

/* Rows left to single-row blocks once full blocks of mr stop (the kernels' rule). */
static int full_rows(int m, int mr)
{
    int m1 = 0;
    while (m - m1 > 2) m1 += mr;
    return m1;
}

/* dst = the (M, K) matrix src(m, kk) in the kernels' blocked layout. */
static void pack(float *dst, int M, int K, int mr, const float *w, const geom *g, int flip)
{
    const int m1 = full_rows(M, mr), rows = m1 > M ? m1 : M;
    memset(dst, 0, (size_t)rows * K * sizeof *dst);
    const int k = g->k, kk2 = k * k;
    for (int m = 0; m < M; m++) {
        const int b0 = m < m1 ? m / mr * mr : m, mb = m < m1 ? mr : 1;
        float *d = dst + (size_t)b0 * K + (m - b0);
        if (!flip) /* forward: row co is w[co] as it is */
            for (int j = 0; j < K; j++) d[(size_t)j * mb] = w[(size_t)m * K + j];
        else /* input gradient: row ci, column (co, ky, kx) is w[co, ci, k-1-ky, k-1-kx] */
            for (int j = 0; j < K; j++) {
                const int co = j / kk2, r = j % kk2;
                d[(size_t)j * mb] = w[((size_t)co * g->ci + m) * kk2 + (kk2 - 1 - r)];
            }
    }
}

static void shifts(int *sh, int c, int k, int plane, int pitch)
{
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) *sh++ = ch * plane + ky * pitch + kx;
}

static const float *padded(float *dst, const float *x /* (Ci, H, W) */, const geom *g)
{
    if (!g->p) return x;
    memset(dst, 0, (size_t)g->ci * g->hp * g->wp * sizeof *dst);
    for (int c = 0; c < g->ci; c++)
        for (int y = 0; y < g->h; y++)
            memcpy(dst + ((size_t)c * g->hp + y + g->p) * g->wp + g->p, x + ((size_t)c * g->h + y) * g->w,
                   g->w * sizeof *dst);
    return dst;
}

/* ---------------------------------------------------------------- forward */

void xai_conv_direct_forward(float *z, float *relu_out, float *pool_out, int32_t *argmax, const float *in,
                             const xai_layer *l, int n)
{
    geom g;
    geom_of(l, &g);
    choose();
    const kernels *kr = active;
    float *wp = l->ws->pack;
    int *sh = (int *)(wp + pack_w_floats(&g));
    pack(wp, g.co, g.kf, *kr->mr, l->w, &g, 0);
    shifts(sh, g.ci, g.k, g.hp * g.wp, g.wp);
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out), hwo = (size_t)g.ho * g.wo;
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int i = 0; i < n; i++) {
        float *s = xai_conv_thread_scratch(l), *wide = s + padsz(&g);
        const float *x = padded(s, in + i * isz, &g);
        kr->fwd(wide, g.ldo, x, sh, g.kf, wp, g.co, g.pf);
        for (int o = 0; o < g.co; o++) {
            const float b = l->bias ? l->b[o] : 0.0f;
            const float *wo = wide + (size_t)o * g.ldo;
            float *zo = z ? z + i * osz + o * hwo : NULL, *ro = relu_out ? relu_out + i * osz + o * hwo : NULL;
            for (int y = 0; zo || ro ? y < g.ho : 0; y++) {
                const float *wr = wo + (size_t)y * g.wp;
                float *zr = zo ? zo + y * g.wo : NULL, *rr = ro ? ro + y * g.wo : NULL;
                if (zr && rr)
                    for (int x0 = 0; x0 < g.wo; x0++) {
                        const float v = wr[x0] + b;
                        zr[x0] = v;
                        rr[x0] = v > 0 ? v : 0.0f;
                    }
                else if (zr)
                    for (int x0 = 0; x0 < g.wo; x0++) zr[x0] = wr[x0] + b;
                else
                    for (int x0 = 0; x0 < g.wo; x0++) {
                        const float v = wr[x0] + b;
                        rr[x0] = v > 0 ? v : 0.0f;
                    }
            }
            if (!pool_out) continue;
            /* relu, then the 2x2 max pool of xai_maxpool2d_forward with its tie rule,
             * from the rows still in cache */
            const int hpo = g.ho / 2, wpo = g.wo / 2;
            float *po = pool_out + ((size_t)i * g.co + o) * hpo * wpo;
            int32_t *am = argmax + ((size_t)i * g.co + o) * hpo * wpo;
            for (int oy = 0; oy < hpo; oy++) {
                const float *r0 = wo + (size_t)(2 * oy) * g.wp, *r1 = r0 + g.wp;
                const int base = (o * g.ho + 2 * oy) * g.wo;
                for (int ox = 0; ox < wpo; ox++) {
                    const int j = 2 * ox;
                    float v0 = r0[j] + b, v1 = r0[j + 1] + b, v2 = r1[j] + b, v3 = r1[j + 1] + b;
                    v0 = v0 > 0 ? v0 : 0.0f, v1 = v1 > 0 ? v1 : 0.0f, v2 = v2 > 0 ? v2 : 0.0f, v3 = v3 > 0 ? v3 : 0.0f;
                    float best = v0;
                    int bj = j;
                    if (v1 > best) best = v1, bj = j + 1;
                    if (v2 > best) best = v2, bj = g.wo + j;
                    if (v3 > best) best = v3, bj = g.wo + j + 1;
                    po[oy * wpo + ox] = best;
                    am[oy * wpo + ox] = base + bj;
                }
            }
        }
    }
}

/* --------------------------------------------------------------- backward */

/* Max-pool backward then the relu mask, for sample i: the winner of each window
 * gets the gradient when its relu passed (the pooled value is > 0; pooled NULL:
 * always, as relevance passes a relu). */
static void unpool_relu(float *dense /* (Co, Ho, Wo) */, const float *dpool, const float *pooled,
                        const int32_t *argmax, int i, const geom *g)
{
    const size_t psz = (size_t)g->co * (g->ho / 2) * (g->wo / 2);
    const float *dp = dpool + i * psz, *pv = pooled ? pooled + i * psz : NULL;
    const int32_t *am = argmax + i * psz;
    memset(dense, 0, (size_t)g->co * g->ho * g->wo * sizeof *dense);
    for (size_t q = 0; q < psz; q++)
        if (!pv || pv[q] > 0) dense[am[q]] = dp[q];
}

/* The output gradient d, masked by z > 0 when z is given, into the (k - 1)-padded planes of dzp. */
static void spread_masked(float *dzp /* (Co, Hq, Wq) */, const float *d /* (Co, Ho, Wo) */, const float *z,
                          const geom *g)
{
    const int q = g->k - 1;
    const size_t hwo = (size_t)g->ho * g->wo;
    for (int o = 0; o < g->co; o++)
        for (int y = 0; y < g->ho; y++) {
            const float *dr = d + o * hwo + y * g->wo, *zr = z ? z + o * hwo + y * g->wo : NULL;
            float *pr = dzp + ((size_t)o * g->hq + y + q) * g->wq + q;
            if (zr)
                for (int x0 = 0; x0 < g->wo; x0++) {
                    const float v = dr[x0];
                    pr[x0] = zr[x0] > 0 ? v : 0.0f;
                }
            else
                memcpy(pr, dr, g->wo * sizeof *pr);
        }
}

/* The input gradient of one sample from the kernel's wide rows, set or accumulated. */
static void store_din(float *di /* (Ci, H, W) */, const float *wide /* (Ci rows, ldob) */, const geom *g,
                      int overwrite)
{
    for (int ch = 0; ch < g->ci; ch++)
        for (int y = 0; y < g->h; y++) {
            const float *wr = wide + (size_t)ch * g->ldob + (size_t)(y + g->p) * g->wq + g->p;
            float *dr = di + ((size_t)ch * g->h + y) * g->w;
            if (overwrite) memcpy(dr, wr, g->w * sizeof *dr);
            else
                for (int x0 = 0; x0 < g->w; x0++) dr[x0] += wr[x0];
        }
}

/* Reduces the chunk partials in chunk order: the same sums whatever the thread count. */
static void reduce_wgrad(const xai_layer *l, const geom *g, int nch)
{
    const size_t nw = l->nw, kf = g->kf, ldc = g->ldc, gs = xai_conv_direct_gpart_floats(l);
    const float *gpart = l->ws->gpart;
#pragma omp parallel for schedule(static) if ((nw + l->nb) * nch > XAI_PAR_MIN)
    for (size_t j = 0; j < nw + l->nb; j++) {
        const size_t off = j < nw ? (j % kf) * ldc + j / kf : (size_t)g->kp * ldc + (j - nw);
        float acc = 0;
        for (int c = 0; c < nch; c++) acc += gpart[(size_t)c * gs + off];
        if (j < nw) l->gw[j] += acc;
        else l->gb[j - nw] += acc;
    }
}

void xai_conv_direct_backward(float *din, const float *dout, const float *z, const float *dpool, const float *pooled,
                              const int32_t *argmax, const float *in, const xai_layer *l, int n, int overwrite)
{
    const int want_w = l->gw != NULL;
    if (!want_w && !din) return;
    geom g;
    geom_of(l, &g);
    choose();
    const kernels *kr = active;
    float *wp = l->ws->pack;
    int *shb = (int *)(wp + pack_w_floats(&g)), *shw = shb + g.kb, *pix = shw + g.kp;
    if (din) {
        pack(wp, g.ci, g.kb, *kr->mr, l->w, &g, 1);
        shifts(shb, g.co, g.k, g.hq * g.wq, g.wq);
    }
    if (want_w) {
        shifts(shw, g.ci, g.k, g.hp * g.wp, g.wp);
        for (int j = g.kf; j < g.kp; j++) shw[j] = 0; /* padding rows: any valid pixel, results unused */
        for (int y = 0; y < g.ho; y++)
            for (int x = 0; x < g.wo; x++) pix[y * g.wo + x] = y * g.wp + x;
    }
    const size_t isz = xai_shape_size(l->in), osz = xai_shape_size(l->out), hwo = (size_t)g.ho * g.wo;
    const size_t gs = xai_conv_direct_gpart_floats(l), ldc = g.ldc;
    const int nch = xai_nchunks(n);
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int c = 0; c < nch; c++) {
        float *s = xai_conv_thread_scratch(l);
        float *dzt = s + padsz(&g);                        /* (HWo, ldc) */
        float *dzp = dzt + up(hwo * ldc, 16);              /* (Co, Hq, Wq) */
        float *wide = dzp + up((size_t)g.co * g.hq * g.wq, 16); /* (Ci rows, ldob) */
        float *dense = wide + (size_t)(g.ci + MR_MAX) * g.ldob;    /* (Co, HWo): the gradient behind a pool */
        float *gp = l->ws->gpart + (size_t)c * gs;             /* (Kp, ldc) then the bias (ldc) */
        if (want_w) {
            memset(gp, 0, gs * sizeof *gp);
            memset(dzt, 0, hwo * ldc * sizeof *dzt); /* channels past Co stay zero */
        }
        if (din) memset(dzp, 0, (size_t)g.co * g.hq * g.wq * sizeof *dzp); /* borders stay zero */
        const int hi = xai_chunk_lo(c + 1, n, nch);
        for (int i = xai_chunk_lo(c, n, nch); i < hi; i++) {
            const float *d = dpool ? dense : dout + i * osz, *zi = z ? z + i * osz : NULL;
            if (dpool) unpool_relu(dense, dpool, pooled, argmax, i, &g);
            if (want_w) {
                kr->dzt(dzt, ldc, gp + (size_t)g.kp * ldc, d, zi, g.co, (int)hwo);
                const float *x = padded(s, in + i * isz, &g);
                kr->wgrad(gp, ldc, (int)ldc, dzt, x, shw, g.kf, pix, (int)hwo);
            }
            if (din) {
                spread_masked(dzp, d, zi, &g);
                kr->fwd(wide, g.ldob, dzp, shb, g.kb, wp, g.ci, g.pb);
                store_din(din + i * isz, wide, &g, overwrite);
            }
        }
    }
    if (want_w) reduce_wgrad(l, &g, nch);
}

/* ------------------------------------------------- other weights (LRP rules) */

/* Weights other than the layer's (an LRP rule's w+, w-, w + gamma w+) are packed
 * once, in the layout of the kernels chosen then, and reused for every batch. */
const int32_t *xai_maxpool2d_argmax(const xai_layer *pool) { return pool->ws->argmax; }

size_t xai_conv2d_packed_floats(const xai_layer *l)
{
    geom g;
    geom_of(l, &g);
    return pack_w_floats(&g);
}

void xai_conv2d_pack(float *dst, const float *w, const xai_layer *l, int transposed)
{
    geom g;
    geom_of(l, &g);
    choose();
    if (transposed) pack(dst, g.ci, g.kb, *active->mr, w, &g, 1);
    else pack(dst, g.co, g.kf, *active->mr, w, &g, 0);
}

void xai_conv2d_at_argmax(float *zq, const float *packed, const float *in, const xai_layer *conv,
                          const xai_layer *pool, int n)
{
    XAI_CHECK(xai_conv2d_relu_pool_ok(conv, pool));
    geom g;
    geom_of(conv, &g);
    const kernels *kr = active;
    int *sh = (int *)(conv->ws->pack + pack_w_floats(&g));
    shifts(sh, g.ci, g.k, g.hp * g.wp, g.wp);
    const size_t isz = xai_shape_size(conv->in), hwo = (size_t)g.ho * g.wo;
    const size_t pq = (size_t)(g.ho / 2) * (g.wo / 2), psz = (size_t)g.co * pq;
#pragma omp parallel for schedule(static) if ((size_t)n * (psz + isz) > XAI_PAR_MIN)
    for (int i = 0; i < n; i++) {
        float *s = xai_conv_thread_scratch(conv), *wide = s + padsz(&g);
        const float *x = padded(s, in + i * isz, &g);
        kr->fwd(wide, g.ldo, x, sh, g.kf, packed, g.co, g.pf);
        const int32_t *am = pool->ws->argmax + i * psz;
        float *zi = zq + i * psz;
        for (int o = 0; o < g.co; o++)
            for (size_t q = o * pq; q < (o + 1) * pq; q++) {
                const int r = am[q] - (int)(o * hwo), y = r / g.wo, x0 = r % g.wo;
                zi[q] = wide[(size_t)o * g.ldo + (size_t)y * g.wp + x0] + 0.0f; /* as a conv without bias adds its 0 */
            }
    }
}

/* One sample's relevance of the input: (0 + v1 + v2 ...) * x, the sums of xai_conv2d_backward
 * into a zeroed buffer followed by the product, in the same order. */
static void store_rel(float *di, const float *wide, const geom *g, int first)
{
    for (int ch = 0; ch < g->ci; ch++)
        for (int y = 0; y < g->h; y++) {
            const float *wr = wide + (size_t)ch * g->ldob + (size_t)(y + g->p) * g->wq + g->p;
            float *dr = di + ((size_t)ch * g->h + y) * g->w;
            if (first)
                for (int x0 = 0; x0 < g->w; x0++) dr[x0] = 0.0f + wr[x0];
            else
                for (int x0 = 0; x0 < g->w; x0++) dr[x0] += wr[x0];
        }
}

/* The geometry of conv and the shifts of its input-gradient kernel (in its pack area), for the
 * relevance passes with other weights below. */
static const int *relevance_shifts(const xai_layer *conv, geom *g)
{
    choose();
    geom_of(conv, g);
    int *shb = (int *)(conv->ws->pack + pack_w_floats(g));
    shifts(shb, g->co, g->k, g->hq * g->wq, g->wq);
    return shb;
}

void xai_conv2d_backward_sets(float *const *din, int nsets, const float *const *packed, const float *dz,
                              const xai_layer *conv, int n)
{
    XAI_CHECK(xai_conv_direct_ok(conv) && nsets >= 1);
    geom g;
    const int *shb = relevance_shifts(conv, &g);
    const kernels *kr = active;
    const size_t isz = xai_shape_size(conv->in), osz = xai_shape_size(conv->out), hwo = (size_t)g.ho * g.wo;
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int i = 0; i < n; i++) {
        /* the scratch layout of xai_conv_direct_backward */
        float *sc = xai_conv_thread_scratch(conv);
        float *dzp = sc + padsz(&g) + up(hwo * g.ldc, 16);
        float *wide = dzp + up((size_t)g.co * g.hq * g.wq, 16);
        memset(dzp, 0, (size_t)g.co * g.hq * g.wq * sizeof *dzp); /* borders stay zero */
        spread_masked(dzp, dz + i * osz, NULL, &g);
        for (int j = 0; j < nsets; j++) {
            kr->fwd(wide, g.ldob, dzp, shb, g.kb, packed[j], g.ci, g.pb);
            store_rel(din[j] + i * isz, wide, &g, 1);
        }
    }
}

void xai_conv2d_pool_relevance(float *rin, int nsets, const float *const *packed, const float *const *s,
                               const float *in, const xai_layer *conv, const xai_layer *pool, int n)
{
    XAI_CHECK(xai_conv2d_relu_pool_ok(conv, pool) && nsets >= 1);
    geom g;
    const int *shb = relevance_shifts(conv, &g);
    const kernels *kr = active;
    const size_t isz = xai_shape_size(conv->in), osz = xai_shape_size(conv->out), hwo = (size_t)g.ho * g.wo;
    const size_t ldc = g.ldc;
#pragma omp parallel for schedule(static) if ((size_t)n * (osz + isz) > XAI_PAR_MIN)
    for (int i = 0; i < n; i++) {
        /* the scratch layout of xai_conv_direct_backward */
        float *sc = xai_conv_thread_scratch(conv);
        float *dzp = sc + padsz(&g) + up(hwo * ldc, 16);
        float *wide = dzp + up((size_t)g.co * g.hq * g.wq, 16);
        float *dense = wide + (size_t)(g.ci + MR_MAX) * g.ldob;
        memset(dzp, 0, (size_t)g.co * g.hq * g.wq * sizeof *dzp); /* borders stay zero */
        float *ri = rin + i * isz;
        for (int j = 0; j < nsets; j++) {
            unpool_relu(dense, s[j], NULL, pool->ws->argmax, i, &g);
            spread_masked(dzp, dense, NULL, &g);
            kr->fwd(wide, g.ldob, dzp, shb, g.kb, packed[j], g.ci, g.pb);
            store_rel(ri, wide, &g, j == 0);
        }
        if (!in) continue; /* the input-free rules (flat, w^2) */
        const float *xi = in + i * isz;
        for (size_t j = 0; j < isz; j++) ri[j] *= xi[j];
    }
}
