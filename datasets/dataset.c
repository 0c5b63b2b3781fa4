/* dataset.c: the fetch pipeline of the four datasets (source -> verified files -> decoded splits ->
 * cache), loading with fetch on demand, and the views behind `xai datasets` (info, list, check). */
#include "datasets/dataset_priv.h"

#include <dirent.h>
#include <errno.h>
#include <jpeglib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------------------------------------------------------- decoding */

/* Reads one IDX source file, checking the payload checksum for system copies
 * before anything is used. */
static xai_status read_idx(xai_idx *x, const xai_ds_source *src, int i, const xai_ds_def *d)
{
    char *buf;
    size_t len;
    /* The descriptor that was verified, not the path again: a file swapped in since is never read. */
    if (lseek(src->fd[i], 0, SEEK_SET) != 0)
        return xai_fail(XAI_EIO, "%s: cannot seek: %s", src->path[i], strerror(errno));
    XAI_TRY(xai_read_fd_max(src->fd[i], src->path[i], SIZE_MAX, &buf, &len));
    char payload[65];
    xai_status s = xai_idx_decode(x, buf, len, src->path[i], payload);
    free(buf);
    XAI_TRY(s);
    if (src->kind == XAI_DS_SRC_SYSTEM && strcmp(payload, d->files[i].payload_sha256) != 0) {
        xai_idx_free(x);
        return xai_fail(XAI_ECHECKSUM,
                        "%s: checksum mismatch (source: system copy %s): expected sha256 %s of the decompressed "
                        "contents, got %s. Use --mirror to fetch from elsewhere, or set XAI_SYSTEM_DATA_DIR=\"\" to "
                        "ignore system copies",
                        src->path[i], src->base, d->files[i].payload_sha256, payload);
    }
    return XAI_OK;
}

/* Checks that the images and labels files of one split agree, as decoded IDX. */
static xai_status check_idx_pair(const xai_idx *im, const xai_idx *lb, const char *fim, const char *flb,
                                 int nclasses)
{
    if (im->ndims != 3 || im->dims[1] != 28 || im->dims[2] != 28)
        return xai_fail(XAI_EFORMAT,
                        "%s: expected 28x28 images (IDX magic 0x00000803), found %d dimensions (%d x %d x %d)", fim,
                        im->ndims, im->dims[0], im->dims[1], im->dims[2]);
    if (lb->ndims != 1)
        return xai_fail(XAI_EFORMAT, "%s: expected labels (IDX magic 0x00000801), found %d dimensions", flb,
                        lb->ndims);
    if (lb->dims[0] != im->dims[0])
        return xai_fail(XAI_EFORMAT, "%s holds %d labels but %s holds %d images", flb, lb->dims[0], fim,
                        im->dims[0]);
    for (int i = 0; i < lb->dims[0]; i++)
        if (lb->data[i] >= nclasses)
            return xai_fail(XAI_EFORMAT, "%s: label %d of item %d, expected 0..%d", flb, lb->data[i], i,
                            nclasses - 1);
    return XAI_OK;
}

static xai_status decode_idx_split(xai_split *out, const xai_ds_source *src, int fi, int fl, const xai_ds_def *d,
                                   int nclasses)
{
    xai_idx im, lb;
    memset(out, 0, sizeof *out);
    memset(&lb, 0, sizeof lb);
    XAI_TRY(read_idx(&im, src, fi, d));
    xai_status s;
    if ((s = read_idx(&lb, src, fl, d)) != XAI_OK) goto done;
    if ((s = check_idx_pair(&im, &lb, src->path[fi], src->path[fl], nclasses)) != XAI_OK) goto done;
    out->n = out->total = im.dims[0];
    out->shape = (xai_shape){1, 28, 28};
    out->images = im.data;
    im.data = NULL;
    out->labels = xai_malloc(sizeof(int32_t) * out->n);
    for (int i = 0; i < out->n; i++) out->labels[i] = lb.data[i];
done:
    xai_idx_free(&im);
    xai_idx_free(&lb);
    return s;
}

