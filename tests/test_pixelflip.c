/* test_pixelflip.c: pixel flipping on linear models whose answers are known exactly.
 * Golden AOPC/AUC, MoRF of the exact attribution dominating random, AOPC 0 for a constant model, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/metrics.h"

/* flatten + linear(K): logits = W x + b, so removing a pixel changes the target logit by
 * exactly -(sum_c W[t, c, p] (x - ref)). */
static xai_model *linear_model(xai_shape in, int classes, int max_batch, uint64_t seed)
{
    xai_layer_spec s[2];
    char buf[64];
    assert_int_equal(xai_layer_spec_parse(&s[0], "flatten", "test", 1), XAI_OK);
    snprintf(buf, sizeof buf, "linear out=%d", classes);
    assert_int_equal(xai_layer_spec_parse(&s[1], buf, "test", 2), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, s, 2, in, classes, max_batch), XAI_OK);
    xai_model_init(m, seed);
    for (int c = 0; c < 4; c++) m->mean[c] = 0.1f * (c + 1), m->std[c] = 0.3f + 0.1f * c;
    return m;
}

static void fill(float *v, size_t n, uint64_t seed)
{
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) v[i] = xai_rng_normal(&r);
}

static void test_apply_stays_inside(void **state)
{
    (void)state;
    const int G = 37; /* guard floats each side */
    xai_shape shapes[] = {{3, 7, 5}, {1, 5, 7}, {2, 4, 4}, {1, 1, 9}};
    int patches[] = {1, 2, 3, 4, 5, 7};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (size_t pi = 0; pi < sizeof patches / sizeof *patches; pi++) {
            xai_shape s = shapes[si];
            int p = patches[pi];
            if (p > (s.h > s.w ? s.h : s.w)) continue;
            size_t size = xai_shape_size(s);
            float *buf = malloc((size + 2 * G) * sizeof *buf), *ref = malloc(size * sizeof *ref);
            int *cover = calloc(size, sizeof *cover);
            for (size_t j = 0; j < size; j++) ref[j] = 1.0f;
            int nf = xai_flip_nfeatures(s, p);
            assert_int_equal(nf, ((s.h + p - 1) / p) * ((s.w + p - 1) / p));
            for (int f = 0; f < nf; f++) {
                for (size_t j = 0; j < size + 2 * G; j++) buf[j] = -7.0f;
                xai_flip_apply(buf + G, ref, s, p, f);
                for (int j = 0; j < G; j++) {
                    assert_true(buf[j] == -7.0f);
                    assert_true(buf[G + size + j] == -7.0f);
                }
                for (size_t j = 0; j < size; j++) cover[j] += buf[G + j] == 1.0f;
            }
            /* Every pixel of every channel belongs to exactly one feature. */
            for (size_t j = 0; j < size; j++) assert_int_equal(cover[j], 1);
            free(buf);
            free(ref);
            free(cover);
        }
}

static void test_feature_scores_and_order(void **state)
{
    (void)state;
    xai_shape s = {2, 3, 3};
    float attr[18];
    for (int i = 0; i < 18; i++) attr[i] = (float)i;
    float score[4];
    xai_flip_feature_scores(score, attr, s, 2);
    /* Patches of a 3x3 grid with side 2: {0,1,3,4}, {2,5}, {6,7}, {8}, over both channels. */
    assert_float_equal(score[0], (0 + 1 + 3 + 4) + (9 + 10 + 12 + 13), 0);
    assert_float_equal(score[1], (2 + 5) + (11 + 14), 0);
    assert_float_equal(score[2], (6 + 7) + (15 + 16), 0);
    assert_float_equal(score[3], 8 + 17, 0);

    float sc[6] = {1, 3, 3, -2, 0, 3};
    int32_t o[6];
    xai_flip_order_features(o, sc, 6, XAI_FLIP_MORF, 1, 0);
    int32_t morf[6] = {1, 2, 5, 0, 4, 3};
    assert_memory_equal(o, morf, sizeof o);
    xai_flip_order_features(o, sc, 6, XAI_FLIP_LERF, 1, 0);
    int32_t lerf[6] = {3, 4, 0, 1, 2, 5};
    assert_memory_equal(o, lerf, sizeof o);

    int32_t r1[100], r2[100], r3[100];
    xai_flip_order_features(r1, NULL, 100, XAI_FLIP_RANDOM, 5, 17);
    xai_flip_order_features(r2, NULL, 100, XAI_FLIP_RANDOM, 5, 17);
    xai_flip_order_features(r3, NULL, 100, XAI_FLIP_RANDOM, 5, 18);
    assert_memory_equal(r1, r2, sizeof r1);
    assert_memory_not_equal(r1, r3, sizeof r1);
    int seen[100] = {0};
    for (int i = 0; i < 100; i++) seen[r1[i]]++;
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
}

