/* test_reexplain_folded.c: the metrics that explain again (the randomisation cascade, max-sensitivity,
 * the random-logit test) explain with the batch-norm-folded net that `xai explain` explains with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/h5.h"
#include "core/io.h"
#include "explainers/evaluate.h"
#include "explainers/explain.h"
#include "explainers/faith.h"
#include "explainers/metricsfile.h"
#include "explainers/perturb.h"

#include "test_explain_common.h"

#define NM 6
/* Every kind of method that runs through the net: the gradient family and IG through the batched
 * engine, LRP through its canonised net (folded before this change too). */
static const char *methods[NM] = {"ig:steps=8", "smoothgrad:samples=4", "gradient", "gradient-x-input", "lrp-epsilon",
                                  "lrp-epsilon-gamma-box"};
static const char *method_list = "ig:steps=8,smoothgrad:samples=4,gradient,gradient-x-input,lrp-epsilon,"
                                 "lrp-epsilon-gamma-box";
#define EVAL_BATCH 4 /* xai evaluate's --batch here: not explain's rows */

static char dir[64], model_path[128], attr_path[128], metrics_path[128];

/* conv-bn-relu-pool, conv-bn-relu, gap, linear on RGB 16x16, batch norms far from the identity (so
 * that folding them changes the rounding of every map). */
static xai_model *bn_net(int rows)
{
    xai_model *m = model_from("[model]\ninput = 3x16x16\nclasses = 5\n"
                              "layer = conv out=6 k=3 pad=1 bias=0\nlayer = bn\nlayer = relu\nlayer = maxpool k=2\n"
                              "layer = conv out=8 k=3 pad=1 bias=0\nlayer = bn\nlayer = relu\nlayer = gap\n"
                              "layer = linear out=5\n",
                              rows);
    randomize(m, 11, 0.1f, 1);
    const int bn[2] = {1, 5};
    for (int k = 0; k < 2; k++) {
        xai_layer *l = &m->layers[bn[k]];
        for (int c = 0; c < l->in.c; c++) {
            l->w[c] = 0.7f + 0.13f * c;
            l->rmean[c] = 0.05f * c - 0.1f;
            l->rvar[c] = 0.4f + 0.3f * c;
        }
    }
    for (int c = 0; c < 3; c++) m->mean[c] = 0.45f + 0.01f * c, m->std[c] = 0.22f + 0.01f * c;
    return m;
}

