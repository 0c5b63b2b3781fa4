/* datasets.h: public API of the datasets module: fetch, verify, decode and cache
 * MNIST, Fashion-MNIST, Imagenette and Imagewoof; plus the hashing/decoding pieces it is built from. */
#ifndef XAI_DATASETS_H
#define XAI_DATASETS_H

#include "core/base.h"
#include "core/config.h"
#include "core/io.h"
#include "core/nn.h"

#include <stddef.h>
#include <stdint.h>

/* ----------------------------------------------------------- dataset API */

/* Names accepted everywhere a dataset is named. */
#define XAI_DATASET_NAMES "mnist, fashion-mnist, imagenette, imagewoof"

/* One split held in memory. Images are uint8 in [0, 255]; callers scale with
 * the dataset's mean/std (computed on [0, 1] values) when they need floats. */
typedef struct {
    int n;            /* images loaded (may be fewer than `total` with a limit) */
    int total;        /* images in the cached split */
    xai_shape shape;  /* (C, H, W) of one image */
    uint8_t *images;  /* (N, C, H, W) */
    int32_t *labels;  /* (N), in [0, nclasses) */
    char **files;     /* (N) archive member of each image (Imagenette/woof); NULL for MNIST */
} xai_split;

typedef struct {
    char name[32];        /* "mnist", ... */
    int size;             /* image side in pixels (28 for the MNIST family) */
    int nclasses;
    char **class_ids;     /* (nclasses) "0".."9" or WordNet ids "n01440764" */
    char **class_names;   /* (nclasses) human-readable */
    xai_split train, test; /* test is the official test split (Imagenette/woof: `val`) */
    float mean[3], std[3]; /* per channel, train split, pixel values scaled to [0, 1] */
    char source[1024];    /* where the source files came from: mirror, system copy or URL */
    char sha256[65];      /* identifies the cached data: see datasets/README.md */
    char path[1024];      /* the HDF5 cache file this was loaded from */
} xai_dataset;

/* Zero fields mean defaults. */
typedef struct {
    const char *data_dir; /* NULL: $XAI_DATA_DIR, else "./data" */
    const char *mirror;   /* NULL: $XAI_MIRROR, else none; "" disables a mirror set in the environment */
    int size;             /* 0: 64 for Imagenette/Imagewoof; MNIST family only accepts 0 or 28 */
    int skip_bad;         /* 1: skip (and report) corrupt JPEGs instead of failing */
    int limit;            /* xai_dataset_load only: >0 loads the first `limit` images of each split */
} xai_fetch_opts;

/* Makes sure `<data-dir>/<name>-<size>.h5` exists: finds a source (mirror, system
 * copy, upstream), downloads and verifies the files, decodes them and writes the
 * cache atomically. Prints what it does on stderr; does nothing (but say so)
 * when the cache is already there. */
xai_status xai_dataset_fetch(const char *name, const xai_fetch_opts *o);
/* Loads the cache, fetching first when it is missing. Free with xai_dataset_free. */
xai_status xai_dataset_load(xai_dataset *d, const char *name, const xai_fetch_opts *o);
/* ImageFolder datasets (folder.c): root/<class>/<images> (every 5th image of a class, by name,
 * is a test image) or root/train/<class>/... with root/val/<class>/... as the test split; class
 * names are the sorted folder names; images centre-cropped and resized to 3 x size x size (o->size,
 * default 64). Writes the cache <data-dir>/<name>-<size>.h5, which every command then takes by name. */
xai_status xai_folder_import(const char *root, const char *name, const xai_fetch_opts *o);
/* 1 when name can name a folder dataset: 1 to 24 of [a-z0-9_-], not a built-in name. */
int xai_folder_name_ok(const char *name);
/* The cache of folder dataset name (of o->size, or the one size built when 0), or XAI_ENOTFOUND
 * saying how to make it. */
