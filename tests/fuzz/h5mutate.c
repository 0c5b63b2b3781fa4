/* h5mutate.c: the structured HDF5 mutator of the fuzz targets: a valid file is copied and the
 * fuzz input, read as a list of operations, rewrites its attributes and datasets. */
#include "tests/fuzz/common.h"
#include "core/h5.h"
#include "core/io.h"

#include <stdlib.h>
#include <string.h>

/* Cap on elements written or rewritten in one dataset; larger shapes are left unwritten (HDF5
 * then returns the fill value), which is how a lying header looks to a reader. */
#define FZ_MAX_ELEMS (1u << 16)

struct fz_h5_template {
    char *bytes;
    size_t n;
    char **obj;   /* (nobj) "/" first, then every group and dataset */
    int *is_ds;   /* (nobj) */
    int nobj;
    char **attr_obj, **attr_name; /* (nattr) */
    int nattr;
};

/* Appends s as entry n of *v (the caller counts). */
static void push(char ***v, int n, const char *s)
{
    *v = realloc(*v, sizeof **v * (size_t)(n + 1));
    (*v)[n] = xai_strdup(s);
}

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *op)
{
    (void)loc, (void)info;
    fz_h5_template *t = op;
    push(&t->attr_obj, t->nattr, t->obj[t->nobj - 1]); /* the object obj_cb is visiting */
    push(&t->attr_name, t->nattr, name);
    t->nattr++;
    return 0;
}

static herr_t obj_cb(hid_t loc, const char *name, const H5O_info_t *info, void *op)
{
    fz_h5_template *t = op;
    char path[600];
    snprintf(path, sizeof path, "/%s", strcmp(name, ".") ? name : "");
    t->is_ds = realloc(t->is_ds, sizeof *t->is_ds * (size_t)(t->nobj + 1));
    t->is_ds[t->nobj] = info->type == H5O_TYPE_DATASET;
    push(&t->obj, t->nobj++, path);
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, t);
    H5Oclose(o);
    return 0;
}

fz_h5_template *fz_h5_template_load(const char *path)
{
    fz_h5_template *t = xai_calloc(1, sizeof *t);
    if (xai_read_file(path, &t->bytes, &t->n) != XAI_OK) abort();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0 || H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, obj_cb, t, H5O_INFO_BASIC) < 0) abort();
    H5Fclose(f);
    return t;
}

/* ------------------------------------------------------------ selecting */

/* A selector: one byte picks entry byte % count; 0xff is followed by a NUL-terminated name. */
static int pick(fz_in *in, int count, char *name, size_t cap)
{
    uint8_t s = fz_u8(in);
    if (s != 0xff) return count ? s % count : -1;
    size_t k = 0;
    for (uint8_t c; in->n && (c = fz_u8(in)) != 0;)
        if (k + 1 < cap) name[k++] = (char)c;
    name[k] = 0;
    return -2;
}

/* The object an operation applies to: open (attribute ops: any object; others: a dataset). */
static hid_t open_obj(hid_t f, const fz_h5_template *t, fz_in *in, int want_ds, char *path, size_t cap)
{
    int i = pick(in, t->nobj, path, cap);
    if (i == -1) return -1;
    if (i >= 0) {
        if (want_ds && !t->is_ds[i]) return -1;
        snprintf(path, cap, "%s", t->obj[i]);
    }
    if (!xai_h5_exists(f, path) && strcmp(path, "/") != 0) return -1;
    return H5Oopen(f, path, H5P_DEFAULT);
}

/* ------------------------------------------------------------ attributes */

static void put_attr(hid_t o, const char *name, hid_t type, hid_t space, const void *v)
{
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t a = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Awrite(a, type, v);
        H5Aclose(a);
    }
    H5Sclose(space);
}

/* Writes attribute `name` of o as kind 0 int64, 1 double, 2 string, 3 double vector, 4 delete. */
static void set_attr(hid_t o, const char *name, int kind, fz_in *in)
{
    if (kind == 0) {
        int64_t v = fz_int(in);
        put_attr(o, name, H5T_NATIVE_INT64, H5Screate(H5S_SCALAR), &v);
    } else if (kind == 1) {
        double v = fz_double(in);
        put_attr(o, name, H5T_NATIVE_DOUBLE, H5Screate(H5S_SCALAR), &v);
    } else if (kind == 2) {
        char s[96];
        size_t n = fz_u8(in) % 90;
        for (size_t k = 0; k < n; k++) s[k] = (char)fz_u8(in);
        s[n] = 0;
        hid_t ty = H5Tcopy(H5T_C_S1);
        H5Tset_size(ty, n + 1);
        put_attr(o, name, ty, H5Screate(H5S_SCALAR), s);
        H5Tclose(ty);
    } else if (kind == 3) {
        double v[9];
        hsize_t n = fz_u8(in) % 9;
        for (hsize_t k = 0; k < n; k++) v[k] = fz_double(in);
        put_attr(o, name, H5T_NATIVE_DOUBLE, H5Screate_simple(1, &n, NULL), v);
    } else if (H5Aexists(o, name) > 0) {
        H5Adelete(o, name);
    }
}

