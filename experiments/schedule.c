/* schedule.c: `mpirun -n R xai reproduce`: rank 0 fetches, then the experiments' stage chains are
 * spread over ranks and groups of ranks by their recorded cost (a group shares explain/evaluate). */
#include "experiments/schedule.h"

#include "core/base.h"
#include "core/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The costs with the unknown ones filled in, and the chains costliest first. */
typedef struct {
    int n;
    double *s, *p; /* (n) solo and shared seconds */
    int *order;    /* (n) chain indices by s + p, decreasing (ties: the lower index) */
} sched_costs;

static void sched_costs_init(sched_costs *c, const double *solo, const double *shared, int n)
{
    c->n = n;
    c->s = xai_malloc(2 * ((size_t)n + 1) * sizeof *c->s);
    c->p = c->s + n + 1;
    c->order = xai_malloc(((size_t)n + 1) * sizeof *c->order);
    /* The mean of the chains with known work (a chain whose stages are all up to date costs 0). */
    double ks = 0, kp = 0;
    int nk = 0;
    for (int i = 0; i < n; i++)
        if (solo[i] >= 0 && (!shared || shared[i] >= 0) && solo[i] + (shared ? shared[i] : 0) > 0)
            ks += solo[i], kp += shared ? shared[i] : 0, nk++;
    const double ms = nk ? ks / nk : 1, mp = nk ? kp / nk : shared ? 1 : 0;
    for (int i = 0; i < n; i++) {
        const int known = solo[i] >= 0 && (!shared || shared[i] >= 0);
        c->s[i] = known ? solo[i] : ms;
        c->p[i] = known && shared ? shared[i] : mp;
        int j = i; /* insertion: stable, so equal costs keep index order */
        while (j > 0 && c->s[c->order[j - 1]] + c->p[c->order[j - 1]] < c->s[i] + c->p[i]) {
            c->order[j] = c->order[j - 1];
            j--;
        }
        c->order[j] = i;
    }
}

static double chain_time(const sched_costs *c, int i, int ranks) { return c->s[i] + c->p[i] / ranks; }

/* Groups 0..k-1 of size[] ranks run the k costliest chains, one each; groups k.. are single ranks
 * (P of them). Every other chain, costliest first, goes to the group where it finishes first. The
 * time the last group finishes; owner (may be NULL) gets each chain's group. */
static double place(const sched_costs *c, int k, const int *size, int P, double *load, int *owner)
{
    /* Single ranks are alike: only as many as there are chains left can get one. */
    const int G = k + (P < c->n - k ? P : c->n - k);
    for (int g = 0; g < G; g++) load[g] = 0;
    for (int j = 0; j < c->n; j++) {
        const int i = c->order[j];
        int at = j; /* one of the k costliest: its own group */
        if (j >= k) {
            double best = 0;
            at = -1;
            for (int g = 0; g < G; g++) {
                const double f = load[g] + chain_time(c, i, g < k ? size[g] : 1);
                if (at < 0 || f < best) at = g, best = f;
            }
        }
        load[at] += chain_time(c, i, at < k ? size[at] : 1);
        if (owner) owner[i] = at;
    }
    double last = 0;
    for (int g = 0; g < G; g++) last = load[g] > last ? load[g] : last;
    return last;
}

/* One more rank for the dedicated group that finishes last (ties: the first). */
static void grow(const sched_costs *c, int k, int *size)
{
    int at = 0;
    for (int g = 1; g < k; g++)
        if (chain_time(c, c->order[g], size[g]) > chain_time(c, c->order[at], size[at])) at = g;
    size[at]++;
}

int xai_sched_assign(const double *solo, const double *shared, int n, int ranks, int *group, int *owner)
{
    sched_costs c;
    sched_costs_init(&c, solo, shared, n);
    int *size = xai_calloc((size_t)ranks + 1, sizeof *size), *keep = xai_calloc((size_t)ranks + 1, sizeof *keep);
    double *load = xai_malloc(((size_t)ranks + (size_t)n + 1) * sizeof *load);
    int best_k = 0, best_p = ranks;
    double best = place(&c, 0, size, ranks, load, NULL);
    for (int k = 1; shared && k <= n && k <= ranks; k++) {
        for (int g = 0; g < k; g++) size[g] = 1;
        for (int b = k; b <= ranks; b++) { /* b ranks in the k dedicated groups, the rest alone */
            if (b > k) grow(&c, k, size);
            if (ranks - b > n - k) continue; /* a rank alone with no chain: give it to a group */
            const double t = place(&c, k, size, ranks - b, load, NULL);
            if (t < best * (1 - 1e-9)) {
                best = t, best_k = k, best_p = ranks - b;
                memcpy(keep, size, (size_t)k * sizeof *keep);
            }
        }
    }
    place(&c, best_k, keep, best_p, load, owner);
    int r = 0;
    for (int g = 0; g < best_k; g++)
        for (int q = 0; q < keep[g]; q++) group[r++] = g;
    for (int q = 0; q < best_p; q++) group[r++] = best_k + q;
    free(load);
    free(keep);
    free(size);
    free(c.order);
    free(c.s);
    return best_k + best_p;
}

int xai_sched_run(const xai_sched_plan *p)
{
    const int me = xai_mpi_rank(), R = xai_mpi_size();
    /* Fetching first, on rank 0 alone: two experiments on one dataset must not write one cache. */
    int rc = xai_mpi_enter_group(me == 0 ? 0 : 1) != XAI_OK;
    if (!rc && me == 0 && p->prepare) rc = p->prepare(p->ctx);
    xai_mpi_leave_group();
    if (xai_mpi_max_idle(rc != 0)) return 1;
    int *owner = xai_malloc(((size_t)p->n + 1) * sizeof *owner), *group = xai_malloc((size_t)R * sizeof *group);
    /* Rank 0's view of the records decides; every rank gets the same plan. */
    if (me == 0) xai_sched_assign(p->solo, p->shared, p->n, R, group, owner);
    rc = xai_mpi_bcast(owner, (int64_t)p->n * (int64_t)sizeof *owner, 0) != XAI_OK ||
         xai_mpi_bcast(group, (int64_t)R * (int64_t)sizeof *group, 0) != XAI_OK;
    if (!xai_mpi_agree(rc)) {
        rc = xai_mpi_enter_group(group[me]) != XAI_OK;
        for (int i = 0; i < p->n && !rc; i++)
            if (owner[i] == group[me]) rc = p->chain(p->ctx, i);
        xai_mpi_leave_group();
    }
    free(group);
    free(owner);
    return xai_mpi_max_idle(rc != 0) != 0;
}

/* The leading count of SLURM_TASKS_PER_NODE ("2(x4),1": 2 on the first nodes). */
static int local_ranks(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!v) v = getenv("SLURM_TASKS_PER_NODE");
    long n = v ? strtol(v, NULL, 10) : 1;
    return n >= 1 && n <= 4096 ? (int)n : 1;
}

int xai_sched_threads(int threads)
{
    int t = threads / local_ranks();
    return t > 0 ? t : 1;
}
