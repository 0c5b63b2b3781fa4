/* faith.c: insertion/deletion, ROAD, faithfulness correlation, sensitivity-n, infidelity,
 * max-sensitivity, random-logit, sparseness and complexity; formulas in explainers/METRICS.md. */
#include "explainers/faith.h"
#include "explainers/perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *fm_names[XAI_FM_COUNT] = {"insdel",  "road",      "faithcorr",  "sensn",     "infidelity",
                                             "maxsens", "randlogit", "sparseness", "complexity"};

const char *xai_faith_metric_name(xai_faith_metric k) { return k >= 0 && k < XAI_FM_COUNT ? fm_names[k] : "?"; }

xai_status xai_faith_parse(const char *list, unsigned *mask)
{
    *mask = 0;
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = len == 3 && !strncmp(p, "all", 3) ? (*mask = XAI_FM_ALL, 1) : len == 4 && !strncmp(p, "none", 4);
        for (int k = 0; !found && k < XAI_FM_COUNT; k++)
            if (strlen(fm_names[k]) == len && !strncmp(p, fm_names[k], len)) *mask |= 1u << k, found = 1;
        if (!found && len)
            return xai_fail(XAI_EINVAL,
                            "--metrics: unknown metric '%.*s', expected all, none or a comma list of insdel, road, "
                            "faithcorr, sensn, infidelity, maxsens, randlogit, sparseness, complexity",
                            (int)len, p);
        p = e ? e + 1 : NULL;
    }
    return XAI_OK;
}

void xai_faith_defaults(xai_faith_opts *o)
{
    *o = (xai_faith_opts){.which = XAI_FM_ALL, .insdel_steps = 32, .road_noise = 0.01, .fc_runs = 64,
                          .fc_fraction = 0.1, .sensn_runs = 32, .infid_runs = 64, .infid_sigma = 0.1,
                          .maxsens_n = 16, .maxsens_runs = 8, .maxsens_radius = 0.02, .randlogit_n = 64};
}

xai_status xai_faith_check(const xai_faith_opts *o)
{
    if (o->which & ~XAI_FM_ALL) return xai_fail(XAI_EINVAL, "metrics: unknown metric bits 0x%x", o->which);
    if (o->insdel_steps < 1 || o->insdel_steps > 100000)
        return xai_fail(XAI_EINVAL, "--insdel-steps %d: expected 1..100000", o->insdel_steps);
    if (!(o->road_noise >= 0 && o->road_noise <= 1))
        return xai_fail(XAI_EINVAL, "--road-noise %g: expected a pixel sd in [0, 1]", o->road_noise);
    if (!(o->fc_fraction > 0 && o->fc_fraction < 1))
        return xai_fail(XAI_EINVAL, "--faithcorr-fraction %g: expected a share in (0, 1)", o->fc_fraction);
    if (!(o->infid_sigma > 0 && o->infid_sigma <= 10))
        return xai_fail(XAI_EINVAL, "--infid-sigma %g: expected a pixel sd in (0, 10]", o->infid_sigma);
    if (!(o->maxsens_radius > 0 && o->maxsens_radius <= 10))
        return xai_fail(XAI_EINVAL, "--maxsens-radius %g: expected a pixel radius in (0, 10]", o->maxsens_radius);
    const int runs[4] = {o->fc_runs, o->sensn_runs, o->infid_runs, o->maxsens_runs};
    static const char *rn[4] = {"--faithcorr-runs", "--sensn-runs", "--infid-runs", "--maxsens-runs"};
    for (int k = 0; k < 4; k++)
        if (runs[k] < (k == 3 ? 1 : 2) || runs[k] > 100000)
            return xai_fail(XAI_EINVAL, "%s %d: expected %d..100000", rn[k], runs[k], k == 3 ? 1 : 2);
    if (o->maxsens_n < 1 || o->randlogit_n < 1)
        return xai_fail(XAI_EINVAL, "--maxsens-n %d / --randlogit-n %d: expected >= 1", o->maxsens_n, o->randlogit_n);
    return XAI_OK;
}

/* ------------------------------------------------------------ statistics */

double xai_gini(const float *v, int n)
{
    double *a = xai_malloc((n ? n : 1) * sizeof *a), sum = 0, acc = 0;
    for (int i = 0; i < n; i++) a[i] = fabs((double)v[i]), sum += a[i];
    qsort(a, n, sizeof *a, xai_cmp_double);
    for (int k = 0; k < n; k++) acc += (2.0 * (k + 1) - n - 1) * a[k];
    free(a);
    return sum > 0 ? acc / (n * sum) : NAN;
}

double xai_entropy(const float *v, int n)
{
    double sum = 0, h = 0;
    for (int i = 0; i < n; i++) sum += fabs((double)v[i]);
    if (!(sum > 0)) return NAN;
    for (int i = 0; i < n; i++) {
        const double p = fabs((double)v[i]) / sum;
        if (p > 0) h -= p * log(p);
    }
    return h;
}

