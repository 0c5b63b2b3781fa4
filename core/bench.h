/* bench.h: the measurements behind `xai bench`: a median-of-repeats timer, peak memory, and the
 * training/inference throughput of a config's net. Printing is the command's (experiments/cmd_bench.c). */
#ifndef XAI_BENCH_H
#define XAI_BENCH_H

#include "core/base.h"

/* One timed call; a failure stops the timing. */
typedef xai_status (*xai_bench_step)(void *ctx);
typedef struct {
    int repeats; /* timed runs, >= 1; the median is reported */
    int warmup;  /* untimed calls first, >= 0 */
    int iters;   /* calls per timed run, >= 1 */
} xai_bench_timing;

/* Median seconds per call of step(ctx) over t->repeats runs of t->iters calls, after t->warmup
 * calls. *st gets the first failing status (the figure is then meaningless). */
double xai_bench_time(xai_bench_step step, void *ctx, const xai_bench_timing *t, xai_status *st);
/* The process's peak resident set so far, in MiB. */
double xai_peak_rss_mb(void);

/* Throughput of the [model] of a config at one batch size, random weights and inputs, run as the
 * trainer runs it (lean activations): train = 1 times forward + backward + an SGD update, train = 0
 * a forward pass. The conv layers are then timed alone (forward, and backward when training). */
typedef struct {
    int threads, batch;
    const char *conv_impl;   /* xai_conv_impl_name() */
    double img_per_s;        /* images per second */
    double step_ms;          /* milliseconds per training step or inference batch */
    double gflops;           /* whole net: forward FLOPs (x3 when training) per second */
    double conv_gflops;      /* conv layers alone; 0 when the net has none */
    double peak_rss_mb;      /* after all timings */
} xai_bench_result;
xai_status xai_bench_model(xai_bench_result *r, const char *config, int batch, int train, const xai_bench_timing *t);

#endif
