/* cmd_export.c: `xai export`: plot data (and with --figures the figures) of one experiment.
 * Options from a table (core/cli.c); the work is paper/export.c and paper/figures.c. */
#include "core/io.h"
#include "experiments/commands.h"
#include "paper/publish.h"

#include <stdlib.h>

int xai_cmd_export(int argc, char **argv)
{
    const char *results = NULL, *out = NULL, *paper = NULL, *methods = NULL;
    int figures = 0;
    xai_export_opts o;
    xai_export_defaults(&o);
    char paper_help[1200];
    snprintf(paper_help, sizeof paper_help, "directory of the gnuplot scripts (default %s)", xai_paper_dir());
    const xai_optdef opts[] = {
        {"--results", XAI_ARG_STR, &results, "DIR", 0, 0, "the experiment directory, e.g. results/mnist (required)"},
        {"--out", XAI_ARG_STR, &out, "DIR", 0, 0, "where the data files go (default DIR/plot)"},
        {"--figures", XAI_ARG_FLAG, &figures, NULL, 0, 0,
         "also render DIR/figures/*.png and *.pdf with gnuplot (paper/*.gp)"},
        {"--paper", XAI_ARG_STR, &paper, "DIR", 0, 0, paper_help},
        {"--correct", XAI_ARG_INT, &o.n_correct, "N", 0, 64,
         "correctly classified example rows in the heatmap grid (default 3)"},
        {"--wrong", XAI_ARG_INT, &o.n_wrong, "N", 0, 64, "wrongly classified example rows (default 2)"},
        {"--methods", XAI_ARG_STR, &methods, "LIST", 0, 0,
         "comma-separated heatmap columns (default: every ig and lrp method in the file)"},
        {"--data-dir", XAI_ARG_STR, &o.data_dir, "DIR", 0, 0,
         "dataset caches, for class names (default $XAI_DATA_DIR, else ./data)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai export", "--results DIR [options]",
        "Writes plain data files for gnuplot from one experiment's HDF5 results (model.h5,\n"
        "attributions.h5, metrics.h5; layout: results/README.md): heatmaps of example images,\n"
        "pixel-flipping curves, IG completeness vs steps, AOPC, runtime, training curves.",
        opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (!results) {
        fprintf(stderr, "xai export: --results DIR is required, e.g. --results results/mnist (see 'xai export --help')\n");
        return 2;
    }
    if (figures && out) {
        fprintf(stderr, "xai export: --figures renders from DIR/plot; leave out --out to use it\n");
        return 2;
    }
    char **mv = NULL;
    int nmv = 0;
    if (methods) xai_name_list_parse(methods, &mv, &nmv);
    if (methods) o.methods = (const char *const *)mv, o.nmethods = nmv;
    char *plot = out ? xai_strdup(out) : xai_path_join(results, "plot"), *figs = xai_path_join(results, "figures");
    char gp[1024];
    xai_status st = XAI_OK;
    if (figures && (st = xai_gnuplot_find(gp, sizeof gp)) != XAI_OK) goto done;
    if ((st = xai_export_experiment(results, out, &o, stderr)) != XAI_OK) goto done;
    printf("wrote %s\n", plot);
    if (!figures) goto done;
    if ((st = xai_figures_experiment(results, paper, stderr)) != XAI_OK) goto done;
    printf("wrote %s\n", figs);
done:
    xai_exp_list_free(mv, nmv);
    free(plot);
    free(figs);
    return st == XAI_OK ? 0 : xai_cli_error(st);
}