double xai_pearson(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (int i = 0; i < n; i++) {
        const double da = a[i] - ma, db = b[i] - mb;
        sab += da * db, saa += da * da, sbb += db * db;
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

/* ------------------------------------------------------------ shared state */

/* What the running metric's jobs read (faith_jobs): fill runs on any thread and writes only its
 * rows, its own cells of f and a, and the ROAD counters (atomically). */
typedef struct {
    int per_image;              /* jobs an image */
    int K;                      /* rows of a curve job */
    const int64_t *removed;     /* (K + 1) insertion/deletion schedule */
    int count[XAI_ROAD_LEVELS + 1]; /* ROAD: pixels removed at each level */
    float noise[8];             /* ROAD: imputation noise sd per channel, in the input */
    int runs, nsub;             /* subsets / perturbations an image, features a subset */
    xai_noise_use use;
    uint64_t tag;
    float *f;                   /* (N, runs) target logit of each subset / perturbation */
    double *a;                  /* infidelity: (N, nmethods, runs) I . phi */
    int64_t impute_iters, impute_work; /* ROAD: CG iterations, and those times the unknowns */
} metric_jobs;

/* One run's context: inputs, the batch, f(x), the running metric's jobs, serial scratch. */
typedef struct {
    xai_faith_result *r;
    xai_model *m;
    xai_model *em;                 /* the net the methods explain with: m's fold (xai explain's) */
    xai_model *own;                /* em when made here */
    const xai_faith_input *in;
    const xai_faith_opts *o;
    xai_fwd_batch b;
    xai_shape s;
    size_t size, plane;
    float *fx;                     /* (N) target logit of each image */
    float *cur;                    /* (size) */
    float *score;                  /* (nmethods, F) feature scores of the current image */
    int32_t *order;                /* (max(F, plane)) */
    metric_jobs j;
} faith_ctx;

static uint64_t image_id(const faith_ctx *c, int i) { return c->in->image_id ? (uint64_t)c->in->image_id[i] : (uint64_t)i; }
static const float *image(const faith_ctx *c, int i) { return c->in->x + (size_t)i * c->size; }

/* Feature scores of every method for image i with features of side patch. */
static void scores_of(faith_ctx *c, int i, int patch, int nf)
{
    for (int a = 0; a < c->in->nmethods; a++)
        xai_flip_feature_scores(c->score + (size_t)a * nf, c->in->attr[a] + (size_t)i * c->size, c->s, patch);
}

/* Per-image AUC of a curve's logit ([0]) and probability ([1]) rows over frac. */
static void curve_aucs(double *auc[2], const xai_flip_curve *cv, const double *frac, int n, int K)
{
    for (int q = 0; q < 2; q++) {
        auc[q] = xai_malloc((size_t)n * sizeof(double));
        xai_flip_auc(auc[q], q ? cv->prob : cv->logit, frac, n, K);
    }
}

/* Step 0 is run once per image into method 0's curve: copy it to the other methods. */
static void share_step0(xai_flip_curve *first, xai_flip_curve *other, int n, int k1)
{
    for (int i = 0; i < n; i++) {
        other->logit[(size_t)i * k1] = first->logit[(size_t)i * k1];
        other->prob[(size_t)i * k1] = first->prob[(size_t)i * k1];
    }
}

/* The running metric's jobs through the batch; returns the seconds spent building rows. */
static double run_jobs(faith_ctx *c, int64_t njobs, int (*rows)(void *, int64_t), int chunk,
                       void (*dest)(void *, int64_t, int, int32_t *, float **, float **),
                       void (*fill)(void *, int64_t, int, int, float *))
{
    const xai_fwd_jobs j = {c, njobs, rows, chunk, dest, fill};
    return xai_fwd_run(&c->b, &j);
}

/* Jobs of a curve metric: per image `heads` one-row jobs (its step-0 images), then two curves per
 * method. Returns -1 - h for head h, else which of the method's two curves; *i the image, *a the
 * method. */
static int curve_job(const faith_ctx *c, int64_t job, int heads, int *i, int *a)
{
    const int q = (int)(job % c->j.per_image);
    *i = (int)(job / c->j.per_image);
    *a = q < heads ? 0 : (q - heads) / 2;
    return q < heads ? -1 - q : (q - heads) % 2;
}

static int insdel_rows(void *p, int64_t job)
{
    const faith_ctx *c = p;
    return job % c->j.per_image < 2 ? 1 : c->j.K;
}

static int road_rows(void *p, int64_t job)
{
    const faith_ctx *c = p;
    return job % c->j.per_image < 1 ? 1 : c->j.K;
}

/* Row k of a curve job (step k + 1; a head's one row is step 0) of cv's image i. */
static void curve_dest(const faith_ctx *c, int w, int i, int k, xai_flip_curve *cv, int32_t *t, float **lg, float **pr)
{
    const size_t at = (size_t)i * (c->j.K + 1) + (w < 0 ? 0 : k + 1);
    *t = c->in->target[i], *lg = &cv->logit[at], *pr = &cv->prob[at];
}

/* ------------------------------------------------------ insertion / deletion */

/* Per image: deletion's and insertion's step 0 (the image, its blur), then per method deletion
 * towards the removal reference and insertion from the blurred image, both in MoRF order. */
static void insdel_dest(void *p, int64_t job, int k, int32_t *t, float **lg, float **pr)
{
    faith_ctx *c = p;
    int i, a;
    const int w = curve_job(c, job, 2, &i, &a);
    xai_faith_method *f = &c->r->m[a];
    curve_dest(c, w, i, k, w == -2 || w == 1 ? &f->ins : &f->del, t, lg, pr);
}

static void insdel_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    const faith_ctx *c = p;
    int i, a;
    const int w = curve_job(c, job, 2, &i, &a), nf = c->r->nfeatures;
    const float *xi = image(c, i);
    float *buf = xai_malloc(2 * c->size * sizeof *buf), *score = xai_malloc(nf * sizeof *score);
    int32_t *order = xai_malloc(nf * sizeof *order);
    if (w == -1) memcpy(out, xi, c->size * sizeof *out);
    if (w == -2 || w == 1) xai_ref_blur(w < 0 ? out : buf, xi, c->s, c->in->flip->blur_sigma, buf + c->size);
    if (w == 0) xai_flip_reference(buf, xi, c->s, c->in->flip, c->m->mean, c->m->std, image_id(c, i), buf + c->size);
    if (w >= 0) {
        xai_flip_feature_scores(score, c->in->attr[a] + (size_t)i * c->size, c->s, c->r->patch);
        xai_flip_order_features(order, score, nf, XAI_FLIP_MORF, 0, 0);
        xai_flip_curve_rows(out, w ? buf : xi, w ? xi : buf, order, c->j.removed, k0, k1, c->s, c->r->patch);
    }
    free(buf);
    free(score);
    free(order);
}

static void run_insdel(faith_ctx *c)
{
    xai_faith_result *r = c->r;
    const int n = c->in->n, nm = c->in->nmethods, nf = r->nfeatures;
    int64_t *removed;
    const int K = r->ins_steps = xai_flip_schedule(nf, 1.0, c->o->insdel_steps, 0, &removed, &r->ins_frac);
    const int k1 = K + 1;
    for (int a = 0; a < nm; a++) xai_flip_curve_alloc(&r->m[a].ins, n, K), xai_flip_curve_alloc(&r->m[a].del, n, K);
    c->j.per_image = 2 + 2 * nm, c->j.K = K, c->j.removed = removed;
    run_jobs(c, (int64_t)n * c->j.per_image, insdel_rows, 0, insdel_dest, insdel_fill);
    xai_fwd_flush(&c->b);
    for (int a = 0; a < nm; a++) {
        share_step0(&r->m[0].del, &r->m[a].del, n, k1);
        share_step0(&r->m[0].ins, &r->m[a].ins, n, k1);
        curve_aucs(r->m[a].del_auc, &r->m[a].del, r->ins_frac, n, K);
        curve_aucs(r->m[a].ins_auc, &r->m[a].ins, r->ins_frac, n, K);
    }
    free(removed);
}

/* ------------------------------------------------------------------ ROAD */

/* Per image: the image itself (step 0), then per method the MoRF and the LeRF curve, each level
 * imputed on its own (so any thread may take any level). */
static void road_dest(void *p, int64_t job, int k, int32_t *t, float **lg, float **pr)
{
    faith_ctx *c = p;
    int i, a;
    const int w = curve_job(c, job, 1, &i, &a);
    curve_dest(c, w, i, k, w == 1 ? &c->r->m[a].road_lerf : &c->r->m[a].road_morf, t, lg, pr);
}

static void road_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    faith_ctx *c = p;
    int i, a;
    const int w = curve_job(c, job, 1, &i, &a), P = (int)c->plane;
    if (w < 0) {
        memcpy(out, image(c, i), c->size * sizeof *out);
        return;
    }
    float *score = xai_malloc(P * sizeof *score);
    int32_t *order = xai_malloc(P * sizeof *order);
    uint8_t *mask = xai_calloc(P, 1);
    xai_flip_feature_scores(score, c->in->attr[a] + (size_t)i * c->size, c->s, 1);
    xai_flip_order_features(order, score, P, w ? XAI_FLIP_LERF : XAI_FLIP_MORF, 0, 0);
    int64_t iters = 0, work = 0;
    for (int l = k0 + 1, have = 0; l <= k1; l++) {
        for (; have < c->j.count[l]; have++) mask[order[have]] = 1;
        float *row = out + (size_t)(l - k0 - 1) * c->size;
        memcpy(row, image(c, i), c->size * sizeof *row);
        const int it = xai_road_impute(row, mask, c->s, c->j.noise, c->in->flip->seed, image_id(c, i));
        iters += it, work += (int64_t)it * c->j.count[l];
    }
#pragma omp atomic
    c->j.impute_iters += iters;
#pragma omp atomic
    c->j.impute_work += work;
    free(score);
    free(order);
    free(mask);
}

