/* evaluate.c: the evaluation run of `xai evaluate`: reads the attribution file through attrfile's API,
 * checks the model, runs one function per metric family and hands the results to metricsfile.c. */
#include "core/mpi.h"
#include "explainers/evaluate.h"
#include "explainers/explain.h"
#include "explainers/ig_exact.h"
#include "explainers/metricsfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void xai_eval_defaults(xai_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    xai_flip_defaults(&o->flip);
    xai_faith_defaults(&o->faith);
    o->batch = 256;
    o->sanity_n = 100;
    o->ig_n = 100;
    o->ig_check = 1;
    o->ig_exact_n = -1;
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

/* Every name of --ig-curve-methods is an IG method being scored: a typo would otherwise draw no
 * curve, or the default `ig` in its place, without a word. */
static xai_status check_ig_curve_methods(const eval_input *in, const char *list)
{
    for (const char *p = list, *next; p && *p; p = next) {
        size_t len;
        next = list_item(p, &len);
        int found = 0;
        for (int i = 0; i < in->nmethods; i++)
            found |= !strcmp(in->kinds[i], "ig") && strlen(in->names[i]) == len && !strncmp(in->names[i], p, len);
        if (len && !found) {
            xai_sbuf ig = {0};
            for (int i = 0; i < in->nmethods; i++)
                if (!strcmp(in->kinds[i], "ig")) xai_sbuf_printf(&ig, "%s%s", ig.n ? ", " : "", in->names[i]);
            xai_status s = xai_fail(XAI_EINVAL, "--ig-curve-methods %s: '%.*s' is not an IG method scored from %s "
                                    "(its IG methods: %s)", list, (int)len, p, in->path, ig.n ? ig.s : "none");
            xai_sbuf_free(&ig);
            return s;
        }
    }
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

/* ------------------------------------------------- ranks (core/mpi.h) */

/* This rank's images [*b, *e) of n under mpirun; 0 (all images, every rank computing them) with
 * one rank or fewer images than ranks. A family run on the shard and gathered writes the same file. */
static int my_rows(int n, int64_t *b, int64_t *e)
{
    *b = 0, *e = n;
    if (xai_mpi_size() == 1 || n < xai_mpi_size()) return 0;
    xai_mpi_shard(n, b, e);
    return 1;
}

/* *v: this rank's rows [b, e) of (n, cols) values of elem bytes; replaced by all n rows. */
static xai_status gather_rows(void **v, size_t elem, int n, int cols, int64_t b, int64_t e)
{
    if (!*v) return XAI_OK;
    const size_t row = elem * (size_t)cols;
    char *full = xai_malloc((size_t)n * row + 1);
    memcpy(full + (size_t)b * row, *v, (size_t)(e - b) * row);
    free(*v);
    *v = full;
    return xai_mpi_allgather_rows(full, (int64_t)row, n);
}
#define GATHER(p, n, cols, b, e) gather_rows((void **)&(p), sizeof *(p), n, cols, b, e)

/* *v: this rank's columns [b, e) of (rows, n) values of elem bytes; replaced by all n columns. */
static xai_status gather_cols(void **v, size_t elem, int rows, int n, int64_t b, int64_t e)
{
    if (!*v) return XAI_OK;
    const size_t nl = (size_t)(e - b), rb = elem * (size_t)rows;
    char *t = xai_malloc((size_t)n * rb + 1), *full = xai_malloc((size_t)n * rb + 1);
    const char *mine = *v;
    for (size_t r = 0; r < (size_t)rows; r++)
        for (size_t i = 0; i < nl; i++) memcpy(t + ((size_t)b + i) * rb + r * elem, mine + (r * nl + i) * elem, elem);
    xai_status s = xai_mpi_allgather_rows(t, (int64_t)rb, n);
    for (size_t r = 0; r < (size_t)rows; r++)
        for (size_t i = 0; i < (size_t)n; i++) memcpy(full + (r * n + i) * elem, t + i * rb + r * elem, elem);
    free(t);
    free(*v);
    *v = full;
    return s;
}
#define GATHER_COLS(p, rows, n, b, e) gather_cols((void **)&(p), sizeof *(p), rows, n, b, e)

static xai_status gather_curve(xai_flip_curve *c, int n, int k1, int64_t b, int64_t e)
{
    XAI_TRY(GATHER(c->logit, n, k1, b, e));
    return GATHER(c->prob, n, k1, b, e);
}

/* Each method's maps from image b on. */
static const float **attr_from(const eval_input *in, int64_t b)
{
    const float **a = xai_calloc(in->nmethods + 1, sizeof *a);
    for (int i = 0; i < in->nmethods; i++) a[i] = in->attr[i] + (size_t)b * xai_shape_size(in->h.shape);
    return a;
}

/* Pixel flipping over this rank's images, the curves then gathered: every value as one process
 * computes it (an image's curves depend on the image alone). */
static xai_status pixelflip_rows(xai_flip_result *fr, const eval_input *in, xai_model *m, const xai_flip_opts *o)
{
    const xai_attr_header *h = &in->h;
    const size_t size = xai_shape_size(h->shape);
    int64_t b, e;
    const int sharded = my_rows(in->n, &b, &e);
    const float **attr = attr_from(in, b);
    xai_status s = xai_pixelflip(fr, m, h->inputs + (size_t)b * size, h->targets + b, h->indices + b, (int)(e - b),
                                 attr, in->nmethods, o);
    free(attr);
    if (!sharded || (s = xai_mpi_agree(s)) != XAI_OK) return s;
    const int k1 = fr->nsteps + 1;
    XAI_TRY(gather_curve(&fr->random, in->n, k1, b, e));
    for (int a = 0; a < in->nmethods; a++) {
        XAI_TRY(gather_curve(&fr->morf[a], in->n, k1, b, e));
        XAI_TRY(gather_curve(&fr->lerf[a], in->n, k1, b, e));
    }
    fr->n = in->n;
    XAI_TRY(xai_mpi_allreduce_sum_f64(&fr->forward_images, 1));
    return xai_mpi_allreduce_max_f64(&fr->seconds, 1);
}

/* Every per-image array of the faith metrics of one method, gathered. */
static xai_status gather_faith_method(xai_faith_method *f, const xai_faith_result *r, int n, int64_t b, int64_t e)
{
    XAI_TRY(gather_curve(&f->ins, n, r->ins_steps + 1, b, e));
    XAI_TRY(gather_curve(&f->del, n, r->ins_steps + 1, b, e));
    XAI_TRY(gather_curve(&f->road_morf, n, XAI_ROAD_LEVELS + 1, b, e));
    XAI_TRY(gather_curve(&f->road_lerf, n, XAI_ROAD_LEVELS + 1, b, e));
    for (int q = 0; q < 2; q++) {
        XAI_TRY(GATHER(f->ins_auc[q], n, 1, b, e));
        XAI_TRY(GATHER(f->del_auc[q], n, 1, b, e));
        XAI_TRY(GATHER(f->road_morf_auc[q], n, 1, b, e));
        XAI_TRY(GATHER(f->road_lerf_auc[q], n, 1, b, e));
    }
    double **vec[] = {&f->faithcorr, &f->infid, &f->infid_scaled, &f->sparseness, &f->complexity};
    for (size_t k = 0; k < sizeof vec / sizeof *vec; k++) XAI_TRY(GATHER(*vec[k], n, 1, b, e));
    return GATHER_COLS(f->sensn, r->nsensn, n, b, e);
}

/* Costs of the sharded metrics: the slowest rank's time, every rank's passes. */
static xai_status merge_costs(xai_faith_result *r, unsigned which, int n)
{
    double v[4 * XAI_FM_COUNT], t[2 * XAI_FM_COUNT];
    for (int k = 0; k < XAI_FM_COUNT; k++) {
        v[2 * k] = r->cost[k].forwards, v[2 * k + 1] = r->cost[k].explanations;
        t[2 * k] = r->cost[k].seconds, t[2 * k + 1] = r->cost[k].impute_seconds;
    }
    XAI_TRY(xai_mpi_allreduce_sum_f64(v, 2 * XAI_FM_COUNT));
    XAI_TRY(xai_mpi_allreduce_max_f64(t, 2 * XAI_FM_COUNT));
    for (int k = 0; k < XAI_FM_COUNT; k++)
        if (which & (1u << k))
            r->cost[k] = (xai_faith_cost){t[2 * k], v[2 * k], v[2 * k + 1], t[2 * k + 1], n};
    return XAI_OK;
}

/* fi's images [b, e): its arrays from image b on; *attr (to free) holds the methods' maps. */
static xai_faith_input input_rows(const xai_faith_input *fi, int64_t b, int64_t e, size_t size, const float ***attr)
{
    xai_faith_input li = *fi;
    *attr = xai_calloc(fi->nmethods + 1, sizeof **attr);
    for (int a = 0; a < fi->nmethods; a++) (*attr)[a] = fi->attr[a] + (size_t)b * size;
    li.x += (size_t)b * size, li.target += b, li.image_id += b, li.n = (int)(e - b), li.attr = *attr;
    return li;
}

/* The faith metrics of every image (o->which without the re-explaining two) over this rank's
 * images, gathered; whole on every rank with one rank or fewer images than ranks. */
static xai_status faith_per_image(xai_faith_result *r, xai_model *m, const xai_faith_input *fi, const xai_faith_opts *o)
{
    int64_t b, e;
    if (!my_rows(fi->n, &b, &e) || !o->which) return xai_faith_run(r, m, fi, o);
    const float **attr;
    const xai_faith_input li = input_rows(fi, b, e, xai_shape_size(m->in), &attr);
    xai_status s = xai_mpi_agree(xai_faith_run(r, m, &li, o));
    free(attr);
    XAI_TRY(s);
    for (int a = 0; a < r->nmethods && s == XAI_OK; a++) s = gather_faith_method(&r->m[a], r, fi->n, b, e);
    if (s == XAI_OK) s = merge_costs(r, o->which, fi->n);
    r->n = fi->n;
    return s;
}

/* Max-sensitivity or the random-logit test (metric k), which explain again, on the first
 * --maxsens-n / --randlogit-n images: each rank runs its share of them (none when there are fewer
 * than ranks), the per-image values are gathered into r, the passes summed, the slowest time kept. */
static xai_status faith_explaining(xai_faith_result *r, xai_model *m, const xai_faith_input *fi,
                                   const xai_faith_opts *o, int k)
{
    const int want = k == XAI_FM_MAXSENS ? o->maxsens_n : o->randlogit_n, nk = want < fi->n ? want : fi->n;
    int64_t b, e;
    xai_mpi_shard(nk, &b, &e);
    xai_faith_opts ok = *o;
    ok.which = 1u << k;
    xai_faith_result w = {0};
    xai_status s = XAI_OK;
    if (e > b) {
        const float **attr;
        const xai_faith_input li = input_rows(fi, b, e, xai_shape_size(m->in), &attr);
        s = xai_faith_run(&w, m, &li, &ok);
        free(attr);
    }
    if ((s = xai_mpi_agree(s)) != XAI_OK) goto done;
    for (int a = 0; a < r->nmethods && s == XAI_OK; a++) {
        double **mine = !w.m ? NULL : k == XAI_FM_MAXSENS ? &w.m[a].maxsens : &w.m[a].rl_sim;
        double *v = mine ? *mine : xai_malloc(1);
        if (mine) *mine = NULL;
        s = GATHER_COLS(v, k == XAI_FM_MAXSENS ? 1 : 3, nk, b, e);
        *(k == XAI_FM_MAXSENS ? &r->m[a].maxsens : &r->m[a].rl_sim) = v;
    }
    if (s == XAI_OK && k == XAI_FM_RANDLOGIT) {
        r->rl_class = w.rl_class ? w.rl_class : xai_malloc(1);
        w.rl_class = NULL;
        s = GATHER(r->rl_class, nk, 1, b, e);
    }
    if (s == XAI_OK && (s = merge_costs(&w, ok.which, nk)) == XAI_OK) r->cost[k] = w.cost[k];
done:
    xai_faith_result_free(&w);
    return s;
}

/* The faith metrics: those of every image, then the two that explain again on the first images. */
static xai_status faith_rows(xai_faith_result *r, xai_model *m, const xai_faith_input *fi, const xai_faith_opts *o)
{
    const unsigned explaining = (1u << XAI_FM_MAXSENS) | (1u << XAI_FM_RANDLOGIT);
    xai_faith_opts op = *o;
    op.which &= ~explaining;
    XAI_TRY(xai_mpi_agree(faith_per_image(r, m, fi, &op)));
    r->o = *o;
    for (int k = 0; k < XAI_FM_COUNT; k++)
        if (o->which & explaining & (1u << k)) XAI_TRY(faith_explaining(r, m, fi, o, k));
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
    XAI_TRY(pixelflip_rows(&r->flip_r, in, m, o));
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
        c->layer_excluded = xai_layer_absorbed_share(c->layer_share, ls, in->n, cols);
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

/* The randomisation cascade of one method on the first n images, explained with em (m's fold, as
 * explain explains): each rank runs it on its share (an image's random streams named by its
 * /indices entry, as in explain), the per-image similarities are gathered. */
static xai_status sanity_rows(xai_sanity_result *r, const eval_input *in, xai_model *m, xai_model *em, int n,
                              xai_method *meth, uint64_t seed)
{
    const size_t size = xai_shape_size(in->h.shape);
    int64_t b, e;
    xai_mpi_shard(n, &b, &e);
    xai_status s = XAI_OK;
    if (e > b) {
        xai_method_attr ma = {meth, NULL}; /* one explainer through the cascade, refreshed at each step */
        s = xai_sanity_cascade(r, m, em, in->h.inputs + (size_t)b * size, in->h.targets + b, in->h.indices + b,
                               (int)(e - b), xai_method_attr_cached_fn, &ma, seed);
        xai_method_attr_free(&ma);
    } else
        xai_sanity_alloc(r, m, 0);
    XAI_TRY(xai_mpi_agree(s));
    XAI_TRY(GATHER_COLS(r->spearman, r->nsteps, n, b, e));
    XAI_TRY(GATHER_COLS(r->spearman_abs, r->nsteps, n, b, e));
    XAI_TRY(GATHER_COLS(r->ssim, r->nsteps, n, b, e));
    r->n = n;
    return XAI_OK;
}

/* Model-parameter randomisation of every method on the first n images. */
static xai_status eval_sanity(xai_metrics *r, const eval_input *in, xai_model *m, xai_model *em, int n,
                              uint64_t seed)
{
    r->sanity = xai_calloc(in->nmethods, sizeof *r->sanity);
    r->sanity_seed = seed;
    for (int i = 0; i < in->nmethods; i++) {
        xai_method meth;
        XAI_TRY(xai_attr_read_method_spec(&meth, in->path, in->names[i]));
        XAI_TRY(sanity_rows(&r->sanity[i], in, m, em, n, &meth, seed));
    }
    return XAI_OK;
}

/* The metrics of faith.h on every method; the re-explaining ones read each method's spec and
 * explain with em. */
static xai_status eval_faith(xai_metrics *r, const eval_input *in, xai_model *m, xai_model *em,
                             const xai_eval_opts *o)
{
    xai_method *meth = xai_calloc(in->nmethods, sizeof *meth);
    xai_status s = XAI_OK;
    for (int i = 0; i < in->nmethods && s == XAI_OK; i++) s = xai_attr_read_method_spec(&meth[i], in->path, in->names[i]);
    const xai_faith_input fi = {in->h.inputs, in->h.targets, in->h.indices, in->n, (const float *const *)in->attr,
                                meth, in->nmethods, &o->flip, em};
    if (s == XAI_OK) s = faith_rows(&r->faith, m, &fi, &o->faith);
    free(meth);
    return s;
}

/* ------------------------------------------------------ IG step curves */

/* Least squares of log(err) on log(steps) over the points with finite err > 0; the count used. */
static int fit_loglog(const int64_t *steps, const double *err, int T, double *slope, double *icpt)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int k = 0;
    for (int t = 0; t < T; t++) {
        if (!(isfinite(err[t]) && err[t] > 0 && steps[t] > 0)) continue;
        const double lx = log((double)steps[t]), ly = log(err[t]);
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly, k++;
    }
    const double den = k * sxx - sx * sx;
    if (k < 2 || !(den > 0)) return *slope = *icpt = NAN, k < 2 ? k : 0;
    *slope = (k * sxy - sx * sy) / den;
    *icpt = (sy - *slope * sx) / k;
    return k;
}

double xai_eval_conv_order(const int64_t *steps, const double *err, int T)
{
    double slope, icpt;
    return fit_loglog(steps, err, T, &slope, &icpt) >= 2 ? -slope : NAN;
}

double xai_eval_steps_for(const int64_t *steps, const double *err, int T, double target)
{
    for (int t = 0; t < T; t++) {
        if (!(err[t] <= target)) continue;
        if (t == 0 || !(err[t - 1] > 0) || !isfinite(err[t - 1]) || !(err[t] > 0)) return (double)steps[t];
        /* Between the two step counts the error is a power law: interpolate in log-log. */
        const double l0 = log((double)steps[t - 1]), l1 = log((double)steps[t]);
        const double e0 = log(err[t - 1]), e1 = log(err[t]);
        return exp(l0 + (log(target) - e0) * (l1 - l0) / (e1 - e0));
    }
    return INFINITY;
}

void xai_eval_steps_text(char *out, size_t cap, double v, int64_t first, int64_t last)
{
    if (isnan(v)) snprintf(out, cap, "–");
    else if (!isfinite(v)) snprintf(out, cap, "> %lld", (long long)last);
    else if (v <= (double)first) snprintf(out, cap, "<= %lld", (long long)first);
    else snprintf(out, cap, "%.0f", ceil(v));
}

static void ig_curve_alloc(xai_ig_curve *c, const char *name, const xai_method *meth, int n, const xai_eval_opts *o)
{
    const int T = o->nig_steps, R = o->nig_rules;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->baseline, sizeof c->baseline, "%s", xai_baseline_name(meth->ig.baseline));
    c->n = n, c->nsteps = T, c->nrules = R;
    c->steps = xai_malloc(T * sizeof *c->steps);
    c->rules = xai_malloc(R * sizeof *c->rules);
    c->median = xai_malloc((size_t)R * T * sizeof *c->median);
    c->p90 = xai_malloc((size_t)R * T * sizeof *c->p90);
    c->mean = xai_malloc((size_t)R * T * sizeof *c->mean);
    for (int s = 0; s < T; s++) c->steps[s] = o->ig_steps[s];
    for (int q = 0; q < R; q++) c->rules[q] = o->ig_rules[q];
}

