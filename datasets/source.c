/* source.c: where a dataset's files come from and how they are verified: a mirror listing them in
 * its SHA256SUMS, the system copy, or upstream; downloads land verified or not at all. */
#include "datasets/dataset_priv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SRC_NAMES[] = {"mirror", "system", "upstream"};

const char *xai_ds_source_kind_name(xai_ds_src_kind k) { return SRC_NAMES[k]; }

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

/* Looks the dataset's files up in the mirror's SHA256SUMS; *listed counts those found. */
static xai_status mirror_listing(xai_ds_source *src, const xai_ds_opts *r, int *listed)
{
    const xai_ds_def *d = r->def;
    char *sums;
    XAI_TRY(load_mirror_sums(r->mirror, &sums));
    char sums_name[1200];
    snprintf(sums_name, sizeof sums_name, "%s/SHA256SUMS", r->mirror);
    xai_status s = XAI_OK;
    *listed = 0;
    for (int i = 0; i < d->nfiles; i++) {
        char want[256];
        int found;
        snprintf(want, sizeof want, "%s/%s", d->name, d->files[i].file);
        if ((s = sums_lookup(sums, sums_name, want, src->expect[i], &found)) != XAI_OK) goto done;
        *listed += found;
    }
    if (*listed > 0 && *listed < d->nfiles)
        s = xai_fail(XAI_EFORMAT, "%s lists only %d of the %d files of %s; fix the mirror or unset it", sums_name,
                     *listed, d->nfiles, d->name);
done:
    free(sums);
    return s;
}

/* 1 when the system copy holds every file of the dataset. */
static int system_copy(xai_ds_source *src, const xai_ds_def *d)
{
    const char *sys = system_root();
    if (!d->system_subdir || !*sys) return 0;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/%s", sys, d->system_subdir);
    int have = 0;
    for (int i = 0; i < d->nfiles; i++) {
        snprintf(src->location[i], sizeof src->location[i], "%s/%s", dir, d->files[i].file);
        have += xai_file_exists(src->location[i]);
    }
    if (have != d->nfiles) return 0;
    src->kind = XAI_DS_SRC_SYSTEM;
    src->local = 1;
    snprintf(src->base, sizeof src->base, "%s", dir);
    return 1;
}

/* A mirror that lists the dataset but fails later is an error, not a reason to try the next
 * source: a mismatch must be looked at. */
xai_status xai_ds_choose_source(xai_ds_source *src, const xai_ds_opts *r)
{
    const xai_ds_def *d = r->def;
    memset(src, 0, sizeof *src);
    for (int i = 0; i < 4; i++) src->fd[i] = -1;
    if (*r->mirror) {
        int listed;
        XAI_TRY(mirror_listing(src, r, &listed));
        if (listed == d->nfiles) {
            src->kind = XAI_DS_SRC_MIRROR;
            src->local = !is_url(r->mirror);
            snprintf(src->base, sizeof src->base, "%s", r->mirror);
            for (int i = 0; i < d->nfiles; i++)
                snprintf(src->location[i], sizeof src->location[i], "%s/%s/%s", r->mirror, d->name, d->files[i].file);
            return XAI_OK;
        }
        xai_ds_say("%s: not on mirror %s, trying other sources\n", d->name, r->mirror);
    }
    if (system_copy(src, d)) return XAI_OK;
    src->kind = XAI_DS_SRC_UPSTREAM;
    snprintf(src->base, sizeof src->base, "%s", d->url_base);
    for (int i = 0; i < d->nfiles; i++)
        snprintf(src->location[i], sizeof src->location[i], "%s%s", d->url_base, d->files[i].file);
    return XAI_OK;
}

void xai_ds_describe_source(char *out, size_t cap, const xai_ds_source *src)
{
    switch (src->kind) {
    case XAI_DS_SRC_MIRROR: snprintf(out, cap, "mirror %.1000s", src->base); break;
    case XAI_DS_SRC_SYSTEM: snprintf(out, cap, "system copy %.1000s", src->base); break;
    default: snprintf(out, cap, "upstream %.1000s", src->base); break;
    }
}

