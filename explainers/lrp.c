/* lrp.c: Layer-wise Relevance Propagation: rules, composites, and the relevance pass (on a
 * copy with batch norms folded, core/model_eval.c),, run as modified backward passes through the engine's own conv/linear kernels. */
#include "explainers/explain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many elements a loop is not worth waking the other threads for. */
#define PAR_MIN 32768

/* ------------------------------------------------------------------ names */

static const char *rule_names[XAI_LRP_RULES] = {"0",       "epsilon", "gamma", "alphabeta",
                                                "flat",    "wsquare", "zbox",  "gamma-plain"};

const char *xai_lrp_rule_name(xai_lrp_rule r) { return (unsigned)r < XAI_LRP_RULES ? rule_names[r] : "unknown"; }

int xai_lrp_rule_from_name(const char *name)
{
    for (int i = 0; i < XAI_LRP_RULES; i++)
        if (!strcmp(name, rule_names[i])) return i;
    static const struct { const char *alias; xai_lrp_rule r; } aliases[] = {
        {"zero", XAI_LRP_ZERO},       {"lrp0", XAI_LRP_ZERO},       {"eps", XAI_LRP_EPSILON},
        {"zplus", XAI_LRP_ALPHABETA}, {"z+", XAI_LRP_ALPHABETA},    {"alpha1beta0", XAI_LRP_ALPHABETA},
        {"alpha2beta1", XAI_LRP_ALPHABETA}, {"alpha-beta", XAI_LRP_ALPHABETA}, {"w2", XAI_LRP_WSQUARE},
        {"w-square", XAI_LRP_WSQUARE}, {"zb", XAI_LRP_ZBOX},        {"box", XAI_LRP_ZBOX}};
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(name, aliases[i].alias)) return aliases[i].r;
    return -1;
}

const char *const xai_lrp_composite_names[] = {
    "lrp-0",        "lrp-epsilon",    "lrp-gamma",  "lrp-zplus",    "lrp-alpha1beta0",       "lrp-alpha2beta1",
    "lrp-flat",     "lrp-wsquare",    "lrp-zbox",   "lrp-epsilon-plus-flat", "lrp-epsilon-gamma-box",
    "lrp-preset-a", "lrp-preset-b",   NULL};

xai_status xai_lrp_composite(xai_lrp_opts *o, const char *name)
{
    const char *n = !strncmp(name, "lrp-", 4) ? name + 4 : name;
    memset(o, 0, sizeof *o);
    o->first = -1;
    o->epsilon = 1e-6;
    o->gamma = 0.25;
    o->alpha = 1;
    o->beta = 0;
    o->stabilizer = 1e-9;
    o->bias_input = 1;
    o->zb_low = 0;
    o->zb_high = 1;
    xai_lrp_rule conv, dense;
    int first = -1;
    if (!strcmp(n, "0")) conv = dense = XAI_LRP_ZERO;
    else if (!strcmp(n, "epsilon")) conv = dense = XAI_LRP_EPSILON;
    else if (!strcmp(n, "gamma")) conv = dense = XAI_LRP_GAMMA;
    else if (!strcmp(n, "zplus") || !strcmp(n, "alpha1beta0")) conv = dense = XAI_LRP_ALPHABETA;
    else if (!strcmp(n, "alpha2beta1")) {
        conv = dense = XAI_LRP_ALPHABETA;
        o->alpha = 2, o->beta = 1;
    } else if (!strcmp(n, "flat")) conv = dense = XAI_LRP_FLAT;
    else if (!strcmp(n, "wsquare")) conv = dense = XAI_LRP_WSQUARE;
    else if (!strcmp(n, "zbox")) {
        first = XAI_LRP_ZBOX;
        conv = dense = XAI_LRP_EPSILON;
    } else if (!strcmp(n, "epsilon-plus-flat")) {
        first = XAI_LRP_FLAT;
        conv = XAI_LRP_ALPHABETA;
        dense = XAI_LRP_EPSILON;
    } else if (!strcmp(n, "epsilon-gamma-box")) {
        first = XAI_LRP_ZBOX;
        conv = XAI_LRP_GAMMA;
        dense = XAI_LRP_EPSILON;
    } else if (!strcmp(n, "preset-a")) {
        conv = XAI_LRP_ALPHABETA;
        dense = XAI_LRP_EPSILON;
        o->epsilon = 0.1;
    } else if (!strcmp(n, "preset-b")) {
        conv = XAI_LRP_ALPHABETA;
        dense = XAI_LRP_EPSILON;
        o->alpha = 2, o->beta = 1;
        o->epsilon = 0.1;
    } else
        return xai_fail(XAI_EINVAL,
                        "LRP: unknown composite '%s' (expected lrp-0, lrp-epsilon, lrp-gamma, lrp-zplus, "
                        "lrp-alpha2beta1, lrp-flat, lrp-wsquare, lrp-zbox, lrp-epsilon-plus-flat, "
                        "lrp-epsilon-gamma-box, lrp-preset-a or lrp-preset-b)",
                        name);
    o->first = first;
    o->conv = conv;
    o->dense = dense;
    snprintf(o->composite, sizeof o->composite, "lrp-%s", n);
    return XAI_OK;
}

xai_status xai_lrp_check(const xai_lrp_opts *o)
{
    if (o->first < -1 || o->first >= XAI_LRP_RULES || (unsigned)o->conv >= XAI_LRP_RULES ||
        (unsigned)o->dense >= XAI_LRP_RULES)
        return xai_fail(XAI_EINVAL, "LRP: a rule is out of range (first=%d conv=%d dense=%d)", o->first, (int)o->conv,
                        (int)o->dense);
    if (!(o->epsilon >= 0 && isfinite(o->epsilon)))
        return xai_fail(XAI_EINVAL, "LRP: epsilon=%g must be finite and >= 0", o->epsilon);
    if (!(o->gamma >= 0 && isfinite(o->gamma)))
        return xai_fail(XAI_EINVAL, "LRP: gamma=%g must be finite and >= 0", o->gamma);
    if (!(o->stabilizer > 0 && o->stabilizer < 1))
        return xai_fail(XAI_EINVAL, "LRP: stabilizer=%g must be in (0, 1)", o->stabilizer);
    for (int k = -1; k < XAI_LRP_SLOTS; k++) {
        const double al = k < 0 ? o->alpha : o->slot_alpha[k], be = k < 0 ? o->beta : o->slot_beta[k];
        if (k >= 0 && al == 0 && be == 0) continue; /* the slot uses alpha and beta */
        if (!(be >= 0 && isfinite(al) && fabs(al - be - 1) < 1e-9))
            return xai_fail(XAI_EINVAL,
                            "LRP: alpha=%g beta=%g: alpha-beta needs beta >= 0 and alpha - beta = 1 (so relevance "
                            "is conserved), e.g. alpha=2 beta=1",
                            al, be);
    }
    if (!(o->zb_low < o->zb_high) || !isfinite(o->zb_low) || !isfinite(o->zb_high))
        return xai_fail(XAI_EINVAL, "LRP: zbox range low=%g high=%g needs low < high", o->zb_low, o->zb_high);
    if (o->conv == XAI_LRP_ZBOX || o->dense == XAI_LRP_ZBOX)
        return xai_fail(XAI_EINVAL, "LRP: zbox is a first-layer rule (use first=zbox), not one for every %s layer",
                        o->conv == XAI_LRP_ZBOX ? "conv" : "dense");
    return XAI_OK;
}

/* ------------------------------------------------------------------ layers */

static int is_affine(const xai_layer *l) { return l->type == XAI_CONV2D || l->type == XAI_LINEAR; }

/* ---------------------------------------------------------------- context */

