/* faith.h: the faithfulness metrics beyond pixel flipping: insertion/deletion, ROAD, faithfulness
 * correlation, sensitivity-n, infidelity, max-sensitivity, random-logit, sparseness, complexity. */
#ifndef XAI_FAITH_H
#define XAI_FAITH_H

#include "explainers/explain.h"
#include "explainers/metrics.h"

/* The metric names of `xai evaluate --metrics`, in this order everywhere (file, summary, tables). */
typedef enum {
    XAI_FM_INSDEL,     /* insertion and deletion AUC (Petsiuk et al. 2018) */
    XAI_FM_ROAD,       /* ROAD MoRF/LeRF with noisy linear imputation (Rong et al. 2022) */
    XAI_FM_FAITHCORR,  /* faithfulness correlation (Bhatt et al. 2020) */
    XAI_FM_SENSN,      /* sensitivity-n (Ancona et al. 2018) */
    XAI_FM_INFIDELITY, /* infidelity (Yeh et al. 2019) */
    XAI_FM_MAXSENS,    /* max-sensitivity (Yeh et al. 2019) */
    XAI_FM_RANDLOGIT,  /* random-logit test (Sixt et al. 2020) */
    XAI_FM_SPARSENESS, /* Gini index of |attribution| (Chalasani et al. 2020) */
    XAI_FM_COMPLEXITY, /* entropy of |attribution| (Bhatt et al. 2020) */
    XAI_FM_COUNT
} xai_faith_metric;
#define XAI_FM_ALL ((1u << XAI_FM_COUNT) - 1)

const char *xai_faith_metric_name(xai_faith_metric k); /* "insdel", "road", ... */
/* A comma list of metric names ("all": every one, "none": none) into *mask; names the bad one. */
xai_status xai_faith_parse(const char *list, unsigned *mask);

typedef struct {
    unsigned which;        /* bit k: metric k runs */
    int insdel_steps;      /* curve steps over all features (default 32) */
    double road_noise;     /* sd of ROAD's imputation noise in pixel units [0, 1] (default 0.01) */
    int fc_runs;           /* subsets of faithfulness correlation (default 64) */
    double fc_fraction;    /* share of the features in each of them (default 0.1) */
    int sensn_runs;        /* subsets for each n of sensitivity-n (default 32) */
    int infid_runs;        /* Gaussian perturbations of infidelity (default 64) */
    double infid_sigma;    /* their sd in pixel units (default 0.1) */
    int maxsens_n;         /* images of max-sensitivity (default 16) */
    int maxsens_runs;      /* perturbed inputs per image (default 8) */
    double maxsens_radius; /* L-infinity radius of them in pixel units (default 0.02) */
    int randlogit_n;       /* images of the random-logit test (default 64) */
} xai_faith_opts;

/* Every metric, the defaults above. */
void xai_faith_defaults(xai_faith_opts *o);
xai_status xai_faith_check(const xai_faith_opts *o);

/* ROAD's removal levels: 10 %, 20 %, ..., 90 % of the pixels. */
#define XAI_ROAD_LEVELS 9

/* One method's per-image values; arrays of metrics that did not run are NULL. */
typedef struct {
    xai_flip_curve ins, del;             /* (N, K + 1) insertion from the blurred image, deletion to the reference */
    double *ins_auc[2], *del_auc[2];     /* (N) [0]: target logit, [1]: probability */
    xai_flip_curve road_morf, road_lerf; /* (N, L + 1), column 0 the image itself */
    double *road_morf_auc[2], *road_lerf_auc[2]; /* (N) */
    double *faithcorr;                   /* (N) Pearson */
    double *sensn;                       /* (T, N) Pearson at each n */
    double *infid, *infid_scaled;        /* (N) */
    double *maxsens;                     /* (maxsens_n) */
    double *rl_sim;                      /* (3, randlogit_n) Spearman, Spearman |.|, SSIM |.| */
    double *sparseness, *complexity;     /* (N) */
} xai_faith_method;

