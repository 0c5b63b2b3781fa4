/* selftest.c: core/mpi.h under `mpirun -n R` (tests/mpi/run.sh): shards cover 0..n-1 once, in
 * rank order and balanced; the collectives give every rank the same, rank-ordered answer. */
#include "core/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "rank %d: %s:%d: expected %s\n", xai_mpi_rank(), __FILE__, __LINE__, #cond); \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void shards(void)
{
    const int R = xai_mpi_size();
    for (int64_t n = 0; n < 50; n++) {
        int64_t prev = 0, lo = n, hi = 0;
        for (int r = 0; r < R; r++) {
            int64_t b, e;
            xai_mpi_shard_of(n, r, &b, &e);
            EXPECT(b == prev && e >= b);
            lo = e - b < lo ? e - b : lo;
            hi = e - b > hi ? e - b : hi;
            EXPECT(e - b == n / R + (r < n % R));
            prev = e;
        }
        EXPECT(prev == n && hi - lo <= 1);
    }
}

static void collectives(void)
{
    const int me = xai_mpi_rank(), R = xai_mpi_size();
    /* Sum: values whose float sum depends on the order, so only rank order gives `want`. */
    double v[3] = {1e16 * (me % 2 ? -1 : 1), 1.0 + me, 0.1 * me}, want[3] = {0, 0, 0};
    for (int r = 0; r < R; r++) want[0] += 1e16 * (r % 2 ? -1 : 1), want[1] += 1.0 + r, want[2] += 0.1 * r;
    EXPECT(xai_mpi_allreduce_sum_f64(v, 3) == XAI_OK);
    EXPECT(!memcmp(v, want, sizeof v));
    /* The float sum (gradients): blocks of 37 elements over any rank count, rank order. */
    float f[37], fw[37];
    for (int i = 0; i < 37; i++) {
        f[i] = 1e7f * (float)(i + 1) * (me % 2 ? -1.0f : 1.0f) + 0.3f * (float)me;
        fw[i] = 1e7f * (float)(i + 1);
        for (int r = 1; r < R; r++) fw[i] += 1e7f * (float)(i + 1) * (r % 2 ? -1.0f : 1.0f) + 0.3f * (float)r;
    }
    EXPECT(xai_mpi_allreduce_sum_f32(f, 37) == XAI_OK);
    EXPECT(!memcmp(f, fw, sizeof f));
    double mx = me;
    EXPECT(xai_mpi_allreduce_max_f64(&mx, 1) == XAI_OK && mx == R - 1);
    char msg[32] = "";
    if (me == R - 1) snprintf(msg, sizeof msg, "from %d", me);
    EXPECT(xai_mpi_bcast(msg, sizeof msg, R - 1) == XAI_OK);
    char w[32];
    snprintf(w, sizeof w, "from %d", R - 1);
    EXPECT(!strcmp(msg, w));
    /* Gather: each rank fills its rows of 7 with row-specific bytes. */
    enum { N = 7, RB = 5 };
    unsigned char rows[N][RB];
    memset(rows, 0xff, sizeof rows);
    int64_t b, e;
    xai_mpi_shard(N, &b, &e);
    for (int64_t i = b; i < e; i++) memset(rows[i], (int)(i * 3 + 1), RB);
    EXPECT(xai_mpi_allgather_rows(rows, RB, N) == XAI_OK);
    for (int i = 0; i < N; i++) EXPECT(rows[i][0] == i * 3 + 1 && rows[i][RB - 1] == i * 3 + 1);
    /* Agree: a failure on the last rank reaches every rank; success stays success. */
    EXPECT(xai_mpi_agree(XAI_OK) == XAI_OK);
    int rc = xai_mpi_agree(me == R - 1 ? XAI_EIO : XAI_OK);
    EXPECT(rc != XAI_OK);
    if (me == R - 1) EXPECT(rc == XAI_EIO);
    xai_mpi_barrier();
}

int main(int argc, char **argv)
{
    if (xai_mpi_init(&argc, &argv) != XAI_OK) {
        fprintf(stderr, "selftest: %s\n", xai_errmsg());
        return 1;
    }
    const int want = argc > 1 ? atoi(argv[1]) : xai_mpi_size();
    EXPECT(xai_mpi_size() == want && xai_mpi_rank() >= 0 && xai_mpi_rank() < want);
    shards();
    collectives();
    int bad = failures;
    int any = xai_mpi_agree(bad ? XAI_ESTATE : XAI_OK);
    if (xai_mpi_rank() == 0) printf("mpi selftest, %d rank%s: %s\n", xai_mpi_size(), xai_mpi_size() > 1 ? "s" : "", any ? "FAIL" : "ok");
    xai_mpi_finalize();
    return any ? 1 : 0;
}
