/* report.c: the reproduction report (results/report.md and results/report.html) and the experiment
 * summary it is built from; every number comes from the HDF5 result files (results/README.md). */
#include "core/h5.h"
#include "experiments/commands.h"
#include "experiments/publish.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ method colours */

/* Fixed colours for the methods the suite knows, so that a method looks the same in every figure
 * of every dataset; the control is grey. */
static const struct {
    const char *name, *color;
} KNOWN_COLORS[] = {
    {"random", "#7f7f7f"},           {"ig", "#1f77b4"},
    {"lrp-0", "#8c564b"},            {"lrp-epsilon", "#d62728"},
    {"lrp-gamma", "#9467bd"},        {"lrp-zplus", "#2ca02c"},
    {"lrp-alpha1beta0", "#98df8a"},  {"lrp-alpha2beta1", "#17becf"},
    {"lrp-flat", "#ffbb78"},         {"lrp-wsquare", "#c5b0d5"},
    {"lrp-zbox", "#c49c94"},         {"lrp-epsilon-plus-flat", "#ff7f0e"},
    {"lrp-epsilon-gamma-box", "#e377c2"}, {"lrp-preset-a", "#bcbd22"},
    {"lrp-preset-b", "#6b6ecf"},     {"gradient", "#393b79"},
    {"saliency", "#637939"},         {"gradient-x-input", "#8c6d31"},
    {"smoothgrad", "#843c39"},
};
/* For names outside the table (e.g. "ig:rule=left:steps=16"): a hash picks one of these. */
static const char *const HASH_COLORS[] = {"#005f73", "#9b2226", "#ca6702", "#0a9396", "#6a4c93", "#3a5a40",
                                          "#bc6c25", "#1d3557", "#e76f51", "#2a9d8f", "#8338ec", "#606c38"};

const char *xai_method_color(const char *method)
{
    size_t nk = sizeof KNOWN_COLORS / sizeof *KNOWN_COLORS;
    for (size_t i = 0; i < nk; i++)
        if (!strcmp(method, KNOWN_COLORS[i].name)) return KNOWN_COLORS[i].color;
    /* "epsilon" and "lrp-epsilon" name the same composite. */
    char pre[160];
    snprintf(pre, sizeof pre, "lrp-%s", method);
    for (size_t i = 0; i < nk; i++)
        if (!strcmp(pre, KNOWN_COLORS[i].name)) return KNOWN_COLORS[i].color;
    uint64_t h = xai_fnv1a(XAI_FNV_OFFSET, method, strlen(method));
    return HASH_COLORS[h % (sizeof HASH_COLORS / sizeof *HASH_COLORS)];
}

/* ------------------------------------------------------------- HDF5 access */

/* Attribute readers on an object given by path; absent objects or attributes leave the default. */
static double attr_f64(hid_t f, const char *obj, const char *name)
{
    double v = NAN;
    if (!xai_h5_exists(f, obj) && strcmp(obj, "/")) return v;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0) return v;
    if (xai_h5_get_f64(o, name, &v) != XAI_OK) v = NAN;
    H5Oclose(o);
    return v;
}

static int64_t attr_i64(hid_t f, const char *obj, const char *name, int64_t def)
{
    int64_t v = def;
    if (!xai_h5_exists(f, obj) && strcmp(obj, "/")) return v;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0) return v;
    if (xai_h5_get_i64(o, name, &v) != XAI_OK) v = def;
    H5Oclose(o);
    return v;
}

static void attr_str(hid_t f, const char *obj, const char *name, char *out, size_t cap)
{
    if (!xai_h5_exists(f, obj) && strcmp(obj, "/")) return;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o < 0) return;
    char *tmp = xai_calloc(cap, 1);
    if (xai_h5_get_str(o, name, tmp, cap) == XAI_OK) snprintf(out, cap, "%s", tmp);
    xai_clear_error();
    free(tmp);
    H5Oclose(o);
}

/* A whole 1-D or 2-D dataset as doubles (malloc'd); NULL when absent. rows/cols may be NULL. */
static double *read_f64(hid_t f, const char *name, int *rows, int *cols)
{
    uint64_t d[8];
    int r = xai_h5_dims(f, name, d);
    if (r < 1 || r > 2) return NULL;
    size_t n = r == 1 ? d[0] : d[0] * d[1];
    double *v = xai_malloc((n ? n : 1) * sizeof *v);
    if (xai_h5_read(f, name, H5T_NATIVE_DOUBLE, v, r, NULL, "") != XAI_OK) {
        xai_clear_error();
        free(v);
        return NULL;
    }
    if (rows) *rows = (int)d[0];
    if (cols) *cols = r == 2 ? (int)d[1] : 1;
    return v;
}

