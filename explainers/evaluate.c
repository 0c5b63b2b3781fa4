/* evaluate.c: the evaluation run of `xai evaluate`: reads the attribution file through attrfile's API,
 * checks the model, runs one function per metric family and hands the results to metricsfile.c. */
#include "explainers/evaluate.h"
#include "explainers/explain.h"
#include "explainers/metricsfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void xai_eval_defaults(xai_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    xai_flip_defaults(&o->flip);
    o->batch = 256;
    o->sanity_n = 100;
    o->ig_n = 100;
    for (int s = 4; s <= 256; s *= 2) o->ig_steps[o->nig_steps++] = s;
    for (int r = 0; r < XAI_QUAD_RULES; r++) o->ig_rules[o->nig_rules++] = r;
}

/* The item of a comma list at p: its length in *len; the next item's start, or NULL after the last. */
static const char *list_item(const char *p, size_t *len)
{
    const char *e = strchr(p, ',');
    *len = e ? (size_t)(e - p) : strlen(p);
    return e ? e + 1 : NULL;
}

int xai_eval_parse_list(const char *list, int *out, int cap, int rules)
{
    int n = 0;
    for (const char *p = list, *next; p; p = next) {
        size_t len;
        next = list_item(p, &len);
        char t[64];
        if (!len) continue; /* empty items are skipped, as strtok did */
        if (n == cap || len >= sizeof t) return -1;
        snprintf(t, sizeof t, "%.*s", (int)len, p);
        char *end;
        long x = rules ? xai_quad_rule_from_name(t) : strtol(t, &end, 10);
        if (rules ? x < 0 : (*end || x < 1 || x > 100000)) return -1;
        out[n++] = (int)x;
    }
    return n;
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list, *next; p; p = next) {
        size_t len;
        next = list_item(p, &len);
        if (len == n && !strncmp(p, name, n)) return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- input */

/* The attribution file as scored: the first n images of every selected method. */
typedef struct {
    const char *path;
    xai_attr_header h; /* the whole file; its arrays' first n rows are the images scored */
    int n, nmethods;
    char **names, **kinds; /* (nmethods) */
    float **attr;          /* nmethods x (n, C, H, W) */
} eval_input;

static void input_free(eval_input *in)
{
    for (int i = 0; i < in->nmethods; i++) {
        free(in->names[i]);
        free(in->kinds[i]);
        if (in->attr) free(in->attr[i]);
    }
    free(in->names);
    free(in->kinds);
    free(in->attr);
    xai_attr_header_free(&in->h);
    memset(in, 0, sizeof *in);
}

/* Methods in the file's order, filtered by the comma list; every listed one must exist. */
static xai_status select_methods(eval_input *in, const char *methods)
{
    const xai_attr_header *h = &in->h;
    in->names = xai_calloc(h->nmethods ? h->nmethods : 1, sizeof *in->names);
    in->kinds = xai_calloc(h->nmethods ? h->nmethods : 1, sizeof *in->kinds);
    for (int i = 0; i < h->nmethods; i++)
        if (!methods || in_list(methods, h->methods[i])) in->names[in->nmethods++] = xai_strdup(h->methods[i]);
    for (const char *p = methods, *next; p && *p; p = next) {
        size_t len;
        next = list_item(p, &len);
        int found = 0;
        for (int i = 0; i < in->nmethods; i++) found |= strlen(in->names[i]) == len && !strncmp(in->names[i], p, len);
        if (!found)
            return xai_fail(XAI_ENOTFOUND, "%s: no method '%.*s' under /attributions (see h5ls %s/attributions)",
                            in->path, (int)len, p, in->path);
        if (!next) break;
    }
    if (in->nmethods == 0) return xai_fail(XAI_EFORMAT, "%s: /attributions holds no methods", in->path);
    return XAI_OK;
}

static xai_status read_input(eval_input *in, const char *path, int nwant, const char *methods)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    XAI_TRY(xai_attr_read_header(&in->h, path));
    in->n = nwant > 0 && nwant < in->h.n ? nwant : in->h.n;
    XAI_TRY(select_methods(in, methods));
    const size_t size = xai_shape_size(in->h.shape);
    in->attr = xai_calloc(in->nmethods, sizeof *in->attr);
    for (int i = 0; i < in->nmethods; i++) {
        xai_attr_method_info info;
        XAI_TRY(xai_attr_read_method_info(path, in->names[i], &info));
        in->kinds[i] = xai_strdup(info.kind);
        in->attr[i] = xai_malloc((size_t)in->h.n * size * sizeof(float));
        XAI_TRY(xai_attr_read_method(path, in->names[i], in->attr[i], &in->h));
        /* Only the first n rows are scored. */
        float *shrunk = realloc(in->attr[i], (size_t)in->n * size * sizeof(float));
        if (shrunk) in->attr[i] = shrunk;
    }
    return XAI_OK;
}

