/* model_io.c: save and load models in HDF5, weights in PyTorch's layout, and read a file's
 * description; the only reader and writer of the model file format (core/README.md). */
#include "core/base.h"
#include "core/h5.h"
#include "core/kernels.h"
#include "core/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define XAI_MODEL_FORMAT "xai-model-1"
/* Files list at most this many layers; anything above is a damaged count. */
#define MAX_LAYERS 10000

/* ------------------------------------------------------------------- save */

static xai_status save_header(hid_t g, const xai_model *m)
{
    int64_t shape[3] = {m->in.c, m->in.h, m->in.w};
    double mean[4], std[4];
    int nc = m->in.c < 4 ? m->in.c : 4;
    for (int c = 0; c < nc; c++) mean[c] = m->mean[c], std[c] = m->std[c];
    XAI_TRY(xai_h5_attr_str(g, "format", XAI_MODEL_FORMAT));
    XAI_TRY(xai_h5_attr_i64v(g, "input_shape", shape, 3));
    XAI_TRY(xai_h5_attr_i64(g, "num_classes", m->nclasses));
    XAI_TRY(xai_h5_attr_i64(g, "num_layers", m->nlayers));
    XAI_TRY(xai_h5_attr_f64v(g, "normalize_mean", mean, nc));
    XAI_TRY(xai_h5_attr_f64v(g, "normalize_std", std, nc));
    XAI_TRY(xai_h5_attr_str(g, "layers_text", m->spec_text));
    if (m->class_names) XAI_TRY(xai_h5_attr_str(g, "class_names", m->class_names));
    return xai_h5_attr_str(g, "program_version", xai_version());
}

/* Hyperparameters as PyTorch names them, then the parameters. */
static xai_status save_layer(hid_t lg, const xai_layer *l)
{
    const uint64_t wconv[4] = {l->out.c, l->in.c, l->k, l->k}, wlin[2] = {l->out.c, l->in.c}, nout[1] = {l->out.c};
    const uint64_t nch[1] = {l->in.c};
    XAI_TRY(xai_h5_attr_str(lg, "type", xai_layer_type_name(l->type)));
    switch (l->type) {
    case XAI_CONV2D:
        XAI_TRY(xai_h5_attr_i64(lg, "in_channels", l->in.c));
        XAI_TRY(xai_h5_attr_i64(lg, "out_channels", l->out.c));
        XAI_TRY(xai_h5_attr_i64(lg, "kernel_size", l->k));
        XAI_TRY(xai_h5_attr_i64(lg, "stride", l->stride));
        XAI_TRY(xai_h5_attr_i64(lg, "padding", l->pad));
        XAI_TRY(xai_h5_attr_i64(lg, "bias", l->bias));
        XAI_TRY(xai_h5_write_f32(lg, "weight", l->w, 4, wconv));
        return l->bias ? xai_h5_write_f32(lg, "bias", l->b, 1, nout) : XAI_OK;
    case XAI_LINEAR:
        XAI_TRY(xai_h5_attr_i64(lg, "in_features", l->in.c));
        XAI_TRY(xai_h5_attr_i64(lg, "out_features", l->out.c));
        XAI_TRY(xai_h5_attr_i64(lg, "bias", l->bias));
        XAI_TRY(xai_h5_write_f32(lg, "weight", l->w, 2, wlin));
        return l->bias ? xai_h5_write_f32(lg, "bias", l->b, 1, nout) : XAI_OK;
    case XAI_BATCHNORM2D:
        XAI_TRY(xai_h5_attr_i64(lg, "num_features", l->in.c));
        XAI_TRY(xai_h5_attr_f64(lg, "eps", l->eps));
        XAI_TRY(xai_h5_attr_f64(lg, "momentum", l->momentum));
        XAI_TRY(xai_h5_write_f32(lg, "weight", l->w, 1, nch));
        XAI_TRY(xai_h5_write_f32(lg, "bias", l->b, 1, nch));
        XAI_TRY(xai_h5_write_f32(lg, "running_mean", l->rmean, 1, nch));
        return xai_h5_write_f32(lg, "running_var", l->rvar, 1, nch);
    case XAI_MAXPOOL2D:
    case XAI_AVGPOOL2D:
        XAI_TRY(xai_h5_attr_i64(lg, "kernel_size", l->k));
        XAI_TRY(xai_h5_attr_i64(lg, "stride", l->stride));
        return xai_h5_attr_i64(lg, "padding", l->pad);
    case XAI_DROPOUT: return xai_h5_attr_f64(lg, "p", l->p);
    default: return XAI_OK;
    }
}

