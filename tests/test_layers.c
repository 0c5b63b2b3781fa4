/* test_layers.c: finite-difference gradient checks for every layer on odd shapes.
 * Each layer's backward must match central differences w.r.t. its input and its parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/kernels.h"
#include "core/io.h"

/* A one-layer model [layer, flatten] whose "classes" equal the layer output size:
 * the simplest harness, since the model wires the arenas. */
static xai_model *harness(const char *spec, xai_shape in, int n)
{
    xai_layer_spec s[2];
    assert_int_equal(xai_layer_spec_parse(&s[0], spec, "test", 1), XAI_OK);
    assert_int_equal(xai_layer_spec_parse(&s[1], "flatten", "test", 2), XAI_OK);
    /* The output size is learnt from the shape error of a first attempt. */
    xai_model *m = NULL;
    for (int k = 1; k < 100000; k++) {
        xai_status st = xai_model_create(&m, s, 2, in, k, n);
        if (st == XAI_OK) break;
        const char *msg = strstr(xai_errmsg(), "outputs ");
        int c, h, w;
        if (msg && sscanf(msg, "outputs %dx%dx%d", &c, &h, &w) == 3) k = c - 1;
    }
    assert_non_null(m);
    xai_model_init(m, 42);
    /* Non-trivial bias and batchnorm affine parameters. */
    xai_rng r;
    xai_rng_seed(&r, 3);
    for (size_t i = 0; i < m->nparams; i++) m->params[i] += 0.3f * (xai_rng_uniform(&r) - 0.5f);
    for (size_t i = 0; i < m->nbuffers; i++) m->buffers[i] = 0.2f + xai_rng_uniform(&r);
    return m;
}

static double loss_of(xai_model *m, const float *x, const float *r, int n)
{
    m->step = 0; /* same dropout mask for every evaluation */
    float *y = xai_model_forward(m, x, n);
    double L = 0;
    for (size_t i = 0; i < (size_t)n * m->nclasses; i++) L += (double)y[i] * r[i];
    return L;
}

/* Checks d(sum(out * r))/d(input) and /d(params) against central differences. */
static void gradcheck(const char *spec, xai_shape in, int n, int train, float away_from_zero, int distinct)
{
    xai_model *m = harness(spec, in, n);
    m->train = train;
    size_t isz = xai_shape_size(in), nin = (size_t)n * isz, nout = (size_t)n * m->nclasses;
    float *x = malloc(nin * sizeof *x), *r = malloc(nout * sizeof *r);
    xai_rng g;
    xai_rng_seed(&g, 11);
    for (size_t i = 0; i < nin; i++) {
        float v = xai_rng_normal(&g);
        /* Keep inputs off the kinks of relu/maxpool so differences see one branch. */
        if (away_from_zero > 0 && fabsf(v) < away_from_zero) v = v < 0 ? v - away_from_zero : v + away_from_zero;
        x[i] = v + 0.001f * (float)i / nin;
    }
    if (distinct) {
        /* Max pooling: values 0.1 apart, shuffled, so no perturbation changes a winner. */
        int32_t *perm = malloc(nin * sizeof *perm);
        for (size_t i = 0; i < nin; i++) perm[i] = (int32_t)i;
        xai_rng_shuffle(&g, perm, nin);
        for (size_t i = 0; i < nin; i++) x[i] = 0.1f * (perm[i] - (float)nin / 2);
        free(perm);
    }
    for (size_t i = 0; i < nout; i++) r[i] = xai_rng_normal(&g);
    /* Analytic. Batchnorm in train mode updates running stats on each forward:
     * restore them around every call so every evaluation sees the same state. */
    float *buf0 = malloc((m->nbuffers + 1) * sizeof *buf0);
    memcpy(buf0, m->buffers, m->nbuffers * sizeof *buf0);
    xai_model_zero_grad(m);
    loss_of(m, x, r, n);
    xai_model_backward(m, r, n, 1);
    float *dx = malloc(nin * sizeof *dx), *dp = malloc((m->nparams + 1) * sizeof *dp);
    memcpy(dx, m->dx, nin * sizeof *dx);
    memcpy(dp, m->grads, m->nparams * sizeof *dp);
    const double eps = 1e-2;
    double worst = 0;
    for (size_t i = 0; i < nin; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lp = loss_of(m, x, r, n);
        x[i] = keep - eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lm = loss_of(m, x, r, n);
        x[i] = keep;
        double fd = (lp - lm) / (2 * eps), err = fabs(fd - dx[i]) / (1e-2 + fabs(fd) + fabs(dx[i]));
        if (err > worst) worst = err;
        if (err > 2e-2) print_error("%s: d/dx[%zu]: analytic %g, finite difference %g\n", spec, i, dx[i], fd);
    }
    assert_true(worst <= 2e-2);
    for (size_t i = 0; i < m->nparams; i++) {
        float keep = m->params[i];
        m->params[i] = keep + eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lp = loss_of(m, x, r, n);
        m->params[i] = keep - eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lm = loss_of(m, x, r, n);
        m->params[i] = keep;
        double fd = (lp - lm) / (2 * eps), err = fabs(fd - dp[i]) / (1e-2 + fabs(fd) + fabs(dp[i]));
        if (err > 2e-2) print_error("%s: d/dp[%zu]: analytic %g, finite difference %g\n", spec, i, dp[i], fd);
        assert_true(err <= 2e-2);
    }
    free(x), free(r), free(dx), free(dp), free(buf0);
    xai_model_free(m);
}

