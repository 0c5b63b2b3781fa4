/* train_cfg.c: reads the [train] section of an experiment config into xai_train_cfg.
 * Every value is range-checked and every unknown key is an error naming its line. */
#include "trainers/trainers.h"

#include <stdlib.h>
#include <string.h>

static const char *const train_keys[] = {
    "epochs",        "batch",         "optimizer",    "lr",         "momentum",         "nesterov",   "beta1",
    "beta2",         "eps",           "weight_decay", "decay_bn_bias", "schedule",      "warmup_epochs", "min_lr",
    "div_factor",    "final_div_factor", "gamma",     "step_epochs", "milestones",      "label_smoothing",
    "grad_clip",     "val_fraction",  "augment",      "crop_pad",   "min_scale",        "flip",       "select",
    "seeds", /* models per dataset: read by `xai reproduce` (each run of xai train trains one) */
    NULL};

static xai_status bad(const xai_config *c, const char *key, const char *expect)
{
    const xai_config_entry *e = xai_config_find(c, "train", key);
    return xai_fail(XAI_EINVAL, "%s:%d: [train] %s = '%s': expected %s", c->path, e ? e->line : 0, key,
                    e ? e->value : "", expect);
}

/* Picks one of `names` (NULL-terminated); returns the index or -1. */
static int pick(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) return i;
    return -1;
}

static xai_status get_int(const xai_config *c, const char *key, long def, long lo, long hi, int *out)
{
    long v;
    XAI_TRY(xai_config_int(c, "train", key, def, &v));
    if (v < lo || v > hi) {
        char want[96];
        snprintf(want, sizeof want, "an integer in [%ld, %ld]", lo, hi);
        return bad(c, key, want);
    }
    *out = (int)v;
    return XAI_OK;
}

/* lo_open/hi_open: whether the bounds are excluded. */
static xai_status get_num(const xai_config *c, const char *key, double def, double lo, int lo_open, double hi,
                          int hi_open, double *out)
{
    double v;
    XAI_TRY(xai_config_float(c, "train", key, def, &v));
    if (!(lo_open ? v > lo : v >= lo) || !(hi_open ? v < hi : v <= hi)) {
        char want[96];
        snprintf(want, sizeof want, "a number in %s%g, %g%s", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
        return bad(c, key, want);
    }
    *out = v;
    return XAI_OK;
}

/* [train] milestones = "10, 15, 20": ascending positive epochs (the only list in [train]). */
static xai_status parse_milestones(const xai_config *c, xai_sched *s)
{
    const char *p = xai_config_str(c, "train", "milestones", NULL);
    if (!p) return XAI_OK;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || s->nmilestones == XAI_SCHED_MAX_MILESTONES ||
            (s->nmilestones && v <= s->milestones[s->nmilestones - 1]))
            return bad(c, "milestones", "ascending positive epochs separated by commas (at most 16)");
        s->milestones[s->nmilestones++] = (int)v;
        p = end;
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
    }
    return XAI_OK;
}

/* Every key of [train] must be known: a typo must not silently mean a default. */
static xai_status check_keys(const xai_config *c)
{
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].section, "train") != 0) continue;
        if (pick(c->e[i].key, train_keys) < 0)
            return xai_fail(XAI_EINVAL, "%s:%d: unknown key '%s' in [train] (see trainers/README.md for the keys)",
                            c->path, c->e[i].line, c->e[i].key);
    }
    return XAI_OK;
}