/* The model must fit the file and be the one that was explained: compare target logits. */
static xai_status check_model(const eval_input *in, xai_model *m, const char *model_path, float *fx)
{
    const xai_attr_header *h = &in->h;
    const int K = m->nclasses;
    if (h->shape.c != m->in.c || h->shape.h != m->in.h || h->shape.w != m->in.w || h->nclasses != K)
        return xai_fail(XAI_EFORMAT, "%s: inputs %dx%dx%d with %d classes do not fit the model %s (%dx%dx%d, %d classes)",
                        in->path, h->shape.c, h->shape.h, h->shape.w, h->nclasses, model_path, m->in.c, m->in.h,
                        m->in.w, K);
    for (int i = 0; i < in->n; i++)
        if (h->targets[i] < 0 || h->targets[i] >= K)
            return xai_fail(XAI_EFORMAT, "%s: /targets[%d] = %d, expected 0..%d", in->path, i, h->targets[i], K - 1);
    xai_model_target_logits(m, h->inputs, h->targets, in->n, fx);
    for (int i = 0; i < in->n; i++) {
        float l = h->logits[(size_t)i * K + h->targets[i]];
        if (!(fabsf(fx[i] - l) <= 1e-3f * (1 + fabsf(l))))
            return xai_fail(XAI_EINVAL,
                            "%s: image %d has target logit %g under %s but %g in the attribution file: explain and "
                            "evaluate with the same model",
                            in->path, i, fx[i], model_path, l);
    }
    return XAI_OK;
}

/* ------------------------------------------------------ metric families */

/* Pure inference speed of the same model on full batches of the same images, for the cost
 * comparison (best of three timed passes after a warm-up one). */
static double infer_rate(xai_model *m, const float *x, int n)
{
    size_t size = xai_shape_size(m->in);
    int B = m->max_batch;
    for (int r = 0; r < B; r++) memcpy(m->acts[0] + (size_t)r * size, x + (size_t)(r % n) * size, size * sizeof *x);
    xai_model_forward(m, m->acts[0], B);
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = xai_now();
        xai_model_forward(m, m->acts[0], B);
        double t = xai_now() - t0;
        if (t < best) best = t;
    }
    return B / (best > 0 ? best : 1e-9);
}

/* Pixel flipping: the curves of every method and the control, and their per-image scores. */
static xai_status eval_pixelflip(xai_metrics *r, const eval_input *in, xai_model *m, const xai_flip_opts *o)
{
    const xai_attr_header *h = &in->h;
    r->inference_rate = infer_rate(m, h->inputs, in->n);
    XAI_TRY(xai_pixelflip(&r->flip_r, m, h->inputs, h->targets, h->indices, in->n, (const float *const *)in->attr,
                          in->nmethods, o));
    xai_curve_scores_of(&r->random, &r->flip_r.random, &r->flip_r);
    r->morf = xai_calloc(in->nmethods, sizeof *r->morf);
    r->lerf = xai_calloc(in->nmethods, sizeof *r->lerf);
    for (int i = 0; i < in->nmethods; i++) {
        xai_curve_scores_of(&r->morf[i], &r->flip_r.morf[i], &r->flip_r);
        xai_curve_scores_of(&r->lerf[i], &r->flip_r.lerf[i], &r->flip_r);
    }
    return XAI_OK;
}

