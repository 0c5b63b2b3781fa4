/* test_ig.c: Integrated Gradients: quadrature nodes and weights, exactness on linear models for
 * every rule and baseline, batching invariance, bounded memory, and convergence on a ReLU net. */
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
#include "explainers/perturb.h"
#include "tests/test_explain_common.h"

static const char *linear_net = "[model]\ninput = 2x3x4\nclasses = 3\nlayer = flatten\nlayer = linear out=3\n";

static const char *relu_net = "[model]\ninput = 1x12x12\nclasses = 10\n"
                              "layer = conv out=8 k=3\nlayer = relu\nlayer = conv out=16 k=3\nlayer = relu\n"
                              "layer = maxpool k=2\nlayer = flatten\nlayer = linear out=64\nlayer = relu\n"
                              "layer = linear out=10\n";

/* ------------------------------------------------------------- quadrature */

static void test_quadrature_nodes(void **state)
{
    (void)state;
    double a[8], w[8];
    assert_int_equal(xai_quadrature(XAI_QUAD_TRAPEZOID, 5, a, w), XAI_OK);
    const double ta[5] = {0, 0.25, 0.5, 0.75, 1}, tw[5] = {0.125, 0.25, 0.25, 0.25, 0.125};
    for (int k = 0; k < 5; k++) {
        assert_close(a[k], ta[k], 1e-15);
        assert_close(w[k], tw[k], 1e-15); /* 1/(S-1), ends halved: not 1/S */
    }
    assert_int_equal(xai_quadrature(XAI_QUAD_LEFT, 4, a, w), XAI_OK);
    for (int k = 0; k < 4; k++) {
        assert_close(a[k], k / 4.0, 1e-15);
        assert_close(w[k], 0.25, 1e-15);
    }
    assert_int_equal(xai_quadrature(XAI_QUAD_RIGHT, 4, a, w), XAI_OK);
    for (int k = 0; k < 4; k++) assert_close(a[k], (k + 1) / 4.0, 1e-15);
    assert_int_equal(xai_quadrature(XAI_QUAD_MIDPOINT, 4, a, w), XAI_OK);
    for (int k = 0; k < 4; k++) assert_close(a[k], (k + 0.5) / 4.0, 1e-15);
    /* Gauss-Legendre against the closed forms for 2 and 3 points. */
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS, 2, a, w), XAI_OK);
    assert_close(a[0], 0.5 - 0.5 / sqrt(3), 1e-15);
    assert_close(a[1], 0.5 + 0.5 / sqrt(3), 1e-15);
    assert_close(w[0], 0.5, 1e-15);
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS, 3, a, w), XAI_OK);
    assert_close(a[0], 0.5 - 0.5 * sqrt(0.6), 1e-15);
    assert_close(a[1], 0.5, 1e-15);
    assert_close(w[0], 5.0 / 18, 1e-15);
    assert_close(w[1], 8.0 / 18, 1e-15);
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS, 1, a, w), XAI_OK);
    assert_close(a[0], 0.5, 1e-15);
    assert_close(w[0], 1, 1e-15);
    /* Invalid step counts. */
    assert_int_equal(xai_quadrature(XAI_QUAD_TRAPEZOID, 1, a, w), XAI_EINVAL);
    assert_int_equal(xai_quadrature(XAI_QUAD_MIDPOINT, 0, a, w), XAI_EINVAL);
}

