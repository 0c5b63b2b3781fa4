/* test_export.c: `xai export` data files from fixture experiments in the documented HDF5 layouts,
 * tolerance of missing files, atomicity on bad input, and the gnuplot step (missing and present). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "experiments/commands.h"
#include "test_export_fixture.h"

/* Parses a matrix file (comment lines skipped) into v; returns the number of values. */
static int read_matrix(const char *text, double *v, int cap, int *rows)
{
    int n = 0;
    *rows = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        if (*line != '#' && *line != '\n') {
            (*rows)++;
            const char *p = line;
            char *end;
            for (;;) {
                double x = strtod(p, &end);
                if (end == p || (nl && end > nl)) break;
                if (n < cap) v[n] = x;
                n++;
                p = end;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static void check_heatmap(const char *plot, const char *file, double sign)
{
    char *t = fx_read(plot, file);
    assert_non_null(t);
    double v[64];
    int rows, n = read_matrix(t, v, 64, &rows);
    assert_int_equal(rows, FX_S);
    assert_int_equal(n, FX_S * FX_S);
    double mx = 0;
    for (int p = 0; p < 16; p++) {
        /* channel sum (p - 5) * scale, divided by its max |.| = 10 |scale| */
        assert_true(fabs(v[p] - sign * (p - 5) / 10.0) < 1e-6);
        if (fabs(v[p]) > mx) mx = fabs(v[p]);
    }
    assert_true(mx == 1.0);
    free(t);
}

static void export_values(int channels)
{
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, channels);
    char *dir = fx_experiment(root, "tiny", &x);
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, NULL), XAI_OK);
    char *plot = xai_path_join(dir, "plot");
    const char *files[] = {"meta.gp", "done", "examples.tsv", "heatmap_scale.tsv", "pixelflip.dat",
                           "ig_completeness.dat", "aopc.tsv", "runtime.tsv", "training.dat"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) assert_true(fx_exists(plot, files[i]));
    /* 3 correct + 2 wrong rows, columns IG and LRP only (gradient is not in the default grid). */
    for (int r = 1; r <= 5; r++) {
        char f[64];
        snprintf(f, sizeof f, "input_%d.dat", r);
        assert_true(fx_exists(plot, f));
        snprintf(f, sizeof f, "heatmap_%d_ig.dat", r);
        assert_true(fx_exists(plot, f));
        snprintf(f, sizeof f, "heatmap_%d_lrp-epsilon.dat", r);
        assert_true(fx_exists(plot, f));
        snprintf(f, sizeof f, "heatmap_%d_gradient.dat", r);
        assert_false(fx_exists(plot, f));
    }
    assert_false(fx_exists(plot, "input_6.dat"));
    check_heatmap(plot, "heatmap_1_ig.dat", 1);
    check_heatmap(plot, "heatmap_5_ig.dat", 1);
    check_heatmap(plot, "heatmap_2_lrp-epsilon.dat", -1);

    char *meta = fx_read(plot, "meta.gp");
    assert_non_null(strstr(meta, "n_rows = 5\n"));
    assert_non_null(strstr(meta, "n_maps = 2\n"));
    assert_non_null(strstr(meta, "map_name[1] = 'ig'\n"));
    assert_non_null(strstr(meta, "map_name[2] = 'lrp-epsilon'\n"));
    assert_non_null(strstr(meta, "row_ok[3] = 1\nrow_ok[4] = 0\nrow_ok[5] = 0\n"));
    assert_non_null(strstr(meta, "have_pixelflip = 1\nn_curves = 4\n"));
    assert_non_null(strstr(meta, "curve_name[1] = 'random'\n"));
    assert_non_null(strstr(meta, "have_ig_steps = 1\nn_rules = 2\n"));
    assert_non_null(strstr(meta, "rule_name[1] = 'left'\nrule_name[2] = 'gauss'\n"));
    assert_non_null(strstr(meta, "have_ig_exact = 1\nig_exact_images = 6\narray rule_order[2]\nrule_order[1] = 1\n"));
    assert_non_null(strstr(meta, "n_metrics = 2\nagreement_methods = 3\n"));
    assert_non_null(strstr(meta, "have_training = 1\nn_epochs = 3\ncol_epoch = 1\ncol_train_loss = 3\ncol_val_loss = 5\n"));
    /* The same method has the same colour in every figure. */
    char want[96];
    snprintf(want, sizeof want, "curve_color[2] = '%s'\n", xai_method_color("ig"));
    assert_non_null(strstr(meta, want));
    free(meta);

    /* Rows: images 0, 1, 2 (correct) and 4, 5 (wrong), labels by index without a dataset cache. */
    char *ex = fx_read(plot, "examples.tsv");
    assert_non_null(strstr(ex, "\n1\t0\t100\t0\t0\t1\t0\t0\n"));
    assert_non_null(strstr(ex, "\n3\t2\t102\t2\t2\t1\t2\t2\n"));
    assert_non_null(strstr(ex, "\n4\t4\t104\t1\t2\t0\t1\t2\n"));
    assert_non_null(strstr(ex, "\n5\t5\t105\t2\t0\t0\t2\t0\n"));
    free(ex);
    /* The normaliser of row 2 (image 1, scale 2 * 2 = 4): max |R| = 40. */
    char *sc = fx_read(plot, "heatmap_scale.tsv");
    assert_non_null(strstr(sc, "\n2\tig\t40\t"));
    free(sc);

    /* Input pixels: x * std + mean recovers v = (p + i) % 16 / 15 in 0-255; grey copies channel 0. */
    char *in = fx_read(plot, "input_1.dat");
    assert_non_null(strstr(in, "\n3 3 255 255 255\n"));
    assert_non_null(strstr(in, "\n1 0 17 17 17\n"));
    free(in);

    /* Pixel flipping: block 0 the random control, then ig: k = 1 is 5 - 0.8, stderr 0.02. */
    char *pf = fx_read(plot, "pixelflip.dat");
    assert_non_null(strstr(pf, "# random order (control)\n0 5 0.01 5 0.01\n0.125 4.7 0.02 4.7 0.02\n"));
    assert_non_null(strstr(pf, "# ig\n0 5 0.01 5 0.01\n0.125 4.2 0.02 4.95 0.02\n"));
    free(pf);
    char *ig = fx_read(plot, "ig_completeness.dat");
    assert_non_null(strstr(ig, "4 0.125 0.25\n16 0.03125 0.0625\n"));   /* left: 0.5 / steps */
    assert_non_null(strstr(ig, "4 0.0125 0.025\n16 0.003125 0.00625\n")); /* gauss: 0.05 / steps */
    free(ig);
    /* Against exact IG: the map error in the same blocks, and each rule's order and steps for 1 %. */
    char *me = fx_read(plot, "ig_map_error.dat");
    assert_non_null(strstr(me, "# left (method ig, baseline black)\n4 1 1.5\n16 0.25 0.375\n64 0.0625 0.09375\n"));
    assert_non_null(strstr(me, "# gauss (method ig, baseline black)\n4 0.05 0.075\n"));
    free(me);
    char *cv = fx_read(plot, "ig_convergence.tsv");
    assert_non_null(strstr(cv, "\nig\tleft\t1\tinf\t64\n"));
    assert_non_null(strstr(cv, "\nig\tgauss\t1\t20\t64\n"));
    free(cv);
    char *tr = fx_read(plot, "training.dat");
    assert_non_null(strstr(tr, "# columns: epoch lr train_loss train_acc val_loss val_acc seconds\n"));
    assert_non_null(strstr(tr, "\n2 0.01 0.5 0.85 0.6 0.84 11\n"));
    free(tr);
    char *ao = fx_read(plot, "aopc.tsv");
    assert_non_null(strstr(ao, "\nrandom\tcontrol\t0.205\t0.011\t0.205\t0.011\tNaN\tNaN\n"));
    assert_non_null(strstr(ao, "\nlrp-epsilon\tlrp\t0.538\t0.013\t0.017\t0.013\t2.5\t0.1\n"));
    free(ao);
    char *rt = fx_read(plot, "runtime.tsv");
    assert_non_null(strstr(rt, "\nig\tig\t0.0123\t12.3\n"));
    free(rt);

    /* Exporting again replaces the directory: no stale files from a bigger export survive. */
    xai_export_opts o;
    xai_export_defaults(&o);
    o.n_correct = 1, o.n_wrong = 0;
    const char *only[1] = {"gradient"};
    o.methods = only, o.nmethods = 1;
    assert_int_equal(xai_export_experiment(dir, NULL, &o, NULL), XAI_OK);
    assert_true(fx_exists(plot, "heatmap_1_gradient.dat"));
    assert_false(fx_exists(plot, "heatmap_1_ig.dat"));
    assert_false(fx_exists(plot, "input_2.dat"));
    /* A method that is not in the file is an error naming it; the last good export stays. */
    only[0] = "lrp-gamma";
    assert_int_equal(xai_export_experiment(dir, NULL, &o, NULL), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "lrp-gamma"));
    assert_true(fx_exists(plot, "heatmap_1_gradient.dat"));

    free(plot);
    free(dir);
    fx_rmtree(root);
    free(root);
}

