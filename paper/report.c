/* report.c: the reproduction report (results/report.md and results/report.html), built from the
 * experiment summaries (paper/summary.c); every number comes from the result files (results/README.md). */
#include "paper/publish.h"
#include "core/io.h"
#include "explainers/evaluate.h"
#include "paper/seeds.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- document model */

/* The report is written once into two buffers, Markdown and HTML, so the two never disagree. */
#define MAXCOLS 40 /* the agreement matrix: one column per metric */

typedef struct {
    int ncols;
    char cell[MAXCOLS][160];
} row;

/* A table is kept until its end, so that each column's alignment follows what its cells hold:
 * numbers right-aligned and never wrapped, text left-aligned. */
typedef struct {
    row *rows; /* rows[0] is the header */
    int n, cap;
} table;

typedef struct {
    xai_sbuf md, html;
    int nfig;  /* figures so far, for "Figure N." */
    table tab; /* the table being written */
} doc;

static void html_escape(xai_sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': xai_sbuf_printf(b, "&amp;"); break;
        case '<': xai_sbuf_printf(b, "&lt;"); break;
        case '>': xai_sbuf_printf(b, "&gt;"); break;
        case '"': xai_sbuf_printf(b, "&quot;"); break;
        default: xai_sbuf_printf(b, "%c", *s);
        }
    }
}

/* Table cells and paragraphs: '|' would split a Markdown cell, '*', '_' and '`' would start markup. */
static void md_escape(xai_sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '\\') xai_sbuf_printf(b, "\\");
        if (*s == '\n') xai_sbuf_printf(b, " ");
        else xai_sbuf_printf(b, "%c", *s);
    }
}

static void doc_heading(doc *d, int level, const char *text)
{
    xai_sbuf_printf(&d->md, "\n%.*s ", level, "######");
    md_escape(&d->md, text);
    xai_sbuf_printf(&d->md, "\n\n");
    xai_sbuf_printf(&d->html, "<h%d>", level);
    html_escape(&d->html, text);
    xai_sbuf_printf(&d->html, "</h%d>\n", level);
}

static void doc_para(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_para(doc *d, const char *fmt, ...)
{
    xai_sbuf t = {0};
    va_list ap;
    va_start(ap, fmt);
    xai_sbuf_vprintf(&t, fmt, ap);
    va_end(ap);
    md_escape(&d->md, t.s ? t.s : "");
    xai_sbuf_printf(&d->md, "\n\n");
    xai_sbuf_printf(&d->html, "<p>");
    html_escape(&d->html, t.s ? t.s : "");
    xai_sbuf_printf(&d->html, "</p>\n");
    xai_sbuf_free(&t);
}

static void doc_code(doc *d, const char *text)
{
    xai_sbuf_printf(&d->md, "```\n%s%s```\n\n", text, text[0] && text[strlen(text) - 1] != '\n' ? "\n" : "");
    xai_sbuf_printf(&d->html, "<pre>");
    html_escape(&d->html, text);
    xai_sbuf_printf(&d->html, "</pre>\n");
}

/* A section the HTML shows collapsed (reference material after the results); Markdown has no
 * such thing and gets a heading. */
static void doc_details_begin(doc *d, const char *title)
{
    xai_sbuf_printf(&d->md, "\n### ");
    md_escape(&d->md, title);
    xai_sbuf_printf(&d->md, "\n\n");
    xai_sbuf_printf(&d->html, "<details>\n<summary><h3>");
    html_escape(&d->html, title);
    xai_sbuf_printf(&d->html, "</h3></summary>\n");
}

static void doc_details_end(doc *d) { xai_sbuf_printf(&d->html, "</details>\n"); }

static void row_begin(row *r) { memset(r, 0, sizeof *r); }

static void cell(row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cell(row *r, const char *fmt, ...)
{
    XAI_CHECK(r->ncols < MAXCOLS);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cell[r->ncols++], sizeof r->cell[0], fmt, ap);
    va_end(ap);
}

/* A number or an en dash when it is not in the files. */
static void cellf(row *r, const char *fmt, double v)
{
    if (isfinite(v)) cell(r, fmt, v);
    else cell(r, "–");
}

/* Mean ± standard error in significant digits (the values of one column can span decades: a
 * logit drop of 0.004 beside one of 40); the error to two digits, as precise as it is known. */
static void cell_pm(row *r, double v, double se)
{
    if (!isfinite(v)) cell(r, "–");
    else if (isfinite(se)) cell(r, "%.4g ± %.2g", v, se);
    else cell(r, "%.4g", v);
}

static void cell_i64(row *r, int64_t v)
{
    if (v >= 0) cell(r, "%lld", (long long)v);
    else cell(r, "–");
}

static void cell_str(row *r, const char *s) { cell(r, "%s", s && s[0] ? s : "–"); }

static int is_dash(const char *s) { return !strcmp(s, "–") || !s[0]; }

/* A value like "0.412 ± 0.013", "97.50 %", "1.2e-05", "3×28×28", "900 / 100 / 200", "12.3 s",
 * "0.41 [0.30, 0.52] ab" or "2 (0.41, ab)": it starts with a digit (after a sign) and holds no
 * letters but an exponent, a seconds unit or a last word of significance letters. */
static int is_number(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    if (!(*p >= '0' && *p <= '9') && !(*p == '.' && p[1] >= '0' && p[1] <= '9')) return 0;
    const char *last = strrchr(s, ' ');
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= '0' && c <= '9') || strchr(".+- %/[](),", c)) continue;
        if (last && p > last && c >= 'a' && c <= 'z' && strpbrk(s, "[(")) continue; /* letters after the numbers */
        if ((c == 'e' || c == 'E') && p[1] && strchr("+-0123456789", p[1])) continue;
        if (c == 's' && p > s && p[-1] == ' ' && !p[1]) continue;
        if (c == 0xc2 && (unsigned char)p[1] == 0xb1) { p++; continue; }                            /* ± */
        if (c == 0xc3 && (unsigned char)p[1] == 0x97) { p++; continue; }                            /* × */
        return 0;
    }
    return 1;
}

