/* cache.c: the only reader and writer of the dataset cache "<data-dir>/<name>-<size>.h5":
 * images, labels, class names, statistics and provenance (layout: datasets/README.md). */
#include "core/h5.h"
#include "datasets/dataset_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_FORMAT "xai-dataset"
#define CACHE_VERSION XAI_DS_CACHE_VERSION

static void strv_free(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void xai_split_free(xai_split *s)
{
    if (s->files)
        for (int i = 0; i < s->n; i++) free(s->files[i]);
    free(s->files);
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ write */

static xai_status write_strings(hid_t loc, const char *name, const char *const *s, int n)
{
    size_t w = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > w) w = strlen(s[i]) + 1;
    char *buf = xai_calloc((size_t)(n ? n : 1), w);
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * w, s[i], strlen(s[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, w);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, H5T_CSET_UTF8);
    uint64_t dims[1] = {(uint64_t)n};
    xai_status st = xai_h5_write(loc, name, t, buf, 1, dims);
    H5Tclose(t);
    free(buf);
    return st;
}

/* Splits n fixed-width (w bytes, NUL-padded) strings into malloc'd C strings. */
static char **unpack_strings(const char *buf, size_t w, int n)
{
    char **v = xai_malloc(sizeof(char *) * (n ? n : 1));
    for (int i = 0; i < n; i++) {
        size_t len = strnlen(buf + (size_t)i * w, w);
        v[i] = xai_malloc(len + 1);
        memcpy(v[i], buf + (size_t)i * w, len);
        v[i][len] = 0;
    }
    return v;
}

#define STRINGS_MAX ((uint64_t)1 << 30)
/* Entries: each becomes a pointer and an allocation, so a count of 1-byte strings within
 * STRINGS_MAX could still cost gigabytes; no cache holds more names than images (IMAGES_MAX). */
#define STRINGS_COUNT_MAX (1 << 22)

/* Reads the first `limit` (<= 0: all) strings of a 1-D fixed-length string dataset. */
static xai_status read_strings(hid_t loc, const char *name, int limit, const char *path, char ***out, int *count)
{
    uint64_t dims[8];
    if (xai_h5_dims(loc, name, dims) != 1) return xai_fail(XAI_EFORMAT, "%s: missing or malformed '%s'", path, name);
    if (dims[0] > STRINGS_COUNT_MAX)
        return xai_fail(XAI_EFORMAT, "%s: '%s' has %llu entries, more than %d", path, name,
                        (unsigned long long)dims[0], STRINGS_COUNT_MAX);
    int n = (int)dims[0];
    if (limit > 0 && limit < n) n = limit;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT), ft = H5Dget_type(ds), mt = -1, fs = -1, ms = -1;
    char *buf = NULL;
    xai_status s = XAI_OK;
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        s = xai_fail(XAI_EFORMAT, "%s: '%s' is not a fixed-length string array", path, name);
        goto done;
    }
    size_t w = H5Tget_size(ft);
    /* Checked in 64-bit: a file may claim any count and width. */
    if (w == 0 || w > 65536 || (uint64_t)n * w > STRINGS_MAX) {
        s = xai_fail(XAI_EFORMAT, "%s: '%s' holds %d strings of %zu bytes, more than the %llu bytes a cache may hold "
                                  "there", path, name, n, w, (unsigned long long)STRINGS_MAX);
        goto done;
    }
    buf = xai_calloc((size_t)(n ? n : 1), w);
    mt = H5Tcopy(ft); /* same size, padding and character set: no conversion */
    hsize_t start = 0, cnt = (hsize_t)n;
    fs = H5Dget_space(ds), ms = H5Screate_simple(1, &cnt, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
    if (n > 0 && H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf) < 0) {
        s = xai_fail(XAI_EFORMAT, "%s: cannot read '%s' (truncated or corrupt file?)", path, name);
        goto done;
    }
    *out = unpack_strings(buf, w, n);
    *count = n;
done:
    free(buf);
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(ft);
    H5Dclose(ds);
    return s;
}

