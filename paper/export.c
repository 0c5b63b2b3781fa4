/* export.c: plain-text plot data (gnuplot .dat/.tsv and meta.gp) from one experiment's results and
 * across experiments, for the scripts in paper/; every file is read through its owner's reader. */
#include "paper/publish.h"
#include "paper/plotio.h"
#include "core/io.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"
#include "explainers/metricsfile.h"
#include "core/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static void free_strv(char **v, int n)
{
    for (int i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

/* Class names from the dataset cache when it is on this machine (one image per split is read);
 * NULL otherwise. */
static char **cache_class_names(const char *dataset, int size, int nclasses, const char *data_dir)
{
    if (!dataset[0] || !xai_dataset_known(dataset)) return NULL;
    xai_fetch_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.data_dir = data_dir;
    fo.size = strstr(dataset, "mnist") ? 0 : size;
    char *path = NULL, **names = NULL;
    xai_dataset d;
    if (xai_dataset_cache_path(&path, dataset, &fo) == XAI_OK && xai_file_exists(path) &&
        xai_dataset_load_file(&d, path, 1) == XAI_OK) {
        if (d.nclasses == nclasses && d.class_names) {
            names = xai_calloc((size_t)nclasses, sizeof *names);
            for (int i = 0; i < nclasses; i++) names[i] = xai_strdup(d.class_names[i] ? d.class_names[i] : "");
        }
        xai_dataset_free(&d);
    }
    xai_clear_error();
    free(path);
    return names;
}

/* ---------------------------------------------------------- heatmap grid */

/* The attribution file as the heatmap grid needs it. */
typedef struct {
    const char *path;
    xai_attr_header h;
    int have_norm;          /* h.norm_mean/std (or the model's) hold the input normalisation */
    double mean[4], std[4];
} attr_view;

/* The normalisation recorded in the attribution file, else the model's. */
static void find_normalisation(attr_view *a, const char *model_path)
{
    int c = a->h.shape.c;
    if (c <= 4 && a->h.norm_mean_n == c && a->h.norm_std_n == c) {
        a->have_norm = 1;
        memcpy(a->mean, a->h.norm_mean, sizeof a->mean);
        memcpy(a->std, a->h.norm_std, sizeof a->std);
    } else if (c <= 4 && xai_file_exists(model_path)) {
        xai_model_info mi;
        if (xai_model_info_read(&mi, model_path) == XAI_OK && mi.norm_mean_n == c && mi.norm_std_n == c) {
            a->have_norm = 1;
            memcpy(a->mean, mi.norm_mean, sizeof a->mean);
            memcpy(a->std, mi.norm_std, sizeof a->std);
        }
        xai_model_info_free(&mi);
    }
    xai_clear_error();
}

static void input_to_rgb(uint8_t *rgb /* (H, W, 3) */, const float *x /* (C, H, W) */, const attr_view *a)
{
    size_t hw = (size_t)a->h.shape.h * a->h.shape.w;
    int nc = a->h.shape.c >= 3 ? 3 : 1;
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

typedef struct {
    int nrows;
    int image[64];   /* row of the attribution file */
    int label[64], pred[64], ok[64];
} example_rows;

/* The first n_correct correctly and first n_wrong wrongly classified images, in file order;
 * when one kind runs short the other fills in, so the grid keeps its size where it can. */
static void choose_rows(example_rows *r, const attr_view *a, int n_correct, int n_wrong)
{
    memset(r, 0, sizeof *r);
    int want = n_correct + n_wrong;
    if (want > 64) want = 64;
    int nc = 0, nw = 0, tc = 0, tw = 0;
    for (int i = 0; i < a->h.n; i++) {
        int ok = xai_model_argmax(a->h.logits + (size_t)i * a->h.nclasses, a->h.nclasses) == a->h.labels[i];
        tc += ok, tw += !ok;
    }
    int take_c = n_correct < tc ? n_correct : tc, take_w = n_wrong < tw ? n_wrong : tw;
    while (take_c + take_w < want && (take_c < tc || take_w < tw)) {
        if (take_c < tc) take_c++;
        else take_w++;
    }
    int sel[64], ns = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < a->h.n && ns < 64; i++) {
            int p = xai_model_argmax(a->h.logits + (size_t)i * a->h.nclasses, a->h.nclasses), ok = p == a->h.labels[i];
            if (pass == 0 && ok && nc < take_c) sel[ns++] = i, nc++;
            if (pass == 1 && !ok && nw < take_w) sel[ns++] = i, nw++;
        }
    for (int j = 0; j < ns; j++) {
        int i = sel[j];
        r->image[j] = i;
        r->label[j] = a->h.labels[i];
        r->pred[j] = xai_model_argmax(a->h.logits + (size_t)i * a->h.nclasses, a->h.nclasses);
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

/* The grid being written: columns (maps of methods) and example rows with their class names. */
typedef struct {
    char **names, **tags; /* (nmaps) method and its file-name tag */
    int nmaps;
    example_rows rows;
    char **labels, **preds; /* (rows.nrows) true and predicted class as shown */
} grid;

static void grid_free(grid *g)
{
    free_strv(g->names, g->nmaps);
    free_strv(g->tags, g->nmaps);
    free_strv(g->labels, g->rows.nrows);
    free_strv(g->preds, g->rows.nrows);
}

static int has_method(const xai_attr_header *h, const char *m)
{
    for (int i = 0; i < h->nmethods; i++)
        if (!strcmp(h->methods[i], m)) return 1;
    return 0;
}

/* Columns: the methods asked for, else IG and LRP (the paper's comparison), else all. */
static xai_status choose_columns(grid *g, const attr_view *a, const xai_exp_summary *s, const xai_export_opts *o)
{
    g->names = xai_calloc((size_t)s->nmethods + (size_t)o->nmethods + 1, sizeof *g->names);
    if (o->methods) {
        for (int i = 0; i < o->nmethods; i++) {
            if (!has_method(&a->h, o->methods[i]))
                return xai_fail(XAI_ENOTFOUND, "%s: no attribution '%s' (methods in the file: see /attributions)",
                                a->path, o->methods[i]);
            g->names[g->nmaps++] = xai_strdup(o->methods[i]);
        }
        return XAI_OK;
    }
    for (int pass = 0; pass < 2 && !g->nmaps; pass++)
        for (int i = 0; i < s->nmethods; i++) {
            const xai_method_summary *m = &s->methods[i];
            if (!has_method(&a->h, m->name)) continue;
            if (pass == 0 && strcmp(m->kind, "ig") && strcmp(m->kind, "lrp")) continue;
            g->names[g->nmaps++] = xai_strdup(m->name);
        }
    return XAI_OK;
}

static void make_tags(grid *g)
{
    g->tags = xai_calloc((size_t)g->nmaps, sizeof *g->tags);
    for (int j = 0; j < g->nmaps; j++) {
        char t[160];
        file_tag(t, sizeof t, g->names[j]);
        /* Two specs that differ only in punctuation must not share a file. */
        for (int q = 0; q < j; q++)
            if (!strcmp(g->tags[q], t)) snprintf(t + strlen(t), sizeof t - strlen(t), "_%d", j + 1);
        g->tags[j] = xai_strdup(t);
    }
}

/* Class names of the rows (given, from the dataset cache, or indices) and examples.tsv. */
static void label_rows(grid *g, xai_sbuf *ex, const attr_view *a, const xai_exp_summary *s, const xai_export_opts *o)
{
    char **owned = NULL, *const *names = NULL;
    int nnames = 0;
    if (o->class_names) names = (char *const *)o->class_names, nnames = o->nclasses;
    else if ((owned = cache_class_names(s->dataset, a->h.shape.h, a->h.nclasses, o->data_dir)))
        names = owned, nnames = a->h.nclasses;
    const example_rows *rows = &g->rows;
    g->labels = xai_calloc((size_t)rows->nrows, sizeof *g->labels);
    g->preds = xai_calloc((size_t)rows->nrows, sizeof *g->preds);
    xai_sbuf_printf(ex, "# example images of the heatmap grid, from %s\n", a->path);
    xai_sbuf_printf(ex, "# row\timage\tdataset_index\tlabel\tpredicted\tcorrect\tlabel_name\tpredicted_name\n");
    for (int r = 0; r < rows->nrows; r++) {
        int i = rows->image[r];
        char lb[96], pb[96];
        class_str(lb, sizeof lb, rows->label[r], names, nnames);
        class_str(pb, sizeof pb, rows->pred[r], names, nnames);
        xai_sbuf_printf(ex, "%d\t%d\t%lld\t%d\t%d\t%d\t%s\t%s\n", r + 1, i, (long long)a->h.indices[i], rows->label[r],
                        rows->pred[r], rows->ok[r], lb, pb);
        g->labels[r] = xai_strdup(lb);
        g->preds[r] = xai_strdup(pb);
    }
    free_strv(owned, a->h.nclasses);
}

/* input_<r>.dat: the input image of example row r as RGB pixels. */
static xai_status write_input(const char *tmp, const grid *g, int r, const attr_view *a)
{
    int i = g->rows.image[r], h = a->h.shape.h, w = a->h.shape.w;
    size_t hw = (size_t)h * w;
    uint8_t *rgb = xai_malloc(hw * 3);
    input_to_rgb(rgb, a->h.inputs + (size_t)i * a->h.shape.c * hw, a);
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "# input image, example row %d: attribution-file row %d, true class %s, predicted %s\n", r + 1,
                    i, g->labels[r], g->preds[r]);
    xai_sbuf_printf(&b, "# columns: x y red green blue (0-255); y counts image rows from the top; "
                        "gnuplot: using 1:2:3:4:5 with rgbimage\n");
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            xai_sbuf_printf(&b, "%d %d %d %d %d\n", x, y, p[0], p[1], p[2]);
        }
        xai_sbuf_printf(&b, "\n");
    }
    char fname[64];
    snprintf(fname, sizeof fname, "input_%d.dat", r + 1);
    xai_status st = xai_plot_write_text(tmp, fname, &b);
    xai_sbuf_free(&b);
    free(rgb);
    return st;
}

/* heatmap_<r>_<tag>.dat of method j and its line of heatmap_scale.tsv. map: (C, H, W) scratch,
 * sum: (H, W) scratch. */
static xai_status write_heatmap(const char *tmp, const grid *g, int r, int j, const attr_view *a, float *map,
                                double *sum, xai_sbuf *scale)
{
    int i = g->rows.image[r], h = a->h.shape.h, w = a->h.shape.w;
    size_t hw = (size_t)h * w;
    XAI_TRY(xai_attr_read_row(a->path, g->names[j], i, map, &a->h));
    /* Channels are summed (the relevance of a pixel), then the map is scaled by its own
     * max |R| so that every panel spans [-1, 1] with 0 at white. */
    double mx = 0, total = 0;
    for (size_t p = 0; p < hw; p++) {
        double v = 0;
        for (int c = 0; c < a->h.shape.c; c++) v += map[(size_t)c * hw + p];
        sum[p] = v;
        total += v;
        if (fabs(v) > mx) mx = fabs(v);
    }
    if (!isfinite(mx))
        return xai_fail(XAI_EFORMAT, "%s: /attributions/%s row %d holds non-finite values", a->path, g->names[j], i);
    xai_sbuf_printf(scale, "%d\t%s\t%.9g\t%.9g\n", r + 1, g->names[j], mx, total);
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "# %s relevance of example row %d (attribution-file row %d), summed over channels and "
                        "divided by max |R| = %.9g%s\n",
                    g->names[j], r + 1, i, mx, mx > 0 ? "" : " (an all-zero map is written as zeros)");
    xai_sbuf_printf(&b, "# matrix: %d rows (image rows, top first) x %d columns; gnuplot: matrix with image\n", h, w);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) xai_sbuf_printf(&b, x ? " %.6g" : "%.6g", mx > 0 ? sum[(size_t)y * w + x] / mx : 0);
        xai_sbuf_printf(&b, "\n");
    }
    char fname[256];
    snprintf(fname, sizeof fname, "heatmap_%d_%s.dat", r + 1, g->tags[j]);
    xai_status st = xai_plot_write_text(tmp, fname, &b);
    xai_sbuf_free(&b);
    return st;
}

