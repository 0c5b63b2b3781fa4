/* test_stats.c: the between-method statistics against published or independently computed values:
 * Wilcoxon (exact and normal), Holm, Kendall's tau-b, letter displays, bootstrap intervals of means and ranks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explainers/stats.h"

/* Reference values marked "scipy" come from SciPy 1.10.1 (Debian python3-scipy),
 * scipy.stats.wilcoxon / kendalltau / norm.sf, printed with repr(). */

static void test_normal_tail(void **state)
{
    (void)state;
    /* Standard normal table: the two-sided 5 % point, and scipy 2 * norm.sf(z). */
    assert_float_equal(xai_normal_p2(1.959963984540054), 0.05, 1e-15);
    assert_float_equal(xai_normal_p2(-3.0), 0.0026997960632601866, 1e-16);
    assert_float_equal(xai_normal_p2(6.0) / 1.973175290075389e-09, 1, 1e-12);
    assert_float_equal(xai_normal_p2(0), 1, 0);
}

/* Runs the test on (x, y) and compares every field of the result with want (p and z to tol). */
static void check_wilcoxon(const double *x, const double *y, int n, xai_wilcoxon want, double tol)
{
    xai_wilcoxon w;
    assert_int_equal(xai_wilcoxon_signed_rank(&w, x, y, n), XAI_OK);
    assert_int_equal(w.n, want.n);
    assert_int_equal(w.n_zero, want.n_zero);
    assert_int_equal(w.exact, want.exact);
    assert_float_equal(w.w_plus, want.w_plus, 0);
    assert_float_equal(w.w_minus, want.w_minus, 0);
    assert_float_equal(w.p, want.p, tol);
    assert_float_equal(w.z, want.z, tol);
    assert_float_equal(w.r_rb, (want.w_plus - want.w_minus) / (want.w_plus + want.w_minus), 1e-15);
    assert_float_equal(w.r, w.z / sqrt(want.n), 1e-15);
}

static void test_wilcoxon_exact_published(void **state)
{
    (void)state;
    /* Hollander & Wolfe (1973), Nonparametric Statistical Methods, p. 29f (Hamilton
     * depression scale before/after tranquilizer), also R's ?wilcox.test: V = 40, one-sided
     * p = 0.01953, so two-sided 2 * 10 / 2^9 = 0.0390625 (scipy agrees). */
    const double x[9] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
    const double y[9] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
    /* z with continuity correction: (40 - 22.5 - 0.5) / sqrt(9 * 10 * 19 / 24). */
    check_wilcoxon(x, y, 9, (xai_wilcoxon){.n = 9, .exact = 1, .w_plus = 40, .w_minus = 5, .p = 0.0390625,
                                           .z = 17 / sqrt(71.25)}, 1e-15);

    /* Swapping x and y flips the signs, not the p-value. */
    xai_wilcoxon w, v;
    assert_int_equal(xai_wilcoxon_signed_rank(&w, x, y, 9), XAI_OK);
    assert_int_equal(xai_wilcoxon_signed_rank(&v, y, x, 9), XAI_OK);
    assert_float_equal(v.p, w.p, 0);
    assert_float_equal(v.r_rb, -w.r_rb, 1e-15);
    assert_float_equal(v.z, -w.z, 1e-15);
}

