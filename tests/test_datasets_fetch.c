/* test_datasets_fetch.c: end-to-end tests of xai_dataset_fetch/load against mirrors built at test time.
 * Each bad input must fail with its own error and leave no partial file behind; no network is used. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "datasets/dataset_priv.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <ftw.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/test_jpeg_fixture.h"

/* ---------------------------------------------------------------- helpers */

typedef struct {
    char root[256];   /* temp dir of this test */
    char mirror[300]; /* root/mirror */
    char data[300];   /* root/data */
} fx;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/xai-ds-test-XXXXXX");
    if (!mkdtemp(f->root)) return -1;
    snprintf(f->mirror, sizeof f->mirror, "%s/mirror", f->root);
    snprintf(f->data, sizeof f->data, "%s/data", f->root);
    mkdir(f->mirror, 0755);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void write_file(const char *path, const void *data, size_t n)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    assert_int_equal(xai_mkdirs(dir), XAI_OK);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Adds "<sha256>  <rel>" for mirror/rel to mirror/SHA256SUMS; with `lie`, a wrong hash. */
static void sums_add(const fx *f, const char *rel, int lie)
{
    char path[512], sha[65];
    snprintf(path, sizeof path, "%s/%s", f->mirror, rel);
    assert_int_equal(xai_hash_file(path, sha, NULL), XAI_OK);
    if (lie) sha[10] = sha[10] == '0' ? '1' : '0';
    snprintf(path, sizeof path, "%s/SHA256SUMS", f->mirror);
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fprintf(fp, "%s  %s\n", sha, rel);
    fclose(fp);
}

/* Regular files under dir (recursively); names of partial/temp files are
 * counted in *junk. */
static int count_files(const char *dir, int *junk)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) n += count_files(p, junk);
        else {
            n++;
            if (junk && (strstr(e->d_name, ".part") || strstr(e->d_name, ".tmp"))) ++*junk;
        }
    }
    closedir(d);
    return n;
}

static void assert_no_files(const fx *f)
{
    int junk = 0, n = count_files(f->data, &junk);
    if (n) fail_msg("data dir %s holds %d files (%d partial) after a failed fetch", f->data, n, junk);
}

static void assert_err(xai_status got, xai_status want, const char *needle)
{
    if (got != want) fail_msg("status %s, expected %s (message: %s)", xai_status_name(got), xai_status_name(want), xai_errmsg());
    if (needle && !strstr(xai_errmsg(), needle)) fail_msg("message '%s' lacks '%s'", xai_errmsg(), needle);
}

static xai_fetch_opts opts(const fx *f, const char *mirror)
{
    xai_fetch_opts o = {0};
    o.data_dir = f->data;
    o.mirror = mirror ? mirror : f->mirror;
    return o;
}

/* --------------------------------------------------------- MNIST fixtures */

static void write_gz(const char *path, const void *data, size_t n)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    assert_int_equal(xai_mkdirs(dir), XAI_OK);
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    gzclose(g);
}

static uint8_t pixel(int split, int i, int k) { return (uint8_t)(split * 101 + i * 13 + k * 7); }
static uint8_t label(int split, int i) { return (uint8_t)((i * 3 + split) % 10); }

/* IDX files under mirror/<ds>/: n images (claimed: `claim`, 0 = n) and nl labels. */
static void write_idx_pair(const fx *f, const char *ds, const char *img, const char *lab, int split, int n, int claim,
                           int nl)
{
    size_t len = 16 + (size_t)n * 784;
    uint8_t *p = malloc(len);
    uint32_t v[4] = {0x803, (uint32_t)(claim ? claim : n), 28, 28};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++) p[4 * i + b] = (uint8_t)(v[i] >> (24 - 8 * b));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 784; k++) p[16 + (size_t)i * 784 + k] = pixel(split, i, k);
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", f->mirror, ds, img);
    write_gz(path, p, len);
    free(p);
    uint8_t *l = malloc(8 + (size_t)nl);
    uint32_t w[2] = {0x801, (uint32_t)nl};
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 4; b++) l[4 * i + b] = (uint8_t)(w[i] >> (24 - 8 * b));
    for (int i = 0; i < nl; i++) l[8 + i] = label(split, i);
    snprintf(path, sizeof path, "%s/%s/%s", f->mirror, ds, lab);
    write_gz(path, l, 8 + (size_t)nl);
    free(l);
}

