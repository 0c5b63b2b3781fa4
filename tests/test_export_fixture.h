/* test_export_fixture.h: tiny experiment directories in the documented layouts (core/README.md,
 * trainers/README.md, explainers/README.md, explainers/METRICS.md), shared by the publishing tests. */
#ifndef TEST_EXPORT_FIXTURE_H
#define TEST_EXPORT_FIXTURE_H

#include "core/base.h"
#include "core/nn.h"
#include "core/h5.h"
#include "core/io.h"
#include "paper/publish.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FX_N 6   /* explained images: rows 0-3 correct, 4-5 wrong */
#define FX_K 3   /* classes */
#define FX_S 4   /* image side */
#define FX_STEPS 4 /* pixel-flipping steps (curves have 5 points) */
#define FX_EPOCHS 3

/* Numbers the tests look for in the outputs. */
typedef struct {
    int c;                   /* input channels */
    double test_acc, val_acc, train_acc;
    double aopc_morf[3], aopc_lerf[3], aopc_se; /* ig, lrp-epsilon, gradient */
    double random_aopc;
    double sec_per_attr[3];
    double history[FX_EPOCHS][7];
} fx_numbers;

static const char *const FX_METHODS[3] = {"ig", "lrp-epsilon", "gradient"};
static const char *const FX_KINDS[3] = {"ig", "lrp", "gradient"};

static __attribute__((unused)) void fx_defaults(fx_numbers *x, int c)
{
    memset(x, 0, sizeof *x);
    x->c = c;
    x->test_acc = 0.975, x->val_acc = 0.9625, x->train_acc = 0.99;
    x->aopc_morf[0] = 0.412, x->aopc_morf[1] = 0.538, x->aopc_morf[2] = 0.301;
    x->aopc_lerf[0] = 0.021, x->aopc_lerf[1] = 0.017, x->aopc_lerf[2] = 0.044;
    x->aopc_se = 0.013;
    x->random_aopc = 0.205;
    x->sec_per_attr[0] = 0.0123, x->sec_per_attr[1] = 0.00045, x->sec_per_attr[2] = 0.0002;
    for (int e = 0; e < FX_EPOCHS; e++) {
        double h[7] = {e + 1, 0.01, 1.0 / (e + 1), 0.8 + 0.05 * e, 1.2 / (e + 1), 0.78 + 0.06 * e, 10.0 + e};
        memcpy(x->history[e], h, sizeof h);
    }
}

/* Relevance of pixel p = y * S + x of image i, channel ch, method j: the channel sum is
 * (p - 5) * scale, whose largest magnitude is at p = 15 (10 * scale); normalised maps are (p - 5) / 10,
 * or its negation for lrp-epsilon. */
static __attribute__((unused)) float fx_attr(int j, int i, int ch, int p, int c)
{
    static const double share[3] = {0.5, 0.3, 0.2}; /* channels differ; their sum is what counts */
    double scale = (i + 1) * (j == 1 ? -0.5 : 2.0);
    return (float)((p - 5) * scale * (c == 1 ? 1.0 : share[ch]));
}

static __attribute__((unused)) void fx_check(xai_status st)
{
    if (st != XAI_OK) {
        fprintf(stderr, "fixture: %s\n", xai_errmsg());
        abort();
    }
}