/* The model file and explain's attribution file of the test images (9 files), once. */
static int setup(void **state)
{
    (void)state;
    xai_quiet = 1;
    snprintf(dir, sizeof dir, "/tmp/xai-reexplain-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(model_path, sizeof model_path, "%s/model.h5", dir);
    snprintf(attr_path, sizeof attr_path, "%s/attributions.h5", dir);
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.h5", dir);
    xai_model *m = bn_net(1);
    xai_status s = xai_model_save(m, model_path);
    xai_model_free(m);
    if (s != XAI_OK) return -1;
    const char *src = getenv("XAI_SOURCE_DIR") ? getenv("XAI_SOURCE_DIR") : XAI_SOURCE_DIR;
    static const char *rel[5] = {"tests/data/images", "tests/data/folder/train/cat", "tests/data/folder/train/dog",
                                 "tests/data/folder/val/cat", "tests/data/folder/val/dog"};
    char *paths[5];
    for (int k = 0; k < 5; k++) paths[k] = xai_path_join(src, rel[k]);
    xai_explain_cfg cfg = {.model = model_path, .images = (const char *const *)paths, .nimages = 5,
                           .methods = method_list, .out = attr_path, .n = 100, .heatmaps = "none"};
    s = xai_explain_run(&cfg, NULL);
    for (int k = 0; k < 5; k++) free(paths[k]);
    if (s != XAI_OK) fprintf(stderr, "explain: %s\n", xai_errmsg());
    return s == XAI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The file's images and one method's stored maps. */
typedef struct {
    xai_attr_header h;
    size_t size;
    float *stored;
} explained;

static void read_explained(explained *e, const char *method)
{
    assert_int_equal(xai_attr_read_header(&e->h, attr_path), XAI_OK);
    assert_int_equal(e->h.n, 9);
    e->size = xai_shape_size(e->h.shape);
    e->stored = malloc(e->h.n * e->size * sizeof(float));
    assert_int_equal(xai_attr_read_method(attr_path, method, e->stored, &e->h), XAI_OK);
}

static void explained_free(explained *e)
{
    xai_attr_header_free(&e->h);
    free(e->stored);
}

/* The model as xai evaluate loads it (--batch EVAL_BATCH) and the net it explains with. */
static void load_as_evaluate(xai_model **m, xai_model **em)
{
    assert_int_equal(xai_model_load(m, model_path, EVAL_BATCH), XAI_OK);
    assert_int_equal(xai_explain_model(em, *m, 0), XAI_OK);
}

/* The method as xai evaluate runs it in the cascade (one explainer, refreshed), recording the
 * first call (step 0: every image, in one call at explain's rows) and the net it was given. */
typedef struct {
    xai_method_attr ma;
    float *first;
    int calls, nlayers, folds, rows;
} recorder;

static xai_status recording_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids,
                               int n, float *attr)
{
    recorder *r = ctx;
    XAI_TRY(xai_method_attr_cached_fn(&r->ma, m, x, target, ids, n, attr));
    if (r->calls++ == 0) {
        memcpy(r->first, attr, (size_t)n * xai_shape_size(m->in) * sizeof *attr);
        r->nlayers = m->nlayers, r->folds = xai_model_folds(m), r->rows = m->max_batch;
    }
    return XAI_OK;
}

/* Step 0 of the cascade ("original model") is explain's stored map, bit for bit, for every
 * method: the cascade explains with explain's net (batch norms folded, explain's rows), not with
 * the model as evaluate loads it. The unfolded model's maps differ in the last bits (the check
 * can fail), and the net the method sees runs no batch norm of its own. */
static void test_cascade_step0_is_explain(void **state)
{
    (void)state;
    xai_model *m, *em;
    load_as_evaluate(&m, &em);
    assert_int_equal(xai_model_folds(m), 2);
    xai_model *fresh_fold;
    assert_int_equal(xai_model_fold_batchnorm(&fresh_fold, m, 1), XAI_OK);
    int unfolded_differs = 0;
    for (int k = 0; k < NM; k++) {
        explained e;
        read_explained(&e, methods[k]);
        const int n = e.h.n;
        xai_method meth;
        assert_int_equal(xai_method_parse(&meth, methods[k], NULL), XAI_OK);
        recorder rec = {{&meth, NULL}, malloc(n * e.size * sizeof(float)), 0, 0, 0, 0};
        xai_sanity_result r;
        assert_int_equal(xai_sanity_cascade(&r, m, em, e.h.inputs, e.h.targets, e.h.indices, n, recording_fn, &rec, 1),
                         XAI_OK);
        xai_method_attr_free(&rec.ma);
        if (memcmp(rec.first, e.stored, n * e.size * sizeof(float)))
            fail_msg("%s: the cascade's step 0 is not explain's stored map", methods[k]);
        assert_int_equal(rec.calls, r.nsteps); /* one call a step: 9 images in explain's rows */
        assert_int_equal(rec.folds, 0);        /* no batch norm runs as passes of its own */
        assert_int_equal(rec.nlayers, m->nlayers - 2);
        assert_int_equal(rec.rows, xai_explain_default_rows(m));
        /* The shared fold holds m's own weights again. */
        assert_memory_equal(em->params, fresh_fold->params, em->nparams * sizeof(float));
        /* What the cascade gave before: the unfolded model, as evaluate loads it. */
        float *unf = malloc(n * e.size * sizeof(float));
        for (int i = 0; i < n; i += m->max_batch) {
            const int nb = n - i < m->max_batch ? n - i : m->max_batch;
            assert_int_equal(xai_method_attr_fn(&meth, m, e.h.inputs + i * e.size, e.h.targets + i, e.h.indices + i, nb,
                                                unf + i * e.size),
                             XAI_OK);
        }
        if (meth.kind != XAI_METHOD_LRP) unfolded_differs += memcmp(unf, e.stored, n * e.size * sizeof(float)) != 0;
        free(unf);
        free(rec.first);
        xai_sanity_result_free(&r);
        explained_free(&e);
    }
    assert_true(unfolded_differs > 0);
    xai_model_free(fresh_fold);
    xai_model_free(em);
    xai_model_free(m);
}

/* One step of the cascade by hand: the top `steps` conv/linear layers of a copy of m replaced by
 * those of a model initialised from seed, the copy folded afresh, a fresh explainer. */
static void cascade_step_by_hand(float *attr, const xai_model *m, const xai_method *meth, int steps, uint64_t seed,
                                 const explained *e)
{
    xai_model *c, *rnd, *f;
    assert_int_equal(xai_model_clone(&c, m, 1), XAI_OK);
    assert_int_equal(xai_model_clone(&rnd, m, 1), XAI_OK);
    xai_model_init(rnd, seed);
    for (int i = m->nlayers - 1, s = 0; i >= 0 && s < steps; i--) {
        xai_layer *l = &c->layers[i];
        if (l->type != XAI_CONV2D && l->type != XAI_LINEAR) continue;
        memcpy(l->w, rnd->layers[i].w, l->nw * sizeof *l->w);
        if (l->nb) memcpy(l->b, rnd->layers[i].b, l->nb * sizeof *l->b);
        s++;
    }
    assert_int_equal(xai_explain_model(&f, c, 0), XAI_OK);
    assert_int_equal(xai_method_attr_fn((void *)meth, f, e->h.inputs, e->h.targets, e->h.indices, e->h.n, attr), XAI_OK);
    xai_model_free(f);
    xai_model_free(rnd);
    xai_model_free(c);
}

/* Every step of the cascade: a randomised conv/linear layer refolded with its trained batch norm
 * (batch norms are never randomised), the same similarities as a fold made afresh per step. */
static void test_cascade_steps_refolded(void **state)
{
    (void)state;
    xai_model *m, *em;
    load_as_evaluate(&m, &em);
    static const char *which[2] = {"gradient", "lrp-epsilon"};
    for (int k = 0; k < 2; k++) {
        explained e;
        read_explained(&e, which[k]);
        const int n = e.h.n;
        xai_method meth;
        assert_int_equal(xai_method_parse(&meth, which[k], NULL), XAI_OK);
        xai_method_attr ma = {&meth, NULL};
        xai_sanity_result r;
        assert_int_equal(xai_sanity_cascade(&r, m, em, e.h.inputs, e.h.targets, e.h.indices, n,
                                            xai_method_attr_cached_fn, &ma, 5),
                         XAI_OK);
        xai_method_attr_free(&ma);
        assert_int_equal(r.nsteps, 4);
        float *a = malloc(n * e.size * sizeof(float));
        for (int s = 1; s < r.nsteps; s++) {
            cascade_step_by_hand(a, m, &meth, s, 5, &e);
            for (int i = 0; i < n; i++) {
                double sim[3];
                xai_map_similarity(sim, e.stored + i * e.size, a + i * e.size, e.h.shape);
                if ((float)sim[0] != r.spearman[s * n + i] || (float)sim[2] != r.ssim[s * n + i])
                    fail_msg("%s step %d image %d: %g %g by hand, %g %g in the cascade", which[k], s, i, sim[0],
                             sim[2], r.spearman[s * n + i], r.ssim[s * n + i]);
            }
        }
        free(a);
        xai_sanity_result_free(&r);
        explained_free(&e);
    }
    xai_model_free(em);
    xai_model_free(m);
}

/* ||a - b|| / ||b|| in double, as faith.c computes it. */
static double rel_dist(const float *a, const float *b, size_t n)
{
    double d = 0, z = 0;
    for (size_t j = 0; j < n; j++) d += ((double)a[j] - b[j]) * ((double)a[j] - b[j]), z += (double)b[j] * b[j];
    return z > 0 ? sqrt(d / z) : d > 0 ? INFINITY : 0;
}

/* Max-sensitivity of n images by hand (METRICS.md) with the method explaining on net. */
static void maxsens_by_hand(double *out, xai_model *net, const xai_method *meth, const xai_attr_header *h, int n,
                            int runs, double radius, uint64_t seed)
{
    const size_t size = xai_shape_size(h->shape), plane = (size_t)h->shape.h * h->shape.w;
    float *phi0 = malloc(n * size * sizeof(float)), *phi = malloc(n * size * sizeof(float));
    float *y = malloc(n * size * sizeof(float));
    xai_explainer *e;
    assert_int_equal(xai_explainer_create(&e, meth, net), XAI_OK);
    assert_int_equal(xai_explainer_run(e, h->inputs, h->targets, h->indices, n, phi0, NULL), XAI_OK);
    const uint64_t stream = xai_noise_seed(seed, XAI_NOISE_MAXSENS);
    for (int i = 0; i < n; i++) out[i] = 0;
    for (int k = 0; k < runs; k++) {
        for (int i = 0; i < n; i++)
            for (int c = 0; c < h->shape.c; c++) {
                const float rad = (float)(radius / net->std[c]);
                const uint64_t base = ((uint64_t)h->indices[i] * runs + k) * size;
                for (size_t p = 0; p < plane; p++) {
                    const size_t j = c * plane + p;
                    y[i * size + j] = h->inputs[i * size + j] + rad * (2 * xai_hash_uniform(stream, base + j) - 1);
                }
            }
        assert_int_equal(xai_explainer_run(e, y, h->targets, h->indices, n, phi, NULL), XAI_OK);
        for (int i = 0; i < n; i++) {
            const double v = rel_dist(phi + i * size, phi0 + i * size, size);
            if (v > out[i] || isnan(v)) out[i] = v;
        }
    }
    xai_explainer_free(e);
    free(phi0), free(phi), free(y);
}

/* The random-logit similarities (spearman, spearman |.|, ssim: (3, n)) by hand. */
static void randlogit_by_hand(double *out, xai_model *net, const xai_method *meth, const xai_attr_header *h, int n,
                              const int32_t *cls)
{
    const size_t size = xai_shape_size(h->shape);
    float *a = malloc(n * size * sizeof(float)), *b = malloc(n * size * sizeof(float));
    xai_explainer *e;
    assert_int_equal(xai_explainer_create(&e, meth, net), XAI_OK);
    assert_int_equal(xai_explainer_run(e, h->inputs, h->targets, h->indices, n, a, NULL), XAI_OK);
    assert_int_equal(xai_explainer_run(e, h->inputs, cls, h->indices, n, b, NULL), XAI_OK);
    for (int i = 0; i < n; i++) {
        double sim[3];
        xai_map_similarity(sim, a + i * size, b + i * size, h->shape);
        for (int q = 0; q < 3; q++) out[q * n + i] = sim[q];
    }
    xai_explainer_free(e);
    free(a), free(b);
}

/* Largest |a - b| / (|b| + 1e-300) over n values, NaN pairs equal. */
static double max_rel(const double *a, const double *b, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i])) continue;
        const double d = fabs(a[i] - b[i]) / (fabs(b[i]) + 1e-300);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

