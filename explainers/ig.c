/* ig.c: Integrated Gradients: quadrature rules, baselines, and the batched input-gradient engine
 * that IG, SmoothGrad and plain gradients share (all rows of several images in one batch). */
#include "explainers/explain.h"
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static xai_status check_targets(const xai_model *m, const int32_t *target, int n, const char *who)
{
    if (n < 0) return xai_fail(XAI_EINVAL, "%s: image count %d is negative", who, n);
    for (int i = 0; i < n; i++)
        if (target[i] < 0 || target[i] >= m->nclasses)
            return xai_fail(XAI_EINVAL, "%s: target %d of image %d is not a class of the model (0..%d)", who,
                            (int)target[i], i, m->nclasses - 1);
    return XAI_OK;
}

/* ------------------------------------------------- batched input gradients */

/* Takes the input gradients dx (nb rows of isz) of rows first .. first + nb - 1 of a grad_rows
 * call, pixels [j0, j1) only: blocks of pixels are handed out in parallel, each block's rows in
 * order, so sums taken in the sink do not depend on the thread count. */
typedef void (*grad_sink)(void *ctx, const float *dx, size_t isz, long first, int nb, size_t j0, size_t j1);

/* The batched path that every gradient-based explainer shares: rows (image i, k) for k < per_image
 * written by fill, m->max_batch rows a batch, the gradient of each row's target logit handed to
 * sink; *rows_done (may be NULL) counts the rows. The output gradient is 1 on every row: a row's
 * gradient does not depend on the weight a caller gives it (sinks apply weights in double), so
 * IG runs that share a node can share its gradient (xai_ig_grid). */
static xai_status grad_rows(xai_model *m, int n, int per_image, const int32_t *target, xai_row_fn fill, void *ctx,
                            grad_sink sink, void *sctx, float *row_logit, int64_t *rows_done)
{
    const size_t isz = xai_shape_size(m->in);
    const int K = m->nclasses, rows = m->max_batch;
    if (n == 0) return XAI_OK;
    xai_eval_scope st = xai_eval_begin(m, 1); /* gradients need no activation a fused pool skips */
    float *dlogits = xai_calloc((size_t)rows * K, sizeof *dlogits);
    const long total = (long)n * per_image;
    for (long start = 0; start < total; start += rows) {
        const int nb = (int)(total - start < rows ? total - start : rows);
        float *xin = m->acts[0];
#pragma omp parallel for schedule(static)
        for (int r = 0; r < nb; r++) {
            long idx = start + r;
            fill(ctx, xin + (size_t)r * isz, (int)(idx / per_image), (int)(idx % per_image));
        }
        const float *logits = xai_model_forward(m, xin, nb);
        memset(dlogits, 0, (size_t)nb * K * sizeof *dlogits);
        for (int r = 0; r < nb; r++) {
            const int i = (int)((start + r) / per_image);
            dlogits[(size_t)r * K + target[i]] = 1;
            if (row_logit) row_logit[start + r] = logits[(size_t)r * K + target[i]];
        }
        xai_model_backward(m, dlogits, nb, 1);
        if (rows_done) *rows_done += nb;
        const float *dx = m->dx;
        const size_t blk = 512, nblk = (isz + blk - 1) / blk;
#pragma omp parallel for schedule(static)
        for (size_t b = 0; b < nblk; b++) {
            const size_t j0 = b * blk, j1 = j0 + blk < isz ? j0 + blk : isz;
            sink(sctx, dx, isz, start, nb, j0, j1);
        }
    }
    free(dlogits);
    xai_eval_end(m, st);
    return XAI_OK;
}

/* g[j] += w d[j] for j in [j0, j1): the one place a weighted gradient is added, so that every
 * caller rounds alike. */
static inline void add_weighted(double *g, const float *d, double w, size_t j0, size_t j1)
{
#pragma omp simd
    for (size_t j = j0; j < j1; j++) g[j] += w * d[j];
}

typedef struct {
    double *G;
    const double *weight;
    int per_image;
} accumulate_sink;

static void accumulate_add(void *ctx, const float *dx, size_t isz, long first, int nb, size_t j0, size_t j1)
{
    const accumulate_sink *a = ctx;
    for (int r = 0; r < nb; r++) {
        const long idx = first + r;
        add_weighted(a->G + (size_t)(idx / a->per_image) * isz, dx + (size_t)r * isz, a->weight[idx % a->per_image],
                     j0, j1);
    }
}

