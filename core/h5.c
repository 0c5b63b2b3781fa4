/* h5.c: thin HDF5 helpers: atomic file creation, datasets with shape checks, attributes.
 * Errors name the file and the object so a user can tell what is wrong with which file. */
#include "core/base.h"
#include "core/h5.h"
#include "core/io.h"
#include "core/mpi.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void xai_h5_init(void)
{
    static int done;
    if (done) return;
    done = 1;
    H5open();
    /* We report errors ourselves, with file names; HDF5's stack dumps confuse users. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

xai_status xai_h5_create(xai_h5file *f, const char *path)
{
    xai_h5_init();
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 32;
    f->path = xai_strdup(path);
    f->tmp = xai_malloc(n);
    xai_remove_stale_tmp(path);
    snprintf(f->tmp, n, "%s.tmp.%d", path, (int)getpid());
    f->id = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f->id < 0) {
        xai_status s = xai_fail(XAI_EIO, "%s: cannot create HDF5 file (directory missing or not writable?)", f->tmp);
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return s;
    }
    return XAI_OK;
}

/* ------------------------------------------------- parallel files (MPI-IO) */

#ifdef H5_HAVE_PARALLEL
/* 1 when loc lives in a file opened through MPI-IO (xai_h5_create_par under mpirun). */
static int is_par(hid_t loc)
{
    if (!xai_mpi_active()) return 0;
    hid_t f = H5Iget_file_id(loc), fapl = f >= 0 ? H5Fget_access_plist(f) : -1;
    int par = fapl >= 0 && H5Pget_driver(fapl) == H5FD_MPIO;
    if (fapl >= 0) H5Pclose(fapl);
    if (f >= 0) H5Fclose(f);
    return par;
}

/* Every rank opens rank 0's temporary name; a failure anywhere fails everywhere. */
static xai_status create_par(xai_h5file *f, const char *path)
{
    size_t n = strlen(path) + 32;
    f->path = xai_strdup(path);
    f->tmp = xai_calloc(n, 1);
    if (xai_mpi_rank() == 0) {
        xai_remove_stale_tmp(path);
        snprintf(f->tmp, n, "%s.tmp.%d", path, (int)getpid());
    }
    xai_status s = xai_mpi_bcast(f->tmp, (int64_t)n, 0);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, xai_mpi_comm(), MPI_INFO_NULL); /* a group's, under xai reproduce */
    f->id = s == XAI_OK ? H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
    H5Pclose(fapl);
    f->par = 1;
    if (s == XAI_OK && f->id < 0)
        s = xai_fail(XAI_EIO, "%s: cannot create HDF5 file through MPI-IO (directory missing or not writable?)", f->tmp);
    if ((s = xai_mpi_agree(s)) != XAI_OK) xai_h5_abort(f);
    return s;
}
#else
static int is_par(hid_t loc) { return (void)loc, 0; }
static xai_status create_par(xai_h5file *f, const char *path) { return xai_h5_create(f, path); }
#endif

xai_status xai_h5_create_par(xai_h5file *f, const char *path)
{
    if (!xai_mpi_active()) return xai_h5_create(f, path);
    xai_h5_init();
    memset(f, 0, sizeof *f);
    return create_par(f, path);
}

/* Closed by every rank first (collectively), then renamed by rank 0, whose outcome all share. */
static xai_status commit_par(xai_h5file *f)
{
    xai_status s = H5Fclose(f->id) < 0 ? xai_fail(XAI_EIO, "%s: closing HDF5 file failed", f->tmp) : XAI_OK;
    s = xai_mpi_agree(s);
    int r0 = s;
    if (s == XAI_OK && xai_mpi_rank() == 0 && rename(f->tmp, f->path) != 0)
        r0 = s = xai_fail(XAI_EIO, "%s: cannot rename from %s", f->path, f->tmp);
    xai_status b = xai_mpi_bcast(&r0, sizeof r0, 0);
    if (s == XAI_OK) s = b != XAI_OK ? b : (xai_status)r0;
    if (s != XAI_OK && xai_mpi_rank() == 0) unlink(f->tmp);
    return s;
}