/* The figure-1 variables of meta.gp. */
static void heatmap_meta(xai_sbuf *meta, const grid *g, const attr_view *a)
{
    int nrows = g->rows.nrows;
    xai_sbuf_printf(meta, "# figure 1: heatmap grid (rows: examples.tsv; columns: input, then map_name)\n");
    /* Row labels ("true: X" over "pred: Y") are set horizontally: the scripts size the left margin
     * by the longest line. */
    size_t lc = 0;
    for (int r = 0; r < nrows; r++) {
        size_t k = strlen(g->labels[r]) > strlen(g->preds[r]) ? strlen(g->labels[r]) : strlen(g->preds[r]);
        if (k + 6 > lc) lc = k + 6;
    }
    xai_sbuf_printf(meta, "have_heatmaps = 1\nn_rows = %d\nn_maps = %d\nimg_w = %d\nimg_h = %d\nimg_c = %d\n"
                          "label_chars = %zu\n",
                    nrows, g->nmaps, a->h.shape.w, a->h.shape.h, a->h.shape.c, lc);
    xai_gp_str_array(meta, "map_name", g->names, g->nmaps);
    xai_gp_str_array(meta, "map_tag", g->tags, g->nmaps);
    xai_gp_str_array(meta, "row_true", g->labels, nrows);
    xai_gp_str_array(meta, "row_pred", g->preds, nrows);
    xai_sbuf_printf(meta, "array row_ok[%d]\n", nrows);
    for (int r = 0; r < nrows; r++) xai_sbuf_printf(meta, "row_ok[%d] = %d\n", r + 1, g->rows.ok[r]);
}

