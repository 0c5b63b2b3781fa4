/* test_sanity.c: Spearman and SSIM against hand and NumPy values; cascading randomisation separates
 * a model-dependent method (the gradient) from one that ignores the model (the input itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/explain.h"
#include "explainers/metrics.h"

static void test_spearman(void **state)
{
    (void)state;
    int32_t idx[8];
    double rk[16];
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {2, 40, 60, 80, 100}, c[5] = {5, 4, 3, 2, 1};
    assert_float_equal(xai_spearman(a, b, 5, idx, rk), 1.0, 1e-12);
    assert_float_equal(xai_spearman(a, c, 5, idx, rk), -1.0, 1e-12);
    /* Ties take average ranks: (1, 2.5, 2.5, 4) against (1, 2, 3, 4) gives 4.5 / sqrt(4.5 * 5). */
    float t[4] = {1, 2, 2, 3}, u[4] = {-3, 0, 7, 9};
    assert_float_equal(xai_spearman(t, u, 4, idx, rk), 4.5 / sqrt(4.5 * 5), 1e-12);
    float k[4] = {2, 2, 2, 2};
    assert_true(isnan(xai_spearman(k, u, 4, idx, rk)));
}

static void pattern(float *a, float *b, int h, int w)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            a[y * w + x] = (float)((y * 7 + x * 3) % 11) / 10;
            b[y * w + x] = (float)((y * 5 + x * 2) % 13) / 12;
        }
}

static void test_ssim(void **state)
{
    (void)state;
    float a[156], b[156], c[156];
    /* Golden values from a direct NumPy evaluation of Wang et al.'s formula (11x11 Gaussian window,
     * sigma 1.5, valid windows only; the 6x5 image uses a 5x5 window). */
    pattern(a, b, 12, 13);
    for (int i = 0; i < 156; i++) c[i] = a[i] * 0.5f + 0.25f;
    assert_float_equal(xai_ssim(a, b, 12, 13, 1.0), 0.21075876277193875, 1e-6);
    assert_float_equal(xai_ssim(a, c, 12, 13, 1.0), 0.8013541699901338, 1e-6);
    assert_float_equal(xai_ssim(b, a, 12, 13, 1.0), 0.21075876277193875, 1e-6);
    assert_float_equal(xai_ssim(a, a, 12, 13, 1.0), 1.0, 1e-9);
    pattern(a, b, 6, 5);
    assert_float_equal(xai_ssim(a, b, 6, 5, 1.0), -0.19141718863713753, 1e-6);
}

/* conv(4, 3x3) -> relu -> flatten -> linear(3) on 1x8x8. */
static xai_model *small_net(int max_batch)
{
    const char *spec[4] = {"conv out=4 k=3", "relu", "flatten", "linear out=3"};
    xai_layer_spec s[4];
    for (int i = 0; i < 4; i++) assert_int_equal(xai_layer_spec_parse(&s[i], spec[i], "test", i + 1), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, s, 4, (xai_shape){1, 8, 8}, 3, max_batch), XAI_OK);
    xai_model_init(m, 5);
    for (int i = 0; i < 4; i++) m->mean[i] = 0, m->std[i] = 1;
    return m;
}

static xai_status gradient_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids, int n,
                              float *attr)
{
    (void)ctx, (void)ids;
    assert_true(n <= m->max_batch);
    xai_model_set_param_grads(m, 0);
    m->train = 0;
    xai_model_forward(m, x, n);
    float *d = calloc((size_t)n * m->nclasses, sizeof *d);
    for (int i = 0; i < n; i++) d[i * m->nclasses + target[i]] = 1;
    xai_model_backward(m, d, n, 1);
    memcpy(attr, m->dx, (size_t)n * xai_shape_size(m->in) * sizeof *attr);
    free(d);
    return XAI_OK;
}

/* An "explanation" that never looks at the model: the input itself (an edge-detector stand-in). */
static xai_status input_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids, int n,
                           float *attr)
{
    (void)ctx, (void)ids;
    (void)target;
    memcpy(attr, x, (size_t)n * xai_shape_size(m->in) * sizeof *attr);
    return XAI_OK;
}

static xai_status failing_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids, int n,
                             float *attr)
{
    int *calls = ctx;
    (void)x, (void)target, (void)ids;
    if (++*calls == 2) return xai_fail(XAI_ESTATE, "explainer gave up");
    memset(attr, 0, (size_t)n * xai_shape_size(m->in) * sizeof *attr);
    return XAI_OK;
}

