/* test_seeds.c: the between-model spread and ranking agreement (paper/seeds.c): Student's t against the
 * textbook table, the spread and tau-b on hand-computed means, properties on random ones, and the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_export_fixture.h"
#include "paper/seeds.h"

static void test_t975(void **state)
{
    (void)state;
    /* Abramowitz & Stegun table 26.10 (two-sided 0.05), also R's qt(0.975, df). */
    assert_float_equal(xai_t975(1), 12.706, 1e-3);
    assert_float_equal(xai_t975(2), 4.303, 1e-3);
    assert_float_equal(xai_t975(4), 2.776, 1e-3);
    assert_float_equal(xai_t975(10), 2.228, 1e-3);
    assert_float_equal(xai_t975(15), 2.131, 1e-3);
    for (int df = 2; df < XAI_SEEDS_MAX; df++) assert_true(xai_t975(df) < xai_t975(df - 1) && xai_t975(df) > 1.96);
    assert_true(isnan(xai_t975(0)) && isnan(xai_t975(XAI_SEEDS_MAX)));
}

static void test_missing(void **state)
{
    (void)state;
    xai_seed_spread s;
    assert_int_not_equal(xai_seed_spread_load(&s, "/nonexistent/experiment"), XAI_OK);
    xai_clear_error();
}

/* ------------------------------------------------------------ on given means */

/* s with M metrics over k methods, directions hb (what xai_seed_spread_of reads of the first model). */
static void first_of(xai_seed_spread *s, int M, int k, const int *hb)
{
    memset(s, 0, sizeof *s);
    s->first.nmetrics = M, s->first.k = k;
    s->first.m = xai_calloc((size_t)M, sizeof *s->first.m);
    for (int i = 0; i < M; i++) s->first.m[i].higher_better = hb[i];
}

static void test_spread_textbook(void **state)
{
    (void)state;
    /* Three models, two methods: per-model means {1, 2, 3} and {2, 4, 9}. By hand: means 2 and 5,
     * sample s.d. 1 and sqrt(13), 95 % t half-widths t(0.975, 2) s / sqrt 3 = 2.48434 and 8.95741. */
    const double v[3 * 2] = {1, 2, 2, 4, 3, 9};
    xai_seed_spread s;
    first_of(&s, 1, 2, (const int[]){1});
    xai_seed_spread_of(&s, v, 3);
    assert_int_equal(s.models, 3);
    assert_int_equal(s.count[0], 3);
    assert_float_equal(s.mean[0], 2, 1e-12);
    assert_float_equal(s.sd[0], 1, 1e-12);
    assert_float_equal(s.lo[0], -0.484338208, 1e-8);
    assert_float_equal(s.hi[0], 4.484338208, 1e-8);
    assert_float_equal(s.mean[1], 5, 1e-12);
    assert_float_equal(s.sd[1], 3.605551275, 1e-8);
    assert_float_equal(s.lo[1], -3.957408796, 1e-8);
    assert_float_equal(s.hi[1], 13.957408796, 1e-8);
    /* The second method is best in every model: one order, one winner. */
    assert_int_equal(s.tau_methods[0], 2);
    assert_int_equal(s.tau_pairs[0], 3);
    assert_true(s.tau_mean[0] == 1 && s.tau_min[0] == 1);
    assert_int_equal(s.winners[0], 1);
    xai_seed_spread_free(&s);
}

static void test_ties_and_direction(void **state)
{
    (void)state;
    /* Means (1, 1, 2) and (3, 2, 1): of the three method pairs one is tied in the first model, two
     * are discordant; tau-b = (0 - 2) / sqrt((3 - 1)(3 - 0)) = -0.8165 in either direction. The
     * winners follow the direction: higher better, {c} and {a}; lower better, {a, b} and {c}. */
    const double v[2 * 2 * 3] = {1, 1, 2, 1, 1, 2, 3, 2, 1, 3, 2, 1};
    xai_seed_spread s;
    first_of(&s, 2, 3, (const int[]){1, 0});
    xai_seed_spread_of(&s, v, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.tau_pairs[i], 1);
        assert_float_equal(s.tau_mean[i], -2 / sqrt(6), 1e-12);
        assert_float_equal(s.tau_min[i], -2 / sqrt(6), 1e-12);
    }
    assert_int_equal(s.winners[0], 2);
    assert_int_equal(s.winners[1], 3);
    xai_seed_spread_free(&s);
}

