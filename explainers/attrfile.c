/* attrfile.c: the attribution HDF5 file that `xai explain` writes and `xai evaluate` reads.
 * Layout (groups, shapes, dtypes, attributes) in explainers/README.md; written atomically. */
#include "core/h5.h"
#include "explainers/explain.h"

#include <stdlib.h>
#include <string.h>

#define ATTR_FORMAT "xai-attributions-1"

/* ------------------------------------------------------------------ writer */

xai_status xai_attr_create(xai_attr_writer *w, const char *path, const xai_attr_header *h, const char *command)
{
    memset(w, 0, sizeof *w);
    if (h->n <= 0 || h->nclasses <= 0 || xai_shape_size(h->shape) == 0)
        return xai_fail(XAI_EINVAL, "%s: attribution file needs N > 0 images of a known shape (got N=%d)", path, h->n);
    XAI_TRY(xai_h5_create(&w->f, path));
    w->n = h->n;
    w->shape = h->shape;
    hid_t f = w->f.id;
    const uint64_t N = (uint64_t)h->n;
    const uint64_t d4[4] = {N, (uint64_t)h->shape.c, (uint64_t)h->shape.h, (uint64_t)h->shape.w};
    const uint64_t dk[2] = {N, (uint64_t)h->nclasses};
    const int C = h->shape.c < 4 ? h->shape.c : 4;
    xai_status s = xai_h5_attr_str(f, "format", ATTR_FORMAT);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "model_path", h->model_path);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "model_sha256", h->model_sha256);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "dataset", h->dataset);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "dataset_sha256", h->dataset_sha256);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "split", "test");
    if (s == XAI_OK) s = xai_h5_attr_str(f, "target_mode", h->target_mode);
    if (s == XAI_OK) s = xai_h5_attr_f64v(f, "normalize_mean", h->norm_mean, C);
    if (s == XAI_OK) s = xai_h5_attr_f64v(f, "normalize_std", h->norm_std, C);
    if (s == XAI_OK) s = xai_h5_attr_str(f, "program_version", xai_version());
    if (s == XAI_OK) s = xai_h5_attr_str(f, "command", command ? command : "");
    if (s == XAI_OK) s = xai_h5_write_f32(f, "inputs", h->inputs, 4, d4);
    if (s == XAI_OK) s = xai_h5_write(f, "labels", H5T_NATIVE_INT32, h->labels, 1, &N);
    if (s == XAI_OK) s = xai_h5_write(f, "targets", H5T_NATIVE_INT32, h->targets, 1, &N);
    if (s == XAI_OK) s = xai_h5_write(f, "indices", H5T_NATIVE_INT64, h->indices, 1, &N);
    if (s == XAI_OK) s = xai_h5_write_f32(f, "logits", h->logits, 2, dk);
    if (s == XAI_OK) {
        /* Creation order is tracked so readers list methods in the order they were run. */
        hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        hid_t g = H5Gcreate2(f, "attributions", H5P_DEFAULT, gcpl, H5P_DEFAULT);
        H5Pclose(gcpl);
        if (g < 0) s = xai_fail(XAI_EIO, "%s: cannot create group /attributions", path);
        else H5Gclose(g);
    }
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        xai_attr_abort(w);
        return xai_fail(s, "%s: %s", path, msg);
    }
    return XAI_OK;
}

static xai_status write_vec(hid_t f, const char *group, const char *method, const double *v, int rank,
                            const uint64_t *dims)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", group, method);
    return xai_h5_write(f, name, H5T_NATIVE_DOUBLE, v, rank, dims);
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
        XAI_TRY(xai_h5_attr_i64(d, "steps", o->steps));
        XAI_TRY(xai_h5_attr_str(d, "rule", xai_quad_rule_name(o->rule)));
        XAI_TRY(xai_h5_attr_str(d, "baseline", xai_baseline_name(o->baseline)));
        XAI_TRY(xai_h5_attr_f64(d, "baseline_value", o->value));
        XAI_TRY(xai_h5_attr_f64(d, "blur_sigma", o->sigma));
        XAI_TRY(xai_h5_attr_i64(d, "seed", (int64_t)o->seed));
        double *a = xai_malloc(2 * (size_t)o->steps * sizeof *a);
        xai_status s = xai_quadrature(o->rule, o->steps, a, a + o->steps);
        if (s == XAI_OK) s = xai_h5_attr_f64v(d, "alphas", a, o->steps);
        if (s == XAI_OK) s = xai_h5_attr_f64v(d, "weights", a + o->steps, o->steps);
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

