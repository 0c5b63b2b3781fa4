/* cmd_evaluate.c: `xai evaluate`: scores every method of an attribution file and writes a metrics HDF5 file.
 * Pixel flipping (MoRF/LeRF/random), completeness, and on request the randomisation test and the IG step curve. */
#include "core/base.h"
#include "core/nn.h"
#include "core/h5.h"
#include "core/io.h"
#include "experiments/commands.h"
#include "explainers/explain.h"
#include "explainers/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 16

typedef struct {
    const char *model, *attr, *out, *methods, *summary, *label;
    int n, batch, sanity, sanity_n, ig_curve, ig_n;
    int ig_steps[MAX_LIST], nig_steps;
    int ig_rules[MAX_LIST], nig_rules;
    xai_flip_opts flip;
} eval_opts;

/* What we read from the attribution file (layout: explainers/README.md). */
typedef struct {
    const char *path;
    int total, n, nclasses;
    xai_shape shape;
    float *inputs;     /* (N, C, H, W) */
    int32_t *labels;   /* (N) */
    int32_t *targets;  /* (N) */
    int64_t *indices;  /* (N) */
    float *logits;     /* (N, K) */
    int nmethods;
    char **names;      /* (nmethods) dataset names under /attributions */
    char **kinds;      /* (nmethods) @kind, "" when absent */
    float **attr;      /* nmethods x (N, C, H, W) */
    char model_sha256[80]; /* the attribution file's @model_sha256, "" when absent */
} afile;

static void afile_free(afile *a)
{
    free(a->inputs);
    free(a->labels);
    free(a->targets);
    free(a->indices);
    free(a->logits);
    for (int i = 0; i < a->nmethods; i++) {
        free(a->names[i]);
        free(a->kinds[i]);
        if (a->attr) free(a->attr[i]);
    }
    free(a->names);
    free(a->kinds);
    free(a->attr);
    memset(a, 0, sizeof *a);
}

/* Reads the first n rows of a dataset whose trailing dimensions must equal tail. */
static xai_status read_rows(hid_t f, const char *path, const char *name, hid_t type, void *buf, int n, int rank,
                            const uint64_t *tail)
{
    uint64_t d[8];
    int r = xai_h5_dims(f, name, d);
    if (r < 0) return xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s' (not an attribution file of `xai explain`?)", path, name);
    if (r != rank) return xai_fail(XAI_EFORMAT, "%s: dataset '%s' has rank %d, expected %d", path, name, r, rank);
    if (d[0] < (uint64_t)n)
        return xai_fail(XAI_EFORMAT, "%s: dataset '%s' has %llu rows, expected at least %d", path, name,
                        (unsigned long long)d[0], n);
    for (int i = 1; i < rank; i++)
        if (tail && d[i] != tail[i - 1])
            return xai_fail(XAI_EFORMAT, "%s: dataset '%s' has size %llu in dimension %d, expected %llu", path, name,
                            (unsigned long long)d[i], i, (unsigned long long)tail[i - 1]);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT), fs = ds >= 0 ? H5Dget_space(ds) : -1;
    hsize_t start[8] = {0}, count[8];
    count[0] = (hsize_t)n;
    for (int i = 1; i < rank; i++) count[i] = d[i];
    herr_t e = -1;
    if (fs >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0) {
        hid_t ms = H5Screate_simple(rank, count, NULL);
        e = H5Dread(ds, type, ms, fs, H5P_DEFAULT, buf);
        H5Sclose(ms);
    }
    if (fs >= 0) H5Sclose(fs);
    if (ds >= 0) H5Dclose(ds);
    if (e < 0) return xai_fail(XAI_EFORMAT, "%s: cannot read dataset '%s' (truncated or corrupt file?)", path, name);
    return XAI_OK;
}

typedef struct {
    char **names;
    int n, cap;
} name_list;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *ctx)
{
    (void)info;
    hid_t obj = H5Oopen(g, name, H5P_DEFAULT);
    int is_dataset = obj >= 0 && H5Iget_type(obj) == H5I_DATASET;
    if (obj >= 0) H5Oclose(obj);
    if (!is_dataset) return 0;
    name_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        char **nn = realloc(l->names, (size_t)l->cap * sizeof *nn);
        if (!nn) return -1;
        l->names = nn;
    }
    l->names[l->n++] = xai_strdup(name);
    return 0;
}