static const char *const MNIST_FILES[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

/* A small MNIST on the mirror: 20 train, 10 test images. bad: index of a file
 * whose SHA256SUMS entry lies (-1: none). */
static void make_mnist(const fx *f, const char *ds, int bad)
{
    write_idx_pair(f, ds, MNIST_FILES[0], MNIST_FILES[1], 0, 20, 0, 20);
    write_idx_pair(f, ds, MNIST_FILES[2], MNIST_FILES[3], 1, 10, 0, 10);
    for (int i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s/%s", ds, MNIST_FILES[i]);
        sums_add(f, rel, i == bad);
    }
}

/* ------------------------------------------------------------------ tests */

static void test_mnist_plain_mirror(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_OK, NULL);
    /* a plain-path mirror is read in place: only the cache is written */
    int junk = 0;
    assert_int_equal(count_files(f->data, &junk), 1);
    assert_int_equal(junk, 0);
    char cache[512];
    snprintf(cache, sizeof cache, "%s/mnist-28.h5", f->data);
    struct stat st1, st2;
    assert_int_equal(stat(cache, &st1), 0);

    xai_dataset d;
    assert_err(xai_dataset_load(&d, "mnist", &o), XAI_OK, NULL);
    assert_string_equal(d.name, "mnist");
    assert_int_equal(d.train.n, 20);
    assert_int_equal(d.test.n, 10);
    assert_int_equal(d.train.shape.c, 1);
    assert_int_equal(d.train.shape.h, 28);
    assert_int_equal(d.nclasses, 10);
    assert_string_equal(d.class_names[3], "3");
    assert_null(d.train.files);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(d.train.labels[i], label(0, i));
        for (int k = 0; k < 784; k += 97) assert_int_equal(d.train.images[(size_t)i * 784 + k], pixel(0, i, k));
    }
    for (int i = 0; i < 10; i++) assert_int_equal(d.test.labels[i], label(1, i));
    assert_non_null(strstr(d.source, f->mirror));
    assert_int_equal(strlen(d.sha256), 64);
    assert_true(d.std[0] > 0 && d.mean[0] > 0 && d.mean[0] < 1);
    xai_dataset_free(&d);

    /* subsets */
    o.limit = 3;
    assert_err(xai_dataset_load(&d, "mnist", &o), XAI_OK, NULL);
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.train.total, 20);
    assert_int_equal(d.test.n, 3);
    assert_int_equal(d.train.images[2 * 784 + 5], pixel(0, 2, 5));
    xai_dataset_free(&d);

    /* a second fetch finds the verified cache and leaves it alone */
    assert_err(xai_dataset_fetch("mnist", &o), XAI_OK, NULL);
    assert_int_equal(stat(cache, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino);
    assert_int_equal(st1.st_mtime, st2.st_mtime);

    /* info names the source files and their checksums */
    char *buf = NULL;
    size_t blen = 0;
    FILE *mf = open_memstream(&buf, &blen);
    assert_err(xai_dataset_info(mf, "mnist", &o), XAI_OK, NULL);
    fclose(mf);
    assert_non_null(strstr(buf, "train 20, test 10"));
    assert_non_null(strstr(buf, "train-images-idx3-ubyte.gz"));
    assert_non_null(strstr(buf, "source:      mirror "));
    free(buf);
}

/* Defect 3 of issue 12: the file that was verified is the file that is decoded. The hook swaps
 * the train labels on the mirror (by rename, as an attacker would) after verification; the
 * cache must hold the genuine labels, never the swapped ones under the genuine checksum. */
static const fx *swap_fx;
static void swap_labels(void)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/mnist/%s", swap_fx->mirror, MNIST_FILES[1]);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    uint8_t l[8 + 20] = {0, 0, 8, 1, 0, 0, 0, 20};
    for (int i = 0; i < 20; i++) l[8 + i] = (uint8_t)((label(0, i) + 1) % 10);
    write_gz(tmp, l, sizeof l);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_verified_file_is_decoded(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    xai_fetch_opts o = opts(f, NULL);
    swap_fx = f;
    xai_ds_after_verify_hook = swap_labels;
    xai_status s = xai_dataset_fetch("mnist", &o);
    xai_ds_after_verify_hook = NULL;
    assert_err(s, XAI_OK, NULL);
    xai_dataset d;
    assert_err(xai_dataset_load(&d, "mnist", &o), XAI_OK, NULL);
    for (int i = 0; i < 20; i++) assert_int_equal(d.train.labels[i], label(0, i));
    xai_dataset_free(&d);
}

