/* bench.c: attribution and metric throughput behind `xai bench ig|lrp|evaluate`: a config's net
 * with random weights and inputs, batch norms folded as `xai explain` runs it, timed as medians. */
#include "core/bench.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"
#include "explainers/faith.h"
#include "explainers/ig_exact.h"
#include "explainers/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    xai_model *m;
    xai_ig_opts ig;
    xai_lrp *lrp;
    float *x, *attr; /* (n, C, H, W) */
    int32_t *t;      /* (n) */
    int n;
    xai_ig_exact_stats *st; /* (n) exact IG: the last call's */
    xai_method meth;        /* evaluate: the method metrics recompute */
    double forwards;        /* evaluate: images the last metric call sent through the net */
    double impute_s;        /* evaluate: seconds of ROAD's imputation in the last call */
    double impute_rows, cg_iters, cg_work; /* evaluate: ROAD's imputed rows and CG work, last call */
    int faith;              /* evaluate: the xai_faith_metric faith_step runs */
    xai_model *inf;         /* evaluate: the config's net as `xai bench infer` runs it, at the batch */
    xai_model *net;         /* evaluate: the net the metric being timed runs on (m, folded) */
    float *xin;             /* evaluate: (rows, C, H, W) its random inputs */
    int rows;               /* evaluate: the batch */
} bench_ctx;

/* Median seconds a call of fn (core's timing loop: warm-up, then `repeats` runs of `iters` calls). */
static xai_status bench_time(xai_bench_step fn, bench_ctx *c, const xai_bench_explain_opts *o, double *median)
{
    const xai_bench_timing t = {.repeats = o->repeats, .warmup = o->warmup, .iters = o->iters};
    xai_status s;
    *median = xai_bench_time(fn, c, &t, &s);
    return s;
}

static xai_status ig_step(void *p)
{
    bench_ctx *c = p;
    return xai_ig(c->m, &c->ig, c->x, NULL, c->t, NULL, c->n, c->attr, NULL, NULL);
}

static xai_status exact_step(void *p)
{
    bench_ctx *c = p;
    return xai_ig_exact_run(c->m, &c->ig, c->x, c->t, NULL, c->n, c->attr, NULL, NULL, c->st);
}

static xai_status lrp_step(void *p)
{
    bench_ctx *c = p;
    return xai_lrp_run(c->lrp, c->x, c->t, c->n, c->attr, NULL, NULL);
}

static xai_status gxi_step(void *p)
{
    bench_ctx *c = p;
    return xai_gradient_x_input(c->m, c->x, c->t, c->n, c->attr);
}

/* Throughput figures of o->images attributions taking t seconds, at flop FLOP each. */
static void rate_figures(xai_bench_explain_result *r, const xai_bench_explain_opts *o, int rows, double t, double flop)
{
    r->threads = xai_threads();
    r->images = o->images;
    r->rows = rows;
    r->attr_per_s = o->images / t;
    r->ms_per_attr = 1e3 * t / o->images;
    r->gflop_per_attr = flop * 1e-9;
    r->gflops = flop * o->images / t * 1e-9;
    r->peak_rss_mb = xai_peak_rss_mb();
}

static void bench_free(bench_ctx *c)
{
    free(c->xin);
    xai_model_free(c->inf);
    free(c->x);
    free(c->attr);
    free(c->t);
    free(c->st);
    xai_lrp_free(c->lrp);
    xai_model_free(c->m);
}

#define BENCH_BYTES_MAX ((uint64_t)4 << 30)

static xai_status bench_inputs(bench_ctx *c, xai_model *raw, int *rows, int n, int fold);

/* The net of o->config at *rows rows (0: xai explain's default, written back), folded unless
 * !fold, and n (0: *rows) random inputs with targets cycling through the classes. */
