/* metricsfile.c: the one module that writes and reads metrics.h5 (layout: explainers/METRICS.md).
 * The evaluation hands over typed results; the report, plot data and summary.csv read them back here. */
#include "core/h5.h"
#include "core/mpi.h"
#include "explainers/explain.h"
#include "explainers/metricsfile.h"

#include <math.h>
#include <stdarg.h>
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
    free(c->ref.regions), free(c->ref.residual), free(c->ref.seconds);
    free(c->ref.sum), free(c->ref.fx), free(c->ref.fbase);
    free(c->map_rel), free(c->map_median), free(c->map_p90), free(c->map_mean);
    free(c->order), free(c->steps_1pct);
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
    xai_faith_result_free(&m->faith);
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
    const double *aopc, *auc;  /* (N); aopc NULL: not written */
    int n, nsteps;
} curve_view;

static xai_status write_curve(hid_t h, const void *ctx)
{
    const curve_view *c = ctx;
    const int n = c->n, k1 = c->nsteps + 1;
    const uint64_t d2[2] = {(uint64_t)n, (uint64_t)k1}, dk[1] = {(uint64_t)k1}, dn[1] = {(uint64_t)n};
    double *mean = xai_malloc(k1 * sizeof *mean), *se = xai_malloc(k1 * sizeof *se);
    xai_flip_curve_stats(mean, se, c->curves, n, c->nsteps);
    xai_status s;
    if ((s = xai_h5_write_f32(h, "curves", c->curves, 2, d2)) != XAI_OK) goto done;
    if ((s = put_f64(h, "mean", mean, 1, dk)) != XAI_OK) goto done;
    if ((s = put_f64(h, "stderr", se, 1, dk)) != XAI_OK) goto done;
    if (c->aopc && (s = put_f64(h, "aopc", c->aopc, 1, dn)) != XAI_OK) goto done;
    if ((s = put_f64(h, "auc", c->auc, 1, dn)) != XAI_OK) goto done;
    if (c->aopc && (s = put_stats(h, "aopc_", c->aopc, n)) != XAI_OK) goto done;
    s = put_stats(h, "auc_", c->auc, n);
done:
    free(mean);
    free(se);
    return s;
}

/* <parent>/<name>/{logit,prob}/{curves, mean, stderr, [aopc], auc} with [@aopc_*], @auc_*. */
static xai_status write_curves(hid_t parent, const char *name, const xai_flip_curve *c, double *const aopc[2],
                               double *const auc[2], int n, int nsteps)
{
    for (int q = 0; q < 2; q++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", name, qname[q]);
        curve_view v = {q ? c->prob : c->logit, aopc ? aopc[q] : NULL, auc[q], n, nsteps};
        XAI_TRY(in_group(parent, path, write_curve, &v));
    }
    return XAI_OK;
}

static xai_status write_order(hid_t parent, const char *name, const xai_flip_curve *c, const xai_curve_scores *cs,
                              const xai_flip_result *r)
{
    return write_curves(parent, name, c, cs->aopc, cs->auc, r->n, r->nsteps);
}

typedef struct {
    const double *v; /* (N) */
    int n;
} diff_view;

/* values (N) with @mean @se @median @n (finite values). */
static xai_status write_values(hid_t h, const void *ctx)
{
    const diff_view *d = ctx;
    const uint64_t dn[1] = {(uint64_t)d->n};
    xai_stats s;
    xai_stats_of(&s, d->v, d->n);
    XAI_TRY(put_f64(h, "values", d->v, 1, dn));
    XAI_TRY(xai_h5_attr_f64(h, "mean", s.mean));
    XAI_TRY(xai_h5_attr_f64(h, "se", s.se));
    XAI_TRY(xai_h5_attr_f64(h, "median", s.median));
    return xai_h5_attr_i64(h, "n", s.n);
}