static void test_mnist_file_url_mirror(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    char url[400];
    snprintf(url, sizeof url, "file://%s/", f->mirror);
    xai_fetch_opts o = opts(f, url);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_OK, NULL);
    /* downloads are kept (verified) beside the cache, no partial files */
    int junk = 0;
    assert_int_equal(count_files(f->data, &junk), 5);
    assert_int_equal(junk, 0);
    xai_dataset d;
    assert_err(xai_dataset_load(&d, "mnist", &o), XAI_OK, NULL);
    assert_int_equal(d.train.n, 20);
    assert_non_null(strstr(d.source, "file://"));
    xai_dataset_free(&d);
}

static void test_bad_sums_plain(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", 1);
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ECHECKSUM, "train-labels-idx1-ubyte.gz: checksum mismatch");
    assert_non_null(strstr(xai_errmsg(), "expected sha256 "));
    assert_non_null(strstr(xai_errmsg(), ", got "));
    assert_non_null(strstr(xai_errmsg(), "mirror "));
    /* the expected and the actual hash both appear */
    char path[512], sha[65];
    snprintf(path, sizeof path, "%s/mnist/%s", f->mirror, MNIST_FILES[1]);
    xai_hash_file(path, sha, NULL);
    assert_non_null(strstr(xai_errmsg(), sha));
    assert_no_files(f);
}

static void test_bad_sums_file_url(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", 2);
    char url[400];
    snprintf(url, sizeof url, "file://%s", f->mirror);
    xai_fetch_opts o = opts(f, url);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ECHECKSUM, "t10k-images-idx3-ubyte.gz: checksum mismatch");
    assert_non_null(strstr(xai_errmsg(), "download was deleted"));
    /* the two files before it verified and were kept; the bad one left nothing */
    int junk = 0;
    assert_int_equal(count_files(f->data, &junk), 2);
    assert_int_equal(junk, 0);
    char p[512];
    snprintf(p, sizeof p, "%s/mnist/%s", f->data, MNIST_FILES[2]);
    assert_false(xai_file_exists(p));
    snprintf(p, sizeof p, "%s/mnist-28.h5", f->data);
    assert_false(xai_file_exists(p));
}

static void test_mirror_without_sums(void **state)
{
    fx *f = *state;
    write_idx_pair(f, "mnist", MNIST_FILES[0], MNIST_FILES[1], 0, 5, 0, 5);
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENOTFOUND, "has no SHA256SUMS");
    char url[400];
    snprintf(url, sizeof url, "file://%s", f->mirror);
    o = opts(f, url);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENOTFOUND, "has no SHA256SUMS");
    o = opts(f, "/nonexistent/xai-mirror");
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENOTFOUND, "no such directory");
    assert_no_files(f);
}

static void test_missing_file_on_url_mirror(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    char p[512], url[400];
    snprintf(p, sizeof p, "%s/mnist/%s", f->mirror, MNIST_FILES[0]);
    remove(p);
    snprintf(url, sizeof url, "file://%s", f->mirror);
    xai_fetch_opts o = opts(f, url);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENOTFOUND, "no such file");
    assert_no_files(f);
    o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENOTFOUND, "missing");
}

static void test_resume(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    char src[512], part[512], url[400];
    snprintf(src, sizeof src, "%s/mnist/%s", f->mirror, MNIST_FILES[0]);
    char *data;
    size_t n;
    assert_int_equal(xai_read_file(src, &data, &n), XAI_OK);
    /* an interrupted earlier run left the first half */
    snprintf(part, sizeof part, "%s/mnist/%s.part", f->data, MNIST_FILES[0]);
    write_file(part, data, n / 2);
    /* and a .part of another file that does not match at all */
    char part2[512];
    snprintf(part2, sizeof part2, "%s/mnist/%s.part", f->data, MNIST_FILES[2]);
    write_file(part2, "garbage", 7);
    snprintf(url, sizeof url, "file://%s", f->mirror);
    xai_fetch_opts o = opts(f, url);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_OK, NULL);
    char dst[512];
    snprintf(dst, sizeof dst, "%s/mnist/%s", f->data, MNIST_FILES[0]);
    char *got;
    size_t gn;
    assert_int_equal(xai_read_file(dst, &got, &gn), XAI_OK);
    assert_int_equal(gn, n);
    assert_memory_equal(got, data, n);
    int junk = 0;
    count_files(f->data, &junk);
    assert_int_equal(junk, 0);
    free(got);
    free(data);
}