static int in_csv_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static xai_status afile_read(afile *a, const char *path, int nwant, const char *methods)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status st = XAI_OK;
    uint64_t d[8];
    int r = xai_h5_dims(f, "/inputs", d);
    if (r != 4) st = xai_fail(XAI_EFORMAT, "%s: '/inputs' missing or not (N, C, H, W) (not an attribution file of `xai explain`?)", path);
    if (st == XAI_OK) {
        a->total = (int)d[0];
        a->shape = (xai_shape){(int)d[1], (int)d[2], (int)d[3]};
        a->n = nwant > 0 && nwant < a->total ? nwant : a->total;
        if (a->n <= 0) st = xai_fail(XAI_EFORMAT, "%s: holds no images", path);
    }
    if (st == XAI_OK) {
        r = xai_h5_dims(f, "/logits", d);
        if (r != 2) st = xai_fail(XAI_EFORMAT, "%s: '/logits' missing or not (N, classes)", path);
        else a->nclasses = (int)d[1];
    }
    size_t size = xai_shape_size(a->shape);
    if (st == XAI_OK) {
        a->inputs = xai_malloc((size_t)a->n * size * sizeof *a->inputs);
        a->labels = xai_malloc((size_t)a->n * sizeof *a->labels);
        a->targets = xai_malloc((size_t)a->n * sizeof *a->targets);
        a->indices = xai_malloc((size_t)a->n * sizeof *a->indices);
        a->logits = xai_malloc((size_t)a->n * a->nclasses * sizeof *a->logits);
        uint64_t img[3] = {(uint64_t)a->shape.c, (uint64_t)a->shape.h, (uint64_t)a->shape.w};
        uint64_t k[1] = {(uint64_t)a->nclasses};
        st = read_rows(f, path, "/inputs", H5T_NATIVE_FLOAT, a->inputs, a->n, 4, img);
        if (st == XAI_OK) st = read_rows(f, path, "/targets", H5T_NATIVE_INT32, a->targets, a->n, 1, NULL);
        if (st == XAI_OK) st = read_rows(f, path, "/labels", H5T_NATIVE_INT32, a->labels, a->n, 1, NULL);
        if (st == XAI_OK) st = read_rows(f, path, "/logits", H5T_NATIVE_FLOAT, a->logits, a->n, 2, k);
        if (st == XAI_OK && xai_h5_exists(f, "/indices"))
            st = read_rows(f, path, "/indices", H5T_NATIVE_INT64, a->indices, a->n, 1, NULL);
        else
            for (int i = 0; i < a->n; i++) a->indices[i] = i;
    }
    if (st == XAI_OK) {
        hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
        xai_h5_get_str(root, "model_sha256", a->model_sha256, sizeof a->model_sha256);
        H5Gclose(root);
    }
    name_list all = {0};
    if (st == XAI_OK) {
        hid_t g = xai_h5_exists(f, "/attributions") ? H5Gopen2(f, "/attributions", H5P_DEFAULT) : -1;
        if (g < 0) st = xai_fail(XAI_EFORMAT, "%s: no group /attributions", path);
        else {
            /* Creation order when the writer tracked it, else by name. */
            if (H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, collect_name, &all) < 0) {
                for (int i = 0; i < all.n; i++) free(all.names[i]);
                all.n = 0;
                H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &all);
            }
            H5Gclose(g);
        }
    }
    if (st == XAI_OK) {
        a->names = xai_calloc(all.n ? all.n : 1, sizeof *a->names);
        a->kinds = xai_calloc(all.n ? all.n : 1, sizeof *a->kinds);
        for (int i = 0; i < all.n; i++)
            if (!methods || in_csv_list(methods, all.names[i])) a->names[a->nmethods++] = xai_strdup(all.names[i]);
        if (methods)
            for (const char *p = methods; *p;) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                int found = 0;
                for (int i = 0; i < a->nmethods; i++) found |= strlen(a->names[i]) == len && !strncmp(a->names[i], p, len);
                if (!found) {
                    st = xai_fail(XAI_ENOTFOUND, "%s: no method '%.*s' under /attributions (see h5ls %s/attributions)",
                                  path, (int)len, p, path);
                    break;
                }
                p = e ? e + 1 : p + len;
            }
        if (st == XAI_OK && a->nmethods == 0) st = xai_fail(XAI_EFORMAT, "%s: /attributions holds no methods", path);
    }
    for (int i = 0; i < all.n; i++) free(all.names[i]);
    free(all.names);
    if (st == XAI_OK) a->attr = xai_calloc(a->nmethods, sizeof *a->attr);
    for (int i = 0; st == XAI_OK && i < a->nmethods; i++) {
        char name[600], kind[64] = "";
        snprintf(name, sizeof name, "/attributions/%s", a->names[i]);
        hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
        if (ds >= 0) {
            xai_h5_get_str(ds, "kind", kind, sizeof kind);
            H5Dclose(ds);
        }
        a->kinds[i] = xai_strdup(kind);
        a->attr[i] = xai_malloc((size_t)a->n * size * sizeof(float));
        uint64_t img[3] = {(uint64_t)a->shape.c, (uint64_t)a->shape.h, (uint64_t)a->shape.w};
        st = read_rows(f, path, name, H5T_NATIVE_FLOAT, a->attr[i], a->n, 4, img);
    }
    H5Fclose(f);
    if (st != XAI_OK) afile_free(a);
    return st;
}

/* A per-image float64 vector of one method such as /ig/f_baseline/<method>; ENOTFOUND when absent. */
static xai_status read_method_vec(const afile *a, const char *group, const char *method, double *v, int cols)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, a->path, 0));
    char name[600];
    snprintf(name, sizeof name, "/%s/%s", group, method);
    xai_status st = XAI_ENOTFOUND;
    if (xai_h5_exists(f, name)) {
        uint64_t tail[1] = {(uint64_t)cols};
        st = read_rows(f, a->path, name, H5T_NATIVE_DOUBLE, v, a->n, cols > 1 ? 2 : 1, cols > 1 ? tail : NULL);
    }
    H5Fclose(f);
    return st;
}

/* Columns of a per-image 2-D vector (e.g. LRP layer sums); -1 when absent. */
static int method_vec_cols(const afile *a, const char *group, const char *method)
{
    hid_t f;
    if (xai_h5_open(&f, a->path, 0) != XAI_OK) return -1;
    char name[600];
    uint64_t d[8];
    snprintf(name, sizeof name, "/%s/%s", group, method);
    int r = xai_h5_dims(f, name, d);
    H5Fclose(f);
    return r == 2 ? (int)d[1] : -1;
}

/* Rebuilds a method from its dataset attributes: the spec, then every setting stored beside it
 * (`xai explain` may have overridden the spec's defaults from its own options). */
static xai_status method_of(xai_method *meth, const afile *a, int i)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, a->path, 0));
    char name[600], spec[256], s[64];
    snprintf(name, sizeof name, "/attributions/%s", a->names[i]);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) {
        H5Fclose(f);
        return xai_fail(XAI_EFORMAT, "%s: cannot open %s", a->path, name);
    }
    if (xai_h5_get_str(ds, "method", spec, sizeof spec) != XAI_OK) snprintf(spec, sizeof spec, "%s", a->names[i]);
    xai_status st = xai_method_parse(meth, spec, NULL);
    int64_t v;
    double d;
    if (st == XAI_OK && meth->kind == XAI_METHOD_IG) {
        if (xai_h5_get_i64(ds, "steps", &v) == XAI_OK) meth->ig.steps = (int)v;
        if (xai_h5_get_str(ds, "rule", s, sizeof s) == XAI_OK && xai_quad_rule_from_name(s) >= 0)
            meth->ig.rule = xai_quad_rule_from_name(s);
        if (xai_h5_get_str(ds, "baseline", s, sizeof s) == XAI_OK && xai_baseline_from_name(s) >= 0)
            meth->ig.baseline = xai_baseline_from_name(s);
        if (xai_h5_get_f64(ds, "baseline_value", &d) == XAI_OK) meth->ig.value = d;
        if (xai_h5_get_f64(ds, "blur_sigma", &d) == XAI_OK) meth->ig.sigma = d;
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->ig.seed = (uint64_t)v;
    } else if (st == XAI_OK && meth->kind == XAI_METHOD_LRP) {
        xai_h5_get_f64(ds, "epsilon", &meth->lrp.epsilon);
        xai_h5_get_f64(ds, "gamma", &meth->lrp.gamma);
        xai_h5_get_f64(ds, "alpha", &meth->lrp.alpha);
        xai_h5_get_f64(ds, "beta", &meth->lrp.beta);
        xai_h5_get_f64(ds, "stabilizer", &meth->lrp.stabilizer);
        xai_h5_get_f64(ds, "zb_low", &meth->lrp.zb_low);
        xai_h5_get_f64(ds, "zb_high", &meth->lrp.zb_high);
        if (xai_h5_get_str(ds, "bias", s, sizeof s) == XAI_OK) meth->lrp.bias_input = strcmp(s, "ignore") != 0;
    } else if (st == XAI_OK && meth->kind == XAI_METHOD_SMOOTHGRAD) {
        if (xai_h5_get_i64(ds, "samples", &v) == XAI_OK) meth->sg.samples = (int)v;
        xai_h5_get_f64(ds, "noise", &meth->sg.noise);
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->sg.seed = (uint64_t)v;
    } else if (st == XAI_OK && meth->kind == XAI_METHOD_RANDOM) {
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->seed = (uint64_t)v;
    }
    H5Dclose(ds);
    H5Fclose(f);
    if (st != XAI_OK) return xai_fail(st, "%s: method '%s': %s", a->path, a->names[i], xai_errmsg());
    return XAI_OK;
}

