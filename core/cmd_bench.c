/* cmd_bench.c: `xai bench`: throughput of training, inference and attribution.
 * Prints one `key value` figure a line: warm-up first, then the median of several repeats. */
#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/io.h"
#include "experiments/commands.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
    const char *config;
    int batch, repeats, warmup, iters;
    double peak_gflops;
} bench_opts;

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, xai_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

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

static void fill_random(float *x, size_t n, uint64_t seed)
{
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = xai_rng_normal(&r);
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Times `fn` over repeats; returns median seconds per call. */
typedef void (*step_fn)(void *ctx);
static double time_median(step_fn fn, void *ctx, const bench_opts *o)
{
    for (int i = 0; i < o->warmup; i++) fn(ctx);
    double *t = xai_calloc(o->repeats, sizeof *t);
    for (int r = 0; r < o->repeats; r++) {
        double t0 = xai_now();
        for (int i = 0; i < o->iters; i++) fn(ctx);
        t[r] = (xai_now() - t0) / o->iters;
    }
    double m = median(t, o->repeats);
    free(t);
    return m;
}

typedef struct {
    xai_model *m;
    float *x, *dlogits;
    int32_t *y;
    int n;
    int layer; /* for per-layer timing */
} bench_ctx;

static void train_step(void *p)
{
    bench_ctx *c = p;
    xai_model *m = c->m;
    xai_model_zero_grad(m);
    float *logits = xai_model_forward(m, c->x, c->n);
    xai_softmax_xent(logits, c->y, c->n, m->nclasses, c->dlogits, NULL);
    xai_model_backward(m, c->dlogits, c->n, 0);
    /* Plain SGD so the figure includes a parameter update, like an optimizer step. */
    for (size_t i = 0; i < m->nparams; i++) m->params[i] -= 1e-4f * m->grads[i];
}

static void infer_step(void *p)
{
    bench_ctx *c = p;
    xai_model_forward(c->m, c->x, c->n);
}

static void conv_fwd_step(void *p)
{
    bench_ctx *c = p;
    xai_layer *l = &c->m->layers[c->layer];
    xai_conv2d_forward(c->m->acts[c->layer + 1], c->m->acts[c->layer], l, c->n);
}

static void conv_bwd_step(void *p)
{
    bench_ctx *c = p;
    xai_layer *l = &c->m->layers[c->layer];
    float *din = c->layer > 0 ? c->m->dbuf[0] : NULL;
    if (din) memset(din, 0, (size_t)c->n * xai_shape_size(l->in) * sizeof *din);
    xai_conv2d_backward(din, c->m->acts[c->layer + 1], c->m->acts[c->layer], l, c->n);
}

static int bench_model(const bench_opts *o, int train)
{
    xai_config cfg;
    xai_status s = xai_config_load(&cfg, o->config);
    if (s != XAI_OK) return xai_cli_error(s);
    xai_model *m;
    s = xai_model_from_config(&m, &cfg, o->batch);
    xai_config_free(&cfg);
    if (s != XAI_OK) return xai_cli_error(s);
    xai_model_init(m, 1);
    m->train = train, m->lean = 1; /* as the trainer runs it */
    bench_ctx c = {m, NULL, NULL, NULL, o->batch, 0};
    size_t isz = xai_shape_size(m->in);
    c.x = xai_malloc((size_t)o->batch * isz * sizeof(float));
    c.dlogits = xai_malloc((size_t)o->batch * m->nclasses * sizeof(float));
    c.y = xai_malloc(o->batch * sizeof(int32_t));
    fill_random(c.x, (size_t)o->batch * isz, 7);
    for (int i = 0; i < o->batch; i++) c.y[i] = i % m->nclasses;
    double conv_f, f = xai_model_flops(m, &conv_f);
    double t = time_median(train ? train_step : infer_step, &c, o);
    /* Training costs forward + two backward products per weight (3x), less the first layer's input grad. */
    double flops = (train ? 3.0 : 1.0) * f * o->batch;
    printf("threads %d\n", xai_threads());
    printf("conv_impl %s\n", xai_conv_impl_name());
    printf("batch %d\n", o->batch);
    printf("%s %.1f\n", train ? "train_img_per_s" : "infer_img_per_s", o->batch / t);
    printf("%s %.3f\n", train ? "train_step_ms" : "infer_batch_ms", 1e3 * t);
    printf("gflops %.2f\n", flops / t * 1e-9);
    xai_print_peak("", flops / t * 1e-9, o->peak_gflops);
    /* Conv layers alone, for the fraction of peak the engine's core reaches. */
    double conv_t = 0, conv_fl = 0;
    if (train) xai_model_forward(m, c.x, c.n);
    else infer_step(&c);
    for (int i = 0; i < m->nlayers; i++) {
        if (m->layers[i].type != XAI_CONV2D) continue;
        c.layer = i;
        double lf = 2.0 * m->layers[i].nw * m->layers[i].out.h * m->layers[i].out.w * o->batch;
        conv_t += time_median(conv_fwd_step, &c, o);
        conv_fl += lf;
        if (train) {
            conv_t += time_median(conv_bwd_step, &c, o);
            conv_fl += lf * (i > 0 ? 2 : 1);
        }
    }
    if (conv_t > 0) {
        printf("conv_gflops %.2f\n", conv_fl / conv_t * 1e-9);
        xai_print_peak("conv_", conv_fl / conv_t * 1e-9, o->peak_gflops);
    }
    printf("peak_rss_mb %.1f\n", peak_rss_mb());
    free(c.x);
    free(c.dlogits);
    free(c.y);
    xai_model_free(m);
    return 0;
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: xai bench <train|infer> --config FILE [--batch N] [--repeats R] [--warmup W]\n"
               "                  [--iters I] [--peak-gflops G]\n"
               "       xai bench <ig|lrp> --help   (attribution throughput, see there)\n"
               "Prints `key value` lines: throughput (median of R repeats of I steps after W warm-up\n"
               "steps), threads used, GFLOP/s and the fraction of the machine's FP32 peak\n"
               "(threads x 32 FLOP/cycle x clock unless --peak-gflops is given), and peak memory.\n");
}