static void test_quadrature_exactness(void **state)
{
    (void)state;
    double *a = malloc(300 * sizeof *a), *w = malloc(300 * sizeof *w);
    for (int r = 0; r < XAI_QUAD_RULES; r++)
        for (int S = r == XAI_QUAD_TRAPEZOID ? 2 : 1; S <= 300; S += S < 20 ? 1 : 37) {
            assert_int_equal(xai_quadrature(r, S, a, w), XAI_OK);
            double sw = 0, s1 = 0;
            for (int k = 0; k < S; k++) {
                assert_true(a[k] >= 0 && a[k] <= 1 && w[k] > 0);
                if (k) assert_true(a[k] > a[k - 1]);
                sw += w[k];
                s1 += w[k] * a[k];
            }
            assert_close(sw, 1.0, 1e-12);
            /* midpoint, trapezoid and Gauss integrate alpha exactly; left/right are off by 1/(2S). */
            double want = r == XAI_QUAD_LEFT ? 0.5 - 0.5 / S : r == XAI_QUAD_RIGHT ? 0.5 + 0.5 / S : 0.5;
            assert_close(s1, want, 1e-12);
            if (r == XAI_QUAD_GAUSS && S <= 40)
                for (int p = 2; p <= 2 * S - 1; p++) { /* degree 2S-1 exactly */
                    double s = 0;
                    for (int k = 0; k < S; k++) s += w[k] * pow(a[k], p);
                    assert_close(s, 1.0 / (p + 1), 1e-12);
                }
        }
    free(a);
    free(w);
    assert_int_equal(xai_quad_rule_from_name("gausslegendre"), XAI_QUAD_GAUSS);
    assert_int_equal(xai_quad_rule_from_name("riemann_trapezoid"), XAI_QUAD_TRAPEZOID);
    assert_int_equal(xai_quad_rule_from_name("simpson"), -1);
}

/* Gauss-Legendre nodes cost O(S^2): gauss is capped at XAI_GAUSS_MAX_STEPS with an error naming
 * the cap (it once took up to 1000000 steps, hours of node computation); 4096 nodes are still good. */
static void test_gauss_cap(void **state)
{
    (void)state;
    const int S = XAI_GAUSS_MAX_STEPS;
    assert_int_equal(S, 4096);
    double *a = malloc((S + 1) * sizeof *a), *w = malloc((S + 1) * sizeof *w);
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS, S + 1, a, w), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "4096"));
    assert_int_equal(xai_quadrature(XAI_QUAD_GAUSS, S, a, w), XAI_OK);
    double sw = 0, s1 = 0, s2 = 0;
    for (int k = 0; k < S; k++) {
        assert_true(a[k] > 0 && a[k] < 1 && w[k] > 0);
        if (k) assert_true(a[k] > a[k - 1]);
        sw += w[k], s1 += w[k] * a[k], s2 += w[k] * a[k] * a[k];
    }
    assert_close(sw, 1, 1e-10);
    assert_close(s1, 0.5, 1e-10);
    assert_close(s2, 1.0 / 3, 1e-10);
    assert_int_equal(xai_quadrature(XAI_QUAD_MIDPOINT, S + 1, a, w), XAI_OK);
    xai_ig_opts o;
    xai_ig_defaults(&o);
    o.steps = S;
    assert_int_equal(xai_ig_check(&o), XAI_OK);
    o.steps = S + 1;
    assert_int_equal(xai_ig_check(&o), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "4096"));
    o.rule = XAI_QUAD_MIDPOINT, o.steps = 1000000;
    assert_int_equal(xai_ig_check(&o), XAI_OK);
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "ig:steps=100000", NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "gauss"));
    assert_int_equal(xai_method_parse(&meth, "ig:steps=100000:rule=midpoint", NULL), XAI_OK);
    free(a);
    free(w);
}

/* --------------------------------------------------------------- baselines */