static xai_status bench_setup(bench_ctx *c, const char *config, int *rows, int n, float bias, int fold)
{
    memset(c, 0, sizeof *c);
    xai_config cfg;
    xai_model *raw = NULL;
    XAI_TRY(xai_config_load(&cfg, config));
    xai_status s = xai_model_from_config(&raw, &cfg, 1);
    xai_config_free(&cfg);
    if (s != XAI_OK) return s;
    xai_model_init(raw, 1);
    xai_rng rb;
    xai_rng_seed(&rb, 8);
    for (int i = 0; bias > 0 && i < raw->nlayers; i++)
        for (size_t j = 0; j < raw->layers[i].nb; j++) raw->layers[i].b[j] = bias * xai_rng_normal(&rb);
    return bench_inputs(c, raw, rows, n, fold);
}

/* c->m: raw at *rows rows (0: xai explain's default, written back), its batch norms folded as
 * xai explain runs it, or with !fold kept as layers of their own as xai evaluate loads it; raw is
 * freed. Then n (0: *rows) random inputs with targets cycling through the classes. */
static xai_status bench_inputs(bench_ctx *c, xai_model *raw, int *rows, int n, int fold)
{
    if (*rows <= 0) *rows = xai_explain_default_rows(raw);
    if (n <= 0) n = *rows;
    xai_status s = fold ? xai_model_fold_batchnorm(&c->m, raw, *rows) : xai_model_clone(&c->m, raw, *rows);
    xai_model_free(raw);
    if (s != XAI_OK) return s;
    const size_t isz = xai_shape_size(c->m->in);
    /* --images is open-ended: inputs and attributions are checked in 64-bit before they are sized. */
    if ((uint64_t)n > BENCH_BYTES_MAX / (2 * sizeof(float) * (uint64_t)(isz ? isz : 1)))
        return xai_fail(XAI_EINVAL, "--images %d: %d images of %zu values need %.3g GB of inputs and attributions, "
                                    "more than the %llu GiB a benchmark may take", n, n, isz,
                        (double)n * (double)isz * 2 * sizeof(float) * 1e-9, (unsigned long long)(BENCH_BYTES_MAX >> 30));
    c->n = n;
    c->x = xai_malloc((size_t)n * isz * sizeof *c->x);
    c->attr = xai_malloc((size_t)n * isz * sizeof *c->attr);
    c->t = xai_malloc(n * sizeof *c->t);
    xai_rng r;
    xai_rng_seed(&r, 7);
    for (size_t j = 0; j < (size_t)n * isz; j++) c->x[j] = xai_rng_normal(&r);
    for (int i = 0; i < n; i++) c->t[i] = i % c->m->nclasses;
    return XAI_OK;
}

/* Exact IG on a trained model: o->model folded as xai explain runs it, and with o->data the first
 * o->images test images of that cache, normalised as the model says, each explained for the
 * class the model predicts (else random inputs as above). */