/* The files of the grid once its rows and columns are known. */
static xai_status write_grid(const char *tmp, grid *g, const attr_view *a, const xai_exp_summary *s,
                             const xai_export_opts *o, xai_sbuf *meta)
{
    size_t hw = (size_t)a->h.shape.h * a->h.shape.w;
    float *map = xai_malloc((size_t)a->h.shape.c * hw * sizeof *map);
    double *sum = xai_malloc(hw * sizeof *sum);
    xai_sbuf ex = {0}, scale = {0};
    xai_status st = XAI_OK;
    label_rows(g, &ex, a, s, o);
    xai_sbuf_printf(&scale, "# normaliser of each heatmap: max |R| of the channel-summed map (model output units), "
                            "and sum R over the whole map\n# row\tmethod\tmax_abs_R\tsum_R\n");
    for (int r = 0; r < g->rows.nrows; r++) {
        if ((st = write_input(tmp, g, r, a)) != XAI_OK) goto done;
        for (int j = 0; j < g->nmaps; j++)
            if ((st = write_heatmap(tmp, g, r, j, a, map, sum, &scale)) != XAI_OK) goto done;
    }
    if ((st = xai_plot_write_text(tmp, "examples.tsv", &ex)) != XAI_OK) goto done;
    if ((st = xai_plot_write_text(tmp, "heatmap_scale.tsv", &scale)) != XAI_OK) goto done;
    heatmap_meta(meta, g, a);
done:
    xai_sbuf_free(&ex);
    xai_sbuf_free(&scale);
    free(map);
    free(sum);
    return st;
}

/* Writes examples.tsv, input_<r>.dat, heatmap_<r>_<tag>.dat, heatmap_scale.tsv and the
 * figure-1 variables of meta.gp. */
static xai_status export_heatmaps(const char *tmp, const char *exp_dir, const xai_exp_summary *s,
                                  const xai_export_opts *o, xai_sbuf *meta, FILE *log)
{
    char *path = xai_path_join(exp_dir, "attributions.h5"), *mpath = xai_path_join(exp_dir, "model.h5");
    attr_view a;
    memset(&a, 0, sizeof a);
    a.path = path;
    grid g;
    memset(&g, 0, sizeof g);
    xai_status st = XAI_OK;
    int have = 0;
    if (!xai_file_exists(path)) {
        xai_plot_note(log, "export: %s missing: no heatmap grid\n", path);
        goto done;
    }
    if ((st = xai_attr_read_header(&a.h, path)) != XAI_OK) goto done;
    find_normalisation(&a, mpath);
    if ((st = choose_columns(&g, &a, s, o)) != XAI_OK) goto done;
    if (!g.nmaps || !a.h.n) {
        xai_plot_note(log, "export: %s has no attributions: no heatmap grid\n", path);
        goto done;
    }
    make_tags(&g);
    choose_rows(&g.rows, &a, o->n_correct, o->n_wrong);
    if (!g.rows.nrows) goto done;
    if ((st = write_grid(tmp, &g, &a, s, o, meta)) != XAI_OK) goto done;
    have = 1;
done:
    if (st == XAI_OK && !have) xai_sbuf_printf(meta, "have_heatmaps = 0\n");
    grid_free(&g);
    xai_attr_header_free(&a.h);
    free(path);
    free(mpath);
    return st;
}

/* --------------------------------------------------------- metric curves */

static void curve_block(xai_sbuf *b, const char *title, const double *frac, int k1, const double *mm,
                        const double *ms, const double *lm, const double *ls)
{
    xai_sbuf_printf(b, "\n\n# %s\n", title);
    for (int k = 0; k < k1; k++) {
        xai_gp_num(b, frac[k]);
        const double *cols[4] = {mm, ms, lm, ls};
        for (int c = 0; c < 4; c++) xai_sbuf_printf(b, " "), xai_gp_num(b, cols[c][k]);
        xai_sbuf_printf(b, "\n");
    }
}


