/* predict.c: the cost model of `xai reproduce` (experiments/README.md, "Cost model"): a stage's work
 * counted from its command line and the net, divided by rates measured with `xai bench`'s code. */
#include "experiments/predict.h"
#include "core/bench.h"
#include "datasets/datasets.h"
#include "explainers/faith.h"
#include "explainers/ig_exact.h"
#include "explainers/metricsfile.h"
#include "trainers/trainers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ work and rates */

void xai_work_add(xai_work *w, const char *kind, double amount)
{
    if (!(amount > 0)) return;
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->kind[i], kind)) {
            w->amount[i] += amount;
            return;
        }
    XAI_CHECK(w->n < XAI_WORK_MAX);
    snprintf(w->kind[w->n], XAI_KIND_LEN, "%s", kind);
    w->amount[w->n++] = amount;
}

void xai_rates_set(xai_rates *r, const char *kind, double rate)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->kind[i], kind)) {
            r->rate[i] = rate;
            return;
        }
    XAI_CHECK(r->n < XAI_WORK_MAX);
    snprintf(r->kind[r->n], XAI_KIND_LEN, "%s", kind);
    r->rate[r->n++] = rate;
}

double xai_rates_get(const xai_rates *r, const char *kind)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->kind[i], kind)) return r->rate[i];
    return -1;
}

/* "road-impute" counts imputations and "similarity" map comparisons (rates: a second), every other
 * kind FLOP (rates in GFLOP/s). */
static double unit_of(const char *kind) { return strcmp(kind, "road-impute") && strcmp(kind, "similarity") ? 1e9 : 1; }

double xai_predict_seconds(const xai_work *w, const xai_rates *r, char *why, size_t whylen)
{
    if (why && whylen) why[0] = 0;
    if (w->missing[0]) {
        if (why) snprintf(why, whylen, "%s", w->missing);
        return -1;
    }
    double s = 0;
    for (int i = 0; i < w->n; i++) {
        const double rate = xai_rates_get(r, w->kind[i]);
        if (!(rate > 0)) {
            if (why) snprintf(why, whylen, "no measured rate for '%s'", w->kind[i]);
            return -1;
        }
        s += w->amount[i] / (rate * unit_of(w->kind[i]));
    }
    return s;
}

void xai_work_print(FILE *f, const xai_work *w, const xai_rates *r, const char *indent)
{
    for (int i = 0; i < w->n; i++) {
        const double u = unit_of(w->kind[i]), rate = xai_rates_get(r, w->kind[i]);
        fprintf(f, "%s%-24s %14.2f %s at %10.2f/s: %9.2f s\n", indent, w->kind[i], w->amount[i] / u,
                u > 1 ? "GFLOP" : "items", rate, rate > 0 ? w->amount[i] / (u * rate) : NAN);
    }
    if (w->missing[0]) fprintf(f, "%snot counted: %s\n", indent, w->missing);
}

/* ------------------------------------------------------------------ work */

void xai_work_train(xai_work *w, const xai_model *m, int epochs, int ntrain, int nval, int ntest, int batch)
{
    const double F = xai_model_flops(m, NULL);
    const double steps = batch > 0 ? (double)(ntrain / batch) : 0; /* the last partial batch is dropped */
    xai_work_add(w, "train", 3 * F * epochs * steps * batch);
    xai_work_add(w, "infer", F * ((double)epochs * nval + ntest));
}

/* The net a method explains with: explain's, batch norms folded into the convs (xai explain, and
 * the rates "ig" and "gxi"), or the model as xai evaluate loads it, batch norms as layers of their
 * own (its gradient passes at "ig-unfolded": on a net without batch norms the same net, the same
 * rate). LRP folds whatever net it is given (xai_lrp_create): its composites' rates either way. */
typedef enum { NET_FOLDED, NET_LOADED } net_kind;

/* The kind of a gradient pass on net: `folded` (the method's own rate) on explain's net. */
static const char *grad_kind(net_kind net, const char *folded) { return net == NET_LOADED ? "ig-unfolded" : folded; }