xai_status xai_train_cfg_parse(xai_train_cfg *t, const xai_config *c)
{
    memset(t, 0, sizeof *t);
    XAI_TRY(check_keys(c));
    long seed;
    XAI_TRY(xai_config_int(c, "experiment", "seed", 1, &seed));
    if (seed < 0) return xai_fail(XAI_EINVAL, "%s: [experiment] seed = %ld must be >= 0", c->path, seed);
    t->seed = (uint64_t)seed;

    XAI_TRY(get_int(c, "epochs", 10, 1, 100000, &t->epochs));
    XAI_TRY(get_int(c, "batch", 128, 1, 65536, &t->batch));

    static const char *const optims[] = {"sgd", "adam", "adamw", NULL};
    int o = pick(xai_config_str(c, "train", "optimizer", "sgd"), optims);
    if (o < 0) return bad(c, "optimizer", "sgd, adam or adamw");
    xai_optim_cfg *oc = &t->optim;
    oc->type = (xai_optim_type)o;
    double lr;
    XAI_TRY(get_num(c, "lr", o == XAI_OPTIM_SGD ? 0.1 : 1e-3, 0, 1, 1e6, 0, &lr));
    XAI_TRY(get_num(c, "momentum", 0.9, 0, 0, 1, 1, &oc->momentum));
    XAI_TRY(get_int(c, "nesterov", 0, 0, 1, &oc->nesterov));
    if (oc->nesterov && oc->momentum <= 0) return bad(c, "nesterov", "0 when momentum = 0");
    XAI_TRY(get_num(c, "beta1", 0.9, 0, 0, 1, 1, &oc->beta1));
    XAI_TRY(get_num(c, "beta2", 0.999, 0, 0, 1, 1, &oc->beta2));
    XAI_TRY(get_num(c, "eps", 1e-8, 0, 1, 1, 0, &oc->eps));
    XAI_TRY(get_num(c, "weight_decay", 0, 0, 0, 1, 0, &oc->weight_decay));
    XAI_TRY(get_int(c, "decay_bn_bias", 0, 0, 1, &t->decay_all));

    static const char *const scheds[] = {"constant", "step", "cosine", "onecycle", NULL};
    int sc = pick(xai_config_str(c, "train", "schedule", "constant"), scheds);
    if (sc < 0) return bad(c, "schedule", "constant, step, cosine or onecycle");
    xai_sched *s = &t->sched;
    s->type = (xai_sched_type)sc;
    s->lr = lr;
    XAI_TRY(get_num(c, "warmup_epochs", 0, 0, 0, t->epochs, 0, &s->warmup_epochs));
    XAI_TRY(get_num(c, "min_lr", 0, 0, 0, lr, 0, &s->min_lr));
    XAI_TRY(get_num(c, "div_factor", 25, 1, 0, 1e9, 0, &s->div_factor));
    XAI_TRY(get_num(c, "final_div_factor", 1e4, 1, 0, 1e12, 0, &s->final_div_factor));
    XAI_TRY(get_num(c, "gamma", 0.1, 0, 1, 1e30, 0, &s->gamma));
    XAI_TRY(get_int(c, "step_epochs", 0, 0, 100000, &t->step_epochs));
    XAI_TRY(parse_milestones(c, s));
    if (s->type == XAI_SCHED_STEP && !s->nmilestones && !t->step_epochs)
        return xai_fail(XAI_EINVAL, "%s: [train] schedule = step needs milestones = E1,E2,... or step_epochs = N",
                        c->path);
    if (s->type == XAI_SCHED_ONECYCLE && s->warmup_epochs <= 0)
        return xai_fail(XAI_EINVAL, "%s: [train] schedule = onecycle needs warmup_epochs > 0 (the rising phase)",
                        c->path);

    XAI_TRY(get_num(c, "label_smoothing", 0, 0, 0, 1, 1, &t->label_smoothing));
    XAI_TRY(get_num(c, "grad_clip", 0, 0, 0, 1e30, 0, &t->grad_clip));
    XAI_TRY(get_num(c, "val_fraction", 0.1, 0, 0, 0.9, 0, &t->val_fraction));

    static const char *const augs[] = {"none", "crop", "rrc", NULL};
    int a = pick(xai_config_str(c, "train", "augment", "none"), augs);
    if (a < 0) return bad(c, "augment", "none, crop or rrc");
    t->aug.type = (xai_aug_type)a;
    XAI_TRY(get_int(c, "crop_pad", 4, 0, 64, &t->aug.pad));
    XAI_TRY(get_num(c, "min_scale", 0.25, 0, 1, 1, 0, &t->aug.min_scale));
    XAI_TRY(get_int(c, "flip", 0, 0, 1, &t->aug.flip));

    static const char *const sels[] = {"last", "best", NULL};
    int sel = pick(xai_config_str(c, "train", "select", "best"), sels);
    if (sel < 0) return bad(c, "select", "best (highest val accuracy) or last");
    t->select_best = sel;
    if (t->select_best && t->val_fraction <= 0)
        return xai_fail(XAI_EINVAL, "%s: [train] select = best needs a validation split (val_fraction > 0)", c->path);
    return XAI_OK;
}
