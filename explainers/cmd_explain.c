/* cmd_explain.c: method specs and the explainer dispatch, `xai explain` (attributions of test
 * images to HDF5) and `xai bench ig` / `xai bench lrp` (attribution throughput). */
#include "datasets/datasets.h"
#include "experiments/commands.h"
#include "explainers/explain.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* ------------------------------------------------------------ method specs */

static const char *kind_names[XAI_METHOD_KINDS] = {"ig",         "lrp",        "gradient", "saliency",
                                                   "gradient-x-input", "smoothgrad", "random"};

const char *xai_method_kind_name(xai_method_kind k) { return (unsigned)k < XAI_METHOD_KINDS ? kind_names[k] : "unknown"; }

static xai_status parse_num(const char *spec, const char *key, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi))
        return xai_fail(XAI_EINVAL, "method '%s': %s=%s is not a number in [%g, %g]", spec, key, v, lo, hi);
    *out = d;
    return XAI_OK;
}

static xai_status parse_int(const char *spec, const char *key, const char *v, long lo, long hi, long *out)
{
    double d = 0; /* set by parse_num; GCC -O3 cannot see it */
    XAI_TRY(parse_num(spec, key, v, (double)lo, (double)hi, &d));
    if (d != floor(d)) return xai_fail(XAI_EINVAL, "method '%s': %s=%s is not an integer", spec, key, v);
    *out = (long)d;
    return XAI_OK;
}

/* Rule names for first/conv/dense; zplus and alpha2beta1 also fix alpha and beta. */
static xai_status parse_rule(const char *spec, const char *key, const char *v, xai_lrp_opts *o, int *rule)
{
    int r = xai_lrp_rule_from_name(v);
    if (r < 0)
        return xai_fail(XAI_EINVAL,
                        "method '%s': %s=%s is not an LRP rule (0, epsilon, gamma, alphabeta, zplus, alpha2beta1, "
                        "flat, wsquare, zbox)",
                        spec, key, v);
    if (!strcmp(v, "zplus") || !strcmp(v, "z+") || !strcmp(v, "alpha1beta0")) o->alpha = 1, o->beta = 0;
    if (!strcmp(v, "alpha2beta1")) o->alpha = 2, o->beta = 1;
    *rule = r;
    return XAI_OK;
}

static xai_status apply_key(xai_method *m, const char *key, const char *v)
{
    const char *spec = m->spec;
    long k;
    switch (m->kind) {
    case XAI_METHOD_IG: {
        xai_ig_opts *o = &m->ig;
        if (!strcmp(key, "steps")) {
            XAI_TRY(parse_int(spec, key, v, 1, 1000000, &k));
            o->steps = (int)k;
        } else if (!strcmp(key, "rule")) {
            int r = xai_quad_rule_from_name(v);
            if (r < 0)
                return xai_fail(XAI_EINVAL, "method '%s': rule=%s is not left, right, midpoint, trapezoid or gauss",
                                spec, v);
            o->rule = r;
        } else if (!strcmp(key, "baseline")) {
            int b = xai_baseline_from_name(v);
            if (b < 0)
                return xai_fail(XAI_EINVAL, "method '%s': baseline=%s is not black, const, mean, uniform or blur",
                                spec, v);
            o->baseline = b;
        } else if (!strcmp(key, "value")) XAI_TRY(parse_num(spec, key, v, -1e6, 1e6, &o->value));
        else if (!strcmp(key, "sigma")) XAI_TRY(parse_num(spec, key, v, 1e-6, 1000, &o->sigma));
        else if (!strcmp(key, "seed")) {
            XAI_TRY(parse_int(spec, key, v, 0, 1L << 52, &k));
            o->seed = (uint64_t)k;
        } else
            return xai_fail(XAI_EINVAL, "method '%s': '%s' is not an IG setting (steps, rule, baseline, value, sigma, seed)",
                            spec, key);
        return XAI_OK;
    }
    case XAI_METHOD_LRP: {
        xai_lrp_opts *o = &m->lrp;
        int r;
        if (!strcmp(key, "eps") || !strcmp(key, "epsilon")) XAI_TRY(parse_num(spec, key, v, 0, 1e6, &o->epsilon));
        else if (!strcmp(key, "gamma")) XAI_TRY(parse_num(spec, key, v, 0, 1e6, &o->gamma));
        else if (!strcmp(key, "alpha")) XAI_TRY(parse_num(spec, key, v, 0, 1e6, &o->alpha));
        else if (!strcmp(key, "beta")) XAI_TRY(parse_num(spec, key, v, 0, 1e6, &o->beta));
        else if (!strcmp(key, "stabilizer")) XAI_TRY(parse_num(spec, key, v, 1e-30, 0.5, &o->stabilizer));
        else if (!strcmp(key, "low")) XAI_TRY(parse_num(spec, key, v, -1e6, 1e6, &o->zb_low));
        else if (!strcmp(key, "high")) XAI_TRY(parse_num(spec, key, v, -1e6, 1e6, &o->zb_high));
        else if (!strcmp(key, "bias")) {
            if (!strcmp(v, "input")) o->bias_input = 1;
            else if (!strcmp(v, "ignore")) o->bias_input = 0;
            else return xai_fail(XAI_EINVAL, "method '%s': bias=%s is not 'input' or 'ignore'", spec, v);
        } else if (!strcmp(key, "first")) {
            XAI_TRY(parse_rule(spec, key, v, o, &r));
            o->first = r;
        } else if (!strcmp(key, "conv")) {
            XAI_TRY(parse_rule(spec, key, v, o, &r));
            o->conv = r;
        } else if (!strcmp(key, "dense")) {
            XAI_TRY(parse_rule(spec, key, v, o, &r));
            o->dense = r;
        } else
            return xai_fail(XAI_EINVAL,
                            "method '%s': '%s' is not an LRP setting (eps, gamma, alpha, beta, stabilizer, bias, "
                            "first, conv, dense, low, high)",
                            spec, key);
        return XAI_OK;
    }
    case XAI_METHOD_SMOOTHGRAD:
        if (!strcmp(key, "samples")) {
            XAI_TRY(parse_int(spec, key, v, 1, 1000000, &k));
            m->sg.samples = (int)k;
        } else if (!strcmp(key, "noise")) XAI_TRY(parse_num(spec, key, v, 0, 10, &m->sg.noise));
        else if (!strcmp(key, "seed")) {
            XAI_TRY(parse_int(spec, key, v, 0, 1L << 52, &k));
            m->sg.seed = (uint64_t)k;
        } else
            return xai_fail(XAI_EINVAL, "method '%s': '%s' is not a SmoothGrad setting (samples, noise, seed)", spec, key);
        return XAI_OK;
    case XAI_METHOD_RANDOM:
        if (!strcmp(key, "seed")) {
            XAI_TRY(parse_int(spec, key, v, 0, 1L << 52, &k));
            m->seed = (uint64_t)k;
            return XAI_OK;
        }
        return xai_fail(XAI_EINVAL, "method '%s': '%s' is not a setting of random (seed)", spec, key);
    default: return xai_fail(XAI_EINVAL, "method '%s': %s takes no settings (got '%s')", spec, kind_names[m->kind], key);
    }
}

