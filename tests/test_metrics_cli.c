/* test_metrics_cli.c: `xai evaluate` end to end on a linear model and an attribution file written here,
 * whose scores are known: exact maps beat the random control, sums are exact, bad input leaves no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/h5.h"
#include "core/io.h"
#include "experiments/commands.h"
#include "explainers/evaluate.h"
#include "explainers/metricsfile.h"
#include "explainers/metrics.h"
#include "explainers/metricsfile.h"

#define N 12
#define K 3
static const xai_shape SHAPE = {1, 6, 6};
#define SIZE 36

static char dir[64];
static char model_path[128], other_path[128], attr_path[128];

static xai_model *linear(uint64_t seed)
{
    xai_layer_spec s[2];
    assert_int_equal(xai_layer_spec_parse(&s[0], "flatten", "test", 1), XAI_OK);
    assert_int_equal(xai_layer_spec_parse(&s[1], "linear out=3", "test", 2), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, s, 2, SHAPE, K, 16), XAI_OK);
    xai_model_init(m, seed);
    m->mean[0] = 0.1307f;
    m->std[0] = 0.3081f;
    return m;
}

static void put_method(hid_t f, const char *name, const char *kind, const float *a)
{
    uint64_t d[4] = {N, 1, 6, 6};
    char path[128];
    snprintf(path, sizeof path, "/attributions/%s", name);
    assert_int_equal(xai_h5_write_f32(f, path, a, 4, d), XAI_OK);
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    assert_int_equal(xai_h5_attr_str(ds, "kind", kind), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "method", name), XAI_OK);
    H5Dclose(ds);
}

/* The layout of explainers/README.md, written by hand: IG's exact map for a linear model with the
 * black baseline, gradient x input (exact conservation, no bias) and a random control map. */
