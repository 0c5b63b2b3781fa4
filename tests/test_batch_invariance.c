/* test_batch_invariance.c: an image's logits, input gradient and LRP relevances do not depend on its batch:
 * alone or among 1, 6, 63 or 255 others, at any place, bit for bit (mpirun shards must equal one process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base.h"
#include "core/config.h"
#include "core/io.h"
#include "core/nn.h"
#include "explainers/explain.h"
#include "test_explain_common.h"

/* The study's Fashion-MNIST net (conv-bn-relu-pool twice, flatten, linear 3136 -> 128 -> 10) with
 * one more conv on the 7x7 planes: too small for the direct kernels, so the im2col path runs too
 * (as on Imagenette's 4x4 stage). Big enough for OpenBLAS's real kernels, which sum a row
 * differently by its place in a tile and by the number of rows. */
static const char *net =
    "[model]\ninput = 1x28x28\nclasses = 10\n"
    "layer = conv out=32 k=3 pad=1 bias=0\nlayer = bn\nlayer = relu\nlayer = maxpool k=2\n"
    "layer = conv out=64 k=3 pad=1 bias=0\nlayer = bn\nlayer = relu\nlayer = maxpool k=2\n"
    "layer = conv out=64 k=3 pad=1\nlayer = relu\nlayer = dropout p=0.25\nlayer = flatten\n"
    "layer = linear out=128\nlayer = relu\nlayer = dropout p=0.5\nlayer = linear out=10\n";

#define CAP 256
#define NPROBE 3
static const int sizes[] = {1, 2, 7, 64, 256};
/* zbox, gamma and epsilon (the modified-weight passes of conv and linear layers); the sign-split
 * rules, whose steps differ by whether a batch's inputs have negative values (probe 2 has none,
 * the others do), and whose fused conv-relu-pool step runs only when none has. */
static const char *composites[] = {"lrp-epsilon-gamma-box", "lrp-alpha2beta1", "lrp-gamma"};
#define NLRP (int)(sizeof composites / sizeof *composites)

typedef struct {
    float *logits, *grad, *lrp[NLRP]; /* one image's: (K), (C, H, W), (C, H, W) each */
} probe_values;

/* Where probe j sits in a batch of b: first, last, in the middle (fewer probes in smaller batches). */
static int probe_place(int j, int b)
{
    return j == 0 ? 0 : j == 1 ? b - 1 : b / 2;
}
static int probes_in(int b) { return b < NPROBE ? b : NPROBE; }

/* Runs the model, its input gradient and LRP on a batch of b images: the probes at their places,
 * other images elsewhere; copies out each probe's values. */
static void run_batch(xai_model *m, xai_lrp **lrp, const float *probes, const float *others, int b,
                      probe_values *got /* (NPROBE) */)
{
    const size_t isz = xai_shape_size(m->in);
    const int K = m->nclasses;
    float *x = calloc((size_t)b * isz, sizeof *x), *g = malloc((size_t)b * isz * sizeof *g);
    float *r = malloc((size_t)b * isz * sizeof *r);
    int32_t *target = malloc((size_t)b * sizeof *target);
    for (int i = 0; i < b; i++) {
        memcpy(x + (size_t)i * isz, others + (size_t)i * isz, isz * sizeof *x);
        target[i] = (int32_t)(i % K);
    }
    for (int j = 0; j < probes_in(b); j++) {
        memcpy(x + (size_t)probe_place(j, b) * isz, probes + (size_t)j * isz, isz * sizeof *x);
        target[probe_place(j, b)] = 3;
    }
    m->train = 0;
    const float *lg = xai_model_forward(m, x, b);
    for (int j = 0; j < probes_in(b); j++)
        memcpy(got[j].logits, lg + (size_t)probe_place(j, b) * K, K * sizeof *lg);
    assert_int_equal(xai_gradient(m, x, target, b, g), XAI_OK);
    for (int j = 0; j < probes_in(b); j++) memcpy(got[j].grad, g + (size_t)probe_place(j, b) * isz, isz * sizeof *g);
    for (int k = 0; k < NLRP; k++) {
        assert_int_equal(xai_lrp_run(lrp[k], x, target, b, r, NULL, NULL), XAI_OK);
        for (int j = 0; j < probes_in(b); j++)
            memcpy(got[j].lrp[k], r + (size_t)probe_place(j, b) * isz, isz * sizeof *r);
    }
    free(x), free(g), free(r), free(target);
}