xai_status xai_h5_commit(xai_h5file *f)
{
    xai_status s = XAI_OK;
    if (f->par) s = commit_par(f);
    else if (H5Fclose(f->id) < 0) s = xai_fail(XAI_EIO, "%s: closing HDF5 file failed", f->tmp);
    else if (rename(f->tmp, f->path) != 0) s = xai_fail(XAI_EIO, "%s: cannot rename from %s", f->path, f->tmp);
    if (s != XAI_OK && !f->par) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return s;
}

void xai_h5_abort(xai_h5file *f)
{
    if (f->id > 0) H5Fclose(f->id);
    if (f->par) xai_mpi_barrier(); /* every rank has closed it before rank 0 unlinks */
    if (f->tmp && (!f->par || xai_mpi_rank() == 0)) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
}

const char *xai_h5_version(void)
{
    static char v[48];
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v, sizeof v, "%u.%u.%u", maj, min, rel);
    return v;
}

xai_status xai_h5_open(hid_t *file, const char *path, int writable)
{
    xai_h5_init();
    if (!xai_file_exists(path)) return xai_fail(XAI_ENOTFOUND, "%s: no such file", path);
    htri_t ok = H5Fis_hdf5(path);
    if (ok <= 0) return xai_fail(XAI_EFORMAT, "%s: not an HDF5 file, or truncated/corrupt", path);
    *file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0) return xai_fail(XAI_EFORMAT, "%s: cannot open HDF5 file (truncated or corrupt?)", path);
    return XAI_OK;
}

