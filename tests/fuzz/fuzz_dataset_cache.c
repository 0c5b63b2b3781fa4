/* fuzz_dataset_cache.c: libFuzzer target of the dataset cache readers (datasets/cache.c): the
 * loader every command uses, `xai datasets info` and the fetch-time completeness check. The
 * template is a tiny cache written by xai_ds_cache_write (3 classes, 4 + 2 images of 1x4x4, member
 * file names); the input is a list of h5mutate.c operations on it. */
#include "datasets/dataset_priv.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fz_h5_template *tmpl;

static char **strs(const char *const *s, int n)
{
    char **v = xai_malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++) v[i] = xai_strdup(s[i]);
    return v;
}

static void make_split(xai_split *s, int n)
{
    static const char *const files[4] = {"t/train/a/0.JPEG", "t/train/b/1.JPEG", "t/train/c/2.JPEG",
                                         "t/train/a/3.JPEG"};
    s->n = s->total = n;
    s->shape = (xai_shape){1, 4, 4};
    s->images = xai_malloc((size_t)n * 16);
    s->labels = xai_malloc(sizeof *s->labels * (size_t)n);
    for (int i = 0; i < n * 16; i++) s->images[i] = (uint8_t)(i * 37);
    for (int i = 0; i < n; i++) s->labels[i] = i % 3;
    s->files = strs(files, n);
}

static void make_template(void)
{
    static const char *const ids[3] = {"a", "b", "c"}, *const names[3] = {"apple", "bee", "cat"};
    xai_dataset d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "imagenette");
    d.size = 4;
    d.nclasses = 3;
    d.class_ids = strs(ids, 3);
    d.class_names = strs(names, 3);
    make_split(&d.train, 4);
    make_split(&d.test, 2);
    d.mean[0] = 0.5f, d.std[0] = 0.25f;
    snprintf(d.source, sizeof d.source, "mirror /m");
    snprintf(d.sha256, sizeof d.sha256, "%064d", 7);
    const char *file = "t.tgz", *loc = "/m/t.tgz", *sha = d.sha256;
    xai_ds_provenance p = {"mirror", "libjpeg-turbo", 0, 1, {file}, {loc}, {sha}};
    const char *path = fz_path("template.h5");
    if (xai_ds_cache_write(path, &d, &p) != XAI_OK) abort();
    xai_dataset_free(&d);
    tmpl = fz_h5_template_load(path);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (!tmpl) make_template();
    fz_in in = {data, size};
    const char *path = fz_path("cache.h5");
    int limit = fz_u8(&in) % 4; /* 0: every image, else `--limit` */
    fz_h5_mutate(tmpl, &in, path);
    xai_dataset d;
    if (FZ_CALL(xai_dataset_load_file(&d, path, limit)) == XAI_OK) {
        for (int i = 0; i < d.train.n; i++)
            if (d.train.labels[i] < 0 || d.train.labels[i] >= d.nclasses) abort();
        xai_dataset_free(&d);
    }
    xai_ds_cache_info inf;
    if (FZ_CALL(xai_ds_cache_info_read(&inf, path)) == XAI_OK) xai_ds_cache_info_free(&inf);
    int ntrain, ntest;
    char source[256];
    xai_ds_cache_ok(path, "imagenette", 4, &ntrain, &ntest, source, sizeof source);
    fz_end();
    return 0;
}
