/* model.c: a sequential CNN built from layer specs, with one arena per kind of memory.
 * Shapes are inferred and checked at build time; forward/backward never allocate. */
#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/kernels.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *type_names[XAI_LAYER_TYPES] = {"conv2d",  "relu",   "maxpool2d",   "avgpool2d", "global_avg_pool",
                                                  "flatten", "linear", "batchnorm2d", "dropout"};

const char *xai_layer_type_name(xai_layer_type t)
{
    return (unsigned)t < XAI_LAYER_TYPES ? type_names[t] : "unknown";
}

int xai_layer_type_from_name(const char *name)
{
    static const struct { const char *alias; xai_layer_type t; } aliases[] = {
        {"conv", XAI_CONV2D},       {"maxpool", XAI_MAXPOOL2D}, {"avgpool", XAI_AVGPOOL2D}, {"gap", XAI_GAP},
        {"batchnorm", XAI_BATCHNORM2D}, {"bn", XAI_BATCHNORM2D},   {"fc", XAI_LINEAR}};
    for (int i = 0; i < XAI_LAYER_TYPES; i++)
        if (!strcmp(name, type_names[i])) return i;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcmp(name, aliases[i].alias)) return aliases[i].t;
    return -1;
}

static void spec_defaults(xai_layer_spec *s, xai_layer_type t)
{
    memset(s, 0, sizeof *s);
    s->type = t;
    s->k = t == XAI_CONV2D ? 3 : 2;
    s->stride = t == XAI_CONV2D ? 1 : 0; /* pools: 0 means stride = k */
    s->bias = 1;
    s->eps = 1e-5f;
    s->momentum = 0.1f;
    s->p = 0.5f;
}

xai_status xai_layer_spec_parse(xai_layer_spec *s, const char *text, const char *file, int line)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL, *tok = strtok_r(buf, " \t", &save);
    if (!tok) return xai_fail(XAI_EINVAL, "%s:%d: empty layer description", file, line);
    int t = xai_layer_type_from_name(tok);
    if (t < 0)
        return xai_fail(XAI_EINVAL,
                        "%s:%d: unknown layer type '%s' (expected conv, relu, maxpool, avgpool, gap, flatten, "
                        "linear, batchnorm or dropout)",
                        file, line, tok);
    spec_defaults(s, t);
    s->line = line;
    int have_out = 0;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) return xai_fail(XAI_EINVAL, "%s:%d: '%s' should be key=value", file, line, tok);
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end)
            return xai_fail(XAI_EINVAL, "%s:%d: %s=%s is not a number", file, line, k, v);
        /* In range before any cast to int (pad=1e10 must not wrap); 0 and negatives are refused
         * with their own messages below and in the shape inference. */
        int isint = d == floor(d) && fabs(d) <= XAI_DIM_MAX;
        const int dim = !strcmp(k, "out") || !strcmp(k, "k") || !strcmp(k, "stride") || !strcmp(k, "pad");
        if (d == floor(d) && !isint && dim)
            return xai_fail(XAI_EINVAL, "%s:%d: %s=%s is out of range (at most %d)", file, line, k, v, XAI_DIM_MAX);
        if (!strcmp(k, "stride") && isint && d < 1) /* 0 is the pools' internal "stride = k": never written */
            return xai_fail(XAI_EINVAL, "%s:%d: stride=%s must be at least 1", file, line, v);
        if (!strcmp(k, "out") && (t == XAI_CONV2D || t == XAI_LINEAR) && isint) s->out = (int)d, have_out = 1;
        else if (!strcmp(k, "k") && (t == XAI_CONV2D || t == XAI_MAXPOOL2D || t == XAI_AVGPOOL2D) && isint) s->k = (int)d;
        else if (!strcmp(k, "stride") && (t == XAI_CONV2D || t == XAI_MAXPOOL2D || t == XAI_AVGPOOL2D) && isint)
            s->stride = (int)d;
        else if (!strcmp(k, "pad") && (t == XAI_CONV2D || t == XAI_MAXPOOL2D || t == XAI_AVGPOOL2D) && isint)
            s->pad = (int)d;
        else if (!strcmp(k, "bias") && (t == XAI_CONV2D || t == XAI_LINEAR) && (d == 0 || d == 1)) s->bias = (int)d;
        else if (!strcmp(k, "eps") && t == XAI_BATCHNORM2D) s->eps = (float)d;
        else if (!strcmp(k, "momentum") && t == XAI_BATCHNORM2D) s->momentum = (float)d;
        else if (!strcmp(k, "p") && t == XAI_DROPOUT) s->p = (float)d;
        else
            return xai_fail(XAI_EINVAL, "%s:%d: '%s=%s' is not a valid option of a %s layer", file, line, k, v,
                            type_names[t]);
    }
    if ((t == XAI_CONV2D || t == XAI_LINEAR) && (!have_out || s->out <= 0))
        return xai_fail(XAI_EINVAL, "%s:%d: %s needs out=N with N > 0", file, line, type_names[t]);
    if (t == XAI_DROPOUT && !(s->p >= 0 && s->p < 1)) /* NaN fails too */
        return xai_fail(XAI_EINVAL, "%s:%d: dropout p=%g must be in [0, 1)", file, line, s->p);
    if (t == XAI_BATCHNORM2D && !(s->eps > 0 && isfinite(s->eps) && s->momentum >= 0 && s->momentum <= 1))
        return xai_fail(XAI_EINVAL, "%s:%d: batchnorm needs eps > 0 and momentum in [0, 1]", file, line);
    return XAI_OK;
}