/* Applies a "key=value:key=value" list. */
static xai_status apply_list(xai_method *m, const char *list)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t || !eq[1])
            return xai_fail(XAI_EINVAL, "method '%s': '%s' should be key=value", m->spec, t);
        *eq = 0;
        XAI_TRY(apply_key(m, t, eq + 1));
    }
    return XAI_OK;
}

xai_status xai_method_parse(xai_method *m, const char *spec, const char *const *overrides)
{
    memset(m, 0, sizeof *m);
    size_t len = strlen(spec);
    if (len == 0 || len >= sizeof m->spec)
        return xai_fail(XAI_EINVAL, "method '%s': empty or longer than %zu characters", spec, sizeof m->spec - 1);
    for (size_t i = 0; i < len; i++)
        if (spec[i] == '/' || spec[i] == ',' || isspace((unsigned char)spec[i]))
            return xai_fail(XAI_EINVAL, "method '%s': '/', ',' and spaces are not allowed in a method spec", spec);
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    char name[128];
    snprintf(name, sizeof name, "%s", spec);
    char *colon = strchr(name, ':');
    if (colon) *colon = 0;
    xai_ig_defaults(&m->ig);
    xai_smoothgrad_defaults(&m->sg);
    xai_lrp_composite(&m->lrp, "lrp-epsilon");
    m->seed = 1;
    if (!strcmp(name, "ig") || !strcmp(name, "integrated-gradients")) m->kind = XAI_METHOD_IG;
    else if (!strcmp(name, "gradient") || !strcmp(name, "grad")) m->kind = XAI_METHOD_GRADIENT;
    else if (!strcmp(name, "saliency")) m->kind = XAI_METHOD_SALIENCY;
    else if (!strcmp(name, "gradient-x-input") || !strcmp(name, "gxi") || !strcmp(name, "input-x-gradient"))
        m->kind = XAI_METHOD_GXI;
    else if (!strcmp(name, "smoothgrad")) m->kind = XAI_METHOD_SMOOTHGRAD;
    else if (!strcmp(name, "random")) m->kind = XAI_METHOD_RANDOM;
    else if (!strncmp(name, "lrp", 3)) {
        m->kind = XAI_METHOD_LRP;
        xai_status s = xai_lrp_composite(&m->lrp, name);
        if (s != XAI_OK) return s;
    } else
        return xai_fail(XAI_EINVAL,
                        "unknown method '%s' (expected ig, gradient, saliency, gradient-x-input, smoothgrad, random "
                        "or an LRP composite such as lrp-epsilon; see 'xai explain --help')",
                        name);
    if (overrides && overrides[m->kind] && overrides[m->kind][0]) XAI_TRY(apply_list(m, overrides[m->kind]));
    if (colon) XAI_TRY(apply_list(m, spec + (colon - name) + 1));
    xai_status s = XAI_OK;
    if (m->kind == XAI_METHOD_IG) s = xai_ig_check(&m->ig);
    if (m->kind == XAI_METHOD_LRP) s = xai_lrp_check(&m->lrp);
    if (s != XAI_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", xai_errmsg());
        return xai_fail(s, "method '%s': %s", spec, msg);
    }
    return XAI_OK;
}

/* --------------------------------------------------------------- explainer */

struct xai_explainer {
    xai_method meth;
    xai_model *m;
    xai_lrp *lrp;
};

xai_status xai_explainer_create(xai_explainer **out, const xai_method *meth, xai_model *m)
{
    *out = NULL;
    xai_explainer *e = xai_calloc(1, sizeof *e);
    e->meth = *meth;
    e->m = m;
    if (meth->kind == XAI_METHOD_LRP) {
        xai_status s = xai_lrp_create(&e->lrp, m, &meth->lrp, m->max_batch);
        if (s != XAI_OK) {
            free(e);
            return s;
        }
    }
    *out = e;
    return XAI_OK;
}

void xai_explainer_free(xai_explainer *e)
{
    if (!e) return;
    xai_lrp_free(e->lrp);
    free(e);
}

int xai_explainer_lrp_layers(const xai_explainer *e) { return e->lrp ? xai_lrp_model(e->lrp)->nlayers : 0; }
const xai_lrp *xai_explainer_lrp(const xai_explainer *e) { return e->lrp; }