static __attribute__((unused)) void fx_model(const char *dir, const fx_numbers *x, int with_train)
{
    xai_layer_spec sp[2];
    memset(sp, 0, sizeof sp);
    sp[0].type = XAI_FLATTEN;
    sp[1].type = XAI_LINEAR, sp[1].out = FX_K, sp[1].bias = 1;
    xai_model *m = NULL;
    xai_shape in = {x->c, FX_S, FX_S};
    fx_check(xai_model_create(&m, sp, 2, in, FX_K, 4));
    xai_model_init(m, 7);
    free(m->spec_text);
    m->spec_text = xai_strdup("flatten\nlinear out=3\n");
    char *path = xai_path_join(dir, "model.h5");
    fx_check(xai_model_save(m, path));
    xai_model_free(m);
    if (with_train) {
        hid_t f;
        fx_check(xai_h5_open(&f, path, 1));
        hid_t g = xai_h5_group(f, "/train");
        fx_check(xai_h5_attr_str(g, "format", "xai-train-1"));
        fx_check(xai_h5_attr_str(g, "dataset", "tiny"));
        fx_check(xai_h5_attr_str(g, "config_path", "experiments/tiny.ini"));
        fx_check(xai_h5_attr_str(g, "dataset_sha256", "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"));
        fx_check(xai_h5_attr_str(g, "optimizer", "adam"));
        fx_check(xai_h5_attr_str(g, "schedule", "cosine"));
        fx_check(xai_h5_attr_str(g, "select", "best"));
        fx_check(xai_h5_attr_str(g, "created_utc", "2024-01-02T03:04:05Z"));
        fx_check(xai_h5_attr_str(g, "program_version", "0.1.0 (fixture)"));
        fx_check(xai_h5_attr_i64(g, "seed", 42));
        fx_check(xai_h5_attr_i64(g, "epochs", FX_EPOCHS));
        fx_check(xai_h5_attr_i64(g, "batch", 64));
        fx_check(xai_h5_attr_i64(g, "best_epoch", 3));
        fx_check(xai_h5_attr_i64(g, "train_images", 900));
        fx_check(xai_h5_attr_i64(g, "val_images", 100));
        fx_check(xai_h5_attr_i64(g, "test_images", 200));
        fx_check(xai_h5_attr_i64(g, "threads", 2));
        fx_check(xai_h5_attr_i64(g, "limit", 0));
        fx_check(xai_h5_attr_f64(g, "lr", 0.001));
        fx_check(xai_h5_attr_f64(g, "final_train_acc", x->train_acc));
        fx_check(xai_h5_attr_f64(g, "final_val_acc", x->val_acc));
        fx_check(xai_h5_attr_f64(g, "final_test_acc", x->test_acc));
        fx_check(xai_h5_attr_f64(g, "final_test_loss", 0.0876));
        fx_check(xai_h5_attr_f64(g, "train_seconds", 12.5));
        uint64_t d[2] = {FX_EPOCHS, 7};
        fx_check(xai_h5_write(g, "history", H5T_NATIVE_DOUBLE, x->history, 2, d));
        hid_t ds = H5Dopen2(g, "history", H5P_DEFAULT);
        fx_check(xai_h5_attr_str(ds, "columns", "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds"));
        H5Dclose(ds);
        H5Gclose(g);
        H5Fclose(f);
    }
    free(path);
}

