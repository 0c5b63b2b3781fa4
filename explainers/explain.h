/* explain.h: public API of the explainers: Integrated Gradients, the LRP family, gradient baselines,
 * method specs, the `xai explain` run and its benchmarks, and the attribution HDF5 file (README.md). */
#ifndef XAI_EXPLAIN_H
#define XAI_EXPLAIN_H

#include "core/base.h"
#include "core/nn.h"

#include <stdint.h>

/* Every explainer runs through a model the caller owns, in batches of m->max_batch rows: the
 * capacity of the model bounds the memory whatever the number of steps or samples. The model is
 * put in eval mode and parameter gradients are switched off for the call; both are restored. */

/* -------------------------------------------------- batched input gradients */

/* Writes the network input of row k of image i into xrow. Called from OpenMP threads, so it must
 * only write xrow. */
typedef void (*xai_row_fn)(void *ctx, float *xrow /* (C, H, W) */, int image, int k);

/* G[i] = sum_k weight[k] * d f_target[i](x_ik) / dx for k < per_image, where x_ik is the row that
 * fill() writes; all rows of all n images go through m in batches of m->max_batch rows (an image's
 * rows may straddle two batches). Each row's gradient is that of f itself (output gradient 1),
 * weighted in double as it is added, in k order. row_logit, when not NULL, gets f_target[i](x_ik). */
xai_status xai_grad_accumulate(xai_model *m, int n, int per_image, const double *weight /* (per_image) */,
                               const int32_t *target /* (N) */, xai_row_fn fill, void *ctx,
                               double *G /* (N, C, H, W) */, float *row_logit /* (N, per_image) or NULL */);

/* ------------------------------------------------------ Integrated Gradients */

/* Quadrature on [0, 1] of the path integral. left/right Riemann: alpha = k/S (k < S, resp. k >= 1),
 * weights 1/S; midpoint: (k + 1/2)/S; trapezoid: alpha = k/(S-1), weights 1/(S-1) with both
 * ends halved (S >= 2); gauss: S-point Gauss-Legendre mapped to [0, 1]. Weights sum to 1. */
typedef enum { XAI_QUAD_LEFT, XAI_QUAD_RIGHT, XAI_QUAD_MIDPOINT, XAI_QUAD_TRAPEZOID, XAI_QUAD_GAUSS, XAI_QUAD_RULES } xai_quad_rule;
const char *xai_quad_rule_name(xai_quad_rule r); /* "left", "right", "midpoint", "trapezoid", "gauss" */
int xai_quad_rule_from_name(const char *name);   /* -1 when unknown; also accepts riemann_* and gausslegendre */
/* Gauss-Legendre nodes cost O(S^2) (Newton on the three-term recurrence of P_S): more steps than
 * this are refused for gauss (4096 nodes take ~0.1 s; its error is at rounding level long before). */
#define XAI_GAUSS_MAX_STEPS 4096
xai_status xai_quadrature(xai_quad_rule r, int steps, double *alpha /* (steps) */, double *weight /* (steps) */);

/* Baselines x' in the network's input space (pixels normalised by the model's mean/std):
 * black: pixel 0 (zero is an alias); const: pixel value `value`; mean: the dataset mean, i.e. 0;
 * uniform: pixels uniform in [0, 1) from a counter hash of (seed, image id, pixel) on IG's own
 * stream (XAI_NOISE_IG_BASELINE, not the noise removal reference's field);
 * blur: x smoothed by a Gaussian of `sigma` pixels (weights renormalised at the borders). */
typedef enum { XAI_BASE_BLACK, XAI_BASE_CONST, XAI_BASE_MEAN, XAI_BASE_UNIFORM, XAI_BASE_BLUR, XAI_BASE_KINDS } xai_baseline_kind;
const char *xai_baseline_name(xai_baseline_kind k);
int xai_baseline_from_name(const char *name); /* -1 when unknown */

typedef struct {
    int steps;              /* quadrature points, >= 1 (trapezoid: >= 2) */
    xai_quad_rule rule;
    xai_baseline_kind baseline;
    double value;           /* const baseline: pixel value in [0, 1] */
    double sigma;           /* blur baseline: Gaussian sigma in pixels, > 0 */
    uint64_t seed;          /* uniform baseline */
    int exact;              /* 1: rule=exact, the exact integral (ig_exact.h); steps and rule unused */
} xai_ig_opts;