xai_status xai_grad_accumulate(xai_model *m, int n, int per_image, const double *weight, const int32_t *target,
                               xai_row_fn fill, void *ctx, double *G, float *row_logit)
{
    if (per_image < 1) return xai_fail(XAI_EINVAL, "gradient engine: %d rows per image (expected >= 1)", per_image);
    XAI_TRY(check_targets(m, target, n, "gradient engine"));
    memset(G, 0, (size_t)n * xai_shape_size(m->in) * sizeof *G);
    accumulate_sink a = {G, weight, per_image};
    return grad_rows(m, n, per_image, target, fill, ctx, accumulate_add, &a, row_logit, NULL);
}

/* --------------------------------------------------------------- quadrature */

static const char *quad_names[XAI_QUAD_RULES] = {"left", "right", "midpoint", "trapezoid", "gauss"};

const char *xai_quad_rule_name(xai_quad_rule r) { return (unsigned)r < XAI_QUAD_RULES ? quad_names[r] : "unknown"; }

int xai_quad_rule_from_name(const char *name)
{
    static const struct { const char *alias; xai_quad_rule r; } aliases[] = {
        {"riemann_left", XAI_QUAD_LEFT},           {"riemann_right", XAI_QUAD_RIGHT},
        {"riemann_middle", XAI_QUAD_MIDPOINT},     {"riemann_trapezoid", XAI_QUAD_TRAPEZOID},
        {"gausslegendre", XAI_QUAD_GAUSS},         {"gauss-legendre", XAI_QUAD_GAUSS},
        {"trapezoidal", XAI_QUAD_TRAPEZOID},       {"middle", XAI_QUAD_MIDPOINT}};
    for (int i = 0; i < XAI_QUAD_RULES; i++)
        if (!strcmp(name, quad_names[i])) return i;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(name, aliases[i].alias)) return aliases[i].r;
    return -1;
}

/* Gauss-Legendre on [-1, 1] by Newton's method on P_n, in double; mapped to [0, 1]. */
static void gauss_legendre(int n, double *alpha, double *weight)
{
    for (int i = 0; i < (n + 1) / 2; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (x * p1 - p0) / (x * x - 1);
            double dx = p1 / dp;
            x -= dx;
            if (fabs(dx) < 1e-16) break;
        }
        /* Recompute the derivative at the converged root for the weight. */
        double p0 = 1, p1 = x;
        for (int k = 2; k <= n; k++) {
            double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = n == 1 ? 1 : n * (x * p1 - p0) / (x * x - 1);
        double w = 2 / ((1 - x * x) * dp * dp);
        /* x > 0 here: the root nearest +1 first; fill symmetric pairs in ascending alpha. */
        alpha[n - 1 - i] = (1 + x) / 2, weight[n - 1 - i] = w / 2;
        alpha[i] = (1 - x) / 2, weight[i] = w / 2;
    }
    if (n % 2) alpha[n / 2] = 0.5;
}

xai_status xai_quadrature(xai_quad_rule r, int steps, double *alpha, double *weight)
{
    if ((unsigned)r >= XAI_QUAD_RULES) return xai_fail(XAI_EINVAL, "IG: unknown quadrature rule %d", (int)r);
    if (steps < 1 || (r == XAI_QUAD_TRAPEZOID && steps < 2))
        return xai_fail(XAI_EINVAL, "IG: %d steps with the %s rule (expected at least %d)", steps, quad_names[r],
                        r == XAI_QUAD_TRAPEZOID ? 2 : 1);
    if (r == XAI_QUAD_GAUSS && steps > XAI_GAUSS_MAX_STEPS)
        return xai_fail(XAI_EINVAL,
                        "IG: %d steps with the gauss rule (at most %d: its nodes cost O(steps^2); use midpoint "
                        "for more)",
                        steps, XAI_GAUSS_MAX_STEPS);
    const int S = steps;
    switch (r) {
    case XAI_QUAD_LEFT:
        for (int k = 0; k < S; k++) alpha[k] = (double)k / S, weight[k] = 1.0 / S;
        break;
    case XAI_QUAD_RIGHT:
        for (int k = 0; k < S; k++) alpha[k] = (double)(k + 1) / S, weight[k] = 1.0 / S;
        break;
    case XAI_QUAD_MIDPOINT:
        for (int k = 0; k < S; k++) alpha[k] = (k + 0.5) / S, weight[k] = 1.0 / S;
        break;
    case XAI_QUAD_TRAPEZOID:
        /* S points span S-1 intervals: weights 1/(S-1), ends halved, so they sum to exactly 1. */
        for (int k = 0; k < S; k++) alpha[k] = (double)k / (S - 1), weight[k] = 1.0 / (S - 1);
        weight[0] *= 0.5;
        weight[S - 1] *= 0.5;
        break;
    case XAI_QUAD_GAUSS: gauss_legendre(S, alpha, weight); break;
    default: break;
    }
    return XAI_OK;
}

