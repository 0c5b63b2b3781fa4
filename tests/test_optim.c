/* test_optim.c: optimisers against hand-derived steps and PyTorch 1.13's values, schedules at
 * known points, weight-decay masks, normalisation and augmentation properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainers/trainers.h"

/* Three steps on p = (1, -2) with these gradients. */
static const float G[3][2] = {{0.5f, 0.25f}, {-0.25f, 0.75f}, {0.125f, -0.5f}};

static void run3(const xai_optim_cfg *c, double lr, float out[3][2])
{
    xai_optim o;
    assert_int_equal(xai_optim_init(&o, c, 2), XAI_OK);
    float p[2] = {1.0f, -2.0f};
    for (int t = 0; t < 3; t++) {
        xai_optim_step(&o, p, G[t], lr);
        out[t][0] = p[0];
        out[t][1] = p[1];
    }
    assert_int_equal(o.t, 3);
    xai_optim_free(&o);
}

static void expect3(float got[3][2], const double want[3][2])
{
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 2; i++) {
            if (fabs(got[t][i] - want[t][i]) > 2e-6 * (1 + fabs(want[t][i])))
                fail_msg("step %d param %d: got %.9g, want %.9g", t + 1, i, got[t][i], want[t][i]);
        }
}

static void test_sgd_momentum(void **s)
{
    (void)s;
    xai_optim_cfg c = {.type = XAI_OPTIM_SGD, .momentum = 0.9};
    float got[3][2];
    run3(&c, 0.1, got);
    /* By hand: buf1 = g1, p = 1 - 0.1*0.5 = 0.95; buf2 = 0.9*0.5 - 0.25 = 0.2, p = 0.93;
     * buf3 = 0.18 + 0.125 = 0.305, p = 0.8995. Second column from torch.optim.SGD. */
    const double want[3][2] = {{0.95, -2.025}, {0.93, -2.1225001811981201}, {0.8995, -2.160250186920166}};
    expect3(got, want);
}

static void test_sgd_nesterov_decay(void **s)
{
    (void)s;
    xai_optim_cfg c = {.type = XAI_OPTIM_SGD, .momentum = 0.9, .nesterov = 1, .weight_decay = 0.1};
    float got[3][2];
    run3(&c, 0.1, got);
    /* By hand, step 1: g = 0.5 + 0.1*1 = 0.6, buf = 0.6, d = g + 0.9*buf = 1.14, p = 0.886.
     * Later steps: torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1). */
    const double want[3][2] = {{0.886, -2.009500026702881},
                               {0.8680659532546997, -2.1178696155548096},
                               {0.7971560955047607, -2.030748128890991}};
    expect3(got, want);
}

