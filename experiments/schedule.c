/* schedule.c: `mpirun -n R xai reproduce`: rank 0 fetches, then the experiments' stage chains are
 * spread over the ranks by their recorded cost; each rank runs its chains' stages as today. */
#include "experiments/schedule.h"

#include "core/base.h"
#include "core/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xai_sched_assign(const double *cost, int n, int ranks, int *owner)
{
    double known = 0, mean = 1;
    int nk = 0;
    for (int i = 0; i < n; i++)
        if (cost[i] >= 0) known += cost[i], nk++;
    if (nk && known > 0) mean = known / nk;
    double *load = xai_calloc((size_t)ranks, sizeof *load);
    char *done = xai_calloc((size_t)n + 1, 1);
    for (int k = 0; k < n; k++) {
        /* the longest chain not yet placed (ties: the first) */
        int best = -1;
        double bc = 0;
        for (int i = 0; i < n; i++) {
            double c = cost[i] >= 0 ? cost[i] : mean;
            if (!done[i] && (best < 0 || c > bc)) best = i, bc = c;
        }
        int r = 0;
        for (int q = 1; q < ranks; q++)
            if (load[q] < load[r]) r = q;
        owner[best] = r;
        load[r] += bc;
        done[best] = 1;
    }
    free(done);
    free(load);
}

int xai_sched_run(const xai_sched_plan *p)
{
    const int me = xai_mpi_rank(), R = xai_mpi_size();
    /* Fetching first, on one rank: two experiments on one dataset must not write one cache. */
    int rc = me == 0 && p->prepare ? p->prepare(p->ctx) : 0;
    if (xai_mpi_agree(rc)) return 1;
    int *owner = xai_malloc(((size_t)p->n + 1) * sizeof *owner);
    /* Rank 0's view of the records decides; every rank gets the same plan. */
    if (me == 0) xai_sched_assign(p->cost, p->n, R, owner);
    rc = xai_mpi_bcast(owner, (int64_t)p->n * (int64_t)sizeof *owner, 0) != XAI_OK;
    for (int i = 0; i < p->n && !rc; i++)
        if (owner[i] == me) rc = p->chain(p->ctx, i);
    free(owner);
    return xai_mpi_agree(rc) != 0;
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