/* ---------------------------------------------------------------- baselines */

static const char *base_names[XAI_BASE_KINDS] = {"black", "const", "mean", "uniform", "blur"};

const char *xai_baseline_name(xai_baseline_kind k) { return (unsigned)k < XAI_BASE_KINDS ? base_names[k] : "unknown"; }

int xai_baseline_from_name(const char *name)
{
    for (int i = 0; i < XAI_BASE_KINDS; i++)
        if (!strcmp(name, base_names[i])) return i;
    if (!strcmp(name, "zero")) return XAI_BASE_BLACK;
    if (!strcmp(name, "constant")) return XAI_BASE_CONST;
    if (!strcmp(name, "noise")) return XAI_BASE_UNIFORM;
    if (!strcmp(name, "blurred")) return XAI_BASE_BLUR;
    return -1;
}

void xai_ig_defaults(xai_ig_opts *o)
{
    memset(o, 0, sizeof *o);
    o->steps = 50;
    o->rule = XAI_QUAD_GAUSS;
    o->baseline = XAI_BASE_BLACK;
    o->value = 0;
    o->sigma = 5;
    o->seed = 1;
}

xai_status xai_ig_check(const xai_ig_opts *o)
{
    if ((unsigned)o->rule >= XAI_QUAD_RULES)
        return xai_fail(XAI_EINVAL, "IG: rule %d is not one of left, right, midpoint, trapezoid, gauss", (int)o->rule);
    if (o->steps < 1 || (o->rule == XAI_QUAD_TRAPEZOID && o->steps < 2))
        return xai_fail(XAI_EINVAL, "IG: steps=%d with rule %s (expected >= %d)", o->steps, quad_names[o->rule],
                        o->rule == XAI_QUAD_TRAPEZOID ? 2 : 1);
    if (o->steps > 1000000) return xai_fail(XAI_EINVAL, "IG: steps=%d is more than 1000000", o->steps);
    if (o->rule == XAI_QUAD_GAUSS && o->steps > XAI_GAUSS_MAX_STEPS)
        return xai_fail(XAI_EINVAL,
                        "IG: steps=%d with rule gauss is more than %d (Gauss-Legendre nodes cost O(steps^2); "
                        "rule=midpoint takes up to 1000000)",
                        o->steps, XAI_GAUSS_MAX_STEPS);
    if ((unsigned)o->baseline >= XAI_BASE_KINDS)
        return xai_fail(XAI_EINVAL, "IG: baseline %d is not one of black, const, mean, uniform, blur", (int)o->baseline);
    if (o->baseline == XAI_BASE_BLUR && !(o->sigma > 0 && o->sigma <= 1000))
        return xai_fail(XAI_EINVAL, "IG: blur sigma=%g must be in (0, 1000] pixels", o->sigma);
    if (o->baseline == XAI_BASE_CONST && !isfinite(o->value))
        return xai_fail(XAI_EINVAL, "IG: const baseline value=%g must be finite", o->value);
    return XAI_OK;
}

/* The baseline kinds are perturb.c's reference kinds, in the same order. */
_Static_assert((int)XAI_BASE_BLACK == (int)XAI_REF_BLACK && (int)XAI_BASE_CONST == (int)XAI_REF_CONST &&
                   (int)XAI_BASE_MEAN == (int)XAI_REF_MEAN && (int)XAI_BASE_UNIFORM == (int)XAI_REF_UNIFORM &&
                   (int)XAI_BASE_BLUR == (int)XAI_REF_BLUR && (int)XAI_BASE_KINDS == (int)XAI_REF_KINDS,
               "IG baselines and reference images must line up");
void xai_ig_baseline(float *xb, const float *x, xai_shape s, const xai_ig_opts *o, const float *mean,
                     const float *std, uint64_t image_id, float *scratch)
{
    /* IG's uniform baseline is its own stream, not the noise removal reference it may be scored against. */
    const xai_ref_opts r = {(xai_ref_kind)o->baseline, o->value, o->sigma,
                            xai_noise_seed(o->seed, XAI_NOISE_IG_BASELINE)};
    xai_ref_image(xb, x, s, &r, mean, std, image_id, scratch);
}

