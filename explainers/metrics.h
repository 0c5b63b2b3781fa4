/* metrics.h: public API of the attribution metrics: pixel flipping / region perturbation,
 * completeness and conservation, model-parameter randomisation. Formulas: explainers/METRICS.md. */
#ifndef XAI_METRICS_H
#define XAI_METRICS_H

#include "core/base.h"
#include "core/config.h"
#include "core/io.h"
#include "core/nn.h"

#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------ statistics */

typedef struct {
    int n;          /* finite values used (NaN and inf are left out of mean/se, kept in the quantiles) */
    double mean, se; /* se: sample standard deviation / sqrt(n); NaN when n < 2 */
    double median, p90; /* quantiles with linear interpolation (numpy's default) over all n values */
} xai_stats;

void xai_stats_of(xai_stats *s, const double *v /* (n) */, int n);
/* Quantile q in [0, 1] of v (linear interpolation); v is left untouched. NaN when n == 0. */
double xai_quantile(const double *v /* (n) */, int n, double q);

/* ---------------------------------------------------------- pixel flipping */

typedef enum { XAI_PERTURB_ZERO, XAI_PERTURB_MEAN, XAI_PERTURB_NOISE, XAI_PERTURB_BLUR, XAI_PERTURB_KINDS } xai_perturb_kind;
const char *xai_perturb_name(xai_perturb_kind k); /* "zero", "mean", "noise", "blur" */
int xai_perturb_from_name(const char *name);      /* -1 when unknown */

typedef enum { XAI_FLIP_MORF, XAI_FLIP_LERF, XAI_FLIP_RANDOM } xai_flip_order;

typedef struct {
    int patch;          /* side of a square feature in pixels; 1: single pixels (summed over channels) */
    int steps;          /* number of perturbation steps K (curves have K + 1 points); used when per_step == 0 */
    int per_step;       /* features removed per step; 0: ceil(fraction * features / steps) */
    double fraction;    /* stop once this fraction of the features is removed, in (0, 1] */
    xai_perturb_kind perturb;
    float blur_sigma;   /* Gaussian blur in pixels for XAI_PERTURB_BLUR */
    uint64_t seed;      /* uniform noise values and the random control order */
} xai_flip_opts;

/* patch 1, steps 50, fraction 0.5, zero (black) perturbation, blur sigma 2, seed 1. */
void xai_flip_defaults(xai_flip_opts *o);
/* Checks the options against an image shape; names the offending option. */
xai_status xai_flip_check(const xai_flip_opts *o, xai_shape s);

/* Features are the cells of a ceil(H/p) x ceil(W/p) grid of p x p patches, row-major;
 * patches on the right and bottom edges are clipped to the image. */
int xai_flip_nfeatures(xai_shape s, int patch);
/* Feature relevance: sum of the attribution over the patch's pixels and all channels. */
void xai_flip_feature_scores(float *score /* (F) */, const float *attr /* (C, H, W) */, xai_shape s, int patch);
/* Order in which features are removed: MoRF sorts by descending score, LeRF by ascending
 * score (ties by ascending index in both); RANDOM shuffles with a stream seeded by
 * (seed, image_id) only, so every method sees the same control order for an image. */
void xai_flip_order_features(int32_t *order /* (F) */, const float *score /* (F) */, int nf, xai_flip_order which,
                             uint64_t seed, uint64_t image_id);
/* Replacement image for x: every pixel a removed feature gets. mean/std are the model's
 * per-channel normalisation (inputs are (pixel - mean) / std): zero is black, i.e.
 * -mean/std; mean is the dataset mean, 0; noise is uniform in [0, 1) pixel units from a
 * counter hash of (seed, image_id, pixel); blur is x smoothed with a Gaussian of blur_sigma
 * whose weights are renormalised at the borders (explainers/perturb.h builds all of them).
 * scratch: (C, H, W), used by blur only. */