/* Sizes of a conv or pool layer in 64-bit before any int arithmetic on them: the padded input,
 * the output and the direct convolution's layouts (which widen by k - 1 on each side) stay within
 * XAI_ACT_MAX floats, the weights within XAI_PARAMS_MAX. */
static xai_status check_conv_size(const xai_layer *l, const xai_layer_spec *s, xai_shape in, const char *at, int idx)
{
    int64_t hp = (int64_t)in.h + 2 * l->pad, wp = (int64_t)in.w + 2 * l->pad, k = l->k;
    int64_t co = s->type == XAI_CONV2D ? s->out : in.c, cmax = co > in.c ? co : in.c;
    if (cmax * (hp + 2 * k) * (wp + 2 * k) > XAI_ACT_MAX)
        return xai_fail(XAI_EINVAL,
                        "%s: layer %d (%s): input %dx%dx%d with pad %d and kernel %d needs %lld x %lld x %lld values "
                        "per image, more than %lld",
                        at, idx, type_names[s->type], in.c, in.h, in.w, l->pad, l->k, (long long)cmax,
                        (long long)(hp + 2 * k), (long long)(wp + 2 * k), (long long)XAI_ACT_MAX);
    if (s->type == XAI_CONV2D && co * in.c * k * k > XAI_PARAMS_MAX)
        return xai_fail(XAI_EINVAL, "%s: layer %d (conv2d): %lld x %d x %d x %d weights, more than %lld", at, idx,
                        (long long)co, in.c, l->k, l->k, (long long)XAI_PARAMS_MAX);
    return XAI_OK;
}

/* Infers l->out from l->in; fills hyperparameters. */
static xai_status infer_shape(xai_layer *l, const xai_layer_spec *s, const char *where, int idx)
{
    char at[512]; /* "file:line" of the spec, or what the caller names */
    if (s->line > 0) snprintf(at, sizeof at, "%s:%d", where, s->line);
    else snprintf(at, sizeof at, "%s", where);
    xai_shape in = l->in;
    l->type = s->type;
    l->k = s->k;
    l->stride = s->stride ? s->stride : s->k;
    l->pad = s->pad;
    l->bias = s->bias;
    l->eps = s->eps;
    l->momentum = s->momentum;
    l->p = s->p;
    l->out = in;
    switch (s->type) {
    case XAI_CONV2D:
    case XAI_MAXPOOL2D:
    case XAI_AVGPOOL2D:
        if (l->k <= 0 || l->stride <= 0 || l->pad < 0 || l->k > XAI_DIM_MAX || l->stride > XAI_DIM_MAX ||
            l->pad > XAI_DIM_MAX || (s->type != XAI_CONV2D && 2 * l->pad > l->k))
            return xai_fail(XAI_EINVAL, "%s: layer %d (%s): bad kernel k=%d stride=%d pad=%d (each at most %d)", at,
                            idx, type_names[s->type], l->k, l->stride, l->pad, XAI_DIM_MAX);
        XAI_TRY(check_conv_size(l, s, in, at, idx));
        if (in.h + 2 * l->pad < l->k || in.w + 2 * l->pad < l->k)
            return xai_fail(XAI_EINVAL, "%s: layer %d (%s): kernel %d does not fit the input %dx%dx%d (pad %d)",
                            at, idx, type_names[s->type], l->k, in.c, in.h, in.w, l->pad);
        l->out.h = (in.h + 2 * l->pad - l->k) / l->stride + 1;
        l->out.w = (in.w + 2 * l->pad - l->k) / l->stride + 1;
        if (s->type == XAI_CONV2D) {
            l->out.c = s->out;
            l->nw = (size_t)s->out * in.c * l->k * l->k;
            l->nb = l->bias ? (size_t)s->out : 0;
        }
        break;
    case XAI_GAP: l->out.h = l->out.w = 1; break;
    case XAI_FLATTEN: l->out = (xai_shape){in.c * in.h * in.w, 1, 1}; break; /* <= XAI_ACT_MAX, checked */
    case XAI_LINEAR:
        if (in.h != 1 || in.w != 1)
            return xai_fail(XAI_EINVAL,
                            "%s: layer %d (linear) gets a %dx%dx%d input; add `layer = flatten` (or gap) before it",
                            at, idx, in.c, in.h, in.w);
        if ((int64_t)s->out * in.c > XAI_PARAMS_MAX)
            return xai_fail(XAI_EINVAL, "%s: layer %d (linear): %d x %d weights, more than %lld", at, idx, s->out,
                            in.c, (long long)XAI_PARAMS_MAX);
        l->out = (xai_shape){s->out, 1, 1};
        l->nw = (size_t)s->out * in.c;
        l->nb = l->bias ? (size_t)s->out : 0;
        break;
    case XAI_BATCHNORM2D:
        l->nw = l->nb = in.c;
        break;
    default: break;
    }
    return XAI_OK;
}

