/* folder.c: ImageFolder trees (root/<class>/<image>, or root/{train,val}/<class>/<image>) as
 * dataset caches (`xai fetch --image-folder DIR --name NAME`), and finding such a cache by name. */
#include "core/io.h"
#include "datasets/dataset_priv.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FOLDER_MAX_CLASSES 1000
/* Without train/ and val/, every FOLDER_TEST_EVERY-th image of a class (by name) is a test image. */
#define FOLDER_TEST_EVERY 5

int xai_folder_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 24 || xai_dataset_known(name)) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-' ||
              name[i] == '_'))
            return 0;
    return 1;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sub-folders of dir (not hidden), sorted: the class names. */
static xai_status list_classes(const char *dir, char ***names, int *n)
{
    *names = xai_calloc(FOLDER_MAX_CLASSES, sizeof **names);
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return xai_fail(XAI_EIO, "%s: cannot open the folder (%s)", dir, strerror(errno));
    xai_status s = XAI_OK;
    for (struct dirent *e; s == XAI_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char *p = xai_path_join(dir, e->d_name);
        if (is_dir(p) && *n >= FOLDER_MAX_CLASSES)
            s = xai_fail(XAI_EINVAL, "%s: more than %d class folders", dir, FOLDER_MAX_CLASSES);
        else if (is_dir(p)) (*names)[(*n)++] = xai_strdup(e->d_name);
        free(p);
    }
    closedir(d);
    if (s == XAI_OK && *n == 0)
        s = xai_fail(XAI_EINVAL, "%s: no class folders; expected DIR/<class>/<images> or DIR/{train,val}/<class>/...",
                     dir);
    qsort(*names, (size_t)*n, sizeof **names, by_name);
    return s;
}

/* Appends one image of class k to sp (capacity *cap). */
static void add_image(xai_split *sp, int *cap, const char *file, int k)
{
    if (sp->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        char **nf = realloc(sp->files, (size_t)*cap * sizeof *nf);
        XAI_CHECK(nf);
        sp->files = nf;
        int32_t *nl = realloc(sp->labels, (size_t)*cap * sizeof *nl);
        XAI_CHECK(nl);
        sp->labels = nl;
    }
    sp->files[sp->n] = xai_strdup(file);
    sp->labels[sp->n++] = k;
}

/* The file list of both splits: from train/ and val/ when both exist, else every 5th image a test one. */
static xai_status collect(const char *root, char **classes, int ncl, xai_split *tr, xai_split *te)
{
    char *trd = xai_path_join(root, "train"), *ted = xai_path_join(root, "val");
    const int split = is_dir(trd) && is_dir(ted);
    int ctr = 0, cte = 0;
    xai_status s = XAI_OK;
    for (int k = 0; k < ncl && s == XAI_OK; k++) {
        for (int part = 0; part < (split ? 2 : 1) && s == XAI_OK; part++) {
            char *base = split ? (part ? ted : trd) : (char *)root, *dir = xai_path_join(base, classes[k]), **f = NULL;
            int nf = 0;
            if (is_dir(dir)) s = xai_image_dir_list(dir, &f, &nf);
            for (int i = 0; s == XAI_OK && i < nf; i++) {
                const int test = split ? part : i % FOLDER_TEST_EVERY == FOLDER_TEST_EVERY - 1;
                add_image(test ? te : tr, test ? &cte : &ctr, f[i], k);
            }
            for (int i = 0; i < nf; i++) free(f[i]);
            free(f);
            free(dir);
        }
    }
    free(trd), free(ted);
    if (s == XAI_OK && (tr->n == 0 || te->n == 0))
        s = xai_fail(XAI_EINVAL, "%s: %d train and %d test images; both splits need images (PNG or JPEG)", root,
                     tr->n, te->n);
    return s;
}

static xai_status decode_split(xai_split *sp, int size)
{
    sp->shape = (xai_shape){3, size, size};
    sp->total = sp->n;
    const size_t isz = xai_shape_size(sp->shape);
    sp->images = xai_malloc(isz * (size_t)(sp->n ? sp->n : 1));
    for (int i = 0; i < sp->n; i++) XAI_TRY(xai_image_file_load(sp->files[i], sp->shape, sp->images + i * isz));
    return XAI_OK;
}