/* What a metric cost: wall time, images through the net, explanations recomputed, and for ROAD the
 * seconds spent building its imputed rows (also counted in seconds). */
typedef struct {
    double seconds, forwards, explanations, impute_seconds;
    int n; /* images it ran on */
} xai_faith_cost;

typedef struct {
    xai_faith_opts o;
    int n, nmethods, nfeatures, patch;
    int ins_steps;          /* K */
    double *ins_frac;       /* (K + 1) share of the features inserted / deleted */
    double road_frac[XAI_ROAD_LEVELS + 1]; /* 0, 0.1, ..., 0.9 */
    int fc_size;            /* features per subset of faithfulness correlation */
    int nsensn;             /* T */
    int64_t *sensn_n;       /* (T) subset sizes: 1, 2, 4, ... below the feature count */
    int32_t *rl_class;      /* (randlogit_n) the other class of each image */
    xai_faith_cost cost[XAI_FM_COUNT];
    /* ROAD's imputation work, its cost model: CG iterations (summed over channels and rows), and
     * those times the unknowns of each solve (the time goes with this) */
    double road_cg_iters, road_cg_work;
    xai_faith_method *m;    /* (nmethods) */
} xai_faith_result;

/* Inputs of a run: the evaluation's images, the stored attributions and, for the metrics that
 * explain again (max-sensitivity, random-logit), the methods themselves. */
typedef struct {
    const float *x;            /* (N, C, H, W) network inputs */
    const int32_t *target;     /* (N) */
    const int64_t *image_id;   /* (N) names each image's random streams */
    int n;
    const float *const *attr;  /* nmethods x (N, C, H, W) */
    const xai_method *meth;    /* (nmethods) */
    int nmethods;
    const xai_flip_opts *flip; /* features (patch), the removal reference, blur sigma, seed */
    xai_model *explain_model;  /* or NULL: the net max-sensitivity and random-logit explain with, a
                                  fold of m (xai_explain_model: xai explain's net, to share between
                                  calls; refolded from m here) or m itself (explained unfolded);
                                  NULL: a fold of m made per run, or m itself when m has no batch
                                  norm to fold */
} xai_faith_input;

/* Runs the selected metrics (formulas: explainers/METRICS.md). All perturbed images go through m in
 * batches of m->max_batch; the methods explain again (max-sensitivity, random-logit) with m's
 * batch norms folded, as `xai explain` explains (in->explain_model). Every random draw comes from a
 * stream of (seed, use, image), so the values do not depend on batch size or thread count. */
xai_status xai_faith_run(xai_faith_result *r, xai_model *m, const xai_faith_input *in, const xai_faith_opts *o);
void xai_faith_result_free(xai_faith_result *r);

/* --------------------------------------------------------- building blocks */

/* Gini index of |v| (0: all equal, (n-1)/n: one non-zero); NaN when v is all zero. */
double xai_gini(const float *v, int n);
/* Shannon entropy (nats) of |v| / sum |v| (0: one non-zero, ln n: all equal); NaN when all zero. */
double xai_entropy(const float *v, int n);
/* Pearson correlation of a and b; NaN when either is constant. */
double xai_pearson(const double *a, const double *b, int n);

/* Noisy linear imputation (Rong et al. 2022) of the pixels with removed[p] != 0 in every channel
 * of img (in place): each is the weighted mean of its 8 neighbours (weight 1/6 orthogonal, 1/12
 * diagonal, renormalised at the border), solved jointly by conjugate gradients, plus Gaussian noise
 * of sd noise[c] from the ROAD stream of (seed, image_id). A tiny pull (1e-3 of a pixel's weight)
 * towards the known pixels' channel mean keeps regions without a known neighbour defined.
 * Returns the CG iterations of all channels. */
int xai_road_impute(float *img /* (C, H, W) */, const uint8_t *removed /* (H * W) */, xai_shape s,
                    const float *noise /* (C) */, uint64_t seed, uint64_t image_id);

#endif