/* ------------------------------------------------------------ writing */

static xai_status put_f64(hid_t loc, const char *name, const double *v, int rank, const uint64_t *dims)
{
    return xai_h5_write(loc, name, H5T_NATIVE_DOUBLE, v, rank, dims);
}

static hid_t open_group(hid_t loc, const char *path, xai_status *st)
{
    if (*st != XAI_OK) return -1;
    hid_t g = xai_h5_group(loc, path);
    if (g < 0) *st = xai_fail(XAI_EIO, "HDF5: cannot create group '%s'", path);
    return g;
}

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

/* Per-image AOPC of one curve, on logits (q = 0) or probabilities (q = 1). */
typedef struct {
    double *aopc[2], *auc[2]; /* (N) each */
} curve_scores;

static void scores_of(curve_scores *cs, const xai_flip_curve *c, const xai_flip_result *r)
{
    for (int q = 0; q < 2; q++) {
        cs->aopc[q] = xai_malloc((size_t)r->n * sizeof(double));
        cs->auc[q] = xai_malloc((size_t)r->n * sizeof(double));
        xai_flip_aopc(cs->aopc[q], q ? c->prob : c->logit, r->n, r->nsteps);
        xai_flip_auc(cs->auc[q], q ? c->prob : c->logit, r->frac, r->n, r->nsteps);
    }
}

static void scores_free(curve_scores *cs)
{
    for (int q = 0; q < 2; q++) free(cs->aopc[q]), free(cs->auc[q]);
}

static const char *qname[2] = {"logit", "prob"};

/* <parent>/<name>/{logit,prob}/{curves, mean, stderr, aopc, auc} with @aopc_*, @auc_*. */
static xai_status write_order(hid_t parent, const char *name, const xai_flip_curve *c, const curve_scores *cs,
                              const xai_flip_result *r)
{
    xai_status st = XAI_OK;
    int k1 = r->nsteps + 1;
    double *mean = xai_malloc(k1 * sizeof *mean), *se = xai_malloc(k1 * sizeof *se);
    hid_t g = open_group(parent, name, &st);
    for (int q = 0; st == XAI_OK && q < 2; q++) {
        hid_t h = open_group(g, qname[q], &st);
        if (st != XAI_OK) break;
        const float *cv = q ? c->prob : c->logit;
        uint64_t d2[2] = {(uint64_t)r->n, (uint64_t)k1}, dk[1] = {(uint64_t)k1}, dn[1] = {(uint64_t)r->n};
        xai_flip_curve_stats(mean, se, cv, r->n, r->nsteps);
        st = xai_h5_write_f32(h, "curves", cv, 2, d2);
        if (st == XAI_OK) st = put_f64(h, "mean", mean, 1, dk);
        if (st == XAI_OK) st = put_f64(h, "stderr", se, 1, dk);
        if (st == XAI_OK) st = put_f64(h, "aopc", cs->aopc[q], 1, dn);
        if (st == XAI_OK) st = put_f64(h, "auc", cs->auc[q], 1, dn);
        if (st == XAI_OK) st = put_stats(h, "aopc_", cs->aopc[q], r->n);
        if (st == XAI_OK) st = put_stats(h, "auc_", cs->auc[q], r->n);
        H5Gclose(h);
    }
    if (g >= 0) H5Gclose(g);
    free(mean);
    free(se);
    return st;
}

/* <parent>/<name>/{logit,prob}: values (N) = a - b per image, @mean @se @z (= mean / se). */
static xai_status write_diff(hid_t parent, const char *name, double *const a[2], double *const b[2], int n)
{
    xai_status st = XAI_OK;
    double *v = xai_malloc((size_t)n * sizeof *v);
    hid_t g = open_group(parent, name, &st);
    for (int q = 0; st == XAI_OK && q < 2; q++) {
        hid_t h = open_group(g, qname[q], &st);
        if (st != XAI_OK) break;
        for (int i = 0; i < n; i++) v[i] = a[q][i] - b[q][i];
        uint64_t dn[1] = {(uint64_t)n};
        xai_stats s;
        xai_stats_of(&s, v, n);
        st = put_f64(h, "values", v, 1, dn);
        if (st == XAI_OK) st = xai_h5_attr_f64(h, "mean", s.mean);
        if (st == XAI_OK) st = xai_h5_attr_f64(h, "se", s.se);
        if (st == XAI_OK) st = xai_h5_attr_f64(h, "z", s.mean / s.se);
        H5Gclose(h);
    }
    if (g >= 0) H5Gclose(g);
    free(v);
    return st;
}

/* ------------------------------------------------------- completeness */

typedef struct {
    double *rel, *abs_err, *sum; /* (N) */
    float *fref;                 /* (N) or NULL: conservation of f(x) */
    char reference[160];
    int lrp_cols;                /* L + 1 when LRP layer sums were found */
    double *layer_share;         /* (L) mean share of f(x) absorbed in each layer */
} completeness;

static void completeness_free(completeness *c)
{
    free(c->rel);
    free(c->abs_err);
    free(c->sum);
    free(c->fref);
    free(c->layer_share);
}