#define EVAL_EXACT_TOL 1e-9 /* ig_exact's default merge tolerance, stored with the reference */

/* Exact IG of the first n of the curve's images, once: the reference of every n-step map (*exact,
 * (n, C, H, W)), each rank computing its share and every rank then holding all. A model that is not piecewise linear, or n = 0, gets none: the reason goes into
 * c->exact_note. */
static xai_status ig_exact_reference(xai_ig_curve *c, float **exact, xai_model *m, const float *x, const float *xb,
                                     const int32_t *target, int n)
{
    const int RT = c->nrules * c->nsteps;
    if (xai_ig_exact_check(m) != XAI_OK) {
        snprintf(c->exact_note, sizeof c->exact_note, "%s", xai_errmsg());
        xai_clear_error();
        return XAI_OK;
    }
    if (n == 0) {
        snprintf(c->exact_note, sizeof c->exact_note,
                 "exact IG not computed (--ig-exact-n 0: its cost grows with the linear regions of the path, "
                 "explainers/METRICS.md); completeness only");
        return XAI_OK;
    }
    const size_t size = xai_shape_size(m->in);
    int64_t b, e;
    xai_mpi_shard(n, &b, &e);
    xai_ig_exact_stats *st = xai_calloc(n, sizeof *st);
    *exact = xai_malloc((size_t)n * size * sizeof **exact);
    const xai_ig_exact_opts eo = {.tol = EVAL_EXACT_TOL};
    xai_status s = XAI_OK;
    if (e > b)
        s = xai_ig_exact(m, &eo, x + (size_t)b * size, xb + (size_t)b * size, target + b, (int)(e - b),
                         *exact + (size_t)b * size, st + b);
    /* Every rank's maps are the reference of every rank's images at every step count. */
    if ((s = xai_mpi_agree(s)) != XAI_OK || (s = xai_mpi_allgather_rows(st, sizeof *st, n)) != XAI_OK ||
        (s = xai_mpi_allgather_rows(*exact, (int64_t)(size * sizeof **exact), n)) != XAI_OK)
        goto done;
    xai_ig_exact_ref *r = &c->ref;
    r->n = n;
    r->tol = EVAL_EXACT_TOL;
    r->regions = xai_malloc(n * sizeof *r->regions);
    r->residual = xai_malloc(n * sizeof *r->residual);
    r->seconds = xai_malloc(n * sizeof *r->seconds);
    r->sum = xai_malloc(n * sizeof *r->sum);
    r->fx = xai_malloc(n * sizeof *r->fx);
    r->fbase = xai_malloc(n * sizeof *r->fbase);
    for (int i = 0; i < n; i++) {
        r->regions[i] = st[i].regions, r->residual[i] = st[i].residual, r->seconds[i] = st[i].seconds;
        r->sum[i] = st[i].sum, r->fx[i] = st[i].fx, r->fbase[i] = st[i].fbase;
    }
    c->exact = 1;
    c->map_median = xai_malloc(RT * sizeof *c->map_median);
    c->map_p90 = xai_malloc(RT * sizeof *c->map_p90);
    c->map_mean = xai_malloc(RT * sizeof *c->map_mean);
    c->order = xai_malloc(c->nrules * sizeof *c->order);
    c->steps_1pct = xai_malloc(c->nrules * sizeof *c->steps_1pct);
done:
    free(st);
    return s;
}

