/* test_report.c: the report (Markdown and HTML) carries the numbers of the fixture HDF5 files, links
 * only figures that exist, lists what is missing; and the experiment summary and list readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_export_fixture.h"

#include <sys/wait.h>

static void test_summary_load(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = fx_experiment(root, "tiny", &x);
    xai_exp_summary s;
    assert_int_equal(xai_exp_summary_load(&s, dir), XAI_OK);
    assert_string_equal(s.name, "tiny");
    assert_string_equal(s.dataset, "tiny");
    assert_true(s.has_model && s.has_train && s.has_attr && s.has_metrics);
    assert_int_equal(s.input_shape[0], 1);
    assert_int_equal(s.input_shape[2], FX_S);
    assert_int_equal(s.nclasses, FX_K);
    assert_string_equal(s.layers_text, "flatten\nlinear out=3\n");
    assert_true(s.test_acc == x.test_acc);
    assert_int_equal(s.hist_rows, FX_EPOCHS);
    assert_int_equal(s.hist_cols, 7);
    assert_true(s.history[1 * 7 + 2] == 0.5);
    assert_int_equal(s.n_images, FX_N);
    assert_int_equal(s.flip_steps, FX_STEPS);
    assert_true(s.random_aopc == x.random_aopc);
    /* Display order: IG, then LRP, then the rest. */
    assert_int_equal(s.nmethods, 3);
    assert_string_equal(s.methods[0].name, "ig");
    assert_string_equal(s.methods[1].name, "lrp-epsilon");
    assert_string_equal(s.methods[2].name, "gradient");
    assert_true(s.methods[1].aopc_morf == x.aopc_morf[1]);
    assert_true(s.methods[0].sec_per_attr == x.sec_per_attr[0]);
    /* |delta| = {0.1, 0.2, 0.3, 0.5, 0.2, 0.4}: median 0.25, max 0.5. */
    assert_true(fabs(s.methods[0].delta_median - 0.25) < 1e-12);
    assert_true(s.methods[0].delta_max == 0.5);
    assert_true(fabs(s.methods[1].delta_median - 0.015) < 1e-12);
    assert_true(isnan(s.methods[2].delta_median));
    assert_int_equal(s.nig, 1);
    assert_int_equal(s.ig[0].nrules, 2);
    assert_string_equal(s.ig[0].rule[0], "left");
    assert_int_equal(s.ig[0].steps[2], 64);
    /* The exact-IG reference: left is never within 1 %, gauss reaches it at 20 steps. */
    assert_true(s.ig[0].exact && s.ig[0].exact_n == FX_N);
    assert_true(isinf(s.ig[0].steps_1pct[0]) && s.ig[0].steps_1pct[1] == 20);
    assert_true(s.ig[0].order[0] == 1 && s.ig[0].map_median[0] == 1 && s.ig[0].map_p90[3 + 2] == 1.5 * 0.2 / 64);
    assert_true(s.ig[0].regions_median == 37 && !s.ig[0].check_run);
    assert_int_equal(s.notes.n, 0);
    assert_int_equal(s.stats.nmetrics, 2);
    assert_int_equal(s.stats.k, 3);
    assert_string_equal(s.stats.methods[1], "lrp-epsilon");
    assert_string_equal(s.stats.m[0].letters[0], "ab");
    assert_true(s.stats.m[1].higher_better == 0 && s.stats.tau[1] == -1.0 / 3);
    xai_exp_summary_free(&s);
    /* A missing directory is an error; a missing file only a note. */
    char *nodir = xai_path_join(root, "nothere");
    assert_int_equal(xai_exp_summary_load(&s, nodir), XAI_ENOTFOUND);
    xai_exp_summary_free(&s);
    char *mp = xai_path_join(dir, "metrics.h5");
    unlink(mp);
    assert_int_equal(xai_exp_summary_load(&s, dir), XAI_OK);
    assert_false(s.has_metrics);
    assert_true(isnan(s.methods[0].aopc_morf));
    assert_non_null(strstr(s.notes.s, "metrics.h5: missing"));
    xai_exp_summary_free(&s);
    free(mp);
    free(nodir);
    free(dir);
    fx_rmtree(root);
    free(root);
}

