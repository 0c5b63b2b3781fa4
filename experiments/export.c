/* export.c: `xai export`: plain-text plot data (gnuplot .dat/.tsv and meta.gp) from one experiment's
 * HDF5 results, and the gnuplot runs that turn them into the paper's figures (the scripts in paper/). */
#include "core/h5.h"
#include "experiments/commands.h"
#include "experiments/publish.h"
#include "datasets/datasets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --------------------------------------------------------------- helpers */

void xai_export_defaults(xai_export_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_correct = 3;
    o->n_wrong = 2;
}

/* A method name as a file-name part: anything but [A-Za-z0-9._-] becomes '_'. */
static void file_tag(char *out, size_t cap, const char *name)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < cap; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                 c == '_';
        out[k++] = ok ? c : '_';
    }
    out[k] = 0;
}

/* A gnuplot single-quoted string literal: only the quote itself needs escaping (doubled). */
static void gp_quote(xai_sbuf *b, const char *s)
{
    xai_sbuf_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'') xai_sbuf_printf(b, "''");
        else if (*s == '\n') xai_sbuf_printf(b, " ");
        else xai_sbuf_printf(b, "%c", *s);
    }
    xai_sbuf_printf(b, "'");
}

static void gp_str(xai_sbuf *b, const char *var, const char *value)
{
    xai_sbuf_printf(b, "%s = ", var);
    gp_quote(b, value);
    xai_sbuf_printf(b, "\n");
}

static void gp_str_array(xai_sbuf *b, const char *var, char *const *v, int n)
{
    if (n <= 0) return; /* gnuplot has no empty arrays; the scripts test the count first */
    xai_sbuf_printf(b, "array %s[%d]\n", var, n);
    for (int i = 0; i < n; i++) {
        xai_sbuf_printf(b, "%s[%d] = ", var, i + 1);
        gp_quote(b, v[i]);
        xai_sbuf_printf(b, "\n");
    }
}

/* %g without locale surprises, and NaN spelled as gnuplot reads it. */
static void put_num(xai_sbuf *b, double v)
{
    if (isfinite(v)) xai_sbuf_printf(b, "%.7g", v);
    else xai_sbuf_printf(b, "NaN");
}

static xai_status write_text(const char *dir, const char *name, const xai_sbuf *b)
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
static void remove_flat_dir(const char *dir)
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
static xai_status make_tmp_dir(char **tmp, const char *final)
{
    size_t n = strlen(final) + 32;
    *tmp = xai_malloc(n);
    snprintf(*tmp, n, "%s.tmp.%ld", final, (long)getpid());
    remove_flat_dir(*tmp);
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

/* Puts a finished temporary directory in place of final: readers see the old or the new
 * directory, never a mixture or a half-written file. */
static xai_status commit_dir(const char *tmp, const char *final)
{
    size_t n = strlen(final) + 32;
    char *old = xai_malloc(n);
    snprintf(old, n, "%s.old.%ld", final, (long)getpid());
    remove_flat_dir(old);
    int had = rename(final, old) == 0;
    xai_status st = XAI_OK;
    if (rename(tmp, final) != 0) {
        st = xai_fail(XAI_EIO, "%s: cannot rename %s into place: %s", final, tmp, strerror(errno));
        if (had) rename(old, final);
    }
    if (had && st == XAI_OK) remove_flat_dir(old);
    free(old);
    return st;
}

static void note(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *log, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log ? log : stderr, fmt, ap);
    va_end(ap);
}

/* One row of an (N, ...) float dataset, by hyperslab, so that only the chosen images are read. */
static xai_status read_row_f32(hid_t f, const char *name, int row, float *out, size_t expect, const char *path)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (ds < 0) return xai_fail(XAI_ENOTFOUND, "%s: missing dataset '%s'", path, name);
    hid_t sp = H5Dget_space(ds);
    int r = H5Sget_simple_extent_ndims(sp);
    hsize_t d[8], start[8] = {0}, count[8];
    xai_status st = XAI_OK;
    if (r < 1 || r > 8) st = xai_fail(XAI_EFORMAT, "%s: dataset '%s' has rank %d", path, name, r);
    else {
        H5Sget_simple_extent_dims(sp, d, NULL);
        size_t per = 1;
        for (int i = 1; i < r; i++) per *= d[i];
        if ((hsize_t)row >= d[0] || per != expect)
            st = xai_fail(XAI_EFORMAT, "%s: dataset '%s' has %llu rows of %zu values, expected row %d of %zu", path,
                          name, (unsigned long long)d[0], per, row, expect);
        else {
            start[0] = (hsize_t)row;
            count[0] = 1;
            for (int i = 1; i < r; i++) count[i] = d[i];
            H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
            hid_t ms = H5Screate_simple(r, count, NULL);
            if (H5Dread(ds, H5T_NATIVE_FLOAT, ms, sp, H5P_DEFAULT, out) < 0)
                st = xai_fail(XAI_EFORMAT, "%s: cannot read row %d of '%s' (truncated file?)", path, row, name);
            H5Sclose(ms);
        }
    }
    H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

/* Class names from the dataset cache (/classes/names of datasets/README.md), when it is on this
 * machine; NULL otherwise. Reads no images. */
static char **cache_class_names(const char *dataset, int size, int nclasses, const char *data_dir)
{
    if (!dataset[0] || !xai_dataset_known(dataset)) return NULL;
    xai_fetch_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.data_dir = data_dir;
    fo.size = strstr(dataset, "mnist") ? 0 : size;
    char *path = NULL;
    if (xai_dataset_cache_path(&path, dataset, &fo) != XAI_OK || !xai_file_exists(path)) {
        xai_clear_error();
        free(path);
        return NULL;
    }
    char **names = NULL;
    hid_t f;
    if (xai_h5_open(&f, path, 0) == XAI_OK) {
        uint64_t d[8];
        hid_t ds = xai_h5_dims(f, "/classes/names", d) == 1 && (int)d[0] == nclasses
                       ? H5Dopen2(f, "/classes/names", H5P_DEFAULT)
                       : -1;
        if (ds >= 0) {
            hid_t ft = H5Dget_type(ds);
            size_t w = H5Tget_size(ft);
            if (H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) <= 0 && w > 0 && w < 4096) {
                char *buf = xai_calloc((size_t)nclasses, w + 1);
                hid_t mt = H5Tcopy(H5T_C_S1);
                H5Tset_size(mt, w + 1);
                H5Tset_cset(mt, H5Tget_cset(ft));
                if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) {
                    names = xai_calloc((size_t)nclasses, sizeof *names);
                    for (int i = 0; i < nclasses; i++) names[i] = xai_strdup(buf + (size_t)i * (w + 1));
                }
                H5Tclose(mt);
                free(buf);
            }
            H5Tclose(ft);
            H5Dclose(ds);
        }
        H5Fclose(f);
    }
    xai_clear_error();
    free(path);
    return names;
}

/* ---------------------------------------------------------- heatmap grid */

typedef struct {
    int n, c, h, w, k;      /* images, shape, classes */
    int32_t *labels;        /* (N) */
    float *logits;          /* (N, K) */
    int64_t *indices;       /* (N) or NULL */
    double mean[8], std[8]; /* input normalisation per channel */
    int have_norm;
} attr_head;