static void test_idx_errors_via_mirror(void **state)
{
    fx *f = *state;
    /* a lying header with a correct checksum: verification passes, decoding refuses */
    write_idx_pair(f, "mnist", MNIST_FILES[0], MNIST_FILES[1], 0, 4, 60000, 4);
    write_idx_pair(f, "mnist", MNIST_FILES[2], MNIST_FILES[3], 1, 3, 0, 3);
    for (int i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "mnist/%s", MNIST_FILES[i]);
        sums_add(f, rel, 0);
    }
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_EFORMAT, "header says 60000 x 28 x 28");
    assert_non_null(strstr(xai_errmsg(), "train-images-idx3-ubyte.gz"));
    assert_no_files(f);
}

static void test_label_count_mismatch(void **state)
{
    fx *f = *state;
    write_idx_pair(f, "mnist", MNIST_FILES[0], MNIST_FILES[1], 0, 6, 0, 5);
    write_idx_pair(f, "mnist", MNIST_FILES[2], MNIST_FILES[3], 1, 3, 0, 3);
    for (int i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "mnist/%s", MNIST_FILES[i]);
        sums_add(f, rel, 0);
    }
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_EFORMAT, "holds 5 labels but");
    assert_no_files(f);
}

static void test_system_copy_verified(void **state)
{
    fx *f = *state;
    /* The mirror has MNIST only, so fashion-mnist falls through to the
     * "system copy", whose decompressed contents are not the official ones. */
    make_mnist(f, "mnist", -1);
    char sys[280];
    snprintf(sys, sizeof sys, "%s/system", f->root);
    char saved[300];
    snprintf(saved, sizeof saved, "%s", f->mirror);
    snprintf(f->mirror, sizeof f->mirror, "%s", sys);
    write_idx_pair(f, "fashion-mnist", MNIST_FILES[0], MNIST_FILES[1], 0, 4, 0, 4);
    write_idx_pair(f, "fashion-mnist", MNIST_FILES[2], MNIST_FILES[3], 1, 3, 0, 3);
    snprintf(f->mirror, sizeof f->mirror, "%s", saved);
    setenv("XAI_SYSTEM_DATA_DIR", sys, 1);
    xai_fetch_opts o = opts(f, NULL);
    xai_status s = xai_dataset_fetch("fashion-mnist", &o);
    unsetenv("XAI_SYSTEM_DATA_DIR");
    assert_err(s, XAI_ECHECKSUM, "system copy");
    assert_non_null(strstr(xai_errmsg(), "train-images-idx3-ubyte.gz"));
    assert_non_null(strstr(xai_errmsg(), "expected sha256 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"));
    assert_non_null(strstr(xai_errmsg(), "decompressed"));
    assert_no_files(f);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("cifar10", &o), XAI_ENOTFOUND, "unknown dataset 'cifar10'");
    o.size = 64;
    assert_err(xai_dataset_fetch("mnist", &o), XAI_EINVAL, "28x28");
    o.size = 3;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_EINVAL, "image size 3");
    o.size = 0;
    assert_err(xai_dataset_info(stdout, "imagewoof", &o), XAI_ENOTFOUND, "not fetched yet");
    xai_dataset d;
    assert_err(xai_dataset_load_file(&d, "/nonexistent/x.h5", 0), XAI_ENOTFOUND, "/nonexistent/x.h5");
    assert_no_files(f);
}

static void test_network_unreachable(void **state)
{
    fx *f = *state;
    /* Port 9 on loopback: connection refused at once, no real network needed. */
    unsetenv("http_proxy"), unsetenv("HTTP_PROXY"), unsetenv("all_proxy"), unsetenv("ALL_PROXY");
    xai_fetch_opts o = opts(f, "http://127.0.0.1:9/mirror");
    assert_err(xai_dataset_fetch("mnist", &o), XAI_ENET, "cannot connect");
    assert_non_null(strstr(xai_errmsg(), "http://127.0.0.1:9/mirror/SHA256SUMS"));
    assert_no_files(f);
}