/* 1 when every cell of column c below the header is a number or absent, and one is a number. */
static int numeric_column(const table *t, int c)
{
    int any = 0;
    for (int i = 1; i < t->n; i++) {
        if (c >= t->rows[i].ncols || is_dash(t->rows[i].cell[c])) continue;
        if (!is_number(t->rows[i].cell[c])) return 0;
        any = 1;
    }
    return any;
}

static void table_write(doc *d, const table *t)
{
    int ncols = t->rows[0].ncols, num[MAXCOLS];
    for (int c = 0; c < ncols; c++) num[c] = numeric_column(t, c);
    xai_sbuf_printf(&d->html, "<div class=\"tw\"><table>\n"); /* a wide table scrolls, the page does not */
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        const char *tag = i ? "td" : "th";
        xai_sbuf_printf(&d->md, "|");
        xai_sbuf_printf(&d->html, "<tr>");
        for (int c = 0; c < r->ncols; c++) {
            xai_sbuf_printf(&d->md, " ");
            md_escape(&d->md, r->cell[c]);
            xai_sbuf_printf(&d->md, " |");
            /* Identifiers and numbers stay on one line; only a sentence-long text cell wraps. */
            const char *cls = c < ncols && num[c] ? " class=\"num\"" : i && strlen(r->cell[c]) > 40 ? " class=\"long\"" : "";
            xai_sbuf_printf(&d->html, "<%s%s>", tag, cls);
            html_escape(&d->html, r->cell[c]);
            xai_sbuf_printf(&d->html, "</%s>", tag);
        }
        xai_sbuf_printf(&d->md, "\n");
        xai_sbuf_printf(&d->html, "</tr>\n");
        if (i == 0) {
            xai_sbuf_printf(&d->md, "|");
            for (int c = 0; c < ncols; c++) xai_sbuf_printf(&d->md, "%s|", num[c] ? " ---: " : " :--- ");
            xai_sbuf_printf(&d->md, "\n");
        }
    }
    xai_sbuf_printf(&d->md, "\n");
    xai_sbuf_printf(&d->html, "</table></div>\n");
}

static void table_row(doc *d, const row *r, int header)
{
    table *t = &d->tab;
    if (header) t->n = 0;
    if (t->n == t->cap) {
        row *w = xai_malloc((size_t)(t->cap ? 2 * t->cap : 16) * sizeof *w);
        if (t->n) memcpy(w, t->rows, (size_t)t->n * sizeof *w);
        free(t->rows);
        t->rows = w;
        t->cap = t->cap ? 2 * t->cap : 16;
    }
    t->rows[t->n++] = *r;
}

static void table_begin(doc *d, const row *header) { table_row(d, header, 1); }

static void table_end(doc *d)
{
    if (d->tab.n) table_write(d, &d->tab);
    d->tab.n = 0;
}

static void doc_figure(doc *d, const char *src, const char *text)
{
    char caption[800];
    snprintf(caption, sizeof caption, "Figure %d. %s", ++d->nfig, text);
    xai_sbuf_printf(&d->md, "![");
    md_escape(&d->md, caption);
    xai_sbuf_printf(&d->md, "](%s)\n\n*", src);
    md_escape(&d->md, caption);
    xai_sbuf_printf(&d->md, "*\n\n");
    xai_sbuf_printf(&d->html, "<figure><a href=\"%s\"><img src=\"%s\" alt=\"", src, src);
    html_escape(&d->html, caption);
    xai_sbuf_printf(&d->html, "\"></a><figcaption>");
    html_escape(&d->html, caption);
    xai_sbuf_printf(&d->html, "</figcaption></figure>\n");
}

/* ---------------------------------------------------------------- report */

static const char *pct(char *buf, size_t n, double v)
{
    if (isfinite(v)) snprintf(buf, n, "%.2f %%", 100 * v);
    else snprintf(buf, n, "–");
    return buf;
}

static void report_runs(doc *d, xai_exp_summary *s, int n)
{
    doc_heading(d, 2, "Setup");
    row h;
    row_begin(&h);
    const char *cols[] = {"experiment", "dataset", "input (C×H×W)", "classes", "train / val / test images",
                          "epochs", "batch", "optimiser", "lr", "schedule", "seed", "training time"};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) cell(&h, "%s", cols[i]);
    table_begin(d, &h);
    for (int e = 0; e < n; e++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", s[e].name);
        cell_str(&r, s[e].dataset);
        if (s[e].has_model)
            cell(&r, "%lld×%lld×%lld", (long long)s[e].input_shape[0], (long long)s[e].input_shape[1],
                 (long long)s[e].input_shape[2]);
        else cell(&r, "–");
        cell_i64(&r, s[e].has_model ? s[e].nclasses : -1);
        if (s[e].has_train)
            cell(&r, "%lld / %lld / %lld", (long long)s[e].train_images, (long long)s[e].val_images,
                 (long long)s[e].test_images);
        else cell(&r, "–");
        cell_i64(&r, s[e].epochs);
        cell_i64(&r, s[e].batch);
        cell_str(&r, s[e].optimizer);
        cellf(&r, "%g", s[e].lr);
        cell_str(&r, s[e].schedule);
        cell_i64(&r, s[e].seed);
        cellf(&r, "%.1f s", s[e].train_seconds);
        table_row(d, &r, 0);
    }
    table_end(d);
    for (int e = 0; e < n; e++)
        if (s[e].has_train && s[e].limit > 0)
            doc_para(d, "%s was trained on a subset: the first %lld images of each split (--limit).", s[e].name,
                     (long long)s[e].limit);

}

