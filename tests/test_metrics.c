/* test_metrics.c: statistics and the completeness sums, exact where the answer is known:
 * linear models (IG-style and LRP-style maps) and gradient x input of a bias-free ReLU net. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/metrics.h"

static void test_stats(void **state)
{
    (void)state;
    double v[5] = {4, 1, 100, 3, 2};
    xai_stats s;
    xai_stats_of(&s, v, 5);
    assert_int_equal(s.n, 5);
    assert_float_equal(s.mean, 22, 1e-12);
    double sd = sqrt(((18 * 18) + 21 * 21 + 78 * 78 + 19 * 19 + 20 * 20) / 4.0);
    assert_float_equal(s.se, sd / sqrt(5), 1e-12);
    assert_float_equal(s.median, 3, 1e-12);
    assert_float_equal(s.p90, 4 + 0.6 * 96, 1e-12); /* position 0.9 * 4 = 3.6 */
    assert_float_equal(v[0], 4, 0);                 /* input untouched */
    assert_float_equal(xai_quantile(v, 5, 0.25), 2, 1e-12);
    assert_float_equal(xai_quantile(v, 5, 1), 100, 1e-12);

    /* Non-finite values: left out of mean/se, sorted last for quantiles. */
    double w[3] = {1, INFINITY, 3};
    xai_stats_of(&s, w, 3);
    assert_int_equal(s.n, 2);
    assert_float_equal(s.mean, 2, 1e-12);
    assert_float_equal(s.median, 3, 1e-12);
    assert_true(isinf(s.p90));
    xai_stats_of(&s, w, 1);
    assert_true(isnan(s.se));
    xai_stats_of(&s, w, 0);
    assert_true(isnan(s.mean) && isnan(s.median));
}

static xai_model *make(const char *const *spec, int nl, xai_shape in, int classes, int max_batch, uint64_t seed)
{
    xai_layer_spec s[8];
    for (int i = 0; i < nl; i++) assert_int_equal(xai_layer_spec_parse(&s[i], spec[i], "test", i + 1), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, s, nl, in, classes, max_batch), XAI_OK);
    xai_model_init(m, seed);
    for (int c = 0; c < 4; c++) m->mean[c] = 0.2f, m->std[c] = 0.4f;
    return m;
}

static void fill(float *v, size_t n, uint64_t seed)
{
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) v[i] = xai_rng_normal(&r);
}

/* f(x) = w_t . x + b_t: a = w_t (x - x') sums to f(x) - f(x') exactly (IG on a linear model);
 * a = w_t x sums to f(x) - b_t (LRP-0 with biases as inputs: the bias takes b_t). */
static void test_completeness_linear(void **state)
{
    (void)state;
    const char *spec[2] = {"flatten", "linear out=4"};
    xai_shape in = {2, 5, 3};
    size_t size = xai_shape_size(in);
    int n = 6;
    xai_model *m = make(spec, 2, in, 4, 4, 3);
    for (int k = 0; k < 4; k++) m->layers[1].b[k] = 0.3f * k - 0.4f;
    float *x = malloc(n * size * sizeof *x), *xb = malloc(n * size * sizeof *xb), *a = malloc(n * size * sizeof *a);
    float fx[6], fb[6];
    int32_t t[6] = {0, 1, 2, 3, 1, 2};
    fill(x, n * size, 1);
    fill(xb, n * size, 2);
    xai_model_target_logits(m, x, t, n, fx);
    xai_model_target_logits(m, xb, t, n, fb);
    for (int i = 0; i < n; i++) {
        const float *w = m->layers[1].w + (size_t)t[i] * size;
        for (size_t j = 0; j < size; j++) a[i * size + j] = w[j] * (x[i * size + j] - xb[i * size + j]);
    }
    double rel[6], abs_err[6], sum[6];
    xai_completeness(rel, abs_err, sum, a, size, fx, fb, n);
    for (int i = 0; i < n; i++) {
        assert_true(rel[i] < 1e-5);
        assert_float_equal(sum[i], (double)fx[i] - fb[i], 1e-4);
    }
    /* LRP-style map: the missing part is exactly the bias. */
    for (int i = 0; i < n; i++) {
        const float *w = m->layers[1].w + (size_t)t[i] * size;
        for (size_t j = 0; j < size; j++) a[i * size + j] = w[j] * x[i * size + j];
    }
    xai_completeness(rel, abs_err, sum, a, size, fx, NULL, n);
    for (int i = 0; i < n; i++) {
        float b = m->layers[1].b[t[i]];
        assert_float_equal(abs_err[i], fabsf(b), 1e-5);
        assert_float_equal(rel[i], fabsf(b) / fabsf(fx[i]), 1e-4);
    }
    /* With the biases removed, conservation is exact. */
    memset(m->layers[1].b, 0, 4 * sizeof(float));
    xai_model_target_logits(m, x, t, n, fx);
    xai_completeness(rel, NULL, NULL, a, size, fx, NULL, n);
    for (int i = 0; i < n; i++) assert_true(rel[i] < 1e-5);
    free(x);
    free(xb);
    free(a);
    xai_model_free(m);
}