/* IG is complete against its own baseline: f(x') from the file, else the baseline rebuilt
 * (image ids = /indices) and run through the net. */
static xai_status ig_reference(xai_completeness_result *c, const eval_input *in, int mi, xai_model *m)
{
    const xai_attr_header *h = &in->h;
    const int n = in->n;
    const size_t size = xai_shape_size(h->shape);
    c->fref = xai_malloc((size_t)n * sizeof *c->fref);
    double *fb = xai_malloc((size_t)h->n * sizeof *fb);
    xai_status s = xai_attr_read_vector(in->path, "ig/f_baseline", in->names[mi], fb, h);
    if (s == XAI_OK) {
        for (int i = 0; i < n; i++) c->fref[i] = (float)fb[i];
        snprintf(c->reference, sizeof c->reference, "f(x) - f(x'), f(x') from /ig/f_baseline/%s", in->names[mi]);
    }
    free(fb);
    if (s != XAI_ENOTFOUND) return s;
    xai_method meth;
    XAI_TRY(xai_attr_read_method_spec(&meth, in->path, in->names[mi]));
    float *xb = xai_malloc((size_t)n * size * sizeof *xb), *scr = xai_malloc(size * sizeof *scr);
    for (int i = 0; i < n; i++)
        xai_ig_baseline(xb + (size_t)i * size, h->inputs + (size_t)i * size, h->shape, &meth.ig, m->mean, m->std,
                        (uint64_t)h->indices[i], scr);
    xai_model_target_logits(m, xb, h->targets, n, c->fref);
    free(xb);
    free(scr);
    snprintf(c->reference, sizeof c->reference, "f(x) - f(x'), x' the '%s' baseline rebuilt",
             xai_baseline_name(meth.ig.baseline));
    return XAI_OK;
}

/* Relevance lost between each layer's output and its input, as a share of f(x), from
 * /lrp/layer_sums when the file has it. */
static void lrp_layer_share(xai_completeness_result *c, const eval_input *in, int mi)
{
    double *ls;
    int cols;
    if (xai_attr_read_matrix(in->path, "lrp/layer_sums", in->names[mi], &ls, &cols, &in->h) != XAI_OK) return;
    if (cols >= 2) {
        c->lrp_cols = cols;
        c->layer_share = xai_calloc(cols - 1, sizeof *c->layer_share);
        for (int j = 0; j < cols - 1; j++) {
            double acc = 0;
            for (int i = 0; i < in->n; i++) {
                const double *row = ls + (size_t)i * cols;
                acc += row[cols - 1] != 0 ? (row[j + 1] - row[j]) / row[cols - 1] : 0;
            }
            c->layer_share[j] = acc / in->n;
        }
    }
    free(ls);
}

/* Completeness (IG) or conservation (every other method) of each method. */
static xai_status eval_completeness(xai_metrics *r, const eval_input *in, xai_model *m)
{
    const size_t size = xai_shape_size(in->h.shape);
    const int n = in->n;
    r->completeness = xai_calloc(in->nmethods, sizeof *r->completeness);
    for (int i = 0; i < in->nmethods; i++) {
        xai_completeness_result *c = &r->completeness[i];
        c->rel = xai_malloc((size_t)n * sizeof *c->rel);
        c->abs_err = xai_malloc((size_t)n * sizeof *c->abs_err);
        c->sum = xai_malloc((size_t)n * sizeof *c->sum);
        if (!strcmp(in->kinds[i], "ig")) XAI_TRY(ig_reference(c, in, i, m));
        else snprintf(c->reference, sizeof c->reference, "f(x) (conservation)");
        xai_completeness(c->rel, c->abs_err, c->sum, in->attr[i], size, r->fx, c->fref, n);
        c->lrp = !strcmp(in->kinds[i], "lrp");
        if (c->lrp) lrp_layer_share(c, in, i);
    }
    return XAI_OK;
}