static void test_corrupt_cache_rebuilt(void **state)
{
    fx *f = *state;
    make_mnist(f, "mnist", -1);
    char cache[512], stale[600];
    snprintf(cache, sizeof cache, "%s/mnist-28.h5", f->data);
    write_file(cache, "not hdf5", 8);
    /* a temp file of a writer that no longer exists (pid beyond pid_max) */
    snprintf(stale, sizeof stale, "%s.tmp.99999999", cache);
    write_file(stale, "partial", 7);
    xai_dataset d;
    assert_err(xai_dataset_load_file(&d, cache, 0), XAI_EFORMAT, cache);
    xai_fetch_opts o = opts(f, NULL);
    assert_err(xai_dataset_fetch("mnist", &o), XAI_OK, NULL);
    assert_err(xai_dataset_load(&d, "mnist", &o), XAI_OK, NULL);
    assert_int_equal(d.train.n, 20);
    xai_dataset_free(&d);
    assert_false(xai_file_exists(stale));
    int junk = 0;
    assert_int_equal(count_files(f->data, &junk), 1);
}

/* ------------------------------------------------------ Imagenette fixtures */

/* A solid-colour JPEG: comps 3 (RGB), 1 (grey) or 4 (Adobe-style inverted CMYK). */
static uint8_t *solid_jpeg(int w, int h, int comps, const uint8_t *v, size_t *len)
{
    J_COLOR_SPACE cs = comps == 3 ? JCS_RGB : comps == 1 ? JCS_GRAYSCALE : JCS_CMYK;
    uint8_t *px = solid(w, h, comps, v);
    uint8_t *j = jpeg_encode(px, w, h, comps, cs, len);
    free(px);
    return j;
}

typedef struct {
    const char *name;
    int type;             /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO; 0: hard link */
    const void *data;
    size_t len;
    const char *link;
} member;

static void write_tgz(const char *path, const member *m, int n)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    assert_int_equal(xai_mkdirs(dir), XAI_OK);
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (int i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_perm(e, 0644);
        if (m[i].type == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].link);
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, (unsigned)m[i].type);
            if (m[i].type == AE_IFLNK) archive_entry_set_symlink(e, m[i].link);
            archive_entry_set_size(e, m[i].type == AE_IFREG ? (la_int64_t)m[i].len : 0);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (m[i].type == AE_IFREG && m[i].len) assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

#define TOP "imagenette2-160/"
static const uint8_t RED[3] = {220, 20, 30}, GREY = 140, CMYK_INV[4] = {255, 95, 95, 200};

/* The good members plus `extra` (may be NULL), written as mirror/imagenette/imagenette2-160.tgz and listed. */
static void make_imagenette(const fx *f, const member *extra, int nextra)
{
    size_t l1, l2, l3, l4;
    uint8_t *j1 = solid_jpeg(40, 30, 3, RED, &l1);      /* wide: centre-cropped */
    uint8_t *j2 = solid_jpeg(32, 32, 1, &GREY, &l2);    /* greyscale */
    uint8_t *j3 = solid_jpeg(24, 24, 4, CMYK_INV, &l3); /* CMYK */
    uint8_t *j4 = solid_jpeg(8, 12, 3, RED, &l4);       /* smaller than the target size */
    member m[16] = {
        {TOP, AE_IFDIR, NULL, 0, NULL},
        {TOP "noisy_imagenette.csv", AE_IFREG, "path,noisy_labels_0\n", 19, NULL},
        {TOP "train/", AE_IFDIR, NULL, 0, NULL},
        {TOP "train/n01440764/b.JPEG", AE_IFREG, j1, l1, NULL},
        {TOP "train/n02102040/a.JPEG", AE_IFREG, j2, l2, NULL},
        {TOP "train/n01440764/a.JPEG", AE_IFREG, j3, l3, NULL},
        {TOP "val/n03888257/c.JPEG", AE_IFREG, j4, l4, NULL},
        {TOP "val/n01440764/d.JPEG", AE_IFREG, j2, l2, NULL},
    };
    int n = 8;
    for (int i = 0; i < nextra; i++) m[n++] = extra[i];
    char path[512];
    snprintf(path, sizeof path, "%s/imagenette/imagenette2-160.tgz", f->mirror);
    write_tgz(path, m, n);
    sums_add(f, "imagenette/imagenette2-160.tgz", 0);
    free(j1), free(j2), free(j3), free(j4);
}

