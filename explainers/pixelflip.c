/* pixelflip.c: pixel flipping / region perturbation (MoRF, LeRF, random control) with batched passes.
 * Features, orders, replacement values and the AOPC/AUC scores; formulas in explainers/METRICS.md. */
#include "explainers/metrics.h"
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *perturb_names[XAI_PERTURB_KINDS] = {"zero", "mean", "noise", "blur"};

const char *xai_perturb_name(xai_perturb_kind k)
{
    return k >= 0 && k < XAI_PERTURB_KINDS ? perturb_names[k] : "?";
}

int xai_perturb_from_name(const char *name)
{
    for (int i = 0; i < XAI_PERTURB_KINDS; i++)
        if (!strcmp(name, perturb_names[i])) return i;
    if (!strcmp(name, "black")) return XAI_PERTURB_ZERO;
    return -1;
}

void xai_flip_defaults(xai_flip_opts *o)
{
    memset(o, 0, sizeof *o);
    o->patch = 1;
    o->steps = 50;
    o->per_step = 0;
    o->fraction = 0.5;
    o->perturb = XAI_PERTURB_ZERO;
    o->blur_sigma = 2.0f;
    o->seed = 1;
}

/* Largest blur sigma pixel flipping accepts (radius 48). */
#define MAX_BLUR_SIGMA 16.0f

xai_status xai_flip_check(const xai_flip_opts *o, xai_shape s)
{
    if (s.c <= 0 || s.h <= 0 || s.w <= 0)
        return xai_fail(XAI_EINVAL, "pixel flipping: empty image shape %dx%dx%d", s.c, s.h, s.w);
    if (s.c > 4) return xai_fail(XAI_EINVAL, "pixel flipping: %d input channels, expected at most 4 (images)", s.c);
    if (o->patch < 1 || o->patch > (s.h > s.w ? s.h : s.w))
        return xai_fail(XAI_EINVAL, "pixel flipping: patch %d must be between 1 and the image side (%dx%d)", o->patch,
                        s.h, s.w);
    if (!(o->fraction > 0 && o->fraction <= 1))
        return xai_fail(XAI_EINVAL, "pixel flipping: fraction %g must be in (0, 1]", o->fraction);
    if (o->per_step < 0) return xai_fail(XAI_EINVAL, "pixel flipping: features per step %d must be >= 1", o->per_step);
    if (o->per_step == 0 && o->steps < 1)
        return xai_fail(XAI_EINVAL, "pixel flipping: steps %d must be >= 1", o->steps);
    if (o->perturb < 0 || o->perturb >= XAI_PERTURB_KINDS)
        return xai_fail(XAI_EINVAL, "pixel flipping: unknown perturbation %d", (int)o->perturb);
    if (o->perturb == XAI_PERTURB_BLUR && !(o->blur_sigma > 0 && o->blur_sigma <= MAX_BLUR_SIGMA))
        return xai_fail(XAI_EINVAL, "pixel flipping: blur sigma %g must be in (0, %g]", o->blur_sigma,
                        MAX_BLUR_SIGMA);
    return XAI_OK;
}

int xai_flip_nfeatures(xai_shape s, int patch)
{
    return ((s.h + patch - 1) / patch) * ((s.w + patch - 1) / patch);
}

void xai_flip_feature_scores(float *score, const float *attr, xai_shape s, int patch)
{
    int gw = (s.w + patch - 1) / patch, nf = xai_flip_nfeatures(s, patch);
    /* Accumulate in double: a patch of a 224x224x3 map has thousands of terms. */
    for (int f = 0; f < nf; f++) {
        int y0 = (f / gw) * patch, x0 = (f % gw) * patch;
        int y1 = y0 + patch < s.h ? y0 + patch : s.h, x1 = x0 + patch < s.w ? x0 + patch : s.w;
        double acc = 0;
        for (int c = 0; c < s.c; c++)
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) acc += attr[((size_t)c * s.h + y) * s.w + x];
        score[f] = (float)acc;
    }
}

static int cmp_desc(const void *a, const void *b, void *ctx)
{
    const float *s = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (s[i] != s[j]) return s[i] > s[j] ? -1 : 1;
    return (i > j) - (i < j);
}

static int cmp_asc(const void *a, const void *b, void *ctx)
{
    const float *s = ctx;
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (s[i] != s[j]) return s[i] < s[j] ? -1 : 1;
    return (i > j) - (i < j);
}

