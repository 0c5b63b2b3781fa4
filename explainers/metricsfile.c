/* metricsfile.c: the one module that writes and reads metrics.h5 (layout: explainers/METRICS.md).
 * The evaluation hands over typed results; groups, datasets and summary attributes are made here. */
#include "core/h5.h"
#include "explainers/explain.h"
#include "explainers/metricsfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct xai_metrics_writer {
    xai_h5file f;
};

/* ------------------------------------------------------------- results */

void xai_curve_scores_of(xai_curve_scores *cs, const xai_flip_curve *c, const xai_flip_result *r)
{
    for (int q = 0; q < 2; q++) {
        cs->aopc[q] = xai_malloc((size_t)r->n * sizeof(double));
        cs->auc[q] = xai_malloc((size_t)r->n * sizeof(double));
        xai_flip_aopc(cs->aopc[q], q ? c->prob : c->logit, r->n, r->nsteps);
        xai_flip_auc(cs->auc[q], q ? c->prob : c->logit, r->frac, r->n, r->nsteps);
    }
}

void xai_curve_scores_free(xai_curve_scores *cs)
{
    for (int q = 0; q < 2; q++) {
        free(cs->aopc[q]), free(cs->auc[q]);
        cs->aopc[q] = cs->auc[q] = NULL;
    }
}

void xai_completeness_result_free(xai_completeness_result *c)
{
    free(c->rel);
    free(c->abs_err);
    free(c->sum);
    free(c->fref);
    free(c->layer_share);
    memset(c, 0, sizeof *c);
}

void xai_ig_curve_free(xai_ig_curve *c)
{
    free(c->steps);
    free(c->rules);
    free(c->rel);
    free(c->median);
    free(c->p90);
    free(c->mean);
    memset(c, 0, sizeof *c);
}