static void test_baselines(void **state)
{
    (void)state;
    xai_shape s = {2, 5, 6};
    const size_t isz = xai_shape_size(s), plane = 30;
    const float mean[2] = {0.3f, 0.5f}, std[2] = {0.2f, 0.25f};
    float *x = random_inputs(isz, 3, -1, 2), *b = malloc(isz * sizeof *b), *b2 = malloc(isz * sizeof *b2);
    float *scr = malloc(isz * sizeof *scr);
    xai_ig_opts o;
    xai_ig_defaults(&o);
    o.baseline = XAI_BASE_BLACK;
    xai_ig_baseline(b, x, s, &o, mean, std, 0, scr);
    for (size_t j = 0; j < isz; j++) assert_close(b[j], -mean[j / plane] / std[j / plane], 1e-6);
    o.baseline = XAI_BASE_CONST;
    o.value = 0.5;
    xai_ig_baseline(b, x, s, &o, mean, std, 0, scr);
    for (size_t j = 0; j < isz; j++) assert_close(b[j], (0.5 - mean[j / plane]) / std[j / plane], 1e-6);
    o.baseline = XAI_BASE_MEAN;
    xai_ig_baseline(b, x, s, &o, mean, std, 0, scr);
    for (size_t j = 0; j < isz; j++) assert_close(b[j], 0, 0);
    /* Uniform: pixels in [0, 1) normalised; a function of (seed, image id) only. */
    o.baseline = XAI_BASE_UNIFORM;
    xai_ig_baseline(b, x, s, &o, mean, std, 17, scr);
    xai_ig_baseline(b2, x, s, &o, mean, std, 17, scr);
    assert_memory_equal(b, b2, isz * sizeof *b);
    double mu = 0;
    for (size_t j = 0; j < isz; j++) {
        float px = b[j] * std[j / plane] + mean[j / plane];
        assert_true(px >= -1e-6 && px < 1 + 1e-6);
        mu += px / isz;
    }
    assert_true(mu > 0.35 && mu < 0.65);
    xai_ig_baseline(b2, x, s, &o, mean, std, 18, scr);
    assert_memory_not_equal(b, b2, isz * sizeof *b);
    o.seed = 2;
    xai_ig_baseline(b2, x, s, &o, mean, std, 17, scr);
    assert_memory_not_equal(b, b2, isz * sizeof *b);
    /* Blur: a constant image stays constant; an interior point spreads symmetrically, mass kept. */
    o.baseline = XAI_BASE_BLUR;
    o.sigma = 1.0;
    for (size_t j = 0; j < isz; j++) x[j] = 0.7f;
    xai_ig_baseline(b, x, s, &o, mean, std, 0, scr);
    for (size_t j = 0; j < isz; j++) assert_close(b[j], 0.7, 1e-6);
    xai_shape big = {1, 15, 15};
    float *p = calloc(225, sizeof *p), *q = malloc(225 * sizeof *q), *sc = malloc(225 * sizeof *sc);
    p[7 * 15 + 7] = 1;
    xai_ref_blur(q, p, big, 1.0, sc);
    double sum = 0;
    for (int j = 0; j < 225; j++) sum += q[j];
    assert_close(sum, 1.0, 1e-5);
    assert_close(q[7 * 15 + 6], q[7 * 15 + 8], 1e-7);
    assert_close(q[6 * 15 + 7], q[7 * 15 + 6], 1e-7);
    assert_true(q[7 * 15 + 7] > q[7 * 15 + 8] && q[7 * 15 + 8] > q[7 * 15 + 9]);
    /* The 1-D Gaussian at distance 1 relative to the centre: exp(-1/2). */
    assert_close(q[7 * 15 + 8] / q[7 * 15 + 7], exp(-0.5), 1e-5);
    free(p);
    free(q);
    free(sc);
    free(x);
    free(b);
    free(b2);
    free(scr);
}

/* ----------------------------------------------------- exactness on linear */