/* The work of `images` attributions of one method on net. */
static xai_status method_work(xai_work *w, const xai_model *m, const xai_method *me, double images, net_kind net)
{
    const double F = xai_model_flops(m, NULL);
    switch (me->kind) {
    case XAI_METHOD_IG:
        if (me->ig.exact && images > 0)
            snprintf(w->missing, sizeof w->missing, "%s: exact IG's linear regions are not known ahead", me->spec);
        else xai_work_add(w, grad_kind(net, "ig"), 2 * F * me->ig.steps * images);
        return XAI_OK;
    case XAI_METHOD_SMOOTHGRAD: xai_work_add(w, grad_kind(net, "ig"), 2 * F * me->sg.samples * images); return XAI_OK;
    case XAI_METHOD_LRP: {
        xai_lrp *c;
        XAI_TRY(xai_lrp_create(&c, m, &me->lrp, 1));
        xai_work_add(w, me->spec, xai_lrp_flops(c) * images);
        xai_lrp_free(c);
        return XAI_OK;
    }
    case XAI_METHOD_RANDOM: return XAI_OK;
    default: xai_work_add(w, grad_kind(net, "gxi"), 2 * F * images); return XAI_OK; /* gradient, saliency, gradient x input */
    }
}

static xai_status methods_work(xai_work *w, const xai_model *m, const xai_method *meth, int nm, double images,
                               net_kind net)
{
    for (int a = 0; a < nm; a++) XAI_TRY(method_work(w, m, &meth[a], images, net));
    return XAI_OK;
}

xai_status xai_work_explain(xai_work *w, const xai_model *m, const xai_method *meth, int nm, int n)
{
    xai_work_add(w, "infer", xai_model_flops(m, NULL) * n); /* the logits of the images */
    return methods_work(w, m, meth, nm, n, NET_FOLDED);
}

static int min_i(int a, int b) { return a < b ? a : b; }

/* Steps of a removal schedule over nf features (xai_flip_schedule). */
static int schedule_steps(int nf, double fraction, int steps, int per_step)
{
    int64_t *removed;
    double *frac;
    const int K = xai_flip_schedule(nf, fraction, steps, per_step, &removed, &frac);
    free(removed);
    free(frac);
    return K;
}

/* The forward-only metrics of faith.h on n images of nm methods (their loops: explainers/faith.c). */
static void faith_forward_work(xai_work *w, double F, const xai_eval_opts *o, int nf, int n, int nm)
{
    const unsigned which = o->faith.which;
    const xai_faith_opts *f = &o->faith;
    if (which) xai_work_add(w, "infer", F * n); /* f(x) of every image */
    if (which & (1u << XAI_FM_INSDEL)) /* both curves' step 0 once, then K steps a method and curve */
        xai_work_add(w, "insdel", F * n * (2.0 + 2.0 * nm * schedule_steps(nf, 1.0, f->insdel_steps, 0)));
    if (which & (1u << XAI_FM_ROAD)) { /* step 0 once, MoRF and LeRF at each level, each imputed */
        xai_work_add(w, "road", F * n * (1.0 + 2.0 * nm * XAI_ROAD_LEVELS));
        xai_work_add(w, "road-impute", (double)n * 2 * nm * XAI_ROAD_LEVELS);
    }
    if (which & (1u << XAI_FM_FAITHCORR)) xai_work_add(w, "faithcorr", F * n * f->fc_runs);
    if (which & (1u << XAI_FM_SENSN)) {
        int T = 0;
        for (int64_t k = 1; k < nf && T < 32; k *= 2) T++;
        xai_work_add(w, "sensn", F * n * f->sensn_runs * T);
    }
    if (which & (1u << XAI_FM_INFIDELITY)) xai_work_add(w, "infidelity", F * n * f->infid_runs);
}

