/* metricsfile.h: the metrics HDF5 file of `xai evaluate` (layout: explainers/METRICS.md): what it
 * holds as C types, its only writer, and its readers (summary.csv, the report's scores, the curves). */
#ifndef XAI_METRICSFILE_H
#define XAI_METRICSFILE_H

#include "explainers/faith.h"
#include "explainers/metrics.h"
#include "explainers/metricstats.h"

#define XAI_METRICS_FORMAT "xai-metrics-1"

/* Per-image AOPC and AUC of one curve; [0]: on the target logit, [1]: on its probability. */
typedef struct {
    double *aopc[2], *auc[2]; /* (N) each */
} xai_curve_scores;
void xai_curve_scores_of(xai_curve_scores *cs, const xai_flip_curve *c, const xai_flip_result *r);
void xai_curve_scores_free(xai_curve_scores *cs);

/* Completeness of one method (METRICS.md): Delta = f(x) - f(x') for IG, f(x) otherwise. */
typedef struct {
    double *rel, *abs_err, *sum; /* (N) */
    float *fref;                 /* (N) IG: f(x'); NULL: conservation of f(x) */
    char reference[160];         /* what Delta is, in words */
    int lrp;                     /* 1: an LRP method (completeness/lrp is written) */
    int lrp_cols;                /* L + 1 when /lrp/layer_sums was found, else 0 */
    double *layer_share;         /* (L) mean share of f(x) absorbed in each layer, over images with f(x) != 0 */
    int layer_excluded;          /* images left out of layer_share because f(x) = S_L = 0 */
} xai_completeness_result;
void xai_completeness_result_free(xai_completeness_result *c);

/* The exact-IG reference of an IG step curve (METRICS.md, /ig_exact/<method>): per image. */
typedef struct {
    int n;                       /* images with the reference: the first n of the curve's (--ig-exact-n) */
    int64_t *regions;            /* (N) linear regions the path crosses */
    double *residual, *seconds;  /* (N) relative completeness residual, wall time */
    double *sum, *fx, *fbase;    /* (N) sum of the exact map, f(x), f(x') */
    double tol;                  /* breakpoint merge tolerance in alpha */
} xai_ig_exact_ref;

/* The midpoint check at XAI_IG_CHECK_STEPS: the measured median map error against the one the
 * order fitted on the smaller step counts predicts, both over the first XAI_IG_CHECK_IMAGES images
 * at most; ok when within a factor XAI_IG_CHECK_FACTOR. */
#define XAI_IG_CHECK_STEPS 4096
#define XAI_IG_CHECK_FACTOR 3.0
#define XAI_IG_CHECK_IMAGES 32 /* the check's images: the first of the curve's, bounding its cost */
typedef struct {
    int run;                     /* 0: 4096 midpoint steps not measured (or too few smaller counts) */
    int images;                  /* the first this many images of the curve, fit and measurement alike */
    double order, predicted, measured;
    int ok;
} xai_ig_order_check;

/* IG's completeness error over quadrature rules and step counts for one IG method and, for
 * piecewise-linear models, the error of each n-step map against the exact IG map. */
typedef struct {
    char name[128];              /* the IG method (dataset name), "ig" for the default */
    char baseline[32];           /* its baseline's name */
    int n, nsteps, nrules;       /* images, T step counts, R rules */
    int64_t *steps;              /* (T) */
    int *rules;                  /* (R) xai_quad_rule */
    double *rel;                 /* (R, T, N) rel_error */
    double *median, *p90, *mean; /* (R, T) */
    int exact;                   /* 1: the fields below are filled */
    char exact_note[300];        /* exact == 0: why there is no exact reference */
    xai_ig_exact_ref ref;
    double *map_rel;             /* (R, T, N) ||a_n - a_exact||_2 / ||a_exact||_2; NaN past ref.n */
    double *map_median, *map_p90, *map_mean; /* (R, T) */
    double *order;               /* (R) observed convergence order of the median map error */
    double *steps_1pct;          /* (R) steps for 1 % median map error; inf: not within the steps */
    xai_ig_order_check check;
} xai_ig_curve;
void xai_ig_curve_free(xai_ig_curve *c);

