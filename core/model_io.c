/* model_io.c: save and load models in HDF5, weights in PyTorch's layout.
 * The file alone is enough to rebuild the net (layout documented in core/README.md). */
#include "core/base.h"
#include "core/nn.h"
#include "core/h5.h"

#include <stdlib.h>
#include <string.h>

#define XAI_MODEL_FORMAT "xai-model-1"

xai_status xai_model_save_to(const xai_model *m, hid_t file)
{
    hid_t g = xai_h5_group(file, "/model");
    if (g < 0) return xai_fail(XAI_EIO, "HDF5: cannot create group /model");
    int64_t shape[3] = {m->in.c, m->in.h, m->in.w};
    double mean[4], std[4];
    int nc = m->in.c < 4 ? m->in.c : 4;
    for (int c = 0; c < nc; c++) mean[c] = m->mean[c], std[c] = m->std[c];
    xai_status s = xai_h5_attr_str(g, "format", XAI_MODEL_FORMAT);
    if (s == XAI_OK) s = xai_h5_attr_i64v(g, "input_shape", shape, 3);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "num_classes", m->nclasses);
    if (s == XAI_OK) s = xai_h5_attr_i64(g, "num_layers", m->nlayers);
    if (s == XAI_OK) s = xai_h5_attr_f64v(g, "normalize_mean", mean, nc);
    if (s == XAI_OK) s = xai_h5_attr_f64v(g, "normalize_std", std, nc);
    if (s == XAI_OK) s = xai_h5_attr_str(g, "layers_text", m->spec_text);
    if (s == XAI_OK) s = xai_h5_attr_str(g, "program_version", xai_version());
    for (int i = 0; i < m->nlayers && s == XAI_OK; i++) {
        const xai_layer *l = &m->layers[i];
        char name[32];
        snprintf(name, sizeof name, "layers/%02d", i);
        hid_t lg = xai_h5_group(g, name);
        if (lg < 0) {
            s = xai_fail(XAI_EIO, "HDF5: cannot create /model/%s", name);
            break;
        }
        s = xai_h5_attr_str(lg, "type", xai_layer_type_name(l->type));
        switch (l->type) {
        case XAI_CONV2D: {
            uint64_t wd[4] = {l->out.c, l->in.c, l->k, l->k}, bd[1] = {l->out.c};
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "in_channels", l->in.c);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "out_channels", l->out.c);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "kernel_size", l->k);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "stride", l->stride);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "padding", l->pad);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "bias", l->bias);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "weight", l->w, 4, wd);
            if (s == XAI_OK && l->bias) s = xai_h5_write_f32(lg, "bias", l->b, 1, bd);
            break;
        }
        case XAI_LINEAR: {
            uint64_t wd[2] = {l->out.c, l->in.c}, bd[1] = {l->out.c};
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "in_features", l->in.c);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "out_features", l->out.c);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "bias", l->bias);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "weight", l->w, 2, wd);
            if (s == XAI_OK && l->bias) s = xai_h5_write_f32(lg, "bias", l->b, 1, bd);
            break;
        }
        case XAI_BATCHNORM2D: {
            uint64_t d[1] = {l->in.c};
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "num_features", l->in.c);
            if (s == XAI_OK) s = xai_h5_attr_f64(lg, "eps", l->eps);
            if (s == XAI_OK) s = xai_h5_attr_f64(lg, "momentum", l->momentum);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "weight", l->w, 1, d);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "bias", l->b, 1, d);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "running_mean", l->rmean, 1, d);
            if (s == XAI_OK) s = xai_h5_write_f32(lg, "running_var", l->rvar, 1, d);
            break;
        }
        case XAI_MAXPOOL2D:
        case XAI_AVGPOOL2D:
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "kernel_size", l->k);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "stride", l->stride);
            if (s == XAI_OK) s = xai_h5_attr_i64(lg, "padding", l->pad);
            break;
        case XAI_DROPOUT:
            if (s == XAI_OK) s = xai_h5_attr_f64(lg, "p", l->p);
            break;
        default: break;
        }
        H5Gclose(lg);
    }
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