/* On f = w x + b the gradient is constant: IG = (x - x') w exactly, for any rule and step count. */
static void test_linear_exact(void **state)
{
    (void)state;
    xai_model *m = model_from(linear_net, 6);
    randomize(m, 5, 0.1f, 1);
    m->mean[0] = 0.3f, m->std[0] = 0.2f, m->mean[1] = 0.5f, m->std[1] = 0.25f;
    const int n = 4;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 9, -2, 2), *attr = malloc(n * isz * sizeof *attr);
    float *xb = malloc(n * isz * sizeof *xb), *scr = malloc(isz * sizeof *scr);
    int32_t t[4] = {0, 2, 1, 2};
    double delta[4], fb[4];
    const int steps[] = {1, 2, 3, 7, 50};
    const float *W = m->layers[1].w;
    for (int base = 0; base < XAI_BASE_KINDS; base++)
        for (int r = 0; r < XAI_QUAD_RULES; r++)
            for (int si = 0; si < 5; si++) {
                xai_ig_opts o;
                xai_ig_defaults(&o);
                o.rule = r;
                o.steps = steps[si];
                o.baseline = base;
                o.value = 0.25;
                o.sigma = 1.5;
                if (r == XAI_QUAD_TRAPEZOID && o.steps < 2) continue;
                int64_t ids[4] = {10, 11, 12, 13};
                assert_int_equal(xai_ig(m, &o, x, NULL, t, ids, n, attr, delta, fb), XAI_OK);
                for (int i = 0; i < n; i++) {
                    xai_ig_baseline(xb, x + i * isz, m->in, &o, m->mean, m->std, ids[i], scr);
                    double fx = m->layers[1].b[t[i]], fxb = fx;
                    for (size_t j = 0; j < isz; j++) {
                        double w = W[t[i] * isz + j];
                        double want = ((double)x[i * isz + j] - xb[j]) * w;
                        if (fabs(attr[i * isz + j] - want) > 1e-5 * (1 + fabs(want))) print_error("base %d rule %d steps %d i %d j %zu w %g\n", base, r, o.steps, i, j, w);
                        assert_close(attr[i * isz + j], want, 1e-5 * (1 + fabs(want)));
                        fx += w * x[i * isz + j];
                        fxb += w * xb[j];
                    }
                    assert_close(fb[i], fxb, 1e-4);
                    assert_true(fabs(delta[i]) < 1e-4 * (1 + fabs(fx - fxb)));
                }
            }
    free(x);
    free(attr);
    free(xb);
    free(scr);
    xai_model_free(m);
}

/* -------------------------------------------------- batching and memory */

/* Rows of one image straddling batches, or many images in one batch, give the same answer. */
static void test_batching_invariance(void **state)
{
    (void)state;
    xai_model *small = model_from(relu_net, 5), *big = model_from(relu_net, 300);
    randomize(small, 3, 0.1f, 1);
    randomize(big, 3, 0.1f, 1);
    const int n = 3;
    const size_t isz = xai_shape_size(small->in);
    float *x = random_inputs(n * isz, 4, -0.5f, 2), *a1 = malloc(n * isz * 4), *a2 = malloc(n * isz * 4);
    int32_t t[3] = {1, 4, 7};
    double d1[3], d2[3];
    xai_ig_opts o;
    xai_ig_defaults(&o);
    o.steps = 7;
    o.baseline = XAI_BASE_UNIFORM;
    assert_int_equal(xai_ig(small, &o, x, NULL, t, NULL, n, a1, d1, NULL), XAI_OK);
    assert_int_equal(xai_ig(big, &o, x, NULL, t, NULL, n, a2, d2, NULL), XAI_OK);
    double mx = 0;
    for (size_t j = 0; j < n * isz; j++) mx = fmax(mx, fabs(a2[j]));
    assert_true(mx > 0);
    for (size_t j = 0; j < n * isz; j++) assert_close(a1[j], a2[j], 1e-5 * mx);
    for (int i = 0; i < n; i++) assert_close(d1[i], d2[i], 1e-4);
    /* Images one at a time with their ids: the seeded baseline follows the image, not its slot. */
    int64_t ids[3] = {0, 1, 2};
    for (int i = 0; i < n; i++)
        assert_int_equal(xai_ig(small, &o, x + i * isz, NULL, t + i, ids + i, 1, a1 + i * isz, NULL, NULL), XAI_OK);
    for (size_t j = 0; j < n * isz; j++) assert_close(a1[j], a2[j], 1e-5 * mx);
    /* One thread or two: the same bits (batches are cut by size alone, sums run in order). */
    xai_set_threads(1);
    assert_int_equal(xai_ig(big, &o, x, NULL, t, NULL, n, a1, d1, NULL), XAI_OK);
    xai_set_threads(2);
    assert_int_equal(xai_ig(big, &o, x, NULL, t, NULL, n, a2, d2, NULL), XAI_OK);
    assert_memory_equal(a1, a2, n * isz * sizeof *a1);
    assert_memory_equal(d1, d2, sizeof d1);
    /* The model's state is restored: train flag and parameter gradients. */
    small->train = 1;
    xai_model_set_param_grads(small, 1);
    assert_int_equal(xai_ig(small, &o, x, NULL, t, NULL, 1, a1, NULL, NULL), XAI_OK);
    assert_int_equal(small->train, 1);
    assert_non_null(small->layers[0].gw);
    free(x);
    free(a1);
    free(a2);
    xai_model_free(small);
    xai_model_free(big);
}

