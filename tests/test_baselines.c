/* test_baselines.c: gradient (finite differences), gradient x input, saliency, SmoothGrad and the
 * random control; method specs and the explainer dispatch that `xai explain` and metrics use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base.h"
#include "core/nn.h"
#include "core/io.h"
#include "explainers/explain.h"
#include "explainers/metrics.h"
#include "tests/test_explain_common.h"

static const char *net = "[model]\ninput = 2x8x8\nclasses = 4\n"
                         "layer = conv out=4 k=3\nlayer = relu\nlayer = avgpool k=2\nlayer = flatten\n"
                         "layer = linear out=16\nlayer = relu\nlayer = dropout p=0.5\nlayer = linear out=4\n";

static const char *linear_net = "[model]\ninput = 1x4x4\nclasses = 3\nlayer = flatten\nlayer = linear out=3\n";

/* Target logit of one image, by a plain forward pass. */
static double logit_of(xai_model *m, const float *x, int t)
{
    m->train = 0;
    return xai_model_forward(m, x, 1)[t];
}

static void test_gradient_finite_differences(void **state)
{
    (void)state;
    xai_model *m = model_from(net, 3);
    randomize(m, 4, 0.1f, 1);
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 2, -1, 2), *g = malloc(n * isz * 4), *xp = malloc(isz * 4);
    int32_t t[3] = {0, 3, 1};
    assert_int_equal(xai_gradient(m, x, t, n, g), XAI_OK);
    int bad = 0, checked = 0;
    xai_rng r;
    xai_rng_seed(&r, 5);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 20; k++) {
            size_t j = xai_rng_below(&r, (uint32_t)isz);
            const double h = 1e-2;
            memcpy(xp, x + i * isz, isz * 4);
            xp[j] += (float)h;
            double fp = logit_of(m, xp, t[i]);
            xp[j] -= (float)(2 * h);
            double fm = logit_of(m, xp, t[i]);
            double fd = (fp - fm) / (2 * h);
            /* A ReLU kink inside [x - h, x + h] may spoil one difference; not more. */
            bad += fabs(fd - g[i * isz + j]) > 1e-3 + 1e-2 * fabs(fd);
            checked++;
        }
    assert_true(bad <= 2);
    assert_true(checked == 60);
    /* gradient x input and saliency follow from it. */
    float *a = malloc(n * isz * 4);
    assert_int_equal(xai_gradient_x_input(m, x, t, n, a), XAI_OK);
    for (size_t j = 0; j < n * isz; j++) assert_close(a[j], g[j] * x[j], 1e-6 * (1 + fabs(a[j])));
    assert_int_equal(xai_saliency(m, x, t, n, a), XAI_OK);
    for (size_t j = 0; j < n * isz; j++) assert_close(a[j], fabs(g[j]), 0);
    free(a);
    free(x);
    free(g);
    free(xp);
    xai_model_free(m);
}

static void test_smoothgrad(void **state)
{
    (void)state;
    xai_model *m = model_from(net, 5), *big = model_from(net, 64);
    randomize(m, 4, 0.1f, 1);
    randomize(big, 4, 0.1f, 1);
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 2, -1, 2), *g = malloc(n * isz * 4), *a = malloc(n * isz * 4),
          *b = malloc(n * isz * 4);
    int32_t t[3] = {0, 3, 1};
    int64_t ids[3] = {100, 101, 102};
    assert_int_equal(xai_gradient(m, x, t, n, g), XAI_OK);
    xai_smoothgrad_opts o;
    xai_smoothgrad_defaults(&o);
    assert_int_equal(o.samples, 50);
    o.samples = 7;
    /* No noise: the mean of identical gradients. */
    o.noise = 0;
    assert_int_equal(xai_smoothgrad(m, &o, x, t, ids, n, a), XAI_OK);
    for (size_t j = 0; j < n * isz; j++) assert_close(a[j], g[j], 1e-6 * (1 + fabs(g[j])));
    /* Seeded: the same whatever the batch capacity; images keep their noise when alone. */
    o.noise = 0.2;
    assert_int_equal(xai_smoothgrad(m, &o, x, t, ids, n, a), XAI_OK);
    assert_int_equal(xai_smoothgrad(big, &o, x, t, ids, n, b), XAI_OK);
    double mx = 0, diff = 0;
    for (size_t j = 0; j < n * isz; j++) mx = fmax(mx, fabs(a[j])), diff = fmax(diff, fabs(a[j] - g[j]));
    for (size_t j = 0; j < n * isz; j++) assert_close(a[j], b[j], 1e-5 * mx);
    assert_true(diff > 1e-4 * mx); /* the noise does something */
    assert_int_equal(xai_smoothgrad(m, &o, x + isz, t + 1, ids + 1, 1, b), XAI_OK);
    for (size_t j = 0; j < isz; j++) assert_close(b[j], a[isz + j], 1e-5 * mx);
    o.seed = 9;
    assert_int_equal(xai_smoothgrad(m, &o, x, t, ids, n, b), XAI_OK);
    assert_memory_not_equal(a, b, n * isz * 4);
    /* On a linear model every sample has the same gradient: SmoothGrad is the weight row. */
    xai_model *lin = model_from(linear_net, 4);
    randomize(lin, 3, 0.1f, 1);
    float *xl = random_inputs(16, 1, 0, 1), al[16];
    int32_t tl = 2;
    o.samples = 13;
    o.noise = 0.5;
    assert_int_equal(xai_smoothgrad(lin, &o, xl, &tl, NULL, 1, al), XAI_OK);
    for (int j = 0; j < 16; j++) assert_close(al[j], lin->layers[1].w[2 * 16 + j], 1e-6);
    o.samples = 0;
    assert_int_equal(xai_smoothgrad(lin, &o, xl, &tl, NULL, 1, al), XAI_EINVAL);
    free(xl);
    xai_model_free(lin);
    free(x);
    free(g);
    free(a);
    free(b);
    xai_model_free(m);
    xai_model_free(big);
}