/* Layers whose output is their input's memory: flatten changes no byte, and
 * dropout works in place (identity in eval mode; no backward reads its input,
 * and a relu or pool mask read through it is unchanged where the gradient is
 * not zeroed anyway). */
static int aliased(xai_layer_type t) { return t == XAI_FLATTEN || t == XAI_DROPOUT; }

/* How big each arena must be, worked out from the inferred shapes before anything is wired. */
typedef struct {
    size_t maxact;             /* largest per-sample activation, floats */
    size_t col, gpart, pack;   /* conv: scratch per thread, partials per chunk, packed weights */
    size_t lpart;              /* linear: forward partials */
    size_t layer_work;         /* batchnorm, dropout and maxpool workspace, all layers */
    int nthr;                  /* threads the conv scratch is sized for */
} arena_plan;

static xai_status check_create_args(int nspecs, xai_shape in, int nclasses, int max_batch, const char *where)
{
    if (nspecs <= 0) return xai_fail(XAI_EINVAL, "%s: no layers given (add `layer = ...` lines)", where);
    if (in.c <= 0 || in.h <= 0 || in.w <= 0 || in.c > XAI_DIM_MAX || in.h > XAI_DIM_MAX || in.w > XAI_DIM_MAX ||
        (int64_t)in.c * in.h * in.w > XAI_ACT_MAX)
        return xai_fail(XAI_EINVAL, "%s: input shape %dx%dx%d is invalid (expected CxHxW, each 1..%d, at most %lld values)",
                        where, in.c, in.h, in.w, XAI_DIM_MAX, (long long)XAI_ACT_MAX);
    if (nclasses <= 0 || nclasses > XAI_DIM_MAX)
        return xai_fail(XAI_EINVAL, "%s: %d classes, expected 1..%d", where, nclasses, XAI_DIM_MAX);
    if (max_batch <= 0 || max_batch > XAI_BATCH_MAX)
        return xai_fail(XAI_EINVAL, "%s: batch size %d, expected 1..%d", where, max_batch, XAI_BATCH_MAX);
    return XAI_OK;
}

/* Workspace of one layer in the work arena, floats (conv and linear share theirs across layers). */
static size_t layer_work_floats(const xai_layer *l, int max_batch)
{
    const size_t nin = (size_t)max_batch * xai_shape_size(l->in);
    switch (l->type) {
    case XAI_BATCHNORM2D: return 2 * (size_t)l->in.c + nin;
    case XAI_DROPOUT: return (nin + 3) / 4; /* bytes */
    case XAI_MAXPOOL2D: return (size_t)max_batch * xai_shape_size(l->out);
    default: return 0;
    }
}