static void test_conv_stride2_pad1(void **s)
{
    (void)s;
    gradcheck("conv out=3 k=3 stride=2 pad=1", (xai_shape){2, 7, 5}, 3, 0, 0, 0);
}
static void test_conv_plain(void **s)
{
    (void)s;
    gradcheck("conv out=4 k=3", (xai_shape){3, 6, 5}, 3, 0, 0, 0);
}
static void test_conv_nobias_k2(void **s)
{
    (void)s;
    gradcheck("conv out=2 k=2 stride=1 pad=1 bias=0", (xai_shape){1, 4, 6}, 3, 0, 0, 0);
}
static void test_conv_pointwise(void **s)
{
    (void)s;
    gradcheck("conv out=3 k=1", (xai_shape){4, 3, 5}, 3, 0, 0, 0);
}
/* The direct kernels (planes of at least one pixel tile) under every
 * instruction set this CPU runs; the shapes above are small enough for im2col. */
static const char *const impls[] = {"avx512", "avx2", "generic"};
static void gradcheck_direct(const char *spec, xai_shape in)
{
    for (size_t i = 0; i < sizeof impls / sizeof *impls; i++) {
        if (xai_conv_impl_set(impls[i]) != XAI_OK) continue;
        gradcheck(spec, in, 2, 0, 0, 0);
    }
    xai_conv_impl_set("auto");
}
static void test_conv_direct_pad1(void **s)
{
    (void)s;
    gradcheck_direct("conv out=5 k=3 pad=1", (xai_shape){3, 9, 8});
}
static void test_conv_direct_k5_nobias(void **s)
{
    (void)s;
    gradcheck_direct("conv out=3 k=5 pad=2 bias=0", (xai_shape){2, 8, 9});
}
static void test_conv_direct_nopad(void **s)
{
    (void)s;
    gradcheck_direct("conv out=9 k=3", (xai_shape){1, 10, 11});
}
static void test_conv_direct_pointwise(void **s)
{
    (void)s;
    gradcheck_direct("conv out=2 k=1", (xai_shape){6, 8, 9});
}

