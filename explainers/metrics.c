/* metrics.c: statistics, completeness/conservation sums and the summary CSV of a metrics file.
 * The formulas are stated in explainers/METRICS.md. */
#include "explainers/metrics.h"
#include "explainers/metricsfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double quantile_sorted(const double *v, int n, double q)
{
    if (n <= 0) return NAN;
    double pos = q * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1) return v[n - 1];
    double t = pos - lo;
    /* Avoid inf * 0 = NaN when an endpoint is infinite. */
    if (t == 0) return v[lo];
    return v[lo] + t * (v[lo + 1] - v[lo]);
}

double xai_quantile(const double *v, int n, double q)
{
    if (n <= 0) return NAN;
    double *c = xai_malloc((size_t)n * sizeof *c);
    memcpy(c, v, (size_t)n * sizeof *c);
    qsort(c, (size_t)n, sizeof *c, xai_cmp_double);
    double r = quantile_sorted(c, n, q);
    free(c);
    return r;
}

void xai_stats_of(xai_stats *s, const double *v, int n)
{
    double sum = 0, s2 = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) sum += v[i], m++;
    double mu = m ? sum / m : NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s2 += (v[i] - mu) * (v[i] - mu);
    s->n = m;
    s->mean = mu;
    s->se = m > 1 ? sqrt(s2 / (m - 1) / m) : NAN;
    if (n > 0) {
        double *c = xai_malloc((size_t)n * sizeof *c);
        memcpy(c, v, (size_t)n * sizeof *c);
        qsort(c, (size_t)n, sizeof *c, xai_cmp_double);
        s->median = quantile_sorted(c, n, 0.5);
        s->p90 = quantile_sorted(c, n, 0.9);
        free(c);
    } else {
        s->median = s->p90 = NAN;
    }
}

void xai_completeness(double *rel, double *abs_err, double *sum, const float *attr, size_t size, const float *fx,
                      const float *fref, int n)
{
    for (int i = 0; i < n; i++) {
        const float *a = attr + (size_t)i * size;
        double acc = 0;
        for (size_t j = 0; j < size; j++) acc += a[j];
        double delta = (double)fx[i] - (fref ? (double)fref[i] : 0.0);
        double e = fabs(acc - delta);
        if (sum) sum[i] = acc;
        if (abs_err) abs_err[i] = e;
        if (rel) rel[i] = e == 0 ? 0 : e / fabs(delta); /* inf when delta == 0 */
    }
}

int xai_absorbed_share(double *share, const double *sum, const float *fx, int n)
{
    int excluded = 0;
    for (int i = 0; i < n; i++) {
        excluded += fx[i] == 0;
        share[i] = fx[i] != 0 ? ((double)fx[i] - sum[i]) / fx[i] : NAN;
    }
    return excluded;
}

int xai_layer_absorbed_share(double *share, const double *ls, int n, int cols)
{
    int used = 0;
    for (int j = 0; j < cols - 1; j++) share[j] = 0;
    for (int i = 0; i < n; i++) {
        const double *row = ls + (size_t)i * cols;
        if (row[cols - 1] == 0) continue;
        used++;
        for (int j = 0; j < cols - 1; j++) share[j] += (row[j + 1] - row[j]) / row[cols - 1];
    }
    for (int j = 0; j < cols - 1; j++) share[j] = used ? share[j] / used : NAN;
    return n - used;
}

/* ------------------------------------------------------------- summaries */

/* One CSV field per RFC 4180: quoted, with quotes doubled, when it holds a comma, a quote or a
 * line break, so a label or method name can never split a row. */
static void csv_field(FILE *out, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (const char *p = v; *p; p++) {
        if (*p == '"') fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

xai_status xai_metrics_summary_csv(FILE *out, const char *metrics_path, const char *label, int header)
{
    xai_metrics_summary sm;
    XAI_TRY(xai_metricsfile_read_summary(&sm, metrics_path));
    if (header) {
        fprintf(out, "label,method,aopc_morf,aopc_morf_se,aopc_lerf,aopc_lerf_se,aopc_random,aopc_random_se,"
                     "morf_minus_random_z,abpc,abpc_se,aopc_morf_prob,completeness_median,completeness_p90");
        for (int c = XAI_METRIC_FIRST_FAITH; c < xai_metric_nsources; c++) fprintf(out, ",%s", xai_metric_sources[c].name);
        fputc('\n', out);
    }
    for (int m = 0; m < sm.nmethods; m++) {
        csv_field(out, label ? label : "");
        fputc(',', out);
        csv_field(out, sm.methods[m]);
        for (int i = 0; i < XAI_METRICS_SUMMARY_COLS; i++) fprintf(out, ",%.6g", sm.row[m][i]);
        fputc('\n', out);
    }
    xai_metrics_summary_free(&sm);
    if (ferror(out)) return xai_fail(XAI_EIO, "writing the summary of %s failed", metrics_path);
    return XAI_OK;
}