/* The blocks of pixelflip.dat: the control, then each method with both orders; names (malloc'd)
 * of the blocks written. */
static int pixelflip_blocks(xai_sbuf *b, char **cn, const char *path, const xai_exp_summary *s, const double *frac,
                            int k1, double *buf)
{
    double *mm = buf, *ms = buf + k1, *lm = buf + 2 * k1, *ls = buf + 3 * k1;
    int nc = 0;
    xai_metricsfile_read_curve(path, NULL, NULL, k1, mm, ms);
    curve_block(b, "random order (control)", frac, k1, mm, ms, mm, ms);
    cn[nc++] = xai_strdup("random");
    for (int i = 0; i < s->nmethods; i++) {
        const char *m = s->methods[i].name;
        if (!xai_metricsfile_read_curve(path, m, "morf", k1, mm, ms) ||
            !xai_metricsfile_read_curve(path, m, "lerf", k1, lm, ls))
            continue;
        curve_block(b, m, frac, k1, mm, ms, lm, ls);
        cn[nc++] = xai_strdup(m);
    }
    return nc;
}

static void pixelflip_meta(xai_sbuf *meta, const xai_exp_summary *s, char **cn, int nc)
{
    char **cc = xai_calloc((size_t)nc, sizeof *cc);
    for (int i = 0; i < nc; i++) cc[i] = (char *)xai_method_color(cn[i]);
    xai_sbuf_printf(meta, "# pixel flipping (pixelflip.dat blocks in curve_name order)\n");
    xai_sbuf_printf(meta, "have_pixelflip = 1\nn_curves = %d\nflip_images = %lld\nflip_perturb = ", nc,
                    (long long)s->metric_images);
    xai_gp_quote(meta, s->perturb);
    xai_sbuf_printf(meta, "\n");
    xai_gp_str_array(meta, "curve_name", cn, nc);
    xai_gp_str_array(meta, "curve_color", cc, nc);
    free(cc);
}

static xai_status export_pixelflip(const char *tmp, const char *exp_dir, const xai_exp_summary *s, xai_sbuf *meta,
                                   FILE *log)
{
    char *path = xai_path_join(exp_dir, "metrics.h5");
    double *frac = NULL;
    xai_status st = XAI_OK;
    if (!xai_file_exists(path)) {
        xai_plot_note(log, "export: %s missing: no pixel-flipping curves, AOPC or IG step curves\n", path);
        xai_sbuf_printf(meta, "have_pixelflip = 0\n");
        goto done;
    }
    int k1 = xai_metricsfile_read_fractions(path, &frac);
    double *buf = xai_malloc((size_t)(k1 + 1) * 4 * sizeof *buf);
    if (!k1 || !xai_metricsfile_read_curve(path, NULL, NULL, k1, buf, buf + k1)) {
        xai_plot_note(log, "export: %s lacks /steps/fraction or /random/logit/{mean,stderr}: no pixel-flipping figure\n",
                      path);
        xai_sbuf_printf(meta, "have_pixelflip = 0\n");
        free(buf);
        goto done;
    }
    xai_sbuf b = {0};
    char **cn = xai_calloc((size_t)s->nmethods + 1, sizeof *cn);
    xai_sbuf_printf(&b, "# pixel flipping on the target logit, from %s: mean and standard error over %lld images\n",
                    path, (long long)s->metric_images);
    xai_sbuf_printf(&b, "# columns: fraction_removed morf_mean morf_se lerf_mean lerf_se\n");
    xai_sbuf_printf(&b, "# blocks (gnuplot index 0, 1, ...): the random order (control; MoRF = LeRF columns), then "
                        "one per method as listed in meta.gp curve_name");
    int nc = pixelflip_blocks(&b, cn, path, s, frac, k1, buf);
    st = xai_plot_write_text(tmp, "pixelflip.dat", &b);
    pixelflip_meta(meta, s, cn, nc);
    xai_sbuf_free(&b);
    free_strv(cn, nc);
    free(buf);
done:
    free(frac);
    free(path);
    return st;
}

/* The curve figures of the faithfulness metrics (explainers/faith.h): each a .dat of one block per
 * method with two curves (mean, se each; the second repeats the first when there is one), the
 * x axis from /metric_info. */
typedef struct {
    const char *file, *var, *axis, *g1, *g2, *what;
} faith_fig;

static const faith_fig FAITH_FIGS[] = {
    {"insdel.dat", "insdel", "/metric_info/insdel/fraction", "insertion/prob", "deletion/prob",
     "# columns: fraction insertion_mean insertion_se deletion_mean deletion_se (target probability)"},
    {"road.dat", "road", "/metric_info/road/fraction", "road/morf/prob", "road/lerf/prob",
     "# columns: fraction_removed morf_mean morf_se lerf_mean lerf_se (target probability)"},
    {"sensn.dat", "sensn", "/metric_info/sensn/n", "sensitivity_n", NULL,
     "# columns: n pearson_mean pearson_se (repeated)"},
};

/* One figure's data: blocks of the methods that have both curves; the count written. */
static int faith_blocks(xai_sbuf *b, char **cn, const char *path, const xai_exp_summary *s, const faith_fig *fg,
                        const double *x, int k1, double *buf)
{
    int nc = 0;
    for (int i = 0; i < s->nmethods; i++) {
        const char *m = s->methods[i].name;
        char g1[400], g2[400];
        snprintf(g1, sizeof g1, "/methods/%s/%s", m, fg->g1);
        snprintf(g2, sizeof g2, "/methods/%s/%s", m, fg->g2 ? fg->g2 : fg->g1);
        if (!xai_metricsfile_read_mean_se(path, g1, k1, buf, buf + k1) ||
            !xai_metricsfile_read_mean_se(path, g2, k1, buf + 2 * k1, buf + 3 * k1))
            continue;
        curve_block(b, m, x, k1, buf, buf + k1, buf + 2 * k1, buf + 3 * k1);
        cn[nc++] = xai_strdup(m);
    }
    return nc;
}