static void assert_near_px(int a, int b)
{
    if (abs(a - b) > 6) fail_msg("pixel %d, expected about %d", a, b);
}

static int find_file(const xai_split *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->files[i], name)) return i;
    fail_msg("%s not in split", name);
    return -1;
}

static void test_imagenette_good(void **state)
{
    fx *f = *state;
    make_imagenette(f, NULL, 0);
    char url[400];
    snprintf(url, sizeof url, "file://%s", f->mirror);
    xai_fetch_opts o = opts(f, url);
    o.size = 16;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_OK, NULL);
    xai_dataset d;
    assert_err(xai_dataset_load(&d, "imagenette", &o), XAI_OK, NULL);
    assert_int_equal(d.size, 16);
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.test.n, 2);
    assert_int_equal(d.train.shape.c, 3);
    assert_int_equal(d.train.shape.h, 16);
    assert_string_equal(d.class_ids[9], "n03888257");
    assert_string_equal(d.class_names[9], "parachute");
    assert_string_equal(d.class_names[0], "tench");
    size_t isz = 3 * 16 * 16;
    int i = find_file(&d.train, TOP "train/n01440764/b.JPEG");
    assert_int_equal(d.train.labels[i], 0);
    for (int c = 0; c < 3; c++) assert_near_px(d.train.images[i * isz + c * 256 + 17], RED[c]);
    i = find_file(&d.train, TOP "train/n02102040/a.JPEG");
    assert_int_equal(d.train.labels[i], 1);
    for (int c = 0; c < 3; c++) assert_near_px(d.train.images[i * isz + c * 256 + 100], GREY);
    i = find_file(&d.train, TOP "train/n01440764/a.JPEG");
    /* inverted CMYK (0, 160, 160, 55 ink) is RGB ~ (200, 75, 75) */
    assert_near_px(d.train.images[i * isz + 0 * 256 + 40], 200);
    assert_near_px(d.train.images[i * isz + 1 * 256 + 40], 75);
    i = find_file(&d.test, TOP "val/n03888257/c.JPEG");
    assert_int_equal(d.test.labels[i], 9);
    assert_near_px(d.test.images[i * isz + 255], RED[0]);
    xai_dataset_free(&d);
    /* the same archive gives the same order (sorted, then a fixed shuffle) */
    char cache[512];
    snprintf(cache, sizeof cache, "%s/imagenette-16.h5", f->data);
    xai_dataset d1;
    assert_err(xai_dataset_load_file(&d1, cache, 0), XAI_OK, NULL);
    remove(cache);
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_OK, NULL);
    xai_dataset d2;
    assert_err(xai_dataset_load_file(&d2, cache, 0), XAI_OK, NULL);
    for (int k = 0; k < d1.train.n; k++) assert_string_equal(d1.train.files[k], d2.train.files[k]);
    assert_memory_equal(d1.train.images, d2.train.images, d1.train.n * isz);
    assert_string_equal(d1.sha256, d2.sha256);
    xai_dataset_free(&d1);
    xai_dataset_free(&d2);
}

/* One bad member added to an otherwise good archive. */
static void bad_member(fx *f, member m, const char *needle)
{
    make_imagenette(f, &m, 1);
    xai_fetch_opts o = opts(f, NULL);
    o.size = 16;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_EFORMAT, needle);
    assert_non_null(strstr(xai_errmsg(), "imagenette2-160.tgz"));
    assert_no_files(f);
}

static void test_archive_dotdot(void **state) { bad_member(*state, (member){TOP "train/../../evil", AE_IFREG, "x", 1, NULL}, "'..' component"); }
static void test_archive_absolute(void **state) { bad_member(*state, (member){"/tmp/evil.JPEG", AE_IFREG, "x", 1, NULL}, "absolute path"); }
static void test_archive_symlink(void **state)
{
    bad_member(*state, (member){TOP "train/n01440764/link.JPEG", AE_IFLNK, NULL, 0, "/etc/passwd"}, "symbolic link");
}
static void test_archive_hardlink(void **state)
{
    bad_member(*state, (member){TOP "train/n01440764/hard.JPEG", 0, NULL, 0, TOP "train/n01440764/a.JPEG"}, "hard link");
}
static void test_archive_fifo(void **state) { bad_member(*state, (member){TOP "fifo", AE_IFIFO, NULL, 0, NULL}, "not a regular file"); }
static void test_archive_unknown_class(void **state)
{
    bad_member(*state, (member){TOP "val/n99999999/x.JPEG", AE_IFREG, "x", 1, NULL}, "class folder 'n99999999'");
}