/* Memory is the model's: 5000 steps through a 4-row model. */
static void test_many_steps_bounded(void **state)
{
    (void)state;
    xai_model *m = model_from(linear_net, 4);
    randomize(m, 2, 0.1f, 1);
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(2 * isz, 1, 0, 1), *a = malloc(2 * isz * 4);
    int32_t t[2] = {0, 1};
    double d[2];
    xai_ig_opts o;
    xai_ig_defaults(&o);
    o.steps = 5000;
    o.rule = XAI_QUAD_TRAPEZOID;
    assert_int_equal(xai_ig(m, &o, x, NULL, t, NULL, 2, a, d, NULL), XAI_OK);
    assert_true(fabs(d[0]) < 1e-4 && fabs(d[1]) < 1e-4);
    free(x);
    free(a);
    xai_model_free(m);
}

/* The engine underneath: rows k of image i are (k + 1) x_i; weights w_k. On a linear model
 * G_i = sum_k w_k W[t_i], and row_logit gets each row's target logit. */
typedef struct {
    const float *x;
    size_t isz;
} scaled_rows;

static void scaled_fill(void *ctx, float *row, int i, int k)
{
    const scaled_rows *c = ctx;
    for (size_t j = 0; j < c->isz; j++) row[j] = (k + 1) * c->x[i * c->isz + j];
}

static void test_grad_accumulate(void **state)
{
    (void)state;
    xai_model *m = model_from(linear_net, 4);
    randomize(m, 8, 0.1f, 1);
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(3 * isz, 2, -1, 1), rl[9];
    double *G = malloc(3 * isz * sizeof *G), w[3] = {0.5, 0.25, 2};
    int32_t t[3] = {2, 0, 1};
    scaled_rows c = {x, isz};
    assert_int_equal(xai_grad_accumulate(m, 3, 3, w, t, scaled_fill, &c, G, rl), XAI_OK);
    for (int i = 0; i < 3; i++) {
        const float *W = m->layers[1].w + t[i] * isz;
        double f1 = m->layers[1].b[t[i]];
        for (size_t j = 0; j < isz; j++) {
            assert_close(G[i * isz + j], 2.75 * W[j], 1e-6);
            f1 += (double)W[j] * x[i * isz + j];
        }
        for (int k = 0; k < 3; k++) assert_close(rl[i * 3 + k], f1 + k * (f1 - m->layers[1].b[t[i]]), 1e-5);
    }
    assert_int_equal(xai_grad_accumulate(m, 3, 0, w, t, scaled_fill, &c, G, NULL), XAI_EINVAL);
    free(G);
    free(x);
    xai_model_free(m);
}

/* A row's gradient does not depend on the weight it is given: weights are applied in double as
 * rows are added (they once rode on the float output gradient, which rounds otherwise), so G with
 * weight 1/3 is 1/3 of G with weight 1 bit for bit, and IG runs that share a node can share its
 * gradient (xai_ig_grid). */
static void test_grad_unit_weight(void **state)
{
    (void)state;
    xai_model *m = model_from(relu_net, 4);
    randomize(m, 9, 0.1f, 1);
    const int n = 3;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 3, -0.5f, 2);
    double *G1 = malloc(n * isz * sizeof *G1), *G3 = malloc(n * isz * sizeof *G3);
    double *want = malloc(n * isz * sizeof *want);
    const double one = 1, third = 1.0 / 3;
    int32_t t[3] = {2, 5, 9};
    scaled_rows c = {x, isz};
    assert_int_equal(xai_grad_accumulate(m, n, 1, &one, t, scaled_fill, &c, G1, NULL), XAI_OK);
    assert_int_equal(xai_grad_accumulate(m, n, 1, &third, t, scaled_fill, &c, G3, NULL), XAI_OK);
    size_t nonzero = 0;
    for (size_t j = 0; j < n * isz; j++) want[j] = third * G1[j], nonzero += G1[j] != 0;
    assert_true(nonzero > isz);
    assert_memory_equal(G3, want, n * isz * sizeof *G3);
    free(x);
    free(G1);
    free(G3);
    free(want);
    xai_model_free(m);
}

