/* test_ig_exact.c: exact IG against answers known in closed form (a linear model, one relu unit
 * switching on along the path), completeness to rounding, and n-step IG converging to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/io.h"
#include "explainers/ig_exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_explain_common.h"

static const char *CNN = "[model]\ninput = 2x8x8\nclasses = 3\n"
                         "layer = conv out=4 k=3 pad=1\nlayer = relu\nlayer = maxpool k=2\n"
                         "layer = conv out=5 k=3\nlayer = bn\nlayer = relu\nlayer = avgpool k=2\n"
                         "layer = flatten\nlayer = dropout p=0.3\nlayer = linear out=6\nlayer = relu\n"
                         "layer = linear out=3\n";

/* Without relu or max pool the path is one region and IG is (x - x') * w exactly: w by finite
 * differences through conv and pool, then straight from a linear layer's weights. */
static void test_linear_model(void **s)
{
    (void)s;
    xai_model *m = model_from("[model]\ninput = 1x4x4\nclasses = 2\nlayer = conv out=3 k=3 pad=1\n"
                              "layer = avgpool k=2\nlayer = flatten\nlayer = linear out=2\n",
                              8);
    randomize(m, 3, 0.5f, 0);
    float *x = random_inputs(16, 1, -1, 1), *xb = random_inputs(16, 2, -1, 1), attr[16], want[16];
    int32_t t = 1;
    xai_ig_exact_stats st;
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, &t, 1, attr, &st), XAI_OK);
    assert_int_equal(st.regions, 1);
    /* The gradient of a linear model, by finite differences of the logit (exact for affine f). */
    for (int j = 0; j < 16; j++) {
        float e[16];
        memcpy(e, xb, sizeof e);
        float f0, f1;
        xai_model_target_logits(m, e, &t, 1, &f0);
        e[j] += 1;
        xai_model_target_logits(m, e, &t, 1, &f1);
        want[j] = (float)((x[j] - xb[j]) * (f1 - f0));
    }
    for (int j = 0; j < 16; j++) assert_close(attr[j], want[j], 1e-4 * (1 + fabs(want[j])));
    assert_true(st.residual < 1e-5);
    xai_model_free(m);
    /* f = w_t . x + b: exact IG is (x - x') * w_t, read straight from the weights. */
    m = model_from("[model]\ninput = 1x4x4\nclasses = 2\nlayer = flatten\nlayer = linear out=2\n", 4);
    randomize(m, 4, 0.5f, 0);
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, &t, 1, attr, &st), XAI_OK);
    assert_int_equal(st.regions, 1);
    for (int j = 0; j < 16; j++)
        assert_close(attr[j], (x[j] - xb[j]) * m->layers[1].w[16 + j], 1e-6 * (1 + fabs(x[j] - xb[j])));
    free(x), free(xb);
    xai_model_free(m);
}

/* f = relu(w . x + b) switches on at alpha* = -(w.x' + b) / (w.(x - x')): IG = (x - x') w (1 - alpha*). */
static void test_one_unit(void **s)
{
    (void)s;
    xai_model *m = model_from("[model]\ninput = 1x1x2\nclasses = 1\nlayer = flatten\nlayer = linear out=1\n"
                              "layer = relu\nlayer = linear out=1\n",
                              4);
    xai_layer *l1 = &m->layers[1], *l2 = &m->layers[3];
    l1->w[0] = 2, l1->w[1] = -1, l1->b[0] = -0.5f;
    l2->w[0] = 3, l2->b[0] = 0;
    float x[2] = {1, 0.25f}, xb[2] = {0, 0}, attr[2];
    int32_t t = 0;
    xai_ig_exact_stats st;
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, &t, 1, attr, &st), XAI_OK);
    const double astar = 0.5 / (2 * 1 - 0.25); /* w.x' + b = -0.5, w.(x - x') = 1.75 */
    assert_int_equal(st.regions, 2);
    assert_close(attr[0], 1 * 2 * 3 * (1 - astar), 1e-6);
    assert_close(attr[1], 0.25 * -1 * 3 * (1 - astar), 1e-6);
    assert_close(st.sum, st.fx - st.fbase, 1e-6);
    xai_model_free(m);
}

