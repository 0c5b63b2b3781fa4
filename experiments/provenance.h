/* provenance.h: the run record of `xai reproduce` and the pipeline's publishing step.
 * What made each result: program, compiler, libraries, CPU, seeds, data, stage times. */
#ifndef XAI_PROVENANCE_H
#define XAI_PROVENANCE_H

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/io.h"
#include "experiments/predict.h"

typedef struct {
    const char *name, *dataset, *config, *seed;
    const char *stage[8];
    double seconds[8]; /* wall seconds of the last run of each stage (-1: unknown) */
    int ran[8];        /* 1: ran in this invocation; 0: up to date */
    double predicted[8]; /* the cost model's seconds (experiments/predict.h); -1: not modelled */
    const xai_rates *rates; /* the rates they came from, or NULL */
    int nstages;
} xai_prov_stage_times;

/* Library versions, compiler and CPU as one JSON object body (no braces), malloc'd. */
char *xai_provenance_build_json(void);
/* Writes <results>/provenance.json atomically; profile: "default", "quick" or "full" (xai reproduce);
 * calib_s: seconds the cost model's calibration took in this run (0: its rates were on file), -1: none. */
xai_status xai_provenance_write(const char *results, const xai_prov_stage_times *t, int n, const char *profile,
                                double total_s, double calib_s);
/* Ratio of a stage's wall time to its prediction, NaN when either is unknown. */
double xai_prov_ratio(double wall, double predicted);

#endif
