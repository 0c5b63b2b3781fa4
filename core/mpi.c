/* mpi.c: ranks, shards and collectives over Open MPI (-DXAI_MPI=ON), or rank 0 of 1 in the serial
 * build, where every collective is a no-op; core/README.md (MPI) says how a run is laid out. */
#include "core/mpi.h"

#include <stdlib.h>
#include <string.h>

#ifdef XAI_MPI
#include <limits.h>
#include <mpi.h>
#include <time.h>
#endif

static int g_rank = 0, g_size = 1, g_active = 0;

int xai_mpi_rank(void) { return g_rank; }
int xai_mpi_size(void) { return g_size; }
int xai_mpi_active(void) { return g_active; }

void xai_mpi_shard_of(int64_t n, int r, int64_t *begin, int64_t *end)
{
    const int64_t size = g_size, q = n > 0 ? n / size : 0, extra = n > 0 ? n % size : 0;
    *begin = r * q + (r < extra ? r : extra);
    *end = *begin + q + (r < extra);
}

void xai_mpi_shard(int64_t n, int64_t *begin, int64_t *end) { xai_mpi_shard_of(n, g_rank, begin, end); }

#ifndef XAI_MPI

int xai_mpi_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return XAI_OK;
}
void xai_mpi_finalize(void) {}
int xai_mpi_agree(int rc) { return rc; }
void xai_mpi_barrier(void) {}
int xai_mpi_allreduce_sum_f64(double *buf, int64_t n) { return (void)buf, (void)n, XAI_OK; }
int xai_mpi_allreduce_sum_f32(float *buf, int64_t n) { return (void)buf, (void)n, XAI_OK; }
int xai_mpi_allreduce_max_f64(double *buf, int64_t n) { return (void)buf, (void)n, XAI_OK; }
int xai_mpi_bcast(void *buf, int64_t bytes, int root) { return (void)buf, (void)bytes, (void)root, XAI_OK; }
int xai_mpi_allgather_rows(void *buf, int64_t row_bytes, int64_t n)
{
    return (void)buf, (void)row_bytes, (void)n, XAI_OK;
}
int xai_mpi_enter_group(int color) { return (void)color, XAI_OK; }
void xai_mpi_leave_group(void) {}
int xai_mpi_max_idle(int v) { return v; }

#else

/* The communicator of every collective: MPI_COMM_WORLD, or a group's (xai_mpi_enter_group). */
static MPI_Comm g_comm = MPI_COMM_NULL;

MPI_Comm xai_mpi_comm(void) { return g_comm; }

/* Launched by mpirun/orted (OMPI_*), by srun or another PMIx/PMI launcher. */
static int launched(void)
{
    const char *off = getenv("XAI_MPI_OFF");
    if (off && *off && strcmp(off, "0")) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int xai_mpi_init(int *argc, char ***argv)
{
    if (g_active || !launched()) return XAI_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return xai_fail(XAI_ESTATE, "MPI_Init_thread failed (started by mpirun/srun? XAI_MPI_OFF=1 runs serially)");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        return xai_fail(XAI_ESTATE, "MPI provides thread level %d, expected at least MPI_THREAD_FUNNELED (%d)",
                        provided, MPI_THREAD_FUNNELED);
    }
    /* Errors come back as return codes, which every wrapper turns into an xai_status. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    g_comm = MPI_COMM_WORLD;
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    g_active = 1;
    return XAI_OK;
}

void xai_mpi_finalize(void)
{
    if (!g_active) return;
    xai_mpi_leave_group();
    MPI_Finalize();
    g_active = 0;
    g_rank = 0;
    g_size = 1;
}

static xai_status mpi_error(int e, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(e, msg, &len);
    return xai_fail(XAI_ESTATE, "MPI %s failed on rank %d of %d: %s", what, g_rank, g_size, msg);
}

int xai_mpi_agree(int rc)
{
    if (!g_active) return rc;
    int mine = rc, worst = rc;
    int e = MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, g_comm);
    if (e != MPI_SUCCESS) return rc ? rc : (int)mpi_error(e, "agree (MPI_Allreduce)");
    if (rc) return rc;
    /* Failed through another rank, which prints its own message: stay quiet (xai_cli_error). */
    if (worst) xai_clear_error();
    return worst;
}