static void test_cascade(void **state)
{
    (void)state;
    xai_model *m = small_net(4);
    int n = 10;
    size_t size = 64;
    float *x = malloc(n * size * sizeof *x);
    int32_t t[10];
    xai_rng r;
    xai_rng_seed(&r, 1);
    for (size_t i = 0; i < n * size; i++) x[i] = xai_rng_normal(&r);
    for (int i = 0; i < n; i++) t[i] = i % 3;
    float *before = malloc(m->nparams * sizeof *before);
    memcpy(before, m->params, m->nparams * sizeof *before);

    xai_sanity_result g, in;
    assert_int_equal(xai_sanity_cascade(&g, m, NULL, x, t, NULL, n, gradient_fn, NULL, 9), XAI_OK);
    assert_int_equal(g.nsteps, 3);
    assert_int_equal(g.layer[0], -1);
    assert_int_equal(g.layer[1], 3); /* top-down: the classifier first */
    assert_int_equal(g.layer[2], 0);
    double last = 0;
    for (int i = 0; i < n; i++) {
        assert_float_equal(g.spearman[i], 1.0, 1e-6);
        assert_float_equal(g.spearman_abs[i], 1.0, 1e-6);
        assert_float_equal(g.ssim[i], 1.0, 1e-6);
        last += g.spearman_abs[2 * n + i] / n;
    }
    /* The gradient of a randomised net no longer ranks pixels as the trained one does. */
    assert_true(last < 0.8);
    assert_memory_equal(before, m->params, m->nparams * sizeof *before); /* the caller's model is untouched */

    assert_int_equal(xai_sanity_cascade(&in, m, NULL, x, t, NULL, n, input_fn, NULL, 9), XAI_OK);
    for (int s = 0; s < in.nsteps; s++)
        for (int i = 0; i < n; i++) {
            assert_float_equal(in.spearman[s * n + i], 1.0, 1e-6);
            assert_float_equal(in.ssim[s * n + i], 1.0, 1e-6);
        }
    /* Same seed, same answer. */
    xai_sanity_result g2;
    assert_int_equal(xai_sanity_cascade(&g2, m, NULL, x, t, NULL, n, gradient_fn, NULL, 9), XAI_OK);
    assert_memory_equal(g.spearman, g2.spearman, (size_t)g.nsteps * n * sizeof(float));

    int calls = 0;
    xai_sanity_result f;
    assert_int_equal(xai_sanity_cascade(&f, m, NULL, x, t, NULL, n, failing_fn, &calls, 9), XAI_ESTATE);
    assert_null(f.spearman);

    xai_sanity_result_free(&g);
    xai_sanity_result_free(&g2);
    xai_sanity_result_free(&in);
    free(before);
    free(x);
    xai_model_free(m);
}

/* The gradient plus noise from each image's own stream (a smoothgrad stand-in): the map of an
 * image depends on its id, not on its place in a batch. */
static xai_status noisy_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids, int n,
                           float *attr)
{
    XAI_TRY(gradient_fn(ctx, m, x, target, ids, n, attr));
    const size_t size = xai_shape_size(m->in);
    for (int i = 0; i < n; i++) {
        const int64_t id = ids ? ids[i] : i;
        for (size_t j = 0; j < size; j++) attr[i * size + j] += 0.05f * (float)((id * 131 + (int64_t)j * 7) % 17);
    }
    return XAI_OK;
}

/* What `mpirun` ranks do: the cascade on parts of the images, with their ids, gives the columns
 * of the cascade on all of them, bit for bit, whatever batches the parts fall into. */
static void test_cascade_parts(void **state)
{
    (void)state;
    xai_model *m = small_net(4);
    enum { N = 10, K = 3 };
    const size_t size = 64;
    float x[N * 64];
    int32_t t[N];
    int64_t ids[N];
    xai_rng r;
    xai_rng_seed(&r, 2);
    for (size_t i = 0; i < N * size; i++) x[i] = xai_rng_normal(&r);
    for (int i = 0; i < N; i++) t[i] = i % 3, ids[i] = 100 + 7 * i;
    xai_sanity_result whole, a, b, z, pos;
    assert_int_equal(xai_sanity_cascade(&whole, m, NULL, x, t, ids, N, noisy_fn, NULL, 9), XAI_OK);
    assert_int_equal(xai_sanity_cascade(&a, m, NULL, x, t, ids, K, noisy_fn, NULL, 9), XAI_OK);
    assert_int_equal(xai_sanity_cascade(&b, m, NULL, x + K * size, t + K, ids + K, N - K, noisy_fn, NULL, 9), XAI_OK);
    const int S = whole.nsteps;
    for (int s = 0; s < S; s++) {
        const float *w[3] = {whole.spearman, whole.spearman_abs, whole.ssim};
        const float *pa[3] = {a.spearman, a.spearman_abs, a.ssim}, *pb[3] = {b.spearman, b.spearman_abs, b.ssim};
        for (int q = 0; q < 3; q++) {
            assert_memory_equal(w[q] + s * N, pa[q] + s * K, K * sizeof(float));
            assert_memory_equal(w[q] + s * N + K, pb[q] + s * (N - K), (N - K) * sizeof(float));
        }
    }
    /* The ids reach the method: positions instead give other maps, hence other similarities. */
    assert_int_equal(xai_sanity_cascade(&pos, m, NULL, x, t, NULL, N, noisy_fn, NULL, 9), XAI_OK);
    assert_true(memcmp(pos.spearman + N, whole.spearman + N, (size_t)(S - 1) * N * sizeof(float)) != 0);
    /* A rank without images: the same steps and layers, no columns. */
    xai_sanity_alloc(&z, m, 0);
    assert_int_equal(z.nsteps, S);
    assert_int_equal(z.n, 0);
    assert_memory_equal(z.layer, whole.layer, S * sizeof *z.layer);
    xai_sanity_result *all[5] = {&whole, &a, &b, &z, &pos};
    for (int k = 0; k < 5; k++) xai_sanity_result_free(all[k]);
    xai_model_free(m);
}