xai_status xai_explainer_run(xai_explainer *e, const float *x, const int32_t *target, const int64_t *ids, int n,
                             float *attr, const xai_explain_aux *aux)
{
    xai_explain_aux none = {0};
    if (!aux) aux = &none;
    xai_model *m = e->m;
    switch (e->meth.kind) {
    case XAI_METHOD_IG: return xai_ig(m, &e->meth.ig, x, NULL, target, ids, n, attr, aux->delta, aux->fbase);
    case XAI_METHOD_LRP: return xai_lrp_run(e->lrp, x, target, n, attr, aux->residual, aux->layer_sums);
    case XAI_METHOD_GRADIENT: return xai_gradient(m, x, target, n, attr);
    case XAI_METHOD_SALIENCY: return xai_saliency(m, x, target, n, attr);
    case XAI_METHOD_GXI: return xai_gradient_x_input(m, x, target, n, attr);
    case XAI_METHOD_SMOOTHGRAD: return xai_smoothgrad(m, &e->meth.sg, x, target, ids, n, attr);
    case XAI_METHOD_RANDOM:
        xai_random_attribution(attr, xai_shape_size(m->in), n, ids, e->meth.seed);
        return XAI_OK;
    default: return xai_fail(XAI_EINVAL, "method '%s': unknown kind %d", e->meth.spec, (int)e->meth.kind);
    }
}

xai_status xai_method_attr_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, int n, float *attr)
{
    xai_explainer *e;
    XAI_TRY(xai_explainer_create(&e, (const xai_method *)ctx, m));
    xai_status s = xai_explainer_run(e, x, target, NULL, n, attr, NULL);
    xai_explainer_free(e);
    return s;
}

int xai_explain_default_rows(const xai_model *m)
{
    /* Wider batches amortise each layer's fixed costs (the engine's GEMMs group up to 8
     * samples per chunk of 16): take up to 256 rows within about 512 MB of activations. */
    /* The activation arena grows with the rows; per-row workspace (masks, argmax, bn) adds less
     * than a quarter more. Conv scratch is per thread, not per row. */
    double per_row = 1.25 * sizeof(float) * (double)m->act_floats / m->max_batch;
    double rows = 512.0 * (1 << 20) / (per_row > 1 ? per_row : 1);
    int r = rows > 256 ? 256 : (int)rows;
    r -= r % 8;
    return r < 8 ? 8 : r;
}

/* ------------------------------------------------------------ xai explain */

typedef struct {
    const char *model, *dataset, *methods, *out, *target, *data_dir, *mirror;
    int n, start, rows;
    char over[XAI_METHOD_KINDS][512]; /* per-kind key=value lists from the options */
} explain_opts;

static void explain_usage(FILE *f)
{
    fprintf(f,
            "usage: xai explain --model M.h5 --dataset D [options]\n"
            "Attributions of the model's target class for N test images, written to one HDF5 file\n"
            "(layout: explainers/README.md).\n"
            "\n"
            "  --model FILE        trained model (xai train)\n"
            "  --dataset NAME      %s, or a dataset cache file (.h5)\n"
            "  --methods LIST      comma-separated method specs (default: ig,lrp-epsilon,lrp-zplus,\n"
            "                      lrp-alpha2beta1,lrp-epsilon-plus-flat,lrp-epsilon-gamma-box,gradient,\n"
            "                      gradient-x-input,smoothgrad,random)\n"
            "  --n N               images to explain (default 256), from test image --start S (default 0)\n"
            "  --target T          pred (predicted class, default), label (true class) or a class index\n"
            "  --out FILE          output (default: attributions.h5 beside the model)\n"
            "  --ig-batch R        rows per batched pass, for every method; bounds memory (default: up\n"
            "                      to 256 rows within about 512 MB of activations)\n"
            "  --ig-steps S        IG quadrature points (default 50)\n"
            "  --ig-rule R         left, right, midpoint, trapezoid, gauss (default gauss)\n"
            "  --ig-baseline B     black (= zero), const, mean, uniform, blur (default black)\n"
            "  --ig-value V        const baseline's pixel value in [0, 1]; --ig-sigma S: blur sigma (px)\n"
            "  --lrp-epsilon E     epsilon rule stabiliser (default 1e-6; presets 0.1)\n"
            "  --lrp-gamma G       gamma rule (default 0.25)\n"
            "  --lrp-bias MODE     input (biases take a share of relevance, default) or ignore\n"
            "  --lrp-stabilizer S  other rules' denominators (default 1e-9)\n"
            "  --sg-samples N, --sg-noise F   SmoothGrad (default 50, 0.15 of the input range)\n"
            "  --seed S            seed of IG's uniform baseline, SmoothGrad and random (default 1)\n"
            "  --config FILE       read these options from its [explain] section (key = value, with\n"
            "                      the option's name, e.g. `ig-steps = 64`); the command line wins\n"
            "  --data-dir DIR, --mirror DIR   where datasets live / come from (see xai fetch)\n"
            "\n"
            "Method specs: NAME[:key=value]..., e.g. ig:rule=midpoint:steps=64, lrp-epsilon:eps=0.25,\n"
            "lrp-epsilon:first=flat:bias=ignore, smoothgrad:samples=20. LRP composites: lrp-0,\n"
            "lrp-epsilon, lrp-gamma, lrp-zplus, lrp-alpha1beta0, lrp-alpha2beta1, lrp-flat, lrp-wsquare,\n"
            "lrp-zbox, lrp-epsilon-plus-flat, lrp-epsilon-gamma-box, lrp-preset-a, lrp-preset-b.\n",
            XAI_DATASET_NAMES);
}