static xai_status completeness_of(completeness *c, const afile *a, int mi, xai_model *m, const float *fx)
{
    memset(c, 0, sizeof *c);
    int n = a->n;
    size_t size = xai_shape_size(a->shape);
    c->rel = xai_malloc((size_t)n * sizeof *c->rel);
    c->abs_err = xai_malloc((size_t)n * sizeof *c->abs_err);
    c->sum = xai_malloc((size_t)n * sizeof *c->sum);
    if (!strcmp(a->kinds[mi], "ig")) {
        /* IG is complete against its own baseline: f(x) - f(x'). */
        double *fb = xai_malloc((size_t)n * sizeof *fb);
        c->fref = xai_malloc((size_t)n * sizeof *c->fref);
        xai_status st = read_method_vec(a, "ig/f_baseline", a->names[mi], fb, 1);
        if (st == XAI_OK) {
            for (int i = 0; i < n; i++) c->fref[i] = (float)fb[i];
            snprintf(c->reference, sizeof c->reference, "f(x) - f(x'), f(x') from /ig/f_baseline/%s", a->names[mi]);
        } else if (st == XAI_ENOTFOUND) {
            /* No stored f(x'): rebuild the baselines (image ids = /indices) and run them through the net. */
            xai_method meth;
            st = method_of(&meth, a, mi);
            if (st == XAI_OK) {
                float *xb = xai_malloc((size_t)n * size * sizeof *xb), *scr = xai_malloc(size * sizeof *scr);
                for (int i = 0; i < n; i++)
                    xai_ig_baseline(xb + (size_t)i * size, a->inputs + (size_t)i * size, a->shape, &meth.ig, m->mean,
                                    m->std, (uint64_t)a->indices[i], scr);
                xai_target_logits(c->fref, m, xb, a->targets, n);
                free(xb);
                free(scr);
                snprintf(c->reference, sizeof c->reference, "f(x) - f(x'), x' the '%s' baseline rebuilt",
                         xai_baseline_name(meth.ig.baseline));
            }
        }
        free(fb);
        if (st != XAI_OK) return st;
    } else {
        snprintf(c->reference, sizeof c->reference, "f(x) (conservation)");
    }
    xai_completeness(c->rel, c->abs_err, c->sum, a->attr[mi], size, fx, c->fref, n);
    int cols = !strcmp(a->kinds[mi], "lrp") ? method_vec_cols(a, "lrp/layer_sums", a->names[mi]) : -1;
    if (cols >= 2) {
        double *ls = xai_malloc((size_t)n * cols * sizeof *ls);
        if (read_method_vec(a, "lrp/layer_sums", a->names[mi], ls, cols) == XAI_OK) {
            c->lrp_cols = cols;
            c->layer_share = xai_calloc(cols - 1, sizeof *c->layer_share);
            /* Relevance lost between a layer's output and its input, as a share of f(x). */
            for (int j = 0; j < cols - 1; j++) {
                double acc = 0;
                for (int i = 0; i < n; i++) {
                    const double *row = ls + (size_t)i * cols;
                    acc += row[cols - 1] != 0 ? (row[j + 1] - row[j]) / row[cols - 1] : 0;
                }
                c->layer_share[j] = acc / n;
            }
        }
        free(ls);
    }
    return XAI_OK;
}

static xai_status write_completeness(hid_t mg, const completeness *c, const float *fx, const char *kind, int n)
{
    xai_status st = XAI_OK;
    hid_t g = open_group(mg, "completeness", &st);
    if (st != XAI_OK) return st;
    uint64_t dn[1] = {(uint64_t)n};
    double *v = xai_malloc((size_t)n * sizeof *v);
    st = put_f64(g, "rel_error", c->rel, 1, dn);
    if (st == XAI_OK) st = put_f64(g, "abs_error", c->abs_err, 1, dn);
    if (st == XAI_OK) st = put_f64(g, "sum", c->sum, 1, dn);
    if (st == XAI_OK) st = xai_h5_write_f32(g, "f_x", fx, 1, dn);
    if (st == XAI_OK && c->fref) st = xai_h5_write_f32(g, "f_ref", c->fref, 1, dn);
    xai_stats s;
    xai_stats_of(&s, c->rel, n);
    if (st == XAI_OK) st = xai_h5_attr_f64(g, "median", s.median);
    if (st == XAI_OK) st = xai_h5_attr_f64(g, "p90", s.p90);
    if (st == XAI_OK) st = xai_h5_attr_f64(g, "mean", s.mean);
    if (st == XAI_OK) st = xai_h5_attr_str(g, "reference", c->reference);
    if (st == XAI_OK && !strcmp(kind, "lrp")) {
        /* Conservation: what the input did not receive went to biases and stabilisers. */
        for (int i = 0; i < n; i++) v[i] = fx[i] != 0 ? (fx[i] - c->sum[i]) / fx[i] : 0;
        hid_t h = open_group(g, "lrp", &st);
        if (st == XAI_OK) st = put_f64(h, "absorbed_share", v, 1, dn);
        if (st == XAI_OK) st = put_stats(h, "absorbed_share_", v, n);
        for (int i = 0; i < n; i++) v[i] = c->sum[i] - fx[i];
        if (st == XAI_OK) st = put_f64(h, "residual", v, 1, dn);
        if (st == XAI_OK && c->lrp_cols) {
            uint64_t dl[1] = {(uint64_t)c->lrp_cols - 1};
            st = put_f64(h, "layer_absorbed_share", c->layer_share, 1, dl);
        }
        if (h >= 0) H5Gclose(h);
    }
    free(v);
    H5Gclose(g);
    return st;
}

/* -------------------------------------------------------- sanity, IG */

static xai_status run_sanity(hid_t mg, const afile *a, int mi, xai_model *m, int n, uint64_t seed, FILE *log)
{
    xai_method meth;
    XAI_TRY(method_of(&meth, a, mi));
    xai_sanity_result r;
    XAI_TRY(xai_sanity_cascade(&r, m, a->inputs, a->targets, n, xai_method_attr_fn, &meth, seed));
    xai_status st = XAI_OK;
    hid_t g = open_group(mg, "sanity", &st);
    int S = r.nsteps;
    int64_t *layers = xai_malloc(S * sizeof *layers);
    double *mean = xai_malloc(3 * S * sizeof *mean), *se = xai_malloc(3 * S * sizeof *se);
    double *v = xai_malloc((size_t)n * sizeof *v);
    float *arr[3] = {r.spearman, r.spearman_abs, r.ssim};
    const char *names[3] = {"spearman", "spearman_abs", "ssim"};
    for (int s = 0; s < S; s++) layers[s] = r.layer[s];
    for (int q = 0; q < 3; q++)
        for (int s = 0; s < S; s++) {
            for (int i = 0; i < n; i++) v[i] = arr[q][(size_t)s * n + i];
            xai_stats t;
            xai_stats_of(&t, v, n);
            mean[q * S + s] = t.mean;
            se[q * S + s] = t.se;
        }
    uint64_t ds[1] = {(uint64_t)S}, d2[2] = {(uint64_t)S, (uint64_t)n};
    if (st == XAI_OK) st = xai_h5_write(g, "layer", H5T_NATIVE_INT64, layers, 1, ds);
    for (int q = 0; st == XAI_OK && q < 3; q++) {
        char nm[64];
        st = xai_h5_write_f32(g, names[q], arr[q], 2, d2);
        snprintf(nm, sizeof nm, "%s_mean", names[q]);
        if (st == XAI_OK) st = put_f64(g, nm, mean + q * S, 1, ds);
        snprintf(nm, sizeof nm, "%s_stderr", names[q]);
        if (st == XAI_OK) st = put_f64(g, nm, se + q * S, 1, ds);
    }
    if (st == XAI_OK) st = xai_h5_attr_i64(g, "n_images", n);
    if (st == XAI_OK) st = xai_h5_attr_i64(g, "seed", (int64_t)seed);
    if (g >= 0) H5Gclose(g);
    fprintf(log, "randomisation test %s (%d images), means of: spearman, spearman |.|, ssim |.|\n", a->names[mi], n);
    for (int s = 0; s < S; s++) {
        char what[64] = "original model";
        if (s > 0) snprintf(what, sizeof what, "down to layer %d (%s)", r.layer[s], xai_layer_type_name(m->layers[r.layer[s]].type));
        fprintf(log, "  %-28s %7.3f %7.3f %7.3f\n", what, mean[s], mean[S + s], mean[2 * S + s]);
    }
    free(layers);
    free(mean);
    free(se);
    free(v);
    xai_sanity_result_free(&r);
    return st;
}

