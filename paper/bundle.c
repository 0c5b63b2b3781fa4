/* bundle.c: the artefact bundle results/xai-repro-artifact.zip (libzip): configs, per-experiment
 * summaries, figures, provenance records and the report, with a SHA-256 manifest of every member. */
#include "paper/publish.h"
#include "core/io.h"
#include "datasets/datasets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

typedef struct {
    char *src;    /* file on disk */
    char *member; /* name inside the zip */
} entry;

typedef struct {
    entry *v;
    int n, cap;
} entries;

static void add(entries *e, const char *src, const char *member)
{
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 32;
        entry *w = xai_malloc((size_t)cap * sizeof *w);
        if (e->n) memcpy(w, e->v, (size_t)e->n * sizeof *w);
        free(e->v);
        e->v = w;
        e->cap = cap;
    }
    e->v[e->n].src = xai_strdup(src);
    e->v[e->n].member = xai_strdup(member);
    e->n++;
}

static void entries_free(entries *e)
{
    for (int i = 0; i < e->n; i++) free(e->v[i].src), free(e->v[i].member);
    free(e->v);
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* Regular files of dir whose names pass keep(), each as "<prefix><name>". */
static void add_dir(entries *e, const char *dir, const char *prefix, int (*keep)(const char *))
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !keep(de->d_name)) continue;
        /* Our own temporary files (".tmp.<pid>") are never part of a bundle. */
        if (strstr(de->d_name, ".tmp.")) continue;
        char *src = xai_path_join(dir, de->d_name);
        if (is_regular(src)) {
            size_t n = strlen(prefix) + strlen(de->d_name) + 1;
            char *m = xai_malloc(n);
            snprintf(m, n, "%s%s", prefix, de->d_name);
            add(e, src, m);
            free(m);
        }
        free(src);
    }
    closedir(d);
}

static int keep_ini(const char *n) { return has_suffix(n, ".ini"); }
static int keep_figure(const char *n) { return has_suffix(n, ".png") || has_suffix(n, ".pdf"); }
static int keep_provenance(const char *n) { return !strncmp(n, "provenance", 10); }

static void add_file(entries *e, const char *dir, const char *name, const char *member)
{
    char *src = xai_path_join(dir, name);
    if (is_regular(src)) add(e, src, member);
    free(src);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->member, ((const entry *)b)->member);
}

/* Experiment names become member prefixes: they must stay inside the bundle. */
static int safe_name(const char *s)
{
    return s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static xai_status zip_error(const char *path, zip_t *z, const char *what)
{
    return xai_fail(XAI_EIO, "%s: %s: %s", path, what, z ? zip_strerror(z) : "libzip error");
}

/* Member times: $SOURCE_DATE_EPOCH when set, so that the same inputs give the same bytes;
 * otherwise each file's modification time. */
static time_t member_time(const char *src)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    if (e && *e) {
        char *end;
        long long t = strtoll(e, &end, 10);
        if (!*end && t >= 315532800) return (time_t)t; /* zip cannot store times before 1980 */
    }
    struct stat st;
    return stat(src, &st) == 0 ? st.st_mtime : time(NULL);
}

/* Every member of the bundle, sorted by member name. */
static void collect_entries(entries *e, const char *results_root, const char *repo, const char *const *exps, int n)
{
    char *cfg = xai_path_join(repo, "experiments");
    add_dir(e, cfg, "configs/", keep_ini);
    free(cfg);
    add_file(e, results_root, "report.md", "report.md");
    add_file(e, results_root, "report.html", "report.html");
    add_file(e, results_root, "README.md", "README.md");
    add_dir(e, results_root, "", keep_provenance);
    char *figs = xai_path_join(results_root, "figures");
    add_dir(e, figs, "figures/", keep_figure);
    free(figs);
    for (int i = 0; i < n; i++) {
        char *dir = xai_path_join(results_root, exps[i]);
        size_t pn = strlen(exps[i]) + 16;
        char *pre = xai_malloc(pn), *mem = xai_malloc(pn + 16);
        snprintf(pre, pn, "%s/", exps[i]);
        snprintf(mem, pn + 16, "%ssummary.csv", pre);
        add_file(e, dir, "summary.csv", mem);
        add_dir(e, dir, pre, keep_provenance);
        char *fd = xai_path_join(dir, "figures");
        snprintf(mem, pn + 16, "%sfigures/", pre);
        add_dir(e, fd, mem, keep_figure);
        free(fd);
        free(pre);
        free(mem);
        free(dir);
    }
    if (e->n > 1) qsort(e->v, e->n, sizeof *e->v, cmp_entry);
}