/* Names of the links in a group (sorted by name, as HDF5 indexes them); 0 when absent. */
static int list_group(hid_t f, const char *path, char ***names)
{
    *names = NULL;
    if (!xai_h5_exists(f, path)) return 0;
    H5G_info_t info;
    if (H5Gget_info_by_name(f, path, &info, H5P_DEFAULT) < 0) return 0;
    int n = (int)info.nlinks;
    char **v = xai_calloc(n ? n : 1, sizeof *v);
    int k = 0;
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

/* Median and maximum of |v| over the finite entries. */
static void abs_median_max(const double *v, int n, double *med, double *max)
{
    double *a = xai_malloc((n ? n : 1) * sizeof *a);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) a[k++] = fabs(v[i]);
    if (k > 1) qsort(a, k, sizeof *a, xai_cmp_double);
    *med = k ? (k % 2 ? a[k / 2] : 0.5 * (a[k / 2 - 1] + a[k / 2])) : NAN;
    *max = k ? a[k - 1] : NAN;
    free(a);
}

/* --------------------------------------------------------- summary loader */

static void summary_note(xai_exp_summary *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void summary_note(xai_exp_summary *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xai_sbuf_vprintf(&s->notes, fmt, ap);
    va_end(ap);
    xai_sbuf_printf(&s->notes, "\n");
}

static void method_init(xai_method_summary *m, const char *name)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->sec_per_attr = m->aopc_morf = m->aopc_morf_se = m->aopc_lerf = m->aopc_lerf_se = NAN;
    m->abpc = m->abpc_se = m->vs_random_z = m->compl_median = m->compl_p90 = NAN;
    m->delta_median = m->delta_max = NAN;
}

static int method_find(const xai_exp_summary *s, const char *name)
{
    for (int i = 0; i < s->nmethods; i++)
        if (!strcmp(s->methods[i].name, name)) return i;
    return -1;
}

static xai_method_summary *method_add(xai_exp_summary *s, const char *name)
{
    int i = method_find(s, name);
    if (i >= 0) return &s->methods[i];
    xai_method_summary *v = xai_malloc((size_t)(s->nmethods + 1) * sizeof *v);
    if (s->nmethods) memcpy(v, s->methods, (size_t)s->nmethods * sizeof *v);
    free(s->methods);
    s->methods = v;
    method_init(&s->methods[s->nmethods], name);
    return &s->methods[s->nmethods++];
}

/* Display order: IG first, then LRP, then the other baselines; by name within a kind. */
static int kind_rank(const char *kind)
{
    if (!strcmp(kind, "ig")) return 0;
    if (!strcmp(kind, "lrp")) return 1;
    if (!strcmp(kind, "random")) return 3;
    return 2;
}

static int cmp_method(const void *a, const void *b)
{
    const xai_method_summary *x = a, *y = b;
    int r = kind_rank(x->kind) - kind_rank(y->kind);
    return r ? r : strcmp(x->name, y->name);
}