/* ||a_i - e_i||_2 / ||e_i||_2 per image, in double (0 when both are 0, inf when only e_i is). */
static void map_errors(double *out /* (N) */, const float *a, const float *e /* (N, size) */, size_t size, int n)
{
    for (int i = 0; i < n; i++) {
        double d = 0, z = 0;
        for (size_t j = (size_t)i * size; j < (size_t)(i + 1) * size; j++) {
            const double diff = (double)a[j] - e[j];
            d += diff * diff, z += (double)e[j] * e[j];
        }
        out[i] = z > 0 ? sqrt(d / z) : d > 0 ? INFINITY : 0;
    }
}

static int check_images(int n) { return n < XAI_IG_CHECK_IMAGES ? n : XAI_IG_CHECK_IMAGES; }

/* The map errors of images [b, b + nl) of one rule x steps run (attr: theirs): against the exact
 * reference where there is one (the first ref.n images), NaN past them. */
static void map_errors_of(double *out /* (nl) */, const xai_ig_curve *c, const float *attr, const float *exact,
                          size_t size, int64_t b, int nl)
{
    const int64_t with = c->ref.n - b < 0 ? 0 : c->ref.n - b < nl ? c->ref.n - b : nl;
    map_errors(out, attr, exact + (size_t)b * size, size, (int)with);
    for (int i = (int)with; i < nl; i++) out[i] = NAN;
}

