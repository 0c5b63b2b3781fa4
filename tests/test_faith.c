/* test_faith.c: the metrics of explainers/faith.h on linear models, whose exact attribution is known:
 * theory where it is exact (correlations 1, infidelity 0, deletion curves), exact beats random. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/faith.h"

#include "test_explain_common.h"

/* flatten + linear(4) on 2x6x7 inputs: f_t(x) = w_t . x + b_t, so the exact attribution against a
 * reference r is w_t (x - r) per input and its sum over any set S is exactly f_t(x) - f_t(x_S). */
static xai_model *linear_model(int max_batch)
{
    xai_model *m = model_from("[model]\ninput = 2x6x7\nclasses = 4\nlayer = flatten\nlayer = linear out=4\n", max_batch);
    xai_model_init(m, 7);
    for (int c = 0; c < 2; c++) m->mean[c] = 0.1f * (c + 1), m->std[c] = 0.3f + 0.1f * c;
    return m;
}

typedef struct {
    xai_model *m;
    xai_shape s;
    int n, K;
    size_t size;
    float *x;
    int32_t *target;
    int64_t *ids;
    float *attr[3]; /* exact (black reference), gradient, random */
    xai_method meth[3];
    xai_flip_opts flip;
} fixture;

static void fixture_make(fixture *f, int max_batch)
{
    memset(f, 0, sizeof *f);
    f->s = (xai_shape){2, 6, 7};
    f->n = 12, f->K = 4;
    f->size = xai_shape_size(f->s);
    f->m = linear_model(max_batch);
    f->x = malloc(f->n * f->size * sizeof *f->x);
    f->target = malloc(f->n * sizeof *f->target);
    f->ids = malloc(f->n * sizeof *f->ids);
    xai_rng g;
    xai_rng_seed(&g, 3);
    for (size_t j = 0; j < f->n * f->size; j++) f->x[j] = xai_rng_normal(&g);
    xai_flip_defaults(&f->flip);
    const xai_layer *L = &f->m->layers[1];
    for (int i = 0; i < f->n; i++) {
        f->target[i] = i % f->K, f->ids[i] = 100 + i;
        for (int a = 0; a < 3; a++)
            if (!f->attr[a]) f->attr[a] = malloc(f->n * f->size * sizeof(float));
        for (size_t j = 0; j < f->size; j++) {
            const int c = (int)(j / (f->s.h * f->s.w));
            const float w = L->w[(size_t)f->target[i] * f->size + j], black = -f->m->mean[c] / f->m->std[c];
            f->attr[0][i * f->size + j] = w * (f->x[i * f->size + j] - black);
            f->attr[1][i * f->size + j] = w;
            f->attr[2][i * f->size + j] = xai_rng_normal(&g);
        }
    }
    static const char *spec[3] = {"gradient-x-input", "gradient", "random"};
    for (int a = 0; a < 3; a++) assert_int_equal(xai_method_parse(&f->meth[a], spec[a], NULL), XAI_OK);
}

static void fixture_free(fixture *f)
{
    xai_model_free(f->m);
    free(f->x), free(f->target), free(f->ids);
    for (int a = 0; a < 3; a++) free(f->attr[a]);
}

static void run(fixture *f, xai_faith_result *r, unsigned which, int nmethods)
{
    xai_faith_opts o;
    xai_faith_defaults(&o);
    o.which = which;
    o.insdel_steps = 84; /* one feature a step */
    xai_faith_input in = {f->x, f->target, f->ids, f->n, (const float *const *)f->attr, f->meth, nmethods, &f->flip,
                          NULL};
    assert_int_equal(xai_faith_run(r, f->m, &in, &o), XAI_OK);
}

static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static void test_descriptive_golden(void **state)
{
    (void)state;
    const float a[4] = {1, -2, 3, 4}, one[4] = {0, 0, 5, 0}, flat[4] = {2, 2, 2, 2}, zero[4] = {0};
    assert_float_equal(xai_gini(a, 4), 0.25, 1e-12);
    assert_float_equal(xai_gini(one, 4), 0.75, 1e-12);
    assert_float_equal(xai_gini(flat, 4), 0, 1e-12);
    assert_true(isnan(xai_gini(zero, 4)));
    assert_float_equal(xai_entropy(one, 4), 0, 1e-12);
    assert_float_equal(xai_entropy(flat, 4), log(4), 1e-12);
    const double p = 0.1, q = 0.2, r3 = 0.3, s4 = 0.4;
    assert_float_equal(xai_entropy(a, 4), -(p * log(p) + q * log(q) + r3 * log(r3) + s4 * log(s4)), 1e-12);
    const double x[4] = {1, 2, 3, 4}, y[4] = {2, 4, 6, 8.5}, c[4] = {1, 1, 1, 1};
    assert_float_equal(xai_pearson(x, x, 4), 1, 1e-12);
    assert_true(xai_pearson(x, y, 4) > 0.99 && xai_pearson(x, y, 4) < 1);
    assert_true(isnan(xai_pearson(x, c, 4)));
}