/* Infers every layer's shape and counts what the arenas must hold. */
static xai_status plan_layers(xai_model *m, const xai_layer_spec *specs, arena_plan *p, const char *where)
{
    memset(p, 0, sizeof *p);
    /* Conv scratch is per thread; a later, larger thread count fails an XAI_CHECK. */
    p->nthr = xai_threads();
    p->maxact = xai_shape_size(m->in);
    xai_shape cur = m->in;
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        l->in = cur;
        XAI_TRY(infer_shape(l, &specs[i], where, i));
        cur = l->out;
        m->nparams += l->nw + l->nb;
        if (l->type == XAI_BATCHNORM2D) m->nbuffers += 2 * (size_t)l->in.c;
        if (xai_shape_size(l->out) > p->maxact) p->maxact = xai_shape_size(l->out);
        if (l->type == XAI_CONV2D) {
            size_t c = xai_conv2d_scratch_floats(l), gp = xai_conv2d_gpart_floats(l), pk = xai_conv2d_pack_floats(l);
            if (c > p->col) p->col = c;
            if (gp > p->gpart) p->gpart = gp;
            if (pk > p->pack) p->pack = pk;
        }
        if (l->type == XAI_LINEAR && xai_linear_work_floats(l, m->max_batch) > p->lpart)
            p->lpart = xai_linear_work_floats(l, m->max_batch);
        p->layer_work += layer_work_floats(l, m->max_batch);
        if (i == 0 || !aliased(specs[i - 1].type)) m->act_floats += (size_t)m->max_batch * xai_shape_size(l->in);
    }
    if (cur.c != m->nclasses || cur.h != 1 || cur.w != 1)
        return xai_fail(XAI_EINVAL, "%s: the last layer outputs %dx%dx%d, expected %d classes (a linear "
                                    "layer with out=%d)", where, cur.c, cur.h, cur.w, m->nclasses, m->nclasses);
    m->act_floats += (size_t)m->max_batch * m->nclasses + 2 * (size_t)m->max_batch * p->maxact;
    p->col = (p->col + 15) & ~(size_t)15; /* keep each thread's scratch on its own cache lines */
    p->gpart = (p->gpart + 15) & ~(size_t)15, p->pack = (p->pack + 15) & ~(size_t)15;
    m->work_floats = (size_t)p->nthr * p->col + XAI_CHUNKS * p->gpart + p->pack + p->lpart + p->layer_work;
    /* Each tensor is within XAI_ACT_MAX, but a pad of thousands around a small input makes
     * several of them that big at once: the arenas, too, stay within XAI_ACT_MAX floats an image. */
    const size_t per_image = (m->act_floats + m->work_floats) / (size_t)m->max_batch;
    if (per_image > (size_t)XAI_ACT_MAX)
        return xai_fail(XAI_EINVAL, "%s: the layers need %zu activation and work floats per image, more than %lld "
                                    "(a pad or kernel far larger than the input?)",
                        where, per_image, (long long)XAI_ACT_MAX);
    return XAI_OK;
}

/* The arenas; a model too big for this machine is an error naming its size, not an abort. */
static xai_status alloc_arenas(xai_model *m, const char *where)
{
    m->acts = xai_calloc(m->nlayers + 1, sizeof *m->acts);
    /* 64-byte aligned, as the kernels' vectors and per-thread blocks are laid out: calloc's 16
     * bytes put every AVX-512 load of the arenas across two cache lines (training 3 % slower) */
    m->params = xai_calloc_try(m->nparams ? m->nparams : 1, sizeof(float));
    m->grads = xai_calloc_try(m->nparams ? m->nparams : 1, sizeof(float));
    m->buffers = xai_calloc_try(m->nbuffers ? m->nbuffers : 1, sizeof(float));
    m->act_arena = xai_calloc_try(m->act_floats, sizeof(float));
    m->work_arena = xai_calloc_try(m->work_floats ? m->work_floats : 1, sizeof(float));
    if (m->params && m->grads && m->buffers && m->act_arena && m->work_arena) return XAI_OK;
    return xai_fail(XAI_ENOMEM, "%s: out of memory for the model's arenas (%zu parameters, %zu activation and %zu work "
                                "floats at batch %d)", where, m->nparams, m->act_floats, m->work_floats, m->max_batch);
}

/* Points layer l's workspace at *w (the per-layer part of the work arena) and the shared parts. */
static void wire_workspace(xai_layer *l, xai_layer_ws *ws, float **w, const arena_plan *p, float *shared)
{
    float *gpbuf = shared + (size_t)p->nthr * p->col, *packbuf = gpbuf + XAI_CHUNKS * p->gpart;
    l->ws = ws;
    switch (l->type) {
    case XAI_CONV2D:
        ws->col = shared, ws->scratch_stride = p->col, ws->scratch_threads = p->nthr;
        ws->gpart = gpbuf, ws->pack = packbuf;
        break;
    case XAI_BATCHNORM2D: ws->bn_mean = *w, ws->bn_istd = *w + l->in.c, ws->bn_xhat = *w + 2 * l->in.c; break;
    case XAI_DROPOUT: ws->mask = (uint8_t *)*w; break;
    case XAI_LINEAR: ws->lpart = packbuf + p->pack; break;
    case XAI_MAXPOOL2D: ws->argmax = (int32_t *)*w; break;
    default: break;
    }
}