static void attr_head_free(attr_head *a)
{
    free(a->labels);
    free(a->logits);
    free(a->indices);
}

static xai_status attr_head_read(attr_head *a, hid_t f, const char *path, const char *model_path)
{
    memset(a, 0, sizeof *a);
    uint64_t d[8];
    if (xai_h5_dims(f, "/inputs", d) != 4)
        return xai_fail(XAI_EFORMAT, "%s: /inputs is not (N, C, H, W) (see explainers/README.md)", path);
    a->n = (int)d[0], a->c = (int)d[1], a->h = (int)d[2], a->w = (int)d[3];
    uint64_t dl[8];
    if (xai_h5_dims(f, "/logits", dl) != 2 || dl[0] != d[0])
        return xai_fail(XAI_EFORMAT, "%s: /logits is not (N, K) with N = %d", path, a->n);
    a->k = (int)dl[1];
    uint64_t dn[1] = {d[0]};
    a->labels = xai_malloc((size_t)(a->n ? a->n : 1) * sizeof *a->labels);
    a->logits = xai_malloc((size_t)(a->n ? a->n : 1) * a->k * sizeof *a->logits);
    XAI_TRY(xai_h5_read(f, "/labels", H5T_NATIVE_INT32, a->labels, 1, dn, path));
    XAI_TRY(xai_h5_read(f, "/logits", H5T_NATIVE_FLOAT, a->logits, 2, dl, path));
    if (xai_h5_exists(f, "/indices")) {
        a->indices = xai_malloc((size_t)(a->n ? a->n : 1) * sizeof *a->indices);
        XAI_TRY(xai_h5_read(f, "/indices", H5T_NATIVE_INT64, a->indices, 1, dn, path));
    }
    hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
    int nm = xai_h5_get_f64v(root, "normalize_mean", a->mean, 8), ns = xai_h5_get_f64v(root, "normalize_std", a->std, 8);
    H5Gclose(root);
    a->have_norm = nm == a->c && ns == a->c;
    if (!a->have_norm && model_path && xai_file_exists(model_path)) {
        hid_t mf;
        if (xai_h5_open(&mf, model_path, 0) == XAI_OK) {
            if (xai_h5_exists(mf, "/model")) {
                hid_t g = H5Gopen2(mf, "/model", H5P_DEFAULT);
                nm = xai_h5_get_f64v(g, "normalize_mean", a->mean, 8);
                ns = xai_h5_get_f64v(g, "normalize_std", a->std, 8);
                a->have_norm = nm == a->c && ns == a->c;
                H5Gclose(g);
            }
            H5Fclose(mf);
        }
        xai_clear_error();
    }
    return XAI_OK;
}

/* The input as the eye sees it: x * std + mean gives pixels in [0, 1] (explainers/README.md).
 * Without a recorded normalisation each image is stretched to its own range. */
static void input_to_rgb(uint8_t *rgb /* (H, W, 3) */, const float *x /* (C, H, W) */, const attr_head *a)
{
    size_t hw = (size_t)a->h * a->w;
    int nc = a->c >= 3 ? 3 : 1;
    float lo = 0, hi = 1;
    if (!a->have_norm) {
        lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < (size_t)nc * hw; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
        if (!(hi > lo)) hi = lo + 1;
    }
    for (size_t p = 0; p < hw; p++)
        for (int ch = 0; ch < 3; ch++) {
            int c = nc == 3 ? ch : 0;
            double v = x[(size_t)c * hw + p];
            v = a->have_norm ? v * a->std[c] + a->mean[c] : (v - lo) / (hi - lo);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            rgb[p * 3 + ch] = (uint8_t)lrint(v * 255);
        }
}