void xai_flip_order_features(int32_t *order, const float *score, int nf, xai_flip_order which, uint64_t seed,
                             uint64_t image_id)
{
    for (int i = 0; i < nf; i++) order[i] = i;
    if (which == XAI_FLIP_RANDOM) {
        xai_rng r;
        /* One stream per (seed, image): independent of batching, threads and methods. */
        xai_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (image_id + 1)));
        xai_rng_shuffle(&r, order, (size_t)nf);
        return;
    }
    /* Scores are finite (checked by the caller), so both comparators are total orders
     * and the result does not depend on qsort's algorithm. */
    qsort_r(order, (size_t)nf, sizeof *order, which == XAI_FLIP_MORF ? cmp_desc : cmp_asc, (void *)score);
}

/* The metrics' perturbation kinds are reference images of perturb.c. */
static const xai_ref_kind ref_of[XAI_PERTURB_KINDS] = {XAI_REF_BLACK, XAI_REF_MEAN, XAI_REF_UNIFORM, XAI_REF_BLUR};

void xai_flip_reference(float *ref, const float *x, xai_shape s, const xai_flip_opts *o, const float *mean,
                        const float *std, uint64_t image_id, float *scratch)
{
    XAI_CHECK(o->perturb >= 0 && o->perturb < XAI_PERTURB_KINDS);
    xai_ref_opts r = {ref_of[o->perturb], 0, o->blur_sigma, o->seed};
    xai_ref_image(ref, x, s, &r, mean, std, image_id, scratch);
}

void xai_flip_apply(float *img, const float *ref, xai_shape s, int patch, int feature)
{
    int gw = (s.w + patch - 1) / patch;
    XAI_CHECK(feature >= 0 && feature < xai_flip_nfeatures(s, patch));
    int y0 = (feature / gw) * patch, x0 = (feature % gw) * patch;
    int y1 = y0 + patch < s.h ? y0 + patch : s.h, x1 = x0 + patch < s.w ? x0 + patch : s.w;
    for (int c = 0; c < s.c; c++)
        for (int y = y0; y < y1; y++) {
            size_t off = ((size_t)c * s.h + y) * s.w + x0;
            memcpy(img + off, ref + off, (size_t)(x1 - x0) * sizeof *img);
        }
}

/* ------------------------------------------------------------ batching */

void xai_fwd_init(xai_fwd_batch *b, xai_model *m)
{
    const int B = m->max_batch;
    *b = (xai_fwd_batch){m, xai_shape_size(m->in), 0, xai_calloc(B, sizeof(float *)), xai_calloc(B, sizeof(float *)),
                         xai_calloc(B, sizeof(int32_t)), xai_calloc((size_t)B * m->nclasses, sizeof(float)), 0};
}

void xai_fwd_free(xai_fwd_batch *b)
{
    free(b->dl);
    free(b->dp);
    free(b->tgt);
    free(b->probs);
    memset(b, 0, sizeof *b);
}

void xai_fwd_flush(xai_fwd_batch *b)
{
    if (!b->fill) return;
    xai_model *m = b->m;
    const float *logits = xai_model_forward(m, m->acts[0], b->fill);
    xai_softmax(b->probs, logits, b->fill, m->nclasses);
    for (int i = 0; i < b->fill; i++) {
        if (b->dl[i]) *b->dl[i] = logits[(size_t)i * m->nclasses + b->tgt[i]];
        if (b->dp[i]) *b->dp[i] = b->probs[(size_t)i * m->nclasses + b->tgt[i]];
    }
    b->forwarded += b->fill;
    b->fill = 0;
}

float *xai_fwd_slot(xai_fwd_batch *b, int32_t target, float *logit, float *prob)
{
    if (b->fill == b->m->max_batch) xai_fwd_flush(b);
    b->dl[b->fill] = logit;
    b->dp[b->fill] = prob;
    b->tgt[b->fill] = target;
    return b->m->acts[0] + (size_t)b->fill++ * b->size;
}

void xai_flip_curve_alloc(xai_flip_curve *c, int n, int k)
{
    c->logit = xai_calloc((size_t)n * (k + 1), sizeof(float));
    c->prob = xai_calloc((size_t)n * (k + 1), sizeof(float));
}