static int in_comma_list(const char *list, const char *name)
{
    const size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* The IG step curves: every distinct node of the rule x step counts on ni images of each curve
 * method, its two target-logit passes, exact IG on the first ne (regions: all of them together)
 * and the held-out midpoint run. */
static void ig_curve_work(xai_work *w, const xai_model *m, const xai_eval_opts *o, const xai_method *meth, int nm,
                          int n, double regions)
{
    const double F = xai_model_flops(m, NULL);
    int curves = 0;
    for (int a = 0; a < nm; a++)
        curves += meth[a].kind == XAI_METHOD_IG && (!o->ig_curve_methods || in_comma_list(o->ig_curve_methods, meth[a].spec));
    if (!curves) curves = 1; /* the default `ig` then */
    const int ni = min_i(o->ig_n, n);
    /* One gradient row an image per distinct node of all runs (xai_ig_grid); every point of every
     * run when the grid is invalid (evaluate then fails on it). */
    int nodes;
    double rows = 0;
    if (xai_ig_grid_nodes(o->ig_rules, o->nig_rules, o->ig_steps, o->nig_steps, &nodes) == XAI_OK) rows = nodes;
    else {
        xai_clear_error();
        for (int t = 0; t < o->nig_steps; t++) rows += (double)o->nig_rules * o->ig_steps[t];
    }
    xai_work_add(w, "ig", 2 * F * curves * ni * rows); /* on explain's folded net */
    xai_work_add(w, "infer", 2 * F * curves * ni);
    const int ne = o->ig_exact_n < 0 || o->ig_exact_n > ni ? ni : o->ig_exact_n;
    if (ne == 0 || xai_ig_exact_check(m) != XAI_OK) {
        xai_clear_error();
        return;
    }
    if (regions < 0) snprintf(w->missing, sizeof w->missing, "exact IG on %d images: its linear regions are not known", ne);
    else xai_work_add(w, "exact", 2 * F * regions);
    if (xai_eval_needs_held_out(o))
        xai_work_add(w, "ig", 2 * F * curves * XAI_IG_CHECK_STEPS * min_i(ne, XAI_IG_CHECK_IMAGES));
}

/* The net evaluate's families that explain again (max-sensitivity, the random-logit test, the
 * randomisation cascade) explain with: explain's folded net (explainers/evaluate.c, run_families,
 * hands them em), as every other family (fm). */
#define REEXPLAIN_NET NET_FOLDED

xai_status xai_work_evaluate(xai_work *w, const xai_model *m, const xai_eval_opts *o, const xai_method *meth, int nm,
                             int nfile, double regions)
{
    const double F = xai_model_flops(m, NULL);
    const int n = o->n > 0 && o->n < nfile ? o->n : nfile;
    const int nf = xai_flip_nfeatures(m->in, o->flip.patch);
    /* the model check on every image, the inference rate (a warm-up and 3 batches) */
    xai_work_add(w, "infer", F * (n + 4.0 * o->batch));
    const int K = schedule_steps(nf, o->flip.fraction, o->flip.steps, o->flip.per_step);
    xai_work_add(w, "pixelflip", F * n * (1.0 + (2.0 * nm + 1) * K)); /* step 0, the random control, MoRF, LeRF */
    faith_forward_work(w, F, o, nf, n, nm);
    const unsigned which = o->faith.which;
    if (which & (1u << XAI_FM_MAXSENS)) /* each image and runs perturbed copies, explained again */
        XAI_TRY(methods_work(w, m, meth, nm, (double)min_i(o->faith.maxsens_n, n) * (o->faith.maxsens_runs + 1),
                             REEXPLAIN_NET));
    if (which & (1u << XAI_FM_RANDLOGIT)) { /* each image for its class and a random one, the maps compared */
        const int nr = min_i(o->faith.randlogit_n, n);
        XAI_TRY(methods_work(w, m, meth, nm, 2.0 * nr, REEXPLAIN_NET));
        xai_work_add(w, "similarity", (double)nm * nr);
    }
    if (o->sanity) { /* the original and each randomised top-down cascade step, each step's maps compared */
        int np = 0;
        for (int i = 0; i < m->nlayers; i++) np += m->layers[i].type == XAI_CONV2D || m->layers[i].type == XAI_LINEAR;
        const int ns = min_i(o->sanity_n, n);
        XAI_TRY(methods_work(w, m, meth, nm, (1.0 + np) * ns, REEXPLAIN_NET));
        xai_work_add(w, "similarity", (double)nm * (1.0 + np) * ns);
    }
    if (o->ig_curve) ig_curve_work(w, m, o, meth, nm, n, regions);
    return XAI_OK;
}

/* ------------------------------------------------------- one reproduce stage */

/* The value of --key in argv (as --key=value or --key value; the last wins), or NULL. */
static const char *argval(int argc, char **argv, const char *key)
{
    const char *v = NULL;
    const size_t n = strlen(key);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || strncmp(a + 2, key, n)) continue;
        if (a[2 + n] == '=') v = a + 3 + n;
        else if (!a[2 + n] && i + 1 < argc) v = argv[i + 1];
    }
    return v;
}

