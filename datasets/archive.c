/* archive.c: decodes an image-folder .tgz (Imagenette/Imagewoof layout) straight from the archive stream.
 * One thread reads members in archive order while the others decode and resize them as OpenMP tasks. */
#include "datasets/datasets.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
/* OpenMP through _Pragma so that a build without OpenMP has no unknown-pragma warnings. */
#ifdef _OPENMP
#define OMP(x) _Pragma(#x)
#else
#define OMP(x)
#endif

/* Members per decode task: small enough to balance two cores, large enough
 * that task overhead is negligible. */
#define CHUNK 32
/* Chunks read ahead of the decoders at most: bounds the compressed bytes held
 * in memory (about 128 x 32 x 6 kB = 25 MB) when decoding is the slower side. */
#define MAX_AHEAD 128
/* No image of these datasets is anywhere near this; bigger members are refused. */
#define MEMBER_MAX ((size_t)64 << 20)
/* Archive limits (datasets/README.md): a small .tgz of many tiny members must not turn into
 * gigabytes of memory and cache. Imagenette, the largest, has 13,394 images. */
#define MAX_MEMBERS_DEFAULT 1000000ull       /* entries of any kind; XAI_ARCHIVE_MAX_MEMBERS */
#define MAX_IMAGES_DEFAULT 50000ull          /* images; XAI_ARCHIVE_MAX_IMAGES */
#define MAX_DECODED_DEFAULT (16ull << 30)    /* bytes of decoded images; XAI_ARCHIVE_MAX_DECODED */

typedef struct {
    unsigned long long members, images, decoded;
} limits_t;

static xai_status limit_from_env(const char *var, unsigned long long def, unsigned long long *out)
{
    const char *e = getenv(var);
    *out = def;
    if (!e || !*e) return XAI_OK;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 10);
    if (errno || *end || v == 0 || *e == '-')
        return xai_fail(XAI_EINVAL, "%s=%s: expected a positive whole number (default %llu)", var, e, def);
    *out = v;
    return XAI_OK;
}

static xai_status read_limits(limits_t *l)
{
    XAI_TRY(limit_from_env("XAI_ARCHIVE_MAX_MEMBERS", MAX_MEMBERS_DEFAULT, &l->members));
    XAI_TRY(limit_from_env("XAI_ARCHIVE_MAX_IMAGES", MAX_IMAGES_DEFAULT, &l->images));
    return limit_from_env("XAI_ARCHIVE_MAX_DECODED", MAX_DECODED_DEFAULT, &l->decoded);
}

/* Checked for every member before it is read: counts in 64-bit against the limits. */
static xai_status check_limits(const limits_t *l, unsigned long long members, unsigned long long images, size_t isz,
                               const char *path)
{
    if (members > l->members)
        return xai_fail(XAI_EFORMAT, "%s: more than %llu members; refusing the archive (raise XAI_ARCHIVE_MAX_MEMBERS "
                                     "if it is genuine)", path, l->members);
    if (images > l->images)
        return xai_fail(XAI_EFORMAT, "%s: more than %llu images; refusing the archive (raise XAI_ARCHIVE_MAX_IMAGES if "
                                     "it is genuine)", path, l->images);
    if (images * isz > l->decoded)
        return xai_fail(XAI_EFORMAT, "%s: %llu images of %zu bytes decoded exceed %llu bytes; refusing the archive "
                                     "(use a smaller --size or raise XAI_ARCHIVE_MAX_DECODED)",
                        path, images, isz, l->decoded);
    return XAI_OK;
}

typedef struct {
    uint8_t *bytes; /* compressed JPEG, freed once decoded */
    size_t len;
    char *name;
    int split; /* 0 train, 1 test (`val`) */
    int label;
    size_t dest; /* its row in the split, once the order is known */
    xai_status st;
    char err[200];
} member_t;