/* Model-parameter randomisation of every method on the first n images. */
static xai_status eval_sanity(xai_metrics *r, const eval_input *in, xai_model *m, int n, uint64_t seed)
{
    r->sanity = xai_calloc(in->nmethods, sizeof *r->sanity);
    r->sanity_seed = seed;
    for (int i = 0; i < in->nmethods; i++) {
        xai_method meth;
        XAI_TRY(xai_attr_read_method_spec(&meth, in->path, in->names[i]));
        XAI_TRY(xai_sanity_cascade(&r->sanity[i], m, in->h.inputs, in->h.targets, n, xai_method_attr_fn, &meth, seed));
    }
    return XAI_OK;
}

/* IG recomputed with every rule and step count on the first n images; rel_error against f(x)
 * and f(x') evaluated here. */
static xai_status ig_curve_of(xai_ig_curve *c, const char *name, const xai_method *meth, const eval_input *in,
                              xai_model *m, int n, const xai_eval_opts *o)
{
    const xai_attr_header *h = &in->h;
    const size_t size = xai_shape_size(h->shape);
    const int T = o->nig_steps, R = o->nig_rules;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->baseline, sizeof c->baseline, "%s", xai_baseline_name(meth->ig.baseline));
    c->n = n, c->nsteps = T, c->nrules = R;
    c->steps = xai_malloc(T * sizeof *c->steps);
    c->rules = xai_malloc(R * sizeof *c->rules);
    c->rel = xai_malloc((size_t)R * T * n * sizeof *c->rel);
    c->median = xai_malloc((size_t)R * T * sizeof *c->median);
    c->p90 = xai_malloc((size_t)R * T * sizeof *c->p90);
    c->mean = xai_malloc((size_t)R * T * sizeof *c->mean);
    for (int s = 0; s < T; s++) c->steps[s] = o->ig_steps[s];
    for (int q = 0; q < R; q++) c->rules[q] = o->ig_rules[q];
    float *xb = xai_malloc((size_t)n * size * sizeof *xb), *attr = xai_malloc((size_t)n * size * sizeof *attr);
    float *scr = xai_malloc(size * sizeof *scr), *fx = xai_malloc(n * sizeof *fx), *fb = xai_malloc(n * sizeof *fb);
    for (int i = 0; i < n; i++)
        xai_ig_baseline(xb + (size_t)i * size, h->inputs + (size_t)i * size, h->shape, &meth->ig, m->mean, m->std,
                        (uint64_t)h->indices[i], scr);
    xai_model_target_logits(m, h->inputs, h->targets, n, fx);
    xai_model_target_logits(m, xb, h->targets, n, fb);
    xai_status s = XAI_OK;
    xai_progress p;
    xai_progress_start(&p, "IG step curve", (double)R * T, "run");
    for (int k = 0; k < R * T; k++) {
        xai_ig_opts io = meth->ig;
        io.rule = o->ig_rules[k / T];
        io.steps = o->ig_steps[k % T];
        if ((s = xai_ig(m, &io, h->inputs, xb, h->targets, h->indices, n, attr, NULL, NULL)) != XAI_OK) break;
        double *rel = c->rel + (size_t)k * n;
        xai_completeness(rel, NULL, NULL, attr, size, fx, fb, n);
        xai_stats t;
        xai_stats_of(&t, rel, n);
        c->median[k] = t.median, c->p90[k] = t.p90, c->mean[k] = t.mean;
        xai_progress_update(&p, k + 1);
    }
    xai_progress_end(&p, NULL);
    free(xb);
    free(attr);
    free(scr);
    free(fx);
    free(fb);
    return s;
}

/* The IG step curve of each IG method of the file, or of the default `ig` when there is none. */
static xai_status eval_ig_curves(xai_metrics *r, const eval_input *in, xai_model *m, const xai_eval_opts *o)
{
    const int n = o->ig_n < in->n ? o->ig_n : in->n;
    r->ig = xai_calloc(in->nmethods + 1, sizeof *r->ig);
    for (int i = 0; i < in->nmethods; i++) {
        if (strcmp(in->kinds[i], "ig") != 0) continue;
        xai_method meth;
        XAI_TRY(xai_attr_read_method_spec(&meth, in->path, in->names[i]));
        r->nig++;
        XAI_TRY(ig_curve_of(&r->ig[r->nig - 1], in->names[i], &meth, in, m, n, o));
    }
    if (r->nig) return XAI_OK;
    xai_method meth;
    XAI_TRY(xai_method_parse(&meth, "ig", NULL));
    r->nig = 1;
    return ig_curve_of(&r->ig[0], "ig", &meth, in, m, n, o);
}