void xai_flip_reference(float *ref /* (C, H, W) */, const float *x /* (C, H, W) */, xai_shape s,
                        const xai_flip_opts *o, const float *mean /* (C) */, const float *std /* (C) */,
                        uint64_t image_id, float *scratch /* (C, H, W) */);
/* Copies ref into img over the pixels of one feature (all channels); writes nothing else. */
void xai_flip_apply(float *img /* (C, H, W) */, const float *ref /* (C, H, W) */, xai_shape s, int patch, int feature);

/* Perturbed images are built in place, in the model's input buffer: xai_fwd_slot hands out the next
 * row (running the batch first when it is full) and records where that row's target logit and
 * probability go (either may be NULL); xai_fwd_flush runs the rows pending. Destinations are only
 * written by a flush, so read them after the last one. */
typedef struct {
    xai_model *m;
    size_t size;
    int fill;
    float **dl, **dp; /* (max_batch) destinations */
    int32_t *tgt;     /* (max_batch) */
    float *probs;     /* (max_batch, classes) */
    double forwarded; /* images run so far */
} xai_fwd_batch;
void xai_fwd_init(xai_fwd_batch *b, xai_model *m);
float *xai_fwd_slot(xai_fwd_batch *b, int32_t target, float *logit, float *prob);
void xai_fwd_flush(xai_fwd_batch *b);
void xai_fwd_free(xai_fwd_batch *b);

/* A metric's perturbed inputs as jobs, built in parallel: a job (a curve, an image's perturbations)
 * is a run of rows, and fill(ctx, job, k0, k1, out) writes its rows k0..k1-1 into consecutive rows
 * of out, from scratch, whatever k0 is. Each row must be a function of (job, row) alone: fill runs
 * on any thread, beside other fills, so the values do not depend on the thread count. */
typedef struct {
    void *ctx;
    int64_t njobs;
    int (*rows)(void *ctx, int64_t job);
    int chunk; /* at most this many rows a fill call, cut at multiples of it (0: whole jobs) */
    /* the target of row k of job and where its logit and probability go (either may be NULL) */
    void (*dest)(void *ctx, int64_t job, int k, int32_t *target, float **logit, float **prob);
    void (*fill)(void *ctx, int64_t job, int k0, int k1, float *out);
} xai_fwd_jobs;
/* Every row of every job into b, in job and row order: the rows, batches and flushes that one
 * xai_fwd_slot call per row would give. Each batch's pieces are filled in parallel; the last,
 * partial batch stays pending. Returns the wall seconds spent filling. */
double xai_fwd_run(xai_fwd_batch *b, const xai_fwd_jobs *j);

/* The removal schedule of a curve over nf features: K steps of per features (the last may be
 * shorter) until ceil(fraction * nf) are removed; per = per_step, or ceil(limit / steps) when
 * per_step is 0. *removed and *frac (K + 1 values each, malloc'd) as in xai_flip_result. Returns K. */
int xai_flip_schedule(int nf, double fraction, int steps, int per_step, int64_t **removed, double **frac);

/* Target logit and target softmax probability after each step, one row per image. */
typedef struct {
    float *logit; /* (N, K + 1) */
    float *prob;  /* (N, K + 1) */
} xai_flip_curve;

typedef struct {
    int n, nsteps, nfeatures, per_step, nmethods; /* nsteps = K */
    int64_t *removed;      /* (K + 1) features removed after step k (removed[0] = 0) */
    double *frac;          /* (K + 1) removed[k] / nfeatures */
    xai_flip_curve random; /* the control, shared by all methods */
    xai_flip_curve *morf, *lerf; /* (nmethods) */
    double forward_images; /* images that went through the net */
    double seconds;        /* wall time of xai_pixelflip */
} xai_flip_result;

/* Steps k0+1..k1 of one curve into consecutive rows of out: the image of step k is `start` with the
 * first removed[k] features of `order` copied from `src` (the first row built from scratch, each
 * next from the one before). Step 0 is left to the caller, who usually shares it between curves. */