void xai_ds_compute_stats(xai_dataset *ds)
{
    const xai_split *t = &ds->train;
    int C = t->shape.c;
    size_t hw = (size_t)t->shape.h * t->shape.w;
    for (int c = 0; c < C; c++) {
        /* Integer sums are exact and independent of the thread count. */
        uint64_t s1 = 0, s2 = 0;
        for (int i = 0; i < t->n; i++) {
            const uint8_t *p = t->images + ((size_t)i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) {
                s1 += p[k];
                s2 += (uint64_t)p[k] * p[k];
            }
        }
        double n = (double)t->n * hw;
        double m = n > 0 ? s1 / n : 0, v = n > 0 ? s2 / n - m * m : 0;
        ds->mean[c] = (float)(m / 255.0);
        ds->std[c] = (float)(sqrt(v > 0 ? v : 0) / 255.0);
    }
}

static void decoder_string(char *out, size_t cap, const xai_ds_opts *r)
{
    if (!r->def->archive)
        snprintf(out, cap, "IDX via zlib %s; uint8 1x28x28, official order", zlibVersion());
    else
        snprintf(out, cap,
                 "JPEG via libjpeg (API %d) islow DCT to RGB (grey and CMYK converted); centre square crop; "
                 "area-average resize to 3x%dx%d; sorted by member path, then fixed shuffle (xai_rng seeds 0x7261696e "
                 "train, 0x76616c val)%s",
                 JPEG_LIB_VERSION, r->size, r->size, r->skip_bad ? "; --skip-bad" : "");
}

/* SHA-256 over a small text naming the dataset, size, decoder and source
 * checksums: equal values mean equal inputs and equal processing. */
static void dataset_id(char hex[65], const xai_ds_opts *r, const char *decoder, const xai_ds_source *src)
{
    xai_sha256_ctx c;
    char line[1600];
    xai_sha256_init(&c);
    snprintf(line, sizeof line, "xai-dataset %d\nname %s\nsize %d\ndecoder %s\n", XAI_DS_CACHE_VERSION, r->def->name, r->size,
             decoder);
    xai_sha256_update(&c, line, strlen(line));
    for (int i = 0; i < r->def->nfiles; i++) {
        snprintf(line, sizeof line, "%s %s\n", src->sha256[i], r->def->files[i].file);
        xai_sha256_update(&c, line, strlen(line));
    }
    xai_sha256_final(&c, hex);
}

/* ------------------------------------------------------------------ fetch */

/* Decodes the verified source files into ds's splits. */
static xai_status decode_splits(xai_dataset *ds, const xai_ds_source *src, const xai_ds_opts *r, int *nskipped)
{
    const xai_ds_def *d = r->def;
    double t0 = xai_now();
    if (!d->archive) {
        XAI_TRY(decode_idx_split(&ds->train, src, 0, 1, d, 10));
        XAI_TRY(decode_idx_split(&ds->test, src, 2, 3, d, 10));
    } else {
        xai_ds_say("%s: decoding %s to %dx%d with %d thread%s\n", d->name, src->path[0], r->size, r->size,
                   xai_threads(), xai_threads() > 1 ? "s" : "");
        XAI_TRY(xai_tgz_decode_fd(src->fd[0], src->path[0], d->ids, 10, r->size, r->skip_bad, &ds->train, &ds->test, nskipped));
    }
    xai_ds_say("%s: decoded %d train + %d test images in %.1f s\n", d->name, ds->train.n, ds->test.n,
               xai_now() - t0);
    return XAI_OK;
}