static xai_status write_diff_values(hid_t h, const void *ctx)
{
    const diff_view *d = ctx;
    xai_stats s;
    xai_stats_of(&s, d->v, d->n);
    XAI_TRY(write_values(h, ctx));
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
    double *kept = xai_malloc((size_t)n * sizeof *kept);
    const int excluded = xai_absorbed_share(share, c->sum, v->fx, n);
    int nk = 0;
    for (int i = 0; i < n; i++) {
        res[i] = c->sum[i] - v->fx[i];
        if (v->fx[i] != 0) kept[nk++] = share[i];
    }
    xai_status s;
    if ((s = put_f64(h, "absorbed_share", share, 1, dn)) != XAI_OK) goto done;
    /* Statistics over the images that have a share; the excluded count sits beside them. */
    if ((s = put_stats(h, "absorbed_share_", kept, nk)) != XAI_OK) goto done;
    if ((s = xai_h5_attr_i64(h, "absorbed_share_excluded", excluded)) != XAI_OK) goto done;
    if ((s = put_f64(h, "residual", res, 1, dn)) != XAI_OK) goto done;
    if (c->lrp_cols) {
        const uint64_t dl[1] = {(uint64_t)c->lrp_cols - 1};
        if ((s = put_f64(h, "layer_absorbed_share", c->layer_share, 1, dl)) != XAI_OK) goto done;
        s = xai_h5_attr_i64(h, "layer_absorbed_share_excluded", c->layer_excluded);
    }
done:
    free(share);
    free(res);
    free(kept);
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

/* ------------------------------------------------------- faith.h metrics */

/* <parent>/<name>/values (n) with its statistics; nothing when v is NULL (the metric did not run). */
static xai_status put_values(hid_t parent, const char *name, const double *v, int n)
{
    if (!v) return XAI_OK;
    diff_view d = {v, n};
    return in_group(parent, name, write_values, &d);
}

typedef struct {
    const xai_faith_result *r;
    int i;
} faith_view;

/* sensitivity_n/{n, values (T, N), mean (T), stderr (T), mean_over_n (N)}. */
static xai_status write_sensn(hid_t g, const void *ctx)
{
    const faith_view *v = ctx;
    const xai_faith_result *r = v->r;
    const int T = r->nsensn, n = r->n;
    const double *val = r->m[v->i].sensn;
    const uint64_t dT[1] = {(uint64_t)T}, d2[2] = {(uint64_t)T, (uint64_t)n};
    double *mean = xai_malloc((T + 1) * sizeof *mean), *se = xai_malloc((T + 1) * sizeof *se);
    double *per = xai_malloc((size_t)(n ? n : 1) * sizeof *per);
    for (int t = 0; t < T; t++) {
        xai_stats st;
        xai_stats_of(&st, val + (size_t)t * n, n);
        mean[t] = st.mean, se[t] = st.se;
    }
    for (int i = 0; i < n; i++) {
        double acc = 0;
        int k = 0;
        for (int t = 0; t < T; t++)
            if (isfinite(val[(size_t)t * n + i])) acc += val[(size_t)t * n + i], k++;
        per[i] = k ? acc / k : NAN;
    }
    xai_status s;
    if ((s = xai_h5_write(g, "n", H5T_NATIVE_INT64, r->sensn_n, 1, dT)) != XAI_OK) goto done;
    if ((s = put_f64(g, "values", val, 2, d2)) != XAI_OK) goto done;
    if ((s = put_f64(g, "mean", mean, 1, dT)) != XAI_OK) goto done;
    if ((s = put_f64(g, "stderr", se, 1, dT)) != XAI_OK) goto done;
    s = put_values(g, "mean_over_n", per, n);
done:
    free(mean), free(se), free(per);
    return s;
}

/* random_logit/{spearman, spearman_abs, ssim}/values (randlogit_n each). */
static xai_status write_randlogit(hid_t g, const void *ctx)
{
    const faith_view *v = ctx;
    const int nrl = v->r->cost[XAI_FM_RANDLOGIT].n;
    static const char *names[3] = {"spearman", "spearman_abs", "ssim"};
    for (int q = 0; q < 3; q++) XAI_TRY(put_values(g, names[q], v->r->m[v->i].rl_sim + (size_t)q * nrl, nrl));
    return XAI_OK;
}

/* Every faith.h metric of method i that ran, under its /methods/<name>/ group. */
static xai_status write_faith_method(hid_t mg, const xai_faith_result *r, int i)
{
    const xai_faith_method *f = &r->m[i];
    const int n = r->n;
    faith_view v = {r, i};
    if (f->ins.logit) {
        XAI_TRY(write_curves(mg, "insertion", &f->ins, NULL, f->ins_auc, n, r->ins_steps));
        XAI_TRY(write_curves(mg, "deletion", &f->del, NULL, f->del_auc, n, r->ins_steps));
    }
    if (f->road_morf.logit) {
        XAI_TRY(write_curves(mg, "road/morf", &f->road_morf, NULL, f->road_morf_auc, n, XAI_ROAD_LEVELS));
        XAI_TRY(write_curves(mg, "road/lerf", &f->road_lerf, NULL, f->road_lerf_auc, n, XAI_ROAD_LEVELS));
    }
    XAI_TRY(put_values(mg, "faithfulness_correlation", f->faithcorr, n));
    if (f->sensn) XAI_TRY(in_group(mg, "sensitivity_n", write_sensn, &v));
    XAI_TRY(put_values(mg, "infidelity", f->infid, n));
    XAI_TRY(put_values(mg, "infidelity_scaled", f->infid_scaled, n));
    XAI_TRY(put_values(mg, "max_sensitivity", f->maxsens, r->cost[XAI_FM_MAXSENS].n));
    if (f->rl_sim) XAI_TRY(in_group(mg, "random_logit", write_randlogit, &v));
    XAI_TRY(put_values(mg, "sparseness", f->sparseness, n));
    return put_values(mg, "complexity", f->complexity, n);
}

/* /metric_info/<metric>: what each metric cost and how it was set up. */
static xai_status write_metric_info(hid_t g, const void *ctx)
{
    const faith_view *v = ctx;
    const xai_faith_result *r = v->r;
    const xai_faith_opts *o = &r->o;
    const xai_faith_cost *c = &r->cost[v->i];
    XAI_TRY(xai_h5_attr_f64(g, "seconds", c->seconds));
    XAI_TRY(xai_h5_attr_f64(g, "seconds_per_image", c->n ? c->seconds / c->n : NAN));
    XAI_TRY(xai_h5_attr_f64(g, "forward_images", c->forwards));
    XAI_TRY(xai_h5_attr_f64(g, "explanations", c->explanations));
    XAI_TRY(xai_h5_attr_i64(g, "n_images", c->n));
    switch (v->i) {
    case XAI_FM_INSDEL: {
        const uint64_t dk[1] = {(uint64_t)r->ins_steps + 1};
        XAI_TRY(xai_h5_attr_i64(g, "patch", r->patch));
        return put_f64(g, "fraction", r->ins_frac, 1, dk);
    }
    case XAI_FM_ROAD: {
        const uint64_t dk[1] = {XAI_ROAD_LEVELS + 1};
        XAI_TRY(xai_h5_attr_f64(g, "impute_seconds", c->impute_seconds));
        XAI_TRY(xai_h5_attr_f64(g, "noise", o->road_noise));
        XAI_TRY(xai_h5_attr_str(g, "solver", "conjugate gradients, Jacobi preconditioner, rel. residual 1e-6"));
        return put_f64(g, "fraction", r->road_frac, 1, dk);
    }
    case XAI_FM_FAITHCORR:
        XAI_TRY(xai_h5_attr_i64(g, "runs", o->fc_runs));
        return xai_h5_attr_i64(g, "subset_features", r->fc_size);
    case XAI_FM_SENSN: {
        const uint64_t dT[1] = {(uint64_t)r->nsensn};
        XAI_TRY(xai_h5_attr_i64(g, "runs", o->sensn_runs));
        return xai_h5_write(g, "n", H5T_NATIVE_INT64, r->sensn_n, 1, dT);
    }
    case XAI_FM_INFIDELITY:
        XAI_TRY(xai_h5_attr_i64(g, "runs", o->infid_runs));
        return xai_h5_attr_f64(g, "sigma", o->infid_sigma);
    case XAI_FM_MAXSENS:
        XAI_TRY(xai_h5_attr_i64(g, "runs", o->maxsens_runs));
        return xai_h5_attr_f64(g, "radius", o->maxsens_radius);
    case XAI_FM_RANDLOGIT: {
        const uint64_t dn[1] = {(uint64_t)c->n};
        return xai_h5_write(g, "class", H5T_NATIVE_INT32, r->rl_class, 1, dn);
    }
    default: return XAI_OK;
    }
}

static xai_status write_faith_info(hid_t root, const xai_faith_result *r)
{
    for (int k = 0; k < XAI_FM_COUNT; k++) {
        if (!(r->o.which & (1u << k))) continue;
        char path[64];
        snprintf(path, sizeof path, "metric_info/%s", xai_faith_metric_name(k));
        faith_view v = {r, k};
        XAI_TRY(in_group(root, path, write_metric_info, &v));
    }
    return XAI_OK;
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
    if (m->faith.m) XAI_TRY(write_faith_method(mg, &m->faith, i));
    if (!m->sanity) return XAI_OK;
    sanity_view s = {&m->sanity[i], m->sanity_seed};
    return in_group(mg, "sanity", write_sanity, &s);
}

/* /ig_steps/<method>/<rule>/{steps, rel_error, median, p90, mean}, with an exact reference also
 * {map_error, map_median, map_p90, map_mean} and @order, @steps_1pct. */
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
    XAI_TRY(put_f64(h, "mean", c->mean + at, 1, dT));
    if (!c->exact) return XAI_OK;
    XAI_TRY(put_f64(h, "map_error", c->map_rel + (size_t)at * c->n, 2, d2));
    XAI_TRY(put_f64(h, "map_median", c->map_median + at, 1, dT));
    XAI_TRY(put_f64(h, "map_p90", c->map_p90 + at, 1, dT));
    XAI_TRY(put_f64(h, "map_mean", c->map_mean + at, 1, dT));
    XAI_TRY(xai_h5_attr_f64(h, "order", c->order[v->rule]));
    return xai_h5_attr_f64(h, "steps_1pct", c->steps_1pct[v->rule]);
}