static void test_random(void **state)
{
    (void)state;
    const size_t sz = 500;
    float *a = malloc(3 * sz * 4), *b = malloc(3 * sz * 4);
    int64_t ids[3] = {5, 6, 7}, rev[3] = {7, 6, 5};
    xai_random_attribution(a, sz, 3, ids, 1);
    xai_random_attribution(b, sz, 3, rev, 1);
    assert_memory_equal(a, b + 2 * sz, sz * 4); /* a function of the image id, not its slot */
    double mu = 0;
    for (size_t j = 0; j < 3 * sz; j++) {
        assert_true(a[j] >= -1 && a[j] < 1);
        mu += a[j] / (3 * sz);
    }
    assert_true(fabs(mu) < 0.1);
    assert_memory_not_equal(a, a + sz, sz * 4);
    xai_random_attribution(b, sz, 3, ids, 2);
    assert_memory_not_equal(a, b, sz * 4);
    free(a);
    free(b);
}

/* The random map, IG's uniform baseline and the noise removal reference are three different
 * fields for the same seed and image (they once were one), and each is reproducible. */
static void noise_fields(float *u /* (3, C*H*W) */, xai_shape s, uint64_t seed, int64_t id)
{
    const size_t sz = xai_shape_size(s);
    const float mean[1] = {0}, std[1] = {1};
    float *x = calloc(sz, sizeof *x);
    xai_random_attribution(u, sz, 1, &id, seed);
    for (size_t j = 0; j < sz; j++) u[j] = (u[j] + 1) / 2; /* back to [0, 1) */
    xai_ig_opts ig;
    xai_ig_defaults(&ig);
    ig.baseline = XAI_BASE_UNIFORM, ig.seed = seed;
    xai_ig_baseline(u + sz, x, s, &ig, mean, std, (uint64_t)id, NULL);
    xai_flip_opts fo;
    xai_flip_defaults(&fo);
    fo.perturb = XAI_PERTURB_NOISE, fo.seed = seed;
    xai_flip_reference(u + 2 * sz, x, s, &fo, mean, std, (uint64_t)id, NULL);
    free(x);
}

static void test_noise_streams(void **state)
{
    (void)state;
    const xai_shape s = {1, 16, 16};
    const size_t sz = xai_shape_size(s);
    float *u = malloc(3 * sz * sizeof *u), *v = malloc(3 * sz * sizeof *v);
    noise_fields(u, s, 1, 7);
    noise_fields(v, s, 1, 7);
    assert_memory_equal(u, v, 3 * sz * sizeof *u);
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            size_t same = 0;
            double r = 0;
            for (size_t j = 0; j < sz; j++) {
                same += fabsf(u[a * sz + j] - u[b * sz + j]) < 1e-6f;
                r += (u[a * sz + j] - 0.5) * (u[b * sz + j] - 0.5);
            }
            print_message("fields %d and %d: %zu of %zu equal, mean product %g\n", a, b, same, sz, r / sz);
            assert_true(same < 3);
            assert_true(fabs(r / sz) < 0.02); /* uncorrelated: |E[(u-1/2)(v-1/2)]| << 1/12 */
        }
    for (size_t j = 0; j < 3 * sz; j++) assert_true(u[j] >= 0 && u[j] < 1);
    free(u);
    free(v);
}