static void test_exp_list(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    const char *made[] = {"zeta", "mnist", "imagewoof", "fashion-mnist"};
    for (int i = 0; i < 4; i++) {
        char *d = xai_path_join(root, made[i]);
        assert_int_equal(xai_mkdirs(d), XAI_OK);
        fx_model(d, &x, 0);
        free(d);
    }
    char *empty = xai_path_join(root, "plot");
    assert_int_equal(xai_mkdirs(empty), XAI_OK);
    char **names;
    int n;
    assert_int_equal(xai_exp_list(root, &names, &n), XAI_OK);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "mnist");
    assert_string_equal(names[1], "fashion-mnist");
    assert_string_equal(names[2], "imagewoof");
    assert_string_equal(names[3], "zeta");
    xai_exp_list_free(names, n);
    free(empty);
    fx_rmtree(root);
    free(root);
}

/* A third metric in an experiment's /stats: ROAD MoRF, whose ranking reverses AOPC MoRF's (tau -1). */
static void add_road_stats(const char *dir)
{
    char *path = xai_path_join(dir, "metrics.h5");
    hid_t f;
    assert_int_equal(xai_h5_open(&f, path, 1), XAI_OK);
    hid_t st = H5Gopen2(f, "/stats", H5P_DEFAULT);
    const double mean[3] = {0.000123, 0.0456, 7.89}, rank[3] = {2, 3, 1};
    fx_metric_stats(st, "road_morf_auc_prob", mean, rank, "a,b,c", 0);
    assert_int_equal(xai_h5_attr_str(st, "metrics", "pf_aopc_morf,completeness_error,road_morf_auc_prob"), XAI_OK);
    assert_true(H5Ldelete(st, "kendall_tau", H5P_DEFAULT) >= 0);
    const double tau[9] = {1, -1.0 / 3, -1, -1.0 / 3, 1, 1.0 / 3, -1, 1.0 / 3, 1};
    const uint64_t d2[2] = {3, 3};
    assert_int_equal(xai_h5_write(st, "kendall_tau", H5T_NATIVE_DOUBLE, tau, 2, d2), XAI_OK);
    H5Gclose(st);
    H5Fclose(f);
    free(path);
}