static void test_wilcoxon_exact_zeros_dropped(void **state)
{
    (void)state;
    /* d = (1, 0, 3, -2, 5, 6, -4, 7, 0, 8, 9, -10): the zeros are dropped and the exact
     * distribution of the 10 untied ranks is used; scipy.stats.wilcoxon on the nonzero d:
     * statistic 16, p = 0.275390625 (its approx mode with correction: z = -1.1212238211627763). */
    const double d[12] = {1, 0, 3, -2, 5, 6, -4, 7, 0, 8, 9, -10};
    double zero[12] = {0};
    check_wilcoxon(d, zero, 12, (xai_wilcoxon){.n = 10, .n_zero = 2, .exact = 1, .w_plus = 39, .w_minus = 16,
                                               .p = 0.275390625, .z = 1.1212238211627763}, 1e-14);

    /* n = 50 all positive: the most extreme outcome, p = 2 / 2^50 (counts near 2^50 stay exact). */
    xai_wilcoxon w;
    double e[50];
    for (int i = 0; i < 50; i++) e[i] = i + 1;
    double zeros50[50] = {0};
    assert_int_equal(xai_wilcoxon_signed_rank(&w, e, zeros50, 50), XAI_OK);
    assert_true(w.exact);
    assert_float_equal(w.p, ldexp(1, -49), 0);
    assert_float_equal(w.r_rb, 1, 0);
    /* One more pair and the normal approximation takes over. */
    double f[51], zeros51[51] = {0};
    for (int i = 0; i < 51; i++) f[i] = i + 1;
    assert_int_equal(xai_wilcoxon_signed_rank(&w, f, zeros51, 51), XAI_OK);
    assert_false(w.exact);
}

static void test_wilcoxon_normal_ties(void **state)
{
    (void)state;
    /* Wikipedia "Wilcoxon signed-rank test" example (n = 10, one zero, tied |d| = 5):
     * W- = 18, W+ = 27; ties force the normal approximation. scipy (mode='approx',
     * correction=True, zero_method='wilcox'): p = 0.6352893188352069, z = -0.4742953333830018. */
    const double a[10] = {125, 115, 130, 140, 140, 115, 140, 125, 140, 135};
    const double b[10] = {110, 122, 125, 120, 140, 124, 123, 137, 135, 145};
    check_wilcoxon(a, b, 10, (xai_wilcoxon){.n = 9, .n_zero = 1, .w_plus = 27, .w_minus = 18,
                                            .p = 0.6352893188352069, .z = 0.4742953333830018}, 1e-13);

    /* n = 60 on a half-point grid: 4 zeros, 56 pairs left, many ties. scipy as above:
     * W+ = 938, W- = 658, p = 0.25371034150287697, z = -1.141383563585342 (scipy's z uses
     * min(W+, W-), ours is signed by W+). */
    double x[60], y[60];
    for (int i = 0; i < 60; i++) {
        x[i] = ((i * 37) % 11) / 2.0;
        y[i] = ((i * 53) % 9) / 2.0 + (i % 7 == 0 ? 0.5 : 0);
    }
    check_wilcoxon(x, y, 60, (xai_wilcoxon){.n = 56, .n_zero = 4, .w_plus = 938, .w_minus = 658,
                                            .p = 0.25371034150287697, .z = 1.141383563585342}, 1e-13);
}

static void test_wilcoxon_edges(void **state)
{
    (void)state;
    const double x[3] = {1, 2, 3};
    xai_wilcoxon w;
    assert_int_equal(xai_wilcoxon_signed_rank(&w, x, x, 3), XAI_OK); /* identical methods */
    assert_int_equal(w.n, 0);
    assert_int_equal(w.n_zero, 3);
    assert_float_equal(w.p, 1, 0);
    assert_float_equal(w.r_rb, 0, 0);
    const double bad[3] = {1, NAN, 3};
    assert_int_equal(xai_wilcoxon_signed_rank(&w, x, bad, 3), XAI_EINVAL);
    /* Symmetric outcome: W+ = W- gives p = 1 exactly. */
    const double d[4] = {1, -2, -3, 4}, z[4] = {0};
    assert_int_equal(xai_wilcoxon_signed_rank(&w, d, z, 4), XAI_OK);
    assert_float_equal(w.p, 1, 0);
}