static void test_missing_values(void **state)
{
    (void)state;
    /* Metric 0: the third model lacks method c, so the rankings use a and b; metric 1: the second
     * model lacks the metric, so only the pair (first, third) is ranked. A constant ranking (metric
     * 2: every method tied) gives no tau. */
    const double N = NAN;
    const double v[3 * 3 * 3] = {1, 2, 3, 1, 2, 3, 5, 5, 5, /* model 0: metrics 0, 1, 2 */
                                 2, 1, 9, N, N, N, 5, 5, 5, /* model 1 */
                                 3, 4, N, 3, 2, 1, 5, 5, 5};
    xai_seed_spread s;
    first_of(&s, 3, 3, (const int[]){1, 1, 1});
    xai_seed_spread_of(&s, v, 3);
    assert_int_equal(s.tau_methods[0], 2);
    assert_int_equal(s.tau_pairs[0], 3);
    assert_float_equal(s.tau_mean[0], -1.0 / 3, 1e-12); /* on (a, b): pairs (1,2) -1, (1,3) +1, (2,3) -1 */
    assert_float_equal(s.tau_min[0], -1, 1e-12);
    assert_int_equal(s.count[0 * 3 + 2], 2);
    assert_float_equal(s.mean[0 * 3 + 2], 6, 1e-12);
    assert_int_equal(s.tau_methods[1], 3);
    assert_int_equal(s.tau_pairs[1], 1);
    assert_float_equal(s.tau_mean[1], -1, 1e-12);
    assert_int_equal(s.count[1 * 3 + 0], 2);
    assert_int_equal(s.winners[1], 2);
    assert_int_equal(s.tau_pairs[2], 0);
    assert_true(isnan(s.tau_mean[2]) && isnan(s.tau_min[2]));
    assert_int_equal(s.winners[2], 3);
    xai_seed_spread_free(&s);
    /* A metric no model has: nothing ranked, no pair, no winner. */
    const double none[2 * 2] = {N, N, N, N};
    first_of(&s, 1, 2, (const int[]){0});
    xai_seed_spread_of(&s, none, 2);
    assert_true(s.tau_methods[0] == 0 && s.tau_pairs[0] == 0 && s.winners[0] == 0 && isnan(s.tau_mean[0]));
    assert_true(s.count[0] == 0 && isnan(s.mean[0]));
    xai_seed_spread_free(&s);
}

/* Deterministic uniform numbers in [0, 1) for the property tests. */
static double next_uniform(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*x >> 11) / 9007199254740992.0;
}

/* A random shape: K models, M metrics, k methods, directions hb, means v (K, M, k) all distinct. */
static double *random_case(xai_seed_spread *s, uint64_t *x, int *K, int *M, int *k)
{
    *K = 2 + (int)(next_uniform(x) * 6), *M = 1 + (int)(next_uniform(x) * 3), *k = 2 + (int)(next_uniform(x) * 7);
    int hb[3];
    for (int i = 0; i < *M; i++) hb[i] = next_uniform(x) < 0.5;
    first_of(s, *M, *k, hb);
    double *v = xai_malloc((size_t)*K * *M * *k * sizeof *v);
    for (int c = 0; c < *K * *M * *k; c++) v[c] = 10 * next_uniform(x) - 3;
    return v;
}

/* 50 random cases: means drawn by random_case, then made what the property needs by `models`
 * (NULL: left independent), spread by xai_seed_spread_of and checked by `check`. */
static void property(uint64_t x, void (*models)(double *v, int K, int M, int k),
                     void (*check_case)(const xai_seed_spread *s, const double *v, int K, int M, int k))
{
    for (int trial = 0; trial < 50; trial++) {
        xai_seed_spread s;
        int K, M, k;
        double *v = random_case(&s, &x, &K, &M, &k);
        if (models) models(v, K, M, k);
        xai_seed_spread_of(&s, v, K);
        check_case(&s, v, K, M, k);
        xai_seed_spread_free(&s);
        free(v);
    }
}

/* Every model with the first model's means: no spread between models, tau 1 for every pair. */
static void identical(double *v, int K, int M, int k)
{
    for (int q = 1; q < K; q++) memcpy(v + (size_t)q * M * k, v, (size_t)M * k * sizeof *v);
}

static void check_identical(const xai_seed_spread *s, const double *v, int K, int M, int k)
{
    for (int c = 0; c < M * k; c++) {
        assert_int_equal(s->count[c], K);
        assert_float_equal(s->mean[c], v[c], 1e-12);
        assert_true(s->sd[c] <= 1e-12 && s->hi[c] - s->lo[c] <= 1e-10);
    }
    for (int i = 0; i < M; i++) {
        assert_int_equal(s->tau_methods[i], k);
        assert_int_equal(s->tau_pairs[i], K * (K - 1) / 2);
        assert_true(s->tau_mean[i] == 1 && s->tau_min[i] == 1);
        assert_int_equal(s->winners[i], 1);
    }
}

static void test_identical_models(void **state)
{
    (void)state;
    property(13, identical, check_identical);
}

/* The second model's means negated (its ranking reversed, whatever the direction), the rest as the
 * first: tau -1 for the K - 1 pairs with the second model, 1 for the others; two winners. */