static void test_references(void **state)
{
    (void)state;
    xai_shape s = {3, 6, 5};
    size_t size = xai_shape_size(s), plane = 30;
    float mean[3] = {0.2f, 0.5f, 0.7f}, std[3] = {0.25f, 0.5f, 0.1f};
    float *x = malloc(size * sizeof *x), *ref = malloc(size * sizeof *ref), *tmp = malloc(size * sizeof *tmp);
    float *ref2 = malloc(size * sizeof *ref2);
    fill(x, size, 3);
    xai_flip_opts o;
    xai_flip_defaults(&o);
    o.perturb = XAI_PERTURB_ZERO;
    xai_flip_reference(ref, x, s, &o, mean, std, 0, tmp);
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < plane; p++) assert_float_equal(ref[c * plane + p], -mean[c] / std[c], 1e-6);
    o.perturb = XAI_PERTURB_MEAN;
    xai_flip_reference(ref, x, s, &o, mean, std, 0, tmp);
    for (size_t j = 0; j < size; j++) assert_true(ref[j] == 0.0f);
    o.perturb = XAI_PERTURB_NOISE;
    xai_flip_reference(ref, x, s, &o, mean, std, 4, tmp);
    xai_flip_reference(ref2, x, s, &o, mean, std, 4, tmp);
    assert_memory_equal(ref, ref2, size * sizeof *ref);
    for (int c = 0; c < 3; c++)
        for (size_t p = 0; p < plane; p++) {
            float u = ref[c * plane + p] * std[c] + mean[c]; /* back to pixel units */
            assert_true(u >= -1e-6f && u < 1.0f + 1e-6f);
        }
    xai_flip_reference(ref2, x, s, &o, mean, std, 5, tmp);
    assert_memory_not_equal(ref, ref2, size * sizeof *ref);
    /* Blur keeps a constant image constant (border weights are renormalised)
     * and keeps each channel's values within its range. */
    o.perturb = XAI_PERTURB_BLUR;
    o.blur_sigma = 1.5f;
    for (size_t j = 0; j < size; j++) x[j] = 0.25f;
    xai_flip_reference(ref, x, s, &o, mean, std, 0, tmp);
    for (size_t j = 0; j < size; j++) assert_float_equal(ref[j], 0.25f, 1e-6);
    fill(x, size, 9);
    xai_flip_reference(ref, x, s, &o, mean, std, 0, tmp);
    float lo = 1e9f, hi = -1e9f, vlo = 1e9f, vhi = -1e9f;
    for (size_t j = 0; j < size; j++) {
        lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
        vlo = fminf(vlo, ref[j]), vhi = fmaxf(vhi, ref[j]);
    }
    assert_true(vlo >= lo - 1e-6f && vhi <= hi + 1e-6f && vhi - vlo < hi - lo);
    free(x);
    free(ref);
    free(ref2);
    free(tmp);
}

