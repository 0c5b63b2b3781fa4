/* attrfile_extra.h: readers of the attribution file that attrfile.c's API still lacks (a method's
 * stored kind and settings, 2-D per-image arrays); to be folded into attrfile.c and explain.h. */
#ifndef XAI_ATTRFILE_EXTRA_H
#define XAI_ATTRFILE_EXTRA_H

#include "explainers/explain.h"

/* A method's @kind ("ig", "lrp", ...) into kind; "" when the dataset has none. */
xai_status xai_attr_read_kind(const char *path, const char *method, char *kind, size_t cap);
/* A method rebuilt from its dataset attributes: @method parsed (the dataset name when absent), then
 * every setting stored beside it, since `xai explain` may have overridden the spec's defaults. */
xai_status xai_attr_read_method_spec(xai_method *meth, const char *path, const char *method);
/* A per-image (N, cols) float64 array such as "lrp/layer_sums" of a method, malloc'd into *v:
 * XAI_ENOTFOUND (*v NULL, *cols 0, no message) when the method has none or it is not 2-D. */
xai_status xai_attr_read_matrix(const char *path, const char *group, const char *method, double **v /* (N, cols) */,
                                int *cols, const xai_attr_header *h);

#endif