static void test_linear(void **s)
{
    (void)s;
    gradcheck("linear out=4", (xai_shape){7, 1, 1}, 3, 0, 0, 0);
}
static void test_relu(void **s)
{
    (void)s;
    gradcheck("relu", (xai_shape){2, 3, 5}, 3, 0, 0.05f, 0);
}
static void test_maxpool(void **s)
{
    (void)s;
    gradcheck("maxpool k=2", (xai_shape){2, 5, 7}, 3, 0, 0, 1);
    gradcheck("maxpool k=3 stride=2 pad=1", (xai_shape){2, 6, 5}, 3, 0, 0, 1);
}
static void test_avgpool(void **s)
{
    (void)s;
    gradcheck("avgpool k=2", (xai_shape){2, 5, 7}, 3, 0, 0, 0);
    gradcheck("avgpool k=3 stride=2 pad=1", (xai_shape){2, 6, 5}, 3, 0, 0, 0);
}
static void test_gap(void **s)
{
    (void)s;
    gradcheck("gap", (xai_shape){3, 4, 5}, 3, 0, 0, 0);
}
static void test_batchnorm_train(void **s)
{
    (void)s;
    gradcheck("batchnorm", (xai_shape){3, 4, 5}, 3, 1, 0, 0);
}
static void test_batchnorm_eval(void **s)
{
    (void)s;
    gradcheck("batchnorm eps=0.001", (xai_shape){3, 4, 5}, 3, 0, 0, 0);
}
static void test_dropout(void **s)
{
    (void)s;
    gradcheck("dropout p=0.3", (xai_shape){2, 3, 5}, 3, 1, 0, 0);
    gradcheck("dropout p=0.3", (xai_shape){2, 3, 5}, 3, 0, 0, 0);
}

/* A whole net, input and parameter gradients together, batch 3. */
/* Hash of every relu sign and max-pool winner: equal hashes mean the same linear piece. */
static uint64_t pattern(const xai_model *m, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        if (l->type == XAI_RELU) {
            size_t tot = (size_t)n * xai_shape_size(l->in);
            for (size_t j = 0; j < tot; j++) h = (h ^ (m->acts[i][j] > 0)) * 1099511628211ull;
        } else if (l->type == XAI_MAXPOOL2D) {
            size_t tot = (size_t)n * xai_shape_size(l->out);
            for (size_t j = 0; j < tot; j++) h = (h ^ (uint64_t)l->ws->argmax[j]) * 1099511628211ull;
        }
    }
    return h;
}

static void model_gradcheck(const char *net, int train)
{
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, net,
                                            "net.ini"),
                     XAI_OK);
    xai_model *m;
    assert_int_equal(xai_model_from_config(&m, &c, 3), XAI_OK);
    xai_model_init(m, 5);
    m->train = train;
    const int n = 3;
    size_t nin = n * xai_shape_size(m->in);
    float *x = malloc(nin * sizeof *x), r[9], *buf0 = malloc(m->nbuffers * sizeof *buf0);
    xai_rng g;
    xai_rng_seed(&g, 9);
    for (size_t i = 0; i < nin; i++) x[i] = xai_rng_normal(&g);
    for (int i = 0; i < 9; i++) r[i] = xai_rng_normal(&g);
    memcpy(buf0, m->buffers, m->nbuffers * sizeof *buf0);
    xai_model_zero_grad(m);
    loss_of(m, x, r, n);
    xai_model_backward(m, r, n, 1);
    float *dx = malloc(nin * sizeof *dx), *dp = malloc(m->nparams * sizeof *dp);
    memcpy(dx, m->dx, nin * sizeof *dx);
    memcpy(dp, m->grads, m->nparams * sizeof *dp);
    /* Coordinate-wise central differences on inputs and parameters. A step that
     * flips a relu or a max-pool winner measures the kink, not the gradient:
     * such coordinates are detected by the activation pattern and skipped. */
    const double eps = 2e-3;
    int checked = 0, skipped = 0;
    size_t total = nin + m->nparams;
    for (size_t t = 0; t < total; t += 3) {
        float *v = t < nin ? &x[t] : &m->params[t - nin];
        float keep = *v, ana = t < nin ? dx[t] : dp[t - nin];
        *v = keep + eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lp = loss_of(m, x, r, n);
        uint64_t pp = pattern(m, n);
        *v = keep - eps;
        memcpy(m->buffers, buf0, m->nbuffers * sizeof *buf0);
        double lm = loss_of(m, x, r, n);
        uint64_t pm = pattern(m, n);
        *v = keep;
        if (pp != pm) {
            skipped++;
            continue;
        }
        checked++;
        double fd = (lp - lm) / (2 * eps), err = fabs(fd - ana) / (1e-2 + fabs(fd) + fabs(ana));
        if (err > 2e-2) print_error("coordinate %zu: analytic %g vs finite difference %g\n", t, ana, fd);
        assert_true(err <= 2e-2);
    }
    assert_true(skipped * 5 < checked);
    free(x), free(dx), free(dp), free(buf0);
    xai_model_free(m);
    xai_config_free(&c);
}