static xai_status run_ig_curve(hid_t root, const char *name, const xai_method *meth, const afile *a, xai_model *m,
                               int n, const eval_opts *o, FILE *log)
{
    size_t size = xai_shape_size(a->shape);
    float *xb = xai_malloc((size_t)n * size * sizeof *xb), *attr = xai_malloc((size_t)n * size * sizeof *attr);
    float *scr = xai_malloc(size * sizeof *scr), *fx = xai_malloc(n * sizeof *fx), *fb = xai_malloc(n * sizeof *fb);
    for (int i = 0; i < n; i++)
        xai_ig_baseline(xb + (size_t)i * size, a->inputs + (size_t)i * size, a->shape, &meth->ig, m->mean, m->std,
                        (uint64_t)a->indices[i], scr);
    xai_target_logits(fx, m, a->inputs, a->targets, n);
    xai_target_logits(fb, m, xb, a->targets, n);
    int S = o->nig_steps, R = o->nig_rules;
    double *rel = xai_malloc((size_t)S * n * sizeof *rel), *med = xai_malloc((size_t)R * S * sizeof *med);
    double *p90 = xai_malloc(S * sizeof *p90), *mean = xai_malloc(S * sizeof *mean);
    int64_t *steps = xai_malloc(S * sizeof *steps);
    for (int s = 0; s < S; s++) steps[s] = o->ig_steps[s];
    xai_status st = XAI_OK;
    char path[600];
    snprintf(path, sizeof path, "ig_steps/%s", name);
    hid_t g = open_group(root, path, &st);
    if (st == XAI_OK) st = xai_h5_attr_str(g, "baseline", xai_baseline_name(meth->ig.baseline));
    if (st == XAI_OK) st = xai_h5_attr_i64(g, "n_images", n);
    xai_progress p;
    xai_progress_start(&p, "IG step curve", (double)R * S, "run");
    for (int ri = 0; st == XAI_OK && ri < R; ri++) {
        for (int s = 0; st == XAI_OK && s < S; s++) {
            xai_ig_opts io = meth->ig;
            io.rule = o->ig_rules[ri];
            io.steps = o->ig_steps[s];
            st = xai_ig(m, &io, a->inputs, xb, a->targets, a->indices, n, attr, NULL, NULL);
            if (st != XAI_OK) break;
            xai_completeness(rel + (size_t)s * n, NULL, NULL, attr, size, fx, fb, n);
            xai_stats t;
            xai_stats_of(&t, rel + (size_t)s * n, n);
            med[ri * S + s] = t.median;
            p90[s] = t.p90;
            mean[s] = t.mean;
            xai_progress_update(&p, (double)ri * S + s + 1);
        }
        if (st != XAI_OK) break;
        hid_t h = open_group(g, xai_quad_rule_name(o->ig_rules[ri]), &st);
        uint64_t dS[1] = {(uint64_t)S}, d2[2] = {(uint64_t)S, (uint64_t)n};
        if (st == XAI_OK) st = xai_h5_write(h, "steps", H5T_NATIVE_INT64, steps, 1, dS);
        if (st == XAI_OK) st = put_f64(h, "rel_error", rel, 2, d2);
        if (st == XAI_OK) st = put_f64(h, "median", med + ri * S, 1, dS);
        if (st == XAI_OK) st = put_f64(h, "p90", p90, 1, dS);
        if (st == XAI_OK) st = put_f64(h, "mean", mean, 1, dS);
        if (h >= 0) H5Gclose(h);
    }
    xai_progress_end(&p, NULL);
    if (g >= 0) H5Gclose(g);
    if (st == XAI_OK) {
        fprintf(log, "IG completeness, median |sum(attr) - (f(x) - f(x'))| / |f(x) - f(x')| in %% (%s, baseline %s, %d images)\n",
                name, xai_baseline_name(meth->ig.baseline), n);
        fprintf(log, "  %6s", "steps");
        for (int ri = 0; ri < R; ri++) fprintf(log, " %10s", xai_quad_rule_name(o->ig_rules[ri]));
        fputc('\n', log);
        for (int s = 0; s < S; s++) {
            fprintf(log, "  %6d", o->ig_steps[s]);
            for (int ri = 0; ri < R; ri++) fprintf(log, " %10.4f", 100 * med[ri * S + s]);
            fputc('\n', log);
        }
    }
    free(xb);
    free(attr);
    free(scr);
    free(fx);
    free(fb);
    free(rel);
    free(med);
    free(p90);
    free(mean);
    free(steps);
    return st;
}

/* Pure inference speed of the same model on full batches of the same images, for the cost
 * comparison (best of three timed passes after a warm-up one). */
static double infer_rate(xai_model *m, const float *x, int n)
{
    size_t size = xai_shape_size(m->in);
    int B = m->max_batch;
    for (int r = 0; r < B; r++) memcpy(m->acts[0] + (size_t)r * size, x + (size_t)(r % n) * size, size * sizeof *x);
    xai_model_forward(m, m->acts[0], B);
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = xai_now();
        xai_model_forward(m, m->acts[0], B);
        double t = xai_now() - t0;
        if (t < best) best = t;
    }
    return B / (best > 0 ? best : 1e-9);
}

/* -------------------------------------------------------------- main */