/* Names, classes, statistics and the id of freshly decoded splits; then the cache file. */
static xai_status finish_and_write(xai_dataset *ds, const xai_ds_source *src, const xai_ds_opts *r,
                                   const char *what, int nskipped, const char *path)
{
    const xai_ds_def *d = r->def;
    snprintf(ds->name, sizeof ds->name, "%s", d->name);
    ds->size = r->size;
    ds->nclasses = 10;
    ds->class_ids = xai_malloc(sizeof(char *) * 10);
    ds->class_names = xai_malloc(sizeof(char *) * 10);
    for (int i = 0; i < 10; i++) {
        ds->class_ids[i] = xai_strdup(d->ids[i]);
        ds->class_names[i] = xai_strdup(d->names[i]);
    }
    xai_ds_compute_stats(ds);
    snprintf(ds->source, sizeof ds->source, "%s", what);
    char decoder[512];
    decoder_string(decoder, sizeof decoder, r);
    dataset_id(ds->sha256, r, decoder, src);
    xai_ds_provenance p = {xai_ds_source_kind_name(src->kind), decoder, nskipped, d->nfiles, {0}, {0}, {0}};
    for (int i = 0; i < d->nfiles; i++) {
        p.files[i] = d->files[i].file;
        p.locations[i] = src->location[i];
        p.sha256[i] = src->sha256[i];
    }
    double t0 = xai_now();
    XAI_TRY(xai_ds_cache_write(path, ds, &p));
    xai_ds_say("%s: wrote %s in %.1f s (%d train, %d test, %d classes, sha256 %.16s...)\n", d->name, path,
               xai_now() - t0, ds->train.n, ds->test.n, ds->nclasses, ds->sha256);
    return XAI_OK;
}

void (*xai_ds_after_verify_hook)(void);

static xai_status build(const xai_ds_opts *r, const char *path)
{
    const xai_ds_def *d = r->def;
    xai_ds_source *src = xai_calloc(1, sizeof *src);
    xai_dataset ds;
    memset(&ds, 0, sizeof ds);
    char what[1024] = "";
    int nskipped = 0;
    xai_status s;
    if ((s = xai_ds_choose_source(src, r)) != XAI_OK) goto done;
    xai_ds_describe_source(what, sizeof what, src);
    xai_ds_say("%s: source: %s\n", d->name, what);
    if ((s = xai_mkdirs(r->data_dir)) != XAI_OK) goto done;
    double t0 = xai_now();
    if ((s = xai_ds_obtain_files(src, r)) != XAI_OK) goto done;
    xai_ds_say("%s: source files verified in %.1f s\n", d->name, xai_now() - t0);
    if (xai_ds_after_verify_hook) xai_ds_after_verify_hook();
    if ((s = decode_splits(&ds, src, r, &nskipped)) != XAI_OK) goto done;
    s = finish_and_write(&ds, src, r, what, nskipped, path);
done:
    xai_dataset_free(&ds);
    xai_ds_source_close(src);
    free(src);
    return s;
}

xai_status xai_dataset_fetch(const char *name, const xai_fetch_opts *o)
{
    if (!xai_dataset_known(name) && xai_folder_name_ok(name)) { /* built by xai fetch --image-folder */
        char *path = NULL;
        XAI_TRY(xai_folder_cache_path(&path, name, o));
        xai_ds_say("%s: folder dataset, already built: %s\n", name, path);
        free(path);
        return XAI_OK;
    }
    xai_ds_opts r;
    XAI_TRY(xai_ds_resolve(&r, name, o));
    char *path = xai_ds_cache_file(&r);
    int ntr = 0, nte = 0;
    char source[1024] = "";
    xai_status s = XAI_OK;
    if (xai_file_exists(path)) {
        if (xai_ds_cache_ok(path, r.def->name, r.size, &ntr, &nte, source, sizeof source)) {
            xai_ds_say("%s: already fetched and verified: %s (%d train, %d test; from %s)\n", name, path, ntr, nte,
                       source);
            goto done;
        }
        xai_ds_say("%s: %s is incomplete or not a dataset cache; rebuilding it\n", name, path);
    }
    /* A fetch killed while writing leaves "<cache>.tmp.<pid>": say so when one is cleared away. */
    int nstale = xai_remove_stale_tmp(path);
    if (nstale) xai_ds_say("%s: removed %d temporary file%s of %s left by an interrupted run\n", name, nstale,
                           nstale > 1 ? "s" : "", path);
    s = build(&r, path);
done:
    free(path);
    return s;
}