typedef struct {
    float *wpos, *wneg, *wgam, *wgamn, *wsq, *wones; /* (nw) modified weights, made when a rule needs them */
    float *bpos, *bneg, *bgam, *bgamn;               /* (out.c) modified biases */
    float *zflat, *zsq;                      /* (out) denominators of the input-free rules, one sample */
    float *lo, *hi;                          /* zbox: (in) bounds of the layer input */
    float *zbc;                              /* zbox: (out) l w+ + h w-, one sample */
    float *pk[4]; /* conv + relu + pool in one step (fused_at): packed weights of the rule's pathways,
                     forward and transposed: [0] [1] of the first, [2] [3] of the second */
    float *pz[3]; /* zbox on a direct-kernel conv: w, w+, w- packed transposed (rule_zbox) */
} layer_aux;

struct xai_lrp {
    xai_model *m; /* canonised, capacity rows */
    xai_lrp_opts o;
    int *rule;    /* (nlayers) xai_lrp_rule of conv/linear layers, -1 otherwise */
    double *alpha, *beta; /* (nlayers) alphabeta values of each layer (its slot's, or the global ones) */
    int first;    /* index of the first conv/linear layer, -1 when none */
    layer_aux *aux;
    size_t maxact;
    float *buf[6]; /* (rows, maxact) scratch, made on first use */
};

enum { B_Z1, B_Z2, B_D1, B_D2, B_XP, B_XN };

static float *scratch(xai_lrp *c, int k)
{
    if (!c->buf[k]) c->buf[k] = xai_malloc((size_t)c->m->max_batch * c->maxact * sizeof(float));
    return c->buf[k];
}

const xai_model *xai_lrp_model(const xai_lrp *c) { return c->m; }

int xai_lrp_layer_rule(const xai_lrp *c, int layer)
{
    return layer >= 0 && layer < c->m->nlayers ? c->rule[layer] : -1;
}

/* Conv passes of layer i's rule beyond the forward pass (see rule_* below): the sign-split rules
 * double on a signed input (x- has a pathway of its own). */
static int fused_at(const xai_lrp *c, int i);

static int rule_passes(const xai_lrp *c, int i, int signed_in)
{
    const int two = c->beta[i] != 0 ? 2 : 1;
    switch (c->rule[i]) {
    case XAI_LRP_ALPHABETA: return 2 * two * (signed_in ? 2 : 1);
    /* fused after a relu: the pathway of negative outputs carries no relevance (see fused_signals) */
    case XAI_LRP_GAMMA: return signed_in ? 8 : fused_at(c, i) ? 2 : 4;
    case XAI_LRP_GAMMA_PLAIN: return 2;
    case XAI_LRP_ZBOX: return 3;
    default: return 1;
    }
}

double xai_lrp_flops(const xai_lrp *c)
{
    const xai_model *m = c->m;
    double f = xai_model_flops(m, NULL);
    for (int i = 0; i < m->nlayers; i++) {
        if (!is_affine(&m->layers[i])) continue;
        const xai_layer *l = &m->layers[i]; /* as xai_model_flops counts it */
        const double lf = 2.0 * l->nw * (l->type == XAI_CONV2D ? (double)l->out.h * l->out.w : 1.0);
        f += rule_passes(c, i, i == c->first) * lf;
    }
    return f;
}

/* A layer struct running `w` through the engine's kernels: no bias, no parameter gradients. */
static xai_layer with_weights(const xai_layer *l, const float *w)
{
    xai_layer t = *l;
    t.w = (float *)w;
    t.b = NULL;
    t.bias = 0;
    t.gw = t.gb = NULL;
    return t;
}

static void affine_fwd(const xai_layer *l, const float *w, const float *in, float *z, int n)
{
    xai_layer t = with_weights(l, w);
    if (l->type == XAI_CONV2D) xai_conv2d_forward(z, in, &t, n);
    else xai_linear_forward(z, in, &t, n);
}

/* din += W^T s through the input-gradient kernel. */
static void affine_bwd(const xai_layer *l, const float *w, const float *s, const float *in, float *din, int n)
{
    xai_layer t = with_weights(l, w);
    if (l->type == XAI_CONV2D) xai_conv2d_backward(din, s, in, &t, n);
    else xai_linear_backward(din, s, in, &t, n);
}

/* *dst (made on first use, then overwritten: a refresh reuses it) = l's weights under a rule's map. */
static void map_weights(float **dst, const xai_layer *l, int kind, double gamma)
{
    if (!*dst) *dst = xai_malloc(l->nw * sizeof **dst);
    float *w = *dst;
    for (size_t j = 0; j < l->nw; j++) {
        float v = l->w[j];
        switch (kind) {
        case 0: w[j] = v > 0 ? v : 0; break;
        case 1: w[j] = v < 0 ? v : 0; break;
        case 2: w[j] = v + (float)gamma * (v > 0 ? v : 0); break;
        case 3: w[j] = v * v; break;
        case 5: w[j] = v + (float)gamma * (v < 0 ? v : 0); break;
        default: w[j] = 1; break;
        }
    }
}

static void map_bias(float **dst, const xai_layer *l, int kind, double gamma)
{
    if (!*dst) *dst = xai_malloc(l->out.c * sizeof **dst);
    float *b = *dst;
    for (int j = 0; j < l->out.c; j++) {
        float v = l->bias ? l->b[j] : 0;
        switch (kind) {
        case 0: b[j] = v > 0 ? v : 0; break;
        case 1: b[j] = v < 0 ? v : 0; break;
        case 2: b[j] = v + (float)gamma * (v > 0 ? v : 0); break;
        case 5: b[j] = v + (float)gamma * (v < 0 ? v : 0); break;
        default: b[j] = v * v; break;
        }
    }
}

/* *dst (made on first use) = one sample of `w` applied to a constant input (value v, or the
 * per-element image `img`). */
static void const_response(float **dst, const xai_layer *l, const float *w, const float *img, float v)
{
    const size_t isz = xai_shape_size(l->in);
    if (!*dst) *dst = xai_malloc(xai_shape_size(l->out) * sizeof **dst);
    float *x = xai_malloc(isz * sizeof *x);
    for (size_t j = 0; j < isz; j++) x[j] = img ? img[j] : v;
    affine_fwd(l, w, x, *dst, 1);
    free(x);
}

/* Data-range bounds at the input of layer `li`: the model's [low, high] pushed through the
 * weight-free layers before it (pools and flatten keep a box a box). */
static xai_status zbox_bounds(xai_lrp *c, int li)
{
    xai_model *m = c->m;
    for (int j = 0; j < li; j++) {
        xai_layer_type t = m->layers[j].type;
        if (t == XAI_CONV2D || t == XAI_LINEAR || t == XAI_BATCHNORM2D)
            return xai_fail(XAI_EINVAL,
                            "LRP: zbox at layer %d needs the data range of its input, but layer %d (%s) comes "
                            "before it; use zbox for the first conv/linear layer only",
                            li, j, xai_layer_type_name(t));
    }
    layer_aux *a = &c->aux[li];
    if (a->lo) return XAI_OK;
    const size_t isz0 = xai_shape_size(m->in), plane = (size_t)m->in.h * m->in.w;
    float *cur[2];
    for (int side = 0; side < 2; side++) {
        float *x = xai_malloc(c->maxact * sizeof *x), *y = xai_malloc(c->maxact * sizeof *y);
        for (size_t j = 0; j < isz0; j++) {
            int ch = (int)(j / plane);
            float mu = ch < 4 ? m->mean[ch] : 0.0f, sd = ch < 4 ? m->std[ch] : 1.0f;
            x[j] = ((float)(side ? c->o.zb_high : c->o.zb_low) - mu) / sd;
        }
        for (int j = 0; j < li; j++) {
            xai_layer_forward(&m->layers[j], y, x, 1, 0, 0);
            float *t = x;
            x = y;
            y = t;
        }
        free(y);
        cur[side] = x;
    }
    a->lo = cur[0];
    a->hi = cur[1];
    return XAI_OK;
}

static void pack_fused(xai_lrp *c, int i);
static void packed(float **dst, const xai_layer *l, const float *w, int transposed);

/* The modified weights, biases and constant responses layer i's rule needs, from its current
 * weights: made on first use, recomputed in place (xai_lrp_refresh). */
