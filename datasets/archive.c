/* archive.c: decodes an image-folder .tgz (Imagenette/Imagewoof layout) straight from the archive stream.
 * Members are read sequentially in batches; each batch is decoded and resized in parallel, order kept. */
#include "datasets/datasets.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Enough members to keep both cores busy while bounding the compressed bytes
 * held at once (a few MB). */
#define BATCH 256
/* No image of these datasets is anywhere near this; bigger members are refused. */
#define MEMBER_MAX ((size_t)64 << 20)

typedef struct {
    uint8_t *bytes;
    size_t len;
    char *name;
    int split; /* 0 train, 1 test (`val`) */
    int label;
    xai_status st;
    char err[256];
} member_t;

/* A split under construction; arrays grow by doubling. */
typedef struct {
    int n, cap;
    uint8_t *images; /* (cap, 3, S, S) */
    int32_t *labels;
    char **files;
} grow_t;

static xai_status grow_push(grow_t *g, const uint8_t *img, size_t isz, int label, const char *file)
{
    if (g->n == g->cap) {
        int nc = g->cap ? 2 * g->cap : 1024;
        uint8_t *im = realloc(g->images, (size_t)nc * isz);
        if (im) g->images = im;
        int32_t *lb = realloc(g->labels, sizeof(int32_t) * nc);
        if (lb) g->labels = lb;
        char **fs = realloc(g->files, sizeof(char *) * nc);
        if (fs) g->files = fs;
        if (!im || !lb || !fs) return xai_fail(XAI_ENOMEM, "out of memory holding %d decoded images", nc);
        g->cap = nc;
    }
    memcpy(g->images + (size_t)g->n * isz, img, isz);
    g->labels[g->n] = label;
    g->files[g->n] = xai_strdup(file);
    g->n++;
    return XAI_OK;
}

static void grow_free(grow_t *g)
{
    for (int i = 0; i < g->n; i++) free(g->files[i]);
    free(g->images);
    free(g->labels);
    free(g->files);
    memset(g, 0, sizeof *g);
}

/* Sorts by member path (so the result does not depend on how the tarball was
 * packed), then applies a fixed pseudo-random permutation so that any prefix of
 * the split is a class-balanced sample (used by xai_fetch_opts.limit). */
static const char *const *sort_names;
static int cmp_name(const void *a, const void *b)
{
    return strcmp(sort_names[*(const int32_t *)a], sort_names[*(const int32_t *)b]);
}

static xai_status finish_split(grow_t *g, xai_split *out, int size, uint64_t seed)
{
    size_t isz = (size_t)3 * size * size;
    int n = g->n;
    int32_t *idx = xai_malloc(sizeof(int32_t) * (n ? n : 1));
    for (int i = 0; i < n; i++) idx[i] = i;
    sort_names = (const char *const *)g->files;
    qsort(idx, (size_t)n, sizeof *idx, cmp_name);
    sort_names = NULL;
    xai_rng r;
    xai_rng_seed(&r, seed);
    xai_rng_shuffle(&r, idx, (size_t)n);
    memset(out, 0, sizeof *out);
    out->n = out->total = n;
    out->shape = (xai_shape){3, size, size};
    out->images = malloc(isz * (n ? n : 1));
    out->labels = malloc(sizeof(int32_t) * (n ? n : 1));
    out->files = malloc(sizeof(char *) * (n ? n : 1));
    if (!out->images || !out->labels || !out->files) {
        free(out->images);
        free(out->labels);
        free(out->files);
        free(idx);
        memset(out, 0, sizeof *out);
        return xai_fail(XAI_ENOMEM, "out of memory ordering %d images", n);
    }
    for (int i = 0; i < n; i++) {
        memcpy(out->images + (size_t)i * isz, g->images + (size_t)idx[i] * isz, isz);
        out->labels[i] = g->labels[idx[i]];
        out->files[i] = g->files[idx[i]];
        g->files[idx[i]] = NULL;
    }
    free(idx);
    g->n = 0; /* the names now belong to out */
    grow_free(g);
    return XAI_OK;
}

/* Splits a member path into components, dropping empty and "." ones.
 * Returns the count, or -1 (with a message) for paths we refuse. */