static void test_adam_bias_correction(void **s)
{
    (void)s;
    xai_optim_cfg c = {.type = XAI_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    float got[3][2];
    run3(&c, 0.01, got);
    /* Step 1 with bias correction moves every weight by lr * sign(g) (m_hat = g, v_hat = g^2);
     * without it the step would be 0.01 * 0.1 g / sqrt(0.001 g^2) = 0.0316. Later: torch.optim.Adam. */
    const double want[3][2] = {{0.99, -2.01},
                               {0.9873366355895996, -2.0191779136657715},
                               {0.9839323163032532, -2.021756887435913}};
    expect3(got, want);
}

static void test_adam_l2_and_adamw(void **s)
{
    (void)s;
    xai_optim_cfg c = {.type = XAI_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
    float got[3][2];
    run3(&c, 0.01, got);
    const double want_l2[3][2] = {{0.99, -2.01},
                                  {0.985319197177887, -2.0180182456970215},
                                  {0.9797440767288208, -2.0168211460113525}};
    expect3(got, want_l2);
    /* AdamW by hand, step 1: p = 1 * (1 - 0.01*0.1) - 0.01 = 0.989; -2 * 0.999 - 0.01 = -2.008. */
    c.type = XAI_OPTIM_ADAMW;
    run3(&c, 0.01, got);
    const double want_w[3][2] = {{0.989, -2.008},
                                 {0.9853476881980896, -2.015170097351074},
                                 {0.9809580445289612, -2.0157339572906494}};
    expect3(got, want_w);
}

static void test_bad_optim_cfg(void **s)
{
    (void)s;
    xai_optim o;
    xai_optim_cfg c = {.type = XAI_OPTIM_SGD, .momentum = 1.5};
    assert_int_equal(xai_optim_init(&o, &c, 4), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "momentum"));
    c = (xai_optim_cfg){.type = XAI_OPTIM_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 0};
    assert_int_equal(xai_optim_init(&o, &c, 4), XAI_EINVAL);
    c = (xai_optim_cfg){.type = XAI_OPTIM_SGD, .weight_decay = -1};
    assert_int_equal(xai_optim_init(&o, &c, 4), XAI_EINVAL);
}

static void test_decay_mask(void **s)
{
    (void)s;
    xai_config cfg;
    assert_int_equal(xai_config_load_string(&cfg,
                                            "[model]\ninput = 1x6x6\nclasses = 2\nlayer = conv out=2 k=3\n"
                                            "layer = bn\nlayer = relu\nlayer = flatten\nlayer = linear out=2\n",
                                            "mask.ini"),
                     XAI_OK);
    xai_model *m;
    assert_int_equal(xai_model_from_config(&m, &cfg, 2), XAI_OK);
    xai_optim o;
    xai_optim_cfg c = {.type = XAI_OPTIM_SGD, .weight_decay = 0.5};
    assert_int_equal(xai_optim_init(&o, &c, m->nparams), XAI_OK);
    xai_optim_decay_model(&o, m, 0);
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        int wd = l->type == XAI_CONV2D || l->type == XAI_LINEAR;
        for (size_t j = 0; j < l->nw; j++) assert_int_equal(o.decay[l->w - m->params + j], wd);
        for (size_t j = 0; j < l->nb; j++) assert_int_equal(o.decay[l->b - m->params + j], 0);
    }
    /* With zero gradients only decayed weights move: p -= lr * wd * p. */
    float *g = xai_calloc(m->nparams, sizeof(float));
    float *before = xai_malloc(m->nparams * sizeof(float));
    for (size_t j = 0; j < m->nparams; j++) m->params[j] = 1.0f + (float)j;
    memcpy(before, m->params, m->nparams * sizeof(float));
    xai_optim_step(&o, m->params, g, 0.1);
    for (size_t j = 0; j < m->nparams; j++) {
        float want = o.decay[j] ? before[j] * (1 - 0.05f) : before[j];
        assert_float_equal(m->params[j], want, 1e-5 * before[j]);
    }
    xai_optim_decay_model(&o, m, 1);
    for (size_t j = 0; j < m->nparams; j++) assert_int_equal(o.decay[j], 1);
    free(g);
    free(before);
    xai_optim_free(&o);
    xai_model_free(m);
    xai_config_free(&cfg);
}

static void near(double got, double want, const char *what, int64_t step)
{
    if (fabs(got - want) > 1e-9 * (1 + fabs(want))) fail_msg("%s step %lld: got %.12g, want %.12g", what, (long long)step, got, want);
}