/* 1x1x4 input, w = (4, 3, 2, 1), x = 1, removal to the mean (0): the curves are known. */
static void test_golden_linear(void **state)
{
    (void)state;
    xai_shape s = {1, 1, 4};
    xai_model *m = linear_model(s, 2, 3, 1);
    float w[8] = {4, 3, 2, 1, 0, 0, 0, 0};
    memcpy(m->layers[1].w, w, sizeof w);
    memset(m->layers[1].b, 0, 2 * sizeof(float));
    float x[4] = {1, 1, 1, 1}, attr[4] = {4, 3, 2, 1};
    int32_t t = 0;
    xai_flip_opts o;
    xai_flip_defaults(&o);
    o.perturb = XAI_PERTURB_MEAN;
    o.per_step = 1;
    o.fraction = 1;
    const float *a[1] = {attr};
    xai_flip_result r;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_OK);
    assert_int_equal(r.nsteps, 4);
    assert_int_equal(r.nfeatures, 4);
    float morf[5] = {10, 6, 3, 1, 0}, lerf[5] = {10, 9, 7, 4, 0};
    for (int k = 0; k < 5; k++) {
        assert_float_equal(r.morf[0].logit[k], morf[k], 1e-5);
        assert_float_equal(r.lerf[0].logit[k], lerf[k], 1e-5);
        assert_float_equal(r.frac[k], 0.25 * k, 1e-12);
        /* Two classes, the other logit 0: p = sigmoid(f). */
        assert_float_equal(r.morf[0].prob[k], 1 / (1 + exp(-morf[k])), 1e-5);
    }
    assert_float_equal(r.forward_images, 1 + 3 * 4, 0);
    double aopc, auc;
    xai_flip_aopc(&aopc, r.morf[0].logit, 1, 4);
    assert_float_equal(aopc, (0 + 4 + 7 + 9 + 10) / 5.0, 1e-5);
    xai_flip_aopc(&aopc, r.lerf[0].logit, 1, 4);
    assert_float_equal(aopc, (0 + 1 + 3 + 6 + 10) / 5.0, 1e-5);
    xai_flip_auc(&auc, r.morf[0].logit, r.frac, 1, 4);
    assert_float_equal(auc, 3.75, 1e-5);
    xai_flip_auc(&auc, r.lerf[0].logit, r.frac, 1, 4);
    assert_float_equal(auc, 6.25, 1e-5);
    xai_flip_result_free(&r);

    /* Two features per step, stopping at half: removed = 0, 2 and curve 10, 3. */
    o.per_step = 2;
    o.fraction = 0.5;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_OK);
    assert_int_equal(r.nsteps, 1);
    assert_float_equal(r.morf[0].logit[1], 3, 1e-5);
    xai_flip_result_free(&r);
    /* steps instead of per_step: 3 features at most in 2 steps -> 2 per step, last step 1. */
    o.per_step = 0;
    o.steps = 2;
    o.fraction = 0.75;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_OK);
    assert_int_equal(r.nsteps, 2);
    assert_int_equal(r.removed[1], 2);
    assert_int_equal(r.removed[2], 3);
    assert_float_equal(r.morf[0].logit[2], 1, 1e-5);
    xai_flip_result_free(&r);
    xai_model_free(m);
}

/* Random linear model, exact attribution w (x - ref): each removal lowers the logit by the
 * feature's score, so MoRF is the lowest curve any order can reach and LeRF the highest. */
static void test_exact_attribution_dominates_random(void **state)
{
    (void)state;
    xai_shape s = {2, 6, 6};
    size_t size = xai_shape_size(s);
    int n = 9, classes = 3;
    xai_model *m = linear_model(s, classes, 5, 7);
    float *x = malloc(n * size * sizeof *x), *attr = malloc(n * size * sizeof *attr);
    float *ref = malloc(size * sizeof *ref), *tmp = malloc(size * sizeof *tmp);
    int32_t t[9];
    fill(x, n * size, 11);
    for (int i = 0; i < n; i++) t[i] = i % classes;
    int kinds[2] = {XAI_PERTURB_ZERO, XAI_PERTURB_NOISE}, patches[2] = {1, 4};
    for (int kv = 0; kv < 2; kv++)
        for (int pv = 0; pv < 2; pv++) {
            xai_flip_opts o;
            xai_flip_defaults(&o);
            o.perturb = kinds[kv];
            o.patch = patches[pv];
            o.per_step = 1;
            o.fraction = 1;
            for (int i = 0; i < n; i++) {
                xai_flip_reference(ref, x + i * size, s, &o, m->mean, m->std, (uint64_t)i, tmp);
                const float *w = m->layers[1].w + (size_t)t[i] * size;
                for (size_t j = 0; j < size; j++) attr[i * size + j] = w[j] * (x[i * size + j] - ref[j]);
            }
            const float *a[1] = {attr};
            xai_flip_result r;
            assert_int_equal(xai_pixelflip(&r, m, x, t, NULL, n, a, 1, &o), XAI_OK);
            int k1 = r.nsteps + 1;
            double sm = 0, sl = 0;
            double *am = malloc(n * sizeof *am), *ar = malloc(n * sizeof *ar), *al = malloc(n * sizeof *al);
            xai_flip_aopc(am, r.morf[0].logit, n, r.nsteps);
            xai_flip_aopc(ar, r.random.logit, n, r.nsteps);
            xai_flip_aopc(al, r.lerf[0].logit, n, r.nsteps);
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < k1; k++) {
                    assert_true(r.morf[0].logit[i * k1 + k] <= r.random.logit[i * k1 + k] + 1e-4f);
                    assert_true(r.lerf[0].logit[i * k1 + k] >= r.random.logit[i * k1 + k] - 1e-4f);
                }
                /* With few features the random order can coincide with MoRF or LeRF. */
                assert_true(am[i] >= ar[i] - 1e-5 && ar[i] >= al[i] - 1e-5 && am[i] > al[i]);
                sm += am[i] - ar[i];
                sl += ar[i] - al[i];
                /* Removing everything reaches the reference whatever the order. */
                assert_float_equal(r.morf[0].logit[i * k1 + r.nsteps], r.random.logit[i * k1 + r.nsteps], 1e-4);
            }
            assert_true(sm > 0 && sl > 0);
            free(am);
            free(ar);
            free(al);
            xai_flip_result_free(&r);
        }
    free(x);
    free(attr);
    free(ref);
    free(tmp);
    xai_model_free(m);
}