/* ------------------------------------------------------- IG step curve grid */

/* Distinct doubles among v[0..n), by comparison (the test's own count, not the grid's sort). */
static int distinct(const double *v, int n)
{
    int d = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = v[j] == v[i];
        d += !seen;
    }
    return d;
}

/* Every rule x steps map of xai_ig_grid against one xai_ig call per run, bit for bit. */
static void grid_vs_ig(xai_model *m, const int *rules, int R, const int *steps, int T, const float *x,
                       const float *xb, const int32_t *t, int n)
{
    const size_t isz = xai_shape_size(m->in);
    float *grid = malloc((size_t)R * T * n * isz * sizeof *grid), *one = malloc(n * isz * sizeof *one);
    assert_int_equal(xai_ig_grid(m, rules, R, steps, T, x, xb, t, n, grid, NULL), XAI_OK);
    xai_ig_opts o;
    xai_ig_defaults(&o);
    for (int q = 0; q < R; q++)
        for (int k = 0; k < T; k++) {
            o.rule = rules[q], o.steps = steps[k];
            assert_int_equal(xai_ig(m, &o, x, xb, t, NULL, n, one, NULL, NULL), XAI_OK);
            const float *g = grid + ((size_t)q * T + k) * n * isz;
            double diff = 0, big = 0;
            for (size_t j = 0; j < n * isz; j++)
                diff = fmax(diff, fabs((double)g[j] - one[j])), big = fmax(big, fabs(one[j]));
            assert_true(big > 0);
            if (memcmp(g, one, n * isz * sizeof *one))
                fail_msg("%d-row batches, rule %s, %d steps: max |difference| %g of %g, not xai_ig's map", m->max_batch,
                         xai_quad_rule_name(q), steps[k], diff, big);
        }
    free(grid);
    free(one);
}

/* The IG step curve's shared nodes: on a conv net, every rule x steps map of xai_ig_grid is the
 * map of one xai_ig call with that rule and steps bit for bit (the same node gradients, weighted
 * and added in the same order), with step counts that are not all powers of two and not in order,
 * in batches of 1, 37 and 300 rows (an image's nodes straddle batches at other places than
 * xai_ig's rows: the engine gives a row the same gradient wherever it sits); one thread or two
 * alike. Each distinct node is one gradient row an image: the count that went through the model
 * equals the distinct nodes counted here. */
