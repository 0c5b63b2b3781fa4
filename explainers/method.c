/* method.c: method specs as `xai explain --methods` takes them: names, NAME[:key=value]... parsing
 * with per-kind settings and overrides, and comma-separated lists of specs. */
#include "explainers/explain.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

/* Rule names for first/conv/dense; zplus and alpha2beta1 also fix alpha and beta, of that slot
 * only (first=alpha2beta1 must not turn the composite's z+ conv layers into alpha2beta1). */
static xai_status parse_rule(const char *spec, const char *key, const char *v, xai_lrp_opts *o, xai_lrp_slot slot,
                             int *rule)
{
    int r = xai_lrp_rule_from_name(v);
    if (r < 0)
        return xai_fail(XAI_EINVAL,
                        "method '%s': %s=%s is not an LRP rule (0, epsilon, gamma, gamma-plain, alphabeta, zplus, "
                        "alpha2beta1, flat, wsquare, zbox)",
                        spec, key, v);
    o->slot_alpha[slot] = o->slot_beta[slot] = 0;
    if (!strcmp(v, "zplus") || !strcmp(v, "z+") || !strcmp(v, "alpha1beta0"))
        o->slot_alpha[slot] = 1, o->slot_beta[slot] = 0;
    if (!strcmp(v, "alpha2beta1")) o->slot_alpha[slot] = 2, o->slot_beta[slot] = 1;
    *rule = r;
    return XAI_OK;
}

static xai_status parse_seed(const char *spec, const char *key, const char *v, uint64_t *seed)
{
    long k;
    XAI_TRY(parse_int(spec, key, v, 0, 1L << 52, &k));
    *seed = (uint64_t)k;
    return XAI_OK;
}

static xai_status ig_key(xai_ig_opts *o, const char *spec, const char *key, const char *v)
{
    long k;
    if (!strcmp(key, "steps")) {
        XAI_TRY(parse_int(spec, key, v, 1, 1000000, &k));
        o->steps = (int)k;
    } else if (!strcmp(key, "rule")) {
        int r = xai_quad_rule_from_name(v);
        o->exact = !strcmp(v, "exact");
        if (r < 0 && !o->exact)
            return xai_fail(XAI_EINVAL, "method '%s': rule=%s is not left, right, midpoint, trapezoid, gauss or exact",
                            spec, v);
        if (r >= 0) o->rule = r;
    } else if (!strcmp(key, "baseline")) {
        int b = xai_baseline_from_name(v);
        if (b < 0)
            return xai_fail(XAI_EINVAL, "method '%s': baseline=%s is not black, const, mean, uniform or blur", spec, v);
        o->baseline = b;
    } else if (!strcmp(key, "value")) return parse_num(spec, key, v, -1e6, 1e6, &o->value);
    else if (!strcmp(key, "sigma")) return parse_num(spec, key, v, 1e-6, 1000, &o->sigma);
    else if (!strcmp(key, "seed")) return parse_seed(spec, key, v, &o->seed);
    else
        return xai_fail(XAI_EINVAL, "method '%s': '%s' is not an IG setting (steps, rule, baseline, value, sigma, seed)",
                        spec, key);
    return XAI_OK;
}

static xai_status lrp_key(xai_lrp_opts *o, const char *spec, const char *key, const char *v)
{
    static const struct { const char *key; size_t off; double lo, hi; } nums[] = {
        {"eps", offsetof(xai_lrp_opts, epsilon), 0, 1e6},       {"epsilon", offsetof(xai_lrp_opts, epsilon), 0, 1e6},
        {"gamma", offsetof(xai_lrp_opts, gamma), 0, 1e6},       {"alpha", offsetof(xai_lrp_opts, alpha), 0, 1e6},
        {"beta", offsetof(xai_lrp_opts, beta), 0, 1e6},         {"stabilizer", offsetof(xai_lrp_opts, stabilizer), 1e-30, 0.5},
        {"low", offsetof(xai_lrp_opts, zb_low), -1e6, 1e6},     {"high", offsetof(xai_lrp_opts, zb_high), -1e6, 1e6}};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        if (!strcmp(key, nums[i].key))
            return parse_num(spec, key, v, nums[i].lo, nums[i].hi, (double *)((char *)o + nums[i].off));
    int r;
    if (!strcmp(key, "bias")) {
        if (!strcmp(v, "input")) o->bias_input = 1;
        else if (!strcmp(v, "ignore")) o->bias_input = 0;
        else return xai_fail(XAI_EINVAL, "method '%s': bias=%s is not 'input' or 'ignore'", spec, v);
    } else if (!strcmp(key, "first")) {
        XAI_TRY(parse_rule(spec, key, v, o, XAI_LRP_SLOT_FIRST, &r));
        o->first = r;
    } else if (!strcmp(key, "conv")) {
        XAI_TRY(parse_rule(spec, key, v, o, XAI_LRP_SLOT_CONV, &r));
        o->conv = r;
    } else if (!strcmp(key, "dense")) {
        XAI_TRY(parse_rule(spec, key, v, o, XAI_LRP_SLOT_DENSE, &r));
        o->dense = r;
    } else
        return xai_fail(XAI_EINVAL,
                        "method '%s': '%s' is not an LRP setting (eps, gamma, alpha, beta, stabilizer, bias, "
                        "first, conv, dense, low, high)",
                        spec, key);
    return XAI_OK;
}