static void add_over(explain_opts *o, xai_method_kind k, const char *key, const char *v)
{
    size_t len = strlen(o->over[k]);
    snprintf(o->over[k] + len, sizeof o->over[k] - len, "%s%s=%s", len ? ":" : "", key, v);
}

/* One option; returns 1 when taken, 0 when unknown, -1 when its value is missing or bad. */
static int explain_option(explain_opts *o, const char *name, const char *v)
{
    if (!v) return -1;
    static const struct { const char *opt, *key; xai_method_kind k; } pass[] = {
        {"ig-steps", "steps", XAI_METHOD_IG},          {"ig-rule", "rule", XAI_METHOD_IG},
        {"ig-baseline", "baseline", XAI_METHOD_IG},    {"ig-value", "value", XAI_METHOD_IG},
        {"ig-sigma", "sigma", XAI_METHOD_IG},          {"lrp-epsilon", "eps", XAI_METHOD_LRP},
        {"lrp-gamma", "gamma", XAI_METHOD_LRP},        {"lrp-bias", "bias", XAI_METHOD_LRP},
        {"lrp-stabilizer", "stabilizer", XAI_METHOD_LRP}, {"sg-samples", "samples", XAI_METHOD_SMOOTHGRAD},
        {"sg-noise", "noise", XAI_METHOD_SMOOTHGRAD}};
    for (size_t i = 0; i < sizeof pass / sizeof *pass; i++)
        if (!strcmp(name, pass[i].opt)) {
            add_over(o, pass[i].k, pass[i].key, v);
            return 1;
        }
    if (!strcmp(name, "seed")) {
        add_over(o, XAI_METHOD_IG, "seed", v);
        add_over(o, XAI_METHOD_SMOOTHGRAD, "seed", v);
        add_over(o, XAI_METHOD_RANDOM, "seed", v);
    } else if (!strcmp(name, "model")) o->model = v;
    else if (!strcmp(name, "dataset")) o->dataset = v;
    else if (!strcmp(name, "methods")) o->methods = v;
    else if (!strcmp(name, "out")) o->out = v;
    else if (!strcmp(name, "target")) o->target = v;
    else if (!strcmp(name, "data-dir")) o->data_dir = v;
    else if (!strcmp(name, "mirror")) o->mirror = v;
    else if (!strcmp(name, "n") || !strcmp(name, "start") || !strcmp(name, "ig-batch") || !strcmp(name, "batch")) {
        char *end;
        long x = strtol(v, &end, 10);
        if (end == v || *end || x < (strcmp(name, "start") ? 1 : 0) || x > (1L << 30)) return -1;
        if (!strcmp(name, "n")) o->n = (int)x;
        else if (!strcmp(name, "start")) o->start = (int)x;
        else o->rows = (int)x;
    } else
        return 0;
    return 1;
}

static char *join_args(int argc, char **argv)
{
    size_t cap = 16;
    for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 1;
    char *s = xai_malloc(cap);
    size_t len = snprintf(s, cap, "xai");
    for (int i = 0; i < argc; i++) len += snprintf(s + len, cap - len, " %s", argv[i]);
    return s;
}

static double median_abs(const double *v, int n)
{
    if (n <= 0) return NAN;
    double *t = xai_malloc(n * sizeof *t);
    for (int i = 0; i < n; i++) t[i] = fabs(v[i]);
    qsort(t, n, sizeof *t, xai_cmp_double);
    double r = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    free(t);
    return r;
}

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

/* Runs one method over all images with a progress bar and writes it. */
static xai_status explain_method(xai_attr_writer *w, const xai_method *meth, xai_model *m, const xai_attr_header *h,
                                 float *attr, double *seconds_out)
{
    const int n = h->n;
    const size_t isz = xai_shape_size(h->shape);
    xai_explainer *e;
    XAI_TRY(xai_explainer_create(&e, meth, m));
    const int L = xai_explainer_lrp_layers(e);
    double *vec = xai_calloc((size_t)n * (2 + L + 1), sizeof *vec);
    xai_explain_aux aux = {0};
    if (meth->kind == XAI_METHOD_IG) aux.delta = vec, aux.fbase = vec + n;
    if (meth->kind == XAI_METHOD_LRP) aux.residual = vec, aux.layer_sums = vec + 2 * (size_t)n;
    /* Chunks whose rows fill whole batches, so progress costs no partial batches. */
    int per = meth->kind == XAI_METHOD_IG ? meth->ig.steps : meth->kind == XAI_METHOD_SMOOTHGRAD ? meth->sg.samples : 1;
    int chunk = m->max_batch / gcd(m->max_batch, per);
    if (per == 1) chunk = m->max_batch;
    while ((long)chunk * per < 4L * m->max_batch && chunk < n) chunk *= 2;
    xai_progress p;
    xai_progress_start(&p, meth->spec, n, "img");
    double t0 = xai_now();
    xai_status s = XAI_OK;
    for (int i = 0; i < n && s == XAI_OK; i += chunk) {
        int nb = n - i < chunk ? n - i : chunk;
        xai_explain_aux a = aux;
        if (a.delta) a.delta += i, a.fbase += i;
        if (a.residual) a.residual += i, a.layer_sums += (size_t)i * (L + 1);
        s = xai_explainer_run(e, h->inputs + (size_t)i * isz, h->targets + i, h->indices + i, nb, attr + (size_t)i * isz,
                              &a);
        xai_progress_update(&p, i + nb);
    }
    double secs = xai_now() - t0;
    char summary[256];
    snprintf(summary, sizeof summary, "%.3g s, %.4g attr/s", secs, n / secs);
    xai_progress_end(&p, summary);
    char *desc = e->lrp ? xai_lrp_describe(e->lrp) : NULL;
    if (s == XAI_OK) s = xai_attr_write_method(w, meth, attr, &aux, L, desc, secs);
    if (s == XAI_OK) {
        printf("%-28s %8.2f ms/attr", meth->spec, 1e3 * secs / n);
        if (meth->kind == XAI_METHOD_IG) {
            /* Completeness relative to f(x) - f(x'), the scale the error is judged on. */
            double *rel = xai_malloc(n * sizeof *rel);
            for (int i = 0; i < n; i++) {
                double fx = h->logits[(size_t)i * h->nclasses + h->targets[i]], df = fx - aux.fbase[i];
                rel[i] = df != 0 ? aux.delta[i] / df : aux.delta[i];
            }
            printf("  completeness error median %.3g (|delta| median %.3g)", median_abs(rel, n), median_abs(aux.delta, n));
            free(rel);
        } else if (meth->kind == XAI_METHOD_LRP)
            printf("  conservation residual |sum R - f(x)| median %.3g", median_abs(aux.residual, n));
        printf("\n");
    }
    *seconds_out = secs;
    free(desc);
    free(vec);
    xai_explainer_free(e);
    return s;
}

