/* sanity.c: model-parameter randomisation test (Adebayo et al. 2018) with Spearman and SSIM.
 * Layers are re-initialised top-down, cumulatively; a method that ignores the model keeps correlation 1. */
#include "explainers/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Average ranks (1-based), ties share the mean of their positions. */
static void ranks(double *r, const float *v, int n, int32_t *idx)
{
    /* Ascending by value, ties by index: the LeRF order of pixel flipping. */
    xai_flip_order_features(idx, v, n, XAI_FLIP_LERF, 0, 0);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
        double avg = 0.5 * (i + j) + 1;
        for (int t = i; t <= j; t++) r[idx[t]] = avg;
        i = j + 1;
    }
}

double xai_spearman(const float *a, const float *b, int n, int32_t *idx, double *rank)
{
    if (n < 2) return NAN;
    double *ra = rank, *rb = rank + n;
    ranks(ra, a, n, idx);
    ranks(rb, b, n, idx);
    double mu = 0.5 * (n + 1), sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        double da = ra[i] - mu, db = rb[i] - mu;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    if (saa == 0 || sbb == 0) return NAN;
    return sab / sqrt(saa * sbb);
}

double xai_ssim(const float *a, const float *b, int h, int w, double range)
{
    int win = 11;
    if (win > h) win = h;
    if (win > w) win = w;
    if (win % 2 == 0) win--;
    int r = win / 2;
    double g[11], gs = 0;
    for (int i = -r; i <= r; i++) gs += g[i + r] = exp(-0.5 * i * i / (1.5 * 1.5));
    for (int i = 0; i < win; i++) g[i] /= gs;
    double c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range);
    double total = 0;
    int count = 0;
    for (int y = r; y < h - r; y++)
        for (int x = r; x < w - r; x++) {
            double ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    double wt = g[dy + r] * g[dx + r];
                    double va = a[(y + dy) * w + x + dx], vb = b[(y + dy) * w + x + dx];
                    ma += wt * va;
                    mb += wt * vb;
                    aa += wt * va * va;
                    bb += wt * vb * vb;
                    ab += wt * va * vb;
                }
            double va = aa - ma * ma, vb = bb - mb * mb, cov = ab - ma * mb;
            total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count++;
        }
    return count ? total / count : NAN;
}

void xai_sanity_result_free(xai_sanity_result *r)
{
    free(r->layer);
    free(r->spearman);
    free(r->spearman_abs);
    free(r->ssim);
    memset(r, 0, sizeof *r);
}

/* ids name each image's random streams, whichever batch it falls in (0..n-1 when NULL). */
static xai_status attribute_all(float *attr, xai_model *m, const float *x, const int32_t *target, const int64_t *ids,
                                int n, xai_attr_fn fn, void *ctx)
{
    size_t size = xai_shape_size(m->in);
    int64_t *pos = NULL;
    if (!ids) {
        pos = xai_malloc((size_t)n * sizeof *pos);
        for (int i = 0; i < n; i++) pos[i] = i;
        ids = pos;
    }
    xai_status s = XAI_OK;
    for (int i0 = 0; i0 < n && s == XAI_OK; i0 += m->max_batch) {
        int nb = n - i0 < m->max_batch ? n - i0 : m->max_batch;
        s = fn(ctx, m, x + (size_t)i0 * size, target + i0, ids + i0, nb, attr + (size_t)i0 * size);
    }
    free(pos);
    XAI_TRY(s);
    for (size_t j = 0; j < (size_t)n * size; j++)
        if (!isfinite(attr[j]))
            return xai_fail(XAI_ESTATE, "sanity check: the method gave a non-finite attribution for image %zu", j / size);
    return XAI_OK;
}

/* Channel-summed map (H, W) of one image; abs_scaled additionally takes |.| / max. */
static void heatmap(float *map, float *abs_scaled, const float *attr, xai_shape s)
{
    size_t plane = (size_t)s.h * s.w;
    float mx = 0;
    for (size_t p = 0; p < plane; p++) {
        double acc = 0;
        for (int c = 0; c < s.c; c++) acc += attr[c * plane + p];
        map[p] = (float)acc;
        abs_scaled[p] = fabsf(map[p]);
        if (abs_scaled[p] > mx) mx = abs_scaled[p];
    }
    if (mx > 0)
        for (size_t p = 0; p < plane; p++) abs_scaled[p] /= mx;
}

void xai_map_similarity(double out[3], const float *a, const float *b, xai_shape s)
{
    const size_t plane = (size_t)s.h * s.w;
    float *m0 = xai_malloc(plane * sizeof *m0), *m1 = xai_malloc(plane * sizeof *m1);
    float *s0 = xai_malloc(plane * sizeof *s0), *s1 = xai_malloc(plane * sizeof *s1);
    int32_t *idx = xai_malloc(plane * sizeof *idx);
    double *rk = xai_malloc(2 * plane * sizeof *rk);
    heatmap(m0, s0, a, s);
    heatmap(m1, s1, b, s);
    out[0] = xai_spearman(m0, m1, (int)plane, idx, rk);
    out[1] = xai_spearman(s0, s1, (int)plane, idx, rk);
    out[2] = xai_ssim(s0, s1, s.h, s.w, 1.0);
    free(m0), free(m1), free(s0), free(s1), free(idx), free(rk);
}