static void report_architectures(doc *d, xai_exp_summary *s, int n)
{
    doc_details_begin(d, "Architectures");
    for (int e = 0; e < n; e++) {
        if (!s[e].has_model) continue;
        doc_para(d, "%s: %lld layers, from /model@layers_text of %s/model.h5:", s[e].name, (long long)s[e].nlayers,
                 s[e].name);
        doc_code(d, s[e].layers_text);
    }
    doc_details_end(d);
}

static void report_explanations(doc *d, xai_exp_summary *s, int n)
{
    row h;
    doc_heading(d, 3, "Explanations and evaluation");
    row_begin(&h);
    const char *c2[] = {"experiment", "explained test images", "explained class", "methods", "pixel flipping"};
    for (size_t i = 0; i < sizeof c2 / sizeof *c2; i++) cell(&h, "%s", c2[i]);
    table_begin(d, &h);
    for (int e = 0; e < n; e++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", s[e].name);
        cell_i64(&r, s[e].has_attr ? s[e].n_images : -1);
        cell_str(&r, s[e].target_mode);
        char list[160] = "";
        for (int i = 0; i < s[e].nmethods; i++) {
            size_t k = strlen(list);
            snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", s[e].methods[i].name);
        }
        cell_str(&r, list);
        if (s[e].has_metrics)
            cell(&r, "%lld images, %s perturbation, patch %lld, %lld steps of %lld of %lld features (up to %.0f %%)",
                 (long long)s[e].metric_images, s[e].perturb, (long long)s[e].patch, (long long)s[e].flip_steps,
                 (long long)s[e].per_step, (long long)s[e].n_features, 100 * s[e].fraction);
        else cell(&r, "–");
        table_row(d, &r, 0);
    }
    table_end(d);

}

static void report_provenance_table(doc *d, xai_exp_summary *s, int n)
{
    row h;
    doc_details_begin(d, "Provenance");
    row_begin(&h);
    const char *c3[] = {"experiment", "program version", "trained (UTC)", "threads", "config", "dataset SHA-256"};
    for (size_t i = 0; i < sizeof c3 / sizeof *c3; i++) cell(&h, "%s", c3[i]);
    table_begin(d, &h);
    for (int e = 0; e < n; e++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", s[e].name);
        cell_str(&r, s[e].model_version[0] ? s[e].model_version : s[e].attr_version);
        cell_str(&r, s[e].created_utc);
        cell_i64(&r, s[e].threads);
        cell_str(&r, s[e].config_path);
        cell(&r, "%.16s", s[e].dataset_sha256[0] ? s[e].dataset_sha256 : "–");
        table_row(d, &r, 0);
    }
    table_end(d);
}

static void report_provenance_records(doc *d, const char *root, xai_exp_summary *s, int n)
{
    /* The pipeline's provenance records (machine, commands, hashes) go in verbatim: the root's
     * (e = -1), then each experiment's. */
    for (int e = -1; e < n; e++) {
        const char *where = e < 0 ? root : s[e].dir, *label = e < 0 ? "." : s[e].name;
        DIR *dir = opendir(where);
        if (!dir) continue;
        char **files = NULL;
        int nf = 0;
        struct dirent *de;
        while ((de = readdir(dir)))
            if (!strncmp(de->d_name, "provenance", 10)) {
                char **w = xai_malloc((size_t)(nf + 1) * sizeof *w);
                if (nf) memcpy(w, files, (size_t)nf * sizeof *w);
                free(files);
                files = w;
                files[nf++] = xai_strdup(de->d_name);
            }
        closedir(dir);
        xai_exp_sort(files, nf);
        for (int i = 0; i < nf; i++) {
            char *p = xai_path_join(where, files[i]);
            char *text = NULL;
            size_t len = 0;
            if (xai_read_file(p, &text, &len) == XAI_OK) {
                enum { MAXTEXT = 8000 };
                doc_para(d, "%s/%s%s:", label, files[i], len > MAXTEXT ? " (first 8000 bytes)" : "");
                if (len > MAXTEXT) text[MAXTEXT] = 0;
                doc_code(d, text);
            }
            xai_clear_error();
            free(text);
            free(p);
            free(files[i]);
        }
        free(files);
    }
}

/* After the results: how they were made; architectures and provenance collapsed in HTML. */
static void report_setup(doc *d, const char *root, xai_exp_summary *s, int n)
{
    report_runs(d, s, n);
    report_explanations(d, s, n);
    report_architectures(d, s, n);
    report_provenance_table(d, s, n);
    report_provenance_records(d, root, s, n);
    doc_details_end(d);
}

static void report_accuracy(doc *d, xai_exp_summary *s, int n)
{
    doc_heading(d, 2, "Accuracy");
    doc_para(d, "Top-1 accuracy of the kept weights (/train@final_*_acc of each model file); train accuracy is the "
                "running mean over the kept epoch on augmented inputs.");
    row h;
    row_begin(&h);
    const char *cols[] = {"experiment", "train", "val", "test", "test loss", "kept epoch", "selection"};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) cell(&h, "%s", cols[i]);
    table_begin(d, &h);
    for (int e = 0; e < n; e++) {
        row r;
        char b[32];
        row_begin(&r);
        cell(&r, "%s", s[e].name);
        cell(&r, "%s", pct(b, sizeof b, s[e].train_acc));
        cell(&r, "%s", pct(b, sizeof b, s[e].val_acc));
        cell(&r, "%s", pct(b, sizeof b, s[e].test_acc));
        cellf(&r, "%.4g", s[e].test_loss);
        cell_i64(&r, s[e].best_epoch);
        cell_str(&r, s[e].select);
        table_row(d, &r, 0);
    }
    table_end(d);
}

