/* seeds.h: the between-model spread of an experiment trained with [train] seeds = K: every metric's
 * mean over the images, per model, summarised over the K models, beside the first model's CI. */
#ifndef XAI_SEEDS_H
#define XAI_SEEDS_H

#include "explainers/metricsfile.h"

#define XAI_SEEDS_MAX 16 /* models read per experiment: <exp>/ and <exp>/seed1 .. seed15 */

typedef struct {
    int models;                  /* K: the experiment's metrics.h5, then seed<k>/metrics.h5 for k = 1, 2, ... while present */
    xai_metrics_stats_set first; /* the first model's /stats: methods, metrics, between-image CIs */
    int images;                  /* the first this many images, scored by every model, give the means below */
    /* (first.nmetrics, first.k), over the models with a finite mean of metric i for method j: */
    double *mean, *sd;           /* mean and sample s.d. of the per-model means (sd NaN with one model) */
    double *lo, *hi;             /* 95 % t interval of the mean over models, NaN with fewer than 2 */
    int *count;                  /* how many models had it */
    /* (first.nmetrics): does retraining change the ranking? Each model that has metric i (a finite
     * mean for some method) ranks the methods that every such model has, by its means, in the
     * metric's direction; Kendall tau-b (explainers/stats.h) between the rankings of every pair: */
    int *tau_methods;            /* methods ranked (tau needs 2) */
    int *tau_pairs;              /* pairs of models with a defined tau (a constant ranking has none) */
    double *tau_mean, *tau_min;  /* over those pairs; NaN when there is none */
    int *winners;                /* distinct best methods (rank 1, ties included) over the models: 1 = the
                                  * same winner in every model; 0 when no method was ranked */
} xai_seed_spread;

/* Reads exp_dir's models; models = 1 (no further model) leaves the arrays NULL. The first model's
 * file must be readable; a metric or method a further model lacks just lowers its count. */
xai_status xai_seed_spread_load(xai_seed_spread *s, const char *exp_dir);
void xai_seed_spread_free(xai_seed_spread *s);

/* What xai_seed_spread_load computes once the means are read: v (K, first.nmetrics, first.k), model
 * q's mean of metric i for method j at v[(q * nmetrics + i) * k + j], NaN where it has none. s->first
 * gives the metrics, methods and directions; every array above is allocated here, models set to K. */
void xai_seed_spread_of(xai_seed_spread *s, const double *v, int K);

/* The 0.975 quantile of Student's t with df degrees of freedom (1 <= df < XAI_SEEDS_MAX; NaN else). */
double xai_t975(int df);

#endif