static xai_status prepare_layer(xai_lrp *c, int i)
{
    const xai_layer *l = &c->m->layers[i];
    layer_aux *a = &c->aux[i];
    switch (c->rule[i]) {
    case XAI_LRP_GAMMA:
    case XAI_LRP_GAMMA_PLAIN:
        map_weights(&a->wgam, l, 2, c->o.gamma), map_bias(&a->bgam, l, 2, c->o.gamma);
        if (c->rule[i] == XAI_LRP_GAMMA) map_weights(&a->wgamn, l, 5, c->o.gamma), map_bias(&a->bgamn, l, 5, c->o.gamma);
        break;
    case XAI_LRP_ALPHABETA:
        map_weights(&a->wpos, l, 0, 0), map_bias(&a->bpos, l, 0, 0);
        map_weights(&a->wneg, l, 1, 0), map_bias(&a->bneg, l, 1, 0);
        break;
    case XAI_LRP_FLAT:
        map_weights(&a->wones, l, 4, 0);
        const_response(&a->zflat, l, a->wones, NULL, 1.0f);
        break;
    case XAI_LRP_WSQUARE:
        map_weights(&a->wsq, l, 3, 0);
        const_response(&a->zsq, l, a->wsq, NULL, 1.0f);
        break;
    case XAI_LRP_ZBOX: {
        XAI_TRY(zbox_bounds(c, i));
        map_weights(&a->wpos, l, 0, 0), map_bias(&a->bpos, l, 0, 0);
        map_weights(&a->wneg, l, 1, 0), map_bias(&a->bneg, l, 1, 0);
        float *zh = NULL;
        const_response(&a->zbc, l, a->wpos, a->lo, 0);
        const_response(&zh, l, a->wneg, a->hi, 0);
        for (size_t j = 0; j < xai_shape_size(l->out); j++) a->zbc[j] += zh[j];
        free(zh);
        if (xai_conv2d_direct(l)) {
            const float *w[3] = {l->w, a->wpos, a->wneg};
            for (int k = 0; k < 3; k++) packed(&a->pz[k], l, w[k], 1);
        }
        break;
    }
    default: break;
    }
    pack_fused(c, i);
    return XAI_OK;
}

xai_status xai_lrp_set_layer_rule(xai_lrp *c, int layer, xai_lrp_rule r)
{
    if (layer < 0 || layer >= c->m->nlayers)
        return xai_fail(XAI_EINVAL, "LRP: layer %d does not exist (the canonised net has %d layers)", layer,
                        c->m->nlayers);
    if (!is_affine(&c->m->layers[layer]))
        return xai_fail(XAI_EINVAL, "LRP: layer %d is a %s layer; rules apply to conv and linear layers", layer,
                        xai_layer_type_name(c->m->layers[layer].type));
    if ((unsigned)r >= XAI_LRP_RULES) return xai_fail(XAI_EINVAL, "LRP: rule %d is out of range", (int)r);
    int old = c->rule[layer];
    c->rule[layer] = r;
    xai_status s = prepare_layer(c, layer);
    if (s != XAI_OK) c->rule[layer] = old;
    return s;
}

void xai_lrp_free(xai_lrp *c)
{
    if (!c) return;
    for (int i = 0; c->aux && c->m && i < c->m->nlayers; i++) {
        layer_aux *a = &c->aux[i];
        float *p[] = {a->wpos, a->wneg,  a->wgam, a->wgamn, a->wsq, a->wones, a->bpos, a->bneg,
                      a->bgam, a->bgamn, a->zflat, a->zsq, a->lo, a->hi, a->zbc};
        for (size_t k = 0; k < sizeof p / sizeof *p; k++) free(p[k]);
        for (int k = 0; k < 4; k++) free(a->pk[k]);
        for (int k = 0; k < 3; k++) free(a->pz[k]);
    }
    for (int k = 0; k < 6; k++) free(c->buf[k]);
    free(c->aux);
    free(c->rule);
    free(c->alpha);
    free(c->beta);
    xai_model_free(c->m);
    free(c);
}

/* alpha and beta of a slot: its own when a rule name fixed them, else the global ones. */
static void slot_ab(xai_lrp *c, int i, const xai_lrp_opts *o, xai_lrp_slot k)
{
    const int own = o->slot_alpha[k] != 0;
    c->alpha[i] = own ? o->slot_alpha[k] : o->alpha;
    c->beta[i] = own ? o->slot_beta[k] : o->beta;
}

/* Rule of each layer from the options; the first conv/linear layer may have its own. */
static void assign_rules(xai_lrp *c, const xai_lrp_opts *o)
{
    c->first = -1;
    c->maxact = xai_shape_size(c->m->in);
    for (int i = 0; i < c->m->nlayers; i++) {
        const xai_layer *l = &c->m->layers[i];
        size_t osz = xai_shape_size(l->out);
        if (osz > c->maxact) c->maxact = osz;
        c->rule[i] = -1;
        if (!is_affine(l)) continue;
        c->rule[i] = l->type == XAI_CONV2D ? o->conv : o->dense;
        slot_ab(c, i, o, l->type == XAI_CONV2D ? XAI_LRP_SLOT_CONV : XAI_LRP_SLOT_DENSE);
        if (c->first < 0) {
            c->first = i;
            if (o->first >= 0) c->rule[i] = o->first, slot_ab(c, i, o, XAI_LRP_SLOT_FIRST);
        }
    }
}

xai_status xai_lrp_create(xai_lrp **out, const xai_model *m, const xai_lrp_opts *o, int rows)
{
    *out = NULL;
    XAI_TRY(xai_lrp_check(o));
    if (rows <= 0) return xai_fail(XAI_EINVAL, "LRP: batch of %d rows (expected > 0)", rows);
    xai_lrp *c = xai_calloc(1, sizeof *c);
    c->o = *o;
    xai_status s = XAI_OK;
    /* A model folded already (xai explain folds once) is only copied here. */
    if ((s = xai_model_fold_batchnorm(&c->m, m, rows)) != XAI_OK) goto done;
    const int L = c->m->nlayers;
    c->rule = xai_malloc(L * sizeof *c->rule);
    c->alpha = xai_calloc(L, sizeof *c->alpha);
    c->beta = xai_calloc(L, sizeof *c->beta);
    c->aux = xai_calloc(L, sizeof *c->aux);
    assign_rules(c, o);
    for (int i = 0; i < L; i++)
        if (c->rule[i] >= 0 && (s = prepare_layer(c, i)) != XAI_OK) goto done;
    *out = c;
done:
    if (s != XAI_OK) xai_lrp_free(c);
    return s;
}

xai_status xai_lrp_refresh(xai_lrp *c, const xai_model *m)
{
    if (memcmp(m->mean, c->m->mean, sizeof m->mean) || memcmp(m->std, c->m->std, sizeof m->std))
        return xai_fail(XAI_EINVAL, "LRP refresh: the model normalises its inputs otherwise than the one it was built for");
    /* Folded straight into the canonised net's own weights: nothing allocated per step. */
    if (xai_model_refold_batchnorm(c->m, m) != XAI_OK)
        return xai_fail(XAI_EINVAL, "LRP refresh: %s", xai_errmsg());
    for (int i = 0; i < c->m->nlayers; i++)
        if (c->rule[i] >= 0) XAI_TRY(prepare_layer(c, i));
    return XAI_OK;
}

char *xai_lrp_describe(const xai_lrp *c)
{
    size_t cap = 96 * (size_t)c->m->nlayers + 1, len = 0;
    char *t = xai_malloc(cap);
    t[0] = 0;
    for (int i = 0; i < c->m->nlayers; i++) {
        const xai_layer *l = &c->m->layers[i];
        const char *r;
        char buf[48];
        switch (l->type) {
        case XAI_CONV2D:
        case XAI_LINEAR:
            if (c->rule[i] == XAI_LRP_ALPHABETA) {
                snprintf(buf, sizeof buf, "alpha%gbeta%g", c->alpha[i], c->beta[i]);
                r = buf;
            } else
                r = rule_names[c->rule[i]];
            break;
        case XAI_MAXPOOL2D: r = "winner-take-all"; break;
        case XAI_AVGPOOL2D:
        case XAI_GAP: r = "proportional"; break;
        case XAI_BATCHNORM2D: r = "proportional (not merged)"; break;
        default: r = "pass-through"; break;
        }
        len += snprintf(t + len, cap - len, "%d %s %s\n", i, xai_layer_type_name(l->type), r);
    }
    return t;
}