static void test_report_numbers(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 3);
    char *a = fx_experiment(root, "alpha", &x);
    fx_defaults(&x, 1);
    x.test_acc = 0.8125;
    x.sec_per_attr[1] = 0.0321;
    char *b = fx_experiment(root, "beta", &x);
    /* beta has no metrics file; alpha has one rendered figure and a provenance record. */
    char *mp = xai_path_join(b, "metrics.h5");
    unlink(mp);
    char *figs = xai_path_join(a, "figures");
    assert_int_equal(xai_mkdirs(figs), XAI_OK);
    char *png = xai_path_join(figs, "heatmaps.png");
    assert_int_equal(xai_write_file_atomic(png, "\x89PNG\r\n\x1a\n", 8), XAI_OK);
    char *prov = xai_path_join(root, "provenance.json");
    assert_int_equal(xai_write_file_atomic(prov, "{\"cpu\": \"Test CPU <fast>\"}\n", 27), XAI_OK);
    /* alpha's confound evaluation: the same scores under the same reference rank the same; ROAD's
     * imputation, the third reference, reverses the ranking. */
    add_road_stats(a);
    char *ma = xai_path_join(a, "metrics.h5"), *mc = xai_path_join(a, "metrics-confound.h5"), *mtext = NULL;
    size_t mlen = 0;
    assert_int_equal(xai_read_file(ma, &mtext, &mlen), XAI_OK);
    assert_int_equal(xai_write_file_atomic(mc, mtext, mlen), XAI_OK);
    free(mtext), free(ma), free(mc);
    const char *exps[2] = {"alpha", "beta"};
    assert_int_equal(xai_report_write(root, exps, 2), XAI_OK);
    char *md = fx_read(root, "report.md"), *html = fx_read(root, "report.html");
    assert_non_null(md);
    assert_non_null(html);
    const char *both[] = {
        "97.50 %", "81.25 %", "96.25 %",          /* test accuracies, validation */
        "0.412 ± 0.013",                          /* AOPC MoRF of ig, alpha */
        "0.538 ± 0.013", "0.017 ± 0.013",         /* lrp-epsilon MoRF, LeRF */
        "0.205 ± 0.011",                          /* random control */
        "2.5 ± 0.1",                              /* ABPC: significant digits, not fixed decimals */
        "| 0.00123 |", "| 0.0456 |",              /* completeness median, p90 of ig */
        "| 12.3 |", "| 32.1 |", "| 0.45 |",       /* ms per attribution */
        "900 / 100 / 200", "3×4×4", "1×4×4", "adam", "cosine",
        "linear out=3", "| 0.0312 |",             /* architecture, IG step table (0.5 / 16) */
        "alpha/figures/heatmaps.png", "Test CPU",
        "IG map error against exact IG (ig)", "37 linear regions per image (median, max 81)",
        "Observed convergence order of the map error", "left 1.00, gauss 1.00",
        "Steps for 1 % map error: left ",
        "beta/metrics.h5: missing",
        "most faithful: statistics", "0.538 [0.488, 0.588] a", /* lrp-epsilon first: rank 1 */
        "0.301 [0.251, 0.351] b", "-0.33",        /* gradient; Kendall tau */
        "| AOPC MoRF, zero removal | AOPC MoRF, zero removal | ROAD MoRF AUC, imputation |", /* side by side */
        "| lrp-epsilon | 1 (0.538, a) | 1 (0.538, a) | 3 (0.0456, b) |", /* rank (mean, letters) */
        "| gradient | 3 (0.301, b) | 3 (0.301, b) | 1 (7.89, c) |",
        "| 0.000123 [-0.04988, 0.05012] a |",      /* ROAD's own table: significant digits */
        "most relevant first (AOPC MoRF, ROAD MoRF AUC): zero vs zero 1.00, zero vs ROAD imputation -1.00, "
        "zero vs ROAD imputation -1.00.",
    };
    for (size_t i = 0; i < sizeof both / sizeof *both; i++) {
        if (!strstr(md, both[i])) fprintf(stderr, "report.md lacks '%s'\n", both[i]);
        assert_non_null(strstr(md, both[i]));
        if (both[i][0] == '|') continue; /* a Markdown row */
        if (!strstr(html, both[i])) fprintf(stderr, "report.html lacks '%s'\n", both[i]);
        assert_non_null(strstr(html, both[i]));
    }
    assert_non_null(strstr(md, "map error: left > 64, gauss 20."));
    assert_non_null(strstr(html, "map error: left &gt; 64, gauss 20."));
    /* beta's scores are not in any file: shown as absent, never made up. */
    assert_non_null(strstr(md, "| ig | ig | – | – | – | – | – | – | 0.25 | 0.5 | 12.3 |"));
    /* Results first: accuracy, scores, figures; then setup, architectures and provenance. */
    const char *order[] = {"\n## Accuracy", "\n## Attribution quality", "\n## Figures", "\n## Missing data",
                           "\n## Setup", "\n### Architectures", "\n### Provenance", "Test CPU"};
    for (size_t i = 1; i < sizeof order / sizeof *order; i++) {
        assert_non_null(strstr(md, order[i]));
        assert_true(strstr(md, order[i - 1]) < strstr(md, order[i]));
    }
    assert_non_null(strstr(html, "<details>\n<summary><h3>Architectures</h3></summary>"));
    /* Columns: method names left-aligned text, scores right-aligned numbers that do not wrap. */
    assert_non_null(strstr(md, "| method | kind | AOPC MoRF |"));
    assert_non_null(strstr(md, "| :--- | :--- | ---: | ---: |"));
    assert_non_null(strstr(html, "<td>lrp-epsilon</td>"));
    assert_non_null(strstr(html, "<td class=\"num\">0.538 ± 0.013</td>"));
    assert_non_null(strstr(html, "td.num{text-align:right;white-space:nowrap"));
    /* Not the quick profile: no smoke-test banner; the layout README named where it is. */
    assert_null(strstr(md, "Smoke test"));
    assert_non_null(strstr(md, "layout in results/README.md of the source tree"));
    /* Figures that were not rendered are not linked. */
    assert_null(strstr(md, "alpha/figures/pixelflip.png"));
    assert_null(strstr(md, "figures/aopc.png"));
    assert_non_null(strstr(md, "![Figure 1. alpha: test images"));
    /* HTML is one self-contained page: inline style, escaped text. */
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<style>"));
    assert_non_null(strstr(html, "<img src=\"alpha/figures/heatmaps.png\""));
    assert_non_null(strstr(html, "Test CPU &lt;fast&gt;"));
    assert_null(strstr(html, "<fast>"));
    assert_non_null(strstr(html, "</html>\n"));
    free(md);
    free(html);
    /* The quick profile's report says so at the top; a README.md in the root is named. */
    assert_int_equal(xai_write_file_atomic(prov, "{\"profile\": \"quick\"}\n", 21), XAI_OK);
    char *readme = xai_path_join(root, "README.md");
    assert_int_equal(xai_write_file_atomic(readme, "# results\n", 10), XAI_OK);
    assert_int_equal(xai_report_write(root, exps, 2), XAI_OK);
    md = fx_read(root, "report.md"), html = fx_read(root, "report.html");
    assert_non_null(strstr(md, "> **Smoke test: these results come from the quick profile"));
    assert_true(strstr(html, "class=\"banner\"") < strstr(html, "<h2>Accuracy</h2>"));
    assert_non_null(strstr(md, "layout in README.md there"));
    free(md);
    free(html);
    free(readme);
    /* Bad input: an experiment directory that is not there. */
    const char *bad[1] = {"gamma"};
    assert_int_equal(xai_report_write(root, bad, 1), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "gamma"));
    assert_int_equal(xai_report_write(root, exps, 0), XAI_EINVAL);
    free(prov);
    free(png);
    free(figs);
    free(mp);
    free(a);
    free(b);
    fx_rmtree(root);
    free(root);
}

