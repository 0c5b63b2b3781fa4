/* attrfile_extra2.h: what the attribution file's header reader (explain.h) leaves out: provenance,
 * the normalisation as recorded, per-method attributes and single rows. Fold into explain.h. */
#ifndef XAI_ATTRFILE_EXTRA2_H
#define XAI_ATTRFILE_EXTRA2_H

#include "explainers/explain.h"

/* File-level facts beside the header. */
typedef struct {
    char program_version[128];  /* "" when absent */
    int norm_mean_n, norm_std_n; /* values in @normalize_mean / @normalize_std (-1: absent) */
} xai_attr_info;
xai_status xai_attr_read_info(xai_attr_info *info, const char *path);

/* Row `image` (C, H, W) of a method's map, or of /inputs when method is NULL: only that image is
 * read. Errors name the file, the dataset and the row. */
xai_status xai_attr_read_row(const char *path, const char *method, int image, float *out /* (C, H, W) */,
                             const xai_attr_header *h);

#endif