void xai_flip_curve_free(xai_flip_curve *c)
{
    free(c->logit);
    free(c->prob);
    c->logit = c->prob = NULL;
}

void xai_flip_result_free(xai_flip_result *r)
{
    xai_flip_curve_free(&r->random);
    for (int i = 0; i < r->nmethods; i++) {
        if (r->morf) xai_flip_curve_free(&r->morf[i]);
        if (r->lerf) xai_flip_curve_free(&r->lerf[i]);
    }
    free(r->morf);
    free(r->lerf);
    free(r->removed);
    free(r->frac);
    memset(r, 0, sizeof *r);
}

/* One fill call: rows k0..k1-1 of a job, at row `row` of the batch. */
typedef struct {
    int64_t job;
    int k0, k1, row;
} fwd_piece;

/* Reserves the rows of the next pieces up to a full batch (recording their destinations in order);
 * returns how many pieces. *j, *k: the next row to place. */
static int fwd_plan(xai_fwd_batch *b, const xai_fwd_jobs *J, fwd_piece *pc, int64_t *j, int *k)
{
    int np = 0;
    while (*j < J->njobs && b->fill < b->m->max_batch) {
        const int nr = J->rows(J->ctx, *j);
        if (*k >= nr) {
            ++*j, *k = 0;
            continue;
        }
        int take = nr - *k < b->m->max_batch - b->fill ? nr - *k : b->m->max_batch - b->fill;
        if (J->chunk > 0 && take > J->chunk - *k % J->chunk) take = J->chunk - *k % J->chunk;
        pc[np++] = (fwd_piece){*j, *k, *k + take, b->fill};
        for (int r = 0; r < take; r++, b->fill++)
            J->dest(J->ctx, *j, *k + r, &b->tgt[b->fill], &b->dl[b->fill], &b->dp[b->fill]);
        *k += take;
    }
    return np;
}

double xai_fwd_run(xai_fwd_batch *b, const xai_fwd_jobs *J)
{
    fwd_piece *pc = xai_malloc((size_t)b->m->max_batch * sizeof *pc);
    float *in = b->m->acts[0];
    double built = 0;
    int64_t j = 0;
    int k = 0;
    for (;;) {
        if (b->fill == b->m->max_batch) xai_fwd_flush(b);
        const int np = fwd_plan(b, J, pc, &j, &k);
        if (!np) break;
        const double t0 = xai_now();
        /* each piece is a function of its rows alone: any thread may build it */
#pragma omp parallel for schedule(dynamic, 1) if (np > 1)
        for (int p = 0; p < np; p++) J->fill(J->ctx, pc[p].job, pc[p].k0, pc[p].k1, in + (size_t)pc[p].row * b->size);
        built += xai_now() - t0;
    }
    free(pc);
    return built;
}

void xai_flip_curve_rows(float *out, const float *start, const float *src, const int32_t *order,
                         const int64_t *removed, int k0, int k1, xai_shape s, int patch)
{
    const size_t size = xai_shape_size(s);
    /* Features are disjoint patches copied from src, so a row built from scratch equals the same
     * row built from the one before, value for value. */
    for (int k = k0 + 1; k <= k1; k++) {
        float *row = out + (size_t)(k - k0 - 1) * size;
        const int first = k == k0 + 1;
        memcpy(row, first ? start : row - size, size * sizeof *row);
        for (int64_t j = first ? 0 : removed[k - 1]; j < removed[k]; j++) xai_flip_apply(row, src, s, patch, order[j]);
    }
}

int xai_flip_schedule(int nf, double fraction, int steps, int per_step, int64_t **removed, double **frac)
{
    int limit = (int)ceil(fraction * nf - 1e-9);
    if (limit < 1) limit = 1;
    if (limit > nf) limit = nf;
    /* in 64 bits: steps may be up to INT_MAX (more steps than features: one feature a step) */
    int per = per_step > 0 ? per_step : (int)(((int64_t)limit + steps - 1) / steps);
    if (per > limit) per = limit;
    const int K = (limit + per - 1) / per;
    *removed = xai_calloc(K + 1, sizeof **removed);
    *frac = xai_calloc(K + 1, sizeof **frac);
    for (int k = 0; k <= K; k++) {
        (*removed)[k] = (int64_t)k * per < limit ? (int64_t)k * per : limit;
        (*frac)[k] = (double)(*removed)[k] / nf;
    }
    return K;
}