static int split_path(const char *archive, const char *name, char *buf, size_t cap, char **comp, int maxc)
{
    if (name[0] == '/') {
        xai_fail(XAI_EFORMAT, "%s: member '%s' has an absolute path; refusing the archive", archive, name);
        return -1;
    }
    if (strlen(name) >= cap) {
        xai_fail(XAI_EFORMAT, "%s: member name '%.64s...' is longer than %zu bytes", archive, name, cap - 1);
        return -1;
    }
    memcpy(buf, name, strlen(name) + 1);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (!strcmp(t, ".")) continue;
        if (!strcmp(t, "..")) {
            xai_fail(XAI_EFORMAT, "%s: member '%s' has a '..' component; refusing the archive", archive, name);
            return -1;
        }
        if (n < maxc) comp[n] = t;
        n++;
    }
    return n;
}

static void decode_batch(member_t *m, int n, uint8_t *out /* (n, 3, S, S) */, int size)
{
    size_t isz = (size_t)3 * size * size;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4)
#endif
    for (int i = 0; i < n; i++) {
        uint8_t *rgb;
        int w, h;
        m[i].st = xai_jpeg_decode_rgb(m[i].bytes, m[i].len, &rgb, &w, &h, m[i].err, sizeof m[i].err);
        if (m[i].st != XAI_OK) continue;
        xai_rgb_to_square(out + (size_t)i * isz, size, rgb, h, w);
        free(rgb);
    }
}

static xai_status flush_batch(member_t *m, int n, uint8_t *out, int size, int skip_bad, const char *path,
                              grow_t *splits, int *nskipped)
{
    decode_batch(m, n, out, size);
    size_t isz = (size_t)3 * size * size;
    xai_status s = XAI_OK;
    /* Errors are reported in archive order, whatever thread met them first. */
    for (int i = 0; i < n && s == XAI_OK; i++) {
        if (m[i].st != XAI_OK) {
            if (!skip_bad) {
                s = xai_fail(XAI_EFORMAT, "%s: member '%s': corrupt JPEG (%s); rerun with --skip-bad to skip corrupt images",
                             path, m[i].name, m[i].err);
                break;
            }
            fprintf(stderr, "warning: %s: skipping corrupt JPEG '%s' (%s)\n", path, m[i].name, m[i].err);
            ++*nskipped;
            continue;
        }
        s = grow_push(&splits[m[i].split], out + (size_t)i * isz, isz, m[i].label, m[i].name);
    }
    for (int i = 0; i < n; i++) {
        free(m[i].bytes);
        free(m[i].name);
    }
    return s;
}