/* Median IG error against the number of steps: rows steps, columns rules, values v[rule * T + step]. */
static void ig_rule_table(doc *d, const xai_ig_steps_summary *ig, const double *v)
{
    row h;
    row_begin(&h);
    cell(&h, "steps");
    for (int r = 0; r < ig->nrules && r < MAXCOLS - 1; r++) cell(&h, "%s", ig->rule[r]);
    table_begin(d, &h);
    for (int k = 0; k < ig->nsteps; k++) {
        row r;
        row_begin(&r);
        cell(&r, "%lld", (long long)ig->steps[k]);
        for (int q = 0; q < ig->nrules && q < MAXCOLS - 1; q++) cellf(&r, "%.3g", v[(size_t)q * ig->nsteps + k]);
        table_row(d, &r, 0);
    }
    table_end(d);
}

/* The map error against exact IG: its table, then in words the order per rule and the steps for 1 %. */
static void report_ig_exact(doc *d, const xai_ig_steps_summary *ig)
{
    if (!ig->exact) {
        if (ig->exact_note[0]) doc_para(d, "No exact IG reference for %s: %s", ig->method, ig->exact_note);
        return;
    }
    doc_para(d,
             "IG map error against exact IG (%s): median relative L2 error ||R_n - R_exact|| / ||R_exact|| over %lld "
             "images. Exact IG crossed %.0f linear regions per image (median, max %.0f), completeness residual "
             "median %.2g (max %.2g), %.3g s per image.",
             ig->method, (long long)ig->exact_n, ig->regions_median, ig->regions_max, ig->residual_median,
             ig->residual_max, ig->exact_seconds_mean);
    ig_rule_table(d, ig, ig->map_median);
    xai_sbuf o = {0}, n = {0};
    for (int r = 0; r < ig->nrules; r++) {
        char b[32];
        xai_eval_steps_text(b, sizeof b, ig->steps_1pct[r], ig->steps[0], ig->steps[ig->nsteps - 1]);
        xai_sbuf_printf(&o, "%s%s %.2f", r ? ", " : "", ig->rule[r], ig->order[r]);
        xai_sbuf_printf(&n, "%s%s %s", r ? ", " : "", ig->rule[r], b);
    }
    doc_para(d, "Observed convergence order of the map error (least-squares slope in log-log): %s. Steps for 1 %% map "
                "error: %s.", o.s ? o.s : "", n.s ? n.s : "");
    if (ig->check_run)
        doc_para(d, "Check at %d midpoint steps: map error %.3g, predicted %.3g by the order fitted on fewer steps: %s.",
                 XAI_IG_CHECK_STEPS, ig->check_measured, ig->check_predicted,
                 ig->check_ok ? "agrees" : "DOES NOT agree (outside the documented factor)");
    xai_sbuf_free(&o);
    xai_sbuf_free(&n);
}

/* IG completeness against the number of steps, one table per curve, and the map error against exact IG. */
static void report_ig_steps(doc *d, const xai_exp_summary *s)
{
    for (int g = 0; g < s->nig; g++) {
        const xai_ig_steps_summary *ig = &s->ig[g];
        doc_para(d, "IG completeness against the number of steps (%s, %s baseline): median relative error.",
                 ig->method, ig->baseline[0] ? ig->baseline : "recorded");
        ig_rule_table(d, ig, ig->median);
        report_ig_exact(d, ig);
    }
}

static void report_metrics(doc *d, xai_exp_summary *s, int n)
{
    doc_heading(d, 2, "Attribution quality");
    doc_para(d, "Pixel flipping on the target logit (metrics.h5): AOPC MoRF (most relevant first, higher is better), "
                "AOPC LeRF (least relevant first, lower is better), ABPC = AUC(LeRF) - AUC(MoRF) (higher is better), "
                "mean ± standard error over images; z: paired z-score of AOPC MoRF against the random order. "
                "Completeness: relative error |sum R - (f(x) - f(x'))| / |f(x) - f(x')| for IG, |sum R - f(x)| / "
                "|f(x)| (conservation) for the others, median and 90th percentile. |Δ|: /ig/delta (IG) or "
                "/lrp/residual (LRP) of the attribution file, in logit units. Time: wall time per attribution.");
    for (int e = 0; e < n; e++) {
        doc_heading(d, 3, s[e].name);
        if (!s[e].nmethods) {
            doc_para(d, "No attribution or metrics file.");
            continue;
        }
        row h;
        row_begin(&h);
        const char *cols[] = {"method", "kind", "AOPC MoRF", "AOPC LeRF", "ABPC", "z vs random", "completeness median",
                              "completeness p90", "|Δ| median", "|Δ| max", "ms / attribution"};
        for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) cell(&h, "%s", cols[i]);
        table_begin(d, &h);
        if (isfinite(s[e].random_aopc)) {
            row r;
            row_begin(&r);
            cell(&r, "random order (control)");
            cell(&r, "control");
            cell_pm(&r, s[e].random_aopc, s[e].random_aopc_se);
            for (int k = 0; k < 8; k++) cell(&r, "–");
            table_row(d, &r, 0);
        }
        for (int i = 0; i < s[e].nmethods; i++) {
            const xai_method_summary *m = &s[e].methods[i];
            row r;
            row_begin(&r);
            cell(&r, "%s", m->name);
            cell_str(&r, m->kind);
            cell_pm(&r, m->aopc_morf, m->aopc_morf_se);
            cell_pm(&r, m->aopc_lerf, m->aopc_lerf_se);
            cell_pm(&r, m->abpc, m->abpc_se);
            cellf(&r, "%.3g", m->vs_random_z);
            cellf(&r, "%.3g", m->compl_median);
            cellf(&r, "%.3g", m->compl_p90);
            cellf(&r, "%.3g", m->delta_median);
            cellf(&r, "%.3g", m->delta_max);
            cellf(&r, "%.4g", 1e3 * m->sec_per_attr);
            table_row(d, &r, 0);
        }
        table_end(d);
        report_ig_steps(d, &s[e]);
    }
}

