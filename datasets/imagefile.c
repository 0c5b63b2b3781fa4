/* imagefile.c: image files given by the user (PNG through libpng, JPEG through libjpeg-turbo) as
 * a model's input: centre-cropped, area-resized and converted to its channel count; `--images`;
 * PNG files written (heatmaps). */
#include "core/io.h"
#include "datasets/datasets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files above this are no image of ours; the decoders refuse huge dimensions on their own. */
#define IMAGE_MAX_BYTES ((size_t)256 << 20)
#define PNG_MAX_PIXELS (64u << 20)
/* Image files one call takes (a folder may hold more: an error says so). */
#define IMAGES_MAX (1 << 20)

xai_status xai_png_decode_rgb(const void *buf, size_t len, uint8_t **rgb, int *w, int *h, char *err, size_t cap)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    *rgb = NULL;
    if (!png_image_begin_read_from_memory(&im, buf, len)) {
        snprintf(err, cap, "not a readable PNG (%s)", im.message);
        return XAI_EFORMAT;
    }
    if (im.width == 0 || im.height == 0 || (uint64_t)im.width * im.height > PNG_MAX_PIXELS) {
        snprintf(err, cap, "PNG of %ux%u pixels, expected 1 to %u pixels", im.width, im.height, PNG_MAX_PIXELS);
        png_image_free(&im);
        return XAI_EFORMAT;
    }
    im.format = PNG_FORMAT_RGB; /* grey and palette images expanded; alpha composited on black */
    uint8_t *out = malloc(PNG_IMAGE_SIZE(im));
    if (!out || !png_image_finish_read(&im, NULL, out, 0, NULL)) {
        snprintf(err, cap, "cannot decode PNG (%s)", out ? im.message : "out of memory");
        free(out);
        png_image_free(&im);
        return XAI_EFORMAT;
    }
    *rgb = out, *w = (int)im.width, *h = (int)im.height;
    return XAI_OK;
}

xai_status xai_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w, im.height = (png_uint_32)h, im.format = PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    if (w < 1 || h < 1 || !png_image_write_get_memory_size(im, len, 0, rgb, 0, NULL))
        return xai_fail(XAI_EINVAL, "%s: cannot encode a %dx%d PNG (%s)", path, w, h, im.message);
    void *buf = xai_malloc(len);
    xai_status s = XAI_OK;
    if (!png_image_write_to_memory(&im, buf, &len, 0, rgb, 0, NULL))
        s = xai_fail(XAI_EINVAL, "%s: cannot encode a %dx%d PNG (%s)", path, w, h, im.message);
    else s = xai_write_file_atomic(path, buf, len);
    free(buf);
    return s;
}

/* Interleaved RGB of a PNG or JPEG file, told apart by their signatures. */
static xai_status decode_file(const char *path, uint8_t **rgb, int *w, int *h)
{
    char *data = NULL, err[256] = "";
    size_t len = 0;
    /* A regular file (or a link to one) only: a FIFO would wait forever for a writer. Opened without
     * blocking, then checked on the descriptor that is read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    xai_status rs = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                        ? xai_read_fd_max(fd, path, IMAGE_MAX_BYTES, &data, &len)
                        : xai_fail(XAI_EINVAL, "%s: not a regular file (a FIFO, device or directory), so not an image",
                                   path);
    close(fd);
    XAI_TRY(rs);
    const uint8_t *u = (const uint8_t *)data;
    xai_status s;
    if (len >= 8 && !memcmp(u, "\x89PNG\r\n\x1a\n", 8)) s = xai_png_decode_rgb(data, len, rgb, w, h, err, sizeof err);
    else if (len >= 2 && u[0] == 0xFF && u[1] == 0xD8) s = xai_jpeg_decode_rgb(data, len, rgb, w, h, err, sizeof err);
    else s = XAI_EFORMAT, snprintf(err, sizeof err, "neither PNG nor JPEG (by its first bytes)");
    free(data);
    if (s != XAI_OK) return xai_fail(s, "%s: %s", path, err);
    return XAI_OK;
}

xai_status xai_image_file_load(const char *path, xai_shape s, uint8_t *dst)
{
    if ((s.c != 1 && s.c != 3) || s.h != s.w)
        return xai_fail(XAI_EINVAL, "%s: the model takes %dx%dx%d inputs; image files fit models of 1 or 3 channels "
                        "and square images only", path, s.c, s.h, s.w);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    XAI_TRY(decode_file(path, &rgb, &w, &h));
    uint8_t *sq = xai_malloc((size_t)3 * s.h * s.w);
    xai_rgb_to_square(sq, s.h, rgb, h, w);
    free(rgb);
    const size_t plane = (size_t)s.h * s.w;
    xai_status st = XAI_OK;
    if (s.c == 3) memcpy(dst, sq, 3 * plane);
    else {
        /* A grey image only: a colour picture has no single right grey for a net trained on grey. */
        for (size_t i = 0; i < plane && st == XAI_OK; i++)
            if (abs(sq[i] - sq[plane + i]) > 2 || abs(sq[i] - sq[2 * plane + i]) > 2)
                st = xai_fail(XAI_EINVAL, "%s: a colour image, but the model takes 1 channel (%dx%dx%d); give a "
                              "greyscale image", path, s.c, s.h, s.w);
        if (st == XAI_OK) memcpy(dst, sq, plane);
    }
    free(sq);
    return st;
}