/* Pixel flipping's jobs over images i0.. : per image the step-0 image (one row), the random
 * control's curve, then each method's MoRF and LeRF curves (K rows each). */
typedef struct {
    xai_flip_result *r;
    const xai_model *m;
    const float *x;
    const int32_t *target;
    const int64_t *image_id;
    const float *const *attr;
    const xai_flip_opts *o;
    int i0;
} flip_jobs;

#define FLIP_JOBS(c) (2 + 2 * (int64_t)(c)->r->nmethods) /* jobs an image */

static int flip_job_rows(void *p, int64_t job)
{
    const flip_jobs *c = p;
    return job % FLIP_JOBS(c) ? c->r->nsteps : 1;
}

/* Job j of image i: 0 step 0, 1 the random curve, 2 + 2a MoRF of method a, 3 + 2a its LeRF. */
static xai_flip_curve *flip_job_curve(const flip_jobs *c, int64_t job, int *i)
{
    const int64_t j = job % FLIP_JOBS(c);
    *i = c->i0 + (int)(job / FLIP_JOBS(c));
    return j < 2 ? &c->r->random : j % 2 ? &c->r->lerf[(j - 2) / 2] : &c->r->morf[(j - 2) / 2];
}

static void flip_job_dest(void *p, int64_t job, int k, int32_t *target, float **logit, float **prob)
{
    const flip_jobs *c = p;
    int i;
    const xai_flip_curve *cv = flip_job_curve(c, job, &i);
    const size_t at = (size_t)i * (c->r->nsteps + 1) + (job % FLIP_JOBS(c) ? k + 1 : 0);
    *target = c->target[i], *logit = &cv->logit[at], *prob = &cv->prob[at];
}

static void flip_job_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    const flip_jobs *c = p;
    int i;
    flip_job_curve(c, job, &i);
    const int64_t j = job % FLIP_JOBS(c);
    const xai_shape s = c->m->in;
    const size_t size = xai_shape_size(s);
    const int nf = c->r->nfeatures;
    const float *xi = c->x + (size_t)i * size;
    const uint64_t id = c->image_id ? (uint64_t)c->image_id[i] : (uint64_t)i;
    if (!j) { /* step 0: the image itself, shared by every curve */
        memcpy(out, xi, size * sizeof *out);
        return;
    }
    float *ref = xai_malloc(2 * size * sizeof *ref), *score = xai_malloc(nf * sizeof *score);
    int32_t *order = xai_malloc(nf * sizeof *order);
    xai_flip_reference(ref, xi, s, c->o, c->m->mean, c->m->std, id, ref + size);
    if (j > 1) xai_flip_feature_scores(score, c->attr[(j - 2) / 2] + (size_t)i * size, s, c->o->patch);
    xai_flip_order_features(order, score, nf, j == 1 ? XAI_FLIP_RANDOM : j % 2 ? XAI_FLIP_LERF : XAI_FLIP_MORF,
                            c->o->seed, id);
    xai_flip_curve_rows(out, xi, ref, order, c->r->removed, k0, k1, s, c->o->patch);
    free(ref);
    free(score);
    free(order);
}

