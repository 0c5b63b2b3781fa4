/* explain.c: the explainer objects (a method bound to a model) and the run behind `xai explain`:
 * test images and their logits, every method over them with progress, one attribution file. */
#include "core/io.h"
#include "core/mpi.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"
#include "explainers/ig_exact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (meth->kind == XAI_METHOD_IG && meth->ig.exact && xai_ig_exact_check(m) != XAI_OK) {
        free(e);
        return xai_fail(XAI_EINVAL, "method '%s': %s", meth->spec, xai_errmsg());
    }
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
    case XAI_METHOD_IG:
        if (e->meth.ig.exact)
            return xai_ig_exact_run(m, &e->meth.ig, x, target, ids, n, attr, aux->delta, aux->fbase, aux->exact);
        return xai_ig(m, &e->meth.ig, x, NULL, target, ids, n, attr, aux->delta, aux->fbase);
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

xai_status xai_method_attr_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids,
                              int n, float *attr)
{
    xai_explainer *e;
    XAI_TRY(xai_explainer_create(&e, (const xai_method *)ctx, m));
    xai_status s = xai_explainer_run(e, x, target, ids, n, attr, NULL);
    xai_explainer_free(e);
    return s;
}

xai_status xai_explainer_refresh(xai_explainer *e) { return e->lrp ? xai_lrp_refresh(e->lrp, e->m) : XAI_OK; }

xai_status xai_method_attr_cached_fn(void *ctx, xai_model *m, const float *x, const int32_t *target,
                                     const int64_t *ids, int n, float *attr)
{
    xai_method_attr *a = ctx;
    if (a->e && a->e->m != m) xai_method_attr_free(a);
    if (a->e) XAI_TRY(xai_explainer_refresh(a->e));
    else XAI_TRY(xai_explainer_create(&a->e, a->meth, m));
    return xai_explainer_run(a->e, x, target, ids, n, attr, NULL);
}

void xai_method_attr_free(xai_method_attr *a)
{
    xai_explainer_free(a->e);
    a->e = NULL;
}

int xai_explain_default_rows(const xai_model *m)
{
    /* Wider batches amortise each layer's fixed costs (the engine's GEMMs group up to 8
     * samples per chunk of 16): take up to 256 rows within about 512 MB of activations.
     * The activation arena grows with the rows; per-row workspace (masks, argmax, bn) adds less
     * than a quarter more. Conv scratch is per thread, not per row. */
    double per_row = 1.25 * sizeof(float) * (double)m->act_floats / m->max_batch;
    double rows = 512.0 * (1 << 20) / (per_row > 1 ? per_row : 1);
    int r = rows > 256 ? 256 : (int)rows;
    r -= r % 8;
    return r < 8 ? 8 : r;
}

xai_status xai_explain_model(xai_model **out, const xai_model *m, int rows)
{
    return xai_model_fold_batchnorm(out, m, rows > 0 ? rows : xai_explain_default_rows(m));
}

/* ------------------------------------------------------------- one method */

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

/* Images a chunk: whole batches of rows, so progress costs no partial batches. */
static int chunk_images(const xai_method *meth, int rows, int n)
{
    if (meth->kind == XAI_METHOD_IG && meth->ig.exact) return 1; /* an image is a walk and many batches */
    int per = meth->kind == XAI_METHOD_IG ? meth->ig.steps : meth->kind == XAI_METHOD_SMOOTHGRAD ? meth->sg.samples : 1;
    int chunk = rows / gcd(rows, per);
    if (per == 1) chunk = rows;
    while ((long)chunk * per < 4L * rows && chunk < n) chunk *= 2;
    return chunk;
}