/* /ig_exact/<method>/: the exact reference's per-image numbers and the midpoint check. */
static xai_status write_ig_exact(hid_t g, const void *ctx)
{
    const xai_ig_curve *c = ctx;
    const xai_ig_exact_ref *r = &c->ref;
    const uint64_t dn[1] = {(uint64_t)r->n};
    XAI_TRY(xai_h5_attr_i64(g, "n_images", r->n));
    XAI_TRY(xai_h5_attr_f64(g, "tol", r->tol));
    XAI_TRY(xai_h5_write(g, "regions", H5T_NATIVE_INT64, r->regions, 1, dn));
    XAI_TRY(put_f64(g, "residual", r->residual, 1, dn));
    XAI_TRY(put_f64(g, "seconds", r->seconds, 1, dn));
    XAI_TRY(put_f64(g, "sum", r->sum, 1, dn));
    XAI_TRY(put_f64(g, "f_x", r->fx, 1, dn));
    XAI_TRY(put_f64(g, "f_base", r->fbase, 1, dn));
    double *v = xai_malloc((r->n ? r->n : 1) * sizeof *v), rmax = 0, smax = 0;
    for (int i = 0; i < r->n; i++) v[i] = (double)r->regions[i], rmax = fmax(rmax, v[i]), smax = fmax(smax, r->residual[i]);
    xai_status s = put_stats(g, "regions_", v, r->n);
    free(v);
    XAI_TRY(s);
    XAI_TRY(xai_h5_attr_f64(g, "regions_max", rmax));
    XAI_TRY(put_stats(g, "residual_", r->residual, r->n));
    XAI_TRY(xai_h5_attr_f64(g, "residual_max", smax));
    XAI_TRY(put_stats(g, "seconds_", r->seconds, r->n));
    const xai_ig_order_check *k = &c->check;
    XAI_TRY(xai_h5_attr_i64(g, "check_run", k->run));
    if (!k->run) return XAI_OK;
    XAI_TRY(xai_h5_attr_i64(g, "check_steps", XAI_IG_CHECK_STEPS));
    XAI_TRY(xai_h5_attr_i64(g, "check_images", k->images));
    XAI_TRY(xai_h5_attr_f64(g, "check_factor", XAI_IG_CHECK_FACTOR));
    XAI_TRY(xai_h5_attr_f64(g, "check_order", k->order));
    XAI_TRY(xai_h5_attr_f64(g, "check_predicted", k->predicted));
    XAI_TRY(xai_h5_attr_f64(g, "check_measured", k->measured));
    return xai_h5_attr_i64(g, "check_ok", k->ok);
}

static xai_status write_ig_curve(hid_t g, const void *ctx)
{
    const xai_ig_curve *c = ctx;
    XAI_TRY(xai_h5_attr_str(g, "baseline", c->baseline));
    XAI_TRY(xai_h5_attr_i64(g, "n_images", c->n));
    XAI_TRY(xai_h5_attr_i64(g, "exact", c->exact));
    if (!c->exact) XAI_TRY(xai_h5_attr_str(g, "exact_note", c->exact_note));
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
    XAI_TRY(xai_h5_attr_i64(root, "mpi_ranks", xai_mpi_size()));
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

static xai_status write_stats(hid_t root, const xai_metrics *m);

static xai_status write_all(hid_t root, const xai_metrics *m)
{
    xai_sbuf list = {0};
    for (int i = 0; i < m->nmethods; i++) xai_sbuf_printf(&list, "%s%s", i ? "," : "", m->methods[i]);
    xai_status s = write_root_attrs(root, m, list.s ? list.s : "");
    xai_sbuf_free(&list);
    XAI_TRY(s);
    XAI_TRY(write_images(root, m));
    XAI_TRY(write_order(root, "random", &m->flip_r.random, &m->random, &m->flip_r));
    if (m->faith.m) XAI_TRY(write_faith_info(root, &m->faith));
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
        if (!m->ig[i].exact) continue;
        snprintf(path, sizeof path, "ig_exact/%s", m->ig[i].name);
        XAI_TRY(in_group(root, path, write_ig_exact, &m->ig[i]));
    }
    xai_h5_sync(root); /* the statistics read back rows that other ranks wrote */
    return write_stats(root, m);
}

xai_status xai_metricsfile_create(xai_metrics_writer **w, const char *path)
{
    *w = xai_calloc(1, sizeof **w);
    xai_status s = xai_h5_create_par(&(*w)->f, path);
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
    s = xai_mpi_agree(s); /* commit and abort are collective */
    if (s != XAI_OK) {
        xai_metricsfile_abort(w);
        return s;
    }
    s = xai_h5_commit(&w->f);
    free(w);
    return s;
}

/* ------------------------------------------------------------- reading */

/* Opens a metrics file for reading. Every reader goes through here: a file without this @format
 * (another kind of file, or a damaged one) is refused as a whole, not read as a metrics file whose
 * parts are all missing. */
static xai_status open_metrics(hid_t *f, const char *path)
{
    XAI_TRY(xai_h5_open(f, path, 0));
    char fmt[64] = "";
    xai_status s = xai_h5_get_str(*f, "format", fmt, sizeof fmt);
    if (s == XAI_OK && !strcmp(fmt, XAI_METRICS_FORMAT)) return XAI_OK;
    xai_h5_close(*f);
    if (s == XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: not a metrics file of `xai evaluate` (@format is '%s', expected '%s')", path,
                        fmt, XAI_METRICS_FORMAT);
    return xai_fail(XAI_EFORMAT, "%s: not a metrics file of `xai evaluate` (%s @format, expected the string '%s')",
                    path, s == XAI_ENOTFOUND ? "no attribute" : "a non-string", XAI_METRICS_FORMAT);
}

