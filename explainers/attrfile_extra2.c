/* attrfile_extra2.c: readers of the attribution file for the report and the plot data: file facts,
 * per-method attributes and single image rows. Fold into explainers/attrfile.c, the format's owner. */
#include "core/h5.h"
#include "explainers/attrfile_extra2.h"

#include <math.h>
#include <string.h>

xai_status xai_attr_read_info(xai_attr_info *info, const char *path)
{
    memset(info, 0, sizeof *info);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    double v[8];
    xai_h5_get_str(f, "program_version", info->program_version, sizeof info->program_version);
    info->norm_mean_n = xai_h5_get_f64v(f, "normalize_mean", v, 8);
    info->norm_std_n = xai_h5_get_f64v(f, "normalize_std", v, 8);
    xai_clear_error();
    H5Fclose(f);
    return XAI_OK;
}

/* One row of an open (N, C, H, W) float dataset, by hyperslab. */
static xai_status read_row(hid_t ds, const char *path, const char *name, int image, float *out,
                           const xai_attr_header *h)
{
    hid_t sp = H5Dget_space(ds);
    hsize_t d[4], start[4] = {(hsize_t)image, 0, 0, 0};
    hsize_t count[4] = {1, (hsize_t)h->shape.c, (hsize_t)h->shape.h, (hsize_t)h->shape.w};
    xai_status s = XAI_OK;
    if (H5Sget_simple_extent_ndims(sp) != 4 || H5Sget_simple_extent_dims(sp, d, NULL) < 0 || d[1] != count[1] ||
        d[2] != count[2] || d[3] != count[3] || (hsize_t)image >= d[0]) {
        s = xai_fail(XAI_EFORMAT, "%s: '%s' is not (N, %d, %d, %d) with a row %d", path, name, h->shape.c,
                     h->shape.h, h->shape.w, image);
        goto done;
    }
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(4, count, NULL);
    if (H5Dread(ds, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, out) < 0)
        s = xai_fail(XAI_EFORMAT, "%s: cannot read row %d of '%s' (truncated file?)", path, image, name);
    H5Sclose(ms);
done:
    H5Sclose(sp);
    return s;
}

xai_status xai_attr_read_row(const char *path, const char *method, int image, float *out, const xai_attr_header *h)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    char name[512];
    if (method) snprintf(name, sizeof name, "attributions/%s", method);
    else snprintf(name, sizeof name, "inputs");
    xai_status s = XAI_OK;
    hid_t ds = xai_h5_exists(f, name) ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    if (ds < 0) {
        s = xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s'", path, name);
    } else {
        s = read_row(ds, path, name, image, out, h);
        H5Dclose(ds);
    }
    H5Fclose(f);
    return s;
}