/* Subsets set to black: the exact map's sums are the output drops, so both correlations are 1. */
static void test_correlations_exact(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 64);
    xai_faith_result r;
    run(&f, &r, 1u << XAI_FM_FAITHCORR | 1u << XAI_FM_SENSN, 3);
    assert_true(r.nsensn == 6); /* 1..32 below 42 features */
    for (int i = 0; i < f.n; i++) {
        assert_float_equal(r.m[0].faithcorr[i], 1, 1e-4);
        for (int t = 0; t < r.nsensn; t++) assert_float_equal(r.m[0].sensn[(size_t)t * f.n + i], 1, 1e-4);
    }
    assert_true(mean_of(r.m[2].faithcorr, f.n) < 0.8);
    assert_true(mean_of(r.m[2].sensn + 3 * f.n, f.n) < 0.8);
    assert_true(r.cost[XAI_FM_SENSN].forwards == (double)f.n * 32 * 6);
    xai_faith_result_free(&r);
    fixture_free(&f);
}

/* Deletion of the exact map follows f(x) minus its sorted partial sums; insertion beats random. */
static void test_insdel_exact(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 64);
    xai_faith_result r;
    run(&f, &r, 1u << XAI_FM_INSDEL, 3);
    const int K = r.ins_steps, nf = 42;
    assert_int_equal(K, nf);
    float *sc = malloc(nf * sizeof *sc);
    int32_t *ord = malloc(nf * sizeof *ord);
    for (int i = 0; i < f.n; i++) {
        xai_flip_feature_scores(sc, f.attr[0] + i * f.size, f.s, 1);
        xai_flip_order_features(ord, sc, nf, XAI_FLIP_MORF, 0, 0);
        double fx = r.m[0].del.logit[(size_t)i * (K + 1)], acc = 0;
        for (int k = 1; k <= K; k++) {
            acc += sc[ord[k - 1]];
            assert_float_equal(r.m[0].del.logit[(size_t)i * (K + 1) + k], fx - acc, 1e-3 * (1 + fabs(fx)));
        }
    }
    assert_true(mean_of(r.m[0].del_auc[0], f.n) < mean_of(r.m[2].del_auc[0], f.n));
    assert_true(mean_of(r.m[0].ins_auc[0], f.n) > mean_of(r.m[2].ins_auc[0], f.n));
    assert_true(mean_of(r.m[0].ins_auc[1], f.n) > mean_of(r.m[2].ins_auc[1], f.n));
    free(sc);
    free(ord);
    xai_faith_result_free(&r);
    fixture_free(&f);
}

/* Gaussian perturbations of a linear model: the gradient's infidelity is 0, a random map's is not. */
static void test_infidelity_gradient(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 64);
    xai_faith_result r;
    run(&f, &r, 1u << XAI_FM_INFIDELITY, 3);
    for (int i = 0; i < f.n; i++) {
        assert_true(r.m[1].infid[i] < 1e-8);
        assert_true(r.m[1].infid_scaled[i] < 1e-5);
        assert_true(r.m[2].infid[i] > 1e-3);
        assert_true(r.m[2].infid_scaled[i] > 0.3);
    }
    xai_faith_result_free(&r);
    fixture_free(&f);
}

/* The gradient of a linear model does not move: max-sensitivity 0; x * w moves with x. The random
 * logit's gradient map is w_c: its Spearman with w_t is known. */
static void test_reexplaining_metrics(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 8);
    xai_faith_result r;
    run(&f, &r, 1u << XAI_FM_MAXSENS | 1u << XAI_FM_RANDLOGIT, 2);
    const int nms = r.cost[XAI_FM_MAXSENS].n;
    assert_int_equal(nms, 12);
    for (int i = 0; i < nms; i++) {
        assert_float_equal(r.m[1].maxsens[i], 0, 1e-6);
        assert_true(r.m[0].maxsens[i] > 0 && r.m[0].maxsens[i] < 1);
    }
    const xai_layer *L = &f.m->layers[1];
    for (int i = 0; i < r.cost[XAI_FM_RANDLOGIT].n; i++) {
        const int c = r.rl_class[i];
        assert_true(c != f.target[i] && c >= 0 && c < f.K);
        double sim[3];
        xai_map_similarity(sim, L->w + (size_t)f.target[i] * f.size, L->w + (size_t)c * f.size, f.s);
        assert_float_equal(r.m[1].rl_sim[i], sim[0], 1e-6);
        assert_true(r.m[1].rl_sim[i] < 0.9);
    }
    xai_faith_result_free(&r);
    fixture_free(&f);
}