/* A group's attributes; absent groups or attributes leave the default ("/": the file's root). */
static hid_t open_obj(hid_t f, const char *obj) { return strcmp(obj, "/") ? xai_h5_open_group(f, obj) : f; }

static void close_obj(hid_t f, hid_t o)
{
    if (o != f) xai_h5_close(o);
}

static double attr_f64(hid_t f, const char *obj, const char *name)
{
    double v = NAN;
    hid_t o = open_obj(f, obj);
    if (o < 0) return v;
    if (xai_h5_get_f64(o, name, &v) != XAI_OK) v = NAN;
    close_obj(f, o);
    return v;
}

static int64_t attr_i64(hid_t f, const char *obj, const char *name, int64_t def)
{
    int64_t v = def;
    hid_t o = open_obj(f, obj);
    if (o < 0) return v;
    if (xai_h5_get_i64(o, name, &v) != XAI_OK) v = def;
    close_obj(f, o);
    return v;
}

static void attr_str(hid_t f, const char *obj, const char *name, char *out, size_t cap)
{
    hid_t o = open_obj(f, obj);
    if (o < 0) return;
    char *tmp = xai_calloc(cap, 1);
    if (xai_h5_get_str(o, name, tmp, cap) == XAI_OK) snprintf(out, cap, "%s", tmp);
    xai_clear_error();
    free(tmp);
    close_obj(f, o);
}

/* Longest vector read: the file's vectors hold per-step values (a few hundred); a length beyond
 * this is a lying file, read as absent rather than allocated. */
#define METRICS_MAX_VEC (1u << 24)