static void test_ig_grid(void **state)
{
    (void)state;
    xai_model *m = model_from(relu_net, 37);
    randomize(m, 5, 0.1f, 1);
    enum { N = 3, R = XAI_QUAD_RULES, T = 4 };
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(N * isz, 6, -0.5f, 2), *xb = random_inputs(N * isz, 7, 0, 1);
    float *grid = malloc((size_t)R * T * N * isz * sizeof *grid);
    float *grid2 = malloc((size_t)R * T * N * isz * sizeof *grid2);
    const int rules[R] = {XAI_QUAD_LEFT, XAI_QUAD_RIGHT, XAI_QUAD_MIDPOINT, XAI_QUAD_TRAPEZOID, XAI_QUAD_GAUSS};
    const int steps[T] = {8, 4, 6, 16};
    int32_t t[N] = {3, 0, 8};
    const int batches[3] = {1, 37, 300};
    for (int k = 0; k < 3; k++) {
        xai_model *mb = model_from(relu_net, batches[k]);
        randomize(mb, 5, 0.1f, 1);
        grid_vs_ig(mb, rules, R, steps, T, x, xb, t, N);
        xai_model_free(mb);
    }
    /* the nodes, counted here */
    double all[R * (8 + 4 + 6 + 16)], a[16], w[16];
    int np = 0;
    for (int q = 0; q < R; q++)
        for (int k = 0; k < T; k++) {
            assert_int_equal(xai_quadrature(rules[q], steps[k], a, w), XAI_OK);
            for (int j = 0; j < steps[k]; j++) all[np++] = a[j];
        }
    const int nodes = distinct(all, np);
    assert_true(nodes < np - 30); /* left/right/midpoint at 4, 8, 16 share most of theirs */
    int counted;
    assert_int_equal(xai_ig_grid_nodes(rules, R, steps, T, &counted), XAI_OK);
    assert_int_equal(counted, nodes);
    int64_t grads = 0;
    const int threads = xai_threads();
    xai_set_threads(2);
    assert_int_equal(xai_ig_grid(m, rules, R, steps, T, x, xb, t, N, grid, &grads), XAI_OK);
    assert_int_equal(grads, (int64_t)N * nodes);
    xai_set_threads(1);
    assert_int_equal(xai_ig_grid(m, rules, R, steps, T, x, xb, t, N, grid2, NULL), XAI_OK);
    assert_memory_equal(grid, grid2, (size_t)R * T * N * isz * sizeof *grid);
    xai_set_threads(threads);
    /* The study's grids: left, right and midpoint at 4..64 are the 129 points j/128; trapezoid's
     * k/(S-1) are 106 (S - 1 = 3, 7, 15, 31, 63: k/3 and k/7 are among k/63); gauss shares none:
     * 4 + 8 + 16 + 32 + 64; all five 129 + 104 + 124 (trapezoid's 0 and 1 are j/128's) of 620. */
    const int pow2[5] = {4, 8, 16, 32, 64};
    assert_int_equal(xai_ig_grid_nodes(rules, 3, pow2, 5, &counted), XAI_OK);
    assert_int_equal(counted, 129);
    assert_int_equal(xai_ig_grid_nodes(rules + 3, 1, pow2, 5, &counted), XAI_OK);
    assert_int_equal(counted, 106);
    assert_int_equal(xai_ig_grid_nodes(rules + 4, 1, pow2, 5, &counted), XAI_OK);
    assert_int_equal(counted, 124);
    assert_int_equal(xai_ig_grid_nodes(rules, R, pow2, 5, &counted), XAI_OK);
    assert_int_equal(counted, 357);
    /* Invalid grids fail as xai_quadrature does, before any gradient. */
    const int big[1] = {XAI_GAUSS_MAX_STEPS + 1}, trap1[1] = {1};
    grads = 0;
    assert_int_equal(xai_ig_grid(m, rules + 4, 1, big, 1, x, xb, t, N, grid, &grads), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "4096"));
    assert_int_equal(grads, 0);
    assert_int_equal(xai_ig_grid_nodes(rules + 3, 1, trap1, 1, &counted), XAI_EINVAL);
    assert_int_equal(xai_ig_grid_nodes(rules, 0, pow2, 5, &counted), XAI_EINVAL);
    free(x);
    free(xb);
    free(grid);
    free(grid2);
    xai_model_free(m);
}

/* ------------------------------------------------------ ReLU convergence */

/* The completeness error falls with the step count for every rule, and Gauss-Legendre has the
 * smallest error summed over 16..128 steps on this fixed net (seeded weights and inputs). */