/* A model whose output ignores the input: every curve is flat and every AOPC exactly 0. */
static void test_constant_model_aopc_zero(void **state)
{
    (void)state;
    xai_shape s = {3, 5, 7};
    size_t size = xai_shape_size(s);
    int n = 4;
    xai_model *m = linear_model(s, 4, 3, 2);
    memset(m->layers[1].w, 0, m->layers[1].nw * sizeof(float));
    for (int k = 0; k < 4; k++) m->layers[1].b[k] = 0.5f * k - 1;
    float *x = malloc(n * size * sizeof *x), *attr = malloc(n * size * sizeof *attr);
    fill(x, n * size, 1);
    fill(attr, n * size, 2);
    int32_t t[4] = {0, 1, 2, 3};
    for (int kind = 0; kind < XAI_PERTURB_KINDS; kind++) {
        xai_flip_opts o;
        xai_flip_defaults(&o);
        o.perturb = kind;
        o.patch = 2;
        o.steps = 5;
        o.fraction = 1;
        const float *a[2] = {attr, x};
        xai_flip_result r;
        assert_int_equal(xai_pixelflip(&r, m, x, t, NULL, n, a, 2, &o), XAI_OK);
        double v[4];
        xai_flip_curve *cs[5] = {&r.random, &r.morf[0], &r.lerf[0], &r.morf[1], &r.lerf[1]};
        for (int c = 0; c < 5; c++) {
            xai_flip_aopc(v, cs[c]->logit, n, r.nsteps);
            for (int i = 0; i < n; i++) assert_true(v[i] == 0.0);
            xai_flip_aopc(v, cs[c]->prob, n, r.nsteps);
            for (int i = 0; i < n; i++) assert_true(v[i] == 0.0);
        }
        xai_flip_result_free(&r);
    }
    free(x);
    free(attr);
    xai_model_free(m);
}

/* The batch size only changes how images are grouped, not the curves. */
static void test_batch_independent(void **state)
{
    (void)state;
    xai_shape s = {1, 5, 6};
    size_t size = xai_shape_size(s);
    int n = 5;
    xai_model *m1 = linear_model(s, 3, 1, 4), *m7 = NULL;
    assert_int_equal(xai_model_clone(&m7, m1, 7), XAI_OK);
    float *x = malloc(n * size * sizeof *x), *attr = malloc(n * size * sizeof *attr);
    fill(x, n * size, 5);
    fill(attr, n * size, 6);
    int32_t t[5] = {0, 1, 2, 0, 1};
    int64_t ids[5] = {10, 11, 12, 13, 14};
    xai_flip_opts o;
    xai_flip_defaults(&o);
    o.perturb = XAI_PERTURB_NOISE;
    o.patch = 2;
    o.steps = 4;
    const float *a[1] = {attr};
    xai_flip_result r1, r7;
    assert_int_equal(xai_pixelflip(&r1, m1, x, t, ids, n, a, 1, &o), XAI_OK);
    assert_int_equal(xai_pixelflip(&r7, m7, x, t, ids, n, a, 1, &o), XAI_OK);
    size_t cnt = (size_t)n * (r1.nsteps + 1);
    for (size_t j = 0; j < cnt; j++) {
        assert_float_equal(r1.morf[0].logit[j], r7.morf[0].logit[j], 1e-5);
        assert_float_equal(r1.lerf[0].prob[j], r7.lerf[0].prob[j], 1e-6);
        assert_float_equal(r1.random.logit[j], r7.random.logit[j], 1e-5);
    }
    xai_flip_result_free(&r1);
    xai_flip_result_free(&r7);
    free(x);
    free(attr);
    xai_model_free(m1);
    xai_model_free(m7);
}

/* Jobs of 0..6 rows whose row k of job j is a pattern of (j, k) alone; the targets cycle. */
typedef struct {
    size_t size;
    int calls;
    float *logit;  /* (jobs, 8) */
} toy_jobs;

static int toy_rows(void *p, int64_t job)
{
    (void)p;
    return (int)(job * 5 % 7);
}