void xai_mpi_barrier(void)
{
    if (g_active) MPI_Barrier(g_comm);
}

/* Elements per step of the rank-ordered sum: bounds rank 0's receive buffer to 128 MB. */
static int64_t sum_step(void)
{
    int64_t c = ((int64_t)1 << 24) / g_size;
    return c > 0 ? c : 1;
}

int xai_mpi_allreduce_sum_f64(double *buf, int64_t n)
{
    if (!g_active || g_size == 1 || n <= 0) return XAI_OK;
    const int64_t step = sum_step();
    double *all = g_rank == 0 ? xai_malloc((size_t)(step * g_size) * sizeof *all) : NULL;
    xai_status s = XAI_OK;
    for (int64_t off = 0; off < n && s == XAI_OK; off += step) {
        const int c = (int)(n - off < step ? n - off : step);
        int e = MPI_Gather(buf + off, c, MPI_DOUBLE, all, c, MPI_DOUBLE, 0, g_comm);
        if (e != MPI_SUCCESS) {
            s = mpi_error(e, "allreduce sum (MPI_Gather)");
            break;
        }
        if (g_rank == 0)
            for (int i = 0; i < c; i++) {
                double acc = all[i];
                for (int r = 1; r < g_size; r++) acc += all[(size_t)r * c + i];
                buf[off + i] = acc;
            }
        if ((e = MPI_Bcast(buf + off, c, MPI_DOUBLE, 0, g_comm)) != MPI_SUCCESS)
            s = mpi_error(e, "allreduce sum (MPI_Bcast)");
    }
    free(all);
    return s;
}

int xai_mpi_allreduce_sum_f32(float *buf, int64_t n)
{
    if (!g_active || g_size == 1 || n <= 0) return XAI_OK;
    if (n > INT_MAX) return xai_fail(XAI_EINVAL, "MPI sum of %lld floats: expected at most %d", (long long)n, INT_MAX);
    const int R = g_size;
    int *cnt = xai_malloc(4 * (size_t)R * sizeof *cnt), *dsp = cnt + R, *rcnt = dsp + R, *rdsp = rcnt + R;
    for (int r = 0; r < R; r++) {
        int64_t b, e;
        xai_mpi_shard_of(n, r, &b, &e);
        cnt[r] = (int)(e - b), dsp[r] = (int)b;
    }
    const int mine = cnt[g_rank], lo = dsp[g_rank];
    for (int r = 0; r < R; r++) rcnt[r] = mine, rdsp[r] = r * mine;
    float *blocks = xai_malloc(((size_t)R * mine + 1) * sizeof *blocks); /* rank r's copy of my block at r * mine */
    int e = MPI_Alltoallv(buf, cnt, dsp, MPI_FLOAT, blocks, rcnt, rdsp, MPI_FLOAT, g_comm);
    if (e == MPI_SUCCESS) {
        for (int i = 0; i < mine; i++) {
            float acc = blocks[i];
            for (int r = 1; r < R; r++) acc += blocks[(size_t)r * mine + i];
            buf[lo + i] = acc;
        }
        e = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, MPI_FLOAT, g_comm);
    }
    free(blocks);
    free(cnt);
    return e == MPI_SUCCESS ? XAI_OK : mpi_error(e, "allreduce sum (MPI_Alltoallv, MPI_Allgatherv)");
}