/* Ops 0-4: an existing attribute (by index) or any name on any object ("obj@attr"). */
static void op_attr(hid_t f, const fz_h5_template *t, fz_in *in, int kind)
{
    char name[300];
    int i = pick(in, t->nattr, name, sizeof name);
    if (i == -1) return;
    char obj[300] = "/";
    const char *an = name;
    if (i >= 0) {
        snprintf(obj, sizeof obj, "%s", t->attr_obj[i]);
        an = t->attr_name[i];
    } else if (strchr(name, '@')) {
        *strchr(name, '@') = 0;
        snprintf(obj, sizeof obj, "%s", name[0] ? name : "/");
        an = name + strlen(name) + 1;
    }
    if (!an[0] || (strcmp(obj, "/") != 0 && !xai_h5_exists(f, obj))) return;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0) return;
    set_attr(o, an, kind, in);
    H5Oclose(o);
}

/* Op 9: an attribute name seen anywhere in the template, added to any object. */
static void op_add_attr(hid_t f, const fz_h5_template *t, fz_in *in)
{
    char path[300];
    hid_t o = open_obj(f, t, in, 0, path, sizeof path);
    int a = t->nattr ? fz_u8(in) % t->nattr : -1;
    if (o >= 0 && a >= 0) set_attr(o, t->attr_name[a], fz_u8(in) % 4, in);
    if (o >= 0) H5Oclose(o);
}

/* ------------------------------------------------------------ datasets */

/* A dataset's elements as doubles (NULL when it has more than FZ_MAX_ELEMS or is not numeric). */
static double *read_all(hid_t ds, hsize_t *n)
{
    hid_t sp = H5Dget_space(ds), ty = H5Dget_type(ds);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    int numeric = H5Tget_class(ty) == H5T_INTEGER || H5Tget_class(ty) == H5T_FLOAT;
    H5Sclose(sp);
    H5Tclose(ty);
    if (np < 0 || np > FZ_MAX_ELEMS || !numeric) return NULL;
    *n = (hsize_t)np;
    double *v = xai_calloc((size_t)np + 1, sizeof *v);
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) memset(v, 0, sizeof *v * (size_t)np);
    return v;
}

/* Replaces dataset `path` by one of type ty and the given dims; its old values (old, nold) are
 * written cyclically when the new one is small enough, else it is left unwritten. */
static void recreate(hid_t f, const char *path, hid_t ty, int rank, const hsize_t *dims, const double *old, hsize_t nold)
{
    hsize_t total = 1, chunk[4];
    int overflow = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] && total > UINT64_MAX / dims[i]) overflow = 1;
        total *= dims[i];
        chunk[i] = i == rank - 1 && dims[i] ? (dims[i] < 64 ? dims[i] : 64) : 1;
    }
    if (overflow) return;
    H5Ldelete(f, path, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Chunked: a shape of 2^32 + 2 rows costs nothing until someone reads it. */
    if (total > FZ_MAX_ELEMS) H5Pset_chunk(dcpl, rank, chunk);
    hid_t ds = H5Dcreate2(f, path, ty, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ds >= 0 && total <= FZ_MAX_ELEMS && H5Tget_class(ty) != H5T_STRING) {
        double *v = xai_calloc((size_t)total + 1, sizeof *v);
        for (hsize_t k = 0; k < total && nold; k++) v[k] = old[k % nold];
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        free(v);
    }
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
}

/* Op 6 reshape (rank 1-4, hostile dims), 7 poke values, 8 retype. */
static void op_dataset(hid_t f, const fz_h5_template *t, fz_in *in, int op)
{
    char path[300];
    hid_t ds = open_obj(f, t, in, 1, path, sizeof path);
    if (ds < 0) return;
    if (H5Iget_type(ds) != H5I_DATASET) {
        H5Oclose(ds);
        return;
    }
    hsize_t n = 0, dims[4];
    double *v = read_all(ds, &n);
    hid_t ty = H5Dget_type(ds), sp = H5Dget_space(ds);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank >= 1 && rank <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (op == 7 && v) {
        int all = fz_u8(in) & 1, k = 1 + fz_u8(in) % 4;
        for (int j = 0; j < k; j++) {
            double x = fz_double(in);
            uint64_t at = fz_u64(in);
            for (hsize_t e = 0; e < n; e++)
                if (all || e == at % n) v[e] = x;
        }
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    }
    H5Oclose(ds);
    if (op == 6) {
        rank = 1 + fz_u8(in) % 4;
        for (int i = 0; i < rank; i++) dims[i] = (hsize_t)fz_int(in) & ((1ull << 62) - 1);
        recreate(f, path, ty, rank, dims, v, n);
    } else if (op == 8 && rank >= 1 && rank <= 4) {
        static const hid_t *types[] = {&H5T_NATIVE_UINT8_g, &H5T_NATIVE_INT32_g, &H5T_NATIVE_INT64_g,
                                       &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g, &H5T_C_S1_g};
        recreate(f, path, *types[fz_u8(in) % 6], rank, dims, v, n);
    }
    H5Tclose(ty);
    free(v);
}

void fz_h5_mutate(const fz_h5_template *t, fz_in *in, const char *out)
{
    fz_write(out, t->bytes, t->n);
    hid_t f = H5Fopen(out, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) abort();
    for (int ops = 0; in->n && ops < 16; ops++) {
        int op = fz_u8(in) % 10;
        if (op <= 4) op_attr(f, t, in, op);
        else if (op == 5) {
            char path[300];
            int i = pick(in, t->nobj, path, sizeof path);
            if (i >= 1) H5Ldelete(f, t->obj[i], H5P_DEFAULT);
            else if (i == -2 && xai_h5_exists(f, path)) H5Ldelete(f, path, H5P_DEFAULT);
        } else if (op <= 8) op_dataset(f, t, in, op);
        else op_add_attr(f, t, in);
    }
    if (H5Fclose(f) < 0) abort();
}