static void toy_dest(void *p, int64_t job, int k, int32_t *t, float **lg, float **pr)
{
    toy_jobs *c = p;
    *t = (int32_t)((job + k) % 3), *lg = &c->logit[job * 8 + k], *pr = NULL;
}

static void toy_row(const toy_jobs *c, int64_t job, int k, float *row)
{
    for (size_t j = 0; j < c->size; j++) row[j] = (float)sin(0.37 * j + 1.3 * job + 0.11 * k);
}

static void toy_fill(void *p, int64_t job, int k0, int k1, float *out)
{
    toy_jobs *c = p;
#pragma omp atomic
    c->calls++;
    assert_true(k0 < k1 && k1 <= toy_rows(p, job));
    for (int k = k0; k < k1; k++) toy_row(c, job, k, out + (size_t)(k - k0) * c->size);
}

/* xai_fwd_run gives the logits of one xai_fwd_slot per row in job order, bit for bit, whatever the
 * batch, the chunk and the thread count; chunks cut each job at multiples of the chunk. */
static void test_fwd_run_jobs(void **state)
{
    (void)state;
    const xai_shape in = {2, 3, 5};
    const int njobs = 23, threads = xai_threads();
    const int batches[3] = {1, 4, 9}, chunks[3] = {0, 1, 3};
    for (int bi = 0; bi < 3; bi++) {
        xai_model *m = linear_model(in, 3, batches[bi], 11);
        toy_jobs ref = {xai_shape_size(in), 0, calloc(njobs * 8, sizeof(float))};
        xai_fwd_batch b;
        xai_fwd_init(&b, m);
        for (int j = 0; j < njobs; j++)
            for (int k = 0; k < toy_rows(&ref, j); k++) {
                int32_t t;
                float *lg, *pr;
                toy_dest(&ref, j, k, &t, &lg, &pr);
                toy_row(&ref, j, k, xai_fwd_slot(&b, t, lg, pr));
            }
        xai_fwd_flush(&b);
        for (int ci = 0; ci < 3; ci++)
            for (int th = 1; th <= 2; th++) {
                xai_set_threads(th);
                toy_jobs got = {ref.size, 0, calloc(njobs * 8, sizeof(float))};
                const double before = b.forwarded;
                xai_fwd_jobs J = {&got, 1, toy_rows, chunks[ci], toy_dest, toy_fill};
                xai_fwd_run(&b, &J); /* job 0 has no rows: nothing */
                assert_int_equal(b.fill, 0);
                J.njobs = njobs;
                assert_true(xai_fwd_run(&b, &J) >= 0);
                xai_fwd_flush(&b);
                assert_memory_equal(got.logit, ref.logit, njobs * 8 * sizeof(float));
                int rows = 0, pieces_min = 0;
                for (int j = 0; j < njobs; j++) {
                    rows += toy_rows(&got, j);
                    const int ck = chunks[ci] ? chunks[ci] : 8;
                    pieces_min += (toy_rows(&got, j) + ck - 1) / ck;
                }
                assert_true(b.forwarded - before == rows);
                assert_true(got.calls >= pieces_min && got.calls <= pieces_min + rows / batches[bi] + 1);
                free(got.logit);
            }
        xai_set_threads(threads);
        xai_fwd_free(&b);
        free(ref.logit);
        xai_model_free(m);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    xai_shape s = {1, 4, 4};
    xai_model *m = linear_model(s, 2, 2, 1);
    float x[16] = {0}, attr[16] = {0};
    int32_t t = 0;
    const float *a[1] = {attr};
    xai_flip_opts o;
    xai_flip_result r;
    xai_flip_defaults(&o);
    o.fraction = 0;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "fraction"));
    xai_flip_defaults(&o);
    o.patch = 5;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_EINVAL);
    xai_flip_defaults(&o);
    attr[3] = NAN;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "non-finite"));
    attr[3] = 0;
    t = 2;
    assert_int_equal(xai_pixelflip(&r, m, x, &t, NULL, 1, a, 1, &o), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "target class 2"));
    assert_int_equal(xai_perturb_from_name("blur"), XAI_PERTURB_BLUR);
    assert_int_equal(xai_perturb_from_name("fog"), -1);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_stays_inside),
        cmocka_unit_test(test_feature_scores_and_order),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_golden_linear),
        cmocka_unit_test(test_exact_attribution_dominates_random),
        cmocka_unit_test(test_constant_model_aopc_zero),
        cmocka_unit_test(test_batch_independent),
        cmocka_unit_test(test_fwd_run_jobs),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
