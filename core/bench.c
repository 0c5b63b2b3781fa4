/* bench.c: the throughput measurements of `xai bench train|infer` and the machine's peak figures
 * they are compared with. Warm-up first, then the median of several repeats. */
#include "core/base.h"
#include "core/bench.h"
#include "core/config.h"
#include "core/io.h"
#include "core/nn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

double xai_peak_gflops(double given)
{
    if (given > 0) return given;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7)) {
            char *c = strchr(line, ':');
            if (c) mhz = atof(c + 1);
            break;
        }
    if (f) fclose(f);
    /* threads x 32 FLOP/cycle (two 8-wide FMA units, AVX2) x clock */
    return xai_threads() * 32.0 * (mhz > 0 ? mhz / 1000 : 2.0);
}

void xai_print_peak(const char *prefix, double gflops, double given)
{
    const double peak = xai_peak_gflops(given), isa = peak * xai_conv_vector_width() / 8.0;
    printf("%speak_gflops %.1f\n", prefix, peak);
    printf("%sfraction_of_peak %.3f\n", prefix, gflops / peak);
    printf("%sisa_peak_gflops %.1f\n", prefix, isa);
    printf("%sfraction_of_isa_peak %.3f\n", prefix, gflops / isa);
}

double xai_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

double xai_bench_time(xai_bench_step step, void *ctx, const xai_bench_timing *t, xai_status *st)
{
    *st = XAI_OK;
    for (int i = 0; i < t->warmup && *st == XAI_OK; i++) *st = step(ctx);
    double *sec = xai_calloc(t->repeats, sizeof *sec);
    for (int r = 0; r < t->repeats && *st == XAI_OK; r++) {
        double t0 = xai_now();
        for (int i = 0; i < t->iters && *st == XAI_OK; i++) *st = step(ctx);
        sec[r] = (xai_now() - t0) / t->iters;
    }
    qsort(sec, t->repeats, sizeof *sec, xai_cmp_double);
    int n = t->repeats;
    double med = n % 2 ? sec[n / 2] : 0.5 * (sec[n / 2 - 1] + sec[n / 2]);
    free(sec);
    return med;
}

typedef struct {
    xai_model *m;
    float *x /* (N, C, H, W) */, *dlogits /* (N, K) */;
    int32_t *y; /* (N) */
    int n;
    int layer; /* the conv layer timed alone */
} bench_ctx;

static xai_status train_step(void *p)
{
    bench_ctx *c = p;
    xai_model *m = c->m;
    xai_model_zero_grad(m);
    float *logits = xai_model_forward(m, c->x, c->n);
    xai_softmax_xent(logits, c->y, c->n, m->nclasses, c->dlogits, NULL);
    xai_model_backward(m, c->dlogits, c->n, 0);
    /* Plain SGD so the figure includes a parameter update, like an optimizer step. */
    for (size_t i = 0; i < m->nparams; i++) m->params[i] -= 1e-4f * m->grads[i];
    return XAI_OK;
}

static xai_status infer_step(void *p)
{
    bench_ctx *c = p;
    xai_model_forward(c->m, c->x, c->n);
    return XAI_OK;
}

static xai_status conv_fwd_step(void *p)
{
    bench_ctx *c = p;
    xai_layer *l = &c->m->layers[c->layer];
    xai_conv2d_forward(c->m->acts[c->layer + 1], c->m->acts[c->layer], l, c->n);
    return XAI_OK;
}

static xai_status conv_bwd_step(void *p)
{
    bench_ctx *c = p;
    xai_layer *l = &c->m->layers[c->layer];
    float *din = c->layer > 0 ? c->m->dbuf[0] : NULL;
    if (din) memset(din, 0, (size_t)c->n * xai_shape_size(l->in) * sizeof *din);
    xai_conv2d_backward(din, c->m->acts[c->layer + 1], c->m->acts[c->layer], l, c->n);
    return XAI_OK;
}

/* A model of the config's net with random weights, random inputs and cycling labels. */
static xai_status bench_setup(bench_ctx *c, const char *config, int batch, int train)
{
    memset(c, 0, sizeof *c);
    xai_config cfg;
    XAI_TRY(xai_config_load(&cfg, config));
    xai_status s = xai_model_from_config(&c->m, &cfg, batch);
    xai_config_free(&cfg);
    if (s != XAI_OK) return s;
    xai_model *m = c->m;
    xai_model_init(m, 1);
    m->train = train, m->lean = 1; /* as the trainer runs it */
    c->n = batch;
    size_t isz = xai_shape_size(m->in);
    c->x = xai_malloc((size_t)batch * isz * sizeof(float));
    c->dlogits = xai_malloc((size_t)batch * m->nclasses * sizeof(float));
    c->y = xai_malloc(batch * sizeof(int32_t));
    xai_rng r;
    xai_rng_seed(&r, 7);
    for (size_t i = 0; i < (size_t)batch * isz; i++) c->x[i] = xai_rng_normal(&r);
    for (int i = 0; i < batch; i++) c->y[i] = i % m->nclasses;
    return XAI_OK;
}

static void bench_free(bench_ctx *c)
{
    free(c->x);
    free(c->dlogits);
    free(c->y);
    xai_model_free(c->m);
}

/* GFLOP/s of the conv layers alone, for the fraction of peak the engine's core reaches; 0 without convs. */
static double conv_gflops(bench_ctx *c, int train, const xai_bench_timing *t, xai_status *st)
{
    xai_model *m = c->m;
    double sec = 0, flops = 0;
    *st = infer_step(c); /* fills the activations the layers read */
    for (int i = 0; i < m->nlayers && *st == XAI_OK; i++) {
        const xai_layer *l = &m->layers[i];
        if (l->type != XAI_CONV2D) continue;
        c->layer = i;
        double lf = 2.0 * l->nw * l->out.h * l->out.w * c->n;
        sec += xai_bench_time(conv_fwd_step, c, t, st);
        flops += lf;
        if (train && *st == XAI_OK) {
            sec += xai_bench_time(conv_bwd_step, c, t, st);
            flops += lf * (i > 0 ? 2 : 1);
        }
    }
    return sec > 0 ? flops / sec * 1e-9 : 0;
}

xai_status xai_bench_model(xai_bench_result *r, const char *config, int batch, int train, const xai_bench_timing *t)
{
    memset(r, 0, sizeof *r);
    bench_ctx c;
    xai_status s = bench_setup(&c, config, batch, train);
    if (s != XAI_OK) goto done;
    double sec = xai_bench_time(train ? train_step : infer_step, &c, t, &s);
    if (s != XAI_OK) goto done;
    /* Training costs forward + two backward products per weight (3x), less the first layer's input grad. */
    double flops = (train ? 3.0 : 1.0) * xai_model_flops(c.m, NULL) * batch;
    r->threads = xai_threads();
    r->conv_impl = xai_conv_impl_name();
    r->batch = batch;
    r->img_per_s = batch / sec;
    r->step_ms = 1e3 * sec;
    r->gflops = flops / sec * 1e-9;
    r->conv_gflops = conv_gflops(&c, train, t, &s);
    r->peak_rss_mb = xai_peak_rss_mb();
done:
    bench_free(&c);
    return s;
}