static void test_archive_corrupt_jpeg(void **state)
{
    fx *f = *state;
    size_t n;
    uint8_t *j = solid_jpeg(32, 32, 3, RED, &n);
    member m = {TOP "train/n03000684/broken.JPEG", AE_IFREG, j, n / 3, NULL};
    make_imagenette(f, &m, 1);
    free(j);
    xai_fetch_opts o = opts(f, NULL);
    o.size = 16;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_EFORMAT, "broken.JPEG': corrupt JPEG");
    assert_non_null(strstr(xai_errmsg(), "--skip-bad"));
    assert_no_files(f);
    o.skip_bad = 1;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_OK, NULL);
    xai_dataset d;
    assert_err(xai_dataset_load(&d, "imagenette", &o), XAI_OK, NULL);
    assert_int_equal(d.train.n, 3); /* the broken one is left out */
    xai_dataset_free(&d);
}

/* Issue 12, defect 10: a member stored twice (also under another spelling of its path) was
 * counted twice. */
static void test_archive_duplicate(void **state)
{
    size_t n;
    uint8_t *j = solid_jpeg(16, 16, 3, RED, &n);
    bad_member(*state, (member){"./" TOP "train//n01440764/b.JPEG", AE_IFREG, j, n, NULL}, "appears more than once");
    free(j);
}

/* Issue 12, defect 9: member count, image count and decoded bytes are capped (overridable). */
static void test_archive_limits(void **state)
{
    fx *f = *state;
    make_imagenette(f, NULL, 0); /* 8 members, 5 images */
    xai_fetch_opts o = opts(f, NULL);
    o.size = 16; /* 768 bytes an image */
    const struct { const char *var, *val, *needle; } cases[] = {
        {"XAI_ARCHIVE_MAX_MEMBERS", "5", "more than 5 members"},
        {"XAI_ARCHIVE_MAX_IMAGES", "3", "more than 3 images"},
        {"XAI_ARCHIVE_MAX_DECODED", "3000", "exceed 3000 bytes"},
        {"XAI_ARCHIVE_MAX_IMAGES", "-1", "XAI_ARCHIVE_MAX_IMAGES=-1: expected a positive whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        setenv(cases[i].var, cases[i].val, 1);
        xai_status s = xai_dataset_fetch("imagenette", &o);
        unsetenv(cases[i].var);
        assert_true(s != XAI_OK);
        if (!strstr(xai_errmsg(), cases[i].needle)) fail_msg("'%s' lacks '%s'", xai_errmsg(), cases[i].needle);
        assert_no_files(f);
    }
    setenv("XAI_ARCHIVE_MAX_IMAGES", "5", 1);
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_OK, NULL);
    unsetenv("XAI_ARCHIVE_MAX_IMAGES");
}

static void test_bad_archive_bytes(void **state)
{
    fx *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/imagenette/imagenette2-160.tgz", f->mirror);
    write_file(path, "this is not a tarball at all", 28);
    sums_add(f, "imagenette/imagenette2-160.tgz", 0);
    xai_fetch_opts o = opts(f, NULL);
    o.size = 16;
    assert_err(xai_dataset_fetch("imagenette", &o), XAI_EFORMAT, "imagenette2-160.tgz");
    assert_no_files(f);
}

int main(void)
{
    xai_quiet = 1;
    /* The CI exports a mirror; these tests choose their own sources. */
    unsetenv("XAI_MIRROR");
    unsetenv("XAI_DATA_DIR");
    setenv("XAI_SYSTEM_DATA_DIR", "", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mnist_plain_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mnist_file_url_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sums_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sums_file_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_without_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_on_url_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idx_errors_via_mirror, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_count_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_copy_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_cache_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imagenette_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_dotdot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_hardlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_unknown_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_corrupt_jpeg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_archive_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_file_is_decoded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