static void test_schedules(void **s)
{
    (void)s;
    xai_sched c = {.type = XAI_SCHED_CONSTANT, .lr = 0.3, .total_steps = 50, .steps_per_epoch = 10};
    near(xai_sched_lr(&c, 0), 0.3, "constant", 0);
    near(xai_sched_lr(&c, 49), 0.3, "constant", 49);

    xai_sched st = {.type = XAI_SCHED_STEP, .lr = 1, .total_steps = 60, .steps_per_epoch = 10, .gamma = 0.1,
                    .milestones = {2, 4}, .nmilestones = 2};
    near(xai_sched_lr(&st, 19), 1, "step", 19);   /* epoch 1 */
    near(xai_sched_lr(&st, 20), 0.1, "step", 20); /* epoch 2: first milestone */
    near(xai_sched_lr(&st, 39), 0.1, "step", 39);
    near(xai_sched_lr(&st, 45), 0.01, "step", 45);

    /* Cosine, 1 warm-up epoch of 10 steps, 110 steps: ramp lr*(t+1)/10 peaking at step 9, then
     * half-way (step 59) at (lr + min)/2 and min at the last step (109). */
    xai_sched co = {.type = XAI_SCHED_COSINE, .lr = 1, .min_lr = 0.1, .total_steps = 110, .steps_per_epoch = 10,
                    .warmup_epochs = 1};
    near(xai_sched_lr(&co, 0), 0.1, "cosine", 0);
    near(xai_sched_lr(&co, 4), 0.5, "cosine", 4);
    near(xai_sched_lr(&co, 9), 1, "cosine", 9);
    near(xai_sched_lr(&co, 59), 0.55, "cosine", 59);
    near(xai_sched_lr(&co, 34), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4)), "cosine", 34);
    near(xai_sched_lr(&co, 109), 0.1, "cosine", 109);
    co.warmup_epochs = 0; /* no warm-up: lr at step 0 */
    near(xai_sched_lr(&co, 0), 1, "cosine without warm-up", 0);

    /* One-cycle, 101 steps, 3.1 warm-up epochs of 10 steps: lr/25 at step 0, cosine up to lr at
     * step 30, cosine down to lr/25/1e4 at step 100; the half-way points (15, 65) are the
     * midpoints. Steps 7, 31, 50: torch.optim.lr_scheduler.OneCycleLR(max_lr=1, total_steps=101,
     * pct_start=31/101, cycle_momentum=False). */
    xai_sched oc = {.type = XAI_SCHED_ONECYCLE, .lr = 1, .total_steps = 101, .steps_per_epoch = 10,
                    .warmup_epochs = 3.1, .div_factor = 25, .final_div_factor = 1e4};
    near(xai_sched_lr(&oc, 0), 0.04, "onecycle", 0);
    near(xai_sched_lr(&oc, 7), 0.16329048377085076, "onecycle", 7);
    near(xai_sched_lr(&oc, 15), 0.52, "onecycle", 15);
    near(xai_sched_lr(&oc, 30), 1, "onecycle", 30);
    near(xai_sched_lr(&oc, 31), 0.9994965352845243, "onecycle", 31);
    near(xai_sched_lr(&oc, 50), 0.8117456539497631, "onecycle", 50);
    near(xai_sched_lr(&oc, 65), (1 + 4e-6) / 2, "onecycle", 65);
    near(xai_sched_lr(&oc, 100), 4e-6, "onecycle", 100);
    /* A warm-up as long as the run (e.g. `--epochs 1` on a config with more warm-up epochs)
     * rises to the peak at the last step and never anneals. */
    xai_sched shortrun = oc;
    shortrun.total_steps = 20;
    near(xai_sched_lr(&shortrun, 0), 0.04, "onecycle, short run", 0);
    near(xai_sched_lr(&shortrun, 19), 1, "onecycle, short run", 19);
    /* Monotone up, then down. */
    for (int64_t t = 1; t <= 30; t++) assert_true(xai_sched_lr(&oc, t) > xai_sched_lr(&oc, t - 1));
    for (int64_t t = 31; t <= 100; t++) assert_true(xai_sched_lr(&oc, t) < xai_sched_lr(&oc, t - 1));
}