static xai_status load_model(xai_exp_summary *s, const char *path)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    if (!xai_h5_exists(f, "/model")) {
        H5Fclose(f);
        return xai_fail(XAI_EFORMAT, "%s: no /model group (not a model file, see core/README.md)", path);
    }
    s->has_model = 1;
    hid_t g = H5Gopen2(f, "/model", H5P_DEFAULT);
    int64_t shp[3];
    hid_t a = H5Aexists(g, "input_shape") > 0 ? H5Aopen(g, "input_shape", H5P_DEFAULT) : -1;
    if (a >= 0) {
        hid_t sp = H5Aget_space(a);
        if (H5Sget_simple_extent_npoints(sp) == 3 && H5Aread(a, H5T_NATIVE_INT64, shp) >= 0)
            memcpy(s->input_shape, shp, sizeof shp);
        H5Sclose(sp);
        H5Aclose(a);
    }
    H5Gclose(g);
    s->nclasses = attr_i64(f, "/model", "num_classes", 0);
    s->nlayers = attr_i64(f, "/model", "num_layers", 0);
    char *text = xai_calloc(1 << 16, 1);
    attr_str(f, "/model", "layers_text", text, 1 << 16);
    free(s->layers_text);
    s->layers_text = text;
    attr_str(f, "/model", "program_version", s->model_version, sizeof s->model_version);
    if (xai_h5_exists(f, "/train")) {
        s->has_train = 1;
        const char *t = "/train";
        attr_str(f, t, "dataset", s->dataset, sizeof s->dataset);
        s->train_acc = attr_f64(f, t, "final_train_acc");
        s->val_acc = attr_f64(f, t, "final_val_acc");
        s->test_acc = attr_f64(f, t, "final_test_acc");
        s->train_loss = attr_f64(f, t, "final_train_loss");
        s->val_loss = attr_f64(f, t, "final_val_loss");
        s->test_loss = attr_f64(f, t, "final_test_loss");
        s->lr = attr_f64(f, t, "lr");
        s->train_seconds = attr_f64(f, t, "train_seconds");
        s->img_per_s = attr_f64(f, t, "img_per_s");
        s->epochs = attr_i64(f, t, "epochs", -1);
        s->best_epoch = attr_i64(f, t, "best_epoch", -1);
        s->batch = attr_i64(f, t, "batch", -1);
        s->seed = attr_i64(f, t, "seed", -1);
        s->train_images = attr_i64(f, t, "train_images", -1);
        s->val_images = attr_i64(f, t, "val_images", -1);
        s->test_images = attr_i64(f, t, "test_images", -1);
        s->threads = attr_i64(f, t, "threads", -1);
        s->limit = attr_i64(f, t, "limit", 0);
        attr_str(f, t, "optimizer", s->optimizer, sizeof s->optimizer);
        attr_str(f, t, "schedule", s->schedule, sizeof s->schedule);
        attr_str(f, t, "select", s->select, sizeof s->select);
        attr_str(f, t, "created_utc", s->created_utc, sizeof s->created_utc);
        attr_str(f, t, "config_path", s->config_path, sizeof s->config_path);
        attr_str(f, t, "dataset_sha256", s->dataset_sha256, sizeof s->dataset_sha256);
        s->history = read_f64(f, "/train/history", &s->hist_rows, &s->hist_cols);
        if (s->history) attr_str(f, "/train/history", "columns", s->hist_columns, sizeof s->hist_columns);
        else summary_note(s, "%s: no /train/history (no training curves)", path);
    } else {
        summary_note(s, "%s: no /train group (trainer provenance and accuracies missing)", path);
    }
    H5Fclose(f);
    return XAI_OK;
}

static xai_status load_attr(xai_exp_summary *s, const char *path)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    uint64_t d[8];
    if (xai_h5_dims(f, "/inputs", d) != 4) {
        H5Fclose(f);
        return xai_fail(XAI_EFORMAT, "%s: no /inputs (N, C, H, W) (not an attribution file, see explainers/README.md)",
                        path);
    }
    s->has_attr = 1;
    s->n_images = (int)d[0];
    if (!s->dataset[0]) attr_str(f, "/", "dataset", s->dataset, sizeof s->dataset);
    attr_str(f, "/", "target_mode", s->target_mode, sizeof s->target_mode);
    attr_str(f, "/", "program_version", s->attr_version, sizeof s->attr_version);
    char **names;
    int nm = list_group(f, "/attributions", &names);
    for (int i = 0; i < nm; i++) {
        xai_method_summary *m = method_add(s, names[i]);
        char obj[300];
        snprintf(obj, sizeof obj, "/attributions/%s", names[i]);
        attr_str(f, obj, "kind", m->kind, sizeof m->kind);
        m->sec_per_attr = attr_f64(f, obj, "seconds_per_attribution");
        /* IG's completeness gap and LRP's conservation residual, in logit units. */
        const char *grp = !strcmp(m->kind, "ig") ? "/ig/delta/" : !strcmp(m->kind, "lrp") ? "/lrp/residual/" : NULL;
        if (grp) {
            snprintf(obj, sizeof obj, "%s%s", grp, names[i]);
            int rows;
            double *v = read_f64(f, obj, &rows, NULL);
            if (v) abs_median_max(v, rows, &m->delta_median, &m->delta_max);
            else summary_note(s, "%s: no %s", path, obj);
            free(v);
        }
    }
    if (!nm) summary_note(s, "%s: no /attributions group", path);
    free_names(names, nm);
    H5Fclose(f);
    return XAI_OK;
}

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