/* Imputation: a constant image stays constant, an interior hole in a linear ramp is filled with the
 * ramp (8-neighbour means reproduce linear functions), and the noise has the sd asked for. */
static void test_road_impute(void **state)
{
    (void)state;
    const xai_shape s = {1, 12, 12};
    float img[144], ramp[144];
    uint8_t mask[144] = {0};
    for (int p = 0; p < 144; p++) ramp[p] = 0.5f + 0.1f * (p / 12) - 0.05f * (p % 12), img[p] = 2;
    for (int y = 3; y < 9; y++)
        for (int x = 2; x < 10; x++) mask[y * 12 + x] = 1;
    const float zero = 0, sd = 0.5f;
    assert_true(xai_road_impute(img, mask, s, &zero, 1, 0) >= 0);
    for (int p = 0; p < 144; p++) assert_float_equal(img[p], 2, 1e-5);
    memcpy(img, ramp, sizeof img);
    for (int p = 0; p < 144; p++) img[p] = mask[p] ? 9 : img[p];
    xai_road_impute(img, mask, s, &zero, 1, 0);
    for (int p = 0; p < 144; p++) assert_float_equal(img[p], ramp[p], 2e-3);
    xai_road_impute(img, mask, s, &sd, 1, 5);
    double s2 = 0;
    for (int p = 0; p < 144; p++) s2 += (img[p] - ramp[p]) * (img[p] - ramp[p]);
    const double est = sqrt(s2 / 48);
    assert_true(est > 0.3 && est < 0.7);
}

/* The channels of one image share the solver's passes but not its scalars: a 3-channel image is
 * imputed exactly as its channels one at a time (noise off), and the iterations add up. The channels
 * differ (a ramp, a checkerboard, a constant), so they stop after different numbers of iterations. */
static void test_road_channels_independent(void **state)
{
    (void)state;
    enum { H = 11, W = 13, P = H * W };
    const xai_shape s3 = {3, H, W}, s1 = {1, H, W};
    float img[3 * P], one[P];
    uint8_t mask[P];
    for (int p = 0; p < P; p++) {
        img[p] = 0.1f * (p / W) - 0.03f * (p % W);
        img[P + p] = ((p / W + p % W) & 1) ? 1.f : -1.f;
        img[2 * P + p] = 0.25f;
        mask[p] = (p * 7 + p / W) % 5 < 3; /* 60 % removed, scattered and in runs */
    }
    const float zero[3] = {0, 0, 0};
    float joint[3 * P];
    memcpy(joint, img, sizeof joint);
    const int it3 = xai_road_impute(joint, mask, s3, zero, 1, 0);
    int sum = 0, its[3];
    for (int c = 0; c < 3; c++) {
        memcpy(one, img + c * P, sizeof one);
        sum += its[c] = xai_road_impute(one, mask, s1, zero, 1, 0);
        assert_memory_equal(one, joint + c * P, sizeof one);
    }
    assert_int_equal(it3, sum);
    assert_true(its[0] != its[2] || its[1] != its[2]); /* the channels stop apart */
}

/* ROAD on the exact map: removing the most relevant pixels first hurts more than the least. */
static void test_road_orders(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 64);
    xai_faith_result r;
    run(&f, &r, 1u << XAI_FM_ROAD | 1u << XAI_FM_SPARSENESS | 1u << XAI_FM_COMPLEXITY, 3);
    assert_true(mean_of(r.m[0].road_morf_auc[0], f.n) < mean_of(r.m[0].road_lerf_auc[0], f.n));
    assert_true(mean_of(r.m[0].road_morf_auc[0], f.n) < mean_of(r.m[2].road_morf_auc[0], f.n));
    assert_true(r.cost[XAI_FM_ROAD].forwards == f.n * (1 + 3 * 2 * XAI_ROAD_LEVELS));
    assert_true(r.cost[XAI_FM_ROAD].impute_seconds <= r.cost[XAI_FM_ROAD].seconds);
    for (int i = 0; i < f.n; i++) {
        assert_true(r.m[0].sparseness[i] > 0 && r.m[0].sparseness[i] < 1);
        assert_true(r.m[0].complexity[i] > 0 && r.m[0].complexity[i] < log(42) + 1e-9);
    }
    xai_faith_result_free(&r);
    fixture_free(&f);
}

