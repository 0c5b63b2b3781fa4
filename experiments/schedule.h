/* schedule.h: `mpirun -n R xai reproduce`: the experiments' stage chains spread over MPI ranks
 * (experiments/slurm/README.md). Private to experiments/; the serial path never comes here. */
#ifndef XAI_EXPERIMENTS_SCHEDULE_H
#define XAI_EXPERIMENTS_SCHEDULE_H

/* A run: n independent chains (one experiment's train -> explain -> evaluate -> ...), preceded by
 * work that must finish first (fetching the datasets). */
typedef struct {
    int n;
    const double *cost;             /* (n) seconds a chain took last time; < 0: unknown */
    int (*prepare)(void *ctx);      /* on rank 0 before any chain; an exit code */
    int (*chain)(void *ctx, int i); /* chain i, on the rank that owns it; an exit code */
    void *ctx;
} xai_sched_plan;

/* owner[i] in 0..ranks-1 for each chain: the longest first, each onto the rank with the least
 * work so far (ties: the lower rank); an unknown cost counts as the mean of the known ones (1 when
 * none is known, which gives round robin). The same answer on every rank. */
void xai_sched_assign(const double *cost, int n, int ranks, int *owner);

/* Collective: prepare on rank 0, then every rank runs the chains it owns in order, stopping its
 * own list at its first failure. Returns 0 when every chain on every rank succeeded, else
 * non-zero on every rank (a rerun resumes from the stage records). */
int xai_sched_run(const xai_sched_plan *p);

/* OpenMP threads for each rank's stage children: the node's `threads` shared by the ranks
 * started on it (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE, else Slurm's SLURM_TASKS_PER_NODE). */
int xai_sched_threads(int threads);

#endif