/* ----------------------------------------------------------------------- IG */

typedef struct {
    const float *x, *xb;
    const double *alpha;
    size_t isz;
} ig_rows;

static void ig_fill(void *ctx, float *row, int i, int k)
{
    const ig_rows *c = ctx;
    const float *x = c->x + (size_t)i * c->isz, *b = c->xb + (size_t)i * c->isz;
    const float a = (float)c->alpha[k];
#pragma omp simd
    for (size_t j = 0; j < c->isz; j++) row[j] = b[j] + a * (x[j] - b[j]);
}

/* attr = (x - x') G per pixel; delta and fbase from the target logits of x and x'. */
static void ig_finish(xai_model *m, const float *x, const float *xb, const int32_t *target, int n, const double *G,
                      float *attr, double *delta, double *fbase)
{
    const size_t isz = xai_shape_size(m->in);
    float *fx = NULL, *fb = NULL;
    if (delta || fbase) {
        fx = xai_malloc(2 * (size_t)n * sizeof *fx);
        fb = fx + n;
        xai_model_target_logits(m, x, target, n, fx);
        xai_model_target_logits(m, xb, target, n, fb);
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * isz, *bi = xb + (size_t)i * isz;
        const double *g = G + (size_t)i * isz;
        float *a = attr + (size_t)i * isz;
        double sum = 0;
        for (size_t j = 0; j < isz; j++) {
            double v = ((double)xi[j] - bi[j]) * g[j];
            a[j] = (float)v;
            sum += v;
        }
        if (delta) delta[i] = sum - ((double)fx[i] - fb[i]);
        if (fbase) fbase[i] = fb[i];
    }
    free(fx);
}

xai_status xai_ig(xai_model *m, const xai_ig_opts *o, const float *x, const float *xb, const int32_t *target,
                  const int64_t *ids, int n, float *attr, double *delta, double *fbase)
{
    XAI_TRY(xai_ig_check(o));
    XAI_TRY(check_targets(m, target, n, "IG"));
    if (n == 0) return XAI_OK;
    const size_t isz = xai_shape_size(m->in);
    double *alpha = xai_malloc((size_t)o->steps * sizeof *alpha), *w = xai_malloc((size_t)o->steps * sizeof *w);
    float *own = NULL;
    double *G = NULL;
    xai_status s = XAI_OK;
    if ((s = xai_quadrature(o->rule, o->steps, alpha, w)) != XAI_OK) goto done;
    if (!xb) {
        own = xai_malloc(2 * (size_t)n * isz * sizeof *own);
        float *scratch = own + (size_t)n * isz;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++)
            xai_ig_baseline(own + (size_t)i * isz, x + (size_t)i * isz, m->in, o, m->mean, m->std,
                            ids ? (uint64_t)ids[i] : (uint64_t)i, scratch + (size_t)i * isz);
        xb = own;
    }
    G = xai_malloc((size_t)n * isz * sizeof *G);
    ig_rows rc = {x, xb, alpha, isz};
    if ((s = xai_grad_accumulate(m, n, o->steps, w, target, ig_fill, &rc, G, NULL)) != XAI_OK) goto done;
    ig_finish(m, x, xb, target, n, G, attr, delta, fbase);
done:
    free(G);
    free(own);
    free(alpha);
    free(w);
    return s;
}

/* ------------------------------------------------ IG under many quadratures */

/* The distinct nodes of every rule x steps run, ascending, and which runs use each with what weight. */
typedef struct {
    double alpha;
    int run, k;
    double w;
} grid_point;

typedef struct {
    int nnodes;
    double *alpha;    /* (nnodes) ascending */
    int *first;       /* (nnodes + 1): the uses of node u are use[first[u] .. first[u + 1]) */
    grid_point *use;  /* every run's points, by node, then run, then k */
} grid_plan;

