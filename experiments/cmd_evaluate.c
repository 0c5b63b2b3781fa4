/* cmd_evaluate.c: `xai evaluate`: options from a table, one call of xai_evaluate (explainers/evaluate.c).
 * Scores every method of an attribution file and writes metrics.h5 (layout: explainers/METRICS.md). */
#include "core/io.h"
#include "experiments/commands.h"
#include "explainers/evaluate.h"
#include "explainers/explain.h"
#include "explainers/faith.h"

#include <stdlib.h>
#include <string.h>

#define CMD "xai evaluate"

static int bad_value(const char *opt, const char *v, const char *want)
{
    fprintf(stderr, CMD ": %s %s: expected %s (see '" CMD " --help')\n", opt, v, want);
    return XAI_OPTS_ERROR;
}

/* Checks the table cannot express: names, lists, open ranges, combinations. */
static int check_opts(xai_eval_opts *o, const char *perturb, const char *steps, const char *rules, double sigma,
                      const char *metrics)
{
    if (metrics && xai_faith_parse(metrics, &o->faith.which) != XAI_OK) {
        fprintf(stderr, CMD ": %s\n", xai_errmsg());
        xai_clear_error();
        return XAI_OPTS_ERROR;
    }
    if (xai_faith_check(&o->faith) != XAI_OK) {
        fprintf(stderr, CMD ": %s\n", xai_errmsg());
        xai_clear_error();
        return XAI_OPTS_ERROR;
    }
    int k = perturb ? xai_perturb_from_name(perturb) : (int)o->flip.perturb;
    if (k < 0) return bad_value("--perturb", perturb, "zero, mean, noise or blur");
    o->flip.perturb = (xai_perturb_kind)k;
    char v[32];
    snprintf(v, sizeof v, "%g", sigma);
    if (!(sigma > 0)) return bad_value("--blur-sigma", v, "a positive number of pixels");
    o->flip.blur_sigma = (float)sigma;
    snprintf(v, sizeof v, "%g", o->flip.fraction);
    if (!(o->flip.fraction > 0)) return bad_value("--fraction", v, "a number in (0, 1]");
    if (steps && (o->nig_steps = xai_eval_parse_list(steps, o->ig_steps, XAI_EVAL_MAX_LIST, 0)) < 1)
        return bad_value("--ig-steps", steps, "up to 16 comma-separated positive integers");
    if (rules && (o->nig_rules = xai_eval_parse_list(rules, o->ig_rules, XAI_EVAL_MAX_LIST, 1)) < 1)
        return bad_value("--ig-rules", rules, "comma-separated rules: left, right, midpoint, trapezoid, gauss");
    if (!o->model || !o->attributions) {
        fprintf(stderr, CMD ": --model and --attributions are required (see '" CMD " --help')\n");
        return XAI_OPTS_ERROR;
    }
    for (int r = 0; o->ig_curve && r < o->nig_rules; r++)
        for (int s = 0; s < o->nig_steps; s++)
            if (o->ig_rules[r] == XAI_QUAD_TRAPEZOID && o->ig_steps[s] < 2) {
                fprintf(stderr, CMD ": --ig-steps: the trapezoid rule needs at least 2 steps\n");
                return XAI_OPTS_ERROR;
            }
    return XAI_OPTS_OK;
}

/* Writing either output over an input (or over the other output) would destroy it. */
static xai_status outputs_not_inputs(const xai_eval_opts *o)
{
    XAI_TRY(xai_output_not_input("--out", o->out, "--model", o->model));
    XAI_TRY(xai_output_not_input("--out", o->out, "--attributions", o->attributions));
    XAI_TRY(xai_output_not_input("--summary", o->summary, "--model", o->model));
    XAI_TRY(xai_output_not_input("--summary", o->summary, "--attributions", o->attributions));
    return xai_outputs_differ("--summary", o->summary, "--out", o->out);
}