static void reversed(double *v, int K, int M, int k)
{
    for (int q = 1; q < K; q++)
        for (int c = 0; c < M * k; c++) v[(size_t)q * M * k + c] = q == 1 ? -v[c] : v[c];
}

static void check_reversed(const xai_seed_spread *s, const double *v, int K, int M, int k)
{
    (void)v, (void)k;
    const int pairs = K * (K - 1) / 2;
    for (int i = 0; i < M; i++) {
        assert_int_equal(s->tau_pairs[i], pairs);
        assert_true(s->tau_min[i] == -1);
        assert_float_equal(s->tau_mean[i], (double)(pairs - 2 * (K - 1)) / pairs, 1e-12);
        assert_int_equal(s->winners[i], 2);
    }
}

static void test_reversed_model(void **state)
{
    (void)state;
    property(29, reversed, check_reversed);
}

/* Independent models: the mean and minimum over pairs of tau-b computed on the raw means (tau-b sees
 * only the order of each pair, so ranking first and the metric's direction change nothing). */
static void check_pairs(const xai_seed_spread *s, const double *v, int K, int M, int k)
{
    for (int i = 0; i < M; i++) {
        double sum = 0, lo = 2;
        for (int q = 0; q < K; q++)
            for (int r = q + 1; r < K; r++) {
                const double t = xai_kendall_tau_b(v + ((size_t)q * M + i) * k, v + ((size_t)r * M + i) * k, k);
                sum += t, lo = t < lo ? t : lo;
            }
        assert_float_equal(s->tau_mean[i], sum / (K * (K - 1) / 2), 1e-12);
        assert_float_equal(s->tau_min[i], lo, 1e-12);
        assert_true(s->winners[i] >= 1 && s->winners[i] <= (K < k ? K : k));
    }
}

static void test_tau_of_pairs(void **state)
{
    (void)state;
    property(71, NULL, check_pairs);
}

/* ------------------------------------------------------------- from files */

#define FM 3 /* methods of the file fixture (fx_metric_stats writes three) */
static const char *const FILE_METHODS[FM] = {"a", "b", "c"};
static const char *const FILE_METRICS[2] = {"pf_aopc_morf", "completeness_error"};

/* /stats/<metric> as `xai evaluate` writes it (the publishing fixture's, CIs mean -+ 0.05), with
 * the @source the loader follows to the per-image values. */
static void write_stats(hid_t st, const xai_metric_source *src, const double *mean)
{
    double rank[FM];
    xai_rank_scores(rank, mean, FM, src->better > 0);
    fx_metric_stats(st, src->name, mean, rank, "a,a,a", src->better > 0);
    hid_t g = H5Gopen2(st, src->name, H5P_DEFAULT);
    fx_check(xai_h5_attr_str(g, "source", src->source));
    H5Gclose(g);
}

/* dir/metrics.h5 as far as the loader reads it: per-image values v (2 metrics, FM methods, n
 * images) under /methods/<method>/<source>, and /stats over the methods. */
static void write_metrics(const char *dir, const double *v, int n)
{
    fx_check(xai_mkdirs(dir));
    char *path = xai_path_join(dir, "metrics.h5");
    xai_h5file hf;
    fx_check(xai_h5_create(&hf, path));
    hid_t root = H5Gopen2(hf.id, "/", H5P_DEFAULT), st = xai_h5_group(root, "stats");
    fx_check(xai_h5_attr_str(root, "format", XAI_METRICS_FORMAT));
    fx_check(xai_h5_attr_str(st, "metrics", "pf_aopc_morf,completeness_error"));
    fx_check(xai_h5_attr_str(st, "methods", "a,b,c"));
    for (int i = 0; i < 2; i++) {
        const xai_metric_source *src = &xai_metric_sources[xai_metric_source_find(FILE_METRICS[i])];
        double mean[FM];
        for (int j = 0; j < FM; j++) {
            const double *row = v + ((size_t)i * FM + j) * n;
            char obj[300];
            snprintf(obj, sizeof obj, "methods/%s/%s", FILE_METHODS[j], src->source);
            const uint64_t d[1] = {(uint64_t)n};
            fx_check(xai_h5_write(root, obj, H5T_NATIVE_DOUBLE, row, 1, d));
            mean[j] = 0;
            for (int m = 0; m < n; m++) mean[j] += row[m] / n;
        }
        write_stats(st, src, mean);
    }
    const double tau[4] = {1, 0, 0, 1};
    const uint64_t d2[2] = {2, 2};
    fx_check(xai_h5_write(st, "kendall_tau", H5T_NATIVE_DOUBLE, tau, 2, d2));
    H5Gclose(st);
    H5Gclose(root);
    fx_check(xai_h5_commit(&hf));
    free(path);
}