static void test_export_grey(void **state)
{
    (void)state;
    export_values(1);
}

static void test_export_rgb(void **state)
{
    (void)state;
    export_values(3);
}

/* Missing files skip what needs them; only the model is enough for the training curves. */
static void test_export_tolerant(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = xai_path_join(root, "partial");
    assert_int_equal(xai_mkdirs(dir), XAI_OK);
    /* Nothing at all: an error that says what is expected. */
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, NULL), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "model.h5"));
    fx_model(dir, &x, 1);
    FILE *log = tmpfile();
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, log), XAI_OK);
    char *plot = xai_path_join(dir, "plot");
    assert_true(fx_exists(plot, "training.dat"));
    assert_false(fx_exists(plot, "pixelflip.dat"));
    assert_false(fx_exists(plot, "input_1.dat"));
    assert_false(fx_exists(plot, "ig_completeness.dat"));
    char *meta = fx_read(plot, "meta.gp");
    assert_non_null(strstr(meta, "have_heatmaps = 0\n"));
    assert_non_null(strstr(meta, "have_pixelflip = 0\n"));
    assert_non_null(strstr(meta, "have_ig_steps = 0\n"));
    assert_non_null(strstr(meta, "have_ig_exact = 0\n"));
    assert_false(fx_exists(plot, "ig_map_error.dat"));
    free(meta);
    /* The notes say what was skipped and why. */
    char buf[2048] = "";
    rewind(log);
    size_t n = fread(buf, 1, sizeof buf - 1, log);
    buf[n] = 0;
    fclose(log);
    assert_non_null(strstr(buf, "attributions.h5 missing"));
    assert_non_null(strstr(buf, "metrics.h5 missing"));
    /* Model without /train: no curves, still fine. */
    char *mp = xai_path_join(dir, "model.h5");
    unlink(mp);
    fx_model(dir, &x, 0);
    fx_attributions(dir, &x);
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, NULL), XAI_OK);
    assert_false(fx_exists(plot, "training.dat"));
    assert_true(fx_exists(plot, "heatmap_5_lrp-epsilon.dat"));
    free(mp);
    free(plot);
    free(dir);
    fx_rmtree(root);
    free(root);
}