/* <fig>.dat and meta.gp's have_<var>, <var>_curves, <var>_name, <var>_color. */
static xai_status export_faith_fig(const char *tmp, const char *path, const xai_exp_summary *s, const faith_fig *fg,
                                   xai_sbuf *meta, FILE *log)
{
    double *x = NULL;
    const int k1 = xai_metricsfile_read_vector(path, fg->axis, &x);
    if (!k1) {
        xai_plot_note(log, "export: %s lacks %s (metric not run): no %s\n", path, fg->axis, fg->file);
        xai_sbuf_printf(meta, "have_%s = 0\n", fg->var);
        return XAI_OK;
    }
    xai_sbuf b = {0};
    char **cn = xai_calloc((size_t)s->nmethods + 1, sizeof *cn);
    double *buf = xai_malloc(4 * (size_t)k1 * sizeof *buf);
    xai_sbuf_printf(&b, "# %s from %s: mean and standard error over images\n%s\n", fg->file, path, fg->what);
    xai_sbuf_printf(&b, "# blocks (gnuplot index 0, 1, ...): one per method as listed in meta.gp %s_name", fg->var);
    const int nc = faith_blocks(&b, cn, path, s, fg, x, k1, buf);
    xai_status st = nc ? xai_plot_write_text(tmp, fg->file, &b) : XAI_OK;
    char **cc = xai_calloc((size_t)nc + 1, sizeof *cc), name[64];
    for (int i = 0; i < nc; i++) cc[i] = (char *)xai_method_color(cn[i]);
    xai_sbuf_printf(meta, "# %s\nhave_%s = %d\n%s_curves = %d\n", fg->file, fg->var, nc > 0, fg->var, nc);
    snprintf(name, sizeof name, "%s_name", fg->var);
    xai_gp_str_array(meta, name, cn, nc);
    snprintf(name, sizeof name, "%s_color", fg->var);
    xai_gp_str_array(meta, name, cc, nc);
    free(cc);
    free_strv(cn, nc);
    free(buf);
    free(x);
    xai_sbuf_free(&b);
    return st;
}