static int point_cmp(const void *pa, const void *pb)
{
    const grid_point *a = pa, *b = pb;
    if (a->alpha != b->alpha) return a->alpha < b->alpha ? -1 : 1;
    if (a->run != b->run) return a->run < b->run ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

static void grid_plan_free(grid_plan *p)
{
    free(p->alpha);
    free(p->first);
    free(p->use);
    memset(p, 0, sizeof *p);
}

/* Nodes are merged when they are equal as doubles: the nested grids of left, right, midpoint and
 * trapezoid (k/S is correctly rounded, so equal fractions give equal doubles); a node no other run
 * has is evaluated for its run alone. */
static xai_status grid_plan_make(grid_plan *p, const int *rules, int nrules, const int *steps, int nsteps)
{
    memset(p, 0, sizeof *p);
    if (nrules < 1 || nsteps < 1)
        return xai_fail(XAI_EINVAL, "IG grid: %d rules x %d step counts (expected at least one of each)", nrules,
                        nsteps);
    size_t total = 0;
    int smax = 0;
    for (int t = 0; t < nsteps; t++) {
        if (steps[t] < 1 || steps[t] > 1000000)
            return xai_fail(XAI_EINVAL, "IG grid: steps=%d (expected 1 .. 1000000)", steps[t]);
        total += (size_t)steps[t] * nrules;
        smax = steps[t] > smax ? steps[t] : smax;
    }
    double *a = xai_malloc((size_t)smax * sizeof *a), *w = xai_malloc((size_t)smax * sizeof *w);
    p->use = xai_malloc(total * sizeof *p->use);
    xai_status s = XAI_OK;
    size_t np = 0;
    for (int q = 0; q < nrules; q++)
        for (int t = 0; t < nsteps; t++) {
            if ((s = xai_quadrature((xai_quad_rule)rules[q], steps[t], a, w)) != XAI_OK) goto done;
            for (int k = 0; k < steps[t]; k++) p->use[np++] = (grid_point){a[k], q * nsteps + t, k, w[k]};
        }
    qsort(p->use, total, sizeof *p->use, point_cmp);
    p->alpha = xai_malloc(total * sizeof *p->alpha);
    p->first = xai_malloc((total + 1) * sizeof *p->first);
    for (size_t j = 0; j < total; j++)
        if (j == 0 || p->use[j].alpha != p->use[j - 1].alpha) {
            p->alpha[p->nnodes] = p->use[j].alpha;
            p->first[p->nnodes++] = (int)j;
        }
    p->first[p->nnodes] = (int)total;
done:
    free(a);
    free(w);
    if (s != XAI_OK) grid_plan_free(p);
    return s;
}

xai_status xai_ig_grid_nodes(const int *rules, int nrules, const int *steps, int nsteps, int *nodes)
{
    grid_plan p;
    XAI_TRY(grid_plan_make(&p, rules, nrules, steps, nsteps));
    *nodes = p.nnodes;
    grid_plan_free(&p);
    return XAI_OK;
}

typedef struct {
    const grid_plan *p;
    double *G; /* (runs, n, isz) */
    int n;
} grid_sink;

/* Row (image i, node u): its gradient, weighted, into every run that has node u. Nodes come in
 * ascending order, as each rule lists them, so every run adds its terms in xai_ig's order. */
static void grid_add(void *ctx, const float *dx, size_t isz, long first, int nb, size_t j0, size_t j1)
{
    const grid_sink *g = ctx;
    const int U = g->p->nnodes;
    for (int r = 0; r < nb; r++) {
        const long idx = first + r;
        const int i = (int)(idx / U), u = (int)(idx % U);
        for (int k = g->p->first[u]; k < g->p->first[u + 1]; k++) {
            const grid_point *pt = &g->p->use[k];
            add_weighted(g->G + ((size_t)pt->run * g->n + i) * isz, dx + (size_t)r * isz, pt->w, j0, j1);
        }
    }
}

xai_status xai_ig_grid(xai_model *m, const int *rules, int nrules, const int *steps, int nsteps, const float *x,
                       const float *xb, const int32_t *target, int n, float *attr, int64_t *grads)
{
    XAI_TRY(check_targets(m, target, n, "IG grid"));
    grid_plan p;
    XAI_TRY(grid_plan_make(&p, rules, nrules, steps, nsteps));
    const size_t isz = xai_shape_size(m->in);
    const int runs = nrules * nsteps;
    double *G = xai_calloc((size_t)runs * n * isz + 1, sizeof *G);
    ig_rows rc = {x, xb, p.alpha, isz};
    grid_sink gs = {&p, G, n};
    xai_status s = grad_rows(m, n, p.nnodes, target, ig_fill, &rc, grid_add, &gs, NULL, grads);
    for (int r = 0; s == XAI_OK && n > 0 && r < runs; r++)
        ig_finish(m, x, xb, target, n, G + (size_t)r * n * isz, attr + (size_t)r * n * isz, NULL, NULL);
    free(G);
    grid_plan_free(&p);
    return s;
}