/* The figures a method is judged on at a glance. */
static void summarise(xai_explain_result *r, const xai_method *meth, const xai_attr_header *h,
                      const xai_explain_aux *aux)
{
    const int n = h->n;
    r->ig_completeness_median = r->ig_delta_median = r->lrp_residual_median = NAN;
    r->exact_regions_median = r->exact_regions_max = r->exact_residual_median = NAN;
    if (aux->exact) {
        double *v = xai_malloc(2 * (size_t)n * sizeof *v);
        r->exact_regions_max = 0;
        for (int i = 0; i < n; i++) {
            v[i] = (double)aux->exact[i].regions, v[n + i] = aux->exact[i].residual;
            if (v[i] > r->exact_regions_max) r->exact_regions_max = v[i];
        }
        r->exact_regions_median = median_abs(v, n);
        r->exact_residual_median = median_abs(v + n, n);
        free(v);
    }
    if (meth->kind == XAI_METHOD_IG) {
        /* Completeness relative to f(x) - f(x'), the scale the error is judged on. */
        double *rel = xai_malloc(n * sizeof *rel);
        for (int i = 0; i < n; i++) {
            double fx = h->logits[(size_t)i * h->nclasses + h->targets[i]], df = fx - aux->fbase[i];
            rel[i] = df != 0 ? aux->delta[i] / df : aux->delta[i];
        }
        r->ig_completeness_median = median_abs(rel, n);
        r->ig_delta_median = median_abs(aux->delta, n);
        free(rel);
    } else if (meth->kind == XAI_METHOD_LRP)
        r->lrp_residual_median = median_abs(aux->residual, n);
}

/* Runs e over images [b, e) of h in chunks with a progress bar: maps into attr (its rows b..e-1),
 * side outputs into aux (all n rows, filled at b..e-1). Chunks start at b: an image's result does
 * not depend on the batch it shares (explainers/README.md). */
static xai_status run_chunks(xai_explainer *e, const xai_attr_header *h, int L, int64_t b, int64_t end, float *attr,
                             const xai_explain_aux *aux, double *seconds)
{
    const int n = (int)(end - b);
    const size_t isz = xai_shape_size(h->shape);
    const int chunk = chunk_images(&e->meth, e->m->max_batch, n);
    xai_progress p;
    xai_progress_start(&p, e->meth.spec, n, "img");
    double t0 = xai_now();
    xai_status s = XAI_OK;
    for (int k = 0; k < n && s == XAI_OK; k += chunk) {
        const int nb = n - k < chunk ? n - k : chunk;
        const int64_t i = b + k;
        xai_explain_aux a = *aux;
        if (a.delta) a.delta += i, a.fbase += i;
        if (a.residual) a.residual += i, a.layer_sums += (size_t)i * (L + 1);
        if (a.exact) a.exact += i;
        s = xai_explainer_run(e, h->inputs + (size_t)i * isz, h->targets + i, h->indices + i, nb,
                              attr + (size_t)k * isz, &a);
        xai_progress_update(&p, k + nb);
    }
    double secs = xai_now() - t0;
    xai_progress_end(&p, NULL); /* the speed is printed once, in the caller's table (ms/attr) */
    *seconds = secs;
    return s;
}

/* aux's rows [b, e) as written by this rank (NULL members stay NULL). */
static xai_explain_aux aux_rows(const xai_explain_aux *aux, int64_t b, int L)
{
    xai_explain_aux a = *aux;
    if (a.delta) a.delta += b, a.fbase += b;
    if (a.residual) a.residual += b, a.layer_sums += (size_t)b * (L + 1);
    if (a.exact) a.exact += b;
    return a;
}

/* Every rank's rows of aux on every rank, for the summary over all n images. */
static xai_status gather_aux(const xai_explain_aux *aux, int n, int L)
{
    if (aux->delta) XAI_TRY(xai_mpi_allgather_rows(aux->delta, sizeof *aux->delta, n));
    if (aux->fbase) XAI_TRY(xai_mpi_allgather_rows(aux->fbase, sizeof *aux->fbase, n));
    if (aux->residual) XAI_TRY(xai_mpi_allgather_rows(aux->residual, sizeof *aux->residual, n));
    if (aux->layer_sums) XAI_TRY(xai_mpi_allgather_rows(aux->layer_sums, (L + 1) * sizeof *aux->layer_sums, n));
    if (aux->exact) XAI_TRY(xai_mpi_allgather_rows(aux->exact, sizeof *aux->exact, n));
    return XAI_OK;
}