/* Reads the first k rows of an (N, ...) dataset whose row shape was checked. */
static xai_status read_rows(hid_t loc, const char *name, hid_t type, void *data, int rank, const uint64_t *dims, int k,
                            const char *path)
{
    if (k <= 0) return XAI_OK;
    hsize_t start[8] = {0}, cnt[8];
    for (int i = 0; i < rank; i++) cnt[i] = dims[i];
    cnt[0] = (hsize_t)k;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    if (ds < 0) return xai_fail(XAI_EFORMAT, "%s: cannot open '%s'", path, name);
    hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(rank, cnt, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
    herr_t e = H5Dread(ds, type, ms, fs, H5P_DEFAULT, data);
    H5Sclose(fs);
    H5Sclose(ms);
    H5Dclose(ds);
    if (e < 0) return xai_fail(XAI_EFORMAT, "%s: cannot read '%s' (truncated or corrupt file?)", path, name);
    return XAI_OK;
}

/* Images are chunked by about 1 MB of whole images so that loading a prefix
 * reads only its chunks, and stored uncompressed: deflate saves little on
 * photos (~10%) and costs seconds per write and a few tenths of a second per
 * load (Fashion-MNIST: 0.4 s instead of 0.05 s), which is why this does not use
 * xai_h5_write (it always compresses large arrays). */
static xai_status write_images(hid_t f, const char *name, const uint8_t *data, const uint64_t *dims)
{
    hsize_t hd[4] = {dims[0], dims[1], dims[2], dims[3]};
    hsize_t per = hd[1] * hd[2] * hd[3], chunk[4] = {0, hd[1], hd[2], hd[3]};
    chunk[0] = per >= (1u << 20) ? 1 : (1u << 20) / per;
    if (chunk[0] > hd[0]) chunk[0] = hd[0];
    if (chunk[0] == 0) chunk[0] = 1;
    hid_t space = H5Screate_simple(4, hd, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 4, chunk);
    hid_t ds = H5Dcreate2(f, name, H5T_NATIVE_UINT8, space, lcpl, dcpl, H5P_DEFAULT);
    herr_t w = ds >= 0 && hd[0] > 0 ? H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : ds >= 0 ? 0 : -1;
    if (ds >= 0) H5Dclose(ds);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (w < 0) return xai_fail(XAI_EIO, "HDF5: cannot write dataset '%s' (disk full?)", name);
    return XAI_OK;
}

static xai_status write_split(hid_t f, const char *g, const xai_split *s)
{
    char name[64];
    uint64_t dims[4] = {(uint64_t)s->n, (uint64_t)s->shape.c, (uint64_t)s->shape.h, (uint64_t)s->shape.w};
    snprintf(name, sizeof name, "/%s/images", g);
    XAI_TRY(write_images(f, name, s->images, dims));
    snprintf(name, sizeof name, "/%s/labels", g);
    XAI_TRY(xai_h5_write(f, name, H5T_NATIVE_INT32, s->labels, 1, dims));
    if (s->files) {
        snprintf(name, sizeof name, "/%s/files", g);
        XAI_TRY(write_strings(f, name, (const char *const *)s->files, s->n));
    }
    return XAI_OK;
}

static xai_status write_cache_body(hid_t f, const xai_dataset *ds, const xai_ds_provenance *p)
{
    XAI_TRY(xai_h5_attr_str(f, "format", CACHE_FORMAT));
    XAI_TRY(xai_h5_attr_i64(f, "format_version", CACHE_VERSION));
    XAI_TRY(xai_h5_attr_str(f, "dataset", ds->name));
    XAI_TRY(xai_h5_attr_i64(f, "size", ds->size));
    XAI_TRY(xai_h5_attr_i64(f, "channels", ds->train.shape.c));
    XAI_TRY(xai_h5_attr_i64(f, "nclasses", ds->nclasses));
    XAI_TRY(xai_h5_attr_str(f, "source_kind", p->source_kind));
    XAI_TRY(xai_h5_attr_str(f, "source", ds->source));
    XAI_TRY(xai_h5_attr_str(f, "sha256", ds->sha256));
    XAI_TRY(xai_h5_attr_str(f, "decoder", p->decoder));
    XAI_TRY(xai_h5_attr_i64(f, "skipped_corrupt", p->nskipped));
    XAI_TRY(xai_h5_attr_str(f, "xai_version", xai_version()));
    double m[3], sd[3];
    for (int c = 0; c < ds->train.shape.c; c++) m[c] = ds->mean[c], sd[c] = ds->std[c];
    XAI_TRY(xai_h5_attr_f64v(f, "mean", m, ds->train.shape.c));
    XAI_TRY(xai_h5_attr_f64v(f, "std", sd, ds->train.shape.c));
    XAI_TRY(write_strings(f, "/classes/ids", (const char *const *)ds->class_ids, ds->nclasses));
    XAI_TRY(write_strings(f, "/classes/names", (const char *const *)ds->class_names, ds->nclasses));
    XAI_TRY(write_split(f, "train", &ds->train));
    XAI_TRY(write_split(f, "test", &ds->test));
    XAI_TRY(write_strings(f, "/sources/files", p->files, p->nfiles));
    XAI_TRY(write_strings(f, "/sources/locations", p->locations, p->nfiles));
    return write_strings(f, "/sources/sha256", p->sha256, p->nfiles);
}

xai_status xai_ds_cache_write(const char *path, const xai_dataset *ds, const xai_ds_provenance *p)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, path));
    xai_status s = write_cache_body(f.id, ds, p);
    if (s != XAI_OK) {
        xai_h5_abort(&f);
        return xai_fail(s, "%s: %s", path, xai_errmsg());
    }
    return xai_h5_commit(&f);
}