static xai_status read_member(struct archive *a, struct archive_entry *e, const char *path, const char *name,
                              uint8_t **data, size_t *len)
{
    la_int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (declared < 0 || (size_t)declared > MEMBER_MAX)
        return xai_fail(XAI_EFORMAT, "%s: member '%s' declares %lld bytes, more than the %zu-byte limit", path, name,
                        (long long)declared, MEMBER_MAX);
    size_t cap = declared > 0 ? (size_t)declared : 65536, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return xai_fail(XAI_ENOMEM, "%s: out of memory reading '%s'", path, name);
    for (;;) {
        if (n == cap) {
            if (cap >= MEMBER_MAX) {
                free(buf);
                return xai_fail(XAI_EFORMAT, "%s: member '%s' is larger than the %zu-byte limit", path, name, MEMBER_MAX);
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return xai_fail(XAI_ENOMEM, "%s: out of memory reading '%s'", path, name);
            }
            buf = nb;
        }
        la_ssize_t r = archive_read_data(a, buf + n, cap - n);
        if (r < 0) {
            xai_status s = xai_fail(XAI_EFORMAT, "%s: cannot read member '%s': %s (truncated or corrupt archive?)", path,
                                    name, archive_error_string(a) ? archive_error_string(a) : "read error");
            free(buf);
            return s;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *data = buf;
    *len = n;
    return XAI_OK;
}

xai_status xai_tgz_decode(const char *path, const char *const *class_ids, int nclasses, int size, int skip_bad,
                          xai_split *train, xai_split *test, int *nskipped)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *nskipped = 0;
    if (size < 1 || size > 4096) return xai_fail(XAI_EINVAL, "image size %d, expected 1..4096", size);
    struct stat st;
    if (stat(path, &st) != 0) return xai_fail(XAI_ENOTFOUND, "%s: no such archive", path);
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        xai_status s = xai_fail(XAI_EFORMAT, "%s: cannot open as a gzip'd tar archive: %s", path,
                                archive_error_string(a) ? archive_error_string(a) : "unknown error");
        archive_read_free(a);
        return s;
    }
    member_t *batch = xai_calloc(BATCH, sizeof *batch);
    uint8_t *out = xai_malloc((size_t)BATCH * 3 * size * size);
    grow_t splits[2];
    memset(splits, 0, sizeof splits);
    int nb = 0;
    xai_status s = XAI_OK;
    xai_progress pr;
    xai_progress_start(&pr, "decode", (double)st.st_size / 1e6, "MB");
    char namebuf[4096], *comp[8];
    struct archive_entry *e;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            s = xai_fail(XAI_EFORMAT, "%s: corrupt or truncated archive: %s", path,
                         archive_error_string(a) ? archive_error_string(a) : "read error");
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name) {
            s = xai_fail(XAI_EFORMAT, "%s: member without a name", path);
            break;
        }
        int nc = split_path(path, name, namebuf, sizeof namebuf, comp, 8);
        if (nc < 0) {
            s = XAI_EFORMAT;
            break;
        }
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFDIR) continue;
        if (archive_entry_hardlink(e)) {
            s = xai_fail(XAI_EFORMAT, "%s: member '%s' is a hard link (to '%s'); refusing the archive", path, name,
                         archive_entry_hardlink(e));
            break;
        }
        if (type == AE_IFLNK) {
            const char *t = archive_entry_symlink(e);
            s = xai_fail(XAI_EFORMAT, "%s: member '%s' is a symbolic link (to '%s'); refusing the archive", path, name,
                         t ? t : "?");
            break;
        }
        if (type != AE_IFREG) {
            s = xai_fail(XAI_EFORMAT, "%s: member '%s' is not a regular file (device, fifo or socket); refusing the archive",
                         path, name);
            break;
        }
        /* Layout: <top>/<train|val>/<wnid>/<image>. Other files (the csv of
         * noisy labels, READMEs) are not images and are skipped. */
        int split = nc >= 2 ? (!strcmp(comp[1], "train") ? 0 : !strcmp(comp[1], "val") ? 1 : -1) : -1;
        if (split < 0) continue;
        if (nc != 4) {
            s = xai_fail(XAI_EFORMAT, "%s: member '%s' is not at <top>/%s/<class id>/<image> as expected", path, name,
                         comp[1]);
            break;
        }
        int label = -1;
        for (int c = 0; c < nclasses; c++)
            if (!strcmp(comp[2], class_ids[c])) label = c;
        if (label < 0) {
            s = xai_fail(XAI_EFORMAT, "%s: member '%s' is in class folder '%s', which is not one of the %d expected (%s, ...)",
                         path, name, comp[2], nclasses, class_ids[0]);
            break;
        }
        member_t *m = &batch[nb];
        memset(m, 0, sizeof *m);
        s = read_member(a, e, path, name, &m->bytes, &m->len);
        if (s != XAI_OK) break;
        m->name = xai_strdup(name);
        m->split = split;
        m->label = label;
        if (++nb == BATCH) {
            s = flush_batch(batch, nb, out, size, skip_bad, path, splits, nskipped);
            nb = 0;
            if (s != XAI_OK) break;
            xai_progress_update(&pr, (double)archive_filter_bytes(a, -1) / 1e6);
        }
    }
    if (s == XAI_OK && nb) s = flush_batch(batch, nb, out, size, skip_bad, path, splits, nskipped);
    else
        for (int i = 0; i < nb; i++) {
            free(batch[i].bytes);
            free(batch[i].name);
        }
    archive_read_free(a);
    free(batch);
    free(out);
    if (s == XAI_OK && (splits[0].n == 0 || splits[1].n == 0))
        s = xai_fail(XAI_EFORMAT, "%s: no images found under <top>/%s/<class id>/ (found %d train, %d val)", path,
                     splits[0].n == 0 ? "train" : "val", splits[0].n, splits[1].n);
    if (s == XAI_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "%d train + %d val images%s", splits[0].n, splits[1].n,
                 *nskipped ? " (some corrupt ones skipped)" : "");
        xai_progress_end(&pr, msg);
        s = finish_split(&splits[0], train, size, 0x7261696eULL);
        if (s == XAI_OK) s = finish_split(&splits[1], test, size, 0x76616cULL);
    }
    grow_free(&splits[0]);
    grow_free(&splits[1]);
    if (s != XAI_OK) {
        for (int i = 0; i < train->n; i++) free(train->files ? train->files[i] : NULL);
        free(train->images), free(train->labels), free(train->files);
        for (int i = 0; i < test->n; i++) free(test->files ? test->files[i] : NULL);
        free(test->images), free(test->labels), free(test->files);
        memset(train, 0, sizeof *train);
        memset(test, 0, sizeof *test);
    }
    return s;
}
