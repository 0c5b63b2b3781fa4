/* metricsfile_read.c: reads metrics.h5 (explainers/METRICS.md) into typed structs for the report
 * and the plot data; nobody else opens the file for reading. Fold into the metrics file's owner. */
#include "core/h5.h"
#include "explainers/metricsfile_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ HDF5 access */

/* An attribute of the object at obj; absent objects or attributes leave the default. */
static hid_t open_obj(hid_t f, const char *obj)
{
    if (strcmp(obj, "/") && !xai_h5_exists(f, obj)) return -1;
    return H5Oopen(f, obj, H5P_DEFAULT);
}

static double attr_f64(hid_t f, const char *obj, const char *name)
{
    double v = NAN;
    hid_t o = open_obj(f, obj);
    if (o < 0) return v;
    if (xai_h5_get_f64(o, name, &v) != XAI_OK) v = NAN;
    H5Oclose(o);
    return v;
}

static int64_t attr_i64(hid_t f, const char *obj, const char *name, int64_t def)
{
    int64_t v = def;
    hid_t o = open_obj(f, obj);
    if (o < 0) return v;
    if (xai_h5_get_i64(o, name, &v) != XAI_OK) v = def;
    H5Oclose(o);
    return v;
}

static void attr_str(hid_t f, const char *obj, const char *name, char *out, size_t cap)
{
    hid_t o = open_obj(f, obj);
    if (o < 0) return;
    char *tmp = xai_calloc(cap, 1);
    if (xai_h5_get_str(o, name, tmp, cap) == XAI_OK) snprintf(out, cap, "%s", tmp);
    xai_clear_error();
    free(tmp);
    H5Oclose(o);
}

/* A whole 1-D dataset as doubles (malloc'd); NULL when absent. */
static double *read_vec(hid_t f, const char *name, int *n)
{
    uint64_t d[8];
    if (xai_h5_dims(f, name, d) != 1) return NULL;
    double *v = xai_malloc((d[0] ? d[0] : 1) * sizeof *v);
    if (xai_h5_read(f, name, H5T_NATIVE_DOUBLE, v, 1, NULL, "") != XAI_OK) {
        xai_clear_error();
        free(v);
        return NULL;
    }
    *n = (int)d[0];
    return v;
}