int xai_cmd_evaluate(int argc, char **argv)
{
    xai_eval_opts o;
    xai_eval_defaults(&o);
    const char *perturb = NULL, *steps = NULL, *rules = NULL, *metrics = NULL;
    xai_faith_opts *fo = &o.faith;
    double sigma = o.flip.blur_sigma;
    int64_t seed = (int64_t)o.flip.seed;
    const xai_optdef opts[] = {
        {"--model", XAI_ARG_STR, &o.model, "M.h5", 0, 0, "the model that was explained (required)"},
        {"--attributions", XAI_ARG_STR, &o.attributions, "A.h5", 0, 0, "an attribution file of `xai explain` (required)"},
        {"--out", XAI_ARG_STR, &o.out, "PATH", 0, 0, "metrics file (default: metrics.h5 next to the attribution file)"},
        {"--methods", XAI_ARG_STR, &o.methods, "A,B", 0, 0, "methods to score (default: all under /attributions)"},
        {"--n", XAI_ARG_INT, &o.n, "N", 1, 0, "first N images of the file (default: all)"},
        {"--patch", XAI_ARG_INT, &o.flip.patch, "P", 1, 0,
         "feature = P x P patch, relevance summed over it and the channels (default 1)"},
        {"--perturb", XAI_ARG_STR, &perturb, "KIND", 0, 0,
         "removed features become zero (black) | mean (dataset mean) | noise\n(uniform, seeded) | blur "
         "(Gaussian-blurred image) (default zero)"},
        {"--blur-sigma", XAI_ARG_F64, &sigma, "S", 0, 1e30, "blur perturbation sigma in pixels, > 0 (default 2)"},
        {"--steps", XAI_ARG_INT, &o.flip.steps, "K", 1, 0, "perturbation steps (default 50)"},
        {"--per-step", XAI_ARG_INT, &o.flip.per_step, "F", 1, 0, "features removed per step (overrides --steps)"},
        {"--fraction", XAI_ARG_F64, &o.flip.fraction, "X", 0, 1,
         "stop once this fraction (0, 1] of the features is removed (default 0.5)"},
        {"--seed", XAI_ARG_I64, &seed, "S", 0, 0, "noise, random control order and re-initialisation seed (default 1)"},
        {"--batch", XAI_ARG_INT, &o.batch, "B", 1, 65536, "images per forward pass (default 256)"},
        {"--sanity", XAI_ARG_SWITCH, &o.sanity, "[yes|no]", 0, 0,
         "model-parameter randomisation test for every method (alone: yes)"},
        {"--sanity-n", XAI_ARG_INT, &o.sanity_n, "N", 1, 0, "images for it (default 100)"},
        {"--ig-curve", XAI_ARG_SWITCH, &o.ig_curve, "[yes|no]", 0, 0,
         "IG completeness error, and the map error against exact IG (piecewise-linear\nmodels), over step counts and quadrature rules (alone: yes)"},
        {"--ig-steps", XAI_ARG_STR, &steps, "LIST", 0, 0, "step counts (default 4,8,16,32,64,128,256)"},
        {"--ig-rules", XAI_ARG_STR, &rules, "LIST", 0, 0, "rules (default left,right,midpoint,trapezoid,gauss)"},
        {"--ig-n", XAI_ARG_INT, &o.ig_n, "N", 1, 0, "images for it (default 100)"},
        {"--metrics", XAI_ARG_STR, &metrics, "LIST", 0, 0,
         "metrics besides pixel flipping and completeness: all (default), none, or of\ninsdel, road, faithcorr, "
         "sensn, infidelity, maxsens, randlogit, sparseness,\ncomplexity (explainers/METRICS.md)"},
        {"--insdel-steps", XAI_ARG_INT, &fo->insdel_steps, "K", 1, 100000, "insertion/deletion steps (default 32)"},
        {"--road-noise", XAI_ARG_F64, &fo->road_noise, "S", 0, 1, "ROAD imputation noise sd in pixels (default 0.01)"},
        {"--faithcorr-runs", XAI_ARG_INT, &fo->fc_runs, "R", 2, 100000, "faithfulness correlation subsets (default 64)"},
        {"--faithcorr-fraction", XAI_ARG_F64, &fo->fc_fraction, "X", 0, 1,
         "share of the features in each of them (default 0.1)"},
        {"--sensn-runs", XAI_ARG_INT, &fo->sensn_runs, "R", 2, 100000, "sensitivity-n subsets per n (default 32)"},
        {"--infid-runs", XAI_ARG_INT, &fo->infid_runs, "R", 2, 100000, "infidelity perturbations (default 64)"},
        {"--infid-sigma", XAI_ARG_F64, &fo->infid_sigma, "S", 0, 10, "their sd in pixels (default 0.1)"},
        {"--maxsens-n", XAI_ARG_INT, &fo->maxsens_n, "N", 1, 0, "images for max-sensitivity (default 16)"},
        {"--maxsens-runs", XAI_ARG_INT, &fo->maxsens_runs, "R", 1, 100000, "perturbed inputs per image (default 8)"},
        {"--maxsens-radius", XAI_ARG_F64, &fo->maxsens_radius, "R", 0, 10,
         "their L-infinity radius in pixels (default 0.02)"},
        {"--randlogit-n", XAI_ARG_INT, &fo->randlogit_n, "N", 1, 0, "images for the random-logit test (default 64)"},
        {"--ig-curve-methods", XAI_ARG_STR, &o.ig_curve_methods, "A,B", 0, 0,
         "IG methods to draw the curve for (default: every IG method; the exact\nreference of a blur baseline's "
         "path can take minutes an image)"},
        {"--ig-exact-n", XAI_ARG_INT, &o.ig_exact_n, "N", 0, 0,
         "exact-IG reference (the map error) on the first N images of the curve only; 0: none\n"
         "(default: all --ig-n; exact IG costs a pass per linear region of the path)"},
        {"--ig-check", XAI_ARG_SWITCH, &o.ig_check, "[yes|no]", 0, 0,
         "with an exact reference: midpoint IG at 4096 steps on the first 32 images (one more\n"
         "run when --ig-steps lacks 4096) against the error the order fitted on fewer steps\npredicts (default yes)"},
        {"--summary", XAI_ARG_STR, &o.summary, "CSV", 0, 0,
         "also write summary rows (method, AOPC MoRF/LeRF, completeness) to CSV"},
        {"--label", XAI_ARG_STR, &o.label, "L", 0, 0, "first column of the summary rows (default: the attribution file)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {CMD, "--model M.h5 --attributions A.h5 [options]",
                              "Scores every method of an attribution file (pixel flipping, completeness, --metrics) and "
                              "writes HDF5\n(layout: explainers/METRICS.md).",
                              opts, 0};
    int r = xai_opts_parse(&spec, argc, argv, NULL, NULL);
    if (r == XAI_OPTS_OK) r = check_opts(&o, perturb, steps, rules, sigma, metrics);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    o.flip.seed = (uint64_t)seed;
    xai_status s;
    if ((s = outputs_not_inputs(&o)) != XAI_OK) return xai_cli_error(s);
    s = xai_evaluate(&o, stdout);
    return s == XAI_OK ? 0 : xai_cli_error(s);
}