/* A corrupt file is an error naming it, and the previous export is left untouched. */
static void test_export_corrupt(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = fx_experiment(root, "tiny", &x);
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, NULL), XAI_OK);
    char *ap = xai_path_join(dir, "attributions.h5");
    assert_int_equal(xai_write_file_atomic(ap, "not hdf5", 8), XAI_OK);
    assert_int_equal(xai_export_experiment(dir, NULL, NULL, NULL), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "attributions.h5"));
    char *plot = xai_path_join(dir, "plot");
    assert_true(fx_exists(plot, "heatmap_1_ig.dat"));
    assert_true(fx_exists(plot, "done"));
    /* No temporary directory is left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
    free(plot);
    free(ap);
    free(dir);
    fx_rmtree(root);
    free(root);
}

/* Renames method `from` to `to` in an experiment's attribution and metrics files. */
static void rename_method(const char *dir, const char *from, const char *to)
{
    const char *files[2] = {"attributions.h5", "metrics.h5"}, *groups[2] = {"/attributions/", "/methods/"};
    for (int i = 0; i < 2; i++) {
        char *path = xai_path_join(dir, files[i]), a[128], b[128];
        hid_t f;
        assert_int_equal(xai_h5_open(&f, path, 1), XAI_OK);
        snprintf(a, sizeof a, "%s%s", groups[i], from);
        snprintf(b, sizeof b, "%s%s", groups[i], to);
        assert_true(H5Lmove(f, a, f, b, H5P_DEFAULT, H5P_DEFAULT) >= 0);
        H5Fclose(f);
        free(path);
    }
}