/* Per-image figures of exact IG (ig_exact.h). */
typedef struct {
    int64_t regions;     /* linear regions the path crosses */
    double sum;          /* sum of the attribution, in double */
    double fx, fbase;    /* target logit at the image and at the baseline */
    double residual;     /* |sum - (fx - fbase)| / |fx - fbase| (divided by 1 when fx == fbase) */
    double seconds;      /* wall time of this image */
} xai_ig_exact_stats;

void xai_ig_defaults(xai_ig_opts *o); /* 50 steps, gauss, black, value 0, sigma 5, seed 1 */
/* Names the offending option when the settings are invalid. */
xai_status xai_ig_check(const xai_ig_opts *o);

/* The baseline of one image (perturb.c's reference image of the same kind). mean/std: the model's normalisation (m->mean, m->std). */
void xai_ig_baseline(float *xb /* (C, H, W) */, const float *x /* (C, H, W) */, xai_shape s, const xai_ig_opts *o,
                     const float *mean /* (C) */, const float *std /* (C) */, uint64_t image_id,
                     float *scratch /* (C, H, W) */);

/* IG of the target logit: attr = (x - x') * sum_k w_k grad f(x' + alpha_k (x - x')).
 * xb: the baselines (N, C, H, W); NULL builds them from o (ids name the images for the seeded
 * baseline; NULL: 0..n-1). delta[i] = sum(attr_i) - (f(x_i) - f(x'_i)), fbase[i] = f(x'_i);
 * either may be NULL. Sums are taken in double. */
xai_status xai_ig(xai_model *m, const xai_ig_opts *o, const float *x /* (N, C, H, W) */,
                  const float *xb /* (N, C, H, W) or NULL */, const int32_t *target /* (N) */,
                  const int64_t *ids /* (N) or NULL */, int n, float *attr /* (N, C, H, W) */,
                  double *delta /* (N) or NULL */, double *fbase /* (N) or NULL */);

/* IG of the same images and baselines under every rule x step count at once (the IG step curve):
 * run r = q * nsteps + t is rules[q] (xai_quad_rule values) with steps[t] points, and its map
 * attr[r] is what xai_ig gives with that rule and steps, bit for bit (the same node gradients,
 * weighted and added in the same order; a row's gradient does not depend on its batch). Each
 * distinct node alpha of all runs (equal as doubles: left, right, midpoint and trapezoid at nested
 * step counts share most of theirs) costs one gradient row an image, which every run that has it
 * adds with its own weight.
 * Besides attr it takes nrules * nsteps * N * C*H*W doubles: the caller cuts N to fit.
 * *grads (may be NULL) is increased by the gradient rows that went through the model: N times
 * the distinct nodes (xai_ig_grid_nodes). */
xai_status xai_ig_grid(xai_model *m, const int *rules /* (nrules) */, int nrules, const int *steps /* (nsteps) */,
                       int nsteps, const float *x /* (N, C, H, W) */, const float *xb /* (N, C, H, W) */,
                       const int32_t *target /* (N) */, int n,
                       float *attr /* (nrules * nsteps, N, C, H, W) */, int64_t *grads);
/* The distinct nodes of xai_ig_grid's runs, without a model (the cost model's count). */
xai_status xai_ig_grid_nodes(const int *rules, int nrules, const int *steps, int nsteps, int *nodes);

/* --------------------------------------------------------------------- LRP */

/* Rules for conv/linear layers (z_ij = x_i w_ij, z_j = sum_i z_ij + b_j; README.md has the formulas):
 * 0: z_ij / z_j; epsilon: z_ij / (z_j + eps sign z_j); gamma: Zennit's generalised Gamma, split by
 * the signs of x_i and z_j: z_j >= 0 takes x+ (w + gamma w+) + x- (w + gamma w-), z_j < 0 takes
 * x+ (w + gamma w-) + x- (w + gamma w+) (contributions of z_j's sign boosted); gamma-plain: w +
 * gamma w+ whatever the signs (Montavon et al. 2019's form; the same as gamma when inputs and
 * outputs are >= 0); alphabeta: alpha (z_ij)+ / z_j+ - beta (z_ij)- / z_j- (alpha - beta = 1;
 * alpha 1, beta 0 is z+); flat: w = 1, x = 1; wsquare: w^2, x = 1; zbox (z^B): x w - l w+ - h w-
 * with the data range [l, h]. */