/* One method over this rank's images, written to w (collectively) and reported to cfg->on_method
 * with the figures of all n images. */
static xai_status explain_method(xai_attr_writer *w, const xai_method *meth, xai_model *m, const xai_attr_header *h,
                                 float *attr, const xai_explain_cfg *cfg)
{
    const int n = h->n;
    int64_t b, end;
    xai_mpi_shard(n, &b, &end);
    xai_explainer *e;
    XAI_TRY(xai_explainer_create(&e, meth, m));
    const int L = xai_explainer_lrp_layers(e);
    double *vec = xai_calloc((size_t)n * (2 + L + 1), sizeof *vec);
    xai_explain_aux aux = {0};
    if (meth->kind == XAI_METHOD_IG) aux.delta = vec, aux.fbase = vec + n;
    if (meth->kind == XAI_METHOD_LRP) aux.residual = vec, aux.layer_sums = vec + 2 * (size_t)n;
    if (meth->kind == XAI_METHOD_IG && meth->ig.exact) aux.exact = xai_calloc((size_t)n, sizeof *aux.exact);
    char *desc = NULL;
    xai_explain_result r = {meth, n, 0, NAN, NAN, NAN, NAN, NAN, NAN};
    /* Ranks fail together: the write that follows is collective. The time is the slowest rank's. */
    xai_status s = xai_mpi_agree(run_chunks(e, h, L, b, end, attr, &aux, &r.seconds));
    if (s == XAI_OK) s = xai_mpi_allreduce_max_f64(&r.seconds, 1);
    if (s != XAI_OK) goto done;
    desc = e->lrp ? xai_lrp_describe(e->lrp) : NULL;
    const xai_explain_aux mine = aux_rows(&aux, b, L);
    if ((s = xai_mpi_agree(xai_attr_write_method(w, meth, attr, &mine, L, desc, r.seconds))) != XAI_OK) goto done;
    if ((s = gather_aux(&aux, n, L)) != XAI_OK) goto done;
    summarise(&r, meth, h, &aux);
    if (cfg->on_method) cfg->on_method(cfg->ctx, &r);
done:
    free(aux.exact);
    free(desc);
    free(vec);
    xai_explainer_free(e);
    return s;
}

/* ---------------------------------------------------------- model, images */

/* The model at the batch capacity asked for (chosen once its size per row is known). */
static xai_status load_model(xai_model **out, const xai_explain_cfg *cfg)
{
    xai_model *m, *wide;
    XAI_TRY(xai_model_load(&m, cfg->model, 1));
    xai_status s = xai_model_clone(&wide, m, cfg->rows > 0 ? cfg->rows : xai_explain_default_rows(m));
    xai_model_free(m);
    *out = s == XAI_OK ? wide : NULL;
    return s;
}

static int stratified(const xai_explain_cfg *cfg) { return cfg->select && !strcmp(cfg->select, "stratified"); }

/* What the images are, for messages and the file: the dataset, or "images" for image files. */
static const char *source_name(const xai_explain_cfg *cfg)
{
    return cfg->dataset ? cfg->dataset : "images";
}