/* Views of every layer into the arenas: activations, weights and gradients, buffers, workspace. */
static void wire_layers(xai_model *m, const arena_plan *p)
{
    const int nb = m->max_batch;
    float *pp = m->params, *g = m->grads, *bf = m->buffers, *a = m->act_arena;
    float *shared = m->work_arena, *w = shared + (size_t)p->nthr * p->col + XAI_CHUNKS * p->gpart + p->pack + p->lpart;
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        /* flatten changes no byte: its output shares its input's memory */
        if (i > 0 && aliased(m->layers[i - 1].type)) m->acts[i] = m->acts[i - 1];
        else {
            m->acts[i] = a;
            a += (size_t)nb * xai_shape_size(l->in);
        }
        if (l->nw) l->w = pp, l->gw = g, pp += l->nw, g += l->nw;
        if (l->nb) l->b = pp, l->gb = g, pp += l->nb, g += l->nb;
        if (l->type == XAI_BATCHNORM2D) l->rmean = bf, l->rvar = bf + l->in.c, bf += 2 * l->in.c;
        wire_workspace(l, &m->ws[i], &w, p, shared);
        w += layer_work_floats(l, nb);
    }
    if (aliased(m->layers[m->nlayers - 1].type)) m->acts[m->nlayers] = m->acts[m->nlayers - 1];
    else {
        m->acts[m->nlayers] = a;
        a += (size_t)nb * m->nclasses;
    }
    m->dbuf[0] = a;
    m->dbuf[1] = a + (size_t)nb * p->maxact;
    XAI_CHECK(pp == m->params + m->nparams && (size_t)(w - m->work_arena) == m->work_floats);
}

/* The `layer = ...` lines that rebuild the net, for provenance (malloc'd). */
static char *spec_text_of(const xai_model *m)
{
    xai_sbuf b = {0};
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        xai_sbuf_printf(&b, "%s", type_names[l->type]);
        if (l->type == XAI_CONV2D)
            xai_sbuf_printf(&b, " out=%d k=%d stride=%d pad=%d bias=%d", l->out.c, l->k, l->stride, l->pad, l->bias);
        else if (l->type == XAI_LINEAR) xai_sbuf_printf(&b, " out=%d bias=%d", l->out.c, l->bias);
        else if (l->type == XAI_MAXPOOL2D || l->type == XAI_AVGPOOL2D)
            xai_sbuf_printf(&b, " k=%d stride=%d pad=%d", l->k, l->stride, l->pad);
        else if (l->type == XAI_DROPOUT) xai_sbuf_printf(&b, " p=%g", l->p);
        else if (l->type == XAI_BATCHNORM2D) xai_sbuf_printf(&b, " eps=%g momentum=%g", l->eps, l->momentum);
        xai_sbuf_printf(&b, "\n");
    }
    return b.s ? b.s : xai_strdup("");
}

xai_status xai_model_create_at(xai_model **out, const xai_layer_spec *specs, int nspecs, xai_shape in, int nclasses,
                               int max_batch, const char *where)
{
    *out = NULL;
    XAI_TRY(check_create_args(nspecs, in, nclasses, max_batch, where));
    xai_model *m = xai_calloc(1, sizeof *m);
    m->nlayers = nspecs;
    m->layers = xai_calloc(nspecs, sizeof *m->layers);
    m->ws = xai_calloc(nspecs, sizeof *m->ws);
    m->in = in;
    m->nclasses = nclasses;
    m->max_batch = max_batch;
    for (int c = 0; c < 4; c++) m->mean[c] = 0, m->std[c] = 1;
    arena_plan plan;
    xai_status s = plan_layers(m, specs, &plan, where);
    if (s != XAI_OK) {
        xai_model_free(m);
        return s;
    }
    if ((s = alloc_arenas(m, where)) != XAI_OK) {
        xai_model_free(m);
        return s;
    }
    wire_layers(m, &plan);
    m->spec_text = spec_text_of(m);
    for (int i = 0; i < nspecs; i++)
        if (m->layers[i].type == XAI_BATCHNORM2D) {
            for (int c = 0; c < m->layers[i].in.c; c++) m->layers[i].w[c] = 1, m->layers[i].rvar[c] = 1;
        }
    *out = m;
    return XAI_OK;
}