/* ------------------------------------------------------------- the pass */

/* Sign-preserving stabiliser; 0 counts as positive. */
static inline float stab(float z, float e) { return z + (z >= 0 ? e : -e); }

/* Elements per task of the vectorised ratios. */
#define RATIO_BLOCK 4096

/* s = scale * R / stab(z): the relevance per unit of denominator. */
static void ratio(float *s, const float *R, const float *z, size_t tot, float e, float scale)
{
    const size_t nb = (tot + RATIO_BLOCK - 1) / RATIO_BLOCK;
#pragma omp parallel for schedule(static) if (tot > PAR_MIN)
    for (size_t q = 0; q < nb; q++) {
        const size_t at = q * RATIO_BLOCK, len = tot - at < RATIO_BLOCK ? tot - at : RATIO_BLOCK;
        xai_stab_ratio(s + at, R + at, z + at, 0.0f, NULL, e, scale, len);
    }
}

/* ratio() of z + bscale * b (b per output channel; NULL: none) in one sweep: the same sums as
 * adding the bias to z, then ratio(), without a pass over z in between. */
static void bias_ratio(float *s, const float *R, const float *z, const float *b, float bscale, const xai_layer *l,
                       int n, float e, float scale)
{
    if (!b) {
        ratio(s, R, z, (size_t)n * xai_shape_size(l->out), e, scale);
        return;
    }
    const int C = l->out.c;
    const size_t hw = (size_t)l->out.h * l->out.w;
#pragma omp parallel for schedule(static) if ((size_t)n * C * hw > PAR_MIN)
    for (int p = 0; p < n * C; p++) {
        const size_t at = (size_t)p * hw;
        xai_stab_ratio(s + at, R + at, z + at, bscale * b[p % C], NULL, e, scale, hw);
    }
}

/* s = R / stab(a - b - zc) plane by plane (b per channel, zc one sample's (out) offsets; either
 * NULL: none): bias_ratio(s, R, a, b, -1, l, n, e, 1) and z^B's ratio, where a, a relu output,
 * stands in for z (layer_out), with in the same pass the test that lets it: R zero wherever a is
 * not positive. 0: it does not, and s is to be made again from z. l: the layer whose output shape
 * a and R have. (-0 for a missing b: stab gives +0 and -0 the same e.) */
static int ratio_relu_out(float *s, const float *R, const float *a, const float *b, const float *zc, const xai_layer *l,
                          int n, float e)
{
    const int C = l->out.c;
    const size_t hw = (size_t)l->out.h * l->out.w;
    int any = 0;
#pragma omp parallel for schedule(static) reduction(| : any) if ((size_t)n * C * hw > PAR_MIN)
    for (int p = 0; p < n * C; p++) {
        const size_t at = (size_t)p * hw;
        any |= xai_stab_ratio(s + at, R + at, a + at, -(b ? b[p % C] : 0.0f), zc ? zc + (size_t)(p % C) * hw : NULL, e,
                              1.0f, hw);
    }
    return !any;
}

static void mul_into(float *out, const float *a, const float *b, size_t tot)
{
#pragma omp parallel for simd schedule(static) if (tot > PAR_MIN)
    for (size_t j = 0; j < tot; j++) out[j] = a[j] * b[j];
}

/* out *= a: Rin was accumulated as W^T s, relevance is x times that. */
static void scale_by(float *out, const float *a, size_t tot)
{
#pragma omp parallel for simd schedule(static) if (tot > PAR_MIN)
    for (size_t j = 0; j < tot; j++) out[j] *= a[j];
}

/* out += sign * a * b where a is not 0: an exact zero a adds nothing, not even a signed zero (-0 + 0
 * is +0), so that a sign-split rule gives an image without negative inputs the bits of the rule's
 * non-negative form (rule_*_pos, the fused step), whichever of them its batch takes. */
static void muladd_into(float *out, const float *a, const float *b, size_t tot, float sign)
{
#pragma omp parallel for simd schedule(static) if (tot > PAR_MIN)
    for (size_t j = 0; j < tot; j++) out[j] = a[j] != 0 ? out[j] + sign * a[j] * b[j] : out[j];
}

static int has_negative(const float *x, size_t tot)
{
    int neg = 0;
#pragma omp parallel for simd schedule(static) reduction(| : neg) if (tot > PAR_MIN)
    for (size_t j = 0; j < tot; j++) neg |= x[j] < 0;
    return neg;
}

/* What every conv/linear rule needs of layer i: its inputs and outputs of the forward pass. */
typedef struct {
    const xai_layer *l;
    const layer_aux *a;
    const float *in, *out; /* (n, in), (n, out) of the forward pass */
    size_t isz, osz, ti, to;
    float eps;             /* stabiliser of the denominators */
    float alpha, beta;     /* alphabeta values of this layer */
    int bias_in;           /* the bias takes a share of relevance */
    int n;
    int li;                /* the layer's index */
    int lazy;              /* out is the relu output after it, not yet tested to stand in for z (layer_out) */
} affine_ctx;

/* Conv layer li's output z (before its relu), computed again: the lean forward pass keeps only the
 * relu output, which cannot stand in where relevance reaches a dead unit (layer_out). */
static const float *conv_z(xai_lrp *c, int li, int n)
{
    xai_model *m = c->m;
    xai_conv2d_relu_forward(m->acts[li + 1], m->acts[li + 2], m->acts[li], &m->layers[li], n);
    return m->acts[li + 1];
}

static void rule_epsilon(xai_lrp *c, const affine_ctx *k, int rule, const float *Rout, float *Rin)
{
    const xai_layer *l = k->l;
    float *z = scratch(c, B_Z1);
    /* The forward output is z (with the bias); without it, take the bias back out. */
    const float e = rule == XAI_LRP_EPSILON && c->o.epsilon > 0 ? (float)c->o.epsilon : k->eps;
    const float *ub = l->bias && !k->bias_in ? l->b : NULL;
    if (!k->lazy || !ratio_relu_out(z, Rout, k->out, ub, NULL, l, k->n, e))
        bias_ratio(z, Rout, k->lazy ? conv_z(c, k->li, k->n) : k->out, ub, -1.0f, l, k->n, e, 1);
    affine_bwd(l, l->w, z, k->in, Rin, k->n);
    scale_by(Rin, k->in, k->ti);
}

static void rule_gamma_plain(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    float *z = scratch(c, B_Z1);
    affine_fwd(k->l, k->a->wgam, k->in, z, k->n);
    bias_ratio(z, Rout, z, k->bias_in ? k->a->bgam : NULL, 1.0f, k->l, k->n, k->eps, 1);
    affine_bwd(k->l, k->a->wgam, z, k->in, Rin, k->n);
    scale_by(Rin, k->in, k->ti);
}

/* Non-negative inputs (after a ReLU): (x w)+ = x w+ and (x w)- = x w-. */
static void rule_alphabeta_pos(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    const xai_layer *l = k->l;
    const layer_aux *a = k->a;
    const float al = k->alpha, be = k->beta;
    float *z = scratch(c, B_Z1), *z2 = scratch(c, B_Z2);
    affine_fwd(l, a->wpos, k->in, z, k->n);
    bias_ratio(z, Rout, z, k->bias_in ? a->bpos : NULL, 1.0f, l, k->n, k->eps, al);
    affine_bwd(l, a->wpos, z, k->in, Rin, k->n);
    if (be != 0) {
        affine_fwd(l, a->wneg, k->in, z2, k->n);
        bias_ratio(z2, Rout, z2, k->bias_in ? a->bneg : NULL, 1.0f, l, k->n, k->eps, -be);
        affine_bwd(l, a->wneg, z2, k->in, Rin, k->n);
    }
    scale_by(Rin, k->in, k->ti);
}