static xai_status evaluate(const eval_opts *o, const char *out)
{
    afile a;
    XAI_TRY(afile_read(&a, o->attr, o->n, o->methods));
    xai_model *m = NULL;
    xai_status st = xai_model_load(&m, o->model, o->batch);
    if (st != XAI_OK) {
        afile_free(&a);
        return st;
    }
    m->train = 0;
    int n = a.n, K = m->nclasses;
    float *fx = xai_malloc((size_t)n * sizeof *fx);
    xai_flip_result r = {0};
    curve_scores rs = {{0}, {0}}, *ms = NULL, *ls = NULL;
    xai_h5file hf = {0};
    if (a.shape.c != m->in.c || a.shape.h != m->in.h || a.shape.w != m->in.w || a.nclasses != K)
        st = xai_fail(XAI_EFORMAT, "%s: inputs %dx%dx%d with %d classes do not fit the model %s (%dx%dx%d, %d classes)",
                      o->attr, a.shape.c, a.shape.h, a.shape.w, a.nclasses, o->model, m->in.c, m->in.h, m->in.w, K);
    for (int i = 0; st == XAI_OK && i < n; i++)
        if (a.targets[i] < 0 || a.targets[i] >= K)
            st = xai_fail(XAI_EFORMAT, "%s: /targets[%d] = %d, expected 0..%d", o->attr, i, a.targets[i], K - 1);
    if (st == XAI_OK) {
        /* The model must be the one that was explained: compare logits. */
        xai_target_logits(fx, m, a.inputs, a.targets, n);
        for (int i = 0; st == XAI_OK && i < n; i++) {
            float l = a.logits[(size_t)i * K + a.targets[i]];
            if (!(fabsf(fx[i] - l) <= 1e-3f * (1 + fabsf(l))))
                st = xai_fail(XAI_EINVAL,
                              "%s: image %d has target logit %g under %s but %g in the attribution file: explain and "
                              "evaluate with the same model",
                              o->attr, i, fx[i], o->model, l);
        }
    }
    /* Fail on an unwritable output before the long work. */
    if (st == XAI_OK) st = xai_h5_create(&hf, out);
    double ref_rate = 0;
    if (st == XAI_OK) {
        ref_rate = infer_rate(m, a.inputs, n);
        st = xai_pixelflip(&r, m, a.inputs, a.targets, a.indices, n, (const float *const *)a.attr, a.nmethods, &o->flip);
    }
    hid_t root = -1, methods = -1;
    if (st == XAI_OK) {
        root = H5Gopen2(hf.id, "/", H5P_DEFAULT);
        size_t len = 1;
        for (int i = 0; i < a.nmethods; i++) len += strlen(a.names[i]) + 1;
        char *list = xai_calloc(len, 1);
        for (int i = 0; i < a.nmethods; i++) {
            if (i) strcat(list, ",");
            strcat(list, a.names[i]);
        }
        double rate = r.forward_images / (r.seconds > 0 ? r.seconds : 1e-9);
        st = xai_h5_attr_str(root, "format", "xai-metrics-1");
        if (st == XAI_OK) st = xai_h5_attr_str(root, "program_version", xai_version());
        if (st == XAI_OK) st = xai_h5_attr_str(root, "model_path", o->model);
        if (st == XAI_OK) st = xai_h5_attr_str(root, "attributions_path", o->attr);
        if (st == XAI_OK) st = xai_h5_attr_str(root, "model_sha256", a.model_sha256);
        if (st == XAI_OK) st = xai_h5_attr_str(root, "methods", list);
        if (st == XAI_OK) st = xai_h5_attr_str(root, "perturb", xai_perturb_name(o->flip.perturb));
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "patch", o->flip.patch);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "per_step", r.per_step);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "steps", r.nsteps);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "fraction", o->flip.fraction);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "blur_sigma", o->flip.blur_sigma);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "seed", (int64_t)o->flip.seed);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "n_images", n);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "n_features", r.nfeatures);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "forward_images", r.forward_images);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "seconds", r.seconds);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "images_per_s", rate);
        if (st == XAI_OK) st = xai_h5_attr_f64(root, "inference_images_per_s", ref_rate);
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "threads", xai_threads());
        if (st == XAI_OK) st = xai_h5_attr_i64(root, "batch", o->batch);
        free(list);
        uint64_t dn[1] = {(uint64_t)n}, dk[1] = {(uint64_t)r.nsteps + 1};
        if (st == XAI_OK) st = xai_h5_write(root, "images/index", H5T_NATIVE_INT64, a.indices, 1, dn);
        if (st == XAI_OK) st = xai_h5_write(root, "images/target", H5T_NATIVE_INT32, a.targets, 1, dn);
        if (st == XAI_OK) st = xai_h5_write(root, "images/label", H5T_NATIVE_INT32, a.labels, 1, dn);
        if (st == XAI_OK) st = xai_h5_write_f32(root, "images/logit", fx, 1, dn);
        if (st == XAI_OK) st = xai_h5_write(root, "steps/removed", H5T_NATIVE_INT64, r.removed, 1, dk);
        if (st == XAI_OK) st = put_f64(root, "steps/fraction", r.frac, 1, dk);
        scores_of(&rs, &r.random, &r);
        if (st == XAI_OK) st = write_order(root, "random", &r.random, &rs, &r);
        methods = open_group(root, "methods", &st);
        printf("pixel flipping: %d images, %d features (patch %d), %d steps of %d, perturbation %s\n", n, r.nfeatures,
               o->flip.patch, r.nsteps, r.per_step, xai_perturb_name(o->flip.perturb));
        printf("  evaluation: %.0f images through the net in %.2f s, %.0f img/s; plain inference of the same\n"
               "  model and batch (%d): %.0f img/s, so the evaluation runs at %.0f%% of inference speed\n",
               r.forward_images, r.seconds, rate, o->batch, ref_rate, ref_rate > 0 ? 100 * rate / ref_rate : 0);
        printf("  %-28s %18s %18s %18s %8s %12s\n", "method (target logit)", "AOPC MoRF (se)", "AOPC LeRF (se)",
               "ABPC (se)", "z vs rnd", "compl. med");
        xai_stats t;
        xai_stats_of(&t, rs.aopc[0], n);
        printf("  %-28s %10.4f (%.4f) %18s %18s %8s %12s\n", "random control", t.mean, t.se, "", "", "", "");
    }
    if (st == XAI_OK) {
        ms = xai_calloc(a.nmethods, sizeof *ms);
        ls = xai_calloc(a.nmethods, sizeof *ls);
    }
    for (int i = 0; st == XAI_OK && i < a.nmethods; i++) {
        hid_t mg = open_group(methods, a.names[i], &st);
        if (st != XAI_OK) break;
        scores_of(&ms[i], &r.morf[i], &r);
        scores_of(&ls[i], &r.lerf[i], &r);
        st = xai_h5_attr_str(mg, "kind", a.kinds[i]);
        if (st == XAI_OK) st = write_order(mg, "morf", &r.morf[i], &ms[i], &r);
        if (st == XAI_OK) st = write_order(mg, "lerf", &r.lerf[i], &ls[i], &r);
        if (st == XAI_OK && H5Lcreate_hard(root, "random", mg, "random", H5P_DEFAULT, H5P_DEFAULT) < 0)
            st = xai_fail(XAI_EIO, "HDF5: cannot link /methods/%s/random", a.names[i]);
        /* ABPC = AUC(LeRF) - AUC(MoRF); vs_random = AOPC(MoRF) - AOPC(random), paired per image. */
        if (st == XAI_OK) st = write_diff(mg, "abpc", ls[i].auc, ms[i].auc, n);
        if (st == XAI_OK) st = write_diff(mg, "vs_random", ms[i].aopc, rs.aopc, n);
        completeness c;
        if (st == XAI_OK) {
            st = completeness_of(&c, &a, i, m, fx);
            if (st == XAI_OK) {
                st = write_completeness(mg, &c, fx, a.kinds[i], n);
                xai_stats am, al, ab, cr, dz;
                double *v = xai_malloc((size_t)n * sizeof *v);
                xai_stats_of(&am, ms[i].aopc[0], n);
                xai_stats_of(&al, ls[i].aopc[0], n);
                for (int j = 0; j < n; j++) v[j] = ls[i].auc[0][j] - ms[i].auc[0][j];
                xai_stats_of(&ab, v, n);
                for (int j = 0; j < n; j++) v[j] = ms[i].aopc[0][j] - rs.aopc[0][j];
                xai_stats_of(&dz, v, n);
                xai_stats_of(&cr, c.rel, n);
                printf("  %-28s %10.4f (%.4f) %10.4f (%.4f) %10.4f (%.4f) %8.1f %12.3g\n", a.names[i], am.mean, am.se,
                       al.mean, al.se, ab.mean, ab.se, dz.mean / dz.se, cr.median);
                free(v);
            }
            completeness_free(&c);
        }
        H5Gclose(mg);
    }
    for (int i = 0; st == XAI_OK && o->sanity && i < a.nmethods; i++) {
        hid_t mg = open_group(methods, a.names[i], &st);
        if (st != XAI_OK) break;
        st = run_sanity(mg, &a, i, m, o->sanity_n < n ? o->sanity_n : n, o->flip.seed, stdout);
        H5Gclose(mg);
    }
    if (st == XAI_OK && o->ig_curve) {
        int nig = o->ig_n < n ? o->ig_n : n, any = 0;
        for (int i = 0; st == XAI_OK && i < a.nmethods; i++) {
            if (strcmp(a.kinds[i], "ig") != 0) continue;
            xai_method meth;
            st = method_of(&meth, &a, i);
            if (st == XAI_OK) st = run_ig_curve(root, a.names[i], &meth, &a, m, nig, o, stdout);
            any = 1;
        }
        if (st == XAI_OK && !any) {
            xai_method meth;
            st = xai_method_parse(&meth, "ig", NULL);
            if (st == XAI_OK) st = run_ig_curve(root, "ig", &meth, &a, m, nig, o, stdout);
        }
    }
    if (methods >= 0) H5Gclose(methods);
    if (root >= 0) H5Gclose(root);
    if (hf.id > 0) {
        if (st == XAI_OK) st = xai_h5_commit(&hf);
        else xai_h5_abort(&hf);
    }
    if (st == XAI_OK) printf("wrote %s\n", out);
    if (ms)
        for (int i = 0; i < a.nmethods; i++) scores_free(&ms[i]), scores_free(&ls[i]);
    free(ms);
    free(ls);
    scores_free(&rs);
    xai_flip_result_free(&r);
    free(fx);
    xai_model_free(m);
    afile_free(&a);
    return st;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xai evaluate --model M.h5 --attributions A.h5 [options]\n"
            "Scores every method of an attribution file (pixel flipping, completeness) and writes HDF5\n"
            "(layout: explainers/METRICS.md).\n"
            "  --out PATH          metrics file (default: metrics.h5 next to the attribution file)\n"
            "  --methods A,B       methods to score (default: all under /attributions)\n"
            "  --n N               first N images of the file (default: all)\n"
            "  --patch P           feature = P x P patch, relevance summed over it and the channels (default 1)\n"
            "  --perturb KIND      removed features become zero (black) | mean (dataset mean) | noise\n"
            "                      (uniform, seeded) | blur (Gaussian-blurred image) (default zero)\n"
            "  --blur-sigma S      blur perturbation sigma in pixels (default 2)\n"
            "  --steps K           perturbation steps (default 50)\n"
            "  --per-step F        features removed per step (overrides --steps)\n"
            "  --fraction X        stop once this fraction of the features is removed (default 0.5)\n"
            "  --seed S            noise, random control order and re-initialisation seed (default 1)\n"
            "  --batch B           images per forward pass (default 256)\n"
            "  --sanity [yes|no]   model-parameter randomisation test for every method\n"
            "  --sanity-n N        images for it (default 100)\n"
            "  --ig-curve [yes|no] IG completeness error over step counts and quadrature rules\n"
            "  --ig-steps LIST     step counts (default 4,8,16,32,64,128,256)\n"
            "  --ig-rules LIST     rules (default left,right,midpoint,trapezoid,gauss)\n"
            "  --ig-n N            images for it (default 100)\n"
            "  --summary CSV       also write summary rows (method, AOPC MoRF/LeRF, completeness) to CSV\n"
            "  --label L           first column of the summary rows (default: the attribution file)\n");
}

