/* summary.h: what the report, the plot data and the bundle know of an experiment: one summary
 * read from its result files through their owners, the method colours and the experiment list. */
#ifndef XAI_SUMMARY_H
#define XAI_SUMMARY_H

#include "core/base.h"
#include "explainers/metricsfile.h"

#include <stdint.h>

/* Layout of everything read here: results/README.md. An experiment directory <root>/<exp>/
 * holds model.h5, attributions.h5, metrics.h5 and summary.csv; any of the three HDF5 files may
 * be missing, and what needs it is skipped with a note. metrics-confound.h5 (the evaluation under
 * a second removal reference, optional) is read when present. */

/* What the report and the cross-dataset figures need of one method. NaN: not in the files. */
typedef struct {
    char name[128];            /* dataset name under /attributions (the method spec) */
    char kind[32];             /* @kind: ig, lrp, gradient, ... ("" when unknown) */
    double sec_per_attr;       /* @seconds_per_attribution */
    double aopc_morf, aopc_morf_se, aopc_lerf, aopc_lerf_se; /* on the target logit */
    double abpc, abpc_se;      /* AUC(LeRF) - AUC(MoRF), target logit */
    double vs_random_z;        /* paired z of AOPC(MoRF) - AOPC(random) */
    double compl_median, compl_p90; /* relative completeness error (IG) / conservation error (others) */
    double delta_median, delta_max; /* |/ig/delta| or |/lrp/residual| over the images, logit units */
} xai_method_summary;

/* IG completeness against the number of steps (metrics /ig_steps/<name>/<rule>). */
typedef xai_metrics_ig_curve xai_ig_steps_summary;

typedef struct {
    char dir[1024];            /* the experiment directory as given */
    char name[128];            /* its last path component, e.g. "mnist" */
    char dataset[128];         /* /train @dataset, else the attribution file's @dataset, else name */
    int has_model, has_train, has_attr, has_metrics;
    /* model.h5 /model */
    int64_t input_shape[3], nclasses, nlayers;
    char *layers_text;         /* malloc'd, "" when absent */
    char model_version[128];
    /* model.h5 /train */
    double train_acc, val_acc, test_acc, train_loss, val_loss, test_loss, lr, train_seconds, img_per_s;
    int64_t epochs, best_epoch, batch, seed, train_images, val_images, test_images, threads, limit;
    char optimizer[32], schedule[32], select[16], created_utc[32], config_path[512], dataset_sha256[80];
    double *history;           /* (hist_rows, hist_cols) /train/history */
    int hist_rows, hist_cols;
    char hist_columns[256];    /* its @columns, comma-separated */
    /* attributions.h5 */
    int n_images;              /* explained images */
    char target_mode[32], attr_version[128];
    /* metrics.h5 root */
    char perturb[32];
    int64_t patch, flip_steps, per_step, metric_images, n_features;
    double fraction, random_aopc, random_aopc_se, eval_seconds;
    int nmethods;
    xai_method_summary *methods; /* (nmethods), IG, LRP, other baselines, random; by name within each */
    int nig;
    xai_ig_steps_summary *ig;    /* (nig) */
    xai_metrics_stats_set stats; /* /stats: per metric, statistics between methods */
    xai_metrics_stats_set confound; /* the same of metrics-confound.h5 (another removal reference) */
    xai_sbuf notes;              /* one line per thing that was missing */
} xai_exp_summary;

/* Reads what the report needs from <exp_dir>/{model,attributions,metrics}.h5. Missing files
 * and objects only leave fields NaN/empty (and add a note); a file that exists but cannot be
 * read is an error naming it. Free with xai_exp_summary_free, also after an error. */
xai_status xai_exp_summary_load(xai_exp_summary *s, const char *exp_dir);
void xai_exp_summary_free(xai_exp_summary *s);
/* Summaries of <root>/<exps[i]>, i < n (calloc'd array); free with xai_exp_summaries_free. */
xai_status xai_exp_summaries_load(xai_exp_summary **s, const char *results_root, const char *const *exps, int n);
void xai_exp_summaries_free(xai_exp_summary *s, int n);

/* "#rrggbb" of a method, the same in every figure: fixed for the known methods (ig, the LRP
 * composites, gradient baselines), a stable hash of the name otherwise; "random" is grey. */
const char *xai_method_color(const char *method);

/* Experiments found under root: sub-directories holding model.h5, attributions.h5 or
 * metrics.h5, sorted (MNIST family first, then by name). Free with xai_exp_list_free. */
xai_status xai_exp_list(const char *results_root, char ***names, int *n);
void xai_exp_list_free(char **names, int n);
/* Orders names as xai_exp_list does: MNIST, Fashion-MNIST, Imagenette, Imagewoof, then by name. */
void xai_exp_sort(char **names, int n);
/* A comma-separated list as names (empty items dropped); free with xai_exp_list_free. */
void xai_name_list_parse(const char *csv, char ***names, int *n);

#endif