void xai_flip_curve_rows(float *out, const float *start, const float *src, const int32_t *order,
                         const int64_t *removed, int k0, int k1, xai_shape s, int patch);
void xai_flip_curve_alloc(xai_flip_curve *c, int n, int nsteps);
void xai_flip_curve_free(xai_flip_curve *c);

/* Runs MoRF and LeRF for every method and the random control on n images. All perturbed
 * images go through m in batches of m->max_batch (m is put in eval mode). image_id names
 * each image for the noise and random streams (e.g. its row in the attribution file). */
xai_status xai_pixelflip(xai_flip_result *r, xai_model *m, const float *x /* (N, C, H, W) */,
                         const int32_t *target /* (N) */, const int64_t *image_id /* (N) */, int n,
                         const float *const *attr /* nmethods x (N, C, H, W) */, int nmethods,
                         const xai_flip_opts *o);
void xai_flip_result_free(xai_flip_result *r);

/* Per-image scores of curves f_k, k = 0..K (see METRICS.md):
 * AOPC = 1/(K+1) sum_k (f_0 - f_k); AUC = trapezoid of f over frac. */
void xai_flip_aopc(double *aopc /* (N) */, const float *curves /* (N, K + 1) */, int n, int nsteps);
void xai_flip_auc(double *auc /* (N) */, const float *curves /* (N, K + 1) */, const double *frac /* (K + 1) */,
                  int n, int nsteps);
/* Mean over images of each step and its standard error. */
void xai_flip_curve_stats(double *mean /* (K + 1) */, double *se /* (K + 1) */, const float *curves /* (N, K + 1) */,
                          int n, int nsteps);

/* ------------------------------------------------- completeness / conservation */

/* sum[i] = sum(attr_i); abs_err[i] = |sum[i] - (fx[i] - fref[i])|; rel[i] = abs_err[i] / |fx[i] - fref[i]|
 * (0 when both are 0, inf when only the denominator is). fref NULL means 0 (LRP conservation). */
void xai_completeness(double *rel /* (N) */, double *abs_err /* (N) */, double *sum /* (N) */,
                      const float *attr /* (N, size) */, size_t size, const float *fx /* (N) */,
                      const float *fref /* (N) or NULL */, int n);
/* LRP's absorbed share (f(x) - S) / f(x) per image; NaN where f(x) = 0, where a share of nothing
 * has no meaning (reading 0 there would claim "nothing absorbed"). Returns how many images that
 * excluded. */
int xai_absorbed_share(double *share /* (N) */, const double *sum /* (N) */, const float *fx /* (N) */, int n);
/* Share of f(x) = S_L absorbed inside each layer, (S_{j+1} - S_j) / S_L, averaged over the images
 * with S_L != 0 only (the others have no share; counting them as 0 would shrink the mean). ls: the
 * relevance sum at each layer's input and, last, S_L. Returns how many images were excluded; the
 * shares are NaN when every image is. */
int xai_layer_absorbed_share(double *share /* (cols - 1) */, const double *ls /* (N, cols) */, int n, int cols);


/* An attribution method as a callback, so metrics can recompute attributions on other
 * models or with other settings: fills attr for n <= m->max_batch images. ids name the images'
 * random streams (smoothgrad's noise, seeded baselines; NULL: 0..n-1), so that an image's map does
 * not depend on the batch it comes in. */
typedef xai_status (*xai_attr_fn)(void *ctx, xai_model *m, const float *x /* (N, C, H, W) */,
                                  const int32_t *target /* (N) */, const int64_t *ids /* (N) or NULL */, int n,
                                  float *attr /* (N, C, H, W) */);

/* ------------------------------------------------------------ sanity checks */

/* Spearman rank correlation of a and b (average ranks for ties; NaN when either is constant).
 * idx: (n) and rank: (2n) scratch. */