static void load_ig_steps(xai_exp_summary *s, hid_t f, const char *path)
{
    char **curves;
    int nc = list_group(f, "/ig_steps", &curves);
    s->ig = xai_calloc(nc ? nc : 1, sizeof *s->ig);
    for (int c = 0; c < nc; c++) {
        char grp[300];
        snprintf(grp, sizeof grp, "/ig_steps/%s", curves[c]);
        char **rules;
        int nr = list_group(f, grp, &rules);
        if (nr > 1) qsort(rules, nr, sizeof *rules, cmp_rule);
        xai_ig_steps_summary *g = &s->ig[s->nig];
        memset(g, 0, sizeof *g);
        snprintf(g->method, sizeof g->method, "%s", curves[c]);
        attr_str(f, grp, "baseline", g->baseline, sizeof g->baseline);
        for (int r = 0; r < nr; r++) {
            char obj[400];
            snprintf(obj, sizeof obj, "%s/%s/steps", grp, rules[r]);
            int ns;
            double *st = read_f64(f, obj, &ns, NULL);
            snprintf(obj, sizeof obj, "%s/%s/median", grp, rules[r]);
            int nmed = 0;
            double *med = read_f64(f, obj, &nmed, NULL);
            snprintf(obj, sizeof obj, "%s/%s/p90", grp, rules[r]);
            int np9 = 0;
            double *p9 = read_f64(f, obj, &np9, NULL);
            if (!st || !med || nmed != ns || (g->nrules && ns != g->nsteps)) {
                summary_note(s, "%s: %s/%s lacks steps/median of matching lengths; rule left out", path, grp, rules[r]);
            } else {
                if (!g->nrules) {
                    g->nsteps = ns;
                    g->steps = xai_malloc((size_t)ns * sizeof *g->steps);
                    for (int k = 0; k < ns; k++) g->steps[k] = (int64_t)st[k];
                    g->rule = xai_malloc((size_t)nr * sizeof *g->rule);
                    g->median = xai_malloc((size_t)nr * ns * sizeof *g->median);
                    g->p90 = xai_malloc((size_t)nr * ns * sizeof *g->p90);
                }
                snprintf(g->rule[g->nrules], sizeof g->rule[0], "%s", rules[r]);
                for (int k = 0; k < ns; k++) {
                    g->median[(size_t)g->nrules * ns + k] = med[k];
                    g->p90[(size_t)g->nrules * ns + k] = p9 && np9 == ns ? p9[k] : NAN;
                }
                g->nrules++;
            }
            free(st);
            free(med);
            free(p9);
        }
        free_names(rules, nr);
        if (g->nrules) s->nig++;
    }
    free_names(curves, nc);
}

static xai_status load_metrics(xai_exp_summary *s, const char *path)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, path, 0));
    s->has_metrics = 1;
    attr_str(f, "/", "perturb", s->perturb, sizeof s->perturb);
    s->patch = attr_i64(f, "/", "patch", -1);
    s->flip_steps = attr_i64(f, "/", "steps", -1);
    s->per_step = attr_i64(f, "/", "per_step", -1);
    s->metric_images = attr_i64(f, "/", "n_images", -1);
    s->n_features = attr_i64(f, "/", "n_features", -1);
    s->fraction = attr_f64(f, "/", "fraction");
    s->eval_seconds = attr_f64(f, "/", "seconds");
    s->random_aopc = attr_f64(f, "/random/logit", "aopc_mean");
    s->random_aopc_se = attr_f64(f, "/random/logit", "aopc_se");
    char **names;
    int nm = list_group(f, "/methods", &names);
    for (int i = 0; i < nm; i++) {
        xai_method_summary *m = method_add(s, names[i]);
        char obj[400];
#define AT(sub) (snprintf(obj, sizeof obj, "/methods/%s/%s", names[i], sub), obj)
        snprintf(obj, sizeof obj, "/methods/%s", names[i]);
        if (!m->kind[0]) attr_str(f, obj, "kind", m->kind, sizeof m->kind);
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
    if (!nm) summary_note(s, "%s: no /methods group (no pixel-flipping scores)", path);
    free_names(names, nm);
    load_ig_steps(s, f, path);
    if (!s->nig) summary_note(s, "%s: no /ig_steps (no IG completeness-vs-steps curve)", path);
    H5Fclose(f);
    return XAI_OK;
}

