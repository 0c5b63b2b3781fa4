/* dataset_priv.h: private to datasets/: the registry of known datasets, resolved fetch options,
 * the sources a dataset's files come from, and the cache file's reader/writer (cache.c). */
#ifndef XAI_DATASETS_PRIV_H
#define XAI_DATASETS_PRIV_H

#include "datasets/datasets.h"

/* ---------------------------------------------------- registry (registry.c) */

typedef struct {
    const char *file;           /* upstream file name (also the name on mirrors) */
    const char *sha256, *md5;   /* upstream checksum of the file as published */
    const char *payload_sha256; /* Debian's copy: SHA-256 of the decompressed file */
} xai_ds_file;

typedef struct {
    const char *name;
    int archive;               /* 0: four gzip'd IDX files; 1: one image-folder .tgz */
    const char *url_base;      /* upstream folder; file names are appended */
    int nfiles;
    xai_ds_file files[4];      /* IDX: train images, train labels, test images, test labels */
    const char *system_subdir; /* folder under the system data dir, or NULL */
    const char *const *ids, *const *names;
    int default_size;
} xai_ds_def;

/* xai_fetch_opts with the defaults and the environment applied. */
typedef struct {
    const xai_ds_def *def;
    char data_dir[1024];
    char mirror[1024]; /* "" when none */
    int size;
    int skip_bad;
} xai_ds_opts;

const xai_ds_def *xai_ds_find(const char *name); /* NULL when unknown */
xai_status xai_ds_resolve(xai_ds_opts *r, const char *name, const xai_fetch_opts *o);
char *xai_ds_cache_file(const xai_ds_opts *r);  /* "<data_dir>/<name>-<size>.h5", malloc'd */
const char *xai_ds_data_dir(const char *given); /* given, else $XAI_DATA_DIR, else "./data" */
/* Progress lines on stderr unless xai_quiet. */
void xai_ds_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------ sources (source.c) */

typedef enum { XAI_DS_SRC_MIRROR, XAI_DS_SRC_SYSTEM, XAI_DS_SRC_UPSTREAM } xai_ds_src_kind;

typedef struct {
    xai_ds_src_kind kind;
    int local;               /* files are read where they are (plain-path mirror, system copy) */
    char base[1100];         /* mirror root, system folder or upstream URL folder */
    char expect[4][65];      /* mirror: SHA-256 listed in its SHA256SUMS */
    char location[4][1200];  /* where each file came from (path or URL) */
    char path[4][1200];      /* the verified local file to decode (its name) */
    int fd[4];               /* ... open: what was verified is what is decoded; -1 when closed */
    char sha256[4][65];      /* SHA-256 of each source file as obtained */
} xai_ds_source;

/* Picks the first source that has this dataset: a mirror listing it, the system copy, upstream. */
xai_status xai_ds_choose_source(xai_ds_source *src, const xai_ds_opts *r);
/* "mirror DIR", "system copy DIR" or "upstream URL". */
void xai_ds_describe_source(char *out, size_t cap, const xai_ds_source *src);
const char *xai_ds_source_kind_name(xai_ds_src_kind k); /* "mirror", "system", "upstream" */
/* Makes every file of the dataset available locally, opens it (src->fd) and verifies the open
 * descriptor; decoders read that descriptor, never the path again (system copies are verified on
 * their decompressed payload when decoded). */
xai_status xai_ds_obtain_files(xai_ds_source *src, const xai_ds_opts *r);
/* Closes the descriptors xai_ds_obtain_files left open. */
void xai_ds_source_close(xai_ds_source *src);
/* Tests only: called between verifying the source files and decoding them, the window in which
 * a file swapped by path must not reach the decoder. NULL otherwise. */
extern void (*xai_ds_after_verify_hook)(void);

/* ------------------------------------------------------ cache file (cache.c) */

/* The version of the cache format; part of the dataset id too (dataset.c). */
#define XAI_DS_CACHE_VERSION 1

/* Where the cached images came from and how they were decoded. */
typedef struct {
    const char *source_kind, *decoder;
    int nskipped;             /* corrupt images skipped */
    int nfiles;
    const char *files[4], *locations[4], *sha256[4];
} xai_ds_provenance;

/* Per-channel mean and std of the train split's pixels in [0, 1] into ds->mean/std. */
void xai_ds_compute_stats(xai_dataset *ds);
xai_status xai_ds_cache_write(const char *path, const xai_dataset *ds, const xai_ds_provenance *p);
/* A quick look at an existing cache: 1 when it is complete, of this format, name and size. */
int xai_ds_cache_ok(const char *path, const char *name, int size, int *ntrain, int *ntest, char *source,
                    size_t cap);

/* What `xai datasets info` shows, read from a cache file. */
typedef struct {
    char name[64], source[1024], sha256[80], decoder[1024], version[128];
    int64_t size, channels, skipped;
    double mean[3], std[3];
    int nmean;
    int nclasses, ntrain, ntest, nfiles;
    char **ids, **names;                 /* (nclasses) */
    int *count_train, *count_test;       /* (nclasses) images per class */
    char **files, **locations, **shas;   /* (nfiles) */
} xai_ds_cache_info;

xai_status xai_ds_cache_info_read(xai_ds_cache_info *inf, const char *path);
void xai_ds_cache_info_free(xai_ds_cache_info *inf);

#endif
