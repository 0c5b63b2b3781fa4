/* cmd_bench_explain.c: `xai bench ig` and `xai bench lrp`: options into one benchmark run of
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

/* argv[0] is "bench", argv[1] the benchmark: the options follow. */
static int parse(const xai_cmdspec *spec, int argc, char **argv) { return xai_opts_parse(spec, argc - 1, argv + 1, NULL, NULL); }

int xai_bench_ig(int argc, char **argv)
{
    xai_bench_explain_opts o = {"experiments/mnist.ini", NULL, 50, 16, XAI_QUAD_GAUSS, 0, 5, 1, 1};
    const char *rule = NULL;
    double peak = 0;
    const xai_optdef opts[] = {
        COMMON_OPTS(o, peak),
        INT("--steps", &o.steps, 1, "IG quadrature points (default 50)"),
        INT("--images", &o.images, 1, "attributions per timed call (default 16)"),
        INT("--ig-batch", &o.rows, 1, "rows a batched pass (default as in xai explain)"),
        {"--rule", XAI_ARG_STR, &rule, "R", 0, 0, "left, right, midpoint, trapezoid or gauss (default gauss)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai bench ig", "[options]",
        "Integrated Gradients throughput on the config's net (random weights and inputs, black\n"
        "baseline): --images attributions per timed call, all their steps batched in rows of\n"
        "--ig-batch. Prints ig_attr_per_s (median of the repeats), GFLOP/s counting one forward and\n"
        "one input-gradient pass (2 x forward FLOPs) per step, and the fraction of FP32 peak.",
        opts, 0};
    int r = parse(&spec, argc, argv);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : 2;
    if (rule && (int)(o.rule = xai_quad_rule_from_name(rule)) < 0) {
        fprintf(stderr, "xai bench ig: --rule must be left, right, midpoint, trapezoid or gauss\n");
        return 2;
    }
    xai_bench_explain_result res;
    xai_status s = xai_bench_ig_run(&o, &res);
    if (s != XAI_OK) return xai_cli_error(s);
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
    xai_bench_explain_opts o = {"experiments/mnist.ini", "lrp-epsilon", 0, 0, XAI_QUAD_GAUSS, 0, 5, 1, 1};
    double peak = 0;
    const xai_optdef opts[] = {
        COMMON_OPTS(o, peak),
        {"--method", XAI_ARG_STR, &o.method, "SPEC", 0, 0, "an LRP composite spec (default lrp-epsilon)"},
        INT("--batch", &o.rows, 1, "images a timed call (default as xai explain's --ig-batch)"),
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai bench lrp", "[options]",
        "LRP throughput on the config's net (random weights and inputs): one batch of --batch\n"
        "images per timed call. Prints lrp_attr_per_s and, for the same batch, gxi_attr_per_s\n"
        "(gradient x input, the same cost class), GFLOP/s counting forward + one backward pass\n"
        "(2 x forward FLOPs) per attribution, and the fraction of FP32 peak.",
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
    print_tail(&res, peak);
    return 0;
}