/* The cross-dataset data keep a method called "random" beside the random-order control, which
 * is named "random" too (the method was once dropped as the control's namesake). */
static void test_cross_random_method(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = fx_experiment(root, "tiny", &x);
    rename_method(dir, "gradient", "random");
    const char *exps[1] = {"tiny"};
    assert_int_equal(xai_export_cross(root, exps, 1, NULL), XAI_OK);
    char *plot = xai_path_join(root, "plot");
    char *meta = fx_read(plot, "meta.gp");
    assert_non_null(meta);
    assert_non_null(strstr(meta, "n_methods = 4\n"));
    assert_non_null(strstr(meta, "method_name[1] = 'random'\n"));
    assert_non_null(strstr(meta, "method_name[4] = 'random'\n"));
    free(meta);
    /* Its AOPC (the fixture's gradient: 0.301 MoRF, 0.044 LeRF) after the control's 0.205, and its time. */
    char *ao = fx_read(plot, "aopc.dat"), *rt = fx_read(plot, "runtime.dat");
    assert_non_null(strstr(ao, " random:morf random:morf_se random:lerf random:lerf_se\n"));
    assert_non_null(strstr(ao, "\n\"tiny (n = 6)\" 0.205 0.011 0.205 0.011 "));
    assert_non_null(strstr(ao, " 0.301 0.013 0.044 0.013\n"));
    assert_non_null(strstr(rt, " 0.2\n"));
    free(ao);
    free(rt);
    free(plot);
    free(dir);
    fx_rmtree(root);
    free(root);
}

static void test_method_colors(void **state)
{
    (void)state;
    assert_string_equal(xai_method_color("lrp-epsilon"), xai_method_color("epsilon"));
    assert_string_not_equal(xai_method_color("ig"), xai_method_color("lrp-epsilon"));
    assert_string_equal(xai_method_color("random"), "#7f7f7f");
    const char *c = xai_method_color("ig:rule=left:steps=16");
    assert_int_equal(strlen(c), 7);
    assert_string_equal(c, xai_method_color("ig:rule=left:steps=16"));
}

/* Without gnuplot the figure step fails up front, says what to install, and writes nothing. */
static void test_gnuplot_missing(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = fx_experiment(root, "tiny", &x);
    char *old = getenv("PATH") ? xai_strdup(getenv("PATH")) : NULL;
    char *oldgp = getenv("XAI_GNUPLOT") ? xai_strdup(getenv("XAI_GNUPLOT")) : NULL;
    unsetenv("XAI_GNUPLOT");
    setenv("PATH", root, 1);
    char path[256];
    assert_int_equal(xai_gnuplot_find(path, sizeof path), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "gnuplot-nox"));
    assert_int_equal(xai_figures_experiment(dir, NULL, NULL), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "apt-get install gnuplot-nox"));
    assert_false(fx_exists(dir, "figures"));
    const char *exps[1] = {"tiny"};
    assert_int_equal(xai_figures_all(root, exps, 1, NULL, NULL, NULL), XAI_ENOTFOUND);
    setenv("XAI_GNUPLOT", "/nonexistent/gnuplot", 1);
    assert_int_equal(xai_gnuplot_find(path, sizeof path), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "XAI_GNUPLOT"));
    unsetenv("XAI_GNUPLOT");
    if (old) setenv("PATH", old, 1);
    if (oldgp) setenv("XAI_GNUPLOT", oldgp, 1);
    free(old);
    free(oldgp);
    free(dir);
    fx_rmtree(root);
    free(root);
}

static int is_png(const char *dir, const char *name)
{
    char *p = xai_path_join(dir, name), *t = NULL;
    size_t n = 0;
    int ok = xai_read_file(p, &t, &n) == XAI_OK && n > 8 && !memcmp(t, "\x89PNG\r\n\x1a\n", 8);
    free(t);
    free(p);
    return ok;
}

