/* summary.c: one experiment's results as the report, the plot data and the bundle see them, read
 * through each file's owner (model info, training record, attribution and metrics readers). */
#include "paper/summary.h"
#include "core/io.h"
#include "core/nn.h"
#include "explainers/explain.h"
#include "trainers/trainers.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
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
    /* A non-standard seed, kept so that every method keeps the colour it always had. */
    uint64_t h = xai_fnv1a(1469598103934665603ull, method, strlen(method));
    return HASH_COLORS[h % (sizeof HASH_COLORS / sizeof *HASH_COLORS)];
}

/* --------------------------------------------------------- method table */

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

static xai_method_summary *method_add(xai_exp_summary *s, const char *name)
{
    for (int i = 0; i < s->nmethods; i++)
        if (!strcmp(s->methods[i].name, name)) return &s->methods[i];
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

/* ------------------------------------------------------------- the files */

static void take_train_record(xai_exp_summary *s, xai_train_record *r)
{
    snprintf(s->dataset, sizeof s->dataset, "%s", r->dataset);
    s->train_acc = r->train_acc, s->val_acc = r->val_acc, s->test_acc = r->test_acc;
    s->train_loss = r->train_loss, s->val_loss = r->val_loss, s->test_loss = r->test_loss;
    s->lr = r->lr, s->train_seconds = r->train_seconds, s->img_per_s = r->img_per_s;
    s->epochs = r->epochs, s->best_epoch = r->best_epoch, s->batch = r->batch, s->seed = r->seed;
    s->train_images = r->train_images, s->val_images = r->val_images, s->test_images = r->test_images;
    s->threads = r->threads, s->limit = r->limit;
    snprintf(s->optimizer, sizeof s->optimizer, "%s", r->optimizer);
    snprintf(s->schedule, sizeof s->schedule, "%s", r->schedule);
    snprintf(s->select, sizeof s->select, "%s", r->select);
    snprintf(s->created_utc, sizeof s->created_utc, "%s", r->created_utc);
    snprintf(s->config_path, sizeof s->config_path, "%s", r->config_path);
    snprintf(s->dataset_sha256, sizeof s->dataset_sha256, "%s", r->dataset_sha256);
    /* The history changes hands. */
    s->history = r->history, s->hist_rows = r->hist_rows, s->hist_cols = r->hist_cols;
    r->history = NULL;
    snprintf(s->hist_columns, sizeof s->hist_columns, "%s", r->hist_columns);
}

static xai_status load_model(xai_exp_summary *s, const char *path)
{
    xai_model_info mi;
    xai_status st = xai_model_info_read(&mi, path);
    if (st != XAI_OK) goto done;
    s->has_model = 1;
    memcpy(s->input_shape, mi.input_shape, sizeof s->input_shape);
    s->nclasses = mi.nclasses, s->nlayers = mi.nlayers;
    free(s->layers_text);
    s->layers_text = mi.layers_text;
    mi.layers_text = NULL;
    snprintf(s->model_version, sizeof s->model_version, "%s", mi.program_version);
    xai_train_record r;
    int found;
    if ((st = xai_train_record_read(&r, path, &found)) != XAI_OK) goto done;
    if (found) {
        s->has_train = 1;
        take_train_record(s, &r);
        if (!s->history) summary_note(s, "%s: no /train/history (no training curves)", path);
    } else {
        summary_note(s, "%s: no /train group (trainer provenance and accuracies missing)", path);
    }
    xai_train_record_free(&r);
done:
    xai_model_info_free(&mi);
    return st;
}

/* IG's completeness gap and LRP's conservation residual, in logit units. */
static void load_delta(xai_exp_summary *s, xai_method_summary *m, const char *path, const xai_attr_header *h)
{
    const char *grp = !strcmp(m->kind, "ig") ? "ig/delta" : !strcmp(m->kind, "lrp") ? "lrp/residual" : NULL;
    if (!grp) return;
    double *v = xai_malloc((size_t)h->n * sizeof *v);
    if (xai_attr_read_vector(path, grp, m->name, v, h) == XAI_OK) abs_median_max(v, h->n, &m->delta_median, &m->delta_max);
    else summary_note(s, "%s: no /%s/%s", path, grp, m->name);
    xai_clear_error();
    free(v);
}

static xai_status load_attr(xai_exp_summary *s, const char *path)
{
    xai_attr_header h;
    XAI_TRY(xai_attr_read_header(&h, path));
    xai_status st = XAI_OK;
    s->has_attr = 1;
    s->n_images = h.n;
    if (!s->dataset[0]) snprintf(s->dataset, sizeof s->dataset, "%.*s", (int)sizeof s->dataset - 1, h.dataset);
    snprintf(s->target_mode, sizeof s->target_mode, "%s", h.target_mode);
    snprintf(s->attr_version, sizeof s->attr_version, "%s", h.program_version);
    for (int i = 0; i < h.nmethods; i++) {
        xai_method_summary *m = method_add(s, h.methods[i]);
        xai_attr_method_info mi;
        if ((st = xai_attr_read_method_info(path, h.methods[i], &mi)) != XAI_OK) goto done;
        snprintf(m->kind, sizeof m->kind, "%s", mi.kind);
        m->sec_per_attr = mi.seconds_per_attribution;
        load_delta(s, m, path, &h);
    }
    if (!h.nmethods) summary_note(s, "%s: no /attributions group", path);
done:
    xai_attr_header_free(&h);
    return st;
}

static xai_status load_metrics(xai_exp_summary *s, const char *path)
{
    xai_metrics_scores ms;
    XAI_TRY(xai_metricsfile_read_scores(&ms, path, &s->notes));
    s->has_metrics = 1;
    snprintf(s->perturb, sizeof s->perturb, "%s", ms.perturb);
    s->patch = ms.patch, s->flip_steps = ms.steps, s->per_step = ms.per_step;
    s->metric_images = ms.n_images, s->n_features = ms.n_features;
    s->fraction = ms.fraction, s->eval_seconds = ms.seconds;
    s->random_aopc = ms.random_aopc, s->random_aopc_se = ms.random_aopc_se;
    for (int i = 0; i < ms.nmethods; i++) {
        const xai_metrics_method_scores *q = &ms.methods[i];
        xai_method_summary *m = method_add(s, q->name);
        if (!m->kind[0]) snprintf(m->kind, sizeof m->kind, "%s", q->kind);
        m->aopc_morf = q->aopc_morf, m->aopc_morf_se = q->aopc_morf_se;
        m->aopc_lerf = q->aopc_lerf, m->aopc_lerf_se = q->aopc_lerf_se;
        m->abpc = q->abpc, m->abpc_se = q->abpc_se, m->vs_random_z = q->vs_random_z;
        m->compl_median = q->compl_median, m->compl_p90 = q->compl_p90;
    }
    /* The IG step curves change hands. */
    s->ig = ms.ig, s->nig = ms.nig;
    ms.ig = NULL, ms.nig = 0;
    xai_metrics_scores_free(&ms);
    return xai_metricsfile_read_stats(&s->stats, path, &s->notes);
}

/* --------------------------------------------------------- summary loader */

static void summary_init(xai_exp_summary *s, const char *exp_dir)
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
}