static const char *default_methods =
    "ig,lrp-epsilon,lrp-zplus,lrp-alpha2beta1,lrp-epsilon-plus-flat,lrp-epsilon-gamma-box,gradient,gradient-x-input,"
    "smoothgrad,random";

/* [explain] entries of a config become options placed before the command line's. */
static xai_status config_options(explain_opts *o, const char *path, xai_config *cfg)
{
    XAI_TRY(xai_config_load(cfg, path));
    for (int i = 0; i < cfg->n; i++) {
        const xai_config_entry *e = &cfg->e[i];
        if (strcmp(e->section, "explain")) continue;
        char key[64];
        snprintf(key, sizeof key, "%s", e->key);
        for (char *c = key; *c; c++)
            if (*c == '_') *c = '-';
        int r = explain_option(o, key, e->value);
        if (r == 0) return xai_fail(XAI_EINVAL, "%s:%d: [explain] has no setting '%s' (see 'xai explain --help')", path, e->line, e->key);
        if (r < 0) return xai_fail(XAI_EINVAL, "%s:%d: %s = '%s' is not a valid value", path, e->line, e->key, e->value);
    }
    return XAI_OK;
}

static xai_status run_explain(explain_opts *o, const char *command)
{
    /* Methods first: a typo should fail before minutes of loading. */
    const char *ov[XAI_METHOD_KINDS];
    for (int k = 0; k < XAI_METHOD_KINDS; k++) ov[k] = o->over[k];
    char *list = xai_strdup(o->methods ? o->methods : default_methods);
    int nm = 0;
    xai_method *meths = xai_calloc(strlen(list) + 1, sizeof *meths);
    xai_status s = XAI_OK;
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && s == XAI_OK; t = strtok_r(NULL, ",", &save)) {
        s = xai_method_parse(&meths[nm], t, ov);
        for (int j = 0; s == XAI_OK && j < nm; j++)
            if (!strcmp(meths[j].spec, t)) s = xai_fail(XAI_EINVAL, "--methods lists '%s' twice", t);
        nm++;
    }
    free(list);
    if (s == XAI_OK && nm == 0) s = xai_fail(XAI_EINVAL, "--methods is empty (e.g. --methods ig,lrp-epsilon)");
    xai_model *m = NULL;
    xai_dataset d;
    memset(&d, 0, sizeof d);
    xai_attr_header h;
    memset(&h, 0, sizeof h);
    char *outpath = NULL;
    if (s == XAI_OK) s = xai_model_load(&m, o->model, 1);
    if (s == XAI_OK) {
        /* The batch capacity is chosen once the model's size per row is known. */
        xai_model *wide;
        s = xai_model_clone(&wide, m, o->rows > 0 ? o->rows : xai_explain_default_rows(m));
        xai_model_free(m);
        m = s == XAI_OK ? wide : NULL;
    }
    if (s == XAI_OK) s = xai_hash_file(o->model, h.model_sha256, NULL);
    if (s == XAI_OK) {
        size_t L = strlen(o->dataset);
        if (L > 3 && !strcmp(o->dataset + L - 3, ".h5")) s = xai_dataset_load_file(&d, o->dataset, o->start + o->n);
        else {
            xai_fetch_opts fo = {0};
            fo.data_dir = o->data_dir;
            fo.mirror = o->mirror;
            fo.limit = o->start + o->n;
            if (m->in.h != 28 && m->in.h == m->in.w) fo.size = m->in.h;
            s = xai_dataset_load(&d, o->dataset, &fo);
        }
    }
    if (s == XAI_OK && (d.test.shape.c != m->in.c || d.test.shape.h != m->in.h || d.test.shape.w != m->in.w))
        s = xai_fail(XAI_EINVAL, "%s: images are %dx%dx%d but the model %s takes %dx%dx%d", o->dataset, d.test.shape.c,
                     d.test.shape.h, d.test.shape.w, o->model, m->in.c, m->in.h, m->in.w);
    if (s == XAI_OK && d.nclasses != m->nclasses)
        s = xai_fail(XAI_EINVAL, "%s: %d classes but the model %s has %d", o->dataset, d.nclasses, o->model, m->nclasses);
    if (s == XAI_OK && o->start >= d.test.n)
        s = xai_fail(XAI_EINVAL, "--start %d: the test split has only %d images", o->start, d.test.n);
    int n = 0;
    if (s == XAI_OK) {
        n = d.test.n - o->start < o->n ? d.test.n - o->start : o->n;
        if (n < o->n) fprintf(stderr, "xai explain: the test split has %d images from %d; explaining %d\n", d.test.n - o->start, o->start, n);
        const size_t isz = xai_shape_size(m->in), plane = (size_t)m->in.h * m->in.w;
        h.n = n;
        h.shape = m->in;
        h.nclasses = m->nclasses;
        h.inputs = xai_malloc((size_t)n * isz * sizeof *h.inputs);
        h.labels = xai_malloc(n * sizeof *h.labels);
        h.targets = xai_malloc(n * sizeof *h.targets);
        h.indices = xai_malloc(n * sizeof *h.indices);
        h.logits = xai_malloc((size_t)n * m->nclasses * sizeof *h.logits);
        for (int c = 0; c < 4; c++) h.norm_mean[c] = m->mean[c], h.norm_std[c] = m->std[c];
        for (int i = 0; i < n; i++) {
            const uint8_t *px = d.test.images + (size_t)(o->start + i) * isz;
            for (size_t j = 0; j < isz; j++) {
                int c = (int)(j / plane);
                h.inputs[(size_t)i * isz + j] = (px[j] / 255.0f - m->mean[c < 4 ? c : 0]) / m->std[c < 4 ? c : 0];
            }
            h.labels[i] = d.test.labels[o->start + i];
            h.indices[i] = o->start + i;
        }
        m->train = 0;
        for (int i = 0; i < n; i += m->max_batch) {
            int nb = n - i < m->max_batch ? n - i : m->max_batch;
            const float *lg = xai_model_forward(m, h.inputs + (size_t)i * isz, nb);
            memcpy(h.logits + (size_t)i * m->nclasses, lg, (size_t)nb * m->nclasses * sizeof *lg);
        }
        const char *t = o->target ? o->target : "pred";
        if (!strcmp(t, "pred")) {
            for (int i = 0; i < n; i++) h.targets[i] = xai_model_argmax(h.logits + (size_t)i * m->nclasses, m->nclasses);
            snprintf(h.target_mode, sizeof h.target_mode, "pred");
        } else if (!strcmp(t, "label")) {
            memcpy(h.targets, h.labels, n * sizeof *h.targets);
            snprintf(h.target_mode, sizeof h.target_mode, "label");
        } else {
            char *end;
            long k = strtol(t, &end, 10);
            if (end == t || *end || k < 0 || k >= m->nclasses)
                s = xai_fail(XAI_EINVAL, "--target %s: expected pred, label or a class in 0..%d", t, m->nclasses - 1);
            for (int i = 0; s == XAI_OK && i < n; i++) h.targets[i] = (int32_t)k;
            snprintf(h.target_mode, sizeof h.target_mode, "class:%ld", k);
        }
        snprintf(h.model_path, sizeof h.model_path, "%s", o->model);
        snprintf(h.dataset, sizeof h.dataset, "%s", o->dataset);
        snprintf(h.dataset_sha256, sizeof h.dataset_sha256, "%s", d.sha256);
    }
    if (s == XAI_OK) {
        if (o->out) outpath = xai_strdup(o->out);
        else {
            const char *slash = strrchr(o->model, '/');
            size_t dl = slash ? (size_t)(slash - o->model) : 0;
            outpath = xai_malloc(dl + 32);
            snprintf(outpath, dl + 32, "%.*s%sattributions.h5", (int)dl, o->model, slash ? "/" : "");
        }
    }
    /* Every method runs on a copy with batchnorm folded into the convs: the same function to
     * float rounding, without the per-element batchnorm passes. LRP folds it anyway. */
    if (s == XAI_OK) {
        xai_model *folded;
        s = xai_lrp_canonize(&folded, m, m->max_batch);
        if (s == XAI_OK) {
            xai_model_free(m);
            m = folded;
        }
    }
    xai_attr_writer w;
    memset(&w, 0, sizeof w);
    if (s == XAI_OK) s = xai_attr_create(&w, outpath, &h, command);
    if (s == XAI_OK) {
        fprintf(stderr, "xai explain: %d images of %s, %d method%s, %d rows a batch, %d thread%s\n", n, o->dataset, nm,
                nm > 1 ? "s" : "", m->max_batch, xai_threads(), xai_threads() > 1 ? "s" : "");
        float *attr = xai_malloc((size_t)n * xai_shape_size(m->in) * sizeof *attr);
        for (int k = 0; k < nm && s == XAI_OK; k++) {
            double secs;
            s = explain_method(&w, &meths[k], m, &h, attr, &secs);
        }
        free(attr);
        if (s == XAI_OK) s = xai_attr_commit(&w);
        else xai_attr_abort(&w);
        if (s == XAI_OK) fprintf(stderr, "xai explain: wrote %s\n", outpath);
    }
    free(outpath);
    xai_attr_header_free(&h);
    xai_dataset_free(&d);
    xai_model_free(m);
    free(meths);
    return s;
}