static void run_road(faith_ctx *c)
{
    xai_faith_result *r = c->r;
    const int n = c->in->n, nm = c->in->nmethods, P = (int)c->plane, k1 = XAI_ROAD_LEVELS + 1;
    for (int l = 0; l <= XAI_ROAD_LEVELS; l++) r->road_frac[l] = l / 10.0, c->j.count[l] = (int)lround(P * l / 10.0);
    for (int ch = 0; ch < c->s.c; ch++) c->j.noise[ch] = (float)(c->o->road_noise / c->m->std[ch]);
    for (int a = 0; a < nm; a++)
        xai_flip_curve_alloc(&r->m[a].road_morf, n, XAI_ROAD_LEVELS), xai_flip_curve_alloc(&r->m[a].road_lerf, n, XAI_ROAD_LEVELS);
    c->j.per_image = 1 + 2 * nm, c->j.K = XAI_ROAD_LEVELS;
    xai_faith_cost *cost = &r->cost[XAI_FM_ROAD];
    cost->impute_seconds = run_jobs(c, (int64_t)n * c->j.per_image, road_rows, 0, road_dest, road_fill);
    r->road_cg_iters = (double)c->j.impute_iters, r->road_cg_work = (double)c->j.impute_work;
    xai_fwd_flush(&c->b);
    for (int a = 0; a < nm; a++) {
        share_step0(&r->m[0].road_morf, &r->m[a].road_morf, n, k1);
        share_step0(&r->m[0].road_morf, &r->m[a].road_lerf, n, k1);
        curve_aucs(r->m[a].road_morf_auc, &r->m[a].road_morf, r->road_frac, n, XAI_ROAD_LEVELS);
        curve_aucs(r->m[a].road_lerf_auc, &r->m[a].road_lerf, r->road_frac, n, XAI_ROAD_LEVELS);
    }
}