#define NET_HEAD "[model]\ninput = 2x9x7\nclasses = 3\n"
static void test_model_gradcheck(void **s)
{
    (void)s;
    const char *net = NET_HEAD "layer = conv out=4 k=3 pad=1\nlayer = batchnorm\nlayer = relu\n"
                      "layer = maxpool k=2\nlayer = conv out=5 k=3 stride=2 pad=1\n"
                      "layer = relu\nlayer = avgpool k=2 stride=1\nlayer = flatten\n"
                      "layer = linear out=6\nlayer = relu\nlayer = dropout p=0.25\nlayer = linear out=3\n";
    model_gradcheck(net, 0);
    model_gradcheck(net, 1);
}

/* The model's fusions on the direct kernels (planes of a pixel tile): conv+relu
 * and conv+relu+pool, each followed by a dropout that works in place on the
 * activation their backward pass reads as its mask. */
static void test_model_gradcheck_fused(void **s)
{
    (void)s;
    const char *net = "[model]\ninput = 1x12x11\nclasses = 3\nlayer = conv out=3 k=3 pad=1\nlayer = relu\n"
                      "layer = dropout p=0.3\nlayer = conv out=4 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\n"
                      "layer = dropout p=0.25\nlayer = flatten\nlayer = linear out=3\n";
    model_gradcheck(net, 0);
    model_gradcheck(net, 1);
}

static void test_softmax_xent(void **s)
{
    (void)s;
    float z[6] = {1.0f, -0.5f, 2.0f, 0.1f, 0.2f, -1.0f}, d[6];
    int32_t y[2] = {2, 0};
    int correct;
    double L = xai_softmax_xent(z, y, 2, 3, d, &correct);
    assert_int_equal(correct, 1); /* sample 1 predicts class 1, labelled 0 */
    for (int i = 0; i < 6; i++) {
        float keep = z[i];
        z[i] = keep + 1e-3f;
        double lp = xai_softmax_xent(z, y, 2, 3, NULL, NULL);
        z[i] = keep - 1e-3f;
        double lm = xai_softmax_xent(z, y, 2, 3, NULL, NULL);
        z[i] = keep;
        assert_float_equal((lp - lm) / 2e-3, d[i], 1e-3);
    }
    /* Hand-computed: -log softmax(z0)[2] = log(e^1 + e^-0.5 + e^2) - 2 */
    double l0 = log(exp(1.0) + exp(-0.5) + exp(2.0)) - 2.0, l1 = log(exp(0.1) + exp(0.2) + exp(-1.0)) - 0.1;
    assert_float_equal(L, (l0 + l1) / 2, 1e-6);
}