xai_status xai_folder_cache_path(char **path, const char *name, const xai_fetch_opts *o);
/* Loads a cache file by path (no fetching). limit as in xai_fetch_opts. */
xai_status xai_dataset_load_file(xai_dataset *d, const char *path, int limit);
void xai_dataset_free(xai_dataset *d);
/* Frees one split's arrays and zeroes it. */
void xai_split_free(xai_split *s);
/* Path of the cache file for these options (malloc'd), and whether it exists. */
xai_status xai_dataset_cache_path(char **path, const char *name, const xai_fetch_opts *o);
/* Prints what `xai datasets info` shows: counts per split and class, image
 * size, source files with their SHA-256, decoder settings. Does not fetch. */
xai_status xai_dataset_info(FILE *out, const char *name, const xai_fetch_opts *o);
/* 1 when name is one of XAI_DATASET_NAMES. */
int xai_dataset_known(const char *name);
/* The known datasets in the order of XAI_DATASET_NAMES: name i of count (NULL outside). */
int xai_dataset_count(void);
const char *xai_dataset_name(int i);
/* 1 when the dataset takes an image size (imagenette, imagewoof); the MNIST family is 28x28. */
int xai_dataset_resizable(const char *name);
/* Prints what `xai datasets list` shows: the data directory (NULL: $XAI_DATA_DIR, else
 * ./data) and, per known dataset, the caches present in it. */
void xai_dataset_list(FILE *out, const char *data_dir);
/* Loads every image of a fetched cache (timed), recomputes the channel statistics from the
 * pixels and prints one line saying whether they match the stored ones (*match). A mismatch, or
 * a cache of another dataset under this name, is also XAI_EFORMAT saying which. */
xai_status xai_dataset_check(FILE *out, const char *name, const xai_fetch_opts *o, int *match);

/* ------------------------------------------------------------- hashing */

typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} xai_sha256_ctx;
void xai_sha256_init(xai_sha256_ctx *c);
void xai_sha256_update(xai_sha256_ctx *c, const void *data, size_t n);
void xai_sha256_final(xai_sha256_ctx *c, char hex[65]);
void xai_sha256_hex(const void *data, size_t n, char hex[65]);

typedef struct {
    uint32_t h[4];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} xai_md5_ctx;
void xai_md5_init(xai_md5_ctx *c);
void xai_md5_update(xai_md5_ctx *c, const void *data, size_t n);
void xai_md5_final(xai_md5_ctx *c, char hex[33]);
void xai_md5_hex(const void *data, size_t n, char hex[33]);

/* SHA-256 (and MD5 when md5 is not NULL) of a file's bytes. */
xai_status xai_hash_file(const char *path, char sha256[65], char md5[33]);
/* The same of an open file, read from offset 0 whatever the descriptor's offset. */
xai_status xai_hash_fd(int fd, const char *name, char sha256[65], char md5[33]);

/* ----------------------------------------------------------------- IDX */

/* A decoded IDX file of unsigned bytes: dims[0] items of dims[1] x dims[2]. */
typedef struct {
    int ndims;        /* 1 (labels) or 3 (images) */
    int dims[3];
    uint8_t *data;    /* (dims[0], dims[1], dims[2]) */
    size_t n;         /* bytes in data */
} xai_idx;

/* Decodes a gzip'd IDX held in memory. name is used in error messages;
 * payload_sha256 (may be NULL) receives the SHA-256 of the decompressed bytes. */
xai_status xai_idx_decode(xai_idx *out, const void *gz, size_t len, const char *name, char payload_sha256[65]);
/* Reads and decodes a gzip'd IDX file. */
xai_status xai_idx_read(xai_idx *out, const char *path, char payload_sha256[65]);
void xai_idx_free(xai_idx *x);

/* --------------------------------------------------------------- images */

/* Decodes a JPEG (YCbCr, greyscale, CMYK/YCCK) to interleaved RGB. On failure
 * returns XAI_EFORMAT and writes the reason to err (cap bytes); never touches
 * the thread's error message, so it is safe inside OpenMP loops. */
xai_status xai_jpeg_decode_rgb(const void *buf, size_t len, uint8_t **rgb /* (H, W, 3) */, int *w, int *h,
                               char *err, size_t cap);
