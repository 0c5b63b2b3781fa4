/* dataset.c: the four datasets: where their files come from, how they are verified, decoded and cached.
 * Sources are tried in order mirror, system copy, upstream; nothing unverified is ever decoded. */
#include "core/h5.h"
#include "datasets/datasets.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jpeglib.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* --------------------------------------------------------------- registry */

typedef struct {
    const char *file;           /* upstream file name (also the name on mirrors) */
    const char *sha256, *md5;   /* upstream checksum of the file as published */
    const char *payload_sha256; /* Debian's copy: SHA-256 of the decompressed file */
} ds_file;

typedef struct {
    const char *name;
    int archive;               /* 0: four gzip'd IDX files; 1: one image-folder .tgz */
    const char *url_base;      /* upstream folder; file names are appended */
    int nfiles;
    ds_file files[4];          /* IDX: train images, train labels, test images, test labels */
    const char *system_subdir; /* folder under the system data dir, or NULL */
    const char *const *ids, *const *names;
    int default_size;
} ds_def;

static const char *const DIGIT_IDS[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const FASHION_NAMES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
/* WordNet ids in sorted order: label i is the i-th folder, as torchvision's ImageFolder numbers them. */
static const char *const NETTE_IDS[10] = {"n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                                          "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"};
static const char *const NETTE_NAMES[10] = {"tench", "English springer", "cassette player", "chain saw", "church",
                                            "French horn", "garbage truck", "gas pump", "golf ball", "parachute"};
static const char *const WOOF_IDS[10] = {"n02086240", "n02087394", "n02088364", "n02089973", "n02093754",
                                         "n02096294", "n02099601", "n02105641", "n02111889", "n02115641"};
static const char *const WOOF_NAMES[10] = {"Shih-Tzu", "Rhodesian ridgeback", "beagle", "English foxhound",
                                           "Border terrier", "Australian terrier", "golden retriever",
                                           "Old English sheepdog", "Samoyed", "dingo"};

static const ds_def DATASETS[] = {
    {"mnist", 0, "https://ossci-datasets.s3.amazonaws.com/mnist/", 4,
     {{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", NULL, NULL},
      {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", NULL, NULL},
      {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", NULL, NULL},
      {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", NULL, NULL}},
     NULL, DIGIT_IDS, DIGIT_IDS, 28},
    /* The dataset's own host serves plain HTTP only; the MD5s below guard integrity. */
    {"fashion-mnist", 0, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", 4,
     {{"train-images-idx3-ubyte.gz", NULL, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
      {"train-labels-idx1-ubyte.gz", NULL, "25c81989df183df01b3e8a0aad5dffbe",
       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
      {"t10k-images-idx3-ubyte.gz", NULL, "bef4ecab320f06d8554ea6380940ec79",
       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
      {"t10k-labels-idx1-ubyte.gz", NULL, "bb300cfdad3c16e7a12a480ee83cd310",
       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}},
     "fashion-mnist", DIGIT_IDS, FASHION_NAMES, 28},
    {"imagenette", 1, "https://s3.amazonaws.com/fast-ai-imageclas/", 1,
     {{"imagenette2-160.tgz", NULL, "c475f8f7617a200ba35b9facc48443c3", NULL}}, NULL, NETTE_IDS, NETTE_NAMES, 64},
    {"imagewoof", 1, "https://s3.amazonaws.com/fast-ai-imageclas/", 1,
     {{"imagewoof2-160.tgz", NULL, "3559b194123981a540b87132dbda412f", NULL}}, NULL, WOOF_IDS, WOOF_NAMES, 64},
};
#define NDATASETS (int)(sizeof DATASETS / sizeof *DATASETS)
#define CACHE_FORMAT "xai-dataset"
#define CACHE_VERSION 1
#define MIN_SIZE 8
#define MAX_SIZE 512

static const ds_def *find_def(const char *name)
{
    for (int i = 0; i < NDATASETS; i++)
        if (name && !strcmp(DATASETS[i].name, name)) return &DATASETS[i];
    return NULL;
}

int xai_dataset_known(const char *name) { return find_def(name) != NULL; }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (xai_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- options */

typedef struct {
    const ds_def *def;
    char data_dir[1024];
    char mirror[1024]; /* "" when none */
    int size;
    int skip_bad;
} opts_t;

static xai_status resolve_opts(opts_t *r, const char *name, const xai_fetch_opts *o)
{
    static const xai_fetch_opts none;
    if (!o) o = &none;
    memset(r, 0, sizeof *r);
    r->def = find_def(name);
    if (!r->def) return xai_fail(XAI_ENOTFOUND, "unknown dataset '%s'; expected one of: %s", name ? name : "(null)",
                                 XAI_DATASET_NAMES);
    const char *dd = o->data_dir && *o->data_dir ? o->data_dir : getenv("XAI_DATA_DIR");
    if (!dd || !*dd) dd = "./data";
    const char *mi = o->mirror ? o->mirror : getenv("XAI_MIRROR");
    if (!mi) mi = "";
    if (strlen(dd) >= sizeof r->data_dir - 64) return xai_fail(XAI_EINVAL, "data directory path too long: %s", dd);
    if (strlen(mi) >= sizeof r->mirror - 64) return xai_fail(XAI_EINVAL, "mirror path too long: %s", mi);
    snprintf(r->data_dir, sizeof r->data_dir, "%s", dd);
    snprintf(r->mirror, sizeof r->mirror, "%s", mi);
    /* "a/b/" and "a/b" name the same mirror; joined paths read better without the slash. */
    for (size_t n = strlen(r->mirror); n > 1 && r->mirror[n - 1] == '/'; n--) r->mirror[n - 1] = 0;
    r->skip_bad = o->skip_bad;
    if (!r->def->archive) {
        if (o->size != 0 && o->size != 28)
            return xai_fail(XAI_EINVAL, "%s: images are 28x28, size %d requested (the size option applies to imagenette and imagewoof)",
                            name, o->size);
        r->size = 28;
    } else {
        r->size = o->size ? o->size : r->def->default_size;
        if (r->size < MIN_SIZE || r->size > MAX_SIZE)
            return xai_fail(XAI_EINVAL, "%s: image size %d, expected %d..%d", name, r->size, MIN_SIZE, MAX_SIZE);
    }
    return XAI_OK;
}

static char *cache_path(const opts_t *r)
{
    char base[96];
    snprintf(base, sizeof base, "%s-%d.h5", r->def->name, r->size);
    return xai_path_join(r->data_dir, base);
}

xai_status xai_dataset_cache_path(char **path, const char *name, const xai_fetch_opts *o)
{
    opts_t r;
    XAI_TRY(resolve_opts(&r, name, o));
    *path = cache_path(&r);
    return XAI_OK;
}

/* ---------------------------------------------------------------- sources */

typedef enum { SRC_MIRROR, SRC_SYSTEM, SRC_UPSTREAM } src_kind;
static const char *const SRC_NAMES[] = {"mirror", "system", "upstream"};

typedef struct {
    src_kind kind;
    int local;               /* files are read where they are (plain-path mirror, system copy) */
    char base[1100];         /* mirror root, system folder or upstream URL folder */
    char expect[4][65];      /* mirror: SHA-256 listed in its SHA256SUMS */
    char location[4][1200];  /* where each file came from (path or URL) */
    char path[4][1200];      /* the verified local file to decode */
    char sha256[4][65];      /* SHA-256 of each source file as obtained */
    char payload[4][65];     /* system copy: SHA-256 of the decompressed payload */
} source_t;

static int is_url(const char *s) { return strstr(s, "://") != NULL; }

/* Finds "<dataset>/<file>" in a SHA256SUMS text ("<hex>  <path>" or
 * "<hex> *<path>" per line, as sha256sum writes). Returns 1 when listed. */
static xai_status sums_lookup(const char *text, const char *sums_name, const char *want, char hex[65], int *found)
{
    *found = 0;
    int line = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        line++;
        char buf[1200];
        if (n >= sizeof buf) return xai_fail(XAI_EFORMAT, "%s: line %d is too long", sums_name, line);
        memcpy(buf, p, n);
        buf[n] = 0;
        p = e ? e + 1 : p + n;
        while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
        if (n == 0 || buf[0] == '#') continue;
        int ok = n > 66 && buf[64] == ' ' && (buf[65] == ' ' || buf[65] == '*');
        for (int i = 0; ok && i < 64; i++) ok = isxdigit((unsigned char)buf[i]);
        if (!ok)
            return xai_fail(XAI_EFORMAT, "%s: line %d is not '<64 hex digits>  <file>': '%.80s'", sums_name, line, buf);
        const char *f = buf + 66;
        while (f[0] == '.' && f[1] == '/') f += 2;
        if (strcmp(f, want) != 0) continue;
        for (int i = 0; i < 64; i++) hex[i] = (char)tolower((unsigned char)buf[i]);
        hex[64] = 0;
        *found = 1;
    }
    return XAI_OK;
}

static xai_status load_mirror_sums(const char *mirror, char **text)
{
    char *u = xai_path_join(mirror, "SHA256SUMS");
    xai_status s;
    if (is_url(mirror)) {
        s = xai_download_text(u, text, NULL);
        if (s == XAI_ENOTFOUND)
            s = xai_fail(XAI_ENOTFOUND, "mirror %s has no SHA256SUMS (%s); a mirror must list the SHA-256 of its files",
                         mirror, u);
    } else {
        struct stat st;
        if (stat(mirror, &st) != 0 || !S_ISDIR(st.st_mode))
            s = xai_fail(XAI_ENOTFOUND, "mirror %s: no such directory (check --mirror / XAI_MIRROR)", mirror);
        else if (!xai_file_exists(u))
            s = xai_fail(XAI_ENOTFOUND, "mirror %s has no SHA256SUMS; a mirror must list the SHA-256 of its files",
                         mirror);
        else
            s = xai_read_file(u, text, NULL);
    }
    free(u);
    return s;
}

static const char *system_root(void)
{
    const char *e = getenv("XAI_SYSTEM_DATA_DIR");
    return e ? e : "/usr/share/datasets";
}

/* Picks the first source that has this dataset: a mirror listing it, the
 * system copy, upstream. A mirror that lists it but fails later is an error,
 * not a reason to try the next source: a mismatch must be looked at. */
static xai_status choose_source(source_t *src, const opts_t *r)
{
    const ds_def *d = r->def;
    memset(src, 0, sizeof *src);
    if (*r->mirror) {
        char *sums;
        XAI_TRY(load_mirror_sums(r->mirror, &sums));
        char sums_name[1200];
        snprintf(sums_name, sizeof sums_name, "%s/SHA256SUMS", r->mirror);
        int listed = 0;
        xai_status s = XAI_OK;
        for (int i = 0; i < d->nfiles && s == XAI_OK; i++) {
            char want[256];
            int found;
            snprintf(want, sizeof want, "%s/%s", d->name, d->files[i].file);
            s = sums_lookup(sums, sums_name, want, src->expect[i], &found);
            listed += found;
        }
        free(sums);
        XAI_TRY(s);
        if (listed == d->nfiles) {
            src->kind = SRC_MIRROR;
            src->local = !is_url(r->mirror);
            snprintf(src->base, sizeof src->base, "%s", r->mirror);
            for (int i = 0; i < d->nfiles; i++)
                snprintf(src->location[i], sizeof src->location[i], "%s/%s/%s", r->mirror, d->name, d->files[i].file);
            return XAI_OK;
        }
        if (listed > 0)
            return xai_fail(XAI_EFORMAT, "%s lists only %d of the %d files of %s; fix the mirror or unset it", sums_name,
                            listed, d->nfiles, d->name);
        say("%s: not on mirror %s, trying other sources\n", d->name, r->mirror);
    }
    const char *sys = system_root();
    if (d->system_subdir && *sys) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", sys, d->system_subdir);
        int have = 0;
        for (int i = 0; i < d->nfiles; i++) {
            snprintf(src->location[i], sizeof src->location[i], "%s/%s", dir, d->files[i].file);
            have += xai_file_exists(src->location[i]);
        }
        if (have == d->nfiles) {
            src->kind = SRC_SYSTEM;
            src->local = 1;
            snprintf(src->base, sizeof src->base, "%s", dir);
            return XAI_OK;
        }
    }
    src->kind = SRC_UPSTREAM;
    snprintf(src->base, sizeof src->base, "%s", d->url_base);
    for (int i = 0; i < d->nfiles; i++)
        snprintf(src->location[i], sizeof src->location[i], "%s%s", d->url_base, d->files[i].file);
    return XAI_OK;
}

static void describe_source(char *out, size_t cap, const source_t *src)
{
    switch (src->kind) {
    case SRC_MIRROR: snprintf(out, cap, "mirror %.1000s", src->base); break;
    case SRC_SYSTEM: snprintf(out, cap, "system copy %.1000s", src->base); break;
    default: snprintf(out, cap, "upstream %.1000s", src->base); break;
    }
}

/* Makes every file of the dataset available locally and verified. System
 * copies are verified later, on their decompressed payload, by decode_idx. */
static xai_status obtain_files(source_t *src, const opts_t *r)
{
    const ds_def *d = r->def;
    char what[1024];
    describe_source(what, sizeof what, src);
    if (src->kind == SRC_SYSTEM) {
        for (int i = 0; i < d->nfiles; i++) {
            snprintf(src->path[i], sizeof src->path[i], "%s", src->location[i]);
            XAI_TRY(xai_hash_file(src->path[i], src->sha256[i], NULL));
        }
        return XAI_OK;
    }
    if (src->local) {
        for (int i = 0; i < d->nfiles; i++) {
            snprintf(src->path[i], sizeof src->path[i], "%s", src->location[i]);
            if (!xai_file_exists(src->path[i]))
                return xai_fail(XAI_ENOTFOUND, "%s: listed in the mirror's SHA256SUMS but missing", src->path[i]);
            XAI_TRY(xai_verify_file(src->path[i], src->expect[i], NULL, what, src->sha256[i]));
        }
        return XAI_OK;
    }
    char *dir = xai_path_join(r->data_dir, d->name);
    xai_status s = xai_mkdirs(dir);
    for (int i = 0; i < d->nfiles && s == XAI_OK; i++) {
        const char *esha = src->kind == SRC_MIRROR ? src->expect[i] : d->files[i].sha256;
        const char *emd5 = src->kind == SRC_MIRROR ? NULL : d->files[i].md5;
        char *dest = xai_path_join(dir, d->files[i].file);
        snprintf(src->path[i], sizeof src->path[i], "%s", dest);
        if (xai_file_exists(dest)) {
            /* Downloaded by an earlier run; it was verified then, but perhaps
             * against another source. */
            s = xai_verify_file(dest, esha, emd5, what, src->sha256[i]);
            if (s == XAI_OK) {
                say("%s: %s already downloaded and verified\n", d->name, d->files[i].file);
                free(dest);
                continue;
            }
            if (s != XAI_ECHECKSUM) {
                free(dest);
                break;
            }
            say("%s: %s does not match %s; downloading it again\n", d->name, dest, what);
            remove(dest);
        }
        say("%s: downloading %s\n", d->name, src->location[i]);
        s = xai_download(src->location[i], dest, esha, emd5, what, src->kind == SRC_UPSTREAM, src->sha256[i]);
        free(dest);
    }
    free(dir);
    return s;
}

/* ---------------------------------------------------------------- decoding */

static void split_free(xai_split *s)
{
    if (s->files)
        for (int i = 0; i < s->n; i++) free(s->files[i]);
    free(s->files);
    free(s->images);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* Reads one IDX source file, checking the payload checksum for system copies
 * before anything is used. */
static xai_status read_idx(xai_idx *x, const source_t *src, int i, const ds_def *d)
{
    char *buf;
    size_t len;
    XAI_TRY(xai_read_file(src->path[i], &buf, &len));
    char payload[65];
    xai_status s = xai_idx_decode(x, buf, len, src->path[i], payload);
    free(buf);
    XAI_TRY(s);
    if (src->kind == SRC_SYSTEM && strcmp(payload, d->files[i].payload_sha256) != 0) {
        xai_idx_free(x);
        return xai_fail(XAI_ECHECKSUM,
                        "%s: checksum mismatch (source: system copy %s): expected sha256 %s of the decompressed "
                        "contents, got %s. Use --mirror to fetch from elsewhere, or set XAI_SYSTEM_DATA_DIR=\"\" to "
                        "ignore system copies",
                        src->path[i], src->base, d->files[i].payload_sha256, payload);
    }
    return XAI_OK;
}

static xai_status decode_idx_split(xai_split *out, const source_t *src, int fi, int fl, const ds_def *d, int nclasses)
{
    xai_idx im, lb;
    memset(out, 0, sizeof *out);
    XAI_TRY(read_idx(&im, src, fi, d));
    xai_status s = read_idx(&lb, src, fl, d);
    if (s != XAI_OK) {
        xai_idx_free(&im);
        return s;
    }
    if (im.ndims != 3 || im.dims[1] != 28 || im.dims[2] != 28)
        s = xai_fail(XAI_EFORMAT, "%s: expected 28x28 images (IDX magic 0x00000803), found %d dimensions (%d x %d x %d)",
                     src->path[fi], im.ndims, im.dims[0], im.dims[1], im.dims[2]);
    else if (lb.ndims != 1)
        s = xai_fail(XAI_EFORMAT, "%s: expected labels (IDX magic 0x00000801), found %d dimensions", src->path[fl],
                     lb.ndims);
    else if (lb.dims[0] != im.dims[0])
        s = xai_fail(XAI_EFORMAT, "%s holds %d labels but %s holds %d images", src->path[fl], lb.dims[0],
                     src->path[fi], im.dims[0]);
    for (int i = 0; s == XAI_OK && i < lb.dims[0]; i++)
        if (lb.data[i] >= nclasses)
            s = xai_fail(XAI_EFORMAT, "%s: label %d of item %d, expected 0..%d", src->path[fl], lb.data[i], i,
                         nclasses - 1);
    if (s == XAI_OK) {
        out->n = out->total = im.dims[0];
        out->shape = (xai_shape){1, 28, 28};
        out->images = im.data;
        im.data = NULL;
        out->labels = xai_malloc(sizeof(int32_t) * out->n);
        for (int i = 0; i < out->n; i++) out->labels[i] = lb.data[i];
    }
    xai_idx_free(&im);
    xai_idx_free(&lb);
    return s;
}

static void compute_stats(xai_dataset *ds)
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

static void decoder_string(char *out, size_t cap, const opts_t *r)
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
static void dataset_id(char hex[65], const opts_t *r, const char *decoder, const source_t *src)
{
    xai_sha256_ctx c;
    char line[1600];
    xai_sha256_init(&c);
    snprintf(line, sizeof line, "xai-dataset %d\nname %s\nsize %d\ndecoder %s\n", CACHE_VERSION, r->def->name, r->size,
             decoder);
    xai_sha256_update(&c, line, strlen(line));
    for (int i = 0; i < r->def->nfiles; i++) {
        snprintf(line, sizeof line, "%s %s\n", src->sha256[i], r->def->files[i].file);
        xai_sha256_update(&c, line, strlen(line));
    }
    xai_sha256_final(&c, hex);
}

/* ------------------------------------------------------------------ cache */

static xai_status write_strings(hid_t loc, const char *name, char *const *s, int n)
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

/* Reads the first `limit` (<= 0: all) strings of a 1-D fixed-length string dataset. */
static xai_status read_strings(hid_t loc, const char *name, int limit, const char *path, char ***out, int *count)
{
    uint64_t dims[8];
    if (xai_h5_dims(loc, name, dims) != 1) return xai_fail(XAI_EFORMAT, "%s: missing or malformed '%s'", path, name);
    int n = (int)dims[0];
    if (limit > 0 && limit < n) n = limit;
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t ft = H5Dget_type(ds);
    xai_status st = XAI_OK;
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) > 0) {
        st = xai_fail(XAI_EFORMAT, "%s: '%s' is not a fixed-length string array", path, name);
    } else {
        size_t w = H5Tget_size(ft);
        char *buf = xai_calloc((size_t)(n ? n : 1), w);
        hid_t mt = H5Tcopy(ft); /* same size, padding and character set: no conversion */
        hsize_t start = 0, cnt = (hsize_t)n;
        hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, &cnt, NULL);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        if (n > 0 && H5Dread(ds, mt, ms, fs, H5P_DEFAULT, buf) < 0)
            st = xai_fail(XAI_EFORMAT, "%s: cannot read '%s' (truncated or corrupt file?)", path, name);
        H5Sclose(fs);
        H5Sclose(ms);
        H5Tclose(mt);
        if (st == XAI_OK) {
            char **v = xai_malloc(sizeof(char *) * (n ? n : 1));
            for (int i = 0; i < n; i++) {
                size_t len = strnlen(buf + (size_t)i * w, w);
                v[i] = xai_malloc(len + 1);
                memcpy(v[i], buf + (size_t)i * w, len);
                v[i][len] = 0;
            }
            *out = v;
            *count = n;
        }
        free(buf);
    }
    H5Tclose(ft);
    H5Dclose(ds);
    return st;
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
        XAI_TRY(write_strings(f, name, s->files, s->n));
    }
    return XAI_OK;
}

static xai_status write_cache_body(hid_t f, const xai_dataset *ds, const opts_t *r, const source_t *src,
                                   const char *decoder, int nskipped)
{
    XAI_TRY(xai_h5_attr_str(f, "format", CACHE_FORMAT));
    XAI_TRY(xai_h5_attr_i64(f, "format_version", CACHE_VERSION));
    XAI_TRY(xai_h5_attr_str(f, "dataset", ds->name));
    XAI_TRY(xai_h5_attr_i64(f, "size", ds->size));
    XAI_TRY(xai_h5_attr_i64(f, "channels", ds->train.shape.c));
    XAI_TRY(xai_h5_attr_i64(f, "nclasses", ds->nclasses));
    XAI_TRY(xai_h5_attr_str(f, "source_kind", SRC_NAMES[src->kind]));
    XAI_TRY(xai_h5_attr_str(f, "source", ds->source));
    XAI_TRY(xai_h5_attr_str(f, "sha256", ds->sha256));
    XAI_TRY(xai_h5_attr_str(f, "decoder", decoder));
    XAI_TRY(xai_h5_attr_i64(f, "skipped_corrupt", nskipped));
    XAI_TRY(xai_h5_attr_str(f, "xai_version", xai_version()));
    double m[3], sd[3];
    for (int c = 0; c < ds->train.shape.c; c++) m[c] = ds->mean[c], sd[c] = ds->std[c];
    XAI_TRY(xai_h5_attr_f64v(f, "mean", m, ds->train.shape.c));
    XAI_TRY(xai_h5_attr_f64v(f, "std", sd, ds->train.shape.c));
    XAI_TRY(write_strings(f, "/classes/ids", ds->class_ids, ds->nclasses));
    XAI_TRY(write_strings(f, "/classes/names", ds->class_names, ds->nclasses));
    XAI_TRY(write_split(f, "train", &ds->train));
    XAI_TRY(write_split(f, "test", &ds->test));
    char *files[4], *locs[4], *shas[4];
    for (int i = 0; i < r->def->nfiles; i++) {
        files[i] = (char *)r->def->files[i].file;
        locs[i] = (char *)src->location[i];
        shas[i] = (char *)src->sha256[i];
    }
    XAI_TRY(write_strings(f, "/sources/files", files, r->def->nfiles));
    XAI_TRY(write_strings(f, "/sources/locations", locs, r->def->nfiles));
    XAI_TRY(write_strings(f, "/sources/sha256", shas, r->def->nfiles));
    return XAI_OK;
}

static xai_status write_cache(const char *path, const xai_dataset *ds, const opts_t *r, const source_t *src,
                              const char *decoder, int nskipped)
{
    xai_h5file f;
    XAI_TRY(xai_h5_create(&f, path));
    xai_status s = write_cache_body(f.id, ds, r, src, decoder, nskipped);
    if (s != XAI_OK) {
        char msg[2048];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        xai_h5_abort(&f);
        return xai_fail(s, "%s: %s", path, msg);
    }
    return xai_h5_commit(&f);
}

static void strv_free(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void xai_dataset_free(xai_dataset *d)
{
    if (!d) return;
    strv_free(d->class_ids, d->nclasses);
    strv_free(d->class_names, d->nclasses);
    split_free(&d->train);
    split_free(&d->test);
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
    s->images = xai_malloc(isz * (s->n ? s->n : 1));
    s->labels = xai_malloc(sizeof(int32_t) * (s->n ? s->n : 1));
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

static xai_status load_body(hid_t f, xai_dataset *d, const char *path, int limit)
{
    char fmt[64] = "";
    int64_t ver = 0, size = 0, ncl = 0;
    xai_h5_get_str(f, "format", fmt, sizeof fmt);
    xai_h5_get_i64(f, "format_version", &ver);
    if (strcmp(fmt, CACHE_FORMAT) != 0 || ver != CACHE_VERSION)
        return xai_fail(XAI_EFORMAT, "%s: not a dataset cache of format %s version %d (found '%s' version %lld); delete it and run 'xai fetch' again",
                        path, CACHE_FORMAT, CACHE_VERSION, fmt, (long long)ver);
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
    double m[4], sd[4];
    int c = d->train.shape.c;
    if (xai_h5_get_f64v(f, "mean", m, 4) != c || xai_h5_get_f64v(f, "std", sd, 4) != c)
        return xai_fail(XAI_EFORMAT, "%s: attributes mean/std missing or not %d values", path, c);
    for (int k = 0; k < c; k++) d->mean[k] = (float)m[k], d->std[k] = (float)sd[k];
    return XAI_OK;
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

/* A quick look at an existing cache: 1 when it is complete and of our format. */
static int cache_ok(const char *path, const opts_t *r, int *ntrain, int *ntest, char *source, size_t cap)
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
    int ok = !strcmp(fmt, CACHE_FORMAT) && ver == CACHE_VERSION && !strcmp(name, r->def->name) && size == r->size &&
             xai_h5_dims(f, "/train/images", a) == 4 && xai_h5_dims(f, "/test/images", b) == 4 &&
             xai_h5_exists(f, "/train/labels") && xai_h5_exists(f, "/test/labels");
    if (ok) *ntrain = (int)a[0], *ntest = (int)b[0];
    H5Fclose(f);
    return ok;
}

/* ------------------------------------------------------------------ fetch */

static xai_status build(const opts_t *r, const char *path)
{
    const ds_def *d = r->def;
    source_t *src = xai_calloc(1, sizeof *src);
    xai_dataset ds;
    memset(&ds, 0, sizeof ds);
    xai_status s = choose_source(src, r);
    char what[1024] = "";
    if (s == XAI_OK) {
        describe_source(what, sizeof what, src);
        say("%s: source: %s\n", d->name, what);
        s = xai_mkdirs(r->data_dir);
    }
    double t0 = xai_now();
    if (s == XAI_OK) s = obtain_files(src, r);
    if (s == XAI_OK) say("%s: source files verified in %.1f s\n", d->name, xai_now() - t0);
    int nskipped = 0;
    t0 = xai_now();
    if (s == XAI_OK && !d->archive) {
        s = decode_idx_split(&ds.train, src, 0, 1, d, 10);
        if (s == XAI_OK) s = decode_idx_split(&ds.test, src, 2, 3, d, 10);
    } else if (s == XAI_OK) {
        say("%s: decoding %s to %dx%d with %d thread%s\n", d->name, src->path[0], r->size, r->size, xai_threads(),
            xai_threads() > 1 ? "s" : "");
        s = xai_tgz_decode(src->path[0], d->ids, 10, r->size, r->skip_bad, &ds.train, &ds.test, &nskipped);
    }
    if (s == XAI_OK) {
        say("%s: decoded %d train + %d test images in %.1f s\n", d->name, ds.train.n, ds.test.n, xai_now() - t0);
        snprintf(ds.name, sizeof ds.name, "%s", d->name);
        ds.size = r->size;
        ds.nclasses = 10;
        ds.class_ids = xai_malloc(sizeof(char *) * 10);
        ds.class_names = xai_malloc(sizeof(char *) * 10);
        for (int i = 0; i < 10; i++) {
            ds.class_ids[i] = xai_strdup(d->ids[i]);
            ds.class_names[i] = xai_strdup(d->names[i]);
        }
        compute_stats(&ds);
        snprintf(ds.source, sizeof ds.source, "%s", what);
        char decoder[512];
        decoder_string(decoder, sizeof decoder, r);
        dataset_id(ds.sha256, r, decoder, src);
        t0 = xai_now();
        s = write_cache(path, &ds, r, src, decoder, nskipped);
    }
    if (s == XAI_OK)
        say("%s: wrote %s in %.1f s (%d train, %d test, %d classes, sha256 %.16s...)\n", d->name, path, xai_now() - t0,
            ds.train.n, ds.test.n, ds.nclasses, ds.sha256);
    xai_dataset_free(&ds);
    free(src);
    return s;
}

/* A fetch killed while writing leaves "<cache>.tmp.<pid>" (see xai_h5_create);
 * remove those whose writer is gone, so interrupted runs do not pile up. */
static void remove_stale_temps(const char *cache)
{
    char *dir = xai_strdup(cache), *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : cache;
    if (slash) *slash = 0;
    DIR *d = opendir(slash ? dir : ".");
    size_t nb = strlen(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, base, nb) != 0 || strncmp(e->d_name + nb, ".tmp.", 5) != 0) continue;
        char *end;
        long pid = strtol(e->d_name + nb + 5, &end, 10);
        /* kill(pid, 0) only asks whether the process exists */
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *p = xai_path_join(slash ? dir : ".", e->d_name);
        if (remove(p) == 0) say("removed %s, left by an interrupted run\n", p);
        free(p);
    }
    if (d) closedir(d);
    free(dir);
}

xai_status xai_dataset_fetch(const char *name, const xai_fetch_opts *o)
{
    opts_t r;
    XAI_TRY(resolve_opts(&r, name, o));
    char *path = cache_path(&r);
    int ntr = 0, nte = 0;
    char source[1024] = "";
    xai_status s = XAI_OK;
    if (xai_file_exists(path)) {
        if (cache_ok(path, &r, &ntr, &nte, source, sizeof source)) {
            say("%s: already fetched and verified: %s (%d train, %d test; from %s)\n", name, path, ntr, nte, source);
            free(path);
            return XAI_OK;
        }
        say("%s: %s is incomplete or not a dataset cache; rebuilding it\n", name, path);
    }
    remove_stale_temps(path);
    s = build(&r, path);
    free(path);
    return s;
}

xai_status xai_dataset_load(xai_dataset *d, const char *name, const xai_fetch_opts *o)
{
    memset(d, 0, sizeof *d);
    opts_t r;
    XAI_TRY(resolve_opts(&r, name, o));
    char *path = cache_path(&r);
    xai_status s = XAI_OK;
    if (!xai_file_exists(path)) s = xai_dataset_fetch(name, o);
    if (s == XAI_OK) s = xai_dataset_load_file(d, path, o ? o->limit : 0);
    if (s == XAI_OK && strcmp(d->name, name) != 0) {
        s = xai_fail(XAI_EFORMAT, "%s: holds dataset '%s', expected '%s'", path, d->name, name);
        xai_dataset_free(d);
    }
    free(path);
    return s;
}

/* ------------------------------------------------------------------- info */

static xai_status info_labels(hid_t f, const char *name, int nclasses, int *count, int *n, const char *path)
{
    uint64_t dims[8];
    if (xai_h5_dims(f, name, dims) != 1) return xai_fail(XAI_EFORMAT, "%s: missing '%s'", path, name);
    *n = (int)dims[0];
    int32_t *lb = xai_malloc(sizeof(int32_t) * (*n ? *n : 1));
    xai_status s = xai_h5_read(f, name, H5T_NATIVE_INT32, lb, 1, dims, path);
    for (int i = 0; s == XAI_OK && i < *n; i++) {
        if (lb[i] < 0 || lb[i] >= nclasses) s = xai_fail(XAI_EFORMAT, "%s: %s[%d] = %d out of range", path, name, i, lb[i]);
        else count[lb[i]]++;
    }
    free(lb);
    return s;
}

static xai_status info_body(FILE *out, hid_t f, const char *path)
{
    char name[64] = "", source[1024] = "", sha[80] = "", decoder[1024] = "", ver[128] = "";
    int64_t size = 0, ch = 0, skipped = 0;
    xai_h5_get_str(f, "dataset", name, sizeof name);
    xai_h5_get_str(f, "source", source, sizeof source);
    xai_h5_get_str(f, "sha256", sha, sizeof sha);
    xai_h5_get_str(f, "decoder", decoder, sizeof decoder);
    xai_h5_get_str(f, "xai_version", ver, sizeof ver);
    xai_h5_get_i64(f, "size", &size);
    xai_h5_get_i64(f, "channels", &ch);
    xai_h5_get_i64(f, "skipped_corrupt", &skipped);
    char **ids = NULL, **names = NULL, **files = NULL, **locs = NULL, **shas = NULL;
    int nid = 0, nnm = 0, nf = 0, nl = 0, ns = 0, ntr = 0, nte = 0;
    int *ctr = NULL, *cte = NULL;
    xai_status s = read_strings(f, "/classes/ids", 0, path, &ids, &nid);
    if (s == XAI_OK) s = read_strings(f, "/classes/names", 0, path, &names, &nnm);
    if (s == XAI_OK && nnm != nid) s = xai_fail(XAI_EFORMAT, "%s: %d class ids but %d names", path, nid, nnm);
    if (s == XAI_OK) {
        ctr = xai_calloc((size_t)nid + 1, sizeof(int));
        cte = xai_calloc((size_t)nid + 1, sizeof(int));
        s = info_labels(f, "/train/labels", nid, ctr, &ntr, path);
    }
    if (s == XAI_OK) s = info_labels(f, "/test/labels", nid, cte, &nte, path);
    if (s == XAI_OK) s = read_strings(f, "/sources/files", 0, path, &files, &nf);
    if (s == XAI_OK) s = read_strings(f, "/sources/locations", 0, path, &locs, &nl);
    if (s == XAI_OK) s = read_strings(f, "/sources/sha256", 0, path, &shas, &ns);
    if (s == XAI_OK && (nl != nf || ns != nf)) s = xai_fail(XAI_EFORMAT, "%s: inconsistent /sources arrays", path);
    if (s == XAI_OK) {
        double m[3] = {0}, sd[3] = {0};
        int nm = xai_h5_get_f64v(f, "mean", m, 3);
        xai_h5_get_f64v(f, "std", sd, 3);
        fprintf(out, "dataset:     %s\n", name);
        fprintf(out, "cache:       %s\n", path);
        fprintf(out, "image size:  %lld x %lld x %lld (C x H x W), uint8\n", (long long)ch, (long long)size,
                (long long)size);
        fprintf(out, "images:      train %d, test %d\n", ntr, nte);
        fprintf(out, "classes:     %d\n", nid);
        fprintf(out, "mean/std:   ");
        for (int c = 0; c < nm; c++) fprintf(out, " %.4f/%.4f", m[c], sd[c]);
        fprintf(out, " (train split, pixels in [0, 1])\n");
        fprintf(out, "source:      %s\n", source);
        for (int i = 0; i < nf; i++) fprintf(out, "  %-28s sha256 %s\n  %-28s from %s\n", files[i], shas[i], "", locs[i]);
        fprintf(out, "sha256:      %s (dataset id: sources + decoder settings)\n", sha);
        fprintf(out, "decoder:     %s\n", decoder);
        if (skipped) fprintf(out, "skipped:     %lld corrupt images\n", (long long)skipped);
        fprintf(out, "written by:  xai %s\n", ver);
        fprintf(out, "\n%-10s  %-22s %7s %7s\n", "class id", "name", "train", "test");
        for (int c = 0; c < nid; c++) fprintf(out, "%-10s  %-22s %7d %7d\n", ids[c], names[c], ctr[c], cte[c]);
        fprintf(out, "%-10s  %-22s %7d %7d\n", "total", "", ntr, nte);
    }
    strv_free(ids, nid);
    strv_free(names, nnm);
    strv_free(files, nf);
    strv_free(locs, nl);
    strv_free(shas, ns);
    free(ctr);
    free(cte);
    return s;
}

xai_status xai_dataset_info(FILE *out, const char *name, const xai_fetch_opts *o)
{
    opts_t r;
    XAI_TRY(resolve_opts(&r, name, o));
    char *path = cache_path(&r);
    xai_status s;
    if (!xai_file_exists(path)) {
        char sz[32] = "";
        if (r.def->archive && r.size != r.def->default_size) snprintf(sz, sizeof sz, " --size %d", r.size);
        s = xai_fail(XAI_ENOTFOUND, "%s: not fetched yet (no %s); run 'xai fetch%s %s'", name, path, sz, name);
        free(path);
        return s;
    }
    hid_t f;
    s = xai_h5_open(&f, path, 0);
    if (s == XAI_OK) {
        s = info_body(out, f, path);
        H5Fclose(f);
    }
    free(path);
    return s;
}