xai_status xai_exp_summary_load(xai_exp_summary *s, const char *exp_dir)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", exp_dir);
    size_t len = strlen(exp_dir);
    while (len > 1 && exp_dir[len - 1] == '/') len--;
    size_t b = len;
    while (b > 0 && exp_dir[b - 1] != '/') b--;
    snprintf(s->name, sizeof s->name, "%.*s", (int)(len - b), exp_dir + b);
    double *nanf[] = {&s->train_acc, &s->val_acc,   &s->test_acc,      &s->train_loss,  &s->val_loss,
                      &s->test_loss, &s->lr,        &s->train_seconds, &s->img_per_s,   &s->fraction,
                      &s->random_aopc, &s->random_aopc_se, &s->eval_seconds};
    for (size_t i = 0; i < sizeof nanf / sizeof *nanf; i++) *nanf[i] = NAN;
    s->epochs = s->best_epoch = s->batch = s->seed = s->train_images = s->val_images = s->test_images = -1;
    s->threads = s->patch = s->flip_steps = s->per_step = s->metric_images = s->n_features = -1;
    s->layers_text = xai_strdup("");
    struct stat st;
    if (stat(exp_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return xai_fail(XAI_ENOTFOUND, "%s: no such experiment directory (expected model.h5, attributions.h5, "
                                       "metrics.h5 inside)", exp_dir);
    static const char *files[3] = {"model.h5", "attributions.h5", "metrics.h5"};
    xai_status (*load[3])(xai_exp_summary *, const char *) = {load_model, load_attr, load_metrics};
    for (int i = 0; i < 3; i++) {
        char *p = xai_path_join(exp_dir, files[i]);
        xai_status r = XAI_OK;
        if (xai_file_exists(p)) r = load[i](s, p);
        else summary_note(s, "%s: missing", p);
        free(p);
        if (r != XAI_OK) return r;
    }
    if (!s->dataset[0]) snprintf(s->dataset, sizeof s->dataset, "%s", s->name);
    if (s->nmethods > 1) qsort(s->methods, s->nmethods, sizeof *s->methods, cmp_method);
    return XAI_OK;
}

void xai_exp_summary_free(xai_exp_summary *s)
{
    free(s->layers_text);
    free(s->history);
    free(s->methods);
    for (int i = 0; i < s->nig; i++) {
        free(s->ig[i].rule);
        free(s->ig[i].steps);
        free(s->ig[i].median);
        free(s->ig[i].p90);
    }
    free(s->ig);
    xai_sbuf_free(&s->notes);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ experiment list */

static int exp_rank(const char *name)
{
    static const char *order[] = {"mnist", "fashion-mnist", "imagenette", "imagewoof"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, order[i])) return i;
    return 4;
}

static int cmp_exp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int r = exp_rank(x) - exp_rank(y);
    return r ? r : strcmp(x, y);
}

xai_status xai_exp_list(const char *results_root, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(results_root);
    if (!d) return xai_fail(XAI_ENOTFOUND, "%s: cannot open the results directory", results_root);
    int cap = 8, k = 0;
    char **v = xai_malloc((size_t)cap * sizeof *v);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *dir = xai_path_join(results_root, e->d_name);
        int any = 0;
        static const char *files[3] = {"model.h5", "attributions.h5", "metrics.h5"};
        for (int i = 0; i < 3 && !any; i++) {
            char *p = xai_path_join(dir, files[i]);
            any = xai_file_exists(p);
            free(p);
        }
        free(dir);
        if (!any) continue;
        if (k == cap) {
            char **w = xai_malloc((size_t)cap * 2 * sizeof *w);
            memcpy(w, v, (size_t)k * sizeof *v);
            free(v);
            v = w;
            cap *= 2;
        }
        v[k++] = xai_strdup(e->d_name);
    }
    closedir(d);
    if (k > 1) qsort(v, k, sizeof *v, cmp_exp);
    *names = v;
    *n = k;
    return XAI_OK;
}

void xai_exp_list_free(char **names, int n) { free_names(names, n); }

/* ----------------------------------------------------------- document model */