/* ------------------------------------------- faithfulness correlation, sensitivity-n */

/* The k-th random subset of nsub of nf features of one image's stream: the first nsub of a
 * partial Fisher-Yates shuffle (perm: (nf) scratch). */
static void draw_subset(xai_rng *g, int32_t *perm, int nf, int nsub)
{
    for (int j = 0; j < nf; j++) perm[j] = j;
    for (int j = 0; j < nsub; j++) {
        const int k = j + (int)xai_rng_below(g, (uint32_t)(nf - j));
        const int32_t t = perm[j];
        perm[j] = perm[k], perm[k] = t;
    }
}

/* Jobs of the metrics that perturb each image `runs` times: one an image, a row per run. */
static int runs_rows(void *p, int64_t job)
{
    (void)job;
    return ((const faith_ctx *)p)->j.runs;
}

static void runs_dest(void *p, int64_t job, int k, int32_t *t, float **lg, float **pr)
{
    faith_ctx *c = p;
    *t = c->in->target[job], *lg = &c->j.f[job * c->j.runs + k], *pr = NULL;
}

/* Runs k0..k1-1 of image `job`: its subsets drawn in order from the image's stream (the first k0
 * drawn and dropped), set to the removal reference. */
static void subset_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    const faith_ctx *c = p;
    const int i = (int)job, nf = c->r->nfeatures;
    const float *xi = image(c, i);
    float *ref = xai_malloc(2 * c->size * sizeof *ref);
    int32_t *perm = xai_malloc(nf * sizeof *perm);
    xai_flip_reference(ref, xi, c->s, c->in->flip, c->m->mean, c->m->std, image_id(c, i), ref + c->size);
    xai_rng g;
    xai_noise_rng(&g, c->in->flip->seed, c->j.use, image_id(c, i), c->j.tag);
    for (int k = 0; k < k1; k++) {
        draw_subset(&g, perm, nf, c->j.nsub);
        if (k < k0) continue;
        float *row = out + (size_t)(k - k0) * c->size;
        memcpy(row, xi, c->size * sizeof *row);
        for (int j = 0; j < c->j.nsub; j++) xai_flip_apply(row, ref, c->s, c->r->patch, perm[j]);
    }
    free(ref);
    free(perm);
}

/* For every image, `runs` random subsets of nsub features set to the removal reference; per method
 * the Pearson correlation over the runs of sum_S score and f(x) - f(x_S) into out[a * ostride + i].
 * The subsets come from the (seed, use, image, tag) stream, the same for every method. */
static void subset_corr(faith_ctx *c, int nsub, int runs, xai_noise_use use, uint64_t tag, double *out,
                        size_t ostride)
{
    const int n = c->in->n, nm = c->in->nmethods, nf = c->r->nfeatures, patch = c->r->patch;
    const uint64_t seed = c->in->flip->seed;
    float *f = xai_malloc((size_t)n * runs * sizeof *f);
    double *sum = xai_malloc((size_t)nm * runs * sizeof *sum), *delta = xai_malloc(runs * sizeof *delta);
    c->j.runs = runs, c->j.nsub = nsub, c->j.use = use, c->j.tag = tag, c->j.f = f;
    run_jobs(c, n, runs_rows, 0, runs_dest, subset_fill);
    xai_fwd_flush(&c->b);
    xai_rng g;
    for (int i = 0; i < n; i++) {
        scores_of(c, i, patch, nf);
        xai_noise_rng(&g, seed, use, image_id(c, i), tag);
        for (int k = 0; k < runs; k++) {
            draw_subset(&g, c->order, nf, nsub);
            delta[k] = (double)c->fx[i] - f[(size_t)i * runs + k];
            for (int a = 0; a < nm; a++) {
                double acc = 0;
                for (int j = 0; j < nsub; j++) acc += c->score[(size_t)a * nf + c->order[j]];
                sum[(size_t)a * runs + k] = acc;
            }
        }
        for (int a = 0; a < nm; a++) out[(size_t)a * ostride + i] = xai_pearson(sum + (size_t)a * runs, delta, runs);
    }
    free(f);
    free(sum);
    free(delta);
}

