/* cmd_bench.c: `xai bench`: throughput of training and inference (core/bench.c); `xai bench ig|lrp`
 * hand over to the explainers. Prints one `key value` figure a line (tests/torch/compare.sh reads them). */
#include "core/base.h"
#include "core/bench.h"
#include "core/io.h"
#include "core/nn.h"
#include "experiments/commands.h"

#include <string.h>

static void print_result(const xai_bench_result *r, int train, double peak_gflops)
{
    printf("threads %d\n", r->threads);
    printf("conv_impl %s\n", r->conv_impl);
    printf("batch %d\n", r->batch);
    printf("%s %.1f\n", train ? "train_img_per_s" : "infer_img_per_s", r->img_per_s);
    printf("%s %.3f\n", train ? "train_step_ms" : "infer_batch_ms", r->step_ms);
    printf("gflops %.2f\n", r->gflops);
    xai_print_peak("", r->gflops, peak_gflops);
    if (r->conv_gflops > 0) {
        printf("conv_gflops %.2f\n", r->conv_gflops);
        xai_print_peak("conv_", r->conv_gflops, peak_gflops);
    }
    printf("peak_rss_mb %.1f\n", r->peak_rss_mb);
}

int xai_cmd_bench(int argc, char **argv)
{
    const char *config = "experiments/mnist.ini";
    int batch = 128;
    xai_bench_timing t = {.repeats = 7, .warmup = 2, .iters = 5};
    double peak = 0;
    const xai_optdef opts[] = {
        {"--config", XAI_ARG_STR, &config, "FILE", 0, 0, "the experiment whose [model] is timed (experiments/mnist.ini)"},
        {"--batch", XAI_ARG_INT, &batch, "N", 1, XAI_BATCH_MAX, "images per step (128)"},
        {"--repeats", XAI_ARG_INT, &t.repeats, "R", 1, 0, "timed runs; the median is printed (7)"},
        {"--warmup", XAI_ARG_INT, &t.warmup, "W", 0, 0, "untimed steps first (2)"},
        {"--iters", XAI_ARG_INT, &t.iters, "I", 1, 0, "steps per timed run (5)"},
        {"--peak-gflops", XAI_ARG_F64, &peak, "G", 0, 1e12,
         "the machine's FP32 peak (default threads x 32 FLOP/cycle x clock)"},
        {NULL, 0, NULL, NULL, 0, 0, NULL},
    };
    const xai_cmdspec spec = {
        "xai bench",
        "<train|infer> [--config FILE] [options]\n"
        "       xai bench <ig|lrp|evaluate> --help   (attribution and metric throughput, see there)",
        "Prints `key value` lines: throughput (median of R repeats of I steps after W warm-up\n"
        "steps), threads used, GFLOP/s and the fraction of the machine's FP32 peak, the same\n"
        "for the conv layers alone, and peak memory.",
        opts, 0};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        xai_opts_usage(&spec, argc < 2 ? stderr : stdout);
        return argc < 2 ? XAI_OPTS_ERROR : 0;
    }
    const char *what = argv[1];
    if (!strcmp(what, "ig")) return xai_bench_ig(argc, argv);
    if (!strcmp(what, "lrp")) return xai_bench_lrp(argc, argv);
    if (!strcmp(what, "evaluate")) return xai_bench_evaluate(argc, argv);
    /* argv[1] (the benchmark) stands where the parser expects the command name. */
    int r = xai_opts_parse(&spec, argc - 1, argv + 1, NULL, NULL);
    if (r != XAI_OPTS_OK) return r == XAI_OPTS_HELP ? 0 : r;
    int train = !strcmp(what, "train");
    if (!train && strcmp(what, "infer")) {
        fprintf(stderr, "xai bench: unknown benchmark '%s' (expected train, infer, ig, lrp or evaluate)\n", what);
        return 2;
    }
    xai_bench_result res;
    xai_status s = xai_bench_model(&res, config, batch, train, &t);
    if (s != XAI_OK) return xai_cli_error(s);
    print_result(&res, train, peak);
    return 0;
}