static int int_of(const char *v, int def) { return v ? atoi(v) : def; }
static int switch_of(const char *v, int def)
{
    if (!v) return def;
    return !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1");
}

/* The options of an `xai evaluate` command line that decide its work, over xai_eval_defaults. */
static xai_status eval_opts_of(xai_eval_opts *o, int argc, char **argv)
{
    xai_eval_defaults(o);
    xai_faith_opts *f = &o->faith;
    const char *v;
    o->n = int_of(argval(argc, argv, "n"), 0);
    o->batch = int_of(argval(argc, argv, "batch"), o->batch);
    o->flip.patch = int_of(argval(argc, argv, "patch"), o->flip.patch);
    o->flip.steps = int_of(argval(argc, argv, "steps"), o->flip.steps);
    o->flip.per_step = int_of(argval(argc, argv, "per-step"), 0);
    if ((v = argval(argc, argv, "fraction"))) o->flip.fraction = atof(v);
    o->sanity = switch_of(argval(argc, argv, "sanity"), 0);
    o->sanity_n = int_of(argval(argc, argv, "sanity-n"), o->sanity_n);
    o->ig_curve = switch_of(argval(argc, argv, "ig-curve"), 0);
    o->ig_n = int_of(argval(argc, argv, "ig-n"), o->ig_n);
    o->ig_check = switch_of(argval(argc, argv, "ig-check"), o->ig_check);
    o->ig_exact_n = int_of(argval(argc, argv, "ig-exact-n"), o->ig_exact_n);
    o->ig_curve_methods = argval(argc, argv, "ig-curve-methods");
    if ((v = argval(argc, argv, "ig-steps")) && (o->nig_steps = xai_eval_parse_list(v, o->ig_steps, XAI_EVAL_MAX_LIST, 0)) < 1)
        return xai_fail(XAI_EINVAL, "--ig-steps %s: expected a list of step counts", v);
    if ((v = argval(argc, argv, "ig-rules")) && (o->nig_rules = xai_eval_parse_list(v, o->ig_rules, XAI_EVAL_MAX_LIST, 1)) < 1)
        return xai_fail(XAI_EINVAL, "--ig-rules %s: expected a list of quadrature rules", v);
    if ((v = argval(argc, argv, "metrics"))) XAI_TRY(xai_faith_parse(v, &f->which));
    f->insdel_steps = int_of(argval(argc, argv, "insdel-steps"), f->insdel_steps);
    f->fc_runs = int_of(argval(argc, argv, "faithcorr-runs"), f->fc_runs);
    if ((v = argval(argc, argv, "faithcorr-fraction"))) f->fc_fraction = atof(v);
    f->sensn_runs = int_of(argval(argc, argv, "sensn-runs"), f->sensn_runs);
    f->infid_runs = int_of(argval(argc, argv, "infid-runs"), f->infid_runs);
    f->maxsens_n = int_of(argval(argc, argv, "maxsens-n"), f->maxsens_n);
    f->maxsens_runs = int_of(argval(argc, argv, "maxsens-runs"), f->maxsens_runs);
    f->randlogit_n = int_of(argval(argc, argv, "randlogit-n"), f->randlogit_n);
    if (o->n < 0 || o->batch < 1 || o->flip.patch < 1 || o->flip.steps < 1 || o->sanity_n < 1 || o->ig_n < 1)
        return xai_fail(XAI_EINVAL, "evaluate: --n, --batch, --patch, --steps, --sanity-n or --ig-n out of range");
    return xai_faith_check(f);
}