int xai_cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        bench_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *what = argv[1];
    if (!strcmp(what, "ig")) return xai_bench_ig(argc, argv);
    if (!strcmp(what, "lrp")) return xai_bench_lrp(argc, argv);
    bench_opts o = {"experiments/mnist.ini", 128, 7, 2, 5, 0};
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help")) {
            bench_usage(stdout);
            return 0;
        } else if (xai_opt(argc, argv, &i, "--config", &v) && v) o.config = v;
        else if (xai_opt(argc, argv, &i, "--batch", &v) && v) o.batch = atoi(v);
        else if (xai_opt(argc, argv, &i, "--repeats", &v) && v) o.repeats = atoi(v);
        else if (xai_opt(argc, argv, &i, "--warmup", &v) && v) o.warmup = atoi(v);
        else if (xai_opt(argc, argv, &i, "--iters", &v) && v) o.iters = atoi(v);
        else if (xai_opt(argc, argv, &i, "--peak-gflops", &v) && v) o.peak_gflops = atof(v);
        else {
            fprintf(stderr, "xai bench: bad option '%s' (see 'xai bench --help')\n", argv[i]);
            return 2;
        }
    }
    if (o.batch <= 0 || o.repeats <= 0 || o.warmup < 0 || o.iters <= 0) {
        fprintf(stderr, "xai bench: --batch, --repeats and --iters must be positive\n");
        return 2;
    }
    if (!strcmp(what, "train")) return bench_model(&o, 1);
    if (!strcmp(what, "infer")) return bench_model(&o, 0);
    fprintf(stderr, "xai bench: unknown benchmark '%s' (expected train, infer, ig or lrp)\n", what);
    return 2;
}