/* A white 1x1 greyscale PNG: a figure a browser decodes. */
static const char PNG1[] = "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00"
                           "\x00\x00\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55\x00\x00\x00\x0a\x49\x44\x41\x54\x78"
                           "\x9c\x63\xf8\x0f\x00\x01\x01\x01\x00\xb1\x38\xf6\x14\x00\x00\x00\x00\x49\x45\x4e\x44"
                           "\xae\x42\x60\x82";

#if defined(__SANITIZE_ADDRESS__)
#define XAI_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XAI_TEST_SANITIZED 1
#endif
#endif

/* The fixture report in headless Chromium (tests/render_report.sh): it loads without console
 * messages and every figure it references exists. Skipped without Chromium, and under the
 * sanitizers, where it would only render the same page again. */
static void test_report_renders(void **state)
{
    (void)state;
#ifdef XAI_TEST_SANITIZED
    skip();
#endif
    const char *src = getenv("XAI_SOURCE_DIR");
    if (!src) skip();
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 3);
    char *a = fx_experiment(root, "alpha", &x);
    char *figs = xai_path_join(a, "figures");
    assert_int_equal(xai_mkdirs(figs), XAI_OK);
    const char *names[] = {"heatmaps.png", "pixelflip.png", "training.png"};
    for (int i = 0; i < 3; i++) {
        char *png = xai_path_join(figs, names[i]);
        assert_int_equal(xai_write_file_atomic(png, PNG1, sizeof PNG1 - 1), XAI_OK);
        free(png);
    }
    const char *exps[1] = {"alpha"};
    assert_int_equal(xai_report_write(root, exps, 1), XAI_OK);
    xai_sbuf cmd = {0};
    xai_sbuf_printf(&cmd, "bash '%s/tests/render_report.sh' '%s/report.html'", src, root);
    int rc = system(cmd.s);
    xai_sbuf_free(&cmd);
    free(figs);
    free(a);
    fx_rmtree(root);
    free(root);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) skip();
    assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_load),
        cmocka_unit_test(test_exp_list),
        cmocka_unit_test(test_report_numbers),
        cmocka_unit_test(test_report_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