static xai_status export_faith(const char *tmp, const char *exp_dir, const xai_exp_summary *s, xai_sbuf *meta,
                               FILE *log)
{
    char *path = xai_path_join(exp_dir, "metrics.h5");
    xai_status st = XAI_OK;
    for (size_t k = 0; k < sizeof FAITH_FIGS / sizeof *FAITH_FIGS && st == XAI_OK; k++) {
        if (xai_file_exists(path)) st = export_faith_fig(tmp, path, s, &FAITH_FIGS[k], meta, log);
        else xai_sbuf_printf(meta, "have_%s = 0\n", FAITH_FIGS[k].var);
    }
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

/* A block's name: the rule, prefixed by the method when the file has several IG curves. */
static void ig_block_name(char *out, size_t cap, const xai_exp_summary *s, int g, int r)
{
    if (s->nig > 1) snprintf(out, cap, "%s %s", s->ig[g].method, s->ig[g].rule[r]);
    else snprintf(out, cap, "%s", s->ig[g].rule[r]);
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
            ig_block_name(nm, sizeof nm, s, g, r);
            names[k] = xai_strdup(nm);
            colors[k] = (char *)rule_color(ig->rule[r]);
            xai_sbuf_printf(&b, "\n\n# %s (method %s, baseline %s)\n", nm, ig->method, ig->baseline);
            for (int q = 0; q < ig->nsteps; q++) {
                xai_sbuf_printf(&b, "%lld ", (long long)ig->steps[q]);
                xai_gp_num(&b, ig->median[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, " ");
                xai_gp_num(&b, ig->p90[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, "\n");
            }
        }
    }
    xai_status st = xai_plot_write_text(tmp, "ig_completeness.dat", &b);
    xai_sbuf_free(&b);
    xai_sbuf_printf(meta, "# IG completeness vs steps (ig_completeness.dat blocks in rule_name order)\n");
    xai_sbuf_printf(meta, "have_ig_steps = 1\nn_rules = %d\nig_baseline = ", nb);
    xai_gp_quote(meta, s->ig[0].baseline);
    xai_sbuf_printf(meta, "\n");
    xai_gp_str_array(meta, "rule_name", names, nb);
    xai_gp_str_array(meta, "rule_color", colors, nb);
    for (int i = 0; i < nb; i++) free(names[i]);
    free(names);
    free(colors);
    return st;
}

/* The IG map error against exact IG (ig_map_error.dat, blocks as in ig_completeness.dat) and each
 * rule's observed order and steps for 1 % (ig_convergence.tsv). The reference depends on the model
 * only, so a metrics file has it for every curve or for none. */
static xai_status export_ig_exact(const char *tmp, const xai_exp_summary *s, xai_sbuf *meta)
{
    int nb = 0, all = s->nig > 0;
    for (int g = 0; g < s->nig; g++) nb += s->ig[g].nrules, all &= s->ig[g].exact;
    xai_sbuf_printf(meta, "have_ig_exact = %d\n", all && nb);
    if (all && nb) xai_sbuf_printf(meta, "ig_exact_images = %lld\n", (long long)s->ig[0].exact_n);
    if (!all || !nb) return XAI_OK;
    xai_sbuf b = {0}, t = {0};
    xai_sbuf_printf(&b, "# IG map error against exact IG, from %s/metrics.h5 /ig_steps/<method>/<rule>/map_*\n", s->dir);
    xai_sbuf_printf(&b, "# relative L2 error ||a_n - a_exact|| / ||a_exact|| over the images\n");
    xai_sbuf_printf(&b, "# columns: steps median p90\n# blocks (gnuplot index): as ig_completeness.dat, meta.gp rule_name");
    xai_sbuf_printf(&t, "# observed convergence order of the median IG map error (least squares in log-log) and the "
                        "steps for 1 %% (inf: not within the steps measured), from %s/metrics.h5\n", s->dir);
    xai_sbuf_printf(&t, "# method\trule\torder\tsteps_1pct\tmax_steps\n");
    xai_sbuf_printf(meta, "array rule_order[%d]\n", nb);
    for (int g = 0, k = 0; g < s->nig; g++) {
        const xai_ig_steps_summary *ig = &s->ig[g];
        for (int r = 0; r < ig->nrules; r++, k++) {
            char nm[200];
            ig_block_name(nm, sizeof nm, s, g, r);
            xai_sbuf_printf(&b, "\n\n# %s (method %s, baseline %s)\n", nm, ig->method, ig->baseline);
            for (int q = 0; q < ig->nsteps; q++) {
                xai_sbuf_printf(&b, "%lld ", (long long)ig->steps[q]);
                xai_gp_num(&b, ig->map_median[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, " ");
                xai_gp_num(&b, ig->map_p90[(size_t)r * ig->nsteps + q]);
                xai_sbuf_printf(&b, "\n");
            }
            xai_sbuf_printf(&t, "%s\t%s\t", ig->method, ig->rule[r]);
            xai_gp_num(&t, ig->order[r]);
            if (isinf(ig->steps_1pct[r])) xai_sbuf_printf(&t, "\tinf");
            else xai_sbuf_printf(&t, "\t"), xai_gp_num(&t, ig->steps_1pct[r]);
            xai_sbuf_printf(&t, "\t%lld\n", (long long)ig->steps[ig->nsteps - 1]);
            xai_sbuf_printf(meta, "rule_order[%d] = ", k + 1);
            xai_gp_num(meta, ig->order[r]);
            xai_sbuf_printf(meta, "\n");
        }
    }
    xai_status st;
    if ((st = xai_plot_write_text(tmp, "ig_map_error.dat", &b)) != XAI_OK) goto done;
    st = xai_plot_write_text(tmp, "ig_convergence.tsv", &t);
done:
    xai_sbuf_free(&b);
    xai_sbuf_free(&t);
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
        xai_gp_num(&a, s->random_aopc), xai_sbuf_printf(&a, "\t"), xai_gp_num(&a, s->random_aopc_se);
        xai_sbuf_printf(&a, "\t");
        xai_gp_num(&a, s->random_aopc), xai_sbuf_printf(&a, "\t"), xai_gp_num(&a, s->random_aopc_se);
        xai_sbuf_printf(&a, "\tNaN\tNaN\n");
    }
    xai_sbuf_printf(&r, "# wall time per attribution, from %s/attributions.h5 @seconds_per_attribution\n", s->dir);
    xai_sbuf_printf(&r, "# method\tkind\tseconds_per_attribution\tms_per_attribution\n");
    for (int i = 0; i < s->nmethods; i++) {
        const xai_method_summary *m = &s->methods[i];
        double v[6] = {m->aopc_morf, m->aopc_morf_se, m->aopc_lerf, m->aopc_lerf_se, m->abpc, m->abpc_se};
        xai_sbuf_printf(&a, "%s\t%s", m->name, m->kind[0] ? m->kind : "-");
        for (int q = 0; q < 6; q++) xai_sbuf_printf(&a, "\t"), xai_gp_num(&a, v[q]);
        xai_sbuf_printf(&a, "\n");
        xai_sbuf_printf(&r, "%s\t%s\t", m->name, m->kind[0] ? m->kind : "-");
        xai_gp_num(&r, m->sec_per_attr), xai_sbuf_printf(&r, "\t"), xai_gp_num(&r, 1e3 * m->sec_per_attr);
        xai_sbuf_printf(&r, "\n");
    }
    xai_status st;
    if ((st = xai_plot_write_text(tmp, "aopc.tsv", &a)) != XAI_OK) goto done;
    st = xai_plot_write_text(tmp, "runtime.tsv", &r);
done:
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
        if (s->has_model) xai_plot_note(log, "export: %s/model.h5 has no usable /train/history: no training curves\n", s->dir);
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
            xai_gp_num(&b, s->history[(size_t)r * s->hist_cols + c]);
        }
        xai_sbuf_printf(&b, "\n");
    }
    xai_status st = xai_plot_write_text(tmp, "training.dat", &b);
    xai_sbuf_free(&b);
    xai_sbuf_printf(meta, "# training curves (training.dat columns, 0: absent)\n");
    xai_sbuf_printf(meta, "have_training = 1\nn_epochs = %d\ncol_epoch = %d\ncol_train_loss = %d\ncol_val_loss = %d\n",
                    s->hist_rows, ce, ctl, cvl);
    xai_sbuf_printf(meta, "col_train_acc = %d\ncol_val_acc = %d\ntest_acc = ", cta, cva);
    xai_gp_num(meta, s->test_acc);
    xai_sbuf_printf(meta, "\n");
    return st;
}

/* One method's cascade as a block of sanity.dat; 0 when the file has none for it. *images: its images. */
static int sanity_block(xai_sbuf *b, const char *path, const char *method, int64_t *images)
{
    double *layer, *mean, *se;
    const int n = xai_metricsfile_read_sanity(path, method, &layer, &mean, &se, images);
    if (n) xai_sbuf_printf(b, "\n\n# %s\n", method);
    for (int k = 0; k < n; k++) {
        xai_sbuf_printf(b, "%d %d", k, (int)layer[k]);
        const double c[4] = {mean[k], se[k], mean[n + k], se[n + k]};
        for (int q = 0; q < 4; q++) xai_sbuf_printf(b, " "), xai_gp_num(b, c[q]);
        xai_sbuf_printf(b, "\n");
    }
    free(layer), free(mean), free(se);
    return n;
}