static const char *const RESULT_FILES[3] = {"model.h5", "attributions.h5", "metrics.h5"};

xai_status xai_exp_summary_load(xai_exp_summary *s, const char *exp_dir)
{
    summary_init(s, exp_dir);
    struct stat st;
    if (stat(exp_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return xai_fail(XAI_ENOTFOUND, "%s: no such experiment directory (expected model.h5, attributions.h5, "
                                       "metrics.h5 inside)", exp_dir);
    xai_status (*load[3])(xai_exp_summary *, const char *) = {load_model, load_attr, load_metrics};
    for (int i = 0; i < 3; i++) {
        char *p = xai_path_join(exp_dir, RESULT_FILES[i]);
        xai_status r = XAI_OK;
        if (xai_file_exists(p)) r = load[i](s, p);
        else summary_note(s, "%s: missing", p);
        free(p);
        XAI_TRY(r);
    }
    char *cf = xai_path_join(exp_dir, "metrics-confound.h5");
    xai_status r = xai_file_exists(cf) ? xai_metricsfile_read_stats(&s->confound, cf, &s->notes) : XAI_OK;
    free(cf);
    XAI_TRY(r);
    if (!s->dataset[0]) snprintf(s->dataset, sizeof s->dataset, "%s", s->name);
    if (s->nmethods > 1) qsort(s->methods, s->nmethods, sizeof *s->methods, cmp_method);
    return XAI_OK;
}

void xai_exp_summary_free(xai_exp_summary *s)
{
    free(s->layers_text);
    free(s->history);
    free(s->methods);
    xai_metrics_scores ms = {.ig = s->ig, .nig = s->nig};
    xai_metrics_scores_free(&ms);
    xai_metrics_stats_set_free(&s->stats);
    xai_metrics_stats_set_free(&s->confound);
    xai_sbuf_free(&s->notes);
    memset(s, 0, sizeof *s);
}

xai_status xai_exp_summaries_load(xai_exp_summary **out, const char *results_root, const char *const *exps, int n)
{
    xai_exp_summary *s = xai_calloc((size_t)(n ? n : 1), sizeof *s);
    xai_status st = XAI_OK;
    for (int e = 0; e < n && st == XAI_OK; e++) {
        char *dir = xai_path_join(results_root, exps[e]);
        st = xai_exp_summary_load(&s[e], dir);
        free(dir);
    }
    *out = s;
    return st;
}

void xai_exp_summaries_free(xai_exp_summary *s, int n)
{
    for (int e = 0; s && e < n; e++) xai_exp_summary_free(&s[e]);
    free(s);
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

void xai_exp_sort(char **names, int n)
{
    if (n > 1) qsort(names, n, sizeof *names, cmp_exp);
}

/* Appends a copy of s to a growing list. */
static void push_name(char ***v, int *n, const char *s)
{
    char **w = xai_malloc((size_t)(*n + 1) * sizeof *w);
    if (*n) memcpy(w, *v, (size_t)*n * sizeof *w);
    free(*v);
    *v = w;
    (*v)[(*n)++] = xai_strdup(s);
}

static int has_results(const char *dir)
{
    int any = 0;
    for (int i = 0; i < 3 && !any; i++) {
        char *p = xai_path_join(dir, RESULT_FILES[i]);
        any = xai_file_exists(p);
        free(p);
    }
    return any;
}

xai_status xai_exp_list(const char *results_root, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(results_root);
    if (!d) return xai_fail(XAI_ENOTFOUND, "%s: cannot open the results directory", results_root);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *dir = xai_path_join(results_root, e->d_name);
        if (has_results(dir)) push_name(names, n, e->d_name);
        free(dir);
    }
    closedir(d);
    xai_exp_sort(*names, *n);
    return XAI_OK;
}

void xai_exp_list_free(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void xai_name_list_parse(const char *csv, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    char *list = xai_strdup(csv);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) push_name(names, n, t);
    free(list);
}