typedef struct {
    int n;
    member_t m[CHUNK];
    uint8_t *out; /* (CHUNK, 3, S, S) decoded images, mapped: see out_alloc */
    size_t out_len;
} chunk_t;

/* One decoded image on its way into a split. */
typedef struct {
    const char *name;
    member_t *m;
} ref_t;

/* Decoded images live in their own mappings, so that freeing a chunk once its images are moved
 * returns the memory at once (malloc might keep it in its heap, and the images would be resident
 * twice). */
static int out_alloc(chunk_t *c, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    c->out = p;
    c->out_len = len;
    return 1;
}

static void out_free(chunk_t *c)
{
    if (c->out) munmap(c->out, c->out_len);
    c->out = NULL;
}

static void decode_chunk(chunk_t *c, int size)
{
    size_t isz = (size_t)3 * size * size;
    for (int i = 0; i < c->n; i++) {
        member_t *m = &c->m[i];
        uint8_t *rgb;
        int w, h;
        m->st = xai_jpeg_decode_rgb(m->bytes, m->len, &rgb, &w, &h, m->err, sizeof m->err);
        if (m->st == XAI_OK) {
            xai_rgb_to_square(c->out + (size_t)i * isz, size, rgb, h, w);
            free(rgb);
        }
        free(m->bytes);
        m->bytes = NULL;
    }
}

static void chunk_free(chunk_t *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->m[i].bytes);
        free(c->m[i].name);
    }
    out_free(c);
    free(c);
}

static int cmp_ref(const void *a, const void *b) { return strcmp(((const ref_t *)a)->name, ((const ref_t *)b)->name); }

/* Sorts by member path (so the result does not depend on how the tarball was
 * packed), then applies a fixed pseudo-random permutation so that any prefix of
 * the split is a class-balanced sample (used by xai_fetch_opts.limit). Sets each
 * member's row (dest), labels and names; the pixels are moved by move_pixels. */