static void values_alloc(probe_values *v, size_t isz, int K)
{
    v->logits = malloc(K * sizeof(float));
    v->grad = malloc(isz * sizeof(float));
    for (int k = 0; k < NLRP; k++) v->lrp[k] = malloc(isz * sizeof(float));
}

static void values_free(probe_values *v)
{
    free(v->logits), free(v->grad);
    for (int k = 0; k < NLRP; k++) free(v->lrp[k]);
}

/* The first differing value of what and how far apart, for the failure message. */
static void assert_same(const float *want, const float *got, size_t n, const char *what, int j, int b)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&want[i], &got[i], sizeof *want))
            fail_msg("probe %d in a batch of %d: %s[%zu] = %.9g, alone %.9g (relative %.3g)", j, b, what, i, got[i],
                     want[i], fabs(got[i] - want[i]) / fmax(fabs(want[i]), 1e-30));
}

static void check_impl(const char *impl)
{
    assert_int_equal(xai_conv_impl_set(impl), XAI_OK);
    xai_model *m = model_from(net, CAP);
    randomize(m, 5, 0.1f, 1);
    xai_rng rg;
    xai_rng_seed(&rg, 8);
    for (int i = 0; i < m->nlayers; i++) /* batch norms that are not the identity */
        if (m->layers[i].type == XAI_BATCHNORM2D)
            for (int c = 0; c < m->layers[i].in.c; c++) {
                m->layers[i].w[c] = 0.5f + xai_rng_uniform(&rg);
                m->layers[i].rmean[c] = 0.2f * xai_rng_normal(&rg);
                m->layers[i].rvar[c] = 0.3f + xai_rng_uniform(&rg);
            }
    xai_lrp *lrp[NLRP];
    for (int k = 0; k < NLRP; k++) {
        xai_lrp_opts o;
        assert_int_equal(xai_lrp_composite(&o, composites[k]), XAI_OK);
        o.zb_low = -1, o.zb_high = 2;
        assert_int_equal(xai_lrp_create(&lrp[k], m, &o, CAP), XAI_OK);
    }
    const size_t isz = xai_shape_size(m->in);
    float *probes = random_inputs(NPROBE * isz, 21, -1, 2), *others = random_inputs(CAP * isz, 22, -1, 2);
    /* probe 2: no negative value, a third of them 0 (a black background, unnormalised) */
    for (size_t j = 0; j < isz; j++) probes[2 * isz + j] = j % 3 ? fabsf(probes[2 * isz + j]) : 0.0f;
    probe_values alone[NPROBE], got[NPROBE];
    for (int j = 0; j < NPROBE; j++) {
        values_alloc(&alone[j], isz, m->nclasses), values_alloc(&got[j], isz, m->nclasses);
        run_batch(m, lrp, probes + (size_t)j * isz, others, 1, &alone[j]);
    }
    for (size_t t = 1; t < sizeof sizes / sizeof *sizes; t++) {
        const int b = sizes[t];
        run_batch(m, lrp, probes, others, b, got);
        for (int j = 0; j < probes_in(b); j++) {
            assert_same(alone[j].logits, got[j].logits, m->nclasses, "logit", j, b);
            assert_same(alone[j].grad, got[j].grad, isz, "input gradient", j, b);
            for (int k = 0; k < NLRP; k++) assert_same(alone[j].lrp[k], got[j].lrp[k], isz, composites[k], j, b);
        }
    }
    for (int j = 0; j < NPROBE; j++) values_free(&alone[j]), values_free(&got[j]);
    free(probes), free(others);
    for (int k = 0; k < NLRP; k++) xai_lrp_free(lrp[k]);
    xai_model_free(m);
    xai_conv_impl_set("auto");
}

/* The direct kernels where they fit (the last conv goes through im2col anyway). */
static void test_batch_invariance_auto(void **s)
{
    (void)s;
    check_impl("auto");
}

/* Every conv through im2col and its products over groups of samples. */
static void test_batch_invariance_im2col(void **s)
{
    (void)s;
    check_impl("im2col");
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_invariance_auto),
        cmocka_unit_test(test_batch_invariance_im2col),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