xai_status xai_model_create(xai_model **out, const xai_layer_spec *specs, int nspecs, xai_shape in, int nclasses,
                            int max_batch)
{
    return xai_model_create_at(out, specs, nspecs, in, nclasses, max_batch, "model");
}

/* Digits only, checked as they are read: sscanf's %d overflows undefined on 2147483648 and
 * stops quietly before "x28" or "junk" (1x28x28x28 ran as 1x28x28). */
xai_status xai_shape_parse(const char *v, xai_shape *s)
{
    int d[3];
    for (int i = 0; i < 3; i++) {
        if (*v < '0' || *v > '9') return XAI_EINVAL;
        long x = 0;
        while (*v >= '0' && *v <= '9')
            if ((x = 10 * x + (*v++ - '0')) > XAI_DIM_MAX) return XAI_EINVAL;
        if (x < 1 || (i < 2 && *v++ != 'x')) return XAI_EINVAL;
        d[i] = (int)x;
    }
    if (*v) return XAI_EINVAL;
    *s = (xai_shape){d[0], d[1], d[2]};
    return XAI_OK;
}

xai_status xai_model_from_config(xai_model **m, const xai_config *c, int max_batch)
{
    *m = NULL;
    const xai_config_entry *ein = xai_config_find(c, "model", "input");
    if (!ein) return xai_fail(XAI_EINVAL, "%s: [model] needs `input = CxHxW` (e.g. 1x28x28)", c->path);
    xai_shape in;
    if (xai_shape_parse(ein->value, &in) != XAI_OK)
        return xai_fail(XAI_EINVAL, "%s:%d: input = '%s' is not CxHxW (e.g. 1x28x28; each 1..%d)", c->path, ein->line,
                        ein->value, XAI_DIM_MAX);
    long classes;
    XAI_TRY(xai_config_int(c, "model", "classes", 0, &classes));
    if (classes <= 0) return xai_fail(XAI_EINVAL, "%s: [model] needs `classes = N` with N > 0", c->path);
    int n = 0;
    for (int i = 0; i < c->n; i++) n += !strcmp(c->e[i].section, "model") && !strcmp(c->e[i].key, "layer");
    if (!n) return xai_fail(XAI_EINVAL, "%s: [model] has no `layer = ...` lines", c->path);
    xai_layer_spec *specs = xai_calloc(n, sizeof *specs);
    int k = 0;
    xai_status s = XAI_OK;
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].section, "model") || strcmp(c->e[i].key, "layer")) continue;
        if ((s = xai_layer_spec_parse(&specs[k++], c->e[i].value, c->path, c->e[i].line)) != XAI_OK) goto done;
    }
    s = xai_model_create_at(m, specs, n, in, (int)classes, max_batch, c->path);
done:
    free(specs);
    return s;
}

void xai_model_free(xai_model *m)
{
    if (!m) return;
    free(m->layers);
    free(m->ws);
    xai_free_aligned(m->params);
    xai_free_aligned(m->grads);
    xai_free_aligned(m->buffers);
    xai_free_aligned(m->act_arena);
    xai_free_aligned(m->work_arena);
    free(m->acts);
    free(m->spec_text);
    free(m->class_names);
    free(m);
}

void xai_model_init(xai_model *m, uint64_t seed)
{
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        if (l->type != XAI_CONV2D && l->type != XAI_LINEAR) continue;
        /* He for layers feeding a ReLU (possibly through bn/pool/dropout), Glorot for the classifier. */
        int relu_follows = 0;
        for (int j = i + 1; j < m->nlayers; j++) {
            xai_layer_type t = m->layers[j].type;
            if (t == XAI_RELU) relu_follows = 1;
            if (t == XAI_RELU || t == XAI_CONV2D || t == XAI_LINEAR) break;
        }
        double fan_in = (double)l->in.c * (l->type == XAI_CONV2D ? l->k * l->k : 1);
        double fan_out = (double)l->out.c * (l->type == XAI_CONV2D ? l->k * l->k : 1);
        float bound = (float)(relu_follows ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out)));
        for (size_t j = 0; j < l->nw; j++) l->w[j] = (2 * xai_rng_uniform(&r) - 1) * bound;
        for (size_t j = 0; j < l->nb; j++) l->b[j] = 0;
    }
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        if (l->type != XAI_BATCHNORM2D) continue;
        for (int c = 0; c < l->in.c; c++) l->w[c] = 1, l->b[c] = 0, l->rmean[c] = 0, l->rvar[c] = 1;
    }
    m->seed = seed;
    m->step = 0;
}