static xai_status smoothgrad_key(xai_smoothgrad_opts *o, const char *spec, const char *key, const char *v)
{
    long k;
    if (!strcmp(key, "samples")) {
        XAI_TRY(parse_int(spec, key, v, 1, 1000000, &k));
        o->samples = (int)k;
        return XAI_OK;
    }
    if (!strcmp(key, "noise")) return parse_num(spec, key, v, 0, 10, &o->noise);
    if (!strcmp(key, "seed")) return parse_seed(spec, key, v, &o->seed);
    return xai_fail(XAI_EINVAL, "method '%s': '%s' is not a SmoothGrad setting (samples, noise, seed)", spec, key);
}

static xai_status apply_key(xai_method *m, const char *key, const char *v)
{
    const char *spec = m->spec;
    switch (m->kind) {
    case XAI_METHOD_IG: return ig_key(&m->ig, spec, key, v);
    case XAI_METHOD_LRP: return lrp_key(&m->lrp, spec, key, v);
    case XAI_METHOD_SMOOTHGRAD: return smoothgrad_key(&m->sg, spec, key, v);
    case XAI_METHOD_RANDOM:
        if (!strcmp(key, "seed")) return parse_seed(spec, key, v, &m->seed);
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

/* The kind of a method name; LRP composites also set m->lrp. */
static xai_status method_kind(xai_method *m, const char *name)
{
    static const struct { const char *name; xai_method_kind k; } names[] = {
        {"ig", XAI_METHOD_IG},         {"integrated-gradients", XAI_METHOD_IG},  {"gradient", XAI_METHOD_GRADIENT},
        {"grad", XAI_METHOD_GRADIENT}, {"saliency", XAI_METHOD_SALIENCY},       {"gradient-x-input", XAI_METHOD_GXI},
        {"gxi", XAI_METHOD_GXI},       {"input-x-gradient", XAI_METHOD_GXI},    {"smoothgrad", XAI_METHOD_SMOOTHGRAD},
        {"random", XAI_METHOD_RANDOM}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i].name)) {
            m->kind = names[i].k;
            return XAI_OK;
        }
    if (!strncmp(name, "lrp", 3)) {
        m->kind = XAI_METHOD_LRP;
        return xai_lrp_composite(&m->lrp, name);
    }
    return xai_fail(XAI_EINVAL,
                    "unknown method '%s' (expected ig, gradient, saliency, gradient-x-input, smoothgrad, random "
                    "or an LRP composite such as lrp-epsilon; see 'xai explain --help')",
                    name);
}

static xai_status check_settings(const xai_method *m)
{
    if (m->kind == XAI_METHOD_IG && m->ig.exact) {
        /* Exact IG has no quadrature: only the baseline settings are checked. */
        xai_ig_opts o = m->ig;
        o.steps = 1, o.rule = XAI_QUAD_GAUSS;
        return xai_ig_check(&o);
    }
    if (m->kind == XAI_METHOD_IG) return xai_ig_check(&m->ig);
    if (m->kind == XAI_METHOD_LRP) return xai_lrp_check(&m->lrp);
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
    XAI_TRY(method_kind(m, name));
    if (overrides && overrides[m->kind] && overrides[m->kind][0]) XAI_TRY(apply_list(m, overrides[m->kind]));
    if (colon) XAI_TRY(apply_list(m, spec + (colon - name) + 1));
    xai_status s = check_settings(m);
    if (s != XAI_OK) return xai_fail(s, "method '%s': %s", spec, xai_errmsg());
    return XAI_OK;
}

const char *const xai_default_methods =
    "ig,lrp-epsilon,lrp-zplus,lrp-alpha2beta1,lrp-epsilon-plus-flat,lrp-epsilon-gamma-box,gradient,gradient-x-input,"
    "smoothgrad,random";

xai_status xai_method_parse_list(xai_method **out, int *n, const char *list, const char *const *overrides)
{
    *out = NULL, *n = 0;
    char *buf = xai_strdup(list);
    int nm = 0;
    xai_method *meths = xai_calloc(strlen(buf) + 1, sizeof *meths);
    xai_status s = XAI_OK;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if ((s = xai_method_parse(&meths[nm], t, overrides)) != XAI_OK) goto done;
        for (int j = 0; j < nm; j++)
            if (!strcmp(meths[j].spec, t)) {
                s = xai_fail(XAI_EINVAL, "--methods lists '%s' twice", t);
                goto done;
            }
        nm++;
    }
    if (nm == 0) {
        s = xai_fail(XAI_EINVAL, "--methods is empty (e.g. --methods ig,lrp-epsilon)");
        goto done;
    }
    *out = meths, *n = nm;
    meths = NULL;
done:
    free(meths);
    free(buf);
    return s;
}