/* A max pool whose winner changes along the path: f = max of a 2x2 window from (0, 1, 0, 0) to
 * (1, 0, 0, 0) switches at alpha = 1/2 (pixel 1 wins before, pixel 0 after): IG = (1/2, -1/2, 0, 0). */
static void test_pool_switch(void **s)
{
    (void)s;
    xai_model *m = model_from("[model]\ninput = 1x2x2\nclasses = 1\nlayer = maxpool k=2\n"
                              "layer = flatten\nlayer = linear out=1\n",
                              4);
    m->layers[2].w[0] = 1, m->layers[2].b[0] = 0;
    float x[4] = {1, 0, 0, 0}, xb[4] = {0, 1, 0, 0}, attr[4];
    int32_t t = 0;
    xai_ig_exact_stats st;
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, &t, 1, attr, &st), XAI_OK);
    assert_int_equal(st.regions, 2);
    assert_close(attr[0], 0.5, 1e-6);
    assert_close(attr[1], -0.5, 1e-6);
    assert_close(attr[2], 0, 0);
    assert_close(attr[3], 0, 0);
    xai_model_free(m);
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t j = 0; j < n; j++) num += ((double)a[j] - b[j]) * ((double)a[j] - b[j]), den += (double)b[j] * b[j];
    return sqrt(num / (den > 0 ? den : 1));
}

/* On a small CNN with every layer type: completeness to rounding, the same map when the walk is
 * split into many small intervals, and midpoint IG converging to it as the steps grow. */
static void test_cnn_oracle(void **s)
{
    (void)s;
    xai_model *m = model_from(CNN, 64);
    randomize(m, 11, 0.3f, 1);
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 5, -1, 2), *xb = calloc(n * isz, sizeof(float));
    float *exact = malloc(n * isz * sizeof(float)), *split = malloc(n * isz * sizeof(float));
    float *ig = malloc(n * isz * sizeof(float));
    int32_t t[3] = {0, 1, 2};
    xai_ig_exact_stats st[3], st2[3];
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, t, n, exact, st), XAI_OK);
    for (int i = 0; i < n; i++) {
        assert_true(st[i].regions > 5);
        assert_true(st[i].residual < 1e-5);
    }
    /* A budget of a few vertices forces the walk to halve its interval many times. */
    xai_ig_exact_opts small = {.budget_bytes = 16 * 2 * 256 * sizeof(float)};
    assert_int_equal(xai_ig_exact(m, &small, x, xb, t, n, split, st2), XAI_OK);
    for (int i = 0; i < n; i++) assert_int_equal(st2[i].regions >= st[i].regions, 1);
    assert_true(rel_l2(split, exact, n * isz) < 1e-5);
    /* Midpoint IG: the error shrinks with the steps (about 1/n on piecewise-constant gradients). */
    double err[3];
    int steps[3] = {16, 256, 4096};
    for (int k = 0; k < 3; k++) {
        xai_ig_opts o;
        xai_ig_defaults(&o);
        o.rule = XAI_QUAD_MIDPOINT;
        o.steps = steps[k];
        assert_int_equal(xai_ig(m, &o, x, xb, t, NULL, n, ig, NULL, NULL), XAI_OK);
        err[k] = rel_l2(ig, exact, n * isz);
        if (getenv("XAI_TEST_VERBOSE")) fprintf(stderr, "midpoint %d steps: rel L2 %.3g (regions %lld %lld %lld, residual %.2g)\n", steps[k], err[k], (long long)st[0].regions, (long long)st[1].regions, (long long)st[2].regions, st[0].residual);
    }
    assert_true(err[2] < err[1] && err[1] < err[0]);
    assert_true(err[2] < 1e-3);
    assert_true(err[1] / err[2] > 4); /* at least order 1/2; about 1 is typical */
    free(x), free(xb), free(exact), free(split), free(ig);
    xai_model_free(m);
}