static void test_holm(void **state)
{
    (void)state;
    /* By hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; the
     * running maximum makes the last 0.06 (Holm 1979; R's p.adjust(p, "holm") gives the same). */
    const double p[4] = {0.01, 0.04, 0.03, 0.005};
    double adj[4];
    assert_int_equal(xai_holm(adj, p, 4), XAI_OK);
    assert_float_equal(adj[0], 0.03, 1e-15);
    assert_float_equal(adj[1], 0.06, 1e-15);
    assert_float_equal(adj[2], 0.06, 1e-15);
    assert_float_equal(adj[3], 0.02, 1e-15);
    /* Capped at 1 and monotone: 3 * 0.01, min(1, 2 * 0.5), max(1, 0.6). */
    const double q[3] = {0.5, 0.6, 0.01};
    assert_int_equal(xai_holm(adj, q, 3), XAI_OK);
    assert_float_equal(adj[0], 1, 0);
    assert_float_equal(adj[1], 1, 0);
    assert_float_equal(adj[2], 0.03, 1e-15);
    /* Ties: equal p-values get equal adjusted values whatever their order. */
    const double t[3] = {0.02, 0.01, 0.02};
    assert_int_equal(xai_holm(adj, t, 3), XAI_OK);
    assert_float_equal(adj[1], 0.03, 1e-15);
    assert_float_equal(adj[0], 0.04, 1e-15);
    assert_float_equal(adj[2], 0.04, 1e-15);
    const double bad[2] = {0.1, 1.5};
    assert_int_equal(xai_holm(adj, bad, 2), XAI_EINVAL);
}

static void test_kendall_tau_b(void **state)
{
    (void)state;
    /* scipy.stats.kendalltau (tau-b): ties in both samples. */
    const double x[7] = {1, 2, 2, 3, 4, 4, 5}, y[7] = {2, 1, 3, 3, 5, 4, 4};
    assert_float_equal(xai_kendall_tau_b(x, y, 7), 0.6842105263157894, 1e-15);
    /* The example of scipy's kendalltau documentation, -0.47140452079103173; by hand: of the 10
     * pairs 2 are tied in x, 1 in y, 2 concordant, 6 discordant: (2 - 6) / sqrt(8 * 9). */
    const double a[5] = {12, 2, 1, 12, 2}, b[5] = {1, 4, 7, 1, 0};
    assert_float_equal(xai_kendall_tau_b(a, b, 5), -0.47140452079103173, 1e-15);
    assert_float_equal(xai_kendall_tau_b(x, x, 7), 1, 1e-15);
    const double c[3] = {2, 2, 2};
    assert_true(isnan(xai_kendall_tau_b(c, x, 3)));
}

static void test_rank_scores(void **state)
{
    (void)state;
    const double s[4] = {3, 1, 3, 2};
    double r[4];
    xai_rank_scores(r, s, 4, 1);
    assert_float_equal(r[0], 1.5, 0);
    assert_float_equal(r[1], 4, 0);
    assert_float_equal(r[2], 1.5, 0);
    assert_float_equal(r[3], 3, 0);
    xai_rank_scores(r, s, 4, 0);
    assert_float_equal(r[0], 3.5, 0);
    assert_float_equal(r[1], 1, 0);
    assert_float_equal(r[3], 2, 0);
}

/* Checks the defining property of a letter display: a shared letter exactly when not significant. */
static void assert_cld_valid(char letters[][XAI_CLD_LEN], const unsigned char *sig, int k)
{
    for (int i = 0; i < k; i++) {
        assert_true(letters[i][0] != '\0');
        for (int j = i + 1; j < k; j++)
            assert_int_equal(strpbrk(letters[i], letters[j]) != NULL, !sig[i * k + j]);
    }
}