xai_status xai_attr_write_method(xai_attr_writer *w, const xai_method *meth, const float *attr,
                                 const xai_explain_aux *aux, int lrp_layers, const char *lrp_desc, double seconds)
{
    hid_t f = w->f.id;
    const char *path = w->f.path;
    if (!meth->spec[0] || strchr(meth->spec, '/') || !strcmp(meth->spec, "."))
        return xai_fail(XAI_EINVAL, "%s: method name '%s' cannot name an HDF5 dataset (no '/', not empty)", path,
                        meth->spec);
    char name[512];
    snprintf(name, sizeof name, "attributions/%s", meth->spec);
    if (xai_h5_exists(f, name)) return xai_fail(XAI_EINVAL, "%s: method '%s' is listed twice", path, meth->spec);
    const uint64_t N = (uint64_t)w->n;
    const uint64_t d4[4] = {N, (uint64_t)w->shape.c, (uint64_t)w->shape.h, (uint64_t)w->shape.w};
    xai_status s = xai_h5_write_f32(f, name, attr, 4, d4);
    if (s == XAI_OK) {
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        s = d < 0 ? xai_fail(XAI_EIO, "%s: cannot reopen dataset %s", path, name)
                  : method_attrs(d, meth, lrp_desc, seconds, w->n);
        if (d >= 0) H5Dclose(d);
    }
    if (s == XAI_OK && aux && meth->kind == XAI_METHOD_IG) {
        if (aux->delta) s = write_vec(f, "ig/delta", meth->spec, aux->delta, 1, &N);
        if (s == XAI_OK && aux->fbase) s = write_vec(f, "ig/f_baseline", meth->spec, aux->fbase, 1, &N);
    }
    if (s == XAI_OK && aux && meth->kind == XAI_METHOD_LRP) {
        const uint64_t dl[2] = {N, (uint64_t)lrp_layers + 1};
        if (aux->residual) s = write_vec(f, "lrp/residual", meth->spec, aux->residual, 1, &N);
        if (s == XAI_OK && aux->layer_sums) s = write_vec(f, "lrp/layer_sums", meth->spec, aux->layer_sums, 2, dl);
    }
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        return xai_fail(s, "%s: method %s: %s", path, meth->spec, msg);
    }
    return XAI_OK;
}

xai_status xai_attr_commit(xai_attr_writer *w) { return xai_h5_commit(&w->f); }

void xai_attr_abort(xai_attr_writer *w)
{
    if (w->f.path) xai_h5_abort(&w->f);
}

/* ------------------------------------------------------------------ reader */

typedef struct {
    char **names;
    int n, cap;
} name_list;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    name_list *l = data;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        char **t = realloc(l->names, l->cap * sizeof *t);
        XAI_CHECK(t != NULL);
        l->names = t;
    }
    l->names[l->n++] = xai_strdup(name);
    return 0;
}

void xai_attr_header_free(xai_attr_header *h)
{
    free(h->inputs);
    free(h->labels);
    free(h->targets);
    free(h->indices);
    free(h->logits);
    for (int i = 0; i < h->nmethods; i++) free(h->methods[i]);
    free(h->methods);
    memset(h, 0, sizeof *h);
}