int xai_mpi_allreduce_max_f64(double *buf, int64_t n)
{
    if (!g_active || g_size == 1 || n <= 0) return XAI_OK;
    for (int64_t off = 0; off < n; off += INT_MAX / 2) {
        const int c = (int)(n - off < INT_MAX / 2 ? n - off : INT_MAX / 2);
        int e = MPI_Allreduce(MPI_IN_PLACE, buf + off, c, MPI_DOUBLE, MPI_MAX, g_comm);
        if (e != MPI_SUCCESS) return mpi_error(e, "allreduce max");
    }
    return XAI_OK;
}

int xai_mpi_bcast(void *buf, int64_t bytes, int root)
{
    if (!g_active || g_size == 1 || bytes <= 0) return XAI_OK;
    if (root < 0 || root >= g_size)
        return xai_fail(XAI_EINVAL, "MPI broadcast from rank %d: expected a rank in 0..%d", root, g_size - 1);
    const int64_t step = (int64_t)1 << 30;
    for (int64_t off = 0; off < bytes; off += step) {
        const int c = (int)(bytes - off < step ? bytes - off : step);
        int e = MPI_Bcast((char *)buf + off, c, MPI_BYTE, root, g_comm);
        if (e != MPI_SUCCESS) return mpi_error(e, "broadcast");
    }
    return XAI_OK;
}

int xai_mpi_allgather_rows(void *buf, int64_t row_bytes, int64_t n)
{
    if (!g_active || g_size == 1 || n <= 0 || row_bytes <= 0) return XAI_OK;
    /* Counts are in rows of one derived type: a shard of many rows still fits an int. */
    if (row_bytes > INT_MAX || n > INT_MAX)
        return xai_fail(XAI_EINVAL, "MPI gather of %lld rows of %lld bytes: expected at most %d of at most %d",
                        (long long)n, (long long)row_bytes, INT_MAX, INT_MAX);
    int *counts = xai_malloc(2 * (size_t)g_size * sizeof *counts), *displs = counts + g_size;
    for (int r = 0; r < g_size; r++) {
        int64_t b, e;
        xai_mpi_shard_of(n, r, &b, &e);
        counts[r] = (int)(e - b);
        displs[r] = (int)b;
    }
    MPI_Datatype row;
    int e = MPI_Type_contiguous((int)row_bytes, MPI_BYTE, &row);
    if (e == MPI_SUCCESS) e = MPI_Type_commit(&row);
    if (e == MPI_SUCCESS) {
        e = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, row, g_comm);
        MPI_Type_free(&row);
    }
    free(counts);
    return e == MPI_SUCCESS ? XAI_OK : mpi_error(e, "allgather (MPI_Allgatherv)");
}

/* ------------------------------------------------------------ groups */

int xai_mpi_enter_group(int color)
{
    if (!g_active) return XAI_OK;
    if (g_comm != MPI_COMM_WORLD)
        return xai_fail(XAI_ESTATE, "MPI group of color %d: rank %d is in a group already (groups do not nest)", color,
                        g_rank);
    MPI_Comm grp;
    int e = MPI_Comm_split(g_comm, color, g_rank, &grp);
    if (e != MPI_SUCCESS) return mpi_error(e, "group split (MPI_Comm_split)");
    MPI_Comm_set_errhandler(grp, MPI_ERRORS_RETURN);
    g_comm = grp;
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
    return XAI_OK;
}

void xai_mpi_leave_group(void)
{
    if (!g_active || g_comm == MPI_COMM_WORLD) return;
    MPI_Comm_free(&g_comm);
    g_comm = MPI_COMM_WORLD;
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_size);
}

int xai_mpi_max_idle(int v)
{
    if (!g_active || g_size == 1) return v;
    int out = v;
    MPI_Request req;
    if (MPI_Iallreduce(&v, &out, 1, MPI_INT, MPI_MAX, g_comm, &req) != MPI_SUCCESS) return INT_MAX;
    const struct timespec nap = {0, 5 * 1000 * 1000};
    for (int done = 0;;) {
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return INT_MAX;
        if (done) return out;
        nanosleep(&nap, NULL);
    }
}

#endif
