/* model_info_extra2.c: reads the descriptive attributes of /model (shape, classes, layer text,
 * version, normalisation) for reports; the weights are left alone. Fold into core/model_io.c. */
#include "core/h5.h"
#include "core/model_info_extra2.h"

#include <stdlib.h>
#include <string.h>

enum { LAYERS_TEXT_MAX = 1 << 16 };

xai_status xai_model_info_read(xai_model_info *info, const char *path)
{
    memset(info, 0, sizeof *info);
    info->layers_text = xai_calloc(LAYERS_TEXT_MAX, 1);
    info->norm_mean_n = info->norm_std_n = -1;
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status s = XAI_OK;
    hid_t g = xai_h5_exists(f, "/model") ? H5Gopen2(f, "/model", H5P_DEFAULT) : -1;
    if (g < 0) {
        s = xai_fail(XAI_EFORMAT, "%s: no /model group (not a model file, see core/README.md)", path);
        goto done;
    }
    double shape[3];
    if (xai_h5_get_f64v(g, "input_shape", shape, 3) == 3)
        for (int i = 0; i < 3; i++) info->input_shape[i] = (int64_t)shape[i];
    xai_h5_get_i64(g, "num_classes", &info->nclasses);
    xai_h5_get_i64(g, "num_layers", &info->nlayers);
    xai_h5_get_str(g, "layers_text", info->layers_text, LAYERS_TEXT_MAX);
    xai_h5_get_str(g, "program_version", info->program_version, sizeof info->program_version);
    info->norm_mean_n = xai_h5_get_f64v(g, "normalize_mean", info->norm_mean, 8);
    info->norm_std_n = xai_h5_get_f64v(g, "normalize_std", info->norm_std, 8);
    xai_clear_error();
    H5Gclose(g);
done:
    H5Fclose(f);
    return s;
}

void xai_model_info_free(xai_model_info *info)
{
    free(info->layers_text);
    memset(info, 0, sizeof *info);
}