xai_status xai_attr_read_header(xai_attr_header *h, const char *path)
{
    memset(h, 0, sizeof *h);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char fmt[64] = "";
    xai_status s = XAI_OK;
    if (xai_h5_get_str(f, "format", fmt, sizeof fmt) != XAI_OK || strcmp(fmt, ATTR_FORMAT))
        s = xai_fail(XAI_EFORMAT, "%s: not an attribution file (@format is '%s', expected '%s'; made by xai explain?)",
                     path, fmt, ATTR_FORMAT);
    uint64_t d[8];
    if (s == XAI_OK) {
        int r = xai_h5_dims(f, "inputs", d);
        if (r != 4 || d[0] == 0 || d[0] > (1u << 30) || d[1] == 0 || d[1] > 4096 || d[2] == 0 || d[3] == 0)
            s = xai_fail(XAI_EFORMAT, "%s: /inputs must be a non-empty (N, C, H, W) array", path);
        else {
            h->n = (int)d[0];
            h->shape = (xai_shape){(int)d[1], (int)d[2], (int)d[3]};
        }
    }
    uint64_t dk[8];
    if (s == XAI_OK) {
        int r = xai_h5_dims(f, "logits", dk);
        if (r != 2 || dk[0] != d[0] || dk[1] == 0 || dk[1] > (1u << 20))
            s = xai_fail(XAI_EFORMAT, "%s: /logits must be (N=%d, classes)", path, h->n);
        else h->nclasses = (int)dk[1];
    }
    if (s == XAI_OK) {
        const uint64_t N = (uint64_t)h->n;
        h->inputs = xai_malloc((size_t)N * xai_shape_size(h->shape) * sizeof *h->inputs);
        h->logits = xai_malloc((size_t)N * h->nclasses * sizeof *h->logits);
        h->labels = xai_malloc(N * sizeof *h->labels);
        h->targets = xai_malloc(N * sizeof *h->targets);
        h->indices = xai_malloc(N * sizeof *h->indices);
        s = xai_h5_read(f, "inputs", H5T_NATIVE_FLOAT, h->inputs, 4, d, path);
        if (s == XAI_OK) s = xai_h5_read(f, "logits", H5T_NATIVE_FLOAT, h->logits, 2, dk, path);
        if (s == XAI_OK) s = xai_h5_read(f, "labels", H5T_NATIVE_INT32, h->labels, 1, &N, path);
        if (s == XAI_OK) s = xai_h5_read(f, "targets", H5T_NATIVE_INT32, h->targets, 1, &N, path);
        if (s == XAI_OK) s = xai_h5_read(f, "indices", H5T_NATIVE_INT64, h->indices, 1, &N, path);
        for (int i = 0; s == XAI_OK && i < h->n; i++)
            if (h->targets[i] < 0 || h->targets[i] >= h->nclasses)
                s = xai_fail(XAI_EFORMAT, "%s: /targets[%d] = %d is not a class (0..%d)", path, i, (int)h->targets[i],
                             h->nclasses - 1);
    }
    if (s == XAI_OK) {
        xai_h5_get_str(f, "model_path", h->model_path, sizeof h->model_path);
        xai_h5_get_str(f, "model_sha256", h->model_sha256, sizeof h->model_sha256);
        xai_h5_get_str(f, "dataset", h->dataset, sizeof h->dataset);
        xai_h5_get_str(f, "dataset_sha256", h->dataset_sha256, sizeof h->dataset_sha256);
        xai_h5_get_str(f, "target_mode", h->target_mode, sizeof h->target_mode);
        for (int c = 0; c < 4; c++) h->norm_mean[c] = 0, h->norm_std[c] = 1;
        xai_h5_get_f64v(f, "normalize_mean", h->norm_mean, 4);
        xai_h5_get_f64v(f, "normalize_std", h->norm_std, 4);
        name_list l = {0};
        if (xai_h5_exists(f, "attributions")) {
            hid_t g = H5Gopen2(f, "attributions", H5P_DEFAULT);
            hsize_t idx = 0;
            /* Files whose group does not track creation order list by name. */
            if (H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect, &l) < 0) {
                for (int i = 0; i < l.n; i++) free(l.names[i]);
                l.n = 0;
                idx = 0;
                H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &l);
            }
            H5Gclose(g);
        }
        h->methods = l.names;
        h->nmethods = l.n;
    }
    H5Fclose(f);
    if (s != XAI_OK) xai_attr_header_free(h);
    return s;
}

xai_status xai_attr_read_method(const char *path, const char *method, float *attr, const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    snprintf(name, sizeof name, "attributions/%s", method);
    const uint64_t d4[4] = {(uint64_t)h->n, (uint64_t)h->shape.c, (uint64_t)h->shape.h, (uint64_t)h->shape.w};
    xai_status s = xai_h5_exists(f, name)
                       ? xai_h5_read(f, name, H5T_NATIVE_FLOAT, attr, 4, d4, path)
                       : xai_fail(XAI_ENOTFOUND, "%s: no method '%s' under /attributions", path, method);
    H5Fclose(f);
    return s;
}

xai_status xai_attr_read_vector(const char *path, const char *group, const char *method, double *v,
                                const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    snprintf(name, sizeof name, "%s/%s", group, method);
    const uint64_t N = (uint64_t)h->n;
    xai_status s = xai_h5_exists(f, name) ? xai_h5_read(f, name, H5T_NATIVE_DOUBLE, v, 1, &N, path)
                                          : xai_fail(XAI_ENOTFOUND, "%s: method '%s' has no /%s", path, method, group);
    H5Fclose(f);
    return s;
}