/* A net trained here by plain SGD (which half of an 8x8 image is brighter, softmax cross-entropy):
 * exact IG is the oracle of trained weights too. Completeness to rounding, midpoint IG converging
 * to it, and the held-out point: the order fitted on 16..1024 steps predicts the error at 4096
 * within a factor 3 (the check `xai evaluate --ig-check` makes). */
static void test_trained_oracle(void **s)
{
    (void)s;
    xai_model *m = model_from("[model]\ninput = 1x8x8\nclasses = 2\nlayer = conv out=4 k=3 pad=1\nlayer = relu\n"
                              "layer = maxpool k=2\nlayer = flatten\nlayer = linear out=8\nlayer = relu\n"
                              "layer = linear out=2\n",
                              32);
    randomize(m, 21, 0.05f, 0);
    xai_model_set_param_grads(m, 1);
    const int B = 32;
    float *x = random_inputs((size_t)B * 64 * 300, 22, -1, 1), dl[64];
    int32_t y[32];
    int correct = 0;
    for (int step = 0; step < 300; step++) {
        const float *xs = x + (size_t)step * B * 64;
        for (int i = 0; i < B; i++) {
            double top = 0;
            for (int j = 0; j < 64; j++) top += j < 32 ? xs[i * 64 + j] : -xs[i * 64 + j];
            y[i] = top > 0;
        }
        const float *z = xai_model_forward(m, xs, B);
        for (int i = 0; i < B; i++) {
            const double p1 = 1 / (1 + exp((double)z[2 * i] - z[2 * i + 1]));
            dl[2 * i] = (float)((1 - p1) - (y[i] == 0)) / B, dl[2 * i + 1] = (float)(p1 - (y[i] == 1)) / B;
            if (step >= 280) correct += (z[2 * i + 1] > z[2 * i]) == y[i];
        }
        xai_model_zero_grad(m);
        xai_model_backward(m, dl, B, 0);
        for (size_t j = 0; j < m->nparams; j++) m->params[j] -= 0.5f * m->grads[j];
    }
    xai_model_set_param_grads(m, 0);
    assert_true(correct > 0.85 * 20 * B); /* trained: about 92 % on the last 20 batches before their step */
    const int n = 4;
    float *xb = calloc(n * 64, sizeof *xb), *exact = malloc(n * 64 * sizeof *exact), *ig = malloc(n * 64 * sizeof *ig);
    int32_t t[4] = {0, 1, 0, 1};
    xai_ig_exact_stats st[4];
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, t, n, exact, st), XAI_OK);
    for (int i = 0; i < n; i++) assert_true(st[i].regions > 1 && st[i].residual < 1e-5);
    const int steps[5] = {16, 64, 256, 1024, 4096};
    double err[5], sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int k = 0; k < 5; k++) {
        xai_ig_opts o;
        xai_ig_defaults(&o);
        o.rule = XAI_QUAD_MIDPOINT, o.steps = steps[k];
        assert_int_equal(xai_ig(m, &o, x, xb, t, NULL, n, ig, NULL, NULL), XAI_OK);
        err[k] = rel_l2(ig, exact, n * 64);
        if (k == 4) break;
        const double lx = log(steps[k]), ly = log(err[k]);
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
    }
    const double slope = (4 * sxy - sx * sy) / (4 * sxx - sx * sx), icpt = (sy - slope * sx) / 4;
    const double predicted = exp(icpt + slope * log(4096.0));
    print_message("trained net (%.0f %%): regions %lld..%lld, midpoint order %.2f, 4096 steps: %.3g (predicted %.3g)\n",
                  100.0 * correct / (20 * B), (long long)st[0].regions, (long long)st[n - 1].regions, -slope, err[4],
                  predicted);
    assert_true(-slope > 0.5 && err[4] < err[3]);
    assert_true(err[4] < 3 * predicted && err[4] > predicted / 3);
    free(x), free(xb), free(exact), free(ig);
    xai_model_free(m);
}