static int argmax_row(const float *v, int k)
{
    int b = 0;
    for (int i = 1; i < k; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

typedef struct {
    int nrows;
    int image[64];   /* row of the attribution file */
    int label[64], pred[64], ok[64];
} example_rows;

/* The first n_correct correctly and first n_wrong wrongly classified images, in file order;
 * when one kind runs short the other fills in, so the grid keeps its size where it can. */
static void choose_rows(example_rows *r, const attr_head *a, int n_correct, int n_wrong)
{
    memset(r, 0, sizeof *r);
    int want = n_correct + n_wrong;
    if (want > 64) want = 64;
    int nc = 0, nw = 0, tc = 0, tw = 0;
    for (int i = 0; i < a->n; i++) {
        int ok = argmax_row(a->logits + (size_t)i * a->k, a->k) == a->labels[i];
        tc += ok, tw += !ok;
    }
    int take_c = n_correct < tc ? n_correct : tc, take_w = n_wrong < tw ? n_wrong : tw;
    while (take_c + take_w < want && (take_c < tc || take_w < tw)) {
        if (take_c < tc) take_c++;
        else take_w++;
    }
    int sel[64], ns = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < a->n && ns < 64; i++) {
            int p = argmax_row(a->logits + (size_t)i * a->k, a->k), ok = p == a->labels[i];
            if (pass == 0 && ok && nc < take_c) sel[ns++] = i, nc++;
            if (pass == 1 && !ok && nw < take_w) sel[ns++] = i, nw++;
        }
    for (int j = 0; j < ns; j++) {
        int i = sel[j];
        r->image[j] = i;
        r->label[j] = a->labels[i];
        r->pred[j] = argmax_row(a->logits + (size_t)i * a->k, a->k);
        r->ok[j] = r->pred[j] == r->label[j];
    }
    r->nrows = ns;
}

static const char *class_str(char *buf, size_t n, int c, char *const *names, int nnames)
{
    if (names && c >= 0 && c < nnames && names[c]) snprintf(buf, n, "%s", names[c]);
    else snprintf(buf, n, "%d", c);
    return buf;
}

/* Writes examples.tsv, input_<r>.dat, heatmap_<r>_<tag>.dat, heatmap_scale.tsv and the
 * figure-1 variables of meta.gp. */
static xai_status export_heatmaps(const char *tmp, const char *exp_dir, const xai_exp_summary *s,
                                  const xai_export_opts *o, xai_sbuf *meta, FILE *log)
{
    char *path = xai_path_join(exp_dir, "attributions.h5"), *mpath = xai_path_join(exp_dir, "model.h5");
    xai_status st = XAI_OK;
    hid_t f = -1;
    attr_head a;
    memset(&a, 0, sizeof a);
    char **names = NULL, **tags = NULL, **labels = NULL, **preds = NULL, **owned_classes = NULL;
    int nmaps = 0, nclass_names = 0;
    char *const *class_names = NULL;
    float *x = NULL, *map = NULL;
    double *sum = NULL;
    uint8_t *rgb = NULL;
    example_rows rows;
    memset(&rows, 0, sizeof rows);
    if (!xai_file_exists(path)) {
        note(log, "export: %s missing: no heatmap grid\n", path);
        xai_sbuf_printf(meta, "have_heatmaps = 0\n");
        goto done;
    }
    st = xai_h5_open(&f, path, 0);
    if (st == XAI_OK) st = attr_head_read(&a, f, path, mpath);
    if (st != XAI_OK) goto done;
    /* Columns: the methods asked for, else IG and LRP (the paper's comparison), else all. */
    names = xai_calloc((size_t)s->nmethods + (size_t)o->nmethods + 1, sizeof *names);
    if (o->methods) {
        for (int i = 0; i < o->nmethods; i++) {
            char obj[300];
            snprintf(obj, sizeof obj, "/attributions/%s", o->methods[i]);
            if (!xai_h5_exists(f, obj)) {
                st = xai_fail(XAI_ENOTFOUND, "%s: no attribution '%s' (methods in the file: see /attributions)", path,
                              o->methods[i]);
                goto done;
            }
            names[nmaps++] = xai_strdup(o->methods[i]);
        }
    } else {
        for (int pass = 0; pass < 2 && !nmaps; pass++)
            for (int i = 0; i < s->nmethods; i++) {
                const xai_method_summary *m = &s->methods[i];
                char obj[300];
                snprintf(obj, sizeof obj, "/attributions/%s", m->name);
                if (!xai_h5_exists(f, obj)) continue;
                if (pass == 0 && strcmp(m->kind, "ig") && strcmp(m->kind, "lrp")) continue;
                names[nmaps++] = xai_strdup(m->name);
            }
    }
    if (!nmaps || !a.n) {
        note(log, "export: %s has no attributions: no heatmap grid\n", path);
        xai_sbuf_printf(meta, "have_heatmaps = 0\n");
        goto done;
    }
    choose_rows(&rows, &a, o->n_correct, o->n_wrong);
    if (!rows.nrows) {
        xai_sbuf_printf(meta, "have_heatmaps = 0\n");
        goto done;
    }
    if (o->class_names) class_names = (char *const *)o->class_names, nclass_names = o->nclasses;
    else if ((owned_classes = cache_class_names(s->dataset, a.h, a.k, o->data_dir))) class_names = owned_classes, nclass_names = a.k;
    tags = xai_calloc((size_t)nmaps, sizeof *tags);
    for (int j = 0; j < nmaps; j++) {
        char t[160];
        file_tag(t, sizeof t, names[j]);
        /* Two specs that differ only in punctuation must not share a file. */
        for (int q = 0; q < j; q++)
            if (!strcmp(tags[q], t)) snprintf(t + strlen(t), sizeof t - strlen(t), "_%d", j + 1);
        tags[j] = xai_strdup(t);
    }
    size_t hw = (size_t)a.h * a.w, size = (size_t)a.c * hw;
    x = xai_malloc(size * sizeof *x);
    map = xai_malloc(size * sizeof *map);
    sum = xai_malloc(hw * sizeof *sum);
    rgb = xai_malloc(hw * 3);
    labels = xai_calloc((size_t)rows.nrows, sizeof *labels);
    preds = xai_calloc((size_t)rows.nrows, sizeof *preds);
    xai_sbuf ex = {0}, scale = {0};
    xai_sbuf_printf(&ex, "# example images of the heatmap grid, from %s\n", path);
    xai_sbuf_printf(&ex, "# row\timage\tdataset_index\tlabel\tpredicted\tcorrect\tlabel_name\tpredicted_name\n");
    xai_sbuf_printf(&scale, "# normaliser of each heatmap: max |R| of the channel-summed map (model output units), "
                            "and sum R over the whole map\n# row\tmethod\tmax_abs_R\tsum_R\n");
    for (int r = 0; st == XAI_OK && r < rows.nrows; r++) {
        int i = rows.image[r];
        char lb[96], pb[96], fname[256];
        class_str(lb, sizeof lb, rows.label[r], class_names, nclass_names);
        class_str(pb, sizeof pb, rows.pred[r], class_names, nclass_names);
        xai_sbuf_printf(&ex, "%d\t%d\t%lld\t%d\t%d\t%d\t%s\t%s\n", r + 1, i, a.indices ? (long long)a.indices[i] : (long long)i,
                        rows.label[r], rows.pred[r], rows.ok[r], lb, pb);
        labels[r] = xai_strdup(lb);
        preds[r] = xai_strdup(pb);
        st = read_row_f32(f, "/inputs", i, x, size, path);
        if (st != XAI_OK) break;
        input_to_rgb(rgb, x, &a);
        xai_sbuf b = {0};
        xai_sbuf_printf(&b, "# input image, example row %d: attribution-file row %d, true class %s, predicted %s\n",
                        r + 1, i, lb, pb);
        xai_sbuf_printf(&b, "# columns: x y red green blue (0-255); y counts image rows from the top; "
                            "gnuplot: using 1:2:3:4:5 with rgbimage\n");
        for (int y = 0; y < a.h; y++) {
            for (int xx = 0; xx < a.w; xx++) {
                const uint8_t *p = rgb + ((size_t)y * a.w + xx) * 3;
                xai_sbuf_printf(&b, "%d %d %d %d %d\n", xx, y, p[0], p[1], p[2]);
            }
            xai_sbuf_printf(&b, "\n");
        }
        snprintf(fname, sizeof fname, "input_%d.dat", r + 1);
        st = write_text(tmp, fname, &b);
        xai_sbuf_free(&b);
        for (int j = 0; st == XAI_OK && j < nmaps; j++) {
            char obj[300];
            snprintf(obj, sizeof obj, "/attributions/%s", names[j]);
            st = read_row_f32(f, obj, i, map, size, path);
            if (st != XAI_OK) break;
            /* Channels are summed (the relevance of a pixel), then the map is scaled by its own
             * max |R| so that every panel spans [-1, 1] with 0 at white. */
            double mx = 0, total = 0;
            for (size_t p = 0; p < hw; p++) {
                double v = 0;
                for (int c = 0; c < a.c; c++) v += map[(size_t)c * hw + p];
                sum[p] = v;
                total += v;
                if (fabs(v) > mx) mx = fabs(v);
            }
            if (!isfinite(mx)) {
                st = xai_fail(XAI_EFORMAT, "%s: %s row %d holds non-finite values", path, obj, i);
                break;
            }
            xai_sbuf_printf(&scale, "%d\t%s\t%.9g\t%.9g\n", r + 1, names[j], mx, total);
            xai_sbuf_printf(&b, "# %s relevance of example row %d (attribution-file row %d), summed over channels and "
                                "divided by max |R| = %.9g%s\n",
                            names[j], r + 1, i, mx, mx > 0 ? "" : " (an all-zero map is written as zeros)");
            xai_sbuf_printf(&b, "# matrix: %d rows (image rows, top first) x %d columns; gnuplot: matrix with image\n",
                            a.h, a.w);
            for (int y = 0; y < a.h; y++) {
                for (int xx = 0; xx < a.w; xx++) {
                    double v = mx > 0 ? sum[(size_t)y * a.w + xx] / mx : 0;
                    xai_sbuf_printf(&b, xx ? " %.6g" : "%.6g", v);
                }
                xai_sbuf_printf(&b, "\n");
            }
            snprintf(fname, sizeof fname, "heatmap_%d_%s.dat", r + 1, tags[j]);
            st = write_text(tmp, fname, &b);
            xai_sbuf_free(&b);
        }
    }
    if (st == XAI_OK) st = write_text(tmp, "examples.tsv", &ex);
    if (st == XAI_OK) st = write_text(tmp, "heatmap_scale.tsv", &scale);
    xai_sbuf_free(&ex);
    xai_sbuf_free(&scale);
    if (st == XAI_OK) {
        xai_sbuf_printf(meta, "# figure 1: heatmap grid (rows: examples.tsv; columns: input, then map_name)\n");
        /* Row labels ("true: X" over "pred: Y") are set horizontally: the scripts size the left margin
         * by the longest line. */
        size_t lc = 0;
        for (int r = 0; r < rows.nrows; r++) {
            size_t k = strlen(labels[r]) > strlen(preds[r]) ? strlen(labels[r]) : strlen(preds[r]);
            if (k + 6 > lc) lc = k + 6;
        }
        xai_sbuf_printf(meta, "have_heatmaps = 1\nn_rows = %d\nn_maps = %d\nimg_w = %d\nimg_h = %d\nimg_c = %d\n"
                              "label_chars = %zu\n",
                        rows.nrows, nmaps, a.w, a.h, a.c, lc);
        gp_str_array(meta, "map_name", names, nmaps);
        gp_str_array(meta, "map_tag", tags, nmaps);
        gp_str_array(meta, "row_true", labels, rows.nrows);
        gp_str_array(meta, "row_pred", preds, rows.nrows);
        xai_sbuf_printf(meta, "array row_ok[%d]\n", rows.nrows);
        for (int r = 0; r < rows.nrows; r++) xai_sbuf_printf(meta, "row_ok[%d] = %d\n", r + 1, rows.ok[r]);
    }
done:
    if (f >= 0) H5Fclose(f);
    attr_head_free(&a);
    for (int j = 0; names && j < nmaps; j++) free(names[j]);
    for (int j = 0; tags && j < nmaps; j++) free(tags[j]);
    for (int r = 0; labels && r < rows.nrows; r++) free(labels[r]), free(preds[r]);
    for (int c = 0; owned_classes && c < a.k; c++) free(owned_classes[c]);
    free(owned_classes);
    free(names);
    free(tags);
    free(labels);
    free(preds);
    free(x);
    free(map);
    free(sum);
    free(rgb);
    free(path);
    free(mpath);
    return st;
}

/* --------------------------------------------------------- metric curves */

/* mean and stderr (K + 1) of one order of one curve group; 0 when absent. */
static int read_curve(hid_t f, const char *grp, int k1, double *mean, double *se)
{
    char obj[400];
    snprintf(obj, sizeof obj, "%s/mean", grp);
    uint64_t d[8];
    if (xai_h5_dims(f, obj, d) != 1 || (int)d[0] != k1) return 0;
    uint64_t dk[1] = {(uint64_t)k1};
    if (xai_h5_read(f, obj, H5T_NATIVE_DOUBLE, mean, 1, dk, "") != XAI_OK) return xai_clear_error(), 0;
    snprintf(obj, sizeof obj, "%s/stderr", grp);
    if (xai_h5_dims(f, obj, d) != 1 || (int)d[0] != k1 ||
        xai_h5_read(f, obj, H5T_NATIVE_DOUBLE, se, 1, dk, "") != XAI_OK) {
        xai_clear_error();
        for (int i = 0; i < k1; i++) se[i] = NAN;
    }
    return 1;
}

static void curve_block(xai_sbuf *b, const char *title, const double *frac, int k1, const double *mm,
                        const double *ms, const double *lm, const double *ls)
{
    xai_sbuf_printf(b, "\n\n# %s\n", title);
    for (int k = 0; k < k1; k++) {
        put_num(b, frac[k]);
        const double *cols[4] = {mm, ms, lm, ls};
        for (int c = 0; c < 4; c++) xai_sbuf_printf(b, " "), put_num(b, cols[c][k]);
        xai_sbuf_printf(b, "\n");
    }
}

static xai_status export_pixelflip(const char *tmp, const char *exp_dir, const xai_exp_summary *s, xai_sbuf *meta,
                                   FILE *log)
{
    char *path = xai_path_join(exp_dir, "metrics.h5");
    xai_status st = XAI_OK;
    if (!xai_file_exists(path)) {
        note(log, "export: %s missing: no pixel-flipping curves, AOPC or IG step curves\n", path);
        xai_sbuf_printf(meta, "have_pixelflip = 0\n");
        free(path);
        return XAI_OK;
    }
    hid_t f;
    st = xai_h5_open(&f, path, 0);
    if (st != XAI_OK) {
        free(path);
        return st;
    }
    uint64_t d[8];
    int k1 = xai_h5_dims(f, "/steps/fraction", d) == 1 ? (int)d[0] : 0;
    double *frac = xai_malloc((size_t)(k1 + 1) * sizeof *frac);
    double *buf = xai_malloc((size_t)(k1 + 1) * 4 * sizeof *buf);
    double *mm = buf, *ms = buf + k1 + 1, *lm = buf + 2 * (k1 + 1), *ls = buf + 3 * (k1 + 1);
    uint64_t dk[1] = {(uint64_t)k1};
    int ok = k1 > 0 && xai_h5_read(f, "/steps/fraction", H5T_NATIVE_DOUBLE, frac, 1, dk, path) == XAI_OK;
    xai_clear_error();
    ok = ok && read_curve(f, "/random/logit", k1, mm, ms);
    if (!ok) {
        note(log, "export: %s lacks /steps/fraction or /random/logit/{mean,stderr}: no pixel-flipping figure\n", path);
        xai_sbuf_printf(meta, "have_pixelflip = 0\n");
    } else {
        xai_sbuf b = {0};
        char **cn = xai_calloc((size_t)s->nmethods + 1, sizeof *cn);
        int nc = 0;
        xai_sbuf_printf(&b, "# pixel flipping on the target logit, from %s: mean and standard error over %lld images\n",
                        path, (long long)s->metric_images);
        xai_sbuf_printf(&b, "# columns: fraction_removed morf_mean morf_se lerf_mean lerf_se\n");
        xai_sbuf_printf(&b, "# blocks (gnuplot index 0, 1, ...): the random order (control; MoRF = LeRF columns), then "
                            "one per method as listed in meta.gp curve_name");
        curve_block(&b, "random order (control)", frac, k1, mm, ms, mm, ms);
        cn[nc++] = xai_strdup("random");
        for (int i = 0; i < s->nmethods; i++) {
            char g1[300], g2[300];
            snprintf(g1, sizeof g1, "/methods/%s/morf/logit", s->methods[i].name);
            snprintf(g2, sizeof g2, "/methods/%s/lerf/logit", s->methods[i].name);
            if (!read_curve(f, g1, k1, mm, ms) || !read_curve(f, g2, k1, lm, ls)) continue;
            curve_block(&b, s->methods[i].name, frac, k1, mm, ms, lm, ls);
            cn[nc++] = xai_strdup(s->methods[i].name);
        }
        st = write_text(tmp, "pixelflip.dat", &b);
        xai_sbuf_free(&b);
        char **cc = xai_calloc((size_t)nc, sizeof *cc);
        for (int i = 0; i < nc; i++) cc[i] = (char *)xai_method_color(cn[i]);
        xai_sbuf_printf(meta, "# pixel flipping (pixelflip.dat blocks in curve_name order)\n");
        xai_sbuf_printf(meta, "have_pixelflip = 1\nn_curves = %d\nflip_images = %lld\nflip_perturb = ", nc,
                        (long long)s->metric_images);
        gp_quote(meta, s->perturb);
        xai_sbuf_printf(meta, "\n");
        gp_str_array(meta, "curve_name", cn, nc);
        gp_str_array(meta, "curve_color", cc, nc);
        for (int i = 0; i < nc; i++) free(cn[i]);
        free(cn);
        free(cc);
    }
    free(frac);
    free(buf);
    H5Fclose(f);
    free(path);
    return st;
}

static const char *rule_color(const char *rule)
{
    static const struct {
        const char *r, *c;
    } t[] = {{"left", "#1b9e77"}, {"right", "#d95f02"}, {"midpoint", "#7570b3"}, {"trapezoid", "#e7298a"},
             {"gauss", "#66a61e"}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(rule, t[i].r)) return t[i].c;
    return xai_method_color(rule);
}

static xai_status export_ig_steps(const char *tmp, const xai_exp_summary *s, xai_sbuf *meta)
{
    int nb = 0;
    for (int g = 0; g < s->nig; g++) nb += s->ig[g].nrules;
    if (!nb) {
        xai_sbuf_printf(meta, "have_ig_steps = 0\n");
        return XAI_OK;
    }
    xai_sbuf b = {0};
    char **names = xai_calloc((size_t)nb, sizeof *names), **colors = xai_calloc((size_t)nb, sizeof *colors);
    xai_sbuf_printf(&b, "# IG completeness against the number of steps, from %s/metrics.h5 /ig_steps\n", s->dir);
    xai_sbuf_printf(&b, "# relative error |sum(attr) - (f(x) - f(x'))| / |f(x) - f(x')| over the images\n");
    xai_sbuf_printf(&b, "# columns: steps median p90\n# blocks (gnuplot index): one per quadrature rule, as meta.gp rule_name");
    int k = 0;
    for (int g = 0; g < s->nig; g++) {
        const xai_ig_steps_summary *ig = &s->ig[g];
        for (int r = 0; r < ig->nrules; r++, k++) {
            char nm[200];
            if (s->nig > 1) snprintf(nm, sizeof nm, "%s %s", ig->method, ig->rule[r]);
            else snprintf(nm, sizeof nm, "%s", ig->rule[r]);
            names[k] = xai_strdup(nm);
            colors[k] = (char *)rule_color(ig->rule[r]);
            xai_sbuf_printf(&b, "\n\n# %s (method %s, baseline %s)\n", nm, ig->method, ig->baseline);
            for (int q = 0; q < ig->nsteps; q++) {
                xai_sbuf_printf(&b, "%lld ", (long long)ig->steps[q]);
                put_num(&b, ig->median[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, " ");
                put_num(&b, ig->p90[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, "\n");
            }
        }
    }
    xai_status st = write_text(tmp, "ig_completeness.dat", &b);
    xai_sbuf_free(&b);
    xai_sbuf_printf(meta, "# IG completeness vs steps (ig_completeness.dat blocks in rule_name order)\n");
    xai_sbuf_printf(meta, "have_ig_steps = 1\nn_rules = %d\nig_baseline = ", nb);
    gp_quote(meta, s->ig[0].baseline);
    xai_sbuf_printf(meta, "\n");
    gp_str_array(meta, "rule_name", names, nb);
    gp_str_array(meta, "rule_color", colors, nb);
    for (int i = 0; i < nb; i++) free(names[i]);
    free(names);
    free(colors);
    return st;
}

static xai_status export_tables(const char *tmp, const xai_exp_summary *s)
{
    xai_sbuf a = {0}, r = {0};
    xai_sbuf_printf(&a, "# AOPC on the target logit per method, from %s/metrics.h5 (mean and standard error over "
                        "images; ABPC = AUC(LeRF) - AUC(MoRF))\n", s->dir);
    xai_sbuf_printf(&a, "# method\tkind\taopc_morf\taopc_morf_se\taopc_lerf\taopc_lerf_se\tabpc\tabpc_se\n");
    if (isfinite(s->random_aopc)) {
        xai_sbuf_printf(&a, "random\tcontrol\t");
        put_num(&a, s->random_aopc), xai_sbuf_printf(&a, "\t"), put_num(&a, s->random_aopc_se);
        xai_sbuf_printf(&a, "\t");
        put_num(&a, s->random_aopc), xai_sbuf_printf(&a, "\t"), put_num(&a, s->random_aopc_se);
        xai_sbuf_printf(&a, "\tNaN\tNaN\n");
    }
    xai_sbuf_printf(&r, "# wall time per attribution, from %s/attributions.h5 @seconds_per_attribution\n", s->dir);
    xai_sbuf_printf(&r, "# method\tkind\tseconds_per_attribution\tms_per_attribution\n");
    for (int i = 0; i < s->nmethods; i++) {
        const xai_method_summary *m = &s->methods[i];
        double v[6] = {m->aopc_morf, m->aopc_morf_se, m->aopc_lerf, m->aopc_lerf_se, m->abpc, m->abpc_se};
        xai_sbuf_printf(&a, "%s\t%s", m->name, m->kind[0] ? m->kind : "-");
        for (int q = 0; q < 6; q++) xai_sbuf_printf(&a, "\t"), put_num(&a, v[q]);
        xai_sbuf_printf(&a, "\n");
        xai_sbuf_printf(&r, "%s\t%s\t", m->name, m->kind[0] ? m->kind : "-");
        put_num(&r, m->sec_per_attr), xai_sbuf_printf(&r, "\t"), put_num(&r, 1e3 * m->sec_per_attr);
        xai_sbuf_printf(&r, "\n");
    }
    xai_status st = write_text(tmp, "aopc.tsv", &a);
    if (st == XAI_OK) st = write_text(tmp, "runtime.tsv", &r);
    xai_sbuf_free(&a);
    xai_sbuf_free(&r);
    return st;
}

/* 1-based column of a history column by name (trainers/README.md), 0 when absent. */
static int hist_col(const xai_exp_summary *s, const char *name)
{
    const char *p = s->hist_columns;
    for (int c = 1; *p; c++) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == strlen(name) && !strncmp(p, name, n)) return c <= s->hist_cols ? c : 0;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static xai_status export_training(const char *tmp, const xai_exp_summary *s, xai_sbuf *meta, FILE *log)
{
    int ce = hist_col(s, "epoch"), ctl = hist_col(s, "train_loss"), cvl = hist_col(s, "val_loss");
    int cta = hist_col(s, "train_acc"), cva = hist_col(s, "val_acc");
    if (!s->history || !s->hist_rows || !ce || (!ctl && !cta)) {
        if (s->has_model) note(log, "export: %s/model.h5 has no usable /train/history: no training curves\n", s->dir);
        xai_sbuf_printf(meta, "have_training = 0\n");
        return XAI_OK;
    }
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "# training history per epoch, from %s/model.h5 /train/history (accuracies are fractions)\n",
                    s->dir);
    xai_sbuf_printf(&b, "# columns:");
    const char *p = s->hist_columns;
    for (int c = 0; c < s->hist_cols; c++) {
        const char *e = p ? strchr(p, ',') : NULL;
        if (p && *p) xai_sbuf_printf(&b, " %.*s", (int)(e ? e - p : (long)strlen(p)), p);
        else xai_sbuf_printf(&b, " col%d", c + 1);
        p = e ? e + 1 : NULL;
    }
    xai_sbuf_printf(&b, "\n");
    for (int r = 0; r < s->hist_rows; r++) {
        for (int c = 0; c < s->hist_cols; c++) {
            if (c) xai_sbuf_printf(&b, " ");
            put_num(&b, s->history[(size_t)r * s->hist_cols + c]);
        }
        xai_sbuf_printf(&b, "\n");
    }
    xai_status st = write_text(tmp, "training.dat", &b);
    xai_sbuf_free(&b);
    xai_sbuf_printf(meta, "# training curves (training.dat columns, 0: absent)\n");
    xai_sbuf_printf(meta, "have_training = 1\nn_epochs = %d\ncol_epoch = %d\ncol_train_loss = %d\ncol_val_loss = %d\n",
                    s->hist_rows, ce, ctl, cvl);
    xai_sbuf_printf(meta, "col_train_acc = %d\ncol_val_acc = %d\ntest_acc = ", cta, cva);
    put_num(meta, s->test_acc);
    xai_sbuf_printf(meta, "\n");
    return st;
}

/* Upper-case display name of a dataset for figure titles. */
static void dataset_title(char *out, size_t cap, const char *d)
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

xai_status xai_export_experiment(const char *exp_dir, const char *out_dir, const xai_export_opts *opts, FILE *log)
{
    xai_export_opts o;
    if (opts) o = *opts;
    else xai_export_defaults(&o);
    if (o.n_correct < 0 || o.n_wrong < 0 || o.n_correct + o.n_wrong > 64)
        return xai_fail(XAI_EINVAL, "export: %d correct + %d wrong example rows: expected 0..64 in all", o.n_correct,
                        o.n_wrong);
    xai_exp_summary s;
    xai_status st = xai_exp_summary_load(&s, exp_dir);
    if (st == XAI_OK && !s.has_model && !s.has_attr && !s.has_metrics)
        st = xai_fail(XAI_ENOTFOUND, "%s: none of model.h5, attributions.h5, metrics.h5 is there: nothing to export",
                      exp_dir);
    if (st != XAI_OK) {
        xai_exp_summary_free(&s);
        return st;
    }
    char *final = out_dir ? xai_strdup(out_dir) : xai_path_join(exp_dir, "plot"), *tmp = NULL;
    st = make_tmp_dir(&tmp, final);
    xai_sbuf meta = {0};
    if (st == XAI_OK) {
        char title[64];
        dataset_title(title, sizeof title, s.dataset);
        xai_sbuf_printf(&meta, "# meta.gp: gnuplot variables for paper/*.gp, written by xai export (xai %s) from %s\n",
                        xai_version(), exp_dir);
        gp_str(&meta, "exp_name", s.name);
        gp_str(&meta, "dataset", s.dataset);
        gp_str(&meta, "dataset_title", title);
        st = export_heatmaps(tmp, exp_dir, &s, &o, &meta, log);
    }
    if (st == XAI_OK) st = export_pixelflip(tmp, exp_dir, &s, &meta, log);
    if (st == XAI_OK) st = export_ig_steps(tmp, &s, &meta);
    if (st == XAI_OK) st = export_tables(tmp, &s);
    if (st == XAI_OK) st = export_training(tmp, &s, &meta, log);
    if (st == XAI_OK) st = write_text(tmp, "meta.gp", &meta);
    if (st == XAI_OK) {
        /* Completion marker for make-like pipelines (xai reproduce): present only in a whole export. */
        xai_sbuf done = {0};
        xai_sbuf_printf(&done, "xai export complete (xai %s) from %s\n", xai_version(), exp_dir);
        st = write_text(tmp, "done", &done);
        xai_sbuf_free(&done);
    }
    if (st == XAI_OK) st = commit_dir(tmp, final);
    if (st != XAI_OK && tmp) remove_flat_dir(tmp);
    xai_sbuf_free(&meta);
    free(tmp);
    free(final);
    xai_exp_summary_free(&s);
    return st;
}

/* ------------------------------------------------------------------ gnuplot */

const char *xai_paper_dir(void)
{
    const char *e = getenv("XAI_PAPER_DIR");
    if (e && *e) return e;
#ifdef XAI_SOURCE_DIR
    return XAI_SOURCE_DIR "/paper";
#else
    return "paper";
#endif
}

xai_status xai_gnuplot_find(char *path, size_t cap)
{
    const char *e = getenv("XAI_GNUPLOT");
    if (e && *e) {
        if (access(e, X_OK) == 0) {
            snprintf(path, cap, "%s", e);
            return XAI_OK;
        }
        return xai_fail(XAI_ENOTFOUND, "XAI_GNUPLOT=%s is not an executable file", e);
    }
    const char *p = getenv("PATH");
    char *dirs = xai_strdup(p && *p ? p : "/usr/bin:/bin");
    int found = 0;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *cand = xai_path_join(*d ? d : ".", "gnuplot");
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            snprintf(path, cap, "%s", cand);
            found = 1;
        }
        free(cand);
    }
    free(dirs);
    if (!found)
        return xai_fail(XAI_ENOTFOUND,
                        "gnuplot not found on PATH (%s): the figures need gnuplot 5 with the pngcairo and pdfcairo "
                        "terminals; install it with 'apt-get install gnuplot-nox' (or set XAI_GNUPLOT to its path)",
                        p ? p : "unset");
    return XAI_OK;
}