static xai_status bench_setup_model(bench_ctx *c, const xai_bench_explain_opts *o, int *rows)
{
    memset(c, 0, sizeof *c);
    xai_model *raw = NULL;
    XAI_TRY(xai_model_load(&raw, o->model, 1));
    XAI_TRY(bench_inputs(c, raw, rows, o->images, 1));
    if (!o->data) return XAI_OK;
    xai_dataset d;
    XAI_TRY(xai_dataset_load_file(&d, o->data, o->images));
    xai_status s = XAI_OK;
    const xai_shape in = c->m->in;
    if (d.test.n < c->n || d.test.shape.c != in.c || d.test.shape.h != in.h || d.test.shape.w != in.w)
        s = xai_fail(XAI_EINVAL, "--data %s: %d test images of %dx%dx%d; --images %d of the model's %dx%dx%d wanted",
                     o->data, d.test.n, d.test.shape.c, d.test.shape.h, d.test.shape.w, c->n, in.c, in.h, in.w);
    const size_t isz = xai_shape_size(in);
    for (int i = 0; i < c->n && s == XAI_OK; i++)
        xai_normalize_u8(c->x + (size_t)i * isz, d.test.images + (size_t)i * isz, in, c->m->mean, c->m->std);
    for (int i = 0; i < c->n && s == XAI_OK; i += c->m->max_batch) {
        const int nb = c->n - i < c->m->max_batch ? c->n - i : c->m->max_batch;
        const float *z = xai_model_forward(c->m, c->x + (size_t)i * isz, nb);
        for (int j = 0; j < nb; j++) {
            int best = 0;
            for (int k = 1; k < c->m->nclasses; k++) best = z[(size_t)j * c->m->nclasses + k] > z[(size_t)j * c->m->nclasses + best] ? k : best;
            c->t[i + j] = best;
        }
    }
    xai_dataset_free(&d);
    return s;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Regions of the last timed call: their median and maximum per image, and their total. */
static int64_t region_figures(const bench_ctx *c, xai_bench_explain_result *r)
{
    int64_t *v = xai_malloc((size_t)c->n * sizeof *v), total = 0;
    for (int i = 0; i < c->n; i++) total += v[i] = c->st[i].regions;
    qsort(v, (size_t)c->n, sizeof *v, cmp_i64);
    r->regions_per_attr_median = c->n % 2 ? (double)v[c->n / 2] : 0.5 * ((double)v[c->n / 2 - 1] + v[c->n / 2]);
    r->regions_per_attr_max = (double)v[c->n - 1];
    free(v);
    return total;
}

/* Process CPU seconds so far (all threads). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Exact IG on a net with random biases; FLOPs count one forward and backward pass per region. */
static xai_status bench_exact_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r)
{
    bench_ctx c;
    int rows = o->rows;
    double t = 0, tv = 0;
    xai_status s = XAI_OK;
    s = o->model ? bench_setup_model(&c, o, &rows) : bench_setup(&c, o->config, &rows, o->images, 0.1f, 1);
    if (s != XAI_OK) goto done;
    xai_ig_defaults(&c.ig);
    c.ig.exact = 1;
    c.st = xai_calloc((size_t)c.n, sizeof *c.st);
    const double cpu0 = cpu_now();
    if ((s = bench_time(exact_step, &c, o, &t)) != XAI_OK) goto done;
    r->cpu_s_per_attr = (cpu_now() - cpu0) / ((double)(o->warmup + o->repeats * o->iters) * o->images);
    const int64_t regions = region_figures(&c, r);
    if (o->vs_steps > 0) {
        c.ig.exact = 0, c.ig.steps = o->vs_steps, c.ig.rule = XAI_QUAD_GAUSS;
        if ((s = bench_time(ig_step, &c, o, &tv)) != XAI_OK) goto done;
        r->vs_attr_per_s = o->images / tv;
        r->vs_cost = t / tv;
    }
    rate_figures(r, o, rows, t, 2.0 * xai_model_flops(c.m, NULL) * regions / o->images);
    r->regions_per_s = regions / t;
done:
    bench_free(&c);
    return s;
}

xai_status xai_bench_ig_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r)
{
    memset(r, 0, sizeof *r);
    bench_ctx c;
    int rows = o->rows;
    double t = 0;
    xai_status s = XAI_OK;
    if (o->exact) return bench_exact_run(o, r);
    if ((s = bench_setup(&c, o->config, &rows, o->images, 0, !o->unfolded)) != XAI_OK) goto done;
    xai_ig_defaults(&c.ig);
    c.ig.steps = o->steps;
    c.ig.rule = o->rule;
    if ((s = bench_time(ig_step, &c, o, &t)) != XAI_OK) goto done;
    rate_figures(r, o, rows, t, 2.0 * xai_model_flops(c.m, NULL) * o->steps);
    r->steps = o->steps;
done:
    bench_free(&c);
    return s;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, xai_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}


/* Median seconds a call of a and of b, timed in alternating rounds (a b a b ...) so that both see
 * the same load on a shared machine; cpu: the median of b's process CPU seconds over a's (on a
 * loaded machine the steadier figure, with OMP_WAIT_POLICY=passive so that waits cost none). */