/* The report is written once into two buffers, Markdown and HTML, so the two never disagree. */
typedef struct {
    xai_sbuf md, html;
    int nfig; /* figures so far, for "Figure N." */
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

#define MAXCOLS 16

typedef struct {
    int ncols;
    char cell[MAXCOLS][160];
} row;

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

static void cell_pm(row *r, double v, double se, int prec)
{
    if (!isfinite(v)) cell(r, "–");
    else if (isfinite(se)) cell(r, "%.*f ± %.*f", prec, v, prec, se);
    else cell(r, "%.*f", prec, v);
}

static void cell_i64(row *r, int64_t v)
{
    if (v >= 0) cell(r, "%lld", (long long)v);
    else cell(r, "–");
}

static void cell_str(row *r, const char *s) { cell(r, "%s", s && s[0] ? s : "–"); }

static void table_row(doc *d, const row *r, int header)
{
    xai_sbuf_printf(&d->md, "|");
    xai_sbuf_printf(&d->html, "<tr>");
    for (int i = 0; i < r->ncols; i++) {
        xai_sbuf_printf(&d->md, " ");
        md_escape(&d->md, r->cell[i]);
        xai_sbuf_printf(&d->md, " |");
        xai_sbuf_printf(&d->html, header ? "<th>" : "<td>");
        html_escape(&d->html, r->cell[i]);
        xai_sbuf_printf(&d->html, header ? "</th>" : "</td>");
    }
    xai_sbuf_printf(&d->md, "\n");
    xai_sbuf_printf(&d->html, "</tr>\n");
    if (header) {
        xai_sbuf_printf(&d->md, "|");
        for (int i = 0; i < r->ncols; i++) xai_sbuf_printf(&d->md, "%s|", i ? " ---: " : " --- ");
        xai_sbuf_printf(&d->md, "\n");
    }
}

static void table_begin(doc *d, const row *header)
{
    xai_sbuf_printf(&d->html, "<table>\n");
    table_row(d, header, 1);
}

static void table_end(doc *d)
{
    xai_sbuf_printf(&d->md, "\n");
    xai_sbuf_printf(&d->html, "</table>\n");
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

static void report_setup(doc *d, const char *root, xai_exp_summary *s, int n)
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

    doc_heading(d, 3, "Architectures");
    for (int e = 0; e < n; e++) {
        if (!s[e].has_model) continue;
        doc_para(d, "%s: %lld layers, from /model@layers_text of %s/model.h5:", s[e].name, (long long)s[e].nlayers,
                 s[e].name);
        doc_code(d, s[e].layers_text);
    }

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

    doc_heading(d, 3, "Provenance");
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
        if (nf > 1) qsort(files, nf, sizeof *files, cmp_exp);
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
        cellf(&r, "%.4f", s[e].test_loss);
        cell_i64(&r, s[e].best_epoch);
        cell_str(&r, s[e].select);
        table_row(d, &r, 0);
    }
    table_end(d);
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
            cell_pm(&r, s[e].random_aopc, s[e].random_aopc_se, 3);
            for (int k = 0; k < 8; k++) cell(&r, "–");
            table_row(d, &r, 0);
        }
        for (int i = 0; i < s[e].nmethods; i++) {
            const xai_method_summary *m = &s[e].methods[i];
            row r;
            row_begin(&r);
            cell(&r, "%s", m->name);
            cell_str(&r, m->kind);
            cell_pm(&r, m->aopc_morf, m->aopc_morf_se, 3);
            cell_pm(&r, m->aopc_lerf, m->aopc_lerf_se, 3);
            cell_pm(&r, m->abpc, m->abpc_se, 3);
            cellf(&r, "%.1f", m->vs_random_z);
            cellf(&r, "%.3g", m->compl_median);
            cellf(&r, "%.3g", m->compl_p90);
            cellf(&r, "%.3g", m->delta_median);
            cellf(&r, "%.3g", m->delta_max);
            cellf(&r, "%.3g", 1e3 * m->sec_per_attr);
            table_row(d, &r, 0);
        }
        table_end(d);
        for (int g = 0; g < s[e].nig; g++) {
            const xai_ig_steps_summary *ig = &s[e].ig[g];
            doc_para(d, "IG completeness against the number of steps (%s, %s baseline): median relative error.",
                     ig->method, ig->baseline[0] ? ig->baseline : "recorded");
            row_begin(&h);
            cell(&h, "steps");
            for (int r = 0; r < ig->nrules && r < MAXCOLS - 1; r++) cell(&h, "%s", ig->rule[r]);
            table_begin(d, &h);
            for (int k = 0; k < ig->nsteps; k++) {
                row r;
                row_begin(&r);
                cell(&r, "%lld", (long long)ig->steps[k]);
                for (int q = 0; q < ig->nrules && q < MAXCOLS - 1; q++)
                    cellf(&r, "%.3g", ig->median[(size_t)q * ig->nsteps + k]);
                table_row(d, &r, 0);
            }
            table_end(d);
        }
    }
}

