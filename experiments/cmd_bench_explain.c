/* cmd_bench_explain.c: `xai bench ig|lrp|evaluate`: options into one benchmark run of
 * explainers/bench.c, printed as `key value` lines like the other benchmarks. */
#include "core/io.h"
#include "experiments/commands.h"
#include "explainers/explain.h"

#include <stdio.h>
#include <string.h>

#define INT(name, dest, lo, help) {name, XAI_ARG_INT, dest, "N", lo, 0, help}
/* The options every attribution benchmark shares. */
#define COMMON_OPTS(o, peak)                                                                                        \
    {"--config", XAI_ARG_STR, &(o).config, "FILE", 0, 0, "net of its [model] section (default experiments/mnist.ini)"}, \
        INT("--repeats", &(o).repeats, 1, "timed repeats; the median is printed (default 5)"),                      \
        INT("--warmup", &(o).warmup, 0, "untimed calls first (default 1)"),                                        \
        INT("--iters", &(o).iters, 1, "calls a repeat (default 1)"),                                               \
        {"--peak-gflops", XAI_ARG_F64, &(peak), "G", 0, 1e12, "FP32 peak to report fractions of (default: from the CPU)"}

/* The figures every attribution benchmark ends with. */
static void print_tail(const xai_bench_explain_result *r, double peak)
{
    printf("gflops %.2f\n", r->gflops);
    xai_print_peak("", r->gflops, peak);
    printf("peak_rss_mb %.1f\n", r->peak_rss_mb);
}

static void print_exact(const xai_bench_explain_result *r, const xai_bench_explain_opts *o, double peak)
{
    printf("threads %d\n", r->threads);
    printf("rule exact\n");
    printf("images %d\n", r->images);
    printf("ig_batch %d\n", r->rows);
    printf("ig_attr_per_s %.4g\n", r->attr_per_s);
    printf("ig_ms_per_attr %.3f\n", r->ms_per_attr);
    printf("regions_per_s %.1f\n", r->regions_per_s);
    printf("cpu_s_per_attr %.3f\n", r->cpu_s_per_attr);
    printf("regions_per_attr_median %.1f\n", r->regions_per_attr_median);
    printf("regions_per_attr_max %.0f\n", r->regions_per_attr_max);
    if (o->vs_steps > 0) {
        printf("vs_steps %d\n", o->vs_steps);
        printf("vs_ig_attr_per_s %.2f\n", r->vs_attr_per_s);
        printf("exact_cost_vs_ig %.2f\n", r->vs_cost);
    }
    printf("gflop_per_attr %.3f\n", r->gflop_per_attr);
    print_tail(r, peak);
}

/* argv[0] is "bench", argv[1] the benchmark: the options follow. */
static int parse(const xai_cmdspec *spec, int argc, char **argv) { return xai_opts_parse(spec, argc - 1, argv + 1, NULL, NULL); }