#define TIGHT 1e-12 /* the same arithmetic: the values agree to double rounding of their sums */

/* xai evaluate's max-sensitivity and random-logit values are those computed by hand with explain's
 * net (folded, explain's rows); with the unfolded model as evaluate loads it they are not. */
static void test_evaluate_maxsens_randlogit(void **state)
{
    (void)state;
    xai_eval_opts o;
    xai_eval_defaults(&o);
    o.model = model_path, o.attributions = attr_path, o.out = metrics_path, o.batch = EVAL_BATCH;
    o.faith.which = 1u << XAI_FM_MAXSENS | 1u << XAI_FM_RANDLOGIT;
    o.faith.maxsens_n = 9, o.faith.maxsens_runs = 2, o.faith.randlogit_n = 9;
    o.flip.steps = 4;
    o.sanity = 1, o.sanity_n = 9; /* the cascade through evaluate: it runs on the shared fold */
    FILE *log = fopen("/dev/null", "w");
    assert_int_equal(xai_evaluate(&o, log), XAI_OK);
    fclose(log);
    xai_model *m, *em;
    load_as_evaluate(&m, &em);
    double worst_unfolded = 0;
    for (int k = 0; k < NM; k++) {
        explained e;
        read_explained(&e, methods[k]);
        const int n = e.h.n;
        xai_method meth;
        assert_int_equal(xai_method_parse(&meth, methods[k], NULL), XAI_OK);
        double *ms, *sp, *sa, *ss, hand[9], unf[9], rl[27], rlu[27];
        int nv;
        assert_int_equal(xai_metricsfile_read_values(metrics_path, methods[k], "max_sensitivity/values", &ms, &nv), XAI_OK);
        assert_int_equal(nv, n);
        maxsens_by_hand(hand, em, &meth, &e.h, n, 2, o.faith.maxsens_radius, o.flip.seed);
        if (max_rel(ms, hand, n) > TIGHT) fail_msg("%s: max-sensitivity is not the folded net's", methods[k]);
        maxsens_by_hand(unf, m, &meth, &e.h, n, 2, o.faith.maxsens_radius, o.flip.seed);
        if (meth.kind != XAI_METHOD_LRP && max_rel(unf, hand, n) > worst_unfolded) worst_unfolded = max_rel(unf, hand, n);
        /* The other classes as the file names them (METRICS.md: /metric_info/randlogit/class). */
        int32_t cls[9];
        for (int i = 0; i < n; i++) {
            xai_rng g;
            xai_noise_rng(&g, o.flip.seed, XAI_NOISE_RANDLOGIT, (uint64_t)e.h.indices[i], 0);
            const int32_t c = (int32_t)xai_rng_below(&g, (uint32_t)(e.h.nclasses - 1));
            cls[i] = c >= e.h.targets[i] ? c + 1 : c;
        }
        assert_int_equal(xai_metricsfile_read_values(metrics_path, methods[k], "random_logit/spearman/values", &sp, &nv),
                         XAI_OK);
        assert_int_equal(xai_metricsfile_read_values(metrics_path, methods[k], "random_logit/spearman_abs/values", &sa,
                                                     &nv),
                         XAI_OK);
        assert_int_equal(xai_metricsfile_read_values(metrics_path, methods[k], "random_logit/ssim/values", &ss, &nv),
                         XAI_OK);
        randlogit_by_hand(rl, em, &meth, &e.h, n, cls);
        randlogit_by_hand(rlu, m, &meth, &e.h, n, cls);
        const double *got[3] = {sp, sa, ss};
        for (int q = 0; q < 3; q++) {
            if (max_rel(got[q], rl + q * n, n) > TIGHT)
                fail_msg("%s: random-logit measure %d is not the folded net's", methods[k], q);
            if (meth.kind != XAI_METHOD_LRP && max_rel(rlu + q * n, rl + q * n, n) > worst_unfolded)
                worst_unfolded = max_rel(rlu + q * n, rl + q * n, n);
        }
        free(ms), free(sp), free(sa), free(ss);
        explained_free(&e);
    }
    /* The unfolded net's values are another computation: the comparison above can fail. */
    assert_true(worst_unfolded > 100 * TIGHT);
    xai_model_free(em);
    xai_model_free(m);
}