static xai_status open_source(xai_ds_source *src, int i)
{
    src->fd[i] = open(src->path[i], O_RDONLY | O_CLOEXEC);
    if (src->fd[i] >= 0) return XAI_OK;
    return xai_fail(errno == ENOENT ? XAI_ENOTFOUND : XAI_EIO, "%s: cannot open: %s", src->path[i], strerror(errno));
}

/* Files read where they are: a plain-path mirror (verified against its SHA256SUMS) or the
 * system copy (hashed only; verified later on its decompressed payload). */
static xai_status use_local_files(xai_ds_source *src, const xai_ds_def *d, const char *what)
{
    for (int i = 0; i < d->nfiles; i++) {
        snprintf(src->path[i], sizeof src->path[i], "%s", src->location[i]);
        if (src->kind != XAI_DS_SRC_SYSTEM && !xai_file_exists(src->path[i]))
            return xai_fail(XAI_ENOTFOUND, "%s: listed in the mirror's SHA256SUMS but missing", src->path[i]);
        XAI_TRY(open_source(src, i));
        if (src->kind == XAI_DS_SRC_SYSTEM)
            XAI_TRY(xai_hash_fd(src->fd[i], src->path[i], src->sha256[i], NULL));
        else
            XAI_TRY(xai_verify_fd(src->fd[i], src->path[i], src->expect[i], NULL, what, src->sha256[i]));
    }
    return XAI_OK;
}

/* File i into dest: kept when an earlier run's download still verifies, else downloaded; either
 * way opened and verified once more on the descriptor the decoder will read. */
static xai_status download_file(xai_ds_source *src, const xai_ds_def *d, int i, const char *dest, const char *what)
{
    const char *esha = src->kind == XAI_DS_SRC_MIRROR ? src->expect[i] : d->files[i].sha256;
    const char *emd5 = src->kind == XAI_DS_SRC_MIRROR ? NULL : d->files[i].md5;
    if (xai_file_exists(dest)) {
        /* Downloaded by an earlier run; it was verified then, but perhaps against another source. */
        XAI_TRY(open_source(src, i));
        xai_status s = xai_verify_fd(src->fd[i], dest, esha, emd5, what, src->sha256[i]);
        if (s == XAI_OK) {
            xai_ds_say("%s: %s already downloaded and verified\n", d->name, d->files[i].file);
            return XAI_OK;
        }
        close(src->fd[i]);
        src->fd[i] = -1;
        if (s != XAI_ECHECKSUM) return s;
        xai_ds_say("%s: %s does not match %s; downloading it again\n", d->name, dest, what);
        remove(dest);
    }
    xai_ds_say("%s: downloading %s\n", d->name, src->location[i]);
    XAI_TRY(xai_download(src->location[i], dest, esha, emd5, what, src->kind == XAI_DS_SRC_UPSTREAM, src->sha256[i]));
    XAI_TRY(open_source(src, i));
    return xai_verify_fd(src->fd[i], dest, esha, emd5, what, src->sha256[i]);
}

void xai_ds_source_close(xai_ds_source *src)
{
    for (int i = 0; i < 4; i++) {
        if (src->fd[i] >= 0) close(src->fd[i]);
        src->fd[i] = -1;
    }
}

xai_status xai_ds_obtain_files(xai_ds_source *src, const xai_ds_opts *r)
{
    const xai_ds_def *d = r->def;
    char what[1024];
    xai_ds_describe_source(what, sizeof what, src);
    if (src->local) return use_local_files(src, d, what);
    char *dir = xai_path_join(r->data_dir, d->name);
    xai_status s;
    if ((s = xai_mkdirs(dir)) != XAI_OK) goto done;
    for (int i = 0; i < d->nfiles; i++) {
        char *dest = xai_path_join(dir, d->files[i].file);
        snprintf(src->path[i], sizeof src->path[i], "%s", dest);
        s = download_file(src, d, i, dest, what);
        free(dest);
        if (s != XAI_OK) goto done;
    }
done:
    free(dir);
    return s;
}