static xai_status gather(ref_t *r, size_t n, xai_split *out, int size, uint64_t seed, const char *path)
{
    size_t isz = (size_t)3 * size * size, n1 = n ? n : 1;
    memset(out, 0, sizeof *out);
    qsort(r, n, sizeof *r, cmp_ref);
    /* Names are normalised (classify_member), so "./a/b" and "a//b" are caught too. */
    for (size_t i = 1; i < n; i++)
        if (!strcmp(r[i - 1].name, r[i].name))
            return xai_fail(XAI_EFORMAT, "%s: member '%s' appears more than once; refusing the archive", path,
                            r[i].name);
    int32_t *idx = xai_malloc(sizeof(int32_t) * n1);
    for (size_t i = 0; i < n; i++) idx[i] = (int32_t)i;
    xai_rng rng;
    xai_rng_seed(&rng, seed);
    xai_rng_shuffle(&rng, idx, n);
    /* Not touched until move_pixels fills it as it frees the chunks: the decoded images are
     * resident once, not twice. */
    out->images = malloc(isz * n1);
    out->labels = malloc(sizeof(int32_t) * n1);
    out->files = calloc(n1, sizeof(char *));
    if (!out->images || !out->labels || !out->files) {
        free(out->images);
        free(out->labels);
        free(out->files);
        free(idx);
        memset(out, 0, sizeof *out);
        return xai_fail(XAI_ENOMEM, "out of memory for %zu decoded images", n);
    }
    out->n = out->total = (int)n;
    out->shape = (xai_shape){3, size, size};
    for (size_t i = 0; i < n; i++) {
        member_t *m = r[idx[i]].m;
        m->dest = i;
        out->labels[i] = m->label;
        out->files[i] = m->name; /* moved: the chunk no longer owns it */
        m->name = NULL;
    }
    free(idx);
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

/* Where a member goes: *split 0 train, 1 test, -1 not an image of the layout (skipped), its
 * label and its normalised name ("<top>/<split>/<class>/<image>", into norm of 4096 bytes).
 * Links, devices, '..' and absolute paths refuse the whole archive. */
static xai_status classify_member(struct archive_entry *e, const char *path, const char *const *class_ids,
                                  int nclasses, int *split, int *label, char *norm)
{
    char namebuf[4096], *comp[8];
    *split = -1;
    const char *name = archive_entry_pathname(e);
    if (!name) return xai_fail(XAI_EFORMAT, "%s: member without a name", path);
    int nc = split_path(path, name, namebuf, sizeof namebuf, comp, 8);
    if (nc < 0) return XAI_EFORMAT;
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR) return XAI_OK;
    if (archive_entry_hardlink(e))
        return xai_fail(XAI_EFORMAT, "%s: member '%s' is a hard link (to '%s'); refusing the archive", path, name,
                        archive_entry_hardlink(e));
    if (type == AE_IFLNK) {
        const char *t = archive_entry_symlink(e);
        return xai_fail(XAI_EFORMAT, "%s: member '%s' is a symbolic link (to '%s'); refusing the archive", path,
                        name, t ? t : "?");
    }
    if (type != AE_IFREG)
        return xai_fail(XAI_EFORMAT,
                        "%s: member '%s' is not a regular file (device, fifo or socket); refusing the archive", path,
                        name);
    /* Layout: <top>/<train|val>/<wnid>/<image>. Other files (the csv of
     * noisy labels, READMEs) are not images and are skipped. */
    int sp = nc >= 2 ? (!strcmp(comp[1], "train") ? 0 : !strcmp(comp[1], "val") ? 1 : -1) : -1;
    if (sp < 0) return XAI_OK;
    if (nc != 4)
        return xai_fail(XAI_EFORMAT, "%s: member '%s' is not at <top>/%s/<class id>/<image> as expected", path, name,
                        comp[1]);
    *label = -1;
    for (int c = 0; c < nclasses; c++)
        if (!strcmp(comp[2], class_ids[c])) *label = c;
    if (*label < 0)
        return xai_fail(XAI_EFORMAT,
                        "%s: member '%s' is in class folder '%s', which is not one of the %d expected (%s, ...)", path,
                        name, comp[2], nclasses, class_ids[0]);
    *split = sp;
    snprintf(norm, 4096, "%s/%s/%s/%s", comp[0], comp[1], comp[2], comp[3]);
    return XAI_OK;
}

/* The chunks read so far and the one being filled. */
typedef struct {
    chunk_t **chunks, *cur;
    int n, cap, ahead;
} reader_t;

static xai_status new_chunk(reader_t *rd, size_t isz, const char *path)
{
    rd->cur = xai_calloc(1, sizeof *rd->cur);
    if (!out_alloc(rd->cur, CHUNK * isz)) return xai_fail(XAI_ENOMEM, "%s: out of memory for decoded images", path);
    return XAI_OK;
}

/* Files the current chunk and hands it to a decode task. */
static xai_status dispatch(reader_t *rd, int size, const char *path)
{
    if (rd->n == rd->cap) {
        int cap = rd->cap ? 2 * rd->cap : 256;
        chunk_t **p = realloc(rd->chunks, sizeof *p * cap);
        if (!p) return xai_fail(XAI_ENOMEM, "%s: out of memory", path);
        rd->chunks = p;
        rd->cap = cap;
    }
    rd->chunks[rd->n++] = rd->cur;
    chunk_t *job = rd->cur;
    rd->cur = NULL;
    /* Each task writes only its own chunk: disjoint outputs, no locks. */
    OMP(omp task firstprivate(job, size))
    decode_chunk(job, size);
    return XAI_OK;
}

/* Reads members until the end or an error; runs on the calling thread (OpenMP
 * master) while the other threads decode the chunks it hands out as tasks. */
