/* test_seeds.c: the between-model spread's pieces (paper/seeds.c): Student's t quantiles against the
 * textbook table, and the loader's handling of a missing experiment. The spread itself is checked
 * end to end (e2e_reproduce: seeds = 2, check_results.sh reads the report's table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "core/base.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t975),
        cmocka_unit_test(test_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