/* One member, read once: the bytes hashed into the manifest are the bytes stored. */
static xai_status add_member(zip_t *z, const char *tmp, const entry *m, xai_sbuf *manifest)
{
    char *data = NULL;
    size_t len = 0;
    XAI_TRY(xai_read_file(m->src, &data, &len));
    char hex[65];
    xai_sha256_hex(data, len, hex);
    xai_sbuf_printf(manifest, "%s  %s\n", hex, m->member);
    zip_source_t *src = zip_source_buffer(z, data, len, 1);
    if (!src) {
        free(data);
        return zip_error(tmp, z, "cannot buffer a member");
    }
    zip_int64_t idx = zip_file_add(z, m->member, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return zip_error(tmp, z, m->member);
    }
    zip_file_set_mtime(z, (zip_uint64_t)idx, member_time(m->src), 0);
    /* PNG and PDF are compressed already; deflating them again only costs time. */
    if (keep_figure(m->member)) zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    return XAI_OK;
}

static xai_status add_manifest(zip_t *z, const char *tmp, const xai_sbuf *manifest, const char *results_root)
{
    char *copy = xai_malloc(manifest->n ? manifest->n : 1);
    memcpy(copy, manifest->s, manifest->n);
    zip_source_t *src = zip_source_buffer(z, copy, manifest->n, 1);
    zip_int64_t idx = src ? zip_file_add(z, "MANIFEST.sha256", src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
        if (src) zip_source_free(src);
        else free(copy);
        return zip_error(tmp, z, "cannot add MANIFEST.sha256");
    }
    zip_file_set_mtime(z, (zip_uint64_t)idx, member_time(results_root), 0);
    return XAI_OK;
}

/* The zip written to tmp: the members, the manifest, closed and synced. */
static xai_status write_zip(const char *tmp, const entries *e, const char *results_root)
{
    int zerr = 0;
    zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        xai_status st = xai_fail(XAI_EIO, "%s: cannot create zip: %s", tmp, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return st;
    }
    xai_sbuf manifest = {0};
    xai_status st = XAI_OK;
    for (int i = 0; i < e->n; i++)
        if ((st = add_member(z, tmp, &e->v[i], &manifest)) != XAI_OK) goto done;
    if ((st = add_manifest(z, tmp, &manifest, results_root)) != XAI_OK) goto done;
    if (zip_close(z) != 0) {
        st = zip_error(tmp, z, "cannot write zip");
        goto done;
    }
    z = NULL;
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) fsync(fd), close(fd);
done:
    if (z) zip_discard(z);
    xai_sbuf_free(&manifest);
    return st;
}

xai_status xai_bundle_write(const char *results_root, const char *repo_root, const char *const *exps, int n)
{
    if (!results_root || n < 0 || (n > 0 && !exps))
        return xai_fail(XAI_EINVAL, "bundle: a results directory and a list of experiments are needed");
    struct stat rs;
    if (stat(results_root, &rs) != 0 || !S_ISDIR(rs.st_mode))
        return xai_fail(XAI_ENOTFOUND, "%s: no such results directory", results_root);
    for (int i = 0; i < n; i++)
        if (!safe_name(exps[i]))
            return xai_fail(XAI_EINVAL, "bundle: experiment name '%s' must be a plain directory name under %s", exps[i],
                            results_root);
#ifdef XAI_SOURCE_DIR
    const char *repo = repo_root ? repo_root : XAI_SOURCE_DIR;
#else
    const char *repo = repo_root ? repo_root : ".";
#endif
    entries e = {0};
    collect_entries(&e, results_root, repo, exps, n);
    if (!e.n) {
        entries_free(&e);
        return xai_fail(XAI_ENOTFOUND,
                        "%s: nothing to bundle (no report, summaries, figures, provenance records or configs in %s/"
                        "experiments)",
                        results_root, repo);
    }
    char *final = xai_path_join(results_root, "xai-repro-artifact.zip");
    size_t tn = strlen(final) + 32;
    char *tmp = xai_malloc(tn);
    snprintf(tmp, tn, "%s.tmp.%ld", final, (long)getpid());
    unlink(tmp);
    xai_remove_stale_tmp(final); /* zips of killed runs */
    xai_status st;
    if ((st = write_zip(tmp, &e, results_root)) != XAI_OK) goto done;
    if (rename(tmp, final) != 0) st = xai_fail(XAI_EIO, "%s: cannot rename into place: %s", final, strerror(errno));
done:
    if (st != XAI_OK) unlink(tmp);
    entries_free(&e);
    free(tmp);
    free(final);
    return st;
}