static __attribute__((unused)) void fx_attributions(const char *dir, const fx_numbers *x)
{
    int c = x->c;
    size_t size = (size_t)c * FX_S * FX_S;
    char *path = xai_path_join(dir, "attributions.h5");
    xai_h5file hf;
    fx_check(xai_h5_create(&hf, path));
    hid_t root = H5Gopen2(hf.id, "/", H5P_DEFAULT);
    fx_check(xai_h5_attr_str(root, "format", "xai-attributions-1"));
    fx_check(xai_h5_attr_str(root, "dataset", "tiny"));
    fx_check(xai_h5_attr_str(root, "split", "test"));
    fx_check(xai_h5_attr_str(root, "target_mode", "pred"));
    double mean[3] = {0.5, 0.4, 0.3}, std[3] = {0.25, 0.2, 0.1};
    fx_check(xai_h5_attr_f64v(root, "normalize_mean", mean, c));
    fx_check(xai_h5_attr_f64v(root, "normalize_std", std, c));
    float *in = xai_malloc(FX_N * size * sizeof *in), *a = xai_malloc(FX_N * size * sizeof *a);
    /* Pixel value v in [0, 1] stored normalised: (v - mean) / std. */
    for (int i = 0; i < FX_N; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < FX_S * FX_S; p++) {
                double v = (p + i) % 16 / 15.0;
                in[(size_t)i * size + (size_t)ch * 16 + p] = (float)((v - mean[ch]) / std[ch]);
            }
    int32_t labels[FX_N] = {0, 1, 2, 0, 1, 2}, targets[FX_N];
    int64_t idx[FX_N];
    float logits[FX_N * FX_K] = {0};
    for (int i = 0; i < FX_N; i++) {
        int pred = i < 4 ? labels[i] : (labels[i] + 1) % FX_K;
        logits[i * FX_K + pred] = 3.0f + i;
        targets[i] = pred;
        idx[i] = 100 + i;
    }
    uint64_t d4[4] = {FX_N, (uint64_t)c, FX_S, FX_S}, dn[1] = {FX_N}, dk[2] = {FX_N, FX_K};
    fx_check(xai_h5_write_f32(root, "inputs", in, 4, d4));
    fx_check(xai_h5_write(root, "labels", H5T_NATIVE_INT32, labels, 1, dn));
    fx_check(xai_h5_write(root, "targets", H5T_NATIVE_INT32, targets, 1, dn));
    fx_check(xai_h5_write(root, "indices", H5T_NATIVE_INT64, idx, 1, dn));
    fx_check(xai_h5_write_f32(root, "logits", logits, 2, dk));
    for (int j = 0; j < 3; j++) {
        for (int i = 0; i < FX_N; i++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < 16; p++) a[(size_t)i * size + (size_t)ch * 16 + p] = fx_attr(j, i, ch, p, c);
        char name[64];
        snprintf(name, sizeof name, "attributions/%s", FX_METHODS[j]);
        fx_check(xai_h5_write_f32(root, name, a, 4, d4));
        hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
        fx_check(xai_h5_attr_str(ds, "method", FX_METHODS[j]));
        fx_check(xai_h5_attr_str(ds, "kind", FX_KINDS[j]));
        fx_check(xai_h5_attr_f64(ds, "seconds", x->sec_per_attr[j] * FX_N));
        fx_check(xai_h5_attr_f64(ds, "seconds_per_attribution", x->sec_per_attr[j]));
        H5Dclose(ds);
    }
    /* |delta| median 0.25, max 0.5; |residual| median 0.015, max 0.04. */
    double delta[FX_N] = {0.1, -0.2, 0.3, -0.5, 0.2, 0.4}, resid[FX_N] = {0.01, -0.02, 0.04, 0.01, -0.02, 0.01};
    fx_check(xai_h5_write(root, "ig/delta/ig", H5T_NATIVE_DOUBLE, delta, 1, dn));
    fx_check(xai_h5_write(root, "lrp/residual/lrp-epsilon", H5T_NATIVE_DOUBLE, resid, 1, dn));
    H5Gclose(root);
    fx_check(xai_h5_commit(&hf));
    free(in);
    free(a);
    free(path);
}

/* Curve k of a method: f_0 - slope * k with standard error 0.01 * (k + 1). */
static __attribute__((unused)) void fx_curve(hid_t parent, const char *path, double slope, double aopc, double se)
{
    hid_t g = xai_h5_group(parent, path);
    double mean[FX_STEPS + 1], err[FX_STEPS + 1];
    for (int k = 0; k <= FX_STEPS; k++) mean[k] = 5.0 - slope * k, err[k] = 0.01 * (k + 1);
    uint64_t dk[1] = {FX_STEPS + 1};
    fx_check(xai_h5_write(g, "mean", H5T_NATIVE_DOUBLE, mean, 1, dk));
    fx_check(xai_h5_write(g, "stderr", H5T_NATIVE_DOUBLE, err, 1, dk));
    fx_check(xai_h5_attr_f64(g, "aopc_mean", aopc));
    fx_check(xai_h5_attr_f64(g, "aopc_se", se));
    fx_check(xai_h5_attr_f64(g, "aopc_median", aopc));
    H5Gclose(g);
}