static size_t widest(const xai_model *m)
{
    size_t w = xai_shape_size(m->in);
    for (int i = 0; i < m->nlayers; i++) w = xai_shape_size(m->layers[i].out) > w ? xai_shape_size(m->layers[i].out) : w;
    return w;
}

/* The backward sweep through the walk's segments against one gradient pass per region (the
 * reference): the same regions and the same map, on the CNN of every layer type and on a net
 * with overlapping, padded max pools and a global average pool, from a baseline that is not
 * black; also with a budget of 6 vertices at the widest layer, which cuts the walk into pieces. */
static void test_sweep_vs_per_region(void **s)
{
    (void)s;
    const char *nets[2] = {CNN, "[model]\ninput = 3x9x9\nclasses = 4\nlayer = conv out=6 k=3 pad=1\nlayer = relu\n"
                                "layer = maxpool k=3 stride=2 pad=1\nlayer = conv out=8 k=3\nlayer = relu\n"
                                "layer = gap\nlayer = linear out=4\n"};
    for (int net = 0; net < 2; net++) {
        xai_model *m = model_from(nets[net], 16);
        randomize(m, 31 + net, 0.3f, 1);
        const int n = 3;
        const size_t isz = xai_shape_size(m->in);
        float *x = random_inputs(n * isz, 41 + net, -1, 2), *xb = random_inputs(n * isz, 51 + net, -0.5f, 0.5f);
        float *a = malloc(n * isz * sizeof *a), *ref = malloc(n * isz * sizeof *ref);
        int32_t t[3] = {0, 1, 2};
        for (int b = 0; b < 2; b++) {
            xai_ig_exact_opts o = {.budget_bytes = b ? 6 * 2 * widest(m) * sizeof(float) : 0}, r = o;
            r.per_region = 1;
            xai_ig_exact_stats st[3], sr[3];
            assert_int_equal(xai_ig_exact(m, &o, x, xb, t, n, a, st), XAI_OK);
            assert_int_equal(xai_ig_exact(m, &r, x, xb, t, n, ref, sr), XAI_OK);
            for (int i = 0; i < n; i++) {
                assert_int_equal(st[i].regions, sr[i].regions);
                assert_true(st[i].regions > 10);
                assert_true(st[i].residual < 1e-5 && sr[i].residual < 1e-5);
            }
            assert_true(rel_l2(a, ref, n * isz) < 1e-5);
            for (size_t j = 0; j < n * isz; j++) assert_close(a[j], ref[j], 1e-5 * (1 + fabs(ref[j])));
            if (getenv("XAI_TEST_VERBOSE"))
                fprintf(stderr, "net %d budget %d: regions %lld %lld %lld, rel L2 vs per-region %.3g\n", net, b,
                        (long long)st[0].regions, (long long)st[1].regions, (long long)st[2].regions,
                        rel_l2(a, ref, n * isz));
        }
        free(x), free(xb), free(a), free(ref);
        xai_model_free(m);
    }
}

static void test_errors(void **s)
{
    (void)s;
    xai_model *m = model_from("[model]\ninput = 1x9x9\nclasses = 2\nlayer = maxpool k=9\nlayer = flatten\n"
                              "layer = linear out=2\n",
                              4);
    assert_int_equal(xai_ig_exact_check(m), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "layer 1 (maxpool)"));
    xai_model_free(m);
    m = model_from(CNN, 4);
    float x[128] = {0}, attr[128];
    int32_t bad = 7;
    assert_int_equal(xai_ig_exact(m, NULL, x, x, &bad, 1, attr, NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "target 7"));
    xai_model_free(m);
}