xai_status xai_pixelflip(xai_flip_result *r, xai_model *m, const float *x, const int32_t *target,
                         const int64_t *image_id, int n, const float *const *attr, int nmethods,
                         const xai_flip_opts *o)
{
    memset(r, 0, sizeof *r);
    xai_shape s = m->in;
    XAI_TRY(xai_flip_check(o, s));
    if (n <= 0) return xai_fail(XAI_EINVAL, "pixel flipping: no images (n = %d)", n);
    if (nmethods < 0) return xai_fail(XAI_EINVAL, "pixel flipping: nmethods = %d", nmethods);
    size_t size = xai_shape_size(s);
    for (int i = 0; i < n; i++)
        if (target[i] < 0 || target[i] >= m->nclasses)
            return xai_fail(XAI_EINVAL, "pixel flipping: image %d has target class %d, expected 0..%d", i, target[i],
                            m->nclasses - 1);
    for (int a = 0; a < nmethods; a++)
        for (size_t j = 0; j < (size_t)n * size; j++)
            if (!isfinite(attr[a][j]))
                return xai_fail(XAI_EINVAL, "pixel flipping: attribution %d of image %zu has a non-finite value", a,
                                j / size);
    for (int c = 0; c < s.c; c++)
        if (!(m->std[c] > 0))
            return xai_fail(XAI_EINVAL, "pixel flipping: model normalisation std[%d] = %g, expected > 0", c, m->std[c]);

    double t0 = xai_now();
    int nf = xai_flip_nfeatures(s, o->patch);
    const int K = xai_flip_schedule(nf, o->fraction, o->steps, o->per_step, &r->removed, &r->frac);
    r->n = n;
    r->nsteps = K;
    r->nfeatures = nf;
    r->per_step = (int)r->removed[1];
    r->nmethods = nmethods;
    xai_flip_curve_alloc(&r->random, n, K);
    r->morf = xai_calloc(nmethods ? nmethods : 1, sizeof *r->morf);
    r->lerf = xai_calloc(nmethods ? nmethods : 1, sizeof *r->lerf);
    for (int a = 0; a < nmethods; a++) {
        xai_flip_curve_alloc(&r->morf[a], n, K);
        xai_flip_curve_alloc(&r->lerf[a], n, K);
    }

    xai_fwd_batch b;
    xai_fwd_init(&b, m);
    xai_eval_scope mode = xai_eval_begin(m, 1); /* only logits are read */
    int k1 = K + 1;
    xai_progress p;
    xai_progress_start(&p, "pixel flipping", n, "img");
    /* About 8 batches of rows between progress updates (a count fixed by the sizes alone). */
    const double rows = 1 + K * (1 + 2.0 * nmethods);
    const int group = 8.0 * m->max_batch / rows > 1 ? (int)(8.0 * m->max_batch / rows) : 1;
    flip_jobs fj = {r, m, x, target, image_id, attr, o, 0};
    xai_fwd_jobs jobs = {&fj, 0, flip_job_rows, 0, flip_job_dest, flip_job_fill};
    for (int i = 0; i < n; i += group) {
        fj.i0 = i;
        jobs.njobs = (int64_t)(n - i < group ? n - i : group) * FLIP_JOBS(&fj);
        xai_fwd_run(&b, &jobs);
        xai_progress_update(&p, i + group < n ? i + group : n);
    }
    xai_fwd_flush(&b);
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)i * k1;
        for (int a = 0; a < nmethods; a++) {
            r->morf[a].logit[at] = r->lerf[a].logit[at] = r->random.logit[at];
            r->morf[a].prob[at] = r->lerf[a].prob[at] = r->random.prob[at];
        }
    }
    r->forward_images = b.forwarded;
    r->seconds = xai_now() - t0;
    char msg[96];
    snprintf(msg, sizeof msg, "%.0f images through the net, %.0f img/s", b.forwarded,
             b.forwarded / (r->seconds > 0 ? r->seconds : 1e-9));
    xai_progress_end(&p, msg);
    xai_fwd_free(&b);
    xai_eval_end(m, mode);
    return XAI_OK;
}

/* ------------------------------------------------------------- scores */

void xai_flip_aopc(double *aopc, const float *curves, int n, int nsteps)
{
    int k1 = nsteps + 1;
    for (int i = 0; i < n; i++) {
        const float *f = curves + (size_t)i * k1;
        double acc = 0;
        for (int k = 0; k < k1; k++) acc += (double)f[0] - f[k];
        aopc[i] = acc / k1;
    }
}

void xai_flip_auc(double *auc, const float *curves, const double *frac, int n, int nsteps)
{
    int k1 = nsteps + 1;
    for (int i = 0; i < n; i++) {
        const float *f = curves + (size_t)i * k1;
        double acc = 0;
        for (int k = 1; k < k1; k++) acc += (frac[k] - frac[k - 1]) * 0.5 * ((double)f[k - 1] + f[k]);
        auc[i] = acc;
    }
}

void xai_flip_curve_stats(double *mean, double *se, const float *curves, int n, int nsteps)
{
    int k1 = nsteps + 1;
    for (int k = 0; k < k1; k++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) s += curves[(size_t)i * k1 + k];
        double mu = s / n;
        for (int i = 0; i < n; i++) {
            double d = curves[(size_t)i * k1 + k] - mu;
            s2 += d * d;
        }
        mean[k] = mu;
        se[k] = n > 1 ? sqrt(s2 / (n - 1) / n) : NAN;
    }
}