static int setup(void **state)
{
    (void)state;
    xai_quiet = 1;
    snprintf(dir, sizeof dir, "/tmp/xai-metrics-cli-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(model_path, sizeof model_path, "%s/model.h5", dir);
    snprintf(other_path, sizeof other_path, "%s/other.h5", dir);
    snprintf(attr_path, sizeof attr_path, "%s/attributions.h5", dir);
    xai_model *m = linear(3), *o = linear(4);
    memset(m->layers[1].b, 0, K * sizeof(float));
    assert_int_equal(xai_model_save(m, model_path), XAI_OK);
    assert_int_equal(xai_model_save(o, other_path), XAI_OK);

    static float x[N * SIZE], logits[N * K], ig[N * SIZE], gxi[N * SIZE], rnd[N * SIZE];
    int32_t t[N], y[N];
    int64_t idx[N];
    double fb[N];
    xai_rng r;
    xai_rng_seed(&r, 8);
    for (int i = 0; i < N * SIZE; i++) x[i] = (xai_rng_uniform(&r) - m->mean[0]) / m->std[0];
    for (int i = 0; i < N * SIZE; i++) rnd[i] = 2 * xai_rng_uniform(&r) - 1;
    memcpy(logits, xai_model_forward(m, x, N), sizeof logits);
    float black = -m->mean[0] / m->std[0];
    for (int i = 0; i < N; i++) {
        t[i] = xai_model_argmax(logits + i * K, K);
        y[i] = i % K;
        idx[i] = 100 + i;
        const float *w = m->layers[1].w + (size_t)t[i] * SIZE;
        fb[i] = 0;
        for (int j = 0; j < SIZE; j++) {
            ig[i * SIZE + j] = w[j] * (x[i * SIZE + j] - black);
            gxi[i * SIZE + j] = w[j] * x[i * SIZE + j];
            fb[i] += (double)w[j] * black;
        }
    }
    xai_h5file f;
    assert_int_equal(xai_h5_create(&f, attr_path), XAI_OK);
    assert_int_equal(xai_h5_attr_str(f.id, "format", "xai-attributions-1"), XAI_OK); /* attrfile.c checks it */
    uint64_t d4[4] = {N, 1, 6, 6}, d1[1] = {N}, d2[2] = {N, K};
    assert_int_equal(xai_h5_write_f32(f.id, "/inputs", x, 4, d4), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/labels", H5T_NATIVE_INT32, y, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/targets", H5T_NATIVE_INT32, t, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/indices", H5T_NATIVE_INT64, idx, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write_f32(f.id, "/logits", logits, 2, d2), XAI_OK);
    put_method(f.id, "ig", "ig", ig);
    put_method(f.id, "gradient-x-input", "gradient-x-input", gxi);
    put_method(f.id, "random", "random", rnd);
    hid_t ds = H5Dopen2(f.id, "/attributions/ig", H5P_DEFAULT);
    xai_h5_attr_str(ds, "baseline", "black");
    xai_h5_attr_i64(ds, "steps", 4);
    H5Dclose(ds);
    assert_int_equal(xai_h5_write(f.id, "/ig/f_baseline/ig", H5T_NATIVE_DOUBLE, fb, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
    xai_model_free(m);
    xai_model_free(o);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    return 0;
}

static int run(const char *const *args)
{
    char *argv[64];
    int argc = 0;
    for (; args[argc]; argc++) argv[argc] = (char *)args[argc];
    argv[argc] = NULL;
    return xai_cmd_evaluate(argc, argv);
}

static double attr_of(hid_t f, const char *obj, const char *name)
{
    double v = NAN;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    assert_true(o >= 0);
    assert_int_equal(xai_h5_get_f64(o, name, &v), XAI_OK);
    H5Oclose(o);
    return v;
}

static int count_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

/* /stats: the random control ranks last under MoRF AOPC, apart from both methods; IG and
 * gradient x input agree on a linear model (the same map up to rounding: their order is rounding's). */
static void check_stats(hid_t f, const char *out)
{
    char methods[256] = "", letters[256] = "";
    hid_t g = H5Oopen(f, "/stats/pf_aopc_morf", H5P_DEFAULT);
    assert_true(g >= 0);
    assert_int_equal(xai_h5_get_str(g, "methods", methods, sizeof methods), XAI_OK);
    assert_int_equal(xai_h5_get_str(g, "letters", letters, sizeof letters), XAI_OK);
    H5Oclose(g);
    assert_string_equal(methods, "gradient-x-input,ig,random");
    double rank[3], tau[32 * 32];
    assert_int_equal(xai_h5_read(f, "/stats/pf_aopc_morf/rank", H5T_NATIVE_DOUBLE, rank, 1, NULL, out), XAI_OK);
    assert_float_equal(rank[0] + rank[1], 3, 0); /* the same map up to rounding: either order */
    assert_float_equal(rank[2], 3, 0);
    /* The random control shares no letter with either method (12 images, all in one direction). */
    const char *last = strrchr(letters, ',');
    assert_non_null(last);
    for (const char *p = last + 1; *p; p++) assert_true(!memchr(letters, *p, (size_t)(last - letters)));
    uint64_t d[8];
    assert_int_equal(xai_h5_dims(f, "/stats/kendall_tau", d), 2);
    assert_true(d[0] >= 4 && d[0] == d[1] && (int)d[0] <= xai_metric_nsources && d[0] <= 32);
    assert_int_equal(xai_h5_read(f, "/stats/kendall_tau", H5T_NATIVE_DOUBLE, tau, 2, NULL, out), XAI_OK);
    assert_float_equal(tau[0], 1, 1e-12);
}

static void test_evaluate_linear(void **state)
{
    (void)state;
    char out[160], csv[160];
    snprintf(out, sizeof out, "%s/metrics.h5", dir);
    snprintf(csv, sizeof csv, "%s/summary.csv", dir);
    const char *args[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--per-step", "1",
                          "--fraction", "1", "--batch", "7", "--sanity", "--sanity-n", "4", "--ig-curve", "yes",
                          "--ig-steps", "4,8", "--ig-rules=gauss,midpoint", "--summary", csv, "--label", "tiny", NULL};
    assert_int_equal(run(args), 0);
    hid_t f;
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK); /* default: metrics.h5 beside the attributions */
    assert_float_equal(attr_of(f, "/", "n_images"), N, 0);
    assert_float_equal(attr_of(f, "/", "steps"), SIZE, 0);
    double rnd = attr_of(f, "/random/logit", "aopc_mean");
    /* IG's map is exact for removal to black: its MoRF curve is the lowest any order reaches. */
    static float morf[N * (SIZE + 1)], rc[N * (SIZE + 1)];
    assert_int_equal(xai_h5_read(f, "/methods/ig/morf/logit/curves", H5T_NATIVE_FLOAT, morf, 2, NULL, out), XAI_OK);
    assert_int_equal(xai_h5_read(f, "/methods/ig/random/logit/curves", H5T_NATIVE_FLOAT, rc, 2, NULL, out), XAI_OK);
    for (int j = 0; j < N * (SIZE + 1); j++) assert_true(morf[j] <= rc[j] + 1e-4f);
    assert_true(attr_of(f, "/methods/ig/morf/logit", "aopc_mean") > rnd);
    assert_true(attr_of(f, "/methods/ig/vs_random/logit", "z") > 3);
    assert_true(attr_of(f, "/methods/ig/abpc/logit", "mean") > 0);
    /* Sums are exact on a linear model: IG against f(x) - f(black), gradient x input against f(x). */
    assert_true(attr_of(f, "/methods/ig/completeness", "p90") < 1e-5);
    assert_true(attr_of(f, "/methods/gradient-x-input/completeness", "p90") < 1e-5);
    assert_true(attr_of(f, "/methods/random/completeness", "median") > 0.01);
    assert_true(fabs(attr_of(f, "/methods/random/vs_random/logit", "z")) < 4);
    /* The metrics of faith.h ran by default: IG's sums over any subset set to black are the drops. */
    assert_float_equal(attr_of(f, "/methods/ig/faithfulness_correlation", "mean"), 1, 1e-4);
    assert_float_equal(attr_of(f, "/methods/ig/sensitivity_n/mean_over_n", "mean"), 1, 1e-4);
    assert_true(attr_of(f, "/methods/random/faithfulness_correlation", "mean") < 0.9);
    assert_true(attr_of(f, "/methods/ig/insertion/prob", "auc_mean") >
                attr_of(f, "/methods/random/insertion/prob", "auc_mean"));
    assert_true(attr_of(f, "/methods/ig/deletion/logit", "auc_mean") <
                attr_of(f, "/methods/random/deletion/logit", "auc_mean"));
    assert_true(attr_of(f, "/metric_info/road", "forward_images") > 0);
    assert_true(attr_of(f, "/metric_info/maxsens", "n_images") == N);
    /* Recomputed IG on the linear model is exact for every rule and step count. */
    double med[2];
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/gauss/median", H5T_NATIVE_DOUBLE, med, 1, NULL, out), XAI_OK);
    assert_true(med[0] < 1e-5 && med[1] < 1e-5);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/midpoint/median", H5T_NATIVE_DOUBLE, med, 1, NULL, out), XAI_OK);
    assert_true(med[0] < 1e-5 && med[1] < 1e-5);
    /* Randomisation: one parametrised layer, so two steps; the random control ignores the model. */
    int64_t layers[2];
    float sp[2 * 4];
    assert_int_equal(xai_h5_read(f, "/methods/random/sanity/layer", H5T_NATIVE_INT64, layers, 1, NULL, out), XAI_OK);
    assert_true(layers[0] == -1 && layers[1] == 1);
    assert_int_equal(xai_h5_read(f, "/methods/random/sanity/spearman", H5T_NATIVE_FLOAT, sp, 2, NULL, out), XAI_OK);
    for (int j = 0; j < 8; j++) assert_float_equal(sp[j], 1, 1e-6);
    assert_int_equal(xai_h5_read(f, "/methods/gradient-x-input/sanity/spearman", H5T_NATIVE_FLOAT, sp, 2, NULL, out),
                     XAI_OK);
    for (int j = 4; j < 8; j++) assert_true(sp[j] < 0.9f);
    check_stats(f, out);
    H5Fclose(f);
    /* The cascade as the figure reads it: the random control never changes (similarity 1). */
    double *cl, *cm, *cs;
    int64_t sn = 0;
    assert_int_equal(xai_metricsfile_read_sanity(out, "random", &cl, &cm, &cs, &sn), 2);
    assert_int_equal(sn, 4);
    assert_true(cl[0] == -1 && cl[1] == 1);
    for (int k = 0; k < 4; k++) assert_float_equal(cm[k], 1, 1e-6);
    free(cl), free(cm), free(cs);
    assert_int_equal(xai_metricsfile_read_sanity(out, "nothere", &cl, &cm, &cs, NULL), 0);

    FILE *c = fopen(csv, "r");
    assert_non_null(c);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, c)) {
        if (lines == 0) assert_non_null(strstr(line, "label,method,aopc_morf,"));
        if (lines == 0) assert_non_null(strstr(line, ",completeness_p90,insertion_auc_prob,"));
        /* This file's writer did not track creation order: methods come by name. */
        if (lines == 1) assert_int_equal(strncmp(line, "tiny,gradient-x-input,", 22), 0);
        lines++;
    }
    fclose(c);
    assert_int_equal(lines, 4);

    /* A subset, patches that do not divide the image, blur, one method. */
    char out2[160];
    snprintf(out2, sizeof out2, "%s/m2.h5", dir);
    const char *args2[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--out", out2, "--n", "3",
                           "--patch", "4", "--perturb", "blur", "--steps", "3", "--methods", "gradient-x-input", NULL};
    assert_int_equal(run(args2), 0);
    assert_int_equal(xai_h5_open(&f, out2, 0), XAI_OK);
    assert_float_equal(attr_of(f, "/", "n_images"), 3, 0);
    assert_float_equal(attr_of(f, "/", "n_features"), 4, 0);
    assert_false(xai_h5_exists(f, "/methods/ig"));
    H5Fclose(f);
}

/* A model from layer specs on a (1, side, side) input, randomly initialised. */
static xai_model *model_of(const char *const *specs, int n, int side, uint64_t seed)
{
    xai_layer_spec s[8];
    for (int i = 0; i < n; i++) assert_int_equal(xai_layer_spec_parse(&s[i], specs[i], "test", i + 1), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_create(&m, s, n, (xai_shape){1, side, side}, K, 16), XAI_OK);
    xai_model_init(m, seed);
    m->mean[0] = 0.1307f;
    m->std[0] = 0.3081f;
    return m;
}

/* model.h5 and an attribution file for m: random images, their target logits, and an `ig` map
 * (its values do not matter for the step curve, which recomputes IG). */
static void write_fixture(xai_model *m, const char *model, const char *attr)
{
    const int side = m->in.h, size = side * side;
    assert_int_equal(xai_model_save(m, model), XAI_OK);
    float *x = xai_malloc((size_t)N * size * sizeof *x), *a = xai_malloc((size_t)N * size * sizeof *a);
    float logits[N * K];
    int32_t t[N];
    int64_t idx[N];
    xai_rng r;
    xai_rng_seed(&r, 11);
    for (int i = 0; i < N * size; i++) x[i] = (xai_rng_uniform(&r) - m->mean[0]) / m->std[0], a[i] = 0;
    memcpy(logits, xai_model_forward(m, x, N), sizeof logits);
    for (int i = 0; i < N; i++) t[i] = xai_model_argmax(logits + i * K, K), idx[i] = i;
    xai_h5file f;
    assert_int_equal(xai_h5_create(&f, attr), XAI_OK);
    assert_int_equal(xai_h5_attr_str(f.id, "format", "xai-attributions-1"), XAI_OK);
    uint64_t d4[4] = {N, 1, side, side}, d1[1] = {N}, d2[2] = {N, K};
    assert_int_equal(xai_h5_write_f32(f.id, "/inputs", x, 4, d4), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/labels", H5T_NATIVE_INT32, t, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/targets", H5T_NATIVE_INT32, t, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write(f.id, "/indices", H5T_NATIVE_INT64, idx, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_write_f32(f.id, "/logits", logits, 2, d2), XAI_OK);
    assert_int_equal(xai_h5_write_f32(f.id, "/attributions/ig", a, 4, d4), XAI_OK);
    hid_t ds = H5Dopen2(f.id, "/attributions/ig", H5P_DEFAULT);
    assert_int_equal(xai_h5_attr_str(ds, "kind", "ig"), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "method", "ig"), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "baseline", "black"), XAI_OK);
    H5Dclose(ds);
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
    free(x);
    free(a);
}