int xai_cmd_explain(int argc, char **argv)
{
    explain_opts o;
    memset(&o, 0, sizeof o);
    o.n = 256;
    o.rows = 0; /* xai_explain_default_rows */
    xai_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int have_cfg = 0;
    /* The config goes first so that the command line overrides it. */
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            explain_usage(stdout);
            return 0;
        }
        if (xai_opt(argc, argv, &i, "--config", &v)) {
            if (!v) {
                fprintf(stderr, "xai explain: --config needs a file\n");
                return 2;
            }
            if (have_cfg) xai_config_free(&cfg);
            xai_status s = config_options(&o, v, &cfg);
            have_cfg = 1;
            if (s != XAI_OK) {
                xai_config_free(&cfg);
                return xai_cli_error(s);
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strncmp(a, "--", 2)) {
            fprintf(stderr, "xai explain: unexpected argument '%s' (see 'xai explain --help')\n", a);
            goto usage_error;
        }
        char name[64];
        snprintf(name, sizeof name, "%s", a + 2);
        char *eq = strchr(name, '=');
        if (eq) *eq = 0;
        char opt[80];
        snprintf(opt, sizeof opt, "--%s", name);
        if (!xai_opt(argc, argv, &i, opt, &v)) v = NULL;
        if (!strcmp(name, "config")) continue;
        int r = explain_option(&o, name, v);
        if (r == 0) {
            fprintf(stderr, "xai explain: unknown option '%s' (see 'xai explain --help')\n", a);
            goto usage_error;
        }
        if (r < 0) {
            fprintf(stderr, "xai explain: --%s needs a %s\n", name, v ? "valid value" : "value");
            goto usage_error;
        }
    }
    if (!o.model || !o.dataset) {
        fprintf(stderr, "xai explain: --model and --dataset are required (e.g. xai explain --model "
                        "results/mnist/model.h5 --dataset mnist)\n");
        goto usage_error;
    }
    char *command = join_args(argc, argv);
    xai_status s = run_explain(&o, command);
    free(command);
    if (have_cfg) xai_config_free(&cfg);
    return s == XAI_OK ? 0 : xai_cli_error(s);