void xai_layer_spec_of(xai_layer_spec *s, const xai_layer *l)
{
    memset(s, 0, sizeof *s);
    s->type = l->type;
    s->out = l->out.c;
    s->k = l->k;
    s->stride = l->stride;
    s->pad = l->pad;
    s->bias = l->bias;
    s->eps = l->eps;
    s->momentum = l->momentum;
    s->p = l->p;
}

static void get_specs(const xai_model *m, xai_layer_spec *specs)
{
    for (int i = 0; i < m->nlayers; i++) xai_layer_spec_of(&specs[i], &m->layers[i]);
}

xai_status xai_model_clone(xai_model **dst, const xai_model *src, int max_batch)
{
    xai_layer_spec *specs = xai_calloc(src->nlayers, sizeof *specs);
    get_specs(src, specs);
    xai_status s = xai_model_create(dst, specs, src->nlayers, src->in, src->nclasses, max_batch);
    free(specs);
    if (s != XAI_OK) return s;
    memcpy((*dst)->params, src->params, src->nparams * sizeof(float));
    memcpy((*dst)->buffers, src->buffers, src->nbuffers * sizeof(float));
    memcpy((*dst)->mean, src->mean, sizeof src->mean);
    memcpy((*dst)->std, src->std, sizeof src->std);
    if (src->class_names) (*dst)->class_names = xai_strdup(src->class_names);
    (*dst)->seed = src->seed;
    (*dst)->step = src->step;
    (*dst)->train = src->train;
    return XAI_OK;
}

/* A relu right after a conv runs inside the conv's per-sample loop, forward and
 * backward: the big activation is touched once while in cache. */
static int fused_conv_relu(const xai_model *m, int i)
{
    return i + 1 < m->nlayers && m->layers[i].type == XAI_CONV2D && m->layers[i + 1].type == XAI_RELU;
}

/* conv, relu, 2x2 max pool: one pass that keeps the conv output in cache, and
 * a backward pass that reads only the (4x smaller) pool tensors. */
static int fused_conv_relu_pool(const xai_model *m, int i)
{
    return fused_conv_relu(m, i) && i + 2 < m->nlayers && xai_conv2d_relu_pool_ok(&m->layers[i], &m->layers[i + 2]);
}

float *xai_model_forward(xai_model *m, const float *x, int n)
{
    XAI_CHECK(n > 0 && n <= m->max_batch);
    xai_threads(); /* pins OpenBLAS to one thread before the first sgemm */
    if (x != m->acts[0]) memcpy(m->acts[0], x, (size_t)n * xai_shape_size(m->in) * sizeof *x);
    uint64_t step_seed = m->seed ^ (0x9E3779B97F4A7C15ull * (m->step + 1));
    for (int i = 0; i < m->nlayers; i++) {
        if (fused_conv_relu_pool(m, i)) {
            xai_conv2d_relu_pool_forward(m->lean ? NULL : m->acts[i + 1], m->lean ? NULL : m->acts[i + 2],
                                         m->acts[i + 3], m->acts[i], &m->layers[i], &m->layers[i + 2], n);
            i += 2;
            continue;
        }
        if (fused_conv_relu(m, i)) {
            xai_conv2d_relu_forward(m->lean ? NULL : m->acts[i + 1], m->acts[i + 2], m->acts[i], &m->layers[i], n);
            i++;
            continue;
        }
        if (m->layers[i].type == XAI_FLATTEN) continue; /* aliased, see xai_model_create */
        if (m->layers[i].type == XAI_DROPOUT && !m->train) continue; /* identity, in place */
        xai_layer_forward(&m->layers[i], m->acts[i + 1], m->acts[i], n, m->train, step_seed + (uint64_t)i * 0x632BE5AB);
    }
    if (m->train) m->step++;
    return m->acts[m->nlayers];
}