static void test_cld(void **state)
{
    (void)state;
    char L[8][XAI_CLD_LEN];
    /* Staircase: 0-2, 0-3, 1-3 differ. The non-significance graph's maximal cliques are
     * {0,1}, {1,2}, {2,3}: "a", "ab", "bc", "c" (by hand; the textbook overlapping display). */
    const unsigned char stair[16] = {0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0};
    assert_int_equal(xai_cld(L, stair, 4), XAI_OK);
    assert_string_equal(L[0], "a");
    assert_string_equal(L[1], "ab");
    assert_string_equal(L[2], "bc");
    assert_string_equal(L[3], "c");
    /* multcompView's multcompLetters example (A-C and B-D ... here 0-3 and 1-3 differ):
     * cliques {0,1,2}, {2,3} -> "a", "a", "ab", "b" (by hand). */
    const unsigned char m[16] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0};
    assert_int_equal(xai_cld(L, m, 4), XAI_OK);
    assert_string_equal(L[0], "a");
    assert_string_equal(L[1], "a");
    assert_string_equal(L[2], "ab");
    assert_string_equal(L[3], "b");
    /* Only the two best differ; the third sits with both: "a", "b", "ab". */
    const unsigned char g[9] = {0, 1, 0, 1, 0, 0, 0, 0, 0};
    assert_int_equal(xai_cld(L, g, 3), XAI_OK);
    assert_string_equal(L[0], "a");
    assert_string_equal(L[1], "b");
    assert_string_equal(L[2], "ab");
    /* Nothing differs / everything differs. */
    const unsigned char none[9] = {0}, all[9] = {0, 1, 1, 1, 0, 1, 1, 1, 0};
    assert_int_equal(xai_cld(L, none, 3), XAI_OK);
    for (int i = 0; i < 3; i++) assert_string_equal(L[i], "a");
    assert_int_equal(xai_cld(L, all, 3), XAI_OK);
    assert_string_equal(L[0], "a");
    assert_string_equal(L[1], "b");
    assert_string_equal(L[2], "c");

    /* Random symmetric matrices on 8 methods: always a valid display. */
    xai_rng r;
    xai_rng_seed(&r, 7);
    unsigned char sig[64];
    for (int rep = 0; rep < 200; rep++) {
        memset(sig, 0, sizeof sig);
        for (int i = 0; i < 8; i++)
            for (int j = i + 1; j < 8; j++) sig[i * 8 + j] = sig[j * 8 + i] = xai_rng_below(&r, 2);
        assert_int_equal(xai_cld(L, sig, 8), XAI_OK);
        assert_cld_valid(L, sig, 8);
    }
}

static void test_boot_mean_ci(void **state)
{
    (void)state;
    double v[50];
    xai_rng r;
    xai_rng_seed(&r, 1);
    for (int i = 0; i < 50; i++) v[i] = 3 + 2 * xai_rng_normal(&r);
    xai_ci a, b, c;
    assert_int_equal(xai_boot_mean_ci(&a, v, 50, 2000, 0.95, 42), XAI_OK);
    assert_int_equal(xai_boot_mean_ci(&b, v, 50, 2000, 0.95, 42), XAI_OK);
    assert_memory_equal(&a, &b, sizeof a); /* same seed, same bits */
    assert_true(a.lo < a.mean && a.mean < a.hi);
    /* The interval is about mean +- 1.96 sd / sqrt(n); a loose check against the t interval. */
    double sd = 0;
    for (int i = 0; i < 50; i++) sd += (v[i] - a.mean) * (v[i] - a.mean);
    sd = sqrt(sd / 49);
    assert_float_equal(a.hi - a.lo, 2 * 1.96 * sd / sqrt(50), 0.2 * 2 * 1.96 * sd / sqrt(50));
    assert_int_equal(xai_boot_mean_ci(&c, v, 50, 2000, 0.95, 43), XAI_OK);
    assert_true(c.lo != a.lo || c.hi != a.hi);
    /* Independent of the thread count. */
    xai_set_threads(1);
    assert_int_equal(xai_boot_mean_ci(&c, v, 50, 2000, 0.95, 42), XAI_OK);
    xai_set_threads(2);
    assert_int_equal(xai_boot_mean_ci(&b, v, 50, 2000, 0.95, 42), XAI_OK);
    assert_memory_equal(&b, &c, sizeof b);
    assert_memory_equal(&a, &b, sizeof a);

    /* Coverage of the true mean of N(3, 2^2): 400 samples of 50; the percentile interval of a
     * mean covers about 93 % here (it is a little short for small n). */
    int covered = 0;
    for (int rep = 0; rep < 400; rep++) {
        for (int i = 0; i < 50; i++) v[i] = 3 + 2 * xai_rng_normal(&r);
        assert_int_equal(xai_boot_mean_ci(&c, v, 50, 500, 0.95, (uint64_t)rep), XAI_OK);
        covered += c.lo <= 3 && 3 <= c.hi;
    }
    assert_in_range(covered, 360, 392); /* 90 % to 98 % */

    /* Two values 0 and 1: resample means are 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4. */
    const double two[2] = {0, 1};
    assert_int_equal(xai_boot_mean_ci(&c, two, 2, 4000, 0.95, 5), XAI_OK);
    assert_float_equal(c.mean, 0.5, 0);
    assert_float_equal(c.lo, 0, 0);
    assert_float_equal(c.hi, 1, 0);
    const double one[1] = {7};
    assert_int_equal(xai_boot_mean_ci(&c, one, 1, 10, 0.95, 5), XAI_OK);
    assert_true(c.lo == 7 && c.hi == 7 && c.mean == 7);
    assert_int_equal(xai_boot_mean_ci(&c, one, 0, 10, 0.95, 5), XAI_EINVAL);
    assert_int_equal(xai_boot_mean_ci(&c, one, 1, 10, 1.0, 5), XAI_EINVAL);
}

