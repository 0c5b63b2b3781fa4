/* stats.h: public API of the between-method statistics: bootstrap CIs of means and of ranks,
 * the paired Wilcoxon signed-rank test, Holm's correction, compact letters and Kendall's tau-b. */
#ifndef XAI_STATS_H
#define XAI_STATS_H

#include "core/base.h"

#include <stdint.h>

/* Formulas, conventions and references: explainers/METRICS.md, "Statistics". Every function
 * is deterministic for its inputs and seed, and does not depend on the thread count. Inputs
 * must be finite (XAI_EINVAL otherwise): the caller decides which images to leave out, so that
 * paired data stay paired. */

/* ------------------------------------------------------------- bootstrap */

typedef struct {
    double mean;   /* of the n values */
    double lo, hi; /* percentile bootstrap interval at the level asked */
} xai_ci;

/* Mean of v and its percentile bootstrap interval: `resamples` resamples of n values drawn with
 * replacement; resample b draws from xai_rng seeded by (seed, b), so method A and method B
 * bootstrapped with the same seed and n use the same image resamples. level in (0, 1), e.g. 0.95. */
xai_status xai_boot_mean_ci(xai_ci *ci, const double *v /* (n) */, int n, int resamples, double level,
                            uint64_t seed);

/* ---------------------------------------------------------------- ranks */

/* Rank of each of k scores, 1 = best (the highest when higher_better, else the lowest); ties
 * get the average of the ranks they span (1, 2.5, 2.5, 4). */
void xai_rank_scores(double *rank /* (k) */, const double *score /* (k) */, int k, int higher_better);

typedef struct {
    double rank;      /* rank of the method's mean over all n images */
    double mean_rank; /* mean of its rank over the bootstrap resamples */
    double lo, hi;    /* percentile interval of the bootstrap ranks */
} xai_rank_ci;

/* Ranks k methods by their mean score over n images (row m of v is method m), then bootstraps
 * the images (the same resample for every method, drawn as in xai_boot_mean_ci) and ranks the
 * resampled means again. */
xai_status xai_boot_ranks(xai_rank_ci *out /* (k) */, const double *v /* (k, n) */, int k, int n,
                          int higher_better, int resamples, double level, uint64_t seed);

/* Kendall's tau-b of two paired samples (e.g. the ranks of k methods under two metrics), ties
 * handled: (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y)), n0 = n(n-1)/2. NaN when
 * either sample is constant (the coefficient is undefined). */
double xai_kendall_tau_b(const double *x /* (n) */, const double *y /* (n) */, int n);

/* -------------------------------------------------------------- tests */

typedef struct {
    int n;                  /* pairs used: nonzero differences */
    int n_zero;             /* pairs with x == y, dropped (Wilcoxon's convention) */
    int exact;              /* 1: p from the exact null distribution; 0: normal approximation */
    double w_plus, w_minus; /* rank sums of the positive and negative differences x - y */
    double z;               /* normal statistic with tie and continuity correction, signed:
                             * > 0 when x tends to exceed y (computed in both modes) */
    double p;               /* two-sided p-value */
    double r_rb;            /* matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-) */
    double r;               /* z / sqrt(n) */
} xai_wilcoxon;

/* Paired two-sided Wilcoxon signed-rank test of x against y. Exact when at most
 * XAI_WILCOXON_EXACT_MAX nonzero differences remain and their absolute values have no ties;
 * otherwise the normal approximation. No pair left (x == y everywhere): p = 1, effects 0. */
#define XAI_WILCOXON_EXACT_MAX 50
xai_status xai_wilcoxon_signed_rank(xai_wilcoxon *w, const double *x /* (n) */, const double *y /* (n) */,
                                    int n);

/* Two-sided normal tail 2 Q(|z|) = erfc(|z| / sqrt 2). */
double xai_normal_p2(double z);

/* Holm's step-down adjusted p-values of m tests: with p sorted ascending,
 * adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), returned in the input order. p in [0, 1]. */
xai_status xai_holm(double *adj /* (m) */, const double *p /* (m) */, int m);

/* Compact letter display (Piepho 2004, insert-and-absorb). Methods 0..k-1 in display order
 * (best first); sig[i*k + j] != 0 when i and j differ significantly (symmetric, diagonal
 * ignored). letters[i] gets a string such as "a", "ab": two methods share a letter exactly
 * when they do not differ. Letters are a-z then A-Z in order of their first method;
 * XAI_EINVAL beyond k = 64 methods or 52 letters. */
#define XAI_CLD_LEN 53
xai_status xai_cld(char letters[][XAI_CLD_LEN], const unsigned char *sig /* (k, k) */, int k);

#endif