/* ------------------------------------------------------------- printing */

static void print_flip(FILE *log, const xai_metrics *r)
{
    const xai_flip_result *f = &r->flip_r;
    const int n = r->n;
    double rate = f->forward_images / (f->seconds > 0 ? f->seconds : 1e-9), ref = r->inference_rate;
    fprintf(log, "pixel flipping: %d images, %d features (patch %d), %d steps of %d, perturbation %s\n", n,
            f->nfeatures, r->flip.patch, f->nsteps, f->per_step, xai_perturb_name(r->flip.perturb));
    fprintf(log,
            "  evaluation: %.0f images through the net in %.2f s, %.0f img/s; plain inference of the same\n"
            "  model and batch (%d): %.0f img/s, so the evaluation runs at %.0f%% of inference speed\n",
            f->forward_images, f->seconds, rate, r->batch, ref, ref > 0 ? 100 * rate / ref : 0);
    fprintf(log, "  %-28s %18s %18s %18s %8s %12s\n", "method (target logit)", "AOPC MoRF (se)", "AOPC LeRF (se)",
            "ABPC (se)", "z vs rnd", "compl. med");
    xai_stats t, am, al, ab, dz, cr;
    xai_stats_of(&t, r->random.aopc[0], n);
    fprintf(log, "  %-28s %10.4f (%.4f) %18s %18s %8s %12s\n", "random control", t.mean, t.se, "", "", "", "");
    double *v = xai_malloc((size_t)n * sizeof *v);
    for (int i = 0; i < r->nmethods; i++) {
        const xai_curve_scores *ms = &r->morf[i], *ls = &r->lerf[i];
        xai_stats_of(&am, ms->aopc[0], n);
        xai_stats_of(&al, ls->aopc[0], n);
        for (int j = 0; j < n; j++) v[j] = ls->auc[0][j] - ms->auc[0][j];
        xai_stats_of(&ab, v, n);
        for (int j = 0; j < n; j++) v[j] = ms->aopc[0][j] - r->random.aopc[0][j];
        xai_stats_of(&dz, v, n);
        xai_stats_of(&cr, r->completeness[i].rel, n);
        fprintf(log, "  %-28s %10.4f (%.4f) %10.4f (%.4f) %10.4f (%.4f) %8.1f %12.3g\n", r->methods[i], am.mean,
                am.se, al.mean, al.se, ab.mean, ab.se, dz.mean / dz.se, cr.median);
    }
    free(v);
}

static void print_sanity(FILE *log, const xai_metrics *r, const xai_model *m)
{
    for (int i = 0; r->sanity && i < r->nmethods; i++) {
        const xai_sanity_result *s = &r->sanity[i];
        const int S = s->nsteps;
        double *mean = xai_malloc(3 * S * sizeof *mean), *se = xai_malloc(3 * S * sizeof *se);
        xai_sanity_means(s, mean, se);
        fprintf(log, "randomisation test %s (%d images), means of: spearman, spearman |.|, ssim |.|\n", r->methods[i],
                s->n);
        for (int k = 0; k < S; k++) {
            char what[64] = "original model";
            if (k > 0)
                snprintf(what, sizeof what, "down to layer %d (%s)", s->layer[k],
                         xai_layer_type_name(m->layers[s->layer[k]].type));
            fprintf(log, "  %-28s %7.3f %7.3f %7.3f\n", what, mean[k], mean[S + k], mean[2 * S + k]);
        }
        free(mean);
        free(se);
    }
}

