/* seeds.c: the between-model spread of an experiment with several trained models (xai reproduce,
 * [train] seeds): per method and metric the spread of the per-model means, per metric the ranking agreement. */
#include "paper/seeds.h"
#include "core/io.h"
#include "explainers/stats.h"

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

/* Mean of the finite values among the first n of metric source `source` of `method` in path (NaN
 * when the model has none); *len gets the vector's length (0 when absent). */
static double head_mean(const char *path, const char *method, const char *source, int n, int *len)
{
    double *v = NULL, sum = 0;
    int m = 0, used = 0;
    if (xai_metricsfile_read_values(path, method, source, &v, &m) != XAI_OK) xai_clear_error();
    *len = m;
    for (int i = 0; i < m && i < n; i++)
        if (isfinite(v[i])) sum += v[i], used++;
    free(v);
    return used ? sum / used : NAN;
}

/* Model q's means over the first n images (the images every model scored: the models after the
 * first may score fewer, [seed-evaluate] n) into v (M, k), in the first model's metric and method
 * order, NaN where that model lacks one. */
static void model_means(double *v, const xai_metrics_stats_set *first, const char *path, int n)
{
    for (int i = 0; i < first->nmetrics; i++)
        for (int j = 0; j < first->k; j++) {
            int len;
            v[(size_t)i * first->k + j] = head_mean(path, first->methods[j], first->m[i].source, n, &len);
        }
}

/* Images every model scored: the shortest first-metric vector of the first method over the models. */
static int common_images(const xai_metrics_stats_set *first, const char *exp_dir, int K)
{
    int n = -1;
    for (int q = 0; q < K; q++) {
        char path[1200];
        if (q) snprintf(path, sizeof path, "%s/seed%d/metrics.h5", exp_dir, q);
        else snprintf(path, sizeof path, "%s/metrics.h5", exp_dir);
        int len;
        head_mean(path, first->methods[0], first->m[0].source, 0, &len);
        if (n < 0 || len < n) n = len;
    }
    return n < 0 ? 0 : n;
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

/* Metric i's methods every model with the metric has (use, k), ranked per such model (has, K) in
 * rank (K, n) in the metric's direction; returns n, the methods ranked. */
static int rank_models(double *rank, unsigned char *has, unsigned char *use, const xai_seed_spread *s,
                       const double *v, int K, int i)
{
    const int M = s->first.nmetrics, k = s->first.k;
    const double *vi = v + (size_t)i * k; /* model q's means of metric i: vi + q * M * k */
    for (int q = 0; q < K; q++) {
        has[q] = 0;
        for (int j = 0; j < k; j++) has[q] |= isfinite(vi[(size_t)q * M * k + j]) != 0;
    }
    int n = 0, any = 0;
    for (int q = 0; q < K; q++) any |= has[q];
    for (int j = 0; j < k; j++) {
        use[j] = any; /* no model with the metric: nothing ranked */
        for (int q = 0; q < K; q++) use[j] &= !has[q] || isfinite(vi[(size_t)q * M * k + j]);
        n += use[j];
    }
    double *x = xai_malloc((size_t)k * sizeof *x);
    for (int q = 0; q < K; q++) {
        if (!has[q]) continue;
        int c = 0;
        for (int j = 0; j < k; j++)
            if (use[j]) x[c++] = vi[(size_t)q * M * k + j];
        xai_rank_scores(rank + (size_t)q * n, x, n, s->first.m[i].higher_better);
    }
    free(x);
    return n;
}

/* Metric i's ranking agreement between the K models of v: tau-b over every pair, distinct winners. */
static void agreement(xai_seed_spread *s, const double *v, int K, int i)
{
    const int k = s->first.k;
    double *rank = xai_malloc((size_t)K * k * sizeof *rank);
    unsigned char *has = xai_malloc((size_t)K), *use = xai_malloc((size_t)k);
    unsigned char *best = xai_calloc((size_t)k, 1);
    const int n = rank_models(rank, has, use, s, v, K, i);
    double sum = 0, lo = INFINITY;
    int pairs = 0, winners = 0;
    for (int q = 0; q < K && n; q++) {
        if (!has[q]) continue;
        const double *rq = rank + (size_t)q * n;
        double top = INFINITY;
        for (int c = 0; c < n; c++) top = rq[c] < top ? rq[c] : top;
        for (int c = 0; c < n; c++) best[c] |= rq[c] == top;
        for (int r = q + 1; r < K && n >= 2; r++) {
            if (!has[r]) continue;
            const double t = xai_kendall_tau_b(rq, rank + (size_t)r * n, n);
            if (isnan(t)) continue;
            sum += t, pairs++;
            lo = t < lo ? t : lo;
        }
    }
    for (int c = 0; c < n; c++) winners += best[c];
    s->tau_methods[i] = n, s->tau_pairs[i] = pairs, s->winners[i] = winners;
    s->tau_mean[i] = pairs ? sum / pairs : NAN, s->tau_min[i] = pairs ? lo : NAN;
    free(rank), free(has), free(use), free(best);
}

void xai_seed_spread_of(xai_seed_spread *s, const double *v, int K)
{
    const int M = s->first.nmetrics;
    const size_t cells = (size_t)M * s->first.k;
    s->models = K;
    s->mean = xai_malloc(cells * sizeof *s->mean), s->sd = xai_malloc(cells * sizeof *s->sd);
    s->lo = xai_malloc(cells * sizeof *s->lo), s->hi = xai_malloc(cells * sizeof *s->hi);
    s->count = xai_malloc(cells * sizeof *s->count);
    summarise(s, v, K, cells);
    const size_t nm = (size_t)M;
    s->tau_methods = xai_malloc(nm * sizeof *s->tau_methods), s->tau_pairs = xai_malloc(nm * sizeof *s->tau_pairs);
    s->tau_mean = xai_malloc(nm * sizeof *s->tau_mean), s->tau_min = xai_malloc(nm * sizeof *s->tau_min);
    s->winners = xai_malloc(nm * sizeof *s->winners);
    for (int i = 0; i < M; i++) agreement(s, v, K, i);
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
    s->images = common_images(&s->first, exp_dir, K);
    double *v = xai_malloc((size_t)K * cells * sizeof *v);
    for (int q = 0; q < K; q++) {
        if (q) snprintf(path, sizeof path, "%s/seed%d/metrics.h5", exp_dir, q);
        else snprintf(path, sizeof path, "%s/metrics.h5", exp_dir);
        model_means(v + (size_t)q * cells, &s->first, path, s->images);
    }
    xai_seed_spread_of(s, v, K);
    free(v);
    return XAI_OK;
}

void xai_seed_spread_free(xai_seed_spread *s)
{
    xai_metrics_stats_set_free(&s->first);
    free(s->mean), free(s->sd), free(s->lo), free(s->hi), free(s->count);
    free(s->tau_methods), free(s->tau_pairs), free(s->tau_mean), free(s->tau_min), free(s->winners);
    memset(s, 0, sizeof *s);
}