/* Statistics of every rule x steps run over all images (rel_error) and over those with the exact
 * reference (map error). */
static void ig_curve_stats(xai_ig_curve *c)
{
    for (int k = 0; k < c->nrules * c->nsteps; k++) {
        xai_stats t;
        xai_stats_of(&t, c->rel + (size_t)k * c->n, c->n);
        c->median[k] = t.median, c->p90[k] = t.p90, c->mean[k] = t.mean;
        if (!c->exact) continue;
        xai_stats_of(&t, c->map_rel + (size_t)k * c->n, c->ref.n);
        c->map_median[k] = t.median, c->map_p90[k] = t.p90, c->map_mean[k] = t.mean;
    }
}

/* Median over the first k images of each step count of rule q's per-image map errors. */
static void check_medians(double *out /* (T) */, const xai_ig_curve *c, int q, int k)
{
    double *v = xai_malloc((size_t)k * sizeof *v);
    for (int t = 0; t < c->nsteps; t++) {
        memcpy(v, c->map_rel + ((size_t)q * c->nsteps + t) * c->n, (size_t)k * sizeof *v);
        xai_stats st;
        xai_stats_of(&st, v, k);
        out[t] = st.median;
    }
    free(v);
}

/* The midpoint check over the first images (check_images): the power law fitted on the step
 * counts below XAI_IG_CHECK_STEPS, extrapolated, against the measured error (held: from the
 * held-out run, NaN when not run; else the curve's own point at XAI_IG_CHECK_STEPS). */