static xai_status interleaved(xai_bench_step a, xai_bench_step b, bench_ctx *c, const xai_bench_explain_opts *o,
                              double *ta, double *tb, double *cpu)
{
    const int R = o->repeats;
    double *v = xai_malloc(4 * (size_t)R * sizeof *v), *va = v, *vb = v + R, *ca = v + 2 * R, *cb = v + 3 * R;
    const xai_bench_timing one = {.repeats = 1, .warmup = 0, .iters = o->iters};
    xai_status s = XAI_OK;
    for (int w = 0; w < o->warmup && s == XAI_OK; w++)
        if ((s = a(c)) == XAI_OK) s = b(c);
    for (int r = 0; r < R && s == XAI_OK; r++) {
        double t0 = cpu_now();
        va[r] = xai_bench_time(a, c, &one, &s);
        ca[r] = cpu_now() - t0;
        t0 = cpu_now();
        if (s == XAI_OK) vb[r] = xai_bench_time(b, c, &one, &s);
        cb[r] = cpu_now() - t0;
    }
    if (s == XAI_OK) {
        *ta = median_of(va, R);
        *tb = median_of(vb, R);
        *cpu = median_of(cb, R) / median_of(ca, R);
    }
    free(v);
    return s;
}

xai_status xai_bench_lrp_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r)
{
    memset(r, 0, sizeof *r);
    xai_method meth;
    XAI_TRY(xai_method_parse(&meth, o->method, NULL));
    if (meth.kind != XAI_METHOD_LRP)
        return xai_fail(XAI_EINVAL, "--method %s is not an LRP composite (e.g. lrp-epsilon)", o->method);
    bench_ctx c;
    int rows = o->rows;
    double t = 0, tg = 0;
    xai_status s = XAI_OK;
    if ((s = bench_setup(&c, o->config, &rows, 0, 0, 1)) != XAI_OK) goto done;
    if ((s = xai_lrp_create(&c.lrp, c.m, &meth.lrp, rows)) != XAI_OK) goto done;
    if ((s = interleaved(lrp_step, gxi_step, &c, o, &t, &tg, &r->cpu_vs_gxi)) != XAI_OK) goto done;
    const double per = xai_lrp_flops(c.lrp);
    r->threads = xai_threads();
    snprintf(r->method, sizeof r->method, "%s", meth.spec);
    r->rows = rows;
    r->attr_per_s = rows / t;
    r->gxi_attr_per_s = rows / tg;
    r->gxi_gflop_per_attr = 2.0 * xai_model_flops(c.m, NULL) * 1e-9;
    r->gflop_per_attr = per * 1e-9;
    r->gflops = per * rows / t * 1e-9;
    r->peak_rss_mb = xai_peak_rss_mb();
done:
    bench_free(&c);
    return s;
}

/* ------------------------------------------------------------ metrics */

static xai_status pixelflip_step(void *p)
{
    bench_ctx *c = p;
    xai_flip_opts o;
    xai_flip_defaults(&o);
    xai_flip_result r;
    const float *attr[1] = {c->attr};
    XAI_TRY(xai_pixelflip(&r, c->net, c->x, c->t, NULL, c->n, attr, 1, &o));
    c->forwards = r.forward_images;
    xai_flip_result_free(&r);
    return XAI_OK;
}

static xai_status randomisation_step(void *p)
{
    bench_ctx *c = p;
    xai_sanity_result r;
    xai_method_attr ma = {&c->meth, NULL}; /* as xai evaluate runs it */
    xai_status s = xai_sanity_cascade(&r, c->m, NULL, c->x, c->t, NULL, c->n, xai_method_attr_cached_fn, &ma, 1);
    xai_method_attr_free(&ma);
    XAI_TRY(s);
    c->forwards = (double)r.nsteps * c->n;
    xai_sanity_result_free(&r);
    return XAI_OK;
}

/* One metric of faith.h (c->faith) as `xai evaluate` runs it, defaults and all. */
static xai_status faith_step(void *p)
{
    bench_ctx *c = p;
    xai_faith_opts o;
    xai_faith_defaults(&o);
    o.which = 1u << c->faith;
    xai_flip_opts flip;
    xai_flip_defaults(&flip);
    const float *attr[1] = {c->attr};
    const xai_faith_input in = {c->x, c->t, NULL, c->n, attr, &c->meth, 1, &flip, NULL}; /* c->m is folded */
    xai_faith_result r;
    XAI_TRY(xai_faith_run(&r, c->net, &in, &o));
    /* a recomputed explanation is one image through the net and back */
    c->forwards = r.cost[c->faith].forwards + r.cost[c->faith].explanations;
    c->impute_s = r.cost[c->faith].impute_seconds;
    /* every ROAD row but each image's own is imputed */
    c->impute_rows = c->faith == XAI_FM_ROAD ? r.cost[c->faith].forwards - c->n : 0;
    c->cg_iters = r.road_cg_iters, c->cg_work = r.road_cg_work;
    xai_faith_result_free(&r);
    return XAI_OK;
}