/* ------------------------------------------------------------------- read */

void xai_dataset_free(xai_dataset *d)
{
    if (!d) return;
    strv_free(d->class_ids, d->nclasses);
    strv_free(d->class_names, d->nclasses);
    xai_split_free(&d->train);
    xai_split_free(&d->test);
    memset(d, 0, sizeof *d);
}

static xai_status load_split(hid_t f, const char *g, xai_split *s, const xai_dataset *d, int limit, const char *path)
{
    char iname[64], lname[64], fname[64];
    snprintf(iname, sizeof iname, "/%s/images", g);
    snprintf(lname, sizeof lname, "/%s/labels", g);
    snprintf(fname, sizeof fname, "/%s/files", g);
    uint64_t di[8], dl[8];
    int ri = xai_h5_dims(f, iname, di), rl = xai_h5_dims(f, lname, dl);
    if (ri != 4 || rl != 1 || di[0] != dl[0] || di[0] > INT32_MAX || di[2] != (uint64_t)d->size ||
        di[3] != (uint64_t)d->size || di[1] < 1 || di[1] > 3)
        return xai_fail(XAI_EFORMAT, "%s: '%s' and '%s' are missing or have inconsistent shapes (expected (N, C, %d, %d) and (N))",
                        path, iname, lname, d->size, d->size);
    s->total = (int)di[0];
    s->n = limit > 0 && limit < s->total ? limit : s->total;
    s->shape = (xai_shape){(int)di[1], (int)di[2], (int)di[3]};
    size_t isz = xai_shape_size(s->shape);
    /* The file may claim more images than memory holds: an error, not an abort. */
    s->images = malloc(isz * (s->n ? s->n : 1));
    s->labels = malloc(sizeof(int32_t) * (s->n ? s->n : 1));
    if (!s->images || !s->labels)
        return xai_fail(XAI_ENOMEM, "%s: out of memory for %d images of %dx%dx%d in '%s'", path, s->n, s->shape.c,
                        s->shape.h, s->shape.w, iname);
    XAI_TRY(read_rows(f, iname, H5T_NATIVE_UINT8, s->images, 4, di, s->n, path));
    XAI_TRY(read_rows(f, lname, H5T_NATIVE_INT32, s->labels, 1, dl, s->n, path));
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= d->nclasses)
            return xai_fail(XAI_EFORMAT, "%s: %s[%d] = %d, expected 0..%d", path, lname, i, s->labels[i], d->nclasses - 1);
    if (xai_h5_exists(f, fname)) {
        int nf;
        XAI_TRY(read_strings(f, fname, s->n, path, &s->files, &nf));
        if (nf != s->n) {
            strv_free(s->files, nf);
            s->files = NULL;
            return xai_fail(XAI_EFORMAT, "%s: '%s' has %d entries, expected %d", path, fname, nf, s->n);
        }
    }
    return XAI_OK;
}