typedef enum {
    XAI_LRP_ZERO,
    XAI_LRP_EPSILON,
    XAI_LRP_GAMMA,
    XAI_LRP_ALPHABETA,
    XAI_LRP_FLAT,
    XAI_LRP_WSQUARE,
    XAI_LRP_ZBOX,
    XAI_LRP_GAMMA_PLAIN,
    XAI_LRP_RULES
} xai_lrp_rule;
/* "0", "epsilon", "gamma", "alphabeta", "flat", "wsquare", "zbox", "gamma-plain" */
const char *xai_lrp_rule_name(xai_lrp_rule r);
int xai_lrp_rule_from_name(const char *name);  /* -1 when unknown; "zplus" gives alphabeta */

/* The three places a composite names a rule for: the first conv/linear layer, other conv layers,
 * other linear layers. */
typedef enum { XAI_LRP_SLOT_FIRST, XAI_LRP_SLOT_CONV, XAI_LRP_SLOT_DENSE, XAI_LRP_SLOTS } xai_lrp_slot;

typedef struct {
    char composite[32];         /* name it was built from ("" when set by hand) */
    int first;                  /* xai_lrp_rule of the first conv/linear layer (the one that sees the
                                   input); -1: the rule of its type (conv or dense) */
    xai_lrp_rule conv, dense;   /* other conv layers, other linear layers */
    double epsilon;             /* epsilon rule's stabiliser */
    double gamma;               /* gamma rule */
    double alpha, beta;         /* alphabeta rule where a slot has no values of its own, alpha - beta = 1 */
    double slot_alpha[XAI_LRP_SLOTS], slot_beta[XAI_LRP_SLOTS]; /* alphabeta per slot (first, conv,
                                   dense), set by a rule name that fixes them (first=alpha2beta1,
                                   conv=zplus); slot_alpha 0: the slot uses alpha and beta above */
    double stabilizer;          /* added (sign-preserving) to every other rule's denominator */
    int bias_input;             /* 1: a bias is an input with activation 1 (it takes its share of
                                   relevance, so relevance is not conserved); 0: biases are ignored */
    double zb_low, zb_high;     /* zbox data range in pixel units (normalised with the model's mean/std) */
} xai_lrp_opts;

/* Composites by name:
 *   lrp-0 / lrp-epsilon / lrp-gamma / lrp-zplus / lrp-alpha1beta0 / lrp-alpha2beta1 / lrp-flat /
 *   lrp-wsquare / lrp-zbox: that rule everywhere (zbox: first layer only, epsilon elsewhere);
 *   lrp-epsilon-plus-flat: flat first, z+ conv, epsilon dense (Zennit's EpsilonPlusFlat);
 *   lrp-epsilon-gamma-box: z^B first, gamma conv, epsilon dense (Zennit's EpsilonGammaBox);
 *   lrp-preset-a: z+ conv (first included), epsilon 0.1 dense (iNNvestigate LRPSequentialPresetA);
 *   lrp-preset-b: alpha2beta1 conv, epsilon 0.1 dense (LRPSequentialPresetB).
 * The leading "lrp-" is optional. Defaults: epsilon 1e-6 (presets 0.1), gamma 0.25, stabilizer
 * 1e-9, biases as inputs, zbox range [0, 1]. */
xai_status xai_lrp_composite(xai_lrp_opts *o, const char *name);
extern const char *const xai_lrp_composite_names[]; /* NULL-terminated */
xai_status xai_lrp_check(const xai_lrp_opts *o);

typedef struct xai_lrp xai_lrp;
/* Builds the canonised net (m with batch norms folded, xai_model_fold_batchnorm; capacity rows)
 * and the modified weights every rule needs. */
xai_status xai_lrp_create(xai_lrp **ctx, const xai_model *m, const xai_lrp_opts *o, int rows);
void xai_lrp_free(xai_lrp *c);
const xai_model *xai_lrp_model(const xai_lrp *c); /* the canonised net */
/* Rule of layer i of the canonised net; -1 for layers without weights. */
int xai_lrp_layer_rule(const xai_lrp *c, int layer);
/* FLOPs of one attribution: the forward pass plus each conv/linear layer's conv (or GEMM) passes
 * under its rule (epsilon 1, z+ 2, alpha2beta1 4, gamma 4, z^B 3; twice that for z+, alpha-beta
 * and gamma on a signed input, taken to be the first such layer's). Gradient x input costs
 * 2 x xai_model_flops. */
