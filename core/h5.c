/* h5.c: thin HDF5 helpers: atomic file creation, datasets with shape checks, attributes.
 * Errors name the file and the object so a user can tell what is wrong with which file. */
#include "core/base.h"
#include "core/h5.h"
#include "core/io.h"

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

xai_status xai_h5_commit(xai_h5file *f)
{
    xai_status s = XAI_OK;
    if (H5Fclose(f->id) < 0) s = xai_fail(XAI_EIO, "%s: closing HDF5 file failed", f->tmp);
    else if (rename(f->tmp, f->path) != 0) s = xai_fail(XAI_EIO, "%s: cannot rename from %s", f->path, f->tmp);
    if (s != XAI_OK) unlink(f->tmp);
    free(f->path);
    free(f->tmp);
    memset(f, 0, sizeof *f);
    return s;
}

void xai_h5_abort(xai_h5file *f)
{
    if (f->id > 0) H5Fclose(f->id);
    if (f->tmp) unlink(f->tmp);
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

xai_status xai_h5_write(hid_t loc, const char *name, hid_t type, const void *data, int rank, const uint64_t *dims)
{
    hsize_t hd[8] = {0};
    size_t total = 1;
    XAI_CHECK(rank >= 0 && rank <= 8);
    for (int i = 0; i < rank; i++) total *= (hd[i] = dims[i]);
    hid_t space = H5Screate_simple(rank, hd, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Chunk + deflate large arrays (images, attributions); small ones stay contiguous. */
    if (rank >= 1 && total >= 65536) {
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
    herr_t w = ds >= 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (w < 0) return xai_fail(XAI_EIO, "HDF5: cannot write dataset '%s'", name);
    return XAI_OK;
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
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, type, v) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
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
    xai_status s = put_attr(loc, name, t, H5Screate(H5S_SCALAR), &value);
    H5Tclose(t);
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
