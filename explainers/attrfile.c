/* attrfile.c: the attribution HDF5 file that `xai explain` writes and every other command reads:
 * the only code that touches its layout (explainers/README.md); written atomically. */
#include "core/h5.h"
#include "core/mpi.h"
#include "explainers/explain.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATTR_FORMAT "xai-attributions-1"

/* ------------------------------------------------------------------ writer */

struct xai_attr_file {
    xai_h5file h5;
    int n;
    xai_shape shape;
    int64_t row0, nrows; /* this rank's images (xai_mpi_shard of n): the rows its methods write */
};

static xai_status write_root_attrs(hid_t f, const xai_attr_header *h, const char *command)
{
    const int C = h->shape.c < 4 ? h->shape.c : 4;
    XAI_TRY(xai_h5_attr_str(f, "format", ATTR_FORMAT));
    XAI_TRY(xai_h5_attr_str(f, "model_path", h->model_path));
    XAI_TRY(xai_h5_attr_str(f, "model_sha256", h->model_sha256));
    XAI_TRY(xai_h5_attr_str(f, "dataset", h->dataset));
    XAI_TRY(xai_h5_attr_str(f, "dataset_sha256", h->dataset_sha256));
    XAI_TRY(xai_h5_attr_str(f, "split", "test"));
    XAI_TRY(xai_h5_attr_str(f, "target_mode", h->target_mode));
    XAI_TRY(xai_h5_attr_f64v(f, "normalize_mean", h->norm_mean, C));
    XAI_TRY(xai_h5_attr_f64v(f, "normalize_std", h->norm_std, C));
    XAI_TRY(xai_h5_attr_str(f, "program_version", xai_version()));
    XAI_TRY(xai_h5_attr_i64(f, "mpi_ranks", xai_mpi_size()));
    return xai_h5_attr_str(f, "command", command ? command : "");
}

static xai_status write_header(hid_t f, const char *path, const xai_attr_header *h, const char *command)
{
    const uint64_t N = (uint64_t)h->n;
    const uint64_t d4[4] = {N, (uint64_t)h->shape.c, (uint64_t)h->shape.h, (uint64_t)h->shape.w};
    const uint64_t dk[2] = {N, (uint64_t)h->nclasses};
    XAI_TRY(write_root_attrs(f, h, command));
    XAI_TRY(xai_h5_write_f32(f, "inputs", h->inputs, 4, d4));
    XAI_TRY(xai_h5_write_i32(f, "labels", h->labels, 1, &N));
    XAI_TRY(xai_h5_write_i32(f, "targets", h->targets, 1, &N));
    XAI_TRY(xai_h5_write_i64(f, "indices", h->indices, 1, &N));
    XAI_TRY(xai_h5_write_f32(f, "logits", h->logits, 2, dk));
    /* Creation order is tracked so readers list methods in the order they were run. */
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
    hid_t g = H5Gcreate2(f, "attributions", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0) return xai_fail(XAI_EIO, "%s: cannot create group /attributions", path);
    xai_h5_close(g);
    return XAI_OK;
}

xai_status xai_attr_create(xai_attr_writer *w, const char *path, const xai_attr_header *h, const char *command)
{
    memset(w, 0, sizeof *w);
    if (h->n <= 0 || h->nclasses <= 0 || xai_shape_size(h->shape) == 0)
        return xai_fail(XAI_EINVAL, "%s: attribution file needs N > 0 images of a known shape (got N=%d)", path, h->n);
    xai_attr_file *af = xai_calloc(1, sizeof *af);
    xai_status s = xai_h5_create_par(&af->h5, path);
    if (s != XAI_OK) {
        free(af);
        return s;
    }
    af->n = h->n;
    af->shape = h->shape;
    int64_t end;
    xai_mpi_shard(h->n, &af->row0, &end);
    af->nrows = end - af->row0;
    w->f = af;
    /* The header is the same on every rank; a failure on one is a failure on all. */
    if ((s = xai_mpi_agree(write_header(af->h5.id, path, h, command))) != XAI_OK) {
        if (*xai_errmsg()) s = xai_fail(s, "%s: %s", path, xai_errmsg());
        xai_attr_abort(w);
        return s;
    }
    return XAI_OK;
}