int xai_bench_ig(int argc, char **argv)
{
    xai_bench_explain_opts o = {"experiments/mnist.ini", NULL, 50, 16, XAI_QUAD_GAUSS, 0, 5, 1, 1, 0, 0, NULL, NULL, 0};
    const char *rule = NULL;
    double peak = 0;
    const xai_optdef opts[] = {
        COMMON_OPTS(o, peak),
        INT("--steps", &o.steps, 1, "IG quadrature points (default 50)"),
        INT("--images", &o.images, 1, "attributions per timed call (default 16)"),
        {"--ig-batch", XAI_ARG_INT, &o.rows, "N", 1, XAI_BATCH_MAX, "rows a batched pass (default as in xai explain)"},
        {"--rule", XAI_ARG_STR, &rule, "R", 0, 0,
         "left, right, midpoint, trapezoid, gauss (default) or exact (exact IG;\n--steps unused)"},
        INT("--vs-steps", &o.vs_steps, 1, "with --rule exact: also time gauss IG of S steps on the same images"),
        {"--unfolded", XAI_ARG_FLAG, &o.unfolded, NULL, 0, 0,
         "the net with its batch norms as layers of their own, as xai evaluate runs\nits IG step curves (default: folded, as xai explain runs IG)"},
        {"--model", XAI_ARG_STR, &o.model, "FILE", 0, 0, "with --rule exact: a trained model (xai train) instead of\n--config's random net"},
        {"--data", XAI_ARG_STR, &o.data, "FILE", 0, 0, "with --model: a dataset cache (.h5); its first --images test\nimages, explained for the predicted class, replace the random inputs"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai bench ig", "[options]",
        "Integrated Gradients throughput on the config's net (random weights and inputs, black\n"
        "baseline): --images attributions per timed call, all their steps batched in rows of\n"
        "--ig-batch. Prints ig_attr_per_s (median of the repeats), GFLOP/s counting one forward and\n"
        "one input-gradient pass (2 x forward FLOPs) per step, and the fraction of FP32 peak.\n"
        "--rule exact: exact IG on the net with random biases N(0, 0.01) (zero biases keep the\n"
        "path from the black baseline in one region), or on a trained --model (and --data's test\n"
        "images); prints regions_per_s, cpu_s_per_attr (process CPU seconds, steadier on a loaded\n"
        "machine) and the regions per attribution (median, max) of the last timed call, nominal\n"
        "FLOPs counting one forward and one gradient pass per region, and with --vs-steps S, IG-S\n"
        "on the same images and exact_cost_vs_ig (seconds of exact IG / seconds of IG-S). Each\n"
        "image can cross tens of thousands of regions: start with --images 1 --repeats 1 --warmup 0.",
        opts, 0};
    int r = parse(&spec, argc, argv);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    o.exact = rule && !strcmp(rule, "exact");
    if (rule && !o.exact && (int)(o.rule = xai_quad_rule_from_name(rule)) < 0) {
        fprintf(stderr, "xai bench ig: --rule must be left, right, midpoint, trapezoid, gauss or exact\n");
        return 2;
    }
    if (o.unfolded && o.exact) {
        fprintf(stderr, "xai bench ig: --unfolded goes with the quadrature rules, not --rule exact\n");
        return 2;
    }
    if ((o.vs_steps || o.model) && !o.exact) {
        fprintf(stderr, "xai bench ig: %s goes with --rule exact\n", o.model ? "--model" : "--vs-steps");
        return 2;
    }
    if (o.data && !o.model) {
        fprintf(stderr, "xai bench ig: --data goes with --model\n");
        return 2;
    }
    xai_bench_explain_result res;
    xai_status s = xai_bench_ig_run(&o, &res);
    if (s != XAI_OK) return xai_cli_error(s);
    if (o.exact) {
        print_exact(&res, &o, peak);
        return 0;
    }
    printf("threads %d\n", res.threads);
    printf("steps %d\n", res.steps);
    printf("images %d\n", res.images);
    printf("ig_batch %d\n", res.rows);
    printf("ig_attr_per_s %.2f\n", res.attr_per_s);
    printf("ig_ms_per_attr %.3f\n", res.ms_per_attr);
    printf("gflop_per_attr %.3f\n", res.gflop_per_attr);
    print_tail(&res, peak);
    return 0;
}

int xai_bench_lrp(int argc, char **argv)
{
    xai_bench_explain_opts o = {"experiments/mnist.ini", "lrp-epsilon", 0, 0, XAI_QUAD_GAUSS, 0, 5, 1, 1, 0, 0, NULL, NULL, 0};
    double peak = 0;
    const xai_optdef opts[] = {
        COMMON_OPTS(o, peak),
        {"--method", XAI_ARG_STR, &o.method, "SPEC", 0, 0, "an LRP composite spec (default lrp-epsilon)"},
        {"--batch", XAI_ARG_INT, &o.rows, "N", 1, XAI_BATCH_MAX, "images a timed call (default as xai explain's --ig-batch)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai bench lrp", "[options]",
        "LRP throughput on the config's net (random weights and inputs): one batch of --batch\n"
        "images per timed call. Prints lrp_attr_per_s and, for the same batch, gxi_attr_per_s\n"
        "(gradient x input through the same engine), lrp_vs_gxi (their ratio), gflop_per_attr\n"
        "(the forward pass plus each layer's conv passes under its rule: epsilon 1, z+ 2, gamma 4,\n"
        "doubled on a signed input), flop_bound_vs_gxi (gradient x input's FLOPs over those: the\n"
        "ratio the arithmetic allows), GFLOP/s and the fraction of FP32 peak. LRP and gradient x\n"
        "input are timed in alternating rounds (one call each, --repeats rounds), so both see the\n"
        "same load; the figures are the medians. lrp_vs_gxi_cpu: the same ratio in process CPU\n"
        "seconds, steadier on a loaded machine (with OMP_WAIT_POLICY=passive, waits cost none).",
        opts, 0};
    int r = parse(&spec, argc, argv);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    xai_bench_explain_result res;
    xai_status s = xai_bench_lrp_run(&o, &res);
    if (s != XAI_OK) return xai_cli_error(s);
    printf("threads %d\n", res.threads);
    printf("method %s\n", res.method);
    printf("batch %d\n", res.rows);
    printf("lrp_attr_per_s %.1f\n", res.attr_per_s);
    printf("gxi_attr_per_s %.1f\n", res.gxi_attr_per_s);
    printf("lrp_vs_gxi %.3f\n", res.attr_per_s / res.gxi_attr_per_s);
    printf("lrp_vs_gxi_cpu %.3f\n", res.cpu_vs_gxi);
    printf("gflop_per_attr %.4f\n", res.gflop_per_attr);
    printf("gxi_gflop_per_attr %.4f\n", res.gxi_gflop_per_attr);
    /* what the arithmetic allows: gradient x input's FLOPs over the rule's */
    printf("flop_bound_vs_gxi %.3f\n", res.gxi_gflop_per_attr / res.gflop_per_attr);
    print_tail(&res, peak);
    return 0;
}

int xai_bench_evaluate(int argc, char **argv)
{
    xai_bench_explain_opts o = {"experiments/mnist.ini", NULL, 0, 16, XAI_QUAD_GAUSS, 0, 3, 1, 1, 0, 0, NULL, NULL, 0};
    const char *only = NULL;
    double peak = 0;
    const xai_optdef opts[] = {
        COMMON_OPTS(o, peak),
        INT("--images", &o.images, 1, "images a metric scores per timed call (default 16)"),
        INT("--batch", &o.rows, 1, "rows a forward pass (default as xai explain's --ig-batch)"),
        {"--metric", XAI_ARG_STR, &only, "NAME", 0, 0, "time this metric only (default: all)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    char help[3072];
    snprintf(help, sizeof help,
             "Throughput of the evaluation metrics on the config's net (random weights and inputs,\n"
             "gradient x input scored; default 3 repeats): for each metric (%s)\n"
             "NAME_forward_per_s, the images it sends through the net a second (a metric that\n"
             "recomputes attributions runs a backward pass after each: NAME_forward_only 0), and\n"
             "NAME_vs_infer, that over NAME_infer_img_per_s: inference as `xai bench infer` runs it\n"
             "(same net and batch), timed in alternating rounds with the metric (infer, metric,\n"
             "infer, ...; medians), so both see the same load; NAME_vs_infer_cpu, the same ratio\n"
             "in process CPU seconds (steadier on a loaded machine with OMP_WAIT_POLICY=passive).\n"
             "infer_img_per_s: `xai bench infer` on its own, before the metrics. ROAD's imputation is timed apart: road_impute_share of its time,\n"
             "road_forward_per_s_ex_impute and road_vs_infer_ex_impute outside it, and its cost model:\n"
             "road_impute_rows_per_s, road_cg_iters_per_row (all channels) and road_cg_work_per_s\n"
             "(CG iterations x unknowns a second: the imputation takes work / this).\n"
             "The forward-only metrics run the net as `xai evaluate` runs them and inference: batch\n"
             "norms as layers of their own; the metrics that explain again, explain's folded net.\n"
             "similarity_per_s: map pairs compared a second (Spearman, Spearman of |.|, SSIM), as the\n"
             "randomisation cascade and the random-logit test compare them.",
             xai_bench_metric_names());
    const xai_cmdspec spec = {"xai bench evaluate", "[options]", help, opts, 0};
    int r = parse(&spec, argc, argv);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    xai_bench_eval_result res;
    xai_status s = xai_bench_evaluate_run(&o, only, &res);
    if (s != XAI_OK) return xai_cli_error(s);
    printf("threads %d\n", res.threads);
    printf("batch %d\n", res.rows);
    printf("images %d\n", res.images);
    printf("gflop_per_forward %.4f\n", res.gflop_per_forward);
    printf("infer_img_per_s %.1f\n", res.infer_img_per_s);
    printf("infer_gflops %.2f\n", res.infer_gflops);
    for (int k = 0; k < res.nmetrics; k++) {
        const xai_bench_metric_figure *f = &res.metric[k];
        printf("%s_forward_only %d\n", f->name, f->forward_only);
        printf("%s_forward_per_s %.1f\n", f->name, f->forward_per_s);
        printf("%s_infer_img_per_s %.1f\n", f->name, f->infer_per_s);
        printf("%s_vs_infer %.3f\n", f->name, f->forward_per_s / f->infer_per_s);
        printf("%s_vs_infer_cpu %.3f\n", f->name, f->vs_infer_cpu);
        printf("%s_gflops %.2f\n", f->name, f->gflops);
        if (f->impute_share > 0) {
            printf("%s_impute_share %.3f\n", f->name, f->impute_share);
            printf("%s_forward_per_s_ex_impute %.1f\n", f->name, f->forward_per_s_ex_impute);
            printf("%s_vs_infer_ex_impute %.3f\n", f->name, f->forward_per_s_ex_impute / f->infer_per_s);
        }
        if (f->impute_rows_per_s > 0) {
            printf("%s_impute_rows_per_s %.1f\n", f->name, f->impute_rows_per_s);
            printf("%s_cg_iters_per_row %.1f\n", f->name, f->cg_iters_per_row);
            printf("%s_cg_work_per_s %.4g\n", f->name, f->cg_work_per_s);
        }
        char pre[64];
        snprintf(pre, sizeof pre, "%s_", f->name);
        xai_print_peak(pre, f->gflops, peak);
    }
    printf("similarity_per_s %.1f\n", res.similarity_per_s);
    printf("peak_rss_mb %.1f\n", res.peak_rss_mb);
    return 0;
}