/* z = (x+ wa) + (x- wb) (+ bias), then the ratio: d is an (n, out) temporary (maxact covers it). */
static void mixed_z(const affine_ctx *k, const float *wa, const float *wb, const float *bias, const float *xp,
                    const float *xn, float *z, float *d, const float *Rout, float scale)
{
    affine_fwd(k->l, wa, xp, z, k->n);
    affine_fwd(k->l, wb, xn, d, k->n);
    const size_t to = k->to;
#pragma omp parallel for simd schedule(static) if (to > PAR_MIN)
    for (size_t j = 0; j < to; j++) z[j] += d[j];
    bias_ratio(z, Rout, z, k->bias_in ? bias : NULL, 1.0f, k->l, k->n, k->eps, scale);
}

static void split_signs(const float *in, float *xp, float *xn, size_t ti)
{
#pragma omp parallel for simd schedule(static) if (ti > PAR_MIN)
    for (size_t j = 0; j < ti; j++) {
        xp[j] = in[j] > 0 ? in[j] : 0;
        xn[j] = in[j] < 0 ? in[j] : 0;
    }
}

/* Rin = x+ (wa^T s + wb^T s2) + x- (wb^T s + wa^T s2): the two pathways of a sign-split rule, where
 * s's denominators were x+ wa + x- wb and s2's x+ wb + x- wa (s2 NULL: none). */
static void signed_backward(xai_lrp *c, const affine_ctx *k, const float *wa, const float *wb, const float *s,
                            const float *s2, const float *xp, const float *xn, float *Rin)
{
    const size_t ti = k->ti;
    float *d = scratch(c, B_D1), *d2 = scratch(c, B_D2);
    memset(d, 0, ti * sizeof *d);
    memset(d2, 0, ti * sizeof *d2);
    affine_bwd(k->l, wa, s, k->in, d, k->n);
    affine_bwd(k->l, wb, s, k->in, d2, k->n);
    if (s2) {
        affine_bwd(k->l, wb, s2, k->in, d, k->n);
        affine_bwd(k->l, wa, s2, k->in, d2, k->n);
    }
    mul_into(Rin, xp, d, ti);
    muladd_into(Rin, xn, d2, ti, 1);
}

/* Mixed signs: positive contributions are x+ w+ and x- w-, negative ones x+ w- and x- w+. */
static void rule_alphabeta_mixed(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    const layer_aux *a = k->a;
    const float al = k->alpha, be = k->beta;
    float *z = scratch(c, B_Z1), *z2 = scratch(c, B_Z2);
    float *xp = scratch(c, B_XP), *xn = scratch(c, B_XN), *d = scratch(c, B_D1);
    split_signs(k->in, xp, xn, k->ti);
    mixed_z(k, a->wpos, a->wneg, a->bpos, xp, xn, z, d, Rout, al);
    if (be != 0) mixed_z(k, a->wneg, a->wpos, a->bneg, xp, xn, z2, d, Rout, -be);
    signed_backward(c, k, a->wpos, a->wneg, z, be != 0 ? z2 : NULL, xp, xn, Rin);
}

/* Zennit's generalised Gamma: an output z_j >= 0 spreads its relevance over x+ (w + g w+) + x- (w +
 * g w-), one with z_j < 0 over x+ (w + g w-) + x- (w + g w+), so contributions of z_j's own sign
 * are boosted and each denominator has z_j's sign. The bias is an input fixed at 1 (b + g b+, resp.
 * b + g b-), counted once; Zennit adds it in both of its pathways. The sign is that of z_j as the
 * rule sees it (without the bias when biases are ignored). */
/* Keeps the ratio of z_j's own sign: s where z_j >= 0, s2 where z_j < 0 (z_j without the bias
 * when biases are ignored). */
static void gamma_split(const affine_ctx *k, float *s, float *s2)
{
    const xai_layer *l = k->l;
    const int C = l->out.c;
    const size_t hw = (size_t)l->out.h * l->out.w;
    const float *out = k->out;
    const int unbias = l->bias && !k->bias_in;
    /* plane by plane: the channel's bias without a division per element */
#pragma omp parallel for schedule(static) if (k->to > PAR_MIN)
    for (int p = 0; p < k->n * C; p++) {
        const float bo = unbias ? l->b[p % C] : 0.0f;
#pragma omp simd
        for (size_t j = (size_t)p * hw; j < (size_t)(p + 1) * hw; j++) { /* both stored: no masked stores needed */
            const float zj = out[j] - bo;
            s2[j] = zj >= 0 ? 0.0f : s2[j];
            s[j] = zj >= 0 ? s[j] : 0.0f;
        }
    }
}

static void rule_gamma(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    const layer_aux *a = k->a;
    float *z = scratch(c, B_Z1), *z2 = scratch(c, B_Z2);
    float *xp = scratch(c, B_XP), *xn = scratch(c, B_XN), *d = scratch(c, B_D1);
    split_signs(k->in, xp, xn, k->ti);
    mixed_z(k, a->wgam, a->wgamn, a->bgam, xp, xn, z, d, Rout, 1);
    mixed_z(k, a->wgamn, a->wgam, a->bgamn, xp, xn, z2, d, Rout, 1);
    gamma_split(k, z, z2);
    signed_backward(c, k, a->wgam, a->wgamn, z, z2, xp, xn, Rin);
}

/* rule_gamma on a non-negative input (after a relu): x- is 0, so its two pathways add exact zeros
 * and are skipped; the same values with half the conv passes. */
static void rule_gamma_pos(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    const layer_aux *a = k->a;
    float *z = scratch(c, B_Z1), *z2 = scratch(c, B_Z2);
    affine_fwd(k->l, a->wgam, k->in, z, k->n);
    bias_ratio(z, Rout, z, k->bias_in ? a->bgam : NULL, 1.0f, k->l, k->n, k->eps, 1);
    affine_fwd(k->l, a->wgamn, k->in, z2, k->n);
    bias_ratio(z2, Rout, z2, k->bias_in ? a->bgamn : NULL, 1.0f, k->l, k->n, k->eps, 1);
    gamma_split(k, z, z2);
    affine_bwd(k->l, a->wgam, z, k->in, Rin, k->n);
    affine_bwd(k->l, a->wgamn, z2, k->in, Rin, k->n);
    scale_by(Rin, k->in, k->ti);
}

/* Input-free rules: the denominator is the same for every image. Biases take no share (as in
 * iNNvestigate): under flat even a zero bias would otherwise absorb relevance. */
static void rule_input_free(xai_lrp *c, const affine_ctx *k, int flat, const float *Rout, float *Rin)
{
    const float *zc = flat ? k->a->zflat : k->a->zsq, *w = flat ? k->a->wones : k->a->wsq;
    float *z = scratch(c, B_Z1);
    const size_t osz = k->osz;
    const float eps = k->eps;
#pragma omp parallel for schedule(static) if (k->to > PAR_MIN)
    for (int r = 0; r < k->n; r++)
        xai_stab_ratio(z + r * osz, Rout + r * osz, zc, 0.0f, NULL, eps, 1.0f, osz);
    affine_bwd(k->l, w, z, k->in, Rin, k->n);
}

