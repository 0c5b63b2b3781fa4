/* model_eval.c: a model as the explainers and metrics use it: the eval-mode scope, target logits,
 * batch norm folded into the layer before it, and uint8 pixels normalised as the model expects. */
#include "core/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

xai_eval_scope xai_eval_begin(xai_model *m, int lean)
{
    xai_eval_scope s = {m->train, m->lean, 0};
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].nw && m->layers[i].gw) s.grads = 1;
    m->train = 0, m->lean = lean;
    /* Input gradients only: weight gradients would cost a pass per layer and clobber m->grads. */
    xai_model_set_param_grads(m, 0);
    return s;
}

void xai_eval_end(xai_model *m, xai_eval_scope s)
{
    m->train = s.train, m->lean = s.lean;
    xai_model_set_param_grads(m, s.grads);
}

void xai_model_target_logits(xai_model *m, const float *x, const int32_t *target, int n, float *out)
{
    xai_eval_scope st = xai_eval_begin(m, 1); /* logits need no activation a fused pool skips */
    const size_t isz = xai_shape_size(m->in);
    for (int s = 0; s < n; s += m->max_batch) {
        int nb = n - s < m->max_batch ? n - s : m->max_batch;
        const float *lg = xai_model_forward(m, x + (size_t)s * isz, nb);
        for (int r = 0; r < nb; r++) out[s + r] = lg[(size_t)r * m->nclasses + target[s + r]];
    }
    xai_eval_end(m, st);
}

/* ------------------------------------------------------- batch-norm folding */

static int is_affine(const xai_layer *l) { return l->type == XAI_CONV2D || l->type == XAI_LINEAR; }

static const xai_layer *bn_after(const xai_model *m, int i)
{
    return i + 1 < m->nlayers && m->layers[i + 1].type == XAI_BATCHNORM2D ? &m->layers[i + 1] : NULL;
}

/* d = l with bn (NULL: none) merged: y = g (z - mu) / sqrt(var + eps) + beta with z = w x + b,
 * so w is scaled and the shift goes into b. */
static void fold_into(xai_layer *d, const xai_layer *l, const xai_layer *bn)
{
    const size_t per = l->nw / l->out.c;
    for (int o = 0; o < l->out.c; o++) {
        double a = 1, shift = 0, b = l->bias ? l->b[o] : 0;
        if (bn) {
            a = bn->w[o] / sqrt((double)bn->rvar[o] + bn->eps);
            shift = bn->b[o] - a * bn->rmean[o];
        }
        for (size_t t = 0; t < per; t++) d->w[o * per + t] = (float)(a * l->w[o * per + t]);
        if (d->bias) d->b[o] = (float)(a * b + shift);
    }
}

static void copy_batchnorm(xai_layer *d, const xai_layer *l)
{
    memcpy(d->w, l->w, l->nw * sizeof *d->w);
    memcpy(d->b, l->b, l->nb * sizeof *d->b);
    memcpy(d->rmean, l->rmean, l->in.c * sizeof *d->rmean);
    memcpy(d->rvar, l->rvar, l->in.c * sizeof *d->rvar);
}

xai_status xai_model_fold_batchnorm(xai_model **out, const xai_model *m, int max_batch)
{
    *out = NULL;
    xai_layer_spec *specs = xai_calloc(m->nlayers, sizeof *specs);
    int *src = xai_calloc(m->nlayers, sizeof *src); /* folded layer -> original layer */
    int n = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        if (l->type == XAI_BATCHNORM2D && i > 0 && is_affine(&m->layers[i - 1])) {
            specs[n - 1].bias = 1; /* the merged shift needs a bias */
            continue;
        }
        xai_layer_spec_of(&specs[n], l);
        src[n++] = i;
    }
    xai_model *c = NULL;
    xai_status s = XAI_OK;
    if ((s = xai_model_create(&c, specs, n, m->in, m->nclasses, max_batch)) != XAI_OK) goto done;
    for (int j = 0; j < n; j++) {
        const xai_layer *l = &m->layers[src[j]];
        /* A batch norm that no conv/linear layer feeds stays as a per-element affine layer. */
        if (l->type == XAI_BATCHNORM2D) copy_batchnorm(&c->layers[j], l);
        else if (is_affine(l)) fold_into(&c->layers[j], l, bn_after(m, src[j]));
    }
    memcpy(c->mean, m->mean, sizeof c->mean);
    memcpy(c->std, m->std, sizeof c->std);
    if (m->class_names) c->class_names = xai_strdup(m->class_names);
    c->seed = m->seed;
    c->train = 0;
    *out = c;
done:
    free(specs);
    free(src);
    return s;
}

int xai_model_folds(const xai_model *m)
{
    int k = 0;
    for (int i = 1; i < m->nlayers; i++) k += m->layers[i].type == XAI_BATCHNORM2D && is_affine(&m->layers[i - 1]);
    return k;
}

xai_status xai_model_refold_batchnorm(xai_model *f, const xai_model *m)
{
    /* First check that f has the layers a fold of m has (the walk of xai_model_fold_batchnorm),
     * then write: a mismatch leaves f as it was. */
    for (int pass = 0; pass < 2; pass++) {
        int j = 0;
        for (int i = 0; i < m->nlayers; i++) {
            const xai_layer *l = &m->layers[i];
            if (l->type == XAI_BATCHNORM2D && i > 0 && is_affine(&m->layers[i - 1])) continue;
            xai_layer *d = j < f->nlayers ? &f->layers[j] : NULL;
            const xai_layer *bn = is_affine(l) ? bn_after(m, i) : NULL;
            const size_t nb = bn ? (size_t)l->out.c : l->nb;
            if (pass == 0 && (!d || d->type != l->type || d->nw != l->nw || d->nb != nb || d->out.c != l->out.c ||
                              d->in.c != l->in.c))
                return xai_fail(XAI_EINVAL,
                                "batch-norm refold: layer %d of the folded net (%s) is not the fold of layer %d (%s)",
                                j, d ? xai_layer_type_name(d->type) : "none", i, xai_layer_type_name(l->type));
            if (pass == 1 && l->type == XAI_BATCHNORM2D) copy_batchnorm(d, l);
            else if (pass == 1 && is_affine(l)) fold_into(d, l, bn);
            j++;
        }
        if (pass == 0 && j != f->nlayers)
            return xai_fail(XAI_EINVAL, "batch-norm refold: the folded net has %d layers, a fold of this model %d",
                            f->nlayers, j);
    }
    return XAI_OK;
}

/* ------------------------------------------------------------ normalisation */

void xai_normalize_u8(float *out, const uint8_t *px, xai_shape s, const float *mean, const float *std)
{
    const size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++)
        for (size_t j = 0; j < plane; j++)
            out[(size_t)c * plane + j] = ((float)px[(size_t)c * plane + j] / 255.0f - mean[c]) / std[c];
}