static void test_train_cfg(void **s)
{
    (void)s;
    xai_config c;
    xai_train_cfg t;
    assert_int_equal(xai_config_load_string(&c,
                                            "[experiment]\nseed = 7\n[train]\nepochs = 12\nbatch = 64\n"
                                            "optimizer = adamw\nlr = 0.002\nschedule = step\nmilestones = 4, 8\n"
                                            "augment = rrc\nmin_scale = 0.3\nflip = 1\nselect = last\n",
                                            "ok.ini"),
                     XAI_OK);
    assert_int_equal(xai_train_cfg_parse(&t, &c), XAI_OK);
    assert_int_equal(t.epochs, 12);
    assert_int_equal(t.batch, 64);
    assert_int_equal(t.seed, 7);
    assert_int_equal(t.optim.type, XAI_OPTIM_ADAMW);
    assert_float_equal(t.sched.lr, 0.002, 1e-12);
    assert_int_equal(t.sched.nmilestones, 2);
    assert_int_equal(t.sched.milestones[1], 8);
    assert_int_equal(t.aug.type, XAI_AUG_RRC);
    assert_int_equal(t.aug.flip, 1);
    assert_int_equal(t.select_best, 0);
    xai_config_free(&c);

    static const struct { const char *text, *expect; } bad[] = {
        {"[train]\nepoch = 3\n", "bad.ini:2: unknown key 'epoch'"},
        {"[train]\noptimizer = rmsprop\n", "bad.ini:2: [train] optimizer = 'rmsprop'"},
        {"[train]\nlr = -1\n", "bad.ini:2: [train] lr = '-1'"},
        {"[train]\nbatch = many\n", "bad.ini:2: [train] batch = 'many' is not an integer"},
        {"[train]\nschedule = step\n", "needs milestones"},
        {"[train]\nschedule = onecycle\n", "needs warmup_epochs"},
        {"[train]\nmilestones = 5, 3\n", "[train] milestones = '5, 3'"},
        {"[train]\nval_fraction = 0\n", "select = best needs a validation split"},
        {"[train]\naugment = mixup\n", "none, crop or rrc"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(xai_config_load_string(&c, bad[i].text, "bad.ini"), XAI_OK);
        assert_int_equal(xai_train_cfg_parse(&t, &c), XAI_EINVAL);
        if (!strstr(xai_errmsg(), bad[i].expect)) fail_msg("'%s': message '%s'", bad[i].text, xai_errmsg());
        xai_config_free(&c);
    }
}

/* Label-smoothed cross-entropy: eps = 0 matches the engine's loss; uniform logits cost log K
 * whatever eps; the gradient matches central differences of the loss. */
static void test_smoothed_xent(void **s)
{
    (void)s;
    enum { N = 3, K = 4 };
    float z[N * K] = {0.5f, -1.0f, 2.0f, 0.25f, 1.5f, 1.5f, -0.5f, 0.0f, -2.0f, 0.75f, 0.1f, 3.0f};
    const int32_t y[N] = {2, 0, 1};
    float dz[N * K], dref[N * K];
    int c0, c1;
    double l0 = xai_train_xent(z, y, N, K, 0, dz, &c0);
    double lref = xai_softmax_xent(z, y, N, K, dref, &c1);
    assert_float_equal(l0, lref, 1e-12);
    assert_int_equal(c0, c1);
    assert_int_equal(c0, 2); /* sample 1 ties 0/1: argmax takes the first */
    for (int i = 0; i < N * K; i++) assert_float_equal(dz[i], dref[i], 1e-7);
    float zero[N * K] = {0};
    assert_float_equal(xai_train_xent(zero, y, N, K, 0.3, dz, NULL), log(K), 1e-12);
    const double eps = 0.2;
    xai_train_xent(z, y, N, K, eps, dz, NULL);
    /* By hand for sample 0: lse - (1-eps) z_y - eps/K sum z. */
    double lse0 = log(exp(0.5) + exp(-1.0) + exp(2.0) + exp(0.25));
    double l_0 = lse0 - 0.8 * 2.0 - 0.05 * (0.5 - 1.0 + 2.0 + 0.25);
    float one[K];
    memcpy(one, z, sizeof one);
    float d1[K];
    assert_float_equal(xai_train_xent(one, y, 1, K, eps, d1, NULL), l_0, 1e-6);
    for (int i = 0; i < N * K; i++) {
        float keep = z[i];
        const float h = 1e-2f;
        z[i] = keep + h;
        double lp = xai_train_xent(z, y, N, K, eps, dref, NULL);
        z[i] = keep - h;
        double lm = xai_train_xent(z, y, N, K, eps, dref, NULL);
        z[i] = keep;
        assert_float_equal(dz[i], (lp - lm) / (2 * h), 1e-4);
    }
}

/* ------------------------------------------------------------- augmentation */

#define H 6
#define W 7

static void make_images(uint8_t *img /* (2, 2, H, W) */)
{
    for (int i = 0; i < 2 * 2 * H * W; i++) img[i] = (uint8_t)(7 + (i * 37) % 241);
}

static void test_normalize(void **s)
{
    (void)s;
    const float mean[2] = {0.5f, 0.25f}, std[2] = {0.25f, 0.5f};
    xai_normalizer nz;
    xai_normalizer_init(&nz, 2, mean, std);
    assert_float_equal(nz.lut[0][0], -2.0, 1e-6);
    assert_float_equal(nz.lut[0][255], 2.0, 1e-6);
    assert_float_equal(nz.lut[1][51], (0.2 - 0.25) / 0.5, 1e-6);
    uint8_t img[2 * 2 * H * W];
    make_images(img);
    const uint8_t *ptrs[2] = {img, img + 2 * H * W};
    xai_shape sh = {2, H, W};
    float out[2 * 2 * H * W];
    xai_normalize_batch(out, ptrs, 2, sh, &nz);
    for (int i = 0; i < 2 * 2 * H * W; i++) {
        int c = (i / (H * W)) % 2;
        assert_float_equal(out[i], (img[i] / 255.0 - mean[c]) / std[c], 1e-5);
    }
}

/* Every output of a padded crop is the source shifted by one (dy, dx) in [-pad, pad],
 * mirrored or not, with black (pixel 0) where the shift leaves the image. */
static void test_crop_is_shift(void **s)
{
    (void)s;
    const float mean[2] = {0.3f, 0.6f}, std[2] = {0.2f, 0.4f};
    xai_normalizer nz;
    xai_normalizer_init(&nz, 2, mean, std);
    uint8_t img[2 * 2 * H * W];
    make_images(img);
    const uint8_t *ptrs[2] = {img, img + 2 * H * W};
    xai_shape sh = {2, H, W};
    xai_aug_cfg a = {.type = XAI_AUG_CROP, .pad = 2, .flip = 1};
    xai_rng r;
    xai_rng_seed(&r, 3);
    int flips = 0, shifted = 0;
    for (int rep = 0; rep < 20; rep++) {
        float out[2 * 2 * H * W];
        xai_augment_batch(out, ptrs, 2, sh, &nz, &a, &r);
        for (int i = 0; i < 2; i++) {
            int found = 0;
            for (int f = 0; f < 2 && !found; f++)
                for (int dy = -2; dy <= 2 && !found; dy++)
                    for (int dx = -2; dx <= 2 && !found; dx++) {
                        int ok = 1;
                        for (int c = 0; c < 2 && ok; c++)
                            for (int y = 0; y < H && ok; y++)
                                for (int x = 0; x < W && ok; x++) {
                                    int sx = (f ? W - 1 - x : x) + dx, sy = y + dy;
                                    int v = sx >= 0 && sx < W && sy >= 0 && sy < H ? ptrs[i][(c * H + sy) * W + sx] : 0;
                                    ok = out[((i * 2 + c) * H + y) * W + x] == nz.lut[c][v];
                                }
                        if (ok) found = 1, flips += f, shifted += dx || dy;
                    }
            if (!found) fail_msg("repeat %d image %d is not a shifted copy of its source", rep, i);
        }
    }
    /* 40 draws: both flips and several shifts must occur. */
    assert_true(flips > 5 && flips < 35);
    assert_true(shifted > 20);
}

/* Random-resized crops of a square S x S image. */
#define S 6

static void test_rrc(void **s)
{
    (void)s;
    const float mean[2] = {0.3f, 0.6f}, std[2] = {0.2f, 0.4f};
    xai_normalizer nz;
    xai_normalizer_init(&nz, 2, mean, std);
    uint8_t img[2 * 2 * S * S];
    for (int i = 0; i < 2 * 2 * S * S; i++) img[i] = (uint8_t)(7 + (i * 37) % 241);
    const uint8_t *ptrs[2] = {img, img + 2 * S * S};
    xai_shape sh = {2, S, S};
    float out[2 * 2 * S * S], ref[2 * 2 * S * S], again[2 * 2 * S * S];
    xai_normalize_batch(ref, ptrs, 2, sh, &nz);
    /* min_scale 1 without flips: on a square image only the whole image fits (any other aspect
     * ratio rounds to a side longer than S), so the output is the plain input. */
    xai_aug_cfg a = {.type = XAI_AUG_RRC, .min_scale = 1};
    xai_rng r;
    xai_rng_seed(&r, 9);
    for (int rep = 0; rep < 10; rep++) {
        xai_augment_batch(out, ptrs, 2, sh, &nz, &a, &r);
        for (int i = 0; i < 2 * 2 * S * S; i++) assert_float_equal(out[i], ref[i], 1e-5);
    }
    /* Smaller crops interpolate: every value stays within the channel's source range, and the
     * same seed gives the same bits. */
    a.min_scale = 0.2;
    a.flip = 1;
    xai_rng_seed(&r, 11);
    xai_augment_batch(out, ptrs, 2, sh, &nz, &a, &r);
    xai_rng_seed(&r, 11);
    xai_augment_batch(again, ptrs, 2, sh, &nz, &a, &r);
    assert_memory_equal(out, again, sizeof out);
    int differs = 0;
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 2; c++) {
            float lo = 1e9f, hi = -1e9f;
            for (int j = 0; j < S * S; j++) {
                float v = ref[(i * 2 + c) * S * S + j];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            for (int j = 0; j < S * S; j++) {
                float v = out[(i * 2 + c) * S * S + j];
                assert_true(v >= lo - 1e-4f && v <= hi + 1e-4f);
                differs += fabsf(v - ref[(i * 2 + c) * S * S + j]) > 1e-3f;
            }
        }
    assert_true(differs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_momentum),      cmocka_unit_test(test_sgd_nesterov_decay),
        cmocka_unit_test(test_adam_bias_correction), cmocka_unit_test(test_adam_l2_and_adamw),
        cmocka_unit_test(test_bad_optim_cfg),     cmocka_unit_test(test_decay_mask),
        cmocka_unit_test(test_schedules),         cmocka_unit_test(test_train_cfg),
        cmocka_unit_test(test_smoothed_xent),
        cmocka_unit_test(test_normalize),         cmocka_unit_test(test_crop_is_shift),
        cmocka_unit_test(test_rrc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