/* sanity.dat: the randomisation cascade, one block per method with the cascade in the file. */
static xai_status export_sanity(const char *tmp, const char *exp_dir, const xai_exp_summary *s, xai_sbuf *meta)
{
    char *path = xai_path_join(exp_dir, "metrics.h5");
    xai_sbuf b = {0};
    char **names = xai_calloc((size_t)s->nmethods + 1, sizeof *names);
    char **colors = xai_calloc((size_t)s->nmethods + 1, sizeof *colors);
    int nc = 0, S = 0;
    int64_t images = -1;
    xai_sbuf_printf(&b, "# model-parameter randomisation cascade (Adebayo et al. 2018), from %s /methods/*/sanity\n"
                        "# columns: step layer spearman_abs_mean spearman_abs_se ssim_mean ssim_se (layer -1: none "
                        "randomised)\n# blocks: one per method, as meta.gp sanity_name",
                    path);
    for (int i = 0; i < s->nmethods; i++) {
        const int n = sanity_block(&b, path, s->methods[i].name, &images);
        if (!n) continue;
        names[nc] = s->methods[i].name, colors[nc++] = (char *)xai_method_color(s->methods[i].name);
        S = n;
    }
    xai_status st = nc ? xai_plot_write_text(tmp, "sanity.dat", &b) : XAI_OK;
    xai_sbuf_printf(meta, "# randomisation cascade (sanity.dat blocks in sanity_name order)\n");
    xai_sbuf_printf(meta, "have_sanity = %d\n", nc > 0);
    if (nc) {
        xai_sbuf_printf(meta, "n_sanity = %d\nsanity_steps = %d\n", nc, S);
        if (images > 0) xai_sbuf_printf(meta, "sanity_images = %lld\n", (long long)images);
        xai_gp_str_array(meta, "sanity_name", names, nc);
        xai_gp_str_array(meta, "sanity_color", colors, nc);
    }
    xai_sbuf_free(&b);
    free(names), free(colors), free(path);
    return st;
}

/* agreement.dat: Kendall tau-b between the metrics' method rankings, one row per metric (matrix). */
static xai_status export_agreement(const char *tmp, const xai_exp_summary *s, xai_sbuf *meta)
{
    const xai_metrics_stats_set *st = &s->stats;
    const int m = st->nmetrics;
    xai_sbuf_printf(meta, "have_agreement = %d\n", st->tau && m >= 2);
    if (!st->tau || m < 2) return XAI_OK;
    xai_sbuf b = {0};
    xai_sbuf_printf(&b, "# Kendall tau-b between the method rankings of metrics i (row) and j (column), %s/metrics.h5 "
                        "/stats/kendall_tau; names in meta.gp metric_name\n", s->dir);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < m; j++) {
            if (j) xai_sbuf_printf(&b, " ");
            xai_gp_num(&b, st->tau[i * m + j]);
        }
        xai_sbuf_printf(&b, "\n");
    }
    xai_status r = xai_plot_write_text(tmp, "agreement.dat", &b);
    xai_sbuf_free(&b);
    char **names = xai_calloc((size_t)m, sizeof *names);
    for (int i = 0; i < m; i++) names[i] = (char *)st->m[i].name;
    xai_sbuf_printf(meta, "n_metrics = %d\nagreement_methods = %d\n", m, st->k);
    xai_gp_str_array(meta, "metric_name", names, m);
    free(names);
    return r;
}

/* meta.gp's header, then every piece; each piece notes what it skips. */
static xai_status export_pieces(const char *tmp, const char *exp_dir, const xai_exp_summary *s,
                                const xai_export_opts *o, FILE *log)
{
    xai_sbuf meta = {0}, done = {0};
    char title[64];
    xai_dataset_title(title, sizeof title, s->dataset);
    xai_sbuf_printf(&meta, "# meta.gp: gnuplot variables for paper/*.gp, written by xai export (xai %s) from %s\n",
                    xai_version(), exp_dir);
    xai_gp_str(&meta, "exp_name", s->name);
    xai_gp_str(&meta, "dataset", s->dataset);
    xai_gp_str(&meta, "dataset_title", title);
    xai_status st;
    if ((st = export_heatmaps(tmp, exp_dir, s, o, &meta, log)) != XAI_OK) goto done;
    if ((st = export_pixelflip(tmp, exp_dir, s, &meta, log)) != XAI_OK) goto done;
    if ((st = export_faith(tmp, exp_dir, s, &meta, log)) != XAI_OK) goto done;
    if ((st = export_ig_steps(tmp, s, &meta)) != XAI_OK) goto done;
    if ((st = export_ig_exact(tmp, s, &meta)) != XAI_OK) goto done;
    if ((st = export_tables(tmp, s)) != XAI_OK) goto done;
    if ((st = export_training(tmp, s, &meta, log)) != XAI_OK) goto done;
    if ((st = export_agreement(tmp, s, &meta)) != XAI_OK) goto done;
    if ((st = export_sanity(tmp, exp_dir, s, &meta)) != XAI_OK) goto done;
    if ((st = xai_plot_write_text(tmp, "meta.gp", &meta)) != XAI_OK) goto done;
    /* Completion marker for make-like pipelines (xai reproduce): present only in a whole export. */
    xai_sbuf_printf(&done, "xai export complete (xai %s) from %s\n", xai_version(), exp_dir);
    st = xai_plot_write_text(tmp, "done", &done);
done:
    xai_sbuf_free(&meta);
    xai_sbuf_free(&done);
    return st;
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
    char *final = out_dir ? xai_strdup(out_dir) : xai_path_join(exp_dir, "plot"), *tmp = NULL;
    xai_status st;
    if ((st = xai_exp_summary_load(&s, exp_dir)) != XAI_OK) goto done;
    if (!s.has_model && !s.has_attr && !s.has_metrics) {
        st = xai_fail(XAI_ENOTFOUND, "%s: none of model.h5, attributions.h5, metrics.h5 is there: nothing to export",
                      exp_dir);
        goto done;
    }
    if ((st = xai_plot_tmp_dir(&tmp, final)) != XAI_OK) goto done;
    if ((st = export_pieces(tmp, exp_dir, &s, &o, log)) != XAI_OK) goto done;
    st = xai_plot_commit_dir(tmp, final);
done:
    if (st != XAI_OK && tmp) xai_plot_remove_dir(tmp);
    free(tmp);
    free(final);
    xai_exp_summary_free(&s);
    return st;
}