/* The library's default (no net given): max-sensitivity on a fold of m made per run. */
static void test_faith_default_folds(void **state)
{
    (void)state;
    explained e;
    read_explained(&e, "gradient-x-input");
    xai_model *m;
    assert_int_equal(xai_model_load(&m, model_path, EVAL_BATCH), XAI_OK);
    xai_method meth;
    assert_int_equal(xai_method_parse(&meth, "gradient-x-input", NULL), XAI_OK);
    xai_faith_opts o;
    xai_faith_defaults(&o);
    o.which = 1u << XAI_FM_MAXSENS, o.maxsens_n = 3, o.maxsens_runs = 2;
    xai_flip_opts flip;
    xai_flip_defaults(&flip);
    const float *attr[1] = {e.stored};
    const xai_faith_input in = {e.h.inputs, e.h.targets, e.h.indices, e.h.n, attr, &meth, 1, &flip, NULL};
    xai_faith_result r;
    assert_int_equal(xai_faith_run(&r, m, &in, &o), XAI_OK);
    xai_model *f;
    assert_int_equal(xai_model_fold_batchnorm(&f, m, m->max_batch), XAI_OK);
    double hand[3];
    maxsens_by_hand(hand, f, &meth, &e.h, 3, 2, o.maxsens_radius, flip.seed);
    if (max_rel(r.m[0].maxsens, hand, 3) > TIGHT) fail_msg("max-sensitivity is not the folded net's");
    xai_faith_result_free(&r);
    xai_model_free(f);
    xai_model_free(m);
    explained_free(&e);
}

