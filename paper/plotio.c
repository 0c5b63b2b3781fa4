/* plotio.c: the small pieces every plot-data writer and the gnuplot runner share: gnuplot literals,
 * numbers, text files, and output directories that are replaced whole. */
#include "paper/plotio.h"
#include "core/io.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void xai_gp_quote(xai_sbuf *b, const char *s)
{
    xai_sbuf_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'') xai_sbuf_printf(b, "''");
        else if (*s == '\n') xai_sbuf_printf(b, " ");
        else xai_sbuf_printf(b, "%c", *s);
    }
    xai_sbuf_printf(b, "'");
}

void xai_gp_str(xai_sbuf *b, const char *var, const char *value)
{
    xai_sbuf_printf(b, "%s = ", var);
    xai_gp_quote(b, value);
    xai_sbuf_printf(b, "\n");
}

void xai_gp_str_array(xai_sbuf *b, const char *var, char *const *v, int n)
{
    if (n <= 0) return; /* gnuplot has no empty arrays; the scripts test the count first */
    xai_sbuf_printf(b, "array %s[%d]\n", var, n);
    for (int i = 0; i < n; i++) {
        xai_sbuf_printf(b, "%s[%d] = ", var, i + 1);
        xai_gp_quote(b, v[i]);
        xai_sbuf_printf(b, "\n");
    }
}

/* %g without locale surprises, and NaN spelled as gnuplot reads it. */
void xai_gp_num(xai_sbuf *b, double v)
{
    if (isfinite(v)) xai_sbuf_printf(b, "%.7g", v);
    else xai_sbuf_printf(b, "NaN");
}

xai_status xai_plot_write_text(const char *dir, const char *name, const xai_sbuf *b)
{
    char *p = xai_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    xai_status st = XAI_OK;
    if (!f) st = xai_fail(XAI_EIO, "%s: cannot create: %s", p, strerror(errno));
    else {
        size_t n = b->n ? fwrite(b->s, 1, b->n, f) : 0;
        int bad = n != b->n;
        if (fclose(f) != 0 || bad) st = xai_fail(XAI_EIO, "%s: write failed (disk full?)", p);
    }
    free(p);
    return st;
}

/* Removes a flat directory of our own making (temporary or replaced output). */
void xai_plot_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = xai_path_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* A fresh temporary sibling of final: "<final>.tmp.<pid>". */
xai_status xai_plot_tmp_dir(char **tmp, const char *final)
{
    size_t n = strlen(final) + 32;
    *tmp = xai_malloc(n);
    snprintf(*tmp, n, "%s.tmp.%ld", final, (long)getpid());
    xai_plot_remove_dir(*tmp);
    /* Those of killed runs ("<final>.tmp.<pid>", "<final>.old.<pid>" of a dead pid) go too. */
    xai_remove_stale(final, ".tmp.", xai_plot_remove_dir);
    xai_remove_stale(final, ".old.", xai_plot_remove_dir);
    char *parent = xai_strdup(final);
    char *slash = strrchr(parent, '/');
    xai_status st = XAI_OK;
    if (slash && slash != parent) {
        *slash = 0;
        st = xai_mkdirs(parent);
    }
    free(parent);
    if (st == XAI_OK && mkdir(*tmp, 0777) != 0)
        st = xai_fail(XAI_EIO, "%s: cannot create directory: %s", *tmp, strerror(errno));
    if (st != XAI_OK) {
        free(*tmp);
        *tmp = NULL;
    }
    return st;
}

/* A name export or a figure script writes: done, *.dat, *.tsv, *.gp, *.png, *.pdf, *.svg. */
static int plot_file_name(const char *name)
{
    static const char *const ext[] = {".dat", ".tsv", ".gp", ".png", ".pdf", ".svg"};
    const char *dot = strrchr(name, '.');
    if (!strcmp(name, "done")) return 1;
    for (size_t i = 0; dot && dot != name && i < sizeof ext / sizeof *ext; i++)
        if (!strcmp(dot, ext[i])) return 1;
    return 0;
}

/* Whether final may be replaced whole (its files deleted): only when absent or a directory of plot
 * files. Anything else means the output names something else (the experiment itself as
 * `export --out`, a results root, a symbolic link whose target's files would go). */
static xai_status replaceable(const char *final)
{
    struct stat st;
    if (lstat(final, &st) != 0) return XAI_OK;
    if (S_ISLNK(st.st_mode))
        return xai_fail(XAI_EINVAL, "%s is a symbolic link: refusing to replace it with plot output (name the "
                        "directory itself)", final);
    if (!S_ISDIR(st.st_mode))
        return xai_fail(XAI_EINVAL, "%s exists and is not a directory: refusing to replace it with plot output",
                        final);
    DIR *d = opendir(final);
    if (!d) return xai_fail(XAI_EIO, "%s: cannot list the directory to replace: %s", final, strerror(errno));
    xai_status s = XAI_OK;
    struct dirent *e;
    while (s == XAI_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = xai_path_join(final, e->d_name);
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || !plot_file_name(e->d_name))
            s = xai_fail(XAI_EINVAL, "%s holds '%s', which is not plot output (done, *.dat, *.tsv, *.gp, *.png, "
                         "*.pdf, *.svg): refusing to replace the directory; choose another output", final, e->d_name);
        free(p);
    }
    closedir(d);
    return s;
}

/* Puts a finished temporary directory in place of final: readers see the old or the new
 * directory, never a mixture or a half-written file. */
xai_status xai_plot_commit_dir(const char *tmp, const char *final)
{
    XAI_TRY(replaceable(final));
    size_t n = strlen(final) + 32;
    char *old = xai_malloc(n);
    snprintf(old, n, "%s.old.%ld", final, (long)getpid());
    xai_plot_remove_dir(old);
    int had = rename(final, old) == 0;
    xai_status st = XAI_OK;
    if (rename(tmp, final) != 0) {
        st = xai_fail(XAI_EIO, "%s: cannot rename %s into place: %s", final, tmp, strerror(errno));
        if (had) rename(old, final);
    }
    if (had && st == XAI_OK) xai_plot_remove_dir(old);
    free(old);
    return st;
}


void xai_plot_note(FILE *log, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log ? log : stderr, fmt, ap);
    va_end(ap);
}

/* Upper-case display name of a dataset for figure titles. */
void xai_dataset_title(char *out, size_t cap, const char *d)
{
    static const struct {
        const char *n, *t;
    } t[] = {{"mnist", "MNIST"}, {"fashion-mnist", "Fashion-MNIST"}, {"imagenette", "Imagenette"}, {"imagewoof", "Imagewoof"}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(d, t[i].n)) {
            snprintf(out, cap, "%s", t[i].t);
            return;
        }
    /* Unknown names are shown as they are, cut to fit (a plain copy: GCC's
     * truncation warning fires on snprintf here under -O3). */
    size_t n = strlen(d) < cap ? strlen(d) : cap - 1;
    memcpy(out, d, n);
    out[n] = '\0';
}