static void run_faithcorr(faith_ctx *c)
{
    xai_faith_result *r = c->r;
    const int n = c->in->n, nm = c->in->nmethods;
    int k = (int)lround(c->o->fc_fraction * r->nfeatures);
    r->fc_size = k < 1 ? 1 : k >= r->nfeatures ? r->nfeatures - 1 : k;
    double *v = xai_malloc((size_t)nm * n * sizeof *v);
    subset_corr(c, r->fc_size, c->o->fc_runs, XAI_NOISE_FAITHCORR, 0, v, n);
    for (int a = 0; a < nm; a++) {
        r->m[a].faithcorr = xai_malloc((size_t)n * sizeof(double));
        memcpy(r->m[a].faithcorr, v + (size_t)a * n, (size_t)n * sizeof *v);
    }
    free(v);
}

static void run_sensn(faith_ctx *c)
{
    xai_faith_result *r = c->r;
    const int n = c->in->n, nm = c->in->nmethods;
    r->sensn_n = xai_malloc(32 * sizeof *r->sensn_n);
    for (int64_t k = 1; k < r->nfeatures && r->nsensn < 32; k *= 2) r->sensn_n[r->nsensn++] = k;
    const int T = r->nsensn;
    double *v = xai_malloc((size_t)nm * (T ? T : 1) * n * sizeof *v);
    for (int t = 0; t < T; t++)
        subset_corr(c, (int)r->sensn_n[t], c->o->sensn_runs, XAI_NOISE_SENSN, (uint64_t)t, v + (size_t)t * n,
                    (size_t)T * n);
    for (int a = 0; a < nm; a++) {
        r->m[a].sensn = xai_malloc((size_t)(T ? T : 1) * n * sizeof(double));
        memcpy(r->m[a].sensn, v + (size_t)a * T * n, (size_t)T * n * sizeof *v);
    }
    free(v);
}

/* ------------------------------------------------------------ infidelity */

/* Perturbation k of image i: I_j ~ N(0, sigma^2) in pixel units, i.e. sigma / std[c] in the input. */
static void infid_noise(const faith_ctx *c, float *I, int i, int k)
{
    const uint64_t stream = xai_noise_seed(c->in->flip->seed, XAI_NOISE_INFIDELITY);
    const uint64_t base = (image_id(c, i) * (uint64_t)c->o->infid_runs + k) * c->size;
    for (int ch = 0; ch < c->s.c; ch++) {
        const float sd = (float)(c->o->infid_sigma / c->m->std[ch]);
        for (size_t p = 0; p < c->plane; p++)
            I[ch * c->plane + p] = sd * xai_hash_normal(stream, base + ch * c->plane + p);
    }
}

/* Yeh et al.'s infidelity E[(I . phi - (f(x) - f(x - I)))^2] and its scale-free form with the
 * best scaling beta of phi: 1 - (sum a d)^2 / (sum a^2 sum d^2) over the runs. */
static void infid_scores(double *raw, double *scaled, const double *a, const double *d, int runs)
{
    double e = 0, ad = 0, aa = 0, dd = 0;
    for (int k = 0; k < runs; k++) e += (a[k] - d[k]) * (a[k] - d[k]), ad += a[k] * d[k], aa += a[k] * a[k], dd += d[k] * d[k];
    *raw = e / runs;
    *scaled = !(dd > 0) ? NAN : aa > 0 ? 1 - ad * ad / (aa * dd) : 1;
}

/* Run k of image `job`: the perturbation I, its product with every method's map (into a), then
 * the input x - I. */
static void infid_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    const faith_ctx *c = p;
    const int i = (int)job, nm = c->in->nmethods, runs = c->j.runs;
    const float *xi = image(c, i);
    for (int k = k0; k < k1; k++) {
        float *row = out + (size_t)(k - k0) * c->size;
        infid_noise(c, row, i, k);
        for (int q = 0; q < nm; q++) {
            const float *phi = c->in->attr[q] + (size_t)i * c->size;
            double acc = 0;
            for (size_t j = 0; j < c->size; j++) acc += (double)row[j] * phi[j];
            c->j.a[((size_t)i * nm + q) * runs + k] = acc;
        }
        for (size_t j = 0; j < c->size; j++) row[j] = xi[j] - row[j];
    }
}