static int parse_int_list(const char *v, int *out, int cap, int is_rule)
{
    int n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == cap) return -1;
        if (is_rule) {
            int r = xai_quad_rule_from_name(t);
            if (r < 0) return -1;
            out[n++] = r;
        } else {
            char *end;
            long x = strtol(t, &end, 10);
            if (*end || x < 1 || x > 100000) return -1;
            out[n++] = (int)x;
        }
    }
    return n;
}

static int bool_word(const char *v)
{
    static const char *yes[] = {"1", "yes", "true", "on"}, *no[] = {"0", "no", "false", "off"};
    for (int k = 0; k < 4; k++) {
        if (!strcmp(v, yes[k])) return 1;
        if (!strcmp(v, no[k])) return 0;
    }
    return -1;
}

/* A flag alone turns it on; `--flag=V` or `--flag V` with V a yes/no word sets it, so that
 * config sections passed as `--key value` pairs (xai reproduce) work too. -1: bad value. */
static int flag_value(int argc, char **argv, int *i)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq) return bool_word(eq + 1);
    if (*i + 1 < argc && bool_word(argv[*i + 1]) >= 0) return bool_word(argv[++*i]);
    return 1;
}

static int bad_value(const char *opt, const char *v, const char *want)
{
    fprintf(stderr, "xai evaluate: %s %s: expected %s (see 'xai evaluate --help')\n", opt, v ? v : "(missing)", want);
    return 2;
}