/* Everything metrics.h5 holds; arrays of N rows are the first N images of the attribution file. */
typedef struct {
    const char *model_path, *attributions_path, *model_sha256;
    xai_flip_opts flip;
    int batch, n, nmethods;
    char **methods, **kinds;       /* (nmethods) names under /attributions and their @kind */
    const int64_t *index;          /* (N) */
    const int32_t *target, *label; /* (N) */
    float *fx;                     /* (N) f(x), recomputed */
    xai_flip_result flip_r;        /* the curves */
    double inference_rate;         /* plain inference, img/s */
    xai_curve_scores random;       /* the control */
    xai_curve_scores *morf, *lerf; /* (nmethods) */
    xai_completeness_result *completeness; /* (nmethods) */
    xai_sanity_result *sanity;     /* (nmethods), NULL when not run */
    uint64_t sanity_seed;
    int nig;
    xai_ig_curve *ig;              /* (nig) */
    xai_faith_result faith;        /* the metrics of faith.h; faith.m NULL when none ran */
} xai_metrics;
/* Frees what the evaluation allocated (not the borrowed paths and per-image inputs). */
void xai_metrics_free(xai_metrics *m);

/* Writer: create before the long work (an unwritable path fails early), then one write that
 * commits, or abort; either way the writer is freed and no temporary file is left. */
typedef struct xai_metrics_writer xai_metrics_writer;
xai_status xai_metricsfile_create(xai_metrics_writer **w, const char *path);
xai_status xai_metricsfile_write(xai_metrics_writer *w, const xai_metrics *m);
void xai_metricsfile_abort(xai_metrics_writer *w);

/* ------------------------------------------------------------- readers */

/* Every per-image metric of metrics.h5, one row each (METRICS.md, "Statistics of the metrics"):
 * its name (summary.csv column, /stats group), the report table (family) it belongs to, its dataset
 * under /methods/<method>/ with one value per image, and its direction: +1 higher is more faithful,
 * -1 lower is, 0 descriptive (no ranking: left out of /stats). A metric joins the statistics, the
 * report and summary.csv by one row; a row whose dataset some method lacks is skipped. */
typedef struct {
    const char *name, *family, *source;
    int better;
} xai_metric_source;
extern const xai_metric_source xai_metric_sources[];
extern const int xai_metric_nsources;
/* Rows from this index on are the metrics of explainers/faith.h (summary.csv's extra columns). */
#define XAI_METRIC_FIRST_FAITH 5
/* The row of a name; -1 when there is none. */
int xai_metric_source_find(const char *name);

/* One method's per-image values of a dataset under /methods/<method>/ (malloc'd into *v, count in
 * *n); XAI_ENOTFOUND when absent. */
xai_status xai_metricsfile_read_values(const char *path, const char *method, const char *dataset, double **v, int *n);


/* One method's scores on the target logit (/methods/<name>); NaN where absent. */
typedef struct {
    char name[128];
    char kind[32];             /* "" when absent */
    double aopc_morf, aopc_morf_se, aopc_lerf, aopc_lerf_se;
    double abpc, abpc_se;      /* AUC(LeRF) - AUC(MoRF) */
    double vs_random_z;        /* paired z of AOPC(MoRF) - AOPC(random) */
    double aopc_morf_prob;     /* AOPC(MoRF) on the probability */
    double compl_median, compl_p90;
} xai_metrics_method_scores;

/* IG completeness and, with an exact reference, the map error against the number of steps
 * (/ig_steps/<method>/<rule>, /ig_exact/<method>), rules in the order left, right, midpoint,
 * trapezoid, gauss, then others by name. */
typedef struct {
    char method[128];
    char baseline[32];
    int nrules, nsteps;
    char (*rule)[32];          /* (nrules) */
    int64_t *steps;            /* (nsteps) */
    double *median, *p90;      /* (nrules, nsteps) relative error */
    /* Against exact IG (NaN where the file has none). */
    int exact;                 /* 1: /ig_exact/<method> was found */
    char exact_note[300];      /* why there is none, when the evaluation said */
    double *map_median, *map_p90; /* (nrules, nsteps) relative L2 map error */
    double *order, *steps_1pct;   /* (nrules) */
    int64_t exact_n;           /* images of the exact reference */
    double regions_median, regions_max, residual_median, residual_max, exact_seconds_mean;
    double regions_mean;       /* its images' mean (the cost model counts exact IG's passes by it) */
    int check_run, check_ok;   /* the 4096-step midpoint check */
    double check_predicted, check_measured;
} xai_metrics_ig_curve;