hid_t xai_h5_group(hid_t loc, const char *path)
{
    if (H5Lexists(loc, path, H5P_DEFAULT) > 0) return H5Gopen2(loc, path, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    return g;
}

int xai_h5_exists(hid_t loc, const char *name)
{
    /* H5Lexists fails on a missing intermediate group; walk the path. */
    char buf[512];
    size_t n = strlen(name);
    if (n >= sizeof buf) return 0;
    memcpy(buf, name, n + 1);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        int e = H5Lexists(loc, buf, H5P_DEFAULT) > 0;
        *s = '/';
        if (!e) return 0;
    }
    return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

/* A dataset of dims: large arrays (images, attributions) chunked and deflated, small ones
 * contiguous; the layout depends on dims alone, so every writer makes the same file. */
#define CHUNKED_MIN 65536 /* values from which a dataset is chunked and deflated */

static hid_t create_dataset(hid_t loc, const char *name, hid_t type, int rank, const uint64_t *dims)
{
    hsize_t hd[8] = {0};
    size_t total = 1;
    XAI_CHECK(rank >= 0 && rank <= 8);
    for (int i = 0; i < rank; i++) total *= (hd[i] = dims[i]);
    hid_t space = H5Screate_simple(rank, hd, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (rank >= 1 && total >= CHUNKED_MIN) {
        hsize_t chunk[8];
        size_t per = 1;
        for (int i = rank - 1; i >= 0; i--) {
            chunk[i] = hd[i];
            if (i > 0) per *= hd[i];
        }
        hsize_t c0 = per >= (1u << 20) ? 1 : (1u << 20) / per;
        chunk[0] = c0 < hd[0] ? c0 : hd[0];
        if (chunk[0] == 0) chunk[0] = 1;
        H5Pset_chunk(dcpl, rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 1);
    }
    hid_t ds = H5Dcreate2(loc, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    return ds;
}

/* Rows [row0, row0 + nrows) of ds from data. par 1: one collective write in a parallel file,
 * where a rank without rows still takes part; 0: this process alone. A scalar is one row. */
static herr_t write_selection(hid_t ds, hid_t type, const void *data, int rank, const uint64_t *dims, uint64_t row0,
                              uint64_t nrows, int par)
{
    hsize_t start[8] = {0}, count[8] = {0};
    for (int i = 0; i < rank; i++) count[i] = dims[i];
    if (rank > 0) start[0] = row0, count[0] = nrows;
    hid_t fs = H5Dget_space(ds), ms = rank > 0 ? H5Screate_simple(rank, count, NULL) : H5Screate(H5S_SCALAR);
    herr_t e = 0;
    if (nrows == 0) e = H5Sselect_none(fs) < 0 || H5Sselect_none(ms) < 0 ? -1 : 0;
    else if (rank > 0) e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
#ifdef H5_HAVE_PARALLEL
    if (par) H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
#else
    (void)par;
#endif
    static const char none; /* HDF5 wants a buffer even for an empty selection */
    if (e >= 0) e = H5Dwrite(ds, type, ms, fs, dxpl, nrows ? data : &none);
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Sclose(fs);
    return e;
}

/* mode: 0 this process alone, 1 collective, 2 rank 0 alone (independent) in a parallel file. */
static xai_status write_rows(hid_t loc, const char *name, hid_t type, const void *data, int rank, const uint64_t *dims,
                             uint64_t row0, uint64_t nrows, int mode)
{
    if (rank > 0 && row0 + nrows > dims[0])
        return xai_fail(XAI_EINVAL, "HDF5: rows %llu..%llu of dataset '%s' past its %llu rows", (unsigned long long)row0,
                        (unsigned long long)(row0 + nrows), name, (unsigned long long)dims[0]);
    hid_t ds = create_dataset(loc, name, type, rank, dims);
    herr_t w = ds < 0 ? -1 : mode == 2 && xai_mpi_rank() != 0 ? 0 : write_selection(ds, type, data, rank, dims, row0, nrows, mode == 1);
    if (ds >= 0) H5Dclose(ds);
    if (w < 0) return xai_fail(XAI_EIO, "HDF5: cannot write dataset '%s'", name);
    return XAI_OK;
}

xai_status xai_h5_write(hid_t loc, const char *name, hid_t type, const void *data, int rank, const uint64_t *dims)
{
    uint64_t row0 = 0, nrows = rank > 0 ? dims[0] : 1, total = 1;
    for (int i = 0; i < rank; i++) total *= dims[i];
    int mode = is_par(loc);
    /* Every rank holds all of data. Small (contiguous) datasets: rank 0 writes them alone, which
     * spares a collective round each (a metrics file has a thousand); chunked ones, which
     * parallel HDF5 writes collectively only, take each rank's share of the rows. */
    if (mode && (rank == 0 || total < CHUNKED_MIN)) mode = 2;
    if (mode == 1) {
        int64_t b, e;
        xai_mpi_shard((int64_t)dims[0], &b, &e);
        row0 = (uint64_t)b, nrows = (uint64_t)(e - b);
    }
    size_t row_bytes = H5Tget_size(type);
    for (int i = 1; i < rank; i++) row_bytes *= dims[i];
    return write_rows(loc, name, type, (const char *)data + row0 * row_bytes, rank, dims, row0, nrows, mode);
}

void xai_h5_sync(hid_t loc)
{
    if (!is_par(loc)) return;
    /* MPI-IO's rule for reading what other ranks wrote: sync, barrier, sync. */
    H5Fflush(loc, H5F_SCOPE_GLOBAL);
    xai_mpi_barrier();
    H5Fflush(loc, H5F_SCOPE_GLOBAL);
}

int xai_h5_dims(hid_t loc, const char *name, uint64_t *dims)
{
    if (!xai_h5_exists(loc, name)) return -1;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) return -1;
    hid_t sp = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(sp);
    hsize_t hd[8];
    if (r > 8 || r < 0) r = -1;
    else {
        H5Sget_simple_extent_dims(sp, hd, NULL);
        for (int i = 0; i < r; i++) dims[i] = hd[i];
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return r;
}

xai_status xai_h5_read(hid_t loc, const char *name, hid_t type, void *data, int rank, const uint64_t *expect,
                       const char *path)
{
    uint64_t d[8];
    int r = xai_h5_dims(loc, name, d);
    if (r < 0) return xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s'", path, name);
    if (expect) {
        int bad = r != rank;
        for (int i = 0; !bad && i < r; i++) bad = d[i] != expect[i];
        if (bad) {
            char got[128] = "", want[128] = "";
            for (int i = 0; i < r; i++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", i ? "x" : "", (unsigned long long)d[i]);
            for (int i = 0; i < rank; i++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%llu", i ? "x" : "",
                         (unsigned long long)expect[i]);
            return xai_fail(XAI_EFORMAT, "%s: dataset '%s' has shape %s, expected %s", path, name, got, want);
        }
    }
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    herr_t e = ds >= 0 ? H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (ds >= 0) H5Dclose(ds);
    if (e < 0) return xai_fail(XAI_EFORMAT, "%s: cannot read dataset '%s' (truncated or corrupt file?)", path, name);
    return XAI_OK;
}

static xai_status put_attr(hid_t loc, const char *name, hid_t type, hid_t space, const void *v)
{
    /* Metadata must be the same on every rank of a parallel file: rank 0's values (timings
     * differ between ranks) are the ones written. Strings go through attr_str. */
    void *copy = NULL;
    if (is_par(loc) && H5Tget_class(type) != H5T_STRING) {
        size_t bytes = H5Tget_size(type) * (size_t)H5Sget_simple_extent_npoints(space);
        copy = xai_malloc(bytes + 1);
        memcpy(copy, v, bytes);
        if (xai_mpi_bcast(copy, (int64_t)bytes, 0) != XAI_OK) {
            free(copy);
            H5Sclose(space);
            return xai_fail(XAI_EIO, "HDF5: attribute '%s': %s", name, xai_errmsg());
        }
        v = copy;
    }
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, type, v) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    free(copy);
    if (e < 0) return xai_fail(XAI_EIO, "HDF5: cannot write attribute '%s'", name);
    return XAI_OK;
}

xai_status xai_h5_attr_str(hid_t loc, const char *name, const char *value)
{
    /* Variable-length, as h5py writes them: h5py then returns str, not bytes (the readers
     * below take both kinds, so older files with fixed-length strings still load). */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *copy = NULL;
    if (is_par(loc)) {
        /* Rank 0's string, as put_attr does with numbers. */
        int64_t len = xai_mpi_rank() == 0 ? (int64_t)strlen(value) : 0;
        xai_mpi_bcast(&len, sizeof len, 0);
        copy = xai_calloc((size_t)len + 1, 1);
        if (xai_mpi_rank() == 0) memcpy(copy, value, (size_t)len);
        xai_mpi_bcast(copy, len, 0);
        value = copy;
    }
    xai_status s = put_attr(loc, name, t, H5Screate(H5S_SCALAR), &value);
    H5Tclose(t);
    free(copy);
    return s;
}

xai_status xai_h5_attr_i64(hid_t loc, const char *name, int64_t value)
{
    return put_attr(loc, name, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR), &value);
}

xai_status xai_h5_attr_f64(hid_t loc, const char *name, double value)
{
    return put_attr(loc, name, H5T_NATIVE_DOUBLE, H5Screate(H5S_SCALAR), &value);
}

xai_status xai_h5_attr_f64v(hid_t loc, const char *name, const double *v, int n)
{
    hsize_t d = (hsize_t)n;
    return put_attr(loc, name, H5T_NATIVE_DOUBLE, H5Screate_simple(1, &d, NULL), v);
}

xai_status xai_h5_attr_i64v(hid_t loc, const char *name, const int64_t *v, int n)
{
    hsize_t d = (hsize_t)n;
    return put_attr(loc, name, H5T_NATIVE_INT64, H5Screate_simple(1, &d, NULL), v);
}

int xai_h5_has_attr(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }

xai_status xai_h5_get_str(hid_t loc, const char *name, char *out, size_t cap)
{
    if (H5Aexists(loc, name) <= 0) return XAI_ENOTFOUND;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) return XAI_ENOTFOUND;
    hid_t t = H5Aget_type(a);
    xai_status s = XAI_OK;
    /* The memory type copies the stored one: HDF5 converts neither ASCII <-> UTF-8
     * nor padding, and h5py writes variable-length strings by default. */
    if (H5Tget_class(t) != H5T_STRING) s = xai_fail(XAI_EFORMAT, "attribute '%s' is not a string", name);
    else if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(t);
        if (H5Aread(a, mt, &v) < 0 || !v) s = xai_fail(XAI_EFORMAT, "cannot read attribute '%s'", name);
        else snprintf(out, cap, "%s", v);
        if (v) H5free_memory(v);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        char *buf = xai_calloc(n + 1, 1);
        hid_t mt = H5Tcopy(t);
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (H5Aread(a, mt, buf) < 0) s = xai_fail(XAI_EFORMAT, "cannot read attribute '%s'", name);
        else snprintf(out, cap, "%s", buf);
        H5Tclose(mt);
        free(buf);
    }
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

static xai_status get_num(hid_t loc, const char *name, hid_t type, void *out)
{
    if (H5Aexists(loc, name) <= 0) return XAI_ENOTFOUND;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    herr_t e = n == 1 ? H5Aread(a, type, out) : -1;
    H5Sclose(sp);
    H5Aclose(a);
    if (e < 0) return xai_fail(XAI_EFORMAT, "attribute '%s' is not a single number", name);
    return XAI_OK;
}

xai_status xai_h5_get_i64(hid_t loc, const char *name, int64_t *out) { return get_num(loc, name, H5T_NATIVE_INT64, out); }
xai_status xai_h5_get_f64(hid_t loc, const char *name, double *out) { return get_num(loc, name, H5T_NATIVE_DOUBLE, out); }

int xai_h5_get_f64v(hid_t loc, const char *name, double *out, int cap)
{
    if (H5Aexists(loc, name) <= 0) return -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    int r = -1;
    if (n >= 0 && n <= cap && H5Aread(a, H5T_NATIVE_DOUBLE, out) >= 0) r = (int)n;
    H5Sclose(sp);
    H5Aclose(a);
    return r;
}

/* ------------------------------------------------------------ typed helpers */

static hid_t native(xai_h5_type t)
{
    switch (t) {
    case XAI_H5_U8: return H5T_NATIVE_UINT8;
    case XAI_H5_I32: return H5T_NATIVE_INT32;
    case XAI_H5_I64: return H5T_NATIVE_INT64;
    case XAI_H5_U64: return H5T_NATIVE_UINT64;
    case XAI_H5_F32: return H5T_NATIVE_FLOAT;
    case XAI_H5_F64: return H5T_NATIVE_DOUBLE;
    }
    XAI_CHECK(!"unknown xai_h5_type");
    return -1;
}

xai_status xai_h5_write_as(hid_t loc, const char *name, xai_h5_type t, const void *data, int rank,
                           const uint64_t *dims)
{
    return xai_h5_write(loc, name, native(t), data, rank, dims);
}

xai_status xai_h5_write_rows(hid_t loc, const char *name, xai_h5_type t, const void *data, int rank,
                             const uint64_t *dims, uint64_t row0, uint64_t nrows)
{
    XAI_CHECK(rank >= 1);
    return write_rows(loc, name, native(t), data, rank, dims, row0, nrows, is_par(loc));
}

xai_status xai_h5_read_as(hid_t loc, const char *name, xai_h5_type t, void *data, int rank, const uint64_t *expect,
                          const char *path)
{
    return xai_h5_read(loc, name, native(t), data, rank, expect, path);
}

/* The per-type wrappers: one definition each, from a single pattern. */
#define TYPED_IO(sfx, ctype, T)                                                                                    \
    xai_status xai_h5_write_##sfx(hid_t loc, const char *name, const ctype *data, int rank, const uint64_t *dims) \
    {                                                                                                              \
        return xai_h5_write_as(loc, name, T, data, rank, dims);                                                    \
    }                                                                                                              \
    xai_status xai_h5_read_##sfx(hid_t loc, const char *name, ctype *data, int rank, const uint64_t *expect,       \
                                 const char *path)                                                                 \
    {                                                                                                              \
        return xai_h5_read_as(loc, name, T, data, rank, expect, path);                                             \
    }