void xai_model_backward(xai_model *m, const float *dlogits, int n, int want_dx)
{
    XAI_CHECK(n > 0 && n <= m->max_batch);
    const float *cur = dlogits;
    int k = 0;
    /* Below the lowest parametrised layer no input gradient is needed unless asked. */
    int lowest = 0;
    if (!want_dx)
        while (lowest < m->nlayers && m->layers[lowest].nw == 0) lowest++;
    for (int i = m->nlayers - 1; i >= lowest; i--) {
        if (m->layers[i].type == XAI_FLATTEN && i > 0) continue; /* aliased: the gradient passes unchanged */
        if (m->layers[i].type == XAI_DROPOUT && i > 0) {
            if (!m->train) continue; /* identity */
            if (cur != dlogits) { /* our own buffer: mask it in place */
                xai_dropout_backward_inplace((float *)cur, &m->layers[i], n);
                continue;
            }
        }
        const int pooled = i >= 2 && i - 2 >= lowest && fused_conv_relu_pool(m, i - 2);
        if (pooled) i -= 2; /* one step covers pool i, relu i - 1 and conv i - 2 */
        const int fused = !pooled && i >= 1 && i - 1 >= lowest && fused_conv_relu(m, i - 1);
        if (fused) i--; /* one step covers relu i and conv i - 1 */
        xai_layer *l = &m->layers[i];
        float *din = NULL;
        if (i > lowest || want_dx) {
            din = m->dbuf[k];
            if (l->type != XAI_CONV2D) memset(din, 0, (size_t)n * xai_shape_size(l->in) * sizeof *din);
        }
        if (pooled) xai_conv2d_relu_pool_backward(din, cur, m->acts[i + 3], m->acts[i], l, &m->layers[i + 2], n, 1);
        else if (l->type == XAI_CONV2D)
            /* relu(z) > 0 exactly where z > 0: the relu output is the mask, so a lean
             * forward pass need not keep z */
            xai_conv2d_backward_ex(din, cur, fused ? m->acts[i + 2] : NULL, m->acts[i], l, n, 1);
        else xai_layer_backward(l, din, cur, m->acts[i], m->acts[i + 1], n, m->train);
        if (!din) break;
        cur = din;
        k ^= 1;
    }
    m->dx = want_dx ? (float *)cur : NULL;
}

void xai_model_zero_grad(xai_model *m) { memset(m->grads, 0, m->nparams * sizeof(float)); }

void xai_model_set_param_grads(xai_model *m, int on)
{
    float *g = m->grads;
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        if (l->nw) l->gw = on ? g : NULL, g += l->nw;
        if (l->nb) l->gb = on ? g : NULL, g += l->nb;
    }
}

size_t xai_model_act_bytes(const xai_model *m) { return (m->act_floats + m->work_floats) * sizeof(float); }

double xai_model_flops(const xai_model *m, double *conv_flops)
{
    double tot = 0, conv = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        if (l->type == XAI_CONV2D) {
            double f = 2.0 * l->nw * l->out.h * l->out.w;
            conv += f;
            tot += f;
        } else if (l->type == XAI_LINEAR) tot += 2.0 * l->nw;
    }
    if (conv_flops) *conv_flops = conv;
    return tot;
}

int xai_model_argmax(const float *logits, int k)
{
    int a = 0;
    for (int j = 1; j < k; j++)
        if (logits[j] > logits[a]) a = j;
    return a;
}

int xai_model_class_index(const xai_model *m, const char *name)
{
    const size_t n = strlen(name);
    int k = 0;
    for (const char *p = m->class_names; p && *p && k < m->nclasses; k++) {
        const char *end = strchr(p, '\n');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !memcmp(p, name, n)) return k;
        if (!end) break;
        p = end + 1;
    }
    return -1;
}

xai_status xai_model_set_class_names(xai_model *m, const char *names, char sep, const char *what)
{
    char *v = xai_malloc(strlen(names) + 1), *w = v;
    for (const char *p = names; *p; p++) /* a file's carriage returns and last newline go */
        if (!(sep == '\n' && (*p == '\r' || (*p == '\n' && !p[strspn(p, "\r\n")])))) *w++ = *p;
    *w = 0;
    int n = 0, empty = 0;
    for (char *p = v;; n++) {
        char *e = strchr(p, sep);
        empty |= (e ? e : p + strlen(p)) == p;
        if (!e) break;
        *e = '\n';
        p = e + 1;
    }
    n++;
    if (n != m->nclasses || empty) {
        free(v);
        return xai_fail(XAI_EINVAL, "%s: %d class name%s%s, but the model has %d classes (one non-empty name per "
                        "class, %s)", what, n, n == 1 ? "" : "s", empty ? " (some empty)" : "", m->nclasses,
                        sep == ',' ? "comma-separated" : "one a line");
    }
    free(m->class_names);
    m->class_names = v;
    return XAI_OK;
}