/* On a random ReLU net the IG step curve is measured against exact IG: the map error falls with the
 * steps, midpoint converges at order about 1, and the 4096-step check agrees with the fit, whether
 * 4096 is on the curve or a held-out run. */
static void test_evaluate_exact(void **state)
{
    (void)state;
    char model[160], attr[160], out[160];
    snprintf(model, sizeof model, "%s/relu.h5", dir);
    snprintf(attr, sizeof attr, "%s/relu_attr.h5", dir);
    snprintf(out, sizeof out, "%s/relu_metrics.h5", dir);
    const char *specs[] = {"conv out=4 k=3", "relu", "maxpool k=2", "flatten", "linear out=8", "relu", "linear out=3"};
    xai_model *m = model_of(specs, 7, 6, 5);
    write_fixture(m, model, attr);
    xai_model_free(m);
    const char *args[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                          "--ig-curve", "--ig-n", "6", "--ig-rules", "midpoint,left",
                          "--ig-steps", "16,32,64,128,256,512,1024,2048,4096", NULL};
    assert_int_equal(run(args), 0);
    hid_t f;
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    int64_t regions[6];
    double res[6], mid[9], left[9], err[9 * 6];
    assert_int_equal(xai_h5_read(f, "/ig_exact/ig/regions", H5T_NATIVE_INT64, regions, 1, NULL, out), XAI_OK);
    assert_int_equal(xai_h5_read(f, "/ig_exact/ig/residual", H5T_NATIVE_DOUBLE, res, 1, NULL, out), XAI_OK);
    for (int i = 0; i < 6; i++) assert_true(regions[i] >= 1 && res[i] < 1e-4);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/midpoint/map_median", H5T_NATIVE_DOUBLE, mid, 1, NULL, out), XAI_OK);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/left/map_median", H5T_NATIVE_DOUBLE, left, 1, NULL, out), XAI_OK);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/midpoint/map_error", H5T_NATIVE_DOUBLE, err, 2, NULL, out), XAI_OK);
    for (int k = 0; k < 9 * 6; k++) assert_true(err[k] >= 0 && err[k] < 1);
    for (int k = 0; k < 9; k++) assert_true(mid[k] > 0 && mid[k] < 0.5 && left[k] > 0);
    assert_true(mid[8] < mid[0] / 30 && left[8] < left[0] / 30); /* 256 times the steps */
    for (int k = 2; k < 9; k++) assert_true(mid[k] < mid[k - 2]);
    double order = attr_of(f, "/ig_steps/ig/midpoint", "order");
    assert_true(order > 0.6 && order < 1.6);
    assert_true(attr_of(f, "/ig_steps/ig/left", "order") > 0.6);
    double s1 = attr_of(f, "/ig_steps/ig/midpoint", "steps_1pct");
    assert_true(s1 >= 16 && (isinf(s1) || s1 <= 4096));
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_run"), 1, 0);
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_ok"), 1, 0);
    assert_float_equal(attr_of(f, "/ig_steps/ig", "exact"), 1, 0);
    const double measured = attr_of(f, "/ig_exact/ig", "check_measured");
    assert_float_equal(measured, mid[8], 0);
    H5Fclose(f);

    /* Without 4096 among the steps the check is a held-out run of its own: the same midpoint maps,
     * so the same measured error; --ig-check no leaves it out. */
    const char *held[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                          "--ig-curve", "--ig-n", "6", "--ig-rules", "midpoint", "--ig-steps", "16,64,256,1024",
                          NULL};
    assert_int_equal(run(held), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_run"), 1, 0);
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_measured"), measured, 0);
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_ok"), 1, 0);
    H5Fclose(f);
    const char *off[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                         "--ig-curve", "--ig-n", "2", "--ig-rules", "midpoint", "--ig-steps", "16,64",
                         "--ig-check", "no", NULL};
    assert_int_equal(run(off), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_run"), 0, 0);
    H5Fclose(f);

    /* --ig-exact-n 2 of 6: the reference and the map errors on the first two images only (the same
     * values as with all six), NaN past them; completeness on all six. 0: no reference. */
    const char *sub[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                         "--ig-curve", "--ig-n", "6", "--ig-rules", "midpoint,left", "--ig-exact-n", "2",
                         "--ig-steps", "16,32,64,128,256,512,1024,2048,4096", NULL};
    assert_int_equal(run(sub), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    double err2[9 * 6], rel2[9 * 6];
    int64_t regions2[2];
    assert_float_equal(attr_of(f, "/ig_exact/ig", "n_images"), 2, 0);
    assert_int_equal(xai_h5_read(f, "/ig_exact/ig/regions", H5T_NATIVE_INT64, regions2, 1, NULL, out), XAI_OK);
    assert_true(regions2[0] == regions[0] && regions2[1] == regions[1]);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/midpoint/map_error", H5T_NATIVE_DOUBLE, err2, 2, NULL, out), XAI_OK);
    assert_int_equal(xai_h5_read(f, "/ig_steps/ig/midpoint/rel_error", H5T_NATIVE_DOUBLE, rel2, 2, NULL, out), XAI_OK);
    for (int k = 0; k < 9; k++)
        for (int i = 0; i < 6; i++) {
            if (i < 2) assert_float_equal(err2[k * 6 + i], err[k * 6 + i], 0);
            else assert_true(isnan(err2[k * 6 + i]));
            assert_true(isfinite(rel2[k * 6 + i]));
        }
    assert_float_equal(attr_of(f, "/ig_exact/ig", "check_images"), 2, 0);
    H5Fclose(f);
    const char *none[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                          "--ig-curve", "--ig-n", "2", "--ig-steps", "4,8", "--ig-exact-n", "0", NULL};
    assert_int_equal(run(none), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_false(xai_h5_exists(f, "/ig_exact"));
    assert_float_equal(attr_of(f, "/ig_steps/ig", "exact"), 0, 0);
    assert_true(xai_h5_exists(f, "/ig_steps/ig/midpoint/median"));
    H5Fclose(f);

    /* A max pool wider than 8x8 is outside exact IG: the curve runs as before, without the reference. */
    const char *wide[] = {"maxpool k=9", "flatten", "linear out=3"};
    m = model_of(wide, 3, 10, 6);
    write_fixture(m, model, attr);
    xai_model_free(m);
    const char *args2[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                           "--ig-curve", "--ig-n", "2", "--ig-steps", "4,8", "--ig-rules", "midpoint", NULL};
    assert_int_equal(run(args2), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_true(xai_h5_exists(f, "/ig_steps/ig/midpoint/median"));
    assert_false(xai_h5_exists(f, "/ig_steps/ig/midpoint/map_median"));
    assert_false(xai_h5_exists(f, "/ig_exact"));
    assert_float_equal(attr_of(f, "/ig_steps/ig", "exact"), 0, 0);
    H5Fclose(f);
}

/* --ig-curve-methods: only the IG methods it names get a step curve (the experiments leave out
 * the blur baseline, whose exact path is costly); a name that is not an IG method of the file is
 * an error naming it, before any work, rather than a silent fallback to the default `ig`. */
static void test_ig_curve_methods(void **state)
{
    (void)state;
    char model[160], attr[160], out[160];
    snprintf(model, sizeof model, "%s/two_ig.h5", dir);
    snprintf(attr, sizeof attr, "%s/two_ig_attr.h5", dir);
    snprintf(out, sizeof out, "%s/two_ig_metrics.h5", dir);
    const char *specs[] = {"flatten", "linear out=3"};
    xai_model *m = model_of(specs, 2, 4, 9);
    write_fixture(m, model, attr);
    xai_model_free(m);
    /* A second IG method, with the uniform baseline, beside the fixture's black-baseline `ig`, and
     * a method of another kind. */
    hid_t f;
    assert_int_equal(xai_h5_open(&f, attr, 1), XAI_OK);
    float a[N * 16] = {0};
    const uint64_t d4[4] = {N, 1, 4, 4};
    assert_int_equal(xai_h5_write_f32(f, "/attributions/ig-uniform", a, 4, d4), XAI_OK);
    hid_t ds = H5Dopen2(f, "/attributions/ig-uniform", H5P_DEFAULT);
    assert_int_equal(xai_h5_attr_str(ds, "kind", "ig"), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "method", "ig:baseline=uniform"), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "baseline", "uniform"), XAI_OK);
    H5Dclose(ds);
    assert_int_equal(xai_h5_write_f32(f, "/attributions/gradient", a, 4, d4), XAI_OK);
    ds = H5Dopen2(f, "/attributions/gradient", H5P_DEFAULT);
    assert_int_equal(xai_h5_attr_str(ds, "kind", "gradient"), XAI_OK);
    assert_int_equal(xai_h5_attr_str(ds, "method", "gradient"), XAI_OK);
    H5Dclose(ds);
    H5Fclose(f);
    const char *base[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                          "--metrics", "none", "--ig-curve", "--ig-n", "2", "--ig-steps", "4,8", "--ig-rules",
                          "midpoint", "--ig-check", "no"};
    const int nb = sizeof base / sizeof *base;
    const char *args[32];
    memcpy(args, base, sizeof base);
    args[nb] = NULL;
    assert_int_equal(run(args), 0); /* without the option: every IG method */
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_true(xai_h5_exists(f, "/ig_steps/ig/midpoint/median"));
    assert_true(xai_h5_exists(f, "/ig_steps/ig-uniform/midpoint/median"));
    H5Fclose(f);
    args[nb] = "--ig-curve-methods", args[nb + 1] = "ig-uniform", args[nb + 2] = NULL;
    assert_int_equal(run(args), 0);
    assert_int_equal(xai_h5_open(&f, out, 0), XAI_OK);
    assert_true(xai_h5_exists(f, "/ig_steps/ig-uniform/midpoint/median"));
    assert_false(xai_h5_exists(f, "/ig_steps/ig"));
    H5Fclose(f);
    unlink(out);
    /* A typo, and a method that exists but is not IG: errors that name it, and no output file. */
    const char *bad[] = {"ig,ig-unifrom", "gradient"};
    for (int b = 0; b < 2; b++) {
        args[nb + 1] = bad[b];
        assert_int_equal(run(args), 1);
        assert_non_null(strstr(xai_errmsg(), b ? "'gradient'" : "'ig-unifrom'"));
        assert_non_null(strstr(xai_errmsg(), "ig, ig-uniform"));
        assert_int_equal(access(out, F_OK), -1);
    }
    /* Without --ig-curve the list is still checked (a typo must not pass because the curve is off). */
    const char *off[] = {"evaluate", "--model", model, "--attributions", attr, "--out", out, "--steps", "2",
                         "--metrics", "none", "--ig-curve", "no", "--ig-curve-methods", "nothing", NULL};
    assert_int_equal(run(off), 1);
    assert_non_null(strstr(xai_errmsg(), "'nothing'"));
    assert_int_equal(access(out, F_OK), -1);
}

/* The fitted order and the steps for a target error on exact power laws. */
static void test_order_fit(void **state)
{
    (void)state;
    const int64_t st[4] = {4, 16, 64, 256};
    double e[4];
    for (int k = 0; k < 4; k++) e[k] = 0.5 / st[k];
    assert_float_equal(xai_eval_conv_order(st, e, 4), 1, 1e-12);
    assert_float_equal(xai_eval_steps_for(st, e, 4, 0.01), 50, 1e-9);
    for (int k = 0; k < 4; k++) e[k] = 3.0 / ((double)st[k] * st[k]);
    assert_float_equal(xai_eval_conv_order(st, e, 4), 2, 1e-12);
    assert_true(isinf(xai_eval_steps_for(st, e, 4, 1e-6)));
    assert_float_equal(xai_eval_steps_for(st, e, 4, 1), 4, 0);
    e[1] = 0, e[2] = NAN; /* left out of the fit */
    assert_float_equal(xai_eval_conv_order(st, e, 4), 2, 1e-12);
    e[3] = 0;
    assert_true(isnan(xai_eval_conv_order(st, e, 4)));
    char b[32];
    xai_eval_steps_text(b, sizeof b, INFINITY, 4, 256);
    assert_string_equal(b, "> 256");
    xai_eval_steps_text(b, sizeof b, 49.2, 4, 256);
    assert_string_equal(b, "50");
}

static void test_evaluate_errors(void **state)
{
    (void)state;
    int before = count_files();
    char out[160], missing[160];
    snprintf(out, sizeof out, "%s/bad.h5", dir);
    snprintf(missing, sizeof missing, "%s/nothing.h5", dir);
    const char *wrong_model[] = {"evaluate", "--model", other_path, "--attributions", attr_path, "--out", out, NULL};
    assert_int_equal(run(wrong_model), 1);
    assert_non_null(strstr(xai_errmsg(), "same model"));
    const char *no_file[] = {"evaluate", "--model", model_path, "--attributions", missing, "--out", out, NULL};
    assert_int_equal(run(no_file), 1);
    const char *no_method[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--out", out,
                               "--methods", "ig,lrp-nothing", NULL};
    assert_int_equal(run(no_method), 1);
    assert_non_null(strstr(xai_errmsg(), "lrp-nothing"));
    const char *not_attr[] = {"evaluate", "--model", model_path, "--attributions", model_path, "--out", out, NULL};
    assert_int_equal(run(not_attr), 1);
    const char *bad_patch[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--out", out,
                               "--patch", "7", NULL};
    assert_int_equal(run(bad_patch), 1);
    const char *bad_opts[][10] = {
        {"evaluate", "--model", model_path, "--attributions", attr_path, "--perturb", "fog", NULL},
        {"evaluate", "--model", model_path, "--attributions", attr_path, "--fraction", "1.5", NULL},
        {"evaluate", "--model", model_path, "--attributions", attr_path, "--ig-rules", "simpson", NULL},
        {"evaluate", "--model", model_path, "--attributions", attr_path, "--sanity=maybe", NULL},
        {"evaluate", "--attributions", attr_path, NULL},
        {"evaluate", "--model", model_path, "--attributions", attr_path, "--frobnicate", NULL},
    };
    for (size_t k = 0; k < sizeof bad_opts / sizeof *bad_opts; k++) assert_int_equal(run(bad_opts[k]), 2);
    /* Nothing was written, not even a temporary file. */
    assert_int_equal(count_files(), before);
}

/* Issue 12, defect 1: an output that is an input (any spelling of it) is refused, the input kept. */
static void test_output_is_input(void **state)
{
    (void)state;
    char copy[160], link[160], *data;
    size_t len;
    snprintf(copy, sizeof copy, "%s/copy.h5", dir);
    snprintf(link, sizeof link, "%s/./link.h5", dir);
    assert_int_equal(xai_read_file(attr_path, &data, &len), XAI_OK);
    assert_int_equal(xai_write_file_atomic(copy, data, len), XAI_OK);
    assert_int_equal(symlink(copy, link), 0);
    const char *outs[][2] = {{"--out", copy}, {"--summary", copy}, {"--out", link}, {"--out", model_path},
                             {"--summary", model_path}};
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        const char *args[] = {"evaluate", "--model",  model_path, "--attributions", copy, "--methods", "ig",
                              "--steps",  "2",        outs[k][0], outs[k][1],       NULL};
        assert_int_equal(run(args), 1);
        assert_non_null(strstr(xai_errmsg(), "is the same file as"));
    }
    char *after;
    size_t alen;
    assert_int_equal(xai_read_file(copy, &after, &alen), XAI_OK);
    assert_true(alen == len && !memcmp(after, data, len));
    free(after);
    free(data);
    unlink(link);
    unlink(copy);
}

/* Issue 12, defect 11: a label with a comma, a quote and a newline stays one CSV field. */
static void test_summary_quoted(void **state)
{
    (void)state;
    char out[160], csv[160];
    snprintf(out, sizeof out, "%s/q.h5", dir);
    snprintf(csv, sizeof csv, "%s/q.csv", dir);
    const char *args[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--out", out, "--methods",
                          "ig",       "--steps", "2",        "--summary", csv, "--label", "a,\"b\"\nc", NULL};
    assert_int_equal(run(args), 0);
    char *text;
    assert_int_equal(xai_read_file(csv, &text, NULL), XAI_OK);
    const char *row = strchr(text, '\n') + 1;
    assert_int_equal(strncmp(row, "\"a,\"\"b\"\"\nc\",ig,", 15), 0);
    free(text);
    unlink(out);
    unlink(csv);
}

/* Issue 12, defect 12: a temporary left by a killed evaluate goes on the next run. */
static void test_stale_tmp_removed(void **state)
{
    (void)state;
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    char out[160], stale[200];
    snprintf(out, sizeof out, "%s/s.h5", dir);
    snprintf(stale, sizeof stale, "%s.tmp.%d", out, (int)pid);
    FILE *f = fopen(stale, "w");
    assert_non_null(f);
    fclose(f);
    const char *args[] = {"evaluate", "--model", model_path, "--attributions", attr_path, "--out", out, "--methods",
                          "ig",       "--steps", "2",        NULL};
    assert_int_equal(run(args), 0);
    assert_int_equal(access(stale, F_OK), -1);
    unlink(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluate_linear),
        cmocka_unit_test(test_evaluate_errors),
        cmocka_unit_test(test_evaluate_exact),
        cmocka_unit_test(test_ig_curve_methods),
        cmocka_unit_test(test_order_fit),
        cmocka_unit_test(test_output_is_input),
        cmocka_unit_test(test_summary_quoted),
        cmocka_unit_test(test_stale_tmp_removed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