/* One small real render of every figure (skipped where gnuplot is not installed). */
static void test_render(void **state)
{
    (void)state;
    char gp[1024];
    if (xai_gnuplot_find(gp, sizeof gp) != XAI_OK) skip();
    const char *src = getenv("XAI_SOURCE_DIR");
    char *paper = src ? xai_path_join(src, "paper") : xai_strdup(xai_paper_dir());
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 3);
    char *a = fx_experiment(root, "alpha", &x);
    fx_defaults(&x, 1);
    x.aopc_morf[0] = 0.6;
    char *b = fx_experiment(root, "beta", &x);
    const char *exps[2] = {"alpha", "beta"};
    FILE *log = tmpfile();
    xai_status st = xai_figures_all(root, exps, 2, paper, NULL, log);
    if (st != XAI_OK) fprintf(stderr, "%s\n", xai_errmsg());
    assert_int_equal(st, XAI_OK);
    const char *figs[] = {"heatmaps", "pixelflip", "ig_completeness", "training"};
    char *fa = xai_path_join(a, "figures"), *fr = xai_path_join(root, "figures");
    for (int i = 0; i < 4; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s.png", figs[i]);
        assert_true(is_png(fa, n));
        snprintf(n, sizeof n, "%s.pdf", figs[i]);
        assert_true(fx_exists(fa, n));
    }
    assert_true(is_png(fr, "aopc.png"));
    assert_true(is_png(fr, "runtime.png"));
    assert_true(fx_exists(fr, "aopc.pdf"));
    /* One script by hand into a new directory; a script that fails names itself and gnuplot's complaint. */
    char *one = xai_path_join(root, "one"), *data = xai_path_join(b, "plot"), *script = xai_path_join(paper, "training.gp");
    assert_int_equal(xai_gnuplot_run(script, data, one, log), XAI_OK);
    assert_true(is_png(one, "training.png"));
    assert_true(fx_exists(one, "training.pdf"));
    char *bad = xai_path_join(root, "bad.gp");
    assert_int_equal(xai_write_file_atomic(bad, "plot sin(x) with nonsense\n", 26), XAI_OK);
    assert_int_equal(xai_gnuplot_run(bad, data, one, log), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "bad.gp: gnuplot failed"));
    free(bad);
    free(one);
    free(data);
    free(script);
    fclose(log);
    free(fa);
    free(fr);
    free(a);
    free(b);
    free(paper);
    fx_rmtree(root);
    free(root);
}

/* The command line: usage errors exit 2 with a message, a good run 0 and the files. */
static void test_cli(void **state)
{
    (void)state;
    char *root = fx_tmpdir();
    fx_numbers x;
    fx_defaults(&x, 1);
    char *dir = fx_experiment(root, "tiny", &x);
    char *out = xai_path_join(root, "out");
    char *a1[] = {"export", NULL};
    assert_int_equal(xai_cmd_export(1, a1), 2);
    char *a2[] = {"export", "--results", dir, "--correct", "x", NULL};
    assert_int_equal(xai_cmd_export(5, a2), 2);
    char *a3[] = {"export", "--bogus", NULL};
    assert_int_equal(xai_cmd_export(2, a3), 2);
    char *a4[] = {"export", "--results", root, NULL}; /* a directory without results */
    assert_int_equal(xai_cmd_export(3, a4), 1);
    char opt[512];
    snprintf(opt, sizeof opt, "--out=%s", out);
    char *a5[] = {"export", "--results", dir, opt, "--correct=2", "--wrong", "1", "--methods", "ig,gradient", NULL};
    FILE *saved = stdout;
    stdout = tmpfile(); /* "wrote ..." */
    int rc = xai_cmd_export(9, a5);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, 0);
    assert_true(fx_exists(out, "heatmap_3_gradient.dat"));
    assert_false(fx_exists(out, "heatmap_4_gradient.dat"));
    assert_false(fx_exists(out, "heatmap_1_lrp-epsilon.dat"));
    char *meta = fx_read(out, "meta.gp");
    assert_non_null(strstr(meta, "row_ok[2] = 1\nrow_ok[3] = 0\n"));
    free(meta);
    free(out);
    free(dir);
    fx_rmtree(root);
    free(root);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_grey),    cmocka_unit_test(test_export_rgb),
        cmocka_unit_test(test_export_tolerant), cmocka_unit_test(test_export_corrupt),
        cmocka_unit_test(test_method_colors),  cmocka_unit_test(test_gnuplot_missing),
        cmocka_unit_test(test_render),         cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cross_random_method),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