double xai_lrp_flops(const xai_lrp *c);
/* Overrides one conv/linear layer's rule (names the layer when it has no weights, or when zbox is
 * asked for a layer that a conv/linear layer feeds). */
xai_status xai_lrp_set_layer_rule(xai_lrp *c, int layer, xai_lrp_rule r);
/* "index type rule" per layer, one line each (malloc'd). */
char *xai_lrp_describe(const xai_lrp *c);
/* Rebuilds what c derived from a model's weights (the folded weights, each rule's modified weights,
 * biases and constant responses) from m's current ones, in c's own buffers: the same as a fresh
 * xai_lrp_create from m, rules set by xai_lrp_set_layer_rule kept. m must have the structure and
 * normalisation of the model c was built from (the randomisation cascade changes weights only). */
xai_status xai_lrp_refresh(xai_lrp *c, const xai_model *m);
/* Relevance starts as the target logit and is propagated to the input: attr (N, C, H, W).
 * residual[i] = sum(attr_i) - f_target(x_i); layer_sums[i * (L + 1) + j] = sum of the relevance
 * at the input of layer j (j = L: the output). Both may be NULL. Any n (batched by rows). */
xai_status xai_lrp_run(xai_lrp *c, const float *x /* (N, C, H, W) */, const int32_t *target /* (N) */, int n,
                       float *attr /* (N, C, H, W) */, double *residual /* (N) */,
                       double *layer_sums /* (N, L + 1) */);

/* --------------------------------------------------------------- baselines */

/* The input gradient of the target logit; saliency is its absolute value; gradient x input is
 * their product with x. */
xai_status xai_gradient(xai_model *m, const float *x /* (N, C, H, W) */, const int32_t *target /* (N) */, int n,
                        float *grad /* (N, C, H, W) */);
xai_status xai_saliency(xai_model *m, const float *x, const int32_t *target, int n, float *attr);
xai_status xai_gradient_x_input(xai_model *m, const float *x, const int32_t *target, int n, float *attr);

/* SmoothGrad (Smilkov et al. 2017): the mean gradient over `samples` copies of x with Gaussian
 * noise of sigma = noise * (max(x) - min(x)) per image, drawn from a counter hash of (seed, image
 * id, sample, pixel), so batch size and thread count do not change it. */
typedef struct {
    int samples;
    double noise;
    uint64_t seed;
} xai_smoothgrad_opts;
void xai_smoothgrad_defaults(xai_smoothgrad_opts *o); /* 50 samples, noise 0.15, seed 1 */
xai_status xai_smoothgrad(xai_model *m, const xai_smoothgrad_opts *o, const float *x /* (N, C, H, W) */,
                          const int32_t *target /* (N) */, const int64_t *ids /* (N) or NULL */, int n,
                          float *attr /* (N, C, H, W) */);

/* The control every metric needs: uniform in [-1, 1) from a counter hash of (seed, image id, pixel),
 * on its own stream (perturb.h's xai_noise_seed with XAI_NOISE_RANDOM_MAP). */
void xai_random_attribution(float *attr /* (N, size) */, size_t size, int n, const int64_t *ids /* (N) or NULL */,
                            uint64_t seed);

/* ------------------------------------------------------------ method specs */

typedef enum {
    XAI_METHOD_IG,
    XAI_METHOD_LRP,
    XAI_METHOD_GRADIENT,
    XAI_METHOD_SALIENCY,
    XAI_METHOD_GXI,
    XAI_METHOD_SMOOTHGRAD,
    XAI_METHOD_RANDOM,
    XAI_METHOD_KINDS
} xai_method_kind;
/* "ig", "lrp", "gradient", "saliency", "gradient-x-input", "smoothgrad", "random" */
const char *xai_method_kind_name(xai_method_kind k);

typedef struct {
    char spec[128];          /* as given; the dataset name in the attribution file */
    xai_method_kind kind;
    xai_ig_opts ig;
    xai_lrp_opts lrp;
    xai_smoothgrad_opts sg;
    uint64_t seed;           /* random */
} xai_method;