/* Weight gradients and outputs are bit-identical for 1 and 2 threads. */
static void test_thread_independence(void **s)
{
    (void)s;
#ifdef _OPENMP
    xai_config c;
    assert_int_equal(xai_config_load_string(&c,
                                            "[model]\ninput = 3x12x10\nclasses = 4\nlayer = conv out=8 k=3 pad=1\n"
                                            "layer = batchnorm\nlayer = relu\nlayer = maxpool k=2\n"
                                            "layer = dropout p=0.2\nlayer = flatten\nlayer = linear out=4\n",
                                            "t.ini"),
                     XAI_OK);
    float *grads[2];
    float *logits[2];
    const int n = 37;
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        xai_model *m;
        assert_int_equal(xai_model_from_config(&m, &c, n), XAI_OK);
        xai_model_init(m, 77);
        m->train = 1;
        size_t nin = n * xai_shape_size(m->in);
        float *x = malloc(nin * sizeof *x);
        int32_t y[37];
        xai_rng g;
        xai_rng_seed(&g, 1);
        for (size_t i = 0; i < nin; i++) x[i] = xai_rng_normal(&g);
        for (int i = 0; i < n; i++) y[i] = i % 4;
        float dl[37 * 4];
        xai_model_zero_grad(m);
        float *z = xai_model_forward(m, x, n);
        logits[t] = malloc(sizeof dl);
        memcpy(logits[t], z, sizeof dl);
        xai_softmax_xent(z, y, n, 4, dl, NULL);
        xai_model_backward(m, dl, n, 1);
        grads[t] = malloc(m->nparams * sizeof(float));
        memcpy(grads[t], m->grads, m->nparams * sizeof(float));
        if (t == 1) assert_memory_equal(grads[0], grads[1], m->nparams * sizeof(float));
        xai_model_free(m);
        free(x);
    }
    assert_memory_equal(logits[0], logits[1], 37 * 4 * sizeof(float));
    omp_set_num_threads(2);
    free(grads[0]), free(grads[1]), free(logits[0]), free(logits[1]);
    xai_config_free(&c);
#endif
}

/* logits, input gradient and parameter gradients of one training step */
static void conv_net_step(const char *impl, const char *net, int n, int lean, float **out, size_t *nout)
{
    assert_int_equal(xai_conv_impl_set(impl), XAI_OK);
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, net, "t.ini"), XAI_OK);
    xai_model *m;
    assert_int_equal(xai_model_from_config(&m, &c, n), XAI_OK);
    xai_model_init(m, 5);
    xai_rng g;
    xai_rng_seed(&g, 9);
    for (size_t i = 0; i < m->nparams; i++) m->params[i] += 0.1f * (xai_rng_uniform(&g) - 0.5f);
    m->train = 1, m->lean = lean;
    size_t nin = n * xai_shape_size(m->in), k = m->nclasses;
    float *x = malloc(nin * sizeof *x), *dl = malloc(n * k * sizeof *dl);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < nin; i++) x[i] = xai_rng_normal(&g);
    for (int i = 0; i < n; i++) y[i] = i % (int)k;
    xai_model_zero_grad(m);
    float *z = xai_model_forward(m, x, n);
    *nout = n * k + nin + m->nparams;
    float *o = *out = malloc(*nout * sizeof *o);
    memcpy(o, z, n * k * sizeof *o);
    xai_softmax_xent(z, y, n, (int)k, dl, NULL);
    xai_model_backward(m, dl, n, 1);
    memcpy(o + n * k, m->dx, nin * sizeof *o);
    memcpy(o + n * k + nin, m->grads, m->nparams * sizeof *o);
    xai_model_free(m);
    xai_config_free(&c);
    free(x), free(dl), free(y);
}

/* Every direct kernel set agrees with im2col + sgemm to float rounding on a
 * net with fused conv+relu and conv+relu+pool, padding, odd channel counts and
 * a batch that leaves uneven chunks; the FMA sets agree with each other bit
 * for bit, and so do lean and full forward passes. */