/* /stats/<name> for the three methods: means m, CI m -+ 0.05, ranks given, letters given. */
static __attribute__((unused)) void fx_metric_stats(hid_t st, const char *name, const double *m, const double *rank,
                                                    const char *letters, int higher_better)
{
    hid_t g = xai_h5_group(st, name);
    fx_check(xai_h5_attr_str(g, "family", higher_better ? "pixel flipping" : "completeness"));
    fx_check(xai_h5_attr_str(g, "letters", letters));
    fx_check(xai_h5_attr_i64(g, "higher_better", higher_better));
    fx_check(xai_h5_attr_i64(g, "n_images", FX_N));
    double lo[3], hi[3], pk[9];
    for (int j = 0; j < 3; j++) lo[j] = m[j] - 0.05, hi[j] = m[j] + 0.05;
    for (int j = 0; j < 9; j++) pk[j] = j % 4 ? 0.01 : NAN;
    const uint64_t d1[1] = {3}, d2[2] = {3, 3};
    const char *v1[] = {"mean", "ci_lo", "ci_hi", "rank", "rank_mean", "rank_lo", "rank_hi"};
    const double *x1[] = {m, lo, hi, rank, rank, rank, rank};
    for (int i = 0; i < 7; i++) fx_check(xai_h5_write(g, v1[i], H5T_NATIVE_DOUBLE, x1[i], 1, d1));
    const char *v2[] = {"p", "p_holm", "r_rb"};
    for (int i = 0; i < 3; i++) fx_check(xai_h5_write(g, v2[i], H5T_NATIVE_DOUBLE, pk, 2, d2));
    H5Gclose(g);
}

static __attribute__((unused)) void fx_stats(hid_t root, const fx_numbers *x)
{
    hid_t st = xai_h5_group(root, "stats");
    fx_check(xai_h5_attr_str(st, "metrics", "pf_aopc_morf,completeness_error"));
    fx_check(xai_h5_attr_str(st, "methods", "ig,lrp-epsilon,gradient"));
    const double r1[3] = {2, 1, 3}, c[3] = {0.00123, 0.00246, 0.00369}, r2[3] = {1, 2, 3};
    fx_metric_stats(st, "pf_aopc_morf", x->aopc_morf, r1, "ab,a,b", 1);
    fx_metric_stats(st, "completeness_error", c, r2, "a,b,c", 0);
    const double tau[4] = {1, -1.0 / 3, -1.0 / 3, 1};
    const uint64_t d2[2] = {2, 2};
    fx_check(xai_h5_write(st, "kendall_tau", H5T_NATIVE_DOUBLE, tau, 2, d2));
    H5Gclose(st);
}