static xai_status load_images(xai_dataset *d, const xai_explain_cfg *cfg, const xai_model *m)
{
    if (cfg->select && !stratified(cfg) && strcmp(cfg->select, "first"))
        return xai_fail(XAI_EINVAL, "--select %s: expected first or stratified", cfg->select);
    if (cfg->images && stratified(cfg))
        return xai_fail(XAI_EINVAL, "--select stratified: image files have no labels to stratify by");
    /* Stratified selection looks at every label: the whole test split. */
    const int limit = stratified(cfg) ? 0 : cfg->start + cfg->n;
    size_t L = cfg->dataset ? strlen(cfg->dataset) : 0;
    if (cfg->images) XAI_TRY(xai_dataset_from_images(d, cfg->images, cfg->nimages, m->in, m->nclasses));
    else if (L > 3 && !strcmp(cfg->dataset + L - 3, ".h5"))
        XAI_TRY(xai_dataset_load_file(d, cfg->dataset, limit));
    else {
        xai_fetch_opts fo = {0};
        fo.data_dir = cfg->data_dir;
        fo.mirror = cfg->mirror;
        fo.limit = limit;
        if (m->in.h != 28 && m->in.h == m->in.w) fo.size = m->in.h;
        XAI_TRY(xai_dataset_load(d, cfg->dataset, &fo));
    }
    if (d->test.shape.c != m->in.c || d->test.shape.h != m->in.h || d->test.shape.w != m->in.w)
        return xai_fail(XAI_EINVAL, "%s: images are %dx%dx%d but the model %s takes %dx%dx%d", source_name(cfg),
                        d->test.shape.c, d->test.shape.h, d->test.shape.w, cfg->model, m->in.c, m->in.h, m->in.w);
    if (d->nclasses != m->nclasses)
        return xai_fail(XAI_EINVAL, "%s: %d classes but the model %s has %d", source_name(cfg), d->nclasses, cfg->model,
                        m->nclasses);
    if (cfg->start >= d->test.n)
        return xai_fail(XAI_EINVAL, "--start %d: the test split has only %d images", cfg->start, d->test.n);
    return XAI_OK;
}

/* A class by its name in the model file (xai import --classes), else its name or id in the dataset
 * ("tench", "n01440764"); -1 when none matches. */
static int class_by_name(const xai_model *m, const xai_dataset *d, const char *t)
{
    const int j = xai_model_class_index(m, t);
    if (j >= 0) return j;
    for (int k = 0; k < d->nclasses; k++)
        if ((d->class_names && d->class_names[k] && !strcmp(d->class_names[k], t)) ||
            (d->class_ids && d->class_ids[k] && !strcmp(d->class_ids[k], t)))
            return k;
    return -1;
}

static xai_status set_targets(xai_attr_header *h, const char *target, const xai_model *m, const xai_dataset *d)
{
    const char *t = target ? target : "pred";
    const int n = h->n, K = h->nclasses;
    if (!strcmp(t, "pred")) {
        for (int i = 0; i < n; i++) h->targets[i] = xai_model_argmax(h->logits + (size_t)i * K, K);
        snprintf(h->target_mode, sizeof h->target_mode, "pred");
        return XAI_OK;
    }
    if (!strcmp(t, "label")) {
        for (int i = 0; i < n; i++)
            if (h->labels[i] < 0)
                return xai_fail(XAI_EINVAL, "--target label: image files have no labels; use pred or a class index");
        memcpy(h->targets, h->labels, n * sizeof *h->targets);
        snprintf(h->target_mode, sizeof h->target_mode, "label");
        return XAI_OK;
    }
    char *end;
    long k = strtol(t, &end, 10);
    if (end == t || *end) k = class_by_name(m, d, t);
    if (k < 0 && (end == t || *end))
        return xai_fail(XAI_EINVAL, "--target %s: expected pred, label, a class in 0..%d or a class name of %s", t,
                        K - 1, m->class_names ? "the model" : d->class_names ? "the dataset (xai datasets info)"
                                                           : "the model (none: xai import --classes gives them)");
    if (k < 0 || k >= K)
        return xai_fail(XAI_EINVAL, "--target %s: expected pred, label or a class in 0..%d", t, K - 1);
    for (int i = 0; i < n; i++) h->targets[i] = (int32_t)k;
    snprintf(h->target_mode, sizeof h->target_mode, "class:%ld", k);
    return XAI_OK;
}

/* Test images start.. with classes in turn: round r takes each class's r-th image (index order),
 * classes that ran out skipped. Any prefix of the result is as balanced as the split allows. */