/* Every family of xai evaluate runs explain's folded net, not only those that explain again: the
 * deletion curve's step 0 (a forward pass of the unperturbed image) is the folded net's logit bit
 * for bit, on a net whose batch norms change the rounding (explain's stored /logits are the
 * unfolded net's: they differ). */
static void test_evaluate_forward_folded(void **state)
{
    (void)state;
    xai_eval_opts o;
    xai_eval_defaults(&o);
    o.model = model_path, o.attributions = attr_path, o.out = metrics_path, o.batch = EVAL_BATCH;
    o.faith.which = 1u << XAI_FM_INSDEL, o.flip.steps = 4, o.sanity = 0, o.ig_curve = 0;
    FILE *log = fopen("/dev/null", "w");
    assert_int_equal(xai_evaluate(&o, log), XAI_OK);
    fclose(log);
    explained e;
    read_explained(&e, "gradient");
    const int n = e.h.n, K = e.h.nclasses;
    hid_t f;
    assert_int_equal(xai_h5_open(&f, metrics_path, 0), XAI_OK);
    uint64_t dims[2];
    const char *obj = "/methods/gradient/deletion/logit/curves";
    assert_int_equal(xai_h5_dims(f, obj, dims), 2);
    assert_int_equal(dims[0], n);
    float *curves = malloc(dims[0] * dims[1] * sizeof *curves);
    assert_int_equal(xai_h5_read(f, obj, H5T_NATIVE_FLOAT, curves, 2, dims, metrics_path), XAI_OK);
    xai_h5_close(f);
    /* the folded net by hand (another row count: the engine is batch-invariant) */
    xai_model *m, *fm;
    assert_int_equal(xai_model_load(&m, model_path, n), XAI_OK);
    assert_int_equal(xai_explain_model(&fm, m, n), XAI_OK);
    const float *lg = xai_model_forward(fm, e.h.inputs, n);
    int unfolded_differs = 0;
    for (int i = 0; i < n; i++) {
        const float want = lg[(size_t)i * K + e.h.targets[i]];
        if (curves[(size_t)i * dims[1]] != want)
            fail_msg("image %d: deletion step 0 %.9g, the folded net's logit %.9g", i, curves[(size_t)i * dims[1]], want);
        /* and the test can fail: explain's stored logits are the unfolded net's, different bits */
        unfolded_differs |= e.h.logits[(size_t)i * K + e.h.targets[i]] != want;
    }
    assert_true(unfolded_differs);
    xai_model_free(fm);
    xai_model_free(m);
    free(curves);
    explained_free(&e);
}