static void print_ig(FILE *log, const xai_metrics *r)
{
    for (int i = 0; i < r->nig; i++) {
        const xai_ig_curve *c = &r->ig[i];
        fprintf(log,
                "IG completeness, median |sum(attr) - (f(x) - f(x'))| / |f(x) - f(x')| in %% (%s, baseline %s, %d "
                "images)\n",
                c->name, c->baseline, c->n);
        fprintf(log, "  %6s", "steps");
        for (int q = 0; q < c->nrules; q++) fprintf(log, " %10s", xai_quad_rule_name(c->rules[q]));
        fputc('\n', log);
        for (int s = 0; s < c->nsteps; s++) {
            fprintf(log, "  %6d", (int)c->steps[s]);
            for (int q = 0; q < c->nrules; q++) fprintf(log, " %10.4f", 100 * c->median[q * c->nsteps + s]);
            fputc('\n', log);
        }
    }
}

/* ------------------------------------------------------------- the run */

static xai_status write_summary(const xai_eval_opts *o, const char *metrics, FILE *log)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (!mf) return xai_fail(XAI_ENOMEM, "summary: no memory");
    xai_status s = xai_metrics_summary_csv(mf, metrics, o->label ? o->label : o->attributions, 1);
    fclose(mf);
    if (s != XAI_OK || (s = xai_write_file_atomic(o->summary, buf, len)) != XAI_OK) goto done;
    fprintf(log, "wrote %s\n", o->summary);
done:
    free(buf);
    return s;
}

/* metrics.h5 beside the attribution file unless told. */
static char *output_path(const xai_eval_opts *o)
{
    if (o->out) return xai_strdup(o->out);
    const char *slash = strrchr(o->attributions, '/');
    size_t dl = slash ? (size_t)(slash - o->attributions) + 1 : 0;
    char *out = xai_malloc(dl + 16);
    memcpy(out, o->attributions, dl);
    strcpy(out + dl, "metrics.h5");
    return out;
}

/* Every metric family into r, in the order that shares the model's state as before. */
static xai_status run_families(xai_metrics *r, const eval_input *in, xai_model *m, const xai_eval_opts *o)
{
    XAI_TRY(eval_pixelflip(r, in, m, &o->flip));
    XAI_TRY(eval_completeness(r, in, m));
    if (o->sanity)
        XAI_TRY(eval_sanity(r, in, m, o->sanity_n < in->n ? o->sanity_n : in->n, o->flip.seed));
    if (o->ig_curve) XAI_TRY(eval_ig_curves(r, in, m, o));
    return XAI_OK;
}

xai_status xai_evaluate(const xai_eval_opts *o, FILE *log)
{
    eval_input in = {0};
    xai_model *m = NULL;
    xai_metrics_writer *w = NULL;
    xai_metrics r = {0};
    char *out = output_path(o);
    xai_status s;
    if ((s = read_input(&in, o->attributions, o->n, o->methods)) != XAI_OK) goto done;
    if ((s = xai_model_load(&m, o->model, o->batch)) != XAI_OK) goto done;
    xai_eval_begin(m, 1); /* our own model: nothing to restore */
    r = (xai_metrics){.model_path = o->model, .attributions_path = o->attributions, .model_sha256 = in.h.model_sha256,
                      .flip = o->flip, .batch = o->batch, .n = in.n, .nmethods = in.nmethods, .methods = in.names,
                      .kinds = in.kinds, .index = in.h.indices, .target = in.h.targets, .label = in.h.labels};
    r.fx = xai_malloc((size_t)in.n * sizeof *r.fx);
    if ((s = check_model(&in, m, o->model, r.fx)) != XAI_OK) goto done;
    /* Fail on an unwritable output before the long work. */
    if ((s = xai_metricsfile_create(&w, out)) != XAI_OK) goto done;
    if ((s = run_families(&r, &in, m, o)) != XAI_OK) goto done;
    s = xai_metricsfile_write(w, &r);
    w = NULL;
    if (s != XAI_OK) goto done;
    print_flip(log, &r);
    print_sanity(log, &r, m);
    print_ig(log, &r);
    fprintf(log, "wrote %s\n", out);
    if (o->summary) s = write_summary(o, out, log);
done:
    xai_metricsfile_abort(w);
    xai_metrics_free(&r);
    xai_model_free(m);
    input_free(&in);
    free(out);
    return s;
}