usage_error:
    if (have_cfg) xai_config_free(&cfg);
    return 2;
}

/* ------------------------------------------------------------------ bench */

typedef struct {
    const char *config, *method;
    int steps, images, rows, repeats, warmup, iters;
    double peak;
    xai_quad_rule rule;
} bench_opts;


typedef xai_status (*bench_fn)(void *ctx);

static double bench_time(bench_fn fn, void *ctx, const bench_opts *o, xai_status *st)
{
    *st = XAI_OK;
    for (int i = 0; i < o->warmup && *st == XAI_OK; i++) *st = fn(ctx);
    double *t = xai_calloc(o->repeats, sizeof *t);
    for (int r = 0; r < o->repeats && *st == XAI_OK; r++) {
        double t0 = xai_now();
        for (int i = 0; i < o->iters && *st == XAI_OK; i++) *st = fn(ctx);
        t[r] = (xai_now() - t0) / o->iters;
    }
    qsort(t, o->repeats, sizeof *t, xai_cmp_double);
    double med = o->repeats % 2 ? t[o->repeats / 2] : 0.5 * (t[o->repeats / 2 - 1] + t[o->repeats / 2]);
    free(t);
    return med;
}

typedef struct {
    xai_model *m;
    xai_ig_opts ig;
    xai_lrp *lrp;
    float *x, *attr;
    int32_t *t;
    int n;
} bench_ctx;

static xai_status ig_step(void *p)
{
    bench_ctx *c = p;
    return xai_ig(c->m, &c->ig, c->x, NULL, c->t, NULL, c->n, c->attr, NULL, NULL);
}

static xai_status lrp_step(void *p)
{
    bench_ctx *c = p;
    return xai_lrp_run(c->lrp, c->x, c->t, c->n, c->attr, NULL, NULL);
}

static xai_status gxi_step(void *p)
{
    bench_ctx *c = p;
    return xai_gradient_x_input(c->m, c->x, c->t, c->n, c->attr);
}

static int bench_parse(bench_opts *o, int argc, char **argv, int lrp)
{
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int *iv = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (xai_opt(argc, argv, &i, "--config", &v)) o->config = v;
        else if (!lrp && xai_opt(argc, argv, &i, "--steps", &v)) iv = &o->steps;
        else if (!lrp && xai_opt(argc, argv, &i, "--images", &v)) iv = &o->images;
        else if (xai_opt(argc, argv, &i, lrp ? "--batch" : "--ig-batch", &v)) iv = &o->rows;
        else if (xai_opt(argc, argv, &i, "--repeats", &v)) iv = &o->repeats;
        else if (xai_opt(argc, argv, &i, "--warmup", &v)) iv = &o->warmup;
        else if (xai_opt(argc, argv, &i, "--iters", &v)) iv = &o->iters;
        else if (xai_opt(argc, argv, &i, "--peak-gflops", &v)) o->peak = v ? atof(v) : -1;
        else if (lrp && xai_opt(argc, argv, &i, "--method", &v)) o->method = v;
        else if (!lrp && xai_opt(argc, argv, &i, "--rule", &v)) {
            int r = v ? xai_quad_rule_from_name(v) : -1;
            if (r < 0) {
                fprintf(stderr, "xai bench ig: --rule must be left, right, midpoint, trapezoid or gauss\n");
                return -1;
            }
            o->rule = r;
        } else {
            fprintf(stderr, "xai bench %s: bad option '%s' (see 'xai bench %s --help')\n", lrp ? "lrp" : "ig", argv[i],
                    lrp ? "lrp" : "ig");
            return -1;
        }
        if (!v) {
            fprintf(stderr, "xai bench: %s needs a value\n", argv[i]);
            return -1;
        }
        if (iv && ((*iv = atoi(v)) < (iv == &o->warmup ? 0 : 1))) {
            fprintf(stderr, "xai bench: %s must be a positive integer\n", argv[i - 1]);
            return -1;
        }
    }
    return 0;
}