TYPED_IO(f32, float, XAI_H5_F32)
TYPED_IO(f64, double, XAI_H5_F64)
TYPED_IO(i32, int32_t, XAI_H5_I32)
TYPED_IO(i64, int64_t, XAI_H5_I64)
TYPED_IO(u8, uint8_t, XAI_H5_U8)

xai_status xai_h5_read_rows(hid_t loc, const char *name, xai_h5_type t, uint64_t row0, uint64_t nrows, void *data,
                            const char *path)
{
    uint64_t d[8];
    int r = xai_h5_dims(loc, name, d);
    if (r < 0) return xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s'", path, name);
    if (r < 1 || row0 + nrows > d[0])
        return xai_fail(XAI_EFORMAT, "%s: dataset '%s' has %llu rows, expected at least %llu", path, name,
                        (unsigned long long)(r < 1 ? 0 : d[0]), (unsigned long long)(row0 + nrows));
    hsize_t start[8] = {0}, count[8];
    start[0] = row0;
    count[0] = nrows;
    for (int i = 1; i < r; i++) count[i] = d[i];
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t fs = ds >= 0 ? H5Dget_space(ds) : -1;
    hid_t ms = H5Screate_simple(r, count, NULL);
    herr_t e = fs >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0
                   ? H5Dread(ds, native(t), ms, fs, H5P_DEFAULT, data)
                   : -1;
    H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (ds >= 0) H5Dclose(ds);
    if (e < 0)
        return xai_fail(XAI_EFORMAT, "%s: cannot read rows %llu..%llu of dataset '%s' (truncated or corrupt file?)",
                        path, (unsigned long long)row0, (unsigned long long)(row0 + nrows), name);
    return XAI_OK;
}

hid_t xai_h5_open_group(hid_t loc, const char *path)
{
    if (!xai_h5_exists(loc, path)) return -1;
    return H5Gopen2(loc, path, H5P_DEFAULT);
}

void xai_h5_close(hid_t id)
{
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    default: H5Oclose(id); break;
    }
}

typedef struct {
    char **names;
    int n, cap;
} name_list;

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *p)
{
    (void)g, (void)info;
    name_list *l = p;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        char **nn = realloc(l->names, l->cap * sizeof *nn);
        XAI_CHECK(nn != NULL);
        l->names = nn;
    }
    l->names[l->n++] = xai_strdup(name);
    return 0;
}

int xai_h5_list(hid_t loc, const char *path, char ***names)
{
    *names = NULL;
    hid_t g = xai_h5_open_group(loc, path);
    if (g < 0) return -1;
    name_list l = {NULL, 0, 0};
    /* Creation order needs a tracked index; files without one list by name. */
    if (H5Literate(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, collect_name, &l) < 0) {
        xai_h5_names_free(l.names, l.n);
        l = (name_list){NULL, 0, 0};
        H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, &l);
    }
    H5Gclose(g);
    *names = l.names;
    return l.n;
}

void xai_h5_names_free(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}
