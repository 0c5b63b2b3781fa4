/* h5.h: thin HDF5 helpers that name the file and object in every error, atomic file creation,
 * and the model's reader/writer on open files. Only the modules that own a file format include it. */
#ifndef XAI_H5_H
#define XAI_H5_H

#include "core/nn.h"

#include <hdf5.h>

/* ----------------------------------------------------------- HDF5 helpers */

/* All helpers name the file and object in their error messages. HDF5's own
 * error printing is switched off by xai_h5_init (called by every open). */
void xai_h5_init(void);
/* Atomic create: writes "<path>.tmp.<pid>"; xai_h5_commit closes and renames,
 * xai_h5_abort closes and unlinks. */
typedef struct { hid_t id; char *path, *tmp; } xai_h5file;
xai_status xai_h5_create(xai_h5file *f, const char *path);
xai_status xai_h5_commit(xai_h5file *f);
void xai_h5_abort(xai_h5file *f);
xai_status xai_h5_open(hid_t *file, const char *path, int writable);
/* Creates intermediate groups of a '/'-path. */
hid_t xai_h5_group(hid_t loc, const char *path);
xai_status xai_h5_write(hid_t loc, const char *name, hid_t type, const void *data, int rank,
                        const uint64_t *dims);
xai_status xai_h5_write_f32(hid_t loc, const char *name, const float *data, int rank, const uint64_t *dims);
/* Reads exactly `expect` dims (NULL: any) into data (caller-sized by dims). */
xai_status xai_h5_read(hid_t loc, const char *name, hid_t type, void *data, int rank,
                       const uint64_t *expect, const char *path);
/* Shape of a dataset: rank returned, dims filled (up to 8). -1 when missing. */
int xai_h5_dims(hid_t loc, const char *name, uint64_t *dims);
int xai_h5_exists(hid_t loc, const char *name);
xai_status xai_h5_attr_str(hid_t loc, const char *name, const char *value);
xai_status xai_h5_attr_i64(hid_t loc, const char *name, int64_t value);
xai_status xai_h5_attr_f64(hid_t loc, const char *name, double value);
xai_status xai_h5_attr_f64v(hid_t loc, const char *name, const double *v, int n);
xai_status xai_h5_attr_i64v(hid_t loc, const char *name, const int64_t *v, int n);
/* Readers: return XAI_ENOTFOUND when absent (no message set), *out untouched. */
xai_status xai_h5_get_str(hid_t loc, const char *name, char *out, size_t cap);
xai_status xai_h5_get_i64(hid_t loc, const char *name, int64_t *out);
xai_status xai_h5_get_f64(hid_t loc, const char *name, double *out);
int xai_h5_get_f64v(hid_t loc, const char *name, double *out, int cap); /* count read, -1 absent */

/* Model I/O on an open file (the model file format lives in model_io.c). */
xai_status xai_model_save_to(const xai_model *m, hid_t file); /* into an open file */
xai_status xai_model_load_from(xai_model **m, hid_t file, const char *path, int max_batch);

#endif