void xai_sanity_alloc(xai_sanity_result *r, const xai_model *m, int n)
{
    memset(r, 0, sizeof *r);
    int np = 0;
    for (int i = 0; i < m->nlayers; i++) np += m->layers[i].type == XAI_CONV2D || m->layers[i].type == XAI_LINEAR;
    r->nsteps = 1 + np;
    r->n = n;
    r->layer = xai_malloc(r->nsteps * sizeof *r->layer);
    r->spearman = xai_calloc((size_t)r->nsteps * n, sizeof(float));
    r->spearman_abs = xai_calloc((size_t)r->nsteps * n, sizeof(float));
    r->ssim = xai_calloc((size_t)r->nsteps * n, sizeof(float));
    r->layer[0] = -1;
    for (int i = m->nlayers - 1, s = 1; i >= 0; i--)
        if (m->layers[i].type == XAI_CONV2D || m->layers[i].type == XAI_LINEAR) r->layer[s++] = i;
}

/* The similarities of step s, image by image: images are independent, so threads take them in any order. */
static void step_similarity(xai_sanity_result *r, int s, const float *a0, const float *a1, xai_shape shape)
{
    const size_t size = xai_shape_size(shape);
    const int n = r->n;
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        double sim[3];
        xai_map_similarity(sim, a0 + (size_t)i * size, a1 + (size_t)i * size, shape);
        size_t at = (size_t)s * n + i;
        r->spearman[at] = (float)sim[0];
        r->spearman_abs[at] = (float)sim[1];
        r->ssim[at] = (float)sim[2];
    }
}

xai_status xai_sanity_cascade(xai_sanity_result *r, xai_model *m, xai_model *fm, const float *x,
                              const int32_t *target, const int64_t *ids, int n, xai_attr_fn fn, void *ctx,
                              uint64_t seed)
{
    memset(r, 0, sizeof *r);
    if (n <= 0) return xai_fail(XAI_EINVAL, "sanity check: no images (n = %d)", n);
    xai_model *rnd = NULL, *own = NULL;
    float *saved = NULL, *a0 = NULL, *a1 = NULL;
    xai_status st = XAI_OK;
    /* The net the method explains: m's fold, as xai explain explains (the caller's, shared between
     * calls, or one of our own); m itself when there is nothing to fold. */
    if (!fm && xai_model_folds(m) && (st = xai_model_fold_batchnorm(&own, m, m->max_batch)) != XAI_OK) return st;
    xai_model *em = fm ? fm : own ? own : m;
    if (em != m && (st = xai_model_refold_batchnorm(em, m)) != XAI_OK) goto done;
    if ((st = xai_model_clone(&rnd, m, 1)) != XAI_OK) goto done;
    xai_model_init(rnd, seed);
    /* The layers are randomised in m itself, whose arenas are warm (a clone of m's capacity costs a
     * page fault per 4 KiB of activations on first use), its weights restored at the end. The
     * batch norms are not randomised: a randomised conv/linear layer is refolded with its trained
     * batch norm, the same function as the unfolded net's at that step. */
    saved = xai_malloc(m->nparams * sizeof *saved);
    memcpy(saved, m->params, m->nparams * sizeof *saved);
    const uint64_t step = m->step;
    xai_eval_scope scope = xai_eval_begin(em, 0);
    xai_sanity_alloc(r, m, n);

    size_t size = xai_shape_size(m->in);
    a0 = xai_malloc((size_t)n * size * sizeof *a0), a1 = xai_malloc((size_t)n * size * sizeof *a1);
    xai_progress p;
    xai_progress_start(&p, "randomisation", r->nsteps, "step");
    st = attribute_all(a0, em, x, target, ids, n, fn, ctx);
    for (int s = 0; st == XAI_OK && s < r->nsteps; s++) {
        if (s > 0) {
            const xai_layer *src = &rnd->layers[r->layer[s]];
            xai_layer *dst = &m->layers[r->layer[s]];
            memcpy(dst->w, src->w, src->nw * sizeof *dst->w);
            if (src->nb) memcpy(dst->b, src->b, src->nb * sizeof *dst->b);
            if (em != m && (st = xai_model_refold_batchnorm(em, m)) != XAI_OK) break;
            st = attribute_all(a1, em, x, target, ids, n, fn, ctx);
            if (st != XAI_OK) break;
        } else {
            memcpy(a1, a0, (size_t)n * size * sizeof *a1);
        }
        step_similarity(r, s, a0, a1, m->in);
        xai_progress_update(&p, s + 1);
    }
    xai_progress_end(&p, NULL);
    memcpy(m->params, saved, m->nparams * sizeof *saved);
    m->step = step;
    /* The caller's fold holds m's own weights again (the check passed above: this cannot fail). */
    if (em != m) xai_model_refold_batchnorm(em, m);
    xai_eval_end(em, scope);
done:
    free(saved);
    free(a0);
    free(a1);
    xai_model_free(rnd);
    xai_model_free(own);
    if (st != XAI_OK) xai_sanity_result_free(r);
    return st;
}

void xai_sanity_means(const xai_sanity_result *r, double *mean, double *se)
{
    const float *arr[3] = {r->spearman, r->spearman_abs, r->ssim};
    const int S = r->nsteps, n = r->n;
    double *v = xai_malloc((size_t)n * sizeof *v);
    for (int q = 0; q < 3; q++)
        for (int s = 0; s < S; s++) {
            for (int i = 0; i < n; i++) v[i] = arr[q][(size_t)s * n + i];
            xai_stats t;
            xai_stats_of(&t, v, n);
            mean[q * S + s] = t.mean;
            se[q * S + s] = t.se;
        }
    free(v);
}
