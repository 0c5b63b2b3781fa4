/* seeds.c: the between-model spread of an experiment with several trained models (xai reproduce,
 * [train] seeds): per method and metric, the spread of the per-model means over the models. */
#include "paper/seeds.h"
#include "core/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double xai_t975(int df)
{
    /* Student's t, two-sided 95 %: the textbook table (e.g. Abramowitz & Stegun 26.10), df 1..15 */
    static const double t[XAI_SEEDS_MAX - 1] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                                2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131};
    return df >= 1 && df < XAI_SEEDS_MAX ? t[df - 1] : NAN;
}

static int find_name(char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

/* Model q's per-image means into v (M, k) in the first model's metric and method order (NaN where
 * that model lacks one). */
static xai_status model_means(double *v, const xai_metrics_stats_set *first, const char *path)
{
    xai_metrics_stats_set t;
    XAI_TRY(xai_metricsfile_read_stats(&t, path, NULL));
    for (int i = 0; i < first->nmetrics; i++) {
        int it = -1;
        for (int c = 0; c < t.nmetrics && it < 0; c++)
            if (!strcmp(t.m[c].name, first->m[i].name)) it = c;
        for (int j = 0; j < first->k; j++) {
            const int jt = it < 0 ? -1 : find_name(t.methods, t.k, first->methods[j]);
            v[(size_t)i * first->k + j] = jt < 0 ? NAN : t.m[it].mean[jt];
        }
    }
    xai_metrics_stats_set_free(&t);
    return XAI_OK;
}

/* Mean, s.d. and t interval over the K models of each (metric, method) cell of v (K, cells). */
static void summarise(xai_seed_spread *s, const double *v, int K, size_t cells)
{
    for (size_t c = 0; c < cells; c++) {
        double sum = 0, ss = 0;
        int n = 0;
        for (int q = 0; q < K; q++)
            if (isfinite(v[q * cells + c])) sum += v[q * cells + c], n++;
        const double mean = n ? sum / n : NAN;
        for (int q = 0; q < K; q++)
            if (isfinite(v[q * cells + c])) ss += (v[q * cells + c] - mean) * (v[q * cells + c] - mean);
        const double sd = n >= 2 ? sqrt(ss / (n - 1)) : NAN, half = n >= 2 ? xai_t975(n - 1) * sd / sqrt(n) : NAN;
        s->mean[c] = mean, s->sd[c] = sd, s->lo[c] = mean - half, s->hi[c] = mean + half, s->count[c] = n;
    }
}

xai_status xai_seed_spread_load(xai_seed_spread *s, const char *exp_dir)
{
    memset(s, 0, sizeof *s);
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.h5", exp_dir);
    XAI_TRY(xai_metricsfile_read_stats(&s->first, path, NULL));
    int K = 1;
    for (; K < XAI_SEEDS_MAX; K++) {
        snprintf(path, sizeof path, "%s/seed%d/metrics.h5", exp_dir, K);
        if (!xai_file_exists(path)) break;
    }
    s->models = K;
    const size_t cells = (size_t)s->first.nmetrics * s->first.k;
    if (K == 1 || !cells) return XAI_OK;
    double *v = xai_malloc((size_t)K * cells * sizeof *v);
    for (int i = 0; i < s->first.nmetrics; i++)
        memcpy(v + (size_t)i * s->first.k, s->first.m[i].mean, (size_t)s->first.k * sizeof *v);
    xai_status st = XAI_OK;
    for (int q = 1; q < K && st == XAI_OK; q++) {
        snprintf(path, sizeof path, "%s/seed%d/metrics.h5", exp_dir, q);
        st = model_means(v + (size_t)q * cells, &s->first, path);
    }
    if (st == XAI_OK) {
        s->mean = xai_malloc(cells * sizeof *s->mean), s->sd = xai_malloc(cells * sizeof *s->sd);
        s->lo = xai_malloc(cells * sizeof *s->lo), s->hi = xai_malloc(cells * sizeof *s->hi);
        s->count = xai_malloc(cells * sizeof *s->count);
        summarise(s, v, K, cells);
    } else {
        xai_seed_spread_free(s);
    }
    free(v);
    return st;
}

void xai_seed_spread_free(xai_seed_spread *s)
{
    xai_metrics_stats_set_free(&s->first);
    free(s->mean), free(s->sd), free(s->lo), free(s->hi), free(s->count);
    memset(s, 0, sizeof *s);
}