xai_status xai_dataset_load(xai_dataset *d, const char *name, const xai_fetch_opts *o)
{
    memset(d, 0, sizeof *d);
    char *path = NULL;
    xai_status s = XAI_OK;
    if (!xai_dataset_known(name) && xai_folder_name_ok(name)) {
        if ((s = xai_folder_cache_path(&path, name, o)) != XAI_OK) goto done;
    } else {
        xai_ds_opts r;
        XAI_TRY(xai_ds_resolve(&r, name, o));
        path = xai_ds_cache_file(&r);
    }
    if (!xai_file_exists(path) && (s = xai_dataset_fetch(name, o)) != XAI_OK) goto done;
    if ((s = xai_dataset_load_file(d, path, o ? o->limit : 0)) != XAI_OK) goto done;
    if (strcmp(d->name, name) != 0) {
        s = xai_fail(XAI_EFORMAT, "%s: holds dataset '%s', expected '%s'", path, d->name, name);
        xai_dataset_free(d);
    }
done:
    free(path);
    return s;
}

/* ------------------------------------------------------------------ views */

/* The cache path of a fetched dataset, or XAI_ENOTFOUND saying how to fetch it. */
static xai_status fetched_path(char **path, const char *name, const xai_fetch_opts *o, int hint_size)
{
    if (!xai_dataset_known(name) && xai_folder_name_ok(name)) return xai_folder_cache_path(path, name, o);
    xai_ds_opts r;
    XAI_TRY(xai_ds_resolve(&r, name, o));
    *path = xai_ds_cache_file(&r);
    if (xai_file_exists(*path)) return XAI_OK;
    char sz[32] = "";
    if (hint_size && r.def->archive && r.size != r.def->default_size) snprintf(sz, sizeof sz, " --size %d", r.size);
    xai_status s = xai_fail(XAI_ENOTFOUND, "%s: not fetched yet (no %s); run 'xai fetch%s %s'", name, *path, sz, name);
    free(*path);
    *path = NULL;
    return s;
}

static void print_info(FILE *out, const xai_ds_cache_info *inf, const char *path)
{
    fprintf(out, "dataset:     %s\n", inf->name);
    fprintf(out, "cache:       %s\n", path);
    fprintf(out, "image size:  %lld x %lld x %lld (C x H x W), uint8\n", (long long)inf->channels,
            (long long)inf->size, (long long)inf->size);
    fprintf(out, "images:      train %d, test %d\n", inf->ntrain, inf->ntest);
    fprintf(out, "classes:     %d\n", inf->nclasses);
    fprintf(out, "mean/std:   ");
    for (int c = 0; c < inf->nmean; c++) fprintf(out, " %.4f/%.4f", inf->mean[c], inf->std[c]);
    fprintf(out, " (train split, pixels in [0, 1])\n");
    fprintf(out, "source:      %s\n", inf->source);
    for (int i = 0; i < inf->nfiles; i++)
        fprintf(out, "  %-28s sha256 %s\n  %-28s from %s\n", inf->files[i], inf->shas[i], "", inf->locations[i]);
    fprintf(out, "sha256:      %s (dataset id: sources + decoder settings)\n", inf->sha256);
    fprintf(out, "decoder:     %s\n", inf->decoder);
    if (inf->skipped) fprintf(out, "skipped:     %lld corrupt images\n", (long long)inf->skipped);
    fprintf(out, "written by:  xai %s\n", inf->version);
    fprintf(out, "\n%-10s  %-22s %7s %7s\n", "class id", "name", "train", "test");
    for (int c = 0; c < inf->nclasses; c++)
        fprintf(out, "%-10s  %-22s %7d %7d\n", inf->ids[c], inf->names[c], inf->count_train[c], inf->count_test[c]);
    fprintf(out, "%-10s  %-22s %7d %7d\n", "total", "", inf->ntrain, inf->ntest);
}

