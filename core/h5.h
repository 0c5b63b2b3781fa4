/* h5.h: thin HDF5 helpers that name the file and object in every error, atomic file creation,
 * and the model's reader/writer on open files. Only the modules that own a file format include it. */
#ifndef XAI_H5_H
#define XAI_H5_H

#include "core/nn.h"

#include <hdf5.h>

/* ----------------------------------------------------------- HDF5 helpers */

/* Element types of datasets, for modules that must not spell HDF5's own type names. */
typedef enum { XAI_H5_U8, XAI_H5_I32, XAI_H5_I64, XAI_H5_U64, XAI_H5_F32, XAI_H5_F64 } xai_h5_type;

/* All helpers name the file and object in their error messages. HDF5's own
 * error printing is switched off by xai_h5_init (called by every open). */
void xai_h5_init(void);
/* Atomic create: writes "<path>.tmp.<pid>"; xai_h5_commit closes and renames,
 * xai_h5_abort closes and unlinks. */
typedef struct { hid_t id; char *path, *tmp; int par; } xai_h5file;
xai_status xai_h5_create(xai_h5file *f, const char *path);
/* The same, collective over the ranks of an MPI run (core/mpi.h): every rank opens one file through
 * MPI-IO ("<path>.tmp.<pid of rank 0>"), every later call on it (groups, attributes, datasets,
 * commit, abort) is made by every rank with the same arguments, and commit renames on rank 0
 * once all ranks have closed it. Without MPI (or not launched by mpirun) it is xai_h5_create.
 * Datasets written with xai_h5_write and its typed wrappers hold the same data on every rank:
 * each rank writes its xai_mpi_shard of the rows; xai_h5_write_rows writes rows a rank has alone. */
xai_status xai_h5_create_par(xai_h5file *f, const char *path);
xai_status xai_h5_commit(xai_h5file *f);
void xai_h5_abort(xai_h5file *f);
xai_status xai_h5_open(hid_t *file, const char *path, int writable);
/* Creates intermediate groups of a '/'-path. */
hid_t xai_h5_group(hid_t loc, const char *path);
xai_status xai_h5_write(hid_t loc, const char *name, hid_t type, const void *data, int rank,
                        const uint64_t *dims);
xai_status xai_h5_write_f32(hid_t loc, const char *name, const float *data, int rank, const uint64_t *dims);
/* Creates dataset `name` of dims and writes its rows [row0, row0 + nrows) along the first
 * dimension from data (nrows x the other dims); in a file of xai_h5_create_par every rank calls it
 * (collectively), each with its own rows, which together cover the dataset. */
xai_status xai_h5_write_rows(hid_t loc, const char *name, xai_h5_type t, const void *data, int rank,
                             const uint64_t *dims, uint64_t row0, uint64_t nrows);
/* Before reading back, in a file of xai_h5_create_par, what other ranks wrote (collective; no-op
 * elsewhere). */
void xai_h5_sync(hid_t loc);
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
int xai_h5_has_attr(hid_t loc, const char *name);                       /* 1 when present */

/* --------------------------------------------- typed helpers (no H5T_* needed) */

xai_status xai_h5_write_as(hid_t loc, const char *name, xai_h5_type t, const void *data, int rank,
                           const uint64_t *dims);
/* As xai_h5_read: exactly `expect` dims (NULL: any), errors name path and dataset. */
xai_status xai_h5_read_as(hid_t loc, const char *name, xai_h5_type t, void *data, int rank, const uint64_t *expect,
                          const char *path);
/* Rows [row0, row0 + nrows) along the first dimension into data (nrows x the other dims). */
xai_status xai_h5_read_rows(hid_t loc, const char *name, xai_h5_type t, uint64_t row0, uint64_t nrows, void *data,
                            const char *path);
xai_status xai_h5_write_f64(hid_t loc, const char *name, const double *data, int rank, const uint64_t *dims);
xai_status xai_h5_write_i32(hid_t loc, const char *name, const int32_t *data, int rank, const uint64_t *dims);
xai_status xai_h5_write_i64(hid_t loc, const char *name, const int64_t *data, int rank, const uint64_t *dims);
xai_status xai_h5_write_u8(hid_t loc, const char *name, const uint8_t *data, int rank, const uint64_t *dims);
xai_status xai_h5_read_f32(hid_t loc, const char *name, float *data, int rank, const uint64_t *expect,
                           const char *path);
xai_status xai_h5_read_f64(hid_t loc, const char *name, double *data, int rank, const uint64_t *expect,
                           const char *path);
xai_status xai_h5_read_i32(hid_t loc, const char *name, int32_t *data, int rank, const uint64_t *expect,
                           const char *path);
xai_status xai_h5_read_i64(hid_t loc, const char *name, int64_t *data, int rank, const uint64_t *expect,
                           const char *path);
xai_status xai_h5_read_u8(hid_t loc, const char *name, uint8_t *data, int rank, const uint64_t *expect,
                          const char *path);

/* Opens an existing group ('/'-path, absolute or relative to loc); -1 when missing. */
hid_t xai_h5_open_group(hid_t loc, const char *path);
/* Closes a file, group or dataset id (whichever it is); ids < 0 are ignored. */
void xai_h5_close(hid_t id);
/* Names of the links in group `path` under loc, in creation order when the file tracks it,
 * else by name. Returns the count (0 for an empty group), -1 when the group is missing;
 * *names is malloc'd, each name too (free with xai_h5_names_free). */
int xai_h5_list(hid_t loc, const char *path, char ***names);
void xai_h5_names_free(char **names, int n);

/* Model I/O on an open file (the model file format lives in model_io.c). */
xai_status xai_model_save_to(const xai_model *m, hid_t file); /* into an open file */
xai_status xai_model_load_from(xai_model **m, hid_t file, const char *path, int max_batch);

#endif