static void ig_curve_check(xai_ig_curve *c, int q, double held)
{
    const int T = c->nsteps, k = check_images(c->ref.n);
    double *med = xai_malloc(T * sizeof *med), *e = xai_malloc(T * sizeof *e), slope, icpt;
    int64_t *st = xai_malloc(T * sizeof *st);
    check_medians(med, c, q, k);
    int below = 0;
    double measured = held;
    for (int t = 0; t < T; t++)
        if (c->steps[t] == XAI_IG_CHECK_STEPS) measured = med[t];
        else if (c->steps[t] < XAI_IG_CHECK_STEPS) st[below] = c->steps[t], e[below++] = med[t];
    if (!isnan(measured) && below >= 2 && fit_loglog(st, e, below, &slope, &icpt) >= 2) {
        xai_ig_order_check *ck = &c->check;
        ck->run = 1, ck->images = k;
        ck->order = -slope;
        ck->predicted = exp(icpt + slope * log((double)XAI_IG_CHECK_STEPS));
        ck->measured = measured;
        ck->ok = ck->measured <= XAI_IG_CHECK_FACTOR * ck->predicted &&
                 ck->measured >= ck->predicted / XAI_IG_CHECK_FACTOR;
    }
    free(med), free(e), free(st);
}

/* Order and steps for 1 % per rule, and the midpoint check. */
static void ig_curve_fit(xai_ig_curve *c, double held)
{
    const int T = c->nsteps;
    for (int q = 0; q < c->nrules; q++) {
        const double *med = c->map_median + (size_t)q * T;
        c->order[q] = xai_eval_conv_order(c->steps, med, T);
        c->steps_1pct[q] = xai_eval_steps_for(c->steps, med, T, 0.01);
        if (c->rules[q] == XAI_QUAD_MIDPOINT) ig_curve_check(c, q, held);
    }
}

/* Whether the held-out check needs its own run: midpoint among the rules, XAI_IG_CHECK_STEPS not
 * among the steps (then the curve has it already) and at least two smaller step counts to fit. */
int xai_eval_needs_held_out(const xai_eval_opts *o)
{
    int mid = 0, below = 0;
    for (int q = 0; q < o->nig_rules; q++) mid |= o->ig_rules[q] == XAI_QUAD_MIDPOINT;
    for (int t = 0; t < o->nig_steps; t++) {
        if (o->ig_steps[t] == XAI_IG_CHECK_STEPS) return 0;
        below += o->ig_steps[t] < XAI_IG_CHECK_STEPS;
    }
    return o->ig_check && mid && below >= 2;
}

/* The held-out point: midpoint IG at XAI_IG_CHECK_STEPS on the first n images (each rank its
 * share), their median map error against exact IG in *held. */
