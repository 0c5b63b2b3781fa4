/* bench.c: attribution throughput behind `xai bench ig` and `xai bench lrp`: a config's net with
 * random weights and inputs, batch norms folded as `xai explain` runs it, timed as medians. */
#include "core/bench.h"
#include "explainers/explain.h"
#include "explainers/ig_exact.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    xai_model *m;
    xai_ig_opts ig;
    xai_lrp *lrp;
    float *x, *attr; /* (n, C, H, W) */
    int32_t *t;      /* (n) */
    int n;
    xai_ig_exact_stats *st; /* (n) exact IG: the last call's */
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
    free(c->x);
    free(c->attr);
    free(c->t);
    free(c->st);
    xai_lrp_free(c->lrp);
    xai_model_free(c->m);
}

/* The net of o->config at *rows rows (0: xai explain's default, written back), folded, and n
 * (0: *rows) random inputs with targets cycling through the classes. */
static xai_status bench_setup(bench_ctx *c, const char *config, int *rows, int n, float bias)
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
    if (*rows <= 0) *rows = xai_explain_default_rows(raw);
    if (n <= 0) n = *rows;
    s = xai_model_fold_batchnorm(&c->m, raw, *rows);
    xai_model_free(raw);
    if (s != XAI_OK) return s;
    const size_t isz = xai_shape_size(c->m->in);
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

/* Exact IG on a net with random biases; FLOPs count one forward and backward pass per region. */
static xai_status bench_exact_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r)
{
    bench_ctx c;
    int rows = o->rows;
    double t = 0, tv = 0;
    xai_status s = XAI_OK;
    if ((s = bench_setup(&c, o->config, &rows, o->images, 0.1f)) != XAI_OK) goto done;
    xai_ig_defaults(&c.ig);
    c.ig.exact = 1;
    c.st = xai_calloc((size_t)c.n, sizeof *c.st);
    if ((s = bench_time(exact_step, &c, o, &t)) != XAI_OK) goto done;
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
    if ((s = bench_setup(&c, o->config, &rows, o->images, 0)) != XAI_OK) goto done;
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
    if ((s = bench_setup(&c, o->config, &rows, 0, 0)) != XAI_OK) goto done;
    if ((s = xai_lrp_create(&c.lrp, c.m, &meth.lrp, rows)) != XAI_OK) goto done;
    if ((s = bench_time(lrp_step, &c, o, &t)) != XAI_OK) goto done;
    if ((s = bench_time(gxi_step, &c, o, &tg)) != XAI_OK) goto done;
    const double per = 2.0 * xai_model_flops(c.m, NULL);
    r->threads = xai_threads();
    snprintf(r->method, sizeof r->method, "%s", meth.spec);
    r->rows = rows;
    r->attr_per_s = rows / t;
    r->gxi_attr_per_s = rows / tg;
    r->gflop_per_attr = per * 1e-9;
    r->gflops = per * rows / t * 1e-9;
    r->peak_rss_mb = xai_peak_rss_mb();
done:
    bench_free(&c);
    return s;
}
