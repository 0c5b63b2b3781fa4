/* cmd_report.c: `xai report`: the Markdown/HTML report (and with --figures every figure first),
 * then the artefact bundle. Options from a table (core/cli.c); the work is in paper/. */
#include "core/io.h"
#include "experiments/commands.h"
#include "paper/publish.h"

#include <stdlib.h>

#ifdef XAI_SOURCE_DIR
#define REPO_DEFAULT XAI_SOURCE_DIR
#else
#define REPO_DEFAULT "."
#endif

int xai_cmd_report(int argc, char **argv)
{
    const char *results = "results", *exp = NULL, *repo = NULL, *paper = NULL, *data_dir = NULL;
    int figures = 0, no_bundle = 0;
    char repo_help[1200], paper_help[1200];
    snprintf(repo_help, sizeof repo_help, "repository root whose experiments/*.ini go into the bundle\n(default %s)",
             REPO_DEFAULT);
    snprintf(paper_help, sizeof paper_help, "directory of the gnuplot scripts (default %s)", xai_paper_dir());
    const xai_optdef opts[] = {
        {"--results", XAI_ARG_STR, &results, "DIR", 0, 0, "results root (default results)"},
        {"--exp", XAI_ARG_STR, &exp, "LIST", 0, 0,
         "comma-separated experiments (sub-directories of DIR) to include\n(default: every one holding model.h5, "
         "attributions.h5 or metrics.h5)"},
        {"--figures", XAI_ARG_FLAG, &figures, NULL, 0, 0, "first export and render every figure with gnuplot (paper/*.gp)"},
        {"--no-bundle", XAI_ARG_FLAG, &no_bundle, NULL, 0, 0, "skip the zip"},
        {"--repo", XAI_ARG_STR, &repo, "DIR", 0, 0, repo_help},
        {"--paper", XAI_ARG_STR, &paper, "DIR", 0, 0, paper_help},
        {"--data-dir", XAI_ARG_STR, &data_dir, "DIR", 0, 0,
         "dataset caches, for class names in figures (default $XAI_DATA_DIR,\nelse ./data)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai report", "[options]",
        "Writes DIR/report.md and DIR/report.html from the experiments' HDF5 results, then the\n"
        "artefact bundle DIR/xai-repro-artifact.zip (configs, summaries, figures, provenance,\n"
        "report, MANIFEST.sha256).",
        opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    char **names = NULL;
    int n = 0;
    xai_status st = XAI_OK;
    if (exp) {
        xai_name_list_parse(exp, &names, &n);
    } else {
        if ((st = xai_exp_list(results, &names, &n)) != XAI_OK) goto done;
        if (!n) {
            st = xai_fail(XAI_ENOTFOUND, "%s: no experiment directories with model.h5, attributions.h5 or metrics.h5 "
                                         "(run 'xai reproduce' first)", results);
            goto done;
        }
    }
    const char *const *cn = (const char *const *)names;
    xai_export_opts eo;
    xai_export_defaults(&eo);
    eo.data_dir = data_dir;
    if (figures && (st = xai_figures_all(results, cn, n, paper, &eo, stderr)) != XAI_OK) goto done;
    if ((st = xai_report_write(results, cn, n)) != XAI_OK) goto done;
    printf("wrote %s/report.md and %s/report.html\n", results, results);
    if (no_bundle) goto done;
    if ((st = xai_bundle_write(results, repo, cn, n)) != XAI_OK) goto done;
    printf("wrote %s/xai-repro-artifact.zip\n", results);
done:
    xai_exp_list_free(names, n);
    return st == XAI_OK ? 0 : xai_cli_error(st);
}