/* group/method, (N) or (N, cols) float64: this rank's rows of it, v holding just those. */
static xai_status write_vec(const xai_attr_file *af, const char *group, const char *method, const double *v,
                            uint64_t cols)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", group, method);
    const uint64_t dims[2] = {(uint64_t)af->n, cols};
    return xai_h5_write_rows(af->h5.id, name, XAI_H5_F64, v, cols ? 2 : 1, dims, (uint64_t)af->row0,
                             (uint64_t)af->nrows);
}

static xai_status method_attrs(hid_t d, const xai_method *m, const char *lrp_desc, double seconds, int n)
{
    XAI_TRY(xai_h5_attr_str(d, "method", m->spec));
    XAI_TRY(xai_h5_attr_str(d, "kind", xai_method_kind_name(m->kind)));
    XAI_TRY(xai_h5_attr_f64(d, "seconds", seconds));
    XAI_TRY(xai_h5_attr_f64(d, "seconds_per_attribution", seconds / n));
    switch (m->kind) {
    case XAI_METHOD_IG: {
        const xai_ig_opts *o = &m->ig;
        /* Exact IG has no quadrature: steps 0, rule "exact", no alphas or weights. */
        XAI_TRY(xai_h5_attr_i64(d, "steps", o->exact ? 0 : o->steps));
        XAI_TRY(xai_h5_attr_str(d, "rule", o->exact ? "exact" : xai_quad_rule_name(o->rule)));
        XAI_TRY(xai_h5_attr_str(d, "baseline", xai_baseline_name(o->baseline)));
        XAI_TRY(xai_h5_attr_f64(d, "baseline_value", o->value));
        XAI_TRY(xai_h5_attr_f64(d, "blur_sigma", o->sigma));
        XAI_TRY(xai_h5_attr_i64(d, "seed", (int64_t)o->seed));
        if (o->exact) return XAI_OK;
        double *a = xai_malloc(2 * (size_t)o->steps * sizeof *a);
        xai_status s = XAI_OK;
        if ((s = xai_quadrature(o->rule, o->steps, a, a + o->steps)) != XAI_OK) goto done;
        if ((s = xai_h5_attr_f64v(d, "alphas", a, o->steps)) != XAI_OK) goto done;
        s = xai_h5_attr_f64v(d, "weights", a + o->steps, o->steps);
    done:
        free(a);
        return s;
    }
    case XAI_METHOD_LRP: {
        const xai_lrp_opts *o = &m->lrp;
        XAI_TRY(xai_h5_attr_str(d, "composite", o->composite));
        XAI_TRY(xai_h5_attr_str(d, "layer_rules", lrp_desc ? lrp_desc : ""));
        XAI_TRY(xai_h5_attr_f64(d, "epsilon", o->epsilon));
        XAI_TRY(xai_h5_attr_f64(d, "gamma", o->gamma));
        XAI_TRY(xai_h5_attr_f64(d, "alpha", o->alpha));
        XAI_TRY(xai_h5_attr_f64(d, "beta", o->beta));
        XAI_TRY(xai_h5_attr_f64(d, "stabilizer", o->stabilizer));
        XAI_TRY(xai_h5_attr_str(d, "bias", o->bias_input ? "input" : "ignore"));
        XAI_TRY(xai_h5_attr_f64(d, "zb_low", o->zb_low));
        return xai_h5_attr_f64(d, "zb_high", o->zb_high);
    }
    case XAI_METHOD_SMOOTHGRAD:
        XAI_TRY(xai_h5_attr_i64(d, "samples", m->sg.samples));
        XAI_TRY(xai_h5_attr_f64(d, "noise", m->sg.noise));
        return xai_h5_attr_i64(d, "seed", (int64_t)m->sg.seed);
    case XAI_METHOD_RANDOM: return xai_h5_attr_i64(d, "seed", (int64_t)m->seed);
    default: return XAI_OK;
    }
}