/* Parses NAME[:key=value]...: NAME is ig, gradient, saliency, gradient-x-input (gxi),
 * smoothgrad, random or an LRP composite (lrp-...). Keys: ig: steps, rule (a quadrature rule,
 * or exact: xai_ig_opts.exact, steps then unused), baseline, value, sigma, seed; lrp: eps, gamma, alpha, beta, stabilizer, bias (input|ignore), first, conv, dense
 * (rule names; zplus, alpha1beta0 and alpha2beta1 also fix alpha and beta of that slot only;
 * alpha=/beta= set the slots that have none of their own), low, high; smoothgrad: samples,
 * noise, seed; random: seed. Fields start at their defaults (xai_ig_defaults, the composite's,
 * xai_smoothgrad_defaults, seed 1); overrides[kind] (NULL, or entries NULL) is a "key=value:..."
 * list applied before the spec's own keys (how `xai explain --ig-steps` reaches every IG method).
 * Errors name the spec and the bad part. */
xai_status xai_method_parse(xai_method *out, const char *spec, const char *const *overrides /* (XAI_METHOD_KINDS) */);
/* A comma-separated list of specs, each as xai_method_parse takes it; a spec listed twice or an
 * empty list is an error. *out (malloc'd, *n entries) is NULL on error. */
xai_status xai_method_parse_list(xai_method **out, int *n, const char *list,
                                 const char *const *overrides /* (XAI_METHOD_KINDS) */);
/* What `xai explain` runs unless told: ig, the LRP composites of the paper, the gradient family, random. */
extern const char *const xai_default_methods;

/* Per-image side outputs of a method (any may be NULL). */
typedef struct {
    double *delta;      /* ig: (N) */
    double *fbase;      /* ig: (N) */
    double *residual;   /* lrp: (N) */
    double *layer_sums; /* lrp: (N, L + 1); L from xai_explainer_lrp_layers */
    xai_ig_exact_stats *exact; /* ig:rule=exact: (N) */
} xai_explain_aux;

/* A method bound to a model (LRP's canonised copy and weights are built once). */
typedef struct xai_explainer xai_explainer;
xai_status xai_explainer_create(xai_explainer **e, const xai_method *meth, xai_model *m);
void xai_explainer_free(xai_explainer *e);
int xai_explainer_lrp_layers(const xai_explainer *e); /* L of the canonised net; 0 for other methods */
const xai_lrp *xai_explainer_lrp(const xai_explainer *e); /* NULL for other methods */
xai_status xai_explainer_run(xai_explainer *e, const float *x /* (N, C, H, W) */, const int32_t *target /* (N) */,
                             const int64_t *ids /* (N) or NULL */, int n, float *attr /* (N, C, H, W) */,
                             const xai_explain_aux *aux /* or NULL */);
/* The rows per batch `xai explain` uses unless told: up to 256 within about 512 MB of
 * activations of m (any capacity). */
int xai_explain_default_rows(const xai_model *m);
/* The net `xai explain` runs every method on: m with each batch norm folded into the conv/linear
 * layer before it (xai_model_fold_batchnorm), `rows` rows a batch (0: xai_explain_default_rows(m),
 * explain's default). The metrics that explain again (max-sensitivity, random-logit, the
 * randomisation cascade) explain with it too, so that their maps of the trained model are explain's
 * stored ones, bit for bit. */
xai_status xai_explain_model(xai_model **out, const xai_model *m, int rows);
/* Matches metrics.h's xai_attr_fn: ctx is a const xai_method *; ids as xai_explainer_run's. */
xai_status xai_method_attr_fn(void *ctx, xai_model *m, const float *x, const int32_t *target, const int64_t *ids,
                              int n, float *attr);
/* Rebuilds what e derived from its model's weights (LRP: xai_lrp_refresh), after the caller changed them. */
xai_status xai_explainer_refresh(xai_explainer *e);
/* The same for a model whose weights change between calls (the randomisation cascade): ctx is an
 * xai_method_attr, whose explainer is made on the first call and refreshed from m's current
 * weights on every later one (a new one when m is another model), so that each call gives what
 * xai_method_attr_fn gives without rebuilding LRP's canonised net and buffers. */
typedef struct {
    const xai_method *meth;
    xai_explainer *e; /* NULL until the first call */
} xai_method_attr;
xai_status xai_method_attr_cached_fn(void *ctx, xai_model *m, const float *x, const int32_t *target,
                                     const int64_t *ids, int n, float *attr);
void xai_method_attr_free(xai_method_attr *a); /* frees the explainer; a->meth stays */

/* ------------------------------------------------------------ xai explain */