void xai_metrics_free(xai_metrics *m)
{
    for (int i = 0; i < m->nmethods; i++) {
        if (m->morf) xai_curve_scores_free(&m->morf[i]);
        if (m->lerf) xai_curve_scores_free(&m->lerf[i]);
        if (m->completeness) xai_completeness_result_free(&m->completeness[i]);
        if (m->sanity) xai_sanity_result_free(&m->sanity[i]);
    }
    for (int i = 0; i < m->nig; i++) xai_ig_curve_free(&m->ig[i]);
    xai_curve_scores_free(&m->random);
    xai_flip_result_free(&m->flip_r);
    free(m->morf);
    free(m->lerf);
    free(m->completeness);
    free(m->sanity);
    free(m->ig);
    free(m->fx);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------- writing */

typedef xai_status (*group_fn)(hid_t g, const void *ctx);

/* Runs fn on the group parent/name (created with its parents), then closes it. */
static xai_status in_group(hid_t parent, const char *name, group_fn fn, const void *ctx)
{
    hid_t g = xai_h5_group(parent, name);
    if (g < 0) return xai_fail(XAI_EIO, "HDF5: cannot create group '%s'", name);
    xai_status s = fn(g, ctx);
    H5Gclose(g);
    return s;
}

static xai_status put_f64(hid_t loc, const char *name, const double *v, int rank, const uint64_t *dims)
{
    return xai_h5_write(loc, name, H5T_NATIVE_DOUBLE, v, rank, dims);
}

/* @<prefix>mean, @<prefix>se, @<prefix>median of v. */
static xai_status put_stats(hid_t g, const char *prefix, const double *v, int n)
{
    xai_stats s;
    xai_stats_of(&s, v, n);
    char a[64];
    snprintf(a, sizeof a, "%smean", prefix);
    XAI_TRY(xai_h5_attr_f64(g, a, s.mean));
    snprintf(a, sizeof a, "%sse", prefix);
    XAI_TRY(xai_h5_attr_f64(g, a, s.se));
    snprintf(a, sizeof a, "%smedian", prefix);
    return xai_h5_attr_f64(g, a, s.median);
}

static const char *qname[2] = {"logit", "prob"};

/* One order's curves on the logit or the probability. */
typedef struct {
    const float *curves;       /* (N, K + 1) */
    const double *aopc, *auc;  /* (N) */
    const xai_flip_result *r;
} curve_view;

static xai_status write_curve(hid_t h, const void *ctx)
{
    const curve_view *c = ctx;
    const int n = c->r->n, k1 = c->r->nsteps + 1;
    const uint64_t d2[2] = {(uint64_t)n, (uint64_t)k1}, dk[1] = {(uint64_t)k1}, dn[1] = {(uint64_t)n};
    double *mean = xai_malloc(k1 * sizeof *mean), *se = xai_malloc(k1 * sizeof *se);
    xai_flip_curve_stats(mean, se, c->curves, n, c->r->nsteps);
    xai_status s;
    if ((s = xai_h5_write_f32(h, "curves", c->curves, 2, d2)) != XAI_OK) goto done;
    if ((s = put_f64(h, "mean", mean, 1, dk)) != XAI_OK) goto done;
    if ((s = put_f64(h, "stderr", se, 1, dk)) != XAI_OK) goto done;
    if ((s = put_f64(h, "aopc", c->aopc, 1, dn)) != XAI_OK) goto done;
    if ((s = put_f64(h, "auc", c->auc, 1, dn)) != XAI_OK) goto done;
    if ((s = put_stats(h, "aopc_", c->aopc, n)) != XAI_OK) goto done;
    s = put_stats(h, "auc_", c->auc, n);
done:
    free(mean);
    free(se);
    return s;
}

/* <parent>/<name>/{logit,prob}/{curves, mean, stderr, aopc, auc} with @aopc_*, @auc_*. */
static xai_status write_order(hid_t parent, const char *name, const xai_flip_curve *c, const xai_curve_scores *cs,
                              const xai_flip_result *r)
{
    for (int q = 0; q < 2; q++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", name, qname[q]);
        curve_view v = {q ? c->prob : c->logit, cs->aopc[q], cs->auc[q], r};
        XAI_TRY(in_group(parent, path, write_curve, &v));
    }
    return XAI_OK;
}

typedef struct {
    const double *v; /* (N) */
    int n;
} diff_view;

static xai_status write_diff_values(hid_t h, const void *ctx)
{
    const diff_view *d = ctx;
    const uint64_t dn[1] = {(uint64_t)d->n};
    xai_stats s;
    xai_stats_of(&s, d->v, d->n);
    XAI_TRY(put_f64(h, "values", d->v, 1, dn));
    XAI_TRY(xai_h5_attr_f64(h, "mean", s.mean));
    XAI_TRY(xai_h5_attr_f64(h, "se", s.se));
    return xai_h5_attr_f64(h, "z", s.mean / s.se);
}

/* <parent>/<name>/{logit,prob}: values (N) = a - b per image, @mean @se @z (= mean / se). */
static xai_status write_diff(hid_t parent, const char *name, double *const a[2], double *const b[2], int n)
{
    double *v = xai_malloc((size_t)n * sizeof *v);
    xai_status s = XAI_OK;
    for (int q = 0; q < 2 && s == XAI_OK; q++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", name, qname[q]);
        for (int i = 0; i < n; i++) v[i] = a[q][i] - b[q][i];
        diff_view d = {v, n};
        s = in_group(parent, path, write_diff_values, &d);
    }
    free(v);
    return s;
}

/* Completeness of one method with the f(x) it was measured against. */
typedef struct {
    const xai_completeness_result *c;
    const float *fx; /* (N) */
    int n;
} compl_view;

/* completeness/lrp: what the input did not receive went to biases and stabilisers. */
static xai_status write_lrp_share(hid_t h, const void *ctx)
{
    const compl_view *v = ctx;
    const xai_completeness_result *c = v->c;
    const int n = v->n;
    const uint64_t dn[1] = {(uint64_t)n};
    double *share = xai_malloc((size_t)n * sizeof *share), *res = xai_malloc((size_t)n * sizeof *res);
    for (int i = 0; i < n; i++) {
        share[i] = v->fx[i] != 0 ? (v->fx[i] - c->sum[i]) / v->fx[i] : 0;
        res[i] = c->sum[i] - v->fx[i];
    }
    xai_status s;
    if ((s = put_f64(h, "absorbed_share", share, 1, dn)) != XAI_OK) goto done;
    if ((s = put_stats(h, "absorbed_share_", share, n)) != XAI_OK) goto done;
    if ((s = put_f64(h, "residual", res, 1, dn)) != XAI_OK) goto done;
    if (c->lrp_cols) {
        const uint64_t dl[1] = {(uint64_t)c->lrp_cols - 1};
        s = put_f64(h, "layer_absorbed_share", c->layer_share, 1, dl);
    }
done:
    free(share);
    free(res);
    return s;
}

static xai_status write_completeness(hid_t g, const void *ctx)
{
    const compl_view *v = ctx;
    const xai_completeness_result *c = v->c;
    const uint64_t dn[1] = {(uint64_t)v->n};
    XAI_TRY(put_f64(g, "rel_error", c->rel, 1, dn));
    XAI_TRY(put_f64(g, "abs_error", c->abs_err, 1, dn));
    XAI_TRY(put_f64(g, "sum", c->sum, 1, dn));
    XAI_TRY(xai_h5_write_f32(g, "f_x", v->fx, 1, dn));
    if (c->fref) XAI_TRY(xai_h5_write_f32(g, "f_ref", c->fref, 1, dn));
    xai_stats s;
    xai_stats_of(&s, c->rel, v->n);
    XAI_TRY(xai_h5_attr_f64(g, "median", s.median));
    XAI_TRY(xai_h5_attr_f64(g, "p90", s.p90));
    XAI_TRY(xai_h5_attr_f64(g, "mean", s.mean));
    XAI_TRY(xai_h5_attr_str(g, "reference", c->reference));
    return c->lrp ? in_group(g, "lrp", write_lrp_share, v) : XAI_OK;
}

typedef struct {
    const xai_sanity_result *r;
    uint64_t seed;
} sanity_view;

static xai_status write_sanity(hid_t g, const void *ctx)
{
    const sanity_view *v = ctx;
    const xai_sanity_result *r = v->r;
    const int S = r->nsteps, n = r->n;
    const float *arr[3] = {r->spearman, r->spearman_abs, r->ssim};
    static const char *names[3] = {"spearman", "spearman_abs", "ssim"};
    const uint64_t ds[1] = {(uint64_t)S}, d2[2] = {(uint64_t)S, (uint64_t)n};
    int64_t *layers = xai_malloc(S * sizeof *layers);
    double *mean = xai_malloc(3 * S * sizeof *mean), *se = xai_malloc(3 * S * sizeof *se);
    for (int s = 0; s < S; s++) layers[s] = r->layer[s];
    xai_sanity_means(r, mean, se);
    xai_status s;
    if ((s = xai_h5_write(g, "layer", H5T_NATIVE_INT64, layers, 1, ds)) != XAI_OK) goto done;
    for (int q = 0; q < 3; q++) {
        char nm[64];
        if ((s = xai_h5_write_f32(g, names[q], arr[q], 2, d2)) != XAI_OK) goto done;
        snprintf(nm, sizeof nm, "%s_mean", names[q]);
        if ((s = put_f64(g, nm, mean + q * S, 1, ds)) != XAI_OK) goto done;
        snprintf(nm, sizeof nm, "%s_stderr", names[q]);
        if ((s = put_f64(g, nm, se + q * S, 1, ds)) != XAI_OK) goto done;
    }
    if ((s = xai_h5_attr_i64(g, "n_images", n)) != XAI_OK) goto done;
    s = xai_h5_attr_i64(g, "seed", (int64_t)v->seed);
done:
    free(layers);
    free(mean);
    free(se);
    return s;
}

/* One method's group: its orders, scores against the control, and completeness. */
typedef struct {
    const xai_metrics *m;
    hid_t root;
    int i;
} method_view;

static xai_status write_method(hid_t mg, const void *ctx)
{
    const method_view *v = ctx;
    const xai_metrics *m = v->m;
    const int i = v->i, n = m->n;
    XAI_TRY(xai_h5_attr_str(mg, "kind", m->kinds[i]));
    XAI_TRY(write_order(mg, "morf", &m->flip_r.morf[i], &m->morf[i], &m->flip_r));
    XAI_TRY(write_order(mg, "lerf", &m->flip_r.lerf[i], &m->lerf[i], &m->flip_r));
    if (H5Lcreate_hard(v->root, "random", mg, "random", H5P_DEFAULT, H5P_DEFAULT) < 0)
        return xai_fail(XAI_EIO, "HDF5: cannot link /methods/%s/random", m->methods[i]);
    /* ABPC = AUC(LeRF) - AUC(MoRF); vs_random = AOPC(MoRF) - AOPC(random), paired per image. */
    XAI_TRY(write_diff(mg, "abpc", m->lerf[i].auc, m->morf[i].auc, n));
    XAI_TRY(write_diff(mg, "vs_random", m->morf[i].aopc, m->random.aopc, n));
    compl_view c = {&m->completeness[i], m->fx, n};
    XAI_TRY(in_group(mg, "completeness", write_completeness, &c));
    if (!m->sanity) return XAI_OK;
    sanity_view s = {&m->sanity[i], m->sanity_seed};
    return in_group(mg, "sanity", write_sanity, &s);
}

/* /ig_steps/<method>/<rule>/{steps, rel_error, median, p90, mean}. */
typedef struct {
    const xai_ig_curve *c;
    int rule;
} ig_view;

static xai_status write_ig_rule(hid_t h, const void *ctx)
{
    const ig_view *v = ctx;
    const xai_ig_curve *c = v->c;
    const int T = c->nsteps, at = v->rule * T;
    const uint64_t dT[1] = {(uint64_t)T}, d2[2] = {(uint64_t)T, (uint64_t)c->n};
    XAI_TRY(xai_h5_write(h, "steps", H5T_NATIVE_INT64, c->steps, 1, dT));
    XAI_TRY(put_f64(h, "rel_error", c->rel + (size_t)at * c->n, 2, d2));
    XAI_TRY(put_f64(h, "median", c->median + at, 1, dT));
    XAI_TRY(put_f64(h, "p90", c->p90 + at, 1, dT));
    return put_f64(h, "mean", c->mean + at, 1, dT);
}

static xai_status write_ig_curve(hid_t g, const void *ctx)
{
    const xai_ig_curve *c = ctx;
    XAI_TRY(xai_h5_attr_str(g, "baseline", c->baseline));
    XAI_TRY(xai_h5_attr_i64(g, "n_images", c->n));
    for (int r = 0; r < c->nrules; r++) {
        ig_view v = {c, r};
        XAI_TRY(in_group(g, xai_quad_rule_name(c->rules[r]), write_ig_rule, &v));
    }
    return XAI_OK;
}

static xai_status write_root_attrs(hid_t root, const xai_metrics *m, const char *methods)
{
    const xai_flip_result *r = &m->flip_r;
    double rate = r->forward_images / (r->seconds > 0 ? r->seconds : 1e-9);
    XAI_TRY(xai_h5_attr_str(root, "format", XAI_METRICS_FORMAT));
    XAI_TRY(xai_h5_attr_str(root, "program_version", xai_version()));
    XAI_TRY(xai_h5_attr_str(root, "model_path", m->model_path));
    XAI_TRY(xai_h5_attr_str(root, "attributions_path", m->attributions_path));
    XAI_TRY(xai_h5_attr_str(root, "model_sha256", m->model_sha256));
    XAI_TRY(xai_h5_attr_str(root, "methods", methods));
    XAI_TRY(xai_h5_attr_str(root, "perturb", xai_perturb_name(m->flip.perturb)));
    XAI_TRY(xai_h5_attr_i64(root, "patch", m->flip.patch));
    XAI_TRY(xai_h5_attr_i64(root, "per_step", r->per_step));
    XAI_TRY(xai_h5_attr_i64(root, "steps", r->nsteps));
    XAI_TRY(xai_h5_attr_f64(root, "fraction", m->flip.fraction));
    XAI_TRY(xai_h5_attr_f64(root, "blur_sigma", m->flip.blur_sigma));
    XAI_TRY(xai_h5_attr_i64(root, "seed", (int64_t)m->flip.seed));
    XAI_TRY(xai_h5_attr_i64(root, "n_images", m->n));
    XAI_TRY(xai_h5_attr_i64(root, "n_features", r->nfeatures));
    XAI_TRY(xai_h5_attr_f64(root, "forward_images", r->forward_images));
    XAI_TRY(xai_h5_attr_f64(root, "seconds", r->seconds));
    XAI_TRY(xai_h5_attr_f64(root, "images_per_s", rate));
    XAI_TRY(xai_h5_attr_f64(root, "inference_images_per_s", m->inference_rate));
    XAI_TRY(xai_h5_attr_i64(root, "threads", xai_threads()));
    return xai_h5_attr_i64(root, "batch", m->batch);
}

static xai_status write_images(hid_t root, const xai_metrics *m)
{
    const xai_flip_result *r = &m->flip_r;
    const uint64_t dn[1] = {(uint64_t)m->n}, dk[1] = {(uint64_t)r->nsteps + 1};
    XAI_TRY(xai_h5_write(root, "images/index", H5T_NATIVE_INT64, m->index, 1, dn));
    XAI_TRY(xai_h5_write(root, "images/target", H5T_NATIVE_INT32, m->target, 1, dn));
    XAI_TRY(xai_h5_write(root, "images/label", H5T_NATIVE_INT32, m->label, 1, dn));
    XAI_TRY(xai_h5_write_f32(root, "images/logit", m->fx, 1, dn));
    XAI_TRY(xai_h5_write(root, "steps/removed", H5T_NATIVE_INT64, r->removed, 1, dk));
    return put_f64(root, "steps/fraction", r->frac, 1, dk);
}

static xai_status write_all(hid_t root, const xai_metrics *m)
{
    xai_sbuf list = {0};
    for (int i = 0; i < m->nmethods; i++) xai_sbuf_printf(&list, "%s%s", i ? "," : "", m->methods[i]);
    xai_status s = write_root_attrs(root, m, list.s ? list.s : "");
    xai_sbuf_free(&list);
    XAI_TRY(s);
    XAI_TRY(write_images(root, m));
    XAI_TRY(write_order(root, "random", &m->flip_r.random, &m->random, &m->flip_r));
    for (int i = 0; i < m->nmethods; i++) {
        char path[600];
        snprintf(path, sizeof path, "methods/%s", m->methods[i]);
        method_view v = {m, root, i};
        XAI_TRY(in_group(root, path, write_method, &v));
    }
    for (int i = 0; i < m->nig; i++) {
        char path[600];
        snprintf(path, sizeof path, "ig_steps/%s", m->ig[i].name);
        XAI_TRY(in_group(root, path, write_ig_curve, &m->ig[i]));
    }
    return XAI_OK;
}

xai_status xai_metricsfile_create(xai_metrics_writer **w, const char *path)
{
    *w = xai_calloc(1, sizeof **w);
    xai_status s = xai_h5_create(&(*w)->f, path);
    if (s != XAI_OK) {
        free(*w);
        *w = NULL;
    }
    return s;
}

void xai_metricsfile_abort(xai_metrics_writer *w)
{
    if (!w) return;
    xai_h5_abort(&w->f);
    free(w);
}

xai_status xai_metricsfile_write(xai_metrics_writer *w, const xai_metrics *m)
{
    hid_t root = H5Gopen2(w->f.id, "/", H5P_DEFAULT);
    xai_status s = root < 0 ? xai_fail(XAI_EIO, "%s: cannot open the root group", w->f.path) : write_all(root, m);
    if (root >= 0) H5Gclose(root);
    if (s != XAI_OK) {
        xai_metricsfile_abort(w);
        return s;
    }
    s = xai_h5_commit(&w->f);
    free(w);
    return s;
}

/* ------------------------------------------------------------- reading */

static double attr_or_nan(hid_t file, const char *group, const char *name)
{
    double v = NAN;
    if (!xai_h5_exists(file, group)) return v;
    hid_t g = H5Oopen(file, group, H5P_DEFAULT);
    if (g < 0) return v;
    if (xai_h5_get_f64(g, name, &v) != XAI_OK) v = NAN;
    H5Oclose(g);
    return v;
}

/* The summary columns of one method (order: metricsfile.h). */
static void summary_row(hid_t f, const char *mth, double *v, double ar, double ars)
{
    static const struct { const char *group, *attr; } col[XAI_METRICS_SUMMARY_COLS] = {
        {"morf/logit", "aopc_mean"}, {"morf/logit", "aopc_se"}, {"lerf/logit", "aopc_mean"},
        {"lerf/logit", "aopc_se"},   {NULL, NULL},              {NULL, NULL},
        {"vs_random/logit", "z"},    {"abpc/logit", "mean"},    {"abpc/logit", "se"},
        {"morf/prob", "aopc_mean"},  {"completeness", "median"}, {"completeness", "p90"},
    };
    for (int c = 0; c < XAI_METRICS_SUMMARY_COLS; c++) {
        char g[700];
        snprintf(g, sizeof g, "/methods/%s/%s", mth, col[c].group ? col[c].group : "");
        v[c] = col[c].group ? attr_or_nan(f, g, col[c].attr) : c == 4 ? ar : ars;
    }
}

void xai_metrics_summary_free(xai_metrics_summary *s)
{
    for (int i = 0; i < s->nmethods; i++) free(s->methods[i]);
    free(s->methods);
    free(s->row);
    memset(s, 0, sizeof *s);
}

xai_status xai_metricsfile_read_summary(xai_metrics_summary *s, const char *path)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char fmt[64] = "", methods[4096] = "";
    xai_h5_get_str(f, "format", fmt, sizeof fmt);
    if (strcmp(fmt, XAI_METRICS_FORMAT) != 0 || xai_h5_get_str(f, "methods", methods, sizeof methods) != XAI_OK) {
        H5Fclose(f);
        return xai_fail(XAI_EFORMAT, "%s: not a metrics file of `xai evaluate` (format '%s', expected '%s')", path, fmt,
                        XAI_METRICS_FORMAT);
    }
    double ar = attr_or_nan(f, "/random/logit", "aopc_mean"), ars = attr_or_nan(f, "/random/logit", "aopc_se");
    int cap = 1;
    for (const char *p = methods; *p; p++) cap += *p == ',';
    s->methods = xai_calloc(cap, sizeof *s->methods);
    s->row = xai_calloc(cap, sizeof *s->row);
    char *save = NULL;
    for (char *mth = strtok_r(methods, ",", &save); mth; mth = strtok_r(NULL, ",", &save)) {
        s->methods[s->nmethods] = xai_strdup(mth);
        summary_row(f, mth, s->row[s->nmethods++], ar, ars);
    }
    H5Fclose(f);
    return XAI_OK;
}