static int file_in(const char *root, const char *rel)
{
    char *p = xai_path_join(root, rel);
    int e = xai_file_exists(p);
    free(p);
    return e;
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
                     "%s: target logit while features are removed most relevant first (MoRF) and least relevant "
                     "first (LeRF), mean ± standard error over %lld images; grey: random order.",
                     nm, (long long)s[e].metric_images);
            doc_figure(d, src, cap), any = 1;
        }
        snprintf(src, sizeof src, "%s/figures/ig_completeness.png", nm);
        if (file_in(root, src)) {
            snprintf(cap, sizeof cap,
                     "%s: IG completeness error against the number of integration steps for each quadrature rule "
                     "(median, dashed: 90th percentile).",
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
                   "error; grey: random order)."),
            any = 1;
    if (file_in(root, "figures/runtime.png"))
        doc_figure(d, "figures/runtime.png", "Wall time per attribution of each method and dataset (log scale)."),
            any = 1;
    if (!any) doc_para(d, "No figures rendered yet (xai export --figures, or the reproduce pipeline, draws them).");
}

static const char *CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.45}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}\n"
    "table{border-collapse:collapse;margin:.8em 0;font-size:.9em}\n"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}\n"
    "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}\n"
    "tr:nth-child(even) td{background:#fafafa}\n"
    "pre{background:#f6f8fa;padding:.7em;overflow-x:auto;font-size:.85em}\n"
    "figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}\n"
    "figcaption{font-style:italic;color:#444;margin-top:.3em}\n";