/* Appends p to the growing list *v of *n (capacity *cap). */
static void push(char ***v, int *n, int *cap, char *p)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        char **nv = realloc(*v, (size_t)*cap * sizeof *nv);
        XAI_CHECK(nv);
        *v = nv;
    }
    (*v)[(*n)++] = p;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return n[0] != '.' && dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

xai_status xai_image_dir_list(const char *dir, char ***files, int *n)
{
    *files = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return xai_fail(XAI_EIO, "%s: cannot open the folder (%s)", dir, strerror(errno));
    int cap = 0;
    struct dirent *e;
    xai_status s = XAI_OK;
    while ((e = readdir(d)) && s == XAI_OK) {
        if (!is_image_name(e->d_name)) continue;
        if (*n >= IMAGES_MAX) s = xai_fail(XAI_EINVAL, "%s: more than %d image files", dir, IMAGES_MAX);
        else push(files, n, &cap, xai_path_join(dir, e->d_name));
    }
    closedir(d);
    if (*n) qsort(*files, (size_t)*n, sizeof **files, by_name);
    return s;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

xai_status xai_dataset_from_images(xai_dataset *d, const char *const *paths, int npaths, xai_shape s, int nclasses)
{
    memset(d, 0, sizeof *d);
    char **files = NULL;
    int n = 0, cap = 0;
    xai_status st = XAI_OK;
    for (int i = 0; i < npaths && st == XAI_OK; i++) { /* folders expand to their images, by name */
        char **sub = NULL;
        int ns = 1;
        if (is_dir(paths[i]) && (st = xai_image_dir_list(paths[i], &sub, &ns)) != XAI_OK) break;
        if (n + ns > IMAGES_MAX) st = xai_fail(XAI_EINVAL, "--images: more than %d files", IMAGES_MAX);
        for (int j = 0; j < ns && st == XAI_OK; j++) push(&files, &n, &cap, sub ? sub[j] : xai_strdup(paths[i]));
        free(sub);
    }
    if (st == XAI_OK && n == 0) st = xai_fail(XAI_EINVAL, "--images: no PNG or JPEG files given");
    snprintf(d->name, sizeof d->name, "images");
    d->size = s.h;
    d->nclasses = nclasses;
    d->test = (xai_split){.n = n, .total = n, .shape = s, .files = files};
    d->test.images = xai_malloc((size_t)(n ? n : 1) * xai_shape_size(s));
    d->test.labels = xai_malloc((size_t)(n ? n : 1) * sizeof *d->test.labels);
    for (int i = 0; i < n && st == XAI_OK; i++) {
        d->test.labels[i] = -1; /* unknown */
        st = xai_image_file_load(files[i], s, d->test.images + (size_t)i * xai_shape_size(s));
    }
    if (st == XAI_OK) xai_sha256_hex(d->test.images, (size_t)n * xai_shape_size(s), d->sha256);
    if (st != XAI_OK) xai_dataset_free(d);
    return st;
}