static int file_in(const char *root, const char *rel)
{
    char *p = xai_path_join(root, rel);
    int e = xai_file_exists(p);
    free(p);
    return e;
}

/* ------------------------------------------------------- statistics */

/* One table of a metric family: methods in the order of its first metric, a cell per metric. */
static void stats_family_table(doc *d, const xai_metrics_stats_set *st, const char *family)
{
    row h;
    row_begin(&h);
    cell(&h, "method");
    int first = -1;
    for (int i = 0; i < st->nmetrics; i++) {
        if (strcmp(st->m[i].family, family)) continue;
        if (first < 0) first = i;
        cell(&h, "%s (%s, n = %d)", st->m[i].name, st->m[i].higher_better ? "higher better" : "lower better",
             st->m[i].n_used);
    }
    cell(&h, "rank (%s), 95 %% interval", st->m[first].name);
    table_begin(d, &h);
    int *order = xai_malloc((size_t)st->k * sizeof *order);
    xai_metric_order(order, &st->m[first]);
    for (int o = 0; o < st->k; o++) {
        const int j = order[o];
        row r;
        row_begin(&r);
        cell(&r, "%s", st->methods[j]);
        for (int i = 0; i < st->nmetrics; i++) {
            const xai_metric_stats *m = &st->m[i];
            if (strcmp(m->family, family)) continue;
            if (!isfinite(m->mean[j])) cell(&r, "–");
            else cell(&r, "%.4g [%.4g, %.4g] %s", m->mean[j], m->lo[j], m->hi[j], m->letters[j]);
        }
        const xai_metric_stats *m = &st->m[first];
        if (isfinite(m->rank[j])) cell(&r, "%g [%g, %g]", m->rank[j], m->rank_lo[j], m->rank_hi[j]);
        else cell(&r, "–");
        table_row(d, &r, 0);
    }
    free(order);
    table_end(d);
}

/* Kendall tau-b between the metrics' rankings of the methods, as a table. */
static void stats_agreement(doc *d, const xai_metrics_stats_set *st)
{
    const int m = st->nmetrics < MAXCOLS - 1 ? st->nmetrics : MAXCOLS - 1;
    if (!st->tau || m < 2) return;
    doc_para(d, "Agreement between metrics: Kendall's tau-b between the method rankings of each pair of metrics "
                "(1: the same order, -1: reversed; a lower-is-better metric is ranked in its own direction).");
    row h;
    row_begin(&h);
    cell(&h, "tau-b");
    for (int b = 0; b < m; b++) cell(&h, "%s", st->m[b].name);
    table_begin(d, &h);
    for (int a = 0; a < m; a++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", st->m[a].name);
        for (int b = 0; b < m; b++) cellf(&r, "%.2f", st->tau[a * st->nmetrics + b]);
        table_row(d, &r, 0);
    }
    table_end(d);
}

/* The metric called name in a stats set; NULL when absent. */
static const xai_metric_stats *stats_metric(const xai_metrics_stats_set *st, const char *name)
{
    for (int i = 0; i < st->nmetrics; i++)
        if (!strcmp(st->m[i].name, name)) return &st->m[i];
    return NULL;
}

/* Method j of set a in set b (by name); -1 when absent. */
static int stats_method(const xai_metrics_stats_set *b, const char *name)
{
    for (int j = 0; j < b->k; j++)
        if (!strcmp(b->methods[j], name)) return j;
    return -1;
}

/* The confound table's columns: each ranking metric under the zero/blur removal references
 * (metrics.h5 and metrics-confound.h5) and ROAD's imputation (metrics.h5; ROAD imputes removed
 * pixels from their neighbours and uses no reference image). Groups of three: one per score. */
typedef struct {
    const char *metric, *label;
    int confound; /* 1: from metrics-confound.h5 */
    int road;     /* the reference is ROAD's imputation, whatever --perturb was */
} confound_col;

static const confound_col CONFOUND_COLS[] = {
    {"pf_aopc_morf", "AOPC MoRF", 0, 0}, {"pf_aopc_morf", "AOPC MoRF", 1, 0},
    {"road_morf_auc_prob", "ROAD MoRF AUC", 0, 1}, {"pf_abpc", "ABPC", 0, 0},
    {"pf_abpc", "ABPC", 1, 0}, {"road_lerf_auc_prob", "ROAD LeRF AUC", 0, 1},
};
enum { NCONFOUND = sizeof CONFOUND_COLS / sizeof *CONFOUND_COLS, CONFOUND_GROUP = 3 };
static const char *const CONFOUND_GROUPS[NCONFOUND / CONFOUND_GROUP] = {
    "most relevant first (AOPC MoRF, ROAD MoRF AUC)", "both orders (ABPC, ROAD LeRF AUC)"};

static const xai_metrics_stats_set *confound_set(const xai_exp_summary *s, int c)
{
    return CONFOUND_COLS[c].confound ? &s->confound : &s->stats;
}

static const char *confound_ref(const xai_exp_summary *s, int c)
{
    return CONFOUND_COLS[c].road ? "ROAD imputation" : confound_set(s, c)->perturb;
}

/* Rank of method `name` in column c; NAN when the metric or the method is not there. */
static double confound_rank(const xai_exp_summary *s, int c, const char *name, const xai_metric_stats **m, int *j)
{
    const xai_metrics_stats_set *set = confound_set(s, c);
    *m = stats_metric(set, CONFOUND_COLS[c].metric);
    *j = *m ? stats_method(set, name) : -1;
    return *j >= 0 ? (*m)->rank[*j] : NAN;
}

