/* schedule.h: `mpirun -n R xai reproduce`: the experiments' stage chains spread over MPI ranks and
 * groups of ranks (experiments/slurm/README.md). Private to experiments/; the serial path never comes here. */
#ifndef XAI_EXPERIMENTS_SCHEDULE_H
#define XAI_EXPERIMENTS_SCHEDULE_H

/* A run: n independent chains (one experiment's train -> explain -> evaluate -> ...), preceded by
 * work that must finish first (fetching the datasets). A chain's cost has two parts, in seconds
 * on one rank: solo, the stages one rank of its group runs (train, export), and shared, those
 * that a group of g ranks runs in 1/g of the time (explain, evaluate, confound); < 0: unknown.
 * shared NULL: no stage is shared, every group is one rank. */
typedef struct {
    int n;
    const double *solo, *shared; /* (n) each; shared may be NULL */
    int (*prepare)(void *ctx);   /* on rank 0 alone (a group of one) before any chain; an exit code */
    /* chain i, on every rank of the group that owns it, inside the group (xai_mpi_enter_group:
     * xai_mpi_rank() is the rank in the group); an exit code, the same on every rank of it */
    int (*chain)(void *ctx, int i);
    void *ctx;
} xai_sched_plan;

/* The plan, the same answer on every rank. Groups are runs of consecutive ranks; group[r] (0 ..
 * groups-1, in rank order) is rank r's, owner[i] the group that runs chain i. A chain on g ranks
 * takes solo + shared / g. Among the plans "the k costliest chains each on a group of its own
 * (ranks handed out one at a time to the group that finishes last), the other ranks alone; every
 * other chain, costliest first, onto the group where it finishes first", for every k and every
 * split of the ranks, the one that finishes first (ties: fewer groups of several ranks). k = 0 is
 * one chain at a time per rank, the longest first onto the rank with the least work; with more
 * ranks than chains every chain gets a group. Unknown costs count as the mean of the known ones
 * (solo and shared 1 when none is known). Returns the number of groups. */
int xai_sched_assign(const double *solo, const double *shared, int n, int ranks, int *group, int *owner);

/* Collective: prepare on rank 0, then every group runs the chains it owns in order, stopping its
 * own list at its first failure. Returns 0 when every chain on every rank succeeded, else
 * non-zero on every rank (a rerun resumes from the stage records). */
int xai_sched_run(const xai_sched_plan *p);

/* OpenMP threads for each rank's stage children: the node's `threads` shared by the ranks
 * started on it (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE, else Slurm's SLURM_TASKS_PER_NODE). */
int xai_sched_threads(int threads);

#endif