xai_status xai_dataset_info(FILE *out, const char *name, const xai_fetch_opts *o)
{
    char *path;
    XAI_TRY(fetched_path(&path, name, o, 1));
    xai_ds_cache_info inf;
    xai_status s = xai_ds_cache_info_read(&inf, path);
    if (s == XAI_OK) print_info(out, &inf, path);
    xai_ds_cache_info_free(&inf);
    free(path);
    return s;
}

/* "<name>-<digits>.h5" */
static int is_cache_name(const char *file, const char *name)
{
    size_t nl = strlen(name), len = strlen(file);
    return !strncmp(file, name, nl) && file[nl] == '-' && len > nl + 4 && !strcmp(file + len - 3, ".h5") &&
           strspn(file + nl + 1, "0123456789") == len - nl - 4;
}

void xai_dataset_list(FILE *out, const char *data_dir)
{
    const char *dd = xai_ds_data_dir(data_dir);
    fprintf(out, "data directory: %s\n", dd);
    DIR *dir = opendir(dd);
    for (int k = 0; k < xai_dataset_count(); k++) {
        const char *name = xai_dataset_name(k);
        fprintf(out, "%-14s", name);
        int found = 0;
        if (dir) {
            rewinddir(dir);
            for (struct dirent *e; (e = readdir(dir));)
                if (is_cache_name(e->d_name, name)) {
                    fprintf(out, " %s", e->d_name);
                    found = 1;
                }
        }
        fprintf(out, "%s\n", found ? "" : " (not fetched)");
    }
    if (!dir) return;
    /* Folder datasets (xai fetch --image-folder): every other "<name>-<digits>.h5". */
    rewinddir(dir);
    for (struct dirent *e; (e = readdir(dir));) {
        const char *dash = strrchr(e->d_name, '-');
        char name[32];
        if (!dash || dash == e->d_name || dash - e->d_name >= (long)sizeof name) continue;
        snprintf(name, sizeof name, "%.*s", (int)(dash - e->d_name), e->d_name);
        if (xai_folder_name_ok(name) && is_cache_name(e->d_name, name))
            fprintf(out, "%-14s %s (folder dataset)\n", name, e->d_name);
    }
    closedir(dir);
}

xai_status xai_dataset_check(FILE *out, const char *name, const xai_fetch_opts *o, int *match)
{
    char *path;
    XAI_TRY(fetched_path(&path, name, o, 0));
    xai_dataset d;
    double t0 = xai_now();
    xai_status s = xai_dataset_load_file(&d, path, 0);
    double dt = xai_now() - t0;
    free(path);
    XAI_TRY(s);
    if (strcmp(d.name, name) != 0) {
        s = xai_fail(XAI_EFORMAT, "%s: holds dataset '%s', expected '%s'", d.path, d.name, name);
        xai_dataset_free(&d);
        return s;
    }
    /* The statistics recomputed from the pixels, as the fetch computed them. */
    xai_dataset again = d;
    xai_ds_compute_stats(&again);
    int C = d.train.shape.c, bad = -1;
    for (int c = 0; c < C; c++)
        if (bad < 0 && (fabs(again.mean[c] - d.mean[c]) > 1e-4 || fabs(again.std[c] - d.std[c]) > 1e-4)) bad = c;
    *match = bad < 0;
    fprintf(out, "%s: loaded %d train + %d test images (%dx%dx%d) from %s in %.3f s; channel statistics %s\n", d.name,
            d.train.n, d.test.n, C, d.train.shape.h, d.train.shape.w, d.path, dt, *match ? "match" : "DO NOT MATCH");
    if (bad >= 0)
        s = xai_fail(XAI_EFORMAT, "%s: @mean/@std of channel %d (%.6g, %.6g) differ from the images' (%.6g, %.6g): the "
                     "cache is damaged; remove it and fetch again", d.path, bad, d.mean[bad], d.std[bad],
                     again.mean[bad], again.std[bad]);
    xai_dataset_free(&d);
    return s;
}