/* Kendall tau-b between the rankings of columns x and y over the methods of the main set. */
static double confound_tau_of(const xai_exp_summary *s, int x, int y)
{
    const xai_metrics_stats_set *a = &s->stats;
    double *u = xai_malloc((size_t)a->k * sizeof *u), *v = xai_malloc((size_t)a->k * sizeof *v);
    int n = 0;
    for (int i = 0; i < a->k; i++) {
        const xai_metric_stats *m;
        int j;
        const double rx = confound_rank(s, x, a->methods[i], &m, &j), ry = confound_rank(s, y, a->methods[i], &m, &j);
        if (isfinite(rx) && isfinite(ry)) u[n] = rx, v[n] = ry, n++;
    }
    const double tau = n >= 2 ? xai_kendall_tau_b(u, v, n) : NAN;
    free(u);
    free(v);
    return tau;
}

/* Per score: Kendall tau-b between the rankings under every pair of references, in words. */
static void confound_tau(doc *d, const xai_exp_summary *s, const int *shown)
{
    xai_sbuf t = {0};
    for (int g = 0; g < NCONFOUND; g += CONFOUND_GROUP) {
        xai_sbuf p = {0};
        for (int x = g; x < g + CONFOUND_GROUP; x++)
            for (int y = x + 1; y < g + CONFOUND_GROUP; y++)
                if (shown[x] && shown[y])
                    xai_sbuf_printf(&p, "%s%s vs %s %.2f", p.n ? ", " : "", confound_ref(s, x), confound_ref(s, y),
                                    confound_tau_of(s, x, y));
        if (p.n) xai_sbuf_printf(&t, "%s%s: %s", t.n ? "; " : "", CONFOUND_GROUPS[g / CONFOUND_GROUP], p.s);
        xai_sbuf_free(&p);
    }
    if (t.n)
        doc_para(d, "Kendall's tau-b between the rankings under two references (1: the reference does not change "
                    "the ranking), %s.", t.s);
    xai_sbuf_free(&t);
}

/* The ranking under each removal reference side by side (the baseline-match confound). */
static void stats_confound(doc *d, const xai_exp_summary *s)
{
    const xai_metrics_stats_set *a = &s->stats, *b = &s->confound;
    const xai_metric_stats *first = stats_metric(a, CONFOUND_COLS[0].metric);
    if (!b->nmetrics || !first) return;
    int shown[NCONFOUND];
    for (int c = 0; c < NCONFOUND; c++) shown[c] = stats_metric(confound_set(s, c), CONFOUND_COLS[c].metric) != NULL;
    doc_para(d, "Confound: the same attributions scored with removed features set to %s (metrics.h5), to %s "
                "(metrics-confound.h5) and, for ROAD, imputed from their neighbours plus noise (no reference image; "
                "single pixels, on the probability). A method whose baseline matches the removal (IG with a black "
                "baseline under zero removal, IG with a blur baseline under blur removal) is scored against its own "
                "reference. Cells: rank (mean, letters).", a->perturb, b->perturb);
    row h;
    row_begin(&h);
    cell(&h, "method");
    for (int c = 0; c < NCONFOUND; c++)
        if (shown[c])
            cell(&h, "%s, %s%s", CONFOUND_COLS[c].label, CONFOUND_COLS[c].road ? "imputation" : confound_ref(s, c),
                 CONFOUND_COLS[c].road ? "" : " removal");
    table_begin(d, &h);
    int *order = xai_malloc((size_t)a->k * sizeof *order);
    xai_metric_order(order, first);
    for (int o = 0; o < a->k; o++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", a->methods[order[o]]);
        for (int c = 0; c < NCONFOUND; c++) {
            if (!shown[c]) continue;
            const xai_metric_stats *m;
            int j;
            const double rank = confound_rank(s, c, a->methods[order[o]], &m, &j);
            if (!isfinite(rank)) cell(&r, "–");
            else cell(&r, "%g (%.4g, %s)", rank, m->mean[j], m->letters[j]);
        }
        table_row(d, &r, 0);
    }
    free(order);
    table_end(d);
    confound_tau(d, s, shown);
}

/* Per dataset: one table per metric family (mean, CI, letters), the agreement matrix, the confound. */
static void report_statistics(doc *d, const char *root, xai_exp_summary *s, int n)
{
    doc_heading(d, 2, "Which method is most faithful: statistics");
    doc_para(d, "Per metric and method: mean over the images and its 95 %% percentile bootstrap interval (the same "
                "image resamples for every method); letters: methods sharing a letter are not significantly "
                "different (paired Wilcoxon signed-rank over all method pairs, Holm-corrected within the metric, "
                "p < 0.05); a shared letter is no evidence of equivalence. Rank: 1 = best, with its bootstrap "
                "interval. Only images where every method has a value are used (n). Formulas: METRICS.md.");
    for (int e = 0; e < n; e++) {
        const xai_metrics_stats_set *st = &s[e].stats;
        if (!st->nmetrics) continue;
        doc_heading(d, 3, s[e].name);
        for (int i = 0; i < st->nmetrics; i++) {
            int seen = 0;
            for (int j = 0; j < i && !seen; j++) seen = !strcmp(st->m[j].family, st->m[i].family);
            if (seen) continue;
            doc_para(d, "%s.", st->m[i].family);
            stats_family_table(d, st, st->m[i].family);
        }
        stats_agreement(d, st);
        char src[1200];
        snprintf(src, sizeof src, "%s/figures/agreement.png", s[e].name);
        if (file_in(root, src))
            doc_figure(d, src, "Kendall's tau-b between the method rankings of every pair of metrics.");
        stats_confound(d, &s[e]);
    }
}