static xai_status bench_setup(bench_ctx *c, bench_opts *o, int n)
{
    memset(c, 0, sizeof *c);
    xai_config cfg;
    XAI_TRY(xai_config_load(&cfg, o->config));
    xai_status s = xai_model_from_config(&c->m, &cfg, 1);
    xai_config_free(&cfg);
    if (s != XAI_OK) return s;
    xai_model_init(c->m, 1);
    if (o->rows <= 0) o->rows = xai_explain_default_rows(c->m);
    if (n <= 0) n = o->rows;
    /* As `xai explain` runs it: batchnorm folded into the convs. */
    xai_model *folded;
    s = xai_lrp_canonize(&folded, c->m, o->rows);
    xai_model_free(c->m);
    c->m = folded;
    if (s != XAI_OK) return s;
    const size_t isz = xai_shape_size(c->m->in);
    c->n = n;
    c->x = xai_malloc((size_t)n * isz * sizeof *c->x);
    c->attr = xai_malloc((size_t)n * isz * sizeof *c->attr);
    c->t = xai_malloc(n * sizeof *c->t);
    xai_rng r;
    xai_rng_seed(&r, 7);
    for (size_t j = 0; j < (size_t)n * isz; j++) c->x[j] = xai_rng_normal(&r);
    for (int i = 0; i < n; i++) c->t[i] = i % c->m->nclasses;
    return XAI_OK;
}

static void bench_free(bench_ctx *c)
{
    free(c->x);
    free(c->attr);
    free(c->t);
    xai_lrp_free(c->lrp);
    xai_model_free(c->m);
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int xai_bench_ig(int argc, char **argv)
{
    bench_opts o = {"experiments/mnist.ini", NULL, 50, 16, 0, 5, 1, 1, 0, XAI_QUAD_GAUSS};
    int r = bench_parse(&o, argc, argv, 0);
    if (r) {
        if (r > 0)
            printf("usage: xai bench ig [--config FILE] [--steps 50] [--images 16] [--ig-batch R] [--rule gauss]\n"
                   "                    [--repeats 5] [--warmup 1] [--iters 1] [--peak-gflops G]\n"
                   "Integrated Gradients throughput on the config's net (random weights and inputs, black\n"
                   "baseline): --images attributions per timed call, all their steps batched in rows of\n"
                   "--ig-batch (default as in xai explain). Prints ig_attr_per_s (median of the repeats), GFLOP/s counting one forward and\n"
                   "one input-gradient pass (2 x forward FLOPs) per step, and the fraction of FP32 peak.\n");
        return r > 0 ? 0 : 2;
    }
    bench_ctx c;
    xai_status s = bench_setup(&c, &o, o.images);
    if (s != XAI_OK) return xai_cli_error(s);
    xai_ig_defaults(&c.ig);
    c.ig.steps = o.steps;
    c.ig.rule = o.rule;
    double t = bench_time(ig_step, &c, &o, &s);
    if (s == XAI_OK) {
        double f = xai_model_flops(c.m, NULL), per = 2.0 * f * o.steps;
        printf("threads %d\n", xai_threads());
        printf("steps %d\n", o.steps);
        printf("images %d\n", o.images);
        printf("ig_batch %d\n", o.rows);
        printf("ig_attr_per_s %.2f\n", o.images / t);
        printf("ig_ms_per_attr %.3f\n", 1e3 * t / o.images);
        printf("gflop_per_attr %.3f\n", per * 1e-9);
        printf("gflops %.2f\n", per * o.images / t * 1e-9);
        xai_print_peak("", per * o.images / t * 1e-9, o.peak);
        printf("peak_rss_mb %.1f\n", peak_rss_mb());
    }
    bench_free(&c);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}

int xai_bench_lrp(int argc, char **argv)
{
    bench_opts o = {"experiments/mnist.ini", "lrp-epsilon", 0, 0, 0, 5, 1, 1, 0, XAI_QUAD_GAUSS};
    int r = bench_parse(&o, argc, argv, 1);
    if (r) {
        if (r > 0)
            printf("usage: xai bench lrp [--config FILE] [--method lrp-epsilon] [--batch R] [--repeats 5]\n"
                   "                     [--warmup 1] [--iters 1] [--peak-gflops G]\n"
                   "LRP throughput on the config's net (random weights and inputs): one batch of --batch\n"
                   "images per timed call (default as xai explain's --ig-batch). Prints lrp_attr_per_s and, for the same batch, gxi_attr_per_s\n"
                   "(gradient x input, the same cost class), GFLOP/s counting forward + one backward pass\n"
                   "(2 x forward FLOPs) per attribution, and the fraction of FP32 peak.\n");
        return r > 0 ? 0 : 2;
    }
    xai_method meth;
    xai_status s = xai_method_parse(&meth, o.method, NULL);
    if (s == XAI_OK && meth.kind != XAI_METHOD_LRP)
        s = xai_fail(XAI_EINVAL, "--method %s is not an LRP composite (e.g. lrp-epsilon)", o.method);
    if (s != XAI_OK) return xai_cli_error(s);
    bench_ctx c;
    s = bench_setup(&c, &o, 0);
    if (s == XAI_OK) s = xai_lrp_create(&c.lrp, c.m, &meth.lrp, o.rows);
    double t = 0, tg = 0;
    if (s == XAI_OK) t = bench_time(lrp_step, &c, &o, &s);
    if (s == XAI_OK) tg = bench_time(gxi_step, &c, &o, &s);
    if (s == XAI_OK) {
        double per = 2.0 * xai_model_flops(c.m, NULL);
        printf("threads %d\n", xai_threads());
        printf("method %s\n", meth.spec);
        printf("batch %d\n", o.rows);
        printf("lrp_attr_per_s %.1f\n", o.rows / t);
        printf("gxi_attr_per_s %.1f\n", o.rows / tg);
        printf("gflops %.2f\n", per * o.rows / t * 1e-9);
        xai_print_peak("", per * o.rows / t * 1e-9, o.peak);
        printf("peak_rss_mb %.1f\n", peak_rss_mb());
    }
    bench_free(&c);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}