static xai_status need_i64(hid_t g, const char *attr, int64_t *v, const char *path, const char *obj)
{
    xai_status s = xai_h5_get_i64(g, attr, v);
    if (s == XAI_ENOTFOUND) return xai_fail(XAI_EFORMAT, "%s: %s lacks attribute '%s'", path, obj, attr);
    if (s != XAI_OK) return xai_fail(s, "%s: %s: %s", path, obj, xai_errmsg());
    return XAI_OK;
}

xai_status xai_model_load_from(xai_model **out, hid_t file, const char *path, int max_batch)
{
    *out = NULL;
    if (!xai_h5_exists(file, "/model")) return xai_fail(XAI_EFORMAT, "%s: no /model group (not a model file?)", path);
    hid_t g = H5Gopen2(file, "/model", H5P_DEFAULT);
    if (g < 0) return xai_fail(XAI_EFORMAT, "%s: cannot open /model", path);
    double dv[8];
    int64_t nclasses = 0, nlayers = 0;
    xai_shape in = {0, 0, 0};
    xai_layer_spec *specs = NULL;
    xai_model *m = NULL;
    xai_status s = XAI_OK;
    int r = xai_h5_get_f64v(g, "input_shape", dv, 8);
    if (r != 3) s = xai_fail(XAI_EFORMAT, "%s: /model attribute 'input_shape' missing or not 3 numbers (C, H, W)", path);
    else in = (xai_shape){(int)dv[0], (int)dv[1], (int)dv[2]};
    if (s == XAI_OK) s = need_i64(g, "num_classes", &nclasses, path, "/model");
    if (s == XAI_OK) s = need_i64(g, "num_layers", &nlayers, path, "/model");
    if (s == XAI_OK && (nlayers <= 0 || nlayers > 10000))
        s = xai_fail(XAI_EFORMAT, "%s: /model num_layers = %lld is out of range", path, (long long)nlayers);
    if (s == XAI_OK) specs = xai_calloc(nlayers, sizeof *specs);
    for (int i = 0; s == XAI_OK && i < nlayers; i++) {
        char name[32], obj[48], type[64];
        snprintf(name, sizeof name, "layers/%02d", i);
        snprintf(obj, sizeof obj, "/model/%s", name);
        if (!xai_h5_exists(g, name)) {
            s = xai_fail(XAI_EFORMAT, "%s: missing group %s (num_layers = %lld)", path, obj, (long long)nlayers);
            break;
        }
        hid_t lg = H5Gopen2(g, name, H5P_DEFAULT);
        if (xai_h5_get_str(lg, "type", type, sizeof type) != XAI_OK) {
            s = xai_fail(XAI_EFORMAT, "%s: %s lacks a string attribute 'type'", path, obj);
            H5Gclose(lg);
            break;
        }
        int t = xai_layer_type_from_name(type);
        if (t < 0) {
            s = xai_fail(XAI_EFORMAT, "%s: %s has unknown layer type '%s'", path, obj, type);
            H5Gclose(lg);
            break;
        }
        xai_layer_spec *sp = &specs[i];
        sp->type = t;
        sp->bias = 1;
        sp->eps = 1e-5f;
        sp->momentum = 0.1f;
        int64_t v;
        double d;
        switch (t) {
        case XAI_CONV2D:
            s = need_i64(lg, "out_channels", &v, path, obj);
            sp->out = (int)v;
            if (s == XAI_OK) s = need_i64(lg, "kernel_size", &v, path, obj), sp->k = (int)v;
            if (s == XAI_OK) s = need_i64(lg, "stride", &v, path, obj), sp->stride = (int)v;
            if (s == XAI_OK) s = need_i64(lg, "padding", &v, path, obj), sp->pad = (int)v;
            if (s == XAI_OK && xai_h5_get_i64(lg, "bias", &v) == XAI_OK) sp->bias = (int)v;
            break;
        case XAI_LINEAR:
            s = need_i64(lg, "out_features", &v, path, obj);
            sp->out = (int)v;
            if (s == XAI_OK && xai_h5_get_i64(lg, "bias", &v) == XAI_OK) sp->bias = (int)v;
            break;
        case XAI_MAXPOOL2D:
        case XAI_AVGPOOL2D:
            s = need_i64(lg, "kernel_size", &v, path, obj);
            sp->k = (int)v;
            if (s == XAI_OK) s = need_i64(lg, "stride", &v, path, obj), sp->stride = (int)v;
            if (s == XAI_OK && xai_h5_get_i64(lg, "padding", &v) == XAI_OK) sp->pad = (int)v;
            break;
        case XAI_BATCHNORM2D:
            if (xai_h5_get_f64(lg, "eps", &d) == XAI_OK) sp->eps = (float)d;
            if (xai_h5_get_f64(lg, "momentum", &d) == XAI_OK) sp->momentum = (float)d;
            break;
        case XAI_DROPOUT:
            sp->p = 0.5f;
            if (xai_h5_get_f64(lg, "p", &d) == XAI_OK) sp->p = (float)d;
            break;
        default: break;
        }
        if (s == XAI_OK && (t == XAI_CONV2D || t == XAI_LINEAR) && sp->out <= 0)
            s = xai_fail(XAI_EFORMAT, "%s: %s has %d outputs", path, obj, sp->out);
        H5Gclose(lg);
    }
    if (s == XAI_OK) {
        s = xai_model_create(&m, specs, (int)nlayers, in, (int)nclasses, max_batch);
        if (s != XAI_OK) s = xai_fail(XAI_EFORMAT, "%s: the layers do not fit together: %s", path, xai_errmsg());
    }
    for (int i = 0; s == XAI_OK && i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        char obj[64];
        uint64_t d4[4] = {l->out.c, l->in.c, l->k, l->k}, d2[2] = {l->out.c, l->in.c}, d1[1] = {l->out.c};
        hid_t lg;
        snprintf(obj, sizeof obj, "/model/layers/%02d", i);
        lg = H5Gopen2(file, obj, H5P_DEFAULT);
        char what[96];
        snprintf(what, sizeof what, "%s", obj);
        if (l->type == XAI_CONV2D || l->type == XAI_LINEAR) {
            int is_conv = l->type == XAI_CONV2D;
            s = xai_h5_read(lg, "weight", H5T_NATIVE_FLOAT, l->w, is_conv ? 4 : 2, is_conv ? d4 : d2, path);
            if (s == XAI_OK && l->bias) s = xai_h5_read(lg, "bias", H5T_NATIVE_FLOAT, l->b, 1, d1, path);
        } else if (l->type == XAI_BATCHNORM2D) {
            uint64_t dc[1] = {l->in.c};
            s = xai_h5_read(lg, "weight", H5T_NATIVE_FLOAT, l->w, 1, dc, path);
            if (s == XAI_OK) s = xai_h5_read(lg, "bias", H5T_NATIVE_FLOAT, l->b, 1, dc, path);
            if (s == XAI_OK) s = xai_h5_read(lg, "running_mean", H5T_NATIVE_FLOAT, l->rmean, 1, dc, path);
            if (s == XAI_OK) s = xai_h5_read(lg, "running_var", H5T_NATIVE_FLOAT, l->rvar, 1, dc, path);
        }
        if (s != XAI_OK) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", xai_errmsg());
            /* Name the layer: "dataset 'weight'" alone does not say which. */
            char *q = strstr(msg, "dataset '");
            if (q) s = xai_fail(s, "%s (in %s)", msg, what);
        }
        H5Gclose(lg);
    }
    if (s == XAI_OK) {
        int nc = in.c < 4 ? in.c : 4;
        int nm = xai_h5_get_f64v(g, "normalize_mean", dv, 8);
        if (nm == nc)
            for (int c = 0; c < nc; c++) m->mean[c] = (float)dv[c];
        nm = xai_h5_get_f64v(g, "normalize_std", dv, 8);
        if (nm == nc)
            for (int c = 0; c < nc; c++) m->std[c] = (float)dv[c];
        for (int c = 0; c < nc; c++)
            if (!(m->std[c] > 0)) s = xai_fail(XAI_EFORMAT, "%s: normalize_std[%d] = %g must be positive", path, c, m->std[c]);
    }
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
