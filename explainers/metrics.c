/* metrics.c: statistics, completeness/conservation sums and the summary CSV of a metrics file.
 * The formulas are stated in explainers/METRICS.md. */
#include "core/h5.h"
#include "explainers/metrics.h"

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

void xai_target_logits(float *out, xai_model *m, const float *x, const int32_t *target, int n)
{
    size_t size = xai_shape_size(m->in);
    m->train = 0, m->lean = 1; /* only logits are read */
    for (int i0 = 0; i0 < n; i0 += m->max_batch) {
        int nb = n - i0 < m->max_batch ? n - i0 : m->max_batch;
        const float *lg = xai_model_forward(m, x + (size_t)i0 * size, nb);
        for (int i = 0; i < nb; i++) out[i0 + i] = lg[(size_t)i * m->nclasses + target[i0 + i]];
    }
}

/* ------------------------------------------------------------- summaries */

static double attr_or_nan(hid_t file, const char *group, const char *name)
{
    double v = NAN;
    if (!xai_h5_exists(file, group)) return v;
    hid_t g = H5Oopen(file, group, H5P_DEFAULT);
    if (g < 0) return v;
    if (xai_h5_get_f64(g, name, &v) != XAI_OK) v = NAN;
    H5Oclose(g);
    return v;
}

xai_status xai_metrics_summary_csv(FILE *out, const char *metrics_path, const char *label, int header)
{
    hid_t f;
    XAI_TRY(xai_h5_open(&f, metrics_path, 0));
    char fmt[64] = "", methods[4096] = "";
    hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
    xai_h5_get_str(root, "format", fmt, sizeof fmt);
    xai_status s = xai_h5_get_str(root, "methods", methods, sizeof methods);
    H5Gclose(root);
    if (strcmp(fmt, "xai-metrics-1") != 0 || s != XAI_OK) {
        H5Fclose(f);
        return xai_fail(XAI_EFORMAT, "%s: not a metrics file of `xai evaluate` (format '%s', expected 'xai-metrics-1')",
                        metrics_path, fmt);
    }
    if (header)
        fprintf(out, "label,method,aopc_morf,aopc_morf_se,aopc_lerf,aopc_lerf_se,aopc_random,aopc_random_se,"
                     "morf_minus_random_z,abpc,abpc_se,aopc_morf_prob,completeness_median,completeness_p90\n");
    double ar = attr_or_nan(f, "/random/logit", "aopc_mean"), ars = attr_or_nan(f, "/random/logit", "aopc_se");
    char *save = NULL;
    for (char *mth = strtok_r(methods, ",", &save); mth; mth = strtok_r(NULL, ",", &save)) {
        char g[600];
        double v[12];
        snprintf(g, sizeof g, "/methods/%s/morf/logit", mth);
        v[0] = attr_or_nan(f, g, "aopc_mean");
        v[1] = attr_or_nan(f, g, "aopc_se");
        snprintf(g, sizeof g, "/methods/%s/lerf/logit", mth);
        v[2] = attr_or_nan(f, g, "aopc_mean");
        v[3] = attr_or_nan(f, g, "aopc_se");
        v[4] = ar;
        v[5] = ars;
        snprintf(g, sizeof g, "/methods/%s/vs_random/logit", mth);
        v[6] = attr_or_nan(f, g, "z");
        snprintf(g, sizeof g, "/methods/%s/abpc/logit", mth);
        v[7] = attr_or_nan(f, g, "mean");
        v[8] = attr_or_nan(f, g, "se");
        snprintf(g, sizeof g, "/methods/%s/morf/prob", mth);
        v[9] = attr_or_nan(f, g, "aopc_mean");
        snprintf(g, sizeof g, "/methods/%s/completeness", mth);
        v[10] = attr_or_nan(f, g, "median");
        v[11] = attr_or_nan(f, g, "p90");
        fprintf(out, "%s,%s", label ? label : "", mth);
        for (int i = 0; i < 12; i++) fprintf(out, ",%.6g", v[i]);
        fputc('\n', out);
    }
    H5Fclose(f);
    if (ferror(out)) return xai_fail(XAI_EIO, "writing the summary of %s failed", metrics_path);
    return XAI_OK;
}