/* An explain option: the command line's, else the config's [explain] key (cmd_explain.c's order). */
static const char *explain_opt(const xai_stage_cmd *c, int argc, char **argv, const char *key)
{
    const char *v = argval(argc, argv, key);
    return v ? v : xai_config_str(c->cfg, "explain", key, NULL);
}

/* The explain stage's methods, with --ig-steps and --sg-samples applied as `xai explain` does. */
static xai_status explain_methods(xai_method **meth, int *nm, const xai_stage_cmd *c, int argc, char **argv)
{
    const char *over[XAI_METHOD_KINDS] = {0};
    char ig[64] = "", sg[64] = "";
    const char *steps = explain_opt(c, argc, argv, "ig-steps"), *samples = explain_opt(c, argc, argv, "sg-samples");
    if (steps) snprintf(ig, sizeof ig, "steps=%s", steps), over[XAI_METHOD_IG] = ig;
    if (samples) snprintf(sg, sizeof sg, "samples=%s", samples), over[XAI_METHOD_SMOOTHGRAD] = sg;
    const char *list = explain_opt(c, argc, argv, "methods");
    return xai_method_parse_list(meth, nm, list ? list : xai_default_methods, over);
}

/* Images in the cached dataset's splits (limit: the first `limit` of each, 0: all). */
static xai_status split_sizes(const xai_stage_cmd *c, int limit, int *ntrain, int *ntest)
{
    const char *name = xai_config_str(c->cfg, "experiment", "dataset", NULL);
    long size;
    XAI_TRY(xai_config_int(c->cfg, "experiment", "size", 0, &size));
    const xai_fetch_opts fo = {.data_dir = c->data_dir, .size = (int)size};
    char *path = NULL;
    xai_dataset d;
    xai_status s = name ? xai_dataset_cache_path(&path, name, &fo)
                        : xai_fail(XAI_EINVAL, "%s: no [experiment] dataset", c->cfg->path);
    if (s == XAI_OK && !xai_file_exists(path))
        s = xai_fail(XAI_ENOTFOUND, "%s: no dataset cache (fetch it first) to count its images", path);
    if (s == XAI_OK && (s = xai_dataset_load_file(&d, path, 1)) == XAI_OK) {
        *ntrain = limit > 0 && limit < d.train.total ? limit : d.train.total;
        *ntest = limit > 0 && limit < d.test.total ? limit : d.test.total;
        xai_dataset_free(&d);
    }
    free(path);
    return s;
}

static xai_status train_work(xai_work *w, const xai_stage_cmd *c, const xai_model *m)
{
    xai_train_cfg tc;
    XAI_TRY(xai_train_cfg_parse(&tc, c->cfg));
    int ntrain, ntest;
    XAI_TRY(split_sizes(c, int_of(argval(c->argc, c->argv, "limit"), 0), &ntrain, &ntest));
    const int epochs = int_of(argval(c->argc, c->argv, "epochs"), tc.epochs);
    int nval = (int)llround(tc.val_fraction * ntrain);
    if (tc.val_fraction > 0 && nval < 1) nval = 1;
    xai_work_train(w, m, epochs, ntrain - nval, nval, ntest, tc.batch);
    return XAI_OK;
}

/* Images the explain stage explains: --n (default 256) from test image 0, at most the split. */
static xai_status explain_images(const xai_stage_cmd *c, int argc, char **argv, int *n)
{
    int ntrain, ntest;
    XAI_TRY(split_sizes(c, 0, &ntrain, &ntest));
    const int want = int_of(explain_opt(c, argc, argv, "n"), 256);
    *n = want < ntest ? want : ntest;
    return XAI_OK;
}

/* The experiment's net with batch norms folded, as the explainers and metrics run it. */
static xai_status folded_net(xai_model **out, const xai_config *cfg)
{
    xai_model *raw = NULL;
    *out = NULL;
    XAI_TRY(xai_model_from_config(&raw, cfg, 1));
    xai_model_init(raw, 1);
    xai_status s = xai_model_fold_batchnorm(out, raw, 1);
    xai_model_free(raw);
    return s;
}