/* A file without the format attributes, e.g. written by hand: say everything it lacks. */
static xai_status missing_parts(hid_t f, const char *path)
{
    static const char *const attrs[] = {"format", "format_version", "dataset", "size", "channels", "nclasses",
                                        "mean", "std", "sha256", "source"};
    static const char *const sets[] = {"/classes/ids", "/classes/names", "/train/images", "/train/labels",
                                       "/test/images", "/test/labels"};
    xai_sbuf b = {0};
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++)
        if (H5Aexists(f, attrs[i]) <= 0) xai_sbuf_printf(&b, "%s@%s", b.n ? ", " : "", attrs[i]);
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        if (!xai_h5_exists(f, sets[i])) xai_sbuf_printf(&b, "%s%s", b.n ? ", " : "", sets[i]);
    xai_status s = xai_fail(XAI_EFORMAT, "%s: not a complete dataset cache (@format \"%s\", @format_version %d): it "
                            "lacks %s; see the dataset cache layout in datasets/README.md", path, CACHE_FORMAT,
                            CACHE_VERSION, b.s ? b.s : "only @format and @format_version");
    xai_sbuf_free(&b);
    return s;
}

/* @channels, @mean and @std against the images read: every image is normalised with them, so a
 * stated value that lies (3 channels of grey images, a NaN mean, a zero std) is refused. */
static xai_status load_stats(hid_t f, xai_dataset *d, const char *path)
{
    const int c = d->train.shape.c;
    int64_t ch = 0;
    if (xai_h5_get_i64(f, "channels", &ch) != XAI_OK || ch != c)
        return xai_fail(XAI_EFORMAT, "%s: @channels is missing, not a whole number or not %d (the images' channels)",
                        path, c);
    double m[4], sd[4];
    if (xai_h5_get_f64v(f, "mean", m, 4) != c || xai_h5_get_f64v(f, "std", sd, 4) != c)
        return xai_fail(XAI_EFORMAT, "%s: attributes mean/std missing or not %d values", path, c);
    for (int k = 0; k < c; k++) {
        d->mean[k] = (float)m[k], d->std[k] = (float)sd[k];
        if (!isfinite(d->mean[k]))
            return xai_fail(XAI_EFORMAT, "%s: @mean[%d] = %g, expected a finite number", path, k, m[k]);
        if (!isfinite(d->std[k]) || !(d->std[k] > 0))
            return xai_fail(XAI_EFORMAT, "%s: @std[%d] = %g, expected a finite number > 0", path, k, sd[k]);
    }
    return XAI_OK;
}