/* ig_exact/{regions,residual,sum,f_x,seconds}/<method>, float64 (N) each; st: this rank's rows. */
static xai_status write_exact(const xai_attr_file *af, const char *method, const xai_ig_exact_stats *st)
{
    static const char *const group[] = {"ig_exact/regions", "ig_exact/residual", "ig_exact/sum", "ig_exact/f_x",
                                        "ig_exact/seconds"};
    enum { NV = sizeof group / sizeof *group };
    const int n = (int)af->nrows;
    double *v = xai_malloc((NV * (size_t)n + 1) * sizeof *v);
    for (int i = 0; i < n; i++) {
        const double row[NV] = {(double)st[i].regions, st[i].residual, st[i].sum, st[i].fx, st[i].seconds};
        for (int g = 0; g < NV; g++) v[(size_t)g * n + i] = row[g];
    }
    xai_status s = XAI_OK;
    for (int g = 0; g < NV && s == XAI_OK; g++) s = write_vec(af, group[g], method, v + (size_t)g * n, 0);
    free(v);
    return s;
}

/* Which side outputs a method has is the same on every rank: each writes its rows of them. */
static xai_status write_aux(const xai_attr_file *af, const xai_method *meth, const xai_explain_aux *aux,
                            int lrp_layers)
{
    if (meth->kind == XAI_METHOD_IG && meth->ig.exact && aux->exact) XAI_TRY(write_exact(af, meth->spec, aux->exact));
    if (meth->kind == XAI_METHOD_IG) {
        if (aux->delta) XAI_TRY(write_vec(af, "ig/delta", meth->spec, aux->delta, 0));
        if (aux->fbase) XAI_TRY(write_vec(af, "ig/f_baseline", meth->spec, aux->fbase, 0));
    }
    if (meth->kind == XAI_METHOD_LRP) {
        if (aux->residual) XAI_TRY(write_vec(af, "lrp/residual", meth->spec, aux->residual, 0));
        if (aux->layer_sums)
            XAI_TRY(write_vec(af, "lrp/layer_sums", meth->spec, aux->layer_sums, (uint64_t)lrp_layers + 1));
    }
    return XAI_OK;
}

static xai_status write_map(const xai_attr_file *af, const char *name, const xai_method *meth, const float *attr,
                            const char *lrp_desc, double seconds)
{
    hid_t f = af->h5.id;
    const uint64_t d4[4] = {(uint64_t)af->n, (uint64_t)af->shape.c, (uint64_t)af->shape.h, (uint64_t)af->shape.w};
    XAI_TRY(xai_h5_write_rows(f, name, XAI_H5_F32, attr, 4, d4, (uint64_t)af->row0, (uint64_t)af->nrows));
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return xai_fail(XAI_EIO, "%s: cannot reopen dataset %s", af->h5.path, name);
    xai_status s = method_attrs(d, meth, lrp_desc, seconds, af->n);
    xai_h5_close(d);
    return s;
}

xai_status xai_attr_write_method(xai_attr_writer *w, const xai_method *meth, const float *attr,
                                 const xai_explain_aux *aux, int lrp_layers, const char *lrp_desc, double seconds)
{
    const xai_attr_file *af = w->f;
    const char *path = af->h5.path;
    if (!meth->spec[0] || strchr(meth->spec, '/') || !strcmp(meth->spec, "."))
        return xai_fail(XAI_EINVAL, "%s: method name '%s' cannot name an HDF5 dataset (no '/', not empty)", path,
                        meth->spec);
    char name[512];
    snprintf(name, sizeof name, "attributions/%s", meth->spec);
    if (xai_h5_exists(af->h5.id, name)) return xai_fail(XAI_EINVAL, "%s: method '%s' is listed twice", path, meth->spec);
    xai_status s;
    if ((s = write_map(af, name, meth, attr, lrp_desc, seconds)) != XAI_OK ||
        (aux && (s = write_aux(af, meth, aux, lrp_layers)) != XAI_OK))
        return xai_fail(s, "%s: method %s: %s", path, meth->spec, xai_errmsg());
    return XAI_OK;
}

