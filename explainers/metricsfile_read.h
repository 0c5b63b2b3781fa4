/* metricsfile_read.h: typed reader of the metrics file that `xai evaluate` writes (metrics.h5,
 * layout in explainers/METRICS.md): the scores the report needs and the curves the figures plot. */
#ifndef XAI_METRICSFILE_READ_H
#define XAI_METRICSFILE_READ_H

#include "core/base.h"

#include <stdint.h>

/* One method's scores on the target logit (/methods/<name>); NaN where absent. */
typedef struct {
    char name[128];
    char kind[32];             /* "" when absent */
    double aopc_morf, aopc_morf_se, aopc_lerf, aopc_lerf_se;
    double abpc, abpc_se;      /* AUC(LeRF) - AUC(MoRF) */
    double vs_random_z;        /* paired z of AOPC(MoRF) - AOPC(random) */
    double compl_median, compl_p90;
} xai_metrics_method_scores;

/* IG completeness against the number of steps (/ig_steps/<method>/<rule>), rules in the order
 * left, right, midpoint, trapezoid, gauss, then others by name. */
typedef struct {
    char method[128];
    char baseline[32];
    int nrules, nsteps;
    char (*rule)[32];          /* (nrules) */
    int64_t *steps;            /* (nsteps) */
    double *median, *p90;      /* (nrules, nsteps) relative error */
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
xai_status xai_metrics_read_scores(xai_metrics_scores *s, const char *path, xai_sbuf *notes);
void xai_metrics_scores_free(xai_metrics_scores *s);

/* /steps/fraction (K + 1 values, malloc'd into *frac); 0 when absent or unreadable. */
int xai_metrics_read_fractions(const char *path, double **frac);
/* Mean and standard error (k1 values each) of a pixel-flipping curve on the target logit:
 * the random control (method NULL) or /methods/<method>/<order>/logit, order "morf" or "lerf".
 * Returns 0 when the mean is absent or of another length; a missing stderr reads as NaN. */
int xai_metrics_read_curve(const char *path, const char *method, const char *order, int k1, double *mean,
                           double *se);

#endif
