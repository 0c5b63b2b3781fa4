/* stats.c: statistics between attribution methods: bootstrap intervals of means and ranks,
 * Wilcoxon signed-rank, Holm, compact letter display, Kendall's tau-b (METRICS.md, Statistics). */
#include "explainers/stats.h"

#include "explainers/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static xai_status check_finite(const double *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return xai_fail(XAI_EINVAL, "%s: value %zu is not finite", what, i);
    return XAI_OK;
}

static xai_status check_boot(int n, int resamples, double level, const char *what)
{
    if (n < 1) return xai_fail(XAI_EINVAL, "%s: no values", what);
    if (resamples < 1) return xai_fail(XAI_EINVAL, "%s: resamples must be >= 1 (got %d)", what, resamples);
    if (!(level > 0 && level < 1)) return xai_fail(XAI_EINVAL, "%s: level must be in (0, 1) (got %g)", what, level);
    return XAI_OK;
}

/* One stream per resample, keyed by (seed, b): results cannot depend on how the resamples are
 * split among threads. FNV first because xai_rng_seed's splitmix would make seeds that differ
 * by its increment give overlapping streams. */
static void resample_rng(xai_rng *r, uint64_t seed, int b)
{
    uint64_t key = (uint64_t)b;
    xai_rng_seed(r, xai_fnv1a(xai_fnv1a(XAI_FNV_OFFSET, &seed, sizeof seed), &key, sizeof key));
}

/* Percentile interval of v (sorted in place) at the given level. */
static void percentile_interval(double *lo, double *hi, double *v, int n, double level)
{
    qsort(v, (size_t)n, sizeof *v, xai_cmp_double);
    *lo = xai_quantile(v, n, 0.5 * (1 - level));
    *hi = xai_quantile(v, n, 1 - 0.5 * (1 - level));
}

static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

xai_status xai_boot_mean_ci(xai_ci *ci, const double *v, int n, int resamples, double level, uint64_t seed)
{
    XAI_TRY(check_boot(n, resamples, level, "bootstrap CI"));
    XAI_TRY(check_finite(v, (size_t)n, "bootstrap CI"));
    double *means = xai_malloc((size_t)resamples * sizeof *means);
#pragma omp parallel for schedule(static)
    for (int b = 0; b < resamples; b++) {
        xai_rng r;
        resample_rng(&r, seed, b);
        double s = 0;
        for (int i = 0; i < n; i++) s += v[xai_rng_below(&r, (uint32_t)n)];
        means[b] = s / n;
    }
    ci->mean = mean_of(v, n);
    percentile_interval(&ci->lo, &ci->hi, means, resamples, level);
    free(means);
    return XAI_OK;
}

/* -------------------------------------------------------------------- ranks */

void xai_rank_scores(double *rank, const double *score, int k, int higher_better)
{
    /* Counting beats sorting for the handful of methods ranked here, and needs no scratch
     * inside the bootstrap loop: rank = 1 + #better + #tied / 2 is the average rank. */
    for (int i = 0; i < k; i++) {
        int better = 0, tied = 0;
        for (int j = 0; j < k; j++) {
            if (j == i) continue;
            if (score[j] == score[i]) tied++;
            else if (higher_better ? score[j] > score[i] : score[j] < score[i]) better++;
        }
        rank[i] = 1 + better + 0.5 * tied;
    }
}

xai_status xai_boot_ranks(xai_rank_ci *out, const double *v, int k, int n, int higher_better, int resamples,
                          double level, uint64_t seed)
{
    if (k < 1) return xai_fail(XAI_EINVAL, "bootstrap ranks: no methods");
    XAI_TRY(check_boot(n, resamples, level, "bootstrap ranks"));
    XAI_TRY(check_finite(v, (size_t)k * n, "bootstrap ranks"));
    double *ranks = xai_malloc((size_t)k * resamples * sizeof *ranks); /* (k, resamples) */
    double *means = xai_malloc((size_t)k * sizeof *means), *point = xai_malloc((size_t)k * sizeof *point);
    for (int m = 0; m < k; m++) means[m] = mean_of(v + (size_t)m * n, n);
    xai_rank_scores(point, means, k, higher_better);
#pragma omp parallel
    {
        int32_t *idx = xai_malloc((size_t)n * sizeof *idx);
        double *bm = xai_malloc((size_t)k * sizeof *bm), *br = xai_malloc((size_t)k * sizeof *br);
#pragma omp for schedule(static)
        for (int b = 0; b < resamples; b++) {
            xai_rng r;
            resample_rng(&r, seed, b); /* same draws as xai_boot_mean_ci: one index per image */
            for (int i = 0; i < n; i++) idx[i] = (int32_t)xai_rng_below(&r, (uint32_t)n);
            for (int m = 0; m < k; m++) {
                const double *row = v + (size_t)m * n;
                double s = 0;
                for (int i = 0; i < n; i++) s += row[idx[i]];
                bm[m] = s / n;
            }
            xai_rank_scores(br, bm, k, higher_better);
            for (int m = 0; m < k; m++) ranks[(size_t)m * resamples + b] = br[m];
        }
        free(idx);
        free(bm);
        free(br);
    }
    for (int m = 0; m < k; m++) {
        double *col = ranks + (size_t)m * resamples;
        out[m].rank = point[m];
        out[m].mean_rank = mean_of(col, resamples);
        percentile_interval(&out[m].lo, &out[m].hi, col, resamples, level);
    }
    free(ranks);
    free(means);
    free(point);
    return XAI_OK;
}