/* One method's figures, passed to xai_explain_cfg.on_method once it is written. */
typedef struct {
    const xai_method *method;
    int n;                          /* images */
    double seconds;                 /* all n attributions */
    double ig_completeness_median;  /* IG: median |delta / (f(x) - f(x'))|; NaN otherwise */
    double ig_delta_median;         /* IG: median |delta|; NaN otherwise */
    double lrp_residual_median;     /* LRP: median |sum R - f(x)|; NaN otherwise */
    double exact_regions_median;    /* ig:rule=exact: linear regions per image; NaN otherwise */
    double exact_regions_max;
    double exact_residual_median;   /* ig:rule=exact: median relative completeness residual */
} xai_explain_result;

/* Attributions of the model's target class for test images, written to one attribution file. */
typedef struct {
    const char *model;              /* model file (xai train) */
    const char *dataset;            /* dataset name, or a dataset cache file (.h5); NULL with images */
    const char *const *images;      /* or: PNG/JPEG files and folders of them (xai_dataset_from_images) */
    int nimages;
    const char *methods;            /* comma-separated specs; NULL: xai_default_methods */
    const char *const *overrides;   /* (XAI_METHOD_KINDS) "key=value:..." lists or NULL (xai_method_parse) */
    const char *out;                /* NULL: attributions.h5 beside the model */
    const char *target;             /* "pred" (NULL), "label", a class index or a dataset class name/id */
    const char *data_dir, *mirror;  /* where datasets live / come from; NULL: the defaults */
    int n, start;                   /* images to explain, from test image `start` */
    const char *select;             /* "first" (NULL): test images start.. in order; "stratified": from
                                     * start on, classes taken in turn (0, 1, .., C-1, 0, ..), each in
                                     * index order, so every prefix of the file is class-balanced */
    int rows;                       /* rows a batch for every method; 0: xai_explain_default_rows */
    const char *command;            /* recorded in the file; NULL: "" */
    void (*on_method)(void *ctx, const xai_explain_result *r); /* after each method; may be NULL */
    void *ctx;
    const char *heatmaps;           /* folder for one PNG per image and method (xai_heatmaps_write);
                                     * NULL: <out without .h5>_heatmaps with images, none with a
                                     * dataset; "none": none */
} xai_explain_cfg;

/* Methods are parsed first (a typo fails before loading), then the model (batch norms folded
 * once for all methods) and the images; progress goes to stderr. *outpath (malloc'd; may be
 * NULL) gets the file written. */
xai_status xai_explain_run(const xai_explain_cfg *cfg, char **outpath);
/* The heatmaps of a run's file as cfg->heatmaps says (heatmap.c); files: the image files (NULL
 * for a dataset), indices: the dataset rows. */
xai_status xai_explain_heatmaps(const xai_explain_cfg *cfg, const char *outpath, const char *const *files,
                                const int64_t *indices, int n);

/* --------------------------------------------------- xai bench ig / lrp */

/* Attribution throughput on a config's net with random weights and inputs, batch norms folded
 * as xai explain runs it; times are medians of `repeats` runs of `iters` calls after `warmup`. */
typedef struct {
    const char *config;             /* file with a [model] section */
    const char *method;             /* lrp: an LRP composite spec */
    int steps, images;              /* ig: quadrature points, attributions per timed call */
    xai_quad_rule rule;             /* ig */
    int rows;                       /* rows a batch; 0: xai_explain_default_rows */
    int repeats, warmup, iters;
    int exact;                      /* ig: exact IG (ig_exact.h) instead of the quadrature */
    int vs_steps;                   /* ig exact: also time IG with this many gauss steps (0: no) */
    const char *model;              /* ig exact: a trained model file instead of the config's random net */
    const char *data;               /* with model: a dataset cache whose first test images (their
                                       predicted class the target) replace the random inputs */
    int unfolded;                   /* ig: the net as xai evaluate loads it (batch norms as layers of
                                       their own: its IG step curves) instead of explain's folded one */
} xai_bench_explain_opts;

