/* publish.h: public API of the publishing stage: plain-text plot data from an experiment's HDF5
 * results, gnuplot figures (the scripts in paper/), the Markdown/HTML report and the zipped artefact bundle. */
#ifndef XAI_PUBLISH_H
#define XAI_PUBLISH_H

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/io.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* Layout of everything read and written here: results/README.md. An experiment directory
 * <root>/<exp>/ holds model.h5, attributions.h5, metrics.h5 and summary.csv; any of the three
 * HDF5 files may be missing, and what needs it is skipped with a note. */

/* ------------------------------------------------------ experiment summary */

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
typedef struct {
    char method[128];          /* the IG method the curve was computed for */
    char baseline[32];
    int nrules, nsteps;
    char (*rule)[32];          /* (nrules) */
    int64_t *steps;            /* (nsteps) */
    double *median, *p90;      /* (nrules, nsteps) relative error */
} xai_ig_steps_summary;

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
    xai_method_summary *methods; /* (nmethods), attribution-file order */
    int nig;
    xai_ig_steps_summary *ig;    /* (nig) */
    xai_sbuf notes;              /* one line per thing that was missing */
} xai_exp_summary;

/* Reads what the report needs from <exp_dir>/{model,attributions,metrics}.h5. Missing files
 * and objects only leave fields NaN/empty (and add a note); a file that exists but cannot be
 * read is an error naming it. Free with xai_exp_summary_free, also after an error. */
xai_status xai_exp_summary_load(xai_exp_summary *s, const char *exp_dir);
void xai_exp_summary_free(xai_exp_summary *s);

/* "#rrggbb" of a method, the same in every figure: fixed for the known methods (ig, the LRP
 * composites, gradient baselines), a stable hash of the name otherwise; "random" is grey. */
const char *xai_method_color(const char *method);

/* ------------------------------------------------------------------- export */

typedef struct {
    int n_correct, n_wrong;      /* example rows of the heatmap grid: first correctly / wrongly classified */
    const char *const *methods;  /* heatmap columns; NULL: every ig and lrp method (all when there are none) */
    int nmethods;
    const char *const *class_names; /* (nclasses) row labels; NULL: the dataset cache's names when found, else indices */
    int nclasses;
    const char *data_dir;        /* where the dataset caches are (NULL: $XAI_DATA_DIR, else ./data) */
} xai_export_opts;

/* 3 correct + 2 wrong rows, ig and lrp columns, class names looked up. */
void xai_export_defaults(xai_export_opts *o);

/* Writes gnuplot data for one experiment into out_dir (NULL: <exp_dir>/plot): meta.gp (variables
 * the scripts load), examples.tsv, input_<r>.dat, heatmap_<r>_<method>.dat, heatmap_scale.tsv,
 * pixelflip.dat, ig_completeness.dat, aopc.tsv, runtime.tsv, training.dat. Notes on skipped data
 * go to log (NULL: stderr). o NULL: defaults. */
xai_status xai_export_experiment(const char *exp_dir, const char *out_dir, const xai_export_opts *o, FILE *log);

/* ------------------------------------------------------------------ figures */

/* Path of the gnuplot to run: $XAI_GNUPLOT, else `gnuplot` on PATH. XAI_ENOTFOUND, with the
 * package to install, when there is none. */
xai_status xai_gnuplot_find(char *path, size_t cap);
/* Default directory of the gnuplot scripts (paper/): $XAI_PAPER_DIR, else <source dir>/paper. */
const char *xai_paper_dir(void);
/* Runs `gnuplot -e "data='DATA'; out='OUT'" SCRIPT`; the figures appear in out_dir only when the
 * run succeeds (rendered into a temporary directory first). gnuplot's messages go to log. */
xai_status xai_gnuplot_run(const char *script, const char *data_dir, const char *out_dir, FILE *log);

/* Per-experiment figures into <exp_dir>/figures/ from <exp_dir>/plot/ (exported first when
 * plot/meta.gp is missing): heatmaps, pixelflip, ig_completeness, training (.png and .pdf;
 * a figure whose data is absent is skipped with a note). paper_dir NULL: xai_paper_dir(). */
xai_status xai_figures_experiment(const char *exp_dir, const char *paper_dir, FILE *log);
/* Exports (with o; NULL: defaults) and renders every experiment <root>/<exps[i]>, then the
 * cross-dataset data (<root>/plot/) and figures (<root>/figures/: aopc, runtime). */
xai_status xai_figures_all(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                           const xai_export_opts *o, FILE *log);
/* Only the cross-dataset part of xai_figures_all (the experiments' own figures exist). */
xai_status xai_figures_cross(const char *results_root, const char *const *exps, int n, const char *paper_dir,
                             FILE *log);

/* ------------------------------------------------------------------- report */

/* <root>/report.md and <root>/report.html (self-contained: inline CSS, relative <img> links to
 * the PNGs that exist), from the HDF5 results of <root>/<exps[i]> only. */
xai_status xai_report_write(const char *results_root, const char *const *exps, int n);

/* ------------------------------------------------------------------- bundle */

/* <root>/xai-repro-artifact.zip, written atomically: configs/<name>.ini (repo_root/experiments/
 * *.ini), <exp>/summary.csv, <exp>/figures/ *, <exp>/provenance*, figures/ *, provenance* and
 * README.md of the root, report.md, report.html, and MANIFEST.sha256 ("<sha256>  <member>" per
 * member, sorted). repo_root NULL: the source directory. */
xai_status xai_bundle_write(const char *results_root, const char *repo_root, const char *const *exps, int n);

/* Experiments found under root: sub-directories holding model.h5, attributions.h5 or
 * metrics.h5, sorted (MNIST family first, then by name). Free with xai_exp_list_free. */
xai_status xai_exp_list(const char *results_root, char ***names, int *n);
void xai_exp_list_free(char **names, int n);

#endif