static xai_status load_body(hid_t f, xai_dataset *d, const char *path, int limit)
{
    char fmt[64] = "";
    int64_t ver = 0, size = 0, ncl = 0;
    xai_h5_get_str(f, "format", fmt, sizeof fmt);
    /* version 0 is a wrong version, not a missing one */
    if (!fmt[0] || xai_h5_get_i64(f, "format_version", &ver) != XAI_OK) return missing_parts(f, path);
    if (strcmp(fmt, CACHE_FORMAT) != 0 || ver != CACHE_VERSION)
        return xai_fail(XAI_EFORMAT, "%s: a dataset cache of format '%s' version %lld, this program reads %s version "
                        "%d; rebuild it with 'xai fetch NAME' (or xai fetch --image-folder for a folder dataset)",
                        path, fmt, (long long)ver, CACHE_FORMAT, CACHE_VERSION);
    if (xai_h5_get_str(f, "dataset", d->name, sizeof d->name) != XAI_OK || xai_h5_get_i64(f, "size", &size) != XAI_OK ||
        xai_h5_get_i64(f, "nclasses", &ncl) != XAI_OK || size < 1 || size > 4096 || ncl < 1 || ncl > 1000)
        return xai_fail(XAI_EFORMAT, "%s: missing or invalid dataset/size/nclasses attributes", path);
    d->size = (int)size;
    xai_h5_get_str(f, "source", d->source, sizeof d->source);
    xai_h5_get_str(f, "sha256", d->sha256, sizeof d->sha256);
    int n1 = 0, n2 = 0;
    XAI_TRY(read_strings(f, "/classes/ids", 0, path, &d->class_ids, &n1));
    d->nclasses = n1;
    XAI_TRY(read_strings(f, "/classes/names", 0, path, &d->class_names, &n2));
    if (n1 != ncl || n2 != ncl) {
        /* keep xai_dataset_free's view of the arrays consistent */
        strv_free(d->class_names, n2);
        d->class_names = NULL;
        return xai_fail(XAI_EFORMAT, "%s: %d class ids and %d names, expected %lld", path, n1, n2, (long long)ncl);
    }
    XAI_TRY(load_split(f, "train", &d->train, d, limit, path));
    XAI_TRY(load_split(f, "test", &d->test, d, limit, path));
    if (d->train.shape.c != d->test.shape.c)
        return xai_fail(XAI_EFORMAT, "%s: train and test have different channel counts", path);
    return load_stats(f, d, path);
}

xai_status xai_dataset_load_file(xai_dataset *d, const char *path, int limit)
{
    memset(d, 0, sizeof *d);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status s = load_body(f, d, path, limit);
    H5Fclose(f);
    if (s != XAI_OK) xai_dataset_free(d);
    else snprintf(d->path, sizeof d->path, "%s", path);
    return s;
}

int xai_ds_cache_ok(const char *path, const char *dataset, int want_size, int *ntrain, int *ntest, char *source, size_t cap)
{
    hid_t f;
    if (xai_h5_open(&f, path, 0) != XAI_OK) return 0;
    char fmt[64] = "", name[64] = "";
    int64_t ver = 0, size = 0;
    uint64_t a[8], b[8];
    xai_h5_get_str(f, "format", fmt, sizeof fmt);
    xai_h5_get_i64(f, "format_version", &ver);
    xai_h5_get_str(f, "dataset", name, sizeof name);
    xai_h5_get_i64(f, "size", &size);
    xai_h5_get_str(f, "source", source, cap);
    int ok = !strcmp(fmt, CACHE_FORMAT) && ver == CACHE_VERSION && !strcmp(name, dataset) && size == want_size &&
             xai_h5_dims(f, "/train/images", a) == 4 && xai_h5_dims(f, "/test/images", b) == 4 &&
             xai_h5_exists(f, "/train/labels") && xai_h5_exists(f, "/test/labels");
    if (ok) *ntrain = (int)a[0], *ntest = (int)b[0];
    H5Fclose(f);
    return ok;
}

/* ------------------------------------------------------------------- info */

/* More labels than any real dataset has (ImageNet: 1.3M); bounds the buffer a file can ask for. */
#define LABELS_MAX ((uint64_t)1 << 26)

static xai_status info_labels(hid_t f, const char *name, int nclasses, int *count, int *n, const char *path)
{
    uint64_t dims[8];
    if (xai_h5_dims(f, name, dims) != 1) return xai_fail(XAI_EFORMAT, "%s: missing '%s'", path, name);
    if (dims[0] > LABELS_MAX) /* found by fuzz_dataset_cache: a claimed length sized the buffer */
        return xai_fail(XAI_EFORMAT, "%s: '%s' has %llu labels, expected at most %llu", path, name,
                        (unsigned long long)dims[0], (unsigned long long)LABELS_MAX);
    *n = (int)dims[0];
    int32_t *lb = xai_malloc(sizeof(int32_t) * (*n ? *n : 1));
    xai_status s;
    if ((s = xai_h5_read(f, name, H5T_NATIVE_INT32, lb, 1, dims, path)) != XAI_OK) goto done;
    for (int i = 0; i < *n; i++) {
        if (lb[i] < 0 || lb[i] >= nclasses) {
            s = xai_fail(XAI_EFORMAT, "%s: %s[%d] = %d out of range", path, name, i, lb[i]);
            goto done;
        }
        count[lb[i]]++;
    }
done:
    free(lb);
    return s;
}