static void run_infidelity(faith_ctx *c)
{
    xai_faith_result *r = c->r;
    const int n = c->in->n, nm = c->in->nmethods, runs = c->o->infid_runs;
    float *f = xai_malloc((size_t)n * runs * sizeof *f);
    double *a = xai_malloc((size_t)n * nm * runs * sizeof *a), *d = xai_malloc(runs * sizeof *d);
    c->j.runs = runs, c->j.f = f, c->j.a = a;
    run_jobs(c, n, runs_rows, 1, runs_dest, infid_fill);
    xai_fwd_flush(&c->b);
    for (int q = 0; q < nm; q++) {
        r->m[q].infid = xai_malloc((size_t)n * sizeof(double));
        r->m[q].infid_scaled = xai_malloc((size_t)n * sizeof(double));
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < runs; k++) d[k] = (double)c->fx[i] - f[(size_t)i * runs + k];
        for (int q = 0; q < nm; q++)
            infid_scores(&r->m[q].infid[i], &r->m[q].infid_scaled[i], a + ((size_t)i * nm + q) * runs, d, runs);
    }
    free(f);
    free(a);
    free(d);
}

/* ------------------------------------------------- metrics that explain again */

/* Attributions of n images in chunks of the model's batch; non-finite values are an error. */
static xai_status explain_rows(xai_explainer *e, const xai_model *m, const float *x, const int32_t *t,
                               const int64_t *ids, int n, float *attr, const char *what)
{
    const size_t size = xai_shape_size(m->in);
    for (int i0 = 0; i0 < n; i0 += m->max_batch) {
        const int nb = n - i0 < m->max_batch ? n - i0 : m->max_batch;
        XAI_TRY(xai_explainer_run(e, x + (size_t)i0 * size, t + i0, ids ? ids + i0 : NULL, nb, attr + (size_t)i0 * size,
                                  NULL));
    }
    for (size_t j = 0; j < (size_t)n * size; j++)
        if (!isfinite(attr[j]))
            return xai_fail(XAI_ESTATE, "%s: the method gave a non-finite attribution for image %zu", what, j / size);
    return XAI_OK;
}

/* Input k of image i of max-sensitivity: x + u, u uniform in [-radius, radius] pixels per input. */
static void maxsens_input(const faith_ctx *c, float *y, int i, int k)
{
    const uint64_t stream = xai_noise_seed(c->in->flip->seed, XAI_NOISE_MAXSENS);
    const uint64_t base = (image_id(c, i) * (uint64_t)c->o->maxsens_runs + k) * c->size;
    const float *xi = image(c, i);
    for (int ch = 0; ch < c->s.c; ch++) {
        const float rad = (float)(c->o->maxsens_radius / c->m->std[ch]);
        for (size_t p = 0; p < c->plane; p++) {
            const size_t j = ch * c->plane + p;
            y[j] = xi[j] + rad * (2 * xai_hash_uniform(stream, base + j) - 1);
        }
    }
}

/* ||a - b||_2 / ||b||_2 in double (0 when both are 0, inf when only b is). */
static double rel_dist(const float *a, const float *b, size_t n)
{
    double d = 0, z = 0;
    for (size_t j = 0; j < n; j++) d += ((double)a[j] - b[j]) * ((double)a[j] - b[j]), z += (double)b[j] * b[j];
    return z > 0 ? sqrt(d / z) : d > 0 ? INFINITY : 0;
}

static xai_status maxsens_method(faith_ctx *c, xai_explainer *e, int nms, float *y, float *phi0, float *phi, double *out)
{
    const int runs = c->o->maxsens_runs;
    const int64_t *ids = c->in->image_id;
    XAI_TRY(explain_rows(e, c->em, c->in->x, c->in->target, ids, nms, phi0, "max-sensitivity"));
    for (int i = 0; i < nms; i++) out[i] = 0;
    for (int k = 0; k < runs; k++) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < nms; i++) maxsens_input(c, y + (size_t)i * c->size, i, k);
        XAI_TRY(explain_rows(e, c->em, y, c->in->target, ids, nms, phi, "max-sensitivity"));
        for (int i = 0; i < nms; i++) {
            const double v = rel_dist(phi + (size_t)i * c->size, phi0 + (size_t)i * c->size, c->size);
            if (v > out[i] || isnan(v)) out[i] = v;
        }
    }
    c->r->cost[XAI_FM_MAXSENS].explanations += (double)nms * (runs + 1);
    return XAI_OK;
}

/* Explains each method again through a fresh explainer bound to the folded net: fn per method. */
typedef xai_status (*reexplain_fn)(faith_ctx *c, xai_explainer *e, int nimg, float *y, float *phi0, float *phi,
                                   double *out);

static xai_status reexplain(faith_ctx *c, int nimg, reexplain_fn fn, double **outs /* (nmethods) */, int rows)
{
    const size_t bytes = (size_t)nimg * c->size * sizeof(float);
    float *y = xai_malloc(bytes), *phi0 = xai_malloc(bytes), *phi = xai_malloc(bytes);
    xai_status s = XAI_OK;
    for (int a = 0; a < c->in->nmethods && s == XAI_OK; a++) {
        xai_explainer *e = NULL;
        outs[a] = xai_malloc((size_t)rows * nimg * sizeof(double));
        if ((s = xai_explainer_create(&e, &c->in->meth[a], c->em)) == XAI_OK) s = fn(c, e, nimg, y, phi0, phi, outs[a]);
        xai_explainer_free(e);
    }
    free(y);
    free(phi0);
    free(phi);
    return s;
}