static void stratified_indices(int64_t *idx, int n, const xai_dataset *d, int start)
{
    const int C = d->nclasses, avail = d->test.n - start;
    int *next = xai_calloc((size_t)C, sizeof *next); /* per class: the next image to look at */
    int *order = xai_malloc((size_t)avail * sizeof *order), *first = xai_calloc((size_t)C + 1, sizeof *first);
    /* Counting sort by label, stable: order holds each class's images in index order. */
    for (int i = start; i < d->test.n; i++) first[d->test.labels[i] + 1]++;
    for (int c = 0; c < C; c++) first[c + 1] += first[c];
    for (int c = 0; c < C; c++) next[c] = first[c];
    for (int i = start; i < d->test.n; i++) order[next[d->test.labels[i]]++] = i;
    for (int c = 0; c < C; c++) next[c] = first[c];
    for (int k = 0; k < n;)
        for (int c = 0; c < C && k < n; c++)
            if (next[c] < first[c + 1]) idx[k++] = order[next[c]++];
    free(next);
    free(order);
    free(first);
}

/* The header: n test images from cfg->start, normalised as the model expects, and their logits. */
static xai_status fill_header(xai_attr_header *h, const xai_explain_cfg *cfg, xai_model *m, const xai_dataset *d)
{
    const int n = d->test.n - cfg->start < cfg->n ? d->test.n - cfg->start : cfg->n;
    if (n < cfg->n && !cfg->images && xai_mpi_rank() == 0)
        fprintf(stderr, "xai explain: the test split has %d images from %d; explaining %d\n", d->test.n - cfg->start,
                cfg->start, n);
    const size_t isz = xai_shape_size(m->in);
    h->n = n;
    h->shape = m->in;
    h->nclasses = m->nclasses;
    h->inputs = xai_malloc((size_t)n * isz * sizeof *h->inputs);
    h->labels = xai_malloc(n * sizeof *h->labels);
    h->targets = xai_malloc(n * sizeof *h->targets);
    h->indices = xai_malloc(n * sizeof *h->indices);
    h->logits = xai_malloc((size_t)n * m->nclasses * sizeof *h->logits);
    for (int c = 0; c < 4; c++) h->norm_mean[c] = m->mean[c], h->norm_std[c] = m->std[c];
    if (stratified(cfg)) stratified_indices(h->indices, n, d, cfg->start);
    else
        for (int i = 0; i < n; i++) h->indices[i] = cfg->start + i;
    for (int i = 0; i < n; i++) {
        const int64_t j = h->indices[i];
        xai_normalize_u8(h->inputs + (size_t)i * isz, d->test.images + (size_t)j * isz, m->in, m->mean, m->std);
        h->labels[i] = d->test.labels[j];
    }
    xai_eval_scope st = xai_eval_begin(m, 0);
    for (int i = 0; i < n; i += m->max_batch) {
        int nb = n - i < m->max_batch ? n - i : m->max_batch;
        const float *lg = xai_model_forward(m, h->inputs + (size_t)i * isz, nb);
        memcpy(h->logits + (size_t)i * m->nclasses, lg, (size_t)nb * m->nclasses * sizeof *lg);
    }
    xai_eval_end(m, st);
    XAI_TRY(set_targets(h, cfg->target, m, d));
    snprintf(h->model_path, sizeof h->model_path, "%s", cfg->model);
    snprintf(h->dataset, sizeof h->dataset, "%s", source_name(cfg));
    snprintf(h->dataset_sha256, sizeof h->dataset_sha256, "%s", d->sha256);
    return XAI_OK;
}

static char *default_outpath(const char *model)
{
    const char *slash = strrchr(model, '/');
    size_t dl = slash ? (size_t)(slash - model) : 0;
    char *p = xai_malloc(dl + 32);
    snprintf(p, dl + 32, "%.*s%sattributions.h5", (int)dl, model, slash ? "/" : "");
    return p;
}

/* Every method runs on a copy with batch norm folded into the convs: the same function to float
 * rounding, without the per-element batch-norm passes; LRP needs it folded anyway. */
static xai_status fold(xai_model **m)
{
    xai_model *folded;
    XAI_TRY(xai_explain_model(&folded, *m, (*m)->max_batch));
    xai_model_free(*m);
    *m = folded;
    return XAI_OK;
}

/* A net exact IG cannot walk fails before any method runs. */
static xai_status check_exact(const xai_method *meths, int nm, const xai_model *m)
{
    for (int k = 0; k < nm; k++)
        if (meths[k].kind == XAI_METHOD_IG && meths[k].ig.exact && xai_ig_exact_check(m) != XAI_OK)
            return xai_fail(XAI_EINVAL, "method '%s': %s", meths[k].spec, xai_errmsg());
    return XAI_OK;
}