/* The metrics that only run forward passes: f2 at 2 threads into a, f1 at 1 thread into b. */
static void run_1_2_threads(fixture *f2, fixture *f1, xai_faith_result *a, xai_faith_result *b)
{
    const unsigned w = XAI_FM_ALL & ~(1u << XAI_FM_MAXSENS | 1u << XAI_FM_RANDLOGIT);
    const int threads = xai_threads();
    xai_set_threads(2);
    run(f2, a, w, 3);
    xai_set_threads(1);
    run(f1, b, w, 3);
    xai_set_threads(threads);
}

/* The batch size and the thread count only change how images are grouped and shared out: every
 * value stays the same. */
static void test_batch_independent(void **state)
{
    (void)state;
    fixture f1, f2;
    fixture_make(&f1, 64);
    fixture_make(&f2, 5);
    xai_faith_result a, b;
    run_1_2_threads(&f1, &f2, &a, &b);
    for (int q = 0; q < 3; q++)
        for (int i = 0; i < f1.n; i++) {
            assert_float_equal(a.m[q].faithcorr[i], b.m[q].faithcorr[i], 1e-6);
            assert_float_equal(a.m[q].infid[i], b.m[q].infid[i], 1e-6 * (1 + a.m[q].infid[i]));
            assert_float_equal(a.m[q].road_morf_auc[1][i], b.m[q].road_morf_auc[1][i], 1e-6);
            assert_float_equal(a.m[q].ins_auc[0][i], b.m[q].ins_auc[0][i], 1e-5);
        }
    xai_faith_result_free(&a);
    xai_faith_result_free(&b);
    fixture_free(&f1);
    fixture_free(&f2);
}

static void same_curve(const xai_flip_curve *a, const xai_flip_curve *b, size_t n)
{
    assert_memory_equal(a->logit, b->logit, n * sizeof(float));
    assert_memory_equal(a->prob, b->prob, n * sizeof(float));
}

/* Perturbed inputs are built in parallel (ROAD's imputations, insertion/deletion curves, subsets,
 * infidelity's noise): at 1 and 2 threads every value is the same bit for bit, with batches of 5
 * cutting curves and runs apart. */
static void test_threads_identical(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 5);
    xai_faith_result a, b;
    run_1_2_threads(&f, &f, &a, &b);
    const size_t n = (size_t)f.n, ins = n * (a.ins_steps + 1), road = n * (XAI_ROAD_LEVELS + 1);
    for (int q = 0; q < 3; q++) {
        const xai_faith_method *x = &a.m[q], *y = &b.m[q];
        same_curve(&x->ins, &y->ins, ins), same_curve(&x->del, &y->del, ins);
        same_curve(&x->road_morf, &y->road_morf, road), same_curve(&x->road_lerf, &y->road_lerf, road);
        assert_memory_equal(x->faithcorr, y->faithcorr, n * sizeof(double));
        assert_memory_equal(x->sensn, y->sensn, n * a.nsensn * sizeof(double));
        assert_memory_equal(x->infid, y->infid, n * sizeof(double));
        assert_memory_equal(x->infid_scaled, y->infid_scaled, n * sizeof(double));
    }
    assert_true(a.road_cg_iters == b.road_cg_iters && a.road_cg_work == b.road_cg_work && a.road_cg_work > 0);
    xai_faith_result_free(&a);
    xai_faith_result_free(&b);
    fixture_free(&f);
}

static void test_parse(void **state)
{
    (void)state;
    unsigned m;
    assert_int_equal(xai_faith_parse("all", &m), XAI_OK);
    assert_int_equal(m, XAI_FM_ALL);
    assert_int_equal(xai_faith_parse("road,insdel", &m), XAI_OK);
    assert_int_equal(m, 1u << XAI_FM_ROAD | 1u << XAI_FM_INSDEL);
    assert_int_equal(xai_faith_parse("none", &m), XAI_OK);
    assert_int_equal(m, 0);
    assert_int_equal(xai_faith_parse("road,bogus", &m), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "bogus"));
    xai_clear_error();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptive_golden), cmocka_unit_test(test_correlations_exact),
        cmocka_unit_test(test_insdel_exact),       cmocka_unit_test(test_infidelity_gradient),
        cmocka_unit_test(test_reexplaining_metrics), cmocka_unit_test(test_road_impute),
        cmocka_unit_test(test_road_channels_independent), cmocka_unit_test(test_road_orders),
        cmocka_unit_test(test_batch_independent),
        cmocka_unit_test(test_threads_identical), cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