/* Names of the links in a group, sorted by name (as HDF5 indexes them); 0 when absent. */
static int list_group(hid_t f, const char *path, char ***names)
{
    *names = NULL;
    H5G_info_t info;
    if (!xai_h5_exists(f, path) || H5Gget_info_by_name(f, path, &info, H5P_DEFAULT) < 0) return 0;
    int n = (int)info.nlinks, k = 0;
    char **v = xai_calloc(n ? n : 1, sizeof *v);
    for (int i = 0; i < n; i++) {
        ssize_t len = H5Lget_name_by_idx(f, path, H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, NULL, 0, H5P_DEFAULT);
        if (len < 0) continue;
        v[k] = xai_malloc((size_t)len + 1);
        H5Lget_name_by_idx(f, path, H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, v[k], (size_t)len + 1, H5P_DEFAULT);
        k++;
    }
    *names = v;
    return k;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void note(xai_sbuf *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(xai_sbuf *notes, const char *fmt, ...)
{
    if (!notes) return;
    va_list ap;
    va_start(ap, fmt);
    xai_sbuf_vprintf(notes, fmt, ap);
    va_end(ap);
    xai_sbuf_printf(notes, "\n");
}

/* ------------------------------------------------------------------ scores */

static void read_settings(xai_metrics_scores *s, hid_t f)
{
    attr_str(f, "/", "perturb", s->perturb, sizeof s->perturb);
    s->patch = attr_i64(f, "/", "patch", -1);
    s->steps = attr_i64(f, "/", "steps", -1);
    s->per_step = attr_i64(f, "/", "per_step", -1);
    s->n_images = attr_i64(f, "/", "n_images", -1);
    s->n_features = attr_i64(f, "/", "n_features", -1);
    s->fraction = attr_f64(f, "/", "fraction");
    s->seconds = attr_f64(f, "/", "seconds");
    s->random_aopc = attr_f64(f, "/random/logit", "aopc_mean");
    s->random_aopc_se = attr_f64(f, "/random/logit", "aopc_se");
}

static void read_method(xai_metrics_method_scores *m, hid_t f, const char *name)
{
    char obj[400];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
#define AT(sub) (snprintf(obj, sizeof obj, "/methods/%s/%s", name, sub), obj)
    snprintf(obj, sizeof obj, "/methods/%s", name);
    attr_str(f, obj, "kind", m->kind, sizeof m->kind);
    m->aopc_morf = attr_f64(f, AT("morf/logit"), "aopc_mean");
    m->aopc_morf_se = attr_f64(f, AT("morf/logit"), "aopc_se");
    m->aopc_lerf = attr_f64(f, AT("lerf/logit"), "aopc_mean");
    m->aopc_lerf_se = attr_f64(f, AT("lerf/logit"), "aopc_se");
    m->abpc = attr_f64(f, AT("abpc/logit"), "mean");
    m->abpc_se = attr_f64(f, AT("abpc/logit"), "se");
    m->vs_random_z = attr_f64(f, AT("vs_random/logit"), "z");
    m->compl_median = attr_f64(f, AT("completeness"), "median");
    m->compl_p90 = attr_f64(f, AT("completeness"), "p90");
#undef AT
}

/* ---------------------------------------------------------- IG step curves */

static int rule_rank(const char *r)
{
    static const char *order[] = {"left", "right", "midpoint", "trapezoid", "gauss"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(r, order[i])) return i;
    return 5;
}

static int cmp_rule(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int r = rule_rank(x) - rule_rank(y);
    return r ? r : strcmp(x, y);
}

/* Adds rule `rule` of curve g from its steps/median/p90; 0 when they do not fit. */
static int add_rule(xai_metrics_ig_curve *g, int nrules_max, const char *rule, const double *st, int ns,
                    const double *med, int nmed, const double *p9, int np9)
{
    if (!st || !med || nmed != ns || (g->nrules && ns != g->nsteps)) return 0;
    if (!g->nrules) {
        g->nsteps = ns;
        g->steps = xai_malloc((size_t)ns * sizeof *g->steps);
        for (int k = 0; k < ns; k++) g->steps[k] = (int64_t)st[k];
        g->rule = xai_malloc((size_t)nrules_max * sizeof *g->rule);
        g->median = xai_malloc((size_t)nrules_max * ns * sizeof *g->median);
        g->p90 = xai_malloc((size_t)nrules_max * ns * sizeof *g->p90);
    }
    snprintf(g->rule[g->nrules], sizeof g->rule[0], "%s", rule);
    for (int k = 0; k < ns; k++) {
        g->median[(size_t)g->nrules * ns + k] = med[k];
        g->p90[(size_t)g->nrules * ns + k] = p9 && np9 == ns ? p9[k] : NAN;
    }
    g->nrules++;
    return 1;
}

static void read_ig_curve(xai_metrics_ig_curve *g, hid_t f, const char *method, const char *path, xai_sbuf *notes)
{
    char grp[300], obj[400];
    snprintf(grp, sizeof grp, "/ig_steps/%s", method);
    char **rules;
    int nr = list_group(f, grp, &rules);
    if (nr > 1) qsort(rules, nr, sizeof *rules, cmp_rule);
    memset(g, 0, sizeof *g);
    snprintf(g->method, sizeof g->method, "%s", method);
    attr_str(f, grp, "baseline", g->baseline, sizeof g->baseline);
    for (int r = 0; r < nr; r++) {
        int ns = 0, nmed = 0, np9 = 0;
        snprintf(obj, sizeof obj, "%s/%s/steps", grp, rules[r]);
        double *st = read_vec(f, obj, &ns);
        snprintf(obj, sizeof obj, "%s/%s/median", grp, rules[r]);
        double *med = read_vec(f, obj, &nmed);
        snprintf(obj, sizeof obj, "%s/%s/p90", grp, rules[r]);
        double *p9 = read_vec(f, obj, &np9);
        if (!add_rule(g, nr, rules[r], st, ns, med, nmed, p9, np9))
            note(notes, "%s: %s/%s lacks steps/median of matching lengths; rule left out", path, grp, rules[r]);
        free(st);
        free(med);
        free(p9);
    }
    free_names(rules, nr);
}

static void ig_curve_free(xai_metrics_ig_curve *g)
{
    free(g->rule);
    free(g->steps);
    free(g->median);
    free(g->p90);
    memset(g, 0, sizeof *g);
}

xai_status xai_metrics_read_scores(xai_metrics_scores *s, const char *path, xai_sbuf *notes)
{
    memset(s, 0, sizeof *s);
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    read_settings(s, f);
    char **names;
    int nm = list_group(f, "/methods", &names);
    s->methods = xai_calloc(nm ? nm : 1, sizeof *s->methods);
    for (int i = 0; i < nm; i++) read_method(&s->methods[i], f, names[i]);
    s->nmethods = nm;
    if (!nm) note(notes, "%s: no /methods group (no pixel-flipping scores)", path);
    free_names(names, nm);
    int nc = list_group(f, "/ig_steps", &names);
    s->ig = xai_calloc(nc ? nc : 1, sizeof *s->ig);
    for (int c = 0; c < nc; c++) {
        read_ig_curve(&s->ig[s->nig], f, names[c], path, notes);
        if (s->ig[s->nig].nrules) s->nig++;
        else ig_curve_free(&s->ig[s->nig]);
    }
    free_names(names, nc);
    if (!s->nig) note(notes, "%s: no /ig_steps (no IG completeness-vs-steps curve)", path);
    H5Fclose(f);
    return XAI_OK;
}

void xai_metrics_scores_free(xai_metrics_scores *s)
{
    for (int i = 0; i < s->nig; i++) ig_curve_free(&s->ig[i]);
    free(s->ig);
    free(s->methods);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ curves */

int xai_metrics_read_fractions(const char *path, double **frac)
{
    *frac = NULL;
    hid_t f;
    if (xai_h5_open(&f, path, 0) != XAI_OK) return xai_clear_error(), 0;
    int k1 = 0;
    *frac = read_vec(f, "/steps/fraction", &k1);
    H5Fclose(f);
    if (!*frac) k1 = 0;
    return k1;
}

int xai_metrics_read_curve(const char *path, const char *method, const char *order, int k1, double *mean,
                           double *se)
{
    char grp[400], obj[420];
    if (method) snprintf(grp, sizeof grp, "/methods/%s/%s/logit", method, order);
    else snprintf(grp, sizeof grp, "/random/logit");
    hid_t f;
    if (xai_h5_open(&f, path, 0) != XAI_OK) return xai_clear_error(), 0;
    uint64_t d[8], dk[1] = {(uint64_t)k1};
    int ok = 0;
    snprintf(obj, sizeof obj, "%s/mean", grp);
    if (xai_h5_dims(f, obj, d) == 1 && (int)d[0] == k1 &&
        xai_h5_read(f, obj, H5T_NATIVE_DOUBLE, mean, 1, dk, "") == XAI_OK) {
        ok = 1;
        snprintf(obj, sizeof obj, "%s/stderr", grp);
        if (xai_h5_dims(f, obj, d) != 1 || (int)d[0] != k1 ||
            xai_h5_read(f, obj, H5T_NATIVE_DOUBLE, se, 1, dk, "") != XAI_OK)
            for (int i = 0; i < k1; i++) se[i] = NAN;
    }
    xai_clear_error();
    H5Fclose(f);
    return ok;
}