static void test_conv_impls_agree(void **s)
{
    (void)s;
    const char *nets[] = {
        "[model]\ninput = 1x28x28\nclasses = 10\nlayer = conv out=32 k=3\nlayer = relu\nlayer = conv out=64 k=3\n"
        "layer = relu\nlayer = maxpool k=2\nlayer = flatten\nlayer = linear out=10\n",
        "[model]\ninput = 3x11x13\nclasses = 4\nlayer = conv out=19 k=3 pad=1\nlayer = relu\n"
        "layer = conv out=7 k=3 pad=1 bias=0\nlayer = relu\nlayer = conv out=33 k=5 pad=2\nlayer = gap\n"
        "layer = flatten\nlayer = linear out=4\n",
    };
    for (int t = 0; t < 2; t++) {
        float *ref, *fma = NULL;
        size_t nref, nv;
        conv_net_step("im2col", nets[t], 37, 0, &ref, &nref);
        double scale = 0;
        for (size_t j = 0; j < nref; j++) scale = fmax(scale, fabs(ref[j]));
        for (size_t i = 0; i < sizeof impls / sizeof *impls; i++) {
            if (xai_conv_impl_set(impls[i]) != XAI_OK) continue;
            float *v;
            conv_net_step(impls[i], nets[t], 37, 0, &v, &nv);
            assert_int_equal(nv, nref);
            double worst = 0;
            for (size_t j = 0; j < nv; j++) worst = fmax(worst, fabs(v[j] - ref[j]));
            if (worst > 1e-4 * scale)
                print_error("net %d, %s: max |difference| %g (scale %g)\n", t, impls[i], worst, scale);
            assert_true(worst <= 1e-4 * scale);
            /* A lean forward pass (fused pools skip the activations before them) changes nothing. */
            float *vl;
            size_t nl;
            conv_net_step(impls[i], nets[t], 37, 1, &vl, &nl);
            assert_memory_equal(v, vl, nv * sizeof *v);
            free(vl);
            if (strcmp(impls[i], "generic")) {
                if (fma) assert_memory_equal(fma, v, nv * sizeof *v);
                else fma = v, v = NULL;
            }
            free(v);
        }
        free(ref), free(fma);
    }
    xai_conv_impl_set("auto");
}

/* Unknown or unsupported implementations are refused with a message that names them. */
static void test_conv_impl_names(void **s)
{
    (void)s;
    assert_int_equal(xai_conv_impl_set("fft"), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "'fft'"));
    assert_int_equal(xai_conv_impl_set("im2col"), XAI_OK);
    assert_string_equal(xai_conv_impl_name(), "im2col");
    assert_int_equal(xai_conv_impl_set("generic"), XAI_OK);
    assert_string_equal(xai_conv_impl_name(), "generic");
    assert_int_equal(xai_conv_vector_width(), 4);
    assert_int_equal(xai_conv_impl_set("auto"), XAI_OK);
    assert_string_not_equal(xai_conv_impl_name(), "im2col");
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_stride2_pad1), cmocka_unit_test(test_conv_plain),
        cmocka_unit_test(test_conv_nobias_k2),    cmocka_unit_test(test_conv_pointwise),
        cmocka_unit_test(test_linear),            cmocka_unit_test(test_relu),
        cmocka_unit_test(test_maxpool),           cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_gap),               cmocka_unit_test(test_batchnorm_train),
        cmocka_unit_test(test_batchnorm_eval),    cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_model_gradcheck),   cmocka_unit_test(test_model_gradcheck_fused),
        cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_thread_independence),
        cmocka_unit_test(test_conv_direct_pad1),  cmocka_unit_test(test_conv_direct_k5_nobias),
        cmocka_unit_test(test_conv_direct_nopad), cmocka_unit_test(test_conv_direct_pointwise),
        cmocka_unit_test(test_conv_impls_agree),  cmocka_unit_test(test_conv_impl_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