/* Refolding writes what a fresh fold holds, without allocating, and refuses another structure. */
static void test_refold(void **state)
{
    (void)state;
    xai_model *m = bn_net(2), *f, *g;
    assert_int_equal(xai_model_fold_batchnorm(&f, m, 3), XAI_OK);
    m->layers[4].w[7] += 0.5f;   /* the second conv, followed by a batch norm */
    m->layers[5].rvar[1] = 2.0f; /* its batch norm */
    assert_int_equal(xai_model_refold_batchnorm(f, m), XAI_OK);
    assert_int_equal(xai_model_fold_batchnorm(&g, m, 1), XAI_OK);
    assert_int_equal(f->nparams, g->nparams);
    assert_memory_equal(f->params, g->params, f->nparams * sizeof(float));
    xai_model *other = model_from("[model]\ninput = 3x16x16\nclasses = 5\nlayer = gap\nlayer = linear out=5\n", 1);
    memcpy(g->params, f->params, f->nparams * sizeof(float));
    assert_int_equal(xai_model_refold_batchnorm(f, other), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "refold"));
    assert_memory_equal(f->params, g->params, f->nparams * sizeof(float)); /* untouched */
    assert_int_equal(xai_model_folds(other), 0);
    xai_clear_error();
    xai_model_free(other);
    xai_model_free(g);
    xai_model_free(f);
    xai_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refold),
        cmocka_unit_test(test_cascade_step0_is_explain),
        cmocka_unit_test(test_cascade_steps_refolded),
        cmocka_unit_test(test_evaluate_maxsens_randlogit),
        cmocka_unit_test(test_faith_default_folds),
        cmocka_unit_test(test_evaluate_forward_folded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