/* z = x w - l w+ - h w-; the bias, an input fixed at 1 with bounds 1, cancels. */
static void rule_zbox(xai_lrp *c, const affine_ctx *k, const float *Rout, float *Rin)
{
    const xai_layer *l = k->l;
    const layer_aux *a = k->a;
    const size_t ti = k->ti, isz = k->isz;
    const int n = k->n;
    float *z = scratch(c, B_Z1), *d = scratch(c, B_D1);
    /* z = out - b - (l w+ + h w-) */
    const float *b = l->bias ? l->b : NULL;
    if (!ratio_relu_out(z, Rout, k->out, b, a->zbc, l, n, k->eps) && k->lazy)
        ratio_relu_out(z, Rout, conv_z(c, k->li, n), b, a->zbc, l, n, k->eps);
    if (a->pz[0]) { /* the three backward passes from one pass over z per sample */
        float *d2 = scratch(c, B_D2);
        float *const sets[3] = {Rin, d, d2};
        xai_conv2d_backward_sets(sets, 3, (const float *const *)a->pz, z, l, n);
        scale_by(Rin, k->in, ti);
        const float *lo = a->lo, *hi = a->hi;
#pragma omp parallel for schedule(static) if (ti > PAR_MIN)
        for (int r = 0; r < n; r++)
            for (size_t j = 0; j < isz; j++) {
                const size_t at = r * isz + j;
                const float t = Rin[at] - lo[j] * d[at]; /* the two subtractions of the loop below, in order */
                Rin[at] = t - hi[j] * d2[at];
            }
        return;
    }
    affine_bwd(l, l->w, z, k->in, Rin, n);
    scale_by(Rin, k->in, ti);
    const float *bound[2] = {a->lo, a->hi};
    const float *wb[2] = {a->wpos, a->wneg};
    for (int side = 0; side < 2; side++) {
        memset(d, 0, ti * sizeof *d);
        affine_bwd(l, wb[side], z, k->in, d, n);
        const float *bb = bound[side];
#pragma omp parallel for schedule(static) if (ti > PAR_MIN)
        for (int r = 0; r < n; r++)
            for (size_t j = 0; j < isz; j++) Rin[r * isz + j] -= bb[j] * d[r * isz + j];
    }
}

/* Relevance through conv/linear layer i: Rout (n, out) -> Rin (n, in), Rin zeroed by the caller. */
static void affine_rule(xai_lrp *c, int i, const float *Rout, float *Rin, int n, const float *out, int lazy)
{
    const xai_layer *l = &c->m->layers[i];
    affine_ctx k = {l, &c->aux[i], c->m->acts[i], out, xai_shape_size(l->in), xai_shape_size(l->out),
                    0, 0, (float)c->o.stabilizer, (float)c->alpha[i], (float)c->beta[i], c->o.bias_input && l->bias, n,
                    i, lazy};
    k.ti = (size_t)n * k.isz, k.to = (size_t)n * k.osz;
    switch ((xai_lrp_rule)c->rule[i]) {
    case XAI_LRP_ZERO:
    case XAI_LRP_EPSILON: rule_epsilon(c, &k, c->rule[i], Rout, Rin); break;
    case XAI_LRP_GAMMA:
        if (!has_negative(k.in, k.ti)) rule_gamma_pos(c, &k, Rout, Rin);
        else rule_gamma(c, &k, Rout, Rin);
        break;
    case XAI_LRP_GAMMA_PLAIN: rule_gamma_plain(c, &k, Rout, Rin); break;
    case XAI_LRP_ALPHABETA:
        if (!has_negative(k.in, k.ti)) rule_alphabeta_pos(c, &k, Rout, Rin);
        else rule_alphabeta_mixed(c, &k, Rout, Rin);
        break;
    case XAI_LRP_FLAT:
    case XAI_LRP_WSQUARE: rule_input_free(c, &k, c->rule[i] == XAI_LRP_FLAT, Rout, Rin); break;
    case XAI_LRP_ZBOX: rule_zbox(c, &k, Rout, Rin); break;
    default: XAI_CHECK(!"LRP rule out of range");
    }
}

/* Average pooling, global average pooling and a batchnorm left standing are linear layers whose
 * contributions are known: relevance goes to each input in proportion to its share. */
static void proportional_rule(xai_lrp *c, int i, const float *Rout, float *Rin, int n)
{
    const xai_layer *l = &c->m->layers[i];
    const float *in = c->m->acts[i], *out = c->m->acts[i + 1];
    const size_t isz = xai_shape_size(l->in), ti = (size_t)n * isz, to = (size_t)n * xai_shape_size(l->out);
    const float eps = (float)c->o.stabilizer;
    float *s = scratch(c, B_Z1);
    if (l->type == XAI_BATCHNORM2D) {
        const size_t hw = (size_t)l->in.h * l->in.w;
#pragma omp parallel for schedule(static) if (ti > PAR_MIN)
        for (size_t j = 0; j < ti; j++) {
            int ch = (int)((j % isz) / hw);
            float a = l->w[ch] / sqrtf(l->rvar[ch] + l->eps);
            float contrib = a * in[j], z = c->o.bias_input ? out[j] : contrib;
            Rin[j] = contrib * Rout[j] / stab(z, eps);
        }
        return;
    }
    ratio(s, Rout, out, to, eps, 1);
    xai_avgpool2d_backward(Rin, s, l, n);
    scale_by(Rin, in, ti);
}

static void relevance_sums(double *ls, int col, int ncol, const float *R, size_t sz, int n)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double s = 0;
        const float *r = R + (size_t)i * sz;
        for (size_t j = 0; j < sz; j++) s += r[j];
        ls[(size_t)i * ncol + col] = s;
    }
}

/* ------------------------------------------- conv + relu + max pool in one step */

/* Conv layer i followed by a relu and a 2x2 max pool that the engine runs fused, under a rule
 * that has a fused form: relevance reaches the conv output only at each window's winner (the
 * pool's rule), so the rule's denominators are needed there only, and its relevance pass is the
 * engine's fused pool backward with the rule's weights, packed once per model (pk). */
static int fused_at(const xai_lrp *c, int i)
{
    const xai_model *m = c->m;
    if (i < 0 || i + 2 >= m->nlayers || m->layers[i].type != XAI_CONV2D || m->layers[i + 1].type != XAI_RELU ||
        !xai_conv2d_relu_pool_ok(&m->layers[i], &m->layers[i + 2]))
        return 0;
    const int r = c->rule[i];
    return r == XAI_LRP_ZERO || r == XAI_LRP_EPSILON || r == XAI_LRP_ALPHABETA || r == XAI_LRP_GAMMA ||
           r == XAI_LRP_FLAT || r == XAI_LRP_WSQUARE;
}

/* The input-free rules: constant denominators, relevance not scaled by the input. */
static int input_free(int rule) { return rule == XAI_LRP_FLAT || rule == XAI_LRP_WSQUARE; }

/* *dst (made on first use, then overwritten) = w packed for the fused kernels. */
static void packed(float **dst, const xai_layer *l, const float *w, int transposed)
{
    if (!*dst) *dst = xai_malloc(xai_conv2d_packed_floats(l) * sizeof **dst);
    xai_conv2d_pack(*dst, w, l, transposed);
}

static void pack_fused(xai_lrp *c, int i)
{
    layer_aux *a = &c->aux[i];
    const xai_layer *l = &c->m->layers[i];
    const float *w0 = l->w, *w1 = NULL;
    if (c->rule[i] == XAI_LRP_ALPHABETA) w0 = a->wpos, w1 = c->beta[i] != 0 ? a->wneg : NULL;
    if (c->rule[i] == XAI_LRP_GAMMA) w0 = a->wgam, w1 = a->wgamn;
    if (c->rule[i] == XAI_LRP_FLAT) w0 = a->wones;
    if (c->rule[i] == XAI_LRP_WSQUARE) w0 = a->wsq;
    const float *w[2] = {w0, w1};
    const int fused = fused_at(c, i);
    for (int k = 0; k < 2; k++) {
        /* epsilon's denominators are the forward pass's own outputs, flat's and w^2's constants */
        const int fwd = fused && w[k] && w[k] != l->w && !input_free(c->rule[i]), bwd = fused && w[k];
        if (fwd) packed(&a->pk[2 * k], l, w[k], 0);
        else free(a->pk[2 * k]), a->pk[2 * k] = NULL;
        if (bwd) packed(&a->pk[2 * k + 1], l, w[k], 1);
        else free(a->pk[2 * k + 1]), a->pk[2 * k + 1] = NULL;
    }
}

/* Per-layer sums of relevance on the pool's grid, in the order of the dense relevance at the pool's
 * input (its raster order; the other entries are zeros): the sums of relevance_sums exactly. */