/* The file's settings and scores. NaN / -1 / "" where absent. */
typedef struct {
    char perturb[32];
    int64_t patch, steps, per_step, n_images, n_features;
    double fraction, seconds;
    double random_aopc, random_aopc_se;   /* the random-order control */
    int nmethods;
    xai_metrics_method_scores *methods;   /* (nmethods), by name */
    int nig;
    xai_metrics_ig_curve *ig;             /* (nig), by method name */
} xai_metrics_scores;

/* Reads the scores; what is missing is left NaN/empty and, when notes is not NULL, named there
 * (one line each). Only an unreadable file is an error. Free with xai_metrics_scores_free. */
xai_status xai_metricsfile_read_scores(xai_metrics_scores *s, const char *path, xai_sbuf *notes);
void xai_metrics_scores_free(xai_metrics_scores *s);

/* /steps/fraction (K + 1 values, malloc'd into *frac); 0 when absent or unreadable. */
int xai_metricsfile_read_fractions(const char *path, double **frac);
/* Any 1-D dataset (e.g. /metric_info/road/fraction) as doubles, malloc'd into *v; its length, 0
 * when absent or unreadable (*v NULL). */
int xai_metricsfile_read_vector(const char *path, const char *dataset, double **v);
/* <group>/mean and <group>/stderr (k1 values each) of a curve, e.g. /methods/ig/insertion/prob or
 * /methods/ig/sensitivity_n; 0 when the mean is absent or of another length (a missing stderr
 * reads as NaN). */
int xai_metricsfile_read_mean_se(const char *path, const char *group, int k1, double *mean, double *se);
/* Mean and standard error (k1 values each) of a pixel-flipping curve on the target logit:
 * the random control (method NULL) or /methods/<method>/<order>/logit, order "morf" or "lerf".
 * Returns 0 when the mean is absent or of another length; a missing stderr reads as NaN. */
int xai_metricsfile_read_curve(const char *path, const char *method, const char *order, int k1, double *mean,
                               double *se);

/* The randomisation cascade of one method (/methods/<method>/sanity): S steps, step 0 with no
 * layer randomised, then one more layer each from the top; layer (S) the layer randomised last
 * (-1: none), mean and se (2, S): Spearman |rank| correlation, then SSIM, each against the
 * original map. Returns S, 0 when the file has no readable randomisation for it (a layer that
 * is not a whole number in -1..INT32_MAX makes it unreadable). Arrays malloc'd. */
int xai_metricsfile_read_sanity(const char *path, const char *method, double **layer, double **mean, double **se,
                                int64_t *n_images);

/* The summary numbers of each method (the columns of xai_metrics_summary_csv after label,method):
 * aopc_morf, _se, aopc_lerf, _se, aopc_random, _se, morf_minus_random_z, abpc, abpc_se,
 * aopc_morf_prob, completeness_median, completeness_p90, then the mean over images of each
 * xai_metric_sources row from XAI_METRIC_FIRST_FAITH on (insertion_auc_prob ... complexity); NaN where absent. */
#define XAI_METRICS_SUMMARY_BASE 12
#define XAI_METRICS_SUMMARY_COLS (XAI_METRICS_SUMMARY_BASE + 14)
typedef struct {
    int nmethods;
    char **methods;                          /* (nmethods) in the file's order */
    double (*row)[XAI_METRICS_SUMMARY_COLS]; /* (nmethods) */
} xai_metrics_summary;
xai_status xai_metricsfile_read_summary(xai_metrics_summary *s, const char *path);
void xai_metrics_summary_free(xai_metrics_summary *s);

/* /stats read back (METRICS.md, "Statistics of the metrics"); nmetrics 0 when the file has none. */
typedef struct {
    int nmetrics, k;
    char **methods;          /* (k) the order of every method vector */
    xai_metric_stats *m;     /* (nmetrics) */
    double *tau;             /* (nmetrics, nmetrics) Kendall tau-b; NULL when absent */
    int64_t resamples;
    double level, alpha;
    char perturb[32];        /* the file's removal reference (@perturb) */
} xai_metrics_stats_set;
/* Only an unreadable file is an error; a metric whose vectors do not fit @methods is left out
 * and named in notes (when not NULL). Free with xai_metrics_stats_set_free. */
xai_status xai_metricsfile_read_stats(xai_metrics_stats_set *s, const char *path, xai_sbuf *notes);
void xai_metrics_stats_set_free(xai_metrics_stats_set *s);

#endif