xai_status xai_model_save_to(const xai_model *m, hid_t file)
{
    hid_t g = xai_h5_group(file, "/model"), lg = -1;
    if (g < 0) return xai_fail(XAI_EIO, "HDF5: cannot create group /model");
    xai_status s;
    if ((s = save_header(g, m)) != XAI_OK) goto done;
    for (int i = 0; i < m->nlayers; i++) {
        char name[32];
        snprintf(name, sizeof name, "layers/%02d", i);
        if ((lg = xai_h5_group(g, name)) < 0) {
            s = xai_fail(XAI_EIO, "HDF5: cannot create /model/%s", name);
            goto done;
        }
        if ((s = save_layer(lg, &m->layers[i])) != XAI_OK) goto done;
        H5Gclose(lg);
        lg = -1;
    }
done:
    if (lg >= 0) H5Gclose(lg);
    H5Gclose(g);
    return s;
}

xai_status xai_model_save(const xai_model *m, const char *path)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, path));
    xai_status s = xai_model_save_to(m, f.id);
    if (s != XAI_OK) {
        xai_h5_abort(&f);
        return s;
    }
    return xai_h5_commit(&f);
}

/* ------------------------------------------------------------------- load */

/* A required integer attribute of obj (an object of the file at path), in lo..hi: checked as the
 * file's 64-bit value, so kernel_size = 2^32 + 3 is refused rather than read as 3. */
static xai_status need_i64(hid_t loc, const char *attr, int *v, int64_t lo, int64_t hi, const char *path,
                           const char *obj)
{
    int64_t x;
    xai_status s = xai_h5_get_i64(loc, attr, &x);
    if (s == XAI_ENOTFOUND) return xai_fail(XAI_EFORMAT, "%s: %s lacks attribute '%s'", path, obj, attr);
    if (s != XAI_OK) return xai_fail(s, "%s: %s attribute '%s' is not a single number", path, obj, attr);
    if (x < lo || x > hi)
        return xai_fail(XAI_EFORMAT, "%s: %s attribute '%s' = %lld, expected %lld..%lld", path, obj, attr,
                        (long long)x, (long long)lo, (long long)hi);
    *v = (int)x;
    return XAI_OK;
}

/* Optional attributes keep the spec's default when absent; present, they are checked as above. */
static xai_status opt_int(hid_t loc, const char *attr, int *v, int64_t lo, int64_t hi, const char *path,
                          const char *obj)
{
    if (!xai_h5_has_attr(loc, attr)) return XAI_OK;
    return need_i64(loc, attr, v, lo, hi, path, obj);
}

