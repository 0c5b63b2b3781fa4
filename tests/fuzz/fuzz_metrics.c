/* fuzz_metrics.c: libFuzzer target of the metrics file readers (explainers/metricsfile.c): the
 * scores of the report, summary.csv, the pixel-flipping curves and fractions. The template is the
 * publishing fixture's metrics.h5; the input is a list of h5mutate.c operations on it. */
#include "core/h5.h"
#include "explainers/metricsfile.h"
#include "tests/fuzz/fixture.h"

static fz_h5_template *tmpl;
static FILE *devnull;


static void read_curves(const char *path, const xai_metrics_scores *s)
{
    double *frac = NULL;
    int k1 = xai_metricsfile_read_fractions(path, &frac);
    free(frac);
    if (k1 < 1 || k1 > 4096) return;
    double *mean = xai_malloc(sizeof *mean * (size_t)k1), *se = xai_malloc(sizeof *se * (size_t)k1);
    xai_metricsfile_read_curve(path, NULL, "morf", k1, mean, se);
    for (int j = 0; j < s->nmethods; j++) {
        xai_metricsfile_read_curve(path, s->methods[j].name, "morf", k1, mean, se);
        xai_metricsfile_read_curve(path, s->methods[j].name, "lerf", k1, mean, se);
    }
    free(mean);
    free(se);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (!tmpl) {
        tmpl = fz_fixture(fx_metrics, 1, "metrics.h5");
        devnull = fopen("/dev/null", "w");
    }
    fz_in in = {data, size};
    const char *path = fz_path("metrics.h5");
    fz_h5_mutate(tmpl, &in, path);
    xai_metrics_scores s;
    xai_sbuf notes = {0};
    if (FZ_CALL(xai_metricsfile_read_scores(&s, path, &notes)) == XAI_OK) {
        read_curves(path, &s);
        xai_metrics_scores_free(&s);
    }
    xai_sbuf_free(&notes);
    xai_metrics_summary sum;
    if (FZ_CALL(xai_metricsfile_read_summary(&sum, path)) == XAI_OK) xai_metrics_summary_free(&sum);
    FZ_CALL(xai_metrics_summary_csv(devnull, path, "fuzz,\"label\"", 1));
    fz_end();
    return 0;
}
