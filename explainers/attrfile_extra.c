/* attrfile_extra.c: the attribution-file readers attrfile.c's API lacks (see attrfile_extra.h);
 * same format and owner as attrfile.c, into which they are to be folded. */
#include "core/h5.h"
#include "explainers/attrfile_extra.h"

#include <stdlib.h>
#include <string.h>

/* Opens file and the dataset /attributions/<method>. */
static xai_status open_method(hid_t *f, hid_t *ds, const char *path, const char *method)
{
    XAI_TRY(xai_h5_open(f, path, 0));
    char name[600];
    snprintf(name, sizeof name, "/attributions/%s", method);
    *ds = xai_h5_exists(*f, name) ? H5Dopen2(*f, name, H5P_DEFAULT) : -1;
    if (*ds >= 0) return XAI_OK;
    H5Fclose(*f);
    return xai_fail(XAI_EFORMAT, "%s: cannot open %s", path, name);
}

xai_status xai_attr_read_kind(const char *path, const char *method, char *kind, size_t cap)
{
    hid_t f, ds;
    XAI_TRY(open_method(&f, &ds, path, method));
    if (xai_h5_get_str(ds, "kind", kind, cap) != XAI_OK && cap) kind[0] = '\0';
    H5Dclose(ds);
    H5Fclose(f);
    return XAI_OK;
}

static void ig_settings(xai_ig_opts *o, hid_t ds)
{
    int64_t v;
    double d;
    char s[64];
    if (xai_h5_get_i64(ds, "steps", &v) == XAI_OK) o->steps = (int)v;
    if (xai_h5_get_str(ds, "rule", s, sizeof s) == XAI_OK && xai_quad_rule_from_name(s) >= 0)
        o->rule = xai_quad_rule_from_name(s);
    if (xai_h5_get_str(ds, "baseline", s, sizeof s) == XAI_OK && xai_baseline_from_name(s) >= 0)
        o->baseline = xai_baseline_from_name(s);
    if (xai_h5_get_f64(ds, "baseline_value", &d) == XAI_OK) o->value = d;
    if (xai_h5_get_f64(ds, "blur_sigma", &d) == XAI_OK) o->sigma = d;
    if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) o->seed = (uint64_t)v;
}

static void lrp_settings(xai_lrp_opts *o, hid_t ds)
{
    char s[64];
    xai_h5_get_f64(ds, "epsilon", &o->epsilon);
    xai_h5_get_f64(ds, "gamma", &o->gamma);
    xai_h5_get_f64(ds, "alpha", &o->alpha);
    xai_h5_get_f64(ds, "beta", &o->beta);
    xai_h5_get_f64(ds, "stabilizer", &o->stabilizer);
    xai_h5_get_f64(ds, "zb_low", &o->zb_low);
    xai_h5_get_f64(ds, "zb_high", &o->zb_high);
    if (xai_h5_get_str(ds, "bias", s, sizeof s) == XAI_OK) o->bias_input = strcmp(s, "ignore") != 0;
}

static void other_settings(xai_method *meth, hid_t ds)
{
    int64_t v;
    if (meth->kind == XAI_METHOD_SMOOTHGRAD) {
        if (xai_h5_get_i64(ds, "samples", &v) == XAI_OK) meth->sg.samples = (int)v;
        xai_h5_get_f64(ds, "noise", &meth->sg.noise);
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->sg.seed = (uint64_t)v;
    } else if (meth->kind == XAI_METHOD_RANDOM) {
        if (xai_h5_get_i64(ds, "seed", &v) == XAI_OK) meth->seed = (uint64_t)v;
    }
}

xai_status xai_attr_read_method_spec(xai_method *meth, const char *path, const char *method)
{
    hid_t f, ds;
    XAI_TRY(open_method(&f, &ds, path, method));
    char spec[256];
    if (xai_h5_get_str(ds, "method", spec, sizeof spec) != XAI_OK) snprintf(spec, sizeof spec, "%s", method);
    xai_status s = xai_method_parse(meth, spec, NULL);
    if (s == XAI_OK && meth->kind == XAI_METHOD_IG) ig_settings(&meth->ig, ds);
    else if (s == XAI_OK && meth->kind == XAI_METHOD_LRP) lrp_settings(&meth->lrp, ds);
    else if (s == XAI_OK) other_settings(meth, ds);
    H5Dclose(ds);
    H5Fclose(f);
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        return xai_fail(s, "%s: method '%s': %s", path, method, msg);
    }
    return XAI_OK;
}

xai_status xai_attr_read_matrix(const char *path, const char *group, const char *method, double **v, int *cols,
                                const xai_attr_header *h)
{
    *v = NULL;
    *cols = 0;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[600];
    uint64_t d[8];
    snprintf(name, sizeof name, "%s/%s", group, method);
    xai_status s = XAI_ENOTFOUND;
    if (xai_h5_dims(f, name, d) == 2 && d[0] == (uint64_t)h->n && d[1] > 0 && d[1] < (1u << 20)) {
        double *buf = xai_malloc((size_t)d[0] * d[1] * sizeof *buf);
        s = xai_h5_read(f, name, H5T_NATIVE_DOUBLE, buf, 2, d, path);
        if (s == XAI_OK) *v = buf, *cols = (int)d[1];
        else free(buf);
    }
    H5Fclose(f);
    return s;
}