/* A whole 1-D dataset as doubles (malloc'd); NULL when absent or longer than METRICS_MAX_VEC. */
static double *read_vec(hid_t f, const char *name, int *n)
{
    uint64_t d[8];
    if (xai_h5_dims(f, name, d) != 1 || d[0] > METRICS_MAX_VEC) return NULL;
    double *v = xai_malloc((d[0] ? d[0] : 1) * sizeof *v);
    if (xai_h5_read_f64(f, name, v, 1, NULL, "") != XAI_OK) {
        xai_clear_error();
        free(v);
        return NULL;
    }
    *n = (int)d[0];
    return v;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names of the links in a group, sorted by name; 0 when absent. */
static int list_group(hid_t f, const char *path, char ***names)
{
    int n = xai_h5_list(f, path, names);
    if (n < 0) return 0;
    if (n > 1) qsort(*names, n, sizeof **names, cmp_name);
    return n;
}

static void note(xai_sbuf *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(xai_sbuf *notes, const char *fmt, ...)
{
    if (!notes) return;
    va_list ap;
    va_start(ap, fmt);
    xai_sbuf_vprintf(notes, fmt, ap);
    va_end(ap);
    xai_sbuf_printf(notes, "\n");
}

/* ------------------------------------------------------------- scores */

static void read_settings(xai_metrics_scores *s, hid_t f)
{
    attr_str(f, "/", "perturb", s->perturb, sizeof s->perturb);
    s->patch = attr_i64(f, "/", "patch", -1);
    s->steps = attr_i64(f, "/", "steps", -1);
    s->per_step = attr_i64(f, "/", "per_step", -1);
    s->n_images = attr_i64(f, "/", "n_images", -1);
    s->n_features = attr_i64(f, "/", "n_features", -1);
    s->fraction = attr_f64(f, "/", "fraction");
    s->seconds = attr_f64(f, "/", "seconds");
    s->random_aopc = attr_f64(f, "/random/logit", "aopc_mean");
    s->random_aopc_se = attr_f64(f, "/random/logit", "aopc_se");
}

/* The one reader of a method's scores (/methods/<name>), for the report and the summary. */
static void read_method(xai_metrics_method_scores *m, hid_t f, const char *name)
{
    char obj[700];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
#define AT(sub) (snprintf(obj, sizeof obj, "/methods/%s/%s", name, sub), obj)
    snprintf(obj, sizeof obj, "/methods/%s", name);
    attr_str(f, obj, "kind", m->kind, sizeof m->kind);
    m->aopc_morf = attr_f64(f, AT("morf/logit"), "aopc_mean");
    m->aopc_morf_se = attr_f64(f, AT("morf/logit"), "aopc_se");
    m->aopc_lerf = attr_f64(f, AT("lerf/logit"), "aopc_mean");
    m->aopc_lerf_se = attr_f64(f, AT("lerf/logit"), "aopc_se");
    m->abpc = attr_f64(f, AT("abpc/logit"), "mean");
    m->abpc_se = attr_f64(f, AT("abpc/logit"), "se");
    m->vs_random_z = attr_f64(f, AT("vs_random/logit"), "z");
    m->aopc_morf_prob = attr_f64(f, AT("morf/prob"), "aopc_mean");
    m->compl_median = attr_f64(f, AT("completeness"), "median");
    m->compl_p90 = attr_f64(f, AT("completeness"), "p90");
#undef AT
}

/* ------------------------------------------------------------- IG step curves */

static int rule_rank(const char *r)
{
    static const char *order[] = {"left", "right", "midpoint", "trapezoid", "gauss"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(r, order[i])) return i;
    return 5;
}

static int cmp_rule(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int r = rule_rank(x) - rule_rank(y);
    return r ? r : strcmp(x, y);
}

/* One rule's vectors as read (NULL where absent), with their lengths. */
typedef struct {
    double *v[5]; /* steps, median, p90, map_median, map_p90 */
    int n[5];
    double order, steps_1pct;
} rule_data;

static const char *const RULE_VECS[5] = {"steps", "median", "p90", "map_median", "map_p90"};

/* v[k] when it has ns values, else NaN. */
static double rule_at(const rule_data *d, int k, int ns, int t) { return d->v[k] && d->n[k] == ns ? d->v[k][t] : NAN; }

/* Adds rule `rule` of curve g from its vectors; 0 when steps and median do not fit. */
static int add_rule(xai_metrics_ig_curve *g, int nrules_max, const char *rule, const rule_data *d)
{
    const int ns = d->n[0];
    if (!d->v[0] || !d->v[1] || d->n[1] != ns || (g->nrules && ns != g->nsteps)) return 0;
    if (!g->nrules) {
        g->nsteps = ns;
        g->steps = xai_malloc((size_t)ns * sizeof *g->steps);
        for (int k = 0; k < ns; k++) g->steps[k] = (int64_t)d->v[0][k];
        g->rule = xai_malloc((size_t)nrules_max * sizeof *g->rule);
        g->median = xai_malloc((size_t)nrules_max * ns * sizeof *g->median);
        g->p90 = xai_malloc((size_t)nrules_max * ns * sizeof *g->p90);
        g->map_median = xai_malloc((size_t)nrules_max * ns * sizeof *g->map_median);
        g->map_p90 = xai_malloc((size_t)nrules_max * ns * sizeof *g->map_p90);
        g->order = xai_malloc((size_t)nrules_max * sizeof *g->order);
        g->steps_1pct = xai_malloc((size_t)nrules_max * sizeof *g->steps_1pct);
    }
    const size_t at = (size_t)g->nrules * ns;
    snprintf(g->rule[g->nrules], sizeof g->rule[0], "%s", rule);
    for (int k = 0; k < ns; k++) {
        g->median[at + k] = d->v[1][k];
        g->p90[at + k] = rule_at(d, 2, ns, k);
        g->map_median[at + k] = rule_at(d, 3, ns, k);
        g->map_p90[at + k] = rule_at(d, 4, ns, k);
    }
    g->order[g->nrules] = d->order;
    g->steps_1pct[g->nrules] = d->steps_1pct;
    g->nrules++;
    return 1;
}

/* /ig_exact/<method>: the reference's summary and the midpoint check. */
static void read_ig_exact(xai_metrics_ig_curve *g, hid_t f, const char *method)
{
    char grp[300];
    snprintf(grp, sizeof grp, "/ig_exact/%s", method);
    g->check_run = g->check_ok = 0;
    g->check_predicted = g->check_measured = NAN;
    g->regions_median = g->regions_max = g->residual_median = g->residual_max = g->exact_seconds_mean = NAN;
    g->regions_mean = NAN;
    g->exact_n = attr_i64(f, grp, "n_images", -1);
    g->exact = g->exact_n >= 0;
    if (!g->exact) return;
    g->regions_median = attr_f64(f, grp, "regions_median");
    g->regions_mean = attr_f64(f, grp, "regions_mean");
    g->regions_max = attr_f64(f, grp, "regions_max");
    g->residual_median = attr_f64(f, grp, "residual_median");
    g->residual_max = attr_f64(f, grp, "residual_max");
    g->exact_seconds_mean = attr_f64(f, grp, "seconds_mean");
    g->check_run = (int)attr_i64(f, grp, "check_run", 0);
    g->check_ok = (int)attr_i64(f, grp, "check_ok", 0);
    g->check_predicted = attr_f64(f, grp, "check_predicted");
    g->check_measured = attr_f64(f, grp, "check_measured");
}

static void read_ig_curve(xai_metrics_ig_curve *g, hid_t f, const char *method, const char *path, xai_sbuf *notes)
{
    char grp[300], obj[400];
    snprintf(grp, sizeof grp, "/ig_steps/%s", method);
    char **rules;
    int nr = list_group(f, grp, &rules);
    if (nr > 1) qsort(rules, nr, sizeof *rules, cmp_rule);
    memset(g, 0, sizeof *g);
    snprintf(g->method, sizeof g->method, "%s", method);
    attr_str(f, grp, "baseline", g->baseline, sizeof g->baseline);
    attr_str(f, grp, "exact_note", g->exact_note, sizeof g->exact_note);
    for (int r = 0; r < nr; r++) {
        rule_data d = {0};
        for (int k = 0; k < 5; k++) {
            snprintf(obj, sizeof obj, "%s/%s/%s", grp, rules[r], RULE_VECS[k]);
            d.v[k] = read_vec(f, obj, &d.n[k]);
        }
        snprintf(obj, sizeof obj, "%s/%s", grp, rules[r]);
        d.order = attr_f64(f, obj, "order");
        d.steps_1pct = attr_f64(f, obj, "steps_1pct");
        if (!add_rule(g, nr, rules[r], &d))
            note(notes, "%s: %s/%s lacks steps/median of matching lengths; rule left out", path, grp, rules[r]);
        for (int k = 0; k < 5; k++) free(d.v[k]);
    }
    xai_h5_names_free(rules, nr);
    read_ig_exact(g, f, method);
}

static void ig_curve_free(xai_metrics_ig_curve *g)
{
    free(g->rule);
    free(g->steps);
    free(g->median);
    free(g->p90);
    free(g->map_median);
    free(g->map_p90);
    free(g->order);
    free(g->steps_1pct);
    memset(g, 0, sizeof *g);
}

xai_status xai_metricsfile_read_scores(xai_metrics_scores *s, const char *path, xai_sbuf *notes)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    XAI_TRY(open_metrics(&f, path));
    read_settings(s, f);
    char **names;
    int nm = list_group(f, "/methods", &names);
    s->methods = xai_calloc(nm ? nm : 1, sizeof *s->methods);
    for (int i = 0; i < nm; i++) read_method(&s->methods[i], f, names[i]);
    s->nmethods = nm;
    if (!nm) note(notes, "%s: no /methods group (no pixel-flipping scores)", path);
    xai_h5_names_free(names, nm);
    int nc = list_group(f, "/ig_steps", &names);
    s->ig = xai_calloc(nc ? nc : 1, sizeof *s->ig);
    for (int c = 0; c < nc; c++) {
        read_ig_curve(&s->ig[s->nig], f, names[c], path, notes);
        if (s->ig[s->nig].nrules) s->nig++;
        else ig_curve_free(&s->ig[s->nig]);
    }
    xai_h5_names_free(names, nc);
    if (!s->nig) note(notes, "%s: no /ig_steps (no IG completeness-vs-steps curve)", path);
    xai_h5_close(f);
    return XAI_OK;
}

void xai_metrics_scores_free(xai_metrics_scores *s)
{
    for (int i = 0; i < s->nig; i++) ig_curve_free(&s->ig[i]);
    free(s->ig);
    free(s->methods);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- curves */

int xai_metricsfile_read_vector(const char *path, const char *dataset, double **v)
{
    *v = NULL;
    hid_t f;
    if (open_metrics(&f, path) != XAI_OK) return xai_clear_error(), 0;
    int k1 = 0;
    *v = read_vec(f, dataset, &k1);
    xai_h5_close(f);
    if (!*v) k1 = 0;
    return k1;
}

int xai_metricsfile_read_fractions(const char *path, double **frac)
{
    return xai_metricsfile_read_vector(path, "/steps/fraction", frac);
}

int xai_metricsfile_read_mean_se(const char *path, const char *grp, int k1, double *mean, double *se)
{
    char obj[900];
    hid_t f;
    if (open_metrics(&f, path) != XAI_OK) return xai_clear_error(), 0;
    uint64_t d[8], dk[1] = {(uint64_t)k1};
    int ok = 0;
    snprintf(obj, sizeof obj, "%s/mean", grp);
    if (xai_h5_dims(f, obj, d) == 1 && (int)d[0] == k1 && xai_h5_read_f64(f, obj, mean, 1, dk, "") == XAI_OK) {
        ok = 1;
        snprintf(obj, sizeof obj, "%s/stderr", grp);
        if (xai_h5_dims(f, obj, d) != 1 || (int)d[0] != k1 || xai_h5_read_f64(f, obj, se, 1, dk, "") != XAI_OK)
            for (int i = 0; i < k1; i++) se[i] = NAN;
    }
    xai_clear_error();
    xai_h5_close(f);
    return ok;
}

int xai_metricsfile_read_curve(const char *path, const char *method, const char *order, int k1, double *mean,
                               double *se)
{
    char grp[400];
    if (method) snprintf(grp, sizeof grp, "/methods/%s/%s/logit", method, order);
    else snprintf(grp, sizeof grp, "/random/logit");
    return xai_metricsfile_read_mean_se(path, grp, k1, mean, se);
}

/* ------------------------------------------------------------- per-image values */

const xai_metric_source xai_metric_sources[] = {
    {"pf_aopc_morf", "pixel flipping", "morf/logit/aopc", +1},
    {"pf_aopc_lerf", "pixel flipping", "lerf/logit/aopc", -1},
    {"pf_abpc", "pixel flipping", "abpc/logit/values", +1},
    {"pf_aopc_morf_prob", "pixel flipping", "morf/prob/aopc", +1},
    {"completeness_error", "completeness", "completeness/rel_error", -1},
    /* explainers/faith.h from here (XAI_METRIC_FIRST_FAITH) */
    {"insertion_auc_prob", "insertion/deletion", "insertion/prob/auc", +1},
    {"deletion_auc_prob", "insertion/deletion", "deletion/prob/auc", -1},
    {"insertion_auc_logit", "insertion/deletion", "insertion/logit/auc", +1},
    {"deletion_auc_logit", "insertion/deletion", "deletion/logit/auc", -1},
    {"road_morf_auc_prob", "ROAD", "road/morf/prob/auc", -1},
    {"road_lerf_auc_prob", "ROAD", "road/lerf/prob/auc", +1},
    {"faithfulness_correlation", "correlation", "faithfulness_correlation/values", +1},
    {"sensitivity_n", "correlation", "sensitivity_n/mean_over_n/values", +1},
    {"infidelity", "infidelity and sensitivity", "infidelity/values", -1},
    {"infidelity_scaled", "infidelity and sensitivity", "infidelity_scaled/values", -1},
    {"max_sensitivity", "infidelity and sensitivity", "max_sensitivity/values", -1},
    {"random_logit_ssim", "randomisation", "random_logit/ssim/values", -1},
    {"sparseness", "descriptive", "sparseness/values", 0},
    {"complexity", "descriptive", "complexity/values", 0},
};
const int xai_metric_nsources = (int)(sizeof xai_metric_sources / sizeof *xai_metric_sources);

int xai_metric_source_find(const char *name)
{
    for (int r = 0; r < xai_metric_nsources; r++)
        if (!strcmp(xai_metric_sources[r].name, name)) return r;
    return -1;
}

xai_status xai_metricsfile_read_values(const char *path, const char *method, const char *dataset, double **v, int *n)
{
    *v = NULL, *n = 0;
    hid_t f;
    XAI_TRY(open_metrics(&f, path));
    char obj[800];
    snprintf(obj, sizeof obj, "/methods/%s/%s", method, dataset);
    *v = read_vec(f, obj, n);
    xai_h5_close(f);
    if (!*v) return xai_fail(XAI_ENOTFOUND, "%s: no per-image values %s (evaluate with that metric)", path, obj);
    return XAI_OK;
}

/* Mean over images of column c of one method (NaN when absent). */
static double column_mean(hid_t f, const char *method, int c)
{
    char obj[800];
    snprintf(obj, sizeof obj, "/methods/%s/%s", method, xai_metric_sources[c].source);
    int n = 0;
    double *v = read_vec(f, obj, &n);
    xai_stats s = {.mean = NAN};
    if (v) xai_stats_of(&s, v, n);
    free(v);
    return s.mean;
}

int xai_metricsfile_read_sanity(const char *path, const char *method, double **layer, double **mean, double **se,
                                int64_t *n_images)
{
    *layer = *mean = *se = NULL;
    if (n_images) *n_images = -1;
    hid_t f;
    if (open_metrics(&f, path) != XAI_OK) return xai_clear_error(), 0;
    if (n_images) {
        char grp[600];
        snprintf(grp, sizeof grp, "/methods/%s/sanity", method);
        *n_images = attr_i64(f, grp, "n_images", -1);
    }
    static const char *const v[5] = {"layer", "spearman_abs_mean", "ssim_mean", "spearman_abs_stderr", "ssim_stderr"};
    double *got[5] = {0};
    int n[5] = {0}, ok = 1;
    for (int i = 0; i < 5; i++) {
        char obj[700];
        snprintf(obj, sizeof obj, "/methods/%s/sanity/%s", method, v[i]);
        got[i] = read_vec(f, obj, &n[i]);
        ok &= got[i] && n[i] == n[0] && n[0] > 0;
    }
    xai_h5_close(f);
    /* Layer indices (-1: none randomised) are printed as ints: 1e300 or NaN makes the cascade unreadable. */
    for (int k = 0; ok && k < n[0]; k++) ok = got[0][k] >= -1 && got[0][k] <= INT32_MAX && got[0][k] == (int)got[0][k];
    const int S = ok ? n[0] : 0;
    if (S) {
        *layer = got[0], got[0] = NULL;
        *mean = xai_malloc(2 * (size_t)S * sizeof **mean), *se = xai_malloc(2 * (size_t)S * sizeof **se);
        memcpy(*mean, got[1], S * sizeof **mean), memcpy(*mean + S, got[2], S * sizeof **mean);
        memcpy(*se, got[3], S * sizeof **se), memcpy(*se + S, got[4], S * sizeof **se);
    }
    for (int i = 0; i < 5; i++) free(got[i]);
    return S;
}

/* ------------------------------------------------------------- summary */

/* The summary columns of one method (order: metricsfile.h). */
static void summary_row(hid_t f, const char *mth, double *v, double ar, double ars)
{
    xai_metrics_method_scores m;
    read_method(&m, f, mth);
    const double row[XAI_METRICS_SUMMARY_BASE] = {m.aopc_morf,    m.aopc_morf_se,   m.aopc_lerf,    m.aopc_lerf_se,
                                                  ar,             ars,              m.vs_random_z,  m.abpc,
                                                  m.abpc_se,      m.aopc_morf_prob, m.compl_median, m.compl_p90};
    memcpy(v, row, sizeof row);
    for (int c = XAI_METRIC_FIRST_FAITH; c < xai_metric_nsources; c++)
        if (XAI_METRICS_SUMMARY_BASE + c - XAI_METRIC_FIRST_FAITH < XAI_METRICS_SUMMARY_COLS)
            v[XAI_METRICS_SUMMARY_BASE + c - XAI_METRIC_FIRST_FAITH] = column_mean(f, mth, c);
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
    XAI_TRY(open_metrics(&f, path));
    char methods[4096] = "";
    if (xai_h5_get_str(f, "methods", methods, sizeof methods) != XAI_OK) {
        xai_h5_close(f);
        return xai_fail(XAI_EFORMAT, "%s: no string attribute @methods (the methods evaluated)", path);
    }
    double ar = attr_f64(f, "/random/logit", "aopc_mean"), ars = attr_f64(f, "/random/logit", "aopc_se");
    int cap = 1;
    for (const char *p = methods; *p; p++) cap += *p == ',';
    s->methods = xai_calloc(cap, sizeof *s->methods);
    s->row = xai_calloc(cap, sizeof *s->row);
    char *save = NULL;
    for (char *mth = strtok_r(methods, ",", &save); mth; mth = strtok_r(NULL, ",", &save)) {
        s->methods[s->nmethods] = xai_strdup(mth);
        summary_row(f, mth, s->row[s->nmethods++], ar, ars);
    }
    xai_h5_close(f);
    return XAI_OK;
}

/* ------------------------------------------------------------- statistics */

static double *read_vec(hid_t f, const char *name, int *n);

/* Row r of xai_metric_sources read back from the file being written; 0 when a method lacks it or
 * it is descriptive. Its images are the first n of the file, n as the first method has them (fewer
 * for max-sensitivity and random-logit), the same for every method. */
static int stat_column(xai_metric_column *c, hid_t root, const xai_metrics *m, int r)
{
    memset(c, 0, sizeof *c);
    const xai_metric_source *src = &xai_metric_sources[r];
    if (!src->better) return 0;
    snprintf(c->name, sizeof c->name, "%s", src->name);
    snprintf(c->family, sizeof c->family, "%s", src->family);
    snprintf(c->source, sizeof c->source, "%s", src->source);
    c->higher_better = src->better > 0;
    c->n = -1;
    c->v = xai_malloc(((size_t)m->nmethods * m->n + 1) * sizeof *c->v);
    for (int i = 0; i < m->nmethods; i++) {
        char obj[700];
        snprintf(obj, sizeof obj, "methods/%s/%s", m->methods[i], c->source);
        int n = 0;
        double *v = read_vec(root, obj, &n);
        if (c->n < 0 && v) c->n = n;
        const int ok = v && n == c->n && n <= m->n;
        if (ok) memcpy(c->v + (size_t)i * c->n, v, (size_t)n * sizeof *v);
        free(v);
        if (!ok) return xai_metric_column_free(c), 0;
    }
    return 1;
}

typedef struct {
    const xai_metric_stats *s;
    const char *methods; /* comma-separated, the order of every (k) vector */
} mstat_view;

static xai_status write_metric_stats(hid_t g, const void *ctx)
{
    const xai_metric_stats *s = ((const mstat_view *)ctx)->s;
    const int k = s->k;
    const uint64_t dk[1] = {(uint64_t)k}, dkk[2] = {(uint64_t)k, (uint64_t)k};
    XAI_TRY(xai_h5_attr_str(g, "family", s->family));
    XAI_TRY(xai_h5_attr_str(g, "source", s->source));
    XAI_TRY(xai_h5_attr_str(g, "methods", ((const mstat_view *)ctx)->methods));
    XAI_TRY(xai_h5_attr_i64(g, "higher_better", s->higher_better));
    XAI_TRY(xai_h5_attr_i64(g, "n_images", s->n_used));
    XAI_TRY(xai_h5_attr_i64(g, "n_excluded", s->n_excluded));
    const struct { const char *name; const double *v; int rank; } vecs[] = {
        {"mean", s->mean, 1}, {"ci_lo", s->lo, 1}, {"ci_hi", s->hi, 1}, {"rank", s->rank, 1},
        {"rank_mean", s->rank_mean, 1}, {"rank_lo", s->rank_lo, 1}, {"rank_hi", s->rank_hi, 1},
        {"p", s->p, 2}, {"p_holm", s->p_holm, 2}, {"r_rb", s->r_rb, 2}};
    for (size_t i = 0; i < sizeof vecs / sizeof *vecs; i++)
        XAI_TRY(put_f64(g, vecs[i].name, vecs[i].v, vecs[i].rank, vecs[i].rank == 1 ? dk : dkk));
    xai_sbuf l = {0};
    for (int i = 0; i < k; i++) xai_sbuf_printf(&l, "%s%s", i ? "," : "", s->letters[i]);
    xai_status st = xai_h5_attr_str(g, "letters", l.s ? l.s : "");
    xai_sbuf_free(&l);
    return st;
}

/* /stats: per metric its statistics over the methods, then Kendall's tau between metrics. */
static xai_status write_stats_group(hid_t g, const xai_metric_stats *s, int ns, const char *methods)
{
    xai_sbuf names = {0};
    for (int r = 0; r < ns; r++) xai_sbuf_printf(&names, "%s%s", r ? "," : "", s[r].name);
    xai_status st = xai_h5_attr_str(g, "metrics", names.s ? names.s : "");
    xai_sbuf_free(&names);
    XAI_TRY(st);
    XAI_TRY(xai_h5_attr_str(g, "methods", methods));
    XAI_TRY(xai_h5_attr_i64(g, "resamples", XAI_MSTATS_RESAMPLES));
    XAI_TRY(xai_h5_attr_f64(g, "level", XAI_MSTATS_LEVEL));
    XAI_TRY(xai_h5_attr_f64(g, "alpha", XAI_MSTATS_ALPHA));
    for (int r = 0; r < ns; r++) {
        mstat_view v = {&s[r], methods};
        XAI_TRY(in_group(g, s[r].name, write_metric_stats, &v));
    }
    if (!ns) return XAI_OK;
    double *tau = xai_malloc((size_t)ns * ns * sizeof *tau);
    xai_metric_kendall(tau, s, ns);
    const uint64_t d[2] = {(uint64_t)ns, (uint64_t)ns};
    st = put_f64(g, "kendall_tau", tau, 2, d);
    free(tau);
    return st;
}

static xai_status write_stats(hid_t root, const xai_metrics *m)
{
    xai_metric_stats *s = xai_calloc(xai_metric_nsources, sizeof *s);
    xai_sbuf methods = {0};
    for (int i = 0; i < m->nmethods; i++) xai_sbuf_printf(&methods, "%s%s", i ? "," : "", m->methods[i]);
    xai_status st = XAI_OK;
    int ns = 0;
    for (int r = 0; r < xai_metric_nsources && st == XAI_OK; r++) {
        xai_metric_column c;
        if (!stat_column(&c, root, m, r)) continue;
        st = xai_metric_stats_of(&s[ns], &c, m->nmethods, m->flip.seed);
        xai_metric_column_free(&c);
        if (st == XAI_OK) ns++;
    }
    hid_t g = st == XAI_OK ? xai_h5_group(root, "stats") : -1;
    if (st == XAI_OK && g < 0) st = xai_fail(XAI_EIO, "HDF5: cannot create group '/stats'");
    if (st == XAI_OK) st = write_stats_group(g, s, ns, methods.s ? methods.s : "");
    if (g >= 0) H5Gclose(g);
    for (int r = 0; r < ns; r++) xai_metric_stats_free(&s[r]);
    free(s);
    xai_sbuf_free(&methods);
    return st;
}

/* ------------------------------------------------------------- statistics, read back */

/* Splits a comma-separated attribute, keeping empty items ("a,,b": three). */
static int split_csv(char ***out, const char *s)
{
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    *out = xai_calloc((size_t)n, sizeof **out);
    for (int i = 0; i < n; i++) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        (*out)[i] = xai_malloc(len + 1);
        memcpy((*out)[i], s, len);
        (*out)[i][len] = 0;
        s = e ? e + 1 : s + len;
    }
    return n;
}

static void free_strs(char **v, int n)
{
    for (int i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

/* A (k) or (k, k) vector of /stats/<metric>; 0 when absent or of another shape. */
static int read_stat_vec(hid_t f, const char *grp, const char *name, double *out, int k, int rank)
{
    char obj[400];
    snprintf(obj, sizeof obj, "%s/%s", grp, name);
    uint64_t d[8];
    const uint64_t want[2] = {(uint64_t)k, (uint64_t)k};
    if (xai_h5_dims(f, obj, d) != rank || d[0] != want[0] || (rank == 2 && d[1] != want[1])) return 0;
    if (xai_h5_read_f64(f, obj, out, rank, want, "") != XAI_OK) return xai_clear_error(), 0;
    return 1;
}

/* /stats/<name> into m (allocated for k methods); 0 when it does not fit. */
static int read_metric_stats(xai_metric_stats *m, hid_t f, const char *name, int k)
{
    char grp[200], let[8192] = "";
    snprintf(grp, sizeof grp, "/stats/%s", name);
    xai_metric_column c = {.n = 0};
    snprintf(c.name, sizeof c.name, "%s", name);
    attr_str(f, grp, "family", c.family, sizeof c.family);
    attr_str(f, grp, "source", c.source, sizeof c.source);
    c.higher_better = (int)attr_i64(f, grp, "higher_better", 1);
    xai_metric_stats_of(m, &c, k, 0); /* allocates, all NaN */
    m->n_used = (int)attr_i64(f, grp, "n_images", 0);
    m->n_excluded = (int)attr_i64(f, grp, "n_excluded", 0);
    const struct { const char *name; double *v; int rank; } vecs[] = {
        {"mean", m->mean, 1}, {"ci_lo", m->lo, 1}, {"ci_hi", m->hi, 1}, {"rank", m->rank, 1},
        {"rank_mean", m->rank_mean, 1}, {"rank_lo", m->rank_lo, 1}, {"rank_hi", m->rank_hi, 1},
        {"p", m->p, 2}, {"p_holm", m->p_holm, 2}, {"r_rb", m->r_rb, 2}};
    for (size_t i = 0; i < sizeof vecs / sizeof *vecs; i++)
        if (!read_stat_vec(f, grp, vecs[i].name, vecs[i].v, k, vecs[i].rank)) return 0;
    attr_str(f, grp, "letters", let, sizeof let);
    char **l;
    const int nl = split_csv(&l, let);
    for (int i = 0; i < k && nl == k; i++) snprintf(m->letters[i], sizeof m->letters[i], "%s", l[i]);
    free_strs(l, nl);
    return 1;
}

static void read_stats_in(xai_metrics_stats_set *s, hid_t f, const char *path, xai_sbuf *notes)
{
    char names[8192] = "", methods[16384] = "";
    attr_str(f, "/stats", "metrics", names, sizeof names);
    attr_str(f, "/stats", "methods", methods, sizeof methods);
    attr_str(f, "/", "perturb", s->perturb, sizeof s->perturb);
    if (!names[0] || !methods[0]) return;
    s->k = split_csv(&s->methods, methods);
    s->resamples = attr_i64(f, "/stats", "resamples", -1);
    s->level = attr_f64(f, "/stats", "level");
    s->alpha = attr_f64(f, "/stats", "alpha");
    char **nm;
    const int n = split_csv(&nm, names);
    s->m = xai_calloc((size_t)n, sizeof *s->m);
    int all = 1;
    for (int i = 0; i < n; i++) {
        if (read_metric_stats(&s->m[s->nmetrics], f, nm[i], s->k)) {
            s->nmetrics++;
            continue;
        }
        xai_metric_stats_free(&s->m[s->nmetrics]);
        all = 0;
        note(notes, "%s: /stats/%s unreadable or of another shape; left out", path, nm[i]);
    }
    /* The tau matrix is indexed by @metrics: only usable when every metric was read. */
    s->tau = all ? xai_malloc((size_t)n * n * sizeof *s->tau) : NULL;
    if (s->tau && !read_stat_vec(f, "/stats", "kendall_tau", s->tau, n, 2)) free(s->tau), s->tau = NULL;
    free_strs(nm, n);
}

xai_status xai_metricsfile_read_stats(xai_metrics_stats_set *s, const char *path, xai_sbuf *notes)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    XAI_TRY(open_metrics(&f, path));
    read_stats_in(s, f, path, notes);
    if (!s->nmetrics) note(notes, "%s: no /stats (no statistics between methods)", path);
    xai_h5_close(f);
    return XAI_OK;
}

void xai_metrics_stats_set_free(xai_metrics_stats_set *s)
{
    for (int i = 0; i < s->nmetrics; i++) xai_metric_stats_free(&s->m[i]);
    free(s->m);
    free_strs(s->methods, s->k);
    free(s->tau);
    memset(s, 0, sizeof *s);
}