/* Tail of gnuplot's messages for an error: the lines that say what went wrong come last. */
static const char *tail(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > max ? s + n - max : s;
}

static xai_status run_gnuplot_in(const char *script, const char *data_dir, const char *out_dir, FILE *log)
{
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp));
    if (!xai_file_exists(script))
        return xai_fail(XAI_ENOTFOUND, "%s: gnuplot script missing (set XAI_PAPER_DIR to the repository's paper/)",
                        script);
    xai_sbuf e = {0};
    xai_sbuf_printf(&e, "data = ");
    gp_quote(&e, data_dir);
    xai_sbuf_printf(&e, "; out = ");
    gp_quote(&e, out_dir);
    int fd[2];
    if (pipe(fd) != 0) {
        xai_sbuf_free(&e);
        return xai_fail(XAI_EIO, "cannot create a pipe for gnuplot: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        xai_sbuf_free(&e);
        return xai_fail(XAI_EIO, "cannot start gnuplot: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) dup2(dn, 0);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        char *argv[] = {gp, "-e", e.s, (char *)script, NULL};
        execv(gp, argv);
        _exit(127);
    }
    close(fd[1]);
    xai_sbuf out = {0};
    char buf[4096];
    ssize_t r;
    while ((r = read(fd[0], buf, sizeof buf)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        xai_sbuf_printf(&out, "%.*s", (int)r, buf);
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    xai_status st = XAI_OK;
    const char *msg = out.s ? out.s : "";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *hint = strstr(msg, "unknown or ambiguous terminal")
                               ? " (this gnuplot lacks the cairo terminals: install gnuplot-nox)"
                               : "";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            st = xai_fail(XAI_ENOTFOUND, "%s: could not execute gnuplot (%s)", script, gp);
        else
            st = xai_fail(XAI_EFORMAT, "%s: gnuplot failed (exit %d)%s: %s", script,
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1, hint, tail(msg, 600));
    } else if (out.n) {
        note(log, "gnuplot %s: %s%s", script, msg, msg[out.n - 1] == '\n' ? "" : "\n");
    }
    xai_sbuf_free(&out);
    xai_sbuf_free(&e);
    return st;
}

xai_status xai_gnuplot_run(const char *script, const char *data_dir, const char *out_dir, FILE *log)
{
    char *tmp = NULL;
    XAI_TRY(xai_mkdirs(out_dir));
    XAI_TRY(make_tmp_dir(&tmp, out_dir));
    xai_status st = run_gnuplot_in(script, data_dir, tmp, log);
    /* Move each rendered file into place (rename is atomic per file). */
    DIR *d = st == XAI_OK ? opendir(tmp) : NULL;
    struct dirent *e;
    while (d && st == XAI_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *a = xai_path_join(tmp, e->d_name), *b = xai_path_join(out_dir, e->d_name);
        if (rename(a, b) != 0) st = xai_fail(XAI_EIO, "%s: cannot move into place: %s", b, strerror(errno));
        free(a);
        free(b);
    }
    if (d) closedir(d);
    remove_flat_dir(tmp);
    free(tmp);
    return st;
}

/* A per-experiment figure: its script, the data file that must exist and a name for notes. */
static const struct {
    const char *script, *needs, *what;
} EXP_FIGS[] = {
    {"heatmaps.gp", "input_1.dat", "heatmap grid"},
    {"pixelflip.gp", "pixelflip.dat", "pixel-flipping curves"},
    {"ig_completeness.gp", "ig_completeness.dat", "IG completeness vs steps"},
    {"training.gp", "training.dat", "training curves"},
};

/* Renders scripts whose data exist into a fresh figures directory, then swaps it in. */
static xai_status render_set(const char *data_dir, const char *fig_dir, const char *paper, const char *const *scripts,
                             const char *const *needs, const char *const *whats, int n, FILE *log)
{
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp));
    char *tmp = NULL;
    XAI_TRY(make_tmp_dir(&tmp, fig_dir));
    xai_status st = XAI_OK;
    for (int i = 0; i < n && st == XAI_OK; i++) {
        char *need = xai_path_join(data_dir, needs[i]);
        int have = xai_file_exists(need);
        free(need);
        if (!have) {
            note(log, "figures: %s/%s missing: %s skipped\n", data_dir, needs[i], whats[i]);
            continue;
        }
        char *script = xai_path_join(paper, scripts[i]);
        st = run_gnuplot_in(script, data_dir, tmp, log);
        free(script);
    }
    if (st == XAI_OK) st = commit_dir(tmp, fig_dir);
    if (st != XAI_OK) remove_flat_dir(tmp);
    free(tmp);
    return st;
}

