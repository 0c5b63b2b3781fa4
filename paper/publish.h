/* publish.h: public API of the publishing stage (paper/): plain-text plot data from an experiment's
 * results, gnuplot figures (the scripts beside it), the Markdown/HTML report and the artefact bundle. */
#ifndef XAI_PUBLISH_H
#define XAI_PUBLISH_H

#include "core/base.h"
#include "paper/summary.h"

#include <stdint.h>
#include <stdio.h>

/* Layout of everything read and written here: results/README.md; the experiment summary, method
 * colours and experiment list the pieces share: paper/summary.h. */

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
/* Cross-dataset data into <root>/plot/ (replaced whole): aopc.dat (rows: experiments; per method
 * morf, morf_se, lerf, lerf_se), runtime.dat (ms per attribution) and meta.gp. */
xai_status xai_export_cross(const char *results_root, const char *const *exps, int n, FILE *log);

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

/* ------------------------------------------------------------ the pipeline */

/* What `xai reproduce` publishes once every experiment is done: a copy of the source tree's
 * results/README.md when the root has none (results/quick), the cross-dataset figures (each
 * experiment's own are made by its export stage) and the report. */
xai_status xai_publish_all(const char *results, const char *const *names, int n);
/* The artefact bundle <results>/xai-repro-artifact.zip (configs from the source directory). */
xai_status xai_publish_bundle(const char *results, const char *const *names, int n);

#endif