static xai_status read_all(struct archive *a, const char *path, const char *const *class_ids, int nclasses, int size,
                           chunk_t ***chunks_out, int *nchunks, xai_progress *pr)
{
    size_t isz = (size_t)3 * size * size;
    reader_t rd = {NULL, NULL, 0, 0, 0};
    limits_t lim;
    unsigned long long nmembers = 0, nimages = 0;
    struct archive_entry *e;
    xai_status s = read_limits(&lim);
    if (s != XAI_OK) goto done;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            s = xai_fail(XAI_EFORMAT, "%s: corrupt or truncated archive: %s", path,
                         archive_error_string(a) ? archive_error_string(a) : "read error");
            goto done;
        }
        int split, label = -1;
        char norm[4096];
        if ((s = classify_member(e, path, class_ids, nclasses, &split, &label, norm)) != XAI_OK) goto done;
        nimages += split >= 0;
        if ((s = check_limits(&lim, ++nmembers, nimages, isz, path)) != XAI_OK) goto done;
        if (split < 0) continue;
        if (!rd.cur && (s = new_chunk(&rd, isz, path)) != XAI_OK) goto done;
        const char *name = archive_entry_pathname(e);
        member_t *m = &rd.cur->m[rd.cur->n];
        if ((s = read_member(a, e, path, name, &m->bytes, &m->len)) != XAI_OK) goto done;
        m->name = xai_strdup(norm);
        m->split = split;
        m->label = label;
        if (++rd.cur->n < CHUNK) continue;
        if ((s = dispatch(&rd, size, path)) != XAI_OK) goto done;
        if (++rd.ahead >= MAX_AHEAD) {
            OMP(omp taskwait)
            rd.ahead = 0;
        }
        xai_progress_update(pr, (double)archive_filter_bytes(a, -1) / 1e6);
    }
    if (rd.cur && rd.cur->n) s = dispatch(&rd, size, path);
done:;
    OMP(omp taskwait)
    chunk_free(rd.cur); /* a chunk still being filled when an error struck */
    *chunks_out = rd.chunks;
    *nchunks = rd.n;
    return s;
}

/* Counts the decoded images per split in archive order, so that errors and skips are reported
 * in that order whatever thread met them; corrupt ones fail unless skip_bad. */
static xai_status tally(chunk_t *const *chunks, int nch, const char *path, int skip_bad, size_t cnt[2],
                        int *nskipped)
{
    for (int c = 0; c < nch; c++)
        for (int i = 0; i < chunks[c]->n; i++) {
            const member_t *m = &chunks[c]->m[i];
            if (m->st == XAI_OK) {
                cnt[m->split]++;
            } else if (!skip_bad) {
                return xai_fail(XAI_EFORMAT,
                                "%s: member '%s': corrupt JPEG (%s); rerun with --skip-bad to skip corrupt images",
                                path, m->name, m->err);
            } else {
                fprintf(stderr, "warning: %s: skipping corrupt JPEG '%s' (%s)\n", path, m->name, m->err);
                ++*nskipped;
            }
        }
    if (cnt[0] == 0 || cnt[1] == 0)
        return xai_fail(XAI_EFORMAT, "%s: no images found under <top>/%s/<class id>/ (found %zu train, %zu val)", path,
                        cnt[0] == 0 ? "train" : "val", cnt[0], cnt[1]);
    return XAI_OK;
}

/* Each chunk's images to their rows, in archive order, freeing every chunk's images once moved. */
static void move_pixels(chunk_t *const *chunks, int nch, int size, xai_split *split[2])
{
    size_t isz = (size_t)3 * size * size;
    for (int c = 0; c < nch; c++) {
        for (int i = 0; i < chunks[c]->n; i++) {
            const member_t *m = &chunks[c]->m[i];
            if (m->st == XAI_OK) memcpy(split[m->split]->images + m->dest * isz, chunks[c]->out + (size_t)i * isz, isz);
        }
        out_free(chunks[c]);
    }
}