xai_status xai_figures_experiment(const char *exp_dir, const char *paper_dir, FILE *log)
{
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    char *data = xai_path_join(exp_dir, "plot"), *meta = xai_path_join(data, "meta.gp");
    xai_status st = XAI_OK;
    if (!xai_file_exists(meta)) st = xai_export_experiment(exp_dir, NULL, NULL, log);
    char *figs = xai_path_join(exp_dir, "figures");
    const char *sc[4], *nd[4], *wh[4];
    for (int i = 0; i < 4; i++) sc[i] = EXP_FIGS[i].script, nd[i] = EXP_FIGS[i].needs, wh[i] = EXP_FIGS[i].what;
    if (st == XAI_OK) st = render_set(data, figs, paper, sc, nd, wh, 4, log);
    free(figs);
    free(data);
    free(meta);
    return st;
}

/* Cross-dataset data: aopc.dat (rows: experiments; per method 4 columns morf, morf_se, lerf,
 * lerf_se), runtime.dat (rows: experiments; per method ms per attribution) and meta.gp. */
static xai_status export_cross(const char *root, const char *const *exps, int n, FILE *log)
{
    xai_exp_summary *s = xai_calloc((size_t)n, sizeof *s);
    xai_status st = XAI_OK;
    for (int e = 0; e < n && st == XAI_OK; e++) {
        char *dir = xai_path_join(root, exps[e]);
        st = xai_exp_summary_load(&s[e], dir);
        free(dir);
    }
    /* Methods in first-seen order, the control first. */
    int nm = 0, cap = 8;
    char **m = xai_malloc((size_t)cap * sizeof *m);
    m[nm++] = xai_strdup("random");
    for (int e = 0; e < n && st == XAI_OK; e++)
        for (int i = 0; i < s[e].nmethods; i++) {
            int seen = 0;
            for (int j = 0; j < nm && !seen; j++) seen = !strcmp(m[j], s[e].methods[i].name);
            if (seen) continue;
            if (nm == cap) {
                char **w = xai_malloc((size_t)cap * 2 * sizeof *w);
                memcpy(w, m, (size_t)nm * sizeof *m);
                free(m);
                m = w;
                cap *= 2;
            }
            m[nm++] = xai_strdup(s[e].methods[i].name);
        }
    char *final = xai_path_join(root, "plot"), *tmp = NULL;
    if (st == XAI_OK) st = make_tmp_dir(&tmp, final);
    if (st == XAI_OK) {
        xai_sbuf a = {0}, r = {0}, meta = {0};
        xai_sbuf_printf(&a, "# AOPC on the target logit per experiment (rows) and method (4 columns each: morf "
                            "morf_se lerf lerf_se; random = the random-order control), from <exp>/metrics.h5\n");
        xai_sbuf_printf(&r, "# wall time per attribution in milliseconds per experiment (rows) and method "
                            "(columns), from <exp>/attributions.h5 @seconds_per_attribution\n");
        xai_sbuf_printf(&a, "# experiment");
        xai_sbuf_printf(&r, "# experiment");
        for (int j = 0; j < nm; j++) {
            xai_sbuf_printf(&a, " %s:morf %s:morf_se %s:lerf %s:lerf_se", m[j], m[j], m[j], m[j]);
            if (j) xai_sbuf_printf(&r, " %s", m[j]);
        }
        xai_sbuf_printf(&a, "\n");
        xai_sbuf_printf(&r, "\n");
        int any_aopc = 0, any_time = 0;
        for (int e = 0; e < n; e++) {
            char title[64];
            dataset_title(title, sizeof title, s[e].name);
            xai_sbuf_printf(&a, "\"%s\"", title);
            xai_sbuf_printf(&r, "\"%s\"", title);
            for (int j = 0; j < nm; j++) {
                double v[4] = {NAN, NAN, NAN, NAN}, t = NAN;
                if (j == 0) {
                    v[0] = v[2] = s[e].random_aopc;
                    v[1] = v[3] = s[e].random_aopc_se;
                } else
                    for (int i = 0; i < s[e].nmethods; i++)
                        if (!strcmp(s[e].methods[i].name, m[j])) {
                            const xai_method_summary *q = &s[e].methods[i];
                            v[0] = q->aopc_morf, v[1] = q->aopc_morf_se, v[2] = q->aopc_lerf, v[3] = q->aopc_lerf_se;
                            t = 1e3 * q->sec_per_attr;
                        }
                for (int k = 0; k < 4; k++) xai_sbuf_printf(&a, " "), put_num(&a, v[k]);
                any_aopc |= j > 0 && isfinite(v[0]);
                if (j) xai_sbuf_printf(&r, " "), put_num(&r, t), any_time |= isfinite(t);
            }
            xai_sbuf_printf(&a, "\n");
            xai_sbuf_printf(&r, "\n");
        }
        char **colors = xai_malloc((size_t)nm * sizeof *colors);
        for (int j = 0; j < nm; j++) colors[j] = (char *)xai_method_color(m[j]);
        xai_sbuf_printf(&meta, "# meta.gp: gnuplot variables for paper/aopc.gp and paper/runtime.gp (xai %s)\n",
                        xai_version());
        xai_sbuf_printf(&meta, "n_exps = %d\nn_methods = %d\n", n, nm);
        gp_str_array(&meta, "method_name", m, nm);
        gp_str_array(&meta, "method_color", colors, nm);
        free(colors);
        st = write_text(tmp, "meta.gp", &meta);
        if (st == XAI_OK && any_aopc) st = write_text(tmp, "aopc.dat", &a);
        if (st == XAI_OK && any_time) st = write_text(tmp, "runtime.dat", &r);
        if (!any_aopc) note(log, "figures: no experiment has pixel-flipping scores: AOPC figure skipped\n");
        if (!any_time) note(log, "figures: no experiment has attribution timings: runtime figure skipped\n");
        if (st == XAI_OK) st = commit_dir(tmp, final);
        if (st != XAI_OK) remove_flat_dir(tmp);
        xai_sbuf_free(&a);
        xai_sbuf_free(&r);
        xai_sbuf_free(&meta);
    }
    for (int j = 0; j < nm; j++) free(m[j]);
    free(m);
    free(tmp);
    free(final);
    for (int e = 0; e < n; e++) xai_exp_summary_free(&s[e]);
    free(s);
    return st;
}