typedef struct {
    int threads, rows, images, steps;
    char method[128];               /* lrp: the parsed spec */
    double attr_per_s;              /* the method's attributions per second */
    double ms_per_attr;             /* ig: milliseconds an attribution */
    double gxi_attr_per_s;          /* lrp: gradient x input on the same batch */
    double gxi_gflop_per_attr;      /* lrp: 2 x forward FLOPs */
    double cpu_vs_gxi;              /* lrp: process CPU seconds of gradient x input over LRP's (medians) */
    double gflop_per_attr, gflops;  /* one forward and one backward pass (2 x forward FLOPs) per step;
                                       lrp: xai_lrp_flops */
    double peak_rss_mb;
    /* ig exact: regions crossed (from the last timed call), regions per second, and the IG of
     * vs_steps steps on the same images (vs_cost = exact seconds / IG seconds) */
    double regions_per_s, regions_per_attr_median, regions_per_attr_max;
    double vs_attr_per_s, vs_cost;
    double cpu_s_per_attr; /* ig exact: process CPU seconds an attribution, over all calls (steadier
                              than wall time on a loaded machine) */
} xai_bench_explain_result;

/* ig: `images` attributions a timed call, all their steps batched in rows of `rows`. exact: the
 * net gets random biases N(0, 0.1^2) (with zero biases a relu net is positively homogeneous and
 * the path from the black baseline stays in one region); steps are reported as 0. */
xai_status xai_bench_ig_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r);
/* lrp: one batch of `rows` images a timed call; then gradient x input on the same batch. */
xai_status xai_bench_lrp_run(const xai_bench_explain_opts *o, xai_bench_explain_result *r);

/* Evaluation metrics at work: each metric of the table in explainers/bench.c runs on `images`
 * images of the config's net (random weights and inputs, gradient x input as the attribution, one
 * method), batches of `rows` rows; figures count the images the metric sends through the net
 * (forward passes; a metric that recomputes attributions also runs a backward pass for each).
 * infer_img_per_s is `xai bench infer` at the same batch, timed in the same run; each metric is
 * also timed in alternating rounds with that inference (infer_per_s). */
#define XAI_BENCH_METRICS_MAX 16
typedef struct {
    const char *name;     /* e.g. "pixelflip": printed as pixelflip_forward_per_s */
    int forward_only;     /* 1: forward passes only, comparable with inference */
    double forward_per_s; /* images through the net per second, inside the metric */
    double infer_per_s;   /* inference, timed in alternating rounds with the metric */
    double vs_infer_cpu;  /* forward_per_s over infer_per_s in process CPU seconds */
    double gflops;        /* forward FLOPs (x2 when a backward pass follows each) per second */
    double impute_share;  /* ROAD: the share of the time its imputation takes (0: none) */
    double forward_per_s_ex_impute; /* ROAD: forward_per_s over the time outside the imputation */
    /* ROAD's imputation cost model: rows imputed per second of it, CG iterations (all channels) a
     * row, and CG work (iterations x unknowns) per second, the constant its time scales with */
    double impute_rows_per_s, cg_iters_per_row, cg_work_per_s;
} xai_bench_metric_figure;

typedef struct {
    int threads, rows, images, nmetrics;
    double infer_img_per_s, infer_gflops;
    xai_bench_metric_figure metric[XAI_BENCH_METRICS_MAX];
    double gflop_per_forward, peak_rss_mb;
    /* map similarities (xai_map_similarity: Spearman, Spearman of |.|, SSIM) a second on all
     * threads, as the randomisation cascade and the random-logit test compare maps */
    double similarity_per_s;
} xai_bench_eval_result;

/* only: one metric's name, or NULL for all of them. */
xai_status xai_bench_evaluate_run(const xai_bench_explain_opts *o, const char *only, xai_bench_eval_result *r);
/* The metrics xai_bench_evaluate_run knows, comma-separated (for help and error messages). */
const char *xai_bench_metric_names(void);

/* ---------------------------------------------------------- attribution file */

/* Header of an attribution file (layout: explainers/README.md). */
typedef struct {
    int n, nclasses;
    xai_shape shape;
    float *inputs;       /* (N, C, H, W) */
    int32_t *labels;     /* (N) */
    int32_t *targets;    /* (N) */
    int64_t *indices;    /* (N) */
    float *logits;       /* (N, K) */
    double norm_mean[4], norm_std[4];
    int norm_mean_n, norm_std_n; /* read only: values in @normalize_mean / @normalize_std (-1: absent) */
    char model_path[1024], model_sha256[65], dataset[1024], dataset_sha256[65], target_mode[32];
    char program_version[128]; /* read only: the writer records xai_version(); "" when absent */
    int nmethods;
    char **methods;      /* (nmethods) dataset names under /attributions, in creation order */
} xai_attr_header;