static void pooled_sums(double *ls, int col, int ncol, const float *R, const xai_layer *pool, int n)
{
    const int C = pool->out.c, Hp = pool->out.h, Wp = pool->out.w, W = pool->in.w;
    const size_t psz = xai_shape_size(pool->out);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++) {
        const float *Rr = R + (size_t)r * psz;
        const int32_t *am = xai_maxpool2d_argmax(pool) + (size_t)r * psz;
        double s = 0;
        for (int o = 0; o < C; o++)
            for (int oy = 0; oy < Hp; oy++) {
                const size_t q0 = ((size_t)o * Hp + oy) * Wp;
                const int32_t base = (int32_t)((o * pool->in.h + 2 * oy) * W);
                for (int row = 0; row < 2; row++) /* the window's upper row, then its lower one */
                    for (int ox = 0; ox < Wp; ox++)
                        if ((am[q0 + ox] - base >= W) == row) s += Rr[q0 + ox];
            }
        ls[(size_t)r * ncol + col] = s;
    }
}

/* z (n, pooled) = the conv output at each window's winner, from the forward pass. */
static void gather_out(float *z, const float *out, const xai_layer *conv, const xai_layer *pool, int n)
{
    const size_t psz = xai_shape_size(pool->out), osz = xai_shape_size(conv->out), tot = (size_t)n * psz;
    const int32_t *am = xai_maxpool2d_argmax(pool);
#pragma omp parallel for schedule(static) if (tot > PAR_MIN)
    for (size_t q = 0; q < tot; q++) z[q] = out[q / psz * osz + am[q]];
}

/* z (n, pooled) = one sample's constant denominators zc (conv out) at each window's winner. */
static void gather_const(float *z, const float *zc, const xai_layer *pool, int n)
{
    const size_t psz = xai_shape_size(pool->out), tot = (size_t)n * psz;
    const int32_t *am = xai_maxpool2d_argmax(pool);
#pragma omp parallel for schedule(static) if (tot > PAR_MIN)
    for (size_t q = 0; q < tot; q++) z[q] = zc[am[q]];
}

static int dead_carry_none(const float *R, const float *a, size_t tot);

/* z at the winners as the rules need it: the pool output itself where it may stand in (see
 * layer_out), else z gathered into the buffer z. */
static const float *winner_out(xai_lrp *c, int i, float *z, const float *R, int n)
{
    xai_model *m = c->m;
    const xai_layer *pool = &m->layers[i + 2];
    const size_t tot = (size_t)n * xai_shape_size(pool->out);
    if (dead_carry_none(R, m->acts[i + 3], tot)) return m->acts[i + 3];
    xai_conv2d_relu_pool_forward(m->acts[i + 1], NULL, m->acts[i + 3], m->acts[i], &m->layers[i], pool, n);
    gather_out(z, m->acts[i + 1], &m->layers[i], pool, n);
    return z;
}

/* s = scale * R / stab(z + b) on the pool's grid (b per channel, NULL: none), as bias_ratio does it;
 * keep: -1 all, 1 only where zsign >= 0, 0 only where zsign < 0 (zero elsewhere, as gamma_split). */
static void pooled_ratio(float *s, const float *R, const float *z, const float *b, float bscale, const float *zsign,
                         const float *bsign, int keep, const xai_layer *pool, int n, float e, float scale)
{
    const int C = pool->out.c;
    const size_t hw = (size_t)pool->out.h * pool->out.w;
#pragma omp parallel for schedule(static) if ((size_t)n * C * hw > PAR_MIN)
    for (int p = 0; p < n * C; p++) {
        const float bo = b ? bscale * b[p % C] : 0.0f, so = bsign ? bsign[p % C] : 0.0f;
        const size_t at = (size_t)p * hw;
        xai_stab_ratio(s + at, R + at, z + at, bo, NULL, e, scale, hw); /* z may be s: read before written */
        if (keep < 0) continue;
#pragma omp simd
        for (size_t j = at; j < at + hw; j++) s[j] = (zsign[j] - so >= 0) == keep ? s[j] : 0.0f;
    }
}

/* Whether some winner whose output (less the bias when biases are ignored) is negative carries
 * relevance: only then does gamma's second pathway add more than zeros. */
static int negative_carries(const float *z, const float *b, const float *R, const xai_layer *pool, int n)
{
    const int C = pool->out.c;
    const size_t hw = (size_t)pool->out.h * pool->out.w;
    int any = 0;
#pragma omp parallel for schedule(static) reduction(| : any) if ((size_t)n * C * hw > PAR_MIN)
    for (int p = 0; p < n * C; p++) {
        const float bo = b ? b[p % C] : 0.0f;
#pragma omp simd reduction(| : any)
        for (size_t j = (size_t)p * hw; j < (size_t)(p + 1) * hw; j++) any |= (z[j] - bo < 0) & (R[j] != 0);
    }
    return any;
}

/* Relevance R (n, pool output) of the step at conv i through pool, relu and conv into Rin; 0 when
 * the layer has no fused form or its input is signed under a sign-split rule (the unfused steps
 * then run). The values are those of the unfused steps: the same denominators at the winners and
 * the same sums in the same order (zeros elsewhere add nothing). */
static int fused_step(xai_lrp *c, int i, const float *R, float *Rin, int n, double *ls, int want_sums)
{
    if (!fused_at(c, i)) return 0;
    xai_model *m = c->m;
    const xai_layer *l = &m->layers[i], *pool = &m->layers[i + 2];
    const layer_aux *a = &c->aux[i];
    const int rule = c->rule[i], bias_in = c->o.bias_input && l->bias, L = m->nlayers;
    const float *in = m->acts[i];
    const size_t ti = (size_t)n * xai_shape_size(l->in);
    if (rule != XAI_LRP_ZERO && rule != XAI_LRP_EPSILON && !input_free(rule) && has_negative(in, ti)) return 0;
    const float eps = (float)c->o.stabilizer;
    float *zo = scratch(c, B_XP), *s0 = scratch(c, B_Z1), *s1 = scratch(c, B_Z2);
    const float *sig[2] = {s0, s1}, *pk[2] = {a->pk[1], a->pk[3]};
    int nsets = 1;
    if (rule == XAI_LRP_ZERO || rule == XAI_LRP_EPSILON) {
        const float e = rule == XAI_LRP_EPSILON && c->o.epsilon > 0 ? (float)c->o.epsilon : eps;
        const float *ub = l->bias && !bias_in ? l->b : NULL;
        /* the pool output stands in for z at the winners where it may (winner_out), tested in the
         * same pass; pooled_ratio's sums, as it makes them with keep -1 */
        if (!ratio_relu_out(s0, R, m->acts[i + 3], ub, NULL, pool, n, e))
            pooled_ratio(s0, R, winner_out(c, i, zo, R, n), ub, -1.0f, NULL, NULL, -1, pool, n, e, 1);
    } else if (input_free(rule)) { /* rule_input_free's ratios at the winners */
        gather_const(zo, rule == XAI_LRP_FLAT ? a->zflat : a->zsq, pool, n);
        pooled_ratio(s0, R, zo, NULL, 0.0f, NULL, NULL, -1, pool, n, eps, 1);
    } else if (rule == XAI_LRP_ALPHABETA) {
        xai_conv2d_at_argmax(s0, a->pk[0], in, l, pool, n);
        pooled_ratio(s0, R, s0, bias_in ? a->bpos : NULL, 1.0f, NULL, NULL, -1, pool, n, eps, (float)c->alpha[i]);
        if (c->beta[i] != 0) {
            xai_conv2d_at_argmax(s1, a->pk[2], in, l, pool, n);
            pooled_ratio(s1, R, s1, bias_in ? a->bneg : NULL, 1.0f, NULL, NULL, -1, pool, n, eps, -(float)c->beta[i]);
            nsets = 2;
        }
    } else { /* gamma: each output's pathway by the sign of its z (less the bias when ignored) */
        const float *unb = l->bias && !bias_in ? l->b : NULL, *zw = winner_out(c, i, zo, R, n);
        xai_conv2d_at_argmax(s0, a->pk[0], in, l, pool, n);
        pooled_ratio(s0, R, s0, bias_in ? a->bgam : NULL, 1.0f, zw, unb, 1, pool, n, eps, 1);
        if (negative_carries(zw, unb, R, pool, n)) {
            xai_conv2d_at_argmax(s1, a->pk[2], in, l, pool, n);
            pooled_ratio(s1, R, s1, bias_in ? a->bgamn : NULL, 1.0f, zw, unb, 0, pool, n, eps, 1);
            nsets = 2;
        }
    }
    if (want_sums) {
        pooled_sums(ls, i + 2, L + 1, R, pool, n);
        for (int r = 0; r < n; r++) ls[(size_t)r * (L + 1) + i + 1] = ls[(size_t)r * (L + 1) + i + 2];
    }
    xai_conv2d_pool_relevance(Rin, nsets, pk, sig, input_free(rule) ? NULL : in, l, pool, n);
    return 1;
}