xai_status xai_figures_all(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                           const xai_export_opts *o, FILE *log)
{
    if (!results_root || n <= 0 || !exps)
        return xai_fail(XAI_EINVAL, "figures: a results directory and at least one experiment are needed");
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    char gp[1024];
    XAI_TRY(xai_gnuplot_find(gp, sizeof gp)); /* fail before any work when it cannot end well */
    for (int e = 0; e < n; e++) {
        char *dir = xai_path_join(results_root, exps[e]);
        xai_status st = xai_export_experiment(dir, NULL, o, log);
        if (st == XAI_OK) st = xai_figures_experiment(dir, paper, log);
        free(dir);
        XAI_TRY(st);
    }
    return xai_figures_cross(results_root, exps, n, paper_dir, log);
}

xai_status xai_figures_cross(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                             FILE *log)
{
    if (!results_root || n <= 0 || !exps)
        return xai_fail(XAI_EINVAL, "figures: a results directory and at least one experiment are needed");
    const char *paper = paper_dir ? paper_dir : xai_paper_dir();
    XAI_TRY(export_cross(results_root, exps, n, log));
    char *data = xai_path_join(results_root, "plot"), *figs = xai_path_join(results_root, "figures");
    const char *sc[2] = {"aopc.gp", "runtime.gp"}, *nd[2] = {"aopc.dat", "runtime.dat"};
    const char *wh[2] = {"AOPC bars", "runtime bars"};
    xai_status st = render_set(data, figs, paper, sc, nd, wh, 2, log);
    free(data);
    free(figs);
    return st;
}