int xai_cmd_evaluate(int argc, char **argv)
{
    eval_opts o;
    memset(&o, 0, sizeof o);
    xai_flip_defaults(&o.flip);
    o.batch = 256;
    o.sanity_n = 100;
    o.ig_n = 100;
    int defsteps[] = {4, 8, 16, 32, 64, 128, 256};
    memcpy(o.ig_steps, defsteps, sizeof defsteps);
    o.nig_steps = 7;
    o.nig_rules = 0;
    for (int r = 0; r < XAI_QUAD_RULES; r++) o.ig_rules[o.nig_rules++] = r;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--sanity") || !strncmp(argv[i], "--sanity=", 9)) {
            if ((o.sanity = flag_value(argc, argv, &i)) < 0) return bad_value("--sanity", argv[i] + 9, "yes or no");
        } else if (!strcmp(argv[i], "--ig-curve") || !strncmp(argv[i], "--ig-curve=", 11)) {
            if ((o.ig_curve = flag_value(argc, argv, &i)) < 0)
                return bad_value("--ig-curve", argv[i] + 11, "yes or no");
        } else if (xai_opt(argc, argv, &i, "--model", &v)) {
            if (!v) return bad_value("--model", v, "a model file");
            o.model = v;
        } else if (xai_opt(argc, argv, &i, "--attributions", &v)) {
            if (!v) return bad_value("--attributions", v, "an attribution file of `xai explain`");
            o.attr = v;
        } else if (xai_opt(argc, argv, &i, "--out", &v)) {
            if (!v) return bad_value("--out", v, "a path");
            o.out = v;
        } else if (xai_opt(argc, argv, &i, "--methods", &v)) {
            if (!v || !*v) return bad_value("--methods", v, "a comma-separated list of method names");
            o.methods = v;
        } else if (xai_opt(argc, argv, &i, "--summary", &v)) {
            if (!v) return bad_value("--summary", v, "a CSV path");
            o.summary = v;
        } else if (xai_opt(argc, argv, &i, "--label", &v)) {
            if (!v) return bad_value("--label", v, "a label");
            o.label = v;
        } else if (xai_opt(argc, argv, &i, "--n", &v)) {
            if (!v || (o.n = (int)strtol(v, &end, 10)) < 1 || *end) return bad_value("--n", v, "a positive integer");
        } else if (xai_opt(argc, argv, &i, "--batch", &v)) {
            if (!v || (o.batch = (int)strtol(v, &end, 10)) < 1 || *end || o.batch > 65536)
                return bad_value("--batch", v, "an integer in 1..65536");
        } else if (xai_opt(argc, argv, &i, "--patch", &v)) {
            if (!v || (o.flip.patch = (int)strtol(v, &end, 10)) < 1 || *end)
                return bad_value("--patch", v, "a positive integer (patch side in pixels)");
        } else if (xai_opt(argc, argv, &i, "--perturb", &v)) {
            int k = v ? xai_perturb_from_name(v) : -1;
            if (k < 0) return bad_value("--perturb", v, "zero, mean, noise or blur");
            o.flip.perturb = k;
        } else if (xai_opt(argc, argv, &i, "--blur-sigma", &v)) {
            if (!v || !((o.flip.blur_sigma = strtof(v, &end)) > 0) || *end)
                return bad_value("--blur-sigma", v, "a positive number of pixels");
        } else if (xai_opt(argc, argv, &i, "--steps", &v)) {
            if (!v || (o.flip.steps = (int)strtol(v, &end, 10)) < 1 || *end)
                return bad_value("--steps", v, "a positive integer");
        } else if (xai_opt(argc, argv, &i, "--per-step", &v)) {
            if (!v || (o.flip.per_step = (int)strtol(v, &end, 10)) < 1 || *end)
                return bad_value("--per-step", v, "a positive integer");
        } else if (xai_opt(argc, argv, &i, "--fraction", &v)) {
            if (!v || !((o.flip.fraction = strtod(v, &end)) > 0 && o.flip.fraction <= 1) || *end)
                return bad_value("--fraction", v, "a number in (0, 1]");
        } else if (xai_opt(argc, argv, &i, "--seed", &v)) {
            if (!v || !*v) return bad_value("--seed", v, "a non-negative integer");
            o.flip.seed = strtoull(v, &end, 10);
            if (*end || v[0] == '-') return bad_value("--seed", v, "a non-negative integer");
        } else if (xai_opt(argc, argv, &i, "--sanity-n", &v)) {
            if (!v || (o.sanity_n = (int)strtol(v, &end, 10)) < 1 || *end)
                return bad_value("--sanity-n", v, "a positive integer");
        } else if (xai_opt(argc, argv, &i, "--ig-n", &v)) {
            if (!v || (o.ig_n = (int)strtol(v, &end, 10)) < 1 || *end) return bad_value("--ig-n", v, "a positive integer");
        } else if (xai_opt(argc, argv, &i, "--ig-steps", &v)) {
            if (!v || (o.nig_steps = parse_int_list(v, o.ig_steps, MAX_LIST, 0)) < 1)
                return bad_value("--ig-steps", v, "up to 16 comma-separated positive integers");
        } else if (xai_opt(argc, argv, &i, "--ig-rules", &v)) {
            if (!v || (o.nig_rules = parse_int_list(v, o.ig_rules, MAX_LIST, 1)) < 1)
                return bad_value("--ig-rules", v, "comma-separated rules: left, right, midpoint, trapezoid, gauss");
        } else {
            fprintf(stderr, "xai evaluate: unknown option '%s' (see 'xai evaluate --help')\n", argv[i]);
            return 2;
        }
    }
    if (!o.model || !o.attr) {
        fprintf(stderr, "xai evaluate: --model and --attributions are required (see 'xai evaluate --help')\n");
        return 2;
    }
    for (int r = 0; o.ig_curve && r < o.nig_rules; r++)
        for (int s = 0; s < o.nig_steps; s++)
            if (o.ig_rules[r] == XAI_QUAD_TRAPEZOID && o.ig_steps[s] < 2) {
                fprintf(stderr, "xai evaluate: --ig-steps: the trapezoid rule needs at least 2 steps\n");
                return 2;
            }
    char *out = NULL;
    if (o.out) out = xai_strdup(o.out);
    else {
        const char *slash = strrchr(o.attr, '/');
        size_t dl = slash ? (size_t)(slash - o.attr) + 1 : 0;
        out = xai_malloc(dl + 16);
        memcpy(out, o.attr, dl);
        strcpy(out + dl, "metrics.h5");
    }
    xai_status st = evaluate(&o, out);
    if (st == XAI_OK && o.summary) {
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        st = mf ? xai_metrics_summary_csv(mf, out, o.label ? o.label : o.attr, 1) : xai_fail(XAI_ENOMEM, "summary: no memory");
        if (mf) fclose(mf);
        if (st == XAI_OK) st = xai_write_file_atomic(o.summary, buf, len);
        if (st == XAI_OK) printf("wrote %s\n", o.summary);
        free(buf);
    }
    free(out);
    return st == XAI_OK ? 0 : xai_cli_error(st);
}