static void test_completeness_edges(void **state)
{
    (void)state;
    float a[4] = {1, -1, 0, 0}, b[4] = {1, 1, 0, 0}, fx[2] = {0, 0};
    double rel[2];
    xai_completeness(rel, NULL, NULL, a, 2, fx, NULL, 1); /* sum 0, delta 0 */
    assert_true(rel[0] == 0);
    xai_completeness(rel, NULL, NULL, b, 2, fx, NULL, 1); /* sum 2, delta 0 */
    assert_true(isinf(rel[0]));
}

/* An image with f(x) = 0 has no absorbed share: NaN and counted, not 0 ("nothing absorbed"); the
 * layer shares average over the images that have one, not over all N. */
static void test_absorbed_share_excludes(void **state)
{
    (void)state;
    const float fx[3] = {2, 0, -4};
    const double sum[3] = {1.5, 0.3, -3};
    double share[3];
    assert_int_equal(xai_absorbed_share(share, sum, fx, 3), 1);
    assert_float_equal(share[0], 0.25, 1e-12);
    assert_true(isnan(share[1]));
    assert_float_equal(share[2], 0.25, 1e-12);
    /* (N = 3, cols = 3): S_0, S_1, S_2 = f(x). Image 1 has S_L = 0. */
    const double ls[9] = {1, 1.5, 2, 0.1, 0.2, 0, -2, -3, -4};
    double lsh[2];
    assert_int_equal(xai_layer_absorbed_share(lsh, ls, 3, 3), 1);
    assert_float_equal(lsh[0], (0.5 / 2 + -1.0 / -4) / 2, 1e-12); /* over 2 images, not 3 */
    assert_float_equal(lsh[1], (0.5 / 2 + -1.0 / -4) / 2, 1e-12);
    const double zero[3] = {1, 2, 0};
    assert_int_equal(xai_layer_absorbed_share(lsh, zero, 1, 3), 1);
    assert_true(isnan(lsh[0]) && isnan(lsh[1]));
}

/* A bias-free ReLU net is positively homogeneous: sum(x * grad f(x)) = f(x) exactly, which the
 * conservation test must report as complete. */
static void test_gradient_x_input_conserves(void **state)
{
    (void)state;
    const char *spec2[7] = {"conv out=3 k=3 bias=0", "relu", "maxpool k=2", "flatten", "linear out=5 bias=0", "relu",
                            "linear out=3 bias=0"};
    xai_shape in = {1, 8, 8};
    size_t size = 64;
    int n = 5;
    xai_model *m = make(spec2, 7, in, 3, 8, 4);
    float *x = malloc(n * size * sizeof *x), *a = malloc(n * size * sizeof *a), fx[5];
    int32_t t[5] = {0, 1, 2, 0, 1};
    fill(x, n * size, 5);
    xai_model_target_logits(m, x, t, n, fx);
    xai_model_set_param_grads(m, 0);
    xai_model_forward(m, x, n);
    float d[15] = {0};
    for (int i = 0; i < n; i++) d[i * 3 + t[i]] = 1;
    xai_model_backward(m, d, n, 1);
    for (size_t j = 0; j < n * size; j++) a[j] = x[j] * m->dx[j];
    double rel[5], sum[5];
    xai_completeness(rel, NULL, sum, a, size, fx, NULL, n);
    for (int i = 0; i < n; i++) {
        assert_float_equal(sum[i], fx[i], 1e-4 * (1 + fabs(fx[i])));
        if (fabsf(fx[i]) > 1e-3f) assert_true(rel[i] < 1e-4);
    }
    free(x);
    free(a);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_completeness_linear),
        cmocka_unit_test(test_completeness_edges),
        cmocka_unit_test(test_absorbed_share_excludes),
        cmocka_unit_test(test_gradient_x_input_conserves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