static void test_relu_convergence(void **state)
{
    (void)state;
    xai_model *m = model_from(relu_net, 256);
    randomize(m, 1, 0.1f, 1);
    const int n = 16;
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(n * isz, 101, -0.4f, 2.6f), *a = malloc(n * isz * 4);
    int32_t t[16];
    for (int i = 0; i < n; i++) t[i] = i % 10;
    double d[16], total[XAI_QUAD_RULES] = {0};
    const int steps[] = {4, 16, 32, 64, 128, 256};
    for (int r = 0; r < XAI_QUAD_RULES; r++) {
        double err[6];
        for (int si = 0; si < 6; si++) {
            xai_ig_opts o;
            xai_ig_defaults(&o);
            o.rule = r;
            o.steps = steps[si];
            assert_int_equal(xai_ig(m, &o, x, NULL, t, NULL, n, a, d, NULL), XAI_OK);
            err[si] = 0;
            for (int i = 0; i < n; i++) err[si] += fabs(d[i]) / n;
            if (si >= 1 && si <= 4) total[r] += err[si];
        }
        print_message("%-10s |delta| 4:%.2e 16:%.2e 64:%.2e 256:%.2e\n", xai_quad_rule_name(r), err[0], err[1], err[3],
                      err[5]);
        assert_true(err[5] < err[0] / 4);
        assert_true(err[3] < err[0]);
    }
    for (int r = 0; r < XAI_QUAD_RULES; r++)
        if (r != XAI_QUAD_GAUSS) assert_true(total[XAI_QUAD_GAUSS] < total[r]);
    free(x);
    free(a);
    xai_model_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    xai_model *m = model_from(linear_net, 4);
    const size_t isz = xai_shape_size(m->in);
    float *x = random_inputs(isz, 1, 0, 1), *a = malloc(isz * 4);
    int32_t bad = 3, ok = 0;
    xai_ig_opts o;
    xai_ig_defaults(&o);
    assert_int_equal(xai_ig(m, &o, x, NULL, &bad, NULL, 1, a, NULL, NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "target 3"));
    o.rule = XAI_QUAD_TRAPEZOID;
    o.steps = 1;
    assert_int_equal(xai_ig(m, &o, x, NULL, &ok, NULL, 1, a, NULL, NULL), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "steps=1"));
    xai_ig_defaults(&o);
    o.baseline = XAI_BASE_BLUR;
    o.sigma = 0;
    assert_int_equal(xai_ig_check(&o), XAI_EINVAL);
    assert_int_equal(xai_baseline_from_name("zero"), XAI_BASE_BLACK);
    assert_int_equal(xai_baseline_from_name("plaid"), -1);
    free(x);
    free(a);
    xai_model_free(m);
}

/* The eval scope restores what it changed; target logits are the forward pass's, model restored;
 * pixel normalisation is the float expression the trainer's lookup table holds too. */
static void test_model_eval(void **state)
{
    (void)state;
    xai_model *m = model_from("[model]\ninput = 1x6x6\nclasses = 3\nlayer = conv out=2 k=3\nlayer = relu\n"
                              "layer = flatten\nlayer = linear out=3\n",
                              4);
    randomize(m, 3, 0.2f, 0);
    m->train = 1, m->lean = 0;
    xai_eval_scope st = xai_eval_begin(m, 1);
    assert_int_equal(m->train, 0);
    assert_int_equal(m->lean, 1);
    assert_null(m->layers[0].gw);
    xai_eval_end(m, st);
    assert_int_equal(m->train, 1);
    assert_int_equal(m->lean, 0);
    assert_non_null(m->layers[0].gw);
    const int n = 6; /* more than the capacity: two batches */
    float *x = random_inputs((size_t)n * 36, 5, -1, 1), f[6];
    int32_t t[6] = {0, 1, 2, 2, 1, 0};
    xai_model_target_logits(m, x, t, n, f);
    assert_int_equal(m->train, 1);
    m->train = 0;
    for (int i = 0; i < n; i++) {
        const float *lg = xai_model_forward(m, x + (size_t)i * 36, 1);
        assert_true(lg[t[i]] == f[i]);
    }
    uint8_t px[2 * 2 * 3] = {0, 1, 2, 128, 254, 255, 7, 9, 11, 13, 200, 100};
    float out[12], mean[2] = {0.5f, 0.25f}, sd[2] = {0.2f, 0.4f};
    xai_normalize_u8(out, px, (xai_shape){2, 2, 3}, mean, sd);
    for (int j = 0; j < 12; j++) assert_true(out[j] == ((float)px[j] / 255.0f - mean[j / 6]) / sd[j / 6]);
    free(x);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quadrature_nodes),    cmocka_unit_test(test_quadrature_exactness),
        cmocka_unit_test(test_gauss_cap),
        cmocka_unit_test(test_baselines),           cmocka_unit_test(test_linear_exact),
        cmocka_unit_test(test_batching_invariance), cmocka_unit_test(test_many_steps_bounded),
        cmocka_unit_test(test_grad_accumulate),     cmocka_unit_test(test_grad_unit_weight),
        cmocka_unit_test(test_ig_grid),
        cmocka_unit_test(test_relu_convergence),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_model_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