static xai_status run_maxsens(faith_ctx *c)
{
    const int nms = c->o->maxsens_n < c->in->n ? c->o->maxsens_n : c->in->n;
    double **outs = xai_calloc(c->in->nmethods, sizeof *outs);
    xai_status s = reexplain(c, nms, maxsens_method, outs, 1);
    for (int a = 0; a < c->in->nmethods; a++) c->r->m[a].maxsens = outs[a];
    free(outs);
    c->r->cost[XAI_FM_MAXSENS].n = nms;
    return s;
}

static xai_status randlogit_method(faith_ctx *c, xai_explainer *e, int nrl, float *y, float *phi0, float *phi,
                                   double *out)
{
    (void)y;
    const int64_t *ids = c->in->image_id;
    XAI_TRY(explain_rows(e, c->em, c->in->x, c->in->target, ids, nrl, phi0, "random-logit test"));
    XAI_TRY(explain_rows(e, c->em, c->in->x, c->r->rl_class, ids, nrl, phi, "random-logit test"));
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < nrl; i++) {
        double sim[3];
        xai_map_similarity(sim, phi0 + (size_t)i * c->size, phi + (size_t)i * c->size, c->s);
        for (int q = 0; q < 3; q++) out[(size_t)q * nrl + i] = sim[q];
    }
    c->r->cost[XAI_FM_RANDLOGIT].explanations += 2.0 * nrl;
    return XAI_OK;
}

static xai_status run_randlogit(faith_ctx *c)
{
    const int nrl = c->o->randlogit_n < c->in->n ? c->o->randlogit_n : c->in->n, K = c->m->nclasses;
    if (K < 2) return xai_fail(XAI_EINVAL, "random-logit test: the model has %d class, expected at least 2", K);
    c->r->rl_class = xai_malloc((size_t)nrl * sizeof *c->r->rl_class);
    for (int i = 0; i < nrl; i++) {
        xai_rng g;
        xai_noise_rng(&g, c->in->flip->seed, XAI_NOISE_RANDLOGIT, image_id(c, i), 0);
        const int32_t k = (int32_t)xai_rng_below(&g, (uint32_t)(K - 1));
        c->r->rl_class[i] = k >= c->in->target[i] ? k + 1 : k;
    }
    double **outs = xai_calloc(c->in->nmethods, sizeof *outs);
    xai_status s = reexplain(c, nrl, randlogit_method, outs, 3);
    for (int a = 0; a < c->in->nmethods; a++) c->r->m[a].rl_sim = outs[a];
    free(outs);
    c->r->cost[XAI_FM_RANDLOGIT].n = nrl;
    return s;
}

/* ------------------------------------------------------------ descriptive */

static void run_descriptive(faith_ctx *c, int gini)
{
    const int n = c->in->n;
    for (int a = 0; a < c->in->nmethods; a++) {
        double *v = xai_malloc((size_t)n * sizeof *v);
        for (int i = 0; i < n; i++) {
            xai_flip_feature_scores(c->cur, c->in->attr[a] + (size_t)i * c->size, c->s, 1);
            v[i] = gini ? xai_gini(c->cur, (int)c->plane) : xai_entropy(c->cur, (int)c->plane);
        }
        if (gini) c->r->m[a].sparseness = v;
        else c->r->m[a].complexity = v;
    }
}

/* ------------------------------------------------------------------ run */

static xai_status run_metric(faith_ctx *c, int k)
{
    switch (k) {
    case XAI_FM_INSDEL: run_insdel(c); return XAI_OK;
    case XAI_FM_ROAD: run_road(c); return XAI_OK;
    case XAI_FM_FAITHCORR: run_faithcorr(c); return XAI_OK;
    case XAI_FM_SENSN: run_sensn(c); return XAI_OK;
    case XAI_FM_INFIDELITY: run_infidelity(c); return XAI_OK;
    case XAI_FM_MAXSENS: return run_maxsens(c);
    case XAI_FM_RANDLOGIT: return run_randlogit(c);
    case XAI_FM_SPARSENESS: run_descriptive(c, 1); return XAI_OK;
    case XAI_FM_COMPLEXITY: run_descriptive(c, 0); return XAI_OK;
    default: return xai_fail(XAI_EINVAL, "metrics: unknown metric %d", k);
    }
}

static xai_status check_input(const xai_model *m, const xai_faith_input *in)
{
    if (in->n <= 0 || in->nmethods <= 0)
        return xai_fail(XAI_EINVAL, "metrics: %d images and %d methods, expected at least one of each", in->n,
                        in->nmethods);
    XAI_TRY(xai_flip_check(in->flip, m->in));
    if (!(in->flip->blur_sigma > 0))
        return xai_fail(XAI_EINVAL, "metrics: blur sigma %g, expected > 0 (insertion starts from the blurred image)",
                        in->flip->blur_sigma);
    for (int i = 0; i < in->n; i++)
        if (in->target[i] < 0 || in->target[i] >= m->nclasses)
            return xai_fail(XAI_EINVAL, "metrics: image %d has target class %d, expected 0..%d", i, in->target[i],
                            m->nclasses - 1);
    return XAI_OK;
}