static int sign_of(double d) { return (d > 0) - (d < 0); }

double xai_kendall_tau_b(const double *x, const double *y, int n)
{
    /* O(n^2) pairs: the inputs are rankings of a few methods, not long samples. */
    long long conc = 0, disc = 0, tx = 0, ty = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int sx = sign_of(x[i] - x[j]), sy = sign_of(y[i] - y[j]);
            tx += sx == 0;
            ty += sy == 0;
            if (sx * sy > 0) conc++;
            else if (sx * sy < 0) disc++;
        }
    long long n0 = (long long)n * (n - 1) / 2;
    if (n0 == tx || n0 == ty) return NAN;
    return (double)(conc - disc) / sqrt((double)(n0 - tx) * (double)(n0 - ty));
}

/* ------------------------------------------------------------------ Wilcoxon */

typedef struct {
    double a; /* |x - y| */
    int positive;
} signed_diff;

static int cmp_abs(const void *pa, const void *pb)
{
    double a = ((const signed_diff *)pa)->a, b = ((const signed_diff *)pb)->a;
    return (a > b) - (a < b);
}

/* Two-sided exact p of W+ for n untied ranks 1..n: under H0 each sign is a fair coin, so
 * 2^n P(W+ = s) is the number of subsets of {1..n} summing to s, counted by the recursion
 * c_j(s) = c_{j-1}(s) + c_{j-1}(s - j). Counts stay below 2^50 for n <= 50: exact in uint64. */
static double signed_rank_exact_p(long w_plus, int n)
{
    long total = (long)n * (n + 1) / 2, t = w_plus < total - w_plus ? w_plus : total - w_plus;
    uint64_t *c = xai_calloc((size_t)total + 1, sizeof *c);
    c[0] = 1;
    for (int j = 1; j <= n; j++)
        for (long s = (long)j * (j + 1) / 2; s >= j; s--) c[s] += c[s - j];
    uint64_t tail = 0;
    for (long s = 0; s <= t; s++) tail += c[s];
    free(c);
    double p = 2.0 * ldexp((double)tail, -n);
    return p < 1 ? p : 1;
}

double xai_normal_p2(double z) { return erfc(fabs(z) / sqrt(2.0)); }

/* Average ranks of d sorted by |x - y| into W+ and W-; returns sum(t^3 - t) over tie groups. */
static double rank_sums(xai_wilcoxon *w, const signed_diff *d, int n)
{
    double ties = 0;
    w->w_plus = w->w_minus = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && d[j + 1].a == d[i].a) j++;
        double t = j - i + 1, rank = 0.5 * (i + j) + 1; /* positions i..j hold ranks i+1..j+1 */
        ties += t * t * t - t;
        for (int q = i; q <= j; q++) *(d[q].positive ? &w->w_plus : &w->w_minus) += rank;
        i = j + 1;
    }
    return ties;
}

