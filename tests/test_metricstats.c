/* test_metricstats.c: the per-metric statistics between methods on columns whose answer is known:
 * a clear order gives ranks 1..k and distinct letters, ties share a letter, NaN images drop pairwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/metricstats.h"

#define K 3
#define NI 40

/* Method 0 = base + 2, method 1 = base + 1, method 2 = base: every image orders them the same. */
static void fill(xai_metric_column *c, int higher_better)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "m");
    snprintf(c->family, sizeof c->family, "f");
    c->higher_better = higher_better;
    c->n = NI;
    c->v = malloc(K * NI * sizeof *c->v);
    for (int i = 0; i < NI; i++) {
        const double base = sin(1.7 * i) * 0.3;
        for (int m = 0; m < K; m++) c->v[m * NI + i] = base + (K - 1 - m);
    }
}

static void test_clear_order(void **state)
{
    (void)state;
    xai_metric_column c;
    fill(&c, 1);
    xai_metric_stats s;
    assert_int_equal(xai_metric_stats_of(&s, &c, K, 7), XAI_OK);
    assert_int_equal(s.n_used, NI);
    assert_int_equal(s.n_excluded, 0);
    for (int m = 0; m < K; m++) {
        assert_float_equal(s.rank[m], m + 1, 0);
        assert_true(s.lo[m] <= s.mean[m] && s.mean[m] <= s.hi[m]);
        /* Every image agrees: the bootstrap cannot reorder them. */
        assert_float_equal(s.rank_lo[m], m + 1, 0);
        assert_float_equal(s.rank_hi[m], m + 1, 0);
    }
    /* 40 pairs, all in one direction: exact-tail p far below 0.05 after Holm. */
    assert_true(s.p_holm[0 * K + 1] < 1e-6);
    assert_float_equal(s.r_rb[0 * K + 1], 1, 1e-12);
    assert_float_equal(s.r_rb[1 * K + 0], -1, 1e-12);
    assert_string_equal(s.letters[0], "a");
    assert_string_equal(s.letters[1], "b");
    assert_string_equal(s.letters[2], "c");
    int order[K];
    xai_metric_order(order, &s);
    assert_true(order[0] == 0 && order[1] == 1 && order[2] == 2);

    /* The same values where lower is better: the order reverses, and so does the sign of r_rb. */
    xai_metric_stats t;
    c.higher_better = 0;
    assert_int_equal(xai_metric_stats_of(&t, &c, K, 7), XAI_OK);
    assert_float_equal(t.rank[2], 1, 0);
    assert_float_equal(t.r_rb[0 * K + 1], -1, 1e-12);
    assert_string_equal(t.letters[2], "a");
    /* Kendall: two metrics ranking the methods in opposite orders, and each with itself. */
    xai_metric_stats both[2] = {s, t};
    double tau[4];
    xai_metric_kendall(tau, both, 2);
    assert_float_equal(tau[0], 1, 1e-12);
    assert_float_equal(tau[1], -1, 1e-12);
    assert_float_equal(tau[2], -1, 1e-12);
    xai_metric_stats_free(&s);
    xai_metric_stats_free(&t);
    xai_metric_column_free(&c);
}

static void test_ties_and_nan(void **state)
{
    (void)state;
    xai_metric_column c;
    fill(&c, 1);
    /* Method 1 becomes method 2 plus noise of either sign: no difference between them. */
    for (int i = 0; i < NI; i++) c.v[1 * NI + i] = c.v[2 * NI + i] + ((i % 2) ? 1e-3 : -1e-3) * (1 + i % 5);
    c.v[2 * NI + 5] = NAN; /* image 5 drops for every method */
    xai_metric_stats s;
    assert_int_equal(xai_metric_stats_of(&s, &c, K, 7), XAI_OK);
    assert_int_equal(s.n_used, NI - 1);
    assert_int_equal(s.n_excluded, 1);
    assert_true(s.p_holm[1 * K + 2] > 0.05);
    assert_string_equal(s.letters[0], "a");
    assert_string_equal(s.letters[1], "b");
    assert_string_equal(s.letters[2], "b");
    xai_metric_stats_free(&s);

    /* One usable image: means only; no test, no letters. */
    for (int i = 1; i < NI; i++) c.v[i] = NAN;
    assert_int_equal(xai_metric_stats_of(&s, &c, K, 7), XAI_OK);
    assert_int_equal(s.n_used, 1);
    assert_true(isfinite(s.mean[0]) && isnan(s.rank[0]) && isnan(s.p[1]));
    assert_string_equal(s.letters[0], "");
    xai_metric_stats_free(&s);
    xai_metric_column_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clear_order),
        cmocka_unit_test(test_ties_and_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
