/* test_cli.c: the shared option parser: values are checked whole and in range, global options
 * work anywhere, positionals are collected, and --help describes every option of the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/io.h"

#include <stdlib.h>
#include <string.h>

static int n_int, flag, yes, sw;
static const char *maybe;
static int64_t big;
static double x;
static const char *file;
static const xai_optdef OPTS[] = {
    {"--n", XAI_ARG_INT, &n_int, "N", 1, 1000, "how many"},
    {"--big", XAI_ARG_I64, &big, "N", 0, 0, "a 64-bit count"},
    {"--x", XAI_ARG_F64, &x, "X", 0, 1, "a fraction"},
    {"--file", XAI_ARG_STR, &file, "FILE", 0, 0, "a file\nsecond line"},
    {"--flag", XAI_ARG_FLAG, &flag, NULL, 0, 0, "a switch"},
    {"--sanity", XAI_ARG_BOOL, &yes, "yes|no", 0, 0, "a yes/no"},
    {"--curve", XAI_ARG_SWITCH, &sw, "[yes|no]", 0, 0, "a switch with an optional yes/no"},
    {"--mirror", XAI_ARG_STR0, &maybe, "DIR", 0, 0, "a path that may be empty"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};
static const xai_cmdspec SPEC = {"xai t", "[options] NAME...", "Test command.", OPTS, 2};

static int parse(char **pos, int *np, ...)
{
    char *argv[32] = {"t"};
    int argc = 1;
    va_list ap;
    va_start(ap, np);
    for (char *a; (a = va_arg(ap, char *));) argv[argc++] = a;
    va_end(ap);
    n_int = flag = yes = sw = 0, big = 0, x = 0, file = maybe = NULL;
    return xai_opts_parse(&SPEC, argc, argv, pos, np);
}

static void test_values(void **s)
{
    (void)s;
    char *pos[32];
    int np = -1;
    assert_int_equal(parse(pos, &np, "a", "--n", "12", "--x=0.5", "--file", "f.h5", "--flag", "b", "--sanity", "no",
                           "--big", "4294967297", NULL),
                     XAI_OPTS_OK);
    assert_int_equal(n_int, 12);
    assert_true(x == 0.5);
    assert_string_equal(file, "f.h5");
    assert_int_equal(flag, 1);
    assert_int_equal(yes, 0);
    assert_true(big == 4294967297LL);
    assert_int_equal(np, 2);
    assert_string_equal(pos[0], "a");
    assert_string_equal(pos[1], "b");
}

static void test_optional_values(void **s)
{
    (void)s;
    char *pos[32];
    int np;
    assert_int_equal(parse(pos, &np, "--curve", NULL), XAI_OPTS_OK);
    assert_int_equal(sw, 1);
    assert_int_equal(parse(pos, &np, "--curve", "no", "a", NULL), XAI_OPTS_OK);
    assert_int_equal(sw, 0);
    assert_int_equal(np, 1);
    assert_int_equal(parse(pos, &np, "--curve", "a", NULL), XAI_OPTS_OK); /* alone, then a positional */
    assert_int_equal(sw, 1);
    assert_int_equal(np, 1);
    assert_int_equal(parse(pos, &np, "--curve=maybe", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--mirror", "", NULL), XAI_OPTS_OK);
    assert_string_equal(maybe, "");
    assert_int_equal(parse(pos, &np, "--mirror=", NULL), XAI_OPTS_OK);
    assert_string_equal(maybe, "");
}

static void test_errors(void **s)
{
    (void)s;
    char *pos[32];
    int np;
    assert_int_equal(parse(pos, &np, "--n", "2x", NULL), XAI_OPTS_ERROR);         /* not whole */
    assert_int_equal(parse(pos, &np, "--n", "4294967297", NULL), XAI_OPTS_ERROR); /* out of range, not wrapped */
    assert_int_equal(parse(pos, &np, "--n", "0", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--n", NULL), XAI_OPTS_ERROR);               /* missing value */
    assert_int_equal(parse(pos, &np, "--x", "nan", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--x", "1.5", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--big", "-1", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--big", "99999999999999999999", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--sanity", "maybe", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--flag=1", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--file", "", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--bogus", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "a", "b", "c", NULL), XAI_OPTS_ERROR);      /* max 2 positionals */
    assert_int_equal(parse(pos, &np, "--threads", "2x", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--threads", "0", NULL), XAI_OPTS_ERROR);
    assert_int_equal(parse(pos, &np, "--threads", "65536", NULL), XAI_OPTS_ERROR); /* far beyond 4 per core */
}

static void test_globals_anywhere(void **s)
{
    (void)s;
    char *pos[32];
    int np;
    xai_quiet = 0;
    assert_int_equal(parse(pos, &np, "--n", "3", "--threads", "1", "--quiet", NULL), XAI_OPTS_OK);
    assert_int_equal(xai_threads(), 1);
    assert_int_equal(xai_quiet, 1);
    char *argv[] = {"xai", "--threads=1", "--quiet", "train", "--n", "2"};
    int i = 1;
    assert_int_equal(xai_opts_globals(6, argv, &i), XAI_OPTS_OK);
    assert_int_equal(i, 3);
    char *bad[] = {"xai", "--threads", "1x", "train"};
    i = 1;
    assert_int_equal(xai_opts_globals(4, bad, &i), XAI_OPTS_ERROR);
}

static void test_help_lists_every_option(void **s)
{
    (void)s;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    xai_opts_usage(&SPEC, f);
    fclose(f);
    for (const xai_optdef *d = OPTS; d->name; d++) {
        assert_non_null(strstr(buf, d->name));
        char first[64];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(d->help, "\n"), d->help);
        assert_non_null(strstr(buf, first));
    }
    assert_non_null(strstr(buf, "a file\n                     second line")); /* continuation indented */
    assert_non_null(strstr(buf, "--threads"));
    assert_non_null(strstr(buf, "usage: xai t [options] NAME..."));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_optional_values),
        cmocka_unit_test(test_globals_anywhere),
        cmocka_unit_test(test_help_lists_every_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