/* The decoded images into the two splits, each sorted and put in its fixed order. */
static xai_status assemble(chunk_t *const *chunks, int nch, const size_t cnt[2], int size, const char *path,
                           xai_split *train, xai_split *test)
{
    ref_t *refs[2] = {xai_malloc(sizeof(ref_t) * (cnt[0] + 1)), xai_malloc(sizeof(ref_t) * (cnt[1] + 1))};
    size_t k[2] = {0, 0};
    for (int c = 0; c < nch; c++)
        for (int i = 0; i < chunks[c]->n; i++) {
            member_t *m = &chunks[c]->m[i];
            if (m->st != XAI_OK) continue;
            refs[m->split][k[m->split]++] = (ref_t){m->name, m};
        }
    xai_status s;
    if ((s = gather(refs[0], cnt[0], train, size, 0x7261696eULL, path)) != XAI_OK) goto done;
    if ((s = gather(refs[1], cnt[1], test, size, 0x76616cULL, path)) != XAI_OK) goto done;
    move_pixels(chunks, nch, size, (xai_split *[2]){train, test});
done:
    free(refs[0]);
    free(refs[1]);
    return s;
}

static xai_status open_tgz(struct archive **out, int fd, const char *path)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
        xai_status s = xai_fail(XAI_EFORMAT, "%s: cannot open as a gzip'd tar archive: %s", path,
                                archive_error_string(a) ? archive_error_string(a) : strerror(errno));
        archive_read_free(a);
        return s;
    }
    *out = a;
    return XAI_OK;
}

xai_status xai_tgz_decode(const char *path, const char *const *class_ids, int nclasses, int size, int skip_bad,
                          xai_split *train, xai_split *test, int *nskipped)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *nskipped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return xai_fail(XAI_ENOTFOUND, "%s: no such archive", path);
    xai_status s = xai_tgz_decode_fd(fd, path, class_ids, nclasses, size, skip_bad, train, test, nskipped);
    close(fd);
    return s;
}

xai_status xai_tgz_decode_fd(int fd, const char *path, const char *const *class_ids, int nclasses, int size,
                             int skip_bad, xai_split *train, xai_split *test, int *nskipped)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    *nskipped = 0;
    if (size < 1 || size > 4096) return xai_fail(XAI_EINVAL, "image size %d, expected 1..4096", size);
    struct stat st;
    if (fstat(fd, &st) != 0) return xai_fail(XAI_EIO, "%s: cannot stat: %s", path, strerror(errno));
    struct archive *a;
    XAI_TRY(open_tgz(&a, fd, path));
    xai_progress pr;
    char label[96];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(label, sizeof label, "decoding %.80s", base);
    xai_progress_start(&pr, label, (double)st.st_size / 1e6, "MB");
    chunk_t **chunks = NULL;
    int nch = 0;
    size_t cnt[2] = {0, 0};
    xai_status s = XAI_OK;
    /* The master thread (the caller, so that its error message is the one the
     * caller sees) reads; the others pick up decode tasks at the barrier. */
    OMP(omp parallel)
    OMP(omp master)
    s = read_all(a, path, class_ids, nclasses, size, &chunks, &nch, &pr);
    archive_read_free(a);
    if (s != XAI_OK) goto done;
    if ((s = tally(chunks, nch, path, skip_bad, cnt, nskipped)) != XAI_OK) goto done;
    char msg[128];
    snprintf(msg, sizeof msg, "%zu train + %zu val images%s", cnt[0], cnt[1],
             *nskipped ? " (corrupt ones skipped)" : "");
    xai_progress_end(&pr, msg);
    s = assemble(chunks, nch, cnt, size, path, train, test);
done:
    for (int c = 0; c < nch; c++) chunk_free(chunks[c]);
    free(chunks);
    if (s != XAI_OK) {
        xai_split_free(train);
        xai_split_free(test);
    }
    return s;
}
