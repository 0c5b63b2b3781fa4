/* mpi.h: the ranks of an `mpirun -n R xai ...` run: who am I, my contiguous share of N items,
 * and the few collectives the suite needs. The serial build (no -DXAI_MPI) is rank 0 of 1. */
#ifndef XAI_MPI_H
#define XAI_MPI_H

#include "core/base.h"

/* MPI_Init_thread (FUNNELED: only the thread that called it talks MPI; OpenMP workers never do).
 * Called first in main, after which rank/size hold. Without a launcher (no mpirun/srun
 * environment) or with XAI_MPI_OFF=1 in the environment it does nothing: the process is rank 0 of
 * 1, as in the serial build (how `xai reproduce` starts its stage children). Returns an
 * xai_status; an error message is set on failure. */
int xai_mpi_init(int *argc, char ***argv);
/* MPI_Finalize when xai_mpi_init initialised MPI; otherwise nothing. */
void xai_mpi_finalize(void);
int xai_mpi_rank(void);
int xai_mpi_size(void);
/* 1 when MPI is initialised (even with one rank): files are then opened through MPI-IO. */
int xai_mpi_active(void);

/* This rank's items [*begin, *end) of 0..n-1: contiguous, in rank order, balanced (the first
 * n % size ranks get one more). The same index is the same item whatever the rank count. */
void xai_mpi_shard(int64_t n, int64_t *begin, int64_t *end);
/* The shard of rank r (any rank's, e.g. to size a receive). */
void xai_mpi_shard_of(int64_t n, int r, int64_t *begin, int64_t *end);

/* Collective: rc (0 or an xai_status) of every rank combined. Returns rc when non-zero, else the
 * largest rc of the other ranks, so that when any rank failed every rank gets non-zero and all
 * leave together (a rank that fails alone would leave the others waiting in the next
 * collective). A rank that failed only through another gets an empty message: the failing rank
 * prints the reason, the others stay quiet (xai_cli_error). */
int xai_mpi_agree(int rc);
void xai_mpi_barrier(void);
/* In place: buf (n) becomes the element-wise sum over ranks, added in rank order
 * (((r0 + r1) + r2) ...) on rank 0 and broadcast, so the result is the same on every rank and the
 * same on every run at a given rank count. Returns an xai_status. */
int xai_mpi_allreduce_sum_f64(double *buf, int64_t n);
/* In place: buf (n) becomes the element-wise sum over ranks, added in rank order
 * (((r0 + r1) + r2) ...), the same bits on every rank and on every run at a given rank count.
 * Bandwidth as a ring allreduce: rank b sums block b of every rank's buf (xai_mpi_shard_of n),
 * then the sums are gathered (MPI_Alltoallv, MPI_Allgatherv). n <= INT_MAX. Training's gradients. */
int xai_mpi_allreduce_sum_f32(float *buf, int64_t n);
/* In place: buf (n) becomes the element-wise maximum over ranks (for timings; no NaN). */
int xai_mpi_allreduce_max_f64(double *buf, int64_t n);
/* bytes of buf from rank root to every rank. */
int xai_mpi_bcast(void *buf, int64_t bytes, int root);
/* In place: buf holds n rows of row_bytes each; on entry each rank has filled its own shard
 * (xai_mpi_shard of n), on return every rank has all n rows. */
int xai_mpi_allgather_rows(void *buf, int64_t row_bytes, int64_t n);

/* Groups of ranks (`mpirun xai reproduce` runs a stage on several ranks, experiments/schedule.c).
 * Collective over the current communicator: the ranks with the same color (>= 0) form a group, in
 * their current rank order; until xai_mpi_leave_group, rank, size, shards, every collective here
 * and the parallel HDF5 files (core/h5.c) are the group's, so a command runs on a group as under
 * `mpirun -n <group size>`. Groups do not nest. Returns an xai_status. */
int xai_mpi_enter_group(int color);
/* Collective over the group: back to every rank of the run. */
void xai_mpi_leave_group(void);
/* Collective: the largest v over the ranks. Unlike the collectives above, a rank that waits here
 * polls every few milliseconds rather than spinning, so that it leaves its core to the processes
 * of the rank it waits for (a stage that runs for minutes). INT_MAX where MPI failed. */
int xai_mpi_max_idle(int v);
#ifdef XAI_MPI
#include <mpi.h>
/* The current communicator: MPI_COMM_WORLD, or this rank's group's. */
MPI_Comm xai_mpi_comm(void);
#endif

#endif