/* Between-model spread ([train] seeds, paper/seeds.c): per method, the first metric of each family. */
static void seeds_table(doc *d, const xai_seed_spread *sp)
{
    const xai_metrics_stats_set *f = &sp->first;
    row h;
    row_begin(&h);
    cell(&h, "method");
    for (int i = 0; i < f->nmetrics; i++)
        if (i == 0 || strcmp(f->m[i].family, f->m[i - 1].family)) {
            cell(&h, "%s: models, mean ± s.d. [95 %% CI]", f->m[i].name);
            cell(&h, "%s: model 1, images [95 %% CI]", f->m[i].name);
        }
    table_begin(d, &h);
    int *order = xai_malloc((size_t)f->k * sizeof *order);
    xai_metric_order(order, &f->m[0]);
    for (int o = 0; o < f->k; o++) {
        const int j = order[o];
        row r;
        row_begin(&r);
        cell(&r, "%s", f->methods[j]);
        for (int i = 0; i < f->nmetrics; i++) {
            if (i && !strcmp(f->m[i].family, f->m[i - 1].family)) continue;
            const size_t c = (size_t)i * f->k + j;
            if (sp->count[c] < 2) cell(&r, "–");
            else cell(&r, "%.4g ± %.2g [%.4g, %.4g]", sp->mean[c], sp->sd[c], sp->lo[c], sp->hi[c]);
            if (isfinite(f->m[i].mean[j])) cell(&r, "%.4g [%.4g, %.4g]", f->m[i].mean[j], f->m[i].lo[j], f->m[i].hi[j]);
            else cell(&r, "–");
        }
        table_row(d, &r, 0);
    }
    free(order);
    table_end(d);
}

/* Per metric, Kendall tau-b between the models' method rankings (paper/seeds.c). */
static void seeds_agreement(doc *d, const xai_seed_spread *sp)
{
    const xai_metrics_stats_set *f = &sp->first;
    doc_para(d, "Does retraining change the ranking? Per metric (every metric, not only the first of each family), "
                "each model ranks the methods by its means over the same images; Kendall's tau-b between the "
                "rankings of every pair of models (1: the same order, -1: reversed), the mean and the lowest over "
                "the pairs, over the methods every model scored; winners: how many methods were best in some "
                "model (1: the same winner in every model).");
    row h;
    row_begin(&h);
    cell(&h, "metric");
    cell(&h, "methods");
    cell(&h, "model pairs");
    cell(&h, "mean tau-b");
    cell(&h, "min tau-b");
    cell(&h, "winners");
    table_begin(d, &h);
    for (int i = 0; i < f->nmetrics; i++) {
        row r;
        row_begin(&r);
        cell(&r, "%s", f->m[i].name);
        cell(&r, "%d", sp->tau_methods[i]);
        cell(&r, "%d", sp->tau_pairs[i]);
        cellf(&r, "%.2f", sp->tau_mean[i]);
        cellf(&r, "%.2f", sp->tau_min[i]);
        cell(&r, "%d", sp->winners[i]);
        table_row(d, &r, 0);
    }
    table_end(d);
}

static void report_seeds(doc *d, const char *root, xai_exp_summary *s, int n)
{
    for (int e = 0, head = 0; e < n; e++) {
        xai_seed_spread sp;
        char *dir = xai_path_join(root, s[e].name);
        xai_status st = xai_seed_spread_load(&sp, dir);
        free(dir);
        if (st != XAI_OK) xai_clear_error();
        else if (sp.models >= 2 && sp.mean) {
            if (!head++) {
                doc_heading(d, 2, "Between-model spread");
                doc_para(d, "Each experiment trained with [train] seeds = K (models 2..K in <experiment>/seed<k>/, "
                            "seeds + 1000 k): per method, the mean over the K models of each model's mean over the "
                            "same images, the s.d. between the models and the 95 %% t interval of that mean (K - 1 "
                            "degrees of freedom): the spread between training runs. Beside it the first model's "
                            "mean with its 95 %% bootstrap interval over all its images: the spread between "
                            "images. The first metric of each family is shown (a metric the further models did "
                            "not run: –).");
            }
            doc_heading(d, 3, s[e].name);
            doc_para(d, "%d models; the model means over the first %d images, which every model scored.", sp.models,
                     sp.images);
            seeds_table(d, &sp);
            seeds_agreement(d, &sp);
        }
        if (st == XAI_OK) xai_seed_spread_free(&sp);
    }
}

static void report_figures(doc *d, const char *root, xai_exp_summary *s, int n)
{
    doc_heading(d, 2, "Figures");
    int any = 0;
    char src[1200], cap[600];
    for (int e = 0; e < n; e++) {
        const char *nm = s[e].name;
        snprintf(src, sizeof src, "%s/figures/heatmaps.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap,
                     "%s: test images (correctly and wrongly classified) and their IG and LRP relevance maps, summed "
                     "over channels and scaled by each map's max |R| (red positive, blue negative).",
                     nm);
            doc_figure(d, src, cap), any = 1;
        }
        snprintf(src, sizeof src, "%s/figures/pixelflip.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap,
                     "%s: target logit while features are removed most relevant first (MoRF, left) and least "
                     "relevant first (LeRF, right), mean ± standard error over %lld images; one row per family of "
                     "methods (IG, LRP, gradient and the rest), each with the random-order control (dashed grey); "
                     "dotted black: the random attribution map.",
                     nm, (long long)s[e].metric_images);
            doc_figure(d, src, cap), any = 1;
        }
        snprintf(src, sizeof src, "%s/figures/ig_completeness.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap,
                     "%s: IG completeness error against the number of integration steps for each quadrature rule "
                     "(median, dashed: 90th percentile)%s.",
                     nm, s[e].nig && s[e].ig[0].exact
                             ? "; right: the map error against exact IG, the key giving each rule's observed order"
                             : "");
            doc_figure(d, src, cap), any = 1;
        }
        snprintf(src, sizeof src, "%s/figures/sanity.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap,
                     "%s: model-parameter randomisation (Adebayo et al. 2018): similarity of each method's map to "
                     "its map on the trained model while layers are randomised from the top (Spearman |rank| "
                     "correlation left, SSIM right; mean ± s.e. over images). A map that stays similar does not "
                     "depend on what the model learned.",
                     nm);
            doc_figure(d, src, cap), any = 1;
        }
        snprintf(src, sizeof src, "%s/figures/training.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap, "%s: training and validation loss and accuracy per epoch.", nm);
            doc_figure(d, src, cap), any = 1;
        }
    }
    if (file_in(root, "figures/aopc.png"))
        doc_figure(d, "figures/aopc.png",
                   "AOPC of MoRF and LeRF pixel flipping per method and dataset (target logit, error bars: standard "
                   "error; hatched: the random-order control)."),
            any = 1;
    if (file_in(root, "figures/runtime.png"))
        doc_figure(d, "figures/runtime.png",
                   "Wall time per attribution of each method and dataset in milliseconds (log scale)."),
            any = 1;
    if (!any) doc_para(d, "No figures rendered yet (xai export --figures, or the reproduce pipeline, draws them).");
}

