/* optim.c: SGD (momentum, Nesterov), Adam and AdamW over a flat parameter array,
 * and the learning-rate schedules (constant, step, cosine, one-cycle). */
#include "trainers/trainers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *xai_optim_name(xai_optim_type t)
{
    static const char *names[] = {"sgd", "adam", "adamw"};
    return (unsigned)t < 3 ? names[t] : "unknown";
}

const char *xai_sched_name(xai_sched_type t)
{
    static const char *names[] = {"constant", "step", "cosine", "onecycle"};
    return (unsigned)t < 4 ? names[t] : "unknown";
}

xai_status xai_optim_init(xai_optim *o, const xai_optim_cfg *c, size_t n)
{
    memset(o, 0, sizeof *o);
    if ((unsigned)c->type > XAI_OPTIM_ADAMW) return xai_fail(XAI_EINVAL, "optimiser: unknown type %d", (int)c->type);
    if (!(c->weight_decay >= 0)) return xai_fail(XAI_EINVAL, "optimiser: weight_decay = %g must be >= 0", c->weight_decay);
    if (c->type == XAI_OPTIM_SGD && !(c->momentum >= 0 && c->momentum < 1))
        return xai_fail(XAI_EINVAL, "optimiser: momentum = %g must be in [0, 1)", c->momentum);
    if (c->type == XAI_OPTIM_SGD && c->nesterov && c->momentum <= 0)
        return xai_fail(XAI_EINVAL, "optimiser: nesterov needs momentum > 0");
    if (c->type != XAI_OPTIM_SGD &&
        !(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && c->eps > 0))
        return xai_fail(XAI_EINVAL, "optimiser: adam needs beta1, beta2 in [0, 1) and eps > 0 (got %g, %g, %g)",
                        c->beta1, c->beta2, c->eps);
    o->cfg = *c;
    o->n = n;
    o->m1 = xai_calloc(n ? n : 1, sizeof(float));
    o->m2 = c->type == XAI_OPTIM_SGD ? NULL : xai_calloc(n ? n : 1, sizeof(float));
    o->decay = xai_malloc(n ? n : 1);
    memset(o->decay, 1, n);
    return XAI_OK;
}

void xai_optim_decay_model(xai_optim *o, const xai_model *m, int all)
{
    XAI_CHECK(o->n == m->nparams);
    for (int i = 0; i < m->nlayers; i++) {
        const xai_layer *l = &m->layers[i];
        int wdecay = all || l->type == XAI_CONV2D || l->type == XAI_LINEAR;
        if (l->nw) memset(o->decay + (l->w - m->params), wdecay, l->nw);
        if (l->nb) memset(o->decay + (l->b - m->params), all, l->nb);
    }
}

void xai_optim_free(xai_optim *o)
{
    free(o->m1);
    free(o->m2);
    free(o->decay);
    memset(o, 0, sizeof *o);
}

void xai_optim_step(xai_optim *o, float *params, const float *grads, double lr)
{
    const xai_optim_cfg *c = &o->cfg;
    const ptrdiff_t n = (ptrdiff_t)o->n;
    const float flr = (float)lr, wd = (float)c->weight_decay;
    o->t++;
    if (c->type == XAI_OPTIM_SGD) {
        /* PyTorch's SGD with dampening 0: buf = mu*buf + g; step = nesterov ? g + mu*buf : buf. */
        const float mu = (float)c->momentum;
        const int nest = c->nesterov;
#pragma omp parallel for schedule(static)
        for (ptrdiff_t i = 0; i < n; i++) {
            float g = grads[i];
            if (o->decay[i]) g += wd * params[i];
            float d = g;
            if (mu > 0) {
                float b = mu * o->m1[i] + g;
                o->m1[i] = b;
                d = nest ? g + mu * b : b;
            }
            params[i] -= flr * d;
        }
        return;
    }
    /* Adam / AdamW with bias correction folded into the step size:
     * p -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m/(1-b1^t), v_hat = v/(1-b2^t). */
    const float b1 = (float)c->beta1, b2 = (float)c->beta2, eps = (float)c->eps;
    const float bc1 = (float)(1.0 - pow(c->beta1, (double)o->t));
    const float bc2s = (float)sqrt(1.0 - pow(c->beta2, (double)o->t));
    const float step = flr / bc1;
    const int decoupled = c->type == XAI_OPTIM_ADAMW;
    const float shrink = 1.0f - flr * wd;
#pragma omp parallel for schedule(static)
    for (ptrdiff_t i = 0; i < n; i++) {
        float g = grads[i], p = params[i];
        if (o->decay[i]) {
            if (decoupled) p *= shrink;
            else g += wd * p;
        }
        float m = b1 * o->m1[i] + (1 - b1) * g;
        float v = b2 * o->m2[i] + (1 - b2) * g * g;
        o->m1[i] = m;
        o->m2[i] = v;
        params[i] = p - step * m / (sqrtf(v) / bc2s + eps);
    }
}

/* ---------------------------------------------------------------- schedules */

static double cos_interp(double from, double to, double frac)
{
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    return to + (from - to) * 0.5 * (1 + cos(M_PI * frac));
}

double xai_sched_lr(const xai_sched *s, int64_t step)
{
    const double spe = s->steps_per_epoch > 0 ? (double)s->steps_per_epoch : 1;
    int64_t warm = (int64_t)llround(s->warmup_epochs * spe);
    if (warm > s->total_steps) warm = s->total_steps;
    /* The peak is the last step of the warm-up (step 0 without one). */
    const int64_t peak = warm > 0 ? warm - 1 : 0;
    /* Annealing progress; a warm-up as long as the run (e.g. --epochs 1) leaves none. */
    const double down = s->total_steps - 1 > peak ? (double)(step - peak) / (double)(s->total_steps - 1 - peak) : 0;
    switch (s->type) {
    case XAI_SCHED_CONSTANT: return s->lr;
    case XAI_SCHED_STEP: {
        int64_t epoch = step / (s->steps_per_epoch > 0 ? s->steps_per_epoch : 1);
        double lr = s->lr;
        for (int i = 0; i < s->nmilestones; i++)
            if (epoch >= s->milestones[i]) lr *= s->gamma;
        return lr;
    }
    case XAI_SCHED_COSINE:
        /* Linear warm-up lr*(t+1)/warm, then a half cosine from lr to min_lr at the last step. */
        if (step < peak) return s->lr * (double)(step + 1) / (double)warm;
        return cos_interp(s->lr, s->min_lr, down);
    case XAI_SCHED_ONECYCLE: {
        /* PyTorch's OneCycleLR (cosine annealing, two phases, no momentum cycling). */
        double start = s->lr / s->div_factor, end = start / s->final_div_factor;
        if (step < peak) return cos_interp(start, s->lr, (double)step / (double)peak);
        return cos_interp(s->lr, end, down);
    }
    }
    return s->lr;
}