static void test_method_specs(void **state)
{
    (void)state;
    xai_method m;
    assert_int_equal(xai_method_parse(&m, "ig", NULL), XAI_OK);
    assert_int_equal(m.kind, XAI_METHOD_IG);
    assert_int_equal(m.ig.steps, 50);
    assert_int_equal(m.ig.rule, XAI_QUAD_GAUSS);
    assert_int_equal(xai_method_parse(&m, "ig:rule=trapezoid:steps=16:baseline=blur:sigma=2", NULL), XAI_OK);
    assert_int_equal(m.ig.rule, XAI_QUAD_TRAPEZOID);
    assert_int_equal(m.ig.steps, 16);
    assert_int_equal(m.ig.baseline, XAI_BASE_BLUR);
    assert_close(m.ig.sigma, 2, 0);
    assert_string_equal(m.spec, "ig:rule=trapezoid:steps=16:baseline=blur:sigma=2");
    /* Command-line overrides come first; the spec's own keys win. */
    const char *ov[XAI_METHOD_KINDS] = {"steps=64:rule=midpoint", "eps=0.5", NULL, NULL, NULL, "samples=9", "seed=4"};
    assert_int_equal(xai_method_parse(&m, "ig:steps=8", ov), XAI_OK);
    assert_int_equal(m.ig.steps, 8);
    assert_int_equal(m.ig.rule, XAI_QUAD_MIDPOINT);
    assert_int_equal(xai_method_parse(&m, "lrp-preset-a", ov), XAI_OK);
    assert_close(m.lrp.epsilon, 0.5, 0);
    assert_int_equal(xai_method_parse(&m, "smoothgrad", ov), XAI_OK);
    assert_int_equal(m.sg.samples, 9);
    assert_int_equal(xai_method_parse(&m, "random", ov), XAI_OK);
    assert_int_equal((int)m.seed, 4);
    assert_int_equal(xai_method_parse(&m, "gxi", ov), XAI_OK);
    assert_int_equal(m.kind, XAI_METHOD_GXI);
    assert_string_equal(xai_method_kind_name(m.kind), "gradient-x-input");
    /* Errors name what is wrong. */
    assert_int_equal(xai_method_parse(&m, "deeplift", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "deeplift"));
    assert_int_equal(xai_method_parse(&m, "ig:steps=0", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "steps=0"));
    assert_int_equal(xai_method_parse(&m, "ig:rule=simpson", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&m, "ig:rule=trapezoid:steps=1", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&m, "ig:steps", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&m, "gradient:steps=3", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&m, "ig/x", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse(&m, "", NULL), XAI_EINVAL);
}

static void test_method_lists(void **state)
{
    (void)state;
    xai_method *ms;
    int n;
    assert_int_equal(xai_method_parse_list(&ms, &n, xai_default_methods, NULL), XAI_OK);
    assert_int_equal(n, 10);
    assert_string_equal(ms[0].spec, "ig");
    assert_int_equal(ms[9].kind, XAI_METHOD_RANDOM);
    free(ms);
    const char *ov[XAI_METHOD_KINDS] = {"steps=7"};
    assert_int_equal(xai_method_parse_list(&ms, &n, "ig,,lrp-zplus,ig:rule=left", ov), XAI_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ms[2].ig.steps, 7);
    assert_int_equal(ms[2].ig.rule, XAI_QUAD_LEFT);
    free(ms);
    assert_int_equal(xai_method_parse_list(&ms, &n, "ig,ig", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "twice"));
    assert_null(ms);
    assert_int_equal(xai_method_parse_list(&ms, &n, ",", NULL), XAI_EINVAL);
    assert_int_equal(xai_method_parse_list(&ms, &n, "ig,plaid", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "plaid"));
}

static void test_explainer_dispatch(void **state)
{
    (void)state;
    xai_model *m = model_from(net, 4);
    randomize(m, 6, 0.1f, 1);
    const int n = 5;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 3, -1, 2), *a = malloc(n * isz * 4), *b = malloc(n * isz * 4);
    int32_t t[5] = {0, 1, 2, 3, 0};
    const char *specs[] = {"ig:steps=8", "lrp-epsilon", "gradient", "saliency", "gxi", "smoothgrad:samples=3", "random"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        xai_method meth;
        assert_int_equal(xai_method_parse(&meth, specs[k], NULL), XAI_OK);
        xai_explainer *e;
        assert_int_equal(xai_explainer_create(&e, &meth, m), XAI_OK);
        const int L = xai_explainer_lrp_layers(e);
        double d[5], fb[5], res[5], *ls = calloc(n * (L + 1), sizeof *ls);
        xai_explain_aux aux = {d, fb, res, ls, NULL};
        assert_int_equal(xai_explainer_run(e, x, t, NULL, n, a, &aux), XAI_OK);
        assert_int_equal(xai_method_attr_fn(&meth, m, x, t, NULL, n, b), XAI_OK);
        assert_memory_equal(a, b, n * isz * 4); /* the callback metrics use gives the same maps */
        if (meth.kind == XAI_METHOD_IG)
            for (int i = 0; i < n; i++) assert_true(fabs(d[i]) < 0.2 * (1 + fabs(fb[i])));
        if (meth.kind == XAI_METHOD_LRP) {
            assert_int_equal(L, m->nlayers);
            assert_non_null(xai_explainer_lrp(e));
            for (int i = 0; i < n; i++)
                if (fabs(res[i] - (ls[i * (L + 1)] - ls[i * (L + 1) + L])) > 1e-12) fail_msg("image %d: %.17g vs %.17g - %.17g", i, res[i], ls[i * (L + 1)], ls[i * (L + 1) + L]);
        } else
            assert_int_equal(L, 0);
        free(ls);
        xai_explainer_free(e);
    }
    free(x);
    free(a);
    free(b);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_smoothgrad),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_noise_streams),
        cmocka_unit_test(test_method_specs), cmocka_unit_test(test_method_lists),
        cmocka_unit_test(test_explainer_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