static const char *CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.45}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}\n"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.85em}\n"
    "th,td{border:1px solid #ccc;padding:.2em .45em;text-align:left;vertical-align:top}\n"
    "td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}th.num{text-align:right}\n"
    "td{white-space:nowrap}td.long{white-space:normal;min-width:24em}th{background:#f3f3f3}.tw{overflow-x:auto}\n"
    ".banner{background:#fff4d6;border:1px solid #e0b040;padding:.6em 1em;margin:1em 0}\n"
    "details{margin:.8em 0}summary{cursor:pointer}summary h3{display:inline}\n"
    "tr:nth-child(even) td{background:#fafafa}\n"
    "pre{background:#f6f8fa;padding:.7em;overflow-x:auto;font-size:.85em}\n"
    "figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}\n"
    "figcaption{font-style:italic;color:#444;margin-top:.3em}\n";

/* 1 when the run record of the root says the quick (smoke-test) profile made these results. */
static int quick_profile(const char *root)
{
    char *p = xai_path_join(root, "provenance.json"), *text = NULL;
    int quick = 0;
    if (xai_read_file(p, &text, NULL) == XAI_OK) quick = strstr(text, "\"profile\": \"quick\"") != NULL;
    xai_clear_error();
    free(text);
    free(p);
    return quick;
}

static void report_banner(doc *d)
{
    const char *text = "Smoke test: these results come from the quick profile (xai reproduce --quick): small training "
                       "subsets, one epoch, a handful of explained images. They show that the pipeline runs end to "
                       "end; the numbers are not the study's results (make reproduce writes those to results/).";
    xai_sbuf_printf(&d->md, "> **");
    md_escape(&d->md, text);
    xai_sbuf_printf(&d->md, "**\n\n");
    xai_sbuf_printf(&d->html, "<p class=\"banner\"><strong>");
    html_escape(&d->html, text);
    xai_sbuf_printf(&d->html, "</strong></p>\n");
}

/* The whole document: title, results (accuracy, scores, figures), what was missing, then how the
 * results were made (setup, architectures, provenance). */
static void report_document(doc *d, const char *results_root, xai_exp_summary *s, int n)
{
    const char *title = "Explaining deep neural networks using LRP and Integrated Gradients: reproduction report";
    xai_sbuf_printf(&d->html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    html_escape(&d->html, title);
    xai_sbuf_printf(&d->html, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CSS);
    xai_sbuf_printf(&d->md, "# %s\n\n", title);
    xai_sbuf_printf(&d->html, "<h1>");
    html_escape(&d->html, title);
    xai_sbuf_printf(&d->html, "</h1>\n");
    if (quick_profile(results_root)) report_banner(d);
    doc_para(d,
             "Written by xai %s from the HDF5 result files under %s (per experiment: model.h5, attributions.h5, "
             "metrics.h5; layout in %s). Every number below is read from those files.",
             xai_version(), results_root,
             file_in(results_root, "README.md") ? "README.md there" : "results/README.md of the source tree");
    report_accuracy(d, s, n);
    report_statistics(d, results_root, s, n);
    report_seeds(d, results_root, s, n);
    report_metrics(d, s, n);
    report_figures(d, results_root, s, n);
    xai_sbuf all = {0};
    for (int e = 0; e < n; e++)
        if (s[e].notes.n) xai_sbuf_printf(&all, "%s", s[e].notes.s);
    if (all.n) {
        doc_heading(d, 2, "Missing data");
        doc_code(d, all.s);
    }
    xai_sbuf_free(&all);
    report_setup(d, results_root, s, n);
    xai_sbuf_printf(&d->html, "</body>\n</html>\n");
}

xai_status xai_report_write(const char *results_root, const char *const *exps, int n)
{
    if (!results_root || n < 0 || (n > 0 && !exps))
        return xai_fail(XAI_EINVAL, "xai_report_write: a results directory and a list of experiments are needed");
    if (n == 0) return xai_fail(XAI_EINVAL, "%s: no experiments to report on", results_root);
    xai_exp_summary *s = NULL;
    doc d = {{0}, {0}, 0, {NULL, 0, 0}};
    char *md = xai_path_join(results_root, "report.md"), *html = xai_path_join(results_root, "report.html");
    xai_status st;
    if ((st = xai_exp_summaries_load(&s, results_root, exps, n)) != XAI_OK) goto done;
    report_document(&d, results_root, s, n);
    if ((st = xai_write_file_atomic(md, d.md.s, d.md.n)) != XAI_OK) goto done;
    st = xai_write_file_atomic(html, d.html.s, d.html.n);
done:
    xai_sbuf_free(&d.md);
    xai_sbuf_free(&d.html);
    free(d.tab.rows);
    free(md);
    free(html);
    xai_exp_summaries_free(s, n);
    return st;
}