/* The timed metrics: a new one is a line here (forward_only: it runs forward passes only; faith:
 * the xai_faith_metric that faith_step runs, -1 for the others). */
static const struct {
    const char *name;
    int forward_only;
    xai_bench_step fn;
    int faith;
} metric_benches[] = {
    {"pixelflip", 1, pixelflip_step, -1},
    {"insdel", 1, faith_step, XAI_FM_INSDEL},
    {"road", 1, faith_step, XAI_FM_ROAD},
    {"faithcorr", 1, faith_step, XAI_FM_FAITHCORR},
    {"sensn", 1, faith_step, XAI_FM_SENSN},
    {"infidelity", 1, faith_step, XAI_FM_INFIDELITY},
    {"maxsens", 0, faith_step, XAI_FM_MAXSENS},
    {"randlogit", 0, faith_step, XAI_FM_RANDLOGIT},
    {"randomisation", 0, randomisation_step, -1},
};
enum { NMETRIC_BENCHES = sizeof metric_benches / sizeof *metric_benches };
_Static_assert(NMETRIC_BENCHES <= XAI_BENCH_METRICS_MAX, "raise XAI_BENCH_METRICS_MAX");

const char *xai_bench_metric_names(void)
{
    static char names[512];
    if (!names[0])
        for (int k = 0; k < NMETRIC_BENCHES; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", metric_benches[k].name);
    return names;
}

/* One forward pass of a full batch through the unfolded net, as `xai bench infer` times it. */
static xai_status infer_step(void *p)
{
    bench_ctx *c = p;
    xai_model_forward(c->inf, c->xin, c->rows);
    return XAI_OK;
}

static xai_status infer_setup(bench_ctx *c, const char *config, int rows)
{
    xai_config cfg;
    XAI_TRY(xai_config_load(&cfg, config));
    xai_status s = xai_model_from_config(&c->inf, &cfg, rows);
    xai_config_free(&cfg);
    if (s != XAI_OK) return s;
    xai_model_init(c->inf, 1);
    /* as core/bench.c's inference runs it (the loaded net, batch norms not folded, xai_eval_begin:
     * no training mode, lean) */
    c->inf->train = 0, c->inf->lean = 1;
    const size_t n = (size_t)rows * xai_shape_size(c->inf->in);
    c->xin = xai_malloc(n * sizeof *c->xin);
    c->rows = rows;
    xai_rng r;
    xai_rng_seed(&r, 9);
    for (size_t j = 0; j < n; j++) c->xin[j] = xai_rng_normal(&r);
    return XAI_OK;
}

/* Map pairs a timed similarity call compares: the cascade's and the random-logit test's images
 * (--sanity-n, --randlogit-n 64 in the study's profiles), whatever --images is. */
#define SIMILARITY_PAIRS 64

/* The similarities of SIMILARITY_PAIRS pairs (an image's map and its input, cycling through the
 * images), image-parallel as the cascade and the random-logit test compute theirs. */
static xai_status similarity_step(void *p)
{
    bench_ctx *c = p;
    const size_t size = xai_shape_size(c->m->in);
    double sum = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : sum)
    for (int i = 0; i < SIMILARITY_PAIRS; i++) {
        double sim[3];
        const size_t at = (size_t)(i % c->n) * size;
        xai_map_similarity(sim, c->attr + at, c->x + at, c->m->in);
        sum += sim[2];
    }
    c->forwards = sum; /* kept: the calls are not dead code */
    return XAI_OK;
}

/* Times each metric (or only `only`) in alternating rounds with inference (infer, metric, infer,
 * ...: both see the same load) and records its forward passes a second against inference's. Every
 * metric runs the folded net xai explain explains with, as xai evaluate runs them
 * (explainers/evaluate.c, run_families); inference the net `xai bench infer` times. */