/* The dataset id: name, size and every decoded pixel and label. */
static void folder_id(xai_dataset *d)
{
    xai_sha256_ctx c;
    char line[128];
    xai_sha256_init(&c);
    snprintf(line, sizeof line, "xai-dataset %d\nfolder %s\nsize %d\n", XAI_DS_CACHE_VERSION, d->name, d->size);
    xai_sha256_update(&c, line, strlen(line));
    const xai_split *sp[2] = {&d->train, &d->test};
    for (int k = 0; k < 2; k++) {
        xai_sha256_update(&c, sp[k]->images, (size_t)sp[k]->n * xai_shape_size(sp[k]->shape));
        xai_sha256_update(&c, sp[k]->labels, (size_t)sp[k]->n * sizeof *sp[k]->labels);
    }
    xai_sha256_final(&c, d->sha256);
}

xai_status xai_folder_import(const char *root, const char *name, const xai_fetch_opts *o)
{
    if (!xai_folder_name_ok(name))
        return xai_fail(XAI_EINVAL, "--name '%s': expected 1 to 24 of a-z, 0-9, '-', '_', not a built-in dataset (%s)",
                        name ? name : "", XAI_DATASET_NAMES);
    const int size = o && o->size ? o->size : 64;
    if (size < 8 || size > 1024) return xai_fail(XAI_EINVAL, "--size %d: expected 8 to 1024", size);
    xai_dataset d;
    memset(&d, 0, sizeof d);
    char *trd = xai_path_join(root, "train"), *cls_root = is_dir(trd) ? trd : (char *)root, *path = NULL, base[64];
    xai_status s = list_classes(cls_root, &d.class_ids, &d.nclasses);
    if (s == XAI_OK) s = collect(root, d.class_ids, d.nclasses, &d.train, &d.test);
    xai_ds_say("%s: %d classes, %d train and %d test images from %s; decoding to 3x%dx%d\n", name, d.nclasses,
               d.train.n, d.test.n, root, size, size);
    if (s == XAI_OK) s = decode_split(&d.train, size);
    if (s == XAI_OK) s = decode_split(&d.test, size);
    if (s == XAI_OK) {
        d.class_names = xai_calloc((size_t)d.nclasses, sizeof *d.class_names);
        for (int k = 0; k < d.nclasses; k++) d.class_names[k] = xai_strdup(d.class_ids[k]);
        snprintf(d.name, sizeof d.name, "%s", name);
        snprintf(d.source, sizeof d.source, "%s", root);
        d.size = size;
        xai_ds_compute_stats(&d);
        folder_id(&d);
        char decoder[256];
        snprintf(decoder, sizeof decoder, "image folder: PNG (libpng) / JPEG (libjpeg) to RGB; centre square crop; "
                 "area-average resize to 3x%dx%d; sorted by path", size, size);
        xai_ds_provenance p = {"folder", decoder, 0, 0, {0}, {0}, {0}};
        snprintf(base, sizeof base, "%s-%d.h5", name, size);
        path = xai_path_join(xai_ds_data_dir(o ? o->data_dir : NULL), base);
        if ((s = xai_mkdirs(xai_ds_data_dir(o ? o->data_dir : NULL))) == XAI_OK) s = xai_ds_cache_write(path, &d, &p);
        if (s == XAI_OK) xai_ds_say("%s: wrote %s (sha256 %.16s...)\n", name, path, d.sha256);
    }
    free(path);
    free(trd);
    xai_dataset_free(&d);
    return s;
}

xai_status xai_folder_cache_path(char **path, const char *name, const xai_fetch_opts *o)
{
    *path = NULL;
    const char *dd = xai_ds_data_dir(o ? o->data_dir : NULL);
    char base[64];
    if (o && o->size) {
        snprintf(base, sizeof base, "%s-%d.h5", name, o->size);
        *path = xai_path_join(dd, base);
    } else { /* the one size built */
        DIR *d = opendir(dd);
        const size_t nl = strlen(name);
        for (struct dirent *e; d && (e = readdir(d));) {
            char *end;
            if (strncmp(e->d_name, name, nl) || e->d_name[nl] != '-') continue;
            long sz = strtol(e->d_name + nl + 1, &end, 10);
            if (sz > 0 && !strcmp(end, ".h5") && !*path) *path = xai_path_join(dd, e->d_name);
        }
        if (d) closedir(d);
    }
    if (*path && xai_file_exists(*path)) return XAI_OK;
    free(*path);
    *path = NULL;
    return xai_fail(XAI_ENOTFOUND, "unknown dataset '%s' (built-in: %s), and no folder dataset of that name in %s%s; "
                    "make one with 'xai fetch --image-folder DIR --name %s'", name, XAI_DATASET_NAMES, dd,
                    o && o->size ? " at that size" : "", name);
}