static void test_boot_ranks(void **state)
{
    (void)state;
    /* Method 0 far ahead, method 3 far behind; method 2 holds method 1's values in reverse
     * order: tied on all images (rank 2.5 each), swapping places across resamples. Values on
     * a 1/8 grid so that every sum is exact whatever the order. */
    enum { K = 4, N = 100 };
    double v[K * N];
    xai_rng r;
    xai_rng_seed(&r, 3);
    const double mu[K] = {5, 1, 1, -3};
    for (int m = 0; m < K; m++)
        for (int i = 0; i < N; i++) v[m * N + i] = mu[m] + round(8 * xai_rng_normal(&r)) / 8;
    for (int i = 0; i < N; i++) v[2 * N + i] = v[1 * N + (N - 1 - i)];
    xai_rank_ci rk[K], again[K];
    assert_int_equal(xai_boot_ranks(rk, v, K, N, 1, 1000, 0.95, 9), XAI_OK);
    assert_float_equal(rk[0].rank, 1, 0);
    assert_float_equal(rk[0].lo, 1, 0);
    assert_float_equal(rk[0].hi, 1, 0);
    assert_float_equal(rk[3].rank, 4, 0);
    assert_float_equal(rk[3].mean_rank, 4, 0);
    for (int m = 1; m <= 2; m++) {
        assert_float_equal(rk[m].rank, 2.5, 0);
        assert_float_equal(rk[m].lo, 2, 0);
        assert_float_equal(rk[m].hi, 3, 0);
        assert_true(rk[m].mean_rank > 2.2 && rk[m].mean_rank < 2.8);
    }
    assert_float_equal(rk[1].mean_rank + rk[2].mean_rank, 5, 1e-12);
    /* Lower-is-better reverses the order; same seed, same answer; thread count irrelevant. */
    assert_int_equal(xai_boot_ranks(again, v, K, N, 0, 1000, 0.95, 9), XAI_OK);
    assert_float_equal(again[0].rank, 4, 0);
    assert_float_equal(again[3].rank, 1, 0);
    xai_set_threads(1);
    assert_int_equal(xai_boot_ranks(again, v, K, N, 1, 1000, 0.95, 9), XAI_OK);
    xai_set_threads(2);
    assert_memory_equal(again, rk, sizeof rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_tail),
        cmocka_unit_test(test_wilcoxon_exact_published),
        cmocka_unit_test(test_wilcoxon_exact_zeros_dropped),
        cmocka_unit_test(test_wilcoxon_normal_ties),
        cmocka_unit_test(test_wilcoxon_edges),
        cmocka_unit_test(test_holm),
        cmocka_unit_test(test_kendall_tau_b),
        cmocka_unit_test(test_rank_scores),
        cmocka_unit_test(test_cld),
        cmocka_unit_test(test_boot_mean_ci),
        cmocka_unit_test(test_boot_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