static xai_status held_out_error(double *held, xai_model *m, const xai_method *meth, const xai_attr_header *h,
                                 const float *xb, const float *exact, int n)
{
    xai_ig_opts io = meth->ig;
    io.exact = 0, io.rule = XAI_QUAD_MIDPOINT, io.steps = XAI_IG_CHECK_STEPS;
    const size_t size = xai_shape_size(h->shape);
    int64_t b, e;
    xai_mpi_shard(n, &b, &e);
    const int nl = (int)(e - b);
    float *attr = xai_malloc(((size_t)nl * size + 1) * sizeof *attr);
    double *err = xai_malloc(((size_t)n + 1) * sizeof *err);
    xai_status s = XAI_OK;
    if (nl > 0) s = xai_ig(m, &io, h->inputs + (size_t)b * size, xb + (size_t)b * size, h->targets + b, h->indices + b,
                           nl, attr, NULL, NULL);
    if (s == XAI_OK) map_errors(err + b, attr, exact + (size_t)b * size, size, nl);
    if ((s = xai_mpi_agree(s)) == XAI_OK && (s = xai_mpi_allgather_rows(err, sizeof *err, n)) == XAI_OK) {
        xai_stats t;
        xai_stats_of(&t, err, n);
        *held = t.median;
    }
    free(attr);
    free(err);
    return s;
}

/* The curve's maps and their double sums (xai_ig_grid) for this many bytes of images at a time. */
#define IG_CURVE_CHUNK_BYTES ((size_t)64 << 20)

/* Every rule x steps run on this rank's images [b, e) of the curve's n, their rel_error and map
 * error then gathered into c (fx, fb: f(x) and f(x') of all n images; exact: all the references;
 * xb: the method's baselines, so the curve is about the quadrature rules, whatever its own rule).
 * All runs of a chunk of images at once: each distinct quadrature node costs one gradient row an
 * image, whichever runs share it (xai_ig_grid: one xai_ig call per run's maps, bit for bit). */
static xai_status ig_curve_runs(xai_ig_curve *c, const xai_attr_header *h, xai_model *m, const float *xb,
                                const float *fx, const float *fb, const float *exact, const xai_eval_opts *o)
{
    const size_t size = xai_shape_size(h->shape);
    const int T = c->nsteps, RT = c->nrules * T, n = c->n;
    int64_t b, e;
    xai_mpi_shard(n, &b, &e);
    const int nl = (int)(e - b);
    const size_t per_image = (size_t)RT * size * (sizeof(float) + sizeof(double));
    const size_t fit = IG_CURVE_CHUNK_BYTES / (per_image ? per_image : 1);
    const int chunk = fit < 1 ? 1 : fit < (size_t)nl ? (int)fit : nl > 0 ? nl : 1;
    float *attr = xai_malloc(((size_t)RT * chunk * size + 1) * sizeof *attr);
    double *rel = xai_malloc(((size_t)RT * nl + 1) * sizeof *rel);
    double *map = c->exact ? xai_malloc(((size_t)RT * nl + 1) * sizeof *map) : NULL;
    xai_status s = XAI_OK;
    int64_t grads = 0;
    xai_progress p;
    xai_progress_start(&p, "IG step curve", nl, "image");
    for (int i0 = 0; i0 < nl; i0 += chunk) {
        const int ni = nl - i0 < chunk ? nl - i0 : chunk;
        const int64_t bi = b + i0;
        if ((s = xai_ig_grid(m, o->ig_rules, c->nrules, o->ig_steps, T, h->inputs + (size_t)bi * size,
                             xb + (size_t)bi * size, h->targets + bi, ni, attr, &grads)) != XAI_OK)
            break;
        for (int k = 0; k < RT; k++) {
            const float *ak = attr + (size_t)k * ni * size;
            xai_completeness(rel + (size_t)k * nl + i0, NULL, NULL, ak, size, fx + bi, fb + bi, ni);
            if (map) map_errors_of(map + (size_t)k * nl + i0, c, ak, exact, size, bi, ni);
        }
        xai_progress_update(&p, i0 + ni);
    }
    char note[128];
    int points = 0;
    for (int t = 0; t < T; t++) points += c->nrules * o->ig_steps[t];
    snprintf(note, sizeof note, "%.0f gradient rows an image (distinct nodes of %d rule x steps runs, %d points)",
             nl > 0 ? (double)grads / nl : 0.0, RT, points);
    xai_progress_end(&p, s == XAI_OK && nl > 0 ? note : NULL);
    if ((s = xai_mpi_agree(s)) == XAI_OK && (s = GATHER_COLS(rel, RT, n, b, e)) == XAI_OK)
        s = GATHER_COLS(map, RT, n, b, e);
    c->rel = rel;
    c->map_rel = map;
    if (s == XAI_OK) ig_curve_stats(c);
    free(attr);
    return s;
}

/* IG recomputed with every rule and step count on the first n images; rel_error against f(x)
 * and f(x') evaluated here; on piecewise-linear models also the map error against exact IG. */
static xai_status ig_curve_of(xai_ig_curve *c, const char *name, const xai_method *meth, const eval_input *in,
                              xai_model *m, int n, const xai_eval_opts *o)
{
    const xai_attr_header *h = &in->h;
    const size_t size = xai_shape_size(h->shape);
    ig_curve_alloc(c, name, meth, n, o);
    float *xb = xai_malloc((size_t)n * size * sizeof *xb), *scr = xai_malloc(size * sizeof *scr);
    float *fx = xai_malloc(n * sizeof *fx), *fb = xai_malloc(n * sizeof *fb), *exact = NULL;
    for (int i = 0; i < n; i++)
        xai_ig_baseline(xb + (size_t)i * size, h->inputs + (size_t)i * size, h->shape, &meth->ig, m->mean, m->std,
                        (uint64_t)h->indices[i], scr);
    xai_model_target_logits(m, h->inputs, h->targets, n, fx);
    xai_model_target_logits(m, xb, h->targets, n, fb);
    const int ne = o->ig_exact_n < 0 || o->ig_exact_n > n ? n : o->ig_exact_n;
    xai_status s = ig_exact_reference(c, &exact, m, h->inputs, xb, h->targets, ne);
    if (s == XAI_OK) s = ig_curve_runs(c, h, m, xb, fx, fb, exact, o);
    double held = NAN;
    if (s == XAI_OK && c->exact && xai_eval_needs_held_out(o))
        s = held_out_error(&held, m, meth, h, xb, exact, check_images(ne));
    if (s == XAI_OK && c->exact) ig_curve_fit(c, held);
    free(xb);
    free(scr);
    free(fx);
    free(fb);
    free(exact);
    return s;
}