xai_status xai_report_write(const char *results_root, const char *const *exps, int n)
{
    if (!results_root || n < 0 || (n > 0 && !exps))
        return xai_fail(XAI_EINVAL, "xai_report_write: a results directory and a list of experiments are needed");
    if (n == 0) return xai_fail(XAI_EINVAL, "%s: no experiments to report on", results_root);
    xai_exp_summary *s = xai_calloc((size_t)n, sizeof *s);
    xai_status st = XAI_OK;
    for (int e = 0; e < n && st == XAI_OK; e++) {
        char *dir = xai_path_join(results_root, exps[e]);
        st = xai_exp_summary_load(&s[e], dir);
        free(dir);
    }
    if (st == XAI_OK) {
        doc d = {{0}, {0}, 0};
        const char *title = "Explaining deep neural networks using LRP and Integrated Gradients: reproduction report";
        xai_sbuf_printf(&d.html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        html_escape(&d.html, title);
        xai_sbuf_printf(&d.html, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CSS);
        xai_sbuf_printf(&d.md, "# %s\n\n", title);
        xai_sbuf_printf(&d.html, "<h1>");
        html_escape(&d.html, title);
        xai_sbuf_printf(&d.html, "</h1>\n");
        doc_para(&d,
                 "Written by xai %s from the HDF5 result files under %s (per experiment: model.h5, attributions.h5, "
                 "metrics.h5; layout in README.md there). Every number below is read from those files.",
                 xai_version(), results_root);
        report_setup(&d, results_root, s, n);
        report_accuracy(&d, s, n);
        report_metrics(&d, s, n);
        report_figures(&d, results_root, s, n);
        int notes = 0;
        for (int e = 0; e < n; e++) notes |= s[e].notes.n > 0;
        if (notes) {
            doc_heading(&d, 2, "Missing data");
            xai_sbuf all = {0};
            for (int e = 0; e < n; e++)
                if (s[e].notes.n) xai_sbuf_printf(&all, "%s", s[e].notes.s);
            doc_code(&d, all.s);
            xai_sbuf_free(&all);
        }
        xai_sbuf_printf(&d.html, "</body>\n</html>\n");
        char *md = xai_path_join(results_root, "report.md"), *html = xai_path_join(results_root, "report.html");
        st = xai_write_file_atomic(md, d.md.s, d.md.n);
        if (st == XAI_OK) st = xai_write_file_atomic(html, d.html.s, d.html.n);
        free(md);
        free(html);
        xai_sbuf_free(&d.md);
        xai_sbuf_free(&d.html);
    }
    for (int e = 0; e < n; e++) xai_exp_summary_free(&s[e]);
    free(s);
    return st;
}

/* -------------------------------------------------------------------- CLI */

static void report_usage(FILE *f)
{
    fprintf(f,
            "usage: xai report [--results DIR] [--exp NAME,...] [--figures] [--no-bundle] [--repo DIR]\n"
            "                  [--paper DIR] [--data-dir DIR]\n"
            "Writes DIR/report.md and DIR/report.html from the experiments' HDF5 results, then the\n"
            "artefact bundle DIR/xai-repro-artifact.zip (configs, summaries, figures, provenance,\n"
            "report, MANIFEST.sha256).\n"
            "\n"
            "  --results DIR  results root (default results)\n"
            "  --exp LIST     experiments (sub-directories of DIR) to include (default: every one\n"
            "                 holding model.h5, attributions.h5 or metrics.h5)\n"
            "  --figures      first export and render every figure with gnuplot (paper/*.gp)\n"
            "  --no-bundle    skip the zip\n"
            "  --repo DIR     repository root whose experiments/*.ini go into the bundle\n"
            "                 (default %s)\n"
            "  --paper DIR    directory of the gnuplot scripts (default %s)\n"
            "  --data-dir DIR dataset caches, for class names in figures (default $XAI_DATA_DIR,\n"
            "                 else ./data)\n",
#ifdef XAI_SOURCE_DIR
            XAI_SOURCE_DIR,
#else
            ".",
#endif
            xai_paper_dir());
}

int xai_cmd_report(int argc, char **argv)
{
    const char *results = "results", *exp = NULL, *repo = NULL, *paper = NULL, *data_dir = NULL;
    int figures = 0, bundle = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            report_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--figures")) {
            figures = 1;
        } else if (!strcmp(argv[i], "--no-bundle")) {
            bundle = 0;
        } else if (xai_opt(argc, argv, &i, "--results", &v)) {
            if (!(results = v)) return fprintf(stderr, "xai report: --results needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--exp", &v)) {
            if (!(exp = v)) return fprintf(stderr, "xai report: --exp needs a comma-separated list\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--repo", &v)) {
            if (!(repo = v)) return fprintf(stderr, "xai report: --repo needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--paper", &v)) {
            if (!(paper = v)) return fprintf(stderr, "xai report: --paper needs a directory\n"), 2;
        } else if (xai_opt(argc, argv, &i, "--data-dir", &v)) {
            if (!(data_dir = v)) return fprintf(stderr, "xai report: --data-dir needs a directory\n"), 2;
        } else {
            fprintf(stderr, "xai report: unknown option '%s' (see 'xai report --help')\n", argv[i]);
            return 2;
        }
    }
    char **names = NULL;
    int n = 0;
    xai_status st = XAI_OK;
    if (exp) {
        char *list = xai_strdup(exp);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char **w = xai_malloc((size_t)(n + 1) * sizeof *w);
            if (n) memcpy(w, names, (size_t)n * sizeof *w);
            free(names);
            names = w;
            names[n++] = xai_strdup(t);
        }
        free(list);
    } else {
        st = xai_exp_list(results, &names, &n);
        if (st == XAI_OK && !n)
            st = xai_fail(XAI_ENOTFOUND, "%s: no experiment directories with model.h5, attributions.h5 or metrics.h5 "
                                         "(run 'xai reproduce' first)", results);
    }
    const char *const *cn = (const char *const *)names;
    xai_export_opts eo;
    xai_export_defaults(&eo);
    eo.data_dir = data_dir;
    if (st == XAI_OK && figures) st = xai_figures_all(results, cn, n, paper, &eo, stderr);
    if (st == XAI_OK) st = xai_report_write(results, cn, n);
    if (st == XAI_OK) printf("wrote %s/report.md and %s/report.html\n", results, results);
    if (st == XAI_OK && bundle) {
        st = xai_bundle_write(results, repo, cn, n);
        if (st == XAI_OK) printf("wrote %s/xai-repro-artifact.zip\n", results);
    }
    xai_exp_list_free(names, n);
    return st == XAI_OK ? 0 : xai_cli_error(st);
}