/* The cascade as xai evaluate runs it (one explainer per method, refreshed at every step) gives bit
 * for bit what a fresh explainer per step gives, with 1 and 2 threads, and leaves the model as it
 * was. The net has a batch norm that LRP folds and a conv + relu + pool that it fuses. */
static void test_cascade_cached(void **state)
{
    (void)state;
    const char *spec[6] = {"conv out=4 k=3 pad=1", "bn", "relu", "maxpool k=2", "flatten", "linear out=3"};
    xai_layer_spec ls[6];
    for (int i = 0; i < 6; i++) assert_int_equal(xai_layer_spec_parse(&ls[i], spec[i], "test", i + 1), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, ls, 6, (xai_shape){1, 8, 8}, 3, 8), XAI_OK);
    xai_model_init(m, 3);
    for (int c = 0; c < 4; c++) m->layers[1].rmean[c] = 0.1f * c, m->layers[1].rvar[c] = 0.5f + 0.2f * c;
    for (int i = 0; i < 4; i++) m->mean[i] = 0.2f, m->std[i] = 0.5f;
    const int n = 6;
    const size_t size = 64;
    const int threads = xai_threads();
    float *x = malloc(n * size * sizeof *x);
    int32_t t[6];
    xai_rng r;
    xai_rng_seed(&r, 4);
    for (size_t i = 0; i < n * size; i++) x[i] = xai_rng_normal(&r);
    for (int i = 0; i < n; i++) t[i] = i % 3;
    float *before = malloc(m->nparams * sizeof *before);
    memcpy(before, m->params, m->nparams * sizeof *before);
    static const char *methods[] = {"lrp-epsilon-gamma-box", "lrp-alpha2beta1", "lrp-epsilon-plus-flat", "ig:steps=5",
                                    "smoothgrad:samples=3", "gradient-x-input"};
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        xai_method meth;
        assert_int_equal(xai_method_parse(&meth, methods[k], NULL), XAI_OK);
        xai_sanity_result fresh, cached[2];
        assert_int_equal(xai_sanity_cascade(&fresh, m, NULL, x, t, NULL, n, xai_method_attr_fn, &meth, 9), XAI_OK);
        for (int th = 0; th < 2; th++) {
            xai_set_threads(th + 1);
            xai_method_attr ma = {&meth, NULL};
            assert_int_equal(xai_sanity_cascade(&cached[th], m, NULL, x, t, NULL, n, xai_method_attr_cached_fn, &ma, 9), XAI_OK);
            xai_method_attr_free(&ma);
            assert_null(ma.e);
            const float *a[3] = {fresh.spearman, fresh.spearman_abs, fresh.ssim};
            const float *b[3] = {cached[th].spearman, cached[th].spearman_abs, cached[th].ssim};
            for (int q = 0; q < 3; q++)
                if (memcmp(a[q], b[q], (size_t)fresh.nsteps * n * sizeof(float)))
                    fail_msg("%s, %d thread(s): measure %d differs from a fresh explainer per step", methods[k], th + 1, q);
        }
        double last = 0;
        for (int i = 0; i < n; i++) last += cached[0].ssim[(size_t)(cached[0].nsteps - 1) * n + i] / n;
        assert_true(last < 0.999); /* the randomised net changes every method's map */
        assert_memory_equal(before, m->params, m->nparams * sizeof *before);
        xai_sanity_result_free(&fresh);
        xai_sanity_result_free(&cached[0]);
        xai_sanity_result_free(&cached[1]);
    }
    xai_set_threads(threads);
    free(before);
    free(x);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spearman),
        cmocka_unit_test(test_ssim),
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_cascade_parts),
        cmocka_unit_test(test_cascade_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