xai_status xai_attr_commit(xai_attr_writer *w)
{
    if (!w->f) return xai_fail(XAI_EINVAL, "attribution file: commit of a writer that is not open");
    xai_status s = xai_h5_commit(&w->f->h5);
    free(w->f);
    w->f = NULL;
    return s;
}

void xai_attr_abort(xai_attr_writer *w)
{
    if (!w->f) return;
    if (w->f->h5.path) xai_h5_abort(&w->f->h5);
    free(w->f);
    w->f = NULL;
}

/* ------------------------------------------------------------------ reader */

void xai_attr_header_free(xai_attr_header *h)
{
    free(h->inputs);
    free(h->labels);
    free(h->targets);
    free(h->indices);
    free(h->logits);
    xai_h5_names_free(h->methods, h->nmethods);
    memset(h, 0, sizeof *h);
}

/* Reads the first n rows of a dataset whose other dimensions must be tail (rank - 1 of them). */
static xai_status read_rows(hid_t f, const char *path, const char *name, xai_h5_type type, void *buf, int n,
                            int rank, const uint64_t *tail)
{
    uint64_t d[8], want[8];
    want[0] = (uint64_t)n;
    for (int i = 1; i < rank; i++) want[i] = tail[i - 1];
    int r = xai_h5_dims(f, name, d);
    /* Every per-image dataset has exactly the rows of /inputs: extra rows mean a mismatched file. */
    uint64_t di[8];
    if (r >= 1 && xai_h5_dims(f, "inputs", di) >= 1 && d[0] != di[0])
        return xai_fail(XAI_EFORMAT, "%s: /%s has %llu rows but /inputs has %llu", path, name,
                        (unsigned long long)d[0], (unsigned long long)di[0]);
    /* The whole dataset: the helper checks every dimension and names what differs. */
    if (r != rank || d[0] <= (uint64_t)n) return xai_h5_read_as(f, name, type, buf, rank, want, path);
    for (int i = 1; i < rank; i++)
        if (d[i] != want[i])
            return xai_fail(XAI_EFORMAT, "%s: /%s has size %llu in dimension %d, expected %llu", path, name,
                            (unsigned long long)d[i], i, (unsigned long long)want[i]);
    if (xai_h5_read_rows(f, name, type, 0, (uint64_t)n, buf, path) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: cannot read /%s (truncated or corrupt file?)", path, name);
    return XAI_OK;
}

/* The most float values /inputs (and so each method's map) may hold once read: 16 GiB. */
#define ATTR_MAX_VALUES (1ull << 32)

/* N, the image shape and the classes from /inputs and /logits; h->n is at most max_n (> 0). */
static xai_status read_dims(hid_t f, const char *path, xai_attr_header *h, int max_n)
{
    char fmt[64] = "";
    xai_status fs = xai_h5_get_str(f, "format", fmt, sizeof fmt);
    if (fs != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: not an attribution file (%s @format, expected the string '%s'; made by xai "
                        "explain?)", path, fs == XAI_ENOTFOUND ? "no attribute" : "a non-string", ATTR_FORMAT);
    if (strcmp(fmt, ATTR_FORMAT))
        return xai_fail(XAI_EFORMAT, "%s: not an attribution file (@format is '%s', expected '%s'; made by xai explain?)",
                        path, fmt, ATTR_FORMAT);
    uint64_t d[8], dk[8];
    int r = xai_h5_dims(f, "inputs", d);
    if (r != 4 || d[0] == 0 || d[0] > (1u << 30) || d[1] == 0 || d[1] > 4096 || d[2] == 0 || d[3] == 0)
        return xai_fail(XAI_EFORMAT, "%s: /inputs must be a non-empty (N, C, H, W) array", path);
    /* In 64 bits, before any buffer is sized from them: an int cast of 2^32 + 2 is 2. */
    if (d[2] > INT_MAX / d[1] || d[3] > INT_MAX / (d[1] * d[2]))
        return xai_fail(XAI_EFORMAT, "%s: /inputs images of %llu x %llu x %llu values are too large", path,
                        (unsigned long long)d[1], (unsigned long long)d[2], (unsigned long long)d[3]);
    h->n = max_n > 0 && (uint64_t)max_n < d[0] ? max_n : (int)d[0];
    if ((uint64_t)h->n * d[1] * d[2] * d[3] > ATTR_MAX_VALUES)
        return xai_fail(XAI_EFORMAT, "%s: /inputs of %d images of %llu x %llu x %llu values is more than %llu values",
                        path, h->n, (unsigned long long)d[1], (unsigned long long)d[2], (unsigned long long)d[3],
                        (unsigned long long)ATTR_MAX_VALUES);
    h->shape = (xai_shape){(int)d[1], (int)d[2], (int)d[3]};
    r = xai_h5_dims(f, "logits", dk);
    if (r != 2 || dk[0] != d[0] || dk[1] == 0 || dk[1] > (1u << 20))
        return xai_fail(XAI_EFORMAT, "%s: /logits must be (N=%d, classes)", path, (int)d[0]);
    h->nclasses = (int)dk[1];
    return XAI_OK;
}

static xai_status read_arrays(hid_t f, const char *path, xai_attr_header *h)
{
    const uint64_t N = (uint64_t)h->n;
    const uint64_t img[3] = {(uint64_t)h->shape.c, (uint64_t)h->shape.h, (uint64_t)h->shape.w};
    const uint64_t k[1] = {(uint64_t)h->nclasses};
    h->inputs = xai_malloc((size_t)N * xai_shape_size(h->shape) * sizeof *h->inputs);
    h->logits = xai_malloc((size_t)N * h->nclasses * sizeof *h->logits);
    h->labels = xai_malloc(N * sizeof *h->labels);
    h->targets = xai_malloc(N * sizeof *h->targets);
    h->indices = xai_malloc(N * sizeof *h->indices);
    XAI_TRY(read_rows(f, path, "inputs", XAI_H5_F32, h->inputs, h->n, 4, img));
    XAI_TRY(read_rows(f, path, "logits", XAI_H5_F32, h->logits, h->n, 2, k));
    XAI_TRY(read_rows(f, path, "labels", XAI_H5_I32, h->labels, h->n, 1, NULL));
    XAI_TRY(read_rows(f, path, "targets", XAI_H5_I32, h->targets, h->n, 1, NULL));
    XAI_TRY(read_rows(f, path, "indices", XAI_H5_I64, h->indices, h->n, 1, NULL));
    for (int i = 0; i < h->n; i++) /* -1: an image file's unknown label */
        if (h->labels[i] < -1 || h->labels[i] >= h->nclasses)
            return xai_fail(XAI_EFORMAT, "%s: /labels[%d] = %d is not a class (0..%d) or -1 (unknown)", path, i,
                            (int)h->labels[i], h->nclasses - 1);
    for (int i = 0; i < h->n; i++)
        if (h->targets[i] < 0 || h->targets[i] >= h->nclasses)
            return xai_fail(XAI_EFORMAT, "%s: /targets[%d] = %d is not a class (0..%d)", path, i, (int)h->targets[i],
                            h->nclasses - 1);
    return XAI_OK;
}

/* Provenance, the normalisation and the method names, in creation order (by name in files
 * that did not track it). */
static void read_about(hid_t f, xai_attr_header *h)
{
    const struct {
        const char *name;
        char *out;
        size_t cap;
    } str[] = {{"model_path", h->model_path, sizeof h->model_path},
               {"model_sha256", h->model_sha256, sizeof h->model_sha256},
               {"dataset", h->dataset, sizeof h->dataset},
               {"dataset_sha256", h->dataset_sha256, sizeof h->dataset_sha256},
               {"target_mode", h->target_mode, sizeof h->target_mode},
               {"program_version", h->program_version, sizeof h->program_version}};
    for (size_t i = 0; i < sizeof str / sizeof *str; i++) xai_h5_get_str(f, str[i].name, str[i].out, str[i].cap);
    for (int c = 0; c < 4; c++) h->norm_mean[c] = 0, h->norm_std[c] = 1;
    h->norm_mean_n = xai_h5_get_f64v(f, "normalize_mean", h->norm_mean, 4);
    h->norm_std_n = xai_h5_get_f64v(f, "normalize_std", h->norm_std, 4);
    int n = xai_h5_list(f, "attributions", &h->methods);
    h->nmethods = n > 0 ? n : 0;
}

static xai_status count_attr(hid_t ds, const char *path, const char *method, const char *name, int64_t lo, int *out);
static xai_status steps_attr(hid_t ds, const char *path, const char *method, int *steps);

/* Every method's counts (@steps, @samples) in range when the file is opened, whether or not
 * this command reads them: a damaged file is refused, not accepted because a metric happened
 * not to look. */
static xai_status check_counts(hid_t f, const char *path, const xai_attr_header *h)
{
    for (int m = 0; m < h->nmethods; m++) {
        char name[512];
        snprintf(name, sizeof name, "attributions/%s", h->methods[m]);
        hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
        if (ds < 0) return xai_fail(XAI_EFORMAT, "%s: /attributions/%s is not a dataset", path, h->methods[m]);
        int v = 0;
        xai_status s = steps_attr(ds, path, h->methods[m], &v);
        if (s == XAI_OK) s = count_attr(ds, path, h->methods[m], "samples", 1, &v);
        H5Dclose(ds);
        XAI_TRY(s);
    }
    return XAI_OK;
}

xai_status xai_attr_read_header_n(xai_attr_header *h, const char *path, int max_n)
{
    memset(h, 0, sizeof *h);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status s = XAI_OK;
    if ((s = read_dims(f, path, h, max_n)) != XAI_OK) goto done;
    if ((s = read_arrays(f, path, h)) != XAI_OK) goto done;
    read_about(f, h);
    s = check_counts(f, path, h);
done:
    xai_h5_close(f);
    if (s != XAI_OK) xai_attr_header_free(h);
    return s;
}

xai_status xai_attr_read_header(xai_attr_header *h, const char *path) { return xai_attr_read_header_n(h, path, 0); }

xai_status xai_attr_read_method(const char *path, const char *method, float *attr, const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    snprintf(name, sizeof name, "attributions/%s", method);
    const uint64_t img[3] = {(uint64_t)h->shape.c, (uint64_t)h->shape.h, (uint64_t)h->shape.w};
    xai_status s = xai_h5_exists(f, name)
                       ? read_rows(f, path, name, XAI_H5_F32, attr, h->n, 4, img)
                       : xai_fail(XAI_ENOTFOUND, "%s: no method '%s' under /attributions", path, method);
    xai_h5_close(f);
    return s;
}

xai_status xai_attr_read_row(const char *path, const char *method, int image, float *out, const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    if (method) snprintf(name, sizeof name, "attributions/%s", method);
    else snprintf(name, sizeof name, "inputs");
    uint64_t d[8];
    int r = xai_h5_dims(f, name, d);
    xai_status s = XAI_OK;
    if (r < 0)
        s = xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s'", path, name);
    else if (r != 4 || d[1] != (uint64_t)h->shape.c || d[2] != (uint64_t)h->shape.h ||
             d[3] != (uint64_t)h->shape.w || image < 0 || (uint64_t)image >= d[0])
        s = xai_fail(XAI_EFORMAT, "%s: '%s' is not (N, %d, %d, %d) with a row %d", path, name, h->shape.c,
                     h->shape.h, h->shape.w, image);
    else if (xai_h5_read_rows(f, name, XAI_H5_F32, (uint64_t)image, 1, out, path) != XAI_OK)
        s = xai_fail(XAI_EFORMAT, "%s: cannot read row %d of '%s' (truncated file?)", path, image, name);
    xai_h5_close(f);
    return s;
}

xai_status xai_attr_read_vector(const char *path, const char *group, const char *method, double *v,
                                const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    snprintf(name, sizeof name, "%s/%s", group, method);
    xai_status s = xai_h5_exists(f, name) ? read_rows(f, path, name, XAI_H5_F64, v, h->n, 1, NULL)
                                          : xai_fail(XAI_ENOTFOUND, "%s: method '%s' has no /%s", path, method, group);
    xai_h5_close(f);
    return s;
}

xai_status xai_attr_read_matrix(const char *path, const char *group, const char *method, double **v, int *cols,
                                const xai_attr_header *h)
{
    *v = NULL;
    *cols = 0;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    uint64_t d[8];
    snprintf(name, sizeof name, "%s/%s", group, method);
    xai_status s = XAI_ENOTFOUND;
    if (xai_h5_dims(f, name, d) == 2 && d[0] == (uint64_t)h->n && d[1] > 0 && d[1] < (1u << 20)) {
        double *buf = xai_malloc((size_t)d[0] * d[1] * sizeof *buf);
        s = xai_h5_read_f64(f, name, buf, 2, d, path);
        if (s == XAI_OK) *v = buf, *cols = (int)d[1];
        else free(buf);
    }
    xai_h5_close(f);
    return s;
}

/* -------------------------------------------------- a method's attributes */

/* Opens the file and the dataset /attributions/<method>, whose attributes describe the method. */
static xai_status open_method(hid_t *f, hid_t *ds, const char *path, const char *method)
{
    XAI_TRY(xai_h5_open(f, path, 0));
    char name[512];
    snprintf(name, sizeof name, "attributions/%s", method);
    *ds = xai_h5_exists(*f, name) ? H5Dopen2(*f, name, H5P_DEFAULT) : -1;
    if (*ds >= 0) return XAI_OK;
    xai_h5_close(*f);
    return xai_fail(XAI_ENOTFOUND, "%s: no method '%s' under /attributions", path, method);
}

xai_status xai_attr_read_method_info(const char *path, const char *method, xai_attr_method_info *info)
{
    memset(info, 0, sizeof *info);
    hid_t f, d;
    XAI_TRY(open_method(&f, &d, path, method));
    xai_h5_get_str(d, "kind", info->kind, sizeof info->kind);
    info->seconds = info->seconds_per_attribution = NAN;
    xai_h5_get_f64(d, "seconds", &info->seconds);
    xai_h5_get_f64(d, "seconds_per_attribution", &info->seconds_per_attribution);
    xai_h5_close(d);
    xai_h5_close(f);
    return XAI_OK;
}

/* A count attribute (IG steps, SmoothGrad samples) into *out: missing keeps the spec's value,
 * one outside [lo, INT_MAX] is an error naming the file and the method. */
static xai_status count_attr(hid_t ds, const char *path, const char *method, const char *name, int64_t lo, int *out)
{
    int64_t v;
    if (!xai_h5_has_attr(ds, name)) return XAI_OK;
    if (xai_h5_get_i64(ds, name, &v) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: /attributions/%s @%s is not a single whole number", path, method, name);
    if (v < lo || v > INT_MAX)
        return xai_fail(XAI_EFORMAT, "%s: /attributions/%s @%s = %lld is out of range [%lld, %d]", path, method, name,
                        (long long)v, (long long)lo, INT_MAX);
    *out = (int)v;
    return XAI_OK;
}

/* @steps as IG's @rule needs it: 0 for exact IG (no quadrature), at least 1 for a quadrature
 * rule; a missing one keeps *steps. */
static xai_status steps_attr(hid_t ds, const char *path, const char *method, int *steps)
{
    char s[64] = "";
    const int had = xai_h5_has_attr(ds, "steps");
    int v = *steps;
    XAI_TRY(count_attr(ds, path, method, "steps", 0, &v));
    if (!had) return XAI_OK;
    xai_h5_get_str(ds, "rule", s, sizeof s);
    if (v == 0 && strcmp(s, "exact"))
        return xai_fail(XAI_EFORMAT, "%s: /attributions/%s @steps = 0 but @rule = '%s' (a quadrature needs 1 or more "
                                     "steps; only exact IG stores 0)",
                        path, method, s);
    *steps = v;
    return XAI_OK;
}

/* The settings method_attrs wrote; a missing or unknown one keeps the spec's value. */
static xai_status ig_settings(xai_ig_opts *o, hid_t ds, const char *path, const char *method)
{
    int64_t v;
    char s[64] = "";
    int steps = o->steps;
    XAI_TRY(steps_attr(ds, path, method, &steps));
    if (steps >= 1) o->steps = steps; /* exact IG stores 0 */
    if (xai_h5_get_str(ds, "rule", s, sizeof s) == XAI_OK && xai_quad_rule_from_name(s) >= 0)
        o->rule = xai_quad_rule_from_name(s), o->exact = 0;
    else if (!strcmp(s, "exact")) o->exact = 1;
    if (xai_h5_get_str(ds, "baseline", s, sizeof s) == XAI_OK && xai_baseline_from_name(s) >= 0)
        o->baseline = xai_baseline_from_name(s);
    xai_h5_get_f64(ds, "baseline_value", &o->value);
    xai_h5_get_f64(ds, "blur_sigma", &o->sigma);
    if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) o->seed = (uint64_t)v;
    return XAI_OK;
}

static void lrp_settings(xai_lrp_opts *o, hid_t ds)
{
    static const char *const name[] = {"epsilon", "gamma", "alpha", "beta", "stabilizer", "zb_low", "zb_high"};
    double *const v[] = {&o->epsilon, &o->gamma, &o->alpha, &o->beta, &o->stabilizer, &o->zb_low, &o->zb_high};
    for (size_t i = 0; i < sizeof name / sizeof *name; i++) xai_h5_get_f64(ds, name[i], v[i]);
    char s[64];
    if (xai_h5_get_str(ds, "bias", s, sizeof s) == XAI_OK) o->bias_input = strcmp(s, "ignore") != 0;
}

static xai_status read_settings(xai_method *meth, hid_t ds, const char *path, const char *method)
{
    int64_t v;
    switch (meth->kind) {
    case XAI_METHOD_IG: return ig_settings(&meth->ig, ds, path, method);
    case XAI_METHOD_LRP: lrp_settings(&meth->lrp, ds); break;
    case XAI_METHOD_SMOOTHGRAD:
        XAI_TRY(count_attr(ds, path, method, "samples", 1, &meth->sg.samples));
        xai_h5_get_f64(ds, "noise", &meth->sg.noise);
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->sg.seed = (uint64_t)v;
        break;
    case XAI_METHOD_RANDOM:
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->seed = (uint64_t)v;
        break;
    default: break;
    }
    return XAI_OK;
}

xai_status xai_attr_read_method_spec(xai_method *meth, const char *path, const char *method)
{
    hid_t f, ds;
    XAI_TRY(open_method(&f, &ds, path, method));
    char spec[256];
    if (xai_h5_get_str(ds, "method", spec, sizeof spec) != XAI_OK) snprintf(spec, sizeof spec, "%s", method);
    xai_status s = xai_method_parse(meth, spec, NULL);
    if (s != XAI_OK) {
        s = xai_fail(s, "%s: method '%s': %s", path, method, xai_errmsg());
        goto done;
    }
    s = read_settings(meth, ds, path, method);
done:
    xai_h5_close(ds);
    xai_h5_close(f);
    return s;
}