/* All methods into one file, committed only when every one succeeded. */
static xai_status write_all(const char *outpath, const xai_method *meths, int nm, xai_model *m,
                            const xai_attr_header *h, const xai_explain_cfg *cfg)
{
    xai_attr_writer w = {0};
    XAI_TRY(xai_attr_create(&w, outpath, h, cfg->command));
    const int R = xai_mpi_size();
    char ranks[48] = "";
    if (R > 1) snprintf(ranks, sizeof ranks, " a rank, %d ranks", R);
    /* one write: under mpirun a line in pieces interleaves with the rank's stdout (the method lines) */
    if (xai_mpi_rank() == 0)
        fprintf(stderr, "xai explain: %d images of %s, %d method%s, %d rows a batch, %d thread%s%s\n", h->n,
                source_name(cfg), nm, nm > 1 ? "s" : "", m->max_batch, xai_threads(), xai_threads() > 1 ? "s" : "",
                ranks);
    int64_t b, end;
    xai_mpi_shard(h->n, &b, &end);
    /* This rank's maps only: the file gathers them. */
    float *attr = xai_malloc(((size_t)(end - b) * xai_shape_size(m->in) + 1) * sizeof *attr);
    xai_status s = XAI_OK;
    for (int k = 0; k < nm && s == XAI_OK; k++) s = explain_method(&w, &meths[k], m, h, attr, cfg);
    free(attr);
    if ((s = xai_mpi_agree(s)) != XAI_OK) {
        xai_attr_abort(&w);
        return s;
    }
    return xai_attr_commit(&w);
}

xai_status xai_explain_run(const xai_explain_cfg *cfg, char **outpath_out)
{
    if (outpath_out) *outpath_out = NULL;
    xai_method *meths = NULL;
    int nm = 0;
    xai_model *m = NULL;
    xai_dataset d;
    memset(&d, 0, sizeof d);
    xai_attr_header h;
    memset(&h, 0, sizeof h);
    char *outpath = NULL;
    xai_status s = XAI_OK;
    /* Methods first: a typo should fail before minutes of loading. */
    if ((s = xai_method_parse_list(&meths, &nm, cfg->methods ? cfg->methods : xai_default_methods,
                                   cfg->overrides)) != XAI_OK)
        goto done;
    outpath = cfg->out ? xai_strdup(cfg->out) : default_outpath(cfg->model);
    /* The default (attributions.h5 beside the model) may be the model itself. */
    if ((s = xai_output_not_input(cfg->out ? "--out" : "the default output", outpath, "--model", cfg->model)) != XAI_OK)
        goto done;
    if ((s = load_model(&m, cfg)) != XAI_OK) goto done;
    if ((s = xai_hash_file(cfg->model, h.model_sha256, NULL)) != XAI_OK) goto done;
    if ((s = load_images(&d, cfg, m)) != XAI_OK) goto done;
    if ((s = fill_header(&h, cfg, m, &d)) != XAI_OK) goto done;
    if ((s = fold(&m)) != XAI_OK) goto done;
    if ((s = check_exact(meths, nm, m)) != XAI_OK) goto done;
    if ((s = write_all(outpath, meths, nm, m, &h, cfg)) != XAI_OK) goto done;
    /* by rank 0 alone, from the finished file: every rank wrote the same PNG files at once before */
    if ((s = xai_mpi_agree(xai_mpi_rank() > 0 ? XAI_OK
                                              : xai_explain_heatmaps(cfg, outpath,
                                                                     cfg->images ? (const char *const *)d.test.files : NULL,
                                                                     h.indices, h.n))) != XAI_OK)
        goto done;
    if (outpath_out) *outpath_out = outpath, outpath = NULL;
done:
    free(outpath);
    xai_attr_header_free(&h);
    xai_dataset_free(&d);
    xai_model_free(m);
    free(meths);
    return s;
}
