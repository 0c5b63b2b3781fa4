/* metricstats.c: per-metric statistics between methods (METRICS.md, "Statistics of the metrics"):
 * paired over the images every method has a value for, built from the tests of stats.c. */
#include "explainers/metricstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void xai_metric_column_free(xai_metric_column *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

void xai_metric_stats_free(xai_metric_stats *s)
{
    free(s->mean), free(s->lo), free(s->hi);
    free(s->rank), free(s->rank_mean), free(s->rank_lo), free(s->rank_hi);
    free(s->p), free(s->p_holm), free(s->r_rb);
    free(s->letters);
    memset(s, 0, sizeof *s);
}

static double *nan_vec(size_t n)
{
    double *v = xai_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = NAN;
    return v;
}

static void stats_alloc(xai_metric_stats *s, const xai_metric_column *c, int k)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", c->name);
    snprintf(s->family, sizeof s->family, "%s", c->family);
    snprintf(s->source, sizeof s->source, "%s", c->source);
    s->higher_better = c->higher_better;
    s->k = k;
    double **vk[] = {&s->mean, &s->lo, &s->hi, &s->rank, &s->rank_mean, &s->rank_lo, &s->rank_hi};
    for (size_t i = 0; i < sizeof vk / sizeof *vk; i++) *vk[i] = nan_vec((size_t)k);
    double **vkk[] = {&s->p, &s->p_holm, &s->r_rb};
    for (size_t i = 0; i < sizeof vkk / sizeof *vkk; i++) *vkk[i] = nan_vec((size_t)k * k);
    s->letters = xai_calloc(k ? k : 1, sizeof *s->letters);
}

/* The images where every method has a finite value, packed (k, used); returns used. */
static int paired_rows(double *out, const xai_metric_column *c, int k)
{
    int used = 0;
    for (int i = 0; i < c->n; i++) {
        int ok = 1;
        for (int m = 0; m < k && ok; m++) ok = isfinite(c->v[(size_t)m * c->n + i]);
        if (ok) used++;
    }
    int at = 0;
    for (int i = 0; i < c->n; i++) {
        int ok = 1;
        for (int m = 0; m < k && ok; m++) ok = isfinite(c->v[(size_t)m * c->n + i]);
        if (!ok) continue;
        for (int m = 0; m < k; m++) out[(size_t)m * used + at] = c->v[(size_t)m * c->n + i];
        at++;
    }
    return used;
}

/* All pairs: Wilcoxon p and rank-biserial r, then Holm over the k(k-1)/2 tests. */
static xai_status pairwise(xai_metric_stats *s, const double *v, int n)
{
    const int k = s->k, m = k * (k - 1) / 2;
    double *p = xai_malloc((m ? m : 1) * sizeof *p), *adj = xai_malloc((m ? m : 1) * sizeof *adj);
    xai_status st = XAI_OK;
    int t = 0;
    for (int i = 0; i < k && st == XAI_OK; i++)
        for (int j = i + 1; j < k && st == XAI_OK; j++, t++) {
            xai_wilcoxon w;
            st = xai_wilcoxon_signed_rank(&w, v + (size_t)i * n, v + (size_t)j * n, n);
            p[t] = w.p;
            /* Signed so that r_rb[i][j] > 0 says i is the more faithful of the two. */
            const double r = s->higher_better ? w.r_rb : -w.r_rb;
            s->r_rb[i * k + j] = r, s->r_rb[j * k + i] = -r;
            s->p[i * k + j] = s->p[j * k + i] = w.p;
        }
    if (st == XAI_OK && m) st = xai_holm(adj, p, m);
    t = 0;
    for (int i = 0; i < k && st == XAI_OK; i++)
        for (int j = i + 1; j < k; j++, t++) s->p_holm[i * k + j] = s->p_holm[j * k + i] = adj[t];
    free(p);
    free(adj);
    return st;
}

void xai_metric_order(int *order, const xai_metric_stats *s)
{
    const int k = s->k;
    for (int i = 0; i < k; i++) order[i] = i;
    /* Insertion sort: a handful of methods, and stable (ties keep the file's order). */
    for (int i = 1; i < k; i++) {
        const int o = order[i];
        int j = i;
        for (; j > 0; j--) {
            const double a = s->mean[order[j - 1]], b = s->mean[o];
            const int before = isnan(a) ? !isnan(b) : !isnan(b) && (s->higher_better ? b > a : b < a);
            if (!before) break;
            order[j] = order[j - 1];
        }
        order[j] = o;
    }
}

/* Letters in display order (best first), so that "a" marks the top group. */
static xai_status letters(xai_metric_stats *s)
{
    const int k = s->k;
    int *order = xai_malloc(k * sizeof *order);
    unsigned char *sig = xai_calloc((size_t)k * k, 1);
    char(*l)[XAI_CLD_LEN] = xai_calloc(k, sizeof *l);
    xai_metric_order(order, s);
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            sig[a * k + b] = a != b && s->p_holm[order[a] * k + order[b]] < XAI_MSTATS_ALPHA;
    xai_status st = xai_cld(l, sig, k);
    for (int a = 0; a < k && st == XAI_OK; a++) memcpy(s->letters[order[a]], l[a], sizeof *l);
    free(order);
    free(sig);
    free(l);
    return st;
}

xai_status xai_metric_stats_of(xai_metric_stats *s, const xai_metric_column *c, int k, uint64_t seed)
{
    stats_alloc(s, c, k);
    if (k < 1 || c->n < 1) return XAI_OK;
    double *v = xai_malloc((size_t)k * c->n * sizeof *v);
    const int n = paired_rows(v, c, k);
    s->n_used = n, s->n_excluded = c->n - n;
    xai_rank_ci *r = xai_calloc(k, sizeof *r);
    xai_status st = XAI_OK;
    for (int m = 0; m < k && n >= 1 && st == XAI_OK; m++) {
        xai_ci ci;
        st = xai_boot_mean_ci(&ci, v + (size_t)m * n, n, XAI_MSTATS_RESAMPLES, XAI_MSTATS_LEVEL, seed);
        s->mean[m] = ci.mean, s->lo[m] = ci.lo, s->hi[m] = ci.hi;
    }
    if (st == XAI_OK && n >= 2) {
        st = xai_boot_ranks(r, v, k, n, c->higher_better, XAI_MSTATS_RESAMPLES, XAI_MSTATS_LEVEL, seed);
        for (int m = 0; m < k && st == XAI_OK; m++)
            s->rank[m] = r[m].rank, s->rank_mean[m] = r[m].mean_rank, s->rank_lo[m] = r[m].lo, s->rank_hi[m] = r[m].hi;
        if (st == XAI_OK) st = pairwise(s, v, n);
        if (st == XAI_OK) st = letters(s);
    }
    free(r);
    free(v);
    if (st != XAI_OK) xai_metric_stats_free(s);
    return st;
}

void xai_metric_kendall(double *tau, const xai_metric_stats *s, int m)
{
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            const int k = s[a].k < s[b].k ? s[a].k : s[b].k;
            double *x = xai_malloc((k ? k : 1) * sizeof *x), *y = xai_malloc((k ? k : 1) * sizeof *y);
            int n = 0;
            for (int i = 0; i < k; i++)
                if (!isnan(s[a].rank[i]) && !isnan(s[b].rank[i])) x[n] = s[a].rank[i], y[n] = s[b].rank[i], n++;
            tau[a * m + b] = n >= 2 ? xai_kendall_tau_b(x, y, n) : NAN;
            free(x);
            free(y);
        }
}
