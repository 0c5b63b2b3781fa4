/* provenance.h: the run record of `xai reproduce` and the pipeline's publishing step.
 * What made each result: program, compiler, libraries, CPU, seeds, data, stage times. */
#ifndef XAI_PROVENANCE_H
#define XAI_PROVENANCE_H

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/io.h"

typedef struct {
    const char *name, *dataset, *config, *seed;
    const char *stage[8];
    double seconds[8]; /* wall seconds of the last run of each stage (-1: unknown) */
    int ran[8];        /* 1: ran in this invocation; 0: up to date */
    int nstages;
} xai_prov_stage_times;

/* Library versions, compiler and CPU as one JSON object body (no braces), malloc'd. */
char *xai_provenance_build_json(void);
/* Writes <results>/provenance.json atomically; profile: "default", "quick" or "full" (xai reproduce). */
xai_status xai_provenance_write(const char *results, const xai_prov_stage_times *t, int n, const char *profile,
                                double total_s);

#endif