xai_status xai_stage_work_of(xai_work *w, const xai_stage_cmd *c, double exact_regions)
{
    memset(w, 0, sizeof *w);
    int at = 1;
    while (at < c->argc && !strncmp(c->argv[at], "--", 2)) at++; /* past the global options */
    const char *cmd = at < c->argc ? c->argv[at] : "";
    if (strcmp(cmd, "train") && strcmp(cmd, "explain") && strcmp(cmd, "evaluate"))
        return xai_fail(XAI_ENOTFOUND, "xai %s: moves and draws files, not modelled (no rate of its own)", cmd);
    xai_model *m = NULL;
    xai_method *meth = NULL;
    int nm = 0, n = 0;
    xai_status s = folded_net(&m, c->cfg);
    if (s != XAI_OK) goto done;
    if (!strcmp(cmd, "train")) {
        s = train_work(w, c, m);
        goto done;
    }
    const int ea = !strcmp(cmd, "explain") ? c->argc : c->explain_argc;
    char **ev = !strcmp(cmd, "explain") ? c->argv : c->explain_argv;
    if (!ev) {
        s = xai_fail(XAI_EINVAL, "xai %s: the explain stage's command line is needed for its attribution file", cmd);
        goto done;
    }
    if ((s = explain_methods(&meth, &nm, c, ea, ev)) != XAI_OK || (s = explain_images(c, ea, ev, &n)) != XAI_OK)
        goto done;
    if (!strcmp(cmd, "explain")) {
        s = xai_work_explain(w, m, meth, nm, n);
    } else {
        xai_eval_opts o;
        if ((s = eval_opts_of(&o, c->argc, c->argv)) == XAI_OK) s = xai_work_evaluate(w, m, &o, meth, nm, n, exact_regions);
    }
done:
    free(meth);
    xai_model_free(m);
    return s;
}

xai_status xai_stage_calib_needs(int argc, char **argv, int *eval_batch, int *exact)
{
    xai_eval_opts o;
    XAI_TRY(eval_opts_of(&o, argc, argv));
    *eval_batch = o.batch;
    *exact = o.ig_curve && o.ig_exact_n != 0;
    return XAI_OK;
}

/* ---------------------------------------------------------------- rates */

static const char *const METRIC_KINDS[] = {"pixelflip", "insdel", "road", "faithcorr", "sensn", "infidelity", NULL};

/* The forward-only metrics' rates from one `xai bench evaluate` run (ROAD's outside its imputation),
 * and ROAD's imputed rows a second. */
static void metric_rates(xai_rates *r, const xai_bench_eval_result *e)
{
    for (int k = 0; k < e->nmetrics; k++) {
        const xai_bench_metric_figure *f = &e->metric[k];
        int known = 0;
        for (int j = 0; METRIC_KINDS[j]; j++) known |= !strcmp(f->name, METRIC_KINDS[j]);
        if (!known || !(f->forward_per_s > 0)) continue;
        const int road = !strcmp(f->name, "road") && f->impute_rows_per_s > 0 && f->forward_per_s_ex_impute > 0;
        xai_rates_set(r, f->name, (road ? f->forward_per_s_ex_impute : f->forward_per_s) * e->gflop_per_forward);
        if (road) xai_rates_set(r, "road-impute", f->impute_rows_per_s);
    }
}

/* Whether the config's [model] has a batch norm: then xai evaluate's loaded net and explain's
 * folded one differ. */
static int has_batchnorm(const xai_config *cfg)
{
    xai_model *raw = NULL;
    if (xai_model_from_config(&raw, cfg, 1) != XAI_OK) {
        xai_clear_error();
        return 1; /* measured apart then: the measurement reports the error */
    }
    int bn = 0;
    for (int i = 0; i < raw->nlayers; i++) bn |= raw->layers[i].type == XAI_BATCHNORM2D;
    xai_model_free(raw);
    return bn;
}

/* Each LRP composite of the config's [explain] methods, gradient x input beside it (the mean of
 * its runs). rows: a small batch keeps the calibration short; the rate hardly depends on it. */