/* -------------------------------------------------------------------- CLI */

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: xai export --results DIR [--out DIR] [--figures] [--paper DIR] [--correct N] [--wrong N]\n"
            "                  [--methods M1,M2,...] [--data-dir DIR]\n"
            "Writes plain data files for gnuplot from one experiment's HDF5 results (model.h5,\n"
            "attributions.h5, metrics.h5; layout: results/README.md): heatmaps of example images,\n"
            "pixel-flipping curves, IG completeness vs steps, AOPC, runtime, training curves.\n"
            "\n"
            "  --results DIR  the experiment directory, e.g. results/mnist\n"
            "  --out DIR      where the data files go (default DIR/plot)\n"
            "  --figures      also render DIR/figures/*.png and *.pdf with gnuplot (paper/*.gp)\n"
            "  --paper DIR    directory of the gnuplot scripts (default %s)\n"
            "  --correct N    correctly classified example rows in the heatmap grid (default 3)\n"
            "  --wrong N      wrongly classified example rows (default 2)\n"
            "  --methods LIST heatmap columns (default: every ig and lrp method in the file)\n"
            "  --data-dir DIR dataset caches, for class names (default $XAI_DATA_DIR, else ./data)\n",
            xai_paper_dir());
}

static int parse_count(const char *opt, const char *v, int *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : -1;
    if (!v || end == v || *end || x < 0 || x > 64) {
        fprintf(stderr, "xai export: %s %s: expected an integer in 0..64\n", opt, v ? v : "(missing)");
        return 0;
    }
    *out = (int)x;
    return 1;
}