/* ------------------------------------------------------------ across experiments */

/* Methods in first-seen order, the control first. */
static int cross_methods(char ***out, const xai_exp_summary *s, int n)
{
    char **m = NULL;
    int nm = 0;
    m = xai_malloc(sizeof *m);
    m[nm++] = xai_strdup("random");
    for (int e = 0; e < n; e++)
        for (int i = 0; i < s[e].nmethods; i++) {
            int seen = 0;
            /* from 1: the control m[0] is named "random" too, and the random method is a method */
            for (int j = 1; j < nm && !seen; j++) seen = !strcmp(m[j], s[e].methods[i].name);
            if (seen) continue;
            char **w = xai_malloc((size_t)(nm + 1) * sizeof *w);
            memcpy(w, m, (size_t)nm * sizeof *m);
            free(m);
            m = w;
            m[nm++] = xai_strdup(s[e].methods[i].name);
        }
    *out = m;
    return nm;
}

/* One experiment's row of aopc.dat and runtime.dat; *any_aopc / *any_time set when it has data. */
static void cross_row(xai_sbuf *a, xai_sbuf *r, const xai_exp_summary *s, char **m, int nm, int *any_aopc,
                      int *any_time)
{
    char title[64];
    xai_dataset_title(title, sizeof title, s->name);
    /* The sample size under each cluster: the datasets' image counts differ. */
    xai_sbuf_printf(a, "\"%s", title);
    if (s->metric_images > 0) xai_sbuf_printf(a, " (n = %lld)", (long long)s->metric_images);
    xai_sbuf_printf(a, "\"");
    xai_sbuf_printf(r, "\"%s", title);
    if (s->has_attr && s->n_images > 0) xai_sbuf_printf(r, " (n = %lld)", (long long)s->n_images);
    xai_sbuf_printf(r, "\"");
    for (int j = 0; j < nm; j++) {
        double v[4] = {NAN, NAN, NAN, NAN}, t = NAN;
        if (j == 0) {
            v[0] = v[2] = s->random_aopc;
            v[1] = v[3] = s->random_aopc_se;
        } else
            for (int i = 0; i < s->nmethods; i++)
                if (!strcmp(s->methods[i].name, m[j])) {
                    const xai_method_summary *q = &s->methods[i];
                    v[0] = q->aopc_morf, v[1] = q->aopc_morf_se, v[2] = q->aopc_lerf, v[3] = q->aopc_lerf_se;
                    t = 1e3 * q->sec_per_attr;
                }
        for (int k = 0; k < 4; k++) xai_sbuf_printf(a, " "), xai_gp_num(a, v[k]);
        *any_aopc |= j > 0 && isfinite(v[0]);
        if (j) xai_sbuf_printf(r, " "), xai_gp_num(r, t), *any_time |= isfinite(t);
    }
    xai_sbuf_printf(a, "\n");
    xai_sbuf_printf(r, "\n");
}

/* aopc.dat, runtime.dat and meta.gp into tmp. */
static xai_status cross_files(const char *tmp, const xai_exp_summary *s, int n, char **m, int nm, FILE *log)
{
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
    for (int e = 0; e < n; e++) cross_row(&a, &r, &s[e], m, nm, &any_aopc, &any_time);
    char **colors = xai_malloc((size_t)nm * sizeof *colors);
    for (int j = 0; j < nm; j++) colors[j] = (char *)xai_method_color(m[j]);
    xai_sbuf_printf(&meta, "# meta.gp: gnuplot variables for paper/aopc.gp and paper/runtime.gp (xai %s)\n",
                    xai_version());
    xai_sbuf_printf(&meta, "n_exps = %d\nn_methods = %d\n", n, nm);
    xai_gp_str_array(&meta, "method_name", m, nm);
    xai_gp_str_array(&meta, "method_color", colors, nm);
    free(colors);
    xai_status st;
    if ((st = xai_plot_write_text(tmp, "meta.gp", &meta)) != XAI_OK) goto done;
    if (any_aopc && (st = xai_plot_write_text(tmp, "aopc.dat", &a)) != XAI_OK) goto done;
    if (any_time && (st = xai_plot_write_text(tmp, "runtime.dat", &r)) != XAI_OK) goto done;
    if (!any_aopc) xai_plot_note(log, "figures: no experiment has pixel-flipping scores: AOPC figure skipped\n");
    if (!any_time) xai_plot_note(log, "figures: no experiment has attribution timings: runtime figure skipped\n");
done:
    xai_sbuf_free(&a);
    xai_sbuf_free(&r);
    xai_sbuf_free(&meta);
    return st;
}

xai_status xai_export_cross(const char *results_root, const char *const *exps, int n, FILE *log)
{
    xai_exp_summary *s = NULL;
    char **m = NULL, *final = xai_path_join(results_root, "plot"), *tmp = NULL;
    int nm = 0;
    xai_status st;
    if ((st = xai_exp_summaries_load(&s, results_root, exps, n)) != XAI_OK) goto done;
    nm = cross_methods(&m, s, n);
    if ((st = xai_plot_tmp_dir(&tmp, final)) != XAI_OK) goto done;
    if ((st = cross_files(tmp, s, n, m, nm, log)) != XAI_OK) goto done;
    st = xai_plot_commit_dir(tmp, final);
done:
    if (st != XAI_OK && tmp) xai_plot_remove_dir(tmp);
    free_strv(m, nm);
    free(tmp);
    free(final);
    xai_exp_summaries_free(s, n);
    return st;
}