static xai_status lrp_rates(xai_rates *r, const char *config, const xai_config *cfg, xai_bench_explain_opts o)
{
    xai_method *meth = NULL;
    int nm = 0;
    const xai_stage_cmd c = {cfg, 0, NULL, 0, NULL, NULL};
    XAI_TRY(explain_methods(&meth, &nm, &c, 0, NULL));
    double gxi = 0;
    int runs = 0;
    xai_status s = XAI_OK;
    for (int a = 0; a <= nm && s == XAI_OK; a++) {
        if (a < nm && meth[a].kind != XAI_METHOD_LRP) continue;
        if (a == nm && runs) break;
        o.config = config, o.method = a < nm ? meth[a].spec : "lrp-epsilon"; /* no LRP: gradient x input still */
        xai_bench_explain_result res;
        if ((s = xai_bench_lrp_run(&o, &res)) != XAI_OK) break;
        if (a < nm) xai_rates_set(r, meth[a].spec, res.gflops);
        gxi += res.gxi_attr_per_s * res.gxi_gflop_per_attr, runs++;
    }
    if (s == XAI_OK) xai_rates_set(r, "gxi", gxi / runs);
    free(meth);
    return s;
}

/* Exact IG's rate: GFLOP/s of 2 x forward a linear region, as `xai bench ig --rule exact` counts
 * them, on a short path (from 0.9 x to x) of the net with random biases N(0, 0.1^2) and one random
 * input: the whole path from black crosses tens of thousands of regions (a CPU-minute on the MNIST
 * net), this tenth of it a few thousand, and the work a region is the same. */
static xai_status exact_rate(xai_rates *r, const xai_config *cfg)
{
    xai_model *raw = NULL, *m = NULL;
    XAI_TRY(xai_model_from_config(&raw, cfg, 1));
    xai_model_init(raw, 1);
    xai_rng g;
    xai_rng_seed(&g, 8);
    for (int i = 0; i < raw->nlayers; i++)
        for (size_t j = 0; j < raw->layers[i].nb; j++) raw->layers[i].b[j] = 0.1f * xai_rng_normal(&g);
    xai_status s = xai_model_fold_batchnorm(&m, raw, xai_explain_default_rows(raw));
    xai_model_free(raw);
    if (s != XAI_OK) return s;
    const size_t isz = xai_shape_size(m->in);
    float *x = xai_malloc(3 * isz * sizeof *x), *xb = x + isz, *attr = x + 2 * isz;
    for (size_t j = 0; j < isz; j++) x[j] = xai_rng_normal(&g), xb[j] = 0.9f * x[j];
    const int32_t target = 0;
    xai_ig_exact_stats st;
    const double t0 = xai_now();
    s = xai_ig_exact(m, NULL, x, xb, &target, 1, attr, &st);
    const double t = xai_now() - t0;
    if (s == XAI_OK) xai_rates_set(r, "exact", 2 * xai_model_flops(m, NULL) * st.regions / (t > 0 ? t : 1e-9) * 1e-9);
    free(x);
    xai_model_free(m);
    return s;
}

