/* metricstats.h: the statistics of every per-image metric between methods (means with bootstrap
 * CIs, Holm-corrected Wilcoxon tests, letters, bootstrap ranks) and the Kendall tau between metrics. */
#ifndef XAI_METRICSTATS_H
#define XAI_METRICSTATS_H

#include "explainers/stats.h"

/* One per-image metric of every method: what the statistics read. Any metric with one value per
 * image and method becomes a column; NaN marks an image where the metric is undefined for that
 * method (the image is then left out of the whole column, so the data stay paired). */
typedef struct {
    char name[64];             /* e.g. "pf_aopc_morf" (an HDF5 link name: no '/') */
    char family[64];           /* table it is shown in, e.g. "pixel flipping" */
    char source[256];          /* the per-image dataset under /methods/<method>/ */
    int higher_better;         /* 1: larger is more faithful */
    int n;                     /* images */
    double *v;                 /* (k, n): row m is method m */
} xai_metric_column;

/* Defaults of the statistics (METRICS.md, "Statistics of the metrics"). */
#define XAI_MSTATS_RESAMPLES 1000
#define XAI_MSTATS_LEVEL 0.95
#define XAI_MSTATS_ALPHA 0.05

/* The statistics of one column over its k methods (method order as in the column). */
typedef struct {
    char name[64], family[64], source[256];
    int higher_better;
    int k, n_used, n_excluded;     /* methods; images used (finite for all); images left out */
    double *mean, *lo, *hi;        /* (k) mean and bootstrap CI */
    double *rank, *rank_mean, *rank_lo, *rank_hi; /* (k) rank of the mean, bootstrap ranks */
    double *p, *p_holm, *r_rb;     /* (k, k) pairwise, symmetric; r_rb[i*k+j] > 0: i above j */
    char (*letters)[XAI_CLD_LEN];  /* (k) compact letter display at XAI_MSTATS_ALPHA */
} xai_metric_stats;

/* Statistics of column c over k methods; bootstrap seeded by seed (the same resamples for every
 * method). Fewer than 2 usable images: means only, ranks, tests and letters left NaN / "". */
xai_status xai_metric_stats_of(xai_metric_stats *s, const xai_metric_column *c, int k, uint64_t seed);
void xai_metric_stats_free(xai_metric_stats *s);

/* Kendall tau-b between the method rankings of every pair of metrics: tau (m, m), row-major,
 * over the methods ranked by both (NaN when a ranking is constant or missing). */
void xai_metric_kendall(double *tau /* (m, m) */, const xai_metric_stats *s, int m);

/* Display order of k methods: best mean first (NaN last); order (k) gets method indices. */
void xai_metric_order(int *order /* (k) */, const xai_metric_stats *s);

void xai_metric_column_free(xai_metric_column *c);

#endif