/* Whether a rule's unfused step reads the layer's forward output (the others compute their own
 * denominators, or have none that depend on the input). */
static int reads_out(int rule)
{
    return rule == XAI_LRP_ZERO || rule == XAI_LRP_EPSILON || rule == XAI_LRP_GAMMA || rule == XAI_LRP_ZBOX;
}

/* Whether relevance R is zero wherever the relu output a is not positive. */
static int dead_carry_none(const float *R, const float *a, size_t tot)
{
    int any = 0;
    /* no short cut: both tests every time, so the loop is vectorised */
#pragma omp parallel for simd schedule(static) reduction(| : any) if (tot > PAR_MIN)
    for (size_t j = 0; j < tot; j++) any |= (a[j] <= 0) & (R[j] != 0);
    return !any;
}

/* The engine fuses a conv and the relu (and 2x2 max pool) after it; the lean forward pass the
 * relevance pass follows does not keep the conv output z there. Where z > 0 it is the relu
 * output; where relevance R (the relu output's) is zero, any z gives a zero ratio. So the relu
 * output stands in for z when R is zero wherever it is not positive (the rules that scale by
 * the input see to that); otherwise z is computed again, as the full forward pass stores it.
 * lazy (NULL: test here): set when the relu output is returned untested, for the caller to test
 * while it reads it (ratio_relu_out). */
static const float *layer_out(xai_lrp *c, int i, const float *R, int n, int *lazy)
{
    xai_model *m = c->m;
    const xai_layer *l = &m->layers[i];
    if (l->type != XAI_CONV2D || i + 1 >= m->nlayers || m->layers[i + 1].type != XAI_RELU) return m->acts[i + 1];
    if (i + 2 < m->nlayers && xai_conv2d_relu_pool_ok(l, &m->layers[i + 2])) /* no relu output kept either */
        xai_conv2d_relu_pool_forward(m->acts[i + 1], NULL, m->acts[i + 3], m->acts[i], l, &m->layers[i + 2], n);
    else if (lazy) {
        *lazy = 1;
        return m->acts[i + 2];
    } else if (dead_carry_none(R, m->acts[i + 2], (size_t)n * xai_shape_size(l->out)))
        return m->acts[i + 2];
    else
        return conv_z(c, i, n);
    return m->acts[i + 1];
}

/* Relevance cur (nb, out of layer i) through layer i; returns 1 when it went to `other`. */
static int relevance_step(xai_lrp *c, int i, const float *cur, float *other, int nb)
{
    const xai_layer *l = &c->m->layers[i];
    const size_t lsz = xai_shape_size(l->in);
    switch (l->type) {
    case XAI_RELU:
    case XAI_DROPOUT:
    case XAI_FLATTEN: return 0; /* relevance passes unchanged */
    case XAI_MAXPOOL2D:
        memset(other, 0, (size_t)nb * lsz * sizeof *other);
        xai_maxpool2d_backward(other, cur, l, nb); /* to the winner the forward pass stored */
        return 1;
    case XAI_AVGPOOL2D:
    case XAI_GAP:
    case XAI_BATCHNORM2D:
        if (l->type != XAI_BATCHNORM2D) memset(other, 0, (size_t)nb * lsz * sizeof *other);
        proportional_rule(c, i, cur, other, nb);
        return 1;
    case XAI_CONV2D:
    case XAI_LINEAR: {
        /* the rules that test a relu output standing in for z as they read it */
        const int r = c->rule[i], tests = r == XAI_LRP_ZERO || r == XAI_LRP_EPSILON || r == XAI_LRP_ZBOX;
        int lazy = 0;
        memset(other, 0, (size_t)nb * lsz * sizeof *other);
        const float *out = reads_out(r) ? layer_out(c, i, cur, nb, tests ? &lazy : NULL) : NULL;
        affine_rule(c, i, cur, other, nb, out, lazy);
        return 1;
    }
    default: XAI_CHECK(!"unknown layer type");
    }
    return 0;
}

/* One batch of nb images from x: relevance into attr, per-layer sums into ls (nb, L + 1). */
static void lrp_batch(xai_lrp *c, const float *x, const int32_t *target, int nb, float *attr, double *ls,
                      int want_sums)
{
    xai_model *m = c->m;
    const int L = m->nlayers, K = m->nclasses;
    const float *logits = xai_model_forward(m, x, nb);
    float *cur = m->dbuf[0], *other = m->dbuf[1];
    memset(cur, 0, (size_t)nb * K * sizeof *cur);
    for (int r = 0; r < nb; r++) cur[(size_t)r * K + target[r]] = logits[(size_t)r * K + target[r]];
    relevance_sums(ls, L, L + 1, cur, K, nb);
    for (int i = L - 1; i >= 0; i--) {
        if (i >= 2 && fused_step(c, i - 2, cur, other, nb, ls, want_sums)) {
            float *t = cur;
            cur = other;
            other = t;
            i -= 2;
            if (i == 0 || want_sums) relevance_sums(ls, i, L + 1, cur, xai_shape_size(m->layers[i].in), nb);
            continue;
        }
        const size_t lsz = xai_shape_size(m->layers[i].in);
        const int moved = relevance_step(c, i, cur, other, nb);
        if (moved) {
            float *t = cur;
            cur = other;
            other = t;
        }
        /* Per-layer sums cost a pass over every activation: only when asked for. */
        if (i == 0 || (want_sums && moved)) relevance_sums(ls, i, L + 1, cur, lsz, nb);
        else if (want_sums)
            for (int r = 0; r < nb; r++) ls[(size_t)r * (L + 1) + i] = ls[(size_t)r * (L + 1) + i + 1];
    }
    memcpy(attr, cur, (size_t)nb * xai_shape_size(m->in) * sizeof *attr);
}

xai_status xai_lrp_run(xai_lrp *c, const float *x, const int32_t *target, int n, float *attr, double *residual,
                       double *layer_sums)
{
    xai_model *m = c->m;
    const int L = m->nlayers, K = m->nclasses, rows = m->max_batch;
    if (n < 0) return xai_fail(XAI_EINVAL, "LRP: image count %d is negative", n);
    for (int i = 0; i < n; i++)
        if (target[i] < 0 || target[i] >= K)
            return xai_fail(XAI_EINVAL, "LRP: target %d of image %d is not a class of the model (0..%d)",
                            (int)target[i], i, K - 1);
    const size_t isz = xai_shape_size(m->in);
    double *ls = xai_malloc((size_t)rows * (L + 1) * sizeof *ls);
    xai_eval_scope st = xai_eval_begin(m, 1); /* lean: see layer_out */
    for (int s0 = 0; s0 < n; s0 += rows) {
        const int nb = n - s0 < rows ? n - s0 : rows;
        lrp_batch(c, x + (size_t)s0 * isz, target + s0, nb, attr + (size_t)s0 * isz, ls, layer_sums != NULL);
        for (int r = 0; r < nb; r++) {
            if (residual) residual[s0 + r] = ls[(size_t)r * (L + 1)] - ls[(size_t)r * (L + 1) + L];
            if (layer_sums) memcpy(layer_sums + (size_t)(s0 + r) * (L + 1), ls + (size_t)r * (L + 1), (L + 1) * sizeof *ls);
        }
    }
    xai_eval_end(m, st);
    free(ls);
    return XAI_OK;
}
