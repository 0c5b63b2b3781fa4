/* evaluate.h: the evaluation run behind `xai evaluate`: reads an attribution file, scores every
 * method (pixel flipping, completeness, the metrics of faith.h, on request randomisation and IG step
 * curves), writes metrics.h5. */
#ifndef XAI_EVALUATE_H
#define XAI_EVALUATE_H

#include "explainers/faith.h"
#include "explainers/metrics.h"

#include <stdio.h>

#define XAI_EVAL_MAX_LIST 16

typedef struct {
    const char *model, *attributions;
    const char *out;     /* NULL: metrics.h5 beside the attribution file */
    const char *methods; /* comma-separated names under /attributions; NULL: all */
    const char *summary; /* CSV of summary rows, or NULL */
    const char *label;   /* first column of the summary rows; NULL: the attribution file */
    int n;               /* first n images; 0: all */
    int batch;           /* images per forward pass */
    int sanity, sanity_n;
    int ig_curve, ig_n;
    const char *ig_curve_methods; /* comma-separated IG methods for the curves; NULL: every IG method */
    int ig_check;        /* the midpoint run at XAI_IG_CHECK_STEPS when the steps lack it (default 1) */
    int ig_exact_n;      /* exact-IG reference on the first this many images of the curve; -1: all (default) */
    int ig_steps[XAI_EVAL_MAX_LIST], nig_steps;
    int ig_rules[XAI_EVAL_MAX_LIST], nig_rules; /* xai_quad_rule */
    xai_flip_opts flip;
    xai_faith_opts faith; /* the metrics beyond pixel flipping (faith.h); which = 0: none */
} xai_eval_opts;

/* batch 256, sanity_n and ig_n 100, ig_check on, steps 4..256 (powers of 2), every rule,
 * xai_flip_defaults, xai_faith_defaults (every metric). */
void xai_eval_defaults(xai_eval_opts *o);
/* A comma list of step counts (1..100000) or, with rules != 0, quadrature rule names, into out:
 * the count, or -1 when an entry is bad or there are more than cap. */
int xai_eval_parse_list(const char *list, int *out, int cap, int rules);
/* Observed convergence order p of err ~ C steps^-p: minus the least-squares slope of log(err) on
 * log(steps) over the T points whose err is finite and > 0; NaN with fewer than 2 such points. */
double xai_eval_conv_order(const int64_t *steps /* (T) */, const double *err /* (T) */, int T);
/* Steps at which err (falling with steps, steps ascending) first reaches target, interpolated
 * linearly in log-log between the two step counts around the crossing; steps[0] when err[0]
 * already is at or below it; inf when no step count reaches it. */
double xai_eval_steps_for(const int64_t *steps /* (T) */, const double *err /* (T) */, int T, double target);
/* A steps_for value as people read it: "<= first", "> last" (inf) or the rounded count. */
void xai_eval_steps_text(char *out, size_t cap, double v, int64_t first, int64_t last);
/* 1 when the IG curve runs midpoint IG at XAI_IG_CHECK_STEPS on its own: midpoint among the rules,
 * that count not among the steps, at least two smaller counts to fit, and o->ig_check. */
int xai_eval_needs_held_out(const xai_eval_opts *o);
/* The whole run; the tables and the files written are printed on log. */
xai_status xai_evaluate(const xai_eval_opts *o, FILE *log);

#endif