/* Decodes a PNG (grey, palette, 16-bit and alpha included; alpha composited on black) to
 * interleaved RGB with libpng; errors as xai_jpeg_decode_rgb. */
xai_status xai_png_decode_rgb(const void *buf, size_t len, uint8_t **rgb /* (H, W, 3) */, int *w, int *h, char *err,
                              size_t cap);
/* An image file (PNG or JPEG, told by its first bytes) as a model input of shape s (square,
 * 1 or 3 channels): central square cropped, area-resized to s.h x s.w, planar uint8. A colour
 * image for a 1-channel model is an error naming the file and both channel counts. */
xai_status xai_image_file_load(const char *path, xai_shape s, uint8_t *dst /* (C, H, W) */);
/* Writes interleaved RGB (H, W, 3) as an 8-bit PNG, atomically. */
xai_status xai_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h);
/* The .png/.jpg/.jpeg files directly in dir (not hidden), sorted by name; malloc'd paths. */
xai_status xai_image_dir_list(const char *dir, char ***files, int *n);
/* A dataset whose test split is the image files (folders expand to their images), labels -1
 * (unknown), name "images", sha256 over the decoded pixels; no train split. */
xai_status xai_dataset_from_images(xai_dataset *d, const char *const *paths, int npaths, xai_shape s, int nclasses);
/* Area-averaging resize of a planar image; every source pixel contributes in
 * proportion to the area it covers in each destination pixel. */
void xai_resize_area(uint8_t *dst /* (C, DH, DW) */, int dh, int dw, const uint8_t *src /* (C, SH, SW) */, int sh,
                     int sw, int c);
/* Crops the central square of an interleaved RGB image, resizes it to
 * size x size by area-averaging and writes planar output. */
void xai_rgb_to_square(uint8_t *dst /* (3, S, S) */, int size, const uint8_t *rgb /* (H, W, 3) */, int h, int w);

/* Decodes an image-folder .tgz laid out as <top>/{train,val}/<class id>/<image>
 * without extracting it: every image is centre-cropped to a square and
 * area-resized to size x size RGB. Members with absolute paths or '..', links and
 * devices are refused; corrupt JPEGs are an error unless skip_bad (then counted
 * in *nskipped). Splits are sorted by member path and then put in a fixed
 * pseudo-random order (any prefix is a class-balanced sample). */
xai_status xai_tgz_decode(const char *path, const char *const *class_ids, int nclasses, int size, int skip_bad,
                          xai_split *train, xai_split *test, int *nskipped);
/* The same, reading the open descriptor fd from offset 0; path names it in messages. */
xai_status xai_tgz_decode_fd(int fd, const char *path, const char *const *class_ids, int nclasses, int size,
                             int skip_bad, xai_split *train, xai_split *test, int *nskipped);

/* ------------------------------------------------------------ downloads */

/* Checks a file against the expected SHA-256 and/or MD5 (lowercase hex, NULL to
 * skip; at least one given). got_sha256 receives the file's SHA-256. On a
 * mismatch: XAI_ECHECKSUM naming the file, both hashes and `source`. */
xai_status xai_verify_file(const char *path, const char *expect_sha256, const char *expect_md5, const char *source,
                           char got_sha256[65]);
/* The same of an open file (named `name` in messages): callers decode the very descriptor they
 * verified, so a file swapped in between is never decoded under the genuine checksum. */
xai_status xai_verify_fd(int fd, const char *name, const char *expect_sha256, const char *expect_md5,
                         const char *source, char got_sha256[65]);
/* Downloads url (http, https or file) to dest through "<dest>.part": resumes a
 * .part left by an interrupted run (HTTP range), retries transient failures
 * with backoff, shows progress, verifies as xai_verify_file, and renames into
 * place only when the checksum matches. upstream_hint: mention --mirror and
 * XAI_MIRROR in network errors. */
xai_status xai_download(const char *url, const char *dest, const char *expect_sha256, const char *expect_md5,
                        const char *source, int upstream_hint, char got_sha256[65]);
/* Fetches a small file (at most 16 MB) into memory, NUL-terminated. */
xai_status xai_download_text(const char *url, char **text, size_t *len);

#endif