static xai_status time_metrics(bench_ctx *c, const xai_bench_explain_opts *o, const char *only,
                               xai_bench_eval_result *r)
{
    const double per = xai_model_flops(c->m, NULL);
    for (int k = 0; k < NMETRIC_BENCHES; k++) {
        if (only && strcmp(only, metric_benches[k].name)) continue;
        double t = 0, ti = 0, cpu = 0;
        c->faith = metric_benches[k].faith;
        c->net = c->m;
        c->impute_s = c->impute_rows = c->cg_iters = c->cg_work = 0;
        XAI_TRY(interleaved(infer_step, metric_benches[k].fn, c, o, &ti, &t, &cpu));
        xai_bench_metric_figure *f = &r->metric[r->nmetrics++];
        f->name = metric_benches[k].name;
        f->forward_only = metric_benches[k].forward_only;
        f->forward_per_s = c->forwards / t;
        f->infer_per_s = c->rows / ti;
        f->vs_infer_cpu = c->forwards / c->rows / cpu; /* cpu: the metric's CPU seconds over inference's */
        /* ROAD's imputation is a cost of its own (a linear solve per image and level), not forward passes */
        f->impute_share = c->impute_s / t; /* t: seconds a call, as the last call measured it */
        if (f->impute_share > 0 && f->impute_share < 1) f->forward_per_s_ex_impute = c->forwards / (t * (1 - f->impute_share));
        if (c->impute_s > 0 && c->impute_rows > 0) {
            f->impute_rows_per_s = c->impute_rows / c->impute_s;
            f->cg_iters_per_row = c->cg_iters / c->impute_rows;
            f->cg_work_per_s = c->cg_work / c->impute_s;
        }
        f->gflops = f->forward_per_s * per * (f->forward_only ? 1 : 2) * 1e-9;
    }
    return XAI_OK;
}

xai_status xai_bench_evaluate_run(const xai_bench_explain_opts *o, const char *only, xai_bench_eval_result *r)
{
    memset(r, 0, sizeof *r);
    int known = !only;
    for (int k = 0; k < NMETRIC_BENCHES; k++) known |= only && !strcmp(only, metric_benches[k].name);
    if (!known)
        return xai_fail(XAI_EINVAL, "--metric %s: unknown metric (expected one of %s)", only,
                        xai_bench_metric_names());
    bench_ctx c;
    int rows = o->rows;
    xai_status s = XAI_OK;
    if ((s = bench_setup(&c, o->config, &rows, o->images, 0, 1)) != XAI_OK) goto done;
    if ((s = xai_method_parse(&c.meth, "gradient-x-input", NULL)) != XAI_OK) goto done;
    /* Attributions the metrics score: gradient x input, in batches of the model's rows. */
    const size_t isz = xai_shape_size(c.m->in);
    for (int i0 = 0; i0 < c.n && s == XAI_OK; i0 += rows)
        s = xai_gradient_x_input(c.m, c.x + (size_t)i0 * isz, c.t + i0, c.n - i0 < rows ? c.n - i0 : rows,
                                 c.attr + (size_t)i0 * isz);
    if (s != XAI_OK) goto done;
    /* Inference at the metrics' batch size, in the same run: the figure they are held to. */
    xai_bench_result inf;
    const xai_bench_timing t = {.repeats = o->repeats, .warmup = o->warmup, .iters = o->iters};
    if ((s = xai_bench_model(&inf, o->config, rows, 0, &t)) != XAI_OK) goto done;
    r->infer_img_per_s = inf.img_per_s;
    r->infer_gflops = inf.gflops;
    if ((s = infer_setup(&c, o->config, rows)) != XAI_OK) goto done;
    if ((s = time_metrics(&c, o, only, r)) != XAI_OK) goto done;
    double ts = 0;
    if ((s = bench_time(similarity_step, &c, o, &ts)) != XAI_OK) goto done;
    r->similarity_per_s = SIMILARITY_PAIRS / (ts > 0 ? ts : 1e-9);
    r->threads = xai_threads();
    r->rows = rows;
    r->images = c.n;
    r->gflop_per_forward = xai_model_flops(c.m, NULL) * 1e-9;
    r->peak_rss_mb = xai_peak_rss_mb();
done:
    bench_free(&c);
    return s;
}