/* Writer: create, header, then one call per method, then commit (or abort: no file is left).
 * The open file lives behind f (attrfile.c); a zeroed writer is closed. Under mpirun every rank
 * makes every call (collective, through MPI-IO: core/h5.h's xai_h5_create_par) with the same header,
 * and each writes its own images' rows, xai_mpi_shard of N; the file records @mpi_ranks. */
typedef struct xai_attr_file xai_attr_file;
typedef struct {
    xai_attr_file *f;
} xai_attr_writer;
xai_status xai_attr_create(xai_attr_writer *w, const char *path, const xai_attr_header *h, const char *command);
/* attr and aux hold this rank's rows (all N in one process); seconds must be the same on every
 * rank. kind-specific side outputs come from aux (delta/fbase for IG, plus the per-image stats of
 * ig:rule=exact under ig_exact/..., residual/layer_sums for LRP);
 * lrp_desc: xai_lrp_describe text (LRP only). */
xai_status xai_attr_write_method(xai_attr_writer *w, const xai_method *meth, const float *attr /* (N, C, H, W) */,
                                 const xai_explain_aux *aux, int lrp_layers, const char *lrp_desc, double seconds);
xai_status xai_attr_commit(xai_attr_writer *w);
void xai_attr_abort(xai_attr_writer *w);

/* Reader: the header, the normalisation and the method list; every array checked against N and
 * the shape. */
xai_status xai_attr_read_header(xai_attr_header *h, const char *path);
void xai_attr_header_free(xai_attr_header *h);
/* One method's map (N, C, H, W) into attr (caller-sized). */
xai_status xai_attr_read_method(const char *path, const char *method, float *attr, const xai_attr_header *h);
/* A per-image vector such as "ig/delta", "ig_exact/regions" or "lrp/residual" of a method: returns XAI_ENOTFOUND
 * (with a message) when the method has none. */
xai_status xai_attr_read_vector(const char *path, const char *group, const char *method, double *v /* (N) */,
                                const xai_attr_header *h);
/* As xai_attr_read_header, of the first max_n images only (max_n <= 0 or more than the file
 * has: all). Method maps and vectors are then read for those h->n images. */
xai_status xai_attr_read_header_n(xai_attr_header *h, const char *path, int max_n);
/* What the file records about one method (its dataset's attributes). */
typedef struct {
    char kind[32];                  /* xai_method_kind_name */
    double seconds;                 /* all N attributions */
    double seconds_per_attribution;
} xai_attr_method_info;
xai_status xai_attr_read_method_info(const char *path, const char *method, xai_attr_method_info *info);
/* A method rebuilt from its dataset attributes: @method parsed (the dataset name when absent), then
 * every setting stored beside it, since `xai explain` may have overridden the spec's defaults. */
xai_status xai_attr_read_method_spec(xai_method *meth, const char *path, const char *method);
/* A per-image (N, cols) float64 array such as "lrp/layer_sums" of a method, malloc'd into *v:
 * XAI_ENOTFOUND (*v NULL, *cols 0, no message) when the method has none or it is not (h->n, cols). */
xai_status xai_attr_read_matrix(const char *path, const char *group, const char *method, double **v /* (N, cols) */,
                                int *cols, const xai_attr_header *h);
/* ------------------------------------------------------------- heatmaps (heatmap.c) */

/* The map of one image as the study's heatmap figure draws it: channels summed, divided by its
 * own max |R|, ColorBrewer RdBu (blue negative, white 0, red positive), each pixel a scale x
 * scale block: rgb (H * scale, W * scale, 3). */
void xai_heatmap_rgb(uint8_t *rgb, const float *attr /* (C, H, W) */, xai_shape s, int scale);
/* <dir>/<names[i]>_<method>.png for every image and method of the attribution file (at least
 * 256 pixels wide); *nwritten counts them. */
xai_status xai_heatmaps_write(const char *attr_path, const char *dir, const char *const *names /* (N) */,
                              int *nwritten);
/* File-name parts of N images: the image files' names without folder and extension (a name two
 * files share gets "-<row>"), or "test<index>" where files is NULL; malloc'd, n + 1 NULL-ended. */
char **xai_heatmap_names(const char *const *files, const int64_t *indices, int n);

/* Row `image` of a method's map, or of /inputs when method is NULL: only that image is read.
 * Errors name the file, the dataset and the row. */
xai_status xai_attr_read_row(const char *path, const char *method, int image, float *out /* (C, H, W) */,
                             const xai_attr_header *h);

#endif