int xai_cmd_export(int argc, char **argv)
{
    const char *results = NULL, *out = NULL, *paper = NULL, *methods = NULL;
    int figures = 0;
    xai_export_opts o;
    xai_export_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            export_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--figures")) {
            figures = 1;
        } else if (xai_opt(argc, argv, &i, "--results", &v)) {
            if (!(results = v)) return fprintf(stderr, "xai export: --results needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--out", &v)) {
            if (!(out = v)) return fprintf(stderr, "xai export: --out needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--paper", &v)) {
            if (!(paper = v)) return fprintf(stderr, "xai export: --paper needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--data-dir", &v)) {
            if (!(o.data_dir = v)) return fprintf(stderr, "xai export: --data-dir needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--methods", &v)) {
            if (!(methods = v)) return fprintf(stderr, "xai export: --methods needs a comma-separated list\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--correct", &v)) {
            if (!parse_count("--correct", v, &o.n_correct)) return 2;
        } else if (xai_opt(argc, argv, &i, "--wrong", &v)) {
            if (!parse_count("--wrong", v, &o.n_wrong)) return 2;
        } else {
            fprintf(stderr, "xai export: unknown option '%s' (see 'xai export --help')\n", argv[i]);
            return 2;
        }
    }
    if (!results) {
        fprintf(stderr, "xai export: --results DIR is required, e.g. --results results/mnist (see 'xai export --help')\n");
        return 2;
    }
    if (figures && out) {
        fprintf(stderr, "xai export: --figures renders from DIR/plot; leave out --out to use it\n");
        return 2;
    }
    char *list = methods ? xai_strdup(methods) : NULL;
    const char *mv[64];
    int nmv = 0;
    for (char *save = NULL, *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        if (nmv == 64) {
            free(list);
            return fprintf(stderr, "xai export: --methods lists more than 64 methods\n"), 2;
        }
        mv[nmv++] = t;
    }
    if (list) o.methods = mv, o.nmethods = nmv;
    xai_status st = XAI_OK;
    if (figures) st = xai_gnuplot_find((char[1024]){0}, 1024);
    if (st == XAI_OK) st = xai_export_experiment(results, out, &o, stderr);
    if (st == XAI_OK) {
        char *dir = out ? xai_strdup(out) : xai_path_join(results, "plot");
        printf("wrote %s\n", dir);
        free(dir);
    }
    if (st == XAI_OK && figures) {
        st = xai_figures_experiment(results, paper, stderr);
        if (st == XAI_OK) {
            char *dir = xai_path_join(results, "figures");
            printf("wrote %s\n", dir);
            free(dir);
        }
    }
    free(list);
    return st == XAI_OK ? 0 : xai_cli_error(st);
}