static __attribute__((unused)) void fx_metrics(const char *dir, const fx_numbers *x)
{
    char *path = xai_path_join(dir, "metrics.h5");
    xai_h5file hf;
    fx_check(xai_h5_create(&hf, path));
    hid_t root = H5Gopen2(hf.id, "/", H5P_DEFAULT);
    fx_check(xai_h5_attr_str(root, "format", "xai-metrics-1"));
    fx_check(xai_h5_attr_str(root, "perturb", "zero"));
    fx_check(xai_h5_attr_i64(root, "patch", 1));
    fx_check(xai_h5_attr_i64(root, "steps", FX_STEPS));
    fx_check(xai_h5_attr_i64(root, "per_step", 2));
    fx_check(xai_h5_attr_i64(root, "n_images", FX_N));
    fx_check(xai_h5_attr_i64(root, "n_features", 16));
    fx_check(xai_h5_attr_f64(root, "fraction", 0.5));
    fx_check(xai_h5_attr_f64(root, "seconds", 0.5));
    double frac[FX_STEPS + 1];
    for (int k = 0; k <= FX_STEPS; k++) frac[k] = 0.125 * k;
    uint64_t dk[1] = {FX_STEPS + 1};
    fx_check(xai_h5_write(root, "steps/fraction", H5T_NATIVE_DOUBLE, frac, 1, dk));
    fx_curve(root, "random/logit", 0.3, x->random_aopc, 0.011);
    for (int j = 0; j < 3; j++) {
        char p[128];
        snprintf(p, sizeof p, "methods/%s", FX_METHODS[j]);
        hid_t mg = xai_h5_group(root, p);
        fx_check(xai_h5_attr_str(mg, "kind", FX_KINDS[j]));
        fx_curve(mg, "morf/logit", 0.8 + 0.1 * j, x->aopc_morf[j], x->aopc_se);
        fx_curve(mg, "lerf/logit", 0.05 + 0.01 * j, x->aopc_lerf[j], x->aopc_se);
        hid_t g = xai_h5_group(mg, "abpc/logit");
        fx_check(xai_h5_attr_f64(g, "mean", 1.5 + j));
        fx_check(xai_h5_attr_f64(g, "se", 0.1));
        H5Gclose(g);
        g = xai_h5_group(mg, "vs_random/logit");
        fx_check(xai_h5_attr_f64(g, "z", 7.25 + j));
        H5Gclose(g);
        g = xai_h5_group(mg, "completeness");
        fx_check(xai_h5_attr_f64(g, "median", 0.00123 * (j + 1)));
        fx_check(xai_h5_attr_f64(g, "p90", 0.0456 * (j + 1)));
        H5Gclose(g);
        H5Gclose(mg);
    }
    const char *rules[2] = {"gauss", "left"};
    int64_t steps[3] = {4, 16, 64};
    hid_t ig = xai_h5_group(root, "ig_steps/ig");
    fx_check(xai_h5_attr_str(ig, "baseline", "black"));
    for (int r = 0; r < 2; r++) {
        hid_t g = xai_h5_group(ig, rules[r]);
        double med[3], p90[3];
        for (int s = 0; s < 3; s++) med[s] = (r ? 0.5 : 0.05) / steps[s], p90[s] = 2 * med[s];
        uint64_t d3[1] = {3};
        fx_check(xai_h5_write(g, "steps", H5T_NATIVE_INT64, steps, 1, d3));
        fx_check(xai_h5_write(g, "median", H5T_NATIVE_DOUBLE, med, 1, d3));
        fx_check(xai_h5_write(g, "p90", H5T_NATIVE_DOUBLE, p90, 1, d3));
        /* Against exact IG: gauss 0.2 / steps (order 1, 1 % at 20), left 4 / steps (never within 64). */
        for (int k = 0; k < 3; k++) med[k] = (r ? 4.0 : 0.2) / steps[k], p90[k] = 1.5 * med[k];
        fx_check(xai_h5_write(g, "map_median", H5T_NATIVE_DOUBLE, med, 1, d3));
        fx_check(xai_h5_write(g, "map_p90", H5T_NATIVE_DOUBLE, p90, 1, d3));
        fx_check(xai_h5_attr_f64(g, "order", 1.0));
        fx_check(xai_h5_attr_f64(g, "steps_1pct", r ? INFINITY : 20.0));
        H5Gclose(g);
    }
    fx_check(xai_h5_attr_i64(ig, "exact", 1));
    H5Gclose(ig);
    hid_t ex = xai_h5_group(root, "ig_exact/ig");
    fx_check(xai_h5_attr_i64(ex, "n_images", FX_N));
    fx_check(xai_h5_attr_f64(ex, "regions_median", 37));
    fx_check(xai_h5_attr_f64(ex, "regions_max", 81));
    fx_check(xai_h5_attr_f64(ex, "residual_median", 2e-7));
    fx_check(xai_h5_attr_f64(ex, "residual_max", 3e-6));
    fx_check(xai_h5_attr_f64(ex, "seconds_mean", 0.004));
    fx_check(xai_h5_attr_i64(ex, "check_run", 0));
    H5Gclose(ex);
    fx_stats(root, x);
    H5Gclose(root);
    fx_check(xai_h5_commit(&hf));
    free(path);
}

/* A whole experiment directory <root>/<name> with all three files. */
static __attribute__((unused)) char *fx_experiment(const char *root, const char *name, const fx_numbers *x)
{
    char *dir = xai_path_join(root, name);
    fx_check(xai_mkdirs(dir));
    fx_model(dir, x, 1);
    fx_attributions(dir, x);
    fx_metrics(dir, x);
    return dir;
}

static __attribute__((unused)) char *fx_tmpdir(void)
{
    char tmpl[] = "/tmp/xai-test-publish-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) abort();
    return xai_strdup(d);
}

static int fx_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static __attribute__((unused)) void fx_rmtree(const char *dir) { nftw(dir, fx_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* The whole file as a string (aborts when missing: tests check existence first). */
static __attribute__((unused)) char *fx_read(const char *dir, const char *name)
{
    char *p = xai_path_join(dir, name), *text = NULL;
    if (xai_read_file(p, &text, NULL) != XAI_OK) text = NULL;
    free(p);
    return text;
}

static __attribute__((unused)) int fx_exists(const char *dir, const char *name)
{
    char *p = xai_path_join(dir, name);
    int e = xai_file_exists(p);
    free(p);
    return e;
}

#endif