/* The IG step curve of each IG method of the file (those of --ig-curve-methods when given), or of
 * the default `ig` when there is none. */
static xai_status eval_ig_curves(xai_metrics *r, const eval_input *in, xai_model *m, const xai_eval_opts *o)
{
    const int n = o->ig_n < in->n ? o->ig_n : in->n;
    r->ig = xai_calloc(in->nmethods + 1, sizeof *r->ig);
    for (int i = 0; i < in->nmethods; i++) {
        if (strcmp(in->kinds[i], "ig") != 0) continue;
        if (o->ig_curve_methods && !in_list(o->ig_curve_methods, in->names[i])) continue;
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

/* The faith.h metrics: one row per method with each column's mean as written to path, then each
 * metric's cost. */
static void print_faith(FILE *log, const xai_metrics *r, const char *path)
{
    const xai_faith_result *f = &r->faith;
    if (!f->m) return;
    fprintf(log, "faithfulness metrics (means over images; columns: explainers/METRICS.md)\n  %-28s", "method");
    static const char *col[] = {"insertion_auc_prob", "deletion_auc_prob", "road_morf_auc_prob",
                                "road_lerf_auc_prob", "faithfulness_correlation", "sensitivity_n", "infidelity",
                                "max_sensitivity", "random_logit_ssim", "sparseness", "complexity"};
    const int nc = (int)(sizeof col / sizeof *col);
    static const char *head[] = {"ins.p", "del.p", "ROADm.p", "ROADl.p", "faithc", "sens-n", "infid",
                                 "maxsens", "rl.ssim", "gini", "entropy"};
    for (int c = 0; c < nc; c++) fprintf(log, " %8s", head[c]);
    fputc('\n', log);
    for (int i = 0; i < r->nmethods; i++) {
        fprintf(log, "  %-28s", r->methods[i]);
        for (int c = 0; c < nc; c++) {
            double *v;
            int n;
            double mean = NAN;
            const int row = xai_metric_source_find(col[c]);
            if (row >= 0 &&
                xai_metricsfile_read_values(path, r->methods[i], xai_metric_sources[row].source, &v, &n) == XAI_OK) {
                xai_stats st;
                xai_stats_of(&st, v, n);
                mean = st.mean;
                free(v);
            }
            xai_clear_error();
            fprintf(log, " %8.4g", mean);
        }
        fputc('\n', log);
    }
    for (int k = 0; k < XAI_FM_COUNT; k++)
        if (f->o.which & (1u << k))
            fprintf(log, "  cost %-10s %4d images %8.2f s (%.4f s/image), %.0f images through the net, %.0f explanations\n",
                    xai_faith_metric_name(k), f->cost[k].n, f->cost[k].seconds,
                    f->cost[k].n ? f->cost[k].seconds / f->cost[k].n : NAN, f->cost[k].forwards,
                    f->cost[k].explanations);
    if (f->o.which & (1u << XAI_FM_ROAD))
        fprintf(log, "  ROAD imputation (counted in its time): %.2f s\n", f->cost[XAI_FM_ROAD].impute_seconds);
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

/* One table of IG step curves: rows steps, columns rules, values 100 v[rule * T + step]. */
static void print_rule_table(FILE *log, const xai_ig_curve *c, const double *v)
{
    fprintf(log, "  %6s", "steps");
    for (int q = 0; q < c->nrules; q++) fprintf(log, " %10s", xai_quad_rule_name(c->rules[q]));
    fputc('\n', log);
    for (int s = 0; s < c->nsteps; s++) {
        fprintf(log, "  %6d", (int)c->steps[s]);
        for (int q = 0; q < c->nrules; q++) fprintf(log, " %10.4f", 100 * v[q * c->nsteps + s]);
        fputc('\n', log);
    }
}

/* The map error against exact IG, the fitted orders, the steps for 1 % and the 4096-step check. */
static void print_ig_exact(FILE *log, const xai_ig_curve *c)
{
    if (!c->exact) {
        fprintf(log, "note: no exact IG reference for %s (map error not measured): %s\n", c->name, c->exact_note);
        return;
    }
    const int n = c->ref.n, T = c->nsteps;
    double *v = xai_malloc(n * sizeof *v), secs = 0;
    for (int i = 0; i < n; i++) v[i] = (double)c->ref.regions[i], secs += c->ref.seconds[i];
    xai_stats reg, res;
    xai_stats_of(&reg, v, n);
    xai_stats_of(&res, c->ref.residual, n);
    free(v);
    fprintf(log,
            "IG map error against exact IG, median ||a_n - a_exact|| / ||a_exact|| in %% (%s; exact IG: median %.0f "
            "regions, residual median %.2g, %.3g s/image; first %d of %d images)\n",
            c->name, reg.median, res.median, secs / (n > 0 ? n : 1), n, c->n);
    print_rule_table(log, c, c->map_median);
    fprintf(log, "  %6s", "order");
    for (int q = 0; q < c->nrules; q++) fprintf(log, " %10.2f", c->order[q]);
    fprintf(log, "\n  %6s", "1% at");
    for (int q = 0; q < c->nrules; q++) {
        char b[32];
        xai_eval_steps_text(b, sizeof b, c->steps_1pct[q], c->steps[0], c->steps[T - 1]);
        fprintf(log, " %10s", b);
    }
    fputc('\n', log);
    const xai_ig_order_check *k = &c->check;
    if (!k->run) return;
    fprintf(log, "%s: midpoint at %d steps: map error %.3g, order %.2f from fewer steps predicts %.3g (%s a factor %g)\n",
            k->ok ? "check" : "warning", XAI_IG_CHECK_STEPS, k->measured, k->order, k->predicted,
            k->ok ? "within" : "NOT within", XAI_IG_CHECK_FACTOR);
}

static void print_ig(FILE *log, const xai_metrics *r)
{
    for (int i = 0; i < r->nig; i++) {
        const xai_ig_curve *c = &r->ig[i];
        fprintf(log,
                "IG completeness, median |sum(attr) - (f(x) - f(x'))| / |f(x) - f(x')| in %% (%s, baseline %s, %d "
                "images)\n",
                c->name, c->baseline, c->n);
        print_rule_table(log, c, c->median);
        print_ig_exact(log, c);
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

/* Every metric family into r, in the order that shares the model's state as before. Every family
 * runs the net xai explain explains with (batch norms folded: no batch norm runs as passes of its
 * own, and completeness compares the stored maps with the very function they explain): fm, at the
 * evaluation's batch, for the forward passes and the IG curves; em, at explain's default rows, for
 * the families that explain again, so the cascade's step 0 is explain's stored map. The cascade
 * randomises the layers of m itself (unfolded: a batch norm after a randomised conv still scales
 * it) and refolds em at each step. */
static xai_status run_families(xai_metrics *r, const eval_input *in, xai_model *m, const xai_eval_opts *o)
{
    const unsigned explaining = (1u << XAI_FM_MAXSENS) | (1u << XAI_FM_RANDLOGIT);
    xai_model *fm = NULL, *em = NULL;
    xai_status s = XAI_OK;
    XAI_TRY(xai_explain_model(&fm, m, m->max_batch));
    if (((o->faith.which & explaining) || o->sanity) && (s = xai_explain_model(&em, m, 0)) != XAI_OK) goto done;
    if ((s = eval_pixelflip(r, in, fm, &o->flip)) != XAI_OK || (s = eval_completeness(r, in, fm)) != XAI_OK) goto done;
    if (o->faith.which && (s = eval_faith(r, in, fm, em, o)) != XAI_OK) goto done;
    if (o->sanity &&
        (s = eval_sanity(r, in, m, em, o->sanity_n < in->n ? o->sanity_n : in->n, o->flip.seed)) != XAI_OK)
        goto done;
    xai_model_free(em), em = NULL; /* its activations are not needed by the curves */
    if (o->ig_curve) s = eval_ig_curves(r, in, fm, o);
done:
    xai_model_free(em);
    xai_model_free(fm);
    return s;
}

xai_status xai_evaluate(const xai_eval_opts *o, FILE *log)
{
    eval_input in = {0};
    xai_model *m = NULL;
    xai_metrics_writer *w = NULL;
    xai_metrics r = {0};
    char *out = output_path(o);
    const char *out_opt = o->out ? "--out" : "the default output";
    xai_status s;
    /* The default (metrics.h5 beside the attributions) may be an input or the summary. */
    if ((s = xai_output_not_input(out_opt, out, "--model", o->model)) != XAI_OK ||
        (s = xai_output_not_input(out_opt, out, "--attributions", o->attributions)) != XAI_OK ||
        (s = xai_outputs_differ("--summary", o->summary, out_opt, out)) != XAI_OK)
        goto done;
    if ((s = read_input(&in, o->attributions, o->n, o->methods)) != XAI_OK) goto done;
    /* Checked with or without --ig-curve: a typo must not pass silently because the curve is off. */
    if ((s = check_ig_curve_methods(&in, o->ig_curve_methods)) != XAI_OK) goto done;
    if ((s = xai_model_load(&m, o->model, o->batch)) != XAI_OK) goto done;
    xai_eval_begin(m, 1); /* our own model: nothing to restore */
    r = (xai_metrics){.model_path = o->model, .attributions_path = o->attributions, .model_sha256 = in.h.model_sha256,
                      .flip = o->flip, .batch = o->batch, .n = in.n, .nmethods = in.nmethods, .methods = in.names,
                      .kinds = in.kinds, .index = in.h.indices, .target = in.h.targets, .label = in.h.labels};
    r.fx = xai_malloc((size_t)in.n * sizeof *r.fx);
    if ((s = check_model(&in, m, o->model, r.fx)) != XAI_OK) goto done;
    /* Fail on an unwritable output before the long work. */
    if ((s = xai_metricsfile_create(&w, out)) != XAI_OK) goto done;
    /* The write is collective under mpirun: a failure on one rank stops all. */
    if ((s = xai_mpi_agree(run_families(&r, &in, m, o))) != XAI_OK) goto done;
    s = xai_metricsfile_write(w, &r);
    w = NULL;
    if (s != XAI_OK) goto done;
    print_flip(log, &r);
    print_faith(log, &r, out);
    print_sanity(log, &r, m);
    print_ig(log, &r);
    fprintf(log, "wrote %s\n", out);
    if (o->summary && xai_mpi_rank() == 0) s = write_summary(o, out, log);
done:
    xai_metricsfile_abort(w);
    xai_metrics_free(&r);
    xai_model_free(m);
    input_free(&in);
    free(out);
    return s;
}
