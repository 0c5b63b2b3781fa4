/* predict.h: the cost model of `xai reproduce`: each stage's work in FLOP by kind (the profile's counts
 * times the net's FLOP per image) and its predicted seconds at the rates `xai bench` measures. */
#ifndef XAI_PREDICT_H
#define XAI_PREDICT_H

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "explainers/evaluate.h"
#include "explainers/explain.h"

#include <stdio.h>

#define XAI_WORK_MAX 32
#define XAI_KIND_LEN 48

/* The work of one stage, summed by kind. kind names a rate (xai_rates): "train" (3 x forward FLOP
 * an image), "infer", "ig" (2 x forward a quadrature step; SmoothGrad a sample), "gxi" (2 x forward:
 * gradient, saliency, gradient x input), "ig-unfolded" (2 x forward a gradient pass through the net
 * as xai evaluate loads it, batch norms not folded: its IG step curves and the methods its families
 * that explain again run), "exact" (2 x forward a linear region), "lrp-..." (one per composite spec:
 * xai_lrp_flops), "pixelflip", "insdel", "road", "faithcorr", "sensn", "infidelity" (forward FLOP
 * inside each metric, on evaluate's net); "road-impute" counts imputations and "similarity" map
 * comparisons (the randomisation cascade's and the random-logit test's), not FLOP. */
typedef struct {
    char kind[XAI_WORK_MAX][XAI_KIND_LEN];
    double amount[XAI_WORK_MAX];
    int n;
    char missing[200]; /* work the model cannot count, "" when none (e.g. exact IG before its regions are known) */
} xai_work;

void xai_work_add(xai_work *w, const char *kind, double amount);

/* Measured rates of one net, by kind: GFLOP/s, and for "road-impute" and "similarity" items a second. */
typedef struct {
    char kind[XAI_WORK_MAX][XAI_KIND_LEN];
    double rate[XAI_WORK_MAX];
    int n;
} xai_rates;

void xai_rates_set(xai_rates *r, const char *kind, double rate);
double xai_rates_get(const xai_rates *r, const char *kind); /* -1 when not measured */

/* Seconds of w at r: the sum of amount / rate over the kinds. -1 when a kind has no rate or w has
 * uncounted work; why (may be NULL) then says which. */
double xai_predict_seconds(const xai_work *w, const xai_rates *r, char *why, size_t whylen);

/* One line per kind: the amount (GFLOP; road-impute: imputations), the rate and the seconds. */
void xai_work_print(FILE *f, const xai_work *w, const xai_rates *r, const char *indent);

/* ---------------------------------------------------------------- work */

/* Training: epochs x (ntrain / batch full batches) x batch images (the last partial batch is
 * dropped), a validation pass of nval images each epoch and one test pass of ntest. m: the net. */
void xai_work_train(xai_work *w, const xai_model *m, int epochs, int ntrain, int nval, int ntest, int batch);
/* Explaining n images with each method (and one forward pass for their logits). m: the net with
 * batch norms folded, as the explainers run it. */
xai_status xai_work_explain(xai_work *w, const xai_model *m, const xai_method *meth, int nm, int n);
/* What `xai evaluate` with options o costs on an attribution file of nfile images of the methods
 * meth: pixel flipping, the metrics of o->faith.which, the randomisation cascade, the IG step curves.
 * regions: linear regions exact IG crosses on all its images, -1 when not known. */
xai_status xai_work_evaluate(xai_work *w, const xai_model *m, const xai_eval_opts *o, const xai_method *meth, int nm,
                             int nfile, double regions);

/* ------------------------------------------------------- one reproduce stage */

/* A stage as `xai reproduce` runs it: its command line (argv[1] is the command: fetch, train,
 * explain, evaluate, export; options as --key=value) and, for evaluate, the explain stage's whose
 * attribution file it scores. */
typedef struct {
    const xai_config *cfg;                /* the experiment's config */
    int argc;
    char **argv;
    int explain_argc;
    char **explain_argv;
    const char *data_dir;                 /* dataset caches (NULL: $XAI_DATA_DIR, else ./data) */
} xai_stage_cmd;

/* The work of a stage. Stages that move files rather than compute (fetch, export) give
 * XAI_ENOTFOUND with the reason in the error message. */
xai_status xai_stage_work_of(xai_work *w, const xai_stage_cmd *c, double exact_regions);

/* Linear regions exact IG crossed on all the images of a metrics file's IG curves (the one count
 * the profile cannot give: it depends on the trained net); -1 when the file has none or is absent. */
double xai_exact_regions(const char *metrics_path);

/* What an evaluate command line asks of the calibration: its batch, and whether it runs exact IG. */
xai_status xai_stage_calib_needs(int argc, char **argv, int *eval_batch, int *exact);

/* ---------------------------------------------------------------- rates */

/* How long the calibration takes: quick (one timed call of each, a few images) or the default
 * (median of 3 after a warm-up). */
typedef enum { XAI_CALIB_QUICK, XAI_CALIB_DEFAULT } xai_calib_effort;

/* Measures the rates of the config's [model] net (random weights and inputs) with the benchmarks of
 * `xai bench`: train at [train] batch, infer, ig (explain's folded net), ig-unfolded (evaluate's
 * net at eval_batch rows; ig itself when the net has no batch norm), each LRP composite of [explain]
 * methods (and gradient x input beside it), the forward-only metrics, ROAD's imputation and the map
 * similarities at eval_batch rows; exact IG only when exact is set. */
xai_status xai_rates_measure(xai_rates *r, const char *config, int eval_batch, int exact, xai_calib_effort effort);

/* The identity of a net's rates: the config's [model] and [train] batch, [explain] methods, the
 * program version and the threads (hex, 16 digits). */
void xai_rates_key(char key[17], const xai_config *cfg, int eval_batch, int exact);

/* Rates as text, one "kind value" a line after a "rates KEY" line; parse appends to a list. */
void xai_rates_format(xai_sbuf *b, const char *key, const xai_rates *r);
/* The rates of key in text (a file of xai_rates_format blocks): 1 found, 0 not. */
int xai_rates_parse(const char *text, const char *key, xai_rates *r);

#endif