xai_status xai_rates_measure(xai_rates *r, const char *config, int eval_batch, int exact, xai_calib_effort effort)
{
    memset(r, 0, sizeof *r);
    const int quick = effort == XAI_CALIB_QUICK;
    const xai_bench_timing t = {.repeats = quick ? 1 : 3, .warmup = quick ? 0 : 1, .iters = quick ? 1 : 2};
    xai_config cfg;
    XAI_TRY(xai_config_load(&cfg, config));
    xai_train_cfg tc;
    xai_model *m = NULL;
    xai_bench_result b;
    xai_bench_eval_result e;
    xai_status s;
    if ((s = xai_train_cfg_parse(&tc, &cfg)) != XAI_OK || (s = folded_net(&m, &cfg)) != XAI_OK) goto done;
    if ((s = xai_bench_model(&b, config, tc.batch, 1, &t)) != XAI_OK) goto done;
    xai_rates_set(r, "train", b.gflops);
    if ((s = xai_bench_model(&b, config, xai_explain_default_rows(m), 0, &t)) != XAI_OK) goto done;
    xai_rates_set(r, "infer", b.gflops);
    xai_bench_explain_opts o = {config, NULL, 50, quick ? 2 : 4, XAI_QUAD_GAUSS, 0, t.repeats, t.warmup, 1, 0, 0, NULL, NULL, 0};
    xai_bench_explain_result res;
    if ((s = xai_bench_ig_run(&o, &res)) != XAI_OK) goto done;
    xai_rates_set(r, "ig", res.gflops);
    /* IG through the net as xai evaluate loads it, at its batch (its IG step curves, and the methods
     * the families that explain again run); without batch norms that is the folded net itself */
    if (has_batchnorm(&cfg)) {
        o.unfolded = 1, o.rows = eval_batch;
        if ((s = xai_bench_ig_run(&o, &res)) != XAI_OK) goto done;
        o.unfolded = 0;
    }
    xai_rates_set(r, "ig-unfolded", res.gflops);
    o.rows = quick ? 8 : 32;
    if ((s = lrp_rates(r, config, &cfg, o)) != XAI_OK) goto done;
    if (exact && (s = exact_rate(r, &cfg)) != XAI_OK) goto done;
    o.rows = eval_batch, o.images = quick ? 2 : 4, o.repeats = quick ? 1 : 2;
    if ((s = xai_bench_evaluate_run(&o, NULL, &e)) != XAI_OK) goto done;
    metric_rates(r, &e);
    if (e.similarity_per_s > 0) xai_rates_set(r, "similarity", e.similarity_per_s);
done:
    xai_model_free(m);
    xai_config_free(&cfg);
    return s;
}

void xai_rates_key(char key[17], const xai_config *cfg, int eval_batch, int exact)
{
    uint64_t h = XAI_FNV_OFFSET;
    for (int i = 0; i < cfg->n; i++) {
        const xai_config_entry *e = &cfg->e[i];
        const int used = !strcmp(e->section, "model") || (!strcmp(e->section, "train") && !strcmp(e->key, "batch")) ||
                         (!strcmp(e->section, "explain") && strcmp(e->key, "n"));
        if (!used) continue;
        h = xai_fnv1a(h, e->section, strlen(e->section) + 1);
        h = xai_fnv1a(h, e->key, strlen(e->key) + 1);
        h = xai_fnv1a(h, e->value, strlen(e->value) + 1);
    }
    char tail[160];
    snprintf(tail, sizeof tail, "%s threads %d batch %d exact %d", xai_version(), xai_threads(), eval_batch, exact);
    h = xai_fnv1a(h, tail, strlen(tail));
    snprintf(key, 17, "%016llx", (unsigned long long)h);
}

void xai_rates_format(xai_sbuf *b, const char *key, const xai_rates *r)
{
    xai_sbuf_printf(b, "rates %s\n", key);
    for (int i = 0; i < r->n; i++) xai_sbuf_printf(b, "%s %.6g\n", r->kind[i], r->rate[i]);
    xai_sbuf_printf(b, "end\n");
}

int xai_rates_parse(const char *text, const char *key, xai_rates *r)
{
    memset(r, 0, sizeof *r);
    char head[64];
    snprintf(head, sizeof head, "rates %s\n", key);
    const char *p = text ? strstr(text, head) : NULL;
    if (!p) return 0;
    for (p += strlen(head); *p && strncmp(p, "end\n", 4);) {
        char kind[XAI_KIND_LEN];
        double v;
        if (sscanf(p, "%47s %lf", kind, &v) != 2 || r->n == XAI_WORK_MAX || !(v > 0)) return 0;
        xai_rates_set(r, kind, v);
        const char *nl = strchr(p, '\n');
        if (!nl) return 0;
        p = nl + 1;
    }
    return !strncmp(p, "end\n", 4);
}

double xai_exact_regions(const char *metrics_path)
{
    xai_metrics_scores sc;
    if (!xai_file_exists(metrics_path) || xai_metricsfile_read_scores(&sc, metrics_path, NULL) != XAI_OK) {
        xai_clear_error();
        return -1;
    }
    double regions = 0;
    for (int i = 0; i < sc.nig && regions >= 0; i++)
        if (sc.ig[i].exact) regions = isfinite(sc.ig[i].regions_mean) ? regions + sc.ig[i].regions_mean * sc.ig[i].exact_n : -1;
    xai_metrics_scores_free(&sc);
    return regions;
}