static xai_status opt_float(hid_t loc, const char *attr, float *v, const char *path, const char *obj)
{
    if (!xai_h5_has_attr(loc, attr)) return XAI_OK;
    double x;
    if (xai_h5_get_f64(loc, attr, &x) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: %s attribute '%s' is not a single number", path, obj, attr);
    *v = (float)x;
    return XAI_OK;
}

/* input_shape as stored (float64, so any value): whole numbers in 1..XAI_DIM_MAX before any cast. */
static xai_status check_input_shape(const double dv[3], const char *path)
{
    for (int i = 0; i < 3; i++)
        if (!(dv[i] >= 1 && dv[i] <= XAI_DIM_MAX && dv[i] == (int)dv[i]))
            return xai_fail(XAI_EFORMAT, "%s: /model attribute 'input_shape' = (%g, %g, %g), expected whole numbers "
                                         "in 1..%d", path, dv[0], dv[1], dv[2], XAI_DIM_MAX);
    return XAI_OK;
}

static xai_status read_header(hid_t g, const char *path, xai_shape *in, int *nclasses, int *nlayers)
{
    double dv[8];
    if (xai_h5_get_f64v(g, "input_shape", dv, 8) != 3)
        return xai_fail(XAI_EFORMAT, "%s: /model attribute 'input_shape' missing or not 3 numbers (C, H, W)", path);
    XAI_TRY(check_input_shape(dv, path));
    *in = (xai_shape){(int)dv[0], (int)dv[1], (int)dv[2]};
    XAI_TRY(need_i64(g, "num_classes", nclasses, 1, XAI_DIM_MAX, path, "/model"));
    return need_i64(g, "num_layers", nlayers, 1, MAX_LAYERS, path, "/model");
}

/* Hyperparameters a file may not hold: what a config would have refused (xai_layer_spec_parse). */
static xai_status check_float_params(const xai_layer_spec *sp, const char *path, const char *obj)
{
    if (sp->type == XAI_BATCHNORM2D && !(sp->eps > 0 && isfinite(sp->eps)))
        return xai_fail(XAI_EFORMAT, "%s: %s attribute 'eps' = %g, expected a positive finite number", path, obj,
                        sp->eps);
    if (sp->type == XAI_BATCHNORM2D && !(sp->momentum >= 0 && sp->momentum <= 1))
        return xai_fail(XAI_EFORMAT, "%s: %s attribute 'momentum' = %g, expected 0..1", path, obj, sp->momentum);
    if (sp->type == XAI_DROPOUT && !(sp->p >= 0 && sp->p < 1))
        return xai_fail(XAI_EFORMAT, "%s: %s attribute 'p' = %g, expected 0 <= p < 1", path, obj, sp->p);
    return XAI_OK;
}

/* The spec of one layer group from its attributes (PyTorch's names). */
static xai_status spec_of_group(xai_layer_spec *sp, hid_t lg, const char *path, const char *obj)
{
    char type[64];
    if (xai_h5_get_str(lg, "type", type, sizeof type) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: %s lacks a string attribute 'type'", path, obj);
    int t = xai_layer_type_from_name(type);
    if (t < 0) return xai_fail(XAI_EFORMAT, "%s: %s has unknown layer type '%s'", path, obj, type);
    *sp = (xai_layer_spec){.type = t, .bias = 1, .eps = 1e-5f, .momentum = 0.1f};
    const int D = XAI_DIM_MAX;
    switch (t) {
    case XAI_CONV2D:
        XAI_TRY(need_i64(lg, "out_channels", &sp->out, 1, D, path, obj));
        XAI_TRY(need_i64(lg, "kernel_size", &sp->k, 1, D, path, obj));
        XAI_TRY(need_i64(lg, "stride", &sp->stride, 1, D, path, obj));
        XAI_TRY(need_i64(lg, "padding", &sp->pad, 0, D, path, obj));
        return opt_int(lg, "bias", &sp->bias, 0, 1, path, obj);
    case XAI_LINEAR:
        XAI_TRY(need_i64(lg, "out_features", &sp->out, 1, D, path, obj));
        return opt_int(lg, "bias", &sp->bias, 0, 1, path, obj);
    case XAI_MAXPOOL2D:
    case XAI_AVGPOOL2D:
        XAI_TRY(need_i64(lg, "kernel_size", &sp->k, 1, D, path, obj));
        XAI_TRY(need_i64(lg, "stride", &sp->stride, 1, D, path, obj));
        return opt_int(lg, "padding", &sp->pad, 0, D, path, obj);
    case XAI_BATCHNORM2D:
        XAI_TRY(opt_float(lg, "eps", &sp->eps, path, obj));
        XAI_TRY(opt_float(lg, "momentum", &sp->momentum, path, obj));
        return check_float_params(sp, path, obj);
    case XAI_DROPOUT:
        sp->p = 0.5f;
        XAI_TRY(opt_float(lg, "p", &sp->p, path, obj));
        return check_float_params(sp, path, obj);
    default: return XAI_OK;
    }
}

static xai_status read_specs(xai_layer_spec *specs, int nlayers, hid_t g, const char *path)
{
    for (int i = 0; i < nlayers; i++) {
        char name[32], obj[48];
        snprintf(name, sizeof name, "layers/%02d", i);
        snprintf(obj, sizeof obj, "/model/%s", name);
        hid_t lg = xai_h5_open_group(g, name);
        if (lg < 0) return xai_fail(XAI_EFORMAT, "%s: missing group %s (num_layers = %d)", path, obj, nlayers);
        xai_status s = spec_of_group(&specs[i], lg, path, obj);
        H5Gclose(lg);
        XAI_TRY(s);
    }
    return XAI_OK;
}

/* One parameter tensor; every layer has a 'weight', so the error names the layer too. */
static xai_status read_param(hid_t lg, const char *name, float *data, int rank, const uint64_t *dims,
                             const char *path, const char *obj)
{
    xai_status s = xai_h5_read_f32(lg, name, data, rank, dims, path);
    if (s != XAI_OK) return xai_fail(s, "%s (in %s)", xai_errmsg(), obj);
    /* NaN or Inf (1e300 in float64 becomes Inf in float32) would poison every output silently. */
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return xai_fail(XAI_EFORMAT, "%s: %s/%s[%zu] = %g, expected a finite number", path, obj, name, i, data[i]);
    if (!strcmp(name, "running_var"))
        for (size_t i = 0; i < n; i++)
            if (data[i] < 0)
                return xai_fail(XAI_EFORMAT, "%s: %s/running_var[%zu] = %g, expected a variance >= 0", path, obj, i,
                                data[i]);
    return XAI_OK;
}

/* The input width a layer group states (in_channels, in_features, num_features) must be the one its
 * place in the net gives it: the weights' shape is read from the latter, so a different stated
 * value would otherwise be ignored silently. Absent (files written by hand) it is not required. */
static xai_status check_stated_inputs(const xai_layer *l, hid_t lg, const char *path, const char *obj)
{
    const char *attr = l->type == XAI_CONV2D ? "in_channels"
                       : l->type == XAI_LINEAR ? "in_features"
                       : l->type == XAI_BATCHNORM2D ? "num_features" : NULL;
    if (!attr || !xai_h5_has_attr(lg, attr)) return XAI_OK;
    int64_t x;
    if (xai_h5_get_i64(lg, attr, &x) != XAI_OK)
        return xai_fail(XAI_EFORMAT, "%s: %s attribute '%s' is not a single number", path, obj, attr);
    if (x != l->in.c)
        return xai_fail(XAI_EFORMAT, "%s: %s attribute '%s' = %lld, expected %d (what the layers before it give)", path,
                        obj, attr, (long long)x, l->in.c);
    return XAI_OK;
}

static xai_status read_layer_params(xai_layer *l, hid_t lg, const char *path, const char *obj)
{
    XAI_TRY(check_stated_inputs(l, lg, path, obj));
    const uint64_t wconv[4] = {l->out.c, l->in.c, l->k, l->k}, wlin[2] = {l->out.c, l->in.c}, nout[1] = {l->out.c};
    const uint64_t nch[1] = {l->in.c};
    switch (l->type) {
    case XAI_CONV2D:
    case XAI_LINEAR: {
        const int conv = l->type == XAI_CONV2D;
        XAI_TRY(read_param(lg, "weight", l->w, conv ? 4 : 2, conv ? wconv : wlin, path, obj));
        return l->bias ? read_param(lg, "bias", l->b, 1, nout, path, obj) : XAI_OK;
    }
    case XAI_BATCHNORM2D:
        XAI_TRY(read_param(lg, "weight", l->w, 1, nch, path, obj));
        XAI_TRY(read_param(lg, "bias", l->b, 1, nch, path, obj));
        XAI_TRY(read_param(lg, "running_mean", l->rmean, 1, nch, path, obj));
        return read_param(lg, "running_var", l->rvar, 1, nch, path, obj);
    default: return XAI_OK;
    }
}

static xai_status read_params(xai_model *m, hid_t g, const char *path)
{
    for (int i = 0; i < m->nlayers; i++) {
        char name[32], obj[48];
        snprintf(name, sizeof name, "layers/%02d", i);
        snprintf(obj, sizeof obj, "/model/%s", name);
        hid_t lg = H5Gopen2(g, name, H5P_DEFAULT);
        xai_status s = read_layer_params(&m->layers[i], lg, path, obj);
        H5Gclose(lg);
        XAI_TRY(s);
    }
    return XAI_OK;
}

/* The input normalisation: one finite mean and one positive finite std per input channel (at most
 * 4 are stored). A file without them, or with another count, is refused: silently using mean 0,
 * std 1 would feed the network inputs it was never trained on. */
static xai_status read_normalization(xai_model *m, hid_t g, const char *path)
{
    double mean[8], std[8];
    const int nc = m->in.c < 4 ? m->in.c : 4;
    int nm = xai_h5_get_f64v(g, "normalize_mean", mean, 8), ns = xai_h5_get_f64v(g, "normalize_std", std, 8);
    xai_clear_error();
    if (nm != nc || ns != nc)
        return xai_fail(XAI_EFORMAT, "%s: /model attributes 'normalize_mean' and 'normalize_std' hold %d and %d "
                                     "values, expected %d each (one per input channel)",
                        path, nm < 0 ? 0 : nm, ns < 0 ? 0 : ns, nc);
    for (int c = 0; c < nc; c++) {
        if (!isfinite(mean[c]) || !(std[c] > 0 && isfinite(std[c])))
            return xai_fail(XAI_EFORMAT, "%s: /model normalize_mean[%d] = %g, normalize_std[%d] = %g, expected a "
                                         "finite mean and a positive finite std", path, c, mean[c], c, std[c]);
        m->mean[c] = (float)mean[c];
        m->std[c] = (float)std[c];
    }
    return XAI_OK;
}

/* Optional class names (xai import --classes): one per class, one a line. */
enum { CLASS_NAMES_MAX = 1 << 20 };
static xai_status read_class_names(xai_model *m, hid_t g, const char *path)
{
    if (!xai_h5_has_attr(g, "class_names")) return XAI_OK;
    char *v = xai_malloc(CLASS_NAMES_MAX), what[1100];
    snprintf(what, sizeof what, "%s: /model@class_names", path);
    xai_status s = xai_h5_get_str(g, "class_names", v, CLASS_NAMES_MAX);
    if (s != XAI_OK) s = xai_fail(XAI_EFORMAT, "%s is not a string", what);
    else if (strlen(v) >= CLASS_NAMES_MAX - 1) s = xai_fail(XAI_EFORMAT, "%s is %d bytes or more", what, CLASS_NAMES_MAX - 1);
    else if (xai_model_set_class_names(m, v, '\n', what) != XAI_OK) s = XAI_EFORMAT;
    free(v);
    return s;
}

xai_status xai_model_load_from(xai_model **out, hid_t file, const char *path, int max_batch)
{
    *out = NULL;
    hid_t g = xai_h5_open_group(file, "/model");
    if (g < 0) return xai_fail(XAI_EFORMAT, "%s: no /model group (not a model file?)", path);
    xai_shape in;
    int nclasses, nlayers;
    xai_layer_spec *specs = NULL;
    xai_model *m = NULL;
    xai_status s;
    if ((s = read_header(g, path, &in, &nclasses, &nlayers)) != XAI_OK) goto done;
    specs = xai_calloc(nlayers, sizeof *specs);
    if ((s = read_specs(specs, nlayers, g, path)) != XAI_OK) goto done;
    char where[1024];
    snprintf(where, sizeof where, "%s: the layers do not fit together", path);
    s = xai_model_create_at(&m, specs, nlayers, in, nclasses, max_batch, where);
    if (s != XAI_OK) {
        s = XAI_EFORMAT; /* a file that builds no model is malformed, whatever the builder says */
        goto done;
    }
    if ((s = read_params(m, g, path)) != XAI_OK) goto done;
    if ((s = read_normalization(m, g, path)) != XAI_OK) goto done;
    s = read_class_names(m, g, path);
done:
    free(specs);
    H5Gclose(g);
    if (s != XAI_OK) {
        xai_model_free(m);
        return s;
    }
    *out = m;
    return XAI_OK;
}

xai_status xai_model_load(xai_model **m, const char *path, int max_batch)
{
    hid_t f;
    *m = NULL;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status s = xai_model_load_from(m, f, path, max_batch);
    H5Fclose(f);
    return s;
}

/* ------------------------------------------------------------------- info */

enum { LAYERS_TEXT_MAX = 1 << 16 };

xai_status xai_model_info_read(xai_model_info *info, const char *path)
{
    memset(info, 0, sizeof *info);
    info->layers_text = xai_calloc(LAYERS_TEXT_MAX, 1);
    info->norm_mean_n = info->norm_std_n = -1;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    hid_t g = xai_h5_open_group(f, "/model");
    if (g < 0) {
        xai_h5_close(f);
        return xai_fail(XAI_EFORMAT, "%s: no /model group (not a model file, see core/README.md)", path);
    }
    double shape[3];
    if (xai_h5_get_f64v(g, "input_shape", shape, 3) == 3) {
        xai_status st = check_input_shape(shape, path); /* 1e300 or NaN: no int64 holds it */
        if (st != XAI_OK) {
            xai_h5_close(g);
            xai_h5_close(f);
            return st;
        }
        for (int i = 0; i < 3; i++) info->input_shape[i] = (int64_t)shape[i];
    }
    xai_h5_get_i64(g, "num_classes", &info->nclasses);
    xai_h5_get_i64(g, "num_layers", &info->nlayers);
    xai_h5_get_str(g, "layers_text", info->layers_text, LAYERS_TEXT_MAX);
    xai_h5_get_str(g, "program_version", info->program_version, sizeof info->program_version);
    info->norm_mean_n = xai_h5_get_f64v(g, "normalize_mean", info->norm_mean, 8);
    info->norm_std_n = xai_h5_get_f64v(g, "normalize_std", info->norm_std, 8);
    xai_clear_error();
    xai_h5_close(g);
    xai_h5_close(f);
    return XAI_OK;
}

void xai_model_info_free(xai_model_info *info)
{
    free(info->layers_text);
    memset(info, 0, sizeof *info);
}