double xai_spearman(const float *a /* (n) */, const float *b /* (n) */, int n, int32_t *idx /* (n) */,
                    double *rank /* (2n) */);
/* Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, windows fully
 * inside the image; the window shrinks to the image on smaller images) of two maps whose values
 * span `range`. */
double xai_ssim(const float *a /* (H, W) */, const float *b /* (H, W) */, int h, int w, double range);

/* How alike two attributions of one image are, as the randomisation tests compare them: out[0]
 * Spearman of the channel-summed (H, W) maps, out[1] Spearman of their absolute values, out[2] SSIM
 * of the absolute maps scaled by their maximum to [0, 1]. */
void xai_map_similarity(double out[3], const float *a /* (C, H, W) */, const float *b /* (C, H, W) */, xai_shape s);

/* Cascading model-parameter randomisation (Adebayo et al. 2018). Step 0 is the original
 * model; step s re-initialises the s topmost conv/linear layers (He/Glorot uniform weights,
 * zero biases, as xai_model_init, from `seed`). At each step attributions are recomputed with
 * fn and compared per image with those of step 0 on the channel-summed (H, W) map: Spearman of
 * the signed maps and of their absolute values, and SSIM of the absolute maps scaled by their
 * maximum to [0, 1]. */
typedef struct {
    int nsteps, n;        /* nsteps = 1 + parametrised layers */
    int *layer;           /* (nsteps) model layer index randomised last at each step; -1 for step 0 */
    float *spearman;      /* (nsteps, N) */
    float *spearman_abs;  /* (nsteps, N) */
    float *ssim;          /* (nsteps, N) */
} xai_sanity_result;

/* m's conv/linear weights are randomised in place and restored before the call returns; its batch
 * norms are never randomised. fn explains with the net `xai explain` explains with: fm, a fold of
 * m (xai_model_fold_batchnorm or xai_explain_model, any capacity; fn sees fm at every step, with
 * the same pointer: xai_method_attr_cached_fn), refolded from m after each randomisation
 * (xai_model_refold_batchnorm: a randomised layer folded with its trained batch norm) and left as
 * m's fold at the end. fm NULL: a fold of m's own capacity made here, or m itself when m has no
 * batch norm to fold (xai_model_folds); fm = m: m itself, unfolded. Layer indices in r are m's. */
xai_status xai_sanity_cascade(xai_sanity_result *r, xai_model *m, xai_model *fm, const float *x /* (N, C, H, W) */,
                              const int32_t *target /* (N) */, const int64_t *ids /* (N) or NULL: 0..n-1 */, int n,
                              xai_attr_fn fn, void *ctx, uint64_t seed);
/* The cascade's steps and layers for m, with zeroed (nsteps, n) arrays (n >= 0): the result that
 * the per-image columns of several partial cascades (an `mpirun` rank's share of the images, none
 * on a rank without images) are gathered into. */
void xai_sanity_alloc(xai_sanity_result *r, const xai_model *m, int n);
void xai_sanity_result_free(xai_sanity_result *r);
/* Mean and standard error over images of spearman, spearman_abs and ssim at each step. */
void xai_sanity_means(const xai_sanity_result *r, double *mean /* (3, S) */, double *se /* (3, S) */);

/* ------------------------------------------------------------- summaries */

/* Appends one CSV row per method of a metrics file written by `xai evaluate`:
 * label,method,aopc_morf,aopc_morf_se,aopc_lerf,aopc_lerf_se,aopc_random,aopc_random_se,
 * morf_minus_random_z,abpc,abpc_se,aopc_morf_prob,completeness_median,completeness_p90, then the
 * mean of each metric of explainers/faith.h (insertion_auc_prob ... complexity, metricsfile.h's
 * xai_metric_sources; empty where it did not run) (pixel-flipping scores on the target logit; see METRICS.md). header != 0 writes the header line first. */
xai_status xai_metrics_summary_csv(FILE *out, const char *metrics_path, const char *label, int header);

#endif