static xai_status info_read_body(hid_t f, xai_ds_cache_info *inf, const char *path)
{
    xai_h5_get_str(f, "dataset", inf->name, sizeof inf->name);
    xai_h5_get_str(f, "source", inf->source, sizeof inf->source);
    xai_h5_get_str(f, "sha256", inf->sha256, sizeof inf->sha256);
    xai_h5_get_str(f, "decoder", inf->decoder, sizeof inf->decoder);
    xai_h5_get_str(f, "xai_version", inf->version, sizeof inf->version);
    xai_h5_get_i64(f, "size", &inf->size);
    xai_h5_get_i64(f, "channels", &inf->channels);
    xai_h5_get_i64(f, "skipped_corrupt", &inf->skipped);
    int nnames = 0, nl = 0, ns = 0;
    XAI_TRY(read_strings(f, "/classes/ids", 0, path, &inf->ids, &inf->nclasses));
    XAI_TRY(read_strings(f, "/classes/names", 0, path, &inf->names, &nnames));
    if (nnames != inf->nclasses) {
        strv_free(inf->names, nnames); /* freed by count: keep the free below exact */
        inf->names = NULL;
        return xai_fail(XAI_EFORMAT, "%s: %d class ids but %d names", path, inf->nclasses, nnames);
    }
    inf->count_train = xai_calloc((size_t)inf->nclasses + 1, sizeof(int));
    inf->count_test = xai_calloc((size_t)inf->nclasses + 1, sizeof(int));
    XAI_TRY(info_labels(f, "/train/labels", inf->nclasses, inf->count_train, &inf->ntrain, path));
    XAI_TRY(info_labels(f, "/test/labels", inf->nclasses, inf->count_test, &inf->ntest, path));
    XAI_TRY(read_strings(f, "/sources/files", 0, path, &inf->files, &inf->nfiles));
    XAI_TRY(read_strings(f, "/sources/locations", 0, path, &inf->locations, &nl));
    if (nl != inf->nfiles) {
        strv_free(inf->locations, nl);
        inf->locations = NULL;
        return xai_fail(XAI_EFORMAT, "%s: inconsistent /sources arrays", path);
    }
    XAI_TRY(read_strings(f, "/sources/sha256", 0, path, &inf->shas, &ns));
    if (ns != inf->nfiles) {
        strv_free(inf->shas, ns);
        inf->shas = NULL;
        return xai_fail(XAI_EFORMAT, "%s: inconsistent /sources arrays", path);
    }
    inf->nmean = xai_h5_get_f64v(f, "mean", inf->mean, 3);
    xai_h5_get_f64v(f, "std", inf->std, 3);
    return XAI_OK;
}

xai_status xai_ds_cache_info_read(xai_ds_cache_info *inf, const char *path)
{
    memset(inf, 0, sizeof *inf);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    xai_status s = info_read_body(f, inf, path);
    H5Fclose(f);
    if (s != XAI_OK) xai_ds_cache_info_free(inf);
    return s;
}

void xai_ds_cache_info_free(xai_ds_cache_info *inf)
{
    strv_free(inf->ids, inf->nclasses);
    strv_free(inf->names, inf->nclasses);
    strv_free(inf->files, inf->nfiles);
    strv_free(inf->locations, inf->nfiles);
    strv_free(inf->shas, inf->nfiles);
    free(inf->count_train);
    free(inf->count_test);
    memset(inf, 0, sizeof *inf);
}