xai_status xai_wilcoxon_signed_rank(xai_wilcoxon *w, const double *x, const double *y, int n)
{
    if (n < 0) return xai_fail(XAI_EINVAL, "Wilcoxon: negative n");
    XAI_TRY(check_finite(x, (size_t)n, "Wilcoxon x"));
    XAI_TRY(check_finite(y, (size_t)n, "Wilcoxon y"));
    memset(w, 0, sizeof *w);
    signed_diff *d = xai_malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    int m = 0;
    for (int i = 0; i < n; i++) {
        double e = x[i] - y[i];
        if (e == 0) w->n_zero++;
        else d[m++] = (signed_diff){fabs(e), e > 0};
    }
    w->n = m;
    w->p = 1;
    if (m == 0) goto done; /* nothing to test: no evidence of a difference */
    qsort(d, (size_t)m, sizeof *d, cmp_abs);
    double ties = rank_sums(w, d, m);
    double mn = m * (m + 1.0) / 4, var = m * (m + 1.0) * (2.0 * m + 1) / 24 - ties / 48;
    double dev = w->w_plus - mn;
    w->z = (dev - 0.5 * sign_of(dev)) / sqrt(var);
    w->exact = m <= XAI_WILCOXON_EXACT_MAX && ties == 0;
    w->p = w->exact ? signed_rank_exact_p(lround(w->w_plus), m) : xai_normal_p2(w->z);
    w->r_rb = (w->w_plus - w->w_minus) / (w->w_plus + w->w_minus);
    w->r = w->z / sqrt((double)m);
done:
    free(d);
    return XAI_OK;
}

/* ---------------------------------------------------------------------- Holm */

typedef struct {
    double p;
    int i;
} indexed_p;

static int cmp_by_p(const void *pa, const void *pb)
{
    const indexed_p *a = pa, *b = pb;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

xai_status xai_holm(double *adj, const double *p, int m)
{
    for (int i = 0; i < m; i++)
        if (!(p[i] >= 0 && p[i] <= 1)) return xai_fail(XAI_EINVAL, "Holm: p-value %d is %g, not in [0, 1]", i, p[i]);
    if (m <= 0) return XAI_OK;
    indexed_p *o = xai_malloc((size_t)m * sizeof *o);
    for (int i = 0; i < m; i++) o[i] = (indexed_p){p[i], i};
    qsort(o, (size_t)m, sizeof *o, cmp_by_p);
    double run = 0; /* the running maximum keeps the adjusted values monotone in p */
    for (int j = 0; j < m; j++) {
        double a = (double)(m - j) * o[j].p;
        if (a > 1) a = 1;
        if (a > run) run = a;
        adj[o[j].i] = run;
    }
    free(o);
    return XAI_OK;
}

/* ------------------------------------------------------- compact letter display */

#define CLD_WORK 4096 /* columns while pairs are inserted; may exceed the final letter count */

/* Drops every column contained in another (and duplicates but the first): Piepho's absorb. */
static int cld_absorb(uint64_t *col, int nc)
{
    int out = 0;
    for (int i = 0; i < nc; i++) {
        int absorbed = 0;
        for (int j = 0; j < nc && !absorbed; j++)
            if (j != i && (col[i] & ~col[j]) == 0 && (col[i] != col[j] || j < i)) absorbed = 1;
        if (!absorbed) col[out++] = col[i];
    }
    return out;
}

/* Letter order: the column holding the earliest (best) method first, then the next, ... */
static int cmp_column(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb, diff = a ^ b;
    if (!diff) return 0;
    uint64_t first = diff & -diff; /* lowest method where they differ */
    return (a & first) ? -1 : 1;
}

xai_status xai_cld(char letters[][XAI_CLD_LEN], const unsigned char *sig, int k)
{
    if (k < 1 || k > 64) return xai_fail(XAI_EINVAL, "letter display: %d methods (1 to 64)", k);
    xai_status s = XAI_OK;
    uint64_t *col = xai_malloc(CLD_WORK * sizeof *col);
    int nc = 1;
    col[0] = k == 64 ? ~0ull : (1ull << k) - 1;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++) {
            if (!sig[i * k + j] && !sig[j * k + i]) continue;
            uint64_t bi = 1ull << i, bj = 1ull << j;
            int n0 = nc;
            for (int c = 0; c < n0; c++) {
                if ((col[c] & bi) == 0 || (col[c] & bj) == 0) continue;
                if (nc == CLD_WORK) {
                    s = xai_fail(XAI_EINVAL, "letter display: more than %d letter groups", CLD_WORK);
                    goto done;
                }
                col[nc++] = col[c] & ~bi; /* insert: split the column so i and j part */
                col[c] &= ~bj;
            }
            nc = cld_absorb(col, nc);
        }
    if (nc > XAI_CLD_LEN - 1) {
        s = xai_fail(XAI_EINVAL, "letter display needs %d letters (at most %d)", nc, XAI_CLD_LEN - 1);
        goto done;
    }
    qsort(col, (size_t)nc, sizeof *col, cmp_column);
    for (int i = 0; i < k; i++) {
        int len = 0;
        for (int c = 0; c < nc; c++)
            if (col[c] >> i & 1) letters[i][len++] = (char)(c < 26 ? 'a' + c : 'A' + c - 26);
        letters[i][len] = '\0';
    }
done:
    free(col);
    return s;
}