/* The net max-sensitivity and the random-logit test explain with, when one of them runs: the
 * caller's fold of m, else one made here (m itself when it has no batch norm to fold). */
static xai_status explain_net(faith_ctx *c)
{
    const unsigned explaining = (1u << XAI_FM_MAXSENS) | (1u << XAI_FM_RANDLOGIT);
    c->em = c->in->explain_model ? c->in->explain_model : c->m;
    if (!(c->o->which & explaining)) return XAI_OK;
    /* The caller's net holds m's weights, folded, whatever it held before (m itself: as it is). */
    if (c->in->explain_model) return c->em != c->m ? xai_model_refold_batchnorm(c->em, c->m) : XAI_OK;
    if (!xai_model_folds(c->m)) return XAI_OK;
    XAI_TRY(xai_model_fold_batchnorm(&c->own, c->m, c->m->max_batch));
    c->em = c->own;
    return XAI_OK;
}

static void ctx_init(faith_ctx *c, xai_faith_result *r, xai_model *m, const xai_faith_input *in,
                     const xai_faith_opts *o)
{
    *c = (faith_ctx){.r = r, .m = m, .em = m, .in = in, .o = o, .s = m->in};
    c->size = xai_shape_size(m->in), c->plane = (size_t)m->in.h * m->in.w;
    const size_t nmax = c->plane > (size_t)r->nfeatures ? c->plane : (size_t)r->nfeatures;
    c->fx = xai_malloc((size_t)in->n * sizeof *c->fx);
    c->cur = xai_malloc(c->size * sizeof *c->cur);
    c->score = xai_malloc((size_t)in->nmethods * nmax * sizeof *c->score);
    c->order = xai_malloc(nmax * sizeof *c->order);
    xai_fwd_init(&c->b, m);
}

static void ctx_free(faith_ctx *c)
{
    xai_fwd_free(&c->b);
    xai_model_free(c->own);
    free(c->fx), free(c->cur), free(c->score), free(c->order);
}

xai_status xai_faith_run(xai_faith_result *r, xai_model *m, const xai_faith_input *in, const xai_faith_opts *o)
{
    memset(r, 0, sizeof *r);
    XAI_TRY(xai_faith_check(o));
    XAI_TRY(check_input(m, in));
    r->o = *o, r->n = in->n, r->nmethods = in->nmethods, r->patch = in->flip->patch;
    r->nfeatures = xai_flip_nfeatures(m->in, r->patch);
    r->m = xai_calloc(in->nmethods, sizeof *r->m);
    faith_ctx c;
    ctx_init(&c, r, m, in, o);
    xai_status s = explain_net(&c);
    xai_eval_scope mode = xai_eval_begin(m, 1);
    for (int i = 0; i < in->n && s == XAI_OK; i++)
        memcpy(xai_fwd_slot(&c.b, in->target[i], &c.fx[i], NULL), image(&c, i), c.size * sizeof(float));
    xai_fwd_flush(&c.b);
    xai_eval_end(m, mode);
    xai_progress p;
    xai_progress_start(&p, "metrics", XAI_FM_COUNT, "metric");
    for (int k = 0; k < XAI_FM_COUNT && s == XAI_OK; k++) {
        if (!(o->which & (1u << k))) continue;
        const double t0 = xai_now(), f0 = c.b.forwarded;
        const int explains = k == XAI_FM_MAXSENS || k == XAI_FM_RANDLOGIT;
        if (!explains) mode = xai_eval_begin(m, 1); /* only logits are read */
        s = run_metric(&c, k);
        if (!explains) xai_eval_end(m, mode);
        xai_faith_cost *cost = &r->cost[k];
        cost->seconds = xai_now() - t0, cost->forwards = c.b.forwarded - f0;
        if (!cost->n) cost->n = in->n;
        xai_progress_update(&p, k + 1);
    }
    xai_progress_end(&p, NULL);
    ctx_free(&c);
    if (s != XAI_OK) xai_faith_result_free(r);
    return s;
}

void xai_faith_result_free(xai_faith_result *r)
{
    for (int a = 0; r->m && a < r->nmethods; a++) {
        xai_faith_method *f = &r->m[a];
        xai_flip_curve *cv[4] = {&f->ins, &f->del, &f->road_morf, &f->road_lerf};
        for (int k = 0; k < 4; k++) xai_flip_curve_free(cv[k]);
        for (int q = 0; q < 2; q++) free(f->ins_auc[q]), free(f->del_auc[q]), free(f->road_morf_auc[q]), free(f->road_lerf_auc[q]);
        free(f->faithcorr), free(f->sensn), free(f->infid), free(f->infid_scaled), free(f->maxsens), free(f->rl_sim);
        free(f->sparseness), free(f->complexity);
    }
    free(r->m), free(r->ins_frac), free(r->sensn_n), free(r->rl_class);
    memset(r, 0, sizeof *r);
}