/* Three models of experiment "exp" under root: the first scored 4 images, the others 3. Metric 0
 * (higher better), first 3 images: means a 2, 3, 4; b 5, 6, 0; c 0, 1, 8 (the third model's ranking
 * c > a > b is the first's b > a > c reversed; the first model's fourth image would move every
 * mean). Metric 1 (lower better): the same values in every model. */
static char *three_models(void)
{
    char tmpl[] = "/tmp/xai-test-seeds-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *root = xai_strdup(tmpl), *exp = xai_path_join(root, "exp");
    const double m0[2 * FM * 4] = {1, 2, 3, 100, 4, 5, 6, -100, 0, 0, 0, 50, /* metric 0: a, b, c */
                                   0.5, 0.5, 0.5, 9, 0.25, 0.25, 0.25, 9, 1, 1, 1, 9};
    const double m1[2 * FM * 3] = {2, 3, 4, 5, 6, 7, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 1, 1, 1};
    const double m2[2 * FM * 3] = {3, 4, 5, 0, 0, 0, 7, 8, 9, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 1, 1, 1};
    write_metrics(exp, m0, 4);
    char *d1 = xai_path_join(exp, "seed1"), *d2 = xai_path_join(exp, "seed2");
    write_metrics(d1, m1, 3);
    write_metrics(d2, m2, 3);
    free(d1), free(d2), free(exp);
    return root;
}

static void remove_tree(const char *root)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_load(void **state)
{
    (void)state;
    char *root = three_models(), *exp = xai_path_join(root, "exp");
    xai_seed_spread s;
    fx_check(xai_seed_spread_load(&s, exp));
    assert_int_equal(s.models, 3);
    assert_int_equal(s.images, 3);
    assert_int_equal(s.first.nmetrics, 2);
    assert_int_equal(s.first.k, FM);
    /* Between models, method a of metric 0: means 2, 3, 4 -> 3 ± 1, t interval 3 -+ 2.48434. */
    assert_float_equal(s.mean[0], 3, 1e-12);
    assert_float_equal(s.sd[0], 1, 1e-12);
    assert_float_equal(s.lo[0], 3 - 2.484338208, 1e-8);
    assert_float_equal(s.hi[0], 3 + 2.484338208, 1e-8);
    /* Between images: the first model's own interval over its 4 images, as its file has it. */
    assert_float_equal(s.first.m[0].mean[0], 26.5, 1e-12);
    assert_float_equal(s.first.m[0].lo[0], 26.45, 1e-12);
    /* Rankings: (1,2) agree, (1,3) and (2,3) are reversed; winners b and c. Metric 1: identical. */
    assert_int_equal(s.tau_methods[0], 3);
    assert_int_equal(s.tau_pairs[0], 3);
    assert_float_equal(s.tau_mean[0], -1.0 / 3, 1e-12);
    assert_true(s.tau_min[0] == -1);
    assert_int_equal(s.winners[0], 2);
    for (int j = 0; j < FM; j++) assert_true(s.sd[FM + j] == 0 && s.count[FM + j] == 3);
    assert_true(s.tau_mean[1] == 1 && s.tau_min[1] == 1 && s.winners[1] == 1);
    xai_seed_spread_free(&s);
    /* One model only: nothing between models. */
    char *d1 = xai_path_join(exp, "seed1/metrics.h5");
    assert_int_equal(unlink(d1), 0);
    fx_check(xai_seed_spread_load(&s, exp));
    assert_int_equal(s.models, 1);
    assert_null(s.mean);
    assert_null(s.tau_mean);
    xai_seed_spread_free(&s);
    free(d1), free(exp);
    remove_tree(root);
    free(root);
}

static void test_report_section(void **state)
{
    (void)state;
    /* The report's table: one row per metric with methods, pairs, mean and min tau-b, winners. */
    char *root = three_models();
    const char *exps[1] = {"exp"};
    fx_check(xai_report_write(root, exps, 1));
    char *md = xai_path_join(root, "report.md"), *text = NULL;
    fx_check(xai_read_file(md, &text, NULL));
    const char *sec = strstr(text, "## Between-model spread");
    assert_non_null(sec);
    assert_non_null(strstr(sec, "Does retraining change the ranking?"));
    assert_non_null(strstr(sec, "| pf\\_aopc\\_morf | 3 | 3 | -0.33 | -1.00 | 2 |"));
    assert_non_null(strstr(sec, "| completeness\\_error | 3 | 3 | 1.00 | 1.00 | 1 |"));
    free(text), free(md);
    remove_tree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t975),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_spread_textbook),
        cmocka_unit_test(test_ties_and_direction),
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_identical_models),
        cmocka_unit_test(test_reversed_model),
        cmocka_unit_test(test_tau_of_pairs),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_report_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