/* ig:rule=exact parses as IG with the exact flag; a later rule turns it off; steps stay legal. */
static void test_method_spec(void **s)
{
    (void)s;
    xai_method m;
    assert_int_equal(xai_method_parse(&m, "ig:rule=exact", NULL), XAI_OK);
    assert_int_equal(m.kind, XAI_METHOD_IG);
    assert_int_equal(m.ig.exact, 1);
    assert_int_equal(xai_method_parse(&m, "ig:rule=exact:baseline=blur:sigma=2:steps=7", NULL), XAI_OK);
    assert_int_equal(m.ig.exact, 1);
    assert_int_equal(m.ig.baseline, XAI_BASE_BLUR);
    assert_int_equal(xai_method_parse(&m, "ig:rule=exact:rule=midpoint", NULL), XAI_OK);
    assert_int_equal(m.ig.exact, 0);
    assert_int_equal(m.ig.rule, XAI_QUAD_MIDPOINT);
    const char *over[XAI_METHOD_KINDS] = {"steps=16:rule=exact"};
    assert_int_equal(xai_method_parse(&m, "ig", over), XAI_OK);
    assert_int_equal(m.ig.exact, 1);
    assert_int_equal(xai_method_parse(&m, "ig:rule=exactly", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "exact"));
}

/* Through the explainer: the same map as xai_ig_exact with the method's baseline, delta and
 * f(x') as for every IG, and the stats; a net with a max pool wider than 8x8 is refused by name. */
static void test_explainer(void **s)
{
    (void)s;
    xai_model *m = model_from(CNN, 16);
    randomize(m, 5, 0.3f, 1);
    const int n = 3;
    const size_t isz = 2 * 8 * 8;
    float *x = random_inputs(n * isz, 9, -1, 1), *a = malloc(n * isz * sizeof *a), *b = malloc(n * isz * sizeof *b);
    float *xb = calloc(n * isz, sizeof *xb);
    int32_t t[3] = {0, 1, 2};
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "ig:rule=exact", NULL), XAI_OK);
    xai_explainer *e;
    assert_int_equal(xai_explainer_create(&e, &meth, m), XAI_OK);
    double delta[3], fb[3];
    xai_ig_exact_stats st[3], st2[3];
    xai_explain_aux aux = {.delta = delta, .fbase = fb, .exact = st};
    assert_int_equal(xai_explainer_run(e, x, t, NULL, n, a, &aux), XAI_OK);
    xai_explainer_free(e);
    assert_int_equal(xai_ig_exact(m, NULL, x, xb, t, n, b, st2), XAI_OK); /* black = 0 at mean 0, std 1 */
    for (size_t j = 0; j < n * isz; j++) assert_close(a[j], b[j], 1e-6 * (1 + fabs(b[j])));
    for (int i = 0; i < n; i++) {
        assert_int_equal(st[i].regions, st2[i].regions);
        assert_true(st[i].regions >= 1);
        assert_close(delta[i], st[i].sum - (st[i].fx - st[i].fbase), 1e-12);
        assert_close(fb[i], st[i].fbase, 0);
        assert_true(st[i].residual < 1e-4);
    }
    xai_model_free(m);
    m = model_from("[model]\ninput = 1x10x10\nclasses = 2\nlayer = maxpool k=9\nlayer = flatten\nlayer = linear out=2\n", 4);
    assert_int_equal(xai_explainer_create(&e, &meth, m), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "ig:rule=exact"));
    assert_non_null(strstr(xai_errmsg(), "layer 1 (maxpool)"));
    xai_model_free(m);
    free(x), free(a), free(b), free(xb);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_model),
        cmocka_unit_test(test_method_spec),
        cmocka_unit_test(test_explainer), cmocka_unit_test(test_one_unit), cmocka_unit_test(test_pool_switch),
        cmocka_unit_test(test_cnn_oracle),   cmocka_unit_test(test_trained_oracle), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_sweep_vs_per_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
