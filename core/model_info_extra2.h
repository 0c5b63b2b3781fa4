/* model_info_extra2.h: the descriptive attributes of a model file's /model group, without building
 * the net (for reports). To be folded into core/nn.h + core/model_io.c, the model file's owner. */
#ifndef XAI_MODEL_INFO_EXTRA2_H
#define XAI_MODEL_INFO_EXTRA2_H

#include "core/base.h"

#include <stdint.h>

typedef struct {
    int64_t input_shape[3];     /* (C, H, W); zeros when absent */
    int64_t nclasses, nlayers;  /* 0 when absent */
    char *layers_text;          /* malloc'd /model@layers_text, "" when absent */
    char program_version[128];  /* "" when absent */
    double norm_mean[8], norm_std[8];
    int norm_mean_n, norm_std_n; /* values found in @normalize_mean / @normalize_std (-1: absent) */
} xai_model_info;

/* XAI_EFORMAT (naming the file) when there is no /model group; absent attributes stay empty.
 * Free with xai_model_info_free, also after an error. */
xai_status xai_model_info_read(xai_model_info *info, const char *path);
void xai_model_info_free(xai_model_info *info);

#endif
